//! Splunk detections state a risk score, not a severity: the severity is derived from the
//! score as Splunk's own build tool (contentctl) derives it, through `data/splunk/severity.tsv`.

use ir::{Format, Rule};
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../../data/splunk/severity.tsv");

/// (highest score, severity), ascending.
fn table() -> &'static [(i64, String)] {
    static T: OnceLock<Vec<(i64, String)>> = OnceLock::new();
    T.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (n, s) = l.split_once('\t')?;
                Some((n.trim().parse().ok()?, s.trim().to_string()))
            })
            .collect()
    })
}

/// The severity of a risk score (0–100); `None` outside that range.
pub fn of_score(score: i64) -> Option<&'static str> {
    if score < 0 {
        return None;
    }
    table()
        .iter()
        .find(|(max, _)| score <= *max)
        .map(|(_, s)| s.as_str())
}

/// The table as text: `0–20 informational, 21–40 low, …`.
fn ranges() -> String {
    let mut low = 0;
    let mut out = Vec::new();
    for (max, s) in table() {
        out.push(format!("{low}–{max} {s}"));
        low = max + 1;
    }
    out.join(", ")
}

/// The risk score a Splunk rule states: `risk_score` (from its tags, risk objects or finding
/// entities, as the reader keeps it), else round(confidence × impact / 100).
fn score(rule: &Rule) -> Option<i64> {
    let get = |k: &str| rule.meta.custom.get(k)?.trim().parse::<i64>().ok();
    get("risk_score").or_else(|| {
        let (c, i) = (get("confidence")?, get("impact")?);
        Some((c * i + 50) / 100)
    })
}

/// Give a Splunk rule without a level the severity of its risk score, and say so in its
/// metadata (`severity_from`).
pub fn derive(rule: &mut Rule) {
    if rule.format != Format::Splunk || rule.meta.level.is_some() {
        return;
    }
    let Some(score) = score(rule) else { return };
    if let Some(level) = of_score(score) {
        rule.meta.level = Some(level.to_string());
        rule.meta.custom.insert(
            "severity_from".into(),
            format!(
                "risk score {score} (Splunk contentctl's ranges: {})",
                ranges()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contentctl_ranges() {
        assert_eq!(of_score(0), Some("informational"));
        assert_eq!(of_score(20), Some("informational"));
        assert_eq!(of_score(21), Some("low"));
        assert_eq!(of_score(50), Some("medium"));
        assert_eq!(of_score(64), Some("high"));
        assert_eq!(of_score(100), Some("critical"));
        assert_eq!(of_score(101), None);
        assert_eq!(of_score(-1), None);
        assert_eq!(
            ranges(),
            "0–20 informational, 21–40 low, 41–60 medium, 61–80 high, 81–100 critical"
        );
    }
}
