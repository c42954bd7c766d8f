//! Which compression a layer blob has, told by its first bytes (media types lie, and
//! docker-archive layers carry none): gzip, zstd or a plain tar.

use std::io::{self, BufRead, Read};

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const BZIP2: &[u8] = b"BZh";

/// A blob's compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The OCI media type of a layer compressed so.
    pub fn layer_media_type(self) -> &'static str {
        match self {
            Self::None => "application/vnd.oci.image.layer.v1.tar",
            Self::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Self::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// Looks at the first bytes of `input` without consuming them. xz and bzip2 are named
/// in the error (docker reads them; berth does not yet).
pub fn detect(input: &mut impl BufRead) -> io::Result<Compression> {
    let head = input.fill_buf()?;
    if head.starts_with(GZIP) {
        Ok(Compression::Gzip)
    } else if head.starts_with(ZSTD) {
        Ok(Compression::Zstd)
    } else if head.starts_with(XZ) || head.starts_with(BZIP2) {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "xz and bzip2 compressed archives are not supported (gzip, zstd or plain tar are)",
        ))
    } else {
        Ok(Compression::None)
    }
}

/// `input` decompressed according to its first bytes.
pub fn decompress<'a>(mut input: impl BufRead + 'a) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match detect(&mut input)? {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        decompress(data)
            .expect("decompress")
            .read_to_end(&mut out)
            .expect("read");
        out
    }

    #[test]
    fn gzip_zstd_and_plain_are_told_by_their_magic() {
        let plain = b"ustar-ish content".to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).expect("gz");
        let gz = gz.finish().expect("gz");
        let zst = zstd::encode_all(&plain[..], 1).expect("zstd");
        assert_eq!(detect(&mut &gz[..]).expect("gz"), Compression::Gzip);
        assert_eq!(detect(&mut &zst[..]).expect("zst"), Compression::Zstd);
        assert_eq!(detect(&mut &plain[..]).expect("plain"), Compression::None);
        for data in [&plain, &gz, &zst] {
            assert_eq!(roundtrip(data), plain);
        }
        assert!(detect(&mut &b"BZh91AY"[..]).is_err());
    }
}
