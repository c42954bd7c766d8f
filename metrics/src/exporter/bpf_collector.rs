//! The BPF collector: [`BpfReadings::read`] berth's BPF maps (the kernel side), then
//! [`record`] them as the `berth_container_*` series, network and OOM series, and the
//! maps' own health (no kernel, so the series can be checked from fixed readings).

use std::collections::{BTreeMap, HashMap};

use berth_ebpf::{EventType, NetCounts, Probes, ProcessCounts, SyscallStats};

use super::index::ContainerIndex;
use super::labels::{container_labels, signal_name};
use crate::families::{Families, label};

/// What the BPF maps held at one scrape, by cgroup v2 id. A map that could not be read
/// is left empty (its failure is returned by [`BpfReadings::read`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BpfReadings {
    /// Syscalls by number, and failed ones.
    pub syscalls: HashMap<u64, SyscallStats>,
    /// execs, forks, exits.
    pub processes: HashMap<u64, ProcessCounts>,
    /// Bytes and packets received and sent.
    pub net: HashMap<u64, NetCounts>,
    /// OOM kills seen by BPF (victims of a parent's limit too).
    pub oom_kills: HashMap<u64, u64>,
    /// Signals delivered, by signal number.
    pub signals: HashMap<u64, BTreeMap<u32, u64>>,
    /// Entries of each map, by map name.
    pub map_entries: Vec<(&'static str, usize)>,
    /// Audit records lost since the probes were loaded, by type name: the kernel's
    /// (ring buffer full) and, added by the exporter, user space's. Every type has an
    /// entry, so each series exists from the start.
    pub events_lost: BTreeMap<&'static str, u64>,
}

impl BpfReadings {
    /// Reads every map of `probes`; a map that cannot be read stays empty and its
    /// error is returned with the others.
    pub fn read(probes: &Probes) -> (Self, Vec<berth_ebpf::Error>) {
        let mut failures = Vec::new();
        let mut readings = Self {
            syscalls: or_empty(probes.syscall_stats(), &mut failures),
            processes: or_empty(probes.process_counts(), &mut failures),
            net: or_empty(probes.net_counts(), &mut failures),
            oom_kills: or_empty(probes.oom_kills(), &mut failures),
            signals: or_empty(probes.signals_delivered(), &mut failures),
            map_entries: probes.map_entries(),
            events_lost: EventType::ALL.iter().map(|t| (t.name(), 0)).collect(),
        };
        for (t, n) in or_empty(probes.events_lost(), &mut failures) {
            *readings.events_lost.entry(t.name()).or_default() += n;
        }
        (readings, failures)
    }
}

/// The value read, or (its error kept in `failures`) an empty one.
fn or_empty<T: Default>(
    read: Result<T, berth_ebpf::Error>,
    failures: &mut Vec<berth_ebpf::Error>,
) -> T {
    read.unwrap_or_else(|e| {
        failures.push(e);
        T::default()
    })
}

/// Adds the series of `r` to `f`: counters of cgroups that are not a container of
/// `index` are left out. `per_syscall_labels` labels syscalls by name (else one
/// series per container). Call after the cgroup series: `container_oom_events` is
/// raised to BPF's count when BPF saw more kills than the cgroup files.
pub fn record(f: &Families, r: &BpfReadings, index: &ContainerIndex, per_syscall_labels: bool) {
    for (id, s) in &r.syscalls {
        let Some(c) = index.get(*id) else { continue };
        let labels = container_labels(c);
        if per_syscall_labels {
            for (nr, n) in &s.by_number {
                let mut l = labels.clone();
                let name = berth_ebpf::syscall_names::syscall_name(*nr)
                    .map_or_else(|| format!("nr_{nr}"), str::to_string);
                l.push(label("syscall", name));
                f.syscalls.get_or_create(&l).inc_by(*n as f64);
            }
        } else {
            f.syscalls.get_or_create(&labels).inc_by(s.total() as f64);
        }
        f.syscall_errors
            .get_or_create(&labels)
            .inc_by(s.errors as f64);
    }
    for (id, p) in &r.processes {
        let Some(c) = index.get(*id) else { continue };
        let labels = container_labels(c);
        f.execs.get_or_create(&labels).inc_by(p.execs as f64);
        f.forks.get_or_create(&labels).inc_by(p.forks as f64);
        f.process_exits
            .get_or_create(&labels)
            .inc_by(p.exits as f64);
    }
    for (id, n) in &r.net {
        let Some(c) = index.get(*id) else { continue };
        let labels = container_labels(c);
        f.network_receive_bytes
            .get_or_create(&labels)
            .inc_by(n.rx_bytes as f64);
        f.network_transmit_bytes
            .get_or_create(&labels)
            .inc_by(n.tx_bytes as f64);
        f.network_receive_packets
            .get_or_create(&labels)
            .inc_by(n.rx_packets as f64);
        f.network_transmit_packets
            .get_or_create(&labels)
            .inc_by(n.tx_packets as f64);
    }
    for (id, n) in &r.oom_kills {
        let Some(c) = index.get(*id) else { continue };
        let counter = f.oom_events.get_or_create(&container_labels(c));
        let seen = counter.get();
        if (*n as f64) > seen {
            counter.inc_by(*n as f64 - seen);
        }
    }
    for (id, by_signal) in &r.signals {
        let Some(c) = index.get(*id) else { continue };
        for (signal, n) in by_signal {
            let mut l = container_labels(c);
            l.push(label("signal", signal_name(*signal)));
            f.signals.get_or_create(&l).inc_by(*n as f64);
        }
    }
    for (map, entries) in &r.map_entries {
        f.bpf_map_entries
            .get_or_create(&vec![label("map", *map)])
            .set(*entries as f64);
    }
    for (event_type, n) in &r.events_lost {
        f.events_lost
            .get_or_create(&vec![label("type", *event_type)])
            .inc_by(*n as f64);
    }
}
