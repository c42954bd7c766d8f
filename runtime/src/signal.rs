//! Parsing signals the way `runc kill` accepts them: `KILL`, `SIGKILL`, `sigkill`, `9`.

use nix::sys::signal::Signal;

use crate::error::{Error, Result};

pub fn parse(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        // Real-time signals have no `Signal` variant, so check the range by number. 0 is
        // no signal: `kill ID 0` asks whether the container is running, as kill(2) does.
        if (0..=libc::SIGRTMAX()).contains(&n) {
            return Ok(n);
        }
        return Err(Error::InvalidArgument(format!(
            "signal number {n} out of range"
        )));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    if let Some(rt) = name.strip_prefix("SIGRTMIN") {
        return realtime(libc::SIGRTMIN(), rt, s);
    }
    if let Some(rt) = name.strip_prefix("SIGRTMAX") {
        return realtime(libc::SIGRTMAX(), rt, s);
    }
    name.parse::<Signal>()
        .map(|sig| sig as i32)
        .map_err(|_| Error::InvalidArgument(format!("unknown signal {s:?}")))
}

fn realtime(base: i32, offset: &str, original: &str) -> Result<i32> {
    let bad = || Error::InvalidArgument(format!("unknown signal {original:?}"));
    let n = if offset.is_empty() {
        base
    } else {
        base + offset.parse::<i32>().map_err(|_| bad())?
    };
    if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&n) {
        Ok(n)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_prefix_and_numbers() {
        assert_eq!(parse("KILL").ok(), Some(9));
        assert_eq!(parse("SIGTERM").ok(), Some(15));
        assert_eq!(parse("hup").ok(), Some(1));
        assert_eq!(parse("10").ok(), Some(10));
        assert_eq!(parse("0").ok(), Some(0), "kill's liveness check");
        assert_eq!(parse("RTMIN+2").ok(), Some(libc::SIGRTMIN() + 2));
    }

    #[test]
    fn rejects_unknown_and_out_of_range() {
        assert!(parse("NOPE").is_err());
        assert!(parse("-1").is_err());
        assert!(parse("99").is_err());
        assert!(parse("RTMAX+1").is_err());
    }
}
