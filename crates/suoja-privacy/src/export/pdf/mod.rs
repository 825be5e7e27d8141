//! The export as a PDF a person can read: an index, the Art. 15 information, the profile, each
//! ticket with its fields, replies and (if included) internal notes, attachments, mentions, the
//! person's privacy requests, who viewed their data, and what was withheld. Laid out here on A4
//! with DejaVu Sans embedded (Latin, Latin Extended, Greek, Cyrillic) so every name prints as
//! written; text is extractable (`ToUnicode`) for screen readers and `pdftotext`.

mod breach;
mod certificate;
mod dpa;
mod layout;
mod records;
mod write;

pub use breach::render_breach_notification;
pub use certificate::render_certificate;
pub use dpa::render_dpa;
pub use records::{category_words, render_records, security_words};

use serde_json::Value;

use layout::{BOTTOM, Face, Layout, MARGIN, PAGE_W, Style, TOP, faces};

fn s(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(x) => x.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Array(a) if a.is_empty() => "—".into(),
        Value::Array(a) => a.iter().map(s).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn date(v: &Value) -> String {
    v.as_str()
        .map(|t| t.replacen('T', " ", 1).trim_end_matches('Z').to_string() + " UTC")
        .unwrap_or_else(|| "—".into())
}

/// One audit of a ticket's history in words: what was opened, changed, written, sent or
/// redacted.
fn history_line(events: &Value) -> String {
    let mut parts = Vec::new();
    let mut opened = false;
    for e in events.as_array().into_iter().flatten() {
        let raw = s(&e["field"]);
        let field = if raw.bytes().all(|b| b.is_ascii_digit()) {
            format!("field {raw}")
        } else {
            raw.trim_end_matches("_ids").trim_end_matches("_id").replace('_', " ")
        };
        match e["type"].as_str().unwrap_or_default() {
            "Create" => opened = true,
            "Change" => parts.push(format!("{field}: {} → {}", s(&e["previous_value"]), s(&e["value"]))),
            "Comment" => parts.push(if e["public"] == Value::Bool(false) {
                "internal note".into()
            } else {
                "reply".into()
            }),
            "CommentPrivacyChange" => parts.push("a reply made internal".into()),
            "Notification" => parts.push(format!("notified {}", s(&e["recipients"]))),
            other if other.ends_with("RedactionEvent") => parts.push("text redacted".into()),
            other => parts.push(other.to_string()),
        }
    }
    if opened {
        parts.insert(0, "opened".into());
    }
    parts.join("; ")
}

/// Renders an export document as PDF bytes.
pub fn render(doc: &Value) -> Option<Vec<u8>> {
    let faces = faces()?;
    let mut index: Vec<(usize, String, usize)> = Vec::new(); // (depth, title, page)
    let mut body = Layout::new(faces);
    let subject = &doc["subject"];

    body.heading("1. About this export and your rights", 15.0);
    index.push((0, "1. About this export and your rights".into(), body.page()));
    let info = &doc["information"];
    body.pair("Controller", &s(&info["controller"]));
    body.pair("Contact", &s(&info["contact"]));
    body.pair("Where your data is stored", &s(&info["storage_region"]));
    body.text("Why we process your data", 11.0, Style::Bold, 0.0, 0.0);
    for p in info["purposes"].as_array().into_iter().flatten() {
        body.text(&format!("• {}", s(p)), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.pair("Legal basis", &s(&info["legal_basis"]));
    body.text("What kinds of data we hold about you", 11.0, Style::Bold, 0.0, 0.0);
    for p in info["categories"].as_array().into_iter().flatten() {
        body.text(&format!("• {}", s(p)), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.text("Who received it", 11.0, Style::Bold, 0.0, 0.0);
    let recipients = info["recipients"].as_array().cloned().unwrap_or_default();
    if recipients.is_empty() {
        body.text("Nobody outside the helpdesk received your data.", 10.0, Style::Regular, 8.0, 0.0);
    }
    for r in recipients {
        body.text(
            &format!(
                "• {} ({})",
                s(r.get("name").unwrap_or(&Value::Null)),
                s(r.get("received").unwrap_or(&Value::Null))
            ),
            10.0,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    body.text("How long it is kept", 11.0, Style::Bold, 0.0, 0.0);
    for r in info["retention"].as_array().into_iter().flatten() {
        body.text(&format!("• {}: {}", s(&r["data"]), s(&r["kept"])), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.pair("Where it comes from", &s(&info["source"]));
    body.pair("Automated decisions", &s(&info["automated_decisions"]));
    body.pair("Transfers", &s(&info["transfers"]));
    body.text("Your rights", 11.0, Style::Bold, 0.0, 0.0);
    for r in info["rights"].as_array().into_iter().flatten() {
        body.text(&format!("• {}", s(r)), 10.0, Style::Regular, 8.0, 0.0);
    }
    body.text(&s(&info["complaint"]), 10.0, Style::Regular, 0.0, 0.0);

    body.heading("2. Your profile", 15.0);
    index.push((0, "2. Your profile".into(), body.page()));
    for (k, label) in [
        ("name", "Name"),
        ("email", "E-mail"),
        ("phone", "Phone"),
        ("role", "Role"),
        ("locale", "Language"),
        ("time_zone", "Time zone"),
        ("details", "Details"),
        ("notes", "Notes"),
        ("tags", "Tags"),
        ("external_id", "External id"),
        ("organization_id", "Organisation"),
        ("created_at", "Created"),
        ("last_login_at", "Last signed in"),
    ] {
        let v = &subject[k];
        let text = if k.ends_with("_at") { date(v) } else { s(v) };
        body.pair(label, &text);
    }
    if let Some(obj) = subject["user_fields"].as_object().filter(|o| !o.is_empty()) {
        for (k, v) in obj {
            body.pair(k, &s(v));
        }
    }

    let tickets = doc["tickets"].as_array().cloned().unwrap_or_default();
    body.heading(&format!("3. Tickets ({})", tickets.len()), 15.0);
    index.push((0, format!("3. Tickets ({})", tickets.len()), body.page()));
    if tickets.is_empty() {
        body.text("No tickets.", 10.0, Style::Regular, 0.0, 0.0);
    }
    for t in &tickets {
        let title = format!("Ticket #{}: {}", s(&t["id"]), s(&t["subject"]));
        body.need(60.0);
        index.push((1, title.clone(), body.page()));
        body.gap(6.0);
        body.text(&title, 12.5, Style::Bold, 0.0, 0.0);
        body.text(
            &format!(
                "Status: {} · Priority: {} · Type: {} · Your role: {}",
                s(&t["status"]),
                s(&t["priority"]),
                s(&t["type"]),
                s(&t["your_roles"])
            ),
            9.5,
            Style::Regular,
            0.0,
            0.25,
        );
        let ccs: Vec<String> = t["collaborators"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{} ({})", s(&c["person"]), s(&c["kind"])))
            .collect();
        body.text(
            &format!(
                "Requester: {} · Assignee: {} · CC and followers: {}",
                s(&t["requester"]),
                s(&t["assignee"]),
                if ccs.is_empty() { "—".into() } else { ccs.join(", ") }
            ),
            9.5,
            Style::Regular,
            0.0,
            0.25,
        );
        body.text(
            &format!("Created: {} · Updated: {}", date(&t["created_at"]), date(&t["updated_at"])),
            9.5,
            Style::Regular,
            0.0,
            0.25,
        );
        if t["tags"].as_array().is_some_and(|a| !a.is_empty()) {
            body.text(&format!("Tags: {}", s(&t["tags"])), 9.5, Style::Regular, 0.0, 0.25);
        }
        for f in t["custom_fields"].as_array().into_iter().flatten() {
            let name = f["title"].as_str().map_or_else(|| format!("Field {}", s(&f["id"])), str::to_string);
            body.text(&format!("{name}: {}", s(&f["value"])), 9.5, Style::Regular, 0.0, 0.25);
        }
        for c in t["comments"].as_array().into_iter().flatten() {
            let public = c["public"].as_bool().unwrap_or(false);
            let kind = if public {
                "Public reply"
            } else {
                "Internal note (not visible to you in the helpdesk)"
            };
            body.label(
                &format!("{kind} · {} · {}", s(&c["author"]), date(&c["created_at"])),
                if public { 0.92 } else { 0.82 },
            );
            body.text(&s(&c["body"]), 10.0, Style::Regular, 4.0, 0.0);
            for a in c["attachments"].as_array().into_iter().flatten() {
                body.text(
                    &format!(
                        "Attachment: {} ({}, {} bytes) — {}",
                        s(&a["file_name"]),
                        s(&a["content_type"]),
                        s(&a["size"]),
                        s(&a["file"])
                    ),
                    9.0,
                    Style::Regular,
                    12.0,
                    0.3,
                );
            }
        }
        let history = t["history"].as_array().cloned().unwrap_or_default();
        if !history.is_empty() {
            body.label("History of the ticket", 0.92);
            for a in &history {
                body.text(
                    &format!("{} · {} · {}", date(&a["at"]), s(&a["by"]), history_line(&a["events"])),
                    9.0,
                    Style::Regular,
                    4.0,
                    0.2,
                );
            }
        }
        body.gap(8.0);
    }

    let mentions = doc["mentions"].as_array().cloned().unwrap_or_default();
    body.heading(&format!("4. Mentions of you in other conversations ({})", mentions.len()), 15.0);
    index.push((0, format!("4. Mentions of you in other conversations ({})", mentions.len()), body.page()));
    if mentions.is_empty() {
        body.text("None.", 10.0, Style::Regular, 0.0, 0.0);
    }
    for m in &mentions {
        let public = m["public"].as_bool().unwrap_or(false);
        let kind = match m["source"].as_str().unwrap_or("") {
            "ticket_subject" => "Ticket subject",
            "ticket_fields" => "Fields, tags or earlier subject of a ticket",
            "organization" => "Organisation notes",
            "comment" if public => "Public reply",
            "comment" => "Internal note",
            "hc_article_comments" => "Help center comment",
            "hc_posts" => "Community post",
            "hc_post_comments" => "Community comment",
            "hc_articles" => "Help center article",
            _ if public => "Published text",
            _ => "Notes kept by staff",
        };
        let place = match m["ticket_id"].as_i64() {
            Some(t) => format!("Ticket #{t} · {kind}"),
            None => format!("{kind} #{}", s(&m["source_id"])),
        };
        body.label(&format!("{place} · {} · {}", s(&m["author"]), date(&m["created_at"])), 0.9);
        for p in m["passages"].as_array().into_iter().flatten() {
            body.text(&format!("… {} …", s(p)), 10.0, Style::Regular, 4.0, 0.0);
        }
    }
    let review = doc.pointer("/mentions_under_review/count").and_then(Value::as_u64).unwrap_or(0);
    if review > 0 {
        body.text(
            &format!(
                "{review} more passages {}",
                s(doc.pointer("/mentions_under_review/note").unwrap_or(&Value::Null))
            ),
            10.0,
            Style::Regular,
            0.0,
            0.0,
        );
    }

    body.heading("5. Your privacy requests, who viewed your data, and other records", 15.0);
    index.push((0, "5. Your privacy requests, who viewed your data, and other records".into(), body.page()));
    let privacy = &doc["privacy"];
    body.text("Requests", 11.0, Style::Bold, 0.0, 0.0);
    for r in privacy["requests"].as_array().into_iter().flatten() {
        body.text(
            &format!(
                "#{} {} ({}) received {}, due {}, {}",
                s(&r["id"]),
                s(&r["kind"]),
                s(&r["channel"]),
                date(&r["received_at"]),
                date(&r["due_at"]),
                s(&r["status"])
            ),
            9.5,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    body.text("Who viewed your data (by role), when and why", 11.0, Style::Bold, 0.0, 0.0);
    let consultations = privacy["consultations"].as_array().cloned().unwrap_or_default();
    if consultations.is_empty() {
        body.text("No views by staff were recorded.", 9.5, Style::Regular, 8.0, 0.0);
    }
    for c in consultations {
        body.text(
            &format!(
                "{} · {} · {} · {}",
                date(c.get("at").unwrap_or(&Value::Null)),
                s(c.get("role").unwrap_or(&Value::Null)),
                s(c.get("action").unwrap_or(&Value::Null)),
                s(c.get("purpose").unwrap_or(&Value::Null))
            ),
            9.5,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    body.text("Recipients your data was sent to", 11.0, Style::Bold, 0.0, 0.0);
    let disclosures = privacy["disclosures"].as_array().cloned().unwrap_or_default();
    if disclosures.is_empty() {
        body.text("None.", 9.5, Style::Regular, 8.0, 0.0);
    }
    for d in disclosures {
        body.text(
            &format!(
                "{} · {} · {} · {}",
                date(d.get("at").unwrap_or(&Value::Null)),
                s(d.get("recipient").unwrap_or(&Value::Null)),
                s(d.get("event").unwrap_or(&Value::Null)),
                s(d.get("outcome").unwrap_or(&Value::Null))
            ),
            9.5,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    if let Some(records) = doc["records"].as_object().filter(|r| !r.is_empty()) {
        for (table, rows) in records {
            body.text(&format!("Records in {table}"), 11.0, Style::Bold, 0.0, 0.0);
            for r in rows.as_array().into_iter().flatten() {
                let line = r
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter(|(k, _)| *k != "_why")
                            .map(|(k, v)| format!("{k}: {}", s(v)))
                            .collect::<Vec<_>>()
                            .join(" · ")
                    })
                    .unwrap_or_default();
                body.text(&line, 9.0, Style::Regular, 8.0, 0.0);
            }
        }
    }

    body.heading("6. What was withheld and why", 15.0);
    index.push((0, "6. What was withheld and why".into(), body.page()));
    let items = doc.pointer("/withheld/items").and_then(Value::as_array).cloned().unwrap_or_default();
    if items.is_empty() {
        body.text("Nothing was withheld.", 10.0, Style::Regular, 0.0, 0.0);
    }
    for w in items {
        body.text(
            &format!(
                "• {} ({}): {}",
                s(w.get("reason").unwrap_or(&Value::Null)),
                s(w.get("count").unwrap_or(&Value::Null)),
                s(w.get("why").unwrap_or(&Value::Null))
            ),
            10.0,
            Style::Regular,
            8.0,
            0.0,
        );
    }

    // The front pages: title, summary and the index with page numbers.
    let front_lines = 14 + index.len();
    let per_page = suoja_core::num::floor_usize(f64::from((TOP - BOTTOM) / 14.0));
    let front_pages = front_lines.div_ceil(per_page.max(1)).max(1);
    let mut front = Layout::new(faces);
    front.text("Personal data export", 22.0, Style::Bold, 0.0, 0.0);
    front.gap(4.0);
    front.text(
        &format!("For {} ({})", s(&subject["name"]), s(&subject["email"])),
        12.0,
        Style::Regular,
        0.0,
        0.0,
    );
    front.text(
        &format!(
            "Generated {}{}",
            date(&doc["generated_at"]),
            doc["request_id"].as_i64().map(|r| format!(" for request #{r}")).unwrap_or_default()
        ),
        10.0,
        Style::Regular,
        0.0,
        0.3,
    );
    front.gap(8.0);
    front.text(&s(&doc["summary"]), 11.0, Style::Regular, 0.0, 0.0);
    front.text(
        "Other people appear as placeholders such as [other person 1] or Agent #1, to protect them. The machine-readable copy of this export is the JSON file that comes with it.",
        9.5,
        Style::Regular,
        0.0,
        0.3,
    );
    front.heading("Contents", 14.0);
    for (depth, title, page) in &index {
        let n = page + front_pages;
        let indent = if *depth == 0 { 0.0 } else { 14.0 };
        let size = if *depth == 0 { 10.5 } else { 9.5 };
        let title = truncate(faces, title, size, PAGE_W - 2.0 * MARGIN - indent - 40.0);
        front.text(
            &format!("{title}  ·  page {n}"),
            size,
            if *depth == 0 { Style::Bold } else { Style::Regular },
            indent,
            0.0,
        );
    }
    while front.pages.len() < front_pages {
        front.new_page();
    }
    let mut pages = front.pages;
    pages.extend(body.pages);
    Some(write::write(faces, pages, doc))
}

fn truncate(faces: &(Face, Face), s: &str, size: f32, width: f32) -> String {
    if faces.0.width(s, size) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if faces.0.width(&out, size) > width - 10.0 {
            out.pop();
            out.push('…');
            break;
        }
    }
    out
}
