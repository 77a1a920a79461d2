//! A rule's translations into the conversion targets (`convert`), made when a report is asked
//! for: the rule's Sigma text is read again and converted for each target. Loading the catalog
//! converts nothing (see `docs/benchmarks.md` for what converting at load would cost).

use convert::{Converter, Target};
use ir::{Format, Rule, RuleKind};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::collections::HashSet;
use std::sync::OnceLock;

/// The note of every row of the "Required Data Sources" table.
pub const DATA_SOURCE_NOTE: &str = "Ensure this data connector is enabled";

/// Whether a translation succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Error,
}

/// One rule in one target's language, or why it cannot be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Translation {
    /// The target's name, as `detdex convert --target` takes it (`kql-xdr`, `kql-asim`).
    pub target: &'static str,
    /// How pages name the target ("KQL (Microsoft 365 Defender)").
    pub label: &'static str,
    pub status: Status,
    /// The query (several conditions: one query each, separated by a blank line).
    pub query: Option<String>,
    /// Why the rule has no query in this target.
    pub error: Option<String>,
    /// The tables (XDR) or ASIM parsers the query reads, in order of first use.
    pub tables: Vec<String>,
}

/// A rule's translations, one per target. Serialised as two keys of the report:
/// `translations`, an object `{target: query}` (`null` when the rule cannot be translated),
/// and `translation_details`, the list of [`Translation`]s with status, error and tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translations(pub Vec<Translation>);

impl std::ops::Deref for Translations {
    type Target = [Translation];
    fn deref(&self) -> &[Translation] {
        &self.0
    }
}

struct QueryMap<'a>(&'a [Translation]);

impl Serialize for QueryMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for t in self.0 {
            m.serialize_entry(t.target, &t.query)?;
        }
        m.end()
    }
}

impl Serialize for Translations {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("translations", &QueryMap(&self.0))?;
        m.serialize_entry("translation_details", &self.0)?;
        m.end()
    }
}

/// A row of the "Required Data Sources" table: a table the translations read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataSource {
    pub table: String,
    /// The targets whose query reads it.
    pub targets: Vec<&'static str>,
    pub note: &'static str,
}

/// How pages name a target.
pub fn target_label(t: Target) -> &'static str {
    match t {
        Target::KqlXdr => "KQL (Microsoft 365 Defender)",
        Target::KqlAsim => "KQL (Microsoft Sentinel ASIM)",
        Target::Spl => "SPL (Splunk)",
        Target::Eql => "EQL (Elastic)",
        Target::Esql => "ES|QL (Elastic)",
    }
}

/// The built-in converter of every target (or why its pipeline does not load), built once.
fn converters() -> &'static [(Target, Result<Converter, String>)] {
    static CONVERTERS: OnceLock<Vec<(Target, Result<Converter, String>)>> = OnceLock::new();
    CONVERTERS.get_or_init(|| {
        Target::ALL
            .into_iter()
            .map(|t| {
                let c = Converter::new(t, vec![])
                    .map_err(|e| format!("the built-in pipeline does not load: {e}"));
                (t, c)
            })
            .collect()
    })
}

/// Build the converters now (loading the built-in pipelines takes ~20 ms), so that the first
/// report does not wait for them. Reports build them on first use otherwise.
pub fn prepare() {
    converters();
}

/// Convert one Sigma document for one target: the query (one per condition, separated by a
/// blank line, as `detdex convert` prints them) and the tables it reads, or why it cannot be.
pub fn convert_document(
    c: &Converter,
    doc: &sigma::Document,
) -> Result<(String, Vec<String>), String> {
    let converted = c.convert_full(doc)?;
    Ok((converted.queries.join("\n\n"), converted.tables))
}

/// The translations of a rule: one per target for a Sigma detection rule, none otherwise
/// (filters and correlations are not converted).
pub fn translations(rule: &Rule) -> Translations {
    if rule.format != Format::Sigma || rule.kind != RuleKind::Detection {
        return Translations::default();
    }
    let doc = document(rule);
    let list = converters()
        .iter()
        .map(|(t, c)| {
            let result = match (&doc, c) {
                (Err(e), _) | (_, Err(e)) => Err(e.clone()),
                (Ok(d), Ok(c)) => convert_document(c, d),
            };
            let (status, query, error, tables) = match result {
                Ok((q, tables)) => (Status::Ok, Some(q), None, tables),
                Err(e) => (Status::Error, None, Some(e), vec![]),
            };
            Translation {
                target: t.name(),
                label: target_label(*t),
                status,
                query,
                error,
                tables,
            }
        })
        .collect();
    Translations(list)
}

/// The rule's Sigma document, read again from the rule's text: a document merged with an
/// `action: global` template keeps the template's text before it, and a repeated one the text
/// of the document it repeats, so the last document of the text is the rule. A text that does
/// not read alone (a document indented after `---`) is read from the rule's file.
fn document(rule: &Rule) -> Result<sigma::Document, String> {
    let parsed = sigma::parse(&rule.text);
    if let Some(p) = parsed.documents.into_iter().next_back() {
        return Ok(p.doc);
    }
    let index = rule
        .key
        .rsplit_once('#')
        .and_then(|(_, n)| n.parse::<usize>().ok())
        .unwrap_or(1);
    let text = std::fs::read_to_string(&rule.path)
        .map_err(|e| format!("the rule's file cannot be read again: {e}"))?;
    let parsed = sigma::parse(text.strip_prefix('\u{feff}').unwrap_or(&text));
    match parsed.documents.into_iter().find(|p| p.index == index) {
        Some(p) => Ok(p.doc),
        None => {
            let why = parsed
                .problems
                .iter()
                .find(|p| p.severity == ir::Severity::Error)
                .map_or_else(String::new, |p| format!(": {}", p.message));
            Err(format!("the rule's file no longer holds this rule{why}"))
        }
    }
}

