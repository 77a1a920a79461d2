//! Lowering KQL into the IR: seed 002 (FalconFriday 0xFF-0582), operators, predicates,
//! negations, joins (the de-duplication join), tables.

use ir::{Expr, Kind, Row};
use kql::content::{read_kql_file, read_markdown};
use kql::lower::{HAS_NOTE, document_rules, lower_query};
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "test data missing at {}",
            p.display()
        );
        None
    }
}

fn lower(src: &str) -> ir::Logic {
    let q = kql::parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    lower_query(&q, src).logic
}

fn row(field: &str, kind: Kind, values: &[&str]) -> Row {
    Row {
        field: Some(field.into()),
        kind,
        values: values
            .iter()
            .map(|s| ir::Value::new(kind, *s, ir::Syntax::Literal))
            .collect(),
        case_sensitive: false,
        transforms: vec![],
        negated: false,
    }
}

/// A row as these tests compare it: field, kind, values and whether it is negated.
fn plain(r: &Row) -> Row {
    Row {
        case_sensitive: false,
        transforms: vec![],
        ..r.clone()
    }
}

/// The rows of each exclusion, and the join keys of an anti-join.
fn excluded(l: &ir::Logic) -> Vec<(Vec<String>, Vec<Row>)> {
    ir::exclusions(l)
        .iter()
        .map(|x| (x.join_on.clone(), x.all.iter().map(plain).collect()))
        .collect()
}

fn indicated(l: &ir::Logic) -> Vec<Row> {
    ir::indicators(l).iter().map(plain).collect()
}

fn each(rows: &[Row]) -> Vec<(Vec<String>, Vec<Row>)> {
    rows.iter().map(|r| (vec![], vec![r.clone()])).collect()
}

#[test]
fn seed_002_winrm_plugin() {
    let Some(shared) = shared() else { return };
    let seed = std::fs::read_dir(shared.join("seeds"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("002_"))
        .expect("seed 002");
    let text = std::fs::read_to_string(&seed).unwrap();
    let doc = read_markdown("seed002.md", &text);
    let l = document_rules(&doc, "falconfriday", "seed002.md", "seed002.md", &text);
    assert!(l.problems.is_empty(), "{:?}", l.problems);
    assert_eq!(l.rules.len(), 1);
    let r = &l.rules[0];
    assert_eq!(
        r.meta.id.as_deref(),
        Some("0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows")
    );
    assert_eq!(r.meta.title, "WinRM Plugin Lateral Movement");
    assert_eq!(r.attack, ["T1021.006"]);
    assert_eq!(r.meta.date.as_deref(), Some("2025-01-17"));
    let labels: Vec<&str> = r.logic.stages.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "let timeframe",
            "let default_global_prevalence",
            "let lookback",
            "let PotentialPlugins",
            "let PotentialWrites",
            "PotentialPlugins",
            "join"
        ]
    );
    let plugins = &r.logic.stages[3];
    assert!(
        plugins
            .text
            .starts_with("let PotentialPlugins = materialize(")
    );
    assert!(plugins.text.contains("| invoke FileProfile(SHA1, 1000)"));
    assert!(
        r.logic.stages[6]
            .text
            .starts_with("| join kind=inner PotentialWrites on SHA1")
    );
    let tables: Vec<&str> = r
        .meta
        .data_sources
        .iter()
        .filter(|(k, _)| k == "table")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(tables, ["DeviceImageLoadEvents", "DeviceFileEvents"]);
    assert_eq!(
        excluded(&r.logic),
        each(&[
            row(
                "FolderPath",
                Kind::StartsWith,
                &[r"C:\windows\assembly\nativeimages_"]
            ),
            row("ProfileAvailability", Kind::Eq, &["Error"]),
        ])
    );
    let ind = indicated(&r.logic);
    assert!(ind.contains(&row(
        "InitiatingProcessFileName",
        Kind::Eq,
        &["wsmprovhost.exe"]
    )));
    assert!(ind.contains(&row(
        "ActionType",
        Kind::Eq,
        &["FileCreated", "FileModified", "FileRenamed"]
    )));
    // The join's root reaches both lets.
    assert_eq!(
        r.logic.stages[6].expr,
        Some(Expr::And(vec![Expr::Stage(5), Expr::Stage(4)]))
    );
}

