//! The erasure certificate as a one- or two-page PDF for the person: what was erased per
//! category, what was kept under which hold and until when, the time of completion, the ledger
//! entry that records it, and the date by which any residual copy is unreadable. It holds no
//! personal data, so it can be kept as evidence after the person is gone.

use serde_json::Value;

use super::layout::{Layout, Style, faces};
use super::{date, s};

/// Renders a certificate (the JSON of [`crate::Privacy::erasure_certificate`]) as PDF bytes.
pub fn render_certificate(cert: &Value) -> Option<Vec<u8>> {
    let faces = faces()?;
    let mut p = Layout::new(faces);
    p.text("Certificate of erasure", 22.0, Style::Bold, 0.0, 0.0);
    p.text(
        &format!("Erasure #{} · issued {}", s(&cert["erasure_id"]), date(&cert["generated_at"])),
        10.0,
        Style::Regular,
        0.0,
        0.3,
    );
    p.gap(6.0);
    p.text(&s(&cert["statement"]), 11.0, Style::Regular, 0.0, 0.0);
    p.heading("The erasure", 14.0);
    p.pair("Controller", &s(&cert["controller"]));
    p.pair(
        "Request",
        &cert["request_id"]
            .as_i64()
            .map_or_else(|| "permanent deletion by the controller".to_string(), |r| format!("#{r}")),
    );
    p.pair("Requested", &date(&cert["requested_at"]));
    p.pair("Completed", &date(&cert["completed_at"]));
    p.pair("Verified", &s(cert.pointer("/verification/result").unwrap_or(&Value::Null)));
    p.heading("What was erased", 14.0);
    for item in cert["erased"].as_array().into_iter().flatten() {
        p.text(&format!("• {}: {}", s(&item["category"]), s(&item["count"])), 10.0, Style::Regular, 8.0, 0.0);
    }
    p.heading("What was kept, and why", 14.0);
    let kept = cert["kept"].as_array().cloned().unwrap_or_default();
    if kept.is_empty() {
        p.text("Nothing was kept.", 10.0, Style::Regular, 8.0, 0.0);
    }
    for k in kept {
        p.text(
            &format!(
                "• {} ({}), until {}: {}",
                s(k.get("what").unwrap_or(&Value::Null)),
                s(k.get("ground_text").unwrap_or(&Value::Null)),
                date(k.get("until").unwrap_or(&Value::Null)),
                s(k.get("note").unwrap_or(&Value::Null))
            ),
            10.0,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    p.heading("Copies elsewhere", 14.0);
    p.text(&s(&cert["residual_copies"]), 10.0, Style::Regular, 0.0, 0.0);
    p.pair("Unreadable everywhere by", &date(&cert["residual_copies_unreadable_by"]));
    p.heading("Evidence", 14.0);
    p.pair("Ledger entry", &s(cert.pointer("/ledger_entry/kind").unwrap_or(&Value::Null)));
    p.text(
        &format!("Hash: {}", s(cert.pointer("/ledger_entry/hash").unwrap_or(&Value::Null))),
        9.0,
        Style::Regular,
        0.0,
        0.2,
    );
    for c in cert.pointer("/verification/checks").and_then(Value::as_array).into_iter().flatten() {
        p.text(&format!("• {}: {} left", s(&c["store"]), s(&c["remaining"])), 9.0, Style::Regular, 8.0, 0.2);
    }
    p.gap(8.0);
    p.text(&s(&cert["rights"]), 9.5, Style::Regular, 0.0, 0.3);
    let mut doc = cert.clone();
    suoja_core::json::set(&mut doc, "document_title", Value::String("Certificate of erasure".into()));
    Some(super::write::write(faces, p.pages, &doc))
}
