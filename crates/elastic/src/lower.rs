//! Lowering Elastic queries (kuery, EQL, ES|QL) and detection-rules [`Document`]s into
//! [`ir::Rule`]s.
//!
//! # Decisions
//!
//! - **Stages**: a kuery query is one stage (label `kuery`). An EQL event query is one stage
//!   labelled `<category> where`; a `sequence`, `sample` or `join` is one stage per member
//!   (`sequence [1]`, `sequence [2]`, …) whose `group_by` holds the join keys (the shared
//!   `by` keys, then the member's own); a missing event (`![…]`) and `until […]` are stages of
//!   their own whose expression is the `Not` of the member's (the sequence is dropped when such
//!   an event is seen), so they read as exclusions; each pipe (`| head`, `| filter`, …) is a
//!   stage. ES|QL is one stage per command (`from`, `where`, `eval`, `stats`, …), `stats … by`
//!   filling `group_by`; `from`'s index patterns are data sources. Stages do not refer to
//!   each other: each is a root for the exclusion and indicator passes.
//! - **Predicates** carry the ECS field names as written (`?` of optional EQL fields dropped).
//!   Values are kept as written, wildcards included (`*.exe` stays `eq "*.exe"`: the catalog's
//!   corpus counts read `*x*` as `contains`).
//!   - kuery: `f: v` is `eq`; `f: (a or b)` one `eq` with both values, `and`/`not` inside the
//!     list as `And`/`Not`; `f: *` is `exists`; `f < v`… `lt`…; `f: { … }` prefixes the
//!     inner fields with `f.`; a value without field is a `keyword`. Kibana matches keyword
//!     fields exactly, case included (Elastic's KQL reference), so predicates are
//!     case-sensitive, except on `.caseless` fields (a lower-casing normaliser). On analysed
//!     text fields (`*.text`, and those of `data/elastic/text_fields.txt`: `message`,
//!     `powershell.file.script_block_text`, …) a value is a phrase of whole words anywhere in
//!     the text: `contains`, not case-sensitive, noted [`PHRASE_NOTE`] (a wildcard value
//!     there: `eq` with the pattern, noted [`TEXT_WILDCARD_NOTE`]). A quoted value's `*` is a
//!     character, not a wildcard: noted [`LITERAL_STAR_NOTE`].
//!   - EQL: `==` is `eq` case-sensitive, `:` `eq` not case-sensitive; `like`/`like~` `eq` with
//!     the wildcard pattern, `regex`/`regex~` `regex`, `in`/`in~` one `eq` with all values (the
//!     `~` forms not case-sensitive); `wildcard(f, …)` `eq` with the patterns;
//!     `stringContains`, `startsWith`, `endsWith` `contains`, `starts_with`, `ends_with`;
//!     `cidrMatch` `cidr`; `f != null` `exists`, `f == null` `null`; `<`… with a literal
//!     `lt`…; two fields compared `fieldref`. Functions are case-sensitive unless written with
//!     `~`. `descendant of [q]`, `child of [q]`, `event of [q]` add the inner query's
//!     predicates.
//!   - ES|QL: `==` (case-sensitive; not when the field is wrapped in `TO_LOWER`/`TO_UPPER`),
//!     `LIKE` (`eq` with the pattern), `RLIKE` (`regex`), `IN`, `IS NULL`/`IS NOT NULL`,
//!     `STARTS_WITH`, `ENDS_WITH`, `CIDR_MATCH`, `f : "text"` (`eq`, noted `match: full-text`),
//!     comparisons with literals.
//!   - `not`, `!=`, `not in`, `NOT LIKE` are `Not`, so [`ir::exclusions`] lists them. Anything
//!     else (arithmetic, other functions, computed values) gives no predicate: it is left out
//!     of a required `and` and of an `or`, but a negated `and` holding such a part gives no
//!     predicate at all (`not (A and ?)` does not exclude every `A`).
//! - **Rule types** ([`document_rules`]): a threshold rule adds a `threshold` stage grouped by
//!   its fields; a machine-learning rule is one `machine_learning` stage naming its jobs (no
//!   query, no problem); `[[rule.filters]]` are `filter` stages showing the JSON, with the
//!   simple shapes as predicates (`negate` as `Not`, disabled filters without expression;
//!   wildcard values with the query's escapes resolved, `match_phrase` on a text field a
//!   phrase); a threat-match rule's indicator query is a `threat query` stage shown, parsed, but without
//!   predicates (it selects indicator documents, not events).
//! - A query that does not parse is an **error** at its position in the file (the query's line
//!   in the TOML plus the parser's line and column); the rule is still listed, its query as a
//!   stage without expression. A `lucene` query is shown as text with a warning (no parser);
//!   an osquery `SELECT` of a hunting file is shown as text (label `osquery`).
//! - Keys: `source/rel`, and for the N-th query of a hunting file (N ≥ 2) `source/rel#N`.

use crate::rule::{Document, Filter, QueryText, Shape, threshold_text};
use crate::span::{ParseError, Span};
use crate::{eql, esql, kuery};
use ir::{
    Diagnostic, Expr, Kind, Logic, Part, Pattern, Pos, Predicate, Rule, RuleKind, Severity, Stage,
    Syntax, Value,
};

