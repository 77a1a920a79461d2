//! Properties of the KQL parser: printing a generated tree and parsing the text gives the tree
//! back (spans aside), and parsing never panics (arbitrary text, KQL-like token soup), and what
//! parses prints to text that parses to the same tree.

use kql::ast::*;
use kql::{parse, print};
use proptest::prelude::*;

fn e(kind: ExprKind) -> Expr {
    Expr { kind, span: 0..0 }
}

fn n(text: &str) -> Name {
    Name {
        text: text.into(),
        span: 0..0,
    }
}

/// Words the grammar treats specially: names must survive being them.
const TRICKY: &[&str] = &[
    "and", "or", "has", "in", "by", "on", "with", "let", "union", "kind", "true", "datetime",
    "a b", "x-y", "", "$left", "is'q\"", "é", "find", "view", "step", "1d", "12ab", "a\u{a0}b",
];

/// Function names a call may have (not the words that start special forms).
fn fname() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,5}".prop_filter("special", |s| {
        !matches!(
            s.as_str(),
            "dynamic"
                | "not"
                | "datatable"
                | "externaldata"
                | "datetime"
                | "time"
                | "timespan"
                | "guid"
                | "and"
                | "or"
                | "in"
                | "has"
                | "contains"
                | "between"
                | "matches"
                | "hasprefix"
                | "hassuffix"
                | "startswith"
                | "endswith"
                | "has_any"
                | "has_all"
                | "has_cs"
                | "containscs"
                | "notcontains"
                | "notcontainscs"
                | "contains_cs"
                | "hasprefix_cs"
                | "hassuffix_cs"
        )
    })
}

fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z_][A-Za-z0-9_]{0,6}",
        1 => prop::sample::select(TRICKY).prop_map(str::to_string),
    ]
}

fn name() -> impl Strategy<Value = Name> {
    name_text().prop_map(|t| n(&t))
}

fn str_lit() -> impl Strategy<Value = StrLit> {
    prop_oneof![
        ("[ -~\n\t]{0,8}", any::<bool>()).prop_map(|(value, obfuscated)| StrLit {
            value: value.into(),
            style: StrStyle::Plain,
            obfuscated,
        }),
        ("[ -~]{0,8}", any::<bool>()).prop_map(|(value, obfuscated)| StrLit {
            value: value.into(),
            style: StrStyle::Verbatim,
            obfuscated,
        }),
        "[ -_a-~\n]{0,8}".prop_map(|value| StrLit {
            value: value.into(),
            style: StrStyle::Multiline,
            obfuscated: false,
        }),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        4 => name_text().prop_map(|s| e(ExprKind::Ident(s.into()))),
        2 => str_lit().prop_map(|s| e(ExprKind::Str(s))),
        1 => "[0-9]{1,4}(\\.[0-9]{1,2})?".prop_map(|s| e(ExprKind::Number(s.into()))),
        1 => "[0-9]{1,3}(d|h|m|s|ms|tick)".prop_map(|s| e(ExprKind::Timespan(s.into()))),
        1 => any::<bool>().prop_map(|b| e(ExprKind::Bool(b))),
        1 => (prop::sample::select(&["datetime", "time", "guid"][..]), "[0-9:T-]{1,10}")
            .prop_map(|(ty, raw)| e(ExprKind::Typed { ty: ty.into(), raw: raw.into() })),
        1 => Just(e(ExprKind::Star)),
    ]
}

fn binop() -> impl Strategy<Value = BinOp> {
    let str_ops = (0..7usize, any::<bool>(), any::<bool>()).prop_map(|(k, neg, cs)| {
        let kind = [
            StrOpKind::Has,
            StrOpKind::HasPrefix,
            StrOpKind::HasSuffix,
            StrOpKind::Contains,
            StrOpKind::StartsWith,
            StrOpKind::EndsWith,
            StrOpKind::MatchesRegex,
        ][k];
        let regex = kind == StrOpKind::MatchesRegex;
        BinOp::Str(StrOp {
            kind,
            negated: neg && !regex,
            case_sensitive: cs || regex,
        })
    });
    prop_oneof![
        prop::sample::select(vec![
            BinOp::Mul,
            BinOp::Div,
            BinOp::Mod,
            BinOp::Add,
            BinOp::Sub,
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::EqCi,
            BinOp::NeCi,
        ]),
        str_ops,
    ]
}

