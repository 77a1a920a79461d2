//! Sigma rules evaluated on events.
//!
//! [`Ruleset::compile`] turns Sigma rules (as the `sigma` crate reads them) into matchers;
//! [`Ruleset::matches`] runs them on an [`Event`]. Which events a rule looks at comes from its
//! logsource through a mapping table (`data/logsources/windows.tsv`: logsource → event log
//! channel and event ids), so a `process_creation` rule sees Sysmon event 1 and nothing else.
//! A rule that cannot be evaluated (a logsource with no mapping, a Sigma 1 aggregation, a
//! timestamp-part modifier) is left out with the reason, never evaluated half-way.

pub mod correlate;
pub mod event;
mod matcher;

pub use correlate::{Correlation, CorrelationHit};
pub use event::{Event, FieldValue, ReadError, read_file, read_json};

use matcher::{Needs, Node};
use rustc_hash::FxHashMap;
use sigma::condition::Cond;
use sigma::{Document, LogSource};

const WINDOWS_LOGSOURCES: &str = include_str!("../../../data/logsources/windows.tsv");

/// Which event log records a Sigma logsource covers: (product, category, service) → channel and
/// event ids (none: every event of the channel).
#[derive(Debug, Clone)]
pub struct Logsources {
    rows: Vec<LogsourceRow>,
}

#[derive(Debug, Clone)]
struct LogsourceRow {
    product: String,
    category: String,
    service: String,
    channel: String,
    event_ids: Vec<u32>,
}

impl Logsources {
    /// The table shipped with detdex.
    pub fn builtin() -> Logsources {
        Logsources::from_tsv(WINDOWS_LOGSOURCES).expect("the shipped logsource table is valid")
    }

    /// A table in the shipped format: `product category service channel event_ids`, tab
    /// separated, `#` comments; errors name the line.
    pub fn from_tsv(text: &str) -> Result<Logsources, String> {
        let mut rows = vec![];
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let [product, category, service, channel, ids] = cols[..] else {
                return Err(format!(
                    "line {}: {} columns, want 5 (product, category, service, channel, event_ids)",
                    n + 1,
                    cols.len()
                ));
            };
            let event_ids = ids
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse()
                        .map_err(|_| format!("line {}: event id {s:?} is not a number", n + 1))
                })
                .collect::<Result<_, _>>()?;
            rows.push(LogsourceRow {
                product: product.into(),
                category: category.into(),
                service: service.into(),
                channel: channel.into(),
                event_ids,
            });
        }
        Ok(Logsources { rows })
    }

    /// The event filters for a rule's logsource, or why there are none.
    fn filters(&self, ls: &LogSource) -> Result<Vec<EventFilter>, String> {
        let first = |v: &[String]| v.first().map(|s| s.to_lowercase()).unwrap_or_default();
        let (product, category, service) =
            (first(&ls.product), first(&ls.category), first(&ls.service));
        let filters: Vec<EventFilter> = self
            .rows
            .iter()
            .filter(|r| r.product == product && r.category == category && r.service == service)
            .map(|r| EventFilter {
                channel: r.channel.clone(),
                event_ids: r.event_ids.clone(),
            })
            .collect();
        if filters.is_empty() {
            let known = self.rows.iter().any(|r| r.product == product);
            return if known && category.is_empty() && service.is_empty() {
                Ok(vec![]) // `product: windows` alone: every event
            } else {
                Err(format!(
                    "logsource {} has no event log mapping (data/logsources/windows.tsv)",
                    describe(&product, &category, &service)
                ))
            };
        }
        Ok(filters)
    }
}

fn describe(product: &str, category: &str, service: &str) -> String {
    [
        ("product", product),
        ("category", category),
        ("service", service),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}: {v}"))
    .collect::<Vec<_>>()
    .join(", ")
}

#[derive(Debug, Clone)]
struct EventFilter {
    channel: String,
    event_ids: Vec<u32>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Where the rule was read from.
    pub path: String,
    pub id: Option<String>,
    /// The Sigma `name` other rules (correlations) may refer to it by.
    pub name: Option<String>,
    pub title: String,
    pub level: Option<String>,
    /// Empty: every event.
    filters: Vec<EventFilter>,
    named: Vec<Node>,
    /// Any of these conditions, over indexes into `named`.
    conditions: Vec<CondNode>,
}

