//! Languages of the web interface: English and Finnish, every string in `locales/<lang>.toml`
//! (flat `key = "text"` tables). A missing key shows as the key itself; a test fails when a key
//! exists in one language only. The services' own messages (a field error, a conflict) are
//! English where they arise; Finnish pages show them through `locales/messages.fi.toml`, and a
//! test fails when a message of the services has no Finnish.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Finnish.
    Fi,
}

impl Lang {
    /// The BCP 47 code (`<html lang>`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fi => "fi",
        }
    }

    /// The language a locale setting (`fi`, `fi-FI`, `en-US`) names, if it is one of ours.
    pub fn from_locale(locale: &str) -> Option<Lang> {
        let primary = locale.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "fi" => Some(Lang::Fi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first of ours in an `Accept-Language` header, by its q-values; English otherwise.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("");
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(l) = Lang::from_locale(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::En)
    }

    /// The text of `key` in this language.
    pub fn t(self, key: &str) -> &'static str {
        let table = match self {
            Lang::En => &*EN,
            Lang::Fi => &*FI,
        };
        match table.get(key) {
            Some(s) => s,
            None => {
                tracing::warn!(key, lang = self.code(), "missing translation");
                EN.get(key).map(String::as_str).unwrap_or("")
            }
        }
    }
}

impl Lang {
    /// A message of the services in this language: English as given; Finnish from the
    /// catalogue with the values of the English one filled in, or as given when none matches.
    pub fn message(self, text: &str) -> String {
        if self == Lang::En {
            return text.to_string();
        }
        if let Some(out) = translate(text) {
            return out;
        }
        // `field: message`, as some services write it.
        if let Some((field, rest)) = text.split_once(": ")
            && !field.is_empty()
            && field.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && let Some(out) = translate(rest)
        {
            return format!("{}: {out}", self.field(field));
        }
        text.to_string()
    }

    /// A message about `field`, with the field named once: `Label: message`.
    pub fn field_message(self, field: &str, message: &str) -> String {
        if message.strip_prefix(field).is_some_and(|rest| rest.starts_with(": ")) {
            self.message(message)
        } else {
            format!("{}: {}", self.field(field), self.message(message))
        }
    }

    /// A table of the data map or a line of an erasure plan (`comments`, `tickets.attachments`)
    /// as the console names it; the name itself if it has no label.
    pub fn data(self, name: &str) -> String {
        let key = format!("data.{name}");
        if EN.contains_key(&key) { self.t(&key).to_string() } else { name.to_string() }
    }

    /// A field name as the services give it (`html_body`), as a label in this language.
    pub fn field(self, field: &str) -> String {
        match self {
            Lang::En => field.to_string(),
            Lang::Fi => FI_FIELDS.get(field).cloned().unwrap_or_else(|| field.to_string()),
        }
    }
}

/// The Finnish of a message that is in the catalogue, with its values filled in.
fn translate(text: &str) -> Option<String> {
    for (parts, finnish) in FI_MESSAGES.iter() {
        if let Some(values) = values_of(parts, text) {
            let mut out = String::with_capacity(finnish.len() + text.len());
            let mut values = values.into_iter();
            let mut pieces = finnish.split("{}").peekable();
            while let Some(piece) = pieces.next() {
                out.push_str(piece);
                if pieces.peek().is_some() {
                    out.push_str(values.next().unwrap_or(""));
                }
            }
            return Some(out);
        }
    }
    None
}

/// The values a message fills into a template split at its `{}` (`parts`), if it is that
/// template's message: each value non-empty, the literal parts in order.
fn values_of<'a>(parts: &[String], text: &'a str) -> Option<Vec<&'a str>> {
    let (first, rest) = parts.split_first()?;
    let mut tail = text.strip_prefix(first.as_str())?;
    if rest.is_empty() {
        return tail.is_empty().then(Vec::new);
    }
    let mut values = Vec::with_capacity(rest.len());
    for (i, part) in rest.iter().enumerate() {
        let at = if i + 1 == rest.len() {
            tail.strip_suffix(part.as_str()).map(str::len)?
        } else if part.is_empty() {
            return None;
        } else {
            let skip = tail.chars().next()?.len_utf8();
            tail[skip..].find(part.as_str())? + skip
        };
        if at == 0 {
            return None;
        }
        values.push(&tail[..at]);
        tail = &tail[at + part.len()..];
    }
    Some(values)
}

/// The catalogue of the services' messages in Finnish: templates split at `{}` with their
/// Finnish, the most specific (longest literal text) first.
static FI_MESSAGES: LazyLock<Vec<(Vec<String>, String)>> = LazyLock::new(|| {
    let mut out: Vec<(Vec<String>, String)> = catalogue("messages")
        .into_iter()
        .map(|(english, finnish)| (english.split("{}").map(str::to_string).collect(), finnish))
        .collect();
    out.sort_by_key(|(parts, _)| std::cmp::Reverse(parts.iter().map(String::len).sum::<usize>()));
    out
});

