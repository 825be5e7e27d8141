//! The byte-level canary scan behind `suoja verify erasure` (A17-03): every file under the
//! given paths is searched for every canary value in every encoding a copy of it could take —
//! UTF-8 as written, lower and upper case, UTF-16 LE and BE, base64 at the three byte
//! alignments, URL encoding, HTML entities, JSON escapes, quoted-printable, and for e-mail
//! addresses the MD5 and SHA-256 of the lower-cased address (hex and raw). Hits name the file,
//! the offset, the canary's label and the encoding — never the value.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use md5::Md5;
use sha2::{Digest as _, Sha256};

/// A value to look for.
#[derive(Debug, Clone)]
pub struct Canary {
    /// How hits name it.
    pub label: String,
    /// The value (personal data; never printed).
    pub value: String,
    /// Raw bytes to look for exactly instead of the value's encodings: key material and keyed
    /// hashes, which have no text form.
    pub bytes: Option<Vec<u8>>,
}

impl Canary {
    /// A text value, looked for in every encoding.
    pub fn text(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
            bytes: None,
        }
    }
    /// Raw bytes, looked for as they are.
    pub fn raw(label: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self {
            label: label.into(),
            value: String::new(),
            bytes: Some(bytes),
        }
    }
}

/// One place a canary was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// The file.
    pub path: PathBuf,
    /// Byte offset in the file.
    pub offset: u64,
    /// The canary's label.
    pub canary: String,
    /// The encoding it was found in.
    pub encoding: &'static str,
}

/// What a scan read and found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Files read.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Every hit.
    pub hits: Vec<Hit>,
}

fn base64_aligned(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for k in 0..3_usize {
        let mut buf = vec![0u8; k];
        buf.extend_from_slice(value);
        let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&buf);
        // Characters that depend on the prefix or on what follows the value are left out.
        let skip = [0, 2, 3].get(k).copied().unwrap_or(0);
        let end = enc.len().saturating_sub(3);
        if end > skip + 4 {
            out.push(enc.as_bytes().get(skip..end).unwrap_or_default().to_vec());
        }
    }
    out
}

/// What form encoders that leave punctuation alone still escape.
const LENIENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b' ').add(b'@').add(b'+').add(b'&').add(b'<').add(b'>');

fn url_encoded(value: &str) -> Vec<Vec<u8>> {
    let strict = percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string();
    let form = strict.replace("%20", "+");
    let lenient: String = percent_encoding::utf8_percent_encode(value, LENIENT).to_string();
    vec![strict.into_bytes(), form.into_bytes(), lenient.into_bytes()]
}

fn html_entities(value: &str) -> Vec<Vec<u8>> {
    let mut named = String::new();
    let mut numeric = String::new();
    for c in value.chars() {
        match c {
            '&' => named.push_str("&amp;"),
            '<' => named.push_str("&lt;"),
            '>' => named.push_str("&gt;"),
            '"' => named.push_str("&quot;"),
            '\'' => named.push_str("&#39;"),
            c => named.push(c),
        }
        if c.is_ascii_alphanumeric() || c == ' ' {
            numeric.push(c);
        } else {
            numeric.push_str(&format!("&#{};", u32::from(c)));
        }
    }
    vec![named.into_bytes(), numeric.into_bytes()]
}

