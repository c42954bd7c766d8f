//! Turning an OCI `linux.cgroupsPath` into the path of the container's cgroup.

use std::path::{Component, Path, PathBuf};

use crate::CgroupError;

/// The parent of berth's own cgroups, below every hierarchy root.
pub const BERTH_PARENT: &str = "/berth";

/// The cgroup path (relative to every hierarchy root, written absolute) for a container.
///
/// - `None` or `""`: `/berth/<container_id>`;
/// - absolute `/a/b`: honoured as is (what containerd and podman pass);
/// - relative `a/b`: `/berth/a/b`. runc resolves it below the caller's own cgroup; berth
///   does not, because the caller may sit in a cgroup that belongs to someone else (a
///   supervisor's), where nothing of ours may go.
///
/// Refused: `..` components, the systemd `slice:prefix:name` form (no systemd driver),
/// and empty container ids.
pub fn resolve_path(
    cgroups_path: Option<&str>,
    container_id: &str,
) -> Result<PathBuf, CgroupError> {
    let given = cgroups_path.unwrap_or("");
    let refuse = |reason| CgroupError::InvalidPath {
        path: given.to_owned(),
        reason,
    };
    if given.is_empty() {
        if container_id.is_empty() || container_id.contains('/') || container_id.starts_with('.') {
            return Err(CgroupError::InvalidPath {
                path: container_id.to_owned(),
                reason: "a container id used as a cgroup name must be non-empty, without '/', \
                         not starting with '.'",
            });
        }
        return Ok(Path::new(BERTH_PARENT).join(container_id));
    }
    if given.contains(':') {
        return Err(refuse(
            "the systemd form slice:prefix:name needs a systemd cgroup driver, which berth does \
             not have; give a path such as /berth/<id>",
        ));
    }
    if given.contains('\0') {
        return Err(refuse("contains a NUL byte"));
    }
    let path = Path::new(given);
    let mut out = if path.is_absolute() {
        PathBuf::from("/")
    } else {
        PathBuf::from(BERTH_PARENT)
    };
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(c) => out.push(c),
            Component::ParentDir => return Err(refuse("'..' is not allowed in a cgroup path")),
            Component::Prefix(_) => return Err(refuse("not a Unix path")),
        }
    }
    if out == Path::new("/") {
        return Err(refuse("the root cgroup cannot hold a container"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: Option<&str>) -> PathBuf {
        match resolve_path(p, "abc") {
            Ok(p) => p,
            Err(e) => panic!("{p:?}: {e}"),
        }
    }

    #[test]
    fn empty_path_goes_below_berth() {
        assert_eq!(ok(None), Path::new("/berth/abc"));
        assert_eq!(ok(Some("")), Path::new("/berth/abc"));
    }

    #[test]
    fn absolute_path_is_honoured() {
        assert_eq!(
            ok(Some("/kubepods/pod1/abc")),
            Path::new("/kubepods/pod1/abc")
        );
        assert_eq!(ok(Some("//a/./b/")), Path::new("/a/b"));
    }

    #[test]
    fn relative_path_never_follows_the_callers_cgroup() {
        assert_eq!(ok(Some("a/b")), Path::new("/berth/a/b"));
    }

    #[test]
    fn refuses_dotdot_systemd_form_and_root() {
        for bad in ["/a/../b", "../x", "system.slice:berth:abc", "/", "/./"] {
            let err = resolve_path(Some(bad), "abc");
            assert!(
                matches!(err, Err(CgroupError::InvalidPath { .. })),
                "{bad}: {err:?}"
            );
        }
        let msg = resolve_path(Some("s.slice:p:n"), "x")
            .err()
            .map(|e| e.to_string());
        assert!(msg.is_some_and(|m| m.contains("systemd")));
    }

    #[test]
    fn refuses_ids_that_are_not_a_single_name() {
        for bad in ["", "a/b", ".."] {
            assert!(resolve_path(None, bad).is_err(), "{bad}");
        }
    }
}