#[test]
fn string_operators_and_negations() {
    let l = lower(
        "T | where A == \"x\" and B =~ \"y\" and C != \"z\" and D !~ \"w\"\n\
         | where E has \"h\" and F !contains_cs \"c\" and G startswith \"s\" and H !endswith \"e\"\n\
         | where I matches regex @\"a\\d\" and J in (\"1\", \"2\") and K !in~ (\"3\") and L has_any (\"p\", \"q\")\n\
         | where isnotempty(M) and not(isnull(N)) and O > 5 and 10 >= P and Q == R",
    );
    assert_eq!(
        excluded(&l),
        each(&[
            row("C", Kind::Eq, &["z"]),
            row("D", Kind::Eq, &["w"]),
            row("F", Kind::Contains, &["c"]),
            row("H", Kind::EndsWith, &["e"]),
            row("K", Kind::Eq, &["3"]),
            row("N", Kind::Null, &[]),
        ])
    );
    let ind = indicated(&l);
    for r in [
        row("A", Kind::Eq, &["x"]),
        row("B", Kind::Eq, &["y"]),
        row("E", Kind::Contains, &["h"]),
        row("G", Kind::StartsWith, &["s"]),
        row("I", Kind::Regex, &[r"a\d"]),
        row("J", Kind::Eq, &["1", "2"]),
        row("L", Kind::Contains, &["p", "q"]),
        row("M", Kind::Exists, &[]),
        row("O", Kind::Gt, &["5"]),
        row("P", Kind::Lte, &["10"]),
        row("Q", Kind::Fieldref, &["R"]),
    ] {
        assert!(ind.contains(&r), "{r:?} not in {ind:?}");
    }
    // `==` is case-sensitive, `=~` not; `has` carries its note.
    let preds: Vec<&ir::Predicate> = l
        .stages
        .iter()
        .filter_map(|s| s.expr.as_ref())
        .flat_map(collect)
        .collect();
    let find = |f: &str| {
        preds
            .iter()
            .find(|p| p.field.as_deref() == Some(f))
            .unwrap()
    };
    assert!(find("A").case_sensitive);
    assert!(!find("B").case_sensitive);
    assert!(find("F").case_sensitive);
    assert_eq!(find("E").transforms, [HAS_NOTE]);
    assert!(find("J").case_sensitive, "`in` is case-sensitive");
}

fn collect(e: &Expr) -> Vec<&ir::Predicate> {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().flat_map(collect).collect(),
        Expr::Not(e) => collect(e),
        Expr::Pred(p) => vec![p],
        Expr::Join { side, .. } => collect(side),
        Expr::Stage(_) => vec![],
    }
}

#[test]
fn stages_labels_texts_and_flow() {
    let l = lower(
        "let procs = dynamic([\"a.exe\", \"b.exe\"]);\n\
         DeviceProcessEvents\n\
         | filter FileName in~ (procs)\n\
         | invoke FileProfile(SHA1, 1000)\n\
         | summarize count() by DeviceId, FileName\n\
         | where count_ < 50",
    );
    let labels: Vec<&str> = l.stages.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "let procs",
            "table DeviceProcessEvents",
            "filter",
            "invoke FileProfile",
            "summarize",
            "where"
        ]
    );
    assert_eq!(l.stages[2].text, "| filter FileName in~ (procs)");
    assert_eq!(l.stages[4].group_by, ["DeviceId", "FileName"]);
    // Each stage refers to the one before; the last is the only root.
    assert_eq!(l.stages[3].expr, Some(Expr::Stage(2)));
    assert_eq!(
        indicated(&l),
        [
            row("FileName", Kind::Eq, &["a.exe", "b.exe"]),
            row("count_", Kind::Lt, &["50"]),
        ]
    );
}

