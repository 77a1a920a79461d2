//! `detdex verify`: run each rule two ways and compare — the Sigma engine on the events, and the
//! rule's KQL translation (kql-xdr or kql-asim) on the same events turned into rows of the target's
//! tables. The event → row mapping is data (`data/rows/<target>.tsv`, KQL expressions over the
//! event's fields, written from Microsoft's schema documentation and independent of the
//! conversion pipelines); the rows are typed by the target's schema (`data/schemas/`).
//!
//! One JSON line per rule that the engine or the query selects something for, or that has a
//! test event but no translation: `rule`, `id`, `target`, `events` (origins of the events the
//! engine matches), `rows` (origins of the events whose rows the query selects), `agree`
//! (`null` without a translation) and `reason` (why there is no translation, or the query error).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use catalog::read::{FileFormat, detect, walk};
use convert::schema::{ColType, Schema};
use convert::{Converter, Target};
use engine::{Event, FieldValue, Logsources};
use kql::eval::{Row, Scalar, Value, compile, compile_expr};
use rayon::prelude::*;

/// How the events of one (channel, event id) become rows of one table.
struct Mapping {
    table: String,
    /// Every event field that is a column of the table, as is (`*`).
    all_fields: bool,
    columns: Vec<(String, Scalar)>,
}

/// The event → row mapping of a target: (channel, event id or `*`) → one mapping per table
/// (an event can be a row of several tables: a Defender event and its device's `DeviceInfo`).
struct RowMap {
    by_event: HashMap<(String, String), Vec<Mapping>>,
}

impl RowMap {
    fn load(path: &str, text: &str) -> Result<RowMap, String> {
        let mut by_event: HashMap<(String, String), Vec<Mapping>> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let [channel, id, table, column, expr] = f[..] else {
                return Err(format!(
                    "{path}:{}: expected channel, event id, table, column, expression",
                    n + 1
                ));
            };
            let ms = by_event
                .entry((channel.to_string(), id.to_string()))
                .or_default();
            let m = match ms.iter().position(|m| m.table == table) {
                Some(i) => &mut ms[i],
                None => {
                    ms.push(Mapping {
                        table: table.to_string(),
                        all_fields: false,
                        columns: Vec::new(),
                    });
                    ms.last_mut().expect("pushed")
                }
            };
            if column == "*" {
                m.all_fields = true;
                continue;
            }
            let x = compile_expr(expr).map_err(|e| format!("{path}:{}: {e}", n + 1))?;
            m.columns.push((column.to_string(), x));
        }
        Ok(RowMap { by_event })
    }

    fn builtin(target: Target) -> Result<RowMap, String> {
        match target {
            Target::KqlXdr => RowMap::load(
                "data/rows/microsoft_xdr.tsv",
                include_str!("../../../data/rows/microsoft_xdr.tsv"),
            ),
            Target::KqlAsim => RowMap::load(
                "data/rows/sentinel_asim.tsv",
                include_str!("../../../data/rows/sentinel_asim.tsv"),
            ),
            other => Err(format!(
                "`verify` runs KQL queries only (kql-xdr, kql-asim), not {}",
                other.name()
            )),
        }
    }

    /// The event as rows of its tables, typed by the schema; none when the target has no
    /// table for the event. The mappings of the event's id come first; those of `*` add the
    /// tables the id has no mapping for.
    fn rows(&self, ev: &Event, schema: &Schema) -> Result<Vec<(String, Row)>, String> {
        let first = |f: &str| {
            ev.get(f)
                .first()
                .and_then(|(v, _)| v.text().map(str::to_string))
        };
        let (Some(channel), Some(id)) = (first("Channel"), first("EventID")) else {
            return Ok(vec![]);
        };
        let exact = self.by_event.get(&(channel.clone(), id));
        let any = self.by_event.get(&(channel, "*".to_string()));
        let mut mappings: Vec<&Mapping> = exact.into_iter().flatten().collect();
        for m in any.into_iter().flatten() {
            if !mappings.iter().any(|x| x.table == m.table) {
                mappings.push(m);
            }
        }
        if mappings.is_empty() {
            return Ok(vec![]);
        }
        let mut fields: Row = HashMap::new();
        for name in ev.field_names() {
            if let Some((v, _)) = ev.get(name).first() {
                fields.insert(
                    name.to_string(),
                    match v {
                        FieldValue::Str(s) => Value::Str(s.clone()),
                        FieldValue::Num(s) => s
                            .parse()
                            .map(Value::Long)
                            .unwrap_or_else(|_| Value::Str(s.clone())),
                        FieldValue::Bool(b) => Value::Bool(*b),
                        FieldValue::Null => Value::Null,
                    },
                );
            }
        }
        mappings
            .into_iter()
            .map(|m| Ok((m.table.clone(), m.row(fields.clone(), schema)?)))
            .collect()
    }
}

