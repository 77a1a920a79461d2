//! Splunk analytic stories over real HTTP, on the real security_content corpus: every story's
//! page and JSON list exactly the detections whose `analytic_story` names it (as
//! `spl::content` links them from the files), every link of a story page answers, the
//! detections' pages link back, and a story no file defines stays text.

use crate::common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use web::{rule_href, story_href};

fn splunk_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/splunk")
}

fn splunk_catalog() -> Arc<catalog::Catalog> {
    Arc::new(catalog::Catalog::load(&[catalog::Source {
        name: "splunk".into(),
        root: splunk_root(),
        include: Vec::new(),
    }]))
}

fn json(r: &Response) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap()
}

/// The keys (`splunk/<path>`) of the `<a href="/rules/…">` links of a page part.
fn rule_keys(html: &str) -> BTreeSet<String> {
    hrefs(html)
        .iter()
        .filter_map(|h| h.strip_prefix("/rules/"))
        .map(|k| {
            k.split('/')
                .map(percent_decode)
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn story_pages_list_exactly_the_detections_naming_them() {
    let content = spl::content::Content::load(&splunk_root());
    assert!(content.stories.len() > 200, "{}", content.stories.len());
    let cat = splunk_catalog();
    let addr = start(cat.clone());
    let key = |path: &str| format!("splunk/{}", path.replace('\\', "/"));
    // From the files: each story's detections, by `spl::content`'s own linking.
    let expected: BTreeMap<&str, BTreeSet<String>> = content
        .stories
        .iter()
        .zip(&content.story_detections)
        .map(|(s, ds)| {
            let keys = ds.iter().map(|&i| key(&content.detections[i].path));
            (s.name.as_str(), keys.collect())
        })
        .collect();

    // The list: every story once, with its count.
    let list = get(addr, "/api/stories");
    assert_eq!(list.status, 200);
    let list = json(&list);
    let listed: BTreeMap<&str, u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["detections"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed.len(), expected.len());
    for (name, keys) in &expected {
        assert_eq!(listed[name], keys.len() as u64, "{name}");
    }
    let page = get(addr, "/stories");
    assert_eq!(page.status, 200);
    let linked: BTreeSet<String> = hrefs(&page.body)
        .into_iter()
        .filter(|h| h.starts_with("/stories/"))
        .collect();
    assert_eq!(
        linked,
        expected
            .keys()
            .map(|n| story_href(n))
            .collect::<BTreeSet<_>>()
    );

    // Every story's JSON and page list exactly its detections.
    let mut with_rules = 0;
    for (name, keys) in &expected {
        let j = get(addr, &format!("/api{}", story_href(name)));
        assert_eq!(j.status, 200, "{name}");
        let j = json(&j);
        let got: BTreeSet<String> = j["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["key"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(&got, keys, "{name}: JSON");
        let p = get(addr, &story_href(name));
        assert_eq!(p.status, 200, "{name}");
        assert_eq!(
            &rule_keys(section(&p.body, "detections")),
            keys,
            "{name}: page"
        );
        with_rules += usize::from(!keys.is_empty());
        // A story kept under stories/deprecated is marked so.
        let file = content.stories.iter().find(|s| &s.name == name).unwrap();
        let deprecated = file.path.starts_with("stories/deprecated/");
        assert_eq!(
            j["retired"].as_str() == Some("deprecated"),
            deprecated,
            "{name}"
        );
    }
    assert!(with_rules > 200, "{with_rules} stories with detections");

    // The story with the most detections: every link on its page answers, its references
    // are the file's http(s) ones, its techniques are its detections' summed, and each
    // detection's page links back.
    let (name, keys) = expected.iter().max_by_key(|(_, k)| k.len()).unwrap();
    assert!(keys.len() >= 50, "{name}: {}", keys.len());
    let page = get(addr, &story_href(name));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(!page.body.contains("<script"), "no script on a story page");
    assert!(!page.body.contains("style="), "no inline style (CSP)");
    let file = content.stories.iter().find(|s| &s.name == name).unwrap();
    let description = file.description.as_deref().unwrap();
    let narrative = file.narrative.as_deref().unwrap();
    assert!(unescape(section(&page.body, "description")).contains(description));
    assert!(unescape(section(&page.body, "narrative")).contains(narrative));
    let refs: Vec<String> = hrefs(section(&page.body, "references"));
    let want: Vec<String> = file
        .references
        .iter()
        .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
        .map(|r| r.trim().to_string())
        .collect();
    assert_eq!(refs, want);
    let mut checked = 0;
    for href in hrefs(&page.body) {
        if href.starts_with("http://") || href.starts_with("https://") {
            assert!(
                want.contains(&href),
                "{href}: not one of the story's references"
            );
            continue;
        }
        assert!(href.starts_with('/'), "{href}");
        assert_eq!(get(addr, &href).status, 200, "{href}");
        checked += 1;
    }
    assert!(checked > keys.len(), "{checked} links followed");
    // Techniques: each detection's distinct ids, counted.
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    for k in keys.iter() {
        let r = cat.get(k).unwrap();
        for t in r.attack.iter().collect::<BTreeSet<_>>() {
            *sums.entry(t.clone()).or_default() += 1;
        }
    }
    let j = json(&get(addr, &format!("/api{}", story_href(name))));
    let got: BTreeMap<String, u64> = j["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["rules"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, sums);
    let tech: BTreeSet<String> = hrefs(section(&page.body, "techniques"))
        .into_iter()
        .collect();
    assert_eq!(
        tech,
        sums.keys()
            .map(|t| format!("/techniques/{}", web::encode(t)))
            .collect::<BTreeSet<_>>()
    );
    // Each detection's page links to its stories: this one among them.
    for k in keys.iter().take(10) {
        let r = get(addr, &rule_href(k));
        assert!(
            hrefs(&r.body).contains(&story_href(name)),
            "{k} does not link to {name}"
        );
    }

    // An unknown story: a 404 page and a JSON 404.
    let missing = get(addr, "/stories/No%20Such%20Story");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("No Such Story"));
    assert_eq!(get(addr, "/api/stories/No%20Such%20Story").status, 404);
}

/// A story a detection names but no file defines is text on the rule page, not a dead link.
#[test]
fn a_story_without_a_file_is_text() {
    let root = splunk_root();
    let content = spl::content::Content::load(&root);
    // One detection of the corpus, renamed story and all, in a checkout of its own with one
    // story file: the first story it names is kept, the second named is made up.
    let d = content
        .detections
        .iter()
        .find(|d| !d.tags.analytic_story.is_empty())
        .unwrap();
    let kept = d.tags.analytic_story[0].clone();
    let text = std::fs::read_to_string(root.join(&d.path)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for sub in ["detections", "macros", "stories"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let story_line = format!("analytic_story:\n  - {kept}\n");
    assert!(text.contains(&story_line), "{}", d.path);
    let text = text.replace(
        &story_line,
        &format!("analytic_story:\n  - {kept}\n  - Made Up Story\n"),
    );
    std::fs::write(dir.join("detections/d.yml"), text).unwrap();
    let story = content.stories.iter().find(|s| s.name == kept).unwrap();
    std::fs::copy(root.join(&story.path), dir.join("stories/s.yml")).unwrap();
    let cat = Arc::new(catalog::Catalog::load(&[catalog::Source {
        name: "mine".into(),
        root: dir.to_path_buf(),
        include: Vec::new(),
    }]));
    assert!(
        cat.diagnostics
            .iter()
            .any(|p| p.message.contains("`Made Up Story` is not in stories/")),
        "a warning names the missing story"
    );
    let addr = start(cat);
    let page = get(addr, &rule_href("mine/detections/d.yml"));
    assert_eq!(page.status, 200);
    let links = hrefs(&page.body);
    assert!(links.contains(&story_href(&kept)));
    assert!(
        !links.iter().any(|h| h.contains("Made")),
        "no link to a missing story"
    );
    assert!(
        page.body
            .contains("Made Up Story (no story file in this catalog)")
    );
    let j = json(&get(addr, "/api/rules/mine/detections/d.yml"));
    assert_eq!(
        j["analytic_stories"],
        serde_json::json!([
            {"name": kept, "found": true},
            {"name": "Made Up Story", "found": false}
        ])
    );
    let s = json(&get(addr, &format!("/api{}", story_href(&kept))));
    assert_eq!(
        s["detections"],
        serde_json::json!(["mine/detections/d.yml"])
    );
    assert_eq!(get(addr, &story_href("Made Up Story")).status, 404);
}
