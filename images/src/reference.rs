//! Image names as docker reads and prints them. `busybox` is
//! `docker.io/library/busybox:latest` in the store (distribution's normalization into
//! oci-spec's [`Reference`], by [`parse`]'s own grammar); [`familiar_name`] turns it back
//! into `busybox:latest` for people.

use oci_spec::distribution::{ParseError, Reference};

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
    let reference = parse_grammar(text).map_err(|e| invalid(format!("{e}")))?;
    if let Some(digest) = reference.digest() {
        crate::digest::Digest::parse(digest).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(reference)
}

/// Docker's reference grammar (distribution's `reference` package), checked by hand into
/// the [`Reference`] that oci-spec's `FromStr` would make. That `FromStr` compiles
/// REFERENCE_REGEXP at its first use in each process: its Unicode `\w` makes that ~55 ms
/// of CPU and ~8 MB of heap, paid by every `berth run` twice (the CLI, then the
/// monitor), more than the rest of the run. Same results (a test compares the two);
/// tags are ASCII `\w` as in docker's Go regexp, where oci-spec's regex also took
/// non-ASCII letters.
fn parse_grammar(text: &str) -> Result<Reference, ParseError> {
    if text.is_empty() {
        return Err(ParseError::NameEmpty);
    }
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) if is_digest(digest) => (rest, Some(digest)),
        Some(_) => return Err(ParseError::ReferenceInvalidFormat),
        None => (text, None),
    };
    // A `:` in the last path segment starts the tag (one in a domain is a port).
    let last = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last..].find(':') {
        Some(i) => (&rest[..last + i], Some(&rest[last + i + 1..])),
        None => (rest, None),
    };
    if !is_name(name) || !tag.is_none_or(is_tag) {
        return Err(ParseError::ReferenceInvalidFormat);
    }
    let (registry, repository) = split_domain(name);
    if repository.len() > 255 {
        return Err(ParseError::NameTooLong);
    }
    if let Some(digest) = digest {
        let (hex, len) = match digest.split_once(':') {
            Some(("sha256", hex)) => (hex, 64),
            Some(("sha384", hex)) => (hex, 96),
            Some(("sha512", hex)) => (hex, 128),
            Some(_) => return Err(ParseError::DigestUnsupported),
            None => return Err(ParseError::DigestInvalidFormat),
        };
        if hex.len() != len {
            return Err(ParseError::DigestInvalidLength);
        }
    }
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => {
            Reference::with_tag_and_digest(registry, repository, t.into(), d.into())
        }
        (Some(t), None) => Reference::with_tag(registry, repository, t.into()),
        (None, Some(d)) => Reference::with_digest(registry, repository, d.into()),
        (None, None) => Reference::with_tag(registry, repository, "latest".into()),
    })
}

/// `[domain/]path[/path...]`: the first of several components may be a domain.
fn is_name(name: &str) -> bool {
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    rest.iter().all(|p| is_path_component(p))
        && (is_path_component(first) || (!rest.is_empty() && is_domain(first)))
}

/// `host[.host...][:port]`, each host part `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`.
fn is_domain(domain: &str) -> bool {
    let (host, port) = match domain.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (domain, None),
    };
    let label = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    host.split('.').all(label)
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// `[a-z0-9]+` runs joined by one separator each: `.`, `_`, `__` or any number of `-`.
fn is_path_component(part: &str) -> bool {
    let b = part.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let run = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == run {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        match &b[sep..i] {
            b"." | b"_" | b"__" => {}
            dashes if dashes.iter().all(|c| *c == b'-') => {}
            _ => return false,
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|c| word(*c) || *c == b'.' || *c == b'-')
}

/// `algorithm:hex`: algorithm parts `[A-Za-z][A-Za-z0-9]*` joined by one of `-_+.`, and
/// at least 32 hex digits.
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let part = |p: &str| {
        p.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && p.bytes().all(|c| c.is_ascii_alphanumeric())
    };
    algorithm.split(['-', '_', '+', '.']).all(part)
        && hex.len() >= 32
        && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Docker Hub's defaults for a validated name: no domain is `docker.io`, a one-part
/// repository there is under `library/` (distribution's `splitDockerDomain`).
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((left, right)) if left.contains(['.', ':']) || left == "localhost" => {
            (left.to_string(), right.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    if domain == "docker.io" && !remainder.contains('/') {
        remainder = format!("library/{remainder}");
    }
    (domain, remainder)
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

    /// The hand-written grammar gives what oci-spec's regex parser gives, name for name
    /// and error for error.
    #[test]
    fn the_grammar_parses_as_the_regex_does() {
        let hex = "0123456789abcdef".repeat(4);
        let cases = [
            "busybox".to_string(),
            "busybox:1.36".into(),
            "library/busybox".into(),
            "index.docker.io/busybox".into(),
            "docker.io/library/busybox:latest".into(),
            "me/app:v1".into(),
            "localhost/app".into(),
            "localhost:5000/app:2".into(),
            "quay.io/org/x/y".into(),
            "test.com:tag".into(),
            "test.com:5000".into(),
            "test.com/repo:tag".into(),
            "UPPER/case".into(),
            "Busybox".into(),
            "a__b/c.d/e---f_g:T_a.g-9".into(),
            "a...b".into(),
            "a._b".into(),
            "a___b".into(),
            "-a".into(),
            "a-".into(),
            "a/".into(),
            "/a".into(),
            "a//b".into(),
            "-host.com/a".into(),
            "host-.com/a".into(),
            "host.com:/a".into(),
            "host.com:5x/a".into(),
            "a:b/c".into(),
            "a:b:c".into(),
            "busybox:".into(),
            "busybox:.x".into(),
            format!("busybox:{}", "t".repeat(128)),
            format!("busybox:{}", "t".repeat(129)),
            format!("x/{}", "a".repeat(260)),
            "a b".into(),
            "sha256".into(),
            format!("sha256:{hex}"),
            format!("busybox@sha256:{hex}"),
            format!("busybox:1@sha256:{hex}"),
            format!("host:5000/a/b:1@sha256:{hex}"),
            format!("busybox@sha384:{hex}"),
            format!("busybox@sha512:{hex}{hex}"),
            format!("busybox@md5:{hex}"),
            format!("busybox@sha256+b.c-d_e:{hex}"),
            format!("busybox@sha256-:{hex}"),
            format!("busybox@1sha:{hex}"),
            "busybox@sha256:abc".into(),
            format!("busybox@sha256:{hex}@x"),
            format!("@sha256:{hex}"),
            String::new(),
        ];
        for case in &cases {
            assert_eq!(parse_grammar(case), case.parse::<Reference>(), "{case:?}");
        }
        assert!(
            parse_grammar("busybox:t\u{e9}").is_err(),
            "docker's tags are ASCII"
        );
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