/// The rules of one file and the problems found while making them.
#[derive(Debug, Clone, Default)]
pub struct Lowered {
    pub rules: Vec<Rule>,
    pub problems: Vec<Diagnostic>,
}

/// One query lowered: its stages, and the index patterns it reads (ES|QL `FROM`).
#[derive(Debug, Clone, Default)]
pub struct LoweredQuery {
    pub stages: Vec<Stage>,
    pub indices: Vec<String>,
    /// Attributes of the query worth showing (`maxspan` of a sequence).
    pub custom: Vec<(String, String)>,
}

/// Parse and lower `text` in `language` (`kuery`, `eql`, `esql`). `None` for a language
/// without a parser.
pub fn lower_query(language: &str, text: &str) -> Option<Result<LoweredQuery, ParseError>> {
    Some(match language {
        "kuery" => kuery::parse(text).map(|q| lower_kuery(&q, text)),
        "eql" => eql::parse(text).map(|q| lower_eql(&q, text)),
        "esql" => esql::parse(text).map(|q| lower_esql(&q, text)),
        _ => return None,
    })
}

/// The display name of a query language in problems.
fn language_name(language: &str) -> &str {
    match language {
        "kuery" => "kuery",
        "eql" => "EQL",
        "esql" => "ES|QL",
        other => other,
    }
}

/// The rules of `doc` (read from the file shown as `path`), in source `source` whose
/// relative path is `rel`.
pub fn document_rules(doc: &Document, source: &str, rel: &str, path: &str) -> Lowered {
    let mut out = Lowered {
        problems: doc.problems.clone(),
        ..Lowered::default()
    };
    match doc.shape {
        Shape::Rule => {
            let rule = rule_of(doc, source, rel, path, &mut out.problems);
            out.rules.push(rule);
        }
        Shape::Hunt => {
            let several = doc.queries.len() > 1;
            for (i, q) in doc.queries.iter().enumerate() {
                let key = if i == 0 {
                    format!("{source}/{rel}")
                } else {
                    format!("{source}/{rel}#{}", i + 1)
                };
                let mut meta = doc.meta.clone();
                if several {
                    meta.title = format!("{} (query {})", meta.title, i + 1);
                }
                let (stages, language) = query_stages(q, path, &mut out.problems, &mut meta);
                out.rules.push(Rule {
                    key,
                    source: source.to_string(),
                    format: ir::Format::Elastic,
                    language,
                    kind: RuleKind::Detection,
                    meta,
                    attack: doc.attack.clone(),
                    text: q.text.clone(),
                    path: path.to_string(),
                    pos: Pos {
                        line: q.line,
                        col: 1,
                    },
                    logic: Logic { stages },
                    links: Vec::new(),
                });
            }
        }
    }
    out
}

/// The stages of one query and the rule language; adds the query's index patterns and
/// attributes to `meta`, its problems to `problems`.
fn query_stages(
    q: &QueryText,
    path: &str,
    problems: &mut Vec<Diagnostic>,
    meta: &mut ir::Meta,
) -> (Vec<Stage>, String) {
    let at = Pos {
        line: q.line,
        col: q.col,
    };
    let raw = |label: &str| vec![Stage::new(label, q.text.trim(), None)];
    match q.language.as_str() {
        "sql" => (raw("osquery"), "sql".into()),
        "lucene" => {
            problems.push(Diagnostic::new(
                path,
                at,
                Severity::Warning,
                "lucene query not analysed (detdex has no Lucene parser): shown as text",
            ));
            (raw("lucene"), "lucene".into())
        }
        lang => match lower_query(lang, &q.text) {
            Some(Ok(l)) => {
                for i in l.indices {
                    let pair = ("index".to_string(), i);
                    if !meta.data_sources.contains(&pair) {
                        meta.data_sources.push(pair);
                    }
                }
                for (k, v) in l.custom {
                    meta.custom.insert(k, v);
                }
                (l.stages, lang.to_string())
            }
            Some(Err(e)) => {
                problems.push(Diagnostic::new(
                    path,
                    q.file_pos(e.line, e.col),
                    Severity::Error,
                    format!(
                        "{} query does not parse: {}",
                        language_name(lang),
                        e.message
                    ),
                ));
                (raw(lang), lang.to_string())
            }
            None => {
                problems.push(Diagnostic::new(
                    path,
                    at,
                    Severity::Warning,
                    format!("query language `{lang}` not known: shown as text"),
                ));
                let label = if lang.is_empty() { "query" } else { lang };
                (raw(label), lang.to_string())
            }
        },
    }
}

