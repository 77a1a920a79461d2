//! Rules linked to rules: the rules behind an indicator's corpus count, the rules of a
//! technique, and the rules most like a given one (shared indicators weighted by rarity).
//! The web's indicator, technique and rule pages, the JSON and `detdex similar` use these.

use crate::attack::Attack;
use crate::concepts::{self, IndicatorKey};
use crate::{Catalog, coverage};
use ir::Rule;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A rule as a list names it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRef<'a> {
    pub key: &'a str,
    pub title: &'a str,
    pub source: &'a str,
    pub level: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<&'static str>,
}

impl<'a> RuleRef<'a> {
    pub fn new(r: &'a Rule) -> Self {
        RuleRef {
            key: &r.key,
            title: &r.meta.title,
            source: &r.source,
            level: r.meta.level.as_deref(),
            retired: r.meta.retired.map(|x| x.as_str()),
        }
    }
}

/// The rules a list shows: live ones by source (sources by name, rules by title), retired ones
/// apart.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BySource<'a> {
    /// Live rules.
    pub total: usize,
    pub by_source: BTreeMap<&'a str, Vec<RuleRef<'a>>>,
    pub retired: Vec<RuleRef<'a>>,
}

impl<'a> BySource<'a> {
    fn new(rules: impl Iterator<Item = &'a Rule>) -> Self {
        let mut out = BySource::default();
        for r in rules {
            if r.meta.retired.is_some() {
                out.retired.push(RuleRef::new(r));
            } else {
                out.total += 1;
                out.by_source
                    .entry(r.source.as_str())
                    .or_default()
                    .push(RuleRef::new(r));
            }
        }
        let by_title = |a: &RuleRef, b: &RuleRef| {
            (a.title.to_lowercase(), a.key).cmp(&(b.title.to_lowercase(), b.key))
        };
        out.by_source.values_mut().for_each(|v| v.sort_by(by_title));
        out.retired.sort_by(by_title);
        out
    }
}

/// An indicator as the corpus counts it, in the parts its page's address holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndicatorId {
    /// The field's concept (`process.command_line`), or the field lower-cased; `None` for a
    /// keyword.
    pub concept: Option<String>,
    pub kind: ir::Kind,
    /// Lower-cased, wildcards normalised as the counts read them.
    pub value: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<String>,
}

impl IndicatorId {
    /// The indicator one value of a rule's indicator row is counted under.
    pub fn of(
        format: ir::Format,
        field: Option<&str>,
        kind: ir::Kind,
        value: &ir::Value,
        transforms: &[String],
    ) -> Self {
        let mut key = concepts::indicator_key(format, field, kind, value);
        key.3 = transforms.to_vec();
        IndicatorId::from_key(concepts::counted_key(key).0)
    }

    fn from_key((concept, kind, value, transforms): IndicatorKey) -> Self {
        IndicatorId {
            concept,
            kind,
            value,
            transforms,
        }
    }

    fn key(&self) -> IndicatorKey {
        (
            self.concept.clone(),
            self.kind,
            self.value.to_lowercase(),
            self.transforms.clone(),
        )
    }

    /// `process.command_line contains "invoke-command"`.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} {} \"{}\"",
            self.concept.as_deref().unwrap_or("(keyword)"),
            self.kind.as_str(),
            self.value
        );
        for t in &self.transforms {
            s.push_str(&format!(" [{t}]"));
        }
        s
    }
}

/// The rules behind an indicator's corpus count.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorRules<'a> {
    pub indicator: IndicatorId,
    #[serde(flatten)]
    pub rules: BySource<'a>,
}

/// The rules of the catalog counted under an indicator: the live ones are those its corpus
/// count counts.
pub fn indicator_rules<'a>(catalog: &'a Catalog, id: &IndicatorId) -> IndicatorRules<'a> {
    let key = id.key();
    IndicatorRules {
        rules: BySource::new(catalog.members(&key).iter().map(|&i| &catalog.rules[i])),
        indicator: IndicatorId::from_key(key),
    }
}

/// A technique and the rules the coverage counts for it (its sub-techniques' included).
#[derive(Debug, Clone, Serialize)]
pub struct TechniqueRules<'a> {
    pub id: String,
    pub name: Option<&'a str>,
    /// `active`, `deprecated`, `revoked`; `None` for an id the tables do not know.
    pub state: Option<&'a str>,
    pub tactics: Vec<&'a str>,
    /// The technique a sub-technique belongs to, and a technique's sub-techniques.
    pub parent: Option<(&'a str, &'a str)>,
    pub subtechniques: Vec<(&'a str, &'a str)>,
    #[serde(flatten)]
    pub rules: BySource<'a>,
}

