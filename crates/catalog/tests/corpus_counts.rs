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

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
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
    yaml_files(&root, &mut files);
    let (mut live, mut retired) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        if !names_powershell(&text) {
            continue;
        }
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let is_retired = rel
            .split('/')
            .any(|d| matches!(d, "deprecated" | "unsupported" | "rules-placeholder"));
        if is_retired {
            retired += 1;
        } else {
            live += 1;
        }
    }
    let cat = Catalog::load(&[Source {
        name: "sigma".into(),
        root: root.clone(),
        include: vec![],
    }]);
    let c = cat.corpus_count(
        ir::Format::Sigma,
        Some("OriginalFileName"),
        ir::Kind::Eq,
        &ir::Value::new(ir::Kind::Eq, "PowerShell.EXE", ir::Syntax::SIGMA),
    );
    println!("independent: {live} live + {retired} retired; catalog: {c}");
    assert_eq!((c.total, c.retired), (live, retired), "catalog {c}");
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
    toml_files(&root, &mut files);
    let (mut live, mut retired) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        if !elastic_names_powershell(&text) {
            continue;
        }
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.split('/').any(|d| d == "_deprecated") {
            retired += 1;
        } else {
            live += 1;
        }
    }
    let cat = Catalog::load(&[Source {
        name: "elastic".into(),
        root: root.clone(),
        include: vec![],
    }]);
    let c = cat.corpus_count(
        ir::Format::Elastic,
        Some("process.pe.original_file_name"),
        ir::Kind::Eq,
        &ir::Value::new(ir::Kind::Eq, "PowerShell.EXE", ir::Syntax::Literal),
    );
    println!("independent: {live} live + {retired} retired; catalog: {c}");
    assert_eq!((c.total, c.retired), (live, retired), "catalog {c}");
    assert!(live >= 15, "{live} {retired}");
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
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
    yaml_files(&root.join("macros"), &mut files);
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
    yaml_files(&root.join("detections"), &mut files);
    let (mut live, mut retired) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        if !splunk_names_powershell(&field(&text, "search"), &macros) {
            continue;
        }
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.split('/').any(|d| d == "deprecated") {
            retired += 1;
        } else {
            live += 1;
        }
    }
    let cat = Catalog::load(&[Source {
        name: "splunk".into(),
        root: root.clone(),
        include: vec![],
    }]);
    let c = cat.corpus_count(
        ir::Format::Splunk,
        Some("Processes.original_file_name"),
        ir::Kind::Eq,
        &ir::Value::new(ir::Kind::Eq, "PowerShell.EXE", ir::Syntax::SPL_SEARCH),
    );
    println!("independent: {live} live + {retired} retired; catalog: {c}");
    assert_eq!((c.total, c.retired), (live, retired), "catalog {c}");
    assert!(live >= 15, "{live} {retired}");
}
