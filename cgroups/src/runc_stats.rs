//! [`CgroupStats`] in the JSON shape of runc's `events --stats` (`data` of a `stats`
//! event), which containerd's runc shim and scripts written for runc decode. Zero counters
//! are left out where runc's encoder leaves them out.

use serde_json::{Map, Value, json};

use crate::stats::{CgroupStats, IoUnit};

impl CgroupStats {
    /// The `data` object of a runc `stats` event.
    pub fn to_runc_json(&self) -> Value {
        json!({
            "cpu": self.runc_cpu(),
            "memory": self.runc_memory(),
            "pids": omit_zeros([("current", self.pids.current), ("limit", self.pids.limit.unwrap_or(0))]),
            "blkio": self.runc_blkio(),
            "hugetlb": self.hugetlb.iter().map(|(size, h)| {
                let mut m = omit_zeros([("usage", h.usage), ("max", h.max_usage)]);
                m.insert("failcnt".into(), h.failcnt.into());
                (size.clone(), Value::Object(m))
            }).collect::<Map<String, Value>>(),
            "intel_rdt": {},
            "network_interfaces": null,
        })
    }

    fn runc_cpu(&self) -> Value {
        let c = &self.cpu;
        let mut usage = omit_zeros([("total", c.usage_ns)]);
        if !c.per_cpu_ns.is_empty() {
            usage.insert("percpu".into(), json!(c.per_cpu_ns));
        }
        usage.insert("kernel".into(), c.system_ns.into());
        usage.insert("user".into(), c.user_ns.into());
        json!({
            "usage": usage,
            "throttling": omit_zeros([
                ("periods", c.periods),
                ("throttledPeriods", c.throttled_periods),
                ("throttledTime", c.throttled_ns),
            ]),
        })
    }

    fn runc_memory(&self) -> Value {
        let m = &self.memory;
        let entry = |limit: u64, usage: u64, max: u64, failcnt: u64| {
            let mut e = Map::new();
            e.insert("limit".into(), limit.into());
            e.extend(omit_zeros([("usage", usage), ("max", max)]));
            e.insert("failcnt".into(), failcnt.into());
            Value::Object(e)
        };
        let mut out = omit_zeros([("cache", m.cache)]);
        out.insert(
            "usage".into(),
            entry(m.limit.unwrap_or(u64::MAX), m.usage, m.max_usage, m.failcnt),
        );
        out.insert("swap".into(), entry(u64::MAX, m.swap_usage, 0, 0));
        if !m.stat.is_empty() {
            out.insert("raw".into(), json!(m.stat));
        }
        Value::Object(out)
    }

    fn runc_blkio(&self) -> Value {
        let list = |unit: IoUnit| -> Vec<Value> {
            self.io
                .entries
                .iter()
                .filter(|e| e.unit == unit)
                .map(|e| {
                    let mut m = omit_zeros([("major", e.major), ("minor", e.minor)]);
                    m.insert("op".into(), e.op.clone().into());
                    m.extend(omit_zeros([("value", e.value)]));
                    Value::Object(m)
                })
                .collect()
        };
        let mut out = Map::new();
        for (key, unit) in [
            ("ioServiceBytesRecursive", IoUnit::Bytes),
            ("ioServicedRecursive", IoUnit::Ios),
        ] {
            let entries = list(unit);
            if !entries.is_empty() {
                out.insert(key.into(), entries.into());
            }
        }
        Value::Object(out)
    }
}

/// The pairs whose value is not zero, as Go's `omitempty` encodes them.
fn omit_zeros<const N: usize>(pairs: [(&str, u64); N]) -> Map<String, Value> {
    pairs
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{HugetlbStats, IoEntry};

    #[test]
    fn has_runcs_keys_and_leaves_out_zero_counters() {
        let mut s = CgroupStats::default();
        s.cpu.usage_ns = 5;
        s.cpu.user_ns = 3;
        s.memory.usage = 100;
        s.memory.limit = Some(200);
        s.pids.current = 2;
        s.io.entries.push(IoEntry {
            major: 254,
            minor: 0,
            op: "Read".into(),
            unit: IoUnit::Bytes,
            value: 9,
        });
        s.hugetlb.insert("2MB".into(), HugetlbStats::default());
        let j = s.to_runc_json();
        assert_eq!(j["cpu"]["usage"]["total"], 5);
        assert_eq!(j["cpu"]["usage"]["kernel"], 0, "kernel is always present");
        assert!(
            j["cpu"]["throttling"]
                .as_object()
                .is_some_and(|m| m.is_empty())
        );
        assert_eq!(j["memory"]["usage"]["limit"], 200);
        assert_eq!(j["memory"]["usage"]["failcnt"], 0);
        assert!(j["memory"]["usage"].get("max").is_none());
        assert_eq!(j["pids"]["current"], 2);
        assert!(
            j["pids"].get("limit").is_none(),
            "unlimited pids has no limit key"
        );
        assert_eq!(j["blkio"]["ioServiceBytesRecursive"][0]["op"], "Read");
        assert!(j["blkio"].get("ioServicedRecursive").is_none());
        assert_eq!(j["hugetlb"]["2MB"]["failcnt"], 0);
    }
}
