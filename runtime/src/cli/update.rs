//! `update`: change a running container's resource limits. Every flag is taken as a
//! string and parsed here into [`UpdateOptions`], so that an error names the flag and `-1`
//! (unlimited) is accepted as a value; with `-r` the other flags are ignored unparsed, as
//! runc ignores them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use berth_runtime::Error;
use berth_runtime::container::update::{self, UpdateOptions};
use clap::Args;

/// runc's `update` flags. Values are taken as strings and checked by the runtime, so that
/// an error names the flag; `-1` (unlimited) is accepted as a value.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A resources JSON file (linux.resources), or '-' for stdin; other flags are then ignored.
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// Block IO weight, 10 to 1000.
    #[arg(long, allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,
    /// CPU CFS period in µs.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// CPU CFS quota in µs per period (-1: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU CFS burst in µs.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_burst: Option<String>,
    /// CPU shares (relative weight).
    #[arg(long, alias = "cpu-shares", allow_hyphen_values = true)]
    pub cpu_share: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// 1: SCHED_IDLE for the cgroup, 0: default.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_idle: Option<String>,
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Obsolete; ignored with a warning, as in runc.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit (bytes, or with a unit: 64m, 1g; -1: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap (-1: unlimited swap).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Intel RDT is not supported: refused.
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT is not supported: refused.
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
    pub id: String,
}

impl UpdateArgs {
    pub fn run(self, root: &Path) -> Result<u8> {
        if self.l3_cache_schema.is_some() || self.mem_bw_schema.is_some() {
            bail!(
                "--l3-cache-schema and --mem-bw-schema need Intel RDT, which berth does not support"
            );
        }
        let id = self.id.clone();
        self.options()
            .and_then(|opts| update::update(root, &id, &opts))
            .with_context(|| format!("updating container {id}"))?;
        Ok(0)
    }

    /// The flags' values, checked in runc's order (memory first); the first bad one is
    /// the error.
    fn options(self) -> Result<UpdateOptions, Error> {
        if self.resources.is_some() {
            return Ok(UpdateOptions {
                resources: self.resources,
                ..Default::default()
            });
        }
        let bytes = |flag: &str, v: Option<String>| v.map(|v| parse_bytes(flag, &v)).transpose();
        let memory = bytes("--memory", self.memory)?;
        let memory_reservation = bytes("--memory-reservation", self.memory_reservation)?;
        let memory_swap = bytes("--memory-swap", self.memory_swap)?;
        let kernel_memory = bytes("--kernel-memory", self.kernel_memory)?;
        let kernel_memory_tcp = bytes("--kernel-memory-tcp", self.kernel_memory_tcp)?;
        Ok(UpdateOptions {
            resources: None,
            memory,
            memory_reservation,
            memory_swap,
            kernel_memory,
            kernel_memory_tcp,
            cpu_share: num("--cpu-share", self.cpu_share)?,
            cpu_period: num("--cpu-period", self.cpu_period)?,
            cpu_quota: num("--cpu-quota", self.cpu_quota)?,
            cpu_burst: num("--cpu-burst", self.cpu_burst)?,
            cpu_rt_period: num("--cpu-rt-period", self.cpu_rt_period)?,
            cpu_rt_runtime: num("--cpu-rt-runtime", self.cpu_rt_runtime)?,
            cpu_idle: num("--cpu-idle", self.cpu_idle)?,
            cpuset_cpus: self.cpuset_cpus,
            cpuset_mems: self.cpuset_mems,
            pids_limit: num("--pids-limit", self.pids_limit)?,
            blkio_weight: num("--blkio-weight", self.blkio_weight)?,
        })
    }
}

/// `v` as a number of type `T` (surrounding blanks allowed), if given.
fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<Option<T>, Error>
where
    T::Err: std::fmt::Display,
{
    v.map(|v| {
        v.trim()
            .parse()
            .map_err(|e| Error::InvalidArgument(format!("invalid value for {flag}: {v:?}: {e}")))
    })
    .transpose()
}

/// A size like docker's `RAMInBytes` (runc's parser): a number, optionally fractional,
/// with an optional binary unit k, m, g, t, p (and an optional `i`/`b`); `-1` is unlimited.
fn parse_bytes(flag: &str, v: &str) -> Result<i64, Error> {
    let bad = |why: &str| Error::InvalidArgument(format!("invalid value for {flag}: {v:?}: {why}"));
    let s = v.trim();
    if s == "-1" {
        return Ok(-1);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(bad(
            "expected a size such as 64m, 1g or 1048576 (or -1 for unlimited)",
        ));
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return Err(bad("unknown unit (use k, m, g, t or p)")),
    };
    let value: f64 = num.parse().map_err(|_| bad("not a number"))?;
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(bad("too large"));
    }
    Ok(bytes as i64)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// `update ARGS` as the command line gives it.
    fn args(argv: &[&str]) -> UpdateArgs {
        let cli = crate::cli::Cli::try_parse_from(
            ["berth-runtime", "update"].iter().chain(argv).copied(),
        )
        .expect("valid command line");
        match cli.command {
            crate::cli::Command::Update(a) => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn sizes_parse_like_runc() {
        assert_eq!(parse_bytes("--memory", "1048576").ok(), Some(1 << 20));
        assert_eq!(parse_bytes("--memory", "32m").ok(), Some(32 << 20));
        assert_eq!(parse_bytes("--memory", "32MiB").ok(), Some(32 << 20));
        assert_eq!(parse_bytes("--memory", "1.5g").ok(), Some(3 << 29));
        assert_eq!(parse_bytes("--memory", "2 kb").ok(), Some(2048));
        assert_eq!(parse_bytes("--memory", "-1").ok(), Some(-1));
    }

    #[test]
    fn bad_sizes_name_the_flag() {
        for bad in ["-5", "", "12x", "m", "99999999999p", "1..2"] {
            let err = parse_bytes("--memory", bad).expect_err(bad);
            assert!(err.to_string().contains("--memory"), "{err}");
        }
    }

    #[test]
    fn flags_become_typed_values_once() {
        let o = args(&[
            "--memory",
            "64m",
            "--cpu-quota",
            "-1",
            "--pids-limit",
            " 10 ",
            "c",
        ])
        .options()
        .expect("valid flags");
        assert_eq!(o.memory, Some(64 << 20));
        assert_eq!(o.cpu_quota, Some(-1));
        assert_eq!(o.pids_limit, Some(10));
        assert_eq!(o.memory_swap, None);
        assert_eq!(o.cpu_period, None);
    }

    #[test]
    fn negative_shares_are_refused_naming_the_flag() {
        let err = args(&["--cpu-shares", "-1", "c"])
            .options()
            .expect_err("negative shares");
        assert!(err.to_string().contains("--cpu-share"), "{err}");
    }

    #[test]
    fn with_a_resources_file_the_flags_are_ignored_unparsed() {
        let o = args(&["-r", "-", "--memory", "lots", "c"])
            .options()
            .expect("flags ignored");
        assert_eq!(o.resources.as_deref(), Some(Path::new("-")));
        assert_eq!(o.memory, None);
    }
}