fn json_escaped(value: &str) -> Vec<Vec<u8>> {
    let plain = serde_json::to_string(value).unwrap_or_default();
    let plain = plain.trim_matches('"').to_string();
    let mut ascii = String::new();
    for c in value.chars() {
        if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' && c != '/' {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    let slashed = plain.replace('/', "\\/");
    vec![plain.into_bytes(), ascii.into_bytes(), slashed.into_bytes()]
}

fn quoted_printable(value: &str) -> Vec<u8> {
    let mut out = String::new();
    for b in value.bytes() {
        if (b == b' ' || b.is_ascii_graphic()) && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out.into_bytes()
}

/// Every encoding of `value` the scan looks for, with its name.
pub fn encodings(value: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let variants = [value.to_string(), value.to_lowercase(), value.to_uppercase()];
    for v in &variants {
        out.push(("utf-8", v.as_bytes().to_vec()));
        out.push(("utf-16le", v.encode_utf16().flat_map(u16::to_le_bytes).collect()));
        out.push(("utf-16be", v.encode_utf16().flat_map(u16::to_be_bytes).collect()));
    }
    for b in base64_aligned(value.as_bytes()) {
        out.push(("base64", b));
    }
    for u in url_encoded(value) {
        out.push(("url-encoded", u));
    }
    for h in html_entities(value) {
        out.push(("html-entities", h));
    }
    for j in json_escaped(value) {
        out.push(("json-escaped", j));
    }
    out.push(("quoted-printable", quoted_printable(value)));
    if value.contains('@') {
        let lower = value.trim().to_lowercase();
        let md5 = Md5::digest(lower.as_bytes());
        let sha = Sha256::digest(lower.as_bytes());
        out.push(("md5", hex::encode(md5).into_bytes()));
        out.push(("md5", hex::encode_upper(md5).into_bytes()));
        out.push(("md5", md5.to_vec()));
        out.push(("sha-256", hex::encode(sha).into_bytes()));
        out.push(("sha-256", hex::encode_upper(sha).into_bytes()));
        out.push(("sha-256", sha.to_vec()));
    }
    // The same bytes can come from several encodings (an ASCII value is its own JSON escape);
    // keep the first name, and skip needles too short to mean anything.
    let mut seen = BTreeSet::new();
    out.retain(|(_, n)| n.len() >= 4 && seen.insert(n.clone()));
    out
}

/// Files under `path`. A live database server removes files while it runs (WAL segments,
/// temporary files): an entry that vanished between listing and reading is skipped, but a path
/// the caller named must exist.
fn files_under(path: &Path, out: &mut Vec<PathBuf>, named: bool) -> std::io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if !named && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.is_file() {
        out.push(path.to_path_buf());
    } else if meta.is_dir() {
        let list = match std::fs::read_dir(path) {
            Ok(l) => l,
            Err(e) if !named && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut entries: Vec<PathBuf> = list.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            files_under(&e, out, false)?;
        }
    }
    Ok(())
}

/// Every file under `paths` (each of which must exist), sorted per directory.
pub fn files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        files_under(p, &mut out, true)?;
    }
    Ok(out)
}

