//! Scalar resolution as PyYAML's `safe_load` does it (the YAML 1.1 implicit resolvers of
//! `yaml/resolver.py` and the constructors of `yaml/constructor.py`), written out by hand so that
//! no regex engine is needed.

use crate::Value;

/// What a scalar's text means once constructed as an integer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum IntResult {
    Int(i64),
    /// A well-formed integer that does not fit in an `i64`.
    Overflow,
    /// Text that PyYAML's `int()` calls would reject.
    Invalid,
}

/// Resolve a plain (unquoted, untagged) scalar. `text` is the scalar's value after folding.
pub(crate) fn resolve_plain(text: String) -> Value {
    if is_null(&text) {
        return Value::Null;
    }
    if let Some(b) = bool_value(&text) {
        return Value::Bool(b);
    }
    // PyYAML tries the float resolver before the int resolver; their languages do not overlap.
    if is_float(&text) {
        if let Some(f) = construct_float(&text) {
            return Value::Float(f);
        }
    } else if is_int(&text) {
        // Integers too large for an i64 (and the few texts the int regex accepts but Python's
        // `int()` rejects, such as `0x_`) stay strings, so no digit is lost.
        if let IntResult::Int(i) = construct_int(&text) {
            return Value::Int(i);
        }
    }
    Value::Str {
        text,
        quoted: false,
    }
}

/// PyYAML's null resolver: `~`, `null`, `Null`, `NULL` and the empty scalar.
pub(crate) fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// PyYAML's YAML 1.1 bool resolver.
pub(crate) fn bool_value(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// `construct_yaml_bool`: the lower-cased text looked up in the bool table.
pub(crate) fn construct_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

fn strip_sign(s: &str) -> &str {
    s.strip_prefix(['-', '+']).unwrap_or(s)
}

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(f)
}

