//! `detdex search` and the rule store shared with `serve`.

use catalog::Catalog;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};
use store::{Filters, Store};

/// Open the store (`--store FILE`, else one in memory) and record `catalog` into it, saying
/// on stderr what changed since the last recording.
pub fn record(catalog: &Catalog, path: Option<&Path>) -> Result<Store, ExitCode> {
    let mut store = open(path)?;
    let t = Instant::now();
    match store.record(catalog, SystemTime::now()) {
        Ok(c) => {
            eprintln!(
                "detdex: store {}: {} new, {} changed, {} removed in {:.0} ms",
                path.map_or_else(|| "in memory".to_string(), |p| p.display().to_string()),
                c.new.len(),
                c.changed.len(),
                c.removed.len(),
                t.elapsed().as_secs_f64() * 1e3
            );
            Ok(store)
        }
        Err(e) => {
            eprintln!("detdex: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn open(path: Option<&Path>) -> Result<Store, ExitCode> {
    match path {
        Some(p) => Store::open(p),
        None => Store::in_memory(),
    }
    .map_err(|e| {
        eprintln!("detdex: {e}");
        ExitCode::FAILURE
    })
}

pub struct Args {
    pub sources: Vec<String>,
    pub store: Option<PathBuf>,
    pub query: Vec<String>,
    pub language: String,
    pub level: String,
    pub limit: usize,
    pub retired: bool,
    pub json: bool,
    pub timings: bool,
}

pub fn run(a: Args) -> ExitCode {
    let t0 = Instant::now();
    let store = if a.sources.is_empty() {
        // Only a store file: search what it recorded last.
        let Some(path) = a.store.as_deref() else {
            eprintln!("detdex: search needs rule folders (--source NAME=DIR) or a --store FILE");
            return ExitCode::from(2);
        };
        if !path.is_file() {
            eprintln!("detdex: {}: no such store file", path.display());
            return ExitCode::from(2);
        }
        match open(Some(path)) {
            Ok(s) => s,
            Err(code) => return code,
        }
    } else {
        let Some(catalog) = crate::load_sources(&a.sources) else {
            return ExitCode::from(2);
        };
        let store = match record(&catalog, a.store.as_deref()) {
            Ok(s) => s,
            Err(code) => return code,
        };
        std::mem::forget(catalog); // freeing every rule would only cost time
        store
    };
    let t_ready = t0.elapsed();
    let filters = Filters {
        source: String::new(),
        language: a.language,
        level: a.level,
        retired: a.retired,
    };
    let t1 = Instant::now();
    let hits = match store.search(&a.query.join(" "), &filters, a.limit) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("detdex: {e}");
            return ExitCode::FAILURE;
        }
    };
    let t_search = t1.elapsed();
    let out = if a.json {
        match serde_json::to_string(&hits) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("detdex: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        hits.iter()
            .map(|h| format!("{}  {}\n", h.key, h.title))
            .collect()
    };
    crate::print_out(&out);
    if a.timings {
        eprintln!(
            "timings: load+record {:.1} ms, search {:.2} ms ({} hits)",
            t_ready.as_secs_f64() * 1e3,
            t_search.as_secs_f64() * 1e3,
            hits.len()
        );
    }
    ExitCode::SUCCESS
}