#[derive(Debug)]
enum CondNode {
    And(Vec<CondNode>),
    Or(Vec<CondNode>),
    Not(Box<CondNode>),
    Named(usize),
}

impl CondNode {
    fn build(c: &Cond, names: &[&str]) -> Result<CondNode, String> {
        let all = |items: &[Cond]| -> Result<Vec<CondNode>, String> {
            items.iter().map(|c| CondNode::build(c, names)).collect()
        };
        Ok(match c {
            Cond::And(items) => CondNode::And(all(items)?),
            Cond::Or(items) => CondNode::Or(all(items)?),
            Cond::Not(inner) => CondNode::Not(Box::new(CondNode::build(inner, names)?)),
            Cond::Ident { name, .. } => CondNode::Named(
                names
                    .iter()
                    .position(|n| n == name)
                    .ok_or_else(|| format!("condition names unknown detection {name}"))?,
            ),
            Cond::Of { .. } => return Err("unresolved `of` expression".into()),
        })
    }

    fn needs(&self, rule: &Rule) -> Needs {
        match self {
            CondNode::And(items) => matcher::all_of(items.iter().map(|c| c.needs(rule))),
            CondNode::Or(items) => matcher::any_of(items.iter().map(|c| c.needs(rule))),
            CondNode::Not(_) => None,
            CondNode::Named(i) => rule.named[*i].needs(),
        }
    }

    /// Evaluate with each named detection computed at most once.
    fn eval(&self, rule: &Rule, ev: &Event, memo: &mut [Option<bool>]) -> bool {
        match self {
            CondNode::And(items) => items.iter().all(|c| c.eval(rule, ev, memo)),
            CondNode::Or(items) => items.iter().any(|c| c.eval(rule, ev, memo)),
            CondNode::Not(inner) => !inner.eval(rule, ev, memo),
            CondNode::Named(i) => *memo[*i].get_or_insert_with(|| rule.named[*i].matches(ev)),
        }
    }
}

impl Rule {
    /// Compile a Sigma rule document, or say why it cannot be evaluated on events.
    pub fn compile(doc: &Document, path: &str, logsources: &Logsources) -> Result<Rule, String> {
        if doc.kind != ir::RuleKind::Detection {
            return Err(format!(
                "a Sigma {} is not evaluated on events",
                kind_name(doc.kind)
            ));
        }
        let det = doc
            .detection
            .as_ref()
            .ok_or_else(|| "the rule has no detection".to_string())?;
        let filters = logsources.filters(&doc.logsource)?;
        let names: Vec<&str> = det.named.iter().map(|n| n.name.as_str()).collect();
        let mut conditions = vec![];
        for (cond, aggregation) in &det.resolved {
            if let Some(agg) = aggregation {
                let agg = agg.trim().trim_start_matches('|').trim();
                return Err(format!(
                    "the Sigma 1 aggregation `| {agg}` counts events over time; it needs a correlation, not a single-event match"
                ));
            }
            conditions.push(CondNode::build(cond, &names)?);
        }
        if conditions.is_empty() {
            return Err("the rule has no condition".into());
        }
        let named = det
            .named
            .iter()
            .map(|n| Node::compile(&n.body).map_err(|e| format!("{}: {e}", n.name)))
            .collect::<Result<_, _>>()?;
        Ok(Rule {
            path: path.to_string(),
            id: doc.meta.id.clone(),
            name: doc.meta.name.clone(),
            title: doc.meta.title.clone(),
            level: doc.meta.level.clone(),
            filters,
            named,
            conditions,
        })
    }

    /// Texts in fields one of which an event must hold for the rule to fire (any condition).
    fn needs(&self) -> Needs {
        matcher::any_of(self.conditions.iter().map(|c| c.needs(self)))
    }

    /// Does the rule fire on the event? (Its logsource filter first, then its conditions.)
    pub fn matches(&self, ev: &Event) -> bool {
        if !self.filters.is_empty() && !self.filters.iter().any(|f| f.accepts(ev)) {
            return false;
        }
        // Most rules have a handful of detections: keep their results on the stack.
        let mut small = [None; 16];
        let mut large;
        let memo: &mut [Option<bool>] = if self.named.len() <= small.len() {
            &mut small[..self.named.len()]
        } else {
            large = vec![None; self.named.len()];
            &mut large
        };
        self.conditions.iter().any(|c| c.eval(self, ev, memo))
    }
}

