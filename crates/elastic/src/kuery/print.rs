//! Writes a kuery tree back as text that parses to the same tree: one line, `field: value`,
//! parentheses only where the structure needs them, literals escaped.

use super::ast::*;

/// The query as text.
pub fn print(q: &Query) -> String {
    let mut out = String::new();
    if let Some(e) = &q.expr {
        expr(e, &mut out);
    }
    out
}

fn expr(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Or(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" or ");
                }
                operand(item, matches!(item.kind, ExprKind::Or(_)), out);
            }
        }
        ExprKind::And(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" and ");
                }
                operand(
                    item,
                    matches!(item.kind, ExprKind::Or(_) | ExprKind::And(_)),
                    out,
                );
            }
        }
        ExprKind::Not(inner) => {
            out.push_str("not ");
            operand(
                inner,
                matches!(inner.kind, ExprKind::Or(_) | ExprKind::And(_)),
                out,
            );
        }
        ExprKind::Match { field, values } => {
            literal(field, out);
            out.push_str(": ");
            match &values.kind {
                ValueKind::Value(l) => literal(l, out),
                _ => {
                    out.push('(');
                    value(values, out);
                    out.push(')');
                }
            }
        }
        ExprKind::Range { field, op, value } => {
            literal(field, out);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            literal(value, out);
        }
        ExprKind::Nested { field, query } => {
            literal(field, out);
            out.push_str(": { ");
            expr(query, out);
            out.push_str(" }");
        }
        ExprKind::Value(l) => literal(l, out),
    }
}

fn operand(e: &Expr, parens: bool, out: &mut String) {
    if parens {
        out.push('(');
        expr(e, out);
        out.push(')');
    } else {
        expr(e, out);
    }
}

fn value(v: &ValueExpr, out: &mut String) {
    let operand = |item: &ValueExpr, parens: bool, out: &mut String| {
        if parens {
            out.push('(');
            value(item, out);
            out.push(')');
        } else {
            value(item, out);
        }
    };
    match &v.kind {
        ValueKind::Or(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" or ");
                }
                operand(item, matches!(item.kind, ValueKind::Or(_)), out);
            }
        }
        ValueKind::And(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" and ");
                }
                operand(
                    item,
                    matches!(item.kind, ValueKind::Or(_) | ValueKind::And(_)),
                    out,
                );
            }
        }
        ValueKind::Not(inner) => {
            out.push_str("not ");
            operand(
                inner,
                matches!(inner.kind, ValueKind::Or(_) | ValueKind::And(_)),
                out,
            );
        }
        ValueKind::Value(l) => literal(l, out),
    }
}

/// A literal as kuery text.
pub fn literal(l: &Literal, out: &mut String) {
    if l.quoted {
        out.push('"');
        for p in &l.parts {
            let t = match p {
                Part::Text(t) => t.as_str(),
                Part::Wildcard => "*",
            };
            for c in t.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
        }
        out.push('"');
        return;
    }
    for p in &l.parts {
        match p {
            Part::Wildcard => out.push('*'),
            Part::Text(t) => unquoted_text(t, out),
        }
    }
}

/// Text of an unquoted literal: special characters and whitespace other than spaces escaped, and
/// any word that reads as a keyword escaped (`\or`; `not` as `\u006eot`, since `\n` is a newline).
fn unquoted_text(t: &str, out: &mut String) {
    let mut word_start = true;
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        if word_start && c != ' ' {
            let len = rest.find([' ', '\t', '\r', '\n']).unwrap_or(rest.len());
            let word = &rest[..len];
            if ["and", "or", "not"]
                .iter()
                .any(|k| word.eq_ignore_ascii_case(k))
            {
                if let Some(rest) = word.strip_prefix('n') {
                    out.push_str("\\u006e");
                    out.push_str(rest);
                } else {
                    out.push('\\');
                    out.push_str(word);
                }
                rest = &rest[len..];
                word_start = false;
                continue;
            }
        }
        match c {
            '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
        word_start = matches!(c, ' ' | '\t' | '\r' | '\n');
        rest = &rest[c.len_utf8()..];
    }
}
