//! berth-runtime: a runc-compatible OCI runtime.
pub use oci_spec;

pub mod capabilities;
pub mod hooks;
pub mod seccomp;
