//! A headless Chromium loads the rule pages from the real server and dumps the DOM it built.
//! Without `/usr/bin/chromium` the test is skipped, except under CI (env `CI` set) where it fails.

use crate::common;

use common::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use web::rule_href;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A fresh, empty directory for a browser profile; removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "detdex-web-chromium-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `chromium --headless --dump-dom url`, killed after 60 s.
fn dump_dom(url: &str) -> String {
    chromium(&["--dump-dom", url])
}

/// A screenshot of the page, 1280 pixels wide and `height` high, written to `file`.
fn screenshot(url: &str, file: &Path, height: u32) {
    let _ = std::fs::remove_file(file);
    chromium(&[
        &format!("--screenshot={}", file.display()),
        &format!("--window-size=1280,{height}"),
        "--hide-scrollbars",
        url,
    ]);
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "{}: {size} bytes", file.display());
}

/// Headless Chromium with a fresh profile and these arguments; its stdout. Killed after 60 s.
fn chromium(args: &[&str]) -> String {
    let profile = TempDir::new();
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.0.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(status) => {
                assert!(status.success(), "chromium exited with {status}");
                break;
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within 60 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    reader.join().unwrap().expect("chromium output")
}

fn chromium_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{CHROMIUM} is required under CI (apt-get install -y chromium)");
    }
    println!("skipped: {CHROMIUM} not installed");
    false
}

#[test]
fn chromium_renders_rule_pages_without_injected_scripts() {
    if !chromium_available() {
        return;
    }
    let addr = start(catalog());

    let dom = dump_dom(&format!("http://{addr}{}", rule_href(SEED_KEY)));
    for needle in [
        "Detection rules",
        SEED_TITLE,
        "MITRE ATT&amp;CK coverage",
        "Execution",
        "T1047 Windows Management Instrumentation",
        "Rule body",
        "Stages and Predicates",
        "Stage 0: condition",
        "Stage 1: selection",
        "Stage 2: not filter",
        "Exclusions",
        "Top-level NOT(...) conjuncts",
        "\\wmiapsrv.exe",
        "Indicators",
    ] {
        assert!(dom.contains(needle), "{needle:?} missing from the DOM");
    }
    assert_eq!(without_copy_script(&dom).matches("<script").count(), 0);

    let dom = dump_dom(&format!("http://{addr}{}", rule_href(XSS_KEY)));
    assert!(
        dom.contains("Stages and Predicates"),
        "page rendered: {dom}"
    );
    assert_eq!(
        without_copy_script(&dom)
            .to_lowercase()
            .matches("<script")
            .count(),
        0,
        "no script element in the DOM but the copy buttons'"
    );
    // The copy script ran under the CSP: a button before each code block.
    assert!(dom.contains("<button type=\"button\" class=\"copy\">Copy</button><pre class=\"code\" data-copy=\"\">"), "{dom}");
    assert_eq!(dom.to_lowercase().matches("<img").count(), 0);
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    let dom = dump_dom(&format!("http://{addr}{}", rule_href(ODD_KEY)));
    assert!(dom.contains("<h1>Encoded key rule</h1>"), "{dom}");
}

#[test]
fn chromium_renders_the_kql_and_the_data_sources() {
    if !chromium_available() {
        return;
    }
    let addr = start(corpus_catalog());
    let dom = dump_dom(&format!("http://{addr}{}", rule_href(WSMAN_KEY)));
    let mut at = 0;
    for needle in [
        "Rule body",
        "<h2>KQL (Microsoft 365 Defender)</h2>",
        "<code>DeviceImageLoadEvents\n| where (((FolderPath endswith \"\\\\WsmSvc.dll\" or ",
        "<h2>KQL (Microsoft Sentinel ASIM)</h2>",
        "<h2>Required Data Sources</h2>",
        "<th>Table</th><th>Notes</th>",
        "<code>DeviceImageLoadEvents</code></td><td>Ensure this data connector is enabled",
        "Stages and Predicates",
    ] {
        at = match dom[at..].find(needle) {
            Some(i) => at + i,
            None => panic!("{needle:?} missing from the DOM after byte {at}"),
        };
    }
    let dom = dump_dom(&format!("http://{addr}{}", rule_href(WMIPRVSE_KEY)));
    assert!(
        dom.contains(
            "<code>imProcessCreate\n| where (ParentProcessName endswith \"\\\\WmiPrvSe.exe\""
        ),
        "{dom}"
    );
    assert!(
        dom.contains("<code>imProcessCreate</code></td><td>Ensure this data connector is enabled")
    );
    assert_eq!(without_copy_script(&dom).matches("<script").count(), 0);
}

