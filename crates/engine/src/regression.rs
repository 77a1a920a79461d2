//! SigmaHQ's regression data as a test suite: per rule, an `info.yml` naming the rule (by id)
//! and its tests (an EVTX file beside it, optionally the number of events the rule must match,
//! `match_count`).

use crate::{Event, Matched, Ruleset, read_batches};
use std::path::{Path, PathBuf};

/// One `info.yml`: the rule it tests and its tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub info: PathBuf,
    pub rule_id: String,
    pub title: String,
    pub tests: Vec<Test>,
}

/// One test of a case: the events file and how many of its events the rule must match.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub name: String,
    /// The events file, beside the `info.yml` (the `path` it gives is relative to SigmaHQ's
    /// repository; its file name is looked up in the case's folder).
    pub path: PathBuf,
    pub match_count: Option<usize>,
}

/// What running a test gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub events: usize,
    /// The events the rule fired on (their origins), with the fields that matched.
    pub matched: Vec<(String, Vec<Matched>)>,
    pub read_errors: Vec<String>,
}

/// Every `info.yml` under `root` (sorted by path), or the problems reading them. An
/// `info.yml` without `regression_tests_info` (a test kept as a comment) is a case with no
/// tests.
pub fn cases(root: &Path) -> (Vec<Case>, Vec<String>) {
    let mut infos = vec![];
    find(root, &mut infos);
    infos.sort();
    let (mut out, mut problems) = (vec![], vec![]);
    for info in infos {
        match case(&info) {
            Ok(c) => out.push(c),
            Err(e) => problems.push(format!("{}: {e}", info.display())),
        }
    }
    (out, problems)
}

fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            find(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}

fn case(info: &Path) -> Result<Case, String> {
    let text = std::fs::read_to_string(info).map_err(|e| e.to_string())?;
    let stream =
        yaml::load(&text).map_err(|e| format!("{}:{}: {}", e.pos.line, e.pos.col, e.message))?;
    let doc = stream.documents.first().ok_or("an empty file")?;
    let str_of = |n: Option<&yaml::Node>| n.and_then(|n| n.as_str()).map(str::to_string);
    let meta = doc
        .get("rule_metadata")
        .and_then(|m| m.as_seq())
        .and_then(|s| s.first())
        .ok_or("no rule_metadata")?;
    let rule_id = str_of(meta.get("id")).ok_or("no rule_metadata id")?;
    let title = str_of(meta.get("title")).unwrap_or_default();
    let dir = info.parent().unwrap_or(Path::new("."));
    let mut tests = vec![];
    for t in doc
        .get("regression_tests_info")
        .and_then(|t| t.as_seq())
        .unwrap_or(&[])
    {
        let path = str_of(t.get("path")).ok_or("a test without a path")?;
        let file = Path::new(&path)
            .file_name()
            .ok_or_else(|| format!("path {path:?} names no file"))?;
        let match_count = match t.get("match_count") {
            None => None,
            Some(n) => Some(
                n.as_i64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or("match_count is not a count")?,
            ),
        };
        tests.push(Test {
            name: str_of(t.get("name")).unwrap_or_default(),
            path: dir.join(file),
            match_count,
        });
    }
    Ok(Case {
        info: info.to_path_buf(),
        rule_id,
        title,
        tests,
    })
}

/// Run rule `rule` (an index into `set.rules`) on a test's events: the events it fires on.
pub fn run(set: &Ruleset, rule: usize, test: &Test) -> Outcome {
    let mut out = Outcome {
        events: 0,
        matched: vec![],
        read_errors: vec![],
    };
    let errors = read_batches(&test.path, 4096, &mut |batch: Vec<Event>| {
        out.events += batch.len();
        for ev in &batch {
            let rule = &set.rules[rule];
            if rule.matches(ev) {
                out.matched.push((ev.origin.clone(), rule.explain(ev)));
            }
        }
    });
    out.read_errors = errors.iter().map(ToString::to_string).collect();
    out
}
