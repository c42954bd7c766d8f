//! Files written whole or not at all: a temporary file beside the target, then `rename`,
//! so that a reader (another `berth`, the API server) never sees half a record, and a
//! writer killed mid-way leaves the old file (or none) plus a `.tmp` that the next write
//! replaces.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{EngineError, Result, io_err};

/// Writes `value` as JSON to `path` by rename.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let data = serde_json::to_vec_pretty(value).map_err(|e| EngineError::Corrupt {
        path: path.to_path_buf(),
        message: format!("serializing: {e}"),
    })?;
    write_bytes(path, &data)
}

/// Writes `data` to `path` by rename (the temporary name carries the pid, so two writers
/// never share one).
pub fn write_bytes(path: &Path, data: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(io_err("creating", &tmp))?;
    f.write_all(data).map_err(io_err("writing", &tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io_err("renaming into place", path))
}

/// Reads the JSON at `path`; `Ok(None)` when there is no such file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("reading", path)(e)),
    };
    serde_json::from_slice(&data)
        .map(Some)
        .map_err(|e| EngineError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.json");
        assert_eq!(read_json::<Vec<u32>>(&p).expect("read"), None);
        write_json(&p, &vec![1u32, 2]).expect("write");
        write_json(&p, &vec![3u32]).expect("overwrite");
        assert_eq!(read_json::<Vec<u32>>(&p).expect("read"), Some(vec![3]));
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(left.len(), 1, "no temporary file left");
        std::fs::write(&p, b"{").expect("corrupt");
        assert!(matches!(
            read_json::<Vec<u32>>(&p),
            Err(EngineError::Corrupt { .. })
        ));
    }
}
