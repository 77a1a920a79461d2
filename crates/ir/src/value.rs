//! One meaning for a value: the text as written beside the pattern it means.
//!
//! Every reader knows its language's escaping and wildcards, and only the reader: it turns the
//! text of a value into a [`Pattern`] (literal parts and wildcards, escapes resolved) with
//! [`Syntax`]. Everything else — corpus counts, the exclusion and indicator rows, the IR
//! evaluator, the engine — reads the pattern, never the text.
//!
//! A pattern matches a **whole** value: `contains x` is `*x*`, `ends_with x` is `*x`,
//! `starts_with x` is `x*` ([`Value::new`] wraps the operand by the predicate's kind). `*` is
//! any run of characters, even empty, newlines included; `?` is one character. Case and
//! transforms are the predicate's (all its values share them); case is folded only in keys and
//! compiled matchers, by full Unicode lower-casing of both sides.

use crate::Kind;
use serde::{Serialize, Serializer};

/// A piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// Text to match exactly (escapes resolved, case as written).
    Lit(String),
    /// `*`: any run of characters, even empty.
    AnyMulti,
    /// `?`: one character.
    AnyOne,
    /// `%name%` after Sigma's `expand`: a value a pipeline fills in.
    Placeholder(String),
}

/// A string pattern in its canonical form: adjacent literals merged, none empty, each run of
/// wildcards as its `?`s then at most one `*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pattern {
    parts: Vec<Part>,
}

/// What a pattern is, for a consumer choosing an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    Exact(&'a str),
    Prefix(&'a str),
    Suffix(&'a str),
    Contains(&'a str),
    /// `*`: any string value.
    Any,
    /// Anything else: inner wildcards, `?`, placeholders.
    Glob,
}

/// How a language writes a value: which characters are wildcards and how they are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// No wildcards: the text is the literal (KQL, EQL `==`, SPL `where`, quoted kuery).
    Literal,
    /// `*` is a wildcard; `?` too when `one`; `escape` says what a backslash does.
    Glob { one: bool, escape: Escape },
}

/// What a backslash does in a [`Syntax::Glob`] value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Nothing: a backslash is a character and wildcards cannot be escaped (SPL search, EQL `:`).
    None,
    /// Sigma: `\*`, `\?` and `\\` are the characters; any other backslash is a character.
    Wildcards,
    /// `\c` is the character `c`, whatever `c` is (kuery, Lucene, ES|QL `LIKE`).
    Any,
}

impl Syntax {
    /// Sigma's: `*`, `?`, escaped by `\`.
    pub const SIGMA: Syntax = Syntax::Glob {
        one: true,
        escape: Escape::Wildcards,
    };
    /// SPL's search language: `*` only, which cannot be escaped.
    pub const SPL_SEARCH: Syntax = Syntax::Glob {
        one: false,
        escape: Escape::None,
    };
    /// EQL's `:` and `like`: `*` and `?`, which cannot be escaped.
    pub const EQL: Syntax = Syntax::Glob {
        one: true,
        escape: Escape::None,
    };
    /// Lucene's `wildcard` query and ES|QL `LIKE`: `*` and `?`, `\` escapes any character.
    pub const LUCENE: Syntax = Syntax::Glob {
        one: true,
        escape: Escape::Any,
    };
}

