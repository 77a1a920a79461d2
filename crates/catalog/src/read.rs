//! Walking source folders and reading each file with the reader for its format.

use crate::{Catalog, Skipped, Source};
use ir::{Diagnostic, Pos, Rule, Severity};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The formats detdex reads, recognised from a file's extension and content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Sigma,
    /// A Splunk security_content detection (top-level `name:` and `search:`).
    Splunk,
    /// KQL: a `.kql` file, markdown with KQL blocks, a FalconFriday rule (see [`detect_kql`]).
    Kql,
    /// An Elastic detection-rules rule (`[metadata]` and `[rule]`) or hunting file (`[hunt]`).
    Elastic,
}

/// Recognise a file's format; `None` for files that are not rules (licenses, READMEs, data).
pub fn detect(path: &Path, text: &str) -> Option<FileFormat> {
    if let Some(f) = detect_kql(path, text) {
        return Some(f);
    }
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "yml" | "yaml" if looks_like_sigma(text) => Some(FileFormat::Sigma),
        "yml" | "yaml" if looks_like_splunk(text) => Some(FileFormat::Splunk),
        "toml" if elastic::rule::looks_like_rule(text) => Some(FileFormat::Elastic),
        _ => None,
    }
}

/// Why a file is not a rule file: what [`detect`] looked for and did not find.
pub fn not_a_rule(path: &Path) -> String {
    let ext = lower_ext(path);
    match ext.as_deref() {
        Some("yml" | "yaml") => "YAML without the keys of a Sigma rule (detection, logsource, \
                                 correlation, filter, action) or of a Splunk detection (name and \
                                 search)"
            .into(),
        Some("md" | "markdown") => "markdown without a KQL code block".into(),
        Some("txt") => "text that does not read as KQL (no `let`, source operator or \
                        `| operator` line)"
            .into(),
        Some("toml") => "TOML without the tables of an Elastic rule ([metadata] and [rule], \
                         or [hunt])"
            .into(),
        None => "no extension, and not a FalconFriday rule".into(),
        Some(e) => format!("not a rule file extension (.{e})"),
    }
}

fn lower_ext(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// KQL content: a `.kql` or `.csl` file; a `.txt` file that reads as KQL
/// ([`kql::content::looks_like_kql`]); a markdown file (`.md`, `.markdown`) with at least one
/// KQL code block; a file without extension holding a FalconFriday rule (the FalconFriday
/// repository has one). Markdown without KQL blocks (READMEs) is not a rule file.
pub fn detect_kql(path: &Path, text: &str) -> Option<FileFormat> {
    let yes = match lower_ext(path).as_deref() {
        Some("kql" | "csl") => true,
        Some("txt") => kql::content::looks_like_kql(text),
        Some("md" | "markdown") => kql::content::has_kql_blocks(text),
        None => text.starts_with("# ") && kql::content::is_falconfriday(text),
        Some(_) => false,
    };
    yes.then_some(FileFormat::Kql)
}

/// Read a KQL file (see [`detect_kql`]): one rule per query.
fn read_kql(source: &str, path: &Path, rel: &str, display: &str, text: &str) -> FileRead {
    let is_kql_file = matches!(lower_ext(path).as_deref(), Some("kql" | "csl" | "txt"));
    let doc = if is_kql_file {
        kql::content::read_kql_file(display, text)
    } else {
        kql::content::read_markdown(display, text)
    };
    let l = kql::lower::document_rules(&doc, source, rel, display, text);
    let mut diagnostics = l.problems;
    if l.rules.is_empty() && !diagnostics.iter().any(|d| d.severity == Severity::Error) {
        diagnostics.push(Diagnostic::new(
            display,
            Pos { line: 1, col: 1 },
            Severity::Warning,
            "no KQL query in the file",
        ));
    }
    FileRead {
        rules: l.rules,
        diagnostics,
        format: Some(FileFormat::Kql),
    }
}

/// Read an Elastic detection-rules file: one rule, or one per hunting query.
fn read_elastic(source: &str, rel: &str, display: &str, text: &str) -> FileRead {
    let (rules, diagnostics) = match elastic::rule::read(display, text) {
        Ok(doc) => {
            let l = elastic::lower::document_rules(&doc, source, rel, display);
            (l.rules, l.problems)
        }
        Err(d) => (Vec::new(), vec![d]),
    };
    FileRead {
        rules,
        diagnostics,
        format: Some(FileFormat::Elastic),
    }
}

/// A security_content detection has top-level `name:` and `search:` keys.
fn looks_like_splunk(text: &str) -> bool {
    let (mut name, mut search) = (false, false);
    for l in text.lines() {
        name |= l.starts_with("name:");
        search |= l.starts_with("search:");
    }
    name && search
}

/// A Splunk security_content checkout: a folder holding `detections/` and `macros/`.
pub fn is_checkout(dir: &Path) -> bool {
    dir.join("detections").is_dir() && dir.join("macros").is_dir()
}

/// A Sigma document has a top-level `detection:`, `correlation:`, `filter:`, `action:` or
/// `logsource:` key. Top level is the indentation of the document's first key: YAML may
/// indent a whole document (pySigma reads such a file), as long as every top-level key lines
/// up.
fn looks_like_sigma(text: &str) -> bool {
    let mut top: Option<usize> = None;
    text.lines().any(|l| {
        let t = l.trim_start_matches(' ');
        if t.is_empty() || t.starts_with('#') || t.starts_with("---") || t.starts_with("...") {
            if t.starts_with("---") {
                top = None;
            }
            return false;
        }
        let indent = l.len() - t.len();
        let top = *top.get_or_insert(indent);
        indent == top
            && [
                "detection:",
                "correlation:",
                "filter:",
                "action:",
                "logsource:",
            ]
            .iter()
            .any(|k| t.starts_with(k))
    })
}

/// Every file under `root` (a file or a folder), sorted, skipping hidden files and folders.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    walk_tree(root, false).0
}

