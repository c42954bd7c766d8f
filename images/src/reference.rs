//! Image names as docker reads and prints them. `busybox` is
//! `docker.io/library/busybox:latest` in the store (distribution's normalization, through
//! oci-spec's [`Reference`]); [`familiar_name`] turns it back into `busybox:latest` for
//! people.

use oci_spec::distribution::Reference;

use crate::digest::is_hex64;
use crate::error::ImageError;

const DOCKER_HUB: &str = "docker.io/";
const OFFICIAL: &str = "library/";

/// Parses `NAME[:TAG][@DIGEST]` with docker's defaults (`docker.io`, `library/`,
/// `latest` when neither a tag nor a digest is given).
///
/// # Errors
/// [`ImageError::InvalidReference`] for what docker refuses: an empty name, upper-case
/// letters in the repository, a 64-hex-digit name (that is an image ID), a bad digest.
pub fn parse(text: &str) -> Result<Reference, ImageError> {
    let invalid = |reason: String| ImageError::InvalidReference {
        reference: text.to_string(),
        reason,
    };
    if text.trim().is_empty() {
        return Err(invalid("empty name".into()));
    }
    if is_hex64(text) {
        return Err(invalid(
            "a 64-hex-digit name would be read as an image ID".into(),
        ));
    }
    let reference: Reference = text.parse().map_err(|e| invalid(format!("{e}")))?;
    if let Some(digest) = reference.digest() {
        crate::digest::Digest::parse(digest).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(reference)
}

/// The normalized text of `text`: `busybox` -> `docker.io/library/busybox:latest`.
pub fn normalize(text: &str) -> Result<String, ImageError> {
    Ok(parse(text)?.whole())
}

/// A normalized `registry/repository:tag` for tagging: digests are refused (a tag names
/// a repository and a tag only).
pub fn normalize_tag(text: &str) -> Result<String, ImageError> {
    let reference = parse(text)?;
    if reference.digest().is_some() {
        return Err(ImageError::InvalidReference {
            reference: text.to_string(),
            reason: "a tag cannot hold a digest".into(),
        });
    }
    Ok(reference.whole())
}

/// How docker prints a normalized name: `docker.io/library/busybox:latest` ->
/// `busybox:latest`, `docker.io/me/app:1` -> `me/app:1`; other registries unchanged.
pub fn familiar_name(full: &str) -> String {
    match full.strip_prefix(DOCKER_HUB) {
        Some(rest) => rest.strip_prefix(OFFICIAL).unwrap_or(rest).to_string(),
        None => full.to_string(),
    }
}

/// The repository and tag of a normalized `repo:tag` (the `:` after the last `/`, so a
/// registry port is not a tag): `localhost:5000/a:1` -> (`localhost:5000/a`, `1`).
pub fn split_tag(full: &str) -> (&str, Option<&str>) {
    let name_start = full.rfind('/').map_or(0, |i| i + 1);
    match full[name_start..].rfind(':') {
        Some(i) => (&full[..name_start + i], Some(&full[name_start + i + 1..])),
        None => (full, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_normalize_as_docker_does() {
        for (given, want) in [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("library/busybox", "docker.io/library/busybox:latest"),
            ("docker.io/busybox", "docker.io/library/busybox:latest"),
            (
                "index.docker.io/busybox",
                "docker.io/library/busybox:latest",
            ),
            ("me/app:v1", "docker.io/me/app:v1"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/app:2", "localhost:5000/app:2"),
            ("quay.io/org/x/y", "quay.io/org/x/y:latest"),
        ] {
            assert_eq!(normalize(given).expect(given), want, "{given}");
        }
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            normalize(&format!("busybox@{digest}")).expect("digest"),
            format!("docker.io/library/busybox@{digest}")
        );
    }

    #[test]
    fn names_docker_refuses_are_refused() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "a b",
            &"a".repeat(64),
            "busybox@sha256:abc",
            "busybox@md5:0123",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let digest = format!("busybox@sha256:{}", "a".repeat(64));
        assert!(normalize_tag(&digest).is_err());
    }

    #[test]
    fn familiar_names_and_tags_print_as_docker_does() {
        assert_eq!(
            familiar_name("docker.io/library/busybox:latest"),
            "busybox:latest"
        );
        assert_eq!(familiar_name("docker.io/me/app:1"), "me/app:1");
        assert_eq!(
            familiar_name("localhost:5000/app:1"),
            "localhost:5000/app:1"
        );
        assert_eq!(
            split_tag("localhost:5000/a:1"),
            ("localhost:5000/a", Some("1"))
        );
        assert_eq!(split_tag("localhost:5000/a"), ("localhost:5000/a", None));
        assert_eq!(split_tag("busybox:latest"), ("busybox", Some("latest")));
    }
}
