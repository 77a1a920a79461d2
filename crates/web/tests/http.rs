//! The real server on loopback, queried over HTTP/1.1.

use crate::common;

use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use web::rule_href;

fn server() -> std::net::SocketAddr {
    start(catalog())
}

fn assert_html(r: &Response) {
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r.header("content-security-policy").expect("CSP header");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    // Scripts only from our own files (the copy buttons): no inline script, no other origin.
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
}

/// Position of `needle` in `hay` at or after `from`, or a panic naming what is missing.
fn after(hay: &str, from: usize, needle: &str) -> usize {
    match hay[from..].find(needle) {
        Some(i) => from + i,
        None => panic!("{needle:?} not found after byte {from}"),
    }
}

#[test]
fn index_lists_every_rule_sorted_and_every_link_resolves() {
    let addr = server();
    let r = get(addr, "/rules");
    assert_eq!(r.status, 200);
    assert_html(&r);
    assert!(
        r.body.contains("<strong>3</strong> rules"),
        "count at the top"
    );
    // Sorted by title: "Encoded key rule" < "WMI module…" < "Zz <script>…".
    let a = r.body.find("Encoded key rule").unwrap();
    let b = r.body.find(SEED_TITLE).unwrap();
    let c = r.body.find("Zz &#60;script&#62;").unwrap();
    assert!(a < b && b < c, "sorted by title");
    assert!(r.body.contains(">T1047<"), "technique ids listed");
    // each links to the rules the coverage counts for it
    assert!(
        r.body.contains("href=\"/rules?technique=T1047\">T1047</a>"),
        "technique links"
    );
    assert!(r.body.contains(">high<") && r.body.contains(">experimental<"));

    let links = hrefs(&r.body);
    for key in [SEED_KEY, XSS_KEY, ODD_KEY] {
        assert!(links.contains(&rule_href(key)), "link to {key}");
    }
    assert!(links.iter().any(|l| l.contains("%23")), "# is encoded");
    let mut followed = 0;
    for link in links.iter().filter(|l| l.starts_with('/')) {
        let page = get(addr, link);
        assert_eq!(page.status, 200, "GET {link}");
        followed += 1;
    }
    assert!(followed >= 8, "followed {followed} links");
}

#[test]
fn odd_key_round_trips() {
    let addr = server();
    let href = rule_href(ODD_KEY);
    assert_eq!(
        href,
        "/rules/other%20src/rules/100%25%20odd%3F/rule%20%231.yml%232"
    );
    let r = get(addr, &href);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<h1>Encoded key rule</h1>"));
    // The keyword predicate of its only stage.
    assert!(r.body.contains("<em>(keyword)</em>"));
    assert!(
        section(&r.body, "exclusions").contains("None"),
        "no exclusions message"
    );
}