fn kind_name(kind: ir::RuleKind) -> &'static str {
    match kind {
        ir::RuleKind::Detection => "detection rule",
        ir::RuleKind::Filter => "filter",
        ir::RuleKind::Correlation => "correlation",
    }
}

impl EventFilter {
    fn accepts(&self, ev: &Event) -> bool {
        let channel = ev
            .get("Channel")
            .iter()
            .any(|(v, _)| v.text() == Some(&self.channel));
        channel
            && (self.event_ids.is_empty()
                || ev.get("EventID").iter().any(|(v, _)| {
                    v.number()
                        .is_some_and(|n| self.event_ids.iter().any(|&id| f64::from(id) == n))
                }))
    }
}

/// A rule that was left out, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub title: String,
    pub reason: String,
}

/// Compiled rules, with an index from (event log channel, event id) to the rules that read it,
/// and a prefilter: the texts each rule needs one of (see [`Rule::needs`]), found in an event's
/// values with one Aho-Corasick pass, so that only rules whose texts are there are evaluated.
#[derive(Debug, Default)]
pub struct Ruleset {
    pub rules: Vec<Rule>,
    /// Sigma correlations over the rules' detections ([`Ruleset::correlate`]).
    pub correlations: Vec<Correlation>,
    pub skipped: Vec<Skipped>,
    /// (channel, Some(event id)) for filters naming ids, (channel, None) for whole channels.
    by_event: FxHashMap<(String, Option<u32>), Vec<usize>>,
    /// Rules without a channel filter.
    everywhere: Vec<usize>,
    prefilter: Option<Prefilter>,
}

#[derive(Debug)]
struct Prefilter {
    texts: aho_corasick::AhoCorasick,
    /// Per text: the rules that need it, with the field it must be in (`None`: any).
    postings: Vec<Vec<(usize, Option<String>)>>,
    /// Per rule: whether it has needs (rules without are always evaluated).
    filtered: Vec<bool>,
}

