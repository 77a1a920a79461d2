//! `detdex sync`, and the sources `detdex serve` serves when given no `--source`: the
//! repositories of the sources file, fetched into the cache.

use catalog::{Origin, Source};
use sources::{Cache, Config, SourceConfig, SyncError, Synced};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The sources file given, or the built-in one.
fn config(file: Option<&Path>) -> Result<Config, String> {
    match file {
        Some(f) => sources::load(f),
        None => sources::default_config(),
    }
    .map_err(|e| e.to_string())
}

fn cache(dir: Option<&Path>) -> Result<Cache, String> {
    sources::cache_dir(dir).map(Cache::new)
}

/// `name: cloned|updated|unchanged <short commit> (…)`, or `name: error: …`.
fn line(name: &str, r: &Result<Synced, SyncError>) -> String {
    match r {
        Err(e) => format!("{name}: error: {e}"),
        Ok(s) => {
            let short = &s.entry.commit[..s.entry.commit.len().min(7)];
            let changes = match (&s.previous, &s.entry.changes) {
                (None, _) => String::new(),
                (Some(_), None) => " (changed files unknown)".into(),
                (Some(_), Some(c)) if c.is_empty() => String::new(),
                (Some(_), Some(c)) => format!(
                    " ({} files changed: {} added, {} modified, {} deleted)",
                    c.len(),
                    c.added.len(),
                    c.modified.len(),
                    c.deleted.len()
                ),
            };
            format!("{name}: {} {short}{changes}", s.outcome)
        }
    }
}

/// `detdex sync`: fetch the sources (all, or those named in `only`) into the cache. Exit 1 if
/// any failed, 2 for a bad sources file, cache or name.
pub fn run(config_file: Option<&Path>, cache_dir: Option<&Path>, only: &[String]) -> ExitCode {
    let (config, cache) = match config(config_file).and_then(|c| Ok((c, cache(cache_dir)?))) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("detdex: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(unknown) = only
        .iter()
        .find(|n| !config.sources.iter().any(|s| &s.name == *n))
    {
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        eprintln!(
            "detdex: no source named `{unknown}` (the sources are: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    let chosen: Vec<&SourceConfig> = config
        .sources
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .collect();
    let results = match cache.sync(&chosen) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("detdex: {e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for (s, r) in chosen.iter().zip(&results) {
        failed |= r.is_err();
        let l = line(&s.name, r);
        if r.is_ok() {
            println!("{l}");
        } else {
            eprintln!("{l}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Sources to serve, with where the fetched ones came from (by source name).
pub struct Served {
    pub sources: Vec<Source>,
    pub origins: Vec<(String, Origin)>,
}

/// The sources `detdex serve` serves without `--source`: every source of the sources file that
/// is in the cache, each rooted at its clone and reading the folders of its `paths` (rule keys
/// `NAME/<path in the repository>`), with its origin. Unless
/// `no_sync`, the sources not in the cache yet are fetched first; a source that cannot be
/// fetched is reported and left out. `Err` when no source is left to serve.
pub fn cached_sources(
    config_file: Option<&Path>,
    cache_dir: Option<&Path>,
    no_sync: bool,
) -> Result<Served, String> {
    let config = config(config_file)?;
    let cache = cache(cache_dir)?;
    let state = cache.state()?;
    let missing: Vec<&SourceConfig> = config
        .sources
        .iter()
        .filter(|s| cache.synced(&state, &s.name).is_none())
        .collect();
    if !missing.is_empty() && !no_sync {
        let names: Vec<&str> = missing.iter().map(|s| s.name.as_str()).collect();
        eprintln!(
            "detdex: fetching {} into {} (once; `detdex sync` updates them)",
            names.join(", "),
            cache.root.display()
        );
        for (s, r) in missing.iter().zip(cache.sync(&missing)?) {
            eprintln!("{}", line(&s.name, &r));
        }
    }
    let state = cache.state()?;
    let mut served = Vec::new();
    let mut origins = Vec::new();
    for s in &config.sources {
        let Some(entry) = cache.synced(&state, &s.name) else {
            if no_sync {
                eprintln!("detdex: {}: not in the cache, left out", s.name);
            }
            continue;
        };
        let root: PathBuf = cache.repo_dir(&s.name);
        let (include, missing): (Vec<&String>, Vec<&String>) =
            s.paths.iter().partition(|p| root.join(p).is_dir());
        for p in &missing {
            eprintln!(
                "detdex: {}: {p} is not a folder of the repository, left out",
                s.name
            );
        }
        if !s.paths.is_empty() && include.is_empty() {
            eprintln!(
                "detdex: {}: none of its folders is in the repository, left out",
                s.name
            );
            continue;
        }
        origins.push((
            s.name.clone(),
            Origin {
                label: s.label.clone(),
                url: entry.url,
                commit: entry.commit,
                retrieved_at: entry.retrieved_at,
                root: root.clone(),
                path: String::new(),
            },
        ));
        served.push(Source {
            name: s.name.clone(),
            root,
            include: include.into_iter().map(PathBuf::from).collect(),
        });
    }
    if served.is_empty() {
        return Err(if no_sync {
            format!(
                "no source is in the cache {}: run `detdex sync` (or serve without --no-sync)",
                cache.root.display()
            )
        } else {
            format!(
                "no source could be fetched (is the network or `git` unavailable? git's errors are above). \
                 Rule folders of your own need neither: `detdex serve --source NAME=DIR` (any number), \
                 e.g. `detdex serve --source sigma=./sigma/rules`; sources fetched before are served with \
                 `detdex serve --no-sync` from the cache {}",
                cache.root.display()
            )
        });
    }
    Ok(Served {
        sources: served,
        origins,
    })
}
