//! KQL documents as people publish them: Microsoft's Defender hunting queries
//! (`../shared/corpora/m365-hunting`: markdown with untagged fences, `.txt` files holding
//! several queries) and alexverboon's KQL pages (`../shared/corpora/alexverboon-kql`: many
//! blocks a page, fences closed with a tag, fragments, mistagged blocks).
//!
//! The rates: every query is read into a rule, or is an error that is genuinely invalid KQL
//! (each listed below with why, checked by eye); every file is read or passed over with a
//! reason. Then snapshots of documents of different shapes (keys, titles, lines, stages,
//! tables, problems).

use std::path::PathBuf;

fn corpus(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora")
        .join(name);
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

fn load(name: &str) -> Option<(PathBuf, catalog::Catalog)> {
    let root = corpus(name)?;
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: name.into(),
        root: root.clone(),
        include: Vec::new(),
    }]);
    Some((root, cat))
}

/// The errors of a corpus as (file, line, column), relative to the corpus.
fn errors(root: &std::path::Path, cat: &catalog::Catalog) -> Vec<(String, u32, u32)> {
    let prefix = format!("{}/", root.to_string_lossy());
    cat.diagnostics
        .iter()
        .filter(|d| d.severity == ir::Severity::Error)
        .map(|d| {
            (
                d.path.strip_prefix(&prefix).unwrap_or(&d.path).to_string(),
                d.line,
                d.col,
            )
        })
        .collect()
}

/// The skipped files of a corpus as (file, reason), relative to the corpus.
fn skipped(root: &std::path::Path, cat: &catalog::Catalog) -> Vec<(String, String)> {
    let prefix = format!("{}/", root.to_string_lossy());
    cat.skipped
        .iter()
        .map(|s| {
            (
                s.path.strip_prefix(&prefix).unwrap_or(&s.path).to_string(),
                s.reason.clone(),
            )
        })
        .collect()
}

/// What a run read: (files read, rules, errors).
fn report(name: &str, cat: &catalog::Catalog) -> (usize, usize, usize) {
    let (errors, warnings) = cat.problem_counts();
    let queries = cat.rules.len() + errors;
    println!(
        "{name}: {} files read, {} passed over, {} rules of {queries} queries ({:.1} %), \
         {errors} errors, {warnings} warnings",
        cat.files,
        cat.skipped.len(),
        cat.rules.len(),
        100.0 * cat.rules.len() as f64 / queries as f64
    );
    (cat.files, cat.rules.len(), errors)
}

#[test]
fn m365_hunting_every_query_read_or_invalid() {
    let Some((root, cat)) = load("m365-hunting") else {
        return;
    };
    let (files, rules, _) = report("m365-hunting", &cat);
    // The one query that does not parse: a line `#This query just looks for …` (a `#` comment,
    // which KQL does not have) inside the block, starting the second query.
    assert_eq!(
        errors(&root, &cat),
        [(
            "Exploits/CVE-2021-36934 usage detection.md".to_string(),
            21,
            1
        )]
    );
    assert_eq!(files, 294);
    assert_eq!(rules, 345);
    // Passed over, each for a reason: the submission template (a placeholder in its block),
    // the code of conduct, a page whose query is prose outside any code block, the licence,
    // a readme in text.
    let s = skipped(&root, &cat);
    let names: Vec<&str> = s.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "00-query-submission-template.md",
            "CODE_OF_CONDUCT.md",
            "Initial access/identify-potential-missed-phishing-email-campaigns.md",
            "LICENSE",
            "M365-PowerBi Dashboard/readme.txt",
        ]
    );
    // A `.txt` file of four queries separated by blank lines is four rules.
    let keys: Vec<&str> = cat
        .rules
        .iter()
        .filter(|r| r.key.contains("Events surrounding alert.txt"))
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(keys[3].ends_with("Events surrounding alert.txt#4"));
}

#[test]
fn alexverboon_every_query_read_or_invalid() {
    let Some((root, cat)) = load("alexverboon-kql") else {
        return;
    };
    let (files, rules, _) = report("alexverboon-kql", &cat);
    // Each checked by eye:
    let invalid = [
        // A sentence of prose on the block's first line.
        (
            "Defender For Endpoint/MDE-DefenderSmartScreenEvents.md",
            18,
            3,
        ),
        // `join kind=leftouter (` never closed before `on`.
        (
            "Defender For Endpoint/TVM/MDE-Windows11-Issues-OS Build 26100-2033.md",
            39,
            12,
        ),
        // `DeviceEvents` then `ActionType startswith …` without `| where`.
        ("Defender For Endpoint/WDAC/MDE-WDAC.md", 20, 1),
        // `project-rename DistinguishedName` without `= old name`.
        (
            "Defender For Identity/MDI-IdentifyServiceAccountOUs.md",
            26,
            1,
        ),
        // An XPath event filter (`Application!*[System[…]]`) in a block tagged kql.
        ("Entra ID/EntraID-EntraConnectSyncAuditEvents.md", 13, 12),
    ];
    let want: Vec<(String, u32, u32)> = invalid
        .iter()
        .map(|(p, l, c)| (p.to_string(), *l, *c))
        .collect();
    assert_eq!(errors(&root, &cat), want);
    assert_eq!(files, 204);
    assert_eq!(rules, 462);
    let s = skipped(&root, &cat);
    assert_eq!(
        s,
        [
            (
                "ExternalData/wdacblockrules.txt".to_string(),
                "text that does not read as KQL (no `let`, source operator or `| operator` line)"
                    .to_string()
            ),
            (
                "LICENSE".to_string(),
                "no extension, and not a FalconFriday rule".to_string()
            ),
            (
                "MITRE ATT&CK/mapping.md".to_string(),
                "markdown without a KQL code block".to_string()
            ),
        ]
    );
    // The fragments ("add these lines to the query above") are warnings, not rules.
    let fragments = cat
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("query fragment"))
        .count();
    assert_eq!(fragments, 6);
}

