//! Sigma values and value modifiers.
//!
//! A detection value starts as a YAML scalar and goes through the modifiers of its key in order
//! (`CommandLine|base64offset|contains`). Each modifier accepts some value types and produces
//! one, as in the Sigma specification's modifier appendix and pySigma 1.5; a modifier applied
//! to a value type it does not accept is an error, never a silent guess.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// One piece of a Sigma string: the IR's pattern part (`*` is `AnyMulti`, `?` is `AnyOne`,
/// `%name%` after `expand` is a `Placeholder`).
pub use ir::Part;

/// A string with Sigma wildcards: `*` and `?` are wildcards, `\` escapes `*`, `?` and `\`, and a
/// backslash before any other character is a plain backslash (`C:\Windows\` is literal).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SigmaString {
    pub parts: Vec<Part>,
}

impl SigmaString {
    /// Parse a value as written in a rule.
    pub fn parse(s: &str) -> SigmaString {
        let mut out = SigmaString::default();
        let mut lit = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        lit.push(n);
                        chars.next();
                    }
                    _ => lit.push('\\'),
                },
                '*' | '?' => {
                    if !lit.is_empty() {
                        out.parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    out.parts.push(if c == '*' {
                        Part::AnyMulti
                    } else {
                        Part::AnyOne
                    });
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            out.parts.push(Part::Lit(lit));
        }
        out
    }

    /// A string with no wildcards at all.
    pub fn plain(s: &str) -> SigmaString {
        SigmaString {
            parts: if s.is_empty() {
                vec![]
            } else {
                vec![Part::Lit(s.to_string())]
            },
        }
    }

    /// True if the string has a wildcard.
    pub fn has_wildcards(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::AnyMulti | Part::AnyOne))
    }

    pub fn starts_with_any(&self) -> bool {
        matches!(self.parts.first(), Some(Part::AnyMulti))
    }

    pub fn ends_with_any(&self) -> bool {
        matches!(self.parts.last(), Some(Part::AnyMulti))
    }

    /// The plain text, if the string has no wildcards or placeholders.
    pub fn as_plain(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => s.push_str(l),
                _ => return None,
            }
        }
        Some(s)
    }

    /// The string written back in Sigma syntax, escaping only what needs it: `*` and `?` in
    /// literals, and a backslash that comes before a wildcard or another backslash.
    pub fn to_sigma(&self) -> String {
        // Flatten to (char, is_literal) so the escape of a backslash can look ahead.
        let mut chars: Vec<(char, bool)> = Vec::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => chars.extend(l.chars().map(|c| (c, true))),
                Part::AnyMulti => chars.push(('*', false)),
                Part::AnyOne => chars.push(('?', false)),
                Part::Placeholder(n) => {
                    chars.push(('%', false));
                    chars.extend(n.chars().map(|c| (c, false)));
                    chars.push(('%', false));
                }
            }
        }
        let mut s = String::new();
        for (i, &(c, lit)) in chars.iter().enumerate() {
            let next_special = chars
                .get(i + 1)
                .is_some_and(|&(n, _)| matches!(n, '*' | '?' | '\\'));
            if lit && (matches!(c, '*' | '?') || (c == '\\' && next_special)) {
                s.push('\\');
            }
            s.push(c);
        }
        s
    }

    /// Number of characters, wildcards and placeholders counting one each (as pySigma's `len`).
    fn char_len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Lit(l) => l.chars().count(),
                _ => 1,
            })
            .sum()
    }

    fn map_lits(&self, f: impl Fn(&str) -> Result<String, String>) -> Result<SigmaString, String> {
        let parts = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Lit(l) => f(l).map(Part::Lit),
                p => Ok(p.clone()),
            })
            .collect::<Result<_, _>>()?;
        Ok(SigmaString { parts })
    }

    /// Put a `*` in front, unless one is there.
    pub fn prepend_any(&mut self) {
        if !self.starts_with_any() {
            self.parts.insert(0, Part::AnyMulti);
        }
    }

    /// Put a `*` at the end, unless one is there.
    pub fn append_any(&mut self) {
        if !self.ends_with_any() {
            self.parts.push(Part::AnyMulti);
        }
    }

    /// Turn `%name%` in literal parts into placeholders.
    fn insert_placeholders(&self) -> SigmaString {
        let mut out = Vec::new();
        for p in &self.parts {
            let Part::Lit(l) = p else {
                out.push(p.clone());
                continue;
            };
            let mut rest = l.as_str();
            while let Some(a) = rest.find('%') {
                let Some(b) = rest[a + 1..].find('%') else {
                    break;
                };
                let name = &rest[a + 1..a + 1 + b];
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                {
                    break;
                }
                if a > 0 {
                    out.push(Part::Lit(rest[..a].to_string()));
                }
                out.push(Part::Placeholder(name.to_string()));
                rest = &rest[a + 2 + b..];
            }
            if !rest.is_empty() {
                out.push(Part::Lit(rest.to_string()));
            }
        }
        SigmaString { parts: out }
    }
}

