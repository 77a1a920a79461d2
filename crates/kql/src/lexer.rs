//! The KQL lexer: the whole text is cut into tokens once ([`tokenize`]); the parser then looks
//! ahead by index. KQL's lexical grammar does not depend on where a token stands, with one
//! exception handled here: the typed literals `datetime(…)`, `time(…)`, `timespan(…)` and
//! `guid(…)`, whose inside is raw text (`datetime(2021-01-01T10:00:00Z)`) read up to the first `)`.
//!
//! Whitespace (ASCII and the Unicode spaces Kusto's grammar lists: no-break spaces U+00A0 and
//! U+202F, the U+2000…U+200B spaces, U+3000, the byte order mark, …) and `//` comments separate
//! tokens and are dropped. Identifiers are Kusto's: a letter, `_` or `$` then letters, digits and
//! `_`, or digits followed by a letter or `_` (`4625Events`) when the word is not a number or a
//! timespan (`1d`, `1e5`); letters beyond ASCII are accepted too. Problems (an unterminated
//! string, a stray character) are [`TokenKind::Error`] tokens: the parser reports them where it
//! meets them, with what it expected there.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A name: `DeviceProcessEvents`, `$left`, `has_any`, `in~`, `!has`, `!in~`, `!startswith_cs`
    /// (the negated and `~` forms of word operators are one token).
    Ident,
    /// `12`, `1.5`, `1e5`, `0x1F`.
    Number,
    /// A number with a time unit: `1d`, `30m`, `100ms`, `1tick`, `2.5hours`.
    Timespan,
    /// Any string literal: `"…"`, `'…'`, `@"…"`, `@'…'`, ```` ```…``` ````, `h"…"`, `h@'…'`.
    Str,
    /// `datetime(…)`, `time(…)`, `timespan(…)`, `guid(…)` with their raw inside.
    Typed,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Semi,
    Pipe,
    Dot,
    DotDot,
    Colon,
    Eq,
    EqEq,
    /// `!=` or `<>`.
    Neq,
    /// `=~`.
    EqTilde,
    /// `!~`.
    NeqTilde,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    /// `=>` (in `scan`).
    Arrow,
    Eof,
    /// Something that is not a token: an unterminated string, a stray character.
    Error(LexError),
}

/// What is wrong with an [`TokenKind::Error`] token (one byte, so tokens stay small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexError {
    UnexpectedCharacter,
    UnterminatedString,
    UnterminatedMultiline,
    UnterminatedTyped,
    InvalidNumber,
}

impl LexError {
    pub fn message(self) -> &'static str {
        match self {
            LexError::UnexpectedCharacter => "unexpected character",
            LexError::UnterminatedString => "unterminated string",
            LexError::UnterminatedMultiline => "unterminated multi-line string",
            LexError::UnterminatedTyped => "unterminated typed literal",
            LexError::InvalidNumber => "invalid number",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

/// Time units a number may carry (`1d`, `10ms`, `1tick`).
const TIME_UNITS: &[&str] = &[
    "d",
    "day",
    "days",
    "h",
    "hr",
    "hrs",
    "hour",
    "hours",
    "m",
    "min",
    "minute",
    "minutes",
    "s",
    "sec",
    "second",
    "seconds",
    "ms",
    "milli",
    "millis",
    "millisec",
    "millisecond",
    "milliseconds",
    "micro",
    "micros",
    "microsec",
    "microsecond",
    "microseconds",
    "nano",
    "nanos",
    "nanosec",
    "nanosecond",
    "nanoseconds",
    "tick",
    "ticks",
];

/// The literal types whose inside is raw text.
pub const TYPED_LITERALS: &[&str] = &["datetime", "time", "timespan", "guid"];

/// Byte classes, looked up once per byte: the lexer's inner loops are a table load.
const IDENT: u8 = 1;
const IDENT_START: u8 = 2;
const SPACE: u8 = 4;
const IDENT_ASCII: u8 = 8;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 {
            t[c] |= IDENT;
        }
        if b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80 {
            t[c] |= IDENT_START;
        }
        if b.is_ascii_whitespace() {
            t[c] |= SPACE;
        }
        if b.is_ascii_alphanumeric() || b == b'_' {
            t[c] |= IDENT_ASCII;
        }
        c += 1;
    }
    t
};

