//! Languages of the web interface: English and Finnish, every string in `locales/<lang>.toml`
//! (flat `key = "text"` tables). A missing key shows as the key itself; a test fails when a key
//! exists in one language only.

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
