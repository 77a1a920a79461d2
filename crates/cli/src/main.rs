//! `detdex`: the command line.

use catalog::{Catalog, Source};
use clap::{Parser, Subcommand, ValueEnum};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod convert;
mod coverage;
mod hunt;
mod search;
mod show;
mod similar;
mod sync;
mod test;
mod timeline;
mod verify;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3's option numbers (`mi_option_e` in its `include/mimalloc.h`; the Rust bindings'
/// constants are v2's): arenas committed as used, not all at once, and freed memory returned
/// after 10 ms rather than after a second. Peak memory of a `hunt` over all SigmaHQ rules falls
/// from ~165 MB to ~110 MB (docs/benchmarks.md); at once (0 ms) saves 7 MB more but costs
/// ~60 ms of page faults and TLB flushes in a 0.75 s run.
const MI_ARENA_EAGER_COMMIT: i32 = 4;
const MI_PURGE_DELAY: i32 = 15;

fn allocator_options() {
    // SAFETY: setting an option is a plain store into mimalloc's option table.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_PURGE_DELAY, 10);
    }
    // No transparent huge pages: each is 2 MB zeroed at its first touch, most of it never used
    // (`hunt` over the attack samples: ~110 MB -> ~75 MB peak, less system time).
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

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
    /// Read every rule under PATHs and report each problem as path:line:col: severity: message,
    /// then how many files were passed over and why. Exits with 1 when no rule could be read
    /// from any PATH.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Print how long each phase took (to stderr).
        #[arg(long)]
        timings: bool,
        /// List every file passed over, with why.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Show what a rule does: metadata, ATT&CK, stages and predicates, exclusions, indicators.
    /// The rules most like one rule, across sources: shared indicators weighted by rarity,
    /// and the rules it names as related.
    Similar {
        /// A rule id or catalog key found under the --source folders.
        rule: String,
        /// Rule folders, as NAME=DIR or DIR.
        #[arg(long = "source")]
        sources: Vec<String>,
        /// How many rules to list.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    Show {
        /// A rule file, or a rule id or catalog key found under the --source folders.
        rule: String,
        /// Rule folders to search, as NAME=DIR or DIR.
        #[arg(long = "source")]
        sources: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Translate Sigma rules into a target query language, one query per rule. Exits with 1
    /// when no rule could be converted.
    Convert {
        /// kql-xdr (Microsoft Defender XDR tables), kql-asim (Microsoft Sentinel ASIM), spl
        /// (Splunk, Windows event logs) or eql (Elastic, Winlogbeat ECS); several
        /// (`--target spl,eql`): each file is read once and converted for each.
        #[arg(long, required = true, value_delimiter = ',')]
        target: Vec<String>,
        /// Extra processing pipelines in pySigma's YAML format; they run with the target's
        /// built-in pipeline in order of priority.
        #[arg(long = "pipeline")]
        pipelines: Vec<PathBuf>,
        /// Leave the target's built-in pipeline out (sigma-cli's `--without-pipeline`): the
        /// backend alone, with the user's pipelines if any.
        #[arg(long)]
        without_pipeline: bool,
        /// A pipeline parameter, KEY=VALUE (pySigma's `microsoft_xdr_pipeline(query_table=…)`):
        /// pipeline state set before the pipelines run, e.g. `query_table=DeviceEvents`.
        #[arg(long = "pipeline-arg", value_name = "KEY=VALUE")]
        pipeline_args: Vec<String>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// text: a `// path: title` line and the query per rule; jsonl: one JSON object per rule.
        #[arg(long, value_enum, default_value = "text")]
        format: ConvertFormat,
    },
    /// Check the KQL translations by running them: each rule on the events with the Sigma
    /// engine, and its query on the same events as rows of the target's tables; one JSON line
    /// per rule (events matched, rows selected, agree, reason).
    Verify {
        /// kql-xdr or kql-asim.
        #[arg(long)]
        target: String,
        /// Sigma rule files or folders.
        #[arg(long = "rules", required = true)]
        rules: Vec<PathBuf>,
        /// Event files or folders (.evtx, JSON, JSON lines).
        #[arg(required = true)]
        events: Vec<PathBuf>,
        /// Print how long reading and the whole run took (to stderr).
        #[arg(long)]
        timings: bool,
    },
    /// Which ATT&CK tactics and techniques the rules cover, with rule counts; the uncovered
    /// techniques and the deprecated, revoked or unknown ids rules name.
    Coverage {
        /// Rule folders, as NAME=DIR or DIR.
        #[arg(long = "source")]
        sources: Vec<String>,
        /// More rule folders or files (each named after its folder).
        paths: Vec<PathBuf>,
        /// text: a line per tactic and its uncovered techniques; json: the structure of
        /// `/api/coverage`.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Print how long loading and the coverage took (to stderr).
        #[arg(long)]
        timings: bool,
        /// Also write the coverage as an ATT&CK Navigator layer (format 4.5) to this file.
        #[arg(long, value_name = "FILE")]
        navigator: Option<PathBuf>,
        /// Compare an ATT&CK Navigator layer (someone's coverage) with the rules' coverage:
        /// the techniques in both, in the layer only, in the rules only (instead of the
        /// coverage; `--format json` for the structure of `/api/coverage/compare`).
        #[arg(long, value_name = "FILE")]
        compare_layer: Option<PathBuf>,
        /// Count retired rules (deprecated, unsupported, placeholders) too.
        #[arg(long)]
        retired: bool,
        /// Deployable coverage: count only the Sigma rules that convert for this target
        /// (kql-xdr, kql-asim, spl).
        #[arg(long)]
        target: Option<String>,
        /// With --target: only rules whose queries read these tables (comma-separated, or a
        /// file of names, one a line): what your SIEM and your telemetry really cover.
        #[arg(long, value_name = "TABLES|FILE")]
        have: Option<String>,
    },
    /// Run Sigma rules on events (EVTX files, their JSON form, JSON lines) and print the
    /// detections as a timeline.
    Hunt(hunt::HuntArgs),
    /// Run SigmaHQ's regression data (info.yml + EVTX) as a test suite: pass/fail per rule.
    Test(test::TestArgs),
    /// Serve the catalog as a web site (the feed of new and changed rules, search, coverage,
    /// rule pages): the sources of the sources file (fetched into the cache first if they are
    /// not there yet), or the --source folders.
    Serve {
        /// Rule folders, as NAME=DIR or DIR (the name defaults to the folder's name), instead
        /// of the sources file.
        #[arg(long = "source")]
        sources: Vec<String>,
        /// A sources file (default: the built-in one, data/sources.toml).
        #[arg(long, conflicts_with = "sources")]
        config: Option<PathBuf>,
        /// The cache folder (default: $DETDEX_CACHE, else $XDG_CACHE_HOME/detdex, else
        /// ~/.cache/detdex).
        #[arg(long, conflicts_with = "sources")]
        cache: Option<PathBuf>,
        /// Serve only the sources already in the cache; fetch nothing.
        #[arg(long, conflicts_with = "sources")]
        no_sync: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// The rule store (SQLite), kept between runs so the feed shows what changed; without
        /// it the store lives in memory.
        #[arg(long)]
        store: Option<PathBuf>,
        /// The site's public address (`https://detdex.example.org`) for the Atom feed's
        /// absolute links; by default the address it serves on.
        #[arg(long)]
        base_url: Option<String>,
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
        /// Include retired rules (deprecated, unsupported, placeholders), after the others.
        #[arg(long)]
        retired: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Print how long loading, recording and searching took (to stderr).
        #[arg(long)]
        timings: bool,
        /// The words to search for (all must match; the last also as a prefix).
        #[arg(required = true)]
        query: Vec<String>,
    },
    /// Fetch the rule repositories of the sources file into the cache (git clone, then fetch)
    /// and print what changed.
    Sync {
        /// A sources file (default: the built-in one, data/sources.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The cache folder (default: $DETDEX_CACHE, else $XDG_CACHE_HOME/detdex, else
        /// ~/.cache/detdex).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Sync only these sources (by name).
        #[arg(long, num_args = 1..)]
        only: Vec<String>,
    },
}

