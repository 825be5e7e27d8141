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
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                word.push(l);
            }
        } else if !word.is_empty() {
            push_word(&mut out, &mut word);
        }
    }
    if !word.is_empty() {
        push_word(&mut out, &mut word);
    }
    out.sort();
    out.dedup();
    out
}

/// Only the e-mail addresses and phone numbers of `text`, normalised as [`terms`] does (cheaper
/// than [`terms`] when words are not wanted).
pub fn contact_terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    push_contacts(&mut out, text);
    out.sort();
    out.dedup();
    out
}

fn push_contacts(out: &mut Vec<String>, text: &str) {
    // A phone number written in groups (`+358 40 123 4567`) is one term: its digits.
    let mut run = String::new();
    for raw in text.split_whitespace() {
        let trimmed = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '+');
        if trimmed.contains('@') && trimmed.contains('.') {
            out.push(trimmed.to_lowercase());
        }
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
    let cut: String = word.chars().take(MAX_TERM).collect();
    out.push(cut);
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
    }
}
