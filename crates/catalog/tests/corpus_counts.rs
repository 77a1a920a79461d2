//! The corpus counts against an independent count: for `OriginalFileName == PowerShell.EXE`, the
//! catalog's figure for SigmaHQ equals the number of live rule files a plain reading of their YAML
//! finds (a selection not used under `not` that maps `OriginalFileName` to that value), and the
//! retired ones (deprecated, unsupported, placeholders) are counted apart. The same for Elastic's
//! `process.pe.original_file_name`, read from the TOML query text (lists over several lines too).

use catalog::{Catalog, Source};
use std::path::{Path, PathBuf};

fn sigma() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma")
}

/// The files under `dir` whose extension is one of `exts`.
fn files_with(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_with(&p, exts, out);
        } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
            out.push(p);
        }
    }
}

/// How many of `files` (under `root`) `names` picks by their text, as (live, retired): retired
/// when a folder of its path is one of `retired_dirs`.
fn live_and_retired(
    root: &Path,
    files: &[PathBuf],
    retired_dirs: &[&str],
    names: impl Fn(&str) -> bool,
) -> (usize, usize) {
    let (mut live, mut retired) = (0, 0);
    for f in files {
        if !names(&std::fs::read_to_string(f).unwrap_or_default()) {
            continue;
        }
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.split('/').any(|d| retired_dirs.contains(&d)) {
            retired += 1;
        } else {
            live += 1;
        }
    }
    (live, retired)
}

/// The catalog of one source, counting `PowerShell.EXE` on `field` (written in `syntax`),
/// equals (live, retired).
fn assert_catalog_counts(
    name: &str,
    root: &Path,
    format: ir::Format,
    field: &str,
    syntax: ir::Syntax,
    (live, retired): (usize, usize),
) {
    let cat = Catalog::load(&[Source {
        name: name.into(),
        root: root.to_path_buf(),
        include: vec![],
    }]);
    let c = cat.corpus_count(
        format,
        Some(field),
        ir::Kind::Eq,
        &ir::Value::new(ir::Kind::Eq, "PowerShell.EXE", syntax),
    );
    println!("{name} independent: {live} live + {retired} retired; catalog: {c}");
    assert_eq!((c.total, c.retired), (live, retired), "catalog {c}");
}

/// Whether the condition uses the selection `name` other than right after `not` (directly or
/// through `1 of`/`all of` a pattern that matches it).
fn used_positively(condition: &str, name: &str) -> bool {
    let words: Vec<&str> = condition
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    let names = |w: &str| match w.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => w == name || w == "them",
    };
    (0..words.len()).any(|i| {
        if !names(words[i]) {
            return false;
        }
        let of = i >= 2 && words[i - 1] == "of";
        let before = if of {
            i.checked_sub(3)
        } else {
            i.checked_sub(1)
        };
        before.is_none_or(|b| words[b] != "not")
    })
}

/// Whether one Sigma file has a positive `OriginalFileName: PowerShell.EXE` (any case, as one
/// value or in a list).
fn names_powershell(text: &str) -> bool {
    let Ok(stream) = yaml::load(text) else {
        return false;
    };
    stream.documents.iter().any(|doc| {
        let Some(det) = doc.get("detection") else {
            return false;
        };
        let condition = match det.get("condition").map(|c| &c.value) {
            Some(yaml::Value::Str { text, .. }) => text.clone(),
            Some(yaml::Value::Seq(v)) => v
                .iter()
                .filter_map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
            _ => return false,
        };
        det.as_map().unwrap_or_default().iter().any(|(k, sel)| {
            let Some(name) = k.as_str() else { return false };
            if name == "condition" || !used_positively(&condition, name) {
                return false;
            }
            let maps: Vec<&yaml::Node> = match sel.as_seq() {
                Some(v) => v.iter().collect(),
                None => vec![sel],
            };
            maps.iter()
                .flat_map(|m| m.as_map().unwrap_or_default())
                .filter(|(f, _)| f.as_str() == Some("OriginalFileName"))
                .any(|(_, v)| {
                    let values: Vec<&yaml::Node> = match v.as_seq() {
                        Some(v) => v.iter().collect(),
                        None => vec![v],
                    };
                    values.iter().any(|v| {
                        v.as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case("PowerShell.EXE"))
                    })
                })
        })
    })
}

#[test]
fn powershell_original_file_name_counts_live_rules_and_retired_apart() {
    let root = sigma();
    let mut files = Vec::new();
    files_with(&root, &["yml", "yaml"], &mut files);
    let retired_dirs = ["deprecated", "unsupported", "rules-placeholder"];
    let (live, retired) = live_and_retired(&root, &files, &retired_dirs, names_powershell);
    let counts = (live, retired);
    assert_catalog_counts(
        "sigma",
        &root,
        ir::Format::Sigma,
        "OriginalFileName",
        ir::Syntax::SIGMA,
        counts,
    );
    assert!(live > 50 && retired >= 1, "{live} {retired}");
}

