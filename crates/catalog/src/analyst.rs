//! What an analyst reads before hunting with a rule: a hunt hypothesis, false-positive
//! guidance and a confidence, each derived from the rule's own parts with the reason shown
//! (`why`), never written by hand. The CLI, the JSON and the web page render this one
//! structure, part of the [`crate::Report`].

use crate::report::{Indicator, Report};
use crate::translate::Status;
use serde::Serialize;

/// The analyst sections of a rule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Analyst {
    pub hypothesis: Section,
    pub false_positives: Section,
    pub confidence: Confidence,
}

/// A short text, the points behind it and where each came from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Section {
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<String>,
    pub why: Vec<String>,
}

/// `high`, `medium` or `low`, from a score the factors in `why` add up to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Confidence {
    pub level: &'static str,
    pub score: i32,
    pub why: Vec<String>,
}

/// An indicator value seen in at least this many live rules of the catalog is common: on its
/// own it says little.
pub const COMMON: usize = 20;
/// How many indicators the hypothesis names, rarest first.
const EVIDENCE: usize = 5;

/// One indicator value as text: `CommandLine contains "x"`.
fn indicator_text(i: &Indicator, value: &str) -> String {
    let field = i.field.as_deref().unwrap_or("(keyword)");
    let mut s = format!("{field} {} \"{value}\"", i.kind.as_str());
    for t in &i.transforms {
        s.push_str(&format!(" [{t}]"));
    }
    s
}

/// The analyst sections of a report (built from everything else the report holds).
pub fn derive(r: &Report) -> Analyst {
    Analyst {
        hypothesis: hypothesis(r),
        false_positives: false_positives(r),
        confidence: confidence(r),
    }
}

fn hypothesis(r: &Report) -> Section {
    let mut why = Vec::new();
    let mut text = String::new();
    // Techniques named, with their tactics, as ATT&CK names them.
    let mut techniques: Vec<String> = Vec::new();
    let mut tactics: Vec<&str> = Vec::new();
    let attack = crate::attack::Attack::builtin();
    for row in &r.techniques {
        // A technique whose sub-technique the rule also names is said by the sub-technique.
        let prefix = format!("{}.", row.technique);
        if r.techniques
            .iter()
            .any(|o| o.technique.starts_with(&prefix))
        {
            if !tactics.contains(&row.tactic.as_str()) {
                tactics.push(&row.tactic);
            }
            continue;
        }
        // A sub-technique under its technique's name, as ATT&CK titles it.
        let parent = attack
            .technique(&row.technique)
            .and_then(|t| t.parent())
            .and_then(|p| attack.technique(p));
        let t = match parent {
            Some(p) => format!("{}: {} ({})", p.name, row.name, row.technique),
            None => format!("{} ({})", row.name, row.technique),
        };
        if !techniques.contains(&t) {
            techniques.push(t);
        }
        if !tactics.contains(&row.tactic.as_str()) {
            tactics.push(&row.tactic);
        }
    }
    if !techniques.is_empty() {
        text.push_str(&format!(
            "An adversary uses {} for {}.",
            techniques.join(", "),
            tactics.join(", ").to_lowercase()
        ));
        why.push(format!(
            "technique: the rule's ATT&CK ids ({}), named from the ATT&CK tables",
            r.attack.join(", ")
        ));
    } else if !r.attack.is_empty() {
        why.push(format!(
            "technique: the ids {} are not in the ATT&CK tables",
            r.attack.join(", ")
        ));
    }
    let description = r.meta.description.trim();
    if !description.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&first_sentences(description, 400));
        why.push("description: the rule's own description".into());
    } else if text.is_empty() {
        text = format!("Events matching \"{}\".", r.title.trim());
        why.push("title: the rule has no description and no ATT&CK id".into());
    }
    // The tests the rule needs, rarest in the catalog first: the most telling evidence.
    let mut evidence: Vec<(usize, String)> = Vec::new();
    for i in &r.indicators {
        for (v, c) in i.values.iter().zip(&i.corpus) {
            evidence.push((c.total, indicator_text(i, &v.written)));
        }
    }
    let all = evidence.len();
    evidence.sort_by_key(|(n, _)| *n);
    let points: Vec<String> = evidence
        .into_iter()
        .take(EVIDENCE)
        .map(|(n, s)| match n {
            0 | 1 => format!("{s} (this rule only)"),
            n => format!("{s} ({n} rules)"),
        })
        .collect();
    if !points.is_empty() {
        why.push(format!(
            "evidence: {} of the rule's {all} indicator values (tests every match holds), fewest rules in the catalog first",
            points.len()
        ));
    }
    Section { text, points, why }
}

/// The first sentences of a text, up to about `max` characters.
fn first_sentences(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        return s;
    }
    let mut out = String::new();
    for sentence in s.split_inclusive(". ") {
        if !out.is_empty() && out.chars().count() + sentence.chars().count() > max {
            break;
        }
        out.push_str(sentence);
    }
    if out.chars().count() > max {
        out = out.chars().take(max).collect::<String>() + "…";
    }
    out.trim_end().to_string()
}

/// Whether an author's false-positive entry says nothing (`Unknown`, `None`, `-`).
fn says_nothing(fp: &str) -> bool {
    matches!(
        fp.trim()
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .as_str(),
        "" | "unknown" | "none" | "n/a" | "-" | "none known" | "unlikely"
    )
}

