//! Reading Sigma documents: rules, filters and correlations, with their metadata and detections.
//!
//! Reading is tolerant where the meaning is clear and strict where it is not: a deviation from
//! the specification whose meaning is unambiguous (a list of services, a tag without a
//! namespace, a date written `2020/10/05`) is a warning and the rule is kept; anything that
//! would make detdex guess (an unknown modifier, a condition naming a missing detection) is an
//! error and the document is dropped. Either way every problem has a line and column.

use crate::condition;
use crate::value::{self, Modifier, SigmaString, Value};
use ir::{Pos, Severity};
use yaml::{Node, Value as Y};

/// A problem found in a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub pos: Pos,
    pub severity: Severity,
    pub message: String,
}

/// The wildcard a path-like value escapes by a backslash (`'*\\AppData\\*'` ends in a literal
/// `*`, a common slip for `\\\\*`): a value with a plain backslash (one before any character
/// but `*`, `?` and `\\`) holding `\\*` or `\\?`.
fn escaped_wildcard_in_path(text: &str) -> Option<char> {
    let (mut plain_backslash, mut escaped) = (false, None);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            Some(w @ ('*' | '?')) => escaped = escaped.or(Some(w)),
            Some('\\') => {}
            _ => plain_backslash = true,
        }
    }
    escaped.filter(|_| plain_backslash)
}

/// Collects problems while reading one document.
#[derive(Default)]
pub(crate) struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.0.push(Problem {
            pos,
            severity: Severity::Warning,
            message: message.into(),
        })
    }
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.0.push(Problem {
            pos,
            severity: Severity::Error,
            message: message.into(),
        })
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|p| p.severity == Severity::Error)
    }
}

/// One Sigma document of any kind.
#[derive(Debug, Clone)]
pub struct Document {
    pub kind: ir::RuleKind,
    pub pos: Pos,
    pub meta: ir::Meta,
    pub logsource: LogSource,
    /// Detections of a rule or filter.
    pub detection: Option<Detections>,
    /// Rules a filter or correlation refers to, by id or name.
    pub rules: Vec<String>,
    pub correlation: Option<Correlation>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogSource {
    pub category: Vec<String>,
    pub product: Vec<String>,
    pub service: Vec<String>,
    pub definition: Option<String>,
    /// Other keys, kept verbatim.
    pub custom: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Detections {
    /// Named detections (selections, filters) in document order.
    pub named: Vec<NamedDetection>,
    /// Each condition with its position; several conditions mean any of them.
    pub conditions: Vec<(String, Pos)>,
    /// Sigma 1 `timeframe`, kept for display.
    pub timeframe: Option<String>,
    /// The conditions parsed and resolved against `named` (`1 of x*` expanded), each with the
    /// Sigma 1 aggregation that followed it, if any.
    pub resolved: Vec<(condition::Cond, Option<String>)>,
}

#[derive(Debug, Clone)]
pub struct NamedDetection {
    pub name: String,
    pub pos: Pos,
    /// `name: …` as written, dedented.
    pub text: String,
    pub body: Detection,
}

/// A detection: maps are AND of their items, lists are OR of their elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Detection {
    And(Vec<Detection>),
    Or(Vec<Detection>),
    Item(DetectionItem),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetectionItem {
    /// `None` for keywords.
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    /// Modifier names as written (`utf16le`, `i`, …).
    pub modifier_names: Vec<String>,
    /// Each value after its modifiers, with the value as written.
    pub values: Vec<(Value, String)>,
    /// `all`: every value must match (default: any).
    pub all: bool,
    /// `neq`: the item is negated.
    pub negated: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub kind: String,
    pub group_by: Vec<String>,
    pub timespan: Option<String>,
    /// (operator, value) pairs, e.g. ("gte", "10").
    pub condition: Vec<(String, String)>,
    /// The field a `value_*` correlation aggregates.
    pub field: Vec<String>,
    /// alias → (rule → field)
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    pub generate: bool,
    pub pos: Pos,
}

const STATUSES: &[&str] = &[
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];
const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];
const CORRELATION_TYPES: &[&str] = &[
    "event_count",
    "value_count",
    "temporal",
    "temporal_ordered",
    "value_sum",
    "value_avg",
    "value_percentile",
    "value_median",
];
const RELATED_TYPES: &[&str] = &["derived", "obsolete", "merged", "renamed", "similar"];

pub(crate) fn pos(n: &Node) -> Pos {
    n.span.start
}

/// The text of a scalar, as PyYAML would turn it into a Python `str()`.
pub(crate) fn scalar_text(n: &Node) -> Option<String> {
    Some(match &n.value {
        Y::Str { text, .. } => text.clone(),
        Y::Int(i) => i.to_string(),
        Y::Float(f) => format_float(*f),
        Y::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Y::Null => "null".to_string(),
        Y::Seq(_) | Y::Map(_) => return None,
    })
}

fn format_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        let s = f.to_string();
        if s.contains('.') || s.contains('e') {
            s
        } else {
            format!("{s}.0")
        }
    }
}

