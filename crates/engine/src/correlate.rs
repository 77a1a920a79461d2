//! Sigma correlations over the detections of a set of events: `event_count`, `value_count`,
//! `temporal` and `temporal_ordered`, each per `group-by` value within `timespan` (Sigma
//! specification, "Correlation rules").
//!
//! Events are placed in time by `TimeCreated_SystemTime` (Windows events) or `@timestamp` /
//! `timestamp` (RFC 3339, UTC); an event without a readable time takes no part in a correlation.

use crate::Event;
use std::collections::{BTreeMap, BTreeSet};

/// A compiled correlation.
#[derive(Debug)]
pub struct Correlation {
    pub path: String,
    pub id: Option<String>,
    pub title: String,
    pub level: Option<String>,
    kind: Kind,
    /// The correlated rules, as indexes into the ruleset's rules, in the order they are listed.
    rules: Vec<usize>,
    group_by: Vec<String>,
    /// Per alias: the field it stands for in each rule (rule index → field).
    aliases: BTreeMap<String, BTreeMap<usize, String>>,
    timespan_ms: i64,
    /// All must hold: (operator, number).
    condition: Vec<(String, f64)>,
    field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
}

/// A correlation that fired: the group, when, and how much.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationHit {
    /// Index into [`crate::Ruleset::correlations`].
    pub correlation: usize,
    /// The group-by values (field, value).
    pub group: Vec<(String, String)>,
    /// The window's first and last event (milliseconds since the epoch).
    pub first_ms: i64,
    pub last_ms: i64,
    /// Events (event_count, temporal) or distinct values (value_count) in the window.
    pub count: usize,
    /// The events of the window (their `origin`).
    pub events: Vec<String>,
}

impl Correlation {
    /// Compile a correlation document; `find` resolves a rule reference (id or name) to rule
    /// indexes.
    pub(crate) fn compile(
        doc: &sigma::Document,
        path: &str,
        find: &dyn Fn(&str) -> Vec<usize>,
    ) -> Result<Correlation, String> {
        let c = doc
            .correlation
            .as_ref()
            .ok_or("the document has no correlation")?;
        let kind = match c.kind.as_str() {
            "event_count" => Kind::EventCount,
            "value_count" => Kind::ValueCount,
            "temporal" => Kind::Temporal,
            "temporal_ordered" => Kind::TemporalOrdered,
            other => return Err(format!("correlation type `{other}` is not evaluated yet")),
        };
        let mut rules = vec![];
        for r in &doc.rules {
            let found = find(r);
            if found.is_empty() {
                return Err(format!(
                    "correlated rule `{r}` is not among the compiled rules"
                ));
            }
            rules.extend(found);
        }
        let timespan_ms = timespan_ms(c.timespan.as_deref().unwrap_or(""))
            .ok_or_else(|| format!("timespan {:?} is not understood", c.timespan))?;
        let condition = c
            .condition
            .iter()
            .map(|(op, n)| {
                Ok((
                    op.clone(),
                    n.parse::<f64>()
                        .map_err(|_| format!("{n} is not a number"))?,
                ))
            })
            .collect::<Result<_, String>>()?;
        let mut aliases = BTreeMap::new();
        for (alias, per_rule) in &c.aliases {
            let mut m = BTreeMap::new();
            for (r, field) in per_rule {
                for i in find(r) {
                    m.insert(i, field.clone());
                }
            }
            aliases.insert(alias.clone(), m);
        }
        Ok(Correlation {
            path: path.to_string(),
            id: doc.meta.id.clone(),
            title: doc.meta.title.clone(),
            level: doc.meta.level.clone(),
            kind,
            rules,
            group_by: c.group_by.clone(),
            aliases,
            timespan_ms,
            condition,
            field: c.field.first().cloned(),
        })
    }

    /// The value of a group-by field (or alias) for a rule's event.
    fn value(&self, field: &str, rule: usize, ev: &Event) -> Option<String> {
        let name = self
            .aliases
            .get(field)
            .and_then(|m| m.get(&rule))
            .map_or(field, String::as_str);
        ev.get(name)
            .first()
            .and_then(|(v, _)| v.text().map(str::to_string))
    }

    fn holds(&self, n: usize) -> bool {
        let n = n as f64;
        self.condition.iter().all(|(op, x)| match op.as_str() {
            "gt" => n > *x,
            "gte" => n >= *x,
            "lt" => n < *x,
            "lte" => n <= *x,
            "eq" => n == *x,
            _ => n != *x, // neq
        })
    }

