//! Rule-level behaviour, with documents taken from the Sigma specification and written for the
//! cases the real corpora lack (filters, correlations, collections).

use ir::{Expr, Kind, RuleKind, Severity};
use sigma::{parse, read};

fn errors(text: &str) -> Vec<String> {
    parse(text)
        .problems
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.message)
        .collect()
}

fn warnings(text: &str) -> Vec<String> {
    parse(text)
        .problems
        .into_iter()
        .filter(|p| p.severity == Severity::Warning)
        .map(|p| p.message)
        .collect()
}

const BASE: &str = "title: t\nlogsource:\n  product: windows\n";

fn rule(detection: &str) -> ir::Rule {
    let text = format!("{BASE}detection:\n{detection}");
    let (rules, diags) = read("s", "r.yml", "r.yml", &text);
    assert!(
        diags.iter().all(|d| d.severity != Severity::Error),
        "{diags:?}"
    );
    rules.into_iter().next().expect("a rule")
}

#[test]
fn maps_are_and_lists_are_or_keywords_are_keyword_predicates() {
    let r = rule(
        "  sel:\n    - A: 1\n      B: x\n    - C: y\n  kw:\n    - evil\n    - bad\n  condition: sel or kw\n",
    );
    let sel = r.logic.stages[1].expr.as_ref().unwrap();
    let Expr::Or(alts) = sel else {
        panic!("{sel:?}")
    };
    assert!(matches!(&alts[0], Expr::And(v) if v.len() == 2));
    let Some(Expr::Pred(p)) = &r.logic.stages[2].expr else {
        panic!()
    };
    assert_eq!((p.field.as_deref(), p.kind), (None, Kind::Keyword));
    assert_eq!(p.values, ["evil", "bad"]);
}

#[test]
fn null_numbers_booleans_and_all() {
    let r = rule(
        "  sel:\n    A: null\n    B: 4624\n    C: true\n    D|contains|all:\n      - x\n      - y\n  condition: sel\n",
    );
    let Some(Expr::And(items)) = &r.logic.stages[1].expr else {
        panic!()
    };
    let Expr::Pred(a) = &items[0] else { panic!() };
    assert_eq!(a.kind, Kind::Null);
    let Expr::Pred(b) = &items[1] else { panic!() };
    assert_eq!(b.kind, Kind::Eq);
    assert_eq!(b.values, ["4624"]);
    // A number has no string pattern.
    assert_eq!(b.values[0].pattern, None);
    let Expr::Pred(c) = &items[2] else { panic!() };
    assert_eq!(c.values, ["true"]);
    // `all`: one predicate per value under AND.
    let Expr::And(d) = &items[3] else {
        panic!("{:?}", items[3])
    };
    assert_eq!(d.len(), 2);
}

#[test]
fn neq_negates_and_regex_is_case_sensitive_unless_i() {
    let r = rule(
        "  sel:\n    A|neq: 5\n    B|re: 'ab+'\n    C|re|i: 'cd'\n    D|cased: Ef\n  condition: sel\n",
    );
    let Some(Expr::And(items)) = &r.logic.stages[1].expr else {
        panic!()
    };
    assert!(matches!(&items[0], Expr::Not(_)));
    let (Expr::Pred(b), Expr::Pred(c), Expr::Pred(d)) = (&items[1], &items[2], &items[3]) else {
        panic!()
    };
    assert!(b.case_sensitive && b.kind == Kind::Regex);
    assert!(!c.case_sensitive && c.transforms == ["i"]);
    assert!(d.case_sensitive && d.kind == Kind::Eq);
}

#[test]
fn illegal_modifier_combinations_are_errors_with_position() {
    let text = format!("{BASE}detection:\n  sel:\n    A|contains|re: x\n  condition: sel\n");
    let p = parse(&text).problems;
    let e = p.iter().find(|p| p.severity == Severity::Error).unwrap();
    assert!(e.message.contains("unmodified"), "{}", e.message);
    assert_eq!(
        (e.pos.line, e.pos.col),
        (6, 20),
        "the position of the value `x`"
    );
    assert!(
        errors(&format!(
            "{BASE}detection:\n  sel:\n    A|lt: abc\n  condition: sel\n"
        ))[0]
            .contains("numbers")
    );
    assert!(
        errors(&format!(
            "{BASE}detection:\n  sel:\n    A|bogus: x\n  condition: sel\n"
        ))[0]
            .contains("unknown modifier `bogus`")
    );
    assert!(
        errors(&format!(
            "{BASE}detection:\n  sel:\n    A|exists: maybe\n  condition: sel\n"
        ))[0]
            .contains("booleans")
    );
}

