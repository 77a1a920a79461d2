//! The Sigma condition grammar: a hand-written lexer and recursive-descent parser for the
//! `condition` strings of Sigma detections, the resolution of `1 of` / `all of` expressions
//! against a rule's detection names, and a printer.
//!
//! The grammar follows the Sigma specification v2 ("Condition" section of
//! `sigma-rules-specification.md`) and pySigma 1.5 (`sigma/conditions.py`):
//!
//! ```text
//! condition  := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not"* primary
//! primary    := "(" or ")" | quantifier "of" pattern | identifier
//! quantifier := "1" | "any" | "all"          (`any` is a synonym of `1`)
//! identifier := [A-Za-z0-9_-]+               (pySigma: Word(alphanums + "_-"))
//! pattern    := "them" | [A-Za-z0-9_*]+       (pySigma: Word(alphanums + "*_"))
//! ```
//!
//! Behaviours checked against pySigma 1.5 (`sigma/conditions.py`, run with pyparsing 3.3):
//!
//! - **Case.** Keywords are case-sensitive and lowercase: pySigma builds the operators with
//!   `infix_notation` from plain strings (pyparsing `Literal`s) and the quantifiers with
//!   `Keyword("1") | Keyword("any") | Keyword("all")`, so `a AND b`, `NOT a`, `ALL of x` and
//!   `1 OF x` are all parse errors there. They are errors here too, with a hint.
//! - **Identifier characters.** Detection names are ASCII letters, digits, `_` and `-`; `of`
//!   patterns are ASCII letters, digits, `_` and `*` (no `-`, so `1 of sel-*` is an error in
//!   pySigma and here). `.` and non-ASCII letters are not accepted. Only space, tab, CR and LF
//!   separate tokens (pyparsing's default whitespace).
//! - **`them` and `_`.** `them` selects every detection; `of` patterns (including `them`) that do
//!   not themselves start with `_` never select detections whose name starts with `_` (the spec:
//!   "across all defined search identifiers not starting with an underscore"; pySigma applies
//!   the same rule to every pattern, so `1 of *` skips `_x` too, while `1 of _*` selects it).
//!   Matching is case-sensitive and anchored at both ends (pySigma: `re.fullmatch` of the pattern
//!   with `*` → `.*`).
//! - **`any of`** is accepted by pySigma as a synonym of `1 of`; it parses to
//!   [`Quantifier::One`] and prints back as `1 of`.
//! - **Pipes.** pySigma rejects any condition containing `|` before parsing (Sigma 1
//!   aggregations were replaced by correlation rules); so does [`parse`].
//!
//! Deliberate differences from pySigma, all on conditions no real rule should contain:
//!
//! - pyparsing `Literal` operators do not check word boundaries, so pySigma reads `notable` as
//!   `not able` and `a andb` as `a and b`. Here operators are whole words: `notable` is a name.
//! - `and`, `or` and `not` are reserved words here; pySigma accepts them as names in some
//!   positions (`a and and` is `a and <detection "and">` there). Other keyword-like words (`1`,
//!   `all`, `any`, `of`, `them`) are usable as detection names, as in pySigma.
//! - An `of` expression that matches no detection is an error here; pySigma silently drops it.
//! - Parentheses and `not` may nest at most [`MAX_DEPTH`] levels together; pySigma has no explicit
//!   bound but hits Python's recursion limit earlier (see [`MAX_DEPTH`]).

use std::fmt;
use std::ops::Range;

/// Maximum nesting of parentheses and `not` (counted together) accepted by [`parse`].
///
/// Real rules nest a handful of levels. pySigma 1.5 itself (pyparsing 3.3 under Python's default
/// recursion limit) fails with a `RecursionError` at about 19 nested parentheses or 60 `not`s,
/// so this bound rejects nothing pySigma accepts. It keeps the recursive parser and the
/// recursive consumers of the tree (`Drop`, [`resolve`], [`print`], the lowering) far from the
/// stack limit: a condition at the bound needs about 300 KiB of stack in a debug build.
pub const MAX_DEPTH: usize = 64;

/// A parsed condition, before `of`-expressions are resolved against the rule's detection names.
///
/// [`parse`] never produces an `And`/`Or` with fewer than two children. Consecutive uses of the
/// same operator are flattened (`a and b and c` is one `And` with three children), while
/// parentheses keep their grouping (`(a and b) and c` is `And[And[a, b], c]`, as in pySigma).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// A detection (selection) name, with its byte range in the condition text.
    Ident {
        name: String,
        span: Range<usize>,
    },
    /// `1 of X` / `all of X`; `target` is `Them` or a name pattern with `*` wildcards.
    Of {
        quantifier: Quantifier,
        target: OfTarget,
        span: Range<usize>,
    },
}

/// The quantifier of an `of` expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// `1 of` (or its synonym `any of`): at least one of the selected detections.
    One,
    /// `all of`: every selected detection.
    All,
}

/// What an `of` expression selects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OfTarget {
    /// `them`: every detection whose name does not start with `_`.
    Them,
    /// A name pattern where `*` matches any run of characters (never the word `them`).
    Pattern(String),
}

/// A condition error, with the byte offset in the condition text it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    /// Byte offset in the condition text (always on a `char` boundary, at most the text length).
    pub offset: usize,
    pub message: String,
}

impl CondError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        CondError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for CondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for CondError {}

impl fmt::Display for Cond {
    /// The condition as Sigma text; see [`print`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print(self))
    }
}

const PIPE_MESSAGE: &str = "aggregation expressions (`| count() ...`, `| near ...`) are Sigma 1 syntax, not supported; \
     use a correlation rule";

const OPERAND: &str = "a detection name, `not`, `1 of`, `all of` or `(`";

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    /// A run of `[A-Za-z0-9_*-]`: a keyword, a name, a quantifier or a pattern.
    Word,
    End,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'*')
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn next_token(&mut self) -> Result<Token, CondError> {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && matches!(bytes[self.pos], b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&b) = bytes.get(start) else {
            return Ok(Token {
                kind: Tok::End,
                start,
                end: start,
            });
        };
        let kind = match b {
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b if is_word_byte(b) => {
                let len = bytes[start..]
                    .iter()
                    .take_while(|&&b| is_word_byte(b))
                    .count();
                self.pos = start + len;
                return Ok(Token {
                    kind: Tok::Word,
                    start,
                    end: self.pos,
                });
            }
            _ => return Err(unexpected_char(self.text, start)),
        };
        self.pos = start + 1;
        Ok(Token {
            kind,
            start,
            end: self.pos,
        })
    }
}

