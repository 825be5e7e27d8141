//! Settings: built-in defaults, then a TOML file, then `SUOJA_*` environment variables. Invalid
//! values abort start-up with the setting's name. Secrets (the root key) come from a key file or
//! the environment, never from this file's defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("config file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A setting has an invalid value.
    #[error("setting {name} is invalid: {message}")]
    Invalid {
        /// The setting (TOML key and environment variable).
        name: &'static str,
        /// Why.
        message: String,
    },
}

/// Where one region keeps its tenants' data (an entry of `regions`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Region {
    /// The region's database (`postgres://…`, or `sqlite://…` for a region on one machine).
    pub database_url: String,
    /// The region's blob store (`file:///…` or `s3://…`; see `blob_url`).
    pub blob_url: Option<String>,
    /// The region's root key file (default: this process's `root_key_file`).
    pub root_key_file: Option<PathBuf>,
    /// Where people reach the region's nodes (`https://eu.help.example.com`), named when another
    /// region's node refuses one of its tenants.
    pub url: Option<String>,
    /// The region's block of ids (0 to 99): a region on PostgreSQL numbers new records from
    /// `id_block × 2^36`, so no two regions ever give out one id and a tenant keeps its ids (its
    /// tickets' numbers, its API's ids) when it moves between regions. Each region needs its
    /// own; a region on SQLite numbers from 1 (block 0).
    pub id_block: u16,
}

/// The most blocks of ids: every id, and every id derived from one, stays below 2^53, which
/// JavaScript clients read exactly.
pub const ID_BLOCKS: u16 = 100;

