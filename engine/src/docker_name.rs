//! docker's rule for the names users give objects (containers, volumes, networks):
//! `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. Names become file names in the store, so the rule is
//! also what keeps them from being paths.

/// Whether `name` follows docker's rule and has `min_len` to 255 bytes (docker asks two
/// characters of container and volume names, one of network names).
pub fn is_valid(name: &str, min_len: usize) -> bool {
    (min_len..=255).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn names_follow_dockers_rule() {
        assert!(is_valid("my-net_1.2", 2));
        assert!(is_valid("a", 1));
        assert!(!is_valid("a", 2));
        for bad in ["-x", "a/b", "", "../etc", ".hidden", "a b"] {
            assert!(!is_valid(bad, 1), "{bad:?}");
        }
        assert!(!is_valid(&"x".repeat(256), 1));
    }
}