pub fn ident_start(c: u8) -> bool {
    CLASS[c as usize] & IDENT_START != 0
}

pub fn ident_char(c: u8) -> bool {
    CLASS[c as usize] & IDENT != 0
}

/// The non-ASCII characters Kusto reads as whitespace.
pub fn is_unicode_space(c: char) -> bool {
    matches!(
        c,
        '\u{a0}' | '\u{1680}' | '\u{180e}' | '\u{2000}'
            ..='\u{200b}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// The length of the Unicode whitespace character starting at byte `i`, if there is one.
fn unicode_space_at(b: &[u8], i: usize) -> Option<usize> {
    let c = *b.get(i)?;
    if c < 0x80 {
        return None;
    }
    let len = match c {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return None,
    };
    let ch = std::str::from_utf8(b.get(i..i + len)?)
        .ok()?
        .chars()
        .next()?;
    is_unicode_space(ch).then_some(len)
}

/// Whether `s` lexes as one plain identifier token (`$` only first).
pub fn is_plain_ident(s: &str) -> bool {
    if s.is_empty() || s.starts_with('!') {
        return false;
    }
    let t = next(s, 0);
    t.kind == TokenKind::Ident && t.span == (0..s.len())
}

/// Cut `src` into tokens; the last is [`TokenKind::Eof`]. Lexing stops after the first error
/// token (what follows an unterminated string is not worth reading).
pub fn tokenize(src: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(src.len() / 4 + 1);
    let mut pos = 0;
    loop {
        let t = next(src, pos);
        pos = t.span.end;
        let stop = matches!(t.kind, TokenKind::Eof | TokenKind::Error(_));
        out.push(t);
        if stop {
            if !matches!(out.last().map(|t| t.kind), Some(TokenKind::Eof)) {
                out.push(Token {
                    kind: TokenKind::Eof,
                    span: src.len()..src.len(),
                });
            }
            return out;
        }
    }
}

/// Skip whitespace and `//` comments from `pos`.
pub fn skip_trivia(src: &str, mut pos: usize) -> usize {
    let b = src.as_bytes();
    loop {
        while pos < b.len() && CLASS[b[pos] as usize] & SPACE != 0 {
            pos += 1;
        }
        if pos + 1 < b.len() && b[pos] == b'/' && b[pos + 1] == b'/' {
            pos = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |i| pos + i);
        } else if let Some(len) = unicode_space_at(b, pos) {
            pos += len;
        } else {
            return pos;
        }
    }
}

/// Where a quoted string whose opening quote is at `start` ends (after the closing quote).
/// `verbatim`: a doubled quote stands for one, backslashes are plain; otherwise a backslash
/// escapes the next character. Strings may not span lines: an unterminated one is an error
/// up to the end of its line.
fn quoted_end(b: &[u8], start: usize, verbatim: bool) -> Result<usize, usize> {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        // Jump to the next byte that matters: the quote, a line end or a backslash.
        let Some(k) = (if verbatim {
            memchr::memchr2(q, b'\n', &b[i..])
        } else {
            memchr::memchr3(q, b'\n', b'\\', &b[i..])
        }) else {
            break;
        };
        i += k;
        let c = b[i];
        if c == q {
            if verbatim && b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return Ok(i + 1);
        }
        if c == b'\n' {
            return Err(i);
        }
        if c == b'\\' && !verbatim && b.get(i + 1) != Some(&b'\n') {
            i += 2;
            continue;
        }
        i += 1;
    }
    Err(b.len())
}

const UNTERMINATED: LexError = LexError::UnterminatedString;

