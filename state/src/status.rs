//! A container's lifecycle status as berth records it.

use serde::{Deserialize, Serialize};

/// The OCI runtime spec's statuses (`creating`, `created`, `running`, `stopped`), plus
/// runc's `paused`. In `state.json` and every output it is the lowercase word.
///
/// berth records `creating` for the window in which `create` is still building the
/// container, which lets `delete --force` clean up after a `create` that was killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is still building the container.
    Creating,
    /// The init waits on the exec FIFO for `start`.
    Created,
    /// The init runs user code.
    Running,
    /// The container's cgroup is frozen (runc's status; not in the OCI spec).
    Paused,
    /// The init has exited.
    Stopped,
}

impl Status {
    /// The word as written in `state.json` and printed by `state` and `list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn display_is_the_json_word() {
        for s in [
            Status::Creating,
            Status::Created,
            Status::Running,
            Status::Paused,
            Status::Stopped,
        ] {
            let json = serde_json::to_string(&s).expect("serializing a status");
            assert_eq!(json, format!("\"{s}\""));
            let back: Status = serde_json::from_str(&json).expect("parsing a status");
            assert_eq!(back, s);
        }
        assert!(serde_json::from_str::<Status>("\"Running\"").is_err());
    }
}
