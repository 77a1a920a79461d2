//! Conversions of real rules: the seed pages, user pipelines, the whole SigmaHQ corpus.

use std::path::{Path, PathBuf};

use convert::{Converter, Target, pipeline};

fn corpus() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma/rules");
    assert!(
        p.is_dir(),
        "test corpora missing at {} (CI has ../shared beside the checkout)",
        p.display()
    );
    p
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

fn convert_text(c: &Converter, text: &str) -> Result<Vec<String>, String> {
    let r = sigma::parse(text);
    assert_eq!(r.documents.len(), 1, "{:?}", r.problems);
    c.convert(&r.documents[0].doc)
}

fn convert_file(target: Target, name: &str) -> String {
    let path = find(&corpus(), name).unwrap_or_else(|| panic!("{name} not in the corpus"));
    let c = Converter::new(target, vec![]).unwrap();
    let q = convert_text(&c, &std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(q.len(), 1);
    q[0].clone()
}

#[test]
fn seed_000_wsman_provider_image_load_xdr() {
    let q = convert_file(Target::KqlXdr, "image_load_wsman_provider_image_load.yml");
    // The seed page shows an older version of the rule; the current one adds `filter_gethelp`.
    // Without that one filter, the query is the page's, character for character.
    let added = r#"(InitiatingProcessFolderPath startswith "C:\\Program Files\\WindowsApps\\Microsoft.GetHelp_" and InitiatingProcessFolderPath endswith "\\GetHelp.exe") or "#;
    assert!(q.contains(added), "{q}");
    // The one documented change (docs/kql-differences.md, "`null` on string columns"): the seed
    // writes `isnull(InitiatingProcessCommandLine)`, which is never true on a string column.
    let seed = include_str!("seed000.kql").trim_end();
    assert_eq!(seed.matches("isnull(").count(), 1);
    assert_eq!(
        q.replacen(added, "", 1),
        seed.replace(
            "isnull(InitiatingProcessCommandLine)",
            "isempty(InitiatingProcessCommandLine)"
        )
    );
}

#[test]
fn seed_003_wmiprvse_spawning_process_asim() {
    let q = convert_file(
        Target::KqlAsim,
        "proc_creation_win_wmiprvse_spawning_process.yml",
    );
    assert_eq!(q, include_str!("seed003.kql").trim_end());
}

const RULE: &str = r#"
title: t
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\cmd.exe'
        CommandLine|contains: 'whoami'
    condition: selection
"#;

#[test]
fn builtin_pipelines_map_table_and_fields() {
    let xdr = Converter::new(Target::KqlXdr, vec![]).unwrap();
    assert_eq!(
        convert_text(&xdr, RULE).unwrap(),
        vec![
            "DeviceProcessEvents\n| where FolderPath endswith \"\\\\cmd.exe\" and ProcessCommandLine contains \"whoami\""
        ]
    );
    let asim = Converter::new(Target::KqlAsim, vec![]).unwrap();
    assert_eq!(
        convert_text(&asim, RULE).unwrap(),
        vec![
            "imProcessCreate\n| where TargetProcessName endswith \"\\\\cmd.exe\" and TargetProcessCommandLine contains \"whoami\""
        ]
    );
}

#[test]
fn a_user_pipeline_changes_the_output() {
    let user = pipeline::load(
        "user.yml",
        r#"
name: my mapping
priority: 5
transformations:
  - id: my_cmdline
    type: field_name_mapping
    mapping:
      CommandLine: InitiatingProcessCommandLine
  - id: my_tenant
    type: add_condition
    conditions:
      DeviceName|endswith: '.corp.example'
    rule_conditions:
      - type: logsource
        product: windows
"#,
    )
    .unwrap();
    let c = Converter::new(Target::KqlXdr, vec![user]).unwrap();
    assert_eq!(
        convert_text(&c, RULE).unwrap(),
        vec![
            "DeviceProcessEvents\n| where DeviceName endswith \".corp.example\" and (FolderPath endswith \"\\\\cmd.exe\" and InitiatingProcessCommandLine contains \"whoami\")"
        ]
    );
}

#[test]
fn errors_name_the_reason() {
    let c = Converter::new(Target::KqlXdr, vec![]).unwrap();
    let unknown_field = RULE.replace("CommandLine|contains", "NoSuchField|contains");
    assert_eq!(
        convert_text(&c, &unknown_field).unwrap_err(),
        "field `NoSuchField` has no column in DeviceProcessEvents"
    );
    let no_table = RULE.replace("process_creation", "ps_script");
    assert!(
        convert_text(&c, &no_table)
            .unwrap_err()
            .starts_with("no table for logsource category: ps_script, product: windows")
    );
}

fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rule_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// Quotes closed and parentheses balanced outside string literals.
fn balanced(q: &str) -> bool {
    let mut depth = 0i64;
    let mut chars = q.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    None => return false,
                    Some('\\') => {
                        chars.next();
                    }
                    Some('"') => break,
                    Some(_) => {}
                }
            },
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

