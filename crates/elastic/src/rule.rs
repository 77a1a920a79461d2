//! Reading Elastic detection-rules TOML: the rules (`[metadata]` and `[rule]` tables, under
//! `rules/` and `rules_building_block/`) and the hunting queries (`[hunt]`, under `hunting/`),
//! into [`Document`]s: descriptive metadata, the ATT&CK ids and the queries with their positions
//! in the file. Parsing and lowering the queries is [`crate::lower`]'s work.
//!
//! # Decisions
//!
//! - The TOML is read with `toml`'s spanned tables, so every query knows the line and column
//!   where its text starts (after the opening `'''` or `"""` and the line break TOML drops).
//!   A file that is not valid TOML is an error at the position `toml` reports; nothing else
//!   of it is read.
//! - **Metadata**: `name` is the title, `rule_id` the id, `severity` the level, `maturity` the
//!   status, `author` the authors, `creation_date`/`updated_date` the dates; `license`,
//!   `references`, `false_positives`, `tags` as they are. Index patterns (`index`) and
//!   `[metadata] integration` are the data sources (`index: logs-endpoint.events.*`,
//!   `integration: endpoint`); `investigation_fields.field_names` the fields to show.
//!   `note` is kept as the `investigation guide` custom attribute, `setup` as `setup`, and the
//!   rest a page needs as custom attributes by their TOML name (`risk_score`, `type`,
//!   `building_block_type`, `timestamp_override`, `min_stack_version`, `threshold`,
//!   `new_terms`, `machine_learning_job_id`, `threat_*`, …), as text.
//! - **ATT&CK**: each `[[rule.threat]]` names a tactic (an `attack.<tactic>` tag, as Sigma
//!   writes it: `attack.privilege-escalation`) and techniques with subtechniques (their ids,
//!   in order, technique before its subtechniques).
//! - **Rule types**: `query`, `eql`, `esql`, `threshold`, `new_terms`, `threat_match` have a
//!   `query` in `language` (`kuery`, `eql`, `esql`, `lucene`); `machine_learning` rules have
//!   none (their job ids are kept instead). `[[rule.filters]]` (Kibana query DSL) are kept as
//!   JSON text, with the simple shapes read (`wildcard`, `match_phrase`, `exists`, negated or
//!   not). A threshold's fields and counts, a threat-match rule's indicator query are kept.
//! - **Hunting** files: `name`, `uuid`, `description`, `author`, `license`, `references`,
//!   `integration`, `mitre` (technique ids), `notes` (the custom attribute `notes`, one paragraph
//!   each) and `query = [...]`: one query each. A query's language is `sql` when it starts with
//!   `SELECT` or `WITH` (osquery), else EQL when `language` names EQL, else ES|QL. A query whose
//!   first line is a lone language tag (`sql`, left by writing `'''sql`) is read without that
//!   line, with a warning.
//! - Missing keys leave their field empty; a value of an unexpected type is read as text when it
//!   is a scalar and otherwise ignored. Reading never panics.

use crate::span::line_col;
use ir::{Diagnostic, Kind, Meta, Pos, Severity};
use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// What a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A detection rule (`[metadata]`, `[rule]`).
    Rule,
    /// A hunting file (`[hunt]`) with one or more queries.
    Hunt,
}

/// One query of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryText {
    /// `kuery`, `eql`, `esql`, `lucene`, `sql`, … (lower case).
    pub language: String,
    /// The query as TOML gives it.
    pub text: String,
    /// Line and column (1-based) in the file where `text` starts.
    pub line: u32,
    pub col: u32,
}

impl QueryText {
    /// The file position of a 1-based `line`/`col` of the query text.
    pub fn file_pos(&self, line: usize, col: usize) -> Pos {
        let l = self.line.saturating_add(line.saturating_sub(1) as u32);
        let c = if line <= 1 {
            self.col.saturating_add(col.saturating_sub(1) as u32)
        } else {
            col as u32
        };
        Pos { line: l, col: c }
    }
}

/// A `[[rule.filters]]` entry: Kibana query DSL, shown as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The entry as compact JSON.
    pub json: String,
    /// `meta.negate`: the filter excludes what it matches.
    pub negate: bool,
    /// `meta.disabled`.
    pub disabled: bool,
    /// The test, for the shapes read (`wildcard`, `match_phrase`, `term`, `exists`).
    pub test: Option<FilterTest>,
}

