//! The SPL lexer. SPL has two lexical worlds: the search language (`search`, the `where` of
//! `tstats`, command arguments), where a word is almost any run of characters (`*\\Temp\\*`,
//! `-30d`, `%%14674`, `Processes.process`), and the `eval`/`where` expression language, where
//! `a+b*2` is five tokens. The parser asks for the next token at a byte offset in the mode it is
//! in ([`next`]); nothing is lexed ahead, so switching modes in the middle of a command is free.
//!
//! Whitespace and triple-backtick comments (```` ```comment``` ````) separate tokens and are
//! skipped. A single backtick starts a macro call running to the next backtick.

use std::ops::Range;

/// Which lexical world the parser is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The search language and command arguments.
    Search,
    /// `eval` / `where` expressions.
    Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Search mode: a bare word. Expr mode: an identifier (field or function name).
    Word,
    /// Expr mode: a number (`12`, `0.5`, `.5`).
    Number,
    /// A double-quoted string; the span includes the quotes.
    Str,
    /// Expr mode: a single-quoted field name; the span includes the quotes.
    SQuote,
    /// A backtick macro call; the span includes the backticks.
    Macro,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Pipe,
    Comma,
    Eq,
    EqEq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Dot,
    Eof,
    /// Something that cannot be a token: an unterminated string or macro, a stray character.
    Error(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

/// Skip whitespace and ```` ``` ```` comments from `pos`.
pub fn skip_trivia(src: &str, mut pos: usize) -> usize {
    let b = src.as_bytes();
    loop {
        while pos < b.len() && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if b[pos.min(b.len())..].starts_with(b"```") {
            match src[pos + 3..].find("```") {
                Some(i) => pos = pos + 3 + i + 3,
                None => return b.len(),
            }
        } else {
            return pos;
        }
    }
}

/// Characters that end a search-mode word.
fn search_special(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b'(' | b')' | b'[' | b']' | b'|' | b'"' | b'`' | b',' | b'=' | b'<' | b'>'
        )
}

/// Characters of an expr-mode identifier (a `.` between two of them too).
pub fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'{' | b'}' | b'@' | b'$' | b':') || c >= 0x80
}

/// Whether `text` lexes as one expression identifier (a field name that needs no quotes).
pub fn is_plain_ident(text: &str) -> bool {
    let b = text.as_bytes();
    let mut end = 0;
    ident_run(b, 0, &mut end);
    !b.is_empty() && end == b.len() && !is_number(text)
}

fn ident_run(b: &[u8], start: usize, end: &mut usize) {
    let mut i = start;
    while i < b.len() {
        if ident_char(b[i])
            || (b[i] == b'.' && i > start && i + 1 < b.len() && ident_char(b[i + 1]))
        {
            i += 1;
        } else {
            break;
        }
    }
    *end = i;
}

/// `digits[.digits]`, or `.digits`.
pub fn is_number(text: &str) -> bool {
    let (int, frac) = match text.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match frac {
        None => digits(int),
        Some(f) => (int.is_empty() || digits(int)) && digits(f),
    }
}