/// The error for a character that starts no token; `at` is a `char` boundary (the lexer only
/// ever steps over ASCII bytes).
fn unexpected_char(text: &str, at: usize) -> CondError {
    let Some(ch) = text.get(at..).and_then(|s| s.chars().next()) else {
        return CondError::new(at.min(text.len()), "unexpected character");
    };
    let message = match ch {
        '|' => PIPE_MESSAGE.to_string(),
        '&' => "`&` is not a Sigma operator: write `and`".to_string(),
        '!' => "`!` is not a Sigma operator: write `not`".to_string(),
        '.' => {
            "`.` is not allowed in detection names (letters, digits, `_` and `-` are)".to_string()
        }
        '\'' | '"' => format!("`{ch}`: quotes are not part of the condition syntax"),
        c if c.is_whitespace() => format!(
            "unexpected whitespace character U+{:04X}: only spaces, tabs and line breaks separate words",
            c as u32
        ),
        c if c.is_control() => format!("unexpected control character U+{:04X}", c as u32),
        c if c.is_alphanumeric() => format!(
            "unexpected character `{c}`: detection names are ASCII letters, digits, `_` and `-`"
        ),
        c => format!(
            "unexpected character `{c}`: a condition is made of detection names, `and`, `or`, `not`, \
             `1 of`/`all of` and parentheses"
        ),
    };
    CondError::new(at, message)
}

// ---------------------------------------------------------------------------------------------
// Parser

/// Parse a condition string. See the module documentation for the grammar.
pub fn parse(text: &str) -> Result<Cond, CondError> {
    // pySigma rejects a pipe anywhere in the condition before parsing; so do we, so that the
    // aggregation is what gets reported even if the part before it has other problems.
    if let Some(i) = text.find('|') {
        return Err(CondError::new(i, PIPE_MESSAGE));
    }
    let mut lexer = Lexer { text, pos: 0 };
    let tok = lexer.next_token()?;
    if tok.kind == Tok::End {
        return Err(CondError::new(0, "the condition is empty"));
    }
    let mut p = Parser {
        text,
        lexer,
        tok,
        depth: 0,
    };
    let cond = p.or_expr("at the start of the condition")?;
    match p.tok.kind {
        Tok::End => Ok(cond),
        Tok::RParen => Err(CondError::new(p.tok.start, "unmatched `)`")),
        _ => Err(p.expected_operator(false)),
    }
}

