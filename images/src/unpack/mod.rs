//! Unpacking one layer archive into a directory, for overlayfs, treating the archive as
//! hostile. The `tar` crate only parses (its `unpack` checks paths by canonicalize, which
//! races with symlinks, and writes devices as files); every entry is created by
//! [`apply`] under an fd of the layer directory with berth-safe-path's
//! `openat2(RESOLVE_IN_ROOT)` code, so no name, symlinked parent or hard link can reach
//! outside it:
//! - names are cleaned first ([`name`]): a leading `/` is dropped (docker's behaviour:
//!   the entry lands inside the layer), `..` that climbs above the layer is refused;
//! - a parent that is a symlink resolves inside the layer, as in docker's chroot;
//! - a hard link's target is cleaned the same way and must exist inside the layer;
//! - whiteouts become overlayfs's ([`whiteout`]), a whiteout of `.` or `..` is refused;
//! - device nodes and fifos are created as they are (containers/storage and docker do
//!   so when running as root, which berth's engine is).
//!
//! The caller unpacks into a temporary directory and renames it into place only on
//! success; any error here names the entry.

mod apply;
pub mod compression;
pub mod name;
pub mod whiteout;

use std::io::Read;
use std::path::Path;

use crate::digest::{Digest, HashingReader};
use crate::error::ImageError;

/// What unpacking a layer found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedLayer {
    /// The digest of the uncompressed archive (the layer's diff ID).
    pub diff_id: Digest,
    /// The sum of the sizes of its regular files, in bytes (docker's layer size).
    pub size: u64,
}

/// Unpacks the layer archive `blob` (gzip, zstd or plain, told by its magic) into the
/// existing, empty directory `dest`. `layer` names the layer in errors.
///
/// # Errors
/// [`ImageError::HostileEntry`] for a refused entry, [`ImageError::Unpack`] when creating
/// one fails, [`ImageError::Malformed`] for an archive that does not parse.
pub fn unpack_layer(
    blob: impl Read,
    dest: &Path,
    layer: &str,
) -> Result<UnpackedLayer, ImageError> {
    let read_err = |e: std::io::Error| {
        ImageError::malformed(
            format!("layer {layer}"),
            format!("reading the archive: {e}"),
        )
    };
    let input = std::io::BufReader::with_capacity(128 * 1024, blob);
    let tar_stream = HashingReader::new(compression::decompress(input).map_err(read_err)?);
    let mut archive = tar::Archive::new(tar_stream);
    let size = apply::apply_archive(&mut archive, dest, layer)?;
    let (diff_id, _) = archive.into_inner().finish().map_err(read_err)?;
    Ok(UnpackedLayer { diff_id, size })
}
