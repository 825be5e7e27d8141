//! Reading another helpdesk's REST API as a well-behaved client: its API token sent only to its
//! own origin, requests paced under the rate limit the account reports (`X-Rate-Limit`, per
//! minute), `429`/`503` answered by waiting as `Retry-After` says, and transient failures
//! retried with growing pauses before the import stops (to be resumed from its checkpoint).

use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

/// Attempts at one request before the import stops.
const ATTEMPTS: u32 = 8;
/// The longest wait a `Retry-After` may ask of us.
const LONGEST_WAIT: Duration = Duration::from_secs(120);
/// The share of the account's rate limit an import uses (the rest is left to the account's
/// other integrations).
const SHARE: f64 = 0.8;
/// The largest page of JSON read from the source.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// A file the source points at.
pub enum File {
    /// Its bytes.
    Got(Vec<u8>),
    /// The source no longer has it.
    Gone,
    /// Left where it is, and why.
    Left(&'static str),
}

/// A client of one account's API.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// The account is on this machine (a test, or a migration between two installations
    /// here): files on other loopback addresses may be fetched.
    loopback: bool,
    auth: String,
    pace: Mutex<Pace>,
    max_per_minute: Option<u32>,
}

struct Pace {
    next: Instant,
    gap: Duration,
}

impl Client {
    /// A client of the account at `base` (https, or http on a loopback address), signing in as
    /// `email` with an API `token`; at most `max_per_minute` requests a minute when given.
    pub fn new(base: &str, email: &str, token: &str, max_per_minute: Option<u32>) -> anyhow::Result<Self> {
        let mut base = Url::parse(base.trim()).context("--url: not a URL")?;
        let loopback = match base.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => bail!("--url: name the account's address, e.g. https://acme.zendesk.com"),
        };
        match base.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => bail!("--url: use https (the API token must not travel in the clear)"),
        }
        base.set_path("/");
        base.set_query(None);
        base.set_fragment(None);
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}/token:{}", email.trim(), token.trim()))
        );
        let http = reqwest::Client::builder()
            .user_agent(concat!("suoja-import/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            http,
            base,
            loopback,
            auth,
            pace: Mutex::new(Pace {
                next: Instant::now(),
                gap: Duration::ZERO,
            }),
            max_per_minute,
        })
    }

    /// The account's name as an import remembers it: the host (and port, when not the default)
    /// the account gives its own records (the signed-in person's `url`, so an account reached
    /// through a custom domain is still itself), or else the address given. Asking also checks
    /// the credentials before anything is read.
    pub async fn source(&self) -> anyhow::Result<String> {
        let me = self.json(&self.url("/api/v2/users/me.json")?).await?;
        let own = me
            .as_ref()
            .and_then(|v| v.pointer("/user/url"))
            .and_then(Value::as_str)
            .and_then(|u| Url::parse(u).ok())
            .filter(|u| u.host_str().is_some());
        Ok(host_and_port(own.as_ref().unwrap_or(&self.base)))
    }

    /// An API path (`/api/v2/...`) or a full URL the account gave (a next page) as a URL of this
    /// account; a URL elsewhere is refused, since it would carry the token away.
    pub fn url(&self, path_or_url: &str) -> anyhow::Result<Url> {
        let url = self.base.join(path_or_url).context("a page address the source gave is not a URL")?;
        if !self.same_origin(&url) {
            bail!("the source named a page on another site; the import does not follow it");
        }
        Ok(url)
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// GETs a JSON document; `None` when the source says it is not there (404).
    pub async fn json(&self, url: &Url) -> anyhow::Result<Option<Value>> {
        let Some(resp) = self.get(url, true).await? else {
            return Ok(None);
        };
        let Some(body) = read_at_most(resp, MAX_PAGE_BYTES).await? else {
            bail!("a page of the source is larger than {} MB ({})", MAX_PAGE_BYTES >> 20, url.path());
        };
        let v: Value = serde_json::from_slice(&body).with_context(|| format!("the source's answer for {} is not JSON", url.path()))?;
        Ok(Some(v))
    }

    /// GETs a file (an attachment's `content_url`) of at most `max` bytes. The token goes only
    /// to the account's own origin; a file elsewhere is fetched only over https from a named
    /// host that is not this machine or a private network (unless the account itself is on
    /// this machine), so a source cannot make the import read internal addresses.
    pub async fn file(&self, url: &str, max: usize) -> anyhow::Result<File> {
        let Ok(url) = Url::parse(url) else {
            return Ok(File::Left("files whose address is not a URL, left out"));
        };
        let signed = self.same_origin(&url);
        if !signed && !self.loopback && !public_https(&url) {
            return Ok(File::Left("files at an address that is not public https, left out"));
        }
        if !matches!(url.scheme(), "https" | "http") {
            return Ok(File::Left("files whose address is not a web address, left out"));
        }
        let Some(resp) = self.get(&url, signed).await? else {
            return Ok(File::Gone);
        };
        if resp.content_length().is_some_and(|n| n > max as u64) {
            return Ok(File::Left("files larger than Suoja keeps, left out"));
        }
        Ok(match read_at_most(resp, max).await? {
            Some(bytes) => File::Got(bytes),
            None => File::Left("files larger than Suoja keeps, left out"),
        })
    }

    async fn get(&self, url: &Url, signed: bool) -> anyhow::Result<Option<reqwest::Response>> {
        let mut pause = Duration::from_millis(500);
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            self.wait_turn().await;
            let mut req = self.http.get(url.clone()).header("Accept", "application/json");
            if signed {
                req = req.header("Authorization", &self.auth);
            }
            match req.send().await {
                Ok(resp) => {
                    self.learn_limit(&resp).await;
                    let status = resp.status().as_u16();
                    match status {
                        200..=299 => return Ok(Some(resp)),
                        404 | 410 => return Ok(None),
                        401 => bail!("the source refused the e-mail address and API token (401)"),
                        403 => bail!("the source's account does not let this token read {} (403)", url.path()),
                        429 | 503 => {
                            let wait = retry_after(&resp).unwrap_or(pause);
                            last = format!("the source asked us to wait ({status})");
                            self.hold_everyone(wait.min(LONGEST_WAIT)).await;
                            continue;
                        }
                        500..=599 => last = format!("the source failed ({status})"),
                        _ => bail!("the source answered {status} for {}", url.path()),
                    }
                }
                Err(e) => {
                    let why = chain(&e);
                    // A certificate that is not trusted stays so: no point in asking again.
                    if why.contains("certificate") || why.contains("Certificate") {
                        bail!("the source's TLS certificate is not trusted ({why}); nothing was read");
                    }
                    last = format!("could not reach the source: {why}");
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(30));
        }
        bail!("{last}; gave up after {ATTEMPTS} attempts (run the import again to resume)")
    }

    /// Waits until this request may start under the pace, and books the next start.
    async fn wait_turn(&self) {
        let start = {
            let mut p = self.pace.lock().await;
            let now = Instant::now();
            let start = p.next.max(now);
            p.next = start + p.gap;
            start
        };
        tokio::time::sleep_until(start).await;
    }

    /// Holds every request for `wait` (the source asked for it).
    async fn hold_everyone(&self, wait: Duration) {
        let until = Instant::now() + wait;
        {
            let mut p = self.pace.lock().await;
            p.next = p.next.max(until);
        }
        tokio::time::sleep_until(until).await;
    }

    /// Paces requests at a share of the limit the source reports (and under `--max-rate`).
    async fn learn_limit(&self, resp: &reqwest::Response) {
        let reported = resp
            .headers()
            .get("x-rate-limit")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| *n > 0.0)
            .map(|n| n * SHARE);
        let cap = self.max_per_minute.map(f64::from);
        let per_minute = match (reported, cap) {
            (Some(r), Some(c)) => r.min(c),
            (Some(r), None) => r,
            (None, Some(c)) => c,
            (None, None) => return,
        };
        if per_minute >= 1.0 {
            self.pace.lock().await.gap = Duration::from_secs_f64(60.0 / per_minute);
        }
    }
}

