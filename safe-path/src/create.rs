//! Creating directories and files inside a root, each created relative to an
//! already-resolved parent fd so that a planted symlink only redirects inside the root.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{Mode, mkdirat};

use crate::error::SafePathError;
use crate::resolve::{open_in_root, relative};

/// Creates every missing directory of `path` inside `root` (like `mkdir -p`, with
/// `mode` for the new ones) and returns an `O_PATH | O_DIRECTORY` fd of the last one.
/// Each directory is created with `mkdirat` relative to the already-resolved parent fd,
/// so a symlink planted in the image only ever redirects creation inside the root.
pub fn mkdir_all_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    mode: Mode,
) -> Result<OwnedFd, SafePathError> {
    let dir_flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    let mut current = open_in_root(root, Path::new("/"), dir_flags)?;
    let mut prefix = PathBuf::from("/");
    for component in relative(path).components() {
        let name = match component {
            Component::Normal(name) => name,
            // `..`/`.` are resolved (clamped at the root) by re-opening the prefix.
            Component::ParentDir | Component::CurDir => {
                prefix.push(component.as_os_str());
                current = open_in_root(root, &prefix, dir_flags)?;
                continue;
            }
            Component::RootDir | Component::Prefix(_) => continue,
        };
        prefix.push(name);
        match open_in_root(root, &prefix, dir_flags) {
            Ok(fd) => current = fd,
            Err(e) if e.is_not_found() => {
                match mkdirat(&current, name, mode) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(source) => {
                        return Err(SafePathError::Create {
                            path: prefix.clone(),
                            source,
                        });
                    }
                }
                // Re-resolve rather than trusting the name: if it already existed as a
                // dangling symlink this fails instead of following it.
                current = open_in_root(root, &prefix, dir_flags)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(current)
}

/// Makes sure a regular file exists at `path` inside `root` (creating missing parent
/// directories with mode 0755 and the file with `mode`) and returns an `O_PATH` fd of
/// it: the usual preparation of a bind-mount target for a file source.
pub fn create_file_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    mode: Mode,
) -> Result<OwnedFd, SafePathError> {
    let rel = relative(path);
    let (parent, name) = match (rel.parent(), rel.file_name()) {
        (Some(parent), Some(name)) => (parent, name),
        _ => {
            return Err(SafePathError::Create {
                path: path.to_path_buf(),
                source: Errno::EINVAL,
            });
        }
    };
    let parent_fd = mkdir_all_in_root(root, parent, Mode::from_bits_truncate(0o755))?;
    // O_EXCL never follows a symlink at the last component, so this cannot create a
    // file outside the root; if something is already there, resolve it in the root.
    match openat(
        &parent_fd,
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        mode,
    ) {
        Ok(_created) => {}
        Err(Errno::EEXIST) => {}
        Err(source) => {
            return Err(SafePathError::Create {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    open_in_root(root, path, OFlag::O_PATH)
}