/// One field test of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterTest {
    pub field: String,
    pub kind: Kind,
    /// The values, each with its pattern (a `wildcard` value read with Lucene's escapes:
    /// `\\\\` in the TOML is one `\`).
    pub values: Vec<ir::Value>,
    pub case_sensitive: bool,
    /// A `match_phrase` (on an analysed text field: a phrase of whole words).
    pub phrase: bool,
}

/// `[rule.threshold]`: alert when `count >= value` per group of `fields` (and the
/// cardinality conditions).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Threshold {
    pub fields: Vec<String>,
    pub value: String,
    /// `(field, value)`: at least `value` distinct values of `field`.
    pub cardinality: Vec<(String, String)>,
}

/// A file's metadata and queries.
#[derive(Debug, Clone)]
pub struct Document {
    pub shape: Shape,
    pub meta: Meta,
    /// ATT&CK technique and subtechnique ids, in the order the file names them.
    pub attack: Vec<String>,
    /// `query`, `eql`, `esql`, `threshold`, `new_terms`, `machine_learning`, `threat_match`;
    /// `hunt` for hunting files.
    pub rule_type: String,
    pub queries: Vec<QueryText>,
    pub filters: Vec<Filter>,
    pub threshold: Option<Threshold>,
    /// `[rule.new_terms] value`: the fields whose new values (or combinations) alert.
    pub new_terms: Vec<String>,
    /// `machine_learning_job_id` (one or several).
    pub ml_jobs: Vec<String>,
    /// A threat-match rule's query over the indicator indices.
    pub threat_query: Option<QueryText>,
    /// Where the `[rule]` or `[hunt]` table starts.
    pub pos: Pos,
    /// Warnings found while reading.
    pub problems: Vec<Diagnostic>,
}

/// True when `text` (of a `.toml` file) looks like a detection rule (`[metadata]` and `[rule]`
/// tables) or a hunting file (`[hunt]`).
pub fn looks_like_rule(text: &str) -> bool {
    let (mut metadata, mut rule) = (false, false);
    for l in text.lines() {
        let l = l.trim_end();
        if l == "[hunt]" {
            return true;
        }
        metadata |= l == "[metadata]";
        rule |= l == "[rule]";
        if metadata && rule {
            return true;
        }
    }
    false
}

type Table<'i> = DeTable<'i>;
type Value<'i> = Spanned<DeValue<'i>>;

/// Read a detection rule or hunting file (`path` is shown in problems). `Err` when the text is
/// not TOML, or has neither a `[rule]` nor a `[hunt]` table.
pub fn read(path: &str, text: &str) -> Result<Document, Diagnostic> {
    let root = DeTable::parse(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        let (line, col) = line_col(text, at);
        Diagnostic::new(
            path,
            Pos {
                line: line as u32,
                col: col as u32,
            },
            Severity::Error,
            format!("not valid TOML: {}", e.message().trim()),
        )
    })?;
    let root = root.get_ref();
    let r = Reader {
        path,
        text,
        problems: Vec::new(),
    };
    if let Some(hunt) = root.get("hunt").and_then(|v| table(v)) {
        let pos = r.pos_of(root.get("hunt").map_or(0, |v| v.span().start));
        return Ok(r.hunt(hunt, pos));
    }
    let Some(rule_v) = root.get("rule") else {
        return Err(Diagnostic::new(
            path,
            Pos { line: 1, col: 1 },
            Severity::Error,
            "a detection-rules file needs a [rule] or [hunt] table",
        ));
    };
    let Some(rule) = table(rule_v) else {
        return Err(Diagnostic::new(
            path,
            r.pos_of(rule_v.span().start),
            Severity::Error,
            "`rule` is not a table",
        ));
    };
    let pos = r.table_pos("rule");
    let metadata = root.get("metadata").and_then(|v| table(v));
    Ok(r.rule(rule, metadata, pos))
}

struct Reader<'a> {
    path: &'a str,
    text: &'a str,
    problems: Vec<Diagnostic>,
}

fn table<'a, 'i>(v: &'a Value<'i>) -> Option<&'a Table<'i>> {
    v.get_ref().as_table()
}