/// `host` or `host:port` of an address.
fn host_and_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// An error with its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// A response's body, or `None` once it passes `max` bytes.
async fn read_at_most(mut resp: reqwest::Response, max: usize) -> anyhow::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.context("reading the source's answer")? {
        if out.len() + chunk.len() > max {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// An https address on a named host that is not this machine, or an address on the public
/// internet.
fn public_https(url: &Url) -> bool {
    if url.scheme() != "https" {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d != "localhost" && !d.ends_with(".localhost") && !d.ends_with(".local") && !d.ends_with(".internal")
        }
        Some(url::Host::Ipv4(ip)) => !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified() || ip.is_broadcast()),
        Some(url::Host::Ipv6(ip)) => {
            !(ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00 || (ip.segments()[0] & 0xffc0) == 0xfe80)
        }
        None => false,
    }
}

/// The wait a `Retry-After` header asks for (seconds).
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let secs: f64 = resp.headers().get("retry-after")?.to_str().ok()?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.max(0.1)))
}

/// The next page of a list the source gave: cursor pagination (`meta.has_more`, `links.next`)
/// or offset pagination (`next_page`).
pub fn next_page(v: &Value) -> Option<String> {
    if let Some(more) = v.pointer("/meta/has_more").and_then(Value::as_bool) {
        return more.then(|| v.pointer("/links/next").and_then(Value::as_str).map(str::to_string)).flatten();
    }
    v.get("next_page").and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_carries_a_token() {
        assert!(Client::new("http://acme.zendesk.com", "a@b.example", "t", None).is_err());
        assert!(Client::new("ftp://127.0.0.1", "a@b.example", "t", None).is_err());
        assert!(Client::new("https://acme.zendesk.com/agent/tickets", "a@b.example", "t", None).is_ok());
        let c = Client::new("http://127.0.0.1:8080/", "a@b.example", "t", None).unwrap();
        assert_eq!(host_and_port(&c.base), "127.0.0.1:8080");
        assert_eq!(
            host_and_port(&Url::parse("https://Acme.Zendesk.com/api/v2/users/1.json").unwrap()),
            "acme.zendesk.com"
        );
        assert!(c.url("/api/v2/users.json").is_ok());
        assert!(c.url("https://evil.example/api/v2/users.json").is_err());
        assert!(c.url("http://127.0.0.1:8081/api/v2/users.json").is_err());
    }

    #[test]
    fn files_elsewhere_come_only_from_public_https() {
        let ok = |u: &str| public_https(&Url::parse(u).unwrap());
        assert!(ok("https://acme.zdusercontent.com/attachments/token/x/?name=a.png"));
        assert!(ok("https://93.184.215.14/a"));
        for bad in [
            "http://files.example/a",
            "https://localhost/a",
            "https://127.0.0.1/a",
            "https://10.1.2.3/a",
            "https://192.168.0.1/a",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/a",
            "https://[fd00::1]/a",
            "https://db.internal/a",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }

    #[test]
    fn next_page_follows_cursor_then_offset_pagination() {
        let cursor = serde_json::json!({"meta": {"has_more": true}, "links": {"next": "/n"}, "next_page": "/x"});
        assert_eq!(next_page(&cursor).as_deref(), Some("/n"));
        let done = serde_json::json!({"meta": {"has_more": false}, "links": {"next": "/n"}});
        assert_eq!(next_page(&done), None);
        let offset = serde_json::json!({"next_page": "/p2"});
        assert_eq!(next_page(&offset).as_deref(), Some("/p2"));
        assert_eq!(next_page(&serde_json::json!({"next_page": null})), None);
    }
}
