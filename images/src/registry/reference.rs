//! Image references as docker reads them: `busybox` is
//! `docker.io/library/busybox:latest`, `localhost:5000/app@sha256:...` names a registry by
//! its host. The store's parser ([`crate::reference`]) with the registry's errors.

use oci_client::Reference;

use super::RegistryError;

/// Parses `NAME[:TAG][@DIGEST]` with docker's defaults (the store's parser).
///
/// # Errors
/// [`RegistryError::InvalidReference`] for anything docker refuses (upper-case letters,
/// an empty name, a bad digest, ...).
pub fn parse(name: &str) -> Result<Reference, RegistryError> {
    let reference = crate::reference::parse(name).map_err(|e| match e {
        crate::ImageError::InvalidReference { reference, reason } => {
            RegistryError::InvalidReference { reference, reason }
        }
        other => RegistryError::InvalidReference {
            reference: name.to_string(),
            reason: other.to_string(),
        },
    })?;
    // oci-spec takes `UPPER/case` as a Docker Hub repository; docker refuses it.
    if reference
        .repository()
        .bytes()
        .any(|b| b.is_ascii_uppercase())
    {
        return Err(RegistryError::InvalidReference {
            reference: name.to_string(),
            reason: "repository name must be lowercase".into(),
        });
    }
    Ok(reference)
}

/// Checks that `digest` is `sha256:` and 64 lower-case hex digits, the only algorithm
/// berth's store keeps.
pub fn check_digest(digest: &str) -> Result<(), String> {
    crate::Digest::parse(digest)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The reference as the store records it: `registry/repository:tag` (digest-only pulls
/// have no tag to record and give `None`).
pub fn tagged_name(reference: &Reference) -> Option<String> {
    reference
        .tag()
        .map(|tag| format!("{}/{}:{tag}", reference.registry(), reference.repository()))
}

/// The repository as docker prints it in "Pulling from": `library/busybox`.
pub fn repository(reference: &Reference) -> &str {
    reference.repository()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_expand_as_docker_does() {
        let r = parse("busybox").expect("busybox parses");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(
            tagged_name(&r).as_deref(),
            Some("docker.io/library/busybox:latest")
        );
        let r = parse("127.0.0.1:5000/app/web:v1").expect("host:port parses");
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "app/web");
        assert_eq!(r.tag(), Some("v1"));
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in [
            "",
            "  ",
            "Busybox",
            "UPPER/case",
            "localhost:5000/App",
            "busybox:",
            "a//b",
            "busybox@sha256:zz",
            "x@md5:0123456789abcdef0123456789abcdef",
        ] {
            assert!(
                matches!(parse(bad), Err(RegistryError::InvalidReference { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn digest_references_keep_no_tag() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("localhost:5000/app@{d}")).expect("digest ref parses");
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(tagged_name(&r), None);
    }
}
