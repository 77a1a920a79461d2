//! The Elastic EQL backend: `any where` and an expression written as
//! pySigma-backend-elasticsearch's EQL backend writes it (`field:"value"`, which EQL compares
//! without case and with `*` and `?` wildcards; `field like~ (…)` for lists; `?field == null`;
//! `cidrMatch`; a group around every operand that is not a single comparison), except where that
//! would not mean what the rule means (docs/elastic-differences.md): a case-sensitive value is
//! `==` or `like` (case-sensitive, `like` with wildcards), a field with a hyphen is quoted, and
//! what EQL cannot say is refused with a reason (keywords, field references, regular
//! expressions: EQL's `regex` is Lucene's anchored syntax, not the PCRE Sigma means).

use sigma::value::{CmpOp, Part, SigmaString, Value};

use crate::expr::{Expr, build_cond, describe, placeholder_error};
use crate::rule::Rule;

/// The queries of a processed rule, one per condition.
pub fn queries(rule: &Rule) -> Result<Vec<String>, String> {
    rule.conditions
        .iter()
        .map(|c| {
            let e = build_cond(c, rule)
                .ok_or("nothing is left to match: the pipelines dropped every detection item")?;
            Ok(format!("any where {}", expr(&e)?))
        })
        .collect()
}

/// Is this a `null` test (written `?field == null`, its negation `?field != null`)?
fn is_null(e: &Expr) -> bool {
    matches!(e, Expr::Eq(Some(_), Value::Null))
}

/// One expression.
pub fn expr(e: &Expr) -> Result<String, String> {
    match e {
        Expr::Or(args) if in_list(args).is_some() => in_expr(args),
        Expr::And(args) | Expr::Or(args) => {
            let op = if matches!(e, Expr::And(_)) {
                " and "
            } else {
                " or "
            };
            let parts = args
                .iter()
                .map(operand)
                .collect::<Result<Vec<_>, String>>()?;
            Ok(parts.join(op))
        }
        Expr::Not(a) if is_null(a) => {
            let Expr::Eq(Some(f), _) = &**a else {
                unreachable!()
            };
            Ok(format!("?{} != null", ident(f)))
        }
        Expr::Not(a) => Ok(match &**a {
            Expr::Eq(..) => format!("not {}", expr(a)?),
            _ => format!("not ({})", expr(a)?),
        }),
        Expr::Eq(field, v) => eq(field.as_deref(), v),
    }
}

/// An operand of `and`/`or`: grouped unless it is one comparison (an expansion is a list).
fn operand(a: &Expr) -> Result<String, String> {
    let s = expr(a)?;
    Ok(match a {
        Expr::Not(x) if is_null(x) => s,
        Expr::Eq(_, Value::Null) => format!("({s})"),
        Expr::Eq(..) => s,
        _ => format!("({s})"),
    })
}

/// The field of an `or` written as `field like~ (…)`: every operand compares the same field
/// with a string that is not case-sensitive, or a number.
fn in_list(args: &[Expr]) -> Option<&str> {
    let mut field = None;
    for a in args {
        let Expr::Eq(Some(f), Value::Str { cased: false, .. } | Value::Num(_)) = a else {
            return None;
        };
        if field.is_some_and(|x| x != f.as_str()) {
            return None;
        }
        field = Some(f.as_str());
    }
    field
}

fn in_expr(args: &[Expr]) -> Result<String, String> {
    let mut field = "";
    let mut list = Vec::new();
    for a in args {
        let Expr::Eq(Some(f), v) = a else { continue };
        field = f;
        match v {
            Value::Str { s, .. } => list.push(quote(s)?),
            Value::Num(n) => list.push(n.clone()),
            _ => {}
        }
    }
    Ok(format!("{} like~ ({})", ident(field), list.join(", ")))
}

