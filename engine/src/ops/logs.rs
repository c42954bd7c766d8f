//! `logs [--tail N] [-f] [-t] [--since]`: the container's json-file log, read back.
//! Rotated files (`.2`, `.1`, then the current one) are read oldest first; `--follow`
//! keeps reading the current file, reopens it when the monitor rotates it (after
//! draining the old one), and ends once the container stopped and nothing is left.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use berth_state::Timestamp;

use crate::container::store::ContainerFiles;
use crate::container::{status, store};
use crate::error::{EngineError, Result, io_err};
use crate::monitor::logfile::{LogEntry, rotated};
use crate::paths::StorePaths;

/// `logs` flags.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub follow: bool,
    /// `--tail N`: only the last N lines (of what exists when the command starts).
    pub tail: Option<usize>,
    /// `--since`: only entries at or after this time.
    pub since: Option<Timestamp>,
}

/// Parses `--since`: an RFC 3339 time, Unix seconds (`1700000000` or with a fraction), or
/// a duration back from now (`10s`, `5m`, `2h`, `1h30m`).
pub fn parse_since(text: &str) -> Result<Timestamp> {
    let bad = || {
        EngineError::InvalidArgument(format!(
            "invalid --since {text:?}: give an RFC 3339 time, Unix seconds or a duration like 10m"
        ))
    };
    if let Ok(t) = Timestamp::parse(text) {
        return Ok(t);
    }
    if let Ok(secs) = text.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return Err(bad());
        }
        return Ok(Timestamp::from(
            std::time::UNIX_EPOCH + Duration::from_secs_f64(secs),
        ));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(Timestamp::from(
        std::time::SystemTime::now() - Duration::from_secs(total),
    ))
}

/// Parses one log line; a line that is not an entry (a torn write) is skipped.
fn parse_line(line: &str) -> Option<LogEntry> {
    serde_json::from_str(line.trim_end()).ok()
}

fn keep(entry: &LogEntry, since: Option<&Timestamp>) -> bool {
    match since {
        None => true,
        Some(s) => Timestamp::parse(&entry.time)
            .map(|t| t >= *s)
            .unwrap_or(true),
    }
}

/// Writes the container's log entries to `out` (in order) as `opts` asks. Returns when
/// the log is read (or, with `follow`, once the container stopped and its log is
/// drained), or when `out` fails (the reader went away: Ok).
pub fn logs(
    paths: &StorePaths,
    query: &str,
    opts: &LogsOptions,
    out: &mut dyn FnMut(&LogEntry) -> std::io::Result<()>,
) -> Result<()> {
    let id = store::resolve(paths, query)?;
    let record = store::load(paths, &id)?;
    let files = ContainerFiles::new(paths, &id);
    let path = files.log();
    // What exists now: the rotated files oldest first, then the current one, which
    // follow keeps reading from where this pass ends.
    let mut entries: Vec<LogEntry> = Vec::new();
    for n in (1..=record.host.log_max_files.max(1)).rev() {
        let p = rotated(&path, n);
        if let Ok(f) = File::open(&p) {
            for line in BufReader::new(f).lines() {
                let line = line.map_err(io_err("reading", &p))?;
                entries.extend(parse_line(&line).filter(|e| keep(e, opts.since.as_ref())));
            }
        }
    }
    let mut current = match File::open(&path) {
        Ok(f) => Some(BufReader::new(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("opening", &path)(e)),
    };
    if let Some(r) = current.as_mut() {
        read_complete_lines(r, &path, &mut |e| {
            if keep(&e, opts.since.as_ref()) {
                entries.push(e);
            }
        })?;
    }
    let skip = opts
        .tail
        .map(|n| entries.len().saturating_sub(n))
        .unwrap_or(0);
    for e in &entries[skip..] {
        if out(e).is_err() {
            return Ok(());
        }
    }
    if !opts.follow {
        return Ok(());
    }
    let failed = std::cell::Cell::new(false);
    let mut emit = |e: LogEntry| {
        if !failed.get() && out(&e).is_err() {
            failed.set(true);
        }
    };
    loop {
        // Checked before reading: whatever the container wrote before it stopped is
        // read below, then the loop ends.
        let state = status::derive(paths, &record)?;
        let stopped = !state.is_running() && state.monitor.is_none();
        if current.is_none() {
            current = File::open(&path).ok().map(BufReader::new);
        }
        if let Some(r) = current.as_mut() {
            read_complete_lines(r, &path, &mut emit)?;
            // Rotated: the path names a new file. The old one is drained above; go on
            // with the new one from its start.
            let rotated_away = match (std::fs::metadata(&path), r.get_ref().metadata()) {
                (Ok(now), Ok(ours)) => now.ino() != ours.ino(),
                (Err(_), _) => true,
                _ => false,
            };
            if rotated_away {
                current = File::open(&path).ok().map(BufReader::new);
                continue;
            }
        }
        if failed.get() || stopped {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads whole lines from `r` to its current end; a last line without its newline yet
/// (the monitor mid-write) is left for the next call.
fn read_complete_lines(
    r: &mut BufReader<File>,
    path: &Path,
    emit: &mut dyn FnMut(LogEntry),
) -> Result<()> {
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).map_err(io_err("reading", path))?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') {
            r.seek(SeekFrom::Current(-(n as i64)))
                .map_err(io_err("seeking in", path))?;
            return Ok(());
        }
        if let Some(e) = parse_line(&line) {
            emit(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_seconds_and_durations() {
        let t = parse_since("2026-11-30T17:48:08Z").expect("rfc3339");
        assert_eq!(t.unix_seconds() as u64, 1_796_060_888);
        assert_eq!(
            parse_since("1700000000").expect("unix").unix_seconds() as u64,
            1_700_000_000
        );
        let ago = parse_since("1h30m").expect("duration");
        let back = std::time::SystemTime::now()
            .duration_since(ago.system_time())
            .expect("past");
        assert!((5399..=5401).contains(&back.as_secs()), "{back:?}");
        for bad in ["", "10x", "m", "-5"] {
            assert!(parse_since(bad).is_err(), "{bad:?} accepted");
        }
    }
}
