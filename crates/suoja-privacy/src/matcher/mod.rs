//! The identifier matcher: the one place that finds a person in free text. Exports (the
//! person's mentions, other people's placeholders), the subject graph, erasure plans and runs,
//! the retention erasures and the redaction of identifiers all ask it, and nothing else matches
//! identifiers in text.
//!
//! Text and identifiers are normalised alike (Unicode NFKC and case folding) and text is split
//! at Unicode word boundaries (UAX #29), so a match is always whole words — "Ann" is never found
//! in "channel" — and HTML is matched on its text, never its markup. Matches are sorted into
//! classes: an **e-mail** address, a **phone** number (by its digits, in any common spelling) and
//! a **full name** (all of a person's name words in order, at least two) are *strong*; a single
//! name word or the bare local part of an address is *weak*. Callers act on strong matches and
//! let a person review weak ones. Replacement is one left-to-right pass over non-overlapping
//! matches writing a new string, so a replacement is never matched again, and the time is linear
//! in the text.

mod contact;
mod text;

use std::collections::HashMap;
use std::ops::Range;

pub use text::{Markup, json_text};
use text::{Words, streams};

/// How strongly a match identifies a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Their e-mail address.
    Email,
    /// Their phone number.
    Phone,
    /// All their name words, in order (two or more).
    FullName,
    /// One of their name words, a one-word name, or the local part of their address.
    Weak,
}

impl Class {
    /// E-mail, phone and full name identify a person; a weak match needs a person's review.
    pub fn is_strong(self) -> bool {
        self != Class::Weak
    }
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Email => "email",
            Class::Phone => "phone",
            Class::FullName => "full_name",
            Class::Weak => "weak",
        }
    }
}

/// Longest name (in words) matched as a full name; a longer "name" is a sentence, matched only
/// word by word (weakly).
const MAX_NAME_WORDS: usize = 6;
/// Distinct weak words kept per person (a name that is a whole paragraph has no more).
const MAX_WEAK_WORDS: usize = 24;

/// A person's identifiers as the matcher uses them.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    name: Vec<String>,
    email: Option<String>,
    local: Vec<String>,
    phones: Vec<String>,
}

impl Identity {
    /// From a person's name, e-mail address and phone number as stored (any may be empty or
    /// malformed: what is not usable is left out).
    pub fn new(name: &str, email: Option<&str>, phone: Option<&str>) -> Self {
        let email = email.and_then(contact::email_key);
        let local = email
            .as_deref()
            .and_then(|e| e.split_once('@'))
            .map(|(l, _)| text::word_keys(l))
            .unwrap_or_default();
        Identity {
            name: text::word_keys(name),
            email,
            local,
            phones: phone.map(contact::phone_key_forms).unwrap_or_default(),
        }
    }

    /// Whether this identity could match anything at all.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.email.is_none() && self.phones.is_empty()
    }

    /// The normalised words of the name.
    pub fn name_words(&self) -> &[String] {
        &self.name
    }

    /// Every spelling of the phone number, as digit strings (`+358…`, `0…`).
    pub fn phone_forms(&self) -> &[String] {
        &self.phones
    }

    /// The address, normalised.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// This identity without its name (for a person whose name is also someone else's).
    pub fn without_name(mut self) -> Self {
        self.name.clear();
        self.local.clear();
        self
    }

    /// Whether `other` has this person's full name (or the one word that is their whole name).
    pub fn same_name(&self, other: &Identity) -> bool {
        !self.name.is_empty() && self.name == other.name
    }
}

/// One match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Byte range in the source text, from the first matched byte to the last (in HTML it may
    /// enclose markup, which a replacement leaves in place).
    pub span: Range<usize>,
    /// Its class.
    pub class: Class,
    /// Which person of the matcher (their index).
    pub person: usize,
    /// Whether it is the person's whole name (a one-word name is weak, yet all of it).
    pub whole_name: bool,
    /// The source byte ranges that hold the matched text.
    cuts: Vec<Range<usize>>,
}

#[derive(Debug, Clone)]
struct Pattern {
    words: Vec<String>,
    class: Class,
    person: usize,
    whole_name: bool,
}

/// A matcher for one or more people.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    by_first_word: HashMap<String, Vec<usize>>,
    emails: HashMap<String, usize>,
    phones: HashMap<String, usize>,
    /// The words a name pattern can start with, to rule out ASCII text before segmenting it
    /// (`None` when a word is not ASCII: then every text is segmented).
    first_words: Option<aho_corasick::AhoCorasick>,
}