#[test]
fn chromium_renders_the_coverage_matrix() {
    if !chromium_available() {
        return;
    }
    let addr = start(catalog());
    let dom = dump_dom(&format!("http://{addr}/coverage"));
    let mut at = 0;
    for needle in [
        "<a href=\"/coverage\">Coverage</a>",
        "<h1>MITRE ATT&amp;CK coverage</h1>",
        // The layer comparison: a plain form upload (the HTTP tests post it).
        "<form class=\"compare\" method=\"post\" action=\"/coverage/compare\" enctype=\"multipart/form-data\">",
        "<input id=\"layer\" type=\"file\" name=\"layer\" accept=\".json,application/json\" required=\"\">",
        "<h2>Reconnaissance</h2>",
        "<h2>Execution</h2>",
        "<div class=\"cell cov-1\" title=\"sigma 1\">\n<span class=\"tid\">T1047</span> <a class=\"n\" href=\"/rules?technique=T1047\">1</a>",
        "<h2>Impact</h2>",
        "<code>T9999</code>",
    ] {
        at = match dom[at..].find(needle) {
            Some(i) => at + i,
            None => panic!("{needle:?} missing from the DOM after byte {at}"),
        };
    }
    assert_eq!(dom.to_lowercase().matches("<script").count(), 0);
}

/// The first `href` after `marker` in a DOM.
fn href_after(dom: &str, marker: &str) -> Option<String> {
    let at = dom.find(marker)? + marker.len();
    let rest = &dom[at..];
    let start = rest.find("href=\"")? + 6;
    Some(unescape(&rest[start..start + rest[start..].find('"')?]))
}

/// The five seed rules' pages as a browser renders them: every section the seeds show, in
/// the DOM; an indicator count and a technique followed to their pages; a screenshot of each
/// seed page (in the target's test folder: `seed-pages/`) to compare with the seeds by eye.
#[test]
fn chromium_renders_the_five_seed_pages_with_every_section() {
    if !chromium_available() {
        return;
    }
    let cat = seeds_catalog();
    let addr = start(cat.clone());
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seed-pages");
    std::fs::create_dir_all(&shots).unwrap();
    for (n, key) in SEED_KEYS.iter().enumerate() {
        let rule = cat.get(key).unwrap();
        let url = format!("http://{addr}{}", rule_href(key));
        let dom = dump_dom(&url);
        let mut sections = vec![
            "<section id=\"hypothesis\">",
            "<h2>Hunt Hypothesis</h2>",
            "<section id=\"confidence\">",
            "<h2>Confidence: ",
            "<section id=\"false-positives\">",
            "<h2>False Positive Guidance</h2>",
            "<section id=\"attack\">",
            "<a class=\"technique\" href=\"/techniques/",
            "<section id=\"body\">",
            "<section id=\"stages\">",
            "<h3>Stage 1: ",
            "<section id=\"exclusions\">",
            "<section id=\"indicators\">",
            "<a class=\"corpus\" href=\"/indicators/",
            "<section id=\"similar\">",
            "<section id=\"events\">",
            "<h2>Event coverage</h2>",
            "<h2>Similar Rules</h2>",
            "<button type=\"button\" class=\"copy\">Copy</button>",
        ];
        if rule.format == ir::Format::Sigma {
            sections.extend([
                "<section id=\"kql-xdr\">",
                "<section id=\"kql-asim\">",
                "<section id=\"data-sources\">",
                "<h2>Required Data Sources</h2>",
            ]);
        }
        for s in sections {
            assert!(
                dom.contains(s),
                "seed {n:03} ({key}): {s:?} missing from the DOM"
            );
        }
        assert!(dom.contains(&format!(
            "<h1>{}</h1>",
            rule.meta.title.replace('&', "&amp;")
        )));
        assert_eq!(without_copy_script(&dom).matches("<script").count(), 0);
        screenshot(&url, &shots.join(format!("seed-{n:03}.png")), 4000);

        // Follow the first corpus count: its page lists this rule.
        let href = href_after(&dom, "<section id=\"indicators\">").expect("a corpus link");
        assert!(href.starts_with("/indicators/"), "{href}");
        let page = dump_dom(&format!("http://{addr}{href}"));
        assert!(page.contains("<h1 class=\"indicator\">"), "{href}");
        assert!(
            page.contains(&format!("href=\"{}\"", rule_href(key))),
            "{key} not listed at {href}"
        );
        // Follow the first technique: its page lists this rule too.
        let href = href_after(&dom, "<section id=\"attack\">").expect("a technique link");
        let page = dump_dom(&format!("http://{addr}{href}"));
        assert!(page.contains("<h1 class=\"technique\">"), "{href}");
        assert!(
            page.contains(&format!("href=\"{}\"", rule_href(key))),
            "{key} not listed at {href}"
        );
    }
    // The Splunk seed's "Group by" in the normalized names (seed 004).
    let dom = dump_dom(&format!("http://{addr}{}", rule_href(SEED_KEYS[4])));
    assert!(
        dom.contains("<dt>Group by</dt>") && dom.contains("command_line, computer_name"),
        "seed 004: Group by in the normalized names"
    );

    // Paging through /rules as a reader does, one source sorted by level: from the first page,
    // each `next` link in turn (keeping the filter and the order) until the last page; every
    // live rule of the source is listed once.
    let mut url = "/rules?source=mdecrevoisier&sort=level".to_string();
    let mut seen = std::collections::HashSet::new();
    let mut pages = 0;
    loop {
        let dom = dump_dom(&format!("http://{addr}{url}"));
        pages += 1;
        let table = &dom[dom.find("<tbody>").expect("the rule table")..];
        let table = &table[..table.find("</tbody>").unwrap()];
        let mut rows = 0;
        for row in table.split("<tr><td><a href=\"").skip(1) {
            let href = unescape(&row[..row.find('"').unwrap()]);
            assert!(seen.insert(href.clone()), "{href} listed twice ({url})");
            rows += 1;
        }
        assert!(rows > 0, "{url}: an empty page");
        let Some(end) = dom.find("\" rel=\"next\"") else {
            break;
        };
        let start = dom[..end].rfind("href=\"").unwrap() + 6;
        url = unescape(&dom[start..end]);
        assert!(pages < 1000, "the pager does not end");
    }
    let live: std::collections::HashSet<String> = cat
        .rules
        .iter()
        .filter(|r| r.meta.retired.is_none() && r.source == "mdecrevoisier")
        .map(|r| rule_href(&r.key))
        .collect();
    assert_eq!(seen, live, "{pages} pages");
    assert!(pages > 2, "{pages} pages");
    println!("screenshots in {}", shots.display());
}

