//! Every YAML file of the shared Sigma corpora loads, without an error and without a panic.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Files that are not valid YAML (PyYAML rejects them too), with the line of the error.
const KNOWN_INVALID: &[(&str, u32)] = &[
    // A tab used as indentation: "found character '\t' that cannot start any token".
    (
        "mdecrevoisier/windows-os/win-os-dump file transfered over SMB share.yaml",
        20,
    ),
];

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

/// Spans slice the text; quoted scalars' spans start with their quote or block indicator,
/// single-line plain strings' spans are exactly their text.
fn check_node(rel: &str, text: &str, n: &yaml::Node) {
    let slice = text
        .get(n.span.start_byte..n.span.end_byte)
        .unwrap_or_else(|| panic!("{rel}: bad span {:?}", n.span));
    match &n.value {
        yaml::Value::Str { quoted: true, .. } => {
            assert!(
                slice.starts_with(['\'', '"', '|', '>']),
                "{rel}: {slice:?} at {:?}",
                n.span
            )
        }
        yaml::Value::Str {
            text: t,
            quoted: false,
        } if !slice.contains('\n') => {
            assert_eq!(slice, t, "{rel} at {:?}", n.span)
        }
        yaml::Value::Seq(items) => items.iter().for_each(|c| check_node(rel, text, c)),
        yaml::Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            check_node(rel, text, k);
            check_node(rel, text, v);
        }),
        _ => {}
    }
}

struct Tally {
    files: usize,
    bytes: usize,
    documents: usize,
    warnings: usize,
    files_with_warnings: usize,
    invalid: usize,
    parse_time: Duration,
}

fn load_corpus(name: &str) -> Tally {
    let root = corpora();
    let dir = root.join(name);
    assert!(
        dir.is_dir(),
        "the corpus {} is missing: the shared corpora must be checked out beside the repository",
        dir.display()
    );
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    files.sort();
    assert!(
        files.len() > 100,
        "only {} files in {}",
        files.len(),
        dir.display()
    );
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, text)
        })
        .collect();
    let mut t = Tally {
        files: texts.len(),
        bytes: texts.iter().map(|(_, s)| s.len()).sum(),
        documents: 0,
        warnings: 0,
        files_with_warnings: 0,
        invalid: 0,
        parse_time: Duration::ZERO,
    };
    let mut failures = Vec::new();
    for (rel, text) in &texts {
        let start = Instant::now();
        let result = yaml::load(text);
        t.parse_time += start.elapsed();
        let known = KNOWN_INVALID.iter().find(|(p, _)| p == rel);
        match (result, known) {
            (Ok(stream), None) => {
                t.documents += stream.documents.len();
                t.warnings += stream.warnings.len();
                t.files_with_warnings += usize::from(!stream.warnings.is_empty());
                for d in &stream.documents {
                    check_node(rel, text, d);
                }
            }
            (Err(e), Some((_, line))) => {
                assert_eq!(e.pos.line, *line, "{rel}: {e}");
                t.invalid += 1;
            }
            (Ok(_), Some(_)) => failures.push(format!("{rel}: listed as invalid but loads")),
            (Err(e), None) => failures.push(format!("{rel}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{name}: {} files ({} KiB), {} documents, {} duplicate-key warnings in {} files, {} known invalid, parsed in {:?}",
        t.files,
        t.bytes / 1024,
        t.documents,
        t.warnings,
        t.files_with_warnings,
        t.invalid,
        t.parse_time
    );
    t
}

#[test]
fn sigma_corpus_loads() {
    let t = load_corpus("sigma");
    assert!(t.files > 3000, "{} files", t.files);
    assert!(t.documents >= t.files);
}

#[test]
fn mdecrevoisier_corpus_loads_and_has_duplicate_keys() {
    let t = load_corpus("mdecrevoisier");
    assert!(
        t.files_with_warnings >= 1,
        "the mdecrevoisier rules are known to repeat keys; no duplicate-key warning was found"
    );
    assert_eq!(t.invalid, KNOWN_INVALID.len());
}

/// The fast scanner against saphyr's parser on every YAML file of the shared corpora and of
/// the repository's `data/`: whenever the fast path accepts a file, the whole `Stream` (every
/// value, span and warning) is the one saphyr's path gives; it never accepts a file saphyr
/// rejects. At least 97 % of the SigmaHQ rules must take the fast path.
#[test]
fn fast_path_equals_saphyr_on_every_corpus_file() {
    let mut files = Vec::new();
    yaml_files(&corpora(), &mut files);
    yaml_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 6000, "only {} YAML files", files.len());
    let (mut accepted, mut sigma, mut sigma_accepted) = (0usize, 0usize, 0usize);
    let mut refused = Vec::new();
    let mut failures = Vec::new();
    for path in &files {
        let rel = path.to_string_lossy().replace('\\', "/");
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let slow = yaml::load_with_saphyr(&text);
        let fast = yaml::load_fast(&text);
        let is_sigma_rule = rel.contains("/corpora/sigma/rules");
        sigma += usize::from(is_sigma_rule);
        match (fast, slow) {
            (Some(f), Ok(s)) => {
                accepted += 1;
                sigma_accepted += usize::from(is_sigma_rule);
                if f != s {
                    failures.push(rel);
                }
            }
            (Some(_), Err(e)) => failures.push(format!("{rel}: accepted, saphyr says {e}")),
            (None, _) => refused.push(rel),
        }
    }
    let pct = |a: usize, n: usize| 100.0 * a as f64 / n.max(1) as f64;
    println!(
        "fast path: {accepted} of {} files ({:.2} %), SigmaHQ rules {sigma_accepted} of {sigma} ({:.2} %)",
        files.len(),
        pct(accepted, files.len()),
        pct(sigma_accepted, sigma)
    );
    if std::env::var_os("FAST_YAML_REFUSED").is_some() {
        for r in &refused {
            println!("refused: {r}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(sigma > 3000, "{sigma} SigmaHQ rule files");
    assert!(
        sigma_accepted * 100 >= sigma * 97,
        "only {sigma_accepted} of {sigma} SigmaHQ rules take the fast path"
    );
}
