//! Parser throughput on real KQL, read at bench time (nothing of the corpora is copied here):
//! every KQL code block of ../shared/corpora/falconfriday; every query of the hunting documents
//! of ../shared/corpora/m365-hunting and ../shared/corpora/alexverboon-kql as
//! `kql::content` reads them (markdown blocks, `.txt` files split into queries); and, when
//! `KQL_BENCH_JSONL` names a file of `detdex convert --format jsonl` output, the `query` of
//! each of its lines.
//!
//! `cargo bench -p detdex-kql --bench parse`

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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

/// The KQL blocks of the FalconFriday markdown files.
fn falconfriday() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/falconfriday");
    let mut files = vec![];
    md_files(&dir, &mut files);
    files.sort();
    let mut out = vec![];
    for f in files {
        let md = std::fs::read_to_string(f).unwrap_or_default();
        let mut lines = md.lines();
        while let Some(l) = lines.next() {
            let Some(info) = l.trim().strip_prefix("```") else {
                continue;
            };
            let lang = info.trim().to_ascii_lowercase();
            let mut text = String::new();
            for l in lines.by_ref() {
                if l.trim().starts_with("```") {
                    break;
                }
                text.push_str(l);
                text.push('\n');
            }
            if ["", "kql", "c#", "kusto"].contains(&lang.as_str()) {
                out.push(text);
            }
        }
    }
    out
}

/// Every query of the hunting documents (markdown and `.txt`) of two public repositories.
fn hunting() -> Vec<String> {
    let mut out = vec![];
    for name in ["m365-hunting", "alexverboon-kql"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpora")
            .join(name);
        let mut files = vec![];
        all_files(&dir, &mut files);
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let path = f.to_string_lossy();
            let doc = match f.extension().and_then(|e| e.to_str()) {
                Some("md") => kql::content::read_markdown(&path, &text),
                Some("txt") if kql::content::looks_like_kql(&text) => {
                    kql::content::read_kql_file(&path, &text)
                }
                _ => continue,
            };
            out.extend(doc.blocks.into_iter().map(|b| b.text));
        }
    }
    out
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The `query` of each JSON line of `KQL_BENCH_JSONL`, if set.
fn converted() -> Vec<String> {
    let Some(path) = std::env::var_os("KQL_BENCH_JSONL") else {
        return vec![];
    };
    let text = std::fs::read_to_string(path).expect("KQL_BENCH_JSONL readable");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("query")?.as_str().map(str::to_string))
        .collect()
}

/// This thread's time on a CPU so far, in seconds (Linux), to report throughput that does not
/// count waiting for a core on a busy machine.
fn on_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

/// On-CPU seconds one pass of `f` over `queries` takes (the mean of 20 passes).
fn on_cpu_per_pass(queries: &[String], f: &dyn Fn(&String)) -> Option<f64> {
    const PASSES: usize = 20;
    let t0 = on_cpu()?;
    for _ in 0..PASSES {
        queries.iter().for_each(f);
    }
    Some((on_cpu()? - t0) / PASSES as f64)
}

fn bench(c: &mut Criterion) {
    let mut sets = vec![("falconfriday", falconfriday()), ("hunting", hunting())];
    let conv = converted();
    if !conv.is_empty() {
        sets.push(("converted", conv));
    }
    for (name, queries) in sets {
        if queries.is_empty() {
            eprintln!("{name}: no queries (corpus missing): skipped");
            continue;
        }
        let bytes: usize = queries.iter().map(String::len).sum();
        let parsed = queries.iter().filter(|q| kql::parse(q).is_ok()).count();
        eprintln!(
            "{name}: {} queries, {bytes} bytes, {parsed} parse",
            queries.len()
        );
        let lex = |q: &String| {
            std::hint::black_box(kql::lexer::tokenize(std::hint::black_box(q)));
        };
        let parse = |q: &String| {
            let _ = std::hint::black_box(kql::parse(std::hint::black_box(q)));
        };
        for (what, f) in [("lex", &lex as &dyn Fn(&String)), ("parse", &parse)] {
            if let Some(per) = on_cpu_per_pass(&queries, f) {
                eprintln!(
                    "{name}: {what} {:.2} ms of on-CPU time a pass = {:.1} MB/s",
                    per * 1e3,
                    bytes as f64 / per / 1e6
                );
            }
        }
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("parse", |b| {
            b.iter(|| {
                for q in &queries {
                    let _ = std::hint::black_box(kql::parse(std::hint::black_box(q)));
                }
            })
        });
        let trees: Vec<_> = queries.iter().filter_map(|q| kql::parse(q).ok()).collect();
        g.bench_function("print", |b| {
            b.iter(|| {
                for t in &trees {
                    std::hint::black_box(kql::print(t));
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
