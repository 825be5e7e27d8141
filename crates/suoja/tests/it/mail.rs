//! The e-mail channel against real Postfix and Dovecot on loopback (started by `.ci/mail-start`,
//! named by `SUOJA_TEST_MAIL`): mail sent through Postfix to the support address is fetched
//! over IMAP and becomes a ticket; notifications go out through Postfix and are read from the
//! recipients' mailboxes over IMAP; the MTA pipe (`suoja mail deliver`) is fed by Postfix's
//! pipe transport. Each test has mailboxes of its own (random local parts), so tests run side
//! by side.

use std::time::Duration;

use futures_util::StreamExt as _;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Engine, TestApp, random_name};

/// Where the test mail servers are.
#[derive(Debug, Clone)]
pub struct MailEnv {
    pub smtp: (String, u16),
    pub imap: (String, u16),
    pub domain: String,
    pub password: String,
    pub pipe: std::path::PathBuf,
    /// The DNS server holding the sender domains' SPF, DKIM and DMARC records.
    pub dns: Option<std::net::SocketAddr>,
    /// Postfix requiring STARTTLS and a login.
    pub smtp_tls: (String, u16),
    /// Dovecot offering STARTTLS.
    pub imap_tls: (String, u16),
    /// Dovecot speaking TLS from the start.
    pub imaps: (String, u16),
    /// The CA that signed those servers' certificate.
    pub ca: std::path::PathBuf,
}

/// The test mail servers, if configured. In CI (`CI=true`) they must be.
pub fn mail_env() -> Option<MailEnv> {
    let Ok(v) = std::env::var("SUOJA_TEST_MAIL") else {
        assert!(std::env::var("CI").is_err(), "SUOJA_TEST_MAIL must be set in CI (.ci/mail-start prints it)");
        return None;
    };
    let get = |k: &str| {
        v.split(',')
            .find_map(|p| p.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("SUOJA_TEST_MAIL has no {k}="))
            .to_string()
    };
    let hp = |s: String| {
        let (h, p) = s.rsplit_once(':').unwrap();
        (h.to_string(), p.parse().unwrap())
    };
    Some(MailEnv {
        smtp: hp(get("smtp")),
        imap: hp(get("imap")),
        domain: get("domain"),
        password: get("password"),
        pipe: get("pipe").into(),
        dns: v.split(',').find_map(|p| p.strip_prefix("dns=")).map(|d| d.parse().unwrap()),
        smtp_tls: hp(get("smtp_tls")),
        imap_tls: hp(get("imap_tls")),
        imaps: hp(get("imaps")),
        ca: get("ca").into(),
    })
}

impl MailEnv {
    /// A fresh address of the test domain.
    pub fn address(&self, prefix: &str) -> String {
        format!("{}@{}", random_name(&format!("{prefix}-")), self.domain)
    }

    /// Hands `raw` to Postfix for `to`.
    pub async fn send(&self, from: &str, to: &[&str], raw: &[u8]) {
        let t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.smtp.0).port(self.smtp.1).build();
        let env = lettre::address::Envelope::new(Some(from.parse().unwrap()), to.iter().map(|a| a.parse().unwrap()).collect()).unwrap();
        t.send_raw(&env, raw).await.unwrap();
    }

    /// Every message in `address`'s INBOX, oldest first, left in place.
    pub async fn mailbox(&self, address: &str) -> Vec<String> {
        let tcp = tokio::net::TcpStream::connect((self.imap.0.as_str(), self.imap.1)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        let mut s = client.login(address, &self.password).await.map_err(|(e, _)| e).unwrap();
        s.select("INBOX").await.unwrap();
        let mut uids: Vec<u32> = s.uid_search("ALL").await.unwrap().into_iter().collect();
        uids.sort_unstable();
        let mut out = Vec::new();
        for uid in uids {
            let items: Vec<_> = s.uid_fetch(uid.to_string(), "BODY.PEEK[]").await.unwrap().collect().await;
            for f in items {
                if let Some(b) = f.unwrap().body() {
                    out.push(String::from_utf8_lossy(b).into_owned());
                }
            }
        }
        s.logout().await.unwrap();
        out
    }

    /// Waits until `address`'s INBOX holds a message whose headers and decoded text `pred`
    /// accepts; returns them (headers as sent, then a blank line, then the text).
    pub async fn wait_for(&self, address: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        for _ in 0..150 {
            if let Some(m) = self.mailbox(address).await.iter().map(|m| decoded(m)).find(|m| pred(m)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no message {what} reached {address}: {:?}", self.mailbox(address).await);
    }
}

/// A message's header block and its text body, decoded (transfer encoding and charset).
pub fn decoded(raw: &str) -> String {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let m = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
    format!("{head}\r\n\r\n{}", m.body_text(0).unwrap_or_default())
}

/// A server whose support address is a fresh mailbox of the test domain, fetched over IMAP
/// every second and sending through Postfix.
async fn spawn_mail(engine: Engine, env: &MailEnv) -> (TestApp, String) {
    spawn_mail_with(engine, env, |_| {}).await
}

/// As [`spawn_mail`], with more settings.
async fn spawn_mail_with(engine: Engine, env: &MailEnv, more: impl FnOnce(&mut suoja_config::Settings) + Send + 'static) -> (TestApp, String) {
    let support = env.address("support");
    let user = percent_encoding::utf8_percent_encode(&support, percent_encoding::NON_ALPHANUMERIC).to_string();
    let (smtp, imap) = (env.smtp.clone(), env.imap.clone());
    let password = env.password.clone();
    let from = support.clone();
    let ca = env.ca.clone();
    let app = TestApp::spawn_with(engine, move |s| {
        s.smtp_url = Some(format!("smtp://{}:{}?tls=none", smtp.0, smtp.1));
        s.imap_url = Some(format!("imap://{user}:{password}@{}:{}/INBOX", imap.0, imap.1));
        s.mail_from = Some(from);
        s.imap_poll_secs = 1;
        s.mail_tls_ca = Some(ca);
        // The test mail server hands mail to Dovecot over LMTP, which adds one header.
        s.mail_local_hops = 1;
        more(s);
    })
    .await;
    (app, support)
}

/// A message as a mail client writes it.
fn message(from: &str, to: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{}@client.test>\r\nDate: Thu, 03 Dec 2026 08:00:00 +0000\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        random_name("m")
    )
    .into_bytes()
}

/// Waits until the tenant has `n` tickets; returns them, newest first.
async fn tickets(app: &TestApp, n: usize) -> Vec<Value> {
    for _ in 0..150 {
        let (s, v) = app.get("/api/v2/tickets.json?sort_order=desc").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let list = v["tickets"].as_array().unwrap().clone();
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the tenant never had {n} tickets");
}

async fn comments(app: &TestApp, ticket: i64) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["comments"].as_array().unwrap().clone()
}

async fn wait_comments(app: &TestApp, ticket: i64, n: usize) -> Vec<Value> {
    for _ in 0..150 {
        let c = comments(app, ticket).await;
        if c.len() >= n {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("ticket {ticket} never had {n} comments");
}

/// A header's value in a raw message (first occurrence, unfolded).
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

async fn outbox_rows(app: &TestApp) -> Vec<(String, String, usize)> {
    let mut c = app.helpdesk().db().read().await.unwrap();
    sqlx_rows(&mut c, app.t.tenant_id).await
}

async fn sqlx_rows(c: &mut suoja_store::Conn, tenant: i64) -> Vec<(String, String, usize)> {
    use sqlx::Row as _;
    sqlx::query("SELECT kind, status, body_enc FROM mail_outbox WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant)
        .fetch_all(c)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("kind"), r.get::<String, _>("status"), r.get::<Vec<u8>, _>("body_enc").len()))
        .collect()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    count_in(app, app.t.tenant_id, table).await
}

/// Rows of `table` of tenant `tenant`.
async fn count_in(app: &TestApp, tenant: i64, table: &str) -> i64 {
    let mut c = app.helpdesk().db().read().await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1")))
        .bind(tenant)
        .fetch_one(&mut c)
        .await
        .unwrap()
}

/// Keys of `tenant`'s mailboxes that still exist.
async fn mailbox_keys(app: &TestApp, tenant: i64) -> i64 {
    let mut c = app.helpdesk().db().read().await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM vault_subject_keys WHERE tenant_id = $1 AND subject_kind = 'mailbox'")
        .bind(tenant)
        .fetch_one(&mut c)
        .await
        .unwrap()
}

macro_rules! mail_test {
    ($name:ident, |$app:ident, $env:ident, $support:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports, reason = "a test body uses some of the enclosing module's names")]
            use super::*;
            async fn run(engine: Engine) {
                let Some($env) = mail_env() else {
                    eprintln!("skipped: SUOJA_TEST_MAIL is not set (.ci/mail-start starts Postfix and Dovecot)");
                    return;
                };
                let ($app, $support) = spawn_mail(engine, &$env).await;
                $body.await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Engine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::pg_url().is_none() {
                    eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
                    return;
                }
                run(Engine::Postgres).await;
            }
        }
    };
}