#[test]
fn whole_corpus_converts_without_panics_and_balanced() {
    let mut files = Vec::new();
    rule_files(&corpus(), &mut files);
    files.sort();
    for target in Target::ALL {
        let c = Converter::new(target, vec![]).unwrap();
        let (mut ok, mut err) = (0, 0);
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for d in sigma::parse(&text).documents {
                match c.convert(&d.doc) {
                    Ok(qs) => {
                        ok += 1;
                        for q in qs {
                            assert!(balanced(&q), "{}: unbalanced query\n{q}", f.display());
                        }
                    }
                    Err(e) => {
                        err += 1;
                        assert!(!e.is_empty());
                    }
                }
            }
        }
        eprintln!("{}: {ok} converted, {err} refused", target.name());
        assert!(ok > 1000, "{}: only {ok} rules converted", target.name());
    }
}

/// The pipeline data added against the pySigma comparison: hashes per algorithm, registry
/// EventType values, ParentImage outside process_creation, proxy logs in imWebSession.
#[test]
fn pipeline_mappings_from_the_schemas() {
    let xdr = Converter::new(Target::KqlXdr, vec![]).unwrap();
    let asim = Converter::new(Target::KqlAsim, vec![]).unwrap();
    let hashes = RULE.replace(
        "CommandLine|contains: 'whoami'",
        "Hashes|contains: ['MD5=AB', 'IMPHASH=CD']",
    );
    assert_eq!(
        convert_text(&xdr, &hashes).unwrap(),
        vec![
            "DeviceProcessEvents\n| where FolderPath endswith \"\\\\cmd.exe\" and MD5 startswith \"AB\""
        ]
    );
    assert_eq!(
        convert_text(&asim, &hashes).unwrap(),
        vec![
            "imProcessCreate\n| where TargetProcessName endswith \"\\\\cmd.exe\" and (TargetProcessMD5 startswith \"AB\" or TargetProcessIMPHASH startswith \"CD\")"
        ]
    );
    let registry = RULE
        .replace("process_creation", "registry_delete")
        .replace("CommandLine|contains: 'whoami'", "EventType: DeleteValue");
    assert_eq!(
        convert_text(&xdr, &registry).unwrap(),
        vec![
            "DeviceRegistryEvents\n| where (ActionType in~ (\"RegistryKeyDeleted\", \"RegistryValueDeleted\")) and (InitiatingProcessFolderPath endswith \"\\\\cmd.exe\" and ActionType =~ \"RegistryValueDeleted\")"
        ]
    );
    let parent = RULE
        .replace("process_creation", "file_event")
        .replace("CommandLine|contains", "ParentImage|endswith")
        .replace("'whoami'", "'\\winword.exe'");
    assert_eq!(
        convert_text(&xdr, &parent).unwrap(),
        vec![
            "DeviceFileEvents\n| where InitiatingProcessFolderPath endswith \"\\\\cmd.exe\" and InitiatingProcessParentFileName =~ \"winword.exe\""
        ]
    );
    assert!(
        convert_text(&xdr, &parent.replace("'\\winword.exe'", "'\\AppData\\'"))
            .unwrap_err()
            .contains("names a folder")
    );
    let proxy = "title: t\nlogsource: {category: proxy}\ndetection:\n    sel:\n        c-useragent|startswith: 'rclone/'\n        c-uri-query|contains: 'a=b'\n    condition: sel\n";
    assert_eq!(
        convert_text(&asim, proxy).unwrap(),
        vec!["imWebSession\n| where HttpUserAgent startswith \"rclone/\" and Url contains \"a=b\""]
    );
    assert!(
        convert_text(&asim, &proxy.replace("c-uri-query|contains", "c-uri-query"))
            .unwrap_err()
            .contains("not its query part")
    );
    let security = "title: t\nlogsource: {product: windows, service: security}\ndetection:\n    sel:\n        EventID: 4656\n        ObjectType: Key\n        ObjectName|endswith: '\\SAM'\n    condition: sel\n";
    assert_eq!(
        convert_text(&asim, security).unwrap(),
        vec![
            "SecurityEvent\n| where EventID == 4656 and ObjectType =~ \"Key\" and ObjectName endswith \"\\\\SAM\""
        ]
    );
    assert!(
        convert_text(&xdr, security)
            .unwrap_err()
            .contains("no Defender XDR advanced hunting table")
    );
    let hive = "title: t\nlogsource: {category: registry_set, product: windows}\ndetection:\n    sel:\n        TargetObject|startswith: 'HKLM\\SOFTWARE\\'\n    condition: sel\n";
    assert_eq!(
        convert_text(&asim, hive).unwrap(),
        vec![
            "imRegistry\n| extend RegistryPath = iff(isempty(RegistryValue), RegistryKey, strcat(RegistryKey, \"\\\\\", RegistryValue))\n| where EventType =~ \"RegistryValueSet\" and RegistryPath startswith \"HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\\""
        ]
    );
    let user = RULE.replace(
        "CommandLine|contains: 'whoami'",
        "User|endswith: '\\SYSTEM'",
    );
    assert_eq!(
        convert_text(&xdr, &user).unwrap(),
        vec![
            "DeviceProcessEvents\n| where FolderPath endswith \"\\\\cmd.exe\" and AccountName =~ \"SYSTEM\""
        ]
    );
    let initiated = "title: t\nlogsource: {category: network_connection, product: windows}\ndetection:\n    sel:\n        Initiated: true\n    condition: sel\n";
    assert_eq!(
        convert_text(&asim, initiated).unwrap(),
        vec!["imNetworkSession\n| where NetworkDirection =~ \"Outbound\""]
    );
}