fn rule_of(
    doc: &Document,
    source: &str,
    rel: &str,
    path: &str,
    problems: &mut Vec<Diagnostic>,
) -> Rule {
    let mut meta = doc.meta.clone();
    let mut stages = Vec::new();
    let mut language = String::new();
    let mut text = String::new();
    let mut pos = doc.pos;
    if let Some(q) = doc.queries.first() {
        let (s, l) = query_stages(q, path, problems, &mut meta);
        stages = s;
        language = l;
        text = q.text.clone();
        pos = Pos {
            line: q.line,
            col: 1,
        };
    }
    if doc.rule_type == "machine_learning" || (doc.queries.is_empty() && !doc.ml_jobs.is_empty()) {
        let jobs = doc.ml_jobs.join(", ");
        let mut t = format!("machine learning job: {jobs}");
        if let Some(a) = meta.custom.get("anomaly_threshold") {
            t.push_str(&format!("\nanomaly score >= {a}"));
        }
        stages.push(Stage::new("machine_learning", t.clone(), None));
        if language.is_empty() {
            language = "ml".into();
            text = t;
        }
    }
    for f in &doc.filters {
        stages.push(filter_stage(f));
    }
    if let Some(t) = &doc.threshold {
        let mut s = Stage::new("threshold", threshold_text(t), None);
        s.group_by = t.fields.clone();
        stages.push(s);
    }
    if let Some(q) = &doc.threat_query {
        let mut s = Stage::new("threat query", q.text.trim(), None);
        if let Some(Err(e)) = lower_query(&q.language, &q.text) {
            problems.push(Diagnostic::new(
                path,
                q.file_pos(e.line, e.col),
                Severity::Error,
                format!(
                    "threat {} query does not parse: {}",
                    language_name(&q.language),
                    e.message
                ),
            ));
        }
        s.label = "threat query".into();
        stages.push(s);
    }
    Rule {
        key: format!("{source}/{rel}"),
        source: source.to_string(),
        format: ir::Format::Elastic,
        language,
        kind: RuleKind::Detection,
        meta,
        attack: doc.attack.clone(),
        text,
        path: path.to_string(),
        pos,
        logic: Logic { stages },
        links: Vec::new(),
    }
}

