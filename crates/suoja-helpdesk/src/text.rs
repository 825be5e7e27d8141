//! Comment text: plain bodies become escaped HTML; HTML bodies are sanitised (scripts, event
//! handlers and `javascript:` links removed) and a plain version is derived for search.

/// The HTML rendering of a plain-text body: escaped, paragraphs and line breaks kept.
pub fn plain_to_html(body: &str) -> String {
    let escaped = escape(&body.replace("\r\n", "\n"));
    let paragraphs: Vec<String> = escaped
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", p.trim_matches('\n').replace('\n', "<br>")))
        .collect();
    format!("<div class=\"zd-comment\" dir=\"auto\">{}</div>", paragraphs.join(""))
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
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

/// Sanitises client HTML; only formatting and safe links survive.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

/// The text of an HTML body, for the plain body and the search index.
pub fn html_to_plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_inert() {
        let clean = sanitize_html(
            "<p onclick=\"x()\">hi<script>alert(1)</script><a href=\"javascript:alert(1)\">l</a><img src=x onerror=alert(1)><svg onload=alert(1)></svg></p>",
        );
        for bad in ["script", "onclick", "javascript:", "onerror", "onload", "<svg"] {
            assert!(!clean.contains(bad), "{bad} survived in {clean}");
        }
        assert_eq!(
            plain_to_html("<b>x</b>\n\nnext\nline"),
            "<div class=\"zd-comment\" dir=\"auto\"><p>&lt;b&gt;x&lt;/b&gt;</p><p>next<br>line</p></div>"
        );
        assert_eq!(html_to_plain("<p>a &amp; b</p><p>c</p>"), "a & b c");
    }
}
