//! The records of processing activities (GDPR Art. 30(1)) as a PDF in English or Finnish: the
//! controller and its data protection officer, where the data is stored, the security measures
//! in force, the recipients, then one entry per activity — purpose, people, categories of data,
//! storage, erasure and retention, with the retention policies the tenant runs.

use serde_json::Value;

use super::layout::{Layout, Style, faces};
use super::{date, s};

/// A security measure of the records in words.
pub fn security_words(code: &str, m: &Value, finnish: bool) -> String {
    let n = s(&m["value"]);
    let (idle, absolute) = (s(&m["idle_minutes"]), s(&m["absolute_hours"]));
    let (min, history) = (s(&m["min_length"]), s(&m["history"]));
    let end_users = m["end_users"].as_bool().unwrap_or(false);
    match (code, finnish) {
        ("encryption_at_rest", false) => "Every personal value is encrypted at rest (XChaCha20-Poly1305) under a key of its person, wrapped by a tenant key and the installation's root key; destroying a person's key makes every copy unreadable, backups included.".into(),
        ("encryption_at_rest", true) => "Jokainen henkilötieto on salattu levossa (XChaCha20-Poly1305) henkilön omalla avaimella, joka on salattu organisaation avaimella ja asennuksen pääavaimella; henkilön avaimen hävittäminen tekee jokaisesta kopiosta lukukelvottoman, myös varmuuskopioissa.".into(),
        ("keyed_lookups", false) => "People are found by keyed hashes of their addresses and words, never by plain values.".into(),
        ("keyed_lookups", true) => "Henkilöt löydetään osoitteiden ja sanojen avainnetuilla tiivisteillä, ei koskaan selväkielisillä arvoilla.".into(),
        ("tamper_evident_ledger", false) => "Privacy actions and admin changes are recorded in a tamper-evident ledger (a keyed hash chain) by ids and codes; the only personal value, a staff member's client address in the audit log, is sealed under their key and a key of its 30-day period, destroyed by the retention policy.".into(),
        ("tamper_evident_ledger", true) => "Tietosuojatoimet ja ylläpidon muutokset kirjataan muuttumattomuuden osoittavaan kirjanpitoon (avainnettu tiivisteketju) tunnisteina ja koodeina; ainoa henkilötieto, henkilöstön jäsenen osoite tapahtumalokissa, on salattu hänen avaimellaan ja 30 päivän jakson avaimella, jonka säilytyskäytäntö hävittää.".into(),
        ("consultation_log", false) => "Staff reads of a person's data are recorded in a log the person can see.".into(),
        ("consultation_log", true) => "Henkilöstön katselut henkilön tietoihin kirjataan lokiin, jonka henkilö näkee.".into(),
        ("verified_erasure", false) => "Erasure is verified by reading every store back and scanning the data directory byte by byte.".into(),
        ("verified_erasure", true) => "Poisto varmistetaan lukemalla jokainen tallennuspaikka uudelleen ja käymällä datahakemisto läpi tavu tavulta.".into(),
        ("sessions_and_sign_in_limits", false) => format!("Web sessions end after {idle} minutes idle and {absolute} hours in all; sign-in is rate-limited and blocked after repeated failures."),
        ("sessions_and_sign_in_limits", true) => format!("Istunnot päättyvät {idle} minuutin käyttämättömyyden ja {absolute} tunnin jälkeen; kirjautumisyrityksiä rajoitetaan, ja toistuvat virheet estävät kirjautumisen hetkeksi."),
        ("password_rules", false) if history == "0" => format!("Passwords have at least {min} characters and are refused when common; no composition rules (NIST SP 800-63B)."),
        ("password_rules", true) if history == "0" => format!("Salasanoissa on vähintään {min} merkkiä, eikä yleisiä salasanoja hyväksytä; merkkityyppisääntöjä ei ole (NIST SP 800-63B)."),
        ("password_rules", false) => format!("Passwords have at least {min} characters and are refused when common or one of the person's last {history}; no composition rules (NIST SP 800-63B)."),
        ("password_rules", true) => format!("Salasanoissa on vähintään {min} merkkiä, eikä yleisiä tai henkilön {history} edellistä salasanaa hyväksytä; merkkityyppisääntöjä ei ole (NIST SP 800-63B)."),
        ("ip_restriction", false) => format!("Staff sign-in and API access{} are accepted only from {n} allowed address range(s).", if end_users { ", and end users' sign-in," } else { "" }),
        ("ip_restriction", true) => format!("Henkilöstön kirjautuminen ja API-käyttö{} hyväksytään vain {n} sallitusta osoitealueesta.", if end_users { " sekä loppukäyttäjien kirjautuminen" } else { "" }),
        ("no_ip_restriction", false) => "Staff sign-in and API access are not restricted by address.".into(),
        ("no_ip_restriction", true) => "Henkilöstön kirjautumista ja API-käyttöä ei ole rajoitettu osoitteen mukaan.".into(),
        ("end_user_second_factor", false) => "End users must sign in with a second factor too.".into(),
        ("end_user_second_factor", true) => "Myös loppukäyttäjien on kirjauduttava kaksivaiheisesti.".into(),
        ("end_user_second_factor_optional", false) => "End users may choose a second factor.".into(),
        ("end_user_second_factor_optional", true) => "Loppukäyttäjät voivat ottaa kaksivaiheisen kirjautumisen käyttöön.".into(),
        ("recovery_codes", false) => "A lost second factor is replaced by single-use recovery codes, kept only as hashes; using one is mailed to the person.".into(),
        ("recovery_codes", true) => "Kadonneen toisen tunnistustavan korvaavat kertakäyttöiset palautuskoodit, joista tallennetaan vain tiivisteet; koodin käytöstä lähetetään viesti henkilölle.".into(),
        ("sign_in_alerts", false) => "Staff are mailed when they sign in from a browser they have not used before.".into(),
        ("sign_in_alerts", true) => "Henkilöstölle lähetetään viesti, kun he kirjautuvat selaimella, jota eivät ole ennen käyttäneet.".into(),
        ("no_sign_in_alerts", false) => "Staff are not mailed about sign-ins from new browsers.".into(),
        ("no_sign_in_alerts", true) => "Henkilöstölle ei lähetetä viestiä kirjautumisista uusilla selaimilla.".into(),
        ("staff_second_factor", false) => "Staff must sign in with a second factor.".into(),
        ("staff_second_factor", true) => "Henkilöstön on kirjauduttava kaksivaiheisesti.".into(),
        ("staff_second_factor_optional", false) => "Staff may sign in without a second factor (not required by this helpdesk).".into(),
        ("staff_second_factor_optional", true) => "Henkilöstö voi kirjautua ilman toista vaihetta (tämä palvelu ei vaadi sitä).".into(),
        ("encrypted_backups", false) => format!("Backups are encrypted; `suoja backup` has written to {n} backup location(s) of this installation."),
        ("encrypted_backups", true) => format!("Varmuuskopiot salataan; `suoja backup` on kirjoittanut {n} varmuuskopiopaikkaan tässä asennuksessa."),
        ("no_backup_target", false) => "No backup target is configured in the installation.".into(),
        ("no_backup_target", true) => "Asennukseen ei ole määritetty varmuuskopioiden kohdetta.".into(),
        (other, _) => other.replace('_', " "),
    }
}