/// The coverage page's "Export as ATT&CK Navigator layer" link, as the browser shows it, gives
/// a layer that the layer format 4.5 schema (`tests/data/navigator-layer-4.5.schema.json`, the
/// format's properties, types and required fields) accepts, with one entry per covered cell of
/// the coverage; the schema refuses a layer missing a required field.
#[test]
fn chromium_exports_a_navigator_layer_of_the_layer_format() {
    if !chromium_available() {
        return;
    }
    let cat = seeds_catalog();
    let addr = start(cat);
    let dom = dump_dom(&format!("http://{addr}/coverage?source=sigma"));
    let marker = "<a class=\"navigator\" href=\"";
    let at = dom.find(marker).expect("an export link") + marker.len();
    let href = unescape(&dom[at..at + dom[at..].find('"').unwrap()]);
    assert!(href.starts_with("/api/coverage/navigator.json?"), "{href}");
    assert!(href.contains("source=sigma"), "{href}");
    let r = get(addr, &href);
    assert_eq!(r.status, 200);
    let layer: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("data/navigator-layer-4.5.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&layer)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // What the schema cannot say: the gradient's bounds in order, and the layer's content.
    assert!(layer["gradient"]["minValue"].as_f64() < layer["gradient"]["maxValue"].as_f64());
    let c: serde_json::Value =
        serde_json::from_str(&get(addr, "/api/coverage?source=sigma").body).unwrap();
    let cells = covered_cells(&c).count();
    assert!(cells > 10);
    assert_eq!(layer["techniques"].as_array().unwrap().len(), cells);
    // The schema is not a formality: without `domain`, or with a technique's score as text,
    // the layer is refused.
    let mut broken = layer.clone();
    broken.as_object_mut().unwrap().remove("domain");
    assert!(!validator.is_valid(&broken));
    let mut broken = layer.clone();
    broken["techniques"][0]["score"] = "12".into();
    assert!(!validator.is_valid(&broken));
}
