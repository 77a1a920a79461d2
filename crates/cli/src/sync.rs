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

/// Where a `--source` folder came from when it is (in) a git checkout with a remote: the
/// remote's URL (`origin`, else the first), the checked-out commit, the folder's place in the
/// repository and when the checkout last changed (its `FETCH_HEAD`, else `HEAD`), so its rule
/// pages link to the original files as fetched sources do. `None` for a plain folder.
pub fn checkout_origin(source: &Source) -> Option<(String, Origin)> {
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&source.root)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !s.is_empty()).then_some(s)
    };
    let commit = git(&["rev-parse", "--verify", "HEAD"])?;
    let remotes = git(&["remote"])?;
    let remote = remotes
        .lines()
        .find(|r| *r == "origin")
        .or_else(|| remotes.lines().next())?
        .to_string();
    let url = web_url(&git(&["remote", "get-url", &remote])?);
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return None; // a folder of this machine: nothing a reader could open
    }
    let prefix = git(&["rev-parse", "--show-prefix"]).unwrap_or_default();
    let git_dir = PathBuf::from(git(&["rev-parse", "--absolute-git-dir"])?);
    let changed = ["FETCH_HEAD", "HEAD"]
        .iter()
        .find_map(|f| std::fs::metadata(git_dir.join(f)).ok()?.modified().ok())?;
    Some((
        source.name.clone(),
        Origin {
            label: url
                .trim_end_matches('/')
                .trim_end_matches(".git")
                .rsplit(['/', ':'])
                .nth(1)
                .unwrap_or(&source.name)
                .to_string(),
            url,
            commit,
            retrieved_at: store::timestamp(changed),
            root: source.root.clone(),
            path: prefix.trim_end_matches('/').to_string(),
        },
    ))
}

/// A remote's URL as a page can show it: `git@host:owner/repo` as `https://host/owner/repo`,
/// and without any user or token (`https://user:token@host/…`).
fn web_url(remote: &str) -> String {
    if let Some((scheme, rest)) = remote.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        return format!("{scheme}://{host}/{path}");
    }
    match remote.split_once(':') {
        Some((user_host, path)) if !user_host.contains('/') => {
            let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
            format!("https://{host}/{path}")
        }
        _ => remote.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{checkout_origin, web_url};
    use catalog::Source;

    #[test]
    fn a_checkout_names_its_remote_commit_and_folder() {
        let dir = std::env::temp_dir().join(format!("detdex-checkout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rules")).unwrap();
        std::fs::write(dir.join("rules/r.yml"), "title: x\n").unwrap();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .arg("-C")
                .arg(&dir)
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        git(&["add", "."]);
        git(&["commit", "-qm", "x"]);
        let source = |root: std::path::PathBuf| Source {
            name: "mine".into(),
            root,
            include: Vec::new(),
        };
        assert!(
            checkout_origin(&source(dir.join("rules"))).is_none(),
            "no remote"
        );
        git(&[
            "remote",
            "add",
            "origin",
            "git@github.com:Example/rules.git",
        ]);
        let (name, o) = checkout_origin(&source(dir.join("rules"))).expect("origin");
        assert_eq!((name.as_str(), o.label.as_str()), ("mine", "Example"));
        assert_eq!(o.url, "https://github.com/Example/rules.git");
        assert_eq!(o.commit.len(), 40);
        assert_eq!(o.path, "rules");
        let file = dir.join("rules/r.yml");
        assert_eq!(
            o.file_url(&file.to_string_lossy()).as_deref(),
            Some(
                format!(
                    "https://github.com/Example/rules/blob/{}/rules/r.yml",
                    o.commit
                )
                .as_str()
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn remotes_as_pages_show_them() {
        assert_eq!(
            web_url("https://user:tok@github.com/SigmaHQ/sigma.git"),
            "https://github.com/SigmaHQ/sigma.git"
        );
        assert_eq!(
            web_url("git@github.com:SigmaHQ/sigma.git"),
            "https://github.com/SigmaHQ/sigma.git"
        );
        assert_eq!(web_url("/srv/git/rules"), "/srv/git/rules");
    }
}
