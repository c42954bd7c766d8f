//! Container names: unique in the store, reserved atomically, generated docker-style
//! (`adjective_surname`) when not given.
//!
//! A reservation is the file `<root>/names/<name>` created with `O_EXCL` and holding the
//! id: two commands asking for one name at the same moment cannot both get it, and a
//! name is looked up without reading every container record.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::container::name_words::{ADJECTIVES, SURNAMES};
use crate::container::store::STAGING_PREFIX;
use crate::error::{EngineError, Result, io_err};

/// The directory of reservations under the store root.
pub fn names_dir(root: &Path) -> PathBuf {
    root.join("names")
}

/// `<root>/names/<name>` for a valid name (without the leading `/`), None otherwise: a
/// name that is not valid (`..`, `a/b`, a space) is never joined to a store path.
fn reservation(root: &Path, name: &str) -> Option<PathBuf> {
    crate::docker_name::is_valid(name, 2).then(|| names_dir(root).join(name))
}

fn invalid_name(name: &str) -> EngineError {
    EngineError::InvalidArgument(format!(
        "invalid container name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters"
    ))
}

/// Checks `name` as docker does: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (a leading `/` allowed and
/// dropped). Returns the name without the slash.
pub fn validate(name: &str) -> Result<&str> {
    let n = name.strip_prefix('/').unwrap_or(name);
    if crate::docker_name::is_valid(n, 2) {
        Ok(n)
    } else {
        Err(invalid_name(name))
    }
}

/// Reserves `name` (a [`validate`]d one) for container `id`; [`EngineError::NameInUse`]
/// when taken, [`EngineError::InvalidArgument`] for a name that is not valid. The
/// container's directory must exist first (a reservation whose container directory is
/// gone is stale and taken over).
pub fn reserve(root: &Path, name: &str, id: &str) -> Result<()> {
    let path = reservation(root, name).ok_or_else(|| invalid_name(name))?;
    let dir = names_dir(root);
    std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut f) => f.write_all(id.as_bytes()).map_err(io_err("writing", &path)),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let holder = lookup(root, name)?.unwrap_or_default();
            // The holder's (staging) directory is made before its name is reserved: a
            // holder without either is a `create` killed half way, its name free again.
            let containers = root.join("containers");
            let holder_exists = containers.join(&holder).exists()
                || containers
                    .join(format!("{STAGING_PREFIX}{holder}"))
                    .exists();
            if !holder.is_empty() && !holder_exists {
                release(root, name, &holder)?;
                return reserve_once(root, name, id);
            }
            Err(EngineError::NameInUse {
                name: name.to_string(),
                id: holder,
            })
        }
        Err(e) => Err(io_err("creating", &path)(e)),
    }
}

/// [`reserve`] without taking over a stale reservation.
fn reserve_once(root: &Path, name: &str, id: &str) -> Result<()> {
    let path = reservation(root, name).ok_or_else(|| invalid_name(name))?;
    match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut f) => f.write_all(id.as_bytes()).map_err(io_err("writing", &path)),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(EngineError::NameInUse {
            name: name.to_string(),
            id: lookup(root, name)?.unwrap_or_default(),
        }),
        Err(e) => Err(io_err("creating", &path)(e)),
    }
}

/// The id holding `name`, if any; None for a name that is not valid (no container can
/// have it).
pub fn lookup(root: &Path, name: &str) -> Result<Option<String>> {
    let Some(path) = reservation(root, name) else {
        return Ok(None);
    };
    match std::fs::read_to_string(&path) {
        Ok(id) => Ok(Some(id.trim().to_string())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("reading", &path)(e)),
    }
}

/// Releases `name` if it is held by `id` (never another container's reservation).
pub fn release(root: &Path, name: &str, id: &str) -> Result<()> {
    if lookup(root, name)?.as_deref() == Some(id)
        && let Some(path) = reservation(root, name)
    {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("removing", &path)(e)),
        }
    }
    Ok(())
}

/// Reserves a generated name for `id` and returns it: `adjective_surname`, then with a
/// digit appended after collisions (as docker's namesgenerator retries).
pub fn reserve_generated(root: &Path, id: &str) -> Result<String> {
    let seed = u64::from_str_radix(crate::container::id::short(id).get(..12).unwrap_or("1"), 16)
        .unwrap_or(1);
    for attempt in 0u64..64 {
        let mixed = seed
            .wrapping_add(attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .rotate_left((attempt % 64) as u32);
        let adj = ADJECTIVES[(mixed % ADJECTIVES.len() as u64) as usize];
        let who = SURNAMES[((mixed >> 20) % SURNAMES.len() as u64) as usize];
        let name = if attempt < 8 {
            format!("{adj}_{who}")
        } else {
            format!("{adj}_{who}{}", attempt % 10)
        };
        match reserve(root, &name, id) {
            Ok(()) => return Ok(name),
            Err(EngineError::NameInUse { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(EngineError::Conflict(format!(
        "no free generated name for container {id} after 64 attempts; give --name"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_reserved_once_and_released_only_by_its_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("containers/aaa")).expect("holder dir");
        reserve(root, "web", "aaa").expect("first");
        match reserve(root, "web", "bbb") {
            Err(EngineError::NameInUse { name, id }) => {
                assert_eq!((name.as_str(), id.as_str()), ("web", "aaa"))
            }
            other => panic!("expected NameInUse, got {other:?}"),
        }
        release(root, "web", "bbb").expect("release by another");
        assert_eq!(lookup(root, "web").expect("lookup").as_deref(), Some("aaa"));
        release(root, "web", "aaa").expect("release");
        assert_eq!(lookup(root, "web").expect("lookup"), None);
    }

    #[test]
    fn a_reservation_without_its_container_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        reserve(root, "web", "gone").expect("stale holder");
        std::fs::create_dir_all(root.join("containers/new")).expect("dir");
        reserve(root, "web", "new").expect("taken over");
        assert_eq!(lookup(root, "web").expect("lookup").as_deref(), Some("new"));
    }

    #[test]
    fn generated_names_are_distinct_and_valid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..50 {
            let id = format!("{:064x}", 0xabcdef_u64 * 7 + i);
            std::fs::create_dir_all(dir.path().join("containers").join(&id)).expect("dir");
            let name = reserve_generated(dir.path(), &id).expect("generated");
            validate(&name).expect("valid");
            assert!(seen.insert(name));
        }
    }

    #[test]
    fn names_are_checked_as_docker_does() {
        assert_eq!(validate("/web").expect("slash dropped"), "web");
        for bad in ["", "a", "-x", "a/b", "a b", "..", "x\u{e9}"] {
            assert!(validate(bad).is_err(), "{bad:?} accepted");
        }
    }
}
