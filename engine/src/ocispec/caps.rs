//! The container's capability set: docker's default set with `--cap-add` / `--cap-drop`
//! applied (names with or without `CAP_`, any case, `ALL` for every capability).

use std::collections::BTreeSet;

use berth_spec::caps::{ALL, DOCKER_DEFAULT};

use crate::error::{EngineError, Result};

/// `chown`, `cap_chown`, `CAP_CHOWN` -> `CAP_CHOWN`, checked against the known names.
fn normalize(name: &str) -> Result<String> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if berth_spec::caps::number(&full).is_some() {
        Ok(full)
    } else {
        Err(EngineError::InvalidArgument(format!(
            "unknown capability {name:?}"
        )))
    }
}

/// The default set with `add` and `drop` applied, docker's order: drop first (`ALL`
/// empties the set), then add (`ALL` grants every capability).
pub fn effective_set(add: &[String], drop: &[String]) -> Result<BTreeSet<String>> {
    let mut set: BTreeSet<String> = DOCKER_DEFAULT.iter().map(|s| s.to_string()).collect();
    for d in drop {
        if d.eq_ignore_ascii_case("all") {
            set.clear();
        } else {
            set.remove(&normalize(d)?);
        }
    }
    for a in add {
        if a.eq_ignore_ascii_case("all") {
            set.extend(ALL.iter().map(|s| s.to_string()));
        } else {
            set.insert(normalize(a)?);
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_drop_as_docker_applies_them() {
        let s = effective_set(
            &["sys_admin".into()],
            &["CAP_NET_RAW".into(), "chown".into()],
        )
        .expect("set");
        assert!(
            s.contains("CAP_SYS_ADMIN") && !s.contains("CAP_NET_RAW") && !s.contains("CAP_CHOWN")
        );
        assert_eq!(s.len(), DOCKER_DEFAULT.len() - 1);
        let only = effective_set(&["KILL".into()], &["all".into()]).expect("set");
        assert_eq!(
            only.into_iter().collect::<Vec<_>>(),
            vec!["CAP_KILL".to_string()]
        );
        assert!(effective_set(&["CAP_FLY".into()], &[]).is_err());
    }
}