/// The hidden files and folders (`.git`, `.github`, `.gitignore`) directly or indirectly
/// under `root` that [`walk`] passes over (a hidden folder is listed, not its content).
pub fn hidden(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with('.') {
                out.push(e.path());
            } else if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Like [`walk`], but a security_content checkout found on the way is listed in the second
/// list and nothing under it is in the first: [`read_checkout`] reads its content folders
/// (detections, macros, stories, data sources) together, and its other folders (baselines,
/// investigations, playbooks, docs, …) hold no detections.
pub fn walk_sources(root: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    walk_tree(root, true)
}

fn walk_tree(root: &Path, checkouts: bool) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut out = Vec::new();
    let mut found = Vec::new();
    // (path, is a folder); a folder entry's kind comes from the folder listing, without a
    // `stat` per file (only symbolic links are followed with one).
    let mut stack = vec![(root.to_path_buf(), None)];
    while let Some((p, dir)) = stack.pop() {
        let dir = match dir {
            Some(dir) => dir,
            None => match std::fs::metadata(&p) {
                Ok(meta) if meta.is_file() => false,
                Ok(meta) if meta.is_dir() => true,
                _ => continue,
            },
        };
        if !dir {
            out.push(p);
            continue;
        }
        let Ok(rd) = std::fs::read_dir(&p) else {
            continue;
        };
        if checkouts && is_checkout(&p) {
            found.push(p.clone());
            continue;
        }
        for e in rd.flatten() {
            if !e.file_name().to_string_lossy().starts_with('.') {
                let kind = e.file_type().ok().filter(|t| !t.is_symlink());
                match kind {
                    Some(t) if t.is_file() => stack.push((e.path(), Some(false))),
                    Some(t) if t.is_dir() => stack.push((e.path(), Some(true))),
                    Some(_) => {} // a socket, a device, …
                    None => stack.push((e.path(), None)),
                }
            }
        }
    }
    // Path order (component by component), each path's components taken apart once.
    let key = |p: &PathBuf| -> Vec<std::ffi::OsString> {
        p.components().map(|c| c.as_os_str().to_owned()).collect()
    };
    out.sort_by_cached_key(key);
    found.sort_by_cached_key(key);
    (out, found)
}

