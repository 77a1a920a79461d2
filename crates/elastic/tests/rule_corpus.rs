//! Every rule of Elastic's detection-rules (../shared/corpora/elastic: rules/ and
//! rules_building_block/) and every hunting query (hunting/) reads and lowers: no error except
//! the hunting queries listed below (errors in the queries themselves), and the warnings
//! listed. Counts per rule type and language are printed.

use crate::common;
use common::{corpus, toml_files};
use std::collections::BTreeMap;
use std::path::Path;

use elastic::{lower, rule};
use ir::Severity;

/// Hunting ES|QL queries that are not valid ES|QL (file name, the message's start, why).
const HUNTING_ERRORS: &[(&str, &str, &str)] = &[
    (
        "servicequotas_discovery_multi_region_get_service_quota_calls.toml",
        "ES|QL query does not parse: expected `|` or end of input (`==` compares), found `=`",
        "`event.provider = \"…\"` inside `where`: `=` assigns, the comparison is `==`",
    ),
    (
        "aks_kubelet_proxy_command_execution_from_external_source.toml",
        "ES|QL query does not parse: expected a pattern string, found invalid escape",
        "`\\?` and `\\.` are not escapes of a `\"…\"` string",
    ),
    (
        "entra_authentication_attempts_behind_rare_user_agents.toml",
        "ES|QL query does not parse: expected an expression, found `)`",
        "the `where` ends with `or` before the closing parenthesis",
    ),
    (
        "credential_access_rapid_reset_password_requests_for_different_users.toml",
        "ES|QL query does not parse: expected an expression, found `by`",
        "`reset_counts = by …`: the aggregation after `=` is missing",
    ),
    (
        "execution_via_remote_services_by_client_address.toml",
        "ES|QL query does not parse: expected an operator or `)`, found unexpected character `.`",
        "`process.parent.name .caseless in (…)`: `.caseless` is not ES|QL",
    ),
    (
        "execution_via_windows_scheduled_task_with_low_occurrence_frequency.toml",
        "ES|QL query does not parse: expected an expression, found `)`",
        "`now(-) - 7 day`: a stray `-` inside `now()`",
    ),
];

#[derive(Default)]
struct Tally {
    files: usize,
    rules: usize,
    by_type: BTreeMap<String, usize>,
    by_language: BTreeMap<String, usize>,
    stages: usize,
    predicates_rules: usize,
    errors: Vec<ir::Diagnostic>,
    warnings: Vec<ir::Diagnostic>,
}

fn has_pred(r: &ir::Rule) -> bool {
    !ir::indicators(&r.logic).is_empty() || !ir::exclusions(&r.logic).is_empty()
}

fn read_dir(root: &Path, sub: &str, t: &mut Tally) {
    let mut files = vec![];
    toml_files(&root.join(sub), &mut files);
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let shown = f.display().to_string();
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(rule::looks_like_rule(&text), "{shown}: not recognised");
        let doc = match rule::read(&shown, &text) {
            Ok(d) => d,
            Err(e) => {
                t.errors.push(e);
                continue;
            }
        };
        t.files += 1;
        let l = lower::document_rules(&doc, "elastic", &rel, &shown);
        for r in &l.rules {
            t.rules += 1;
            *t.by_type.entry(doc.rule_type.clone()).or_default() += 1;
            *t.by_language.entry(r.language.clone()).or_default() += 1;
            t.stages += r.logic.stages.len();
            if has_pred(r) {
                t.predicates_rules += 1;
            }
            assert!(!r.logic.stages.is_empty(), "{}: no stage", r.key);
            assert!(!r.meta.title.is_empty(), "{}: no title", r.key);
        }
        for d in l.problems {
            match d.severity {
                Severity::Error => t.errors.push(d),
                Severity::Warning => t.warnings.push(d),
            }
        }
    }
}

#[test]
fn every_rule_reads_without_error() {
    let Some(root) = corpus() else { return };
    let mut t = Tally::default();
    read_dir(&root, "rules", &mut t);
    read_dir(&root, "rules_building_block", &mut t);
    println!(
        "rules: {} files, {} rules, {} stages, {} with predicates",
        t.files, t.rules, t.stages, t.predicates_rules
    );
    println!("  by type: {:?}", t.by_type);
    println!("  by language: {:?}", t.by_language);
    let errors: Vec<String> = t.errors.iter().map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The one Lucene rule is shown as text, with a warning.
    let warnings: Vec<String> = t.warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{}", warnings.join("\n"));
    assert!(warnings[0].contains("lucene"), "{}", warnings[0]);
    assert!(t.rules > 2100, "only {} rules", t.rules);
    assert_eq!(t.by_language.get("ml"), t.by_type.get("machine_learning"));
    for (lang, min) in [("eql", 1000), ("kuery", 700), ("esql", 200)] {
        assert!(
            t.by_language.get(lang).copied().unwrap_or(0) >= min,
            "{lang}"
        );
    }
    for ty in [
        "eql",
        "esql",
        "query",
        "threshold",
        "new_terms",
        "threat_match",
    ] {
        assert!(t.by_type.contains_key(ty), "no {ty} rule");
    }
    // Every rule with a query in a parsed language has predicates, except ES|QL aggregations
    // over computed values: at least 95%.
    assert!(
        t.predicates_rules * 100 >= (t.rules - t.by_type["machine_learning"]) * 95,
        "{} of {} rules with predicates",
        t.predicates_rules,
        t.rules
    );
}

#[test]
fn every_hunting_query_reads_except_the_listed_errors() {
    let Some(root) = corpus() else { return };
    let mut t = Tally::default();
    read_dir(&root, "hunting", &mut t);
    println!(
        "hunting: {} files, {} queries, {} with predicates",
        t.files, t.rules, t.predicates_rules
    );
    println!("  by language: {:?}", t.by_language);
    let mut unexpected = Vec::new();
    for d in &t.errors {
        let known = HUNTING_ERRORS
            .iter()
            .any(|(file, msg, _)| d.path.ends_with(file) && d.message.starts_with(msg));
        if !known {
            unexpected.push(d.to_string());
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    for (file, _, why) in HUNTING_ERRORS {
        assert!(
            t.errors.iter().any(|d| d.path.ends_with(file)),
            "{file} ({why}) no longer fails: remove it from the list"
        );
    }
    // Queries stored as '''sql: the tag line is dropped with a warning, nothing else warns.
    for w in &t.warnings {
        assert!(w.message.contains("language tag"), "{w}");
    }
    assert!(t.warnings.len() >= 10, "{} tag warnings", t.warnings.len());
    assert!(t.rules > 230, "only {} queries", t.rules);
    assert!(t.by_language.contains_key("eql") && t.by_language.contains_key("sql"));
}
