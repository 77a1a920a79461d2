//! Every modifier, the wildcard and escape rules, and the illegal combinations.

use super::*;

fn s(text: &str) -> Value {
    Value::Str {
        s: SigmaString::parse(text),
        cased: false,
    }
}

fn run(mods: &[Modifier], v: Value) -> Result<Value, String> {
    let mut applied = Vec::new();
    let mut v = v;
    for &m in mods {
        v = apply(m, v, &applied, true)?;
        applied.push(m);
    }
    Ok(v)
}

fn sigma_text(v: &Value) -> String {
    match v {
        Value::Str { s, .. } => s.to_sigma(),
        other => panic!("not a string: {other:?}"),
    }
}

fn expansion(v: &Value) -> Vec<String> {
    match v {
        Value::Expansion(vs) => vs.iter().map(sigma_text).collect(),
        other => panic!("not an expansion: {other:?}"),
    }
}

// Specification, "Wildcards" and "Escaping": `*` and `?` are wildcards, `\` escapes them and
// itself, and a backslash before any other character is a plain backslash.
#[test]
fn wildcards_and_escapes() {
    use Part::*;
    assert_eq!(
        SigmaString::parse("a*b?c").parts,
        [
            Lit("a".into()),
            AnyMulti,
            Lit("b".into()),
            AnyOne,
            Lit("c".into())
        ]
    );
    assert_eq!(
        SigmaString::parse(r"C:\Windows\System32").parts,
        [Lit(r"C:\Windows\System32".into())]
    );
    assert_eq!(SigmaString::parse(r"\*").parts, [Lit("*".into())]);
    assert_eq!(SigmaString::parse(r"\?").parts, [Lit("?".into())]);
    assert_eq!(SigmaString::parse(r"a\\b").parts, [Lit(r"a\b".into())]);
    // `\\*` is a backslash followed by a wildcard.
    assert_eq!(
        SigmaString::parse(r"C:\\*").parts,
        [Lit(r"C:\".into()), AnyMulti]
    );
    // A trailing backslash is literal.
    assert_eq!(SigmaString::parse(r"dir\").parts, [Lit(r"dir\".into())]);
    assert_eq!(SigmaString::parse(r"\\\*").parts, [Lit(r"\*".into())]);
}

#[test]
fn to_sigma_round_trips_parse() {
    for t in ["a*b", r"C:\Windows\", r"\*lit", "x?y", "", r"a\\*"] {
        let p = SigmaString::parse(t);
        assert_eq!(SigmaString::parse(&p.to_sigma()), p, "{t}");
    }
}

#[test]
fn contains_startswith_endswith_add_wildcards_once() {
    assert_eq!(
        sigma_text(&run(&[Modifier::Contains], s("abc")).unwrap()),
        "*abc*"
    );
    assert_eq!(
        sigma_text(&run(&[Modifier::Contains], s("*abc*")).unwrap()),
        "*abc*"
    );
    assert_eq!(
        sigma_text(&run(&[Modifier::StartsWith], s("abc")).unwrap()),
        "abc*"
    );
    assert_eq!(
        sigma_text(&run(&[Modifier::EndsWith], s(r"\cmd.exe")).unwrap()),
        r"*\cmd.exe"
    );
}

#[test]
fn contains_on_regex_and_fieldref() {
    let r = run(&[Modifier::Re, Modifier::Contains], s("abc")).unwrap();
    assert_eq!(
        r,
        Value::Regex {
            pattern: ".*abc.*".into(),
            flags: String::new()
        }
    );
    let r = run(&[Modifier::Re, Modifier::StartsWith], s("^abc")).unwrap();
    assert_eq!(
        r,
        Value::Regex {
            pattern: "^abc.*".into(),
            flags: String::new()
        }
    );
    let f = run(&[Modifier::FieldRef, Modifier::EndsWith], s("Other")).unwrap();
    assert_eq!(
        f,
        Value::FieldRef {
            field: "Other".into(),
            starts_with: false,
            ends_with: true
        }
    );
}

// Specification, modifier appendix: base64 / base64offset examples.
#[test]
fn base64_and_base64offset() {
    assert_eq!(
        sigma_text(&run(&[Modifier::Base64], s("ping")).unwrap()),
        "cGluZw=="
    );
    let v = run(
        &[Modifier::Base64Offset, Modifier::Contains],
        s("/bin/bash"),
    )
    .unwrap();
    assert_eq!(
        expansion(&v),
        ["*L2Jpbi9iYXNo*", "*9iaW4vYmFza*", "*vYmluL2Jhc2*"]
    );
    let v = run(&[Modifier::Base64Offset], s("sh -c")).unwrap();
    assert_eq!(expansion(&v).len(), 3);
    assert!(
        run(&[Modifier::Base64], s("a*"))
            .unwrap_err()
            .contains("wildcards")
    );
}

#[test]
fn wide_utf16_family() {
    assert_eq!(
        sigma_text(&run(&[Modifier::Wide], s("ab")).unwrap()),
        "a\0b\0"
    );
    assert_eq!(
        sigma_text(&run(&[Modifier::Utf16Be], s("ab")).unwrap()),
        "\0a\0b"
    );
    assert_eq!(
        sigma_text(&run(&[Modifier::Utf16], s("ab")).unwrap()),
        "\u{feff}a\0b\0"
    );
    // wide|base64offset: the encoded UTF-16LE text, as SigmaHQ's PowerShell rules use it.
    let v = run(
        &[Modifier::Wide, Modifier::Base64Offset, Modifier::Contains],
        s("ping"),
    )
    .unwrap();
    // Reference figures computed with pySigma's algorithm in Python.
    assert_eq!(
        expansion(&v),
        ["*cABpAG4AZw*", "*AAaQBuAGcA*", "*wAGkAbgBnA*"]
    );
    assert!(run(&[Modifier::Wide], s("é")).is_err());
    assert!(Modifier::from_name("utf16le") == Some(Modifier::Wide));
}

#[test]
fn windash_expands_flag_dashes_only() {
    let v = run(&[Modifier::Windash], s("net user -add")).unwrap();
    assert_eq!(
        expansion(&v),
        [
            "net user -add",
            "net user /add",
            "net user \u{2013}add",
            "net user \u{2014}add",
            "net user \u{2015}add"
        ]
    );
    // A dash inside a word is not a flag.
    assert_eq!(
        expansion(&run(&[Modifier::Windash], s("a-b")).unwrap()),
        ["a-b"]
    );
    // Two flags: every combination.
    assert_eq!(
        expansion(&run(&[Modifier::Windash], s(" -a -b")).unwrap()).len(),
        25
    );
}

#[test]
fn re_with_flags_and_errors() {
    let v = run(
        &[
            Modifier::Re,
            Modifier::ReIgnoreCase,
            Modifier::ReMultiline,
            Modifier::ReDotAll,
        ],
        s("a.*b"),
    )
    .unwrap();
    assert_eq!(
        v,
        Value::Regex {
            pattern: "a.*b".into(),
            flags: "ims".into()
        }
    );
    assert!(
        run(&[Modifier::ReIgnoreCase], s("x"))
            .unwrap_err()
            .contains("regular expressions")
    );
    assert!(
        run(&[Modifier::Contains, Modifier::Re], s("x"))
            .unwrap_err()
            .contains("unmodified")
    );
    assert!(
        run(&[Modifier::Re], s("(unclosed"))
            .unwrap_err()
            .contains("invalid regular expression")
    );
    // Look-around is valid PCRE; the `regex` crate lacks it but the rule is not wrong.
    assert!(run(&[Modifier::Re], s("a(?!b)")).is_ok());
}

#[test]
fn cased_cidr_compare_fieldref_exists_expand_timeparts() {
    assert_eq!(
        run(&[Modifier::Cased], s("Ab")).unwrap(),
        Value::Str {
            s: SigmaString::parse("Ab"),
            cased: true
        }
    );
    assert_eq!(
        run(&[Modifier::Cidr], s("10.0.0.0/8")).unwrap(),
        Value::Cidr("10.0.0.0/8".into())
    );
    assert_eq!(
        run(&[Modifier::Cidr], s("fe80::/10")).unwrap(),
        Value::Cidr("fe80::/10".into())
    );
    assert!(run(&[Modifier::Cidr], s("10.0.0.0/33")).is_err());
    assert!(run(&[Modifier::Cidr], s("not-an-ip")).is_err());
    for (m, op) in [
        (Modifier::Lt, CmpOp::Lt),
        (Modifier::Lte, CmpOp::Lte),
        (Modifier::Gt, CmpOp::Gt),
        (Modifier::Gte, CmpOp::Gte),
    ] {
        assert_eq!(
            run(&[m], Value::Num("5".into())).unwrap(),
            Value::Compare {
                op,
                num: "5".into()
            }
        );
        assert!(run(&[m], s("5")).unwrap_err().contains("numbers"));
    }
    assert!(run(&[Modifier::FieldRef], s("a*")).is_err());
    assert_eq!(
        run(&[Modifier::Exists], Value::Bool(true)).unwrap(),
        Value::Exists(true)
    );
    assert!(run(&[Modifier::Exists], s("yes")).is_err());
    assert!(
        apply(Modifier::Exists, Value::Bool(true), &[], false)
            .unwrap_err()
            .contains("field")
    );
    let e = run(&[Modifier::Expand], s("%ProgramFiles%\\x")).unwrap();
    assert_eq!(
        e,
        Value::Str {
            s: SigmaString {
                parts: vec![
                    Part::Placeholder("ProgramFiles".into()),
                    Part::Lit("\\x".into())
                ]
            },
            cased: false
        }
    );
    for part in ["minute", "hour", "day", "week", "month", "year"] {
        let m = Modifier::from_name(part).unwrap();
        assert_eq!(
            run(&[m], Value::Num("3".into())).unwrap(),
            Value::TimePart {
                part,
                num: "3".into()
            }
        );
    }
}

#[test]
fn every_modifier_name_is_known() {
    for name in [
        "contains",
        "startswith",
        "endswith",
        "all",
        "neq",
        "base64",
        "base64offset",
        "wide",
        "utf16le",
        "utf16be",
        "utf16",
        "windash",
        "re",
        "i",
        "ignorecase",
        "m",
        "multiline",
        "s",
        "dotall",
        "cased",
        "cidr",
        "lt",
        "lte",
        "gt",
        "gte",
        "fieldref",
        "exists",
        "expand",
        "minute",
        "hour",
        "day",
        "week",
        "month",
        "year",
    ] {
        assert!(Modifier::from_name(name).is_some(), "{name}");
    }
    assert!(Modifier::from_name("contain").is_none());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Writing a parsed string back and parsing it again gives the same string.
        #[test]
        fn parse_to_sigma_round_trip(text in r"[a-z\\*?%.:/ -]{0,24}") {
            let s = SigmaString::parse(&text);
            prop_assert_eq!(SigmaString::parse(&s.to_sigma()), s);
        }

        /// Any chain of modifiers on any value either applies or says why; it never panics.
        #[test]
        fn modifier_chains_never_panic(text in ".{0,16}", mods in proptest::collection::vec(0..MODIFIERS.len(), 0..5), num in any::<i32>()) {
            for start in [s(&text), Value::Num(num.to_string()), Value::Bool(num % 2 == 0), Value::Null] {
                let chain: Vec<Modifier> = mods.iter().map(|&i| MODIFIERS[i].1).collect();
                let _ = run(&chain, start);
            }
        }
    }
}
