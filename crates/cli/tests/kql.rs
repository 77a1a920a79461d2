//! The `detdex` binary on KQL content: the FalconFriday corpus checked, seed 002's rule shown
//! by file and by id, as text and JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

fn falconfriday() -> Option<PathBuf> {
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

fn detdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(args)
        .output()
        .expect("run detdex")
}

const SEED: &str = "0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows";

#[test]
fn check_falconfriday() {
    let Some(dir) = falconfriday() else { return };
    let out = detdex(&["check", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // The warnings are the `where` clauses the lowering cannot analyse, one line each; the
    // line before the summary accounts for the files passed over.
    let last = text.lines().last().unwrap();
    assert_eq!(last, "59 files, 114 rules, 0 errors, 42 warnings");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 44, "{text}");
    assert_eq!(
        lines[42],
        "passed over 4 files: 3 markdown without a KQL code block; 1 no extension, and not a \
         FalconFriday rule (--verbose lists them)"
    );
    assert!(
        lines[..42]
            .iter()
            .all(|l| l.contains(": warning: KQL query ") && l.contains(": not analysed: ")),
        "{text}"
    );
}

#[test]
fn show_seed_002_json_by_id() {
    let Some(dir) = falconfriday() else { return };
    let source = format!("falconfriday={}", dir.to_str().unwrap());
    let out = detdex(&["show", SEED, "--source", &source, "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "kql");
    assert_eq!(v["language"], "kql");
    assert_eq!(v["key"], format!("falconfriday/{SEED}.md"));
    assert_eq!(v["attack"], serde_json::json!(["T1021.006"]));
    let labels: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"let PotentialPlugins") && labels.contains(&"let PotentialWrites"));
    assert_eq!(labels.last(), Some(&"join"));
    let ex = &v["exclusions"][0]["all"][0];
    assert_eq!(ex["field"], "FolderPath");
    assert_eq!(ex["kind"], "starts_with");
    let tables: Vec<&str> = v["meta"]["data_sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[0] == "table")
        .map(|p| p[1].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["DeviceImageLoadEvents", "DeviceFileEvents"]);
}

#[test]
fn show_seed_002_text_by_file() {
    let Some(dir) = falconfriday() else { return };
    let file = dir.join(format!("{SEED}.md"));
    let out = detdex(&["show", file.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "WinRM Plugin Lateral Movement\n",
        "language      kql",
        "Lateral Movement      T1021.006",
        "Stage 3: let PotentialPlugins",
        "| invoke FileProfile(SHA1, 1000)",
        "- NOT FolderPath starts_with 'C:\\windows\\assembly\\nativeimages_'",
        "FolderPath starts_with \"C:\\windows\\assembly\\nativeimages_\"",
        "InitiatingProcessFileName eq 'wsmprovhost.exe'",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
}
