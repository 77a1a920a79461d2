//! The KQL parser construct by construct: error positions and messages, spans, precedence,
//! every tabular operator, every string operator, literals; each parsed query prints to text
//! that parses to the same tree.

use kql::ast::*;
use kql::{line_col, parse, parse_expr, print, print_expr};

/// Parse, print, parse again: the trees agree (spans aside). Returns the first tree.
fn round_trip(src: &str) -> Query {
    let q = parse(src).unwrap_or_else(|e| panic!("{src:?} does not parse: {e}"));
    let printed = print(&q);
    let mut again =
        parse(&printed).unwrap_or_else(|e| panic!("printed {printed:?} does not parse: {e}"));
    let mut orig = q.clone();
    orig.clear_spans();
    again.clear_spans();
    assert_eq!(orig, again, "print/parse differs for {src:?}: {printed:?}");
    q
}

fn last_expr(q: &Query) -> &Expr {
    match &q.statements.last().expect("a statement").kind {
        StatementKind::Expr(e) => e,
        StatementKind::Let {
            value: LetValue::Expr(e),
            ..
        } => e,
        other => panic!("not an expression statement: {other:?}"),
    }
}

fn pipe_ops(q: &Query) -> &[Operator] {
    match &last_expr(q).kind {
        ExprKind::Pipe { ops, .. } => ops,
        other => panic!("not a pipe: {other:?}"),
    }
}

// ---- errors ----