/// Comparison operators of `lt`, `lte`, `gt`, `gte` and `neq`-free numeric comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// A value after its modifiers were applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str {
        s: SigmaString,
        cased: bool,
    },
    /// A number, as its decimal text.
    Num(String),
    Bool(bool),
    Null,
    /// A regular expression with its flags (`i`, `m`, `s`).
    Regex {
        pattern: String,
        flags: String,
    },
    Cidr(String),
    Compare {
        op: CmpOp,
        num: String,
    },
    FieldRef {
        field: String,
        starts_with: bool,
        ends_with: bool,
    },
    Exists(bool),
    /// A part of the field's timestamp (`minute` … `year`) compared with a number.
    TimePart {
        part: &'static str,
        num: String,
    },
    /// Alternatives produced by `base64offset` or `windash`: any of them matches.
    Expansion(Vec<Value>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Str { .. } => "string",
            Value::Num(_) => "number",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
            Value::Regex { .. } => "regular expression",
            Value::Cidr(_) => "CIDR network",
            Value::Compare { .. } => "comparison",
            Value::FieldRef { .. } => "field reference",
            Value::Exists(_) => "exists test",
            Value::TimePart { .. } => "timestamp part",
            Value::Expansion(_) => "expansion",
        }
    }
}

/// A value modifier, as named after `|` in a detection key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Neq,
    Base64,
    Base64Offset,
    /// `wide` and its alias `utf16le`.
    Wide,
    Utf16Be,
    Utf16,
    Windash,
    Re,
    ReIgnoreCase,
    ReMultiline,
    ReDotAll,
    Cased,
    Cidr,
    Lt,
    Lte,
    Gt,
    Gte,
    FieldRef,
    Exists,
    Expand,
    TimePart(&'static str),
}

/// Every modifier name the Sigma specification and pySigma 1.5 define, with its meaning.
/// (`utf16le` is the specification's name for `wide`; pySigma 1.5 lacks it, we accept it.)
pub const MODIFIERS: &[(&str, Modifier)] = &[
    ("contains", Modifier::Contains),
    ("startswith", Modifier::StartsWith),
    ("endswith", Modifier::EndsWith),
    ("all", Modifier::All),
    ("neq", Modifier::Neq),
    ("base64", Modifier::Base64),
    ("base64offset", Modifier::Base64Offset),
    ("wide", Modifier::Wide),
    ("utf16le", Modifier::Wide),
    ("utf16be", Modifier::Utf16Be),
    ("utf16", Modifier::Utf16),
    ("windash", Modifier::Windash),
    ("re", Modifier::Re),
    ("i", Modifier::ReIgnoreCase),
    ("ignorecase", Modifier::ReIgnoreCase),
    ("m", Modifier::ReMultiline),
    ("multiline", Modifier::ReMultiline),
    ("s", Modifier::ReDotAll),
    ("dotall", Modifier::ReDotAll),
    ("cased", Modifier::Cased),
    ("cidr", Modifier::Cidr),
    ("lt", Modifier::Lt),
    ("lte", Modifier::Lte),
    ("gt", Modifier::Gt),
    ("gte", Modifier::Gte),
    ("fieldref", Modifier::FieldRef),
    ("exists", Modifier::Exists),
    ("expand", Modifier::Expand),
    ("minute", Modifier::TimePart("minute")),
    ("hour", Modifier::TimePart("hour")),
    ("day", Modifier::TimePart("day")),
    ("week", Modifier::TimePart("week")),
    ("month", Modifier::TimePart("month")),
    ("year", Modifier::TimePart("year")),
];