mail_test!(a_mail_opens_a_ticket_and_the_conversation_threads_back, |app, env, support| async move {
    let customer = env.address("maija");
    let cc = env.address("ted");
    let stranger = env.address("stranger");
    let raw = message(
        &format!("Maija Meikäläinen <{customer}>"),
        &support,
        "Laskussa on virhe",
        &format!("Cc: Ted <{cc}>\r\n"),
        "Hei, laskussani on virhe. Voitteko korjata sen?",
    );
    env.send(&customer, &[&support], &raw).await;
    let t = tickets(&app, 1).await.remove(0);
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["via"]["channel"], "email");
    assert_eq!(t["subject"], "Laskussa on virhe");
    let (_, who) = app.get(&format!("/api/v2/users/{}.json", t["requester_id"])).await;
    assert_eq!(who["user"]["email"], customer.as_str());
    assert_eq!(who["user"]["name"], "Maija Meikäläinen");
    assert_eq!(t["email_cc_ids"].as_array().unwrap().len(), 1, "{t}");
    let first = comments(&app, id).await;
    assert_eq!(first[0]["via"]["channel"], "email");
    assert!(first[0]["body"].as_str().unwrap().contains("laskussani on virhe"));

    // The acknowledgement reaches the customer, marked automatic, with the ticket's reply address.
    let ack = env
        .wait_for(&customer, "acknowledging the ticket", |m| m.contains("we received your request"))
        .await;
    assert_eq!(header(&ack, "Auto-Submitted").as_deref(), Some("auto-generated"));
    let reply_to = header(&ack, "Reply-To").unwrap();
    let local = support.split('@').next().unwrap();
    assert!(reply_to.starts_with(&format!("{local}+t{id}-")), "{reply_to}");
    let ack_id = header(&ack, "Message-ID").unwrap();
    // Suoja emptied its mailbox: no copy stays with the mail host.
    for _ in 0..50 {
        if env.mailbox(&support).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(env.mailbox(&support).await.is_empty(), "the support mailbox was emptied");

    // An internal note reaches no one outside staff; the public reply reaches requester and CC.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"comment": {"body": "SISÄINEN: asiakas on vaikea", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"comment": {"body": "Korjasimme laskun, kiitos ilmoituksesta.", "public": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let reply = env.wait_for(&customer, "with the public reply", |m| m.contains("Korjasimme laskun")).await;
    assert!(header(&reply, "Auto-Submitted").is_none(), "a person's reply is not marked automatic");
    env.wait_for(&cc, "with the public reply", |m| m.contains("Korjasimme laskun")).await;
    for who in [&customer, &cc] {
        for m in env.mailbox(who).await.iter().map(|m| decoded(m)) {
            assert!(!m.contains("SISÄINEN") && !m.contains("vaikea"), "an internal note left the helpdesk: {m}");
        }
    }
    // Sent messages keep no body.
    let rows = outbox_rows(&app).await;
    assert!(rows.iter().filter(|r| r.1 == "sent").count() >= 3, "{rows:?}");
    for (kind, status, body) in &rows {
        if status == "sent" {
            assert_eq!(*body, 0, "a sent {kind} kept its body");
        }
    }

    // The customer answers through the reply address (no thread headers at all)...
    let raw = message(&customer, &reply_to, "Re: laskusta", "", "Kiitos, nyt se näyttää oikealta.");
    env.send(&customer, &[&reply_to], &raw).await;
    let c = wait_comments(&app, id, 4).await;
    assert!(c[3]["body"].as_str().unwrap().contains("nyt se näyttää oikealta"));
    // ... and by the thread headers, to the plain support address.
    let raw = message(
        &customer,
        &support,
        "Vielä yksi asia",
        &format!("In-Reply-To: {ack_id}\r\nReferences: {ack_id}\r\n"),
        "Vielä: tilausnumero on 1234.",
    );
    env.send(&customer, &[&support], &raw).await;
    let c = wait_comments(&app, id, 5).await;
    assert!(c[4]["body"].as_str().unwrap().contains("tilausnumero"));
    // A stranger naming the ticket's number opens a ticket of their own.
    let raw = message(&stranger, &support, &format!("Re: [#{id}] Laskussa on virhe"), "", "Let me in.");
    env.send(&stranger, &[&support], &raw).await;
    let all = tickets(&app, 2).await;
    assert_eq!(comments(&app, id).await.len(), 5, "the stranger did not join the ticket");
    assert!(
        all.iter()
            .any(|t| t["id"] != id && t["subject"].as_str().unwrap().contains(&format!("[#{id}]")))
    );
    // The requester naming it by number in the subject does join it.
    let raw = message(&customer, &support, &format!("[#{id}] yet another thing"), "", "And one more.");
    env.send(&customer, &[&support], &raw).await;
    wait_comments(&app, id, 6).await;
    assert_eq!(count(&app, "mail_messages").await, 5, "each message kept once");
});

