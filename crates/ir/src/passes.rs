//! The exclusion and indicator passes.
//!
//! Both start from the *root* stages of a rule: the stages no other stage refers to (for Sigma,
//! stage 0, the condition). References to other stages are followed, so a Sigma condition's
//! `not filter` reaches the predicates of the `filter` selection.

use crate::{Expr, Logic, Predicate, Row};
use std::collections::BTreeMap;

/// The top-level `NOT (...)` conjuncts of each root stage: what the rule actively suppresses.
/// One row per (field, kind), values sorted and de-duplicated.
pub fn exclusions(logic: &Logic) -> Vec<Row> {
    let mut out = Rows::default();
    for root in roots(logic) {
        let mut conjuncts = Vec::new();
        top_conjuncts(logic, root, &mut conjuncts, 0);
        for c in conjuncts {
            if let Expr::Not(inner) = c {
                walk(logic, inner, true, 0, &mut |p, _| out.add(p));
            }
        }
    }
    out.finish()
}

/// Every predicate the rule matches positively (under an even number of negations).
/// One row per (field, kind), in order of first appearance, values sorted and de-duplicated.
pub fn indicators(logic: &Logic) -> Vec<Row> {
    let mut out = Rows::default();
    for root in roots(logic) {
        walk(logic, root, true, 0, &mut |p, positive| {
            if positive {
                out.add(p)
            }
        });
    }
    out.finish()
}

/// Stages may refer to each other; a reference chain longer than this is a cycle.
const MAX_DEPTH: usize = 64;

fn roots(logic: &Logic) -> Vec<&Expr> {
    let mut referenced = vec![false; logic.stages.len()];
    for s in &logic.stages {
        if let Some(e) = &s.expr {
            mark_refs(e, &mut referenced);
        }
    }
    logic
        .stages
        .iter()
        .zip(referenced)
        .filter(|(_, r)| !r)
        .filter_map(|(s, _)| s.expr.as_ref())
        .collect()
}

fn mark_refs(e: &Expr, referenced: &mut [bool]) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| mark_refs(e, referenced)),
        Expr::Not(e) => mark_refs(e, referenced),
        Expr::Pred(_) => {}
        Expr::Stage(i) => {
            if let Some(r) = referenced.get_mut(*i) {
                *r = true
            }
        }
    }
}

fn resolve<'a>(logic: &'a Logic, e: &'a Expr) -> Option<&'a Expr> {
    match e {
        Expr::Stage(i) => logic.stages.get(*i).and_then(|s| s.expr.as_ref()),
        e => Some(e),
    }
}

fn top_conjuncts<'a>(logic: &'a Logic, e: &'a Expr, out: &mut Vec<&'a Expr>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match e {
        Expr::And(v) => v
            .iter()
            .for_each(|e| top_conjuncts(logic, e, out, depth + 1)),
        Expr::Stage(_) => {
            if let Some(e) = resolve(logic, e) {
                top_conjuncts(logic, e, out, depth + 1)
            }
        }
        e => out.push(e),
    }
}

fn walk<'a>(
    logic: &'a Logic,
    e: &'a Expr,
    positive: bool,
    depth: usize,
    f: &mut dyn FnMut(&'a Predicate, bool),
) {
    if depth > MAX_DEPTH {
        return;
    }
    match e {
        Expr::And(v) | Expr::Or(v) => v
            .iter()
            .for_each(|e| walk(logic, e, positive, depth + 1, f)),
        Expr::Not(e) => walk(logic, e, !positive, depth + 1, f),
        Expr::Pred(p) => f(p, positive),
        Expr::Stage(_) => {
            if let Some(e) = resolve(logic, e) {
                walk(logic, e, positive, depth + 1, f)
            }
        }
    }
}

/// Rows keyed by (field, kind), kept in order of first appearance.
#[derive(Default)]
struct Rows {
    order: Vec<(Option<String>, crate::Kind)>,
    values: BTreeMap<(Option<String>, crate::Kind), Vec<String>>,
}

