//! `exec --cgroup`: the sub-cgroup of the container's that an exec'd process joins, picked
//! as `runc exec --cgroup [CONTROLLER[,CONTROLLER]:]PATH` picks it.
//!
//! `PATH` alone (given once) applies to every hierarchy, the v2 one included;
//! `CONTROLLER:PATH` (repeatable) to those v1 controllers only, the others staying in the
//! container's cgroup. `PATH` is relative to the container's cgroup (a leading `/` too, as
//! in runc) and must stay inside it; the directories must exist, as runc requires.

use std::path::{Component, Path, PathBuf};

use berth_cgroups::CgroupPlacement;

use crate::error::{Error, Result};

/// The placement the process joins: `container`'s, with the hierarchies `args` select moved
/// to the sub-cgroups it names. Errors: an argument runc refuses, a controller the
/// container has no cgroup of, a path leaving the container's cgroup, a directory missing.
pub fn placement(container: &CgroupPlacement, args: &[String]) -> Result<CgroupPlacement> {
    let mut joined = container.clone();
    for arg in args {
        let bad = |why: &str| Error::InvalidArgument(format!("--cgroup {arg:?}: {why}"));
        let (controllers, path) = match arg.split(':').collect::<Vec<_>>()[..] {
            [path] if args.len() == 1 => (None, path),
            [_] => return Err(bad("missing CONTROLLER: prefix (needed when given twice)")),
            [controllers, path] => (Some(controllers), path),
            _ => return Err(bad("expected [CONTROLLER[,CONTROLLER]:]PATH")),
        };
        let sub = inside(path).ok_or_else(|| bad("the path leaves the container's cgroup"))?;
        match controllers {
            None => {
                for dir in joined.v1_dirs.values_mut().chain(joined.v2_dir.as_mut()) {
                    *dir = existing(dir.join(&sub), arg)?;
                }
            }
            Some(controllers) => {
                for name in controllers.split(',') {
                    let Some(dir) = container.v1_dirs.get(name) else {
                        return Err(bad(&format!(
                            "the container has no cgroup v1 controller {name:?} (it has: {})",
                            names(container)
                        )));
                    };
                    let target = existing(dir.join(&sub), arg)?;
                    // Controllers mounted together share the hierarchy: all of them move,
                    // or the process would be written back to the container's cgroup.
                    for (other, other_dir) in &container.v1_dirs {
                        if other_dir == dir {
                            joined.v1_dirs.insert(other.clone(), target.clone());
                        }
                    }
                }
            }
        }
    }
    Ok(joined)
}

/// `path` as a relative path that stays below the container's cgroup; None if `..` leaves it.
fn inside(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(name) => out.push(name),
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn existing(dir: PathBuf, arg: &str) -> Result<PathBuf> {
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Error::InvalidArgument(format!(
            "--cgroup {arg:?}: {} does not exist (exec joins an existing sub-cgroup)",
            dir.display()
        )))
    }
}

fn names(container: &CgroupPlacement) -> String {
    let names: Vec<&str> = container.v1_dirs.keys().map(String::as_str).collect();
    if names.is_empty() {
        "none, only the v2 hierarchy: give PATH alone".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_containers_cgroup() {
        assert_eq!(inside("sub"), Some(PathBuf::from("sub")));
        assert_eq!(inside("/a/b"), Some(PathBuf::from("a/b")));
        assert_eq!(inside("a/../b/./c"), Some(PathBuf::from("b/c")));
        assert_eq!(inside("a/.."), Some(PathBuf::new()));
        assert_eq!(inside(".."), None);
        assert_eq!(inside("a/../../b"), None);
        assert_eq!(inside("/../x"), None);
    }

    fn container(dir: &Path) -> CgroupPlacement {
        let mut p = CgroupPlacement {
            v2_dir: Some(dir.join("unified/c")),
            ..Default::default()
        };
        for c in ["cpu", "cpuacct", "memory"] {
            let mount = if c == "memory" {
                "memory"
            } else {
                "cpu,cpuacct"
            };
            p.v1_dirs.insert(c.into(), dir.join(mount).join("c"));
        }
        for d in p.dirs() {
            std::fs::create_dir_all(d.join("sub")).expect("mkdir");
        }
        p
    }

    #[test]
    fn a_path_alone_moves_every_hierarchy_a_controller_only_its_own() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let c = container(tmp.path());
        let all = placement(&c, &["sub".into()]).expect("sub");
        assert!(all.dirs().iter().all(|d| d.ends_with("c/sub")), "{all:?}");
        let mem = placement(&c, &["memory:/sub".into()]).expect("memory:sub");
        assert_eq!(mem.v1_dirs["memory"], tmp.path().join("memory/c/sub"));
        assert_eq!(mem.v1_dirs["cpu"], c.v1_dirs["cpu"]);
        assert_eq!(mem.v2_dir, c.v2_dir);
        // cpu and cpuacct share a hierarchy: naming one moves both.
        let cpu = placement(&c, &["cpu:sub".into()]).expect("cpu:sub");
        assert_eq!(cpu.v1_dirs["cpuacct"], tmp.path().join("cpu,cpuacct/c/sub"));
    }

    #[test]
    fn what_runc_refuses_and_what_escapes_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let c = container(tmp.path());
        for args in [
            vec!["a:b:c"],
            vec!["sub", "memory:sub"],
            vec!["../c2"],
            vec!["memory:../../x"],
            vec!["rdma:sub"],
            vec!["missing"],
        ] {
            let args: Vec<String> = args.into_iter().map(Into::into).collect();
            let err = placement(&c, &args).expect_err(&format!("{args:?} accepted"));
            assert!(err.to_string().contains("--cgroup"), "{err}");
        }
    }
}
