//! Walking source folders and reading each file with the reader for its format.

use crate::{Catalog, Source};
use ir::{Diagnostic, Pos, Rule, Severity};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The formats detdex reads, recognised from a file's extension and content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Sigma,
}

/// Recognise a file's format; `None` for files that are not rules (licenses, READMEs, data).
pub fn detect(path: &Path, text: &str) -> Option<FileFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "yml" | "yaml" if looks_like_sigma(text) => Some(FileFormat::Sigma),
        _ => None,
    }
}

/// A Sigma document has a top-level `detection:`, `correlation:`, `filter:` or `action:` key.
fn looks_like_sigma(text: &str) -> bool {
    text.lines().any(|l| {
        [
            "detection:",
            "correlation:",
            "filter:",
            "action:",
            "logsource:",
        ]
        .iter()
        .any(|k| l.starts_with(k))
    })
}

/// Every file under `root` (a file or a folder), sorted, skipping hidden folders.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_file() {
            out.push(p);
        } else if meta.is_dir() {
            let Ok(rd) = std::fs::read_dir(&p) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// What reading one file gave.
pub struct FileRead {
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
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
    /// Read every rule file of every source, in parallel. Problems are collected, never fatal.
    pub fn load(sources: &[Source]) -> Catalog {
        let files: Vec<(&Source, PathBuf)> = sources
            .iter()
            .flat_map(|s| walk(&s.root).into_iter().map(move |p| (s, p)))
            .collect();
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
        for r in reads {
            if r.format.is_some() {
                count += 1;
            }
            rules.extend(r.rules);
            diagnostics.extend(r.diagnostics);
        }
        Catalog::from_parts(rules, diagnostics, count)
    }
}
