//! berth-cni: the CNI plugin binary. Reads `CNI_*` from the environment and
//! the network config from stdin; writes the result (or the spec's error
//! object) to stdout. Logs go to stderr, filtered by `BERTH_CNI_LOG`.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use berth_netplug::cni::error::ErrorReply;
use berth_netplug::cni::version::{LATEST, Version};
use berth_netplug::{Error, Invocation, Outcome, run};

fn main() -> ExitCode {
    init_logging();
    // A short-lived process: let the kernel's RCU waits (veth deletion,
    // nftables commit) finish in forked children. BERTH_CNI_SYNC=1 keeps
    // everything in this process, for callers that cannot reap orphans.
    berth_netplug::detach::set_detached(std::env::var_os("BERTH_CNI_SYNC").is_none());
    let mut stdin = Vec::new();
    let outcome = std::io::stdin()
        .read_to_end(&mut stdin)
        .map_err(|e| Error::Io {
            op: "reading the network config from stdin".into(),
            source: e,
        })
        .and_then(|_| Invocation::from_env(|k| std::env::var(k).ok()))
        .and_then(|inv| run(&inv, &stdin));
    let (doc, code) = match outcome {
        Ok(Outcome::Print(v)) => (Some(v), ExitCode::SUCCESS),
        Ok(Outcome::Silent) => (None, ExitCode::SUCCESS),
        Err(e) => {
            tracing::error!(error = %e, "failed");
            let reply = ErrorReply::new(&reply_version(&stdin), &e);
            (serde_json::to_value(reply).ok(), ExitCode::FAILURE)
        }
    };
    if let Some(doc) = doc
        && let Err(e) = print(&doc)
    {
        tracing::error!(error = %e, "writing the result");
        return ExitCode::FAILURE;
    }
    code
}

fn print(doc: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, doc).context("encoding the result")?;
    out.write_all(b"\n").context("writing stdout")?;
    out.flush().context("flushing stdout")
}

/// Errors are reported in the caller's version when it is one we speak.
fn reply_version(stdin: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(stdin)
        .ok()
        .and_then(|v| v.get("cniVersion")?.as_str().map(String::from))
        .filter(|v| Version::parse(v).is_ok())
        .unwrap_or_else(|| LATEST.to_string())
}

fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    // `Targets` rather than `EnvFilter`: the latter compiles regexes at
    // start-up, about a millisecond of a plugin call that takes a few.
    // netlink-packet-route warns about kernel attributes newer than itself on
    // every link reply; that is noise for a plugin user.
    let filter = std::env::var("BERTH_CNI_LOG")
        .ok()
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            Targets::new()
                .with_default(LevelFilter::WARN)
                .with_target("netlink_packet_route", LevelFilter::ERROR)
        });
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(filter)
        .try_init();
}
