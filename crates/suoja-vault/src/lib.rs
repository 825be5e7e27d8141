//! The key vault: per-subject data keys, wrapped by a tenant key, wrapped by the installation's
//! root key. Personal values are sealed with XChaCha20-Poly1305 under the key of the person they
//! belong to; destroying that key (crypto-shredding) makes every copy unreadable, backups
//! included. Also derives the tenant's keyed hashes: the e-mail blind index and search tokens.
//! It does not decide whose key a value goes under; the services do.

mod error;
mod seal;
pub mod stream;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use suoja_core::{KeyId, TenantId, Timestamp, random};
use suoja_store::Conn;
use zeroize::Zeroizing;

pub use error::VaultError;
pub use seal::key_id_of;

/// A 256-bit secret key, wiped from memory when dropped.
pub type SecretKey = Zeroizing<[u8; 32]>;

/// Result of a vault call.
pub type Result<T> = std::result::Result<T, VaultError>;

/// Unwrapped subject keys by tenant and id, each with the tenant generation it was read under.
type SubjectCache = HashMap<(TenantId, KeyId), (SecretKey, i64)>;

/// Keys derived from one tenant key, and the key of its privacy ledger's chain.
struct TenantKeys {
    wrap: SecretKey,
    blind: SecretKey,
    search: SecretKey,
    chain: SecretKey,
}

/// A tenant's keys as they leave one region for another (see [`Vault::carry_tenant`]): the
/// tenant key and the key of its privacy ledger's chain, unwrapped. Never printed, wiped when
/// dropped.
pub struct Carried {
    key: SecretKey,
    chain: SecretKey,
}

impl std::fmt::Debug for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Carried([keys redacted])")
    }
}

/// The vault. Cheap to clone; caches unwrapped keys in memory.
#[derive(Clone)]
pub struct Vault {
    root: Arc<SecretKey>,
    tenants: Arc<Mutex<HashMap<TenantId, Arc<TenantKeys>>>>,
    /// Unwrapped subject keys, with the tenant generation they were read under.
    subjects: Arc<Mutex<SubjectCache>>,
    /// Each tenant's key generation as last read from the database, and when.
    generations: Arc<Mutex<HashMap<TenantId, (i64, Instant)>>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([keys redacted])")
    }
}

const SUBJECT_CACHE_MAX: usize = 100_000;

/// How long a tenant's key generation, once read, is trusted before it is read again. A key
/// destroyed on another node (or by another process) is used here at most this long after the
/// destruction was committed; reading the generation before every use would cost a database
/// round trip per decrypted value (ten thousand for one large export).
pub const GENERATION_FRESH: Duration = Duration::from_millis(20);