fn filter_stage(f: &Filter) -> Stage {
    let expr = if f.disabled {
        None
    } else {
        f.test.as_ref().map(|t| {
            let p = if t.phrase && is_text_field(&t.field) {
                let words = t.values.iter().map(|v| v.written.clone()).collect();
                noted(
                    pred(&t.field, Kind::Contains, words, false, Syntax::Literal),
                    PHRASE_NOTE,
                )
            } else {
                pred_of(&t.field, t.kind, t.values.clone(), t.case_sensitive)
            };
            if f.negate { not(p) } else { p }
        })
    };
    let label = if f.disabled {
        "filter (disabled)"
    } else {
        "filter"
    };
    Stage::new(label, f.json.clone(), expr)
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A test of `field` whose values are written in `syntax` (see [`ir::value`]).
fn pred(field: &str, kind: Kind, values: Vec<String>, cs: bool, syntax: Syntax) -> Expr {
    let values = values
        .into_iter()
        .map(|v| Value::new(kind, v, syntax))
        .collect();
    pred_of(field, kind, values, cs)
}

/// A test of `field` whose values the reader has read already.
fn pred_of(field: &str, kind: Kind, values: Vec<Value>, cs: bool) -> Expr {
    Expr::Pred(Predicate {
        field: Some(field.to_string()),
        kind,
        values,
        case_sensitive: cs,
        transforms: Vec::new(),
    })
}

fn not(e: Expr) -> Expr {
    match e {
        Expr::Not(inner) => *inner,
        e => Expr::Not(Box::new(e)),
    }
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

/// Merge the one-value-or-more `eq`-like predicates of an `Or` on the same field, kind and case
/// into one predicate with all the values.
fn merge_or(parts: Vec<Expr>) -> Vec<Expr> {
    let mut out: Vec<Expr> = Vec::new();
    for p in parts {
        if let Expr::Pred(ref new) = p
            && !matches!(new.kind, Kind::Exists | Kind::Null)
            && let Some(Expr::Pred(old)) = out.iter_mut().find(|e| {
                matches!(e, Expr::Pred(o) if o.field == new.field && o.kind == new.kind
                    && o.case_sensitive == new.case_sensitive && o.transforms == new.transforms)
            })
        {
            for v in &new.values {
                if !old.values.contains(v) {
                    old.values.push(v.clone());
                }
            }
            continue;
        }
        out.push(p);
    }
    out
}

fn src(text: &str, span: Span) -> &str {
    text.get(span.start..span.end).unwrap_or("").trim()
}

// ---------------------------------------------------------------------------------------------
// kuery

/// A kuery query: one stage.
pub fn lower_kuery(q: &kuery::Query, text: &str) -> LoweredQuery {
    let expr = q.expr.as_ref().and_then(|e| kuery_expr(e, ""));
    LoweredQuery {
        stages: vec![Stage::new("kuery", text.trim(), expr)],
        ..LoweredQuery::default()
    }
}

/// Kibana matches keyword fields exactly; `.caseless` (lower-casing normaliser) and `.text`
/// (analysed) fields are not case-sensitive.
fn kuery_case_sensitive(field: &str) -> bool {
    !(field.ends_with(".caseless") || is_text_field(field))
}

/// The fields mapped as analysed text (`data/elastic/text_fields.txt`, and any `*.text`).
const TEXT_FIELDS: &str = include_str!("../../../data/elastic/text_fields.txt");

/// Is `field` analysed text: matched as words, not as one exact value?
pub fn is_text_field(field: &str) -> bool {
    field.ends_with(".text")
        || TEXT_FIELDS
            .lines()
            .map(str::trim)
            .any(|l| !l.starts_with('#') && l == field)
}

/// The note on a value matched against an analysed text field: a phrase of whole words,
/// anywhere in the text, not case-sensitive (`contains` with this note).
pub const PHRASE_NOTE: &str = "phrase: whole words";

/// The note on a wildcard value matched against an analysed text field: the pattern applies to
/// each word of the text.
pub const TEXT_WILDCARD_NOTE: &str = "text field: wildcards match single words";

/// The note on a quoted kuery value holding `*`: the asterisk is a character, not a wildcard.
pub const LITERAL_STAR_NOTE: &str = "quoted: * is literal";

fn noted(mut e: Expr, note: &str) -> Expr {
    if let Expr::Pred(p) = &mut e {
        p.transforms.push(note.to_string());
    }
    e
}

fn kuery_expr(e: &kuery::Expr, prefix: &str) -> Option<Expr> {
    use kuery::ExprKind as K;
    match &e.kind {
        K::Or(v) => or(merge_or(
            v.iter().filter_map(|e| kuery_expr(e, prefix)).collect(),
        )),
        K::And(v) => and(v.iter().filter_map(|e| kuery_expr(e, prefix)).collect()),
        K::Not(e) => kuery_expr(e, prefix).map(not),
        K::Match { field, values } => {
            let f = format!("{prefix}{}", field.text());
            kuery_values(&f, values)
        }
        K::Range { field, op, value } => {
            let f = format!("{prefix}{}", field.text());
            let kind = match op {
                kuery::RangeOp::Lt => Kind::Lt,
                kuery::RangeOp::Le => Kind::Lte,
                kuery::RangeOp::Gt => Kind::Gt,
                kuery::RangeOp::Ge => Kind::Gte,
            };
            let cs = kuery_case_sensitive(&f);
            Some(pred(&f, kind, vec![value.text()], cs, Syntax::Literal))
        }
        K::Nested { field, query } => {
            let p = format!("{prefix}{}.", field.text());
            kuery_expr(query, &p)
        }
        K::Value(l) => Some(Expr::Pred(Predicate {
            field: None,
            kind: Kind::Keyword,
            values: vec![Value::of_pattern(Kind::Keyword, l.text(), kuery_pattern(l))],
            case_sensitive: false,
            transforms: Vec::new(),
        })),
    }
}

/// One kuery value tested on `field`: on a text field a phrase (`contains`, whole words, not
/// case-sensitive) or a per-word wildcard pattern; elsewhere `eq`, the `*` of a quoted value
/// (or an escaped `\*`) being a character, noted as such.
fn kuery_value(field: &str, l: &kuery::Literal) -> Expr {
    let value = |kind| vec![Value::of_pattern(kind, l.text(), kuery_pattern(l))];
    if is_text_field(field) {
        return if l.has_wildcard() {
            noted(
                pred_of(field, Kind::Eq, value(Kind::Eq), false),
                TEXT_WILDCARD_NOTE,
            )
        } else {
            noted(
                pred_of(field, Kind::Contains, value(Kind::Contains), false),
                PHRASE_NOTE,
            )
        };
    }
    let p = pred_of(
        field,
        Kind::Eq,
        value(Kind::Eq),
        kuery_case_sensitive(field),
    );
    let literal_star = l
        .parts
        .iter()
        .any(|p| matches!(p, kuery::Part::Text(t) if t.contains('*')));
    if literal_star {
        noted(p, LITERAL_STAR_NOTE)
    } else {
        p
    }
}

/// A kuery literal's pattern: its unescaped `*`s are wildcards, everything else (a quoted
/// value, an escaped `\*`) is text.
fn kuery_pattern(l: &kuery::Literal) -> Pattern {
    Pattern::new(l.parts.iter().map(|p| match p {
        kuery::Part::Text(t) => Part::Lit(t.clone()),
        kuery::Part::Wildcard => Part::AnyMulti,
    }))
}

fn kuery_values(field: &str, v: &kuery::ValueExpr) -> Option<Expr> {
    use kuery::ValueKind as V;
    match &v.kind {
        V::Value(l) if l.is_wildcard_only() => {
            Some(pred(field, Kind::Exists, vec![], false, Syntax::Literal))
        }
        V::Value(l) => Some(kuery_value(field, l)),
        V::Or(vs) => or(merge_or(
            vs.iter().filter_map(|v| kuery_values(field, v)).collect(),
        )),
        V::And(vs) => and(vs.iter().filter_map(|v| kuery_values(field, v)).collect()),
        V::Not(v) => kuery_values(field, v).map(not),
    }
}

// ---------------------------------------------------------------------------------------------
// EQL

/// An EQL query: the event query or one stage per sequence member, then the pipes.
pub fn lower_eql(q: &eql::Query, text: &str) -> LoweredQuery {
    let mut out = LoweredQuery::default();
    match &q.body {
        eql::Body::Event(ev) => {
            out.stages.push(Stage::new(
                format!("{} where", ev.category),
                src(text, ev.span),
                eql_expr(&ev.condition, false),
            ));
        }
        eql::Body::Multi(m) => {
            let kind = m.kind.as_str();
            let shared: Vec<String> = m.by.iter().map(|e| eql_key(e, text)).collect();
            if let Some(t) = &m.maxspan {
                out.custom.push((
                    format!("{kind} maxspan"),
                    format!("{}{}", t.value, t.unit.as_deref().unwrap_or("")),
                ));
            }
            for (i, t) in m.terms.iter().enumerate() {
                let mut label = format!("{kind} [{}]", i + 1);
                if let Some(r) = t.runs {
                    label.push_str(&format!(" (runs={r})"));
                }
                let mut expr = eql_expr(&t.query.condition, t.missing);
                if t.missing {
                    label.push_str(" (missing)");
                    expr = expr.map(not);
                }
                let mut s = Stage::new(label, src(text, t.span), expr);
                s.group_by = shared.clone();
                for k in &t.by {
                    let k = eql_key(k, text);
                    if !s.group_by.contains(&k) {
                        s.group_by.push(k);
                    }
                }
                out.stages.push(s);
            }
            if let Some(u) = &m.until {
                let expr = eql_expr(&u.query.condition, true).map(not);
                out.stages
                    .push(Stage::new("until", src(text, u.span), expr));
            }
        }
    }
    for p in &q.pipes {
        let expr = if p.name.eq_ignore_ascii_case("filter") {
            and(p.args.iter().filter_map(|a| eql_expr(a, false)).collect())
        } else {
            None
        };
        let mut s = Stage::new(
            p.name.to_ascii_lowercase(),
            format!("| {}", src(text, p.span).trim_start_matches('|').trim()),
            expr,
        );
        if p.name.eq_ignore_ascii_case("unique") || p.name.eq_ignore_ascii_case("unique_count") {
            s.group_by = p.args.iter().map(|a| eql_key(a, text)).collect();
        }
        out.stages.push(s);
    }
    out
}

/// A join key: the field name, or the expression as written.
fn eql_key(e: &eql::Expr, text: &str) -> String {
    match &e.kind {
        eql::ExprKind::Field(f) => f.name(),
        _ => src(text, e.span).to_string(),
    }
}

/// A literal as a value.
fn eql_literal(e: &eql::Expr) -> Option<String> {
    match &e.kind {
        eql::ExprKind::Str(s) => Some(s.clone()),
        eql::ExprKind::Number(n) => Some(n.clone()),
        eql::ExprKind::Bool(b) => Some(b.to_string()),
        eql::ExprKind::Neg(inner) => match &inner.kind {
            eql::ExprKind::Number(n) => Some(format!("-{n}")),
            _ => None,
        },
        _ => None,
    }
}

fn eql_field(e: &eql::Expr) -> Option<String> {
    match &e.kind {
        eql::ExprKind::Field(f) => Some(f.name()),
        _ => None,
    }
}

/// The parts of an `and` read under `neg` negations: a part without predicate is left out of
/// a required `and` (the rule matches at least what the rest says), but a negated `and` with
/// such a part gives nothing (`not (A and ?)` does not exclude every `A`).
fn and_parts(parts: Vec<Option<Expr>>, neg: bool) -> Option<Expr> {
    if neg && parts.iter().any(Option::is_none) {
        return None;
    }
    and(parts.into_iter().flatten().collect())
}

/// The predicates of an EQL condition under `neg` negations.
fn eql_expr(e: &eql::Expr, neg: bool) -> Option<Expr> {
    use eql::ExprKind as K;
    match &e.kind {
        K::Or(v) => or(merge_or(
            v.iter().filter_map(|e| eql_expr(e, neg)).collect(),
        )),
        K::And(v) => and_parts(v.iter().map(|e| eql_expr(e, neg)).collect(), neg),
        K::Not(e) => eql_expr(e, !neg).map(not),
        K::Compare { op, left, right } => eql_compare(*op, left, right),
        K::Match {
            left,
            op,
            negated,
            values,
            ..
        } => {
            let field = eql_field(left)?;
            let values: Vec<String> = values.iter().filter_map(eql_literal).collect();
            if values.is_empty() {
                return None;
            }
            use eql::MatchOp as M;
            // `:` and `like` take `*` and `?` wildcards; `in` compares literally.
            let (kind, cs, syntax) = match op {
                M::Seq => (Kind::Eq, false, Syntax::EQL),
                M::Like => (Kind::Eq, true, Syntax::EQL),
                M::LikeI => (Kind::Eq, false, Syntax::EQL),
                M::Regex => (Kind::Regex, true, Syntax::Literal),
                M::RegexI => (Kind::Regex, false, Syntax::Literal),
                M::In => (Kind::Eq, true, Syntax::Literal),
                M::InI => (Kind::Eq, false, Syntax::Literal),
            };
            let p = pred(&field, kind, values, cs, syntax);
            Some(if *negated { not(p) } else { p })
        }
        K::Relationship { query, .. } => eql_expr(&query.condition, neg),
        K::Call {
            name,
            insensitive,
            args,
        } => {
            let kind = match name.to_ascii_lowercase().as_str() {
                "wildcard" => Kind::Eq,
                "stringcontains" => Kind::Contains,
                "startswith" => Kind::StartsWith,
                "endswith" => Kind::EndsWith,
                "cidrmatch" => Kind::Cidr,
                "match" => Kind::Regex,
                _ => return None,
            };
            let (first, rest) = args.split_first()?;
            let field = eql_field(first)?;
            let values: Vec<String> = rest.iter().filter_map(eql_literal).collect();
            if values.is_empty() {
                return None;
            }
            let syntax = if name.eq_ignore_ascii_case("wildcard") {
                Syntax::EQL
            } else {
                Syntax::Literal
            };
            Some(pred(
                &field,
                kind,
                values,
                !insensitive && kind != Kind::Cidr,
                syntax,
            ))
        }
        _ => None,
    }
}

fn flip(op: eql::CmpOp) -> eql::CmpOp {
    use eql::CmpOp as C;
    match op {
        C::Lt => C::Gt,
        C::Le => C::Ge,
        C::Gt => C::Lt,
        C::Ge => C::Le,
        o => o,
    }
}

fn eql_compare(op: eql::CmpOp, left: &eql::Expr, right: &eql::Expr) -> Option<Expr> {
    use eql::CmpOp as C;
    let (field, other, op) = match (eql_field(left), eql_field(right)) {
        (Some(a), Some(b)) => {
            let p = pred(&a, Kind::Fieldref, vec![b], true, Syntax::Literal);
            return match op {
                C::Eq => Some(p),
                C::Neq => Some(not(p)),
                _ => None,
            };
        }
        (Some(f), None) => (f, right, op),
        (None, Some(f)) => (f, left, flip(op)),
        (None, None) => return None,
    };
    if matches!(other.kind, eql::ExprKind::Null) {
        return match op {
            C::Eq => Some(pred(&field, Kind::Null, vec![], false, Syntax::Literal)),
            C::Neq => Some(pred(&field, Kind::Exists, vec![], false, Syntax::Literal)),
            _ => None,
        };
    }
    let v = eql_literal(other)?;
    Some(match op {
        C::Eq => pred(&field, Kind::Eq, vec![v], true, Syntax::Literal),
        C::Neq => not(pred(&field, Kind::Eq, vec![v], true, Syntax::Literal)),
        C::Lt => pred(&field, Kind::Lt, vec![v], true, Syntax::Literal),
        C::Le => pred(&field, Kind::Lte, vec![v], true, Syntax::Literal),
        C::Gt => pred(&field, Kind::Gt, vec![v], true, Syntax::Literal),
        C::Ge => pred(&field, Kind::Gte, vec![v], true, Syntax::Literal),
    })
}

// ---------------------------------------------------------------------------------------------
// ES|QL

/// An ES|QL query: one stage per command.
pub fn lower_esql(q: &esql::Query, text: &str) -> LoweredQuery {
    use esql::CommandKind as C;
    let mut out = LoweredQuery::default();
    for (i, c) in q.commands.iter().enumerate() {
        let body = src(text, c.span);
        let stage_text = if i == 0 {
            body.to_string()
        } else {
            format!("| {body}")
        };
        let mut group_by = Vec::new();
        let (label, expr): (String, Option<Expr>) = match &c.kind {
            C::From { sources, .. } => {
                for s in sources {
                    if !out.indices.contains(&s.name) {
                        out.indices.push(s.name.clone());
                    }
                }
                ("from".into(), None)
            }
            C::Row(_) => ("row".into(), None),
            C::Show(_) => ("show".into(), None),
            C::Where(e) => ("where".into(), esql_expr(e, false)),
            C::Eval(_) => ("eval".into(), None),
            C::Stats(s) => {
                group_by =
                    s.by.iter()
                        .map(|f| match &f.name {
                            Some(n) => n.name.clone(),
                            None => match &f.value.kind {
                                esql::ExprKind::Field(n) => n.clone(),
                                _ => src(text, f.value.span).to_string(),
                            },
                        })
                        .collect();
                let label = if s.inline { "inline stats" } else { "stats" };
                (label.into(), None)
            }
            C::Keep(_) => ("keep".into(), None),
            C::Drop(_) => ("drop".into(), None),
            C::Rename(_) => ("rename".into(), None),
            C::Sort(_) => ("sort".into(), None),
            C::Limit(_) => ("limit".into(), None),
            C::Dissect { .. } => ("dissect".into(), None),
            C::Grok { .. } => ("grok".into(), None),
            C::Enrich { .. } => ("enrich".into(), None),
            C::MvExpand(_) => ("mv_expand".into(), None),
            C::LookupJoin { index, .. } => {
                if !out.indices.contains(&index.name) {
                    out.indices.push(index.name.clone());
                }
                ("lookup join".into(), None)
            }
            C::Generic { name, .. } => (name.to_ascii_lowercase(), None),
        };
        let mut s = Stage::new(label, stage_text, expr);
        s.group_by = group_by;
        out.stages.push(s);
    }
    out
}

/// A field, possibly wrapped in `TO_LOWER`/`TO_UPPER` (then compared without case).
fn esql_field(e: &esql::Expr) -> Option<(String, bool)> {
    match &e.kind {
        esql::ExprKind::Field(f) => Some((f.clone(), true)),
        esql::ExprKind::Call { name, args } if matches!(name.as_str(), "TO_LOWER" | "TO_UPPER") => {
            match args.as_slice() {
                [a] => esql_field(a).map(|(f, _)| (f, false)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn esql_literal(e: &esql::Expr) -> Option<String> {
    use esql::ExprKind as K;
    match &e.kind {
        K::Str(s) => Some(s.clone()),
        K::Int(n) | K::Decimal(n) => Some(n.clone()),
        K::Bool(b) => Some(b.to_string()),
        K::Neg(inner) => match &inner.kind {
            K::Int(n) | K::Decimal(n) => Some(format!("-{n}")),
            _ => None,
        },
        _ => None,
    }
}

/// The predicates of an ES|QL condition under `neg` negations.
fn esql_expr(e: &esql::Expr, neg: bool) -> Option<Expr> {
    use esql::ExprKind as K;
    match &e.kind {
        K::Or(v) => or(merge_or(
            v.iter().filter_map(|e| esql_expr(e, neg)).collect(),
        )),
        K::And(v) => and_parts(v.iter().map(|e| esql_expr(e, neg)).collect(), neg),
        K::Not(e) => esql_expr(e, !neg).map(not),
        K::Binary { op, lhs, rhs } if op.is_comparison() => esql_compare(*op, lhs, rhs),
        K::In {
            expr,
            list,
            negated,
        } => {
            let (field, cs) = esql_field(expr)?;
            let values: Vec<String> = list.iter().filter_map(esql_literal).collect();
            if values.is_empty() {
                return None;
            }
            let p = pred(&field, Kind::Eq, values, cs, Syntax::Literal);
            Some(if *negated { not(p) } else { p })
        }
        K::IsNull { expr, negated } => {
            let (field, _) = esql_field(expr)?;
            Some(if *negated {
                pred(&field, Kind::Exists, vec![], false, Syntax::Literal)
            } else {
                pred(&field, Kind::Null, vec![], false, Syntax::Literal)
            })
        }
        K::Like {
            expr,
            rlike,
            negated,
            patterns,
            ..
        } => {
            let (field, cs) = esql_field(expr)?;
            let values: Vec<String> = patterns.iter().filter_map(esql_literal).collect();
            if values.is_empty() {
                return None;
            }
            // `LIKE`: `*` and `?`, `\` escaping any character.
            let (kind, syntax) = if *rlike {
                (Kind::Regex, Syntax::Literal)
            } else {
                (Kind::Eq, Syntax::LUCENE)
            };
            let p = pred(&field, kind, values, cs, syntax);
            Some(if *negated { not(p) } else { p })
        }
        K::Match { field, query } => {
            let (field, _) = esql_field(field)?;
            let v = esql_literal(query)?;
            Some(Expr::Pred(Predicate {
                field: Some(field),
                kind: Kind::Eq,
                values: vec![Value::new(Kind::Eq, v, Syntax::Literal)],
                case_sensitive: false,
                transforms: vec!["match: full-text".into()],
            }))
        }
        K::Call { name, args } => {
            let kind = match name.as_str() {
                "STARTS_WITH" => Kind::StartsWith,
                "ENDS_WITH" => Kind::EndsWith,
                "CIDR_MATCH" => Kind::Cidr,
                _ => return None,
            };
            let (first, rest) = args.split_first()?;
            let (field, cs) = esql_field(first)?;
            let values: Vec<String> = rest.iter().filter_map(esql_literal).collect();
            if values.is_empty() {
                return None;
            }
            Some(pred(
                &field,
                kind,
                values,
                cs && kind != Kind::Cidr,
                Syntax::Literal,
            ))
        }
        _ => None,
    }
}

fn esql_compare(op: esql::BinOp, lhs: &esql::Expr, rhs: &esql::Expr) -> Option<Expr> {
    use esql::BinOp as B;
    let flip = |op: B| match op {
        B::Lt => B::Gt,
        B::Le => B::Ge,
        B::Gt => B::Lt,
        B::Ge => B::Le,
        o => o,
    };
    let ((field, cs), other, op) = match (esql_field(lhs), esql_field(rhs)) {
        (Some((a, _)), Some((b, _))) => {
            let p = pred(&a, Kind::Fieldref, vec![b], true, Syntax::Literal);
            return match op {
                B::Eq => Some(p),
                B::Neq => Some(not(p)),
                _ => None,
            };
        }
        (Some(f), None) => (f, rhs, op),
        (None, Some(f)) => (f, lhs, flip(op)),
        (None, None) => return None,
    };
    let v = esql_literal(other)?;
    let kind = match op {
        B::Eq | B::Neq => Kind::Eq,
        B::Lt => Kind::Lt,
        B::Le => Kind::Lte,
        B::Gt => Kind::Gt,
        B::Ge => Kind::Gte,
        _ => return None,
    };
    let p = pred(&field, kind, vec![v], cs, Syntax::Literal);
    Some(if op == B::Neq { not(p) } else { p })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preds(e: &Expr, out: &mut Vec<String>, neg: bool) {
        match e {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| preds(e, out, neg)),
            Expr::Not(e) => preds(e, out, !neg),
            Expr::Pred(p) => out.push(format!(
                "{}{} {} {:?}{}",
                if neg { "not " } else { "" },
                p.field.as_deref().unwrap_or("-"),
                p.kind,
                p.values.iter().map(|v| &v.written).collect::<Vec<_>>(),
                if p.case_sensitive { " cs" } else { "" }
            )),
            Expr::Join { side, .. } => preds(side, out, neg),
            Expr::Stage(_) => {}
        }
    }

    fn stage_preds(s: &Stage) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = &s.expr {
            preds(e, &mut out, false);
        }
        out
    }

    #[test]
    fn kuery_lists_wildcards_exists_nested() {
        let t = "event.category:process and process.name:(a.exe or *b*) and not user.name:root and file.hash:* and x:{ y: 1 } and process.command_line.caseless:*foo*";
        let l = lower_query("kuery", t).unwrap().unwrap();
        assert_eq!(l.stages.len(), 1);
        assert_eq!(l.stages[0].label, "kuery");
        assert_eq!(
            stage_preds(&l.stages[0]),
            [
                "event.category eq [\"process\"] cs",
                "process.name eq [\"a.exe\", \"*b*\"] cs",
                "not user.name eq [\"root\"] cs",
                "file.hash exists []",
                "x.y eq [\"1\"] cs",
                "process.command_line.caseless eq [\"*foo*\"]",
            ]
        );
    }

    #[test]
    fn eql_operators() {
        let t = r#"process where process.name : ("a.exe", "B.exe") and process.args like~ "*x*" and
            not process.parent.name in ("c", "d") and ?process.pe.original_file_name != null and
            stringContains(process.command_line, "-enc") and cidrMatch(source.ip, "10.0.0.0/8") and
            process.pid > 4 and process.executable regex~ """.*\\x\.exe""" and process.name != "z""#;
        let l = lower_query("eql", t).unwrap().unwrap();
        assert_eq!(l.stages[0].label, "process where");
        assert_eq!(
            stage_preds(&l.stages[0]),
            [
                "process.name eq [\"a.exe\", \"B.exe\"]",
                "process.args eq [\"*x*\"]",
                "not process.parent.name eq [\"c\", \"d\"] cs",
                "process.pe.original_file_name exists []",
                "process.command_line contains [\"-enc\"] cs",
                "source.ip cidr [\"10.0.0.0/8\"]",
                "process.pid gt [\"4\"] cs",
                "process.executable regex [\".*\\\\\\\\x\\\\.exe\"]",
                "not process.name eq [\"z\"] cs",
            ]
        );
        let ex = ir::exclusions(&Logic {
            stages: l.stages.clone(),
        });
        assert_eq!(ex.len(), 2, "{ex:?}");
    }

    #[test]
    fn eql_sequence_members_keys_until_and_pipes() {
        let t = r#"sequence by host.id with maxspan=1m
  [process where process.name == "a"] by process.entity_id
  [network where destination.port == 443] by process.entity_id
  ![file where file.name == "skip"]
until [process where event.type == "end"]
| head 5"#;
        let l = lower_query("eql", t).unwrap().unwrap();
        let labels: Vec<&str> = l.stages.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "sequence [1]",
                "sequence [2]",
                "sequence [3] (missing)",
                "until",
                "head"
            ]
        );
        assert_eq!(l.stages[0].group_by, ["host.id", "process.entity_id"]);
        assert_eq!(
            l.stages[0].text,
            r#"[process where process.name == "a"] by process.entity_id"#
        );
        assert_eq!(l.stages[2].group_by, ["host.id"]);
        assert_eq!(l.stages[4].text, "| head 5");
        assert_eq!(
            l.custom,
            [("sequence maxspan".to_string(), "1m".to_string())]
        );
        let ex = ir::exclusions(&Logic {
            stages: l.stages.clone(),
        });
        let fields: Vec<_> = ex
            .iter()
            .flat_map(|x| &x.all)
            .map(|r| r.field.clone().unwrap())
            .collect();
        assert_eq!(fields, ["file.name", "event.type"]);
    }

    #[test]
    fn esql_commands_and_predicates() {
        let t = r#"from logs-endpoint.events.process-*, logs-windows.* metadata _id
| where host.os.type == "windows" and to_lower(process.name) in ("a.exe", "b.exe")
    and process.command_line like "*-enc*" and not process.parent.name rlike ".*x"
    and user.name is not null and @timestamp > now() - 1 day and not starts_with(file.path, "C:")
| eval n = length(process.command_line)
| stats c = count(*) by host.id, user.name
| where c >= 5
| keep host.id"#;
        let l = lower_query("esql", t).unwrap().unwrap();
        let labels: Vec<&str> = l.stages.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["from", "where", "eval", "stats", "where", "keep"]);
        assert_eq!(
            l.indices,
            ["logs-endpoint.events.process-*", "logs-windows.*"]
        );
        assert_eq!(l.stages[3].group_by, ["host.id", "user.name"]);
        assert!(l.stages[3].text.starts_with("| stats c = count(*) by"));
        assert_eq!(
            stage_preds(&l.stages[1]),
            [
                "host.os.type eq [\"windows\"] cs",
                "process.name eq [\"a.exe\", \"b.exe\"]",
                "process.command_line eq [\"*-enc*\"] cs",
                "not process.parent.name regex [\".*x\"] cs",
                "user.name exists []",
                "not file.path starts_with [\"C:\"] cs",
            ]
        );
        assert_eq!(stage_preds(&l.stages[4]), ["c gte [\"5\"] cs"]);
    }

    #[test]
    fn parse_errors_and_unknown_languages() {
        let e = lower_query("eql", "process where (").unwrap().unwrap_err();
        assert_eq!(e.line, 1);
        assert!(lower_query("lucene", "a:b").is_none());
    }
}
