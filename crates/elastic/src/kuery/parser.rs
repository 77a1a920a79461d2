//! The kuery lexer and recursive-descent parser. [`parse`] never panics: bad input is a
//! [`ParseError`] with the line, column and what was expected and found there.
//!
//! Grammar (Kibana's, with `not > and > or`):
//!
//! ```text
//! query   := or?
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | "(" or ")" | field ":" "{" or "}" | field ":" values
//!          | field ("<" | "<=" | ">" | ">=") literal | literal
//! values  := "(" vor ")" | literal
//! vor     := vand ("or" vand)* ; vand := vnot ("and" vnot)* ; vnot := "not" vnot | values
//! ```
//!
//! Lexical decisions:
//! - Keywords `and`, `or`, `not` are case-insensitive whole words.
//! - An unquoted literal runs over whitespace to the next word unless that word is a keyword or
//!   a special character comes first: `process.name: foo bar` has the value `foo bar` (as in
//!   Kibana). Its special characters are `\ ( ) : < > " * { }`; `*` is a wildcard.
//! - Unquoted escapes: `\t` `\r` `\n` (whitespace), a backslash before a special character,
//!   `\uXXXX`, and a backslash before a keyword (`\or`, `\AND`; `\not` is a newline then `ot`, as
//!   in Kibana, since `\n` is read first). Any other backslash is an error.
//! - Quoted strings: `\"`, `\\`, `\t`, `\r`, `\n`; any other backslash is itself.

use super::ast::*;
use crate::span::{ParseError, Span};

/// Parentheses, braces and `not`s nested deeper than this are an error, not a stack overflow.
pub const MAX_DEPTH: usize = 100;

/// Parse a kuery query.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = if p.peek().kind == Tok::Eof {
        None
    } else {
        Some(p.or()?)
    };
    let t = p.peek();
    if t.kind != Tok::Eof {
        return Err(p.error(t, "`and`, `or` or end of input"));
    }
    Ok(Query {
        expr,
        span: Span::new(0, src.len()),
    })
}

type R<T> = Result<T, ParseError>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Colon,
    Range(RangeOp),
    And,
    Or,
    Not,
    Lit(Literal),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    span: Span,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Characters that end an unquoted word (the backslash and `*` are handled inside words).
fn is_special(c: char) -> bool {
    matches!(
        c,
        '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*' | '{' | '}'
    )
}

/// Whether `word` is `and`, `or` or `not` in any case.
fn keyword(word: &str) -> Option<Tok> {
    if word.eq_ignore_ascii_case("and") {
        Some(Tok::And)
    } else if word.eq_ignore_ascii_case("or") {
        Some(Tok::Or)
    } else if word.eq_ignore_ascii_case("not") {
        Some(Tok::Not)
    } else {
        None
    }
}

fn push_char(parts: &mut Vec<Part>, c: char) {
    if let Some(Part::Text(t)) = parts.last_mut() {
        t.push(c);
    } else {
        parts.push(Part::Text(c.to_string()));
    }
}

fn push_str(parts: &mut Vec<Part>, s: &str) {
    for c in s.chars() {
        push_char(parts, c);
    }
}

fn lex(src: &str) -> R<Vec<Token>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        while let Some(c) = src[pos..].chars().next().filter(|&c| is_space(c)) {
            pos += c.len_utf8();
        }
        let Some(c) = src[pos..].chars().next() else {
            out.push(Token {
                kind: Tok::Eof,
                span: Span::new(src.len(), src.len()),
            });
            return Ok(out);
        };
        let start = pos;
        let next = src[pos + c.len_utf8()..].chars().next();
        let single = |kind: Tok, len: usize| Token {
            kind,
            span: Span::new(start, start + len),
        };
        let tok = match c {
            '(' => single(Tok::LParen, 1),
            ')' => single(Tok::RParen, 1),
            '{' => single(Tok::LBrace, 1),
            '}' => single(Tok::RBrace, 1),
            ':' => single(Tok::Colon, 1),
            '<' if next == Some('=') => single(Tok::Range(RangeOp::Le), 2),
            '<' => single(Tok::Range(RangeOp::Lt), 1),
            '>' if next == Some('=') => single(Tok::Range(RangeOp::Ge), 2),
            '>' => single(Tok::Range(RangeOp::Gt), 1),
            '"' => {
                let (text, end) = quoted(src, start)?;
                let parts = if text.is_empty() {
                    vec![]
                } else {
                    vec![Part::Text(text)]
                };
                Token {
                    kind: Tok::Lit(Literal {
                        quoted: true,
                        parts,
                        span: Span::new(start, end),
                    }),
                    span: Span::new(start, end),
                }
            }
            _ => {
                let (mut parts, mut end) = word(src, start)?;
                if let Some(k) = keyword(&src[start..end]) {
                    Token {
                        kind: k,
                        span: Span::new(start, end),
                    }
                } else {
                    // Further words joined by whitespace, up to a keyword or a special character.
                    loop {
                        let ws_end = end
                            + src[end..]
                                .chars()
                                .take_while(|&c| is_space(c))
                                .map(char::len_utf8)
                                .sum::<usize>();
                        let starts_word = src[ws_end..]
                            .chars()
                            .next()
                            .is_some_and(|c| !is_special(c) || c == '\\' || c == '*');
                        if ws_end == end || !starts_word {
                            break;
                        }
                        let (more, more_end) = word(src, ws_end)?;
                        if keyword(&src[ws_end..more_end]).is_some() {
                            break;
                        }
                        push_str(&mut parts, &src[end..ws_end]);
                        for p in more {
                            match p {
                                Part::Text(t) => push_str(&mut parts, &t),
                                Part::Wildcard => parts.push(Part::Wildcard),
                            }
                        }
                        end = more_end;
                    }
                    Token {
                        kind: Tok::Lit(Literal {
                            quoted: false,
                            parts,
                            span: Span::new(start, end),
                        }),
                        span: Span::new(start, end),
                    }
                }
            }
        };
        pos = tok.span.end;
        out.push(tok);
    }
}

