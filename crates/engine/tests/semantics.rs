//! How each Sigma construct matches events, one small rule per construct.

use engine::{Event, Logsources, Ruleset, read_json};
use proptest::prelude::*;

/// A process_creation rule with this detection (YAML, indented by 4).
fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n{detection}\n"
    )
}

/// A Sysmon process creation event with these event data fields (JSON object members).
fn event(data: &str) -> Event {
    let json = format!(
        r##"{{"Event": {{"System": {{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Provider": {{"#attributes": {{"Name": "Microsoft-Windows-Sysmon"}}}}}}, "EventData": {{{data}}}}}}}"##
    );
    let (mut evs, errors) = read_json(&json, "test");
    assert!(errors.is_empty(), "{errors:?}");
    evs.remove(0)
}

fn fires(detection: &str, data: &str) -> bool {
    let text = rule(detection);
    let set = Ruleset::compile([("r.yml", text.as_str())], &Logsources::builtin());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    !set.matches(&event(data)).is_empty()
}

#[test]
fn strings_are_case_insensitive_with_wildcards() {
    let d = "    sel:\n        Image|endswith: '\\CMD.exe'\n    condition: sel";
    assert!(fires(d, r#""Image": "C:\\Windows\\System32\\cmd.EXE""#));
    assert!(!fires(
        d,
        r#""Image": "C:\\Windows\\System32\\cmd.exe.bak""#
    ));
    let d = "    sel:\n        CommandLine: '*-enc*JAB?'\n    condition: sel";
    assert!(fires(d, r#""CommandLine": "powershell -ENC xJABc""#));
    assert!(!fires(d, r#""CommandLine": "powershell -ENC xJABcd""#));
    // an escaped wildcard is a literal character
    let d = "    sel:\n        CommandLine: 'a\\*b'\n    condition: sel";
    assert!(fires(d, r#""CommandLine": "a*b""#));
    assert!(!fires(d, r#""CommandLine": "axxb""#));
}

#[test]
fn cased_compares_exactly() {
    let d = "    sel:\n        CommandLine|cased|contains: 'Invoke'\n    condition: sel";
    assert!(fires(d, r#""CommandLine": "x Invoke-Expression""#));
    assert!(!fires(d, r#""CommandLine": "x invoke-expression""#));
}

#[test]
fn lists_are_or_maps_are_and_all_is_and() {
    let d = "    sel:\n        Image|endswith:\n            - '\\a.exe'\n            - '\\b.exe'\n        User: 'x'\n    condition: sel";
    assert!(fires(d, r#""Image": "C:\\b.exe", "User": "X""#));
    assert!(!fires(d, r#""Image": "C:\\b.exe", "User": "y""#));
    let d = "    sel:\n        CommandLine|contains|all:\n            - ' -a '\n            - ' -b '\n    condition: sel";
    assert!(fires(d, r#""CommandLine": "t -b  -a x""#));
    assert!(!fires(d, r#""CommandLine": "t -a x""#));
}

#[test]
fn conditions_not_and_of() {
    let d = "    selection:\n        Image|endswith: '\\a.exe'\n    filter_main_x:\n        User: 'SYSTEM'\n    filter_optional_y:\n        ParentImage|endswith: '\\p.exe'\n    condition: selection and not 1 of filter_*";
    assert!(fires(d, r#""Image": "C:\\a.exe", "User": "bob""#));
    assert!(!fires(d, r#""Image": "C:\\a.exe", "User": "system""#));
    assert!(!fires(
        d,
        r#""Image": "C:\\a.exe", "User": "bob", "ParentImage": "C:\\p.exe""#
    ));
    let d = "    sel_a:\n        User: 'a'\n    sel_b:\n        Image: 'b'\n    condition: all of sel_*";
    assert!(fires(d, r#""User": "a", "Image": "b""#));
    assert!(!fires(d, r#""User": "a", "Image": "c""#));
}

#[test]
fn null_exists_and_numbers() {
    let d = "    sel:\n        Image: 'x'\n        ParentImage: null\n    condition: sel";
    assert!(fires(d, r#""Image": "x""#));
    assert!(fires(d, r#""Image": "x", "ParentImage": """#));
    assert!(!fires(d, r#""Image": "x", "ParentImage": "p""#));
    let d = "    sel:\n        Image: 'x'\n        ParentImage|exists: true\n    condition: sel";
    assert!(fires(d, r#""Image": "x", "ParentImage": "p""#));
    assert!(!fires(d, r#""Image": "x""#));
    let d = "    sel:\n        EventID: 1\n        ProcessId|gte: 100\n    condition: sel";
    assert!(fires(d, r#""ProcessId": 4460"#));
    assert!(fires(d, r#""ProcessId": "100""#));
    assert!(!fires(d, r#""ProcessId": 99"#));
}

#[test]
fn regex_cidr_fieldref_windash_base64offset_keywords() {
    let d = "    sel:\n        CommandLine|re: '^c.*\\.exe$'\n    condition: sel";
    assert!(fires(d, r#""CommandLine": "cmd.exe""#));
    assert!(!fires(d, r#""CommandLine": "CMD.EXE""#)); // regexes are case-sensitive
    let d = "    sel:\n        CommandLine|re|i: '^c.*\\.exe$'\n    condition: sel";
    assert!(fires(d, r#""CommandLine": "CMD.EXE""#));
    let d = "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel";
    assert!(fires(d, r#""DestinationIp": "10.20.30.40""#));
    assert!(!fires(d, r#""DestinationIp": "100.20.30.40""#));
    let d = "    sel:\n        ParentImage|fieldref: Image\n    condition: sel";
    assert!(fires(
        d,
        r#""Image": "C:\\A.exe", "ParentImage": "c:\\a.exe""#
    ));
    assert!(!fires(
        d,
        r#""Image": "C:\\A.exe", "ParentImage": "c:\\b.exe""#
    ));
    let d = "    sel:\n        CommandLine|windash|contains: ' -s '\n    condition: sel";
    assert!(fires(d, r#""CommandLine": "x /s y""#));
    assert!(fires(d, "\"CommandLine\": \"x \u{2013}s y\""));
    assert!(!fires(d, r#""CommandLine": "x +s y""#));
    // "http://" base64-encoded at any of the three offsets
    let d = "    sel:\n        CommandLine|base64offset|contains: 'http://'\n    condition: sel";
    assert!(fires(d, r#""CommandLine": "-e aHR0cDovL2V4YW1wbGU=""#));
    assert!(!fires(d, r#""CommandLine": "-e aGVsbG8gd29ybGQ=""#));
    let d = "    keywords:\n        - 'mimikatz'\n    condition: keywords";
    assert!(fires(d, r#""CommandLine": "run MIMIKATZ now""#));
    assert!(!fires(d, r#""CommandLine": "run mimi now""#));
}

#[test]
fn the_logsource_decides_which_events_a_rule_sees() {
    let text = rule("    sel:\n        Image: 'x'\n    condition: sel");
    let set = Ruleset::compile([("r.yml", text.as_str())], &Logsources::builtin());
    let registry = r#"{"Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 13}, "EventData": {"Image": "x"}}}"#;
    let security = r#"{"Event": {"System": {"Channel": "Security", "EventID": 1}, "EventData": {"Image": "x"}}}"#;
    for json in [registry, security] {
        let (evs, _) = read_json(json, "t");
        assert!(set.matches(&evs[0]).is_empty(), "{json}");
    }
    // Sysmon for Linux writes the Sysmon ids to its own channel.
    let linux = "title: t\nlogsource:\n    product: linux\n    category: process_creation\ndetection:\n    sel:\n        Image: x\n    condition: sel\n";
    let set = Ruleset::compile([("l.yml", linux)], &Logsources::builtin());
    let on_linux = r#"{"Event": {"System": {"Channel": "Linux-Sysmon/Operational", "EventID": 1}, "EventData": {"Image": "x"}}}"#;
    let (evs, _) = read_json(on_linux, "t");
    assert_eq!(set.matches(&evs[0]).len(), 1);
    let file_access = "title: t\nlogsource:\n    product: windows\n    category: file_access\ndetection:\n    sel:\n        Image: x\n    condition: sel\n";
    let set = Ruleset::compile([("f.yml", file_access)], &Logsources::builtin());
    assert_eq!(set.rules.len(), 0);
    assert!(
        set.skipped[0].reason.contains("no event log mapping"),
        "{:?}",
        set.skipped
    );
}

/// Rules are looked up by the event ids their `EventID` items name: every rule the slow way
/// (each rule evaluated) finds is found, with one id, several ids, text ids, or none.
#[test]
fn rules_are_found_under_the_event_ids_they_name() {
    let rule = |name: &str, detection: &str| {
        format!(
            "title: {name}\nlogsource:\n    product: windows\n    service: security\ndetection:\n{detection}\n"
        )
    };
    let rules = [
        rule("one", "    sel:\n        EventID: 4634\n    condition: sel"),
        rule(
            "list",
            "    sel:\n        EventID:\n            - 4624\n            - 4625\n    condition: sel",
        ),
        rule(
            "or",
            "    a:\n        EventID: 4624\n    b:\n        EventID: 7045\n        X: y\n    condition: a or b",
        ),
        rule(
            "and",
            "    a:\n        EventID: 4624\n    b:\n        X: y\n    condition: a and b",
        ),
        rule("not", "    a:\n        EventID: 4624\n    condition: not a"),
        rule(
            "orunknown",
            "    a:\n        EventID: 4624\n    b:\n        X: y\n    condition: a or b",
        ),
        rule(
            "all",
            "    a:\n        EventID|all:\n            - 4624\n            - 1\n    condition: a",
        ),
    ];
    let set = Ruleset::compile(
        rules
            .iter()
            .enumerate()
            .map(|(i, r)| (["a", "b", "c", "d", "e", "f", "g"][i], r.as_str())),
        &Logsources::builtin(),
    );
    assert_eq!(set.rules.len(), rules.len(), "{:?}", set.skipped);
    let ids = [
        "4634",
        "4624",
        "7045",
        "1",
        "\"4624\"",
        "\" 4625\"",
        "4624.0",
        "[1, 4624]",
        "[4624, 1]",
        "[7045, 4634]",
        "\"x\"",
        "null",
    ];
    let mut found = 0;
    for id in ids {
        for x in ["\"y\"", "\"z\""] {
            let json = format!(
                r#"{{"Event": {{"System": {{"Channel": "Security", "EventID": {id}}}, "EventData": {{"X": {x}}}}}}}"#
            );
            let (evs, errors) = read_json(&json, "t");
            assert!(errors.is_empty(), "{errors:?}");
            let fast: Vec<&str> = set
                .matches(&evs[0])
                .iter()
                .map(|r| r.title.as_str())
                .collect();
            let slow: Vec<&str> = (set.matches_unfiltered(&evs[0]).iter())
                .map(|r| r.title.as_str())
                .collect();
            assert_eq!(fast, slow, "{json}");
            found += fast.len();
        }
    }
    assert!(found >= 20, "{found}");
}

#[test]
fn unreadable_events_are_reported_with_their_position() {
    let (evs, errors) = read_json("{\"a\": 1}\n{\"b\": }\n", "bad.json");
    assert_eq!(evs.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (2, 7), "{errors:?}");
    assert!(errors[0].to_string().starts_with("bad.json:2:7: not JSON"));
}

/// A wildcard matcher written the obvious way, to check the compiled one against.
fn reference(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|i| reference(rest, &text[i..])),
        Some(('?', rest)) => !text.is_empty() && reference(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && reference(rest, &text[1..]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn wildcards_match_as_the_reference(pattern in "[ab*?]{0,6}", text in "[ab]{0,8}") {
        let d = format!("    sel:\n        CommandLine: '{pattern}'\n    condition: sel");
        let want = reference(&pattern.chars().collect::<Vec<_>>(), &text.chars().collect::<Vec<_>>());
        prop_assert_eq!(fires(&d, &format!(r#""CommandLine": "{text}""#)), want);
    }
}
