//! The EQL lexer: the whole text into tokens, comments (`// …`, `/* … */`) and whitespace
//! skipped.
//!
//! - A name is dot-separated segments, each plain (`[A-Za-z_@][A-Za-z0-9_@]*`, later segments may
//!   start with a digit) or backticked (`` `odd name` ``, ``` `` ``` for a backtick):
//!   `process.parent.name` is one token. A one-segment plain name directly followed by `~` takes
//!   it (`like~`, `in~`, `startsWith~`).
//! - Strings: `"…"` with the escapes `\\ \" \' \n \t \r \b \f \u{hex}` (no raw line break),
//!   `"""…"""` raw (up to two more `"` before the closing ones belong to the string), `?"…"` raw
//!   (`\"` does not end it and is kept as written). Single quotes are an error, as in
//!   Elasticsearch.
//! - Numbers: `12`, `1.5`, `.5`, `1e3`, `2.5E-4`; a unit after a number is a separate name
//!   (`5m` is `5` then `m`).

use crate::span::{ParseError, Span};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A name; `plain` is one unquoted segment (it may be a keyword); `tilde` a trailing `~`.
    Name {
        path: Vec<String>,
        plain: bool,
        tilde: bool,
    },
    Str(String),
    Number(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Pipe,
    Question,
    Bang,
    Assign,
    EqEq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Colon,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Eof,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub kind: Tok,
    pub span: Span,
}

impl Token {
    /// Whether this is the plain one-segment name `kw` (a keyword).
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.kind, Tok::Name { path, plain: true, tilde: false } if path[0] == kw)
    }
}

pub fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '@' || (!c.is_ascii() && c.is_alphabetic())
}

pub fn ident_char(c: char) -> bool {
    ident_start(c) || c.is_ascii_digit() || (!c.is_ascii() && c.is_alphanumeric())
}

type R<T> = Result<T, ParseError>;

pub fn lex(src: &str) -> R<Vec<Token>> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut pos = 0;
    loop {
        // Whitespace and comments.
        loop {
            while pos < b.len() && b[pos].is_ascii_whitespace() {
                pos += 1;
            }
            if b[pos..].starts_with(b"//") {
                pos = src[pos..].find('\n').map_or(b.len(), |i| pos + i + 1);
            } else if b[pos..].starts_with(b"/*") {
                match src[pos + 2..].find("*/") {
                    Some(i) => pos = pos + 2 + i + 2,
                    None => {
                        return Err(ParseError::at(
                            src,
                            pos,
                            "expected `*/` closing this comment, found end of input",
                        ));
                    }
                }
            } else {
                break;
            }
        }
        let start = pos;
        let Some(c) = src[pos..].chars().next() else {
            out.push(Token {
                kind: Tok::Eof,
                span: Span::new(b.len(), b.len()),
            });
            return Ok(out);
        };
        let next = src[pos + c.len_utf8()..].chars().next();
        let (kind, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            ',' => (Tok::Comma, 1),
            '|' => (Tok::Pipe, 1),
            ':' => (Tok::Colon, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '/' => (Tok::Slash, 1),
            '%' => (Tok::Percent, 1),
            '=' if next == Some('=') => (Tok::EqEq, 2),
            '=' => (Tok::Assign, 1),
            '!' if next == Some('=') => (Tok::Neq, 2),
            '!' => (Tok::Bang, 1),
            '<' if next == Some('=') => (Tok::Le, 2),
            '<' => (Tok::Lt, 1),
            '>' if next == Some('=') => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '?' if next == Some('"') => {
                let end = raw_string_end(src, start)?;
                (Tok::Str(src[start + 2..end - 1].to_string()), end - start)
            }
            '?' => (Tok::Question, 1),
            '"' if b[start..].starts_with(b"\"\"\"") => {
                let Some(i) = src[start + 3..].find("\"\"\"") else {
                    return Err(ParseError::at(
                        src,
                        start,
                        "expected `\"\"\"` closing this string, found end of input",
                    ));
                };
                let mut close = start + 3 + i;
                // `""""a""""`: quotes before the last three belong to the string.
                let mut extra = 0;
                while extra < 2 && b.get(close + 3) == Some(&b'"') {
                    close += 1;
                    extra += 1;
                }
                (
                    Tok::Str(src[start + 3..close].to_string()),
                    close + 3 - start,
                )
            }
            '"' => {
                let (value, end) = string(src, start)?;
                (Tok::Str(value), end - start)
            }
            '\'' => {
                return Err(ParseError::at(
                    src,
                    start,
                    "expected a double-quoted string, found a single quote (EQL strings use `\"`)",
                ));
            }
            '`' => name(src, start)?,
            c if ident_start(c) => name(src, start)?,
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let end = number_end(b, start);
                (Tok::Number(src[start..end].to_string()), end - start)
            }
            c => {
                return Err(ParseError::at(
                    src,
                    start,
                    format!("expected a token, found {c:?}"),
                ));
            }
        };
        pos = start + len;
        out.push(Token {
            kind,
            span: Span::new(start, pos),
        });
    }
}

