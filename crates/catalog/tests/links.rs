//! Filters and correlations are linked to the rules they name, by id or by name.

use catalog::Catalog;

const BASE: &str = "title: Failed logon\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nname: failed_logon\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4625\n  condition: selection\n";
const CORRELATION: &str = "title: Many failed logons\ncorrelation:\n  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - TargetUserName\n  timespan: 5m\n  condition:\n    gte: 10\n";
const FILTER: &str = "title: Not the admin accounts\nlogsource:\n  product: windows\nfilter:\n  rules:\n    - 6f3e2987-db24-4c78-a860-b4f4095a7095\n    - 00000000-0000-0000-0000-000000000000\n  selection:\n    TargetUserName|startswith: 'adm_'\n  condition: not selection\n";

#[test]
fn filters_and_correlations_resolve_to_their_rules() {
    let mut rules = Vec::new();
    for (file, text) in [
        ("c.yml", format!("{BASE}---\n{CORRELATION}")),
        ("f.yml", FILTER.to_string()),
    ] {
        let (r, d) = sigma::read("s", file, file, &text);
        assert!(d.is_empty(), "{d:?}");
        rules.extend(r);
    }
    let cat = Catalog::from_parts(rules, vec![], 2);
    let base = cat.get("s/c.yml").unwrap();
    let corr = cat.get("s/c.yml#2").unwrap();
    let filter = cat.get("s/f.yml").unwrap();

    let linked = cat.linked(corr);
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].1.map(|r| r.key.as_str()), Some("s/c.yml"));

    let linked = cat.linked(filter);
    assert_eq!(
        linked[0].1.map(|r| r.key.as_str()),
        Some("s/c.yml"),
        "by id"
    );
    assert!(linked[1].1.is_none(), "an id no rule has stays unresolved");

    let by: Vec<&str> = cat.referrers(base).iter().map(|r| r.key.as_str()).collect();
    assert_eq!(by, ["s/c.yml#2", "s/f.yml"]);

    let report = catalog::report(&cat, base);
    assert_eq!(report.referenced_by.len(), 2);
    let json = serde_json::to_value(catalog::report(&cat, filter)).unwrap();
    assert_eq!(json["links"][0]["key"], "s/c.yml");
    assert_eq!(json["links"][1]["key"], serde_json::Value::Null);
    assert_eq!(json["kind"], "filter");
}
