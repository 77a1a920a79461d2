//! The feed (home page), search pages, their JSON API and the Atom feed, on a real server.

use crate::common;

use common::*;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use web::rule_href;

fn assert_html(r: &Response) {
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.header("content-security-policy").is_some());
}

/// Byte positions of each needle in `hay`, panicking on a missing one.
fn positions(hay: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| hay.find(n).unwrap_or_else(|| panic!("{n:?} missing")))
        .collect()
}

#[test]
fn home_is_the_feed_newest_first_with_badges_filters_and_search_box() {
    let addr = start(catalog());
    let r = get(addr, "/");
    assert_html(&r);
    let b = &r.body;
    assert!(b.contains("<form class=\"search\" method=\"get\" action=\"/search\">"));
    assert!(b.contains("<a href=\"/\">Feed</a> <a href=\"/search\">Search</a>"));
    // Seed 001 by its `modified`; rules that state no date come last, by key.
    let p = positions(
        b,
        &[
            &rule_href(SEED_KEY),
            &rule_href(XSS_KEY),
            &rule_href(ODD_KEY),
        ],
    );
    assert!(b.contains("<td class=\"date\">no date</td>"));
    assert!(p[0] < p[1] && p[1] < p[2], "{p:?}");
    assert!(b.contains(
        "<td class=\"date\">2021-11-27</td><td><span class=\"badge kind-changed\">changed</span>"
    ));
    assert!(b.contains("<span class=\"badge kind-new\">new</span>"));
    assert!(b.contains("<a class=\"badge source\" href=\"/?source=sigma\">sigma</a>"));
    assert!(b.contains("<span class=\"badge lvl-high\">high</span>"));
    assert!(
        b.contains("<option value=\"sigma\">sigma (1)</option>"),
        "language filter"
    );
    for link in hrefs(b).iter().filter(|l| l.starts_with('/')) {
        assert_eq!(get(addr, link).status, 200, "GET {link}");
    }

    let r = get(addr, "/?source=evil");
    assert_html(&r);
    assert!(r.body.contains(&rule_href(XSS_KEY)));
    assert!(!r.body.contains(&rule_href(SEED_KEY)));
    assert!(r.body.contains("<option value=\"evil\" selected>"));
    let r = get(addr, "/?language=spl");
    assert!(r.body.contains("No rule in the feed."));
}

#[test]
fn the_feed_is_paged() {
    let rules: Vec<ir::Rule> = (0..120)
        .map(|i| {
            let mut r = seed_rule();
            r.key = format!("bulk/{i:03}.yml");
            r.meta.modified = Some(format!("2024-01-{:02}", 1 + i % 28));
            r
        })
        .collect();
    let addr = start(Arc::new(catalog::Catalog::from_parts(rules, vec![], 120)));
    let page = |p: &str| get(addr, p).body;
    let first = page("/");
    assert_eq!(first.matches("<tr><td class=\"date\">").count(), 50);
    assert!(first.contains("href=\"/?page=2\" rel=\"next\""));
    assert!(!first.contains("rel=\"prev\""));
    assert!(first.contains("2024-01-28"));
    let last = page("/?page=3");
    assert_eq!(last.matches("<tr><td class=\"date\">").count(), 20);
    assert!(last.contains("href=\"/?page=2\" rel=\"prev\""));
    assert!(!last.contains("rel=\"next\""));
    assert!(last.contains("2024-01-01"));
    assert!(page("/?page=99").contains("No rule in the feed."));
    assert_eq!(
        get(addr, "/?page=x").status,
        400,
        "a bad page number is refused"
    );
}

