//! The whole FalconFriday corpus (`../shared/corpora/falconfriday` beside the checkout): every
//! rule and hunt read, every query parsed and lowered, the de-duplication joins found.

use kql::content::{Kind, has_kql_blocks, is_falconfriday, read_markdown};
use kql::lower::{document_rules, lower_query};
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/falconfriday");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus missing at {}",
            p.display()
        );
        None
    }
}

fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_rule_and_hunt() {
    let Some(root) = corpus() else { return };
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    let (mut rule_files, mut hunt_files, mut rules, mut hunts, mut dedup) = (0, 0, 0, 0, 0);
    let mut not_rules = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for p in &all {
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(p).unwrap();
        let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
        let claimed = match ext.as_deref() {
            Some("md") => has_kql_blocks(&text),
            None => is_falconfriday(&text),
            _ => false,
        };
        if !claimed {
            not_rules.push(rel);
            continue;
        }
        let doc = read_markdown(&rel, &text);
        let l = document_rules(&doc, "falconfriday", &rel, &rel, &text);
        for d in &l.problems {
            match d.severity {
                ir::Severity::Error => errors.push(d.to_string()),
                ir::Severity::Warning => warnings.push(d.to_string()),
            }
        }
        // Every clause left out of a rule's logic is a warning and a note of its stage.
        let notes: Vec<&String> = l
            .rules
            .iter()
            .flat_map(|r| &r.logic.stages)
            .flat_map(|s| &s.notes)
            .collect();
        for d in &l.problems {
            if d.severity == ir::Severity::Warning {
                let (_, note) = d.message.split_once(": ").unwrap();
                assert!(notes.contains(&&note.to_string()), "{d}: not a stage note");
            }
        }
        let hunt = rel.starts_with("hunts/");
        if hunt {
            hunt_files += 1;
            hunts += l.rules.len();
        } else {
            assert_eq!(doc.kind, Kind::FalconFriday, "{rel}");
            assert_eq!(l.rules.len(), 1, "{rel}: one query per rule");
            rule_files += 1;
            rules += 1;
            let r = &l.rules[0];
            assert!(
                r.meta.id.as_deref().is_some_and(|i| i.starts_with("0xFF-")),
                "{rel}"
            );
            assert!(!r.attack.is_empty(), "{rel}: ATT&CK");
            assert!(r.meta.date.is_some(), "{rel}: version history");
            assert!(!r.meta.description.is_empty(), "{rel}: description");
        }
        for r in &l.rules {
            assert!(
                r.meta.data_sources.iter().any(|(k, _)| k == "table"),
                "{}: no table",
                r.key
            );
            let d = r
                .logic
                .stages
                .iter()
                .filter(|s| s.label == "join (de-duplication)")
                .count();
            dedup += d;
            if d > 0 {
                // The de-duplication join's predicates (SecurityAlert's) are not the rule's.
                let ex = ir::exclusions(&r.logic);
                let ind = ir::indicators(&r.logic);
                for row in ex.iter().flat_map(|x| &x.all).chain(&ind) {
                    let f = row.field.as_deref().unwrap_or("");
                    assert!(
                        !["AlertName", "ProviderName", "DedupEntity"].contains(&f),
                        "{}: {row:?}",
                        r.key
                    );
                }
            }
        }
    }
    println!(
        "rule files {rule_files} ({rules} rules), hunt files {hunt_files} ({hunts} rules), \
         de-duplication joins {dedup}; not rules: {not_rules:?}"
    );
    assert!(errors.is_empty(), "{errors:#?}");
    println!("{} warnings:\n{}", warnings.len(), warnings.join("\n"));
    assert!(
        warnings.iter().all(|w| w.contains(": not analysed: ")),
        "{warnings:#?}"
    );
    assert_eq!(rule_files, 48);
    assert_eq!(hunts, 66);
    assert_eq!(hunt_files, 11);
    assert_eq!(
        dedup, 18,
        "FalconFriday's leftanti joins against SecurityAlert"
    );
    // Only the licence, the README and the two rules replaced by 0xFF-0081 are not rules.
    assert_eq!(not_rules.len(), 4, "{not_rules:?}");
}

