//! Zendesk search syntax, the basics: free words, `"quoted phrases"` (matched as all their
//! words), words left out with a minus (`-invoice`, `-"late invoice"`), `type:`, `status:` with
//! `:` `<` `>` `<=` `>=`, `priority:`, `requester:`, `assignee:`, `tags:`/`tag:`, and
//! `created`/`updated` with `:` `<` `>` and a date.

/// A comparison in a property filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `:`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A parsed search query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Free words (already normalised to index terms).
    pub words: Vec<String>,
    /// Words a result must not hold (`-word`; a minus before a quoted phrase leaves out each of
    /// its words).
    pub excluded: Vec<String>,
    /// `type:` value, if given.
    pub kind: Option<String>,
    /// `status` filters.
    pub status: Vec<(Cmp, String)>,
    /// `priority:` values.
    pub priority: Vec<String>,
    /// `requester:` value (e-mail, id or `me`).
    pub requester: Option<String>,
    /// `assignee:` value (e-mail, id, `me` or `none`).
    pub assignee: Option<String>,
    /// `tags:` values.
    pub tags: Vec<String>,
    /// `created` filters with raw date text.
    pub created: Vec<(Cmp, String)>,
    /// `updated` filters with raw date text.
    pub updated: Vec<(Cmp, String)>,
}

/// Why a query could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

fn split_tokens(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn split_property(tok: &str) -> Option<(String, Cmp, String)> {
    let pos = tok.find([':', '<', '>'])?;
    let (key, rest) = tok.split_at(pos);
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let (cmp, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Cmp::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Cmp::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Cmp::Lt, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Cmp::Gt, v)
    } else {
        (Cmp::Eq, rest.strip_prefix(':').unwrap_or(rest))
    };
    Some((key.to_ascii_lowercase(), cmp, value.trim_matches('"').to_string()))
}

/// Parses a query. Unknown properties are searched as words, as Zendesk does.
pub fn parse(q: &str) -> Result<Query, QueryError> {
    let mut out = Query::default();
    for tok in split_tokens(q) {
        if let Some(rest) = tok.strip_prefix('-').filter(|r| !r.is_empty()) {
            if split_property(rest).is_some() {
                return Err(QueryError(format!(
                    "leaving out by a property ({}) is not supported; leave out words instead",
                    rest.chars().take(40).collect::<String>()
                )));
            }
            out.excluded.extend(crate::terms(rest));
            continue;
        }
        let Some((key, cmp, value)) = split_property(&tok) else {
            out.words.extend(crate::terms(&tok));
            continue;
        };
        if value.is_empty() {
            return Err(QueryError(format!("the property {key} needs a value")));
        }
        match key.as_str() {
            "type" => out.kind = Some(value.to_lowercase()),
            "status" => out.status.push((cmp, value.to_lowercase())),
            "priority" => out.priority.push(value.to_lowercase()),
            "requester" => out.requester = Some(value),
            "assignee" => out.assignee = Some(value),
            "tags" | "tag" => out.tags.push(value.to_lowercase()),
            "created" => out.created.push((cmp, value)),
            "updated" => out.updated.push((cmp, value)),
            _ => out.words.extend(crate::terms(&tok)),
        }
    }
    out.words.sort();
    out.words.dedup();
    out.excluded.sort();
    out.excluded.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_basics() {
        let q = parse("refund \"late invoice\" type:ticket status<solved requester:a@b.co tags:vip created>2024-01-01").unwrap();
        assert_eq!(q.words, vec!["invoice", "late", "refund"]);
        assert_eq!(q.kind.as_deref(), Some("ticket"));
        assert_eq!(q.status, vec![(Cmp::Lt, "solved".to_string())]);
        assert_eq!(q.requester.as_deref(), Some("a@b.co"));
        assert_eq!(q.tags, vec!["vip"]);
        assert_eq!(q.created, vec![(Cmp::Gt, "2024-01-01".to_string())]);
        assert!(parse("status:").is_err());
        let q = parse("refund -invoice -\"late fee\" - -").unwrap();
        assert_eq!(q.words, vec!["refund"]);
        assert_eq!(q.excluded, vec!["fee", "invoice", "late"]);
        assert!(parse("refund -status:closed").is_err(), "a property cannot be left out");
        assert_eq!(parse("").unwrap(), Query::default());
    }

    // Fuzzing: queries arrive from anyone signed in. Whatever they type, parsing ends without a
    // panic, in time linear in the query, and every word it keeps comes from the query.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;
        use std::time::{Duration, Instant};

        /// Query text: the syntax's own pieces mixed with arbitrary text.
        fn query_text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("status:open ".to_string()),
                Just("status<=".to_string()),
                Just("\"".to_string()),
                Just("-".to_string()),
                Just(":".to_string()),
                Just("<".to_string()),
                Just(">=".to_string()),
                Just("created>2024-01-01".to_string()),
                Just("type:".to_string()),
                Just("tags:vip".to_string()),
                Just("requester:".to_string()),
                Just("*".to_string()),
                Just(" ".to_string()),
                Just("\u{0}".to_string()),
                "\\PC{0,12}",
                any::<String>(),
            ];
            prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_query_parses_or_is_refused_quickly(q in query_text()) {
                let started = Instant::now();
                let parsed = parse(&q);
                prop_assert!(started.elapsed() < Duration::from_millis(50), "{} bytes took {:?}", q.len(), started.elapsed());
                if let Ok(parsed) = parsed {
                    // Lower case depends on context (a capital sigma ends a word as "ς" and is
                    // "σ" alone), so a word may match the whole query lowered either way.
                    let lower = q.to_lowercase();
                    let each: String = q.chars().flat_map(char::to_lowercase).collect();
                    for w in parsed.words.iter().chain(&parsed.excluded) {
                        prop_assert!(lower.contains(w.as_str()) || each.contains(w.as_str()), "{w:?} is not in {q:?}");
                    }
                }
            }
        }

        #[test]
        fn a_long_hostile_query_takes_linear_time() {
            for piece in ["\"", ":", "a:\"", "status:<", "-\"x ", "é"] {
                let short = piece.repeat(1_000);
                let long = piece.repeat(100_000);
                let t = Instant::now();
                let _ = parse(&short);
                let short_took = t.elapsed();
                let t = Instant::now();
                let _ = parse(&long);
                let long_took = t.elapsed();
                // A hundred times the input may take a few hundred times as long (noise), never
                // the ten thousand times a quadratic parser would.
                assert!(
                    long_took < short_took * 1_000 + Duration::from_millis(200),
                    "{piece:?}: {short_took:?} then {long_took:?}"
                );
            }
        }
    }
}
