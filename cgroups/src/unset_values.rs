//! The values clients write into `linux.resources` to mean "not set", removed before
//! anything is checked or written, so that they are never judged as limits.
//!
//! Go clients (docker, containerd, runc's own `update`) fill the spec from structs whose
//! zero value means "not given": docker 20.10 always writes `"blockIO": {"weight": 0}`,
//! and `docker update --memory` sends `cpu: {shares: 0, quota: 0, period: 0}`. runc 1.1
//! skips each of these (`if r.CpuPeriod != 0 { ... }` in libcontainer/cgroups/fs and fs2),
//! so berth does the same, in this one place for create and update alike.
//!
//! Kept as values, because runc writes them: hugepage limit 0 (no huge pages), throttle
//! rate 0 (removes the device's rule), `cpu.burst`/`cpu.idle` (0 is the kernel's "off").

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxNetwork, LinuxResources, LinuxWeightDevice,
    LinuxWeightDeviceBuilder,
};

/// `swappiness: -1` ("leave the kernel's") reaches a `u64` field as its two's complement;
/// runc compares `int64(*swappiness) == -1` for the same reason.
const SWAPPINESS_UNSET: u64 = u64::MAX;

/// `r` with every "not set" value removed, and every section left empty removed too
/// (an empty `blockIO` then needs no blkio controller, as with runc).
pub(crate) fn drop_unset(r: &LinuxResources) -> LinuxResources {
    let mut r = r.clone();
    r.set_memory(
        r.memory()
            .map(memory)
            .filter(|m| *m != LinuxMemory::default()),
    );
    r.set_cpu(
        r.cpu()
            .clone()
            .map(cpu)
            .filter(|c| *c != LinuxCpu::default()),
    );
    r.set_block_io(
        r.block_io()
            .clone()
            .map(block_io)
            .filter(|b| *b != LinuxBlockIo::default()),
    );
    // pids.limit 0 is runc's "not set"; -1 (or any negative) is unlimited.
    r.set_pids(r.pids().filter(|p| p.limit() != 0));
    r.set_network(
        r.network()
            .clone()
            .map(network)
            .filter(|n| *n != LinuxNetwork::default()),
    );
    r.set_hugepage_limits(non_empty(r.hugepage_limits()));
    r.set_rdma(r.rdma().clone().filter(|m| !m.is_empty()));
    r.set_unified(r.unified().clone().filter(|m| !m.is_empty()));
    r
}

fn non_empty<T: Clone>(list: &Option<Vec<T>>) -> Option<Vec<T>> {
    list.clone().filter(|l| !l.is_empty())
}

fn nonzero(v: Option<i64>) -> Option<i64> {
    v.filter(|&v| v != 0)
}

#[allow(deprecated)] // `kernel` is deprecated in oci-spec; clients still send it as 0
fn memory(mut m: LinuxMemory) -> LinuxMemory {
    m.set_limit(nonzero(m.limit()));
    m.set_reservation(nonzero(m.reservation()));
    m.set_swap(nonzero(m.swap()));
    m.set_kernel(nonzero(m.kernel()));
    m.set_kernel_tcp(nonzero(m.kernel_tcp()));
    m.set_swappiness(m.swappiness().filter(|&s| s != SWAPPINESS_UNSET));
    // runc writes memory.oom_control only for `true`: `false` is "as the kernel has it".
    m.set_disable_oom_killer(m.disable_oom_killer().filter(|&d| d));
    m
}

fn cpu(mut c: LinuxCpu) -> LinuxCpu {
    c.set_shares(c.shares().filter(|&v| v != 0));
    c.set_quota(nonzero(c.quota()));
    c.set_period(c.period().filter(|&v| v != 0));
    c.set_realtime_runtime(nonzero(c.realtime_runtime()));
    c.set_realtime_period(c.realtime_period().filter(|&v| v != 0));
    c.set_cpus(c.cpus().clone().filter(|s| !s.trim().is_empty()));
    c.set_mems(c.mems().clone().filter(|s| !s.trim().is_empty()));
    c
}