fn derive(key: &[u8; 32], label: &[u8]) -> SecretKey {
    let mut out = Zeroizing::new([0u8; 32]);
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(label);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

impl Vault {
    /// A vault over `root`, the installation's root key (from a key file or the environment;
    /// never from the code).
    pub fn new(root: [u8; 32]) -> Self {
        Self {
            root: Arc::new(Zeroizing::new(root)),
            tenants: Arc::default(),
            subjects: Arc::default(),
            generations: Arc::default(),
        }
    }

    /// Parses a root key written as 64 hexadecimal characters.
    pub fn parse_root_key(text: &str) -> Result<[u8; 32]> {
        let bytes = hex::decode(text.trim()).map_err(|_| VaultError::BadRootKey)?;
        bytes.try_into().map_err(|_| VaultError::BadRootKey)
    }

    /// A fresh random root key, hex-encoded, for a new installation's key file.
    pub fn generate_root_key() -> String {
        hex::encode(random::bytes::<32>())
    }

    /// Creates the key of a new tenant.
    pub async fn create_tenant(&self, c: &mut Conn, tenant: TenantId, now: Timestamp) -> Result<()> {
        let key = Zeroizing::new(random::bytes::<32>());
        let wrapped = seal::seal(&self.root, KeyId(0), &tenant_aad(tenant), key.as_ref())?;
        suoja_store::keys::insert_tenant_key(c, tenant, &wrapped, now).await?;
        Ok(())
    }

    async fn tenant_keys(&self, c: &mut Conn, tenant: TenantId) -> Result<Arc<TenantKeys>> {
        if let Some(k) = self.lock_tenants().get(&tenant) {
            return Ok(k.clone());
        }
        let (key, chain) = self.open_tenant(c, tenant).await?;
        let keys = Arc::new(TenantKeys {
            wrap: derive(&key, b"suoja/wrap/v1"),
            blind: derive(&key, b"suoja/blind-index/v1"),
            search: derive(&key, b"suoja/search/v1"),
            chain,
        });
        self.lock_tenants().insert(tenant, keys.clone());
        Ok(keys)
    }

    /// The tenant key and the ledger chain's key, unwrapped under this vault's root key: the
    /// chain's key as carried in from another region when the tenant moved here, else derived
    /// from the root key.
    async fn open_tenant(&self, c: &mut Conn, tenant: TenantId) -> Result<(SecretKey, SecretKey)> {
        let (wrapped, chain) = suoja_store::keys::tenant_key(c, tenant).await?.ok_or(VaultError::MissingTenantKey(tenant))?;
        let key = Zeroizing::new(seal::open_key(&self.root, &tenant_aad(tenant), &wrapped)?);
        let chain = match chain {
            Some(sealed) => Zeroizing::new(seal::open_key(&self.root, &chain_aad(tenant), &sealed)?),
            None => self.root_chain_key(tenant),
        };
        Ok((key, chain))
    }

    /// The ledger chain's key of a tenant that never moved: derived from the root key.
    fn root_chain_key(&self, tenant: TenantId) -> SecretKey {
        let mut label = b"suoja ledger v1".to_vec();
        label.extend_from_slice(&tenant.0.to_be_bytes());
        derive(&self.root, &label)
    }

    /// A tenant's keys, unwrapped, to be taken to another region ([`Vault::adopt_tenant`] of
    /// that region's vault wraps them under its root key): its data stays readable there and
    /// its privacy ledger keeps every hash it had (certificates name them).
    pub async fn carry_tenant(&self, c: &mut Conn, tenant: TenantId) -> Result<Carried> {
        let (key, chain) = self.open_tenant(c, tenant).await?;
        Ok(Carried { key, chain })
    }

    /// Wraps `carried` under this vault's root key as `tenant`'s keys in `c` (whose rows were
    /// copied from the region the tenant comes from, with the other region's wrapping).
    pub async fn adopt_tenant(&self, c: &mut Conn, tenant: TenantId, carried: &Carried) -> Result<()> {
        let wrapped = seal::seal(&self.root, KeyId(0), &tenant_aad(tenant), carried.key.as_ref())?;
        let chain = seal::seal(&self.root, KeyId(0), &chain_aad(tenant), carried.chain.as_ref())?;
        if !suoja_store::keys::rewrap_tenant_key(c, tenant, &wrapped, &chain).await? {
            return Err(VaultError::MissingTenantKey(tenant));
        }
        self.lock_tenants().remove(&tenant);
        self.forget_cached(tenant);
        Ok(())
    }

    /// Whether `tenant`'s keys in `c`, unwrapped under this vault's root key, are `carried`.
    pub async fn holds_carried(&self, c: &mut Conn, tenant: TenantId, carried: &Carried) -> Result<bool> {
        let (key, chain) = self.open_tenant(c, tenant).await?;
        Ok(key.as_ref() == carried.key.as_ref() && chain.as_ref() == carried.chain.as_ref())
    }

    /// Creates a data key for a new subject (a person) and returns its id. The wrapped key binds
    /// its id, so it opens only from its own row.
    pub async fn create_subject_key(&self, c: &mut Conn, tenant: TenantId, kind: &str, now: Timestamp) -> Result<KeyId> {
        let tk = self.tenant_keys(c, tenant).await?;
        let key = Zeroizing::new(random::bytes::<32>());
        let id = suoja_store::keys::insert_subject_key(c, tenant, kind, now).await?;
        let wrapped = seal::seal(&tk.wrap, id, &tenant_aad(tenant), key.as_ref())?;
        suoja_store::keys::set_subject_key(c, tenant, id, &wrapped).await?;
        let generation = self.generation(c, tenant).await?;
        self.cache_subject(tenant, id, key, generation);
        Ok(id)
    }

    /// The tenant's key generation, read again from the database once the one read last is
    /// older than [`GENERATION_FRESH`].
    async fn generation(&self, c: &mut Conn, tenant: TenantId) -> Result<i64> {
        if let Some((g, at)) = self.lock_generations().get(&tenant)
            && at.elapsed() < GENERATION_FRESH
        {
            return Ok(*g);
        }
        let g = suoja_store::keys::generation(c, tenant).await?;
        self.lock_generations().insert(tenant, (g, Instant::now()));
        Ok(g)
    }

    /// A subject key. A cached one is used only while the tenant's generation is the one it was
    /// read under: a key destroyed by any node (or process) is never used again by this one.
    async fn subject_key(&self, c: &mut Conn, tenant: TenantId, id: KeyId) -> Result<SecretKey> {
        let generation = self.generation(c, tenant).await?;
        if let Some((k, g)) = self.lock_subjects().get(&(tenant, id))
            && *g == generation
        {
            return Ok(k.clone());
        }
        let tk = self.tenant_keys(c, tenant).await?;
        let wrapped = suoja_store::keys::subject_key(c, tenant, id).await?.ok_or(VaultError::KeyDestroyed(id))?;
        if seal::key_id_of(&wrapped) != Some(id) {
            // Wrapped for another row (or before ids were bound and not re-wrapped since).
            return Err(VaultError::Corrupt);
        }
        let key = Zeroizing::new(seal::open_key(&tk.wrap, &tenant_aad(tenant), &wrapped)?);
        self.cache_subject(tenant, id, key.clone(), generation);
        Ok(key)
    }

    fn cache_subject(&self, tenant: TenantId, id: KeyId, key: SecretKey, generation: i64) {
        let mut cache = self.lock_subjects();
        if cache.len() >= SUBJECT_CACHE_MAX {
            cache.clear();
        }
        // Keys read under an older generation may have been destroyed since: let them go.
        cache.retain(|(t, _), (_, g)| *t != tenant || *g == generation);
        cache.insert((tenant, id), (key, generation));
    }

    /// Re-wraps subject keys wrapped before ids were bound in (schema v8), a batch at a time;
    /// returns how many. Run at start-up, before keys are used.
    pub async fn bind_key_ids(&self, c: &mut Conn) -> Result<u64> {
        let mut n = 0;
        loop {
            let batch = suoja_store::keys::unbound_subject_keys(c, 500).await?;
            if batch.is_empty() {
                return Ok(n);
            }
            for (tenant, id, wrapped) in batch {
                let tk = self.tenant_keys(c, tenant).await?;
                let key = Zeroizing::new(seal::open_key(&tk.wrap, &tenant_aad(tenant), &wrapped)?);
                let bound = seal::seal(&tk.wrap, id, &tenant_aad(tenant), key.as_ref())?;
                suoja_store::keys::set_subject_key(c, tenant, id, &bound).await?;
                n += 1;
            }
        }
    }

    /// Seals `plaintext` under the subject key `key`.
    pub async fn encrypt(&self, c: &mut Conn, tenant: TenantId, key: KeyId, plaintext: &[u8]) -> Result<Vec<u8>> {
        let k = self.subject_key(c, tenant, key).await?;
        seal::seal(&k, key, &tenant_aad(tenant), plaintext)
    }

    /// Seals a string.
    pub async fn encrypt_str(&self, c: &mut Conn, tenant: TenantId, key: KeyId, plaintext: &str) -> Result<Vec<u8>> {
        self.encrypt(c, tenant, key, plaintext.as_bytes()).await
    }

    /// Opens a value sealed by [`Vault::encrypt`]. Fails with [`VaultError::KeyDestroyed`] once
    /// the subject's key has been shredded.
    pub async fn decrypt(&self, c: &mut Conn, tenant: TenantId, sealed: &[u8]) -> Result<Vec<u8>> {
        let id = seal::key_id_of(sealed).ok_or(VaultError::Corrupt)?;
        let k = self.subject_key(c, tenant, id).await?;
        seal::open(&k, &tenant_aad(tenant), sealed)
    }

    /// Opens a sealed string.
    pub async fn decrypt_str(&self, c: &mut Conn, tenant: TenantId, sealed: &[u8]) -> Result<String> {
        String::from_utf8(self.decrypt(c, tenant, sealed).await?).map_err(|_| VaultError::Corrupt)
    }

    /// Destroys a subject key: everything sealed under it becomes unreadable for good.
    pub async fn destroy_subject_key(&self, c: &mut Conn, tenant: TenantId, id: KeyId) -> Result<bool> {
        self.lock_subjects().remove(&(tenant, id));
        // The generation it bumps makes every other node drop its copy once it reads the
        // generation again; this node reads it afresh at its next use.
        let done = suoja_store::keys::destroy_subject_key(c, tenant, id).await?;
        self.lock_generations().remove(&tenant);
        Ok(done)
    }

    /// Forgets cached keys of a tenant (after another node may have destroyed some).
    pub fn forget_cached(&self, tenant: TenantId) {
        self.lock_subjects().retain(|(t, _), _| *t != tenant);
        self.lock_generations().remove(&tenant);
    }

    /// The blind index of a normalised identifier (lower-cased e-mail): a keyed hash, so the
    /// database can find a person by e-mail without holding the address.
    pub async fn blind_index(&self, c: &mut Conn, tenant: TenantId, normalized: &str) -> Result<Vec<u8>> {
        let tk = self.tenant_keys(c, tenant).await?;
        let mut mac = <Hmac<Sha256>>::new_from_slice(tk.blind.as_ref()).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(normalized.as_bytes());
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// The keyed chaining function of one tenant's privacy ledger. Its key is derived from the
    /// root key, or (for a tenant that moved here from another region) carried with the tenant
    /// and sealed under the root key: never readable from the database alone, so whoever can
    /// edit the database cannot re-chain it.
    pub async fn ledger_chain(&self, c: &mut Conn, tenant: TenantId) -> Result<LedgerChain> {
        let tk = self.tenant_keys(c, tenant).await?;
        Ok(LedgerChain { key: tk.chain.clone() })
    }

    /// The key a backup's files are sealed under: derived from the root key and the backup's
    /// id, so a backup is readable only with this installation's root key.
    pub fn backup_key(&self, backup_id: &str) -> stream::FileKey {
        let mut label = b"suoja backup v1 ".to_vec();
        label.extend_from_slice(backup_id.as_bytes());
        stream::FileKey::new(derive(&self.root, &label))
    }

    /// The authentication tag of a backup's manifest (HMAC under a key derived from the root
    /// key and the backup's id).
    pub fn backup_tag(&self, backup_id: &str, manifest: &[u8]) -> Vec<u8> {
        let mut label = b"suoja backup manifest v1 ".to_vec();
        label.extend_from_slice(backup_id.as_bytes());
        let key = derive(&self.root, &label);
        let mut mac = <Hmac<Sha256>>::new_from_slice(key.as_ref()).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(manifest);
        mac.finalize().into_bytes().to_vec()
    }

    /// A webhook's signing secret: derived from the root key, the tenant, the webhook and its
    /// salt, so it is never stored and a new salt makes a new one.
    pub fn webhook_secret(&self, tenant: TenantId, webhook: i64, salt: &[u8]) -> String {
        let mut label = b"suoja webhook signing v1 ".to_vec();
        label.extend_from_slice(&tenant.0.to_be_bytes());
        label.extend_from_slice(&webhook.to_be_bytes());
        label.extend_from_slice(salt);
        let key = derive(&self.root, &label);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_ref())
    }

    /// A hasher for search tokens of one tenant.
    pub async fn search_hasher(&self, c: &mut Conn, tenant: TenantId) -> Result<TokenHasher> {
        let tk = self.tenant_keys(c, tenant).await?;
        Ok(TokenHasher::new(&tk.search))
    }

    fn lock_tenants(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Arc<TenantKeys>>> {
        self.tenants.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn lock_generations(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (i64, Instant)>> {
        self.generations.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn lock_subjects(&self) -> std::sync::MutexGuard<'_, SubjectCache> {
        self.subjects.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Chains privacy-ledger entries: `hash = HMAC(key, prev_hash || entry)`.
pub struct LedgerChain {
    key: SecretKey,
}

impl LedgerChain {
    /// The hash of an entry whose canonical bytes are `body`, following `prev`.
    pub fn hash(&self, prev: &[u8], body: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.key.as_ref()).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(prev);
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

/// Turns normalised search terms into opaque 64-bit tokens for one tenant.
///
/// Holds the HMAC already keyed (the key's two padded blocks hashed once), so a token costs
/// the hashing of the term alone; the keyed state is wiped when the hasher is dropped.
pub struct TokenHasher {
    keyed: Hmac<Sha256>,
}

// The keyed state is as good as the key: it is wiped only if SHA-256's state wipes itself on
// drop (`sha2`'s `zeroize` feature, which also has the HMAC's buffer wiped). This fails to
// compile if that is lost.
const _: () = {
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    let _ = wiped_on_drop::<Sha256>;
};

impl TokenHasher {
    fn new(key: &SecretKey) -> Self {
        Self {
            keyed: <Hmac<Sha256>>::new_from_slice(key.as_ref()).unwrap_or_else(|_| unreachable!("HMAC takes any key length")),
        }
    }

    /// The token of a term.
    pub fn token(&self, term: &str) -> i64 {
        let mut mac = self.keyed.clone();
        mac.update(term.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        for (to, from) in first.iter_mut().zip(out) {
            *to = from;
        }
        i64::from_be_bytes(first)
    }
}

fn tenant_aad(tenant: TenantId) -> [u8; 8] {
    tenant.0.to_be_bytes()
}

/// What a carried ledger chain key is sealed with (apart from the tenant key's own).
fn chain_aad(tenant: TenantId) -> Vec<u8> {
    let mut aad = b"suoja ledger chain key v1 ".to_vec();
    aad.extend_from_slice(&tenant.0.to_be_bytes());
    aad
}
