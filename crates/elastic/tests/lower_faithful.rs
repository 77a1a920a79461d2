//! What the lowering keeps of a rule's meaning, pinned on real rules: kuery text fields are
//! phrases, a quoted `*` is a character, filter wildcards resolve their escapes, negated
//! conjunctions keep their structure.

use crate::common;
use common::corpus;
use elastic::lower::{self, LITERAL_STAR_NOTE, PHRASE_NOTE, lower_query};
use elastic::rule;
use ir::{Expr, Kind, Predicate};

/// The rule of the corpus file `name` (under `rules/`).
fn read(name: &str) -> Option<ir::Rule> {
    let root = corpus()?;
    let mut files = Vec::new();
    common::toml_files(&root.join("rules"), &mut files);
    let path = files
        .iter()
        .find(|p| p.file_name().is_some_and(|f| f == name))
        .unwrap_or_else(|| panic!("{name}"));
    let text = std::fs::read_to_string(path).unwrap();
    let doc = rule::read(name, &text).unwrap_or_else(|e| panic!("{e}"));
    let mut l = lower::document_rules(&doc, "elastic", name, name);
    assert!(
        l.problems.iter().all(|p| p.severity != ir::Severity::Error),
        "{:?}",
        l.problems
    );
    Some(l.rules.remove(0))
}

fn preds(e: &Expr, out: &mut Vec<Predicate>) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| preds(e, out)),
        Expr::Not(e) | Expr::Join { side: e, .. } => preds(e, out),
        Expr::Pred(p) => out.push(p.clone()),
        Expr::Stage(_) => {}
    }
}

fn all_preds(r: &ir::Rule) -> Vec<Predicate> {
    let mut out = Vec::new();
    for s in &r.logic.stages {
        if let Some(e) = &s.expr {
            preds(e, &mut out);
        }
    }
    out
}

#[test]
fn kuery_text_fields_are_phrases_not_exact_values() {
    let Some(r) = read("execution_posh_psreflect.toml") else {
        return;
    };
    let got = all_preds(&r);
    let script: Vec<&Predicate> = got
        .iter()
        .filter(|p| p.field.as_deref() == Some("powershell.file.script_block_text"))
        .collect();
    assert_eq!(script.len(), 1, "one phrase row: {script:#?}");
    let p = script[0];
    assert_eq!(p.kind, Kind::Contains);
    assert!(!p.case_sensitive);
    assert_eq!(p.transforms, [PHRASE_NOTE]);
    assert!(p.values.iter().any(|v| v == "New-InMemoryModule"));
    assert!(
        p.values.iter().any(|v| v == "DefineDynamicAssembly"),
        "bare words too"
    );
    // A keyword field stays an exact, case-sensitive value.
    let user = got
        .iter()
        .find(|p| p.field.as_deref() == Some("user.id"))
        .unwrap();
    assert_eq!((user.kind, user.case_sensitive), (Kind::Eq, true));
    // The filter's wildcard value has its query escapes resolved.
    let path = got
        .iter()
        .find(|p| p.field.as_deref() == Some("file.path"))
        .unwrap();
    assert_eq!(
        path.values,
        [r"?:\ProgramData\MaaS360\Cloud Extender\AR\Scripts\ASModuleCommon.ps1"]
    );
    // Lucene's `?` is a wildcard, its `\\` one backslash.
    let pattern = path.values[0].pattern.as_ref().unwrap();
    assert!(pattern.matches(
        r"C:\ProgramData\MaaS360\Cloud Extender\AR\Scripts\ASModuleCommon.ps1",
        false
    ));
    assert!(!path.case_sensitive);
}

#[test]
fn quoted_asterisk_is_a_character() {
    let Some(r) =
        read("privilege_escalation_gcp_gke_rbac_wildcard_elevation_on_existing_role.toml")
    else {
        return;
    };
    let got = all_preds(&r);
    let verbs = got
        .iter()
        .find(|p| p.field.as_deref() == Some("gcp.audit.response.rules.verbs"))
        .unwrap();
    assert_eq!((verbs.kind, &verbs.values[0].written[..]), (Kind::Eq, "*"));
    // Its pattern is the character, not "any value".
    let pattern = verbs.values[0].pattern.as_ref().unwrap();
    assert_eq!(pattern.shape(), ir::Shape::Exact("*"));
    assert_eq!(verbs.transforms, [LITERAL_STAR_NOTE]);
    // Unquoted, `*` alone is "the field exists"; `*x*` a wildcard pattern without the note.
    let l = lower_query("kuery", "a:* and b:*x* and c:\"*x*\" and message:*err*")
        .unwrap()
        .unwrap();
    let mut got = Vec::new();
    preds(l.stages[0].expr.as_ref().unwrap(), &mut got);
    let kinds: Vec<(&str, Kind, Vec<String>)> = got
        .iter()
        .map(|p| (p.field.as_deref().unwrap(), p.kind, p.transforms.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("a", Kind::Exists, vec![]),
            ("b", Kind::Eq, vec![]),
            ("c", Kind::Eq, vec![LITERAL_STAR_NOTE.to_string()]),
            (
                "message",
                Kind::Eq,
                vec![lower::TEXT_WILDCARD_NOTE.to_string()]
            ),
        ]
    );
}

/// `not (A and not B)` stays one negated conjunction.
#[test]
fn negated_conjunctions_keep_their_structure() {
    let Some(r) = read("defense_evasion_create_mod_root_certificate.toml") else {
        return;
    };
    let Some(Expr::And(top)) = &r.logic.stages[0].expr else {
        panic!("{:?}", r.logic.stages[0].expr)
    };
    let nested = top
        .iter()
        .find_map(|e| match e {
            Expr::Not(inner) => match inner.as_ref() {
                Expr::And(v) => Some(v),
                _ => None,
            },
            _ => None,
        })
        .expect("not (A and not B)");
    assert_eq!(nested.len(), 2);
    assert!(matches!(&nested[1], Expr::Not(_)), "{nested:?}");
    let Some(r) = read("command_and_control_accepted_default_telnet_port_connection.toml") else {
        return;
    };
    let text = format!("{:?}", r.logic.stages[0].expr);
    assert!(
        text.contains("Not(And([Pred(Predicate { field: Some(\"event.action\")"),
        "{text}"
    );
    // EQL `until` and a missing event: the `Not` of the whole condition; a negated `and` with
    // a part that gives no predicate is not read as its other part's negation.
    let l = lower_query(
        "eql",
        "sequence [process where a == 1] ![file where b == 2 and c == 3] until [process where d == 4 and e == 5]",
    )
    .unwrap()
    .unwrap();
    let until = l.stages.iter().find(|s| s.label == "until").unwrap();
    assert!(
        matches!(&until.expr, Some(Expr::Not(x)) if matches!(x.as_ref(), Expr::And(v) if v.len() == 2))
    );
    let l = lower_query(
        "eql",
        "process where a == 1 and not (b == 2 and length(c) > 3) and not (d == 4 or length(e) > 5)",
    )
    .unwrap()
    .unwrap();
    let mut got = Vec::new();
    preds(l.stages[0].expr.as_ref().unwrap(), &mut got);
    let fields: Vec<&str> = got.iter().map(|p| p.field.as_deref().unwrap()).collect();
    assert_eq!(
        fields,
        ["a", "d"],
        "`not (b and ?)` gives nothing; `not (d or ?)` excludes d"
    );
}
