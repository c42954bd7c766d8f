//! [`ErrorCounts`]: the failures met while discovering and collecting, by operation,
//! summed across scrapes (`berth_exporter_errors_total{operation}`).

use std::fmt;

use crate::families::{Families, label};

/// What was being done when an error was met: the `operation` label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Reading runtime state directories and files.
    Discovery,
    /// Reading a container's cgroup files.
    CgroupStats,
    /// Reading or updating a BPF map.
    Bpf,
}

impl Operation {
    /// Every operation; each has a series, 0 until it fails.
    pub const ALL: [Operation; 3] = [Operation::Discovery, Operation::CgroupStats, Operation::Bpf];

    /// The `operation` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Discovery => "discovery",
            Operation::CgroupStats => "cgroup_stats",
            Operation::Bpf => "bpf",
        }
    }
}

/// Errors met so far, by operation.
#[derive(Debug, Default, Clone)]
pub struct ErrorCounts {
    counts: [u64; Operation::ALL.len()],
}

impl ErrorCounts {
    /// Logs `error` as a warning and counts it under `operation`.
    pub fn count(&mut self, operation: Operation, error: &dyn fmt::Display) {
        tracing::warn!(operation = operation.as_str(), "{error}");
        self.counts[operation as usize] += 1;
    }

    /// Errors counted under `operation`.
    pub fn get(&self, operation: Operation) -> u64 {
        self.counts[operation as usize]
    }

    /// Adds one `berth_exporter_errors` series per operation to `f`.
    pub fn record(&self, f: &Families) {
        for operation in Operation::ALL {
            f.errors
                .get_or_create(&vec![label("operation", operation.as_str())])
                .inc_by(self.get(operation) as f64);
        }
    }
}