#[test]
fn joins_dedup_union_and_tables() {
    let src = "let Known = DeviceNetworkEvents | where RemotePort == 443;\n\
        DeviceProcessEvents\n\
        | where FileName =~ \"x.exe\"\n\
        | join kind=leftanti Known on DeviceId\n\
        | join kind=leftouter (DeviceFileEvents | where FolderPath contains \"tmp\") on DeviceId\n\
        | union (DeviceEvents | where ActionType == \"A\")\n\
        | join kind=leftanti (\n    SecurityAlert\n    | where ProviderName has \"ASI\"\n) on DedupEntity";
    let q = kql::parse(src).unwrap();
    let low = lower_query(&q, src);
    assert_eq!(
        low.tables,
        [
            "DeviceNetworkEvents",
            "DeviceProcessEvents",
            "DeviceFileEvents",
            "DeviceEvents",
            "SecurityAlert"
        ]
    );
    let labels: Vec<&str> = low.logic.stages.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "let Known",
            "table DeviceProcessEvents",
            "where",
            "join",
            "join",
            "union",
            "join (de-duplication)"
        ]
    );
    // A leftanti join suppresses the rows of its right side; the de-duplication join and the
    // outer join do not decide what matches.
    assert_eq!(
        excluded(&low.logic),
        [],
        "the leftanti join is inside the union's Or, not a top-level conjunct"
    );
    let ind = indicated(&low.logic);
    assert_eq!(
        ind,
        [
            row("FileName", Kind::Eq, &["x.exe"]),
            row("ActionType", Kind::Eq, &["A"]),
        ]
    );
    let l = lower("T | where A == 1 | join kind=leftanti (U | where B == 2) on K");
    // An anti-join excludes rows whose keys the right side holds.
    assert_eq!(
        excluded(&l),
        [(vec!["K".to_string()], vec![row("B", Kind::Eq, &["2"])])]
    );
}

#[test]
fn parse_errors_are_positioned_in_the_file() {
    let md =
        "# Two queries\n\nFirst:\n```kql\nT\n| where A ==\n```\nSecond:\n```kql\nU | take 1\n```\n";
    let doc = read_markdown("two.md", md);
    let l = document_rules(&doc, "s", "two.md", "dir/two.md", md);
    assert_eq!(l.rules.len(), 1, "the second query still reads");
    assert_eq!(l.rules[0].key, "s/two.md#2");
    assert_eq!(l.rules[0].meta.title, "Two queries: Second");
    assert_eq!(l.problems.len(), 1);
    let d = &l.problems[0];
    assert_eq!(d.severity, ir::Severity::Error);
    assert_eq!((d.path.as_str(), d.line), ("dir/two.md", 7), "{d}");
    assert!(d.message.contains("expected"), "{d}");
}

#[test]
fn kql_file_rule() {
    let text = "// Rare parent of cmd.exe\n// T1059.003\nDeviceProcessEvents\n| where FileName =~ \"cmd.exe\"\n";
    let doc = read_kql_file("q/Rare_Parent.kql", text);
    let l = document_rules(
        &doc,
        "hunting",
        "q/Rare_Parent.kql",
        "q/Rare_Parent.kql",
        text,
    );
    assert!(l.problems.is_empty());
    let r = &l.rules[0];
    assert_eq!(r.key, "hunting/q/Rare_Parent.kql");
    assert_eq!(r.meta.title, "Rare Parent");
    assert_eq!(r.meta.description, "Rare parent of cmd.exe\nT1059.003");
    assert_eq!(r.attack, ["T1059.003"]);
    assert_eq!(r.format, ir::Format::Kql);
    assert_eq!(r.language, "kql");
    assert_eq!(
        r.meta.data_sources,
        [("table".to_string(), "DeviceProcessEvents".to_string())]
    );
}

