//! Search over SigmaHQ's whole corpus on a real server: retired rules (deprecated, unsupported,
//! placeholders) are left out unless asked for, then shown last with their badge; a repeated
//! search gives the same answer (served from the site's cache).

use crate::common;

use common::*;
use std::sync::Arc;

fn sigma_catalog() -> Arc<catalog::Catalog> {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma");
    assert!(root.is_dir(), "test corpora missing at {}", root.display());
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "sigma".into(),
        root,
        include: Vec::new(),
    }]);
    assert!(cat.rules.len() > 3000, "{} rules", cat.rules.len());
    Arc::new(cat)
}

fn keys(body: &str) -> Vec<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
    v.as_array()
        .expect("a list")
        .iter()
        .map(|h| {
            (
                h["key"].as_str().unwrap().to_string(),
                h["retired"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn retired_rules_only_when_asked_and_last() {
    let cat = sigma_catalog();
    let addr = start(Arc::clone(&cat));
    for q in ["mimikatz", "T1059.001"] {
        let r = get(addr, &format!("/api/search?q={q}&limit=10"));
        assert_eq!(r.status, 200, "{}", r.body);
        let top = keys(&r.body);
        assert_eq!(top.len(), 10, "{q}");
        for (key, retired) in &top {
            let rule = cat.get(key).expect("a rule of the catalog");
            assert!(rule.meta.retired.is_none(), "{q}: {key} is retired");
            assert!(retired.is_none());
        }
        // Asked for, every retired rule comes after every live one.
        let all = keys(&get(addr, &format!("/api/search?q={q}&limit=1000&retired=1")).body);
        let live = keys(&get(addr, &format!("/api/search?q={q}&limit=1000")).body);
        assert!(all.len() > live.len(), "{q}: retired rules match too");
        assert_eq!(all[..live.len()], live[..], "{q}");
        for (key, retired) in &all[live.len()..] {
            let why = cat
                .get(key)
                .and_then(|r| r.meta.retired)
                .map(|r| r.as_str());
            assert_eq!(retired.as_deref(), why, "{q}: {key}");
            assert!(why.is_some());
        }
    }
    // The page: the box to include them, checked when asked, and each retired hit's badge.
    let plain = get(addr, "/search?q=mimikatz");
    assert_eq!(plain.status, 200);
    assert!(plain.body.contains("name=\"retired\" value=\"1\">"));
    assert!(!plain.body.contains("class=\"badge retired\""));
    // Page 3 of the search with retired rules: past the live ones.
    let n_live = keys(&get(addr, "/api/search?q=mimikatz&limit=1000").body).len();
    let page = n_live / 20 + 1;
    let with = get(addr, &format!("/search?q=mimikatz&retired=1&page={page}"));
    assert_eq!(with.status, 200);
    assert!(with.body.contains("name=\"retired\" value=\"1\" checked>"));
    assert!(with.body.contains("<span class=\"badge retired\""));
    if page > 1 {
        let prev = with.body.find("\" rel=\"prev\"").expect("a previous page");
        let href = &with.body[with.body[..prev].rfind("href=\"").unwrap()..prev];
        assert!(
            href.contains("retired=1"),
            "the pager keeps the filter: {href}"
        );
    }
    // A repeated search answers the same (the second from the cache).
    let again = get(addr, &format!("/search?q=mimikatz&retired=1&page={page}"));
    assert_eq!(again.body, with.body);
    let api = get(addr, "/api/search?q=mimikatz&limit=10");
    assert_eq!(api.header("content-type"), Some("application/json"));
    assert_eq!(api.body, get(addr, "/api/search?q=mimikatz&limit=10").body);
}
