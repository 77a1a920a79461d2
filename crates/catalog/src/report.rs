//! What detdex shows of one rule: its metadata, ATT&CK mapping, stages, exclusions and
//! indicators, translations. The CLI's `show --format json`, the JSON API and the web page all render this.

use crate::attack::Attack;
use crate::translate::{DataSource, Translations, data_sources};
use crate::{Catalog, CorpusCount};
use ir::{Exclusion, Expr, Predicate, Rule};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    pub key: &'a str,
    pub title: &'a str,
    pub id: Option<&'a str>,
    pub source: &'a str,
    /// The rule's file within its source (`rules/windows/…yml`; `#N` for the N-th query of a
    /// file of several).
    pub path: &'a str,
    pub format: ir::Format,
    pub language: &'a str,
    pub kind: ir::RuleKind,
    pub level: Option<&'a str>,
    pub status: Option<&'a str>,
    pub meta: &'a ir::Meta,
    /// Technique ids, as the rule names them.
    pub attack: &'a [String],
    /// The techniques with their names and tactics; ids ATT&CK does not know are left out.
    pub techniques: Vec<AttackRow>,
    pub text: &'a str,
    pub stages: Vec<StageView<'a>>,
    /// What the rule's results are grouped by: the `by` fields of its last grouping stage.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub group_by: &'a [String],
    /// The same fields in the normalized names pages show (`Processes.process` →
    /// `command_line`, through the field concepts), sorted, each once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by_normalized: Vec<String>,
    pub exclusions: Vec<Exclusion>,
    pub indicators: Vec<Indicator>,
    /// The rules a filter or correlation applies to.
    pub links: Vec<LinkView<'a>>,
    /// The filters and correlations that apply to this rule.
    pub referenced_by: Vec<LinkView<'a>>,
    /// The rule in each conversion target (Sigma detection rules only): serialised as
    /// `translations` (`{target: query or null}`) and `translation_details`.
    #[serde(flatten)]
    pub translations: Translations,
    /// The tables the translations read ("Required Data Sources").
    pub required_data_sources: Vec<DataSource>,
    /// The repository and commit the rule was read from, when its source has an origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<RuleOrigin<'a>>,
    /// Hunt hypothesis, false-positive guidance and confidence, derived from the above
    /// ([`crate::analyst`]).
    pub analyst: crate::analyst::Analyst,
    /// The logs and events the rule reads ([`crate::events`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub event_coverage: Vec<crate::events::EventRow>,
    /// The rules sharing the most telling indicators ([`crate::related::similar`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub similar: Vec<crate::related::SimilarRule<'a>>,
    /// The Sigma `related:` entries with the rules they name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<crate::related::RelatedRule<'a>>,
    /// The analytic stories a Splunk detection names, each with whether the catalog has it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub analytic_stories: Vec<NamedStory<'a>>,
}

/// An analytic story a rule names; `found` when the catalog holds its file (it has a page).
#[derive(Debug, Clone, Serialize)]
pub struct NamedStory<'a> {
    pub name: &'a str,
    pub found: bool,
}

/// Where a rule came from ([`crate::Origin`]), with the address of its file there.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOrigin<'a> {
    pub label: &'a str,
    pub url: &'a str,
    pub commit: &'a str,
    pub retrieved_at: &'a str,
    /// `URL/blob/COMMIT/PATH`, for repositories served over http(s).
    pub file_url: Option<String>,
}

/// A reference to another rule: as written, and the rule it resolves to in the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView<'a> {
    pub reference: &'a str,
    pub key: Option<&'a str>,
    pub title: Option<&'a str>,
    pub kind: Option<ir::RuleKind>,
}

/// An indicator row with, for each value, how many rules of the catalog match it.
#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    pub field: Option<String>,
    pub kind: ir::Kind,
    pub values: Vec<ir::Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub case_sensitive: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<String>,
    /// One count per value, in the order of `values`.
    pub corpus: Vec<CorpusCount>,
}

/// One row of the ATT&CK table: a tactic and a technique under it.
#[derive(Debug, Clone, Serialize)]
pub struct AttackRow {
    pub tactic: String,
    pub technique: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageView<'a> {
    pub label: &'a str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub group_by: &'a [String],
    /// The stage's predicates, flattened in order (the tree is in `expr` of the IR).
    pub predicates: Vec<PredicateView<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PredicateView<'a> {
    pub field: Option<&'a str>,
    pub kind: ir::Kind,
    pub values: &'a [ir::Value],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub case_sensitive: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub transforms: &'a [String],
    /// True when the predicate sits under an odd number of negations within its stage.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
}

