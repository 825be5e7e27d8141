//! The matcher on real people: names that are common words, parts of other words and of the
//! replacement marker, diacritics, other scripts, names inside HTML; examples first, then
//! properties over generated people and texts.

use proptest::prelude::*;
use unicode_segmentation::UnicodeSegmentation as _;

use super::*;

const MARK: &str = "[redacted]";

fn redact(m: &Matcher, text: &str, markup: Markup) -> String {
    m.replace(text, markup, |h| h.class.is_strong().then(|| MARK.to_string()))
        .map_or_else(|| text.to_string(), |(s, _)| s)
}

fn redact_all(m: &Matcher, text: &str, markup: Markup) -> String {
    m.replace(text, markup, |_| Some(MARK.to_string())).map_or_else(|| text.to_string(), |(s, _)| s)
}

#[test]
fn ted_is_not_in_started_and_the_marker_is_never_read_again() {
    for name in ["Ted", "red", "act", "dac", "[", "redacted", "[redacted]", "e", "d"] {
        let m = Matcher::one(&Identity::new(name, None, None));
        let text = "Ted called and we started a refund; [redacted] stays, Ted's order too.";
        let out = redact_all(&m, text, Markup::Plain);
        // One pass over the original: every replacement came from a whole word of it.
        assert!(out.len() < text.len() * 12, "{name}: {out}");
        assert!(out.contains("started"), "{name}: {out}");
    }
    let m = Matcher::one(&Identity::new("Ted", None, None));
    assert_eq!(
        redact_all(&m, "Ted called and we started a refund; Ted's order.", Markup::Plain),
        "[redacted] called and we started a refund; [redacted]'s order."
    );
    // A one-word name is weak: acted on only when the caller says so.
    assert_eq!(redact(&m, "Ted called", Markup::Plain), "Ted called");
}

#[test]
fn ann_is_not_in_channel() {
    let m = Matcher::one(&Identity::new("Ann Lee", Some("ann@example.com"), None));
    let text = "The channel for Ann Lee: ann@example.com; ANN LEE again; annual Lee; Anne Lee.";
    assert_eq!(
        redact(&m, text, Markup::Plain),
        "The channel for [redacted]: [redacted]; [redacted] again; annual Lee; Anne Lee."
    );
    let hits = m.find(text, Markup::Plain);
    let weak: Vec<&str> = hits.iter().filter(|h| !h.class.is_strong()).map(|h| &text[h.span.clone()]).collect();
    assert_eq!(weak, vec!["Lee", "Lee"], "weak matches are whole words too");
}

#[test]
fn diacritics_and_other_scripts() {
    let m = Matcher::one(&Identity::new("Äijä Öljynen", None, None));
    assert_eq!(
        redact(&m, "Kiitos ÄIJÄ ÖLJYNEN ja äijä öljynen!", Markup::Plain),
        "Kiitos [redacted] ja [redacted]!"
    );
    // Decomposed (NFD) text is the same name.
    assert_eq!(redact(&m, "A\u{308}ija\u{308} O\u{308}ljynen", Markup::Plain), "[redacted]");
    assert_eq!(redact(&m, "Aija Oljynen", Markup::Plain), "Aija Oljynen");
    let m = Matcher::one(&Identity::new("王小明", None, None));
    assert_eq!(redact(&m, "我是王小明，谢谢", Markup::Plain), "我是[redacted]，谢谢");
    let m = Matcher::one(&Identity::new("Дмитрий Иванов", None, None));
    assert_eq!(redact(&m, "Привет, ДМИТРИЙ ИВАНОВ.", Markup::Plain), "Привет, [redacted].");
    let m = Matcher::one(&Identity::new("Straße Weiß", None, None));
    assert_eq!(redact(&m, "Herr STRASSE WEISS", Markup::Plain), "Herr [redacted]");
}

#[test]
fn html_is_matched_on_its_text_never_its_markup() {
    let m = Matcher::one(&Identity::new("Bold Class", Some("ann@example.com"), None));
    let html = r#"<p class="bold class">Hi <b>Bold</b> <i>Class</i>, <a href="mailto:ann@example.com" class="ann">ann@example.com</a></p>"#;
    assert_eq!(
        redact(&m, html, Markup::Html),
        r#"<p class="bold class">Hi <b>[redacted]</b><i></i>, <a href="mailto:[redacted]" class="ann">[redacted]</a></p>"#
    );
    let m = Matcher::one(&Identity::new("Jörg Åberg", None, None));
    assert_eq!(redact(&m, "<p>J&ouml;rg &Aring;berg</p>", Markup::Html), "<p>[redacted]</p>");
    // Words split by a block tag are two words; by an inline tag, one.
    let m = Matcher::one(&Identity::new("Ann", None, None));
    assert_eq!(
        redact_all(&m, "<p>An</p><p>n</p> An<b>n</b>", Markup::Html),
        "<p>An</p><p>n</p> [redacted]<b></b>"
    );
    // The replacement is escaped for HTML.
    let m = Matcher::one(&Identity::new("Ann Lee", None, None));
    assert_eq!(
        m.replace("<p>Ann Lee</p>", Markup::Html, |_| Some("<x>&".into())).unwrap().0,
        "<p>&lt;x&gt;&amp;</p>"
    );
}

