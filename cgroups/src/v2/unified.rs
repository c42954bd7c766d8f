//! `linux.resources.unified`: raw v2 interface files, key = file name, value = content.

use std::collections::HashMap;
use std::path::Path;

use crate::CgroupError;
use crate::cgroupfs;

/// Each key must name an existing interface file of an enabled controller (or a core
/// `cgroup.*` file other than the ones that move processes or controllers).
pub(crate) fn validate(dir: &Path, unified: &HashMap<String, String>) -> Result<(), CgroupError> {
    let enabled = super::controllers(dir)?;
    for key in unified.keys() {
        let field = || format!("unified.{key}");
        let Some((controller, _)) = key.split_once('.') else {
            return Err(CgroupError::invalid(
                field(),
                "not a cgroup interface file name",
            ));
        };
        if key.contains('/') || key.starts_with('.') {
            return Err(CgroupError::invalid(field(), "must be a plain file name"));
        }
        if matches!(
            key.as_str(),
            "cgroup.procs" | "cgroup.threads" | "cgroup.subtree_control"
        ) {
            return Err(CgroupError::invalid(
                field(),
                "moves processes or controllers; not a limit",
            ));
        }
        if controller != "cgroup" && !enabled.iter().any(|c| c == controller) {
            return Err(CgroupError::unsupported(
                field(),
                format!(
                    "controller {controller:?} is not available in {} (available: {})",
                    dir.display(),
                    if enabled.is_empty() {
                        "none".to_owned()
                    } else {
                        enabled.join(" ")
                    }
                ),
            ));
        }
        if !dir.join(key).exists() {
            return Err(CgroupError::invalid(
                field(),
                format!("no such interface file in {}", dir.display()),
            ));
        }
    }
    Ok(())
}

pub(crate) fn apply(dir: &Path, unified: &HashMap<String, String>) -> Result<(), CgroupError> {
    let mut keys: Vec<&String> = unified.keys().collect();
    keys.sort();
    for key in keys {
        cgroupfs::write(dir, key, &unified[key])?;
    }
    Ok(())
}
