//! `detdex hunt`: Sigma rules run on events (EVTX files, their JSON form, JSON lines).

use catalog::read::{FileFormat, detect, walk};
use engine::correlate::format_time_ms;
use engine::{Event, Logsources, Ruleset, read_file};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

pub struct Args<'a> {
    pub rules: &'a [PathBuf],
    pub events: &'a [PathBuf],
    pub jsonl: bool,
    pub show_skipped: bool,
    pub timings: bool,
}

/// The first value of a field, as text.
fn first<'a>(ev: &'a Event, field: &str) -> Option<&'a str> {
    ev.get(field).first().and_then(|(v, _)| v.text())
}

fn is_event_file(f: &std::path::Path) -> bool {
    f.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["evtx", "json", "jsonl", "ndjson"].contains(&e.to_ascii_lowercase().as_str())
    })
}

pub fn run(a: Args) -> ExitCode {
    let start = Instant::now();
    for p in a.rules.iter().chain(a.events) {
        if !p.exists() {
            eprintln!("detdex: {}: no such file or folder", p.display());
            return ExitCode::from(2);
        }
    }
    let rule_texts: Vec<(String, String)> = a
        .rules
        .iter()
        .flat_map(|r| walk(r))
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).ok()?;
            (detect(&f, &text) == Some(FileFormat::Sigma)).then(|| (f.display().to_string(), text))
        })
        .collect();
    let set = Ruleset::compile(
        rule_texts.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        &Logsources::builtin(),
    );
    let compiled = start.elapsed();

    // In folders, the files that hold events; a file named on the command line is read whatever
    // its name.
    let event_files: Vec<PathBuf> = a
        .events
        .iter()
        .flat_map(|e| {
            let named = e.is_file();
            walk(e)
                .into_iter()
                .filter(move |f| named || is_event_file(f))
        })
        .collect();
    let read: Vec<(Vec<Event>, Vec<engine::ReadError>)> =
        event_files.par_iter().map(|f| read_file(f)).collect();
    let read_time = start.elapsed() - compiled;
    let mut n_events = 0;
    let mut out = String::new();
    let mut detections = 0;
    let mut problems = 0;
    let mut all_events: Vec<Event> = vec![];
    let mut all_hits: Vec<Vec<usize>> = vec![];
    for (events, errors) in read {
        for e in &errors {
            eprintln!("{e}");
            problems += 1;
        }
        n_events += events.len();
        let hits: Vec<Vec<usize>> = events.par_iter().map(|ev| set.match_indexes(ev)).collect();
        for (ev, rules) in events.iter().zip(&hits) {
            for r in rules.iter().map(|&i| &set.rules[i]) {
                detections += 1;
                let time = first(ev, "TimeCreated_SystemTime");
                if a.jsonl {
                    let v = serde_json::json!({
                        "event": ev.origin,
                        "time": time,
                        "computer": first(ev, "Computer"),
                        "channel": first(ev, "Channel"),
                        "event_id": first(ev, "EventID"),
                        "rule": r.path,
                        "id": r.id,
                        "title": r.title,
                        "level": r.level,
                    });
                    out.push_str(&format!("{v}\n"));
                } else {
                    out.push_str(&format!(
                        "{}\t{}\t{}\t{}\t{}\n",
                        ev.origin,
                        time.unwrap_or("-"),
                        r.level.as_deref().unwrap_or("-"),
                        r.title,
                        r.path
                    ));
                }
            }
        }
        if !set.correlations.is_empty() {
            all_events.extend(events);
            all_hits.extend(hits);
        }
    }
    let correlated = set.correlate(&all_events, &all_hits);
    for h in &correlated {
        let c = &set.correlations[h.correlation];
        let (first_t, last_t) = (format_time_ms(h.first_ms), format_time_ms(h.last_ms));
        let group: Vec<String> = h.group.iter().map(|(f, v)| format!("{f}={v}")).collect();
        if a.jsonl {
            let v = serde_json::json!({
                "correlation": c.path,
                "id": c.id,
                "title": c.title,
                "level": c.level,
                "group": h.group.iter().cloned().collect::<BTreeMap<String, String>>(),
                "first": first_t,
                "last": last_t,
                "count": h.count,
                "events": h.events,
            });
            out.push_str(&format!("{v}\n"));
        } else {
            out.push_str(&format!(
                "correlation {}\t{}..{}\t{}\t{}\t{} in {} events\t{}\n",
                group.join(","),
                first_t,
                last_t,
                c.level.as_deref().unwrap_or("-"),
                c.title,
                h.count,
                h.events.len(),
                c.path
            ));
        }
    }
    crate::print_out(&out);
    let matched = start.elapsed() - compiled - read_time;

    if a.show_skipped {
        for s in &set.skipped {
            eprintln!("{}:{}:{}: skipped: {}", s.path, s.line, s.column, s.reason);
        }
    }
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
    eprintln!(
        "{} rules and {} correlations ({} skipped), {} event files, {n_events} events, {problems} read problems, {detections} detections, {} correlation detections",
        set.rules.len(),
        set.correlations.len(),
        set.skipped.len(),
        event_files.len(),
        correlated.len()
    );
    for (r, n) in reasons.iter().take(5) {
        eprintln!("  skipped {n}: {r}");
    }
    if a.timings {
        eprintln!(
            "timings: rules {:.1} ms, reading events {:.1} ms, matching {:.1} ms",
            compiled.as_secs_f64() * 1e3,
            read_time.as_secs_f64() * 1e3,
            matched.as_secs_f64() * 1e3
        );
    }
    ExitCode::SUCCESS
}