#[test]
fn condition_errors_name_the_missing_detection() {
    let e = errors(&format!(
        "{BASE}detection:\n  sel:\n    A: 1\n  condition: sel and filter\n"
    ));
    assert!(e[0].contains("filter"), "{e:?}");
}

#[test]
fn sigma1_aggregation_is_reported_and_the_rule_kept() {
    let text =
        format!("{BASE}detection:\n  sel:\n    A: 1\n  condition: sel | count(B) by C > 5\n");
    let w = warnings(&text);
    assert!(w.iter().any(|w| w.contains("aggregation")), "{w:?}");
    let (rules, _) = read("s", "r.yml", "r.yml", &text);
    assert_eq!(rules.len(), 1);
    assert!(
        rules[0]
            .logic
            .stages
            .iter()
            .any(|s| s.label.starts_with("aggregation"))
    );
}

#[test]
fn unused_detection_is_a_warning() {
    let w = warnings(&format!(
        "{BASE}detection:\n  sel:\n    A: 1\n  other:\n    B: 2\n  condition: sel\n"
    ));
    assert!(w.iter().any(|w| w.contains("`other` is not used")), "{w:?}");
}

#[test]
fn clear_deviations_are_warnings_and_the_rule_is_kept() {
    let text = "title: t\nstatus: experimental|\ntags:\n  - ps_module\n  - attack.t1059.001\nlogsource:\n  product: windows\n  service:\n    - security\n    - system\ndate: 2020/10/05\ndetection:\n  sel:\n    A: 1\n  condition: sel\n";
    let (rules, diags) = read("s", "r.yml", "r.yml", text);
    assert_eq!(rules.len(), 1);
    assert!(
        diags.iter().all(|d| d.severity == Severity::Warning),
        "{diags:?}"
    );
    assert_eq!(diags.len(), 4, "{diags:?}");
    let r = &rules[0];
    assert_eq!(r.meta.status.as_deref(), Some("experimental"));
    assert_eq!(r.meta.date.as_deref(), Some("2020-10-05"));
    assert_eq!(r.attack, ["T1059.001"]);
    assert_eq!(
        r.meta.data_sources,
        [
            ("product".into(), "windows".into()),
            ("service".into(), "security".into()),
            ("service".into(), "system".into())
        ]
    );
}

#[test]
fn metadata_and_custom_attributes() {
    let text = "title: T\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nname: my_rule\nrelated:\n  - id: 08fbc97d-0a2f-491c-ae21-8ffcfd3174e9\n    type: derived\nstatus: test\ndescription: D\nlicense: DRL-1.1\nauthor: A, B\nreferences:\n  - https://x\ndate: 2024-01-02\nmodified: 2024-02-03\ntags:\n  - attack.execution\n  - attack.t1047\n  - cve.2021-44228\n  - detection.threat-hunting\nlogsource:\n  category: process_creation\n  product: windows\n  definition: 'Requirements: x'\nfalsepositives:\n  - none\nlevel: high\nfields:\n  - CommandLine\nscope:\n  - server\ncustom_x: keep me\ndetection:\n  sel:\n    A: 1\n  condition: sel\n";
    let (rules, diags) = read("s", "r.yml", "r.yml", text);
    assert!(diags.is_empty(), "{diags:?}");
    let m = &rules[0].meta;
    assert_eq!(m.name.as_deref(), Some("my_rule"));
    assert_eq!(
        m.related,
        [(
            "derived".to_string(),
            "08fbc97d-0a2f-491c-ae21-8ffcfd3174e9".to_string()
        )]
    );
    assert_eq!(m.authors, ["A", "B"]);
    assert_eq!(m.license.as_deref(), Some("DRL-1.1"));
    assert_eq!(m.fields, ["CommandLine"]);
    assert_eq!(
        m.custom.get("custom_x").map(String::as_str),
        Some("keep me")
    );
    assert_eq!(m.custom.get("scope").map(String::as_str), Some("- server"));
    assert!(
        m.data_sources
            .contains(&("definition".into(), "Requirements: x".into()))
    );
}

// Sigma filters specification, "Examples".
#[test]
fn filter_rule_from_the_specification() {
    let text = "title: Filter Administrator account\ndescription: The valid administrator account start with adm_\nlogsource:\n    category: process_creation\n    product: windows\nfilter:\n    rules:\n        - 6f3e2987-db24-4c78-a860-b4f4095a7095 # Data Compressed - rar.exe\n        - df0841c0-9846-4e9f-ad8a-7df91571771b # Login on jump host\n    selection:\n        User|startswith: 'adm_'\n    condition: selection\n";
    let (rules, diags) = read("s", "f.yml", "f.yml", text);
    assert!(diags.is_empty(), "{diags:?}");
    let r = &rules[0];
    assert_eq!(r.kind, RuleKind::Filter);
    assert_eq!(
        r.links,
        [
            "6f3e2987-db24-4c78-a860-b4f4095a7095",
            "df0841c0-9846-4e9f-ad8a-7df91571771b"
        ]
    );
    assert_eq!(r.logic.stages[1].label, "selection");
    assert!(errors("title: f\nlogsource:\n  product: windows\nfilter:\n  selection:\n    A: 1\n  condition: not selection\n")[0].contains("rules"));
}

