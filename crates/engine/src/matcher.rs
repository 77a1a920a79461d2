//! Sigma detections compiled into matchers, and their evaluation on one event.
//!
//! Semantics (Sigma specification): strings compare case-insensitively unless `cased`, with `*`
//! and `?` wildcards; a map is the AND of its items, a list the OR of its elements; an item
//! matches when any value matches (`all`: every value), on any value of the field; `neq`
//! negates the item; `null` matches a field that is absent, null or empty; keywords (values
//! without a field) match when any field of the event contains them.

use crate::event::{Event, FieldValue};
use regex_automata::nfa::thompson::{self, pikevm};
use regex_automata::util::pool::Pool;
use regex_automata::{Input, hybrid};
use sigma::value::{CmpOp, SigmaString, Value};
use sigma::{Detection, DetectionItem};
use std::net::IpAddr;
use std::sync::OnceLock;

#[derive(Debug)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Item(Item),
}

#[derive(Debug)]
pub(crate) struct Item {
    field: Option<String>,
    patterns: Vec<Pattern>,
    all: bool,
    negated: bool,
}

#[derive(Debug)]
enum Pattern {
    Text(Text),
    Regex(Re),
    Num(f64),
    Bool(bool),
    Null,
    Exists(bool),
    Cidr(IpAddr, u8),
    Compare(CmpOp, f64),
    FieldRef {
        field: String,
        starts_with: bool,
        ends_with: bool,
    },
    Any(Vec<Pattern>),
}

/// A Sigma string as the IR's pattern matcher (the one compiler the IR evaluator uses too).
#[derive(Debug)]
struct Text {
    cased: bool,
    matcher: ir::Matcher,
    /// Its longest literal part, lower-cased: every text it matches contains this.
    longest: String,
}

/// What an event must hold for a matcher to match: at least one of these (field, text) pairs,
/// the text contained in a lower-cased value of the field (`None`: of any field). `None` when
/// nothing is known (a negation, a regex, a number, …).
pub(crate) type Needs = Option<Vec<(Option<String>, String)>>;

/// Texts shorter than this (in UTF-8 bytes: one emoji is four, and rare) select too many events
/// to be worth it.
const MIN_NEED: usize = 3;

/// Longer texts are cut to this many bytes (to the next character boundary) in the prefilter.
/// SigmaHQ's rules over the EVTX attack samples (callgrind): building it takes 42 % fewer
/// instructions, evaluating the rules it lets through 7 % more; 12 and 24 bytes cost about the
/// same, 8 lets through too many.
const NEED_PREFIX: usize = 16;

/// A text's first [`NEED_PREFIX`] bytes (to the next character boundary).
fn need_prefix(text: &str) -> &str {
    let mut end = text.len().min(NEED_PREFIX);
    while !text.is_char_boundary(end) {
        end += 1;
    }
    &text[..end]
}

/// What a regex's matches must contain: every match starts with one of its prefix literals
/// (`regex-syntax`'s extraction; a finite set), so a matched text's lower-cased form holds
/// one of them lower-cased: lower-casing maps each character on its own (`(?i)k` also
/// matches the Kelvin sign, whose lower case is `k`), except a capital sigma, whose lower
/// case depends on its neighbours; a literal with one is not used. Known only when each
/// literal is at least [`MIN_NEED`] bytes.
fn regex_needs(hir: &regex_syntax::hir::Hir) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    let mut out = vec![];
    for lit in seq.literals()? {
        let text = std::str::from_utf8(lit.as_bytes()).ok()?;
        let lower = text.to_lowercase();
        if text.contains('Σ') || lower.len() < MIN_NEED {
            return None;
        }
        out.push(need_prefix(&lower).to_string());
    }
    out.sort_unstable();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

/// The alternatives of an OR: all of them must be known.
pub(crate) fn any_of(needs: impl IntoIterator<Item = Needs>) -> Needs {
    let mut out = vec![];
    for n in needs {
        out.extend(n?);
    }
    (!out.is_empty()).then_some(out)
}