fn storage_words(code: &str, finnish: bool) -> &str {
    match (code, finnish) {
        ("plain", false) => "plain",
        ("plain", true) => "selväkielinen",
        ("subject_sealed", false) => "sealed under the person's own key",
        ("subject_sealed", true) => "salattu henkilön omalla avaimella",
        ("tenant_sealed", false) => "sealed under the tenant's key",
        ("tenant_sealed", true) => "salattu organisaation avaimella",
        ("keyed_hash", false) => "keyed hash",
        ("keyed_hash", true) => "avainnettu tiiviste",
        ("one_way_hash", false) => "one-way hash",
        ("one_way_hash", true) => "yksisuuntainen tiiviste",
        ("package_sealed", false) => "sealed under a package key, itself under the person's key",
        ("package_sealed", true) => "salattu paketin avaimella, joka on salattu henkilön avaimella",
        (other, _) => other,
    }
}

fn erasure_words(code: &str, finnish: bool) -> &str {
    match (code, finnish) {
        ("delete", false) => "deleted",
        ("delete", true) => "poistetaan",
        ("redact", false) => "the person's identifiers redacted from the text",
        ("redact", true) => "henkilön tunnisteet poistetaan tekstistä",
        ("anonymise", false) => "anonymised",
        ("anonymise", true) => "anonymisoidaan",
        ("tombstone", false) => "emptied in place, or deleted as the tenant chose",
        ("tombstone", true) => "tyhjennetään paikallaan tai poistetaan organisaation valinnan mukaan",
        ("empty", false) => "emptied in place",
        ("empty", true) => "tyhjennetään paikallaan",
        ("keep", false) => "kept: names the person by an id only",
        ("keep", true) => "säilytetään: nimeää henkilön vain tunnuksella",
        (other, _) => other,
    }
}

/// A category of personal data in words.
pub fn category_words(code: &str, finnish: bool) -> String {
    match (code, finnish) {
        ("key", false) => "encryption keys".into(),
        ("key", true) => "salausavaimet".into(),
        ("derived", false) => "keyed hashes derived from personal data".into(),
        ("derived", true) => "henkilötiedoista johdetut avainnetut tiivisteet".into(),
        (other, f) => crate::breaches::notices::category_label(other, f).to_string(),
    }
}

fn unit_words(unit: &str, finnish: bool) -> &str {
    match (unit, finnish) {
        ("hours", false) => "hours",
        ("hours", true) => "tuntia",
        ("days", false) => "days",
        ("days", true) => "päivää",
        ("months", false) => "months",
        ("months", true) => "kuukautta",
        (other, _) => other,
    }
}

