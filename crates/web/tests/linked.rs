//! Rules linked to rules, over real HTTP: every corpus count on the seed pages links to an
//! indicator page listing exactly the rules it counts (HTML and JSON agree), every technique
//! link goes to a technique page listing the rules the index lists for it, and the similar
//! rules and the analyst sections are on each seed page and in its JSON.

use crate::common;

use common::*;
use web::rule_href;

/// The number in front of a corpus cell's text: `120 (sigma 84, …)` → 120.
fn leading_number(s: &str) -> usize {
    s.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn seed_pages_link_counts_techniques_and_similar_rules() {
    let cat = seeds_catalog();
    let addr = start(cat.clone());
    let mut followed = 0;
    for key in SEED_KEYS {
        let page = get(addr, &rule_href(key));
        assert_eq!(page.status, 200, "{key}");
        for id in [
            "hypothesis",
            "confidence",
            "false-positives",
            "similar",
            "indicators",
        ] {
            section(&page.body, id);
        }
        // Each corpus count links to its indicator's page, which lists as many live rules.
        let indicators = section(&page.body, "indicators");
        for cell in indicators.split("<a class=\"corpus\" href=\"").skip(1) {
            let href = unescape(&cell[..cell.find('"').unwrap()]);
            let text = &cell[cell.find('>').unwrap() + 1..cell.find("</a>").unwrap()];
            let count = leading_number(text);
            let api = get(addr, &format!("/api{href}"));
            assert_eq!(api.status, 200, "{href}");
            let j: serde_json::Value = serde_json::from_str(&api.body).unwrap();
            assert_eq!(
                j["total"].as_u64().unwrap() as usize,
                count,
                "{key}: {href} {text}"
            );
            let listed: usize = j["by_source"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_array().unwrap().len())
                .sum();
            assert_eq!(listed, count, "{href}");
            // This rule is among them, unless it is retired.
            let keys: Vec<&str> = j["by_source"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|v| v.as_array().unwrap())
                .map(|r| r["key"].as_str().unwrap())
                .collect();
            assert!(keys.contains(&key), "{key} not listed at {href}");
            let html = get(addr, &href);
            assert_eq!(html.status, 200);
            assert!(html.body.contains(&format!("{count} live rule")), "{href}");
            followed += 1;
        }
        // Technique links go to the technique pages, which agree with the index.
        let attack = section(&page.body, "attack");
        for href in hrefs(attack) {
            let id = href.strip_prefix("/techniques/").expect("a technique page");
            let t = get(addr, &format!("/api/techniques/{id}"));
            let j: serde_json::Value = serde_json::from_str(&t.body).unwrap();
            let index = get(addr, &format!("/api/rules?technique={id}"));
            assert_eq!(
                j["total"].as_u64().unwrap().to_string(),
                index.header("x-total-count").unwrap(),
                "{id}"
            );
            assert!(
                get(addr, &href)
                    .body
                    .contains(&format!("<h1 class=\"technique\">{id} "))
            );
        }
        // The JSON carries the same sections.
        let j: serde_json::Value =
            serde_json::from_str(&get(addr, &format!("/api{}", rule_href(key))).body).unwrap();
        for part in ["hypothesis", "false_positives", "confidence"] {
            assert!(
                !j["analyst"][part]["why"].as_array().unwrap().is_empty(),
                "{key} {part}"
            );
        }
        // Similar rules: none is the rule itself, each shares an indicator, scores fall.
        let similar = j["similar"].as_array().cloned().unwrap_or_default();
        let scores: Vec<f64> = similar
            .iter()
            .map(|s| s["score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{key}: {scores:?}");
        for s in &similar {
            assert_ne!(s["key"].as_str(), Some(key));
            assert!(!s["shared"].as_array().unwrap().is_empty());
        }
    }
    assert!(followed >= 10, "{followed} corpus counts followed");

    // Seed 004's similar rules reach across sources: a Sigma rule shares its Invoke-Command.
    let j: serde_json::Value =
        serde_json::from_str(&get(addr, &format!("/api{}", rule_href(SEED_KEYS[4]))).body).unwrap();
    assert!(
        j["similar"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["source"] == "sigma"
                && s["shared"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["value"] == "invoke-command")),
        "{}",
        j["similar"]
    );
    // Seed 003 names two related rules by id: the page links those in the catalog.
    let page = get(addr, &rule_href(SEED_KEYS[3]));
    let similar = section(&page.body, "similar");
    assert_eq!(similar.matches("similar: ").count(), 2, "{similar}");

    // Event coverage: the logs each seed reads, from the logsource table, Splunk's
    // data_source and FalconFriday's data sources.
    for (n, kind, value, detail) in [
        (
            0,
            "Windows event log",
            "Microsoft-Windows-Sysmon/Operational",
            "event id 7",
        ),
        (3, "Windows event log", "Security", "event id 4688"),
        (4, "data source", "Sysmon EventID 1", ""),
        (2, "ActionType", "ImageLoaded", ""),
    ] {
        let page = get(addr, &rule_href(SEED_KEYS[n]));
        let events = section(&page.body, "events");
        let want = format!(
            "<td>{kind}</td><td><a class=\"log\" href=\"/rules?log={}\"><code>{value}</code></a></td><td>{detail}</td>",
            web::encode(value)
        );
        assert!(events.contains(&want), "seed {n}: {want} in {events}");
    }

    // What a log covers: the index filtered by event coverage lists exactly the rules whose
    // event coverage names it, seed 003 among them.
    let page = get(addr, &rule_href(SEED_KEYS[3]));
    assert!(
        section(&page.body, "events").contains("<a class=\"log\" href=\"/rules?log=Security\">")
    );
    let listed = get(
        addr,
        "/api/rules?log=4688&q=wmiprvse%20spawned%20a%20process",
    );
    let rules: Vec<serde_json::Value> = serde_json::from_str(&listed.body).unwrap();
    assert!(
        rules.iter().any(|r| r["key"] == SEED_KEYS[3]),
        "{}",
        listed.body
    );
    let total: usize = get(addr, "/api/rules?log=4688&limit=1")
        .header("x-total-count")
        .unwrap()
        .parse()
        .unwrap();
    let expected = cat
        .rules
        .iter()
        .filter(|r| r.meta.retired.is_none())
        .filter(|r| {
            catalog::events::event_coverage_of_rule(r)
                .iter()
                .any(|e| format!("{} {} {}", e.kind, e.value, e.detail).contains("4688"))
        })
        .count();
    // The index's coverage (from the IR) is the report's (from its indicators).
    for key in SEED_KEYS {
        let r = cat.get(key).unwrap();
        assert_eq!(
            catalog::report(&cat, r).event_coverage,
            catalog::events::event_coverage_of_rule(r),
            "{key}"
        );
    }
    assert!(expected > 100, "{expected}");
    assert_eq!(total, expected);

    // Raw downloads: the rule's text and each translation, linked from the page.
    let wsman = rule_href(SEED_KEYS[0]);
    let page = get(addr, &wsman);
    let j: serde_json::Value =
        serde_json::from_str(&get(addr, &format!("/api{wsman}")).body).unwrap();
    let raw = get(addr, &format!("{wsman}/raw"));
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(raw.body, cat.get(SEED_KEYS[0]).unwrap().text);
    assert!(page.body.contains(&format!("href=\"{wsman}/raw\"")));
    for (target, query) in j["translations"].as_object().unwrap() {
        let href = format!("{wsman}/{target}.kql");
        let r = get(addr, &href);
        match query.as_str() {
            Some(q) => {
                assert_eq!(r.status, 200, "{href}");
                assert_eq!(r.body, format!("{q}\n"));
                assert!(page.body.contains(&format!("href=\"{href}\"")));
            }
            None => {
                assert_eq!(r.status, 404, "{href}");
                assert!(r.body.starts_with("not translated: "), "{}", r.body);
            }
        }
    }
    assert_eq!(get(addr, &format!("{wsman}/nosuch.kql")).status, 404);
    assert_eq!(get(addr, "/rules/no/such/rule/raw").status, 404);
    // Not Sigma: no translation to download.
    assert_eq!(
        get(addr, &format!("{}/kql-xdr.kql", rule_href(SEED_KEYS[4]))).status,
        404
    );
    let js = get(addr, "/static/copy.js");
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );

    // Seed 004's "Group by": the `by` fields of its tstats in the normalized names, through
    // the field concepts (`Processes.process` is `command_line`, `Processes.dest`
    // `computer_name`), the others without their data model (`drop_dm_object_name`); sorted.
    let splunk = get(addr, &rule_href(SEED_KEYS[4])).body;
    let group = "<dt>Group by</dt>\n  <dd><code>";
    let at = splunk.find(group).expect("a Group by row") + group.len();
    let row = &splunk[at..at + splunk[at..].find("</code>").unwrap()];
    assert_eq!(
        row,
        "command_line, computer_name, parent_process_id, parent_process_name, process_id, \
         process_name, user"
    );
    // The JSON says the same, beside the fields as written.
    let json: serde_json::Value =
        serde_json::from_str(&get(addr, &format!("/api{}", rule_href(SEED_KEYS[4]))).body).unwrap();
    let names: Vec<&str> = json["group_by_normalized"]
        .as_array()
        .expect("group_by_normalized in the JSON")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(names.join(", "), row);
    assert!(
        json["group_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "Processes.process")
    );
    let stages = &cat.get(SEED_KEYS[4]).unwrap().logic.stages;
    assert!(
        stages
            .iter()
            .any(|s| s.group_by.iter().any(|f| f == "Processes.dest")),
        "the rule groups by the CIM fields as written"
    );

    // Retired rules carry their badge in the index, search and the lists of linked rules.
    let retired = cat
        .rules
        .iter()
        .find(|r| r.meta.retired.is_some() && r.meta.title.len() > 10)
        .expect("a retired rule (Splunk's detections/deprecated)");
    let badge = format!(
        "<span class=\"badge retired\" title=\"retired rule\">{}</span>",
        retired.meta.retired.unwrap().as_str()
    );
    // Both spellings of yes are taken, in the index and in search; links write `1`.
    let index = get(
        addr,
        &format!("/rules?retired=1&q={}", web::encode(&retired.meta.title)),
    );
    assert!(index.body.contains(&badge), "{}", index.body);
    let spelled = get(
        addr,
        &format!("/rules?retired=true&q={}", web::encode(&retired.meta.title)),
    );
    assert_eq!(spelled.body, index.body);
    // The form keeps the choice.
    assert!(
        index
            .body
            .contains("<input type=\"hidden\" name=\"retired\" value=\"1\">")
    );
    assert!(!index.body.contains("retired=true"));
    let no = get(
        addr,
        &format!("/rules?retired=0&q={}", web::encode(&retired.meta.title)),
    );
    assert!(!no.body.contains(&badge));
    let bad = get(addr, "/rules?retired=maybe");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("expected 1 or 0"), "{}", bad.body);
    let search_true = get(
        addr,
        &format!(
            "/search?retired=true&q={}",
            web::encode(&retired.meta.title)
        ),
    );
    assert!(search_true.body.contains(&badge), "{}", search_true.body);
    // Left out unless asked for.
    let default = get(
        addr,
        &format!("/rules?q={}", web::encode(&retired.meta.title)),
    );
    assert!(!default.body.contains(&badge));
    // Search leaves retired rules out unless asked for, and then marks them.
    let search = get(
        addr,
        &format!("/search?retired=1&q={}", web::encode(&retired.meta.title)),
    );
    assert!(search.body.contains(&badge), "{}", search.body);

    // A technique's page links to ATT&CK's own page (sub-techniques by their nested path).
    let t = get(addr, "/techniques/T1021.006");
    assert!(
        t.body
            .contains("href=\"https://attack.mitre.org/techniques/T1021/006/\"")
    );
    assert!(
        t.body
            .contains("<a href=\"/techniques/T1021\">T1021 Remote Services</a>")
    );
    assert_eq!(get(addr, "/techniques/T0000").status, 404);
    assert_eq!(get(addr, "/indicators/x/nokind/y").status, 404);
}
