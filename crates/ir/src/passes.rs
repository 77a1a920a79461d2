//! The exclusion and indicator passes.
//!
//! Both start from the *root* stages of a rule: the stages no other stage refers to (for Sigma,
//! stage 0, the condition). References to other stages are followed, so a Sigma condition's
//! `not filter` reaches the predicates of the `filter` selection.
//!
//! - An **exclusion** is one top-level negated conjunct of a root stage, after pushing NOT
//!   inwards: `not (A or B)` is two exclusions, `not not A` none. It is a conjunction: the rule
//!   drops an event when all of its rows hold (`not (svchost and empty command line)` drops
//!   svchost only when its command line is empty). A row under one more NOT inside the
//!   exclusion is `negated` (a re-inclusion). A conjunct that is not a conjunction of rows keeps
//!   its expression and text instead.
//! - An **indicator** is a predicate reached under an even number of negations: one the rule
//!   needs to hold for some event it matches. The other side of a join is not this rule's rows
//!   and gives none.

use crate::eval::{MAX_DEPTH, render};
use crate::{Exclusion, Expr, Logic, Predicate, Row, Value};

/// The exclusions of every root stage, in order.
pub fn exclusions(logic: &Logic) -> Vec<Exclusion> {
    exclusions_of(logic, &roots(logic))
}

/// The exclusions of the given root stages (each root is a result of its own: an EQL
/// sequence member, a KQL let nothing uses).
pub fn exclusions_of(logic: &Logic, roots: &[usize]) -> Vec<Exclusion> {
    let mut out: Vec<Exclusion> = Vec::new();
    for &root in roots {
        let Some(stage) = logic.stages.get(root) else {
            continue;
        };
        let Some(e) = &stage.expr else { continue };
        let mut conjuncts = Vec::new();
        top_conjuncts(logic, e, &stage.label, &mut conjuncts, 0);
        for (c, label) in conjuncts {
            let Expr::Not(inner) = c else { continue };
            let mut disjuncts = Vec::new();
            disjuncts_of(logic, inner, label, &mut disjuncts, 0);
            for (d, label) in disjuncts {
                let x = exclusion(logic, d, label);
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
    }
    out
}

/// Every predicate the rule matches positively (under an even number of negations), one row
/// per test (field, kind, case, transforms) in order of first appearance, values sorted and
/// de-duplicated.
pub fn indicators(logic: &Logic) -> Vec<Row> {
    indicators_of(logic, &roots(logic))
}

/// The indicators of the given root stages.
pub fn indicators_of(logic: &Logic, roots: &[usize]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for &root in roots {
        if let Some(e) = logic.stages.get(root).and_then(|s| s.expr.as_ref()) {
            walk(logic, e, true, 0, &mut |p, positive| {
                if positive {
                    match rows.iter_mut().find(|r| r.same_test(p)) {
                        Some(r) => r.values.extend(p.values.iter().cloned()),
                        None => rows.push(Row::of(p, false)),
                    }
                }
            });
        }
    }
    for r in &mut rows {
        sort_values(&mut r.values);
    }
    rows
}

fn sort_values(values: &mut Vec<Value>) {
    values.sort_by(|a, b| {
        let (a, b) = (&a.written, &b.written);
        a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b))
    });
    values.dedup();
}

/// The root stages: those no other stage refers to, that have an expression.
pub fn roots(logic: &Logic) -> Vec<usize> {
    let mut referenced = vec![false; logic.stages.len()];
    for s in &logic.stages {
        if let Some(e) = &s.expr {
            mark_refs(e, &mut referenced);
        }
    }
    (0..logic.stages.len())
        .filter(|&i| !referenced[i] && logic.stages[i].expr.is_some())
        .collect()
}

fn mark_refs(e: &Expr, referenced: &mut [bool]) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| mark_refs(e, referenced)),
        Expr::Not(e) => mark_refs(e, referenced),
        Expr::Join { side, .. } => mark_refs(side, referenced),
        Expr::Pred(_) => {}
        Expr::Stage(i) => {
            if let Some(r) = referenced.get_mut(*i) {
                *r = true
            }
        }
    }
}

/// `e` with stage references followed, and the label of the stage it was found in.
fn resolve<'a>(logic: &'a Logic, e: &'a Expr, label: &'a str) -> Option<(&'a Expr, &'a str)> {
    let (mut e, mut label) = (e, label);
    for _ in 0..MAX_DEPTH {
        match e {
            Expr::Stage(i) => {
                let s = logic.stages.get(*i)?;
                e = s.expr.as_ref()?;
                label = &s.label;
            }
            e => return Some((e, label)),
        }
    }
    None
}