#[test]
fn errors_name_position_expected_and_found() {
    let cases: &[(&str, usize, usize, &str, &str)] = &[
        ("T | where (a == 1", 1, 18, "')'", "end of input"),
        ("T\n| where a ==", 2, 13, "an expression", "end of input"),
        ("T | project a,, b", 1, 15, "an expression", "','"),
        ("let x 1;", 1, 7, "'=' after the let name", "'1'"),
        ("T | where a in (\"x\"", 1, 20, "',' or ')'", "end of input"),
        (
            "T\n| where a == \"abc",
            2,
            14,
            "an expression",
            "unterminated string",
        ),
        (
            "T | join kind=inner (U) on",
            1,
            27,
            "an expression",
            "end of input",
        ),
        ("T | | where x", 1, 5, "an operator name after '|'", "'|'"),
        ("T | where a between (1, 2)", 1, 23, "'..'", "','"),
        ("T | sort a", 1, 10, "'by'", "'a'"),
        (
            "T | where x == 1 )",
            1,
            18,
            "'|', ';' or end of input",
            "')'",
        ),
        (
            "T | where x + 1 = 2",
            1,
            17,
            "'|', ';' or end of input",
            "'='",
        ),
        (
            "T | where f(x) = 1",
            1,
            16,
            "'|', ';' or end of input",
            "'='",
        ),
        ("let f = (a:string { a };\nf()", 1, 19, "',' or ')'", "'{'"),
        (
            "T\n| mv-apply x to typeof(string) on (extend y = 1",
            2,
            48,
            "'|' or ')'",
            "end of input",
        ),
        (
            "datatable(a:string) [\"x\"",
            1,
            25,
            "',' or ']'",
            "end of input",
        ),
        (
            "T | where é == #",
            1,
            16,
            "an expression",
            "unexpected character",
        ),
        (
            "T | where a has_any \"x\"",
            1,
            21,
            "'(' after 'has_any'",
            "'\"x\"'",
        ),
        (
            "T | summarize count() by",
            1,
            25,
            "an expression",
            "end of input",
        ),
    ];
    for &(src, line, column, expected, found) in cases {
        let e = parse(src).expect_err(src);
        assert_eq!(
            (e.line, e.column, e.expected.as_str(), e.found.as_str()),
            (line, column, expected, found),
            "{src:?}: {e}"
        );
        assert_eq!(line_col(src, e.offset), (line, column), "{src:?}");
    }
    let e = parse("T | where (a == 1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 1, column 18: expected ')', found end of input"
    );
    let _: &dyn std::error::Error = &e;
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for (open, close) in [
        ("(", ")"),
        ("f(", ")"),
        ("dynamic([", "])"),
        ("-", ""),
        ("datatable(a:string)[", "]"),
        ("T | join (", ") on a"),
        ("a.b[", "]"),
    ] {
        let src = format!("{}1{}", open.repeat(5000), close.repeat(5000));
        let e = parse(&src).expect_err("too deep");
        assert!(e.expected.contains("levels of nesting"), "{e}");
    }
    let e = parse(&format!("T | where {}", "a + ".repeat(5000) + "1")).unwrap_err();
    assert!(e.expected.contains("levels of nesting"), "{e}");
    // Nesting within the limit parses; long and/or chains are flat and unlimited.
    round_trip(&format!("{}1{}", "(".repeat(20), ")".repeat(20)));
    let long_or = (0..3000)
        .map(|i| format!("a == {i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let q = round_trip(&format!("T | where {long_or}"));
    let OperatorKind::Where(e) = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    assert!(matches!(&e.kind, ExprKind::Or(v) if v.len() == 3000));
}

// ---- spans ----

#[test]
fn spans_of_statements_operators_and_expressions() {
    let src = "let x = 1;\nT\n| where a == \"b\" // c\n| project c = x + 1";
    let q = parse(src).unwrap();
    let text = |s: &Span| &src[s.clone()];
    assert_eq!(q.statements.len(), 2);
    assert_eq!(text(&q.statements[0].span), "let x = 1");
    let StatementKind::Let { name, .. } = &q.statements[0].kind else {
        panic!()
    };
    assert_eq!(text(&name.span), "x");
    assert_eq!(
        text(&q.statements[1].span),
        "T\n| where a == \"b\" // c\n| project c = x + 1"
    );
    let ops = pipe_ops(&q);
    assert_eq!(text(&ops[0].span), "where a == \"b\"");
    assert_eq!(text(&ops[1].span), "project c = x + 1");
    assert_eq!(line_col(src, ops[1].span.start), (4, 3));
    let OperatorKind::Where(w) = &ops[0].kind else {
        panic!()
    };
    assert_eq!(text(&w.span), "a == \"b\"");
    let ExprKind::Binary { lhs, rhs, .. } = &w.kind else {
        panic!()
    };
    assert_eq!((text(&lhs.span), text(&rhs.span)), ("a", "\"b\""));
    let OperatorKind::Project(p) = &ops[1].kind else {
        panic!()
    };
    assert_eq!(text(&p[0].span), "c = x + 1");
    assert_eq!(text(&p[0].names[0].span), "c");
    assert_eq!(text(&p[0].value.span), "x + 1");
    assert_eq!(line_col(src, p[0].value.span.start), (4, 15));
    // Calls, members, lists and subqueries.
    let src = "T | where f(a.b, \"x\") in~ ((U | project y)) and not(c[0] has 'z')";
    let q = parse(src).unwrap();
    let OperatorKind::Where(w) = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    let ExprKind::And(items) = &w.kind else {
        panic!()
    };
    assert_eq!(
        &src[items[0].span.clone()],
        "f(a.b, \"x\") in~ ((U | project y))"
    );
    assert_eq!(&src[items[1].span.clone()], "not(c[0] has 'z')");
    let ExprKind::List { expr, list, .. } = &items[0].kind else {
        panic!()
    };
    assert_eq!(&src[expr.span.clone()], "f(a.b, \"x\")");
    assert_eq!(&src[list[0].span.clone()], "U | project y");
    let mut q2 = q.clone();
    q2.clear_spans();
    assert_ne!(q, q2);
    assert_eq!(q2.span, 0..0);
}

// ---- precedence ----

/// The tree in prefix form, fully parenthesised.
fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Ident(s) | ExprKind::Number(s) | ExprKind::Timespan(s) => s.to_string(),
        ExprKind::Str(s) => format!("{:?}", s.value),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", op.text(), sx(lhs), sx(rhs)),
        ExprKind::And(v) | ExprKind::Or(v) => format!(
            "({} {})",
            if matches!(e.kind, ExprKind::And(_)) {
                "and"
            } else {
                "or"
            },
            v.iter().map(sx).collect::<Vec<_>>().join(" ")
        ),
        ExprKind::Neg(x) => format!("(neg {})", sx(x)),
        ExprKind::Not(x) => format!("(not {})", sx(x)),
        ExprKind::Member { expr, name } => format!("(. {} {name})", sx(expr)),
        ExprKind::Index { expr, index } => format!("([] {} {})", sx(expr), sx(index)),
        ExprKind::Call { name, args } => format!(
            "({name} {})",
            args.iter().map(sx).collect::<Vec<_>>().join(" ")
        ),
        ExprKind::List { op, expr, list } => format!(
            "({} {} [{}])",
            op.text(),
            sx(expr),
            list.iter().map(sx).collect::<Vec<_>>().join(" ")
        ),
        ExprKind::Between {
            negated,
            expr,
            low,
            high,
        } => format!(
            "({}between {} {} {})",
            if *negated { "!" } else { "" },
            sx(expr),
            sx(low),
            sx(high)
        ),
        other => format!("{other:?}"),
    }
}

