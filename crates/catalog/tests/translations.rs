//! Translations in the report: the seed pages' queries and data sources, and the report's
//! on-demand conversion (from the rule's text) agreeing with converting the file, corpus-wide.

use catalog::translate::{Status, convert_document};
use convert::{Converter, Target};
use std::path::{Path, PathBuf};

fn corpora() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    assert!(p.is_dir(), "test corpora missing at {}", p.display());
    p
}

fn seed_report(rel: &str) -> serde_json::Value {
    let path = corpora().join("sigma/rules").join(rel);
    let read = catalog::read::read_file("sigma", &path, rel, rel);
    let cat = catalog::Catalog::from_parts(read.rules, vec![], 1);
    serde_json::to_value(catalog::report(&cat, &cat.rules[0])).unwrap()
}

#[test]
fn seed_000_xdr_query_and_data_source() {
    let v = seed_report("windows/image_load/image_load_wsman_provider_image_load.yml");
    // The seed page shows an older version of the rule; the current one adds `filter_gethelp`
    // (as crates/convert/tests/convert.rs notes). Without it, the query is the page's.
    let added = r#"(InitiatingProcessFolderPath startswith "C:\\Program Files\\WindowsApps\\Microsoft.GetHelp_" and InitiatingProcessFolderPath endswith "\\GetHelp.exe") or "#;
    let q = v["translations"]["kql-xdr"].as_str().unwrap();
    assert!(q.contains(added), "{q}");
    // And the one documented change (docs/kql-differences.md): `isempty` for the seed's
    // `isnull` on a string column, which is never true.
    let want = include_str!("../../convert/tests/seed000.kql")
        .trim_end()
        .replace(
            "isnull(InitiatingProcessCommandLine)",
            "isempty(InitiatingProcessCommandLine)",
        );
    assert_eq!(q.replacen(added, "", 1), want);
    let d = &v["translation_details"][0];
    assert_eq!(d["target"], "kql-xdr");
    assert_eq!(d["label"], "KQL (Microsoft 365 Defender)");
    assert_eq!(d["status"], "ok");
    assert_eq!(d["tables"], serde_json::json!(["DeviceImageLoadEvents"]));
    assert_eq!(
        v["translation_details"][1]["label"],
        "KQL (Microsoft Sentinel ASIM)"
    );
    assert_eq!(
        v["required_data_sources"][0],
        serde_json::json!({
            "table": "DeviceImageLoadEvents",
            "targets": ["kql-xdr"],
            "note": "Ensure this data connector is enabled",
        })
    );
}

#[test]
fn seed_003_asim_query_and_data_source() {
    let v = seed_report("windows/process_creation/proc_creation_win_wmiprvse_spawning_process.yml");
    let want = include_str!("../../convert/tests/seed003.kql").trim_end();
    assert_eq!(v["translations"]["kql-asim"], want);
    let asim = v["required_data_sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["table"] == "imProcessCreate")
        .unwrap_or_else(|| panic!("{}", v["required_data_sources"]));
    assert!(
        asim["targets"]
            .as_array()
            .unwrap()
            .contains(&"kql-asim".into()),
        "{asim}"
    );
    assert_eq!(asim["note"], "Ensure this data connector is enabled");
}

#[test]
fn filters_and_correlations_have_no_translations() {
    let dir = corpora().join("sigma");
    let cat = catalog::Catalog::load(&[catalog::Source {
        name: "sigma".into(),
        root: dir.join("rules/windows/process_creation"),
        include: Vec::new(),
    }]);
    let rule = cat.rules.first().unwrap();
    assert_eq!(
        catalog::report(&cat, rule).translations.len(),
        convert::Target::ALL.len()
    );
    let mut r = rule.clone();
    r.kind = ir::RuleKind::Filter;
    let v = serde_json::to_value(catalog::report(&cat, &r)).unwrap();
    assert_eq!(v["translations"], serde_json::json!({}));
    assert_eq!(v["translation_details"], serde_json::json!([]));
    assert_eq!(v["required_data_sources"], serde_json::json!([]));
}

/// Every rule of the SigmaHQ corpus (collections included): what the report converts from the
/// rule's own text is what converting the file's document gives (as `detdex convert` does).
#[test]
fn report_translations_match_converting_the_file() {
    let root = corpora().join("sigma");
    let converters: Vec<Converter> = Target::ALL
        .iter()
        .map(|t| Converter::new(*t, vec![]).unwrap())
        .collect();
    let (mut rules, mut ok) = (0, 0);
    for path in catalog::read::walk(&root) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if catalog::read::detect(&path, &text) != Some(catalog::read::FileFormat::Sigma) {
            continue;
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let parsed = sigma::parse(text);
        let read = catalog::read::read_file("sigma", &path, "x", &path.to_string_lossy());
        assert_eq!(
            read.rules.len(),
            parsed.documents.len(),
            "{}",
            path.display()
        );
        for (rule, doc) in read.rules.iter().zip(&parsed.documents) {
            let got = catalog::translate::translations(rule);
            if rule.kind != ir::RuleKind::Detection {
                assert!(got.is_empty());
                continue;
            }
            rules += 1;
            for (t, c) in got.iter().zip(&converters) {
                assert_eq!(t.target, c.target.name());
                let want = convert_document(c, &doc.doc);
                match (&want, t.status) {
                    (Ok((q, tables)), Status::Ok) => {
                        ok += 1;
                        assert_eq!(t.query.as_ref(), Some(q), "{}", path.display());
                        assert_eq!(&t.tables, tables);
                    }
                    (Err(e), Status::Error) => {
                        assert_eq!(t.error.as_ref(), Some(e), "{}", path.display())
                    }
                    _ => panic!("{} {}: {want:?} vs {t:?}", path.display(), t.target),
                }
            }
        }
    }
    assert!(rules > 3000, "{rules} rules");
    assert!(ok > 2000, "{ok} translations");
}
