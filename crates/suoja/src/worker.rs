//! Background work of a running server, in loops that never wait on each other. The privacy
//! loop writes the consultation log in batches, resumes erasures that were interrupted or waited
//! on a legal hold that has ended, takes over export builds whose node went silent, applies the
//! retention policies (trash, closed tickets, inactive people, files, recordings, links,
//! packages), deletes expired export packages and uploads never attached to a comment. The
//! delivery loop sends queued webhook events — several at once, at most two per endpoint, an
//! endpoint that keeps failing backed off — recording each in the disclosure log of the people
//! it carried; a dead endpoint delays only its own deliveries. The mail loop sends the outbox
//! over SMTP and empties the IMAP mailboxes: the installation's (`imap_url`) and those the
//! tenants' admins added, one task each, started and stopped as they are added and removed, each
//! held by one node at a time through a lease. Work is claimed from the durable queue, so several
//! nodes can run this side by side and a crash loses nothing. The cluster loop writes this node's
//! heartbeat and counts the nodes serving the database; work that must run once per interval
//! across them all (the retention sweep and the hourly automations) is run by whichever node
//! takes that interval's turn. The blob loop deletes the blobs of deleted files, moves files
//! still in the database into a configured blob store, and sweeps blobs no file names. The
//! statistics loop refreshes the query planner's figures hourly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use suoja_core::Timestamp;
use suoja_helpdesk::cluster::FirstTurn;
use suoja_helpdesk::webhooks::DELIVERY;
use suoja_http::node::Node;
use suoja_privacy::Privacy;
use tokio::sync::{Semaphore, watch};

/// Attempts before a delivery is given up.
const MAX_ATTEMPTS: i64 = 8;

/// Deliveries in flight at once.
const DELIVERIES_AT_ONCE: usize = 16;
/// Deliveries in flight to one endpoint host at once.
const PER_ENDPOINT: usize = 2;
/// Longest one pass over the IMAP mailbox may take.
const IMAP_PASS: Duration = Duration::from_secs(300);
/// Longest one pass over a tenant's mailbox may take (within its lease, `LEASE_MS`).
const TENANT_PASS: Duration = Duration::from_secs(100);
/// Longest a wait for new mail in a tenant's mailbox lasts before the lease is renewed.
const TENANT_WAIT: Duration = Duration::from_secs(40);
/// Between looks at the list of tenants' mailboxes.
const MAILBOX_LIST_EVERY: Duration = Duration::from_secs(3);
/// Longest an endpoint that keeps failing is left alone.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Runs until `stop` turns true, then flushes what is pending.
pub async fn run(privacy: Privacy, node: Arc<Node>, retention_every: Duration, mail: Option<MailWork>, stop: watch::Receiver<bool>) {
    let deliveries = tokio::spawn(deliver(privacy.clone(), stop.clone()));
    let mail = mail.map(|m| tokio::spawn(mail_loop(m, stop.clone())));
    let automations = tokio::spawn(automations_loop(privacy.helpdesk().clone(), node.clone(), stop.clone()));
    let cluster = tokio::spawn(cluster_loop(privacy.helpdesk().clone(), node.clone(), stop.clone()));
    let blobs = tokio::spawn(blob_loop(privacy.helpdesk().clone(), node.clone(), stop.clone()));
    let statistics = tokio::spawn(statistics_loop(privacy.helpdesk().db().clone(), stop.clone()));
    privacy_work(&privacy, &node, retention_every, stop).await;
    let _ = deliveries.await;
    let _ = automations.await;
    let _ = cluster.await;
    let _ = blobs.await;
    let _ = statistics.await;
    if let Some(m) = mail {
        let _ = m.await;
    }
}

/// The mail loop's setting: the channel with SMTP and IMAP when configured.
#[derive(Debug)]
pub struct MailWork {
    /// The mail channel.
    pub setup: suoja_mail::Setup,
    /// The tenant fetched mail belongs to.
    pub tenant: Option<String>,
    /// Between looks at the mailbox.
    pub poll: Duration,
}