#[test]
fn a_change_seen_by_the_store_leads_the_feed_and_a_removed_rule_has_no_link() {
    let before = catalog::Catalog::from_parts(vec![seed_rule(), xss_rule(), odd_rule()], vec![], 3);
    let mut changed = seed_rule();
    changed.text.push_str("# edited\n");
    let after = Arc::new(catalog::Catalog::from_parts(
        vec![changed, xss_rule()],
        vec![],
        2,
    ));
    let mut store = store::Store::in_memory().unwrap();
    let t = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    store.record(&before, t(1_900_000_000)).unwrap();
    let c = store.record(&after, t(2_000_000_000)).unwrap();
    assert_eq!((c.changed.len(), c.removed.len()), (1, 1));
    let addr = start_site(web::Site::new(after, store).expect("readers"));
    let r = get(addr, "/");
    assert_html(&r);
    let p = positions(
        &r.body,
        &[
            "Encoded key rule",
            &rule_href(SEED_KEY),
            &rule_href(XSS_KEY),
        ],
    );
    assert!(p[0] < p[1] && p[1] < p[2], "{p:?}");
    assert!(r.body.contains("<td class=\"date\">2033-05-18 03:33:20</td><td><span class=\"badge kind-removed\">removed</span></td><td>Encoded key rule"));
    assert!(
        !r.body.contains(&rule_href(ODD_KEY)),
        "no link to a removed rule"
    );
    assert!(r.body.contains(
        "<span class=\"badge kind-changed\">changed</span></td><td><a href=\"/rules/sigma/"
    ));

    let v: serde_json::Value = serde_json::from_str(&get(addr, "/api/feed?limit=2").body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["kind"], "removed");
    assert_eq!(v[1]["kind"], "changed");
    assert_eq!(v[1]["key"], SEED_KEY);
    assert_eq!(v[1]["date"], "2033-05-18T03:33:20Z");
}

#[test]
fn search_page_ranks_marks_and_escapes() {
    let addr = start(catalog());
    let r = get(addr, "/search?q=wmi%20modules");
    assert_html(&r);
    assert!(r.body.contains(&rule_href(SEED_KEY)));
    assert!(!r.body.contains(&rule_href(XSS_KEY)));
    assert!(r.body.contains("<mark>"), "matched words marked");
    assert!(
        r.body.contains("value=\"wmi modules\""),
        "query kept in the form"
    );
    // The form alone, and hostile or empty queries: a page, never an error.
    let r = get(addr, "/search");
    assert_html(&r);
    assert!(!r.body.contains("<ol class=\"hits\">"));
    for q in [
        "%22",
        "AND%20(",
        "%22%22%22",
        "NEAR(",
        "*",
        "-",
        "%00",
        "title%3Ax",
        "%3Cscript%3E",
    ] {
        let r = get(addr, &format!("/search?q={q}"));
        assert_html(&r);
        assert!(!r.body.to_lowercase().contains("<script"), "{q}");
    }
    let r = get(addr, "/search?q=mimikatz&source=sigma");
    assert!(r.body.contains("No rule matches."));
    let r = get(addr, "/search?q=mimikatz&source=other%20src");
    assert!(r.body.contains(&rule_href(ODD_KEY)));
}

#[test]
fn api_search_ranks_the_seed_rule_first() {
    let addr = start(corpus_catalog());
    let r = get(addr, "/api/search?q=wsman%20provider");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v[0]["key"], WSMAN_KEY);
    assert_eq!(v[0]["title"], "Suspicious WSMAN Provider Image Loads");
    assert_eq!(v[0]["source"], "sigma");
    assert!(
        v[0]["snippet"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["match"] == true)
    );
    for q in ["%22", "AND%20(", "", "%29%28"] {
        let r = get(addr, &format!("/api/search?q={q}"));
        assert_eq!(r.status, 200, "{q}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&r.body)
                .unwrap()
                .is_array()
        );
    }
    let v: serde_json::Value =
        serde_json::from_str(&get(addr, "/api/search?q=wmi&limit=1").body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
}

/// What the Atom feed says, read back with an XML parser.
#[derive(Debug, Default)]
struct Atom {
    updated: String,
    /// (id, title, link, updated) of each entry.
    entries: Vec<(String, String, String, String)>,
}

