//! ATT&CK coverage of a catalog: for every tactic in matrix order, its active techniques with
//! their sub-techniques, and how many rules (in all and per source) map to each; the technique
//! ids rules name that the tables do not know or that ATT&CK deprecated or revoked.
//!
//! A rule counts once for a technique it names directly or through any of its sub-techniques,
//! and once for a tactic when it covers any of the tactic's techniques. Only active techniques
//! count: a rule naming a deprecated or revoked id (or one the tables do not know) is listed
//! under [`Coverage::stale`] instead, since its mapping needs a look.

use crate::Catalog;
use crate::attack::{Attack, Technique};
use ir::Rule;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Which rules of the catalog to count: an empty field means all.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scope<'a> {
    /// Exact source name.
    pub source: &'a str,
    /// Rule language (`sigma`, `spl`, `eql`, …), ignoring ASCII case.
    pub language: &'a str,
    /// Count retired rules (deprecated, unsupported, placeholders) too.
    pub retired: bool,
}

impl Scope<'_> {
    pub fn includes(&self, rule: &Rule) -> bool {
        (self.retired || rule.meta.retired.is_none())
            && (self.source.is_empty() || rule.source == self.source)
            && (self.language.is_empty() || rule.language.eq_ignore_ascii_case(self.language))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Coverage<'a> {
    /// Rules in scope.
    pub rules: usize,
    /// Retired rules (deprecated, unsupported, placeholders) otherwise in scope, left out
    /// unless the scope asks for them.
    pub retired_rules: usize,
    /// Rules in scope that map to at least one active technique.
    pub mapped_rules: usize,
    /// Active techniques (sub-techniques aside) of the tables.
    pub techniques_total: usize,
    /// Those at least one rule maps to.
    pub techniques_covered: usize,
    /// In ATT&CK's matrix order.
    pub tactics: Vec<TacticCoverage<'a>>,
    /// Technique ids named by rules that are unknown, deprecated or revoked, by id.
    pub stale: Vec<StaleTechnique<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TacticCoverage<'a> {
    pub id: &'a str,
    pub shortname: &'a str,
    pub name: &'a str,
    /// Active techniques (sub-techniques aside) of the tactic.
    pub techniques_total: usize,
    pub techniques_covered: usize,
    /// Rules mapped to any technique of the tactic, each counted once.
    pub rules: usize,
    /// By technique id.
    pub techniques: Vec<TechniqueCoverage<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TechniqueCoverage<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// Rules mapped to this technique or (for a technique) to any of its sub-techniques.
    pub rules: usize,
    /// The same per source; sources without a rule are left out.
    pub by_source: BTreeMap<&'a str, usize>,
    /// Active sub-techniques, by id (always empty for a sub-technique).
    pub subtechniques: Vec<TechniqueCoverage<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaleTechnique<'a> {
    pub id: &'a str,
    /// `unknown` (not in the tables), `deprecated` or `revoked`.
    pub state: &'a str,
    /// The name ATT&CK gave it, when the tables know it.
    pub name: Option<&'a str>,
    /// Keys of the rules naming it, in catalog order.
    pub rules: Vec<&'a str>,
}