// ---- The wrong-query classes of issue 13: none left over the whole corpus. ----

use convert::schema::{ColType, Schema};
use kql::ast::{BinOp, ExprKind, OperatorKind, StatementKind, StrOpKind};

/// One comparison of a query: column, operator, literal values, under a `not`.
#[derive(Debug)]
struct Cmp {
    column: String,
    op: String,
    values: Vec<ExprKind>,
    negated: bool,
}

fn comparisons(q: &str) -> Vec<Cmp> {
    fn walk(e: &kql::ast::Expr, negated: bool, out: &mut Vec<Cmp>) {
        match &e.kind {
            ExprKind::And(v) | ExprKind::Or(v) => v.iter().for_each(|x| walk(x, negated, out)),
            ExprKind::Not(x) => walk(x, !negated, out),
            ExprKind::Call { name, args } if name == "not" => {
                args.iter().for_each(|x| walk(x, !negated, out))
            }
            ExprKind::Call { name, args } => {
                if let [a, rest @ ..] = &args[..]
                    && let ExprKind::Ident(c) = &a.kind
                {
                    out.push(Cmp {
                        column: c.to_string(),
                        op: name.to_string(),
                        values: rest.iter().map(|x| x.kind.clone()).collect(),
                        negated,
                    });
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                if let ExprKind::Ident(c) = &lhs.kind {
                    out.push(Cmp {
                        column: c.to_string(),
                        op: op.text(),
                        values: vec![rhs.kind.clone()],
                        negated,
                    });
                }
            }
            ExprKind::List { op, expr, list } => {
                if let ExprKind::Ident(c) = &expr.kind {
                    out.push(Cmp {
                        column: c.to_string(),
                        op: op.text().to_string(),
                        values: list.iter().map(|x| x.kind.clone()).collect(),
                        negated,
                    });
                }
            }
            _ => {}
        }
    }
    let parsed = kql::parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
    let mut out = Vec::new();
    for s in &parsed.statements {
        if let StatementKind::Expr(e) = &s.kind
            && let ExprKind::Pipe { ops, .. } = &e.kind
        {
            for op in ops {
                if let OperatorKind::Where(w) = &op.kind {
                    walk(w, false, &mut out);
                }
            }
        }
    }
    out
}

struct Converted {
    path: PathBuf,
    doc: sigma::Document,
    result: Result<Vec<String>, String>,
}

fn corpus_conversions(target: Target) -> &'static [Converted] {
    static XDR: std::sync::OnceLock<Vec<Converted>> = std::sync::OnceLock::new();
    static ASIM: std::sync::OnceLock<Vec<Converted>> = std::sync::OnceLock::new();
    let cell = match target {
        Target::KqlXdr => &XDR,
        Target::KqlAsim => &ASIM,
        other => panic!("{} is not a KQL target", other.name()),
    };
    cell.get_or_init(|| {
        let mut files = Vec::new();
        rule_files(&corpus(), &mut files);
        files.sort();
        let c = Converter::new(target, vec![]).unwrap();
        let mut out = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for d in sigma::parse(&text).documents {
                out.push(Converted {
                    path: f.clone(),
                    result: c.convert(&d.doc),
                    doc: d.doc,
                });
            }
        }
        out
    })
}