/// Renders the records (the JSON of [`crate::Privacy::records_of_processing`]) as PDF bytes;
/// `label` names a table in the reader's language where it can.
pub fn render_records(doc: &Value, finnish: bool, label: &dyn Fn(&str) -> Option<String>) -> Option<Vec<u8>> {
    let faces = faces()?;
    let mut p = Layout::new(faces);
    let t = |en: &'static str, fi: &'static str| if finnish { fi } else { en };
    let title = t("Records of processing activities", "Seloste käsittelytoimista");
    p.text(title, 20.0, Style::Bold, 0.0, 0.0);
    p.text(
        &format!(
            "{} {} · {}",
            t("Generated", "Laadittu"),
            date(&doc["generated_at"]),
            t("GDPR Art. 30(1)", "tietosuoja-asetuksen 30 artiklan 1 kohta")
        ),
        10.0,
        Style::Regular,
        0.0,
        0.3,
    );
    p.heading(t("Controller", "Rekisterinpitäjä"), 14.0);
    let c = &doc["controller"];
    p.pair(t("Name", "Nimi"), &s(&c["name"]));
    p.pair(t("Contact", "Yhteystiedot"), &s(&c["contact"]));
    p.pair(t("Data protection officer", "Tietosuojavastaava"), &s(&c["dpo_contact"]));
    p.pair(t("Where the data is stored", "Tietojen säilytyspaikka"), &s(&doc["region"]));
    p.heading(t("Security measures", "Turvatoimet"), 14.0);
    for m in doc["security"].as_array().into_iter().flatten() {
        p.text(
            &format!("• {}", security_words(m["code"].as_str().unwrap_or_default(), m, finnish)),
            10.0,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    p.heading(t("Recipients", "Vastaanottajat"), 14.0);
    let recipients = doc["recipients"].as_array().cloned().unwrap_or_default();
    if recipients.is_empty() {
        p.text(
            t("No webhooks are registered.", "Webhookeja ei ole rekisteröity."),
            10.0,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    for r in &recipients {
        p.text(
            &format!("• {} ({}): {}", s(&r["name"]), s(&r["host"]), s(&r["events"])),
            10.0,
            Style::Regular,
            8.0,
            0.0,
        );
    }
    p.pair(
        t("Integrations (API and OAuth tokens)", "Integraatiot (API- ja OAuth-tunnukset)"),
        &format!(
            "{} + {}",
            s(doc.pointer("/integrations/api_tokens").unwrap_or(&Value::Null)),
            s(doc.pointer("/integrations/oauth_tokens").unwrap_or(&Value::Null))
        ),
    );
    p.heading(t("Processing activities", "Käsittelytoimet"), 14.0);
    for a in doc["activities"].as_array().into_iter().flatten() {
        let table = a["table"].as_str().unwrap_or_default();
        let name = label(table).unwrap_or_else(|| table.replace('_', " "));
        p.need(60.0);
        p.text(&format!("{name} ({table})"), 11.5, Style::Bold, 0.0, 0.0);
        p.pair(t("Purpose", "Tarkoitus"), &s(&a[if finnish { "purpose_fi" } else { "purpose" }]));
        // People by their roles, in the reader's language (links through tickets name no one).
        let people: Vec<String> = a["people"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|r| crate::dpa::role_words(r, finnish))
            .collect();
        if !people.is_empty() {
            p.pair(t("People", "Rekisteröidyt"), &people.join(", "));
        }
        let data: Vec<String> = a["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|c| category_words(c, finnish))
            .collect();
        if !data.is_empty() {
            p.pair(t("Data", "Tiedot"), &data.join(", "));
        }
        let storage: Vec<&str> = a["storage"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|c| storage_words(c, finnish))
            .collect();
        if !storage.is_empty() {
            p.pair(t("Stored", "Tallennus"), &storage.join("; "));
        }
        p.pair(
            t("On erasure", "Poistettaessa"),
            erasure_words(a["erasure"].as_str().unwrap_or_default(), finnish),
        );
        p.pair(t("Kept", "Säilytysaika"), &s(&a[if finnish { "retention_fi" } else { "retention" }]));
        for r in a["retention_in_force"].as_array().into_iter().flatten() {
            let state = if r["enabled"].as_bool().unwrap_or(false) {
                t("on", "käytössä")
            } else {
                t("off", "ei käytössä")
            };
            p.text(
                &format!(
                    "• {}: {} {} ({state}) — {}",
                    s(&r["policy"]),
                    s(&r["after"]),
                    unit_words(r["unit"].as_str().unwrap_or_default(), finnish),
                    s(&r[if finnish { "removes_fi" } else { "removes" }])
                ),
                9.5,
                Style::Regular,
                8.0,
                0.2,
            );
        }
        p.gap(4.0);
    }
    let mut out = doc.clone();
    suoja_core::json::set(&mut out, "document_title", Value::String(title.into()));
    suoja_core::json::set(&mut out, "language", Value::String(if finnish { "fi" } else { "en" }.into()));
    Some(super::write::write(faces, p.pages, &out))
}
