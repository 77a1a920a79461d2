//! Sigma → IR: stage 0 is the condition, then one stage per detection the condition uses, in
//! order of first use; a detection used only under `not` is labelled `not <name>`.

use crate::condition::Cond;
use crate::rule::{Detection, DetectionItem, Document};
use crate::value::{CmpOp, Modifier, Value};
use ir::{Expr, Kind, Logic, Predicate, Stage};

pub(crate) fn rule(doc: &Document, key: String, source: &str, path: &str, text: &str) -> ir::Rule {
    ir::Rule {
        key,
        source: source.to_string(),
        format: ir::Format::Sigma,
        language: "sigma".into(),
        kind: doc.kind,
        attack: crate::techniques(&doc.meta.tags),
        meta: doc.meta.clone(),
        text: text.to_string(),
        path: path.to_string(),
        pos: doc.pos,
        logic: logic(doc, text),
        links: doc.rules.clone(),
    }
}

fn logic(doc: &Document, text: &str) -> Logic {
    if let Some(c) = &doc.correlation {
        let mut label = format!("correlation {}", c.kind);
        if !c.group_by.is_empty() {
            label.push_str(&format!(" by {}", c.group_by.join(", ")));
        }
        let body = text.find("correlation:").map_or(text, |i| &text[i..]);
        return Logic {
            stages: vec![Stage {
                group_by: c.group_by.clone(),
                ..Stage::new(label, body.trim_end(), None)
            }],
        };
    }
    let Some(d) = &doc.detection else {
        return Logic::default();
    };
    // Order of first use, and whether every use is negated.
    let mut order: Vec<(&str, bool)> = Vec::new();
    for (c, _) in &d.resolved {
        uses(c, false, &mut order);
    }
    let index = |name: &str| order.iter().position(|(n, _)| *n == name).map(|i| i + 1);
    let conds: Vec<Expr> = d
        .resolved
        .iter()
        .map(|(c, _)| cond_expr(c, &index))
        .collect();
    let cond_text: Vec<&str> = d.conditions.iter().map(|(t, _)| t.as_str()).collect();
    // No expression when a condition could not be read (kept only for `status: unsupported`).
    let expr = match conds.len() {
        _ if d.resolved.len() < d.conditions.len() => None,
        1 => conds.into_iter().next(),
        _ => Some(Expr::Or(conds)),
    };
    let mut stages = vec![Stage::new("condition", cond_text.join("\n"), expr)];
    for (name, negated) in &order {
        let Some(n) = d.named.iter().find(|n| n.name == *name) else {
            continue;
        };
        let label = if *negated {
            format!("not {name}")
        } else {
            name.to_string()
        };
        stages.push(Stage::new(label, n.text.clone(), Some(detection(&n.body))));
    }
    for (_, agg) in &d.resolved {
        if let Some(a) = agg {
            stages.push(Stage::new(
                "aggregation (Sigma 1, unsupported)",
                a.clone(),
                None,
            ));
        }
    }
    Logic { stages }
}

fn uses<'a>(c: &'a Cond, negated: bool, out: &mut Vec<(&'a str, bool)>) {
    match c {
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| uses(c, negated, out)),
        Cond::Not(c) => uses(c, !negated, out),
        Cond::Ident { name, .. } => match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, all_negated)) => *all_negated &= negated,
            None => out.push((name, negated)),
        },
        Cond::Of { .. } => {}
    }
}

fn cond_expr(c: &Cond, index: &dyn Fn(&str) -> Option<usize>) -> Expr {
    match c {
        Cond::And(v) => Expr::And(v.iter().map(|c| cond_expr(c, index)).collect()),
        Cond::Or(v) => Expr::Or(v.iter().map(|c| cond_expr(c, index)).collect()),
        Cond::Not(c) => Expr::Not(Box::new(cond_expr(c, index))),
        Cond::Ident { name, .. } => index(name).map_or(Expr::And(vec![]), Expr::Stage),
        // `resolve` leaves no `of` expressions.
        Cond::Of { .. } => Expr::Or(vec![]),
    }
}

fn detection(d: &Detection) -> Expr {
    match d {
        Detection::And(v) => Expr::And(v.iter().map(detection).collect()),
        Detection::Or(v) => Expr::Or(v.iter().map(detection).collect()),
        Detection::Item(i) => item(i),
    }
}

/// Modifiers that change how values are matched beyond the predicate kind.
fn is_transform(m: Modifier) -> bool {
    use Modifier::*;
    matches!(
        m,
        Base64
            | Base64Offset
            | Wide
            | Utf16Be
            | Utf16
            | Windash
            | Expand
            | ReIgnoreCase
            | ReMultiline
            | ReDotAll
            | TimePart(_)
    )
}

