//! Reading and writing cgroup interface files, with errors that name the file.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::CgroupError;

/// Writes `value` to `dir/file` (no create, no truncate games: cgroup files take one write).
pub(crate) fn write(dir: &Path, file: &str, value: impl AsRef<str>) -> Result<(), CgroupError> {
    let path = dir.join(file);
    let value = value.as_ref();
    tracing::trace!(path = %path.display(), value, "cgroup write");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| CgroupError::io("opening for write", &path, e))?;
    std::io::Write::write_all(&mut f, value.as_bytes()).map_err(|e| CgroupError::Io {
        op: "writing",
        path: path_with_value(&path, value),
        cause: e,
    })
}

/// `path` with ` (value "...")` appended, so a refused write says what was refused.
fn path_with_value(path: &Path, value: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(" (value {:?})", value.trim_end()));
    PathBuf::from(s)
}

/// Reads `dir/file` as a string.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|e| CgroupError::io("reading", &path, e))
}

/// Reads `dir/file` when it exists; `None` when it does not.
pub(crate) fn read_optional(dir: &Path, file: &str) -> Result<Option<String>, CgroupError> {
    let path = dir.join(file);
    match fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CgroupError::io("reading", &path, e)),
    }
}

/// Parses a single number; `max` (v2) reads as `u64::MAX`.
pub(crate) fn parse_u64(path: &Path, s: &str) -> Result<u64, CgroupError> {
    let s = s.trim();
    if s == "max" {
        return Ok(u64::MAX);
    }
    s.parse::<u64>().map_err(|e| CgroupError::Parse {
        path: path.to_path_buf(),
        reason: format!("{s:?} is not a number: {e}"),
    })
}

/// Reads `dir/file` as a single number (`max` is `u64::MAX`).
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let s = read(dir, file)?;
    parse_u64(&dir.join(file), &s)
}

/// Reads `dir/file` as a single number when it exists.
pub(crate) fn read_u64_optional(dir: &Path, file: &str) -> Result<Option<u64>, CgroupError> {
    match read_optional(dir, file)? {
        Some(s) => parse_u64(&dir.join(file), &s).map(Some),
        None => Ok(None),
    }
}

/// Parses a flat keyed file (`key value` per line), e.g. `memory.stat`, `cpu.stat`.
/// Values that are not numbers are skipped.
pub(crate) fn parse_flat_keyed(s: &str) -> BTreeMap<String, u64> {
    s.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let key = it.next()?;
            let value = it.next()?.parse().ok()?;
            Some((key.to_owned(), value))
        })
        .collect()
}

/// Reads a flat keyed file when it exists (empty map when it does not).
pub(crate) fn read_flat_keyed(
    dir: &Path,
    file: &str,
) -> Result<BTreeMap<String, u64>, CgroupError> {
    Ok(read_optional(dir, file)?
        .map(|s| parse_flat_keyed(&s))
        .unwrap_or_default())
}

/// Parses the pid list of `cgroup.procs`.
pub(crate) fn parse_pids(path: &Path, s: &str) -> Result<Vec<i32>, CgroupError> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim().parse::<i32>().map_err(|e| CgroupError::Parse {
                path: path.to_path_buf(),
                reason: format!("{l:?} is not a pid: {e}"),
            })
        })
        .collect()
}

/// The pids in `dir/cgroup.procs`; an already removed cgroup has none.
pub(crate) fn read_pids(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let path = dir.join("cgroup.procs");
    match fs::read_to_string(&path) {
        Ok(s) => parse_pids(&path, &s),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(CgroupError::io("reading", &path, e)),
    }
}

/// Creates `root/relative` and every missing directory between; returns the directories
/// that were created (outermost first).
pub(crate) fn create_dirs(root: &Path, relative: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut created = Vec::new();
    let mut dir = root.to_path_buf();
    for component in relative.components() {
        dir.push(component);
        match fs::create_dir(&dir) {
            Ok(()) => created.push(dir.clone()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(CgroupError::io("creating cgroup", &dir, e)),
        }
    }
    Ok(created)
}

/// Removes the cgroup directory `dir`; already gone is success. Retries on EBUSY until
/// `deadline`: the kernel returns it while exiting tasks are still being reaped.
pub(crate) fn remove_dir(dir: &Path, deadline: std::time::Instant) -> Result<(), CgroupError> {
    let mut delay = std::time::Duration::from_millis(1);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(CgroupError::io("removing cgroup", dir, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_skips_non_numbers() {
        let m = parse_flat_keyed("usage_usec 10\nnr_periods 3\nweird x\n\n");
        assert_eq!(m.get("usage_usec"), Some(&10));
        assert_eq!(m.get("nr_periods"), Some(&3));
        assert!(!m.contains_key("weird"));
    }

    #[test]
    fn max_parses_as_unlimited() {
        assert_eq!(parse_u64(Path::new("x"), "max\n").ok(), Some(u64::MAX));
        assert!(parse_u64(Path::new("x"), "abc").is_err());
    }

    #[test]
    fn pids_parse_one_per_line() {
        assert_eq!(
            parse_pids(Path::new("x"), "1\n22\n").ok(),
            Some(vec![1, 22])
        );
    }
}
