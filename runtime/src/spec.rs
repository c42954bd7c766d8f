//! `spec`: the default config.json, as `runc spec` writes it.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;

use oci_spec::runtime::Spec;

use crate::error::{Error, Result, io_err};

pub fn default_spec(rootless: bool) -> Spec {
    let mut spec = if rootless {
        Spec::rootless(nix::unistd::getuid().as_raw(), nix::unistd::getgid().as_raw())
    } else {
        Spec::default()
    };
    spec.set_version("1.2.0".to_string());
    spec.set_hostname(Some("berth".to_string()));
    if let Some(p) = spec.process_mut() {
        // As `runc spec`: an interactive shell.
        p.set_terminal(Some(true));
    }
    spec
}

/// Write `config.json` into `bundle`; refuses to overwrite one, as runc does.
pub fn write(bundle: &Path, spec: &Spec) -> Result<()> {
    let path = bundle.join("config.json");
    let data = serde_json::to_vec_pretty(spec)
        .map_err(|e| Error::InvalidArgument(format!("serializing spec: {e}")))?;
    let mut f = OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            Error::InvalidArgument(format!("{} exists; remove it first", path.display()))
        } else {
            io_err("creating", &path)(e)
        }
    })?;
    f.write_all(&data).map_err(io_err("writing", &path))
}
