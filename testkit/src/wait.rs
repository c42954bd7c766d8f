//! Waiting for something a test cannot be told about (an exporter serving, a series
//! appearing, a scrape landing in Prometheus): poll until it is there, fail after a limit.

use std::time::{Duration, Instant};

/// How often [`wait_for`] asks.
const POLL: Duration = Duration::from_millis(100);

/// Calls `check` every 100 ms until it returns Some, and returns that; panics with
/// "timed out waiting for `what`" when `timeout` passes first.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_what_check_found_and_times_out_otherwise() {
        let mut calls = 0;
        let got = wait_for("the third call", Duration::from_secs(5), || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(got, 3);
        let timed_out = std::panic::catch_unwind(|| {
            wait_for("nothing", Duration::from_millis(150), || None::<()>)
        });
        assert!(timed_out.is_err());
    }
}
