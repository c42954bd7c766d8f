//! API versions: the path may start with `/v<major>.<minor>` (the docker CLI always sends
//! it after negotiating through `_ping`); without it the request means the current version.
//! Versions outside [MIN_API_VERSION, API_VERSION] are refused with dockerd's 400 messages.

use super::error::ApiError;

/// The API version berth serves: what Debian's dockerd 20.10 and podman 4 advertise.
pub const API_VERSION: ApiVersion = ApiVersion(1, 41);
/// The oldest version accepted (as docker 25 and later: 1.24).
pub const MIN_API_VERSION: ApiVersion = ApiVersion(1, 24);

/// `major.minor`, ordered as numbers (1.9 < 1.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl ApiVersion {
    /// Parses `1.41`; None for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let (major, minor) = s.split_once('.')?;
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(Self(major.parse().ok()?, minor.parse().ok()?))
    }
}

/// Splits `/v1.41/containers/json` into (1.41, `/containers/json`); a path without a
/// version prefix is the current version. A prefix out of range is docker's 400.
pub fn split_version(path: &str) -> Result<(ApiVersion, &str), ApiError> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((API_VERSION, path));
    };
    let (ver, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // `/volumes` also starts with `/v`: only digits.digits is a version.
    let Some(version) = ApiVersion::parse(ver) else {
        return Ok((API_VERSION, path));
    };
    if version < MIN_API_VERSION {
        return Err(ApiError::bad_request(format!(
            "client version {version} is too old. Minimum supported API version is \
             {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    if version > API_VERSION {
        return Err(ApiError::bad_request(format!(
            "client version {version} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    Ok((version, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_optional_and_bounded() {
        assert_eq!(
            split_version("/v1.41/containers/json").ok(),
            Some((API_VERSION, "/containers/json"))
        );
        assert_eq!(split_version("/_ping").ok(), Some((API_VERSION, "/_ping")));
        assert_eq!(
            split_version("/volumes").ok(),
            Some((API_VERSION, "/volumes"))
        );
        assert_eq!(
            split_version("/v1.30/info").ok(),
            Some((ApiVersion(1, 30), "/info"))
        );
        let old = split_version("/v1.12/info").err().map(|e| e.message);
        assert_eq!(
            old.as_deref(),
            Some(
                "client version 1.12 is too old. Minimum supported API version is 1.24, \
                 please upgrade your client to a newer version"
            )
        );
        assert!(split_version("/v1.50/info").is_err());
        assert!(ApiVersion(1, 9) < ApiVersion(1, 10));
    }
}
