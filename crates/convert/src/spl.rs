//! The Splunk SPL backend: a `search` expression written as pySigma-backend-splunk writes it
//! (`field="value"` with `*` wildcards, `IN (…)` lists, juxtaposition for `and`, `OR`, `NOT`,
//! a group only where SPL's precedence needs one: NOT binds tighter than OR, OR tighter than
//! AND), with regular expressions as a `| regex` command after the search, or, where the regex
//! is one term of an `OR` (or under a negated group), extracted with `rex` and tested as a
//! field; field references as `| where`.
//!
//! Where that output would not mean what the rule means in Splunk's documented semantics, the
//! value is written correctly or refused with a reason (docs/spl-differences.md): the search
//! command has no single-character wildcard and no escape for a literal `*`, and no
//! case-sensitive comparison.

use std::collections::HashMap;

use sigma::value::{CmpOp, Part, SigmaString, Value};

use crate::expr::{Expr, build_cond, describe, placeholder_error, regex_text};
use crate::rule::Rule;

/// The queries of a processed rule, one per condition; `fields` (Sigma `fields`) become a
/// `| table`.
pub fn queries(rule: &Rule, fields: &[String]) -> Result<Vec<String>, String> {
    rule.conditions
        .iter()
        .map(|c| {
            let e = build_cond(c, rule)
                .ok_or("nothing is left to match: the pipelines dropped every detection item")?;
            query(&e, fields)
        })
        .collect()
}

/// One query.
pub fn query(e: &Expr, fields: &[String]) -> Result<String, String> {
    let mut w = Writer::default();
    let main = w.expr(e, Place::TOP)?;
    let mut q = match main {
        None => "*".to_string(),
        Some(s) => s,
    };
    if !w.extracted.is_empty() {
        // Leading `field=value` conjuncts go before the extraction, so the first search
        // still narrows the events (pySigma-backend-splunk's order).
        let prefix = leading_terms(e, &w);
        let rest = q[prefix
            .iter()
            .map(|t| t.len() + 1)
            .sum::<usize>()
            .min(q.len())..]
            .to_string();
        // A search starting with `| rex` would have no generating command: `*` reads every
        // event first (pySigma-backend-splunk leaves the head empty).
        let head = if prefix.is_empty() {
            "*".to_string()
        } else {
            prefix.join(" ")
        };
        q = format!("{head}\n| {}\n| search {rest}", w.extracted.join("\n| "));
    }
    for d in &w.deferred {
        q.push_str("\n| ");
        q.push_str(d);
    }
    if !fields.is_empty() {
        q.push_str(" | table ");
        q.push_str(&fields.join(","));
    }
    Ok(q)
}

/// Where an expression sits.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// Under an `or` (somewhere above).
    or_above: bool,
    /// Every node above is an `and`, or a `not` directly above the leaf: a regex or a field
    /// reference can be a command after the search (negated when `negated`).
    deferrable: bool,
    negated: bool,
}

impl Place {
    const TOP: Place = Place {
        or_above: false,
        deferrable: true,
        negated: false,
    };
}

#[derive(Default)]
struct Writer {
    /// `regex …` and `where …` commands after the search.
    deferred: Vec<String>,
    /// `rex …` and `eval …` commands before a `| search` (regexes inside an `or`).
    extracted: Vec<String>,
    /// Regexes extracted per field (for the group and field names).
    counts: HashMap<String, usize>,
    /// The fields `eval` made (`…Condition`), which cannot be searched before the extraction.
    made: Vec<String>,
}

impl Writer {
    /// The expression's text; `None` when all of it became commands after the search.
    fn expr(&mut self, e: &Expr, at: Place) -> Result<Option<String>, String> {
        match e {
            Expr::And(args) => {
                let mut parts = Vec::new();
                for a in args {
                    if let Some(s) = self.expr(
                        a,
                        Place {
                            negated: false,
                            ..at
                        },
                    )? {
                        parts.push(s);
                    }
                }
                Ok((!parts.is_empty()).then(|| parts.join(" ")))
            }
            Expr::Or(args) => {
                if let Some(s) = in_list(args)? {
                    return Ok(Some(s));
                }
                let inner = Place {
                    or_above: true,
                    deferrable: false,
                    negated: false,
                };
                let mut parts = Vec::new();
                for a in args {
                    if let Some(s) = self.expr(a, inner)? {
                        parts.push(if matches!(a, Expr::And(_)) {
                            format!("({s})")
                        } else {
                            s
                        });
                    }
                }
                Ok((!parts.is_empty()).then(|| parts.join(" OR ")))
            }
            Expr::Not(a) => {
                let inner = Place {
                    or_above: at.or_above,
                    deferrable: at.deferrable && matches!(**a, Expr::Eq(..)),
                    negated: !at.negated,
                };
                let Some(s) = self.expr(a, inner)? else {
                    return Ok(None);
                };
                // An expansion is an `or`: grouped, as any `or` under NOT.
                Ok(Some(match &**a {
                    Expr::And(_) | Expr::Or(_) | Expr::Eq(_, Value::Expansion(_)) => {
                        format!("NOT ({s})")
                    }
                    Expr::Eq(..) => format!("NOT {s}"),
                    Expr::Not(_) => format!("NOT {s}"),
                }))
            }
            Expr::Eq(field, v) => self.eq(field.as_deref(), v, at),
        }
    }