/// Read a security_content checkout (`dir`, inside the source folder `root`): every detection
/// lowered with the checkout's macros, and its analytic stories. Problems of the content files
/// count too (macros, stories, data sources, links between them). Returns the rules and
/// problems, how many detection files were read, and the stories.
pub fn read_checkout(
    source: &str,
    root: &Path,
    dir: &Path,
) -> (FileRead, usize, Vec<crate::stories::Story>) {
    let content = spl::content::Content::load(dir);
    let prefix = dir.strip_prefix(root).unwrap_or(Path::new(""));
    let prefix = prefix.to_string_lossy().replace('\\', "/");
    let display = |rel: &str| dir.join(rel).to_string_lossy().into_owned();
    let key = |rel: &str| {
        let rel = rel.replace('\\', "/");
        if prefix.is_empty() {
            format!("{source}/{rel}")
        } else {
            format!("{source}/{prefix}/{rel}")
        }
    };
    let mut diagnostics: Vec<Diagnostic> = content
        .problems
        .iter()
        .chain(&content.link_problems)
        .map(|d| Diagnostic {
            path: display(&d.path),
            ..d.clone()
        })
        .collect();
    let lowered: Vec<spl::lower::Lowered> = content
        .detections
        .par_iter()
        .map(|d| {
            let shown = display(&d.path);
            let text = std::fs::read_to_string(dir.join(&d.path)).unwrap_or_default();
            spl::lower::lower(
                d,
                &content.macro_table,
                source,
                &key(&d.path),
                &shown,
                &text,
            )
        })
        .collect();
    let mut rules = Vec::with_capacity(lowered.len());
    for l in lowered {
        rules.push(l.rule);
        diagnostics.extend(l.problems);
    }
    let stories = content
        .stories
        .into_iter()
        .map(|s| {
            let (k, file) = (key(&s.path), display(&s.path));
            crate::stories::Story::new(s, source, k, file)
        })
        .collect();
    let read = FileRead {
        rules,
        diagnostics,
        format: Some(FileFormat::Splunk),
    };
    (read, content.files.detections, stories)
}

/// The macros of the checkout holding `path`, if any (for a detection read on its own).
fn checkout_macros(path: &Path) -> spl::macros::MacroTable {
    let mut table = spl::macros::MacroTable::new();
    // A relative path (`x.yml` inside `detections/endpoint`) has its checkout above the
    // working directory: look from the absolute path.
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Some(dir) = path.ancestors().skip(1).find(|d| is_checkout(d)) else {
        return table;
    };
    let Ok(rd) = std::fs::read_dir(dir.join("macros")) else {
        return table;
    };
    let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f)
            && let Some(m) = spl::content::read_macro(&f.to_string_lossy(), &text).value
        {
            table.insert(m.def());
        }
    }
    table
}

/// What reading one file gave.
pub struct FileRead {
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
    /// `None`: not a rule file (see [`not_a_rule`] for why), or not readable (a diagnostic).
    pub format: Option<FileFormat>,
}

/// Read one file: `display` is the path shown in diagnostics, `rel` its path within the source.
pub fn read_file(source: &str, path: &Path, rel: &str, display: &str) -> FileRead {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return FileRead {
                rules: vec![],
                diagnostics: vec![Diagnostic::new(
                    display,
                    Pos { line: 1, col: 1 },
                    Severity::Error,
                    format!("cannot read: {e}"),
                )],
                format: None,
            };
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let (line, col) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
            return FileRead {
                rules: vec![],
                diagnostics: vec![Diagnostic::new(
                    display,
                    Pos { line, col },
                    Severity::Error,
                    "the file is not valid UTF-8",
                )],
                format: detect(path, ""),
            };
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match detect(path, text) {
        Some(FileFormat::Sigma) => {
            let (rules, diagnostics) = sigma::read(source, rel, display, text);
            FileRead {
                rules,
                diagnostics,
                format: Some(FileFormat::Sigma),
            }
        }
        Some(FileFormat::Splunk) => {
            let read = spl::content::read_detection(display, text);
            let mut diagnostics = read.problems;
            let mut rules = Vec::new();
            if let Some(d) = read.value {
                let table = checkout_macros(path);
                let key = format!("{source}/{rel}");
                let l = spl::lower::lower(&d, &table, source, &key, display, text);
                rules.push(l.rule);
                diagnostics.extend(l.problems);
            }
            FileRead {
                rules,
                diagnostics,
                format: Some(FileFormat::Splunk),
            }
        }
        Some(FileFormat::Kql) => read_kql(source, path, rel, display, text),
        Some(FileFormat::Elastic) => read_elastic(source, rel, display, text),
        None => FileRead {
            rules: vec![],
            diagnostics: vec![],
            format: None,
        },
    }
}

