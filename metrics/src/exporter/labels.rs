//! The labels a container's series carry: cAdvisor's `id`, `name`, `image`, then one
//! `container_label_*` per allow-listed annotation; and the `signal` label's values.

use crate::discovery::Container;
use crate::families::{Labels, label};

/// The cAdvisor labels (`id`: cgroup path, `name`, `image`) plus `container_label_*`
/// for each of the container's annotations, in key order. Values are left as they are
/// (they escape themselves when encoded); names are made valid label names.
pub fn container_labels(c: &Container) -> Labels {
    let mut labels = vec![
        label("id", c.cgroup_path()),
        label("name", c.name.as_str()),
        label("image", c.image.as_str()),
    ];
    for (key, value) in &c.labels {
        let name = format!("container_label_{}", sanitize_label_name(key));
        // `a.b` and `a-b` both become `a_b`: a series with one label twice would make
        // Prometheus reject the whole scrape, so the first (sorted) annotation wins.
        if labels.iter().any(|(n, _)| *n == name) {
            tracing::debug!(container = %c.id, annotation = %key, "label name taken; skipped");
            continue;
        }
        labels.push((name, value.as_str().into()));
    }
    labels
}

/// An annotation key as a Prometheus label name: `[a-zA-Z0-9_]`, others become `_`.
fn sanitize_label_name(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The `signal` label's value: `SIGKILL` for 9, the number for signals without a name
/// (real-time ones).
pub fn signal_name(signal: u32) -> String {
    i32::try_from(signal)
        .ok()
        .and_then(|s| nix::sys::signal::Signal::try_from(s).ok())
        .map_or_else(|| signal.to_string(), |s| s.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_keys_become_label_names() {
        assert_eq!(
            sanitize_label_name("io.kubernetes.pod.name"),
            "io_kubernetes_pod_name"
        );
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(40), "40");
    }

    #[test]
    fn annotations_that_sanitize_alike_give_one_label() {
        let c = Container {
            id: "c1".into(),
            runtime: "berth",
            name: "web".into(),
            image: String::new(),
            labels: [("a-b", "first"), ("a.b", "second")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            pid: None,
            created: None,
            cgroup: berth_cgroups::CgroupPlacement::default(),
            count_syscalls: false,
        };
        let labels = container_labels(&c);
        let named: Vec<_> = labels
            .iter()
            .filter(|(n, _)| n == "container_label_a_b")
            .collect();
        assert_eq!(named.len(), 1, "{labels:?}");
        assert_eq!(named[0].1.as_str(), "first");
    }
}