impl Pattern {
    /// The canonical pattern of `parts`.
    pub fn new(parts: impl IntoIterator<Item = Part>) -> Pattern {
        let mut out: Vec<Part> = Vec::new();
        let mut multi = false; // a `*` is pending at the end of the current wildcard run
        for p in parts {
            match p {
                Part::Lit(l) if l.is_empty() => {}
                Part::AnyMulti => multi = true,
                Part::AnyOne => out.push(Part::AnyOne),
                p => {
                    if std::mem::take(&mut multi) {
                        out.push(Part::AnyMulti);
                    }
                    match (out.last_mut(), p) {
                        (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
                        (_, p) => out.push(p),
                    }
                }
            }
        }
        if multi {
            out.push(Part::AnyMulti);
        }
        Pattern { parts: out }
    }

    /// A pattern of one literal text.
    pub fn literal(text: &str) -> Pattern {
        Pattern::new([Part::Lit(text.to_string())])
    }

    /// The pattern a value written in `syntax` means.
    pub fn parse(text: &str, syntax: Syntax) -> Pattern {
        let Syntax::Glob { one, escape } = syntax else {
            return Pattern::literal(text);
        };
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if escape != Escape::None => match (escape, chars.peek()) {
                    (Escape::Any, Some(&n))
                    | (Escape::Wildcards, Some(&n @ ('*' | '?' | '\\'))) => {
                        lit.push(n);
                        chars.next();
                    }
                    _ => lit.push('\\'),
                },
                '*' => {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                    parts.push(Part::AnyMulti);
                }
                '?' if one => {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                    parts.push(Part::AnyOne);
                }
                c => lit.push(c),
            }
        }
        parts.push(Part::Lit(lit));
        Pattern::new(parts)
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// `*` around the pattern (as a `contains`), without doubling one already there.
    fn wrapped(self, before: bool, after: bool) -> Pattern {
        let mut parts = Vec::with_capacity(self.parts.len() + 2);
        if before {
            parts.push(Part::AnyMulti);
        }
        parts.extend(self.parts);
        if after {
            parts.push(Part::AnyMulti);
        }
        Pattern::new(parts)
    }

    /// What the pattern is, for choosing an operator.
    pub fn shape(&self) -> Shape<'_> {
        use Part::{AnyMulti as M, Lit};
        match self.parts.as_slice() {
            [] => Shape::Exact(""),
            [Lit(l)] => Shape::Exact(l),
            [Lit(l), M] => Shape::Prefix(l),
            [M, Lit(l)] => Shape::Suffix(l),
            [M, Lit(l), M] => Shape::Contains(l),
            [M] => Shape::Any,
            _ => Shape::Glob,
        }
    }

    /// Whether the pattern has a wildcard or a placeholder.
    pub fn has_wildcards(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Lit(_)))
    }

    /// Whether the pattern has a placeholder (a value only a pipeline gives).
    pub fn has_placeholders(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Placeholder(_)))
    }

    /// The longest literal part: every value the pattern matches contains it.
    pub fn longest_literal(&self) -> &str {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Lit(l) => Some(l.as_str()),
                _ => None,
            })
            .max_by_key(|l| l.len())
            .unwrap_or("")
    }

    /// The pattern as one text, wildcards as `*` and `?`, and `\` before a literal `*`, `?`
    /// or `\` (Sigma's syntax); lower-cased unless `case_sensitive`. Two patterns are the same
    /// test exactly when their keys (and cases) are equal.
    pub fn key(&self, case_sensitive: bool) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => {
                    for c in l.chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            s.push('\\');
                        }
                        if case_sensitive {
                            s.push(c);
                        } else {
                            s.extend(c.to_lowercase());
                        }
                    }
                }
                Part::AnyMulti => s.push('*'),
                Part::AnyOne => s.push('?'),
                Part::Placeholder(n) => {
                    s.push('%');
                    s.push_str(n);
                    s.push('%');
                }
            }
        }
        s
    }

    /// Whether `text` matches, for one test (a [`Matcher`] is faster for many texts). A
    /// pattern with a placeholder matches nothing.
    pub fn matches(&self, text: &str, case_sensitive: bool) -> bool {
        fn fold(s: &str, case_sensitive: bool) -> std::borrow::Cow<'_, str> {
            if case_sensitive {
                std::borrow::Cow::Borrowed(s)
            } else {
                std::borrow::Cow::Owned(s.to_lowercase())
            }
        }
        let fold = |s| fold(s, case_sensitive);
        let text = fold(text);
        match self.shape() {
            Shape::Exact(l) => *text == *fold(l),
            Shape::Prefix(l) => text.starts_with(&*fold(l)),
            Shape::Suffix(l) => text.ends_with(&*fold(l)),
            Shape::Contains(l) => text.contains(&*fold(l)),
            Shape::Any => true,
            Shape::Glob => {
                let parts: Vec<Part> = self
                    .parts
                    .iter()
                    .map(|p| match p {
                        Part::Lit(l) => Part::Lit(fold(l).into_owned()),
                        p => p.clone(),
                    })
                    .collect();
                glob(&parts, &text)
            }
        }
    }
}

