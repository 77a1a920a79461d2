//! Splunk security_content YAML: detections, macros, analytic stories and data sources, and
//! a whole checkout loaded and linked ([`Content`]).
//!
//! # Decisions
//!
//! - Each reader returns the value and its problems ([`Read`]). An **error** leaves the value
//!   out: the file is not YAML, not one mapping, or lacks a key without which the object means
//!   nothing (a detection's `name`, `id` or `search`; a macro's `name` or `definition`; a
//!   story's or data source's `name`). A **warning** keeps the value: another required key
//!   missing, a value of the wrong type (the field is left empty), an alias key
//!   (`data_sources:` for `data_source:`).
//! - Two layouts of detections are read: the one of the corpus (`date:`, ATT&CK and story
//!   names under `tags:`) and the newer one (`creation_date:`/`modification_date:`,
//!   `analytic_story:`, `mitre_attack_id:`, … at the top level, `finding:` or `rba:`). Tag
//!   keys are looked up under `tags:` first, then at the top level.
//! - Keys a reader does not know are kept verbatim (`other`, as YAML nodes), never a problem.
//! - A scalar where a list is expected is read as a list of one (with a warning); a number
//!   where a string is expected is read by its text (with a warning).

use crate::macros::{self, MacroDef, MacroTable};
use ir::{Diagnostic, Pos, Severity};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use yaml::{Node, Span, Value};

/// A value read from one file and the problems found on the way.
#[derive(Debug, Clone)]
pub struct Read<T> {
    /// None when an error made the object unreadable.
    pub value: Option<T>,
    pub problems: Vec<Diagnostic>,
}

/// One security_content detection.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    pub path: String,
    pub name: String,
    pub id: String,
    pub version: Option<i64>,
    /// `date:` (older layout).
    pub date: Option<String>,
    pub creation_date: Option<String>,
    pub modification_date: Option<String>,
    pub author: Option<String>,
    pub status: Option<String>,
    /// `type:` (TTP, Anomaly, Hunting, Correlation, …).
    pub kind: Option<String>,
    pub description: Option<String>,
    /// Data source names (`data_source:`, or `data_sources:`).
    pub data_source: Vec<String>,
    /// Where `data_source:`'s value is (the mapping's start when absent).
    pub data_source_pos: Pos,
    /// `datamodel:` (a few older files).
    pub datamodel: Vec<String>,
    /// The SPL, as YAML reads it.
    pub search: String,
    /// Where the `search:` value is in the file (quotes or block indicator included).
    pub search_span: Span,
    pub how_to_implement: Option<String>,
    pub known_false_positives: Option<String>,
    pub references: Vec<String>,
    pub drilldown_searches: Vec<Drilldown>,
    pub rba: Option<Rba>,
    pub finding: Option<Finding>,
    pub tags: Tags,
    pub tests: Vec<Test>,
    /// Top-level keys not read above, verbatim.
    pub other: Vec<(String, Node)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drilldown {
    pub name: Option<String>,
    pub search: Option<String>,
    pub earliest_offset: Option<String>,
    pub latest_offset: Option<String>,
}

/// Risk-based alerting (`rba:`): message, risk objects and threat objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rba {
    pub message: Option<String>,
    pub risk_objects: Vec<RiskObject>,
    pub threat_objects: Vec<RiskObject>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskObject {
    pub field: Option<String>,
    pub kind: Option<String>,
    pub score: Option<i64>,
}

/// `finding:` (newer layout): a title and its entities.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finding {
    pub title: Option<String>,
    /// `entity:` (one mapping or a list).
    pub entities: Vec<RiskObject>,
}