/// The conjuncts of `e` (through `And`, stage references and double negations).
fn top_conjuncts<'a>(
    logic: &'a Logic,
    e: &'a Expr,
    label: &'a str,
    out: &mut Vec<(&'a Expr, &'a str)>,
    depth: usize,
) {
    let Some((e, label)) = resolve(logic, e, label).filter(|_| depth <= MAX_DEPTH) else {
        return;
    };
    match e {
        Expr::And(v) => v
            .iter()
            .for_each(|e| top_conjuncts(logic, e, label, out, depth + 1)),
        Expr::Not(inner) => match resolve(logic, inner, label) {
            Some((Expr::Not(pos), l)) => top_conjuncts(logic, pos, l, out, depth + 1),
            _ => out.push((e, label)),
        },
        e => out.push((e, label)),
    }
}

/// The disjuncts of a negated conjunct: each is excluded on its own.
fn disjuncts_of<'a>(
    logic: &'a Logic,
    e: &'a Expr,
    label: &'a str,
    out: &mut Vec<(&'a Expr, &'a str)>,
    depth: usize,
) {
    let Some((e, label)) = resolve(logic, e, label).filter(|_| depth <= MAX_DEPTH) else {
        return;
    };
    match e {
        Expr::Or(v) => v
            .iter()
            .for_each(|e| disjuncts_of(logic, e, label, out, depth + 1)),
        e => out.push((e, label)),
    }
}

fn exclusion(logic: &Logic, d: &Expr, stage: &str) -> Exclusion {
    let (join_on, cond) = match d {
        Expr::Join { on, side } => (on.clone(), side.as_ref()),
        d => (Vec::new(), d),
    };
    let mut all = Vec::new();
    let rows_ok = conjunction_rows(logic, cond, false, &mut all, 0);
    for r in &mut all {
        sort_values(&mut r.values);
    }
    Exclusion {
        stage: stage.to_string(),
        join_on,
        expr: (!rows_ok).then(|| d.clone()),
        all: if rows_ok { all } else { Vec::new() },
        text: render(logic, d),
    }
}

/// The rows of `e` read as a conjunction (`negated` under an odd number of NOTs); false when
/// `e` is not one (an OR of different tests, a NOT of an AND, a join).
fn conjunction_rows(
    logic: &Logic,
    e: &Expr,
    negated: bool,
    out: &mut Vec<Row>,
    depth: usize,
) -> bool {
    let Some((e, _)) = resolve(logic, e, "").filter(|_| depth <= MAX_DEPTH) else {
        return false;
    };
    match (e, negated) {
        (Expr::Pred(p), _) => {
            push_row(out, Row::of(p, negated));
            true
        }
        (Expr::Not(inner), _) => conjunction_rows(logic, inner, !negated, out, depth + 1),
        // `a and b`, and `not (a or b)` = `not a and not b`.
        (Expr::And(v), false) | (Expr::Or(v), true) => v
            .iter()
            .all(|e| conjunction_rows(logic, e, negated, out, depth + 1)),
        // `a or b` is one row when both are values of the same test.
        (Expr::Or(v), false) => {
            let mut preds: Vec<&Predicate> = Vec::new();
            for e in v {
                match resolve(logic, e, "") {
                    Some((Expr::Pred(p), _)) => preds.push(p),
                    _ => return false,
                }
            }
            let Some(first) = preds.first() else {
                return false;
            };
            let mut row = Row::of(first, false);
            if !preds.iter().all(|p| row.same_test(p)) {
                return false;
            }
            row.values = preds
                .iter()
                .flat_map(|p| p.values.iter().cloned())
                .collect();
            sort_values(&mut row.values);
            push_row(out, row);
            true
        }
        // `not (a and b)` is `not a or not b`: no conjunction.
        (Expr::And(_), true) | (Expr::Join { .. } | Expr::Stage(_), _) => false,
    }
}

fn push_row(out: &mut Vec<Row>, row: Row) {
    if !out.contains(&row) {
        out.push(row);
    }
}