/// Every setting.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the SQLite database, the root key file and other local state live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `sqlite://DATA_DIR/suoja.db`.
    pub database_url: Option<String>,
    /// Where files' bytes (attachments, recordings, received mail, export packages) go, sealed: `database`, a local directory
    /// (`file:///abs/path`), or an S3-compatible service (`s3://bucket/prefix`, its endpoint and
    /// credentials from the `AWS_*` environment). Default: `DATA_DIR/blobs` on SQLite (the
    /// installation stays one directory), the database on PostgreSQL (nodes on other machines
    /// share no local directory: give them an `s3://` store).
    pub blob_url: Option<String>,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// File holding the 64-hex-character root key; created on first start when missing.
    pub root_key_file: Option<PathBuf>,
    /// Region this installation stores data in; with `regions`, the region this node serves.
    pub region: String,
    /// Data residency: the regions tenants may be created in (`[regions.eu]`, `[regions.us]`,
    /// …), each with its own database, blob store and root key. A node serves the tenants of its
    /// `region` (whose entry gives its `database_url`, `blob_url` and `root_key_file`) and
    /// refuses every other region's. Empty: one region, the settings above.
    pub regions: BTreeMap<String, Region>,
    /// With `regions`: the routing database every region's nodes share (`sqlite://…` or
    /// `postgres://…`), which holds which region serves each tenant's subdomain and nothing
    /// else.
    pub routing_url: Option<String>,
    /// This node's name, recorded with every read of a person's data it serves, so a breach of
    /// one node can be scoped to what it served (default: the machine's host name). Several
    /// nodes on one database each need their own.
    pub node_name: Option<String>,
    /// API requests per minute per credential.
    pub rate_limit_per_minute: u32,
    /// Requests per minute from one client address, whatever credentials it sends (default: five
    /// times `rate_limit_per_minute`).
    pub rate_limit_per_client_per_minute: Option<u32>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default: the peer
    /// address is the client).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Webhook hosts allowed although they are private (or over plain HTTP): e.g. an internal
    /// integration. Every other endpoint must be HTTPS on a public address.
    pub webhook_allowed_hosts: Vec<String>,
    /// Seconds a client has to send a request's headers (and a kept-alive connection may idle).
    pub header_timeout_secs: u64,
    /// Seconds a client has to start sending a request body (then 16 KiB/s at least).
    pub body_timeout_secs: u64,
    /// Largest JSON request body in bytes.
    pub max_json_bytes: usize,
    /// Database connections (readers on SQLite).
    pub db_max_connections: u32,
    /// SQLite: every commit reaches the disk before it is acknowledged (synced after each
    /// group commit, before its requests are answered), so no acknowledged write is lost to a
    /// power cut; `false` (`NORMAL`) syncs at checkpoints
    /// only (never corrupt, but the last commits can be lost). PostgreSQL follows its own
    /// `synchronous_commit`.
    pub durable_commits: bool,
    /// SQLite: the writer runs its statements in place through SQLite's C interface (`true`,
    /// the default) or hands each to sqlx's worker thread (`false`, kept to compare them).
    pub sqlite_native_writer: bool,
    /// `text` or `json`.
    pub log_format: String,
    /// Seconds in-flight requests get to finish at shutdown.
    pub shutdown_grace_secs: u64,
    /// Seconds a stopping node keeps serving while `/readyz` already says it is going away, so a
    /// load balancer checking it stops sending new requests first (0: stop at once; behind a
    /// balancer, a little more than its check interval).
    pub shutdown_drain_secs: u64,
    /// A bearer token that opens `/metrics` (Prometheus text); unset, `/metrics` is not served.
    pub metrics_token: Option<String>,
    /// A secret that opens the operator's pages (`/operator`: where each tenant lives, creating
    /// a tenant in this node's region); unset, they are not served.
    pub operator_token: Option<String>,
    /// The address people reach this installation at (for links in messages); defaults to
    /// `http://LISTEN`.
    pub public_url: Option<String>,
    /// IANA time zone privacy-request deadlines are counted in.
    pub privacy_time_zone: String,
    /// Public holidays (`YYYY-MM-DD`) a deadline moves past.
    pub privacy_holidays: Vec<String>,
    /// Whether access exports include internal notes about the person by default.
    pub privacy_include_internal_notes: bool,
    /// Whether exports name agents (otherwise `Agent #n`).
    pub privacy_agent_names: bool,
    /// The controller, as named to people in exports and messages.
    pub privacy_controller: String,
    /// Where people reach the controller about their data.
    pub privacy_contact: String,
    /// The supervisory authority people may complain to.
    pub privacy_supervisory_authority: String,
    /// The processor named in the tenants' data processing agreement (whoever runs this
    /// installation for them).
    pub privacy_processor: String,
    /// A data processing agreement template in English (plain text with `{{placeholders}}`;
    /// the one shipped with Suoja when unset).
    pub privacy_dpa_template: Option<PathBuf>,
    /// The same in Finnish.
    pub privacy_dpa_template_fi: Option<PathBuf>,
    /// Hours an export package can be downloaded before it is deleted.
    pub export_ttl_hours: u32,
    /// Export packages a person may start in 24 hours (privacy staff are not counted).
    pub exports_per_person_per_day: u32,
    /// Export packages built at once on one node; the rest wait their turn.
    pub export_builds_at_once: u32,
    /// Megabytes one person may upload in 24 hours.
    pub upload_quota_mb_per_day: u32,
    /// Seconds between runs of the retention scheduler.
    pub retention_interval_secs: u64,
    /// Days a key-vault backup is kept (after this, an erased person's data in older backups
    /// can no longer be read by anyone).
    pub key_backup_days: u32,
    /// The erasure ledger file (completed erasures, replayed after a restore); defaults to
    /// `DATA_DIR/erasure-ledger.jsonl`. Several nodes on one PostgreSQL database share one file
    /// on durable shared storage.
    pub erasure_ledger_file: Option<PathBuf>,
    /// Backup directories that also keep the erasure ledger, written as each erasure or
    /// redaction completes (every directory `suoja backup` writes to is added by itself).
    pub backup_targets: Vec<PathBuf>,
    /// Where mail goes out: `smtp://host:port` (STARTTLS when the server offers it),
    /// `smtps://user:pass@host:465` (TLS from the start). Unset: nothing is sent and no
    /// notifications are queued.
    pub smtp_url: Option<String>,
    /// The address mail comes from and replies go to (`support@example.com`); replies to a
    /// ticket go to `support+<ticket token>@example.com`.
    pub mail_from: Option<String>,
    /// A mailbox Suoja fetches mail from: `imap://user:pass@host:143/INBOX` or `imaps://…:993/…`.
    /// Each message is imported once, then deleted from the mail server (or moved to
    /// `imap_move_to`).
    pub imap_url: Option<String>,
    /// The tenant (subdomain) mail fetched over IMAP belongs to; needed when there are several.
    pub mail_tenant: Option<String>,
    /// The privacy address (`privacy@example.com`): mail to it opens a privacy request for the
    /// sender's address instead of a ticket. It must reach Suoja the same way (same mailbox or
    /// pipe).
    pub mail_privacy_address: Option<String>,
    /// A folder to move imported messages to instead of deleting them.
    pub imap_move_to: Option<String>,
    /// DKIM: a file holding the signing key (RSA in PKCS#1 PEM, or Ed25519 as base64); with
    /// `dkim_selector`, every outgoing message is signed for `mail_from`'s domain.
    pub dkim_key_file: Option<PathBuf>,
    /// DKIM: the selector the public key is published under (`selector._domainkey.domain`).
    pub dkim_selector: Option<String>,
    /// Seconds between looks at the mailbox when the server offers no IDLE.
    pub imap_poll_secs: u64,
    /// Largest message accepted, in bytes (the sender is told why a bigger one was refused).
    pub max_mail_bytes: usize,
    /// Messages one sender may open or add in an hour (mail loops stop here).
    pub mail_per_sender_per_hour: u32,
    /// Whether ticket notifications are sent (when `smtp_url` is set).
    pub mail_notifications: bool,
    /// The DNS server (`address:port`) asked for the SPF, DKIM and DMARC records of mail to the
    /// privacy address; the system's resolver when unset.
    pub mail_dns: Option<SocketAddr>,
    /// Domains tenants may use for their own support and privacy addresses (besides
    /// `mail_from`'s, always allowed): mail goes out From them through the installation's server.
    pub mail_tenant_domains: Vec<String>,
    /// A PEM file of certificate authorities trusted for mail servers' TLS (IMAP and SMTP)
    /// besides the public ones: a company mail server under an internal CA.
    pub mail_tls_ca: Option<PathBuf>,
    /// How many `Received:` headers the site's own delivery adds above the receiving server's
    /// in mail fetched over IMAP (1 when Postfix hands mail to Dovecot over LMTP), passed over
    /// when the sender's address is read for SPF.
    pub mail_local_hops: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("suoja-data"),
            database_url: None,
            blob_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            root_key_file: None,
            region: "eu".into(),
            regions: BTreeMap::new(),
            routing_url: None,
            node_name: None,
            rate_limit_per_minute: 700,
            rate_limit_per_client_per_minute: None,
            trusted_proxies: Vec::new(),
            webhook_allowed_hosts: Vec::new(),
            header_timeout_secs: 20,
            body_timeout_secs: 30,
            max_json_bytes: 1024 * 1024,
            db_max_connections: 8,
            durable_commits: true,
            sqlite_native_writer: true,
            log_format: "text".into(),
            shutdown_grace_secs: 30,
            shutdown_drain_secs: 0,
            metrics_token: None,
            operator_token: None,
            public_url: None,
            privacy_time_zone: "UTC".into(),
            privacy_holidays: Vec::new(),
            privacy_include_internal_notes: true,
            privacy_agent_names: false,
            privacy_controller: "the organisation running this helpdesk".into(),
            privacy_contact: "the privacy contact of the organisation running this helpdesk".into(),
            privacy_supervisory_authority: "the data protection supervisory authority of your country of residence".into(),
            privacy_processor: "the provider of this Suoja installation".into(),
            privacy_dpa_template: None,
            privacy_dpa_template_fi: None,
            export_ttl_hours: 168,
            exports_per_person_per_day: 5,
            export_builds_at_once: 2,
            upload_quota_mb_per_day: 500,
            retention_interval_secs: 60,
            key_backup_days: 7,
            erasure_ledger_file: None,
            backup_targets: Vec::new(),
            smtp_url: None,
            mail_from: None,
            imap_url: None,
            mail_tenant: None,
            mail_privacy_address: None,
            imap_move_to: None,
            dkim_key_file: None,
            dkim_selector: None,
            imap_poll_secs: 30,
            max_mail_bytes: 25 * 1024 * 1024,
            mail_per_sender_per_hour: 30,
            mail_notifications: true,
            mail_dns: None,
            mail_tenant_domains: Vec::new(),
            mail_tls_ca: None,
            mail_local_hops: 0,
        }
    }
}

