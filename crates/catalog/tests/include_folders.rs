//! A source that lists folders (`include`) reads only those, with keys from the source's root.

use std::path::{Path, PathBuf};

const FILES: [&str; 3] = [
    "rules/windows/process_creation/proc_creation_win_whoami_all_execution.yml",
    "rules-emerging-threats/2019/Malware/Ryuk/proc_creation_win_malware_ryuk.yml",
    "deprecated/web/proxy_webdav_search_ms.yml",
];

/// A copy of three files of the SigmaHQ corpus, at their paths in the repository.
fn repo(dir: &Path) -> PathBuf {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma");
    assert!(
        corpus.is_dir(),
        "test corpora missing at {}",
        corpus.display()
    );
    let repo = dir.join("sigma");
    for f in FILES {
        let to = repo.join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(corpus.join(f), to).unwrap();
    }
    repo
}

/// The sorted keys of the rules read, and how many files were read.
fn keys(source: catalog::Source) -> (Vec<String>, usize) {
    let cat = catalog::Catalog::load(&[source]);
    assert_eq!(cat.problem_counts().0, 0, "{:?}", cat.diagnostics);
    let mut keys: Vec<String> = cat.rules.iter().map(|r| r.key.clone()).collect();
    keys.sort();
    (keys, cat.files)
}

#[test]
fn only_the_listed_folders_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = repo(tmp.path());
    let (listed, files) = keys(catalog::Source {
        name: "sigma".into(),
        root: root.clone(),
        include: vec!["rules".into(), "rules-emerging-threats".into()],
    });
    assert_eq!(
        listed,
        [
            "sigma/rules-emerging-threats/2019/Malware/Ryuk/proc_creation_win_malware_ryuk.yml",
            "sigma/rules/windows/process_creation/proc_creation_win_whoami_all_execution.yml",
        ]
    );
    assert_eq!(files, 2);

    // Without `include` the whole root is read, with the same keys for the same files.
    let (all, files) = keys(catalog::Source {
        name: "sigma".into(),
        root: root.clone(),
        include: Vec::new(),
    });
    assert_eq!((all.len(), files), (3, 3), "{all:?}");
    assert!(listed.iter().all(|k| all.contains(k)), "{all:?}");

    // A folder listed twice, or inside another listed one, is read once; a missing one adds
    // nothing.
    let (twice, files) = keys(catalog::Source {
        name: "sigma".into(),
        root,
        include: vec![
            "rules".into(),
            "rules/windows".into(),
            "rules".into(),
            "rules-threat-hunting".into(),
        ],
    });
    assert_eq!(
        twice,
        ["sigma/rules/windows/process_creation/proc_creation_win_whoami_all_execution.yml"]
    );
    assert_eq!(files, 1);
}
