//! Fetching one blob into the store: the bytes stream from the registry (async) to a
//! blocking thread that writes them to the store's blob writer and hashes them (the
//! digest; for a layer also the decompressed diff_id), and the blob is committed only
//! when both match. A broken connection is resumed where it stopped with a Range
//! request (a registry that ignores Range resends from 0; the bytes already written are
//! skipped), retried with exponential backoff while no progress is made.
//!
//! oci-client fetches the stream (`pull_blob_stream_partial`); it does not resume or
//! retry by itself, which is this module's job.

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use oci_client::Reference;
use oci_client::client::BlobResponse;
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use tokio::sync::mpsc;

use super::RegistryError;
use super::progress::{Progress, RowId};
use super::session::{Doing, Registry, error_chain};
use super::store_link;
use super::verify::{DiffIdWriter, check_layer_media_type, hash_writer};

/// Attempts without progress before a blob's download fails.
const MAX_STALLED_ATTEMPTS: u32 = 5;
/// The first retry's wait; doubled each further attempt without progress.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// The store's side of a download: a writer that makes the blob visible only at
/// `commit` (and verifies its digest again there).
pub trait BlobSink: Write + Send {
    /// Makes the blob part of the store.
    fn commit(self: Box<Self>) -> Result<(), RegistryError>;
}

/// What a downloaded blob must be.
pub struct Expect {
    /// The descriptor from the manifest (digest, size, media type).
    pub descriptor: OciDescriptor,
    /// For a layer, its uncompressed digest from the image config.
    pub diff_id: Option<String>,
    /// For a layer the store has not unpacked: unpack it while it downloads.
    pub unpack: Option<store_link::LayerTarget>,
}

enum Chunk {
    Data(bytes::Bytes),
    /// Every byte arrived: verify and commit.
    End,
}

/// Downloads a blob into `sink`, verified; shows progress on `row`.
///
/// # Errors
/// Not found, unauthorized, a digest or diff_id that does not match
/// ([`RegistryError::DigestMismatch`]; nothing is committed), or the connection failing
/// [`MAX_STALLED_ATTEMPTS`] times without progress.
pub async fn fetch(
    registry: &Registry,
    reference: &Reference,
    expect: Expect,
    sink: Box<dyn BlobSink>,
    progress: &Progress,
    row: RowId,
) -> Result<(), RegistryError> {
    if expect.diff_id.is_some() {
        check_layer_media_type(&expect.descriptor.media_type, &expect.descriptor.digest)?;
    }
    let size = u64::try_from(expect.descriptor.size).unwrap_or(0);
    let (tx, rx) = mpsc::channel::<Chunk>(32);
    let digest = expect.descriptor.digest.clone();
    let diff_id = expect.diff_id.clone();
    let unpack = expect.unpack.clone();
    let writer = tokio::task::spawn_blocking(move || match (unpack, diff_id) {
        (Some(target), Some(diff_id)) => write_unpacking(rx, sink, &digest, &diff_id, &target),
        (_, diff_id) => write_verified(rx, sink, &digest, diff_id.as_deref()),
    });
    let streamed = stream(
        registry,
        reference,
        &expect.descriptor,
        size,
        &tx,
        progress,
        row,
    )
    .await;
    match streamed {
        Ok(()) => {
            let _ = tx.send(Chunk::End).await;
        }
        Err(e) => {
            // Dropping the sender without End makes the writer drop the sink uncommitted.
            drop(tx);
            let _ = writer.await;
            return Err(e);
        }
    }
    drop(tx);
    writer.await.map_err(|e| RegistryError::Transport {
        action: "writing",
        reference: reference.whole(),
        registry: reference.registry().to_string(),
        detail: format!("blob writer thread: {e}"),
    })?
}

