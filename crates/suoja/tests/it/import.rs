//! `suoja import zendesk` run as an operator runs it, against real servers on loopback that
//! speak Zendesk's API: another `suoja serve` seeded with a realistic tenant, and a small server
//! answering in Zendesk's documented shapes what Suoja itself never sends (offset pages,
//! deleted records, a `429`, fields of types Suoja does not keep, files on another site).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TempDir, send};
use crate::process::{Proc, client, command, db_for, init};
use crate::process_test;

type Call = Box<dyn Fn(Method, String) -> reqwest::RequestBuilder + Send + Sync>;

struct Side {
    proc: Proc,
    call: Call,
}

impl Side {
    fn start(dir: &Path, db: Option<&str>, email: &str, token: &str) -> Self {
        Side {
            proc: Proc::start(dir, db, "serve.log", &[("SUOJA_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")]),
            call: Box::new(client(email, token)),
        }
    }

    async fn req(&self, m: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = (self.call)(m, format!("{}{path}", self.proc.base()));
        if let Some(b) = body {
            r = r.json(&b);
        }
        send(r).await
    }

    async fn get(&self, path: &str) -> Value {
        let (s, v) = self.req(Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.req(Method::POST, path, Some(body)).await;
        assert!(s.is_success(), "POST {path}: {s} {v}");
        v
    }

    async fn put(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.req(Method::PUT, path, Some(body)).await;
        assert!(s.is_success(), "PUT {path}: {s} {v}");
        v
    }

    async fn bytes(&self, url: &str) -> Vec<u8> {
        let resp = (self.call)(Method::GET, url.to_string()).send().await.unwrap();
        assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
        resp.bytes().await.unwrap().to_vec()
    }

    /// Every record of a list (cursor pages of 100).
    async fn all(&self, path: &str, root: &str) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{}{path}{sep}page[size]=100", self.proc.base());
        let mut out = Vec::new();
        loop {
            let (s, v) = send((self.call)(Method::GET, url.clone())).await;
            assert_eq!(s, StatusCode::OK, "{url}: {v}");
            out.extend(v[root].as_array().unwrap().iter().cloned());
            match v["links"]["next"].as_str() {
                Some(next) if v["meta"]["has_more"] == json!(true) => url = next.to_string(),
                _ => break,
            }
        }
        out
    }
}

/// Runs `suoja import zendesk` against `source` into the installation at `dir`.
fn import(dir: &Path, db: Option<&str>, source: &str, token: &str, extra: &[&str]) -> Output {
    let out = command(dir, db)
        .args(["import", "zendesk", "--url", source, "--email", "admin@source.example"])
        .args(extra)
        .env("ZENDESK_API_TOKEN", token)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The report's table: kind → [read, new, already here, refused].
fn table(out: &Output) -> BTreeMap<String, [u64; 4]> {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut t = BTreeMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(split) = words.len().checked_sub(4) else { continue };
        let nums: Vec<u64> = words[split..].iter().filter_map(|w| w.parse().ok()).collect();
        if split > 0 && nums.len() == 4 {
            t.insert(words[..split].join(" "), [nums[0], nums[1], nums[2], nums[3]]);
        }
    }
    t
}

/// A person's data as their export shows it: who they are, their tickets, the mentions of them
/// elsewhere and their records (not the log of who read them, which the test's own reads grow).
fn export(dir: &Path, db: Option<&str>, email: &str) -> Value {
    let file = dir.join(format!("export-{email}.json"));
    let out = command(dir, db)
        .args(["export", "--subject", email, "--format", "json", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    json!([v["subject"], v["tickets"], v["mentions"], v["records"], v["summary"], v["withheld"]])
}

/// The source tenant: people who share a first name, names with diacritics and inside HTML,
/// an organisation, a group, a drop-down and a text field, and tickets with a requester's
/// first words (one with a file), an agent's internal note and a public reply.
async fn seed_source(src: &Side, tickets: usize) {
    let group = src
        .post("/api/v2/groups.json", json!({"group": {"name": "Tier 2", "description": "escalations"}}))
        .await;
    let org = src
        .post(
            "/api/v2/organizations.json",
            json!({"organization": {"name": "Kahvila Oy", "domain_names": ["kahvila.example"]}}),
        )
        .await;
    let product = src
        .post(
            "/api/v2/ticket_fields.json",
            json!({"ticket_field": {"type": "tagger", "title": "Product", "custom_field_options": [
                {"name": "Espresso", "value": "espresso"}, {"name": "Latte", "value": "latte"}]}}),
        )
        .await;
    let order = src
        .post("/api/v2/ticket_fields.json", json!({"ticket_field": {"type": "text", "title": "Order number"}}))
        .await;
    let agent = src
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Aino Agentti", "email": "aino@source.example", "role": "agent"}}),
        )
        .await;
    let mut people = Vec::new();
    for (i, (name, email)) in [
        ("Ted Virtanen", "ted@kahvila.example"),
        ("Åsa Jääskeläinen", "asa@example.org"),
        ("<b>Ted</b> Nieminen", "ted.n@example.net"),
    ]
    .into_iter()
    .enumerate()
    {
        let org_id = if i == 0 { org["organization"]["id"].clone() } else { Value::Null };
        let u = src
            .post(
                "/api/v2/users.json",
                json!({"user": {"name": name, "email": email, "organization_id": org_id, "phone": format!("+358 40 123 45{i:02}")}}),
            )
            .await;
        people.push(u["user"]["id"].as_i64().unwrap());
    }
    let (s, up) = send(
        (src.call)(Method::POST, format!("{}/api/v2/uploads.json?filename=kuitti%C3%A4.txt", src.proc.base()))
            .header("Content-Type", "text/plain")
            .body("receipt 42 for Ted, paid in full"),
    )
    .await;
    assert!(s.is_success(), "{up}");
    let upload = up["upload"]["token"].clone();
    let agent_id = agent["user"]["id"].as_i64().unwrap();
    for i in 0..tickets {
        let requester = people[i % 3];
        let t = src
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {
                    "subject": format!("Order {i} started late"),
                    "comment": {"body": format!("Hello, my order {i} started late. <b>Ted</b> here."), "uploads": if i == 0 { json!([upload]) } else { json!([]) }},
                    "requester_id": requester,
                    "group_id": group["group"]["id"],
                    "priority": "high",
                    "tags": ["coffee", format!("t{i}")],
                    "custom_fields": [{"id": product["ticket_field"]["id"], "value": "latte"}, {"id": order["ticket_field"]["id"], "value": format!("A-{i}")}],
                    "collaborator_ids": [people[(i + 1) % 3]],
                }}),
            )
            .await;
        let id = t["ticket"]["id"].as_i64().unwrap();
        src.put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"comment": {"body": format!("Internal: the roaster of order {i} started to smoke"), "public": false, "author_id": agent_id}, "assignee_id": agent_id, "status": "open"}}),
        )
        .await;
        src.put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"comment": {"body": format!("Sorry Ted, order {i} is fixed."), "public": true, "author_id": agent_id}, "status": if i % 2 == 1 { "solved" } else { "pending" }}}),
        )
        .await;
    }
    // The help center: a public article by the agent with a person's comment, and a draft kept
    // to staff; the community: a person's post in a topic with the agent's official answer.
    let category = src
        .post(
            "/api/v2/help_center/categories.json",
            json!({"category": {"name": "Getting started", "locale": "en-us"}}),
        )
        .await;
    let section = src
        .post(
            &format!("/api/v2/help_center/categories/{}/sections.json", category["category"]["id"]),
            json!({"section": {"name": "Espresso machines", "description": "Care and repair"}}),
        )
        .await;
    let articles = format!("/api/v2/help_center/sections/{}/articles.json", section["section"]["id"]);
    let public = src
        .post(
            &articles,
            json!({"article": {"title": "Descaling the roaster", "body": "<p>Use <b>citric</b> acid, Ted.</p>", "author_id": agent_id, "label_names": ["care"]}}),
        )
        .await;
    src.post(
        &articles,
        json!({"article": {"title": "Warranty codes", "body": "<p>Internal list</p>", "draft": true, "user_segment_id": 2}}),
    )
    .await;
    src.post(
        &format!("/api/v2/help_center/articles/{}/comments.json", public["article"]["id"]),
        json!({"comment": {"body": "<p>Worked for me — Åsa</p>", "author_id": people[1]}}),
    )
    .await;
    let topic = src.post("/api/v2/community/topics.json", json!({"topic": {"name": "Feature requests"}})).await;
    let post = src
        .post(
            "/api/v2/community/posts.json",
            json!({"post": {"title": "Grinder presets", "details": "<p>Please add presets, says Ted</p>", "topic_id": topic["topic"]["id"], "author_id": people[0]}}),
        )
        .await;
    src.post(
        &format!("/api/v2/community/posts/{}/comments.json", post["post"]["id"]),
        json!({"comment": {"body": "<p>Planned for spring</p>", "author_id": agent_id, "official": true}}),
    )
    .await;
}

