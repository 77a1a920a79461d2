//! `detdex hunt`: Sigma rules run on events (EVTX files, their JSON form, JSON lines), file by
//! file: each file's events are read in batches, matched in parallel and dropped; only the
//! detections (and what correlations need of them) are kept.

use crate::timeline::{Key, Row, Sorter};
use catalog::read::{FileFormat, detect, walk};
use engine::correlate::{event_time_ms, format_time_ms};
use engine::{Correlator, Event, Matched, Ruleset, Tag, read_batches};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum HuntFormat {
    /// Aligned columns (tab-separated with --no-sort).
    Table,
    Csv,
    /// One JSON object per detection, with the matched fields.
    Jsonl,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    fn of(level: Option<&str>) -> Option<Level> {
        Some(match level? {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }
}

/// Run Sigma rules on events (EVTX files, their JSON form, JSON lines) and print each
/// detection as a timeline: time, level, rule, the log that fired (channel and event id, or
/// logsource), the event, and the fields that matched.
#[derive(clap::Args, Debug)]
pub struct HuntArgs {
    /// Sigma rule files or folders.
    #[arg(long = "rules", required = true)]
    pub rules: Vec<PathBuf>,
    /// Event files or folders (.evtx; anything else is read as JSON). In a folder, a `.json`
    /// file beside an `.evtx` file of the same name is its export and is not read again.
    #[arg(required = true)]
    pub events: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: HuntFormat,
    /// Only detections of rules at this level or above (a rule without a level is shown
    /// only without this option).
    #[arg(long, value_enum)]
    pub min_level: Option<Level>,
    /// The Sigma logsource of JSON events that carry no Windows channel, as
    /// `product=aws,service=cloudtrail` (else it is recognized from their fields, as
    /// data/logsources/recognize.tsv says).
    #[arg(long)]
    pub logsource: Option<String>,
    /// Write each detection as it is found (in reading order) instead of a timeline sorted
    /// by time at the end.
    #[arg(long)]
    pub no_sort: bool,
    /// List every rule left out, with the reason, and every event file not read (to stderr).
    #[arg(long)]
    pub show_skipped: bool,
    /// Print how long each phase took (to stderr).
    #[arg(long)]
    pub timings: bool,
}

/// One line of the timeline: a rule's detection on an event, or a correlation.
struct Detection {
    time_ms: Option<i64>,
    time: String,
    level: Option<String>,
    title: String,
    rule: String,
    id: Option<String>,
    /// The log that fired: `Security 4688`, `logsource product: aws, service: cloudtrail`.
    log: String,
    computer: Option<String>,
    /// The event (`file#record`, `file:line`) or, for a correlation, its events.
    events: Vec<String>,
    matched: Vec<Matched>,
    /// A correlation: its group and count.
    correlation: Option<(Vec<(String, String)>, usize)>,
}

fn first<'a>(ev: &'a Event, field: &str) -> Option<&'a str> {
    ev.get(field).first().and_then(|(v, _)| v.text())
}

fn log_of(ev: &Event) -> String {
    match (first(ev, "Channel"), &ev.logsource) {
        (Some(c), _) => match first(ev, "EventID") {
            Some(id) => format!("{c} {id}"),
            None => c.to_string(),
        },
        (None, Some(tag)) => tag.to_string(),
        (None, None) => "-".into(),
    }
}

fn is_event_file(f: &Path) -> bool {
    f.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["evtx", "json", "jsonl", "ndjson"].contains(&e.to_ascii_lowercase().as_str())
    })
}

/// The event files to read and the `.json` files left out as exports of an `.evtx` beside
/// them (same folder, same name). A file named on the command line is read whatever its name.
pub(crate) fn event_files(events: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = vec![];
    for e in events {
        let named = e.is_file();
        files.extend(walk(e).into_iter().filter(|f| named || is_event_file(f)));
    }
    let evtx: BTreeSet<PathBuf> = files
        .iter()
        .filter(|f| {
            f.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
        })
        .map(|f| f.with_extension(""))
        .collect();
    let mut seen = BTreeSet::new();
    let (mut read, mut exports) = (vec![], vec![]);
    for f in files {
        if !seen.insert(f.clone()) {
            continue; // the same file reached twice
        }
        let json = f
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if json && evtx.contains(&f.with_extension("")) {
            exports.push(f);
        } else {
            read.push(f);
        }
    }
    (read, exports)
}

