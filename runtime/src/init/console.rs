//! `terminal: true`: a pty made inside the container, its master handed to the caller over
//! `--console-socket` with SCM_RIGHTS (as runc does), its slave the process's stdio.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use nix::sys::stat::Mode;
use nix::unistd::dup2_raw;
use oci_spec::runtime::Box as ConsoleSize;

use crate::error::{Error, Result, sys_err};

/// Connect to the caller's console socket (in the runtime, so a bad path fails early).
pub fn connect(path: &Path) -> Result<UnixStream> {
    UnixStream::connect(path).map_err(|e| {
        Error::InvalidArgument(format!(
            "connecting to console socket {}: {e}",
            path.display()
        ))
    })
}

/// Make the pty, send its master, and make the slave our controlling terminal and stdio.
/// Runs after pivot_root so the pty belongs to the container's devpts. The init also
/// makes the slave `/dev/console` (`bind_dev_console`); an exec'd process leaves that to
/// the init.
pub fn setup(
    socket: &UnixStream,
    size: Option<&ConsoleSize>,
    bind_dev_console: bool,
) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(sys_err("opening", "/dev/ptmx"))?;
    grantpt(&master).map_err(sys_err("grantpt", "/dev/ptmx"))?;
    unlockpt(&master).map_err(sys_err("unlockpt", "/dev/ptmx"))?;
    let slave_name = ptsname_r(&master).map_err(sys_err("ptsname", "/dev/ptmx"))?;
    let slave: OwnedFd = nix::fcntl::open(
        slave_name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(sys_err("opening pty", slave_name.clone()))?;
    if let Some(size) = size {
        let ws = libc::winsize {
            ws_row: u16::try_from(size.height()).unwrap_or(u16::MAX),
            ws_col: u16::try_from(size.width()).unwrap_or(u16::MAX),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        set_window_size(slave.as_fd(), &ws)
            .map_err(|e| Error::Init(format!("setting the size of {slave_name}: {e}")))?;
    }
    if bind_dev_console {
        bind_console(&slave, &slave_name)?;
    }
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(slave_name.as_bytes())];
    sendmsg::<()>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(sys_err("sending pty master to", "console socket"))?;
    drop(master);
    for target in 0..=2 as RawFd {
        // SAFETY: dup2 onto the standard fds, which we own as the process's stdio.
        let fd = unsafe { dup2_raw(slave.as_fd(), target) }
            .map_err(sys_err("dup2 pty to", target.to_string()))?;
        // The new fd is the process's stdio from now on: it must outlive this function.
        let _ = fd.into_raw_fd();
    }
    // SAFETY: TIOCSCTTY on our own fd 0; we are a session leader with no controlling tty.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(Error::Init(format!(
            "making {slave_name} the controlling terminal: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// The window size of the terminal `fd` (either end of a pty, or any tty).
pub fn window_size(fd: BorrowedFd<'_>) -> std::io::Result<libc::winsize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize struct that lives for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(ws)
}

/// Set the window size of the terminal `fd`; on a pty the kernel then sends SIGWINCH to
/// its foreground process group (if the size changed).
pub fn set_window_size(fd: BorrowedFd<'_>, ws: &libc::winsize) -> std::io::Result<()> {
    // SAFETY: TIOCSWINSZ reads a winsize struct that lives for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// /dev/console is the pty slave, as in runc. Whatever the image put at /dev/console
/// that is not a regular file (a symlink to a host file, a device node) is removed, never
/// followed (CVE-2025-52565); the target is resolved inside the root by fd and the slave
/// attached to it with the new mount API, so no path string is followed at mount time
/// and no /proc is needed.
fn bind_console(slave: &OwnedFd, name: &str) -> Result<()> {
    use nix::sys::stat::{SFlag, fstatat};
    let init_err = |e: crate::safe_path::SafePathError| {
        Error::Init(format!("binding {name} to /dev/console: {e}"))
    };
    let root = crate::safe_path::open_root(Path::new("/")).map_err(init_err)?;
    let dev = crate::safe_path::mkdir_all_in_root(
        root.as_fd(),
        Path::new("/dev"),
        Mode::from_bits_truncate(0o755),
    )
    .map_err(init_err)?;
    if let Ok(st) = fstatat(&dev, "console", nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        && SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG
    {
        nix::unistd::unlinkat(&dev, "console", nix::unistd::UnlinkatFlags::NoRemoveDir)
            .map_err(sys_err("removing", "/dev/console"))?;
    }
    let target = crate::safe_path::create_file_in_root(
        root.as_fd(),
        Path::new("/dev/console"),
        Mode::from_bits_truncate(0o600),
    )
    .map_err(init_err)?;
    let tree = crate::mount_api::clone_tree(slave.as_fd())
        .map_err(sys_err("cloning a mount of", name.to_string()))?;
    crate::mount_api::move_onto(tree.as_fd(), target.as_fd())
        .map_err(sys_err("binding pty to", "/dev/console"))?;
    Ok(())
}
