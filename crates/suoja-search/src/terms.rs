//! Index terms: lower-cased words of letters and digits (Unicode aware), plus every whole
//! e-mail address and phone number as a term of its own, so `requester:a@b.c` and a search for
//! an address both match exactly.

/// Longest term kept; longer runs are cut (a hash of the cut term is still exact for equality).
const MAX_TERM: usize = 64;

/// The distinct terms of `text`, normalised for indexing and for querying alike.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split_whitespace() {
        let trimmed = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '+');
        if trimmed.contains('@') && trimmed.contains('.') {
            out.push(trimmed.to_lowercase());
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 6 && trimmed.chars().all(|c| c.is_ascii_digit() || "+-(). ".contains(c)) {
            out.push(digits);
        }
    }
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
        assert!(terms("").is_empty());
        assert_eq!(terms("Äiti äiti ÄITI"), vec!["äiti".to_string()]);
    }
}