impl Matcher {
    /// A matcher for `people`; where two share an identifier the first one listed gets the match.
    pub fn new(people: &[Identity]) -> Self {
        let mut m = Matcher::default();
        for (person, id) in people.iter().enumerate() {
            if let Some(e) = &id.email {
                m.emails.entry(e.clone()).or_insert(person);
            }
            for f in &id.phones {
                m.phones.entry(f.clone()).or_insert(person);
            }
            let n = id.name.len();
            if (2..=MAX_NAME_WORDS).contains(&n) {
                m.add(id.name.clone(), Class::FullName, person, true);
            }
            let mut weak: Vec<&String> = Vec::new();
            for w in id.name.iter().chain(&id.local) {
                if !weak.contains(&w) && weak.len() < MAX_WEAK_WORDS {
                    weak.push(w);
                }
            }
            for w in weak {
                m.add(vec![w.clone()], Class::Weak, person, n == 1);
            }
            if id.local.len() > 1 && id.local.len() <= MAX_NAME_WORDS && id.local != id.name {
                m.add(id.local.clone(), Class::Weak, person, false);
            }
        }
        if m.by_first_word.keys().all(|k| k.is_ascii()) {
            m.first_words = aho_corasick::AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(m.by_first_word.keys())
                .ok();
        }
        m
    }

    /// Whether decoded text `src` can hold a match at all. For ASCII text, normalising changes
    /// nothing but case, so a text holding none of the words a name starts with (in any case),
    /// no `@` and no digit holds no match; anything else is looked at in full.
    fn could_match(&self, src: &str) -> bool {
        if !src.is_ascii() {
            return true;
        }
        if !self.emails.is_empty() && src.contains('@') {
            return true;
        }
        if !self.phones.is_empty() && src.bytes().any(|b| b.is_ascii_digit()) {
            return true;
        }
        !self.patterns.is_empty() && self.first_words.as_ref().is_none_or(|a| a.is_match(src))
    }

    /// A matcher for one person.
    pub fn one(person: &Identity) -> Self {
        Self::new(std::slice::from_ref(person))
    }

    fn add(&mut self, words: Vec<String>, class: Class, person: usize, whole_name: bool) {
        let Some(first) = words.first().cloned() else { return };
        if self.patterns.iter().any(|p| p.person == person && p.class == class && p.words == words) {
            return;
        }
        self.by_first_word.entry(first).or_default().push(self.patterns.len());
        self.patterns.push(Pattern {
            words,
            class,
            person,
            whole_name,
        });
    }

    /// Whether it can match anything.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.emails.is_empty() && self.phones.is_empty()
    }

    /// Every match in `src`, in source order, none overlapping: strong matches first claim their
    /// text, then weak ones fill what is left; from one position the longest wins.
    pub fn find(&self, src: &str, markup: Markup) -> Vec<Hit> {
        let mut out = Vec::new();
        if self.is_empty() || src.is_empty() {
            return out;
        }
        for stream in streams(src, markup) {
            let t: &str = &stream.text;
            if !self.could_match(t) {
                continue;
            }
            let mut found: Vec<Found> = Vec::new();
            if !self.emails.is_empty() {
                for (r, key) in contact::emails(t) {
                    if let Some(p) = self.emails.get(&key) {
                        found.push((r, Class::Email, *p, false));
                    }
                }
            }
            if !self.phones.is_empty() {
                for r in contact::phones(t, |f| self.phones.contains_key(f)) {
                    let digits: String = t.get(r.clone()).unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
                    let intl = t.get(r.clone()).is_some_and(|s| s.starts_with('+'));
                    if let Some(p) = contact::phone_forms(&digits, intl).iter().find_map(|f| self.phones.get(f)) {
                        found.push((r, Class::Phone, *p, false));
                    }
                }
            }
            if !self.patterns.is_empty() {
                let words = Words::of(t);
                for (i, w) in words.list.iter().enumerate() {
                    let Some(cands) = self.by_first_word.get(words.key(w)) else { continue };
                    for &pi in cands {
                        let Some(p) = self.patterns.get(pi) else { continue };
                        if let Some(end) = sequence_end(t, &words, i, &p.words) {
                            found.push((w.start..end, p.class, p.person, p.whole_name));
                        }
                    }
                }
            }
            for (r, class, person, whole_name) in resolve(found) {
                let cuts = stream.source_ranges(r);
                let (Some(first), Some(last)) = (cuts.first(), cuts.last()) else { continue };
                out.push(Hit {
                    span: first.start..last.end,
                    class,
                    person,
                    whole_name,
                    cuts,
                });
            }
        }
        out.sort_by_key(|h| h.span.start);
        out
    }

    /// `src` with the matches `with` gives a replacement for replaced (in HTML the replacement
    /// is escaped and markup inside a match stays). One pass: what is written is never read
    /// again. Returns the new text and how many matches were replaced, or `None` if none were.
    pub fn replace(&self, src: &str, markup: Markup, with: impl Fn(&Hit) -> Option<String>) -> Option<(String, usize)> {
        replace_hits(src, markup, &self.find(src, markup), with)
    }
}

