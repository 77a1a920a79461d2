//! Lowering KQL into [`ir::Rule`]s: every query block of a [`Document`] becomes one rule.
//!
//! # Decisions
//!
//! - **Stages**: one per `let` statement (label `let Name`, text the statement), then for the
//!   final query one per piece of its pipe: the source (`table DeviceProcessEvents`, a let name,
//!   `union`, …) and each tabular operator, labelled by its first word as written (`where`,
//!   `filter`, `join`, `summarize`, `project-away`, …; `invoke FileProfile` and
//!   `evaluate bag_unpack` with their function). The text is the source text of the piece.
//!   `summarize … by` sets the stage's `group_by`.
//! - **The flow**: each stage of the final query refers to the stage before it
//!   ([`Expr::Stage`]), a let name used as a source or a join's right side refers to the let's
//!   stage; so the last stage is the root and the passes see every predicate that decides what
//!   the query returns. A let's expression is the `And` of its pipe's operators, the same way.
//! - **Predicates** come from `where`/`filter`: a column (or a path `a.b`, `a["b"]`) compared
//!   with a literal, or with a let bound to a literal (`let lolbins = dynamic([...])`):
//!   `==` is `eq` case-sensitive, `=~` `eq`, `!=`/`!~` a `Not(eq)`; `contains`, `startswith`,
//!   `endswith`, `hasprefix`, `hassuffix` the same kinds (`_cs`: case-sensitive); `has` is
//!   `contains` with the note `has: whole terms` (Kusto matches whole terms); `matches regex`
//!   is `regex`; `in`/`in~` one `eq` with all values, `has_any` one `contains`, `has_all` an
//!   `And`; the `!` forms and `not(…)` are `Not`; `isnull`/`isempty` `null`,
//!   `isnotnull`/`isnotempty` `exists`; `<`, `<=`, `>`, `>=` with a literal `lt`…`gte`;
//!   `between` an `And` of `gte` and `lte`; `ipv4_is_in_range`/`ipv6_is_in_range`/`ipv4_is_match(col, "cidr")`
//!   `cidr`; two columns compared, `fieldref`. Anything else (`ago()`, computed values, a list
//!   holding a subquery) gives no predicate: within an `And` it is left out, so the rule reads as
//!   matching at least what the predicates say.
//! - **Joins**: `inner`, `innerunique` (the default), `leftsemi` join the right side's
//!   expression; `leftanti` joins its `Not` (rows the right side holds are suppressed), except
//!   the FalconFriday **de-duplication** join, a `leftanti` join whose right side reads
//!   `SecurityAlert` (alerts already raised): its stage is labelled `join (de-duplication)`
//!   and its predicates are not part of the rule's logic (neither exclusions nor indicators).
//!   Outer joins and lookups do not filter. `union` is an `Or` of its inputs.
//! - **Tables**: every name used as a tabular source (pipe sources, join/lookup right sides,
//!   union members, subqueries in lists, `materialize()`/`toscalar()` arguments, inside lets
//!   and function bodies) that is not a let or a parameter: `("table", name)` data sources.
//! - A block that does not parse is an **error** at its position in the file (the block's
//!   first line plus the parser's line and column) and gives no rule; the file's other blocks
//!   still do.

use crate::ast::{
    self, BinOp, ExprKind, LetValue, ListOp, OperatorKind, StatementKind, StrOp, StrOpKind,
};
use crate::content::{Document, Kind as DocKind};
use ir::{Diagnostic, Expr, Kind, Logic, Pos, Predicate, Rule, RuleKind, Severity, Stage};
use std::collections::HashMap;

/// The rules of one file and the problems found while making them.
#[derive(Debug, Clone, Default)]
pub struct Lowered {
    pub rules: Vec<Rule>,
    pub problems: Vec<Diagnostic>,
}

