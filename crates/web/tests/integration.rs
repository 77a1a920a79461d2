//! The crate's integration tests, one binary: each module is a file beside this one.

mod browser;
mod common;
mod coverage;
mod elastic;
mod feed;
mod http;
mod kql;
mod linked;
mod search;
mod stories;

/// Every test file beside this one is a module of it (a file left out would never run).
#[test]
fn every_test_file_is_a_module() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let source = include_str!("integration.rs");
    for entry in std::fs::read_dir(&here).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if module == "integration" || module == "robust" {
            continue;
        }
        assert!(
            source.contains(&format!("\nmod {module};\n")),
            "tests/{name} is not declared in tests/integration.rs"
        );
    }
}
