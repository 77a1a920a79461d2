//! Lowering a security_content [`Detection`] into an [`ir::Rule`].
//!
//! # Decisions
//!
//! - **One stage per top-level pipe segment of the original search** ([`pipe_segments`]), so the
//!   page follows the search as written. A segment that is only a macro call is labelled by the
//!   call as written (`security_content_ctime(firstTime)`); any other segment by its first
//!   command (`tstats`, `search`, `where`, `stats`, …) as the parser reads the expanded text.
//! - A stage's `text` is the original segment (with its pipe); where macros were expanded, a
//!   line `→ ` and the expanded segment follow, so a page shows both.
//! - Predicates come from the **expanded** segment: `search` (implicit and explicit),
//!   `where`, `tstats … where`, `inputlookup … where`, `regex`. A segment whose expansion holds
//!   several commands (a macro expanding to `a | b`) gets the `And` of their expressions.
//! - Search language: `field=value` is `eq` with the value as written (wildcards kept:
//!   `Processes.process="*Invoke-Command*"` is `eq "*Invoke-Command*"`), not case-sensitive;
//!   `!=` is `Not(eq)`; `IN (…)` is one `eq` with several values; `<`, `<=`, `>`, `>=` are
//!   `lt`, `lte`, `gt`, `gte`; a bare or quoted term is a `keyword` (`CASE(x)`: case-sensitive).
//! - `where`/`eval` language: comparisons of a field with a literal as above but
//!   case-sensitive (as `where` compares); two fields compared by `=`/`==` are `fieldref`;
//!   `match(f, re)` is `regex` with the regex as written; `like(f, p)` and `f LIKE p` are `regex`
//!   with the LIKE pattern turned into an anchored regex (`%` → `.*`, `_` → `.`);
//!   `isnull` is `null`, `isnotnull` is `exists`; `cidrmatch(cidr, f)` is `cidr`;
//!   `searchmatch("…")` is read as the search language. Anything else (arithmetic, other
//!   functions, `XOR`) gives no predicate.
//! - A macro the table does not define (`drop_dm_object_name`, `*_filter`, …) stays a stage
//!   (or an operand) with no expression, never a problem.
//! - Values stay as written in the IR. Reading `eq "*x*"` as `contains "x"` for indicator
//!   matching is the catalog's (`catalog::concepts`), not the reader's.
//! - The `by` fields of a `stats`-family command are the stage's `group_by`.

use crate::ast::{
    BinOp, CmpOp, Command, CommandKind, Expr as SplExpr, ExprKind, SearchExpr, SearchKind,
};
use crate::content::Detection;
use crate::macros::{self, MacroTable, pipe_segments};
use ir::{Diagnostic, Expr, Kind, Logic, Meta, Pos, Predicate, Rule, RuleKind, Severity, Stage};

/// A lowered detection and the problems found while lowering it.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub rule: Rule,
    pub problems: Vec<Diagnostic>,
}

