//! The data processing agreement (GDPR Art. 28(3)) a tenant can show: the installation
//! operator's template (or the one shipped with Suoja), in English or Finnish, with its
//! placeholders filled in from the tenant's controller details and its annexes generated from
//! the records of processing — the categories of people and data with the purposes (Annex 1),
//! the security measures in force (Annex 2) and the sub-processors (Annex 3).
//!
//! A template is plain text: `# ` starts a heading, `## ` a subheading, `- ` a bullet, a blank
//! line ends a paragraph, and `{{name}}` is a placeholder (see [`PLACEHOLDERS`]). Each annex
//! placeholder stands alone on its line, where it becomes a list; a template without all three
//! is refused.

use serde_json::{Value, json};
use suoja_core::Scope;

use crate::{Privacy, PrivacyError, Result};

/// The English template shipped with Suoja.
pub const TEMPLATE_EN: &str = include_str!("template.en.txt");
/// The Finnish template shipped with Suoja.
pub const TEMPLATE_FI: &str = include_str!("template.fi.txt");

/// The placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "controller.name",
    "controller.contact",
    "controller.dpo_contact",
    "processor.name",
    "region",
    "date",
    "annex.categories",
    "annex.measures",
    "annex.subprocessors",
];

/// Most bytes a template may have.
pub const MAX_TEMPLATE_BYTES: usize = 200_000;

/// The annexes, as placeholders.
const ANNEXES: [&str; 3] = ["annex.categories", "annex.measures", "annex.subprocessors"];

/// Checks a template: not empty nor too long, every `{{…}}` a known placeholder, and each
/// annex alone on a line of its own (elsewhere it would vanish from the agreement).
pub fn check_template(text: &str) -> std::result::Result<(), String> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err("the template is empty".into());
    }
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(format!("the template is longer than {MAX_TEMPLATE_BYTES} bytes"));
    }
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("{{") {
            let after = &rest[at + 2..];
            let Some(end) = after.find("}}") else {
                return Err("a placeholder opened with {{ is not closed on its line".into());
            };
            let name = after[..end].trim();
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{{{}}}}}; known: {}",
                    name.chars().take(40).collect::<String>(),
                    PLACEHOLDERS.join(", ")
                ));
            }
            if name.starts_with("annex.") && line.trim() != format!("{{{{{name}}}}}") {
                return Err(format!("{{{{{name}}}}} must stand alone on its line (it becomes a list there)"));
            }
            rest = &after[end + 2..];
        }
    }
    for annex in ANNEXES {
        if !text.lines().any(|l| l.trim() == format!("{{{{{annex}}}}}")) {
            return Err(format!("the agreement lacks {{{{{annex}}}}} (on a line of its own)"));
        }
    }
    Ok(())
}

/// A block of the agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A top-level heading (the title, an annex).
    Heading(String),
    /// A section heading.
    Subheading(String),
    /// A paragraph.
    Paragraph(String),
    /// An item of a list.
    Bullet(String),
}

impl Block {
    fn kind(&self) -> &'static str {
        match self {
            Block::Heading(_) => "heading",
            Block::Subheading(_) => "subheading",
            Block::Paragraph(_) => "paragraph",
            Block::Bullet(_) => "bullet",
        }
    }
    /// Its text.
    pub fn text(&self) -> &str {
        match self {
            Block::Heading(t) | Block::Subheading(t) | Block::Paragraph(t) | Block::Bullet(t) => t,
        }
    }
}

