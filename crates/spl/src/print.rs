//! Canonical SPL text of a syntax tree. `parse(print(p))` is `p` again, spans aside: one space
//! between arguments, ` | ` between commands, parentheses only where precedence needs them,
//! options before fields, implicit `AND` in searches, upper-case operators in expressions.

use crate::ast::*;
use crate::lexer;

/// The canonical text of `p`.
pub fn print(p: &Pipeline) -> String {
    let mut out = String::new();
    pipeline(p, &mut out);
    out
}

/// The canonical text of a search-language expression.
pub fn print_search(e: &SearchExpr) -> String {
    let mut out = String::new();
    search(e, &mut out);
    out
}

/// The canonical text of an `eval`/`where` expression.
pub fn print_expr(e: &Expr) -> String {
    let mut out = String::new();
    expr(e, &mut out);
    out
}

fn pipeline(p: &Pipeline, out: &mut String) {
    if p.leading_pipe {
        out.push_str("| ");
    }
    for (i, c) in p.commands.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        command(c, out);
    }
}

/// Appends `s` after a space (none at the very start of a command's text).
fn sep(out: &mut String) {
    // After a space, `[` or `(` no separator is needed, unless a backslash escapes it: then it
    // belongs to the word before it (`8\ `, `\(`).
    let Some(last) = out.chars().next_back() else {
        return;
    };
    let before = &out[..out.len() - last.len_utf8()];
    let escaped = before.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1;
    if escaped || !matches!(last, ' ' | '[' | '(') {
        out.push(' ');
    }
}

fn word(w: &Word, out: &mut String) {
    if w.quoted {
        out.push_str(&lexer::quote(&w.text));
    } else {
        out.push_str(&w.text);
    }
}

fn words(ws: &[Word], out: &mut String) {
    for w in ws {
        sep(out);
        word(w, out);
    }
}

fn opts(os: &[Opt], out: &mut String) {
    for o in os {
        sep(out);
        out.push_str(&o.key);
        out.push('=');
        match &o.value {
            OptValue::Word(w) => word(w, out),
            OptValue::Search(e) => {
                out.push('(');
                search(e, out);
                out.push(')');
            }
            OptValue::Eval(e) => {
                out.push_str("eval(");
                expr(e, out);
                out.push(')');
            }
        }
    }
}

fn macro_call(m: &MacroCall, out: &mut String) {
    out.push('`');
    out.push_str(&m.name);
    if !m.args.is_empty() {
        out.push('(');
        out.push_str(&m.args.join(", "));
        out.push(')');
    }
    out.push('`');
}

fn subsearch(p: &Pipeline, out: &mut String) {
    out.push('[');
    pipeline(p, out);
    out.push(']');
}

fn agg(a: &Agg, out: &mut String) {
    out.push_str(&a.func);
    if !a.args.is_empty() {
        out.push('(');
        for (i, x) in a.args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match x {
                AggArg::Field(w) => word(w, out),
                AggArg::Eval(e) => {
                    out.push_str("eval(");
                    expr(e, out);
                    out.push(')');
                }
            }
        }
        out.push(')');
    }
    if let Some(al) = &a.alias {
        out.push_str(" as ");
        word(al, out);
    }
}

fn lookup_fields(fs: &[LookupField], out: &mut String) {
    for (i, f) in fs.iter().enumerate() {
        // After a field, a bare `as` would read as its alias: a comma keeps it a field.
        if i > 0 && !f.field.quoted && f.field.text.eq_ignore_ascii_case("as") {
            out.push(',');
        }
        sep(out);
        word(&f.field, out);
        if let Some(a) = &f.alias {
            out.push_str(" as ");
            word(a, out);
        }
    }
}

fn field(f: &Field, out: &mut String) {
    if f.quoted {
        out.push('\'');
        out.push_str(&f.name);
        out.push('\'');
    } else {
        out.push_str(&f.name);
    }
}

