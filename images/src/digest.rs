//! Content digests: `sha256:<64 lower-case hex>`, the only algorithm the store keeps.
//! A digest read from an archive or a manifest is untrusted text that becomes a file
//! name under `blobs/sha256/`, so it is parsed here before anything touches the disk.

use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::ImageError;

/// A validated `sha256:<hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 lower-case hex digits>`.
    ///
    /// # Errors
    /// [`ImageError::InvalidDigest`] for another algorithm or a malformed hex part.
    pub fn parse(text: &str) -> Result<Self, ImageError> {
        let invalid = |reason: &str| ImageError::InvalidDigest {
            digest: text.to_string(),
            reason: reason.to_string(),
        };
        let hex = text
            .strip_prefix("sha256:")
            .ok_or_else(|| invalid("only sha256 digests are supported"))?;
        if !is_hex64(hex) {
            return Err(invalid("not 64 lower-case hex digits"));
        }
        Ok(Self(text.to_string()))
    }

    /// The digest of 64 hex digits given without the `sha256:` prefix.
    pub fn from_hex(hex: &str) -> Result<Self, ImageError> {
        Self::parse(&format!("sha256:{hex}"))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(hasher: Sha256) -> Self {
        Self(format!("sha256:{}", to_hex(&hasher.finalize())))
    }

    /// The hex part (the blob's file name, a layer's directory name).
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The whole text, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True for exactly 64 lower-case hex digits.
pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A reader that hashes and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Reads what is left to the end (so trailing padding is hashed too) and returns the
    /// digest and the total size.
    pub fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Digest::from_hasher(self.hasher), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// A writer that hashes and counts everything written through it (to a file, or to
/// `io::sink()` to only learn a digest).
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest of everything written, the total size and the inner writer.
    pub fn finish(self) -> (Digest, u64, W) {
        (Digest::from_hasher(self.hasher), self.count, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_hex_only() {
        let d = Digest::of(b"");
        assert_eq!(
            d.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse(d.as_str()).expect("valid"), d);
        for bad in [
            "sha512:abc",
            "sha256:../../etc/passwd",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashing_reader_counts_and_hashes_to_the_end() {
        let mut r = HashingReader::new(&b"hello world"[..]);
        let mut five = [0u8; 5];
        r.read_exact(&mut five).expect("read");
        assert_eq!(r.count(), 5);
        let (d, n) = r.finish().expect("finish");
        assert_eq!((d, n), (Digest::of(b"hello world"), 11));
    }
}
