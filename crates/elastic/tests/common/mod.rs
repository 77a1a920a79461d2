//! What the corpus tests share: where the detection-rules corpus is, and its TOML files.

use std::path::{Path, PathBuf};

/// `../shared/corpora/elastic`, or `None` (with a message) when it is missing; with `CI` set a
/// missing corpus fails the test.
pub fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/elastic");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("corpus {} missing (CI is set)", dir.display());
    }
    eprintln!("corpus {} missing: skipped", dir.display());
    None
}

/// Every `.toml` file under `dir`, in path order.
pub fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}