/// The help center and the community as both sides must show them, in the words of the side
/// (authors by address, places by name).
async fn guide(side: &Side, v: &View) -> Value {
    let email = |id: &Value| id.as_i64().map(|i| v.emails[&i].clone());
    let sections: BTreeMap<i64, String> = side
        .all("/api/v2/help_center/sections.json", "sections")
        .await
        .iter()
        .map(|s| (s["id"].as_i64().unwrap(), s["name"].as_str().unwrap().to_string()))
        .collect();
    let mut articles = Vec::new();
    for a in side.all("/api/v2/help_center/articles.json", "articles").await {
        let comments: Vec<Value> = side
            .all(&format!("/api/v2/help_center/articles/{}/comments.json", a["id"]), "comments")
            .await
            .iter()
            .map(|c| json!([email(&c["author_id"]), c["body"], c["created_at"]]))
            .collect();
        articles.push(json!({
            "title": a["title"], "body": a["body"], "author": email(&a["author_id"]), "created_at": a["created_at"],
            "draft": a["draft"], "segment": a["user_segment_id"], "labels": a["label_names"], "locale": a["locale"],
            "comments_disabled": a["comments_disabled"],
            "section": sections[&a["section_id"].as_i64().unwrap()], "comments": comments,
        }));
    }
    let topics: BTreeMap<i64, String> = side
        .all("/api/v2/community/topics.json", "topics")
        .await
        .iter()
        .map(|t| (t["id"].as_i64().unwrap(), t["name"].as_str().unwrap().to_string()))
        .collect();
    let mut posts = Vec::new();
    for p in side.all("/api/v2/community/posts.json", "posts").await {
        let comments: Vec<Value> = side
            .all(&format!("/api/v2/community/posts/{}/comments.json", p["id"]), "comments")
            .await
            .iter()
            .map(|c| json!([email(&c["author_id"]), c["body"], c["official"], c["created_at"]]))
            .collect();
        posts.push(json!({
            "title": p["title"], "details": p["details"], "author": email(&p["author_id"]), "created_at": p["created_at"],
            "status": p["status"], "topic": topics[&p["topic_id"].as_i64().unwrap()], "comments": comments,
        }));
    }
    articles.sort_by_key(|a| a["title"].to_string());
    json!({"articles": articles, "posts": posts})
}

/// People by id → e-mail address, tickets by subject, fields by id → title, groups and
/// organisations by id → name: the parts of a tenant that must match after an import.
struct View {
    emails: BTreeMap<i64, String>,
    tickets: BTreeMap<String, Value>,
    fields: BTreeMap<i64, String>,
    groups: BTreeMap<i64, String>,
    orgs: BTreeMap<i64, String>,
}

async fn view(side: &Side) -> View {
    let emails = side
        .all("/api/v2/users.json", "users")
        .await
        .iter()
        .map(|u| (u["id"].as_i64().unwrap(), u["email"].as_str().unwrap_or_default().to_string()))
        .collect();
    let tickets = side
        .all("/api/v2/tickets.json", "tickets")
        .await
        .into_iter()
        .map(|t| (t["subject"].as_str().unwrap().to_string(), t))
        .collect();
    let fields = side.get("/api/v2/ticket_fields.json").await["ticket_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_i64().unwrap(), f["title"].as_str().unwrap().to_string()))
        .collect();
    let named = |v: &Value, root: &str| -> BTreeMap<i64, String> {
        v[root]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["id"].as_i64().unwrap(), g["name"].as_str().unwrap().to_string()))
            .collect()
    };
    let groups = named(&side.get("/api/v2/groups.json").await, "groups");
    let orgs = named(&side.get("/api/v2/organizations.json").await, "organizations");
    View {
        emails,
        tickets,
        fields,
        groups,
        orgs,
    }
}

