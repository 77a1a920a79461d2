//! The ES|QL syntax tree. Every node that stands for a piece of the source carries its
//! [`Span`]; [`Query::clear_spans`] resets them all, so two trees can be compared for structure
//! alone.
//!
//! Values are kept as they mean, not as they were written: names are the dotted field name with
//! backquotes removed (`` source.`as`.name `` is `source.as.name`), strings are unescaped
//! (`"a\"b"` and `"""a"b"""` are both `a"b`), keywords, command and function names are upper
//! case. Numbers keep their digits as written.

use serde::Serialize;

use crate::span::Span;

/// Commands separated by `|`; the first is a source command (`FROM`, `ROW`, `SHOW`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    pub commands: Vec<Command>,
    /// From the first command to the end of the last one.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Command {
    pub kind: CommandKind,
    /// From the command name to the end of its last argument.
    pub span: Span,
}

/// A field name or name pattern: the parts joined by `.`, backquotes removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Name {
    pub name: String,
    pub span: Span,
}

/// An index pattern (`logs-endpoint.events.*`, `remote:logs-*`, a quoted `"logs-*"`) or an
/// enrich policy name, as its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CommandKind {
    /// `FROM a, b METADATA _id, _index`.
    From {
        sources: Vec<Source>,
        metadata: Vec<Name>,
    },
    /// `ROW a = 1, b = "x"`.
    Row(Vec<Field>),
    /// `SHOW INFO` (the item, upper case).
    Show(String),
    Where(Expr),
    /// `EVAL a = expr, expr`.
    Eval(Vec<Field>),
    /// `STATS …` and `INLINE STATS …` (also written `INLINESTATS`).
    Stats(Stats),
    /// `KEEP a, b.*`.
    Keep(Vec<Name>),
    /// `DROP a, b.*`.
    Drop(Vec<Name>),
    /// `RENAME old AS new` (also written `new = old`).
    Rename(Vec<Rename>),
    Sort(Vec<SortKey>),
    /// `LIMIT n`: an integer or a parameter.
    Limit(Expr),
    /// `DISSECT input "pattern" APPEND_SEPARATOR = "…"`.
    Dissect {
        input: Expr,
        pattern: Expr,
        options: Vec<CommandOption>,
    },
    /// `GROK input "pattern"[, "pattern"…]`.
    Grok {
        input: Expr,
        patterns: Vec<Expr>,
    },
    /// `ENRICH policy [ON field] [WITH [new =] field, …]`.
    Enrich {
        policy: Source,
        on: Option<Name>,
        with: Vec<EnrichField>,
    },
    /// `MV_EXPAND field`.
    MvExpand(Name),
    /// `LOOKUP JOIN index ON field[, field…]` (or join conditions).
    LookupJoin {
        index: Source,
        on: Vec<Expr>,
    },
    /// Any other processing command (`COMPLETION`, `FORK`, `CHANGE_POINT`, `SAMPLE`, …): its
    /// name (upper case) and its tokens as written, up to the next `|` outside brackets.
    Generic {
        name: String,
        args: Vec<String>,
    },
}

/// `name = expr`, or an expression alone (its name is then the expression's text).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub name: Option<Name>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// `INLINE STATS` (keeps the input rows) rather than `STATS`.
    pub inline: bool,
    pub aggs: Vec<Agg>,
    /// `BY` groups.
    pub by: Vec<Field>,
}