    fn eq(&mut self, field: Option<&str>, v: &Value, at: Place) -> Result<Option<String>, String> {
        let Some(field) = field else {
            return keyword(v).map(Some);
        };
        let f = ident(field);
        Ok(Some(match v {
            Value::Str { cased: true, .. } => {
                return Err(format!(
                    "case-sensitive match (`cased`) on `{field}`: Splunk's search compares values without case; pySigma-backend-splunk has no form for it either"
                ));
            }
            Value::Str { s, .. } => format!("{f}={}", quote(s)?),
            Value::Num(n) => format!("{f}={n}"),
            Value::Bool(b) => format!("{f}={b}"),
            Value::Null | Value::Exists(false) => format!("NOT {f}=*"),
            Value::Exists(true) => format!("{f}=*"),
            Value::Compare { op, num } => {
                let op = match op {
                    CmpOp::Lt => "<",
                    CmpOp::Lte => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Gte => ">=",
                };
                format!("{f}{op}{num}")
            }
            Value::Cidr(c) => format!("{f}=\"{}\"", escape(c)),
            Value::Expansion(vs) => {
                let mut parts = Vec::new();
                for v in vs {
                    if let Some(s) = self.eq(
                        Some(field),
                        v,
                        Place {
                            or_above: true,
                            deferrable: false,
                            negated: false,
                        },
                    )? {
                        parts.push(s);
                    }
                }
                parts.join(" OR ")
            }
            Value::Regex { pattern, flags } => {
                let re = regex_escape(&regex_text(pattern, flags));
                if at.deferrable && !at.or_above {
                    let op = if at.negated { "!=" } else { "=" };
                    self.deferred.push(format!("regex {field}{op}\"{re}\""));
                    return Ok(None);
                }
                return Ok(Some(self.extract(field, &re)));
            }
            Value::FieldRef {
                field: other,
                starts_with,
                ends_with,
            } => {
                if *starts_with || *ends_with {
                    return Err(format!(
                        "field reference with startswith/endswith (`{field}` and `{other}`) has no SPL form in this backend"
                    ));
                }
                if !at.deferrable || at.or_above {
                    return Err(format!(
                        "field reference (`{field}` compared with `{other}`) inside an `or` or a negated group: only a `where` after the search can compare two fields, and it cannot be one term of the search"
                    ));
                }
                let not = if at.negated { "NOT " } else { "" };
                self.deferred
                    .push(format!("where {not}'{field}'='{other}'"));
                return Ok(None);
            }
            Value::TimePart { part, .. } => {
                return Err(format!(
                    "timestamp part modifier `{part}` has no SPL search form in this backend"
                ));
            }
        }))
    }

    /// A regex that is one term of the search: `rex` extracts its match into a field, `eval`
    /// sets `…Condition` to "true" when there is one, and the search tests that field.
    fn extract(&mut self, field: &str, re: &str) -> String {
        let n = self.counts.entry(field.to_string()).or_default();
        *n += 1;
        let suffix = if *n == 1 {
            String::new()
        } else {
            n.to_string()
        };
        let base = group_name(field.rsplit('.').next().unwrap_or(field));
        let mut m = format!("{base}Match{suffix}");
        if m.chars().count() > 32 {
            // PCRE group names have at most 32 characters.
            let keep = 32 - "Match".len() - suffix.len();
            m = format!(
                "{}Match{suffix}",
                base.chars().take(keep).collect::<String>()
            );
        }
        let c = format!("{base}Condition{suffix}");
        self.extracted.push(format!(
            "rex field={field} \"(?<{m}>{re})\"\n| eval {c}=if(isnotnull({m}), \"true\", \"false\")"
        ));
        self.made.push(c.clone());
        format!("{c}=\"true\"")
    }
}