/// `src` with the given hits (from [`Matcher::find`] on the same text) replaced where `with`
/// says so.
pub fn replace_hits(src: &str, markup: Markup, hits: &[Hit], with: impl Fn(&Hit) -> Option<String>) -> Option<(String, usize)> {
    let mut cuts: Vec<(Range<usize>, Option<String>)> = Vec::new();
    let mut n = 0;
    for h in hits {
        let Some(rep) = with(h) else { continue };
        n += 1;
        let rep = match markup {
            Markup::Plain => rep,
            Markup::Html => escape_html(&rep),
            // Written inside a JSON string: quoted as JSON quotes it, less the quotes.
            Markup::Json => {
                let quoted = serde_json::Value::String(rep).to_string();
                quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_string()
            }
        };
        for (k, c) in h.cuts.iter().enumerate() {
            cuts.push((c.clone(), (k == 0).then(|| rep.clone())));
        }
    }
    if n == 0 {
        return None;
    }
    cuts.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for (r, rep) in cuts {
        if r.start < at {
            continue;
        }
        out.push_str(src.get(at..r.start).unwrap_or_default());
        if let Some(rep) = rep {
            out.push_str(&rep);
        }
        at = r.end;
    }
    out.push_str(src.get(at..).unwrap_or_default());
    Some((out, n))
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where a sequence of words starting at word `i` ends (a byte offset), if the following words
/// are `pattern` and only spaces or hyphens lie between them.
fn sequence_end(t: &str, words: &Words, i: usize, pattern: &[String]) -> Option<usize> {
    let mut end = 0;
    for (k, want) in pattern.iter().enumerate() {
        let w = words.list.get(i + k)?;
        if words.key(w) != want {
            return None;
        }
        if k > 0 {
            let gap = t.get(end..w.start)?;
            if gap.is_empty() && !joined_script(t, end) {
                return None;
            }
            if !gap.chars().all(|c| c.is_whitespace() || matches!(c, '-' | '\u{2010}' | '\u{2011}')) {
                return None;
            }
        }
        end = w.end;
    }
    Some(end)
}

/// Whether words meet without a gap because the script writes no spaces (each Han, Hiragana
/// or Katakana character is a word of its own).
fn joined_script(t: &str, at: usize) -> bool {
    t.get(at..)
        .and_then(|s| s.chars().next())
        .is_some_and(|c| matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF))
}

type Found = (Range<usize>, Class, usize, bool);

/// Chooses non-overlapping matches: strong ones claim their text first, then weak ones fill
/// what is left; from one start the longest wins. Sorting and two sweeps: linear after the sort.
fn resolve(found: Vec<Found>) -> Vec<Found> {
    let key = |(r, class, person, _): &Found| (r.start, std::cmp::Reverse(r.end), *class, *person);
    let (mut strong, mut weak): (Vec<Found>, Vec<Found>) = found.into_iter().partition(|f| f.1.is_strong());
    strong.sort_by_key(key);
    weak.sort_by_key(key);
    let mut chosen: Vec<Found> = Vec::with_capacity(strong.len());
    let mut end = 0;
    for f in strong {
        if f.0.start >= end {
            end = f.0.end;
            chosen.push(f);
        }
    }
    let mut kept = Vec::new();
    let (mut si, mut end) = (0, 0);
    for f in weak {
        while chosen.get(si).is_some_and(|s| s.0.end <= f.0.start) {
            si += 1;
        }
        let under_strong = chosen.get(si).is_some_and(|s| s.0.start < f.0.end);
        if !under_strong && f.0.start >= end {
            end = f.0.end;
            kept.push(f);
        }
    }
    chosen.extend(kept);
    chosen.sort_by_key(|c| c.0.start);
    chosen
}

/// The sentences of plain `text` that hold a hit, as byte ranges (a match spanning sentences
/// takes them all), merged where they touch.
pub fn passages(text: &str, hits: &[Hit]) -> Vec<Range<usize>> {
    use unicode_segmentation::UnicodeSegmentation as _;
    let sentences: Vec<Range<usize>> = text.split_sentence_bound_indices().map(|(i, s)| i..i + s.len()).collect();
    let mut out: Vec<Range<usize>> = Vec::new();
    for h in hits {
        for s in sentences.iter().filter(|s| s.start < h.span.end && h.span.start < s.end) {
            match out.last_mut() {
                Some(last) if last.end >= s.start => last.end = last.end.max(s.end),
                _ => out.push(s.clone()),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