#[test]
fn in_subquery_is_a_semi_join() {
    let l = lower(
        "let K = U | where B == 1;\nT | where A in ((K | project A)) and C !in ((V | where D == 2 | project C)) and E in (F)",
    );
    assert_eq!(
        excluded(&l),
        [(vec!["C".to_string()], vec![row("D", Kind::Eq, &["2"])])]
    );
    assert_eq!(indicated(&l), [row("B", Kind::Eq, &["1"])]);
    let q = kql::parse("T | where E in (F, G)").unwrap();
    assert_eq!(
        lower_query(&q, "T | where E in (F, G)").tables,
        ["T"],
        "a bare name in a list is not a table"
    );
}

#[test]
fn cidr_functions() {
    let l = lower(
        "T | where not(ipv4_is_in_range(RemoteIP, \"10.0.0.0/8\") or ipv6_is_in_range(RemoteIP, \"fe80::/10\"))",
    );
    assert_eq!(
        excluded(&l),
        each(&[
            row("RemoteIP", Kind::Cidr, &["10.0.0.0/8"]),
            row("RemoteIP", Kind::Cidr, &["fe80::/10"])
        ])
    );
}

/// The rule of FalconFriday file `name` (the one starting so) in the shared corpus.
fn falconfriday(prefix: &str) -> Option<(ir::Rule, Vec<ir::Diagnostic>)> {
    let dir = shared()?.join("corpora/falconfriday");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} in {}", dir.display()));
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = read_markdown("r.md", &text);
    let mut l = document_rules(&doc, "falconfriday", "r.md", "r.md", &text);
    assert_eq!(l.rules.len(), 1);
    Some((l.rules.remove(0), l.problems))
}

/// The predicates the last stage (the query's result) depends on, following stage references,
/// each with its polarity (`true`: under an even number of negations).
fn reached(logic: &ir::Logic) -> Vec<(ir::Predicate, bool)> {
    fn walk(
        l: &ir::Logic,
        e: &Expr,
        pos: bool,
        depth: usize,
        out: &mut Vec<(ir::Predicate, bool)>,
    ) {
        assert!(depth < 64, "reference cycle");
        match e {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| walk(l, e, pos, depth + 1, out)),
            Expr::Not(e) => walk(l, e, !pos, depth + 1, out),
            Expr::Pred(p) => out.push((p.clone(), pos)),
            Expr::Join { side, .. } => walk(l, side, pos, depth + 1, out),
            Expr::Stage(i) => {
                if let Some(e) = &l.stages[*i].expr {
                    walk(l, e, pos, depth + 1, out)
                }
            }
        }
    }
    let mut out = Vec::new();
    let root = logic
        .stages
        .last()
        .and_then(|s| s.expr.as_ref())
        .expect("root");
    walk(logic, root, true, 0, &mut out);
    out
}

fn has(reached: &[(ir::Predicate, bool)], field: &str, kind: Kind, value: &str, pos: bool) -> bool {
    reached.iter().any(|(p, s)| {
        p.field.as_deref() == Some(field)
            && p.kind == kind
            && (value.is_empty() || p.values.iter().any(|v| v == value))
            && *s == pos
    })
}

