//! Lowering security_content detections into the IR: seed 004 and the whole corpus.

use ir::{Kind, Row, Severity};
use spl::content::Content;
use spl::lower::lower;
use std::path::PathBuf;
use std::sync::OnceLock;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/splunk")
}

fn content() -> &'static Content {
    static C: OnceLock<Content> = OnceLock::new();
    C.get_or_init(|| Content::load(&corpus()))
}

fn lower_named(name: &str) -> ir::Rule {
    let c = content();
    let d = c
        .detections
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no detection named {name}"));
    let text = std::fs::read_to_string(c.root.join(&d.path)).unwrap();
    let l = lower(d, &c.macro_table, "splunk", &d.path, &d.path, &text);
    assert!(l.problems.is_empty(), "{:?}", l.problems);
    l.rule
}

fn row<'a>(rows: &'a [Row], field: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.field.as_deref() == Some(field) && r.kind == Kind::Eq)
        .unwrap_or_else(|| panic!("no eq row for {field}: {rows:#?}"))
}

#[test]
fn seed_004() {
    let r = lower_named("Remote Process Instantiation via WinRM and PowerShell");
    assert_eq!(r.format, ir::Format::Splunk);
    assert_eq!(r.language, "spl");
    assert_eq!(
        r.meta.id.as_deref(),
        Some("ba24cda8-4716-11ec-8009-3e22fbd008af")
    );
    assert!(r.attack.iter().any(|t| t == "T1021.006"), "{:?}", r.attack);
    let labels: Vec<&str> = r.logic.stages.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "tstats",
            "drop_dm_object_name(Processes)",
            "security_content_ctime(firstTime)",
            "security_content_ctime(lastTime)",
            "remote_process_instantiation_via_winrm_and_powershell_filter",
        ]
    );
    let tstats = &r.logic.stages[0];
    assert_eq!(
        tstats.group_by[..3],
        [
            "Processes.dest",
            "Processes.user",
            "Processes.parent_process_name"
        ]
    );
    let risk: Vec<(&str, &str)> = ["risk_score", "confidence", "impact"]
        .iter()
        .map(|k| (*k, r.meta.custom.get(*k).map_or("", String::as_str)))
        .collect();
    assert_eq!(
        risk,
        [("risk_score", "45"), ("confidence", "50"), ("impact", "90")]
    );
    assert!(
        tstats
            .text
            .starts_with("| tstats `security_content_summariesonly`")
    );
    assert!(tstats.text.contains("\n→ | tstats"), "{}", tstats.text);
    assert!(tstats.text.contains("Processes.process_name=pwsh.exe"));
    assert!(r.logic.stages[1..].iter().all(|s| s.expr.is_none()));
    assert!(
        r.meta
            .data_sources
            .contains(&("datamodel".into(), "Endpoint.Processes".into()))
    );

    let ind = ir::indicators(&r.logic);
    assert_eq!(
        row(&ind, "Processes.process").values,
        ["*-ComputerName*", "*Invoke-Command*"]
    );
    let mut names = row(&ind, "Processes.process_name").values.clone();
    names.sort();
    assert_eq!(
        names,
        [
            "powershell.exe",
            "powershell_ise.exe",
            "pwsh.exe",
            "sqlps.exe",
            "sqltoolsps.exe"
        ]
    );
    let mut originals = row(&ind, "Processes.original_file_name").values.clone();
    originals.sort();
    assert_eq!(
        originals,
        ["PowerShell.EXE", "powershell_ise.EXE", "pwsh.dll"]
    );
    assert!(ir::exclusions(&r.logic).is_empty());
}