impl Modifier {
    pub fn from_name(name: &str) -> Option<Modifier> {
        MODIFIERS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
    }

    /// Modifiers that act on the list of values, not on each value.
    pub fn is_list_modifier(self) -> bool {
        matches!(self, Modifier::All | Modifier::Neq)
    }
}

/// Windows command-line flag characters `windash` substitutes for `-` and `/`.
const WINDASH: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
/// `windash` on more flags than this would create more alternatives than any backend can use.
const MAX_WINDASH_FLAGS: usize = 5;

/// Apply one value modifier. `applied` are the modifiers applied before this one.
pub fn apply(
    m: Modifier,
    v: Value,
    applied: &[Modifier],
    has_field: bool,
) -> Result<Value, String> {
    if let Value::Expansion(vs) = v {
        return vs
            .into_iter()
            .map(|v| apply(m, v, applied, has_field))
            .collect::<Result<_, _>>()
            .map(Value::Expansion);
    }
    let name = MODIFIERS
        .iter()
        .find(|(_, x)| *x == m)
        .map_or("?", |(n, _)| n);
    let wrong = |v: &Value, want: &str| {
        Err(format!(
            "modifier `{name}` applies to {want}, not to a {}",
            v.type_name()
        ))
    };
    let unmodified = |what: &str| -> Result<(), String> {
        if applied.iter().any(|m| !m.is_list_modifier()) {
            Err(format!(
                "modifier `{name}` only applies to unmodified {what} values"
            ))
        } else {
            Ok(())
        }
    };
    match m {
        Modifier::All | Modifier::Neq => Ok(v),
        Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => {
            let (front, back) = match m {
                Modifier::Contains => (true, true),
                Modifier::StartsWith => (false, true),
                _ => (true, false),
            };
            match v {
                Value::Str { mut s, cased } => {
                    if front {
                        s.prepend_any()
                    }
                    if back {
                        s.append_any()
                    }
                    Ok(Value::Str { s, cased })
                }
                Value::Regex { mut pattern, flags } => {
                    if front && !pattern.starts_with(".*") && !pattern.starts_with('^') {
                        pattern.insert_str(0, ".*");
                    }
                    if back && !pattern.ends_with(".*") && !pattern.ends_with('$') {
                        pattern.push_str(".*");
                    }
                    Ok(Value::Regex { pattern, flags })
                }
                Value::FieldRef {
                    field,
                    starts_with,
                    ends_with,
                } => Ok(Value::FieldRef {
                    field,
                    starts_with: starts_with || back,
                    ends_with: ends_with || front,
                }),
                v => wrong(&v, "strings, regular expressions and field references"),
            }
        }
        Modifier::Base64 | Modifier::Base64Offset => {
            let Value::Str { s, .. } = v else {
                return wrong(&v, "strings");
            };
            let Some(text) = s.as_plain() else {
                return Err(format!(
                    "modifier `{name}` cannot encode a string with wildcards or placeholders"
                ));
            };
            if m == Modifier::Base64 {
                return Ok(str_value(SigmaString::plain(&B64.encode(text.as_bytes()))));
            }
            Ok(Value::Expansion(
                base64_offsets(&text, s.char_len())
                    .into_iter()
                    .map(|t| str_value(SigmaString::plain(&t)))
                    .collect(),
            ))
        }
        Modifier::Wide | Modifier::Utf16Be | Modifier::Utf16 => {
            let Value::Str { s, cased } = v else {
                return wrong(&v, "strings");
            };
            let mut s = s.map_lits(|l| utf16_as_text(l, m == Modifier::Utf16Be, name))?;
            if m == Modifier::Utf16 {
                // pySigma puts the byte-order mark in front as a character, not encoded.
                s.parts.insert(0, Part::Lit("\u{feff}".into()));
            }
            let s = s;
            Ok(Value::Str { s, cased })
        }
        Modifier::Windash => {
            let Value::Str { s, cased } = v else {
                return wrong(&v, "strings");
            };
            windash(&s).map(|alts| {
                Value::Expansion(alts.into_iter().map(|s| Value::Str { s, cased }).collect())
            })
        }
        Modifier::Re => {
            unmodified("string")?;
            match v {
                // The reader keeps `re` values unparsed (no wildcards, no escapes): the
                // pattern is the text as written.
                Value::Str { s, .. } => {
                    let pattern = s.as_plain().unwrap_or_else(|| s.to_sigma());
                    check_regex(&pattern)?;
                    Ok(Value::Regex {
                        pattern,
                        flags: String::new(),
                    })
                }
                v => wrong(&v, "strings"),
            }
        }
        Modifier::ReIgnoreCase | Modifier::ReMultiline | Modifier::ReDotAll => {
            let Value::Regex { pattern, mut flags } = v else {
                return wrong(&v, "regular expressions (after `re`)");
            };
            let f = match m {
                Modifier::ReIgnoreCase => 'i',
                Modifier::ReMultiline => 'm',
                _ => 's',
            };
            if !flags.contains(f) {
                flags.push(f);
            }
            Ok(Value::Regex { pattern, flags })
        }
        Modifier::Cased => match v {
            Value::Str { s, .. } => Ok(Value::Str { s, cased: true }),
            v => wrong(&v, "strings"),
        },
        Modifier::Cidr => {
            unmodified("string")?;
            let Value::Str { s, .. } = v else {
                return wrong(&v, "strings");
            };
            let text = s.to_sigma();
            check_cidr(&text)?;
            Ok(Value::Cidr(text))
        }
        Modifier::Lt | Modifier::Lte | Modifier::Gt | Modifier::Gte => {
            let Value::Num(num) = v else {
                return wrong(&v, "numbers");
            };
            let op = match m {
                Modifier::Lt => CmpOp::Lt,
                Modifier::Lte => CmpOp::Lte,
                Modifier::Gt => CmpOp::Gt,
                _ => CmpOp::Gte,
            };
            Ok(Value::Compare { op, num })
        }
        Modifier::FieldRef => {
            let Value::Str { s, .. } = v else {
                return wrong(&v, "strings");
            };
            let Some(field) = s.as_plain() else {
                return Err("field references must not contain wildcards".into());
            };
            Ok(Value::FieldRef {
                field,
                starts_with: false,
                ends_with: false,
            })
        }
        Modifier::Exists => {
            if !has_field {
                return Err("modifier `exists` must be applied to a field".into());
            }
            unmodified("boolean")?;
            match v {
                Value::Bool(b) => Ok(Value::Exists(b)),
                v => wrong(&v, "booleans (`true` or `false`)"),
            }
        }
        Modifier::Expand => match v {
            Value::Str { s, cased } => Ok(Value::Str {
                s: s.insert_placeholders(),
                cased,
            }),
            Value::Regex { pattern, flags } => Ok(Value::Regex { pattern, flags }),
            v => wrong(&v, "strings and regular expressions"),
        },
        Modifier::TimePart(part) => match v {
            Value::Num(num) => Ok(Value::TimePart { part, num }),
            v => wrong(&v, "numbers"),
        },
    }
}

