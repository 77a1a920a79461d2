//! `/coverage` and `/api/coverage` on the real server over loopback.

use crate::common;

use common::*;
use serde_json::Value;
use std::sync::Arc;

fn json(r: &Response) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    serde_json::from_str(&r.body).unwrap()
}

/// The cell of technique `id` under the tactic named `tactic` in the coverage JSON.
fn cell<'v>(c: &'v Value, tactic: &str, id: &str) -> &'v Value {
    let tactic = c["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == tactic)
        .unwrap_or_else(|| panic!("no tactic {tactic}"));
    let parent = id.split('.').next().unwrap();
    let t = tactic["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == parent)
        .unwrap_or_else(|| panic!("no {parent} under {}", tactic["name"]));
    if parent == id {
        t
    } else {
        t["subtechniques"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
    }
}

/// The `<div class="cell …">` of a technique in the page.
fn cell_html<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("<span class=\"tid\">{id}</span>"))
        .unwrap_or_else(|| panic!("{id} not in the page"));
    let start = body[..at].rfind("<div class=\"cell").unwrap();
    let end = at + body[at..].find("</div>").unwrap();
    &body[start..end]
}

#[test]
fn coverage_page_shows_the_matrix_with_counts_linking_to_the_index() {
    let addr = start(catalog());
    let r = get(addr, "/coverage");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.header("content-security-policy").is_some());
    assert!(!r.body.contains("style="), "no inline styles (CSP)");
    assert!(!r.body.contains("<script"));
    // Tactics in matrix order, with covered/total.
    let recon = r.body.find("<h2>Reconnaissance</h2>").unwrap();
    let exec = r.body.find("<h2>Execution</h2>").unwrap();
    let impact = r.body.find("<h2>Impact</h2>").unwrap();
    assert!(recon < exec && exec < impact);
    assert!(
        r.body[exec..].contains("2/"),
        "Execution: two techniques covered"
    );

    // T1047: one rule (the seed), linked to the index filtered to it.
    let wmi = cell_html(&r.body, "T1047");
    assert!(wmi.contains("cell cov-1"), "{wmi}");
    assert!(wmi.contains("Windows Management Instrumentation"));
    assert!(wmi.contains("title=\"sigma 1\""), "{wmi}");
    let href = "/rules?technique=T1047";
    assert!(
        wmi.contains(&format!("<a class=\"n\" href=\"{href}\">1</a>")),
        "{wmi}"
    );
    let index = get(addr, href);
    assert_eq!(index.status, 200);
    assert!(index.body.contains("Showing <strong>1</strong> of 3 rules"));
    assert!(index.body.contains(SEED_TITLE));

    // T1059 counts the xss rule through its sub-technique T1059.001, listed beneath it.
    let cmd = cell_html(&r.body, "T1059");
    assert!(cmd.contains(">1</a>"), "{cmd}");
    assert!(cmd.contains("1/"), "one sub-technique covered: {cmd}");
    assert!(cmd.contains("<span class=\"tid\">T1059.001</span>"));
    assert!(cmd.contains("<li class=\"cov-0\"><span class=\"tid\">T1059.002</span>"));
    let index = get(addr, "/rules?technique=T1059");
    assert!(index.body.contains("Showing <strong>1</strong> of 3 rules"));
    assert!(index.body.contains("Zz &#60;script&#62;"));

    // A technique no rule maps to is visibly uncovered, without a link.
    let uncovered = cell_html(&r.body, "T1106");
    assert!(uncovered.contains("cell cov-0"), "{uncovered}");
    assert!(uncovered.contains("<span class=\"n\">0</span>"));

    // The unknown id is listed with its rule, whose title stays escaped.
    let stale = section(&r.body, "stale");
    assert!(stale.contains("<code>T9999</code>"), "{stale}");
    assert!(stale.contains("unknown"));
    assert!(stale.contains(&web::rule_href(XSS_KEY)));
    assert!(!stale.contains(XSS));
}

