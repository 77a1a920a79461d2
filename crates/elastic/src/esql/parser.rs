//! A recursive-descent parser for ES|QL. [`parse`] never panics: bad input is a [`ParseError`]
//! with the line, column and what was expected and found there.
//!
//! Precedence, loosest first: `OR`, `AND`, `NOT`, the predicates (`[NOT] IN`, `IS [NOT] NULL`,
//! `[NOT] LIKE`/`RLIKE`, `:`), comparisons (not associative: `a == b == c` is an error), `+ -`,
//! `* / %`, unary `-`, `::` casts. `OR` and `AND` chains are n-ary nodes.
//!
//! Decisions:
//! - Keywords, command and function names are case-insensitive.
//! - `AND OR NOT IN IS LIKE RLIKE NULL TRUE FALSE BY ASC DESC NULLS FIRST LAST WHERE` are
//!   not field names unquoted (as in Elasticsearch's expression mode); `AS`, `ON`, `WITH`,
//!   `METADATA` are, where an expression is expected. The printer backquotes all of them.
//! - An integer followed by a bare name that is not a keyword is a time span (`1 hour`).
//! - The first command is `FROM`, `ROW` or `SHOW`; processing commands other than the ones
//!   this parser knows are kept as their name and raw tokens ([`CommandKind::Generic`]).

use super::ast::*;
use super::lexer::{self, Mode, Token, TokenKind};
use crate::span::{ParseError, Span};

/// Nesting deeper than this (parentheses, calls, `NOT NOT …`, chains of arithmetic or casts)
/// is an error, not a stack overflow.
pub const MAX_DEPTH: usize = 64;

/// Words that are not a field name unquoted (they can be function names: `FIRST(x, t)`).
const NOT_FIELDS: &[&str] = &[
    "and", "or", "not", "in", "is", "like", "rlike", "null", "true", "false", "by", "asc", "desc",
    "nulls", "first", "last", "where",
];

/// Every keyword: the printer backquotes a name part equal to one of these.
pub const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "like", "rlike", "null", "true", "false", "by", "as", "asc",
    "desc", "nulls", "first", "last", "on", "with", "where", "metadata",
];

pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Parse a whole ES|QL query.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let mut p = Parser {
        src,
        pos: 0,
        last_end: 0,
        depth: 0,
    };
    p.query()
}

/// Parse an expression alone (what follows `WHERE`).
pub fn parse_expr(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        src,
        pos: 0,
        last_end: 0,
        depth: 0,
    };
    let e = p.expr()?;
    let t = p.peek(Mode::Expr);
    if t.kind != TokenKind::Eof {
        return Err(p.expected(&t, "an operator or end of input"));
    }
    Ok(e)
}

type R<T> = Result<T, ParseError>;

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// The end of the last token consumed.
    last_end: usize,
    depth: usize,
}

fn bin_op(k: TokenKind) -> Option<BinOp> {
    Some(match k {
        TokenKind::Eq => BinOp::Eq,
        TokenKind::Neq => BinOp::Neq,
        TokenKind::Lt => BinOp::Lt,
        TokenKind::Le => BinOp::Le,
        TokenKind::Gt => BinOp::Gt,
        TokenKind::Ge => BinOp::Ge,
        TokenKind::Plus => BinOp::Add,
        TokenKind::Minus => BinOp::Sub,
        TokenKind::Star => BinOp::Mul,
        TokenKind::Slash => BinOp::Div,
        TokenKind::Percent => BinOp::Mod,
        _ => return None,
    })
}

