//! The KQL syntax tree. Nodes that stand for a piece of the source carry its byte span
//! (`Range<usize>` into the parsed text; [`crate::lexer::line_col`] turns an offset into a line
//! and column). [`Query::clear_spans`] sets them all to `0..0`, so two trees can be compared
//! for structure alone.
//!
//! Tabular and scalar expressions share one type, [`Expr`]: a table name, a call
//! (`FileProfile()`, `materialize(…)`), `datatable(…)[…]` or a parenthesised query is a source,
//! and [`ExprKind::Pipe`] is a source followed by `| operator`s. Parentheses are not nodes: the
//! printer writes them where precedence needs them.

use std::ops::Range;

use serde::Serialize;

pub type Span = Range<usize>;

/// The text of a name, number or string in the tree: most are short (`Timestamp`, `1d`,
/// `cmd.exe`) and kept inline without an allocation of their own.
pub type Text = compact_str::CompactString;

/// `;`-separated statements; the last is usually the query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    pub statements: Vec<Statement>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StatementKind {
    /// `let name = value`.
    Let { name: Name, value: LetValue },
    /// `set name [= value]` (a query option).
    Set { name: Name, value: Option<Expr> },
    /// A tabular (or scalar) expression.
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum LetValue {
    Expr(Expr),
    /// `(a:string, b:dynamic = dynamic([])) { statements }`; `view (…) { … }` when `view`.
    Function {
        params: Vec<Param>,
        body: Vec<Statement>,
        view: bool,
    },
}

/// A function parameter: `name:type [= default]`. `ty` is the type as written canonically:
/// `string`, `(*)`, `(a:string, b:long)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub name: Name,
    pub ty: String,
    pub default: Option<Expr>,
}

/// A column, table or variable name where the grammar wants a name (not an expression):
/// `plain`, `['odd name']`; in column lists also a wildcard pattern (`Initiating*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Name {
    pub text: Text,
    pub span: Span,
}

/// An operator option: `kind=inner`, `hint.strategy=shuffle`, `withsource=T`, `isfuzzy=true`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptParam {
    pub name: String,
    pub value: Expr,
    pub span: Span,
}

/// `expr`, `name = expr` or `(a, b) = expr` (in extend, project, summarize, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assign {
    /// No name: a bare expression; one: `name = …`; several: `(a, b) = …`.
    pub names: Vec<Name>,
    pub value: Expr,
    pub span: Span,
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

/// `expr [asc|desc] [nulls first|last]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SortKey {
    pub expr: Expr,
    pub order: Option<Order>,
    pub nulls: Option<Nulls>,
}

/// A tabular operator (after `|`, or `union`/`print`/`range`/`search` as a source).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operator {
    pub kind: OperatorKind,
    /// From the operator name to its last argument.
    pub span: Span,
}

/// `mv-expand` / `mv-apply` item: `[name =] expr [to typeof(type)]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MvItem {
    pub assign: Assign,
    pub to_type: Option<String>,
}

/// A piece of a `parse` pattern.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ParsePart {
    /// A string literal to match (a regex with `kind=regex`).
    Str(StrLit),
    /// `*`: skip.
    Star,
    /// `name[:type]`: a column to extract.
    Column { name: Name, ty: Option<String> },
}

/// `name:type` (datatable, externaldata, parse-kv columns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDef {
    pub name: Name,
    pub ty: String,
}

/// One `top-nested` clause: `top-nested [n] of expr [with others = expr] by agg [asc|desc]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopNestedLevel {
    pub count: Option<Expr>,
    pub of: Assign,
    pub others: Option<Expr>,
    pub by: Assign,
    pub order: Option<Order>,
}

/// `make-series` aggregation: `[name =] agg [default = value]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesAgg {
    pub assign: Assign,
    pub default: Option<Expr>,
}

/// The range of a `make-series`: `[from a] [to b] step c` or `in range(a, b, c)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum SeriesRange {
    FromTo {
        from: Option<Expr>,
        to: Option<Expr>,
        step: Expr,
    },
    InRange(Expr),
}

/// A column of `find … project` or `project-away`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FindColumn {
    /// `name[:type]`.
    Column { name: Name, ty: Option<String> },
    /// `pack(*)`: the other columns in one bag.
    Pack,
    /// `*` (in `project-away`).
    Star,
}

/// What `find` returns: `project cols` or `project-smart`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FindProject {
    Columns(Vec<FindColumn>),
    Smart,
}

