//! Git repositories for the tests, made in a temporary folder from SigmaHQ rules of the test
//! corpora (also used by the CLI's tests).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn corpus_rules() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma/rules");
    assert!(p.is_dir(), "test corpora missing at {}", p.display());
    p
}

pub const RULES: [&str; 3] = [
    "windows/process_creation/proc_creation_win_certutil_download.yml",
    "windows/process_creation/proc_creation_win_whoami_all_execution.yml",
    "windows/process_creation/proc_creation_win_bitsadmin_download.yml",
];

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A repository with a README (first commit), then three SigmaHQ rules under `rules/`, so a
/// clone of depth 1 is shallow.
pub fn origin(dir: &Path) -> PathBuf {
    let repo = dir.join("origin");
    std::fs::create_dir_all(repo.join("rules")).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.join("README.md"), "no rules yet\n").unwrap();
    commit(&repo, "readme");
    for r in RULES {
        let name = Path::new(r).file_name().unwrap();
        std::fs::copy(corpus_rules().join(r), repo.join("rules").join(name)).unwrap();
    }
    std::fs::write(repo.join("README.md"), "rules\n").unwrap();
    commit(&repo, "first");
    repo
}

pub fn commit(repo: &Path, message: &str) -> String {
    git(repo, &["add", "--all"]);
    git(repo, &["commit", "--quiet", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

/// The `file://` URL of a local repository.
pub fn url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// Two commits on `repo`: the README (outside `rules/`), then under `rules/` one rule added
/// (`proc_creation_win_net_user_add.yml`), one modified (`…_whoami_all_execution.yml`) and one
/// deleted (`…_bitsadmin_download.yml`). Returns the last commit.
pub fn update(repo: &Path) -> String {
    std::fs::write(repo.join("README.md"), "more rules\n").unwrap();
    commit(repo, "readme again");
    let rules = repo.join("rules");
    std::fs::copy(
        corpus_rules().join("windows/process_creation/proc_creation_win_net_user_add.yml"),
        rules.join("proc_creation_win_net_user_add.yml"),
    )
    .unwrap();
    let whoami = rules.join("proc_creation_win_whoami_all_execution.yml");
    let text = std::fs::read_to_string(&whoami).unwrap();
    std::fs::write(&whoami, text.replace("level: ", "level: high\n# was: ")).unwrap();
    std::fs::remove_file(rules.join("proc_creation_win_bitsadmin_download.yml")).unwrap();
    commit(repo, "second")
}
