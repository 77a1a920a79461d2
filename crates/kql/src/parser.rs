//! A recursive-descent parser for KQL as detections write it. [`parse`] never panics: bad input
//! is a [`ParseError`] with the line and column and what was expected there.
//!
//! Decisions:
//! - Scalar and tabular expressions are one grammar: any expression may be followed by
//!   `| operator` where a tabular expression can stand (a statement, a `let` value, inside
//!   parentheses, a call argument, an `in (…)` list item). Inside an operator's arguments a `|`
//!   ends the operator, so `where a | project b` is two operators.
//! - Precedence, loosest first: `or`, `and`, comparisons and string operators (`==`, `has`,
//!   `in (…)`, `between (…)`, left-associative, one level), `+ -`, `* / %`, unary `-`, then
//!   postfix `.name`, `[index]`. `not(…)` is a function. `and`/`or` chains are n-ary nodes.
//! - Words are case-sensitive: `and`, `has`, `by` are keywords only in lower case.
//! - `union`, `print`, `search`, `find … where` and `range … from` at the start of a tabular
//!   expression are source operators. An operator after `|` this parser does not know
//!   (`graph-match`, …) is kept as its name and raw tokens up to the next `|` outside brackets.
//! - Following Kusto's grammar: `where name = value` (a single `=`, which Kusto's grammar reads
//!   as a named expression) is the comparison `name == value`; `col:"v"` (in `search`) is `has`;
//!   calls take named arguments (`f(x, flag = true)`); `x.[0]` and `x.['a b']` are indexes;
//!   schemas may end with a comma (`(a:string,)`); `evaluate` takes an output schema
//!   (`evaluate pivot(k) : (a:string)`).
//! - Operator options (`kind=`, `hint.*=`, `withsource=`, …) are read only for the operators
//!   that take them, so `extend kind = 1` is an assignment.

use std::fmt;

use crate::ast::*;
use crate::lexer::{self, Token, TokenKind as K};

/// Nesting deeper than this (parentheses, subqueries, unary chains, long operator chains other
/// than `and`/`or`) is an error, not a stack overflow.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the parsed text.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What the parser expected there.
    pub expected: String,
    /// What it found (a quoted token, "end of input", or a lexical problem).
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: expected {}, found {}",
            self.line, self.column, self.expected, self.found
        )
    }
}

impl std::error::Error for ParseError {}

/// Parse a whole query: `;`-separated statements.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    let mut p = Parser::new(src);
    let statements = p.statements(false).map_err(|e| *e)?;
    p.expect_eof("'|', ';' or end of input").map_err(|e| *e)?;
    Ok(Query {
        statements,
        span: 0..src.len(),
    })
}

/// Parse one expression (scalar or tabular) alone.
pub fn parse_expr(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser::new(src);
    let e = p.tabular().map_err(|e| *e)?;
    p.expect_eof("'|' or end of input").map_err(|e| *e)?;
    Ok(e)
}

/// Errors are boxed inside the parser: results stay small as they travel up the recursion.
type R<T> = Result<T, Box<ParseError>>;

/// A binary operator as the precedence climber sees it.
#[derive(Clone, Copy)]
enum Op {
    Or,
    And,
    Bin(BinOp),
    Matches,
    List(ListOp),
    Between(bool),
}

