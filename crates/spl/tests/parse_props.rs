//! Properties of the SPL parser: printing a tree and parsing the text gives the tree back (spans
//! aside), and parsing never panics.

use proptest::prelude::*;
use spl::ast::*;
use spl::{parse, print};

const RESERVED: &[&str] = &[
    "and",
    "or",
    "not",
    "xor",
    "like",
    "in",
    "by",
    "as",
    "where",
    "from",
    "output",
    "outputnew",
    "search",
    "tstats",
    "mstats",
    "inputlookup",
    "eval",
    "term",
    "case",
    "datamodel",
    "true",
];

fn name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,5}(\\.[a-z_][a-z0-9_]{0,4})?"
        .prop_filter("reserved", |s| !RESERVED.contains(&s.as_str()))
}

fn w(text: String, quoted: bool) -> Word {
    Word {
        text,
        quoted,
        span: 0..0,
    }
}

fn bare() -> impl Strategy<Value = Word> {
    name().prop_map(|t| w(t, false))
}

fn value() -> impl Strategy<Value = Word> {
    prop_oneof![
        bare(),
        "\\*?[a-z0-9]{1,5}\\*?".prop_map(|t| w(t, false)),
        "[ -~]{0,8}".prop_map(|t| w(t, true)),
    ]
}

fn macro_call() -> impl Strategy<Value = MacroCall> {
    ("[a-z_]{1,8}", prop::collection::vec(name(), 0..3)).prop_map(|(name, args)| MacroCall {
        name,
        args,
        span: 0..0,
    })
}

fn sx(kind: SearchKind) -> SearchExpr {
    SearchExpr { kind, span: 0..0 }
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Neq),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge),
    ]
}

fn search_expr() -> impl Strategy<Value = SearchExpr> {
    let leaf = prop_oneof![
        value().prop_map(|v| sx(SearchKind::Term(v))),
        (value(), cmp_op(), value()).prop_map(|(field, op, value)| sx(SearchKind::Compare {
            field,
            op,
            value
        })),
        (
            bare(),
            prop::collection::vec(
                prop_oneof![
                    value().prop_map(|v| sx(SearchKind::Term(v))),
                    macro_call().prop_map(|m| sx(SearchKind::Macro(m)))
                ],
                0..3
            )
        )
            .prop_map(|(field, values)| sx(SearchKind::In { field, values })),
        value().prop_map(|v| sx(SearchKind::TermFn(v))),
        value().prop_map(|v| sx(SearchKind::CaseFn(v))),
        macro_call().prop_map(|m| sx(SearchKind::Macro(m))),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| sx(SearchKind::And(v))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| sx(SearchKind::Or(v))),
            inner.prop_map(|e| sx(SearchKind::Not(Box::new(e)))),
        ]
    })
}

fn ex(kind: ExprKind) -> Expr {
    Expr { kind, span: 0..0 }
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        name().prop_map(|name| Field {
            name,
            quoted: false,
            span: 0..0
        }),
        "[a-z ]{1,6}".prop_map(|name| Field {
            name,
            quoted: true,
            span: 0..0
        }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        field().prop_map(|f| ex(ExprKind::Field(f))),
        "[ -~]{0,6}".prop_map(|s| ex(ExprKind::Str(s))),
        "[0-9]{1,3}(\\.[0-9]{1,2})?".prop_map(|n| ex(ExprKind::Num(n))),
        macro_call().prop_map(|m| ex(ExprKind::Macro(m))),
    ];
    let ops = prop::sample::select(vec![
        BinOp::Or,
        BinOp::Xor,
        BinOp::And,
        BinOp::Cmp(CmpOp::Eq),
        BinOp::Cmp(CmpOp::EqEq),
        BinOp::Cmp(CmpOp::Neq),
        BinOp::Cmp(CmpOp::Lt),
        BinOp::Cmp(CmpOp::Ge),
        BinOp::Like,
        BinOp::Add,
        BinOp::Sub,
        BinOp::Concat,
        BinOp::Mul,
        BinOp::Div,
        BinOp::Mod,
    ]);
    let funcs = prop::sample::select(vec![
        "if",
        "case",
        "like",
        "match",
        "isnull",
        "cidrmatch",
        "lower",
        "mvcount",
        "coalesce",
        "in",
    ]);
    leaf.prop_recursive(5, 40, 4, move |inner| {
        prop_oneof![
            (ops.clone(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| ex(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r)
                }
            )),
            inner.clone().prop_map(|e| ex(ExprKind::Not(Box::new(e)))),
            inner.clone().prop_map(|e| ex(ExprKind::Neg(Box::new(e)))),
            (funcs.clone(), prop::collection::vec(inner.clone(), 0..3)).prop_map(|(n, args)| ex(
                ExprKind::Call {
                    name: n.to_string(),
                    args
                }
            )),
            (inner.clone(), prop::collection::vec(inner, 1..3)).prop_map(|(e, list)| ex(
                ExprKind::In {
                    expr: Box::new(e),
                    list
                }
            )),
        ]
    })
}

