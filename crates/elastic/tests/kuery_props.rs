//! Property: any query written with the kuery grammar parses, and printing its tree gives text
//! that parses to the same tree (spans aside).

use elastic::kuery;
use proptest::prelude::*;

fn not_keyword(w: &str) -> bool {
    !["and", "or", "not"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

/// One unquoted word: plain characters, wildcards and escapes.
fn word() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9_./@-]{1,5}",
        1 => Just("*".to_string()),
        1 => prop::sample::select(vec![
            r"\:", r"\(", r"\)", r"\*", r"\\", r#"\""#, r"\<", r"\{", r"\}", r"\t", r"\n",
            r"\or", r"\AND", r"\Not", r"\u0041", "é", "日本",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 1..4)
        .prop_map(|v| v.concat())
        .prop_filter("a keyword", |w| not_keyword(w))
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(word(), 1..3).prop_map(|w| w.join(" ")),
        1 => r#"([a-z *:()\t]|\\"|\\\\|\\t|\\d){0,8}"#.prop_map(|s| format!("\"{s}\"")),
    ]
}

fn values() -> impl Strategy<Value = String> {
    let leaf = literal();
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} AND {b}")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

fn query() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["<", "<=", ">", ">="]);
    let leaf = prop_oneof![
        (literal(), literal()).prop_map(|(f, v)| format!("{f}: {v}")),
        (literal(), values()).prop_map(|(f, v)| format!("{f}:({v})")),
        (literal(), op, literal()).prop_map(|(f, o, v)| format!("{f} {o} {v}")),
        literal(),
        literal().prop_map(|f| format!("{f} : *")),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}\n and {b}")),
            inner.clone().prop_map(|a| format!("NOT {a}")),
            inner.clone().prop_map(|a| format!("( {a} )")),
            (literal(), inner).prop_map(|(f, q)| format!("{f}:{{ {q} }}")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_parse_identity(text in query()) {
        let mut tree = kuery::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let printed = kuery::print(&tree);
        let mut again = kuery::parse(&printed)
            .map_err(|e| TestCaseError::fail(format!("printed {printed:?}: {e}")))?;
        tree.clear_spans();
        again.clear_spans();
        prop_assert_eq!(tree, again, "{}", printed);
    }
}