/// A name PCRE takes for a group: letters, digits and `_`, not starting with a digit.
fn group_name(f: &str) -> String {
    let mut s: String = f
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// The leading conjuncts of the top-level `and` that are plain `field=value` terms (nested
/// `and`s read through): they can be searched before the extraction.
fn leading_terms(e: &Expr, w: &Writer) -> Vec<String> {
    fn walk(e: &Expr, w: &Writer, out: &mut Vec<String>) -> bool {
        match e {
            Expr::And(args) => args.iter().all(|a| walk(a, w, out)),
            Expr::Eq(Some(f), v) => {
                let term = match v {
                    Value::Str { s, cased: false } => {
                        quote(s).ok().map(|q| format!("{}={q}", ident(f)))
                    }
                    Value::Num(n) => Some(format!("{}={n}", ident(f))),
                    Value::Bool(b) => Some(format!("{}={b}", ident(f))),
                    Value::Cidr(c) => Some(format!("{}=\"{}\"", ident(f), escape(c))),
                    Value::Exists(true) => Some(format!("{}=*", ident(f))),
                    _ => None,
                };
                match term {
                    Some(t) if !w.made.contains(f) => {
                        out.push(t);
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
    let mut out = Vec::new();
    if matches!(e, Expr::And(_)) {
        walk(e, w, &mut out);
    }
    out
}

/// `field IN ("a", "b*", 3)` for an `or` of one field's strings and numbers.
fn in_list(args: &[Expr]) -> Result<Option<String>, String> {
    let mut field = None;
    for a in args {
        let Expr::Eq(Some(f), Value::Str { .. } | Value::Num(_)) = a else {
            return Ok(None);
        };
        if field.is_some_and(|x| x != f.as_str()) {
            return Ok(None);
        }
        field = Some(f.as_str());
    }
    let Some(field) = field else { return Ok(None) };
    let mut list = Vec::new();
    for a in args {
        match a {
            Expr::Eq(_, Value::Str { cased: true, .. }) => {
                return Err(format!(
                    "case-sensitive match (`cased`) on `{field}`: Splunk's search compares values without case; pySigma-backend-splunk has no form for it either"
                ));
            }
            Expr::Eq(_, Value::Str { s, .. }) => list.push(quote(s)?),
            Expr::Eq(_, Value::Num(n)) => list.push(n.clone()),
            _ => unreachable!(),
        }
    }
    Ok(Some(format!("{} IN ({})", ident(field), list.join(", "))))
}

/// A keyword (a value without a field): a quoted term of the raw event.
fn keyword(v: &Value) -> Result<String, String> {
    match v {
        Value::Str { cased: false, s } => quote(s),
        Value::Num(n) => Ok(n.clone()),
        Value::Expansion(vs) => Ok(vs
            .iter()
            .map(keyword)
            .collect::<Result<Vec<_>, _>>()?
            .join(" OR ")),
        other => Err(format!(
            "keyword detection (a value without a field: {}) has no SPL form in this backend",
            describe(other)
        )),
    }
}

/// A double-quoted search value: `\` and `"` escaped, `*` the wildcard.
fn quote(s: &SigmaString) -> Result<String, String> {
    let mut out = String::from("\"");
    for p in &s.parts {
        match p {
            Part::Lit(l) => {
                if l.contains('*') {
                    return Err(format!(
                        "the value \"{}\" holds a literal `*`: Splunk's search reads every `*` as a wildcard and has no escape for it",
                        s.to_sigma()
                    ));
                }
                out.push_str(&escape(l));
            }
            Part::AnyMulti => out.push('*'),
            Part::AnyOne => {
                return Err(format!(
                    "the value \"{}\" has a single-character wildcard `?`: Splunk's search has none (`*` would match more)",
                    s.to_sigma()
                ));
            }
            Part::Placeholder(n) => return Err(placeholder_error(n)),
        }
    }
    out.push('"');
    Ok(out)
}

/// Escape for a double-quoted SPL string: `\` and `"`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A regex inside a double-quoted SPL string: `\` and `"` escaped.
fn regex_escape(re: &str) -> String {
    escape(re)
}

/// A field name: as is when it is letters, digits, `_` and `.`, else double-quoted.
pub fn ident(f: &str) -> String {
    if !f.is_empty()
        && f.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        f.to_string()
    } else {
        format!("\"{f}\"")
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
    fn not(x: Expr) -> Expr {
        Expr::Not(Box::new(x))
    }
    fn w(x: Expr) -> String {
        query(&x, &[]).unwrap()
    }

    #[test]
    fn strings_and_escaping() {
        assert_eq!(w(e("F", s("a"))), r#"F="a""#);
        assert_eq!(w(e("F", s(r"*\a.exe"))), r#"F="*\\a.exe""#);
        assert_eq!(w(e("F", s(r#"say "hi""#))), r#"F="say \"hi\"""#);
        assert_eq!(w(e("a b", s("x"))), r#""a b"="x""#);
        assert!(query(&e("F", s("a?b")), &[]).unwrap_err().contains("`?`"));
        assert!(
            query(&e("F", s(r"a\*b")), &[])
                .unwrap_err()
                .contains("literal `*`")
        );
        let cased = Value::Str {
            s: SigmaString::parse("a"),
            cased: true,
        };
        assert!(query(&e("F", cased), &[]).unwrap_err().contains("cased"));
    }

    #[test]
    fn precedence() {
        // OR binds tighter than AND in SPL: an `or` inside an `and` needs no group.
        let or = Expr::Or(vec![e("A", s("1")), e("B", s("2"))]);
        let and = Expr::And(vec![or.clone(), e("C", s("3"))]);
        assert_eq!(w(and.clone()), r#"A="1" OR B="2" C="3""#);
        assert_eq!(
            w(Expr::Or(vec![and, e("D", s("4"))])),
            r#"(A="1" OR B="2" C="3") OR D="4""#
        );
        assert_eq!(w(not(or)), r#"NOT (A="1" OR B="2")"#);
        assert_eq!(w(not(e("A", s("1")))), r#"NOT A="1""#);
        let x = e("F", Value::Expansion(vec![s("*-a*"), s("*/a*")]));
        assert_eq!(w(not(x)), r#"NOT (F="*-a*" OR F="*/a*")"#);
    }

    #[test]
    fn lists_and_values() {
        let or = Expr::Or(vec![
            e("F", s("a")),
            e("F", s("*b")),
            e("F", Value::Num("3".into())),
        ]);
        assert_eq!(w(or), r#"F IN ("a", "*b", 3)"#);
        assert_eq!(w(e("F", Value::Null)), "NOT F=*");
        assert_eq!(w(e("F", Value::Exists(true))), "F=*");
        let cmp = Value::Compare {
            op: CmpOp::Gte,
            num: "3".into(),
        };
        assert_eq!(w(e("F", cmp)), "F>=3");
        assert_eq!(
            w(e("F", Value::Cidr("10.0.0.0/8".into()))),
            r#"F="10.0.0.0/8""#
        );
        assert_eq!(w(Expr::Eq(None, s("*x*"))), r#""*x*""#);
    }

    #[test]
    fn regexes() {
        let re = |p: &str| Value::Regex {
            pattern: p.into(),
            flags: String::new(),
        };
        let and = Expr::And(vec![e("A", s("1")), e("F", re(r#"^a\.b"$"#))]);
        assert_eq!(w(and), "A=\"1\"\n| regex F=\"^a\\\\.b\\\"$\"");
        assert_eq!(w(e("F", re("x"))), "*\n| regex F=\"x\"");
        assert_eq!(w(not(e("F", re("x")))), "*\n| regex F!=\"x\"");
        let or = Expr::And(vec![
            e("A", s("1")),
            Expr::Or(vec![e("F", re("x")), e("G", s("2"))]),
        ]);
        assert_eq!(
            w(or),
            "A=\"1\"\n| rex field=F \"(?<FMatch>x)\"\n| eval FCondition=if(isnotnull(FMatch), \"true\", \"false\")\n| search FCondition=\"true\" OR G=\"2\""
        );
        // Under a negated group the regex is a term of the search, so the NOT covers it.
        let neg = Expr::And(vec![
            e("A", s("1")),
            not(Expr::And(vec![e("B", s("2")), e("F", re("x"))])),
        ]);
        assert!(w(neg).ends_with("| search NOT (B=\"2\" FCondition=\"true\")"));
        let first = Expr::Or(vec![e("F", re("x")), e("G", s("2"))]);
        assert!(w(first).starts_with("*\n| rex field=F "));
    }
}
