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
//! - Search language: `field=value` is `eq` with the value as Splunk reads it: `\\` and `\"`
//!   unescaped in bare and quoted values alike (`TargetImage=*\\lsass.exe` is
//!   `eq "*\lsass.exe"`), wildcards kept (`Processes.process="*Invoke-Command*"` is
//!   `eq "*Invoke-Command*"`), not case-sensitive; a CIDR value (`dest_ip!=10.0.0.0/8`) is
//!   `cidr`; `!=` is `Not(eq)`; `IN (…)` is one `eq` with several values; `<`, `<=`, `>`, `>=`
//!   are `lt`, `lte`, `gt`, `gte`; a bare or quoted term is a `keyword` (`CASE(x)`:
//!   case-sensitive).
//! - Subsearches: `[search …]` in a search and an inner `join … [search …]` add the
//!   subsearch's predicates (the rows whose values it returns), `NOT [search …]` their `Not`;
//!   `append [search …]` is the `Or` of the stages before and the subsearch. Outer and left
//!   joins filter nothing.
//! - `where`/`eval` language: comparisons of a field with a literal as above but
//!   case-sensitive (as `where` compares); two fields compared by `=`/`==` are `fieldref`;
//!   `lower(f)="x"`/`upper(f)` (and `IN`) a case-insensitive `eq` (never true, so no predicate,
//!   when the value is not in that case); `match(f, re)` is `regex` with the regex as written;
//!   `like(f, p)` and `f LIKE p` are `regex` with the LIKE pattern turned into an anchored
//!   regex (`%` → `.*`, `_` → `.`); `isnull` is `null`, `isnotnull` is `exists`;
//!   `cidrmatch(cidr, f)` is `cidr`; `searchmatch("…")` is read as the search language.
//! - What gives no predicate (arithmetic, other functions, `XOR`, a subsearch without
//!   predicates) is left out only where the reading stays sound (a conjunct of a required
//!   `AND`, an operand of an `OR`; a negated `AND` with such a part is left out whole) and is a
//!   note of its stage (`not analysed: …`) and a warning at its place.
//! - A macro the table does not define (`drop_dm_object_name`, `*_filter`, …) stays a stage
//!   (or an operand) with no expression, never a problem; but a detection lowered with no
//!   macro definitions at all (read without its checkout) is warned about.
//! - Values keep their wildcards in the IR. Reading `eq "*x*"` as `contains "x"` for indicator
//!   matching is the catalog's (`catalog::concepts`), not the reader's.
//! - The `by` fields of a `stats`-family command are the stage's `group_by`.

use crate::ast::{
    BinOp, CmpOp, Command, CommandKind, Expr as SplExpr, ExprKind, OptValue, Pipeline, SearchExpr,
    SearchKind, Span, Word,
};
use crate::content::Detection;
use crate::macros::{self, MacroTable, pipe_segments};
use ir::{
    Diagnostic, Expr, Kind, Logic, Meta, Pos, Predicate, Rule, RuleKind, Severity, Stage, Syntax,
    Value,
};

