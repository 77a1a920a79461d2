//! The Sigma rule language: YAML documents → rules, filters and correlations → the detdex IR.
//!
//! [`read`] is the entry point: it reads one file (one or more YAML documents, with Sigma 1
//! `action: global/reset/repeat` collections merged as pySigma merges them), and returns the IR
//! rules it could read and every problem found, each with line and column.

pub mod condition;
mod lower;
pub mod rule;
pub mod value;

pub use rule::{
    Correlation, Detection, DetectionItem, Detections, Document, LogSource, NamedDetection, Problem,
};

use ir::{Diagnostic, Severity};
use yaml::{Node, Value as Y};

/// One document of a file, read.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// 1-based index of the YAML document in the file.
    pub index: usize,
    pub doc: Document,
    /// The document's text (for merged `action: global` documents, the global part first).
    pub text: String,
}

/// Everything read from one file: the documents that could be read and every problem.
#[derive(Debug, Clone, Default)]
pub struct FileResult {
    pub documents: Vec<Parsed>,
    pub problems: Vec<Problem>,
    /// How many documents the file holds (global templates included).
    pub document_count: usize,
}

/// Read the Sigma documents of one file.
pub fn parse(text: &str) -> FileResult {
    let mut out = FileResult::default();
    let stream = match yaml::load(text) {
        Ok(s) => s,
        Err(e) => {
            out.problems.push(Problem {
                pos: e.pos,
                severity: Severity::Error,
                message: format!("YAML: {}", e.message),
            });
            return out;
        }
    };
    out.problems.extend(stream.warnings.iter().map(|w| Problem {
        pos: w.pos,
        severity: Severity::Warning,
        message: w.message.clone(),
    }));
    out.document_count = stream.documents.len();
    let mut global: Option<(Node, String)> = None;
    let mut prev: Option<(Node, String)> = None;
    for (i, doc) in stream.documents.iter().enumerate() {
        let doc_text = slice(text, doc);
        if matches!(doc.value, Y::Null) {
            continue; // an empty document (e.g. a trailing `---`)
        }
        let action = doc.get("action").and_then(Node::as_str).map(str::to_string);
        let is_meta = doc.get("correlation").is_some() || doc.get("filter").is_some();
        let (merged, merged_text) = match action.as_deref() {
            None if is_meta => (doc.clone(), doc_text),
            None => match &global {
                Some((g, gt)) => (merge(doc.clone(), g), format!("{gt}\n---\n{doc_text}")),
                None => (doc.clone(), doc_text),
            },
            Some("global") => {
                let g = without_key(doc, "action");
                prev = Some((g.clone(), doc_text.clone()));
                global = Some((g, doc_text));
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                let Some((p, pt)) = &prev else {
                    out.problems.push(Problem {
                        pos: doc.span.start,
                        severity: Severity::Error,
                        message: "`action: repeat` without a previous rule to repeat".into(),
                    });
                    continue;
                };
                let m = merge(p.clone(), &without_key(doc, "action"));
                (m, format!("{pt}\n---\n{doc_text}"))
            }
            Some(other) => {
                out.problems.push(Problem {
                    pos: doc.get("action").map_or(doc.span.start, |a| a.span.start),
                    severity: Severity::Error,
                    message: format!(
                        "unknown collection action `{other}` (expected global, reset or repeat)"
                    ),
                });
                continue;
            }
        };
        if action.is_none() && !is_meta {
            prev = Some((doc.clone(), slice(text, doc)));
        }
        let mut problems = rule::Problems::default();
        if let Some(d) = rule::document(&merged, text, &mut problems) {
            out.documents.push(Parsed {
                index: i + 1,
                doc: d,
                text: merged_text,
            });
        }
        out.problems.extend(problems.0);
    }
    out
}

fn slice(text: &str, n: &Node) -> String {
    text.get(n.span.start_byte..n.span.end_byte)
        .unwrap_or("")
        .trim_end()
        .to_string()
}

fn without_key(n: &Node, key: &str) -> Node {
    let mut n = n.clone();
    if let Y::Map(m) = &mut n.value {
        m.retain(|(k, _)| k.as_str() != Some(key));
    }
    n
}

/// pySigma's `deep_dict_update(rule, global)`: the global template's values win, mappings merge.
fn merge(mut dest: Node, src: &Node) -> Node {
    let (Y::Map(d), Y::Map(s)) = (&mut dest.value, &src.value) else {
        return src.clone();
    };
    for (k, v) in s {
        match d.iter_mut().find(|(dk, _)| dk.value == k.value) {
            Some((_, dv)) if matches!(v.value, Y::Map(_)) => *dv = merge(dv.clone(), v),
            Some((_, dv)) => *dv = v.clone(),
            None => d.push((k.clone(), v.clone())),
        }
    }
    dest
}

/// Read one Sigma file into IR rules. `source` names the rule repository, `rel` is the file's
/// path inside it (the rule key is `source/rel`, with `#N` for the N-th YAML document when
/// N ≥ 2), `path` is what diagnostics name.
pub fn read(source: &str, rel: &str, path: &str, text: &str) -> (Vec<ir::Rule>, Vec<Diagnostic>) {
    let r = parse(text);
    let diags = r
        .problems
        .iter()
        .map(|p| Diagnostic::new(path, p.pos, p.severity, p.message.clone()))
        .collect();
    let rules = r
        .documents
        .iter()
        .map(|d| {
            let key = if d.index >= 2 {
                format!("{source}/{rel}#{}", d.index)
            } else {
                format!("{source}/{rel}")
            };
            lower::rule(&d.doc, key, source, path, &d.text)
        })
        .collect();
    (rules, diags)
}

/// Read one detection body (what follows `name:` under `detection`) from a YAML node, exactly as
/// a rule's named detection is read, values passed through their modifiers. Processing
/// pipelines use it for the conditions they add to a rule.
pub fn detection_from_yaml(n: &Node) -> Result<Detection, Vec<Problem>> {
    let mut p = rule::Problems::default();
    match rule::detection(n, &mut p, 0) {
        Some(d) if !p.has_errors() => Ok(d),
        _ => Err(p.0),
    }
}

/// ATT&CK technique ids named by `attack.tNNNN[.NNN]` tags.
pub fn techniques(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let Some(rest) = t.strip_prefix("attack.") else {
            continue;
        };
        let Some(num) = rest.strip_prefix('t').or_else(|| rest.strip_prefix('T')) else {
            continue;
        };
        let (main, sub) = num.split_once('.').unwrap_or((num, ""));
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
        if digits(main, 4) && (sub.is_empty() || digits(sub, 3)) {
            let id = format!("T{}", num);
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}
