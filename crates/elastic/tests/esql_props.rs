//! Properties of the ES|QL parser: printing a tree and parsing the text gives the tree back
//! (spans aside), and parsing never panics (on arbitrary text, on ES|QL-like token soup, and
//! what parses round-trips).

use elastic::esql::{self, *};
use elastic::span::Span;
use proptest::prelude::*;

fn e(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

fn b(kind: ExprKind) -> Box<Expr> {
    Box::new(e(kind))
}

/// Any name: bare, dotted, keywords, odd characters, backquotes, empty parts.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_@][a-z0-9_]{0,5}(\\.[a-z_][a-z0-9_]{0,4}){0,2}",
        1 => prop::sample::select(vec!["by", "first", "null", "AND", "as", "metadata", "on", "where"])
            .prop_map(String::from),
        1 => "[ -~]{0,6}",
        1 => "[a-z*]{1,3}\\.[a-z*0-9]{0,3}",
    ]
}

fn name() -> impl Strategy<Value = Name> {
    any_name().prop_map(|name| Name {
        name,
        span: Span::default(),
    })
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        3 => "[a-z][a-z0-9_.*:-]{0,12}",
        1 => "[ -~]{0,8}",
        1 => prop::sample::select(vec!["metadata", "on", "with", "a//b", "x/*", "*"]).prop_map(String::from),
    ]
    .prop_map(|name| Source {
        name,
        span: Span::default(),
    })
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,10}", "[a\"\\\\\n\r\t]{0,6}", "\\PC{0,4}",]
}

fn param() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("?".to_string()),
        "\\?[a-z_][a-z0-9_]{0,4}",
        "\\?[0-9]{1,2}",
        "\\?\\?[a-z][a-z0-9]{0,3}",
    ]
}

fn int() -> impl Strategy<Value = String> {
    "[0-9]{1,4}"
}

fn constant() -> BoxedStrategy<Expr> {
    prop_oneof![
        Just(e(ExprKind::Null)),
        any::<bool>().prop_map(|x| e(ExprKind::Bool(x))),
        int().prop_map(|x| e(ExprKind::Int(x))),
        prop::sample::select(vec!["1.5", ".5", "2.", "1e3", "1.5E-3", "0.0"])
            .prop_map(|x| e(ExprKind::Decimal(x.into()))),
        string().prop_map(|x| e(ExprKind::Str(x))),
        (int(), "[a-z]{1,8}")
            .prop_filter("keyword", |(_, u)| !esql::parser::is_keyword(u))
            .prop_map(|(value, unit)| e(ExprKind::Duration { value, unit })),
        param().prop_map(|x| e(ExprKind::Param(x))),
        int().prop_map(|x| e(ExprKind::Neg(b(ExprKind::Int(x))))),
    ]
    .boxed()
}

fn pattern_string() -> impl Strategy<Value = Expr> {
    prop_oneof![
        3 => string().prop_map(|x| e(ExprKind::Str(x))),
        1 => param().prop_map(|x| e(ExprKind::Param(x))),
    ]
}

fn func_name() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_]{0,7}".prop_filter("operator or literal", |s| {
        ![
            "AND", "OR", "NOT", "IN", "IS", "LIKE", "RLIKE", "NULL", "TRUE", "FALSE",
        ]
        .contains(&s.as_str())
    })
}

fn field_expr() -> impl Strategy<Value = Expr> {
    any_name().prop_map(|n| e(ExprKind::Field(n)))
}

