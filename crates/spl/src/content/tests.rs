use super::*;

const OLD: &str = r#"name: Test Detection
id: 11111111-2222-3333-4444-555555555555
version: 4
date: '2024-09-30'
author: Someone, Splunk
status: production
type: TTP
description: Finds things.
data_source:
- Sysmon EventID 1
search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes where `process_powershell` by Processes.dest | `drop_dm_object_name(Processes)` | `test_detection_filter`'
how_to_implement: Ingest logs.
known_false_positives: Admins.
references:
- https://example.com/a
drilldown_searches:
- name: View the detection results for $dest$
  search: '%original_detection_search% | search  dest = $dest$'
  earliest_offset: $info_min_time$
  latest_offset: $info_max_time$
tags:
  analytic_story:
  - Story One
  asset_type: Endpoint
  confidence: 50
  impact: 90
  message: A process on $dest$
  mitre_attack_id:
  - T1021.006
  observable:
  - name: dest
    type: Endpoint
    role:
    - Victim
  product:
  - Splunk Enterprise
  required_fields:
  - _time
  risk_score: 45
  security_domain: endpoint
  manual_test: run it by hand
tests:
- name: True Positive Test
  attack_data:
  - data: https://example.com/windows-sysmon.log
    source: XmlWinEventLog:Microsoft-Windows-Sysmon/Operational
    sourcetype: xmlwineventlog
"#;

#[test]
fn reads_the_corpus_layout() {
    let r = read_detection("d.yml", OLD);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let d = r.value.unwrap();
    assert_eq!(d.name, "Test Detection");
    assert_eq!(d.version, Some(4));
    assert_eq!(d.date.as_deref(), Some("2024-09-30"));
    assert_eq!(d.kind.as_deref(), Some("TTP"));
    assert_eq!(d.data_source, vec!["Sysmon EventID 1"]);
    assert!(
        d.search
            .starts_with("| tstats `security_content_summariesonly`")
    );
    assert_eq!(d.search_span.start, Pos { line: 11, col: 9 });
    assert!(OLD[d.search_span.start_byte..d.search_span.end_byte].starts_with("'| tstats"));
    assert_eq!(d.drilldown_searches.len(), 1);
    assert_eq!(
        d.drilldown_searches[0].earliest_offset.as_deref(),
        Some("$info_min_time$")
    );
    let t = &d.tags;
    assert_eq!(t.analytic_story, vec!["Story One"]);
    assert_eq!(t.mitre_attack_id, vec!["T1021.006"]);
    assert_eq!(
        (t.confidence, t.impact, t.risk_score),
        (Some(50), Some(90), Some(45))
    );
    assert_eq!(t.observable[0].role, vec!["Victim"]);
    assert_eq!(t.other.len(), 1);
    assert_eq!(t.other[0].0, "manual_test");
    assert_eq!(
        d.tests[0].attack_data[0].sourcetype.as_deref(),
        Some("xmlwineventlog")
    );
    assert!(d.other.is_empty());
}

#[test]
fn reads_the_newer_layout() {
    let text = r#"name: New
id: ba24cda8-4716-11ec-8009-3e22fbd008af
version: 12
creation_date: '2021-11-15'
modification_date: '2026-05-13'
author: A
status: production
type: TTP
description: D
data_source:
    - Sysmon EventID 1
search: |-
    | tstats count FROM datamodel=Endpoint.Processes
    | `x_filter`
finding:
    title: A process was started on $dest$
    entity:
        field: dest
        type: system
        score: 50
rba:
    message: m
    risk_objects:
      - field: user
        type: user
        score: 20
    threat_objects:
      - field: process
        type: process
analytic_story:
    - Active Directory Lateral Movement
asset_type: Endpoint
mitre_attack_id:
    - T1021.006
product:
    - Splunk Cloud
category: endpoint
security_domain: endpoint
"#;
    let r = read_detection("n.yml", text);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let d = r.value.unwrap();
    assert_eq!(
        d.search,
        "| tstats count FROM datamodel=Endpoint.Processes\n| `x_filter`"
    );
    assert_eq!(d.search_span.start.line, 12);
    assert_eq!(d.creation_date.as_deref(), Some("2021-11-15"));
    assert_eq!(
        d.tags.analytic_story,
        vec!["Active Directory Lateral Movement"]
    );
    assert_eq!(d.tags.mitre_attack_id, vec!["T1021.006"]);
    assert_eq!(d.tags.security_domain.as_deref(), Some("endpoint"));
    let f = d.finding.unwrap();
    assert_eq!(f.entities[0].score, Some(50));
    let rba = d.rba.unwrap();
    assert_eq!(rba.risk_objects[0].field.as_deref(), Some("user"));
    assert_eq!(rba.threat_objects[0].kind.as_deref(), Some("process"));
    assert_eq!(d.other.len(), 1);
    assert_eq!(d.other[0].0, "category");
}