fn main() -> ExitCode {
    allocator_options();
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            paths,
            format,
            timings,
            verbose,
        } => check(&paths, format, timings, verbose),
        Command::Similar {
            rule,
            sources,
            limit,
            format,
        } => similar::run(&rule, &sources, limit, format == Format::Json),
        Command::Show {
            rule,
            sources,
            format,
        } => show::run(&rule, &sources, format == Format::Json),
        Command::Convert {
            target,
            pipelines,
            pipeline_args,
            without_pipeline,
            paths,
            format,
        } => convert::run(
            &target,
            &pipelines,
            &pipeline_args,
            without_pipeline,
            &paths,
            format == ConvertFormat::Jsonl,
        ),
        Command::Verify {
            target,
            rules,
            events,
            timings,
        } => verify::run(&target, &rules, &events, timings),
        Command::Coverage {
            sources,
            paths,
            format,
            timings,
            navigator,
            compare_layer,
            retired,
            target,
            have,
        } => coverage::run(
            &sources,
            &paths,
            format == Format::Json,
            timings,
            retired,
            coverage::Deploy {
                target: target.as_deref(),
                have: have.as_deref(),
            },
            coverage::Layers {
                navigator: navigator.as_deref(),
                compare: compare_layer.as_deref(),
            },
        ),
        Command::Hunt(args) => hunt::run(args),
        Command::Test(args) => test::run(args),
        Command::Serve {
            sources,
            config,
            cache,
            no_sync,
            addr,
            store,
            base_url,
        } => {
            let place = Place {
                addr,
                store: store.as_deref(),
                base_url: base_url.as_deref(),
            };
            if sources.is_empty() {
                match sync::cached_sources(config.as_deref(), cache.as_deref(), no_sync) {
                    Ok(s) => serve(s.sources, s.origins, place),
                    Err(e) => {
                        eprintln!("detdex: {e}");
                        ExitCode::FAILURE
                    }
                }
            } else {
                let sources: Vec<Source> = sources.iter().map(|s| parse_source(s)).collect();
                let origins = sources.iter().filter_map(sync::checkout_origin).collect();
                serve(sources, origins, place)
            }
        }
        Command::Sync {
            config,
            cache,
            only,
        } => sync::run(config.as_deref(), cache.as_deref(), &only),
        Command::Search {
            sources,
            store,
            language,
            level,
            limit,
            retired,
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
            retired,
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
            include: Vec::new(),
        },
        _ => Source {
            name: folder_name(Path::new(s)),
            root: PathBuf::from(s),
            include: Vec::new(),
        },
    }
}

