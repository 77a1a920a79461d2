//! Property: any query written with the EQL grammar parses, and printing its tree gives text
//! that parses to the same tree (spans aside).

use elastic::eql;
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    let seg = "[a-z_@][a-zA-Z0-9_]{0,5}".prop_filter("a keyword", |s| {
        !eql::KEYWORDS.contains(&s.as_str())
            && !["descendant", "child", "event", "maxspan", "runs"].contains(&s.as_str())
    });
    let odd = prop::sample::select(vec!["`a b`", "`in`", "`x``y`", "`a.b`", "`where`"])
        .prop_map(str::to_string);
    (
        any::<bool>(),
        prop::collection::vec(prop_oneof![4 => seg, 1 => odd], 1..4),
    )
        .prop_map(|(opt, segs)| format!("{}{}", if opt { "?" } else { "" }, segs.join(".")))
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        r#"([a-z *?:()'.]|\\"|\\\\|\\n|\\t|\\u\{20[0-9A-F]{2}\})*"#
            .prop_map(|s| format!("\"{s}\"")),
        r#"[a-z\\ *"]{0,8}"#
            .prop_filter("triple quotes", |s| !s.contains("\"\"\"")
                && !s.ends_with('"'))
            .prop_map(|s| format!("\"\"\"{s}\"\"\"")),
        r"[a-z\\ *]{0,8}"
            .prop_filter("an escaped closing quote", |s| !s.ends_with('\\'))
            .prop_map(|s| format!("?\"{s}\"")),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => string(),
        2 => field(),
        1 => prop::sample::select(vec!["1", "0.5", ".5", "1e3", "2.5E-4", "true", "false", "null"])
            .prop_map(str::to_string),
    ]
}

/// Operator-level expressions: values, calls, arithmetic, signs.
fn arith() -> impl Strategy<Value = String> {
    value().prop_recursive(3, 10, 3, |inner| {
        let op = prop::sample::select(vec!["+", "-", "*", "/", "%"]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("({a})")),
            (
                prop::sample::select(vec!["length", "wildcard", "stringContains~", "cidrMatch"]),
                prop::collection::vec(inner, 0..3)
            )
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
        ]
    })
}

fn list() -> impl Strategy<Value = String> {
    prop::collection::vec(arith(), 1..4).prop_map(|v| format!("({})", v.join(", ")))
}

fn condition() -> impl Strategy<Value = String> {
    let cmp = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    let mop = prop::sample::select(vec![":", "like", "like~", "regex", "regex~"]);
    let inop = prop::sample::select(vec!["in", "in~", "not in", "not in~"]);
    let leaf = prop_oneof![
        (arith(), cmp, arith()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
        (field(), mop.clone(), string()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
        (field(), mop, list()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
        (field(), inop, list()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
        arith(),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}\n  and {b}")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.prop_map(|a| format!("descendant of [process where {a}]")),
        ]
    })
}

fn event() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["any", "process", "file", "\"network\""]),
        condition(),
    )
        .prop_map(|(c, e)| format!("{c} where {e}"))
}

fn keys() -> impl Strategy<Value = String> {
    prop::option::of(prop::collection::vec(field(), 1..3))
        .prop_map(|k| k.map_or(String::new(), |k| format!(" by {}", k.join(", "))))
}

fn query() -> impl Strategy<Value = String> {
    let term = || {
        (any::<bool>(), event(), keys(), prop::option::of(1u32..20))
            .prop_map(|(missing, q, by, runs)| {
                let runs = runs.map_or(String::new(), |n| format!(" with runs={n}"));
                format!("{}[{q}]{by}{runs}", if missing { "!" } else { "" })
            })
            .boxed()
    };
    let sample_term = (event(), keys()).prop_map(|(q, by)| format!("[{q}]{by}"));
    let maxspan = prop::option::of(prop::sample::select(vec!["5m", "30s", "1h", "10 ms", "2"]));
    let body = prop_oneof![
        2 => event(),
        2 => (keys(), maxspan, prop::collection::vec(term(), 1..4), prop::option::of(term()))
            .prop_map(|(by, ms, terms, until)| {
                let ms = ms.map_or(String::new(), |m| format!(" with maxspan={m}"));
                let until = until.map_or(String::new(), |u| format!("\nuntil {u}"));
                format!("sequence{by}{ms}\n {}{until}", terms.join("\n "))
            }),
        1 => (keys(), prop::collection::vec(sample_term, 1..3))
            .prop_map(|(by, terms)| format!("sample{by} {}", terms.join(" "))),
    ];
    let pipe = prop_oneof![
        (1u32..100).prop_map(|n| format!("| head {n}")),
        (1u32..100).prop_map(|n| format!("| tail {n}")),
        condition().prop_map(|c| format!("| filter {c}")),
        prop::collection::vec(field(), 1..3).prop_map(|f| format!("| unique {}", f.join(", "))),
        Just("| count".to_string()),
        Just("| unique_count".to_string()),
    ];
    (body, prop::collection::vec(pipe, 0..3))
        .prop_map(|(b, pipes)| format!("{b} {}", pipes.join(" ")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn print_parse_identity(text in query()) {
        let mut tree = eql::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let printed = eql::print(&tree);
        let mut again = eql::parse(&printed)
            .map_err(|e| TestCaseError::fail(format!("printed {printed:?}: {e}")))?;
        tree.clear_spans();
        again.clear_spans();
        prop_assert_eq!(tree, again, "{}", printed);
    }
}
