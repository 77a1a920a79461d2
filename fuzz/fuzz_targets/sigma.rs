//! The whole Sigma reader (YAML, documents, modifiers, conditions, lowering, passes) on any input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (rules, _) = sigma::read("fuzz", "f.yml", "f.yml", text);
        for r in &rules {
            let _ = ir::exclusions(&r.logic);
            let _ = ir::indicators(&r.logic);
        }
    }
});