fn walk<'a>(
    logic: &'a Logic,
    e: &'a Expr,
    positive: bool,
    depth: usize,
    f: &mut dyn FnMut(&'a Predicate, bool),
) {
    let Some((e, _)) = resolve(logic, e, "").filter(|_| depth <= MAX_DEPTH) else {
        return;
    };
    match e {
        Expr::And(v) | Expr::Or(v) => v
            .iter()
            .for_each(|e| walk(logic, e, positive, depth + 1, f)),
        Expr::Not(e) => walk(logic, e, !positive, depth + 1, f),
        Expr::Pred(p) => f(p, positive),
        Expr::Join { .. } | Expr::Stage(_) => {}
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
            values: values
                .iter()
                .map(|s| Value::new(kind, *s, crate::Syntax::SIGMA))
                .collect(),
            case_sensitive: false,
            transforms: vec![],
        })
    }

    fn not(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    fn stage(label: &str, expr: Expr) -> Stage {
        Stage::new(label, "", Some(expr))
    }

    fn one(e: Expr) -> Logic {
        Logic {
            stages: vec![stage("condition", e)],
        }
    }

    /// (field, kind, values, negated) of each row.
    fn rows(x: &Exclusion) -> Vec<(String, Kind, Vec<String>, bool)> {
        x.all
            .iter()
            .map(|r| {
                (
                    r.field.clone().unwrap_or_default(),
                    r.kind,
                    r.values.iter().map(|v| v.written.clone()).collect(),
                    r.negated,
                )
            })
            .collect()
    }

    fn row(f: &str, k: Kind, v: &[&str], neg: bool) -> (String, Kind, Vec<String>, bool) {
        (f.into(), k, v.iter().map(|s| s.to_string()).collect(), neg)
    }

    /// `selection and not filter`, as in seed 001.
    fn wmi_rule() -> Logic {
        Logic {
            stages: vec![
                stage(
                    "condition",
                    Expr::And(vec![Expr::Stage(1), not(Expr::Stage(2))]),
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
                    "filter",
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
        let ex = exclusions(&wmi_rule());
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].stage, "filter");
        assert_eq!(
            rows(&ex[0]),
            [row(
                "Image",
                Kind::EndsWith,
                &["\\svchost.exe", "\\wmiapsrv.exe", "\\wmiprvse.exe"],
                false
            )]
        );
    }

    /// Seed 000: `(a or b) and not (svchost and commandline_null)` excludes svchost only with
    /// an empty command line; svchost alone is no exclusion, and it stays an indicator.
    #[test]
    fn a_negated_conjunction_is_one_exclusion_of_all_its_rows() {
        let logic = Logic {
            stages: vec![
                stage(
                    "condition",
                    Expr::And(vec![
                        Expr::Or(vec![Expr::Stage(1), Expr::Stage(2)]),
                        not(Expr::And(vec![Expr::Stage(3), Expr::Stage(4)])),
                    ]),
                ),
                stage(
                    "respond_server",
                    pred("Image", Kind::EndsWith, &["\\svchost.exe"]),
                ),
                stage(
                    "request_client",
                    pred("ImageLoaded", Kind::EndsWith, &["\\WsmSvc.dll"]),
                ),
                stage("svchost", pred("Image", Kind::EndsWith, &["\\svchost.exe"])),
                stage("commandline_null", pred("CommandLine", Kind::Null, &[])),
            ],
        };
        let ex = exclusions(&logic);
        assert_eq!(ex.len(), 1);
        assert_eq!(
            rows(&ex[0]),
            [
                row("Image", Kind::EndsWith, &["\\svchost.exe"], false),
                row("CommandLine", Kind::Null, &[], false)
            ]
        );
        assert_eq!(
            ex[0].text,
            r#"Image ends_with "\svchost.exe" and CommandLine is null"#
        );
        let ind = indicators(&logic);
        assert_eq!(ind[0].field.as_deref(), Some("Image"));
        assert_eq!(ind.len(), 2);
    }

    /// Elastic's `not (A and not B)`: B is kept (a re-inclusion), not excluded.
    #[test]
    fn a_nested_not_is_a_negated_row_of_the_exclusion() {
        let logic = one(Expr::And(vec![
            pred("event.type", Kind::Eq, &["change"]),
            not(Expr::And(vec![
                pred("registry.path", Kind::Eq, &["*\\Certificates\\*"]),
                not(pred("process.name", Kind::Eq, &["certutil.exe", "cmd.exe"])),
            ])),
        ]));
        let ex = exclusions(&logic);
        assert_eq!(ex.len(), 1);
        assert_eq!(
            rows(&ex[0]),
            [
                row("registry.path", Kind::Eq, &["*\\Certificates\\*"], false),
                row("process.name", Kind::Eq, &["certutil.exe", "cmd.exe"], true)
            ]
        );
        // The kept LOLBins are reached under two negations: they are indicators.
        let ind = indicators(&logic);
        assert!(
            ind.iter()
                .any(|r| r.field.as_deref() == Some("process.name"))
        );
    }

    #[test]
    fn not_of_or_splits_and_not_of_not_is_positive() {
        let logic = one(Expr::And(vec![
            pred("A", Kind::Eq, &["1"]),
            not(Expr::Or(vec![
                Expr::And(vec![
                    pred("B", Kind::Eq, &["2"]),
                    pred("C", Kind::Eq, &["3"]),
                ]),
                pred("D", Kind::Eq, &["4"]),
            ])),
            not(not(pred("E", Kind::Eq, &["5"]))),
        ]));
        let ex = exclusions(&logic);
        assert_eq!(ex.len(), 2);
        assert_eq!(
            rows(&ex[0]),
            [
                row("B", Kind::Eq, &["2"], false),
                row("C", Kind::Eq, &["3"], false)
            ]
        );
        assert_eq!(rows(&ex[1]), [row("D", Kind::Eq, &["4"], false)]);
        let fields: Vec<_> = indicators(&logic)
            .iter()
            .map(|r| r.field.clone().unwrap())
            .collect();
        assert_eq!(fields, ["A", "E"]);
    }

    #[test]
    fn an_or_of_different_tests_inside_an_exclusion_keeps_its_expression() {
        let inner = Expr::And(vec![
            Expr::Or(vec![
                pred("B", Kind::Eq, &["2"]),
                pred("C", Kind::Eq, &["3"]),
            ]),
            pred("D", Kind::Eq, &["4"]),
        ]);
        let logic = one(Expr::And(vec![
            pred("A", Kind::Eq, &["1"]),
            not(inner.clone()),
        ]));
        let ex = exclusions(&logic);
        assert_eq!(ex.len(), 1);
        assert!(ex[0].all.is_empty());
        assert_eq!(ex[0].expr.as_ref(), Some(&inner));
        assert_eq!(ex[0].text, r#"(B eq "2" or C eq "3") and D eq "4""#);
        // Values of one test OR-ed are one row.
        let same = Expr::Or(vec![
            pred("B", Kind::Eq, &["2"]),
            pred("B", Kind::Eq, &["1"]),
        ]);
        let both = Expr::And(vec![same, pred("C", Kind::Eq, &["3"])]);
        let ex = exclusions(&one(Expr::And(vec![
            pred("A", Kind::Eq, &["1"]),
            not(both),
        ])));
        assert_eq!(
            rows(&ex[0]),
            [
                row("B", Kind::Eq, &["1", "2"], false),
                row("C", Kind::Eq, &["3"], false)
            ]
        );
    }

    #[test]
    fn an_anti_join_excludes_on_its_keys() {
        let side = pred("ResultType", Kind::Eq, &["0"]);
        let logic = one(Expr::And(vec![
            pred("ResultType", Kind::Eq, &["50126"]),
            not(Expr::Join {
                on: vec!["UserPrincipalName".into()],
                side: Box::new(side),
            }),
        ]));
        let ex = exclusions(&logic);
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].join_on, ["UserPrincipalName"]);
        assert_eq!(rows(&ex[0]), [row("ResultType", Kind::Eq, &["0"], false)]);
        // The other side's test is not an indicator of this rule's rows.
        let ind = indicators(&logic);
        assert_eq!(ind.len(), 1);
        assert_eq!(ind[0].values, ["50126"]);
    }

    #[test]
    fn rows_keep_transforms_and_case_and_only_identical_tests_merge() {
        let mut b64 = Predicate {
            field: Some("CommandLine".into()),
            kind: Kind::Contains,
            values: vec![Value::new(Kind::Contains, "IEX", crate::Syntax::SIGMA)],
            case_sensitive: false,
            transforms: vec!["base64offset".into()],
        };
        let plain = pred("CommandLine", Kind::Contains, &["IEX"]);
        let mut cased = b64.clone();
        cased.transforms.clear();
        cased.case_sensitive = true;
        b64.values
            .push(Value::new(Kind::Contains, "Invoke", crate::Syntax::SIGMA));
        let ind = indicators(&one(Expr::Or(vec![
            Expr::Pred(b64),
            plain,
            Expr::Pred(cased),
        ])));
        assert_eq!(ind.len(), 3);
        assert_eq!(ind[0].transforms, ["base64offset"]);
        assert!(ind[2].case_sensitive);
    }

    #[test]
    fn reference_cycles_terminate() {
        let logic = Logic {
            stages: vec![
                stage(
                    "a",
                    Expr::And(vec![Expr::Stage(1), pred("X", Kind::Eq, &["x"])]),
                ),
                stage("b", not(Expr::Stage(0))),
            ],
        };
        // Both stages are referenced, so there is no root: nothing to report, and no hang.
        assert!(indicators(&logic).is_empty());
        assert!(exclusions(&logic).is_empty());
        let self_ref = Logic {
            stages: vec![
                stage("a", Expr::And(vec![not(Expr::Stage(1))])),
                stage("b", Expr::Stage(1)),
            ],
        };
        exclusions(&self_ref);
        indicators(&self_ref);
    }
}
