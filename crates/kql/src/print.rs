//! Canonical KQL text of a syntax tree. `parse(print(q))` is `q` again, spans aside: statements
//! end with `;` and a newline, a statement's operators each start a line with `| `, nested
//! queries are written on one line, parentheses only where precedence needs them (and around a
//! subquery that is one item of a list), names in `['…']` only when they are not plain or
//! could be read as a keyword.

use crate::ast::*;
use crate::lexer;

/// The canonical text of `q`.
pub fn print(q: &Query) -> String {
    let mut out = String::new();
    statements(&q.statements, "\n", &mut out);
    out
}

/// The canonical text of one expression (scalar or tabular).
pub fn print_expr(e: &Expr) -> String {
    let mut out = String::new();
    tab(e, " | ", &mut out);
    out
}

/// Words that must be written `['…']` when they are names, so they are not read as keywords.
const RESERVED: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "between",
    "matches",
    "regex",
    "has_any",
    "has_all",
    "true",
    "false",
    "let",
    "set",
    "union",
    "print",
    "search",
    "find",
    "range",
    "by",
    "on",
    "with",
    "of",
    "to",
    "step",
    "from",
    "limit",
    "default",
    "asc",
    "desc",
    "nulls",
    "others",
    "typeof",
    "kind",
    "hint",
    "withsource",
    "isfuzzy",
    "bagexpansion",
    "with_itemindex",
    "flags",
    "dynamic",
    "datatable",
    "externaldata",
    "datetime",
    "time",
    "timespan",
    "guid",
    "as",
];

fn reserved(s: &str) -> bool {
    RESERVED.contains(&s) || StrOp::from_word(s).is_some()
}

/// A name as written: plain, or `["…"]` when it is not a plain identifier or is a keyword.
pub fn name_text(s: &str) -> String {
    if lexer::is_plain_ident(s) && !reserved(s) {
        s.to_string()
    } else {
        format!("[{}]", lexer::quote(s))
    }
}

/// A column pattern (`Initiating*`) as written.
fn pattern_text(s: &str) -> String {
    let ok = !s.is_empty()
        && s.contains('*')
        && s.split('*')
            .all(|seg| seg.is_empty() || (lexer::is_plain_ident(seg) && !reserved(seg)));
    if ok { s.to_string() } else { name_text(s) }
}

fn statements(stmts: &[Statement], nl: &str, out: &mut String) {
    for (i, s) in stmts.iter().enumerate() {
        if i > 0 {
            out.push(';');
            out.push_str(nl);
        }
        statement(s, out);
    }
}

fn statement(s: &Statement, out: &mut String) {
    match &s.kind {
        StatementKind::Let { name, value } => {
            out.push_str("let ");
            out.push_str(&name_text(&name.text));
            out.push_str(" = ");
            match value {
                LetValue::Expr(e) => tab(e, "\n| ", out),
                LetValue::Function { params, body, view } => {
                    if *view {
                        out.push_str("view ");
                    }
                    param_defs(params, out);
                    out.push_str(" {\n");
                    statements(body, "\n", out);
                    out.push_str("\n}");
                }
            }
        }
        StatementKind::Set { name, value } => {
            out.push_str("set ");
            out.push_str(&name.text);
            if let Some(v) = value {
                out.push_str(" = ");
                expr_at(v, 7, out);
            }
        }
        StatementKind::Expr(e) => tab(e, "\n| ", out),
    }
}

/// A tabular expression where one may stand unparenthesised; `sep` goes before each operator.
fn tab(e: &Expr, sep: &str, out: &mut String) {
    match &e.kind {
        ExprKind::Source(op) => operator(op, out),
        ExprKind::Pipe { source, ops } => {
            match &source.kind {
                ExprKind::Source(op) => operator(op, out),
                _ => expr_at(source, 1, out),
            }
            for op in ops {
                out.push_str(sep);
                operator(op, out);
            }
        }
        _ => expr_at(e, 1, out),
    }
}

