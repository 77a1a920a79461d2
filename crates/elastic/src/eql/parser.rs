//! The EQL recursive-descent parser. [`parse`] never panics: bad input is a [`ParseError`] with
//! the line, column and what was expected and found there.
//!
//! ```text
//! query    := (event | sequence | sample | join) ("|" name [expr ("," expr)*])*
//! event    := (name | string) "where" or
//! sequence := "sequence" ["by" keys] ["with" "maxspan" "=" number [unit]] term+ ["until" term]
//! sample   := "sample" ["by" keys] term+
//! join     := "join" ["by" keys] term+ ["until" term]
//! term     := ["!"] "[" event "]" ["by" keys] ["with" "runs" "=" integer]
//! or       := and ("or" and)*
//! and      := not ("and" not)*
//! not      := "not" not | ("descendant" | "child" | "event") "of" "[" event "]" | cmp
//! cmp      := arith [("==" | "!=" | "<" | "<=" | ">" | ">=") arith
//!                   | ["not"] ("in" | "in~") "(" or ("," or)* ")"
//!                   | (":" | "like" | "like~" | "regex" | "regex~") ("(" or ("," or)* ")" | arith)]
//! arith    := term (("+" | "-") term)* ; term := unary (("*" | "/" | "%") unary)*
//! unary    := ("-" | "+") unary | primary
//! primary  := "(" or ")" | string | number | "true" | "false" | "null"
//!           | name ["~"] "(" [or ("," or)*] ")" | ["?"] field
//! ```
//!
//! Keywords are lower case, as in Elasticsearch; a field named like one is written in backticks.

use super::ast::*;
use super::lexer::{Tok, Token, lex};
use crate::span::{ParseError, Span};

/// Nesting deeper than this (parentheses, `not`, signs, calls, subqueries) is an error, not a
/// stack overflow.
pub const MAX_DEPTH: usize = 100;

/// Words a plain field name cannot be (write `` `in` `` for a field named `in`).
pub const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "like", "regex", "true", "false", "null", "where", "by", "with",
    "until", "sequence", "sample", "join", "of", "any",
];

/// Words that are keywords only in some places; a field named like one is written in backticks
/// by the printer.
pub const CONTEXTUAL: &[&str] = &["descendant", "child", "event", "maxspan", "runs"];

pub fn parse(src: &str) -> Result<Query, ParseError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        depth: 0,
    };
    let q = p.query()?;
    let t = p.peek();
    if t.kind != Tok::Eof {
        return Err(p.error(&t, "`|` or end of input"));
    }
    Ok(q)
}

