//! The ES|QL parser, one construct at a time: trees, spans, error messages, precedence, every
//! command, canonical printing.

use elastic::esql::{self, *};
use elastic::span::Span;

fn parse(src: &str) -> Query {
    esql::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn err(src: &str) -> String {
    esql::parse(src).unwrap_err().to_string()
}

/// The one command after `FROM i | `.
fn cmd(src: &str) -> CommandKind {
    let q = parse(&format!("FROM i | {src}"));
    assert_eq!(q.commands.len(), 2, "{src}");
    q.commands.into_iter().nth(1).unwrap().kind
}

fn expr(src: &str) -> Expr {
    esql::parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// The canonical text of an expression, checked to parse back to the same tree.
fn canon(src: &str) -> String {
    let mut a = expr(src);
    let printed = print_expr(&a);
    let mut b = esql::parse_expr(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
    a.clear_spans();
    b.clear_spans();
    assert_eq!(a, b, "{printed}");
    printed
}

/// `print` then `parse` gives the same tree, and printing is stable.
fn roundtrip(src: &str) -> String {
    let mut a = parse(src);
    let printed = print(&a);
    let mut b = esql::parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
    a.clear_spans();
    b.clear_spans();
    assert_eq!(a, b, "{printed}");
    assert_eq!(print(&b), printed);
    printed
}

fn field(e: &Expr) -> &str {
    match &e.kind {
        ExprKind::Field(f) => f,
        k => panic!("not a field: {k:?}"),
    }
}

#[test]
fn query_and_command_spans() {
    let src = "from logs-*\n| where a == 1 // c\n| limit 5";
    let q = parse(src);
    assert_eq!(q.span, Span::new(0, src.len()));
    assert_eq!(q.commands[0].span, Span::new(0, 11));
    assert_eq!(&src[14..26], "where a == 1");
    assert_eq!(q.commands[1].span, Span::new(14, 26));
    let CommandKind::Where(e) = &q.commands[1].kind else {
        panic!()
    };
    assert_eq!(e.span, Span::new(20, 26));
    let ExprKind::Binary { op, lhs, rhs } = &e.kind else {
        panic!()
    };
    assert_eq!(*op, BinOp::Eq);
    assert_eq!(lhs.span, Span::new(20, 21));
    assert_eq!(rhs.span, Span::new(25, 26));
    assert_eq!(q.commands[2].span, Span::new(src.len() - 7, src.len()));
}

#[test]
fn from_sources_and_metadata() {
    let q =
        parse(r#"FROM logs-endpoint.events.*, "quoted,idx", remote:logs-* METADATA _id, _index"#);
    let CommandKind::From { sources, metadata } = &q.commands[0].kind else {
        panic!()
    };
    let names: Vec<_> = sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["logs-endpoint.events.*", "quoted,idx", "remote:logs-*"]
    );
    assert_eq!(sources[0].span, Span::new(5, 27));
    let m: Vec<_> = metadata.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(m, ["_id", "_index"]);
    assert_eq!(roundtrip("from a,b metadata _id"), "FROM a, b METADATA _id");
    // A source named like the keyword is quoted.
    assert_eq!(roundtrip(r#"FROM "metadata""#), r#"FROM "metadata""#);
    // Across lines, with comments.
    assert_eq!(
        roundtrip("from\n  a-*, // one\n  b-* /* two */"),
        "FROM a-*, b-*"
    );
}

#[test]
fn row_and_show() {
    let CommandKind::Row(f) = &parse("ROW a = 1, b = \"x\", [1, 2]").commands[0].kind else {
        panic!()
    };
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].name.as_ref().unwrap().name, "a");
    assert!(f[2].name.is_none());
    assert!(matches!(&f[2].value.kind, ExprKind::List(v) if v.len() == 2));
    assert_eq!(roundtrip("row a=1,b=\"x\""), "ROW a = 1, b = \"x\"");
    assert_eq!(
        parse("show info").commands[0].kind,
        CommandKind::Show("INFO".into())
    );
}

#[test]
fn source_command_first_only() {
    assert_eq!(
        err("where a == 1"),
        "1:1: expected a source command (FROM, ROW, SHOW), found `where`"
    );
    assert_eq!(
        err("FROM a | FROM b"),
        "1:10: `FROM` is a source command: only the first command can be one"
    );
    assert_eq!(
        err(""),
        "1:1: expected a source command (FROM, ROW, SHOW), found end of input"
    );
    assert_eq!(
        err("FROM a |"),
        "1:9: expected a command name, found end of input"
    );
    assert_eq!(
        err("sql\nfrom a"),
        "1:1: expected a source command (FROM, ROW, SHOW), found `sql`"
    );
}

#[test]
fn eval_named_and_unnamed() {
    let CommandKind::Eval(f) = cmd("eval x = a + 1, to_lower(b), y = c == d") else {
        panic!()
    };
    assert_eq!(f[0].name.as_ref().unwrap().name, "x");
    assert_eq!(f[0].span, Span::new(14, 23));
    assert!(f[1].name.is_none());
    assert!(matches!(&f[1].value.kind, ExprKind::Call { name, .. } if name == "TO_LOWER"));
    assert!(matches!(
        &f[2].value.kind,
        ExprKind::Binary { op: BinOp::Eq, .. }
    ));
    assert_eq!(
        roundtrip("from i | eval x=a+1, to_lower(b)"),
        "FROM i | EVAL x = a + 1, TO_LOWER(b)"
    );
    // Only a name can be assigned to.
    assert_eq!(
        err("FROM i | EVAL a + 1 = 2"),
        "1:21: expected `|` or end of input (`==` compares), found `=`"
    );
}

#[test]
fn stats_aggs_groups_and_filters() {
    let CommandKind::Stats(s) = cmd(
        "stats c = count(*), count_distinct(host.id) where x > 1 by bucket(@timestamp, 1 hour), u = user.name",
    ) else {
        panic!()
    };
    assert!(!s.inline);
    assert_eq!(s.aggs.len(), 2);
    assert!(matches!(&s.aggs[0].field.value.kind,
        ExprKind::Call { name, args } if name == "COUNT" && args[0].kind == ExprKind::Star));
    assert!(s.aggs[0].filter.is_none());
    assert!(s.aggs[1].field.name.is_none());
    assert!(s.aggs[1].filter.is_some());
    assert_eq!(s.by.len(), 2);
    let ExprKind::Call { args, .. } = &s.by[0].value.kind else {
        panic!()
    };
    assert_eq!(
        args[1].kind,
        ExprKind::Duration {
            value: "1".into(),
            unit: "hour".into()
        }
    );
    assert_eq!(s.by[1].name.as_ref().unwrap().name, "u");
    let CommandKind::Stats(s) = cmd("STATS BY a") else {
        panic!()
    };
    assert!(s.aggs.is_empty() && s.by.len() == 1);
    assert_eq!(
        roundtrip("from i | stats c = count(*) where x > 1 by h"),
        "FROM i | STATS c = COUNT(*) WHERE x > 1 BY h"
    );
    assert_eq!(
        err("FROM i | STATS"),
        "1:15: expected an aggregation or `BY`, found end of input"
    );
    assert_eq!(
        err("FROM i | STATS c = BY a"),
        "1:20: expected an expression, found `BY`"
    );
}

#[test]
fn inline_stats_both_spellings() {
    let a = cmd("INLINESTATS c = count(*) BY h");
    let b = cmd("inline stats c = count(*) by h");
    let (CommandKind::Stats(x), CommandKind::Stats(y)) = (&a, &b) else {
        panic!()
    };
    assert!(x.inline && y.inline);
    let mut qa = parse("FROM i | INLINESTATS c = count(*) BY h");
    let mut qb = parse("FROM i | inline stats c = count(*) by h");
    qa.clear_spans();
    qb.clear_spans();
    assert_eq!(qa, qb);
    assert_eq!(print(&qa), "FROM i | INLINE STATS c = COUNT(*) BY h");
    assert_eq!(
        err("FROM i | INLINE x"),
        "1:17: expected `STATS`, found `x`"
    );
}

#[test]
fn keep_drop_rename_patterns() {
    let CommandKind::Keep(n) = cmd("keep @timestamp, Esql.*, `odd name`, host.*name") else {
        panic!()
    };
    let n: Vec<_> = n.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(n, ["@timestamp", "Esql.*", "odd name", "host.*name"]);
    assert!(matches!(cmd("DROP a, b*"), CommandKind::Drop(v) if v.len() == 2));
    let CommandKind::Rename(r) = cmd("rename a AS b, c = d") else {
        panic!()
    };
    assert_eq!((r[0].from.name.as_str(), r[0].to.name.as_str()), ("a", "b"));
    // `new = old`.
    assert_eq!((r[1].from.name.as_str(), r[1].to.name.as_str()), ("d", "c"));
    assert_eq!(
        roundtrip("from i | rename a as b, c = d | keep `odd name`, Esql.*"),
        "FROM i | RENAME a AS b, d AS c | KEEP `odd name`, Esql.*"
    );
    assert_eq!(
        err("FROM i | RENAME a b"),
        "1:19: expected `AS` or `=`, found `b`"
    );
    assert_eq!(
        err("FROM i | KEEP"),
        "1:14: expected a field name, found end of input"
    );
}

#[test]
fn sort_and_limit() {
    let CommandKind::Sort(k) = cmd("sort a desc nulls last, b, c asc, d nulls first") else {
        panic!()
    };
    assert_eq!(
        k.iter().map(|k| (k.order, k.nulls)).collect::<Vec<_>>(),
        [
            (Some(Order::Desc), Some(Nulls::Last)),
            (None, None),
            (Some(Order::Asc), None),
            (None, Some(Nulls::First))
        ]
    );
    assert_eq!(
        roundtrip("from i | sort a desc nulls last, b | limit 10"),
        "FROM i | SORT a DESC NULLS LAST, b | LIMIT 10"
    );
    assert_eq!(
        err("FROM i | SORT a NULLS"),
        "1:22: expected `FIRST` or `LAST`, found end of input"
    );
    assert_eq!(
        err("FROM i | LIMIT x"),
        "1:16: expected the number of rows, found `x`"
    );
    assert!(
        matches!(cmd("LIMIT ?n"), CommandKind::Limit(e) if e.kind == ExprKind::Param("?n".into()))
    );
}

#[test]
fn dissect_and_grok() {
    let CommandKind::Dissect {
        input,
        pattern,
        options,
    } = cmd(r#"dissect message """%{a} "%{b}" """ append_separator = "-""#)
    else {
        panic!()
    };
    assert_eq!(field(&input), "message");
    assert_eq!(pattern.kind, ExprKind::Str("%{a} \"%{b}\" ".into()));
    assert_eq!(options[0].name, "APPEND_SEPARATOR");
    assert_eq!(options[0].value.kind, ExprKind::Str("-".into()));
    let CommandKind::Grok { input, patterns } =
        cmd(r#"GROK TO_LOWER(msg) "%{IP:ip}", "%{WORD:w}""#)
    else {
        panic!()
    };
    assert!(matches!(input.kind, ExprKind::Call { .. }));
    assert_eq!(patterns.len(), 2);
    assert_eq!(
        roundtrip(r#"from i | dissect m "%{a}-%{b}" append_separator="," | grok m "\\d+""#),
        r#"FROM i | DISSECT m "%{a}-%{b}" APPEND_SEPARATOR = "," | GROK m """\d+""""#
    );
    assert_eq!(
        err("FROM i | GROK m x"),
        "1:17: expected a grok pattern string, found `x`"
    );
}

#[test]
fn enrich_mv_expand_lookup_join() {
    let CommandKind::Enrich { policy, on, with } =
        cmd("enrich hosts-policy on host.name with os = host.os, ip")
    else {
        panic!()
    };
    assert_eq!(policy.name, "hosts-policy");
    assert_eq!(on.unwrap().name, "host.name");
    assert_eq!(with[0].name.as_ref().unwrap().name, "os");
    assert_eq!(with[0].field.name, "host.os");
    assert!(with[1].name.is_none());
    assert!(matches!(
        cmd("ENRICH p"),
        CommandKind::Enrich { on: None, .. }
    ));
    assert!(
        matches!(cmd("mv_expand event.action"), CommandKind::MvExpand(n) if n.name == "event.action")
    );
    let CommandKind::LookupJoin { index, on } =
        cmd("lookup join threat_intel on source.ip, host.name")
    else {
        panic!()
    };
    assert_eq!(index.name, "threat_intel");
    assert_eq!(on.len(), 2);
    assert_eq!(
        roundtrip("from i | enrich p on a with b = c | mv_expand x | lookup join t on f"),
        "FROM i | ENRICH p ON a WITH b = c | MV_EXPAND x | LOOKUP JOIN t ON f"
    );
    assert_eq!(err("FROM i | LOOKUP t"), "1:17: expected `JOIN`, found `t`");
}

#[test]
fn generic_commands_keep_their_tokens() {
    let src = r#"FROM i | COMPLETION r = p WITH { "inference_id": ".x" } | fork (where a | limit 1) (where b) | sample 0.1"#;
    let q = parse(src);
    assert_eq!(q.commands.len(), 4);
    let CommandKind::Generic { name, args } = &q.commands[1].kind else {
        panic!()
    };
    assert_eq!(name, "COMPLETION");
    assert_eq!(
        args,
        &[
            "r",
            "=",
            "p",
            "WITH",
            "{",
            "\"inference_id\"",
            ":",
            "\".x\"",
            "}"
        ]
    );
    // `|` inside brackets does not end the command.
    let CommandKind::Generic { name, args } = &q.commands[2].kind else {
        panic!()
    };
    assert_eq!(name, "FORK");
    assert_eq!(args.len(), 11);
    assert_eq!(
        roundtrip(src),
        r#"FROM i | COMPLETION r = p WITH { "inference_id" : ".x" } | FORK ( where a | limit 1 ) ( where b ) | SAMPLE 0.1"#
    );
}

#[test]
fn literals() {
    assert_eq!(expr("null").kind, ExprKind::Null);
    assert_eq!(expr("TRUE").kind, ExprKind::Bool(true));
    assert_eq!(expr("42").kind, ExprKind::Int("42".into()));
    assert_eq!(expr("1.5e3").kind, ExprKind::Decimal("1.5e3".into()));
    assert_eq!(expr(".5").kind, ExprKind::Decimal(".5".into()));
    assert_eq!(
        expr(r#""a\"b\\c\n""#).kind,
        ExprKind::Str("a\"b\\c\n".into())
    );
    assert_eq!(
        expr(r#""""C:\Windows\"x""""#).kind,
        ExprKind::Str(r#"C:\Windows\"x"#.into())
    );
    assert_eq!(
        expr("30 minutes").kind,
        ExprKind::Duration {
            value: "30".into(),
            unit: "minutes".into()
        }
    );
    assert_eq!(expr("30 minutes").span, Span::new(0, 10));
    assert_eq!(expr("?").kind, ExprKind::Param("?".into()));
    assert_eq!(expr("?1").kind, ExprKind::Param("?1".into()));
    assert_eq!(expr("??field").kind, ExprKind::Param("??field".into()));
    assert_eq!(canon(r#""plain""#), r#""plain""#);
    assert_eq!(canon(r#""back\\slash""#), r#""""back\slash""""#);
    assert_eq!(canon(r#""line\nbreak\"""#), r#""line\nbreak\"""#);
    assert_eq!(canon("[1, 2.5, \"x\"]"), "[1, 2.5, \"x\"]");
}

#[test]
fn string_errors_name_the_place() {
    assert_eq!(
        esql::parse_expr(r#"x == "a\db""#).unwrap_err().to_string(),
        r#"1:8: expected an expression, found invalid escape in string (only \t \n \r \" \\; or use """…""")"#
    );
    assert_eq!(
        esql::parse_expr("x == \"a\nb\"").unwrap_err().to_string(),
        "1:6: expected an expression, found unterminated string (a line break before the closing `\"`)"
    );
    assert_eq!(
        esql::parse_expr("x == \"\"\"a\nb\"\"\"")
            .unwrap_err()
            .to_string(),
        "1:6: expected an expression, found line break in \"\"\" string (use \"…\" with \\n)"
    );
    assert_eq!(
        err("FROM i /* never closed"),
        "1:8: expected `|` or end of input, found unterminated /* comment"
    );
}

#[test]
fn names() {
    assert_eq!(field(&expr("process.command_line")), "process.command_line");
    assert_eq!(field(&expr("@timestamp")), "@timestamp");
    assert_eq!(field(&expr("`odd name`")), "odd name");
    assert_eq!(
        field(&expr("source.`as`.organization.name")),
        "source.as.organization.name"
    );
    assert_eq!(field(&expr("`a``b`")), "a`b");
    assert_eq!(
        canon("source.`as`.organization.name"),
        "source.`as`.organization.name"
    );
    assert_eq!(canon("`process.executable`"), "process.executable");
    assert_eq!(canon("network.`no-wait`"), "network.`no-wait`");
    assert_eq!(canon("`1st`"), "`1st`");
    // Keywords are not field names unquoted.
    assert_eq!(
        esql::parse_expr("by").unwrap_err().to_string(),
        "1:1: expected an expression, found `by`"
    );
    assert_eq!(canon("`by` == `first`"), "`by` == `first`");
    // … except where they are function names.
    assert!(
        matches!(expr("first(a, @timestamp)").kind, ExprKind::Call { name, .. } if name == "FIRST")
    );
}

#[test]
fn calls() {
    let e = expr("case(a like \"x*\", 1, coalesce(b, 0))");
    let ExprKind::Call { name, args } = &e.kind else {
        panic!()
    };
    assert_eq!(name, "CASE");
    assert_eq!(args.len(), 3);
    assert_eq!(canon("count(*)"), "COUNT(*)");
    assert_eq!(canon("now()"), "NOW()");
    assert_eq!(
        canon("date_trunc(30 seconds, @timestamp)"),
        "DATE_TRUNC(30 seconds, @timestamp)"
    );
    assert_eq!(
        canon(r#"match(title, "x", {"fuzziness": 1, "o": {"n": true}})"#),
        r#"MATCH(title, "x", {"fuzziness": 1, "o": {"n": TRUE}})"#
    );
    assert_eq!(
        esql::parse_expr("count(*, a)").unwrap_err().to_string(),
        "1:7: expected an expression, found `*`"
    );
    assert_eq!(
        esql::parse_expr("now(-)").unwrap_err().to_string(),
        "1:6: expected an expression, found `)`"
    );
}

#[test]
fn precedence() {
    // AND binds tighter than OR; NOT tighter than AND.
    let e = expr("a or b and not c");
    let ExprKind::Or(v) = &e.kind else { panic!() };
    assert!(matches!(&v[1].kind, ExprKind::And(w) if matches!(w[1].kind, ExprKind::Not(_))));
    // Chains are n-ary.
    assert!(matches!(&expr("a or b or c").kind, ExprKind::Or(v) if v.len() == 3));
    // `NOT a == b` is `NOT (a == b)`.
    assert!(
        matches!(&expr("not a == b").kind, ExprKind::Not(x) if matches!(x.kind, ExprKind::Binary { op: BinOp::Eq, .. }))
    );
    // Arithmetic: * over +, left-associative, unary minus tightest but for casts.
    assert_eq!(canon("1 + 2 * 3 - 4"), "1 + 2 * 3 - 4");
    assert_eq!(canon("(1 + 2) * 3"), "(1 + 2) * 3");
    assert_eq!(canon("a - (b - c)"), "a - (b - c)");
    assert_eq!(canon("(a - b) - c"), "a - b - c");
    assert_eq!(canon("-a * b"), "-a * b");
    assert_eq!(canon("-(a * b)"), "-(a * b)");
    assert!(matches!(expr("-x::long").kind, ExprKind::Neg(_)));
    assert_eq!(canon("(-x)::long"), "(-x)::long");
    // Comparisons take arithmetic operands and do not chain.
    assert_eq!(canon("a + 1 > b * 2"), "a + 1 > b * 2");
    assert_eq!(
        esql::parse_expr("a == b == c").unwrap_err().to_string(),
        "1:8: expected an operator or end of input, found `==`"
    );
    assert_eq!(canon("(a == b) == c"), "(a == b) == c");
    // Predicates take comparisons; boolean operands need parentheses.
    assert_eq!(canon("a + 1 IN (1, 2)"), "a + 1 IN (1, 2)");
    assert_eq!(canon("(a and b) is null"), "(a AND b) IS NULL");
    assert_eq!(canon("not (a or b) and c"), "NOT (a OR b) AND c");
    assert_eq!(canon("(a and b) and c"), "(a AND b) AND c");
    assert_eq!(canon("a and (b or c)"), "a AND (b OR c)");
}

#[test]
fn predicates() {
    let e = expr("process.name not in (\"a\", \"b\")");
    assert!(matches!(&e.kind, ExprKind::In { negated: true, list, .. } if list.len() == 2));
    assert_eq!(e.span, Span::new(0, e.span.end));
    assert!(matches!(
        expr("a is not null").kind,
        ExprKind::IsNull { negated: true, .. }
    ));
    assert!(matches!(
        expr("a IS NULL").kind,
        ExprKind::IsNull { negated: false, .. }
    ));
    let e = expr(r#"a not rlike """.*\d""""#);
    let ExprKind::Like {
        rlike,
        negated,
        patterns,
        list,
        ..
    } = &e.kind
    else {
        panic!()
    };
    assert!(*rlike && *negated && !*list);
    assert_eq!(patterns[0].kind, ExprKind::Str(".*\\d".into()));
    assert!(matches!(
        expr(r#"a like ("x*", "y*")"#).kind,
        ExprKind::Like { list: true, .. }
    ));
    assert_eq!(canon(r#"a like ("x*", "y*")"#), r#"a LIKE ("x*", "y*")"#);
    assert_eq!(canon("not a in (1)"), "NOT a IN (1)");
    assert_eq!(canon("a not in (1)"), "a NOT IN (1)");
    // The match operator.
    let e = expr(r#"message : "error""#);
    assert!(
        matches!(&e.kind, ExprKind::Match { field, .. } if field.kind == ExprKind::Field("message".into()))
    );
    assert_eq!(
        canon(r#"a::keyword:"x" and b : -1"#),
        r#"a::keyword : "x" AND b : -1"#
    );
    assert_eq!(
        esql::parse_expr(r#"f(a) : "x""#).unwrap_err().to_string(),
        "1:6: the match operator `:` needs a field name on its left"
    );
    assert_eq!(
        esql::parse_expr("a is x").unwrap_err().to_string(),
        "1:6: expected `NOT` or `NULL`, found `x`"
    );
    assert_eq!(
        esql::parse_expr("a like b").unwrap_err().to_string(),
        "1:8: expected a pattern string, found `b`"
    );
    assert_eq!(
        esql::parse_expr("a in 1").unwrap_err().to_string(),
        "1:6: expected `(`, found `1`"
    );
}

#[test]
fn casts() {
    assert!(matches!(expr("a::LONG").kind, ExprKind::Cast { ty, .. } if ty == "long"));
    assert_eq!(
        canon("to_string(a)::ip::keyword"),
        "TO_STRING(a)::ip::keyword"
    );
    assert_eq!(canon("(a + b)::double"), "(a + b)::double");
}

#[test]
fn keywords_are_case_insensitive() {
    let mut a = parse("from i | where not a in (1) and b like \"x\" | sort c desc nulls first");
    let mut b = parse("FROM i | WHERE NOT a IN (1) AND b LIKE \"x\" | SORT c DESC NULLS FIRST");
    a.clear_spans();
    b.clear_spans();
    assert_eq!(a, b);
}

#[test]
fn depth_is_limited() {
    let deep = format!("FROM i | WHERE {}a{}", "(".repeat(500), ")".repeat(500));
    assert!(err(&deep).contains("nested too deeply"));
    let nots = format!("FROM i | WHERE {}a", "NOT ".repeat(500));
    assert!(err(&nots).contains("nested too deeply"));
    let chain = format!("FROM i | EVAL x = a{}", " + a".repeat(500));
    assert!(err(&chain).contains("nested too deeply"));
    let calls = format!("FROM i | EVAL x = {}a{}", "f(".repeat(500), ")".repeat(500));
    assert!(err(&calls).contains("nested too deeply"));
    // Within the limit it parses and round-trips.
    roundtrip(&format!(
        "FROM i | WHERE {}a{}",
        "(".repeat(40),
        ")".repeat(40)
    ));
    roundtrip(&format!(
        "FROM i | EVAL x = {}a{}",
        "f(".repeat(25),
        ")".repeat(25)
    ));
    // A long OR chain is one node, not a deep tree.
    roundtrip(&format!(
        "FROM i | WHERE a == 0{}",
        " OR a == 1".repeat(2000)
    ));
}

#[test]
fn trailing_junk_and_stray_tokens() {
    assert_eq!(
        err("FROM i | WHERE a b"),
        "1:18: expected `|` or end of input, found `b`"
    );
    assert_eq!(
        err("FROM i | WHERE (a"),
        "1:18: expected an operator or `)`, found end of input"
    );
    assert_eq!(
        err("FROM i | WHERE a .x"),
        "1:18: expected `|` or end of input, found unexpected character `.`"
    );
    assert_eq!(
        err("FROM i | EVAL a = 1,"),
        "1:21: expected an expression, found end of input"
    );
    assert_eq!(
        err("FROM i | WHERE a == 1 or"),
        "1:25: expected an expression, found end of input"
    );
    assert_eq!(
        err("FROM i | WHERE a == `x"),
        "1:21: expected an expression, found unterminated quoted name"
    );
}
