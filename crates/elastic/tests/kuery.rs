//! kuery: trees, precedence, escapes, spans, errors, and snapshots of real rule queries.

use elastic::kuery::{self, ExprKind, Literal, Part, Query, RangeOp, ValueKind};
use elastic::span::Span;

fn parse(text: &str) -> Query {
    kuery::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The query printed back (a compact view of the structure: parentheses show grouping).
fn shape(text: &str) -> String {
    kuery::print(&parse(text))
}

fn err(text: &str) -> (usize, usize, String) {
    let e = kuery::parse(text).expect_err(text);
    (e.line, e.col, e.message)
}

fn unquoted(parts: Vec<Part>) -> Literal {
    Literal {
        quoted: false,
        parts,
        span: Span::default(),
    }
}

fn text(t: &str) -> Part {
    Part::Text(t.into())
}

#[test]
fn precedence_not_and_or() {
    // not > and > or
    let q = parse("a:1 or b:2 and not c:3");
    let Some(ExprKind::Or(items)) = q.expr.as_ref().map(|e| &e.kind) else {
        panic!("{q:?}")
    };
    assert_eq!(items.len(), 2);
    let ExprKind::And(and) = &items[1].kind else {
        panic!("{:?}", items[1])
    };
    assert!(matches!(and[1].kind, ExprKind::Not(_)));
    assert_eq!(shape("(a:1 or b:2) and c:3"), "(a: 1 or b: 2) and c: 3");
    assert_eq!(shape("a:1 and (b:2 and c:3)"), "a: 1 and (b: 2 and c: 3)");
    assert_eq!(shape("not (a:1 or b:2)"), "not (a: 1 or b: 2)");
    // Keywords in any case.
    assert_eq!(shape("a:1 OR b:2 And NOT c:3"), "a: 1 or b: 2 and not c: 3");
}

#[test]
fn value_lists() {
    let q = parse("event.type:(start or process_started and not x)");
    let Some(ExprKind::Match { field, values }) = q.expr.map(|e| e.kind) else {
        panic!()
    };
    assert_eq!(field.text(), "event.type");
    let ValueKind::Or(items) = values.kind else {
        panic!()
    };
    assert!(matches!(&items[1].kind, ValueKind::And(v) if matches!(v[1].kind, ValueKind::Not(_))));
    assert_eq!(shape("f : ( a )"), "f: a");
    assert_eq!(shape("f:((a or b) and c)"), "f: ((a or b) and c)");
}

#[test]
fn wildcards_escapes_and_words() {
    let q = parse(r#"process.executable:C\:\\Windows\\*.exe"#);
    let Some(ExprKind::Match { values, .. }) = q.expr.map(|e| e.kind) else {
        panic!()
    };
    let ValueKind::Value(mut v) = values.kind else {
        panic!()
    };
    v.span = Span::default();
    assert_eq!(
        v,
        unquoted(vec![text(r"C:\Windows\"), Part::Wildcard, text(".exe")])
    );
    // An escaped star is text; escaped keywords are text; words run over whitespace.
    let q = parse(r"msg: a\* \or b  c");
    let Some(ExprKind::Match { values, .. }) = q.expr.map(|e| e.kind) else {
        panic!()
    };
    let ValueKind::Value(v) = values.kind else {
        panic!()
    };
    assert_eq!(v.parts, vec![text("a* or b  c")]);
    assert!(!v.has_wildcard());
    // A keyword ends the words.
    assert_eq!(shape("foo bar and baz"), "foo bar and baz");
    // `\n` before `ot` is a newline, as in Kibana; the printer writes the word `not` so that it
    // reads back as the word.
    let q = parse(r"f: \not");
    assert_eq!(kuery::print(&q), r"f: \not");
    let mut word = parse(r"f: \u006eot");
    assert_eq!(kuery::print(&word), r"f: \u006eot");
    let mut again = parse(&kuery::print(&word));
    word.clear_spans();
    again.clear_spans();
    assert_eq!(word, again);
    // Field names with wildcards; exists.
    let q = parse("winlog.event_data.*: x and user.name: *");
    let Some(ExprKind::And(items)) = q.expr.map(|e| e.kind) else {
        panic!()
    };
    assert!(matches!(&items[0].kind, ExprKind::Match { field, .. } if field.has_wildcard()));
    assert!(
        matches!(&items[1].kind, ExprKind::Match { values, .. } if matches!(&values.kind, ValueKind::Value(l) if l.is_wildcard_only()))
    );
}

#[test]
fn quoted_strings() {
    let q = parse(r#"f: "a \"b\" \\ c:* \d""#);
    let Some(ExprKind::Match { values, .. }) = q.expr.map(|e| e.kind) else {
        panic!()
    };
    let ValueKind::Value(v) = values.kind else {
        panic!()
    };
    assert!(v.quoted);
    // `*` is not a wildcard in quotes; an unknown escape keeps its backslash.
    assert_eq!(v.parts, vec![text(r#"a "b" \ c:* \d"#)]);
    assert!(!v.has_wildcard());
    assert_eq!(shape(r#"f: """#), r#"f: """#);
}

#[test]
fn ranges_nested_and_bare_values() {
    let q = parse("network.bytes >= 256");
    let Some(ExprKind::Range { field, op, value }) = q.expr.map(|e| e.kind) else {
        panic!()
    };
    assert_eq!(
        (field.text().as_str(), op, value.text().as_str()),
        ("network.bytes", RangeOp::Ge, "256")
    );
    assert_eq!(
        shape(r#"f<"x" and g>1 and h<=2"#),
        r#"f < "x" and g > 1 and h <= 2"#
    );
    let q = parse("a.b:{ c: 1 and d: 2 }");
    assert!(matches!(q.expr.unwrap().kind, ExprKind::Nested { .. }));
    assert_eq!(shape("a:{b:{c:1}}"), "a: { b: { c: 1 } }");
    let q = parse(r#""full text" or word"#);
    let Some(ExprKind::Or(items)) = q.expr.map(|e| e.kind) else {
        panic!()
    };
    assert!(matches!(&items[0].kind, ExprKind::Value(l) if l.quoted));
    assert!(parse("  \n ").expr.is_none());
}

#[test]
fn spans() {
    let src = "a: 1 and\n  not b.c : \"x y\"";
    let q = parse(src);
    let Some(ExprKind::And(items)) = q.expr.map(|e| e.kind) else {
        panic!()
    };
    assert_eq!(&src[items[0].span.start..items[0].span.end], "a: 1");
    assert_eq!(
        &src[items[1].span.start..items[1].span.end],
        "not b.c : \"x y\""
    );
    let ExprKind::Not(inner) = &items[1].kind else {
        panic!()
    };
    let ExprKind::Match { field, values } = &inner.kind else {
        panic!()
    };
    assert_eq!(&src[field.span.start..field.span.end], "b.c");
    assert_eq!(&src[values.span.start..values.span.end], "\"x y\"");
}

#[test]
fn errors_name_position_expected_and_found() {
    assert_eq!(
        err("a: 1 and\n   (b: 2"),
        (
            2,
            9,
            "expected `)`, `and` or `or`, found end of input".into()
        )
    );
    assert_eq!(
        err("a: 1 b: 2"),
        (
            1,
            7,
            "expected `and`, `or` or end of input, found `:`".into()
        )
    );
    assert_eq!(
        err("f: "),
        (
            1,
            4,
            "expected a value, `(` or `{` after `:`, found end of input".into()
        )
    );
    assert_eq!(
        err("f:(a or)"),
        (1, 8, "expected a value, `not` or `(`, found `)`".into())
    );
    assert_eq!(
        err("x and\n or"),
        (
            2,
            2,
            "expected a field, a value, `not` or `(`, found `or`".into()
        )
    );
    let (line, col, msg) = err("é: a\\b");
    assert_eq!((line, col), (1, 5));
    assert!(msg.starts_with("expected an escape after `\\`"), "{msg}");
    assert!(msg.ends_with("found 'b'"), "{msg}");
    assert_eq!(
        err("f: \"abc"),
        (
            1,
            4,
            "expected a closing `\"` for this string, found end of input".into()
        )
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
    let (_, _, msg) = err(&deep);
    assert!(msg.contains("levels of nesting"), "{msg}");
    let nots = format!("{}a", "not ".repeat(5000));
    assert!(err(&nots).2.contains("levels of nesting"));
    let ok = format!("{}a{}", "(".repeat(50), ")".repeat(50));
    parse(&ok);
}