#[derive(Debug, Clone, Default)]
pub struct Tags {
    pub analytic_story: Vec<String>,
    /// Where `analytic_story:`'s value is (the document's start when absent).
    pub analytic_story_pos: Pos,
    pub asset_type: Option<String>,
    pub mitre_attack_id: Vec<String>,
    pub product: Vec<String>,
    pub security_domain: Option<String>,
    pub confidence: Option<i64>,
    pub impact: Option<i64>,
    pub risk_score: Option<i64>,
    pub message: Option<String>,
    pub required_fields: Vec<String>,
    pub observable: Vec<Observable>,
    pub cve: Vec<String>,
    pub atomic_guid: Vec<String>,
    /// Keys under `tags:` not read above, verbatim.
    pub other: Vec<(String, Node)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observable {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub role: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Test {
    pub name: Option<String>,
    pub test_type: Option<String>,
    pub attack_data: Vec<AttackData>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttackData {
    pub data: Option<String>,
    pub source: Option<String>,
    pub sourcetype: Option<String>,
}

/// One macro file (`macros/*.yml`).
#[derive(Debug, Clone, Default)]
pub struct Macro {
    pub path: String,
    /// The name without arity (a `name(n)` name is split).
    pub name: String,
    pub args: Vec<String>,
    pub definition: String,
    pub description: Option<String>,
    pub other: Vec<(String, Node)>,
}

impl Macro {
    pub fn def(&self) -> MacroDef {
        MacroDef {
            name: self.name.clone(),
            args: self.args.clone(),
            definition: self.definition.clone(),
            description: self.description.clone(),
        }
    }
}

/// One analytic story (`stories/**/*.yml`).
#[derive(Debug, Clone, Default)]
pub struct Story {
    pub path: String,
    pub name: String,
    pub id: Option<String>,
    pub version: Option<i64>,
    pub date: Option<String>,
    pub author: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub narrative: Option<String>,
    pub references: Vec<String>,
    pub tags: StoryTags,
    pub other: Vec<(String, Node)>,
}

#[derive(Debug, Clone, Default)]
pub struct StoryTags {
    pub category: Vec<String>,
    pub product: Vec<String>,
    pub usecase: Option<String>,
    pub cve: Vec<String>,
    pub other: Vec<(String, Node)>,
}

/// One data source (`data_sources/*.yml`).
#[derive(Debug, Clone, Default)]
pub struct DataSource {
    pub path: String,
    pub name: String,
    pub id: Option<String>,
    pub version: Option<i64>,
    pub date: Option<String>,
    pub author: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub sourcetype: Option<String>,
    pub separator: Option<String>,
    pub configuration: Option<String>,
    pub supported_ta: Vec<SupportedTa>,
    pub fields: Vec<String>,
    pub field_mappings: Vec<FieldMapping>,
    pub convert_to_log_source: Vec<FieldMapping>,
    pub example_log: Option<String>,
    pub other: Vec<(String, Node)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportedTa {
    pub name: Option<String>,
    pub url: Option<String>,
    pub version: Option<String>,
}

/// A field mapping: to a data model data set (`field_mappings:`) or to another data source
/// (`convert_to_log_source:`, `target` is then the data source's name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMapping {
    /// `data_model:` or `data_source:`.
    pub target: Option<String>,
    pub data_set: Option<String>,
    /// (from, to) pairs in file order.
    pub mapping: Vec<(String, String)>,
}

impl Detection {
    /// The line and column in the file (`source`, the file's text) of byte `offset` of
    /// [`Detection::search`]: exact for plain and single-quoted scalars and literal blocks
    /// (`|`), close for double-quoted ones with escapes and folded blocks. None when `source`
    /// is not the text the detection was read from.
    pub fn search_pos(&self, source: &str, offset: usize) -> Option<Pos> {
        scalar_pos(source, self.search_span, offset)
    }
}

/// See [`Detection::search_pos`]: walks the scalar's source text, counting the bytes its
/// value has, up to `offset`.
pub fn scalar_pos(source: &str, span: Span, offset: usize) -> Option<Pos> {
    let text = source.get(span.start_byte..span.end_byte)?;
    let first = text.chars().next()?;
    let block = matches!(first, '|' | '>');
    let quote = matches!(first, '\'' | '"').then_some(first);
    let mut line = span.start.line;
    let mut col = span.start.col;
    let mut body = text;
    // how many spaces of each line start are indentation, not text
    let mut indent = usize::MAX;
    if block {
        let header = text.find('\n')?;
        body = &text[header + 1..];
        indent = body.len() - body.trim_start_matches(' ').len();
        line += 1;
        col = 1;
    } else if quote.is_some() {
        body = &text[1..];
        col += 1;
    }
    // flow scalars and folded blocks fold line breaks: trailing blanks go, one break is a
    // space, n+1 breaks are n newlines
    let folds = first != '|';
    // ... and flow scalars drop the blanks that end a line
    let strips = !block;
    let mut chars = body.chars().peekable();
    let mut decoded = 0usize;
    let mut skip = if block { indent } else { 0 };
    let mut trailing = 0usize;
    let mut breaks = 0usize;
    while let Some(c) = chars.next() {
        if skip > 0 && (c == ' ' || c == '\t') {
            skip -= 1;
            col += 1;
            continue;
        }
        skip = 0;
        if c == '\n' {
            if folds {
                if strips {
                    decoded -= trailing;
                }
                trailing = 0;
                breaks += 1;
            } else {
                decoded += 1;
            }
            line += 1;
            col = 1;
            skip = indent;
            continue;
        }
        if breaks > 0 {
            decoded += if breaks == 1 { 1 } else { breaks - 1 };
            breaks = 0;
        }
        if decoded >= offset {
            return Some(Pos { line, col });
        }
        decoded += match (c, quote) {
            ('\'', Some('\'')) if chars.peek() == Some(&'\'') => {
                chars.next();
                col += 1;
                1
            }
            ('\\', Some('"')) => {
                chars.next();
                col += 1;
                1
            }
            (c, _) => c.len_utf8(),
        };
        trailing = if c == ' ' || c == '\t' {
            trailing + 1
        } else {
            0
        };
        col += 1;
    }
    (decoded >= offset).then_some(Pos { line, col })
}

// ---------------------------------------------------------------------------------------------
// Reading helpers

struct Reader<'a> {
    path: &'a str,
    problems: Vec<Diagnostic>,
    /// The spaces inserted by [`indent_quoted`], per round, as offsets in that round's text.
    inserted: Vec<Vec<usize>>,
}

/// How many quoted scalars of one file [`Reader::document`] re-indents at most.
const MAX_INDENT_FIXES: usize = 64;

/// `text` with one space inserted after every line break inside the quoted scalar that
/// starts at `pos`, and the offsets of the inserted spaces in the new text. None when no
/// quoted scalar starts there or it has no line break.
fn indent_quoted(text: &str, pos: Pos) -> Option<(String, Vec<usize>)> {
    let line_start = if pos.line <= 1 {
        0
    } else {
        let mut n = 1;
        let mut found = None;
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                n += 1;
                if n == pos.line {
                    found = Some(i + 1);
                    break;
                }
            }
        }
        found?
    };
    let start = line_start
        + text[line_start..]
            .chars()
            .take((pos.col as usize).saturating_sub(1))
            .map(char::len_utf8)
            .sum::<usize>();
    let bytes = text.as_bytes();
    let quote = *bytes.get(start)?;
    if quote != b'\'' && quote != b'"' {
        return None;
    }
    let mut i = start + 1;
    let mut breaks = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'\'' if quote == b'\'' => {
                if bytes.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    break;
                }
            }
            b'\\' if quote == b'"' => i += 1,
            b'"' if quote == b'"' => break,
            b'\n' => breaks.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    if breaks.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + breaks.len());
    let mut last = 0;
    let mut spaces = Vec::with_capacity(breaks.len());
    for &b in &breaks {
        out.push_str(&text[last..b]);
        spaces.push(out.len());
        out.push(' ');
        last = b;
    }
    out.push_str(&text[last..]);
    Some((out, spaces))
}

