//! Prometheus's own parsers, through Debian's `promtool`: `check metrics` for the text
//! format, and OpenMetrics backfill plus `tsdb dump` for the series Prometheus reads.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// `promtool check metrics` on a Prometheus text exposition: Err(its report) when it
/// fails to parse or lint.
pub fn check_metrics(text: &str) -> Result<(), String> {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting promtool");
    promtool
        .stdin
        .take()
        .expect("promtool stdin")
        .write_all(text.as_bytes())
        .expect("feeding promtool");
    let verdict = promtool.wait_with_output().expect("promtool");
    if verdict.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&verdict.stdout),
            String::from_utf8_lossy(&verdict.stderr)
        ))
    }
}

/// One series as Prometheus stored it: every label, `__name__` included.
pub type Series = BTreeMap<String, String>;

/// The series Prometheus's OpenMetrics parser reads from `openmetrics`: the exposition
/// is backfilled into a TSDB in `work` (`promtool tsdb create-blocks-from openmetrics`,
/// which needs a timestamp on every sample: one is appended) and dumped back.
pub fn openmetrics_series(openmetrics: &str, work: &Path) -> Vec<Series> {
    let input = work.join("scrape.om");
    let mut stamped = String::with_capacity(openmetrics.len() * 2);
    for line in openmetrics.lines() {
        stamped.push_str(line);
        if !line.starts_with('#') {
            stamped.push_str(" 1700000000");
        }
        stamped.push('\n');
    }
    std::fs::write(&input, stamped).expect("writing the exposition for promtool");
    let db = work.join("tsdb");
    let backfill = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&db)
        .output()
        .expect("running promtool tsdb create-blocks-from openmetrics");
    assert!(
        backfill.status.success(),
        "Prometheus's OpenMetrics parser refused the scrape:\n{}{}\n--- exposition ---\n{openmetrics}",
        String::from_utf8_lossy(&backfill.stdout),
        String::from_utf8_lossy(&backfill.stderr)
    );
    // `tsdb dump` opens the head too, which backfilling does not create.
    std::fs::create_dir_all(db.join("wal")).expect("creating an empty WAL dir");
    let dump = Command::new("promtool")
        .args(["tsdb", "dump"])
        .arg(&db)
        .output()
        .expect("running promtool tsdb dump");
    assert!(
        dump.status.success(),
        "promtool tsdb dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    std::fs::remove_dir_all(&db).expect("removing the backfilled TSDB");
    String::from_utf8(dump.stdout)
        .expect("tsdb dump prints UTF-8")
        .lines()
        .map(|line| {
            parse_dump_line(line).unwrap_or_else(|| panic!("unexpected dump line {line:?}"))
        })
        .collect()
}

/// `{__name__="a", id="q\"z"} 1 1700000000000`: Go's `labels.String()`, whose values
/// are `strconv.Quote`d.
pub fn parse_dump_line(line: &str) -> Option<Series> {
    let mut rest = line.strip_prefix('{')?;
    let mut series = Series::new();
    loop {
        let (name, after) = rest.split_once("=\"")?;
        let (value, after) = unquote_go(after)?;
        series.insert(name.to_string(), value);
        rest = match after.strip_prefix(", ") {
            Some(next) => next,
            None => {
                after.strip_prefix("} ")?;
                return Some(series);
            }
        };
    }
}

/// Decodes a Go-quoted string up to its closing quote (the opening one is consumed);
/// returns it and the text after the closing quote.
fn unquote_go(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[at + 1..])),
            '\\' => {
                let (_, escape) = chars.next()?;
                let mut hex = |digits: usize| -> Option<char> {
                    let code: String = (0..digits)
                        .filter_map(|_| chars.next().map(|(_, c)| c))
                        .collect();
                    char::from_u32(u32::from_str_radix(&code, 16).ok()?)
                };
                out.push(match escape {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    '\\' => '\\',
                    '"' => '"',
                    'x' => hex(2)?,
                    'u' => hex(4)?,
                    'U' => hex(8)?,
                    _ => return None,
                });
            }
            c => out.push(c),
        }
    }
    None
}
