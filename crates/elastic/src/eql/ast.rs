//! The EQL syntax tree. Every node carries its byte [`Span`] in the parsed text;
//! [`Query::clear_spans`] sets them all to `0..0` so two trees compare by structure alone.
//!
//! `and`/`or` are n-ary; arithmetic is binary and left-associative; parentheses are not kept
//! (the printer writes those the structure needs). Strings keep their value only: `"a\\b"`,
//! `"""a\b"""` and `?"a\b"` are the same string.

use serde::Serialize;

use crate::span::Span;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Query {
    pub body: Body,
    /// `| head 5`, `| filter …`, `| unique a, b`, …
    pub pipes: Vec<Pipe>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Body {
    /// `process where …`
    Event(EventQuery),
    /// `sequence`, `sample` or `join`.
    Multi(Multi),
}

/// `category where condition`; `category` is `any` for `any where …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventQuery {
    pub category: String,
    pub condition: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MultiKind {
    Sequence,
    Sample,
    Join,
}

impl MultiKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MultiKind::Sequence => "sequence",
            MultiKind::Sample => "sample",
            MultiKind::Join => "join",
        }
    }
}

/// `sequence [by k, …] [with maxspan=5m] [q] [by k] … [until [q]]`, `sample by k [q] [q]`,
/// `join [by k] [q] [q] [until [q]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Multi {
    pub kind: MultiKind,
    /// The join keys shared by every term.
    pub by: Vec<Expr>,
    /// Sequences only.
    pub maxspan: Option<TimeSpan>,
    pub terms: Vec<Term>,
    /// Sequences and joins only.
    pub until: Option<Box<Term>>,
    pub span: Span,
}

/// `5m`: the number as written and its unit, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeSpan {
    pub value: String,
    pub unit: Option<String>,
    pub span: Span,
}

/// `[query] [by keys] [with runs=N]`, or `![query]` (a missing event, sequences only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    pub missing: bool,
    pub query: EventQuery,
    pub by: Vec<Expr>,
    /// Sequences only: `with runs=N`.
    pub runs: Option<u64>,
    pub span: Span,
}

/// `| name arg, arg`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pipe {
    pub name: String,
    pub args: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ExprKind {
    /// Two or more operands.
    Or(Vec<Expr>),
    /// Two or more operands.
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// `a == b`, `a != b`, `a < b`, …
    Compare {
        op: CmpOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `a : v`, `a : (v, …)`, `a like~ v`, `a regex (v, …)`, `a in (v, …)`, `a not in~ (v, …)`.
    /// `list` is whether the values were written in parentheses (always for `in`); `negated` is
    /// only ever true for `in`/`in~`.
    Match {
        left: Box<Expr>,
        op: MatchOp,
        negated: bool,
        values: Vec<Expr>,
        list: bool,
    },
    /// `descendant of [q]`, `child of [q]`, `event of [q]`.
    Relationship {
        relation: Relation,
        query: Box<EventQuery>,
    },
    /// `a + b`, `a * b`, …
    Arith {
        op: ArithOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `-a`.
    Neg(Box<Expr>),
    /// `+a`.
    Plus(Box<Expr>),
    /// `name(args)`, `name~(args)` (case-insensitive).
    Call {
        name: String,
        insensitive: bool,
        args: Vec<Expr>,
    },
    Field(Field),
    Str(String),
    /// As written: `12`, `0.5`, `1e3`.
    Number(String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Neq => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MatchOp {
    /// `:`: case-insensitive equality, with wildcards in strings.
    Seq,
    Like,
    /// `like~`
    LikeI,
    Regex,
    /// `regex~`
    RegexI,
    In,
    /// `in~`
    InI,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Seq => ":",
            MatchOp::Like => "like",
            MatchOp::LikeI => "like~",
            MatchOp::Regex => "regex",
            MatchOp::RegexI => "regex~",
            MatchOp::In => "in",
            MatchOp::InI => "in~",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Relation {
    Descendant,
    Child,
    Event,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Descendant => "descendant",
            Relation::Child => "child",
            Relation::Event => "event",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }

    /// Binding strength: `*` `/` `%` over `+` `-`.
    pub fn precedence(self) -> u8 {
        match self {
            ArithOp::Add | ArithOp::Sub => 1,
            ArithOp::Mul | ArithOp::Div | ArithOp::Mod => 2,
        }
    }
}

/// A field: `process.name`, `?process.name` (optional), `` `odd name`.x ``. `path` holds the
/// dot-separated segments, backticks removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub optional: bool,
    pub path: Vec<String>,
    pub span: Span,
}

impl Field {
    /// The segments joined by dots.
    pub fn name(&self) -> String {
        self.path.join(".")
    }
}

impl Query {
    /// Set every span to `0..0`.
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.body {
            Body::Event(q) => q.clear_spans(),
            Body::Multi(m) => {
                m.span = Span::default();
                m.by.iter_mut().for_each(Expr::clear_spans);
                if let Some(t) = &mut m.maxspan {
                    t.span = Span::default();
                }
                m.terms.iter_mut().for_each(Term::clear_spans);
                if let Some(t) = &mut m.until {
                    t.clear_spans();
                }
            }
        }
        for p in &mut self.pipes {
            p.span = Span::default();
            p.args.iter_mut().for_each(Expr::clear_spans);
        }
    }
}

impl Term {
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        self.query.clear_spans();
        self.by.iter_mut().for_each(Expr::clear_spans);
    }
}

impl EventQuery {
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        self.condition.clear_spans();
    }
}

impl Expr {
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ExprKind::Or(v) | ExprKind::And(v) => v.iter_mut().for_each(Expr::clear_spans),
            ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::Plus(e) => e.clear_spans(),
            ExprKind::Compare { left, right, .. } | ExprKind::Arith { left, right, .. } => {
                left.clear_spans();
                right.clear_spans();
            }
            ExprKind::Match { left, values, .. } => {
                left.clear_spans();
                values.iter_mut().for_each(Expr::clear_spans);
            }
            ExprKind::Relationship { query, .. } => query.clear_spans(),
            ExprKind::Call { args, .. } => args.iter_mut().for_each(Expr::clear_spans),
            ExprKind::Field(f) => f.span = Span::default(),
            ExprKind::Str(_) | ExprKind::Number(_) | ExprKind::Bool(_) | ExprKind::Null => {}
        }
    }
}