/// The report of `rule`, with corpus counts from `catalog`.
pub fn report<'a>(catalog: &'a Catalog, rule: &'a Rule) -> Report<'a> {
    let stages = rule
        .logic
        .stages
        .iter()
        .map(|s| {
            let mut predicates = Vec::new();
            if let Some(e) = &s.expr {
                flatten(e, false, &mut predicates);
            }
            StageView {
                label: &s.label,
                text: &s.text,
                group_by: &s.group_by,
                predicates,
            }
        })
        .collect();
    let translations = catalog.translations(rule);
    let group_by = rule
        .logic
        .stages
        .iter()
        .rev()
        .map(|s| s.group_by.as_slice())
        .find(|g| !g.is_empty())
        .unwrap_or_default();
    let origin = catalog.origins.get(&rule.source).map(|o| RuleOrigin {
        label: &o.label,
        url: &o.url,
        commit: &o.commit,
        retrieved_at: &o.retrieved_at,
        file_url: o.file_url(&rule.path),
    });
    let mut report = Report {
        analyst: Default::default(),
        event_coverage: Vec::new(),
        similar: crate::related::similar(catalog, rule, crate::related::SIMILAR),
        related: crate::related::related(catalog, rule),
        analytic_stories: crate::stories::named(rule)
            .into_iter()
            .map(|name| NamedStory {
                name,
                found: catalog.story(name).is_some(),
            })
            .collect(),
        origin,
        required_data_sources: data_sources(&translations),
        translations,
        key: &rule.key,
        title: &rule.meta.title,
        id: rule.meta.id.as_deref(),
        source: &rule.source,
        // The file within its source, never the folder it was read from on this machine.
        path: rule
            .key
            .strip_prefix(rule.source.as_str())
            .and_then(|k| k.strip_prefix('/'))
            .unwrap_or(&rule.key),
        format: rule.format,
        language: &rule.language,
        kind: rule.kind,
        level: rule.meta.level.as_deref(),
        status: rule.meta.status.as_deref(),
        meta: &rule.meta,
        attack: &rule.attack,
        techniques: attack_rows(rule),
        text: &rule.text,
        stages,
        group_by,
        group_by_normalized: crate::concepts::normalized_fields(rule.format, group_by),
        exclusions: ir::exclusions(&rule.logic),
        indicators: ir::indicators(&rule.logic)
            .into_iter()
            .map(|row| Indicator {
                corpus: row
                    .values
                    .iter()
                    .map(|v| catalog.corpus_count_of(rule.format, &row, v))
                    .collect(),
                field: row.field,
                kind: row.kind,
                values: row.values,
                case_sensitive: row.case_sensitive,
                transforms: row.transforms,
            })
            .collect(),
        links: catalog
            .linked(rule)
            .into_iter()
            .map(|(reference, r)| LinkView {
                reference,
                key: r.map(|r| r.key.as_str()),
                title: r.map(|r| r.meta.title.as_str()),
                kind: r.map(|r| r.kind),
            })
            .collect(),
        referenced_by: catalog
            .referrers(rule)
            .into_iter()
            .map(|r| LinkView {
                reference: &r.key,
                key: Some(&r.key),
                title: Some(&r.meta.title),
                kind: Some(r.kind),
            })
            .collect(),
    };
    report.event_coverage = crate::events::event_coverage(rule, &report.indicators);
    report.analyst = crate::analyst::derive(&report);
    report
}

fn flatten<'a>(e: &'a Expr, negated: bool, out: &mut Vec<PredicateView<'a>>) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| flatten(e, negated, out)),
        Expr::Not(e) => flatten(e, !negated, out),
        // The other side of a join: its predicates are the stage's too, as written.
        Expr::Join { side, .. } => flatten(side, negated, out),
        Expr::Stage(_) => {}
        Expr::Pred(Predicate {
            field,
            kind,
            values,
            case_sensitive,
            transforms,
        }) => out.push(PredicateView {
            field: field.as_deref(),
            kind: *kind,
            values,
            case_sensitive: *case_sensitive,
            transforms,
            negated,
        }),
    }
}

/// The rule's techniques under the tactics it names; a technique whose tactics the rule does
/// not name is listed under all of ATT&CK's tactics for it. Ordered as ATT&CK orders tactics.
fn attack_rows(rule: &Rule) -> Vec<AttackRow> {
    let attack = Attack::builtin();
    let named: Vec<&str> = rule
        .meta
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack."))
        .collect();
    let mut rows = Vec::new();
    for id in &rule.attack {
        let Some(t) = attack.technique(id) else {
            continue;
        };
        let mine: Vec<&String> = t
            .tactics
            .iter()
            .filter(|s| named.contains(&s.as_str()))
            .collect();
        let tactics = if mine.is_empty() {
            t.tactics.iter().collect()
        } else {
            mine
        };
        for s in tactics {
            if let Some(tac) = attack.tactic(s) {
                rows.push(AttackRow {
                    tactic: tac.name.clone(),
                    technique: t.id.clone(),
                    name: t.name.clone(),
                });
            }
        }
    }
    let order = |name: &str| attack.tactics.iter().position(|t| t.name == name);
    rows.sort_by_key(|r| order(&r.tactic));
    rows
}
