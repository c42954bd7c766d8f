//! Checking content while it streams: the sha256 of the bytes as they arrive (the
//! blob's digest) and of the bytes after decompression (a layer's diff_id), so a layer
//! is verified both ways in one pass, before the store commits it.

use std::io::Write;

use crate::digest::{Digest, HashingWriter};
use crate::unpack::compression::{self, Compression};

use super::RegistryError;

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    Digest::of(bytes).to_string()
}

/// A writer that only hashes and counts (the store's hashing writer over a sink).
pub type HashWriter = HashingWriter<std::io::Sink>;

/// A fresh [`HashWriter`].
pub fn hash_writer() -> HashWriter {
    HashingWriter::new(std::io::sink())
}

/// Refuses media types that are not tar layers (configs, artifacts, xz layers).
///
/// # Errors
/// [`RegistryError::UnsupportedLayer`] naming the blob and the type.
pub fn check_layer_media_type(media_type: &str, digest: &str) -> Result<(), RegistryError> {
    let base = media_type
        .strip_prefix("application/vnd.oci.image.layer.v1.")
        .or_else(|| media_type.strip_prefix("application/vnd.oci.image.layer.nondistributable.v1."))
        .or_else(|| media_type.strip_prefix("application/vnd.docker.image.rootfs."));
    match base {
        Some(
            "tar"
            | "diff.tar"
            | "tar+gzip"
            | "diff.tar.gzip"
            | "foreign.diff.tar.gzip"
            | "tar+zstd"
            | "diff.tar.zstd",
        ) => Ok(()),
        _ => Err(RegistryError::UnsupportedLayer {
            digest: digest.to_string(),
            media_type: media_type.to_string(),
        }),
    }
}

/// Bytes enough to tell the compression by its magic (the store's unpacker tells it
/// the same way, media types lie).
const MAGIC_LEN: usize = 6;

/// Decompresses into a [`HashWriter`]: what comes out is the layer's diff_id. The
/// decoder is chosen from the first bytes, as [`compression::detect`] chooses it.
pub enum DiffIdWriter {
    Start(Vec<u8>),
    Plain(HashWriter),
    Gzip(Box<flate2::write::MultiGzDecoder<HashWriter>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, HashWriter>>),
}

impl Default for DiffIdWriter {
    fn default() -> Self {
        DiffIdWriter::Start(Vec::with_capacity(MAGIC_LEN))
    }
}

impl DiffIdWriter {
    fn started(head: &[u8]) -> std::io::Result<Self> {
        let mut w = match compression::detect(&mut &head[..])? {
            Compression::None => DiffIdWriter::Plain(hash_writer()),
            Compression::Gzip => {
                DiffIdWriter::Gzip(Box::new(flate2::write::MultiGzDecoder::new(hash_writer())))
            }
            Compression::Zstd => {
                DiffIdWriter::Zstd(Box::new(zstd::stream::write::Decoder::new(hash_writer())?))
            }
        };
        w.write_all(head)?;
        Ok(w)
    }

    pub fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            DiffIdWriter::Start(head) => {
                head.extend_from_slice(buf);
                if head.len() >= MAGIC_LEN {
                    *self = Self::started(&std::mem::take(head))?;
                }
                Ok(())
            }
            DiffIdWriter::Plain(w) => w.write_all(buf),
            DiffIdWriter::Gzip(w) => w.write_all(buf),
            DiffIdWriter::Zstd(w) => w.write_all(buf),
        }
    }

    /// The uncompressed content's `sha256:<hex>` and length; an error when the
    /// compressed stream is cut short or corrupt.
    pub fn finish(self) -> std::io::Result<(String, u64)> {
        let inner = match self {
            DiffIdWriter::Start(head) => return Self::started(&head)?.finish(),
            DiffIdWriter::Plain(w) => w,
            DiffIdWriter::Gzip(w) => w.finish()?,
            DiffIdWriter::Zstd(mut w) => {
                w.flush()?;
                w.into_inner()
            }
        };
        let (digest, len, _) = inner.finish();
        Ok((digest.to_string(), len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_id_is_the_digest_of_the_decompressed_bytes() {
        let data = b"layer content ".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).expect("gzip");
        let gz = gz.finish().expect("gzip finish");
        let zst = zstd::stream::encode_all(&data[..], 3).expect("zstd");
        for (compression, bytes) in [
            (Compression::None, data.clone()),
            (Compression::Gzip, gz),
            (Compression::Zstd, zst),
        ] {
            let mut w = DiffIdWriter::default();
            for chunk in bytes.chunks(333) {
                w.write_all(chunk).expect("write");
            }
            assert_eq!(
                w.finish().expect("finish"),
                (sha256(&data), data.len() as u64),
                "{compression:?}"
            );
        }
    }

    #[test]
    fn only_tar_layer_media_types_are_taken() {
        for ok in [
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.oci.image.layer.v1.tar",
        ] {
            assert!(check_layer_media_type(ok, "sha256:x").is_ok(), "{ok}");
        }
        for bad in [
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+xz",
        ] {
            assert!(check_layer_media_type(bad, "sha256:x").is_err(), "{bad}");
        }
    }
}
