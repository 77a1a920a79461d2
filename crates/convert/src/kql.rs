//! The KQL backend: how each expression is written, following pySigma-backend-kusto's output
//! (`=~`, `in~`, `startswith`, `contains`, `not(...)`, a group around every non-leaf operand),
//! except where that output would not mean what the rule means (see docs/kql-differences.md):
//! such values are written correctly or refused with a reason, never guessed.
//!
//! With the table's columns known ([`crate::schema`]), every column the query names must exist
//! (whatever pipeline mapped it), values are written by the column's type (numbers as numbers
//! on number columns, `isempty` for a missing string), and computed columns are added with
//! `| extend`.

use std::collections::HashMap;

use sigma::value::{CmpOp, Part, SigmaString, Value};

use crate::expr::{
    Expr, build_cond, describe, fields_of, is_special, placeholder_error, regex_text,
};
use crate::rule::Rule;
use crate::schema::{ColType, Column, Schema};

/// What the writer knows of the table.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx<'a> {
    /// The table's columns; `None` for a table the schema does not know (nothing is checked).
    pub columns: Option<&'a HashMap<String, Column>>,
    /// Sigma `null` under a `not` stays `isnull(...)` (kql-asim, as seed 003 writes it; see
    /// docs/kql-differences.md).
    pub isnull_under_not: bool,
    /// Inside a `not`.
    pub negated: bool,
}

impl Ctx<'_> {
    fn ty(&self, field: &str) -> Option<ColType> {
        self.columns.and_then(|c| c.get(field)).map(|c| c.ty)
    }
}

/// The queries of a processed rule: `table\n| where expression`, one per condition. Pipeline
/// state `query_join` (a `join` operator, such as the `DeviceInfo` join that restricts a
/// Defender table to one operating system) is written after the table.
pub fn queries(
    rule: &Rule,
    schema: &Schema,
    isnull_under_not: bool,
) -> Result<Vec<String>, String> {
    let Some(Some(table)) = rule.state.get("query_table") else {
        return Err(format!(
            "no table for logsource {} (the pipelines set no `query_table`)",
            rule.logsource_text()
        ));
    };
    let ctx = Ctx {
        columns: schema.table(table),
        isnull_under_not,
        negated: false,
    };
    rule.conditions
        .iter()
        .map(|c| {
            let e = build_cond(c, rule)
                .ok_or("nothing is left to match: the pipelines dropped every detection item")?;
            let mut extend = Vec::new();
            if let Some(cols) = ctx.columns {
                let mut fields = Vec::new();
                fields_of(&e, &mut fields);
                for f in fields {
                    match cols.get(f) {
                        None => return Err(format!("field `{f}` has no column in {table}")),
                        Some(Column {
                            expression: Some(x),
                            ..
                        }) if !extend.iter().any(|(n, _)| *n == f) => extend.push((f, x)),
                        Some(_) => {}
                    }
                }
            }
            let mut q = table.clone();
            if let Some(Some(join)) = rule.state.get("query_join") {
                q.push_str(&format!("\n| {join}"));
            }
            for (name, x) in extend {
                q.push_str(&format!("\n| extend {} = {x}", ident(name)));
            }
            Ok(format!("{q}\n| where {}", expr(&e, ctx)?))
        })
        .collect()
}