#[test]
fn coverage_filters_and_links_keep_source_and_language() {
    let addr = start(catalog());
    let r = get(addr, "/coverage?source=evil&language=sigma");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<option value=\"evil\" selected>"));
    assert!(r.body.contains("<option value=\"sigma\" selected>"));
    assert!(cell_html(&r.body, "T1047").contains("cell cov-0"));
    let cmd = cell_html(&r.body, "T1059");
    let href = "/rules?technique=T1059&#38;source=evil&#38;language=sigma";
    assert!(cmd.contains(href), "{cmd}");
    let index = get(addr, &unescape(href));
    assert!(index.body.contains("Showing <strong>1</strong> of 3 rules"));
    // The index's form keeps the filters it has no control for.
    assert!(
        index
            .body
            .contains("<input type=\"hidden\" name=\"technique\" value=\"T1059\">")
    );
    assert!(
        index
            .body
            .contains("<input type=\"hidden\" name=\"language\" value=\"sigma\">")
    );

    let c = json(&get(addr, "/api/coverage?source=evil"));
    assert_eq!(c["rules"], 1);
    assert_eq!(cell(&c, "Execution", "T1047")["rules"], 0);
    let c = json(&get(addr, "/api/coverage?language=spl"));
    assert_eq!(
        (c["rules"].as_u64(), c["mapped_rules"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn api_coverage_is_the_catalog_structure() {
    let addr = start(catalog());
    let c = json(&get(addr, "/api/coverage"));
    assert_eq!(c["rules"], 3);
    assert_eq!(c["mapped_rules"], 2);
    assert_eq!(c["techniques_covered"], 2);
    assert_eq!(c["tactics"].as_array().unwrap().len(), 14);
    assert_eq!(c["tactics"][0]["name"], "Reconnaissance");
    let wmi = cell(&c, "Execution", "T1047");
    assert_eq!(wmi["rules"], 1);
    assert_eq!(wmi["by_source"], serde_json::json!({"sigma": 1}));
    assert_eq!(cell(&c, "Execution", "T1059")["rules"], 1);
    assert_eq!(
        cell(&c, "Execution", "T1059.001")["by_source"],
        serde_json::json!({"evil": 1})
    );
    assert_eq!(cell(&c, "Execution", "T1059.003")["rules"], 0);
    assert_eq!(
        c["stale"],
        serde_json::json!([{"id": "T9999", "state": "unknown", "name": null, "rules": [XSS_KEY]}])
    );
}

#[test]
fn header_and_rule_pages_link_to_the_coverage() {
    let addr = start(catalog());
    for path in ["/", &web::rule_href(SEED_KEY)] {
        let r = get(addr, path);
        assert!(
            r.body.contains("<a href=\"/coverage\">Coverage</a>"),
            "{path}"
        );
    }
    let r = get(addr, &web::rule_href(SEED_KEY));
    assert!(
        r.body
            .contains("<a class=\"coverage\" href=\"/coverage\">Coverage →</a>")
    );
}

/// Over real rules, every count of the matrix is the number of rules its link lists.
#[test]
fn every_count_matches_the_index_it_links_to() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sigma/rules/windows/powershell");
    assert!(dir.is_dir(), "test corpus missing at {}", dir.display());
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "sigma".into(),
        root: dir,
        include: Vec::new(),
    }]);
    let addr = start(Arc::new(cat));
    let c = json(&get(addr, "/api/coverage"));
    let page = get(addr, "/coverage");
    let mut checked = 0;
    let mut seen = std::collections::HashSet::new();
    for tactic in c["tactics"].as_array().unwrap() {
        let techniques = tactic["techniques"].as_array().unwrap();
        let subs = techniques
            .iter()
            .flat_map(|t| t["subtechniques"].as_array().unwrap());
        for t in techniques.iter().chain(subs) {
            let (id, n) = (t["id"].as_str().unwrap(), t["rules"].as_u64().unwrap());
            if n == 0 || !seen.insert(id) {
                continue;
            }
            let listed = json(&get(addr, &format!("/api/rules?technique={id}")));
            assert_eq!(listed.as_array().unwrap().len() as u64, n, "{id}");
            assert!(
                page.body
                    .contains(&format!("href=\"/rules?technique={id}\">{n}</a>")),
                "{id}: {n}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "checked {checked} cells");
}

/// The shape the ATT&CK Navigator layer format 4.5 requires of a file it opens (required
/// `name` and `domain`; `versions`; technique objects with `techniqueID`, a tactic shortname,
/// a numeric score; a gradient of at least two colours), checked on the served layer, and each
/// score equal to the coverage's count for that technique under that tactic.
#[test]
fn navigator_layer_has_the_layer_format_and_the_coverage_counts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sigma/rules/windows/powershell");
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "sigma".into(),
        root: dir,
        include: Vec::new(),
    }]);
    let addr = start(Arc::new(cat));
    let c = json(&get(addr, "/api/coverage?source=sigma"));
    let r = get(addr, "/api/coverage/navigator.json?source=sigma");
    assert!(
        r.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment"))
    );
    let l = json(&r);
    assert!(
        l["name"]
            .as_str()
            .is_some_and(|n| n.contains("source sigma"))
    );
    assert_eq!(l["domain"], "enterprise-attack");
    assert_eq!(l["versions"]["layer"], "4.5");
    assert!(
        l["versions"]["attack"]
            .as_str()
            .unwrap()
            .parse::<u32>()
            .is_ok()
    );
    assert!(
        l["versions"]["navigator"]
            .as_str()
            .unwrap()
            .split('.')
            .count()
            == 3
    );
    assert!(l["sorting"].as_u64().unwrap() <= 3);
    for key in ["showID", "showName"] {
        assert!(l["layout"][key].is_boolean());
    }
    let colors = l["gradient"]["colors"].as_array().unwrap();
    assert!(colors.len() >= 2);
    for col in colors {
        let col = col.as_str().unwrap();
        assert!(
            col.len() == 7
                && col.starts_with('#')
                && col[1..].chars().all(|c| c.is_ascii_hexdigit())
        );
    }
    assert!(l["gradient"]["minValue"].as_u64() < l["gradient"]["maxValue"].as_u64());
    let tactics: std::collections::HashMap<&str, &str> = c["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["shortname"].as_str().unwrap(),
                t["name"].as_str().unwrap(),
            )
        })
        .collect();
    let techniques = l["techniques"].as_array().unwrap();
    assert!(techniques.len() > 20, "{}", techniques.len());
    let mut pairs = std::collections::HashSet::new();
    for t in techniques {
        let id = t["techniqueID"].as_str().unwrap();
        let (base, sub) = id.split_once('.').unwrap_or((id, "000"));
        assert!(
            base.len() == 5
                && base.starts_with('T')
                && base[1..].chars().all(|c| c.is_ascii_digit()),
            "{id}"
        );
        assert!(
            sub.len() == 3 && sub.chars().all(|c| c.is_ascii_digit()),
            "{id}"
        );
        let tactic = t["tactic"].as_str().unwrap();
        let name = tactics
            .get(tactic)
            .unwrap_or_else(|| panic!("{id}: tactic {tactic}"));
        assert!(t["enabled"].is_boolean() && t["comment"].is_string());
        assert_eq!(
            t["score"],
            cell(&c, name, id)["rules"],
            "{id} under {tactic}"
        );
        assert!(pairs.insert((id, tactic)), "{id} {tactic} twice");
    }
    // Every covered cell of the coverage is in the layer.
    let covered: usize = covered_cells(&c).count();
    assert_eq!(pairs.len(), covered);
}

