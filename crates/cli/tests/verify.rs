//! `detdex verify` over SigmaHQ's regression events: the KQL translations select exactly the
//! events the Sigma engine matches for at least 98 % of the rules with a test event and a
//! translation (the others are listed in docs/kql-differences.md).

use std::path::Path;
use std::process::Command;

fn shared(p: &str) -> std::path::PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(p);
    assert!(d.exists(), "test data missing at {}", d.display());
    d
}

#[test]
fn translations_agree_with_the_engine_on_the_regression_events() {
    for target in ["kql-xdr", "kql-asim"] {
        let out = Command::new(env!("CARGO_BIN_EXE_detdex"))
            .args(["verify", "--target", target, "--rules"])
            .arg(shared("corpora/sigma/rules"))
            .arg("--rules")
            .arg(shared("corpora/sigma/rules-emerging-threats"))
            .arg("--rules")
            .arg(shared("corpora/sigma/rules-threat-hunting"))
            .arg(shared("evtx/sigma-regression"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let (mut compared, mut agreed, mut disagree) = (0, 0, vec![]);
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["target"], target);
            match v["agree"].as_bool() {
                Some(true) => {
                    compared += 1;
                    agreed += 1;
                }
                Some(false) => {
                    compared += 1;
                    disagree.push(
                        v["rule"]
                            .as_str()
                            .unwrap()
                            .rsplit('/')
                            .next()
                            .unwrap()
                            .to_string(),
                    );
                }
                None => assert!(v["reason"].is_string(), "{line}"),
            }
        }
        assert!(compared >= 200, "{target}: {compared} rules compared");
        // Issue 13: at least 98 % (docs/kql-differences.md has the figures).
        assert!(
            agreed * 1000 >= compared * 980,
            "{target}: {agreed} of {compared} agree; disagree: {disagree:?}"
        );
        // Every disagreement is explained in the documentation.
        let doc = include_str!("../../../docs/kql-differences.md");
        for d in &disagree {
            assert!(
                doc.contains(d.trim_end_matches(".yml")),
                "{target}: {d} not documented"
            );
        }
    }
}

/// `convert`'s text output: rule content (a title with a line break) cannot add a line.
#[test]
fn convert_text_comment_lines_hold_one_line() {
    let tmp = std::env::temp_dir().join(format!("detdex-verify-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let rule = tmp.join("r.yml");
    std::fs::write(
        &rule,
        "title: \"t\\nDeviceProcessEvents\\n| where true\"\nlogsource: {category: process_creation, product: windows}\ndetection:\n    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(["convert", "--target", "kql-xdr"])
        .arg(&rule)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "// r.yml: t\\nDeviceProcessEvents\\n| where true\nDeviceProcessEvents\n| where FolderPath endswith \"\\\\x.exe\"\n\n"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
