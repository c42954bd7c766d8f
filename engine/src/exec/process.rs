//! The process.json of an exec: the container's own process (its capabilities, user,
//! env, cwd from the bundle's config.json) with the exec's args, env, cwd, user and
//! terminal put over it, as docker builds an exec's process from the container's.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{ExecRecord, exec_dir};
use crate::container::record::ContainerRecord;
use crate::container::store::ContainerFiles;
use crate::error::{EngineError, Result, io_err};
use crate::paths::StorePaths;

/// Writes `<runroot>/exec/<id>.process.json`; its path.
pub fn write(
    paths: &StorePaths,
    container: &ContainerRecord,
    exec: &ExecRecord,
) -> Result<PathBuf> {
    let files = ContainerFiles::new(paths, &container.id);
    let config = files.bundle().join("config.json");
    let text = std::fs::read(&config).map_err(io_err("reading", &config))?;
    let spec: Value = serde_json::from_slice(&text).map_err(|e| EngineError::Corrupt {
        path: config.clone(),
        message: e.to_string(),
    })?;
    let mut process = spec.get("process").cloned().unwrap_or_else(|| json!({}));
    let c = &exec.config;
    process["args"] = json!(c.cmd);
    process["terminal"] = json!(c.tty);
    let mut env: Vec<String> = process
        .get("env")
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default();
    if c.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    if let Some(dir) = &c.working_dir {
        if !dir.starts_with('/') {
            return Err(EngineError::InvalidArgument(format!(
                "the working directory {dir:?} is invalid: it needs to be an absolute path"
            )));
        }
        process["cwd"] = json!(dir);
    }
    if let Some(user) = c.user.as_deref().filter(|u| !u.is_empty()) {
        let resolved = crate::ocispec::user::resolve(&files.rootfs(), user)?;
        let mut u = json!({"uid": resolved.uid, "gid": resolved.gid});
        if !resolved.additional_gids.is_empty() {
            u["additionalGids"] = json!(resolved.additional_gids);
        }
        process["user"] = u;
        // The user's HOME, unless the exec sets one (docker's behaviour).
        if let Some(home) = resolved.home {
            set_env(&mut env, &format!("HOME={home}"));
        }
    }
    for kv in &c.env {
        if !kv.contains('=') {
            return Err(EngineError::InvalidArgument(format!(
                "exec -e {kv:?}: expected KEY=VALUE"
            )));
        }
        set_env(&mut env, kv);
    }
    process["env"] = json!(env);
    // The container's console size belongs to its own terminal.
    match c.console_size {
        Some(size) if c.tty => {
            process["consoleSize"] = json!({"height": size.height, "width": size.width});
        }
        _ => {
            if let Some(obj) = process.as_object_mut() {
                obj.remove("consoleSize");
            }
        }
    }
    let path = exec_dir(paths).join(format!("{}.process.json", exec.id));
    let data = serde_json::to_vec(&process)
        .map_err(|e| EngineError::InvalidArgument(format!("serializing the exec process: {e}")))?;
    crate::atomic_file::write_bytes(&path, &data)?;
    Ok(path)
}

/// Sets `KEY=VALUE` in `env`, replacing the key's earlier value.
fn set_env(env: &mut Vec<String>, kv: &str) {
    let key = kv.split_once('=').map_or(kv, |(k, _)| k);
    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
    env.push(kv.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_value_replaces_the_earlier_one() {
        let mut env = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        set_env(&mut env, "A=2");
        set_env(&mut env, "B=3");
        assert_eq!(env, ["PATH=/bin", "A=2", "B=3"]);
    }
}
