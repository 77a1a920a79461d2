//! The whole reader never panics, on mutations of real rules and on YAML-shaped noise.

use proptest::prelude::*;

fn rule() -> &'static str {
    static RULE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RULE.get_or_init(|| {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora/sigma/rules/windows/image_load/image_load_wsman_provider_image_load.yml");
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("test corpora missing ({p}): {e}"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_real_rule(cut in 0usize..6000, len in 0usize..40, insert in r"[ \n:|*?\-'\x22\[\]{}a-z0-9#&!%]{0,12}") {
        let rule = rule();
        let (a, b) = (cut.min(rule.len()), (cut + len).min(rule.len()));
        if rule.is_char_boundary(a) && rule.is_char_boundary(b) {
            let text = format!("{}{}{}", &rule[..a], insert, &rule[b..]);
            let (rules, _) = sigma::read("p", "p.yml", "p.yml", &text);
            for r in &rules {
                let _ = ir::exclusions(&r.logic);
                let _ = ir::indicators(&r.logic);
            }
        }
    }

    #[test]
    fn yaml_shaped_noise(text in r"(title: x\n)?(detection:\n)?(  [a-z|]{1,12}:( [a-z0-9*'\-]{0,8})?\n(    - [a-z0-9*]{0,6}\n){0,3}){0,4}(  condition: [a-z0-9 ()*|]{0,30}\n)?") {
        let _ = sigma::read("p", "p.yml", "p.yml", &text);
    }
}
