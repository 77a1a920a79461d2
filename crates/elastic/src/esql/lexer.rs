//! The ES|QL lexer. The parser asks for the token at a byte offset in the mode it is in
//! ([`next`]); nothing is lexed ahead, so a command can switch modes between its arguments.
//!
//! - [`Mode::Expr`]: expressions. A name is lexed whole with its dots and backquoted parts
//!   (`` source.`as`.organization.name ``); numbers, strings (`"…"` with only the `\t \n \r \"
//!   \\` escapes, `"""…"""` raw; neither spans lines), parameters (`?`, `?name`, `?1`, `??name`), operators.
//! - [`Mode::Pattern`]: the names of `KEEP`, `DROP`, `RENAME`, `ENRICH … ON/WITH` and
//!   `METADATA`, where parts may hold `*` and start with a digit (`Esql.*`).
//! - [`Mode::Source`]: index patterns and policy names (`logs-endpoint.events.*`, `remote:idx`),
//!   a run of anything but whitespace, `,`, `|`, `"`, `` ` ``, `=`, brackets and comments.
//!
//! Whitespace (space, tab, CR, LF), `// line` and `/* block */` comments (nested) separate
//! tokens and are skipped.

use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Expr,
    Pattern,
    Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A name: parts separated by `.`, each bare or backquoted.
    Name,
    Int,
    Decimal,
    /// `"…"`; the span includes the quotes.
    Str,
    /// `"""…"""`; the span includes the quotes.
    TripleStr,
    Param,
    /// Source mode: an unquoted index pattern.
    Source,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Assign,
    Eq,
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
    /// `::`
    Cast,
    Colon,
    Pipe,
    Eof,
    /// Something that is not a token: an unterminated string, quote or comment, a stray
    /// character.
    Error(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Skip whitespace and comments from `pos`. `Err(start)` for a block comment that is never
/// closed (starting at `start`).
pub fn skip_trivia(src: &str, mut pos: usize) -> Result<usize, usize> {
    let b = src.as_bytes();
    loop {
        while pos < b.len() && is_ws(b[pos]) {
            pos += 1;
        }
        let rest = &b[pos.min(b.len())..];
        if rest.starts_with(b"//") {
            pos = match src[pos..].find('\n') {
                Some(i) => pos + i + 1,
                None => b.len(),
            };
        } else if rest.starts_with(b"/*") {
            let start = pos;
            let mut depth = 0usize;
            loop {
                if pos >= b.len() {
                    return Err(start);
                }
                if b[pos..].starts_with(b"/*") {
                    depth += 1;
                    pos += 2;
                } else if b[pos..].starts_with(b"*/") {
                    depth -= 1;
                    pos += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    pos += 1;
                }
            }
        } else {
            return Ok(pos);
        }
    }
}

fn is_letter(c: u8) -> bool {
    c.is_ascii_alphabetic()
}

fn is_body(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_pattern_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'*')
}

/// Whether `part` can be written without backquotes in an expression: a letter then letters,
/// digits and `_`; or `_`/`@` then at least one of those.
pub fn is_plain_part(part: &str) -> bool {
    let b = part.as_bytes();
    match b.first() {
        Some(&c) if is_letter(c) => b[1..].iter().all(|&c| is_body(c)),
        Some(b'_' | b'@') => b.len() > 1 && b[1..].iter().all(|&c| is_body(c)),
        _ => false,
    }
}

/// Whether `part` can be written without backquotes in a name pattern (`KEEP`, `DROP`, …).
pub fn is_plain_pattern_part(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(is_pattern_char)
}

/// The end of the bare name part at `i` (in `mode`), or `None` if none starts there.
fn plain_part_end(b: &[u8], i: usize, mode: Mode) -> Option<usize> {
    let mut j = i;
    match mode {
        Mode::Pattern => {
            while j < b.len() && is_pattern_char(b[j]) {
                j += 1;
            }
        }
        _ => match b.get(i) {
            Some(&c) if is_letter(c) => {
                j += 1;
                while j < b.len() && is_body(b[j]) {
                    j += 1;
                }
            }
            Some(b'_' | b'@') => {
                j += 1;
                while j < b.len() && is_body(b[j]) {
                    j += 1;
                }
                if j == i + 1 {
                    return None;
                }
            }
            _ => {}
        },
    }
    (j > i).then_some(j)
}

