//! Canonical ES|QL text of a syntax tree. `parse(print(q))` is `q` again, spans aside: one line,
//! ` | ` between commands, upper-case keywords, command and function names, parentheses only
//! where precedence needs them, names backquoted only where needed (per part), strings as
//! `"""…"""` when they hold `"` or `\` (and can), `"…"` otherwise.

use super::ast::*;
use super::lexer;
use super::parser::is_keyword;

/// The canonical text of `q`.
pub fn print(q: &Query) -> String {
    let mut out = String::new();
    for (i, c) in q.commands.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        command(c, &mut out);
    }
    out
}

/// The canonical text of one command.
pub fn print_command(c: &Command) -> String {
    let mut out = String::new();
    command(c, &mut out);
    out
}

/// The canonical text of an expression.
pub fn print_expr(e: &Expr) -> String {
    let mut out = String::new();
    expr(e, 0, &mut out);
    out
}

fn join<T>(items: &[T], out: &mut String, mut f: impl FnMut(&T, &mut String)) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        f(x, out);
    }
}

/// A name in an expression: each part bare when it can be, backquoted otherwise.
pub fn name(n: &str, out: &mut String) {
    parts(n, lexer::is_plain_part, out);
}

/// A name pattern (`KEEP`, `DROP`, …).
pub fn pattern(n: &str, out: &mut String) {
    parts(n, lexer::is_plain_pattern_part, out);
}

fn parts(n: &str, plain: fn(&str) -> bool, out: &mut String) {
    for (i, part) in n.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        if plain(part) && !is_keyword(part) {
            out.push_str(part);
        } else {
            out.push('`');
            out.push_str(&part.replace('`', "``"));
            out.push('`');
        }
    }
}

fn source(s: &Source, out: &mut String) {
    if lexer::is_plain_source(&s.name) {
        out.push_str(&s.name);
    } else {
        out.push_str(&lexer::quote(&s.name));
    }
}

fn field(f: &Field, out: &mut String) {
    if let Some(n) = &f.name {
        name(&n.name, out);
        out.push_str(" = ");
    }
    expr(&f.value, 0, out);
}

fn command(c: &Command, out: &mut String) {
    match &c.kind {
        CommandKind::From { sources, metadata } => {
            out.push_str("FROM ");
            join(sources, out, source);
            if !metadata.is_empty() {
                out.push_str(" METADATA ");
                join(metadata, out, |n, out| pattern(&n.name, out));
            }
        }
        CommandKind::Row(fields) => {
            out.push_str("ROW ");
            join(fields, out, field);
        }
        CommandKind::Show(item) => {
            out.push_str("SHOW ");
            out.push_str(item);
        }
        CommandKind::Where(e) => {
            out.push_str("WHERE ");
            expr(e, 0, out);
        }
        CommandKind::Eval(fields) => {
            out.push_str("EVAL ");
            join(fields, out, field);
        }
        CommandKind::Stats(s) => {
            out.push_str(if s.inline { "INLINE STATS" } else { "STATS" });
            if !s.aggs.is_empty() {
                out.push(' ');
                join(&s.aggs, out, |a, out| {
                    field(&a.field, out);
                    if let Some(f) = &a.filter {
                        out.push_str(" WHERE ");
                        expr(f, 0, out);
                    }
                });
            }
            if !s.by.is_empty() {
                out.push_str(" BY ");
                join(&s.by, out, field);
            }
        }
        CommandKind::Keep(names) | CommandKind::Drop(names) => {
            out.push_str(if matches!(c.kind, CommandKind::Keep(_)) {
                "KEEP "
            } else {
                "DROP "
            });
            join(names, out, |n, out| pattern(&n.name, out));
        }
        CommandKind::Rename(r) => {
            out.push_str("RENAME ");
            join(r, out, |r, out| {
                pattern(&r.from.name, out);
                out.push_str(" AS ");
                pattern(&r.to.name, out);
            });
        }
        CommandKind::Sort(keys) => {
            out.push_str("SORT ");
            join(keys, out, |k, out| {
                expr(&k.expr, 0, out);
                match k.order {
                    Some(Order::Asc) => out.push_str(" ASC"),
                    Some(Order::Desc) => out.push_str(" DESC"),
                    None => {}
                }
                match k.nulls {
                    Some(Nulls::First) => out.push_str(" NULLS FIRST"),
                    Some(Nulls::Last) => out.push_str(" NULLS LAST"),
                    None => {}
                }
            });
        }
        CommandKind::Limit(e) => {
            out.push_str("LIMIT ");
            expr(e, 0, out);
        }
        CommandKind::Dissect {
            input,
            pattern,
            options,
        } => {
            out.push_str("DISSECT ");
            expr(input, POSTFIX, out);
            out.push(' ');
            expr(pattern, PRIMARY, out);
            if !options.is_empty() {
                out.push(' ');
                join(options, out, |o, out| {
                    out.push_str(&o.name);
                    out.push_str(" = ");
                    expr(&o.value, 0, out);
                });
            }
        }
        CommandKind::Grok { input, patterns } => {
            out.push_str("GROK ");
            expr(input, POSTFIX, out);
            out.push(' ');
            join(patterns, out, |p, out| expr(p, PRIMARY, out));
        }
        CommandKind::Enrich { policy, on, with } => {
            out.push_str("ENRICH ");
            source(policy, out);
            if let Some(n) = on {
                out.push_str(" ON ");
                pattern(&n.name, out);
            }
            if !with.is_empty() {
                out.push_str(" WITH ");
                join(with, out, |w, out| {
                    if let Some(n) = &w.name {
                        pattern(&n.name, out);
                        out.push_str(" = ");
                    }
                    pattern(&w.field.name, out);
                });
            }
        }
        CommandKind::MvExpand(n) => {
            out.push_str("MV_EXPAND ");
            name(&n.name, out);
        }
        CommandKind::LookupJoin { index, on } => {
            out.push_str("LOOKUP JOIN ");
            source(index, out);
            out.push_str(" ON ");
            join(on, out, |e, out| expr(e, 0, out));
        }
        CommandKind::Generic { name, args } => {
            out.push_str(name);
            for a in args {
                out.push(' ');
                out.push_str(a);
            }
        }
    }
}