impl Ruleset {
    /// Compile every rule document of the given Sigma files (`(path, text)`).
    pub fn compile<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        logsources: &Logsources,
    ) -> Ruleset {
        let mut set = Ruleset::default();
        let mut pending: Vec<(&str, sigma::Document)> = vec![];
        for (path, text) in files {
            let parsed = sigma::parse(text);
            for p in &parsed.problems {
                if p.severity == ir::Severity::Error {
                    set.skipped.push(Skipped {
                        path: path.to_string(),
                        line: p.pos.line,
                        column: p.pos.col,
                        title: String::new(),
                        reason: p.message.clone(),
                    });
                }
            }
            for doc in &parsed.documents {
                if doc.doc.kind == ir::RuleKind::Correlation {
                    pending.push((path, doc.doc.clone()));
                    continue;
                }
                match Rule::compile(&doc.doc, path, logsources) {
                    Ok(rule) => set.push(rule),
                    Err(reason) => set.skipped.push(Skipped {
                        path: path.to_string(),
                        line: doc.doc.pos.line,
                        column: doc.doc.pos.col,
                        title: doc.doc.meta.title.clone(),
                        reason,
                    }),
                }
            }
        }
        set.prefilter = Prefilter::build(&set.rules);
        // Correlations last: they name rules by id or name.
        for (path, doc) in pending {
            let find = |r: &str| -> Vec<usize> {
                (set.rules.iter().enumerate())
                    .filter(|(_, x)| x.id.as_deref() == Some(r) || x.name.as_deref() == Some(r))
                    .map(|(i, _)| i)
                    .collect()
            };
            match Correlation::compile(&doc, path, &find) {
                Ok(c) => set.correlations.push(c),
                Err(reason) => set.skipped.push(Skipped {
                    path: path.to_string(),
                    line: doc.pos.line,
                    column: doc.pos.col,
                    title: doc.meta.title.clone(),
                    reason,
                }),
            }
        }
        set
    }

    /// The correlations that fire over a set of events, given the rules each event fired
    /// (`hits[i]`, indexes into `rules`, as [`Ruleset::match_indexes`] gives them).
    pub fn correlate(&self, events: &[Event], hits: &[Vec<usize>]) -> Vec<CorrelationHit> {
        self.correlations
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.evaluate(i, events, hits))
            .collect()
    }

    fn push(&mut self, rule: Rule) {
        let i = self.rules.len();
        if rule.filters.is_empty() {
            self.everywhere.push(i);
        }
        let mut keys: Vec<(String, Option<u32>)> = vec![];
        for f in &rule.filters {
            if f.event_ids.is_empty() {
                keys.push((f.channel.clone(), None));
            }
            keys.extend(f.event_ids.iter().map(|&id| (f.channel.clone(), Some(id))));
        }
        keys.sort();
        keys.dedup();
        for k in keys {
            self.by_event.entry(k).or_default().push(i);
        }
        self.rules.push(rule);
    }

    /// The rules that fire on an event, in rule order.
    pub fn matches<'a>(&'a self, ev: &Event) -> Vec<&'a Rule> {
        self.match_indexes(ev)
            .into_iter()
            .map(|i| &self.rules[i])
            .collect()
    }

    /// The same as [`Ruleset::matches`], as indexes into `rules`.
    pub fn match_indexes(&self, ev: &Event) -> Vec<usize> {
        let found = self.prefilter.as_ref().map(|p| p.rules_with_texts(ev));
        self.candidates(ev)
            .into_iter()
            .filter(|&i| match (&self.prefilter, &found) {
                (Some(p), Some(found)) => !p.filtered[i] || found[i],
                _ => true,
            })
            .filter(|&i| self.rules[i].matches(ev))
            .collect()
    }

    /// The same as [`Ruleset::matches`] without the prefilter (every candidate evaluated): for
    /// checking the prefilter.
    pub fn matches_unfiltered<'a>(&'a self, ev: &Event) -> Vec<&'a Rule> {
        self.candidates(ev)
            .into_iter()
            .map(|i| &self.rules[i])
            .filter(|r| r.matches(ev))
            .collect()
    }

    /// The rules whose logsource covers the event.
    fn candidates(&self, ev: &Event) -> Vec<usize> {
        let mut candidates: Vec<usize> = self.everywhere.clone();
        let ids: Vec<Option<u32>> = ev
            .get("EventID")
            .iter()
            .filter_map(|(v, _)| v.number())
            .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= f64::from(u32::MAX))
            .map(|n| Some(n as u32))
            .chain([None])
            .collect();
        for (v, _) in ev.get("Channel") {
            let Some(channel) = v.text() else { continue };
            for id in &ids {
                if let Some(rules) = self.by_event.get(&(channel.to_string(), *id)) {
                    candidates.extend(rules);
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
    }
}

impl Prefilter {
    fn build(rules: &[Rule]) -> Option<Prefilter> {
        let mut ids: FxHashMap<String, usize> = FxHashMap::default();
        let mut postings: Vec<Vec<(usize, Option<String>)>> = vec![];
        let mut filtered = vec![false; rules.len()];
        for (r, rule) in rules.iter().enumerate() {
            let Some(needs) = rule.needs() else { continue };
            filtered[r] = true;
            for (field, text) in needs {
                let next = ids.len();
                let id = *ids.entry(text).or_insert(next);
                if id == postings.len() {
                    postings.push(vec![]);
                }
                postings[id].push((r, field));
            }
        }
        let mut texts: Vec<(String, usize)> = ids.into_iter().collect();
        texts.sort_by_key(|(_, id)| *id);
        let texts = aho_corasick::AhoCorasick::new(texts.iter().map(|(t, _)| t)).ok()?;
        Some(Prefilter {
            texts,
            postings,
            filtered,
        })
    }

    /// Per rule: whether the event holds one of the texts it needs, in the right field.
    fn rules_with_texts(&self, ev: &Event) -> Vec<bool> {
        let mut found = vec![false; self.filtered.len()];
        let mut seen: Vec<usize> = vec![];
        for name in ev.field_names() {
            for (_, lower) in ev.get(name) {
                seen.clear();
                for m in self.texts.find_overlapping_iter(lower.as_str()) {
                    let id = m.pattern().as_usize();
                    if seen.contains(&id) {
                        continue;
                    }
                    seen.push(id);
                    for (r, field) in &self.postings[id] {
                        if field.as_deref().is_none_or(|f| f == name) {
                            found[*r] = true;
                        }
                    }
                }
            }
        }
        found
    }
}