/// The token starting at `pos` (after trivia).
pub fn next(src: &str, pos: usize) -> Token {
    let b = src.as_bytes();
    let start = skip_trivia(src, pos);
    let tok = |kind, end: usize| Token {
        kind,
        span: start..end.min(b.len()),
    };
    if start >= b.len() {
        return tok(TokenKind::Eof, b.len());
    }
    let at = |i: usize| b.get(start + i).copied();
    let c = b[start];
    use TokenKind as K;
    match c {
        b'(' => tok(K::LParen, start + 1),
        b')' => tok(K::RParen, start + 1),
        b'[' => tok(K::LBracket, start + 1),
        b']' => tok(K::RBracket, start + 1),
        b'{' => tok(K::LBrace, start + 1),
        b'}' => tok(K::RBrace, start + 1),
        b',' => tok(K::Comma, start + 1),
        b';' => tok(K::Semi, start + 1),
        b'|' => tok(K::Pipe, start + 1),
        b':' => tok(K::Colon, start + 1),
        b'+' => tok(K::Plus, start + 1),
        b'-' => tok(K::Minus, start + 1),
        b'*' => tok(K::Star, start + 1),
        b'/' => tok(K::Slash, start + 1),
        b'%' => tok(K::Percent, start + 1),
        b'.' if at(1) == Some(b'.') => tok(K::DotDot, start + 2),
        b'.' => tok(K::Dot, start + 1),
        b'=' => match at(1) {
            Some(b'=') => tok(K::EqEq, start + 2),
            Some(b'~') => tok(K::EqTilde, start + 2),
            Some(b'>') => tok(K::Arrow, start + 2),
            _ => tok(K::Eq, start + 1),
        },
        b'!' => match at(1) {
            Some(b'=') => tok(K::Neq, start + 2),
            Some(b'~') => tok(K::NeqTilde, start + 2),
            Some(d) if d.is_ascii_alphabetic() => {
                let end = word_end(b, start + 1);
                tok(K::Ident, end)
            }
            _ => tok(K::Error(LexError::UnexpectedCharacter), start + 1),
        },
        b'<' => match at(1) {
            Some(b'=') => tok(K::Le, start + 2),
            Some(b'>') => tok(K::Neq, start + 2),
            _ => tok(K::Lt, start + 1),
        },
        b'>' if at(1) == Some(b'=') => tok(K::Ge, start + 2),
        b'>' => tok(K::Gt, start + 1),
        b'"' | b'\'' => match quoted_end(b, start, false) {
            Ok(end) => tok(K::Str, end),
            Err(end) => tok(K::Error(UNTERMINATED), end),
        },
        b'@' if matches!(at(1), Some(b'"' | b'\'')) => match quoted_end(b, start + 1, true) {
            Ok(end) => tok(K::Str, end),
            Err(end) => tok(K::Error(UNTERMINATED), end),
        },
        b'`' if b[start..].starts_with(b"```") => match src[start + 3..].find("```") {
            Some(i) => tok(K::Str, start + 3 + i + 3),
            None => tok(K::Error(LexError::UnterminatedMultiline), b.len()),
        },
        b'0'..=b'9' => number(b, start),
        c if ident_start(c) => {
            let end = word_end(b, start);
            let word = &src[start..end];
            // Obfuscated strings: h"…", H'…', h@"…".
            if matches!(word, "h" | "H") {
                match (at(1), at(2)) {
                    (Some(b'"' | b'\''), _) => {
                        return match quoted_end(b, start + 1, false) {
                            Ok(end) => tok(K::Str, end),
                            Err(end) => tok(K::Error(UNTERMINATED), end),
                        };
                    }
                    (Some(b'@'), Some(b'"' | b'\'')) => {
                        return match quoted_end(b, start + 2, true) {
                            Ok(end) => tok(K::Str, end),
                            Err(end) => tok(K::Error(UNTERMINATED), end),
                        };
                    }
                    _ => {}
                }
            }
            if matches!(c, b'd' | b't' | b'g') && TYPED_LITERALS.contains(&word) {
                let open = skip_trivia(src, end);
                if b.get(open) == Some(&b'(') {
                    return match src[open..].find(')') {
                        Some(i) => tok(K::Typed, open + i + 1),
                        None => tok(K::Error(LexError::UnterminatedTyped), b.len()),
                    };
                }
            }
            tok(K::Ident, end)
        }
        _ => {
            let len = src[start..].chars().next().map_or(1, char::len_utf8);
            tok(K::Error(LexError::UnexpectedCharacter), start + len)
        }
    }
}

