//! A container's hostname (`--hostname`): it is written into /etc/hosts and /etc/hostname
//! (its own and, on a user network, the other containers' hosts files) and set with
//! sethostname(2), so it must be one name and nothing else.

use crate::error::{EngineError, Result};

/// The kernel's limit on a UTS hostname (HOST_NAME_MAX), in bytes.
pub const MAX_LEN: usize = 64;

/// The longest label of a DNS name (RFC 1123), in bytes.
const MAX_LABEL_LEN: usize = 63;

/// Checks `name` is an RFC 1123 host name the kernel takes: labels of ASCII letters,
/// digits and `-` (not first or last), separated by single dots, each at most 63 bytes,
/// at most [`MAX_LEN`] bytes in all.
///
/// Errors: [`EngineError::InvalidArgument`] naming the hostname and the rule it breaks.
pub fn validate(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(EngineError::InvalidArgument(format!(
            "invalid hostname {name:?}: {why}"
        )))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_LEN {
        return bad(&format!(
            "it is {} bytes long, the kernel takes at most {MAX_LEN}",
            name.len()
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return bad("a dot-separated part is empty");
        }
        if label.len() > MAX_LABEL_LEN {
            return bad(&format!(
                "the part {label:?} is longer than {MAX_LABEL_LEN} bytes"
            ));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return bad("only letters, digits, '-' and '.' are allowed (RFC 1123)");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a part may not start or end with '-'");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1123_names_up_to_the_kernels_limit_pass() {
        for ok in [
            "a",
            "web",
            "0abc",
            "my-host.example.com",
            "abababababab",
            &"a".repeat(63),
            &format!("{}.{}", "a".repeat(31), "b".repeat(32)),
        ] {
            assert!(validate(ok).is_ok(), "{ok:?} refused");
        }
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        for (bad, why) in [
            ("", "empty"),
            ("a\n10.9.9.9 evil.example", "only letters"),
            ("a b", "only letters"),
            ("a\tb", "only letters"),
            ("under_score", "only letters"),
            ("-lead", "start or end"),
            ("trail-", "start or end"),
            ("a..b", "empty"),
            (".a", "empty"),
            ("a.", "empty"),
            (&"a".repeat(64), "longer than 63"),
            (
                &format!("{}.{}", "a".repeat(32), "b".repeat(32)),
                "at most 64",
            ),
            ("h\u{e9}te", "only letters"),
        ] {
            let err = validate(bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