/// The rules mapped to a technique (as the coverage matrix counts them), by source.
pub fn technique_rules<'a>(catalog: &'a Catalog, id: &str) -> TechniqueRules<'a> {
    let attack = Attack::builtin();
    let id = id.trim().to_ascii_uppercase();
    let t = attack.technique(&id);
    let prefix = format!("{id}.");
    let mut subtechniques: Vec<(&str, &str)> = attack
        .techniques()
        .filter(|s| s.id.starts_with(&prefix) && s.is_active())
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    subtechniques.sort();
    TechniqueRules {
        name: t.map(|t| t.name.as_str()),
        state: t.map(|t| t.state.as_str()),
        tactics: t
            .map(|t| {
                t.tactics
                    .iter()
                    .filter_map(|s| attack.tactic(s))
                    .map(|x| x.name.as_str())
                    .collect()
            })
            .unwrap_or_default(),
        parent: t
            .and_then(|t| t.parent())
            .and_then(|p| attack.technique(p))
            .map(|p| (p.id.as_str(), p.name.as_str())),
        subtechniques,
        rules: BySource::new(catalog.rules.iter().filter(|r| coverage::maps_to(r, &id))),
        id,
    }
}

/// A rule like another one: what they share, and how much it weighs.
#[derive(Debug, Clone, Serialize)]
pub struct SimilarRule<'a> {
    #[serde(flatten)]
    pub rule: RuleRef<'a>,
    /// The sum over the field concepts of the heaviest shared indicator's ln(live rules /
    /// rules holding it): a rare indicator weighs more than a common one.
    pub score: f64,
    /// The shared indicators, rarest first.
    pub shared: Vec<IndicatorId>,
}

/// A rule the given one names in Sigma's `related:` list, and the rule of the catalog it is.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedRule<'a> {
    /// `derived`, `obsolete`, `merged`, `renamed`, `similar`.
    pub relation: &'a str,
    pub id: &'a str,
    pub rule: Option<RuleRef<'a>>,
}

/// A candidate: its position, score and the shared keys with their weights.
type Ranked = (usize, f64, Vec<(f64, IndicatorKey)>);

/// How many similar rules a page shows, and at most how many of them from the rule's source.
pub const SIMILAR: usize = 10;
const SAME_SOURCE: usize = 5;

/// The live rules sharing the most telling indicators with `rule`: a shared indicator weighs
/// ln(N / n) (N live rules, n of them holding it), so sharing a rare value counts more than
/// sharing `powershell.exe`; the score sums, per field concept, the heaviest shared value. At most `limit`, and at most half of them from the rule's own
/// source, so rules of other sources show; ties by key.
pub fn similar<'a>(catalog: &'a Catalog, rule: &Rule, limit: usize) -> Vec<SimilarRule<'a>> {
    let live = catalog
        .rules
        .iter()
        .filter(|r| r.meta.retired.is_none())
        .count()
        .max(1) as f64;
    let mut scores: HashMap<usize, (f64, Vec<(f64, IndicatorKey)>)> = HashMap::new();
    for key in concepts::rule_keys(rule) {
        let members = catalog.members(&key);
        let n = members
            .iter()
            .filter(|&&i| catalog.rules[i].meta.retired.is_none())
            .count();
        // Held by no other live rule: nothing to share.
        if n < 2 {
            continue;
        }
        let weight = (live / n as f64).ln();
        if weight <= 0.0 {
            continue;
        }
        for &i in members {
            let other = &catalog.rules[i];
            if other.key == rule.key || other.meta.retired.is_some() {
                continue;
            }
            let e = scores.entry(i).or_default();
            e.0 += weight;
            e.1.push((weight, key.clone()));
        }
    }
    // Per field concept, the rarest shared value counts: a macro listing ten process names
    // shared by a hundred rules is one aspect of the rule, not ten.
    // A path and the file name it ends with are one aspect too.
    let field_score = |shared: &[(f64, IndicatorKey)]| {
        let mut best: HashMap<Option<&str>, f64> = HashMap::new();
        for (w, k) in shared {
            let field =
                k.0.as_deref()
                    .map(|f| concepts::name_concept(f).unwrap_or(f));
            let b = best.entry(field).or_insert(0.0);
            *b = b.max(*w);
        }
        best.values().sum::<f64>()
    };
    let mut ranked: Vec<Ranked> = scores
        .into_iter()
        .map(|(i, (_, k))| (i, field_score(&k), k))
        .collect();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| catalog.rules[a.0].key.cmp(&catalog.rules[b.0].key))
    });
    let mut same = 0;
    let mut out = Vec::new();
    for (i, score, mut shared) in ranked {
        if out.len() >= limit {
            break;
        }
        let other = &catalog.rules[i];
        if other.source == rule.source {
            if same >= SAME_SOURCE.min(limit / 2).max(1) {
                continue;
            }
            same += 1;
        }
        shared.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        out.push(SimilarRule {
            rule: RuleRef::new(other),
            score: (score * 100.0).round() / 100.0,
            shared: shared
                .into_iter()
                .map(|(_, k)| IndicatorId::from_key(k))
                .collect(),
        });
    }
    out
}

/// The rule's Sigma `related:` entries, each with the rule of the catalog of that id.
pub fn related<'a>(catalog: &'a Catalog, rule: &'a Rule) -> Vec<RelatedRule<'a>> {
    rule.meta
        .related
        .iter()
        .map(|(relation, id)| RelatedRule {
            relation,
            id,
            rule: catalog
                .by_ref
                .get(id)
                .and_then(|v| {
                    v.iter()
                        .find(|&&i| catalog.rules[i].meta.id.as_ref() == Some(id))
                })
                .map(|&i| RuleRef::new(&catalog.rules[i])),
        })
        .collect()
}