fn is_dec_(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// Consume `[0-9][0-9_]*` at the start of `s`; `None` when `s` does not start with a digit.
fn digits_(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    if !bytes.first()?.is_ascii_digit() {
        return None;
    }
    let n = bytes.iter().take_while(|b| is_dec_(**b)).count();
    s.get(n..)
}

/// Match `(?::[0-5]?[0-9])+` at the start of `s`, returning the rest.
fn sexagesimal_groups(mut s: &str) -> Option<&str> {
    let mut groups = 0;
    while let Some(rest) = s.strip_prefix(':') {
        let b = rest.as_bytes();
        let n = match (b.first(), b.get(1)) {
            (Some(d0), Some(d1)) if (b'0'..=b'5').contains(d0) && d1.is_ascii_digit() => 2,
            (Some(d0), _) if d0.is_ascii_digit() => 1,
            _ => return None,
        };
        s = rest.get(n..)?;
        groups += 1;
    }
    (groups > 0).then_some(s)
}

/// PyYAML's YAML 1.1 int resolver:
/// `[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ |
/// [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+`.
pub(crate) fn is_int(s: &str) -> bool {
    let r = strip_sign(s);
    if let Some(b) = r.strip_prefix("0b")
        && !b.is_empty()
        && all(b, |c| c == b'0' || c == b'1' || c == b'_')
    {
        return true;
    }
    if let Some(x) = r.strip_prefix("0x")
        && !x.is_empty()
        && all(x, |c| c.is_ascii_hexdigit() || c == b'_')
    {
        return true;
    }
    if let Some(o) = r.strip_prefix('0') {
        return o.is_empty() || all(o, |c| (b'0'..=b'7').contains(&c) || c == b'_');
    }
    match r.as_bytes().first() {
        Some(b'1'..=b'9') => {}
        _ => return false,
    }
    let Some(rest) = digits_(r) else {
        return false;
    };
    rest.is_empty() || sexagesimal_groups(rest).is_some_and(str::is_empty)
}

/// Match `(?:[eE][-+][0-9]+)?` followed by the end of the text.
fn exponent_then_end(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let Some(e) = s.strip_prefix(['e', 'E']) else {
        return false;
    };
    let Some(d) = e.strip_prefix(['-', '+']) else {
        return false;
    };
    !d.is_empty() && all(d, |c| c.is_ascii_digit())
}

/// PyYAML's YAML 1.1 float resolver:
/// `[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)? | \.[0-9][0-9_]*(?:[eE][-+][0-9]+)? |
/// [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)`.
/// An exponent needs a dot and a signed power: `1e5` and `1.0e5` are strings, `1.0e+5` a float.
pub(crate) fn is_float(s: &str) -> bool {
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    // `\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` (no sign allowed: `-.5` is a string).
    if let Some(rest) = s.strip_prefix('.').and_then(digits_) {
        return exponent_then_end(rest);
    }
    let r = strip_sign(s);
    if matches!(r, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let Some(rest) = digits_(r) else {
        return false;
    };
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(|b| is_dec_(*b)).count();
        return frac.get(n..).is_some_and(exponent_then_end);
    }
    match sexagesimal_groups(rest).and_then(|t| t.strip_prefix('.')) {
        Some(frac) => all(frac, is_dec_),
        None => false,
    }
}

/// `construct_yaml_int`: underscores removed, then `0b`, `0x`, leading-zero octal, base 60 or
/// decimal.
pub(crate) fn construct_int(s: &str) -> IntResult {
    let v: String = s.chars().filter(|c| *c != '_').collect();
    let (negative, r) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        Some(_) => (false, v.as_str()),
        None => return IntResult::Invalid,
    };
    let magnitude = if r == "0" {
        Ok(0)
    } else if let Some(b) = r.strip_prefix("0b") {
        parse_radix(b, 2)
    } else if let Some(x) = r.strip_prefix("0x") {
        parse_radix(x, 16)
    } else if r.starts_with('0') {
        parse_radix(r, 8)
    } else if r.contains(':') {
        let mut total: i128 = 0;
        for part in r.split(':') {
            match parse_radix(part, 10) {
                Ok(d) => {
                    total = match total.checked_mul(60).and_then(|t| t.checked_add(d)) {
                        Some(t) => t,
                        None => return IntResult::Overflow,
                    }
                }
                Err(e) => return e,
            }
        }
        Ok(total)
    } else {
        parse_radix(r, 10)
    };
    match magnitude {
        Ok(m) => {
            let signed = if negative { -m } else { m };
            match i64::try_from(signed) {
                Ok(i) => IntResult::Int(i),
                Err(_) => IntResult::Overflow,
            }
        }
        Err(e) => e,
    }
}

/// Python's `int(s, radix)` on an unsigned digit string (no sign, no underscores).
fn parse_radix(s: &str, radix: u32) -> Result<i128, IntResult> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return Err(IntResult::Invalid);
    }
    i128::from_str_radix(s, radix).map_err(|_| IntResult::Overflow)
}

/// `construct_yaml_float`: underscores removed, lower-cased, then `.inf`, `.nan`, base 60 or
/// Python's `float()`.
pub(crate) fn construct_float(s: &str) -> Option<f64> {
    let v: String = s
        .chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let (sign, r) = match v.as_bytes().first()? {
        b'-' => (-1.0, &v[1..]),
        b'+' => (1.0, &v[1..]),
        _ => (1.0, v.as_str()),
    };
    if r == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if r == ".nan" {
        return Some(f64::NAN);
    }
    if r.contains(':') {
        let mut total = 0.0;
        for part in r.split(':') {
            total = total * 60.0 + python_float(part)?;
        }
        return Some(sign * total);
    }
    Some(sign * python_float(r)?)
}

