//! The `detdex` binary on Elastic's detection-rules: the whole checkout checked (only the six
//! hunting ES|QL queries that are not ES|QL are errors), a rule shown as text and JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

fn elastic() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/elastic");
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

fn detdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(args)
        .output()
        .expect("run detdex")
}

#[test]
fn check_elastic() {
    let Some(dir) = elastic() else { return };
    let out = detdex(&["check", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 6, "{text}");
    assert!(
        errors
            .iter()
            .all(|l| l.contains("/hunting/") && l.contains("ES|QL query does not parse"))
    );
    assert!(
        text.ends_with("2332 files, 2431 rules, 6 errors, 23 warnings\n"),
        "{}",
        text.lines().last().unwrap_or("")
    );
}

#[test]
fn show_elastic_threshold_rule() {
    let Some(dir) = elastic() else { return };
    let file = dir.join("rules/linux/privilege_escalation_potential_bufferoverflow_attack.toml");
    let out = detdex(&["show", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Potential Buffer Overflow Attack Detected\n"),
        "{text}"
    );
    assert!(text.contains("\nlanguage      kuery\n"));
    assert!(text.contains("\nrisk score    "));
    assert!(text.contains("\ngroup by      event.kind, host.id\n"));
    assert!(text.contains("Stage 1: threshold\n    | count >= 100 by event.kind, host.id\n"));
    assert!(text.contains("\nInvestigation guide\n"));
    let out = detdex(&["show", "--format", "json", file.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "elastic");
    assert_eq!(v["meta"]["custom"]["type"], "threshold");
}