fn list_op() -> impl Strategy<Value = ListOp> {
    prop::sample::select(vec![
        ListOp::In,
        ListOp::NotIn,
        ListOp::InCi,
        ListOp::NotInCi,
        ListOp::HasAny,
        ListOp::HasAll,
    ])
}

fn dyn_value(scalar: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
    let s2 = scalar.clone();
    prop_oneof![
        scalar.clone(),
        prop::collection::vec(scalar.clone(), 0..3).prop_map(|v| e(ExprKind::Array(v))),
        prop::collection::vec(("[a-zA-Z \"]{0,5}", s2), 0..3).prop_map(|v| e(ExprKind::Object(
            v.into_iter().map(|(k, x)| (k.into(), x)).collect()
        ))),
    ]
}

fn scalar() -> BoxedStrategy<Expr> {
    leaf()
        .prop_recursive(4, 40, 4, |inner| {
            let b = |x: Expr| Box::new(x);
            prop_oneof![
                (binop(), inner.clone(), inner.clone()).prop_map(move |(op, l, r)| e(
                    ExprKind::Binary {
                        op,
                        lhs: b(l),
                        rhs: b(r)
                    }
                )),
                prop::collection::vec(inner.clone(), 2..4).prop_map(|v| e(ExprKind::And(v))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(|v| e(ExprKind::Or(v))),
                inner.clone().prop_map(move |x| e(ExprKind::Neg(b(x)))),
                inner.clone().prop_map(move |x| e(ExprKind::Plus(b(x)))),
                inner.clone().prop_map(move |x| e(ExprKind::Not(b(x)))),
                (fname(), prop::collection::vec(inner.clone(), 0..3)).prop_map(|(name, args)| e(
                    ExprKind::Call {
                        name: name.into(),
                        args
                    }
                )),
                (
                    fname(),
                    prop::collection::vec(inner.clone(), 0..2),
                    name(),
                    inner.clone()
                )
                    .prop_map(move |(name, mut args, arg, value)| {
                        args.push(e(ExprKind::NamedArg {
                            name: arg,
                            value: b(value),
                        }));
                        e(ExprKind::Call {
                            name: name.into(),
                            args,
                        })
                    }),
                (inner.clone(), name_text()).prop_map(move |(x, name)| e(ExprKind::Member {
                    expr: b(x),
                    name: name.into()
                })),
                (inner.clone(), inner.clone()).prop_map(move |(x, i)| e(ExprKind::Index {
                    expr: b(x),
                    index: b(i)
                })),
                (
                    list_op(),
                    inner.clone(),
                    prop::collection::vec(inner.clone(), 1..3)
                )
                    .prop_map(move |(op, x, list)| e(ExprKind::List {
                        op,
                        expr: b(x),
                        list
                    })),
                (any::<bool>(), inner.clone(), inner.clone(), inner.clone()).prop_map(
                    move |(negated, x, lo, hi)| e(ExprKind::Between {
                        negated,
                        expr: b(x),
                        low: b(lo),
                        high: b(hi)
                    })
                ),
                dyn_value(inner.clone()).prop_map(move |v| e(ExprKind::Dynamic(b(v)))),
            ]
        })
        .boxed()
}

fn assign() -> impl Strategy<Value = Assign> {
    (prop::collection::vec(name(), 0..3), scalar()).prop_map(|(names, value)| Assign {
        names,
        value,
        span: 0..0,
    })
}

fn assigns(min: usize) -> impl Strategy<Value = Vec<Assign>> {
    prop::collection::vec(assign(), min..3)
}

fn sort_key() -> impl Strategy<Value = SortKey> {
    (
        scalar(),
        prop::option::of(prop::sample::select(vec![Order::Asc, Order::Desc])),
        prop::option::of(prop::sample::select(vec![Nulls::First, Nulls::Last])),
    )
        .prop_map(|(expr, order, nulls)| SortKey { expr, order, nulls })
}

fn param(names: &'static [&'static str]) -> impl Strategy<Value = OptParam> {
    (prop::sample::select(names), "[a-z]{1,8}").prop_map(|(name, v)| OptParam {
        name: name.to_string(),
        value: e(ExprKind::Ident(v.into())),
        span: 0..0,
    })
}

