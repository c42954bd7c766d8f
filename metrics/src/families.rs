//! Every metric family the exporter serves: name, type, help. Counters are named
//! without `_total` here; the encoder adds it to their samples. `single_*` families
//! have one unlabelled series.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::exposition::LabelValue;

/// Label names and values of one series, in order. Values escape themselves.
pub type Labels = Vec<(String, LabelValue)>;

/// One label: `name` must be a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`); `value`
/// may be anything.
pub fn label(name: &str, value: impl Into<LabelValue>) -> (String, LabelValue) {
    (name.to_string(), value.into())
}

macro_rules! families {
    ($( $field:ident : $kind:ident = $name:literal, $help:literal; )*) => {
        /// The families of one scrape, filled then registered.
        pub struct Families {
            $( #[doc = concat!("`", $name, "`: ", $help, ".")] pub $field: families!(@type $kind), )*
        }

        impl Families {
            /// Every family, with no series yet.
            pub fn new() -> Self {
                Self { $( $field: Default::default(), )* }
            }

            /// Adds every family to `registry`.
            pub fn register(&self, registry: &mut Registry) {
                $( registry.register($name, $help, self.$field.clone()); )*
            }
        }

        // prometheus-client writes help as it is; text that would need escaping fails the build.
        $( const _: () = assert!(
            crate::exposition::help_needs_no_escaping($help),
            concat!("help of ", $name, " holds a character that needs escaping")
        ); )*

        impl Default for Families {
            fn default() -> Self {
                Self::new()
            }
        }
    };
    (@type counter) => { Family<Labels, Counter<f64, AtomicU64>> };
    (@type gauge) => { Family<Labels, Gauge<f64, AtomicU64>> };
    (@type single_counter) => { Counter<f64, AtomicU64> };
    (@type single_gauge) => { Gauge<f64, AtomicU64> };
}

families! {
    // cAdvisor-compatible, from cgroup files (and BPF for network and OOM).
    cpu_usage: counter = "container_cpu_usage_seconds", "Cumulative cpu time consumed in seconds";
    cpu_user: counter = "container_cpu_user_seconds", "Cumulative user cpu time consumed in seconds";
    cpu_system: counter = "container_cpu_system_seconds", "Cumulative system cpu time consumed in seconds";
    cpu_cfs_throttled_periods: counter = "container_cpu_cfs_throttled_periods", "Number of throttled period intervals";
    cpu_cfs_periods: counter = "container_cpu_cfs_periods", "Number of elapsed enforcement period intervals";
    memory_usage: gauge = "container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed";
    memory_working_set: gauge = "container_memory_working_set_bytes", "Current working set in bytes (usage minus inactive file cache)";
    memory_rss: gauge = "container_memory_rss", "Size of RSS in bytes";
    memory_cache: gauge = "container_memory_cache", "Number of bytes of page cache memory";
    memory_failcnt: counter = "container_memory_failcnt", "Number of memory usage hits limits";
    oom_events: counter = "container_oom_events", "Count of out of memory events observed for the container";
    network_receive_bytes: counter = "container_network_receive_bytes", "Cumulative count of bytes received";
    network_transmit_bytes: counter = "container_network_transmit_bytes", "Cumulative count of bytes transmitted";
    network_receive_packets: counter = "container_network_receive_packets", "Cumulative count of packets received";
    network_transmit_packets: counter = "container_network_transmit_packets", "Cumulative count of packets transmitted";
    processes: gauge = "container_processes", "Number of processes running inside the container";
    threads: gauge = "container_threads", "Number of threads running inside the container";
    spec_memory_limit: gauge = "container_spec_memory_limit_bytes", "Memory limit for the container";
    spec_cpu_quota: gauge = "container_spec_cpu_quota", "CPU quota of the container (microseconds per period)";
    start_time: gauge = "container_start_time_seconds", "Start time of the container since unix epoch in seconds";
    last_seen: gauge = "container_last_seen", "Last time a container was seen by the exporter";
    // berth's own, from BPF.
    syscalls: counter = "berth_container_syscalls", "Syscalls made by the container's processes, by syscall when labelled";
    syscall_errors: counter = "berth_container_syscall_errors", "Syscalls of the container that returned an error";
    execs: counter = "berth_container_execs", "Successful execve calls in the container";
    forks: counter = "berth_container_forks", "New processes (not threads) forked in the container";
    process_exits: counter = "berth_container_process_exits", "Processes of the container that exited";
    signals: counter = "berth_container_signals_delivered", "Signals delivered to the container's processes, by signal";
    // The exporter's health.
    containers: gauge = "berth_exporter_containers", "Containers discovered by the last scrape, by runtime";
    bpf_map_entries: gauge = "berth_exporter_bpf_map_entries", "Entries in each BPF map";
    events_lost: counter = "berth_exporter_events_lost", "Audit records lost, by type: a BPF ring buffer was full, the exporter's queue was full, or the audit log refused the write";
    errors: counter = "berth_exporter_errors", "Errors met while discovering or collecting, by operation";
    scrape_duration: single_gauge = "berth_exporter_scrape_duration_seconds", "Time spent collecting this scrape";
}