fn opt() -> impl Strategy<Value = Opt> {
    (name(), value()).prop_map(|(key, v)| Opt {
        key,
        value: OptValue::Word(v),
        span: 0..0,
    })
}

fn opts() -> impl Strategy<Value = Vec<Opt>> {
    prop::collection::vec(opt(), 0..2)
}

fn agg() -> impl Strategy<Value = Agg> {
    (
        prop::sample::select(vec!["count", "min", "max", "values", "dc", "avg"]),
        prop::collection::vec(
            prop_oneof![
                value().prop_map(AggArg::Field),
                expr().prop_map(AggArg::Eval)
            ],
            0..2,
        ),
        prop::option::of(bare()),
    )
        .prop_map(|(f, args, alias)| Agg {
            func: f.to_string(),
            args,
            alias,
            span: 0..0,
        })
}

fn cmd(kind: CommandKind) -> Command {
    Command { kind, span: 0..0 }
}

/// Commands without subsearches.
fn simple_command() -> impl Strategy<Value = Command> {
    let stats = (
        prop::sample::select(vec![
            StatsKind::Stats,
            StatsKind::Eventstats,
            StatsKind::Streamstats,
            StatsKind::Tstats,
            StatsKind::Mstats,
        ]),
        opts(),
        prop::collection::vec(macro_call(), 0..2),
        prop::collection::vec(agg(), 0..3),
        prop::option::of(bare()),
        prop::option::of(search_expr()),
        prop::collection::vec(value(), 0..3),
        opts(),
    )
        .prop_map(
            |(kind, options, macros, aggs, from, filter, by, by_options)| {
                let t = matches!(kind, StatsKind::Tstats | StatsKind::Mstats);
                cmd(CommandKind::Stats(Stats {
                    kind,
                    options,
                    macros,
                    aggs,
                    from: from.filter(|_| t),
                    filter: filter.filter(|_| t),
                    by,
                    by_options,
                }))
            },
        );
    let lookup_field = (value(), prop::option::of(value()))
        .prop_map(|(field, alias)| LookupField { field, alias })
        .boxed();
    let fields_cmd = (
        prop::sample::select(vec![
            "table",
            "fields",
            "dedup",
            "bin",
            "bucket",
            "spath",
            "mvexpand",
            "fillnull",
            "makemv",
            "transaction",
            "iplocation",
            "collect",
            "outputlookup",
        ]),
        prop::option::of(prop_oneof![Just(Sign::Plus), Just(Sign::Minus)]),
        opts(),
        prop::collection::vec(value(), 0..3),
        prop::option::of(bare()),
    )
        .prop_map(|(name, sign, options, fields, alias)| {
            cmd(CommandKind::Fields(FieldsCmd {
                name: name.to_string(),
                sign: sign.filter(|_| name == "fields"),
                options,
                fields,
                alias: alias.filter(|_| matches!(name, "bin" | "bucket")),
            }))
        });
    prop_oneof![
        prop::option::of(search_expr()).prop_map(|expr| cmd(CommandKind::Search {
            explicit: true,
            expr
        })),
        expr().prop_map(|e| cmd(CommandKind::Where(e))),
        prop::collection::vec((field(), expr()), 1..3).prop_map(|v| cmd(CommandKind::Eval(
            v.into_iter()
                .map(|(field, value)| Assignment {
                    field,
                    value,
                    span: 0..0
                })
                .collect()
        ))),
        stats,
        prop::collection::vec((value(), value()), 0..3).prop_map(|v| cmd(CommandKind::Rename(v))),
        (opts(), "[ -~]{0,8}").prop_map(|(options, r)| cmd(CommandKind::Rex {
            options,
            regex: w(r, true)
        })),
        (prop::option::of(bare()), any::<bool>(), "[ -~]{0,8}").prop_map(|(field, neg, r)| cmd(
            CommandKind::Regex {
                negated: neg && field.is_some(),
                field,
                regex: w(r, true)
            }
        )),
        (
            opts(),
            bare(),
            prop::collection::vec(lookup_field.clone(), 0..3),
            prop::option::of((any::<bool>(), prop::collection::vec(lookup_field, 0..3)))
        )
            .prop_map(|(options, table, inputs, output)| cmd(CommandKind::Lookup(
                Lookup {
                    options,
                    table,
                    inputs,
                    output
                }
            ))),
        (bare(), bare()).prop_map(|(k, d)| cmd(CommandKind::From {
            kind: k.text,
            dataset: d
        })),
        (
            prop::option::of("[0-9]{1,3}".prop_map(|t| w(t, false))),
            prop::collection::vec(
                (
                    prop::option::of(prop_oneof![Just(Sign::Plus), Just(Sign::Minus)]),
                    prop::option::of(prop::sample::select(vec!["num", "str", "ip"])),
                    // Not `value()`: a first unsigned all-digit key is the count (`sort 0`).
                    bare()
                ),
                0..3
            )
        )
            .prop_map(|(count, keys)| cmd(CommandKind::Sort {
                count,
                keys: keys
                    .into_iter()
                    .map(|(sign, func, field)| SortKey {
                        sign,
                        func: func.map(str::to_string),
                        field
                    })
                    .collect()
            })),
        fields_cmd,
        (macro_call(), prop::collection::vec(name(), 0..3)).prop_map(|(call, args)| cmd(
            CommandKind::Macro {
                call,
                args: args.into_iter().map(Arg::Raw).collect()
            }
        )),
        ("x[a-z]{2,6}", prop::collection::vec(name(), 0..3)).prop_map(|(name, args)| cmd(
            CommandKind::Generic {
                name,
                args: args.into_iter().map(Arg::Raw).collect()
            }
        )),
    ]
}