#[test]
fn precedence() {
    let cases = [
        ("a or b and c", "(or a (and b c))"),
        ("a and b or c", "(or (and a b) c)"),
        ("(a or b) and c", "(and (or a b) c)"),
        ("a and (b and c)", "(and a (and b c))"),
        ("a == 1 and b has \"x\"", "(and (== a 1) (has b \"x\"))"),
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("a - b - c", "(- (- a b) c)"),
        ("a - (b - c)", "(- a (- b c))"),
        ("-a * b", "(* (neg a) b)"),
        ("a + b == c * d", "(== (+ a b) (* c d))"),
        ("2*1d", "(* 2 1d)"),
        ("not(a) and b", "(and (not a) b)"),
        (
            "a in (1, 2) or b !in~ (\"x\")",
            "(or (in a [1 2]) (!in~ b [\"x\"]))",
        ),
        ("x between (1 .. 2 + 3)", "(between x 1 (+ 2 3))"),
        ("x !between (1 .. 2)", "(!between x 1 2)"),
        ("a.b[0].c", "(. ([] (. a b) 0) c)"),
        (
            "a matches regex \"x\" and b <> c",
            "(and (matches regex a \"x\") (!= b c))",
        ),
        ("a =~ b == c", "(== (=~ a b) c)"),
        (
            "cmdline[array_index_of(cmdline, \"x\")-1] in~ (\"start\")",
            "(in~ ([] cmdline (- (array_index_of cmdline \"x\") 1)) [\"start\"])",
        ),
        ("- - a", "(neg (neg a))"),
    ];
    for (src, want) in cases {
        let e = parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(sx(&e), want, "{src}");
        let printed = print_expr(&e);
        let mut again = parse_expr(&printed).unwrap();
        let mut orig = e.clone();
        orig.clear_spans();
        again.clear_spans();
        assert_eq!(orig, again, "{src} → {printed}");
    }
    // Parentheses are printed only where needed.
    let p = |s: &str| print_expr(&parse_expr(s).unwrap());
    assert_eq!(p("((a or b)) and (c)"), "(a or b) and c");
    assert_eq!(p("(a and b) or c"), "a and b or c");
    assert_eq!(p("a - (b - c)"), "a - (b - c)");
    assert_eq!(p("(a - b) - c"), "a - b - c");
    assert_eq!(p("(-a).b"), "(-a).b");
}

// ---- operators ----

fn op_name(k: &OperatorKind) -> String {
    use OperatorKind as O;
    match k {
        O::Where(_) => "where",
        O::Extend(_) => "extend",
        O::Project(_) => "project",
        O::ProjectAway(_) => "project-away",
        O::ProjectKeep(_) => "project-keep",
        O::ProjectRename(_) => "project-rename",
        O::ProjectReorder(_) => "project-reorder",
        O::Summarize { .. } => "summarize",
        O::Join { .. } => "join",
        O::Lookup { .. } => "lookup",
        O::Union { .. } => "union",
        O::Distinct { .. } => "distinct",
        O::Top { .. } => "top",
        O::Sort { .. } => "sort",
        O::Take(_) => "take",
        O::Count => "count",
        O::MvExpand { .. } => "mv-expand",
        O::MvApply { .. } => "mv-apply",
        O::Parse { where_: false, .. } => "parse",
        O::Parse { where_: true, .. } => "parse-where",
        O::ParseKv { .. } => "parse-kv",
        O::Evaluate { .. } => "evaluate",
        O::Invoke(_) => "invoke",
        O::MakeSeries { .. } => "make-series",
        O::Render { .. } => "render",
        O::As { .. } => "as",
        O::Serialize(_) => "serialize",
        O::Sample(_) => "sample",
        O::SampleDistinct { .. } => "sample-distinct",
        O::Search { .. } => "search",
        O::Getschema => "getschema",
        O::TopNested(_) => "top-nested",
        O::Print(_) => "print",
        O::Range { .. } => "range",
        O::Find { .. } => "find",
        O::Fork(_) => "fork",
        O::Facet { .. } => "facet",
        O::Partition { .. } => "partition",
        O::Scan { .. } => "scan",
        O::Generic { name, .. } => return format!("generic {name}"),
    }
    .to_string()
}