#[test]
fn phones_in_every_spelling_and_shared_local_parts() {
    let m = Matcher::one(&Identity::new("Ann Lee", Some("ann@one.example"), Some("+358 40 123 4567")));
    let text = "Soita 040-1234567 tai (040) 123 4567 tai +358401234567; ann@two.example is someone else; ann@one.example";
    assert_eq!(
        redact(&m, text, Markup::Plain),
        "Soita [redacted] tai [redacted] tai [redacted]; ann@two.example is someone else; [redacted]"
    );
    let hits = m.find(text, Markup::Plain);
    let weak: Vec<&str> = hits.iter().filter(|h| h.class == Class::Weak).map(|h| &text[h.span.clone()]).collect();
    assert_eq!(weak, vec!["ann"], "another address's local part is only a weak match");
}

#[test]
fn several_people_each_get_their_own_matches() {
    let a = Identity::new("Ann Lee", Some("ann@x.fi"), None);
    let b = Identity::new("Ann Berg", Some("berg@x.fi"), None);
    let m = Matcher::new(&[a, b]);
    let text = "Ann Lee and Ann Berg (berg@x.fi) and Ann.";
    let out = m
        .replace(text, Markup::Plain, |h| h.class.is_strong().then(|| format!("[p{}]", h.person + 1)))
        .unwrap()
        .0;
    assert_eq!(out, "[p1] and [p2] ([p2]) and Ann.");
}

#[test]
fn bad_names_are_matched_sanely() {
    for name in ["", " ", "\u{0}\u{7}", "<script>alert(1)</script>", "a", "'s", "--", "\u{202e}Ann"] {
        let m = Matcher::one(&Identity::new(name, Some("not an address"), Some("n/a")));
        let _ = redact_all(&m, "Ann <script>alert(1)</script> a b c 's", Markup::Plain);
        let _ = redact_all(&m, "<p title='a'>Ann</p>", Markup::Html);
    }
    let long = "word ".repeat(2_000);
    let m = Matcher::one(&Identity::new(&long, None, None));
    assert_eq!(m.find(&long, Markup::Plain).iter().filter(|h| h.class.is_strong()).count(), 0);
    let sentence = Identity::new("The quick brown fox", None, None);
    let m = Matcher::one(&sentence);
    let hits = m.find("the quick brown fox jumps", Markup::Plain);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].class, Class::FullName);
}

#[test]
fn worst_case_texts_finish() {
    // A one-letter name and a text of nothing but that letter: every word matches, once.
    let m = Matcher::one(&Identity::new("a", Some("a@a.a"), Some("1234567")));
    let text = "a ".repeat(200_000);
    let hits = m.find(&text, Markup::Plain);
    assert_eq!(hits.len(), 200_000);
    let at = "a@".repeat(100_000);
    let _ = m.find(&at, Markup::Plain);
    let digits = "1 ".repeat(100_000);
    let _ = m.find(&digits, Markup::Plain);
    let tags = "<".repeat(100_000) + &"<a title='".repeat(10_000);
    let _ = m.find(&tags, Markup::Html);
}

#[test]
fn passages_are_the_sentences_around_matches() {
    let m = Matcher::one(&Identity::new("Ann Lee", None, None));
    let text = "First sentence. Then Ann Lee called! Last one.";
    let hits = m.find(text, Markup::Plain);
    let p: Vec<&str> = passages(text, &hits).into_iter().map(|r| &text[r]).collect();
    assert_eq!(p, vec!["Then Ann Lee called! "]);
}

// ---------------------------------------------------------------------------------------------
// Properties over generated people and texts.