fn pipeline_of(cmds: BoxedStrategy<Command>) -> BoxedStrategy<Pipeline> {
    (
        any::<bool>(),
        search_expr(),
        prop::collection::vec(cmds, 1..4),
    )
        .prop_map(|(leading_pipe, first, mut commands)| {
            if !leading_pipe {
                commands.insert(
                    0,
                    cmd(CommandKind::Search {
                        explicit: false,
                        expr: Some(first),
                    }),
                );
            }
            Pipeline {
                leading_pipe,
                commands,
                span: 0..0,
            }
        })
        .boxed()
}

fn command() -> impl Strategy<Value = Command> {
    let sub = pipeline_of(simple_command().boxed());
    prop_oneof![
        4 => simple_command(),
        1 => (opts(), prop::collection::vec(value(), 0..3), sub.clone()).prop_map(
            |(options, fields, subsearch)| cmd(CommandKind::Join {
                options,
                fields,
                subsearch
            })
        ),
        1 => (opts(), sub.clone()).prop_map(|(options, subsearch)| cmd(CommandKind::Append {
            options,
            subsearch
        })),
        1 => sub.clone().prop_map(|p| cmd(CommandKind::Search {
            explicit: true,
            expr: Some(sx(SearchKind::Subsearch(p)))
        })),
        1 => (
            "x[a-z]{2,6}",
            sub
        )
            .prop_map(|(name, p)| cmd(CommandKind::Generic {
                name,
                args: vec![Arg::Subsearch(p)]
            })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_is_identity(p in pipeline_of(command().boxed())) {
        let text = print(&p);
        let mut back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        back.clear_spans();
        prop_assert_eq!(&back, &p, "{}", text);
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,80}") {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_spl_like_text(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                "|", "[", "]", "(", ")", "\"", "\\", "`", "```", "'", ",", "=", "!=", "<", ">=",
                " ", "a", "x.y", "*", "-", ".", "5", "AND", "OR", "NOT", "IN", "by", "as",
                "where", "eval", "stats", "tstats", "from", "datamodel=", "rex", "lookup",
                "OUTPUT", "join", "sort", "fields", "count(", "eval(", "TERM(", "é",
            ]),
            0..40,
        )
    ) {
        let s: String = parts.concat();
        if let Ok(p) = parse(&s) {
            // What parses prints to text that parses again.
            let text = print(&p);
            let mut a = p.clone();
            let mut b = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{s}\n{text}")))?;
            a.clear_spans();
            b.clear_spans();
            prop_assert_eq!(a, b, "{}\n{}", s, text);
        }
    }
}
