//! What a pull or push shows while it works, on stdout as docker does (stderr for the
//! implicit pull of `run`, whose stdout is the container's): on a terminal one
//! line per layer redrawn in place (status, a bar, bytes and rate); otherwise plain lines,
//! one per layer when its state changes, so logs and scripts read them; nothing with
//! `-q`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a terminal display is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);

/// The progress display of one pull or push (shared by its layer tasks).
pub struct Progress {
    mode: Mode,
    stderr: bool,
    board: Mutex<Board>,
    /// Where a front end without a terminal (the Docker API server) gets the same
    /// reports, as they happen.
    sink: Option<ProgressSink>,
}

/// One report of a pull, for a [`ProgressSink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressEvent<'a> {
    /// A line of its own ("latest: Pulling from library/busybox", "Digest: ...").
    Line(&'a str),
    /// A layer's state (`id`: 12 hex digits), with its bytes done of `total` (0: unknown).
    Layer {
        id: &'a str,
        status: &'a str,
        current: u64,
        total: u64,
    },
}

/// A receiver of [`ProgressEvent`]s (called from the pull's tasks, so Send + Sync).
#[derive(Clone)]
pub struct ProgressSink(pub std::sync::Arc<dyn Fn(ProgressEvent<'_>) + Send + Sync>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quiet,
    Plain,
    Terminal,
}

#[derive(Default)]
struct Board {
    rows: Vec<Row>,
    /// Rows on screen below the last plain line (terminal mode).
    drawn: usize,
    last_draw: Option<Instant>,
}

struct Row {
    id: String,
    status: String,
    current: u64,
    total: u64,
    started: Instant,
}

/// A layer's line in the display.
#[derive(Debug, Clone, Copy)]
pub struct RowId(usize);

impl Progress {
    /// A display on stdout (or stderr): nothing when `quiet`, redrawn lines on a
    /// terminal, plain lines otherwise.
    pub fn new(quiet: bool, stderr: bool) -> Self {
        let terminal = if stderr {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        let mode = if quiet {
            Mode::Quiet
        } else if terminal {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        Progress {
            mode,
            stderr,
            board: Mutex::new(Board::default()),
            sink: None,
        }
    }

    /// Reports to `sink` only (nothing is printed).
    pub fn to_sink(sink: ProgressSink) -> Self {
        Progress {
            mode: Mode::Quiet,
            stderr: false,
            board: Mutex::new(Board::default()),
            sink: Some(sink),
        }
    }

    fn report_row(&self, r: &Row) {
        if let Some(sink) = &self.sink {
            (sink.0)(ProgressEvent::Layer {
                id: &r.id,
                status: &r.status,
                current: r.current,
                total: r.total,
            });
        }
    }

    /// The stream the display writes to, locked.
    fn out(&self) -> Box<dyn Write + '_> {
        if self.stderr {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        }
    }

    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        // A panic while drawing leaves only a display behind: keep drawing.
        self.board
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A line of its own ("latest: Pulling from library/busybox", "Digest: ...").
    pub fn line(&self, text: &str) {
        if let Some(sink) = &self.sink {
            (sink.0)(ProgressEvent::Line(text));
        }
        if self.mode == Mode::Quiet {
            return;
        }
        let mut board = self.board();
        let mut out = self.out();
        if self.mode == Mode::Terminal {
            board.redraw(&mut out, true);
            board.rows.clear();
            board.drawn = 0;
        }
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// A new layer line (`digest` shown as docker does: 12 hex digits).
    pub fn add(&self, digest: &str, status: &str, total: u64) -> RowId {
        let id = short_id(digest);
        let mut board = self.board();
        board.rows.push(Row {
            id,
            status: status.to_string(),
            current: 0,
            total,
            started: Instant::now(),
        });
        let row = RowId(board.rows.len() - 1);
        self.report_row(&board.rows[row.0]);
        match self.mode {
            Mode::Quiet => {}
            Mode::Plain => {
                let r = &board.rows[row.0];
                let _ = writeln!(self.out(), "{}: {}", r.id, r.status);
            }
            Mode::Terminal => board.redraw(&mut self.out(), true),
        }
        row
    }

    /// A layer's new state ("Download complete", "Pull complete", "Retrying ...").
    pub fn status(&self, row: RowId, status: &str) {
        let mut board = self.board();
        let Some(r) = board.rows.get_mut(row.0) else {
            return;
        };
        r.status = status.to_string();
        self.report_row(r);
        match self.mode {
            Mode::Quiet => {}
            Mode::Plain => {
                let _ = writeln!(self.out(), "{}: {}", r.id, r.status);
            }
            Mode::Terminal => board.redraw(&mut self.out(), true),
        }
    }

    /// Bytes done so far for a layer (drawn on a terminal only, at most every 100 ms).
    pub fn advance(&self, row: RowId, current: u64) {
        if self.mode != Mode::Terminal && self.sink.is_none() {
            return;
        }
        let mut board = self.board();
        if let Some(r) = board.rows.get_mut(row.0) {
            r.current = current;
            self.report_row(r);
        }
        if self.mode == Mode::Terminal {
            board.redraw(&mut self.out(), false);
        }
    }
}

/// The store's unpacking reports ("Unpacking layer <12 hex>"), shown on the layer's line
/// as docker shows extraction.
impl crate::progress::Progress for Progress {
    fn update(&self, what: &str, done: u64, total: Option<u64>) {
        let Some(id) = what.strip_prefix("Unpacking layer ") else {
            return;
        };
        let mut board = self.board();
        let Some(r) = board.rows.iter_mut().find(|r| r.id == id) else {
            return;
        };
        let first = r.status != "Extracting";
        if first {
            r.status = "Extracting".to_string();
            r.started = Instant::now();
        }
        r.current = done;
        r.total = total.unwrap_or(0);
        if self.mode == Mode::Terminal {
            board.redraw(&mut self.out(), first);
        }
    }

    fn finish(&self, what: &str) {
        let Some(id) = what.strip_prefix("Unpacking layer ") else {
            return;
        };
        let row = self.board().rows.iter().position(|r| r.id == id);
        if let Some(row) = row {
            self.status(RowId(row), "Pull complete");
        }
    }
}

impl Board {
    fn redraw(&mut self, out: &mut impl Write, force: bool) {
        let now = Instant::now();
        if !force
            && self
                .last_draw
                .is_some_and(|t| now.duration_since(t) < REDRAW)
        {
            return;
        }
        self.last_draw = Some(now);
        if self.drawn > 0 {
            let _ = write!(out, "\x1b[{}A", self.drawn);
        }
        for r in &self.rows {
            let _ = write!(out, "\x1b[2K{}: {}", r.id, r.status);
            if r.total > 0 && r.current > 0 && r.current < r.total {
                let width = 50u64;
                let done = (r.current * width / r.total).min(width);
                let secs = now.duration_since(r.started).as_secs_f64().max(0.001);
                let _ = write!(
                    out,
                    " [{}>{}] {}/{} {}/s",
                    "=".repeat(done.saturating_sub(1) as usize),
                    " ".repeat((width - done) as usize),
                    human(r.current),
                    human(r.total),
                    human((r.current as f64 / secs) as u64),
                );
            }
            let _ = writeln!(out);
        }
        self.drawn = self.rows.len();
        let _ = out.flush();
    }
}

/// docker's short layer id: the first 12 hex digits of the digest.
pub fn short_id(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// Bytes as docker shows them (decimal units: 1.2MB).
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ids_read_as_docker_prints_them() {
        assert_eq!(human(999), "999B");
        assert_eq!(human(1_234_567), "1.2MB");
        assert_eq!(short_id("sha256:0123456789abcdef0123"), "0123456789ab");
    }
}