/// The site's deployment filter on the five hand-written rules of the CLI's deployable-coverage
/// test (counted by hand there): 5 techniques for all rules, 4 for those converting to kql-xdr,
/// 3 (by 3 rules) for those reading only DeviceProcessEvents and DeviceNetworkEvents.
#[test]
fn coverage_counts_only_rules_that_deploy_on_a_target_and_its_tables() {
    let dir = std::env::temp_dir().join(format!("detdex-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rule = |n: u32, logsource: &str, detection: &str, tags: &str| {
        let text = format!(
            "title: r{n}\nid: 00000000-0000-0000-0000-00000000000{n}\nstatus: test\n\
             logsource: {{{logsource}, product: windows}}\ndetection:\n{detection}    condition: sel\n\
             tags: [{tags}]\nlevel: high\n"
        );
        std::fs::write(dir.join(format!("r{n}.yml")), text).unwrap();
    };
    rule(
        1,
        "category: process_creation",
        "    sel:\n        Image|endswith: '\\powershell.exe'\n        CommandLine|contains: ' -enc '\n",
        "attack.execution, attack.t1059.001",
    );
    rule(
        2,
        "category: network_connection",
        "    sel:\n        DestinationPort: 4444\n",
        "attack.command-and-control, attack.t1071",
    );
    rule(
        3,
        "category: registry_set",
        "    sel:\n        TargetObject|contains: '\\CurrentVersion\\Run\\'\n",
        "attack.defense-evasion, attack.t1112",
    );
    rule(
        4,
        "category: process_creation",
        "    sel:\n        - 'sekurlsa::logonpasswords'\n",
        "attack.credential-access, attack.t1003",
    );
    rule(
        5,
        "category: process_creation",
        "    sel:\n        Image|endswith: '\\certutil.exe'\n        CommandLine|contains: urlcache\n",
        "attack.execution, attack.t1059.003, attack.command-and-control, attack.t1105",
    );
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "mine".into(),
        root: dir.clone(),
        include: vec![],
    }]);
    std::fs::remove_dir_all(&dir).unwrap();
    let addr = start(Arc::new(cat));
    let figures = |query: &str| {
        let v = json(&get(addr, &format!("/api/coverage{query}")));
        (
            v["rules"].as_u64().unwrap(),
            v["techniques_covered"].as_u64().unwrap(),
        )
    };
    assert_eq!(figures(""), (5, 5));
    assert_eq!(figures("?target=kql-xdr"), (4, 4));
    assert_eq!(
        figures("?target=kql-xdr&have=DeviceProcessEvents,%20DeviceNetworkEvents"),
        (3, 3)
    );
    // The page keeps the filter in its form and its Navigator link.
    let page = get(addr, "/coverage?target=kql-xdr&have=DeviceProcessEvents");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<option value=\"kql-xdr\" selected>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"DeviceProcessEvents\""));
    assert!(page.body.contains("target=kql-xdr"));
    // Bad filters are a clear error, not an empty matrix.
    for bad in [
        "?target=nope",
        "?have=DeviceProcessEvents",
        "?target=spl&have=x",
    ] {
        let r = get(addr, &format!("/api/coverage{bad}"));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.body.contains("error"), "{bad}");
    }
}