/// Names real people have, chosen to be hard: common words, parts of other words and of the
/// marker, diacritics, other scripts, one or two letters, and nothing at all.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Ted".to_string()),
        Just("Ann".to_string()),
        Just("Mark Page".to_string()),
        Just("Red Act".to_string()),
        Just("Bo".to_string()),
        Just("A".to_string()),
        Just("Äijä Öljynen".to_string()),
        Just("王小明".to_string()),
        Just("Ελένη Παππά".to_string()),
        Just("Class Div".to_string()),
        Just("Password".to_string()),
        Just(String::new()),
        "[a-zA-Zäöå]{1,8}( [a-zA-Zäöå]{1,8}){0,2}",
    ]
}

/// Filler words that contain the hard names inside them.
fn filler() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("started"),
            Just("channel"),
            Just("redacted"),
            Just("[redacted]"),
            Just("Annual"),
            Just("Teddy"),
            Just("bold"),
            Just("öljy"),
            Just("王"),
            Just("a"),
            Just("marked"),
            Just("."),
            Just(","),
            Just("-"),
            Just("ann@other.example"),
            Just("040"),
            Just("x1234567"),
            Just("password123"),
        ],
        0..40,
    )
    .prop_map(|w| w.join(" "))
}

#[derive(Debug, Clone)]
struct Person {
    name: String,
    email: String,
    phone: String,
}

fn person() -> impl Strategy<Value = Person> {
    (name(), "[a-z]{1,6}", 1_000_000u32..9_999_999u32).prop_map(|(name, local, digits)| Person {
        name,
        email: format!("{local}@mail.example"),
        phone: format!("+358 40 {digits}"),
    })
}

fn identity(p: &Person) -> Identity {
    Identity::new(&p.name, Some(&p.email), Some(&p.phone))
}

fn word_boundaries(text: &str) -> std::collections::BTreeSet<usize> {
    let mut b: std::collections::BTreeSet<usize> = text.split_word_bound_indices().map(|(i, _)| i).collect();
    b.insert(text.len());
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Everything outside the matched bytes is unchanged, and the output is exactly the input
    /// with each match's bytes swapped for the marker.
    #[test]
    fn only_matched_bytes_change(p in person(), text in filler(), markup in prop_oneof![Just(Markup::Plain), Just(Markup::Html)]) {
        let m = Matcher::one(&identity(&p));
        let hits = m.find(&text, markup);
        let out = redact_all(&m, &text, markup);
        let mut rebuilt = String::new();
        let mut at = 0;
        for h in &hits {
            for (k, c) in h.cuts.iter().enumerate() {
                prop_assert!(c.start >= at, "cuts overlap");
                rebuilt.push_str(&text[at..c.start]);
                if k == 0 { rebuilt.push_str(MARK); }
                at = c.end;
            }
        }
        rebuilt.push_str(&text[at..]);
        prop_assert_eq!(out, rebuilt);
    }

    /// Every strong occurrence put into a text is found, whatever surrounds it.
    #[test]
    fn every_strong_occurrence_is_found(p in person(), before in filler(), after in filler(), which in 0usize..3, upper in any::<bool>()) {
        let id = identity(&p);
        let value = match which {
            0 => p.email.clone(),
            1 => p.phone.clone(),
            _ => p.name.clone(),
        };
        prop_assume!(which != 2 || (2..=6).contains(&id.name_words().len()));
        let value = if upper { value.to_uppercase() } else { value };
        let text = format!("{before} {value} {after}");
        let at = before.len() + 1;
        let m = Matcher::one(&id);
        let hits = m.find(&text, Markup::Plain);
        prop_assert!(
            hits.iter().any(|h| h.class.is_strong() && h.span.start <= at && h.span.end >= at + value.len()),
            "{value} in {text}: {hits:?}"
        );
    }

    /// A name match starts and ends on word boundaries; an address or number is never a piece
    /// of a longer one.
    #[test]
    fn nothing_inside_a_word(p in person(), text in filler(), extra in filler()) {
        let text = format!("{text} {} {extra}{}{}", p.name, p.name, p.email);
        let m = Matcher::one(&identity(&p));
        let bounds = word_boundaries(&text);
        for h in m.find(&text, Markup::Plain) {
            let prev = text[..h.span.start].chars().next_back();
            let next = text[h.span.end..].chars().next();
            match h.class {
                Class::Email => {
                    prop_assert!(!prev.is_some_and(|c| c.is_alphanumeric() || "_%+-".contains(c)), "{text:?} {h:?}");
                    prop_assert!(!next.is_some_and(char::is_alphanumeric), "{text:?} {h:?}");
                }
                Class::Phone => {
                    prop_assert!(!prev.is_some_and(char::is_alphanumeric) && !next.is_some_and(char::is_alphanumeric), "{text:?} {h:?}");
                }
                Class::FullName | Class::Weak => {
                    prop_assert!(bounds.contains(&h.span.start) && bounds.contains(&h.span.end), "{text:?} {h:?}");
                }
            }
        }
    }

    /// Markup (tag names, attribute names and values other than href, title and alt) never
    /// changes, whatever the name.
    #[test]
    fn markup_never_changes(p in person(), text in filler()) {
        let attr = p.name.replace(['"', '\''], "");
        let html = format!("<div class=\"{attr}\" data-x='{}'><b>{text}</b> {}<br>{}</div>", p.email, p.name, p.email);
        let m = Matcher::one(&identity(&p));
        let out = redact_all(&m, &html, Markup::Html);
        let tags = |s: &str| -> Vec<String> { s.split('<').skip(1).map(|t| t.split('>').next().unwrap_or("").to_string()).collect() };
        prop_assert_eq!(tags(&out), tags(&html));
    }

    /// Replacing terminates and reads each byte a bounded number of times, for any input.
    #[test]
    fn any_input_any_name(name in ".{0,40}", text in ".{0,400}") {
        let m = Matcher::one(&Identity::new(&name, Some(&name), Some(&name)));
        let _ = redact_all(&m, &text, Markup::Plain);
        let _ = redact_all(&m, &text, Markup::Html);
    }
}