fn boxed(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl<'a> Parser<'a> {
    fn peek(&self, mode: Mode) -> Token {
        lexer::next(self.src, self.pos, mode)
    }
    fn peek_after(&self, t: &Token, mode: Mode) -> Token {
        lexer::next(self.src, t.span.end, mode)
    }
    fn bump(&mut self, t: &Token) {
        self.pos = t.span.end;
        self.last_end = t.span.end;
    }
    fn text(&self, t: &Token) -> &'a str {
        self.src.get(t.span.start..t.span.end).unwrap_or("")
    }
    /// A bare (unquoted, undotted) name equal to `word`, ignoring case.
    fn is_word(&self, t: &Token, word: &str) -> bool {
        t.kind == TokenKind::Name && self.text(t).eq_ignore_ascii_case(word)
    }
    fn is_bare(&self, t: &Token) -> bool {
        t.kind == TokenKind::Name && lexer::is_plain_part(self.text(t))
    }
    fn describe(&self, t: &Token) -> String {
        match t.kind {
            TokenKind::Eof => "end of input".to_string(),
            TokenKind::Error("unexpected character") => {
                let c = self.src[t.span.start..].chars().next().unwrap_or(' ');
                format!("unexpected character `{c}`")
            }
            TokenKind::Error(m) => m.to_string(),
            _ => {
                let s = self.text(t);
                let short: String = s.chars().take(40).collect();
                if short.len() < s.len() {
                    format!("`{short}…`")
                } else {
                    format!("`{short}`")
                }
            }
        }
    }
    fn error_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::at(self.src, offset, message)
    }
    fn expected(&self, t: &Token, what: &str) -> ParseError {
        self.error_at(
            t.span.start,
            format!("expected {what}, found {}", self.describe(t)),
        )
    }
    fn expect(&mut self, mode: Mode, kind: TokenKind, what: &str) -> R<Token> {
        let t = self.peek(mode);
        if t.kind != kind {
            return Err(self.expected(&t, what));
        }
        self.bump(&t);
        Ok(t)
    }
    fn expect_word(&mut self, mode: Mode, word: &str) -> R<Token> {
        let t = self.peek(mode);
        if !self.is_word(&t, word) {
            return Err(self.expected(&t, &format!("`{}`", word.to_ascii_uppercase())));
        }
        self.bump(&t);
        Ok(t)
    }
    /// Consume a `,` if there is one.
    fn comma(&mut self, mode: Mode) -> bool {
        let t = self.peek(mode);
        if t.kind == TokenKind::Comma {
            self.bump(&t);
            true
        } else {
            false
        }
    }
    fn enter(&mut self, at: usize) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                at,
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    // ---- commands ----

    fn query(&mut self) -> R<Query> {
        let mut commands = vec![self.command(true)?];
        loop {
            let t = self.peek(Mode::Expr);
            match t.kind {
                TokenKind::Eof => break,
                TokenKind::Pipe => {
                    self.bump(&t);
                    commands.push(self.command(false)?);
                }
                TokenKind::Assign => {
                    return Err(self.expected(&t, "`|` or end of input (`==` compares)"));
                }
                _ => return Err(self.expected(&t, "`|` or end of input")),
            }
        }
        let span = Span::new(
            commands.first().map_or(0, |c| c.span.start),
            commands.last().map_or(0, |c| c.span.end),
        );
        Ok(Query { commands, span })
    }

    fn command(&mut self, first: bool) -> R<Command> {
        let t = self.peek(Mode::Expr);
        if !self.is_bare(&t) {
            return Err(self.expected(
                &t,
                if first {
                    "a source command (FROM, ROW, SHOW)"
                } else {
                    "a command name"
                },
            ));
        }
        let name = self.text(&t).to_ascii_uppercase();
        let source = matches!(name.as_str(), "FROM" | "ROW" | "SHOW");
        if first && !source {
            return Err(self.expected(&t, "a source command (FROM, ROW, SHOW)"));
        }
        if !first && source {
            return Err(self.error_at(
                t.span.start,
                format!("`{name}` is a source command: only the first command can be one"),
            ));
        }
        self.bump(&t);
        let start = t.span.start;
        let kind = match name.as_str() {
            "FROM" => self.from()?,
            "ROW" => CommandKind::Row(self.fields()?),
            "SHOW" => {
                let item = self.peek(Mode::Expr);
                if !self.is_bare(&item) {
                    return Err(self.expected(&item, "what to show (INFO)"));
                }
                self.bump(&item);
                CommandKind::Show(self.text(&item).to_ascii_uppercase())
            }
            "WHERE" => CommandKind::Where(self.expr()?),
            "EVAL" => CommandKind::Eval(self.fields()?),
            "STATS" | "INLINESTATS" => self.stats(name == "INLINESTATS")?,
            "INLINE" => {
                self.expect_word(Mode::Expr, "stats")?;
                self.stats(true)?
            }
            "KEEP" => CommandKind::Keep(self.names()?),
            "DROP" => CommandKind::Drop(self.names()?),
            "RENAME" => self.rename()?,
            "SORT" => self.sort()?,
            "LIMIT" => {
                let t = self.peek(Mode::Expr);
                if !matches!(t.kind, TokenKind::Int | TokenKind::Param) {
                    return Err(self.expected(&t, "the number of rows"));
                }
                self.bump(&t);
                CommandKind::Limit(self.literal(&t))
            }
            "DISSECT" => self.dissect()?,
            "GROK" => {
                let input = self.postfix()?;
                let mut patterns = vec![self.pattern_string("a grok pattern string")?];
                while self.comma(Mode::Expr) {
                    patterns.push(self.pattern_string("a grok pattern string")?);
                }
                CommandKind::Grok { input, patterns }
            }
            "ENRICH" => self.enrich()?,
            "MV_EXPAND" => {
                let t = self.peek(Mode::Expr);
                if t.kind != TokenKind::Name {
                    return Err(self.expected(&t, "a field name"));
                }
                self.bump(&t);
                CommandKind::MvExpand(self.name(&t))
            }
            "LOOKUP" => {
                self.expect_word(Mode::Expr, "join")?;
                let index = self.source("a lookup index")?;
                self.expect_word(Mode::Expr, "on")?;
                let mut on = vec![self.expr()?];
                while self.comma(Mode::Expr) {
                    on.push(self.expr()?);
                }
                CommandKind::LookupJoin { index, on }
            }
            _ => self.generic(name)?,
        };
        Ok(Command {
            kind,
            span: Span::new(start, self.last_end),
        })
    }

    fn source(&mut self, what: &str) -> R<Source> {
        let t = self.peek(Mode::Source);
        let name = match t.kind {
            TokenKind::Source => self.text(&t).to_string(),
            TokenKind::Str | TokenKind::TripleStr => lexer::string_value(self.text(&t)),
            _ => return Err(self.expected(&t, what)),
        };
        self.bump(&t);
        Ok(Source { name, span: t.span })
    }

    fn from(&mut self) -> R<CommandKind> {
        let mut sources = vec![self.source("an index pattern")?];
        while self.comma(Mode::Source) {
            sources.push(self.source("an index pattern")?);
        }
        let mut metadata = vec![];
        let t = self.peek(Mode::Source);
        if t.kind == TokenKind::Source && self.text(&t).eq_ignore_ascii_case("metadata") {
            self.bump(&t);
            metadata = self.names()?;
        }
        Ok(CommandKind::From { sources, metadata })
    }

    fn name(&self, t: &Token) -> Name {
        Name {
            name: lexer::name_value(self.text(t)),
            span: t.span,
        }
    }

    /// A name pattern (`KEEP`, `DROP`, …).
    fn pattern(&mut self) -> R<Name> {
        let t = self.peek(Mode::Pattern);
        if t.kind != TokenKind::Name {
            return Err(self.expected(&t, "a field name"));
        }
        self.bump(&t);
        Ok(self.name(&t))
    }

    fn names(&mut self) -> R<Vec<Name>> {
        let mut out = vec![self.pattern()?];
        while self.comma(Mode::Pattern) {
            out.push(self.pattern()?);
        }
        Ok(out)
    }

    fn rename(&mut self) -> R<CommandKind> {
        let mut out = vec![];
        loop {
            let a = self.pattern()?;
            let t = self.peek(Mode::Pattern);
            if self.is_word(&t, "as") {
                self.bump(&t);
                let to = self.pattern()?;
                out.push(Rename { from: a, to });
            } else if t.kind == TokenKind::Assign {
                self.bump(&t);
                let from = self.pattern()?;
                out.push(Rename { from, to: a });
            } else {
                return Err(self.expected(&t, "`AS` or `=`"));
            }
            if !self.comma(Mode::Pattern) {
                return Ok(CommandKind::Rename(out));
            }
        }
    }

    /// `name = expr` or `expr`.
    fn field(&mut self) -> R<Field> {
        let value = self.expr()?;
        let t = self.peek(Mode::Expr);
        if t.kind == TokenKind::Assign
            && let ExprKind::Field(n) = &value.kind
        {
            let name = Name {
                name: n.clone(),
                span: value.span,
            };
            self.bump(&t);
            let value = self.expr()?;
            let span = name.span.to(value.span);
            return Ok(Field {
                name: Some(name),
                value,
                span,
            });
        }
        Ok(Field {
            name: None,
            span: value.span,
            value,
        })
    }

    fn fields(&mut self) -> R<Vec<Field>> {
        let mut out = vec![self.field()?];
        while self.comma(Mode::Expr) {
            out.push(self.field()?);
        }
        Ok(out)
    }

    fn stats(&mut self, inline: bool) -> R<CommandKind> {
        let mut aggs = vec![];
        let t = self.peek(Mode::Expr);
        if !self.is_word(&t, "by") {
            if matches!(t.kind, TokenKind::Pipe | TokenKind::Eof) {
                return Err(self.expected(&t, "an aggregation or `BY`"));
            }
            loop {
                let field = self.field()?;
                let t = self.peek(Mode::Expr);
                let filter = if self.is_word(&t, "where") {
                    self.bump(&t);
                    Some(self.expr()?)
                } else {
                    None
                };
                aggs.push(Agg { field, filter });
                if !self.comma(Mode::Expr) {
                    break;
                }
            }
        }
        let t = self.peek(Mode::Expr);
        let by = if self.is_word(&t, "by") {
            self.bump(&t);
            self.fields()?
        } else {
            vec![]
        };
        Ok(CommandKind::Stats(Stats { inline, aggs, by }))
    }

    fn sort(&mut self) -> R<CommandKind> {
        let mut keys = vec![];
        loop {
            let expr = self.expr()?;
            let mut t = self.peek(Mode::Expr);
            let order = if self.is_word(&t, "asc") {
                Some(Order::Asc)
            } else if self.is_word(&t, "desc") {
                Some(Order::Desc)
            } else {
                None
            };
            if order.is_some() {
                self.bump(&t);
                t = self.peek(Mode::Expr);
            }
            let nulls = if self.is_word(&t, "nulls") {
                self.bump(&t);
                let w = self.peek(Mode::Expr);
                let n = if self.is_word(&w, "first") {
                    Nulls::First
                } else if self.is_word(&w, "last") {
                    Nulls::Last
                } else {
                    return Err(self.expected(&w, "`FIRST` or `LAST`"));
                };
                self.bump(&w);
                Some(n)
            } else {
                None
            };
            keys.push(SortKey { expr, order, nulls });
            if !self.comma(Mode::Expr) {
                return Ok(CommandKind::Sort(keys));
            }
        }
    }

    /// A string or a parameter.
    fn pattern_string(&mut self, what: &str) -> R<Expr> {
        let t = self.peek(Mode::Expr);
        if !matches!(
            t.kind,
            TokenKind::Str | TokenKind::TripleStr | TokenKind::Param
        ) {
            return Err(self.expected(&t, what));
        }
        self.bump(&t);
        Ok(self.literal(&t))
    }

    fn dissect(&mut self) -> R<CommandKind> {
        let input = self.postfix()?;
        let pattern = self.pattern_string("a dissect pattern string")?;
        let mut options = vec![];
        loop {
            let t = self.peek(Mode::Expr);
            if !(self.is_bare(&t) && self.peek_after(&t, Mode::Expr).kind == TokenKind::Assign) {
                if options.is_empty() {
                    break;
                }
                return Err(self.expected(&t, "an option (`NAME = value`)"));
            }
            self.bump(&t);
            let eq = self.peek(Mode::Expr);
            self.bump(&eq);
            let value = self.constant("a constant")?;
            options.push(CommandOption {
                name: self.text(&t).to_ascii_uppercase(),
                value,
            });
            if !self.comma(Mode::Expr) {
                break;
            }
        }
        Ok(CommandKind::Dissect {
            input,
            pattern,
            options,
        })
    }

    fn enrich(&mut self) -> R<CommandKind> {
        let policy = self.source("an enrich policy name")?;
        let mut on = None;
        let t = self.peek(Mode::Pattern);
        if self.is_word(&t, "on") {
            self.bump(&t);
            on = Some(self.pattern()?);
        }
        let mut with = vec![];
        let t = self.peek(Mode::Pattern);
        if self.is_word(&t, "with") {
            self.bump(&t);
            loop {
                let a = self.pattern()?;
                let t = self.peek(Mode::Pattern);
                if t.kind == TokenKind::Assign {
                    self.bump(&t);
                    let field = self.pattern()?;
                    with.push(EnrichField {
                        name: Some(a),
                        field,
                    });
                } else {
                    with.push(EnrichField {
                        name: None,
                        field: a,
                    });
                }
                if !self.comma(Mode::Pattern) {
                    break;
                }
            }
        }
        Ok(CommandKind::Enrich { policy, on, with })
    }

    /// Raw tokens up to the next `|` outside brackets.
    fn generic(&mut self, name: String) -> R<CommandKind> {
        let mut args = vec![];
        let mut depth = 0usize;
        loop {
            let t = self.peek(Mode::Expr);
            match t.kind {
                TokenKind::Eof => break,
                TokenKind::Pipe if depth == 0 => break,
                TokenKind::Error(_) => return Err(self.expected(&t, "a token")),
                TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => depth += 1,
                TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => {
                    depth = depth.saturating_sub(1)
                }
                _ => {}
            }
            self.bump(&t);
            args.push(self.text(&t).to_string());
        }
        Ok(CommandKind::Generic { name, args })
    }

    // ---- expressions ----

    pub(crate) fn expr(&mut self) -> R<Expr> {
        let saved = self.depth;
        let t = self.peek(Mode::Expr);
        self.enter(t.span.start)?;
        let e = self.or();
        self.depth = saved;
        e
    }

    fn or(&mut self) -> R<Expr> {
        let first = self.and()?;
        let mut items = vec![];
        loop {
            let t = self.peek(Mode::Expr);
            if !self.is_word(&t, "or") {
                break;
            }
            self.bump(&t);
            items.push(self.and()?);
        }
        if items.is_empty() {
            return Ok(first);
        }
        items.insert(0, first);
        let span = items[0].span.to(items[items.len() - 1].span);
        Ok(Expr {
            kind: ExprKind::Or(items),
            span,
        })
    }

    fn and(&mut self) -> R<Expr> {
        let first = self.not()?;
        let mut items = vec![];
        loop {
            let t = self.peek(Mode::Expr);
            if !self.is_word(&t, "and") {
                break;
            }
            self.bump(&t);
            items.push(self.not()?);
        }
        if items.is_empty() {
            return Ok(first);
        }
        items.insert(0, first);
        let span = items[0].span.to(items[items.len() - 1].span);
        Ok(Expr {
            kind: ExprKind::And(items),
            span,
        })
    }

    fn not(&mut self) -> R<Expr> {
        let t = self.peek(Mode::Expr);
        if self.is_word(&t, "not") {
            self.bump(&t);
            let saved = self.depth;
            self.enter(t.span.start)?;
            let e = self.not()?;
            self.depth = saved;
            let span = t.span.to(e.span);
            return Ok(Expr {
                kind: ExprKind::Not(boxed(e)),
                span,
            });
        }
        self.predicate()
    }

    fn predicate(&mut self) -> R<Expr> {
        let e = self.value()?;
        self.predicate_tail(e)
    }

    /// What follows the left operand of a predicate. (Apart from [`Parser::predicate`] so
    /// that its locals are not on the stack while operands recurse.)
    fn predicate_tail(&mut self, e: Expr) -> R<Expr> {
        let mut t = self.peek(Mode::Expr);
        let mut negated = false;
        if self.is_word(&t, "not") {
            let after = self.peek_after(&t, Mode::Expr);
            if ["in", "like", "rlike"]
                .iter()
                .any(|w| self.is_word(&after, w))
            {
                self.bump(&t);
                negated = true;
                t = after;
            } else {
                return Ok(e);
            }
        }
        if self.is_word(&t, "in") {
            self.bump(&t);
            self.expect(Mode::Expr, TokenKind::LParen, "`(`")?;
            let mut list = vec![self.value()?];
            while self.comma(Mode::Expr) {
                list.push(self.value()?);
            }
            let close = self.expect(Mode::Expr, TokenKind::RParen, "`,` or `)`")?;
            let span = e.span.to(close.span);
            return Ok(Expr {
                kind: ExprKind::In {
                    expr: boxed(e),
                    list,
                    negated,
                },
                span,
            });
        }
        let rlike = self.is_word(&t, "rlike");
        if rlike || self.is_word(&t, "like") {
            self.bump(&t);
            let open = self.peek(Mode::Expr);
            let (patterns, list) = if open.kind == TokenKind::LParen {
                self.bump(&open);
                let mut v = vec![self.pattern_string("a pattern string")?];
                while self.comma(Mode::Expr) {
                    v.push(self.pattern_string("a pattern string")?);
                }
                self.expect(Mode::Expr, TokenKind::RParen, "`,` or `)`")?;
                (v, true)
            } else {
                (vec![self.pattern_string("a pattern string")?], false)
            };
            let span = Span::new(e.span.start, self.last_end);
            return Ok(Expr {
                kind: ExprKind::Like {
                    expr: boxed(e),
                    rlike,
                    negated,
                    patterns,
                    list,
                },
                span,
            });
        }
        if self.is_word(&t, "is") {
            self.bump(&t);
            let mut w = self.peek(Mode::Expr);
            let negated = self.is_word(&w, "not");
            if negated {
                self.bump(&w);
                w = self.peek(Mode::Expr);
            }
            if !self.is_word(&w, "null") {
                return Err(self.expected(&w, if negated { "`NULL`" } else { "`NOT` or `NULL`" }));
            }
            self.bump(&w);
            let span = e.span.to(w.span);
            return Ok(Expr {
                kind: ExprKind::IsNull {
                    expr: boxed(e),
                    negated,
                },
                span,
            });
        }
        if t.kind == TokenKind::Colon {
            let is_field = match &e.kind {
                ExprKind::Field(_) => true,
                ExprKind::Cast { expr, .. } => matches!(expr.kind, ExprKind::Field(_)),
                _ => false,
            };
            if !is_field {
                return Err(self.error_at(
                    t.span.start,
                    "the match operator `:` needs a field name on its left",
                ));
            }
            self.bump(&t);
            let query = self.constant("a constant to match")?;
            let span = e.span.to(query.span);
            return Ok(Expr {
                kind: ExprKind::Match {
                    field: boxed(e),
                    query: boxed(query),
                },
                span,
            });
        }
        Ok(e)
    }

    /// An arithmetic expression with at most one comparison.
    fn value(&mut self) -> R<Expr> {
        let lhs = self.arith(0)?;
        let t = self.peek(Mode::Expr);
        match bin_op(t.kind) {
            Some(op) if op.is_comparison() => {
                self.bump(&t);
                let rhs = self.arith(0)?;
                let span = lhs.span.to(rhs.span);
                Ok(Expr {
                    kind: ExprKind::Binary {
                        op,
                        lhs: boxed(lhs),
                        rhs: boxed(rhs),
                    },
                    span,
                })
            }
            _ => Ok(lhs),
        }
    }

    /// Level 0: `+ -`; level 1: `* / %`; then unary.
    fn arith(&mut self, level: u8) -> R<Expr> {
        let mut lhs = if level == 0 {
            self.arith(1)?
        } else {
            self.unary()?
        };
        let saved = self.depth;
        loop {
            let t = self.peek(Mode::Expr);
            let op = match bin_op(t.kind) {
                Some(op @ (BinOp::Add | BinOp::Sub)) if level == 0 => op,
                Some(op @ (BinOp::Mul | BinOp::Div | BinOp::Mod)) if level == 1 => op,
                _ => break,
            };
            self.bump(&t);
            self.enter(t.span.start)?;
            let rhs = if level == 0 {
                self.arith(1)?
            } else {
                self.unary()?
            };
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: boxed(lhs),
                    rhs: boxed(rhs),
                },
                span,
            };
        }
        self.depth = saved;
        Ok(lhs)
    }

    fn unary(&mut self) -> R<Expr> {
        let t = self.peek(Mode::Expr);
        if matches!(t.kind, TokenKind::Minus | TokenKind::Plus) {
            self.bump(&t);
            let saved = self.depth;
            self.enter(t.span.start)?;
            let e = self.unary()?;
            self.depth = saved;
            if t.kind == TokenKind::Plus {
                return Ok(e);
            }
            let span = t.span.to(e.span);
            return Ok(Expr {
                kind: ExprKind::Neg(boxed(e)),
                span,
            });
        }
        self.postfix()
    }

    /// A primary expression and its `::type` casts.
    fn postfix(&mut self) -> R<Expr> {
        let mut e = self.primary()?;
        let saved = self.depth;
        loop {
            let t = self.peek(Mode::Expr);
            if t.kind != TokenKind::Cast {
                break;
            }
            self.bump(&t);
            self.enter(t.span.start)?;
            let ty = self.peek(Mode::Expr);
            if !self.is_bare(&ty) {
                return Err(self.expected(&ty, "a type name"));
            }
            self.bump(&ty);
            let span = e.span.to(ty.span);
            e = Expr {
                kind: ExprKind::Cast {
                    expr: boxed(e),
                    ty: self.text(&ty).to_ascii_lowercase(),
                },
                span,
            };
        }
        self.depth = saved;
        Ok(e)
    }

    /// The literal of a number, string or parameter token.
    fn literal(&self, t: &Token) -> Expr {
        let text = self.text(t);
        let kind = match t.kind {
            TokenKind::Int => ExprKind::Int(text.to_string()),
            TokenKind::Decimal => ExprKind::Decimal(text.to_string()),
            TokenKind::Str | TokenKind::TripleStr => ExprKind::Str(lexer::string_value(text)),
            _ => ExprKind::Param(text.to_string()),
        };
        Expr { kind, span: t.span }
    }

    /// A literal: `null`, a boolean, a number (with a sign), a string, a time span, a
    /// parameter or a list of those.
    fn constant(&mut self, what: &str) -> R<Expr> {
        let t = self.peek(Mode::Expr);
        let ok = match t.kind {
            TokenKind::Int
            | TokenKind::Decimal
            | TokenKind::Str
            | TokenKind::TripleStr
            | TokenKind::Param
            | TokenKind::LBracket => true,
            TokenKind::Minus | TokenKind::Plus => matches!(
                self.peek_after(&t, Mode::Expr).kind,
                TokenKind::Int | TokenKind::Decimal
            ),
            _ => ["null", "true", "false"]
                .iter()
                .any(|w| self.is_word(&t, w)),
        };
        if !ok {
            return Err(self.expected(&t, what));
        }
        self.unary()
    }

    fn primary(&mut self) -> R<Expr> {
        let t = self.peek(Mode::Expr);
        match t.kind {
            TokenKind::LParen => {
                self.bump(&t);
                let e = self.expr()?;
                self.expect(Mode::Expr, TokenKind::RParen, "an operator or `)`")?;
                Ok(e)
            }
            TokenKind::LBracket => self.list(t),
            _ => self.atom(t),
        }
    }

    fn list(&mut self, t: Token) -> R<Expr> {
        self.bump(&t);
        let saved = self.depth;
        self.enter(t.span.start)?;
        let mut items = vec![self.expr()?];
        while self.comma(Mode::Expr) {
            items.push(self.expr()?);
        }
        let close = self.expect(Mode::Expr, TokenKind::RBracket, "`,` or `]`")?;
        self.depth = saved;
        Ok(Expr {
            kind: ExprKind::List(items),
            span: t.span.to(close.span),
        })
    }

    /// A literal, a name or a call.
    fn atom(&mut self, t: Token) -> R<Expr> {
        match t.kind {
            TokenKind::Int => {
                self.bump(&t);
                let unit = self.peek(Mode::Expr);
                if self.is_bare(&unit) && !is_keyword(self.text(&unit)) {
                    self.bump(&unit);
                    return Ok(Expr {
                        kind: ExprKind::Duration {
                            value: self.text(&t).to_string(),
                            unit: self.text(&unit).to_string(),
                        },
                        span: t.span.to(unit.span),
                    });
                }
                Ok(self.literal(&t))
            }
            TokenKind::Decimal | TokenKind::Str | TokenKind::TripleStr | TokenKind::Param => {
                self.bump(&t);
                Ok(self.literal(&t))
            }
            TokenKind::Name => {
                let text = self.text(&t);
                let bare = lexer::is_plain_part(text);
                if bare {
                    let lower = text.to_ascii_lowercase();
                    let kind = match lower.as_str() {
                        "null" => Some(ExprKind::Null),
                        "true" => Some(ExprKind::Bool(true)),
                        "false" => Some(ExprKind::Bool(false)),
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        self.bump(&t);
                        return Ok(Expr { kind, span: t.span });
                    }
                    let call = self.peek_after(&t, Mode::Expr).kind == TokenKind::LParen;
                    let operator =
                        ["and", "or", "not", "in", "is", "like", "rlike"].contains(&lower.as_str());
                    if call && !operator {
                        return self.call(&t);
                    }
                    if NOT_FIELDS.contains(&lower.as_str()) {
                        return Err(self.expected(&t, "an expression"));
                    }
                }
                self.bump(&t);
                Ok(Expr {
                    kind: ExprKind::Field(lexer::name_value(text)),
                    span: t.span,
                })
            }
            _ => Err(self.expected(&t, "an expression")),
        }
    }

    fn call(&mut self, name: &Token) -> R<Expr> {
        self.bump(name);
        let open = self.peek(Mode::Expr);
        self.bump(&open);
        let saved = self.depth;
        self.enter(open.span.start)?;
        let mut args = vec![];
        let t = self.peek(Mode::Expr);
        if t.kind == TokenKind::Star && self.peek_after(&t, Mode::Expr).kind == TokenKind::RParen {
            self.bump(&t);
            args.push(Expr {
                kind: ExprKind::Star,
                span: t.span,
            });
        } else if t.kind != TokenKind::RParen {
            loop {
                let t = self.peek(Mode::Expr);
                args.push(if t.kind == TokenKind::LBrace {
                    self.map()?
                } else {
                    self.expr()?
                });
                if !self.comma(Mode::Expr) {
                    break;
                }
            }
        }
        let close = self.expect(Mode::Expr, TokenKind::RParen, "`,` or `)`")?;
        self.depth = saved;
        Ok(Expr {
            kind: ExprKind::Call {
                name: self.text(name).to_ascii_uppercase(),
                args,
            },
            span: name.span.to(close.span),
        })
    }

    /// `{"key": value, …}`.
    fn map(&mut self) -> R<Expr> {
        let open = self.peek(Mode::Expr);
        self.bump(&open);
        let saved = self.depth;
        self.enter(open.span.start)?;
        let mut entries = vec![];
        let t = self.peek(Mode::Expr);
        if t.kind != TokenKind::RBrace {
            loop {
                let k = self.peek(Mode::Expr);
                if !matches!(k.kind, TokenKind::Str | TokenKind::TripleStr) {
                    return Err(self.expected(&k, "a key string"));
                }
                self.bump(&k);
                self.expect(Mode::Expr, TokenKind::Colon, "`:`")?;
                let t = self.peek(Mode::Expr);
                let value = if t.kind == TokenKind::LBrace {
                    self.map()?
                } else {
                    self.expr()?
                };
                entries.push(MapEntry {
                    key: lexer::string_value(self.text(&k)),
                    value,
                });
                if !self.comma(Mode::Expr) {
                    break;
                }
            }
        }
        let close = self.expect(Mode::Expr, TokenKind::RBrace, "`,` or `}`")?;
        self.depth = saved;
        Ok(Expr {
            kind: ExprKind::Map(entries),
            span: open.span.to(close.span),
        })
    }
}
