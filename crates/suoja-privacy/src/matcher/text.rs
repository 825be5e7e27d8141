//! The text the identifier matcher reads, and its words. Plain text is read as it is; HTML is
//! read as a reader sees it — the text between tags with entities decoded, plus the values of
//! the `href`, `title` and `alt` attributes; JSON (a business rule's definition) as the strings
//! under its `"value"` keys, escapes decoded — and every decoded stretch keeps the source bytes
//! it came from, so a replacement writes over exactly those bytes and never over markup.

use std::borrow::Cow;
use std::ops::Range;

use unicode_normalization::UnicodeNormalization as _;
use unicode_segmentation::UnicodeSegmentation as _;

/// How a text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// Plain text: every byte is text.
    Plain,
    /// HTML: only text nodes and human-readable attribute values are text.
    Html,
    /// JSON (a business rule's definition): only the `value` strings of objects whose `field`
    /// people write in words are text; keys and every other string are structure.
    Json,
}

/// Where a stretch of decoded text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Copied byte for byte from the source starting here.
    Verbatim(usize),
    /// Decoded from an entity occupying this source range.
    Entity(usize, usize),
    /// Put in by the reader (a line break for a block tag); comes from no source bytes.
    Virtual,
}

#[derive(Debug, Clone, Copy)]
struct Piece {
    dec: (usize, usize),
    origin: Origin,
}

/// One flow of decoded text (an HTML document's text, or one attribute value) with the map
/// back to the source.
#[derive(Debug)]
pub(crate) struct Stream<'a> {
    pub(crate) text: Cow<'a, str>,
    pieces: Vec<Piece>,
}

impl Stream<'_> {
    /// The source byte ranges a decoded range covers, merged where they touch; virtual text
    /// (block breaks) and the markup between text nodes are never included.
    pub(crate) fn source_ranges(&self, dec: Range<usize>) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        let first = self.pieces.partition_point(|p| p.dec.1 <= dec.start);
        for p in self.pieces.iter().skip(first) {
            if p.dec.0 >= dec.end {
                break;
            }
            let (s, e) = (dec.start.max(p.dec.0), dec.end.min(p.dec.1));
            let src = match p.origin {
                Origin::Verbatim(at) => (at + (s - p.dec.0))..(at + (e - p.dec.0)),
                Origin::Entity(a, b) => a..b,
                Origin::Virtual => continue,
            };
            match out.last_mut() {
                Some(last) if last.end == src.start => last.end = src.end,
                _ => out.push(src),
            }
        }
        out
    }
}

/// The streams of `src`: for plain text one, borrowing it; for HTML the text flow first, then
/// one stream per readable attribute value.
pub(crate) fn streams(src: &str, markup: Markup) -> Vec<Stream<'_>> {
    match markup {
        Markup::Plain => vec![Stream {
            text: Cow::Borrowed(src),
            pieces: vec![Piece {
                dec: (0, src.len()),
                origin: Origin::Verbatim(0),
            }],
        }],
        Markup::Html => html_streams(src),
        Markup::Json => json_streams(src),
    }
}

/// The text of a JSON document as the matcher reads it: its value strings, one per line.
pub fn json_text(src: &str) -> String {
    json_streams(src).iter().map(|s| s.text.as_ref()).collect::<Vec<_>>().join("\n")
}

/// The `field`s whose `value` people write in words (a rule's reply, subject, tags and field
/// values, a trigger's notification and the words it looks for in comments); ids, statuses
/// and hours are structure and are never read or rewritten.
fn free_text_field(field: &str) -> bool {
    matches!(
        field,
        "comment_value"
            | "comment_value_html"
            | "subject"
            | "current_tags"
            | "tags"
            | "set_tags"
            | "remove_tags"
            | "comment_includes_word"
            | "notification_user"
            | "notification_group"
    ) || field.starts_with("custom_fields_")
}

/// One open container of a JSON document being read.
struct Open<'a> {
    /// An object (or an array).
    object: bool,
    /// The key its values are under (an array's is its parent member's).
    key: Option<String>,
    /// An object's `field`.
    field: Option<String>,
    /// An object's `value` strings, kept until its `field` is known.
    pending: Vec<Stream<'a>>,
}