fn pattern_name() -> impl Strategy<Value = Name> {
    prop_oneof![
        name(),
        "[A-Za-z]{1,4}\\*([A-Za-z]{1,3})?".prop_map(|t| n(&t))
    ]
}

fn table() -> impl Strategy<Value = Expr> {
    prop_oneof![
        3 => "[A-Z][A-Za-z]{0,8}".prop_map(|s| e(ExprKind::Ident(s.into()))),
        1 => (fname(), prop::collection::vec(scalar(), 0..2))
            .prop_map(|(name, args)| e(ExprKind::Call { name: name.into(), args })),
    ]
}

fn op(depth: u32) -> BoxedStrategy<Operator> {
    use OperatorKind as O;
    let sub = if depth == 0 {
        table().boxed()
    } else {
        prop_oneof![table(), tabular(depth - 1)].boxed()
    };
    prop_oneof![
        3 => scalar().prop_map(O::Where),
        2 => assigns(1).prop_map(O::Extend),
        1 => assigns(1).prop_map(O::Project),
        1 => prop::collection::vec(pattern_name(), 1..3).prop_map(O::ProjectAway),
        1 => prop::collection::vec((name(), name()), 1..3).prop_map(O::ProjectRename),
        1 => (prop::collection::vec(param(&["hint.strategy"]), 0..2), assigns(0), assigns(0))
            .prop_map(|(params, aggs, by)| O::Summarize { params, aggs, by }),
        2 => (prop::collection::vec(param(&["kind", "hint.remote"]), 0..2), sub.clone(),
              prop::collection::vec(scalar(), 0..3))
            .prop_map(|(params, right, on)| O::Join { params, right, on }),
        1 => (prop::collection::vec(param(&["kind"]), 0..2), sub.clone(),
              prop::collection::vec(scalar(), 1..3))
            .prop_map(|(params, right, on)| O::Lookup { params, right, on }),
        1 => (prop::collection::vec(param(&["kind", "withsource", "isfuzzy"]), 0..2),
              prop::collection::vec(prop_oneof![sub.clone(),
                  "[A-Z][a-z]{0,3}\\*".prop_map(|s| e(ExprKind::Pattern(s.into())))], 1..3))
            .prop_map(|(params, tables)| O::Union { params, tables }),
        1 => assigns(1).prop_map(|columns| O::Distinct { params: vec![], columns }),
        1 => (scalar(), prop::collection::vec(sort_key(), 1..3))
            .prop_map(|(count, by)| O::Top { count, by }),
        1 => prop::collection::vec(sort_key(), 1..3).prop_map(|by| O::Sort { params: vec![], by }),
        1 => scalar().prop_map(O::Take),
        1 => Just(O::Count),
        1 => (prop::collection::vec((assign(), prop::option::of(Just("string".to_string()))), 1..3),
              prop::option::of(scalar()))
            .prop_map(|(items, limit)| O::MvExpand {
                params: vec![],
                items: items.into_iter().map(|(assign, to_type)| MvItem { assign, to_type }).collect(),
                limit,
            }),
        1 => (any::<bool>(), scalar(), prop::collection::vec(prop_oneof![
                str_lit().prop_map(ParsePart::Str),
                Just(ParsePart::Star),
                (name(), prop::option::of(Just("long".to_string())))
                    .prop_map(|(name, ty)| ParsePart::Column { name, ty }),
            ], 0..4))
            .prop_map(|(where_, source, pattern)| O::Parse { where_, params: vec![], source, pattern }),
        1 => (fname(), prop::collection::vec(scalar(), 0..2))
            .prop_map(|(name, args)| O::Invoke(e(ExprKind::Call { name: name.into(), args }))),
        1 => (prop::collection::vec((prop::option::of(scalar()), assign(), assign()), 1..3))
            .prop_map(|levels| O::TopNested(levels.into_iter().map(|(count, of, by)| TopNestedLevel {
                count, of, others: None, by, order: None,
            }).collect())),
        1 => prop::collection::vec(
                prop::sample::select(&["a", "1", "\"s\"", "==", "=>", ";", ".", "(", ")"][..]), 0..5)
            .prop_map(|toks| {
                // Keep brackets balanced.
                let mut depth = 0i32;
                let mut tokens = vec![];
                for t in toks {
                    match t {
                        "(" => depth += 1,
                        ")" if depth == 0 => continue,
                        ")" => depth -= 1,
                        ";" if depth == 0 => continue,
                        _ => {}
                    }
                    tokens.push(t.to_string());
                }
                tokens.extend((0..depth).map(|_| ")".to_string()));
                O::Generic { name: "consume".into(), tokens }
            }),
        1 => (fname(), prop::collection::vec(scalar(), 0..2),
              prop::option::of(prop::collection::vec(name(), 0..3)))
            .prop_map(|(name, args, schema)| O::Evaluate {
                params: vec![],
                call: e(ExprKind::Call { name: name.into(), args }),
                schema: schema.map(|cols| cols.into_iter()
                    .map(|name| ColumnDef { name, ty: "string".into() }).collect()),
            }),
        1 => (prop::collection::vec(param(&["withsource", "isfuzzy"]), 0..2),
              prop::option::of(prop::collection::vec(table(), 1..3)), scalar(),
              prop::option::of(prop_oneof![
                  Just(FindProject::Smart),
                  prop::collection::vec(find_column(), 1..3).prop_map(FindProject::Columns),
              ]),
              prop::option::of(prop::collection::vec(find_column(), 1..3)))
            .prop_map(|(params, tables, predicate, project, project_away)| {
                // Options without `in (…)` still need `where` before the predicate, which the
                // printer always writes.
                O::Find { params, tables, predicate, project, project_away }
            }),
        1 => prop::collection::vec((prop::option::of(name()), simple_ops()), 1..3)
            .prop_map(|b| O::Fork(b.into_iter().map(|(name, ops)| ForkBranch { name, ops }).collect())),
        1 => (prop::collection::vec(table(), 1..3), prop_oneof![Just(vec![]), simple_ops()])
            .prop_map(|(by, with)| O::Facet { by, with }),
        1 => (name(), prop::option::of(scalar()), prop_oneof![
                simple_ops().prop_map(PartitionBody::Ops),
                sub.clone().prop_map(|q| PartitionBody::Query(Box::new(q))),
            ])
            .prop_map(|(by, in_, body)| O::Partition {
                params: vec![],
                by: e(ExprKind::Ident(by.text)),
                in_: in_.map(|i| e(ExprKind::Dynamic(Box::new(i)))),
                body,
            }),
        1 => (prop::collection::vec(sort_key(), 0..2), prop::collection::vec(scalar(), 0..2),
              prop::collection::vec(name(), 0..2),
              prop::collection::vec((name(), any::<bool>(), prop::option::of(prop::sample::select(&["all", "last", "none"][..])),
                  scalar(), prop::collection::vec((name(), scalar()), 0..2)), 1..3))
            .prop_map(|(order_by, partition_by, declare, steps)| O::Scan {
                params: vec![],
                order_by,
                partition_by,
                declare: declare.into_iter().map(|name| Param { name, ty: "long".into(), default: None }).collect(),
                steps: steps.into_iter().map(|(name, optional, output, condition, assigns)| ScanStep {
                    name, optional, output: output.map(str::to_string), condition, assigns,
                }).collect(),
            }),
    ]
    .prop_map(|kind| Operator { kind, span: 0..0 })
    .boxed()
}