/// The Sigma files under the given paths, read in parallel: (path, text).
pub(crate) fn rule_texts(paths: &[PathBuf]) -> Vec<(String, String)> {
    let files: Vec<PathBuf> = paths.iter().flat_map(|r| walk(r)).collect();
    files
        .par_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            (detect(f, &text) == Some(FileFormat::Sigma)).then(|| (f.display().to_string(), text))
        })
        .collect()
}

/// What a reading thread hands over: a batch of events, or the end of a file with its read
/// problems.
enum Read {
    Batch(Vec<Event>),
    Done(PathBuf, Vec<engine::ReadError>),
}

/// Events per batch a reader hands over (a file's events are never all in memory at once).
const BATCH: usize = 2048;

/// Events gathered from consecutive files before they are matched together (below
/// [`AHEAD`], so the readers are never all held while events wait).
const MATCH_AT: usize = 512;

/// How many events the readers may hold in batches of files after the one being matched.
const AHEAD: usize = 1024;

/// Keeps readers of later files within [`AHEAD`] events of the file being matched; the reader
/// of that file itself is never held (its channel is bounded), so the matching never waits on
/// a reader that waits on it.
struct Gate {
    /// The file being matched and the events read but not yet matched.
    state: std::sync::Mutex<(usize, usize)>,
    moved: std::sync::Condvar,
    /// The most events held for later files ([`AHEAD`]).
    ahead: usize,
}

impl Gate {
    /// Wait until file `file` may hand over `n` more events, then count them.
    fn admit(&self, file: usize, n: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while file != s.0 && s.1 > 0 && s.1 + n > self.ahead {
            s = self.moved.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.1 += n;
    }

    /// `n` events matched, or the matching moved on to file `file`.
    fn update(&self, file: Option<usize>, n: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = file {
            s.0 = f;
        }
        s.1 = s.1.saturating_sub(n);
        self.moved.notify_all();
    }
}

/// Read the event files on `threads` threads, each taking the next file not yet taken; each
/// file's batches are received from its own channel, so they are matched in file order (the
/// same detections in the same order as one reader would give) while later files are read.
fn read_in_order(
    files: &[PathBuf],
    threads: usize,
    ahead: usize,
) -> (impl Iterator<Item = Read> + use<>, Arc<Gate>) {
    let (senders, receivers): (Vec<_>, Vec<_>) =
        files.iter().map(|_| sync_channel::<Read>(2)).unzip();
    let (files, senders) = (Arc::new(files.to_vec()), Arc::new(senders));
    let gate = Arc::new(Gate {
        state: Default::default(),
        moved: Default::default(),
        ahead,
    });
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..threads.clamp(1, files.len().max(1)) {
        let (files, senders, gate, next) =
            (files.clone(), senders.clone(), gate.clone(), next.clone());
        std::thread::spawn(move || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (Some(file), Some(tx)) = (files.get(i), senders.get(i)) else {
                    return;
                };
                // A reader that fails must still end its file, or the matching would wait on
                // it for ever.
                let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    read_batches(file, BATCH, &mut |batch| {
                        gate.admit(i, batch.len());
                        let _ = tx.send(Read::Batch(batch));
                    })
                }));
                let errors = read.unwrap_or_else(|_| {
                    vec![engine::ReadError {
                        path: file.display().to_string(),
                        line: 0,
                        column: 0,
                        message: "reading stopped: the reader failed (a bug in detdex)".into(),
                    }]
                });
                if tx.send(Read::Done(file.clone(), errors)).is_err() {
                    return; // nobody is listening any more
                }
            }
        });
    }
    // Each file's batches in turn, up to its end. The gate learns that a file is being
    // matched before its first batch is waited for: its reader is then never held.
    let reads = receivers.into_iter().enumerate().flat_map({
        let gate = gate.clone();
        move |(i, rx)| {
            let (gate, mut done) = (gate.clone(), false);
            std::iter::from_fn(move || {
                if done {
                    return None;
                }
                gate.update(Some(i), 0);
                let read = rx.recv().ok()?;
                done = matches!(read, Read::Done(..));
                Some(read)
            })
        }
    });
    (reads, gate)
}