fn item(i: &DetectionItem) -> Expr {
    let transforms: Vec<String> = i
        .modifiers
        .iter()
        .zip(&i.modifier_names)
        .filter(|(m, _)| is_transform(**m))
        .map(|(_, n)| n.clone())
        .collect();
    // One predicate per (kind, case) group of values, in order of first appearance.
    let mut preds: Vec<Predicate> = Vec::new();
    for (v, written) in &i.values {
        let (kind, cased, shown) = classify(i, v, written);
        let existing = preds
            .iter_mut()
            .find(|p| p.kind == kind && p.case_sensitive == cased);
        match existing {
            Some(p) if !i.all => p.values.extend(shown),
            _ => preds.push(Predicate {
                field: i.field.clone(),
                kind,
                values: shown,
                case_sensitive: cased,
                transforms: transforms.clone(),
            }),
        }
    }
    let mut e = if preds.len() == 1 {
        Expr::Pred(preds.remove(0))
    } else {
        let v = preds.into_iter().map(Expr::Pred).collect();
        if i.all { Expr::And(v) } else { Expr::Or(v) }
    };
    if i.negated {
        e = Expr::Not(Box::new(e));
    }
    e
}

fn classify(i: &DetectionItem, v: &Value, written: &str) -> (Kind, bool, Vec<ir::Value>) {
    let w = || vec![ir::Value::opaque(written)];
    // A string value after its modifiers is the whole-value pattern (`contains` added its
    // `*`s); a keyword is found anywhere in a value. Values the transforms expanded
    // (`base64offset`, `windash`, …) keep the pattern of the value as written.
    let transformed = i.modifiers.iter().any(|m| {
        use Modifier::*;
        matches!(m, Base64 | Base64Offset | Wide | Utf16Be | Utf16 | Windash)
    });
    let keyword = i.field.is_none();
    let whole = |s: &crate::value::SigmaString| {
        let p = ir::Pattern::new(s.parts.iter().cloned());
        if keyword {
            ir::Pattern::new(
                [ir::Part::AnyMulti]
                    .into_iter()
                    .chain(p.parts().to_vec())
                    .chain([ir::Part::AnyMulti]),
            )
        } else {
            p
        }
    };
    let text = |strings: &[&crate::value::SigmaString]| {
        let v = match strings {
            [s] if !transformed => ir::Value {
                written: written.to_string(),
                pattern: Some(whole(s)),
                expanded: Vec::new(),
            },
            _ => ir::Value {
                expanded: strings.iter().map(|s| whole(s)).collect(),
                ..ir::Value::new(string_kind_of(i), written, ir::Syntax::SIGMA)
            },
        };
        vec![v]
    };
    let string_kind = || string_kind_of(i);
    match v {
        Value::Str { s, cased } => (string_kind(), *cased, text(&[s])),
        Value::Expansion(alts) => {
            let cased = alts
                .iter()
                .any(|a| matches!(a, Value::Str { cased: true, .. }));
            // Only string alternatives can be expanded patterns; anything else leaves none.
            let strings: Vec<&crate::value::SigmaString> = alts
                .iter()
                .map_while(|a| match a {
                    Value::Str { s, .. } => Some(s),
                    _ => None,
                })
                .collect();
            let strings = if strings.len() == alts.len() {
                strings
            } else {
                vec![]
            };
            (string_kind(), cased, text(&strings))
        }
        Value::Num(_) | Value::Bool(_) | Value::TimePart { .. } => (
            if i.field.is_none() {
                Kind::Keyword
            } else {
                Kind::Eq
            },
            false,
            w(),
        ),
        Value::Null => (Kind::Null, false, vec![]),
        Value::Regex { flags, .. } => (Kind::Regex, !flags.contains('i'), w()),
        Value::Cidr(_) => (Kind::Cidr, false, w()),
        Value::Compare { op, .. } => {
            let k = match op {
                CmpOp::Lt => Kind::Lt,
                CmpOp::Lte => Kind::Lte,
                CmpOp::Gt => Kind::Gt,
                CmpOp::Gte => Kind::Gte,
            };
            (k, false, w())
        }
        // The referenced field is the value; `startswith`/`endswith`/`contains` stay in the
        // detection's modifiers.
        Value::FieldRef { field, .. } => (Kind::Fieldref, false, vec![ir::Value::opaque(field)]),
        Value::Exists(b) => (Kind::Exists, false, vec![ir::Value::opaque(b.to_string())]),
    }
}

/// The kind of a string test, from the item's modifiers.
fn string_kind_of(i: &DetectionItem) -> Kind {
    if i.field.is_none() {
        Kind::Keyword
    } else if i.modifiers.contains(&Modifier::Contains) {
        Kind::Contains
    } else if i.modifiers.contains(&Modifier::StartsWith) {
        Kind::StartsWith
    } else if i.modifiers.contains(&Modifier::EndsWith) {
        Kind::EndsWith
    } else {
        Kind::Eq
    }
}
