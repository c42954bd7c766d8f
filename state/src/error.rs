//! What reading or writing a state file fails with.

/// A state file that is not what its runtime writes, or a state that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The text is not the JSON `format` describes; `source` says where and why (line,
    /// column, the missing or mistyped field).
    #[error("not a {format}: {source}")]
    Parse {
        /// Which file format was expected, e.g. `berth state.json`.
        format: &'static str,
        /// serde_json's account of the first mismatch.
        source: serde_json::Error,
    },
    /// A state could not be turned into JSON (a cgroup record that fails to serialize).
    #[error("serializing {format}: {source}")]
    Serialize {
        /// Which file format was being written.
        format: &'static str,
        /// What serializing failed with.
        source: serde_json::Error,
    },
}

/// Parses `bytes` as the JSON of `format`, naming the format in the error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    format: &'static str,
    bytes: &[u8],
) -> Result<T, StateError> {
    serde_json::from_slice(bytes).map_err(|source| StateError::Parse { format, source })
}

/// A recorded pid as a live process's: `None` for 0 (no init yet or any more), negative
/// or out of range.
pub(crate) fn recorded_pid(pid: i64) -> Option<u32> {
    u32::try_from(pid).ok().filter(|&p| p > 0)
}
