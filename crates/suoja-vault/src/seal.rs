//! The sealed-value format: `version (1) | key id (8, big endian) | nonce (24) | ciphertext+tag`.
//! The key id travels with the value so any reader knows which key opens it; the tenant id is
//! bound as associated data so a value copied into another tenant does not open.

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use suoja_core::{KeyId, random};

use crate::{Result, VaultError};

const VERSION: u8 = 1;
const HEADER: usize = 1 + 8 + 24;

pub(crate) fn seal(key: &[u8; 32], id: KeyId, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let nonce_bytes = random::bytes::<24>();
    let nonce = XNonce::from(nonce_bytes);
    let mut full_aad = Vec::with_capacity(aad.len() + 9);
    full_aad.push(VERSION);
    full_aad.extend_from_slice(&id.0.to_be_bytes());
    full_aad.extend_from_slice(aad);
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &full_aad,
            },
        )
        .map_err(|_| VaultError::Corrupt)?;
    let mut out = Vec::with_capacity(HEADER + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&id.0.to_be_bytes());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub(crate) fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < HEADER + 16 || sealed.first() != Some(&VERSION) {
        return Err(VaultError::Corrupt);
    }
    let (header, ct) = sealed.split_at(HEADER);
    let (meta, nonce_bytes) = header.split_at(9);
    let nonce_arr: [u8; 24] = nonce_bytes.try_into().map_err(|_| VaultError::Corrupt)?;
    let mut full_aad = Vec::with_capacity(aad.len() + 9);
    full_aad.extend_from_slice(meta);
    full_aad.extend_from_slice(aad);
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    cipher
        .decrypt(&XNonce::from(nonce_arr), Payload { msg: ct, aad: &full_aad })
        .map_err(|_| VaultError::Corrupt)
}

pub(crate) fn open_key(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<[u8; 32]> {
    let bytes = zeroize::Zeroizing::new(open(key, aad, sealed)?);
    bytes.as_slice().try_into().map_err(|_| VaultError::Corrupt)
}

/// The key id a sealed value names, without opening it.
pub fn key_id_of(sealed: &[u8]) -> Option<KeyId> {
    let id: [u8; 8] = sealed.get(1..9)?.try_into().ok()?;
    Some(KeyId(i64::from_be_bytes(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = [7u8; 32];
        let sealed = seal(&key, KeyId(42), b"t1", b"Zo\xc3\xab").unwrap();
        assert_eq!(key_id_of(&sealed), Some(KeyId(42)));
        assert_eq!(open(&key, b"t1", &sealed).unwrap(), b"Zo\xc3\xab");
        assert!(open(&key, b"t2", &sealed).is_err(), "other tenant");
        assert!(open(&[8u8; 32], b"t1", &sealed).is_err(), "other key");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(open(&key, b"t1", &bad).is_err(), "tampered");
        let mut relabelled = sealed;
        relabelled[8] ^= 1;
        assert!(open(&key, b"t1", &relabelled).is_err(), "key id is authenticated");
    }
}
