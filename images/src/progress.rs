//! Progress of long work (loading an archive, unpacking a layer), reported to whatever
//! the front end shows: a line on a terminal, nothing in a script, a JSON stream for the
//! Docker API.

use std::io::{self, Read};

/// Receives progress. `what` names the piece of work (`Loading layer 3f2a...`); the
/// same `what` gets `update`s and one `finish`.
pub trait Progress {
    /// `done` of `total` bytes (`None` when the total is not known).
    fn update(&self, what: &str, done: u64, total: Option<u64>);
    /// The piece of work is complete.
    fn finish(&self, what: &str);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _what: &str, _done: u64, _total: Option<u64>) {}
    fn finish(&self, _what: &str) {}
}

/// A reader that reports the bytes read through it, every 1 MiB and at the end.
pub struct ProgressReader<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
    what: String,
    done: u64,
    reported: u64,
    total: Option<u64>,
    finished: bool,
}

const REPORT_EVERY: u64 = 1 << 20;

impl<'a, R: Read> ProgressReader<'a, R> {
    pub fn new(inner: R, progress: &'a dyn Progress, what: String, total: Option<u64>) -> Self {
        Self {
            inner,
            progress,
            what,
            done: 0,
            reported: 0,
            total,
            finished: false,
        }
    }
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if n == 0 && !buf.is_empty() {
            if self.finished {
                return Ok(0);
            }
            self.finished = true;
            self.progress.update(&self.what, self.done, self.total);
            self.progress.finish(&self.what);
        } else if self.done - self.reported >= REPORT_EVERY {
            self.reported = self.done;
            self.progress.update(&self.what, self.done, self.total);
        }
        Ok(n)
    }
}