const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const PRED: u8 = 4;
const CMP: u8 = 5;
const ADD: u8 = 6;
const MUL: u8 = 7;
const NEG: u8 = 8;
const POSTFIX: u8 = 9;
const PRIMARY: u8 = 10;

/// How tightly `e` binds: it needs parentheses where an operand of at least `min` is wanted
/// and `level(e) < min`.
fn level(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Or(_) => OR,
        ExprKind::And(_) => AND,
        ExprKind::Not(_) => NOT,
        ExprKind::In { .. }
        | ExprKind::IsNull { .. }
        | ExprKind::Like { .. }
        | ExprKind::Match { .. } => PRED,
        ExprKind::Binary { op, .. } => match op {
            BinOp::Add | BinOp::Sub => ADD,
            BinOp::Mul | BinOp::Div | BinOp::Mod => MUL,
            _ => CMP,
        },
        ExprKind::Neg(_) => NEG,
        ExprKind::Cast { .. } => POSTFIX,
        _ => PRIMARY,
    }
}

fn expr(e: &Expr, min: u8, out: &mut String) {
    if level(e) < min {
        out.push('(');
        expr(e, 0, out);
        out.push(')');
        return;
    }
    match &e.kind {
        ExprKind::Null => out.push_str("NULL"),
        ExprKind::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        ExprKind::Int(s) | ExprKind::Decimal(s) | ExprKind::Param(s) => out.push_str(s),
        ExprKind::Str(s) => out.push_str(&lexer::quote(s)),
        ExprKind::Duration { value, unit } => {
            out.push_str(value);
            out.push(' ');
            out.push_str(unit);
        }
        ExprKind::Field(n) => name(n, out),
        ExprKind::Star => out.push('*'),
        ExprKind::List(items) => {
            out.push('[');
            join(items, out, |e, out| expr(e, 0, out));
            out.push(']');
        }
        ExprKind::Map(entries) => {
            out.push('{');
            join(entries, out, |m, out| {
                out.push_str(&lexer::quote(&m.key));
                out.push_str(": ");
                expr(&m.value, 0, out);
            });
            out.push('}');
        }
        ExprKind::Call { name, args } => {
            out.push_str(name);
            out.push('(');
            join(args, out, |e, out| expr(e, 0, out));
            out.push(')');
        }
        ExprKind::Cast { expr: x, ty } => {
            expr(x, POSTFIX, out);
            out.push_str("::");
            out.push_str(ty);
        }
        ExprKind::Neg(x) => {
            out.push('-');
            expr(x, NEG, out);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (l, r) = match level(e) {
                ADD => (ADD, MUL),
                MUL => (MUL, NEG),
                _ => (ADD, ADD),
            };
            expr(lhs, l, out);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            expr(rhs, r, out);
        }
        ExprKind::And(items) | ExprKind::Or(items) => {
            let (sep, min) = if matches!(e.kind, ExprKind::And(_)) {
                (" AND ", NOT)
            } else {
                (" OR ", AND)
            };
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                expr(x, min, out);
            }
        }
        ExprKind::Not(x) => {
            out.push_str("NOT ");
            expr(x, NOT, out);
        }
        ExprKind::In {
            expr: x,
            list,
            negated,
        } => {
            expr(x, CMP, out);
            out.push_str(if *negated { " NOT IN (" } else { " IN (" });
            join(list, out, |e, out| expr(e, CMP, out));
            out.push(')');
        }
        ExprKind::IsNull { expr: x, negated } => {
            expr(x, CMP, out);
            out.push_str(if *negated { " IS NOT NULL" } else { " IS NULL" });
        }
        ExprKind::Like {
            expr: x,
            rlike,
            negated,
            patterns,
            list,
        } => {
            expr(x, CMP, out);
            out.push_str(if *negated { " NOT" } else { "" });
            out.push_str(if *rlike { " RLIKE " } else { " LIKE " });
            if *list {
                out.push('(');
            }
            join(patterns, out, |e, out| expr(e, PRIMARY, out));
            if *list {
                out.push(')');
            }
        }
        ExprKind::Match { field, query } => {
            expr(field, POSTFIX, out);
            out.push_str(" : ");
            expr(query, NEG, out);
        }
    }
}
