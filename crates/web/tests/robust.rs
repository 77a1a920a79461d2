//! No request takes the site down: a hostile search is refused or stopped within its budget
//! while other pages keep answering fast, on a real server over SigmaHQ's corpus.

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

const RULE: &str = "/rules/sigma/rules/windows/image_load/image_load_wsman_provider_image_load.yml";

#[test]
fn a_huge_search_never_blocks_rule_pages() {
    let addr = start(sigma_catalog());
    // Warm: the first rule page builds the converters.
    assert_eq!(get(addr, RULE).status, 200);

    let stop = Arc::new(AtomicBool::new(false));
    // The 5,000-word search, sent again and again, and common-word searches that rank most of
    // the corpus, from four clients at once.
    let huge = format!("/search?q={}", "powershell%20".repeat(5_000));
    let common = format!(
        "/search?q={}",
        ["the", "process", "command", "line", "windows", "file"]
            .repeat(5)
            .join("%20")
    );
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let stop = Arc::clone(&stop);
            let path = if i % 2 == 0 {
                huge.clone()
            } else {
                common.clone()
            };
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let r = get(addr, &path);
                    answers.push((r.status, r.body, t.elapsed()));
                }
                answers
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let r = get(addr, RULE);
        slowest = slowest.max(t.elapsed());
        assert_eq!(r.status, 200);
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let answers: Vec<_> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        slowest < Duration::from_millis(100),
        "a rule page took {slowest:?} while searches ran"
    );
    let mut refused = 0;
    for (status, body, took) in &answers {
        assert!(
            *took <= Duration::from_secs(2),
            "a search answered after {took:?}"
        );
        match status {
            200 => assert!(
                body.contains("Results") || body.contains("No rule"),
                "{body}"
            ),
            400 => {
                assert!(body.contains("query too long"), "{body}");
                refused += 1;
            }
            503 => assert!(body.contains("query too slow"), "{body}"),
            s => panic!("status {s}: {body}"),
        }
    }
    assert!(refused > 0, "the 5,000-word search was answered");
    let slowest_search = answers.iter().map(|(_, _, t)| *t).max().unwrap_or_default();
    eprintln!(
        "rule pages: slowest {slowest:?} of 20 while {} searches ran ({refused} refused as too long); slowest search {slowest_search:?}",
        answers.len()
    );
}

#[test]
fn search_pages_follow_each_other() {
    let addr = start(sigma_catalog());
    let first = get(addr, "/search?q=powershell");
    assert_eq!(first.status, 200);
    assert!(
        first.body.contains("Results <strong>1–20</strong>"),
        "{}",
        first.body
    );
    let next = hrefs(&first.body)
        .into_iter()
        .find(|h| h.contains("page=2"))
        .expect("a link to page 2");
    let second = get(addr, &next);
    assert_eq!(second.status, 200);
    assert!(second.body.contains("Results <strong>21–40</strong>"));
    assert!(second.body.contains("rel=\"prev\""));
    // The API pages the same ranking.
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&get(addr, "/api/search?q=powershell&limit=40").body).unwrap();
    let page: Vec<serde_json::Value> =
        serde_json::from_str(&get(addr, "/api/search?q=powershell&limit=20&offset=20").body)
            .unwrap();
    assert_eq!(all[20..], page[..]);
    let long = get(addr, &format!("/api/search?q={}", "a%20".repeat(100)));
    assert_eq!(long.status, 400);
    assert!(long.body.contains("query too long"), "{}", long.body);
}
