//! Figures for people, as docker prints them (its `go-units` package): sizes in decimal
//! units with three significant digits (`4.26MB`), ages in words (`2 minutes ago`).

use std::time::{Duration, SystemTime};

const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// `bytes` as `docker images` prints SIZE: `HumanSizeWithPrecision(size, 3)`.
pub fn human_size(bytes: u64) -> String {
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", format_g(size, 3), UNITS[unit])
}

/// Go's `%.<precision>g` for the non-negative values sizes have.
fn format_g(value: f64, precision: i32) -> String {
    if value == 0.0 {
        return "0".into();
    }
    // Round to `precision` significant digits first: the exponent is that of the rounded
    // value (999.9 -> 1e+03 with 3 digits, as Go prints it).
    let exp = value.log10().floor() as i32;
    let scale = 10f64.powi(precision - 1 - exp);
    let rounded = (value * scale).round() / scale;
    let exp = rounded.log10().floor() as i32;
    if exp < -4 || exp >= precision {
        let mantissa = rounded / 10f64.powi(exp);
        let digits = (precision - 1).max(0) as usize;
        let m = trim_zeros(format!("{mantissa:.digits$}"));
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let decimals = (precision - 1 - exp).max(0) as usize;
    trim_zeros(format!("{rounded:.decimals$}"))
}

fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A duration in docker's words (`units.HumanDuration`): `Less than a second`,
/// `About a minute`, `2 minutes`, `About an hour`, `3 days`, ...
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    let minutes = seconds / 60;
    let hours = (d.as_secs_f64() / 3600.0 + 0.5) as u64;
    match () {
        _ if seconds < 1 => "Less than a second".into(),
        _ if seconds == 1 => "1 second".into(),
        _ if seconds < 60 => format!("{seconds} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}

/// `2 minutes ago` for a time in the past (a future time counts as now).
pub fn ago(t: SystemTime) -> String {
    let elapsed = SystemTime::now().duration_since(t).unwrap_or_default();
    format!("{} ago", human_duration(elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_docker_images_does() {
        for (bytes, want) in [
            (0, "0B"),
            (123, "123B"),
            (1234, "1.23kB"),
            (4_261_234, "4.26MB"),
            (4_200_000, "4.2MB"),
            (10_000_000, "10MB"),
            (999_999, "1e+03kB"),
            (1_240_000_000, "1.24GB"),
        ] {
            assert_eq!(human_size(bytes), want, "{bytes}");
        }
    }

    #[test]
    fn durations_print_as_docker_does() {
        for (secs, want) in [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (150, "2 minutes"),
            (3600, "About an hour"),
            (3 * 3600, "3 hours"),
            (3 * 86400, "3 days"),
            (20 * 86400, "2 weeks"),
            (90 * 86400, "3 months"),
            (800 * 86400, "2 years"),
        ] {
            assert_eq!(human_duration(Duration::from_secs(secs)), want, "{secs}");
        }
    }
}