/// The end of an identifier-like word from `i`; `in~` and `!in~` keep their `~`.
fn word_end(b: &[u8], mut i: usize) -> usize {
    if b.get(i) == Some(&b'$') {
        i += 1;
    }
    let start = i;
    loop {
        // ASCII letters, digits and `_` in a tight loop; a byte beyond ASCII continues the
        // word unless it starts one of Kusto's Unicode spaces.
        while i < b.len() && CLASS[b[i] as usize] & IDENT_ASCII != 0 {
            i += 1;
        }
        if i < b.len() && b[i] >= 0x80 && unicode_space_at(b, i).is_none() {
            i += 1;
            continue;
        }
        break;
    }
    if &b[start..i] == b"in" && b.get(i) == Some(&b'~') {
        i += 1;
    }
    i
}

fn number(b: &[u8], start: usize) -> Token {
    let tok = |kind, end: usize| Token {
        kind,
        span: start..end,
    };
    let mut i = start;
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        if i < b.len() && ident_char(b[i]) {
            return tok(TokenKind::Error(LexError::InvalidNumber), word_end(b, i));
        }
        return tok(TokenKind::Number, i);
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    } else if b.get(i) == Some(&b'.')
        && b.get(i + 1)
            .is_none_or(|&c| !matches!(c, b'.' | b'[' | b'$') && !ident_char(c))
    {
        // `1000.`: a real without fraction digits (not `1..2`, `1.x`, `1.['x']`).
        i += 1;
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < b.len() && matches!(b[j], b'+' | b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    if i < b.len() && ident_char(b[i]) {
        let end = word_end(b, i);
        let unit = std::str::from_utf8(&b[i..end]).unwrap_or("");
        if TIME_UNITS.contains(&unit) {
            return tok(TokenKind::Timespan, end);
        }
        // Digits then a letter or `_`: an identifier (`4625Events`), unless the number had a
        // fraction or an exponent.
        let digits_only = b[start..i].iter().all(u8::is_ascii_digit);
        if digits_only {
            return tok(TokenKind::Ident, end);
        }
        return tok(TokenKind::Error(LexError::InvalidNumber), end);
    }
    tok(TokenKind::Number, i)
}

/// Which kind of string literal a `Str` token's text is, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrForm {
    /// `"…"` or `'…'` with backslash escapes.
    Plain,
    /// `@"…"` / `@'…'`: backslashes are plain, a doubled quote is one quote.
    Verbatim,
    /// ```` ```…``` ````: raw text, may span lines.
    Multiline,
}

/// Split a `Str` token's text into (obfuscated, form, value).
pub fn string_value(text: &str) -> (bool, StrForm, crate::ast::Text) {
    let (obf, rest) = match text.as_bytes().first() {
        Some(b'h' | b'H') => (true, &text[1..]),
        _ => (false, text),
    };
    if let Some(inner) = rest.strip_prefix("```").and_then(|r| r.strip_suffix("```")) {
        return (obf, StrForm::Multiline, inner.into());
    }
    if let Some(r) = rest.strip_prefix('@') {
        let q = r.chars().next().unwrap_or('"');
        let inner = r.get(1..r.len().saturating_sub(1)).unwrap_or("");
        if !inner.contains(q) {
            return (obf, StrForm::Verbatim, inner.into());
        }
        let doubled: String = [q, q].iter().collect();
        return (
            obf,
            StrForm::Verbatim,
            inner.replace(&doubled, &q.to_string()).into(),
        );
    }
    let inner = rest.get(1..rest.len().saturating_sub(1)).unwrap_or("");
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return (obf, StrForm::Plain, inner.into());
    }
    let mut out = crate::ast::Text::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let mut chars = rest[i + 1..].chars();
        let next = chars.next();
        rest = chars.as_str();
        match next {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(n @ ('"' | '\'' | '\\')) => out.push(n),
            // Kept as written (Kusto rejects them; detection authors write them in regexes).
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out.push_str(rest);
    (obf, StrForm::Plain, out)
}