/// One value of a predicate: the text as written, and what it means as a string pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Value {
    /// As written in the rule (string quotes and escapes of the language resolved where the
    /// reader did so; shown to people).
    pub written: String,
    /// The whole-value pattern of a string test (`eq`, `contains`, `starts_with`, `ends_with`,
    /// `keyword`); `None` for a regex, number, CIDR, comparison or field reference.
    pub pattern: Option<Pattern>,
    /// The whole-value patterns the predicate's transforms (`base64offset`, `windash`, `wide`,
    /// …) make of `pattern`, as the reader expanded them (the reader is the one place a
    /// language's transforms are implemented); empty without transforms.
    pub expanded: Vec<Pattern>,
}

impl Value {
    /// The value of a `kind` test whose operand is `written` in `syntax`: a string kind gets
    /// the operand's pattern wrapped as the kind says (`contains` and `keyword`: `*x*`); any
    /// other kind has no pattern.
    pub fn new(kind: Kind, written: impl Into<String>, syntax: Syntax) -> Value {
        let written = written.into();
        let pattern = Value::wrap(kind, || Pattern::parse(&written, syntax));
        Value {
            written,
            pattern,
            expanded: Vec::new(),
        }
    }

    /// The value of a `kind` test whose operand the reader has already read as `operand`.
    pub fn of_pattern(kind: Kind, written: impl Into<String>, operand: Pattern) -> Value {
        Value {
            written: written.into(),
            pattern: Value::wrap(kind, || operand),
            expanded: Vec::new(),
        }
    }

    /// A value without a string pattern (a number, regex, CIDR, field name, …).
    pub fn opaque(written: impl Into<String>) -> Value {
        Value {
            written: written.into(),
            pattern: None,
            expanded: Vec::new(),
        }
    }

    fn wrap(kind: Kind, operand: impl FnOnce() -> Pattern) -> Option<Pattern> {
        let p = match kind {
            Kind::Eq => operand(),
            Kind::Contains | Kind::Keyword => operand().wrapped(true, true),
            Kind::StartsWith => operand().wrapped(false, true),
            Kind::EndsWith => operand().wrapped(true, false),
            _ => return None,
        };
        Some(p)
    }

    pub fn as_str(&self) -> &str {
        &self.written
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.written)
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.written == other
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.written == *other
    }
}

impl PartialEq<String> for Value {
    fn eq(&self, other: &String) -> bool {
        &self.written == other
    }
}

/// A pattern compiled into the cheapest test that decides it.
#[derive(Debug, Clone)]
pub struct Matcher {
    case_sensitive: bool,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Eq(String),
    Prefix(String),
    Suffix(String),
    Contains(Box<memchr::memmem::Finder<'static>>),
    Any,
    /// Inner wildcards or `?`: the parts, literals folded, matched by [`glob`].
    Glob(Vec<Part>),
}

impl Matcher {
    /// The matcher of `p`; an error for a placeholder (it has no value until a pipeline fills
    /// it).
    pub fn new(p: &Pattern, case_sensitive: bool) -> Result<Matcher, String> {
        let fold = |l: &str| {
            if case_sensitive {
                l.to_string()
            } else {
                l.to_lowercase()
            }
        };
        if let Some(Part::Placeholder(name)) =
            p.parts.iter().find(|p| matches!(p, Part::Placeholder(_)))
        {
            return Err(format!(
                "placeholder %{name}% has no value (the `expand` modifier needs a pipeline that fills it)"
            ));
        }
        let test = match p.shape() {
            Shape::Exact(l) => Test::Eq(fold(l)),
            Shape::Prefix(l) => Test::Prefix(fold(l)),
            Shape::Suffix(l) => Test::Suffix(fold(l)),
            Shape::Contains(l) => {
                Test::Contains(Box::new(memchr::memmem::Finder::new(&fold(l)).into_owned()))
            }
            Shape::Any => Test::Any,
            Shape::Glob => Test::Glob(
                p.parts
                    .iter()
                    .map(|part| match part {
                        Part::Lit(l) => Part::Lit(fold(l)),
                        other => other.clone(),
                    })
                    .collect(),
            ),
        };
        Ok(Matcher {
            case_sensitive,
            test,
        })
    }

