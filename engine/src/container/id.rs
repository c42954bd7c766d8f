//! Container ids: 64 lowercase hex digits from the kernel's random source, as docker's;
//! the first 12 are the short form that tables print.

use crate::error::{Result, io_err};

/// Length of a full id.
pub const ID_LEN: usize = 64;
/// Length of the short id `ps` prints.
pub const SHORT_LEN: usize = 12;

/// A new random id ([`crate::random::hex_id`]). An id whose short form is only digits is
/// drawn again, as docker does, so that a short id never reads as a number.
pub fn generate() -> Result<String> {
    loop {
        let id = crate::random::hex_id()
            .map_err(io_err("reading random bytes for", "a container id"))?;
        if !id[..SHORT_LEN].bytes().all(|c| c.is_ascii_digit()) {
            return Ok(id);
        }
    }
}

/// True for a full id (64 lowercase hex digits).
pub fn is_full_id(s: &str) -> bool {
    s.len() == ID_LEN && is_hex(s)
}

/// True for a non-empty run of lowercase hex digits (a possible id prefix).
pub fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// The 12-digit form.
pub fn short(id: &str) -> &str {
    id.get(..SHORT_LEN).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_differ() {
        let a = generate().expect("id");
        let b = generate().expect("id");
        assert!(is_full_id(&a) && is_full_id(&b), "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(short(&a).len(), 12);
        assert!(!is_hex("") && !is_hex("4F2A") && is_hex("4f2a"));
    }
}