/// Sends the outbox every half second; a failing mail server delays only mail. The mailbox is
/// emptied by a task of its own ([`imap_loop`]).
async fn mail_loop(m: MailWork, mut stop: watch::Receiver<bool>) {
    let imap = m
        .setup
        .imap
        .clone()
        .map(|imap| tokio::spawn(imap_loop(m.setup.room.clone(), imap, m.tenant.clone(), m.poll, stop.clone())));
    let tenants = tokio::spawn(tenant_mailboxes(m.setup.room.clone(), m.poll, stop.clone()));
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        if !tick_or_stop(&mut tick, &mut stop).await {
            break;
        }
        let room = &m.setup.room;
        if let Some(smtp) = &m.setup.smtp {
            loop {
                match room.send_due(smtp).await {
                    // A full batch: there may be more waiting.
                    Ok(s) if s.sent + s.retried + s.failed >= 20 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "sending mail failed");
                        break;
                    }
                }
            }
        }
    }
    if let Some(i) = imap {
        let _ = i.await;
    }
    let _ = tenants.await;
}

/// A mailbox's fetching task: the sealed settings it runs with, its stop switch, the task.
type Fetcher = (Vec<u8>, watch::Sender<bool>, tokio::task::JoinHandle<()>);

/// Keeps one fetching task per mailbox the tenants' admins added: a new one starts within
/// seconds, a removed or replaced one stops.
async fn tenant_mailboxes(room: suoja_mail::Mailroom, poll: Duration, mut stop: watch::Receiver<bool>) {
    let owner = suoja_core::random::hex_id();
    let mut running: HashMap<i64, Fetcher> = HashMap::new();
    loop {
        let known = |id: i64, version: &[u8]| running.get(&id).is_some_and(|(v, _, _)| v.as_slice() == version);
        match room.tenant_mailboxes(known).await {
            Ok((present, list)) => {
                running.retain(|id, (version, quit, _)| {
                    let keep = present.iter().any(|(i, v)| i == id && v == version);
                    if !keep {
                        let _ = quit.send(true);
                    }
                    keep
                });
                for m in list {
                    if running.contains_key(&m.id) {
                        continue;
                    }
                    let (quit, quitting) = watch::channel(false);
                    let id = m.id;
                    let version = m.version.clone();
                    let task = tokio::spawn(tenant_mailbox(room.clone(), m, owner.clone(), poll, quitting, stop.clone()));
                    running.insert(id, (version, quit, task));
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing the tenants' mailboxes failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(MAILBOX_LIST_EVERY) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    for (_, (_, quit, task)) in running {
        let _ = quit.send(true);
        let _ = task.await;
    }
}

/// Empties one tenant's mailbox while this node holds its lease, then waits for new mail; stops
/// when the mailbox is removed or the server shuts down.
async fn tenant_mailbox(
    room: suoja_mail::Mailroom,
    m: suoja_mail::tenant::TenantMailbox,
    owner: String,
    poll: Duration,
    mut quit: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let wait_max = poll.min(TENANT_WAIT);
    loop {
        if *stop.borrow() || *quit.borrow() {
            break;
        }
        let mine = match room.lease_mailbox(&m, &owner).await {
            Ok(mine) => mine,
            Err(e) => {
                tracing::warn!(tenant.id = %m.tenant, mailbox.id = m.id, error = %e, "taking a mailbox's lease failed");
                false
            }
        };
        let mut failed = true;
        if mine {
            let fetched = tokio::select! {
                r = tokio::time::timeout(TENANT_PASS, room.fetch_once(&m.imap, m.tenant)) => r.unwrap_or_else(|_| Err(suoja_mail::MailError::Server("IMAP: the pass took too long".into()))),
                _ = stop.changed() => break,
                _ = quit.changed() => break,
            };
            let error = fetched.as_ref().err();
            if let Err(e) = room.note_mailbox(&m, error).await {
                tracing::warn!(tenant.id = %m.tenant, mailbox.id = m.id, error = %e, "noting a mailbox's pass failed");
            }
            match fetched {
                Ok(f) => {
                    if f.stored + f.refused + f.kept > 0 {
                        tracing::info!(tenant.id = %m.tenant, mailbox.id = m.id, stored = f.stored, refused = f.refused, kept = f.kept, "mailbox fetched");
                    }
                    failed = f.kept > 0;
                }
                Err(e) => tracing::warn!(tenant.id = %m.tenant, mailbox.id = m.id, error = %e, "fetching mail failed"),
            }
        }
        let wait = async {
            if failed {
                tokio::time::sleep(wait_max).await;
            } else {
                let waited = tokio::time::timeout(wait_max + Duration::from_secs(10), room.wait_for_mail(&m.imap, wait_max)).await;
                if let Ok(Err(e)) = waited {
                    tracing::warn!(tenant.id = %m.tenant, mailbox.id = m.id, error = %e, "waiting for mail failed");
                    tokio::time::sleep(wait_max).await;
                }
            }
        };
        tokio::select! {
            () = wait => {}
            _ = stop.changed() => break,
            _ = quit.changed() => break,
        }
    }
}

/// Empties the mailbox, then waits for new mail (IDLE where offered, at most `poll`), until
/// stopped; a mail server that is away, or mail left behind, is tried again after `poll`.
async fn imap_loop(room: suoja_mail::Mailroom, imap: suoja_mail::imap::Imap, tenant: Option<String>, poll: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            break;
        }
        // Bounded: a mail server that stops answering mid-pass delays the next pass, not
        // shutdown and not forever.
        let pass = async {
            match room.tenant(tenant.as_deref()).await {
                Ok(t) => room.fetch_once(&imap, t).await,
                Err(e) => Err(e),
            }
        };
        let fetched = tokio::select! {
            r = tokio::time::timeout(IMAP_PASS, pass) => r.unwrap_or_else(|_| Err(suoja_mail::MailError::Server("IMAP: the pass took too long".into()))),
            _ = stop.changed() => break,
        };
        let failed = match fetched {
            Ok(f) => {
                if f.stored + f.refused + f.kept > 0 {
                    tracing::info!(stored = f.stored, refused = f.refused, kept = f.kept, "mailbox fetched");
                }
                // Mail left behind waits a full interval (the mailbox is not empty, so IDLE would
                // not wait at all).
                f.kept > 0
            }
            Err(e) => {
                tracing::warn!(error = %e, "fetching mail failed");
                true
            }
        };
        let wait = async {
            if failed {
                tokio::time::sleep(poll).await;
            } else {
                let waited = tokio::time::timeout(poll + Duration::from_secs(30), room.wait_for_mail(&imap, poll)).await;
                if let Ok(Err(e)) = waited {
                    tracing::warn!(error = %e, "waiting for mail failed");
                    tokio::time::sleep(poll).await;
                }
            }
        };
        tokio::select! {
            () = wait => {}
            _ = stop.changed() => break,
        }
    }
}

/// Waits for the next tick; false once the server is stopping.
async fn tick_or_stop(tick: &mut tokio::time::Interval, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tick.tick() => {}
        _ = stop.changed() => return false,
    }
    !*stop.borrow()
}

