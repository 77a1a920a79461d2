//! `detdex sync` and `detdex serve` without `--source`, on git repositories made in a temporary
//! folder (`file://` URLs, no network).

use crate::common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn detdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(args)
        .output()
        .expect("run detdex")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A sources file: `good` (the repository's `rules/`) and `bad` (a repository that is not
/// there).
fn config(dir: &Path, repo: &Path) -> String {
    let file = dir.join("sources.toml");
    let missing = dir.join("missing");
    std::fs::write(
        &file,
        format!(
            "[[source]]\nname = \"good\"\nlabel = \"Good rules\"\nurl = \"{}\"\npath = \"rules\"\n\n\
             [[source]]\nname = \"bad\"\nurl = \"{}\"\n",
            url(repo),
            url(&missing)
        ),
    )
    .unwrap();
    file.to_string_lossy().into_owned()
}

#[test]
fn sync_reports_each_source_and_fails_if_one_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = origin(tmp.path());
    let first = git(&repo, &["rev-parse", "--short=7", "HEAD"]);
    let cfg = config(tmp.path(), &repo);
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();

    let out = detdex(&["sync", "--config", &cfg, "--cache", cache]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("good: cloned {first}\n"));
    let err = text(&out.stderr);
    assert!(err.starts_with("bad: error: git clone failed: "), "{err}");

    let out = detdex(&["sync", "--config", &cfg, "--cache", cache, "--only", "good"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("good: unchanged {first}\n"));

    update(&repo);
    let second = git(&repo, &["rev-parse", "--short=7", "HEAD"]);
    let out = detdex(&["sync", "--config", &cfg, "--cache", cache, "--only", "good"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("good: updated {second} (3 files changed: 1 added, 1 modified, 1 deleted)\n")
    );
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(cache).join("state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        state["sources"]["good"]["changes"]["added"],
        serde_json::json!(["rules/proc_creation_win_net_user_add.yml"])
    );

    let out = detdex(&[
        "sync", "--config", &cfg, "--cache", cache, "--only", "nosuch",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no source named `nosuch` (the sources are: good, bad)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_sources_file_is_named_with_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("s.toml");
    std::fs::write(&cfg, "[[source]]\nname = \"a b\"\nurl = \"u\"\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    for cmd in ["sync", "serve"] {
        let out = detdex(&[cmd, "--config", cfg, "--cache", cfg]);
        assert_ne!(out.status.code(), Some(0));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("{cfg}:2:8: bad source name `a b`")),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn without_git_the_error_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), tmp.path());
    let out = Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(["sync", "--config", &cfg, "--cache"])
        .arg(tmp.path().join("cache"))
        .env("PATH", tmp.path())
        .output()
        .expect("run detdex");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("good: error: git is not installed"), "{err}");
}

/// A `detdex serve` running on a free loopback port; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    /// Everything it wrote to stderr before it served.
    log: String,
    // Kept open so the server can still write to stderr.
    _stderr: Option<BufReader<std::process::ChildStderr>>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_detdex"))
            .arg("serve")
            .args(args)
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start detdex serve");
        let mut server = Server {
            child,
            port: 0,
            log: String::new(),
            _stderr: None,
        };
        let mut stderr = BufReader::new(server.child.stderr.take().unwrap());
        loop {
            let mut l = String::new();
            // At the end of its output the server has ended: the panic drops (and reaps) it.
            if stderr.read_line(&mut l).unwrap() == 0 {
                panic!("detdex serve ended before serving:\n{}", server.log);
            }
            server.log.push_str(&l);
            if let Some(at) = l.find("on http://127.0.0.1:") {
                let port = l[at + 20..].trim_end().trim_end_matches('/');
                server.port = port.parse().unwrap_or_else(|_| panic!("port in {l:?}"));
                server._stderr = Some(stderr);
                return server;
            }
        }
    }

    /// `GET path`: the status line and the body.
    fn get(&self, path: &str) -> (String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).expect("read");
        let (head, body) = raw.split_once("\r\n\r\n").expect("end of headers");
        (head.lines().next().unwrap().to_string(), body.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_fetches_what_is_missing_then_serves_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = origin(tmp.path());
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    let cfg = config(tmp.path(), &repo);
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();

    // Nothing cached yet: --no-sync refuses clearly.
    let out = detdex(&["serve", "--config", &cfg, "--cache", cache, "--no-sync"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no source is in the cache"), "{err}");
    assert!(err.contains("run `detdex sync`"), "{err}");

    // Without --no-sync it clones what it can (the bad source is reported) and serves it.
    let server = Server::start(&["--config", &cfg, "--cache", cache]);
    assert!(
        server.log.contains("detdex: fetching good, bad into "),
        "{}",
        server.log
    );
    assert!(server.log.contains("good: cloned "), "{}", server.log);
    assert!(
        server.log.contains("bad: error: git clone failed"),
        "{}",
        server.log
    );
    assert!(server.log.contains("serving 3 rules"), "{}", server.log);
    drop(server);

    // Then --no-sync serves the cache: the three rules, under the source's name.
    let server = Server::start(&["--config", &cfg, "--cache", cache, "--no-sync"]);
    assert!(!server.log.contains("fetching"), "{}", server.log);
    assert!(
        server.log.contains("bad: not in the cache, left out"),
        "{}",
        server.log
    );
    let (status, index) = server.get("/");
    assert!(status.contains(" 200 "), "{status}");
    for r in RULES {
        let name = Path::new(r).file_name().unwrap().to_str().unwrap();
        assert!(
            index.contains(&format!("/rules/good/rules/{name}")),
            "{name}\n{index}"
        );
    }
    // The rule page says where it came from. Keys are paths in the repository.
    let key = "good/rules/proc_creation_win_certutil_download.yml";
    let (status, page) = server.get(&format!("/rules/{key}"));
    assert!(status.contains(" 200 "), "{status}");
    assert!(page.contains("<dt>Retrieved</dt>"), "{page}");
    assert!(page.contains(&format!("<code>{commit}</code>")), "{page}");
    let (_, json) = server.get(&format!("/api/rules/{key}"));
    let rep: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rep["origin"]["commit"], commit.as_str());
    assert_eq!(rep["origin"]["label"], "Good rules");
    // A file:// repository has no page to link to.
    assert!(rep["origin"]["file_url"].is_null());
}

#[test]
fn serve_reads_the_listed_folders_that_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = origin(tmp.path());
    // A rule outside the listed folders is not served.
    std::fs::create_dir_all(repo.join("deprecated")).unwrap();
    std::fs::copy(
        corpus_rules().join(RULES[0]),
        repo.join("deprecated/old.yml"),
    )
    .unwrap();
    commit(&repo, "deprecated");
    let cfg = tmp.path().join("s.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[source]]\nname = \"two\"\nurl = \"{0}\"\npaths = [\"rules\", \"nosuch\"]\n\n\
             [[source]]\nname = \"none\"\nurl = \"{0}\"\npaths = [\"nosuch\"]\n",
            url(&repo)
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();

    let server = Server::start(&["--config", cfg, "--cache", cache]);
    for line in [
        "two: nosuch is not a folder of the repository, left out",
        "none: none of its folders is in the repository, left out",
        "serving 3 rules",
    ] {
        assert!(server.log.contains(line), "{line}\n{}", server.log);
    }
    let (_, index) = server.get("/");
    assert!(index.contains("/rules/two/rules/"), "{index}");
    assert!(!index.contains("old.yml"), "{index}");
}
