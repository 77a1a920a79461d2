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

    /// The detections of one correlation within each group, evaluated once every event has
    /// been seen.
    fn evaluate(&self, index: usize, by_group: Groups) -> Vec<CorrelationHit> {
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
                        events: window.iter().map(|w| w.3.clone()).collect(),
                    });
                    break; // one hit per group
                }
            }
        }
        out
    }

    /// The correlation a Sigma 1 aggregation means, over the detections of its own rule
    /// (`rule`, index `index`): `count() by X > N` is an event count per X, `count(F) by X >
    /// N` a count of distinct F per X; `timeframe` is the timespan (none: the whole input).
    pub(crate) fn from_aggregation(
        index: usize,
        rule: &crate::Rule,
        text: &str,
        timeframe: Option<&str>,
    ) -> Result<Correlation, String> {
        let agg = Aggregation::parse(text)?;
        let timespan_ms = match timeframe {
            Some(t) => {
                timespan_ms(t).ok_or_else(|| format!("timeframe {t:?} is not understood"))?
            }
            None => i64::MAX,
        };
        Ok(Correlation {
            path: rule.path.clone(),
            id: rule.id.clone(),
            title: rule.title.clone(),
            level: rule.level.clone(),
            kind: if agg.field.is_some() {
                Kind::ValueCount
            } else {
                Kind::EventCount
            },
            rules: vec![index],
            group_by: agg.group_by.into_iter().collect(),
            aliases: BTreeMap::new(),
            timespan_ms,
            condition: vec![(agg.op, agg.value)],
            field: agg.field,
        })
    }
}

/// A Sigma 1 aggregation: `count([field]) [by group] op number`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Aggregation {
    field: Option<String>,
    group_by: Option<String>,
    op: String,
    value: f64,
}

impl Aggregation {
    pub(crate) fn parse(text: &str) -> Result<Aggregation, String> {
        let t = text.trim().trim_start_matches('|').trim();
        let unsupported = || {
            format!(
                "the Sigma 1 aggregation `| {t}` is not evaluated (only `count([field]) [by field] <op> number` is)"
            )
        };
        let rest = t
            .strip_prefix("count")
            .ok_or_else(unsupported)?
            .trim_start();
        let rest = rest.strip_prefix('(').ok_or_else(unsupported)?;
        let (field, rest) = rest.split_once(')').ok_or_else(unsupported)?;
        let field = Some(field.trim().to_string()).filter(|f| !f.is_empty());
        let mut rest = rest.trim();
        let mut group_by = None;
        if let Some(r) = rest.strip_prefix("by ") {
            let r = r.trim_start();
            let end = r
                .find(|c: char| c.is_whitespace() || "<>=!".contains(c))
                .ok_or_else(unsupported)?;
            group_by = Some(r[..end].to_string());
            rest = r[end..].trim();
        }
        let (op, num) = [
            (">=", "gte"),
            ("<=", "lte"),
            ("==", "eq"),
            ("!=", "neq"),
            (">", "gt"),
            ("<", "lt"),
            ("=", "eq"),
        ]
        .iter()
        .find_map(|(sym, op)| rest.strip_prefix(sym).map(|n| (op.to_string(), n.trim())))
        .ok_or_else(unsupported)?;
        let num = num.split_whitespace().next().unwrap_or("");
        let value = num.parse::<f64>().map_err(|_| unsupported())?;
        Ok(Aggregation {
            field,
            group_by,
            op,
            value,
        })
    }
}

/// Correlation state built while events are read: per correlation and group, the detections
/// of its rules (time, rule, the aggregated field's value, the event's origin) — only those,
/// never the events — evaluated by [`Correlator::finish`].
#[derive(Debug, Default)]
pub struct Correlator {
    groups: Vec<Groups>,
}

impl Correlator {
    /// Record the detections of one event (`hits`: the rules it fired).
    pub fn observe(&mut self, set: &crate::Ruleset, ev: &Event, hits: &[usize]) {
        if set.correlations.is_empty() || hits.is_empty() {
            return;
        }
        self.groups
            .resize_with(set.correlations.len(), BTreeMap::new);
        let mut time = None;
        for (c, corr) in set.correlations.iter().enumerate() {
            for &r in hits {
                if !corr.rules.contains(&r) {
                    continue;
                }
                let Some(t) = *time.get_or_insert_with(|| event_time_ms(ev)) else {
                    return; // an event without a time takes no part
                };
                let group: Option<Vec<(String, String)>> = (corr.group_by.iter())
                    .map(|f| Some((f.clone(), corr.value(f, r, ev)?)))
                    .collect();
                let Some(group) = group else { continue };
                let value = corr.field.as_ref().and_then(|f| corr.value(f, r, ev));
                self.groups[c]
                    .entry(group)
                    .or_default()
                    .push((t, r, value, ev.origin.clone()));
            }
        }
    }

    /// The correlations that fire over everything observed.
    pub fn finish(self, set: &crate::Ruleset) -> Vec<CorrelationHit> {
        let mut out = vec![];
        for (c, groups) in self.groups.into_iter().enumerate() {
            out.extend(set.correlations[c].evaluate(c, groups));
        }
        out
    }
}

/// The detections of one correlation, per group-by values.
type Groups = BTreeMap<Vec<(String, String)>, Vec<Item>>;

/// One detection of a correlated rule: (time, rule, value of the aggregated field, event origin).
type Item = (i64, usize, Option<String>, String);

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

    #[test]
    fn sigma1_aggregations() {
        let a = Aggregation::parse("| count(Computer) by IpAddress > 20 ").unwrap();
        assert_eq!(a.field.as_deref(), Some("Computer"));
        assert_eq!(a.group_by.as_deref(), Some("IpAddress"));
        assert_eq!((a.op.as_str(), a.value), ("gt", 20.0));
        let a = Aggregation::parse("count() by ScriptBlockId>=3").unwrap();
        assert_eq!(
            (a.field, a.group_by.as_deref(), a.op.as_str()),
            (None, Some("ScriptBlockId"), "gte")
        );
        let a = Aggregation::parse("count(Computer) > 30").unwrap();
        assert_eq!(a.group_by, None);
        assert!(Aggregation::parse("near a and b").is_err());
        assert!(Aggregation::parse("max(x) by y > 3").is_err());
        assert!(Aggregation::parse("count() by y > many").is_err());
    }
}