fn str_value(s: SigmaString) -> Value {
    Value::Str { s, cased: false }
}

/// The three base64 forms of `text` at byte offsets 0, 1 and 2 of a larger encoded string,
/// with the characters that depend on the unknown neighbours cut off (pySigma's scheme).
fn base64_offsets(text: &str, len: usize) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut bytes = vec![b' '; i];
            bytes.extend_from_slice(text.as_bytes());
            let enc = B64.encode(&bytes);
            let end = enc.len().saturating_sub(END[(len + i) % 3]);
            enc.get(START[i]..end).unwrap_or("").to_string()
        })
        .collect()
}

/// Encode as UTF-16 code units and read the bytes back as text, as pySigma does: every ASCII
/// character gains a NUL beside it. Characters whose encoded bytes are not valid UTF-8 (non-ASCII)
/// are an error, as in pySigma.
fn utf16_as_text(l: &str, big_endian: bool, name: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(l.len() * 2);
    for u in l.encode_utf16() {
        let b = if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        };
        bytes.extend_from_slice(&b);
    }
    String::from_utf8(bytes)
        .map_err(|_| format!("modifier `{name}` only applies to ASCII strings, not {l:?}"))
}

/// All variants of `s` with each flag dash (a `-` or `/` after a non-word character and before
/// a word character) replaced by each of the Windows flag characters.
fn windash(s: &SigmaString) -> Result<Vec<SigmaString>, String> {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    // Positions of flag dashes as (part index, char index).
    let mut spots = Vec::new();
    for (pi, p) in s.parts.iter().enumerate() {
        if let Part::Lit(l) = p {
            let cs: Vec<char> = l.chars().collect();
            for (ci, &c) in cs.iter().enumerate() {
                let before = if ci == 0 { None } else { Some(cs[ci - 1]) };
                if (c == '-' || c == '/') && !is_word(before) && is_word(cs.get(ci + 1).copied()) {
                    spots.push((pi, ci));
                }
            }
        }
    }
    if spots.len() > MAX_WINDASH_FLAGS {
        return Err(format!(
            "modifier `windash` on {} flags would make {} variants; at most {MAX_WINDASH_FLAGS} flags are supported",
            spots.len(),
            5usize.pow(spots.len() as u32)
        ));
    }
    let mut out = Vec::new();
    let n = WINDASH.len().pow(spots.len() as u32);
    for combo in 0..n {
        let mut parts = s.parts.clone();
        let mut k = combo;
        // The first flag varies slowest, as in pySigma's expansion.
        for &(pi, ci) in spots.iter().rev() {
            let ch = WINDASH[k % WINDASH.len()];
            k /= WINDASH.len();
            if let Part::Lit(l) = &mut parts[pi] {
                *l = l
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i == ci { ch } else { c })
                    .collect();
            }
        }
        out.push(SigmaString { parts });
    }
    Ok(out)
}

