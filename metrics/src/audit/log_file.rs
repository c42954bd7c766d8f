//! The audit log file (`--audit-log`): JSON lines appended, rotated by size
//! (`PATH` -> `PATH.1` -> ... -> `PATH.<keep>`, the oldest deleted), like logrotate's
//! `size` + `rotate` without its daemon.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Where and how large.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// The file.
    pub path: PathBuf,
    /// Rotate when a line would take it past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept (`PATH.1` .. `PATH.<keep>`); 0 keeps none (truncates).
    pub keep: u32,
}

/// An open audit log.
pub struct RotatingLog {
    options: LogOptions,
    out: BufWriter<File>,
    size: u64,
}

impl RotatingLog {
    /// Opens (creating, appending to) the log.
    pub fn open(options: LogOptions) -> std::io::Result<Self> {
        let file = open_append(&options.path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            options,
            out: BufWriter::with_capacity(64 * 1024, file),
            size,
        })
    }

    /// Appends `line` (ending in a newline), rotating first when it would not fit.
    pub fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        let len = line.len() as u64;
        if self.size > 0 && self.size + len > self.options.max_bytes {
            self.rotate()?;
        }
        self.out.write_all(line)?;
        self.size += len;
        Ok(())
    }

    /// Writes buffered lines to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        let path = &self.options.path;
        if self.options.keep == 0 {
            fs::remove_file(path)?;
        } else {
            for n in (1..self.options.keep).rev() {
                let from = numbered(path, n);
                if from.exists() {
                    fs::rename(&from, numbered(path, n + 1))?;
                }
            }
            fs::rename(path, numbered(path, 1))?;
        }
        self.out = BufWriter::with_capacity(64 * 1024, open_append(path)?);
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `PATH.<n>`.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_the_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.log");
        let mut log = RotatingLog::open(LogOptions {
            path: path.clone(),
            max_bytes: 30,
            keep: 2,
        })
        .expect("open");
        for i in 0..7 {
            log.append(format!("line {i} 0123456\n").as_bytes())
                .expect("append");
        }
        log.flush().expect("flush");
        let read = |p: &Path| fs::read_to_string(p).expect("read");
        assert_eq!(read(&path), "line 6 0123456\n");
        assert_eq!(
            read(&numbered(&path, 1)),
            "line 4 0123456\nline 5 0123456\n"
        );
        assert_eq!(
            read(&numbered(&path, 2)),
            "line 2 0123456\nline 3 0123456\n"
        );
        assert!(!numbered(&path, 3).exists());
    }
}
