//! `detdex hunt` as a responder uses it (timeline, level filter, which log fired, matched
//! fields) and `detdex test` on SigmaHQ's regression data.

use std::path::PathBuf;
use std::process::{Command, Output};

fn shared() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(p.is_dir(), "test data missing at {}", p.display());
    p
}

fn detdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_detdex"))
        .args(args)
        .output()
        .expect("run detdex")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("detdex-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const RULES: &str = "title: Whoami\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n    condition: sel\nlevel: low\n---\ntitle: Encoded PowerShell\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    sel:\n        CommandLine|contains: ' -enc '\n    condition: sel\nlevel: high\n";

fn event(channel: &str, id: u32, time: &str, data: &str) -> String {
    format!(
        r##"{{"Event": {{"System": {{"Channel": "{channel}", "EventID": {id}, "Computer": "WS1", "TimeCreated": {{"#attributes": {{"SystemTime": "{time}"}}}}}}, "EventData": {{{data}}}}}}}"##
    )
}

#[test]
fn hunt_writes_a_timeline_across_files_and_logs() {
    let dir = temp("timeline");
    std::fs::write(dir.join("rules.yml"), RULES).unwrap();
    // the later events in the first file, the earlier in the second
    std::fs::write(
        dir.join("a.jsonl"),
        [
            event(
                "Microsoft-Windows-Sysmon/Operational",
                1,
                "2026-01-01T12:00:00Z",
                r#""Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami""#,
            ),
            event(
                "Microsoft-Windows-Sysmon/Operational",
                1,
                "2026-01-01T11:00:00Z",
                r#""Image": "C:\\p\\powershell.exe", "CommandLine": "powershell -enc AAAA""#,
            ),
        ]
        .join("\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("b.jsonl"),
        event(
            "Security",
            4688,
            "2026-01-01T10:00:00Z",
            r#""NewProcessName": "C:\\Windows\\System32\\whoami.exe", "SubjectUserName": "bob", "SubjectDomainName": "CORP""#,
        ),
    )
    .unwrap();
    let rules = dir.join("rules.yml");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "hunt",
            "--format",
            "jsonl",
            "--rules",
            rules.to_str().unwrap(),
        ];
        args.extend(extra);
        args.push(dir.to_str().unwrap());
        let out = detdex(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (all, stderr) = run(&[]);
    let rows: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|v| {
            (
                v["time"].as_str().unwrap(),
                v["title"].as_str().unwrap(),
                v["log"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-01-01T10:00:00.000Z", "Whoami", "Security 4688"),
            (
                "2026-01-01T11:00:00.000Z",
                "Encoded PowerShell",
                "Microsoft-Windows-Sysmon/Operational 1"
            ),
            (
                "2026-01-01T12:00:00.000Z",
                "Whoami",
                "Microsoft-Windows-Sysmon/Operational 1"
            ),
        ]
    );
    // the matched field, under its Sigma name on the Security event too
    assert_eq!(all[0]["matched"][0]["field"], "Image");
    assert_eq!(all[0]["matched"][0]["detection"], "sel");
    assert_eq!(all[1]["matched"][0]["value"], "powershell -enc AAAA");
    // the per-rule summary
    assert!(stderr.contains("      2  low           Whoami"), "{stderr}");
    assert!(
        stderr.contains("      1  high          Encoded PowerShell"),
        "{stderr}"
    );

    let (high, _) = run(&["--min-level", "high"]);
    assert_eq!(high.len(), 1);
    assert_eq!(high[0]["title"], "Encoded PowerShell");

    // as they come: reading order
    let (unsorted, _) = run(&["--no-sort"]);
    assert_eq!(unsorted.len(), 3);
    assert_eq!(unsorted[0]["time"], "2026-01-01T12:00:00.000Z");

    // the table: a header, aligned columns
    let out = detdex(&[
        "hunt",
        "--rules",
        rules.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("time  "), "{table}");
    let col = lines[0].find("level").unwrap();
    assert!(
        lines[1..].iter().all(|l| l[col..].starts_with(['l', 'h'])),
        "{table}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hunt_reads_cloudtrail_with_a_given_logsource() {
    let dir = temp("cloudtrail");
    let rule = shared()
        .join("corpora/sigma/rules/cloud/aws/cloudtrail/aws_cloudtrail_disable_logging.yml");
    // no eventVersion/awsRegion: not recognizable, so only with --logsource
    std::fs::write(
        dir.join("ct.jsonl"),
        "{\"eventTime\": \"2026-01-01T10:00:00Z\", \"eventSource\": \"cloudtrail.amazonaws.com\", \"eventName\": \"StopLogging\"}\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["hunt", "--format", "csv", "--rules", rule.to_str().unwrap()];
        args.extend(extra);
        args.push(dir.to_str().unwrap());
        String::from_utf8_lossy(&detdex(&args).stdout).to_string()
    };
    assert_eq!(run(&[]).lines().count(), 0);
    let given = run(&["--logsource", "product=aws,service=cloudtrail"]);
    assert_eq!(given.lines().count(), 2, "{given}");
    assert!(
        given.contains("product: aws, service: cloudtrail"),
        "{given}"
    );
    let out = detdex(&[
        "hunt",
        "--logsource",
        "vendor=aws",
        "--rules",
        rule.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn test_runs_the_regression_data_as_a_suite() {
    let rules = shared().join("corpora/sigma/rules/windows/registry");
    let data = shared().join("evtx/sigma-regression/rules/windows/registry");
    let out = detdex(&["test", rules.to_str().unwrap(), data.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let passed = stdout.lines().filter(|l| l.starts_with("PASS ")).count();
    assert!(passed >= 30, "{stdout}");
    assert!(!stdout.contains("FAIL "), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.contains(&format!("{passed} passed, 0 failed")),
        "{last}"
    );
    // a match_count that differs is shown with each event the rule's conditions hold on
    assert!(
        stdout.contains("match_count 1, the rule's conditions hold on 3 of its 3 events"),
        "{stdout}"
    );

    // a rule that does not fire fails the suite
    let dir = temp("suite");
    let case = dir.join("case");
    std::fs::create_dir_all(&case).unwrap();
    let some = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    let some = std::fs::read_dir(&some)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap();
    for f in std::fs::read_dir(&some).unwrap().flatten() {
        std::fs::copy(f.path(), case.join(f.file_name())).unwrap();
    }
    let info = std::fs::read_to_string(case.join("info.yml")).unwrap();
    let id = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("- id: "))
        .unwrap()
        .trim();
    std::fs::write(
        dir.join("rule.yml"),
        format!("title: Never\nid: {id}\nlogsource:\n    product: windows\n    category: registry_set\ndetection:\n    sel:\n        TargetObject: 'nothing-like-this'\n    condition: sel\n"),
    )
    .unwrap();
    let out = detdex(&[
        "test",
        dir.join("rule.yml").to_str().unwrap(),
        case.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("FAIL "), "{stdout}");
    assert!(stdout.contains("fired on none of its"), "{stdout}");
}