impl Rows {
    fn add(&mut self, p: &Predicate) {
        let key = (p.field.clone(), p.kind);
        let vals = self.values.entry(key.clone()).or_insert_with(|| {
            self.order.push(key);
            Vec::new()
        });
        vals.extend(p.values.iter().cloned());
    }

    fn finish(mut self) -> Vec<Row> {
        self.order
            .into_iter()
            .map(|key| {
                let mut values = self.values.remove(&key).unwrap_or_default();
                values.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
                values.dedup();
                Row {
                    field: key.0,
                    kind: key.1,
                    values,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, Stage};

    fn pred(field: &str, kind: Kind, values: &[&str]) -> Expr {
        Expr::Pred(Predicate {
            field: Some(field.into()),
            kind,
            values: values.iter().map(|s| s.to_string()).collect(),
            case_sensitive: false,
            transforms: vec![],
        })
    }

    fn stage(label: &str, expr: Expr) -> Stage {
        Stage::new(label, "", Some(expr))
    }

    /// `selection and not filter`, as in seed 001.
    fn wmi_rule() -> Logic {
        Logic {
            stages: vec![
                stage(
                    "condition",
                    Expr::And(vec![Expr::Stage(1), Expr::Not(Box::new(Expr::Stage(2)))]),
                ),
                stage(
                    "selection",
                    Expr::And(vec![
                        pred("EventID", Kind::Eq, &["7"]),
                        pred(
                            "ImageLoaded",
                            Kind::EndsWith,
                            &["\\wmiclnt.dll", "\\fastprox.dll"],
                        ),
                    ]),
                ),
                stage(
                    "not filter",
                    pred(
                        "Image",
                        Kind::EndsWith,
                        &["\\wmiprvse.exe", "\\wmiapsrv.exe", "\\svchost.exe"],
                    ),
                ),
            ],
        }
    }

    #[test]
    fn exclusions_follow_stage_references_and_sort_values() {
        let rows = exclusions(&wmi_rule());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].field.as_deref(), Some("Image"));
        assert_eq!(rows[0].kind, Kind::EndsWith);
        assert_eq!(
            rows[0].values,
            ["\\svchost.exe", "\\wmiapsrv.exe", "\\wmiprvse.exe"]
        );
    }

    #[test]
    fn indicators_skip_negated_predicates() {
        let rows = indicators(&wmi_rule());
        let fields: Vec<_> = rows.iter().map(|r| r.field.as_deref().unwrap()).collect();
        assert_eq!(fields, ["EventID", "ImageLoaded"]);
        assert_eq!(rows[1].values, ["\\fastprox.dll", "\\wmiclnt.dll"]);
    }

    #[test]
    fn double_negation_is_positive_and_nested_not_is_not_a_top_level_exclusion() {
        let logic = Logic {
            stages: vec![stage(
                "condition",
                Expr::Or(vec![
                    Expr::Not(Box::new(Expr::Not(Box::new(pred("A", Kind::Eq, &["1"]))))),
                    Expr::Not(Box::new(pred("B", Kind::Eq, &["2"]))),
                ]),
            )],
        };
        assert!(
            exclusions(&logic).is_empty(),
            "a NOT under OR is not a top-level conjunct"
        );
        let ind = indicators(&logic);
        assert_eq!(ind.len(), 1);
        assert_eq!(ind[0].field.as_deref(), Some("A"));
    }

    #[test]
    fn reference_cycles_terminate() {
        let logic = Logic {
            stages: vec![
                stage(
                    "a",
                    Expr::And(vec![Expr::Stage(1), pred("X", Kind::Eq, &["x"])]),
                ),
                stage("b", Expr::Not(Box::new(Expr::Stage(0)))),
            ],
        };
        // Both stages are referenced, so there is no root: nothing to report, and no hang.
        assert!(indicators(&logic).is_empty());
        assert!(exclusions(&logic).is_empty());
    }
}