impl Mapping {
    /// The event's `fields` as a row of the mapping's table, typed by the schema.
    fn row(&self, mut fields: Row, schema: &Schema) -> Result<Row, String> {
        let m = self;
        let Some(cols) = schema.table(&m.table) else {
            return Err(format!("table {} is not in the target's schema", m.table));
        };
        let mut row: Row = HashMap::new();
        if m.all_fields {
            for (k, v) in &fields {
                if cols.contains_key(k) {
                    row.insert(k.clone(), v.clone());
                }
            }
        }
        for (c, x) in &m.columns {
            let v = x.eval(&fields).map_err(|e| format!("{}: {e}", m.table))?;
            // Intermediate columns are seen by the later expressions only; the others only in
            // the row (a column may share its name with an event field: ASIM EventType).
            if c.starts_with('_') {
                fields.insert(c.clone(), v);
            } else {
                row.insert(c.clone(), v);
            }
        }
        let mut typed: Row = HashMap::new();
        for (name, col) in cols {
            if col.expression.is_some() {
                continue;
            }
            let v = row.remove(name).unwrap_or(Value::Null);
            typed.insert(
                name.clone(),
                match (col.ty, v) {
                    // Kusto strings are never null.
                    (ColType::String, Value::Null) => Value::Str(String::new()),
                    (ColType::String, Value::Long(n)) => Value::Str(n.to_string()),
                    (ColType::String, Value::Bool(b)) => Value::Str(b.to_string()),
                    (ColType::Number, Value::Str(s)) => {
                        s.trim().parse().map(Value::Long).unwrap_or(Value::Null)
                    }
                    (_, v) => v,
                },
            );
        }
        if let Some(k) = row.keys().next() {
            return Err(format!("column {k} is not in {}", m.table));
        }
        Ok(typed)
    }
}

/// The verdict for one rule.
struct Verdict {
    rule: String,
    id: Option<String>,
    events: Vec<usize>,
    rows: Vec<usize>,
    translated: bool,
    reason: Option<String>,
}

