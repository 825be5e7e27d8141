//! Background work of a running server: writes the consultation log in batches, delivers queued
//! webhook events (recording each in the disclosure log of the people it carried, retrying with
//! backoff), resumes erasures that were interrupted or waited on a legal hold that has ended,
//! applies the retention policies (trash, closed tickets, inactive people, files, recordings,
//! links, packages) and deletes expired export packages. Work is claimed from
//! the durable queue, so several nodes can run this side by side and a crash loses nothing.

use std::time::{Duration, Instant};

use suoja_core::Timestamp;
use suoja_helpdesk::webhooks::DELIVERY;
use suoja_privacy::Privacy;
use tokio::sync::watch;

/// Attempts before a delivery is given up.
const MAX_ATTEMPTS: i64 = 8;

/// Runs until `stop` turns true, then flushes what is pending.
pub async fn run(privacy: Privacy, retention_every: Duration, mut stop: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(PublicResolver(privacy.helpdesk().endpoint_policy().clone())))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not be built; deliveries are paused");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_sweep: Option<Instant> = None;
    let mut last_erasures: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        step(&privacy, &client).await;
        if last_erasures.is_none_or(|t| t.elapsed() > Duration::from_secs(2)) {
            last_erasures = Some(Instant::now());
            if let Err(e) = privacy.run_due_erasures().await {
                tracing::warn!(error = %e, "looking for due erasures failed");
            }
        }
        if last_sweep.is_none_or(|t| t.elapsed() >= retention_every) {
            last_sweep = Some(Instant::now());
            if let Err(e) = privacy.run_retention().await {
                tracing::warn!(error = %e, "applying the retention policies failed");
            }
            match privacy.purge_expired_packages().await {
                Ok(n) if n > 0 => tracing::info!(packages = n, "expired export packages deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping expired export packages failed"),
            }
            match privacy.helpdesk().purge_web_state().await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired sign-in sessions and form ids deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping expired sign-in sessions failed"),
            }
        }
    }
    if let Err(e) = privacy.helpdesk().flush_consultations().await {
        tracing::warn!(error = %e, "writing the consultation log at shutdown failed");
    }
}

/// One round: flush the consultation log, deliver what is due.
pub async fn step(privacy: &Privacy, client: &reqwest::Client) {
    let hd = privacy.helpdesk();
    if let Err(e) = hd.flush_consultations().await {
        tracing::warn!(error = %e, "writing the consultation log failed");
    }
    let now = hd.now();
    let items = match claim(hd, now).await {
        Ok(items) => items,
        Err(e) => {
            tracing::warn!(error = %e, "claiming queued work failed");
            return;
        }
    };
    for item in items {
        if item.kind != DELIVERY {
            finish(hd, item.id, Err("unknown work kind".into()), item.attempts).await;
            continue;
        }
        let outcome = match hd.prepare_delivery(&item).await {
            Ok(None) => Ok(()),
            Ok(Some(d)) => {
                let result = match hd.endpoint_policy().check_url(&d.endpoint) {
                    // Checked again at delivery: the policy may have changed since registration.
                    Err(_) => Err("endpoint not allowed".to_string()),
                    Ok(_) => {
                        let timestamp = now.to_iso();
                        let signature = suoja_helpdesk::webhooks::signature(d.secret.expose(), &timestamp, &d.body);
                        let sent = client
                            .post(&d.endpoint)
                            .header("content-type", "application/json")
                            .header("x-suoja-event", d.event.as_str())
                            .header("x-zendesk-webhook-invocation-id", item.id.to_string())
                            .header("x-zendesk-webhook-signature-timestamp", timestamp)
                            .header("x-zendesk-webhook-signature", signature)
                            .body(d.body.clone())
                            .send()
                            .await;
                        match sent {
                            Ok(r) if r.status().is_success() => Ok(()),
                            Ok(r) => Err(format!("endpoint answered {}", r.status().as_u16())),
                            Err(e) if e.is_timeout() => Err("endpoint timed out".to_string()),
                            Err(_) => Err("endpoint unreachable".to_string()),
                        }
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
                result
            }
            Err(e) => Err(e.to_string()),
        };
        finish(hd, item.id, outcome, item.attempts).await;
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

async fn claim(hd: &suoja_helpdesk::Helpdesk, now: Timestamp) -> Result<Vec<suoja_store::queue::WorkItem>, suoja_store::StoreError> {
    let mut tx = hd.db().begin().await?;
    let items = suoja_store::queue::claim(&mut tx, now, 60_000, 20).await?;
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
