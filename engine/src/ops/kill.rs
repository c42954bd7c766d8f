//! `kill [-s SIGNAL]`: a signal to the container's init through the OCI runtime.

use std::str::FromStr;

use nix::sys::signal::Signal;

use crate::container::{status, store};
use crate::error::{EngineError, Result};
use crate::oci_runtime::OciRuntime;
use crate::paths::StorePaths;

/// `SIGTERM`, `TERM`, `term`, `15` -> the signal.
pub fn parse_signal(text: &str) -> Result<Signal> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i32>() {
        return Signal::try_from(n)
            .map_err(|_| EngineError::InvalidArgument(format!("invalid signal: {text}")));
    }
    let upper = t.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name)
        .map_err(|_| EngineError::InvalidArgument(format!("invalid signal: {text}")))
}

/// Sends `signal` to a running container; returns its id. Errors: no such container,
/// not running ([`EngineError::Conflict`]), a bad signal, the runtime's refusal.
pub fn kill(paths: &StorePaths, query: &str, signal: &str) -> Result<String> {
    let sig = parse_signal(signal)?;
    let id = store::resolve(paths, query)?;
    let record = store::load(paths, &id)?;
    if !status::derive(paths, &record)?.is_running() {
        return Err(EngineError::Conflict(format!(
            "container {id} is not running"
        )));
    }
    OciRuntime::for_container(paths, &record).kill(&id, &(sig as i32).to_string())?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_short_name_and_number() {
        for s in ["SIGKILL", "KILL", "kill", "9"] {
            assert_eq!(parse_signal(s).expect(s), Signal::SIGKILL);
        }
        assert_eq!(parse_signal("sigusr1").expect("usr1"), Signal::SIGUSR1);
        for bad in ["", "SIGFOO", "0x", "99"] {
            assert!(parse_signal(bad).is_err(), "{bad:?} accepted");
        }
    }
}