type R<T> = Result<T, ParseError>;

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> Token {
        self.tokens[(self.pos + n).min(self.tokens.len() - 1)].clone()
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn describe(&self, t: &Token) -> String {
        if t.kind == Tok::Eof {
            return "end of input".into();
        }
        let text = &self.src[t.span.start..t.span.end];
        let short: String = text.chars().take(40).collect();
        if short.len() < text.len() {
            format!("`{short}…`")
        } else {
            format!("`{short}`")
        }
    }

    fn error(&self, t: &Token, expected: &str) -> ParseError {
        ParseError::at(
            self.src,
            t.span.start,
            format!("expected {expected}, found {}", self.describe(t)),
        )
    }

    fn expect(&mut self, kind: Tok, what: &str) -> R<Token> {
        let t = self.peek();
        if t.kind == kind {
            Ok(self.bump())
        } else {
            Err(self.error(&t, what))
        }
    }

    fn expect_kw(&mut self, kw: &str) -> R<Token> {
        let t = self.peek();
        if t.is_kw(kw) {
            Ok(self.bump())
        } else {
            Err(self.error(&t, &format!("`{kw}`")))
        }
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

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn query(&mut self) -> R<Query> {
        let t = self.peek();
        let body = if t.is_kw("sequence") {
            Body::Multi(self.multi(MultiKind::Sequence)?)
        } else if t.is_kw("sample") {
            Body::Multi(self.multi(MultiKind::Sample)?)
        } else if t.is_kw("join") {
            Body::Multi(self.multi(MultiKind::Join)?)
        } else {
            Body::Event(self.event()?)
        };
        let mut pipes = vec![];
        let mut end = match &body {
            Body::Event(e) => e.span.end,
            Body::Multi(m) => m.span.end,
        };
        while self.peek().kind == Tok::Pipe {
            let bar = self.bump();
            let n = self.bump();
            let Tok::Name {
                path,
                plain: true,
                tilde: false,
            } = &n.kind
            else {
                return Err(self.error(&n, "a pipe name after `|` (`head`, `tail`, `filter`, …)"));
            };
            let name = path[0].clone();
            let mut args = vec![];
            let mut pend = n.span.end;
            if !matches!(self.peek().kind, Tok::Pipe | Tok::Eof) {
                args = self.expr_list()?;
                pend = args.last().map_or(pend, |a| a.span.end);
            }
            pipes.push(Pipe {
                name,
                args,
                span: Span::new(bar.span.start, pend),
            });
            end = pend;
        }
        Ok(Query {
            body,
            pipes,
            span: Span::new(t.span.start, end),
        })
    }

    /// `expr ("," expr)*`.
    fn expr_list(&mut self) -> R<Vec<Expr>> {
        let mut out = vec![self.or()?];
        while self.peek().kind == Tok::Comma {
            self.bump();
            out.push(self.or()?);
        }
        Ok(out)
    }

    fn multi(&mut self, kind: MultiKind) -> R<Multi> {
        let kw = self.bump();
        let mut by = vec![];
        if self.peek().is_kw("by") {
            self.bump();
            by = self.expr_list()?;
        }
        let mut maxspan = None;
        if kind == MultiKind::Sequence && self.peek().is_kw("with") {
            self.bump();
            self.expect_kw("maxspan")?;
            self.expect(Tok::Assign, "`=` after `maxspan`")?;
            maxspan = Some(self.timespan()?);
            if self.peek().is_kw("by") {
                let t = self.peek();
                return Err(self.error(&t, "`[` (write `by` before `with maxspan`)"));
            }
        }
        let mut terms = vec![];
        while matches!(self.peek().kind, Tok::LBracket | Tok::Bang) {
            terms.push(self.term(kind)?);
        }
        if terms.is_empty() {
            let t = self.peek();
            let expected = match (kind, by.is_empty(), maxspan.is_some()) {
                (MultiKind::Sequence, true, false) => "`by`, `with` or `[`",
                (MultiKind::Sequence, false, false) => "`,`, `with` or `[`",
                (_, true, _) => "`by` or `[`",
                _ => "`,` or `[`",
            };
            return Err(self.error(&t, expected));
        }
        let mut until = None;
        if kind != MultiKind::Sample && self.peek().is_kw("until") {
            self.bump();
            until = Some(Box::new(self.term(kind)?));
        }
        let end = until
            .as_ref()
            .map_or(terms[terms.len() - 1].span.end, |u| u.span.end);
        Ok(Multi {
            kind,
            by,
            maxspan,
            terms,
            until,
            span: Span::new(kw.span.start, end),
        })
    }

    fn timespan(&mut self) -> R<TimeSpan> {
        let t = self.bump();
        let Tok::Number(value) = t.kind.clone() else {
            return Err(self.error(&t, "a time span (`5m`, `30s`, `1h`)"));
        };
        let mut span = t.span;
        let mut unit = None;
        let u = self.peek();
        if let Tok::Name {
            path,
            plain: true,
            tilde: false,
        } = &u.kind
            && !crate::eql::parser::KEYWORDS.contains(&path[0].as_str())
        {
            unit = Some(path[0].clone());
            span = span.to(u.span);
            self.bump();
        }
        Ok(TimeSpan { value, unit, span })
    }

    fn term(&mut self, kind: MultiKind) -> R<Term> {
        let first = self.peek();
        let missing = first.kind == Tok::Bang;
        if missing {
            if kind != MultiKind::Sequence {
                return Err(self.error(&first, "`[` (missing events `![…]` are for sequences)"));
            }
            self.bump();
        }
        let open = self.expect(Tok::LBracket, "`[`")?;
        self.enter(&open)?;
        let query = self.event()?;
        let close = self.expect(Tok::RBracket, "`]`, `and` or `or`")?;
        self.leave();
        let mut end = close.span.end;
        let mut by = vec![];
        if self.peek().is_kw("by") {
            self.bump();
            by = self.expr_list()?;
            end = by[by.len() - 1].span.end;
        }
        let mut runs = None;
        if kind == MultiKind::Sequence && self.peek().is_kw("with") {
            self.bump();
            self.expect_kw("runs")?;
            self.expect(Tok::Assign, "`=` after `runs`")?;
            let n = self.bump();
            let value = match &n.kind {
                Tok::Number(v) => v.parse::<u64>().ok(),
                _ => None,
            };
            let Some(value) = value else {
                return Err(self.error(&n, "a whole number of runs"));
            };
            runs = Some(value);
            end = n.span.end;
        }
        Ok(Term {
            missing,
            query,
            by,
            runs,
            span: Span::new(first.span.start, end),
        })
    }

    fn event(&mut self) -> R<EventQuery> {
        let t = self.bump();
        let category = match &t.kind {
            Tok::Name {
                path,
                plain: true,
                tilde: false,
            } if path[0] == "any" || !KEYWORDS.contains(&path[0].as_str()) => path[0].clone(),
            Tok::Str(s) => s.clone(),
            _ => {
                return Err(self.error(
                    &t,
                    "an event category (`process`, `any`, …), `sequence` or `sample`",
                ));
            }
        };
        self.expect_kw("where")?;
        let condition = self.or()?;
        Ok(EventQuery {
            category,
            span: t.span.to(condition.span),
            condition,
        })
    }

    fn or(&mut self) -> R<Expr> {
        let mut items = vec![self.and()?];
        while self.peek().is_kw("or") {
            self.bump();
            items.push(self.and()?);
        }
        Ok(join(items, ExprKind::Or))
    }

    fn and(&mut self) -> R<Expr> {
        let mut items = vec![self.not()?];
        while self.peek().is_kw("and") {
            self.bump();
            items.push(self.not()?);
        }
        Ok(join(items, ExprKind::And))
    }

    fn not(&mut self) -> R<Expr> {
        let t = self.peek();
        if t.is_kw("not") {
            self.bump();
            self.enter(&t)?;
            let inner = self.not()?;
            self.leave();
            return Ok(Expr {
                span: t.span.to(inner.span),
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        let relation = if t.is_kw("descendant") {
            Some(Relation::Descendant)
        } else if t.is_kw("child") {
            Some(Relation::Child)
        } else if t.is_kw("event") {
            Some(Relation::Event)
        } else {
            None
        };
        if let Some(relation) = relation
            && self.peek_at(1).is_kw("of")
        {
            self.bump();
            self.bump();
            let open = self.expect(Tok::LBracket, "`[` after `of`")?;
            self.enter(&open)?;
            let query = self.event()?;
            let close = self.expect(Tok::RBracket, "`]`, `and` or `or`")?;
            self.leave();
            return Ok(Expr {
                span: t.span.to(close.span),
                kind: ExprKind::Relationship {
                    relation,
                    query: Box::new(query),
                },
            });
        }
        self.cmp()
    }

    fn cmp(&mut self) -> R<Expr> {
        let left = self.arith()?;
        let t = self.peek();
        let cmp = match t.kind {
            Tok::EqEq => Some(CmpOp::Eq),
            Tok::Neq => Some(CmpOp::Neq),
            Tok::Lt => Some(CmpOp::Lt),
            Tok::Le => Some(CmpOp::Le),
            Tok::Gt => Some(CmpOp::Gt),
            Tok::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = cmp {
            self.bump();
            let right = self.arith()?;
            return Ok(Expr {
                span: left.span.to(right.span),
                kind: ExprKind::Compare {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
            });
        }
        let (negated, op_tok) = if t.is_kw("not") {
            (true, self.peek_at(1))
        } else {
            (false, t.clone())
        };
        let op = match &op_tok.kind {
            Tok::Colon if !negated => Some(MatchOp::Seq),
            Tok::Name {
                path,
                plain: true,
                tilde,
            } => match (path[0].as_str(), *tilde, negated) {
                ("in", false, _) => Some(MatchOp::In),
                ("in", true, _) => Some(MatchOp::InI),
                ("like", false, false) => Some(MatchOp::Like),
                ("like", true, false) => Some(MatchOp::LikeI),
                ("regex", false, false) => Some(MatchOp::Regex),
                ("regex", true, false) => Some(MatchOp::RegexI),
                _ => None,
            },
            _ => None,
        };
        let Some(op) = op else {
            if negated {
                return Err(self.error(&op_tok, "`in` or `in~` after `not`"));
            }
            return Ok(left);
        };
        if negated {
            self.bump();
        }
        self.bump();
        let (values, list, end) = if self.peek().kind == Tok::LParen {
            let open = self.bump();
            self.enter(&open)?;
            let values = self.expr_list()?;
            let close = self.expect(Tok::RParen, "`,` or `)`")?;
            self.leave();
            (values, true, close.span.end)
        } else if matches!(op, MatchOp::In | MatchOp::InI) {
            let t = self.peek();
            return Err(self.error(&t, &format!("`(` after `{}`", op.as_str())));
        } else {
            let v = self.arith()?;
            let end = v.span.end;
            (vec![v], false, end)
        };
        Ok(Expr {
            span: Span::new(left.span.start, end),
            kind: ExprKind::Match {
                left: Box::new(left),
                op,
                negated,
                values,
                list,
            },
        })
    }

    fn arith(&mut self) -> R<Expr> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek().kind {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.product()?;
            left = Expr {
                span: left.span.to(right.span),
                kind: ExprKind::Arith {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
            };
        }
    }

    fn product(&mut self) -> R<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().kind {
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                Tok::Percent => ArithOp::Mod,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.unary()?;
            left = Expr {
                span: left.span.to(right.span),
                kind: ExprKind::Arith {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
            };
        }
    }

    fn unary(&mut self) -> R<Expr> {
        let t = self.peek();
        if matches!(t.kind, Tok::Minus | Tok::Plus) {
            self.bump();
            self.enter(&t)?;
            let inner = self.unary()?;
            self.leave();
            let span = t.span.to(inner.span);
            let kind = if t.kind == Tok::Minus {
                ExprKind::Neg(Box::new(inner))
            } else {
                ExprKind::Plus(Box::new(inner))
            };
            return Ok(Expr { kind, span });
        }
        self.primary()
    }

    fn primary(&mut self) -> R<Expr> {
        let t = self.bump();
        let leaf = |kind| Ok(Expr { kind, span: t.span });
        match &t.kind {
            Tok::LParen => {
                self.enter(&t)?;
                let inner = self.or()?;
                self.expect(Tok::RParen, "`)`")?;
                self.leave();
                Ok(inner)
            }
            Tok::Str(s) => leaf(ExprKind::Str(s.clone())),
            Tok::Number(n) => leaf(ExprKind::Number(n.clone())),
            Tok::Question => {
                let n = self.bump();
                match &n.kind {
                    Tok::Name {
                        path, tilde: false, ..
                    } if !is_keyword_name(&n) => Ok(Expr {
                        span: t.span.to(n.span),
                        kind: ExprKind::Field(Field {
                            optional: true,
                            path: path.clone(),
                            span: t.span.to(n.span),
                        }),
                    }),
                    _ => Err(self.error(&n, "a field name after `?`")),
                }
            }
            Tok::Name { path, plain, tilde } => {
                if *plain && self.peek().kind == Tok::LParen {
                    let open = self.bump();
                    self.enter(&open)?;
                    let args = if self.peek().kind == Tok::RParen {
                        vec![]
                    } else {
                        self.expr_list()?
                    };
                    let close = self.expect(Tok::RParen, "`,` or `)`")?;
                    self.leave();
                    return Ok(Expr {
                        span: t.span.to(close.span),
                        kind: ExprKind::Call {
                            name: path[0].clone(),
                            insensitive: *tilde,
                            args,
                        },
                    });
                }
                if *plain {
                    match path[0].as_str() {
                        "true" => return leaf(ExprKind::Bool(true)),
                        "false" => return leaf(ExprKind::Bool(false)),
                        "null" => return leaf(ExprKind::Null),
                        _ => {}
                    }
                }
                if *tilde {
                    return Err(self.error(&t, "a field or a function call (`name~(…)`)"));
                }
                if is_keyword_name(&t) {
                    return Err(self.error(&t, "a value, a field or a function call"));
                }
                leaf(ExprKind::Field(Field {
                    optional: false,
                    path: path.clone(),
                    span: t.span,
                }))
            }
            _ => Err(self.error(&t, "a value, a field, a function call, `not` or `(`")),
        }
    }
}

fn is_keyword_name(t: &Token) -> bool {
    matches!(&t.kind, Tok::Name { path, plain: true, .. } if KEYWORDS.contains(&path[0].as_str()))
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
