//! A process's environment (`process.env`, `exec --env`, an exec `--process` file):
//! `NAME=VALUE` strings, parsed the way runc 1.1's init does before `execve`, so that
//! every entry point refuses and merges the same entries.
//!
//! What runc does (checked on this host with runc 1.1.5):
//! - `SECRETNOEQ` (no `=`): refused, `invalid environment variable`;
//! - `=value` (empty name): refused, `environment variable name can't be empty`;
//! - a NUL byte in the name or the value: refused;
//! - `A=` (empty value), `A==b` (value `=b`), `B c=1` (space in the name): kept as given;
//! - a name given twice: one entry, where the name first appeared, with the last value
//!   (`A=1 B=2 A=3` gives `A=3 B=2`).

/// Why an entry is not a `NAME=VALUE` pair; the message quotes the entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvError {
    #[error("invalid environment variable {0:?}: expected NAME=VALUE")]
    NoEquals(String),
    #[error("environment variable name can't be empty: {0:?}")]
    EmptyName(String),
    #[error("environment variable {0:?} contains a NUL byte")]
    Nul(String),
}

/// Checks every entry and merges repeated names (first position, last value), returning
/// the list to hand to `execve`.
pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Vec<String>, EnvError> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let entry = entry.as_ref();
        let (name, value) = entry
            .split_once('=')
            .ok_or_else(|| EnvError::NoEquals(entry.to_owned()))?;
        if name.is_empty() {
            return Err(EnvError::EmptyName(entry.to_owned()));
        }
        if entry.contains('\0') {
            return Err(EnvError::Nul(entry.to_owned()));
        }
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.to_owned(),
            None => out.push((name.to_owned(), value.to_owned())),
        }
    }
    Ok(out.into_iter().map(|(n, v)| format!("{n}={v}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_runc_refuses() {
        assert_eq!(
            parse(&["PATH=/bin", "SECRETNOEQ"]),
            Err(EnvError::NoEquals("SECRETNOEQ".into()))
        );
        assert_eq!(
            parse(&["=value"]),
            Err(EnvError::EmptyName("=value".into()))
        );
        assert_eq!(parse(&["A=x\0y"]), Err(EnvError::Nul("A=x\0y".into())));
        assert_eq!(parse(&["A\0x=1"]), Err(EnvError::Nul("A\0x=1".into())));
    }

    #[test]
    fn keeps_what_runc_keeps_and_merges_repeats() {
        assert_eq!(
            parse(&["PATH=/bin", "A=1", "B=2", "A=3", "E=", "F==b", "G c=1"]),
            Ok(vec![
                "PATH=/bin".to_owned(),
                "A=3".into(),
                "B=2".into(),
                "E=".into(),
                "F==b".into(),
                "G c=1".into(),
            ])
        );
        assert_eq!(parse::<&str>(&[]), Ok(vec![]));
    }
}