#[test]
fn every_tabular_operator() {
    let cases = [
        ("T | where a > 1", "where"),
        ("T | filter a > 1", "where"),
        ("T | extend a = 1, b, (c, d) = f(x), ['e f'] = 2", "extend"),
        ("T | project a, b = c + 1", "project"),
        ("T | project-away a, Initiating*, ['x y']", "project-away"),
        ("T | project-keep a*, b", "project-keep"),
        (
            "T | project-rename new = old, ['n 2'] = ['o 2']",
            "project-rename",
        ),
        (
            "T | project-reorder b desc, a*, c granny-asc",
            "project-reorder",
        ),
        (
            "T | summarize hint.strategy=shuffle n = count(), dcount(x), make_set(y, 100) by bin(Timestamp, 1h), k = tostring(z)",
            "summarize",
        ),
        ("T | summarize by a, b", "summarize"),
        (
            "T | summarize arg_max(Timestamp, *) by DeviceId",
            "summarize",
        ),
        (
            "T | join kind=leftanti hint.strategy=broadcast (U | where x) on a, $left.b == $right.c",
            "join",
        ),
        ("T | join U on a", "join"),
        ("T | join kind = inner F(1d) on a", "join"),
        (
            "T | lookup kind=leftouter U on a, $left.b == $right.c",
            "lookup",
        ),
        (
            "T | union kind=outer withsource=Source isfuzzy=true U, (V | take 1), Device*Events",
            "union",
        ),
        ("T | distinct a, b = tolower(c)", "distinct"),
        ("T | distinct *", "distinct"),
        ("T | top 10 by a desc nulls last", "top"),
        ("T | sort by a asc, b desc nulls first", "sort"),
        ("T | order by a", "sort"),
        ("T | take 10", "take"),
        ("T | limit 10", "take"),
        ("T | count", "count"),
        (
            "T | mv-expand bagexpansion=array with_itemindex=i x = y to typeof(string), z limit 100",
            "mv-expand",
        ),
        (
            "T | mv-apply e = DedupFields to typeof(string) on (extend v = r[tostring(e)] | order by e | summarize make_list(v))",
            "mv-apply",
        ),
        (
            "T | parse UserIdentityPrincipalid with * \":i-\" InstanceId",
            "parse",
        ),
        (
            "T | parse kind=regex flags=Ui Text with \"x=\" a:int @\"\\s+\" b:string *",
            "parse",
        ),
        (
            "T | parse-where Text with \"a\" x:long \"b\" *",
            "parse-where",
        ),
        (
            "T | parse-kv Text as (Key1:string, Key2:long) with (pair_delimiter=',', kv_delimiter='=')",
            "parse-kv",
        ),
        ("T | evaluate bag_unpack(x)", "evaluate"),
        ("T | evaluate hint.remote=auto pivot(a, sum(b))", "evaluate"),
        ("T | invoke FileProfile(SHA1, 1000)", "invoke"),
        (
            "T | make-series kind=nonempty n = count() default = 0, avg(x) on Timestamp from ago(1d) to now() step 1h by Host",
            "make-series",
        ),
        (
            "T | make-series count() on Timestamp in range(ago(7d), now(), 1d)",
            "make-series",
        ),
        (
            "T | make-series count() on Timestamp step 1h",
            "make-series",
        ),
        (
            "T | render timechart with (title=\"t\", ysplit=axes)",
            "render",
        ),
        ("T | render piechart", "render"),
        ("T | as hint.materialized=true X", "as"),
        ("T | serialize", "serialize"),
        ("T | serialize rn = row_number()", "serialize"),
        ("T | sample 10", "sample"),
        ("T | sample-distinct 5 of a", "sample-distinct"),
        ("T | search \"x\"", "search"),
        (
            "T | search kind=case_sensitive in (A, B*) a has \"x\"",
            "search",
        ),
        ("T | getschema", "getschema"),
        (
            "T | top-nested 3 of a with others = \"other\" by n = count() desc, top-nested of b by sum(c)",
            "top-nested",
        ),
        (
            "T | scan with_match_id=id declare (s:string) with (step s1: a == 1 => s = b; step s2: c;)",
            "scan",
        ),
        (
            "T | scan order by t asc partition by h declare (n:long = 0) with (step a optional output=last: x > 1 => n = a.n + 1, m = 2; step b: y == a.n;)",
            "scan",
        ),
        ("T | project-smart a, b", "generic project-smart"),
        ("T | fork (where a) (where b)", "fork"),
        ("T | fork x = (where a | take 1) y = (count)", "fork"),
        ("T | facet by a, b", "facet"),
        ("T | facet by a with (where b | take 5)", "facet"),
        ("T | facet by a with take 5", "facet"),
        (
            "T | partition by ReportId ( top 1 by MountTime )",
            "partition",
        ),
        (
            "T | partition hint.strategy=native by h { T | where x | take 1 }",
            "partition",
        ),
        (
            "T | partition by h in (dynamic([1, 2])) (take 1)",
            "partition",
        ),
        (
            "T | find in (A, B*) where a has \"x\" project a, b:string, pack(*)",
            "find",
        ),
        (
            "T | find withsource=S where x == 1 project-smart project-away c, d",
            "find",
        ),
        ("T | find \"x\" project-away *", "find"),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (src, want) in cases {
        let q = round_trip(src);
        let got = op_name(&pipe_ops(&q).last().unwrap().kind);
        assert_eq!(got, want, "{src}: {:?}", pipe_ops(&q));
        seen.insert(got);
    }
    // Source operators and sources that are calls.
    let sources = [
        ("union A, B | where x", "union"),
        ("union withsource=T Device* | count", "union"),
        ("print a = 1, b = \"x\"", "print"),
        ("range x from 1 to 10 step 1", "range"),
        ("range ['x y'] from 1 to 10 step 1", "range"),
        ("search in (T) \"text\"", "search"),
        ("search \"text\" | take 1", "search"),
        ("find in (T) where x == 1", "find"),
        ("find where x has \"a\" | take 1", "find"),
        ("find withsource=S in (A) where x", "find"),
    ];
    for (src, want) in sources {
        let q = round_trip(src);
        let e = last_expr(&q);
        let source = match &e.kind {
            ExprKind::Pipe { source, .. } => source,
            _ => e,
        };
        let ExprKind::Source(op) = &source.kind else {
            panic!("{src}: not a source operator: {source:?}")
        };
        assert_eq!(op_name(&op.kind), want, "{src}");
        seen.insert(op_name(&op.kind));
    }
    // Generic operators stop at the next top-level pipe.
    let q = round_trip("T | foo a (b | c) [d] | where x");
    let o = pipe_ops(&q);
    assert_eq!(o.len(), 2);
    let OperatorKind::Generic { tokens, .. } = &o[0].kind else {
        panic!()
    };
    assert_eq!(tokens.join(" "), "a ( b | c ) [ d ]");
    assert!(seen.len() >= 40, "{seen:?}");
}

#[test]
fn join_and_lookup_details() {
    let q = round_trip(
        "A | join kind=leftouter (B | where x) on $left.a == $right.b, c | lookup kind=inner C on d",
    );
    let OperatorKind::Join { params, right, on } = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    assert_eq!(params[0].name, "kind");
    assert_eq!(params[0].value.kind, ExprKind::Ident("leftouter".into()));
    assert!(matches!(right.kind, ExprKind::Pipe { .. }));
    assert_eq!(on.len(), 2);
    assert_eq!(sx(&on[0]), "(== (. $left a) (. $right b))");
    // `kind` is an option of join, but an ordinary column name for extend.
    let q = round_trip("T | extend kind = 1");
    let OperatorKind::Extend(a) = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    assert_eq!(a[0].names[0].text, "kind");
}

// ---- statements ----

#[test]
fn statements_lets_and_functions() {
    let src = r#"
let timeframe = 2*1d;
let T = materialize(DeviceEvents | where Timestamp > ago(timeframe));
let f = (a:string, b:dynamic = dynamic([]), t:(*), s:(x:long, ['y z']:string)) { let c = a; T | where x in (b) };
let g = () { 1 };
set querytrace;
set maxoutput = 10;
let S = toscalar(T | summarize count());
let D = datatable(ImageFile:string, ExpectedParent:dynamic) [
    "smss.exe", dynamic(["smss.exe", "system"]),
    "csrss.exe", dynamic(null),
];
let E = externaldata(a:string, b:int) [h@"https://x/y.csv", "u2"] with (format="csv", ignoreFirstRecord=true);
;;
union T, D
| where a in (S) or a in ((T | project a)) or f("x", dynamic([1]))
"#;
    let q = round_trip(src);
    assert_eq!(q.statements.len(), 10);
    let StatementKind::Let {
        value: LetValue::Function { params, body, .. },
        ..
    } = &q.statements[2].kind
    else {
        panic!("{:?}", q.statements[2])
    };
    let tys: Vec<&str> = params.iter().map(|p| p.ty.as_str()).collect();
    assert_eq!(
        tys,
        ["string", "dynamic", "(*)", "(x:long, [\"y z\"]:string)"]
    );
    assert!(params[1].default.is_some());
    assert_eq!(body.len(), 2);
    assert!(matches!(
        q.statements[4].kind,
        StatementKind::Set { value: None, .. }
    ));
    let StatementKind::Let {
        value: LetValue::Expr(d),
        ..
    } = &q.statements[7].kind
    else {
        panic!()
    };
    let ExprKind::Datatable { columns, values } = &d.kind else {
        panic!("{d:?}")
    };
    assert_eq!((columns.len(), values.len()), (2, 4));
    // A query of lets only, and an empty query.
    round_trip("let a = 1;");
    assert!(parse("").unwrap().statements.is_empty());
    assert!(parse("// only a comment\n").unwrap().statements.is_empty());
}

// ---- scalar operators and literals ----

#[test]
fn every_string_and_comparison_operator() {
    let ops = [
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "=~",
        "!~",
        "has",
        "!has",
        "has_cs",
        "!has_cs",
        "hasprefix",
        "!hasprefix",
        "hasprefix_cs",
        "!hasprefix_cs",
        "hassuffix",
        "!hassuffix",
        "hassuffix_cs",
        "!hassuffix_cs",
        "contains",
        "!contains",
        "contains_cs",
        "!contains_cs",
        "startswith",
        "!startswith",
        "startswith_cs",
        "!startswith_cs",
        "endswith",
        "!endswith",
        "endswith_cs",
        "!endswith_cs",
        "matches regex",
    ];
    for op in ops {
        let q = round_trip(&format!("T | where a {op} \"x\""));
        let OperatorKind::Where(e) = &pipe_ops(&q)[0].kind else {
            panic!()
        };
        let ExprKind::Binary { op: got, .. } = &e.kind else {
            panic!("{op}: {e:?}")
        };
        assert_eq!(got.text(), op);
    }
    // `<>` is `!=`; older spellings read as the current ones.
    assert_eq!(sx(&parse_expr("a <> b").unwrap()), "(!= a b)");
    assert_eq!(
        sx(&parse_expr("a notcontains b").unwrap()),
        "(!contains a b)"
    );
    assert_eq!(
        sx(&parse_expr("a containscs b").unwrap()),
        "(contains_cs a b)"
    );
    for op in ["in", "!in", "in~", "!in~", "has_any", "has_all"] {
        let q = round_trip(&format!("T | where a {op} (\"x\", y, (U | project z))"));
        let OperatorKind::Where(e) = &pipe_ops(&q)[0].kind else {
            panic!()
        };
        let ExprKind::List { op: got, list, .. } = &e.kind else {
            panic!("{op}: {e:?}")
        };
        assert_eq!((got.text(), list.len()), (op, 3));
    }
    // Written without a space.
    round_trip("T | where a in~(b) and c in(\"x\") and d has_any(dynamic([\"y\"]))");
    round_trip("T | where a between (1 .. 10) and b !between (datetime(2020-01-01) .. now())");
}

fn lit(src: &str) -> ExprKind {
    let e = parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let printed = print_expr(&e);
    let mut again = parse_expr(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
    let mut orig = e.clone();
    orig.clear_spans();
    again.clear_spans();
    assert_eq!(orig, again, "{src} → {printed}");
    e.kind
}

fn s(value: &str, style: StrStyle, obfuscated: bool) -> ExprKind {
    ExprKind::Str(StrLit {
        value: value.into(),
        style,
        obfuscated,
    })
}

#[test]
fn literals() {
    use StrStyle::*;
    assert_eq!(lit(r#""a\"b\\c\n""#), s("a\"b\\c\n", Plain, false));
    assert_eq!(lit(r#"'it\'s "q"'"#), s("it's \"q\"", Plain, false));
    assert_eq!(
        lit(r#"@"C:\Windows\""x""#),
        s("C:\\Windows\\\"x", Verbatim, false)
    );
    assert_eq!(lit(r"@'C:\a''b'"), s("C:\\a'b", Verbatim, false));
    assert_eq!(
        lit("```line 1\nline \"2\"```"),
        s("line 1\nline \"2\"", Multiline, false)
    );
    assert_eq!(lit(r#"h"secret""#), s("secret", Plain, true));
    assert_eq!(lit(r#"h@"C:\x""#), s("C:\\x", Verbatim, true));
    assert_eq!(lit(r#""a" 'b' "c""#), s("abc", Plain, false));
    for n in ["12", "1.5", "1e5", "2.5E-3", "0x1F"] {
        assert_eq!(lit(n), ExprKind::Number(n.into()));
    }
    for t in [
        "1d",
        "2h",
        "30m",
        "10s",
        "100ms",
        "1tick",
        "1.5hours",
        "3microseconds",
    ] {
        assert_eq!(lit(t), ExprKind::Timespan(t.into()));
    }
    assert_eq!(
        lit("datetime(2021-01-01T10:00:00Z)"),
        ExprKind::Typed {
            ty: "datetime".into(),
            raw: "2021-01-01T10:00:00Z".into()
        }
    );
    assert_eq!(
        lit("time( 1.02:00:00 )"),
        ExprKind::Typed {
            ty: "time".into(),
            raw: "1.02:00:00".into()
        }
    );
    assert!(
        matches!(lit("guid(74be27de-1e4e-49d9-b579-fe0b331d3642)"), ExprKind::Typed { ty, .. } if ty == "guid")
    );
    assert_eq!(lit("true"), ExprKind::Bool(true));
    assert_eq!(lit("false"), ExprKind::Bool(false));
    assert!(matches!(lit("int(null)"), ExprKind::Call { name, .. } if name == "int"));
    let ExprKind::Dynamic(d) = lit(r#"dynamic({"a": [1, "x", {"b": null}], c: -2})"#) else {
        panic!()
    };
    let ExprKind::Object(props) = &d.kind else {
        panic!()
    };
    assert_eq!(props[0].0, "a");
    assert_eq!(props[1].0, "c");
    assert!(
        matches!(lit("dynamic([])"), ExprKind::Dynamic(a) if a.kind == ExprKind::Array(vec![]))
    );
    assert!(matches!(lit("dynamic(null)"), ExprKind::Dynamic(_)));
    assert_eq!(lit("['odd name']"), ExprKind::Ident("odd name".into()));
    assert_eq!(lit("[\"has\"]"), ExprKind::Ident("has".into()));
    assert_eq!(lit("$left"), ExprKind::Ident("$left".into()));
    // A name starting with a no-break space keeps it (the lexer skips one before a token).
    assert_eq!(lit("['\u{a0}x']"), ExprKind::Ident("\u{a0}x".into()));
    assert!(matches!(lit("a[\"b\"]"), ExprKind::Index { .. }));
    assert!(matches!(lit("a.['b c']"), ExprKind::Member { name, .. } if name == "b c"));
    assert!(
        matches!(lit("toscalar(T | summarize count())"), ExprKind::Call { args, .. } if matches!(args[0].kind, ExprKind::Pipe { .. }))
    );
    // Names that are keywords or not plain print in brackets.
    assert_eq!(
        print_expr(&parse_expr("['and'] == ['a b']").unwrap()),
        "[\"and\"] == [\"a b\"]"
    );
    // Identifiers are case-sensitive: `AND` is a name, so this is not a conjunction.
    assert!(parse_expr("a AND b").is_err());
}

#[test]
fn comments_are_dropped() {
    let q = round_trip("// first\nT // after T\n| where a == \"//not a comment\" // c\n// end");
    let OperatorKind::Where(e) = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    assert_eq!(sx(e), "(== a \"//not a comment\")");
}

// ---- syntax seen in published hunting queries (Kusto's grammar allows each) ----

#[test]
fn grammar_gaps_from_public_queries() {
    // `.[0]` and `.['name']` paths, bracket-quoted names.
    let q = round_trip("T | extend a = x.[0], b = x.['Phone Number'], ['Phone Number'] = 1");
    let OperatorKind::Extend(a) = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    assert!(matches!(a[0].value.kind, ExprKind::Index { .. }));
    assert!(
        matches!(&a[1].value.kind, ExprKind::Member { name, .. } if name == "Phone Number"),
        "{:?}",
        a[1].value
    );
    assert_eq!(a[2].names[0].text, "Phone Number");
    // Named arguments.
    let q = round_trip(
        "T | evaluate ipv4_lookup(Nets, ip, key, return_unmatched = true) | extend c = case(a, 1, strcat=\"x\")",
    );
    let OperatorKind::Evaluate { call, .. } = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    let ExprKind::Call { args, .. } = &call.kind else {
        panic!()
    };
    assert!(
        matches!(&args[3].kind, ExprKind::NamedArg { name, .. } if name.text == "return_unmatched")
    );
    // `where a = b`: Kusto's grammar reads a named expression; it is the comparison.
    let q = round_trip("T | where ActionType = \"x\" | filter ['a b'] = 1");
    for op in pipe_ops(&q) {
        let OperatorKind::Where(e) = &op.kind else {
            panic!()
        };
        assert!(matches!(e.kind, ExprKind::Binary { op: BinOp::Eq, .. }));
    }
    assert_eq!(
        print(&q),
        "T\n| where ActionType == \"x\"\n| where [\"a b\"] == 1"
    );
    // Non-breaking spaces (U+00A0, U+202F) as whitespace.
    round_trip("DeviceEvents\u{a0}| where\u{202f}A == 1");
    // `search in (T) … Col:"v"`: `:` is Kusto's has.
    let q = round_trip("search in (DeviceEvents, Device*) FileName:\"a.exe\" and \"b\"");
    let ExprKind::Source(op) = &last_expr(&q).kind else {
        panic!()
    };
    let OperatorKind::Search { predicate, .. } = &op.kind else {
        panic!()
    };
    let ExprKind::And(parts) = &predicate.kind else {
        panic!("{predicate:?}")
    };
    assert!(matches!(
        parts[0].kind,
        ExprKind::Binary {
            op: BinOp::Str(StrOp {
                kind: StrOpKind::Has,
                ..
            }),
            ..
        }
    ));
    // A trailing comma in a schema.
    let q = round_trip("externaldata(a:string, b:long,)[h@\"https://x/y\"] with (format=\"csv\")");
    let ExprKind::Externaldata { columns, .. } = &last_expr(&q).kind else {
        panic!()
    };
    assert_eq!(columns.len(), 2);
    round_trip("datatable(a:string,)[\"x\"]");
    // `evaluate pivot(…): (schema)`.
    let q = round_trip("T | evaluate pivot(k, count()) : (a:string, b:long)");
    let OperatorKind::Evaluate { schema, .. } = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    assert_eq!(schema.as_ref().map(Vec::len), Some(2));
    // Identifiers that start with digits; a real ending in a dot.
    let q = round_trip("T | where 4625Events > 1000. | project 1stSeen = 1");
    assert!(
        matches!(&pipe_ops(&q)[1].kind, OperatorKind::Project(a) if a[0].names[0].text == "1stSeen")
    );
    // `view` functions.
    let q = round_trip("let v = view () { T | take 1 };\nv");
    assert!(matches!(
        &q.statements[0].kind,
        StatementKind::Let {
            value: LetValue::Function { view: true, .. },
            ..
        }
    ));
    // The operators once kept as raw tokens.
    let q = round_trip(
        "find in (DeviceFileEvents, DeviceProcessEvents) where SHA1 == \"x\" project FileName, FolderPath:string",
    );
    let ExprKind::Source(op) = &last_expr(&q).kind else {
        panic!()
    };
    let OperatorKind::Find {
        tables, predicate, ..
    } = &op.kind
    else {
        panic!()
    };
    assert_eq!(tables.as_ref().map(Vec::len), Some(2));
    assert!(matches!(predicate.kind, ExprKind::Binary { .. }));
    let q = round_trip("T | partition by ReportId ( top 1 by MountTime )");
    let OperatorKind::Partition { body, .. } = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    assert!(matches!(body, PartitionBody::Ops(o) if o.len() == 1));
    let q = round_trip(
        "T | scan order by Timestamp partition by Host declare (n:long = 0) with (step s1: A == 1 => n = s1.n + 1; step s2 output=none: B == 2;)",
    );
    let OperatorKind::Scan { steps, declare, .. } = &pipe_ops(&q)[0].kind else {
        panic!()
    };
    assert_eq!((steps.len(), declare.len()), (2, 1));
    assert_eq!(steps[1].output.as_deref(), Some("none"));
    let q = round_trip("T | fork a = (where x | take 1) (count) | facet by A, B with (take 3)");
    assert!(matches!(&pipe_ops(&q)[0].kind, OperatorKind::Fork(b) if b.len() == 2));
    assert!(matches!(&pipe_ops(&q)[1].kind, OperatorKind::Facet { by, .. } if by.len() == 2));
}
