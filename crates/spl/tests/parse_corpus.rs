//! Every detection search of Splunk security_content (../shared/corpora/splunk) parses, macros
//! left unexpanded (they are macro nodes), and printing the tree gives text that parses to the
//! same tree.

use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/splunk/detections")
}

fn yml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            yml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// Searches that do not parse, each with the reason it is not a parser bug.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

#[test]
fn every_detection_search_parses() {
    let dir = corpus();
    if !dir.exists() {
        eprintln!("corpus {} missing: skipped", dir.display());
        return;
    }
    let mut files = vec![];
    yml_files(&dir, &mut files);
    files.sort();
    let mut searches = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let stream = match yaml::load(&text) {
            Ok(s) => s,
            Err(e) => {
                // Not the SPL parser's business (the YAML reader reports it).
                eprintln!("{}: YAML not read: {e}", f.display());
                continue;
            }
        };
        let Some(doc) = stream.documents.first() else {
            continue;
        };
        if let Some(s) = doc.get("search").and_then(|s| s.as_str()) {
            searches.push((f.clone(), s.to_string()));
        }
    }
    let start = std::time::Instant::now();
    let results: Vec<_> = searches.iter().map(|(_, s)| spl::parse(s)).collect();
    let took = start.elapsed();
    let mut failures = vec![];
    let mut commands = 0;
    for ((f, s), r) in searches.iter().zip(&results) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        match r {
            Ok(p) => {
                commands += p.commands.len();
                let printed = spl::print(p);
                let mut again = spl::parse(&printed).unwrap_or_else(|e| {
                    panic!("{name}: printed text does not parse: {e}\n{printed}")
                });
                let mut orig = p.clone();
                orig.clear_spans();
                again.clear_spans();
                assert_eq!(orig, again, "{name}: print/parse differs\n{printed}");
            }
            Err(e) if KNOWN_FAILURES.iter().any(|(n, _)| *n == name) => {
                eprintln!("known failure {name}: {e}");
            }
            Err(e) => {
                let ctx: String = s
                    .get(e.offset.saturating_sub(40)..)
                    .unwrap_or("")
                    .chars()
                    .take(100)
                    .collect();
                failures.push(format!("{name}: {e}\n    …{ctx}"));
            }
        }
    }
    eprintln!(
        "parsed {} of {} searches ({} commands) in {:?}",
        searches.len() - failures.len(),
        searches.len(),
        commands,
        took
    );
    assert!(
        searches.len() > 1000,
        "only {} searches found",
        searches.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