#[test]
fn where_functions() {
    let table = spl::macros::MacroTable::new();
    let d = spl::content::Detection {
        path: "x.yml".into(),
        name: "x".into(),
        id: "1".into(),
        search: "`sysmon` EventCode=1 NOT user IN (a, \"b\") | where like(cmd, \"%-enc%\") \
                  AND match(cmd, \"^x\") AND isnull(parent) AND cidrmatch(\"10.0.0.0/8\", ip) \
                  AND count > 5 | stats count by host | `x_filter`"
            .into(),
        ..Default::default()
    };
    let r = lower(&d, &table, "s", "k", "x.yml", "").rule;
    let labels: Vec<&str> = r.logic.stages.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["search", "where", "stats", "x_filter"]);
    let ind = ir::indicators(&r.logic);
    // The values of every row of one field and kind (rows differ in case sensitivity).
    let find = |f: &str, k: Kind| {
        let mut v: Vec<String> = ind
            .iter()
            .filter(|r| r.field.as_deref() == Some(f) && r.kind == k)
            .flat_map(|r| r.values.iter().map(|v| v.written.clone()))
            .collect();
        assert!(!v.is_empty() || k == Kind::Null, "{f} {k}: {ind:#?}");
        v.sort();
        v
    };
    assert_eq!(find("EventCode", Kind::Eq), ["1"]);
    assert_eq!(find("cmd", Kind::Regex), ["^.*-enc.*$", "^x"]);
    assert_eq!(find("parent", Kind::Null), Vec::<String>::new());
    assert_eq!(find("ip", Kind::Cidr), ["10.0.0.0/8"]);
    assert_eq!(find("count", Kind::Gt), ["5"]);
    let ex = ir::exclusions(&r.logic);
    assert_eq!(ex.len(), 1, "{ex:#?}");
    assert_eq!(ex[0].all[0].field.as_deref(), Some("user"));
    assert_eq!(ex[0].all[0].values, ["a", "b"]);
    assert!(r.logic.stages[2].expr.is_none());
}

#[test]
fn whole_corpus_lowers() {
    let c = content();
    assert!(c.detections.len() >= 1_700, "{}", c.detections.len());
    let mut problems = Vec::new();
    let mut with_expr = 0;
    for d in &c.detections {
        let text = std::fs::read_to_string(c.root.join(&d.path)).unwrap();
        let l = lower(d, &c.macro_table, "splunk", &d.path, &d.path, &text);
        assert!(!l.rule.logic.stages.is_empty(), "{}", d.path);
        if l.rule.logic.stages.iter().any(|s| s.expr.is_some()) {
            with_expr += 1;
        }
        assert!(l.problems.iter().all(|p| p.severity != Severity::Error));
        problems.extend(l.problems);
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!(
        "{} detections, {with_expr} with predicates, {} problems",
        c.detections.len(),
        problems.len()
    );
    assert!(with_expr * 10 >= c.detections.len() * 9, "{with_expr}");
}

/// The predicates of every stage with their polarity (`true`: under an even number of `Not`),
/// following stage references.
fn reached(r: &ir::Rule) -> Vec<(ir::Predicate, bool)> {
    fn walk(l: &ir::Logic, e: &ir::Expr, pos: bool, out: &mut Vec<(ir::Predicate, bool)>) {
        match e {
            ir::Expr::And(v) | ir::Expr::Or(v) => v.iter().for_each(|e| walk(l, e, pos, out)),
            ir::Expr::Not(e) => walk(l, e, !pos, out),
            ir::Expr::Join { side, .. } => walk(l, side, pos, out),
            ir::Expr::Pred(p) => out.push((p.clone(), pos)),
            ir::Expr::Stage(i) => {
                if let Some(e) = &l.stages[*i].expr {
                    walk(l, e, pos, out)
                }
            }
        }
    }
    let mut out = Vec::new();
    for s in &r.logic.stages {
        if let Some(e) = &s.expr {
            walk(&r.logic, e, true, &mut out);
        }
    }
    out
}

fn find<'a>(got: &'a [(ir::Predicate, bool)], field: &str) -> &'a (ir::Predicate, bool) {
    got.iter()
        .find(|(p, _)| p.field.as_deref() == Some(field))
        .unwrap_or_else(|| panic!("no predicate on {field}: {got:#?}"))
}

#[test]
fn bare_values_are_unescaped_as_splunk_does() {
    // `TargetImage=*\\lsass.exe` in the YAML is the search value `*\lsass.exe`.
    let r = lower_named("Windows Possible Credential Dumping");
    let got = reached(&r);
    assert_eq!(find(&got, "TargetImage").0.values, [r"*\lsass.exe"]);
    let users = find(&got, "SourceUser");
    assert_eq!(
        users.0.values,
        [r"NT AUTHORITY\SYSTEM", r"NT AUTHORITY\NETWORK SERVICE"]
    );
    assert!(!users.1, "excluded");
}

#[test]
fn search_cidr_values_are_ranges() {
    let r = lower_named("Detect Large Outbound ICMP Packets");
    let got = reached(&r);
    let ranges: Vec<(&str, bool)> = got
        .iter()
        .filter(|(p, _)| p.field.as_deref() == Some("dest_ip"))
        .map(|(p, pos)| {
            assert_eq!(p.kind, Kind::Cidr, "{p:?}");
            (p.values[0].as_str(), *pos)
        })
        .collect();
    assert_eq!(
        ranges,
        [
            ("10.0.0.0/8", false),
            ("172.16.0.0/12", false),
            ("192.168.0.0/16", false)
        ]
    );
}

