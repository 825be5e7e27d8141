//! Encrypted files for backups and export packages: a file is sealed in chunks of 1 MiB with XChaCha20-Poly1305
//! under a key derived from the root key and the backup's id. Each chunk's nonce carries a random
//! file prefix and the chunk's number, and its associated data names the file's role, the chunk
//! number and whether it is the last, so chunks cannot be reordered, dropped, swapped between
//! files or cut off at the end without the reader noticing.
//!
//! Layout: `magic "SUOJAENC" | version (1) | file prefix (16)` then per chunk
//! `ciphertext length (4, big endian) | ciphertext+tag`. The last chunk may be empty.
//!
//! Export packages are kept as separate chunks in the database rather than one file; each is
//! sealed alone ([`seal_chunk`]) under the package's own random key ([`FileKey::generate`]),
//! which is itself sealed under the person's key.

use std::io::{Read, Write};

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use suoja_core::random;
use zeroize::Zeroizing;

const MAGIC: &[u8; 8] = b"SUOJAENC";
const VERSION: u8 = 1;
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 1 << 20;

/// A key for one backup's files.
pub struct FileKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey([redacted])")
    }
}

impl FileKey {
    pub(crate) fn new(key: Zeroizing<[u8; 32]>) -> Self {
        Self(key)
    }

    /// A new random key, and its bytes (to be sealed under another key for keeping).
    pub fn generate() -> (Self, Zeroizing<[u8; 32]>) {
        let raw = Zeroizing::new(random::bytes::<32>());
        (Self(raw.clone()), raw)
    }

    /// The key from the bytes [`FileKey::generate`] gave; `None` unless they are 32.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(arr)))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.0).into())
    }
}

fn nonce(prefix: &[u8; 16], index: u64) -> XNonce {
    let mut n = [0u8; 24];
    n[..16].copy_from_slice(prefix);
    n[16..].copy_from_slice(&index.to_be_bytes());
    XNonce::from(n)
}

fn aad(role: &str, index: u64, last: bool) -> Vec<u8> {
    let mut a = role.as_bytes().to_vec();
    a.push(0);
    a.extend_from_slice(&index.to_be_bytes());
    a.push(u8::from(last));
    a
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(rest) = buf.get_mut(n..) else { break };
        match r.read(rest)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Errors of reading or writing an encrypted file.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file is not one, was cut short, altered, or sealed under another key.
    #[error("the encrypted file is damaged, truncated or was sealed under another key (chunk {0})")]
    Damaged(u64),
}

/// Seals one chunk of a chunked file kept elsewhere (an export package in the database): the
/// chunk's number and whether it is the last are bound into it, as in a sealed file. Only for
/// keys used for one file ([`FileKey::generate`]): the nonce is the chunk's number.
pub fn seal_chunk(key: &FileKey, role: &str, index: u64, last: bool, plain: &[u8]) -> Result<Vec<u8>, StreamError> {
    key.cipher()
        .encrypt(
            &nonce(&[0u8; 16], index),
            Payload {
                msg: plain,
                aad: &aad(role, index, last),
            },
        )
        .map_err(|_| StreamError::Damaged(index))
}

/// Opens a chunk [`seal_chunk`] sealed; fails unless `index` and `last` are the ones it was
/// sealed with (so chunks cannot be reordered, and a file cut short is noticed).
pub fn open_chunk(key: &FileKey, role: &str, index: u64, last: bool, sealed: &[u8]) -> Result<Vec<u8>, StreamError> {
    key.cipher()
        .decrypt(
            &nonce(&[0u8; 16], index),
            Payload {
                msg: sealed,
                aad: &aad(role, index, last),
            },
        )
        .map_err(|_| StreamError::Damaged(index))
}

/// Seals everything `src` yields into `dst` under `role`; calls `progress` with the plaintext
/// bytes done. Returns the plaintext length.
pub fn seal(key: &FileKey, role: &str, src: &mut impl Read, dst: &mut impl Write, progress: &mut dyn FnMut(u64)) -> Result<u64, StreamError> {
    let cipher = key.cipher();
    let prefix = random::bytes::<16>();
    dst.write_all(MAGIC)?;
    dst.write_all(&[VERSION])?;
    dst.write_all(&prefix)?;
    let mut buf = vec![0u8; CHUNK];
    let mut next = vec![0u8; CHUNK];
    let mut n = read_full(src, &mut buf)?;
    let mut index = 0u64;
    let mut total = 0u64;
    loop {
        let m = if n == CHUNK { read_full(src, &mut next)? } else { 0 };
        let last = m == 0;
        let ct = cipher
            .encrypt(
                &nonce(&prefix, index),
                Payload {
                    msg: buf.get(..n).unwrap_or(&buf),
                    aad: &aad(role, index, last),
                },
            )
            .map_err(|_| StreamError::Damaged(index))?;
        let len = u32::try_from(ct.len()).map_err(|_| StreamError::Damaged(index))?;
        dst.write_all(&len.to_be_bytes())?;
        dst.write_all(&ct)?;
        total += n as u64;
        progress(total);
        if last {
            break;
        }
        std::mem::swap(&mut buf, &mut next);
        n = m;
        index += 1;
    }
    dst.flush()?;
    Ok(total)
}