/// One query lowered: its stages and the tables it reads, in order of first use.
#[derive(Debug, Clone, Default)]
pub struct LoweredQuery {
    pub logic: Logic,
    pub tables: Vec<String>,
    /// Operators kept as stages without predicates because lowering does not read them
    /// (`find`, `fork`, `facet`, `partition`, `scan`): their span and name.
    pub unlowered: Vec<(ast::Span, &'static str)>,
}

/// The note on predicates made from `has` (and its kin): Kusto matches whole terms.
pub const HAS_NOTE: &str = "has: whole terms";

/// The rules of `doc` (read from `file_text`, shown as `path` in problems), in source `source`
/// whose relative path is `rel`: one per query block that parses, keyed `source/rel` and
/// `source/rel#N` for the N-th block (N ≥ 2).
pub fn document_rules(
    doc: &Document,
    source: &str,
    rel: &str,
    path: &str,
    file_text: &str,
) -> Lowered {
    let mut out = Lowered {
        problems: doc.problems.clone(),
        ..Lowered::default()
    };
    let several = doc.blocks.len() > 1;
    for (i, b) in doc.blocks.iter().enumerate() {
        let q = match crate::parse(&b.text) {
            Ok(q) => q,
            Err(e) => {
                let (line, col) = block_pos(file_text, b, e.offset);
                out.problems.push(Diagnostic::new(
                    path,
                    Pos { line, col },
                    Severity::Error,
                    format!(
                        "KQL query {} does not parse: expected {}, found {}",
                        i + 1,
                        e.expected,
                        e.found
                    ),
                ));
                continue;
            }
        };
        let lowered = lower_query(&q, &b.text);
        for (span, word) in &lowered.unlowered {
            let (line, col) = block_pos(file_text, b, span.start);
            out.problems.push(Diagnostic::new(
                path,
                Pos { line, col },
                Severity::Warning,
                format!("`{word}` is not lowered: its stage has no predicates"),
            ));
        }
        let key = if i == 0 {
            format!("{source}/{rel}")
        } else {
            format!("{source}/{rel}#{}", i + 1)
        };
        let mut meta = doc.meta.clone();
        if several {
            meta.title = match &b.label {
                Some(l) if *l != meta.title => format!("{}: {l}", meta.title),
                _ => format!("{} (query {})", meta.title, i + 1),
            };
        }
        if matches!(doc.kind, DocKind::Markdown | DocKind::KqlFile) {
            let comments = leading_comments(&b.text);
            if meta.description.is_empty() || (several && !comments.is_empty()) {
                meta.description = comments;
            }
        }
        for t in &lowered.tables {
            let pair = ("table".to_string(), t.clone());
            if !meta.data_sources.contains(&pair) {
                meta.data_sources.push(pair);
            }
        }
        out.rules.push(Rule {
            key,
            source: source.to_string(),
            format: ir::Format::Kql,
            language: "kql".into(),
            kind: RuleKind::Detection,
            meta,
            attack: doc.attack.clone(),
            text: b.text.clone(),
            path: path.to_string(),
            pos: Pos {
                line: b.line,
                col: 1,
            },
            logic: lowered.logic,
            links: Vec::new(),
        });
    }
    out
}

/// Line and column in the file of byte `offset` of block `b`'s text.
fn block_pos(file_text: &str, b: &crate::content::Block, offset: usize) -> (u32, u32) {
    let at = (b.offset + offset).min(file_text.len());
    let (line, col) = crate::line_col(file_text, at);
    (line as u32, col as u32)
}

/// The `//` comment lines a query starts with, without the slashes.
fn leading_comments(text: &str) -> String {
    let mut out = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        if let Some(c) = t.strip_prefix("//") {
            out.push(c.trim());
        } else if !t.is_empty() {
            break;
        }
    }
    out.join("\n").trim().to_string()
}