/// Read a string attribute; a non-string scalar is converted with a warning.
fn string(n: &Node, key: &str, p: &mut Problems) -> Option<String> {
    match &n.value {
        Y::Str { text, .. } => Some(text.clone()),
        Y::Null => None,
        Y::Seq(_) | Y::Map(_) => {
            p.warn(pos(n), format!("`{key}` should be a string; ignored"));
            None
        }
        _ => scalar_text(n),
    }
}

/// Read a list of strings; a single string is taken as a one-element list, with a warning.
fn strings(n: &Node, key: &str, p: &mut Problems) -> Vec<String> {
    match &n.value {
        Y::Seq(items) => items
            .iter()
            .filter_map(|i| match scalar_text(i) {
                Some(s) if !matches!(i.value, Y::Null) => Some(s),
                Some(_) => None,
                None => {
                    p.warn(
                        pos(i),
                        format!("`{key}` items should be strings; a nested list or map is ignored"),
                    );
                    None
                }
            })
            .collect(),
        Y::Null => vec![],
        Y::Map(_) => {
            p.warn(pos(n), format!("`{key}` should be a list; ignored"));
            vec![]
        }
        _ => {
            p.warn(
                pos(n),
                format!("`{key}` should be a list; the single value is used as a one-item list"),
            );
            scalar_text(n).into_iter().collect()
        }
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// A `yyyy-mm-dd` date, or a clear variant of it (`yyyy/mm/dd`) normalised with a warning.
fn date(n: &Node, key: &str, p: &mut Problems) -> Option<String> {
    let s = string(n, key, p)?;
    let norm = s.trim().replace('/', "-");
    let ok = |d: &str| {
        let parts: Vec<&str> = d.split('-').collect();
        parts.len() == 3
            && parts[0].len() == 4
            && parts[1].len() <= 2
            && parts[2].len() <= 2
            && parts
                .iter()
                .all(|x| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit()))
    };
    if !ok(&norm) {
        p.warn(
            pos(n),
            format!("`{key}: {s}` is not a date (yyyy-mm-dd); kept as written"),
        );
        return Some(s);
    }
    if norm != s {
        p.warn(pos(n), format!("`{key}: {s}` should be written yyyy-mm-dd"));
    }
    let parts: Vec<&str> = norm.split('-').collect();
    Some(format!("{}-{:0>2}-{:0>2}", parts[0], parts[1], parts[2]))
}

/// Read one document (after `action: global` merging).
pub(crate) fn document(doc: &Node, src: &str, p: &mut Problems) -> Option<Document> {
    let Some(map) = doc.as_map() else {
        p.error(
            pos(doc),
            "a Sigma rule must be a YAML mapping (`title: …`, `detection: …`)",
        );
        return None;
    };
    let mut meta = ir::Meta::default();
    let mut logsource = LogSource::default();
    let mut detection_node = None;
    let mut filter_node = None;
    let mut correlation_node: Option<&Node> = None;
    let mut generate = None;
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            p.warn(pos(k), "a non-string key at the top level is ignored");
            continue;
        };
        match key {
            "title" => match string(v, key, p) {
                Some(t) => {
                    if t.chars().count() > 256 {
                        p.warn(pos(v), "`title` is longer than 256 characters");
                    }
                    meta.title = t
                }
                None => p.warn(pos(v), "`title` is empty"),
            },
            "id" => {
                if let Some(id) = string(v, key, p) {
                    if !is_uuid(&id) {
                        p.warn(pos(v), format!("`id: {id}` is not a UUID"));
                    }
                    meta.id = Some(id);
                }
            }
            "name" => meta.name = string(v, key, p),
            "status" => {
                if let Some(s) = string(v, key, p) {
                    meta.status = Some(enum_value(v, key, &s, STATUSES, p));
                }
            }
            "level" => {
                if let Some(s) = string(v, key, p) {
                    meta.level = Some(enum_value(v, key, &s, LEVELS, p));
                }
            }
            "description" => meta.description = string(v, key, p).unwrap_or_default(),
            "license" => meta.license = string(v, key, p),
            "author" => {
                meta.authors = match &v.value {
                    Y::Seq(_) => strings(v, key, p),
                    _ => string(v, key, p)
                        .map(|a| {
                            a.split(',')
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty())
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            }
            "references" => meta.references = strings(v, key, p),
            "falsepositives" => meta.false_positives = strings(v, key, p),
            "fields" => meta.fields = strings(v, key, p),
            "date" => meta.date = date(v, key, p),
            "modified" => meta.modified = date(v, key, p),
            "tags" => meta.tags = tags(v, p),
            "related" => meta.related = related(v, p),
            "logsource" => logsource = read_logsource(v, p),
            "detection" => detection_node = Some(v),
            "filter" => filter_node = Some(v),
            "correlation" => correlation_node = Some(v),
            "generate" => generate = Some(v),
            // taxonomy, scope and custom attributes are kept verbatim
            _ => {
                meta.custom.insert(key.to_string(), source_text(v, src));
            }
        }
    }
    if meta.title.is_empty() {
        p.warn(pos(doc), "the rule has no `title`");
    }
    meta.data_sources = logsource_pairs(&logsource);

    let mut out = Document {
        kind: ir::RuleKind::Detection,
        pos: pos(doc),
        meta,
        logsource,
        detection: None,
        rules: vec![],
        correlation: None,
    };
    // Some repositories use `correlation:` for a free-text note; with a detection beside it,
    // that is what it is.
    if let (Some(c), Some(_)) = (correlation_node, detection_node)
        && c.as_map().is_none()
    {
        p.warn(
            pos(c),
            "`correlation` is text, not a Sigma correlation; kept as a custom attribute",
        );
        out.meta
            .custom
            .insert("correlation".into(), scalar_text(c).unwrap_or_default());
        correlation_node = None;
    }
    if let Some(c) = correlation_node {
        out.kind = ir::RuleKind::Correlation;
        let (rules, corr) = read_correlation(c, generate, p)?;
        out.rules = rules;
        out.correlation = Some(corr);
    } else if let Some(f) = filter_node {
        out.kind = ir::RuleKind::Filter;
        let Some(fmap) = f.as_map() else {
            p.error(
                pos(f),
                "`filter` must be a mapping with `rules`, selections and `condition`",
            );
            return None;
        };
        match f.get("rules") {
            Some(r) => out.rules = strings(r, "rules", p),
            None => p.error(
                pos(f),
                "a filter must name the rules it applies to (`rules:`)",
            ),
        }
        let entries: Vec<&(Node, Node)> = fmap
            .iter()
            .filter(|(k, _)| k.as_str() != Some("rules"))
            .collect();
        out.detection = Some(read_detections(f, &entries, src, p)?);
    } else if let Some(d) = detection_node {
        let Some(dmap) = d.as_map() else {
            p.error(
                pos(d),
                "`detection` must be a mapping of named detections and a `condition`",
            );
            return None;
        };
        let entries: Vec<&(Node, Node)> = dmap.iter().collect();
        out.detection = Some(read_detections(d, &entries, src, p)?);
    } else {
        p.error(
            pos(doc),
            "the document has no `detection` (nor `filter` or `correlation`)",
        );
        return None;
    }
    let unsupported = out.meta.status.as_deref() == Some("unsupported");
    if let Some(d) = &mut out.detection {
        finish_detections(d, unsupported, p);
    }
    if p.has_errors() { None } else { Some(out) }
}

fn enum_value(n: &Node, key: &str, s: &str, allowed: &[&str], p: &mut Problems) -> String {
    if allowed.contains(&s) {
        return s.to_string();
    }
    let cleaned = s
        .trim()
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_ascii_lowercase();
    if allowed.contains(&cleaned.as_str()) {
        p.warn(pos(n), format!("`{key}: {s}` read as `{cleaned}`"));
        return cleaned;
    }
    p.warn(
        pos(n),
        format!(
            "`{key}: {s}` is not one of {}; kept as written",
            allowed.join(", ")
        ),
    );
    s.to_string()
}

fn tags(n: &Node, p: &mut Problems) -> Vec<String> {
    let tags = strings(n, "tags", p);
    for (i, t) in tags.iter().enumerate() {
        let at = n.as_seq().and_then(|s| s.get(i)).map_or(pos(n), pos);
        match t.split_once('.') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {}
            _ => p.warn(
                at,
                format!("tag `{t}` has no namespace (`attack.…`, `cve.…`, `detection.…`, …)"),
            ),
        }
    }
    tags
}

