use super::*;

fn def(name: &str, args: &[&str], definition: &str) -> MacroDef {
    MacroDef {
        name: name.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        definition: definition.to_string(),
        description: None,
    }
}

fn table(defs: &[MacroDef]) -> MacroTable {
    let mut t = MacroTable::new();
    for d in defs {
        t.insert(d.clone());
    }
    t
}

#[test]
fn arity_in_name() {
    assert_eq!(
        split_arity("drop_dm_object_name(1)"),
        ("drop_dm_object_name", Some(1))
    );
    assert_eq!(split_arity("x"), ("x", None));
    assert_eq!(split_arity("x(a)"), ("x(a)", None));
    let (d, mismatch) = MacroDef::from_parts("m(2)", vec!["a".into()], "$a$".into(), None);
    assert_eq!((d.name.as_str(), d.arity(), mismatch), ("m", 1, Some(2)));
    let (d, mismatch) = MacroDef::from_parts("m(1)", vec!["a".into()], "$a$".into(), None);
    assert_eq!((d.name.as_str(), mismatch), ("m", None));
}

#[test]
fn arguments_split_on_top_level_commas() {
    assert_eq!(split_args(""), Vec::<&str>::new());
    assert_eq!(split_args("  "), Vec::<&str>::new());
    assert_eq!(split_args("a"), vec!["a"]);
    assert_eq!(split_args(" a , b "), vec!["a", "b"]);
    assert_eq!(
        split_args(r#""x,y", f(1,2), [a,b], c"#),
        vec![r#""x,y""#, "f(1,2)", "[a,b]", "c"]
    );
    assert_eq!(split_args(r#""a\",b", c"#), vec![r#""a\",b""#, "c"]);
    assert_eq!(split_args("a,"), vec!["a", ""]);
}

#[test]
fn keyed_by_name_and_arity() {
    let t = table(&[
        def("m", &[], "zero"),
        def("m", &["a"], "one $a$"),
        def("m", &["a", "b"], "two $a$ $b$"),
    ]);
    assert_eq!(t.len(), 3);
    let e = expand("`m` `m(x)` `m(x, y)` `m()`", &t).unwrap();
    assert_eq!(e.text, "zero one x two x y zero");
    assert!(e.unknown.is_empty());
    assert_eq!(e.calls.len(), 4);
    assert_eq!(e.calls[1].args, vec!["x"]);
    assert!(e.calls.iter().all(|c| c.known));
    // replacing a definition of the same arity
    let mut t = t;
    assert!(t.insert(def("m", &["a"], "uno $a$")).is_some());
    assert_eq!(t.len(), 3);
}

#[test]
fn placeholders() {
    let t = table(&[def(
        "ctime",
        &["field"],
        r#"convert timeformat="%Y" ctime($field$)"#,
    )]);
    let e = expand("x | `ctime(firstTime)`", &t).unwrap();
    assert_eq!(e.text, r#"x | convert timeformat="%Y" ctime(firstTime)"#);
    // other $..$ tokens stay; an argument may repeat
    assert_eq!(
        substitute("$a$ $b$ $a$ $$ $", &["a".into()], &["1"]),
        "1 $b$ 1 $$ $"
    );
    assert_eq!(substitute("$a$_decode", &["a".into()], &["v"]), "v_decode");
}

#[test]
fn nested_and_spans() {
    let t = table(&[
        def("so", &[], "summariesonly=`so_config` x=`unknown_inner`"),
        def("so_config", &[], "false"),
        def("wrap", &["a"], "(`inner($a$)`)"),
        def("inner", &["b"], "f=$b$"),
    ]);
    let s = "| tstats `so` count where `wrap(1)` | `drop_dm_object_name(Processes)` | `x_filter`";
    let e = expand(s, &t).unwrap();
    assert_eq!(
        e.text,
        "| tstats summariesonly=false x=`unknown_inner` count where (f=1) | `drop_dm_object_name(Processes)` | `x_filter`"
    );
    assert_eq!(
        e.unknown,
        vec!["unknown_inner", "drop_dm_object_name(1)", "x_filter"]
    );
    let names: Vec<_> = e.calls.iter().map(|c| (c.name.as_str(), c.known)).collect();
    assert_eq!(
        names,
        vec![
            ("so", true),
            ("wrap", true),
            ("drop_dm_object_name", false),
            ("x_filter", false)
        ]
    );
    for c in &e.calls {
        assert_eq!(&e.text[c.expanded_span.clone()], c.expanded);
        assert!(s[c.span.clone()].starts_with('`') && s[c.span.clone()].ends_with('`'));
    }
    assert_eq!(e.calls[2].expanded, "`drop_dm_object_name(Processes)`");
    assert_eq!(e.calls[2].args, vec!["Processes"]);
    // original offsets: before, inside, after a call
    assert_eq!(e.original_offset(2), 2);
    let c = &e.calls[1];
    assert_eq!(e.original_offset(c.expanded_span.start + 1), c.span.start);
    assert_eq!(e.original_offset(c.expanded_span.end), c.span.end);
    assert_eq!(e.original_offset(e.text.len()), s.len());
}

#[test]
fn cycles_are_errors() {
    let t = table(&[
        def("a", &[], "x `b`"),
        def("b", &[], "`a`"),
        def("self", &["x"], "`self($x$)`"),
    ]);
    let s = "ok | `a`";
    match expand(s, &t) {
        Err(ExpandError::Cycle { chain, span }) => {
            assert_eq!(chain, vec!["a", "b", "a"]);
            assert_eq!(&s[span], "`a`");
        }
        other => panic!("{other:?}"),
    }
    let err = expand("`self(1)`", &t).unwrap_err();
    assert_eq!(err.to_string(), "macro cycle: self(1) → self(1)");
    // the same macro twice side by side is not a cycle
    let t = table(&[def("a", &[], "`b` `b`"), def("b", &[], "1")]);
    assert_eq!(expand("`a` `a`", &t).unwrap().text, "1 1 1 1");
}

#[test]
fn depth_is_bounded() {
    let mut defs = Vec::new();
    for i in 0..MAX_DEPTH + 2 {
        defs.push(def(&format!("m{i}"), &[], &format!("`m{}`", i + 1)));
    }
    let t = table(&defs);
    assert!(matches!(
        expand("`m0`", &t),
        Err(ExpandError::TooDeep { .. })
    ));
    let t = table(&defs[..MAX_DEPTH - 1]);
    let e = expand("`m0`", &t).unwrap();
    assert_eq!(e.text, format!("`m{}`", MAX_DEPTH - 1));
}

#[test]
fn quotes_and_escapes() {
    let t = table(&[def("m", &["a"], "<$a$>"), def("q", &[], "Q")]);
    // a backtick inside a quoted string is text
    let e = expand(r#"x="`q`" `q`"#, &t).unwrap();
    assert_eq!(e.text, r#"x="`q`" Q"#);
    // commas, pipes and backticks inside quoted arguments
    let e = expand(r#"`m("a,b|c`d")`"#, &t).unwrap();
    assert_eq!(e.text, r#"<"a,b|c`d">"#);
    assert_eq!(e.calls[0].args, vec![r#""a,b|c`d""#]);
    // an escaped quote does not end the string
    let e = expand(r#"x="a\"`q`" `q`"#, &t).unwrap();
    assert_eq!(e.text, r#"x="a\"`q`" Q"#);
    // an escaped backtick outside quotes is text
    assert_eq!(expand(r"a \`q\` `q`", &t).unwrap().text, r"a \`q\` Q");
    // an unclosed backtick stays
    let e = expand("a `q` `b", &t).unwrap();
    assert_eq!(e.text, "a Q `b");
    assert_eq!(e.unclosed, vec![6]);
}

#[test]
fn expand_range_of_segments() {
    let t = table(&[
        def("c", &["f"], "convert ctime($f$)"),
        def("src", &[], "index=x"),
    ]);
    let s = "`src` a=1 | `c(t)` | `y_filter`";
    let e = expand(s, &t).unwrap();
    let segs = pipe_segments(s);
    let shown: Vec<_> = segs
        .iter()
        .map(|g| (g.with_pipe(s), e.expand_range(s, g.span.clone())))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("`src` a=1", "index=x a=1".to_string()),
            ("| `c(t)`", "convert ctime(t)".to_string()),
            ("| `y_filter`", "`y_filter`".to_string()),
        ]
    );
}

#[test]
fn pipes() {
    let segs = |s: &str| -> Vec<String> {
        pipe_segments(s)
            .iter()
            .map(|g| s[g.span.clone()].to_string())
            .collect()
    };
    assert_eq!(
        segs("| tstats count | `m(a|b)` | x"),
        vec!["tstats count", "`m(a|b)`", "x"]
    );
    assert_eq!(
        segs(r#"search a="x|y" | eval b="\"|" | c"#),
        vec![r#"search a="x|y""#, r#"eval b="\"|""#, "c"]
    );
    assert_eq!(
        segs("a [search b | head 1] | c"),
        vec!["a [search b | head 1]", "c"]
    );
    assert_eq!(segs("a | | b |"), vec!["a", "", "b", ""]);
    assert_eq!(segs(""), Vec::<String>::new());
    assert_eq!(segs("  a  "), vec!["a"]);
    // a lone backtick does not swallow the rest
    assert_eq!(segs("a ` b | c"), vec!["a ` b", "c"]);
    let s = "| tstats x\n  | `f`";
    let g = pipe_segments(s);
    assert_eq!(g[0].pipe, Some(0));
    assert_eq!(g[1].with_pipe(s), "| `f`");
}

#[test]
fn comments_are_not_macros() {
    let t = table(&[def("q", &[], "Q")]);
    let s = "a ```note | `q`, \"x``` `q` | b ```unclosed | c";
    let e = expand(s, &t).unwrap();
    assert_eq!(e.text, "a ```note | `q`, \"x``` Q | b ```unclosed | c");
    assert!(e.unknown.is_empty());
    assert_eq!(e.calls.len(), 1);
    let segs: Vec<_> = pipe_segments(s)
        .iter()
        .map(|g| &s[g.span.clone()])
        .collect();
    assert_eq!(
        segs,
        vec!["a ```note | `q`, \"x``` `q`", "b ```unclosed | c"]
    );
}