/// A tabular expression inside parentheses or a call: on one line when it has one or two
/// operators, one operator a line otherwise.
fn nested(e: &Expr, out: &mut String) {
    let long = matches!(&e.kind, ExprKind::Pipe { ops, .. } if ops.len() > 2);
    tab(e, if long { "\n| " } else { " | " }, out);
}

/// `e` as an operand that needs at least precedence `min` (parenthesised otherwise).
fn expr_at(e: &Expr, min: u8, out: &mut String) {
    if e.precedence() < min {
        out.push('(');
        nested(e, out);
        out.push(')');
    } else {
        expr(e, out);
    }
}

fn list(items: &[Expr], out: &mut String) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        expr_at(x, 1, out);
    }
}

fn str_lit(s: &StrLit, out: &mut String) {
    if s.obfuscated {
        out.push('h');
    }
    match s.style {
        StrStyle::Plain => out.push_str(&lexer::quote(&s.value)),
        StrStyle::Verbatim => {
            out.push_str("@\"");
            out.push_str(&s.value.replace('"', "\"\""));
            out.push('"');
        }
        StrStyle::Multiline => {
            out.push_str("```");
            out.push_str(&s.value);
            out.push_str("```");
        }
    }
}

fn dynamic_value(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dynamic_value(x, out);
            }
            out.push(']');
        }
        ExprKind::Object(items) => {
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&lexer::quote(k));
                out.push_str(": ");
                dynamic_value(v, out);
            }
            out.push('}');
        }
        _ => {
            let mut s = String::new();
            expr_at(e, 1, &mut s);
            if s.starts_with(['[', '{']) {
                out.push('(');
                out.push_str(&s);
                out.push(')');
            } else {
                out.push_str(&s);
            }
        }
    }
}

fn column_defs(cols: &[ColumnDef], out: &mut String) {
    out.push('(');
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&name_text(&c.name.text));
        out.push(':');
        out.push_str(&c.ty);
    }
    out.push(')');
}

/// `(op | op …)`.
fn sub_operators(ops: &[Operator], out: &mut String) {
    out.push('(');
    for (i, o) in ops.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        operator(o, out);
    }
    out.push(')');
}

fn find_columns(cols: &[FindColumn], out: &mut String) {
    for (i, c) in cols.iter().enumerate() {
        out.push_str(if i > 0 { ", " } else { " " });
        match c {
            FindColumn::Column { name, ty } => {
                out.push_str(&name_text(&name.text));
                if let Some(t) = ty {
                    out.push(':');
                    out.push_str(t);
                }
            }
            FindColumn::Pack => out.push_str("pack(*)"),
            FindColumn::Star => out.push('*'),
        }
    }
}

/// `(name:type [= default], …)`.
fn param_defs(params: &[Param], out: &mut String) {
    out.push('(');
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&name_text(&p.name.text));
        out.push(':');
        out.push_str(&p.ty);
        if let Some(d) = &p.default {
            out.push_str(" = ");
            expr_at(d, 1, out);
        }
    }
    out.push(')');
}

fn kv_list(items: &[OptParam], out: &mut String) {
    out.push('(');
    for (i, p) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&name_text(&p.name));
        out.push('=');
        expr(&p.value, out);
    }
    out.push(')');
}

