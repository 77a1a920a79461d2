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