/// The value strings of a JSON document whose `field` is free text, each its own stream with
/// its escapes decoded (a `\n` is a line break between words, not the letter n). A document
/// that is not JSON yields what was read up to where it stops making sense.
fn json_streams(src: &str) -> Vec<Stream<'_>> {
    let b = src.as_bytes();
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut expect_key = false;
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'{' | b'[' => {
                let object = c == b'{';
                let key = if object { None } else { stack.last().and_then(|s| s.key.clone()) };
                stack.push(Open {
                    object,
                    key,
                    field: None,
                    pending: Vec::new(),
                });
                expect_key = object;
                i += 1;
            }
            b'}' | b']' => {
                if let Some(done) = stack.pop()
                    && done.object
                    && done.field.as_deref().is_some_and(free_text_field)
                {
                    out.extend(done.pending);
                }
                expect_key = false;
                i += 1;
            }
            b',' => {
                expect_key = stack.last().is_some_and(|s| s.object);
                i += 1;
            }
            b':' => {
                expect_key = false;
                i += 1;
            }
            b'"' => {
                let (s, end) = json_string(src, i);
                i = end;
                let key = stack.last().and_then(|o| o.key.clone());
                match stack.last_mut() {
                    Some(o) if o.object && expect_key => o.key = Some(s.text.to_string()),
                    Some(o) if o.object && key.as_deref() == Some("field") => o.field = Some(s.text.to_string()),
                    _ if key.as_deref() == Some("value") => {
                        if let Some(owner) = stack.iter_mut().rev().find(|o| o.object) {
                            owner.pending.push(s);
                        }
                    }
                    _ => {}
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The JSON string literal opening at `start` (a `"`), decoded, and where it ends.
fn json_string(src: &str, start: usize) -> (Stream<'static>, usize) {
    let b = src.as_bytes();
    let mut s = Builder::default();
    let mut j = start + 1;
    let mut run = j;
    while let Some(&c) = b.get(j) {
        match c {
            b'"' => {
                s.verbatim(src.get(run..j).unwrap_or_default(), run);
                return (s.finish(), j + 1);
            }
            b'\\' => {
                s.verbatim(src.get(run..j).unwrap_or_default(), run);
                let (ch, len) = json_escape(src.get(j..).unwrap_or_default());
                s.decoded(ch, j..j + len);
                j += len;
                run = j;
            }
            _ => j += 1,
        }
    }
    s.verbatim(src.get(run..).unwrap_or_default(), run);
    (s.finish(), b.len())
}

/// The character a JSON escape (`\n`, `\u00e9`, a surrogate pair) stands for, and its length.
fn json_escape(s: &str) -> (char, usize) {
    let hex = |at: usize| s.get(at..at + 4).and_then(|h| u32::from_str_radix(h, 16).ok());
    match s.as_bytes().get(1) {
        Some(b'n') => ('\n', 2),
        Some(b't') => ('\t', 2),
        Some(b'r') => ('\r', 2),
        Some(b'b') => ('\u{8}', 2),
        Some(b'f') => ('\u{c}', 2),
        Some(b'u') => match hex(2) {
            Some(hi @ 0xD800..=0xDBFF) if s.get(6..8) == Some("\\u") => match hex(8) {
                Some(lo @ 0xDC00..=0xDFFF) => (char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).unwrap_or(' '), 12),
                _ => (' ', 6),
            },
            Some(u) => (char::from_u32(u).unwrap_or(' '), 6),
            None => (' ', 2),
        },
        Some(&c) if c.is_ascii() => (char::from(c), 2),
        _ => (' ', 1),
    }
}

/// Tags that start a new line for a reader, so words on either side are never one word.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// Attributes whose values people read or that carry contact details.
const TEXT_ATTRIBUTES: &[&str] = &["href", "title", "alt"];

#[derive(Default)]
struct Builder {
    text: String,
    pieces: Vec<Piece>,
}

impl Builder {
    fn verbatim(&mut self, s: &str, at: usize) {
        if s.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(s);
        // Extend the previous piece when it continues in the source.
        if let Some(p) = self.pieces.last_mut()
            && let Origin::Verbatim(prev) = p.origin
            && prev + (p.dec.1 - p.dec.0) == at
            && p.dec.1 == start
        {
            p.dec.1 = self.text.len();
            return;
        }
        self.pieces.push(Piece {
            dec: (start, self.text.len()),
            origin: Origin::Verbatim(at),
        });
    }
    fn decoded(&mut self, c: char, src: Range<usize>) {
        let start = self.text.len();
        self.text.push(c);
        self.pieces.push(Piece {
            dec: (start, self.text.len()),
            origin: Origin::Entity(src.start, src.end),
        });
    }
    fn virtual_break(&mut self) {
        let start = self.text.len();
        self.text.push('\n');
        self.pieces.push(Piece {
            dec: (start, self.text.len()),
            origin: Origin::Virtual,
        });
    }
    /// Decodes `src[range]` (text with entities) onto the stream.
    fn text_with_entities(&mut self, src: &str, range: Range<usize>) {
        let mut i = range.start;
        let mut run = i;
        while i < range.end {
            if src.as_bytes().get(i) == Some(&b'&')
                && let Some((c, len)) = entity(src.get(i..range.end).unwrap_or_default())
            {
                self.verbatim(src.get(run..i).unwrap_or_default(), run);
                self.decoded(c, i..i + len);
                i += len;
                run = i;
                continue;
            }
            i += 1;
        }
        self.verbatim(src.get(run..range.end).unwrap_or_default(), run);
    }
    fn finish(self) -> Stream<'static> {
        Stream {
            text: Cow::Owned(self.text),
            pieces: self.pieces,
        }
    }
}