/// One branch of `fork`: `[name =] (op | op …)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForkBranch {
    pub name: Option<Name>,
    pub ops: Vec<Operator>,
}

/// The body of `partition`: operators applied to each partition (`(top 1 by T)`), or a whole
/// query in braces (`{ … }`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PartitionBody {
    Ops(Vec<Operator>),
    Query(Box<Expr>),
}

/// One step of `scan`: `step name [optional] [output=all|last|none]: condition [=> a = e, …];`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanStep {
    pub name: Name,
    pub optional: bool,
    pub output: Option<String>,
    pub condition: Expr,
    pub assigns: Vec<(Name, Expr)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum OperatorKind {
    /// `where` / `filter`.
    Where(Expr),
    Extend(Vec<Assign>),
    Project(Vec<Assign>),
    ProjectAway(Vec<Name>),
    ProjectKeep(Vec<Name>),
    /// `project-rename new = old, …`.
    ProjectRename(Vec<(Name, Name)>),
    /// `project-reorder col [asc|desc|granny-asc|granny-desc], …`.
    ProjectReorder(Vec<(Name, Option<String>)>),
    Summarize {
        params: Vec<OptParam>,
        aggs: Vec<Assign>,
        by: Vec<Assign>,
    },
    Join {
        params: Vec<OptParam>,
        right: Expr,
        /// Columns or `$left.a == $right.b` conditions.
        on: Vec<Expr>,
    },
    Lookup {
        params: Vec<OptParam>,
        right: Expr,
        on: Vec<Expr>,
    },
    Union {
        params: Vec<OptParam>,
        tables: Vec<Expr>,
    },
    Distinct {
        params: Vec<OptParam>,
        columns: Vec<Assign>,
    },
    Top {
        count: Expr,
        by: Vec<SortKey>,
    },
    /// `sort by` / `order by`.
    Sort {
        params: Vec<OptParam>,
        by: Vec<SortKey>,
    },
    /// `take` / `limit`.
    Take(Expr),
    Count,
    MvExpand {
        params: Vec<OptParam>,
        items: Vec<MvItem>,
        limit: Option<Expr>,
    },
    MvApply {
        params: Vec<OptParam>,
        items: Vec<MvItem>,
        limit: Option<Expr>,
        /// The operators of `on ( … )`, applied to each row's sub-table.
        on: Vec<Operator>,
    },
    /// `parse` (`where: false`) and `parse-where` (`where: true`).
    Parse {
        where_: bool,
        params: Vec<OptParam>,
        source: Expr,
        pattern: Vec<ParsePart>,
    },
    /// `parse-kv expr as (cols) [with (options)]`.
    ParseKv {
        source: Expr,
        columns: Vec<ColumnDef>,
        with: Vec<OptParam>,
    },
    /// `evaluate plugin(…) [: (schema)]`.
    Evaluate {
        params: Vec<OptParam>,
        call: Expr,
        schema: Option<Vec<ColumnDef>>,
    },
    Invoke(Expr),
    MakeSeries {
        params: Vec<OptParam>,
        aggs: Vec<SeriesAgg>,
        on: Expr,
        range: Box<SeriesRange>,
        by: Vec<Assign>,
    },
    Render {
        chart: Name,
        with: Vec<OptParam>,
    },
    As {
        params: Vec<OptParam>,
        name: Name,
    },
    Serialize(Vec<Assign>),
    Sample(Expr),
    SampleDistinct {
        count: Expr,
        of: Box<Expr>,
    },
    /// `search [kind=…] [in (T, …)] predicate`.
    Search {
        params: Vec<OptParam>,
        tables: Option<Vec<Expr>>,
        predicate: Expr,
    },
    Getschema,
    TopNested(Vec<TopNestedLevel>),
    /// `print [name =] expr, …` (a source).
    Print(Vec<Assign>),
    /// `range name from a to b step c` (a source).
    Range {
        name: Name,
        from: Box<Expr>,
        to: Box<Expr>,
        step: Box<Expr>,
    },
    /// `find [options] [in (T, …)] where predicate [project … | project-smart] [project-away …]`
    /// (also a source).
    Find {
        params: Vec<OptParam>,
        tables: Option<Vec<Expr>>,
        predicate: Expr,
        project: Option<FindProject>,
        project_away: Option<Vec<FindColumn>>,
    },
    /// `fork (…) (…)`.
    Fork(Vec<ForkBranch>),
    /// `facet by col, … [with (op | …)]`.
    Facet {
        by: Vec<Expr>,
        with: Vec<Operator>,
    },
    /// `partition [options] by col [in (…)] (ops)` or `… { query }`.
    Partition {
        params: Vec<OptParam>,
        by: Expr,
        in_: Option<Expr>,
        body: PartitionBody,
    },
    /// `scan [options] [order by …] [partition by …] [declare (…)] with (steps)`.
    Scan {
        params: Vec<OptParam>,
        order_by: Vec<SortKey>,
        partition_by: Vec<Expr>,
        declare: Vec<Param>,
        steps: Vec<ScanStep>,
    },
    /// Any other operator (`graph-match`, `execute-and-cache`, …): its name and the tokens up
    /// to the next `|` outside brackets, as written (comments dropped).
    Generic {
        name: String,
        tokens: Vec<String>,
    },
}

