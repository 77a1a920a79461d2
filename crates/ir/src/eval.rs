//! Evaluating and rendering expressions, with references to other stages followed.
//!
//! [`eval`] decides an expression from the truth of its leaves (predicates and joins), which
//! the caller gives: a test gives them from generated truth assignments, an engine from an
//! event's fields. [`render`] writes an expression as one line of text for people.

use crate::{Expr, Kind, Logic, Predicate};

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

/// An event as the IR evaluator reads it.
pub trait Fields {
    /// The values of `field` (`None` for a null value); `None` when the event lacks the field.
    fn values(&self, field: &str) -> Option<Vec<Option<&str>>>;
    /// Every non-null value of every field (for keyword searches).
    fn all_values(&self) -> Vec<&str>;
}

/// Whether the predicate holds for the event, by the meaning of its values' patterns (Sigma's
/// semantics: a field with several values holds when one does; `null` is a field absent, null
/// or empty). Transformed values (`base64offset`, `windash`, …) match by the patterns their
/// reader expanded them into. `None` when the IR alone cannot decide: transforms without
/// expansions, a placeholder, a regex outside the `regex` crate's syntax.
pub fn holds(p: &Predicate, ev: &dyn Fields) -> Option<bool> {
    let regex_flags =
        |t: &str| matches!(t, "i" | "m" | "s" | "ignorecase" | "multiline" | "dotall");
    // Transformed values are decided by the patterns the reader expanded them into.
    let transformed = p.kind != Kind::Regex && !p.transforms.is_empty()
        || p.transforms.iter().any(|t| !regex_flags(t));
    if transformed && p.values.iter().any(|v| v.expanded.is_empty()) {
        return None;
    }
    let field = || p.field.as_deref().and_then(|f| ev.values(f));
    let texts = || -> Vec<&str> {
        match &p.field {
            Some(_) => field().unwrap_or_default().into_iter().flatten().collect(),
            None => ev.all_values(),
        }
    };
    let number = |s: &str| s.trim().parse::<f64>().ok();
    Some(match p.kind {
        Kind::Null => field().is_none_or(|vs| vs.iter().all(|v| v.is_none_or(str::is_empty))),
        Kind::Exists => {
            let want = p.values.first().is_none_or(|v| v.written != "false");
            field().is_some() == want
        }
        Kind::Eq | Kind::Contains | Kind::StartsWith | Kind::EndsWith | Kind::Keyword => {
            let texts = texts();
            let mut any = false;
            for v in &p.values {
                if transformed {
                    for pat in &v.expanded {
                        if pat.has_placeholders() {
                            return None;
                        }
                        any |= texts.iter().any(|t| pat.matches(t, p.case_sensitive));
                    }
                    continue;
                }
                any |= match &v.pattern {
                    Some(pat) if pat.has_placeholders() => return None,
                    Some(pat) => texts.iter().any(|t| pat.matches(t, p.case_sensitive)),
                    // A number or boolean: equal as numbers, else as text, case aside.
                    None => texts.iter().any(|t| match (number(t), number(&v.written)) {
                        (Some(a), Some(b)) => a == b,
                        _ => t.to_lowercase() == v.written.to_lowercase(),
                    }),
                };
            }
            any
        }
        Kind::Regex => {
            let mut flags = String::new();
            if !p.case_sensitive {
                flags.push('i');
            }
            for t in &p.transforms {
                match t.as_str() {
                    "m" | "multiline" => flags.push('m'),
                    "s" | "dotall" => flags.push('s'),
                    _ => {}
                }
            }
            let texts = texts();
            let mut any = false;
            for v in &p.values {
                let re = if flags.is_empty() {
                    v.written.clone()
                } else {
                    format!("(?{flags}){}", v.written)
                };
                let re = regex::Regex::new(&re).ok()?;
                any |= texts.iter().any(|t| re.is_match(t));
            }
            any
        }
        Kind::Cidr => {
            let texts = texts();
            p.values.iter().any(|v| {
                texts
                    .iter()
                    .any(|t| t.trim().parse().is_ok_and(|ip| in_cidr(ip, &v.written)))
            })
        }
        Kind::Lt | Kind::Lte | Kind::Gt | Kind::Gte => {
            let texts = texts();
            let mut any = false;
            for v in &p.values {
                let b = number(&v.written)?;
                any |= texts
                    .iter()
                    .filter_map(|t| number(t))
                    .any(|a| match p.kind {
                        Kind::Lt => a < b,
                        Kind::Lte => a <= b,
                        Kind::Gt => a > b,
                        _ => a >= b,
                    });
            }
            any
        }
        // Equal to a value of the other field, case aside.
        Kind::Fieldref => {
            let texts = texts();
            p.values.iter().any(|v| {
                ev.values(&v.written)
                    .unwrap_or_default()
                    .into_iter()
                    .flatten()
                    .any(|o| texts.iter().any(|t| t.to_lowercase() == o.to_lowercase()))
            })
        }
    })
}

/// Is `ip` in the network written `net` (`10.0.0.0/8`, `fe80::/10`, or one address)?
fn in_cidr(ip: std::net::IpAddr, net: &str) -> bool {
    use std::net::IpAddr;
    let (addr, bits) = match net.split_once('/') {
        Some((a, b)) => (a, b.trim().parse::<u32>().ok()),
        None => (net, None),
    };
    let Ok(net) = addr.trim().parse::<IpAddr>() else {
        return false;
    };
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let bits = bits.unwrap_or(width);
    if bits > width {
        return false;
    }
    bits == 0 || a >> (width - bits) == b >> (width - bits)
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
