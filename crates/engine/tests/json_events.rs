//! Events read from JSON text (`Event::from_json`, the EVTX and JSON readers) against an oracle
//! that works on a parsed `serde_json::Value`: every leaf of the value with the path of keys
//! leading to it, named by the documented rules (see `Deserialize for Event`). The product reads
//! the text straight into its field map; the two must give the same fields, values in the same
//! order.

use crate::regression::{shared, walk};
use engine::{Event, FieldValue, Logsources, read_file, read_json};
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;

/// Every scalar of `v` with the object keys on its way (lists add no key), in document order.
fn paths<'v>(v: &'v Value, path: &mut Vec<&'v str>, out: &mut Vec<(Vec<&'v str>, &'v Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push(k);
                paths(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => items.iter().for_each(|i| paths(i, path, out)),
        scalar => out.push((path.clone(), scalar)),
    }
}

/// Keys joined by `sep`, `#attributes` and `#text` adding nothing (an element's attributes and
/// text belong to it); a key after an empty name starts the name.
fn joined(path: &[&str], sep: &str) -> String {
    let mut name = String::new();
    for k in path {
        if *k == "#attributes" || *k == "#text" {
            continue;
        }
        if !name.is_empty() {
            name.push_str(sep);
        }
        name.push_str(k);
    }
    name
}

fn field_value(v: &Value) -> FieldValue {
    match v {
        Value::String(s) => FieldValue::Str(s.clone()),
        Value::Number(n) => FieldValue::Num(n.to_string()),
        Value::Bool(b) => FieldValue::Bool(*b),
        _ => FieldValue::Null,
    }
}

/// The (field, value) pushes the documented rules give for `v`, in order.
fn oracle(v: &Value) -> Vec<(String, FieldValue)> {
    let mut out = vec![];
    if let Some(Value::Object(e)) = v.get("Event") {
        if let Some(system) = e.get("System") {
            let mut leaves = vec![];
            paths(system, &mut vec![], &mut leaves);
            for (path, leaf) in leaves {
                let name = joined(&path, "_");
                if !name.is_empty() {
                    out.push((name, field_value(leaf)));
                }
            }
        }
        for part in ["EventData", "UserData"] {
            let Some(data) = e.get(part) else { continue };
            let mut leaves = vec![];
            paths(data, &mut vec![], &mut leaves);
            for (path, leaf) in leaves {
                if path.contains(&"#attributes") {
                    continue;
                }
                let name = path.iter().rev().find(|k| **k != "#text").unwrap_or(&part);
                out.push((name.replace(' ', ""), field_value(leaf)));
            }
        }
    } else {
        let mut leaves = vec![];
        paths(v, &mut vec![], &mut leaves);
        for (path, leaf) in leaves {
            let name = joined(&path, ".");
            if !name.is_empty() {
                out.push((name, field_value(leaf)));
            }
        }
    }
    out
}

/// The oracle's event: its pushes grouped by field, in order.
fn expected(v: &Value, origin: &str) -> Event {
    let mut fields: Vec<(String, Vec<FieldValue>)> = vec![];
    for (name, value) in oracle(v) {
        match fields.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => fields.push((name, vec![value])),
        }
    }
    let mut ev = Event::default();
    for (name, values) in fields {
        ev.set(&name, values);
    }
    ev.origin = origin.to_string();
    ev
}

/// Where two events differ (fields, values with their lower-cased copies, origin, logsource).
fn differences(got: &Event, want: &Event) -> Vec<String> {
    let mut out = vec![];
    let mut names: Vec<&str> = got.field_names().chain(want.field_names()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        if got.get(name) != want.get(name) {
            out.push(format!(
                "{name}: got {:?}, want {:?}",
                got.get(name),
                want.get(name)
            ));
        }
    }
    if got.origin != want.origin {
        out.push(format!("origin: got {}, want {}", got.origin, want.origin));
    }
    if got.logsource != want.logsource {
        out.push(format!(
            "logsource: got {:?}, want {:?}",
            got.logsource, want.logsource
        ));
    }
    out
}

fn regression_files(ext: &str) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    walk(
        &shared().join("evtx/sigma-regression"),
        &|p: &Path| p.extension().is_some_and(|e| e == ext),
        &mut files,
    );
    files
}