// Sigma correlation rules specification: the event_count example with its base rule in one file.
#[test]
fn correlation_rules_of_every_type() {
    let base = "title: Failed logon\nname: failed_logon\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4625\n  condition: selection\n";
    for (kind, cond) in [
        ("event_count", "  condition:\n    gte: 10\n"),
        (
            "value_count",
            "  condition:\n    field: TargetUserName\n    gte: 10\n",
        ),
        ("temporal", ""),
        ("temporal_ordered", ""),
        (
            "value_sum",
            "  condition:\n    field: Bytes\n    gt: 1000\n",
        ),
        (
            "value_avg",
            "  condition:\n    field: Bytes\n    gt: 1000\n",
        ),
        (
            "value_percentile",
            "  condition:\n    field: Image\n    lte: 1\n",
        ),
    ] {
        let text = format!(
            "{base}---\ntitle: Many failed logons\nstatus: test\ncorrelation:\n  type: {kind}\n  rules:\n    - failed_logon\n  group-by:\n    - TargetUserName\n  timespan: 5m\n{cond}level: high\n"
        );
        let (rules, diags) = read("s", "c.yml", "c.yml", &text);
        assert!(diags.is_empty(), "{kind}: {diags:?}");
        assert_eq!(rules.len(), 2, "{kind}");
        assert_eq!(rules[1].kind, RuleKind::Correlation);
        assert_eq!(rules[1].key, "s/c.yml#2");
        assert_eq!(rules[1].links, ["failed_logon"]);
        assert_eq!(
            rules[1].logic.stages[0].label,
            format!("correlation {kind} by TargetUserName")
        );
    }
    let bad = "title: c\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n";
    assert!(errors(bad)[0].contains("condition"));
    let bad = "title: c\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition:\n    gte: 3\n";
    assert!(errors(bad)[0].contains("field"));
    let bad = "title: c\ncorrelation:\n  type: nope\n  rules: [a]\n  timespan: 5m\n";
    assert!(errors(bad)[0].contains("unknown correlation type"));
}

// Sigma 1 collections: `action: global` is merged into each following rule (pySigma semantics).
#[test]
fn action_global_collections() {
    let text = "action: global\ntitle: Shared\nlogsource:\n  product: windows\ndetection:\n  condition: selection\n---\nlogsource:\n  service: security\ndetection:\n  selection:\n    EventID: 1\n---\nlogsource:\n  service: system\ndetection:\n  selection:\n    EventID: 2\n";
    let (rules, diags) = read("s", "g.yml", "g.yml", text);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].meta.title, "Shared");
    assert_eq!(
        rules[1].meta.data_sources,
        [
            ("product".into(), "windows".into()),
            ("service".into(), "system".into())
        ]
    );
    assert_eq!(rules[0].key, "s/g.yml#2");
}

#[test]
fn yaml_errors_have_positions_and_never_panic() {
    let p = parse("title: x\ndetection: [unclosed\n").problems;
    assert_eq!(p[0].severity, Severity::Error);
    assert!(p[0].pos.line >= 2, "{p:?}");
    for text in [
        "",
        "---",
        "- a",
        "title: x",
        "detection: 5",
        "detection:\n  condition: 5",
        "detection:\n  s: {}\n  condition: s",
    ] {
        let _ = read("s", "x.yml", "x.yml", text);
    }
}

#[test]
fn an_escaped_wildcard_in_a_path_is_a_warning_and_a_literal() {
    let text = format!(
        "{BASE}detection:\n  sel:\n    CommandLine|contains: '\\AppData\\*.zip'\n  condition: sel\n"
    );
    let w = warnings(&text);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("literal `*`"), "{w:?}");
    let r = rule("  sel:\n    CommandLine|contains: '\\AppData\\*.zip'\n  condition: sel\n");
    let ind = ir::indicators(&r.logic);
    let p = ind[0].values[0].pattern.as_ref().unwrap();
    assert_eq!(p.shape(), ir::Shape::Contains("\\AppData*.zip"));
    // No path, or an escaped backslash before the wildcard: no warning.
    for v in ["'\\*avira\\*'", "'\\AppData\\\\*.zip'", "'C:\\x\\'"] {
        let text = format!("{BASE}detection:\n  sel:\n    CommandLine: {v}\n  condition: sel\n");
        assert!(warnings(&text).is_empty(), "{v}: {:?}", warnings(&text));
    }
}