pub fn run(a: HuntArgs) -> ExitCode {
    let start = Instant::now();
    for p in a.rules.iter().chain(&a.events) {
        if !p.exists() {
            eprintln!("detdex: {}: no such file or folder", p.display());
            return ExitCode::from(2);
        }
    }
    let logsource = match a.logsource.as_deref().map(Tag::parse).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("detdex: --logsource: {e}");
            return ExitCode::from(2);
        }
    };
    // Events are read on one thread per core, while the rules compile and while the batches
    // before are matched (reading a file is sequential; matching runs on every core).
    let (files, exports) = event_files(&a.events);
    let total: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (reads, gate) = read_in_order(&files, threads, AHEAD);

    let texts = rule_texts(&a.rules);
    let set = Ruleset::compile(
        texts.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        &engine::Logsources::builtin(),
    );
    drop(texts);
    let compiled = start.elapsed();

    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {eta} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };

    let mut out = Output::new(a.format, !a.no_sort);
    let mut correlator = Correlator::default();
    let (mut n_events, mut problems, mut detections) = (0usize, 0usize, 0usize);
    let mut per_rule: BTreeMap<usize, usize> = BTreeMap::new();
    let shown = |level: Option<&str>| {
        a.min_level
            .is_none_or(|min| Level::of(level).is_some_and(|l| l >= min))
    };
    // Matching and explaining each hit (the detections) run on every core, over the events of
    // consecutive files gathered up to `MATCH_AT` (a file of a few events is too little work to
    // share out).
    let mut pending: Vec<Event> = vec![];
    let mut match_pending = |pending: &mut Vec<Event>| {
        let found: Vec<EventHits> = pending
            .par_iter()
            .map(|ev| {
                let hits = set.match_indexes(ev);
                let shown = (hits.iter())
                    .filter(|&&r| !set.rules[r].aggregated && shown(set.rules[r].level.as_deref()))
                    .map(|&r| (r, detection(&set.rules[r], ev)))
                    .collect();
                (hits, shown)
            })
            .collect();
        for (ev, (hits, shown)) in pending.iter().zip(&found) {
            correlator.observe(&set, ev, hits);
            for (r, d) in shown {
                detections += 1;
                *per_rule.entry(*r).or_default() += 1;
                out.push(d);
            }
        }
        gate.update(None, pending.len());
        pending.clear();
    };
    for read in reads {
        match read {
            Read::Batch(mut batch) => {
                n_events += batch.len();
                if let Some(tag) = &logsource {
                    for ev in batch.iter_mut().filter(|ev| !ev.has("Channel")) {
                        ev.logsource = Some(tag.clone());
                    }
                }
                pending.append(&mut batch);
                if pending.len() >= MATCH_AT {
                    match_pending(&mut pending);
                }
            }
            Read::Done(file, errors) => {
                for e in &errors {
                    bar.suspend(|| eprintln!("{e}"));
                    problems += 1;
                }
                bar.inc(file.metadata().map(|m| m.len()).unwrap_or(0));
                bar.set_message(file.display().to_string());
            }
        }
    }
    match_pending(&mut pending);
    bar.finish_and_clear();
    let run_problems = set.run_problems();
    for (path, why) in &run_problems {
        eprintln!("{path}: {why}");
    }
    let read_time = start.elapsed() - compiled;

    let correlated = correlator.finish(&set);
    let mut n_correlated = 0;
    for h in &correlated {
        let c = &set.correlations[h.correlation];
        if !shown(c.level.as_deref()) {
            continue;
        }
        n_correlated += 1;
        let d = Detection {
            time_ms: Some(h.first_ms),
            time: format_time_ms(h.first_ms),
            level: c.level.clone(),
            title: c.title.clone(),
            rule: c.path.clone(),
            id: c.id.clone(),
            log: format!("correlation until {}", format_time_ms(h.last_ms)),
            computer: None,
            events: h.events.clone(),
            matched: vec![],
            correlation: Some((h.group.clone(), h.count)),
        };
        out.push(&d);
    }
    let runs = match out.finish() {
        Ok(runs) => runs,
        Err(e) => {
            eprintln!("detdex: writing the timeline: {e}");
            return ExitCode::FAILURE;
        }
    };
    let matched = start.elapsed() - compiled - read_time;

    if a.show_skipped {
        for s in &set.skipped {
            eprintln!("{}:{}:{}: skipped: {}", s.path, s.line, s.column, s.reason);
        }
        for (dup, first) in &set.duplicates {
            eprintln!("{dup}: the same text as {first}, run once");
        }
        for f in &exports {
            eprintln!(
                "{}: not read: the export of {} beside it",
                f.display(),
                f.with_extension("evtx").display()
            );
        }
    }
    summary(&set, &per_rule);
    // The reasons rules were left out, by how often: what varies (quoted in backticks, or the
    // logsource) cut out.
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for s in &set.skipped {
        let key = if s.reason.contains("has no event log mapping") {
            "logsource with no event log mapping".to_string()
        } else {
            s.reason
                .split('`')
                .enumerate()
                .map(|(i, part)| if i % 2 == 1 { "…" } else { part })
                .collect::<Vec<_>>()
                .join("`")
        };
        *reasons.entry(key).or_default() += 1;
    }
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let aggregations = set.rules.iter().filter(|r| r.aggregated).count();
    eprintln!(
        "{} rules ({aggregations} Sigma 1 aggregations run as correlations) and {} correlations ({} skipped, {} duplicate files run once), {} event files ({} .json exports of an .evtx beside them not read again), {n_events} events, {problems} read problems, {detections} detections, {n_correlated} correlation detections{}",
        set.rules.len(),
        set.correlations.len(),
        set.skipped.len(),
        set.duplicates.len(),
        files.len(),
        exports.len(),
        match run_problems.len() {
            0 => String::new(),
            n => format!(", {n} regexes that could not be built (they matched nothing)"),
        },
    );
    for (r, n) in reasons.iter().take(5) {
        eprintln!("  skipped {n}: {r}");
    }
    if a.timings {
        eprintln!(
            "timings: rules {:.1} ms, reading and matching events {:.1} ms, correlating and writing {:.1} ms (the timeline merged from {runs} sorted runs in temporary files)",
            compiled.as_secs_f64() * 1e3,
            read_time.as_secs_f64() * 1e3,
            matched.as_secs_f64() * 1e3
        );
    }
    // The process ends here: freeing every compiled rule one by one would only cost time
    // (~15 ms of a 0.6 s run over all SigmaHQ rules).
    std::mem::forget(set);
    ExitCode::SUCCESS
}

