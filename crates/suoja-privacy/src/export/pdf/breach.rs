//! The notification of a personal-data breach to the supervisory authority as a PDF, in English
//! or Finnish: the items of GDPR Art. 33(3) in their order — the nature of the breach with the
//! categories and approximate numbers of people and records, the contact point, the likely
//! consequences, the measures — with the 72-hour clock and the reasons for any delay.

use serde_json::Value;

use super::layout::{Layout, Style, faces};
use super::{date, s};

/// The labels, in the document's language.
struct Words {
    breach: &'static str,
    generated: &'static str,
    controller: &'static str,
    region: &'static str,
    clock: &'static str,
    aware: &'static str,
    occurred: &'static str,
    due: &'static str,
    notified: &'static str,
    late: &'static str,
    delay: &'static str,
    nature: &'static str,
    data: &'static str,
    people_kinds: &'static str,
    people: &'static str,
    records: &'static str,
    contact: &'static str,
    consequences: &'static str,
    measures: &'static str,
    people_notice: &'static str,
    required: &'static str,
    reasoning: &'static str,
    told: &'static str,
    to_follow: &'static str,
    yes: &'static str,
    no: &'static str,
    undecided: &'static str,
}

const EN: Words = Words {
    breach: "Breach",
    generated: "generated",
    controller: "Controller",
    region: "Where the data is stored",
    clock: "Times",
    aware: "Controller became aware",
    occurred: "Breach occurred",
    due: "Notification due (72 hours)",
    notified: "Authority notified",
    late: "Notified late",
    delay: "Reasons for the delay",
    nature: "(a) Nature of the breach",
    data: "Categories of data",
    people_kinds: "Categories of people",
    people: "People affected (approximately)",
    records: "Records affected (approximately)",
    contact: "(b) Contact point for more information",
    consequences: "(c) Likely consequences",
    measures: "(d) Measures taken or proposed",
    people_notice: "Communication to the people affected (Art. 34)",
    required: "Required",
    reasoning: "Reasoning",
    told: "People notified",
    to_follow: "to follow (Art. 33(4))",
    yes: "yes",
    no: "no",
    undecided: "not decided yet",
};

const FI: Words = Words {
    breach: "Loukkaus",
    generated: "laadittu",
    controller: "Rekisterinpitäjä",
    region: "Tietojen säilytyspaikka",
    clock: "Ajankohdat",
    aware: "Rekisterinpitäjä sai tiedon",
    occurred: "Loukkaus tapahtui",
    due: "Ilmoituksen määräaika (72 tuntia)",
    notified: "Ilmoitettu viranomaiselle",
    late: "Ilmoitettu myöhässä",
    delay: "Viivästyksen syyt",
    nature: "(a) Loukkauksen luonne",
    data: "Tietoryhmät",
    people_kinds: "Rekisteröityjen ryhmät",
    people: "Rekisteröityjä (arviolta)",
    records: "Tietueita (arviolta)",
    contact: "(b) Yhteyspiste lisätietoja varten",
    consequences: "(c) Todennäköiset seuraukset",
    measures: "(d) Toteutetut tai ehdotetut toimenpiteet",
    people_notice: "Ilmoitus rekisteröidyille (34 artikla)",
    required: "Tarpeen",
    reasoning: "Perustelut",
    told: "Ilmoitettu rekisteröidyille",
    to_follow: "toimitetaan myöhemmin (33 artiklan 4 kohta)",
    yes: "kyllä",
    no: "ei",
    undecided: "ei vielä päätetty",
};

/// Renders a notification (the JSON of [`crate::Privacy::breach_notification`]) as PDF bytes.
pub fn render_breach_notification(doc: &Value, finnish: bool) -> Option<Vec<u8>> {
    let w = if finnish { &FI } else { &EN };
    let faces = faces()?;
    let mut p = Layout::new(faces);
    let or_later = |v: &Value| if v.is_null() { w.to_follow.to_string() } else { s(v) };
    let flag = |v: &Value| match v.as_bool() {
        Some(true) => w.yes.to_string(),
        Some(false) => w.no.to_string(),
        None => w.undecided.to_string(),
    };
    p.text(&s(&doc["document_title"]), 20.0, Style::Bold, 0.0, 0.0);
    p.text(
        &format!("{} #{} · {} {}", w.breach, s(&doc["breach_id"]), w.generated, date(&doc["generated_at"])),
        10.0,
        Style::Regular,
        0.0,
        0.3,
    );
    p.gap(6.0);
    p.pair(w.controller, &s(&doc["controller"]));
    p.pair(w.region, &s(&doc["region"]));
    p.heading(w.clock, 14.0);
    p.pair(w.aware, &date(&doc["aware_at"]));
    p.pair(w.occurred, &date(&doc["occurred_at"]));
    p.pair(w.due, &date(&doc["authority_notification_due_at"]));
    p.pair(w.notified, &date(&doc["authority_notified_at"]));
    p.pair(w.late, &flag(&doc["late"]));
    if !doc["delay_reason"].is_null() {
        p.pair(w.delay, &s(&doc["delay_reason"]));
    }
    let n = &doc["nature"];
    p.heading(w.nature, 14.0);
    p.text(&s(&n["description"]), 10.5, Style::Regular, 0.0, 0.0);
    p.pair(w.data, &s(&n["data_categories"]));
    p.pair(w.people_kinds, &s(&n["people_categories"]));
    p.pair(w.people, &s(&n["people_affected"]));
    p.pair(w.records, &s(&n["records_affected"]));
    p.heading(w.contact, 14.0);
    p.text(&s(&doc["contact"]), 10.5, Style::Regular, 0.0, 0.0);
    p.heading(w.consequences, 14.0);
    p.text(&or_later(&doc["consequences"]), 10.5, Style::Regular, 0.0, 0.0);
    p.heading(w.measures, 14.0);
    p.text(&or_later(&doc["measures"]), 10.5, Style::Regular, 0.0, 0.0);
    let pn = &doc["people_notice"];
    p.heading(w.people_notice, 14.0);
    p.pair(w.required, &flag(&pn["required"]));
    if !pn["reasoning"].is_null() {
        p.pair(w.reasoning, &s(&pn["reasoning"]));
    }
    p.pair(w.told, &format!("{} · {}", s(&pn["notified"]), date(&pn["notified_at"])));
    Some(super::write::write(faces, p.pages, doc))
}