fn line_col(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count() as u32 + 1;
    (line, col)
}

impl Catalog {
    /// Read every rule file of every source (of its `include` folders when it lists some), in
    /// parallel. Problems are collected, never fatal. Every file is accounted for: a source
    /// that is a file (a path named on the command line) and is not a rule file is an error
    /// saying why; in a folder, the files that are not rule files and the hidden files and
    /// folders are listed in [`Catalog::skipped`] with why.
    pub fn load(sources: &[Source]) -> Catalog {
        let mut files: Vec<(&Source, PathBuf)> = Vec::new();
        let mut checkouts: Vec<(&Source, PathBuf)> = Vec::new();
        let mut skipped = Vec::new();
        for s in sources {
            let mut f = Vec::new();
            let mut c = Vec::new();
            let folders: Vec<PathBuf> = if s.include.is_empty() {
                vec![s.root.clone()]
            } else {
                s.include.iter().map(|i| s.root.join(i)).collect()
            };
            for folder in &folders {
                let (more_f, more_c) = walk_sources(folder);
                f.extend(more_f);
                c.extend(more_c);
                for h in hidden(folder) {
                    skipped.push(Skipped {
                        path: h.to_string_lossy().into_owned(),
                        reason: "hidden (not walked)".into(),
                    });
                }
            }
            // Folders listed twice, or one inside another, read their files once.
            f.sort();
            f.dedup();
            c.sort();
            c.dedup();
            files.extend(f.into_iter().map(|p| (s, p)));
            checkouts.extend(c.into_iter().map(|p| (s, p)));
        }
        let reads: Vec<FileRead> = files
            .par_iter()
            .map(|(s, p)| {
                let rel = p.strip_prefix(&s.root).unwrap_or(p);
                let rel = if rel.as_os_str().is_empty() {
                    p.file_name().map(Path::new).unwrap_or(p)
                } else {
                    rel
                };
                let rel = rel.to_string_lossy().replace('\\', "/");
                read_file(&s.name, p, &rel, &p.to_string_lossy())
            })
            .collect();
        let mut rules = Vec::new();
        let mut diagnostics = Vec::new();
        let mut count = 0;
        let mut stories = Vec::new();
        for (s, dir) in &checkouts {
            let (r, n, more) = read_checkout(&s.name, &s.root, dir);
            count += n;
            rules.extend(r.rules);
            diagnostics.extend(r.diagnostics);
            stories.extend(more);
        }
        for ((s, p), r) in files.iter().zip(reads) {
            if r.format.is_some() {
                count += 1;
            } else if r.diagnostics.is_empty() {
                let path = p.to_string_lossy().into_owned();
                let reason = not_a_rule(p);
                if *p == s.root {
                    // A file named on its own: not reading it is an error, not a footnote.
                    diagnostics.push(Diagnostic::new(
                        &path,
                        Pos { line: 1, col: 1 },
                        Severity::Error,
                        format!("not a rule file: {reason}"),
                    ));
                } else {
                    skipped.push(Skipped { path, reason });
                }
            }
            rules.extend(r.rules);
            diagnostics.extend(r.diagnostics);
        }
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        skipped.dedup();
        let mut cat = Catalog::from_parts(rules, diagnostics, count);
        cat.skipped = skipped;
        for again in cat.set_stories(stories) {
            let first = cat.story(&again.name).map_or("", |s| s.key.as_str());
            cat.diagnostics.push(Diagnostic::new(
                &again.file,
                Pos { line: 1, col: 1 },
                Severity::Warning,
                format!(
                    "analytic story `{}` is also in {first} (that one is kept)",
                    again.name
                ),
            ));
        }
        cat
    }
}