#[test]
fn problems_have_positions() {
    // missing search: error, no value
    let r = read_detection("x.yml", "name: a\nid: b\n");
    assert!(r.value.is_none());
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].severity, Severity::Error);
    assert!(r.problems[0].message.contains("`search`"));
    // wrong types: warnings, value kept
    let text = "name: a\nid: b\nsearch: x\nversion: v1\nreferences: http://x\ntags:\n  confidence: high\n  analytic_story: {a: 1}\n";
    let r = read_detection("x.yml", text);
    let d = r.value.expect("kept");
    assert_eq!(d.references, vec!["http://x"]);
    assert_eq!(d.version, None);
    let msgs: Vec<_> = r
        .problems
        .iter()
        .map(|p| format!("{}:{} {}", p.line, p.col, p.message))
        .collect();
    assert!(
        msgs.contains(&"4:10 `version` should be an integer, found a string: ignored".to_string()),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("5:13 `references` should be a list")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.starts_with("7:15 `confidence`")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.starts_with("8:19 `analytic_story`")),
        "{msgs:?}"
    );
    assert!(r.problems.iter().all(|p| p.severity == Severity::Warning));
    // not YAML, not a mapping, empty
    for text in ["a: [", "- a\n- b\n", "", "name: a\nname: b\n"] {
        let r = read_detection("x.yml", text);
        assert!(r.value.is_none());
        assert!(!r.problems.is_empty());
    }
    // alias key
    let r = read_detection("x.yml", "name: a\nid: b\nsearch: x\ndata_sources:\n- S\n");
    assert_eq!(r.value.unwrap().data_source, vec!["S"]);
    assert!(
        r.problems
            .iter()
            .any(|p| p.message.contains("data_sources"))
    );
}

#[test]
fn macros_with_and_without_arity() {
    let r = read_macro(
        "m.yml",
        "arguments:\n  - field\ndefinition: 'convert ctime($field$)'\ndescription: d\nname: security_content_ctime\n",
    );
    assert!(r.problems.is_empty());
    let m = r.value.unwrap();
    assert_eq!(
        (m.name.as_str(), m.args.len()),
        ("security_content_ctime", 1)
    );
    let r = read_macro(
        "m.yml",
        "name: drop_dm_object_name(1)\nargs:\n- name\ndefinition: rename $name$.* as *\n",
    );
    let m = r.value.unwrap();
    // `args:` is not the corpus key: kept in `other`, the name's arity disagrees with no arguments
    assert_eq!(m.name, "drop_dm_object_name");
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].line, 1);
    let r = read_macro("m.yml", "name: empty_filter\ndefinition:\n");
    assert_eq!(r.value.unwrap().definition, "");
    let r = read_macro("m.yml", "name: x\n");
    assert!(r.value.is_none());
}

