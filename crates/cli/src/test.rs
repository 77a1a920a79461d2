//! `detdex test RULES_DIR REGRESSION_DIR`: SigmaHQ's regression data (an `info.yml` per rule
//! with its EVTX test files) run as a test suite: per rule, pass or fail, and each
//! `match_count` compared with the events the rule fires on.

use engine::regression::{cases, run as run_test};
use engine::{Logsources, Ruleset};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run SigmaHQ's regression data as a test suite: each info.yml's rule (found by id under
/// RULES) must fire on its test events, as many times as `match_count` says when it says.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Sigma rule folders (or files); may be given several times with --rules.
    #[arg(required = true)]
    pub rules: PathBuf,
    /// The regression data folder (info.yml files with their .evtx beside them).
    #[arg(required = true)]
    pub regression: PathBuf,
    /// More rule folders.
    #[arg(long = "rules")]
    pub more_rules: Vec<PathBuf>,
    /// Print only failures and the summary.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: TestArgs) -> ExitCode {
    let mut roots = vec![a.rules.clone()];
    roots.extend(a.more_rules.iter().cloned());
    for p in roots.iter().chain([&a.regression]) {
        if !p.exists() {
            eprintln!("detdex: {}: no such file or folder", p.display());
            return ExitCode::from(2);
        }
    }
    let texts = crate::hunt::rule_texts(&roots);
    let set = Ruleset::compile(
        texts.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        &Logsources::builtin(),
    );
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, r) in set.rules.iter().enumerate() {
        if let Some(id) = &r.id {
            by_id.entry(id.as_str()).or_insert(i);
        }
    }
    let skipped: HashMap<&str, &str> = set
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    let (cases, problems) = cases(&a.regression);
    for p in &problems {
        eprintln!("{p}");
    }
    let (mut pass, mut fail, mut no_rule, mut no_test, mut count_differs) = (0, 0, 0, 0, 0);
    for case in &cases {
        let info = case.info.display();
        if case.tests.is_empty() {
            no_test += 1;
            if !a.quiet {
                println!(
                    "SKIP  {}  {}: no active test in {info}",
                    case.rule_id, case.title
                );
            }
            continue;
        }
        let Some(&rule) = by_id.get(case.rule_id.as_str()) else {
            no_rule += 1;
            // Compiled but left out, or not among the rules at all.
            let why = texts
                .iter()
                .find(|(_, t)| t.contains(case.rule_id.as_str()))
                .and_then(|(p, _)| skipped.get(p.as_str()).map(|r| format!("not run: {r}")))
                .unwrap_or_else(|| "no rule with this id under the rule folders".into());
            println!("NORULE {}  {}: {why} ({info})", case.rule_id, case.title);
            continue;
        };
        let mut failures = vec![];
        let mut notes = vec![];
        for t in &case.tests {
            let o = run_test(&set, rule, t);
            let file = t.path.display();
            for e in &o.read_errors {
                failures.push(format!("{file}: {e}"));
            }
            if o.matched.is_empty() {
                failures.push(format!("{file}: fired on none of its {} events", o.events));
            } else if let Some(n) = t.match_count
                && n != o.matched.len()
            {
                count_differs += 1;
                // Each event the rule fired on, with what matched, so that the difference
                // can be checked against the rule.
                let events: Vec<String> = (o.matched.iter())
                    .map(|(origin, why)| {
                        let record = origin.rsplit('#').next().unwrap_or(origin);
                        let fields: Vec<String> = why
                            .iter()
                            .map(|m| format!("{}={}", m.field, m.value))
                            .collect();
                        format!("record {record}: {}", fields.join(", "))
                    })
                    .collect();
                notes.push(format!(
                    "{file}: match_count {n}, the rule's conditions hold on {} of its {} events:\n        {}",
                    o.matched.len(),
                    o.events,
                    events.join("\n        ")
                ));
            }
        }
        let rule_path = &set.rules[rule].path;
        if failures.is_empty() {
            pass += 1;
            if !a.quiet || !notes.is_empty() {
                println!("PASS  {}  {}  {rule_path}", case.rule_id, case.title);
            }
        } else {
            fail += 1;
            println!("FAIL  {}  {}  {rule_path}", case.rule_id, case.title);
        }
        for f in failures.iter().chain(&notes) {
            println!("      {f}");
        }
    }
    println!(
        "{} info.yml: {pass} passed, {fail} failed, {no_rule} without a rule run, {no_test} without an active test; {count_differs} tests whose match_count differs from the events fired on; {} unreadable",
        cases.len() + problems.len(),
        problems.len()
    );
    if fail > 0 || !problems.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