#[test]
fn let_functions_are_lowered_where_called_0027() {
    let Some((r, problems)) = falconfriday("0xFF-0027-") else {
        return;
    };
    let got = reached(&r.logic);
    // `BrowserTraffic(p)`'s body, called in three lets and the final join.
    assert!(
        has(&got, "DeviceVendor", Kind::Eq, "Zscaler", true),
        "{got:#?}"
    );
    assert!(has(&got, "DeviceProduct", Kind::Eq, "NSSWeblog", true));
    assert!(has(
        &got,
        "RequestClientApplication",
        Kind::StartsWith,
        "Mozilla/",
        true
    ));
    assert!(has(
        &got,
        "RequestClientApplication",
        Kind::Contains,
        "Gecko",
        true
    ));
    // The final query's join carries the body itself, not only through the lets.
    let join = r
        .logic
        .stages
        .iter()
        .rposition(|s| s.label == "join")
        .unwrap();
    let e = format!("{:?}", r.logic.stages[join].expr);
    assert!(e.contains("Zscaler"), "{e}");
    // What cannot be read is a note of its stage and a warning at its place.
    let last_where = r
        .logic
        .stages
        .iter()
        .find(|s| s.label == "let PotentialAlerts")
        .unwrap();
    assert!(
        last_where.notes.contains(
            &"not analysed: array_length(RareHosts) == array_length(BrowserHosts)".to_string()
        ),
        "{:?}",
        last_where.notes
    );
    assert!(problems.iter().any(|d| {
        d.severity == ir::Severity::Warning
            && d.line == 112
            && d.message
                .contains("array_length(RareHosts) == array_length(BrowserHosts)")
    }));
}

#[test]
fn let_functions_with_parameters_0060() {
    let Some((r, _)) = falconfriday("0xFF-0060-") else {
        return;
    };
    let got = reached(&r.logic);
    // `QueryUserAgents(start, end)`: its `where ResultType == 0` reaches the rule.
    assert!(has(&got, "ResultType", Kind::Eq, "0", true), "{got:#?}");
    assert!(has(&got, "UserAgent", Kind::Null, "", false));
    assert!(has(&got, "AppId", Kind::Null, "", false));
    // The time bounds of the body are noted, not warned about.
    let first = r
        .logic
        .stages
        .iter()
        .find(|s| s.label == "QueryUserAgents")
        .unwrap();
    assert!(
        first
            .notes
            .iter()
            .any(|n| n == "time window: ingestion_time() >= ago(start_time)"),
        "{:?}",
        first.notes
    );
}

#[test]
fn function_parameters_take_their_arguments() {
    let l = lower(
        "let F = (T:(*), name:string, col:string, n:long = 5) { T | where FileName =~ name and col > n };\n\
         let G = (x:string) { x startswith \"C:\\\\\" };\n\
         F(DeviceProcessEvents | where A == 1, \"a.exe\", Size) | where G(FolderPath)",
    );
    let got = reached(&l);
    assert!(has(&got, "A", Kind::Eq, "1", true), "{got:#?}");
    assert!(has(&got, "FileName", Kind::Eq, "a.exe", true));
    assert!(has(&got, "Size", Kind::Gt, "5", true), "a default argument");
    assert!(
        has(&got, "FolderPath", Kind::StartsWith, "C:\\", true),
        "a scalar function"
    );
    assert!(!got.iter().any(|(p, _)| p.field.as_deref() == Some("name")));
}

#[test]
fn bool_columns_reversed_comparisons_coalesce_and_cidr() {
    let l = lower(
        "let limit = 15;\n\
         let a = dynamic([\"x.exe\"]); let b = dynamic([\"y.exe\"]); let both = array_concat(a, b);\n\
         T | where IsCertificateValid and not(IsRootSignerMicrosoft)\n\
         | where -limit < TimeDiff and TimeDiff < limit\n\
         | where FileName in~ (both)\n\
         | where IsSigned == 1 or coalesce(GlobalPrevalence, 0) < 200\n\
         | where not(ipv4_is_private(RemoteIP)) and ipv4_is_private(LocalIP) == true",
    );
    let got = reached(&l);
    assert!(
        has(&got, "IsCertificateValid", Kind::Eq, "true", true),
        "{got:#?}"
    );
    assert!(has(&got, "IsRootSignerMicrosoft", Kind::Eq, "true", false));
    assert!(has(&got, "TimeDiff", Kind::Gt, "-15", true));
    assert!(has(&got, "TimeDiff", Kind::Lt, "15", true));
    let files = got
        .iter()
        .find(|(p, _)| p.field.as_deref() == Some("FileName"))
        .unwrap();
    assert_eq!(files.0.values, ["x.exe", "y.exe"]);
    // The `or` keeps both operands; coalesce with a default that passes: the column, or empty.
    assert!(has(&got, "IsSigned", Kind::Eq, "1", true));
    assert!(has(&got, "GlobalPrevalence", Kind::Lt, "200", true));
    assert!(has(&got, "GlobalPrevalence", Kind::Null, "", true));
    let cidr = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    for (f, pos) in [("RemoteIP", false), ("LocalIP", true)] {
        assert!(
            got.iter().any(|(p, s)| p.field.as_deref() == Some(f)
                && p.kind == Kind::Cidr
                && p.values == cidr
                && *s == pos),
            "{f}: {got:#?}"
        );
    }
    assert!(
        l.stages.iter().all(|s| s.notes.is_empty()),
        "everything read"
    );
}

