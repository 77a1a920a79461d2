//! `detdex similar`, run as a user runs it, on SigmaHQ's process-creation rules and Splunk's
//! detections: seed 003's similar rules reach across sources, its `related:` ids resolve.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn similar_rules_of_seed_003() {
    let corpora = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let sigma = format!(
        "sigma={}",
        corpora
            .join("sigma/rules/windows/process_creation")
            .display()
    );
    let splunk = format!("splunk={}", corpora.join("splunk").display());
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_detdex"))
            .args(["similar", "--source", &sigma, "--source", &splunk])
            .args(extra)
            .arg("d21374ff-f574-44a7-9998-4a8c8bf33d7d")
            .output()
            .expect("run detdex");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let j: serde_json::Value = serde_json::from_str(&run(&["--format", "json"])).unwrap();
    let similar = j["similar"].as_array().unwrap();
    assert_eq!(similar.len(), 10);
    let scores: Vec<f64> = similar
        .iter()
        .map(|s| s["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // At most half from the rule's own source: Splunk's rules testing the same parent show.
    assert!(similar.iter().filter(|s| s["source"] == "sigma").count() <= 5);
    assert!(similar.iter().any(|s| {
        s["source"] == "splunk"
            && s["shared"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["value"] == "wmiprvse.exe")
    }));
    // Both related ids are rules of the catalog.
    let related = j["related"].as_array().unwrap();
    assert_eq!(related.len(), 2);
    assert!(
        related
            .iter()
            .all(|r| r["relation"] == "similar" && r["rule"]["key"].is_string())
    );
    let text = run(&["--limit", "3"]);
    assert!(
        text.starts_with("Rules like WmiPrvSE Spawned A Process ("),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with("shares "))
            .count(),
        3
    );
    assert!(text.contains("Related (named by the rule)"));
}