/// How a string literal was written (kept so printing writes the same kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StrStyle {
    /// `"…"` or `'…'`.
    Plain,
    /// `@"…"` or `@'…'`.
    Verbatim,
    /// ```` ```…``` ````.
    Multiline,
}

/// A string literal: its value (escapes resolved) and how it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrLit {
    pub value: Text,
    pub style: StrStyle,
    /// `h"…"`: hidden from logs.
    pub obfuscated: bool,
}

/// Binary operators other than `and`/`or` (n-ary) and the list operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinOp {
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `=~`.
    EqCi,
    /// `!~`.
    NeCi,
    /// A word operator: `has`, `!contains_cs`, `matches regex`, …
    Str(StrOp),
}

/// String operators written as words. `negated` is the `!` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StrOp {
    pub kind: StrOpKind,
    pub negated: bool,
    pub case_sensitive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StrOpKind {
    Has,
    HasPrefix,
    HasSuffix,
    Contains,
    StartsWith,
    EndsWith,
    /// `matches regex` (never negated, always case-sensitive).
    MatchesRegex,
}

impl StrOpKind {
    pub fn word(self) -> &'static str {
        match self {
            StrOpKind::Has => "has",
            StrOpKind::HasPrefix => "hasprefix",
            StrOpKind::HasSuffix => "hassuffix",
            StrOpKind::Contains => "contains",
            StrOpKind::StartsWith => "startswith",
            StrOpKind::EndsWith => "endswith",
            StrOpKind::MatchesRegex => "matches regex",
        }
    }
}

impl StrOp {
    /// The operator as written: `!startswith_cs`.
    pub fn text(self) -> String {
        if self.kind == StrOpKind::MatchesRegex {
            return "matches regex".to_string();
        }
        format!(
            "{}{}{}",
            if self.negated { "!" } else { "" },
            self.kind.word(),
            if self.case_sensitive { "_cs" } else { "" }
        )
    }

    /// Read a word operator (`has`, `!hasprefix_cs`); `matches` alone is read by the parser.
    pub fn from_word(w: &str) -> Option<StrOp> {
        // Older spellings Kusto still accepts.
        match w {
            "notcontains" => return StrOp::from_word("!contains"),
            "containscs" => return StrOp::from_word("contains_cs"),
            "notcontainscs" => return StrOp::from_word("!contains_cs"),
            _ => {}
        }
        let (negated, w) = match w.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, w),
        };
        let (case_sensitive, w) = match w.strip_suffix("_cs") {
            Some(r) => (true, r),
            None => (false, w),
        };
        let kind = match w {
            "has" => StrOpKind::Has,
            "hasprefix" => StrOpKind::HasPrefix,
            "hassuffix" => StrOpKind::HasSuffix,
            "contains" => StrOpKind::Contains,
            "startswith" => StrOpKind::StartsWith,
            "endswith" => StrOpKind::EndsWith,
            _ => return None,
        };
        Some(StrOp {
            kind,
            negated,
            case_sensitive,
        })
    }
}

impl BinOp {
    pub fn text(self) -> String {
        let s = match self {
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::EqCi => "=~",
            BinOp::NeCi => "!~",
            BinOp::Str(s) => return s.text(),
        };
        s.to_string()
    }

    /// Binding strength (higher binds tighter): comparisons 3, `+ -` 4, `* / %` 5.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
            BinOp::Add | BinOp::Sub => 4,
            _ => 3,
        }
    }
}

/// `in`, `!in`, `in~`, `!in~`, `has_any`, `has_all`: an operand and a parenthesised list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ListOp {
    In,
    NotIn,
    InCi,
    NotInCi,
    HasAny,
    HasAll,
}

