//! A coverage view as an ATT&CK Navigator layer (layer format 4.5): each covered technique
//! and sub-technique under each of its tactics, scored by its rule count, the counts per
//! source as the comment. Navigator opens the file as it is (`Open Existing Layer`).

use crate::attack::Attack;
use crate::coverage::{Coverage, TechniqueCoverage};
use serde::Serialize;

/// The layer format written.
pub const LAYER_FORMAT: &str = "4.5";
/// The Navigator release whose layer format that is.
const NAVIGATOR: &str = "5.1.0";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub name: String,
    pub versions: Versions,
    pub domain: &'static str,
    pub description: String,
    pub sorting: u8,
    pub layout: Layout,
    pub hide_disabled: bool,
    pub techniques: Vec<LayerTechnique>,
    pub gradient: Gradient,
    pub legend_items: Vec<LegendItem>,
    pub metadata: Vec<Metadata>,
    pub show_tactic_row_background: bool,
    pub select_techniques_across_tactics: bool,
    pub select_subtechniques_with_parent: bool,
    pub select_visible_techniques: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub attack: String,
    pub navigator: &'static str,
    pub layer: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub layout: &'static str,
    pub aggregate_function: &'static str,
    #[serde(rename = "showID")]
    pub show_id: bool,
    pub show_name: bool,
    pub show_aggregate_scores: bool,
    pub count_unscored: bool,
    pub expanded_subtechniques: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerTechnique {
    #[serde(rename = "techniqueID")]
    pub technique_id: String,
    pub tactic: String,
    pub score: usize,
    pub comment: String,
    pub enabled: bool,
    pub metadata: Vec<Metadata>,
    pub show_subtechniques: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gradient {
    pub colors: Vec<&'static str>,
    pub min_value: usize,
    pub max_value: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegendItem {
    pub label: String,
    pub color: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub name: String,
    pub value: String,
}

fn by_source(t: &TechniqueCoverage) -> String {
    t.by_source
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The layer of a coverage view; `scope` says which rules it counts (`all sources`,
/// `source sigma`), for the layer's name and description.
pub fn layer(c: &Coverage, scope: &str) -> Layer {
    let mut techniques = Vec::new();
    let mut max = 0;
    for tactic in &c.tactics {
        for t in &tactic.techniques {
            let covered_subs = t.subtechniques.iter().any(|s| s.rules > 0);
            for (x, show_subs) in
                std::iter::once((t, covered_subs)).chain(t.subtechniques.iter().map(|s| (s, false)))
            {
                if x.rules == 0 {
                    continue;
                }
                max = max.max(x.rules);
                techniques.push(LayerTechnique {
                    technique_id: x.id.to_string(),
                    tactic: tactic.shortname.to_string(),
                    score: x.rules,
                    comment: format!(
                        "{} rule{}: {}",
                        x.rules,
                        if x.rules == 1 { "" } else { "s" },
                        by_source(x)
                    ),
                    enabled: true,
                    metadata: x
                        .by_source
                        .iter()
                        .map(|(s, n)| Metadata {
                            name: (*s).to_string(),
                            value: n.to_string(),
                        })
                        .collect(),
                    show_subtechniques: show_subs,
                });
            }
        }
    }
    let version = Attack::version();
    Layer {
        name: format!("detdex coverage ({scope})"),
        versions: Versions {
            attack: version.split('.').next().unwrap_or(version).to_string(),
            navigator: NAVIGATOR,
            layer: LAYER_FORMAT,
        },
        domain: "enterprise-attack",
        description: format!(
            "{} rules ({} mapped to an active technique); {} of {} techniques covered. Score: rules mapped to the technique or one of its sub-techniques.",
            c.rules, c.mapped_rules, c.techniques_covered, c.techniques_total
        ),
        sorting: 3,
        layout: Layout {
            layout: "side",
            aggregate_function: "average",
            show_id: true,
            show_name: true,
            show_aggregate_scores: false,
            count_unscored: false,
            expanded_subtechniques: "annotated",
        },
        hide_disabled: false,
        techniques,
        gradient: Gradient {
            colors: vec!["#e8f1fb", "#1f6feb"],
            min_value: 0,
            max_value: max.max(1),
        },
        legend_items: vec![LegendItem {
            label: format!("most rules: {max}"),
            color: "#1f6feb",
        }],
        metadata: vec![
            Metadata {
                name: "generated by".into(),
                value: "detdex".into(),
            },
            Metadata {
                name: "scope".into(),
                value: scope.into(),
            },
            Metadata {
                name: "ATT&CK tables".into(),
                value: format!("Enterprise {version}"),
            },
        ],
        show_tactic_row_background: false,
        select_techniques_across_tactics: true,
        select_subtechniques_with_parent: false,
        select_visible_techniques: false,
    }
}

/// How a layer names its scope: `all sources`, `source sigma, language spl`, `… with retired`.
pub fn scope_text(scope: crate::Scope) -> String {
    let mut parts = Vec::new();
    if !scope.source.is_empty() {
        parts.push(format!("source {}", scope.source));
    }
    if !scope.language.is_empty() {
        parts.push(format!("language {}", scope.language));
    }
    if parts.is_empty() {
        parts.push("all sources".into());
    }
    if scope.retired {
        parts.push("retired rules included".into());
    }
    parts.join(", ")
}

/// What a layer someone else made says against the catalog's coverage ("what my rules cover
/// vs this catalog"): each ATT&CK technique or sub-technique marked in the layer, covered by
/// the catalog's rules, or both.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The layer's `name`.
    pub layer: String,
    /// The catalog's rules counted (the coverage's scope, as [`scope_text`] writes it).
    pub scope: String,
    /// Marked in the layer and covered by the catalog.
    pub both: Vec<CompareRow>,
    /// Marked in the layer only: what the layer's owner covers and these rules do not.
    pub only_layer: Vec<CompareRow>,
    /// Covered by the catalog only: what these rules would add to the layer's owner.
    pub only_catalog: Vec<CompareRow>,
    /// Entries of the layer that count nowhere, each with why (an unknown, deprecated or
    /// revoked id, a disabled or zero-score entry, a malformed entry).
    pub not_counted: Vec<NotCounted>,
}

/// One technique or sub-technique of a [`Comparison`], in ATT&CK's id order.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    pub id: String,
    pub name: String,
    /// The highest score the layer gives it (absent: marked without a score, or not marked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_score: Option<f64>,
    /// The catalog's rules mapped to it (its sub-techniques included, as the coverage counts).
    pub rules: usize,
}

/// An entry of the layer that counts nowhere.
#[derive(Debug, Clone, Serialize)]
pub struct NotCounted {
    /// The entry's position in the layer's `techniques` (from 0).
    pub entry: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub why: String,
}

/// A layer too far from the layer format to compare: the reason, with the line and column of
/// a JSON syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerError(pub String);

impl std::fmt::Display for LayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Compare the layer `json` (an ATT&CK Navigator layer, format 4.x, or a list holding one)
/// with the coverage `c` of the catalog. A technique is marked in the layer when an entry names it, is not disabled
/// (`"enabled": false`) and has no score or a score above 0; as in the coverage, a marked
/// sub-technique also marks its parent. Ids the ATT&CK tables do not know, or that ATT&CK
/// deprecated or revoked, are listed in `not_counted`. A layer of another domain than
/// Enterprise ATT&CK, or without a `techniques` list, is an error.
pub fn compare(json: &str, c: &Coverage, scope: &str) -> Result<Comparison, LayerError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        LayerError(format!(
            "not a JSON layer: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    // Navigator also saves every open layer into one file, as a list.
    let value = match value {
        serde_json::Value::Array(mut layers) if layers.len() == 1 => layers.remove(0),
        serde_json::Value::Array(layers) => {
            return Err(LayerError(format!(
                "a file of {} layers: compare one layer at a time",
                layers.len()
            )));
        }
        v => v,
    };
    let Some(obj) = value.as_object() else {
        return Err(LayerError("not a layer: the JSON is not an object".into()));
    };
    if let Some(domain) = obj.get("domain") {
        match domain.as_str() {
            Some("enterprise-attack") => {}
            Some(d) => {
                return Err(LayerError(format!(
                    "a layer of `{d}`: detdex's tables are Enterprise ATT&CK (`enterprise-attack`)"
                )));
            }
            None => return Err(LayerError("`domain` is not a string".into())),
        }
    }
    let Some(entries) = obj.get("techniques").and_then(|t| t.as_array()) else {
        return Err(LayerError(
            "not a layer: no `techniques` list (ATT&CK Navigator layer format 4.x)".into(),
        ));
    };
    let attack = Attack::builtin();
    let mut marked: std::collections::BTreeMap<String, Option<f64>> = Default::default();
    let mut not_counted = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let mut skip = |id: Option<&str>, why: String| {
            not_counted.push(NotCounted {
                entry: i,
                id: id.map(str::to_string),
                why,
            });
        };
        let Some(id) = e.get("techniqueID").and_then(|v| v.as_str()) else {
            skip(None, "no `techniqueID` string".into());
            continue;
        };
        let id = id.trim().to_ascii_uppercase();
        let score = match e.get("score") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(s) => Some(s),
                None => {
                    skip(Some(&id), format!("`score` is not a number: {v}"));
                    continue;
                }
            },
        };
        match e.get("enabled") {
            None | Some(serde_json::Value::Bool(true)) => {}
            Some(serde_json::Value::Bool(false)) => {
                skip(Some(&id), "disabled (`enabled: false`)".into());
                continue;
            }
            Some(v) => {
                skip(Some(&id), format!("`enabled` is not true or false: {v}"));
                continue;
            }
        }
        if score.is_some_and(|s| s <= 0.0) {
            skip(Some(&id), "score 0: not covered".into());
            continue;
        }
        let technique = match attack.technique(&id) {
            Some(t) if t.is_active() => t,
            Some(t) => {
                skip(
                    Some(&id),
                    format!("{} in ATT&CK {}", t.state, Attack::version()),
                );
                continue;
            }
            None => {
                skip(
                    Some(&id),
                    format!("not a technique of ATT&CK {}", Attack::version()),
                );
                continue;
            }
        };
        let parent = technique.parent().map(str::to_string);
        for key in std::iter::once(id.clone()).chain(parent) {
            let best = marked.entry(key).or_insert(None);
            if let Some(s) = score {
                *best = Some(best.map_or(s, |b: f64| b.max(s)));
            }
        }
    }
    // The catalog's side: every technique and sub-technique with rules, once (a technique
    // appears under each of its tactics).
    let mut covered: std::collections::BTreeMap<&str, (&str, usize)> = Default::default();
    for tactic in &c.tactics {
        for t in &tactic.techniques {
            for x in std::iter::once(t).chain(&t.subtechniques) {
                covered.insert(x.id, (x.name, x.rules));
            }
        }
    }
    let name = |id: &str| {
        attack
            .technique(id)
            .map_or_else(String::new, |t| t.name.clone())
    };
    let mut out = Comparison {
        layer: obj
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_string(),
        scope: scope.to_string(),
        both: Vec::new(),
        only_layer: Vec::new(),
        only_catalog: Vec::new(),
        not_counted,
    };
    for (id, score) in &marked {
        let rules = covered.get(id.as_str()).map_or(0, |(_, n)| *n);
        let row = CompareRow {
            id: id.clone(),
            name: name(id),
            layer_score: *score,
            rules,
        };
        if rules > 0 {
            out.both.push(row);
        } else {
            out.only_layer.push(row);
        }
    }
    for (id, (n, rules)) in covered {
        if rules > 0 && !marked.contains_key(id) {
            out.only_catalog.push(CompareRow {
                id: id.to_string(),
                name: n.to_string(),
                layer_score: None,
                rules,
            });
        }
    }
    let order = |r: &CompareRow| id_order(&r.id);
    for list in [&mut out.both, &mut out.only_layer, &mut out.only_catalog] {
        list.sort_by_key(order);
    }
    Ok(out)
}

