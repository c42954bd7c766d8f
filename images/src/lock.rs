//! flock(2) locks on small files of the store: the image index's, and one per layer
//! being unpacked. A lock dies with its process, so a killed `berth` never leaves the
//! store locked.

use std::fs::{File, OpenOptions};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::error::ImageError;

/// Holds an exclusive lock until dropped.
pub(crate) struct Locked {
    _flock: Flock<File>,
}

/// Takes the exclusive lock of `path` (created if missing), waiting for other holders.
pub(crate) fn lock_exclusive(path: &Path) -> Result<Locked, ImageError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(ImageError::io("opening lock file", path))?;
    let flock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| {
        ImageError::io("locking", path)(std::io::Error::from_raw_os_error(errno as i32))
    })?;
    Ok(Locked { _flock: flock })
}
