//! Writes an EQL tree back as text that parses to the same tree. Event queries and expressions
//! are one line; sequence/sample/join terms one per line, indented; each pipe on its own line.
//! Parentheses only where the structure needs them; strings double-quoted, or triple-quoted when
//! that spares backslashes (regular expressions, Windows paths).

use super::ast::*;
use super::lexer::{ident_char, ident_start};
use super::parser::{CONTEXTUAL, KEYWORDS};

pub fn print(q: &Query) -> String {
    let mut out = String::new();
    match &q.body {
        Body::Event(e) => event(e, &mut out),
        Body::Multi(m) => multi(m, &mut out),
    }
    for p in &q.pipes {
        out.push_str("\n| ");
        out.push_str(&p.name);
        for (i, a) in p.args.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            expr(a, &mut out);
        }
    }
    out
}

fn multi(m: &Multi, out: &mut String) {
    out.push_str(m.kind.as_str());
    keys(&m.by, out);
    if let Some(t) = &m.maxspan {
        out.push_str(" with maxspan=");
        out.push_str(&t.value);
        if let Some(u) = &t.unit {
            // `5 e3` is not `5e3`.
            if u.starts_with(['e', 'E']) {
                out.push(' ');
            }
            out.push_str(u);
        }
    }
    for t in &m.terms {
        out.push_str("\n  ");
        term(t, out);
    }
    if let Some(t) = &m.until {
        out.push_str("\nuntil ");
        term(t, out);
    }
}

fn keys(by: &[Expr], out: &mut String) {
    for (i, k) in by.iter().enumerate() {
        out.push_str(if i == 0 { " by " } else { ", " });
        expr(k, out);
    }
}

fn term(t: &Term, out: &mut String) {
    if t.missing {
        out.push('!');
    }
    out.push('[');
    event(&t.query, out);
    out.push(']');
    keys(&t.by, out);
    if let Some(n) = t.runs {
        out.push_str(&format!(" with runs={n}"));
    }
}

fn event(e: &EventQuery, out: &mut String) {
    if e.category == "any" || is_plain(&e.category, true) {
        out.push_str(&e.category);
    } else {
        string(&e.category, out);
    }
    out.push_str(" where ");
    expr(&e.condition, out);
}

/// How tightly an expression binds, to decide parentheses.
fn level(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Or(_) => 1,
        ExprKind::And(_) => 2,
        ExprKind::Not(_) | ExprKind::Relationship { .. } => 3,
        ExprKind::Compare { .. } | ExprKind::Match { .. } => 4,
        ExprKind::Arith { op, .. } => 4 + op.precedence(),
        ExprKind::Neg(_) | ExprKind::Plus(_) => 7,
        _ => 8,
    }
}

/// `e`, in parentheses when it binds less tightly than `min`.
fn operand(e: &Expr, min: u8, out: &mut String) {
    if level(e) < min {
        out.push('(');
        expr(e, out);
        out.push(')');
    } else {
        expr(e, out);
    }
}

/// Arithmetic level: the lowest an operand of a comparison or a sign can be without parentheses.
const ARITH: u8 = 5;

pub fn expr(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Or(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" or ");
                }
                operand(item, 2, out);
            }
        }
        ExprKind::And(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" and ");
                }
                operand(item, 3, out);
            }
        }
        ExprKind::Not(inner) => {
            out.push_str("not ");
            operand(inner, 3, out);
        }
        ExprKind::Relationship { relation, query } => {
            out.push_str(relation.as_str());
            out.push_str(" of [");
            event(query, out);
            out.push(']');
        }
        ExprKind::Compare { op, left, right } => {
            operand(left, ARITH, out);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            operand(right, ARITH, out);
        }
        ExprKind::Match {
            left,
            op,
            negated,
            values,
            list,
        } => {
            operand(left, ARITH, out);
            out.push_str(if *negated { " not " } else { " " });
            out.push_str(op.as_str());
            out.push(' ');
            if *list || values.len() != 1 {
                out.push('(');
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    expr(v, out);
                }
                out.push(')');
            } else {
                operand(&values[0], ARITH, out);
            }
        }
        ExprKind::Arith { op, left, right } => {
            let p = 4 + op.precedence();
            operand(left, p, out);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            operand(right, p + 1, out);
        }
        ExprKind::Neg(inner) | ExprKind::Plus(inner) => {
            out.push(if matches!(e.kind, ExprKind::Neg(_)) {
                '-'
            } else {
                '+'
            });
            operand(inner, 7, out);
        }
        ExprKind::Call {
            name,
            insensitive,
            args,
        } => {
            out.push_str(name);
            if *insensitive {
                out.push('~');
            }
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(a, out);
            }
            out.push(')');
        }
        ExprKind::Field(f) => field(f, out),
        ExprKind::Str(s) => string(s, out),
        ExprKind::Number(n) => out.push_str(n),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Null => out.push_str("null"),
    }
}

/// Whether `seg` lexes as a plain name segment (`first`: the first segment of a name).
fn is_plain(seg: &str, first: bool) -> bool {
    let mut chars = seg.chars();
    let Some(c) = chars.next() else { return false };
    (if first { ident_start(c) } else { ident_char(c) })
        && chars.all(ident_char)
        && !(first && (KEYWORDS.contains(&seg) || CONTEXTUAL.contains(&seg)))
}

pub fn field(f: &Field, out: &mut String) {
    if f.optional {
        out.push('?');
    }
    let single = f.path.len() == 1;
    for (i, seg) in f.path.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        // A keyword is a name only alone; `event.category` needs no backticks.
        let plain = if single {
            is_plain(seg, true)
        } else {
            is_plain(seg, false) && (i > 0 || seg.chars().next().is_some_and(ident_start))
        };
        if plain {
            out.push_str(seg);
        } else {
            out.push('`');
            out.push_str(&seg.replace('`', "``"));
            out.push('`');
        }
    }
}

pub fn string(s: &str, out: &mut String) {
    let raw_ok = s.contains('\\')
        && !s.contains("\"\"\"")
        && !s.ends_with('"')
        && !s.chars().any(char::is_control);
    if raw_ok {
        out.push_str("\"\"\"");
        out.push_str(s);
        out.push_str("\"\"\"");
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:02x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
