//! The kuery syntax tree. Every node carries its byte [`Span`] in the parsed text;
//! [`Query::clear_spans`] sets them all to `0..0` so two trees compare by structure alone.
//!
//! `and`/`or` are n-ary (`a or b or c` is one `Or` of three); parentheses are not kept (the
//! printer writes those the structure needs).

use serde::Serialize;

use crate::span::Span;

/// A whole query. `expr` is `None` for an empty (or all-whitespace) query, which Kibana reads
/// as "match everything".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Query {
    pub expr: Option<Expr>,
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
    /// `field: value`, `field: (a or b)`, `field: *` (exists).
    Match {
        field: Literal,
        values: ValueExpr,
    },
    /// `field > 10`, `field <= "x"`.
    Range {
        field: Literal,
        op: RangeOp,
        value: Literal,
    },
    /// `field: { query }`.
    Nested {
        field: Literal,
        query: Box<Expr>,
    },
    /// A bare value: a full-text query on the default fields.
    Value(Literal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RangeOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl RangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            RangeOp::Lt => "<",
            RangeOp::Le => "<=",
            RangeOp::Gt => ">",
            RangeOp::Ge => ">=",
        }
    }
}

/// The values after `field:`: one literal or a parenthesised list combined with
/// `and`/`or`/`not`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueExpr {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ValueKind {
    /// Two or more operands.
    Or(Vec<ValueExpr>),
    /// Two or more operands.
    And(Vec<ValueExpr>),
    Not(Box<ValueExpr>),
    Value(Literal),
}

/// A field name or a value, quoted (`"a phrase"`: no wildcards, `parts` is at most one
/// [`Part::Text`]) or not (`*.exe`, `C\:\\Windows*`: escapes resolved, `*` a [`Part::Wildcard`];
/// the words of an unquoted literal keep the whitespace between them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Literal {
    pub quoted: bool,
    /// Unquoted: never empty, no two `Text`s in a row, no empty `Text`, no whitespace at either
    /// end. Quoted: empty for `""`, else one non-empty `Text`.
    pub parts: Vec<Part>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Part {
    Text(String),
    /// An unescaped `*` of an unquoted literal.
    Wildcard,
}

impl Literal {
    /// The literal's text with `*` for each wildcard (so `\*` and `*` read the same: use
    /// [`Literal::parts`] to tell them apart).
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Wildcard => "*",
            })
            .collect()
    }

    pub fn has_wildcard(&self) -> bool {
        self.parts.contains(&Part::Wildcard)
    }

    /// `*` alone: with a field, "the field exists".
    pub fn is_wildcard_only(&self) -> bool {
        !self.quoted && self.parts == [Part::Wildcard]
    }
}

impl Query {
    /// Set every span to `0..0`.
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        if let Some(e) = &mut self.expr {
            e.clear_spans();
        }
    }
}

impl Expr {
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ExprKind::Or(v) | ExprKind::And(v) => v.iter_mut().for_each(Expr::clear_spans),
            ExprKind::Not(e) => e.clear_spans(),
            ExprKind::Match { field, values } => {
                field.span = Span::default();
                values.clear_spans();
            }
            ExprKind::Range { field, value, .. } => {
                field.span = Span::default();
                value.span = Span::default();
            }
            ExprKind::Nested { field, query } => {
                field.span = Span::default();
                query.clear_spans();
            }
            ExprKind::Value(l) => l.span = Span::default(),
        }
    }
}

impl ValueExpr {
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ValueKind::Or(v) | ValueKind::And(v) => v.iter_mut().for_each(ValueExpr::clear_spans),
            ValueKind::Not(e) => e.clear_spans(),
            ValueKind::Value(l) => l.span = Span::default(),
        }
    }
}
