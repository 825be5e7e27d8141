//! A closed-loop load generator: `c` tasks each send a request, wait for the answer, repeat,
//! for a fixed time; latencies of successful answers are kept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

/// Figures of one measured point.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Successful requests per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50: f64,
    /// 99th percentile latency, ms.
    pub p99: f64,
    /// Requests that failed.
    pub errors: usize,
}

impl Stats {
    /// One line for the console.
    pub fn line(&self) -> String {
        format!(
            "{:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
            self.rps, self.p50, self.p99, self.errors
        )
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = suoja_core::num::floor_usize(((sorted.len() as f64 - 1.0) * p).round());
    sorted.get(idx).copied().unwrap_or(0.0)
}

/// Runs `conc` loops for `dur`, building the i-th request with `make`.
pub async fn run<F>(conc: usize, dur: Duration, auth: &(String, String), make: F) -> anyhow::Result<Stats>
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let client = reqwest::Client::builder().pool_max_idle_per_host(conc).build()?;
    let make = Arc::new(make);
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, make, counter, auth) = (client.clone(), make.clone(), counter.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while start.elapsed() < dur {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t0 = Instant::now();
                match make(&client, i).basic_auth(&auth.0, Some(&auth.1)).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    if all.is_empty() {
        bail!("no request succeeded ({errors} errors)");
    }
    all.sort_by(f64::total_cmp);
    Ok(Stats {
        rps: all.len() as f64 / elapsed,
        p50: pct(&all, 0.5),
        p99: pct(&all, 0.99),
        errors,
    })
}
