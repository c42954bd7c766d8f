//! File names inside a container's state directory `<root>/<id>/`.

/// berth: the container's [`crate::ContainerState`], replaced atomically (written to
/// [`STATE_TMP`], then renamed).
pub const STATE_FILE: &str = "state.json";

/// berth: where [`STATE_FILE`] is written before the rename that replaces it.
pub const STATE_TMP: &str = ".state.json.tmp";

/// berth: a FIFO that exists from `create` until `start` releases the init through it.
pub const EXEC_FIFO: &str = "exec.fifo";

/// berth: `flock`ed exclusively by commands that change the container, shared by readers.
pub const LOCK_FILE: &str = "lock";

/// runc (and containerd's runc roots): libcontainer's state, [`crate::RuncState`].
pub const RUNC_STATE_FILE: &str = "state.json";

/// crun: its status, [`crate::CrunStatus`].
pub const CRUN_STATUS_FILE: &str = "status";

/// An OCI bundle's configuration, where crun's annotations are.
pub const BUNDLE_CONFIG: &str = "config.json";
