//! Docker's human wording of times and states, shared by `ps` and the API server's
//! container list: "2 minutes ago", "Up 2 minutes", "Exited (0) 5 seconds ago".

use std::time::{Duration, SystemTime};

use berth_state::Timestamp;

use crate::container::{ContainerState, Status};

/// Docker's `units.HumanDuration`: "Less than a second", "1 second", "2 minutes",
/// "About an hour", "3 days", "2 weeks", "4 months", "2 years".
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if s < 1 {
        "Less than a second".into()
    } else if s == 1 {
        "1 second".into()
    } else if s < 60 {
        format!("{s} seconds")
    } else if s / 60 == 1 {
        "About a minute".into()
    } else if s < 3600 {
        format!("{} minutes", s / 60)
    } else if (s as f64 / 3600.0).round() as u64 == 1 {
        "About an hour".into()
    } else if s < 48 * 3600 {
        format!("{} hours", (s as f64 / 3600.0).round() as u64)
    } else if s < 7 * 24 * 3600 * 2 {
        plural(s / 86400, "day")
    } else if s < 30 * 24 * 3600 * 3 {
        plural(s / (7 * 86400), "week")
    } else if s < 365 * 24 * 3600 * 2 {
        plural(s / (30 * 86400), "month")
    } else {
        plural(s / (365 * 86400), "year")
    }
}

/// Time from `t` to now (zero if `t` is in the future).
pub fn since(t: &Timestamp) -> Duration {
    SystemTime::now()
        .duration_since(t.system_time())
        .unwrap_or_default()
}

/// "2 minutes ago".
pub fn ago(t: &Timestamp) -> String {
    format!("{} ago", human_duration(since(t)))
}

/// `ps`'s STATUS column: "Created", "Up 2 minutes", "Up 3 seconds (Paused)",
/// "Exited (137) 5 seconds ago".
pub fn status_text(state: &ContainerState) -> String {
    match state.status {
        Status::Created => "Created".into(),
        Status::Running => match &state.started_at {
            Some(t) => format!("Up {}", human_duration(since(t))),
            None => "Up".into(),
        },
        Status::Paused => match &state.started_at {
            Some(t) => format!("Up {} (Paused)", human_duration(since(t))),
            None => "Up (Paused)".into(),
        },
        Status::Exited => match &state.finished_at {
            Some(t) => format!("Exited ({}) {}", state.exit_code, ago(t)),
            None => format!("Exited ({})", state.exit_code),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_dockers() {
        let s = Duration::from_secs;
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(human_duration(s(1)), "1 second");
        assert_eq!(human_duration(s(5)), "5 seconds");
        assert_eq!(human_duration(s(60)), "About a minute");
        assert_eq!(human_duration(s(150)), "2 minutes");
        assert_eq!(human_duration(s(3600)), "About an hour");
        assert_eq!(human_duration(s(3 * 3600)), "3 hours");
        assert_eq!(human_duration(s(3 * 86400)), "3 days");
        assert_eq!(human_duration(s(15 * 86400)), "2 weeks");
        assert_eq!(human_duration(s(100 * 86400)), "3 months");
        assert_eq!(human_duration(s(800 * 86400)), "2 years");
    }
}