/// The rules that fired on an event, and the detections shown of them (rule index, detection).
type EventHits = (Vec<usize>, Vec<(usize, Detection)>);

/// The detection of a rule that fired on an event, with what matched.
fn detection(rule: &engine::Rule, ev: &Event) -> Detection {
    let time_ms = event_time_ms(ev);
    Detection {
        time_ms,
        time: time_ms.map(format_time_ms).unwrap_or_else(|| "-".into()),
        level: rule.level.clone(),
        title: rule.title.clone(),
        rule: rule.path.clone(),
        id: rule.id.clone(),
        log: log_of(ev),
        computer: first(ev, "Computer").map(str::to_string),
        events: vec![ev.origin.clone()],
        matched: rule.explain(ev),
        correlation: None,
    }
}

/// Per rule that fired: detections, level, title (to stderr), most first.
fn summary(set: &Ruleset, per_rule: &BTreeMap<usize, usize>) {
    if per_rule.is_empty() {
        return;
    }
    let mut rows: Vec<(usize, usize)> = per_rule.iter().map(|(r, n)| (*r, *n)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    eprintln!("hits per rule:");
    for (r, n) in rows {
        let rule = &set.rules[r];
        eprintln!(
            "{n:>7}  {:<13} {}",
            rule.level.as_deref().unwrap_or("-"),
            rule.title
        );
    }
}

fn matched_text(m: &[Matched]) -> String {
    m.iter()
        .map(|m| format!("{}: {}={}", m.detection, m.field, m.value))
        .collect::<Vec<_>>()
        .join("; ")
}

fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

const COLUMNS: [&str; 8] = [
    "time", "level", "title", "log", "computer", "event", "matched", "rule",
];

fn columns(d: &Detection) -> [String; 8] {
    let matched = match &d.correlation {
        Some((group, count)) => {
            let g: Vec<String> = group.iter().map(|(f, v)| format!("{f}={v}")).collect();
            format!("{} in {} events, {}", count, d.events.len(), g.join(","))
        }
        None => matched_text(&d.matched),
    };
    let event = match d.events.as_slice() {
        [one] => one.clone(),
        many => format!(
            "{} events from {}",
            many.len(),
            many.first().map_or("", |e| e)
        ),
    };
    [
        d.time.clone(),
        d.level.clone().unwrap_or_else(|| "-".into()),
        d.title.clone(),
        d.log.clone(),
        d.computer.clone().unwrap_or_else(|| "-".into()),
        event,
        matched,
        d.rule.clone(),
    ]
}

/// Where detections go: straight to stdout as found (`--no-sort`), or into a timeline sorted
/// by time (events without one last), then rule, then event, in bounded memory
/// ([`crate::timeline::Sorter`]: rows beyond a budget go to temporary files) and written at
/// the end. A table written at the end is aligned on its widest cells (tab-separated as found).
struct Output {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    format: HuntFormat,
    header: bool,
    sorter: Option<Sorter>,
    widths: [usize; 8],
    /// The first error writing the timeline's temporary files.
    error: Option<std::io::Error>,
}

/// The bytes of detections a sorted timeline keeps in memory before writing a run to disk.
const TIMELINE_BUDGET: usize = 2 << 20;

impl Output {
    fn new(format: HuntFormat, sorted: bool) -> Output {
        Output {
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            format,
            header: false,
            sorter: sorted.then(|| Sorter::new(TIMELINE_BUDGET)),
            widths: COLUMNS.map(|c| c.chars().count()),
            error: None,
        }
    }

    fn push(&mut self, d: &Detection) {
        let cells = cells(self.format, d);
        let Some(sorter) = &mut self.sorter else {
            self.write(&cells, false);
            return;
        };
        if self.error.is_some() {
            return;
        }
        if self.format == HuntFormat::Table {
            for (w, c) in self.widths.iter_mut().zip(&cells) {
                *w = (*w).max(c.chars().count()).min(80);
            }
        }
        let key = Key {
            untimed: d.time_ms.is_none(),
            time_ms: d.time_ms.unwrap_or(0),
            title: d.title.clone(),
            events: d.events.clone(),
            seq: 0,
        };
        if let Err(e) = sorter.push(Row { key, cells }) {
            self.error = Some(e);
        }
    }

    /// Write the timeline (if sorted); how many runs went to temporary files.
    fn finish(mut self) -> std::io::Result<usize> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut runs = 0;
        if let Some(sorter) = self.sorter.take() {
            runs = sorter.spilled_runs();
            for row in sorter.finish()? {
                self.write(&row?.cells, true);
            }
        }
        // A closed pipe (`| head`) ends the output, not the run.
        let _ = self.out.flush();
        Ok(runs)
    }

    /// One row, after the header if none was written yet.
    fn write(&mut self, cells: &[String], aligned: bool) {
        let mut text = String::new();
        match self.format {
            HuntFormat::Jsonl => {
                for c in cells {
                    text.push_str(c);
                    text.push('\n');
                }
            }
            HuntFormat::Csv => {
                if !self.header {
                    text.push_str(&COLUMNS.join(","));
                    text.push('\n');
                }
                let cols: Vec<String> = cells.iter().map(|c| csv(c)).collect();
                text.push_str(&cols.join(","));
                text.push('\n');
            }
            HuntFormat::Table => {
                let widths = &self.widths;
                let line = |cells: &[&str]| -> String {
                    let mut s = String::new();
                    for (i, c) in cells.iter().enumerate() {
                        if i + 1 == cells.len() {
                            s.push_str(c);
                        } else if aligned {
                            s.push_str(&format!("{c:<w$}  ", w = widths[i]));
                        } else {
                            s.push_str(c);
                            s.push('\t');
                        }
                    }
                    s.trim_end().to_string() + "\n"
                };
                if !self.header {
                    text.push_str(&line(&COLUMNS));
                }
                text.push_str(&line(&cells.iter().map(String::as_str).collect::<Vec<_>>()));
            }
        }
        self.header = true;
        let _ = self.out.write_all(text.as_bytes());
    }
}

