//! The vault's error enum.

use suoja_core::{ErrorKind, KeyId, TenantId};

/// What went wrong in the vault. Never carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The subject key was destroyed (the data was crypto-shredded).
    #[error("data key {0} has been destroyed")]
    KeyDestroyed(KeyId),
    /// The tenant has no key: it was never created in this vault.
    #[error("tenant {0} has no key in the vault")]
    MissingTenantKey(TenantId),
    /// A ciphertext failed authentication or has the wrong shape.
    #[error("sealed value is corrupt or was sealed under another key")]
    Corrupt,
    /// The root key is not 64 hexadecimal characters.
    #[error("the root key must be 64 hexadecimal characters (32 bytes)")]
    BadRootKey,
    /// The key store failed.
    #[error(transparent)]
    Store(#[from] suoja_store::StoreError),
}

impl VaultError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VaultError::KeyDestroyed(_) => ErrorKind::NotFound,
            VaultError::Store(e) => e.kind(),
            _ => ErrorKind::Internal,
        }
    }
}
