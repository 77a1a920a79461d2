//! Inputs kept in `fuzz/regressions/{kuery,eql}/` (found by fuzzing or by hand) are replayed:
//! each must parse or fail without panicking, and what parses must print to text that parses to
//! the same tree.

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut out = vec![];
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.expect("entry").path();
        let bytes = std::fs::read(&p).expect("readable");
        if let Ok(text) = String::from_utf8(bytes) {
            out.push((p.display().to_string(), text));
        }
    }
    assert!(!out.is_empty(), "no inputs in {}", dir.display());
    out
}

#[test]
fn kuery_regressions() {
    use elastic::kuery;
    for (name, text) in inputs("kuery") {
        if let Ok(mut q) = kuery::parse(&text) {
            let printed = kuery::print(&q);
            let mut again =
                kuery::parse(&printed).unwrap_or_else(|e| panic!("{name}: {printed:?}: {e}"));
            q.clear_spans();
            again.clear_spans();
            assert_eq!(q, again, "{name}: {printed}");
        }
    }
}

#[test]
fn eql_regressions() {
    use elastic::eql;
    for (name, text) in inputs("eql") {
        if let Ok(mut q) = eql::parse(&text) {
            let printed = eql::print(&q);
            let mut again =
                eql::parse(&printed).unwrap_or_else(|e| panic!("{name}: {printed:?}: {e}"));
            q.clear_spans();
            again.clear_spans();
            assert_eq!(q, again, "{name}: {printed}");
        }
    }
}
