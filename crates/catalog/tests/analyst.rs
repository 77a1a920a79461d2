//! The analyst sections (hunt hypothesis, false-positive guidance, confidence) of the seed
//! rules, derived from the rules over a catalog of SigmaHQ's process-creation and image-load
//! rules and Splunk's endpoint detections; and over every rule of that catalog, a confidence
//! whose score is the sum of the reasons it shows.

use catalog::{Catalog, Source};
use std::path::{Path, PathBuf};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
}

fn load() -> Catalog {
    let sigma = corpora().join("sigma");
    let splunk = corpora().join("splunk");
    Catalog::load(&[
        Source {
            name: "sigma".into(),
            root: sigma.clone(),
            include: vec![
                sigma.join("rules/windows/process_creation"),
                sigma.join("rules/windows/image_load"),
            ],
        },
        Source {
            name: "splunk".into(),
            root: splunk,
            include: vec![],
        },
    ])
}

#[test]
fn seeds_analyst_sections() {
    let cat = load();
    let get = |key: &str| {
        let rule = cat.get(key).unwrap_or_else(|| panic!("{key} not loaded"));
        catalog::report(&cat, rule)
    };

    // Seed 003: stable, medium, five exclusions, the author's false positive.
    let r =
        get("sigma/rules/windows/process_creation/proc_creation_win_wmiprvse_spawning_process.yml");
    let a = &r.analyst;
    assert!(
        a.hypothesis
            .text
            .contains("Windows Management Instrumentation (T1047)"),
        "{a:?}"
    );
    assert!(
        a.hypothesis
            .text
            .contains("Detects WmiPrvSE spawning a process")
    );
    assert_eq!(a.confidence.level, "high", "{:?}", a.confidence);
    assert!(a.confidence.why.iter().any(|w| w == "+2: status stable"));
    assert!(a.false_positives.points.iter().any(|p| p
        == "The author expects: False positives are expected (e.g. in environments where WinRM is used legitimately)"));
    assert!(
        a.false_positives
            .points
            .iter()
            .any(|p| p.starts_with(&format!(
                "Already filtered out by the author: {} exclusions",
                r.exclusions.len()
            )))
    );

    // Seed 000: status test, falsepositives "Unknown": medium, and no invented case.
    let r = get("sigma/rules/windows/image_load/image_load_wsman_provider_image_load.yml");
    let a = &r.analyst;
    assert_eq!(a.confidence.level, "medium", "{:?}", a.confidence);
    assert!(
        !a.false_positives
            .points
            .iter()
            .any(|p| p.starts_with("The author expects"))
    );
    assert!(
        a.false_positives
            .why
            .iter()
            .any(|w| w.contains("none known (Unknown)"))
    );
    assert!(
        a.hypothesis
            .text
            .contains("Command and Scripting Interpreter: PowerShell (T1059.001)")
    );

    // Seed 004 (Splunk): the known false positives, and PowerShell.EXE common across sources.
    let r =
        get("splunk/detections/endpoint/remote_process_instantiation_via_winrm_and_powershell.yml");
    let a = &r.analyst;
    assert!(
        a.hypothesis
            .text
            .contains("Remote Services: Windows Remote Management (T1021.006)"),
        "{a:?}"
    );
    // The technique is said once, by its sub-technique.
    assert!(
        !a.hypothesis.text.contains("Remote Services (T1021)"),
        "{a:?}"
    );
    assert!(a.false_positives.points.iter().any(|p| p.starts_with(
        "The author expects: Administrators may leverage WinRM and `Invoke-Command`"
    )));
    let ind = r
        .indicators
        .iter()
        .find(|i| i.field.as_deref() == Some("Processes.original_file_name"))
        .expect("original_file_name indicator");
    let i = ind
        .values
        .iter()
        .position(|v| v == "PowerShell.EXE")
        .unwrap();
    let c = &ind.corpus[i];
    assert!(
        c.total >= catalog::analyst::COMMON && c.by_source.len() >= 2,
        "{c:?}"
    );
    let point = format!(
        "Processes.original_file_name eq \"PowerShell.EXE\" is common: {} rules in {} sources test it",
        c.total,
        c.by_source.len()
    );
    assert!(
        a.false_positives
            .points
            .iter()
            .any(|p| p.starts_with(&point)),
        "{point} in {:?}",
        a.false_positives
    );
    // Production, but no exclusions (Splunk tunes through an empty `_filter` macro).
    assert_eq!(a.confidence.level, "medium", "{:?}", a.confidence);
}

#[test]
fn every_confidence_is_the_sum_of_its_reasons() {
    let cat = load();
    assert!(cat.rules.len() > 1500, "{}", cat.rules.len());
    let mut levels = std::collections::BTreeMap::new();
    for rule in &cat.rules {
        let r = catalog::report(&cat, rule);
        let c = &r.analyst.confidence;
        let sum: i32 = c
            .why
            .iter()
            .map(|w| w.split(':').next().unwrap().parse::<i32>().unwrap())
            .sum();
        assert_eq!(sum, c.score, "{}: {c:?}", rule.key);
        let level = match c.score {
            3.. => "high",
            1..=2 => "medium",
            _ => "low",
        };
        assert_eq!(level, c.level, "{}", rule.key);
        assert!(!r.analyst.hypothesis.text.is_empty(), "{}", rule.key);
        *levels.entry(c.level).or_insert(0) += 1;
    }
    // Every level occurs: the factors separate the rules.
    assert_eq!(levels.len(), 3, "{levels:?}");
    println!("{levels:?}");
}
