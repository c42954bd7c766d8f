//! The CPU quota of a container's cgroup (`container_spec_cpu_quota`), which
//! berth-cgroups' stats do not carry: v1 `cpu.cfs_quota_us`, v2 `cpu.max`.

use std::fs;

use berth_cgroups::CgroupPlacement;

/// The CFS quota in microseconds per period, `None` when unlimited or unreadable.
pub fn cpu_quota_us(placement: &CgroupPlacement) -> Option<u64> {
    if let Some(dir) = placement.v1_dirs.get("cpu") {
        let text = fs::read_to_string(dir.join("cpu.cfs_quota_us")).ok()?;
        return text
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|q| u64::try_from(q).ok());
    }
    let dir = placement.v2_dir.as_ref()?;
    let text = fs::read_to_string(dir.join("cpu.max")).ok()?;
    parse_cpu_max(&text)
}

/// `cpu.max` is `<quota|max> <period>`.
fn parse_cpu_max(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_max;

    #[test]
    fn cpu_max_quota_or_unlimited() {
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(50_000));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
    }
}