/// A scalar as text (strings as they are, numbers as written, booleans, dates).
fn scalar(v: &DeValue) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.as_str().to_string()),
        DeValue::Float(f) => Some(f.as_str().to_string()),
        DeValue::Boolean(b) => Some(b.to_string()),
        DeValue::Datetime(d) => Some(d.to_string()),
        DeValue::Array(_) | DeValue::Table(_) => None,
    }
}

fn get_str(t: &Table, key: &str) -> Option<String> {
    t.get(key).and_then(|v| scalar(v.get_ref()))
}

/// A string or a list of scalars, as texts.
fn get_list(t: &Table, key: &str) -> Vec<String> {
    match t.get(key).map(|v| v.get_ref()) {
        Some(DeValue::Array(a)) => a.iter().filter_map(|v| scalar(v.get_ref())).collect(),
        Some(v) => scalar(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The tables of an array of tables (or a lone table).
fn get_tables<'a, 'i>(t: &'a Table<'i>, key: &str) -> Vec<&'a Table<'i>> {
    match t.get(key).map(|v| v.get_ref()) {
        Some(DeValue::Array(a)) => a.iter().filter_map(|v| v.get_ref().as_table()).collect(),
        Some(DeValue::Table(t)) => vec![t],
        _ => Vec::new(),
    }
}

/// `TA0004 Privilege Escalation` → `attack.privilege-escalation`.
fn tactic_tag(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    format!("attack.{}", words.join("-").to_ascii_lowercase())
}

/// The first word of a query, after whitespace and `//` comments, lower case.
fn first_word(q: &str) -> String {
    let mut rest = q;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |x| x.1);
        } else {
            break;
        }
    }
    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

impl Reader<'_> {
    fn pos_of(&self, offset: usize) -> Pos {
        let (line, col) = line_col(self.text, offset);
        Pos {
            line: line as u32,
            col: col as u32,
        }
    }

    /// The line of the `[name]` header (toml's spans of implicit tables are not the header's).
    fn table_pos(&self, name: &str) -> Pos {
        let header = format!("[{name}]");
        let mut offset = 0;
        for l in self.text.split_inclusive('\n') {
            if l.trim_end() == header {
                return self.pos_of(offset);
            }
            offset += l.len();
        }
        Pos { line: 1, col: 1 }
    }

    fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems
            .push(Diagnostic::new(self.path, pos, Severity::Warning, message));
    }

    /// A string value as a query, with the position where its text starts.
    fn query_text(&self, v: &Value, language: &str) -> Option<QueryText> {
        let DeValue::String(s) = v.get_ref() else {
            return None;
        };
        let span = v.span();
        let raw = self.text.get(span.start..).unwrap_or("");
        let mut start = span.start;
        if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
            start += 3;
            let after = &self.text[start.min(self.text.len())..];
            if after.starts_with("\r\n") {
                start += 2;
            } else if after.starts_with('\n') {
                start += 1;
            }
        } else if raw.starts_with(['\'', '"']) {
            start += 1;
        }
        let pos = self.pos_of(start);
        Some(QueryText {
            language: language.to_string(),
            text: s.to_string(),
            line: pos.line,
            col: pos.col,
        })
    }

    fn rule(mut self, rule: &Table, metadata: Option<&Table>, pos: Pos) -> Document {
        let empty = Table::default();
        let md = metadata.unwrap_or(&empty);
        let mut m = Meta {
            title: get_str(rule, "name").unwrap_or_default(),
            id: get_str(rule, "rule_id"),
            description: get_str(rule, "description")
                .unwrap_or_default()
                .trim()
                .to_string(),
            status: get_str(md, "maturity"),
            level: get_str(rule, "severity"),
            authors: get_list(rule, "author"),
            date: get_str(md, "creation_date"),
            modified: get_str(md, "updated_date"),
            license: get_str(rule, "license"),
            references: get_list(rule, "references"),
            tags: get_list(rule, "tags"),
            false_positives: get_list(rule, "false_positives")
                .iter()
                .map(|s| unindent(s))
                .collect(),
            ..Meta::default()
        };
        if m.title.trim().is_empty() {
            self.warn(pos, "the rule has no `name`");
        }
        let rule_type = get_str(rule, "type").unwrap_or_default();
        for i in get_list(rule, "index") {
            m.data_sources.push(("index".into(), i));
        }
        for i in get_list(md, "integration") {
            m.data_sources.push(("integration".into(), i));
        }
        if let Some(f) = rule
            .get("investigation_fields")
            .and_then(|v| table(v))
            .map(|t| get_list(t, "field_names"))
        {
            m.fields = f;
        }
        let c = &mut m.custom;
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                c.insert(k.to_string(), v.trim().to_string());
            }
        };
        put("investigation guide", get_str(rule, "note"));
        put("setup", get_str(rule, "setup"));
        for k in [
            "risk_score",
            "type",
            "building_block_type",
            "timestamp_override",
            "from",
            "interval",
            "max_signals",
            "anomaly_threshold",
            "rule_name_override",
            "event_category_override",
            "timeline_title",
            "threat_indicator_path",
        ] {
            put(k, get_str(rule, k));
        }
        for k in ["min_stack_version", "deprecation_date", "deprecated_reason"] {
            put(k, get_str(md, k));
        }
        let threat_index = get_list(rule, "threat_index");
        put(
            "threat_index",
            (!threat_index.is_empty()).then(|| threat_index.join(", ")),
        );
        put(
            "required_fields",
            Some(
                get_tables(rule, "required_fields")
                    .iter()
                    .filter_map(|t| {
                        let n = get_str(t, "name")?;
                        Some(match get_str(t, "type") {
                            Some(ty) => format!("{n} ({ty})"),
                            None => n,
                        })
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );
        put(
            "related_integrations",
            Some(
                get_tables(rule, "related_integrations")
                    .iter()
                    .filter_map(|t| {
                        let p = get_str(t, "package")?;
                        Some(match get_str(t, "integration") {
                            Some(i) => format!("{p}.{i}"),
                            None => p,
                        })
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );
        put(
            "threat_mapping",
            Some(
                get_tables(rule, "threat_mapping")
                    .iter()
                    .flat_map(|t| get_tables(t, "entries"))
                    .filter_map(|e| {
                        Some(format!(
                            "{} = {}",
                            get_str(e, "field")?,
                            get_str(e, "value")?
                        ))
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );

        let ml_jobs = get_list(rule, "machine_learning_job_id");
        put(
            "machine_learning_job_id",
            (!ml_jobs.is_empty()).then(|| ml_jobs.join(", ")),
        );
        let threshold = rule
            .get("threshold")
            .and_then(|v| table(v))
            .map(|t| Threshold {
                fields: get_list(t, "field"),
                value: get_str(t, "value").unwrap_or_default(),
                cardinality: get_tables(t, "cardinality")
                    .iter()
                    .filter_map(|c| Some((get_str(c, "field")?, get_str(c, "value")?)))
                    .collect(),
            });
        if let Some(t) = &threshold {
            put("threshold", Some(threshold_text(t)));
        }
        let mut new_terms = Vec::new();
        if let Some(t) = rule.get("new_terms").and_then(|v| table(v)) {
            new_terms = get_list(t, "value");
            let window = get_tables(t, "history_window_start")
                .iter()
                .find_map(|w| get_str(w, "value"));
            let mut s = format!("new values of {}", new_terms.join(", "));
            if let Some(w) = window {
                s.push_str(&format!(" (history from {w})"));
            }
            put("new_terms", Some(s));
        }
        let (attack, tactic_tags) = threat(rule);
        for t in tactic_tags {
            if !m.tags.contains(&t) {
                m.tags.push(t);
            }
        }

        let language = get_str(rule, "language")
            .map(|l| l.to_ascii_lowercase())
            .unwrap_or_default();
        let mut queries = Vec::new();
        if let Some(v) = rule.get("query") {
            match self.query_text(v, &language) {
                Some(q) => queries.push(q),
                None => {
                    let p = self.pos_of(v.span().start);
                    self.warn(p, "`query` is not a string: ignored")
                }
            }
        }
        let threat_query = rule.get("threat_query").and_then(|v| {
            let lang = get_str(rule, "threat_language").unwrap_or_else(|| "kuery".into());
            self.query_text(v, &lang.to_ascii_lowercase())
        });
        let filters = get_tables(rule, "filters")
            .into_iter()
            .map(filter)
            .collect();
        Document {
            shape: Shape::Rule,
            meta: m,
            attack,
            rule_type,
            queries,
            filters,
            threshold,
            new_terms,
            ml_jobs,
            threat_query,
            pos,
            problems: self.problems,
        }
    }

    fn hunt(mut self, hunt: &Table, pos: Pos) -> Document {
        let mut m = Meta {
            title: get_str(hunt, "name").unwrap_or_default(),
            id: get_str(hunt, "uuid"),
            description: get_str(hunt, "description")
                .unwrap_or_default()
                .trim()
                .to_string(),
            authors: get_list(hunt, "author"),
            license: get_str(hunt, "license"),
            references: get_list(hunt, "references"),
            ..Meta::default()
        };
        for i in get_list(hunt, "integration") {
            m.data_sources.push(("integration".into(), i));
        }
        let notes = get_list(hunt, "notes");
        if !notes.is_empty() {
            m.custom.insert("notes".into(), notes.join("\n\n"));
        }
        let languages: Vec<String> = get_list(hunt, "language")
            .iter()
            .map(|l| l.to_ascii_lowercase())
            .collect();
        let main = if languages.iter().any(|l| l == "eql") {
            "eql"
        } else {
            "esql"
        };
        let mut queries = Vec::new();
        let values: Vec<&Value> = match hunt.get("query").map(|v| v.get_ref()) {
            Some(DeValue::Array(a)) => a.iter().collect(),
            Some(_) => hunt.get("query").into_iter().collect(),
            None => Vec::new(),
        };
        for v in values {
            let Some(mut q) = self.query_text(v, main) else {
                let p = self.pos_of(v.span().start);
                self.warn(p, "a hunting query is not a string: ignored");
                continue;
            };
            // `'''sql`: TOML keeps the tag as the query's first line.
            if let Some((tag, rest)) = q.text.split_once('\n')
                && matches!(tag.trim(), "sql" | "esql" | "eql")
            {
                let p = Pos {
                    line: q.line,
                    col: q.col,
                };
                self.warn(
                    p,
                    format!(
                        "the query starts with a line `{}` (a code-fence language tag?): read without it",
                        tag.trim()
                    ),
                );
                q.text = rest.to_string();
                q.line += 1;
                q.col = 1;
            }
            if matches!(first_word(&q.text).as_str(), "select" | "with") {
                q.language = "sql".into();
            }
            queries.push(q);
        }
        let attack = get_list(hunt, "mitre");
        Document {
            shape: Shape::Hunt,
            meta: m,
            attack,
            rule_type: "hunt".into(),
            queries,
            filters: Vec::new(),
            threshold: None,
            new_terms: Vec::new(),
            ml_jobs: Vec::new(),
            threat_query: None,
            pos,
            problems: self.problems,
        }
    }
}

/// `count >= 2 by host.id, host.name; distinct kibana.alert.rule.threat.tactic.id >= 3`.
pub fn threshold_text(t: &Threshold) -> String {
    let mut s = format!("count >= {}", t.value);
    if !t.fields.is_empty() {
        s.push_str(&format!(" by {}", t.fields.join(", ")));
    }
    for (f, v) in &t.cardinality {
        s.push_str(&format!("; distinct {f} >= {v}"));
    }
    s
}

/// The technique ids of `[[rule.threat]]` (each technique, then its subtechniques) and the
/// `attack.<tactic>` tags.
fn threat(rule: &Table) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut tags = Vec::new();
    for t in get_tables(rule, "threat") {
        if let Some(name) = t
            .get("tactic")
            .and_then(|v| table(v))
            .and_then(|t| get_str(t, "name"))
        {
            let tag = tactic_tag(&name);
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        for tech in get_tables(t, "technique") {
            let mut push = |id: Option<String>| {
                if let Some(id) = id.map(|s| s.trim().to_string())
                    && !id.is_empty()
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            };
            push(get_str(tech, "id"));
            for sub in get_tables(tech, "subtechnique") {
                push(get_str(sub, "id"));
            }
        }
    }
    (ids, tags)
}

/// A false-positive entry written as an indented TOML block string, one paragraph.
fn unindent(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn filter(t: &Table) -> Filter {
    let meta = t.get("meta").and_then(|v| table(v));
    let flag = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(|v| v.get_ref().as_bool())
            .unwrap_or(false)
    };
    let mut json = String::new();
    write_json_table(t, &mut json);
    let query = t.get("query").and_then(|v| table(v));
    let test = query
        .and_then(filter_test)
        // A Kibana `exists` filter may sit beside `query` rather than in it.
        .or_else(|| filter_test(t));
    Filter {
        json,
        negate: flag("negate"),
        disabled: flag("disabled"),
        test,
    }
}

/// `{wildcard: {f: {value, case_insensitive}}}`, `{match_phrase: {f: v}}`, `{term: {f: v}}`,
/// `{exists: {field: f}}`.
fn filter_test(q: &Table) -> Option<FilterTest> {
    if let Some(e) = q.get("exists").and_then(|v| table(v)) {
        return Some(FilterTest {
            field: get_str(e, "field")?,
            kind: Kind::Exists,
            values: Vec::new(),
            case_sensitive: false,
            phrase: false,
        });
    }
    for (key, kind) in [
        ("wildcard", Kind::Eq),
        ("match_phrase", Kind::Eq),
        ("term", Kind::Eq),
        ("prefix", Kind::StartsWith),
        ("regexp", Kind::Regex),
    ] {
        let Some(inner) = q.get(key).and_then(|v| table(v)) else {
            continue;
        };
        let (field, v) = inner.iter().next()?;
        let (value, insensitive) = match v.get_ref() {
            DeValue::Table(o) => (
                get_str(o, "value").or_else(|| get_str(o, "query"))?,
                o.get("case_insensitive")
                    .and_then(|b| b.get_ref().as_bool())
                    .unwrap_or(false),
            ),
            other => (scalar(other)?, false),
        };
        let value = match key {
            "wildcard" => ir::Value {
                written: wildcard_unescape(&value),
                pattern: Some(ir::Pattern::parse(&value, ir::Syntax::LUCENE)),
                expanded: Vec::new(),
            },
            _ => ir::Value::new(kind, value, ir::Syntax::Literal),
        };
        return Some(FilterTest {
            field: field.get_ref().to_string(),
            kind,
            values: vec![value],
            case_sensitive: !insensitive,
            phrase: key == "match_phrase",
        });
    }
    None
}

/// A wildcard query value with its escapes resolved: `\\c` is the character `c`, except an
/// escaped `*` or `?`, kept escaped (`\\*`) so it does not read as a wildcard.
fn wildcard_unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(n @ ('*' | '?')) => {
                out.push('\\');
                out.push(n);
            }
            Some(n) => out.push(n),
            None => out.push('\\'),
        }
    }
    out
}

fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json_table(t: &Table, out: &mut String) {
    // Keys in file order are not kept by `toml`; sorted keys read the same.
    let sorted: BTreeMap<&str, &Value> = t.iter().map(|(k, v)| (k.get_ref().as_ref(), v)).collect();
    out.push('{');
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_json_str(k, out);
        out.push_str(": ");
        write_json(v.get_ref(), out);
    }
    out.push('}');
}

fn write_json(v: &DeValue, out: &mut String) {
    match v {
        DeValue::String(s) => write_json_str(s, out),
        DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
            out.push_str(&scalar(v).unwrap_or_default())
        }
        DeValue::Datetime(d) => write_json_str(&d.to_string(), out),
        DeValue::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(e.get_ref(), out);
            }
            out.push(']');
        }
        DeValue::Table(t) => write_json_table(t, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"[metadata]
creation_date = "2020/01/01"
integration = ["endpoint", "windows"]
maturity = "production"
updated_date = "2024/05/06"

[rule]
author = ["Elastic"]
description = """
Finds things.
"""
false_positives = [
    """
    Admins doing
    admin things.
    """,
]
index = ["logs-endpoint.events.process-*", "winlogbeat-*"]
language = "eql"
license = "Elastic License v2"
name = "A rule"
note = """
## Triage
Look."""
risk_score = 47
rule_id = "0000-1111"
severity = "medium"
tags = ["OS: Windows"]
type = "eql"
query = '''
process where
  process.name == "x.exe"
'''

[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."file.path"]
case_insensitive = true
value = "C:\\x\\*"

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
[[rule.threat.technique.subtechnique]]
id = "T1059.001"
name = "PowerShell"

[rule.threat.tactic]
id = "TA0002"
name = "Execution"
"#;

    #[test]
    fn reads_a_rule() {
        let d = read("r.toml", RULE).unwrap();
        assert_eq!(d.shape, Shape::Rule);
        let m = &d.meta;
        assert_eq!(m.title, "A rule");
        assert_eq!(m.id.as_deref(), Some("0000-1111"));
        assert_eq!(m.level.as_deref(), Some("medium"));
        assert_eq!(m.status.as_deref(), Some("production"));
        assert_eq!(m.date.as_deref(), Some("2020/01/01"));
        assert_eq!(m.modified.as_deref(), Some("2024/05/06"));
        assert_eq!(m.description, "Finds things.");
        assert_eq!(m.false_positives, ["Admins doing admin things."]);
        assert_eq!(m.custom["risk_score"], "47");
        assert_eq!(m.custom["investigation guide"], "## Triage\nLook.");
        assert_eq!(
            m.data_sources,
            [
                (
                    "index".to_string(),
                    "logs-endpoint.events.process-*".to_string()
                ),
                ("index".into(), "winlogbeat-*".into()),
                ("integration".into(), "endpoint".into()),
                ("integration".into(), "windows".into()),
            ]
        );
        assert_eq!(d.attack, ["T1059", "T1059.001"]);
        assert!(m.tags.contains(&"attack.execution".to_string()));
        let q = &d.queries[0];
        assert_eq!(q.language, "eql");
        assert!(q.text.starts_with("process where"));
        // The query starts on the line after `query = '''`.
        assert_eq!((q.line, q.col), (31, 1));
        assert_eq!(q.file_pos(2, 3), Pos { line: 32, col: 3 });
        assert_eq!(d.pos.line, 7);
        let f = &d.filters[0];
        assert!(f.negate);
        let t = f.test.as_ref().unwrap();
        assert_eq!(
            (t.field.as_str(), t.kind, t.case_sensitive),
            ("file.path", Kind::Eq, false)
        );
        // The wildcard query's escapes resolved: `\x` is `x`, `\*` a literal `*`.
        let p = t.values[0].pattern.as_ref().unwrap();
        assert_eq!(p.shape(), ir::Shape::Exact("C:x*"));
        assert!(f.json.contains(r#""value": "C:\\x\\*""#), "{}", f.json);
    }

    #[test]
    fn reads_a_hunt_with_several_languages() {
        let text = "[hunt]\nname = \"H\"\nuuid = \"u\"\nlanguage = [\"ES|QL\", \"SQL\"]\nmitre = [\"T1053.003\"]\nnotes = [\"a\", \"b\"]\nquery = [\n'''\nfrom logs-*\n| where x == 1\n''',\n'''\nSELECT * FROM crontab\n''',\n'''sql\nfrom a\n''']\n";
        let d = read("h.toml", text).unwrap();
        assert_eq!(d.shape, Shape::Hunt);
        assert_eq!(d.attack, ["T1053.003"]);
        assert_eq!(d.meta.custom["notes"], "a\n\nb");
        let langs: Vec<&str> = d.queries.iter().map(|q| q.language.as_str()).collect();
        assert_eq!(langs, ["esql", "sql", "esql"]);
        assert_eq!(d.queries[0].line, 9);
        assert_eq!(d.queries[2].text, "from a\n");
        assert_eq!(d.queries[2].line, 16);
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
    }

    #[test]
    fn bad_toml_is_an_error_with_its_position() {
        let e = read("x.toml", "[rule]\nname = \"a\"\nx = = 1\n").unwrap_err();
        assert_eq!(e.severity, Severity::Error);
        assert_eq!((e.line, e.col), (3, 5), "{e}");
        assert!(read("x.toml", "[other]\na = 1\n").is_err());
    }

    #[test]
    fn detection() {
        assert!(looks_like_rule(RULE));
        assert!(looks_like_rule("[hunt]\n"));
        assert!(!looks_like_rule("[package]\nname = \"x\"\n"));
        assert!(!looks_like_rule("[rule]\n"));
    }

    #[test]
    fn never_panics_on_odd_values() {
        for text in [
            "[metadata]\n[rule]\nquery = 3\nthreat = 1\ntags = [1, [2]]\n",
            "[metadata]\n[rule]\nquery = \"a\"\nfilters = [1]\nthreshold = {field = 1}\n",
            "[hunt]\nquery = [1, '''x''']\nlanguage = 5\n",
            "[rule]\n[[rule.threat]]\ntactic = 1\ntechnique = [{id = 2}]\n",
        ] {
            let _ = read("x.toml", text);
        }
    }
}
