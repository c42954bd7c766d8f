//! The steps the container init and an exec'd process share, from "namespaces and
//! console ready" to "about to execve": limits, cwd inside the root, HOME, sealed fds,
//! seccomp, user, capabilities, no_new_privs, and the executable looked up. One place, so
//! the two paths cannot drift apart in an order that matters for security.

use std::ffi::CString;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Process;

use super::channel::Channel;
use super::{home, load_seccomp, process};
use crate::error::{Error, Result, sys_err};
use crate::seccomp::SeccompFilter;
use crate::{capabilities, safe_path};

/// What is left to do once the process is who it should be.
pub struct Execution {
    exe: PathBuf,
    c_exe: CString,
    c_args: Vec<CString>,
    c_env: Vec<CString>,
    /// With no_new_privs the filter is loaded as late as possible, by the caller, while
    /// the runtime still listens (it forwards a notify fd to the agent).
    late_seccomp: bool,
}

pub fn prepare(
    p: &Process,
    preserve_fds: i32,
    seccomp: Option<&SeccompFilter>,
    chan: &Channel,
    who: &'static str,
) -> Result<Execution> {
    process::apply_rlimits(p.rlimits().as_deref().unwrap_or_default())?;
    if let Some(adj) = p.oom_score_adj() {
        process::set_oom_score_adj(adj)?;
    }
    // Resolved inside the root with magic links refused: a cwd like /proc/self/fd/N must
    // never land on a host directory (CVE-2024-21626). Before any seccomp filter: the
    // check calls getcwd(2), which a profile may deny.
    let root = safe_path::open_root(Path::new("/")).map_err(|e| Error::Init(e.to_string()))?;
    safe_path::chdir_in_root(root.as_fd(), p.cwd())
        .map_err(|e| Error::Init(format!("entering cwd: {e}")))?;
    // Read while still root (the image's passwd may not be readable by the user) and
    // before any filter.
    let env = home::with_home(
        p.env().as_deref().unwrap_or_default(),
        root.as_fd(),
        p.user().uid(),
    );
    drop(root);
    // CVE-2024-21626: every fd above stdio and the preserved ones is close-on-exec from
    // here on. Before any filter too: a profile may not allow close_range (those older
    // than Linux 5.9 do not).
    process::seal_fds(preserve_fds)?;
    let no_new_privs = p.no_new_privileges().unwrap_or(false);
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the process may
    // be about to drop: load it now, as runc does.
    if !no_new_privs && let Some(f) = seccomp {
        load_seccomp(f, chan)?;
    }
    let setgroups_allowed = process::setgroups_allowed();
    if p.user().uid() != 0 {
        capabilities::keep_across_uid_switch()?;
    }
    process::switch_user(p, setgroups_allowed)?;
    // A process without capabilities gets none, never the runtime's full set.
    let no_caps = capabilities::none();
    capabilities::apply(p.capabilities().as_ref().unwrap_or(&no_caps))?;
    if no_new_privs {
        nix::sys::prctl::set_no_new_privs().map_err(sys_err("setting no_new_privs", who))?;
    }
    let argv = p.args().as_deref().unwrap_or_default();
    let arg0 = argv
        .first()
        .ok_or_else(|| Error::Init("process.args is empty".into()))?;
    let exe = process::find_executable(arg0, &env)?;
    Ok(Execution {
        c_exe: process::path_cstring(&exe)?,
        c_args: process::cstrings(argv.iter().map(String::as_str))?,
        c_env: process::cstrings(env.iter().map(String::as_str))?,
        exe,
        late_seccomp: no_new_privs,
    })
}

impl Execution {
    /// The filter, if it was left for last.
    pub fn load_late_seccomp(&self, seccomp: Option<&SeccompFilter>, chan: &Channel) -> Result<()> {
        match seccomp {
            Some(f) if self.late_seccomp => load_seccomp(f, chan),
            _ => Ok(()),
        }
    }

    /// Become the container process. Returns only if execve failed.
    pub fn exec(self) -> Error {
        // The caller's blocked signals (`run` and `exec` block the ones they forward) are
        // not the container's: it starts with an empty mask.
        let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
        // Ignored signals survive execve. Rust's runtime ignores SIGPIPE in the runtime
        // itself (`yes | head` in the container would see EPIPE), and a caller may have
        // ignored others (Python ignores SIGXFSZ). runc's container gets what Go's
        // runtime leaves: every signal at its default except an inherited ignore of
        // SIGHUP or SIGINT (nohup, a shell's background job), which Go keeps. The same
        // here, so a container starts alike under either runtime.
        for sig in 1..32 {
            if matches!(
                sig,
                libc::SIGKILL | libc::SIGSTOP | libc::SIGHUP | libc::SIGINT
            ) {
                continue;
            }
            // SAFETY: resetting a signal to its default action in the single-threaded
            // child about to execve (its handlers would not survive execve anyway).
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
        let err = nix::unistd::execve(&self.c_exe, &self.c_args, &self.c_env)
            .err()
            .unwrap_or(nix::errno::Errno::UnknownErrno);
        Error::Init(format!(
            "exec {}: {}",
            self.exe.display(),
            process::go_errno_text(err)
        ))
    }
}