/// Documents of different shapes: (corpus, file).
const DOCUMENTS: &[(&str, &str)] = &[
    // m365-hunting: untagged fences, .txt files of several queries, find, partition, views.
    (
        "m365-hunting",
        "General queries/Events surrounding alert.txt",
    ),
    ("m365-hunting", "General queries/Network footprint.txt"),
    ("m365-hunting", "General queries/File footprint.txt"),
    (
        "m365-hunting",
        "General queries/insider-threat-detection-queries.md",
    ),
    ("m365-hunting", "Campaigns/detect-cyzfc-activity.md"),
    ("m365-hunting", "Exfiltration/Files copied to USB drives.md"),
    (
        "m365-hunting",
        "Exfiltration/detect-steganography-exfiltration.md",
    ),
    ("m365-hunting", "Exploits/CVE-2021-36934 usage detection.md"),
    ("m365-hunting", "Initial access/SuspiciousUrlClicked.md"),
    ("m365-hunting", "Execution/PowerShell downloads.txt"),
    ("m365-hunting", "Execution/Base64encodePEFile.txt"),
    (
        "m365-hunting",
        "Delivery/Doc attachment with link to download.txt",
    ),
    ("m365-hunting", "Discovery/DetectTorRelayConnectivity.md"),
    // alexverboon-kql: many blocks, fences closed with a tag, fragments, mistagged blocks,
    // parsers in .txt files, named arguments.
    ("alexverboon-kql", "Defender For Endpoint/MDE-Zeek.md"),
    ("alexverboon-kql", "Defender For Endpoint/MDE-ASR State.md"),
    (
        "alexverboon-kql",
        "Defender For Endpoint/MDE-DefenderEngine.md",
    ),
    (
        "alexverboon-kql",
        "Defender For Endpoint/MDE-AggregatedReporting.md",
    ),
    ("alexverboon-kql", "ActiveDirectory/AD-ExtractUserOU.md"),
    (
        "alexverboon-kql",
        "Threat Hunting/TH-Obfuscated or Encoded Commandline.md",
    ),
    ("alexverboon-kql", "Sentinel/Usage/Usage-CloudAppEvents.md"),
    ("alexverboon-kql", "Sentinel/Usage/MDE usage latest.md"),
    (
        "alexverboon-kql",
        "Entra ID/EntraID-PIMRoleSettingChanges.md",
    ),
    ("alexverboon-kql", "Snippets/ipwatchlistcheck.txt"),
    (
        "alexverboon-kql",
        "Sentinel/Parser/Watchlist-NetworkAddresses/NetworkAddresses.txt",
    ),
    ("alexverboon-kql", "Defender For Endpoint/WDAC/MDE-WDAC.md"),
    (
        "alexverboon-kql",
        "Defender For Office 365/MDO-InboxForwarding.md",
    ),
    (
        "alexverboon-kql",
        "AzureResourceGraph/Azure Resource Graph.md",
    ),
    ("alexverboon-kql", "Defender For Endpoint/MDE-Audit.md"),
    ("alexverboon-kql", "Threat Hunting/TH-TopLevelDomains.md"),
    ("alexverboon-kql", "Template.md"),
];

#[test]
fn documents_of_many_shapes() {
    for (name, rel) in DOCUMENTS {
        let Some(root) = corpus(name) else { return };
        let read = catalog::read::read_file(name, &root.join(rel), rel, rel);
        let rules: Vec<serde_json::Value> = read
            .rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "key": r.key,
                    "title": r.meta.title,
                    "line": r.pos.line,
                    "stages": r.logic.stages.iter().map(|s| s.label.clone()).collect::<Vec<_>>(),
                    "tables": r.meta.data_sources.iter()
                        .filter(|(k, _)| k == "table").map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let problems: Vec<String> = read.diagnostics.iter().map(|d| d.to_string()).collect();
        let v = serde_json::json!({
            "format": read.format.map(|f| format!("{f:?}")),
            "rules": rules,
            "problems": problems,
        });
        let snap: String = format!("{name}_{rel}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(60)
            .collect();
        insta::assert_json_snapshot!(snap, v);
    }
}