/// The active technique ids a rule counts for: each it names, and the parent of each
/// sub-technique it names. Sorted, without repeats.
fn counted_ids<'t>(attack: &'t Attack, rule: &Rule) -> Vec<&'t str> {
    let mut ids = Vec::new();
    for t in rule.attack.iter().filter_map(|id| attack.technique(id)) {
        if t.is_active() {
            ids.push(t.id.as_str());
            ids.extend(t.parent());
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Whether the rule counts for this technique or sub-technique in the coverage (the id is
/// compared ignoring ASCII case): what the index's `technique=` filter lists.
pub fn maps_to(rule: &Rule, technique: &str) -> bool {
    counted_ids(Attack::builtin(), rule)
        .iter()
        .any(|id| id.eq_ignore_ascii_case(technique))
}

/// The coverage of the catalog's rules in scope.
pub fn coverage<'a>(catalog: &'a Catalog, scope: Scope<'_>) -> Coverage<'a> {
    coverage_of(catalog, scope, &|_| true)
}

/// The coverage of the catalog's rules in scope that `keep` keeps (the deployable rules of
/// [`crate::translate::deployable`]: a technique is covered only by rules a team can run).
pub fn coverage_of<'a>(
    catalog: &'a Catalog,
    scope: Scope<'_>,
    keep: &dyn Fn(&Rule) -> bool,
) -> Coverage<'a> {
    let attack = Attack::builtin();
    let mut rules = 0;
    let mut mapped_rules = 0;
    let mut counts: HashMap<&str, BTreeMap<&'a str, usize>> = HashMap::new();
    let mut per_tactic: HashMap<&str, usize> = HashMap::new();
    let mut stale: BTreeMap<&'a str, StaleTechnique<'a>> = BTreeMap::new();
    let mut tactics_of_rule: Vec<&str> = Vec::new();
    let all = Scope {
        retired: true,
        ..scope
    };
    let retired_rules = catalog
        .rules
        .iter()
        .filter(|r| !scope.includes(r) && all.includes(r) && keep(r))
        .count();
    for rule in catalog
        .rules
        .iter()
        .filter(|r| scope.includes(r) && keep(r))
    {
        rules += 1;
        let ids = counted_ids(attack, rule);
        if !ids.is_empty() {
            mapped_rules += 1;
        }
        tactics_of_rule.clear();
        for id in &ids {
            *counts
                .entry(id)
                .or_default()
                .entry(&rule.source)
                .or_default() += 1;
            if let Some(t) = attack.technique(id).filter(|t| t.parent().is_none()) {
                tactics_of_rule.extend(t.tactics.iter().map(String::as_str));
            }
        }
        tactics_of_rule.sort_unstable();
        tactics_of_rule.dedup();
        for s in &tactics_of_rule {
            *per_tactic.entry(s).or_default() += 1;
        }
        for id in &rule.attack {
            let known = attack.technique(id);
            if known.is_some_and(Technique::is_active) {
                continue;
            }
            let entry = stale.entry(id).or_insert_with(|| StaleTechnique {
                id,
                state: known.map_or("unknown", |t| t.state.as_str()),
                name: known.map(|t| t.name.as_str()),
                rules: Vec::new(),
            });
            if entry.rules.last() != Some(&rule.key.as_str()) {
                entry.rules.push(&rule.key);
            }
        }
    }

    let cell = |t: &'static Technique, subtechniques| {
        let by_source = counts.get(t.id.as_str()).cloned().unwrap_or_default();
        TechniqueCoverage {
            id: &t.id,
            name: &t.name,
            rules: by_source.values().sum(),
            by_source,
            subtechniques,
        }
    };
    // Active techniques by id, each with its active sub-techniques.
    let mut subs: HashMap<&str, Vec<&'static Technique>> = HashMap::new();
    let mut parents: Vec<&'static Technique> = Vec::new();
    for t in attack.techniques().filter(|t| t.is_active()) {
        match t.parent() {
            Some(p) => subs.entry(p).or_default().push(t),
            None => parents.push(t),
        }
    }
    parents.sort_unstable_by_key(|t| &t.id);
    subs.values_mut()
        .for_each(|v| v.sort_unstable_by_key(|t| &t.id));

    let tactics = attack
        .tactics
        .iter()
        .map(|tactic| {
            let techniques: Vec<TechniqueCoverage> = parents
                .iter()
                .filter(|t| t.tactics.contains(&tactic.shortname))
                .map(|t| {
                    let children = subs.get(t.id.as_str()).map_or(&[][..], Vec::as_slice);
                    cell(t, children.iter().map(|s| cell(s, Vec::new())).collect())
                })
                .collect();
            TacticCoverage {
                id: &tactic.id,
                shortname: &tactic.shortname,
                name: &tactic.name,
                techniques_total: techniques.len(),
                techniques_covered: techniques.iter().filter(|t| t.rules > 0).count(),
                rules: per_tactic
                    .get(tactic.shortname.as_str())
                    .copied()
                    .unwrap_or(0),
                techniques,
            }
        })
        .collect();
    Coverage {
        rules,
        retired_rules,
        mapped_rules,
        techniques_total: parents.len(),
        techniques_covered: parents
            .iter()
            .filter(|t| counts.contains_key(t.id.as_str()))
            .count(),
        tactics,
        stale: stale.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ir::{Format, Logic, Meta, Pos, RuleKind};

    fn rule(key: &str, source: &str, language: &str, attack: &[&str]) -> Rule {
        Rule {
            key: key.into(),
            source: source.into(),
            format: Format::Sigma,
            language: language.into(),
            kind: RuleKind::Detection,
            meta: Meta::default(),
            attack: attack.iter().map(|s| s.to_string()).collect(),
            text: String::new(),
            path: key.into(),
            pos: Pos::default(),
            logic: Logic::default(),
            links: Vec::new(),
        }
    }

    fn catalog() -> Catalog {
        Catalog::from_parts(
            vec![
                rule("a/1", "a", "sigma", &["T1059.001", "T1059"]),
                rule("a/2", "a", "sigma", &["T1059.003"]),
                rule("b/1", "b", "spl", &["T1059", "T1086", "T9999"]),
                rule("b/2", "b", "spl", &["T1086"]),
                rule("b/3", "b", "spl", &[]),
            ],
            vec![],
            5,
        )
    }

    fn technique<'c>(c: &'c Coverage, tactic: &str, id: &str) -> &'c TechniqueCoverage<'c> {
        let tactic = c.tactics.iter().find(|t| t.shortname == tactic).unwrap();
        tactic.techniques.iter().find(|t| t.id == id).unwrap()
    }

    #[test]
    fn a_rule_counts_once_for_a_technique_and_its_sub_techniques() {
        let cat = catalog();
        let c = coverage(&cat, Scope::default());
        assert_eq!((c.rules, c.mapped_rules), (5, 3));
        let t = technique(&c, "execution", "T1059");
        assert_eq!(t.rules, 3);
        assert_eq!(t.by_source, BTreeMap::from([("a", 2), ("b", 1)]));
        let sub = |id| t.subtechniques.iter().find(|s| s.id == id).unwrap();
        assert_eq!(sub("T1059.001").rules, 1);
        assert_eq!(sub("T1059.003").rules, 1);
        assert_eq!(sub("T1059.002").rules, 0);
        let exec = c
            .tactics
            .iter()
            .find(|t| t.shortname == "execution")
            .unwrap();
        assert_eq!((exec.rules, exec.techniques_covered), (3, 1));
        assert_eq!(c.techniques_covered, 1);
        // Tactics come in matrix order; every other tactic is uncovered.
        assert_eq!(c.tactics[0].shortname, "reconnaissance");
        assert_eq!(c.tactics.iter().filter(|t| t.rules > 0).count(), 1);
        assert_eq!(technique(&c, "execution", "T1047").rules, 0);
    }

    #[test]
    fn stale_and_unknown_ids_are_listed_not_counted() {
        let cat = catalog();
        let c = coverage(&cat, Scope::default());
        let ids: Vec<(&str, &str, Vec<&str>)> = c
            .stale
            .iter()
            .map(|s| (s.id, s.state, s.rules.clone()))
            .collect();
        assert_eq!(
            ids,
            [
                ("T1086", "revoked", vec!["b/1", "b/2"]),
                ("T9999", "unknown", vec!["b/1"])
            ]
        );
        assert_eq!(c.stale[0].name, Some("PowerShell"));
        assert!(
            c.tactics
                .iter()
                .all(|t| t.techniques.iter().all(|x| x.id != "T1086"))
        );
    }

    #[test]
    fn scope_filters_by_source_and_language() {
        let cat = catalog();
        let c = coverage(
            &cat,
            Scope {
                language: "SPL",
                ..Scope::default()
            },
        );
        assert_eq!(c.rules, 3);
        assert_eq!(technique(&c, "execution", "T1059").rules, 1);
        let c = coverage(
            &cat,
            Scope {
                source: "a",
                ..Scope::default()
            },
        );
        assert_eq!(technique(&c, "execution", "T1059").rules, 2);
        assert!(c.stale.is_empty());
    }

    #[test]
    fn maps_to_matches_parents_and_sub_techniques() {
        let r = rule("a/1", "a", "sigma", &["T1059.001", "T1086"]);
        assert!(maps_to(&r, "T1059"));
        assert!(maps_to(&r, "t1059.001"));
        assert!(!maps_to(&r, "T1059.003"));
        assert!(!maps_to(&r, "T1086"));
        assert!(!maps_to(&r, "T105"));
    }

    #[test]
    fn every_active_technique_sits_under_each_of_its_tactics() {
        let cat = catalog();
        let c = coverage(&cat, Scope::default());
        let attack = Attack::builtin();
        let placed: usize = c.tactics.iter().map(|t| t.techniques.len()).sum();
        let expected: usize = attack
            .techniques()
            .filter(|t| t.is_active() && t.parent().is_none())
            .map(|t| t.tactics.len())
            .sum();
        assert_eq!(placed, expected);
        let sub_count = |c: &Coverage| -> usize {
            c.tactics[4]
                .techniques
                .iter()
                .map(|t| t.subtechniques.len())
                .sum()
        };
        assert!(sub_count(&c) > 0);
    }
}