/// A ticket as both sides must show it, in the words of the side (ids turned into addresses,
/// titles and names).
async fn portable(side: &Side, v: &View, t: &Value) -> Value {
    let email = |id: &Value| id.as_i64().map(|i| v.emails[&i].clone());
    let emails = |ids: &Value| -> BTreeSet<String> { ids.as_array().unwrap().iter().filter_map(email).collect() };
    let custom: BTreeMap<String, Value> = t["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["value"].is_null())
        .map(|f| (v.fields[&f["id"].as_i64().unwrap()].clone(), f["value"].clone()))
        .collect();
    let id = t["id"].as_i64().unwrap();
    let comments = side.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
    let mut said = Vec::new();
    for c in comments["comments"].as_array().unwrap() {
        let mut files = Vec::new();
        for a in c["attachments"].as_array().unwrap() {
            let bytes = side.bytes(a["content_url"].as_str().unwrap()).await;
            files.push(json!([a["file_name"], a["content_type"], String::from_utf8_lossy(&bytes)]));
        }
        said.push(json!({"author": email(&c["author_id"]), "public": c["public"], "body": c["body"], "created_at": c["created_at"], "files": files}));
    }
    json!({
        "status": t["status"], "priority": t["priority"], "created_at": t["created_at"],
        "tags": t["tags"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect::<BTreeSet<_>>(),
        "requester": email(&t["requester_id"]), "submitter": email(&t["submitter_id"]), "assignee": email(&t["assignee_id"]),
        "group": t["group_id"].as_i64().map(|g| v.groups[&g].clone()),
        "organization": t["organization_id"].as_i64().map(|o| v.orgs[&o].clone()),
        "collaborators": emails(&t["collaborator_ids"]),
        "custom": custom,
        "comments": said,
    })
}

process_test!(zendesk_import_brings_a_tenant_over_once, brings_a_tenant_over_once);

async fn brings_a_tenant_over_once(engine: crate::harness::Engine) {
    let (src_dir, dst_dir) = (TempDir::new(), TempDir::new());
    let src_init = init(&src_dir.0, None, "admin@source.example");
    let src_token = src_init["api_token"].as_str().unwrap().to_string();
    let src = Side::start(&src_dir.0, None, "admin@source.example", &src_token);
    seed_source(&src, 6).await;

    let db = db_for(engine).await;
    let db = db.as_deref();
    let dst_init = init(&dst_dir.0, db, "admin@dest.example");
    let dst = Side::start(&dst_dir.0, db, "admin@dest.example", dst_init["api_token"].as_str().unwrap());
    // People already here: one who shares a first name and words with the incoming tickets,
    // and one with an incoming person's address under another name.
    let lahtinen = dst
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Ted Lahtinen", "email": "ted.lahtinen@dest.example"}}),
        )
        .await;
    dst.post(
        "/api/v2/tickets.json",
        json!({"ticket": {"subject": "Ted started the espresso machine", "comment": {"body": "Order 3 started late, Ted says"}, "requester_id": lahtinen["user"]["id"]}}),
    )
    .await;
    let asa = dst
        .post("/api/v2/users.json", json!({"user": {"name": "Åsa J.", "email": "asa@example.org"}}))
        .await;
    let before = export(&dst_dir.0, db, "ted.lahtinen@dest.example");
    // An integration listening for new tickets hears of tickets made here, not of tickets
    // moved in (they carry people's names and addresses to a third party).
    let (endpoint, heard) = crate::harness::recipient().await;
    dst.post(
        "/api/v2/webhooks.json",
        json!({"webhook": {"name": "CRM", "endpoint": endpoint, "subscriptions": ["ticket.created"]}}),
    )
    .await;

    let out = import(&dst_dir.0, db, &src.proc.base(), &src_token, &[]);
    let report = table(&out);
    assert_eq!(report["ticket"], [6, 6, 0, 0], "{}", String::from_utf8_lossy(&out.stdout));
    // The source's admin and agent and three people; Åsa is found by her address.
    assert_eq!(report["person"], [5, 4, 1, 0]);
    assert_eq!(report["ticket field"], [2, 2, 0, 0]);
    assert_eq!((report["group"], report["organization"]), ([1, 1, 0, 0], [1, 1, 0, 0]));
    for what in ["category", "section", "article comment", "topic", "post", "post comment"] {
        assert_eq!(report[what], [1, 1, 0, 0], "{what}: {}", String::from_utf8_lossy(&out.stdout));
    }
    assert_eq!(report["article"], [2, 2, 0, 0]);

    // Every ticket reads the same on both sides: writers, public and internal comments, their
    // times, files, tags, fields, people and places.
    let (sv, dv) = (view(&src).await, view(&dst).await);
    for (subject, t) in &sv.tickets {
        let here = dv.tickets.get(subject).unwrap_or_else(|| panic!("{subject} was not brought over"));
        assert_eq!(portable(&dst, &dv, here).await, portable(&src, &sv, t).await, "{subject}");
        assert_eq!(here["via"]["channel"], "import");
    }
    assert_eq!(dv.tickets.len(), 7, "six brought over and the one made here");
    // The help center and the community read the same: authors, times, texts, the draft kept
    // to staff, the official answer.
    let (here, there) = (guide(&dst, &dv).await, guide(&src, &sv).await);
    assert_eq!(here, there);
    assert_eq!(here["articles"].as_array().unwrap().len(), 2, "{here}");
    assert_eq!(here["articles"][1]["segment"], json!(2), "{here}");
    let other = dst
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Kontrolli Henkilö", "email": "control@dest.example"}}),
        )
        .await;
    dst.post(
        "/api/v2/tickets.json",
        json!({"ticket": {"subject": "Made here after the move", "comment": {"body": "hello"}, "requester_id": other["user"]["id"]}}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while heard.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = heard.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "only the ticket made here was announced: {events:?}");
    // The words of later comments are searchable (the internal note's for staff).
    let found = dst.get("/api/v2/search.json?query=roaster%20smoke").await;
    assert_eq!(found["count"], 6, "{found}");
    // Åsa keeps the name she has here; the person who shares a first name and words with the
    // incoming tickets is untouched, to the byte.
    let asa_now = dst.get(&format!("/api/v2/users/{}.json", asa["user"]["id"])).await;
    assert_eq!(asa_now["user"]["name"], "Åsa J.");
    assert_eq!(export(&dst_dir.0, db, "ted.lahtinen@dest.example"), before);

    // Again: nothing changes. A dry run reads everything from the start and finds it all here.
    let again = table(&import(&dst_dir.0, db, &src.proc.base(), &src_token, &[]));
    for (what, row) in &again {
        assert_eq!(row[1], 0, "{what} made again: {again:?}");
    }
    let dry = table(&import(&dst_dir.0, db, &src.proc.base(), &src_token, &["--dry-run"]));
    assert_eq!((dry["ticket"], dry["person"]), ([6, 0, 6, 0], [5, 0, 5, 0]), "{dry:?}");
    assert_eq!((dry["article"], dry["post"]), ([2, 0, 2, 0], [1, 0, 1, 0]), "{dry:?}");
    assert_eq!(guide(&dst, &dv).await, here, "nothing of the help center or community was made again");
    assert_eq!(view(&dst).await.tickets.len(), 8);
    assert_eq!(view(&dst).await.emails.len(), dv.emails.len() + 1, "the control person is the only one added");

    // A person erased here is not brought back by a later import, even when they write again
    // at the source: their new ticket is refused and said so.
    let id_of = |v: &View, email: &str| *v.emails.iter().find(|(_, e)| *e == email).unwrap().0;
    let erased = id_of(&dv, "ted.n@example.net");
    let (s, e) = dst
        .req(Method::POST, &format!("/api/v2/privacy/subjects/{erased}/erasure.json"), Some(json!({})))
        .await;
    assert!(s.is_success(), "{e}");
    let source_id = id_of(&sv, "ted.n@example.net");
    src.post(
        "/api/v2/tickets.json",
        json!({"ticket": {"subject": "Ted writes again", "comment": {"body": "Me again"}, "requester_id": source_id}}),
    )
    .await;
    let out = import(&dst_dir.0, db, &src.proc.base(), &src_token, &[]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(table(&out)["ticket"], [1, 0, 0, 1], "{text}");
    let reason = format!("requester_id: the source's person {source_id} was erased or deleted here, and is not brought back");
    assert!(text.contains(&reason), "{text}");
    let now = view(&dst).await;
    assert!(!now.tickets.contains_key("Ted writes again"));
    assert!(!now.emails.values().any(|e| e == "ted.n@example.net"), "the erased person stays erased");
}

process_test!(zendesk_import_killed_midway_resumes, killed_midway_resumes);

async fn killed_midway_resumes(engine: crate::harness::Engine) {
    const TICKETS: usize = 130;
    let (src_dir, dst_dir) = (TempDir::new(), TempDir::new());
    let src_token = init(&src_dir.0, None, "admin@source.example")["api_token"].as_str().unwrap().to_string();
    let src = Side::start(&src_dir.0, None, "admin@source.example", &src_token);
    seed_source(&src, TICKETS).await;
    let db = db_for(engine).await;
    let db = db.as_deref();
    let dst_init = init(&dst_dir.0, db, "admin@dest.example");
    let dst = Side::start(&dst_dir.0, db, "admin@dest.example", dst_init["api_token"].as_str().unwrap());

    // Paced at 10 requests a second, one at a time: the first hundred tickets land in one
    // transaction, and the import is killed while it reads the rest.
    let mut child = command(&dst_dir.0, db)
        .args([
            "import",
            "zendesk",
            "--url",
            &src.proc.base(),
            "--email",
            "admin@source.example",
            "--parallel",
            "1",
            "--max-rate",
            "600",
        ])
        .env("ZENDESK_API_TOKEN", &src_token)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let landed = loop {
        let n = dst.get("/api/v2/tickets.json?per_page=1").await["count"].as_u64().unwrap();
        if n > 0 {
            break n;
        }
        assert!(child.try_wait().unwrap().is_none(), "the import ended before it was killed");
        assert!(Instant::now() < deadline, "no ticket landed in two minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = dst.get("/api/v2/tickets.json?per_page=1").await["count"].as_u64().unwrap();
    assert!((landed..TICKETS as u64).contains(&at_kill), "killed with {at_kill} of {TICKETS} in");

    let out = import(&dst_dir.0, db, &src.proc.base(), &src_token, &[]);
    let report = table(&out);
    assert_eq!(report["ticket"][1] + report["ticket"][2], TICKETS as u64, "{report:?}");
    assert_eq!(report["ticket"][2], at_kill, "what landed before the kill is found, not made again");
    let tickets = dst.all("/api/v2/tickets.json", "tickets").await;
    let subjects: BTreeSet<String> = tickets.iter().map(|t| t["subject"].as_str().unwrap().to_string()).collect();
    assert_eq!((tickets.len(), subjects.len()), (TICKETS, TICKETS), "every ticket once");
    for t in &tickets {
        let id = t["id"].as_i64().unwrap();
        let c = dst.get(&format!("/api/v2/tickets/{id}/comments.json")).await;
        assert_eq!(c["comments"].as_array().unwrap().len(), 3, "ticket {id} has its whole conversation");
    }
}

/// What the fixture account saw.
#[derive(Default)]
struct Seen {
    org_requests: Vec<Instant>,
    signed_files: BTreeMap<String, bool>,
    unsigned_api_calls: u32,
    /// The source has the ghost ticket's requester again (for the second run).
    ghost_back: bool,
}

/// A ticket whose requester the source cannot show (until `ghost_back`).
fn ghost_ticket() -> Vec<Value> {
    vec![json!({"id": 904, "status": "new", "subject": "Ghost", "requester_id": 805, "submitter_id": 805,
        "created_at": "2024-03-06T10:00:00Z", "updated_at": "2024-03-06T10:00:00Z"})]
}

/// A Zendesk account's answers in Zendesk's documented shapes, for what Suoja never sends.
fn fixture(base: &str, files: &str, seen: Arc<Mutex<Seen>>) -> axum::Router {
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, Uri};
    use axum::response::{IntoResponse, Response};
    type St = (String, String, Arc<Mutex<Seen>>);
    async fn api(State((base, files, seen)): State<St>, uri: Uri, headers: HeaderMap, Query(q): Query<BTreeMap<String, String>>) -> Response {
        let want = format!("Basic {}", base64_encode("admin@source.example/token:fixture-token"));
        if headers.get("authorization").and_then(|h| h.to_str().ok()) != Some(want.as_str()) {
            seen.lock().unwrap().unsigned_api_calls += 1;
            return (StatusCode::UNAUTHORIZED, "{}").into_response();
        }
        let ok = |v: Value| axum::Json(v).into_response();
        match uri.path() {
            "/api/v2/ticket_fields.json" if q.get("page").map(String::as_str) == Some("2") => ok(json!({
                "ticket_fields": [{"id": 503, "type": "checkbox", "title": "Urgent", "tag": "urgent", "active": true, "removable": true}],
                "next_page": null})),
            "/api/v2/ticket_fields.json" => ok(json!({
                "ticket_fields": [
                    {"id": 500, "type": "subject", "title": "Subject", "removable": false, "active": true},
                    {"id": 501, "type": "dropdown", "title": "Region", "active": true, "removable": true,
                     "custom_field_options": [{"id": 1, "name": "North", "value": "north"}, {"id": 2, "name": "South", "value": "south"}]},
                    {"id": 502, "type": "lookup", "title": "Linked record", "active": true, "removable": true}],
                "next_page": format!("{base}/api/v2/ticket_fields.json?page=2")})),
            // The account names itself by its own address, whatever address reached it.
            "/api/v2/users/me.json" => ok(json!({"user": {"id": 1, "role": "admin", "url": "https://fixture.zendesk.example/api/v2/users/1.json"}})),
            "/api/v2/groups.json" => ok(json!({"groups": [
                {"id": 601, "name": "Support", "deleted": false}, {"id": 602, "name": "Old team", "deleted": true}], "next_page": null})),
            "/api/v2/organizations.json" => {
                let first = {
                    let mut s = seen.lock().unwrap();
                    s.org_requests.push(Instant::now());
                    s.org_requests.len() == 1
                };
                if first {
                    return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "{}").into_response();
                }
                if q.contains_key("page[after]") {
                    ok(json!({"organizations": [{"id": 702, "name": "Etelä Oy"}], "meta": {"has_more": false}, "links": {"next": null}}))
                } else {
                    ok(
                        json!({"organizations": [{"id": 701, "name": "Pohjola Ltd", "domain_names": ["pohjola.example"]}],
                        "meta": {"has_more": true, "after_cursor": "x"},
                        "links": {"next": format!("{base}/api/v2/organizations.json?page[size]=100&page[after]=x")}}),
                    )
                }
            }
            // A later run resumes from the cursor: nothing changed at the source since.
            "/api/v2/incremental/users/cursor.json" | "/api/v2/incremental/tickets/cursor.json" if q.contains_key("cursor") => {
                ok(json!({"users": [], "tickets": [], "after_cursor": q["cursor"], "end_of_stream": true}))
            }
            "/api/v2/incremental/users/cursor.json" => ok(json!({
                "users": [
                    {"id": 801, "name": "Ted Koski", "email": "ted@pohjola.example", "role": "end-user", "organization_id": 701, "created_at": "2023-05-01T08:00:00Z"},
                    {"id": 802, "name": "Bad Address", "email": "not-an-address", "role": "end-user"},
                    {"id": 803, "name": "Agent Smith", "email": "smith@support.example", "role": "agent"},
                    {"id": 806, "name": "Gone Agent", "email": "gone@support.example", "role": "agent", "active": false}],
                "after_cursor": "u1", "end_of_stream": true})),
            "/api/v2/users/show_many.json" => {
                let asked: Vec<&str> = q.get("ids").map(|s| s.split(',').collect()).unwrap_or_default();
                let ghost_back = seen.lock().unwrap().ghost_back;
                let mut users = Vec::new();
                for id in asked {
                    match id {
                        "804" => users.push(json!({"id": 804, "name": "Late Comer", "email": "late@example.com", "role": "end-user"})),
                        "805" if ghost_back => users.push(json!({"id": 805, "name": "Ghost Writer", "email": "ghost@example.com"})),
                        _ => {}
                    }
                }
                ok(json!({"users": users}))
            }
            "/api/v2/tickets/show_many.json" => {
                let asked = q.get("ids").cloned().unwrap_or_default();
                let tickets: Vec<Value> = ghost_ticket().into_iter().filter(|_| asked == "904").collect();
                ok(json!({"tickets": tickets}))
            }
            "/api/v2/incremental/tickets/cursor.json" => ok(json!({
                "tickets": [
                    {"id": 901, "status": "open", "subject": "Heating failed", "requester_id": 801, "submitter_id": 801, "assignee_id": 803,
                     "group_id": 601, "organization_id": 701, "tags": ["heat"], "priority": "urgent", "type": "incident",
                     "custom_fields": [{"id": 501, "value": "north"}, {"id": 502, "value": "rec-1"}, {"id": 503, "value": true}],
                     "created_at": "2024-03-01T10:00:00Z", "updated_at": "2024-03-02T10:00:00Z", "via": {"channel": "email"}},
                    {"id": 902, "status": "deleted", "subject": "Gone", "requester_id": 801},
                    {"id": 903, "status": "new", "subject": "Joined later", "requester_id": 804, "submitter_id": 804, "assignee_id": 801,
                     "created_at": "2024-03-05T10:00:00Z", "updated_at": "2024-03-05T10:00:00Z"},
                    ghost_ticket()[0].clone(),
                    {"id": 901, "status": "open", "subject": "Heating failed (listed twice)", "requester_id": 801}],
                "after_cursor": "t1", "end_of_stream": true})),
            "/api/v2/tickets/901/comments.json" => ok(json!({"comments": [
                {"id": 1, "author_id": 801, "public": true, "body": "The heating failed", "html_body": "<p>The heating failed</p>",
                 "created_at": "2024-03-01T10:00:00Z", "attachments": [
                    {"file_name": "photo.jpg", "content_type": "image/jpeg", "content_url": format!("{files}/photo.jpg")},
                    {"file_name": "log.txt", "content_type": "text/plain", "content_url": format!("{base}/files/log.txt")}]},
                {"id": 2, "author_id": 803, "public": false, "body": "Check the boiler", "created_at": "2024-03-01T11:00:00Z", "attachments": []},
                {"id": 5, "author_id": 801, "public": false, "body": "A note the requester wrote as staff there", "created_at": "2024-03-01T12:00:00Z",
                 "attachments": [{"file_name": "huge.bin", "content_type": "application/octet-stream", "content_url": format!("{base}/files/huge.bin")}]},
                {"id": 6, "author_id": 806, "body": "Unsaid whether public, and when", "attachments": []}],
                "meta": {"has_more": false}})),
            "/api/v2/tickets/903/comments.json" => ok(json!({"comments": [
                {"id": 3, "author_id": 804, "public": true, "body": "I joined later", "created_at": "2024-03-05T10:00:00Z", "attachments": []}],
                "next_page": null})),
            "/api/v2/tickets/904/comments.json" => ok(json!({"comments": [
                {"id": 4, "author_id": 805, "public": true, "body": "Boo", "created_at": "2024-03-06T10:00:00Z", "attachments": []}]})),
            "/api/v2/satisfaction_ratings.json" => ok(json!({"satisfaction_ratings": [
                {"id": 1001, "score": "good", "comment": "Warm again, thanks", "ticket_id": 901, "requester_id": 801,
                 "created_at": "2024-03-03T09:00:00Z", "updated_at": "2024-03-03T09:05:00Z"},
                {"id": 1002, "score": "offered", "ticket_id": 903, "requester_id": 804},
                {"id": 1003, "score": "bad", "ticket_id": 999, "requester_id": 801, "created_at": "2024-03-04T09:00:00Z"}],
                "meta": {"has_more": false}, "links": {"next": null}})),
            // The help center: a segment narrowed by a tag (kept to staff here), an article of
            // a segment the source does not list, one by an end user (refused: authors are
            // staff), a section whose category is gone; the community: a post with an answer.
            "/api/v2/help_center/user_segments.json" => ok(json!({"user_segments": [
                {"id": 3601, "name": "Signed in", "user_type": "signed_in_users", "tags": [], "built_in": true},
                {"id": 3602, "name": "VIP", "user_type": "signed_in_users", "tags": ["vip"]},
                {"id": 3603, "name": "Agents", "user_type": "staff"},
                {"id": 3604, "name": "Named people", "user_type": "signed_in_users", "tags": [], "added_user_ids": [801]}], "next_page": null})),
            "/api/v2/help_center/categories.json" => ok(json!({"categories": [
                {"id": 3701, "name": "Heating", "description": "Warmth", "locale": "en-us", "position": 0}], "next_page": null})),
            "/api/v2/help_center/sections.json" => ok(json!({"sections": [
                {"id": 3801, "category_id": 3701, "name": "Boilers", "locale": "en-us"},
                {"id": 3802, "category_id": 9999, "name": "Orphans", "locale": "en-us"}], "next_page": null})),
            "/api/v2/help_center/articles.json" => ok(json!({"articles": [
                {"id": 3901, "section_id": 3801, "author_id": 803, "title": "Bleeding radiators", "body": "<p>Turn the valve</p><script>x()</script>",
                 "locale": "en-us", "user_segment_id": null, "draft": false, "label_names": ["radiator"], "created_at": "2022-01-01T00:00:00Z",
                 "comments_disabled": true},
                {"id": 3902, "section_id": 3801, "author_id": 803, "title": "VIP hotline", "body": "<p>Call us</p>", "locale": "en-us",
                 "user_segment_id": 3602, "created_at": "2022-01-03T00:00:00Z"},
                {"id": 3903, "section_id": 3801, "author_id": 801, "title": "Written by a customer", "body": "<p>Hi</p>", "locale": "en-us"},
                {"id": 3904, "section_id": 3801, "author_id": 803, "title": "Unlisted segment", "body": "<p>Hush</p>", "locale": "en-us",
                 "user_segment_id": 4242},
                {"id": 3905, "section_id": 3801, "author_id": 803, "title": "Named readers", "body": "<p>For Ted</p>", "locale": "en-us",
                 "user_segment_id": 3604},
                {"id": 3906, "section_id": 3801, "author_id": 803, "title": "Several segments", "body": "<p>Both</p>", "locale": "en-us",
                 "user_segment_id": null, "user_segment_ids": [3601, 3603]}], "next_page": null})),
            "/api/v2/help_center/articles/3901/comments.json" => ok(json!({"comments": [
                {"id": 4001, "author_id": 801, "body": "<p>Thanks, it works</p>", "locale": "en-us", "created_at": "2022-01-02T00:00:00Z"}], "next_page": null})),
            "/api/v2/community/topics.json" => ok(json!({"topics": [{"id": 4101, "name": "Ideas", "user_segment_id": null}], "next_page": null})),
            "/api/v2/community/posts.json" => ok(json!({"posts": [
                {"id": 4201, "topic_id": 4101, "author_id": 801, "title": "Smart thermostat", "details": "<p>Please add one</p>",
                 "status": "planned", "created_at": "2022-02-01T00:00:00Z"}], "next_page": null})),
            "/api/v2/community/posts/4201/comments.json" => ok(json!({"comments": [
                {"id": 4301, "author_id": 803, "body": "<p>On our list</p>", "official": true, "created_at": "2022-02-02T00:00:00Z"}], "next_page": null})),
            "/files/huge.bin" => vec![7u8; 21 * 1024 * 1024].into_response(),
            "/files/log.txt" => {
                seen.lock().unwrap().signed_files.insert("log.txt".into(), true);
                "boiler log".into_response()
            }
            _ => (StatusCode::NOT_FOUND, "{}").into_response(),
        }
    }
    async fn file(State((_, _, seen)): State<St>, headers: HeaderMap) -> Response {
        seen.lock()
            .unwrap()
            .signed_files
            .insert("photo.jpg".into(), headers.contains_key("authorization"));
        vec![0xff_u8, 0xd8, 0xff, 0xe0].into_response()
    }
    axum::Router::new()
        .route("/photo.jpg", axum::routing::get(file))
        .fallback(api)
        .with_state((base.to_string(), files.to_string(), seen))
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_import_reads_zendesk_shapes_and_reports_what_it_left() {
    let account = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", account.local_addr().unwrap().port());
    let files = format!("http://127.0.0.1:{}", other.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = fixture(&base, &files, seen.clone());
    tokio::spawn(async move { axum::serve(account, app.clone()).await });
    let files_app = fixture(&base, &files, seen.clone());
    tokio::spawn(async move { axum::serve(other, files_app).await });

    let dir = TempDir::new();
    let dst_init = init(&dir.0, None, "admin@dest.example");
    let out = import(&dir.0, None, &base, "fixture-token", &[]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("Imported from fixture.zendesk.example into tenant"), "{text}");
    let report = table(&out);
    assert_eq!(report["ticket field"], [3, 2, 0, 1], "{text}");
    assert_eq!(report["group"], [1, 1, 0, 0], "the deleted group stays behind: {text}");
    assert_eq!(report["organization"], [2, 2, 0, 0], "{text}");
    // Three from the export and the late comer, asked for by id when a ticket named them.
    assert_eq!(report["person"], [5, 4, 0, 1], "{text}");
    // 901 listed twice is read once; 904's requester is not at the source.
    assert_eq!(report["ticket"], [3, 2, 0, 1], "{text}");
    assert_eq!(report["rating"], [2, 1, 0, 1], "an offered survey is not a rating: {text}");
    assert_eq!(
        (report["category"], report["section"], report["article"]),
        ([1, 1, 0, 0], [2, 1, 0, 1], [6, 5, 0, 1]),
        "{text}"
    );
    for what in ["article comment", "topic", "post", "post comment"] {
        assert_eq!(report[what], [1, 1, 0, 0], "{what}: {text}");
    }
    assert!(
        text.contains("section 3802 at the source: category_id: its category was not brought over"),
        "{text}"
    );
    assert!(
        text.contains("article 3903 at the source:") && text.contains("must be an agent or admin"),
        "{text}"
    );
    assert!(text.contains("a user segment the source did not list, kept to staff"), "{text}");
    for line in [
        "ticket field 502 at the source: type: lookup fields are not kept here",
        "person 802 at the source: email: not a valid e-mail address",
        "ticket 904 at the source: requester_id: the source's person 805 could not be brought over",
        "1 tickets deleted at the source, left there",
        "rating 1003 at the source: ticket_id: the rated ticket was not brought over",
        "1 files larger than Suoja keeps, left out",
        "1 assignees or followers who are not staff here, left off their tickets",
    ] {
        assert!(text.contains(line), "the report says {line:?}: {text}");
    }
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.unsigned_api_calls, 0);
        assert!(s.org_requests.len() >= 2, "the 429 was retried");
        assert!(
            s.org_requests[1] - s.org_requests[0] >= Duration::from_millis(900),
            "Retry-After: 1 was honoured"
        );
        assert_eq!(
            s.signed_files.get("log.txt"),
            Some(&true),
            "a file on the account's own site is fetched with the token"
        );
        assert_eq!(s.signed_files.get("photo.jpg"), Some(&false), "the token never goes to another site");
    }

    let dst = Side::start(&dir.0, None, "admin@dest.example", dst_init["api_token"].as_str().unwrap());
    let v = view(&dst).await;
    assert!(!v.groups.values().any(|g| g == "Old team"));
    // Articles keep their authors and times; no segment lets more people read than at the
    // source; the script is gone from the body.
    let g = guide(&dst, &v).await;
    let article = |title: &str| g["articles"].as_array().unwrap().iter().find(|a| a["title"] == title).unwrap().clone();
    let radiators = article("Bleeding radiators");
    assert_eq!(
        (radiators["author"].clone(), radiators["created_at"].clone(), radiators["segment"].clone()),
        (json!("smith@support.example"), json!("2022-01-01T00:00:00Z"), Value::Null)
    );
    assert!(!radiators["body"].as_str().unwrap().contains("script"), "{radiators}");
    assert_eq!(
        radiators["comments"],
        json!([["ted@pohjola.example", "<p>Thanks, it works</p>", "2022-01-02T00:00:00Z"]])
    );
    // A segment narrowed by tags, by named people, one the source did not list, and several
    // segments of which one is staff: all staff-only here.
    for title in ["VIP hotline", "Unlisted segment", "Named readers", "Several segments"] {
        assert_eq!(article(title)["segment"], json!(2), "{title}: {g}");
    }
    // Closed for comments at the source: its comments came over, and it is closed here too.
    assert_eq!(radiators["comments_disabled"], json!(true));
    assert_eq!(
        g["posts"],
        json!([{"title": "Smart thermostat", "details": "<p>Please add one</p>", "author": "ted@pohjola.example",
                "created_at": "2022-02-01T00:00:00Z", "status": "planned", "topic": "Ideas",
                "comments": [["smith@support.example", "<p>On our list</p>", true, "2022-02-02T00:00:00Z"]]}])
    );
    let heating = &v.tickets["Heating failed"];
    let p = portable(&dst, &v, heating).await;
    assert_eq!(p["created_at"], "2024-03-01T10:00:00Z");
    assert_eq!(heating["updated_at"], "2024-03-02T10:00:00Z");
    assert_eq!(
        (p["status"].clone(), p["priority"].clone(), heating["type"].clone()),
        (json!("open"), json!("urgent"), json!("incident"))
    );
    assert_eq!(
        (p["requester"].clone(), p["assignee"].clone()),
        (json!("ted@pohjola.example"), json!("smith@support.example"))
    );
    assert_eq!((p["group"].clone(), p["organization"].clone()), (json!("Support"), json!("Pohjola Ltd")));
    assert_eq!(p["custom"], json!({"Region": "north", "Urgent": true}), "the lookup field's value is left out");
    for tag in ["heat", "north", "urgent"] {
        assert!(p["tags"].as_array().unwrap().contains(&json!(tag)), "{tag}: {p}");
    }
    assert_eq!(
        p["comments"],
        json!([
            {"author": "ted@pohjola.example", "public": true, "body": "The heating failed", "created_at": "2024-03-01T10:00:00Z",
             "files": [["photo.jpg", "image/jpeg", String::from_utf8_lossy(&[0xff, 0xd8, 0xff, 0xe0])], ["log.txt", "text/plain", "boiler log"]]},
            {"author": "smith@support.example", "public": false, "body": "Check the boiler", "created_at": "2024-03-01T11:00:00Z", "files": []},
            // An end user here wrote it as an internal note there: it stays internal. Its file
            // is larger than Suoja keeps and is left out; the comment is not.
            {"author": "ted@pohjola.example", "public": false, "body": "A note the requester wrote as staff there", "created_at": "2024-03-01T12:00:00Z", "files": []},
            // Not said to be public: internal; no time: the ticket's.
            {"author": "gone@support.example", "public": false, "body": "Unsaid whether public, and when", "created_at": "2024-03-01T10:00:00Z", "files": []},
        ])
    );
    let gone = dst.get("/api/v2/users/search.json?query=gone%40support.example").await;
    assert_eq!(gone["users"][0]["suspended"], true, "deleted at the source: here, but unable to sign in");
    let ratings = dst.get("/api/v2/satisfaction_ratings.json").await;
    let rating = &ratings["satisfaction_ratings"][0];
    assert_eq!(ratings["satisfaction_ratings"].as_array().unwrap().len(), 1, "{ratings}");
    assert_eq!((rating["ticket_id"].clone(), rating["score"].clone()), (heating["id"].clone(), json!("good")));
    assert_eq!(
        (rating["comment"].clone(), rating["created_at"].clone()),
        (json!("Warm again, thanks"), json!("2024-03-03T09:00:00Z"))
    );
    assert_eq!(v.emails[&rating["requester_id"].as_i64().unwrap()], "ted@pohjola.example");
    let late = portable(&dst, &v, &v.tickets["Joined later"]).await;
    assert_eq!(late["requester"], "late@example.com");
    assert_eq!(late["assignee"], Value::Null, "an end user here is not made its assignee");
    assert!(!v.tickets.contains_key("Gone") && !v.tickets.contains_key("Ghost"));
    let agent = dst.get("/api/v2/users/search.json?query=smith%40support.example").await;
    assert_eq!(agent["users"][0]["role"], "agent");

    // The next run tries the refused ticket again: the source has its requester now.
    seen.lock().unwrap().ghost_back = true;
    let again = import(&dir.0, None, &base, "fixture-token", &[]);
    let report = table(&again);
    assert_eq!(report["ticket"], [1, 1, 0, 0], "{}", String::from_utf8_lossy(&again.stdout));
    let v = view(&dst).await;
    assert_eq!(portable(&dst, &v, &v.tickets["Ghost"]).await["requester"], "ghost@example.com");
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(bin: &Path, dir: &Path, args: &[&str]) {
    let out = std::process::Command::new(bin).current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A Zendesk account's address is https: the import speaks TLS, checks the certificate against
/// the system's (here: the test's own) authorities, and reads the account. The account is
/// `openssl s_server -WWW` serving the pages as files, each under the exact path and query the
/// import asks for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_import_reads_an_account_over_https() {
    let Some(bin) = crate::cluster::program("openssl", &["/usr/bin/openssl"]) else {
        return;
    };
    let tls = TempDir::new();
    let d = &tls.0;
    openssl(
        &bin,
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=Suoja test authority",
        ],
    );
    openssl(
        &bin,
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(
        &bin,
        d,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
        ],
    );
    let www = d.join("www");
    let page = |path: &str, v: Value| {
        let f = www.join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, v.to_string()).unwrap();
    };
    page("api/v2/users/me.json", json!({"user": {"id": 1, "name": "Admin", "role": "admin"}}));
    page("api/v2/ticket_fields.json", json!({"ticket_fields": [], "next_page": null}));
    page("api/v2/groups.json", json!({"groups": [{"id": 1, "name": "Salattu tuki"}], "next_page": null}));
    page(
        "api/v2/organizations.json?page[size]=100",
        json!({"organizations": [], "meta": {"has_more": false}}),
    );
    page(
        "api/v2/incremental/users/cursor.json?start_time=0",
        json!({"users": [{"id": 7, "name": "Tiina Turvallinen", "email": "tiina@example.fi"}], "after_cursor": "u", "end_of_stream": true}),
    );
    page(
        "api/v2/incremental/tickets/cursor.json?start_time=0",
        json!({"tickets": [{"id": 70, "subject": "Over TLS", "status": "open", "requester_id": 7, "created_at": "2025-01-02T03:04:05Z"}],
               "after_cursor": "t", "end_of_stream": true}),
    );
    page(
        "api/v2/tickets/70/comments.json?page[size]=100&sort_order=asc",
        json!({"comments": [{"id": 1, "author_id": 7, "public": true, "body": "Sent safely", "created_at": "2025-01-02T03:04:05Z"}]}),
    );
    page("api/v2/satisfaction_ratings.json?page[size]=100", json!({"satisfaction_ratings": []}));
    for (path, root) in [
        ("help_center/user_segments", "user_segments"),
        ("help_center/categories", "categories"),
        ("help_center/sections", "sections"),
        ("help_center/articles", "articles"),
        ("community/topics", "topics"),
        ("community/posts", "posts"),
    ] {
        page(&format!("api/v2/{path}.json"), json!({root: [], "next_page": null}));
    }
    let port = crate::process::free_port();
    let mut server = std::process::Command::new(&bin)
        .current_dir(&www)
        .args(["s_server", "-WWW", "-quiet", "-accept", &format!("127.0.0.1:{port}")])
        .arg("-cert")
        .arg(d.join("srv.pem"))
        .arg("-key")
        .arg(d.join("srv.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = TempDir::new();
    init(&dir.0, None, "admin@dest.example");
    let url = format!("https://127.0.0.1:{port}");
    // Without the test's authority the certificate is not trusted and nothing is read.
    let refused = command(&dir.0, None)
        .args(["import", "zendesk", "--url", &url, "--email", "admin@source.example"])
        .env("ZENDESK_API_TOKEN", "t")
        .env("SSL_CERT_FILE", d.join("srv.pem"))
        .output()
        .unwrap();
    assert!(!refused.status.success(), "an untrusted certificate is refused");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("TLS certificate is not trusted"), "{said}");
    let out = command(&dir.0, None)
        .args(["import", "zendesk", "--url", &url, "--email", "admin@source.example"])
        .env("ZENDESK_API_TOKEN", "t")
        .env("SSL_CERT_FILE", d.join("ca.pem"))
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = table(&out);
    assert_eq!(
        (report["ticket"], report["person"], report["group"]),
        ([1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]),
        "{report:?}"
    );
}