fn html_streams(src: &str) -> Vec<Stream<'_>> {
    let b = src.as_bytes();
    let mut flow = Builder::default();
    let mut attributes = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        if b.get(i) != Some(&b'<') {
            i += 1;
            continue;
        }
        let rest = src.get(i..).unwrap_or_default();
        let markup_end = if rest.starts_with("<!--") {
            Some(rest.get(4..).and_then(|r| r.find("-->")).map_or(b.len(), |p| i + 4 + p + 3))
        } else if b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?')) {
            Some(tag_end(b, i))
        } else {
            None
        };
        let Some(end) = markup_end else {
            i += 1;
            continue;
        };
        flow.text_with_entities(src, text_start..i);
        let tag = src.get(i..end).unwrap_or_default();
        let name = tag_name(tag);
        if BLOCK_TAGS.contains(&name.as_str()) {
            flow.virtual_break();
        }
        for value in attribute_values(tag, i) {
            let mut a = Builder::default();
            a.text_with_entities(src, value);
            attributes.push(a.finish());
        }
        i = end;
        text_start = end;
    }
    flow.text_with_entities(src, text_start..b.len());
    let mut out = vec![flow.finish()];
    out.extend(attributes);
    out
}

/// The end (exclusive) of the tag starting at `start`, honouring quoted attribute values; the
/// end of the text when the tag never closes (such a tag is markup to the end, as a browser reads it).
fn tag_end(b: &[u8], start: usize) -> usize {
    let mut quote = None;
    let mut i = start + 1;
    while let Some(&c) = b.get(i) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return i + 1,
            None => {}
        }
        i += 1;
    }
    b.len()
}

fn tag_name(tag: &str) -> String {
    tag.trim_start_matches('<')
        .trim_start_matches('/')
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Source ranges of the values of readable attributes in `tag` (which starts at `at`).
fn attribute_values(tag: &str, at: usize) -> Vec<Range<usize>> {
    let b = tag.as_bytes();
    let mut out = Vec::new();
    // Skip `<name`.
    let mut i = 1;
    while b.get(i).is_some_and(|c| !c.is_ascii_whitespace() && *c != b'>' && *c != b'/') {
        i += 1;
    }
    loop {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace() || *c == b'/') {
            i += 1;
        }
        let name_start = i;
        while b.get(i).is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b'=' | b'>' | b'/')) {
            i += 1;
        }
        if i == name_start {
            return out;
        }
        let name = tag.get(name_start..i).unwrap_or_default().to_ascii_lowercase();
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let (start, end) = match b.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => {
                let s = i + 1;
                let e = b.iter().skip(s).position(|c| *c == q).map_or(b.len(), |p| s + p);
                i = (e + 1).min(b.len());
                (s, e)
            }
            _ => {
                let s = i;
                while b.get(i).is_some_and(|c| !c.is_ascii_whitespace() && *c != b'>') {
                    i += 1;
                }
                (s, i)
            }
        };
        if TEXT_ATTRIBUTES.contains(&name.as_str()) && start < end {
            out.push(at + start..at + end);
        }
    }
}

