//! The cache: one shallow git clone per source (`repos/NAME`) and `state.json`, which records
//! for each source the commit, when it was retrieved, and what the last update changed.

use crate::config::SourceConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cache folder: `flag` (`--cache DIR`), else `$DETDEX_CACHE`, else
/// `$XDG_CACHE_HOME/detdex`, else `~/.cache/detdex`.
pub fn cache_dir(flag: Option<&Path>) -> Result<PathBuf, String> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = env("DETDEX_CACHE") {
        return Ok(p);
    }
    if let Some(p) = env("XDG_CACHE_HOME") {
        return Ok(p.join("detdex"));
    }
    match env("HOME") {
        Some(home) => Ok(home.join(".cache").join("detdex")),
        None => Err("no cache folder: pass --cache DIR or set DETDEX_CACHE".into()),
    }
}

/// What `state.json` records of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub url: String,
    /// The commit checked out (`git rev-parse HEAD`).
    pub commit: String,
    /// When the source was last synced, RFC 3339 UTC (`2026-05-05T11:00:00Z`).
    pub retrieved_at: String,
    /// What the last sync changed under the source's `paths`: `None` after a clone, or when
    /// git could not tell (the old commit was gone).
    #[serde(default)]
    pub changes: Option<Changes>,
}

/// Files added, modified and deleted between two commits (paths in the repository).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub deleted: Vec<String>,
}

impl Changes {
    pub fn len(&self) -> usize {
        self.added.len() + self.modified.len() + self.deleted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `state.json`: the synced sources by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub sources: BTreeMap<String, Entry>,
}

/// A cache folder (see [`cache_dir`]).
#[derive(Debug, Clone)]
pub struct Cache {
    pub root: PathBuf,
}

/// What a sync did to one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Cloned,
    Updated,
    Unchanged,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Cloned => "cloned",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
        })
    }
}

/// One source synced: what happened and the state recorded.
#[derive(Debug, Clone)]
pub struct Synced {
    pub outcome: Outcome,
    pub entry: Entry,
    /// The commit before an update (`None` after a clone).
    pub previous: Option<String>,
}