/// Lower `d` (read from `file_text`, shown as `path` in problems) into a rule of `source` with
/// catalog key `key`; `table` holds the macros of the detection's checkout.
pub fn lower(
    d: &Detection,
    table: &MacroTable,
    source: &str,
    key: &str,
    path: &str,
    file_text: &str,
) -> Lowered {
    let mut problems = Vec::new();
    let search = d.search.as_str();
    let pos_of = |offset: usize| {
        d.search_pos(file_text, offset)
            .unwrap_or(Pos { line: 1, col: 1 })
    };
    let expansion = match macros::expand(search, table) {
        Ok(e) => Some(e),
        Err(e) => {
            problems.push(Diagnostic::new(
                path,
                pos_of(e.span().start),
                Severity::Warning,
                format!("macros not expanded: {e}"),
            ));
            None
        }
    };
    let mut stages = Vec::new();
    let mut datamodels: Vec<String> = Vec::new();
    for seg in pipe_segments(search) {
        let original = seg.with_pipe(search);
        let seg_text = &search[seg.span.clone()];
        let expanded = match &expansion {
            Some(x) => x.expand_range(search, seg.span.clone()),
            None => seg_text.to_string(),
        };
        let mut text = original.to_string();
        if expanded != seg_text {
            text.push_str("\n→ ");
            if seg.pipe.is_some() {
                text.push_str("| ");
            }
            text.push_str(&expanded);
        }
        let macro_label = only_macro(seg_text);
        // A segment after a pipe is a command, never an implicit search.
        let to_parse = if seg.pipe.is_some() {
            format!("| {expanded}")
        } else {
            expanded.clone()
        };
        let mut group_by: Vec<String> = Vec::new();
        let (label, expr) = match crate::parse(&to_parse) {
            Ok(p) => {
                let mut exprs: Vec<Expr> = Vec::new();
                for c in &p.commands {
                    if let CommandKind::Stats(s) = &c.kind {
                        for w in &s.by {
                            if !group_by.contains(&w.text) {
                                group_by.push(w.text.clone());
                            }
                        }
                    }
                    if let CommandKind::Stats(s) = &c.kind
                        && let Some(from) = &s.from
                        && !datamodels.contains(&from.text)
                    {
                        datamodels.push(from.text.clone());
                    }
                    exprs.extend(command_expr(c));
                }
                let label = macro_label
                    .clone()
                    .or_else(|| p.commands.first().map(|c| command_name(&c.kind)))
                    .unwrap_or_else(|| "search".into());
                let expr = match exprs.len() {
                    0 => None,
                    1 => exprs.pop(),
                    _ => Some(Expr::And(exprs)),
                };
                (label, expr)
            }
            Err(e) => {
                if macro_label.is_none() {
                    let shift = if seg.pipe.is_some() { 2 } else { 0 };
                    let at = e.offset.saturating_sub(shift).min(expanded.len());
                    let off = if expanded == seg_text {
                        seg.span.start + at
                    } else {
                        seg.span.start
                    };
                    problems.push(Diagnostic::new(
                        path,
                        pos_of(off),
                        Severity::Warning,
                        format!("stage {} does not parse: {e}", stages.len() + 1),
                    ));
                }
                let label = macro_label.unwrap_or_else(|| {
                    seg_text
                        .split_whitespace()
                        .next()
                        .unwrap_or("search")
                        .to_ascii_lowercase()
                });
                (label, None)
            }
        };
        let mut stage = Stage::new(label, text, expr);
        stage.group_by = group_by;
        stages.push(stage);
    }
    let rule = Rule {
        key: key.to_string(),
        source: source.to_string(),
        format: ir::Format::Splunk,
        language: "spl".into(),
        kind: RuleKind::Detection,
        meta: meta(d, &datamodels),
        attack: d.tags.mitre_attack_id.clone(),
        text: file_text.to_string(),
        path: path.to_string(),
        pos: Pos { line: 1, col: 1 },
        logic: Logic { stages },
        links: Vec::new(),
    };
    Lowered { rule, problems }
}

fn meta(d: &Detection, datamodels: &[String]) -> Meta {
    let mut m = Meta {
        title: d.name.clone(),
        id: Some(d.id.clone()),
        description: d.description.clone().unwrap_or_default(),
        status: d.status.clone(),
        authors: d.author.iter().cloned().collect(),
        date: d.creation_date.clone().or_else(|| d.date.clone()),
        modified: d.modification_date.clone(),
        references: d.references.clone(),
        false_positives: d.known_false_positives.iter().cloned().collect(),
        ..Meta::default()
    };
    for s in &d.data_source {
        m.data_sources.push(("data_source".into(), s.clone()));
    }
    for s in d
        .datamodel
        .iter()
        .map(String::as_str)
        .chain(datamodels.iter().map(String::as_str))
    {
        let pair = ("datamodel".to_string(), s.to_string());
        if !m.data_sources.contains(&pair) {
            m.data_sources.push(pair);
        }
    }
    let t = &d.tags;
    m.tags.extend(
        t.analytic_story
            .iter()
            .map(|s| format!("analytic_story:{s}")),
    );
    m.tags
        .extend(t.asset_type.iter().map(|s| format!("asset_type:{s}")));
    m.tags.extend(
        t.security_domain
            .iter()
            .map(|s| format!("security_domain:{s}")),
    );
    m.tags
        .extend(t.product.iter().map(|s| format!("product:{s}")));
    m.tags.extend(t.cve.iter().map(|s| format!("cve:{s}")));
    if let Some(k) = &d.kind {
        m.custom.insert("type".into(), k.clone());
    }
    if let Some(v) = d.version {
        m.custom.insert("version".into(), v.to_string());
    }
    // Risk as the detection states it: `tags:` (older layout) or the highest score of its
    // risk objects (`rba:`) or finding entities (`finding:`).
    let scored = d
        .rba
        .iter()
        .flat_map(|r| &r.risk_objects)
        .chain(d.finding.iter().flat_map(|f| &f.entities))
        .filter_map(|o| o.score)
        .max();
    for (k, v) in [
        ("risk_score", t.risk_score.or(scored)),
        ("confidence", t.confidence),
        ("impact", t.impact),
    ] {
        if let Some(v) = v {
            m.custom.insert(k.into(), v.to_string());
        }
    }
    if let Some(h) = &d.how_to_implement {
        m.custom.insert("how_to_implement".into(), h.clone());
    }
    m
}