/// The KQL targets (tables with typed columns).
const KQL: [Target; 2] = [Target::KqlXdr, Target::KqlAsim];

fn schema(target: Target) -> Schema {
    let (p, t) = target.builtin_schema().unwrap();
    Schema::load(p, t).unwrap()
}

fn table_of(q: &str) -> &str {
    q.lines().next().unwrap_or("")
}

#[test]
fn no_isnull_on_a_string_column() {
    for target in KQL {
        let s = schema(target);
        let mut seen = 0;
        for c in corpus_conversions(target) {
            for q in c.result.iter().flatten() {
                let cols = s.table(table_of(q)).unwrap();
                for cmp in comparisons(q) {
                    if cmp.op == "isempty" {
                        seen += 1;
                    }
                    if cmp.op != "isnull" || cols[&cmp.column].ty != ColType::String {
                        continue;
                    }
                    // kql-asim keeps seed 003's `isnull` in a filter (docs/kql-differences.md).
                    assert!(
                        target == Target::KqlAsim && cmp.negated,
                        "{}: {} isnull on string column {}\n{q}",
                        c.path.display(),
                        target.name(),
                        cmp.column
                    );
                }
            }
        }
        let least = if target == Target::KqlXdr { 40 } else { 1 };
        assert!(seen >= least, "{}: {seen} isempty", target.name());
    }
}

#[test]
fn no_number_written_as_a_string_nor_a_string_compared_with_a_number() {
    for target in KQL {
        let s = schema(target);
        let mut numbers = 0;
        for c in corpus_conversions(target) {
            for q in c.result.iter().flatten() {
                let cols = s.table(table_of(q)).unwrap();
                for cmp in comparisons(q) {
                    let Some(col) = cols.get(&cmp.column) else {
                        continue;
                    };
                    let ok = match col.ty {
                        ColType::Number => {
                            numbers += 1;
                            cmp.op.starts_with("ipv")
                                || cmp.values.iter().all(|v| matches!(v, ExprKind::Number(_)))
                        }
                        ColType::String => {
                            !cmp.values.iter().any(|v| matches!(v, ExprKind::Number(_)))
                        }
                        _ => true,
                    };
                    assert!(ok, "{}: {} {cmp:?}\n{q}", c.path.display(), target.name());
                }
            }
        }
        assert!(
            numbers > 10,
            "{}: {numbers} number comparisons",
            target.name()
        );
    }
}

