//! The Elastic ES|QL backend: `from * metadata _id, _index, _version | where` and an
//! expression in pySigma-backend-elasticsearch's ES|QL form (`starts_with`, `ends_with`,
//! `like` for other wildcards, `==`, `in (…)` for plain lists, `is null`, `cidr_match`; `and`
//! binds tighter than `or`, so only an `or` inside an `and` is grouped), except that ES|QL
//! compares strings with case and Sigma without: a string comparison is made on
//! `TO_LOWER(field)` with the value in lower case (a `cased` value keeps the field and its case).
//! What ES|QL cannot say is refused with a reason (docs/elastic-differences.md).

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
            Ok(format!(
                "from * metadata _id, _index, _version | where {}",
                expr(&e)?
            ))
        })
        .collect()
}

/// One expression.
pub fn expr(e: &Expr) -> Result<String, String> {
    match e {
        Expr::Or(args) if in_list(args).is_some() => in_expr(args),
        Expr::And(args) => Ok(args
            .iter()
            .map(|a| {
                let s = expr(a)?;
                // `and` binds tighter than `or`: an `or` (an `in` list and an expansion are
                // ones) is grouped.
                Ok(match a {
                    Expr::Or(_) => format!("({s})"),
                    Expr::Eq(_, Value::Expansion(_)) => format!("({s})"),
                    _ => s,
                })
            })
            .collect::<Result<Vec<_>, String>>()?
            .join(" and ")),
        Expr::Or(args) => Ok(args
            .iter()
            .map(expr)
            .collect::<Result<Vec<_>, String>>()?
            .join(" or ")),
        Expr::Not(a) => Ok(match &**a {
            Expr::And(_) | Expr::Or(_) | Expr::Eq(_, Value::Expansion(_)) => {
                format!("not ({})", expr(a)?)
            }
            _ => format!("not {}", expr(a)?),
        }),
        Expr::Eq(field, v) => eq(field.as_deref(), v),
    }
}

/// The field of an `or` written `field in (…)`: one field, strings without wildcards (of the
/// same case sensitivity) or numbers.
fn in_list(args: &[Expr]) -> Option<&str> {
    let mut field = None;
    let mut cased = None;
    for a in args {
        match a {
            Expr::Eq(Some(f), Value::Str { s, cased: c }) if !s.has_wildcards() => {
                if cased.is_some_and(|x| x != *c) {
                    return None;
                }
                cased = Some(*c);
                if field.is_some_and(|x| x != f.as_str()) {
                    return None;
                }
                field = Some(f.as_str());
            }
            Expr::Eq(Some(f), Value::Num(_)) => {
                if field.is_some_and(|x| x != f.as_str()) {
                    return None;
                }
                field = Some(f.as_str());
            }
            _ => return None,
        }
    }
    field
}

fn in_expr(args: &[Expr]) -> Result<String, String> {
    let mut field = "";
    let mut list = Vec::new();
    let mut lower = false;
    for a in args {
        match a {
            Expr::Eq(Some(f), Value::Str { s, cased }) => {
                field = f;
                lower = !cased;
                list.push(quote(s, lower)?);
            }
            Expr::Eq(Some(f), Value::Num(n)) => {
                field = f;
                list.push(n.clone());
            }
            _ => {}
        }
    }
    let f = if lower {
        format!("TO_LOWER({})", ident(field))
    } else {
        ident(field)
    };
    Ok(format!("{f} in ({})", list.join(", ")))
}

fn eq(field: Option<&str>, v: &Value) -> Result<String, String> {
    let Some(field) = field else {
        return Err(format!(
            "keyword detection (a value without a field: {}) has no ES|QL form",
            describe(v)
        ));
    };
    let f = ident(field);
    Ok(match v {
        Value::Str { s, cased } => str_eq(&f, s, *cased)?,
        Value::Num(n) => format!("{f}=={n}"),
        Value::Bool(b) => format!("{f}=={b}"),
        Value::Null | Value::Exists(false) => format!("{f} is null"),
        Value::Exists(true) => format!("{f} is not null"),
        Value::Compare { op, num } => {
            let op = match op {
                CmpOp::Lt => "<",
                CmpOp::Lte => "<=",
                CmpOp::Gt => ">",
                CmpOp::Gte => ">=",
            };
            format!("{f}{op}{num}")
        }
        Value::Cidr(c) => format!("cidr_match({f}, \"{}\")", escape(c)),
        Value::Expansion(vs) => {
            let eqs: Vec<Expr> = vs
                .iter()
                .map(|v| Expr::Eq(Some(field.to_string()), v.clone()))
                .collect();
            expr(&Expr::Or(eqs))?
        }
        Value::Regex { .. } => {
            return Err(format!(
                "regular expression on `{field}`: ES|QL's `rlike` is Lucene's syntax (anchored to the whole value, no `\\d`, `\\s` or inline flags), not the PCRE Sigma means"
            ));
        }
        Value::FieldRef { field: other, .. } => {
            return Err(format!(
                "field reference (`{field}` compared with `{other}`) has no ES|QL form in this backend"
            ));
        }
        Value::TimePart { part, .. } => {
            return Err(format!(
                "timestamp part modifier `{part}` has no ES|QL form in this backend"
            ));
        }
    })
}

