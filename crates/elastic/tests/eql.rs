//! EQL: trees, precedence, strings, fields, sequences, spans, errors.

use elastic::eql::{self, Body, CmpOp, Expr, ExprKind, MatchOp, MultiKind, Query, Relation};

fn parse(text: &str) -> Query {
    eql::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn cond(text: &str) -> Expr {
    match parse(&format!("any where {text}")).body {
        Body::Event(e) => e.condition,
        b => panic!("{b:?}"),
    }
}

/// The condition printed back: parentheses show grouping.
fn shape(text: &str) -> String {
    eql::print(&parse(&format!("any where {text}")))
        .strip_prefix("any where ")
        .expect("printed event query")
        .to_string()
}

fn err(text: &str) -> (usize, usize, String) {
    let e = eql::parse(text).expect_err(text);
    (e.line, e.col, e.message)
}

#[test]
fn boolean_precedence() {
    let e = cond("a == 1 or b == 2 and not c == 3");
    let ExprKind::Or(items) = e.kind else {
        panic!()
    };
    let ExprKind::And(and) = &items[1].kind else {
        panic!()
    };
    let ExprKind::Not(inner) = &and[1].kind else {
        panic!()
    };
    assert!(matches!(
        inner.kind,
        ExprKind::Compare { op: CmpOp::Eq, .. }
    ));
    assert_eq!(
        shape("(a == 1 or b == 2) and c"),
        "(a == 1 or b == 2) and c"
    );
    assert_eq!(shape("a and (b and c)"), "a and (b and c)");
    assert_eq!(shape("not (a or b)"), "not (a or b)");
    assert_eq!(shape("((a))"), "a");
}

#[test]
fn arithmetic_precedence() {
    assert_eq!(shape("a + b * c == 7"), "a + b * c == 7");
    assert_eq!(shape("(a + b) * c == 7"), "(a + b) * c == 7");
    assert_eq!(shape("a - (b - c) < 1"), "a - (b - c) < 1");
    assert_eq!(shape("a - b - c < 1"), "a - b - c < 1");
    assert_eq!(shape("-x % 2 != -(1 + y)"), "-x % 2 != -(1 + y)");
    let e = cond("a - b - c");
    let ExprKind::Arith { left, .. } = e.kind else {
        panic!()
    };
    assert!(
        matches!(left.kind, ExprKind::Arith { .. }),
        "left-associative"
    );
}

#[test]
fn matching_operators() {
    let e = cond(r#"process.name : ("a.exe", "b*") and x like~ "y*" and z not in~ ("q")"#);
    let ExprKind::And(items) = e.kind else {
        panic!()
    };
    assert!(matches!(
        &items[0].kind,
        ExprKind::Match { op: MatchOp::Seq, list: true, negated: false, values, .. } if values.len() == 2
    ));
    assert!(matches!(
        &items[1].kind,
        ExprKind::Match {
            op: MatchOp::LikeI,
            list: false,
            ..
        }
    ));
    assert!(matches!(
        &items[2].kind,
        ExprKind::Match {
            op: MatchOp::InI,
            negated: true,
            ..
        }
    ));
    assert_eq!(
        shape(r#"a regex~ """\d+""" or b regex ("x", "y") or c: 1 or d in (1, 2)"#),
        r#"a regex~ """\d+""" or b regex ("x", "y") or c : 1 or d in (1, 2)"#
    );
    // `not` before a field is a negation; between a field and `in` it negates the `in`.
    assert!(matches!(cond("not a in (1)").kind, ExprKind::Not(_)));
}

#[test]
fn strings() {
    let value = |text: &str| match cond(&format!("a == {text}")).kind {
        ExprKind::Compare { right, .. } => match right.kind {
            ExprKind::Str(s) => s,
            k => panic!("{k:?}"),
        },
        k => panic!("{k:?}"),
    };
    assert_eq!(value(r#""C:\\Windows\\*""#), r"C:\Windows\*");
    assert_eq!(value(r#""a\"b\tc\u{202E}""#), "a\"b\tc\u{202E}");
    assert_eq!(value(r#""""a\b"c""""#), r#"a\b"c"#);
    assert_eq!(value(r#"""""a""""#), r#""a"#);
    assert_eq!(value("\"\"\"a\"\"\"\""), "a\"");
    assert_eq!(value(r#"?"C:\Temp\x""#), r"C:\Temp\x");
    assert_eq!(value(r#"?"a\"b""#), r#"a\"b"#);
    // Printed double-quoted, or triple-quoted when that spares backslashes.
    assert_eq!(shape(r#"a == "x\"y""#), r#"a == "x\"y""#);
    assert_eq!(shape(r#"a == "C:\\x""#), r#"a == """C:\x""""#);
    assert_eq!(shape(r#"a == "C:\\x\"""#), r#"a == "C:\\x\"""#);
}

#[test]
fn fields_functions_and_literals() {
    let e = cond("?process.Ext.name == `odd name`.x and `in` == null and f == true");
    let ExprKind::And(items) = e.kind else {
        panic!()
    };
    let ExprKind::Compare { left, right, .. } = &items[0].kind else {
        panic!()
    };
    assert!(
        matches!(&left.kind, ExprKind::Field(f) if f.optional && f.name() == "process.Ext.name")
    );
    assert!(matches!(&right.kind, ExprKind::Field(f) if f.path == ["odd name", "x"]));
    assert_eq!(
        shape("?a.b == `odd name`.x and `in` == null and `where`.x == false"),
        "?a.b == `odd name`.x and `in` == null and where.x == false"
    );
    let e =
        cond(r#"stringContains~(a, "x") and cidrMatch(ip, "10.0.0.0/8", "::1") and length(x) > 3"#);
    let ExprKind::And(items) = e.kind else {
        panic!()
    };
    assert!(matches!(
        &items[0].kind,
        ExprKind::Call { name, insensitive: true, args } if name == "stringContains" && args.len() == 2
    ));
    assert_eq!(shape("f(  )"), "f()");
    assert_eq!(shape("x == 1.5e3 and y == .5"), "x == 1.5e3 and y == .5");
    assert_eq!(
        shape("descendant of [process where a == 1] and not child of [any where true]"),
        "descendant of [process where a == 1] and not child of [any where true]"
    );
    assert!(matches!(
        cond("event of [file where x]").kind,
        ExprKind::Relationship {
            relation: Relation::Event,
            ..
        }
    ));
    // Comments.
    assert_eq!(shape("a // one\n and /* two */ b"), "a and b");
}

#[test]
fn sequences_samples_and_pipes() {
    let src = "sequence by host.id, user.name with maxspan=5m\n  [process where a] by x with runs=3\n  ![file where b]\nuntil [any where c] by y\n| head 5\n| unique a, b";
    let q = parse(src);
    let Body::Multi(m) = &q.body else { panic!() };
    assert_eq!(m.kind, MultiKind::Sequence);
    assert_eq!(m.by.len(), 2);
    let ms = m.maxspan.as_ref().unwrap();
    assert_eq!((ms.value.as_str(), ms.unit.as_deref()), ("5", Some("m")));
    assert_eq!(m.terms.len(), 2);
    assert_eq!(m.terms[0].runs, Some(3));
    assert!(m.terms[1].missing);
    assert_eq!(m.until.as_ref().unwrap().by.len(), 1);
    assert_eq!(q.pipes.len(), 2);
    assert_eq!(q.pipes[1].name, "unique");
    assert_eq!(eql::print(&q), src);
    let s = parse("sample by host.id [process where a] [file where b]");
    assert!(matches!(&s.body, Body::Multi(m) if m.kind == MultiKind::Sample && m.terms.len() == 2));
    let p = parse("process where true | count | filter x > 1 | tail 2");
    assert_eq!(
        p.pipes.iter().map(|p| p.args.len()).collect::<Vec<_>>(),
        [0, 1, 1]
    );
}

#[test]
fn spans() {
    let src = "process where\n  a.b : \"x\" and not c";
    let q = parse(src);
    let Body::Event(e) = &q.body else { panic!() };
    assert_eq!((e.span.start, e.span.end), (0, src.len()));
    let ExprKind::And(items) = &e.condition.kind else {
        panic!()
    };
    assert_eq!(&src[items[0].span.start..items[0].span.end], "a.b : \"x\"");
    assert_eq!(&src[items[1].span.start..items[1].span.end], "not c");
    let ExprKind::Match { left, .. } = &items[0].kind else {
        panic!()
    };
    assert_eq!(&src[left.span.start..left.span.end], "a.b");
}

#[test]
fn errors_name_position_expected_and_found() {
    assert_eq!(
        err("process where\n  a == "),
        (
            2,
            8,
            "expected a value, a field, a function call, `not` or `(`, found end of input".into()
        )
    );
    assert_eq!(
        err("process a"),
        (1, 9, "expected `where`, found `a`".into())
    );
    assert_eq!(
        err("sequence with maxspan=5m by x [a where b]"),
        (
            1,
            26,
            "expected `[` (write `by` before `with maxspan`), found `by`".into()
        )
    );
    assert_eq!(
        err("any where a not like \"x\""),
        (
            1,
            17,
            "expected `in` or `in~` after `not`, found `like`".into()
        )
    );
    assert_eq!(
        err("any where a == 'x'"),
        (
            1,
            16,
            "expected a double-quoted string, found a single quote (EQL strings use `\"`)".into()
        )
    );
    assert_eq!(
        err("any where a == \"x\\d\""),
        (
            1,
            18,
            "expected an escape (`\\\\ \\\" \\' \\n \\t \\r \\b \\f \\u{hex}`), found `\\d`".into()
        )
    );
    assert_eq!(
        err("any where in == 1").2,
        "expected a value, a field or a function call, found `in`"
    );
    assert_eq!(
        err("sequence [a where b] | "),
        (
            1,
            24,
            "expected a pipe name after `|` (`head`, `tail`, `filter`, …), found end of input"
                .into()
        )
    );
    assert_eq!(
        err("any where a == 1 b"),
        (1, 18, "expected `|` or end of input, found `b`".into())
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for deep in [
        format!("any where {}a{}", "(".repeat(5000), ")".repeat(5000)),
        format!("any where {}a", "not ".repeat(5000)),
        format!("any where {}a", "-".repeat(5000)),
        format!("any where {}a{}", "f(".repeat(5000), ")".repeat(5000)),
        format!(
            "any where {}true{}",
            "descendant of [any where ".repeat(3000),
            "]".repeat(3000)
        ),
    ] {
        let (_, _, msg) = err(&deep);
        assert!(msg.contains("levels of nesting"), "{msg}");
    }
}