/// `` `name(a, b)` `` alone (the whole segment) → `name(a, b)`.
fn only_macro(seg: &str) -> Option<String> {
    let (calls, _) = macros::find_calls(seg);
    match calls.as_slice() {
        [c] if c.span == (0..seg.len()) => {
            let inner = &seg[1..seg.len() - 1];
            Some(inner.trim().to_string())
        }
        _ => None,
    }
}

fn command_name(k: &CommandKind) -> String {
    match k {
        CommandKind::Search { .. } => "search".into(),
        CommandKind::Where(_) => "where".into(),
        CommandKind::Eval(_) => "eval".into(),
        CommandKind::Stats(s) => s.kind.name().into(),
        CommandKind::From { .. } => "from".into(),
        CommandKind::Datamodel(_) => "datamodel".into(),
        CommandKind::Rename(_) => "rename".into(),
        CommandKind::Rex { .. } => "rex".into(),
        CommandKind::Regex { .. } => "regex".into(),
        CommandKind::Lookup(_) => "lookup".into(),
        CommandKind::Inputlookup { .. } => "inputlookup".into(),
        CommandKind::Join { .. } => "join".into(),
        CommandKind::Append { .. } => "append".into(),
        CommandKind::Sort { .. } => "sort".into(),
        CommandKind::Convert { .. } => "convert".into(),
        CommandKind::Fields(f) => f.name.clone(),
        CommandKind::Macro { call, .. } => call.name.clone(),
        CommandKind::Generic { name, .. } => name.to_ascii_lowercase(),
    }
}

/// What a command matches, if it filters events.
fn command_expr(c: &Command) -> Option<Expr> {
    match &c.kind {
        CommandKind::Search { expr, .. } => expr.as_ref().and_then(search_expr),
        CommandKind::Where(e) => where_expr(e),
        CommandKind::Stats(s) => s.filter.as_ref().and_then(search_expr),
        CommandKind::Inputlookup { filter, .. } => filter.as_ref().and_then(search_expr),
        CommandKind::Regex {
            field,
            negated,
            regex,
        } => {
            let p = Expr::Pred(Predicate {
                field: Some(field.as_ref().map_or("_raw".into(), |f| f.text.clone())),
                kind: Kind::Regex,
                values: vec![regex.text.clone()],
                case_sensitive: true,
                transforms: vec![],
            });
            Some(if *negated { Expr::Not(Box::new(p)) } else { p })
        }
        _ => None,
    }
}

fn pred(field: Option<&str>, kind: Kind, values: Vec<String>, case_sensitive: bool) -> Expr {
    Expr::Pred(Predicate {
        field: field.map(str::to_string),
        kind,
        values,
        case_sensitive,
        transforms: vec![],
    })
}

fn cmp_kind(op: CmpOp) -> (Kind, bool) {
    match op {
        CmpOp::Eq | CmpOp::EqEq => (Kind::Eq, false),
        CmpOp::Neq => (Kind::Eq, true),
        CmpOp::Lt => (Kind::Lt, false),
        CmpOp::Le => (Kind::Lte, false),
        CmpOp::Gt => (Kind::Gt, false),
        CmpOp::Ge => (Kind::Gte, false),
    }
}

fn join(items: Vec<Expr>, and: bool) -> Option<Expr> {
    match items.len() {
        0 => None,
        1 => items.into_iter().next(),
        _ if and => Some(Expr::And(items)),
        _ => Some(Expr::Or(items)),
    }
}