/// The regular expressions of a rule's `re` values (the others come from wildcards).
fn rule_regexes(doc: &sigma::Document) -> Vec<String> {
    fn walk(d: &sigma::Detection, out: &mut Vec<String>) {
        match d {
            sigma::Detection::And(v) | sigma::Detection::Or(v) => {
                v.iter().for_each(|x| walk(x, out))
            }
            sigma::Detection::Item(i) => {
                for (v, _) in &i.values {
                    if let sigma::value::Value::Regex { pattern, .. } = v {
                        out.push(pattern.clone());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Some(det) = &doc.detection {
        det.named.iter().for_each(|n| walk(&n.body, &mut out));
    }
    out
}

#[test]
fn every_wildcard_regex_is_anchored() {
    for target in KQL {
        let mut wildcard = 0;
        for c in corpus_conversions(target) {
            let res = rule_regexes(&c.doc);
            for q in c.result.iter().flatten() {
                for cmp in comparisons(q) {
                    if cmp.op
                        != BinOp::Str(kql::ast::StrOp {
                            kind: StrOpKind::MatchesRegex,
                            negated: false,
                            case_sensitive: true,
                        })
                        .text()
                    {
                        continue;
                    }
                    let [ExprKind::Str(p)] = &cmp.values[..] else {
                        panic!("{cmp:?}")
                    };
                    if res.iter().any(|r| p.value.ends_with(r.as_str())) {
                        continue;
                    }
                    wildcard += 1;
                    let body = p
                        .value
                        .trim_start_matches("(?is)")
                        .trim_start_matches("(?s)");
                    assert!(
                        body.starts_with('^') && body.ends_with('$'),
                        "{}: {} unanchored {}",
                        c.path.display(),
                        target.name(),
                        p.value
                    );
                }
            }
        }
        assert!(
            wildcard >= 6,
            "{}: {wildcard} wildcard regexes",
            target.name()
        );
    }
}

#[test]
fn registry_values_are_compared_with_the_full_path() {
    for (target, table, key) in [
        (Target::KqlXdr, "DeviceRegistryEvents", "RegistryKey"),
        (Target::KqlAsim, "imRegistry", "RegistryKey"),
    ] {
        let mut with_path = 0;
        for c in corpus_conversions(target) {
            let uses_target_object = c.doc.detection.as_ref().is_some_and(|d| {
                format!("{:?}", d.named).contains("field: Some(\"TargetObject\")")
            });
            for q in c.result.iter().flatten() {
                if table_of(q) != table {
                    continue;
                }
                let cmps = comparisons(q);
                if uses_target_object {
                    with_path += 1;
                    assert!(
                        cmps.iter().any(|c| c.column == "RegistryPath"),
                        "{}: {q}",
                        c.path.display()
                    );
                }
                // The key alone is compared only where the rule names a key (ObjectName, NewName).
                for cmp in cmps.iter().filter(|c| c.column == key) {
                    for v in &cmp.values {
                        if let ExprKind::Str(s) = v {
                            assert!(
                                !s.value.contains("\\Run\\") || cmp.op != "endswith",
                                "{}: {q}",
                                c.path.display()
                            );
                        }
                    }
                }
            }
        }
        assert!(with_path > 130, "{}: {with_path}", target.name());
    }
}

#[test]
fn xdr_accounts_split_domain_and_name() {
    let mut split = 0;
    for c in corpus_conversions(Target::KqlXdr) {
        for q in c.result.iter().flatten() {
            let cmps = comparisons(q);
            for cmp in &cmps {
                let Some(prefix) = cmp.column.strip_suffix("AccountName") else {
                    continue;
                };
                for v in &cmp.values {
                    let ExprKind::Str(s) = v else { continue };
                    // A name holds no domain; `NT AUTHORITY` is a domain: a value that may be
                    // one is also compared with the domain column.
                    assert!(!s.value.contains('\\'), "{}: {q}", c.path.display());
                    if s.value.to_uppercase().contains("AUTHORI") {
                        split += 1;
                        let domain = format!("{prefix}AccountDomain");
                        assert!(
                            cmps.iter()
                                .any(|d| d.column == domain && d.values.contains(v)),
                            "{}: {q}",
                            c.path.display()
                        );
                    }
                }
            }
        }
    }
    assert!(split >= 15, "{split} AUTHORI comparisons");
}

#[test]
fn xdr_initiated_and_file_access() {
    let (mut initiated, mut file_access) = (0, 0);
    for c in corpus_conversions(Target::KqlXdr) {
        let text = std::fs::read_to_string(&c.path).unwrap();
        if c.doc.logsource.category.iter().any(|x| x == "file_access") {
            file_access += 1;
            assert!(
                c.result.as_ref().is_err_and(|e| e.contains("not reads")),
                "{}",
                c.path.display()
            );
        }
        if text.contains("Initiated:")
            && c.doc
                .logsource
                .category
                .iter()
                .any(|x| x == "network_connection")
            && let Ok(qs) = &c.result
        {
            initiated += 1;
            assert!(
                qs.iter()
                    .all(|q| comparisons(q).iter().any(|c| c.column == "ActionType")),
                "{}: {qs:?}",
                c.path.display()
            );
        }
    }
    assert!(
        initiated >= 40 && file_access >= 7,
        "{initiated} {file_access}"
    );
}

#[test]
fn asim_hkcr_is_the_machine_classes_key() {
    let mut n = 0;
    for c in corpus_conversions(Target::KqlAsim) {
        for q in c.result.iter().flatten() {
            assert!(
                !q.contains("HKEY_CLASSES_ROOT"),
                "{}: {q}",
                c.path.display()
            );
            n += q.matches("HKEY_LOCAL_MACHINE\\\\Classes").count();
        }
    }
    assert!(n > 0);
}

#[test]
fn pipeline_arguments_and_sysmon_event_ids() {
    // `--pipeline-arg query_table=…` (pySigma's `microsoft_xdr_pipeline(query_table=…)`): the
    // table the user names, with its field mapping; a column it lacks is refused.
    let mut c = Converter::new(Target::KqlXdr, vec![]).unwrap();
    c.args = vec![("query_table".into(), "DeviceImageLoadEvents".into())];
    assert_eq!(
        convert_text(&c, RULE).unwrap(),
        vec![
            "DeviceImageLoadEvents\n| where InitiatingProcessFolderPath endswith \"\\\\cmd.exe\" and InitiatingProcessCommandLine contains \"whoami\""
        ]
    );
    c.args = vec![("query_table".into(), "DeviceNetworkEvents".into())];
    let hashes = RULE.replace(
        "CommandLine|contains: 'whoami'",
        "ImageLoaded|endswith: '.dll'",
    );
    assert_eq!(
        convert_text(&c, &hashes).unwrap_err(),
        "field `ImageLoaded` has no column in DeviceNetworkEvents"
    );
    // No category: the Sysmon event id names the table.
    let sysmon = "title: t\nlogsource: {product: windows, service: sysmon}\ndetection:\n    sel:\n        EventID: 13\n        TargetObject|endswith: '\\Run\\x'\n    condition: sel\n";
    let xdr = Converter::new(Target::KqlXdr, vec![]).unwrap();
    let q = convert_text(&xdr, sysmon).unwrap();
    assert!(
        q[0].starts_with("DeviceRegistryEvents\n| extend RegistryPath")
            && q[0].ends_with("| where RegistryPath endswith \"\\\\Run\\\\x\""),
        "{q:?}"
    );
    let asim = Converter::new(Target::KqlAsim, vec![]).unwrap();
    assert!(
        convert_text(
            &asim,
            &sysmon.replace("13", "1").replace("TargetObject", "Image")
        )
        .unwrap()[0]
            .starts_with("imProcessCreate\n")
    );
}

#[test]
fn linux_and_macos_rules_are_restricted_to_their_operating_system() {
    // The Defender and ASIM process tables hold every operating system's events: a Linux rule's
    // query names Linux (XDR: DeviceInfo's OSPlatform joined on DeviceId; ASIM: DvcOs).
    let q = convert_file(Target::KqlXdr, "proc_creation_lnx_at_command.yml");
    assert!(
        q.starts_with("DeviceProcessEvents\n| join kind=leftsemi (DeviceInfo | where OSPlatform =~ \"Linux\") on DeviceId\n| where "),
        "{q}"
    );
    let q = convert_file(
        Target::KqlAsim,
        "proc_creation_macos_space_after_filename.yml",
    );
    assert!(
        q.starts_with("imProcessCreate\n| where DvcOs =~ \"macOS\" and "),
        "{q}"
    );
    let mut restricted = [0, 0];
    for (n, t) in [Target::KqlXdr, Target::KqlAsim].into_iter().enumerate() {
        for c in corpus_conversions(t) {
            let os = ["/linux/", "/macos/"]
                .into_iter()
                .find(|d| c.path.to_string_lossy().contains(d));
            for q in c.result.iter().flatten() {
                let says = q.contains("OSPlatform =~") || q.contains("DvcOs =~");
                assert_eq!(says, os.is_some(), "{}: {q}", c.path.display());
                restricted[n] += usize::from(says);
            }
        }
    }
    assert!(restricted[0] > 100 && restricted[1] > 100, "{restricted:?}");
    // The table the join reads is among the query's tables.
    let c = Converter::new(Target::KqlXdr, vec![]).unwrap();
    let text = "title: t\nlogsource: {product: linux, category: process_creation}\ndetection:\n    sel:\n        Image|endswith: '/sh'\n    condition: sel\n";
    let r = sigma::parse(text);
    let full = c.convert_full(&r.documents[0].doc).unwrap();
    assert_eq!(full.tables, ["DeviceProcessEvents", "DeviceInfo"]);
}

#[test]
fn hives_after_a_leading_wildcard_are_spelled_out() {
    // `TargetObject|contains: 'HKU\'`: Sysmon's paths start with the hive, which Defender and
    // ASIM spell out (`HKEY_USERS\`), so the abbreviation after the wildcard is rewritten too.
    let rule = "title: t\nlogsource: {product: windows, category: registry_set}\ndetection:\n    sel:\n        TargetObject|contains:\n            - 'HKU\\'\n            - 'HKLM\\Software\\x'\n    condition: sel\n";
    for (t, want) in [
        (
            Target::KqlXdr,
            r#"RegistryPath contains "HKEY_USERS\\" or RegistryPath contains "HKEY_LOCAL_MACHINE\\Software\\x""#,
        ),
        (
            Target::KqlAsim,
            r#"RegistryPath contains "HKEY_USERS\\" or RegistryPath contains "HKEY_LOCAL_MACHINE\\Software\\x""#,
        ),
    ] {
        let q = convert_text(&Converter::new(t, vec![]).unwrap(), rule).unwrap();
        assert!(q[0].contains(want), "{t:?}: {}", q[0]);
        assert!(
            !q[0].contains("HKU\\") && !q[0].contains("HKLM"),
            "{}",
            q[0]
        );
    }
    let q = convert_file(
        Target::KqlXdr,
        "registry_set_persistence_com_key_linking.yml",
    );
    assert!(q.contains(r#"contains "HKEY_USERS\\""#), "{q}");
}

#[test]
fn xdr_rename_key_is_a_created_key_or_a_set_value() {
    // Defender has no rename action; as pySigma-backend-kusto, Sysmon's RenameKey is the key
    // created under its new name or its values set.
    let rule = "title: t\nlogsource: {product: windows, category: registry_event}\ndetection:\n    sel:\n        EventType: RenameKey\n        TargetObject|endswith: '\\x'\n    condition: sel\n";
    let q = convert_text(&Converter::new(Target::KqlXdr, vec![]).unwrap(), rule).unwrap();
    assert!(
        q[0].contains(r#"ActionType in~ ("RegistryValueSet", "RegistryKeyCreated")"#),
        "{}",
        q[0]
    );
    let q = convert_text(&Converter::new(Target::KqlAsim, vec![]).unwrap(), rule).unwrap();
    assert!(
        q[0].contains(r#"EventType =~ "RegistryKeyRenamed""#),
        "{}",
        q[0]
    );
}
