//! An Elastic rule's page: an EQL sequence of Elastic's detection-rules (Okta MFA bombing, with
//! `runs=` and `until`) served from the corpus: metadata, risk score and severity, ATT&CK from
//! `[[rule.threat]]`, the investigation guide, the query, one stage per sequence member with
//! its join keys, exclusions (from `until`) and indicators.

use crate::common;

use common::*;
use std::sync::Arc;
use web::rule_href;

const KEY: &str = "elastic/credential_access_okta_mfa_bombing_via_push_notifications.toml";

fn elastic_catalog() -> Option<Arc<catalog::Catalog>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/elastic/rules/integrations/okta");
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "corpus missing at {}",
            dir.display()
        );
        return None;
    }
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "elastic".into(),
        root: dir,
        include: Vec::new(),
    }]);
    assert!(cat.get(KEY).is_some());
    Some(Arc::new(cat))
}

#[test]
fn elastic_rule_page() {
    let Some(cat) = elastic_catalog() else { return };
    let addr = start(cat);
    let r = get(addr, &rule_href(KEY));
    assert_eq!(r.status, 200);
    let html = &r.body;
    assert!(html.contains("<h1>Potential Okta MFA Bombing via Push Notifications</h1>"));
    assert!(
        html.contains(r#"href="/rules?language=eql">EQL</a>"#),
        "breadcrumb"
    );
    assert!(html.contains(">high</span>"), "severity badge");
    assert!(html.contains(">risk 73</span>"), "risk score badge");
    assert!(html.contains(">production</span>"), "maturity as status");
    assert!(html.contains("<code>8a0fbd26-867f-11ee-947c-f661ea17fbcd</code>"));
    assert!(html.contains("<code>index: logs-okta.system*</code>"));
    assert!(html.contains("<code>integration: okta</code>"));
    // The investigation guide (`note`) is a section of its own, not an attribute.
    assert!(html.contains("<h2>investigation guide</h2>"));
    assert!(html.contains("<p>#### Possible investigation steps:</p>"));
    assert!(!html.contains("investigation guide: "));
    let attack = section(html, "attack");
    assert!(attack.contains("T1621"), "{attack}");
    assert!(attack.contains("T1078.004"));
    let body = section(html, "body");
    assert!(body.contains("eql"));
    assert!(unescape(body).contains(r#"okta.event_type == "user.mfa.okta_verify.deny_push""#));
    let stages = section(html, "stages");
    assert!(stages.contains(": sequence [1] (runs=5)</h3>"));
    assert!(stages.contains(": until</h3>"));
    let ex = section(html, "exclusions");
    assert!(ex.contains("<code>okta.outcome.result</code>"));
    assert!(ex.contains("<code>SUCCESS</code>"));
    let ind = section(html, "indicators");
    assert!(ind.contains("<code>user.mfa.okta_verify.deny_push</code>"));
    let api = get(addr, &format!("/api{}", rule_href(KEY)));
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v["format"], "elastic");
    assert_eq!(v["language"], "eql");
    assert_eq!(v["group_by"][0], "okta.actor.id");
    assert_eq!(v["meta"]["custom"]["risk_score"], "73");
}