fn folder_name(p: &Path) -> String {
    std::fs::canonicalize(p)
        .ok()
        .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "local".to_string())
}

fn check(paths: &[PathBuf], format: Format, timings: bool, verbose: bool) -> ExitCode {
    let t0 = Instant::now();
    let sources: Vec<Source> = paths
        .iter()
        .map(|p| Source {
            name: folder_name(p),
            root: p.clone(),
            include: Vec::new(),
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
                "skipped": cat.skipped,
            });
            out = format!("{v}\n");
        }
        Format::Text => {
            for d in &cat.diagnostics {
                out.push_str(&format!("{d}\n"));
            }
            if verbose {
                for s in &cat.skipped {
                    out.push_str(&format!("{}: passed over: {}\n", s.path, s.reason));
                }
            }
            if !cat.skipped.is_empty() {
                out.push_str(&passed_over(&cat.skipped, verbose));
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
    // A script must be able to tell when nothing could be read: every PATH gave no rule.
    let all_failed = paths.iter().all(|p| {
        let root = p.to_string_lossy();
        !cat.rules.iter().any(|r| r.path.starts_with(root.as_ref()))
    });
    // The process ends here: freeing every rule one by one would only cost time.
    std::mem::forget(cat);
    if all_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `passed over 4 files: 3 markdown without a KQL code block, 1 hidden (not walked)`, the
/// reasons by falling count.
fn passed_over(skipped: &[catalog::Skipped], verbose: bool) -> String {
    let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in skipped {
        *by_reason.entry(s.reason.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = by_reason.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    format!(
        "passed over {} files: {}{}\n",
        skipped.len(),
        parts.join("; "),
        if verbose {
            ""
        } else {
            " (--verbose lists them)"
        }
    )
}

/// Read `NAME=DIR` folders into a catalog (see [`load`]).
fn load_sources(sources: &[String]) -> Option<Catalog> {
    load(
        sources.iter().map(|s| parse_source(s)).collect(),
        Vec::new(),
    )
}

/// Read the sources into a catalog, saying how it went on stderr; `origins` are where fetched
/// sources came from. `None` (after a message) when a folder is missing.
fn load(sources: Vec<Source>, origins: Vec<(String, catalog::Origin)>) -> Option<Catalog> {
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
    let mut cat = Catalog::load(&sources);
    cat.origins.extend(origins);
    let (errors, warnings) = cat.problem_counts();
    eprintln!(
        "detdex: {} rules from {} files in {:.0} ms ({errors} errors, {warnings} warnings: `detdex check` lists them)",
        cat.rules.len(),
        cat.files,
        t.elapsed().as_secs_f64() * 1e3
    );
    Some(cat)
}

/// Where and how `serve` serves: its address, its store file, its public address.
struct Place<'a> {
    addr: std::net::SocketAddr,
    store: Option<&'a Path>,
    base_url: Option<&'a str>,
}

/// Read the sources, record them into the store (a file, or memory) and serve them.
fn serve(
    sources: Vec<Source>,
    origins: Vec<(String, catalog::Origin)>,
    place: Place<'_>,
) -> ExitCode {
    let Place {
        addr,
        store,
        base_url,
    } = place;
    // A wrong base URL is refused before the sources are read.
    if let Some(url) = base_url
        && let Err(e) = web::check_base_url(url)
    {
        eprintln!("detdex: --base-url: {e}");
        return ExitCode::from(2);
    }
    let Some(cat) = load(sources, origins) else {
        return ExitCode::from(2);
    };
    let store = match search::record(&cat, store) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let site = match web::Site::new(std::sync::Arc::new(cat), store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("detdex: {e}");
            return ExitCode::FAILURE;
        }
    };
    let site = match base_url {
        None => site,
        Some(u) => match site.with_base_url(u) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("detdex: --base-url: {e}");
                return ExitCode::from(2);
            }
        },
    };
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

#[cfg(test)]
mod allocator_tests {
    /// The option numbers name the options meant: their defaults are v3's (`options.c`: 2, and
    /// 1000 ms).
    #[test]
    fn mimalloc_option_numbers_are_v3s() {
        // SAFETY: reading an option.
        let (commit, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::MI_ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(super::MI_PURGE_DELAY),
            )
        };
        assert_eq!((commit, delay), (2, 1000));
    }
}
