//! Every KQL code block (```` ```kql ````, ```` ```KQL ````, ```` ```C# ````, ```` ```c# ```` or
//! an unlabelled fence) of the FalconFriday markdown files (../shared/corpora/falconfriday,
//! `.md` files and the one rule file without an extension) parses, and printing the tree gives
//! text that parses to the same tree.

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
        } else if p.extension().is_some_and(|x| x == "md")
            // One rule is a markdown file without the extension.
            || (p.extension().is_none() && p.file_name().is_some_and(|n| n != "LICENSE"))
        {
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
    assert!(files.len() >= 62, "only {} files found", files.len());
}

// ---- snapshots of real queries ----

/// Queries of different shapes: (file, index of the KQL block in the file).
const SNAPSHOTS: &[(&str, usize)] = &[
    // Seed 002: materialize, invoke, `in~` of a subquery, join on several columns.
    ("0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows.md", 0),
    // A function with a parameter, joins on calls, mv-apply, de-duplication join.
    (
        "0xFF-0027-Beacon-Traffic-Based-On-Common-User-Agents-Visiting-Limited-Domains.md",
        0,
    ),
    // A function around case() with dynamic objects, union withsource.
    ("0xFF-0060-Azure_AD_Rare_UserAgent_App_Sign-in.md", 0),
    // datatable, lookup, join kind=rightanti on $left/$right.
    (
        "0xFF-0080-Parent_Child_Mismatch_Common_Windows_Process-Win.md",
        0,
    ),
    // A dynamic list with comments (and two adjacent strings).
    ("0xFF-0003-LDAP_reconnaissance_via_search_filters-Win.md", 0),
    // union of lets, has_any, not(), indexing.
    ("0xFF-0035-Possible-Defender-tampering-commands-Win.md", 0),
    // summarize with conditional aggregations.
    ("0xFF-0044-Password_spraying_attack_detected-Win.md", 0),
    // parse with typed columns, mv-expand.
    ("0xFF-0161-Overly_permissive_security_group-AWS.md", 0),
    // parse with `*`, lookup on a let.
    (
        "0xFF-0240-Instance_Profile_Credentials_Used_from_Unexpected_IP-AWS.md",
        0,
    ),
    // distinct with assignments, many lets.
    ("0xFF-0545-Suspicious_MSC_File_Launched-Win.md", 0),
    // A hunt: has_any lists, adjacent strings.
    ("hunts/T1204-WIN-001.md", 0),
];

fn pos(src: &str, offset: usize) -> String {
    let (l, c) = kql::line_col(src, offset);
    format!("{l}:{c}")
}

/// An outline of the tree: statements, and every pipe's operators with their positions,
/// nested subqueries indented.
fn outline(src: &str, q: &kql::Query) -> String {
    use kql::ast::*;
    fn expr(src: &str, e: &Expr, indent: usize, out: &mut String) {
        let pad = "  ".repeat(indent);
        match &e.kind {
            ExprKind::Pipe { source, ops } => {
                out.push_str(&format!("{pad}source {}\n", pos(src, source.span.start)));
                expr(src, source, indent + 1, out);
                for op in ops {
                    let printed = kql::print::print_expr(&Expr {
                        kind: ExprKind::Source(Box::new(op.clone())),
                        span: 0..0,
                    });
                    let name = printed.split([' ', '(']).next().unwrap_or("").to_string();
                    out.push_str(&format!(
                        "{pad}| {name} {}-{}\n",
                        pos(src, op.span.start),
                        pos(src, op.span.end)
                    ));
                    operator(src, op, indent + 1, out);
                }
            }
            ExprKind::Call { args, .. } => {
                for a in args {
                    if matches!(a.kind, ExprKind::Pipe { .. }) {
                        expr(src, a, indent, out);
                    }
                }
            }
            ExprKind::Source(op) => operator(src, op, indent, out),
            _ => {}
        }
    }
    fn operator(src: &str, op: &Operator, indent: usize, out: &mut String) {
        match &op.kind {
            OperatorKind::Join { right, .. } | OperatorKind::Lookup { right, .. } => {
                expr(src, right, indent, out)
            }
            OperatorKind::Union { tables, .. } => {
                for t in tables {
                    expr(src, t, indent, out);
                }
            }
            OperatorKind::Where(e) => {
                // Subqueries inside `in (…)` lists.
                fn lists(src: &str, e: &Expr, indent: usize, out: &mut String) {
                    match &e.kind {
                        ExprKind::List { list, .. } => {
                            for x in list {
                                expr(src, x, indent, out);
                            }
                        }
                        ExprKind::And(v) | ExprKind::Or(v) => {
                            v.iter().for_each(|x| lists(src, x, indent, out))
                        }
                        ExprKind::Not(x) => lists(src, x, indent, out),
                        _ => {}
                    }
                }
                lists(src, e, indent, out);
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for s in &q.statements {
        let at = format!("{}-{}", pos(src, s.span.start), pos(src, s.span.end));
        match &s.kind {
            StatementKind::Let { name, value } => {
                let what = match value {
                    LetValue::Function { params, .. } => format!("function of {}", params.len()),
                    LetValue::Expr(e) if matches!(e.kind, ExprKind::Pipe { .. }) => {
                        "tabular".to_string()
                    }
                    LetValue::Expr(e) => kql::print_expr(e).chars().take(50).collect(),
                };
                out.push_str(&format!("let {} {at} = {what}\n", name.text));
                match value {
                    LetValue::Expr(e) => expr(src, e, 1, &mut out),
                    LetValue::Function { body, .. } => {
                        for b in body {
                            if let StatementKind::Expr(e) = &b.kind {
                                expr(src, e, 1, &mut out);
                            }
                        }
                    }
                }
            }
            StatementKind::Set { name, .. } => out.push_str(&format!("set {} {at}\n", name.text)),
            StatementKind::Expr(e) => {
                out.push_str(&format!("query {at}\n"));
                expr(src, e, 1, &mut out);
            }
        }
    }
    out
}

#[test]
fn snapshots_of_real_queries() {
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
    for (file, index) in SNAPSHOTS {
        let md = std::fs::read_to_string(dir.join(file)).unwrap();
        let blocks = kql_blocks(&md);
        let b = &blocks[*index];
        let q = kql::parse(&b.text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let name = file
            .trim_end_matches(".md")
            .replace('/', "_")
            .chars()
            .take(40)
            .collect::<String>();
        let text = format!(
            "{}\n---- printed ----\n{}\n",
            outline(&b.text, &q),
            kql::print(&q)
        );
        insta::assert_snapshot!(format!("{name}_{index}"), text);
    }
}
