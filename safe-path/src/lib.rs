//! berth-safe-path: resolve and create paths inside an untrusted root without ever
//! leaving it.
//!
//! A container image is attacker-controlled: any component of a mount destination, a
//! masked path, a file the runtime creates or an entry of a layer tarball may be a
//! symlink (`/proc -> /`, `etc -> /etc`), and a naive `mount(.., rootfs.join(dest), ..)`
//! or `File::create(layer.join(name))` would then follow it onto the host (CVE-2021-30465
//! and the whole class of symlink-exchange escapes).
//!
//! Everything here resolves relative to an fd of the root:
//! - `openat2(2)` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` when the kernel has it
//!   (5.6+): absolute symlinks and `..` are clamped to the root by the kernel;
//! - otherwise a component-by-component walk with `O_PATH | O_NOFOLLOW`, reading each
//!   symlink ourselves and restarting from the root fd for absolute targets; `..` pops
//!   a stack of already-opened directory fds, so it can never climb above the root even
//!   if a directory is moved while we walk.
//!
//! Callers then act on the fd, not on a path string: mount onto `fd_path(fd)`
//! (`/proc/self/fd/N`), which the kernel resolves to exactly the inode we checked.
//!
//! - [`resolve`]: opening a path in the root ([`open_root`], [`open_in_root`],
//!   [`chdir_in_root`], [`first_symlink_in_root`], [`fd_path`]);
//! - [`create`]: `mkdir -p` and bind-mount target files ([`mkdir_all_in_root`],
//!   [`create_file_in_root`]);
//! - [`entry`]: one named entry of any kind (directory, file, symlink, hardlink, device,
//!   fifo) created under its resolved parent, with its owner, mode, times and xattrs, as
//!   an archive unpacker needs ([`EntryAt`]);
//! - [`error`]: the error type, [`SafePathError`].

pub mod create;
pub mod entry;
pub mod error;
pub mod resolve;

pub use create::{create_file_in_root, mkdir_all_in_root};
pub use entry::{EntryAt, NodeKind};
pub use error::SafePathError;
pub use resolve::{chdir_in_root, fd_path, first_symlink_in_root, open_in_root, open_root};
