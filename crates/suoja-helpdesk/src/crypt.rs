//! Sealing and opening personal values with the vault, in the shapes services use.

use serde_json::Value;
use suoja_core::{KeyId, Personal, TenantId};
use suoja_store::Conn;
use suoja_vault::Vault;

use crate::{HelpdeskError, Result};

pub async fn seal(v: &Vault, c: &mut Conn, t: TenantId, k: KeyId, s: &Personal<String>) -> Result<Vec<u8>> {
    Ok(v.encrypt_str(c, t, k, s.expose()).await?)
}

pub async fn seal_opt(v: &Vault, c: &mut Conn, t: TenantId, k: KeyId, s: Option<&Personal<String>>) -> Result<Option<Vec<u8>>> {
    match s {
        Some(s) => Ok(Some(seal(v, c, t, k, s).await?)),
        None => Ok(None),
    }
}

pub async fn seal_json<T: serde::Serialize>(v: &Vault, c: &mut Conn, t: TenantId, k: KeyId, value: &T) -> Result<Vec<u8>> {
    let bytes = serde_json::to_vec(value).map_err(|e| HelpdeskError::Internal(e.to_string()))?;
    Ok(v.encrypt(c, t, k, &bytes).await?)
}

pub async fn open(v: &Vault, c: &mut Conn, t: TenantId, sealed: &[u8]) -> Result<Personal<String>> {
    Ok(Personal::new(v.decrypt_str(c, t, sealed).await?))
}

pub async fn open_opt(v: &Vault, c: &mut Conn, t: TenantId, sealed: Option<&[u8]>) -> Result<Option<Personal<String>>> {
    match sealed {
        Some(s) => Ok(Some(open(v, c, t, s).await?)),
        None => Ok(None),
    }
}

pub async fn open_json<T: serde::de::DeserializeOwned>(v: &Vault, c: &mut Conn, t: TenantId, sealed: &[u8]) -> Result<T> {
    let bytes = v.decrypt(c, t, sealed).await?;
    serde_json::from_slice(&bytes).map_err(|e| HelpdeskError::Internal(e.to_string()))
}

pub async fn open_json_opt(v: &Vault, c: &mut Conn, t: TenantId, sealed: Option<&[u8]>) -> Result<Option<Value>> {
    match sealed {
        Some(s) => Ok(Some(open_json(v, c, t, s).await?)),
        None => Ok(None),
    }
}