#[test]
fn rule_page_has_the_sections_of_seed_001_in_order() {
    let addr = server();
    let r = get(addr, &rule_href(SEED_KEY));
    assert_eq!(r.status, 200);
    assert_html(&r);
    let h = &r.body;
    let mut at = 0;
    for needle in [
        ">Detection rules</a> › <a href=\"/rules?language=sigma\">Sigma</a>",
        &format!("<h1>{SEED_TITLE}</h1>"),
        "Detects scenarios where an attacker attempts to load WMI modules",
        ">high</span>",
        ">experimental</span>",
        ">sigma</span>",
        ">Sigma</span>",
        "<dt>ID</dt>",
        "<dt>Author</dt>",
        "<dt>Date</dt>",
        "<dt>Modified</dt>",
        "<dt>License</dt>",
        "<code>product: windows</code>",
        "<code>service: image_loaded</code>",
        "<a href=\"https://threathunterplaybook.com/notebooks/windows/02_execution/WIN-190811201010.html\"",
        "<dt>False positives</dt>",
        "<code>attack.t1047</code>",
        "<h2>MITRE ATT&amp;CK coverage</h2>",
        "<h2>Rule body <span class=\"lang\">yaml</span></h2>",
        "<pre class=\"code\" data-copy><code>title: WMI module loaded",
        "<h2>Stages and Predicates</h2>",
        "<h3>Stage 0: condition</h3>",
        "selection and not filter",
        "<h3>Stage 1: selection</h3>",
        "<h3>Stage 2: not filter</h3>",
        "<h2>Exclusions</h2>",
        "Top-level NOT(...) conjuncts: predicates this rule actively suppresses.",
        "<h2>Indicators</h2>",
        "Each row is a field, operator, and value that the rule matches.",
    ] {
        at = after(h, at, needle);
    }

    let attack = section(h, "attack");
    assert!(attack.contains("<tr><td>Execution</td>"), "{attack}");
    assert!(attack.contains(
        "<a class=\"technique\" href=\"/techniques/T1047\">T1047 Windows Management Instrumentation</a>"
    ));

    // One row per excluded value, sorted.
    let ex = section(h, "exclusions");
    let rows: Vec<&str> = ex.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 3, "{ex}");
    for (row, value) in rows
        .iter()
        .zip(["\\svchost.exe", "\\wmiapsrv.exe", "\\wmiprvse.exe"])
    {
        assert!(row.starts_with("<td><code>Image</code></td><td>ends_with</td>"));
        assert!(row.contains(&format!("<code>{value}</code>")), "{row}");
        assert_eq!(row.matches("<code>").count(), 2, "one value per row: {row}");
    }

    let ind = section(h, "indicators");
    assert!(ind.contains("<th>Field</th><th>Kind</th><th>Value</th><th>Corpus</th>"));
    // One row per value, each with its corpus cell.
    assert_eq!(
        ind.matches("<td class=\"corpus\">").count(),
        ind.matches("<tr><td>").count()
    );
    assert!(ind.contains("<td><code>ImageLoaded</code></td><td>ends_with</td>"));
    assert!(ind.contains("<code>\\WmiApRpl.dll</code>"));
    assert!(ind.contains("<td><code>EventID</code></td><td>eq</td>"));
    assert!(!ind.contains("wmiprvse"), "exclusions are not indicators");

    // Negation is marked per stage, as the report flattens it: the `filter` stage's own
    // predicates are positive (its `not` is in the condition and in its label).
    let stages = section(h, "stages");
    let filter = &stages[stages.find("Stage 2: not filter").unwrap()..];
    assert!(filter.contains("<tr><td><code>Image</code></td><td>ends_with</td>"));
    assert!(!stages.contains("negated"));
}

#[test]
fn rule_text_is_escaped_everywhere() {
    let addr = server();
    for path in [
        rule_href(XSS_KEY),
        "/".to_string(),
        "/rules".to_string(),
        "/rules?q=zz".to_string(),
        "/search?q=zz".to_string(),
        "/search?q=alert".to_string(),
    ] {
        let r = get(addr, &path);
        assert_eq!(r.status, 200);
        let lower = without_copy_script(&r.body).to_lowercase();
        assert!(!lower.contains("<script"), "raw <script in {path}");
        assert!(!lower.contains("<img"), "raw <img in {path}");
        assert!(!lower.contains("<b>"), "raw <b> in {path}");
        assert!(
            r.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "escaped in {path}"
        );
    }
    let r = get(addr, &rule_href(XSS_KEY));
    let h = &r.body;
    assert!(
        h.contains("&#34;&#39;&#38;"),
        "quotes and ampersand escaped"
    );
    // Only http(s) references become links.
    let links = hrefs(h);
    assert!(
        !links
            .iter()
            .any(|l| l.to_lowercase().starts_with("javascript"))
    );
    assert!(h.contains("<li>javascript:alert(4)</li>"));
    assert!(links.contains(&"https://example.com/\"><script>alert(5)</script>".to_string()));
    // Techniques link to their page here (which links to ATT&CK); unknown ids are listed apart.
    assert!(links.contains(&"/techniques/T1059.001".to_string()));
    assert!(section(h, "attack").contains("<code>T9999</code>"));
    // A predicate negated within its stage is marked.
    assert!(section(h, "stages").contains(
        "<tr class=\"negated\"><td><code>User</code></td><td><span class=\"neg\" title=\"negated\">NOT</span> eq</td>"
    ));
    // A keyword predicate shows as (keyword).
    assert!(section(h, "indicators").contains("<em>(keyword)</em>"));
    assert!(section(h, "stages").contains("<em>(keyword)</em>"));
}

#[test]
fn unknown_keys_are_404() {
    let addr = server();
    let r = get(addr, "/rules/sigma/rules/nope.yml");
    assert_eq!(r.status, 404);
    assert_html(&r);
    assert!(r.body.contains("Not found"));
    assert!(r.body.contains("<code>sigma/rules/nope.yml</code>"));

    let r = get(addr, "/rules/%3Cscript%3E");
    assert_eq!(r.status, 404);
    assert!(!r.body.contains("<script"));

    let r = get(addr, "/no/such/page");
    assert_eq!(r.status, 404);
    assert_html(&r);

    let r = get(addr, "/api/rules/sigma/rules/nope.yml");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("nope.yml"));
}