/// The number of negations over the byte `at` of a query: a `not` right before it, and each
/// enclosing group opened by `not (`.
fn negations_over(query: &str, at: usize) -> usize {
    let ends_with_not = |s: &str| {
        let s = s.trim_end();
        s.len() >= 3
            && s[s.len() - 3..].eq_ignore_ascii_case("not")
            && !s[..s.len() - 3]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
    };
    let mut n = usize::from(ends_with_not(&query[..at]));
    let mut depth = 0usize;
    for (i, c) in query[..at].char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth > 0 => depth -= 1,
            '(' => n += usize::from(ends_with_not(&query[..i])),
            _ => {}
        }
    }
    n
}

/// The rules of one Elastic TOML file that test `process.pe.original_file_name` for
/// `PowerShell.EXE` under an even number of negations (one value, or a list however it spreads
/// over lines), read from the query text alone.
fn elastic_names_powershell(text: &str) -> bool {
    let Some(start) = text.find("\nquery = ") else {
        return false;
    };
    let rest = &text[start + 9..];
    let (quote, body) = match rest.get(..3) {
        Some(q @ ("'''" | "\"\"\"")) => (q, &rest[3..]),
        _ => return false,
    };
    let query = &body[..body.find(quote).unwrap_or(body.len())];
    let field = "process.pe.original_file_name";
    query.match_indices(field).any(|(at, _)| {
        // The value part: up to the end of the line, or of the parenthesised list it opens.
        let after = query[at + field.len()..].trim_start();
        let after =
            after.trim_start_matches(|c: char| matches!(c, ':' | '=' | '~') || c.is_whitespace());
        let after = after
            .strip_prefix("in~")
            .or_else(|| after.strip_prefix("in"))
            .or_else(|| after.strip_prefix("like~"))
            .or_else(|| after.strip_prefix("like"))
            .unwrap_or(after)
            .trim_start();
        let value = if after.starts_with('(') {
            &after[..after.find(')').map_or(after.len(), |e| e + 1)]
        } else {
            after.lines().next().unwrap_or("")
        };
        let names = value
            .split('"')
            .skip(1)
            .step_by(2)
            .any(|v| v.eq_ignore_ascii_case("PowerShell.EXE"));
        let at = if query[..at].ends_with('?') {
            at - 1
        } else {
            at
        };
        names && negations_over(query, at).is_multiple_of(2)
    })
}

#[test]
fn elastic_powershell_original_file_name_counts_live_rules_and_retired_apart() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/elastic");
    if !root.is_dir() {
        assert!(std::env::var_os("CI").is_none(), "corpus missing");
        return;
    }
    let mut files = Vec::new();
    files_with(&root, &["toml"], &mut files);
    let (live, retired) =
        live_and_retired(&root, &files, &["_deprecated"], elastic_names_powershell);
    let field = "process.pe.original_file_name";
    assert_catalog_counts(
        "elastic",
        &root,
        ir::Format::Elastic,
        field,
        ir::Syntax::Literal,
        (live, retired),
    );
    assert!(live >= 15, "{live} {retired}");
}

/// Whether `text` (a search, or a macro definition) tests an original file name of
/// `PowerShell.EXE` (quoted or not), or calls one of `macros`, outside a `NOT` right before.
fn splunk_names_powershell(text: &str, macros: &[String]) -> bool {
    let lower = text.to_ascii_lowercase();
    let direct = [
        "original_file_name=powershell.exe",
        "original_file_name=\"powershell.exe\"",
    ];
    let calls = macros.iter().map(|m| format!("`{m}`"));
    direct
        .iter()
        .map(|d| d.to_string())
        .chain(calls)
        .any(|needle| {
            lower.match_indices(&needle).any(|(at, _)| {
                let before = lower[..at].trim_end().trim_end_matches('(').trim_end();
                !before.ends_with("not")
            })
        })
}

#[test]
fn splunk_powershell_original_file_name_counts_live_rules_and_retired_apart() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/splunk");
    if !root.is_dir() {
        assert!(std::env::var_os("CI").is_none(), "corpus missing");
        return;
    }
    let field = |text: &str, key: &str| -> String {
        let Ok(stream) = yaml::load(text) else {
            return String::new();
        };
        stream
            .documents
            .first()
            .and_then(|d| d.get(key))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    // The macros whose definition names it.
    let mut files = Vec::new();
    files_with(&root.join("macros"), &["yml"], &mut files);
    let macros: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            splunk_names_powershell(&field(&text, "definition"), &[]).then(|| field(&text, "name"))
        })
        .collect();
    assert!(
        macros.contains(&"process_powershell".to_string()),
        "{macros:?}"
    );
    let mut files = Vec::new();
    files_with(&root.join("detections"), &["yml"], &mut files);
    let (live, retired) = live_and_retired(&root, &files, &["deprecated"], |text| {
        splunk_names_powershell(&field(text, "search"), &macros)
    });
    let f = "Processes.original_file_name";
    assert_catalog_counts(
        "splunk",
        &root,
        ir::Format::Splunk,
        f,
        ir::Syntax::SPL_SEARCH,
        (live, retired),
    );
    assert!(live >= 15, "{live} {retired}");
}
