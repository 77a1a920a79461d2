//! `detdex`: the command line.

use catalog::{Catalog, Source};
use clap::{Parser, Subcommand, ValueEnum};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod convert;
mod search;
mod show;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "detdex",
    version,
    about = "A detection-rule catalog and compiler"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ConvertFormat {
    Text,
    Jsonl,
}

#[derive(Subcommand)]
enum Command {
    /// Read every rule under PATHs and report each problem as path:line:col: severity: message.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Print how long each phase took (to stderr).
        #[arg(long)]
        timings: bool,
    },
    /// Show what a rule does: metadata, ATT&CK, stages and predicates, exclusions, indicators.
    Show {
        /// A rule file, or a rule id or catalog key found under the --source folders.
        rule: String,
        /// Rule folders to search, as NAME=DIR or DIR.
        #[arg(long = "source")]
        sources: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Translate Sigma rules into a target query language, one query per rule.
    Convert {
        /// kql-xdr (Microsoft Defender XDR tables) or kql-asim (Microsoft Sentinel ASIM).
        #[arg(long)]
        target: String,
        /// Extra processing pipelines in pySigma's YAML format; they run with the target's
        /// built-in pipeline in order of priority.
        #[arg(long = "pipeline")]
        pipelines: Vec<PathBuf>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// text: a `// path: title` line and the query per rule; jsonl: one JSON object per rule.
        #[arg(long, value_enum, default_value = "text")]
        format: ConvertFormat,
    },
    /// Serve the catalog as a web site: the feed of new and changed rules, search, rule pages.
    Serve {
        /// Rule folders, as NAME=DIR or DIR (the name defaults to the folder's name).
        #[arg(long = "source", required = true)]
        sources: Vec<String>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// The rule store (SQLite), kept between runs so the feed shows what changed; without
        /// it the store lives in memory.
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Full-text search: print the best-matching rules as `key  title` lines, best first.
    /// Words starting with `-` go after `--`: `detdex search --source DIR -- powershell -enc`.
    Search {
        /// Rule folders, as NAME=DIR or DIR; recorded into the store before searching.
        #[arg(long = "source")]
        sources: Vec<String>,
        /// The rule store (SQLite); with no --source, search what it recorded last.
        #[arg(long)]
        store: Option<PathBuf>,
        /// Only rules of this language (sigma, spl, kql, eql, …).
        #[arg(long, default_value = "")]
        language: String,
        /// Only rules of this level (low, medium, high, …).
        #[arg(long, default_value = "")]
        level: String,
        /// The most rules to print.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Print how long loading, recording and searching took (to stderr).
        #[arg(long)]
        timings: bool,
        /// The words to search for (all must match; the last also as a prefix).
        #[arg(required = true)]
        query: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            paths,
            format,
            timings,
        } => check(&paths, format, timings),
        Command::Show {
            rule,
            sources,
            format,
        } => show::run(&rule, &sources, format == Format::Json),
        Command::Convert {
            target,
            pipelines,
            paths,
            format,
        } => convert::run(&target, &pipelines, &paths, format == ConvertFormat::Jsonl),
        Command::Serve {
            sources,
            addr,
            store,
        } => serve(&sources, addr, store.as_deref()),
        Command::Search {
            sources,
            store,
            language,
            level,
            limit,
            format,
            timings,
            query,
        } => search::run(search::Args {
            sources,
            store,
            query,
            language,
            level,
            limit,
            json: format == Format::Json,
            timings,
        }),
    }
}

/// `NAME=DIR` or `DIR` (named after the folder).
fn parse_source(s: &str) -> Source {
    match s.split_once('=') {
        Some((name, dir)) if !name.is_empty() && !name.contains('/') => Source {
            name: name.to_string(),
            root: PathBuf::from(dir),
        },
        _ => Source {
            name: folder_name(Path::new(s)),
            root: PathBuf::from(s),
        },
    }
}

fn folder_name(p: &Path) -> String {
    std::fs::canonicalize(p)
        .ok()
        .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "local".to_string())
}

fn check(paths: &[PathBuf], format: Format, timings: bool) -> ExitCode {
    let t0 = Instant::now();
    let sources: Vec<Source> = paths
        .iter()
        .map(|p| Source {
            name: folder_name(p),
            root: p.clone(),
        })
        .collect();
    for s in &sources {
        if !s.root.exists() {
            eprintln!("detdex: {}: no such file or folder", s.root.display());
            return ExitCode::from(2);
        }
    }
    let cat = Catalog::load(&sources);
    let t_read = t0.elapsed();
    // The analysis passes over every rule, as the web and `show` run them.
    let t1 = Instant::now();
    let analysed: usize = cat
        .rules
        .par_iter()
        .map(|r| ir::exclusions(&r.logic).len() + ir::indicators(&r.logic).len())
        .sum();
    let t_analyse = t1.elapsed();
    let (errors, warnings) = cat.problem_counts();
    let mut out = String::new();
    match format {
        Format::Json => {
            let v = serde_json::json!({
                "files": cat.files,
                "rules": cat.rules.len(),
                "errors": cat.diagnostics,
            });
            out = format!("{v}\n");
        }
        Format::Text => {
            for d in &cat.diagnostics {
                out.push_str(&format!("{d}\n"));
            }
            out.push_str(&format!(
                "{} files, {} rules, {errors} errors, {warnings} warnings\n",
                cat.files,
                cat.rules.len()
            ));
        }
    }
    print_out(&out);
    if timings {
        eprintln!(
            "timings: read+parse+lower {:.1} ms, analyse {:.1} ms ({analysed} rows), total {:.1} ms",
            t_read.as_secs_f64() * 1e3,
            t_analyse.as_secs_f64() * 1e3,
            t0.elapsed().as_secs_f64() * 1e3
        );
    }
    // The process ends here: freeing every rule one by one would only cost time.
    std::mem::forget(cat);
    ExitCode::SUCCESS
}

/// Read the `NAME=DIR` folders into a catalog, saying how it went on stderr; `None` (after a
/// message) when a folder is missing.
fn load_sources(sources: &[String]) -> Option<Catalog> {
    let sources: Vec<Source> = sources.iter().map(|s| parse_source(s)).collect();
    for s in &sources {
        if !s.root.is_dir() {
            eprintln!(
                "detdex: source {}: {} is not a folder",
                s.name,
                s.root.display()
            );
            return None;
        }
    }
    let t = Instant::now();
    let cat = Catalog::load(&sources);
    let (errors, warnings) = cat.problem_counts();
    eprintln!(
        "detdex: {} rules from {} files in {:.0} ms ({errors} errors, {warnings} warnings: `detdex check` lists them)",
        cat.rules.len(),
        cat.files,
        t.elapsed().as_secs_f64() * 1e3
    );
    Some(cat)
}

fn serve(sources: &[String], addr: std::net::SocketAddr, store: Option<&Path>) -> ExitCode {
    let Some(cat) = load_sources(sources) else {
        return ExitCode::from(2);
    };
    let store = match search::record(&cat, store) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let site = web::Site::new(std::sync::Arc::new(cat), store);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("detdex: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(web::serve(site, addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("detdex: cannot serve on {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Write to stdout; a closed pipe (`detdex check | head`) ends the output quietly.
fn print_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}