#[test]
fn rules_are_found_by_id_too() {
    let addr = server();
    let r = get(addr, "/rules/0fe3b0f4-4b2c-4f3d-9d3b-6a8a1f2b0c01");
    assert_eq!(r.status, 200);
    assert!(r.body.contains(SEED_TITLE));
}

#[test]
fn json_api() {
    let addr = server();
    let r = get(addr, "/api/rules");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let list: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let seed = list.iter().find(|e| e["key"] == SEED_KEY).unwrap();
    assert_eq!(seed["title"], SEED_TITLE);
    assert_eq!(seed["level"], "high");
    assert_eq!(seed["status"], "experimental");
    assert_eq!(seed["source"], "sigma");
    assert_eq!(seed["attack"], serde_json::json!(["T1047"]));
    assert!(seed["id"].is_string());
    let odd = list.iter().find(|e| e["key"] == ODD_KEY).unwrap();
    assert!(odd["id"].is_null());

    let r = get(addr, &format!("/api{}", rule_href(SEED_KEY)));
    assert_eq!(r.status, 200);
    let rep: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(rep["key"], SEED_KEY);
    assert_eq!(rep["stages"].as_array().unwrap().len(), 3);
    let ex = rep["exclusions"].as_array().unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0]["stage"], "not filter");
    assert_eq!(ex[0]["all"][0]["field"], "Image");
    assert_eq!(ex[0]["all"][0]["values"].as_array().unwrap().len(), 3);
    assert!(!rep["indicators"].as_array().unwrap().is_empty());
    assert_eq!(rep["techniques"][0]["tactic"], "Execution");

    let r = get(addr, &format!("/api{}", rule_href(ODD_KEY)));
    assert_eq!(r.status, 200);
    let rep: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(rep["key"], ODD_KEY);
}

#[test]
fn query_filters() {
    let addr = server();
    let titles = |path: &str| {
        let r = get(addr, path);
        assert_eq!(r.status, 200, "{path}");
        let mut t = Vec::new();
        for (title, key) in [
            ("Encoded key rule", ODD_KEY),
            (SEED_TITLE, SEED_KEY),
            ("Zz ", XSS_KEY),
        ] {
            if r.body.contains(&rule_href(key)) {
                t.push(title);
            }
        }
        (t, r.body)
    };
    let (t, body) = titles("/rules?q=t1047");
    assert_eq!(t, [SEED_TITLE]);
    assert!(body.contains("Showing <strong>1</strong> of 3 rules"));
    assert!(body.contains("value=\"t1047\""), "query kept in the form");
    assert_eq!(
        titles("/rules?q=wmi%20MODULE").0,
        [SEED_TITLE],
        "case-insensitive title"
    );
    assert_eq!(titles("/rules?q=0FE3B0F4").0, [SEED_TITLE], "by id");
    assert_eq!(
        titles("/rules?q=T1059").0,
        ["Zz "],
        "by sub-technique prefix"
    );
    assert_eq!(
        titles("/rules?q=+encoded+").0,
        ["Encoded key rule"],
        "trimmed"
    );
    assert_eq!(titles("/rules?source=evil").0, ["Zz "]);
    assert_eq!(titles("/rules?source=other%20src").0, ["Encoded key rule"]);
    assert_eq!(
        titles("/rules?source=sigma&q=nothing").0,
        Vec::<&str>::new()
    );
    let (t, body) = titles("/rules?q=zzzz-nothing");
    assert!(t.is_empty());
    assert!(body.contains("No rule matches."));
    assert_eq!(titles("/rules?q=").0.len(), 3);
    assert_eq!(titles("/rules?language=sigma").0.len(), 3);

    let r = get(addr, "/api/rules?q=t1047");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["key"], SEED_KEY);
}

#[test]
fn style_sheet_is_served() {
    let addr = server();
    let r = get(addr, "/static/style.css");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(r.body.contains("font"));
    let page = get(addr, "/");
    assert!(
        page.body
            .contains("<link rel=\"stylesheet\" href=\"/static/style.css\">")
    );
    assert!(
        !page.body.contains("http://") && !page.body.contains("https://"),
        "no external assets"
    );
}

