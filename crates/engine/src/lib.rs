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
mod logsource;
mod matcher;
pub mod regression;

pub use correlate::{Correlation, CorrelationHit, Correlator};
pub use event::{Event, FieldValue, ReadError, read_batches, read_file, read_json};
pub use logsource::{Logsources, Tag};

use logsource::EventFilter;
use matcher::{Needs, Node};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use sigma::Document;
use sigma::condition::Cond;
use std::borrow::Cow;

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
    /// A Sigma 1 rule with an aggregation (`| count() by X > N`): its detections feed the
    /// correlation made of the aggregation and are not reported on their own.
    pub aggregated: bool,
    /// Empty: every event.
    filters: Vec<EventFilter>,
    named: Vec<Node>,
    detection_names: Vec<String>,
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

    /// The detections the condition uses outside a negation.
    fn positive(&self, out: &mut Vec<usize>) {
        match self {
            CondNode::And(items) | CondNode::Or(items) => {
                items.iter().for_each(|c| c.positive(out))
            }
            CondNode::Not(_) => {}
            CondNode::Named(i) => out.push(*i),
        }
    }

    fn event_ids(&self, rule: &Rule) -> Option<Vec<u32>> {
        match self {
            CondNode::And(items) => (items.iter())
                .filter_map(|c| c.event_ids(rule))
                .min_by_key(Vec::len),
            CondNode::Or(items) => matcher::union(items.iter().map(|c| c.event_ids(rule))),
            CondNode::Not(_) => None,
            CondNode::Named(i) => rule.named[*i].event_ids(),
        }
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
        let mut aggregated = false;
        for (cond, aggregation) in &det.resolved {
            if let Some(agg) = aggregation {
                correlate::Aggregation::parse(agg)?;
                aggregated = true;
            }
            conditions.push(CondNode::build(cond, &names)?);
        }
        if aggregated && det.resolved.len() > 1 {
            return Err("a Sigma 1 aggregation among several conditions is not evaluated".into());
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
            aggregated,
            filters,
            named,
            detection_names: names.iter().map(|n| n.to_string()).collect(),
            conditions,
        })
    }

    /// The event ids one of which an event must carry for the rule to fire (any condition),
    /// from its `EventID` items; `None` when not known.
    fn event_ids(&self) -> Option<Vec<u32>> {
        matcher::union(self.conditions.iter().map(|c| c.event_ids(self)))
    }

    /// Texts in fields one of which an event must hold for the rule to fire (any condition).
    fn needs(&self) -> Needs {
        matcher::any_of(self.conditions.iter().map(|c| c.needs(self)))
    }

    /// Does the rule fire on the event? (Its logsource filter first, then its conditions.)
    pub fn matches(&self, ev: &Event) -> bool {
        self.reads(ev) && self.detects(ev)
    }

    /// Is the event of the rule's logsource?
    pub fn reads(&self, ev: &Event) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| f.accepts(ev))
    }

    /// Do the rule's conditions hold on the event (its logsource aside)?
    pub fn detects(&self, ev: &Event) -> bool {
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

impl Rule {
    /// Why the rule fired on an event: per detection that holds and that a condition uses
    /// outside a negation, the field and value that matched each of its items.
    pub fn explain(&self, ev: &Event) -> Vec<Matched> {
        let mut used = vec![];
        for c in &self.conditions {
            c.positive(&mut used);
        }
        used.sort_unstable();
        used.dedup();
        let mut out = vec![];
        for i in used {
            let node = &self.named[i];
            if !node.matches(ev) {
                continue;
            }
            let mut found = vec![];
            node.witnesses(ev, &mut found);
            let mut seen = std::collections::HashSet::new();
            found.retain(|w| seen.insert(w.clone()));
            out.extend(found.into_iter().map(|(field, value)| Matched {
                detection: self.detection_names[i].clone(),
                field,
                value,
            }));
        }
        out
    }
}

/// One matched field of a detection (see [`Rule::explain`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub detection: String,
    pub field: String,
    pub value: String,
}

fn kind_name(kind: ir::RuleKind) -> &'static str {
    match kind {
        ir::RuleKind::Detection => "detection rule",
        ir::RuleKind::Filter => "filter",
        ir::RuleKind::Correlation => "correlation",
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
    /// Per event log channel, the rules that read it (see [`Channel`]).
    by_channel: FxHashMap<String, Channel>,
    /// Rules without a channel filter.
    everywhere: Vec<usize>,
    /// Rules that read events of a logsource given or recognized (not a channel).
    tagged: Vec<usize>,
    /// Files with the same text as an earlier one, run once: (path, the first one's path).
    pub duplicates: Vec<(String, String)>,
    prefilter: Option<Prefilter>,
}

