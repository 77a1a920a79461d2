//! Every path named on the command line is accounted for: read, or a diagnostic saying why
//! not; a folder's walk says how many files it passed over and why (`--verbose` lists them);
//! `check` and `convert` exit with 1 when nothing could be read or converted, so a script can
//! tell. A Sigma rule whose YAML is indented as a whole is still a Sigma rule.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn detdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(args)
        .output()
        .expect("run detdex")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("detdex-accounting-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

const SIGMA: &str = "title: Whoami\nid: 5b2b9d7e-3c0b-4a55-9f0e-0d2a6f1b3c11\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\whoami.exe'\n  condition: selection\n";

#[test]
fn named_files_are_read_or_explained() {
    let dir = folder("named");
    let readme = write(&dir, "README.md", "# Queries\n\nSee the folders.\n");
    let png = write(&dir, "logo.png", "not really a png");
    let kql = write(&dir, "q.kql", "DeviceEvents\n| take 1\n");
    // Only files that are not rules: every one explained, and the exit code says so.
    let out = detdex(&["check", readme.to_str().unwrap(), png.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("README.md:1:1: error: not a rule file: markdown without a KQL code block"),
        "{text}"
    );
    assert!(
        text.contains("logo.png:1:1: error: not a rule file: not a rule file extension (.png)"),
        "{text}"
    );
    // One readable file among them: success.
    let out = detdex(&["check", readme.to_str().unwrap(), kql.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).ends_with("1 files, 1 rules, 1 errors, 0 warnings\n"));
    // A KQL file whose only query does not parse: nothing read, exit 1.
    let bad = write(&dir, "bad.kql", "DeviceEvents\n| where\n");
    let out = detdex(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("bad.kql:3:1: error: KQL query 1 does not parse"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_walk_says_what_it_passed_over() {
    let dir = folder("walk");
    write(&dir, "rules/whoami.yml", SIGMA);
    write(&dir, "rules/notes.md", "# Notes\n\nNo query here.\n");
    write(&dir, "rules/list.txt", "whoami.exe\ncmd.exe\n");
    write(&dir, "rules/data.json", "{}");
    write(&dir, ".git/config", "[core]\n");
    let out = detdex(&["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(
        text.lines().rev().nth(1),
        Some(
            "passed over 4 files: 1 hidden (not walked); 1 markdown without a KQL code block; \
             1 not a rule file extension (.json); 1 text that does not read as KQL (no `let`, \
             source operator or `| operator` line) (--verbose lists them)"
        ),
        "{text}"
    );
    assert_eq!(
        text.lines().last(),
        Some("1 files, 1 rules, 0 errors, 0 warnings")
    );
    let out = detdex(&["check", "--verbose", dir.to_str().unwrap()]);
    let text = stdout(&out);
    let listed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(": passed over: "))
        .collect();
    assert_eq!(listed.len(), 4, "{text}");
    assert!(
        listed[0].ends_with(".git: passed over: hidden (not walked)"),
        "{listed:?}"
    );
    assert!(
        listed
            .iter()
            .any(|l| l.ends_with("data.json: passed over: not a rule file extension (.json)")),
        "{listed:?}"
    );
    let out = detdex(&["check", "--format", "json", dir.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"].as_array().unwrap().len(), 4);
    // A folder without a single rule: exit 1.
    let empty = folder("empty");
    write(&empty, "README.md", "# Nothing\n");
    let out = detdex(&["check", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn indented_sigma_is_sigma() {
    let dir = folder("indented");
    let indented: String = SIGMA.lines().map(|l| format!("    {l}\n")).collect();
    let f = write(&dir, "whoami.yml", &indented);
    let out = detdex(&["check", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "1 files, 1 rules, 0 errors, 0 warnings\n");
    let out = detdex(&["show", f.to_str().unwrap()]);
    assert!(stdout(&out).contains("Whoami"), "{}", stdout(&out));
    // Keys that do not line up with the first one are not top-level keys.
    let nested = "title: x\nfoo:\n  detection:\n    a: b\n";
    let g = write(&dir, "nested.yml", nested);
    let out = detdex(&["check", g.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn convert_exits_1_when_no_rule_converted() {
    let dir = folder("convert");
    let good = write(&dir, "whoami.yml", SIGMA);
    let kql = write(&dir, "q.kql", "DeviceEvents\n| take 1\n");
    let broken = write(
        &dir,
        "broken.yml",
        "title: x\nlogsource:\n  product: windows\ndetection:\n  sel:\n    a|nosuchmodifier: b\n  condition: sel\n",
    );
    let out = detdex(&["convert", "--target", "kql-xdr", good.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = detdex(&[
        "convert",
        "--target",
        "kql-xdr",
        kql.to_str().unwrap(),
        broken.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("// error: a Kql rule: only Sigma rules are converted"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rule converted (2 failed)"));
    std::fs::remove_dir_all(&dir).unwrap();
}