pub fn run(target: &str, rules: &[PathBuf], events: &[PathBuf], timings: bool) -> ExitCode {
    let start = Instant::now();
    let Some(target) = Target::from_name(target) else {
        eprintln!("detdex: unknown target `{target}` (targets: kql-xdr, kql-asim)");
        return ExitCode::from(2);
    };
    for p in rules.iter().chain(events) {
        if !p.exists() {
            eprintln!("detdex: {}: no such file or folder", p.display());
            return ExitCode::from(2);
        }
    }
    let (converter, rowmap) = match (Converter::new(target, vec![]), RowMap::builtin(target)) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(e), _) => {
            eprintln!("detdex: built-in pipeline: {e}");
            return ExitCode::FAILURE;
        }
        (_, Err(e)) => {
            eprintln!("detdex: built-in row mapping: {e}");
            return ExitCode::FAILURE;
        }
    };

    // Events, then their rows.
    let files: Vec<PathBuf> = events
        .iter()
        .flat_map(|e| {
            let named = e.is_file();
            walk(e).into_iter().filter(move |f| {
                named
                    || f.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                        ["evtx", "json", "jsonl", "ndjson"]
                            .contains(&x.to_ascii_lowercase().as_str())
                    })
            })
        })
        .collect();
    let read: Vec<_> = files.par_iter().map(|f| engine::read_file(f)).collect();
    let mut evs: Vec<Event> = Vec::new();
    for (es, errors) in read {
        for e in errors {
            eprintln!("{e}");
        }
        evs.extend(es);
    }
    let mut tables: HashMap<String, (Vec<usize>, Vec<Row>)> = HashMap::new();
    for (i, ev) in evs.iter().enumerate() {
        match rowmap.rows(ev, &converter.schema) {
            Ok(rows) => {
                for (table, row) in rows {
                    let t = tables.entry(table).or_default();
                    t.0.push(i);
                    t.1.push(row);
                }
            }
            Err(e) => eprintln!("detdex: {}: {e}", ev.origin),
        }
    }
    let read_time = start.elapsed();

    // Rules.
    let rule_files: Vec<PathBuf> = rules.iter().flat_map(|r| walk(r)).collect();
    let logsources = Logsources::builtin();
    let verdicts: Vec<Verdict> = rule_files
        .par_iter()
        .flat_map_iter(|f| {
            let Ok(text) = std::fs::read_to_string(f) else {
                return vec![];
            };
            if detect(f, &text) != Some(FileFormat::Sigma) {
                return vec![];
            }
            let path = f.display().to_string();
            sigma::parse(&text)
                .documents
                .into_iter()
                .filter_map(|d| {
                    let rule = engine::Rule::compile(&d.doc, &path, &logsources).ok()?;
                    let matched: Vec<usize> =
                        (0..evs.len()).filter(|&i| rule.matches(&evs[i])).collect();
                    let mut v = Verdict {
                        rule: path.clone(),
                        id: d.doc.meta.id.clone(),
                        events: matched,
                        rows: vec![],
                        translated: false,
                        reason: None,
                    };
                    match converter.convert(&d.doc) {
                        Err(e) => v.reason = Some(e),
                        Ok(queries) => {
                            v.translated = true;
                            for q in queries {
                                let p = match compile(&q) {
                                    Ok(p) => p,
                                    Err(e) => {
                                        v.reason = Some(format!("the query: {e}"));
                                        break;
                                    }
                                };
                                let Some((idx, rows)) = tables.get(p.table()) else {
                                    continue;
                                };
                                let other = |t: &str| -> &[Row] {
                                    tables.get(t).map_or(&[], |(_, rows)| rows.as_slice())
                                };
                                match p.run_with(rows, &other) {
                                    Ok(sel) => v.rows.extend(sel.into_iter().map(|k| idx[k])),
                                    Err(e) => {
                                        v.reason = Some(format!("the query: {e}"));
                                        break;
                                    }
                                }
                            }
                            v.rows.sort_unstable();
                            v.rows.dedup();
                        }
                    }
                    (!v.events.is_empty()
                        || !v.rows.is_empty()
                        || v.reason.is_some() && v.translated)
                        .then_some(v)
                })
                .collect::<Vec<_>>()
        })
        .collect();

    let mut out = String::new();
    let (mut compared, mut agreed) = (0, 0);
    for v in &verdicts {
        let agree = v
            .translated
            .then(|| v.reason.is_none() && v.events == v.rows);
        if v.translated {
            compared += 1;
            if agree == Some(true) {
                agreed += 1;
            }
        }
        let origins =
            |ix: &[usize]| -> Vec<&str> { ix.iter().map(|&i| evs[i].origin.as_str()).collect() };
        let line = serde_json::json!({
            "rule": v.rule,
            "id": v.id,
            "target": target.name(),
            "events": origins(&v.events),
            "rows": origins(&v.rows),
            "agree": agree,
            "reason": v.reason,
        });
        out.push_str(&format!("{line}\n"));
    }
    crate::print_out(&out);
    eprintln!(
        "{}: {agreed} of {compared} translated rules agree ({:.1} %); {} events, {} rules without a translation",
        target.name(),
        if compared == 0 {
            100.0
        } else {
            100.0 * agreed as f64 / compared as f64
        },
        evs.len(),
        verdicts.len() - compared
    );
    if timings {
        eprintln!(
            "read {:.0} ms, total {:.0} ms",
            read_time.as_secs_f64() * 1e3,
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    ExitCode::SUCCESS
}