#[test]
fn json_values_are_read_with_their_escapes_and_nothing_else_is_touched() {
    let m = Matcher::one(&Identity::new("Ted Smith", Some("ted.smith@a.example"), Some("0401234567")));
    // A signature after line breaks and a tab, an escaped é, a name as a key, as a field and as
    // an id's value: only the values of fields people write in words are text.
    let src = r#"{"actions":[{"field":"comment_value","value":"Best regards,\nTed Smith\nmail:\nted.smith@a.example\tTed Smith, Andr\u00e9 and Ted Smith."},{"field":"Ted Smith","value":["Ted Smith","started"]},{"value":["Ted Smith"],"field":"set_tags"}],"all":[{"field":"requester_id","operator":"is_not","value":"0401234567"}],"Ted Smith":"Ted Smith"}"#;
    let out = redact_all(&m, src, Markup::Json);
    let v: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
    assert_eq!(
        v["actions"][0]["value"],
        "Best regards,\n[redacted]\nmail:\n[redacted]\t[redacted], André and [redacted]."
    );
    assert_eq!(v["actions"][1]["field"], "Ted Smith", "a field's name is structure");
    assert_eq!(v["actions"][1]["value"], serde_json::json!(["Ted Smith", "started"]), "not a field of words");
    assert_eq!(
        v["actions"][2]["value"],
        serde_json::json!(["[redacted]"]),
        "the field may come after its value"
    );
    assert_eq!(v["all"][0]["value"], "0401234567", "an id is structure, whatever it looks like");
    assert_eq!(v["Ted Smith"], "Ted Smith", "a key's string is not a value");
    assert_eq!(json_text(src).lines().next(), Some("Best regards,"));
    // A replacement is quoted as JSON quotes it; a broken document stays as it was read.
    let quoted = m
        .replace(r#"{"field":"subject","value":"Ted Smith"}"#, Markup::Json, |_| Some("a \"b\" \\ c".into()))
        .unwrap()
        .0;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&quoted).unwrap()["value"], "a \"b\" \\ c");
    assert_eq!(
        redact_all(&m, r#"{"field":"subject","value":"Ted Smith"#, Markup::Json),
        r#"{"field":"subject","value":"Ted Smith"#
    );
}

#[test]
fn a_trigger_s_notification_and_the_words_it_looks_for_are_text() {
    let m = Matcher::one(&Identity::new("Ted Smith", Some("ted.smith@a.example"), None));
    let src = r#"{"all":[{"field":"comment_includes_word","operator":"includes","value":"ted.smith@a.example refund"},{"field":"assignee_id","operator":"is","value":"12"}],"actions":[{"field":"notification_user","value":["requester_id","Tell Ted Smith","Ted Smith started it; ask ted.smith@a.example"]},{"field":"group_id","value":"3"}]}"#;
    let out = redact_all(&m, src, Markup::Json);
    let v: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
    assert_eq!(v["all"][0]["value"], "[redacted] refund");
    assert_eq!(v["all"][1]["value"], "12");
    assert_eq!(
        v["actions"][0]["value"],
        serde_json::json!(["requester_id", "Tell [redacted]", "[redacted] started it; ask [redacted]"]),
        "the recipient word stays; \"started\" is not Ted"
    );
    assert_eq!(v["actions"][1]["value"], "3");
}
