//! SigmaHQ's regression data (../shared/evtx/sigma-regression): per rule, real events (EVTX and
//! their JSON form) on which the rule must fire. Every such rule found in the SigmaHQ corpus
//! must fire on its events, read from the EVTX file and from the JSON file alike.

use engine::{Logsources, Ruleset, read_file};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub(crate) fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

pub(crate) fn walk(dir: &Path, name: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, name, out);
        } else if name(&p) {
            out.push(p);
        }
    }
}

/// Rule id → rule file, over the SigmaHQ folders the regression data covers.
fn sigma_index() -> HashMap<String, PathBuf> {
    let root = shared().join("corpora/sigma");
    let mut files = vec![];
    for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        walk(
            &root.join(dir),
            &|p| p.extension().is_some_and(|e| e == "yml"),
            &mut files,
        );
    }
    files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("id: "))?
                .trim()
                .to_string();
            Some((id, p))
        })
        .collect()
}

#[test]
fn every_rule_fires_on_its_regression_events() {
    let root = shared().join("evtx/sigma-regression");
    let (cases, problems) = engine::regression::cases(&root);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(cases.len() >= 200, "{} info.yml files", cases.len());
    let index = sigma_index();
    let logsources = Logsources::builtin();
    let (mut fired, mut commented_out, mut not_in_corpus, mut failures) = (0, 0, vec![], vec![]);
    for case in &cases {
        if case.tests.is_empty() {
            commented_out += 1; // e.g. a `type: raw` test kept as a comment
            continue;
        }
        let id = case.rule_id.as_str();
        let Some(rule_path) = index.get(id) else {
            not_in_corpus.push(id.to_string());
            continue;
        };
        let rule_text = std::fs::read_to_string(rule_path).unwrap();
        let shown = rule_path.display().to_string();
        let set = Ruleset::compile([(shown.as_str(), rule_text.as_str())], &logsources);
        if let Some(s) = set.skipped.first() {
            failures.push(format!("{shown}: not compiled: {}", s.reason));
            continue;
        }
        let dir = case.info.parent().unwrap();
        let mut results = vec![];
        for ext in ["json", "evtx"] {
            let mut files = vec![];
            walk(
                dir,
                &|p| p.extension().is_some_and(|e| e == ext),
                &mut files,
            );
            let mut events = vec![];
            for f in &files {
                let (evs, errors) = read_file(f);
                assert!(errors.is_empty(), "{errors:?}");
                events.extend(evs);
            }
            let hits = events.iter().filter(|e| !set.matches(e).is_empty()).count();
            results.push((ext, events.len(), hits));
        }
        let (_, json_events, json_hits) = results[0];
        let (_, evtx_events, evtx_hits) = results[1];
        assert_eq!(
            (json_events, json_hits),
            (evtx_events, evtx_hits),
            "{shown}: the EVTX and JSON forms of the same events disagree"
        );
        if json_hits > 0 {
            fired += 1;
        } else {
            failures.push(format!(
                "{shown}: did not fire on any of its {json_events} events"
            ));
        }
    }
    eprintln!(
        "regression: {} info.yml, {commented_out} without an active test, {fired} rules fired on their events, {} rules not in the corpus, {} failures",
        cases.len(),
        not_in_corpus.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} rules failed:\n{}",
        failures.len(),
        cases.len() - commented_out - not_in_corpus.len(),
        failures.join("\n")
    );
    // The corpus snapshot is older than some regression data; most rules are in it.
    assert!(fired >= 180, "only {fired} rules fired");
}

/// Every SigmaHQ rule against every regression event: a rule fires on its own events (above),
/// and rarely on the events recorded for other rules of the same log source. A matcher that
/// over-matches (a wildcard read too wide, a negation lost) shows up here.
#[test]
fn rules_rarely_fire_on_other_rules_events() {
    let root = shared().join("evtx/sigma-regression");
    let mut jsons = vec![];
    walk(
        &root,
        &|p| p.extension().is_some_and(|e| e == "json"),
        &mut jsons,
    );
    let index = sigma_index();
    let texts: Vec<(String, String)> = index
        .values()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let set = Ruleset::compile(
        texts.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        &Logsources::builtin(),
    );
    assert!(set.rules.len() > 2500, "{} rules compiled", set.rules.len());
    let (mut events, mut hits, mut own) = (0, 0, 0);
    for f in &jsons {
        let own_id = f.file_stem().unwrap().to_string_lossy().to_string();
        let (evs, errors) = read_file(f);
        assert!(errors.is_empty(), "{errors:?}");
        for ev in &evs {
            events += 1;
            for rule in set.matches(ev) {
                if rule.id.as_deref() == Some(own_id.as_str()) {
                    own += 1;
                } else {
                    hits += 1;
                }
            }
        }
    }
    let rate = hits as f64 / events as f64;
    eprintln!(
        "{} rules compiled, {} skipped; {events} events: {own} hits of their own rule, {hits} of other rules ({rate:.2} per event)",
        set.rules.len(),
        set.skipped.len()
    );
    assert!(own >= 200, "{own}");
    assert!(rate < 1.5, "{rate:.2} other rules fire per event");
}

/// The prefilter only skips rules that cannot fire: with and without it, every SigmaHQ rule
/// gives the same detections on every regression event.
#[test]
fn the_prefilter_skips_no_detection() {
    let root = shared().join("evtx/sigma-regression");
    let mut jsons = vec![];
    walk(
        &root,
        &|p| p.extension().is_some_and(|e| e == "json"),
        &mut jsons,
    );
    let texts: Vec<(String, String)> = sigma_index()
        .values()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let set = Ruleset::compile(
        texts.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        &Logsources::builtin(),
    );
    let mut detections = 0;
    for f in &jsons {
        let (evs, _) = read_file(f);
        for ev in &evs {
            let with: Vec<&str> = set.matches(ev).iter().map(|r| r.path.as_str()).collect();
            let without: Vec<&str> = set
                .matches_unfiltered(ev)
                .iter()
                .map(|r| r.path.as_str())
                .collect();
            assert_eq!(with, without, "{}", ev.origin);
            detections += with.len();
        }
    }
    assert!(detections >= 300, "{detections}");
}