fn expr(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Ident(s) => out.push_str(&name_text(s)),
        ExprKind::Pattern(s) => out.push_str(s),
        ExprKind::Str(s) => str_lit(s, out),
        ExprKind::Number(s) | ExprKind::Timespan(s) => out.push_str(s),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Typed { ty, raw } => {
            out.push_str(ty);
            out.push('(');
            out.push_str(raw);
            out.push(')');
        }
        ExprKind::Dynamic(v) => {
            out.push_str("dynamic(");
            dynamic_value(v, out);
            out.push(')');
        }
        ExprKind::Array(_) | ExprKind::Object(_) => dynamic_value(e, out),
        ExprKind::Star => out.push('*'),
        ExprKind::Call { name, args } => {
            out.push_str(name);
            out.push('(');
            if let [only] = args.as_slice() {
                nested(only, out);
            } else {
                list(args, out);
            }
            out.push(')');
        }
        ExprKind::NamedArg { name, value } => {
            out.push_str(&name_text(&name.text));
            out.push_str(" = ");
            expr_at(value, 1, out);
        }
        ExprKind::Member { expr, name } => {
            expr_at(expr, 7, out);
            out.push('.');
            // After `.`, a name starting with a digit would lex as the decimals of a number
            // (`0.12ab`): quote it.
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                out.push_str(&format!("[{}]", lexer::quote(name)));
            } else {
                out.push_str(&name_text(name));
            }
        }
        ExprKind::Index { expr, index } => {
            expr_at(expr, 7, out);
            out.push('[');
            expr_at(index, 1, out);
            out.push(']');
        }
        ExprKind::Neg(x) => {
            out.push('-');
            expr_at(x, 6, out);
        }
        ExprKind::Plus(x) => {
            out.push('+');
            expr_at(x, 6, out);
        }
        ExprKind::Not(x) => {
            out.push_str("not(");
            expr_at(x, 1, out);
            out.push(')');
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let p = op.precedence();
            expr_at(lhs, p, out);
            out.push(' ');
            out.push_str(&op.text());
            out.push(' ');
            expr_at(rhs, p + 1, out);
        }
        ExprKind::And(items) | ExprKind::Or(items) => {
            let (word, min) = if matches!(e.kind, ExprKind::And(_)) {
                (" and ", 3)
            } else {
                (" or ", 2)
            };
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(word);
                }
                expr_at(x, min, out);
            }
        }
        ExprKind::List { op, expr, list: l } => {
            expr_at(expr, 3, out);
            out.push(' ');
            out.push_str(op.text());
            out.push_str(" (");
            list(l, out);
            out.push(')');
        }
        ExprKind::Between {
            negated,
            expr,
            low,
            high,
        } => {
            expr_at(expr, 3, out);
            out.push_str(if *negated {
                " !between ("
            } else {
                " between ("
            });
            expr_at(low, 1, out);
            out.push_str(" .. ");
            expr_at(high, 1, out);
            out.push(')');
        }
        ExprKind::Datatable { columns, values } => {
            out.push_str("datatable");
            column_defs(columns, out);
            out.push_str(" [");
            list(values, out);
            out.push(']');
        }
        ExprKind::Externaldata {
            columns,
            urls,
            with,
        } => {
            out.push_str("externaldata");
            column_defs(columns, out);
            out.push_str(" [");
            list(urls, out);
            out.push(']');
            if !with.is_empty() {
                out.push_str(" with ");
                kv_list(with, out);
            }
        }
        ExprKind::Source(_) | ExprKind::Pipe { .. } => tab(e, " | ", out),
    }
}

fn params(ps: &[OptParam], out: &mut String) {
    for p in ps {
        out.push(' ');
        out.push_str(&p.name);
        out.push('=');
        expr(&p.value, out);
    }
}

fn assign(a: &Assign, out: &mut String) {
    match a.names.as_slice() {
        [] => {}
        [one] => {
            out.push_str(&name_text(&one.text));
            out.push_str(" = ");
        }
        many => {
            out.push('(');
            for (i, n) in many.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&name_text(&n.text));
            }
            out.push_str(") = ");
        }
    }
    expr_at(&a.value, 1, out);
}

fn assigns(items: &[Assign], out: &mut String) {
    for (i, a) in items.iter().enumerate() {
        out.push_str(if i > 0 { ", " } else { " " });
        assign(a, out);
    }
}