/// The blocking half: write, hash, decompress-hash; commit only on End with every check
/// passed.
fn write_verified(
    mut rx: mpsc::Receiver<Chunk>,
    mut sink: Box<dyn BlobSink>,
    digest: &str,
    diff_id: Option<&str>,
) -> Result<(), RegistryError> {
    let io = |source: std::io::Error| RegistryError::Io {
        action: "writing blob",
        path: digest.into(),
        source,
    };
    let mut hasher = hash_writer();
    let mut uncompressed = diff_id.map(|_| DiffIdWriter::default());
    let mut decode_error = None;
    loop {
        match rx.blocking_recv() {
            Some(Chunk::Data(bytes)) => {
                sink.write_all(&bytes).map_err(io)?;
                hasher.write_all(&bytes).map_err(io)?;
                if let Some(w) = uncompressed.as_mut()
                    && let Err(e) = w.write_all(&bytes)
                {
                    // A corrupt stream: the digest check below names the blob; keep
                    // the decoder's word for the diff_id message.
                    decode_error = Some(e);
                    uncompressed = None;
                }
            }
            Some(Chunk::End) => break,
            // The download failed: leave the sink uncommitted (dropping it discards it).
            None => return Ok(()),
        }
    }
    let actual = hasher.finish().0.to_string();
    if actual != digest {
        return Err(RegistryError::DigestMismatch {
            what: "blob",
            expected: digest.to_string(),
            actual,
        });
    }
    if let Some(expected) = diff_id {
        let actual = match (uncompressed, decode_error) {
            (Some(w), None) => w
                .finish()
                .map(|(d, _)| d)
                .unwrap_or_else(|e| format!("undecodable ({e})")),
            (_, Some(e)) => format!("undecodable ({e})"),
            (None, None) => "nothing".to_string(),
        };
        if actual != expected {
            return Err(RegistryError::DigestMismatch {
                what: "layer diff_id",
                expected: expected.to_string(),
                actual,
            });
        }
    }
    sink.flush().map_err(io)?;
    sink.commit()
}

/// The blocking half when the layer is unpacked as it arrives: the store's unpacker
/// reads the bytes through a [`TeeReader`] that writes them to the blob writer and
/// hashes them. The unpacker checks the diff_id, the reader the digest at the end (an
/// error there fails the unpack, which then leaves nothing); the blob is committed last.
/// One pass over the bytes: no second read of the blob, no second decompression.
fn write_unpacking(
    rx: mpsc::Receiver<Chunk>,
    mut sink: Box<dyn BlobSink>,
    digest: &str,
    diff_id: &str,
    target: &store_link::LayerTarget,
) -> Result<(), RegistryError> {
    let mut tee = TeeReader {
        rx,
        sink: &mut *sink,
        hasher: Some(hash_writer()),
        digest,
        pending: bytes::Bytes::new(),
        failure: None,
        ended: false,
    };
    let unpacked = store_link::unpack_layer(target, diff_id, digest, &mut tee);
    if let Err(e) = unpacked {
        // A corrupt blob usually fails the unpacker first (a bad tar header): read the
        // rest, so that the digest, the root cause, is what the error names.
        if tee.failure.is_none() {
            let _ = tee.drain();
        }
        // The reader's own word (digest mismatch, download broken) names the cause.
        return match tee.failure.take() {
            Some(TeeFailure::Digest(e)) => Err(e),
            // The async side reports the download's error.
            Some(TeeFailure::Cancelled) => Ok(()),
            None => Err(e),
        };
    }
    // The unpacker may stop before the end of the stream (padding after the tar's end
    // blocks): the rest is still the blob's, and the digest covers it.
    if let Err(e) = tee.drain() {
        let failure = tee.failure.take();
        store_link::remove_layer(target)?;
        return match failure {
            Some(TeeFailure::Digest(e)) => Err(e),
            Some(TeeFailure::Cancelled) => Ok(()),
            None => Err(RegistryError::Io {
                action: "reading blob",
                path: digest.into(),
                source: e,
            }),
        };
    }
    drop(tee);
    sink.flush().map_err(|source| RegistryError::Io {
        action: "writing blob",
        path: digest.into(),
        source,
    })?;
    sink.commit()
}

enum TeeFailure {
    Digest(RegistryError),
    /// The download ended without its last byte (the async side has the error).
    Cancelled,
}

/// The chunks of one download as a `Read`, each written to the blob writer and hashed
/// on the way.
struct TeeReader<'a> {
    rx: mpsc::Receiver<Chunk>,
    sink: &'a mut dyn BlobSink,
    hasher: Option<super::verify::HashWriter>,
    digest: &'a str,
    pending: bytes::Bytes,
    failure: Option<TeeFailure>,
    ended: bool,
}