fn find_column() -> impl Strategy<Value = FindColumn> {
    prop_oneof![
        3 => (name(), prop::option::of(Just("string".to_string())))
            .prop_map(|(name, ty)| FindColumn::Column { name, ty }),
        1 => Just(FindColumn::Pack),
        1 => Just(FindColumn::Star),
    ]
}

/// A few operators without subqueries (fork branches, facet, partition bodies).
fn simple_ops() -> impl Strategy<Value = Vec<Operator>> {
    use OperatorKind as O;
    prop::collection::vec(
        prop_oneof![
            scalar().prop_map(O::Where),
            scalar().prop_map(O::Take),
            Just(O::Count),
            assigns(1).prop_map(O::Extend),
        ]
        .prop_map(|kind| Operator { kind, span: 0..0 }),
        1..3,
    )
}

fn tabular(depth: u32) -> BoxedStrategy<Expr> {
    (
        prop_oneof![
            table(),
            (
                prop::collection::vec(name(), 1..3),
                prop::collection::vec(scalar(), 0..4)
            )
                .prop_map(|(cols, values)| e(ExprKind::Datatable {
                    columns: cols
                        .into_iter()
                        .map(|name| ColumnDef {
                            name,
                            ty: "string".into()
                        })
                        .collect(),
                    values
                })),
        ],
        prop::collection::vec(op(depth), 1..4),
    )
        .prop_map(|(source, ops)| {
            e(ExprKind::Pipe {
                source: Box::new(source),
                ops,
            })
        })
        .boxed()
}