/// The rules that read one channel's events, sorted and merged with the rules that read every
/// event, so that an event's candidates are one lookup.
#[derive(Debug, Default)]
struct Channel {
    /// Per event id: the rules naming it, the channel's rules for any id, and `everywhere`.
    by_id: FxHashMap<u32, Vec<usize>>,
    /// The rules for any id of the channel, and `everywhere`.
    any_id: Vec<usize>,
}

#[derive(Debug)]
struct Prefilter {
    texts: aho_corasick::AhoCorasick,
    /// Per text: the rules that need it, with the field it must be in (`None`: any).
    postings: Vec<Vec<(usize, Option<String>)>>,
    /// Per rule: whether it has needs (rules without are always evaluated).
    filtered: Vec<bool>,
}

/// What compiling one document gave.
enum Outcome {
    /// A rule, with its Sigma 1 aggregation and `timeframe` if it has one.
    Rule(Box<Rule>, Option<(String, Option<String>)>),
    Skipped(Skipped),
    Correlation(Box<Document>),
}

fn compile_file(path: &str, text: &str, logsources: &Logsources) -> Vec<Outcome> {
    let parsed = sigma::parse(text);
    let mut out = vec![];
    for p in &parsed.problems {
        if p.severity == ir::Severity::Error {
            out.push(Outcome::Skipped(Skipped {
                path: path.to_string(),
                line: p.pos.line,
                column: p.pos.col,
                title: String::new(),
                reason: p.message.clone(),
            }));
        }
    }
    for doc in parsed.documents {
        let doc = doc.doc;
        if doc.kind == ir::RuleKind::Correlation {
            out.push(Outcome::Correlation(Box::new(doc)));
            continue;
        }
        match Rule::compile(&doc, path, logsources) {
            Ok(rule) => {
                let agg = doc.detection.as_ref().and_then(|d| {
                    let a = d.resolved.iter().find_map(|(_, a)| a.clone())?;
                    Some((a, d.timeframe.clone()))
                });
                out.push(Outcome::Rule(Box::new(rule), agg));
            }
            Err(reason) => out.push(Outcome::Skipped(Skipped {
                path: path.to_string(),
                line: doc.pos.line,
                column: doc.pos.col,
                title: doc.meta.title.clone(),
                reason,
            })),
        }
    }
    out
}

