//! Which logs and events a rule reads ("Event coverage"): a Sigma logsource's Windows event
//! log channels and event ids (the engine's `data/logsources/windows.tsv`), Splunk's
//! `data_source` and data model, KQL tables and `ActionType`s, Elastic index patterns, and
//! the event kinds a rule's own tests require (`EventID`, `ActionType`, `event.category`, …).

use crate::report::Indicator;
use ir::{Format, Rule};
use serde::Serialize;

/// One log or event kind a rule reads, and where that comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    /// `Windows event log`, `data source`, `data model`, `table`, `index pattern`,
    /// `ActionType`, `event.category`, …
    pub kind: String,
    pub value: String,
    /// `event ids 1`, `every event`, a condition.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Where the row comes from: `logsource → data/logsources/windows.tsv`, `data_source`, a
    /// test of the rule.
    pub from: String,
}

/// Fields whose `eq` values name the kind of event a rule reads.
const EVENT_FIELDS: [&str; 9] = [
    "eventid",
    "eventcode",
    "event.code",
    "actiontype",
    "event.category",
    "event.type",
    "event.action",
    "event.dataset",
    "data_stream.dataset",
];

/// The event coverage of a rule, given its indicators.
pub fn event_coverage(rule: &Rule, indicators: &[Indicator]) -> Vec<EventRow> {
    let tests = indicators
        .iter()
        .map(|i| (i.field.as_deref(), i.kind, i.values.as_slice()));
    coverage_of(rule, tests)
}

/// The event coverage of a rule read from its IR alone (the indicator rows without counts),
/// as the web index filters by it.
pub fn event_coverage_of_rule(rule: &Rule) -> Vec<EventRow> {
    let rows = ir::indicators(&rule.logic);
    coverage_of(
        rule,
        rows.iter()
            .map(|r| (r.field.as_deref(), r.kind, r.values.as_slice())),
    )
}

/// The rows of a rule's event coverage, given its required tests (field, kind, values).
fn coverage_of<'a>(
    rule: &Rule,
    tests: impl Iterator<Item = (Option<&'a str>, ir::Kind, &'a [ir::Value])>,
) -> Vec<EventRow> {
    let mut rows: Vec<EventRow> = Vec::new();
    let mut push = |row: EventRow| {
        if !rows
            .iter()
            .any(|r| r.kind == row.kind && r.value == row.value)
        {
            rows.push(row);
        }
    };
    let ds = &rule.meta.data_sources;
    let get = |k: &str| {
        ds.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.to_lowercase())
            .unwrap_or_default()
    };
    if rule.format == Format::Sigma {
        let tag = engine::Tag {
            product: get("product"),
            category: get("category"),
            service: get("service"),
        };
        if tag != engine::Tag::default() {
            let logs = engine::Logsources::builtin().event_logs(&tag);
            if logs.is_empty() {
                push(EventRow {
                    kind: "Sigma logsource".into(),
                    value: tag.to_string(),
                    detail: "no Windows event log mapping".into(),
                    from: "logsource".into(),
                });
            }
            for (channel, ids, condition) in logs {
                let mut detail = match ids.as_slice() {
                    [] => "every event".to_string(),
                    [one] => format!("event id {one}"),
                    many => format!(
                        "event ids {}",
                        many.iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                if let Some(c) = condition {
                    detail.push_str(&format!(" where {c}"));
                }
                push(EventRow {
                    kind: "Windows event log".into(),
                    value: channel,
                    detail,
                    from: format!("logsource {tag} → data/logsources/windows.tsv"),
                });
            }
        }
    } else {
        for (k, v) in ds {
            let kind = match k.as_str() {
                "data_source" => "data source",
                "datamodel" => "data model",
                "table" => "table",
                "event" => "ActionType",
                "index" => "index pattern",
                "integration" => "integration",
                _ => continue,
            };
            push(EventRow {
                kind: kind.into(),
                value: v.clone(),
                detail: String::new(),
                from: k.clone(),
            });
        }
    }
    for (field, kind, values) in tests {
        let Some(field) = field else { continue };
        let lower = field.to_ascii_lowercase();
        if kind != ir::Kind::Eq || !EVENT_FIELDS.contains(&lower.as_str()) {
            continue;
        }
        for v in values {
            push(EventRow {
                kind: field.to_string(),
                value: v.written.clone(),
                detail: String::new(),
                from: format!("the rule's test {field} == {:?}", v.written),
            });
        }
    }
    rows
}
