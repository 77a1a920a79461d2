//! `detdex search`, run as a user runs it, on SigmaHQ's image_load rules.

use std::path::PathBuf;
use std::process::{Command, Output};

fn image_load() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sigma/rules/windows/image_load");
    assert!(p.is_dir(), "test corpora missing at {}", p.display());
    format!("sigma={}", p.display())
}

fn detdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(args)
        .output()
        .expect("run detdex")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

const WSMAN_LINE: &str =
    "sigma/image_load_wsman_provider_image_load.yml  Suspicious WSMAN Provider Image Loads";

#[test]
fn search_prints_ranked_key_title_lines() {
    let src = image_load();
    let out = stdout(&detdex(&["search", "--source", &src, "wsman", "provider"]));
    assert_eq!(out.lines().next(), Some(WSMAN_LINE), "{out}");
    // Every line is `key  title` with a key under the source.
    let wmi = stdout(&detdex(&[
        "search", "--source", &src, "--limit", "5", "wmi",
    ]));
    assert_eq!(wmi.lines().count(), 5, "{wmi}");
    for line in wmi.lines() {
        let (key, title) = line.split_once("  ").expect("two spaces");
        assert!(
            key.starts_with("sigma/image_load_") && !title.is_empty(),
            "{line}"
        );
    }
    let json = stdout(&detdex(&[
        "search", "--format", "json", "--source", &src, "wsman", "provider",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v[0]["key"],
        "sigma/image_load_wsman_provider_image_load.yml"
    );
    assert!(v[0]["snippet"].is_array());
}

#[test]
fn hostile_words_go_after_the_double_dash_and_never_fail() {
    let src = image_load();
    let out = stdout(&detdex(&[
        "search",
        "--source",
        &src,
        "--",
        "powershell",
        "-enc",
    ]));
    assert!(out.lines().all(|l| l.contains("  ")), "{out}");
    let out = stdout(&detdex(&[
        "search", "--source", &src, "--", "\"", "AND", "(",
    ]));
    assert!(out.lines().all(|l| l.contains("  ")));
    let out = stdout(&detdex(&["search", "--source", &src, "--", "\"", "("]));
    assert_eq!(out, "", "no searchable word, no result");
}

#[test]
fn a_store_file_is_recorded_then_searched_alone() {
    let dir = std::env::temp_dir().join(format!("detdex-cli-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("store.sqlite");
    let db = db.to_str().unwrap();
    let src = image_load();
    let first = detdex(&["search", "--source", &src, "--store", db, "wsman"]);
    let err = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(
        err.contains(&format!("store {db}: ")) && err.contains(" new, 0 changed, 0 removed"),
        "{err}"
    );
    let again = detdex(&[
        "search",
        "--source",
        &src,
        "--store",
        db,
        "--timings",
        "wsman",
    ]);
    let err = String::from_utf8_lossy(&again.stderr).into_owned();
    assert!(err.contains(": 0 new, 0 changed, 0 removed"), "{err}");
    assert!(
        err.contains("timings: load+record ") && err.contains(" ms, search "),
        "{err}"
    );
    let alone = stdout(&detdex(&["search", "--store", db, "wsman", "provider"]));
    assert_eq!(alone.lines().next(), Some(WSMAN_LINE));
    assert_eq!(stdout(&first), stdout(&again));
    let _ = std::fs::remove_dir_all(&dir);

    let none = detdex(&["search", "wsman"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--source NAME=DIR"));
    let missing = detdex(&["search", "--store", "/nonexistent/x.sqlite", "wsman"]);
    assert_eq!(missing.status.code(), Some(2));
}
