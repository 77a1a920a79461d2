//! Property tests of the exclusion and indicator passes on generated rules, decided by the IR
//! evaluator over every truth assignment of their atoms.
//!
//! An atom is one (field, value) test; a predicate holds when one of its values' atoms does (its
//! values are OR-ed), so two predicates naming the same value agree, as events make them.

use ir::{Expr, Kind, Logic, Predicate, Row, Stage, Syntax, Value, eval, exclusions, indicators};
use proptest::prelude::*;
use std::collections::BTreeSet;

const FIELDS: [&str; 4] = ["A", "B", "C", "D"];
const VALUES: [&str; 2] = ["1", "2"];

fn leaf(stages: usize) -> BoxedStrategy<Expr> {
    let pred = (
        0..FIELDS.len(),
        prop::collection::btree_set(0..VALUES.len(), 1..=2),
    )
        .prop_map(|(f, vs)| {
            Expr::Pred(Predicate {
                field: Some(FIELDS[f].into()),
                kind: Kind::Eq,
                values: vs
                    .into_iter()
                    .map(|v| Value::new(Kind::Eq, VALUES[v], Syntax::Literal))
                    .collect(),
                case_sensitive: false,
                transforms: vec![],
            })
        });
    if stages == 0 {
        pred.boxed()
    } else {
        prop_oneof![3 => pred, 1 => (1..=stages).prop_map(Expr::Stage)].boxed()
    }
}

fn expr(stages: usize) -> BoxedStrategy<Expr> {
    leaf(stages)
        .prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..=3).prop_map(Expr::And),
                prop::collection::vec(inner.clone(), 2..=3).prop_map(Expr::Or),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
        .boxed()
}

/// A rule: stage 0 (the root, the only one) refers to each of the up to two stages after it,
/// which refer to none.
fn logic() -> impl Strategy<Value = Logic> {
    (0usize..=2)
        .prop_flat_map(|n| (expr(n), prop::collection::vec(expr(0), n)))
        .prop_filter("every other stage is referred to", |(root, aux)| {
            (1..=aux.len()).all(|i| refers(root, i))
        })
        .prop_map(|(root, aux)| Logic {
            stages: std::iter::once(root)
                .chain(aux)
                .enumerate()
                .map(|(i, e)| Stage::new(format!("s{i}"), "", Some(e)))
                .collect(),
        })
}

fn refers(e: &Expr, i: usize) -> bool {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().any(|e| refers(e, i)),
        Expr::Not(e) => refers(e, i),
        Expr::Stage(j) => *j == i,
        _ => false,
    }
}

type Atom = (String, String);

fn atoms() -> Vec<Atom> {
    FIELDS
        .iter()
        .flat_map(|f| VALUES.iter().map(move |v| (f.to_string(), v.to_string())))
        .collect()
}

fn holds(p: &Predicate, truth: &BTreeSet<Atom>) -> bool {
    let f = p.field.clone().unwrap_or_default();
    p.values
        .iter()
        .any(|v| truth.contains(&(f.clone(), v.written.clone())))
}

fn row_holds(r: &Row, truth: &BTreeSet<Atom>) -> bool {
    let f = r.field.clone().unwrap_or_default();
    let any = r
        .values
        .iter()
        .any(|v| truth.contains(&(f.clone(), v.written.clone())));
    any != r.negated
}

fn matches(logic: &Logic, truth: &BTreeSet<Atom>) -> bool {
    let root = logic.stages[0].expr.as_ref().unwrap();
    eval(logic, root, &mut |e| match e {
        Expr::Pred(p) => holds(p, truth),
        _ => false,
    })
}

/// Every truth assignment of the eight atoms.
fn assignments() -> impl Iterator<Item = BTreeSet<Atom>> {
    let all = atoms();
    (0u32..1 << all.len()).map(move |bits| {
        all.iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, a)| a.clone())
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// No event that satisfies an exclusion is matched by the rule.
    #[test]
    fn an_event_an_exclusion_holds_for_is_never_matched(logic in logic()) {
        let ex = exclusions(&logic);
        for truth in assignments() {
            if !matches(&logic, &truth) {
                continue;
            }
            for x in &ex {
                let excluded = match &x.expr {
                    Some(e) => eval(&logic, e, &mut |e| match e {
                        Expr::Pred(p) => holds(p, &truth),
                        _ => false,
                    }),
                    None => x.all.iter().all(|r| row_holds(r, &truth)),
                };
                prop_assert!(!excluded, "matched event {:?} satisfies exclusion {}", truth, x.text);
            }
        }
    }

    /// In a rule that tests each atom once, every indicator holds in some matched event (when
    /// the rule matches any).
    #[test]
    fn every_indicator_holds_in_some_matched_event(e in expr(0)) {
        // One fresh field per predicate: each atom is tested once.
        let mut n = 0;
        let e = fresh_fields(e, &mut n);
        let logic = Logic { stages: vec![Stage::new("s0", "", Some(e))] };
        let fields: Vec<String> = (0..n).map(|i| format!("F{i}")).collect();
        let rows = indicators(&logic);
        let all: Vec<BTreeSet<Atom>> = (0u32..1 << n.min(12)).map(|bits| {
            fields.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, f)| (f.clone(), "1".to_string())).collect()
        }).collect();
        let matched: Vec<&BTreeSet<Atom>> = all.iter().filter(|t| matches(&logic, t)).collect();
        prop_assume!(n <= 12 && !matched.is_empty());
        for r in &rows {
            prop_assert!(
                matched.iter().any(|t| row_holds(r, t)),
                "indicator {:?} holds in no matched event", r
            );
        }
    }
}

fn fresh_fields(e: Expr, n: &mut usize) -> Expr {
    match e {
        Expr::And(v) => Expr::And(v.into_iter().map(|e| fresh_fields(e, n)).collect()),
        Expr::Or(v) => Expr::Or(v.into_iter().map(|e| fresh_fields(e, n)).collect()),
        Expr::Not(e) => Expr::Not(Box::new(fresh_fields(*e, n))),
        Expr::Pred(mut p) => {
            p.field = Some(format!("F{n}"));
            p.values = vec![Value::new(Kind::Eq, "1", Syntax::Literal)];
            *n += 1;
            Expr::Pred(p)
        }
        e => e,
    }
}
