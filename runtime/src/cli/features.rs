//! `features`: the OCI features document, indented as runc prints it.

use std::io::Write;

use anyhow::Result;
use berth_runtime::container;

pub fn run() -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&container::features::features(), &mut ser)?;
    writeln!(out)?;
    Ok(0)
}
