//! KQL rules in the catalog: the FalconFriday corpus loads as a source (rules, hunts, the file
//! without extension), and `show --format json` pinned for FalconFriday rules of many shapes.

use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/falconfriday");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus missing at {}",
            p.display()
        );
        None
    }
}

/// (file, which rule of the file): lets with materialize and invoke, a plain where chain, the
/// de-duplication join, leftanti joins against a let and a table, the file without
/// extension, hunts with several queries, a union.
const RULES: &[(&str, usize)] = &[
    ("0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows.md", 0),
    ("0xFF-0001-Ingress_Tool_Transfer_Certutil_abuse-Win.md", 0),
    (
        "0xFF-0027-Beacon-Traffic-Based-On-Common-User-Agents-Visiting-Limited-Domains.md",
        0,
    ),
    ("0xFF-0083-Remote_Process_Invocation_Via_SCM-Win.md", 0),
    ("0xFF-0270-NTLM_Relay_Attack-Win.md", 0),
    ("0xFF-0299-UnPAC_the_hash-Win.md", 0),
    (
        "0xFF-0508-Excessive_enumeration_of_policy_effective_permissions-AWS",
        0,
    ),
    ("0xFF-0222-Suspicious_Named_Pipes-Win.md", 0),
    ("hunts/T1204-WIN-001.md", 1),
    ("hunts/Teams_RCE.md", 0),
    ("hunts/FireEye_red_team_tool_countermeasures.md", 4),
];

#[test]
fn show_json_snapshots() {
    let Some(root) = corpus() else { return };
    for (rel, n) in RULES {
        let read = catalog::read::read_file("falconfriday", &root.join(rel), rel, rel);
        assert_eq!(read.format, Some(catalog::read::FileFormat::Kql), "{rel}");
        // Only the warnings for clauses not analysed (each also a stage note).
        assert!(
            read.diagnostics
                .iter()
                .all(|d| d.severity == ir::Severity::Warning
                    && d.message.contains(": not analysed: ")),
            "{rel}: {:?}",
            read.diagnostics
        );
        let rule = &read.rules[*n];
        let cat = catalog::Catalog::from_parts(read.rules.clone(), vec![], 1);
        let report = catalog::report(&cat, rule);
        assert!(
            report.translations.is_empty(),
            "only Sigma rules are translated"
        );
        let name = format!(
            "kql_{}_{n}",
            rel.rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".md")
                .chars()
                .take(40)
                .collect::<String>()
        );
        // The analyst sections are derived from the rest; their own test is tests/analyst.rs.
        insta::assert_json_snapshot!(name, report, { ".analyst" => "[analyst]", ".similar" => "[similar]", ".event_coverage" => "[event coverage]" });
    }
}

#[test]
fn falconfriday_source_loads_and_indexes() {
    let Some(root) = corpus() else { return };
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "falconfriday".into(),
        root,
        include: Vec::new(),
    }]);
    // No error; the warnings are the `where` clauses the lowering cannot analyse (each a
    // stage note too).
    assert_eq!(cat.problem_counts(), (0, 42), "{:?}", cat.diagnostics);
    assert!(
        cat.diagnostics
            .iter()
            .all(|d| d.message.contains(": not analysed: ")),
        "{:?}",
        cat.diagnostics
    );
    // 48 rules (one without extension), 11 hunts with 66 queries; LICENSE, README.md and the
    // two rules replaced by 0xFF-0081 (no query) are not rule files.
    assert_eq!(cat.files, 59);
    assert_eq!(cat.rules.len(), 48 + 66);
    assert!(cat.rules.iter().all(|r| r.format == ir::Format::Kql));
    let seed = cat
        .find("0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows")
        .expect("by id");
    assert_eq!(
        seed.key,
        "falconfriday/0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows.md"
    );
    let second = cat
        .get("falconfriday/hunts/T1204-WIN-001.md#2")
        .expect("the second query of a hunt");
    assert_eq!(
        second.meta.title,
        "T1204 - User-Execution: Rule 2 (process injection)"
    );
    assert!(cat.get("falconfriday/README.md").is_none());
    // Corpus counts see KQL indicators.
    let r = catalog::report(&cat, seed);
    let ind = r
        .indicators
        .iter()
        .find(|i| i.field.as_deref() == Some("InitiatingProcessFileName"))
        .expect("the wsmprovhost.exe indicator");
    assert!(ind.corpus.iter().all(|c| c.total >= 1), "{ind:?}");
}
