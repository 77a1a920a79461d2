//! ATT&CK coverage over the real SigmaHQ corpus, checked against a plain scan of the rule
//! files' `attack.tNNNN` tags.

use catalog::attack::Attack;
use catalog::{Catalog, Scope, Source, coverage};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sigma(folder: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sigma")
        .join(folder);
    assert!(p.is_dir(), "test corpus missing at {}", p.display());
    p
}

fn load(roots: &[&Path]) -> Catalog {
    let sources: Vec<Source> = roots
        .iter()
        .map(|r| Source {
            name: r.file_name().unwrap().to_string_lossy().into_owned(),
            root: r.to_path_buf(),
            include: Vec::new(),
        })
        .collect();
    Catalog::load(&sources)
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// For each rule file, the technique ids its `- attack.tNNNN[.NNN]` tag lines name (comments
/// after the tag aside), upper-cased.
fn tagged(root: &Path) -> Vec<BTreeSet<String>> {
    let mut files = Vec::new();
    yaml_files(root, &mut files);
    files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .filter_map(|l| l.trim().strip_prefix("- attack.t"))
                .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                .filter_map(|rest| rest.split_whitespace().next())
                .map(|id| format!("T{id}"))
                .collect()
        })
        .collect()
}

#[test]
fn sigmahq_cells_match_a_scan_of_the_tags() {
    let root = sigma("rules");
    let files = tagged(&root);
    let cat = load(&[&root]);
    // One rule per file in this folder, so a file count is a rule count.
    assert_eq!(cat.rules.len(), files.len());
    let c = coverage(&cat, Scope::default());
    assert_eq!(c.rules, files.len());

    let attack = Attack::builtin();
    let active = |id: &str| attack.technique(id).is_some_and(|t| t.is_active());
    // Files naming this id, or (for a technique) any active sub-technique of it.
    let count = |id: &str| {
        files
            .iter()
            .filter(|tags| tags.iter().any(|t| counts_for(t, id, &active)))
            .count()
    };

    let execution = c
        .tactics
        .iter()
        .find(|t| t.shortname == "execution")
        .unwrap();
    assert_eq!(execution.name, "Execution");
    let t1059 = execution
        .techniques
        .iter()
        .find(|t| t.id == "T1059")
        .unwrap();
    let sub = t1059
        .subtechniques
        .iter()
        .find(|s| s.id == "T1059.001")
        .unwrap();
    let powershell = files.iter().filter(|t| t.contains("T1059.001")).count();
    assert!(powershell > 100, "{powershell}");
    assert_eq!(sub.rules, powershell);
    assert_eq!(sub.by_source, BTreeMap::from([("rules", powershell)]));
    // A rule tagged only with a sub-technique counts for its parent.
    let only_sub = files
        .iter()
        .filter(|t| t.contains("T1059.001") && !t.contains("T1059"))
        .count();
    assert!(only_sub > 0);
    assert!(t1059.rules >= powershell);

    // Every cell of the matrix, parents and sub-techniques.
    let mut uncovered = 0;
    for tactic in &c.tactics {
        for t in &tactic.techniques {
            assert_eq!(t.rules, count(t.id), "{} in {}", t.id, tactic.name);
            uncovered += usize::from(t.rules == 0);
            for s in &t.subtechniques {
                assert_eq!(s.rules, count(s.id), "{}", s.id);
            }
        }
        let covered = tactic.techniques.iter().filter(|t| t.rules > 0).count();
        assert_eq!(tactic.techniques_covered, covered);
        let rules = files
            .iter()
            .filter(|tags| {
                tactic
                    .techniques
                    .iter()
                    .any(|t| tags.iter().any(|x| counts_for(x, t.id, &active)))
            })
            .count();
        assert_eq!(tactic.rules, rules, "{}", tactic.name);
    }
    assert!(uncovered > 0, "some technique has no SigmaHQ rule");
    let mapped = files
        .iter()
        .filter(|tags| tags.iter().any(|t| active(t)))
        .count();
    assert_eq!(c.mapped_rules, mapped);

    // Ids the tables do not know (newer than the tables) are listed with their rules.
    let unknown: BTreeSet<&String> = files
        .iter()
        .flatten()
        .filter(|t| attack.technique(t).is_none())
        .collect();
    let listed: BTreeSet<&str> = c
        .stale
        .iter()
        .filter(|s| s.state == "unknown")
        .map(|s| s.id)
        .collect();
    assert_eq!(
        unknown.iter().map(|s| s.as_str()).collect::<BTreeSet<_>>(),
        listed
    );
    for s in &c.stale {
        let naming = files.iter().filter(|t| t.contains(s.id)).count();
        assert_eq!(s.rules.len(), naming, "{}", s.id);
    }
}

/// Whether a tag's id counts for the technique `id`: itself or one of its sub-techniques, active.
fn counts_for(tag: &str, id: &str, active: &impl Fn(&str) -> bool) -> bool {
    active(tag) && (tag == id || tag.strip_prefix(id).is_some_and(|s| s.starts_with('.')))
}

#[test]
fn deprecated_and_revoked_ids_are_listed() {
    // SigmaHQ's retired rules: `deprecated/` and `unsupported/`.
    let roots = [sigma("deprecated"), sigma("unsupported")];
    let files: Vec<BTreeSet<String>> = roots.iter().flat_map(|r| tagged(r)).collect();
    let attack = Attack::builtin();
    let stale: BTreeSet<String> = files
        .iter()
        .flatten()
        .filter(|t| attack.technique(t).is_some_and(|x| !x.is_active()))
        .cloned()
        .collect();
    assert!(stale.len() >= 2, "{stale:?}");
    let cat = load(&[&roots[0], &roots[1]]);
    let c = coverage(
        &cat,
        Scope {
            retired: true,
            ..Scope::default()
        },
    );
    for id in &stale {
        let s = c.stale.iter().find(|s| s.id == id).unwrap();
        assert_eq!(s.state, attack.technique(id).unwrap().state);
        assert!(!s.rules.is_empty());
        assert!(
            s.rules
                .iter()
                .all(|k| cat.get(k).unwrap().attack.contains(id))
        );
    }
    // A stale id counts nowhere in the matrix.
    for t in c.tactics.iter().flat_map(|t| &t.techniques) {
        assert!(!stale.contains(t.id));
    }
}