/// The tag prefix a detection's `analytic_story` entries take in the rule's tags
/// (`analytic_story:Windows Discovery Techniques`).
pub const STORY_TAG: &str = "analytic_story:";

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
    // No macro definitions at all (a detection read without its checkout's `macros/`): say so
    // rather than read every macro as an unknown one.
    if table.is_empty()
        && let Some(first) = macros::find_calls(search).0.first()
    {
        problems.push(Diagnostic::new(
            path,
            pos_of(first.span.start),
            Severity::Warning,
            "macros not expanded: no macro definitions (no security_content checkout with \
             `macros/` found for this detection)",
        ));
    }
    let mut stages: Vec<Stage> = Vec::new();
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
        let mut notes = Vec::new();
        // A position in the parsed text as a position in the file (the segment's start when
        // macros changed it).
        let shift = if seg.pipe.is_some() { 2 } else { 0 };
        let file_offset = |at: usize| {
            let at = at.saturating_sub(shift).min(expanded.len());
            if expanded == seg_text {
                seg.span.start + at
            } else {
                seg.span.start
            }
        };
        let (label, expr) = match crate::parse(&to_parse) {
            Ok(p) => {
                let mut reader = Reader::new(&to_parse);
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
                    if let CommandKind::Append { subsearch, .. } = &c.kind {
                        // The rows so far, or the subsearch's.
                        let mut before: Vec<Expr> = (0..stages.len())
                            .filter(|j| stages[*j].expr.is_some())
                            .map(Expr::Stage)
                            .collect();
                        before.append(&mut exprs);
                        let sub = reader.subsearch(subsearch);
                        match (join(before, true), sub) {
                            (Some(b), Ok(s)) => exprs.push(Expr::Or(vec![b, s])),
                            (None, Ok(s)) => exprs.push(s),
                            (_, Err(l)) => reader.lose(l, true),
                        }
                        continue;
                    }
                    exprs.extend(reader.command(c));
                }
                for (at, note) in reader.lost {
                    problems.push(Diagnostic::new(
                        path,
                        pos_of(file_offset(at)),
                        Severity::Warning,
                        format!("stage {}: {note}", stages.len() + 1),
                    ));
                }
                notes = reader.notes;
                let label = macro_label
                    .clone()
                    .or_else(|| p.commands.first().map(|c| command_name(&c.kind)))
                    .unwrap_or_else(|| "search".into());
                (label, join(exprs, true))
            }
            Err(e) => {
                if macro_label.is_none() {
                    problems.push(Diagnostic::new(
                        path,
                        pos_of(file_offset(e.offset)),
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
        stage.notes = notes;
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
    m.tags
        .extend(t.analytic_story.iter().map(|s| format!("{STORY_TAG}{s}")));
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

/// A part of a search that gives no predicate: where it is in the parsed text, and whether it
/// is silent (a macro left unexpanded shows in the stage's text already).
struct Lost {
    span: Span,
    silent: bool,
}

/// Reads the predicates of one parsed text (a segment, or a `searchmatch` string), keeping
/// what it cannot read as notes (`not analysed: …`) and their offsets for warnings.
struct Reader<'t> {
    text: &'t str,
    notes: Vec<String>,
    lost: Vec<(usize, String)>,
}

/// Source text on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn not(e: Expr) -> Expr {
    match e {
        Expr::Not(inner) => *inner,
        e => Expr::Not(Box::new(e)),
    }
}

impl<'t> Reader<'t> {
    fn new(text: &'t str) -> Self {
        Reader {
            text,
            notes: Vec::new(),
            lost: Vec::new(),
        }
    }

    /// Note a part left out (`branch`: an operand of an `OR`).
    fn lose(&mut self, l: Lost, branch: bool) {
        if l.silent {
            return;
        }
        // A node's span stops before the closing parentheses of its last operand.
        let mut end = l.span.end.min(self.text.len());
        let raw = self.text.get(l.span.start..end).unwrap_or("");
        let mut open = raw
            .matches('(')
            .count()
            .saturating_sub(raw.matches(')').count());
        while open > 0 {
            let rest = &self.text[end..];
            let skipped = rest.len() - rest.trim_start().len();
            if !rest.trim_start().starts_with(')') {
                break;
            }
            end += skipped + 1;
            open -= 1;
        }
        let text = one_line(self.text.get(l.span.start..end).unwrap_or(""));
        let note = if branch {
            format!("not analysed: {text} (one branch of an `OR`: the rule may match more)")
        } else {
            format!("not analysed: {text}")
        };
        if !self.notes.contains(&note) {
            self.notes.push(note.clone());
            self.lost.push((l.span.start, note));
        }
    }

    fn top(&mut self, r: Result<Expr, Lost>) -> Option<Expr> {
        match r {
            Ok(e) => Some(e),
            Err(l) => {
                self.lose(l, false);
                None
            }
        }
    }

    /// An `AND` or `OR` of parts read under `neg` negations: a part that cannot be read is
    /// left out of a required `AND` and of an `OR` (noted), but a negated `AND` with such a
    /// part is lost whole (`NOT (A AND ?)` does not exclude every `A`).
    fn combine(
        &mut self,
        is_and: bool,
        neg: bool,
        parts: Vec<Result<Expr, Lost>>,
        whole: &Span,
    ) -> Result<Expr, Lost> {
        let (ok, lost): (Vec<_>, Vec<_>) = parts.into_iter().partition(Result::is_ok);
        let ok: Vec<Expr> = ok.into_iter().filter_map(Result::ok).collect();
        let lost: Vec<Lost> = lost.into_iter().filter_map(Result::err).collect();
        if ok.is_empty() || (is_and && neg && !lost.is_empty()) {
            return Err(Lost {
                span: whole.clone(),
                silent: lost.iter().all(|l| l.silent),
            });
        }
        for l in lost {
            self.lose(l, !is_and);
        }
        Ok(join(ok, is_and).expect("parts"))
    }

    /// What a command matches, if it filters events.
    fn command(&mut self, c: &Command) -> Option<Expr> {
        match &c.kind {
            CommandKind::Search { expr, .. } => {
                let r = self.search(expr.as_ref()?, false);
                self.top(r)
            }
            CommandKind::Where(e) => {
                let r = self.where_(e, false);
                self.top(r)
            }
            CommandKind::Stats(s) => {
                let r = self.search(s.filter.as_ref()?, false);
                self.top(r)
            }
            CommandKind::Inputlookup { filter, .. } => {
                let r = self.search(filter.as_ref()?, false);
                self.top(r)
            }
            CommandKind::Regex {
                field,
                negated,
                regex,
            } => {
                let p = Expr::Pred(Predicate {
                    field: Some(field.as_ref().map_or("_raw".into(), |f| f.text.clone())),
                    kind: Kind::Regex,
                    values: vec![Value::opaque(regex.text.clone())],
                    case_sensitive: true,
                    transforms: vec![],
                });
                Some(if *negated { Expr::Not(Box::new(p)) } else { p })
            }
            // An inner join keeps the rows whose keys the subsearch returns: its predicates
            // hold for them. Outer and left joins filter nothing.
            CommandKind::Join {
                options, subsearch, ..
            } => {
                let kind = options
                    .iter()
                    .find(|o| o.key.eq_ignore_ascii_case("type"))
                    .and_then(|o| match &o.value {
                        OptValue::Word(w) => Some(w.text.to_ascii_lowercase()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "inner".into());
                if kind != "inner" {
                    return None;
                }
                let r = self.subsearch(subsearch);
                self.top(r)
            }
            _ => None,
        }
    }

    /// The predicates of a subsearch: the `And` of its commands'.
    fn subsearch(&mut self, p: &Pipeline) -> Result<Expr, Lost> {
        let parts: Vec<Expr> = p.commands.iter().filter_map(|c| self.command(c)).collect();
        join(parts, true).ok_or(Lost {
            span: p.span.clone(),
            silent: false,
        })
    }

    /// The predicates of a search-language expression (see the module notes).
    fn search(&mut self, e: &SearchExpr, neg: bool) -> Result<Expr, Lost> {
        let lost = |silent| Lost {
            span: e.span.clone(),
            silent,
        };
        match &e.kind {
            SearchKind::And(v) | SearchKind::Or(v) => {
                let parts = v.iter().map(|x| self.search(x, neg)).collect();
                let is_and = matches!(e.kind, SearchKind::And(_));
                self.combine(is_and, neg, parts, &e.span)
            }
            SearchKind::Not(x) => self.search(x, !neg).map(not).map_err(|_| lost(false)),
            SearchKind::Compare { field, op, value } => {
                let v = word_value(value);
                let (kind, negated) = match cmp_kind(*op) {
                    (Kind::Eq, n) if is_cidr(&v) => (Kind::Cidr, n),
                    k => k,
                };
                // `f=*`: the field has a value.
                if kind == Kind::Eq && v == "*" {
                    let p = search_pred(Some(&field.text), Kind::Exists, vec![], false);
                    return Ok(if negated { not(p) } else { p });
                }
                let p = search_pred(Some(&field.text), kind, vec![v], false);
                Ok(if negated { not(p) } else { p })
            }
            SearchKind::In { field, values } => {
                let values: Vec<String> = values
                    .iter()
                    .filter_map(|v| match &v.kind {
                        SearchKind::Term(w) => Some(word_value(w)),
                        _ => None,
                    })
                    .collect();
                if values.is_empty() {
                    return Err(lost(false));
                }
                Ok(search_pred(Some(&field.text), Kind::Eq, values, false))
            }
            SearchKind::Term(w) | SearchKind::TermFn(w) => {
                Ok(search_pred(None, Kind::Keyword, vec![word_value(w)], false))
            }
            SearchKind::CaseFn(w) => {
                Ok(search_pred(None, Kind::Keyword, vec![word_value(w)], true))
            }
            SearchKind::Macro(_) => Err(lost(true)),
            // `[search …]`: the rows whose values the subsearch returns; `NOT [search …]`
            // excludes them.
            SearchKind::Subsearch(p) => self.subsearch(p),
        }
    }

    /// The predicates of a `where`/`eval` expression (see the module notes).
    fn where_(&mut self, e: &SplExpr, neg: bool) -> Result<Expr, Lost> {
        let lost = || Lost {
            span: e.span.clone(),
            silent: false,
        };
        match &e.kind {
            ExprKind::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                lhs,
                rhs,
            } => {
                // `a AND b AND c` parses as `(a AND b) AND c`: read the chain as one.
                let mut operands = Vec::new();
                chain(lhs, *op, &mut operands);
                chain(rhs, *op, &mut operands);
                let parts = operands.iter().map(|x| self.where_(x, neg)).collect();
                self.combine(*op == BinOp::And, neg, parts, &e.span)
            }
            ExprKind::Not(x) => self.where_(x, !neg).map(not).map_err(|_| lost()),
            ExprKind::Call { name, args } if name.eq_ignore_ascii_case("searchmatch") => {
                // The string is read as the search language; what it cannot read is noted at
                // the call.
                let text = match args.as_slice() {
                    [s] => literal(s).ok_or_else(lost)?,
                    _ => return Err(lost()),
                };
                let parsed = crate::parser::parse_search_expr(&text)
                    .ok()
                    .flatten()
                    .ok_or_else(lost)?;
                let mut inner = Reader::new(&text);
                let r = inner.search(&parsed, neg);
                for n in inner.notes {
                    if !self.notes.contains(&n) {
                        self.notes.push(n.clone());
                        self.lost.push((e.span.start, n));
                    }
                }
                r.map_err(|_| lost())
            }
            _ => where_atom(e).ok_or_else(lost),
        }
    }
}

/// The operands of a chain of `op` (`AND` or `OR`), in order.
fn chain<'e>(e: &'e SplExpr, op: BinOp, out: &mut Vec<&'e SplExpr>) {
    match &e.kind {
        ExprKind::Binary { op: o, lhs, rhs } if *o == op => {
            chain(lhs, op, out);
            chain(rhs, op, out);
        }
        _ => out.push(e),
    }
}

/// A value of the search language as Splunk reads it: escapes resolved, quoted or not.
fn word_value(w: &Word) -> String {
    if w.quoted {
        w.text.clone()
    } else {
        crate::lexer::unescape(&w.text)
    }
}

/// `10.0.0.0/8`, `fe80::/10`: a search-language `field=value` with such a value matches the
/// addresses in the range.
fn is_cidr(v: &str) -> bool {
    let Some((addr, bits)) = v.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

/// A test whose values are written in the search language (`*` wildcards, see
/// [`Syntax::SPL_SEARCH`]).
fn search_pred(field: Option<&str>, kind: Kind, values: Vec<String>, case_sensitive: bool) -> Expr {
    pred_in(Syntax::SPL_SEARCH, field, kind, values, case_sensitive)
}

/// A test of the eval language (`where`): values are literal text.
fn pred(field: Option<&str>, kind: Kind, values: Vec<String>, case_sensitive: bool) -> Expr {
    pred_in(Syntax::Literal, field, kind, values, case_sensitive)
}

fn pred_in(
    syntax: Syntax,
    field: Option<&str>,
    kind: Kind,
    values: Vec<String>,
    case_sensitive: bool,
) -> Expr {
    Expr::Pred(Predicate {
        field: field.map(str::to_string),
        kind,
        values: values
            .into_iter()
            .map(|v| Value::new(kind, v, syntax))
            .collect(),
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

fn field_name(e: &SplExpr) -> Option<&str> {
    match &e.kind {
        ExprKind::Field(f) => Some(&f.name),
        _ => None,
    }
}

/// `lower(f)` / `upper(f)`: the field and the case its values are folded to (`true`: lower).
fn folded(e: &SplExpr) -> Option<(&str, bool)> {
    match &e.kind {
        ExprKind::Call { name, args } => {
            let lower = match name.to_ascii_lowercase().as_str() {
                "lower" => true,
                "upper" => false,
                _ => return None,
            };
            match args.as_slice() {
                [f] => Some((field_name(f)?, lower)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A value compared with a case-folded field: a case-insensitive value when it is itself in
/// that case (`lower(f)="x"`), else none (`lower(f)="X"` never holds).
fn folded_value(v: String, lower: bool) -> Option<String> {
    let same = if lower {
        v.to_lowercase() == v
    } else {
        v.to_uppercase() == v
    };
    same.then_some(v)
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

/// A `where` test that is not an `AND`, `OR` or `NOT`.
fn where_atom(e: &SplExpr) -> Option<Expr> {
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs } => match op {
            BinOp::Like => like(lhs, rhs),
            BinOp::Cmp(op) => {
                // `lower(f)="x"`: a case-insensitive comparison.
                let fold = match (folded(lhs), folded(rhs)) {
                    // `lower(a)=lower(b)`: the two fields equal, case aside.
                    (Some((a, x)), Some((b, y))) if x == y => {
                        let (kind, negated) = cmp_kind(*op);
                        if kind != Kind::Eq {
                            return None;
                        }
                        let p = pred(Some(a), Kind::Fieldref, vec![b.to_string()], false);
                        return Some(if negated { not(p) } else { p });
                    }
                    (Some(f), None) => Some((f, rhs)),
                    (None, Some(f)) => Some((f, lhs)),
                    _ => None,
                };
                if let Some(((field, lower), other)) = fold {
                    let (kind, negated) = cmp_kind(*op);
                    if kind != Kind::Eq {
                        return None;
                    }
                    let v = folded_value(literal(other)?, lower)?;
                    let p = pred(Some(field), Kind::Eq, vec![v], false);
                    return Some(if negated { not(p) } else { p });
                }
                let (field, value, op) = match (field_name(lhs), field_name(rhs)) {
                    (Some(a), Some(b)) => {
                        if matches!(op, CmpOp::Eq | CmpOp::EqEq | CmpOp::Neq) {
                            let p = pred(Some(a), Kind::Fieldref, vec![b.to_string()], true);
                            return Some(if *op == CmpOp::Neq { not(p) } else { p });
                        }
                        return None;
                    }
                    (Some(a), None) => (a, literal(rhs)?, *op),
                    (None, Some(b)) => (b, literal(lhs)?, flip(*op)),
                    (None, None) => return None,
                };
                let (kind, negated) = cmp_kind(op);
                let p = pred(Some(field), kind, vec![value], true);
                Some(if negated { not(p) } else { p })
            }
            _ => None,
        },
        ExprKind::In { expr, list } => {
            let (f, cs, fold) = match folded(expr) {
                Some((f, lower)) => (f, false, Some(lower)),
                None => (field_name(expr)?, true, None),
            };
            let mut values = Vec::new();
            for v in list {
                let v = literal(v)?;
                values.push(match fold {
                    Some(lower) => folded_value(v, lower)?,
                    None => v,
                });
            }
            (!values.is_empty()).then(|| pred(Some(f), Kind::Eq, values, cs))
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
            _ => None,
        },
        _ => None,
    }
}