/// Fills `template` in: `inline` gives each placeholder's text, `lists` each annex's items.
pub fn fill(template: &str, inline: &dyn Fn(&str) -> String, lists: &dyn Fn(&str) -> Vec<String>) -> Vec<Block> {
    let replace = |line: &str| {
        let mut out = String::new();
        let mut rest = line;
        while let Some(at) = rest.find("{{") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            match after.find("}}") {
                Some(end) => {
                    out.push_str(&inline(after[..end].trim()));
                    rest = &after[end + 2..];
                }
                None => {
                    out.push_str(&rest[at..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    };
    let mut blocks = Vec::new();
    let mut para: Vec<String> = Vec::new();
    let flush = |para: &mut Vec<String>, blocks: &mut Vec<Block>| {
        if !para.is_empty() {
            blocks.push(Block::Paragraph(para.join(" ")));
            para.clear();
        }
    };
    for raw in template.trim_start_matches('\u{feff}').lines() {
        let line = raw.trim();
        if line.is_empty() {
            flush(&mut para, &mut blocks);
            continue;
        }
        if let Some(name) = line.strip_prefix("{{").and_then(|l| l.strip_suffix("}}")).map(str::trim)
            && name.starts_with("annex.")
        {
            flush(&mut para, &mut blocks);
            blocks.extend(lists(name).into_iter().map(Block::Bullet));
        } else if let Some(h) = line.strip_prefix("## ") {
            flush(&mut para, &mut blocks);
            blocks.push(Block::Subheading(replace(h)));
        } else if let Some(h) = line.strip_prefix("# ") {
            flush(&mut para, &mut blocks);
            blocks.push(Block::Heading(replace(h)));
        } else if let Some(b) = line.strip_prefix("- ") {
            flush(&mut para, &mut blocks);
            blocks.push(Block::Bullet(replace(b)));
        } else {
            para.push(replace(line));
        }
    }
    flush(&mut para, &mut blocks);
    blocks
}

impl Privacy {
    /// The tenant's data processing agreement in English or Finnish (admins and privacy
    /// officers): `{"language", "generated_at", "blocks": [{"kind", "text"}], "text"}`.
    pub async fn dpa(&self, scope: &Scope, finnish: bool) -> Result<Value> {
        let records = self.records_of_processing(scope).await?;
        let blocks = self.dpa_blocks(&records, finnish);
        let text = blocks
            .iter()
            .map(|b| match b {
                Block::Heading(t) => format!("\n{}\n", t.to_uppercase()),
                Block::Subheading(t) => format!("\n{t}"),
                Block::Paragraph(t) => t.clone(),
                Block::Bullet(t) => format!("  • {t}"),
            })
            .collect::<Vec<_>>()
            .join("\n");
        Ok(json!({
            "language": if finnish { "fi" } else { "en" },
            "generated_at": records.get("generated_at").cloned().unwrap_or(Value::Null),
            "controller": records.get("controller").cloned().unwrap_or(Value::Null),
            "blocks": blocks.iter().map(|b| json!({ "kind": b.kind(), "text": b.text() })).collect::<Vec<_>>(),
            "text": text.trim(),
        }))
    }

    /// The agreement as a PDF.
    pub async fn dpa_pdf(&self, scope: &Scope, finnish: bool) -> Result<Vec<u8>> {
        let doc = self.dpa(scope, finnish).await?;
        crate::export::pdf::render_dpa(&doc).ok_or_else(|| PrivacyError::Internal("the PDF fonts could not be loaded".into()))
    }

    fn dpa_blocks(&self, records: &Value, finnish: bool) -> Vec<Block> {
        let template = if finnish {
            self.policy.dpa_template_fi.as_deref().unwrap_or(TEMPLATE_FI)
        } else {
            self.policy.dpa_template_en.as_deref().unwrap_or(TEMPLATE_EN)
        };
        let t = |en: &str, fi: &str| if finnish { fi.to_string() } else { en.to_string() };
        let given = |v: &Value| v.as_str().filter(|s| !s.trim().is_empty()).map(str::to_string);
        let controller = &records["controller"];
        // The installation's English defaults have Finnish of their own.
        let fallback = |value: String, english_default: &str, in_finnish: &str| {
            if finnish && value == english_default { in_finnish.to_string() } else { value }
        };
        let inline = |name: &str| match name {
            "controller.name" => given(&controller["name"])
                .map(|n| fallback(n, "the organisation running this helpdesk", "tätä palvelua käyttävä organisaatio"))
                .unwrap_or_else(|| t("the controller", "rekisterinpitäjä")),
            "controller.contact" => given(&controller["contact"]).unwrap_or_else(|| t("not given", "ei annettu")),
            "controller.dpo_contact" => given(&controller["dpo_contact"]).unwrap_or_else(|| t("not appointed", "ei nimetty")),
            "processor.name" => fallback(
                self.policy.processor.clone(),
                "the provider of this Suoja installation",
                "tämän Suoja-asennuksen tarjoaja",
            ),
            "region" => self.policy.region.to_uppercase(),
            "date" => records["generated_at"].as_str().unwrap_or_default().get(..10).unwrap_or_default().to_string(),
            _ => String::new(),
        };
        let lists = |name: &str| annex(records, name, finnish);
        fill(template, &inline, &lists)
    }
}

/// An annex's items, from the records of processing.
fn annex(records: &Value, name: &str, finnish: bool) -> Vec<String> {
    let t = |en: &str, fi: &str| if finnish { fi.to_string() } else { en.to_string() };
    let strings = |v: &Value| -> Vec<String> { v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect() };
    match name {
        "annex.categories" => {
            let activities: Vec<&Value> = records["activities"].as_array().into_iter().flatten().collect();
            // The people's roles (the map's links through tickets say where, not who: left out).
            let mut people: Vec<String> = activities
                .iter()
                .flat_map(|a| strings(&a["people"]))
                .filter_map(|r| role_words(&r, finnish))
                .collect();
            people.sort();
            people.dedup();
            let mut data: Vec<String> = activities.iter().flat_map(|a| strings(&a["data"])).collect();
            data.sort();
            data.dedup();
            let data: Vec<String> = data.iter().map(|c| crate::export::pdf::category_words(c, finnish)).collect();
            let key = if finnish { "purpose_fi" } else { "purpose" };
            let mut purposes: Vec<String> = activities.iter().filter_map(|a| a[key].as_str().map(str::to_string)).collect();
            purposes.sort();
            purposes.dedup();
            let mut out = vec![
                format!(
                    "{}: {}",
                    t("Data subjects (by their role in the records)", "Rekisteröidyt (roolinsa mukaan)"),
                    people.join(", ")
                ),
                format!("{}: {}", t("Categories of personal data", "Henkilötietoryhmät"), data.join(", ")),
            ];
            out.extend(purposes.into_iter().map(|p| format!("{}: {p}", t("Purpose", "Tarkoitus"))));
            out
        }
        "annex.measures" => records["security"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| crate::export::pdf::security_words(m["code"].as_str().unwrap_or_default(), m, finnish))
            .collect(),
        "annex.subprocessors" => {
            let now = records["generated_at"].as_str().unwrap_or_default();
            let list: Vec<String> = records["subprocessors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let starts = s["starts_at"].as_str().unwrap_or_default();
                    // One still in its notice period is announced, not yet at work.
                    let since = if starts > now {
                        t("announced, from", "ilmoitettu, alkaen")
                    } else {
                        t("since", "alkaen")
                    };
                    format!(
                        "{} — {}; {}: {}; {}: {}; {since} {}",
                        s["name"].as_str().unwrap_or_default(),
                        s["service"].as_str().unwrap_or_default(),
                        t("location", "sijainti"),
                        s["location"].as_str().unwrap_or_default(),
                        t("safeguard", "suojatoimi"),
                        s["safeguard"].as_str().unwrap_or_default(),
                        starts.get(..10).unwrap_or_default(),
                    )
                })
                .collect();
            if list.is_empty() {
                vec![t(
                    "None: no sub-processor processes this helpdesk's personal data.",
                    "Ei yhtään: mikään alikäsittelijä ei käsittele tämän järjestelmän henkilötietoja.",
                )]
            } else {
                list
            }
        }
        _ => Vec::new(),
    }
}

/// A role a person has in the data map's records, in words (`None` for the map's links
/// through tickets, which say where a record hangs rather than who it is about).
pub fn role_words(role: &str, finnish: bool) -> Option<String> {
    let (en, fi) = match role {
        "affected by a breach" => ("people affected by a personal data breach", "tietoturvaloukkauksen kohteena olleet"),
        "assignee" => ("agents assigned tickets", "pyyntöjä käsittelevät agentit"),
        "author" => ("authors of comments, articles and posts", "kommenttien, artikkelien ja viestien kirjoittajat"),
        "collaborator" => ("people copied on or following tickets", "pyyntöjen kopion saajat ja seuraajat"),
        "mentioned" => ("people mentioned in texts", "teksteissä mainitut henkilöt"),
        "owner" => ("account holders (end users and staff)", "tilien haltijat (loppukäyttäjät ja henkilöstö)"),
        "person being verified" => ("people whose identity is being checked", "henkilöt, joiden henkilöllisyyttä tarkistetaan"),
        "person erased" => ("people whose data was erased", "henkilöt, joiden tiedot on poistettu"),
        "person exported" => ("people whose data was exported", "henkilöt, joiden tiedot on luovutettu tietopakettina"),
        "person under a hold" => ("people under a legal hold", "säilytysvelvoitteen kohteena olevat henkilöt"),
        "person whose data was disclosed" => (
            "people whose data was disclosed to recipients",
            "henkilöt, joiden tietoja on luovutettu vastaanottajille",
        ),
        "person whose data was viewed" => ("people whose data staff viewed", "henkilöt, joiden tietoja henkilöstö on katsellut"),
        "group member" => ("agents in groups", "ryhmiin kuuluvat agentit"),
        "rater" => ("requesters who rated their solved tickets", "ratkaistuja pyyntöjään arvioineet pyytäjät"),
        "recipient" => ("recipients of messages", "viestien vastaanottajat"),
        "recorded a breach" => ("staff who recorded a breach", "tietoturvaloukkauksen kirjanneet henkilöstön jäsenet"),
        "requester" => ("requesters (customers who ask for support)", "pyytäjät (tukea pyytävät asiakkaat)"),
        "sender" => ("senders of messages", "viestien lähettäjät"),
        "staff who redacted" => ("staff who redacted text", "tekstiä poistaneet henkilöstön jäsenet"),
        "subject of the request" => ("people who made a data protection request", "tietosuojapyynnön tehneet henkilöt"),
        "submitter" => ("people who submitted tickets for others", "toisten puolesta pyyntöjä luoneet henkilöt"),
        "subscriber" => ("subscribers to notices", "ilmoitusten tilaajat"),
        "voter" => ("people who voted on articles and posts", "artikkeleista ja viesteistä äänestäneet"),
        "who made the change" => ("people who changed tickets", "pyyntöjä muuttaneet henkilöt"),
        _ => return None,
    };
    Some(if finnish { fi } else { en }.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_a_person_has_in_the_map_has_words() {
        for t in crate::datamap::TABLES {
            for l in t.subjects.iter().filter(|l| l.via == crate::datamap::Via::User) {
                assert!(
                    role_words(l.role, true).is_some(),
                    "{}: role {:?} has no words in the agreement's annex",
                    t.name,
                    l.role
                );
            }
        }
    }

    #[test]
    fn the_shipped_templates_use_known_placeholders_and_every_annex() {
        for t in [TEMPLATE_EN, TEMPLATE_FI] {
            check_template(t).unwrap();
            for annex in ["{{annex.categories}}", "{{annex.measures}}", "{{annex.subprocessors}}"] {
                assert!(t.contains(annex), "{annex}");
            }
        }
    }

    #[test]
    fn bad_templates_are_named() {
        let annexes = "\n{{annex.categories}}\n{{annex.measures}}\n{{annex.subprocessors}}\n";
        assert!(check_template("").is_err());
        assert!(
            check_template(&format!("Hello {{{{controller.nmae}}}}{annexes}"))
                .unwrap_err()
                .contains("controller.nmae")
        );
        assert!(
            check_template(&format!("{annexes}Hello {{{{controller.name"))
                .unwrap_err()
                .contains("not closed")
        );
        assert!(check_template("Hello").unwrap_err().contains("lacks {{annex.categories}}"));
        assert!(
            check_template(&format!("- {{{{annex.measures}}}}{annexes}"))
                .unwrap_err()
                .contains("alone on its line")
        );
        assert!(check_template(&format!("{}# Title{annexes}", "\u{feff}")).is_ok());
        assert_eq!(
            fill("\u{feff}# Title", &|_| String::new(), &|_| Vec::new()),
            vec![Block::Heading("Title".into())]
        );
    }

    #[test]
    fn templates_fill_into_blocks() {
        let blocks = fill(
            "# Title {{region}}\n\nOne line\nand the next.\n\n## Part\n- item\n{{annex.measures}}\nAfter {{date}}.",
            &|n| format!("<{n}>"),
            &|n| vec![format!("{n} 1"), format!("{n} 2")],
        );
        assert_eq!(
            blocks,
            vec![
                Block::Heading("Title <region>".into()),
                Block::Paragraph("One line and the next.".into()),
                Block::Subheading("Part".into()),
                Block::Bullet("item".into()),
                Block::Bullet("annex.measures 1".into()),
                Block::Bullet("annex.measures 2".into()),
                Block::Paragraph("After <date>.".into()),
            ]
        );
    }
}