struct Parser<'a> {
    text: &'a str,
    lexer: Lexer<'a>,
    /// The current (not yet consumed) token.
    tok: Token,
    /// Current nesting of parentheses and `not`.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn advance(&mut self) -> Result<(), CondError> {
        self.tok = self.lexer.next_token()?;
        Ok(())
    }

    fn word(&self, t: Token) -> &'a str {
        &self.text[t.start..t.end]
    }

    /// Whether the current token is the word `kw` (keywords are case-sensitive, as in pySigma).
    fn at_word(&self, kw: &str) -> bool {
        self.tok.kind == Tok::Word && self.word(self.tok) == kw
    }

    fn enter(&mut self, offset: usize) -> Result<(), CondError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CondError::new(
                offset,
                format!(
                    "the condition is nested too deeply (more than {MAX_DEPTH} levels of parentheses and `not`)"
                ),
            ));
        }
        Ok(())
    }

    fn or_expr(&mut self, after: &str) -> Result<Cond, CondError> {
        let first = self.and_expr(after)?;
        if !self.at_word("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.at_word("or") {
            self.advance()?;
            items.push(self.and_expr("after `or`")?);
        }
        Ok(Cond::Or(items))
    }

    fn and_expr(&mut self, after: &str) -> Result<Cond, CondError> {
        let first = self.unary(after)?;
        if !self.at_word("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.at_word("and") {
            self.advance()?;
            items.push(self.unary("after `and`")?);
        }
        Ok(Cond::And(items))
    }

    fn unary(&mut self, mut after: &str) -> Result<Cond, CondError> {
        // `not not not …` is read iteratively; only parentheses recurse.
        let mut nots = 0;
        while self.at_word("not") {
            self.enter(self.tok.start)?;
            nots += 1;
            after = "after `not`";
            self.advance()?;
        }
        let mut cond = self.primary(after)?;
        for _ in 0..nots {
            cond = Cond::Not(Box::new(cond));
        }
        self.depth -= nots;
        Ok(cond)
    }

    fn missing_operand(&self, after: &str) -> CondError {
        let found = match self.tok.kind {
            Tok::End => "the end of the condition".to_string(),
            _ => format!("`{}`", self.word(self.tok)),
        };
        CondError::new(
            self.tok.start,
            format!("expected {OPERAND} {after}, found {found}"),
        )
    }

    fn primary(&mut self, after: &str) -> Result<Cond, CondError> {
        match self.tok.kind {
            Tok::LParen => {
                let open = self.tok.start;
                self.enter(open)?;
                self.advance()?;
                let inner = self.or_expr("after `(`")?;
                match self.tok.kind {
                    Tok::RParen => self.advance()?,
                    Tok::End => {
                        return Err(CondError::new(
                            open,
                            "this `(` is never closed: expected `)` before the end",
                        ));
                    }
                    _ => return Err(self.expected_operator(true)),
                }
                self.depth -= 1;
                Ok(inner)
            }
            Tok::RParen | Tok::End => Err(self.missing_operand(after)),
            Tok::Word => {
                let w = self.word(self.tok);
                if w == "and" || w == "or" {
                    return Err(self.missing_operand(after));
                }
                let first = self.tok;
                self.advance()?;
                if matches!(w, "1" | "any" | "all") && self.at_word("of") {
                    self.advance()?;
                    let quantifier = if w == "all" {
                        Quantifier::All
                    } else {
                        Quantifier::One
                    };
                    return self.of_target(quantifier, first.start);
                }
                self.identifier(first)
            }
        }
    }

    /// A detection name; `t` is its token, already consumed (the current token follows it).
    fn identifier(&self, t: Token) -> Result<Cond, CondError> {
        let name = self.word(t);
        if name.contains('*') {
            return Err(CondError::new(
                t.start,
                format!(
                    "`{name}` is not a detection name: the wildcard `*` is only allowed in `1 of`/`all of` patterns \
                     (e.g. `1 of {name}`)"
                ),
            ));
        }
        if self.tok.kind == Tok::Word {
            let next = self.word(self.tok);
            if next.eq_ignore_ascii_case("of") {
                return Err(CondError::new(
                    t.start,
                    format!(
                        "`{name} {next}` is not an `of` expression: write `1 of`, `any of` or `all of` (lowercase)"
                    ),
                ));
            }
            if name.eq_ignore_ascii_case("not") && next != "and" && next != "or" {
                return Err(lowercase_operator(t.start, name));
            }
        } else if self.tok.kind == Tok::LParen && name.eq_ignore_ascii_case("not") {
            return Err(lowercase_operator(t.start, name));
        }
        Ok(Cond::Ident {
            name: name.to_string(),
            span: t.start..t.end,
        })
    }

    /// The target of an `of` expression; `start` is the offset of the quantifier and the current
    /// token follows `of`.
    fn of_target(&mut self, quantifier: Quantifier, start: usize) -> Result<Cond, CondError> {
        let t = self.tok;
        let pattern = if t.kind == Tok::Word {
            self.word(t)
        } else {
            ""
        };
        if t.kind != Tok::Word || matches!(pattern, "and" | "or" | "not") {
            let found = match t.kind {
                Tok::End => "the end of the condition".to_string(),
                _ => format!("`{}`", self.word(t)),
            };
            return Err(CondError::new(
                t.start,
                format!(
                    "expected a detection name pattern (like `selection_*`) or `them` after `of`, found {found}"
                ),
            ));
        }
        if let Some(i) = pattern.find('-') {
            return Err(CondError::new(
                t.start + i,
                "`-` is not allowed in `of` patterns (pySigma accepts letters, digits, `_` and `*` there)",
            ));
        }
        let target = if pattern == "them" {
            OfTarget::Them
        } else {
            OfTarget::Pattern(pattern.to_string())
        };
        self.advance()?;
        Ok(Cond::Of {
            quantifier,
            target,
            span: start..t.end,
        })
    }

    /// The error for a token where `and`, `or` (or `)` when `in_parens`) was expected.
    fn expected_operator(&self, in_parens: bool) -> CondError {
        let t = self.tok;
        let expected = if in_parens {
            "`and`, `or` or `)`"
        } else {
            "`and` or `or`"
        };
        match t.kind {
            Tok::Word => {
                let w = self.word(t);
                if ["and", "or", "not"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                    && w != "not"
                {
                    lowercase_operator(t.start, w)
                } else if w == "not" {
                    CondError::new(
                        t.start,
                        "`not` cannot join two expressions: write `and not` or `or not`",
                    )
                } else {
                    CondError::new(t.start, format!("expected {expected} before `{w}`"))
                }
            }
            Tok::LParen => CondError::new(t.start, format!("expected {expected} before `(`")),
            Tok::RParen => CondError::new(t.start, "unmatched `)`"),
            Tok::End => CondError::new(
                t.start,
                format!("expected {expected}, found the end of the condition"),
            ),
        }
    }
}