/// The default configuration file, documented.
pub const DEFAULT_TOML: &str = r#"# Suoja configuration. Every key can also be set as SUOJA_<KEY> in the environment.
# data_dir = "suoja-data"                       # SQLite database, root key file, local state
# database_url = "sqlite://suoja-data/suoja.db" # or postgres://user:pass@host/db
# blob_url: where files go, sealed: "database", "file:///abs/dir" or "s3://bucket/prefix" (AWS_ENDPOINT,
#   AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY from the environment); default: DATA_DIR/blobs
#   on SQLite, the database on PostgreSQL
# listen = "127.0.0.1:8080"
# root_key_file = "suoja-data/root.key"         # or set SUOJA_ROOT_KEY (64 hex characters)
# region = "eu"
#
# Data residency (unset by default): regions, each with its own database, blob store and root key.
#   A node serves the tenants of its `region` and refuses (421) the others'; `suoja init --region us`
#   creates a tenant in one; the routing database holds subdomain -> region and nothing else.
# routing_url: e.g. postgres://suoja@db.example/suoja_routing (required with regions)
# [regions.eu]: database_url (postgres://... or sqlite://...), blob_url (file:///... or s3://..., required),
#   root_key_file (default: root_key_file above), url (e.g. https://eu.help.example.com),
#   id_block (0-99, distinct for each region, SQLite's being 0: its ids start at id_block x 2^36, so
#   a tenant keeps its ids when `suoja tenant move` takes it to another region)
#
# node_name: this node's name in the consultation log, e.g. "help-1" (default: the host name;
#   several nodes on one database each need their own)
# rate_limit_per_minute = 700                  # per credential (the account it names)
# rate_limit_per_client_per_minute = 3500     # per client address (by default five times the above)
# trusted_proxies = []                          # e.g. ["127.0.0.1"]: proxies whose X-Forwarded-For names the client
# webhook_allowed_hosts = []                    # e.g. ["crm.internal"]: reachable although private, http allowed
# header_timeout_secs = 20                      # to send request headers; also how long an idle connection stays
# body_timeout_secs = 30                        # to send a body (then at least 16 KiB/s)
# max_json_bytes = 1048576
# db_max_connections = 8
# durable_commits = true                        # SQLite: sync every commit (false: at checkpoints only)
# sqlite_native_writer = true                   # SQLite: writer statements in place (false: through sqlx's thread)
# log_format = "text"                           # or "json"
# shutdown_grace_secs = 30
# shutdown_drain_secs = 0                       # behind a load balancer: /readyz fails this long before stopping
# metrics_token: a bearer token (at least 16 characters) that opens /metrics for Prometheus
# operator_token: a secret (at least 32 characters) that opens the operator's pages at
#   /operator (tenants and their regions; creating a tenant); unset, they are not served
# public_url: where people reach Suoja, for links in messages (default http://LISTEN),
#   for example https://help.example.com
#
# Privacy requests and exports
# privacy_time_zone = "UTC"                     # deadlines are counted in this calendar
# privacy_holidays = []                         # e.g. ["2026-12-24", "2026-12-25"]
# privacy_include_internal_notes = true         # exports include internal notes about the person
# privacy_agent_names = false                   # exports show agents as "Agent #n"
# privacy_controller = "the organisation running this helpdesk"
# privacy_contact = "the privacy contact of the organisation running this helpdesk"
# privacy_supervisory_authority = "the data protection supervisory authority of your country of residence"
# privacy_processor = "the provider of this Suoja installation"   # named in the data processing agreement
# privacy_dpa_template, privacy_dpa_template_fi: the operator's data processing agreement, in
#   English and Finnish (both or neither; plain text with {{controller.name}}, {{annex.measures}}, …
#   as README describes); Suoja's own text when unset
# export_ttl_hours = 168                        # export packages are deleted after this
# exports_per_person_per_day = 5                # packages a person may start in 24 hours
# export_builds_at_once = 2                     # packages built at once on this node
# upload_quota_mb_per_day = 500                 # what one person may upload in 24 hours
#
# Retention and backups
# retention_interval_secs = 60                  # how often retention policies are applied
# key_backup_days = 7                           # key-vault backups are deleted after this
# erasure_ledger_file = "suoja-data/erasure-ledger.jsonl"  # completed erasures, replayed after a restore
# backup_targets = []                           # backup directories that also keep the ledger (`suoja backup --to` adds its own)
#
# E-mail (nothing is sent or fetched unless these are set; unset by default)
# mail_from: the support address, e.g. support@example.com; replies come back to support+<ticket token>@example.com
# smtp_url: e.g. smtp://127.0.0.1:25 (STARTTLS when offered; ?tls=none or ?tls=starttls) or smtps://user:pass@host:465
# imap_url: e.g. imaps://user:pass@host:993/INBOX; fetched, imported once, then deleted from the server
# mail_tenant: the tenant (subdomain) fetched or piped mail belongs to, when there are several
# mail_privacy_address: e.g. privacy@example.com; mail to it opens a privacy request, not a ticket
# imap_move_to: a folder imported mail is moved to instead of being deleted
# dkim_key_file: a DKIM signing key (RSA PKCS#1 PEM or Ed25519 base64); with dkim_selector, outgoing mail is signed
# dkim_selector: e.g. suoja (the key is published at suoja._domainkey.<mail_from's domain>)
# imap_poll_secs = 30                           # between looks at the mailbox
# max_mail_bytes = 26214400                     # larger messages are refused (the sender is told)
# mail_per_sender_per_hour = 30                 # more from one sender is refused (stops mail loops)
# mail_notifications = true                     # requesters, CCs and assignees are told of changes
# mail_tenant_domains = []                      # e.g. ["acme.example"]: domains tenants may use for their own addresses (mail_from's always)
# mail_dns: e.g. 127.0.0.1:53; the DNS server asked for SPF, DKIM and DMARC of mail to the privacy address (default: the system's)
# mail_tls_ca: e.g. /etc/suoja/mail-ca.pem; certificate authorities trusted for mail servers' TLS besides the public ones
# mail_local_hops = 0                           # Received headers your own delivery adds above the receiving server's (1 for Postfix -> Dovecot LMTP)
"#;