#[test]
fn index_of_5000_rules_is_fast() {
    let mut rules = Vec::new();
    for i in 0..5000 {
        let mut r = if i % 2 == 0 { seed_rule() } else { xss_rule() };
        r.key = format!("bulk/rules/{i:05}/rule.yml");
        r.meta.title = format!("{} {i}", r.meta.title);
        rules.push(r);
    }
    let addr = start(Arc::new(catalog::Catalog::from_parts(
        rules,
        Vec::new(),
        5000,
    )));
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let r = get(addr, "/rules");
        best = best.min(t.elapsed());
        assert_eq!(r.status, 200);
        assert!(r.body.contains("<strong>5000</strong> rules"));
    }
    let filtered = Instant::now();
    let r = get(addr, "/rules?q=t1047");
    assert!(
        r.body
            .contains("Showing <strong>2500</strong> of 5000 rules")
    );
    eprintln!(
        "index of 5000 rules: {:.1} ms (filtered: {:.1} ms)",
        best.as_secs_f64() * 1e3,
        filtered.elapsed().as_secs_f64() * 1e3
    );
    // The budget is 50 ms in an optimised build; unoptimised test builds get more room.
    let budget = if cfg!(debug_assertions) { 1000 } else { 50 };
    assert!(best < Duration::from_millis(budget), "{best:?}");
}

/// The `<code>` text of a `<pre>` in `html`, unescaped.
fn pre_code(html: &str) -> String {
    let start = after(html, 0, "<pre class=\"code kql\" data-copy><code>")
        + "<pre class=\"code kql\" data-copy><code>".len();
    let end = after(html, start, "</code></pre>");
    unescape(&html[start..end])
}

#[test]
fn rule_page_has_the_kql_of_each_target_and_the_data_sources() {
    let cat = corpus_catalog();
    let addr = start(cat.clone());
    for key in [WSMAN_KEY, WMIPRVSE_KEY] {
        let r = get(addr, &rule_href(key));
        assert_eq!(r.status, 200, "{key}");
        let h = &r.body;
        // As on the seed pages: the rule, its KQL per target, then the data sources.
        let mut at = 0;
        for needle in [
            "<h2>Rule body",
            "<section id=\"kql-xdr\">",
            "<h2>KQL (Microsoft 365 Defender)</h2>",
            "<section id=\"kql-asim\">",
            "<h2>KQL (Microsoft Sentinel ASIM)</h2>",
            "<section id=\"data-sources\">",
            "<h2>Required Data Sources</h2>",
            "<h2>Stages and Predicates</h2>",
        ] {
            at = after(h, at, needle);
        }
        // Each section holds the report's query, escaped (quotes and backslashes are in every
        // query), or the report's reason.
        let report = catalog::report(&cat, cat.get(key).unwrap());
        for t in report.translations.iter() {
            let s = section(h, t.target);
            match &t.query {
                Some(q) => {
                    assert_eq!(&pre_code(s), q, "{key} {}", t.target);
                    assert!(!s.contains("\"\\\\"), "quotes escaped: {s}");
                }
                None => {
                    let why = t.error.as_deref().unwrap();
                    assert!(s.contains("Not translated: "), "{s}");
                    assert_eq!(unescape(s).matches(why).count(), 1, "{s}");
                }
            }
        }
        // One row per table the queries read, with the seed's note and the target reading it.
        let ds = section(h, "data-sources");
        assert!(
            ds.contains("<thead><tr><th>Table</th><th>Notes</th></tr></thead>"),
            "{ds}"
        );
        assert_eq!(
            ds.matches("<tr><td><code>").count(),
            report.required_data_sources.len()
        );
        for d in &report.required_data_sources {
            assert!(
                ds.contains(&format!(
                    "<tr><td><code>{}</code></td><td>Ensure this data connector is enabled <span class=\"note\">for ",
                    d.table
                )),
                "{ds}"
            );
        }
    }
    // The seed pages' queries.
    let wsman = get(addr, &rule_href(WSMAN_KEY)).body;
    let xdr = pre_code(section(&wsman, "kql-xdr"));
    assert!(
        xdr.starts_with("DeviceImageLoadEvents\n| where (((FolderPath endswith \"\\\\WsmSvc.dll\""),
        "{xdr}"
    );
    assert!(section(&wsman, "data-sources").contains(
        "<tr><td><code>DeviceImageLoadEvents</code></td><td>Ensure this data connector is enabled <span class=\"note\">for KQL (Microsoft 365 Defender)"
    ));
    let wmi = get(addr, &rule_href(WMIPRVSE_KEY)).body;
    let asim = pre_code(section(&wmi, "kql-asim"));
    let want = include_str!("../../convert/tests/seed003.kql").trim_end();
    assert_eq!(asim, want);
    assert!(section(&wmi, "data-sources").contains("<tr><td><code>imProcessCreate</code></td>"));

    // The JSON API: {target: query} and the details.
    let api: serde_json::Value =
        serde_json::from_str(&get(addr, &format!("/api{}", rule_href(WMIPRVSE_KEY))).body).unwrap();
    assert_eq!(api["translations"]["kql-asim"], want);
    assert_eq!(
        api["translation_details"][1]["tables"],
        serde_json::json!(["imProcessCreate"])
    );
}