/// A double-quoted literal with the value `value` (the inverse of the plain form of
/// [`string_value`]).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// 1-based line and column (in characters) of byte `offset` in `src`.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, &str)> {
        tokenize(src)
            .into_iter()
            .filter(|t| t.kind != TokenKind::Eof)
            .map(|t| (t.kind, &src[t.span]))
            .collect()
    }

    #[test]
    fn tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("T | where a !has 'x' and b in~ (1d, 1e5) // c\n| x !in~ @\"a\\\" h'q"),
            vec![
                (Ident, "T"),
                (Pipe, "|"),
                (Ident, "where"),
                (Ident, "a"),
                (Ident, "!has"),
                (Str, "'x'"),
                (Ident, "and"),
                (Ident, "b"),
                (Ident, "in~"),
                (LParen, "("),
                (Timespan, "1d"),
                (Comma, ","),
                (Number, "1e5"),
                (RParen, ")"),
                (Pipe, "|"),
                (Ident, "x"),
                (Ident, "!in~"),
                (Str, "@\"a\\\""),
                (Error(LexError::UnterminatedString), "h'q"),
            ]
        );
        assert_eq!(
            kinds("datetime(2021-01-01 10:00) 1..2 <> =~ !~ => $left.x 0x1F 100ms ```a\nb```"),
            vec![
                (Typed, "datetime(2021-01-01 10:00)"),
                (Number, "1"),
                (DotDot, ".."),
                (Number, "2"),
                (Neq, "<>"),
                (EqTilde, "=~"),
                (NeqTilde, "!~"),
                (Arrow, "=>"),
                (Ident, "$left"),
                (Dot, "."),
                (Ident, "x"),
                (Number, "0x1F"),
                (Timespan, "100ms"),
                (Str, "```a\nb```"),
            ]
        );
        assert_eq!(kinds("1.5abc")[0].0, Error(LexError::InvalidNumber));
        assert_eq!(kinds("#")[0].0, Error(LexError::UnexpectedCharacter));
    }

    #[test]
    fn identifiers_starting_with_digits_and_reals_ending_with_a_dot() {
        use TokenKind::*;
        assert_eq!(
            kinds("4625Events 1d 1e5 1ex 12_a 1000. 1..2 x.1"),
            vec![
                (Ident, "4625Events"),
                (Timespan, "1d"),
                (Number, "1e5"),
                (Ident, "1ex"),
                (Ident, "12_a"),
                (Number, "1000."),
                (Number, "1"),
                (DotDot, ".."),
                (Number, "2"),
                (Ident, "x"),
                (Dot, "."),
                (Number, "1"),
            ]
        );
        assert!(is_plain_ident("4625Events"));
        assert!(!is_plain_ident("1d"));
        assert!(!is_plain_ident("12"));
    }

    #[test]
    fn unicode_spaces_separate_tokens() {
        use TokenKind::*;
        // U+00A0, U+202F, U+2003, U+3000 and a byte order mark, as pasted from web pages.
        let src = "T\u{a0}|\u{202f}where\u{2003}a\u{3000}==\u{feff}1";
        assert_eq!(
            kinds(src),
            vec![
                (Ident, "T"),
                (Pipe, "|"),
                (Ident, "where"),
                (Ident, "a"),
                (EqEq, "=="),
                (Number, "1"),
            ]
        );
        // Other letters beyond ASCII still make identifiers.
        assert_eq!(kinds("é\u{a0}x"), vec![(Ident, "é"), (Ident, "x")]);
        assert!(!is_plain_ident("a\u{a0}b"));
    }

    #[test]
    fn an_unterminated_string_ends_at_its_line() {
        let t = next("'abc\nT", 0);
        assert_eq!(
            (t.kind, t.span),
            (TokenKind::Error(LexError::UnterminatedString), 0..4)
        );
    }

    #[test]
    fn strings() {
        assert_eq!(
            string_value(r#""a\"b\\c\n\d""#),
            (false, StrForm::Plain, "a\"b\\c\n\\d".into())
        );
        assert_eq!(
            string_value(r#"@'C:\x''y'"#),
            (false, StrForm::Verbatim, r"C:\x'y".into())
        );
        assert_eq!(
            string_value(r#"h@"C:\x""y""#),
            (true, StrForm::Verbatim, r#"C:\x"y"#.into())
        );
        let v = "a\"b\\c\n\t\\d";
        assert_eq!(string_value(&quote(v)).2, v);
    }

    #[test]
    fn positions() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("ab", 0), (1, 1));
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
