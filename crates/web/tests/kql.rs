//! A KQL rule's page: the FalconFriday seed 002 rule (0xFF-0582) served from the corpus, with
//! the sections of its document, its query, stages, exclusions and indicators.

use crate::common;

use common::*;
use std::sync::Arc;
use web::rule_href;

const KEY: &str = "falconfriday/0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows.md";

fn kql_catalog() -> Option<Arc<catalog::Catalog>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/falconfriday");
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus missing at {}",
            dir.display()
        );
        return None;
    }
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "falconfriday".into(),
        root: dir,
        include: Vec::new(),
    }]);
    assert!(cat.get(KEY).is_some());
    Some(Arc::new(cat))
}

#[test]
fn falconfriday_rule_page() {
    let Some(cat) = kql_catalog() else { return };
    let addr = start(cat);
    let r = get(addr, &rule_href(KEY));
    assert_eq!(r.status, 200);
    let html = &r.body;
    assert!(html.contains("<h1>WinRM Plugin Lateral Movement</h1>"));
    assert!(
        html.contains(r#"href="/rules?language=kql">KQL</a>"#),
        "breadcrumb"
    );
    assert!(html.contains("<code>0xFF-0582-WinRM_Plugin_Lateral_Movement-Windows</code>"));
    assert!(html.contains("<code>table: DeviceImageLoadEvents</code>"));
    assert!(html.contains("<code>table: DeviceFileEvents</code>"));
    assert!(
        html.contains("OS: WindowsEndpoint, WindowsServer"),
        "short custom attributes stay"
    );
    // Prose sections of the document, each under its heading.
    for h in [
        "Considerations",
        "Description of the attack",
        "Detection Blind Spots",
        "Suggested Response Actions",
    ] {
        assert!(html.contains(&format!("<h2>{h}</h2>")), "{h}");
    }
    assert!(section(html, "attack").contains("T1021.006"));
    let body = section(html, "body");
    assert!(body.contains("kql"));
    assert!(unescape(body).contains(r#"InitiatingProcessFileName =~ "wsmprovhost.exe""#));
    let stages = section(html, "stages");
    for l in ["let PotentialPlugins", "let PotentialWrites", "join"] {
        assert!(stages.contains(&format!(": {l}</h3>")), "{l}");
    }
    assert!(stages.contains("| invoke FileProfile(SHA1, 1000)"));
    let ex = section(html, "exclusions");
    assert!(ex.contains("<code>FolderPath</code>"));
    assert!(ex.contains(r"C:\windows\assembly\nativeimages_"));
    let ind = section(html, "indicators");
    assert!(ind.contains("<code>InitiatingProcessFileName</code>"));
    assert!(ind.contains("<code>FileCreated</code>"));
    // No translations for a rule already in KQL.
    assert!(!html.contains("<section id=\"kql-xdr\">"));
    let api = get(addr, &format!("/api{}", rule_href(KEY)));
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v["format"], "kql");
    assert_eq!(v["stages"].as_array().unwrap().len(), 7);
}
