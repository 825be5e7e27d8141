//! The information a person is owed with their data (GDPR Art. 15(1)(a)–(h) and 15(2)),
//! generated from the data map, the retention it declares, the recipients registered and the
//! policy — scoped to the tables that actually hold something about this person.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::Policy;
use crate::datamap::{Category, Table};
use crate::graph::{Field, Footprint};

/// A recipient as the person is told about it.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Name.
    pub name: String,
    /// What it received.
    pub events: Vec<String>,
}

fn category_label(c: Category) -> Option<&'static str> {
    Some(match c {
        Category::Contact => "contact details (e-mail address, phone number)",
        Category::Identifier => "identifiers (name, external ids)",
        Category::Content => "what you wrote and what was written to or about you (tickets, comments, notes)",
        Category::File => "files (attachments)",
        Category::Profile => "profile data (tags, custom fields)",
        Category::Organisational => "organisation membership",
        Category::None | Category::Credential | Category::Key | Category::Derived => return None,
    })
}

/// The Art. 15 information section for a footprint.
pub fn section(policy: &Policy, map: &[Table], fp: &Footprint, recipients: &[Recipient]) -> Value {
    let mut purposes = BTreeSet::new();
    let mut categories = BTreeSet::new();
    let mut retention = Vec::new();
    for (name, rows) in &fp.records {
        let Some(t) = map.iter().find(|t| t.name == *name) else { continue };
        if rows.is_empty() {
            continue;
        }
        purposes.insert(t.purpose);
        retention.push(json!({ "data": t.name, "kept": t.retention }));
        for col in t.columns {
            let held = rows.iter().any(|r| !matches!(r.get(col.name), Field::Null));
            if held && let Some(label) = category_label(col.category) {
                categories.insert(label);
            }
        }
    }
    json!({
        "controller": policy.controller,
        "contact": policy.controller_contact,
        "purposes": purposes,
        "legal_basis": "performance of the support relationship you or your organisation started (GDPR Art. 6(1)(b)) and the controller's legitimate interest in answering support requests (Art. 6(1)(f)); privacy requests: legal obligation (Art. 6(1)(c))",
        "categories": categories,
        "recipients": recipients.iter().map(|r| json!({ "name": r.name, "received": r.events })).collect::<Vec<_>>(),
        "retention": retention,
        "source": "from you, from staff of the controller while handling your requests, and from other people who wrote to or about you in support conversations",
        "rights": [
            "to a copy of your data and this information (Art. 15)",
            "to have inaccurate data corrected and incomplete data completed (Art. 16)",
            "to have your data erased (Art. 17)",
            "to have processing restricted (Art. 18)",
            "to receive the data you provided in a portable form and have it sent to another controller (Art. 20)",
            "to object to processing based on legitimate interests (Art. 21)"
        ],
        "complaint": format!("You may lodge a complaint with {} and seek a judicial remedy.", policy.supervisory_authority),
        "automated_decisions": "none: no decision about you is made solely by automated means, and no profiling takes place",
        "storage_region": policy.region,
        "transfers": format!("stored in the {} region; recipients listed above receive data only where the controller registered them", policy.region),
    })
}
