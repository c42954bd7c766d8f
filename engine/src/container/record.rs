//! The container record, `<root>/containers/<id>/container.json`: what `create` decided
//! (the image, the process, the limits, the flags). It never holds the container's
//! status: that is derived each time ([`crate::container::status`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_state::Timestamp;
use serde::{Deserialize, Serialize};

/// One container, as `create` recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRecord {
    /// 64 hex digits.
    pub id: String,
    /// Unique name, without docker's leading `/`.
    pub name: String,
    /// When `create` made it.
    pub created: Timestamp,
    /// The image as the user typed it (`busybox`): `ps` and the exporter show this.
    pub image: String,
    /// The image's id (`sha256:<config digest>`), what the rootfs is built from.
    pub image_id: String,
    /// The process and its environment, image config and flags merged.
    pub process: ProcessConfig,
    /// Flags that shape the container around the process.
    pub host: HostConfig,
    /// The network attachment made at start, kept for teardown (`rm`, the monitor): the
    /// network helper's `Attachment` as JSON, so this record reads whatever it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_attachment: Option<serde_json::Value>,
}

/// What runs: image config (Entrypoint, Cmd, Env, WorkingDir, User, StopSignal) merged
/// with the flags as docker merges them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProcessConfig {
    /// The entrypoint part of `args` (docker's `Path` is its first word, or the cmd's).
    pub entrypoint: Vec<String>,
    /// The cmd part of `args`.
    pub cmd: Vec<String>,
    /// `KEY=VALUE`, image first, flags overriding.
    pub env: Vec<String>,
    /// Absolute working directory in the container.
    pub working_dir: String,
    /// `USER[:GROUP]` (names or numbers), resolved in the rootfs at start; empty = root.
    pub user: String,
    /// Hostname inside the container (default: the short id).
    pub hostname: String,
    /// Signal `stop` sends first (`SIGTERM`, `15`, `TERM`).
    pub stop_signal: String,
    /// Seconds `stop` waits before SIGKILL (docker's default 10).
    pub stop_timeout: Option<u32>,
    /// `-t`: a pty.
    pub tty: bool,
    /// `-i`: stdin kept open and forwarded.
    pub open_stdin: bool,
    /// Labels (`--label`), shown by inspect and copied into the OCI annotations.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl ProcessConfig {
    /// The full argv: entrypoint then cmd.
    pub fn args(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

/// Seccomp choice of `--security-opt seccomp=...`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub enum SeccompChoice {
    /// berth's default profile (widened for added capabilities).
    #[default]
    Default,
    /// No filter.
    Unconfined,
    /// An OCI `linux.seccomp` JSON file, read at create time and kept here.
    Profile(serde_json::Value),
}

/// Flags around the process (docker's HostConfig).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostConfig {
    /// `--rm`: the monitor removes the container when it ends.
    pub auto_remove: bool,
    /// `--memory`, bytes.
    pub memory: Option<i64>,
    /// `--cpus`, in CPUs (quota over a 100 ms period).
    pub cpus: Option<f64>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--read-only`: the rootfs mounted read-only.
    pub read_only: bool,
    /// `--cap-add` / `--cap-drop` (`CAP_` prefix optional, `ALL` allowed).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub seccomp: SeccompChoice,
    /// `--network` as given (`none`, `host`, `bridge` or a network name); empty = default.
    pub network: String,
    /// `-p` as given, parsed by the network helper at start.
    pub publish: Vec<String>,
    /// `-v` as given, parsed by the volume helper at start.
    pub volumes: Vec<String>,
    /// The OCI runtime binary this container runs under (`--runtime`); the store's default
    /// when None. Kept so that later verbs drive the same runtime.
    pub runtime: Option<PathBuf>,
    /// Log rotation: bytes per file and files kept (docker's `max-size`, `max-file`).
    pub log_max_size: u64,
    pub log_max_files: u32,
    /// `--sysctl KEY=VALUE`: namespaced kernel parameters (the spec's `linux.sysctl`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
}

/// The default log cap: 10 MiB per file, 3 files (the current and 2 rotated).
pub const DEFAULT_LOG_MAX_SIZE: u64 = 10 << 20;
pub const DEFAULT_LOG_MAX_FILES: u32 = 3;