fn related(n: &Node, p: &mut Problems) -> Vec<(String, String)> {
    let Some(items) = n.as_seq() else {
        p.warn(pos(n), "`related` should be a list of {id, type}");
        return vec![];
    };
    let mut out = Vec::new();
    for i in items {
        let id = i.get("id").and_then(scalar_text);
        let ty = i.get("type").and_then(scalar_text);
        match (id, ty) {
            (Some(id), Some(ty)) => {
                if !RELATED_TYPES.contains(&ty.as_str()) {
                    p.warn(
                        pos(i),
                        format!(
                            "related type `{ty}` is not one of {}",
                            RELATED_TYPES.join(", ")
                        ),
                    );
                }
                out.push((ty, id))
            }
            _ => p.warn(pos(i), "a `related` entry needs `id` and `type`"),
        }
    }
    out
}

fn read_logsource(n: &Node, p: &mut Problems) -> LogSource {
    let mut ls = LogSource::default();
    let Some(map) = n.as_map() else {
        if !matches!(n.value, Y::Null) {
            p.warn(
                pos(n),
                "`logsource` should be a mapping (category, product, service)",
            );
        }
        return ls;
    };
    for (k, v) in map {
        let Some(key) = k.as_str() else { continue };
        let list = |p: &mut Problems| match &v.value {
            Y::Seq(_) => {
                p.warn(
                    pos(v),
                    format!("logsource `{key}` is a list; read as any of its values"),
                );
                strings(v, key, p)
            }
            Y::Null => {
                p.warn(pos(v), format!("logsource `{key}` is empty"));
                vec![]
            }
            _ => scalar_text(v).into_iter().collect(),
        };
        match key {
            "category" => ls.category = list(p),
            "product" => ls.product = list(p),
            "service" => ls.service = list(p),
            "definition" => ls.definition = scalar_text(v),
            _ => ls
                .custom
                .push((key.to_string(), scalar_text(v).unwrap_or_default())),
        }
    }
    ls
}