fn number_end(b: &[u8], start: usize) -> usize {
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(start);
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            i = digits(j);
        }
    }
    i
}

/// `?"…"` from `start` (on the `?`): the offset after the closing quote.
fn raw_string_end(src: &str, start: usize) -> R<usize> {
    let b = src.as_bytes();
    let mut i = start + 2;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'"') => i += 2,
            b'"' => return Ok(i + 1),
            b'\n' | b'\r' => break,
            _ => i += 1,
        }
    }
    Err(ParseError::at(
        src,
        start,
        "expected `\"` closing this string on its line, found the end of the line",
    ))
}

/// A `"…"` string from `start`: its value and the offset after it.
fn string(src: &str, start: usize) -> R<(String, usize)> {
    let mut value = String::new();
    let mut i = start + 1;
    while let Some(c) = src[i..].chars().next() {
        match c {
            '"' => return Ok((value, i + 1)),
            '\n' | '\r' => break,
            '\\' => {
                let e = src[i + 1..].chars().next();
                let (ch, len) = match e {
                    Some('\\') => ('\\', 1),
                    Some('"') => ('"', 1),
                    Some('\'') => ('\'', 1),
                    Some('n') => ('\n', 1),
                    Some('t') => ('\t', 1),
                    Some('r') => ('\r', 1),
                    Some('b') => ('\u{8}', 1),
                    Some('f') => ('\u{c}', 1),
                    Some('u') => unicode_escape(src, i)?,
                    _ => {
                        let found = e.map_or("end of input".to_string(), |e| format!("`\\{e}`"));
                        return Err(ParseError::at(
                            src,
                            i,
                            format!(
                                "expected an escape (`\\\\ \\\" \\' \\n \\t \\r \\b \\f \\u{{hex}}`), found {found}"
                            ),
                        ));
                    }
                };
                value.push(ch);
                i += 1 + len;
            }
            c => {
                value.push(c);
                i += c.len_utf8();
            }
        }
    }
    Err(ParseError::at(
        src,
        start,
        "expected `\"` closing this string on its line, found the end of the line",
    ))
}

/// `\u{hex}` at `i` (on the backslash): the character and the length after the backslash.
fn unicode_escape(src: &str, i: usize) -> R<(char, usize)> {
    let rest = &src[i + 2..];
    let bad = || {
        ParseError::at(
            src,
            i,
            "expected `\\u{` then 2 to 8 hexadecimal digits of a character and `}`",
        )
    };
    let inner = rest.strip_prefix('{').ok_or_else(bad)?;
    let close = inner.find('}').ok_or_else(bad)?;
    let hex = &inner[..close];
    if !(2..=8).contains(&hex.len()) || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let ch = u32::from_str_radix(hex, 16)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(bad)?;
    Ok((ch, 1 + 1 + close + 1))
}

/// A name from `start`: the token and its length.
fn name(src: &str, start: usize) -> R<(Tok, usize)> {
    let mut path = Vec::new();
    let mut i = start;
    let mut plain = true;
    loop {
        let first = path.is_empty();
        if src[i..].starts_with('`') {
            plain = false;
            let mut seg = String::new();
            let mut j = i + 1;
            loop {
                match src[j..].chars().next() {
                    None => {
                        return Err(ParseError::at(
                            src,
                            i,
                            "expected a closing backtick for this name, found end of input",
                        ));
                    }
                    Some('`') if src[j + 1..].starts_with('`') => {
                        seg.push('`');
                        j += 2;
                    }
                    Some('`') => {
                        j += 1;
                        break;
                    }
                    Some(c) => {
                        seg.push(c);
                        j += c.len_utf8();
                    }
                }
            }
            if seg.is_empty() {
                return Err(ParseError::at(
                    src,
                    i,
                    "expected a name between the backticks, found ``",
                ));
            }
            path.push(seg);
            i = j;
        } else {
            let len: usize = src[i..]
                .chars()
                .enumerate()
                .take_while(|&(n, c)| {
                    if n == 0 && first {
                        ident_start(c)
                    } else {
                        ident_char(c)
                    }
                })
                .map(|(_, c)| c.len_utf8())
                .sum();
            path.push(src[i..i + len].to_string());
            i += len;
        }
        // Another segment?
        let after = src[i..].strip_prefix('.').and_then(|r| r.chars().next());
        if after.is_some_and(|c| c == '`' || ident_char(c)) {
            i += 1;
            plain = false;
        } else {
            break;
        }
    }
    let mut tilde = false;
    if plain && src[i..].starts_with('~') {
        tilde = true;
        i += 1;
    }
    Ok((Tok::Name { path, plain, tilde }, i - start))
}
