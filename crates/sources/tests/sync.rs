//! Syncing real git repositories made in a temporary folder (`file://` URLs, no network).

mod common;

use common::*;
use sources::{Cache, Changes, Outcome, SourceConfig};

fn source(name: &str, url: String, path: Option<&str>) -> SourceConfig {
    sourced(name, url, path.as_slice())
}

fn sourced(name: &str, url: String, paths: &[&str]) -> SourceConfig {
    SourceConfig {
        name: name.into(),
        label: name.into(),
        url,
        branch: None,
        paths: paths.iter().map(|p| p.to_string()).collect(),
        license: None,
    }
}

#[test]
fn clone_then_update_reports_changed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = origin(tmp.path());
    let first = git(&repo, &["rev-parse", "HEAD"]);
    let cache = Cache::new(tmp.path().join("cache"));
    let s = source("sigma", url(&repo), Some("rules"));

    let r = cache.sync(&[&s]).unwrap().remove(0).unwrap();
    assert_eq!(r.outcome, Outcome::Cloned);
    assert_eq!(r.entry.commit, first);
    assert_eq!(r.entry.changes, None);
    assert_eq!(r.previous, None);
    assert!(
        cache
            .repo_dir("sigma")
            .join("rules")
            .join("proc_creation_win_whoami_all_execution.yml")
            .is_file()
    );
    let state = cache.state().unwrap();
    assert_eq!(cache.synced(&state, "sigma"), Some(r.entry.clone()));
    let t = &r.entry.retrieved_at;
    assert!(
        t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
        "{t}"
    );

    // Nothing new upstream.
    let r = cache.sync(&[&s]).unwrap().remove(0).unwrap();
    assert_eq!(r.outcome, Outcome::Unchanged);
    assert_eq!(r.entry.commit, first);
    assert_eq!(r.entry.changes, Some(Changes::default()));

    // Two commits upstream (the clone fetches only the last).
    let second = update(&repo);
    let whoami = repo.join("rules/proc_creation_win_whoami_all_execution.yml");

    let r = cache.sync(&[&s]).unwrap().remove(0).unwrap();
    assert_eq!(r.outcome, Outcome::Updated);
    assert_eq!(r.previous.as_deref(), Some(first.as_str()));
    assert_eq!(r.entry.commit, second);
    assert_eq!(
        r.entry.changes,
        Some(Changes {
            added: vec!["rules/proc_creation_win_net_user_add.yml".into()],
            modified: vec!["rules/proc_creation_win_whoami_all_execution.yml".into()],
            deleted: vec!["rules/proc_creation_win_bitsadmin_download.yml".into()],
        })
    );
    let dir = cache.repo_dir("sigma").join("rules");
    assert!(dir.join("proc_creation_win_net_user_add.yml").is_file());
    assert!(
        !dir.join("proc_creation_win_bitsadmin_download.yml")
            .exists()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("proc_creation_win_whoami_all_execution.yml")).unwrap(),
        std::fs::read_to_string(&whoami).unwrap()
    );
    // The clone stayed shallow: the diff did not need the history between the commits.
    let clone = cache.repo_dir("sigma");
    assert_eq!(
        git(&clone, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );
    assert_eq!(git(&clone, &["rev-list", "--count", "HEAD"]), "1");
    // The state records the update.
    let state = cache.state().unwrap();
    assert_eq!(state.sources["sigma"], r.entry);
}

#[test]
fn changes_are_counted_under_each_listed_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let s = sourced("sigma", url(&repo), &["rules", "hunting"]);
    cache.sync(&[&s]).unwrap();

    for dir in ["hunting", "tests"] {
        std::fs::create_dir_all(repo.join(dir)).unwrap();
        std::fs::write(repo.join(dir).join("h.yml"), "title: h\n").unwrap();
    }
    update(&repo);
    let r = cache.sync(&[&s]).unwrap().remove(0).unwrap();
    // The README and tests/ are outside the listed folders.
    assert_eq!(
        r.entry.changes,
        Some(Changes {
            added: vec![
                "hunting/h.yml".into(),
                "rules/proc_creation_win_net_user_add.yml".into()
            ],
            modified: vec!["rules/proc_creation_win_whoami_all_execution.yml".into()],
            deleted: vec!["rules/proc_creation_win_bitsadmin_download.yml".into()],
        })
    );
}

#[test]
fn a_branch_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = origin(tmp.path());
    git(&repo, &["checkout", "--quiet", "-b", "dev"]);
    std::fs::write(repo.join("rules/extra.yml"), "title: x\n").unwrap();
    let dev = commit(&repo, "dev");
    git(&repo, &["checkout", "--quiet", "main"]);
    let cache = Cache::new(tmp.path().join("cache"));
    let mut s = source("dev", url(&repo), None);
    s.branch = Some("dev".into());

    let r = cache.sync(&[&s]).unwrap().remove(0).unwrap();
    assert_eq!(
        (r.outcome, r.entry.commit.as_str()),
        (Outcome::Cloned, dev.as_str())
    );

    // A new commit on main does not move the source; one on dev does.
    std::fs::write(repo.join("main.txt"), "m\n").unwrap();
    commit(&repo, "main");
    let r = cache.sync(&[&s]).unwrap().remove(0).unwrap();
    assert_eq!(
        (r.outcome, r.entry.commit.as_str()),
        (Outcome::Unchanged, dev.as_str())
    );
    git(&repo, &["checkout", "--quiet", "dev"]);
    std::fs::remove_file(repo.join("rules/extra.yml")).unwrap();
    let dev2 = commit(&repo, "dev 2");
    let r = cache.sync(&[&s]).unwrap().remove(0).unwrap();
    assert_eq!(r.outcome, Outcome::Updated);
    assert_eq!(r.entry.commit, dev2);
    assert_eq!(r.entry.changes.unwrap().deleted, ["rules/extra.yml"]);
}

#[test]
fn a_failing_source_does_not_stop_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let bad = source("bad", url(&tmp.path().join("missing")), None);
    let good = source("good", url(&repo), Some("rules"));

    let results = cache.sync(&[&bad, &good]).unwrap();
    let err = results[0].as_ref().unwrap_err().to_string();
    // git's own words are kept.
    assert!(err.starts_with("git clone failed: "), "{err}");
    assert!(err.contains("missing"), "{err}");
    assert_eq!(results[1].as_ref().unwrap().outcome, Outcome::Cloned);
    let state = cache.state().unwrap();
    assert!(state.sources.contains_key("good"));
    assert!(!state.sources.contains_key("bad"));
    assert_eq!(cache.synced(&state, "bad"), None);
}

#[test]
fn a_folder_that_is_not_a_clone_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = origin(tmp.path());
    let cache = Cache::new(tmp.path().join("cache"));
    let s = source("x", url(&repo), None);
    let dir = cache.repo_dir("x");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mine.txt"), "keep").unwrap();
    let err = cache
        .sync(&[&s])
        .unwrap()
        .remove(0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a git clone"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("mine.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn a_corrupt_state_file_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("state.json"), "{").unwrap();
    let cache = Cache::new(tmp.path());
    let err = cache.state().unwrap_err();
    assert!(
        err.contains("state.json") && err.contains("not a detdex state file"),
        "{err}"
    );
}