fn logsource_pairs(ls: &LogSource) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, vs) in [
        ("product", &ls.product),
        ("category", &ls.category),
        ("service", &ls.service),
    ] {
        for v in vs {
            out.push((k.to_string(), v.clone()));
        }
    }
    if let Some(d) = &ls.definition {
        out.push(("definition".into(), d.clone()));
    }
    out.extend(ls.custom.iter().cloned());
    out
}

/// The source text of a node, dedented; for a map entry pass the key node as `from`.
pub(crate) fn source_slice(src: &str, from: &Node, to: &Node) -> String {
    let start = src[..from.span.start_byte.min(src.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = to.span.end_byte.clamp(start, src.len());
    let Some(text) = src.get(start..end) else {
        return String::new();
    };
    let indent = (from.span.start.col as usize).saturating_sub(1);
    text.lines()
        .map(|l| {
            let cut = l
                .char_indices()
                .take_while(|(i, c)| *i < indent && *c == ' ')
                .count();
            &l[cut..]
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

fn source_text(n: &Node, src: &str) -> String {
    match &n.value {
        Y::Map(_) | Y::Seq(_) => source_slice(src, n, n),
        _ => scalar_text(n).unwrap_or_default(),
    }
}

fn read_detections(
    parent: &Node,
    entries: &[&(Node, Node)],
    src: &str,
    p: &mut Problems,
) -> Option<Detections> {
    let mut named = Vec::new();
    let mut conditions = Vec::new();
    let mut timeframe = None;
    for (k, v) in entries {
        let Some(key) = k.as_str() else {
            p.error(pos(k), "detection names must be strings");
            continue;
        };
        match key {
            "condition" => match &v.value {
                Y::Seq(items) => {
                    for c in items {
                        match c.as_str() {
                            Some(s) => conditions.push((s.to_string(), pos(c))),
                            None => p.error(pos(c), "a condition must be a string"),
                        }
                    }
                }
                Y::Str { text, .. } => conditions.push((text.clone(), pos(v))),
                _ => p.error(pos(v), "`condition` must be a string or a list of strings"),
            },
            "timeframe" => timeframe = scalar_text(v),
            _ => {
                if let Some(body) = detection(v, p, 0) {
                    named.push(NamedDetection {
                        name: key.to_string(),
                        pos: pos(k),
                        text: source_slice(src, k, v),
                        body,
                    });
                }
            }
        }
    }
    if conditions.is_empty() {
        p.error(pos(parent), "the detection has no `condition`");
        return None;
    }
    Some(Detections {
        named,
        conditions,
        timeframe,
        resolved: vec![],
    })
}

/// Parse and resolve the conditions. A rule marked `status: unsupported` is kept even when its
/// condition is not Sigma (SigmaHQ keeps such rules in `unsupported/`): the problem is a warning
/// and the rule is shown without analysis.
fn finish_detections(d: &mut Detections, unsupported: bool, p: &mut Problems) {
    let mut local = Problems::default();
    d.resolved = resolve_conditions(d, &mut local);
    if d.resolved.len() < d.conditions.len() {
        if unsupported {
            for x in &mut local.0 {
                if x.severity == Severity::Error {
                    x.severity = Severity::Warning;
                    x.message
                        .push_str(" (the rule is `status: unsupported`; kept without analysis)");
                }
            }
        }
        p.0.extend(local.0);
        return;
    }
    p.0.extend(local.0);
    let used: std::collections::HashSet<&str> =
        d.resolved.iter().flat_map(|(c, _)| idents(c)).collect();
    for n in &d.named {
        if !used.contains(n.name.as_str()) {
            p.warn(
                n.pos,
                format!("detection `{}` is not used in the condition", n.name),
            );
        }
    }
}

const MAX_DETECTION_DEPTH: usize = 64;

/// A detection body: a map (AND of items), a list (OR of elements), or a single keyword.
pub(crate) fn detection(n: &Node, p: &mut Problems, depth: usize) -> Option<Detection> {
    if depth > MAX_DETECTION_DEPTH {
        p.error(pos(n), "detection nested too deeply");
        return None;
    }
    match &n.value {
        Y::Map(entries) => {
            if entries.is_empty() {
                p.error(
                    pos(n),
                    "an empty detection matches nothing; remove it or add fields",
                );
                return None;
            }
            let items: Vec<Detection> = entries
                .iter()
                .filter_map(|(k, v)| {
                    let key = match &k.value {
                        Y::Null => String::new(),
                        _ => scalar_text(k)?,
                    };
                    item(Some(&key), k, v, p).map(Detection::Item)
                })
                .collect();
            (items.len() == entries.len()).then(|| one_or(items, Detection::And))
        }
        Y::Seq(elems) => {
            if elems.is_empty() {
                p.error(pos(n), "an empty list matches nothing");
                return None;
            }
            // Plain values in a list are keywords (one item, OR of the values);
            // maps and nested lists are alternatives.
            if elems
                .iter()
                .all(|e| !matches!(e.value, Y::Map(_) | Y::Seq(_)))
            {
                return item(None, n, n, p).map(Detection::Item);
            }
            let mut alts = Vec::new();
            let mut keywords = Vec::new();
            for e in elems {
                match &e.value {
                    Y::Map(_) | Y::Seq(_) => alts.push(detection(e, p, depth + 1)?),
                    _ => keywords.push(e.clone()),
                }
            }
            if !keywords.is_empty() {
                let at = keywords[0].span;
                let list = Node {
                    value: Y::Seq(keywords),
                    span: at,
                };
                alts.push(Detection::Item(item(None, &list, &list, p)?));
            }
            Some(one_or(alts, Detection::Or))
        }
        _ => item(None, n, n, p).map(Detection::Item),
    }
}

fn one_or(mut v: Vec<Detection>, f: fn(Vec<Detection>) -> Detection) -> Detection {
    if v.len() == 1 { v.remove(0) } else { f(v) }
}

/// One `field|modifiers: values` entry, or a keyword list when `key` is `None`.
fn item(key: Option<&str>, key_node: &Node, v: &Node, p: &mut Problems) -> Option<DetectionItem> {
    let (field, mods) = match key {
        None => (None, Vec::new()),
        Some(k) => {
            let mut it = k.split('|');
            let f = it.next().unwrap_or("");
            (
                if f.is_empty() {
                    None
                } else {
                    Some(f.to_string())
                },
                it.map(str::to_string).collect::<Vec<_>>(),
            )
        }
    };
    let at = pos(key_node);
    let mut modifiers = Vec::new();
    for m in &mods {
        match Modifier::from_name(m) {
            Some(x) => modifiers.push(x),
            None => {
                let names: Vec<&str> = value::MODIFIERS.iter().map(|(n, _)| *n).collect();
                p.error(
                    at,
                    format!(
                        "unknown modifier `{m}`; Sigma modifiers are: {}",
                        names.join(", ")
                    ),
                );
                return None;
            }
        }
    }
    let raw: Vec<&Node> = match &v.value {
        Y::Seq(items) => items.iter().collect(),
        _ => vec![v],
    };
    if raw.is_empty() {
        p.error(pos(v), "an empty value list matches nothing");
        return None;
    }
    let is_re = modifiers.contains(&Modifier::Re);
    let mut values = Vec::new();
    for r in raw {
        let written = scalar_text(r);
        let Some(written) = written else {
            p.error(pos(r), "a detection value must be a string, number, boolean or null, not a nested list or map");
            return None;
        };
        let mut val = match &r.value {
            Y::Str { text, .. } if is_re => Value::Str {
                s: SigmaString::plain(text),
                cased: false,
            },
            Y::Str { text, .. } => {
                if let Some(slip) = escaped_wildcard_in_path(text) {
                    p.warn(
                        pos(r),
                        format!(
                            "`\\{slip}` in a path is a literal `{slip}` (Sigma escapes it); \
                             write `\\\\{slip}` for a backslash then a wildcard"
                        ),
                    );
                }
                Value::Str {
                    s: SigmaString::parse(text),
                    cased: false,
                }
            }
            Y::Int(_) | Y::Float(_) => Value::Num(written.clone()),
            Y::Bool(b) => Value::Bool(*b),
            _ => Value::Null,
        };
        let mut applied: Vec<Modifier> = Vec::new();
        for &m in &modifiers {
            let input = coerce_for(m, val, &written, r, p);
            match value::apply(m, input, &applied, field.is_some()) {
                Ok(x) => val = x,
                Err(e) => {
                    p.error(pos(r), format!("{e} (in `{}`)", key.unwrap_or("keywords")));
                    return None;
                }
            }
            applied.push(m);
        }
        values.push((val, written));
    }
    let all = modifiers.contains(&Modifier::All);
    if all && values.len() == 1 {
        p.warn(
            at,
            "`all` on a single value has no effect (the specification does not allow it)",
        );
    }
    Some(DetectionItem {
        field,
        modifiers: modifiers.clone(),
        modifier_names: mods,
        values,
        all,
        negated: modifiers.contains(&Modifier::Neq),
        pos: at,
    })
}

/// A number or boolean given to a string modifier (`CommandLine|contains: 1234`) means its text;
/// pySigma rejects it, detdex reads it as the string with a warning.
fn coerce_for(m: Modifier, v: Value, written: &str, n: &Node, p: &mut Problems) -> Value {
    use Modifier::*;
    let wants_string = matches!(
        m,
        Contains
            | StartsWith
            | EndsWith
            | Base64
            | Base64Offset
            | Wide
            | Utf16Be
            | Utf16
            | Windash
            | Re
            | Cased
            | Cidr
            | FieldRef
            | Expand
    );
    match v {
        Value::Num(_) | Value::Bool(_) if wants_string => {
            p.warn(
                pos(n),
                format!("the value `{written}` is not a string; read as the string \"{written}\""),
            );
            Value::Str {
                s: SigmaString::plain(written),
                cased: false,
            }
        }
        v => v,
    }
}

fn read_correlation(
    n: &Node,
    generate: Option<&Node>,
    p: &mut Problems,
) -> Option<(Vec<String>, Correlation)> {
    if n.as_map().is_none() {
        p.error(
            pos(n),
            "`correlation` must be a mapping (type, rules, group-by, timespan, condition)",
        );
        return None;
    }
    let kind = n.get("type").and_then(scalar_text);
    let Some(kind) = kind else {
        p.error(
            pos(n),
            format!(
                "a correlation needs a `type`: one of {}",
                CORRELATION_TYPES.join(", ")
            ),
        );
        return None;
    };
    if !CORRELATION_TYPES.contains(&kind.as_str()) {
        p.error(
            pos(n),
            format!(
                "unknown correlation type `{kind}`; expected one of {}",
                CORRELATION_TYPES.join(", ")
            ),
        );
        return None;
    }
    let rules = match n.get("rules") {
        Some(r) => strings(r, "rules", p),
        None => {
            p.error(
                pos(n),
                "a correlation must name the rules it correlates (`rules:`)",
            );
            return None;
        }
    };
    let group_by = n
        .get("group-by")
        .map(|g| strings(g, "group-by", p))
        .unwrap_or_default();
    let timespan = n.get("timespan").and_then(scalar_text);
    if timespan.is_none() {
        p.error(pos(n), "a correlation needs a `timespan` (e.g. `5m`, `1h`)");
    }
    if let Some(t) = &timespan {
        let (num, unit) = t.split_at(t.len().saturating_sub(1));
        if num.is_empty()
            || !num.bytes().all(|c| c.is_ascii_digit())
            || !matches!(unit, "s" | "m" | "h" | "d" | "w" | "M" | "y")
        {
            p.error(
                pos(n.get("timespan")?),
                format!("timespan `{t}` should be a number and a unit (s, m, h, d, w, M, y)"),
            );
        }
    }
    let mut condition = Vec::new();
    let mut field = Vec::new();
    match n.get("condition") {
        Some(c) => match c.as_map() {
            Some(m) => {
                for (k, v) in m {
                    let key = k.as_str().unwrap_or("");
                    match key {
                        "field" => field = strings_or_one(v),
                        "gt" | "gte" | "lt" | "lte" | "eq" | "neq" => match &v.value {
                            Y::Int(_) | Y::Float(_) => condition.push((key.to_string(), scalar_text(v).unwrap_or_default())),
                            _ => p.error(pos(v), format!("correlation condition `{key}` needs a number")),
                        },
                        _ => p.error(pos(k), format!("unknown correlation condition `{key}`; expected gt, gte, lt, lte, eq, neq or field")),
                    }
                }
            }
            None => p.error(
                pos(c),
                "a correlation `condition` must be a mapping such as `gte: 10`",
            ),
        },
        None if kind.starts_with("temporal") => {}
        None => p.error(
            pos(n),
            format!("a `{kind}` correlation needs a `condition` such as `gte: 10`"),
        ),
    }
    if kind.starts_with("value_") && field.is_empty() {
        p.error(pos(n), format!("a `{kind}` correlation needs `condition.field`: the field whose values it aggregates"));
    }
    let mut aliases = Vec::new();
    if let Some(a) = n.get("aliases").and_then(Node::as_map) {
        for (k, v) in a {
            let name = scalar_text(k).unwrap_or_default();
            let per_rule = v
                .as_map()
                .map(|m| {
                    m.iter()
                        .filter_map(|(r, f)| Some((scalar_text(r)?, scalar_text(f)?)))
                        .collect()
                })
                .unwrap_or_default();
            aliases.push((name, per_rule));
        }
    }
    let generate = generate
        .or_else(|| n.get("generate"))
        .map(|g| matches!(g.value, Y::Bool(true)))
        .unwrap_or(false);
    if p.has_errors() {
        return None;
    }
    Some((
        rules,
        Correlation {
            kind,
            group_by,
            timespan,
            condition,
            field,
            aliases,
            generate,
            pos: pos(n),
        },
    ))
}

fn strings_or_one(n: &Node) -> Vec<String> {
    match &n.value {
        Y::Seq(items) => items.iter().filter_map(scalar_text).collect(),
        _ => scalar_text(n).into_iter().collect(),
    }
}

/// Check the condition against the detection names; returns the resolved conditions.
fn resolve_conditions(d: &Detections, p: &mut Problems) -> Vec<(condition::Cond, Option<String>)> {
    let names: Vec<&str> = d.named.iter().map(|n| n.name.as_str()).collect();
    let mut out = Vec::new();
    for (text, at) in &d.conditions {
        // Sigma 1 aggregations (`selection | count() by x > 5`): keep the part before the pipe
        // and report the aggregation as unsupported.
        let (expr_text, aggregation) = match text.find('|') {
            Some(i) => {
                p.warn(
                    Pos { line: at.line, col: at.col + text[..i].chars().count() as u32 },
                    format!("`{}` is a Sigma 1 aggregation, not supported; the rule is read without it (write a correlation rule instead)", text[i..].trim()),
                );
                (&text[..i], Some(text[i..].trim().to_string()))
            }
            None => (text.as_str(), None),
        };
        let col_of = |offset: usize| {
            at.col + expr_text[..offset.min(expr_text.len())].chars().count() as u32
        };
        let mut parsed = condition::parse(expr_text);
        // `AND`/`OR`/`NOT` in capitals: pySigma rejects them, but the meaning is plain.
        let lowered = lowercase_operators(expr_text);
        if let Err(e) = &parsed
            && e.message.contains("operators are lowercase")
            && let Ok(c) = condition::parse(&lowered)
        {
            p.warn(
                Pos {
                    line: at.line,
                    col: col_of(e.offset),
                },
                format!(
                    "condition `{}`: operators should be lowercase; read as `{}`",
                    text.trim(),
                    lowered.trim()
                ),
            );
            parsed = Ok(c);
        }
        match parsed.and_then(|c| condition::resolve(&c, &names)) {
            Ok(c) => out.push((c, aggregation)),
            Err(e) => p.error(
                Pos {
                    line: at.line,
                    col: col_of(e.offset),
                },
                format!("condition `{}`: {}", text.trim(), e.message),
            ),
        }
    }
    out
}

/// The detection names a resolved condition uses.
pub(crate) fn idents(c: &condition::Cond) -> Vec<&str> {
    use condition::Cond;
    match c {
        Cond::And(v) | Cond::Or(v) => v.iter().flat_map(idents).collect(),
        Cond::Not(c) => idents(c),
        Cond::Ident { name, .. } => vec![name.as_str()],
        Cond::Of { .. } => vec![],
    }
}

/// The condition with the words `and`, `or`, `not`, `of`, `all`, `any`, `them` in any case
/// written in lowercase; every other character is kept.
fn lowercase_operators(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let lower = word.to_ascii_lowercase();
        if ["and", "or", "not", "of", "all", "any", "them"].contains(&lower.as_str()) {
            out.push_str(&lower);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '*' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}