impl Ruleset {
    /// Compile every rule document of the given Sigma files (`(path, text)`), files in
    /// parallel. A file whose text is the same as an earlier one's (a folder given twice, a
    /// copy) is compiled and run once, and listed in `duplicates`.
    pub fn compile<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        logsources: &Logsources,
    ) -> Ruleset {
        let mut set = Ruleset::default();
        let mut seen: FxHashMap<&str, &str> = FxHashMap::default();
        let mut distinct = vec![];
        for (path, text) in files {
            match seen.get(text) {
                Some(first) => set.duplicates.push((path.to_string(), first.to_string())),
                None => {
                    seen.insert(text, path);
                    distinct.push((path, text));
                }
            }
        }
        let compiled: Vec<(&str, Vec<Outcome>)> = distinct
            .par_iter()
            .map(|&(path, text)| (path, compile_file(path, text, logsources)))
            .collect();
        let mut pending: Vec<(&str, Document)> = vec![];
        let mut aggregations = vec![];
        for (path, outcomes) in compiled {
            for o in outcomes {
                match o {
                    Outcome::Rule(rule, agg) => {
                        if let Some(agg) = agg {
                            aggregations.push((set.rules.len(), agg));
                        }
                        set.push(*rule);
                    }
                    Outcome::Skipped(s) => set.skipped.push(s),
                    Outcome::Correlation(doc) => pending.push((path, *doc)),
                }
            }
        }
        set.merge_everywhere();
        // Each rule's texts are worked out on every core; the automaton is one build.
        let needs: Vec<Needs> = set.rules.par_iter().map(Rule::needs).collect();
        set.prefilter = Prefilter::build(needs);
        // Sigma 1 aggregations: the equivalent correlation over the rule's own detections.
        for (i, (agg, timeframe)) in aggregations {
            let rule = &set.rules[i];
            match Correlation::from_aggregation(i, rule, &agg, timeframe.as_deref()) {
                Ok(c) => set.correlations.push(c),
                Err(reason) => set.skipped.push(Skipped {
                    path: rule.path.clone(),
                    line: 0,
                    column: 0,
                    title: rule.title.clone(),
                    reason,
                }),
            }
        }
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
        let mut c = Correlator::default();
        for (ev, hits) in events.iter().zip(hits) {
            c.observe(self, ev, hits);
        }
        c.finish(self)
    }

    fn push(&mut self, rule: Rule) {
        let i = self.rules.len();
        if rule.filters.is_empty() {
            self.everywhere.push(i);
        }
        let mut keys: Vec<(String, Option<u32>)> = vec![];
        let mut tagged = false;
        let own_ids = rule.event_ids();
        for f in &rule.filters {
            match f {
                EventFilter::Channel {
                    channel, event_ids, ..
                } => {
                    // Ids from the logsource, else from the rule's own `EventID` items.
                    match (event_ids.is_empty(), &own_ids) {
                        (false, _) => {
                            keys.extend(event_ids.iter().map(|&id| (channel.clone(), Some(id))))
                        }
                        (true, Some(ids)) => {
                            keys.extend(ids.iter().map(|&id| (channel.clone(), Some(id))))
                        }
                        (true, None) => keys.push((channel.clone(), None)),
                    }
                }
                EventFilter::Tagged(_) => tagged = true,
            }
        }
        if tagged {
            self.tagged.push(i);
        }
        keys.sort();
        keys.dedup();
        for (channel, id) in keys {
            let c = self.by_channel.entry(channel).or_default();
            match id {
                Some(id) => c.by_id.entry(id).or_default().push(i),
                None => c.any_id.push(i),
            }
        }
        self.rules.push(rule);
    }

    /// Once every rule is pushed: each channel's lists hold the rules for any id and those for
    /// every event too, sorted, without repeats.
    fn merge_everywhere(&mut self) {
        for c in self.by_channel.values_mut() {
            c.any_id.extend(&self.everywhere);
            c.any_id.sort_unstable();
            c.any_id.dedup();
            for rules in c.by_id.values_mut() {
                rules.extend(&c.any_id);
                rules.sort_unstable();
                rules.dedup();
            }
        }
    }

    /// What went wrong while running (a regex refused when first built, see `matcher`): per
    /// problem, the rule's path and why. Empty before the rules have run.
    pub fn run_problems(&self) -> Vec<(String, String)> {
        let mut out = vec![];
        for rule in &self.rules {
            let mut errors = vec![];
            rule.named.iter().for_each(|n| n.build_errors(&mut errors));
            out.extend(errors.into_iter().map(|e| (rule.path.clone(), e)));
        }
        out
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
            .iter()
            .copied()
            .filter(|&i| match (&self.prefilter, &found) {
                (Some(p), Some(found)) => !p.filtered[i] || found[i],
                _ => true,
            })
            .filter(|&i| self.rules[i].matches(ev))
            .collect()
    }

    /// The same as [`Ruleset::matches`] the slow way, every rule evaluated (no lookup by
    /// channel and event id, no prefilter): for checking those.
    pub fn matches_unfiltered<'a>(&'a self, ev: &Event) -> Vec<&'a Rule> {
        self.rules.iter().filter(|r| r.matches(ev)).collect()
    }

    /// The rules whose logsource covers the event, in rule order. Rules are listed under
    /// their channel's event ids (from the logsource or from their own `EventID` items), so an
    /// event with several ids is looked up under each.
    fn candidates(&self, ev: &Event) -> Cow<'_, [usize]> {
        let mut ids = logsource::event_ids(ev);
        let id = ids.next();
        let more_ids = ids.any(|other| Some(other) != id);
        let channels = ev.get("Channel");
        // The common case: one channel, one id, no logsource given.
        if ev.logsource.is_none() && channels.len() <= 1 && !more_ids {
            let channel = channels.first().and_then(|(v, _)| v.text());
            let of_channel = |channel: &str| -> Option<&[usize]> {
                let c = self.by_channel.get(channel)?;
                Some(id.and_then(|id| c.by_id.get(&id)).unwrap_or(&c.any_id))
            };
            return Cow::Borrowed(channel.and_then(of_channel).unwrap_or(&self.everywhere));
        }
        let mut candidates: Vec<usize> = self.everywhere.clone();
        if ev.logsource.is_some() {
            candidates.extend(&self.tagged);
        }
        for c in channels
            .iter()
            .filter_map(|(v, _)| self.by_channel.get(v.text()?))
        {
            candidates.extend(&c.any_id);
            for id in logsource::event_ids(ev) {
                candidates.extend(c.by_id.get(&id).map_or(&[][..], Vec::as_slice));
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        Cow::Owned(candidates)
    }
}

impl Prefilter {
    /// The prefilter of the rules whose needs (by rule index) are given.
    fn build(rules: Vec<Needs>) -> Option<Prefilter> {
        let mut ids: FxHashMap<String, usize> = FxHashMap::default();
        let mut postings: Vec<Vec<(usize, Option<String>)>> = vec![];
        let mut filtered = vec![false; rules.len()];
        for (r, needs) in rules.into_iter().enumerate() {
            let Some(needs) = needs else { continue };
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
