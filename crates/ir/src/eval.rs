//! Evaluating and rendering expressions, with references to other stages followed.
//!
//! [`eval`] decides an expression from the truth of its leaves (predicates and joins), which
//! the caller gives: a test gives them from generated truth assignments, an engine from an
//! event's fields. [`render`] writes an expression as one line of text for people.

use crate::{Expr, Kind, Logic};

/// Stages may refer to each other; a reference chain longer than this is a cycle.
pub(crate) const MAX_DEPTH: usize = 64;

/// The value of `e` in `logic` when each leaf ([`Expr::Pred`], [`Expr::Join`]) has the truth
/// `leaf` gives it. A reference to a stage without expression, or a cycle, is false.
pub fn eval(logic: &Logic, e: &Expr, leaf: &mut dyn FnMut(&Expr) -> bool) -> bool {
    eval_at(logic, e, leaf, 0)
}

fn eval_at(logic: &Logic, e: &Expr, leaf: &mut dyn FnMut(&Expr) -> bool, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match e {
        Expr::And(v) => v.iter().all(|e| eval_at(logic, e, leaf, depth + 1)),
        Expr::Or(v) => v.iter().any(|e| eval_at(logic, e, leaf, depth + 1)),
        Expr::Not(e) => !eval_at(logic, e, leaf, depth + 1),
        Expr::Stage(i) => match logic.stages.get(*i).and_then(|s| s.expr.as_ref()) {
            Some(e) => eval_at(logic, e, leaf, depth + 1),
            None => false,
        },
        Expr::Pred(_) | Expr::Join { .. } => leaf(e),
    }
}

/// `e` as one line: `Image ends_with "\svchost.exe" and CommandLine is null`; a reference to
/// another stage is written as that stage's expression, in parentheses when needed.
pub fn render(logic: &Logic, e: &Expr) -> String {
    let mut out = String::new();
    render_at(logic, e, &mut out, 0, false);
    out
}

fn render_at(logic: &Logic, e: &Expr, out: &mut String, depth: usize, nested: bool) {
    if depth > MAX_DEPTH {
        out.push('…');
        return;
    }
    let list = |v: &[Expr], op: &str, out: &mut String| {
        if nested && v.len() > 1 {
            out.push('(');
        }
        for (i, e) in v.iter().enumerate() {
            if i > 0 {
                out.push_str(op);
            }
            render_at(logic, e, out, depth + 1, true);
        }
        if nested && v.len() > 1 {
            out.push(')');
        }
    };
    match e {
        Expr::And(v) => list(v, " and ", out),
        Expr::Or(v) => list(v, " or ", out),
        Expr::Not(e) => {
            out.push_str("not ");
            render_at(logic, e, out, depth + 1, true);
        }
        Expr::Stage(i) => match logic.stages.get(*i).and_then(|s| s.expr.as_ref()) {
            Some(e) => render_at(logic, e, out, depth + 1, nested),
            None => out.push_str(logic.stages.get(*i).map_or("?", |s| s.label.as_str())),
        },
        Expr::Join { on, side } => {
            out.push_str(&format!("[{}] in rows where ", on.join(", ")));
            render_at(logic, side, out, depth + 1, true);
        }
        Expr::Pred(p) => {
            out.push_str(p.field.as_deref().unwrap_or("(keyword)"));
            match p.kind {
                Kind::Null => out.push_str(" is null"),
                Kind::Exists => out.push_str(" exists"),
                k => {
                    out.push(' ');
                    out.push_str(k.as_str());
                    for t in &p.transforms {
                        out.push('|');
                        out.push_str(t);
                    }
                    if p.case_sensitive {
                        out.push_str(" (case-sensitive)");
                    }
                    let quoted: Vec<String> = p.values.iter().map(|v| format!("\"{v}\"")).collect();
                    match quoted.len() {
                        1 => {
                            out.push(' ');
                            out.push_str(&quoted[0]);
                        }
                        _ => {
                            out.push_str(" any of (");
                            out.push_str(&quoted.join(", "));
                            out.push(')');
                        }
                    }
                }
            }
        }
    }
}
