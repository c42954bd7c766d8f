//! Whiteouts: how a layer says "this lower file is gone" (`.wh.NAME`) or "hide the
//! whole lower directory" (`.wh..wh..opq`), and their overlayfs form: a 0:0 character
//! device named NAME, and the xattr `trusted.overlay.opaque=y` on the directory.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The prefix of a whiteout's name.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The name of an opaque-directory marker.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The overlayfs xattr that makes a directory opaque, and its value.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
pub const OPAQUE_VALUE: &[u8] = b"y";

/// What an archive entry is for overlayfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whiteout {
    /// Not a whiteout: create the entry as it is.
    None,
    /// `dir/.wh.NAME`: create a 0:0 character device `dir/NAME`.
    File(PathBuf),
    /// `dir/.wh..wh..opq`: mark `dir` (empty = the layer root) opaque.
    Opaque(PathBuf),
    /// Another `.wh..wh.` name (aufs's hard-link bookkeeping): skipped, as docker does.
    AufsMeta,
}

/// Classifies the cleaned, relative entry `path`.
///
/// # Errors
/// The reason, when the whited-out name is not a name (`.wh.`, `.wh..`, `.wh...`).
pub fn classify(path: &Path) -> Result<Whiteout, String> {
    let Some(file_name) = path.file_name() else {
        return Ok(Whiteout::None);
    };
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let bytes = file_name.as_bytes();
    if bytes == OPAQUE_MARKER.as_bytes() {
        return Ok(Whiteout::Opaque(dir));
    }
    if bytes.starts_with(b".wh..wh.") {
        return Ok(Whiteout::AufsMeta);
    }
    let Some(name) = bytes.strip_prefix(WHITEOUT_PREFIX.as_bytes()) else {
        return Ok(Whiteout::None);
    };
    match name {
        b"" | b"." | b".." => Err(format!(
            "a whiteout of {:?} would hide the directory itself or its parent",
            String::from_utf8_lossy(name)
        )),
        _ => Ok(Whiteout::File(dir.join(OsStr::from_bytes(name)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteouts_become_their_overlay_form() {
        assert_eq!(
            classify(Path::new("etc/.wh.passwd")).expect("ok"),
            Whiteout::File(PathBuf::from("etc/passwd"))
        );
        assert_eq!(
            classify(Path::new(".wh.tmp")).expect("ok"),
            Whiteout::File(PathBuf::from("tmp"))
        );
        assert_eq!(
            classify(Path::new("var/cache/.wh..wh..opq")).expect("ok"),
            Whiteout::Opaque(PathBuf::from("var/cache"))
        );
        assert_eq!(
            classify(Path::new(".wh..wh..opq")).expect("ok"),
            Whiteout::Opaque(PathBuf::new())
        );
        assert_eq!(
            classify(Path::new("a/.wh..wh.plnk")).expect("ok"),
            Whiteout::AufsMeta
        );
        assert_eq!(classify(Path::new("a/b.wh.c")).expect("ok"), Whiteout::None);
    }

    #[test]
    fn a_whiteout_of_dot_or_dotdot_is_refused() {
        for bad in ["a/.wh...", ".wh...", "a/.wh..", "a/.wh."] {
            assert!(classify(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
