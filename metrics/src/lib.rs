//! berth-metrics: `berth-exporter`, per-container metrics for Prometheus from cgroup
//! files (through berth-cgroups) and berth's BPF programs (through berth-ebpf).
//!
//! - [`discovery`]: runtime state directories to containers (berth, runc, crun, containerd);
//! - [`exporter`]: [`Exporter`]: one scrape read straight through, with its container
//!   index, BPF watch list, cgroup and BPF collectors (kernel readings to families);
//! - [`families`]: every metric's name, type and help;
//! - [`exposition`]: families to OpenMetrics and Prometheus text;
//! - [`audit`]: the audit stream (process, network, file, privileged syscall records)
//!   as JSON lines, to a rotated file and `GET /events`, with its policy;
//! - [`seccomp_advice`]: a container's counted syscalls as an OCI seccomp profile
//!   (`/seccomp-profile`, `berth-exporter advise-seccomp`);
//! - [`server`]: the HTTP loop.
//!
//! The state files' shapes (berth's, runc's, crun's) and their RFC 3339 times are
//! berth-state's, shared with the runtime that writes berth's.

#![warn(missing_docs)]

pub mod audit;
pub mod discovery;
pub mod exporter;
pub mod exposition;
pub mod families;
pub mod seccomp_advice;
pub mod server;

pub use exporter::{Exporter, ExporterOptions};
pub use exposition::Format;
