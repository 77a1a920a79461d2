//! Every KQL code block (```` ```kql ````, ```` ```KQL ````, ```` ```C# ````, ```` ```c# ```` or
//! an unlabelled fence) of the FalconFriday markdown files (../shared/corpora/falconfriday)
//! parses, and printing the tree gives text that parses to the same tree.

use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/falconfriday")
}

fn md_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            md_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

/// A fenced block: the line of its opening fence (1-based) and its text.
struct Block {
    line: usize,
    text: String,
}

/// The fenced blocks labelled as KQL (or C#, as FalconFriday labels its queries, or unlabelled).
fn kql_blocks(md: &str) -> Vec<Block> {
    let mut out = vec![];
    let mut lines = md.lines().enumerate();
    while let Some((i, l)) = lines.next() {
        let Some(info) = l.trim().strip_prefix("```") else {
            continue;
        };
        let lang = info.trim();
        let wanted = ["", "kql", "c#", "kusto"]
            .iter()
            .any(|w| lang.eq_ignore_ascii_case(w));
        let mut text = String::new();
        for (_, l) in lines.by_ref() {
            if l.trim().starts_with("```") {
                break;
            }
            text.push_str(l.trim_end_matches('\r'));
            text.push('\n');
        }
        if wanted {
            out.push(Block { line: i + 1, text });
        }
    }
    out
}

/// Blocks that are not KQL queries: (file, line of the fence, reason).
const NOT_KQL: &[(&str, usize, &str)] = &[];

#[test]
fn every_falconfriday_block_parses_and_round_trips() {
    let dir = corpus();
    if !dir.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus {} missing (CI is set)",
            dir.display()
        );
        eprintln!("corpus {} missing: skipped", dir.display());
        return;
    }
    let mut files = vec![];
    md_files(&dir, &mut files);
    files.sort();
    let mut blocks = vec![];
    for f in &files {
        let md = std::fs::read_to_string(f).unwrap();
        let name = f.strip_prefix(&dir).unwrap().to_string_lossy().to_string();
        for b in kql_blocks(&md) {
            blocks.push((name.clone(), b));
        }
    }
    let mut failures = vec![];
    let (mut parsed, mut skipped, mut statements, mut bytes) = (0, 0, 0, 0);
    for (name, b) in &blocks {
        let known = NOT_KQL.iter().find(|(f, l, _)| f == name && *l == b.line);
        match (kql::parse(&b.text), known) {
            (Ok(q), None) => {
                parsed += 1;
                bytes += b.text.len();
                statements += q.statements.len();
                let printed = kql::print(&q);
                match kql::parse(&printed) {
                    Ok(mut again) => {
                        let mut orig = q.clone();
                        orig.clear_spans();
                        again.clear_spans();
                        if orig != again {
                            failures
                                .push(format!("{name}:{}: print/parse differs\n{printed}", b.line));
                        }
                    }
                    Err(e) => failures.push(format!(
                        "{name}:{}: printed text does not parse: {e}\n{printed}",
                        b.line
                    )),
                }
            }
            (Ok(_), Some((_, _, why))) => failures.push(format!(
                "{name}:{}: listed as not KQL ({why}) but parses: remove it from NOT_KQL",
                b.line
            )),
            (Err(e), Some((_, _, why))) => {
                skipped += 1;
                eprintln!("{name}:{}: not KQL ({why}): {e}", b.line);
            }
            (Err(e), None) => {
                // The error's line is relative to the block; the fence is at `b.line`.
                let line_text = b.text.lines().nth(e.line - 1).unwrap_or("");
                failures.push(format!("{name}:{}: {e}\n    {line_text}", b.line + e.line));
            }
        }
    }
    eprintln!(
        "falconfriday: {} files, {} blocks: {parsed} parsed ({statements} statements, {bytes} bytes) and round-trip, {skipped} listed as not KQL, {} failures",
        files.len(),
        blocks.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(blocks.len() > 100, "only {} blocks found", blocks.len());
}