/// A double-quoted string from `start` (on the `"`): its value and the offset after it.
fn quoted(src: &str, start: usize) -> R<(String, usize)> {
    let mut text = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((text, start + 1 + i + 1)),
            '\\' => match src[start + 1 + i + 1..].chars().next() {
                Some(e @ ('"' | '\\')) => {
                    text.push(e);
                    chars.next();
                }
                Some('t') => {
                    text.push('\t');
                    chars.next();
                }
                Some('r') => {
                    text.push('\r');
                    chars.next();
                }
                Some('n') => {
                    text.push('\n');
                    chars.next();
                }
                Some(_) => text.push('\\'),
                None => break,
            },
            c => text.push(c),
        }
    }
    Err(ParseError::at(
        src,
        start,
        "expected a closing `\"` for this string, found end of input",
    ))
}

/// One unquoted word from `start`: its parts and the offset after it.
fn word(src: &str, start: usize) -> R<(Vec<Part>, usize)> {
    let mut parts = Vec::new();
    let mut i = start;
    while let Some(c) = src[i..].chars().next() {
        if c == '*' {
            parts.push(Part::Wildcard);
            i += 1;
        } else if c == '\\' {
            let rest = &src[i + 1..];
            let e = rest.chars().next();
            let (value, len): (String, usize) = match e {
                Some('t') => ("\t".into(), 1),
                Some('r') => ("\r".into(), 1),
                Some('n') => ("\n".into(), 1),
                Some(s) if is_special(s) => (s.to_string(), 1),
                Some('u') => {
                    let hex = rest
                        .get(1..5)
                        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                    match hex
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32)
                    {
                        Some(ch) => (ch.to_string(), 5),
                        None => {
                            return Err(ParseError::at(
                                src,
                                i,
                                "expected four hexadecimal digits of a character after `\\u`",
                            ));
                        }
                    }
                }
                _ => {
                    let kw = ["and", "not", "or"].into_iter().find_map(|k| {
                        rest.get(..k.len())
                            .filter(|w| w.eq_ignore_ascii_case(k))
                            .map(|w| (w.to_string(), k.len()))
                    });
                    match kw {
                        Some(v) => v,
                        None => {
                            let found = match e {
                                Some(e) => format!("{e:?}"),
                                None => "end of input".into(),
                            };
                            return Err(ParseError::at(
                                src,
                                i,
                                format!(
                                    "expected an escape after `\\` (one of `\\ ( ) : < > \" * {{ }}`, \
                                     `\\t`, `\\r`, `\\n`, `\\uXXXX`, or a keyword), found {found}"
                                ),
                            ));
                        }
                    }
                }
            };
            push_str(&mut parts, &value);
            i += 1 + len;
        } else if is_space(c) || is_special(c) {
            break;
        } else {
            push_char(&mut parts, c);
            i += c.len_utf8();
        }
    }
    Ok((parts, i))
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Token {
        self.tokens[self.pos.min(self.tokens.len() - 1)].clone()
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn describe(&self, t: &Token) -> String {
        match t.kind {
            Tok::Eof => "end of input".into(),
            _ => {
                let text = &self.src[t.span.start..t.span.end];
                let short: String = text.chars().take(40).collect();
                if short.len() < text.len() {
                    format!("`{short}…`")
                } else {
                    format!("`{short}`")
                }
            }
        }
    }

    fn error(&self, t: Token, expected: &str) -> ParseError {
        ParseError::at(
            self.src,
            t.span.start,
            format!("expected {expected}, found {}", self.describe(&t)),
        )
    }

    fn enter(&mut self, at: &Token) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::at(
                self.src,
                at.span.start,
                format!(
                    "expected at most {MAX_DEPTH} levels of nesting, found {}",
                    self.describe(at)
                ),
            ));
        }
        Ok(())
    }

    fn expect(&mut self, kind: Tok, what: &str) -> R<Token> {
        let t = self.peek();
        if t.kind == kind {
            Ok(self.bump())
        } else {
            Err(self.error(t, what))
        }
    }

    fn or(&mut self) -> R<Expr> {
        let first = self.and()?;
        let mut items = vec![first];
        while self.peek().kind == Tok::Or {
            self.bump();
            items.push(self.and()?);
        }
        Ok(join(items, ExprKind::Or))
    }

    fn and(&mut self) -> R<Expr> {
        let first = self.not()?;
        let mut items = vec![first];
        while self.peek().kind == Tok::And {
            self.bump();
            items.push(self.not()?);
        }
        Ok(join(items, ExprKind::And))
    }

    fn not(&mut self) -> R<Expr> {
        let t = self.peek();
        match t.kind {
            Tok::Not => {
                self.bump();
                self.enter(&t)?;
                let inner = self.not()?;
                self.depth -= 1;
                Ok(Expr {
                    span: t.span.to(inner.span),
                    kind: ExprKind::Not(Box::new(inner)),
                })
            }
            Tok::LParen => {
                self.bump();
                self.enter(&t)?;
                let inner = self.or()?;
                self.expect(Tok::RParen, "`)`, `and` or `or`")?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Lit(field) => {
                self.bump();
                let op = self.peek();
                match op.kind {
                    Tok::Colon => {
                        self.bump();
                        let v = self.peek();
                        if v.kind == Tok::LBrace {
                            self.bump();
                            self.enter(&v)?;
                            let query = self.or()?;
                            let close = self.expect(Tok::RBrace, "`}`, `and` or `or`")?;
                            self.depth -= 1;
                            Ok(Expr {
                                span: field.span.to(close.span),
                                kind: ExprKind::Nested {
                                    field,
                                    query: Box::new(query),
                                },
                            })
                        } else {
                            let values = self.values()?;
                            Ok(Expr {
                                span: field.span.to(values.span),
                                kind: ExprKind::Match { field, values },
                            })
                        }
                    }
                    Tok::Range(op) => {
                        self.bump();
                        let v = self.bump();
                        let Tok::Lit(value) = v.kind else {
                            return Err(self.error(v, "a value after the range operator"));
                        };
                        Ok(Expr {
                            span: field.span.to(value.span),
                            kind: ExprKind::Range { field, op, value },
                        })
                    }
                    _ => Ok(Expr {
                        span: field.span,
                        kind: ExprKind::Value(field),
                    }),
                }
            }
            _ => Err(self.error(t, "a field, a value, `not` or `(`")),
        }
    }

    /// A literal or a parenthesised list of values.
    fn values(&mut self) -> R<ValueExpr> {
        let t = self.bump();
        match t.kind {
            Tok::Lit(l) => Ok(ValueExpr {
                span: l.span,
                kind: ValueKind::Value(l),
            }),
            Tok::LParen => {
                self.enter(&t)?;
                let inner = self.vor()?;
                self.expect(Tok::RParen, "`)`, `and` or `or`")?;
                self.depth -= 1;
                Ok(inner)
            }
            _ => Err(self.error(t, "a value, `(` or `{` after `:`")),
        }
    }

    fn vor(&mut self) -> R<ValueExpr> {
        let mut items = vec![self.vand()?];
        while self.peek().kind == Tok::Or {
            self.bump();
            items.push(self.vand()?);
        }
        Ok(vjoin(items, ValueKind::Or))
    }

    fn vand(&mut self) -> R<ValueExpr> {
        let mut items = vec![self.vnot()?];
        while self.peek().kind == Tok::And {
            self.bump();
            items.push(self.vnot()?);
        }
        Ok(vjoin(items, ValueKind::And))
    }

    fn vnot(&mut self) -> R<ValueExpr> {
        let t = self.peek();
        match t.kind {
            Tok::Not => {
                self.bump();
                self.enter(&t)?;
                let inner = self.vnot()?;
                self.depth -= 1;
                Ok(ValueExpr {
                    span: t.span.to(inner.span),
                    kind: ValueKind::Not(Box::new(inner)),
                })
            }
            Tok::Lit(_) | Tok::LParen => self.values(),
            _ => Err(self.error(t, "a value, `not` or `(`")),
        }
    }
}

fn join(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> ExprKind) -> Expr {
    if items.len() == 1 {
        return items.remove(0);
    }
    let span = items[0].span.to(items[items.len() - 1].span);
    Expr {
        kind: make(items),
        span,
    }
}

fn vjoin(mut items: Vec<ValueExpr>, make: fn(Vec<ValueExpr>) -> ValueKind) -> ValueExpr {
    if items.len() == 1 {
        return items.remove(0);
    }
    let span = items[0].span.to(items[items.len() - 1].span);
    ValueExpr {
        kind: make(items),
        span,
    }
}
