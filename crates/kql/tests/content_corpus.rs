//! The whole FalconFriday corpus (`../shared/corpora/falconfriday` beside the checkout): every
//! rule and hunt read, every query parsed and lowered, the de-duplication joins found.

use kql::content::{Kind, has_kql_blocks, is_falconfriday, read_markdown};
use kql::lower::document_rules;
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/falconfriday");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus missing at {}",
            p.display()
        );
        None
    }
}

fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_rule_and_hunt() {
    let Some(root) = corpus() else { return };
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    let (mut rule_files, mut hunt_files, mut rules, mut hunts, mut dedup) = (0, 0, 0, 0, 0);
    let mut not_rules = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for p in &all {
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(p).unwrap();
        let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
        let claimed = match ext.as_deref() {
            Some("md") => has_kql_blocks(&text),
            None => is_falconfriday(&text),
            _ => false,
        };
        if !claimed {
            not_rules.push(rel);
            continue;
        }
        let doc = read_markdown(&rel, &text);
        let l = document_rules(&doc, "falconfriday", &rel, &rel, &text);
        for d in &l.problems {
            match d.severity {
                ir::Severity::Error => errors.push(d.to_string()),
                ir::Severity::Warning => warnings.push(d.to_string()),
            }
        }
        // Every clause left out of a rule's logic is a warning and a note of its stage.
        let notes: Vec<&String> = l
            .rules
            .iter()
            .flat_map(|r| &r.logic.stages)
            .flat_map(|s| &s.notes)
            .collect();
        for d in &l.problems {
            if d.severity == ir::Severity::Warning {
                let (_, note) = d.message.split_once(": ").unwrap();
                assert!(notes.contains(&&note.to_string()), "{d}: not a stage note");
            }
        }
        let hunt = rel.starts_with("hunts/");
        if hunt {
            hunt_files += 1;
            hunts += l.rules.len();
        } else {
            assert_eq!(doc.kind, Kind::FalconFriday, "{rel}");
            assert_eq!(l.rules.len(), 1, "{rel}: one query per rule");
            rule_files += 1;
            rules += 1;
            let r = &l.rules[0];
            assert!(
                r.meta.id.as_deref().is_some_and(|i| i.starts_with("0xFF-")),
                "{rel}"
            );
            assert!(!r.attack.is_empty(), "{rel}: ATT&CK");
            assert!(r.meta.date.is_some(), "{rel}: version history");
            assert!(!r.meta.description.is_empty(), "{rel}: description");
        }
        for r in &l.rules {
            assert!(
                r.meta.data_sources.iter().any(|(k, _)| k == "table"),
                "{}: no table",
                r.key
            );
            let d = r
                .logic
                .stages
                .iter()
                .filter(|s| s.label == "join (de-duplication)")
                .count();
            dedup += d;
            if d > 0 {
                // The de-duplication join's predicates (SecurityAlert's) are not the rule's.
                let ex = ir::exclusions(&r.logic);
                let ind = ir::indicators(&r.logic);
                for row in ex.iter().chain(&ind) {
                    let f = row.field.as_deref().unwrap_or("");
                    assert!(
                        !["AlertName", "ProviderName", "DedupEntity"].contains(&f),
                        "{}: {row:?}",
                        r.key
                    );
                }
            }
        }
    }
    println!(
        "rule files {rule_files} ({rules} rules), hunt files {hunt_files} ({hunts} rules), \
         de-duplication joins {dedup}; not rules: {not_rules:?}"
    );
    assert!(errors.is_empty(), "{errors:#?}");
    println!("{} warnings:\n{}", warnings.len(), warnings.join("\n"));
    assert!(
        warnings.iter().all(|w| w.contains(": not analysed: ")),
        "{warnings:#?}"
    );
    assert_eq!(rule_files, 48);
    assert_eq!(hunts, 66);
    assert_eq!(hunt_files, 11);
    assert_eq!(
        dedup, 18,
        "FalconFriday's leftanti joins against SecurityAlert"
    );
    // Only the licence, the README and the two rules replaced by 0xFF-0081 are not rules.
    assert_eq!(not_rules.len(), 4, "{not_rules:?}");
}
