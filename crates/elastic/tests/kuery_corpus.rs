//! Every kuery query of Elastic's detection-rules (rules/ and rules_building_block/) parses, and
//! printing it gives text that parses to the same tree.

use crate::common;
use common::{corpus, toml_files};
use std::path::{Path, PathBuf};

use elastic::kuery;

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

#[test]
fn every_kuery_rule_parses_and_round_trips() {
    let Some(root) = corpus() else { return };
    let queries = rule_queries(&root, "kuery");
    assert!(
        queries.len() > 700,
        "only {} kuery rules found",
        queries.len()
    );
    let mut failures = vec![];
    for (path, q) in &queries {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        match kuery::parse(q) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(mut tree) => {
                let printed = kuery::print(&tree);
                match kuery::parse(&printed) {
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
    eprintln!(
        "{} kuery queries, {} failures",
        queries.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