/// Whether this node takes the interval's turn at `work` (counted in its metrics); a failure to
/// ask is logged and counts as not this node's turn.
async fn my_turn(hd: &suoja_helpdesk::Helpdesk, node: &Node, work: &'static str, every: Duration, first: FirstTurn) -> bool {
    match hd.take_turn(work, &node.name, every, first).await {
        Ok(true) => {
            node.took_turn(work);
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::warn!(error = %e, work, "asking for a turn at cluster-wide work failed");
            false
        }
    }
}

/// How often the automations run (Zendesk's automations run hourly).
const AUTOMATIONS_EVERY: Duration = Duration::from_secs(3_600);

/// How often a node asks whether the automations' turn is due.
const AUTOMATIONS_ASK_EVERY: Duration = Duration::from_secs(60);

/// How often a node writes its heartbeat.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Runs the automations hourly across the nodes, apart from the privacy work (a long pass never
/// delays an erasure or a retention sweep): each node asks every minute whether the hour's turn
/// is due, and one takes it; the first pass comes an hour after the first node started. A pass
/// ends between automations when the server stops.
async fn automations_loop(hd: suoja_helpdesk::Helpdesk, node: Arc<Node>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + AUTOMATIONS_ASK_EVERY, AUTOMATIONS_ASK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if !tick_or_stop(&mut tick, &mut stop).await {
            break;
        }
        if !my_turn(&hd, &node, "automations", AUTOMATIONS_EVERY, FirstTurn::AfterAnInterval).await {
            continue;
        }
        let stopping = stop.clone();
        if let Err(e) = hd.run_automations_until(&move || *stopping.borrow()).await {
            tracing::warn!(error = %e, "running the automations failed");
        }
    }
}

/// How often the query planner's statistics are refreshed.
const STATISTICS_EVERY: Duration = Duration::from_secs(3_600);

/// Refreshes the query planner's statistics hourly, the first time an hour after start
/// (`dialect::refresh_statistics`: on SQLite the tables never analysed or whose size changed
/// tenfold are analysed again, and the writers load the result). A server started on a new
/// database, whose tables had no statistics, would otherwise plan with SQLite's default
/// estimates for as long as it runs.
async fn statistics_loop(db: suoja_store::Db, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + STATISTICS_EVERY, STATISTICS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while tick_or_stop(&mut tick, &mut stop).await {
        if let Err(e) = suoja_store::dialect::refresh_statistics(&db).await {
            tracing::warn!(error = %e, "refreshing the planner's statistics failed");
        }
    }
}

