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

/// Two checkouts defining the same analytic story: the first (by source order) is kept with
/// both checkouts' detections naming it, the second is a warning at its file; a deprecated
/// story is retired.
#[test]
fn a_story_defined_twice_is_kept_once_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let detection = "detections/endpoint/wmic_group_discovery.yml";
    let text = std::fs::read_to_string(splunk().join(detection)).unwrap();
    let story = text
        .split("analytic_story:\n")
        .nth(1)
        .and_then(|s| s.lines().next())
        .and_then(|l| l.trim().strip_prefix("- "))
        .expect("the detection names a story")
        .to_string();
    let file = std::fs::read_dir(splunk().join("stories"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.is_file()
                && std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .any(|l| l == format!("name: {story}"))
        })
        .expect("the story's file");
    let mut sources = Vec::new();
    for (name, story_dir) in [("a", "stories"), ("b", "stories/deprecated")] {
        let repo = tmp.path().join(name);
        copy_dir(&splunk().join("macros"), &repo.join("macros"));
        std::fs::create_dir_all(repo.join("detections/endpoint")).unwrap();
        std::fs::copy(splunk().join(detection), repo.join(detection)).unwrap();
        std::fs::create_dir_all(repo.join(story_dir)).unwrap();
        std::fs::copy(&file, repo.join(story_dir).join("s.yml")).unwrap();
        sources.push(catalog::Source {
            name: name.into(),
            root: repo,
            include: Vec::new(),
        });
    }
    let cat = catalog::Catalog::load(&sources);
    assert_eq!(cat.stories().len(), 1);
    let s = cat.story(&story).unwrap();
    assert_eq!(s.key, "a/stories/s.yml");
    assert_eq!(s.retired, None);
    assert_eq!(
        s.detections,
        [format!("a/{detection}"), format!("b/{detection}")]
    );
    let warned: Vec<_> = cat
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("is also in a/stories/s.yml"))
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", cat.diagnostics);
    assert!(warned[0].path.ends_with("b/stories/deprecated/s.yml"));

    // Alone, the deprecated copy is kept and retired.
    let cat = catalog::Catalog::load(&sources[1..]);
    let s = cat.story(&story).unwrap();
    assert_eq!(s.retired, Some(ir::Retired::Deprecated));
    assert_eq!(s.detections, [format!("b/{detection}")]);
}