#[test]
fn what_cannot_be_read_is_noted_and_never_guessed() {
    let src = "T\n| where A == 1 and array_length(B) > 2\n| where not(C == 2 and strlen(D) > 3)\n| where E == 5 or F has G\n| where Timestamp > ago(1d)";
    let q = kql::parse(src).unwrap();
    let low = lower_query(&q, src);
    let got = reached(&low.logic);
    assert!(has(&got, "A", Kind::Eq, "1", true));
    // A negated conjunction with an unreadable part is lost whole: `not(C == 2 and ?)`
    // does not exclude every C == 2.
    assert!(
        !got.iter().any(|(p, _)| p.field.as_deref() == Some("C")),
        "{got:#?}"
    );
    // An `or` keeps what it can read.
    assert!(has(&got, "E", Kind::Eq, "5", true));
    let notes: Vec<&str> = low
        .logic
        .stages
        .iter()
        .flat_map(|s| s.notes.iter().map(String::as_str))
        .collect();
    assert_eq!(
        notes,
        [
            "not analysed: array_length(B) > 2",
            "not analysed: not(C == 2 and strlen(D) > 3)",
            "not analysed: F has G (one branch of an `or`: the rule may match more)",
            "time window: Timestamp > ago(1d)",
        ]
    );
    // Each (but the time window) has its place for a warning.
    let at: Vec<usize> = low.unanalysed.iter().map(|u| u.offset).collect();
    assert_eq!(
        at,
        [
            src.find("array_length").unwrap(),
            src.find("not(C").unwrap(),
            src.find("F has").unwrap()
        ]
    );
}

#[test]
fn case_folding_conversions_and_empty_lists() {
    let src = "let Trusted = dynamic([]);\n\
        T | where tolower(A) in (\"x.exe\", \"y.exe\") and tostring(B) contains \".msc\"\n\
        | where not(C in (Trusted)) and toupper(D) == \"Mixed\"";
    let q = kql::parse(src).unwrap();
    let low = lower_query(&q, src);
    let got = reached(&low.logic);
    let a = got
        .iter()
        .find(|(p, _)| p.field.as_deref() == Some("A"))
        .unwrap();
    assert_eq!((a.0.kind, a.0.case_sensitive), (Kind::Eq, false));
    assert!(has(&got, "B", Kind::Contains, ".msc", true));
    assert!(
        !got.iter()
            .any(|(p, _)| matches!(p.field.as_deref(), Some("C" | "D")))
    );
    let notes: Vec<&str> = low
        .logic
        .stages
        .iter()
        .flat_map(|s| s.notes.iter().map(String::as_str))
        .collect();
    assert_eq!(
        notes,
        [
            "always true: not(C in (Trusted))",
            "not analysed: toupper(D) == \"Mixed\""
        ]
    );
    assert_eq!(
        low.unanalysed.len(),
        1,
        "an always-true clause is no warning"
    );
}
