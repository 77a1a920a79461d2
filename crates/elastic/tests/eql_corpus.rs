//! Every EQL query of Elastic's detection-rules (rules/ and rules_building_block/) parses, and
//! printing it gives text that parses to the same tree.

use crate::common;
use common::{corpus, toml_files};
use std::path::{Path, PathBuf};

use elastic::eql;

/// `(path, query)` of every rule whose `[rule] language` is `language`.
fn rule_queries(root: &Path, language: &str) -> Vec<(PathBuf, String)> {
    let mut files = vec![];
    for sub in ["rules", "rules_building_block"] {
        toml_files(&root.join(sub), &mut files);
    }
    let mut out = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable rule");
        let doc: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let Some(rule) = doc.get("rule").and_then(|r| r.as_table()) else {
            continue;
        };
        if rule.get("language").and_then(|l| l.as_str()) != Some(language) {
            continue;
        }
        if let Some(q) = rule.get("query").and_then(|q| q.as_str()) {
            out.push((f, q.to_string()));
        }
    }
    out
}

/// `(path, query)` of every hunting query (`[hunt] language = ["EQL"]`, `query = [...]`).
fn hunting_queries(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files = vec![];
    toml_files(&root.join("hunting"), &mut files);
    let mut out = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable hunt");
        let doc: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let Some(hunt) = doc.get("hunt").and_then(|r| r.as_table()) else {
            continue;
        };
        let eql = hunt
            .get("language")
            .and_then(|l| l.as_array())
            .is_some_and(|l| l.iter().any(|v| v.as_str() == Some("EQL")));
        if !eql {
            continue;
        }
        for q in hunt
            .get("query")
            .and_then(|q| q.as_array())
            .into_iter()
            .flatten()
        {
            out.push((f.clone(), q.as_str().expect("query string").to_string()));
        }
    }
    out
}

fn check(root: &Path, queries: &[(PathBuf, String)]) -> Vec<String> {
    let mut failures = vec![];
    for (path, q) in queries {
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        match eql::parse(q) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(mut tree) => {
                let printed = eql::print(&tree);
                match eql::parse(&printed) {
                    Err(e) => failures.push(format!(
                        "{name}: printed form does not parse: {e}\n{printed}"
                    )),
                    Ok(mut again) => {
                        tree.clear_spans();
                        again.clear_spans();
                        if tree != again {
                            failures.push(format!("{name}: print/parse differs\n{printed}"));
                        }
                    }
                }
            }
        }
    }
    failures
}

#[test]
fn every_eql_hunting_query_parses_and_round_trips() {
    let Some(root) = corpus() else { return };
    let queries = hunting_queries(&root);
    assert!(
        queries.len() >= 13,
        "only {} EQL hunting queries found",
        queries.len()
    );
    let failures = check(&root, &queries);
    eprintln!(
        "{} EQL hunting queries, {} failures",
        queries.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_eql_rule_parses_and_round_trips() {
    let Some(root) = corpus() else { return };
    let queries = rule_queries(&root, "eql");
    assert!(
        queries.len() > 1000,
        "only {} eql rules found",
        queries.len()
    );
    let failures = check(&root, &queries);
    eprintln!("{} EQL queries, {} failures", queries.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
