//! A package's bytes as chunks: the sinks a package is written to (memory, a file, the
//! database sealed chunk by chunk), the writer that cuts the stream into chunks, and the reader
//! that opens them again in order for a download.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use suoja_core::TenantId;
use suoja_vault::stream::{CHUNK, FileKey, open_chunk, seal_chunk};

use super::internal;
use crate::{Privacy, PrivacyError, Result};

/// Where a package's output goes, chunk by chunk, in order; `last` marks the final one (which
/// may be empty).
pub trait ChunkSink: Send {
    /// Takes the next chunk of plaintext.
    fn put(&mut self, index: u64, last: bool, plain: Vec<u8>) -> impl std::future::Future<Output = Result<()>> + Send;
}

/// A sink that keeps the package in memory (small exports, tests, benchmarks).
#[derive(Debug, Default)]
pub struct InMemory(pub Vec<u8>);

impl ChunkSink for InMemory {
    async fn put(&mut self, _: u64, _: bool, plain: Vec<u8>) -> Result<()> {
        self.0.extend_from_slice(&plain);
        Ok(())
    }
}

/// A sink writing the plaintext package to a file the caller opened (the operator's command).
#[derive(Debug)]
pub struct ToFile(pub std::fs::File);

impl ChunkSink for ToFile {
    async fn put(&mut self, _: u64, _: bool, plain: Vec<u8>) -> Result<()> {
        self.0
            .write_all(&plain)
            .map_err(|e| PrivacyError::Internal(format!("writing the package: {e}")))
    }
}

/// The sink of a stored package: each chunk sealed under the package key and stored.
pub(super) struct Stored<'a> {
    pub(super) privacy: &'a Privacy,
    pub(super) tenant: TenantId,
    pub(super) package: String,
    pub(super) subject: i64,
    pub(super) key: FileKey,
    pub(super) size: i64,
    pub(super) chunks: i64,
    /// The build's attempt this builder holds (see `suoja_store::exports::take_over`).
    pub(super) attempt: i64,
}

impl ChunkSink for Stored<'_> {
    async fn put(&mut self, index: u64, last: bool, plain: Vec<u8>) -> Result<()> {
        self.size += i64::try_from(plain.len()).unwrap_or(i64::MAX);
        self.chunks += 1;
        let sealed = seal_chunk(&self.key, &self.package, index, last, &plain).map_err(|e| PrivacyError::Internal(e.to_string()))?;
        let now = self.privacy.hd.now();
        let blobs = self.privacy.hd.db().blobs();
        let content = suoja_store::blobs::Content::store(blobs, self.tenant, sealed).await?;
        let seq = i64::try_from(index).unwrap_or(i64::MAX);
        let chunk = suoja_store::exports::Chunk {
            package: &self.package,
            subject: self.subject,
            seq,
            content: content.clone(),
            size_so_far: self.size,
        };
        let written = async {
            let mut tx = self.privacy.hd.db().begin().await?;
            if !suoja_store::exports::insert_chunk(&mut tx, self.tenant, chunk, self.attempt, now).await? {
                return Err(PrivacyError::Superseded);
            }
            Ok(tx)
        }
        .await;
        let tx = match written {
            Ok(tx) => tx,
            Err(e) => {
                // No row names the blob: it goes now.
                content.discard(blobs).await;
                return Err(e);
            }
        };
        // A failed commit may still have written the row: its blob is left to the orphan sweep,
        // which deletes it only if no row names it.
        tx.commit().await?;
        self.privacy.fault("export:chunk");
        Ok(())
    }
}

/// What the zip writer writes into: cut into chunks as it fills, for the caller to take.
#[derive(Clone, Default)]
pub(super) struct Cutter {
    pub(super) ready: Arc<Mutex<VecDeque<Vec<u8>>>>,
    pub(super) current: Vec<u8>,
}

impl std::io::Write for Cutter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.current.len();
        let n = buf.len().min(room);
        self.current.extend_from_slice(buf.get(..n).unwrap_or(buf));
        if self.current.len() == CHUNK {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(CHUNK));
            self.ready.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push_back(full);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Hands cut chunks to a sink, holding the newest back until it is known whether it is the
/// last.
pub(super) struct Feed<'s, S: ChunkSink> {
    pub(super) sink: &'s mut S,
    pub(super) ready: Arc<Mutex<VecDeque<Vec<u8>>>>,
    pub(super) held: Option<Vec<u8>>,
    pub(super) index: u64,
    pub(super) total: u64,
}

impl<S: ChunkSink> Feed<'_, S> {
    pub(super) async fn drain(&mut self) -> Result<()> {
        loop {
            let next = self.ready.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front();
            let Some(next) = next else { return Ok(()) };
            if let Some(prev) = self.held.replace(next) {
                self.total += prev.len() as u64;
                self.sink.put(self.index, false, prev).await?;
                self.index += 1;
            }
        }
    }

    pub(super) async fn finish(mut self, rest: Vec<u8>) -> Result<u64> {
        self.drain().await?;
        if let Some(prev) = self.held.take() {
            self.total += prev.len() as u64;
            self.sink.put(self.index, false, prev).await?;
            self.index += 1;
        }
        self.total += rest.len() as u64;
        self.sink.put(self.index, true, rest).await?;
        Ok(self.total)
    }
}

pub(super) enum Source {
    Chunks { key: FileKey, chunks: i64, next: i64 },
    Whole(Option<Vec<u8>>),
}

/// Reads a package's content in order, a chunk at a time.
pub struct PackageReader {
    pub(super) privacy: Privacy,
    pub(super) tenant: TenantId,
    pub(super) id: String,
    pub(super) source: Source,
}

impl std::fmt::Debug for PackageReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageReader").field("id", &self.id).finish_non_exhaustive()
    }
}

impl PackageReader {
    /// The next piece of the content, or `None` at the end. A missing or altered chunk is an
    /// error (the download stops rather than deliver a damaged package).
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>> {
        match &mut self.source {
            Source::Whole(content) => Ok(content.take()),
            Source::Chunks { key, chunks, next } => {
                if *next >= *chunks {
                    return Ok(None);
                }
                let seq = *next;
                let sealed = {
                    let mut c = self.privacy.hd.db().read().await?;
                    suoja_store::exports::chunk(&mut c, self.privacy.hd.db().blobs(), self.tenant, &self.id, seq).await?
                }
                .ok_or_else(|| PrivacyError::Internal(format!("chunk {seq} of a package is missing")))?;
                let last = seq + 1 == *chunks;
                let plain = open_chunk(key, &self.id, u64::try_from(seq).unwrap_or(0), last, &sealed).map_err(internal)?;
                *next += 1;
                Ok(Some(plain))
            }
        }
    }

    /// The whole content (small packages and tests).
    pub async fn read_all(mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(piece) = self.next().await? {
            out.extend_from_slice(&piece);
        }
        Ok(out)
    }
}
