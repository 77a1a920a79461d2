//! `detdex coverage`, run as a user runs it, on parts of the real corpora.

use std::path::PathBuf;
use std::process::{Command, Output};

fn sigma(folder: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sigma/rules")
        .join(folder);
    assert!(p.is_dir(), "test corpus missing at {}", p.display());
    p.to_string_lossy().into_owned()
}

fn detdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(args)
        .output()
        .expect("run detdex")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn text_and_json_agree() {
    let dir = sigma("windows/powershell");
    let text = stdout(&detdex(&["coverage", &dir]));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&detdex(&["coverage", "--format", "json", &dir]))).unwrap();
    let tactics = json["tactics"].as_array().unwrap();
    assert_eq!(tactics.len(), 14);
    assert!(json["mapped_rules"].as_u64().unwrap() > 100);
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "{} rules, {} mapped to ATT&CK; {}/{} techniques covered",
            json["rules"],
            json["mapped_rules"],
            json["techniques_covered"],
            json["techniques_total"]
        )
    );
    // Per tactic, `Name  covered/total techniques, N rules`, then its uncovered techniques.
    let mut lines = text.lines().skip(1).peekable();
    for t in tactics {
        let line = lines.next().unwrap();
        let (name, figures) = line.split_once("  ").unwrap();
        assert_eq!(name, t["name"].as_str().unwrap());
        assert_eq!(
            figures.trim_start(),
            format!(
                "{}/{} techniques, {} rule{}",
                t["techniques_covered"],
                t["techniques_total"],
                t["rules"],
                if t["rules"] == 1 { "" } else { "s" }
            )
        );
        let uncovered: Vec<String> = t["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["rules"] == 0)
            .map(|x| {
                format!(
                    "  uncovered: {} {}",
                    x["id"].as_str().unwrap(),
                    x["name"].as_str().unwrap()
                )
            })
            .collect();
        for u in &uncovered {
            assert_eq!(lines.next(), Some(u.as_str()));
        }
    }
    let execution = tactics.iter().find(|t| t["name"] == "Execution").unwrap();
    assert!(
        execution["rules"].as_u64().unwrap() > 50,
        "{}",
        execution["rules"]
    );
}

#[test]
fn sources_by_name_and_by_path_are_counted_apart() {
    let ps = sigma("windows/powershell");
    let pc = sigma("windows/process_creation");
    let out = detdex(&[
        "coverage",
        "--format",
        "json",
        "--source",
        &format!("ps={ps}"),
        &pc,
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let execution = json["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Execution")
        .unwrap();
    let t1059 = execution["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "T1059")
        .unwrap();
    let by_source = t1059["by_source"].as_object().unwrap();
    let names: Vec<&String> = by_source.keys().collect();
    assert_eq!(names, ["process_creation", "ps"]);
    let sum: u64 = by_source.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(t1059["rules"].as_u64(), Some(sum));
}

#[test]
fn stale_ids_are_listed_in_text() {
    // SigmaHQ's retired rules name ids ATT&CK has since revoked.
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma/deprecated");
    let text = stdout(&detdex(&["coverage", dir.to_str().unwrap()]));
    assert!(
        text.contains(" rules (+"),
        "retired rules are left out by default: {text}"
    );
    let text = stdout(&detdex(&["coverage", "--retired", dir.to_str().unwrap()]));
    let stale = text
        .split_once("stale technique ids (counted nowhere above):\n")
        .expect("a stale section")
        .1;
    assert!(
        stale.contains("  T1086 PowerShell (revoked): 1 rule\n    deprecated/"),
        "{stale}"
    );
}

#[test]
fn no_folder_is_a_usage_error() {
    let out = detdex(&["coverage"]);
    assert_eq!(out.status.code(), Some(2));
    let out = detdex(&["coverage", "/nonexistent/rules"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/rules"));
}

#[test]
fn navigator_layer_file_scores_the_json_counts() {
    let dir = sigma("windows/powershell");
    let file = std::env::temp_dir().join(format!("detdex-layer-{}.json", std::process::id()));
    let out = detdex(&[
        "coverage",
        "--format",
        "json",
        "--navigator",
        file.to_str().unwrap(),
        &dir,
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let layer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert_eq!(layer["domain"], "enterprise-attack");
    let mut scores = std::collections::HashMap::new();
    for t in layer["techniques"].as_array().unwrap() {
        scores.insert(
            (
                t["techniqueID"].as_str().unwrap(),
                t["tactic"].as_str().unwrap(),
            ),
            t["score"].as_u64().unwrap(),
        );
    }
    let mut n = 0;
    for tactic in json["tactics"].as_array().unwrap() {
        let short = tactic["shortname"].as_str().unwrap();
        for t in tactic["techniques"].as_array().unwrap() {
            for x in std::iter::once(t).chain(t["subtechniques"].as_array().unwrap()) {
                let rules = x["rules"].as_u64().unwrap();
                let score = scores.get(&(x["id"].as_str().unwrap(), short)).copied();
                assert_eq!(score, (rules > 0).then_some(rules), "{} {short}", x["id"]);
                n += usize::from(rules > 0);
            }
        }
    }
    assert_eq!(n, scores.len());
    // An unwritable file is an error naming it.
    let out = detdex(&[
        "coverage",
        "--navigator",
        "/nonexistent/dir/layer.json",
        &dir,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir/layer.json"));
}

/// `--compare-layer`: a layer written by `--navigator` for one folder, compared with another
/// folder's coverage, splits the techniques as the two coverages say; text and JSON agree; a
/// file that is not a layer is an error naming it.
#[test]
fn a_layer_compares_with_the_rules() {
    let (theirs_dir, ours_dir) = (sigma("windows/powershell"), sigma("windows/image_load"));
    let file = std::env::temp_dir().join(format!("detdex-cmp-{}.json", std::process::id()));
    let f = file.to_str().unwrap();
    stdout(&detdex(&["coverage", "--navigator", f, &theirs_dir]));
    let covered = |dir: &str| -> std::collections::BTreeSet<String> {
        let json: serde_json::Value =
            serde_json::from_str(&stdout(&detdex(&["coverage", "--format", "json", dir]))).unwrap();
        crate::coverage_json::covered_cells(&json)
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (theirs, ours) = (covered(&theirs_dir), covered(&ours_dir));
    let cmp: serde_json::Value = serde_json::from_str(&stdout(&detdex(&[
        "coverage",
        "--format",
        "json",
        "--compare-layer",
        f,
        &ours_dir,
    ])))
    .unwrap();
    let ids = |k: &str| -> std::collections::BTreeSet<String> {
        cmp[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("both"), theirs.intersection(&ours).cloned().collect());
    assert_eq!(
        ids("only_layer"),
        theirs.difference(&ours).cloned().collect()
    );
    assert_eq!(
        ids("only_catalog"),
        ours.difference(&theirs).cloned().collect()
    );
    assert!(!ids("both").is_empty() && !ids("only_layer").is_empty());
    let text = stdout(&detdex(&["coverage", "--compare-layer", f, &ours_dir]));
    assert!(
        text.contains(&format!("in both: {} techniques", ids("both").len())),
        "{text}"
    );
    assert!(text.contains(&format!(
        "in the layer only: {} techniques",
        ids("only_layer").len()
    )));
    std::fs::write(&file, "{\"techniques\": 3}").unwrap();
    let out = detdex(&["coverage", "--compare-layer", f, &ours_dir]);
    let _ = std::fs::remove_file(&file);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(f) && err.contains("no `techniques` list"),
        "{err}"
    );
}