fn check_regex(pattern: &str) -> Result<(), String> {
    // The `regex` crate lacks look-around and back-references, which PCRE-style Sigma regexes
    // may use; those are accepted here, only syntax errors of the common subset are reported.
    // Syntax only (as the `regex` crate parses it): building the automaton is the engine's
    // business, and costs far more.
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(_) => Ok(()),
        Err(e) if !looks_like_pcre_only(pattern) => Err(format!(
            "invalid regular expression: {}",
            e.to_string().lines().last().unwrap_or("")
        )),
        Err(_) => Ok(()),
    }
}

fn looks_like_pcre_only(p: &str) -> bool {
    [
        "(?=", "(?!", "(?<=", "(?<!", "(?>", "\\1", "\\2", "(?P=", "\\k<", "*+", "++", "?+",
    ]
    .iter()
    .any(|x| p.contains(x))
}

fn check_cidr(text: &str) -> Result<(), String> {
    let (addr, len) = text.split_once('/').unwrap_or((text, ""));
    let max = match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return Err(format!("`{text}` is not an IP network (address/prefix)")),
    };
    if len.is_empty() {
        return Ok(());
    }
    match len.parse::<u8>() {
        Ok(n) if n <= max => Ok(()),
        _ => Err(format!("`{text}`: prefix length must be 0..={max}")),
    }
}

#[cfg(test)]
mod tests;