fn command(c: &Command, out: &mut String) {
    // Work in a local buffer so `sep` sees the start of the command.
    let mut s = String::new();
    let o = &mut s;
    match &c.kind {
        CommandKind::Search { explicit, expr } => {
            if *explicit {
                o.push_str("search");
            }
            if let Some(e) = expr {
                sep(o);
                search(e, o);
            }
        }
        CommandKind::Where(e) => {
            o.push_str("where ");
            expr(e, o);
        }
        CommandKind::Eval(assigns) => {
            o.push_str("eval ");
            for (i, a) in assigns.iter().enumerate() {
                if i > 0 {
                    o.push_str(", ");
                }
                field(&a.field, o);
                o.push('=');
                expr(&a.value, o);
            }
        }
        CommandKind::Stats(st) => {
            o.push_str(st.kind.name());
            opts(&st.options, o);
            for m in &st.macros {
                sep(o);
                macro_call(m, o);
            }
            for a in &st.aggs {
                sep(o);
                agg(a, o);
            }
            if let Some(f) = &st.from {
                o.push_str(" from datamodel=");
                word(f, o);
            }
            if let Some(f) = &st.filter {
                o.push_str(" where ");
                search(f, o);
            }
            if !st.by.is_empty() || !st.by_options.is_empty() {
                o.push_str(" by");
                words(&st.by, o);
                opts(&st.by_options, o);
            }
        }
        CommandKind::From { kind, dataset } => {
            o.push_str("from ");
            o.push_str(kind);
            // `kind:dataset` keeps a bare dataset one word whatever `kind` ends with.
            o.push(if dataset.quoted { ' ' } else { ':' });
            word(dataset, o);
        }
        CommandKind::Datamodel(ws) => {
            o.push_str("datamodel");
            words(ws, o);
        }
        CommandKind::Rename(pairs) => {
            o.push_str("rename ");
            for (i, (a, b)) in pairs.iter().enumerate() {
                if i > 0 {
                    o.push_str(", ");
                }
                word(a, o);
                o.push_str(" as ");
                word(b, o);
            }
        }
        CommandKind::Rex { options, regex } => {
            o.push_str("rex");
            opts(options, o);
            sep(o);
            word(regex, o);
        }
        CommandKind::Regex {
            field,
            negated,
            regex,
        } => {
            o.push_str("regex ");
            if let Some(f) = field {
                word(f, o);
                o.push_str(if *negated { "!=" } else { "=" });
            }
            word(regex, o);
        }
        CommandKind::Lookup(l) => {
            o.push_str("lookup");
            opts(&l.options, o);
            sep(o);
            word(&l.table, o);
            lookup_fields(&l.inputs, o);
            if let Some((new, fs)) = &l.output {
                o.push_str(if *new { " OUTPUTNEW" } else { " OUTPUT" });
                lookup_fields(fs, o);
            }
        }
        CommandKind::Inputlookup {
            options,
            table,
            filter,
        } => {
            o.push_str("inputlookup");
            opts(options, o);
            sep(o);
            word(table, o);
            if let Some(f) = filter {
                o.push_str(" where ");
                search(f, o);
            }
        }
        CommandKind::Join {
            options,
            fields,
            subsearch: sub,
        } => {
            o.push_str("join");
            opts(options, o);
            for (i, f) in fields.iter().enumerate() {
                o.push_str(if i == 0 { " " } else { ", " });
                word(f, o);
            }
            o.push(' ');
            subsearch(sub, o);
        }
        CommandKind::Append {
            options,
            subsearch: sub,
        } => {
            o.push_str("append");
            opts(options, o);
            o.push(' ');
            subsearch(sub, o);
        }
        CommandKind::Sort { count, keys } => {
            o.push_str("sort");
            if let Some(c) = count {
                sep(o);
                word(c, o);
            }
            for (i, k) in keys.iter().enumerate() {
                o.push_str(if i == 0 { " " } else { ", " });
                match k.sign {
                    Some(Sign::Plus) => o.push('+'),
                    Some(Sign::Minus) => o.push('-'),
                    None => {}
                }
                match &k.func {
                    Some(f) => {
                        o.push_str(f);
                        o.push('(');
                        word(&k.field, o);
                        o.push(')');
                    }
                    None => word(&k.field, o),
                }
            }
        }
        CommandKind::Convert { options, items } => {
            o.push_str("convert");
            opts(options, o);
            for a in items {
                sep(o);
                agg(a, o);
            }
        }
        CommandKind::Fields(f) => {
            o.push_str(&f.name);
            match f.sign {
                Some(Sign::Plus) => o.push_str(" +"),
                Some(Sign::Minus) => o.push_str(" -"),
                None => {}
            }
            opts(&f.options, o);
            // The parser takes the first `as` for the alias: when a field is the word `as`
            // itself, the alias goes first so that it stays the first.
            let as_field = f
                .fields
                .iter()
                .any(|w| !w.quoted && w.text.eq_ignore_ascii_case("as"));
            let alias = |o: &mut String| {
                if let Some(a) = &f.alias {
                    o.push_str(" as ");
                    word(a, o);
                }
            };
            if as_field {
                alias(o);
            }
            words(&f.fields, o);
            if !as_field {
                alias(o);
            }
        }
        CommandKind::Macro { call, args } => {
            macro_call(call, o);
            generic_args(args, o);
        }
        CommandKind::Generic { name, args } => {
            o.push_str(name);
            generic_args(args, o);
        }
    }
    out.push_str(&s);
}