/// The predicates of a search-language expression (see the module notes).
pub fn search_expr(e: &SearchExpr) -> Option<Expr> {
    match &e.kind {
        SearchKind::And(v) => join(v.iter().filter_map(search_expr).collect(), true),
        SearchKind::Or(v) => join(v.iter().filter_map(search_expr).collect(), false),
        SearchKind::Not(x) => search_expr(x).map(|x| Expr::Not(Box::new(x))),
        SearchKind::Compare { field, op, value } => {
            let (kind, negated) = cmp_kind(*op);
            let p = pred(Some(&field.text), kind, vec![value.text.clone()], false);
            Some(if negated { Expr::Not(Box::new(p)) } else { p })
        }
        SearchKind::In { field, values } => {
            let values: Vec<String> = values
                .iter()
                .filter_map(|v| match &v.kind {
                    SearchKind::Term(w) => Some(w.text.clone()),
                    _ => None,
                })
                .collect();
            (!values.is_empty()).then(|| pred(Some(&field.text), Kind::Eq, values, false))
        }
        SearchKind::Term(w) | SearchKind::TermFn(w) => {
            Some(pred(None, Kind::Keyword, vec![w.text.clone()], false))
        }
        SearchKind::CaseFn(w) => Some(pred(None, Kind::Keyword, vec![w.text.clone()], true)),
        SearchKind::Macro(_) | SearchKind::Subsearch(_) => None,
    }
}

fn field_name(e: &SplExpr) -> Option<&str> {
    match &e.kind {
        ExprKind::Field(f) => Some(&f.name),
        _ => None,
    }
}

fn literal(e: &SplExpr) -> Option<String> {
    match &e.kind {
        ExprKind::Str(s) | ExprKind::Num(s) => Some(s.clone()),
        ExprKind::Neg(x) => match &x.kind {
            ExprKind::Num(n) => Some(format!("-{n}")),
            _ => None,
        },
        _ => None,
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        o => o,
    }
}

/// A SQL LIKE pattern as an anchored regex: `%` → `.*`, `_` → `.`, the rest escaped.
pub fn like_to_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    for c in pattern.chars() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            c if "\\.+*?()|[]{}^$".contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('$');
    out
}

fn like(field: &SplExpr, pattern: &SplExpr) -> Option<Expr> {
    let f = field_name(field)?;
    let p = literal(pattern)?;
    Some(pred(Some(f), Kind::Regex, vec![like_to_regex(&p)], false))
}

/// The predicates of a `where`/`eval` expression (see the module notes).
pub fn where_expr(e: &SplExpr) -> Option<Expr> {
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs } => match op {
            BinOp::And => join(
                [lhs, rhs].iter().filter_map(|x| where_expr(x)).collect(),
                true,
            ),
            BinOp::Or => join(
                [lhs, rhs].iter().filter_map(|x| where_expr(x)).collect(),
                false,
            ),
            BinOp::Like => like(lhs, rhs),
            BinOp::Cmp(op) => {
                let (field, value, op) = match (field_name(lhs), field_name(rhs)) {
                    (Some(a), Some(b)) => {
                        if matches!(op, CmpOp::Eq | CmpOp::EqEq | CmpOp::Neq) {
                            let p = pred(Some(a), Kind::Fieldref, vec![b.to_string()], true);
                            return Some(if *op == CmpOp::Neq {
                                Expr::Not(Box::new(p))
                            } else {
                                p
                            });
                        }
                        return None;
                    }
                    (Some(a), None) => (a, literal(rhs)?, *op),
                    (None, Some(b)) => (b, literal(lhs)?, flip(*op)),
                    (None, None) => return None,
                };
                let (kind, negated) = cmp_kind(op);
                let p = pred(Some(field), kind, vec![value], true);
                Some(if negated { Expr::Not(Box::new(p)) } else { p })
            }
            _ => None,
        },
        ExprKind::Not(x) => where_expr(x).map(|x| Expr::Not(Box::new(x))),
        ExprKind::In { expr, list } => {
            let f = field_name(expr)?;
            let values: Vec<String> = list.iter().filter_map(literal).collect();
            (!values.is_empty()).then(|| pred(Some(f), Kind::Eq, values, true))
        }
        ExprKind::Call { name, args } => match (name.to_ascii_lowercase().as_str(), &args[..]) {
            ("like", [f, p]) => like(f, p),
            ("match", [f, re]) => Some(pred(
                Some(field_name(f)?),
                Kind::Regex,
                vec![literal(re)?],
                true,
            )),
            ("isnull", [f]) => Some(pred(Some(field_name(f)?), Kind::Null, vec![], true)),
            ("isnotnull", [f]) => Some(pred(Some(field_name(f)?), Kind::Exists, vec![], true)),
            ("cidrmatch", [c, f]) => Some(pred(
                Some(field_name(f)?),
                Kind::Cidr,
                vec![literal(c)?],
                true,
            )),
            ("searchmatch", [s]) => {
                let text = literal(s)?;
                let parsed = crate::parser::parse_search_expr(&text).ok()??;
                search_expr(&parsed)
            }
            _ => None,
        },
        _ => None,
    }
}