/// The character an entity at the start of `s` stands for, and the entity's length.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s.as_bytes().iter().take(12).position(|b| *b == b';')?;
    let body = s.get(1..end)?;
    let c = if let Some(num) = body.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        char::from_u32(n)?
    } else {
        match body {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            "auml" => 'ä',
            "Auml" => 'Ä',
            "ouml" => 'ö',
            "Ouml" => 'Ö',
            "aring" => 'å',
            "Aring" => 'Å',
            "uuml" => 'ü',
            "Uuml" => 'Ü',
            "eacute" => 'é',
            "Eacute" => 'É',
            "szlig" => 'ß',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

/// A word of a stream: its decoded byte range and its normalised form in the arena.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Word {
    pub(crate) start: usize,
    pub(crate) end: usize,
    key: (usize, usize),
}

/// The words of a text (UAX #29 word boundaries, segments holding a letter or digit), each with
/// its normalised form; a trailing possessive `'s` is not part of the word it follows.
pub(crate) struct Words {
    pub(crate) list: Vec<Word>,
    arena: String,
}

impl Words {
    pub(crate) fn of(text: &str) -> Self {
        let mut list = Vec::new();
        let mut arena = String::with_capacity(text.len());
        for (at, seg) in text.split_word_bound_indices() {
            if !seg.chars().any(char::is_alphanumeric) {
                continue;
            }
            let seg = possessive_stem(seg);
            let k0 = arena.len();
            fold_into(seg, &mut arena);
            list.push(Word {
                start: at,
                end: at + seg.len(),
                key: (k0, arena.len()),
            });
        }
        Words { list, arena }
    }
    pub(crate) fn key(&self, w: &Word) -> &str {
        self.arena.get(w.key.0..w.key.1).unwrap_or_default()
    }
}

fn possessive_stem(seg: &str) -> &str {
    for suffix in ["'s", "'S", "\u{2019}s", "\u{2019}S"] {
        if let Some(stem) = seg.strip_suffix(suffix)
            && stem.chars().any(char::is_alphanumeric)
        {
            return stem;
        }
    }
    seg
}

/// Unicode NFKC followed by full case folding (ASCII takes the short road).
pub(crate) fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        let n: String = s.nfkc().collect();
        out.push_str(&caseless::default_case_fold_str(&n));
    }
}

/// `s` normalised as words are.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// The keys of the words of `s`, in order.
pub(crate) fn word_keys(s: &str) -> Vec<String> {
    let w = Words::of(s);
    w.list.iter().map(|x| w.key(x).to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(src: &str) -> String {
        streams(src, Markup::Html).first().map(|s| s.text.to_string()).unwrap_or_default()
    }

    #[test]
    fn html_text_is_what_a_reader_sees() {
        assert_eq!(text_of("<p>Hei <b>Äijä</b> &amp; J&ouml;rg</p>"), "\nHei Äijä & Jörg\n");
        assert_eq!(text_of("a<!-- Ann -->b"), "ab");
        assert_eq!(text_of("x < y and <3"), "x < y and <3");
        assert_eq!(text_of("<a href=\"mailto:ann@x.fi\" class='ann'>mail</a>"), "mail");
        let s = streams("<a href=\"mailto:ann@x.fi\" class='ann' title=Ann>mail</a>", Markup::Html);
        let attrs: Vec<&str> = s.iter().skip(1).map(|s| s.text.as_ref()).collect();
        assert_eq!(attrs, vec!["mailto:ann@x.fi", "Ann"]);
        assert_eq!(text_of("<b unterminated title='Ann"), "");
    }

    #[test]
    fn decoded_ranges_map_back_to_the_source() {
        let src = "<p>J&ouml;rg <i>Ek</i></p>";
        let s = streams(src, Markup::Html);
        let flow = &s[0];
        let at = flow.text.find("Jörg").unwrap();
        let ranges = flow.source_ranges(at..at + "Jörg Ek".len());
        let pieces: Vec<&str> = ranges.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(pieces, vec!["J&ouml;rg ", "Ek"]);
    }

    #[test]
    fn words_are_whole_and_folded() {
        let w = Words::of("Ted started; ÄIJÄ Öljynen's ﬁle, Straße 2.5");
        let keys: Vec<&str> = w.list.iter().map(|x| w.key(x)).collect();
        assert_eq!(keys, vec!["ted", "started", "äijä", "öljynen", "file", "strasse", "2.5"]);
    }
}
