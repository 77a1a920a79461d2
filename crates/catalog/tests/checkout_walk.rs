//! A security_content checkout is read as a whole: its folders other than the content ones
//! (baselines, investigations, playbooks, …) are not walked for rules.

use std::path::{Path, PathBuf};

fn splunk() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/splunk");
    assert!(p.is_dir(), "test corpora missing at {}", p.display());
    p
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn only_the_content_of_a_checkout_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("security_content");
    copy_dir(&splunk().join("macros"), &repo.join("macros"));
    let detection = splunk().join("detections/endpoint/wmic_group_discovery.yml");
    std::fs::create_dir_all(repo.join("detections/endpoint")).unwrap();
    std::fs::copy(
        &detection,
        repo.join("detections/endpoint/wmic_group_discovery.yml"),
    )
    .unwrap();
    // A baseline search and a playbook: `name:` and `search:` like a detection, but not one.
    for dir in ["baselines", "playbooks"] {
        std::fs::create_dir_all(repo.join(dir)).unwrap();
        std::fs::copy(&detection, repo.join(dir).join("not_a_detection.yml")).unwrap();
    }
    // A rule folder beside the checkout is still walked.
    std::fs::create_dir_all(tmp.path().join("other")).unwrap();
    std::fs::copy(&detection, tmp.path().join("other/own.yml")).unwrap();

    let (files, checkouts) = catalog::read::walk_sources(tmp.path());
    assert_eq!(checkouts, std::slice::from_ref(&repo));
    assert_eq!(files, [tmp.path().join("other/own.yml")]);

    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "splunk".into(),
        root: repo,
        include: Vec::new(),
    }]);
    let keys: Vec<&str> = cat.rules.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        ["splunk/detections/endpoint/wmic_group_discovery.yml"]
    );
}
