//! The Sigma reader against the real rule repositories in ../shared/corpora.

use ir::{Kind, Severity};
use std::path::{Path, PathBuf};

fn corpora() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    assert!(
        p.is_dir(),
        "test corpora missing at {} (CI has ../shared beside the checkout)",
        p.display()
    );
    p
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> (Vec<ir::Rule>, Vec<ir::Diagnostic>) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    sigma::read("test", &name, &path.to_string_lossy(), &text)
}

#[test]
fn sigmahq_reads_every_file_without_error() {
    let files = yaml_files(&corpora().join("sigma"));
    assert_eq!(files.len(), 4039);
    let mut rules = 0;
    let mut errors = Vec::new();
    let mut empty = Vec::new();
    for f in &files {
        let (r, d) = read(f);
        rules += r.len();
        errors.extend(d.into_iter().filter(|d| d.severity == Severity::Error));
        if r.is_empty() {
            empty.push(f.display().to_string());
        }
    }
    let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{} errors: {errors:#?}", errors.len());
    assert!(empty.is_empty(), "no rule read from {empty:#?}");
    assert!(rules >= 4039, "{rules} rules");
}

#[test]
fn mdecrevoisier_keeps_every_rule_whose_meaning_is_clear() {
    let files = yaml_files(&corpora().join("mdecrevoisier"));
    assert_eq!(files.len(), 352);
    let mut dropped = Vec::new();
    let mut warnings = 0;
    for f in &files {
        let (r, d) = read(f);
        warnings += d.iter().filter(|d| d.severity == Severity::Warning).count();
        if r.is_empty() {
            dropped.push((f.clone(), d));
        }
    }
    for (f, d) in &dropped {
        eprintln!(
            "dropped {}: {:?}",
            f.display(),
            d.iter().map(|d| d.to_string()).collect::<Vec<_>>()
        );
    }
    eprintln!(
        "mdecrevoisier: {} files, {} kept, {} dropped, {warnings} warnings",
        files.len(),
        files.len() - dropped.len(),
        dropped.len()
    );
    // Every dropped file says why, with an error; each of these has a meaning detdex would
    // have to guess (see docs/sigma-reading.md).
    for (f, d) in &dropped {
        assert!(
            d.iter().any(|d| d.severity == Severity::Error),
            "{} dropped without an error",
            f.display()
        );
    }
    let mut names: Vec<String> = dropped
        .iter()
        .map(|(f, _)| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "defender-host signatures outdated (limited).yaml", // `selection_age > 7` in the condition
            "win-os-BitLocker feature activation (PowerShell).yaml", // a bare pattern `selection_…_*` outside `1 of`
            "win-os-Pass-the-hash login with Mimikatz.yaml", // the condition names a missing `filter`
            "win-os-dump file transfered over SMB share.yaml", // tabs in block indentation: not YAML
            "win-os-firewall rule creation (command).yaml", // the condition names a missing `selection`
            "win-os-scheduled task fastly created and deleted.yaml", // `selection_create > selection_delete`
            "win-os-service abuse with malicious ImagePath (service).yaml", // the condition names a missing `selection`
        ]
    );
}

#[test]
fn mdecrevoisier_duplicate_keys_are_reported_with_both_positions() {
    let files = yaml_files(&corpora().join("mdecrevoisier"));
    let with_dups: Vec<_> = files
        .iter()
        .filter(|f| {
            read(f)
                .1
                .iter()
                .any(|d| d.message.contains("duplicate key"))
        })
        .collect();
    assert_eq!(with_dups.len(), 19, "{with_dups:?}");
}

#[test]
fn seed_001_wmi_module_loaded_by_suspicious_process() {
    let f = corpora()
        .join("mdecrevoisier/windows-os/win-os-WMI module loaded by suspicious process (CME).yaml");
    let (rules, _) = read(&f);
    let r = &rules[0];
    assert_eq!(r.meta.title, "WMI module loaded by suspicious process");
    assert_eq!(r.attack, ["T1047"]);
    let labels: Vec<&str> = r.logic.stages.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["condition", "selection", "not filter"]);
    assert_eq!(r.logic.stages[0].text, "selection and not filter");
    assert!(
        r.logic.stages[1].text.starts_with("selection:\n"),
        "{}",
        r.logic.stages[1].text
    );
    let ex = ir::exclusions(&r.logic);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].stage, "not filter");
    assert_eq!(ex[0].all.len(), 1, "one row of three values");
    let row = &ex[0].all[0];
    assert_eq!(row.field.as_deref(), Some("Image"));
    assert_eq!(row.kind, Kind::EndsWith);
    assert!(!row.negated);
    assert_eq!(
        row.values,
        [r"\svchost.exe", r"\wmiapsrv.exe", r"\wmiprvse.exe"]
    );
    let ind = ir::indicators(&r.logic);
    let loaded = ind
        .iter()
        .find(|i| i.field.as_deref() == Some("ImageLoaded"))
        .unwrap();
    assert_eq!(loaded.kind, Kind::EndsWith);
    assert_eq!(loaded.values.len(), 9);
    let wmi = loaded.values.iter().find(|v| *v == r"\wmi*").unwrap();
    // `endswith '\wmi*'` ends in a wildcard: the pattern is a `contains`.
    assert_eq!(
        wmi.pattern.as_ref().unwrap().shape(),
        ir::Shape::Contains(r"\wmi")
    );
    assert!(
        !ind.iter().any(|i| i.field.as_deref() == Some("Image")),
        "negated predicates are not indicators"
    );
}