impl<'a> Reader<'a> {
    fn new(path: &'a str) -> Self {
        Reader {
            path,
            problems: Vec::new(),
            inserted: Vec::new(),
        }
    }

    fn push(&mut self, pos: Pos, severity: Severity, message: impl Into<String>) {
        self.problems
            .push(Diagnostic::new(self.path, pos, severity, message));
    }

    /// A span of the text as read, in the file's own text (undoing [`indent_quoted`]).
    fn original_span(&self, span: Span) -> Span {
        if self.inserted.is_empty() {
            return span;
        }
        let back = |mut byte: usize| {
            for round in self.inserted.iter().rev() {
                byte -= round.iter().filter(|&&p| p < byte).count();
            }
            byte
        };
        // Columns are only off on re-indented continuation lines, within a scalar.
        Span {
            start_byte: back(span.start_byte),
            end_byte: back(span.end_byte),
            ..span
        }
    }

    fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(pos, Severity::Warning, message);
    }

    /// The one document of `text`, a mapping; None (with an error) otherwise.
    fn document(&mut self, text: &str) -> Option<Node> {
        let mut fixed: Option<String> = None;
        let stream = loop {
            let current = fixed.as_deref().unwrap_or(text);
            match yaml::load(current) {
                Ok(s) => break s,
                Err(e) => {
                    // PyYAML (which Splunk's tooling uses) accepts a quoted scalar whose
                    // continuation lines are not indented; the YAML specification and our
                    // loader do not. Indent them by one space (which folding removes) and
                    // read again, with a warning.
                    if e.message.contains("invalid indentation in quoted scalar")
                        && self.inserted.len() < MAX_INDENT_FIXES
                        && let Some((next, spaces)) = indent_quoted(current, e.pos)
                    {
                        self.inserted.push(spaces);
                        self.warn(
                            e.pos,
                            "quoted scalar with unindented continuation lines (read as PyYAML reads it)",
                        );
                        fixed = Some(next);
                        continue;
                    }
                    self.push(e.pos, Severity::Error, e.message);
                    return None;
                }
            }
        };
        for w in &stream.warnings {
            self.warn(w.pos, w.message.clone());
        }
        let mut docs = stream.documents.into_iter();
        let Some(doc) = docs.next() else {
            self.push(
                Pos { line: 1, col: 1 },
                Severity::Error,
                "the file is empty",
            );
            return None;
        };
        if let Some(extra) = docs.next() {
            self.warn(
                extra.span.start,
                "more than one YAML document: only the first is read",
            );
        }
        if doc.as_map().is_none() {
            self.push(
                doc.span.start,
                Severity::Error,
                format!("expected a mapping, found {}", doc.value.kind()),
            );
            return None;
        }
        Some(doc)
    }

    /// A string: None when absent or null; a number or boolean by its text (with a warning).
    fn string_of(&mut self, key: &str, node: &Node) -> Option<String> {
        match &node.value {
            Value::Str { text, .. } => Some(text.clone()),
            Value::Null => None,
            Value::Int(i) => {
                self.warn(
                    node.span.start,
                    format!("`{key}` should be a string, found an integer"),
                );
                Some(i.to_string())
            }
            Value::Float(f) => {
                self.warn(
                    node.span.start,
                    format!("`{key}` should be a string, found a float"),
                );
                Some(f.to_string())
            }
            Value::Bool(b) => {
                self.warn(
                    node.span.start,
                    format!("`{key}` should be a string, found a boolean"),
                );
                Some(b.to_string())
            }
            other => {
                self.warn(
                    node.span.start,
                    format!(
                        "`{key}` should be a string, found {}: ignored",
                        other.kind()
                    ),
                );
                None
            }
        }
    }

    fn string(&mut self, map: &Node, key: &str) -> Option<String> {
        let node = map.get(key)?;
        self.string_of(key, node)
    }

    /// A required string: a problem of `severity` at the mapping's start when absent.
    fn required(&mut self, map: &Node, key: &str, severity: Severity) -> Option<String> {
        let v = self.string(map, key);
        if v.is_none() {
            let at = map.get(key).map_or(map.span.start, |n| n.span.start);
            self.push(at, severity, format!("missing required key `{key}`"));
        }
        v
    }

    fn int(&mut self, map: &Node, key: &str) -> Option<i64> {
        let node = map.get(key)?;
        match &node.value {
            Value::Int(i) => Some(*i),
            Value::Null => None,
            // `risk_score: 25.0`: a whole number written as a float
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(*f as i64),
            Value::Str { text, .. } if text.trim().parse::<i64>().is_ok() => {
                self.warn(
                    node.span.start,
                    format!("`{key}` should be an integer, found a string"),
                );
                text.trim().parse().ok()
            }
            other => {
                self.warn(
                    node.span.start,
                    format!(
                        "`{key}` should be an integer, found {}: ignored",
                        other.kind()
                    ),
                );
                None
            }
        }
    }

    /// A list of strings; a lone string is a list of one (with a warning).
    fn strings_of(&mut self, key: &str, node: &Node) -> Vec<String> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|n| self.string_of(key, n))
                .collect(),
            Value::Null => Vec::new(),
            Value::Map(_) => {
                self.warn(
                    node.span.start,
                    format!("`{key}` should be a list of strings, found a mapping: ignored"),
                );
                Vec::new()
            }
            _ => {
                self.warn(
                    node.span.start,
                    format!(
                        "`{key}` should be a list, found a single value: read as a list of one"
                    ),
                );
                self.string_of(key, node).into_iter().collect()
            }
        }
    }

    fn strings(&mut self, map: &Node, key: &str) -> Vec<String> {
        map.get(key)
            .map_or_else(Vec::new, |n| self.strings_of(key, n))
    }

    /// The items of a list of mappings (a lone mapping is a list of one, silently).
    fn maps<'n>(&mut self, key: &str, node: &'n Node) -> Vec<&'n Node> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter(|n| {
                    let ok = n.as_map().is_some();
                    if !ok && !n.is_null() {
                        self.warn(
                            n.span.start,
                            format!(
                                "an item of `{key}` should be a mapping, found {}: ignored",
                                n.value.kind()
                            ),
                        );
                    }
                    ok
                })
                .collect(),
            Value::Map(_) => vec![node],
            Value::Null => Vec::new(),
            other => {
                self.warn(
                    node.span.start,
                    format!(
                        "`{key}` should be a list of mappings, found {}: ignored",
                        other.kind()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// A mapping value; None (with a warning) when another kind.
    fn map<'n>(&mut self, map: &'n Node, key: &str) -> Option<&'n Node> {
        let node = map.get(key)?;
        match &node.value {
            Value::Map(_) => Some(node),
            Value::Null => None,
            other => {
                self.warn(
                    node.span.start,
                    format!(
                        "`{key}` should be a mapping, found {}: ignored",
                        other.kind()
                    ),
                );
                None
            }
        }
    }
}