/// An aggregation with an optional inline filter: `c = COUNT(*) WHERE x > 1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agg {
    pub field: Field,
    pub filter: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rename {
    pub from: Name,
    pub to: Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Nulls {
    First,
    Last,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SortKey {
    pub expr: Expr,
    pub order: Option<Order>,
    pub nulls: Option<Nulls>,
}

/// `NAME = constant` after a command (`APPEND_SEPARATOR = "-"`); the name upper case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandOption {
    pub name: String,
    pub value: Expr,
}

/// `[new =] field` in `ENRICH … WITH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrichField {
    pub name: Option<Name>,
    pub field: Name,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    Null,
    Bool(bool),
    /// An integer as written (`42`).
    Int(String),
    /// A decimal as written (`1.5`, `.5`, `1e3`).
    Decimal(String),
    /// A string, unescaped.
    Str(String),
    /// `1 hour`, `30 seconds`: the integer and the unit as written.
    Duration {
        value: String,
        unit: String,
    },
    /// `?`, `?name`, `?1`, `??name` as written.
    Param(String),
    /// A field name.
    Field(String),
    /// `*`, only as the argument of a call (`COUNT(*)`).
    Star,
    /// `[1, 2, 3]`.
    List(Vec<Expr>),
    /// `{"key": value, …}`, as a function argument.
    Map(Vec<MapEntry>),
    /// `NAME(args)`; the name upper case.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `expr::type`; the type lower case.
    Cast {
        expr: Box<Expr>,
        ty: String,
    },
    Neg(Box<Expr>),
    /// Arithmetic and comparisons.
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// Two or more operands.
    And(Vec<Expr>),
    /// Two or more operands.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `expr [NOT] IN (a, b)`.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `expr IS [NOT] NULL`.
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `expr [NOT] LIKE|RLIKE pattern`, or a list of patterns `LIKE ("a*", "b*")`.
    Like {
        expr: Box<Expr>,
        rlike: bool,
        negated: bool,
        patterns: Vec<Expr>,
        list: bool,
    },
    /// `field : "query"` (full-text match).
    Match {
        field: Box<Expr>,
        query: Box<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapEntry {
    pub key: String,
    pub value: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinOp {
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Neq => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Neq | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

impl Query {
    /// Set every span in the tree to `Span::default()`.
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        for c in &mut self.commands {
            c.clear_spans();
        }
    }
}

fn clear_fields(fields: &mut [Field]) {
    for f in fields {
        f.clear_spans();
    }
}

impl Field {
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        if let Some(n) = &mut self.name {
            n.span = Span::default();
        }
        self.value.clear_spans();
    }
}

impl Command {
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            CommandKind::From { sources, metadata } => {
                sources.iter_mut().for_each(|s| s.span = Span::default());
                metadata.iter_mut().for_each(|n| n.span = Span::default());
            }
            CommandKind::Row(f) | CommandKind::Eval(f) => clear_fields(f),
            CommandKind::Show(_) | CommandKind::Generic { .. } => {}
            CommandKind::Where(e) | CommandKind::Limit(e) => e.clear_spans(),
            CommandKind::Stats(s) => {
                for a in &mut s.aggs {
                    a.field.clear_spans();
                    if let Some(e) = &mut a.filter {
                        e.clear_spans();
                    }
                }
                clear_fields(&mut s.by);
            }
            CommandKind::Keep(n) | CommandKind::Drop(n) => {
                n.iter_mut().for_each(|n| n.span = Span::default())
            }
            CommandKind::Rename(r) => {
                for r in r {
                    r.from.span = Span::default();
                    r.to.span = Span::default();
                }
            }
            CommandKind::Sort(keys) => keys.iter_mut().for_each(|k| k.expr.clear_spans()),
            CommandKind::Dissect {
                input,
                pattern,
                options,
            } => {
                input.clear_spans();
                pattern.clear_spans();
                options.iter_mut().for_each(|o| o.value.clear_spans());
            }
            CommandKind::Grok { input, patterns } => {
                input.clear_spans();
                patterns.iter_mut().for_each(Expr::clear_spans);
            }
            CommandKind::Enrich { policy, on, with } => {
                policy.span = Span::default();
                if let Some(n) = on {
                    n.span = Span::default();
                }
                for w in with {
                    if let Some(n) = &mut w.name {
                        n.span = Span::default();
                    }
                    w.field.span = Span::default();
                }
            }
            CommandKind::MvExpand(n) => n.span = Span::default(),
            CommandKind::LookupJoin { index, on } => {
                index.span = Span::default();
                on.iter_mut().for_each(Expr::clear_spans);
            }
        }
    }
}

impl Expr {
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Decimal(_)
            | ExprKind::Str(_)
            | ExprKind::Duration { .. }
            | ExprKind::Param(_)
            | ExprKind::Field(_)
            | ExprKind::Star => {}
            ExprKind::List(v) | ExprKind::And(v) | ExprKind::Or(v) => {
                v.iter_mut().for_each(Expr::clear_spans)
            }
            ExprKind::Call { args, .. } => args.iter_mut().for_each(Expr::clear_spans),
            ExprKind::Map(entries) => entries.iter_mut().for_each(|e| e.value.clear_spans()),
            ExprKind::Cast { expr, .. }
            | ExprKind::Neg(expr)
            | ExprKind::Not(expr)
            | ExprKind::IsNull { expr, .. } => expr.clear_spans(),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.clear_spans();
                rhs.clear_spans();
            }
            ExprKind::In { expr, list, .. } => {
                expr.clear_spans();
                list.iter_mut().for_each(Expr::clear_spans);
            }
            ExprKind::Like { expr, patterns, .. } => {
                expr.clear_spans();
                patterns.iter_mut().for_each(Expr::clear_spans);
            }
            ExprKind::Match { field, query } => {
                field.clear_spans();
                query.clear_spans();
            }
        }
    }
}
