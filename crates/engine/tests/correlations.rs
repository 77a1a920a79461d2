//! Sigma correlations on hand-made Security events: counts, distinct values and sequences per
//! group within the timespan.

use engine::{Logsources, Ruleset, read_json};

const RULES: &str = r#"title: Failed logon
id: 00000000-0000-0000-0000-000000000001
name: failed_logon
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Successful logon
name: logon
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
    condition: selection
---
title: Many failed logons from one address
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        gte: 3
level: medium
---
title: Password spraying
correlation:
    type: value_count
    rules:
        - 00000000-0000-0000-0000-000000000001
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        field: TargetUserName
        gte: 3
---
title: Failed then successful logon
correlation:
    type: temporal_ordered
    rules:
        - failed_logon
        - logon
    group-by:
        - IpAddress
    timespan: 1m
"#;

fn event(id: u32, time: &str, ip: &str, user: &str) -> String {
    format!(
        r##"{{"Event": {{"System": {{"Channel": "Security", "EventID": {id}, "TimeCreated": {{"#attributes": {{"SystemTime": "{time}"}}}}}}, "EventData": {{"IpAddress": "{ip}", "TargetUserName": "{user}"}}}}}}"##
    )
}

#[test]
fn correlations_count_per_group_within_the_timespan() {
    let set = Ruleset::compile([("r.yml", RULES)], &Logsources::builtin());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    assert_eq!((set.rules.len(), set.correlations.len()), (2, 3));
    let events = [
        // 10.0.0.1: three failures in two minutes (same user), then a logon 30 s later
        event(4625, "2026-01-01T10:00:00Z", "10.0.0.1", "bob"),
        event(4625, "2026-01-01T10:01:00Z", "10.0.0.1", "bob"),
        event(4625, "2026-01-01T10:02:00.500Z", "10.0.0.1", "bob"),
        event(4624, "2026-01-01T10:02:30Z", "10.0.0.1", "bob"),
        // 10.0.0.2: three failures for three users in one minute
        event(4625, "2026-01-01T11:00:00Z", "10.0.0.2", "a"),
        event(4625, "2026-01-01T11:00:20Z", "10.0.0.2", "b"),
        event(4625, "2026-01-01T11:00:40Z", "10.0.0.2", "c"),
        // 10.0.0.3: three failures twenty minutes apart, a logon first
        event(4624, "2026-01-01T11:59:00Z", "10.0.0.3", "x"),
        event(4625, "2026-01-01T12:00:00Z", "10.0.0.3", "x"),
        event(4625, "2026-01-01T12:20:00Z", "10.0.0.3", "y"),
        event(4625, "2026-01-01T12:40:00Z", "10.0.0.3", "z"),
        // no time: never correlated
        r#"{"Event": {"System": {"Channel": "Security", "EventID": 4625}, "EventData": {"IpAddress": "10.0.0.4"}}}"#.to_string(),
    ];
    let (events, errors) = read_json(&events.join("\n"), "e.json");
    assert!(errors.is_empty(), "{errors:?}");
    let hits: Vec<Vec<usize>> = events.iter().map(|e| set.match_indexes(e)).collect();
    let mut found: Vec<(String, String, usize)> = set
        .correlate(&events, &hits)
        .iter()
        .map(|h| {
            (
                set.correlations[h.correlation].title.clone(),
                h.group[0].1.clone(),
                h.count,
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            // the window of the last failure (10:02:00.5) and the logon 30 s later
            (
                "Failed then successful logon".to_string(),
                "10.0.0.1".to_string(),
                2
            ),
            (
                "Many failed logons from one address".to_string(),
                "10.0.0.1".to_string(),
                3
            ),
            (
                "Many failed logons from one address".to_string(),
                "10.0.0.2".to_string(),
                3
            ),
            ("Password spraying".to_string(), "10.0.0.2".to_string(), 3),
        ]
    );
}

#[test]
fn a_correlation_of_unknown_rules_is_skipped_with_the_reason() {
    let text = "title: c\ncorrelation:\n    type: event_count\n    rules:\n        - nowhere\n    group-by:\n        - IpAddress\n    timespan: 5m\n    condition:\n        gte: 3\n";
    let set = Ruleset::compile([("c.yml", text)], &Logsources::builtin());
    assert!(set.correlations.is_empty());
    assert!(
        set.skipped[0]
            .reason
            .contains("`nowhere` is not among the compiled rules"),
        "{:?}",
        set.skipped
    );
}