/// Opens what [`seal`] wrote, writing the plaintext to `dst`. Fails on any damage, including a
/// missing last chunk; `dst` may then hold a prefix, so write it somewhere disposable first.
pub fn open(key: &FileKey, role: &str, src: &mut impl Read, dst: &mut impl Write, progress: &mut dyn FnMut(u64)) -> Result<u64, StreamError> {
    let cipher = key.cipher();
    let mut head = [0u8; 25];
    if read_full(src, &mut head)? != head.len() || &head[..8] != MAGIC || head[8] != VERSION {
        return Err(StreamError::Damaged(0));
    }
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&head[9..25]);
    let mut index = 0u64;
    let mut total = 0u64;
    let mut ct = Vec::with_capacity(CHUNK + 16);
    loop {
        let mut len = [0u8; 4];
        if read_full(src, &mut len)? != 4 {
            return Err(StreamError::Damaged(index));
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > CHUNK + 16 {
            return Err(StreamError::Damaged(index));
        }
        ct.resize(len, 0);
        if read_full(src, &mut ct)? != len {
            return Err(StreamError::Damaged(index));
        }
        let n = nonce(&prefix, index);
        let (pt, last) = match cipher.decrypt(
            &n,
            Payload {
                msg: &ct,
                aad: &aad(role, index, false),
            },
        ) {
            Ok(pt) => (pt, false),
            Err(_) => (
                cipher
                    .decrypt(
                        &n,
                        Payload {
                            msg: &ct,
                            aad: &aad(role, index, true),
                        },
                    )
                    .map_err(|_| StreamError::Damaged(index))?,
                true,
            ),
        };
        dst.write_all(&pt)?;
        total += pt.len() as u64;
        progress(total);
        if last {
            let mut probe = [0u8; 1];
            if read_full(src, &mut probe)? != 0 {
                return Err(StreamError::Damaged(index + 1));
            }
            break;
        }
        index += 1;
    }
    dst.flush()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot go on should panic")]
    use super::*;

    fn key(b: u8) -> FileKey {
        FileKey::new(Zeroizing::new([b; 32]))
    }

    #[test]
    fn chunks_open_only_in_their_place() {
        let (k, raw) = FileKey::generate();
        let a = seal_chunk(&k, "pkg", 0, false, b"first").unwrap();
        let b = seal_chunk(&k, "pkg", 1, true, b"last").unwrap();
        let k2 = FileKey::from_bytes(raw.as_slice()).unwrap();
        assert_eq!(open_chunk(&k2, "pkg", 0, false, &a).unwrap(), b"first");
        assert_eq!(open_chunk(&k2, "pkg", 1, true, &b).unwrap(), b"last");
        assert!(open_chunk(&k2, "pkg", 1, true, &a).is_err(), "moved");
        assert!(open_chunk(&k2, "pkg", 0, true, &a).is_err(), "made the last");
        assert!(open_chunk(&k2, "other", 0, false, &a).is_err(), "another file's");
        assert!(open_chunk(&FileKey::generate().0, "pkg", 0, false, &a).is_err(), "another key");
        assert!(FileKey::from_bytes(&[0u8; 31]).is_none());
    }

    fn roundtrip(len: usize) {
        let data: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
        let mut sealed = Vec::new();
        seal(&key(1), "data", &mut data.as_slice(), &mut sealed, &mut |_| {}).unwrap();
        let mut out = Vec::new();
        assert_eq!(open(&key(1), "data", &mut sealed.as_slice(), &mut out, &mut |_| {}).unwrap(), len as u64);
        assert_eq!(out, data);
    }

    #[test]
    fn round_trips_at_chunk_edges() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK] {
            roundtrip(len);
        }
    }

    #[test]
    fn damage_of_any_kind_is_refused() {
        let data = vec![7u8; CHUNK + 100];
        let mut sealed = Vec::new();
        seal(&key(1), "data", &mut data.as_slice(), &mut sealed, &mut |_| {}).unwrap();
        let fails = |bytes: &[u8], k: &FileKey, role: &str| open(k, role, &mut &bytes[..], &mut Vec::new(), &mut |_| {}).is_err();
        assert!(fails(&sealed, &key(2), "data"), "another key");
        assert!(fails(&sealed, &key(1), "keys"), "another role");
        assert!(fails(&sealed[..sealed.len() - 1], &key(1), "data"), "cut by a byte");
        let first_chunk = 25 + 4 + CHUNK + 16;
        assert!(fails(&sealed[..first_chunk], &key(1), "data"), "the last chunk dropped");
        let mut flipped = sealed.clone();
        flipped[100] ^= 1;
        assert!(fails(&flipped, &key(1), "data"), "a flipped bit");
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(fails(&longer, &key(1), "data"), "trailing bytes");
        assert!(fails(b"not a backup", &key(1), "data"));
    }
}
