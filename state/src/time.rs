//! RFC 3339 timestamps, as the runtimes write a container's `created`.
//!
//! berth writes UTC with nanoseconds (`2026-11-30T17:48:08.469883108Z`), as runc and crun
//! do on a UTC host; runc (Go's `time.RFC3339Nano`) writes the host's offset elsewhere
//! (`2026-11-30T18:48:08.469883108+01:00`), so reading takes either.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, written as RFC 3339 in UTC with nanoseconds (9 digits, `Z`), so that
/// what is read back and written again is the same text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(SystemTime);

/// Text that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an RFC 3339 time (like 2026-11-30T17:48:08.469883108Z): {reason}")]
pub struct TimestampError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Timestamp {
    /// Now, from the system clock.
    pub fn now() -> Self {
        Self(SystemTime::now())
    }

    /// `text` as RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or `±HH:MM`.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let fail = |reason: &str| TimestampError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (local, offset) = split_offset(text).ok_or_else(|| fail("no Z or ±HH:MM offset"))?;
        // humantime takes `HH:MM:SS.` with no digits; RFC 3339 wants at least one.
        if local
            .split_once('.')
            .is_some_and(|(_, fraction)| fraction.is_empty())
        {
            return Err(fail("a '.' without fraction digits"));
        }
        // humantime reads UTC only: read the local time as if it were UTC, then move it
        // by the offset.
        let utc_text = format!("{local}Z");
        let as_utc = humantime::parse_rfc3339(&utc_text).map_err(|e| fail(&e.to_string()))?;
        let shifted = if offset >= 0 {
            as_utc.checked_sub(Duration::from_secs(offset.unsigned_abs()))
        } else {
            as_utc.checked_add(Duration::from_secs(offset.unsigned_abs()))
        };
        shifted
            .filter(|t| *t >= UNIX_EPOCH)
            .map(Self)
            .ok_or_else(|| fail("before 1970"))
    }

    /// Seconds since the Unix epoch, with the fraction.
    pub fn unix_seconds(&self) -> f64 {
        // parse() and now() never hold a time before the epoch.
        self.0
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    /// The time as a [`SystemTime`].
    pub fn system_time(&self) -> SystemTime {
        self.0
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Self(t)
    }
}

/// Splits `...Z` or `...±HH:MM` into the local part and the offset east of UTC in seconds.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(local) = text.strip_suffix(['Z', 'z']) {
        return Some((local, 0));
    }
    // The offset is the last 6 bytes: a sign, HH, ':', MM.
    let at = text.len().checked_sub(6)?;
    let (local, offset) = (text.get(..at)?, text.get(at..)?);
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = offset[1..].split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    if h > 23 || m > 59 {
        return None;
    }
    Some((local, sign * (h * 3600 + m * 60)))
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_nanos(self.0))
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    fn secs(text: &str) -> f64 {
        Timestamp::parse(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .unix_seconds()
    }

    #[test]
    fn reads_utc_offsets_and_fractions() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), 0.0);
        assert_eq!(secs("2000-03-01T00:00:00Z"), 951_868_800.0);
        assert_eq!(
            secs("2026-11-28T18:00:00+01:00"),
            secs("2026-11-28T17:00:00Z")
        );
        assert_eq!(
            secs("2026-11-28T12:30:00-04:30"),
            secs("2026-11-28T17:00:00Z")
        );
        assert_eq!(
            secs("2026-11-28T17:00:00+00:00"),
            secs("2026-11-28T17:00:00Z")
        );
        assert!((secs("2024-02-29T12:30:15.5Z") - 1_709_209_815.5).abs() < 1e-6);
    }

    #[test]
    fn what_berth_writes_reads_back_as_the_same_text() {
        let text = "2026-11-30T17:48:08.469883108Z";
        let t = Timestamp::parse(text).expect("parsing berth's created");
        assert_eq!(t.to_string(), text);
        let json = serde_json::to_string(&t).expect("serializing");
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(
            serde_json::from_str::<Timestamp>(&json).expect("parsing"),
            t
        );
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse(&now.to_string()), Ok(now));
    }

    #[test]
    fn other_text_is_refused_with_the_text_and_why() {
        for bad in [
            "",
            "yesterday",
            "2026-11-30",
            "2026-11-30T17:48:08",
            "2026-13-30T17:48:08Z",
            "2026-11-30T25:48:08Z",
            "2026-11-30T17:48:08+1:00",
            "2026-11-30T17:48:08+24:00",
            "1969-12-31T23:59:59Z",
            "2026-11-30T17:48:08.Z",
            "2026-11-30T17:48:08.😀Z",
            "😀😀😀😀😀😀😀",
        ] {
            let err = Timestamp::parse(bad).expect_err(bad);
            let msg = err.to_string();
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
            assert!(msg.contains("not an RFC 3339 time"), "{msg}");
        }
        let err = serde_json::from_str::<Timestamp>("\"soon\"").expect_err("soon");
        assert!(
            err.to_string().contains("\"soon\" is not an RFC 3339 time"),
            "{err}"
        );
    }
}