#[test]
fn stories_and_data_sources() {
    let r = read_story(
        "s.yml",
        "name: S\nid: 1\nversion: 1\ndate: '2023-03-30'\nauthor: A\ndescription: D\nnarrative: N\nreferences: []\ntags:\n  category:\n  - Adversary Tactics\n  product:\n  - Splunk Cloud\n  usecase: Advanced Threat Detection\n",
    );
    let s = r.value.unwrap();
    assert_eq!(s.id.as_deref(), Some("1"));
    assert_eq!(r.problems.len(), 1, "id written as a number");
    assert_eq!(s.tags.usecase.as_deref(), Some("Advanced Threat Detection"));
    let r = read_data_source(
        "d.yml",
        "name: Sysmon EventID 1\nid: x\nsource: XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\nsourcetype: XmlWinEventLog\nsupported_TA:\n- name: Splunk Add-on for Sysmon\n  url: https://splunkbase.splunk.com/app/5709\n  version: 4.0\nfields:\n- _time\n- Image\nfield_mappings:\n- data_model: cim\n  data_set: Endpoint.Processes\n  mapping:\n    Image: Processes.process_path\nconvert_to_log_source:\n- data_source: Windows Event Log Security 4688\n  mapping:\n    ProcessId: NewProcessId\n",
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let d = r.value.unwrap();
    assert_eq!(d.supported_ta[0].version.as_deref(), Some("4"));
    assert_eq!(d.fields, vec!["_time", "Image"]);
    assert_eq!(
        d.field_mappings[0].data_set.as_deref(),
        Some("Endpoint.Processes")
    );
    assert_eq!(
        d.field_mappings[0].mapping,
        vec![("Image".into(), "Processes.process_path".into())]
    );
    assert_eq!(
        d.convert_to_log_source[0].target.as_deref(),
        Some("Windows Event Log Security 4688")
    );
}

#[test]
fn content_links() {
    let dir = std::env::temp_dir().join(format!("detdex-spl-content-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["detections/endpoint", "macros", "stories", "data_sources"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("detections/endpoint/a.yml"), OLD).unwrap();
    std::fs::write(
        dir.join("detections/endpoint/b.yml"),
        "name: B\nid: b\nsearch: '`m`'\ndata_source: [Nope]\ntags:\n  analytic_story: [Story One, Missing]\n",
    )
    .unwrap();
    std::fs::write(dir.join("detections/endpoint/bad.yml"), "name: [").unwrap();
    std::fs::write(dir.join("macros/m.yml"), "name: m\ndefinition: index=x\n").unwrap();
    std::fs::write(
        dir.join("stories/s.yml"),
        "name: Story One\nid: s\ndescription: d\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("data_sources/d.yml"),
        "name: Sysmon EventID 1\nid: d\n",
    )
    .unwrap();
    let c = Content::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        c.files,
        FileCounts {
            detections: 3,
            macros: 1,
            stories: 1,
            data_sources: 1
        }
    );
    assert_eq!(c.detections.len(), 2);
    assert_eq!(c.detection_stories, vec![vec![0], vec![0]]);
    assert_eq!(c.story_detections, vec![vec![0, 1]]);
    assert_eq!(c.detection_data_sources, vec![vec![0], vec![]]);
    let msgs: Vec<_> = c
        .problems
        .iter()
        .chain(&c.link_problems)
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    // b.yml lacks six required keys (warnings), bad.yml is not YAML, two links are missing
    assert_eq!(msgs.len(), 9, "{msgs:?}");
    assert_eq!(
        msgs.iter()
            .filter(|m| m.contains("missing required key"))
            .count(),
        6
    );
    assert!(msgs.iter().any(|m| m.starts_with(&format!(
        "detections{}endpoint{}bad.yml",
        std::path::MAIN_SEPARATOR,
        std::path::MAIN_SEPARATOR
    ))));
    assert!(msgs.iter().any(|m| m.contains("analytic story `Missing`")));
    assert!(msgs.iter().any(|m| m.contains("data source `Nope`")));
    let b = c.detection("B").unwrap();
    assert_eq!(c.expand(b).unwrap().text, "index=x");
}

#[test]
fn unindented_quoted_continuation_lines() {
    // PyYAML reads this; the specification does not allow it.
    let text = "name: a\nid: b\ndescription: 'one\ntwo'\nsearch: 'x\n| y'\nversion: 1\n";
    let r = read_detection("x.yml", text);
    let d = r.value.expect("read");
    assert_eq!(d.description.as_deref(), Some("one two"));
    assert_eq!(d.search, "x | y");
    assert_eq!(
        &text[d.search_span.start_byte..d.search_span.end_byte],
        "'x\n| y'"
    );
    assert_eq!(d.version, Some(1));
    let lines: Vec<_> = r
        .problems
        .iter()
        .filter(|p| !p.message.contains("missing required key"))
        .map(|p| (p.line, p.severity))
        .collect();
    assert_eq!(
        lines,
        vec![(3, Severity::Warning), (5, Severity::Warning)],
        "{:?}",
        r.problems
    );
}

#[test]
fn search_positions_in_the_file() {
    let text = "name: a\nid: b\nsearch: |-\n    | tstats x\n      y\n    | `f`\n";
    let d = read_detection("x.yml", text).value.unwrap();
    assert_eq!(d.search, "| tstats x\n  y\n| `f`");
    let at = |off| d.search_pos(text, off).map(|p| (p.line, p.col));
    assert_eq!(at(0), Some((4, 5)));
    assert_eq!(at(13), Some((5, 7)));
    assert_eq!(at(17), Some((6, 7)));
    let text = "name: a\nid: b\nsearch: 'a ''q''\n  | `f`'\n";
    let d = read_detection("x.yml", text).value.unwrap();
    assert_eq!(d.search, "a 'q' | `f`");
    let at = |off| d.search_pos(text, off).map(|p| (p.line, p.col));
    assert_eq!(at(2), Some((3, 12)));
    assert_eq!(at(6), Some((4, 3)));
    assert_eq!(at(8), Some((4, 5)));
}