fn map(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
    prop::collection::vec((string(), inner), 0..3).prop_map(|entries| {
        e(ExprKind::Map(
            entries
                .into_iter()
                .map(|(key, value)| MapEntry { key, value })
                .collect(),
        ))
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![2 => constant(), 3 => field_expr()];
    leaf.prop_recursive(4, 48, 4, |inner| {
        let op = prop::sample::select(vec![
            BinOp::Eq,
            BinOp::Neq,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::Mod,
        ]);
        let arg = prop_oneof![4 => inner.clone(), 1 => map(inner.clone()).boxed()];
        prop_oneof![
            (op, inner.clone(), inner.clone()).prop_map(|(op, l, r)| e(ExprKind::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r)
            })),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| e(ExprKind::And(v))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| e(ExprKind::Or(v))),
            inner.clone().prop_map(|x| e(ExprKind::Not(Box::new(x)))),
            inner.clone().prop_map(|x| e(ExprKind::Neg(Box::new(x)))),
            (inner.clone(), "[a-z][a-z_]{0,8}").prop_map(|(x, ty)| e(ExprKind::Cast {
                expr: Box::new(x),
                ty
            })),
            (func_name(), prop::collection::vec(arg, 0..3))
                .prop_map(|(name, args)| e(ExprKind::Call { name, args })),
            func_name().prop_map(|name| e(ExprKind::Call {
                name,
                args: vec![e(ExprKind::Star)]
            })),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| e(ExprKind::List(v))),
            (
                inner.clone(),
                prop::collection::vec(inner.clone(), 1..3),
                any::<bool>()
            )
                .prop_map(|(x, list, negated)| e(ExprKind::In {
                    expr: Box::new(x),
                    list,
                    negated
                })),
            (inner.clone(), any::<bool>()).prop_map(|(x, negated)| e(ExprKind::IsNull {
                expr: Box::new(x),
                negated
            })),
            (
                inner.clone(),
                any::<bool>(),
                any::<bool>(),
                prop::collection::vec(pattern_string(), 1..3),
                any::<bool>()
            )
                .prop_map(|(x, rlike, negated, mut patterns, list)| {
                    if !list {
                        patterns.truncate(1);
                    }
                    e(ExprKind::Like {
                        expr: Box::new(x),
                        rlike,
                        negated,
                        patterns,
                        list,
                    })
                }),
            (field_expr(), prop::option::of("[a-z]{1,6}"), constant()).prop_map(|(f, ty, q)| {
                let field = match ty {
                    Some(ty) => e(ExprKind::Cast {
                        expr: Box::new(f),
                        ty,
                    }),
                    None => f,
                };
                e(ExprKind::Match {
                    field: Box::new(field),
                    query: Box::new(q),
                })
            }),
        ]
    })
}

fn field() -> impl Strategy<Value = Field> {
    (prop::option::of(name()), expr()).prop_map(|(name, value)| Field {
        name,
        value,
        span: Span::default(),
    })
}

fn fields() -> impl Strategy<Value = Vec<Field>> {
    prop::collection::vec(field(), 1..3)
}

fn names() -> impl Strategy<Value = Vec<Name>> {
    prop::collection::vec(name(), 1..3)
}