    /// Evaluate over events and the rules each fired (`hits[i]`: rule indexes for `events[i]`).
    pub(crate) fn evaluate(
        &self,
        index: usize,
        events: &[Event],
        hits: &[Vec<usize>],
    ) -> Vec<CorrelationHit> {
        let mut by_group: BTreeMap<Vec<(String, String)>, Vec<Item>> = BTreeMap::new();
        for (e, ev) in events.iter().enumerate() {
            let Some(t) = event_time_ms(ev) else { continue };
            for &r in &hits[e] {
                if !self.rules.contains(&r) {
                    continue;
                }
                let group: Option<Vec<(String, String)>> = self
                    .group_by
                    .iter()
                    .map(|f| Some((f.clone(), self.value(f, r, ev)?)))
                    .collect();
                let Some(group) = group else { continue };
                let value = self.field.as_ref().and_then(|f| self.value(f, r, ev));
                by_group.entry(group).or_default().push((t, r, value, e));
            }
        }
        let mut out = vec![];
        for (group, mut items) in by_group {
            items.sort_by_key(|(t, ..)| *t);
            // The first window (starting at each event in turn) in which the condition holds.
            for start in 0..items.len() {
                let end = items.partition_point(|(t, ..)| {
                    *t <= items[start].0.saturating_add(self.timespan_ms)
                });
                let window = &items[start..end];
                let count = match self.kind {
                    Kind::EventCount => self.holds(window.len()).then_some(window.len()),
                    Kind::ValueCount => {
                        let distinct: BTreeSet<&str> =
                            window.iter().filter_map(|w| w.2.as_deref()).collect();
                        self.holds(distinct.len()).then_some(distinct.len())
                    }
                    Kind::Temporal => {
                        let seen: BTreeSet<usize> = window.iter().map(|w| w.1).collect();
                        let all = self.rules.iter().all(|r| seen.contains(r));
                        all.then_some(window.len())
                    }
                    Kind::TemporalOrdered => {
                        // each listed rule after the previous one
                        let mut next = 0;
                        for w in window {
                            if next < self.rules.len() && w.1 == self.rules[next] {
                                next += 1;
                            }
                        }
                        (next == self.rules.len()).then_some(window.len())
                    }
                };
                if let Some(count) = count {
                    out.push(CorrelationHit {
                        correlation: index,
                        group: group.clone(),
                        first_ms: window[0].0,
                        last_ms: window[window.len() - 1].0,
                        count,
                        events: window.iter().map(|w| events[w.3].origin.clone()).collect(),
                    });
                    break; // one hit per group
                }
            }
        }
        out
    }
}

/// One detection of a correlated rule: (time, rule, value of the aggregated field, event).
type Item = (i64, usize, Option<String>, usize);

/// `30s`, `5m`, `1h`, `2d`, `1w` in milliseconds (months and years are not fixed lengths).
fn timespan_ms(t: &str) -> Option<i64> {
    let (num, unit) = t.trim().split_at(t.trim().len().checked_sub(1)?);
    let n: i64 = num.parse().ok()?;
    let unit = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// The event's time in milliseconds since the epoch, from `TimeCreated_SystemTime`,
/// `@timestamp` or `timestamp` (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`).
pub fn event_time_ms(ev: &Event) -> Option<i64> {
    ["TimeCreated_SystemTime", "@timestamp", "timestamp"]
        .iter()
        .find_map(|f| {
            ev.get(f)
                .first()
                .and_then(|(v, _)| v.text())
                .and_then(parse_time)
        })
}

/// RFC 3339 (`2025-11-27T07:40:10.165324Z`, any offset), or a date and time without an offset
/// read as UTC (`2024-02-29 12:00:00`).
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let t = s.parse::<jiff::Timestamp>().ok().or_else(|| {
        let dt = s.parse::<jiff::civil::DateTime>().ok()?;
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })?;
    Some(t.as_millisecond())
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_time_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|_| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_timespans() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("1970-01-02T00:00:01.5Z"), Some(86_401_500));
        assert_eq!(
            parse_time("2025-11-27T07:40:10.165324Z"),
            Some(1_764_229_210_165)
        );
        assert_eq!(parse_time("2024-02-29 12:00:00"), Some(1_709_208_000_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-13-01T00:00:00Z"), None);
        for t in [
            "1970-01-01T00:00:00.000Z",
            "2024-02-29T12:00:00.250Z",
            "2025-11-27T07:40:10.165Z",
        ] {
            assert_eq!(format_time_ms(parse_time(t).unwrap()), t);
        }
        assert_eq!(timespan_ms("5m"), Some(300_000));
        assert_eq!(timespan_ms("1h"), Some(3_600_000));
        assert_eq!(timespan_ms("1M"), None);
        assert_eq!(timespan_ms(""), None);
    }
}