/// Why a source could not be synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncError(pub String);

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyncError {}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The clone of a source.
    pub fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("repos").join(name)
    }

    fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// The recorded state; empty when there is no state file yet.
    pub fn state(&self) -> Result<State, String> {
        let file = self.state_file();
        match std::fs::read_to_string(&file) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("{}: not a detdex state file: {e}", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(format!("{}: {e}", file.display())),
        }
    }

    /// The source's entry when it is synced: recorded in the state and its clone present.
    pub fn synced(&self, state: &State, name: &str) -> Option<Entry> {
        let entry = state.sources.get(name)?;
        self.repo_dir(name)
            .join(".git")
            .exists()
            .then(|| entry.clone())
    }

    fn write_state(&self, state: &State) -> Result<(), String> {
        let file = self.state_file();
        let tmp = self.root.join("state.json.tmp");
        let text = serde_json::to_string_pretty(state).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &file))
            .map_err(|e| format!("cannot write {}: {e}", file.display()))
    }

    /// Sync each source (in parallel, one git process each), then record the ones that
    /// succeeded in `state.json`. One source failing does not stop the others; the results
    /// are in the order of `sources`. `Err` only when the cache itself cannot be used.
    pub fn sync(
        &self,
        sources: &[&SourceConfig],
    ) -> Result<Vec<Result<Synced, SyncError>>, String> {
        std::fs::create_dir_all(self.root.join("repos"))
            .map_err(|e| format!("cannot create the cache {}: {e}", self.root.display()))?;
        let mut state = self.state()?;
        let results: Vec<Result<Synced, SyncError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = sources
                .iter()
                .map(|s| scope.spawn(|| self.sync_one(s)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(SyncError("the sync thread panicked".into())))
                })
                .collect()
        });
        for (s, r) in sources.iter().zip(&results) {
            if let Ok(synced) = r {
                state.sources.insert(s.name.clone(), synced.entry.clone());
            }
        }
        self.write_state(&state)?;
        Ok(results)
    }

    fn sync_one(&self, s: &SourceConfig) -> Result<Synced, SyncError> {
        let dir = self.repo_dir(&s.name);
        let dir_arg = dir.to_string_lossy();
        let (outcome, previous) = if dir.join(".git").exists() {
            let old = git(Some(&dir), &["rev-parse", "HEAD"])?;
            let mut fetch = vec!["fetch", "--quiet", "--depth", "1", "--", &s.url];
            fetch.extend(s.branch.as_deref());
            git(Some(&dir), &fetch)?;
            git(Some(&dir), &["reset", "--quiet", "--hard", "FETCH_HEAD"])?;
            (Outcome::Updated, Some(old))
        } else {
            if dir.exists() {
                return Err(SyncError(format!(
                    "{} exists and is not a git clone: remove it and sync again",
                    dir.display()
                )));
            }
            let mut clone = vec!["clone", "--quiet", "--depth", "1"];
            if let Some(b) = &s.branch {
                clone.extend(["--branch", b]);
            }
            clone.extend(["--", &s.url, &dir_arg]);
            git(None, &clone)?;
            (Outcome::Cloned, None)
        };
        let commit = git(Some(&dir), &["rev-parse", "HEAD"])?;
        let (outcome, changes) = match &previous {
            Some(old) if *old == commit => (Outcome::Unchanged, Some(Changes::default())),
            // Both commits are in the clone (the old one stays after a shallow fetch), so
            // their trees compare; if the old one is gone, the changes are unknown.
            Some(old) => (outcome, diff(&dir, old, &commit, &s.paths).ok()),
            None => (outcome, None),
        };
        Ok(Synced {
            outcome,
            previous,
            entry: Entry {
                url: s.url.clone(),
                commit,
                retrieved_at: rfc3339_now(),
                changes,
            },
        })
    }
}

/// The files that changed between two commits, under any of `paths` (anywhere if none).
fn diff(dir: &Path, old: &str, new: &str, paths: &[String]) -> Result<Changes, SyncError> {
    let mut args = vec![
        "diff",
        "--name-status",
        "--no-renames",
        "-z",
        old,
        new,
        "--",
    ];
    args.extend(paths.iter().map(String::as_str));
    let out = git(Some(dir), &args)?;
    let mut changes = Changes::default();
    let mut fields = out.split('\0').filter(|f| !f.is_empty());
    while let (Some(status), Some(file)) = (fields.next(), fields.next()) {
        let list = match status {
            "A" => &mut changes.added,
            "D" => &mut changes.deleted,
            _ => &mut changes.modified,
        };
        list.push(file.to_string());
    }
    Ok(changes)
}

/// Run git (in `dir` if given); its trimmed stdout, or an error with its stderr.
fn git(dir: Option<&Path>, args: &[&str]) -> Result<String, SyncError> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    // Never ask for a password: a missing repository on GitHub would otherwise prompt.
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| {
        SyncError(if e.kind() == std::io::ErrorKind::NotFound {
            "git is not installed (or not on PATH): detdex needs it to fetch sources".into()
        } else {
            format!("cannot run git: {e}")
        })
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(SyncError(format!(
            "git {} failed: {}",
            args[0],
            stderr.trim()
        )))
    }
}

/// Now as RFC 3339 UTC, to the second.
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .unwrap_or(jiff::Timestamp::MAX);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_777_978_800), "2026-05-05T11:00:00Z");
        assert_eq!(rfc3339(1_777_939_200 + 86_399), "2026-05-05T23:59:59Z");
    }

    #[test]
    fn cache_dir_prefers_the_flag() {
        let p = Path::new("/tmp/x");
        assert_eq!(cache_dir(Some(p)).unwrap(), p);
    }
}