fn block_io(mut b: LinuxBlockIo) -> LinuxBlockIo {
    let nonzero_weight = |w: Option<u16>| w.filter(|&w| w != 0);
    b.set_weight(nonzero_weight(b.weight()));
    b.set_leaf_weight(nonzero_weight(b.leaf_weight()));
    let devices: Vec<LinuxWeightDevice> = b
        .weight_device()
        .iter()
        .flatten()
        .filter_map(|d| {
            weight_device(
                d,
                nonzero_weight(d.weight()),
                nonzero_weight(d.leaf_weight()),
            )
        })
        .collect();
    b.set_weight_device(non_empty(&Some(devices)));
    b.set_throttle_read_bps_device(non_empty(b.throttle_read_bps_device()));
    b.set_throttle_write_bps_device(non_empty(b.throttle_write_bps_device()));
    b.set_throttle_read_iops_device(non_empty(b.throttle_read_iops_device()));
    b.set_throttle_write_iops_device(non_empty(b.throttle_write_iops_device()));
    b
}

/// The device entry with only the weights given, or None when neither is.
fn weight_device(
    d: &LinuxWeightDevice,
    weight: Option<u16>,
    leaf_weight: Option<u16>,
) -> Option<LinuxWeightDevice> {
    let mut b = LinuxWeightDeviceBuilder::default()
        .major(d.major())
        .minor(d.minor());
    match (weight, leaf_weight) {
        (None, None) => return None,
        (Some(w), None) => b = b.weight(w),
        (None, Some(l)) => b = b.leaf_weight(l),
        (Some(w), Some(l)) => b = b.weight(w).leaf_weight(l),
    }
    // The builder only fails for a missing required field; every field has a default.
    b.build().ok()
}

fn network(mut n: LinuxNetwork) -> LinuxNetwork {
    n.set_class_id(n.class_id().filter(|&c| c != 0));
    n.set_priorities(n.priorities().clone().filter(|p| !p.is_empty()));
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::tests::res;

    #[test]
    fn docker_20_10_create_block_sets_nothing() {
        // What dockerd 20.10 writes for `docker run` without limits (plus the zeros of
        // every other Go client field runc skips).
        let r = res(
            r#"{"memory":{"limit":0,"reservation":0,"swap":0,"kernel":0,"kernelTCP":0,
            "swappiness":18446744073709551615,"disableOOMKiller":false},
            "cpu":{"shares":0,"quota":0,"period":0,"realtimeRuntime":0,"realtimePeriod":0,"cpus":"","mems":""},
            "blockIO":{"weight":0,"leafWeight":0,"weightDevice":[{"major":8,"minor":0,"weight":0}],
                "throttleReadBpsDevice":[]},
            "pids":{"limit":0},"network":{"classID":0,"priorities":[]},
            "hugepageLimits":[],"unified":{}}"#,
        );
        assert_eq!(drop_unset(&r), LinuxResources::default());
    }

    #[test]
    fn docker_update_keeps_only_the_memory_values() {
        let r = res(
            r#"{"memory":{"limit":67108864,"reservation":0,"swap":134217728,"kernel":0},
            "cpu":{"shares":0,"quota":0,"period":0},"blockIO":{"weight":0}}"#,
        );
        let want = res(r#"{"memory":{"limit":67108864,"swap":134217728}}"#);
        assert_eq!(drop_unset(&r), want);
    }

    #[test]
    fn real_values_stay_including_the_zeros_that_mean_something() {
        let json = r#"{"memory":{"limit":-1,"swappiness":0,"disableOOMKiller":true},
            "cpu":{"shares":2,"quota":-1,"period":1000,"burst":0,"idle":0,"cpus":"0"},
            "blockIO":{"weight":1,"weightDevice":[{"major":8,"minor":0,"weight":0,"leafWeight":5}],
                "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":0}]},
            "pids":{"limit":-1},"network":{"classID":7},
            "hugepageLimits":[{"pageSize":"2MB","limit":0}]}"#;
        let got = drop_unset(&res(json));
        let mut want = res(json);
        // Only the zero weight of the device entry goes.
        let mut b = want.block_io().clone().unwrap_or_default();
        b.set_weight_device(
            weight_device(
                &b.weight_device().clone().unwrap_or_default()[0],
                None,
                Some(5),
            )
            .map(|d| vec![d]),
        );
        want.set_block_io(Some(b));
        assert_eq!(got, want);
    }
}