fn false_positives(r: &Report) -> Section {
    let mut points = Vec::new();
    let mut why = Vec::new();
    let stated: Vec<&String> = r
        .meta
        .false_positives
        .iter()
        .filter(|f| !says_nothing(f))
        .collect();
    for f in &stated {
        points.push(format!("The author expects: {}", f.trim()));
    }
    if !r.meta.false_positives.is_empty() {
        why.push(if stated.is_empty() {
            format!(
                "falsepositives: the author lists none known ({})",
                r.meta.false_positives.join(", ")
            )
        } else {
            format!(
                "falsepositives: {} entr{} of the rule",
                stated.len(),
                if stated.len() == 1 { "y" } else { "ies" }
            )
        });
    } else {
        why.push("falsepositives: the rule states none".into());
    }
    if !r.exclusions.is_empty() {
        let fields: Vec<String> = {
            let mut f: Vec<String> = r
                .exclusions
                .iter()
                .flat_map(|x| x.all.iter().filter_map(|row| row.field.clone()))
                .collect();
            f.sort();
            f.dedup();
            f
        };
        points.push(format!(
            "Already filtered out by the author: {} exclusion{}{}; benign activity not yet seen will resemble them.",
            r.exclusions.len(),
            if r.exclusions.len() == 1 { "" } else { "s" },
            if fields.is_empty() {
                String::new()
            } else {
                format!(" on {}", fields.join(", "))
            }
        ));
        why.push(format!(
            "exclusions: the rule's {} top-level NOT conjuncts",
            r.exclusions.len()
        ));
    }
    let mut common: Vec<(usize, String, usize)> = Vec::new();
    for i in &r.indicators {
        for (v, c) in i.values.iter().zip(&i.corpus) {
            if c.total >= COMMON {
                common.push((c.total, indicator_text(i, &v.written), c.by_source.len()));
            }
        }
    }
    common.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let n_common = common.len();
    for (n, s, sources) in common.into_iter().take(EVIDENCE) {
        points.push(format!(
            "{s} is common: {n} rules in {sources} source{} test it, so on its own it is not suspicious.",
            if sources == 1 { "" } else { "s" }
        ));
    }
    if n_common > 0 {
        why.push(format!(
            "corpus counts: {n_common} indicator value{} tested by {COMMON} or more live rules of the catalog",
            if n_common == 1 { "" } else { "s" }
        ));
    }
    if let Some(l) = r.level
        && matches!(l.to_ascii_lowercase().as_str(), "low" | "informational")
    {
        points.push(format!(
            "Level {l}: meant for hunting or correlation, expect benign matches."
        ));
        why.push(format!("level: {l}"));
    }
    let text = match (stated.is_empty(), r.exclusions.is_empty(), n_common) {
        (true, true, 0) => {
            "No false positives are stated, filtered or suggested by the catalog: baseline the rule on your data before alerting.".into()
        }
        (true, _, _) => "The author states no false positives; the points below come from what the rule filters and how common its indicators are.".into(),
        (false, _, _) => format!(
            "{} false-positive case{} stated by the author, and what the rule's filters and the catalog say.",
            stated.len(),
            if stated.len() == 1 { "" } else { "s" }
        ),
    };
    Section { text, points, why }
}

fn confidence(r: &Report) -> Confidence {
    let mut score = 0;
    let mut why = Vec::new();
    let mut add = |n: i32, reason: String| {
        score += n;
        why.push(format!("{n:+}: {reason}"));
    };
    if let Some(retired) = r.meta.retired {
        add(-3, format!("the rule is retired ({})", retired.as_str()));
    }
    match r.status.map(str::to_ascii_lowercase).as_deref() {
        Some(s @ ("stable" | "production")) => add(2, format!("status {s}")),
        Some(s @ "test") => add(1, format!("status {s}")),
        Some(s @ "experimental") => add(0, format!("status {s}")),
        Some(s) => add(0, format!("status {s}")),
        None => add(0, "no status".into()),
    }
    match r.level.map(str::to_ascii_lowercase).as_deref() {
        Some(l @ ("high" | "critical")) => add(
            1,
            format!("level {l}: the author expects few benign matches"),
        ),
        Some(l @ ("low" | "informational")) => {
            add(-1, format!("level {l}: the author expects benign matches"))
        }
        Some(l) => add(0, format!("level {l}")),
        None => add(0, "no level".into()),
    }
    match &r.origin {
        Some(o) => add(0, format!("source {} ({})", r.source, o.label)),
        None => add(0, format!("source {}", r.source)),
    }
    if r.exclusions.is_empty() {
        add(0, "no exclusions: the rule is not tuned".into());
    } else {
        add(
            1,
            format!(
                "{} exclusion{}: the author tuned out known benign activity",
                r.exclusions.len(),
                if r.exclusions.len() == 1 { "" } else { "s" }
            ),
        );
    }
    if !r.translations.is_empty() {
        let failed: Vec<&str> = r
            .translations
            .iter()
            .filter(|t| t.status != Status::Ok)
            .map(|t| t.target)
            .collect();
        if failed.is_empty() {
            add(0, "translates to every target".into());
        } else if failed.len() == r.translations.len() {
            add(
                -1,
                format!("translates to no target ({})", failed.join(", ")),
            );
        } else {
            add(0, format!("not translated to {}", failed.join(", ")));
        }
    }
    let level = match score {
        3.. => "high",
        1..=2 => "medium",
        _ => "low",
    };
    Confidence { level, score, why }
}