/// The ids with rules in a coverage's JSON (techniques and sub-techniques, once each), with
/// their counts.
fn covered_ids(c: &Value) -> std::collections::BTreeMap<String, u64> {
    covered_cells(c)
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["rules"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A Navigator layer posted to `/api/coverage/compare` (here the layer the site exports for
/// one source, compared with another source's coverage) splits the techniques into both, the
/// layer's only and the catalog's only, exactly as the two coverages say; what is not a layer
/// is a 400 saying why, a body past the limit a 413.
#[test]
fn a_navigator_layer_compares_with_the_catalog() {
    let corpora = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let cat = catalog::Catalog::load(&[
        catalog::Source {
            name: "sigma".into(),
            root: corpora.join("sigma/rules/windows/powershell"),
            include: Vec::new(),
        },
        catalog::Source {
            name: "falconfriday".into(),
            root: corpora.join("falconfriday"),
            include: Vec::new(),
        },
    ]);
    let addr = start(Arc::new(cat));
    let theirs = covered_ids(&json(&get(addr, "/api/coverage?source=falconfriday")));
    let ours = covered_ids(&json(&get(addr, "/api/coverage?source=sigma")));
    let layer = get(addr, "/api/coverage/navigator.json?source=falconfriday").body;
    let r = post(addr, "/api/coverage/compare?source=sigma", layer.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let cmp = json(&r);
    assert!(
        cmp["layer"]
            .as_str()
            .unwrap()
            .contains("source falconfriday")
    );
    assert_eq!(cmp["scope"], "source sigma");
    let rows = |k: &str| -> Vec<(String, u64, Option<f64>)> {
        cmp[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_string(),
                    r["rules"].as_u64().unwrap(),
                    r["layer_score"].as_f64(),
                )
            })
            .collect()
    };
    let ids = |v: &[(String, u64, Option<f64>)]| {
        v.iter()
            .map(|r| r.0.clone())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (both, only_layer, only_catalog) = (rows("both"), rows("only_layer"), rows("only_catalog"));
    let in_both: std::collections::BTreeSet<String> = theirs
        .keys()
        .filter(|id| ours.contains_key(*id))
        .cloned()
        .collect();
    assert!(!in_both.is_empty() && !only_layer.is_empty() && !only_catalog.is_empty());
    assert_eq!(ids(&both), in_both);
    assert_eq!(
        ids(&only_layer),
        theirs
            .keys()
            .filter(|id| !ours.contains_key(*id))
            .cloned()
            .collect()
    );
    assert_eq!(
        ids(&only_catalog),
        ours.keys()
            .filter(|id| !theirs.contains_key(*id))
            .cloned()
            .collect()
    );
    for (id, rules, score) in &both {
        assert_eq!(*rules, ours[id], "{id}: the catalog's rules");
        assert_eq!(*score, Some(theirs[id] as f64), "{id}: the layer's score");
    }
    for (id, rules, score) in &only_layer {
        assert_eq!((*rules, *score), (0, Some(theirs[id] as f64)), "{id}");
    }
    assert_eq!(cmp["not_counted"].as_array().unwrap().len(), 0);

    let bad = post(addr, "/api/coverage/compare", b"{\"techniques\": [}");
    assert_eq!(bad.status, 400);
    let error: Value = serde_json::from_str(&bad.body).unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("line 1, column 17"),
        "{}",
        bad.body
    );
    let other = post(
        addr,
        "/api/coverage/compare",
        b"{\"domain\": \"ics-attack\", \"techniques\": []}",
    );
    assert_eq!(other.status, 400);
    let huge = vec![b' '; 5 << 20];
    assert_eq!(post(addr, "/api/coverage/compare", &huge).status, 413);
    assert_eq!(get(addr, "/api/coverage/compare").status, 405);

    // The same comparison through the coverage page's form: a file upload, no script.
    let page = get(addr, "/coverage?source=sigma");
    let form = &page.body[page.body.find("<form class=\"compare\"").expect("the form")..];
    let form = &form[..form.find("</form>").unwrap()];
    for part in [
        "method=\"post\"",
        "enctype=\"multipart/form-data\"",
        "type=\"file\" name=\"layer\"",
    ] {
        assert!(form.contains(part), "{part} in {form}");
    }
    let action = form.split("action=\"").nth(1).unwrap();
    let action = unescape(&action[..action.find('"').unwrap()]);
    assert_eq!(action, "/coverage/compare?source=sigma");
    let r = post_file(addr, &action, "layer", "theirs.json", layer.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(!r.body.contains("<script") && !r.body.contains("style="));
    // Each section links exactly the techniques the API puts there, to their pages.
    for (id, rows) in [
        ("both", &both),
        ("only-layer", &only_layer),
        ("only-catalog", &only_catalog),
    ] {
        let linked: std::collections::BTreeSet<String> = hrefs(section(&r.body, id))
            .into_iter()
            .map(|h| {
                h.strip_prefix("/techniques/")
                    .expect("a technique")
                    .to_string()
            })
            .collect();
        assert_eq!(linked, ids(rows), "{id}");
        let first = linked.iter().next().unwrap();
        assert_eq!(get(addr, &format!("/techniques/{first}")).status, 200);
    }
    assert!(section(&r.body, "not-counted").contains("Every entry of the layer counts"));
    // A layer with entries that count nowhere: each listed with why.
    let odd = r#"{"name": "mine", "domain": "enterprise-attack", "techniques": [
        {"techniqueID": "T1059.001", "score": 3},
        {"techniqueID": "T9999"},
        {"techniqueID": "T1003", "enabled": false}]}"#;
    let api = json(&post(
        addr,
        "/api/coverage/compare?source=sigma",
        odd.as_bytes(),
    ));
    let r = post_file(addr, &action, "layer", "mine.json", odd.as_bytes());
    assert_eq!(r.status, 200);
    let not_counted = section(&r.body, "not-counted");
    let whys = api["not_counted"].as_array().unwrap();
    assert_eq!(whys.len(), 2);
    for n in whys {
        let why = n["why"].as_str().unwrap();
        assert!(unescape(not_counted).contains(why), "{why}");
    }
    assert!(section(&r.body, "both").contains("/techniques/T1059.001"));
    // What cannot be compared is a page saying why: not JSON, no file, too large.
    let bad = post_file(addr, &action, "layer", "x.json", b"{\"techniques\": [}");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(bad.body.contains("line 1, column 17"), "{}", bad.body);
    let none = post_file(addr, &action, "other", "x.json", layer.as_bytes());
    assert_eq!(none.status, 400);
    assert!(none.body.contains("no file `layer`"), "{}", none.body);
    let empty = post_file(addr, &action, "layer", "x.json", b"");
    assert_eq!(empty.status, 400);
    let over = vec![b' '; (4 << 20) + 1];
    let r = post_file(addr, &action, "layer", "big.json", &over);
    assert_eq!(r.status, 413);
    assert!(r.body.contains("larger than 4 MiB"), "{}", r.body);
    assert_eq!(
        post_file(addr, &action, "layer", "big.json", &huge).status,
        413
    );
    let not_form = post(addr, &action, layer.as_bytes());
    assert_eq!(not_form.status, 400);
    assert!(
        not_form.body.contains("not a file upload"),
        "{}",
        not_form.body
    );
}
