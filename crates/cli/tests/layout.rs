//! The workspace's test layout: in every crate whose integration tests are one binary
//! (`tests/integration.rs`), each `tests/*.rs` file is a module of it or a test target of its
//! own in the crate's `Cargo.toml`; a file that is neither would never run.

use std::path::Path;

#[test]
fn every_test_file_runs() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for krate in std::fs::read_dir(&crates).unwrap() {
        let krate = krate.unwrap().path();
        let Ok(binary) = std::fs::read_to_string(krate.join("tests/integration.rs")) else {
            continue;
        };
        let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
        for entry in std::fs::read_dir(krate.join("tests")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let Some(module) = name.strip_suffix(".rs") else {
                continue;
            };
            let declared = binary.contains(&format!("\nmod {module};\n"));
            let own_target = manifest.contains(&format!("path = \"tests/{name}\""));
            assert!(
                declared || own_target,
                "{}: tests/{name} is neither a module of tests/integration.rs nor a [[test]]",
                krate.display()
            );
            checked += 1;
        }
        checked -= 1; // integration.rs itself
    }
    assert!(checked > 60, "only {checked} test files found");
}