/// A string comparison: `starts_with`, `ends_with`, `like` where the wildcards need it, else
/// `==`; on `TO_LOWER(field)` with the value in lower case unless `cased`.
fn str_eq(f: &str, s: &SigmaString, cased: bool) -> Result<String, String> {
    let n = s.parts.len();
    let inner = |a: usize, b: usize| SigmaString {
        parts: s.parts[a..b].to_vec(),
    };
    let field = if cased {
        f.to_string()
    } else {
        format!("TO_LOWER({f})")
    };
    let lower = !cased;
    if s.ends_with_any() && !inner(0, n - 1).has_wildcards() {
        return Ok(format!(
            "starts_with({field}, {})",
            quote(&inner(0, n - 1), lower)?
        ));
    }
    if s.starts_with_any() && !inner(1, n).has_wildcards() {
        return Ok(format!(
            "ends_with({field}, {})",
            quote(&inner(1, n), lower)?
        ));
    }
    if s.has_wildcards() {
        return Ok(format!("{field} like {}", pattern(s, lower)?));
    }
    Ok(format!("{field}=={}", quote(s, lower)?))
}

/// A double-quoted ES|QL string of a value without wildcards.
fn quote(s: &SigmaString, lower: bool) -> Result<String, String> {
    let mut out = String::from("\"");
    for p in &s.parts {
        match p {
            Part::Lit(l) if lower => out.push_str(&escape(&l.to_lowercase())),
            Part::Lit(l) => out.push_str(&escape(l)),
            Part::Placeholder(n) => return Err(placeholder_error(n)),
            Part::AnyMulti | Part::AnyOne => unreachable!("no wildcards here"),
        }
    }
    out.push('"');
    Ok(out)
}

/// A `like` pattern: `*` and `?` the wildcards; a literal `*`, `?` or `\` escaped by a
/// backslash (ES|QL's `like` escape), then the whole written as a string (whose own escapes
/// double each backslash again): the path `*\temp\*` is `like "*\\\\temp\\\\*"`.
fn pattern(s: &SigmaString, lower: bool) -> Result<String, String> {
    let mut text = String::new();
    for p in &s.parts {
        match p {
            Part::Lit(l) => {
                let l = if lower { l.to_lowercase() } else { l.clone() };
                for c in l.chars() {
                    if matches!(c, '*' | '?' | '\\') {
                        text.push('\\');
                    }
                    text.push(c);
                }
            }
            Part::AnyMulti => text.push('*'),
            Part::AnyOne => text.push('?'),
            Part::Placeholder(n) => return Err(placeholder_error(n)),
        }
    }
    Ok(format!("\"{}\"", escape(&text)))
}

/// Escape for a double-quoted ES|QL string.
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

/// A field name: as is when it is letters, digits, `_` and `.`, else in backticks.
pub fn ident(f: &str) -> String {
    if !f.is_empty()
        && f.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        f.to_string()
    } else {
        format!("`{}`", f.replace('`', "``"))
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
        assert_eq!(
            w(e("F", s(r"*\A.exe"))),
            r#"ends_with(TO_LOWER(F), "\\a.exe")"#
        );
        assert_eq!(w(e("F", s("A*"))), r#"starts_with(TO_LOWER(F), "a")"#);
        assert_eq!(w(e("F", s("*a*"))), r#"TO_LOWER(F) like "*a*""#);
        assert_eq!(w(e("F", s("X"))), r#"TO_LOWER(F)=="x""#);
        let cased = Value::Str {
            s: SigmaString::parse("X"),
            cased: true,
        };
        assert_eq!(w(e("F", cased)), r#"F=="X""#);
        assert_eq!(w(e("F", Value::Null)), "F is null");
        assert_eq!(w(e("a-b", Value::Num("1".into()))), "`a-b`==1");
        // A literal `*` and a backslash are escaped in the pattern, then in the string.
        assert_eq!(
            w(e("F", s(r"*a\*b\\c*"))),
            r#"TO_LOWER(F) like "*a\\*b\\\\c*""#
        );
        assert!(expr(&Expr::Eq(None, s("x"))).is_err());
    }

    #[test]
    fn precedence_and_lists() {
        let or = Expr::Or(vec![e("F", s("*a")), e("G", s("b"))]);
        let and = Expr::And(vec![or.clone(), e("H", s("c"))]);
        assert_eq!(
            w(and.clone()),
            r#"(ends_with(TO_LOWER(F), "a") or TO_LOWER(G)=="b") and TO_LOWER(H)=="c""#
        );
        assert_eq!(
            w(Expr::Or(vec![and, e("I", s("d"))])),
            r#"(ends_with(TO_LOWER(F), "a") or TO_LOWER(G)=="b") and TO_LOWER(H)=="c" or TO_LOWER(I)=="d""#
        );
        let list = Expr::Or(vec![e("F", s("A")), e("F", s("b"))]);
        assert_eq!(w(list), r#"TO_LOWER(F) in ("a", "b")"#);
        assert_eq!(
            w(Expr::Not(Box::new(or))),
            r#"not (ends_with(TO_LOWER(F), "a") or TO_LOWER(G)=="b")"#
        );
    }
}