/// The text of a detection: its columns (table, CSV) or its JSON line.
fn cells(format: HuntFormat, d: &Detection) -> Vec<String> {
    match format {
        HuntFormat::Table | HuntFormat::Csv => columns(d).to_vec(),
        HuntFormat::Jsonl => vec![json(d).to_string()],
    }
}

fn json(d: &Detection) -> serde_json::Value {
    let mut v = serde_json::json!({
        "time": d.time_ms.map(|_| &d.time),
        "level": d.level,
        "title": d.title,
        "rule": d.rule,
        "id": d.id,
        "log": d.log,
        "computer": d.computer,
    });
    match &d.correlation {
        Some((group, count)) => {
            v["correlation"] = serde_json::json!({
                "group": group.iter().cloned().collect::<BTreeMap<String, String>>(),
                "count": count,
            });
            v["events"] = serde_json::json!(d.events);
        }
        None => {
            v["event"] = serde_json::json!(d.events.first());
            v["matched"] = d
                .matched
                .iter()
                .map(|m| {
                    serde_json::json!({"detection": m.detection, "field": m.field, "value": m.value})
                })
                .collect();
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many small files, readers allowed one event ahead: every event arrives, in file order,
    /// and the readers never wait on the matching that waits on them.
    #[test]
    fn readers_hand_over_files_in_order_within_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..60)
            .map(|i| {
                let f = dir.path().join(format!("{i:02}.jsonl"));
                let lines: String = (0..(1 + i % 7))
                    .map(|j| format!("{{\"file\": {i}, \"n\": {j}}}\n"))
                    .collect();
                std::fs::write(&f, lines).unwrap();
                f
            })
            .collect();
        for threads in [1, 2, 4, 8] {
            let (reads, gate) = read_in_order(&files, threads, 1);
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut seen = vec![];
                for read in reads {
                    match read {
                        Read::Batch(batch) => {
                            seen.extend(batch.iter().map(|ev| {
                                let n = |f| ev.get(f)[0].0.text().unwrap().to_string();
                                (n("file"), n("n"))
                            }));
                            gate.update(None, batch.len());
                        }
                        Read::Done(file, errors) => {
                            assert!(errors.is_empty(), "{}: {errors:?}", file.display());
                        }
                    }
                }
                let _ = tx.send(seen);
            });
            let seen = rx
                .recv_timeout(std::time::Duration::from_secs(30))
                .expect("the readers and the matching waited on each other");
            let want: Vec<(String, String)> = (0..60)
                .flat_map(|i| (0..(1 + i % 7)).map(move |j| (i.to_string(), j.to_string())))
                .collect();
            assert_eq!(seen, want, "{threads} readers");
        }
    }
}