fn statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        (name(), prop_oneof![scalar(), tabular(1)]).prop_map(|(name, v)| StatementKind::Let {
            name,
            value: LetValue::Expr(v)
        }),
        tabular(1).prop_map(StatementKind::Expr),
    ]
    .prop_map(|kind| Statement { kind, span: 0..0 })
}

fn query() -> impl Strategy<Value = Query> {
    prop::collection::vec(statement(), 1..4).prop_map(|statements| Query {
        statements,
        span: 0..0,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_is_identity(q in query()) {
        let text = print(&q);
        let mut back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        back.clear_spans();
        prop_assert_eq!(back, q, "{}", text);
    }

    #[test]
    fn parse_never_panics_on_text(s in "\\PC{0,200}") {
        if let Ok(mut q) = parse(&s) {
            let text = print(&q);
            let mut back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            q.clear_spans();
            back.clear_spans();
            prop_assert_eq!(back, q, "{}", text);
        }
    }

    #[test]
    fn parse_never_panics_on_token_soup(toks in prop::collection::vec(prop::sample::select(&[
        "T", "|", "where", "a", "==", "\"x\"", "(", ")", "[", "]", "{", "}", ",", ";", "let", "=",
        "and", "or", "in~", "!has", "1d", "dynamic", "not", "join", "on", "kind", "summarize",
        "by", "extend", "project-away", "*", "-", ".", "..", "between", "mv-apply", "to",
        "typeof", "string", "datatable", ":", "@'v'", "datetime(2020)", "union", "parse", "with",
        "$left", "['q']", "1", "count", "h\"s\"", "```m```", "//c\n", "\n",
    ][..]), 0..30)) {
        let s = toks.join(" ");
        if let Ok(mut q) = parse(&s) {
            let text = print(&q);
            let mut back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            q.clear_spans();
            back.clear_spans();
            prop_assert_eq!(back, q, "{}", text);
        }
    }
}