/// A node name: short, and plain enough to type into a breach's scope.
fn node_name_ok(n: &str) -> bool {
    (1..=64).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parse_env<T: std::str::FromStr>(var: &'static str, name: &'static str) -> Result<Option<T>, ConfigError> {
    match env(var) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ConfigError::Invalid {
            name,
            message: format!("{var} has an invalid value"),
        }),
    }
}

impl Settings {
    /// Loads defaults, then `file` (if given, or `suoja.toml` in the working directory if it
    /// exists, or `SUOJA_CONFIG`), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let path = file.map(Path::to_path_buf).or_else(|| env("SUOJA_CONFIG").map(PathBuf::from)).or_else(|| {
            let p = PathBuf::from("suoja.toml");
            p.exists().then_some(p)
        });
        let mut s = match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|source| ConfigError::Read { path: p.clone(), source })?;
                toml::from_str::<Settings>(&text).map_err(|e| ConfigError::Parse {
                    path: p,
                    message: e.message().to_string(),
                })?
            }
            None => Settings::default(),
        };
        if let Some(v) = env("SUOJA_DATA_DIR") {
            s.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("SUOJA_DATABASE_URL") {
            s.database_url = Some(v);
        }
        if let Some(v) = parse_env("SUOJA_LISTEN", "listen")? {
            s.listen = v;
        }
        if let Some(v) = env("SUOJA_ROOT_KEY_FILE") {
            s.root_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("SUOJA_REGION") {
            s.region = v;
        }
        if let Some(v) = env("SUOJA_ROUTING_URL") {
            s.routing_url = Some(v);
        }
        if let Some(v) = env("SUOJA_NODE_NAME") {
            s.node_name = Some(v);
        }
        if let Some(v) = parse_env("SUOJA_RATE_LIMIT_PER_MINUTE", "rate_limit_per_minute")? {
            s.rate_limit_per_minute = v;
        }
        if let Some(v) = parse_env("SUOJA_RATE_LIMIT_PER_CLIENT_PER_MINUTE", "rate_limit_per_client_per_minute")? {
            s.rate_limit_per_client_per_minute = Some(v);
        }
        if let Some(v) = parse_env("SUOJA_HEADER_TIMEOUT_SECS", "header_timeout_secs")? {
            s.header_timeout_secs = v;
        }
        if let Some(v) = parse_env("SUOJA_BODY_TIMEOUT_SECS", "body_timeout_secs")? {
            s.body_timeout_secs = v;
        }
        if let Some(v) = env("SUOJA_WEBHOOK_ALLOWED_HOSTS") {
            s.webhook_allowed_hosts = v.split(',').map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).collect();
        }
        if let Some(v) = env("SUOJA_TRUSTED_PROXIES") {
            s.trusted_proxies = v
                .split(',')
                .map(|p| p.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|_| ConfigError::Invalid {
                    name: "trusted_proxies",
                    message: "SUOJA_TRUSTED_PROXIES must be IP addresses separated by commas".into(),
                })?;
        }
        if let Some(v) = parse_env("SUOJA_MAX_JSON_BYTES", "max_json_bytes")? {
            s.max_json_bytes = v;
        }
        if let Some(v) = parse_env("SUOJA_DB_MAX_CONNECTIONS", "db_max_connections")? {
            s.db_max_connections = v;
        }
        if let Some(v) = parse_env("SUOJA_DURABLE_COMMITS", "durable_commits")? {
            s.durable_commits = v;
        }
        if let Some(v) = parse_env("SUOJA_SQLITE_NATIVE_WRITER", "sqlite_native_writer")? {
            s.sqlite_native_writer = v;
        }
        if let Some(v) = env("SUOJA_LOG_FORMAT") {
            s.log_format = v;
        }
        if let Some(v) = parse_env("SUOJA_SHUTDOWN_GRACE_SECS", "shutdown_grace_secs")? {
            s.shutdown_grace_secs = v;
        }
        if let Some(v) = parse_env("SUOJA_SHUTDOWN_DRAIN_SECS", "shutdown_drain_secs")? {
            s.shutdown_drain_secs = v;
        }
        if let Some(v) = env("SUOJA_METRICS_TOKEN") {
            s.metrics_token = Some(v);
        }
        if let Some(v) = env("SUOJA_OPERATOR_TOKEN") {
            s.operator_token = Some(v);
        }
        if let Some(v) = env("SUOJA_PUBLIC_URL") {
            s.public_url = Some(v);
        }
        if let Some(v) = env("SUOJA_PRIVACY_TIME_ZONE") {
            s.privacy_time_zone = v;
        }
        if let Some(v) = parse_env("SUOJA_PRIVACY_INCLUDE_INTERNAL_NOTES", "privacy_include_internal_notes")? {
            s.privacy_include_internal_notes = v;
        }
        if let Some(v) = parse_env("SUOJA_EXPORT_TTL_HOURS", "export_ttl_hours")? {
            s.export_ttl_hours = v;
        }
        if let Some(v) = parse_env("SUOJA_EXPORTS_PER_PERSON_PER_DAY", "exports_per_person_per_day")? {
            s.exports_per_person_per_day = v;
        }
        if let Some(v) = parse_env("SUOJA_EXPORT_BUILDS_AT_ONCE", "export_builds_at_once")? {
            s.export_builds_at_once = v;
        }
        if let Some(v) = parse_env("SUOJA_UPLOAD_QUOTA_MB_PER_DAY", "upload_quota_mb_per_day")? {
            s.upload_quota_mb_per_day = v;
        }
        if let Some(v) = parse_env("SUOJA_RETENTION_INTERVAL_SECS", "retention_interval_secs")? {
            s.retention_interval_secs = v;
        }
        if let Some(v) = parse_env("SUOJA_KEY_BACKUP_DAYS", "key_backup_days")? {
            s.key_backup_days = v;
        }
        if let Some(v) = env("SUOJA_BLOB_URL") {
            s.blob_url = Some(v);
        }
        if let Some(v) = env("SUOJA_ERASURE_LEDGER_FILE") {
            s.erasure_ledger_file = Some(PathBuf::from(v));
        }
        if let Some(v) = std::env::var_os("SUOJA_BACKUP_TARGETS").filter(|v| !v.is_empty()) {
            s.backup_targets = std::env::split_paths(&v).collect();
        }
        if let Some(v) = env("SUOJA_SMTP_URL") {
            s.smtp_url = Some(v);
        }
        if let Some(v) = env("SUOJA_MAIL_FROM") {
            s.mail_from = Some(v);
        }
        if let Some(v) = env("SUOJA_IMAP_URL") {
            s.imap_url = Some(v);
        }
        if let Some(v) = env("SUOJA_MAIL_TENANT") {
            s.mail_tenant = Some(v);
        }
        if let Some(v) = env("SUOJA_MAIL_PRIVACY_ADDRESS") {
            s.mail_privacy_address = Some(v);
        }
        if let Some(v) = env("SUOJA_DKIM_KEY_FILE") {
            s.dkim_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("SUOJA_DKIM_SELECTOR") {
            s.dkim_selector = Some(v);
        }
        if let Some(v) = env("SUOJA_IMAP_MOVE_TO") {
            s.imap_move_to = Some(v);
        }
        if let Some(v) = parse_env("SUOJA_IMAP_POLL_SECS", "imap_poll_secs")? {
            s.imap_poll_secs = v;
        }
        if let Some(v) = parse_env("SUOJA_MAX_MAIL_BYTES", "max_mail_bytes")? {
            s.max_mail_bytes = v;
        }
        if let Some(v) = parse_env("SUOJA_MAIL_PER_SENDER_PER_HOUR", "mail_per_sender_per_hour")? {
            s.mail_per_sender_per_hour = v;
        }
        if let Some(v) = parse_env("SUOJA_MAIL_NOTIFICATIONS", "mail_notifications")? {
            s.mail_notifications = v;
        }
        if let Some(v) = parse_env("SUOJA_MAIL_DNS", "mail_dns")? {
            s.mail_dns = Some(v);
        }
        if let Some(v) = parse_env("SUOJA_MAIL_LOCAL_HOPS", "mail_local_hops")? {
            s.mail_local_hops = v;
        }
        if let Some(v) = env("SUOJA_MAIL_TLS_CA") {
            s.mail_tls_ca = Some(PathBuf::from(v));
        }
        if let Some(v) = env("SUOJA_MAIL_TENANT_DOMAINS") {
            s.mail_tenant_domains = v.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
        }
        s.resolved()
    }

    /// These settings with their region applied, checked.
    fn resolved(self) -> Result<Settings, ConfigError> {
        let s = self.apply_region()?;
        s.validate()?;
        Ok(s)
    }

    /// These settings for another of `regions` (`suoja init --region`): its database, blob
    /// store and root key in place of this node's.
    pub fn in_region(&self, name: &str) -> Result<Settings, ConfigError> {
        if !self.regions.contains_key(name) {
            return Err(ConfigError::Invalid {
                name: "region",
                message: format!("'{name}' is not among the configured regions ({})", self.region_names()),
            });
        }
        let mut s = self.clone();
        s.region = name.to_string();
        s.database_url = None;
        s.blob_url = None;
        if self.regions.get(name).is_some_and(|r| r.root_key_file.is_some()) {
            s.root_key_file = None;
        }
        s.resolved()
    }

    /// The configured regions' names, for messages.
    fn region_names(&self) -> String {
        self.regions.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// With `regions`: this node's database, blob store and root key from its region's entry
    /// (set here as well only if the same).
    fn apply_region(mut self) -> Result<Settings, ConfigError> {
        if self.regions.is_empty() {
            return Ok(self);
        }
        let Some(r) = self.regions.get(&self.region).cloned() else {
            return Err(ConfigError::Invalid {
                name: "region",
                message: format!("'{}' is not among the configured regions ({})", self.region, self.region_names()),
            });
        };
        fn same<T: PartialEq + Clone>(here: &mut Option<T>, there: Option<&T>, name: &'static str) -> Result<(), ConfigError> {
            match (here.as_ref(), there) {
                (Some(h), Some(t)) if h != t => Err(ConfigError::Invalid {
                    name,
                    message: "differs from the value in this node's [regions] entry; set it there only".into(),
                }),
                (_, Some(t)) => {
                    *here = Some(t.clone());
                    Ok(())
                }
                (_, None) => Ok(()),
            }
        }
        same(&mut self.database_url, Some(&r.database_url), "database_url")?;
        same(&mut self.blob_url, r.blob_url.as_ref(), "blob_url")?;
        same(&mut self.root_key_file, r.root_key_file.as_ref(), "root_key_file")?;
        Ok(self)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // A local blob store is a directory of Suoja's blobs alone: the data directory (or one
        // holding it) would have its root key and database among the blobs.
        if let Some(dir) = self
            .blob_url
            .as_deref()
            .and_then(|u| u.strip_prefix("file://").or_else(|| u.starts_with('/').then_some(u)))
        {
            let dir = std::path::absolute(dir).unwrap_or_else(|_| PathBuf::from(dir));
            let data = std::path::absolute(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
            if data.starts_with(&dir) {
                return Err(ConfigError::Invalid {
                    name: "blob_url",
                    message: "must not be the data directory or hold it (use a directory of its own, e.g. DATA_DIR/blobs)".into(),
                });
            }
        }
        for (name, value, schemes) in [
            ("smtp_url", &self.smtp_url, &["smtp://", "smtps://"]),
            ("imap_url", &self.imap_url, &["imap://", "imaps://"]),
        ] {
            if let Some(v) = value
                && !schemes.iter().any(|s| v.starts_with(s))
            {
                return Err(ConfigError::Invalid {
                    name,
                    message: format!("must start with {}", schemes.join(" or ")),
                });
            }
        }
        if self.dkim_key_file.is_some() != self.dkim_selector.is_some() {
            return Err(ConfigError::Invalid {
                name: "dkim_selector",
                message: "dkim_key_file and dkim_selector go together".into(),
            });
        }
        if (self.smtp_url.is_some() || self.imap_url.is_some()) && self.mail_from.as_deref().is_none_or(|f| !f.contains('@')) {
            return Err(ConfigError::Invalid {
                name: "mail_from",
                message: "must be set to the support address (support@example.com) when smtp_url or imap_url is".into(),
            });
        }
        if self.rate_limit_per_minute == 0 {
            return Err(ConfigError::Invalid {
                name: "rate_limit_per_minute",
                message: "must be at least 1".into(),
            });
        }
        if self.max_json_bytes < 1024 {
            return Err(ConfigError::Invalid {
                name: "max_json_bytes",
                message: "must be at least 1024".into(),
            });
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid {
                name: "log_format",
                message: "must be text or json".into(),
            });
        }
        if let Some(u) = &self.database_url
            && !(u.starts_with("sqlite:") || u.starts_with("postgres:") || u.starts_with("postgresql:"))
        {
            {
                return Err(ConfigError::Invalid {
                    name: "database_url",
                    message: "must start with sqlite:// or postgres://".into(),
                });
            }
        }
        if !(1..=24 * 30).contains(&self.export_ttl_hours) {
            return Err(ConfigError::Invalid {
                name: "export_ttl_hours",
                message: "must be between 1 and 720".into(),
            });
        }
        for (name, value, max) in [
            ("exports_per_person_per_day", self.exports_per_person_per_day, 1000),
            ("export_builds_at_once", self.export_builds_at_once, 64),
            ("upload_quota_mb_per_day", self.upload_quota_mb_per_day, 1_000_000),
        ] {
            if !(1..=max).contains(&value) {
                return Err(ConfigError::Invalid {
                    name,
                    message: format!("must be between 1 and {max}"),
                });
            }
        }
        if !(1..=3600).contains(&self.retention_interval_secs) {
            return Err(ConfigError::Invalid {
                name: "retention_interval_secs",
                message: "must be between 1 and 3600".into(),
            });
        }
        if !(1..=30).contains(&self.key_backup_days) {
            return Err(ConfigError::Invalid {
                name: "key_backup_days",
                message: "must be between 1 and 30".into(),
            });
        }
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                name: "public_url",
                message: "must start with http:// or https://".into(),
            });
        }
        let region_ok = |r: &str| !r.is_empty() && r.len() <= 32 && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !region_ok(&self.region) {
            return Err(ConfigError::Invalid {
                name: "region",
                message: "use letters, digits and '-'".into(),
            });
        }
        for (name, r) in &self.regions {
            let problem = if !region_ok(name) {
                Some("a region's name: use 1 to 32 letters, digits and '-'")
            } else if !(r.database_url.starts_with("sqlite:") || r.database_url.starts_with("postgres:") || r.database_url.starts_with("postgresql:")) {
                Some("each region needs a database_url (sqlite:// or postgres://)")
            } else if r.blob_url.is_none() {
                Some("each region needs its own blob_url (file:///… or s3://…), so its files stay in it")
            } else if self.regions.len() > 1 && r.root_key_file.is_none() {
                Some("each of several regions needs its own root_key_file (a tenant sealed under another region's key could not be read where it lives)")
            } else if self
                .regions
                .iter()
                .any(|(n, o)| n != name && (o.database_url == r.database_url || o.blob_url == r.blob_url))
            {
                Some("two regions share a database_url or blob_url; each keeps its data apart")
            } else if r.url.as_deref().is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
                Some("a region's url must start with http:// or https://")
            } else if r.id_block >= ID_BLOCKS {
                Some("id_block is a number from 0 to 99")
            } else if r.database_url.starts_with("sqlite:") && r.id_block != 0 {
                Some("a region on SQLite numbers its records from 1: leave id_block out (0)")
            } else if self.regions.iter().any(|(n, o)| n != name && o.id_block == r.id_block) {
                Some("two regions have the same id_block (a region on SQLite has block 0); give each its own, so a tenant moved between them keeps its ids")
            } else {
                None
            };
            if let Some(message) = problem {
                return Err(ConfigError::Invalid {
                    name: "regions",
                    message: format!("[regions.{}]: {message}", name.chars().take(40).collect::<String>()),
                });
            }
        }
        if !self.regions.is_empty() && self.routing_url.is_none() {
            return Err(ConfigError::Invalid {
                name: "routing_url",
                message: "regions need a routing database every region's nodes share".into(),
            });
        }
        if let Some(n) = &self.node_name
            && !node_name_ok(n)
        {
            return Err(ConfigError::Invalid {
                name: "node_name",
                message: "use 1 to 64 letters, digits, '.', '_' and '-'".into(),
            });
        }
        if let Some(t) = &self.metrics_token
            && (t.len() < 16 || !t.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(ConfigError::Invalid {
                name: "metrics_token",
                message: "use at least 16 printable characters without spaces".into(),
            });
        }
        if let Some(t) = &self.operator_token
            && (t.len() < 32 || !t.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(ConfigError::Invalid {
                name: "operator_token",
                message: "use at least 32 printable characters without spaces".into(),
            });
        }
        Ok(())
    }

    /// This node's name: `node_name`, else the machine's host name, else `suoja`.
    pub fn node_name(&self) -> String {
        if let Some(n) = &self.node_name {
            return n.clone();
        }
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|h| h.trim().to_string())
            .find(|h| node_name_ok(h))
            .unwrap_or_else(|| "suoja".into())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("suoja.db").display()))
    }

    /// The blob store in effect (see `blob_url`).
    pub fn blob_url(&self) -> String {
        match &self.blob_url {
            Some(u) => u.clone(),
            None if self.database_url().starts_with("sqlite:") => {
                let dir = self.data_dir.join("blobs");
                let abs = std::path::absolute(&dir).unwrap_or(dir);
                format!("file://{}", abs.display())
            }
            None => "database".into(),
        }
    }

    /// The root key file in effect.
    pub fn root_key_file(&self) -> PathBuf {
        self.root_key_file.clone().unwrap_or_else(|| self.data_dir.join("root.key"))
    }

    /// Requests per minute from one client address.
    pub fn rate_limit_per_client(&self) -> u32 {
        self.rate_limit_per_client_per_minute
            .unwrap_or_else(|| self.rate_limit_per_minute.saturating_mul(5))
    }

    /// Where completed erasures are listed for replay after a restore.
    pub fn erasure_ledger_file(&self) -> PathBuf {
        self.erasure_ledger_file.clone().unwrap_or_else(|| self.data_dir.join("erasure-ledger.jsonl"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_defaults_are_the_real_defaults() {
        let uncommented: String = DEFAULT_TOML
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(""))
            .filter(|l| l.contains(" = "))
            .map(|l| l.split("  #").next().unwrap_or(l).trim().to_string() + "\n")
            .collect();
        let mut parsed: Settings = toml::from_str(&uncommented).unwrap();
        assert_eq!(parsed.database_url.take().unwrap(), Settings::default().database_url());
        assert_eq!(parsed.root_key_file.take().unwrap(), Settings::default().root_key_file());
        assert_eq!(parsed.erasure_ledger_file.take().unwrap(), Settings::default().erasure_ledger_file());
        assert_eq!(
            parsed.rate_limit_per_client_per_minute.take().unwrap(),
            Settings::default().rate_limit_per_client()
        );
        assert_eq!(parsed, Settings::default());
    }

    #[test]
    fn a_local_blob_store_is_never_the_data_directory() {
        for bad in ["file:///srv/suoja", "/srv", "file:///"] {
            let s = Settings {
                data_dir: PathBuf::from("/srv/suoja"),
                blob_url: Some(bad.into()),
                ..Settings::default()
            };
            assert!(s.validate().unwrap_err().to_string().contains("blob_url"), "{bad}");
        }
        let s = Settings {
            data_dir: PathBuf::from("/srv/suoja"),
            blob_url: Some("file:///srv/suoja/blobs".into()),
            ..Settings::default()
        };
        assert!(s.validate().is_ok());
    }

    fn regions(text: &str) -> Result<Settings, ConfigError> {
        let s: Settings = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("test.toml"),
            message: e.message().to_string(),
        })?;
        s.resolved()
    }

    const TWO_REGIONS: &str = r#"