fn generic_args(args: &[Arg], out: &mut String) {
    for a in args {
        out.push(' ');
        match a {
            Arg::Raw(r) => out.push_str(r),
            Arg::Subsearch(p) => subsearch(p, out),
        }
    }
}

fn search(e: &SearchExpr, out: &mut String) {
    let grouped = |e: &SearchExpr, out: &mut String| {
        if matches!(e.kind, SearchKind::And(_) | SearchKind::Or(_)) {
            out.push('(');
            search(e, out);
            out.push(')');
        } else {
            search(e, out);
        }
    };
    match &e.kind {
        SearchKind::And(v) => {
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                // An OR inside an AND needs no parentheses (OR binds tighter).
                if matches!(x.kind, SearchKind::Or(_)) {
                    search(x, out);
                } else {
                    grouped(x, out);
                }
            }
        }
        SearchKind::Or(v) => {
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push_str(" OR ");
                }
                // OR binds tighter than AND in a search: an AND inside an OR needs parentheses.
                grouped(x, out);
            }
        }
        SearchKind::Not(x) => {
            out.push_str("NOT ");
            grouped(x, out);
        }
        SearchKind::Compare { field, op, value } => {
            word(field, out);
            // `a! = g` compares the field `a!`: written `a!=g` it would be `a != g`.
            let glued = |w: &Word, at_end: bool| {
                let c = if at_end {
                    w.text.chars().next_back()
                } else {
                    w.text.chars().next()
                };
                !w.quoted && matches!(c, Some('!' | '<' | '>' | '='))
            };
            let spaced = glued(field, true) || glued(value, false);
            if spaced {
                out.push(' ');
            }
            out.push_str(op.as_str());
            if spaced {
                out.push(' ');
            }
            word(value, out);
        }
        SearchKind::In { field, values } => {
            word(field, out);
            out.push_str(" IN (");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match &v.kind {
                    SearchKind::Term(w) => word(w, out),
                    _ => search(v, out),
                }
            }
            out.push(')');
        }
        // A bare `by` ends a `tstats … where` filter: in parentheses it is a term anywhere.
        SearchKind::Term(w) if !w.quoted && w.text.eq_ignore_ascii_case("by") => {
            out.push('(');
            word(w, out);
            out.push(')');
        }
        SearchKind::Term(w) => word(w, out),
        SearchKind::TermFn(w) => {
            out.push_str("TERM(");
            word(w, out);
            out.push(')');
        }
        SearchKind::CaseFn(w) => {
            out.push_str("CASE(");
            word(w, out);
            out.push(')');
        }
        SearchKind::Macro(m) => macro_call(m, out),
        SearchKind::Subsearch(p) => subsearch(p, out),
    }
}

fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Not(_) => 3,
        ExprKind::In { .. } => 4,
        ExprKind::Neg(_) => 7,
        _ => 8,
    }
}

fn paren(e: &Expr, needed: bool, out: &mut String) {
    if needed {
        out.push('(');
        expr(e, out);
        out.push(')');
    } else {
        expr(e, out);
    }
}

fn expr(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs } => {
            let p = op.precedence();
            paren(lhs, precedence(lhs) < p, out);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            paren(rhs, precedence(rhs) <= p, out);
        }
        ExprKind::Not(x) => {
            out.push_str("NOT ");
            paren(x, precedence(x) < 3, out);
        }
        ExprKind::Neg(x) => {
            out.push('-');
            paren(x, precedence(x) < 7, out);
        }
        ExprKind::In { expr: x, list } => {
            paren(x, precedence(x) < 4, out);
            out.push_str(" IN (");
            for (i, a) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(a, out);
            }
            out.push(')');
        }
        ExprKind::Call { name, args } => {
            out.push_str(name);
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
        ExprKind::Str(s) => out.push_str(&lexer::quote(s)),
        ExprKind::Num(n) => out.push_str(n),
        ExprKind::Macro(m) => macro_call(m, out),
    }
}
