//! The exec shim, `berth __exec-shim --pid-file P -- <runtime> ... exec --detach ...`:
//! what holds a `-t` exec's process as its parent. runc refuses a console socket unless it
//! detaches (it would hold the pty itself otherwise), and a detached process is nobody's
//! child: the shim, a child subreaper, runs the runtime's detached exec, so the process
//! is re-parented to it, and exits with the process's code as a foreground `exec` would
//! (the runtime's own code when it failed). containerd's shim does the same for runc.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use nix::sys::wait::{WaitStatus, waitpid};

/// The hidden `berth` subcommand.
pub const SHIM_SUBCOMMAND: &str = "__exec-shim";

/// The shim's main; its exit status.
pub fn run(pid_file: &Path, runtime_argv: &[OsString]) -> u8 {
    let Some((program, args)) = runtime_argv.split_first() else {
        eprintln!("berth exec shim: no runtime command given");
        return 125;
    };
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        eprintln!("berth exec shim: becoming a child subreaper: {e}");
        return 125;
    }
    let status = match Command::new(program).args(args).status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "berth exec shim: starting {}: {e}",
                Path::new(program).display()
            );
            return 125;
        }
    };
    if !status.success() {
        return status
            .code()
            .map_or(255, |c| u8::try_from(c).unwrap_or(255));
    }
    let pid = match std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    {
        Some(p) => p,
        None => {
            eprintln!(
                "berth exec shim: the runtime wrote no pid to {}",
                pid_file.display()
            );
            return 125;
        }
    };
    loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => {
                return u8::try_from(code).unwrap_or(255);
            }
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => {
                return u8::try_from(128 + sig as i32).unwrap_or(255);
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            // No child left: the runtime did not leave the process to us (it is not our
            // descendant); its code cannot be known.
            Err(_) => {
                eprintln!("berth exec shim: process {pid} is not ours to wait for");
                return 255;
            }
        }
    }
}
