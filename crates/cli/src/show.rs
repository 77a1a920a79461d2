//! `detdex show`: one rule, as text or JSON.

use catalog::{Catalog, Report, Source};
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(rule: &str, sources: &[String], json: bool) -> ExitCode {
    let sources: Vec<Source> = sources.iter().map(|s| crate::parse_source(s)).collect();
    let path = Path::new(rule);
    let cat = if path.is_file() {
        // A file: name it after the source folder that holds it, if one was given.
        let (name, rel) = sources
            .iter()
            .find_map(|s| {
                let rel = path
                    .canonicalize()
                    .ok()?
                    .strip_prefix(s.root.canonicalize().ok()?)
                    .ok()?
                    .to_path_buf();
                Some((s.name.clone(), rel.to_string_lossy().replace('\\', "/")))
            })
            .unwrap_or_else(|| {
                let file = path
                    .file_name()
                    .map_or_else(|| rule.to_string(), |f| f.to_string_lossy().into_owned());
                (
                    crate::folder_name(path.parent().unwrap_or(Path::new("."))),
                    file,
                )
            });
        let r = catalog::read::read_file(&name, path, &rel, rule);
        Catalog::from_parts(r.rules, r.diagnostics, 1)
    } else {
        if sources.is_empty() {
            eprintln!(
                "detdex: {rule}: no such file; to find a rule by id, give the folders to search with --source DIR"
            );
            return ExitCode::from(2);
        }
        Catalog::load(&sources)
    };
    let found = if path.is_file() {
        cat.rules.first()
    } else {
        cat.find(rule)
    };
    let Some(r) = found else {
        for d in &cat.diagnostics {
            eprintln!("{d}");
        }
        eprintln!("detdex: {rule}: no rule found");
        return ExitCode::FAILURE;
    };
    if path.is_file() {
        for d in &cat.diagnostics {
            eprintln!("{d}");
        }
        if cat.rules.len() > 1 {
            eprintln!(
                "detdex: {rule} holds {} rules; showing the first ({})",
                cat.rules.len(),
                r.key
            );
        }
    }
    // Corpus counts come from the --source folders when a file was given with them.
    let corpus = if path.is_file() && !sources.is_empty() {
        Some(Catalog::load(&sources))
    } else {
        None
    };
    let report = catalog::report(corpus.as_ref().unwrap_or(&cat), r);
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => crate::print_out(&format!("{s}\n")),
            Err(e) => {
                eprintln!("detdex: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        crate::print_out(&text(&report));
    }
    ExitCode::SUCCESS
}

fn text(r: &Report) -> String {
    let mut o = String::new();
    let m = r.meta;
    let _ = writeln!(o, "{}", r.title);
    let _ = writeln!(o, "{}\n", "=".repeat(r.title.chars().count().max(3)));
    if !m.description.is_empty() {
        let _ = writeln!(o, "{}\n", m.description.trim());
    }
    let mut kv = |k: &str, v: &str| {
        if !v.is_empty() {
            let _ = writeln!(o, "{k:<14}{v}");
        }
    };
    kv("key", r.key);
    kv("id", r.id.unwrap_or(""));
    kv("source", r.source);
    kv("language", r.language);
    kv("level", r.level.unwrap_or(""));
    kv("status", r.status.unwrap_or(""));
    kv(
        "risk score",
        m.custom.get("risk_score").map_or("", String::as_str),
    );
    kv("author", &m.authors.join(", "));
    kv("group by", &r.group_by.join(", "));
    kv("date", m.date.as_deref().unwrap_or(""));
    kv("modified", m.modified.as_deref().unwrap_or(""));
    let ds: Vec<String> = m
        .data_sources
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    kv("data sources", &ds.join(", "));
    kv("tags", &m.tags.join(", "));
    let refs = |v: &[catalog::LinkView]| {
        v.iter()
            .map(|l| match l.key {
                Some(k) => format!("{} ({k})", l.reference),
                None => format!("{} (not in the catalog)", l.reference),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    kv("applies to", &refs(&r.links));
    kv("filtered by", &refs(&r.referenced_by));
    if !r.techniques.is_empty() {
        let _ = writeln!(o, "\nMITRE ATT&CK");
        for t in &r.techniques {
            let _ = writeln!(o, "  {:<22}{} {}", t.tactic, t.technique, t.name);
        }
    }
    let _ = writeln!(o, "\nStages and predicates");
    for (i, s) in r.stages.iter().enumerate() {
        let _ = writeln!(o, "  Stage {i}: {}", s.label);
        for l in s.text.lines() {
            let _ = writeln!(o, "    | {l}");
        }
        for p in &s.predicates {
            let not = if p.negated { "NOT " } else { "" };
            let _ = writeln!(
                o,
                "    - {not}{} {} {}",
                p.field.unwrap_or("(keyword)"),
                p.kind,
                values(p.values)
            );
        }
    }
    let _ = writeln!(
        o,
        "\nExclusions (an event is dropped when the whole condition of one holds)"
    );
    if r.exclusions.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for x in &r.exclusions {
        let _ = writeln!(o, "  {}: {}", x.stage, one_line(&x.text));
    }
    let _ = writeln!(
        o,
        "\nIndicators (with how many rules of the catalog match each value)"
    );
    if r.indicators.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for row in &r.indicators {
        let field = row.field.as_deref().unwrap_or("(keyword)");
        let mut kind = row.kind.to_string();
        for t in &row.transforms {
            kind.push('|');
            kind.push_str(t);
        }
        if row.case_sensitive {
            kind.push_str(" (case-sensitive)");
        }
        if row.values.is_empty() {
            let _ = writeln!(o, "  {field} {kind}");
        }
        for (v, c) in row.values.iter().zip(&row.corpus) {
            let _ = writeln!(
                o,
                "  {field} {kind} {}  corpus {}",
                values(std::slice::from_ref(v)),
                c
            );
        }
    }
    for t in r.translations.iter() {
        let _ = writeln!(o, "\n{} [{}]", t.label, t.target);
        match (&t.query, &t.error) {
            (Some(q), _) => {
                for l in q.lines() {
                    let _ = writeln!(o, "  {l}");
                }
            }
            (None, e) => {
                let _ = writeln!(
                    o,
                    "  (not translated: {})",
                    e.as_deref().unwrap_or("unknown reason")
                );
            }
        }
    }
    if !r.translations.is_empty() {
        let _ = writeln!(o, "\nRequired data sources (tables the queries read)");
        if r.required_data_sources.is_empty() {
            let _ = writeln!(o, "  (none)");
        }
        for d in &r.required_data_sources {
            let _ = writeln!(o, "  {:<24}{:<20}{}", d.table, d.targets.join(", "), d.note);
        }
    }
    let a = &r.analyst;
    let section = |o: &mut String, title: &str, s: &catalog::analyst::Section| {
        let _ = writeln!(o, "\n{title}\n  {}", one_line(&s.text));
        for p in &s.points {
            let _ = writeln!(o, "  - {}", one_line(p));
        }
        for w in &s.why {
            let _ = writeln!(o, "  why: {}", one_line(w));
        }
    };
    section(&mut o, "Hunt hypothesis", &a.hypothesis);
    section(&mut o, "False positive guidance", &a.false_positives);
    let _ = writeln!(
        o,
        "\nConfidence: {} (score {})",
        a.confidence.level, a.confidence.score
    );
    for w in &a.confidence.why {
        let _ = writeln!(o, "  {}", one_line(w));
    }
    if let Some(g) = m.custom.get("investigation guide") {
        let _ = writeln!(o, "\nInvestigation guide");
        for l in g.lines() {
            let _ = writeln!(o, "  {l}");
        }
    }
    o
}

/// Text from a rule on one line: line breaks written as `\n`, so rule content cannot start
/// a line of its own in the output.
fn one_line(s: &str) -> String {
    s.replace('\r', "\\r").replace('\n', "\\n")
}

/// Values quoted as in Sigma's YAML.
fn values(v: &[ir::Value]) -> String {
    // Quoted as Sigma's YAML would: backslashes stay single, as written in the rule.
    let quoted: Vec<String> = v
        .iter()
        .map(|s| format!("'{}'", s.written.replace('\'', "''")))
        .collect();
    quoted.join(", ")
}