/// Lower a parsed query (`text` is the text it was parsed from; spans point into it).
pub fn lower_query(q: &ast::Query, text: &str) -> LoweredQuery {
    let mut l = Lowerer {
        text,
        stages: Vec::new(),
        lets: HashMap::new(),
        params: Vec::new(),
        tables: Vec::new(),
        unlowered: Vec::new(),
    };
    let last = q
        .statements
        .iter()
        .rposition(|s| matches!(s.kind, StatementKind::Expr(_)));
    for (i, s) in q.statements.iter().enumerate() {
        match &s.kind {
            StatementKind::Let { name, value } => l.let_statement(name, value, &s.span),
            StatementKind::Set { .. } => {}
            StatementKind::Expr(e) if Some(i) == last => l.final_query(e),
            StatementKind::Expr(e) => {
                // An earlier expression statement (rare): its tables still count.
                l.tabular(e);
            }
        }
    }
    LoweredQuery {
        logic: Logic { stages: l.stages },
        tables: l.tables,
        unlowered: l.unlowered,
    }
}

/// What a let name stands for.
#[derive(Clone)]
enum Bound {
    /// A tabular (or other computed) value: its stage.
    Stage(usize),
    /// Literal values (a string, a number, a dynamic array of them).
    Values(Vec<String>),
    /// Anything else (`ago(1d)`, a function).
    Other,
}

struct Lowerer<'a> {
    text: &'a str,
    stages: Vec<Stage>,
    lets: HashMap<String, Bound>,
    /// Parameters of the function bodies being lowered (not tables).
    params: Vec<String>,
    tables: Vec<String>,
    unlowered: Vec<(ast::Span, &'static str)>,
}

fn and(mut parts: Vec<Expr>) -> Option<Expr> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Expr::And(parts)),
    }
}

fn not(e: Expr) -> Expr {
    match e {
        Expr::Not(inner) => *inner,
        e => Expr::Not(Box::new(e)),
    }
}

fn pred(field: String, kind: Kind, values: Vec<String>, cs: bool, notes: &[&str]) -> Expr {
    Expr::Pred(Predicate {
        field: Some(field),
        kind,
        values,
        case_sensitive: cs,
        transforms: notes.iter().map(|s| s.to_string()).collect(),
    })
}