    pub fn case_sensitive(&self) -> bool {
        self.case_sensitive
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        if self.case_sensitive {
            self.is_match_folded(text)
        } else {
            self.is_match_folded(&text.to_lowercase())
        }
    }

    /// Whether `text` matches, `text` being lower-cased already when the matcher is not
    /// case-sensitive (a caller testing many matchers on one value folds it once).
    pub fn is_match_folded(&self, text: &str) -> bool {
        match &self.test {
            Test::Eq(s) => text == s,
            Test::Prefix(s) => text.starts_with(s.as_str()),
            Test::Suffix(s) => text.ends_with(s.as_str()),
            Test::Contains(f) => f.find(text.as_bytes()).is_some(),
            Test::Any => true,
            Test::Glob(parts) => glob(parts, text),
        }
    }
}

/// Whether `text` matches the parts (no placeholders): each literal in turn, `?` one
/// character, `*` any run. A `*` is only ever retried from the latest one, so the cost is
/// at most the text's length times the pattern's.
fn glob(parts: &[Part], text: &str) -> bool {
    let (mut p, mut t) = (0, 0); // part index, byte offset in text
    let mut retry: Option<(usize, usize)> = None; // after the latest `*`: (part, text offset)
    loop {
        let step = match parts.get(p) {
            None if t == text.len() => return true,
            None => None,
            Some(Part::AnyMulti) => {
                retry = Some((p + 1, t));
                Some((p + 1, t))
            }
            Some(Part::AnyOne) => text[t..].chars().next().map(|c| (p + 1, t + c.len_utf8())),
            Some(Part::Lit(l)) => text[t..]
                .starts_with(l.as_str())
                .then(|| (p + 1, t + l.len())),
            Some(Part::Placeholder(_)) => return false,
        };
        match step {
            Some((np, nt)) => (p, t) = (np, nt),
            None => {
                // Let the latest `*` take one more character, if there is one.
                let Some((rp, rt)) = retry else {
                    return false;
                };
                let Some(c) = text[rt..].chars().next() else {
                    return false;
                };
                retry = Some((rp, rt + c.len_utf8()));
                (p, t) = (rp, rt + c.len_utf8());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Part::*;
    use proptest::strategy::Strategy;

    fn lit(s: &str) -> Part {
        Lit(s.into())
    }

    #[test]
    fn canonical_form_merges_literals_and_orders_wildcard_runs() {
        let p = Pattern::new([
            lit("a"),
            lit(""),
            lit("b"),
            AnyMulti,
            AnyOne,
            AnyMulti,
            lit("c"),
        ]);
        assert_eq!(p.parts(), [lit("ab"), AnyOne, AnyMulti, lit("c")]);
        assert_eq!(Pattern::new([AnyMulti, AnyMulti]).parts(), [AnyMulti]);
        assert_eq!(Pattern::new([lit("")]).parts(), []);
    }

    #[test]
    fn each_syntax_reads_its_escapes() {
        // `\*` is a literal star (the common slip `'*\AppData\*'` ends in one).
        let sigma = Pattern::parse(r"C:\Windows\*\x\*y\\", Syntax::SIGMA);
        assert_eq!(sigma.parts(), [lit(r"C:\Windows*\x*y\")]);
        let sigma = Pattern::parse(r"C:\Windows\\*\x?", Syntax::SIGMA);
        assert_eq!(
            sigma.parts(),
            [lit(r"C:\Windows\"), AnyMulti, lit(r"\x"), AnyOne]
        );
        let spl = Pattern::parse(r"*\lsass.exe?", Syntax::SPL_SEARCH);
        assert_eq!(spl.parts(), [AnyMulti, lit(r"\lsass.exe?")]);
        let eql = Pattern::parse(r"a\*?", Syntax::EQL);
        assert_eq!(eql.parts(), [lit(r"a\"), AnyOne, AnyMulti]);
        let lucene = Pattern::parse(r"a\*\\b*", Syntax::LUCENE);
        assert_eq!(lucene.parts(), [lit(r"a*\b"), AnyMulti]);
        assert_eq!(Pattern::parse("*x?", Syntax::Literal).parts(), [lit("*x?")]);
    }

    #[test]
    fn kinds_wrap_the_operand_and_shapes_read_back() {
        let v = Value::new(Kind::Contains, "Invoke-Command", Syntax::Literal);
        let p = v.pattern.as_ref().unwrap();
        assert_eq!(p.shape(), Shape::Contains("Invoke-Command"));
        assert_eq!(
            p,
            Value::new(Kind::Eq, "*Invoke-Command*", Syntax::SPL_SEARCH)
                .pattern
                .as_ref()
                .unwrap()
        );
        let v = Value::new(Kind::EndsWith, r"*\x.exe", Syntax::SIGMA);
        assert_eq!(v.pattern.unwrap().shape(), Shape::Suffix(r"\x.exe"));
        assert_eq!(Value::new(Kind::Regex, "a.*", Syntax::SIGMA).pattern, None);
        let any = Value::new(Kind::Eq, "*", Syntax::SIGMA).pattern.unwrap();
        assert_eq!(any.shape(), Shape::Any);
    }

    #[test]
    fn keys_escape_literal_wildcards_and_fold_case() {
        let a = Pattern::parse(r"*A\*b*", Syntax::SIGMA);
        let b = Pattern::parse(r"*a\*B*", Syntax::LUCENE);
        assert_eq!(a.key(false), r"*a\*b*");
        assert_eq!(a.key(false), b.key(false));
        assert_ne!(a.key(true), b.key(true));
        // A literal star is not a wildcard.
        let star = Pattern::parse("*", Syntax::Literal);
        assert_ne!(star.key(false), Pattern::new([AnyMulti]).key(false));
    }

    #[test]
    fn matchers_decide_whole_values() {
        let m = |p: &str, cs| Matcher::new(&Pattern::parse(p, Syntax::SIGMA), cs).unwrap();
        assert!(m(r"*\powershell.exe", false).is_match(r"C:\X\PowerShell.EXE"));
        assert!(!m(r"*\powershell.exe", true).is_match(r"C:\X\PowerShell.EXE"));
        assert!(m("a?c*", false).is_match("abcd"));
        assert!(!m("a?c*", false).is_match("acd"));
        assert!(m("*", false).is_match(""));
        assert!(m("*x*", false).is_match("a\nx"));
        assert!(m(r"a\*", false).is_match("a*"));
        assert!(!m(r"a\*", false).is_match("ab"));
        assert!(m("İ*", false).is_match("i̇x"));
        let placeholder = Pattern::new([Placeholder("domain".into())]);
        assert!(Matcher::new(&placeholder, false).is_err());
        assert!(!placeholder.matches("x", false));
    }

    proptest::proptest! {
        /// The glob matcher decides as an anchored regex of the same parts does, on texts and
        /// patterns over a small alphabet (so that matches are frequent).
        #[test]
        fn glob_agrees_with_a_regex(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    "[abé]{1,3}".prop_map(Lit),
                    proptest::strategy::Just(AnyMulti),
                    proptest::strategy::Just(AnyOne),
                ],
                0..7,
            ),
            text in "[abé]{0,10}",
        ) {
            let p = Pattern::new(parts);
            let mut re = String::from("(?s)^");
            for part in p.parts() {
                match part {
                    Lit(l) => re.push_str(&regex::escape(l)),
                    AnyMulti => re.push_str(".*"),
                    AnyOne => re.push('.'),
                    Placeholder(_) => unreachable!(),
                }
            }
            re.push('$');
            let want = regex::Regex::new(&re).unwrap().is_match(&text);
            proptest::prop_assert_eq!(p.matches(&text, true), want, "{:?} on {:?}", p, text);
        }

        /// `Pattern::new` is idempotent.
        #[test]
        fn canonical_form_is_idempotent(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    "[a*]{0,2}".prop_map(Lit),
                    proptest::strategy::Just(AnyMulti),
                    proptest::strategy::Just(AnyOne),
                ],
                0..8,
            ),
        ) {
            let once = Pattern::new(parts);
            proptest::prop_assert_eq!(Pattern::new(once.parts().to_vec()), once);
        }
    }
}