impl ListOp {
    pub fn text(self) -> &'static str {
        match self {
            ListOp::In => "in",
            ListOp::NotIn => "!in",
            ListOp::InCi => "in~",
            ListOp::NotInCi => "!in~",
            ListOp::HasAny => "has_any",
            ListOp::HasAll => "has_all",
        }
    }
    pub fn from_word(w: &str) -> Option<ListOp> {
        Some(match w {
            "in" => ListOp::In,
            "!in" => ListOp::NotIn,
            "in~" => ListOp::InCi,
            "!in~" => ListOp::NotInCi,
            "has_any" => ListOp::HasAny,
            "has_all" => ListOp::HasAll,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    /// A column, table, variable or parameter name (`$left`, `['odd name']` → `odd name`).
    Ident(Text),
    /// A wildcard table name in `union` (`Device*Events`).
    Pattern(Text),
    Str(StrLit),
    /// A number as written (`12`, `1.5`, `1e5`, `0x1F`).
    Number(Text),
    /// A timespan as written (`1d`, `100ms`).
    Timespan(Text),
    Bool(bool),
    /// `datetime(…)`, `time(…)`, `timespan(…)`, `guid(…)`: the type and the raw inside, trimmed.
    Typed {
        ty: Text,
        raw: Text,
    },
    /// `dynamic(value)`; the value may be an [`ExprKind::Array`] or [`ExprKind::Object`].
    Dynamic(Box<Expr>),
    /// `[a, b]` inside `dynamic(…)`.
    Array(Vec<Expr>),
    /// `{"k": v}` inside `dynamic(…)`.
    Object(Vec<(Text, Expr)>),
    /// `*` as an argument (`arg_max(Timestamp, *)`) or a column list (`distinct *`).
    Star,
    Call {
        name: Text,
        args: Vec<Expr>,
    },
    /// A named argument of a call: `name = value` (`ipv4_lookup(…, return_unmatched = true)`).
    NamedArg {
        name: Name,
        value: Box<Expr>,
    },
    /// `a.b`.
    Member {
        expr: Box<Expr>,
        name: Text,
    },
    /// `a[0]`, `a["b"]`.
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `-x`.
    Neg(Box<Expr>),
    /// `+x`.
    Plus(Box<Expr>),
    /// `not(x)`.
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// Two or more operands.
    And(Vec<Expr>),
    /// Two or more operands.
    Or(Vec<Expr>),
    /// `x in (a, b)`, `x has_any (T)`; list items may be subqueries or let-bound names.
    List {
        op: ListOp,
        expr: Box<Expr>,
        list: Vec<Expr>,
    },
    /// `x [!]between (low .. high)`.
    Between {
        negated: bool,
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    /// `datatable(cols) [values]`.
    Datatable {
        columns: Vec<ColumnDef>,
        values: Vec<Expr>,
    },
    /// `externaldata(cols) [urls] [with (options)]`.
    Externaldata {
        columns: Vec<ColumnDef>,
        /// Boxed slices: the operator is rare, and they keep every expression node small.
        urls: Box<[Expr]>,
        with: Box<[OptParam]>,
    },
    /// A source operator standing alone (`union …`, `print …`, `range …`, `search …`).
    Source(Box<Operator>),
    /// `source | op | op` (at least one operator).
    Pipe {
        source: Box<Expr>,
        ops: Vec<Operator>,
    },
}

impl Expr {
    /// Binding strength of this expression as an operand: 0 a tabular expression, 1 `or`,
    /// 2 `and`, 3 comparisons, 4 `+ -`, 5 `* / %`, 6 unary, 7 primary.
    pub fn precedence(&self) -> u8 {
        match &self.kind {
            ExprKind::Pipe { .. } | ExprKind::Source(_) => 0,
            ExprKind::Or(_) => 1,
            ExprKind::And(_) => 2,
            ExprKind::List { .. } | ExprKind::Between { .. } => 3,
            ExprKind::Binary { op, .. } => op.precedence(),
            ExprKind::Neg(_) | ExprKind::Plus(_) => 6,
            _ => 7,
        }
    }
}

// ---- clear_spans ----

fn clear_name(n: &mut Name) {
    n.span = 0..0;
}
fn clear_params(p: &mut [OptParam]) {
    for p in p {
        p.span = 0..0;
        p.value.clear_spans();
    }
}
fn clear_assigns(a: &mut [Assign]) {
    for a in a {
        a.clear_spans();
    }
}
fn clear_exprs(e: &mut [Expr]) {
    for e in e {
        e.clear_spans();
    }
}
fn clear_cols(c: &mut [ColumnDef]) {
    for c in c {
        clear_name(&mut c.name);
    }
}
fn clear_keys(k: &mut [SortKey]) {
    for k in k {
        k.expr.clear_spans();
    }
}
fn clear_find_columns(c: &mut [FindColumn]) {
    for c in c {
        if let FindColumn::Column { name, .. } = c {
            clear_name(name);
        }
    }
}
fn clear_param_defs(params: &mut [Param]) {
    for p in params {
        clear_name(&mut p.name);
        if let Some(d) = &mut p.default {
            d.clear_spans();
        }
    }
}
fn clear_mv(items: &mut [MvItem]) {
    for i in items {
        i.assign.clear_spans();
    }
}

impl Query {
    /// Set every span in the tree to `0..0`.
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        for s in &mut self.statements {
            s.clear_spans();
        }
    }
}

impl Statement {
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        match &mut self.kind {
            StatementKind::Let { name, value } => {
                clear_name(name);
                match value {
                    LetValue::Expr(e) => e.clear_spans(),
                    LetValue::Function { params, body, .. } => {
                        clear_param_defs(params);
                        for s in body {
                            s.clear_spans();
                        }
                    }
                }
            }
            StatementKind::Set { name, value } => {
                clear_name(name);
                if let Some(v) = value {
                    v.clear_spans();
                }
            }
            StatementKind::Expr(e) => e.clear_spans(),
        }
    }
}

impl Assign {
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        self.names.iter_mut().for_each(clear_name);
        self.value.clear_spans();
    }
}