/// Field names in Finnish.
static FI_FIELDS: LazyLock<HashMap<String, String>> = LazyLock::new(|| catalogue("fields").into_iter().collect());

fn catalogue(section: &str) -> Vec<(String, String)> {
    match toml::from_str::<toml::Table>(include_str!("../../locales/messages.fi.toml")) {
        Ok(t) => t
            .get(section)
            .and_then(toml::Value::as_table)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default(),
        Err(e) => {
            tracing::error!(error = %e, "the catalogue of service messages does not parse");
            Vec::new()
        }
    }
}

fn parse(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    match toml::from_str::<toml::Table>(text) {
        Ok(t) => flatten("", &t, &mut out),
        Err(e) => tracing::error!(error = %e, "a translation file does not parse"),
    }
    out
}

fn flatten(prefix: &str, t: &toml::map::Map<String, toml::Value>, out: &mut HashMap<String, String>) {
    for (k, v) in t {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(inner) => flatten(&key, inner, out),
            _ => {}
        }
    }
}

/// The English strings.
pub static EN: LazyLock<HashMap<String, String>> = LazyLock::new(|| parse(include_str!("../../locales/en.toml")));
/// The Finnish strings.
pub static FI: LazyLock<HashMap<String, String>> = LazyLock::new(|| parse(include_str!("../../locales/fi.toml")));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_exists_in_both_languages() {
        assert!(EN.len() > 100, "the English file did not parse: {} keys", EN.len());
        let only_en: Vec<_> = EN.keys().filter(|k| !FI.contains_key(*k)).collect();
        let only_fi: Vec<_> = FI.keys().filter(|k| !EN.contains_key(*k)).collect();
        assert!(only_en.is_empty(), "keys only in English: {only_en:?}");
        assert!(only_fi.is_empty(), "keys only in Finnish: {only_fi:?}");
        let empty: Vec<_> = EN.iter().chain(FI.iter()).filter(|(_, v)| v.trim().is_empty()).map(|(k, _)| k).collect();
        assert!(empty.is_empty(), "empty texts: {empty:?}");
    }

    #[test]
    fn every_key_the_templates_and_handlers_use_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let mut used = std::collections::BTreeSet::new();
        let mut files = Vec::new();
        for sub in [
            "templates",
            "templates/agent",
            "templates/portal",
            "templates/hc",
            "templates/admin",
            "templates/privacy",
            "templates/signin",
            "src/web",
        ] {
            if let Ok(rd) = std::fs::read_dir(format!("{dir}{sub}")) {
                files.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_file()));
            }
        }
        assert!(files.len() > 10, "templates not found");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for (i, _) in text.match_indices(".t(\"") {
                let rest = &text[i + 4..];
                if let Some(end) = rest.find('"') {
                    used.insert(rest[..end].to_string());
                }
            }
        }
        let missing: Vec<_> = used.iter().filter(|k| !EN.contains_key(*k) || !FI.contains_key(*k)).collect();
        assert!(missing.is_empty(), "keys used but not translated: {missing:?}");
    }

    /// The message templates the services write: the text argument of their field-error and
    /// conflict constructors (`invalid(field, "…")`, `Invalid("…")`, `Conflict(format!("…"))`,
    /// `message: "…"`), with each `{…}` as `{}`.
    fn service_messages() -> std::collections::BTreeSet<String> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../");
        let mut files = Vec::new();
        let mut dirs: Vec<std::path::PathBuf> = ["suoja-core/src", "suoja-helpdesk/src", "suoja-privacy/src", "suoja-mail/src"]
            .iter()
            .map(|d| std::path::PathBuf::from(format!("{root}{d}")))
            .collect();
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        let mut out = std::collections::BTreeSet::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (marker, two_args) in [
                ("invalid(", true),
                ("duplicate(", true),
                ("Invalid(", false),
                ("Conflict(", false),
                ("BadQuery(", false),
                ("message: ", false),
            ] {
                for (at, _) in text.match_indices(marker) {
                    let mut rest = &text[at + marker.len()..];
                    if two_args {
                        // Past the first argument, to the comma at depth 0.
                        let (mut depth, mut quoted, mut comma) = (0_i32, false, None);
                        let mut chars = rest.char_indices();
                        while let Some((i, c)) = chars.next() {
                            match c {
                                '\\' if quoted => {
                                    chars.next();
                                }
                                '"' => quoted = !quoted,
                                '(' | '[' | '{' if !quoted => depth += 1,
                                ')' | ']' | '}' if !quoted => {
                                    if depth == 0 {
                                        break;
                                    }
                                    depth -= 1
                                }
                                ',' if !quoted && depth == 0 => {
                                    comma = Some(i);
                                    break;
                                }
                                _ => {}
                            }
                        }
                        let Some(i) = comma else { continue };
                        rest = &rest[i + 1..];
                    }
                    let rest = rest.trim_start();
                    let rest = rest.strip_prefix("format!(").map(str::trim_start).unwrap_or(rest);
                    let Some(lit) = rest.strip_prefix('"') else { continue };
                    let Some(end) = lit.find('"') else { continue };
                    let mut template = String::new();
                    let mut inside = false;
                    for c in lit[..end].chars() {
                        match c {
                            '{' => inside = true,
                            '}' if inside => {
                                inside = false;
                                template.push_str("{}");
                            }
                            _ if inside => {}
                            _ => template.push(c),
                        }
                    }
                    if template.chars().any(char::is_alphabetic) {
                        out.insert(template);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_message_of_the_services_has_finnish() {
        let messages = service_messages();
        assert!(messages.len() > 80, "the scan found the services' messages: {}", messages.len());
        assert!(messages.contains("is too long (maximum is {} characters)"), "{messages:?}");
        let known: std::collections::BTreeSet<String> = catalogue("messages").into_iter().map(|(k, _)| k).collect();
        let missing: Vec<_> = messages.iter().filter(|m| !known.contains(*m)).collect();
        assert!(missing.is_empty(), "messages without Finnish in locales/messages.fi.toml: {missing:#?}");
    }

    #[test]
    fn the_catalogue_fills_in_values_and_picks_the_right_entry() {
        let entries = catalogue("messages");
        assert!(entries.len() > 80, "the catalogue parsed: {}", entries.len());
        for (english, finnish) in &entries {
            assert_eq!(english.matches("{}").count(), finnish.matches("{}").count(), "{english}");
            assert_ne!(english, finnish, "not translated: {english}");
            // Filled with distinct values, each message comes back as its own Finnish.
            let fill = |t: &str| {
                let mut n = 0;
                t.split("{}")
                    .enumerate()
                    .map(|(i, piece)| {
                        if i == 0 {
                            piece.to_string()
                        } else {
                            n += 1;
                            format!("ä{n}x{piece}")
                        }
                    })
                    .collect::<String>()
            };
            assert_eq!(Lang::Fi.message(&fill(english)), fill(finnish), "{english}");
            assert_eq!(Lang::En.message(&fill(english)), fill(english));
        }
        assert_eq!(
            Lang::Fi.message("is too long (maximum is 150 characters)"),
            "on liian pitkä (enintään 150 merkkiä)"
        );
        assert_eq!(Lang::Fi.message("must be one of: a, b"), "on oltava jokin näistä: a, b");
        assert_eq!(Lang::Fi.message("user 7 is not an agent"), "käyttäjä 7 ei ole asiakaspalvelija");
        // Unknown messages and values that do not fit stay as they are.
        assert_eq!(Lang::Fi.message("something else entirely"), "something else entirely");
        assert_eq!(Lang::Fi.message("user  does not exist"), "user  does not exist");
        // A message that names its field first, and the field named once.
        assert_eq!(Lang::Fi.message("text: cannot be blank"), "Teksti: ei voi olla tyhjä");
        assert_eq!(Lang::Fi.field_message("text", "text: cannot be blank"), "Teksti: ei voi olla tyhjä");
        assert_eq!(Lang::Fi.field_message("text", "cannot be blank"), "Teksti: ei voi olla tyhjä");
        assert_eq!(Lang::En.field_message("text", "text: cannot be blank"), "text: cannot be blank");
        assert_eq!(Lang::Fi.field("html_body"), "Viesti");
        assert_eq!(Lang::Fi.field("unheard_of"), "unheard_of");
        assert_eq!(Lang::En.field("html_body"), "html_body");
    }

    #[test]
    fn every_table_of_the_data_map_and_line_of_a_plan_has_a_label() {
        let empty_plan: Vec<String> = suoja_privacy::erasure::Plan::default().counts().into_keys().collect();
        let names = suoja_privacy::datamap::TABLES
            .iter()
            .map(|t| t.name.to_string())
            .chain(suoja_privacy::erasure::plan::PLAN_LINES.iter().map(|s| s.to_string()))
            .chain(empty_plan);
        let missing: Vec<String> = names.filter(|n| !EN.contains_key(&format!("data.{n}"))).collect();
        assert!(missing.is_empty(), "no label in locales/*.toml [data]: {missing:?}");
        assert_eq!(Lang::Fi.data("tickets.attachments"), "Tiedostot hänen pyynnöissään");
        assert_eq!(Lang::En.data("comments"), "Comments and notes");
        assert_eq!(Lang::Fi.data("not_a_table"), "not_a_table");
    }

    #[test]
    fn languages_come_from_settings_and_browsers() {
        assert_eq!(Lang::from_locale("fi-FI"), Some(Lang::Fi));
        assert_eq!(Lang::from_locale("en-US"), Some(Lang::En));
        assert_eq!(Lang::from_locale("de"), None);
        assert_eq!(Lang::from_accept_language("de-DE,fi;q=0.8,en;q=0.5"), Lang::Fi);
        assert_eq!(Lang::from_accept_language("en-GB,fi;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("sv"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }
}