/// How often blobs left without a row are looked for.
const BLOB_ORPHANS_EVERY: Duration = Duration::from_secs(3_600);

/// How old a blob without a row must be to be taken for an orphan (an upload still in its
/// transaction has put its blob but not yet committed its row).
const BLOB_ORPHAN_AGE_MS: i64 = 86_400_000;

/// Keeps the blob store in step with the database, apart from the privacy work (a slow store
/// never delays the privacy loop): every two seconds deletes the blobs whose rows went
/// (checking each is gone), moves files still kept in the database into the store until none
/// is left (looking again every ten minutes), and hourly — one node per hour across the cluster — deletes blobs no row names
/// that are a day old (an upload whose transaction failed after its blob was put).
async fn blob_loop(hd: suoja_helpdesk::Helpdesk, node: Arc<Node>, mut stop: watch::Receiver<bool>) {
    let db = hd.db().clone();
    let blobs = db.blobs().clone();
    if !blobs.is_external() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Looked for at start and every ten minutes (a process without the store may have written
    // files into the database meanwhile), and in every pass while some are left.
    let mut moving = true;
    let mut last_moved = Instant::now();
    let mut last_asked = Instant::now();
    loop {
        if !tick_or_stop(&mut tick, &mut stop).await {
            break;
        }
        match blobs.empty_trash(&db, None).await {
            Ok(n) if n > 0 => tracing::info!(blobs = n, "blobs of deleted files deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "deleting the blobs of deleted files failed"),
        }
        if !moving && last_moved.elapsed() >= Duration::from_secs(600) {
            moving = true;
        }
        if moving {
            last_moved = Instant::now();
            match suoja_store::blobs::move_into_store(&db, 100).await {
                Ok(0) => moving = false,
                Ok(n) => tracing::info!(files = n, "files moved from the database into the blob store"),
                Err(e) => tracing::warn!(error = %e, "moving files into the blob store failed"),
            }
        }
        if last_asked.elapsed() < Duration::from_secs(60) {
            continue;
        }
        last_asked = Instant::now();
        if my_turn(&hd, &node, "blob_orphans", BLOB_ORPHANS_EVERY, FirstTurn::AfterAnInterval).await {
            let before = Timestamp(hd.now().0 - BLOB_ORPHAN_AGE_MS);
            match blobs.sweep_orphans(&db, None, before).await {
                Ok(n) if n > 0 => tracing::info!(blobs = n, "blobs no file names deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "looking for blobs no file names failed"),
            }
        }
    }
}

/// Writes this node's heartbeat every few seconds and notes how many nodes are alive (each
/// enforces its share of the rate limits); at the stop, leaves the count at once.
async fn cluster_loop(hd: suoja_helpdesk::Helpdesk, node: Arc<Node>, mut stop: watch::Receiver<bool>) {
    let started = suoja_core::Clock::now(&suoja_core::clock::SystemClock);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if !tick_or_stop(&mut tick, &mut stop).await {
            break;
        }
        match hd.heartbeat(&node.name, started).await {
            Ok(alive) => node.set_nodes_alive(u32::try_from(alive.len()).unwrap_or(u32::MAX)),
            Err(e) => tracing::warn!(error = %e, "writing this node's heartbeat failed"),
        }
    }
    if let Err(e) = hd.leave_cluster(&node.name).await {
        tracing::warn!(error = %e, "leaving the count of nodes failed");
    }
}

async fn privacy_work(privacy: &Privacy, node: &Node, retention_every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    // The sweep runs once per `retention_every` across the nodes; each asks at most this often
    // whether the turn is due.
    let ask_every = retention_every.min(Duration::from_secs(10));
    let mut last_asked: Option<Instant> = None;
    let mut last_erasures: Option<Instant> = None;
    loop {
        if !tick_or_stop(&mut tick, &mut stop).await {
            break;
        }
        if let Err(e) = privacy.flush_consultations().await {
            tracing::warn!(error = %e, "writing the consultation log failed");
        }
        if last_erasures.is_none_or(|t| t.elapsed() > Duration::from_secs(2)) {
            last_erasures = Some(Instant::now());
            if let Err(e) = privacy.run_due_erasures().await {
                tracing::warn!(error = %e, "looking for due erasures failed");
            }
            // Lines of the erasure ledger other nodes wrote, into this node's file.
            if let Err(e) = privacy.sync_erasure_log().await {
                tracing::warn!(error = %e, "copying the erasure ledger into this node's file failed");
            }
            match privacy.resume_dead_builds().await {
                Ok(n) if n > 0 => tracing::info!(packages = n, "export builds of a silent node taken over"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "looking for export builds of a silent node failed"),
            }
        }
        if last_asked.is_none_or(|t| t.elapsed() >= ask_every) {
            last_asked = Some(Instant::now());
            if !my_turn(privacy.helpdesk(), node, "retention", retention_every, FirstTurn::Now).await {
                continue;
            }
            if let Err(e) = privacy.run_retention().await {
                tracing::warn!(error = %e, "applying the retention policies failed");
            }
            match privacy.purge_expired_packages().await {
                Ok(n) if n > 0 => tracing::info!(packages = n, "expired export packages deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping expired export packages failed"),
            }
            match privacy.helpdesk().purge_unattached_uploads().await {
                Ok(n) if n > 0 => tracing::info!(files = n, "uploads never attached deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping unattached uploads failed"),
            }
            match privacy.helpdesk().purge_finished_mail().await {
                Ok(n) if n > 0 => tracing::info!(messages = n, "sent mail older than 30 days forgotten"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping the outbox failed"),
            }
            match privacy.helpdesk().purge_web_state().await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired sign-in sessions and form ids deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping expired sign-in sessions failed"),
            }
        }
    }
    if let Err(e) = privacy.flush_consultations().await {
        tracing::warn!(error = %e, "writing the consultation log at shutdown failed");
    }
}

/// What the delivery loop shares between deliveries: the client, the bounds, and endpoints'
/// recent failures.
#[derive(Clone)]
struct Delivery {
    privacy: Privacy,
    client: reqwest::Client,
    per_endpoint: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    backoff: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

async fn deliver(privacy: Privacy, mut stop: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PublicResolver(privacy.helpdesk().endpoint_policy().clone())))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not be built; deliveries are paused");
            return;
        }
    };
    let d = Delivery {
        privacy,
        client,
        per_endpoint: Arc::default(),
        backoff: Arc::default(),
    };
    let all = Arc::new(Semaphore::new(DELIVERIES_AT_ONCE));
    let mut running = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        if !tick_or_stop(&mut tick, &mut stop).await {
            break;
        }
        while running.try_join_next().is_some() {}
        let free = all.available_permits();
        if free == 0 {
            continue;
        }
        let hd = d.privacy.helpdesk();
        let items = match claim(hd, hd.now(), free).await {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(error = %e, "claiming queued work failed");
                continue;
            }
        };
        for item in items {
            let Ok(permit) = all.clone().try_acquire_owned() else { break };
            let d = d.clone();
            running.spawn(async move {
                d.one(item).await;
                drop(permit);
            });
        }
    }
    // In-flight deliveries end by their own timeout; a shutdown does not wait longer.
    let _ = tokio::time::timeout(Duration::from_secs(11), running.join_all()).await;
}

