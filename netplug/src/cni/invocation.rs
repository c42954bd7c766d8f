//! The invocation: `CNI_COMMAND` and the other `CNI_*` variables.

use std::path::PathBuf;

use crate::cni::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Add,
    Del,
    Check,
    Version,
    Status,
    Gc,
}

impl Command {
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "ADD" => Ok(Self::Add),
            "DEL" => Ok(Self::Del),
            "CHECK" => Ok(Self::Check),
            "VERSION" => Ok(Self::Version),
            "STATUS" => Ok(Self::Status),
            "GC" => Ok(Self::Gc),
            other => Err(Error::InvalidEnv {
                var: "CNI_COMMAND",
                reason: format!("unknown command {other:?}"),
            }),
        }
    }
}

/// One call of the plugin, as the runtime described it in the environment.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub command: Command,
    pub container_id: String,
    /// Empty for DEL when the runtime no longer has the namespace.
    pub netns: String,
    pub ifname: String,
    /// `CNI_ARGS`, `K=V;K=V`.
    pub args: Vec<(String, String)>,
    pub path: Vec<PathBuf>,
}

impl Invocation {
    /// Reads and validates the variables `command` needs (SPEC.md, "Parameters").
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let command = Command::parse(&get("CNI_COMMAND").ok_or(Error::InvalidEnv {
            var: "CNI_COMMAND",
            reason: "not set".into(),
        })?)?;
        let needs_attachment = matches!(command, Command::Add | Command::Del | Command::Check);
        let required = |var: &'static str, needed: bool| -> Result<String, Error> {
            match get(var).filter(|v| !v.is_empty()) {
                Some(v) => Ok(v),
                None if needed => Err(Error::InvalidEnv {
                    var,
                    reason: "not set".into(),
                }),
                None => Ok(String::new()),
            }
        };
        let container_id = required("CNI_CONTAINERID", needs_attachment)?;
        let netns = required(
            "CNI_NETNS",
            matches!(command, Command::Add | Command::Check),
        )?;
        let ifname = required("CNI_IFNAME", needs_attachment)?;
        let path = required("CNI_PATH", needs_attachment)?;
        if needs_attachment {
            validate_container_id(&container_id)?;
            validate_ifname(&ifname)?;
        }
        Ok(Self {
            command,
            container_id,
            netns,
            ifname,
            args: parse_args(&get("CNI_ARGS").unwrap_or_default())?,
            path: std::env::split_paths(&path).collect(),
        })
    }

    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Container ids end up in file names: allow only the spec's character set.
pub fn validate_container_id(id: &str) -> Result<(), Error> {
    let ok = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidEnv {
            var: "CNI_CONTAINERID",
            reason: format!("{id:?} must be alphanumeric with _ . -"),
        })
    }
}

/// Linux interface names: 1-15 bytes, no '/', ':' or whitespace, not "." or "..".
pub fn validate_ifname(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidEnv {
            var: "CNI_IFNAME",
            reason: format!("{name:?} is not a valid interface name"),
        })
    }
}

fn parse_args(raw: &str) -> Result<Vec<(String, String)>, Error> {
    raw.split(';')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::InvalidEnv {
                    var: "CNI_ARGS",
                    reason: format!("{kv:?} is not KEY=VALUE"),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn add_without_netns_is_an_env_error() {
        let e = Invocation::from_env(env(&[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", "/x"),
        ]))
        .err();
        assert!(matches!(
            e,
            Some(Error::InvalidEnv {
                var: "CNI_NETNS",
                ..
            })
        ));
    }

    #[test]
    fn del_accepts_missing_netns_and_parses_args() {
        let inv = Invocation::from_env(env(&[
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", "/x"),
            ("CNI_ARGS", "IgnoreUnknown=1;IP=10.0.0.9"),
        ]))
        .map_err(|e| e.to_string());
        let inv = match inv {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(inv.arg("IP"), Some("10.0.0.9"));
    }

    #[test]
    fn hostile_container_ids_and_ifnames_are_refused() {
        assert!(validate_container_id("../etc").is_err());
        assert!(validate_container_id("").is_err());
        assert!(validate_container_id("abc-1.2_3").is_ok());
        assert!(validate_ifname("averyveryverylongname").is_err());
        assert!(validate_ifname("eth/0").is_err());
    }
}
