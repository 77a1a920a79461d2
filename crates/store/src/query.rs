//! A user's words as an FTS5 query that cannot be a syntax error.

/// Every whitespace-separated word of `text` as an FTS5 string (so `AND`, `(`, `-`, `"`, `*`
/// and `:` are only text), joined by FTS5's implicit AND; the last word also matches as a
/// prefix when it ends in at least [`MIN_PREFIX`] letters or digits. Words without a letter or
/// digit are dropped (the tokenizer would drop them), so is every control character. `None`
/// when no word is left.
pub fn fts_query(text: &str) -> Option<String> {
    let words = words(text);
    let last = words.last()?;
    let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
    Some(format!("{}{}", quoted.join(" "), prefix(last)))
}

/// The most words a search takes: each word is one more term for FTS5 to intersect and the
/// whole text one more phrase to match in titles.
pub const MAX_WORDS: usize = 32;
/// The most bytes a search takes.
pub const MAX_BYTES: usize = 1_000;

/// `Err` with the reason when `text` is more than one search takes.
pub fn check(text: &str) -> Result<(), String> {
    if text.len() > MAX_BYTES {
        return Err(format!(
            "query too long: {} bytes (a search takes at most {MAX_BYTES})",
            text.len()
        ));
    }
    let n = text.split_whitespace().count();
    if n > MAX_WORDS {
        return Err(format!(
            "query too long: {n} words (a search takes at most {MAX_WORDS})"
        ));
    }
    Ok(())
}

/// A shorter prefix would expand to too many of the index's terms (`a*`: thousands).
pub const MIN_PREFIX: usize = 3;

/// ` *` when the word's last token is long enough to search as a prefix.
fn prefix(word: &str) -> &'static str {
    if is_prefix(word) { " *" } else { "" }
}

/// Whether the last word of a search, `word`, also matches as a prefix: its last token is long
/// enough.
pub(crate) fn is_prefix(word: &str) -> bool {
    let last_token = word
        .split(|c: char| !c.is_alphanumeric())
        .rfind(|t| !t.is_empty())
        .unwrap_or("");
    last_token.chars().count() >= MIN_PREFIX
}

/// The words of `text` as one phrase in the title column (`{title} : "w1 w2" *`): the rules
/// whose title holds the words in the order written rank first.
pub fn title_phrase(text: &str) -> Option<String> {
    let words = words(text);
    let last = words.last()?;
    Some(format!(
        "{{title}} : {}{}",
        quote(&words.join(" ")),
        prefix(last)
    ))
}

/// The searchable words of `text`, as [`fts_query`] reads them.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect()
}

/// An FTS5 string: in double quotes, a double quote doubled.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted() {
        assert_eq!(
            fts_query("powershell -enc").as_deref(),
            Some("\"powershell\" \"-enc\" *")
        );
        assert_eq!(
            fts_query("a\"b AND (").as_deref(),
            Some("\"a\"\"b\" \"AND\" *")
        );
        assert_eq!(fts_query("  \" ( ) * "), None);
        assert_eq!(
            fts_query("a").as_deref(),
            Some("\"a\""),
            "too short a prefix"
        );
        assert_eq!(fts_query("x enc-").as_deref(), Some("\"x\" \"enc-\" *"));
        assert_eq!(fts_query("t1059.0").as_deref(), Some("\"t1059.0\""));
        assert_eq!(
            title_phrase("wsman \"prov").as_deref(),
            Some("{title} : \"wsman \"\"prov\" *")
        );
        assert_eq!(fts_query(""), None);
    }

    #[test]
    fn long_queries_are_refused() {
        assert!(check(&"word ".repeat(MAX_WORDS)).is_ok());
        let e = check(&"word ".repeat(MAX_WORDS + 1)).unwrap_err();
        assert!(e.contains("33 words"), "{e}");
        let e = check(&"x".repeat(MAX_BYTES + 1)).unwrap_err();
        assert!(e.contains("1001 bytes"), "{e}");
    }
}