fn lowercase_operator(offset: usize, word: &str) -> CondError {
    CondError::new(
        offset,
        format!(
            "`{word}` is not an operator: Sigma operators are lowercase (`{}`), as pySigma requires",
            word.to_ascii_lowercase()
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Resolution

/// Whether `name` matches the `of` pattern `pattern`: `*` matches any run of characters, every
/// other character matches itself (case-sensitive); the match is anchored at both ends.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // Position of the last `*` seen in the pattern, and the name position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            // Let the last `*` swallow one more byte and retry.
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Whether an `of` target selects the detection `name` (the `_` rule is pySigma's).
fn target_selects(target: &OfTarget, name: &str) -> bool {
    match target {
        OfTarget::Them => !name.starts_with('_'),
        OfTarget::Pattern(p) => {
            glob_match(p, name) && (p.starts_with('_') || !name.starts_with('_'))
        }
    }
}

fn of_text(quantifier: Quantifier, target: &OfTarget) -> String {
    let q = match quantifier {
        Quantifier::One => "1",
        Quantifier::All => "all",
    };
    match target {
        OfTarget::Them => format!("{q} of them"),
        OfTarget::Pattern(p) => format!("{q} of {p}"),
    }
}

fn available(names: &[&str]) -> String {
    if names.is_empty() {
        "the rule defines no detections".to_string()
    } else {
        format!("detections are: {}", names.join(", "))
    }
}

/// Expand `of` expressions and check names: returns a tree with only And/Or/Not/Ident.
/// `names` are the rule's detection identifiers in document order.
///
/// `1 of X` becomes an `Or` of the selected detections (in `names` order), `all of X` an `And`;
/// a single selected detection becomes that `Ident` directly. Generated `Ident`s carry the span
/// of their `of` expression. Groups are not flattened into their parents. Errors: a name not
/// in `names`, or an `of` expression that selects nothing.
pub fn resolve(cond: &Cond, names: &[&str]) -> Result<Cond, CondError> {
    Ok(match cond {
        Cond::And(items) => Cond::And(
            items
                .iter()
                .map(|c| resolve(c, names))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(items) => Cond::Or(
            items
                .iter()
                .map(|c| resolve(c, names))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Not(inner) => Cond::Not(Box::new(resolve(inner, names)?)),
        Cond::Ident { name, span } => {
            if !names.contains(&name.as_str()) {
                return Err(unknown_name(name, span.start, names));
            }
            cond.clone()
        }
        Cond::Of {
            quantifier,
            target,
            span,
        } => {
            let mut selected: Vec<&str> = Vec::new();
            for &n in names {
                if target_selects(target, n) && !selected.contains(&n) {
                    selected.push(n);
                }
            }
            let ident = |n: &str| Cond::Ident {
                name: n.to_string(),
                span: span.clone(),
            };
            match selected.len() {
                0 => return Err(no_match(*quantifier, target, span.start, names)),
                1 => ident(selected[0]),
                _ => {
                    let items = selected.into_iter().map(ident).collect();
                    match quantifier {
                        Quantifier::One => Cond::Or(items),
                        Quantifier::All => Cond::And(items),
                    }
                }
            }
        }
    })
}

fn unknown_name(name: &str, offset: usize, names: &[&str]) -> CondError {
    let mut message = format!("unknown detection `{name}`; {}", available(names));
    if let Some(n) = names.iter().find(|n| n.eq_ignore_ascii_case(name)) {
        message.push_str(&format!(" (names are case-sensitive: did you mean `{n}`?)"));
    } else if ["and", "or", "not"]
        .iter()
        .any(|k| name.eq_ignore_ascii_case(k))
    {
        message.push_str(" (Sigma operators are lowercase: `and`, `or`, `not`)");
    }
    CondError::new(offset, message)
}

fn no_match(quantifier: Quantifier, target: &OfTarget, offset: usize, names: &[&str]) -> CondError {
    let mut message = format!(
        "`{}` matches no detection; {}",
        of_text(quantifier, target),
        available(names)
    );
    let skipped_underscore = names.iter().any(|n| {
        n.starts_with('_')
            && match target {
                OfTarget::Them => true,
                OfTarget::Pattern(p) => glob_match(p, n),
            }
    });
    if skipped_underscore {
        message.push_str(
            " (detections starting with `_` are only selected by patterns starting with `_`)",
        );
    }
    CondError::new(offset, message)
}

// ---------------------------------------------------------------------------------------------
// Printer

/// An `And`/`Or` with a single child prints as that child.
fn unwrap_single(mut c: &Cond) -> &Cond {
    while let Cond::And(v) | Cond::Or(v) = c {
        match v.as_slice() {
            [only] => c = only,
            _ => break,
        }
    }
    c
}

/// Binding strength of the printed form: 1 for `or`, 2 for `and`, 3 for everything tighter.
fn level(c: &Cond) -> u8 {
    match unwrap_single(c) {
        Cond::Or(v) if !v.is_empty() => 1,
        Cond::And(v) if !v.is_empty() => 2,
        _ => 3,
    }
}

/// Print a condition back as Sigma condition text with minimal parentheses: `parse(print(c))`
/// equals `c` up to spans for every tree [`parse`] can produce (and every tree whose groups
/// have at least two children, whose names are valid detection names other than `and`, `or`
/// and `not`, and whose patterns are valid `of` patterns). Parentheses are kept where they
/// hold the grouping (`(a and b) and c`). A group with one child prints as the child; an empty
/// group, which has no Sigma syntax, prints as `()`. [`Quantifier::One`] prints as `1 of`.
pub fn print(cond: &Cond) -> String {
    let mut out = String::new();
    write_cond(cond, &mut out);
    out
}

fn write_cond(cond: &Cond, out: &mut String) {
    match unwrap_single(cond) {
        Cond::And(items) | Cond::Or(items) if items.is_empty() => out.push_str("()"),
        c @ (Cond::And(items) | Cond::Or(items)) => {
            let (op, own) = if matches!(c, Cond::Or(_)) {
                (" or ", 1)
            } else {
                (" and ", 2)
            };
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(op);
                }
                write_operand(item, own, out);
            }
        }
        Cond::Not(inner) => {
            out.push_str("not ");
            write_operand(inner, 2, out);
        }
        Cond::Ident { name, .. } => out.push_str(name),
        Cond::Of {
            quantifier, target, ..
        } => out.push_str(&of_text(*quantifier, target)),
    }
}

/// Write `c`, parenthesised if it binds no tighter than `max_level`.
fn write_operand(c: &Cond, max_level: u8, out: &mut String) {
    if level(c) <= max_level {
        out.push('(');
        write_cond(c, out);
        out.push(')');
    } else {
        write_cond(c, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The tree with every span set to `0..0`.
    fn strip(c: &Cond) -> Cond {
        match c {
            Cond::And(v) => Cond::And(v.iter().map(strip).collect()),
            Cond::Or(v) => Cond::Or(v.iter().map(strip).collect()),
            Cond::Not(c) => Cond::Not(Box::new(strip(c))),
            Cond::Ident { name, .. } => Cond::Ident {
                name: name.clone(),
                span: 0..0,
            },
            Cond::Of {
                quantifier, target, ..
            } => Cond::Of {
                quantifier: *quantifier,
                target: target.clone(),
                span: 0..0,
            },
        }
    }

    fn id(name: &str) -> Cond {
        Cond::Ident {
            name: name.to_string(),
            span: 0..0,
        }
    }
    fn and(v: Vec<Cond>) -> Cond {
        Cond::And(v)
    }
    fn or(v: Vec<Cond>) -> Cond {
        Cond::Or(v)
    }
    fn not(c: Cond) -> Cond {
        Cond::Not(Box::new(c))
    }
    fn of(quantifier: Quantifier, pattern: &str) -> Cond {
        let target = if pattern == "them" {
            OfTarget::Them
        } else {
            OfTarget::Pattern(pattern.to_string())
        };
        Cond::Of {
            quantifier,
            target,
            span: 0..0,
        }
    }

    /// Parse, panicking on error, spans stripped.
    fn p(text: &str) -> Cond {
        strip(&parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}")))
    }

    /// Parse and resolve against `names`, spans stripped.
    fn r(text: &str, names: &[&str]) -> Cond {
        let c = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        strip(&resolve(&c, names).unwrap_or_else(|e| panic!("{text:?}: {e}")))
    }

    fn err(text: &str) -> CondError {
        match parse(text) {
            Ok(c) => panic!("{text:?} parsed as {c:?}"),
            Err(e) => e,
        }
    }

    fn resolve_err(text: &str, names: &[&str]) -> CondError {
        let c = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        match resolve(&c, names) {
            Ok(c) => panic!("{text:?} resolved to {c:?}"),
            Err(e) => e,
        }
    }

    // --- precedence, parentheses, flattening -------------------------------------------------

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(
            p("a or b and not c"),
            or(vec![id("a"), and(vec![id("b"), not(id("c"))])])
        );
        assert_eq!(
            p("a and b or c and d"),
            or(vec![
                and(vec![id("a"), id("b")]),
                and(vec![id("c"), id("d")])
            ])
        );
        assert_eq!(p("not a and b"), and(vec![not(id("a")), id("b")]));
        assert_eq!(p("not a or not b"), or(vec![not(id("a")), not(id("b"))]));
        // `of` binds tighter than `not` and `and` (spec: "Operator Precedence").
        assert_eq!(
            p("not 1 of x* and y"),
            and(vec![not(of(Quantifier::One, "x*")), id("y")])
        );
    }

    #[test]
    fn parentheses() {
        assert_eq!(
            p("a and (b or c)"),
            and(vec![id("a"), or(vec![id("b"), id("c")])])
        );
        assert_eq!(
            p("(a or b) and c"),
            and(vec![or(vec![id("a"), id("b")]), id("c")])
        );
        assert_eq!(p("((a))"), id("a"));
        assert_eq!(p("not (a or b)"), not(or(vec![id("a"), id("b")])));
        assert_eq!(p("not(a)"), not(id("a")));
        assert_eq!(p("a and(b)"), and(vec![id("a"), id("b")]));
        assert_eq!(p("( a )or( b )"), or(vec![id("a"), id("b")]));
        assert_eq!(p("\ta\r\nand\nb "), and(vec![id("a"), id("b")]));
    }

    #[test]
    fn flattening() {
        assert_eq!(p("a and b and c"), and(vec![id("a"), id("b"), id("c")]));
        assert_eq!(
            p("a or b or c or d"),
            or(vec![id("a"), id("b"), id("c"), id("d")])
        );
        // Parentheses keep their grouping, as in pySigma.
        assert_eq!(
            p("(a and b) and c"),
            and(vec![and(vec![id("a"), id("b")]), id("c")])
        );
        assert_eq!(p("not not a"), not(not(id("a"))));
        assert_eq!(p("not not not a"), not(not(not(id("a")))));
    }

    #[test]
    fn spans() {
        let c = parse("sel and not 1 of filter_*").unwrap();
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Ident {
                    name: "sel".into(),
                    span: 0..3
                },
                Cond::Not(Box::new(Cond::Of {
                    quantifier: Quantifier::One,
                    target: OfTarget::Pattern("filter_*".into()),
                    span: 12..25,
                })),
            ])
        );
        let c = parse("  (all of them)").unwrap();
        assert_eq!(
            c,
            Cond::Of {
                quantifier: Quantifier::All,
                target: OfTarget::Them,
                span: 3..14
            }
        );
    }

    #[test]
    fn identifier_characters() {
        // pySigma: Word(alphanums + "_-").
        assert_eq!(p("Sel_1-a or -x"), or(vec![id("Sel_1-a"), id("-x")]));
        // Operators need word boundaries here (pySigma would read `notable` as `not able`).
        assert_eq!(
            p("notable and order or andy"),
            or(vec![and(vec![id("notable"), id("order")]), id("andy")])
        );
        // Keyword-like words other than and/or/not are names, as in pySigma.
        assert_eq!(p("all and 1"), and(vec![id("all"), id("1")]));
        assert_eq!(
            p("of or them or any"),
            or(vec![id("of"), id("them"), id("any")])
        );
    }

    // --- of expressions ------------------------------------------------------------------------

    #[test]
    fn of_forms() {
        assert_eq!(p("1 of them"), of(Quantifier::One, "them"));
        assert_eq!(p("all of them"), of(Quantifier::All, "them"));
        // pySigma accepts `any` as a synonym of `1`.
        assert_eq!(p("any of them"), of(Quantifier::One, "them"));
        assert_eq!(p("any of sel*"), of(Quantifier::One, "sel*"));
        assert_eq!(p("1 of sel*"), of(Quantifier::One, "sel*"));
        assert_eq!(p("all of sel_*"), of(Quantifier::All, "sel_*"));
        assert_eq!(p("1 of *_a"), of(Quantifier::One, "*_a"));
        assert_eq!(p("1 of s*l*n"), of(Quantifier::One, "s*l*n"));
        assert_eq!(p("1 of selection"), of(Quantifier::One, "selection"));
        assert_eq!(p("1 of *"), of(Quantifier::One, "*"));
        // `them` is case-sensitive: `Them` is a pattern.
        assert_eq!(p("1 of Them"), of(Quantifier::One, "Them"));
    }

    const NAMES: &[&str] = &[
        "selection_a",
        "selection_b",
        "keywords",
        "filter_x",
        "_internal",
        "sel_mid_b",
    ];

    #[test]
    fn resolve_them_excludes_underscore() {
        let all: Vec<Cond> = [
            "selection_a",
            "selection_b",
            "keywords",
            "filter_x",
            "sel_mid_b",
        ]
        .map(id)
        .into();
        assert_eq!(r("1 of them", NAMES), or(all.clone()));
        assert_eq!(r("any of them", NAMES), or(all.clone()));
        assert_eq!(r("all of them", NAMES), and(all.clone()));
        // pySigma applies the `_` rule to every pattern not starting with `_`.
        assert_eq!(r("1 of *", NAMES), or(all));
    }

    #[test]
    fn resolve_underscore_patterns() {
        assert_eq!(r("1 of _*", NAMES), id("_internal"));
        assert_eq!(r("_internal", NAMES), id("_internal"));
        assert_eq!(r("all of _in*al", NAMES), id("_internal"));
        let e = resolve_err("1 of *internal", NAMES);
        assert!(e.message.contains("starting with `_`"), "{}", e.message);
        let e = resolve_err("1 of them", &["_a", "_b"]);
        assert_eq!(e.offset, 0);
        assert_eq!(
            e.message,
            "`1 of them` matches no detection; detections are: _a, _b \
             (detections starting with `_` are only selected by patterns starting with `_`)"
        );
    }

    #[test]
    fn resolve_patterns() {
        assert_eq!(
            r("1 of selection_*", NAMES),
            or(vec![id("selection_a"), id("selection_b")])
        );
        assert_eq!(
            r("all of selection_*", NAMES),
            and(vec![id("selection_a"), id("selection_b")])
        );
        // `*` in the middle, anchored at both ends.
        assert_eq!(
            r("1 of sel*_b", NAMES),
            or(vec![id("selection_b"), id("sel_mid_b")])
        );
        assert_eq!(r("1 of s*d*b", NAMES), id("sel_mid_b"));
        assert_eq!(r("1 of *word*", NAMES), id("keywords"));
        assert_eq!(r("1 of **e*s", NAMES), id("keywords"));
        // No wildcard: the exact name only, no prefix match (pySigma regression test
        // `test_selector_no_wildcard_exact_match_no_prefix_collision`).
        assert_eq!(
            r("1 of selection", &["selection", "selection_extra"]),
            id("selection")
        );
        // A single match is the identifier itself, with the span of the `of` expression.
        let c = resolve(&parse("a and all of filter*").unwrap(), &["a", "filter_x"]).unwrap();
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Ident {
                    name: "a".into(),
                    span: 0..1
                },
                Cond::Ident {
                    name: "filter_x".into(),
                    span: 6..20
                },
            ])
        );
        // Generated identifiers carry the `of` span; nesting under `not` is kept.
        let c = resolve(&parse("not 1 of f*").unwrap(), &["f1", "f2"]).unwrap();
        assert_eq!(
            c,
            Cond::Not(Box::new(Cond::Or(vec![
                Cond::Ident {
                    name: "f1".into(),
                    span: 4..11
                },
                Cond::Ident {
                    name: "f2".into(),
                    span: 4..11
                },
            ])))
        );
        // Document order, duplicates once.
        assert_eq!(
            r("1 of x*", &["xb", "xa", "xb"]),
            or(vec![id("xb"), id("xa")])
        );
    }

    #[test]
    fn resolve_is_case_sensitive() {
        let e = resolve_err("1 of Selection*", NAMES);
        assert!(
            e.message
                .starts_with("`1 of Selection*` matches no detection"),
            "{}",
            e.message
        );
        let e = resolve_err("Keywords", NAMES);
        assert!(
            e.message.contains("did you mean `keywords`?"),
            "{}",
            e.message
        );
    }

    #[test]
    fn resolve_no_match() {
        let e = resolve_err("a and not 1 of filter_*", &["a", "b"]);
        assert_eq!(
            e,
            CondError::new(
                10,
                "`1 of filter_*` matches no detection; detections are: a, b"
            )
        );
        let e = resolve_err("all of them", &[]);
        assert_eq!(
            e,
            CondError::new(
                0,
                "`all of them` matches no detection; the rule defines no detections"
            )
        );
    }

    #[test]
    fn resolve_unknown_identifier() {
        let e = resolve_err("a and (b or missing)", &["a", "b"]);
        assert_eq!(
            e,
            CondError::new(12, "unknown detection `missing`; detections are: a, b")
        );
        let e = resolve_err("NOT", &["a"]);
        assert!(
            e.message.contains("operators are lowercase"),
            "{}",
            e.message
        );
        // Resolution only keeps And/Or/Not/Ident and is idempotent.
        let c = resolve(&parse("a or 1 of b*").unwrap(), &["a", "b1", "b2"]).unwrap();
        assert_eq!(resolve(&c, &["a", "b1", "b2"]).unwrap(), c);
    }

    // --- the Sigma specification ---------------------------------------------------------------

    /// The examples of sigma-rules-specification.md, section "Condition".
    #[test]
    fn specification_condition_section() {
        // "Logical AND/OR"
        assert_eq!(
            p("keywords1 or keywords2"),
            or(vec![id("keywords1"), id("keywords2")])
        );
        // "1/all of them"
        assert_eq!(p("1 of them"), of(Quantifier::One, "them"));
        assert_eq!(p("all of them"), of(Quantifier::All, "them"));
        // "A search identifier `_example` wouldn't be included"
        assert_eq!(r("1 of them", &["selection", "_example"]), id("selection"));
        // "1/all of search-identifier-pattern"
        assert_eq!(p("all of selection*"), of(Quantifier::All, "selection*"));
        assert_eq!(
            p("1 of selection* and keywords"),
            and(vec![of(Quantifier::One, "selection*"), id("keywords")])
        );
        assert_eq!(
            p("1 of selection* and not 1 of filter*"),
            and(vec![
                of(Quantifier::One, "selection*"),
                not(of(Quantifier::One, "filter*"))
            ])
        );
        // "Negation with 'not'"
        assert_eq!(
            p("keywords and not filters"),
            and(vec![id("keywords"), not(id("filters"))])
        );
        // "Brackets"
        assert_eq!(
            p("selection1 and (keywords1 or keywords2)"),
            and(vec![
                id("selection1"),
                or(vec![id("keywords1"), id("keywords2")])
            ])
        );
        // "Operator Precedence (least to most binding): or, and, not, x of search-identifier,
        // ( expression )"
        assert_eq!(
            p("a or not 1 of b* and (c or d)"),
            or(vec![
                id("a"),
                and(vec![
                    not(of(Quantifier::One, "b*")),
                    or(vec![id("c"), id("d")])
                ])
            ])
        );
    }

    /// Conditions of the specification's other examples (sections "Detection" / value lists).
    #[test]
    fn specification_detection_examples() {
        assert_eq!(
            r("selection and not filter", &["selection", "filter"]),
            and(vec![id("selection"), not(id("filter"))])
        );
        assert_eq!(
            r(
                "selection_main and 1 of selection_empty*",
                &["selection_main", "selection_empty_1", "selection_empty_2"]
            ),
            and(vec![
                id("selection_main"),
                or(vec![id("selection_empty_1"), id("selection_empty_2")])
            ])
        );
        assert_eq!(
            r("mimikatz_keywords", &["mimikatz_keywords"]),
            id("mimikatz_keywords")
        );
    }

    // --- errors ------------------------------------------------------------------------------

    #[test]
    fn pipe_is_an_aggregation_error() {
        let e = err("selection | count() by host > 5");
        assert_eq!(e.offset, 10);
        assert!(
            e.message.contains("Sigma 1") && e.message.contains("correlation rule"),
            "{}",
            e.message
        );
        assert_eq!(err("sel1 | near sel2").offset, 5);
        // The pipe is reported even after another error (pySigma checks it first).
        assert_eq!(err("a and | count() > 1").offset, 6);
        assert_eq!(err("|").offset, 0);
    }

    #[test]
    fn error_offsets() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "the condition is empty"),
            ("  \n ", 0, "the condition is empty"),
            (
                "a and",
                5,
                "expected a detection name, `not`, `1 of`, `all of` or `(` after `and`, found the end of the condition",
            ),
            (
                "a or )",
                5,
                "expected a detection name, `not`, `1 of`, `all of` or `(` after `or`, found `)`",
            ),
            (
                "a and or b",
                6,
                "expected a detection name, `not`, `1 of`, `all of` or `(` after `and`, found `or`",
            ),
            (
                "and",
                0,
                "expected a detection name, `not`, `1 of`, `all of` or `(` at the start of the condition, found `and`",
            ),
            (
                "not",
                3,
                "expected a detection name, `not`, `1 of`, `all of` or `(` after `not`, found the end of the condition",
            ),
            (
                "a and ()",
                7,
                "expected a detection name, `not`, `1 of`, `all of` or `(` after `(`, found `)`",
            ),
            (
                "(a or b",
                0,
                "this `(` is never closed: expected `)` before the end",
            ),
            (
                "((a) and (b)",
                0,
                "this `(` is never closed: expected `)` before the end",
            ),
            ("a or b)", 6, "unmatched `)`"),
            ("a b", 2, "expected `and` or `or` before `b`"),
            ("(a b)", 3, "expected `and`, `or` or `)` before `b`"),
            ("a (b)", 2, "expected `and` or `or` before `(`"),
            (
                "a not b",
                2,
                "`not` cannot join two expressions: write `and not` or `or not`",
            ),
            (
                "a AND b",
                2,
                "`AND` is not an operator: Sigma operators are lowercase (`and`), as pySigma requires",
            ),
            (
                "(a Or b)",
                3,
                "`Or` is not an operator: Sigma operators are lowercase (`or`), as pySigma requires",
            ),
            (
                "NOT a",
                0,
                "`NOT` is not an operator: Sigma operators are lowercase (`not`), as pySigma requires",
            ),
            (
                "x and Not(a)",
                6,
                "`Not` is not an operator: Sigma operators are lowercase (`not`), as pySigma requires",
            ),
            (
                "ALL of them",
                0,
                "`ALL of` is not an `of` expression: write `1 of`, `any of` or `all of` (lowercase)",
            ),
            (
                "a or 1 OF them",
                5,
                "`1 OF` is not an `of` expression: write `1 of`, `any of` or `all of` (lowercase)",
            ),
            (
                "2 of them",
                0,
                "`2 of` is not an `of` expression: write `1 of`, `any of` or `all of` (lowercase)",
            ),
            (
                "1 of",
                4,
                "expected a detection name pattern (like `selection_*`) or `them` after `of`, found the end of the condition",
            ),
            (
                "1 of (a)",
                5,
                "expected a detection name pattern (like `selection_*`) or `them` after `of`, found `(`",
            ),
            (
                "all of and",
                7,
                "expected a detection name pattern (like `selection_*`) or `them` after `of`, found `and`",
            ),
            (
                "1 of sel-*",
                8,
                "`-` is not allowed in `of` patterns (pySigma accepts letters, digits, `_` and `*` there)",
            ),
            (
                "a or sel*",
                5,
                "`sel*` is not a detection name: the wildcard `*` is only allowed in `1 of`/`all of` patterns (e.g. `1 of sel*`)",
            ),
            (
                "a.b",
                1,
                "`.` is not allowed in detection names (letters, digits, `_` and `-` are)",
            ),
            ("a && b", 2, "`&` is not a Sigma operator: write `and`"),
            ("!a", 0, "`!` is not a Sigma operator: write `not`"),
            ("'a'", 0, "`'`: quotes are not part of the condition syntax"),
            (
                "é and a",
                0,
                "unexpected character `é`: detection names are ASCII letters, digits, `_` and `-`",
            ),
            (
                "aé",
                1,
                "unexpected character `é`: detection names are ASCII letters, digits, `_` and `-`",
            ),
            (
                "a\u{a0}and b",
                1,
                "unexpected whitespace character U+00A0: only spaces, tabs and line breaks separate words",
            ),
            (
                "a\u{c}b",
                1,
                "unexpected whitespace character U+000C: only spaces, tabs and line breaks separate words",
            ),
            ("a\0", 1, "unexpected control character U+0000"),
            (
                "a = b",
                2,
                "unexpected character `=`: a condition is made of detection names, `and`, `or`, `not`, `1 of`/`all of` and parentheses",
            ),
        ];
        for &(text, offset, message) in cases {
            assert_eq!(err(text), CondError::new(offset, message), "{text:?}");
        }
    }

    /// pySigma's `test_invalid_conditions` cases.
    #[test]
    fn pysigma_invalid_conditions() {
        assert_eq!(err("detection1 and").offset, 14);
        assert_eq!(err("detection1 and (detection2 OR detection3)").offset, 27);
        assert_eq!(
            err("detection1 and not (detection2 OR detection3)").offset,
            31
        );
    }

    #[test]
    fn error_display() {
        assert_eq!(
            err("a b").to_string(),
            "expected `and` or `or` before `b` (at byte 2)"
        );
    }

    #[test]
    fn depth_is_bounded() {
        let n = 100_000;
        let text = format!("{}a{}", "(".repeat(n), ")".repeat(n));
        let e = err(&text);
        assert_eq!(e.offset, MAX_DEPTH);
        assert!(e.message.contains("nested too deeply"), "{}", e.message);
        let text = format!("{}a", "not ".repeat(n));
        assert_eq!(err(&text).offset, MAX_DEPTH * 4);
        let text = format!("{}a", "(not ".repeat(n));
        assert_eq!(err(&text).offset, MAX_DEPTH / 2 * 5);
        // Unclosed deep nesting: the depth error comes first.
        assert_eq!(err(&"(".repeat(n)).offset, MAX_DEPTH);

        // Exactly MAX_DEPTH levels are fine, and the tree prints, resolves and drops.
        let groups = MAX_DEPTH / 4;
        let parens = MAX_DEPTH - 2 * groups;
        let text = format!(
            "{}{}a or b{}",
            "not (".repeat(groups),
            "(".repeat(parens),
            ")".repeat(groups + parens)
        );
        let c = parse(&text).unwrap();
        let resolved = resolve(&c, &["a", "b"]).unwrap();
        assert_eq!(strip(&parse(&print(&resolved)).unwrap()), strip(&c));
        let over = format!("not {text}");
        assert!(err(&over).message.contains("nested too deeply"));
        let text = format!("{}a", "not ".repeat(MAX_DEPTH));
        assert!(parse(&text).is_ok());
        assert!(parse(&format!("not {text}")).is_err());
    }

    // --- printing ------------------------------------------------------------------------------

    #[test]
    fn print_minimal_parentheses() {
        for (text, printed) in [
            ("a", "a"),
            ("((a))", "a"),
            ("a or b and not c", "a or b and not c"),
            ("a and (b or c)", "a and (b or c)"),
            ("(a and b) or c", "a and b or c"),
            ("(a and b) and c", "(a and b) and c"),
            ("(a or b) or c", "(a or b) or c"),
            ("not (a and b)", "not (a and b)"),
            ("not (not a)", "not not a"),
            ("not(1 of them)", "not 1 of them"),
            ("any of x*  or  all of them", "1 of x* or all of them"),
            ("(  a  )and(b)", "a and b"),
        ] {
            assert_eq!(print(&parse(text).unwrap()), printed, "{text:?}");
        }
        // Degenerate groups, which `parse` never produces.
        assert_eq!(print(&and(vec![or(vec![id("a"), id("b")])])), "a or b");
        assert_eq!(print(&and(vec![id("x"), or(vec![id("a")])])), "x and a");
        assert_eq!(
            print(&not(and(vec![or(vec![id("a"), id("b")])]))),
            "not (a or b)"
        );
        assert_eq!(print(&or(vec![])), "()");
        assert_eq!(format!("{}", p("a and not b")), "a and not b");
    }

    // --- properties ------------------------------------------------------------------------------

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,8}".prop_filter("reserved word", |s| {
            !matches!(s.as_str(), "and" | "or" | "not")
        })
    }

    fn pattern() -> impl Strategy<Value = OfTarget> {
        prop_oneof![
            Just(OfTarget::Them),
            "[A-Za-z0-9_*]{1,8}"
                .prop_filter("them", |s| !matches!(
                    s.as_str(),
                    "them" | "and" | "or" | "not"
                ))
                .prop_map(OfTarget::Pattern),
        ]
    }

    fn tree() -> impl Strategy<Value = Cond> {
        let leaf = prop_oneof![
            name().prop_map(|n| Cond::Ident {
                name: n,
                span: 0..0
            }),
            (
                prop_oneof![Just(Quantifier::One), Just(Quantifier::All)],
                pattern()
            )
                .prop_map(|(quantifier, target)| Cond::Of {
                    quantifier,
                    target,
                    span: 0..0
                }),
        ];
        leaf.prop_recursive(6, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..5).prop_map(Cond::And),
                prop::collection::vec(inner.clone(), 2..5).prop_map(Cond::Or),
                inner.prop_map(|c| Cond::Not(Box::new(c))),
            ]
        })
    }

    /// Strings made of condition-like pieces, to reach deep into the parser.
    fn token_soup() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "a", "sel_1", "x*", "and", "or", "not", "AND", "Not", "(", ")", "1", "any", "all",
            "of", "OF", "them", "2", " ", " ", "\t", "\n", "-", "*", "|", "é", ".", "\u{a0}", "&",
        ]);
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    fn check_any(text: &str) {
        match parse(text) {
            Ok(c) => {
                // Whatever parses prints back to an equivalent condition.
                assert_eq!(strip(&parse(&print(&c)).unwrap()), strip(&c), "{text:?}");
                let _ = resolve(&c, &["a", "sel_1", "_x"]);
            }
            Err(e) => {
                assert!(
                    e.offset <= text.len() && text.is_char_boundary(e.offset),
                    "{text:?}: {e:?}"
                );
                assert!(!e.message.is_empty());
            }
        }
    }

    proptest! {
        #[test]
        fn print_then_parse_round_trips(c in tree()) {
            let printed = print(&c);
            let reparsed = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
            prop_assert_eq!(strip(&reparsed), c, "{}", printed);
        }

        #[test]
        fn resolved_trees_round_trip(c in tree()) {
            let names = ["a", "b_1", "_c", "A-x", "x9", "them", "of"];
            if let Ok(resolved) = resolve(&c, &names) {
                let printed = print(&resolved);
                prop_assert_eq!(strip(&parse(&printed).unwrap()), strip(&resolved));
            }
        }

        #[test]
        fn parse_never_panics_on_arbitrary_strings(text in "\\PC{0,40}") {
            check_any(&text);
        }

        #[test]
        fn parse_never_panics_on_token_soup(text in token_soup()) {
            check_any(&text);
        }

        #[test]
        fn glob_star_matches_like_a_regex(pat in "[ab*]{0,6}", name in "[ab]{0,6}") {
            // Reference: dynamic programming over the pattern (what `.*` in a full match does).
            let (p, n) = (pat.as_bytes(), name.as_bytes());
            let mut dp = vec![vec![false; n.len() + 1]; p.len() + 1];
            dp[0][0] = true;
            for i in 1..=p.len() {
                for j in 0..=n.len() {
                    dp[i][j] = if p[i - 1] == b'*' {
                        dp[i - 1][j] || (j > 0 && dp[i][j - 1])
                    } else {
                        j > 0 && dp[i - 1][j - 1] && p[i - 1] == n[j - 1]
                    };
                }
            }
            prop_assert_eq!(glob_match(&pat, &name), dp[p.len()][n.len()]);
        }
    }
}
