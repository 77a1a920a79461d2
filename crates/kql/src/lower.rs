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
//!   with a literal, or with a let bound to a literal (`let lolbins = dynamic([...])`, an
//!   `array_concat` of such lets, `-limit`): `==` is `eq` case-sensitive, `=~` `eq`,
//!   `!=`/`!~` a `Not(eq)`; `contains`, `startswith`, `endswith`, `hasprefix`, `hassuffix` the
//!   same kinds (`_cs`: case-sensitive); `has` is `contains` with the note `has: whole terms`
//!   (Kusto matches whole terms); `matches regex` is `regex`; `in`/`in~` one `eq` with all
//!   values, `has_any` one `contains`, `has_all` an `And`; the `!` forms and `not(…)` are
//!   `Not`; `isnull`/`isempty` `null`, `isnotnull`/`isnotempty` `exists`; `<`, `<=`, `>`,
//!   `>=` with a literal `lt`…`gte`, either way round (`-15 < TimeDiff` is `TimeDiff > -15`);
//!   `between` an `And` of `gte` and `lte`; `ipv4_is_in_range`/`ipv6_is_in_range`/
//!   `ipv4_is_match(col, "cidr")` `cidr`, `ipv4_is_private(col)` `cidr` with the three RFC 1918
//!   ranges; a bool column alone (`where IsCertificateValid`) `eq "true"`; a boolean compared
//!   with `true`/`false` that boolean or its `Not`; `coalesce(col, default) op v` the column's
//!   comparison, `Or` `null` when the default passes it; two columns compared, `fieldref`.
//! - **Functions** (`let F = (p:timespan) { … }`) are lowered where they are called: the
//!   parameters bound to the arguments (a literal, a column, a table) or their defaults, the
//!   body's lets to their values, and the body's expression put in place of the call (a
//!   tabular body where a table is read, a scalar one in `where`). The `let F` stage has no
//!   expression of its own.
//! - **Nothing is dropped silently.** What gives no predicate (`array_length(A) > 2`,
//!   computed values) is left out only where the rule's reading stays sound: a conjunct of an
//!   `and` the rule requires (the rule reads as matching at least what its predicates say),
//!   an operand of an `or` (its other operands still hold for the events they name). A
//!   negated `and` with such a part is left out whole (`not(A and ?)` does not exclude every
//!   `A`). Each part left out is a note of its stage (`not analysed: …`) and in
//!   [`LoweredQuery::unanalysed`], which [`document_rules`] reports as warnings at their line
//!   and column; a time bound (`Timestamp > ago(1d)`) is a note (`time window: …`) only.
//! - **Joins**: `inner`, `innerunique` (the default), `leftsemi` join the right side's
//!   expression; `leftanti` (and `x !in (subquery)`) is `Not(Join { on: keys, side })`: rows
//!   whose keys appear on the right side are suppressed, the right side's predicates being
//!   that side's condition, not tests of the rule's own rows; except
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
    /// The `where` clauses (or parts) that gave no predicate, in the order met; each is also
    /// a note of its stage.
    pub unanalysed: Vec<Unanalysed>,
}

/// A `where` clause, or a part of one, left out of the rule's logic: at byte `offset` of the
/// query text, with the note its stage carries (`not analysed: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanalysed {
    pub offset: usize,
    pub message: String,
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
        for u in &lowered.unanalysed {
            let (line, col) = block_pos(file_text, b, u.offset);
            out.problems.push(Diagnostic::new(
                path,
                Pos { line, col },
                Severity::Warning,
                format!("KQL query {}: {}", i + 1, u.message),
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
        tables: Vec::new(),
        notes: Vec::new(),
        unanalysed: Vec::new(),
        quiet: 0,
        depth: 0,
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
        unanalysed: l.unanalysed,
    }
}

/// What a let name (or a parameter of a function being read) stands for.
#[derive(Clone)]
enum Bound<'a> {
    /// A tabular value of the query: its stage.
    Stage(usize),
    /// A tabular value inside a function body (a let of the body, a tabular argument): its
    /// expression, repeated where it is used.
    Inline(Option<Expr>),
    /// Literal values (a string, a number, a dynamic array of them).
    Values(Vec<String>),
    /// A parameter given a column (`F(UserAgent)`): that column.
    Column(String),
    /// A point in time (`ago(1d)`, `now() - 2h`, `datetime(…)`).
    Time,
    /// A user-defined function: lowered where it is called.
    Function {
        params: &'a [ast::Param],
        body: &'a [ast::Statement],
    },
    /// Anything else (a computed scalar).
    Other,
}

