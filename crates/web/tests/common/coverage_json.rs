//! The coverage JSON's covered cells, for the web tests and the CLI's (`detdex coverage
//! --format json` writes the same report).

/// The covered cells of a coverage's JSON: techniques and sub-techniques with rules.
pub fn covered_cells(c: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    c["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["techniques"].as_array().unwrap())
        .flat_map(|t| std::iter::once(t).chain(t["subtechniques"].as_array().unwrap()))
        .filter(|t| t["rules"].as_u64().unwrap() > 0)
}