region = "us"
routing_url = "postgres://r@127.0.0.1/routing"
[regions.eu]
database_url = "postgres://e@127.0.0.1/eu"
blob_url = "s3://eu-files/suoja"
root_key_file = "/keys/eu.key"
url = "https://eu.help.example"
[regions.us]
database_url = "postgres://u@127.0.0.1/us"
blob_url = "s3://us-files/suoja"
root_key_file = "/keys/us.key"
id_block = 1
"#;

    #[test]
    fn a_node_takes_its_regions_database_store_and_key() {
        let s = regions(TWO_REGIONS).unwrap();
        assert_eq!(s.database_url(), "postgres://u@127.0.0.1/us");
        assert_eq!(s.blob_url(), "s3://us-files/suoja");
        assert_eq!(s.root_key_file(), PathBuf::from("/keys/us.key"));
        let eu = s.in_region("eu").unwrap();
        assert_eq!((eu.region.as_str(), eu.database_url()), ("eu", "postgres://e@127.0.0.1/eu".to_string()));
        assert_eq!(eu.blob_url(), "s3://eu-files/suoja");
        assert_eq!(eu.root_key_file(), PathBuf::from("/keys/eu.key"));
        assert!(s.in_region("apac").unwrap_err().to_string().contains("eu, us"));
    }

    #[test]
    fn regions_refuse_what_would_mix_them() {
        let cases = [
            // Another database at the top than the node's region names.
            (format!("database_url = \"postgres://x@127.0.0.1/other\"\n{TWO_REGIONS}"), "database_url"),
            (TWO_REGIONS.replace("region = \"us\"", "region = \"apac\""), "region"),
            (TWO_REGIONS.replace("routing_url = \"postgres://r@127.0.0.1/routing\"", ""), "routing_url"),
            (TWO_REGIONS.replace("blob_url = \"s3://us-files/suoja\"", ""), "own blob_url"),
            (TWO_REGIONS.replace("database_url = \"postgres://u@127.0.0.1/us\"", ""), "database_url"),
            (TWO_REGIONS.replace("root_key_file = \"/keys/us.key\"", ""), "own root_key_file"),
            (TWO_REGIONS.replace("s3://us-files/suoja", "s3://eu-files/suoja"), "share"),
            (TWO_REGIONS.replace("postgres://u@127.0.0.1/us", "postgres://e@127.0.0.1/eu"), "database_url"),
            (
                TWO_REGIONS
                    .replace("[regions.us]", "[regions.\"u s\"]")
                    .replace("region = \"us\"", "region = \"eu\""),
                "region's name",
            ),
            (TWO_REGIONS.replace("id_block = 1", ""), "same id_block"),
            (
                TWO_REGIONS
                    .replace("postgres://e@127.0.0.1/eu", "sqlite:///srv/eu/suoja.db")
                    .replace("id_block = 1", ""),
                "same id_block",
            ),
            (TWO_REGIONS.replace("id_block = 1", "id_block = 100"), "0 to 99"),
            (
                TWO_REGIONS
                    .replace("postgres://e@127.0.0.1/eu", "sqlite:///srv/eu/suoja.db")
                    .replace("root_key_file = \"/keys/eu.key\"", "root_key_file = \"/keys/eu.key\"\nid_block = 2"),
                "on SQLite",
            ),
        ];
        for (text, needle) in cases {
            let e = regions(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        // The same value at the top and in the region's entry is no conflict.
        assert!(regions(&format!("database_url = \"postgres://u@127.0.0.1/us\"\n{TWO_REGIONS}")).is_ok());
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let s = Settings {
            log_format: "xml".into(),
            ..Settings::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("log_format"));
    }

    #[test]
    fn a_node_has_a_plain_name() {
        for bad in ["", "help 1", "help/1", "ä", &"n".repeat(65)] {
            let s = Settings {
                node_name: Some(bad.to_string()),
                ..Settings::default()
            };
            assert!(s.validate().unwrap_err().to_string().contains("node_name"), "{bad:?}");
        }
        let s = Settings {
            node_name: Some("help-1.eu_a".into()),
            ..Settings::default()
        };
        assert!(s.validate().is_ok());
        assert_eq!(s.node_name(), "help-1.eu_a");
        // Unset: the host name, or `suoja`; either way a name the check accepts.
        assert!(node_name_ok(&Settings::default().node_name()));
    }
}