/// Scans every file under `paths` for every canary.
pub fn scan(paths: &[PathBuf], canaries: &[Canary]) -> std::io::Result<Report> {
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    let mut meaning: Vec<(usize, &'static str)> = Vec::new();
    for (i, c) in canaries.iter().enumerate() {
        if let Some(raw) = c.bytes.as_ref().filter(|b| b.len() >= 8) {
            patterns.push(raw.clone());
            meaning.push((i, "raw"));
            continue;
        }
        for (enc, bytes) in encodings(&c.value) {
            patterns.push(bytes);
            meaning.push((i, enc));
        }
    }
    let mut report = Report::default();
    if patterns.is_empty() {
        return Ok(report);
    }
    let ac = AhoCorasick::new(&patterns).map_err(std::io::Error::other)?;
    let overlap = patterns.iter().map(Vec::len).max().unwrap_or(0);
    let files = files(paths)?;
    for f in files {
        let Ok(mut file) = std::fs::File::open(&f) else { continue };
        report.files += 1;
        // Read in chunks, carrying the last bytes over so a value across a boundary is found.
        let mut carry: Vec<u8> = Vec::new();
        let mut base: u64 = 0;
        let mut chunk = vec![0u8; 1 << 20];
        let mut found = BTreeSet::new();
        // A file truncated or removed under the scan ends where it ends.
        while let Ok(n) = file.read(&mut chunk) {
            if n == 0 {
                break;
            }
            report.bytes += n as u64;
            let mut window = std::mem::take(&mut carry);
            let window_start = base - window.len() as u64;
            window.extend_from_slice(chunk.get(..n).unwrap_or_default());
            for m in ac.find_overlapping_iter(&window) {
                let offset = window_start + m.start() as u64;
                if let Some((i, enc)) = meaning.get(m.pattern().as_usize())
                    && found.insert((offset, *i, *enc))
                {
                    report.hits.push(Hit {
                        path: f.clone(),
                        offset,
                        canary: canaries.get(*i).map(|c| c.label.clone()).unwrap_or_default(),
                        encoding: enc,
                    });
                }
            }
            base += n as u64;
            let keep = window.len().min(overlap.saturating_sub(1));
            carry = window.split_off(window.len() - keep);
        }
    }
    report.hits.sort();
    Ok(report)
}

/// Reads a canary file: one value per line, optionally `label: value`; `#` starts a comment;
/// `label: hex:…` is raw bytes (key material, keyed hashes) looked for as they are.
pub fn parse_canaries(text: &str) -> Vec<Canary> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(i, l)| match l.split_once(": ") {
            Some((label, value)) if !label.contains('@') && value.trim().starts_with("hex:") => match hex::decode(value.trim().trim_start_matches("hex:")) {
                Ok(bytes) => Canary::raw(label.trim(), bytes),
                Err(_) => Canary::text(label.trim(), value.trim()),
            },
            Some((label, value)) if !label.contains('@') && !value.trim().is_empty() => Canary::text(label.trim(), value.trim()),
            _ => Canary::text(format!("line {}", i + 1), l),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("suoja-scan-{}", suoja_core::random::hex_id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The scan's 0 means something: a canary planted in each encoding, in a file of its own
    /// between other bytes and across a chunk boundary, is found and named.
    #[test]
    fn every_encoding_planted_is_found() {
        let d = dir();
        let value = "Åsa Kanaari <asa.kanaari+x@example.fi>";
        let mut planted = BTreeSet::new();
        for (i, (enc, bytes)) in encodings(value).into_iter().enumerate() {
            let mut content = vec![0xAB_u8; 1000 + i];
            content.extend_from_slice(&bytes);
            content.extend_from_slice(&[0xCD; 77]);
            std::fs::write(d.join(format!("f{i}")), &content).unwrap();
            planted.insert(enc);
        }
        // Across the 1 MiB chunk boundary.
        let mut big = vec![b'x'; (1 << 20) - 5];
        big.extend_from_slice(value.as_bytes());
        std::fs::write(d.join("big"), &big).unwrap();
        std::fs::write(d.join("clean"), b"nothing to see here, only asa@elsewhere.fi").unwrap();
        let canaries = vec![Canary::text("A", value)];
        let r = scan(std::slice::from_ref(&d), &canaries).unwrap();
        let found: BTreeSet<&str> = r.hits.iter().map(|h| h.encoding).collect();
        assert_eq!(found, planted, "every encoding is found");
        for needle in [
            "base64",
            "url-encoded",
            "html-entities",
            "json-escaped",
            "quoted-printable",
            "md5",
            "sha-256",
            "utf-16le",
            "utf-16be",
        ] {
            assert!(planted.contains(needle), "{needle} is among the encodings");
        }
        assert!(r.hits.iter().any(|h| h.path.ends_with("big") && h.offset == (1 << 20) - 5));
        assert!(!r.hits.iter().any(|h| h.path.ends_with("clean")));
        assert!(r.hits.iter().all(|h| h.canary == "A"));
        std::fs::remove_dir_all(d).ok();
    }

    #[test]
    fn base64_is_found_at_every_alignment() {
        let value = b"kanaari@example.fi";
        for k in 0..3 {
            let mut buf = vec![7u8; k];
            buf.extend_from_slice(value);
            buf.extend_from_slice(b"tail");
            let enc = base64::engine::general_purpose::STANDARD.encode(&buf);
            assert!(
                base64_aligned(value).iter().any(|n| enc.as_bytes().windows(n.len()).any(|w| w == n.as_slice())),
                "alignment {k}"
            );
        }
    }

    #[test]
    fn canary_files_parse() {
        let c = parse_canaries("# canaries\nname: Åsa Kanaari\nasa@example.fi\n\nphone: +358 40 1\n");
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].label.as_str(), c[0].value.as_str()), ("name", "Åsa Kanaari"));
        assert_eq!(c[1].value, "asa@example.fi");
        assert_eq!(c[2].label, "phone");
    }

    #[test]
    fn raw_canaries_are_found_as_bytes_only() {
        let c = parse_canaries("key: hex:00ff10203040506070\n");
        assert_eq!(c[0].bytes.as_deref(), Some(&[0x00, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70][..]));
        let d = dir();
        std::fs::write(d.join("f"), b"xx\x00\xff\x10\x20\x30\x40\x50\x60\x70yy").unwrap();
        std::fs::write(d.join("g"), b"00ff10203040506070").unwrap();
        let r = scan(std::slice::from_ref(&d), &c).unwrap();
        assert_eq!(r.hits.len(), 1, "{:?}", r.hits);
        assert!(r.hits[0].path.ends_with("f") && r.hits[0].offset == 2 && r.hits[0].encoding == "raw");
        std::fs::remove_dir_all(d).ok();
    }
}
