//! One meaning for a rule: the IR evaluator (`ir::eval` over `ir::holds`, which reads the values'
//! patterns) and the engine (compiled from the Sigma document) decide every SigmaHQ rule the
//! same way on every SigmaHQ regression event of the rule's logsource.
//!
//! Transformed values (`base64offset`, `windash`, …) are decided by the patterns the Sigma reader
//! expanded them into. A rule the IR cannot decide (a placeholder without a pipeline to fill it)
//! is counted apart, as are Sigma 1 aggregations; today there is none.

use engine::{Event, Logsources, Ruleset, read_file};
use ir::{Expr, RuleKind, eval, holds};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

/// The IR's decision, or `None` when a predicate is beyond it.
fn ir_decides(logic: &ir::Logic, root: &Expr, ev: &Event) -> Option<bool> {
    let mut undecided = false;
    let got = eval(logic, root, &mut |leaf| match leaf {
        Expr::Pred(p) => holds(p, ev).unwrap_or_else(|| {
            undecided = true;
            false
        }),
        _ => {
            undecided = true;
            false
        }
    });
    (!undecided).then_some(got)
}

#[test]
fn the_ir_evaluator_and_the_engine_agree_on_every_regression_event() {
    let root = shared();
    let rules_dir = root.join("corpora/sigma/rules");
    if !rules_dir.is_dir() {
        assert!(std::env::var_os("CI").is_none(), "corpus missing");
        return;
    }
    let mut event_files = vec![];
    walk(
        &root.join("evtx/sigma-regression"),
        "json",
        &mut event_files,
    );
    let mut events = vec![];
    for f in &event_files {
        let (evs, errors) = read_file(f);
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
        events.extend(evs);
    }
    assert!(events.len() > 200, "{} events", events.len());

    let mut files = vec![];
    walk(&rules_dir, "yml", &mut files);
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let set = Ruleset::compile(
        texts.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        &Logsources::builtin(),
    );
    let by_path: HashMap<&str, &str> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();

    // Per rule: Some((pairs, matches, disagreements)) when the IR decides it, None when not.
    let per_rule: Vec<Option<(usize, usize, Vec<String>)>> = set
        .rules
        .par_iter()
        .filter(|rule| !rule.aggregated)
        .map(|rule| {
            let text = by_path[rule.path.as_str()];
            let (irs, _) = sigma::read("sigma", &rule.path, &rule.path, text);
            let Some(ir_rule) = irs.iter().find(|r| r.kind == RuleKind::Detection) else {
                panic!(
                    "{}: the engine compiled it, the reader gave no detection",
                    rule.path
                );
            };
            let logic = &ir_rule.logic;
            let root = logic.stages[0].expr.as_ref().expect("a condition");
            let (mut pairs, mut fired, mut wrong) = (0, 0, vec![]);
            for ev in events.iter().filter(|ev| rule.reads(ev)) {
                let by_ir = ir_decides(logic, root, ev)?;
                let by_engine = rule.detects(ev);
                pairs += 1;
                fired += usize::from(by_engine);
                if by_ir != by_engine {
                    wrong.push(format!(
                        "{} on {}: engine {by_engine}, IR {by_ir}",
                        rule.path, ev.origin
                    ));
                }
            }
            Some((pairs, fired, wrong))
        })
        .collect();
    let aggregated = set.rules.iter().filter(|r| r.aggregated).count();
    let undecided = per_rule.iter().filter(|r| r.is_none()).count();
    let decided: Vec<_> = per_rule.into_iter().flatten().collect();
    let compared = decided.len();
    let pairs: usize = decided.iter().map(|d| d.0).sum();
    let fired: usize = decided.iter().map(|d| d.1).sum();
    let disagreements: Vec<String> = decided.into_iter().flat_map(|d| d.2).collect();
    println!(
        "{} events; {} rules compared on {pairs} (rule, event) pairs, {fired} matches; \
         {undecided} with predicates the IR leaves to the engine; {aggregated} aggregations",
        events.len(),
        compared
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    assert!(compared > 3000, "{compared} rules compared");
    assert_eq!(undecided, 0, "rules the IR cannot decide");
    assert!(fired > 100, "{fired} matches: too few to show agreement");
}
