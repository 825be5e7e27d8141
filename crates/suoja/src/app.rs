//! Start-up and shutdown: opens the database (running migrations), loads or creates the root
//! key, builds the services and serves HTTP until told to stop.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use suoja_config::Settings;
use suoja_core::clock::SystemClock;
use suoja_helpdesk::Helpdesk;
use suoja_http::{AppState, HttpLimits};
use suoja_privacy::deadline::Calendar;
use suoja_privacy::{Policy, Privacy};
use suoja_store::{Db, DbOptions};
use suoja_vault::Vault;
use tokio::net::TcpListener;

/// Reads the root key from `SUOJA_ROOT_KEY`, or from the key file, creating the file (mode 0600)
/// with a fresh key when neither exists.
pub fn load_root_key(settings: &Settings) -> anyhow::Result<[u8; 32]> {
    if let Ok(hex) = std::env::var("SUOJA_ROOT_KEY")
        && !hex.is_empty()
    {
        return Vault::parse_root_key(&hex).context("SUOJA_ROOT_KEY");
    }
    let path = settings.root_key_file();
    if path.exists() {
        if suoja_store::files::open_to_others(&path).with_context(|| format!("reading root key file {}", path.display()))? {
            bail!(
                "the root key file {} can be read or written by others than its owner; make it the owner's alone (chmod 600 {}) and start again",
                path.display(),
                path.display()
            );
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading root key file {}", path.display()))?;
        return Vault::parse_root_key(&text).with_context(|| format!("root key file {}", path.display()));
    }
    if let Some(dir) = path.parent() {
        suoja_store::files::private_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = Vault::generate_root_key();
    write_private(&path, &key)?;
    tracing::info!("created a new root key file");
    Vault::parse_root_key(&key).context("new root key")
}

/// The installation's root key, from `SUOJA_ROOT_KEY` or the key file, without creating one
/// (restoring or checking a backup needs the key it was sealed with).
pub fn existing_root_key(settings: &Settings) -> anyhow::Result<[u8; 32]> {
    let path = settings.root_key_file();
    let env = std::env::var("SUOJA_ROOT_KEY").ok().filter(|k| !k.is_empty());
    if env.is_none() && !path.exists() {
        bail!(
            "no root key: put the installation's root key at {} (or in SUOJA_ROOT_KEY); backups can only be opened with the key they were sealed with",
            path.display()
        );
    }
    load_root_key(settings)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Opens the database and vault and builds the services.
pub async fn open(settings: &Settings) -> anyhow::Result<Helpdesk> {
    open_with_clock(settings, Arc::new(SystemClock)).await
}

/// As [`open`], telling time with `clock` (tests move time by hand).
pub async fn open_with_clock(settings: &Settings, clock: Arc<dyn suoja_core::Clock>) -> anyhow::Result<Helpdesk> {
    let url = settings.database_url();
    if let Some(file) = url.strip_prefix("sqlite://") {
        suoja_store::files::own_dir(&settings.data_dir).with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
        // SQLite gives its -wal and -shm files the database file's mode: the owner's alone.
        let file = std::path::Path::new(file.split('?').next().unwrap_or(file));
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            suoja_store::files::private_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        suoja_store::files::touch_private(file).with_context(|| format!("creating {}", file.display()))?;
    }
    let root = load_root_key(settings)?;
    let opts = DbOptions {
        max_connections: settings.db_max_connections,
        durable_commits: settings.durable_commits,
        native_writer: settings.sqlite_native_writer,
        // Tests only (debug builds): the rehearsal migration stands for the next release's
        // (see `suoja_store::migrate`), so a test can roll nodes to a build with a new one.
        rehearsal_migration: cfg!(debug_assertions) && std::env::var_os("SUOJA_TEST_REHEARSAL_MIGRATION").is_some(),
        ..DbOptions::default()
    };
    let blobs = open_blobs(settings)?;
    tracing::debug!(store = blobs.describe(), "files are kept here");
    let db = Db::connect(&url, &opts).await.context("opening the database")?.with_blobs(blobs);
    let vault = Vault::new(root);
    db.blobs()
        .check_against(&db, &blob_store_mark(&vault))
        .await
        .context("checking blob_url against the database")?;
    // Keys wrapped before their ids were bound in are re-wrapped once, before any is used.
    let mut tx = db.begin().await.context("opening the database")?;
    let rewrapped = vault.bind_key_ids(&mut tx).await.context("re-wrapping subject keys with their ids")?;
    tx.commit().await.context("re-wrapping subject keys with their ids")?;
    if rewrapped > 0 {
        tracing::info!(keys = rewrapped, "subject keys re-wrapped with their ids bound in");
    }
    let ledger = Arc::new(suoja_privacy::ledger::Writer::new(vault.clone()));
    let hd = Helpdesk::new(db, vault, clock, Arc::new(suoja_privacy::consult::Consultations::default()), ledger);
    let filled = hd.backfill_ticket_tags().await.context("filling in the tag index of existing tickets")?;
    if filled > 0 {
        tracing::info!(tickets = filled, "tag index filled in for existing tickets");
    }
    let indexed = hd.backfill_external_id_index().await.context("indexing the external ids of existing tickets")?;
    if indexed > 0 {
        tracing::info!(tickets = indexed, "existing tickets indexed by their external ids");
    }
    // Each region numbers its records in its own block of ids, so a tenant moved between
    // regions keeps its ids (see `suoja tenant move`).
    if let Some(r) = settings.regions.get(&settings.region) {
        let moved = suoja_store::relocation::enter_id_block(hd.db(), r.id_block)
            .await
            .context("moving the database's ids into the region's id_block")?;
        if moved > 0 {
            tracing::info!(sequences = moved, id_block = r.id_block, "the region's ids now start in its id block");
        }
    }
    let hd = match &settings.routing_url {
        Some(url) if !settings.regions.is_empty() => {
            let routes = suoja_store::routing::Routes::open(url)
                .await
                .context("opening the routing database (routing_url)")?;
            hd.with_residency(suoja_helpdesk::setup::Residency {
                region: settings.region.clone(),
                routes,
                urls: settings.regions.iter().filter_map(|(n, r)| r.url.clone().map(|u| (n.clone(), u))).collect(),
                regions: settings.regions.keys().cloned().collect(),
            })
        }
        _ => hd,
    };
    Ok(hd
        .with_endpoint_policy(suoja_helpdesk::webhooks::EndpointPolicy {
            allowed_hosts: settings.webhook_allowed_hosts.clone(),
        })
        .with_upload_quota(i64::from(settings.upload_quota_mb_per_day) * 1024 * 1024)
        .with_notifications(settings.smtp_url.is_some() && settings.mail_notifications))
}

/// The blob store `blob_url` names, never the data directory or one holding it (its root key
/// and database would lie among the blobs), however the two are spelled (links resolved).
pub fn open_blobs(settings: &Settings) -> anyhow::Result<suoja_store::blobs::Blobs> {
    let blobs = suoja_store::blobs::Blobs::open(&settings.blob_url()).context("opening the blob store (blob_url)")?;
    if let Some(dir) = blobs.local_dir() {
        let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
        if resolve(&settings.data_dir).starts_with(resolve(dir)) {
            anyhow::bail!("blob_url must not be the data directory or hold it (use a directory of its own, e.g. DATA_DIR/blobs)");
        }
    }
    Ok(blobs)
}

/// What marks a blob store as this installation's: a value derived from the root key, so no
/// other installation can write it.
pub fn blob_store_mark(vault: &Vault) -> String {
    hex::encode(vault.backup_tag("blob-store", b"the blob store of this installation"))
}

/// The mail channel as the settings configure it (none without `mail_from`).
pub fn mailroom(privacy: &Privacy, settings: &Settings) -> anyhow::Result<Option<suoja_mail::Mailroom>> {
    let Some(from) = &settings.mail_from else { return Ok(None) };
    let cfg = suoja_mail::MailConfig {
        support: suoja_mail::Support::parse(from)?,
        privacy: settings.mail_privacy_address.as_deref().map(suoja_mail::Support::parse).transpose()?,
        public_url: public_url(settings),
        max_bytes: settings.max_mail_bytes,
        per_sender_per_hour: settings.mail_per_sender_per_hour,
        dns: settings.mail_dns,
        tenant_domains: settings.mail_tenant_domains.clone(),
        trust: mail_trust(settings)?,
        local_hops: settings.mail_local_hops,
    };
    Ok(Some(suoja_mail::Mailroom::new(privacy.clone(), cfg)))
}

/// The roots mail servers' certificates are checked against: the public ones, and
/// `mail_tls_ca`'s.
pub fn mail_trust(settings: &Settings) -> anyhow::Result<suoja_mail::Trust> {
    Ok(match &settings.mail_tls_ca {
        Some(path) => suoja_mail::Trust::with_ca_file(path)?,
        None => suoja_mail::Trust::public(),
    })
}

/// The mail channel as the settings set it up: SMTP and IMAP when configured (none without
/// `mail_from`, or with neither).
pub fn mail_setup(privacy: &Privacy, settings: &Settings) -> anyhow::Result<Option<suoja_mail::Setup>> {
    let Some(room) = mailroom(privacy, settings)? else { return Ok(None) };
    let trust = room.config().trust.clone();
    let mut smtp = settings.smtp_url.as_deref().map(|u| suoja_mail::send::Smtp::from_url(u, &trust)).transpose()?;
    if let (Some(file), Some(selector)) = (&settings.dkim_key_file, &settings.dkim_selector)
        && let Some(s) = smtp.take()
    {
        let key = std::fs::read_to_string(file).with_context(|| format!("reading dkim_key_file {}", file.display()))?;
        smtp = Some(s.with_dkim(selector, &room.config().support.domain, &key)?);
    }
    let imap = settings
        .imap_url
        .as_deref()
        .map(|u| suoja_mail::imap::Imap::from_url(u, settings.imap_move_to.clone(), &trust))
        .transpose()?;
    if smtp.is_none() && imap.is_none() {
        return Ok(None);
    }
    Ok(Some(suoja_mail::Setup {
        room,
        notifications: smtp.is_some() && settings.mail_notifications,
        smtp,
        imap,
    }))
}

/// The privacy services over `hd` as the settings configure them: the policy and the erasure
/// ledger file (here and beside every backup).
pub fn privacy(hd: Helpdesk, settings: &Settings) -> anyhow::Result<Privacy> {
    Ok(
        Privacy::new(hd, policy(settings)?).with_erasure_log(suoja_privacy::erasure::ledger_file::ErasureLog::new(
            settings.erasure_ledger_file(),
            settings.backup_targets.clone(),
        )),
    )
}

/// The privacy policy from the settings.
pub fn policy(settings: &Settings) -> anyhow::Result<Policy> {
    // One agreement in two languages: an operator's own text in one and Suoja's in the other
    // would be two different contracts.
    if settings.privacy_dpa_template.is_some() != settings.privacy_dpa_template_fi.is_some() {
        anyhow::bail!("privacy_dpa_template and privacy_dpa_template_fi: set both (the agreement in English and in Finnish) or neither");
    }
    let calendar =
        Calendar::new(&settings.privacy_time_zone, &settings.privacy_holidays).map_err(|m| anyhow::anyhow!("privacy_time_zone / privacy_holidays: {m}"))?;
    Ok(Policy {
        calendar,
        include_internal_notes: settings.privacy_include_internal_notes,
        agent_names: settings.privacy_agent_names,
        export_ttl_ms: i64::from(settings.export_ttl_hours) * 3_600_000,
        controller: settings.privacy_controller.clone(),
        controller_contact: settings.privacy_contact.clone(),
        supervisory_authority: settings.privacy_supervisory_authority.clone(),
        region: settings.region.clone(),
        node: settings.node_name(),
        key_backup_days: i64::from(settings.key_backup_days),
        exports_per_day: i64::from(settings.exports_per_person_per_day),
        export_builds_at_once: settings.export_builds_at_once as usize,
        processor: settings.privacy_processor.clone(),
        dpa_template_en: dpa_template(settings.privacy_dpa_template.as_deref(), "privacy_dpa_template")?,
        dpa_template_fi: dpa_template(settings.privacy_dpa_template_fi.as_deref(), "privacy_dpa_template_fi")?,
        ..Policy::default()
    })
}

/// An operator's data processing agreement template, read and checked at start-up.
fn dpa_template(path: Option<&std::path::Path>, name: &str) -> anyhow::Result<Option<String>> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{name}: cannot read {}: {e}", path.display()))?;
    suoja_privacy::dpa::check_template(&text).map_err(|m| anyhow::anyhow!("{name} ({}): {m}", path.display()))?;
    Ok(Some(text))
}

/// Where people reach the installation.
pub fn public_url(settings: &Settings) -> String {
    settings.public_url.clone().unwrap_or_else(|| format!("http://{}", settings.listen))
}

/// A running server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The services (for tests that inspect state directly).
    pub helpdesk: Helpdesk,
    /// The privacy services.
    pub privacy: Privacy,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    worker_stop: tokio::sync::watch::Sender<bool>,
    worker: tokio::task::JoinHandle<()>,
    node: Arc<suoja_http::node::Node>,
    drain: Duration,
}

impl Running {
    /// Reports itself not ready and keeps serving for `shutdown_drain_secs` (a load balancer
    /// checking `/readyz` stops sending meanwhile), then stops accepting, lets in-flight
    /// requests finish, and waits.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.node.drain();
        if !self.drain.is_zero() {
            tracing::info!(
                drain.secs = self.drain.as_secs(),
                "not ready any more; serving a little longer while the balancer notices"
            );
            tokio::time::sleep(self.drain).await;
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await??;
        let _ = self.worker_stop.send(true);
        let _ = self.worker.await;
        self.helpdesk.db().close().await;
        Ok(())
    }
}

/// Binds `settings.listen` (or the given listener) and serves until stopped.
pub async fn start(settings: &Settings, helpdesk: Helpdesk, listener: Option<TcpListener>) -> anyhow::Result<Running> {
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?,
    };
    let addr = listener.local_addr()?;
    let limits = HttpLimits {
        max_json_bytes: settings.max_json_bytes,
        rate_per_minute: settings.rate_limit_per_minute,
        rate_per_client: settings.rate_limit_per_client(),
        trusted_proxies: settings.trusted_proxies.clone(),
        header_timeout: Duration::from_secs(settings.header_timeout_secs.max(1)),
        body_timeout: Duration::from_secs(settings.body_timeout_secs.max(1)),
        ..HttpLimits::default()
    };
    let privacy = privacy(helpdesk.clone(), settings)?.with_fault_hook(crash_hook());
    // Personal columns never get sampled into the engine's statistics.
    suoja_store::dialect::exclude_from_statistics(helpdesk.db(), &suoja_privacy::datamap::personal_columns())
        .await
        .context("keeping personal columns out of the planner's statistics")?;
    // A database restored from an older copy must not serve anyone erased since.
    let replay = privacy.reconcile_erasure_log().await.context("replaying the erasure ledger")?;
    if replay.erased + replay.keys_destroyed > 0 {
        tracing::warn!(erased = replay.erased, keys = replay.keys_destroyed, "erasures replayed before serving");
    }
    let mail = mail_setup(&privacy, settings).context("setting up mail")?;
    // The confirmation of a requested erasure leaves before the address is erased.
    let privacy = match mail.as_ref().and_then(|m| m.smtp.clone().map(|smtp| (smtp, m.room.config().support.clone()))) {
        Some((smtp, from)) => privacy.with_courier(Arc::new(suoja_mail::send::SmtpCourier { smtp, from })),
        None => privacy,
    };
    let node = Arc::new(suoja_http::node::Node::new(settings.node_name(), settings.metrics_token.clone()));
    let state = AppState::new(privacy.clone(), public_url(settings), limits)
        .with_mail(mail.clone())
        .with_node(node.clone())
        .with_operator(settings.operator_token.clone().map(|token| suoja_http::OperatorAccess {
            token,
            region: settings.region.clone(),
        }));
    let (worker_stop, worker_rx) = tokio::sync::watch::channel(false);
    let retention_every = Duration::from_secs(settings.retention_interval_secs);
    let mail = mail.map(|setup| crate::worker::MailWork {
        setup,
        tenant: settings.mail_tenant.clone(),
        poll: Duration::from_secs(settings.imap_poll_secs.max(1)),
    });
    let worker = tokio::spawn(crate::worker::run(privacy.clone(), node.clone(), retention_every, mail, worker_rx));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let task = tokio::spawn(suoja_http::serve(
        listener,
        state,
        async move {
            let _ = rx.await;
        },
        grace,
    ));
    Ok(Running {
        addr,
        helpdesk,
        privacy,
        stop: Some(tx),
        task,
        worker_stop,
        worker,
        node,
        drain: Duration::from_secs(settings.shutdown_drain_secs),
    })
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Refuses to serve a database that has no tenant yet unless asked to create a demo one.
pub fn require_tenant(has_tenant: bool) -> anyhow::Result<()> {
    if !has_tenant {
        bail!("this installation has no tenant yet: run `suoja init --admin-email you@example.com`, or `suoja serve --demo`");
    }
    Ok(())
}

/// `SUOJA_TEST_CRASH_AT=<point>` (tests only) makes the process kill itself with SIGKILL when
/// the erasure runner reaches `<point>` (such as `after:tickets` or `commit:profile`), so tests
/// can show that an erasure interrupted anywhere completes after a restart. Release builds have
/// no such hook.
#[cfg(not(debug_assertions))]
fn crash_hook() -> suoja_privacy::FaultHook {
    suoja_privacy::FaultHook::default()
}

#[cfg(debug_assertions)]
fn crash_hook() -> suoja_privacy::FaultHook {
    let Ok(at) = std::env::var("SUOJA_TEST_CRASH_AT") else {
        return suoja_privacy::FaultHook::default();
    };
    suoja_privacy::FaultHook::new(move |point| {
        if point == at {
            let pid = std::process::id().to_string();
            let _ = std::process::Command::new("kill").args(["-9", &pid]).status();
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    })
}