/// Every record of every EVTX file of SigmaHQ's regression data, read by `read_file`, is the
/// oracle's event for the record's JSON (prepared with the shipped logsource tables), with the
/// record id as its origin.
#[test]
fn evtx_records_read_as_their_json_value_says() {
    let logsources = Logsources::builtin();
    let files = regression_files("evtx");
    assert!(files.len() > 100, "regression EVTX files: {}", files.len());
    let (mut records, mut bad) = (0, vec![]);
    for path in &files {
        let shown = path.display().to_string();
        let (events, errors) = read_file(path);
        assert!(errors.is_empty(), "{shown}: {errors:?}");
        let mut parser = evtx::EvtxParser::from_path(path).unwrap();
        let jsons: Vec<String> = parser.records_json().map(|r| r.unwrap().data).collect();
        assert_eq!(events.len(), jsons.len(), "{shown}: events");
        for (ev, json) in events.iter().zip(&jsons) {
            records += 1;
            let v: Value = serde_json::from_str(json).unwrap();
            let id = &v["Event"]["System"]["EventRecordID"];
            let mut want = expected(&v, &format!("{shown}#{id}"));
            logsources.prepare(&mut want);
            let diff = differences(ev, &want);
            if !diff.is_empty() {
                bad.push(format!("{}: {diff:?}", ev.origin));
            }
            // The constructor itself, without the reader's preparation.
            let plain = Event::from_json(json, "o".into()).unwrap();
            let diff = differences(&plain, &expected(&v, "o"));
            if !diff.is_empty() {
                bad.push(format!("{}: {diff:?}", ev.origin));
            }
        }
    }
    assert!(records >= files.len(), "records: {records}");
    assert!(
        bad.is_empty(),
        "{} differ: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

/// The JSON files of the regression data (pretty-printed records, one or a list per file),
/// read by `read_file`, are the oracle's events.
#[test]
fn regression_json_files_read_as_their_value_says() {
    let logsources = Logsources::builtin();
    let files = regression_files("json");
    assert!(files.len() > 100, "regression JSON files: {}", files.len());
    let (mut count, mut bad) = (0, vec![]);
    for path in &files {
        let shown = path.display().to_string();
        let (events, errors) = read_file(path);
        assert!(errors.is_empty(), "{shown}: {errors:?}");
        let text = std::fs::read_to_string(path).unwrap();
        let mut values = vec![];
        for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            match v.unwrap() {
                Value::Array(items) => values.extend(items),
                v => values.push(v),
            }
        }
        assert_eq!(events.len(), values.len(), "{shown}: events");
        for (ev, v) in events.iter().zip(&values) {
            count += 1;
            let mut want = expected(v, &ev.origin);
            logsources.prepare(&mut want);
            let diff = differences(ev, &want);
            if !diff.is_empty() {
                bad.push(format!("{}: {diff:?}", ev.origin));
            }
        }
    }
    assert!(count >= files.len(), "events: {count}");
    assert!(
        bad.is_empty(),
        "{} differ: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Event"),
        Just("System"),
        Just("EventData"),
        Just("UserData"),
        Just("#attributes"),
        Just("#text"),
        Just("Data"),
        Just("Name"),
        Just("Source Name"),
        Just(" "),
        Just(""),
        Just("EventID"),
        Just("Événement\n\"x\""),
    ]
    .prop_map(str::to_string)
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-1000i32..1000).prop_map(|n| Value::from(f64::from(n))),
        (-20i32..20).prop_map(|e| Value::from(10f64.powi(e))),
        "[a-zA-ZÉé \\\\\"\n0-9]{0,8}".prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A value of the Windows shape: `Event` holding System, EventData and UserData (and others),
