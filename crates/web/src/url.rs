//! Building links: percent-encoding of rule keys and query values.

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn encode_component(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// The path of a rule's page: each `/`-separated segment of the key encoded on its own, so
/// `#`, `?`, `%` and spaces survive the round trip through the browser.
pub fn rule_href(key: &str) -> String {
    let mut out = String::from("/rules/");
    for (i, seg) in key.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&encode_component(seg));
    }
    out
}

/// A link to the index of all rules with the given query parameters (empty values left out).
pub fn index_href(params: &[(&str, &str)]) -> String {
    href("/rules", params)
}

/// A link to the feed (the home page) with the given query parameters.
pub fn feed_href(params: &[(&str, &str)]) -> String {
    href("/", params)
}

/// A link to the search page with the given query parameters.
pub fn search_href(params: &[(&str, &str)]) -> String {
    href("/search", params)
}

/// `path` with the non-empty `params` as its encoded query string.
pub fn href(path: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::from(path);
    let mut sep = '?';
    for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(&encode_component(v));
        sep = '&';
    }
    out
}

/// Whether a reference may be rendered as a clickable link.
pub fn is_http(s: &str) -> bool {
    let s = s.trim_start();
    let lower = |n: usize| s.get(..n).map(str::to_ascii_lowercase);
    lower(7).as_deref() == Some("http://") || lower(8).as_deref() == Some("https://")
}

/// The ATT&CK page of a technique: `T1059.001` → `https://attack.mitre.org/techniques/T1059/001/`.
pub fn attack_href(id: &str) -> String {
    let path: String = id
        .split('.')
        .map(encode_component)
        .collect::<Vec<_>>()
        .join("/");
    format!("https://attack.mitre.org/techniques/{path}/")
}

/// The page of an analytic story on this site: `/stories/` and its name, encoded.
pub fn story_href(name: &str) -> String {
    format!("/stories/{}", encode_component(name))
}

/// The page of a technique on this site: `/techniques/T1059.001`.
pub fn technique_href(id: &str) -> String {
    format!("/techniques/{}", encode_component(id))
}

/// The page of an indicator: `/indicators/{concept}/{kind}/{value}` (`-` for a keyword's
/// missing field), the transforms as `?transforms=a|b`.
pub fn indicator_href(id: &catalog::related::IndicatorId) -> String {
    let path = format!(
        "/indicators/{}/{}/{}",
        encode_component(id.concept.as_deref().unwrap_or("-")),
        id.kind.as_str(),
        encode_component(&id.value)
    );
    href(&path, &[("transforms", &id.transforms.join("|"))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_per_segment() {
        assert_eq!(
            rule_href("sigma/rules/a b/x.yml#2"),
            "/rules/sigma/rules/a%20b/x.yml%232"
        );
        assert_eq!(rule_href("s/100%?.yml"), "/rules/s/100%25%3F.yml");
        assert_eq!(rule_href("s/ü.yml"), "/rules/s/%C3%BC.yml");
    }

    #[test]
    fn index_links() {
        assert_eq!(index_href(&[]), "/rules");
        assert_eq!(
            index_href(&[("q", ""), ("source", "a&b")]),
            "/rules?source=a%26b"
        );
        assert_eq!(
            index_href(&[("q", "T1047"), ("source", "x")]),
            "/rules?q=T1047&source=x"
        );
        assert_eq!(feed_href(&[("page", "2")]), "/?page=2");
        assert_eq!(search_href(&[("q", "a b")]), "/search?q=a%20b");
    }

    #[test]
    fn only_http_links() {
        assert!(is_http("https://example.com/x"));
        assert!(is_http("HTTP://example.com"));
        assert!(!is_http("javascript:alert(1)"));
        assert!(!is_http("ftp://example.com"));
        assert!(!is_http("see the wiki"));
        assert!(!is_http("http:"));
    }

    #[test]
    fn indicator_links() {
        let id = catalog::related::IndicatorId {
            concept: Some("process.command_line".into()),
            kind: ir::Kind::Contains,
            value: "a/b c".into(),
            transforms: vec!["base64offset".into()],
        };
        assert_eq!(
            indicator_href(&id),
            "/indicators/process.command_line/contains/a%2Fb%20c?transforms=base64offset"
        );
        assert_eq!(technique_href("T1059.001"), "/techniques/T1059.001");
    }

    #[test]
    fn attack_links() {
        assert_eq!(
            attack_href("T1047"),
            "https://attack.mitre.org/techniques/T1047/"
        );
        assert_eq!(
            attack_href("T1059.001"),
            "https://attack.mitre.org/techniques/T1059/001/"
        );
    }
}