fn eq(field: Option<&str>, v: &Value) -> Result<String, String> {
    let Some(field) = field else {
        return Err(format!(
            "keyword detection (a value without a field: {}) has no EQL form: a string alone is not a condition",
            describe(v)
        ));
    };
    let f = ident(field);
    Ok(match v {
        Value::Str { s, cased: false } => {
            let lit = s.as_plain().unwrap_or_default();
            if !s.has_wildcards() && (lit.is_empty() || lit.parse::<std::net::IpAddr>().is_ok()) {
                format!("{f}=={}", quote(s)?)
            } else {
                format!("{f}:{}", quote(s)?)
            }
        }
        Value::Str { s, cased: true } if s.has_wildcards() => {
            format!("{f} like {}", quote(s)?)
        }
        Value::Str { s, cased: true } => format!("{f} == {}", quote(s)?),
        Value::Num(n) => format!("{f}:{n}"),
        Value::Bool(b) => format!("{f}:{b}"),
        Value::Null => format!("?{f} == null"),
        Value::Exists(true) => format!("?{f} != null"),
        Value::Exists(false) => format!("?{f} == null"),
        Value::Compare { op, num } => {
            let op = match op {
                CmpOp::Lt => "<",
                CmpOp::Lte => "<=",
                CmpOp::Gt => ">",
                CmpOp::Gte => ">=",
            };
            format!("{f} {op} {num}")
        }
        Value::Cidr(c) => format!("cidrMatch({f}, \"{}\")", escape(c)),
        Value::Expansion(vs) => {
            let eqs: Vec<Expr> = vs
                .iter()
                .map(|v| Expr::Eq(Some(field.to_string()), v.clone()))
                .collect();
            if in_list(&eqs).is_some() {
                in_expr(&eqs)?
            } else {
                eqs.iter()
                    .map(operand)
                    .collect::<Result<Vec<_>, _>>()?
                    .join(" or ")
            }
        }
        Value::Regex { .. } => {
            return Err(format!(
                "regular expression on `{field}`: EQL's `regex` is Lucene's syntax (anchored to the whole value, no `\\d`, `\\s` or inline flags), not the PCRE Sigma means"
            ));
        }
        Value::FieldRef { field: other, .. } => {
            return Err(format!(
                "field reference (`{field}` compared with `{other}`) has no EQL form in this backend"
            ));
        }
        Value::TimePart { part, .. } => {
            return Err(format!(
                "timestamp part modifier `{part}` has no EQL form in this backend"
            ));
        }
    })
}

/// A double-quoted EQL string: `\` and `"` escaped, control characters as `\n`, `\r`, `\t`;
/// a literal `*` or `?` is refused.
fn quote(s: &SigmaString) -> Result<String, String> {
    let mut out = String::from("\"");
    for p in &s.parts {
        match p {
            Part::Lit(l) => {
                if l.contains(['*', '?']) {
                    return Err(format!(
                        "the value \"{}\" holds a literal `*` or `?`: EQL reads them as wildcards and its strings have no escape for them (`\\*` is not an EQL escape)",
                        s.to_sigma()
                    ));
                }
                out.push_str(&escape(l));
            }
            Part::AnyMulti => out.push('*'),
            Part::AnyOne => out.push('?'),
            Part::Placeholder(n) => return Err(placeholder_error(n)),
        }
    }
    out.push('"');
    Ok(out)
}

/// Escape for a double-quoted EQL string.
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

/// A field name, in backticks when it starts with a digit or holds a space or a hyphen.
pub fn ident(f: &str) -> String {
    if f.starts_with(|c: char| c.is_ascii_digit())
        || f.contains(|c: char| c.is_whitespace() || c == '-')
    {
        format!("`{f}`")
    } else {
        f.to_string()
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
    fn e(f: &str, v: Value) -> Expr {
        Expr::Eq(Some(f.into()), v)
    }
    fn w(x: Expr) -> String {
        expr(&x).unwrap()
    }

    #[test]
    fn forms() {
        assert_eq!(w(e("F", s(r"*\a.exe"))), r#"F:"*\\a.exe""#);
        assert_eq!(w(e("F", s("10.0.0.1"))), r#"F=="10.0.0.1""#);
        assert_eq!(w(e("F", s(""))), "F==\"\"");
        assert!(expr(&e("F", s(r"a\*b?"))).unwrap_err().contains("literal"));
        assert_eq!(w(e("F", s("a*b?"))), r#"F:"a*b?""#);
        let cased = |x: &str| Value::Str {
            s: SigmaString::parse(x),
            cased: true,
        };
        assert_eq!(w(e("F", cased("a"))), r#"F == "a""#);
        assert_eq!(w(e("F", cased("a*"))), r#"F like "a*""#);
        assert_eq!(w(e("a-b", s("x"))), r#"`a-b`:"x""#);
        assert_eq!(w(e("F", Value::Null)), "?F == null");
        assert_eq!(w(Expr::Not(Box::new(e("F", Value::Null)))), "?F != null");
        assert_eq!(
            w(e("F", Value::Cidr("10.0.0.0/8".into()))),
            r#"cidrMatch(F, "10.0.0.0/8")"#
        );
        assert!(expr(&Expr::Eq(None, s("x"))).is_err());
        let re = Value::Regex {
            pattern: "a".into(),
            flags: String::new(),
        };
        assert!(expr(&e("F", re)).unwrap_err().contains("Lucene"));
    }

    #[test]
    fn groups_and_lists() {
        let or = Expr::Or(vec![e("F", s("a")), e("F", s("b*"))]);
        assert_eq!(w(or.clone()), r#"F like~ ("a", "b*")"#);
        let and = Expr::And(vec![
            or,
            e("G", s("x")),
            Expr::Not(Box::new(e("H", s("y")))),
            e("N", Value::Null),
        ]);
        assert_eq!(
            w(and),
            r#"(F like~ ("a", "b*")) and G:"x" and (not H:"y") and (?N == null)"#
        );
        let nums = Expr::Or(vec![
            e("F", Value::Num("1".into())),
            e("F", Value::Num("2".into())),
        ]);
        assert_eq!(w(nums), "F like~ (1, 2)");
    }
}
