//! What every backend shares: the processed rule's conditions as one expression tree, and the
//! helpers each writer uses on its values.

use sigma::value::{Part, SigmaString, Value};

use crate::rule::{Cond, Node, Rule};

/// The condition tree after detections were substituted for their names (pySigma's parsed
/// condition after post-processing): groups with one operand are their operand, empty groups
/// disappear.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// A field compared with one value (`None`: a keyword).
    Eq(Option<String>, Value),
}

/// The fields an expression names, in order of first use.
pub fn fields_of<'e>(e: &'e Expr, out: &mut Vec<&'e str>) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| fields_of(x, out)),
        Expr::Not(x) => fields_of(x, out),
        Expr::Eq(Some(f), v) => {
            for f in std::iter::once(f.as_str()).chain(match v {
                Value::FieldRef { field, .. } => Some(field.as_str()),
                _ => None,
            }) {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        Expr::Eq(None, _) => {}
    }
}

pub fn group(v: Vec<Expr>, f: fn(Vec<Expr>) -> Expr) -> Option<Expr> {
    match v.len() {
        0 => None,
        1 => v.into_iter().next(),
        _ => Some(f(v)),
    }
}

pub fn build_cond(c: &Cond, rule: &Rule) -> Option<Expr> {
    match c {
        Cond::And(v) => group(
            v.iter().filter_map(|c| build_cond(c, rule)).collect(),
            Expr::And,
        ),
        Cond::Or(v) => group(
            v.iter().filter_map(|c| build_cond(c, rule)).collect(),
            Expr::Or,
        ),
        Cond::Not(x) => build_cond(x, rule).map(|e| Expr::Not(Box::new(e))),
        Cond::Ident(name) => rule
            .detections
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, d)| d.as_ref())
            .and_then(build_node),
    }
}

pub fn build_node(n: &Node) -> Option<Expr> {
    match n {
        Node::And(v) => group(v.iter().filter_map(build_node).collect(), Expr::And),
        Node::Or(v) => group(v.iter().filter_map(build_node).collect(), Expr::Or),
        Node::Item(i) => {
            let eqs: Vec<Expr> = i
                .values
                .iter()
                .map(|v| Expr::Eq(i.field.clone(), v.clone()))
                .collect();
            let e = group(eqs, if i.all { Expr::And } else { Expr::Or })?;
            Some(if i.negated { Expr::Not(Box::new(e)) } else { e })
        }
    }
}

pub fn is_special(s: &SigmaString) -> bool {
    s.parts.iter().any(|p| !matches!(p, Part::Lit(_)))
}

pub fn describe(v: &Value) -> String {
    match v {
        Value::Str { s, .. } => format!("\"{}\"", s.to_sigma()),
        Value::Num(n) => n.clone(),
        other => format!("{other:?}"),
    }
}

pub fn placeholder_error(name: &str) -> String {
    format!(
        "placeholder %{name}% has no value: add a `value_placeholders` (with `vars`) or `wildcard_placeholders` transformation"
    )
}

/// A Sigma regular expression with its flags as an inline group in front (`(?im)…`, flags
/// sorted), as pySigma writes it.
pub fn regex_text(pattern: &str, flags: &str) -> String {
    let mut fl: Vec<char> = flags.chars().collect();
    fl.sort_unstable();
    if fl.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{}){pattern}", fl.into_iter().collect::<String>())
    }
}