#[test]
fn a_rule_that_cannot_be_translated_says_why() {
    // The hand-built seed rule (`service: image_loaded`, no category) and the XSS rule: each
    // target's section gives the reason, escaped; no query is shown.
    let cat = catalog();
    let addr = start(cat.clone());
    for key in [SEED_KEY, XSS_KEY] {
        let h = get(addr, &rule_href(key)).body;
        let report = catalog::report(&cat, cat.get(key).unwrap());
        assert_eq!(
            report.translations.len(),
            catalog::translate::target_names().len()
        );
        for t in report.translations.iter() {
            let s = section(&h, t.target);
            if let Some(why) = &t.error {
                assert!(
                    s.contains("<p class=\"none untranslated\">Not translated: "),
                    "{s}"
                );
                assert!(unescape(s).contains(why.as_str()), "{s}");
                assert!(!s.contains("<pre"));
            }
        }
        assert!(h.contains("<h2>Required Data Sources</h2>"));
        assert!(!without_copy_script(&h).to_lowercase().contains("<script"));
    }
}

#[test]
fn a_fetched_source_links_to_the_original_file() {
    let mut cat = catalog::Catalog::from_parts(vec![seed_rule(), xss_rule()], Vec::new(), 2);
    cat.origins.insert(
        "sigma".into(),
        catalog::Origin {
            label: "SigmaHQ".into(),
            url: "https://github.com/SigmaHQ/sigma".into(),
            commit: "8eaafff1f2845a696050e05e72ba1140ee190698".into(),
            retrieved_at: "2026-05-05T11:00:00Z".into(),
            root: "rules".into(),
            path: "rules".into(),
        },
    );
    let addr = start(Arc::new(cat));
    let file = "https://github.com/SigmaHQ/sigma/blob/8eaafff1f2845a696050e05e72ba1140ee190698/rules/windows/image_load/image_load_wmi_module_load.yml";

    let h = get(addr, &rule_href(SEED_KEY)).body;
    let mut at = after(&h, 0, "<dt>Original</dt>");
    at = after(
        &h,
        at,
        &format!(
            "<a href=\"{file}\" rel=\"noopener noreferrer\">View original rule at SigmaHQ →</a>"
        ),
    );
    at = after(&h, at, "<dt>Commit</dt>");
    at = after(
        &h,
        at,
        "<code>8eaafff1f2845a696050e05e72ba1140ee190698</code>",
    );
    at = after(&h, at, "<dt>Retrieved</dt>");
    after(&h, at, "<dd>2026-05-05T11:00:00Z</dd>");

    let rep: serde_json::Value =
        serde_json::from_str(&get(addr, &format!("/api{}", rule_href(SEED_KEY))).body).unwrap();
    assert_eq!(
        rep["origin"],
        serde_json::json!({
            "label": "SigmaHQ",
            "url": "https://github.com/SigmaHQ/sigma",
            "commit": "8eaafff1f2845a696050e05e72ba1140ee190698",
            "retrieved_at": "2026-05-05T11:00:00Z",
            "file_url": file,
        })
    );

    // A source without origin (a folder given with --source) shows none.
    let h = get(addr, &rule_href(XSS_KEY)).body;
    assert!(!h.contains("<dt>Original</dt>") && !h.contains("<dt>Retrieved</dt>"));
    let rep: serde_json::Value =
        serde_json::from_str(&get(addr, &format!("/api{}", rule_href(XSS_KEY))).body).unwrap();
    assert!(rep.get("origin").is_none(), "{rep}");
}
