//! Every ES|QL query of Elastic's detection-rules (../shared/corpora/elastic): the `query` of
//! each rule with `language = "esql"` in rules/ and rules_building_block/, and each ES|QL query
//! of the hunting queries (hunting/**.toml, `[hunt] query = [...]`, where `language` holds
//! "ES|QL"; the osquery `SELECT` queries beside them are not ES|QL). Each parses, and printing
//! the tree gives text that parses to the same tree.

use crate::common;
use common::{corpus, toml_files};
use std::path::Path;

use elastic::esql;

/// Hunting queries written `'''sql` in the TOML: TOML keeps `sql` and the line break as the
/// first line of the string, so the text is not ES|QL as stored. They must fail at 1:1, and
/// parse once that line is removed.
const SQL_TAG: &str = "sql\n";

/// Hunting queries that are not valid ES|QL: (file name, index in its query array, the start
/// of the error, why). Each must fail with that error; everything else must parse.
const KNOWN_FAILURES: &[(&str, usize, &str, &str)] = &[
    (
        "servicequotas_discovery_multi_region_get_service_quota_calls.toml",
        0,
        "5:62: expected `|` or end of input (`==` compares), found `=`",
        "`event.provider = \"…\"` inside `where`: `=` assigns, the comparison is `==`",
    ),
    (
        "aks_kubelet_proxy_command_execution_from_external_source.toml",
        0,
        "12:85: expected a pattern string, found invalid escape in string",
        "`\"…(/|\\?|$).*\"`: `\\?` (and `\\.` later) are not escapes of a `\"…\"` string \
         (only \\t \\n \\r \\\" \\\\); it needs `\"\"\"…\"\"\"` or `\\\\?`",
    ),
    (
        "entra_authentication_attempts_behind_rare_user_agents.toml",
        0,
        "42:5: expected an expression, found `)`",
        "the last condition of the `where` ends with `or` before the closing parenthesis",
    ),
    (
        "credential_access_rapid_reset_password_requests_for_different_users.toml",
        0,
        "13:20: expected an expression, found `by`",
        "`reset_counts = by …`: the aggregation after `=` is missing",
    ),
    (
        "execution_via_remote_services_by_client_address.toml",
        0,
        "6:24: expected an operator or `)`, found unexpected character `.`",
        "`process.parent.name .caseless in (…)`: `.caseless` is not ES|QL",
    ),
    (
        "execution_via_windows_scheduled_task_with_low_occurrence_frequency.toml",
        0,
        "2:28: expected an expression, found `)`",
        "`now(-) - 7 day`: a stray `-` inside `now()`",
    ),
];

/// The first word of `q` after whitespace and `//` comments.
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

/// (file, index in the file's query array, text).
fn queries(dir: &Path) -> Vec<(String, usize, String)> {
    let mut out = vec![];
    for sub in ["rules", "rules_building_block"] {
        let mut files = vec![];
        toml_files(&dir.join(sub), &mut files);
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let doc: toml::Table = text
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let Some(rule) = doc.get("rule").and_then(|r| r.as_table()) else {
                continue;
            };
            if rule.get("language").and_then(|l| l.as_str()) == Some("esql") {
                let q = rule["query"].as_str().expect("query is a string");
                out.push((f.display().to_string(), 0, q.to_string()));
            }
        }
    }
    let mut files = vec![];
    toml_files(&dir.join("hunting"), &mut files);
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let Some(hunt) = doc.get("hunt").and_then(|r| r.as_table()) else {
            continue;
        };
        let esql = hunt
            .get("language")
            .and_then(|l| l.as_array())
            .is_some_and(|l| l.iter().any(|x| x.as_str() == Some("ES|QL")));
        if !esql {
            continue;
        }
        let qs: Vec<&str> = match hunt.get("query") {
            Some(toml::Value::String(s)) => vec![s.as_str()],
            Some(toml::Value::Array(a)) => a.iter().filter_map(|x| x.as_str()).collect(),
            _ => vec![],
        };
        for (i, q) in qs.into_iter().enumerate() {
            let body = q.strip_prefix(SQL_TAG).unwrap_or(q);
            if first_word(body) == "select" {
                continue; // osquery SQL
            }
            out.push((f.display().to_string(), i, q.to_string()));
        }
    }
    out
}

fn roundtrip(q: &str) -> Result<usize, String> {
    let mut tree = esql::parse(q).map_err(|e| format!("parse: {e}"))?;
    let printed = esql::print(&tree);
    let mut again = esql::parse(&printed).map_err(|e| format!("printed text: {e}\n{printed}"))?;
    if esql::print(&again) != printed {
        return Err(format!("printing is not stable:\n{printed}"));
    }
    tree.clear_spans();
    again.clear_spans();
    if tree != again {
        return Err(format!("print/parse differs:\n{printed}"));
    }
    Ok(tree.commands.len())
}

#[test]
fn every_esql_query_parses_and_round_trips() {
    let Some(dir) = corpus() else {
        return;
    };
    let qs = queries(&dir);
    let rules = qs.iter().filter(|q| !q.0.contains("/hunting/")).count();
    let mut failures = vec![];
    let mut tagged = 0;
    let mut known_seen = 0;
    let mut commands = 0;
    let start = std::time::Instant::now();
    for (f, i, q) in &qs {
        if let Some(body) = q.strip_prefix(SQL_TAG) {
            tagged += 1;
            match esql::parse(q) {
                Err(e) if (e.line, e.col) == (1, 1) => {}
                other => failures.push(format!(
                    "{f} [{i}]: `sql` line not refused at 1:1: {other:?}"
                )),
            }
            match roundtrip(body) {
                Ok(n) => commands += n,
                Err(e) => failures.push(format!("{f} [{i}] (after the sql line): {e}")),
            }
            continue;
        }
        let known = KNOWN_FAILURES
            .iter()
            .find(|k| f.ends_with(&format!("/{}", k.0)) && k.1 == *i);
        if let Some((_, _, error, _)) = known {
            known_seen += 1;
            match esql::parse(q) {
                Err(e) if e.to_string().starts_with(error) => {}
                other => failures.push(format!(
                    "{f} [{i}]: expected the error {error}, got {other:?}"
                )),
            }
            continue;
        }
        match roundtrip(q) {
            Ok(n) => commands += n,
            Err(e) => failures.push(format!("{f} [{i}]: {e}")),
        }
    }
    assert_eq!(
        known_seen,
        KNOWN_FAILURES.len(),
        "a known failure is no longer in the corpus"
    );
    eprintln!(
        "{} ES|QL queries ({rules} rules, {} hunting, {tagged} of those stored with a `sql` line, {known_seen} known errors), {commands} commands, in {:?}",
        qs.len(),
        qs.len() - rules,
        start.elapsed()
    );
    // The corpus has about 210 ES|QL rules and 150 hunting queries; fewer means the extraction
    // went wrong, not that everything parsed.
    assert!(rules >= 200, "only {rules} ES|QL rules found");
    assert!(
        qs.len() - rules >= 100,
        "only {} hunting queries found",
        qs.len() - rules
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