/// The end of the backquoted part at `i` (on the `` ` ``): `Some(Err(()))` if unterminated.
fn quoted_part_end(b: &[u8], i: usize) -> Option<Result<usize, ()>> {
    if b.get(i) != Some(&b'`') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'`' {
            if b.get(j + 1) == Some(&b'`') {
                j += 2;
                continue;
            }
            return Some(Ok(j + 1));
        }
        j += 1;
    }
    Some(Err(()))
}

/// A name (parts and dots) at `start`; `None` if no part starts there.
fn name_end(b: &[u8], start: usize, mode: Mode) -> Option<Result<usize, &'static str>> {
    let part = |i: usize| -> Option<Result<usize, &'static str>> {
        match quoted_part_end(b, i) {
            Some(Ok(e)) => Some(Ok(e)),
            Some(Err(())) => Some(Err("unterminated quoted name")),
            None => plain_part_end(b, i, mode).map(Ok),
        }
    };
    let mut end = match part(start)? {
        Ok(e) => e,
        Err(m) => return Some(Err(m)),
    };
    while b.get(end) == Some(&b'.') {
        match part(end + 1) {
            Some(Ok(e)) => end = e,
            Some(Err(m)) => return Some(Err(m)),
            None => break,
        }
    }
    Some(Ok(end))
}

/// The parts of a name token's text, backquotes removed, joined by `.`.
pub fn name_value(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' {
            let mut j = i + 1;
            let mut seg = String::new();
            while j < b.len() {
                if b[j] == b'`' {
                    if b.get(j + 1) == Some(&b'`') {
                        seg.push('`');
                        j += 2;
                        continue;
                    }
                    break;
                }
                let c = text[j..].chars().next().unwrap_or('\u{fffd}');
                seg.push(c);
                j += c.len_utf8();
            }
            out.push_str(&seg);
            i = j + 1;
        } else {
            let c = text[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// A source-mode character that ends an unquoted index pattern.
fn source_special(b: &[u8], i: usize) -> bool {
    let c = b[i];
    is_ws(c)
        || matches!(
            c,
            b',' | b'|' | b'"' | b'`' | b'=' | b'(' | b')' | b'[' | b']'
        )
        || (c == b'/' && matches!(b.get(i + 1), Some(b'/' | b'*')))
}

/// Whether `text` can be written as an unquoted source (it is then one source token).
pub fn is_plain_source(text: &str) -> bool {
    let b = text.as_bytes();
    !b.is_empty()
        && (0..b.len()).all(|i| !source_special(b, i))
        && !text.eq_ignore_ascii_case("metadata")
}

/// Where the `"…"` string at `start` ends; `Err` with the problem and where it is.
fn string_end(b: &[u8], start: usize) -> Result<usize, (&'static str, usize)> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => match b.get(i + 1) {
                Some(b't' | b'n' | b'r' | b'"' | b'\\') => i += 2,
                Some(_) => {
                    return Err((
                        "invalid escape in string (only \\t \\n \\r \\\" \\\\; or use \"\"\"…\"\"\")",
                        i,
                    ));
                }
                None => return Err(("unterminated string", start)),
            },
            b'"' => return Ok(i + 1),
            b'\n' | b'\r' => {
                return Err((
                    "unterminated string (a line break before the closing `\"`)",
                    start,
                ));
            }
            _ => i += 1,
        }
    }
    Err(("unterminated string", start))
}

/// Where the `"""…"""` string at `start` ends: at the first `"""`, taking up to two more `"`
/// (`"""a""""` is `a"`). No line break inside, as in Elasticsearch's lexer.
fn triple_end(src: &str, start: usize) -> Result<usize, &'static str> {
    let Some(i) = src[start + 3..].find("\"\"\"") else {
        return Err("unterminated \"\"\" string");
    };
    if src[start + 3..start + 3 + i].contains(['\n', '\r']) {
        return Err("line break in \"\"\" string (use \"…\" with \\n)");
    }
    let mut end = start + 3 + i + 3;
    let b = src.as_bytes();
    for _ in 0..2 {
        if b.get(end) == Some(&b'"') {
            end += 1;
        }
    }
    Ok(end)
}