impl Operator {
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        use OperatorKind as O;
        match &mut self.kind {
            O::Where(e) | O::Take(e) | O::Invoke(e) | O::Sample(e) => e.clear_spans(),
            O::Extend(a) | O::Project(a) | O::Serialize(a) | O::Print(a) => clear_assigns(a),
            O::ProjectAway(n) | O::ProjectKeep(n) => n.iter_mut().for_each(clear_name),
            O::ProjectRename(pairs) => {
                for (a, b) in pairs {
                    clear_name(a);
                    clear_name(b);
                }
            }
            O::ProjectReorder(v) => v.iter_mut().for_each(|(n, _)| clear_name(n)),
            O::Summarize { params, aggs, by } => {
                clear_params(params);
                clear_assigns(aggs);
                clear_assigns(by);
            }
            O::Join { params, right, on } | O::Lookup { params, right, on } => {
                clear_params(params);
                right.clear_spans();
                clear_exprs(on);
            }
            O::Union { params, tables } => {
                clear_params(params);
                clear_exprs(tables);
            }
            O::Distinct { params, columns } => {
                clear_params(params);
                clear_assigns(columns);
            }
            O::Top { count, by } => {
                count.clear_spans();
                clear_keys(by);
            }
            O::Sort { params, by } => {
                clear_params(params);
                clear_keys(by);
            }
            O::Count | O::Getschema | O::Generic { .. } => {}
            O::MvExpand {
                params,
                items,
                limit,
            } => {
                clear_params(params);
                clear_mv(items);
                if let Some(l) = limit {
                    l.clear_spans();
                }
            }
            O::MvApply {
                params,
                items,
                limit,
                on,
            } => {
                clear_params(params);
                clear_mv(items);
                if let Some(l) = limit {
                    l.clear_spans();
                }
                on.iter_mut().for_each(Operator::clear_spans);
            }
            O::Parse {
                params,
                source,
                pattern,
                ..
            } => {
                clear_params(params);
                source.clear_spans();
                for p in pattern {
                    if let ParsePart::Column { name, .. } = p {
                        clear_name(name);
                    }
                }
            }
            O::ParseKv {
                source,
                columns,
                with,
            } => {
                source.clear_spans();
                clear_cols(columns);
                clear_params(with);
            }
            O::Evaluate {
                params,
                call,
                schema,
            } => {
                clear_params(params);
                call.clear_spans();
                if let Some(s) = schema {
                    clear_cols(s);
                }
            }
            O::Find {
                params,
                tables,
                predicate,
                project,
                project_away,
            } => {
                clear_params(params);
                if let Some(t) = tables {
                    clear_exprs(t);
                }
                predicate.clear_spans();
                if let Some(FindProject::Columns(c)) = project {
                    clear_find_columns(c);
                }
                if let Some(c) = project_away {
                    clear_find_columns(c);
                }
            }
            O::Fork(branches) => {
                for b in branches {
                    if let Some(n) = &mut b.name {
                        clear_name(n);
                    }
                    b.ops.iter_mut().for_each(Operator::clear_spans);
                }
            }
            O::Facet { by, with } => {
                clear_exprs(by);
                with.iter_mut().for_each(Operator::clear_spans);
            }
            O::Partition {
                params,
                by,
                in_,
                body,
            } => {
                clear_params(params);
                by.clear_spans();
                if let Some(i) = in_ {
                    i.clear_spans();
                }
                match body {
                    PartitionBody::Ops(ops) => ops.iter_mut().for_each(Operator::clear_spans),
                    PartitionBody::Query(q) => q.clear_spans(),
                }
            }
            O::Scan {
                params,
                order_by,
                partition_by,
                declare,
                steps,
            } => {
                clear_params(params);
                clear_keys(order_by);
                clear_exprs(partition_by);
                clear_param_defs(declare);
                for s in steps {
                    clear_name(&mut s.name);
                    s.condition.clear_spans();
                    for (n, e) in &mut s.assigns {
                        clear_name(n);
                        e.clear_spans();
                    }
                }
            }
            O::MakeSeries {
                params,
                aggs,
                on,
                range,
                by,
            } => {
                clear_params(params);
                for a in aggs {
                    a.assign.clear_spans();
                    if let Some(d) = &mut a.default {
                        d.clear_spans();
                    }
                }
                on.clear_spans();
                match &mut **range {
                    SeriesRange::FromTo { from, to, step } => {
                        if let Some(f) = from {
                            f.clear_spans();
                        }
                        if let Some(t) = to {
                            t.clear_spans();
                        }
                        step.clear_spans();
                    }
                    SeriesRange::InRange(e) => e.clear_spans(),
                }
                clear_assigns(by);
            }
            O::Render { chart, with } => {
                clear_name(chart);
                clear_params(with);
            }
            O::As { params, name } => {
                clear_params(params);
                clear_name(name);
            }
            O::SampleDistinct { count, of } => {
                count.clear_spans();
                of.clear_spans();
            }
            O::Search {
                params,
                tables,
                predicate,
            } => {
                clear_params(params);
                if let Some(t) = tables {
                    clear_exprs(t);
                }
                predicate.clear_spans();
            }
            O::TopNested(levels) => {
                for l in levels {
                    if let Some(c) = &mut l.count {
                        c.clear_spans();
                    }
                    l.of.clear_spans();
                    if let Some(o) = &mut l.others {
                        o.clear_spans();
                    }
                    l.by.clear_spans();
                }
            }
            O::Range {
                name,
                from,
                to,
                step,
            } => {
                clear_name(name);
                from.clear_spans();
                to.clear_spans();
                step.clear_spans();
            }
        }
    }
}

