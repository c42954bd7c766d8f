//! Entry names of a layer archive, cleaned as docker cleans them before anything is
//! created: `./a//b/` -> `a/b`; a leading `/` is dropped (docker joins the name onto the
//! layer directory, so `/etc/x` is the layer's `etc/x`: clamped, not refused); `..`
//! is resolved lexically and a name that climbs above the layer (`../x`, `a/../../x`)
//! is refused, as docker's "breakout" check does.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A cleaned entry name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryName {
    /// The layer directory itself (`./`, `/`).
    Root,
    /// A path below it, relative, without `.`, `..` or empty components.
    Below(PathBuf),
}

/// Cleans a raw archive name (or a hard link's target).
///
/// # Errors
/// The reason, when the name climbs above the layer or holds a NUL byte.
pub fn clean(raw: &[u8]) -> Result<EntryName, &'static str> {
    if raw.contains(&0) {
        return Err("the name holds a NUL byte");
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err("the name climbs out of the layer with ..");
                }
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Ok(EntryName::Root);
    }
    let mut path = PathBuf::new();
    for part in parts {
        path.push(OsStr::from_bytes(part));
    }
    Ok(EntryName::Below(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn below(s: &str) -> EntryName {
        EntryName::Below(PathBuf::from(s))
    }

    #[test]
    fn names_are_cleaned_as_docker_does() {
        assert_eq!(clean(b"./a//b/").expect("ok"), below("a/b"));
        assert_eq!(
            clean(b"/etc/x").expect("absolute is clamped"),
            below("etc/x")
        );
        assert_eq!(clean(b"a/../b").expect("ok"), below("b"));
        assert_eq!(clean(b"./").expect("root"), EntryName::Root);
        assert_eq!(clean(b"/").expect("root"), EntryName::Root);
        assert_eq!(clean(b"a/..").expect("root"), EntryName::Root);
    }

    #[test]
    fn names_that_climb_out_are_refused() {
        for bad in [
            &b"../x"[..],
            b"a/../../x",
            b"/../etc/passwd",
            b"..",
            b"a\0b",
        ] {
            assert!(clean(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