impl Lowerer<'_> {
    fn src(&self, span: &ast::Span) -> &str {
        self.text.get(span.clone()).unwrap_or("").trim()
    }

    fn push(&mut self, label: String, text: String, expr: Option<Expr>) -> usize {
        self.stages.push(Stage::new(label, text, expr));
        self.stages.len() - 1
    }

    /// A reference to stage `i`, if that stage matches anything.
    fn stage_ref(&self, i: usize) -> Option<Expr> {
        self.stages[i].expr.as_ref().map(|_| Expr::Stage(i))
    }

    fn let_statement(&mut self, name: &ast::Name, value: &LetValue, span: &ast::Span) {
        let text = self.src(span).to_string();
        let label = format!("let {}", name.text);
        match value {
            LetValue::Expr(e) => {
                if let Some(values) = self.literal_values(e) {
                    self.push(label, text, None);
                    self.lets.insert(name.text.clone(), Bound::Values(values));
                    return;
                }
                let tabular = is_tabular(e, &self.lets);
                let expr = self.tabular(e);
                let i = self.push(label, text, expr);
                let bound = if tabular {
                    Bound::Stage(i)
                } else {
                    Bound::Other
                };
                self.lets.insert(name.text.clone(), bound);
            }
            LetValue::Function { params, body, .. } => {
                let n = self.params.len();
                self.params
                    .extend(params.iter().map(|p| p.name.text.clone()));
                for s in body {
                    match &s.kind {
                        StatementKind::Let {
                            value: LetValue::Expr(e),
                            ..
                        }
                        | StatementKind::Expr(e) => {
                            self.tabular(e);
                        }
                        _ => {}
                    }
                }
                self.params.truncate(n);
                self.push(label, text, None);
                self.lets.insert(name.text.clone(), Bound::Other);
            }
        }
    }

    /// The final query: one stage for the source and one per operator.
    fn final_query(&mut self, e: &ast::Expr) {
        let (source, ops) = match &e.kind {
            ExprKind::Pipe { source, ops } => (source.as_ref(), ops.as_slice()),
            _ => (e, &[][..]),
        };
        let label = match &source.kind {
            ExprKind::Ident(n) if self.lets.contains_key(n) => n.clone(),
            ExprKind::Ident(n) => format!("table {n}"),
            ExprKind::Source(op) => self.op_label(op),
            ExprKind::Call { name, .. } => name.clone(),
            ExprKind::Datatable { .. } => "datatable".into(),
            ExprKind::Externaldata { .. } => "externaldata".into(),
            _ => "source".into(),
        };
        let expr = self.tabular(source);
        let mut prev = self.push(label, self.src(&source.span).to_string(), expr);
        for op in ops {
            let (label, expr) = self.operator(op, self.stage_ref(prev));
            let text = format!("| {}", self.src(&op.span));
            prev = self.push(label, text, expr);
            if let OperatorKind::Summarize { by, .. } = &op.kind {
                self.stages[prev].group_by = by.iter().map(|a| self.assign_text(a)).collect();
            }
        }
    }

    fn assign_text(&self, a: &ast::Assign) -> String {
        match a.names.as_slice() {
            [n] => n.text.clone(),
            _ => self.src(&a.value.span).to_string(),
        }
    }

    /// `where`, `invoke FileProfile`, `join (de-duplication)`, as written.
    fn op_label(&self, op: &ast::Operator) -> String {
        let text = self.src(&op.span);
        let word: String = text
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        match &op.kind {
            OperatorKind::Invoke(call) | OperatorKind::Evaluate { call, .. } => match &call.kind {
                ExprKind::Call { name, .. } => format!("{word} {name}"),
                _ => word,
            },
            OperatorKind::Join { params, right, .. } if self.is_dedup(params, right) => {
                format!("{word} (de-duplication)")
            }
            _ => word,
        }
    }

    /// A `leftanti` join against `SecurityAlert`: FalconFriday's removal of rows already
    /// alerted on.
    fn is_dedup(&self, params: &[ast::OptParam], right: &ast::Expr) -> bool {
        join_kind(params) == "leftanti" && reads_table(right, "SecurityAlert")
    }

    /// One operator of a pipe whose input is `input`: its label and expression.
    fn operator(&mut self, op: &ast::Operator, input: Option<Expr>) -> (String, Option<Expr>) {
        let label = self.op_label(op);
        let own: Option<Expr> = match &op.kind {
            OperatorKind::Where(e) => self.predicate(e),
            OperatorKind::Join { params, right, on } => {
                self.scan_exprs(on);
                let dedup = self.is_dedup(params, right);
                let r = self.tabular(right);
                match join_kind(params).as_str() {
                    _ if dedup => None,
                    "inner" | "innerunique" | "leftsemi" => r,
                    "leftanti" | "anti" | "leftantisemi" => r.map(not),
                    _ => None,
                }
            }
            OperatorKind::Lookup { params, right, .. } => {
                let r = self.tabular(right);
                (join_kind_or(params, "leftouter") == "inner")
                    .then_some(r)
                    .flatten()
            }
            OperatorKind::Union { tables, .. } => {
                let mut alts = vec![input.clone()];
                alts.extend(tables.iter().map(|t| self.tabular(t)));
                let alts: Option<Vec<Expr>> = alts.into_iter().collect();
                let expr = alts.map(Expr::Or);
                return (label, expr);
            }
            other => {
                let word = match other {
                    OperatorKind::Find { .. } => Some("find"),
                    OperatorKind::Fork(_) => Some("fork"),
                    OperatorKind::Facet { .. } => Some("facet"),
                    OperatorKind::Partition { .. } => Some("partition"),
                    OperatorKind::Scan { .. } => Some("scan"),
                    _ => None,
                };
                if let Some(w) = word {
                    self.unlowered.push((op.span.clone(), w));
                }
                self.scan_operator(other);
                None
            }
        };
        (label, and(input.into_iter().chain(own).collect()))
    }

    /// The expression of a tabular expression (what its rows satisfy), recording its tables.
    fn tabular(&mut self, e: &ast::Expr) -> Option<Expr> {
        match &e.kind {
            ExprKind::Ident(n) => match self.lets.get(n) {
                Some(Bound::Stage(i)) => self.stage_ref(*i),
                Some(_) => None,
                None => {
                    if !self.params.contains(n) && !self.tables.contains(n) {
                        self.tables.push(n.clone());
                    }
                    None
                }
            },
            ExprKind::Pattern(p) => {
                if !self.tables.contains(p) {
                    self.tables.push(p.clone());
                }
                None
            }
            ExprKind::Pipe { source, ops } => {
                let mut acc = self.tabular(source);
                for op in ops {
                    acc = self.operator(op, acc).1;
                }
                acc
            }
            ExprKind::Source(op) => self.operator(op, None).1,
            ExprKind::Call { name, args }
                if matches!(name.as_str(), "materialize" | "toscalar" | "view") =>
            {
                let parts: Vec<Expr> = args.iter().filter_map(|a| self.tabular(a)).collect();
                and(parts)
            }
            _ => {
                self.scan(e);
                None
            }
        }
    }

    /// Record the tables of subqueries anywhere inside a scalar expression.
    fn scan(&mut self, e: &ast::Expr) {
        match &e.kind {
            ExprKind::Pipe { .. } | ExprKind::Source(_) => {
                self.tabular(e);
            }
            ExprKind::Call { name, args } => {
                if matches!(name.as_str(), "materialize" | "toscalar") {
                    self.tabular(e);
                } else {
                    self.scan_exprs(args);
                }
            }
            ExprKind::Dynamic(x)
            | ExprKind::Neg(x)
            | ExprKind::Plus(x)
            | ExprKind::Not(x)
            | ExprKind::Member { expr: x, .. } => self.scan(x),
            ExprKind::Index { expr, index } => {
                self.scan(expr);
                self.scan(index);
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                self.scan(lhs);
                self.scan(rhs);
            }
            ExprKind::And(v) | ExprKind::Or(v) | ExprKind::Array(v) => self.scan_exprs(v),
            ExprKind::List { expr, list, .. } => {
                self.scan(expr);
                for item in list {
                    // A list item that is a let name or a subquery reads a table.
                    if is_subquery(item, &self.lets) {
                        self.tabular(item);
                    } else {
                        self.scan(item);
                    }
                }
            }
            ExprKind::Between {
                expr, low, high, ..
            } => {
                self.scan(expr);
                self.scan(low);
                self.scan(high);
            }
            _ => {}
        }
    }

    fn scan_exprs(&mut self, v: &[ast::Expr]) {
        v.iter().for_each(|e| self.scan(e));
    }

    fn scan_operator(&mut self, op: &OperatorKind) {
        match op {
            OperatorKind::Extend(a)
            | OperatorKind::Project(a)
            | OperatorKind::Serialize(a)
            | OperatorKind::Print(a) => a.iter().for_each(|a| self.scan(&a.value)),
            OperatorKind::Summarize { aggs, by, .. } => {
                aggs.iter().chain(by).for_each(|a| self.scan(&a.value))
            }
            OperatorKind::MvApply { on, .. } => {
                for o in on {
                    self.operator(o, None);
                }
            }
            OperatorKind::Evaluate { call, .. } | OperatorKind::Invoke(call) => {
                if let ExprKind::Call { args, .. } = &call.kind {
                    self.scan_exprs(args)
                }
            }
            OperatorKind::Search {
                tables: Some(t), ..
            }
            | OperatorKind::Find {
                tables: Some(t), ..
            } => {
                for t in t {
                    self.tabular(t);
                }
            }
            OperatorKind::Facet { with: ops, .. }
            | OperatorKind::Partition {
                body: ast::PartitionBody::Ops(ops),
                ..
            } => {
                for o in ops {
                    self.operator(o, None);
                }
            }
            OperatorKind::Partition {
                body: ast::PartitionBody::Query(q),
                ..
            } => {
                self.tabular(q);
            }
            OperatorKind::Fork(branches) => {
                for o in branches.iter().flat_map(|b| &b.ops) {
                    self.operator(o, None);
                }
            }
            _ => {}
        }
    }

    // ---- predicates ----

    /// The predicates of a `where` expression.
    fn predicate(&mut self, e: &ast::Expr) -> Option<Expr> {
        self.scan(e);
        self.pred(e)
    }

    fn pred(&mut self, e: &ast::Expr) -> Option<Expr> {
        match &e.kind {
            ExprKind::And(v) => and(v.iter().filter_map(|e| self.pred(e)).collect()),
            ExprKind::Or(v) => {
                // An operand without predicates could match anything: the Or says nothing.
                let parts: Option<Vec<Expr>> = v.iter().map(|e| self.pred(e)).collect();
                parts.map(Expr::Or)
            }
            ExprKind::Not(x) => self.pred(x).map(not),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            ExprKind::List { op, expr, list }
                if list.iter().any(|i| is_subquery(i, &self.lets)) =>
            {
                // `x in (subquery)`: a semi-join, read as the subquery's expression (`!in`: its
                // `Not`), as joins are.
                let parts: Option<Vec<Expr>> = list.iter().map(|i| self.tabular(i)).collect();
                let e = and(parts?)?;
                Some(match op {
                    ListOp::NotIn | ListOp::NotInCi => not(e),
                    _ => e,
                })
            }
            ExprKind::List { op, expr, list } => {
                let field = self.field(expr)?;
                let mut values = Vec::new();
                for item in list {
                    values.extend(self.literal_values(item)?);
                }
                if values.is_empty() {
                    return None;
                }
                Some(match op {
                    ListOp::In => pred(field, Kind::Eq, values, true, &[]),
                    ListOp::InCi => pred(field, Kind::Eq, values, false, &[]),
                    ListOp::NotIn => not(pred(field, Kind::Eq, values, true, &[])),
                    ListOp::NotInCi => not(pred(field, Kind::Eq, values, false, &[])),
                    ListOp::HasAny => pred(field, Kind::Contains, values, false, &[HAS_NOTE]),
                    ListOp::HasAll => Expr::And(
                        values
                            .into_iter()
                            .map(|v| {
                                pred(field.clone(), Kind::Contains, vec![v], false, &[HAS_NOTE])
                            })
                            .collect(),
                    ),
                })
            }
            ExprKind::Between {
                negated,
                expr,
                low,
                high,
            } => {
                let field = self.field(expr)?;
                let low = self.literal(low)?;
                let high = self.literal(high)?;
                let e = Expr::And(vec![
                    pred(field.clone(), Kind::Gte, vec![low], false, &[]),
                    pred(field, Kind::Lte, vec![high], false, &[]),
                ]);
                Some(if *negated { not(e) } else { e })
            }
            ExprKind::Call { name, args } => self.call(name, args),
            _ => None,
        }
    }

    fn call(&mut self, name: &str, args: &[ast::Expr]) -> Option<Expr> {
        let kind = match name {
            "isnull" | "isempty" => Kind::Null,
            "isnotnull" | "isnotempty" => Kind::Exists,
            "ipv4_is_in_range" | "ipv4_is_match" | "ipv6_is_in_range" | "ipv6_is_match"
                if args.len() == 2 =>
            {
                let field = self.field(&args[0])?;
                let cidr = self.literal(&args[1])?;
                return Some(pred(field, Kind::Cidr, vec![cidr], false, &[]));
            }
            "ipv4_is_in_any_range" | "ipv6_is_in_any_range" if args.len() >= 2 => {
                let field = self.field(&args[0])?;
                let mut values = Vec::new();
                for a in &args[1..] {
                    values.extend(self.literal_values(a)?);
                }
                return Some(pred(field, Kind::Cidr, values, false, &[]));
            }
            _ => return None,
        };
        match args {
            [a] => Some(pred(self.field(a)?, kind, vec![], false, &[])),
            _ => None,
        }
    }

    fn binary(&mut self, op: BinOp, lhs: &ast::Expr, rhs: &ast::Expr) -> Option<Expr> {
        // A literal on the left of a symmetric comparison: read it the other way round.
        let (lhs, rhs, op) = match (self.field(lhs), self.field(rhs)) {
            (None, Some(_)) => (rhs, lhs, flip(op)?),
            _ => (lhs, rhs, op),
        };
        let field = self.field(lhs)?;
        let value = self.literal(rhs);
        if value.is_none()
            && let (Some(other), BinOp::Eq | BinOp::EqCi | BinOp::Ne | BinOp::NeCi) =
                (self.field(rhs), op)
        {
            let p = pred(
                field,
                Kind::Fieldref,
                vec![other],
                op == BinOp::Eq || op == BinOp::Ne,
                &[],
            );
            return Some(if matches!(op, BinOp::Ne | BinOp::NeCi) {
                not(p)
            } else {
                p
            });
        }
        let v = vec![value?];
        Some(match op {
            BinOp::Eq => pred(field, Kind::Eq, v, true, &[]),
            BinOp::EqCi => pred(field, Kind::Eq, v, false, &[]),
            BinOp::Ne => not(pred(field, Kind::Eq, v, true, &[])),
            BinOp::NeCi => not(pred(field, Kind::Eq, v, false, &[])),
            BinOp::Lt => pred(field, Kind::Lt, v, false, &[]),
            BinOp::Le => pred(field, Kind::Lte, v, false, &[]),
            BinOp::Gt => pred(field, Kind::Gt, v, false, &[]),
            BinOp::Ge => pred(field, Kind::Gte, v, false, &[]),
            BinOp::Str(s) => str_op(field, s, v),
            BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Add | BinOp::Sub => return None,
        })
    }

    /// A column or a path into one (`a.b`, `a["b"]`), as written canonically; never a let.
    fn field(&self, e: &ast::Expr) -> Option<String> {
        match &e.kind {
            ExprKind::Ident(n) if !self.lets.contains_key(n) && !n.starts_with('$') => {
                Some(n.clone())
            }
            ExprKind::Member { expr, .. } | ExprKind::Index { expr, .. } => {
                let mut root = expr.as_ref();
                while let ExprKind::Member { expr, .. } | ExprKind::Index { expr, .. } = &root.kind
                {
                    root = expr;
                }
                match &root.kind {
                    ExprKind::Ident(n) if n == "$left" || n == "$right" => None,
                    ExprKind::Ident(_) => self.field(root).map(|_| crate::print_expr(e)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// One literal value, or a let bound to exactly one.
    fn literal(&self, e: &ast::Expr) -> Option<String> {
        match self.literal_values(e)?.as_slice() {
            [v] if !matches!(e.kind, ExprKind::Dynamic(_)) => Some(v.clone()),
            _ => None,
        }
    }

    /// The values of a literal, a `dynamic([…])` of literals, or a let bound to one.
    fn literal_values(&self, e: &ast::Expr) -> Option<Vec<String>> {
        Some(match &e.kind {
            ExprKind::Str(s) => vec![s.value.clone()],
            ExprKind::Number(n) | ExprKind::Timespan(n) => vec![n.clone()],
            ExprKind::Bool(b) => vec![b.to_string()],
            ExprKind::Typed { ty, raw } => vec![format!("{ty}({raw})")],
            ExprKind::Neg(x) => match &x.kind {
                ExprKind::Number(n) | ExprKind::Timespan(n) => vec![format!("-{n}")],
                _ => return None,
            },
            ExprKind::Dynamic(x) => match &x.kind {
                ExprKind::Array(items) => {
                    let mut out = Vec::new();
                    for i in items {
                        out.extend(self.literal_values(i)?);
                    }
                    out
                }
                _ => self.literal_values(x)?,
            },
            ExprKind::Ident(n) => match self.lets.get(n) {
                Some(Bound::Values(v)) => v.clone(),
                _ => return None,
            },
            _ => return None,
        })
    }
}

fn str_op(field: String, s: StrOp, v: Vec<String>) -> Expr {
    let cs = s.case_sensitive;
    let p = match s.kind {
        StrOpKind::Has => pred(field, Kind::Contains, v, cs, &[HAS_NOTE]),
        StrOpKind::HasPrefix => pred(field, Kind::StartsWith, v, cs, &[HAS_NOTE]),
        StrOpKind::HasSuffix => pred(field, Kind::EndsWith, v, cs, &[HAS_NOTE]),
        StrOpKind::Contains => pred(field, Kind::Contains, v, cs, &[]),
        StrOpKind::StartsWith => pred(field, Kind::StartsWith, v, cs, &[]),
        StrOpKind::EndsWith => pred(field, Kind::EndsWith, v, cs, &[]),
        StrOpKind::MatchesRegex => pred(field, Kind::Regex, v, true, &[]),
    };
    if s.negated { not(p) } else { p }
}

/// The comparison with its operands swapped (`5 < x` is `x > 5`); `None` for the string
/// operators, which are not symmetric.
fn flip(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Eq | BinOp::Ne | BinOp::EqCi | BinOp::NeCi => op,
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        _ => return None,
    })
}

/// A join's `kind=` (lowercased), `innerunique` when not given.
fn join_kind(params: &[ast::OptParam]) -> String {
    join_kind_or(params, "innerunique")
}

fn join_kind_or(params: &[ast::OptParam], default: &str) -> String {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case("kind"))
        .and_then(|p| match &p.value.kind {
            ExprKind::Ident(k) => Some(k.to_ascii_lowercase()),
            _ => None,
        })
        .unwrap_or_else(|| default.to_string())
}

/// Is `e` a table-valued expression: a pipe, a source operator, a table or tabular let name
/// (a name that is not a literal let), `materialize(…)`?
fn is_tabular(e: &ast::Expr, lets: &HashMap<String, Bound>) -> bool {
    match &e.kind {
        ExprKind::Pipe { .. }
        | ExprKind::Source(_)
        | ExprKind::Datatable { .. }
        | ExprKind::Externaldata { .. } => true,
        ExprKind::Call { name, .. } => matches!(name.as_str(), "materialize" | "view"),
        ExprKind::Ident(n) => !matches!(lets.get(n), Some(Bound::Values(_) | Bound::Other)),
        _ => false,
    }
}

/// A list item that is a table: a pipe, a source operator, or a tabular let (a bare name in a
/// list is a column or a scalar, never taken for a table).
fn is_subquery(e: &ast::Expr, lets: &HashMap<String, Bound>) -> bool {
    match &e.kind {
        ExprKind::Ident(n) => matches!(lets.get(n), Some(Bound::Stage(_))),
        _ => is_tabular(e, lets),
    }
}

/// Does `e` read table `name` (its pipe source, or a join or union inside)?
fn reads_table(e: &ast::Expr, name: &str) -> bool {
    match &e.kind {
        ExprKind::Ident(n) => n == name,
        ExprKind::Pipe { source, ops } => {
            reads_table(source, name)
                || ops.iter().any(|o| match &o.kind {
                    OperatorKind::Join { right, .. } | OperatorKind::Lookup { right, .. } => {
                        reads_table(right, name)
                    }
                    OperatorKind::Union { tables, .. } => {
                        tables.iter().any(|t| reads_table(t, name))
                    }
                    _ => false,
                })
        }
        ExprKind::Call { args, .. } => args.iter().any(|a| reads_table(a, name)),
        _ => false,
    }
}