/// Where a double-quoted string starting at `start` (on the `"`) ends (after the closing `"`).
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The token at `pos` (after skipping trivia) in `mode`.
pub fn next(src: &str, pos: usize, mode: Mode) -> Token {
    let b = src.as_bytes();
    let start = skip_trivia(src, pos);
    let tok = |kind, end: usize| Token {
        kind,
        span: start..end,
    };
    if start >= b.len() {
        return tok(TokenKind::Eof, b.len());
    }
    let c = b[start];
    let at = |i: usize| b.get(start + i).copied();
    match c {
        b'(' => return tok(TokenKind::LParen, start + 1),
        b')' => return tok(TokenKind::RParen, start + 1),
        b'[' => return tok(TokenKind::LBracket, start + 1),
        b']' => return tok(TokenKind::RBracket, start + 1),
        b'|' => return tok(TokenKind::Pipe, start + 1),
        b',' => return tok(TokenKind::Comma, start + 1),
        b'=' if at(1) == Some(b'=') => return tok(TokenKind::EqEq, start + 2),
        b'=' => return tok(TokenKind::Eq, start + 1),
        b'!' if at(1) == Some(b'=') => return tok(TokenKind::Neq, start + 2),
        b'<' if at(1) == Some(b'=') => return tok(TokenKind::Le, start + 2),
        b'<' => return tok(TokenKind::Lt, start + 1),
        b'>' if at(1) == Some(b'=') => return tok(TokenKind::Ge, start + 2),
        b'>' => return tok(TokenKind::Gt, start + 1),
        b'"' => {
            return match string_end(b, start) {
                Some(end) => tok(TokenKind::Str, end),
                None => tok(TokenKind::Error("unterminated string"), b.len()),
            };
        }
        b'`' => {
            return match src[start + 1..].find('`') {
                Some(i) => tok(TokenKind::Macro, start + 1 + i + 1),
                None => tok(TokenKind::Error("unterminated macro"), b.len()),
            };
        }
        _ => {}
    }
    match mode {
        Mode::Search => {
            let mut i = start;
            while i < b.len() && !search_special(b[i]) {
                if b[i] == b'!' && b.get(i + 1) == Some(&b'=') {
                    break;
                }
                if b[i] == b'\\' {
                    // A backslash escapes the next character (`*\"privileged\":true*`).
                    i += 1 + src[i + 1..].chars().next().map_or(0, char::len_utf8);
                    continue;
                }
                i += 1;
            }
            tok(TokenKind::Word, i)
        }
        Mode::Expr => match c {
            b'+' => tok(TokenKind::Plus, start + 1),
            b'-' => tok(TokenKind::Minus, start + 1),
            b'*' => tok(TokenKind::Star, start + 1),
            b'/' => tok(TokenKind::Slash, start + 1),
            b'%' => tok(TokenKind::Percent, start + 1),
            b'.' if at(1).is_some_and(|d| d.is_ascii_digit()) => {
                let mut i = start + 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                tok(TokenKind::Number, i)
            }
            b'.' => tok(TokenKind::Dot, start + 1),
            b'\'' => match src[start + 1..].find('\'') {
                Some(i) => tok(TokenKind::SQuote, start + 1 + i + 1),
                None => tok(TokenKind::Error("unterminated quoted field name"), b.len()),
            },
            c if ident_char(c) => {
                let mut end = start;
                ident_run(b, start, &mut end);
                if is_number(&src[start..end]) {
                    tok(TokenKind::Number, end)
                } else {
                    tok(TokenKind::Word, end)
                }
            }
            _ => {
                // One character (a whole UTF-8 sequence is never here: those are ident chars).
                tok(TokenKind::Error("unexpected character"), start + 1)
            }
        },
    }
}

/// The value of a double-quoted string token's text (quotes included): `\"` and `\\` are
/// unescaped, any other backslash is kept as written (as SPL does).
pub fn unquote(text: &str) -> String {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    unescape(inner)
}

/// A search-language value with SPL's escapes resolved: `\"` and `\\` are unescaped, any
/// other backslash is kept as written. Splunk resolves them in quoted and bare values alike
/// (`*\\lsass.exe` is `*\lsass.exe`); `\*` stays, the backslash cannot escape a wildcard.
pub fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('"' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The double-quoted form of `value` (the inverse of [`unquote`]).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str, mode: Mode) -> Vec<(TokenKind, &str)> {
        let mut pos = 0;
        let mut out = vec![];
        loop {
            let t = next(src, pos, mode);
            if t.kind == TokenKind::Eof {
                return out;
            }
            out.push((t.kind, &src[t.span.clone()]));
            pos = t.span.end;
        }
    }

    #[test]
    fn search_words() {
        use TokenKind::*;
        assert_eq!(
            kinds(
                r#"a=*\\Temp\\* x!="q\"r" -30d ```c|m``` `m(1)`|[ ]"#,
                Mode::Search
            ),
            vec![
                (Word, "a"),
                (Eq, "="),
                (Word, r"*\\Temp\\*"),
                (Word, "x"),
                (Neq, "!="),
                (Str, r#""q\"r""#),
                (Word, "-30d"),
                (Macro, "`m(1)`"),
                (Pipe, "|"),
                (LBracket, "["),
                (RBracket, "]"),
            ]
        );
    }

    #[test]
    fn expr_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("a.b+'c d'*.5 . \"x\"<=Processes.process_name", Mode::Expr),
            vec![
                (Word, "a.b"),
                (Plus, "+"),
                (SQuote, "'c d'"),
                (Star, "*"),
                (Number, ".5"),
                (Dot, "."),
                (Str, "\"x\""),
                (Le, "<="),
                (Word, "Processes.process_name"),
            ]
        );
        assert_eq!(
            kinds("1.5 10.0.0.1", Mode::Expr),
            vec![(Number, "1.5"), (Word, "10.0.0.1")]
        );
    }

    #[test]
    fn errors_and_quoting() {
        assert_eq!(
            next("  \"abc", 0, Mode::Search).kind,
            TokenKind::Error("unterminated string")
        );
        assert_eq!(
            next("`abc", 0, Mode::Expr).kind,
            TokenKind::Error("unterminated macro")
        );
        assert_eq!(
            next("#", 0, Mode::Expr).kind,
            TokenKind::Error("unexpected character")
        );
        assert_eq!(next("```x", 0, Mode::Search).kind, TokenKind::Eof);
        assert_eq!(unquote(r#""a\"b\\c\d""#), r#"a"b\c\d"#);
        assert_eq!(unquote(&quote(r#"a"b\c\d\"#)), r#"a"b\c\d\"#);
    }
}
