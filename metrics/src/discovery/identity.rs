//! A container's name, image and exported labels, from its OCI annotations.

use std::collections::BTreeMap;

/// Annotations naming the container, most specific first.
const NAME_KEYS: &[&str] = &[
    "berth.name",
    "io.kubernetes.cri.container-name",
    "io.kubernetes.container.name",
    "nerdctl/name",
];

/// Annotations naming the image, most specific first.
const IMAGE_KEYS: &[&str] = &[
    "berth.image",
    "io.kubernetes.cri.image-name",
    "org.opencontainers.image.ref.name",
];

/// Annotations exported as labels unless the user gives an allow-list.
pub const DEFAULT_LABEL_ALLOWLIST: &[&str] = &[
    "io.kubernetes.pod.name",
    "io.kubernetes.pod.namespace",
    "io.kubernetes.cri.sandbox-name",
    "io.kubernetes.cri.sandbox-namespace",
];

/// Name, image and allow-listed labels of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The `name` label: a name annotation, else the container id.
    pub name: String,
    /// The `image` label: an image annotation, else empty.
    pub image: String,
    /// Allow-listed annotations, by annotation key.
    pub labels: BTreeMap<String, String>,
}

/// Resolves the identity of container `id` from its annotations.
pub fn from_annotations(
    id: &str,
    annotations: &BTreeMap<String, String>,
    allowlist: &[String],
) -> Identity {
    let first = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| annotations.get(*k).filter(|v| !v.is_empty()).cloned())
    };
    Identity {
        name: first(NAME_KEYS).unwrap_or_else(|| id.to_string()),
        image: first(IMAGE_KEYS).unwrap_or_default(),
        labels: allowlist
            .iter()
            .filter_map(|k| annotations.get(k).map(|v| (k.clone(), v.clone())))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berth_annotations_win_and_labels_follow_the_allowlist() {
        let annotations: BTreeMap<String, String> = [
            ("berth.name", "web"),
            ("io.kubernetes.cri.container-name", "other"),
            (
                "io.kubernetes.cri.image-name",
                "docker.io/library/busybox:1.36",
            ),
            ("io.kubernetes.pod.name", "pod-1"),
            ("secret", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let allow = vec!["io.kubernetes.pod.name".to_string()];
        let id = from_annotations("abc", &annotations, &allow);
        assert_eq!(id.name, "web");
        assert_eq!(id.image, "docker.io/library/busybox:1.36");
        assert_eq!(id.labels.len(), 1);
        assert_eq!(id.labels["io.kubernetes.pod.name"], "pod-1");
    }

    #[test]
    fn without_annotations_the_name_is_the_id() {
        let id = from_annotations("abc", &BTreeMap::new(), &[]);
        assert_eq!(id.name, "abc");
        assert_eq!(id.image, "");
    }
}
