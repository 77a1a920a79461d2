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

/// `GET path` over HTTP/1.1 with `Connection: close`; the whole response as text.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn serve_records_into_the_store_file_and_serves_the_feed() {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("detdex-cli-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("store.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(["serve", "--source", &image_load(), "--addr", "127.0.0.1:0"])
        .arg("--store")
        .arg(&db)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start detdex serve");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = Vec::new();
    let addr = loop {
        let line = lines.next().expect("serve said where it serves").unwrap();
        if let Some(rest) = line.split_once(" on http://").map(|(_, r)| r.to_string()) {
            break rest.trim_end_matches('/').to_string();
        }
        said.push(line);
    };
    let feed = http_get(&addr, "/");
    let search = http_get(&addr, "/api/search?q=wsman%20provider");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        said.iter()
            .any(|l| l.contains(" new, 0 changed, 0 removed in ")),
        "{said:?}"
    );
    assert!(db.is_file());
    assert!(feed.starts_with("HTTP/1.1 200"), "{feed}");
    assert!(feed.contains("New and changed rules"));
    assert!(search.contains("\"key\":\"sigma/image_load_wsman_provider_image_load.yml\""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// SigmaHQ's deprecated rules state `status: deprecated`: retired, so searched only with
/// `--retired`.
#[test]
fn retired_rules_only_with_the_flag() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sigma/deprecated/windows");
    assert!(p.is_dir(), "test corpora missing at {}", p.display());
    let src = format!("old={}", p.display());
    let plain = stdout(&detdex(&["search", "--source", &src, "mimikatz"]));
    let with = stdout(&detdex(&[
        "search",
        "--source",
        &src,
        "--retired",
        "mimikatz",
    ]));
    assert!(with.lines().count() >= 3, "{with}");
    for line in plain.lines() {
        assert!(with.contains(line), "{line}");
    }
    // Only the few rules without that status (none of them about mimikatz) stay live.
    assert!(plain.lines().count() < with.lines().count(), "{plain}");
}
