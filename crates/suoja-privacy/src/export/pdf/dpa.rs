//! The data processing agreement (the JSON of [`crate::Privacy::dpa`]) as a PDF: its headings,
//! paragraphs and list items in order.

use serde_json::Value;

use super::layout::{Layout, Style, faces};

/// Renders the agreement as PDF bytes.
pub fn render_dpa(doc: &Value) -> Option<Vec<u8>> {
    let faces = faces()?;
    let mut p = Layout::new(faces);
    let mut first = true;
    for b in doc["blocks"].as_array().into_iter().flatten() {
        let text = b["text"].as_str().unwrap_or_default();
        match b["kind"].as_str().unwrap_or_default() {
            "heading" if first => p.text(text, 20.0, Style::Bold, 0.0, 0.0),
            "heading" => {
                p.new_page();
                p.text(text, 16.0, Style::Bold, 0.0, 0.0);
            }
            "subheading" => {
                p.need(40.0);
                p.gap(4.0);
                p.text(text, 11.5, Style::Bold, 0.0, 0.0);
            }
            "bullet" => p.text(&format!("• {text}"), 10.0, Style::Regular, 8.0, 0.0),
            _ => {
                p.text(text, 10.0, Style::Regular, 0.0, 0.0);
                p.gap(3.0);
            }
        }
        first = false;
    }
    let mut meta = doc.clone();
    let title = doc
        .pointer("/blocks/0/text")
        .and_then(Value::as_str)
        .unwrap_or("Data processing agreement")
        .to_string();
    suoja_core::json::set(&mut meta, "document_title", Value::String(title));
    Some(super::write::write(faces, p.pages, &meta))
}