mail_test!(
    finnish_latin1_mail_with_a_file_arrives_intact_and_automatic_mail_does_not_loop,
    |app, env, support| async move {
        let customer = env.address("paivi");
        let mut raw = format!(
        "From: =?ISO-8859-1?Q?P=E4ivi_J=E4rvinen?= <{customer}>\r\nTo: {support}\r\nSubject: =?ISO-8859-1?Q?Tilaus_ei_n=E4y?=\r\nMessage-ID: <latin1.{}@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        random_name("x")
    )
    .into_bytes();
        raw.extend_from_slice(b"Hyv\xe4\xe4 p\xe4iv\xe4\xe4, tilaukseni ei n\xe4y \xf6ljyss\xe4.\r\n");
        raw.extend_from_slice(
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=iso-8859-1''kuitti_%E4%F6.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECA/8=\r\n--b--\r\n",
    );
        env.send(&customer, &[&support], &raw).await;
        let t = tickets(&app, 1).await.remove(0);
        let id = t["id"].as_i64().unwrap();
        assert_eq!(t["subject"], "Tilaus ei näy");
        let c = comments(&app, id).await;
        assert_eq!(c[0]["body"].as_str().unwrap().trim(), "Hyvää päivää, tilaukseni ei näy öljyssä.");
        let files = c[0]["attachments"].as_array().unwrap();
        assert_eq!(files.len(), 1, "{c:?}");
        assert_eq!(files[0]["file_name"], "kuitti_äö.bin");
        let bytes = app
            .req(Method::GET, files[0]["content_url"].as_str().unwrap().trim_start_matches(&app.base))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(bytes.as_ref(), &[0u8, 1, 2, 3, 255]);
        env.wait_for(&customer, "acknowledging the ticket", |m| m.contains("we received your request"))
            .await;

        // An out-of-office answer to the acknowledgement is dropped: no ticket, no comment, no mail.
        let away = message(
            &customer,
            &support,
            "Automaattinen vastaus: poissa",
            "Auto-Submitted: auto-replied\r\n",
            "Olen lomalla.",
        );
        env.send(&customer, &[&support], &away).await;
        let bulk = message(&customer, &support, "Uutiskirje", "Precedence: bulk\r\n", "Tarjous!");
        env.send(&customer, &[&support], &bulk).await;
        for _ in 0..50 {
            if env.mailbox(&support).await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(env.mailbox(&support).await.is_empty(), "automatic mail was taken off the server too");
        assert_eq!(tickets(&app, 1).await.len(), 1);
        assert_eq!(comments(&app, id).await.len(), 1);
        let got = env.mailbox(&customer).await;
        assert_eq!(got.len(), 1, "no answer to an automatic message: {got:?}");
        // The same message delivered twice is stored once.
        env.send(&customer, &[&support], &raw).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(tickets(&app, 1).await.len(), 1);
        assert_eq!(count(&app, "mail_messages").await, 1);
    }
);

mail_test!(
    an_anonymous_privacy_request_gets_its_link_by_mail_and_erasure_takes_the_mail,
    |app, env, support| async move {
        let customer = env.address("anna");
        let raw = message(
            &format!("Anna Aalto <{customer}>"),
            &support,
            "Kysymys",
            "",
            "Anna Aalto tässä, puhelin 040 123 4567.",
        );
        env.send(&customer, &[&support], &raw).await;
        let t = tickets(&app, 1).await.remove(0);
        let anna = t["requester_id"].as_i64().unwrap();
        env.wait_for(&customer, "acknowledging the ticket", |m| m.contains("we received your request"))
            .await;

        let (s, v) = app
            .call_anon(
                Method::POST,
                "/api/v2/privacy/requests",
                Some(json!({"request": {"kind": "access", "email": customer}})),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        let link = env
            .wait_for(&customer, "with the confirmation link", |m| m.contains("/privacy/confirm?token="))
            .await;
        let token = link
            .split("/privacy/confirm?token=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let (s, v) = app
            .call_anon(Method::POST, "/api/v2/privacy/confirmations", Some(json!({"token": token})))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = app
            .call_anon(Method::POST, "/api/v2/privacy/confirmations", Some(json!({"token": token})))
            .await;
        assert_ne!(s, StatusCode::OK, "a link works once");

        // Her export carries the original message; her erasure takes it, and her mail rows.
        let export = app
            .privacy()
            .export(
                &app.admin_scope(),
                suoja_core::UserId(anna),
                None,
                &Default::default(),
                &suoja_privacy::export::no_progress,
            )
            .await
            .unwrap();
        assert!(export.files.iter().any(|f| f.table == "mail_messages"), "{:?}", export.files);
        assert_eq!(count(&app, "mail_messages").await, 1);
        let (s, v) = app
            .post(
                "/api/v2/privacy/requests.json",
                json!({"request": {"kind": "erasure", "subject_id": anna, "channel": "email"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let rid = v["request"]["id"].as_i64().unwrap();
        app.post(&format!("/api/v2/privacy/requests/{rid}/verify.json"), json!({"note": "the link above"}))
            .await;
        let (s, v) = app.post(&format!("/api/v2/privacy/requests/{rid}/erasure.json"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["erasure"]["state"], "completed", "{v}");
        // She was told, at the address that is gone now.
        env.wait_for(&customer, "confirming the erasure", |m| m.contains("your data has been erased"))
            .await;
        assert!(v.to_string().contains("\"confirmation\":\"sent\""), "the erasure records the confirmation: {v}");
        assert_eq!(count(&app, "mail_messages").await, 0, "the raw message went with her");
        assert_eq!(count(&app, "mail_threads").await, 0);
        let mut c = app.helpdesk().db().read().await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE tenant_id = $1 AND user_id = $2")
            .bind(app.t.tenant_id)
            .bind(anna)
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(left, 0, "no message to her is kept");
        assert!(env.mailbox(&support).await.is_empty(), "nothing of hers in the mailbox Suoja reads");
    }
);

mail_test!(redacting_a_mailed_comment_removes_its_original, |app, env, support| async move {
    let customer = env.address("ted");
    let raw = message(&customer, &support, "Card", "", "My card number is 4111 1111 1111 1111, please update it.");
    env.send(&customer, &[&support], &raw).await;
    let t = tickets(&app, 1).await.remove(0);
    let id = t["id"].as_i64().unwrap();
    let c = comments(&app, id).await;
    let cid = c[0]["id"].as_i64().unwrap();
    assert_eq!(count(&app, "mail_messages").await, 1);
    // Agents see where it came from and can open the original.
    let pw = "admin password for the redaction test";
    app.put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": pw}}))
        .await;
    let mut admin = crate::web::Browser::new(&app);
    admin.sign_in(&app.t.email, pw).await;
    let page = admin.get(&format!("/agent/tickets/{id}")).await;
    assert!(page.body.contains(&format!("by e-mail &lt;{customer}&gt;")), "{}", page.body);
    let original = format!("/agent/tickets/{id}/comments/{cid}/original");
    assert!(page.body.contains(&original));
    let eml = admin.get(&original).await;
    assert_eq!(eml.status, StatusCode::OK);
    assert!(
        eml.body.contains("4111 1111 1111 1111") && eml.body.contains("Message-ID:"),
        "the message as received"
    );
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}/comments/{cid}/redact.json"),
            json!({"text": "4111 1111 1111 1111"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(count(&app, "mail_messages").await, 0, "the original held the same words");
    assert_eq!(admin.get(&original).await.status, StatusCode::NOT_FOUND);
});

/// Runs `suoja mail deliver` on the app's data with `raw` on standard input.
fn deliver_cli(app: &TestApp, raw: &[u8], env: &[(&str, &str)]) -> std::process::Output {
    deliver_cli_with(app, raw, env, &[])
}

/// As [`deliver_cli`], with more arguments (the envelope an MTA passes).
fn deliver_cli_with(app: &TestApp, raw: &[u8], env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    use std::io::Write as _;
    let mut cmd = app.cli_command(&[&["mail", "deliver"], args].concat());
    cmd.env("SUOJA_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    child.wait_with_output().unwrap()
}

crate::engine_test!(mail_deliver_answers_an_mta_with_its_exit_status, |app| async move {
    let from = [("SUOJA_MAIL_FROM", "support@help.example")];
    let good = message("Aino <aino@example.fi>", "support@help.example", "Hei", "", "Tilaukseni on kadonnut.");
    let out = deliver_cli(&app, &good, &from);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("stored in ticket "));
    // Delivered again (an MTA retrying after a lost answer): stored once.
    let again = deliver_cli(&app, &good, &from);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(count(&app, "mail_messages").await, 1);
    assert_eq!(tickets(&app, 1).await.len(), 1);
    // Never acceptable: 65, with the reason for the bounce.
    let out = deliver_cli(&app, b"Subject: nobody sent this\r\n\r\nbody\r\n", &from);
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sender address"));
    let big = message("aino@example.fi", "support@help.example", "Big", "", &"x".repeat(5000));
    let out = deliver_cli(&app, &big, &[from[0], ("SUOJA_MAX_MAIL_BYTES", "1000")]);
    assert_eq!(out.status.code(), Some(65));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("accepts at most 1000"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An automatic message is dropped on purpose: 0, so no bounce goes back to a robot.
    let away = message(
        "aino@example.fi",
        "support@help.example",
        "Away",
        "Auto-Submitted: auto-replied\r\n",
        "On holiday.",
    );
    let out = deliver_cli(&app, &away, &from);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("automatic message ignored"));
    // Not set up to know its own address: 75, the MTA keeps the message and retries.
    let out = deliver_cli(&app, &good, &[]);
    assert_eq!(out.status.code(), Some(75), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mail_from"));
    // Broken UTF-8 and a truncated MIME message are read, not crashed on.
    let mut broken =
        b"From: aino@example.fi\r\nSubject: \xff\xfe\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    broken.extend_from_slice(b"caf\xe9 \xff");
    let out = deliver_cli(&app, &broken, &from);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&app, "mail_messages").await, 2);
    assert_eq!(count(&app, "comments").await, 2, "no half-made ticket from any refusal");
});

/// Postfix's pipe transport hands a message to `suoja mail deliver` as an unprivileged user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_pipes_mail_to_suoja_mail_deliver() {
    let Some(env) = mail_env() else {
        eprintln!("skipped: SUOJA_TEST_MAIL is not set (.ci/mail-start starts Postfix and Dovecot)");
        return;
    };
    let mut app = TestApp::spawn(Engine::Sqlite).await;
    app.stop_server().await;
    let dir = app.settings.data_dir.clone();
    let chown = |owner: &str| {
        let s = std::process::Command::new("chown").arg("-R").arg(owner).arg(&dir).status().unwrap();
        assert!(s.success());
    };
    chown("suojapipe");
    let name = random_name("t");
    let script = env.pipe.join(format!("{name}.sh"));
    std::fs::write(
        &script,
        format!(
            "SUOJA_MAIL_FROM=support@help.example SUOJA_LOG=warn exec {} mail deliver --data-dir {} --sender \"$1\" --client-ip \"$2\" --helo \"$3\"\n",
            env!("CARGO_BIN_EXE_suoja"),
            dir.display()
        ),
    )
    .unwrap();
    let customer = env.address("piped");
    let to = format!("{name}@pipe.{}", env.domain);
    let raw = message(
        &format!("Piia Putki <{customer}>"),
        "support@help.example",
        "Putkiposti",
        "",
        "Tämä tuli putken kautta.",
    );
    env.send(&customer, &[&to], &raw).await;
    let mut stored = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let log = std::fs::read_to_string("/var/log/postfix-suoja.log").unwrap_or_default();
        if log.lines().any(|l| l.contains(&format!("to=<{to}>")) && l.contains("status=sent")) {
            stored = true;
            break;
        }
    }
    let _ = std::fs::remove_file(&script);
    chown("root");
    assert!(stored, "Postfix did not hand the message over (see /var/log/postfix-suoja.log)");
    app.start_server().await;
    let t = tickets(&app, 1).await.remove(0);
    assert_eq!(t["subject"], "Putkiposti");
    assert_eq!(t["via"]["channel"], "email");
    assert_eq!(count(&app, "mail_messages").await, 1);
}

crate::engine_test!(mail_to_the_privacy_address_opens_a_request_for_the_address_on_record, |app| async move {
    let env = [
        ("SUOJA_MAIL_FROM", "support@help.example"),
        ("SUOJA_MAIL_PRIVACY_ADDRESS", "privacy@help.example"),
    ];
    let (eeva, _) = app.end_user_with_password("Eeva Esimerkki", "eeva@example.fi").await;
    let raw = message(
        "Eeva Esimerkki <eeva@example.fi>",
        "privacy@help.example",
        "Tietojeni poistaminen",
        "",
        "Pyydän poistamaan kaikki tietoni.",
    );
    let out = deliver_cli(&app, &raw, &env);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "handled as a privacy request");
    let (_, inbox) = app.get("/api/v2/privacy/requests.json").await;
    let reqs = inbox["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 1, "{inbox}");
    assert_eq!(reqs[0]["subject_id"], eeva);
    assert_eq!(reqs[0]["kind"], "erasure");
    assert_eq!(reqs[0]["channel"], "email");
    assert_eq!(reqs[0]["status"], "verifying", "a link went to the address on record");
    assert_eq!(count(&app, "tickets").await, 0, "no ticket from a privacy message");
    // Delivered again (an MTA retrying): no second request.
    let out = deliver_cli(&app, &raw, &env);
    assert_eq!(out.status.code(), Some(0));
    let (_, inbox) = app.get("/api/v2/privacy/requests.json").await;
    assert_eq!(inbox["requests"].as_array().unwrap().len(), 1, "{inbox}");
    assert_eq!(count(&app, "mail_messages").await, 0);
    // From an address not on record: the same answer, and nothing recorded.
    let raw = message("stranger@example.org", "privacy@help.example", "Kopio tiedoistani", "", "Lähettäkää kopio.");
    let out = deliver_cli(&app, &raw, &env);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "handled as a privacy request");
    let (_, inbox) = app.get("/api/v2/privacy/requests.json").await;
    assert_eq!(inbox["requests"].as_array().unwrap().len(), 1);
    assert_eq!(count(&app, "users").await, 2, "no account made for the stranger");
});

mail_test!(admins_see_the_mail_setup_and_send_a_test_message, |app, env, support| async move {
    let _ = &env;
    let pw = "admin password for the mail test";
    let own = env.address("admin");
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}.json", app.t.admin_id),
            json!({"user": {"password": pw, "email": own}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut admin = crate::web::Browser::new(&app);
    admin.sign_in(&own, pw).await;
    let page = admin.get("/admin/mail").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&support), "the support address is shown");
    assert!(page.body.contains("smtp://127.0.0.1:"), "{}", page.body);
    assert!(!page.body.contains(&env.password), "no password on the page");
    let answered = admin.submit("/admin/mail", "/admin/mail/test", &[]).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert!(answered.body.contains("id=\"mail-answer\" class=\"ok\""), "{}", answered.body);
    assert!(answered.body.contains("<code>250 "), "the server's answer is shown: {}", answered.body);
    env.wait_for(&own, "the test message", |m| m.contains("Suoja: test message")).await;
    // Acknowledgements switched off for this tenant: a new ticket is not acknowledged, and
    // replies still go out.
    let saved = admin
        .submit("/admin/mail", "/admin/mail/notifications", &[("replies", "1"), ("assignee", "1")])
        .await;
    assert_eq!(saved.location(), "/admin/mail?done=saved");
    let page = admin.get("/admin/mail").await;
    assert!(page.body.contains("name=\"received\" value=\"1\" >"), "shown unchecked");
    // (The admin's address changed above, so the API is called with the new one.)
    let me = crate::harness::Tenant {
        email: own.clone(),
        token: pw.to_string(),
        admin_id: app.t.admin_id,
        tenant_id: app.t.tenant_id,
    };
    let customer = env.address("quiet");
    let (s, v) = app
        .call_password(
            &me,
            Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "Quiet", "requester": {"name": "Q", "email": customer}, "comment": {"body": "Opened."}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["ticket"]["id"].as_i64().unwrap();
    let (s, v) = app
        .call_password(
            &me,
            Method::PUT,
            &format!("/api/v2/tickets/{id}.json"),
            Some(json!({"ticket": {"comment": {"body": "Vastaus.", "public": true}}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let kinds: Vec<String> = outbox_rows(&app).await.into_iter().map(|r| r.0).collect();
    assert!(!kinds.contains(&"ticket_received".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"ticket_reply".to_string()), "{kinds:?}");
    // Who else may see the page is the authorization matrix's business (docs/SECURITY.md).
});

// Mutated messages fed to the import path itself (parsing, the sender's account, threading,
// files, storing): each is stored whole or refused, never a panic, and never a half-made
// ticket (every comment has its original, every original its comment).
crate::engine_test!(mutated_messages_are_stored_whole_or_refused, |app| async move {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree as _;
    let room = suoja_mail::Mailroom::new(
        app.privacy().clone(),
        suoja_mail::MailConfig {
            support: suoja_mail::Support::parse("support@help.example").unwrap(),
            privacy: Some(suoja_mail::Support::parse("privacy@help.example").unwrap()),
            public_url: app.base.clone(),
            max_bytes: 64 * 1024,
            per_sender_per_hour: 1000,
            dns: None,
            tenant_domains: Vec::new(),
            trust: suoja_mail::Trust::public(),
            local_hops: 0,
        },
    );
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let seeds: [&[u8]; 3] = [
        include_bytes!("../../../suoja-mail/tests/sample.eml"),
        b"From: =?ISO-8859-1?Q?P=E4ivi?= <paivi@example.fi>\r\nTo: support+t1-00000000000000000000@help.example, privacy@help.example\r\nSubject: [#1] =?UTF-8?B?w6TDpA==?=\r\nIn-Reply-To: <x@y>\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n<p onclick=x>\x93hi\x94<script>alert(1)</script></p>\r\n",
        b"From: a@example.fi\r\nCc: b@example.fi, , c@\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Disposition: attachment; filename*=utf-8''%ZZ%E4\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n--q--\r\n",
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (0usize..3, proptest::collection::vec((0usize..4096, any::<u8>()), 0..24), 1usize..4096);
    for _ in 0..60 {
        let (seed, flips, cut) = strategy.new_tree(&mut runner).unwrap().current();
        let mut raw = seeds[seed].to_vec();
        let n = raw.len();
        for (at, b) in flips {
            raw[at % n] = b;
        }
        raw.truncate(cut.min(n));
        match room.deliver(tenant, &raw).await {
            Ok(_) | Err(suoja_mail::MailError::Refused(_)) => {}
            Err(e) => assert!(!e.temporary(), "a passing failure from a hostile message: {e}"),
        }
    }
    let comments = count(&app, "comments").await;
    let originals = count(&app, "mail_messages").await;
    assert!(originals > 0, "some of the mutated messages were stored");
    assert_eq!(comments, originals, "every comment came with its original and every original made a comment");
});

mail_test!(a_bounce_is_matched_to_its_message_and_shown_on_the_ticket, |app, env, support| async move {
    // Postfix cannot deliver outside the test domain: it bounces the acknowledgement back to the
    // support address, where Suoja fetches the report.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": "Hello", "requester": {"name": "Ghost", "email": "ghost@nowhere.invalid"}, "comment": {"body": "Opened for a ghost."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["ticket"]["id"].as_i64().unwrap();
    let mut failed = Vec::new();
    for _ in 0..150 {
        failed = outbox_rows(&app).await.into_iter().filter(|r| r.1 == "failed").collect();
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(failed.len(), 1, "the acknowledgement is marked failed: {:?}", outbox_rows(&app).await);
    assert_eq!(failed[0].0, "ticket_received");
    assert_eq!(count(&app, "tickets").await, 1, "the report opened no ticket");
    let undelivered = app.helpdesk().undelivered_mail(&app.admin_scope(), suoja_core::TicketId(id)).await.unwrap();
    assert_eq!(undelivered.len(), 1);
    assert!(undelivered[0].error.starts_with("bounced 5."), "{:?}", undelivered[0]);
    let pw = "admin password for the bounce test";
    app.put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": pw}}))
        .await;
    let mut admin = crate::web::Browser::new(&app);
    admin.sign_in(&app.t.email, pw).await;
    let page = admin.get(&format!("/agent/tickets/{id}")).await;
    assert!(page.body.contains("id=\"undelivered\""), "the ticket page shows it");
    assert!(page.body.contains("Ghost"));
    // An out-of-office answer quoting a message's id is not a bounce of it.
    let customer = env.address("away");
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": "Away", "requester": {"name": "Aila", "email": customer}, "comment": {"body": "Opened for Aila."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ack = env
        .wait_for(&customer, "acknowledging the ticket", |m| m.contains("we received your request"))
        .await;
    let ack_id = header(&ack, "Message-ID").unwrap();
    let away = message(
        &customer,
        &support,
        "Poissa",
        &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: {ack_id}\r\n"),
        "Olen lomalla.",
    );
    env.send(&customer, &[&support], &away).await;
    for _ in 0..50 {
        if env.mailbox(&support).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let failed: Vec<_> = outbox_rows(&app).await.into_iter().filter(|r| r.1 == "failed").collect();
    assert_eq!(failed.len(), 1, "only the ghost's message failed: {failed:?}");
});

fn room(app: &TestApp) -> suoja_mail::Mailroom {
    suoja_mail::Mailroom::new(
        app.privacy().clone(),
        suoja_mail::MailConfig {
            support: suoja_mail::Support::parse("support@help.example").unwrap(),
            privacy: None,
            public_url: app.base.clone(),
            max_bytes: 1 << 22,
            per_sender_per_hour: 1000,
            dns: None,
            tenant_domains: Vec::new(),
            trust: suoja_mail::Trust::public(),
            local_hops: 0,
        },
    )
}

crate::engine_test!(a_forged_sender_cannot_add_people_or_write_as_staff, |app| async move {
    let room = room(&app);
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let victim = app.user("Vivi Victim", "vivi@example.fi").await;
    let id = app.ticket(victim, "Palkka", "Palkkani on väärin.").await;
    // Someone forges Vivi's address, names the ticket in the subject and copies themselves.
    let forged = message(
        "vivi@example.fi",
        "support@help.example",
        &format!("Re: [#{id}] Palkka"),
        "Cc: mallory@evil.example\r\n",
        "Lisää minut.",
    );
    room.deliver(tenant, &forged).await.unwrap();
    let (_, t) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
    assert_eq!(t["ticket"]["email_cc_ids"], json!([]), "a subject number brings no CCs: {t}");
    // The same through the ticket's reply address (which only mail from the ticket carries) does.
    let reply_to = room.reply_address(tenant, id).await.unwrap();
    let real = message(
        "vivi@example.fi",
        &reply_to,
        "Re: Palkka",
        "Cc: Pirjo Palkka <pirjo@example.fi>\r\n",
        "Lisään Pirjon.",
    );
    room.deliver(tenant, &real).await.unwrap();
    let (_, t) = app.get(&format!("/api/v2/tickets/{id}.json")).await;
    assert_eq!(t["ticket"]["email_cc_ids"].as_array().unwrap().len(), 1, "{t}");
    // Mail in the admin's name naming the ticket opens a ticket of its own, not a reply to Vivi.
    let before = comments(&app, id).await.len();
    let as_staff = message(
        &app.t.email,
        "support@help.example",
        &format!("Re: [#{id}]"),
        "",
        "Your salary is fixed, log in at evil.example.",
    );
    let d = room.deliver(tenant, &as_staff).await.unwrap();
    assert_ne!(d.ticket(), Some(id));
    assert_eq!(comments(&app, id).await.len(), before);
    // Through the reply address it is added, as an internal note: never to the requester.
    let d = room
        .deliver(tenant, &message(&app.t.email, &reply_to, "Re: Palkka", "", "Checked with payroll."))
        .await
        .unwrap();
    assert_eq!(d.ticket(), Some(id));
    let c = comments(&app, id).await;
    assert_eq!(c.len(), before + 1);
    assert_eq!(c.last().unwrap()["public"], false, "mail from staff is an internal note");
});

crate::engine_test!(erasing_someone_a_mail_was_addressed_to_takes_that_original, |app| async move {
    let room = room(&app);
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let raw = message(
        "Rita Reporter <rita@example.fi>",
        "support@help.example",
        "Laskutus",
        "Cc: Carol Caller <carol@example.fi>\r\n",
        "Kysykää Carolilta.",
    );
    let t = room.deliver(tenant, &raw).await.unwrap().ticket().unwrap();
    let other = message(
        "Rita Reporter <rita@example.fi>",
        "support@help.example",
        "Toinen",
        "",
        "Tässä ei ole ketään muuta.",
    );
    room.deliver(tenant, &other).await.unwrap();
    assert_eq!(count(&app, "mail_messages").await, 2);
    let (_, found) = app.get("/api/v2/users/search.json?query=carol@example.fi").await;
    let carol = found["users"][0]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            "/api/v2/privacy/requests.json",
            json!({"request": {"kind": "erasure", "subject_id": carol, "channel": "email"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let rid = v["request"]["id"].as_i64().unwrap();
    app.post(&format!("/api/v2/privacy/requests/{rid}/verify.json"), json!({"note": "called back"}))
        .await;
    let (s, v) = app.post(&format!("/api/v2/privacy/requests/{rid}/erasure.json"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["erasure"]["state"], "completed", "{v}");
    assert_eq!(v["erasure"]["done"]["mail_recipients"], 1, "{v}");
    // The original naming Carol went; Rita's other original and her comment stay.
    assert_eq!(count(&app, "mail_messages").await, 1);
    assert_eq!(count(&app, "mail_recipients").await, 0);
    assert_eq!(comments(&app, t).await.len(), 1, "Rita's comment stays");
});

/// A message carrying one file of `size` bytes, each byte `fill`.
fn with_file(from: &str, subject: &str, fill: u8, size: usize) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(vec![fill; size]);
    let lines: String = b64.as_bytes().chunks(76).map(|c| format!("{}\r\n", String::from_utf8_lossy(c))).collect();
    format!(
        "From: {from}\r\nTo: support@help.example\r\nSubject: {subject}\r\nMessage-ID: <{}@client.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLiitteenä kuitti.\r\n\
         --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"kuitti.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{lines}--b--\r\n",
        random_name("f")
    )
    .into_bytes()
}

// A mail's files are its comment's from the start (one write, under the comment's key, no
// upload token), and count against the sender's upload quota: over it, the message is refused
// whole and the sender told why.
crate::engine_test_configured!(
    mailed_files_are_written_once_to_their_comment_and_count_against_the_quota,
    |s| {
        s.upload_quota_mb_per_day = 1;
    },
    |app, _clock| async move {
        let room = room(&app);
        let tenant = suoja_core::TenantId(app.t.tenant_id);
        let t = room
            .deliver(tenant, &with_file("Kalle Kuitti <kalle@example.fi>", "Kuitti", 7, 600 * 1024))
            .await
            .unwrap()
            .ticket()
            .unwrap();
        let c = comments(&app, t).await;
        let files = c[0]["attachments"].as_array().unwrap();
        assert_eq!(files.len(), 1, "{c:?}");
        assert_eq!(files[0]["file_name"], "kuitti.pdf");
        assert_eq!(files[0]["size"], 600 * 1024);
        {
            let mut db = app.helpdesk().db().read().await.unwrap();
            let rows: Vec<(Option<Vec<u8>>, i64, i64, i64)> = sqlx::query_as(
                "SELECT a.upload_token_hash, a.ticket_id, a.comment_id, CASE WHEN a.key_id = c.key_id THEN 1 ELSE 0 END FROM attachments a JOIN comments c ON c.id = a.comment_id",
            )
            .fetch_all(&mut db)
            .await
            .unwrap();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].0, None, "held by no upload token");
            assert_eq!((rows[0].1, rows[0].3), (t, 1), "the ticket's, under the comment's key");
            assert_eq!(
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attachments WHERE comment_id IS NULL")
                    .fetch_one(&mut db)
                    .await
                    .unwrap(),
                0
            );
        }
        let id = files[0]["id"].as_i64().unwrap();
        let r = app.req(Method::GET, &format!("/api/v2/attachments/{id}/content")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.bytes().await.unwrap().to_vec(), vec![7u8; 600 * 1024], "the file arrives intact");
        // A second file the same day goes over Kalle's 1 MB: refused whole.
        let (tickets_before, mails_before) = (count(&app, "tickets").await, count(&app, "mail_messages").await);
        let e = room
            .deliver(tenant, &with_file("kalle@example.fi", "Toinen kuitti", 8, 600 * 1024))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("quota"), "{e}");
        assert_eq!(count(&app, "tickets").await, tickets_before, "no half-made ticket");
        assert_eq!(count(&app, "mail_messages").await, mails_before);
        assert_eq!(count(&app, "attachments").await, 1);
        // Someone else's quota is their own.
        room.deliver(tenant, &with_file("liisa@example.fi", "Oma", 9, 600 * 1024)).await.unwrap();
    }
);

crate::engine_test!(mail_without_text_or_with_too_much_text_is_still_a_ticket, |app| async move {
    let room = room(&app);
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let t = room
        .deliver(tenant, b"From: h@example.fi\r\nTo: support@help.example\r\nSubject: Only headers\r\n\r\n")
        .await
        .unwrap()
        .ticket()
        .unwrap();
    assert_eq!(comments(&app, t).await[0]["body"], "(The message had no text.)");
    let long = "sana ".repeat(30_000);
    let t = room
        .deliver(tenant, &message("l@example.fi", "support@help.example", &"S".repeat(5000), "", &long))
        .await
        .unwrap()
        .ticket()
        .unwrap();
    let body = comments(&app, t).await[0]["body"].as_str().unwrap().to_string();
    assert!(
        body.chars().count() < 66_000 && body.ends_with("the rest is in the original message.]"),
        "{}",
        body.len()
    );
    let (_, v) = app.get(&format!("/api/v2/tickets/{t}.json")).await;
    assert_eq!(v["ticket"]["subject"].as_str().unwrap().chars().count(), 250);
});

/// Outgoing mail carries a DKIM signature an independent verifier (dkimpy, from PyPI) accepts
/// against the published key; a changed body fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_mail_is_dkim_signed() {
    let Some(env) = mail_env() else {
        eprintln!("skipped: SUOJA_TEST_MAIL is not set (.ci/mail-start starts Postfix and Dovecot)");
        return;
    };
    let has_dkimpy = std::process::Command::new("python3")
        .args(["-c", "import dkim"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_dkimpy {
        assert!(std::env::var("CI").is_err(), "dkimpy must be installed in CI (tests/clients/requirements.txt)");
        eprintln!("skipped: python3 -m pip install dkimpy");
        return;
    }
    let keys = crate::harness::TempDir::new();
    let key = keys.0.join("dkim.pem");
    let ok = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let public = std::process::Command::new("openssl")
        .args(["rsa", "-pubout", "-outform", "DER", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(public.status.success());
    let public = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&public.stdout)
    };
    let support = env.address("signed");
    let (smtp, domain) = (env.smtp.clone(), env.domain.clone());
    let key_path = key.clone();
    let from = support.clone();
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.smtp_url = Some(format!("smtp://{}:{}?tls=none", smtp.0, smtp.1));
        s.mail_from = Some(from);
        s.dkim_key_file = Some(key_path);
        s.dkim_selector = Some("suoja".into());
    })
    .await;
    let customer = env.address("verifier");
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": "Signed", "requester": {"name": "Veera", "email": customer}, "comment": {"body": "Opened."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    env.wait_for(&customer, "acknowledging the ticket", |m| m.contains("we received your request"))
        .await;
    let raw = env.mailbox(&customer).await.remove(0);
    assert!(raw.contains(&format!("d={domain}")) && raw.contains("s=suoja"), "{raw}");
    let verify = |message: &str| {
        let script = format!(
            "import sys, dkim\nmsg = sys.stdin.buffer.read()\nrec = b'v=DKIM1; k=rsa; p={public}'\nprint(dkim.verify(msg, dnsfunc=lambda name, timeout=5: rec))\n"
        );
        let mut child = std::process::Command::new("python3")
            .args(["-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(message.as_bytes()).unwrap();
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).trim().to_string()
    };
    assert_eq!(verify(&raw), "True", "dkimpy accepts the signature");
    assert_eq!(verify(&raw.replacen("request", "REQUEST", 1)), "False", "a changed message fails it");
}

mail_test!(a_refused_fetched_message_is_explained_to_its_known_sender, |app, env, support| async move {
    // A known person sends a message over the size limit: the helpdesk refuses it and says why.
    let customer = env.address("chatty");
    let (s, v) = app.post("/api/v2/users.json", json!({"user": {"name": "Chatty", "email": customer}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let big = format!(
        "From: {customer}\r\nTo: {support}\r\nSubject: Big\r\nMessage-ID: <big.{}@client.test>\r\n\r\n{}\r\n",
        random_name("b"),
        "x".repeat(30 * 1024 * 1024)
    );
    env.send(&customer, &[&support], big.as_bytes()).await;
    let notice = env.wait_for(&customer, "explaining the refusal", |m| m.contains("could not be accepted")).await;
    assert!(notice.contains("accepts at most"), "{notice}");
    assert_eq!(count(&app, "tickets").await, 0);
});

/// Mail is fetched over STARTTLS and over TLS from the start, with the server's certificate
/// checked against the roots Suoja trusts (here the test CA, through `mail_tls_ca`): a server
/// whose certificate does not check out gets no password and keeps its mail, `tls=starttls`
/// refuses a server without STARTTLS, and an offered STARTTLS that fails is never dropped to
/// plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_is_fetched_over_starttls_and_tls_and_the_certificate_is_checked() {
    let Some(env) = mail_env() else {
        eprintln!("skipped: SUOJA_TEST_MAIL is not set (.ci/mail-start starts Postfix and Dovecot)");
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await;
    let room = room(&app);
    let tenant = suoja_core::TenantId(app.t.tenant_id);
    let trusted = suoja_mail::Trust::with_ca_file(&env.ca).unwrap();
    let public = suoja_mail::Trust::public();
    let support = env.address("tls");
    let user = percent_encoding::utf8_percent_encode(&support, percent_encoding::NON_ALPHANUMERIC).to_string();
    let url = |scheme: &str, at: &(String, u16), query: &str| format!("{scheme}://{user}:{}@{}:{}/INBOX{query}", env.password, at.0, at.1);
    let imap = |u: String, trust: &suoja_mail::Trust| suoja_mail::imap::Imap::from_url(&u, None, trust).unwrap();
    let customer = env.address("tls-customer");
    let send = |subject: &'static str| {
        let (env, customer, support) = (env.clone(), customer.clone(), support.clone());
        async move {
            env.send(&customer, &[&support], &message(&customer, &support, subject, "", "Salattu yhteys."))
                .await;
            for _ in 0..100 {
                if !env.mailbox(&support).await.is_empty() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("the message did not arrive");
        }
    };

    // Not trusted: no login, the message stays on the server.
    send("Ensimmäinen").await;
    for u in [
        url("imaps", &env.imaps, ""),
        url("imap", &env.imap_tls, "?tls=starttls"),
        url("imap", &env.imap_tls, ""),
    ] {
        let e = room.fetch_once(&imap(u.clone(), &public), tenant).await.unwrap_err();
        assert!(e.to_string().contains("TLS handshake failed"), "{u}: {e}");
    }
    assert_eq!(env.mailbox(&support).await.len(), 1, "left on the server");
    // A server without STARTTLS, when it is required.
    let e = room
        .fetch_once(&imap(url("imap", &env.imap, "?tls=starttls"), &trusted), tenant)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not offer STARTTLS"), "{e}");

    // Trusted: STARTTLS required, then TLS from the start, then STARTTLS because it is offered.
    let starttls = imap(url("imap", &env.imap_tls, "?tls=starttls"), &trusted);
    assert!(starttls.server().contains("(STARTTLS;"), "{}", starttls.server());
    assert!(starttls.check().await.unwrap().contains("1 messages waiting"));
    let got = room.fetch_once(&starttls, tenant).await.unwrap();
    assert_eq!((got.stored, got.refused, got.kept), (1, 0, 0));
    send("Toinen").await;
    let tls = imap(url("imaps", &env.imaps, ""), &trusted);
    assert!(tls.server().starts_with("imaps://"), "{}", tls.server());
    assert_eq!(room.fetch_once(&tls, tenant).await.unwrap().stored, 1);
    send("Kolmas").await;
    let offered = imap(url("imap", &env.imap_tls, ""), &trusted);
    assert_eq!(room.fetch_once(&offered, tenant).await.unwrap().stored, 1);
    assert!(env.mailbox(&support).await.is_empty(), "taken off the server");
    let (_, v) = app.get("/api/v2/tickets.json?sort_by=created_at&sort_order=asc").await;
    let subjects: Vec<&str> = v["tickets"].as_array().unwrap().iter().map(|t| t["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Ensimmäinen", "Toinen", "Kolmas"]);
    // A CA file that is not one is refused when the settings are read.
    let bogus = std::env::temp_dir().join(random_name("not-a-ca"));
    std::fs::write(&bogus, "not a certificate").unwrap();
    assert!(suoja_mail::Trust::with_ca_file(&bogus).unwrap_err().to_string().contains("mail_tls_ca"));
    let _ = std::fs::remove_file(bogus);
}

/// With IDLE, new mail is taken within moments even when the poll interval is long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_takes_new_mail_at_once() {
    let Some(env) = mail_env() else {
        eprintln!("skipped: SUOJA_TEST_MAIL is not set (.ci/mail-start starts Postfix and Dovecot)");
        return;
    };
    let support = env.address("idle");
    let user = percent_encoding::utf8_percent_encode(&support, percent_encoding::NON_ALPHANUMERIC).to_string();
    let (imap, smtp, password, from) = (env.imap.clone(), env.smtp.clone(), env.password.clone(), support.clone());
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.smtp_url = Some(format!("smtp://{}:{}?tls=none", smtp.0, smtp.1));
        s.imap_url = Some(format!("imap://{user}:{password}@{}:{}/INBOX", imap.0, imap.1));
        s.mail_from = Some(from);
        s.imap_poll_secs = 120;
    })
    .await;
    // The first pass finds an empty mailbox and starts waiting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let customer = env.address("prompt");
    let started = std::time::Instant::now();
    env.send(&customer, &[&support], &message(&customer, &support, "Nopeasti", "", "Heti perille."))
        .await;
    tickets(&app, 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "taken in {:?}, not after the 120 s poll",
        started.elapsed()
    );
}

/// The private half of the DKIM key `.ci/mail-start` publishes for `sender.test` (selector
/// `mail`): a test key of a test domain, kept here so mail can be signed as that domain's
/// server would sign it.
const SENDER_TEST_DKIM_KEY: &str = "AL0ix7Ljurnxs/YtDFHgUDsozEyCyL5mUSy5qmxFjSQ=";

/// A message from `from` signed with `sender.test`'s DKIM key (by lettre, an implementation
/// independent of the verifier's).
fn dkim_signed(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    use lettre::message::dkim::{DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey};
    let mut m = lettre::Message::builder()
        .from(from.parse().unwrap())
        .to(to.parse().unwrap())
        .subject(subject)
        .body(body.to_string())
        .unwrap();
    let key = DkimSigningKey::new(SENDER_TEST_DKIM_KEY, DkimSigningAlgorithm::Ed25519).unwrap();
    let relaxed = DkimCanonicalization {
        header: DkimCanonicalizationType::Relaxed,
        body: DkimCanonicalizationType::Relaxed,
    };
    let headers = ["From", "To", "Subject", "Date"]
        .map(lettre::message::header::HeaderName::new_from_ascii_str)
        .to_vec();
    m.sign(&DkimConfig::new("mail".into(), "sender.test".into(), key, headers, relaxed));
    m.formatted()
}

/// The sender check recorded with privacy request `id`: its details, and its ledger entry.
async fn sender_check(app: &TestApp, id: i64) -> (Value, Value) {
    let (s, v) = app.get(&format!("/api/v2/privacy/requests/{id}.json")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let details = v["request"]["details"]["sender_check"].clone();
    let mut c = app.helpdesk().db().read().await.unwrap();
    let entries = suoja_store::ledger::page(&mut c, suoja_core::TenantId(app.t.tenant_id), 0, 10_000)
        .await
        .unwrap();
    let entry = entries
        .iter()
        .filter(|e| e.kind == "request.received")
        .map(|e| serde_json::from_str::<Value>(&e.details).unwrap())
        .find(|d| d["request"] == id)
        .unwrap_or_else(|| panic!("no ledger entry for request {id}"));
    (details, entry["sender_check"].clone())
}

/// Waits until the privacy inbox holds `n` requests; returns them.
async fn requests(app: &TestApp, n: usize) -> Vec<Value> {
    for _ in 0..150 {
        let (_, v) = app.get("/api/v2/privacy/requests.json").await;
        let list = v["requests"].as_array().cloned().unwrap_or_default();
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the privacy inbox never held {n} requests");
}

// Mail to the privacy address is checked (SPF, DKIM, DMARC against the DNS server the tests
// run) and the result is kept with the request and in the ledger, as one input to the identity
// check: a message signed by the sender's domain passes, a forged or altered one does not, and
// either way the link goes only to the address on record.
mod mail_to_the_privacy_address_is_checked_for_spf_dkim_and_dmarc {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        check_senders(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if crate::harness::pg_url().is_none() {
            eprintln!("skipped: SUOJA_TEST_PG_URL is not set");
            return;
        }
        check_senders(Engine::Postgres).await;
    }
}

async fn check_senders(engine: Engine) {
    let Some(env) = mail_env() else {
        eprintln!("skipped: SUOJA_TEST_MAIL is not set (.ci/mail-start starts Postfix and Dovecot)");
        return;
    };
    let Some(dns) = env.dns else {
        assert!(std::env::var("CI").is_err(), "SUOJA_TEST_MAIL must name the DNS server in CI");
        eprintln!("skipped: SUOJA_TEST_MAIL names no dns= (.ci/mail-start starts dnsmasq)");
        return;
    };
    // The privacy address is an alias of the mailbox Suoja reads (as an operator would set it
    // up): the message names it in To, the envelope delivers it to the support mailbox.
    let privacy = env.address("privacy");
    let (app, support) = {
        let privacy = privacy.clone();
        spawn_mail_with(engine, &env, move |s| {
            s.mail_privacy_address = Some(privacy);
            s.mail_dns = Some(dns);
        })
        .await
    };
    let ann = format!("{}@sender.test", random_name("ann"));
    let boss = format!("{}@strict.test", random_name("boss"));
    let carl = format!("{}@sender.test", random_name("carl"));
    for (name, email) in [("Ann Aalto", &ann), ("Bo Strict", &boss), ("Carl Carlsson", &carl)] {
        let (s, v) = app.post("/api/v2/users.json", json!({"user": {"name": name, "email": email}})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Signed by sender.test and sent from an address its SPF record allows.
    env.send(
        &ann,
        &[&support],
        &dkim_signed(&ann, &privacy, "Delete my data", "Please erase everything about me."),
    )
    .await;
    let first = requests(&app, 1).await;
    let ann_req = first[0]["id"].as_i64().unwrap();
    let (details, ledger) = sender_check(&app, ann_req).await;
    assert_eq!(details, json!({"spf": "pass", "dkim": "pass", "dmarc": "pass"}));
    assert_eq!(ledger, details, "the ledger keeps the same codes");
    // Claiming a domain that lets only 192.0.2.1 send and publishes p=reject: no signature,
    // SPF fails, so DMARC fails.
    env.send(&boss, &[&support], &message(&boss, &privacy, "Copy of my data", "", "Send me everything."))
        .await;
    // Signed, then altered on the way (and sent with an envelope the strict domain's SPF
    // refuses): the signature no longer verifies.
    let signed = String::from_utf8(dkim_signed(&carl, &privacy, "Erase me", "Please erase my account.")).unwrap();
    let altered = signed.replace("Please erase my account.", "Please erase the account of someone else.");
    assert_ne!(signed, altered);
    env.send("bounce@strict.test", &[&support], altered.as_bytes()).await;
    let all = requests(&app, 3).await;
    let id_of = |subject: i64| all.iter().find(|r| r["subject_id"] == subject).map(|r| r["id"].as_i64().unwrap());
    let user_id = |email: &str| {
        let email = email.to_string();
        let app = &app;
        async move {
            let (_, v) = app.get(&format!("/api/v2/users/search.json?query={email}")).await;
            v["users"][0]["id"].as_i64().unwrap()
        }
    };
    let boss_req = id_of(user_id(&boss).await).expect("a request for the strict.test address");
    let (details, _) = sender_check(&app, boss_req).await;
    assert_eq!(details, json!({"spf": "fail", "dkim": "none", "dmarc": "fail"}));
    let carl_req = id_of(user_id(&carl).await).expect("a request for carl");
    let (details, _) = sender_check(&app, carl_req).await;
    assert_eq!(details["dkim"], "fail", "{details}");
    assert_eq!(details["spf"], "fail", "{details}");
    assert_eq!(details["dmarc"], "fail", "{details}");
    for r in &all {
        assert_eq!(r["channel"], "email");
        assert_eq!(r["status"], "verifying", "each got its link at the address on record: {r}");
    }
    // The privacy officer sees the check, and the doubt, on the request page.
    let pw = "admin password for the sender check test";
    app.put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": pw}}))
        .await;
    let mut officer = crate::web::Browser::new(&app);
    officer.sign_in(&app.t.email, pw).await;
    let page = officer.get(&format!("/privacy/requests/{ann_req}")).await;
    assert!(page.body.contains("SPF pass · DKIM pass · DMARC pass"), "{}", page.body);
    assert!(!page.body.contains("did not pass DMARC"));
    let page = officer.get(&format!("/privacy/requests/{boss_req}")).await;
    assert!(page.body.contains("SPF fail · DKIM none · DMARC fail"), "{}", page.body);
    assert!(page.body.contains("did not pass DMARC"));
}

// An MTA's pipe tells the envelope (`--sender`, `--client-ip`, `--helo`); the sender check uses
// it rather than the headers: the same message passes SPF from the one address the strict
// domain allows and fails from any other.
crate::engine_test!(the_pipe_envelope_is_what_spf_is_checked_against, |app| async move {
    let Some(dns) = mail_env().and_then(|e| e.dns) else {
        eprintln!("skipped: SUOJA_TEST_MAIL names no dns= (.ci/mail-start starts dnsmasq)");
        return;
    };
    let dns = dns.to_string();
    let env = [
        ("SUOJA_MAIL_FROM", "support@help.example"),
        ("SUOJA_MAIL_PRIVACY_ADDRESS", "privacy@help.example"),
        ("SUOJA_MAIL_DNS", dns.as_str()),
    ];
    let (s, v) = app
        .post("/api/v2/users.json", json!({"user": {"name": "Bo Strict", "email": "bo@strict.test"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let deliver = |from_ip: &str, subject: &str| {
        let raw = message("Bo Strict <bo@strict.test>", "privacy@help.example", subject, "", "Please erase my data.");
        let args = ["--sender", "bo@strict.test", "--client-ip", from_ip, "--helo", "mx.strict.test"];
        let out = deliver_cli_with(&app, &raw, &env, &args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    };
    deliver("192.0.2.1", "Erase me");
    deliver("127.0.0.1", "Erase me, again");
    let all = requests(&app, 2).await;
    let mut checks = Vec::new();
    for r in &all {
        checks.push(sender_check(&app, r["id"].as_i64().unwrap()).await.0);
    }
    checks.sort_by_key(|c| c["spf"].as_str().unwrap().to_string());
    assert_eq!(
        checks,
        vec![
            json!({"spf": "fail", "dkim": "none", "dmarc": "fail"}),
            json!({"spf": "pass", "dkim": "none", "dmarc": "pass"}),
        ]
    );
});

/// A second tenant, `subdomain`, and its admin signed in to the pages at the tenant's host.
async fn tenant_admin(app: &TestApp, subdomain: &str) -> (crate::harness::Tenant, crate::web::Browser) {
    let two = app.second_tenant(subdomain).await;
    let pw = format!("admin password of tenant {subdomain}");
    let (s, v) = app
        .call_as(
            &two,
            Method::PUT,
            &format!("/api/v2/users/{}.json", two.admin_id),
            Some(json!({"user": {"password": pw}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut admin = crate::web::Browser::for_host(&app.base, &format!("{subdomain}.example"));
    admin.sign_in(&two.email, &pw).await;
    (two, admin)
}

// A tenant's admins give their helpdesk its own support address and a mailbox of its own in the
// admin pages: mail to that mailbox becomes the tenant's tickets (and no other tenant's), the
// answers come from the tenant's address and thread back through it, the password is never
// shown, and a removed mailbox is read no more.
mail_test!(a_tenant_reads_its_own_mailbox_under_its_own_address, |app, env, support| async move {
    let (two, mut admin) = tenant_admin(&app, "two").await;
    let page = admin.get("/admin/mail").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("None of its own."), "{}", page.body);

    // Mistakes are told at their fields and change nothing.
    let own = env.address("two-help");
    let page = admin
        .submit(
            "/admin/mail",
            "/admin/mail/addresses",
            &[("support_address", "help desk"), ("privacy_address", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(page.body.contains("must be one address like support@example.com"), "{}", page.body);
    let page = admin
        .submit("/admin/mail", "/admin/mail/addresses", &[("support_address", &own), ("privacy_address", &own)])
        .await;
    assert!(page.body.contains("must differ from the support address"), "{}", page.body);
    // A tenant's mailbox is read over TLS: a server without STARTTLS, or `tls=none`, is refused.
    for (plain, why) in [
        (format!("imap://{}:{}/INBOX", env.imap.0, env.imap.1), "does not offer STARTTLS"),
        (
            format!("imap://{}:{}/INBOX?tls=none", env.imap_tls.0, env.imap_tls.1),
            "a mailbox is read over TLS",
        ),
    ] {
        let page = admin
            .submit(
                "/admin/mail",
                "/admin/mail/mailboxes",
                &[("server", &plain), ("user", &own), ("password", &env.password), ("move_to", "")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{plain}");
        assert!(page.body.contains(why), "{plain}: {}", page.body);
    }
    let server = format!("imap://{}:{}/INBOX", env.imap_tls.0, env.imap_tls.1);
    let page = admin
        .submit(
            "/admin/mail",
            "/admin/mail/mailboxes",
            &[("server", &server), ("user", &own), ("password", "not the password"), ("move_to", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("refused the user name or password"), "{}", page.body);
    let page = admin
        .submit(
            "/admin/mail",
            "/admin/mail/mailboxes",
            &[("server", "https://mail.example.com/"), ("user", &own), ("password", "x"), ("move_to", "")],
        )
        .await;
    assert!(page.body.contains("must be a URL like imaps://"), "{}", page.body);
    assert_eq!(count_in(&app, two.tenant_id, "mail_mailboxes").await, 0);

    // Only at domains the operator allows, never the installation's own address.
    let page = admin
        .submit(
            "/admin/mail",
            "/admin/mail/addresses",
            &[("support_address", "security@bank.test"), ("privacy_address", "")],
        )
        .await;
    assert!(page.body.contains("must be at a domain the operator allows"), "{}", page.body);
    let page = admin
        .submit(
            "/admin/mail",
            "/admin/mail/addresses",
            &[("support_address", &support), ("privacy_address", "")],
        )
        .await;
    assert!(page.body.contains("is the installation&#39;s own address"), "{}", page.body);
    // Set up properly: the server's answer is shown, the password never.
    let page = admin
        .submit("/admin/mail", "/admin/mail/addresses", &[("support_address", &own), ("privacy_address", "")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = admin
        .submit(
            "/admin/mail",
            "/admin/mail/mailboxes",
            &[("server", &server), ("user", &own), ("password", &env.password), ("move_to", "")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("logged in; 0 messages waiting"), "{}", page.body);
    assert_eq!(mailbox_keys(&app, two.tenant_id).await, 1);
    let page = admin.get("/admin/mail").await;
    assert!(page.body.contains(&server), "{}", page.body);
    assert!(!page.body.contains(&env.password), "the password is never shown");
    assert!(page.body.contains(&own), "the tenant's own address is shown");

    // Mail to it becomes tenant two's ticket, answered from tenant two's address.
    let customer = env.address("two-customer");
    env.send(
        &customer,
        &[&own],
        &message(&customer, &own, "Toisen tilaajan asia", "", "Hei, tilaus 77 puuttuu."),
    )
    .await;
    let mut found = None;
    for _ in 0..150 {
        let (_, v) = app.call_as(&two, Method::GET, "/api/v2/tickets.json", None).await;
        if let Some(t) = v["tickets"].as_array().and_then(|l| l.first()).cloned() {
            found = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t = found.expect("tenant two's mailbox was read");
    assert_eq!(t["subject"], "Toisen tilaajan asia");
    assert_eq!(count_in(&app, two.tenant_id, "tickets").await, 1);
    assert_eq!(count(&app, "tickets").await, 0, "none for the first tenant");
    let (_, mine) = app.get("/api/v2/tickets.json").await;
    assert_eq!(mine["tickets"].as_array().unwrap().len(), 0, "the first tenant got nothing");
    let ack = env
        .wait_for(&customer, "acknowledging the ticket", |m| m.contains("Toisen tilaajan asia"))
        .await;
    assert_eq!(header(&ack, "From").as_deref(), Some(own.as_str()), "{ack}");
    let reply_to = header(&ack, "Reply-To").unwrap();
    let (local, domain) = own.split_once('@').unwrap();
    assert!(reply_to.starts_with(&format!("{local}+t")) && reply_to.ends_with(domain), "{reply_to}");
    // The customer's answer to it comes back through the tenant's reply address.
    env.send(
        &customer,
        &[&reply_to],
        &message(&customer, &reply_to, "Re: Toisen tilaajan asia", "", "Lisätieto: tilaus 78 myös."),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    for _ in 0..150 {
        let (_, v) = app.call_as(&two, Method::GET, &format!("/api/v2/tickets/{id}/comments.json"), None).await;
        if v["comments"].as_array().is_some_and(|c| c.len() == 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, v) = app.call_as(&two, Method::GET, &format!("/api/v2/tickets/{id}/comments.json"), None).await;
    assert_eq!(v["comments"].as_array().unwrap().len(), 2, "{v}");
    assert!(env.mailbox(&own).await.is_empty(), "read mail is deleted from the server");

    // Another tenant's admin cannot remove it.
    let admin_pw = "admin password of tenant one";
    app.put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": admin_pw}}))
        .await;
    let mut other = crate::web::Browser::new(&app);
    other.sign_in(&app.t.email, admin_pw).await;
    let mb: i64 = {
        let mut c = app.helpdesk().db().read().await.unwrap();
        sqlx::query_scalar("SELECT id FROM mail_mailboxes").fetch_one(&mut c).await.unwrap()
    };
    // The fetcher's look at the list opens (decrypts) only mailboxes it does not hold yet.
    let (present, opened) = room(&app).tenant_mailboxes(|_, _| false).await.unwrap();
    assert_eq!((present.len(), opened.len()), (1, 1));
    assert_eq!((opened[0].id, &opened[0].version), (present[0].0, &present[0].1));
    let (present, opened) = room(&app).tenant_mailboxes(|id, v| id == mb && v == present[0].1.as_slice()).await.unwrap();
    assert_eq!((present.len(), opened.len()), (1, 0), "a mailbox held at its version is not opened again");
    let page = other.submit("/admin/mail", &format!("/admin/mail/mailboxes/{mb}/remove"), &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert_eq!(count_in(&app, two.tenant_id, "mail_mailboxes").await, 1);
    // ... nor take its address.
    let page = other
        .submit(
            "/admin/mail",
            "/admin/mail/addresses",
            &[("support_address", &own.to_uppercase()), ("privacy_address", "")],
        )
        .await;
    assert!(page.body.contains("is already another helpdesk"), "{}", page.body);

    // Removed: its key is destroyed and its mail is read no more.
    let page = admin.submit("/admin/mail", &format!("/admin/mail/mailboxes/{mb}/remove"), &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(count_in(&app, two.tenant_id, "mail_mailboxes").await, 0);
    assert_eq!(mailbox_keys(&app, two.tenant_id).await, 0, "its key is destroyed");
    tokio::time::sleep(Duration::from_secs(4)).await;
    env.send(&customer, &[&own], &message(&customer, &own, "Vielä yksi", "", "Tätä ei enää lueta."))
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(env.mailbox(&own).await.len(), 1, "a removed mailbox is left alone");
    assert_eq!(count_in(&app, two.tenant_id, "tickets").await, 1);
});

// A tenant cannot point Suoja at the machines beside it: a mailbox or SMTP server on a loopback or private
// address is refused unless the operator lists the host.
crate::engine_test!(a_tenants_mail_servers_must_be_on_the_internet, |app| async move {
    let mut app = app;
    app.stop_server().await;
    app.settings.webhook_allowed_hosts.clear();
    app.settings.mail_from = Some("support@help.example".into());
    app.settings.smtp_url = Some("smtp://127.0.0.1:9?tls=none".into());
    app.start_server().await;
    let pw = "admin password for the mailbox guard";
    app.put(&format!("/api/v2/users/{}.json", app.t.admin_id), json!({"user": {"password": pw}}))
        .await;
    let mut admin = crate::web::Browser::new(&app);
    admin.sign_in(&app.t.email, pw).await;
    for server in [
        "imap://127.0.0.1:1143/INBOX",
        "imaps://10.1.2.3/INBOX",
        "imap://[::1]/INBOX",
        "imap://localhost/INBOX",
    ] {
        let page = admin
            .submit(
                "/admin/mail",
                "/admin/mail/mailboxes",
                &[("server", server), ("user", "u"), ("password", "p"), ("move_to", "")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{server}: {}", page.body);
        assert!(page.body.contains("must be at a public address"), "{server}: {}", page.body);
    }
    assert_eq!(count(&app, "mail_mailboxes").await, 0);
    // The same for an SMTP server of the tenant's own.
    for server in ["smtps://127.0.0.1:465", "smtp://10.1.2.3", "smtps://[::1]", "smtp://localhost:587"] {
        let page = admin
            .submit(
                "/admin/mail",
                "/admin/mail/smtp",
                &[("smtp_server", server), ("smtp_user", "u"), ("smtp_password", "p")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{server}: {}", page.body);
        assert!(page.body.contains("must be at a public address"), "{server}: {}", page.body);
    }
    let mut c = app.helpdesk().db().read().await.unwrap();
    let saved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_settings WHERE smtp_enc IS NOT NULL")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(saved, 0);
});

/// The `Received:` header the test Postfix wrote when it took `raw` in: `with ESMTPSA` when the
/// sender came over TLS and signed in, `with ESMTP` otherwise.
fn received_with(raw: &str) -> String {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n\t", " ").replace("\r\n ", " ");
    head.lines()
        .filter(|l| l.starts_with("Received:") && l.contains("by mx.suoja.test"))
        .find_map(|l| l.split(" with ").nth(1).and_then(|w| w.split_whitespace().next()).map(str::to_string))
        .unwrap_or_default()
}

// A tenant's admins send its mail through their own SMTP server: saved only after Suoja signs in
// to it over TLS (wrong password, no STARTTLS, plain text and a private address refused), used
// for that tenant's mail only, never shown with its password, and given up again on request
// (its key destroyed).
mail_test!(a_tenant_sends_through_its_own_smtp_server, |app, env, support| async move {
    let (two, mut admin) = tenant_admin(&app, "smtp2").await;
    let page = admin.get("/admin/mail").await;
    assert!(page.body.contains("None of its own: the installation"), "{}", page.body);
    let own = env.address("smtp2-support");
    let page = admin
        .submit("/admin/mail", "/admin/mail/addresses", &[("support_address", &own), ("privacy_address", "")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    let tls = format!("smtp://{}:{}", env.smtp_tls.0, env.smtp_tls.1);
    let plain = format!("smtp://{}:{}", env.smtp.0, env.smtp.1);
    for (server, password, why) in [
        (tls.as_str(), "not the password", "the server refused the user name or password"),
        (plain.as_str(), env.password.as_str(), "does not offer STARTTLS"),
        (&format!("{tls}?tls=none"), env.password.as_str(), "mail is sent over TLS"),
        // A password typed into the server's URL is not sent back either.
        (&format!("smtp://x:typed-secret@{}:{}", env.smtp.0, env.smtp.1), "", "does not offer STARTTLS"),
        ("imaps://mail.example.com", env.password.as_str(), "must be a URL like smtps://"),
    ] {
        let page = admin
            .submit(
                "/admin/mail",
                "/admin/mail/smtp",
                &[("smtp_server", server), ("smtp_user", &own), ("smtp_password", password)],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{server}: {}", page.body);
        assert!(page.body.contains(why), "{server}: {}", page.body);
        assert!(password.is_empty() || !page.body.contains(password), "the password is not sent back");
        assert!(!page.body.contains("typed-secret"), "{}", page.body);
    }
    let smtp_keys = |tenant: i64| {
        let hd = app.helpdesk().clone();
        async move {
            let mut c = hd.db().read().await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM vault_subject_keys WHERE tenant_id = $1 AND subject_kind = 'smtp'")
                .bind(tenant)
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
    };
    assert_eq!(smtp_keys(two.tenant_id).await, 0, "nothing saved");

    let page = admin
        .submit(
            "/admin/mail",
            "/admin/mail/smtp",
            &[("smtp_server", &tls), ("smtp_user", &own), ("smtp_password", &env.password)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("signed in; the tenant&#39;s mail now goes out through"), "{}", page.body);
    assert!(page.body.contains("STARTTLS required, signed in"), "{}", page.body);
    assert!(!page.body.contains(&env.password), "the password is never shown");
    assert_eq!(smtp_keys(two.tenant_id).await, 1);

    // Tenant two's acknowledgement goes through its server (TLS and a login: ESMTPSA), the first
    // tenant's through the installation's (plain ESMTP).
    let customer = env.address("smtp2-customer");
    let (s, v) = app
        .call_as(
            &two,
            Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "Oma palvelin", "requester": {"name": "Sanna Smtp", "email": customer}, "comment": {"body": "Avattu."}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ack = env
        .wait_for(&customer, "acknowledging tenant two's ticket", |m| m.contains("Oma palvelin"))
        .await;
    assert_eq!(header(&ack, "From").as_deref(), Some(own.as_str()), "{ack}");
    let raw_two = env.mailbox(&customer).await.pop().unwrap();
    assert_eq!(received_with(&raw_two), "ESMTPSA", "{raw_two}");
    let first = env.address("first-customer");
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": "Asennuksen palvelin", "requester": {"name": "Eka", "email": first}, "comment": {"body": "Avattu."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    env.wait_for(&first, "acknowledging the first tenant's ticket", |m| m.contains("Asennuksen palvelin"))
        .await;
    let raw_one = env.mailbox(&first).await.pop().unwrap();
    assert_eq!(received_with(&raw_one), "ESMTP", "{raw_one}");
    assert!(raw_one.contains(&format!("From: {support}")) || raw_one.contains(&support), "{raw_one}");

    // The test message goes the tenant's way too.
    let page = admin.submit("/admin/mail", "/admin/mail/test", &[]).await;
    assert!(page.body.contains("250"), "{}", page.body);

    // Given up: the installation's server again, the sealed settings and their key gone.
    let page = admin.submit("/admin/mail", "/admin/mail/smtp/remove", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(smtp_keys(two.tenant_id).await, 0);
    let page = admin.get("/admin/mail").await;
    assert!(page.body.contains("None of its own: the installation"), "{}", page.body);
    let later = env.address("smtp2-later");
    let (s, _) = app
        .call_as(
            &two,
            Method::POST,
            "/api/v2/tickets.json",
            Some(json!({"ticket": {"subject": "Taas asennuksen", "requester": {"name": "Myöhempi", "email": later}, "comment": {"body": "Avattu."}}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    env.wait_for(&later, "acknowledging after the removal", |m| m.contains("Taas asennuksen")).await;
    assert_eq!(received_with(&env.mailbox(&later).await.pop().unwrap()), "ESMTP");
});

/// Queues a plain message to user `user` of `tenant`, as the helpdesk's notices are queued.
async fn queue_to(app: &TestApp, tenant: i64, user: i64, subject: &str) {
    let hd = app.helpdesk();
    let t = suoja_core::TenantId(tenant);
    let mut tx = hd.db().begin().await.unwrap();
    let key = suoja_store::users::by_id(&mut tx, t, suoja_core::UserId(user)).await.unwrap().unwrap().key_id;
    let body = json!({"subject": subject, "text": "Hei."}).to_string();
    let sealed = hd.vault().encrypt_str(&mut tx, t, key, &body).await.unwrap();
    suoja_store::outbox::insert(&mut tx, t, user, "request_extended", sealed, hd.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

// A tenant's SMTP server that takes the connection and never answers holds up no other tenant's
// mail, and the pass that sends it ends in bounded time, its message put back for later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tenant_smtp_server_holds_up_no_one_elses_mail() {
    let Some(env) = mail_env() else {
        eprintln!("skipped: SUOJA_TEST_MAIL is not set (.ci/mail-start starts Postfix and Dovecot)");
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await;
    let room = room(&app);
    let installation = suoja_mail::send::Smtp::from_url(&format!("smtp://{}:{}?tls=none", env.smtp.0, env.smtp.1), &suoja_mail::Trust::public()).unwrap();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let _held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            kept.push(s);
        }
    });
    // Tenant two's own server, as the admin page saves it (its sign-in check would not pass now).
    let two = app.second_tenant("quiet").await;
    {
        let hd = app.helpdesk();
        let t = suoja_core::TenantId(two.tenant_id);
        let mut tx = hd.db().begin().await.unwrap();
        let key = hd.vault().create_subject_key(&mut tx, t, "smtp", hd.now()).await.unwrap();
        let settings = json!({"url": format!("smtp://127.0.0.1:{port}"), "server": "silent"}).to_string();
        let sealed = hd.vault().encrypt_str(&mut tx, t, key, &settings).await.unwrap();
        suoja_store::settings::set_mail_smtp(&mut tx, t, Some((key, &sealed)), two.admin_id, hd.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let reader = env.address("not-held-up");
    let (s, v) = app.post("/api/v2/users.json", json!({"user": {"name": "Riikka", "email": reader}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    queue_to(&app, two.tenant_id, two.admin_id, "Hiljainen").await;
    queue_to(&app, app.t.tenant_id, v["user"]["id"].as_i64().unwrap(), "Ei odota").await;

    let started = std::time::Instant::now();
    let pass = tokio::spawn(async move { room.send_due(&installation).await.unwrap() });
    env.wait_for(&reader, "from the first tenant", |m| m.contains("Ei odota")).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the other tenant's mail waited {:?}",
        started.elapsed()
    );
    let sent = tokio::time::timeout(Duration::from_secs(90), pass)
        .await
        .expect("the pass never ended: a silent server held it")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(80), "the pass took {:?}", started.elapsed());
    assert_eq!((sent.sent, sent.retried, sent.failed), (1, 1, 0), "{sent:?}");
    let mut c = app.helpdesk().db().read().await.unwrap();
    let rows = sqlx_rows(&mut c, two.tenant_id).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].1 != "sent" && rows[0].1 != "failed" && rows[0].2 > 0, "put back, body kept: {rows:?}");
}

// Following in the help center and community is heard of by e-mail: the outbox notice of a new
// post reaches the follower's mailbox through Postfix and Dovecot, naming the topic and the
// post's number, never what its writer wrote.
mail_test!(
    a_topic_s_follower_hears_of_a_new_post_by_mail_without_its_words,
    |app, env, support| async move {
        let follower = env.address("follower");
        let (s, v) = app
            .post("/api/v2/users.json", json!({"user": {"name": "Fiona Follower", "email": follower}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let fiona = v["user"]["id"].as_i64().unwrap();
        let (s, v) = app.post("/api/v2/community/topics.json", json!({"topic": {"name": "Ideas"}})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let topic = v["topic"]["id"].as_i64().unwrap();
        let (s, v) = app
            .post(
                &format!("/api/v2/community/topics/{topic}/subscriptions.json"),
                json!({"subscription": {"user_id": fiona}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = app
            .post(
                "/api/v2/community/posts.json",
                json!({"post": {"title": "Quiet keyboard wish", "details": "<p>My neighbour Pertti types loudly.</p>", "topic_id": topic}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let post = v["post"]["id"].as_i64().unwrap();
        let notice = env.wait_for(&follower, "the notice of a new post", |m| m.contains("New post in Ideas")).await;
        assert!(notice.contains(&format!("post number {post}")), "{notice}");
        assert!(!notice.contains("Pertti") && !notice.contains("keyboard"), "no one's words: {notice}");
        let _ = support;
    }
);
