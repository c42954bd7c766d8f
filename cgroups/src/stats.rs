//! What a container's cgroups report: the numbers the runtime's `events` and the exporter
//! need, the same shape on v1, hybrid and v2.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything [`crate::CgroupPlacement::stats`] reads. Absent controllers leave zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CgroupStats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    pub io: IoStats,
    /// Page size as the kernel names it (`2MB`, `1GB`) to its counters.
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

/// Which controllers' counters to read. Each costs file reads per container (hugetlb one
/// per page size and counter, blkio one per device table), so a caller that exports only
/// some of them (the exporter, on every scrape) asks for just those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsScope {
    pub cpu: bool,
    pub memory: bool,
    pub pids: bool,
    pub io: bool,
    pub hugetlb: bool,
}

impl StatsScope {
    pub const ALL: Self = Self {
        cpu: true,
        memory: true,
        pids: true,
        io: true,
        hugetlb: true,
    };
}

/// CPU time and throttling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuStats {
    /// Total CPU time used, nanoseconds.
    pub usage_ns: u64,
    /// User-mode CPU time, nanoseconds.
    pub user_ns: u64,
    /// Kernel-mode CPU time, nanoseconds.
    pub system_ns: u64,
    /// Per-CPU usage in nanoseconds (v1 `cpuacct.usage_percpu`; empty on v2).
    pub per_cpu_ns: Vec<u64>,
    /// Enforcement periods that elapsed.
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    pub throttled_periods: u64,
    /// Total time throttled, nanoseconds.
    pub throttled_ns: u64,
    /// The CFS quota in microseconds per period; `None` when unlimited.
    pub quota_us: Option<u64>,
    /// The CFS period in microseconds (0 when the cpu controller is absent).
    pub period_us: u64,
}

/// Memory usage, limits and OOM counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStats {
    /// Current usage in bytes (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub usage: u64,
    /// Peak usage (v1 `memory.max_usage_in_bytes`, v2 `memory.peak` where the kernel has it).
    pub max_usage: u64,
    /// The limit in bytes; `None` when unlimited.
    pub limit: Option<u64>,
    /// How often the limit was hit (v1 `memory.failcnt`, v2 `memory.events` `max`).
    pub failcnt: u64,
    /// usage - inactive_file (what cAdvisor calls the working set), never below zero.
    pub working_set: u64,
    /// Anonymous memory (v1 `total_rss`, v2 `anon`).
    pub rss: u64,
    /// Page cache (v1 `total_cache`, v2 `file`).
    pub cache: u64,
    /// Swap usage in bytes (v1: memsw usage - usage; v2 `memory.swap.current`).
    pub swap_usage: u64,
    /// Times the cgroup hit its limit and entered the OOM path (v2 `oom`; v1 `under_oom`
    /// transitions are not counted by the kernel, so on v1 this equals `oom_kill_events`).
    pub oom_events: u64,
    /// Processes killed by the OOM killer in this cgroup.
    pub oom_kill_events: u64,
    /// The raw `memory.stat` keys (v1 names on v1, v2 names on v2).
    pub stat: BTreeMap<String, u64>,
}

/// Process counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PidsStats {
    /// Tasks in the cgroup now.
    pub current: u64,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
}

/// Block I/O per device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IoStats {
    /// One entry per device and operation.
    pub entries: Vec<IoEntry>,
}

/// One device counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IoEntry {
    pub major: u64,
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total` (runc's names).
    pub op: String,
    /// `bytes` (io_service_bytes) or `ios` (io_serviced).
    pub unit: IoUnit,
    pub value: u64,
}

/// What an [`IoEntry`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IoUnit {
    #[default]
    Bytes,
    Ios,
}

/// Huge page usage for one page size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HugetlbStats {
    pub usage: u64,
    /// Peak usage (v1 only; 0 on v2).
    pub max_usage: u64,
    /// Allocations that failed because of the limit.
    pub failcnt: u64,
}