/// Write an expression.
pub fn expr(e: &Expr, ctx: Ctx) -> Result<String, String> {
    match e {
        Expr::Or(args) if in_list(args, ctx).is_some() => in_expr(args, ctx),
        Expr::And(args) | Expr::Or(args) => {
            let and = matches!(e, Expr::And(_));
            let parts = args
                .iter()
                .map(|a| {
                    let s = expr(a, ctx)?;
                    Ok(if needs_group(a, and) {
                        format!("({s})")
                    } else {
                        s
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(parts.join(if and { " and " } else { " or " }))
        }
        Expr::Not(a) => {
            let s = expr(
                a,
                Ctx {
                    negated: !ctx.negated,
                    ..ctx
                },
            )?;
            Ok(match **a {
                Expr::Eq(..) => format!("not({s})"),
                _ => format!("not(({s}))"),
            })
        }
        Expr::Eq(field, value) => eq(field.as_deref(), value, ctx),
    }
}

/// pySigma with `parenthesize`: every operand that is not a single comparison is grouped; an
/// expansion (`windash`, `base64offset`) counts as an `or`.
fn needs_group(a: &Expr, outer_and: bool) -> bool {
    match a {
        Expr::Eq(_, Value::Expansion(_)) => outer_and,
        Expr::Eq(..) => false,
        _ => true,
    }
}

/// The number a value stands for on a number column: a YAML number, or a string holding a
/// decimal or `0x` hexadecimal number (`"0x3e7"` is 999), in decimal.
fn number(v: &Value) -> Option<String> {
    let text = match v {
        Value::Num(n) => n.clone(),
        Value::Str { s, .. } if !is_special(s) => s.to_sigma(),
        _ => return None,
    };
    let t = text.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i128::from_str_radix(h, 16).ok().map(|n| n.to_string());
    }
    if t.parse::<i128>().is_ok()
        || (t.parse::<f64>().is_ok_and(f64::is_finite)
            && !t.contains(['e', 'E', 'i', 'n', 'I', 'N']))
    {
        return Some(t.to_string());
    }
    None
}

/// The field of an `or` that can be written as `field in~ (...)` (`field in (...)` on a number
/// column): every operand compares the same field with a case-insensitive string or a number.
fn in_list<'e>(args: &'e [Expr], ctx: Ctx) -> Option<&'e str> {
    let mut field = None;
    for a in args {
        let Expr::Eq(Some(f), v) = a else {
            return None;
        };
        if ctx.ty(f) == Some(ColType::Number) {
            number(v)?;
        } else if !matches!(v, Value::Str { cased: false, .. } | Value::Num(_)) {
            return None;
        }
        if field.is_some_and(|x| x != f.as_str()) {
            return None;
        }
        field = Some(f.as_str());
    }
    field
}

/// `field in~ ("a", "b")` for the plain values, then ` or ` and each wildcard value as its own
/// comparison (pySigma-backend-kusto's form); `field in (1, 2)` on a number column.
fn in_expr(args: &[Expr], ctx: Ctx) -> Result<String, String> {
    let mut plain = Vec::new();
    let mut rest = Vec::new();
    let mut field = "";
    for a in args {
        let Expr::Eq(Some(f), v) = a else { continue };
        field = f;
        if ctx.ty(f) == Some(ColType::Number) {
            plain.extend(number(v));
            continue;
        }
        match v {
            Value::Str { s, .. } if !is_special(s) => plain.push(quote(s)?),
            Value::Num(n) => plain.push(format!("\"{}\"", escape(n))),
            v => rest.push(eq(Some(f), v, ctx)?),
        }
    }
    let mut out = Vec::new();
    if !plain.is_empty() {
        let op = if ctx.ty(field) == Some(ColType::Number) {
            "in"
        } else {
            "in~"
        };
        out.push(format!("{} {op} ({})", ident(field), plain.join(", ")));
    }
    out.extend(rest);
    Ok(out.join(" or "))
}

/// One comparison.
fn eq(field: Option<&str>, v: &Value, ctx: Ctx) -> Result<String, String> {
    let Some(field) = field else {
        return Err(format!(
            "keyword detection (a value without a field: {}) has no KQL `where` form; map it to a field in a pipeline",
            describe(v)
        ));
    };
    let f = ident(field);
    let ty = ctx.ty(field);
    if ty == Some(ColType::Number) && matches!(v, Value::Str { .. } | Value::Num(_)) {
        return match number(v) {
            Some(n) => Ok(format!("{f} == {n}")),
            None => Err(format!(
                "field `{field}` is a number column; the value {} is not a number",
                describe(v)
            )),
        };
    }
    Ok(match v {
        Value::Str { s, cased } => str_eq(&f, s, *cased)?,
        Value::Num(n) if ty == Some(ColType::String) => format!("{f} =~ \"{}\"", escape(n)),
        Value::Num(n) => format!("{f} == {n}"),
        Value::Bool(b) => format!("{f} == {b}"),
        Value::Null if ty == Some(ColType::String) && !(ctx.negated && ctx.isnull_under_not) => {
            format!("isempty({f})")
        }
        Value::Null => format!("isnull({f})"),
        Value::Exists(true) => format!("isnotempty({f})"),
        Value::Exists(false) => format!("isempty({f})"),
        Value::Compare { op, num } => {
            let op = match op {
                CmpOp::Lt => "<",
                CmpOp::Lte => "<=",
                CmpOp::Gt => ">",
                CmpOp::Gte => ">=",
            };
            format!("{f} {op} {num}")
        }
        Value::Regex { pattern, flags } => {
            format!(
                "{f} matches regex \"{}\"",
                escape(&regex_text(pattern, flags))
            )
        }
        Value::Cidr(c) => {
            let func = if c.contains(':') {
                "ipv6_is_in_range"
            } else {
                "ipv4_is_in_range"
            };
            format!("{func}({f}, \"{}\")", escape(c))
        }
        Value::Expansion(vs) => vs
            .iter()
            .map(|v| eq(Some(field), v, ctx))
            .collect::<Result<Vec<_>, _>>()?
            .join(" or "),
        Value::FieldRef { field: other, .. } => {
            return Err(format!(
                "field reference (`{field}` compared with field `{other}`) has no KQL form in this backend yet"
            ));
        }
        Value::TimePart { part, .. } => {
            return Err(format!(
                "timestamp part modifier `{part}` has no KQL form in this backend yet"
            ));
        }
    })
}

/// A string comparison: `=~`, `startswith`, `endswith`, `contains` where the wildcards allow
/// it (`==`, `startswith_cs`, … when `cased`), else `matches regex`.
fn str_eq(f: &str, s: &SigmaString, cased: bool) -> Result<String, String> {
    let n = s.parts.len();
    let inner = |a: usize, b: usize| SigmaString {
        parts: s.parts[a..b].to_vec(),
    };
    let cs = if cased { "_cs" } else { "" };
    if s.ends_with_any() && !is_special(&inner(0, n - 1)) {
        return Ok(format!("{f} startswith{cs} {}", quote(&inner(0, n - 1))?));
    }
    if s.starts_with_any() && !is_special(&inner(1, n)) {
        return Ok(format!("{f} endswith{cs} {}", quote(&inner(1, n))?));
    }
    if n >= 2 && s.starts_with_any() && s.ends_with_any() && !is_special(&inner(1, n - 1)) {
        return Ok(format!("{f} contains{cs} {}", quote(&inner(1, n - 1))?));
    }
    if is_special(s) {
        // `matches regex` finds the pattern anywhere: anchored, it means the whole value.
        let re = to_regex(s)?;
        // `(?s)`: a Sigma wildcard matches line breaks too.
        let flag = if cased { "(?s)" } else { "(?is)" };
        return Ok(format!(
            "{f} matches regex \"{}\"",
            escape(&format!("{flag}^{re}$"))
        ));
    }
    Ok(format!(
        "{f} {} {}",
        if cased { "==" } else { "=~" },
        quote(s)?
    ))
}

/// A quoted KQL string literal of a string without wildcards.
fn quote(s: &SigmaString) -> Result<String, String> {
    let mut out = String::from("\"");
    for p in &s.parts {
        match p {
            Part::Lit(l) => out.push_str(&escape(l)),
            Part::Placeholder(n) => return Err(placeholder_error(n)),
            Part::AnyMulti | Part::AnyOne => out.push('*'),
        }
    }
    out.push('"');
    Ok(out)
}

/// The wildcard string as a regular expression (`*` → `.*`, `?` → `.`).
fn to_regex(s: &SigmaString) -> Result<String, String> {
    let mut out = String::new();
    for p in &s.parts {
        match p {
            Part::Lit(l) => {
                for c in l.chars() {
                    if ".*+?^$[](){}\\|".contains(c) {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Part::AnyMulti => out.push_str(".*"),
            Part::AnyOne => out.push('.'),
            Part::Placeholder(n) => return Err(placeholder_error(n)),
        }
    }
    Ok(out)
}

/// Escape for a double-quoted KQL string.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// A column name: as is when it is a plain identifier, else `['name']`.
pub fn ident(f: &str) -> String {
    if !f.is_empty() && f.chars().all(|c| c.is_alphanumeric() || c == '_') {
        f.to_string()
    } else {
        format!("['{}']", escape(f).replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str {
            s: SigmaString::parse(x),
            cased: false,
        }
    }
    fn cased(x: &str) -> Value {
        Value::Str {
            s: SigmaString::parse(x),
            cased: true,
        }
    }
    fn e(f: &str, v: Value) -> Expr {
        Expr::Eq(Some(f.into()), v)
    }
    fn w(x: Expr) -> String {
        expr(&x, Ctx::default()).unwrap()
    }

    #[test]
    fn string_forms() {
        assert_eq!(w(e("F", s("a"))), r#"F =~ "a""#);
        assert_eq!(w(e("F", s("a*"))), r#"F startswith "a""#);
        assert_eq!(w(e("F", s("*a"))), r#"F endswith "a""#);
        assert_eq!(w(e("F", s("*a*"))), r#"F contains "a""#);
        assert_eq!(w(e("F", s("a*b"))), r#"F matches regex "(?is)^a.*b$""#);
        assert_eq!(w(e("F", s("*a?b*"))), r#"F matches regex "(?is)^.*a.b.*$""#);
        assert_eq!(w(e("F", s("*"))), r#"F startswith """#);
        assert_eq!(w(e("F", s(""))), r#"F =~ """#);
    }

    #[test]
    fn cased_forms() {
        assert_eq!(w(e("F", cased("a"))), r#"F == "a""#);
        assert_eq!(w(e("F", cased("a*"))), r#"F startswith_cs "a""#);
        assert_eq!(w(e("F", cased("*a"))), r#"F endswith_cs "a""#);
        assert_eq!(w(e("F", cased("*a*"))), r#"F contains_cs "a""#);
        assert_eq!(w(e("F", cased("a*b"))), r#"F matches regex "(?s)^a.*b$""#);
    }

    #[test]
    fn escaping() {
        assert_eq!(w(e("F", s(r#"C:\x "y""#))), r#"F =~ "C:\\x \"y\"""#);
        assert_eq!(w(e("F", s(r"a\*b"))), r#"F =~ "a*b""#);
        assert_eq!(
            w(e("F", s(r"*.exe*x"))),
            r#"F matches regex "(?is)^.*\\.exe.*x$""#
        );
        assert_eq!(escape("a\nb\t"), r"a\nb\t");
        assert_eq!(ident("a b"), "['a b']");
        assert_eq!(ident("a\nb'"), r"['a\nb\'']");
        assert_eq!(ident("Col_1"), "Col_1");
    }

    #[test]
    fn other_values() {
        assert_eq!(w(e("F", Value::Num("5".into()))), "F == 5");
        assert_eq!(w(e("F", Value::Bool(true))), "F == true");
        assert_eq!(w(e("F", Value::Null)), "isnull(F)");
        assert_eq!(w(e("F", Value::Exists(true))), "isnotempty(F)");
        assert_eq!(w(e("F", Value::Exists(false))), "isempty(F)");
        let cmp = Value::Compare {
            op: CmpOp::Gte,
            num: "3".into(),
        };
        assert_eq!(w(e("F", cmp)), "F >= 3");
        let re = Value::Regex {
            pattern: r#"a\d+"b"#.into(),
            flags: "mi".into(),
        };
        assert_eq!(w(e("F", re)), r#"F matches regex "(?im)a\\d+\"b""#);
        assert_eq!(
            w(e("F", Value::Cidr("10.0.0.0/8".into()))),
            r#"ipv4_is_in_range(F, "10.0.0.0/8")"#
        );
        assert_eq!(
            w(e("F", Value::Cidr("fe80::/10".into()))),
            r#"ipv6_is_in_range(F, "fe80::/10")"#
        );
    }

    #[test]
    fn refused_values() {
        assert!(
            expr(&Expr::Eq(None, s("x")), Ctx::default())
                .unwrap_err()
                .contains("keyword")
        );
        let fr = Value::FieldRef {
            field: "G".into(),
            starts_with: false,
            ends_with: false,
        };
        assert!(expr(&e("F", fr), Ctx::default()).is_err());
        let tp = Value::TimePart {
            part: "hour",
            num: "3".into(),
        };
        assert!(expr(&e("F", tp), Ctx::default()).is_err());
        let ph = Value::Str {
            s: SigmaString {
                parts: vec![Part::Placeholder("x".into())],
            },
            cased: false,
        };
        assert!(
            expr(&e("F", ph), Ctx::default())
                .unwrap_err()
                .contains("%x%")
        );
    }

    #[test]
    fn lists_and_groups() {
        let or = Expr::Or(vec![e("F", s("a")), e("F", s("b")), e("F", s("*c"))]);
        assert_eq!(w(or.clone()), r#"F in~ ("a", "b") or F endswith "c""#);
        let ors = Expr::Or(vec![e("F", s("*a")), e("F", s("*b"))]);
        assert_eq!(w(ors), r#"F endswith "a" or F endswith "b""#);
        let mixed = Expr::Or(vec![e("F", s("a")), e("G", s("b"))]);
        assert_eq!(w(mixed), r#"F =~ "a" or G =~ "b""#);
        let and = Expr::And(vec![
            or,
            e("G", s("x")),
            Expr::Not(Box::new(e("H", s("y")))),
        ]);
        assert_eq!(
            w(and),
            r#"(F in~ ("a", "b") or F endswith "c") and G =~ "x" and (not(H =~ "y"))"#
        );
        let not_group = Expr::Not(Box::new(Expr::And(vec![e("F", s("a")), e("G", s("b"))])));
        assert_eq!(w(not_group), r#"not((F =~ "a" and G =~ "b"))"#);
        let nums = Expr::Or(vec![
            e("F", Value::Num("1".into())),
            e("F", Value::Num("2".into())),
        ]);
        assert_eq!(w(nums), r#"F in~ ("1", "2")"#);
        let cs = Expr::Or(vec![e("F", cased("a")), e("F", cased("b"))]);
        assert_eq!(w(cs), r#"F == "a" or F == "b""#);
    }

    #[test]
    fn expansions() {
        let x = e("F", Value::Expansion(vec![s("*-a*"), s("*/a*")]));
        assert_eq!(w(x.clone()), r#"F contains "-a" or F contains "/a""#);
        assert_eq!(
            w(Expr::And(vec![x.clone(), e("G", s("b"))])),
            r#"(F contains "-a" or F contains "/a") and G =~ "b""#
        );
        assert_eq!(
            w(Expr::Or(vec![x, e("G", s("b"))])),
            r#"F contains "-a" or F contains "/a" or G =~ "b""#
        );
    }
}