#[test]
fn join_subsearch_is_lowered() {
    let r = lower_named("Process Writing DynamicWrapperX");
    let join = r.logic.stages.iter().find(|s| s.label == "join").unwrap();
    let e = format!("{:?}", join.expr);
    assert!(
        e.contains("Filesystem.file_name") && e.contains("dynwrapx.dll"),
        "{e}"
    );
    let got = reached(&r);
    assert!(find(&got, "Filesystem.file_name").1);
}

#[test]
fn append_subsearch_is_an_alternative() {
    let r = lower_named("Detect Windows DNS SIGRed via Zeek");
    let i = r
        .logic
        .stages
        .iter()
        .position(|s| s.label == "append")
        .unwrap();
    match &r.logic.stages[i].expr {
        Some(ir::Expr::Or(alts)) => {
            assert_eq!(alts[0], ir::Expr::Stage(0), "the rows before");
            let sub = format!("{:?}", alts[1]);
            assert!(
                sub.contains("All_Traffic.bytes_in") && sub.contains("65000"),
                "{sub}"
            );
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn not_subsearch_without_predicates_is_noted() {
    let c = content();
    let d = c
        .detections
        .iter()
        .find(|d| d.name == "Detect Unauthorized Assets by MAC address")
        .unwrap();
    let text = std::fs::read_to_string(c.root.join(&d.path)).unwrap();
    let l = lower(d, &c.macro_table, "splunk", &d.path, &d.path, &text);
    let s = l
        .rule
        .logic
        .stages
        .iter()
        .find(|s| s.text.starts_with("| search NOT ["))
        .unwrap();
    assert_eq!(s.expr, None);
    assert!(
        s.notes.iter().any(|n| n.starts_with("not analysed: NOT [")),
        "{:?}",
        s.notes
    );
    assert!(
        l.problems
            .iter()
            .any(|p| p.severity == Severity::Warning && p.message.contains("not analysed: NOT [")),
        "{:?}",
        l.problems
    );
}

#[test]
fn not_subsearch_is_an_exclusion_and_lower_is_case_insensitive() {
    let table = spl::macros::MacroTable::new();
    let d = spl::content::Detection {
        path: "x.yml".into(),
        name: "x".into(),
        id: "1".into(),
        search: "index=main NOT [search index=allow src=1.2.3.4 | fields user] \
                 | where lower(user)=\"admin\" AND lower(a)=lower(b) AND upper(c) IN (\"X\", \"Y\") \
                 | where NOT (d=1 AND len(e) > 3) AND lower(f)=\"Mixed\" AND g=2"
            .into(),
        ..Default::default()
    };
    let l = lower(&d, &table, "s", "k", "x.yml", "");
    let got = reached(&l.rule);
    let src = find(&got, "src");
    assert!(!src.1, "the subsearch's rows are excluded: {src:?}");
    let user = find(&got, "user");
    assert_eq!(
        (user.0.kind, user.0.case_sensitive, user.1),
        (Kind::Eq, false, true)
    );
    assert_eq!(user.0.values, ["admin"]);
    assert_eq!(find(&got, "a").0.kind, Kind::Fieldref);
    assert_eq!(find(&got, "c").0.values, ["X", "Y"]);
    // `NOT (d=1 AND ?)` does not exclude every d=1; `lower(f)="Mixed"` never holds.
    assert!(
        !got.iter().any(|(p, _)| p.field.as_deref() == Some("d")),
        "{got:#?}"
    );
    assert!(!got.iter().any(|(p, _)| p.field.as_deref() == Some("f")));
    assert!(find(&got, "g").1);
    let notes = &l.rule.logic.stages[2].notes;
    assert_eq!(
        notes,
        &[
            "not analysed: NOT (d=1 AND len(e) > 3)",
            "not analysed: lower(f)=\"Mixed\""
        ]
    );
    // The detection names no macro: no warning about missing definitions; the notes are
    // warnings.
    assert_eq!(l.problems.len(), 2, "{:?}", l.problems);
}

#[test]
fn a_detection_without_macro_definitions_says_so() {
    let table = spl::macros::MacroTable::new();
    let d = spl::content::Detection {
        path: "x.yml".into(),
        name: "x".into(),
        id: "1".into(),
        search: "`sysmon` EventCode=1 | `x_filter`".into(),
        ..Default::default()
    };
    let l = lower(&d, &table, "s", "k", "x.yml", "");
    assert_eq!(l.problems.len(), 1, "{:?}", l.problems);
    assert!(l.problems[0].message.contains("no macro definitions"));
}
