//! The container's log in docker's json-file format, written by the monitor: one JSON
//! object per line, `{"log":"text\n","stream":"stdout","time":"<RFC 3339, ns>"}`, one
//! object per line of output (a last line without newline is written as it is). The
//! file is capped: past `max_size` bytes it is renamed `<name>.1` (older ones shift to
//! `.2`, ... up to `max_files - 1`) and a new one is started, as docker's `max-size` and
//! `max-file` options do.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One log entry as docker's json-file driver writes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogEntry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// The monitor's writer of one container's log.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_size: u64,
    max_files: u32,
}

/// Path of rotated file `n` (`<path>.n`); 0 is the current file.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl LogWriter {
    /// Opens (appending to) the log at `path`.
    pub fn open(path: &Path, max_size: u64, max_files: u32) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file: Some(file),
            size,
            max_size,
            max_files: max_files.max(1),
        })
    }

    /// Writes one entry for `line` (with its newline, if it had one) from `stream`.
    pub fn write_entry(&mut self, stream: &str, line: &[u8]) -> std::io::Result<()> {
        let entry = LogEntry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: stream.to_string(),
            time: berth_state::Timestamp::now().to_string(),
        };
        let mut data = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        data.push(b'\n');
        if self.max_size > 0 && self.size > 0 && self.size + data.len() as u64 > self.max_size {
            self.rotate()?;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(&data)?;
            self.size += data.len() as u64;
        }
        Ok(())
    }

    /// Shifts `.n` to `.n+1` (the oldest falls off), the current file to `.1`, and opens
    /// a new current file. With `max_files` 1 the current file is truncated instead.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        if self.max_files == 1 {
            self.file = Some(File::create(&self.path)?);
            self.size = 0;
            return Ok(());
        }
        let last = self.max_files - 1;
        let _ = std::fs::remove_file(rotated(&self.path, last));
        for n in (0..last).rev() {
            let from = rotated(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.path, n + 1))?;
            }
        }
        self.file = Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?,
        );
        self.size = 0;
        Ok(())
    }
}

/// Splits a stream's output into lines for the log: complete lines are returned, a
/// partial one is kept until its newline arrives (or it grows past 16 KiB, docker's
/// buffer, and is written as a partial entry).
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

const MAX_PARTIAL: usize = 16 * 1024;

impl LineSplitter {
    /// Feeds `data`; calls `emit` for each line ready to be logged.
    pub fn feed(&mut self, data: &[u8], mut emit: impl FnMut(&[u8])) {
        self.partial.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = self.partial[start..].iter().position(|b| *b == b'\n') {
            emit(&self.partial[start..start + nl + 1]);
            start += nl + 1;
        }
        self.partial.drain(..start);
        if self.partial.len() >= MAX_PARTIAL {
            emit(&self.partial);
            self.partial.clear();
        }
    }

    /// The rest at end of stream.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            emit(&self.partial);
            self.partial.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_the_tail_kept_until_its_newline() {
        let mut s = LineSplitter::default();
        let mut out: Vec<Vec<u8>> = Vec::new();
        s.feed(b"a\nb", |l| out.push(l.to_vec()));
        s.feed(b"c\n\n", |l| out.push(l.to_vec()));
        s.feed(b"tail", |l| out.push(l.to_vec()));
        s.finish(|l| out.push(l.to_vec()));
        assert_eq!(
            out,
            vec![
                b"a\n".to_vec(),
                b"bc\n".to_vec(),
                b"\n".to_vec(),
                b"tail".to_vec()
            ]
        );
    }

    #[test]
    fn the_log_rotates_at_its_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x-json.log");
        let mut w = LogWriter::open(&path, 300, 3).expect("open");
        for i in 0..40 {
            w.write_entry("stdout", format!("line {i}\n").as_bytes())
                .expect("write");
        }
        assert!(rotated(&path, 1).exists() && rotated(&path, 2).exists());
        assert!(!rotated(&path, 3).exists(), "only max_files kept");
        for n in 0..3 {
            let len = std::fs::metadata(rotated(&path, n)).expect("meta").len();
            assert!(len <= 300, "file {n} is {len} bytes");
        }
        let last = std::fs::read_to_string(&path).expect("read");
        let entry: LogEntry =
            serde_json::from_str(last.lines().last().expect("line")).expect("json");
        assert_eq!(
            (entry.log.as_str(), entry.stream.as_str()),
            ("line 39\n", "stdout")
        );
        assert!(entry.time.ends_with('Z') && entry.time.contains('T'));
    }
}
