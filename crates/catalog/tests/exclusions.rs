//! Exclusions and indicators as an analyst reads them, on real rules of every language: an
//! exclusion is a conjunction (the rule drops an event when all its rows hold), a re-inclusion
//! inside it is a negated row, and what the rule keeps is never listed as excluded.

use catalog::{Catalog, Source};
use ir::{Exclusion, Kind, Rule};
use std::path::{Path, PathBuf};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
}

fn rule(rel: &str) -> Rule {
    let path = corpora().join(rel);
    let read = catalog::read::read_file("t", &path, rel, rel);
    assert!(
        read.diagnostics
            .iter()
            .all(|d| d.severity != ir::Severity::Error),
        "{:?}",
        read.diagnostics
    );
    read.rules.into_iter().next().expect("a rule")
}

/// A row as (field, kind, values, negated).
type Plain = (String, Kind, Vec<String>, bool);

/// Each exclusion as its rows.
fn rows(ex: &[Exclusion]) -> Vec<Vec<Plain>> {
    ex.iter()
        .map(|x| {
            x.all
                .iter()
                .map(|r| {
                    (
                        r.field.clone().unwrap_or_default(),
                        r.kind,
                        r.values.iter().map(|v| v.written.clone()).collect(),
                        r.negated,
                    )
                })
                .collect()
        })
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn gup_filter_excludes_explorer_only_with_the_notepad_plus_plus_command_line() {
    let r = rule(
        "sigma/rules/windows/process_creation/proc_creation_win_gup_arbitrary_binary_execution.yml",
    );
    let ex = ir::exclusions(&r.logic);
    assert_eq!(
        rows(&ex),
        [
            vec![
                (
                    "Image".into(),
                    Kind::EndsWith,
                    strings(&[r"\explorer.exe"]),
                    false
                ),
                (
                    "CommandLine".into(),
                    Kind::Contains,
                    strings(&[r"\Notepad++\notepad++.exe"]),
                    false
                )
            ],
            vec![(
                "ParentImage".into(),
                Kind::Contains,
                strings(&[r"\Notepad++\updater\"]),
                false
            )],
            vec![("CommandLine".into(), Kind::Null, vec![], false)],
        ]
    );
}

#[test]
fn elastic_root_certificate_keeps_its_lolbins_as_a_re_inclusion() {
    let r = rule("elastic/rules/windows/defense_evasion_create_mod_root_certificate.toml");
    let ex = ir::exclusions(&r.logic);
    let last = rows(&ex).pop().unwrap();
    assert_eq!(last.len(), 2, "{last:?}");
    assert_eq!(last[0].0, "process.executable");
    assert_eq!(
        last[0].2,
        strings(&[r"?:\Windows\System32\*.exe", r"?:\Windows\SysWOW64\*.exe"])
    );
    assert!(!last[0].3);
    assert_eq!(last[1].0, "process.name");
    assert!(last[1].3, "the LOLBins are re-included, not excluded");
    assert!(last[1].2.contains(&"certutil.exe".to_string()));
    // No exclusion excludes a LOLBin on its own.
    assert!(
        !rows(&ex)
            .iter()
            .any(|x| x.len() == 1 && x[0].0 == "process.name"),
        "{ex:#?}"
    );
    // The kept LOLBins are what the rule looks for in System32.
    assert!(
        ir::indicators(&r.logic)
            .iter()
            .any(|i| i.field.as_deref() == Some("process.name")
                && i.values.iter().any(|v| v == "certutil.exe"))
    );
}

#[test]
fn kuery_telnet_packets_are_a_re_inclusion() {
    let r = rule(
        "elastic/rules/network/command_and_control_accepted_default_telnet_port_connection.toml",
    );
    let ex = ir::exclusions(&r.logic);
    let netflow = rows(&ex)
        .into_iter()
        .find(|x| {
            x.iter()
                .any(|r| r.0 == "event.action" && r.2 == ["netflow_flow"])
        })
        .expect("the netflow exclusion");
    assert_eq!(
        netflow,
        [
            (
                "event.action".into(),
                Kind::Eq,
                strings(&["netflow_flow"]),
                false
            ),
            ("network.packets".into(), Kind::Gt, strings(&["1"]), true)
        ]
    );
    assert!(
        !rows(&ex)
            .iter()
            .any(|x| x.iter().any(|r| r.0 == "network.packets" && !r.3)),
        "network.packets > 1 is never excluded"
    );
}

/// A rule contradicts itself when an exclusion of one row removes a value the rule requires
/// (the same field, kind and value as one of its indicators). With exclusions read as
/// conjunctions, the corpora hold only the cases listed in docs/exclusions.md.
#[test]
fn self_contradictions_across_the_corpora_are_the_listed_ones() {
    let sources: Vec<Source> = [
        "sigma",
        "mdecrevoisier",
        "splunk",
        "elastic",
        "falconfriday",
    ]
    .iter()
    .map(|n| Source {
        name: n.to_string(),
        root: corpora().join(n),
        include: vec![],
    })
    .collect();
    let cat = Catalog::load(&sources);
    let mut found: Vec<String> = Vec::new();
    for r in &cat.rules {
        // Within one root: the members of an EQL sequence are different events.
        let bad = ir::roots(&r.logic).into_iter().find_map(|root| {
            let ind = ir::indicators_of(&r.logic, &[root]);
            contradiction(&ir::exclusions_of(&r.logic, &[root]), &ind)
        });
        if let Some(b) = bad {
            found.push(format!("{}: {b}", r.key));
        }
    }
    found.sort();
    let listed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/exclusions.md"),
    )
    .unwrap();
    let missing: Vec<&String> = found
        .iter()
        .filter(|f| !listed.contains(f.split(':').next().unwrap()))
        .collect();
    println!(
        "{} self-contradicting rules:\n{}",
        found.len(),
        found.join("\n")
    );
    assert!(
        missing.is_empty(),
        "not explained in docs/exclusions.md: {missing:#?}"
    );
}

/// A one-row exclusion that removes a value an indicator of the same root requires.
fn contradiction(ex: &[Exclusion], ind: &[ir::Row]) -> Option<String> {
    ex.iter().find_map(|x| {
        let [row] = x.all.as_slice() else {
            return None;
        };
        if row.negated || !x.join_on.is_empty() {
            return None;
        }
        ind.iter()
            .filter(|i| i.field == row.field && i.kind == row.kind)
            .flat_map(|i| &i.values)
            .find(|v| row.values.contains(v))
            .map(|v| format!("{} {} {v}", row.field.as_deref().unwrap_or("-"), row.kind))
    })
}