/// `T1059.001` as (1059, 1) for sorting by number (`T1003` before `T1021`; `T1059` before
/// its sub-techniques).
fn id_order(id: &str) -> (u32, u32) {
    let digits = |s: &str| s.trim_start_matches('T').parse().unwrap_or(u32::MAX);
    match id.split_once('.') {
        Some((t, s)) => (digits(t), digits(s)),
        None => (digits(id), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::{Coverage, TacticCoverage, TechniqueCoverage};

    fn tech<'a>(
        id: &'a str,
        rules: usize,
        subs: Vec<TechniqueCoverage<'a>>,
    ) -> TechniqueCoverage<'a> {
        TechniqueCoverage {
            id,
            name: "",
            rules,
            by_source: Default::default(),
            subtechniques: subs,
        }
    }

    fn coverage<'a>(techniques: Vec<TechniqueCoverage<'a>>) -> Coverage<'a> {
        Coverage {
            rules: 3,
            retired_rules: 0,
            mapped_rules: 3,
            techniques_total: 0,
            techniques_covered: 0,
            tactics: vec![TacticCoverage {
                id: "TA0002",
                shortname: "execution",
                name: "Execution",
                techniques_total: 0,
                techniques_covered: 0,
                rules: 3,
                techniques,
            }],
            stale: Vec::new(),
        }
    }

    #[test]
    fn a_layer_against_a_coverage() {
        // The catalog: T1059 through T1059.001, and T1047.
        let c = coverage(vec![
            tech(
                "T1059",
                2,
                vec![tech("T1059.001", 2, vec![]), tech("T1059.003", 0, vec![])],
            ),
            tech("T1047", 1, vec![]),
            tech("T1203", 0, vec![]),
        ]);
        let layer = r##"{"name": "theirs", "domain": "enterprise-attack", "techniques": [
            {"techniqueID": "T1059.003", "tactic": "execution", "score": 4},
            {"techniqueID": "T1059.001", "score": 2, "enabled": true},
            {"techniqueID": "t1203", "color": "#ff0000"},
            {"techniqueID": "T1047", "score": 0},
            {"techniqueID": "T1569", "enabled": false},
            {"techniqueID": "T9999"},
            {"techniqueID": "T1086"},
            {"tactic": "execution"},
            {"techniqueID": "T1106", "score": "high"}
        ]}"##;
        let cmp = compare(layer, &c, "all sources").unwrap();
        fn ids(v: &[CompareRow]) -> Vec<&str> {
            v.iter().map(|r| r.id.as_str()).collect()
        }
        assert_eq!(cmp.layer, "theirs");
        // A marked sub-technique marks its parent too, with its best score.
        assert_eq!(ids(&cmp.both), ["T1059", "T1059.001"]);
        assert_eq!(cmp.both[0].layer_score, Some(4.0));
        assert_eq!(cmp.both[1].rules, 2);
        assert_eq!(ids(&cmp.only_layer), ["T1059.003", "T1203"]);
        assert_eq!(cmp.only_layer[1].layer_score, None);
        assert_eq!(cmp.only_layer[1].name, "Exploitation for Client Execution");
        assert_eq!(ids(&cmp.only_catalog), ["T1047"]);
        let why: Vec<(usize, &str)> = cmp
            .not_counted
            .iter()
            .map(|n| (n.entry, n.why.as_str()))
            .collect();
        assert_eq!(why.len(), 6, "{why:?}");
        assert!(why[0].1.contains("score 0"));
        assert!(why[1].1.contains("disabled"));
        assert!(why[2].1.starts_with("not a technique"));
        assert!(
            why[3].1.starts_with("revoked") || why[3].1.starts_with("deprecated"),
            "{why:?}"
        );
        assert_eq!(why[4], (7, "no `techniqueID` string"));
        assert!(why[5].1.contains("not a number"));
    }

    #[test]
    fn what_is_not_a_layer_says_why() {
        let c = coverage(Vec::new());
        let e = compare("{\"techniques\": [\n  {,}]}", &c, "").unwrap_err();
        assert!(e.0.contains("line 2, column 4"), "{e}");
        let e = compare("[]", &c, "").unwrap_err();
        assert!(e.0.contains("a file of 0 layers"), "{e}");
        let e = compare("3", &c, "").unwrap_err();
        assert!(e.0.contains("not an object"), "{e}");
        // A list of one layer, as Navigator saves all open layers, is that layer.
        let one = compare(
            "[{\"name\": \"a\", \"techniques\": [{\"techniqueID\": \"T1047\"}]}]",
            &c,
            "",
        );
        assert_eq!(one.unwrap().only_layer[0].id, "T1047");
        let e = compare("{\"name\": \"x\"}", &c, "").unwrap_err();
        assert!(e.0.contains("no `techniques`"), "{e}");
        let e = compare(
            "{\"domain\": \"mobile-attack\", \"techniques\": []}",
            &c,
            "",
        )
        .unwrap_err();
        assert!(e.0.contains("mobile-attack"), "{e}");
    }
}