fn sort_keys(keys: &[SortKey], out: &mut String) {
    for (i, k) in keys.iter().enumerate() {
        out.push_str(if i > 0 { ", " } else { " " });
        expr_at(&k.expr, 1, out);
        match k.order {
            Some(Order::Asc) => out.push_str(" asc"),
            Some(Order::Desc) => out.push_str(" desc"),
            None => {}
        }
        match k.nulls {
            Some(Nulls::First) => out.push_str(" nulls first"),
            Some(Nulls::Last) => out.push_str(" nulls last"),
            None => {}
        }
    }
}

fn names(items: &[Name], out: &mut String) {
    for (i, n) in items.iter().enumerate() {
        out.push_str(if i > 0 { ", " } else { " " });
        out.push_str(&pattern_text(&n.text));
    }
}

fn tables(items: &[Expr], out: &mut String) {
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        expr_at(t, 7, out);
    }
}

fn mv_items(items: &[MvItem], out: &mut String) {
    for (i, it) in items.iter().enumerate() {
        out.push_str(if i > 0 { ", " } else { " " });
        assign(&it.assign, out);
        if let Some(t) = &it.to_type {
            out.push_str(" to typeof(");
            out.push_str(t);
            out.push(')');
        }
    }
}

fn operator(op: &Operator, out: &mut String) {
    use OperatorKind as O;
    match &op.kind {
        O::Where(e) => {
            out.push_str("where ");
            expr_at(e, 1, out);
        }
        O::Extend(a) => {
            out.push_str("extend");
            assigns(a, out);
        }
        O::Project(a) => {
            out.push_str("project");
            assigns(a, out);
        }
        O::ProjectAway(n) => {
            out.push_str("project-away");
            names(n, out);
        }
        O::ProjectKeep(n) => {
            out.push_str("project-keep");
            names(n, out);
        }
        O::ProjectRename(pairs) => {
            out.push_str("project-rename");
            for (i, (new, old)) in pairs.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(&name_text(&new.text));
                out.push_str(" = ");
                out.push_str(&name_text(&old.text));
            }
        }
        O::ProjectReorder(items) => {
            out.push_str("project-reorder");
            for (i, (n, dir)) in items.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(&pattern_text(&n.text));
                if let Some(d) = dir {
                    out.push(' ');
                    out.push_str(d);
                }
            }
        }
        O::Summarize {
            params: p,
            aggs,
            by,
        } => {
            out.push_str("summarize");
            params(p, out);
            assigns(aggs, out);
            if !by.is_empty() {
                out.push_str(" by");
                assigns(by, out);
            }
        }
        O::Join {
            params: p,
            right,
            on,
        }
        | O::Lookup {
            params: p,
            right,
            on,
        } => {
            out.push_str(if matches!(op.kind, O::Join { .. }) {
                "join"
            } else {
                "lookup"
            });
            params(p, out);
            out.push(' ');
            expr_at(right, 7, out);
            if !on.is_empty() {
                out.push_str(" on ");
                list(on, out);
            }
        }
        O::Union {
            params: p,
            tables: t,
        } => {
            out.push_str("union");
            params(p, out);
            out.push(' ');
            tables(t, out);
        }
        O::Distinct { params: p, columns } => {
            out.push_str("distinct");
            params(p, out);
            assigns(columns, out);
        }
        O::Top { count, by } => {
            out.push_str("top ");
            expr_at(count, 1, out);
            out.push_str(" by");
            sort_keys(by, out);
        }
        O::Sort { params: p, by } => {
            out.push_str("sort");
            params(p, out);
            out.push_str(" by");
            sort_keys(by, out);
        }
        O::Take(e) => {
            out.push_str("take ");
            expr_at(e, 1, out);
        }
        O::Count => out.push_str("count"),
        O::Getschema => out.push_str("getschema"),
        O::MvExpand {
            params: p,
            items,
            limit,
        }
        | O::MvApply {
            params: p,
            items,
            limit,
            ..
        } => {
            out.push_str(if matches!(op.kind, O::MvExpand { .. }) {
                "mv-expand"
            } else {
                "mv-apply"
            });
            params(p, out);
            mv_items(items, out);
            if let Some(l) = limit {
                out.push_str(" limit ");
                expr_at(l, 1, out);
            }
            if let O::MvApply { on, .. } = &op.kind {
                out.push_str(" on (");
                for (i, o) in on.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" | ");
                    }
                    operator(o, out);
                }
                out.push(')');
            }
        }
        O::Parse {
            where_,
            params: p,
            source,
            pattern,
        } => {
            out.push_str(if *where_ { "parse-where" } else { "parse" });
            params(p, out);
            out.push(' ');
            expr_at(source, 1, out);
            out.push_str(" with");
            for part in pattern {
                out.push(' ');
                match part {
                    ParsePart::Str(s) => str_lit(s, out),
                    ParsePart::Star => out.push('*'),
                    ParsePart::Column { name, ty } => {
                        out.push_str(&name_text(&name.text));
                        if let Some(t) = ty {
                            out.push(':');
                            out.push_str(t);
                        }
                    }
                }
            }
        }
        O::ParseKv {
            source,
            columns,
            with,
        } => {
            out.push_str("parse-kv ");
            expr_at(source, 1, out);
            out.push_str(" as ");
            column_defs(columns, out);
            if !with.is_empty() {
                out.push_str(" with ");
                kv_list(with, out);
            }
        }
        O::Evaluate {
            params: p,
            call,
            schema,
        } => {
            out.push_str("evaluate");
            params(p, out);
            out.push(' ');
            expr_at(call, 7, out);
            if let Some(s) = schema {
                out.push_str(" : ");
                column_defs(s, out);
            }
        }
        O::Find {
            params: p,
            tables: t,
            predicate,
            project,
            project_away,
        } => {
            out.push_str("find");
            params(p, out);
            if let Some(t) = t {
                out.push_str(" in (");
                tables(t, out);
                out.push(')');
            }
            out.push_str(" where ");
            expr_at(predicate, 1, out);
            match project {
                Some(FindProject::Smart) => out.push_str(" project-smart"),
                Some(FindProject::Columns(c)) => {
                    out.push_str(" project");
                    find_columns(c, out);
                }
                None => {}
            }
            if let Some(c) = project_away {
                out.push_str(" project-away");
                find_columns(c, out);
            }
        }
        O::Fork(branches) => {
            out.push_str("fork");
            for b in branches {
                out.push(' ');
                if let Some(n) = &b.name {
                    out.push_str(&name_text(&n.text));
                    out.push_str(" = ");
                }
                sub_operators(&b.ops, out);
            }
        }
        O::Facet { by, with } => {
            out.push_str("facet by ");
            tables(by, out);
            if !with.is_empty() {
                out.push_str(" with ");
                sub_operators(with, out);
            }
        }
        O::Partition {
            params: p,
            by,
            in_,
            body,
        } => {
            out.push_str("partition");
            params(p, out);
            out.push_str(" by ");
            expr_at(by, 7, out);
            if let Some(i) = in_ {
                out.push_str(" in ");
                expr_at(i, 7, out);
            }
            out.push(' ');
            match body {
                PartitionBody::Ops(ops) => sub_operators(ops, out),
                PartitionBody::Query(q) => {
                    out.push_str("{ ");
                    nested(q, out);
                    out.push_str(" }");
                }
            }
        }
        O::Scan {
            params: p,
            order_by,
            partition_by,
            declare,
            steps,
        } => {
            out.push_str("scan");
            params(p, out);
            if !order_by.is_empty() {
                out.push_str(" order by");
                sort_keys(order_by, out);
            }
            if !partition_by.is_empty() {
                out.push_str(" partition by ");
                list(partition_by, out);
            }
            if !declare.is_empty() {
                out.push_str(" declare ");
                param_defs(declare, out);
            }
            out.push_str(" with (");
            for s in steps {
                out.push_str(" step ");
                out.push_str(&name_text(&s.name.text));
                if s.optional {
                    out.push_str(" optional");
                }
                if let Some(o) = &s.output {
                    out.push_str(" output=");
                    out.push_str(o);
                }
                out.push_str(": ");
                expr_at(&s.condition, 1, out);
                for (i, (n, e)) in s.assigns.iter().enumerate() {
                    out.push_str(if i > 0 { ", " } else { " => " });
                    out.push_str(&name_text(&n.text));
                    out.push_str(" = ");
                    expr_at(e, 1, out);
                }
                out.push(';');
            }
            out.push_str(" )");
        }
        O::Invoke(e) => {
            out.push_str("invoke ");
            expr_at(e, 7, out);
        }
        O::MakeSeries {
            params: p,
            aggs,
            on,
            range,
            by,
        } => {
            out.push_str("make-series");
            params(p, out);
            for (i, a) in aggs.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                assign(&a.assign, out);
                if let Some(d) = &a.default {
                    out.push_str(" default = ");
                    expr_at(d, 1, out);
                }
            }
            out.push_str(" on ");
            expr_at(on, 7, out);
            match &**range {
                SeriesRange::FromTo { from, to, step } => {
                    if let Some(f) = from {
                        out.push_str(" from ");
                        expr_at(f, 1, out);
                    }
                    if let Some(t) = to {
                        out.push_str(" to ");
                        expr_at(t, 1, out);
                    }
                    out.push_str(" step ");
                    expr_at(step, 1, out);
                }
                SeriesRange::InRange(e) => {
                    out.push_str(" in ");
                    expr_at(e, 7, out);
                }
            }
            if !by.is_empty() {
                out.push_str(" by");
                assigns(by, out);
            }
        }
        O::Render { chart, with } => {
            out.push_str("render ");
            out.push_str(&name_text(&chart.text));
            if !with.is_empty() {
                out.push_str(" with ");
                kv_list(with, out);
            }
        }
        O::As { params: p, name } => {
            out.push_str("as");
            params(p, out);
            out.push(' ');
            out.push_str(&name_text(&name.text));
        }
        O::Serialize(a) => {
            out.push_str("serialize");
            assigns(a, out);
        }
        O::Sample(e) => {
            out.push_str("sample ");
            expr_at(e, 1, out);
        }
        O::SampleDistinct { count, of } => {
            out.push_str("sample-distinct ");
            expr_at(count, 1, out);
            out.push_str(" of ");
            expr_at(of, 1, out);
        }
        O::Search {
            params: p,
            tables: t,
            predicate,
        } => {
            out.push_str("search");
            params(p, out);
            if let Some(t) = t {
                out.push_str(" in (");
                tables(t, out);
                out.push(')');
            }
            out.push(' ');
            expr_at(predicate, 1, out);
        }
        O::TopNested(levels) => {
            for (i, l) in levels.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str("top-nested");
                if let Some(c) = &l.count {
                    out.push(' ');
                    expr_at(c, 1, out);
                }
                out.push_str(" of ");
                assign(&l.of, out);
                if let Some(o) = &l.others {
                    out.push_str(" with others = ");
                    expr_at(o, 1, out);
                }
                out.push_str(" by ");
                assign(&l.by, out);
                match l.order {
                    Some(Order::Asc) => out.push_str(" asc"),
                    Some(Order::Desc) => out.push_str(" desc"),
                    None => {}
                }
            }
        }
        O::Print(a) => {
            out.push_str("print");
            assigns(a, out);
        }
        O::Range {
            name,
            from,
            to,
            step,
        } => {
            out.push_str("range ");
            out.push_str(&name_text(&name.text));
            out.push_str(" from ");
            expr_at(from, 1, out);
            out.push_str(" to ");
            expr_at(to, 1, out);
            out.push_str(" step ");
            expr_at(step, 1, out);
        }
        O::Generic { name, tokens } => {
            out.push_str(name);
            for t in tokens {
                out.push(' ');
                out.push_str(t);
            }
        }
    }
}