fn parse_atom(xml: &str) -> Atom {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut atom = Atom::default();
    let mut entry = (String::new(), String::new(), String::new(), String::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                path.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                text.clear();
            }
            Event::Empty(e)
                if e.name().as_ref() == b"link"
                    && path.last().map(String::as_str) == Some("entry") =>
            {
                let href = e.try_get_attribute("href").unwrap().expect("href");
                entry.2 = href.unescape_value().unwrap().into_owned();
            }
            Event::Text(t) => text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                Some(c) => text.push(c),
                None => text.push(match &*r.decode().unwrap() {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unknown entity {other}"),
                }),
            },
            Event::End(_) => {
                let name = path.pop().expect("balanced");
                let parent = path.last().map(String::as_str);
                match (parent, name.as_str()) {
                    (Some("feed"), "updated") => atom.updated = text.clone(),
                    (Some("entry"), "id") => entry.0 = text.clone(),
                    (Some("entry"), "title") => entry.1 = text.clone(),
                    (Some("entry"), "updated") => entry.3 = text.clone(),
                    (Some("feed"), "entry") => atom.entries.push(std::mem::take(&mut entry)),
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(path.is_empty(), "unclosed {path:?}");
    atom
}

#[test]
fn atom_feed_is_valid_escaped_xml_newest_first() {
    let addr = start(catalog());
    let r = get(addr, "/feed.atom");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    assert!(r.body.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
    ));
    assert!(!r.body.contains("<script"), "escaped");
    let atom = parse_atom(&r.body);
    assert_eq!(atom.entries.len(), 3);
    let titles: Vec<&str> = atom.entries.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        titles,
        [
            &format!("{SEED_TITLE} (changed)"),
            "Zz <script>alert(1)</script> \"'& title (new)",
            "Encoded key rule (new)",
        ]
    );
    assert_eq!(atom.entries[0].3, "2021-11-27T00:00:00Z");
    // Undated rules are dated by the recording; the feed is as new as its newest entry.
    assert!(atom.entries[1].3.as_str() > "2026", "{atom:?}");
    assert_eq!(atom.entries[1].3, atom.entries[2].3);
    assert_eq!(atom.updated, atom.entries[1].3);
    let ids: std::collections::BTreeSet<&str> = atom.entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(ids.len(), 3, "distinct ids");
    for (id, _, link, updated) in &atom.entries {
        assert!(id.starts_with("urn:detdex:") && !id.contains(' '), "{id}");
        assert!(updated.ends_with('Z') && updated.len() == 20, "{updated}");
        // Absolute links: by default the address the site serves on.
        let path = link
            .strip_prefix(&format!("http://{addr}"))
            .unwrap_or_else(|| panic!("absolute link on the serving address: {link}"));
        assert!(path.starts_with("/rules/"), "{link}");
        assert_eq!(get(addr, path).status, 200, "{link}");
    }
}

#[test]
fn atom_links_use_the_configured_base_url() {
    let site = web::Site::in_memory(catalog())
        .expect("store")
        .with_base_url("https://detdex.example.org/")
        .expect("a good base URL");
    let addr = start_site(site);
    let r = get(addr, "/feed.atom");
    assert!(
        r.body
            .contains("<link rel=\"self\" type=\"application/atom+xml\" href=\"https://detdex.example.org/feed.atom\"/>"),
        "{}",
        r.body
    );
    let atom = parse_atom(&r.body);
    assert_eq!(atom.entries.len(), 3);
    for (_, _, link, _) in &atom.entries {
        assert!(
            link.starts_with("https://detdex.example.org/rules/"),
            "{link}"
        );
    }
    for bad in [
        "detdex.example.org",
        "ftp://x",
        "https://",
        "https://x/?q=1",
        "https://a b",
    ] {
        assert!(web::check_base_url(bad).is_err(), "{bad} refused");
    }
}