/// The keys of `map` not in `known`, verbatim.
fn others(map: &Node, known: &[&str]) -> Vec<(String, Node)> {
    map.as_map()
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| {
            let key = match &k.value {
                Value::Str { text, .. } => text.clone(),
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".to_string(),
                _ => return None,
            };
            (!known.contains(&key.as_str())).then(|| (key, v.clone()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Detections

const DETECTION_KEYS: &[&str] = &[
    "name",
    "id",
    "version",
    "date",
    "creation_date",
    "modification_date",
    "author",
    "status",
    "type",
    "description",
    "data_source",
    "data_sources",
    "datamodel",
    "search",
    "how_to_implement",
    "known_false_positives",
    "references",
    "drilldown_searches",
    "rba",
    "finding",
    "tags",
    "tests",
    // newer layout: tags at the top level
    "analytic_story",
    "asset_type",
    "mitre_attack_id",
    "product",
    "security_domain",
    "confidence",
    "impact",
    "risk_score",
    "message",
    "required_fields",
    "observable",
    "cve",
    "atomic_guid",
];

const TAG_KEYS: &[&str] = &[
    "analytic_story",
    "asset_type",
    "mitre_attack_id",
    "product",
    "security_domain",
    "confidence",
    "impact",
    "risk_score",
    "message",
    "required_fields",
    "observable",
    "cve",
    "atomic_guid",
];

/// Reads one detection file.
pub fn read_detection(path: &str, text: &str) -> Read<Detection> {
    let mut r = Reader::new(path);
    let value = r.document(text).and_then(|doc| detection(&mut r, &doc));
    Read {
        value,
        problems: r.problems,
    }
}

fn detection(r: &mut Reader<'_>, doc: &Node) -> Option<Detection> {
    let name = r.required(doc, "name", Severity::Error);
    let id = r.required(doc, "id", Severity::Error);
    let search_node = doc.get("search");
    let search = r.required(doc, "search", Severity::Error);
    let (name, id, search) = (name?, id?, search?);
    let mut d = Detection {
        path: r.path.to_string(),
        name,
        id,
        search,
        search_span: search_node
            .map(|n| r.original_span(n.span))
            .unwrap_or_default(),
        ..Detection::default()
    };
    d.version = r.int(doc, "version");
    d.date = r.string(doc, "date");
    d.creation_date = r.string(doc, "creation_date");
    d.modification_date = r.string(doc, "modification_date");
    if d.version.is_none() && doc.get("version").is_none() {
        r.warn(doc.span.start, "missing required key `version`");
    }
    if d.date.is_none() && d.creation_date.is_none() && d.modification_date.is_none() {
        r.warn(doc.span.start, "missing required key `date`");
    }
    d.author = r.required(doc, "author", Severity::Warning);
    d.status = r.required(doc, "status", Severity::Warning);
    d.kind = r.required(doc, "type", Severity::Warning);
    d.description = r.required(doc, "description", Severity::Warning);
    d.data_source = r.strings(doc, "data_source");
    d.data_source_pos = doc
        .get("data_source")
        .or_else(|| doc.get("data_sources"))
        .map_or(doc.span.start, |n| n.span.start);
    if let Some(n) = doc.get("data_sources") {
        r.warn(n.span.start, "`data_sources:` read as `data_source:`");
        let more = r.strings_of("data_sources", n);
        d.data_source.extend(more);
    }
    d.datamodel = r.strings(doc, "datamodel");
    d.how_to_implement = r.string(doc, "how_to_implement");
    d.known_false_positives = r.string(doc, "known_false_positives");
    d.references = r.strings(doc, "references");
    if let Some(n) = doc.get("drilldown_searches") {
        for m in r.maps("drilldown_searches", n) {
            let dd = Drilldown {
                name: r.string(m, "name"),
                search: r.string(m, "search"),
                earliest_offset: r.string(m, "earliest_offset"),
                latest_offset: r.string(m, "latest_offset"),
            };
            d.drilldown_searches.push(dd);
        }
    }
    if let Some(m) = r.map(doc, "rba") {
        let mut rba = Rba {
            message: r.string(m, "message"),
            ..Rba::default()
        };
        if let Some(n) = m.get("risk_objects") {
            rba.risk_objects = risk_objects(r, "risk_objects", n);
        }
        if let Some(n) = m.get("threat_objects") {
            rba.threat_objects = risk_objects(r, "threat_objects", n);
        }
        d.rba = Some(rba);
    }
    if let Some(m) = r.map(doc, "finding") {
        let mut f = Finding {
            title: r.string(m, "title"),
            ..Finding::default()
        };
        if let Some(n) = m.get("entity").or_else(|| m.get("entities")) {
            f.entities = risk_objects(r, "entity", n);
        }
        d.finding = Some(f);
    }
    let tags = r.map(doc, "tags");
    d.tags = read_tags(r, tags, doc);
    if let Some(n) = doc.get("tests") {
        for m in r.maps("tests", n) {
            let mut t = Test {
                name: r.string(m, "name"),
                test_type: r.string(m, "test_type"),
                ..Test::default()
            };
            if let Some(a) = m.get("attack_data") {
                for m in r.maps("attack_data", a) {
                    t.attack_data.push(AttackData {
                        data: r.string(m, "data"),
                        source: r.string(m, "source"),
                        sourcetype: r.string(m, "sourcetype"),
                    });
                }
            }
            d.tests.push(t);
        }
    }
    d.other = others(doc, DETECTION_KEYS);
    Some(d)
}

fn risk_objects(r: &mut Reader<'_>, key: &str, node: &Node) -> Vec<RiskObject> {
    r.maps(key, node)
        .into_iter()
        .map(|m| RiskObject {
            field: r.string(m, "field"),
            kind: r.string(m, "type"),
            score: r.int(m, "score"),
        })
        .collect()
}

/// Tags under `tags:`, each missing one looked up at the top level (newer layout).
fn read_tags(r: &mut Reader<'_>, tags: Option<&Node>, doc: &Node) -> Tags {
    let pick =
        |key: &str| -> Option<&Node> { tags.and_then(|t| t.get(key)).or_else(|| doc.get(key)) };
    let mut t = Tags::default();
    let strings =
        |r: &mut Reader<'_>, key: &str| pick(key).map_or_else(Vec::new, |n| r.strings_of(key, n));
    t.analytic_story = strings(r, "analytic_story");
    t.analytic_story_pos = pick("analytic_story").map_or(doc.span.start, |n| n.span.start);
    t.mitre_attack_id = strings(r, "mitre_attack_id");
    t.product = strings(r, "product");
    t.required_fields = strings(r, "required_fields");
    t.cve = strings(r, "cve");
    t.atomic_guid = strings(r, "atomic_guid");
    let string = |r: &mut Reader<'_>, key: &str| pick(key).and_then(|n| r.string_of(key, n));
    t.asset_type = string(r, "asset_type");
    t.security_domain = string(r, "security_domain");
    t.message = string(r, "message");
    for (key, slot) in [
        ("confidence", &mut t.confidence),
        ("impact", &mut t.impact),
        ("risk_score", &mut t.risk_score),
    ] {
        *slot = match (tags.filter(|t| t.get(key).is_some()), doc.get(key)) {
            (Some(m), _) => r.int(m, key),
            (None, Some(_)) => r.int(doc, key),
            _ => None,
        };
    }
    if let Some(n) = pick("observable") {
        for m in r.maps("observable", n) {
            t.observable.push(Observable {
                name: r.string(m, "name"),
                kind: r.string(m, "type"),
                role: r.strings(m, "role"),
            });
        }
    }
    if let Some(tags) = tags {
        t.other = others(tags, TAG_KEYS);
    }
    t
}

// ---------------------------------------------------------------------------------------------
// Macros

/// Reads one macro file. A name written `name(n)` is split (a disagreeing `n` is a warning;
/// the `arguments:` win).
pub fn read_macro(path: &str, text: &str) -> Read<Macro> {
    let mut r = Reader::new(path);
    let value = r.document(text).and_then(|doc| {
        let name = r.required(&doc, "name", Severity::Error);
        let definition = match doc.get("definition") {
            // An empty definition is a macro that expands to nothing.
            Some(n) if n.is_null() => Some(String::new()),
            Some(_) => r.string(&doc, "definition"),
            None => {
                r.push(
                    doc.span.start,
                    Severity::Error,
                    "missing required key `definition`",
                );
                None
            }
        };
        let (name, definition) = (name?, definition?);
        let args = r.strings(&doc, "arguments");
        let description = r.string(&doc, "description");
        let (def, mismatch) = MacroDef::from_parts(&name, args, definition, description);
        if let Some(n) = mismatch {
            let at = doc.get("name").map_or(doc.span.start, |n| n.span.start);
            r.warn(
                at,
                format!(
                    "the name says {n} argument(s) but `arguments:` lists {}: read with {}",
                    def.args.len(),
                    def.args.len()
                ),
            );
        }
        Some(Macro {
            path: path.to_string(),
            name: def.name,
            args: def.args,
            definition: def.definition,
            description: def.description,
            other: others(&doc, &["name", "arguments", "definition", "description"]),
        })
    });
    Read {
        value,
        problems: r.problems,
    }
}

// ---------------------------------------------------------------------------------------------
// Stories

/// Reads one analytic story file.
pub fn read_story(path: &str, text: &str) -> Read<Story> {
    let mut r = Reader::new(path);
    let value = r.document(text).and_then(|doc| {
        let name = r.required(&doc, "name", Severity::Error)?;
        let mut s = Story {
            path: path.to_string(),
            name,
            id: r.required(&doc, "id", Severity::Warning),
            version: r.int(&doc, "version"),
            date: r.string(&doc, "date"),
            author: r.string(&doc, "author"),
            kind: r.string(&doc, "type"),
            status: r.string(&doc, "status"),
            description: r.required(&doc, "description", Severity::Warning),
            narrative: r.string(&doc, "narrative"),
            references: r.strings(&doc, "references"),
            ..Story::default()
        };
        if let Some(t) = r.map(&doc, "tags") {
            s.tags = StoryTags {
                category: r.strings(t, "category"),
                product: r.strings(t, "product"),
                usecase: r.string(t, "usecase"),
                cve: r.strings(t, "cve"),
                other: others(t, &["category", "product", "usecase", "cve"]),
            };
        }
        s.other = others(
            &doc,
            &[
                "name",
                "id",
                "version",
                "date",
                "author",
                "type",
                "status",
                "description",
                "narrative",
                "references",
                "tags",
            ],
        );
        Some(s)
    });
    Read {
        value,
        problems: r.problems,
    }
}

// ---------------------------------------------------------------------------------------------
// Data sources

/// Reads one data source file.
pub fn read_data_source(path: &str, text: &str) -> Read<DataSource> {
    let mut r = Reader::new(path);
    let value = r.document(text).and_then(|doc| {
        let name = r.required(&doc, "name", Severity::Error)?;
        let mut s = DataSource {
            path: path.to_string(),
            name,
            id: r.required(&doc, "id", Severity::Warning),
            version: r.int(&doc, "version"),
            date: r.string(&doc, "date"),
            author: r.string(&doc, "author"),
            description: r.string(&doc, "description"),
            source: r.string(&doc, "source"),
            sourcetype: r.string(&doc, "sourcetype"),
            separator: r.string(&doc, "separator"),
            configuration: r.string(&doc, "configuration"),
            fields: r.strings(&doc, "fields"),
            example_log: r.string(&doc, "example_log"),
            ..DataSource::default()
        };
        if let Some(n) = doc.get("supported_TA") {
            for m in r.maps("supported_TA", n) {
                let ta = SupportedTa {
                    name: r.string(m, "name"),
                    url: r.string(m, "url"),
                    version: version_text(m.get("version")),
                };
                s.supported_ta.push(ta);
            }
        }
        if let Some(n) = doc.get("field_mappings") {
            s.field_mappings = field_mappings(&mut r, "field_mappings", "data_model", n);
        }
        if let Some(n) = doc.get("convert_to_log_source") {
            s.convert_to_log_source =
                field_mappings(&mut r, "convert_to_log_source", "data_source", n);
        }
        s.other = others(
            &doc,
            &[
                "name",
                "id",
                "version",
                "date",
                "author",
                "description",
                "source",
                "sourcetype",
                "separator",
                "configuration",
                "supported_TA",
                "fields",
                "field_mappings",
                "convert_to_log_source",
                "example_log",
            ],
        );
        Some(s)
    });
    Read {
        value,
        problems: r.problems,
    }
}

/// A version written as a number or a string (`7.7.1`, `4.0`, `3`), by its text.
fn version_text(node: Option<&Node>) -> Option<String> {
    let node = node?;
    match &node.value {
        Value::Str { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

fn field_mappings(r: &mut Reader<'_>, key: &str, target: &str, node: &Node) -> Vec<FieldMapping> {
    let mut out = Vec::new();
    for m in r.maps(key, node) {
        let mut fm = FieldMapping {
            target: r.string(m, target),
            data_set: r.string(m, "data_set"),
            mapping: Vec::new(),
        };
        if let Some(map) = r.map(m, "mapping") {
            for (k, v) in map.as_map().unwrap_or(&[]) {
                if let (Some(k), Some(v)) = (version_text(Some(k)), version_text(Some(v))) {
                    fm.mapping.push((k, v));
                }
            }
        }
        out.push(fm);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A whole checkout

/// A security_content checkout: every detection, macro, story and data source, linked.
#[derive(Debug, Clone, Default)]
pub struct Content {
    pub root: PathBuf,
    pub detections: Vec<Detection>,
    pub macros: Vec<Macro>,
    pub stories: Vec<Story>,
    pub data_sources: Vec<DataSource>,
    /// The macros as an expansion table (a later file of the same name and arity wins, with a
    /// warning).
    pub macro_table: MacroTable,
    /// Every problem of every file (paths relative to `root`).
    pub problems: Vec<Diagnostic>,
    /// Stories and data sources a detection names that the checkout does not have (warnings
    /// at the detection's `analytic_story:` / `data_source:`).
    pub link_problems: Vec<Diagnostic>,
    /// Files read per folder: detections, macros, stories, data sources.
    pub files: FileCounts,
    /// For each detection, the stories it names (indexes into `stories`).
    pub detection_stories: Vec<Vec<usize>>,
    /// For each detection, its data sources (indexes into `data_sources`).
    pub detection_data_sources: Vec<Vec<usize>>,
    /// For each story, the detections that name it (indexes into `detections`).
    pub story_detections: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCounts {
    pub detections: usize,
    pub macros: usize,
    pub stories: usize,
    pub data_sources: usize,
}

enum Kind {
    Detection,
    Macro,
    Story,
    DataSource,
}

enum Parsed {
    Detection(Box<Read<Detection>>),
    Macro(Read<Macro>),
    Story(Read<Story>),
    DataSource(Read<DataSource>),
}

impl Content {
    /// Loads a checkout: `detections/**/*.yml`, `macros/*.yml`, `stories/**/*.yml`
    /// (`stories/deprecated` included), `data_sources/*.yml`. A missing folder is an empty one;
    /// an unreadable file is an error in `problems`. Files are read in order of path and in
    /// parallel.
    pub fn load(root: &Path) -> Content {
        let mut files: Vec<(Kind, PathBuf)> = Vec::new();
        let mut counts = FileCounts::default();
        for (dir, recursive) in [
            ("detections", true),
            ("macros", false),
            ("stories", true),
            ("data_sources", false),
        ] {
            let mut found = Vec::new();
            list_yml(&root.join(dir), recursive, &mut found);
            found.sort();
            let n = found.len();
            let kind = || match dir {
                "detections" => Kind::Detection,
                "macros" => Kind::Macro,
                "stories" => Kind::Story,
                _ => Kind::DataSource,
            };
            match dir {
                "detections" => counts.detections = n,
                "macros" => counts.macros = n,
                "stories" => counts.stories = n,
                _ => counts.data_sources = n,
            }
            files.extend(found.into_iter().map(|p| (kind(), p)));
        }
        let parsed = parse_all(root, &files);
        let mut c = Content {
            root: root.to_path_buf(),
            files: counts,
            ..Content::default()
        };
        for p in parsed {
            match p {
                Parsed::Detection(r) => {
                    let r = *r;
                    c.problems.extend(r.problems);
                    c.detections.extend(r.value);
                }
                Parsed::Macro(r) => {
                    c.problems.extend(r.problems);
                    c.macros.extend(r.value);
                }
                Parsed::Story(r) => {
                    c.problems.extend(r.problems);
                    c.stories.extend(r.value);
                }
                Parsed::DataSource(r) => {
                    c.problems.extend(r.problems);
                    c.data_sources.extend(r.value);
                }
            }
        }
        for m in &c.macros {
            if let Some(old) = c.macro_table.insert(m.def()) {
                c.problems.push(Diagnostic::new(
                    &m.path,
                    Pos { line: 1, col: 1 },
                    Severity::Warning,
                    format!(
                        "macro `{}` is defined again (this definition wins)",
                        macros::display_name(&old.name, old.arity())
                    ),
                ));
            }
        }
        c.link();
        c
    }

    fn link(&mut self) {
        let stories: HashMap<&str, usize> = self
            .stories
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let sources: HashMap<&str, usize> = self
            .data_sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut story_detections = vec![Vec::new(); self.stories.len()];
        let mut detection_stories = Vec::with_capacity(self.detections.len());
        let mut detection_data_sources = Vec::with_capacity(self.detections.len());
        let mut problems = Vec::new();
        for (i, d) in self.detections.iter().enumerate() {
            let mut linked = Vec::new();
            for name in &d.tags.analytic_story {
                match stories.get(name.as_str()) {
                    Some(&s) => {
                        if !linked.contains(&s) {
                            linked.push(s);
                            story_detections[s].push(i);
                        }
                    }
                    None => problems.push(Diagnostic::new(
                        &d.path,
                        d.tags.analytic_story_pos,
                        Severity::Warning,
                        format!("analytic story `{name}` is not in stories/"),
                    )),
                }
            }
            detection_stories.push(linked);
            let mut linked = Vec::new();
            for name in &d.data_source {
                // `Sysmon EventID 1 AND Sysmon EventID 11`: both sources
                let parts: Vec<&str> = match sources.get(name.as_str()) {
                    Some(_) => vec![name.as_str()],
                    None => name.split(" AND ").map(str::trim).collect(),
                };
                for part in parts {
                    match sources.get(part) {
                        Some(&s) => {
                            if !linked.contains(&s) {
                                linked.push(s);
                            }
                        }
                        None => problems.push(Diagnostic::new(
                            &d.path,
                            d.data_source_pos,
                            Severity::Warning,
                            format!("data source `{part}` is not in data_sources/"),
                        )),
                    }
                }
            }
            detection_data_sources.push(linked);
        }
        self.story_detections = story_detections;
        self.detection_stories = detection_stories;
        self.detection_data_sources = detection_data_sources;
        self.link_problems = problems;
    }

    /// The detection named `name`, if any.
    pub fn detection(&self, name: &str) -> Option<&Detection> {
        self.detections.iter().find(|d| d.name == name)
    }

    /// Expands the macros of a detection's search with this checkout's macros.
    pub fn expand(&self, d: &Detection) -> Result<macros::Expansion, macros::ExpandError> {
        macros::expand(&d.search, &self.macro_table)
    }
}

fn list_yml(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if recursive {
                list_yml(&path, true, out);
            }
        } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(path);
        }
    }
}

fn parse_all(root: &Path, files: &[(Kind, PathBuf)]) -> Vec<Parsed> {
    let parse = |(kind, path): &(Kind, PathBuf)| -> Parsed {
        let rel = path
            .strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let problems = vec![Diagnostic::new(
                    &rel,
                    Pos { line: 1, col: 1 },
                    Severity::Error,
                    format!("cannot read the file: {e}"),
                )];
                return match kind {
                    Kind::Detection => Parsed::Detection(Box::new(Read {
                        value: None,
                        problems,
                    })),
                    Kind::Macro => Parsed::Macro(Read {
                        value: None,
                        problems,
                    }),
                    Kind::Story => Parsed::Story(Read {
                        value: None,
                        problems,
                    }),
                    Kind::DataSource => Parsed::DataSource(Read {
                        value: None,
                        problems,
                    }),
                };
            }
        };
        match kind {
            Kind::Detection => Parsed::Detection(Box::new(read_detection(&rel, &text))),
            Kind::Macro => Parsed::Macro(read_macro(&rel, &text)),
            Kind::Story => Parsed::Story(read_story(&rel, &text)),
            Kind::DataSource => Parsed::DataSource(read_data_source(&rel, &text)),
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads <= 1 || files.len() < 64 {
        return files.iter().map(parse).collect();
    }
    // Striped, so that every thread gets a share of the large detection files.
    let mut out: Vec<(usize, Parsed)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    files
                        .iter()
                        .enumerate()
                        .skip(k)
                        .step_by(threads)
                        .map(|(i, f)| (i, parse(f)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests;