impl Expr {
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        use ExprKind as E;
        match &mut self.kind {
            E::Ident(_)
            | E::Pattern(_)
            | E::Str(_)
            | E::Number(_)
            | E::Timespan(_)
            | E::Bool(_)
            | E::Typed { .. }
            | E::Star => {}
            E::Dynamic(e) | E::Neg(e) | E::Plus(e) | E::Not(e) => e.clear_spans(),
            E::Member { expr, .. } => expr.clear_spans(),
            E::Array(v) | E::And(v) | E::Or(v) => clear_exprs(v),
            E::Call { args, .. } => clear_exprs(args),
            E::NamedArg { name, value } => {
                clear_name(name);
                value.clear_spans();
            }
            E::Object(v) => v.iter_mut().for_each(|(_, e)| e.clear_spans()),
            E::Index { expr, index } => {
                expr.clear_spans();
                index.clear_spans();
            }
            E::Binary { lhs, rhs, .. } => {
                lhs.clear_spans();
                rhs.clear_spans();
            }
            E::List { expr, list, .. } => {
                expr.clear_spans();
                clear_exprs(list);
            }
            E::Between {
                expr, low, high, ..
            } => {
                expr.clear_spans();
                low.clear_spans();
                high.clear_spans();
            }
            E::Datatable { columns, values } => {
                clear_cols(columns);
                clear_exprs(values);
            }
            E::Externaldata {
                columns,
                urls,
                with,
            } => {
                clear_cols(columns);
                clear_exprs(urls);
                clear_params(with);
            }
            E::Source(op) => op.clear_spans(),
            E::Pipe { source, ops } => {
                source.clear_spans();
                ops.iter_mut().for_each(Operator::clear_spans);
            }
        }
    }
}