impl TeeReader<'_> {
    /// Reads what is left, to the digest check.
    fn drain(&mut self) -> std::io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        while std::io::Read::read(self, &mut buf)? > 0 {}
        Ok(())
    }
}

impl std::io::Read for TeeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Chunk::Data(bytes)) => {
                    self.sink.write_all(&bytes)?;
                    if let Some(h) = self.hasher.as_mut() {
                        h.write_all(&bytes)?;
                    }
                    self.pending = bytes;
                }
                Some(Chunk::End) => {
                    self.ended = true;
                    let actual = self
                        .hasher
                        .take()
                        .map(|h| h.finish().0.to_string())
                        .unwrap_or_default();
                    if actual != self.digest {
                        self.failure = Some(TeeFailure::Digest(RegistryError::DigestMismatch {
                            what: "blob",
                            expected: self.digest.to_string(),
                            actual,
                        }));
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "blob digest mismatch",
                        ));
                    }
                }
                None => {
                    self.failure = Some(TeeFailure::Cancelled);
                    return Err(std::io::Error::other("download broken off"));
                }
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending.split_to(n));
        Ok(n)
    }
}

/// The async half: request, stream, resume.
async fn stream(
    registry: &Registry,
    reference: &Reference,
    descriptor: &OciDescriptor,
    size: u64,
    tx: &mpsc::Sender<Chunk>,
    progress: &Progress,
    row: RowId,
) -> Result<(), RegistryError> {
    let doing = Doing {
        action: "fetching blob of",
        reference,
    };
    let mut offset: u64 = 0;
    let mut stalled: u32 = 0;
    loop {
        let before = offset;
        let failure = match registry
            .client
            .pull_blob_stream_partial(reference, descriptor, offset, None)
            .await
        {
            Ok(response) => {
                let (mut skip, mut body) = match response {
                    BlobResponse::Partial(s) => (0, s),
                    // The registry ignored Range: it resends from 0.
                    BlobResponse::Full(s) => (offset, s),
                };
                loop {
                    match body.next().await {
                        Some(Ok(mut bytes)) => {
                            if skip > 0 {
                                let n = skip.min(bytes.len() as u64);
                                let _ = bytes.split_to(n as usize);
                                skip -= n;
                            }
                            if bytes.is_empty() {
                                continue;
                            }
                            offset += bytes.len() as u64;
                            if offset > size {
                                return Err(RegistryError::DigestMismatch {
                                    what: "blob",
                                    expected: descriptor.digest.clone(),
                                    actual: format!("more than its {size} bytes"),
                                });
                            }
                            if tx.send(Chunk::Data(bytes)).await.is_err() {
                                // The writer failed; its error is the one to report.
                                return Ok(());
                            }
                            progress.advance(row, offset);
                        }
                        // oci-client checks a full response's digest at its end; every
                        // byte arrived, so this is no connection failure: let our own
                        // check name it.
                        Some(Err(_)) if offset == size => return Ok(()),
                        Some(Err(e)) => break error_chain(&e),
                        None if offset == size => return Ok(()),
                        None => break format!("connection closed after {offset} of {size} bytes"),
                    }
                }
            }
            Err(e @ OciDistributionError::RequestError(_))
            | Err(e @ OciDistributionError::IoError(_)) => error_chain(&e),
            Err(OciDistributionError::ServerError { code, url, message }) if code >= 500 => {
                format!("{url} answered {code}: {message}")
            }
            Err(e) => return Err(doing.error(e)),
        };
        stalled = if offset > before { 0 } else { stalled + 1 };
        if stalled >= MAX_STALLED_ATTEMPTS {
            return Err(RegistryError::Transport {
                action: "fetching blob of",
                reference: reference.whole(),
                registry: reference.registry().to_string(),
                detail: format!(
                    "{}: {failure} ({stalled} attempts without progress)",
                    descriptor.digest
                ),
            });
        }
        let wait = FIRST_BACKOFF * 2u32.saturating_pow(stalled.saturating_sub(1)).min(16);
        tracing::warn!(blob = %descriptor.digest, offset, %failure, "blob download broke; resuming");
        progress.status(
            row,
            &format!(
                "Retrying in {} ms (resuming at {offset} bytes: {failure})",
                wait.as_millis()
            ),
        );
        tokio::time::sleep(wait).await;
    }
}