fn op_precedence(op: BinOp) -> u8 {
    op.precedence()
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

/// Operator words that cannot start an expression.
fn is_operator_word(w: &str) -> bool {
    matches!(w, "and" | "or" | "between" | "!between" | "matches")
        || StrOp::from_word(w).is_some()
        || ListOp::from_word(w).is_some()
}

/// The tabular operators this parser reads (after `|`; `union`, `search`, `find` also as
/// sources). Any other word after `|` is kept as a generic operator.
pub const OPERATORS: &[&str] = &[
    "where",
    "filter",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "extend",
    "summarize",
    "join",
    "lookup",
    "union",
    "distinct",
    "top",
    "sort",
    "order",
    "take",
    "limit",
    "count",
    "mv-expand",
    "mv-apply",
    "parse",
    "parse-where",
    "parse-kv",
    "evaluate",
    "invoke",
    "make-series",
    "render",
    "as",
    "serialize",
    "sample",
    "search",
    "top-nested",
    "getschema",
    "partition",
    "find",
    "fork",
    "facet",
    "scan",
];

/// Whether `w` names a tabular operator this parser reads ([`OPERATORS`]).
pub fn is_operator_name(w: &str) -> bool {
    OPERATORS.contains(&w)
}

/// Options each operator takes (`hint.` stands for any `hint.*`).
const JOIN_OPTS: &[&str] = &["kind", "hint."];
const UNION_OPTS: &[&str] = &["kind", "withsource", "isfuzzy", "hint."];
const HINT_OPTS: &[&str] = &["hint."];
const MV_OPTS: &[&str] = &["kind", "bagexpansion", "with_itemindex"];
const PARSE_OPTS: &[&str] = &["kind", "flags"];
const KIND_OPTS: &[&str] = &["kind"];
const FIND_OPTS: &[&str] = &["kind", "withsource", "isfuzzy", "datascope", "hint."];
const PARTITION_OPTS: &[&str] = &["hint."];
const SCAN_OPTS: &[&str] = &["with_match_id"];

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            toks: lexer::tokenize(src),
            i: 0,
            depth: 0,
        }
    }

    // ---- token helpers ----

    fn tok(&self, n: usize) -> &Token {
        let last = self.toks.len() - 1;
        &self.toks[(self.i + n).min(last)]
    }
    fn kind(&self) -> K {
        self.tok(0).kind
    }
    fn kind_at(&self, n: usize) -> K {
        self.tok(n).kind
    }
    fn text_of(&self, t: &Token) -> &'a str {
        self.src.get(t.span.clone()).unwrap_or("")
    }
    fn text_at(&self, n: usize) -> &'a str {
        self.text_of(self.tok(n))
    }
    fn bump(&mut self) -> Token {
        let t = self.tok(0).clone();
        if t.kind != K::Eof {
            self.i += 1;
        }
        t
    }
    fn start(&self) -> usize {
        self.tok(0).span.start
    }
    /// End of the last token taken.
    fn end(&self) -> usize {
        if self.i == 0 {
            0
        } else {
            self.toks[self.i - 1].span.end
        }
    }
    fn word_at(&self, n: usize, w: &str) -> bool {
        self.kind_at(n) == K::Ident && self.text_at(n) == w
    }
    fn is_word(&self, w: &str) -> bool {
        self.word_at(0, w)
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn eat(&mut self, k: K) -> bool {
        if self.kind() == k {
            self.bump();
            true
        } else {
            false
        }
    }
    fn describe(&self, t: &Token) -> String {
        match t.kind {
            K::Eof => "end of input".to_string(),
            K::Error(m) => m.message().to_string(),
            _ => {
                let s = self.text_of(t);
                let short: String = s.chars().take(30).collect();
                if short.len() < s.len() {
                    format!("'{short}…'")
                } else {
                    format!("'{short}'")
                }
            }
        }
    }
    fn err_at<T>(&self, t: &Token, expected: &str) -> R<T> {
        let (line, column) = lexer::line_col(self.src, t.span.start);
        Err(Box::new(ParseError {
            offset: t.span.start,
            line,
            column,
            expected: expected.to_string(),
            found: self.describe(t),
        }))
    }
    fn err<T>(&self, expected: &str) -> R<T> {
        self.err_at(self.tok(0), expected)
    }
    fn expect(&mut self, k: K, expected: &str) -> R<Token> {
        if self.kind() == k {
            Ok(self.bump())
        } else {
            self.err(expected)
        }
    }
    fn expect_word(&mut self, w: &str) -> R<()> {
        if self.eat_word(w) {
            Ok(())
        } else {
            self.err(&format!("'{w}'"))
        }
    }
    fn expect_eof(&mut self, expected: &str) -> R<()> {
        if self.kind() == K::Eof {
            Ok(())
        } else {
            self.err(expected)
        }
    }
    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let (line, column) = lexer::line_col(self.src, self.start());
            return Err(Box::new(ParseError {
                offset: self.start(),
                line,
                column,
                expected: format!("at most {MAX_DEPTH} levels of nesting"),
                found: "deeper nesting".to_string(),
            }));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }
    /// A hyphenated word at token `n` written without spaces (`project-away`, `granny-asc`):
    /// the word (one slice of the source, its tokens being adjacent) and how many tokens it takes.
    fn hyphen_word_at(&self, n: usize) -> Option<(&'a str, usize)> {
        if self.kind_at(n) != K::Ident {
            return None;
        }
        let mut k = 1;
        while self.kind_at(n + k) == K::Minus
            && self.kind_at(n + k + 1) == K::Ident
            && self.tok(n + k).span.start == self.tok(n + k - 1).span.end
            && self.tok(n + k + 1).span.start == self.tok(n + k).span.end
        {
            k += 2;
        }
        let span = self.tok(n).span.start..self.tok(n + k - 1).span.end;
        Some((self.src.get(span).unwrap_or(""), k))
    }
    /// Whether the current token ends an operator's arguments.
    fn at_op_end(&self) -> bool {
        matches!(
            self.kind(),
            K::Pipe | K::Semi | K::RParen | K::RBrace | K::RBracket | K::Eof
        )
    }
    /// A plain name at token `n`: an identifier token other than `!has`-like and `in~`-like
    /// operator words.
    fn is_name_tok(&self, n: usize) -> bool {
        let t = self.tok(n);
        t.kind == K::Ident
            && self.src.as_bytes().get(t.span.start) != Some(&b'!')
            && self.src.as_bytes().get(t.span.end.wrapping_sub(1)) != Some(&b'~')
    }

    // ---- statements ----

    fn statements(&mut self, in_body: bool) -> R<Vec<Statement>> {
        let mut out = vec![];
        loop {
            while self.eat(K::Semi) {}
            if self.kind() == K::Eof || (in_body && self.kind() == K::RBrace) {
                return Ok(out);
            }
            out.push(self.statement()?);
            if !self.eat(K::Semi) {
                return Ok(out);
            }
        }
    }

    fn statement(&mut self) -> R<Statement> {
        let start = self.start();
        let kind = if self.is_word("let") && self.name_ahead(1) {
            self.bump();
            let name = self.name()?;
            self.expect(K::Eq, "'=' after the let name")?;
            let view = self.is_word("view") && self.function_ahead(1);
            let value = if view {
                self.bump();
                self.function(true)?
            } else if self.function_ahead(0) {
                self.function(false)?
            } else {
                LetValue::Expr(self.tabular()?)
            };
            StatementKind::Let { name, value }
        } else if self.is_word("set")
            && self.is_name_tok(1)
            && matches!(self.kind_at(2), K::Eq | K::Semi | K::Eof)
        {
            self.bump();
            let name = self.name()?;
            let value = if self.eat(K::Eq) {
                Some(self.param_value()?)
            } else {
                None
            };
            StatementKind::Set { name, value }
        } else {
            StatementKind::Expr(self.tabular()?)
        };
        Ok(Statement {
            kind,
            span: start..self.end(),
        })
    }

    /// A name (plain or `['…']`) at token `n`.
    fn name_ahead(&self, n: usize) -> bool {
        self.is_name_tok(n)
            || (self.kind_at(n) == K::LBracket
                && self.kind_at(n + 1) == K::Str
                && self.kind_at(n + 2) == K::RBracket)
    }

    /// A function's parameters and body at token `n`: `() {`, `(name:`.
    fn function_ahead(&self, n: usize) -> bool {
        self.kind_at(n) == K::LParen
            && ((self.kind_at(n + 1) == K::RParen && self.kind_at(n + 2) == K::LBrace)
                || (self.name_ahead(n + 1) && {
                    let after = if self.kind_at(n + 1) == K::LBracket {
                        4
                    } else {
                        2
                    };
                    self.kind_at(n + after) == K::Colon
                }))
    }

    fn function(&mut self, view: bool) -> R<LetValue> {
        self.enter()?;
        self.expect(K::LParen, "'('")?;
        let mut params = vec![];
        if !self.eat(K::RParen) {
            loop {
                params.push(self.param()?);
                if self.eat(K::RParen) {
                    break;
                }
                self.expect(K::Comma, "',' or ')'")?;
            }
        }
        self.expect(K::LBrace, "'{' and the function body")?;
        let body = self.statements(true)?;
        self.expect(K::RBrace, "';' or '}'")?;
        self.leave();
        Ok(LetValue::Function { params, body, view })
    }

    /// `name:type [= default]`.
    fn param(&mut self) -> R<Param> {
        let name = self.name()?;
        self.expect(K::Colon, "':' and a type")?;
        let ty = self.param_type()?;
        let default = if self.eat(K::Eq) {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(Param { name, ty, default })
    }

    /// `string`, `(*)`, `(a:string, b:long)`.
    fn param_type(&mut self) -> R<String> {
        if self.eat(K::LParen) {
            if self.eat(K::Star) {
                self.expect(K::RParen, "')'")?;
                return Ok("(*)".to_string());
            }
            let cols = self.column_defs_after_paren()?;
            let inner: Vec<String> = cols
                .iter()
                .map(|c| format!("{}:{}", crate::print::name_text(&c.name.text), c.ty))
                .collect();
            return Ok(format!("({})", inner.join(", ")));
        }
        self.type_name()
    }

    fn type_name(&mut self) -> R<String> {
        if self.is_name_tok(0) {
            let t = self.bump();
            Ok(self.text_of(&t).to_string())
        } else {
            self.err("a type name")
        }
    }

    /// `name:type, …)` after the `(` (a comma may end the list, as Kusto's grammar allows).
    fn column_defs_after_paren(&mut self) -> R<Vec<ColumnDef>> {
        let mut cols = vec![];
        loop {
            if self.eat(K::RParen) {
                return Ok(cols);
            }
            let name = self.name()?;
            self.expect(K::Colon, "':' and a type")?;
            let ty = self.type_name()?;
            cols.push(ColumnDef { name, ty });
            if self.eat(K::RParen) {
                return Ok(cols);
            }
            self.expect(K::Comma, "',' or ')'")?;
        }
    }

    fn name(&mut self) -> R<Name> {
        if self.is_name_tok(0) {
            let t = self.bump();
            return Ok(Name {
                text: self.text_of(&t).into(),
                span: t.span,
            });
        }
        if self.name_ahead(0) {
            let open = self.bump();
            let s = self.bump();
            let close = self.bump();
            let (_, _, value) = lexer::string_value(self.text_of(&s));
            return Ok(Name {
                text: value,
                span: open.span.start..close.span.end,
            });
        }
        self.err("a name")
    }

    /// A column name that may hold `*` wildcards (`Initiating*`, `*`).
    fn pattern_name(&mut self) -> R<Name> {
        if self.kind() == K::LBracket {
            return self.name();
        }
        if !(self.is_name_tok(0) || self.kind() == K::Star) {
            return self.err("a column name");
        }
        let first = self.bump();
        let mut text = self.text_of(&first).to_string();
        let mut end = first.span.end;
        while (self.is_name_tok(0) || self.kind() == K::Star) && self.start() == end {
            let t = self.bump();
            text.push_str(self.text_of(&t));
            end = t.span.end;
        }
        Ok(Name {
            text: text.into(),
            span: first.span.start..end,
        })
    }

    // ---- tabular expressions and operators ----

    fn tabular(&mut self) -> R<Expr> {
        self.enter()?;
        let start = self.start();
        let source = self.source()?;
        let mut ops = vec![];
        while self.eat(K::Pipe) {
            ops.push(self.operator()?);
        }
        self.leave();
        if ops.is_empty() {
            return Ok(source);
        }
        Ok(Expr {
            kind: ExprKind::Pipe {
                source: Box::new(source),
                ops,
            },
            span: start..self.end(),
        })
    }

    fn source(&mut self) -> R<Expr> {
        let start = self.start();
        let is_source_op = self.is_word("union")
            || self.is_word("print")
            || self.is_word("search")
            || (self.is_word("find")
                && (self.word_at(1, "in")
                    || self.word_at(1, "where")
                    || (self.is_name_tok(1) && self.kind_at(2) == K::Eq)))
            || (self.is_word("range") && self.name_ahead(1) && {
                let after = if self.kind_at(1) == K::LBracket { 4 } else { 2 };
                self.word_at(after, "from")
            });
        if is_source_op {
            let op = self.operator()?;
            return Ok(Expr {
                kind: ExprKind::Source(Box::new(op)),
                span: start..self.end(),
            });
        }
        self.expr()
    }

    fn operator(&mut self) -> R<Operator> {
        let start = self.start();
        let Some((name, n)) = self.hyphen_word_at(0) else {
            return self.err("an operator name after '|'");
        };
        if !lexer::is_plain_ident(self.text_at(0)) {
            return self.err("an operator name after '|'");
        }
        for _ in 0..n {
            self.bump();
        }
        use OperatorKind as O;
        let kind = match name {
            "where" | "filter" => {
                let after = if self.kind() == K::LBracket { 3 } else { 1 };
                if self.name_ahead(0) && self.kind_at(after) == K::Eq {
                    // Kusto's grammar reads `where a = b` as a named expression; it means the
                    // comparison `a == b`.
                    let n = self.name()?;
                    self.bump();
                    let lhs = Expr {
                        kind: ExprKind::Ident(n.text),
                        span: n.span,
                    };
                    let rhs = self.expr()?;
                    O::Where(binary(BinOp::Eq, lhs, rhs))
                } else {
                    O::Where(self.expr()?)
                }
            }
            "extend" => O::Extend(self.assigns(&[])?),
            "project" => O::Project(self.assigns(&[])?),
            "project-away" => O::ProjectAway(self.patterns()?),
            "project-keep" => O::ProjectKeep(self.patterns()?),
            "project-rename" => {
                let mut v = vec![];
                loop {
                    let new = self.name()?;
                    self.expect(K::Eq, "'=' and the old name")?;
                    let old = self.name()?;
                    v.push((new, old));
                    if !self.eat(K::Comma) {
                        break;
                    }
                }
                O::ProjectRename(v)
            }
            "project-reorder" => {
                let mut v = vec![];
                loop {
                    let col = self.pattern_name()?;
                    let dir = match self.hyphen_word_at(0) {
                        Some((w, n))
                            if matches!(w, "asc" | "desc" | "granny-asc" | "granny-desc") =>
                        {
                            for _ in 0..n {
                                self.bump();
                            }
                            Some(w.to_string())
                        }
                        _ => None,
                    };
                    v.push((col, dir));
                    if !self.eat(K::Comma) {
                        break;
                    }
                }
                O::ProjectReorder(v)
            }
            "summarize" => {
                let params = self.params(HINT_OPTS)?;
                let aggs = if self.is_word("by") {
                    vec![]
                } else {
                    self.assigns(&["by"])?
                };
                let by = if self.eat_word("by") {
                    self.assigns1()?
                } else {
                    vec![]
                };
                O::Summarize { params, aggs, by }
            }
            "join" | "lookup" => {
                let params = self.params(if name == "join" { JOIN_OPTS } else { KIND_OPTS })?;
                let right = self.postfix()?;
                let mut on = vec![];
                if self.eat_word("on") {
                    loop {
                        on.push(self.expr()?);
                        if !self.eat(K::Comma) {
                            break;
                        }
                    }
                }
                if name == "join" {
                    O::Join { params, right, on }
                } else {
                    O::Lookup { params, right, on }
                }
            }
            "union" => {
                let params = self.params(UNION_OPTS)?;
                let mut tables = vec![];
                loop {
                    tables.push(self.table_ref()?);
                    if !self.eat(K::Comma) {
                        break;
                    }
                }
                O::Union { params, tables }
            }
            "distinct" => {
                let params = self.params(HINT_OPTS)?;
                let mut columns = vec![];
                loop {
                    columns.push(self.assign()?);
                    if !self.eat(K::Comma) {
                        break;
                    }
                }
                O::Distinct { params, columns }
            }
            "top" => {
                let count = self.expr()?;
                self.expect_word("by")?;
                O::Top {
                    count,
                    by: self.sort_keys()?,
                }
            }
            "sort" | "order" => {
                let params = self.params(HINT_OPTS)?;
                self.expect_word("by")?;
                O::Sort {
                    params,
                    by: self.sort_keys()?,
                }
            }
            "take" | "limit" => O::Take(self.expr()?),
            "count" => O::Count,
            "getschema" => O::Getschema,
            "mv-expand" | "mv-apply" => {
                let params = self.params(MV_OPTS)?;
                let mut items = vec![];
                loop {
                    let assign = self.assign()?;
                    let to_type = if self.eat_word("to") {
                        self.expect_word("typeof")?;
                        self.expect(K::LParen, "'('")?;
                        let ty = self.type_name()?;
                        self.expect(K::RParen, "')'")?;
                        Some(ty)
                    } else {
                        None
                    };
                    items.push(MvItem { assign, to_type });
                    if !self.eat(K::Comma) {
                        break;
                    }
                }
                let limit = if self.eat_word("limit") {
                    Some(self.expr()?)
                } else {
                    None
                };
                if name == "mv-expand" {
                    O::MvExpand {
                        params,
                        items,
                        limit,
                    }
                } else {
                    self.expect_word("on")?;
                    self.enter()?;
                    self.expect(K::LParen, "'(' and a subquery")?;
                    let mut on = vec![self.operator()?];
                    while self.eat(K::Pipe) {
                        on.push(self.operator()?);
                    }
                    self.expect(K::RParen, "'|' or ')'")?;
                    self.leave();
                    O::MvApply {
                        params,
                        items,
                        limit,
                        on,
                    }
                }
            }
            "parse" | "parse-where" => {
                let params = self.params(PARSE_OPTS)?;
                let source = self.expr()?;
                self.expect_word("with")?;
                let mut pattern = vec![];
                while !self.at_op_end() {
                    pattern.push(match self.kind() {
                        K::Str => {
                            let t = self.bump();
                            ParsePart::Str(str_lit(self.text_of(&t)))
                        }
                        K::Star => {
                            self.bump();
                            ParsePart::Star
                        }
                        _ => {
                            let name = self.name()?;
                            let ty = if self.eat(K::Colon) {
                                Some(self.type_name()?)
                            } else {
                                None
                            };
                            ParsePart::Column { name, ty }
                        }
                    });
                }
                O::Parse {
                    where_: name == "parse-where",
                    params,
                    source,
                    pattern,
                }
            }
            "parse-kv" => {
                let source = self.expr()?;
                self.expect_word("as")?;
                self.expect(K::LParen, "'(' and columns")?;
                let columns = self.column_defs_after_paren()?;
                let with = if self.eat_word("with") {
                    self.kv_list()?
                } else {
                    vec![]
                };
                O::ParseKv {
                    source,
                    columns,
                    with,
                }
            }
            "evaluate" => {
                let params = self.params(HINT_OPTS)?;
                let call = self.postfix()?;
                let schema = if self.eat(K::Colon) {
                    self.expect(K::LParen, "'(' and the output schema")?;
                    Some(self.column_defs_after_paren()?)
                } else {
                    None
                };
                O::Evaluate {
                    params,
                    call,
                    schema,
                }
            }
            "invoke" => O::Invoke(self.postfix()?),
            "make-series" => self.make_series()?,
            "render" => {
                let chart = self.name()?;
                let with = if self.eat_word("with") {
                    self.kv_list()?
                } else {
                    vec![]
                };
                O::Render { chart, with }
            }
            "as" => O::As {
                params: self.params(HINT_OPTS)?,
                name: self.name()?,
            },
            "serialize" => O::Serialize(self.assigns(&[])?),
            "sample" => O::Sample(self.expr()?),
            "sample-distinct" => {
                let count = self.expr()?;
                self.expect_word("of")?;
                O::SampleDistinct {
                    count,
                    of: Box::new(self.expr()?),
                }
            }
            "search" => {
                let params = self.params(KIND_OPTS)?;
                let tables = if self.is_word("in") && self.kind_at(1) == K::LParen {
                    self.bump();
                    self.bump();
                    let mut t = vec![];
                    loop {
                        t.push(self.table_ref()?);
                        if !self.eat(K::Comma) {
                            break;
                        }
                    }
                    self.expect(K::RParen, "',' or ')'")?;
                    Some(t)
                } else {
                    None
                };
                O::Search {
                    params,
                    tables,
                    predicate: self.expr()?,
                }
            }
            "top-nested" => self.top_nested()?,
            "print" => O::Print(self.assigns(&[])?),
            "range" => {
                let name = self.name()?;
                self.expect_word("from")?;
                let from = self.expr()?;
                self.expect_word("to")?;
                let to = self.expr()?;
                self.expect_word("step")?;
                O::Range {
                    name,
                    from: Box::new(from),
                    to: Box::new(to),
                    step: Box::new(self.expr()?),
                }
            }
            "find" => self.find()?,
            "fork" => {
                let mut branches = vec![];
                while self.kind() == K::LParen || self.name_ahead(0) {
                    let name = if self.kind() == K::LParen {
                        None
                    } else {
                        let n = self.name()?;
                        self.expect(K::Eq, "'=' and a parenthesised branch")?;
                        Some(n)
                    };
                    let ops = self.sub_operators()?;
                    branches.push(ForkBranch { name, ops });
                }
                if branches.is_empty() {
                    return self.err("'(' and a branch of operators");
                }
                O::Fork(branches)
            }
            "facet" => {
                self.expect_word("by")?;
                let mut by = vec![];
                loop {
                    by.push(self.postfix()?);
                    if !self.eat(K::Comma) {
                        break;
                    }
                }
                let with = if self.eat_word("with") {
                    if self.kind() == K::LParen {
                        self.sub_operators()?
                    } else {
                        vec![self.operator()?]
                    }
                } else {
                    vec![]
                };
                O::Facet { by, with }
            }
            "partition" => {
                let params = self.params(PARTITION_OPTS)?;
                self.expect_word("by")?;
                let n = self.name()?;
                let by = Expr {
                    kind: ExprKind::Ident(n.text),
                    span: n.span,
                };
                let in_ = if self.eat_word("in") {
                    Some(self.postfix()?)
                } else {
                    None
                };
                let body = if self.kind() == K::LBrace {
                    self.enter()?;
                    self.bump();
                    let q = self.tabular()?;
                    self.expect(K::RBrace, "'|' or '}'")?;
                    self.leave();
                    PartitionBody::Query(Box::new(q))
                } else {
                    PartitionBody::Ops(self.sub_operators()?)
                };
                O::Partition {
                    params,
                    by,
                    in_,
                    body,
                }
            }
            "scan" => self.scan()?,
            _ => O::Generic {
                tokens: self.raw_tokens()?,
                name: name.to_string(),
            },
        };
        Ok(Operator {
            kind,
            span: start..self.end(),
        })
    }

    /// `( op | op … )`: operators applied to an implicit input (fork branches, facet, partition).
    fn sub_operators(&mut self) -> R<Vec<Operator>> {
        self.enter()?;
        self.expect(K::LParen, "'(' and operators")?;
        let mut ops = vec![self.operator()?];
        while self.eat(K::Pipe) {
            ops.push(self.operator()?);
        }
        self.expect(K::RParen, "'|' or ')'")?;
        self.leave();
        Ok(ops)
    }

    /// `find [options] [in (T, …)] where predicate [project … | project-smart] [project-away …]`.
    fn find(&mut self) -> R<OperatorKind> {
        let params = self.params(FIND_OPTS)?;
        let tables = if self.is_word("in") && self.kind_at(1) == K::LParen {
            self.bump();
            self.bump();
            let mut t = vec![];
            loop {
                t.push(self.table_ref()?);
                if !self.eat(K::Comma) {
                    break;
                }
            }
            self.expect(K::RParen, "',' or ')'")?;
            Some(t)
        } else {
            None
        };
        if tables.is_some() || !params.is_empty() {
            self.expect_word("where")?;
        } else {
            self.eat_word("where");
        }
        let predicate = self.expr()?;
        let project = match self.hyphen_word_at(0) {
            Some(("project-smart", n)) => {
                for _ in 0..n {
                    self.bump();
                }
                Some(FindProject::Smart)
            }
            Some(("project", 1)) => {
                self.bump();
                Some(FindProject::Columns(self.find_columns()?))
            }
            _ => None,
        };
        let project_away = match self.hyphen_word_at(0) {
            Some(("project-away", n)) => {
                for _ in 0..n {
                    self.bump();
                }
                Some(self.find_columns()?)
            }
            _ => None,
        };
        Ok(OperatorKind::Find {
            params,
            tables,
            predicate,
            project,
            project_away,
        })
    }

    /// `a, b:string, pack(*)` or `*` (find's project and project-away columns).
    fn find_columns(&mut self) -> R<Vec<FindColumn>> {
        let mut cols = vec![];
        loop {
            if self.eat(K::Star) {
                cols.push(FindColumn::Star);
            } else if self.is_word("pack")
                && self.kind_at(1) == K::LParen
                && self.kind_at(2) == K::Star
                && self.kind_at(3) == K::RParen
            {
                for _ in 0..4 {
                    self.bump();
                }
                cols.push(FindColumn::Pack);
            } else {
                let name = self.name()?;
                let ty = if self.eat(K::Colon) {
                    Some(self.type_name()?)
                } else {
                    None
                };
                cols.push(FindColumn::Column { name, ty });
            }
            if !self.eat(K::Comma) {
                return Ok(cols);
            }
        }
    }

    /// `scan [options] [order by …] [partition by …] [declare (…)] with (step …; …)`.
    fn scan(&mut self) -> R<OperatorKind> {
        let params = self.params(SCAN_OPTS)?;
        let order_by = if self.is_word("order") && self.word_at(1, "by") {
            self.bump();
            self.bump();
            self.sort_keys()?
        } else {
            vec![]
        };
        let mut partition_by = vec![];
        if self.is_word("partition") && self.word_at(1, "by") {
            self.bump();
            self.bump();
            loop {
                partition_by.push(self.expr()?);
                if !self.eat(K::Comma) {
                    break;
                }
            }
        }
        let mut declare = vec![];
        if self.eat_word("declare") {
            self.expect(K::LParen, "'(' and parameters")?;
            loop {
                declare.push(self.param()?);
                if self.eat(K::RParen) {
                    break;
                }
                self.expect(K::Comma, "',' or ')'")?;
            }
        }
        self.expect_word("with")?;
        self.enter()?;
        self.expect(K::LParen, "'(' and steps")?;
        let mut steps = vec![];
        loop {
            self.expect_word("step")?;
            let name = self.name()?;
            let optional = self.eat_word("optional");
            let output = if self.is_word("output") && self.kind_at(1) == K::Eq {
                self.bump();
                self.bump();
                Some(self.type_name()?)
            } else {
                None
            };
            self.expect(K::Colon, "':' and the step's condition")?;
            let condition = self.expr()?;
            let mut assigns = vec![];
            if self.eat(K::Arrow) {
                loop {
                    let n = self.name()?;
                    self.expect(K::Eq, "'='")?;
                    assigns.push((n, self.expr()?));
                    if !self.eat(K::Comma) {
                        break;
                    }
                }
            }
            steps.push(ScanStep {
                name,
                optional,
                output,
                condition,
                assigns,
            });
            self.expect(K::Semi, "';' after the step")?;
            if self.eat(K::RParen) {
                break;
            }
        }
        self.leave();
        Ok(OperatorKind::Scan {
            params,
            order_by,
            partition_by,
            declare,
            steps,
        })
    }

    /// Options such as `kind=inner hint.strategy=shuffle`, for the names in `allowed`.
    fn params(&mut self, allowed: &[&str]) -> R<Vec<OptParam>> {
        let mut out = vec![];
        loop {
            if !self.is_name_tok(0) {
                return Ok(out);
            }
            let mut name = self.text_at(0).to_string();
            let mut n = 1;
            while self.kind_at(n) == K::Dot && self.is_name_tok(n + 1) {
                name.push('.');
                name.push_str(self.text_at(n + 1));
                n += 2;
            }
            let known = allowed.contains(&name.as_str())
                || (name.starts_with("hint.") && n > 1 && allowed.contains(&"hint."));
            if !known || self.kind_at(n) != K::Eq {
                return Ok(out);
            }
            let start = self.start();
            for _ in 0..=n {
                self.bump();
            }
            let value = self.param_value()?;
            out.push(OptParam {
                name,
                value,
                span: start..self.end(),
            });
        }
    }

    /// An option's value: one name or literal.
    fn param_value(&mut self) -> R<Expr> {
        let t = self.tok(0).clone();
        let kind = match t.kind {
            K::Ident if self.is_name_tok(0) => match self.text_of(&t) {
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                s => ExprKind::Ident(s.into()),
            },
            K::Str => ExprKind::Str(str_lit(self.text_of(&t))),
            K::Number => ExprKind::Number(self.text_of(&t).into()),
            K::Timespan => ExprKind::Timespan(self.text_of(&t).into()),
            K::LBracket => {
                let n = self.name()?;
                return Ok(Expr {
                    kind: ExprKind::Ident(n.text),
                    span: n.span,
                });
            }
            _ => return self.err("a value (a name or a literal)"),
        };
        self.bump();
        Ok(Expr { kind, span: t.span })
    }

    /// `(name = value, …)`.
    fn kv_list(&mut self) -> R<Vec<OptParam>> {
        self.expect(K::LParen, "'('")?;
        let mut out = vec![];
        if self.eat(K::RParen) {
            return Ok(out);
        }
        loop {
            let start = self.start();
            let name = self.name()?.text;
            self.expect(K::Eq, "'='")?;
            let value = self.param_value()?;
            out.push(OptParam {
                name: name.to_string(),
                value,
                span: start..self.end(),
            });
            if self.eat(K::RParen) {
                return Ok(out);
            }
            self.expect(K::Comma, "',' or ')'")?;
        }
    }

    /// A table in `union` / `search in (…)`: a wildcard pattern or a postfix expression.
    fn table_ref(&mut self) -> R<Expr> {
        let mut n = 0;
        let mut has_star = false;
        let mut end = self.start();
        while (self.is_name_tok(n) || self.kind_at(n) == K::Star)
            && (n == 0 || self.tok(n).span.start == end)
        {
            has_star |= self.kind_at(n) == K::Star;
            end = self.tok(n).span.end;
            n += 1;
        }
        if has_star {
            let start = self.start();
            let mut text = String::new();
            for _ in 0..n {
                let t = self.bump();
                text.push_str(self.text_of(&t));
            }
            return Ok(Expr {
                kind: ExprKind::Pattern(text.into()),
                span: start..end,
            });
        }
        self.postfix()
    }

    fn patterns(&mut self) -> R<Vec<Name>> {
        let mut v = vec![];
        loop {
            v.push(self.pattern_name()?);
            if !self.eat(K::Comma) {
                return Ok(v);
            }
        }
    }

    /// Comma-separated assignments, stopping before the words in `stop` (empty list allowed).
    fn assigns(&mut self, stop: &[&str]) -> R<Vec<Assign>> {
        let mut v = vec![];
        if self.at_op_end() || stop.iter().any(|w| self.is_word(w)) {
            return Ok(v);
        }
        loop {
            v.push(self.assign()?);
            if !self.eat(K::Comma) {
                return Ok(v);
            }
        }
    }

    /// One or more comma-separated assignments.
    fn assigns1(&mut self) -> R<Vec<Assign>> {
        let mut v = vec![];
        loop {
            v.push(self.assign()?);
            if !self.eat(K::Comma) {
                return Ok(v);
            }
        }
    }

    fn assign(&mut self) -> R<Assign> {
        let start = self.start();
        let mut names = vec![];
        if self.kind() == K::LParen && self.tuple_ahead() {
            self.bump();
            loop {
                names.push(self.name()?);
                if self.eat(K::RParen) {
                    break;
                }
                self.expect(K::Comma, "',' or ')'")?;
            }
            self.expect(K::Eq, "'='")?;
        } else if self.name_ahead(0) {
            let after = if self.kind() == K::LBracket { 3 } else { 1 };
            if self.kind_at(after) == K::Eq {
                names.push(self.name()?);
                self.bump();
            }
        }
        let value = self.expr()?;
        Ok(Assign {
            names,
            value,
            span: start..self.end(),
        })
    }

    /// `(a, b) =` ahead.
    fn tuple_ahead(&self) -> bool {
        let mut n = 1;
        loop {
            if !self.name_ahead(n) {
                return false;
            }
            n += if self.kind_at(n) == K::LBracket { 3 } else { 1 };
            match self.kind_at(n) {
                K::Comma => n += 1,
                K::RParen => return self.kind_at(n + 1) == K::Eq,
                _ => return false,
            }
        }
    }

    fn sort_keys(&mut self) -> R<Vec<SortKey>> {
        let mut v = vec![];
        loop {
            let expr = self.expr()?;
            let order = if self.eat_word("asc") {
                Some(Order::Asc)
            } else if self.eat_word("desc") {
                Some(Order::Desc)
            } else {
                None
            };
            let nulls =
                if self.is_word("nulls") && (self.word_at(1, "first") || self.word_at(1, "last")) {
                    self.bump();
                    let t = self.bump();
                    Some(if self.text_of(&t) == "first" {
                        Nulls::First
                    } else {
                        Nulls::Last
                    })
                } else {
                    None
                };
            v.push(SortKey { expr, order, nulls });
            if !self.eat(K::Comma) {
                return Ok(v);
            }
        }
    }

    fn make_series(&mut self) -> R<OperatorKind> {
        let params = self.params(KIND_OPTS)?;
        let mut aggs = vec![];
        loop {
            let assign = self.assign()?;
            let default = if self.is_word("default") && self.kind_at(1) == K::Eq {
                self.bump();
                self.bump();
                Some(self.expr()?)
            } else {
                None
            };
            aggs.push(SeriesAgg { assign, default });
            if !self.eat(K::Comma) {
                break;
            }
        }
        self.expect_word("on")?;
        let on = self.postfix()?;
        let range = if self.eat_word("in") {
            if !self.is_word("range") {
                return self.err("'range'");
            }
            SeriesRange::InRange(self.postfix()?)
        } else {
            let from = if self.eat_word("from") {
                Some(self.expr()?)
            } else {
                None
            };
            let to = if self.eat_word("to") {
                Some(self.expr()?)
            } else {
                None
            };
            self.expect_word("step")?;
            SeriesRange::FromTo {
                from,
                to,
                step: self.expr()?,
            }
        };
        let by = if self.eat_word("by") {
            self.assigns1()?
        } else {
            vec![]
        };
        Ok(OperatorKind::MakeSeries {
            params,
            aggs,
            on,
            range: Box::new(range),
            by,
        })
    }

    fn top_nested(&mut self) -> R<OperatorKind> {
        let mut levels = vec![];
        loop {
            let count = if self.is_word("of") {
                None
            } else {
                Some(self.expr()?)
            };
            self.expect_word("of")?;
            let of = self.assign()?;
            let others = if self.is_word("with") && self.word_at(1, "others") {
                self.bump();
                self.bump();
                self.expect(K::Eq, "'='")?;
                Some(self.expr()?)
            } else {
                None
            };
            self.expect_word("by")?;
            let by = self.assign()?;
            let order = if self.eat_word("asc") {
                Some(Order::Asc)
            } else if self.eat_word("desc") {
                Some(Order::Desc)
            } else {
                None
            };
            levels.push(TopNestedLevel {
                count,
                of,
                others,
                by,
                order,
            });
            if self.kind() == K::Comma
                && let Some((w, n)) = self.hyphen_word_at(1)
                && w == "top-nested"
            {
                for _ in 0..=n {
                    self.bump();
                }
                continue;
            }
            return Ok(OperatorKind::TopNested(levels));
        }
    }

    /// Tokens up to the next `|` or `;` outside brackets (or a closing bracket of the
    /// enclosing expression).
    fn raw_tokens(&mut self) -> R<Vec<String>> {
        let mut out = vec![];
        let mut stack: Vec<K> = vec![];
        loop {
            let k = self.kind();
            match k {
                K::Eof => {
                    if let Some(&close) = stack.last() {
                        return self.err(closer_text(close));
                    }
                    return Ok(out);
                }
                K::Error(_) => return self.err("a token"),
                K::Pipe | K::Semi if stack.is_empty() => return Ok(out),
                K::LParen => stack.push(K::RParen),
                K::LBracket => stack.push(K::RBracket),
                K::LBrace => stack.push(K::RBrace),
                K::RParen | K::RBracket | K::RBrace => match stack.last() {
                    None => return Ok(out),
                    Some(&c) if c == k => {
                        stack.pop();
                    }
                    Some(&c) => return self.err(closer_text(c)),
                },
                _ => {}
            }
            let t = self.bump();
            out.push(self.text_of(&t).to_string());
        }
    }

    // ---- scalar expressions ----

    fn expr(&mut self) -> R<Expr> {
        self.binary(1)
    }

    /// The binary operator at the current token and its precedence.
    fn peek_op(&self) -> Option<(u8, Op)> {
        let t = self.tok(0);
        let bin = |op| Some((op_precedence(op), Op::Bin(op)));
        match t.kind {
            K::EqEq => bin(BinOp::Eq),
            K::Neq => bin(BinOp::Ne),
            K::Lt => bin(BinOp::Lt),
            K::Le => bin(BinOp::Le),
            K::Gt => bin(BinOp::Gt),
            K::Ge => bin(BinOp::Ge),
            K::EqTilde => bin(BinOp::EqCi),
            K::NeqTilde => bin(BinOp::NeCi),
            K::Plus => bin(BinOp::Add),
            K::Minus => bin(BinOp::Sub),
            K::Star => bin(BinOp::Mul),
            K::Slash => bin(BinOp::Div),
            K::Percent => bin(BinOp::Mod),
            // `col:"term"` (search syntax): Kusto's grammar calls `:` its has operator.
            K::Colon => bin(BinOp::Str(StrOp {
                kind: StrOpKind::Has,
                negated: false,
                case_sensitive: false,
            })),
            K::Ident => {
                let text = self.text_of(t);
                match text {
                    "or" => Some((1, Op::Or)),
                    "and" => Some((2, Op::And)),
                    "between" | "!between" => Some((3, Op::Between(text == "!between"))),
                    "matches" if self.word_at(1, "regex") => Some((3, Op::Matches)),
                    _ => {
                        if let Some(l) = ListOp::from_word(text) {
                            Some((3, Op::List(l)))
                        } else {
                            StrOp::from_word(text).map(|s| (3, Op::Bin(BinOp::Str(s))))
                        }
                    }
                }
            }
            _ => None,
        }
    }

    /// Precedence climbing: an operand and the operators binding at least as tightly as `min`
    /// (1 `or`, 2 `and`, 3 comparisons, 4 `+ -`, 5 `* / %`); comparisons and arithmetic are
    /// left-associative, `and`/`or` chains one n-ary node.
    fn binary(&mut self, min: u8) -> R<Expr> {
        let mut lhs = self.unary()?;
        let depth = self.depth;
        while let Some((prec, op)) = self.peek_op() {
            if prec < min {
                break;
            }
            match op {
                Op::Or | Op::And => {
                    let word = if prec == 1 { "or" } else { "and" };
                    let mut items = vec![lhs];
                    while self.eat_word(word) {
                        items.push(self.binary(prec + 1)?);
                    }
                    lhs = nary(
                        items,
                        if prec == 1 {
                            ExprKind::Or
                        } else {
                            ExprKind::And
                        },
                    );
                }
                Op::Bin(op) => {
                    self.enter()?;
                    self.bump();
                    let rhs = if prec == 5 {
                        self.unary()?
                    } else {
                        self.binary(prec + 1)?
                    };
                    lhs = binary(op, lhs, rhs);
                }
                Op::Matches => {
                    self.enter()?;
                    self.bump();
                    self.bump();
                    let rhs = self.binary(4)?;
                    let op = BinOp::Str(StrOp {
                        kind: StrOpKind::MatchesRegex,
                        negated: false,
                        case_sensitive: true,
                    });
                    lhs = binary(op, lhs, rhs);
                }
                Op::List(op) => {
                    self.enter()?;
                    let t = self.bump();
                    if self.kind() != K::LParen {
                        return self.err(&format!("'(' after '{}'", self.text_of(&t)));
                    }
                    self.bump();
                    let mut list = vec![];
                    if !self.eat(K::RParen) {
                        loop {
                            list.push(self.tabular()?);
                            if self.eat(K::RParen) {
                                break;
                            }
                            self.expect(K::Comma, "',' or ')'")?;
                        }
                    }
                    let span = lhs.span.start..self.end();
                    lhs = Expr {
                        kind: ExprKind::List {
                            op,
                            expr: Box::new(lhs),
                            list,
                        },
                        span,
                    };
                }
                Op::Between(negated) => {
                    self.enter()?;
                    let t = self.bump();
                    if self.kind() != K::LParen {
                        return self.err(&format!("'(' after '{}'", self.text_of(&t)));
                    }
                    self.bump();
                    let low = self.expr()?;
                    self.expect(K::DotDot, "'..'")?;
                    let high = self.expr()?;
                    self.expect(K::RParen, "')'")?;
                    let span = lhs.span.start..self.end();
                    lhs = Expr {
                        kind: ExprKind::Between {
                            negated,
                            expr: Box::new(lhs),
                            low: Box::new(low),
                            high: Box::new(high),
                        },
                        span,
                    };
                }
            }
        }
        self.depth = depth;
        Ok(lhs)
    }

    fn unary(&mut self) -> R<Expr> {
        let start = self.start();
        let make: fn(Box<Expr>) -> ExprKind = match self.kind() {
            K::Minus => ExprKind::Neg,
            K::Plus => ExprKind::Plus,
            _ => return self.postfix(),
        };
        self.enter()?;
        self.bump();
        let e = self.unary()?;
        self.leave();
        Ok(Expr {
            kind: make(Box::new(e)),
            span: start..self.end(),
        })
    }

    fn postfix(&mut self) -> R<Expr> {
        let start = self.start();
        let mut e = self.primary()?;
        let depth = self.depth;
        loop {
            match self.kind() {
                K::Dot if self.kind_at(1) == K::LBracket && !self.name_ahead(1) => {
                    // `x.[0]`: Kusto's older spelling of `x[0]`.
                    self.enter()?;
                    self.bump();
                    self.bump();
                    let index = self.expr()?;
                    self.expect(K::RBracket, "']'")?;
                    e = Expr {
                        kind: ExprKind::Index {
                            expr: Box::new(e),
                            index: Box::new(index),
                        },
                        span: start..self.end(),
                    };
                }
                K::Dot => {
                    self.enter()?;
                    self.bump();
                    let name = self.name()?.text;
                    e = Expr {
                        kind: ExprKind::Member {
                            expr: Box::new(e),
                            name,
                        },
                        span: start..self.end(),
                    };
                }
                K::LBracket => {
                    self.enter()?;
                    self.bump();
                    let index = self.expr()?;
                    self.expect(K::RBracket, "']'")?;
                    e = Expr {
                        kind: ExprKind::Index {
                            expr: Box::new(e),
                            index: Box::new(index),
                        },
                        span: start..self.end(),
                    };
                }
                _ => break,
            }
        }
        self.depth = depth;
        Ok(e)
    }

    fn primary(&mut self) -> R<Expr> {
        let t = self.tok(0).clone();
        let text = self.text_of(&t);
        let kind = match t.kind {
            K::Number => ExprKind::Number(text.into()),
            K::Timespan => ExprKind::Timespan(text.into()),
            K::Str => {
                // Adjacent string literals are one string (`"a" 'b'` is "ab").
                let mut lit = str_lit(text);
                self.bump();
                while self.kind() == K::Str {
                    let t = self.bump();
                    let next = str_lit(self.text_of(&t));
                    lit.value.push_str(&next.value);
                    lit.obfuscated |= next.obfuscated;
                    if next.style != lit.style {
                        lit.style = StrStyle::Plain;
                    }
                }
                if lit.style == StrStyle::Multiline
                    && (lit.obfuscated || lit.value.contains("```") || lit.value.ends_with('`'))
                {
                    lit.style = StrStyle::Plain;
                }
                return Ok(Expr {
                    kind: ExprKind::Str(lit),
                    span: t.span.start..self.end(),
                });
            }
            K::Typed => {
                // The type word, trivia, `(`, the raw inside, `)`.
                let ty_end = text
                    .bytes()
                    .position(|c| !c.is_ascii_alphanumeric())
                    .unwrap_or(text.len());
                let open = lexer::skip_trivia(text, ty_end);
                let raw = text
                    .get(open + 1..text.len().saturating_sub(1))
                    .unwrap_or("");
                ExprKind::Typed {
                    ty: text[..ty_end].into(),
                    raw: raw.trim().into(),
                }
            }
            K::Star => ExprKind::Star,
            K::LParen => {
                self.enter()?;
                self.bump();
                let e = self.tabular()?;
                self.expect(K::RParen, "')'")?;
                self.leave();
                return Ok(e);
            }
            K::LBracket => {
                let n = self.name()?;
                return Ok(Expr {
                    kind: ExprKind::Ident(n.text),
                    span: n.span,
                });
            }
            K::Ident if self.is_name_tok(0) && !is_operator_word(text) => {
                if self.kind_at(1) == K::LParen {
                    return match text {
                        "dynamic" => self.dynamic(),
                        "not" => {
                            self.enter()?;
                            self.bump();
                            self.bump();
                            let e = self.expr()?;
                            self.expect(K::RParen, "')'")?;
                            self.leave();
                            Ok(Expr {
                                kind: ExprKind::Not(Box::new(e)),
                                span: t.span.start..self.end(),
                            })
                        }
                        "datatable" | "externaldata" => self.data_source(text),
                        _ => self.call(),
                    };
                }
                match text {
                    "true" => ExprKind::Bool(true),
                    "false" => ExprKind::Bool(false),
                    _ => ExprKind::Ident(text.into()),
                }
            }
            _ => return self.err("an expression"),
        };
        self.bump();
        Ok(Expr { kind, span: t.span })
    }

    fn call(&mut self) -> R<Expr> {
        self.enter()?;
        let name_tok = self.bump();
        self.bump();
        let mut args = vec![];
        if !self.eat(K::RParen) {
            loop {
                let after = if self.kind() == K::LBracket { 3 } else { 1 };
                if self.name_ahead(0) && self.kind_at(after) == K::Eq {
                    let start = self.start();
                    let name = self.name()?;
                    self.bump();
                    let value = self.expr()?;
                    args.push(Expr {
                        kind: ExprKind::NamedArg {
                            name,
                            value: Box::new(value),
                        },
                        span: start..self.end(),
                    });
                } else {
                    args.push(self.tabular()?);
                }
                if self.eat(K::RParen) {
                    break;
                }
                self.expect(K::Comma, "',' or ')'")?;
            }
        }
        self.leave();
        Ok(Expr {
            kind: ExprKind::Call {
                name: self.text_of(&name_tok).into(),
                args,
            },
            span: name_tok.span.start..self.end(),
        })
    }

    fn dynamic(&mut self) -> R<Expr> {
        self.enter()?;
        let start = self.start();
        self.bump();
        self.bump();
        let v = self.dynamic_value()?;
        self.expect(K::RParen, "')'")?;
        self.leave();
        Ok(Expr {
            kind: ExprKind::Dynamic(Box::new(v)),
            span: start..self.end(),
        })
    }

    fn dynamic_value(&mut self) -> R<Expr> {
        let start = self.start();
        match self.kind() {
            K::LBracket => {
                self.enter()?;
                self.bump();
                let mut items = vec![];
                while !self.eat(K::RBracket) {
                    items.push(self.dynamic_value()?);
                    if !self.eat(K::Comma) {
                        self.expect(K::RBracket, "',' or ']'")?;
                        break;
                    }
                }
                self.leave();
                Ok(Expr {
                    kind: ExprKind::Array(items),
                    span: start..self.end(),
                })
            }
            K::LBrace => {
                self.enter()?;
                self.bump();
                let mut items = vec![];
                while !self.eat(K::RBrace) {
                    let key = match self.kind() {
                        K::Str => {
                            let t = self.bump();
                            lexer::string_value(self.text_of(&t)).2
                        }
                        K::Ident if self.is_name_tok(0) => {
                            let t = self.bump();
                            self.text_of(&t).into()
                        }
                        _ => return self.err("a property name"),
                    };
                    self.expect(K::Colon, "':'")?;
                    items.push((key, self.dynamic_value()?));
                    if !self.eat(K::Comma) {
                        self.expect(K::RBrace, "',' or '}'")?;
                        break;
                    }
                }
                self.leave();
                Ok(Expr {
                    kind: ExprKind::Object(items),
                    span: start..self.end(),
                })
            }
            _ => self.expr(),
        }
    }

    /// `datatable(cols) [values]`, `externaldata(cols) [urls] [with (options)]`.
    fn data_source(&mut self, which: &str) -> R<Expr> {
        self.enter()?;
        let start = self.start();
        self.bump();
        self.bump();
        let columns = self.column_defs_after_paren()?;
        self.expect(K::LBracket, "'[' and values")?;
        let mut values = vec![];
        while !self.eat(K::RBracket) {
            values.push(self.expr()?);
            if !self.eat(K::Comma) {
                self.expect(K::RBracket, "',' or ']'")?;
                break;
            }
        }
        let kind = if which == "datatable" {
            ExprKind::Datatable { columns, values }
        } else {
            let with = if self.is_word("with") && self.kind_at(1) == K::LParen {
                self.bump();
                self.kv_list()?
            } else {
                vec![]
            };
            ExprKind::Externaldata {
                columns,
                urls: values.into(),
                with: with.into(),
            }
        };
        self.leave();
        Ok(Expr {
            kind,
            span: start..self.end(),
        })
    }
}

fn closer_text(k: K) -> &'static str {
    match k {
        K::RParen => "')'",
        K::RBracket => "']'",
        _ => "'}'",
    }
}

fn str_lit(text: &str) -> StrLit {
    let (obfuscated, form, value) = lexer::string_value(text);
    StrLit {
        value,
        style: match form {
            lexer::StrForm::Plain => StrStyle::Plain,
            lexer::StrForm::Verbatim => StrStyle::Verbatim,
            lexer::StrForm::Multiline => StrStyle::Multiline,
        },
        obfuscated,
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr {
        span: lhs.span.start..rhs.span.end,
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    }
}

fn nary(items: Vec<Expr>, make: fn(Vec<Expr>) -> ExprKind) -> Expr {
    let span = items[0].span.start..items[items.len() - 1].span.end;
    Expr {
        kind: make(items),
        span,
    }
}
