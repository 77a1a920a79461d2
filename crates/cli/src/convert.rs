//! `detdex convert`: Sigma rules → queries of a target, one per rule, as text or JSON lines.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use catalog::read::{FileFormat, detect, walk};
use convert::{Converter, Target, pipeline};
use rayon::prelude::*;

/// One converted (or refused) rule.
struct Outcome {
    path: String,
    id: Option<String>,
    title: String,
    target: &'static str,
    result: Result<String, String>,
}

pub fn run(
    targets: &[String],
    pipelines: &[PathBuf],
    pipeline_args: &[String],
    without_pipeline: bool,
    paths: &[PathBuf],
    jsonl: bool,
) -> ExitCode {
    let mut chosen = Vec::new();
    for name in targets {
        let Some(target) = Target::from_name(name) else {
            let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
            eprintln!(
                "detdex: unknown target `{name}` (targets: {})",
                names.join(", ")
            );
            return ExitCode::from(2);
        };
        if !chosen.contains(&target) {
            chosen.push(target);
        }
    }
    let mut user = Vec::new();
    for p in pipelines {
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("detdex: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        };
        match pipeline::load(&p.display().to_string(), &text) {
            Ok(x) => user.push(x),
            Err(e) => {
                eprintln!("detdex: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut args = Vec::new();
    for a in pipeline_args {
        match a.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                args.push((k.trim().to_string(), v.to_string()))
            }
            _ => {
                eprintln!("detdex: --pipeline-arg `{a}`: expected KEY=VALUE");
                return ExitCode::from(2);
            }
        }
    }
    let mut converters = Vec::new();
    for target in chosen {
        match Converter::with_builtin(target, !without_pipeline, user.clone()) {
            Ok(mut c) => {
                c.args = args.clone();
                converters.push(c);
            }
            Err(e) => {
                eprintln!("detdex: built-in pipeline: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let several = converters.len() > 1;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for root in paths {
        if !root.exists() {
            eprintln!("detdex: {}: no such file or folder", root.display());
            return ExitCode::from(2);
        }
        for f in walk(root) {
            files.push((f.clone(), relative(root, &f)));
        }
    }
    let outcomes: Vec<Outcome> = files
        .par_iter()
        .flat_map_iter(|(f, rel)| convert_file(&converters, f, rel, paths.contains(f)))
        .collect();
    let mut out = String::new();
    for o in &outcomes {
        if jsonl {
            let mut v = serde_json::json!({
                "path": o.path,
                "id": o.id,
                "target": o.target,
            });
            match &o.result {
                Ok(q) => {
                    v["status"] = "ok".into();
                    v["query"] = q.clone().into();
                }
                Err(e) => {
                    v["status"] = "error".into();
                    v["error"] = e.clone().into();
                }
            }
            out.push_str(&format!("{v}\n"));
        } else {
            // Comment lines hold rule content (title, path, values in errors): one line each.
            out.push_str(&format!(
                "// {}: {}{}\n",
                one_line(&o.path),
                one_line(&o.title),
                if several {
                    format!(" [{}]", o.target)
                } else {
                    String::new()
                }
            ));
            match &o.result {
                Ok(q) => out.push_str(&format!("{q}\n\n")),
                Err(e) => out.push_str(&format!("// error: {}\n\n", one_line(e))),
            }
        }
    }
    crate::print_out(&out);
    // A script must be able to tell when nothing was converted.
    if outcomes.iter().any(|o| o.result.is_ok()) {
        ExitCode::SUCCESS
    } else {
        eprintln!("detdex: no rule converted ({} failed)", outcomes.len());
        ExitCode::FAILURE
    }
}

/// Text for a `//` comment line: line breaks and other control characters escaped.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `f` relative to the PATH argument (a file given directly: its file name).
fn relative(root: &Path, f: &Path) -> String {
    let rel = if root.is_file() {
        Path::new(f.file_name().unwrap_or_default())
    } else {
        f.strip_prefix(root).unwrap_or(f)
    };
    rel.to_string_lossy().replace('\\', "/")
}

/// The outcomes of one file; `named`: the file was a PATH argument itself, so not converting
/// it is an error shown with the others rather than silence.
fn convert_file(cs: &[Converter], f: &Path, rel: &str, named: bool) -> Vec<Outcome> {
    let refused = |why: String| {
        cs.iter()
            .map(|c| Outcome {
                path: rel.to_string(),
                id: None,
                title: String::new(),
                target: c.target.name(),
                result: Err(why.clone()),
            })
            .collect()
    };
    let text = match std::fs::read_to_string(f) {
        Ok(t) => t,
        Err(e) => {
            return if named {
                refused(format!("cannot read: {e}"))
            } else {
                vec![]
            };
        }
    };
    match detect(f, &text) {
        Some(FileFormat::Sigma) => {}
        _ if !named => return vec![],
        Some(other) => {
            return refused(format!("a {other:?} rule: only Sigma rules are converted"));
        }
        None => {
            return refused(format!(
                "not a Sigma rule: {}",
                catalog::read::not_a_rule(f)
            ));
        }
    }
    let parsed = sigma::parse(&text);
    if parsed.documents.is_empty() {
        let why = parsed
            .problems
            .iter()
            .find(|p| p.severity == ir::Severity::Error)
            .map_or("no rule could be read".to_string(), |p| {
                format!("{}:{}: {}", p.pos.line, p.pos.col, p.message)
            });
        return refused(format!("not read: {why}"));
    }
    parsed
        .documents
        .iter()
        .flat_map(|d| {
            cs.iter().map(|c| Outcome {
                path: rel.to_string(),
                id: d.doc.meta.id.clone(),
                title: d.doc.meta.title.clone(),
                target: c.target.name(),
                result: c.convert(&d.doc).map(|qs| qs.join("\n\n")),
            })
        })
        .collect()
}