/// Every alternative's ids (all must be known), sorted, without repeats.
pub(crate) fn union(sets: impl IntoIterator<Item = Option<Vec<u32>>>) -> Option<Vec<u32>> {
    let mut out = vec![];
    for s in sets {
        out.extend(s?);
    }
    out.sort_unstable();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

/// The parts of an AND: any known one will do; the one with the fewest alternatives.
pub(crate) fn all_of(needs: impl IntoIterator<Item = Needs>) -> Needs {
    needs.into_iter().flatten().min_by_key(|n| n.len())
}

#[derive(Debug)]
enum Re {
    /// Checked when compiled, built on first use: most rules' regexes are never reached (the
    /// prefilter, the logs present), and building one costs far more than checking it.
    Fast {
        text: String,
        /// Texts one of which every text it matches contains (see [`regex_needs`]).
        needs: Option<Vec<String>>,
        /// Boxed: the automata are large, and patterns are moved while rules compile.
        built: OnceLock<Result<Box<Forward>, String>>,
    },
    /// Look-around or back-references, which the linear-time engine lacks.
    Backtracking(fancy_regex::Regex),
}

impl Node {
    pub(crate) fn compile(d: &Detection) -> Result<Node, String> {
        Ok(match d {
            Detection::And(items) => {
                Node::And(items.iter().map(Node::compile).collect::<Result<_, _>>()?)
            }
            Detection::Or(items) => {
                Node::Or(items.iter().map(Node::compile).collect::<Result<_, _>>()?)
            }
            Detection::Item(item) => Node::Item(Item::compile(item)?),
        })
    }

    /// The event ids one of which an event must carry (a value of `EventID` whose number is
    /// one of them) for the node to match; `None` when nothing is known.
    pub(crate) fn event_ids(&self) -> Option<Vec<u32>> {
        match self {
            Node::And(items) => items
                .iter()
                .filter_map(Node::event_ids)
                .min_by_key(Vec::len),
            Node::Or(items) => union(items.iter().map(Node::event_ids)),
            Node::Item(item) => item.event_ids(),
        }
    }

    pub(crate) fn needs(&self) -> Needs {
        match self {
            Node::And(items) => all_of(items.iter().map(Node::needs)),
            Node::Or(items) => any_of(items.iter().map(Node::needs)),
            Node::Item(item) => item.needs(),
        }
    }

    /// The (field, value) pairs that make the node's items match (negated items give none).
    pub(crate) fn witnesses(&self, ev: &Event, out: &mut Vec<(String, String)>) {
        match self {
            Node::And(items) | Node::Or(items) => {
                for n in items {
                    if n.matches(ev) {
                        n.witnesses(ev, out);
                    }
                }
            }
            Node::Item(item) => {
                if !item.negated && item.matches(ev) {
                    out.extend(item.witness(ev));
                }
            }
        }
    }

    /// The regexes that were refused when first used (see [`Re::is_match`]).
    pub(crate) fn build_errors(&self, out: &mut Vec<String>) {
        fn pattern(p: &Pattern, out: &mut Vec<String>) {
            match p {
                Pattern::Regex(re) => out.extend(re.build_error()),
                Pattern::Any(ps) => ps.iter().for_each(|p| pattern(p, out)),
                _ => {}
            }
        }
        match self {
            Node::And(items) | Node::Or(items) => items.iter().for_each(|n| n.build_errors(out)),
            Node::Item(item) => item.patterns.iter().for_each(|p| pattern(p, out)),
        }
    }

    pub(crate) fn matches(&self, ev: &Event) -> bool {
        match self {
            Node::And(items) => items.iter().all(|n| n.matches(ev)),
            Node::Or(items) => items.iter().any(|n| n.matches(ev)),
            Node::Item(item) => item.matches(ev),
        }
    }
}

impl Item {
    fn compile(item: &DetectionItem) -> Result<Item, String> {
        let keyword = item.field.is_none();
        let patterns = item
            .values
            .iter()
            .map(|(v, _)| Pattern::compile(v, keyword))
            .collect::<Result<_, _>>()?;
        Ok(Item {
            field: item.field.clone(),
            patterns,
            all: item.all,
            negated: item.negated,
        })
    }

    /// An `EventID` item of numbers: an event matches only with one of them (with `all`, with
    /// each of them, so with one of them too).
    fn event_ids(&self) -> Option<Vec<u32>> {
        if self.negated || self.field.as_deref() != Some("EventID") {
            return None;
        }
        union(self.patterns.iter().map(Pattern::event_ids))
    }

    fn needs(&self) -> Needs {
        if self.negated {
            return None;
        }
        let each = self.patterns.iter().map(|p| {
            p.needs()
                .map(|texts| texts.into_iter().map(|t| (self.field.clone(), t)).collect())
        });
        if self.all { all_of(each) } else { any_of(each) }
    }

    /// The field and the first value of it that one of the patterns matches.
    fn witness(&self, ev: &Event) -> Option<(String, String)> {
        let shown = |v: &FieldValue| v.text().unwrap_or("null").to_string();
        match &self.field {
            Some(f) => {
                let values = ev.get(f);
                let hit = values
                    .iter()
                    .find(|(v, lower)| self.patterns.iter().any(|p| p.matches_value(v, lower, ev)));
                match hit {
                    Some((v, _)) => Some((f.clone(), shown(v))),
                    // null, exists: the field as it is
                    None => Some((
                        f.clone(),
                        values.first().map_or("(absent)".into(), |(v, _)| shown(v)),
                    )),
                }
            }
            None => ev.field_names().find_map(|name| {
                ev.get(name)
                    .iter()
                    .find(|(v, lower)| self.patterns.iter().any(|p| p.matches_value(v, lower, ev)))
                    .map(|(v, _)| (name.to_string(), shown(v)))
            }),
        }
    }

    fn matches(&self, ev: &Event) -> bool {
        let one = |p: &Pattern| match &self.field {
            Some(f) => p.matches_field(ev, f),
            None => ev.values().any(|(v, lower)| p.matches_value(v, lower, ev)),
        };
        let hit = if self.all {
            self.patterns.iter().all(one)
        } else {
            self.patterns.iter().any(one)
        };
        hit != self.negated
    }
}

impl Pattern {
    /// A number pattern matches a value whose number equals it ([`FieldValue::number`]).
    fn event_ids(&self) -> Option<Vec<u32>> {
        match self {
            Pattern::Num(n) if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n) => {
                Some(vec![*n as u32])
            }
            Pattern::Any(ps) => union(ps.iter().map(Pattern::event_ids)),
            _ => None,
        }
    }

    fn compile(v: &Value, keyword: bool) -> Result<Pattern, String> {
        Ok(match v {
            Value::Str { s, cased } => {
                let mut s = s.clone();
                if keyword {
                    // a keyword is found anywhere in a value
                    s.prepend_any();
                    s.append_any();
                }
                Pattern::Text(Text::compile(&s, *cased)?)
            }
            Value::Num(n) => Pattern::Num(number(n)?),
            Value::Bool(b) => Pattern::Bool(*b),
            Value::Null => Pattern::Null,
            Value::Regex { pattern, flags } => Pattern::Regex(Re::compile(pattern, flags)?),
            Value::Cidr(c) => {
                let (ip, bits) = cidr(c).ok_or_else(|| format!("invalid CIDR network {c}"))?;
                Pattern::Cidr(ip, bits)
            }
            Value::Compare { op, num } => Pattern::Compare(*op, number(num)?),
            Value::FieldRef {
                field,
                starts_with,
                ends_with,
            } => Pattern::FieldRef {
                field: field.clone(),
                starts_with: *starts_with,
                ends_with: *ends_with,
            },
            Value::Exists(b) => Pattern::Exists(*b),
            Value::TimePart { part, .. } => {
                return Err(format!(
                    "modifier `{part}` (a part of the event's timestamp) is not evaluated on events yet"
                ));
            }
            Value::Expansion(vs) => Pattern::Any(
                vs.iter()
                    .map(|v| Pattern::compile(v, keyword))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Texts one of which a value this pattern matches contains.
    fn needs(&self) -> Option<Vec<String>> {
        match self {
            Pattern::Text(t) if !t.cased && t.longest.len() >= MIN_NEED => {
                // Its first bytes only: a value with the text has them too, and the prefilter's
                // automaton is smaller and quicker to build (the rule's own test follows).
                Some(vec![need_prefix(&t.longest).to_string()])
            }
            Pattern::Regex(Re::Fast { needs, .. }) => needs.clone(),
            Pattern::Any(ps) => {
                let mut out = vec![];
                for p in ps {
                    out.extend(p.needs()?);
                }
                Some(out)
            }
            _ => None,
        }
    }

    fn matches_field(&self, ev: &Event, field: &str) -> bool {
        let values = ev.get(field);
        match self {
            Pattern::Exists(b) => ev.has(field) == *b,
            Pattern::Null => values
                .iter()
                .all(|(v, _)| matches!(v, FieldValue::Null) || v.text() == Some("")),
            Pattern::Any(ps) => ps.iter().any(|p| p.matches_field(ev, field)),
            _ => values
                .iter()
                .any(|(v, lower)| self.matches_value(v, lower, ev)),
        }
    }

    fn matches_value(&self, v: &FieldValue, lower: &str, ev: &Event) -> bool {
        match self {
            Pattern::Text(t) => match v.text() {
                Some(text) => t.matches(if t.cased { text } else { lower }),
                None => false,
            },
            Pattern::Regex(re) => v.text().is_some_and(|t| re.is_match(t)),
            Pattern::Num(n) => v.number() == Some(*n),
            Pattern::Bool(b) => match v {
                FieldValue::Bool(x) => x == b,
                _ => lower == if *b { "true" } else { "false" },
            },
            Pattern::Null => matches!(v, FieldValue::Null) || v.text() == Some(""),
            Pattern::Exists(b) => *b,
            Pattern::Cidr(net, bits) => v
                .text()
                .and_then(|t| t.trim().parse::<IpAddr>().ok())
                .is_some_and(|ip| in_network(ip, *net, *bits)),
            Pattern::Compare(op, n) => v.number().is_some_and(|x| match op {
                CmpOp::Lt => x < *n,
                CmpOp::Lte => x <= *n,
                CmpOp::Gt => x > *n,
                CmpOp::Gte => x >= *n,
            }),
            Pattern::FieldRef {
                field,
                starts_with,
                ends_with,
            } => ev
                .get(field)
                .iter()
                .any(|(_, other)| match (starts_with, ends_with) {
                    (false, false) => lower == other.as_str(),
                    (true, false) => lower.starts_with(other.as_str()),
                    (false, true) => lower.ends_with(other.as_str()),
                    (true, true) => lower.contains(other.as_str()),
                }),
            Pattern::Any(ps) => ps.iter().any(|p| p.matches_value(v, lower, ev)),
        }
    }
}

impl Text {
    fn compile(s: &SigmaString, cased: bool) -> Result<Text, String> {
        let pattern = ir::Pattern::new(s.parts.iter().cloned());
        Ok(Text {
            cased,
            matcher: ir::Matcher::new(&pattern, cased)?,
            longest: pattern.longest_literal().to_lowercase(),
        })
    }

    /// `text` is lower-cased already unless the test is case-sensitive.
    fn matches(&self, text: &str) -> bool {
        self.matcher.is_match_folded(text)
    }
}

impl Re {
    fn compile(pattern: &str, flags: &str) -> Result<Re, String> {
        let text = if flags.is_empty() {
            pattern.to_string()
        } else {
            format!("(?{flags}){pattern}")
        };
        match regex_syntax::Parser::new().parse(&text) {
            Ok(hir) => Ok(Re::Fast {
                needs: regex_needs(&hir),
                text,
                built: OnceLock::new(),
            }),
            Err(first) => fancy_regex::Regex::new(&text)
                .map(Re::Backtracking)
                .map_err(|_| format!("regular expression {pattern:?}: {first}")),
        }
    }

    /// The regex, built once. A pattern whose syntax is valid can still be refused when built
    /// (its automaton over the size limit): it then matches nothing, and
    /// [`Re::build_error`] says why.
    fn is_match(&self, text: &str) -> bool {
        match self {
            Re::Fast {
                text: pattern,
                built,
                ..
            } => built
                .get_or_init(|| Forward::new(pattern).map(Box::new))
                .as_ref()
                .is_ok_and(|re| re.is_match(text)),
            // A pattern that runs out of its backtracking budget does not match.
            Re::Backtracking(re) => re.is_match(text).unwrap_or(false),
        }
    }
}

impl Re {
    fn build_error(&self) -> Option<String> {
        match self {
            Re::Fast { text, built, .. } => built.get().and_then(|r| r.as_ref().err()).map(|e| {
                format!(
                    "regular expression {text:?} could not be built, so it matched nothing: {e}"
                )
            }),
            Re::Backtracking(_) => None,
        }
    }
}

/// A cache maker for a [`Pool`].
type Make<T> =
    Box<dyn Fn() -> T + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

/// A regex built for yes/no answers only: its forward automaton, searched by a lazy DFA, and
/// where that gives up (a Unicode word boundary beside a non-ASCII byte, a cache that keeps
/// filling up) or cannot be built (an automaton too big for its cache) by the NFA simulation,
/// which gives the same answer more slowly. The `regex` crate's `Regex` also builds the reverse
/// automaton (to find where a match starts) and capture states, which a yes/no test never
/// uses: over SigmaHQ's 217 regexes that is 95 ms of building instead of 41 ms, on one core.
/// The syntax, the size limit and the cache size are the `regex` crate's defaults, so the same
/// patterns are accepted and refused.
struct Forward {
    dfa: Option<(
        hybrid::dfa::DFA,
        Pool<hybrid::dfa::Cache, Make<hybrid::dfa::Cache>>,
    )>,
    vm: pikevm::PikeVM,
    vm_caches: Pool<pikevm::Cache, Make<pikevm::Cache>>,
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forward").finish_non_exhaustive()
    }
}

impl Forward {
    fn new(pattern: &str) -> Result<Forward, String> {
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .which_captures(thompson::WhichCaptures::None)
                    .nfa_size_limit(Some(10 * (1 << 20))),
            )
            .build(pattern)
            .map_err(|e| e.to_string())?;
        let dfa = hybrid::dfa::DFA::builder()
            .configure(
                hybrid::dfa::Config::new()
                    .unicode_word_boundary(true)
                    .cache_capacity(2 * (1 << 20))
                    .minimum_cache_clear_count(Some(3))
                    .minimum_bytes_per_state(Some(10)),
            )
            .build_from_nfa(nfa.clone())
            .ok()
            .map(|dfa| {
                let d = dfa.clone();
                let make: Make<hybrid::dfa::Cache> = Box::new(move || d.create_cache());
                (dfa, Pool::new(make))
            });
        let vm = pikevm::PikeVM::new_from_nfa(nfa).map_err(|e| e.to_string())?;
        let v = vm.clone();
        Ok(Forward {
            dfa,
            vm,
            vm_caches: Pool::new(Box::new(move || v.create_cache())),
        })
    }

    fn is_match(&self, text: &str) -> bool {
        let input = Input::new(text).earliest(true);
        let dfa =
            (self.dfa.as_ref()).map(|(d, caches)| d.try_search_fwd(&mut caches.get(), &input));
        match dfa {
            Some(Ok(found)) => found.is_some(),
            None | Some(Err(_)) => self.vm.is_match(&mut self.vm_caches.get(), input),
        }
    }
}

fn number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

/// `10.0.0.0/8`, `fe80::/10` or a single address.
fn cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits == 0 {
        return true;
    }
    let shift = width - u32::from(bits);
    a >> shift == b >> shift
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Patterns that take every path of [`Forward`]: literals and classes, flags, anchors,
    /// Unicode classes and case folding, Unicode and ASCII word boundaries (the lazy DFA gives
    /// up on the former beside non-ASCII text), long repetitions.
    const PATTERNS: &[&str] = &[
        r"abc",
        r"(?i)K",
        r"(?i)straße",
        r"^\w+$",
        r"\bcmd\b",
        r"(?-u:\b)cmd(?-u:\b)",
        r"\d{2,10}$",
        r"(?m)^x",
        r"(?s)a.b",
        r"-k\s\w{1,64}(?:\s?(?:-p|-s))?",
        r".{50,}",
        r"[^\\]{1,8}\.exe",
        r"(?i)(?:invoke|iex)\s*\(",
        r"",
        r"\p{Greek}+",
    ];

    /// Patterns with needs, over the words [`texts`] draws from.
    const NEEDY: &[&str] = &[
        r"(?i)straße",
        r"(?i)cmd\.exe",
        r"-kx\s\w{1,64}(?:\s?(?:-p|-s))?",
        r"(?i)(?:invoke|iex)\s*\(",
        r"Straße|SSx",
        r"(?i)ssK",
        r"(?i)stra[sß]e",
    ];

    fn texts() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "a", "b", "c", "K", "\u{212A}", "k", "ß", "SS", "é", "λ", "1", "42", " ", "\n",
                "-k", "-p", "cmd", ".exe", "\\", "x", "iex (", "Straße", "_",
            ]),
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    fn needs_of(pattern: &str) -> Option<Vec<String>> {
        regex_needs(&regex_syntax::Parser::new().parse(pattern).unwrap())
    }

    #[test]
    fn regex_needs_are_prefix_literals_that_survive_lower_casing() {
        let want = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            needs_of(r"(Copy-Item|cpi) .{2,128} -Destination"),
            want(&["copy-item ", "cpi "])
        );
        assert_eq!(needs_of(r"(?i)iex\s*\("), want(&["iex"]));
        // The Kelvin sign and the long s, lower-cased: `k` and `ſ`.
        assert_eq!(needs_of(r"(?i)Kit"), want(&["kit"]));
        assert_eq!(needs_of(r"(?i)ssx"), want(&["ssx", "sſx", "ſsx", "ſſx"]));
        assert_eq!(needs_of(r"xΣyz"), None);
        for p in NEEDY {
            assert!(needs_of(p).is_some(), "{p}");
        }
        assert_eq!(needs_of(r"ab"), None); // too short
        assert_eq!(needs_of(r".{1000,}"), None);
        assert_eq!(needs_of(r"\d+abc"), None);
        assert_eq!(needs_of(r"abc|x"), None); // one alternative too short
    }

    proptest! {
        /// A text a regex matches holds, lower-cased, one of the regex's needs.
        #[test]
        fn a_matched_text_holds_a_regex_need(text in texts(), i in 0..NEEDY.len()) {
            let needs = needs_of(NEEDY[i]).unwrap();
            if regex::Regex::new(NEEDY[i]).unwrap().is_match(&text) {
                let lower = text.to_lowercase();
                prop_assert!(needs.iter().any(|n| lower.contains(n.as_str())), "{needs:?} {text:?}");
            }
        }

        /// The forward-only regex answers as the `regex` crate's.
        #[test]
        fn forward_regex_answers_as_the_regex_crate(text in texts(), i in 0..PATTERNS.len()) {
            let want = regex::Regex::new(PATTERNS[i]).unwrap().is_match(&text);
            prop_assert_eq!(Forward::new(PATTERNS[i]).unwrap().is_match(&text), want);
        }
    }

    #[test]
    fn forward_regex_refuses_what_the_regex_crate_refuses() {
        for p in [r"(", r"\w{1000}{1000}", r"a{100000}"] {
            assert_eq!(Forward::new(p).is_ok(), regex::Regex::new(p).is_ok(), "{p}");
        }
        // A long text through a big automaton: the lazy DFA's cache fills and it gives up;
        // the answer is still the same.
        let text: String = (0..20_000)
            .map(|i| char::from_u32(0x400 + i % 500).unwrap())
            .collect();
        for p in [r"\w{1,64}x", r"\bzz\b", r"(?i)\w+\d", r"a{100000}"] {
            let want = regex::Regex::new(p).unwrap().is_match(&text);
            assert_eq!(Forward::new(p).unwrap().is_match(&text), want, "{p}");
        }
    }

    #[test]
    fn cidr_membership() {
        let (net, bits) = cidr("10.0.0.0/8").unwrap();
        assert!(in_network("10.1.2.3".parse().unwrap(), net, bits));
        assert!(!in_network("11.0.0.1".parse().unwrap(), net, bits));
        let (net, bits) = cidr("fe80::/10").unwrap();
        assert!(in_network("fe80::1".parse().unwrap(), net, bits));
        assert!(!in_network("10.0.0.1".parse().unwrap(), net, bits));
        assert!(cidr("10.0.0.0/33").is_none());
        let (net, bits) = cidr("0.0.0.0/0").unwrap();
        assert!(in_network("1.2.3.4".parse().unwrap(), net, bits));
    }
}