/// The value of a string token's text.
pub fn string_value(text: &str) -> String {
    if text.len() >= 6 && text.starts_with("\"\"\"") {
        return text[3..text.len() - 3].to_string();
    }
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(c) => out.push(c),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A string literal for `value`: `"""…"""` when the value holds `"` or `\` and can be written
/// so (no `"""`, no line break), `"…"` with escapes otherwise.
pub fn quote(value: &str) -> String {
    let raw_ok = !value.contains("\"\"\"") && !value.contains(['\n', '\r']);
    if raw_ok && value.contains(['"', '\\']) {
        return format!("\"\"\"{value}\"\"\"");
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn digits_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// A number at `start` (a digit, or `.` then a digit): its end and whether it is an integer.
fn number_end(b: &[u8], start: usize) -> (usize, bool) {
    let mut i = digits_end(b, start);
    let mut int = true;
    if b.get(i) == Some(&b'.') && (i > start || b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
        int = false;
        i = digits_end(b, i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            int = false;
            i = digits_end(b, j);
        }
    }
    (i, int)
}

/// The token at `pos` (after skipping trivia) in `mode`.
pub fn next(src: &str, pos: usize, mode: Mode) -> Token {
    let b = src.as_bytes();
    let start = match skip_trivia(src, pos) {
        Ok(s) => s,
        Err(s) => {
            return Token {
                kind: TokenKind::Error("unterminated /* comment"),
                span: Span::new(s, b.len()),
            };
        }
    };
    let tok = |kind, end: usize| Token {
        kind,
        span: Span::new(start, end),
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
        b'=' if at(1) == Some(b'=') => return tok(TokenKind::Eq, start + 2),
        b'=' => return tok(TokenKind::Assign, start + 1),
        b'"' => {
            if src[start..].starts_with("\"\"\"") {
                return match triple_end(src, start) {
                    Ok(end) => tok(TokenKind::TripleStr, end),
                    Err(m) => tok(TokenKind::Error(m), b.len()),
                };
            }
            return match string_end(b, start) {
                Ok(end) => tok(TokenKind::Str, end),
                // The error token starts where the problem is.
                Err((m, at)) => Token {
                    kind: TokenKind::Error(m),
                    span: Span::new(at, b.len()),
                },
            };
        }
        _ => {}
    }
    if mode == Mode::Source {
        let mut i = start;
        while i < b.len() && !source_special(b, i) {
            i += 1;
        }
        // `i > start`: every special character was handled above or ends the token, except a
        // `` ` ``, which is not a source.
        if i == start {
            return tok(TokenKind::Error("unexpected character"), start + 1);
        }
        // Keep to character boundaries (`source_special` looks at ASCII bytes only).
        return tok(TokenKind::Source, i);
    }
    if c == b'`'
        || is_letter(c)
        || c == b'_'
        || c == b'@'
        || (mode == Mode::Pattern && is_pattern_char(c))
    {
        match name_end(b, start, mode) {
            Some(Ok(end)) => return tok(TokenKind::Name, end),
            Some(Err(m)) => return tok(TokenKind::Error(m), b.len()),
            None => {}
        }
    }
    if c.is_ascii_digit() || (c == b'.' && at(1).is_some_and(|d| d.is_ascii_digit())) {
        let (end, int) = number_end(b, start);
        return tok(
            if int {
                TokenKind::Int
            } else {
                TokenKind::Decimal
            },
            end,
        );
    }
    match c {
        b'!' if at(1) == Some(b'=') => tok(TokenKind::Neq, start + 2),
        b'<' if at(1) == Some(b'=') => tok(TokenKind::Le, start + 2),
        b'<' => tok(TokenKind::Lt, start + 1),
        b'>' if at(1) == Some(b'=') => tok(TokenKind::Ge, start + 2),
        b'>' => tok(TokenKind::Gt, start + 1),
        b'+' => tok(TokenKind::Plus, start + 1),
        b'-' => tok(TokenKind::Minus, start + 1),
        b'*' => tok(TokenKind::Star, start + 1),
        b'/' => tok(TokenKind::Slash, start + 1),
        b'%' => tok(TokenKind::Percent, start + 1),
        b'{' => tok(TokenKind::LBrace, start + 1),
        b'}' => tok(TokenKind::RBrace, start + 1),
        b':' if at(1) == Some(b':') => tok(TokenKind::Cast, start + 2),
        b':' => tok(TokenKind::Colon, start + 1),
        b'?' => {
            let mut i = start + 1;
            if b.get(i) == Some(&b'?') {
                i += 1;
            }
            let body = i;
            if b.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i = digits_end(b, i);
            } else if b.get(i).is_some_and(|&c| is_letter(c) || c == b'_') {
                i += 1;
                while i < b.len() && is_body(b[i]) {
                    i += 1;
                }
            }
            if body == start + 2 && i == body {
                return tok(TokenKind::Error("`??` needs a name"), i);
            }
            tok(TokenKind::Param, i)
        }
        _ => {
            let len = src[start..].chars().next().map_or(1, char::len_utf8);
            tok(TokenKind::Error("unexpected character"), start + len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str, mode: Mode) -> Vec<(TokenKind, &str)> {
        let mut out = vec![];
        let mut pos = 0;
        loop {
            let t = next(src, pos, mode);
            if t.kind == TokenKind::Eof {
                return out;
            }
            out.push((t.kind, &src[t.span.start..t.span.end]));
            if matches!(t.kind, TokenKind::Error(_)) {
                return out;
            }
            pos = t.span.end;
        }
    }

    #[test]
    fn names_numbers_strings() {
        use TokenKind::*;
        assert_eq!(
            kinds("a.b `c d`.e @timestamp 1 2.5 .5 1e3 3.", Mode::Expr),
            vec![
                (Name, "a.b"),
                (Name, "`c d`.e"),
                (Name, "@timestamp"),
                (Int, "1"),
                (Decimal, "2.5"),
                (Decimal, ".5"),
                (Decimal, "1e3"),
                (Decimal, "3.")
            ]
        );
        assert_eq!(
            kinds(r#""a\"b" """x"y""" """z"""" "#, Mode::Expr),
            vec![
                (Str, r#""a\"b""#),
                (TripleStr, r#""""x"y""""#),
                (TripleStr, r#""""z"""""#)
            ]
        );
        assert_eq!(string_value(r#""a\"b\\\n""#), "a\"b\\\n");
        assert_eq!(string_value(r#""""z"""""#), "z\"");
        assert_eq!(name_value("source.`as`.`x``y`"), "source.as.x`y");
    }

    #[test]
    fn modes_and_comments() {
        use TokenKind::*;
        assert_eq!(
            kinds(
                "logs-*, remote:x/y // c\n /* a /* b */ */ metadata",
                Mode::Source
            ),
            vec![
                (Source, "logs-*"),
                (Comma, ","),
                (Source, "remote:x/y"),
                (Source, "metadata")
            ]
        );
        assert_eq!(
            kinds("Esql.* 1x", Mode::Pattern),
            vec![(Name, "Esql.*"), (Name, "1x")]
        );
        assert_eq!(
            kinds("a::b:c ?x ?? ", Mode::Expr),
            vec![
                (Name, "a"),
                (Cast, "::"),
                (Name, "b"),
                (Colon, ":"),
                (Name, "c"),
                (Param, "?x"),
                (Error("`??` needs a name"), "??")
            ]
        );
        assert_eq!(
            kinds("/* open", Mode::Expr),
            vec![(Error("unterminated /* comment"), "/* open")]
        );
        // The error token starts at the bad escape.
        let t = next(r#" "a\d""#, 0, Mode::Expr);
        assert!(matches!(t.kind, Error(m) if m.starts_with("invalid escape")));
        assert_eq!(t.span.start, 3);
    }

    #[test]
    fn quoting() {
        for v in [
            "", "a", "a\"b", "a\\b", "x\"", "x\"\"", "\"", "a\"\"\"b", "l\nx\\", "\t",
        ] {
            let q = quote(v);
            let t = next(&q, 0, Mode::Expr);
            assert_eq!(t.span.end, q.len(), "{q}");
            assert_eq!(string_value(&q), v, "{q}");
        }
        assert!(is_plain_part("_a") && !is_plain_part("_") && !is_plain_part("1a"));
        assert!(
            is_plain_source("logs-*") && !is_plain_source("METADATA") && !is_plain_source("a//b")
        );
    }
}