/// What a team can deploy: a target, and the tables (or ASIM parsers) its SIEM has data in.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub target: Target,
    /// Table names, compared ignoring ASCII case; empty: any table.
    pub have: Vec<String>,
}

impl Deployment {
    /// A deployment; `have` names tables, so it needs a target whose queries read tables.
    pub fn new(target: Target, have: Vec<String>) -> Result<Deployment, String> {
        if !have.is_empty() && target.builtin_schema().is_none() {
            return Err(format!(
                "{} queries name no tables, so a list of tables cannot restrict them",
                target.name()
            ));
        }
        Ok(Deployment { target, have })
    }

    /// A deployment of the target named `target` with the tables of `have` (names separated
    /// by commas, blanks ignored); an unknown target is an error naming the known ones.
    pub fn parse(target: &str, have: &str) -> Result<Deployment, String> {
        let t = Target::from_name(target.trim()).ok_or_else(|| {
            let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
            format!("unknown target {target:?} (one of {})", names.join(", "))
        })?;
        let have = have
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect();
        Deployment::new(t, have)
    }

    /// Whether a query reading `tables` deploys.
    pub fn admits(&self, tables: &[String]) -> bool {
        self.have.is_empty()
            || tables
                .iter()
                .all(|t| self.have.iter().any(|h| h.eq_ignore_ascii_case(t)))
    }
}

/// The names of the conversion targets (`kql-xdr`, …, `esql`).
pub fn target_names() -> Vec<&'static str> {
    Target::ALL.iter().map(|t| t.name()).collect()
}

/// Per Sigma detection rule that converts for `target`, the tables its query reads (converted
/// in parallel): what [`deployable`] filters, kept by a server for any list of tables.
pub fn converted_tables(
    rules: &[Rule],
    target: Target,
) -> Result<std::collections::HashMap<String, Vec<String>>, String> {
    use rayon::prelude::*;
    let c = match converters().iter().find(|(t, _)| *t == target) {
        Some((_, Ok(c))) => c,
        Some((_, Err(e))) => return Err(e.clone()),
        None => return Err(format!("no converter for {}", target.name())),
    };
    Ok(rules
        .par_iter()
        .filter(|r| r.format == Format::Sigma && r.kind == RuleKind::Detection)
        .filter_map(|r| {
            let doc = document(r).ok()?;
            let (_, tables) = convert_document(c, &doc).ok()?;
            Some((r.key.clone(), tables))
        })
        .collect())
}

/// The keys of the catalog's rules that deploy: Sigma detection rules that convert for the
/// target and read only tables in `have` (converted in parallel).
pub fn deployable(rules: &[Rule], d: &Deployment) -> Result<HashSet<String>, String> {
    Ok(converted_tables(rules, d.target)?
        .into_iter()
        .filter(|(_, tables)| d.admits(tables))
        .map(|(key, _)| key)
        .collect())
}

/// The tables the translations read, each with the targets that read it, in order of first use.
pub fn data_sources(translations: &[Translation]) -> Vec<DataSource> {
    let mut out: Vec<DataSource> = Vec::new();
    for t in translations {
        for table in &t.tables {
            match out.iter_mut().find(|d| &d.table == table) {
                Some(d) => d.targets.push(t.target),
                None => out.push(DataSource {
                    table: table.clone(),
                    targets: vec![t.target],
                    note: DATA_SOURCE_NOTE,
                }),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> sigma::Document {
        sigma::parse(text).documents.remove(0).doc
    }

    const RULE: &str = "title: t\nlogsource:\n    category: process_creation\n    product: windows\n\
        detection:\n    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel\n";

    #[test]
    fn tables_are_the_first_lines_of_the_queries() {
        let c = Converter::new(Target::KqlXdr, vec![]).unwrap();
        let (q, tables) = convert_document(&c, &doc(RULE)).unwrap();
        assert!(q.starts_with("DeviceProcessEvents\n| where "), "{q}");
        assert_eq!(tables, ["DeviceProcessEvents"]);
    }

    #[test]
    fn serialised_as_a_query_map_and_details() {
        let t = Translations(vec![
            Translation {
                target: "kql-xdr",
                label: "KQL (Microsoft 365 Defender)",
                status: Status::Ok,
                query: Some("T\n| where x".into()),
                error: None,
                tables: vec!["T".into()],
            },
            Translation {
                target: "kql-asim",
                label: "KQL (Microsoft Sentinel ASIM)",
                status: Status::Error,
                query: None,
                error: Some("no table".into()),
                tables: vec![],
            },
        ]);
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            v["translations"],
            serde_json::json!({"kql-xdr": "T\n| where x", "kql-asim": null})
        );
        assert_eq!(v["translation_details"][1]["status"], "error");
        assert_eq!(v["translation_details"][1]["error"], "no table");
        assert_eq!(
            data_sources(&t),
            [DataSource {
                table: "T".into(),
                targets: vec!["kql-xdr"],
                note: DATA_SOURCE_NOTE
            }]
        );
    }
}