/// Raw tokens of a generic command: each lexes as itself; brackets balanced.
fn generic_args() -> impl Strategy<Value = Vec<String>> {
    let token = prop_oneof![
        "[a-z][a-z0-9_]{0,5}(\\.[a-z][a-z0-9]{0,3})?",
        int(),
        string().prop_map(|s| esql::lexer::quote(&s)),
        prop::sample::select(vec![
            "=", "==", ":", ",", "+", "-", "*", "/", "<", ">=", "?x"
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(
        (token, any::<u8>()).prop_map(|(t, r)| match r % 6 {
            0 => vec!["(".into(), t, ")".into()],
            1 => vec!["{".into(), t, "}".into()],
            _ => vec![t],
        }),
        0..5,
    )
    .prop_map(|v| v.into_iter().flatten().collect())
}

fn command(first: bool) -> BoxedStrategy<CommandKind> {
    if first {
        return prop_oneof![
            (
                prop::collection::vec(source(), 1..3),
                prop::collection::vec(name(), 0..3)
            )
                .prop_map(|(sources, metadata)| CommandKind::From { sources, metadata }),
            fields().prop_map(CommandKind::Row),
            "[A-Z]{1,6}".prop_map(CommandKind::Show),
        ]
        .boxed();
    }
    let sort_key = (
        expr(),
        prop::option::of(prop::sample::select(vec![Order::Asc, Order::Desc])),
        prop::option::of(prop::sample::select(vec![Nulls::First, Nulls::Last])),
    )
        .prop_map(|(expr, order, nulls)| SortKey { expr, order, nulls });
    let agg = (field(), prop::option::of(expr())).prop_map(|(field, filter)| Agg { field, filter });
    prop_oneof![
        expr().prop_map(CommandKind::Where),
        fields().prop_map(CommandKind::Eval),
        (
            any::<bool>(),
            prop::collection::vec(agg, 0..3),
            prop::collection::vec(field(), 0..3)
        )
            .prop_filter("empty", |(_, a, by)| !a.is_empty() || !by.is_empty())
            .prop_map(|(inline, aggs, by)| CommandKind::Stats(Stats { inline, aggs, by })),
        names().prop_map(CommandKind::Keep),
        names().prop_map(CommandKind::Drop),
        prop::collection::vec((name(), name()), 1..3).prop_map(|v| CommandKind::Rename(
            v.into_iter()
                .map(|(from, to)| Rename { from, to })
                .collect()
        )),
        prop::collection::vec(sort_key, 1..3).prop_map(CommandKind::Sort),
        prop_oneof![
            int().prop_map(|x| e(ExprKind::Int(x))),
            param().prop_map(|x| e(ExprKind::Param(x)))
        ]
        .prop_map(CommandKind::Limit),
        (
            expr(),
            pattern_string(),
            prop::collection::vec(("[A-Z][A-Z0-9_]{0,8}", constant()), 0..2)
        )
            .prop_map(|(input, pattern, options)| CommandKind::Dissect {
                input,
                pattern,
                options: options
                    .into_iter()
                    .map(|(name, value)| CommandOption { name, value })
                    .collect()
            }),
        (expr(), prop::collection::vec(pattern_string(), 1..3))
            .prop_map(|(input, patterns)| CommandKind::Grok { input, patterns }),
        (
            source(),
            prop::option::of(name()),
            prop::collection::vec((prop::option::of(name()), name()), 0..3)
        )
            .prop_map(|(policy, on, with)| CommandKind::Enrich {
                policy,
                on,
                with: with
                    .into_iter()
                    .map(|(name, field)| EnrichField { name, field })
                    .collect()
            }),
        name().prop_map(CommandKind::MvExpand),
        (source(), prop::collection::vec(expr(), 1..3))
            .prop_map(|(index, on)| CommandKind::LookupJoin { index, on }),
        (
            prop::sample::select(vec![
                "COMPLETION",
                "FORK",
                "SAMPLE",
                "CHANGE_POINT",
                "RERANK"
            ]),
            generic_args()
        )
            .prop_map(|(name, args)| CommandKind::Generic {
                name: name.into(),
                args
            }),
    ]
    .boxed()
}

fn query() -> impl Strategy<Value = Query> {
    (command(true), prop::collection::vec(command(false), 0..4)).prop_map(|(first, rest)| {
        let commands = std::iter::once(first)
            .chain(rest)
            .map(|kind| Command {
                kind,
                span: Span::default(),
            })
            .collect();
        Query {
            commands,
            span: Span::default(),
        }
    })
}

/// ES|QL-like text: tokens of the language in any order.
fn soup() -> impl Strategy<Value = String> {
    let tok = prop_oneof![
        prop::sample::select(vec![
            "FROM",
            "from",
            "ROW",
            "SHOW",
            "|",
            "WHERE",
            "EVAL",
            "STATS",
            "INLINE",
            "INLINESTATS",
            "BY",
            "KEEP",
            "DROP",
            "RENAME",
            "AS",
            "SORT",
            "ASC",
            "DESC",
            "NULLS",
            "FIRST",
            "LIMIT",
            "DISSECT",
            "GROK",
            "ENRICH",
            "ON",
            "WITH",
            "MV_EXPAND",
            "LOOKUP",
            "JOIN",
            "METADATA",
            "AND",
            "OR",
            "NOT",
            "IN",
            "IS",
            "NULL",
            "LIKE",
            "RLIKE",
            "TRUE",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ",",
            "=",
            "==",
            "!=",
            "<",
            ">=",
            "+",
            "-",
            "*",
            "/",
            "%",
            "::",
            ":",
            "?",
            "?p",
            "1",
            "2.5",
            ".5",
            "\"s\"",
            "\"\"\"t\"\"\"",
            "`q`",
            "a.b",
            "@timestamp",
            "x*",
            "logs-*",
            "count(*)",
            "1 hour",
            "//c\n",
            "/*c*/",
            "\"",
            "`",
            "\"\"\"",
            "/*",
        ])
        .prop_map(String::from),
        "[ -~]{1,3}",
    ];
    prop::collection::vec(tok, 0..24).prop_map(|v| v.join(" "))
}

fn check_roundtrip(text: &str) -> Result<(), TestCaseError> {
    if let Ok(mut q) = esql::parse(text) {
        let printed = print(&q);
        let mut again =
            esql::parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        q.clear_spans();
        again.clear_spans();
        prop_assert_eq!(q, again, "{:?} printed as {:?}", text, printed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn print_then_parse_is_identity(q in query()) {
        let printed = print(&q);
        let back = esql::parse(&printed);
        prop_assert!(back.is_ok(), "{:?}: {:?}", printed, back.err());
        let mut back = back.unwrap();
        back.clear_spans();
        prop_assert_eq!(&back, &q, "{}", printed);
        prop_assert_eq!(print(&back), printed);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
        check_roundtrip(&text)?;
    }

    #[test]
    fn esql_like_text_never_panics(text in soup()) {
        check_roundtrip(&format!("FROM i | {text}"))?;
        check_roundtrip(&text)?;
    }
}