/// How deep function calls are followed (Kusto forbids recursion; this bounds bad input).
const MAX_CALL_DEPTH: usize = 16;

/// The private IPv4 ranges `ipv4_is_private` tests (RFC 1918, as Kusto's reference lists).
const PRIVATE_IPV4: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

struct Lowerer<'a> {
    text: &'a str,
    stages: Vec<Stage>,
    lets: HashMap<String, Bound<'a>>,
    tables: Vec<String>,
    /// Notes for the next stage pushed.
    notes: Vec<String>,
    unanalysed: Vec<Unanalysed>,
    /// While above 0 nothing is noted: what is read then (a function's body read for its
    /// tables, a de-duplication join's right side) is not part of the rule's logic.
    quiet: u32,
    /// Function calls being followed.
    depth: usize,
}

/// A `where` (sub-)expression that gives no predicate: where it is, and why.
struct Lost {
    span: ast::Span,
    why: Why,
}

#[derive(Clone, Copy, PartialEq)]
enum Why {
    /// Not analysed (a computed value, an unknown function): a warning.
    Unread,
    /// A bound on the time (`Timestamp > ago(1d)`): a note only.
    Window,
    /// Always true or always false whatever the row (`x !in (empty_list)`), as written.
    Always(bool),
    /// Not analysed, and its parts already noted.
    Noted,
}

fn and(mut parts: Vec<Expr>) -> Option<Expr> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Expr::And(parts)),
    }
}

fn or(mut parts: Vec<Expr>) -> Option<Expr> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Expr::Or(parts)),
    }
}

fn not(e: Expr) -> Expr {
    match e {
        Expr::Not(inner) => *inner,
        e => Expr::Not(Box::new(e)),
    }
}

/// A test of `field`; KQL has no wildcards, so every value is literal text.
fn pred(field: String, kind: Kind, values: Vec<String>, cs: bool, notes: &[&str]) -> Expr {
    Expr::Pred(Predicate {
        field: Some(field),
        kind,
        values: values
            .into_iter()
            .map(|v| ir::Value::new(kind, v, ir::Syntax::Literal))
            .collect(),
        case_sensitive: cs,
        transforms: notes.iter().map(|s| s.to_string()).collect(),
    })
}