impl Delivery {
    fn host_slot(&self, host: &str) -> Arc<Semaphore> {
        let mut m = self.per_endpoint.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        m.entry(host.to_string()).or_insert_with(|| Arc::new(Semaphore::new(PER_ENDPOINT))).clone()
    }

    fn backing_off(&self, host: &str) -> Option<Duration> {
        let m = self.backoff.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        m.get(host).and_then(|(_, until)| until.checked_duration_since(Instant::now()))
    }

    fn note(&self, host: &str, ok: bool) {
        let mut m = self.backoff.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if ok {
            m.remove(host);
        } else {
            let failures = m.get(host).map_or(0, |(n, _)| *n).saturating_add(1);
            let wait = Duration::from_secs(1_u64 << failures.min(9)).min(MAX_BACKOFF);
            m.insert(host.to_string(), (failures, Instant::now() + wait));
        }
    }

    /// Delivers one queued item, or puts it back when its endpoint is busy or backing off.
    async fn one(&self, item: suoja_store::queue::WorkItem) {
        let hd = self.privacy.helpdesk();
        let now = hd.now();
        if item.kind != DELIVERY {
            finish(hd, item.id, Err("unknown work kind".into()), item.attempts).await;
            return;
        }
        let d = match hd.prepare_delivery(&item).await {
            Ok(None) => return finish(hd, item.id, Ok(()), item.attempts).await,
            Ok(Some(d)) => d,
            Err(e) => return finish(hd, item.id, Err(e.to_string()), item.attempts).await,
        };
        // An endpoint is its host and port: another port on the same host is another server.
        let host = url::Url::parse(&d.endpoint)
            .ok()
            .and_then(|u| u.host_str().map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0))))
            .unwrap_or_default();
        if let Some(wait) = self.backing_off(&host) {
            return postpone(hd, item.id, now, wait).await;
        }
        let slot = self.host_slot(&host);
        let Ok(_held) = slot.try_acquire_owned() else {
            return postpone(hd, item.id, now, Duration::from_secs(1)).await;
        };
        let result = match hd.endpoint_policy().check_url(&d.endpoint) {
            // Checked again at delivery: the policy may have changed since registration.
            Err(_) => Err("endpoint not allowed".to_string()),
            Ok(_) => {
                let timestamp = now.to_iso();
                let signature = suoja_helpdesk::webhooks::signature(d.secret.expose(), &timestamp, &d.body);
                let sent = self
                    .client
                    .post(&d.endpoint)
                    .header("content-type", "application/json")
                    .header("x-suoja-event", d.event.as_str())
                    .header("x-zendesk-webhook-invocation-id", item.id.to_string())
                    .header("x-zendesk-webhook-signature-timestamp", timestamp)
                    .header("x-zendesk-webhook-signature", signature)
                    .body(d.body.clone())
                    .send()
                    .await;
                let r = match sent {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("endpoint answered {}", r.status().as_u16())),
                    Err(e) if e.is_timeout() => Err("endpoint timed out".to_string()),
                    Err(_) => Err("endpoint unreachable".to_string()),
                };
                self.note(&host, r.is_ok());
                r
            }
        };
        let label = match &result {
            Ok(()) => "delivered".to_string(),
            Err(m) => format!("failed: {m}"),
        };
        if let Err(e) = hd.record_delivery(&d, &label).await {
            tracing::warn!(error = %e, "recording a disclosure failed");
        }
        tracing::info!(tenant.id = %d.tenant, webhook.id = d.webhook, event = d.event, outcome = label, "webhook delivery");
        finish(hd, item.id, result, item.attempts).await;
    }
}

