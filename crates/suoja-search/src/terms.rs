//! Index terms: lower-cased words of letters and digits (Unicode aware), plus every whole
//! e-mail address and phone number as a term of its own, so `requester:a@b.c` and a search for
//! an address both match exactly.

/// Longest term kept; longer runs are cut (a hash of the cut term is still exact for equality).
const MAX_TERM: usize = 64;

/// The distinct terms of `text`, normalised for indexing and for querying alike.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    push_contacts(&mut out, text);
    let mut word = String::new();
    for c in text.chars() {
        // ASCII (most of most text) tested and lowercased directly; the same outcome either way.
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                word.push(c.to_ascii_lowercase());
                continue;
            }
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            push_word(&mut out, &mut word);
        }
    }
    if !word.is_empty() {
        push_word(&mut out, &mut word);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Only the e-mail addresses and phone numbers of `text`, normalised as [`terms`] does (cheaper
/// than [`terms`] when words are not wanted).
pub fn contact_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    push_contacts(&mut out, text);
    out.sort_unstable();
    out.dedup();
    out
}

fn is_local(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// The byte ranges of the e-mail addresses in `text`: around each `@`, the longest run of
/// address characters (so `xann@…` is one address, not `ann@…` inside another), without the
/// sentence punctuation that can end or open one. The index and the privacy engine's
/// identifier matcher both read addresses this way, so a search for an address and an erasure
/// of it agree on where it is.
pub fn email_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices('@') {
        let before = text.get(..at).unwrap_or_default();
        let mut start = at;
        for (i, c) in before.char_indices().rev() {
            if !is_local(c) {
                break;
            }
            start = i;
        }
        let after = text.get(at + 1..).unwrap_or_default();
        let mut end = at + 1;
        for (i, c) in after.char_indices() {
            if !is_domain(c) {
                break;
            }
            end = at + 1 + i + c.len_utf8();
        }
        let local = text.get(start..at).unwrap_or_default();
        let start = start + (local.len() - local.trim_start_matches('.').len());
        let domain = text.get(at + 1..end).unwrap_or_default();
        let end = at + 1 + domain.trim_end_matches(['.', '-']).len();
        if start < at && end > at + 1 {
            out.push(start..end);
        }
    }
    out
}

fn push_contacts(out: &mut Vec<String>, text: &str) {
    for r in email_spans(text) {
        if let Some(e) = text.get(r).filter(|e| e.contains('.')) {
            out.push(e.to_lowercase());
        }
    }
    // A phone number written in groups (`+358 40 123 4567`) is one term: its digits.
    let mut run = String::new();
    for raw in text.split_whitespace() {
        let trimmed = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '+');
        let phoneish = !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit() || "+-().".contains(c)) && trimmed.chars().any(|c| c.is_ascii_digit());
        if !phoneish {
            push_phone(out, &mut run);
            continue;
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 6 {
            out.push(digits.clone());
        }
        if run.len() + digits.len() > 15 {
            push_phone(out, &mut run);
        }
        run.push_str(&digits);
    }
    push_phone(out, &mut run);
}

fn push_phone(out: &mut Vec<String>, run: &mut String) {
    if run.len() >= 7 {
        out.push(run.clone());
    }
    run.clear();
}

fn push_word(out: &mut Vec<String>, word: &mut String) {
    // At most MAX_TERM bytes is at most MAX_TERM characters: nothing to cut.
    if word.len() <= MAX_TERM {
        out.push(word.clone());
    } else {
        out.push(word.chars().take(MAX_TERM).collect());
    }
    word.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_emails_phones() {
        let t = terms("Hello Zoë, mail ME at Zoe.K@Example.com or +358 40-123 4567!");
        for want in [
            "hello",
            "zoë",
            "mail",
            "me",
            "zoe",
            "k",
            "example",
            "com",
            "zoe.k@example.com",
            "358",
            "40",
            "123",
            "4567",
        ] {
            assert!(t.contains(&want.to_string()), "{want} in {t:?}");
        }
        assert!(t.contains(&"358401234567".to_string()), "a grouped phone number is one term: {t:?}");
        assert!(terms("soita +358 44 999 8888 kiitos").contains(&"358449998888".to_string()));
        assert!(terms("").is_empty());
        assert_eq!(terms("Äiti äiti ÄITI"), vec!["äiti".to_string()]);
        // An address is read whole: the index never holds one address inside another.
        let t = contact_terms("_ann@x.fi, mailto:bo@y.fi <cy@z.fi>. ann@x.fi.au");
        assert_eq!(t, vec!["_ann@x.fi", "ann@x.fi.au", "bo@y.fi", "cy@z.fi"]);
    }

    /// Words read one character at a time through the Unicode tables, cut to `MAX_TERM`
    /// characters: what the index's words are, however `terms` gets there.
    fn words_by_the_tables(text: &str) -> Vec<String> {
        let mut out: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.chars().flat_map(char::to_lowercase).take(MAX_TERM).collect())
            .collect();
        push_contacts(&mut out, text);
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn words_are_the_same_on_the_ascii_path_and_off_it() {
        let long_ascii = "a".repeat(70);
        let long_wide = "ä".repeat(70);
        let mixed = format!("x{}", "Ö".repeat(63));
        let every_ascii: String = (0u8..128).map(char::from).collect();
        for text in [
            "Hello Zoë, İstanbul ǅemal ΣΊΣΥΦΟΣ straße ÅSA-Åsa 42nd ½ ٣ 東京 ẞ",
            "started Ted TED ted. <b>Ted</b>&nbsp;Åke",
            long_ascii.as_str(),
            long_wide.as_str(),
            mixed.as_str(),
            every_ascii.as_str(),
            "",
            "\u{0}\t\n  ",
        ] {
            assert_eq!(terms(text), words_by_the_tables(text), "{text}");
        }
        assert_eq!(terms(&long_wide), vec!["ä".repeat(MAX_TERM)]);
    }
}