/// in any order, beside other keys.
fn windows() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec((key(), json()), 0..6),
        prop::collection::vec((key(), json()), 0..3),
    )
        .prop_map(|(event, beside)| {
            let mut top: serde_json::Map<String, Value> = beside.into_iter().collect();
            top.insert("Event".into(), Value::Object(event.into_iter().collect()));
            Value::Object(top)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any JSON value, as text, reads to the oracle's event for its parsed value.
    #[test]
    fn any_json_reads_as_its_value_says(v in prop_oneof![json(), windows()]) {
        let text = serde_json::to_string(&v).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let ev = Event::from_json(&text, "o".into()).unwrap();
        let diff = differences(&ev, &expected(&parsed, "o"));
        prop_assert!(diff.is_empty(), "{text}: {diff:?}");
    }
}

fn values(ev: &Event, field: &str) -> Vec<Option<String>> {
    ev.get(field)
        .iter()
        .map(|(v, _)| v.text().map(str::to_string))
        .collect()
}

fn texts(vs: &[&str]) -> Vec<Option<String>> {
    vs.iter().map(|s| Some(s.to_string())).collect()
}

/// A key given twice keeps both values, in order (where a `serde_json::Value` keeps the last).
#[test]
fn a_key_given_twice_keeps_both_values() {
    let ev = Event::from_json(
        r#"{"a": 1, "b": {"c": "x"}, "a": "two", "b": {"c": "y"}}"#,
        "o".into(),
    )
    .unwrap();
    assert_eq!(values(&ev, "a"), texts(&["1", "two"]));
    assert_eq!(values(&ev, "b.c"), texts(&["x", "y"]));
    let text = r#"{"Event": {"System": {"EventID": 1}, "EventData": {"Image": "a.exe"},
        "EventData": {"Image": "b.exe"}, "System": {"EventID": 2}}}"#;
    let ev = Event::from_json(text, "o".into()).unwrap();
    assert_eq!(values(&ev, "Image"), texts(&["a.exe", "b.exe"]));
    assert_eq!(values(&ev, "EventID"), texts(&["1", "2"]));
    // Two `Event` keys: the Windows shape if either holds an object.
    let ev = Event::from_json(
        r#"{"Event": {"System": {"EventID": 1}}, "Event": 5, "x": 1}"#,
        "o".into(),
    )
    .unwrap();
    assert_eq!(values(&ev, "EventID"), texts(&["1"]));
    assert!(!ev.has("Event") && !ev.has("x"));
}

/// System's values come before EventData's, before UserData's, whatever the text's order.
#[test]
fn system_then_event_data_then_user_data() {
    let text = r##"{"Event": {"UserData": {"Log": {"EventID": "u"}}, "EventData": {"EventID": "d"},
        "System": {"EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4}}}}"##;
    let ev = Event::from_json(text, "o".into()).unwrap();
    assert_eq!(values(&ev, "EventID"), texts(&["4", "d", "u"]));
    assert_eq!(values(&ev, "EventID_Qualifiers"), texts(&["0"]));
}

/// Numbers keep serde_json's text for them.
#[test]
fn numbers_keep_serde_json_text() {
    let text = r#"{"n": [1.0, 1e5, -3, 18446744073709551615, -9223372036854775808, 2.5e-8, 0.1]}"#;
    let ev = Event::from_json(text, "o".into()).unwrap();
    let want = [
        "1.0",
        "100000.0",
        "-3",
        "18446744073709551615",
        "-9223372036854775808",
        "2.5e-8",
        "0.1",
    ];
    assert_eq!(values(&ev, "n"), texts(&want));
    assert!(
        ev.get("n")
            .iter()
            .all(|(v, _)| matches!(v, FieldValue::Num(_)))
    );
}

/// Text that is not JSON is an error, never a panic, and the readers say where.
#[test]
fn bad_json_is_an_error() {
    for bad in [
        r#"{"a": "#,
        r#"{"a": 1,}"#,
        "[1, 2",
        r#"{"a": "\ud800"}"#,
        "",
        r#"{"a": 1} x"#,
        r#"{"a": 1e999}"#,
        r#"{"Event": {"System": {"EventID": }}}"#,
    ] {
        assert!(Event::from_json(bad, "o".into()).is_err(), "{bad}");
    }
    let (events, errors) = read_json("{\"a\": 1}\n{\"Event\": {\"System\": [1,}}\n", "x.json");
    assert_eq!(events.len(), 1);
    assert_eq!((errors.len(), errors[0].line), (1, 2), "{errors:?}");
}