async fn postpone(hd: &suoja_helpdesk::Helpdesk, id: i64, now: Timestamp, wait: Duration) {
    let at = Timestamp(now.0 + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2));
    let result = async {
        let mut tx = hd.db().begin().await?;
        suoja_store::queue::postpone(&mut tx, id, at, now).await?;
        tx.commit().await?;
        Ok::<(), suoja_store::StoreError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "putting queued work back failed");
    }
}

/// Resolves webhook hosts for the delivery client, keeping only addresses Suoja may reach: the
/// client connects to exactly what was checked, so a host name that resolves to a public address
/// when registered and a private one later (DNS rebinding) reaches nothing.
struct PublicResolver(suoja_helpdesk::webhooks::EndpointPolicy);

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let listed = self.0.allows_host(&host);
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let keep: Vec<std::net::SocketAddr> = found.into_iter().filter(|a| listed || suoja_helpdesk::webhooks::is_public(a.ip())).collect();
            if keep.is_empty() {
                return Err("the endpoint resolves to no address webhooks may reach".into());
            }
            Ok(Box::new(keep.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

async fn claim(hd: &suoja_helpdesk::Helpdesk, now: Timestamp, limit: usize) -> Result<Vec<suoja_store::queue::WorkItem>, suoja_store::StoreError> {
    let mut tx = hd.db().begin().await?;
    let items = suoja_store::queue::claim(&mut tx, now, 60_000, i64::try_from(limit).unwrap_or(20)).await?;
    tx.commit().await?;
    Ok(items)
}

async fn finish(hd: &suoja_helpdesk::Helpdesk, id: i64, outcome: Result<(), String>, attempts: i64) {
    let now = hd.now();
    let result = async {
        let mut tx = hd.db().begin().await?;
        match &outcome {
            Ok(()) => suoja_store::queue::complete(&mut tx, id, now).await?,
            Err(m) => {
                let retry = (attempts + 1 < MAX_ATTEMPTS).then(|| Timestamp(now.0 + 1000 * (1_i64 << (attempts + 1).min(12))));
                suoja_store::queue::fail(&mut tx, id, m, retry, now).await?;
            }
        }
        tx.commit().await?;
        Ok::<(), suoja_store::StoreError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "updating queued work failed");
    }
}
