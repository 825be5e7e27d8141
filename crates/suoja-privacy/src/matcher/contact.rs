//! E-mail addresses and phone numbers in text, found whole: an address is the longest run of
//! address characters around an `@` (so `xann@…` is not `ann@…`; the rule is the search
//! index's, `suoja_search::email_spans`, so both agree on every address), a number is a run of digit
//! groups not glued to letters, compared by its digits in every form a person writes it
//! (`+358 40 123 4567`, `040-1234567`, `(040) 123 4567`).

use std::ops::Range;

/// Every e-mail address in `text` (read whole, as the search index reads them): its byte
/// range and its normalised form.
pub(crate) fn emails(text: &str) -> Vec<(Range<usize>, String)> {
    suoja_search::email_spans(text)
        .into_iter()
        .map(|r| {
            let key = super::text::fold(text.get(r.clone()).unwrap_or_default());
            (r, key)
        })
        .collect()
}

/// The normalised form of an e-mail address given as an identifier, if it is one.
pub(crate) fn email_key(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_start_matches("mailto:");
    let found = emails(raw);
    match found.as_slice() {
        [(r, key)] if r.start == 0 && r.end == raw.len() => Some(key.clone()),
        _ => None,
    }
}

/// Digits a phone number needs (without a country code or trunk prefix) to be one.
const MIN_DIGITS: usize = 7;
/// Most digits a number has (E.164 allows 15; a longer run is not one number).
const MAX_DIGITS: usize = 17;

/// The forms a number can be written in, as digit strings: an international number
/// (`+358401234567`) is also written nationally with a trunk `0` after a country code of one to
/// three digits (`0401234567`); a national one only as it is.
pub(crate) fn phone_forms(digits: &str, international: bool) -> Vec<String> {
    let (digits, international) = match digits.strip_prefix("00") {
        Some(rest) => (rest, true),
        None => (digits, international),
    };
    if digits.len() < MIN_DIGITS || digits.len() > MAX_DIGITS {
        return Vec::new();
    }
    if !international {
        return vec![digits.to_string()];
    }
    let mut out = vec![format!("+{digits}")];
    for cc in 1..=3 {
        if let Some(national) = digits.get(cc..).filter(|n| n.len() >= MIN_DIGITS - 1) {
            out.push(format!("0{national}"));
        }
    }
    out
}

/// The forms of a phone number given as an identifier (empty when it holds too few digits).
pub(crate) fn phone_key_forms(raw: &str) -> Vec<String> {
    let t = raw.trim();
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    phone_forms(&digits, t.starts_with('+'))
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}')
}

/// A run of digit groups that could be one or more phone numbers.
struct Run {
    groups: Vec<Range<usize>>,
    international: bool,
}

/// Phone numbers in `text` whose forms satisfy `known`: the byte range of each (with a leading
/// `+` or `(`), longest first from each position, never overlapping.
pub(crate) fn phones(text: &str, known: impl Fn(&str) -> bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for run in runs(text) {
        let mut i = 0;
        while i < run.groups.len() {
            let mut digits = String::new();
            let mut best = None;
            for (j, g) in run.groups.iter().enumerate().skip(i) {
                digits.push_str(text.get(g.clone()).unwrap_or_default());
                if digits.len() > MAX_DIGITS + 2 {
                    break;
                }
                if phone_forms(&digits, i == 0 && run.international).iter().any(|f| known(f)) {
                    best = Some(j);
                }
            }
            let Some(j) = best else {
                i += 1;
                continue;
            };
            let (Some(first), Some(last)) = (run.groups.get(i), run.groups.get(j)) else {
                break;
            };
            let mut start = first.start;
            let prefix = text.get(..start).unwrap_or_default();
            if (i == 0 && run.international) || prefix.ends_with('(') {
                start -= 1;
            }
            let mut end = last.end;
            if text.get(end..).is_some_and(|r| r.starts_with(')')) && text.get(first.start..end).is_some_and(|s| s.contains('(')) {
                end += 1;
            }
            out.push(start..end);
            i = j + 1;
        }
    }
    out
}

/// Runs of digit groups separated by at most three separator characters, none glued to a
/// letter (so `ab123` and `123ab` are words, not numbers).
fn runs(text: &str) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut glued = false;
    let mut cur: Option<Run> = None;
    // Maximal digit groups, and whether a letter touches them.
    let mut start = None;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            if start.is_none() {
                start = Some(i);
                glued = prev.is_some_and(|p| p.is_alphanumeric() && !p.is_ascii_digit());
            }
        } else if let Some(s) = start.take()
            && !glued
            && !c.is_alphanumeric()
        {
            groups.push(s..i);
        }
        prev = Some(c);
    }
    if let Some(s) = start
        && !glued
    {
        groups.push(s..text.len());
    }
    for g in groups {
        let joined = cur.as_ref().and_then(|r| r.groups.last()).is_some_and(|last| {
            let gap = text.get(last.end..g.start).unwrap_or_default();
            gap.chars().count() <= 3 && gap.chars().all(is_separator)
        });
        if joined {
            if let Some(r) = cur.as_mut() {
                r.groups.push(g);
            }
            continue;
        }
        if let Some(r) = cur.take() {
            out.push(r);
        }
        let international = text.get(..g.start).is_some_and(|p| p.ends_with('+'));
        cur = Some(Run {
            groups: vec![g],
            international,
        });
    }
    out.extend(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_whole() {
        let text = "Mail ANN@Example.com, <ann@example.com> or mailto:ann@example.com. Not xann@example.com or ann@example.com.au.";
        let found: Vec<&str> = emails(text).into_iter().map(|(r, _)| &text[r]).collect();
        assert_eq!(
            found,
            vec![
                "ANN@Example.com",
                "ann@example.com",
                "ann@example.com",
                "xann@example.com",
                "ann@example.com.au"
            ]
        );
        assert_eq!(email_key(" Ann@Example.COM "), Some("ann@example.com".into()));
        assert_eq!(email_key("not an address"), None);
        assert_eq!(email_key("a@b c@d"), None);
    }

    #[test]
    fn one_number_in_every_form() {
        let known: Vec<String> = phone_key_forms("+358 40 123 4567");
        let is = |f: &str| known.iter().any(|k| k == f);
        for text in ["+358 40 123 4567", "040-1234567", "(040) 123 4567", "00358401234567", "+358401234567"] {
            let found = phones(text, is);
            assert_eq!(found, vec![0..text.len()], "{text}");
        }
        let text = "Call 040 123 4567 or 040 765 4321, order 1040-1234567x, ab0401234567";
        let found: Vec<&str> = phones(text, is).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, vec!["040 123 4567"]);
        // A national identifier matches the international spelling too.
        let known = phone_key_forms("040-123 4567");
        let found = phones("soita +358 40 123 4567", |f| known.iter().any(|k| k == f));
        assert_eq!(found, vec![6..22]);
        assert!(phone_key_forms("n/a").is_empty());
        assert!(phone_key_forms("12 34").is_empty());
    }
}