#[test]
fn wsman_exclusions_list_every_filter_selection() {
    let f =
        corpora().join("sigma/rules/windows/image_load/image_load_wsman_provider_image_load.yml");
    let (rules, diags) = read(&f);
    assert!(diags.is_empty(), "{diags:?}");
    let r = &rules[0];
    let labels: Vec<&str> = r.logic.stages.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "condition",
            "request_client",
            "respond_server",
            "not filter_general",
            "not filter_svchost",
            "not filter_mscorsvw",
            "not filter_gethelp",
            "not filter_svr_2019",
            "not filter_nextron",
            "not filter_citrix",
            "not filter_upgrade",
            "not filter_mmc",
            "not svchost",
            "not commandline_null"
        ]
    );
    let ex = ir::exclusions(&r.logic);
    // Each `1 of filter*` selection is an exclusion of its own, all of its rows together.
    let single = |field: &str, kind: Kind, value: &str| {
        ex.iter().any(|e| {
            e.all.len() == 1
                && e.all[0].field.as_deref() == Some(field)
                && e.all[0].kind == kind
                && e.all[0].values.iter().any(|v| v == value)
        })
    };
    assert!(single(
        "Image",
        Kind::Eq,
        r"C:\Windows\System32\services.exe"
    )); // filter_general
    assert!(single(
        "CommandLine",
        Kind::Contains,
        "svchost.exe -k netsvcs"
    )); // filter_svchost
    assert!(single(
        "Image",
        Kind::Eq,
        r"C:\Windows\System32\ServerManager.exe"
    )); // filter_svr_2019
    assert!(single(
        "Image",
        Kind::StartsWith,
        r"C:\Windows\Temp\asgard2-agent\"
    )); // filter_nextron
    assert!(single(
        "Image",
        Kind::StartsWith,
        r"C:\Program Files\Citrix\"
    )); // filter_citrix
    assert!(single(
        "Image",
        Kind::StartsWith,
        r"C:\$WINDOWS.~BT\Sources\"
    )); // filter_upgrade
    assert!(single("Image", Kind::EndsWith, r"\mmc.exe")); // filter_mmc
    // filter_mscorsvw: a .NET folder *and* mscorsvw.exe.
    let rows_of = |stage: &str| {
        let e = ex.iter().find(|e| e.stage == stage).unwrap();
        e.all
            .iter()
            .map(|r| (r.field.clone().unwrap(), r.kind, r.values.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rows_of("not filter_mscorsvw"),
        [
            ("Image".to_string(), Kind::StartsWith, 4),
            ("Image".to_string(), Kind::EndsWith, 1)
        ]
    );
    // `not (svchost and commandline_null)`: svchost only with an empty command line.
    assert!(
        !single("Image", Kind::EndsWith, r"\svchost.exe"),
        "svchost alone is not excluded: respond_server requires it"
    );
    let last = ex.last().unwrap();
    assert_eq!(
        last.all
            .iter()
            .map(|r| {
                let values: Vec<&str> = r.values.iter().map(|v| v.as_str()).collect();
                (r.field.as_deref().unwrap(), r.kind, values)
            })
            .collect::<Vec<_>>(),
        [
            ("Image", Kind::EndsWith, vec![r"\svchost.exe"]),
            ("CommandLine", Kind::Null, vec![])
        ]
    );
    assert_eq!(ex.len(), 10);
    let ind = ir::indicators(&r.logic);
    let fields: Vec<_> = ind
        .iter()
        .map(|i| (i.field.as_deref().unwrap(), i.kind))
        .collect();
    assert_eq!(
        fields,
        [
            ("ImageLoaded", Kind::EndsWith),
            ("OriginalFileName", Kind::Eq),
            ("Image", Kind::EndsWith)
        ]
    );
}
