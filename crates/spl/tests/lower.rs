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
    let find = |f: &str, k: Kind| {
        ind.iter()
            .find(|r| r.field.as_deref() == Some(f) && r.kind == k)
            .map(|r| r.values.clone())
            .unwrap_or_else(|| panic!("{f} {k}: {ind:#?}"))
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
