//! The OCI runtime binary (berth-runtime, runc, crun), driven through its runc-style CLI:
//! `<runtime> --root <runtime_root> <verb> ...`. Everything here waits for the command
//! and turns a failure into [`EngineError::Runtime`] with what it printed.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::container::record::ContainerRecord;
use crate::error::{EngineError, Result};
use crate::paths::StorePaths;

/// One runtime binary with its state root.
#[derive(Debug, Clone)]
pub struct OciRuntime {
    pub bin: PathBuf,
    pub root: PathBuf,
}

impl OciRuntime {
    /// The runtime a container runs under: its `--runtime` if it was created with one,
    /// else the store's.
    pub fn for_container(paths: &StorePaths, record: &ContainerRecord) -> Self {
        Self {
            bin: record
                .host
                .runtime
                .clone()
                .unwrap_or_else(|| paths.runtime.clone()),
            root: paths.runtime_root.clone(),
        }
    }

    /// `<runtime> --root <root>`, ready for a verb.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root);
        c
    }

    fn name(&self) -> String {
        self.bin.display().to_string()
    }

    /// Runs `verb` with `args`; Err with the runtime's stderr when it fails.
    fn run(&self, verb: &'static str, id: &str, args: &[&str]) -> Result<Vec<u8>> {
        let out = self
            .command()
            .arg(verb)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| EngineError::Runtime {
                verb,
                id: id.to_string(),
                runtime: self.name(),
                message: format!("starting the runtime: {e}"),
            })?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(EngineError::Runtime {
                verb,
                id: id.to_string(),
                runtime: self.name(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    /// The runtime's status word for `id` (`created`, `running`, `paused`, `stopped`),
    /// None when the runtime does not know the container.
    pub fn status(&self, id: &str) -> Option<String> {
        let out = self.run("state", id, &[id]).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out).ok()?;
        v.get("status").and_then(|s| s.as_str()).map(str::to_string)
    }

    /// Sends `signal` (a name or number) to the container's init.
    pub fn kill(&self, id: &str, signal: &str) -> Result<()> {
        self.run("kill", id, &[id, signal]).map(drop)
    }

    /// Deletes the runtime's container (`--force` kills a running one first). A container
    /// the runtime does not know is already deleted: Ok.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let args: &[&str] = if force { &["--force", id] } else { &[id] };
        match self.run("delete", id, args) {
            Ok(_) => Ok(()),
            Err(EngineError::Runtime { message, .. })
                if message.contains("does not exist")
                    || message.contains("not exist")
                    || message.contains("no such") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