/// The `where` clauses of a function body (its pipes, and those of its lets).
fn body_wheres<'a>(e: &'a kql::ast::Expr, out: &mut Vec<&'a kql::ast::Expr>) {
    use kql::ast::{ExprKind, OperatorKind};
    if let ExprKind::Pipe { source, ops } = &e.kind {
        body_wheres(source, out);
        for o in ops {
            if let OperatorKind::Where(w) = &o.kind {
                out.push(w);
            }
        }
    }
}

fn preds_of(e: &ir::Expr, l: &ir::Logic, depth: usize, out: &mut Vec<ir::Predicate>) {
    if depth > 64 {
        return;
    }
    match e {
        ir::Expr::And(v) | ir::Expr::Or(v) => v.iter().for_each(|e| preds_of(e, l, depth + 1, out)),
        ir::Expr::Not(e) | ir::Expr::Join { side: e, .. } => preds_of(e, l, depth + 1, out),
        ir::Expr::Pred(p) => out.push(p.clone()),
        ir::Expr::Stage(i) => {
            if let Some(e) = &l.stages[*i].expr {
                preds_of(e, l, depth + 1, out)
            }
        }
    }
}

/// FalconFriday: every predicate of a called `let` function's body (read on its own, those
/// not naming a parameter) reaches the rule's result, or its clause is a note of a stage.
#[test]
fn let_function_bodies_reach_the_rule() {
    let Some(root) = corpus() else { return };
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    let (mut functions, mut clauses, mut checked, mut found_n) = (0, 0, 0, 0);
    for p in &all {
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(p).unwrap();
        let claimed = is_falconfriday(&text) || (rel.ends_with(".md") && has_kql_blocks(&text));
        if !claimed {
            continue;
        }
        let doc = read_markdown(&rel, &text);
        let lowered = document_rules(&doc, "falconfriday", &rel, &rel, &text);
        for (b, rule) in doc.blocks.iter().zip(&lowered.rules) {
            let Ok(q) = kql::parse(&b.text) else { continue };
            let mut reached = Vec::new();
            if let Some(e) = rule.logic.stages.last().and_then(|s| s.expr.as_ref()) {
                preds_of(e, &rule.logic, 0, &mut reached);
            }
            let notes: Vec<&String> = rule.logic.stages.iter().flat_map(|s| &s.notes).collect();
            for s in &q.statements {
                let kql::ast::StatementKind::Let {
                    name,
                    value: kql::ast::LetValue::Function { params, body, .. },
                } = &s.kind
                else {
                    continue;
                };
                // Called in the query (not only defined).
                if b.text.matches(&format!("{}(", name.text)).count() < 2 {
                    continue;
                }
                functions += 1;
                let params: Vec<&str> = params.iter().map(|p| p.name.text.as_str()).collect();
                let mut wheres = Vec::new();
                for st in body {
                    match &st.kind {
                        kql::ast::StatementKind::Expr(e)
                        | kql::ast::StatementKind::Let {
                            value: kql::ast::LetValue::Expr(e),
                            ..
                        } => body_wheres(e, &mut wheres),
                        _ => {}
                    }
                }
                for w in wheres {
                    clauses += 1;
                    let clause = b.text[w.span.clone()].trim();
                    let alone = format!("T | where {clause}");
                    let Ok(aq) = kql::parse(&alone) else { continue };
                    let logic = lower_query(&aq, &alone).logic;
                    let mut own = Vec::new();
                    if let Some(e) = logic.stages.last().and_then(|s| s.expr.as_ref()) {
                        preds_of(e, &logic, 0, &mut own);
                    }
                    for p in own {
                        let names_param = params.iter().any(|n| {
                            p.field.as_deref() == Some(n) || p.values.iter().any(|v| v == n)
                        });
                        if names_param {
                            continue;
                        }
                        checked += 1;
                        let found = reached.iter().any(|r| {
                            r.field == p.field && r.kind == p.kind && r.values == p.values
                        });
                        let noted = notes
                            .iter()
                            .any(|n| n.contains(clause.split_whitespace().next().unwrap_or("")));
                        found_n += usize::from(found);
                        assert!(
                            found || noted,
                            "{rel}: {}'s {p:?} ({clause}) is lost",
                            name.text
                        );
                    }
                }
            }
        }
    }
    println!(
        "{functions} called functions, {clauses} where clauses, {checked} predicates, \
         {found_n} found in the rules"
    );
    assert!(functions >= 2 && checked >= 5, "{functions} {checked}");
    assert_eq!(found_n, checked, "every body predicate reaches its rule");
}