/// Source text on one line (newlines and runs of spaces as one space).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl<'a> Lowerer<'a> {
    fn src(&self, span: &ast::Span) -> &'a str {
        self.text.get(span.clone()).unwrap_or("").trim()
    }

    fn push(&mut self, label: String, text: String, expr: Option<Expr>) -> usize {
        let mut stage = Stage::new(label, text, expr);
        stage.notes = std::mem::take(&mut self.notes);
        self.stages.push(stage);
        self.stages.len() - 1
    }

    /// A reference to stage `i`, if that stage matches anything.
    fn stage_ref(&self, i: usize) -> Option<Expr> {
        self.stages[i].expr.as_ref().map(|_| Expr::Stage(i))
    }

    /// Note a part of a `where` left out of the stage's expression (`branch`: one operand of
    /// an `or`, so the rule may match more than its expression says).
    fn lose(&mut self, l: Lost, branch: bool) {
        if self.quiet > 0 || l.why == Why::Noted {
            return;
        }
        let text = one_line(self.src(&l.span));
        let (note, warn) = match l.why {
            Why::Always(true) => (format!("always true: {text}"), false),
            Why::Always(false) => (format!("never true: {text}"), true),
            Why::Window if !branch => (format!("time window: {text}"), false),
            _ if branch => (
                format!("not analysed: {text} (one branch of an `or`: the rule may match more)"),
                true,
            ),
            _ => (format!("not analysed: {text}"), true),
        };
        if warn {
            let u = Unanalysed {
                offset: l.span.start,
                message: note.clone(),
            };
            if !self.unanalysed.contains(&u) {
                self.unanalysed.push(u);
            }
        }
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    fn let_statement(&mut self, name: &'a ast::Name, value: &'a LetValue, span: &ast::Span) {
        let text = self.src(span).to_string();
        let label = format!("let {}", name.text);
        match value {
            LetValue::Expr(e) => {
                if let Some(values) = self.literal_values(e) {
                    self.push(label, text, None);
                    self.lets
                        .insert(name.text.to_string(), Bound::Values(values));
                    return;
                }
                if self.is_time(e) {
                    self.push(label, text, None);
                    self.lets.insert(name.text.to_string(), Bound::Time);
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
                self.lets.insert(name.text.to_string(), bound);
            }
            LetValue::Function { params, body, .. } => {
                // Read once for the tables it names (also when it is never called); its
                // predicates are lowered where it is called, with its arguments.
                self.quiet += 1;
                self.call(params, body, &[], |l, e| l.tabular(e));
                self.quiet -= 1;
                self.push(label, text, None);
                self.lets
                    .insert(name.text.to_string(), Bound::Function { params, body });
            }
        }
    }

    /// Follow a call of a function with `params` and `body`: the parameters bound to `args`
    /// (or their defaults), the body's lets to their values, then `f` on the body's last
    /// expression. `None` when the body has no expression or calls are nested too deep.
    fn call<R>(
        &mut self,
        params: &'a [ast::Param],
        body: &'a [ast::Statement],
        args: &'a [ast::Expr],
        f: impl FnOnce(&mut Self, &'a ast::Expr) -> R,
    ) -> Option<R> {
        if self.depth >= MAX_CALL_DEPTH {
            return None;
        }
        // Arguments are read where the call is, before the parameters hide any name.
        let bound: Vec<(String, Bound<'a>)> = params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let b = match args.get(i).or(p.default.as_ref()) {
                    Some(a) if p.ty.starts_with('(') => Bound::Inline(self.tabular(a)),
                    Some(a) => self.bind(a),
                    None => Bound::Other,
                };
                (p.name.text.to_string(), b)
            })
            .collect();
        let saved = self.lets.clone();
        self.lets.extend(bound);
        self.depth += 1;
        let mut last = None;
        for (i, s) in body.iter().enumerate() {
            match &s.kind {
                StatementKind::Let {
                    name,
                    value: LetValue::Expr(e),
                } => {
                    let b = self.bind(e);
                    self.lets.insert(name.text.to_string(), b);
                }
                StatementKind::Let {
                    name,
                    value: LetValue::Function { params, body, .. },
                } => {
                    self.lets
                        .insert(name.text.to_string(), Bound::Function { params, body });
                }
                StatementKind::Set { .. } => {}
                StatementKind::Expr(e) if i + 1 == body.len() => last = Some(e),
                StatementKind::Expr(e) => {
                    self.tabular(e);
                }
            }
        }
        let out = last.map(|e| f(self, e));
        self.depth -= 1;
        self.lets = saved;
        out
    }

    /// What a name bound to `e` (in a function body, or a parameter given `e`) stands for.
    fn bind(&mut self, e: &'a ast::Expr) -> Bound<'a> {
        if let Some(v) = self.literal_values(e) {
            Bound::Values(v)
        } else if self.is_time(e) {
            Bound::Time
        } else if let Some(c) = self.field(e) {
            Bound::Column(c)
        } else if is_tabular(e, &self.lets) {
            Bound::Inline(self.tabular(e))
        } else {
            self.scan(e);
            Bound::Other
        }
    }

    /// The final query: one stage for the source and one per operator.
    fn final_query(&mut self, e: &'a ast::Expr) {
        let (source, ops) = match &e.kind {
            ExprKind::Pipe { source, ops } => (source.as_ref(), ops.as_slice()),
            _ => (e, &[][..]),
        };
        let label = match &source.kind {
            ExprKind::Ident(n) if self.lets.contains_key(n.as_str()) => n.to_string(),
            ExprKind::Ident(n) => format!("table {n}"),
            ExprKind::Source(op) => self.op_label(op),
            ExprKind::Call { name, .. } => name.to_string(),
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
            [n] => n.text.to_string(),
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
    fn operator(&mut self, op: &'a ast::Operator, input: Option<Expr>) -> (String, Option<Expr>) {
        let label = self.op_label(op);
        let own: Option<Expr> = match &op.kind {
            OperatorKind::Where(e) => self.predicate(e),
            OperatorKind::Join { params, right, on } => {
                self.scan_exprs(on);
                let dedup = self.is_dedup(params, right);
                if dedup {
                    self.quiet += 1;
                }
                let r = self.tabular(right);
                if dedup {
                    self.quiet -= 1;
                }
                match join_kind(params).as_str() {
                    _ if dedup => None,
                    "inner" | "innerunique" | "leftsemi" => r,
                    // Rows whose keys appear on the right side are dropped: an anti-join on
                    // those keys, the right side's predicates being that side's condition.
                    "leftanti" | "anti" | "leftantisemi" => r.map(|side| {
                        not(Expr::Join {
                            on: join_keys(on),
                            side: Box::new(side),
                        })
                    }),
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
                if let (Some(w), 0) = (word, self.quiet) {
                    let note = format!("not analysed: `{w}` (its stage has no predicates)");
                    self.unanalysed.push(Unanalysed {
                        offset: op.span.start,
                        message: note.clone(),
                    });
                    self.notes.push(note);
                }
                self.scan_operator(other);
                None
            }
        };
        (label, and(input.into_iter().chain(own).collect()))
    }

    /// The expression of a tabular expression (what its rows satisfy), recording its tables.
    fn tabular(&mut self, e: &'a ast::Expr) -> Option<Expr> {
        match &e.kind {
            ExprKind::Ident(n) => match self.lets.get(n.as_str()) {
                Some(Bound::Stage(i)) => self.stage_ref(*i),
                Some(Bound::Inline(e)) => e.clone(),
                Some(_) => None,
                None => {
                    if !self.tables.iter().any(|t| t == n) {
                        self.tables.push(n.to_string());
                    }
                    None
                }
            },
            ExprKind::Pattern(p) => {
                if !self.tables.iter().any(|t| t == p) {
                    self.tables.push(p.to_string());
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
            ExprKind::Call { name, args } => match self.lets.get(name.as_str()) {
                Some(Bound::Function { params, body }) => {
                    let (params, body) = (*params, *body);
                    self.call(params, body, args, |l, e| l.tabular(e)).flatten()
                }
                _ => {
                    self.scan(e);
                    None
                }
            },
            _ => {
                self.scan(e);
                None
            }
        }
    }

    /// Record the tables of subqueries anywhere inside a scalar expression.
    fn scan(&mut self, e: &'a ast::Expr) {
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

    fn scan_exprs(&mut self, v: &'a [ast::Expr]) {
        v.iter().for_each(|e| self.scan(e));
    }

    fn scan_operator(&mut self, op: &'a OperatorKind) {
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

    /// The predicates of a `where` expression; what cannot be read is noted.
    fn predicate(&mut self, e: &'a ast::Expr) -> Option<Expr> {
        self.scan(e);
        match self.pred(e, false) {
            Ok(x) => Some(x),
            Err(l) => {
                self.lose(l, false);
                None
            }
        }
    }

    /// The expression of a boolean `e` under an odd number of negations when `neg`.
    ///
    /// What cannot be read is left out only where that keeps the rule's reading sound: a
    /// conjunct of an `and` the rule requires (the rule then reads as matching at least what
    /// its predicates say), an operand of an `or` (each predicate read still holds for the
    /// events it names). A negated `and` with a part that cannot be read is lost whole:
    /// `not(A and ?)` does not exclude every `A`.
    fn pred(&mut self, e: &'a ast::Expr, neg: bool) -> Result<Expr, Lost> {
        let whole = |why: Why| Lost {
            span: e.span.clone(),
            why,
        };
        match &e.kind {
            ExprKind::And(v) | ExprKind::Or(v) => {
                let is_and = matches!(e.kind, ExprKind::And(_));
                let mut parts = Vec::new();
                let mut lost = Vec::new();
                for x in v {
                    match self.pred(x, neg) {
                        Ok(p) => parts.push(p),
                        Err(l) => lost.push(l),
                    }
                }
                // An operand that decides the whole (`false` in an `and`, `true` in an `or`);
                // one that decides nothing (`true` in an `and`, `false` in an `or`) is exact
                // to leave out, whatever the polarity.
                if lost.iter().any(|l| l.why == Why::Always(!is_and)) {
                    return Err(whole(Why::Always(!is_and)));
                }
                let unread = lost.iter().any(|l| l.why != Why::Always(is_and));
                if parts.is_empty() || (is_and && neg && unread) {
                    let why = if !unread {
                        Why::Always(is_and)
                    } else if is_and && lost.iter().all(|l| l.why == Why::Window) {
                        Why::Window
                    } else if is_and && !neg {
                        // Each required part is noted on its own.
                        for l in lost {
                            self.lose(l, false);
                        }
                        Why::Noted
                    } else {
                        Why::Unread
                    };
                    return Err(whole(why));
                }
                for l in lost {
                    self.lose(l, !is_and);
                }
                Ok(if is_and { and(parts) } else { or(parts) }.expect("parts"))
            }
            ExprKind::Not(x) => self.pred(x, !neg).map(not).map_err(|l| {
                whole(match l.why {
                    Why::Always(b) => Why::Always(!b),
                    _ => Why::Unread,
                })
            }),
            _ => match self.atom(e, neg) {
                Some(x) => Ok(x),
                None => Err(whole(self.why_not(e))),
            },
        }
    }

    /// A boolean that is not an `and`, `or` or `not`.
    fn atom(&mut self, e: &'a ast::Expr, neg: bool) -> Option<Expr> {
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, neg),
            ExprKind::List { op, expr, list }
                if list.iter().any(|i| is_subquery(i, &self.lets)) =>
            {
                // `x in (subquery)`: a semi-join, read as the subquery's expression; `!in`
                // an anti-join on `x`, as joins are.
                let parts: Option<Vec<Expr>> = list.iter().map(|i| self.tabular(i)).collect();
                let e = and(parts?)?;
                Some(match op {
                    ListOp::NotIn | ListOp::NotInCi => not(Expr::Join {
                        on: vec![crate::print_expr(expr)],
                        side: Box::new(e),
                    }),
                    _ => e,
                })
            }
            ExprKind::List { op, expr, list } => {
                // `tolower(col) in ("a", "b")`: the column, not case-sensitive, when every value
                // is in that case.
                let folded = self.folded(expr);
                let (field, op) = match (&folded, op) {
                    (Some((f, _)), ListOp::In | ListOp::InCi) => (f.clone(), ListOp::InCi),
                    (Some((f, _)), ListOp::NotIn | ListOp::NotInCi) => (f.clone(), ListOp::NotInCi),
                    (Some(_), _) => return None,
                    (None, op) => (self.field(expr)?, *op),
                };
                let mut values = Vec::new();
                for item in list {
                    values.extend(self.literal_values(item)?);
                }
                if values.is_empty() {
                    return None;
                }
                if let Some((_, lower)) = folded {
                    let case = |v: &String| {
                        if lower {
                            v.to_lowercase()
                        } else {
                            v.to_uppercase()
                        }
                    };
                    if values.iter().any(|v| case(v) != *v) {
                        return None;
                    }
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
            ExprKind::Call { name, args } => self.call_pred(name, args, neg),
            // A bool column on its own (`where IsCertificateValid`).
            ExprKind::Ident(_) | ExprKind::Member { .. } | ExprKind::Index { .. } => Some(pred(
                self.field(e)?,
                Kind::Eq,
                vec!["true".into()],
                true,
                &[],
            )),
            _ => None,
        }
    }

    fn call_pred(&mut self, name: &str, args: &'a [ast::Expr], neg: bool) -> Option<Expr> {
        if let Some(Bound::Function { params, body }) = self.lets.get(name) {
            let (params, body) = (*params, *body);
            return self.call(params, body, args, |l, e| l.pred(e, neg).ok())?;
        }
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
            "ipv4_is_private" if args.len() == 1 => {
                let field = self.field(&args[0])?;
                let values = PRIVATE_IPV4.iter().map(|s| s.to_string()).collect();
                return Some(pred(field, Kind::Cidr, values, false, &[]));
            }
            // `coalesce(IsCertificateValid, false)` as a bool: the column is true, or empty
            // and the default true.
            "coalesce" if args.len() >= 2 => {
                let field = self.field(&args[0])?;
                let default = self.literal(&args[1])?;
                let is_true = pred(field.clone(), Kind::Eq, vec!["true".into()], true, &[]);
                return Some(match default.as_str() {
                    "true" => Expr::Or(vec![is_true, pred(field, Kind::Null, vec![], true, &[])]),
                    "false" => is_true,
                    _ => return None,
                });
            }
            _ => return None,
        };
        match args {
            [a] => Some(pred(self.field(a)?, kind, vec![], false, &[])),
            _ => None,
        }
    }

    fn binary(
        &mut self,
        op: BinOp,
        lhs: &'a ast::Expr,
        rhs: &'a ast::Expr,
        neg: bool,
    ) -> Option<Expr> {
        // A literal on the left of a symmetric comparison: read it the other way round.
        let swap = (self.field(lhs).is_none() && self.field(rhs).is_some())
            || (self.literal(lhs).is_some() && self.literal(rhs).is_none());
        let (lhs, rhs, op) = if swap {
            (rhs, lhs, flip(op)?)
        } else {
            (lhs, rhs, op)
        };
        // A boolean compared with `true`/`false` (`ipv4_is_private(ip) == false`).
        if let (ExprKind::Bool(b), BinOp::Eq | BinOp::EqCi | BinOp::Ne | BinOp::NeCi) =
            (&rhs.kind, op)
            && self.field(lhs).is_none()
        {
            let same = matches!(op, BinOp::Eq | BinOp::EqCi) == *b;
            let inner = self.pred(lhs, if same { neg } else { !neg }).ok()?;
            return Some(if same { inner } else { not(inner) });
        }
        // `coalesce(col, default) < 200`: the column compared, or empty with a default that
        // passes the comparison.
        if let ExprKind::Call { name, args } = &lhs.kind
            && name == "coalesce"
            && args.len() >= 2
        {
            let field = self.field(&args[0])?;
            let default = self.literal(&args[1])?;
            let value = self.literal(rhs)?;
            let base = compare(field.clone(), op, value.clone())?;
            return Some(if holds(op, &default, &value)? {
                Expr::Or(vec![base, pred(field, Kind::Null, vec![], true, &[])])
            } else {
                base
            });
        }
        // `tolower(col) == "x"`: the column, not case-sensitive (a value not in that case never
        // matches: no predicate).
        if let Some((field, lower)) = self.folded(lhs) {
            let value = self.literal(rhs)?;
            let same = if lower {
                value.to_lowercase() == value
            } else {
                value.to_uppercase() == value
            };
            let op = match op {
                BinOp::Eq | BinOp::EqCi => BinOp::EqCi,
                BinOp::Ne | BinOp::NeCi => BinOp::NeCi,
                BinOp::Str(s) => BinOp::Str(StrOp {
                    case_sensitive: false,
                    ..s
                }),
                _ => return None,
            };
            return if same {
                compare(field, op, value)
            } else {
                None
            };
        }
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
        compare(field, op, value?)
    }

    /// Why the atom `e` gives no predicate.
    fn why_not(&self, e: &ast::Expr) -> Why {
        if self.is_window(e) {
            return Why::Window;
        }
        // `x in (list)` of a list bound to nothing (an environment's empty allow-list).
        if let ExprKind::List { op, expr, list } = &e.kind
            && self.field(expr).is_some()
            && !list.iter().any(|i| is_subquery(i, &self.lets))
            && let Some(values) = list
                .iter()
                .map(|i| self.literal_values(i))
                .collect::<Option<Vec<_>>>()
            && values.iter().all(Vec::is_empty)
        {
            match op {
                ListOp::In | ListOp::InCi | ListOp::HasAny => return Why::Always(false),
                ListOp::NotIn | ListOp::NotInCi => return Why::Always(true),
                ListOp::HasAll => {}
            }
        }
        Why::Unread
    }

    /// Does `e` bound a time column by a point in time (`Timestamp > ago(1d)`,
    /// `ingestion_time() between (start .. end)`)?
    fn is_window(&self, e: &ast::Expr) -> bool {
        match &e.kind {
            ExprKind::Binary {
                op: BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge,
                lhs,
                rhs,
            } => self.is_time(lhs) || self.is_time(rhs),
            ExprKind::Between { low, high, .. } => self.is_time(low) || self.is_time(high),
            _ => false,
        }
    }

    /// Is `e` a point in time: `ago(…)`, `now()`, `datetime(…)`, `startofday(…)`, a let bound
    /// to one, or one plus or minus something?
    fn is_time(&self, e: &ast::Expr) -> bool {
        match &e.kind {
            ExprKind::Call { name, .. } => {
                matches!(
                    name.as_str(),
                    "ago" | "now" | "datetime_add" | "todatetime" | "make_datetime"
                ) || name.starts_with("startof")
                    || name.starts_with("endof")
            }
            ExprKind::Typed { ty, .. } => ty == "datetime",
            ExprKind::Ident(n) => matches!(self.lets.get(n.as_str()), Some(Bound::Time)),
            ExprKind::Binary {
                op: BinOp::Add | BinOp::Sub,
                lhs,
                rhs,
            } => self.is_time(lhs) || self.is_time(rhs),
            _ => false,
        }
    }

    /// `tolower(col)` / `toupper(col)`: the column and whether it is lower-cased.
    fn folded(&self, e: &ast::Expr) -> Option<(String, bool)> {
        match &e.kind {
            ExprKind::Call { name, args } if args.len() == 1 => {
                let lower = match name.as_str() {
                    "tolower" => true,
                    "toupper" => false,
                    _ => return None,
                };
                Some((self.field(&args[0])?, lower))
            }
            _ => None,
        }
    }

    /// A column or a path into one (`a.b`, `a["b"]`), as written canonically, also under a
    /// conversion (`tostring(col)`); never a let, but a parameter given a column is that
    /// column.
    fn field(&self, e: &ast::Expr) -> Option<String> {
        match &e.kind {
            ExprKind::Call { name, args }
                if args.len() == 1
                    && matches!(
                        name.as_str(),
                        "tostring" | "toint" | "tolong" | "todouble" | "toreal" | "todecimal"
                    ) =>
            {
                self.field(&args[0])
            }
            ExprKind::Ident(n) => match self.lets.get(n.as_str()) {
                Some(Bound::Column(c)) => Some(c.clone()),
                Some(_) => None,
                None if n.starts_with('$') => None,
                None => Some(n.to_string()),
            },
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

    /// The values of a literal, a `dynamic([…])` of literals, an `array_concat` or
    /// `pack_array` of them, or a let bound to one.
    fn literal_values(&self, e: &ast::Expr) -> Option<Vec<String>> {
        Some(match &e.kind {
            ExprKind::Str(s) => vec![s.value.to_string()],
            ExprKind::Number(n) | ExprKind::Timespan(n) => vec![n.to_string()],
            ExprKind::Bool(b) => vec![b.to_string()],
            ExprKind::Typed { ty, raw } => vec![format!("{ty}({raw})")],
            ExprKind::Neg(x) => match &x.kind {
                ExprKind::Number(n) | ExprKind::Timespan(n) => vec![format!("-{n}")],
                // `-limit` of a let bound to a number.
                ExprKind::Ident(_) => match self.literal(x)? {
                    v if v.parse::<f64>().is_ok() => {
                        vec![v.strip_prefix('-').map_or(format!("-{v}"), str::to_string)]
                    }
                    _ => return None,
                },
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
            ExprKind::Call { name, args }
                if matches!(name.as_str(), "array_concat" | "pack_array") =>
            {
                let mut out = Vec::new();
                for a in args {
                    out.extend(self.literal_values(a)?);
                }
                out
            }
            ExprKind::Ident(n) => match self.lets.get(n.as_str()) {
                Some(Bound::Values(v)) => v.clone(),
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// `field op value` for a comparison or string operator.
fn compare(field: String, op: BinOp, value: String) -> Option<Expr> {
    let v = vec![value];
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

/// Whether `a op b` holds for two literals (numbers compared as numbers, `true`/`false` and
/// strings as text); `None` when that is not known here.
fn holds(op: BinOp, a: &str, b: &str) -> Option<bool> {
    if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
        return Some(match op {
            BinOp::Eq | BinOp::EqCi => x == y,
            BinOp::Ne | BinOp::NeCi => x != y,
            BinOp::Lt => x < y,
            BinOp::Le => x <= y,
            BinOp::Gt => x > y,
            BinOp::Ge => x >= y,
            _ => return None,
        });
    }
    let ci = |s: &str| s.to_lowercase();
    Some(match op {
        BinOp::Eq => a == b,
        BinOp::Ne => a != b,
        BinOp::EqCi => ci(a) == ci(b),
        BinOp::NeCi => ci(a) != ci(b),
        BinOp::Str(s) => {
            let (a, b) = if s.case_sensitive {
                (a.to_string(), b.to_string())
            } else {
                (ci(a), ci(b))
            };
            let r = match s.kind {
                StrOpKind::Contains => a.contains(&b),
                StrOpKind::StartsWith => a.starts_with(&b),
                StrOpKind::EndsWith => a.ends_with(&b),
                _ => return None,
            };
            r != s.negated
        }
        _ => return None,
    })
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
/// The left side's columns a join matches on: `on A, B` and `on $left.A == $right.B` give
/// `A`, `B`, as written.
fn join_keys(on: &[ast::Expr]) -> Vec<String> {
    let left = |e: &ast::Expr| match &e.kind {
        ExprKind::Member { expr, name } if matches!(&expr.kind, ExprKind::Ident(n) if n == "$left") => {
            Some(name.to_string())
        }
        ExprKind::Ident(n) if !n.starts_with('$') => Some(n.to_string()),
        _ => None,
    };
    on.iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Binary {
                op: BinOp::Eq,
                lhs,
                rhs,
            } => left(lhs).or_else(|| left(rhs)),
            _ => left(e).or_else(|| Some(crate::print_expr(e))),
        })
        .collect()
}

fn join_kind(params: &[ast::OptParam]) -> String {
    join_kind_or(params, "innerunique")
}

fn join_kind_or(params: &[ast::OptParam], default: &str) -> String {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case("kind"))
        .and_then(|p| match &p.value.kind {
            ExprKind::Ident(k) => Some(k.as_str().to_ascii_lowercase()),
            _ => None,
        })
        .unwrap_or_else(|| default.to_string())
}

/// Is `e` a table-valued expression: a pipe, a source operator, a table or tabular let name
/// (a name not bound to a scalar), `materialize(…)`, a call of a function whose body ends in
/// one?
fn is_tabular(e: &ast::Expr, lets: &HashMap<String, Bound>) -> bool {
    match &e.kind {
        ExprKind::Pipe { .. }
        | ExprKind::Source(_)
        | ExprKind::Datatable { .. }
        | ExprKind::Externaldata { .. } => true,
        ExprKind::Call { name, .. } => match lets.get(name.as_str()) {
            Some(Bound::Function { body, .. }) => matches!(
                body.last().map(|s| &s.kind),
                Some(StatementKind::Expr(b)) if is_tabular(b, lets)
            ),
            _ => matches!(name.as_str(), "materialize" | "view"),
        },
        ExprKind::Ident(n) => {
            matches!(
                lets.get(n.as_str()),
                None | Some(Bound::Stage(_) | Bound::Inline(_))
            )
        }
        _ => false,
    }
}

/// A list item that is a table: a pipe, a source operator, or a tabular let (a bare name in a
/// list is a column or a scalar, never taken for a table).
fn is_subquery(e: &ast::Expr, lets: &HashMap<String, Bound>) -> bool {
    match &e.kind {
        ExprKind::Ident(n) => matches!(
            lets.get(n.as_str()),
            Some(Bound::Stage(_) | Bound::Inline(_))
        ),
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