/// Python's `float()` on an unsigned text; Rust's grammar is close enough once signs are gone
/// (`1.`, `.5`, `1.e+5`, `inf`, `nan` are accepted by both).
fn python_float(s: &str) -> Option<f64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    s.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Value {
        resolve_plain(s.to_string())
    }
    fn st(s: &str) -> Value {
        Value::Str {
            text: s.to_string(),
            quoted: false,
        }
    }

    #[test]
    fn nulls() {
        for s in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(r(s), Value::Null, "{s:?}");
        }
        for s in ["nULL", "none", "None", "~~"] {
            assert_eq!(r(s), st(s), "{s:?}");
        }
    }

    #[test]
    fn bools() {
        for s in [
            "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        ] {
            assert_eq!(r(s), Value::Bool(true), "{s:?}");
        }
        for s in [
            "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ] {
            assert_eq!(r(s), Value::Bool(false), "{s:?}");
        }
        for s in ["y", "n", "yEs", "oN", "tRUE", "Y", "N"] {
            assert_eq!(r(s), st(s), "{s:?}");
        }
    }

    #[test]
    fn ints() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("7", 7),
            ("-17", -17),
            ("+17", 17),
            ("1_000", 1000),
            ("1__", 1),
            ("0x1F", 31),
            ("0x1f", 31),
            ("-0x1F", -31),
            ("0x_1", 1),
            ("010", 8),
            ("0_", 0),
            ("00", 0),
            ("-010", -8),
            ("0b101", 5),
            ("-0b1_1", -3),
            ("190:20:30", 685_230),
            ("1:30", 90),
            ("-1:0", -60),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ];
        for (s, v) in cases {
            assert_eq!(r(s), Value::Int(*v), "{s:?}");
        }
    }

    #[test]
    fn not_ints() {
        for s in [
            "09", "0o17", "0b", "0x", "0b2", "0xg", "1:60", "1:", "0:30", "-", "+", "1 000",
            "1,000", "12abc", "0x_", "0b_",
        ] {
            assert_eq!(r(s), st(s), "{s:?}");
        }
    }

    #[test]
    fn int_overflow_stays_string() {
        for s in [
            "9223372036854775808",
            "-9223372036854775809",
            "0xFFFFFFFFFFFFFFFFFF",
        ] {
            assert_eq!(r(s), st(s), "{s:?}");
        }
        assert_eq!(construct_int("9223372036854775808"), IntResult::Overflow);
    }

    #[test]
    fn floats() {
        let cases: &[(&str, f64)] = &[
            ("1.0", 1.0),
            ("1.", 1.0),
            ("-1.5", -1.5),
            ("+1.5", 1.5),
            (".5", 0.5),
            ("1_000.5", 1000.5),
            ("1.0e+5", 100_000.0),
            ("1.0E-2", 0.01),
            ("1.e+5", 100_000.0),
            (".5e+1", 5.0),
            ("1:30.5", 90.5),
            ("-1:30.", -90.0),
            ("0.", 0.0),
            ("01.5", 1.5),
        ];
        for (s, v) in cases {
            assert_eq!(r(s), Value::Float(*v), "{s:?}");
        }
        assert_eq!(r(".inf"), Value::Float(f64::INFINITY));
        assert_eq!(r("+.Inf"), Value::Float(f64::INFINITY));
        assert_eq!(r("-.INF"), Value::Float(f64::NEG_INFINITY));
        for s in [".nan", ".NaN", ".NAN"] {
            match r(s) {
                Value::Float(f) => assert!(f.is_nan(), "{s:?}"),
                other => panic!("{s:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn not_floats() {
        for s in [
            "1e5",
            "1E5",
            "1.0e5",
            "1.0e",
            "1.0e+",
            "-.5",
            "+.5",
            "._5",
            ".",
            "-.nan",
            ".Nan",
            ".inF",
            "inf",
            "nan",
            "1.2.3",
            "1:30",
            "2001-12-14",
            "2001-12-14 21:59:43.10 -5",
        ] {
            assert!(!matches!(r(s), Value::Float(_)), "{s:?} gave {:?}", r(s));
        }
        assert_eq!(r("1e5"), st("1e5"));
        assert_eq!(r("2001-12-14"), st("2001-12-14"));
    }

    #[test]
    fn explicit_constructors() {
        assert_eq!(construct_int("12abc"), IntResult::Invalid);
        assert_eq!(construct_int(""), IntResult::Invalid);
        assert_eq!(construct_int("0x1F"), IntResult::Int(31));
        assert_eq!(construct_float("1e5"), Some(100_000.0));
        assert_eq!(construct_float("1"), Some(1.0));
        assert_eq!(construct_float("abc"), None);
        assert_eq!(construct_float("--1"), None);
        assert_eq!(construct_bool("YeS"), Some(true));
        assert_eq!(construct_bool("maybe"), None);
    }
}
