//! Properties of macro expansion and pipe splitting on arbitrary SPL-shaped text.

use proptest::prelude::*;
use spl::macros::{MacroDef, MacroTable, expand, find_calls, pipe_segments, split_args};

fn spl_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("`a`".to_string()),
            Just("`b(x, \"y,z\")`".to_string()),
            Just("`u(1)`".to_string()),
            Just("```c | `a` ```".to_string()),
            Just("`".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("|".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("(".to_string()),
            Just(",".to_string()),
            Just("$p$".to_string()),
            "[ a-zA-Z=*é]{0,6}",
        ],
        0..24,
    )
    .prop_map(|v| v.concat())
}

fn table() -> MacroTable {
    let mut t = MacroTable::new();
    for (name, args, def) in [
        ("a", vec![], "index=x `c`"),
        ("b", vec!["p", "q"], "f=$p$ g=$q$ | `a`"),
        ("c", vec![], "sourcetype=y"),
    ] {
        t.insert(MacroDef {
            name: name.into(),
            args: args.into_iter().map(String::from).collect(),
            definition: def.into(),
            description: None,
        });
    }
    t
}

proptest! {
    #[test]
    fn expansion_is_consistent(text in spl_text()) {
        let t = table();
        let e = expand(&text, &t).expect("no cycle in this table");
        // every top-level call: its span slices the original, its expansion slices the result
        let mut last = 0;
        for c in &e.calls {
            prop_assert!(c.span.start >= last && c.span.end <= text.len());
            prop_assert!(text[c.span.clone()].starts_with('`'));
            prop_assert_eq!(&e.text[c.expanded_span.clone()], c.expanded.as_str());
            prop_assert_eq!(e.original_offset(c.expanded_span.end), c.span.end);
            last = c.span.end;
        }
        // the whole text rebuilt from the calls is the expansion
        prop_assert_eq!(e.expand_range(&text, 0..text.len()), e.text.clone());
        // with an empty table, nothing changes
        let none = expand(&text, &MacroTable::new()).unwrap();
        prop_assert_eq!(none.text, text.clone());
        prop_assert!(none.calls.iter().all(|c| !c.known));
    }

    #[test]
    fn segments_are_ordered_and_trimmed(text in spl_text()) {
        let segs = pipe_segments(&text);
        let mut last = 0;
        for s in &segs {
            prop_assert!(s.span.start >= last && s.span.start <= s.span.end && s.span.end <= text.len());
            let part = &text[s.span.clone()];
            prop_assert_eq!(part.trim(), part);
            if let Some(p) = s.pipe {
                prop_assert_eq!(&text[p..p + 1], "|");
                prop_assert!(p < s.span.start || s.span.is_empty());
            }
            last = s.span.end;
        }
        // a call never straddles two segments
        for c in find_calls(&text).0 {
            prop_assert!(segs.iter().any(|s| s.span.start <= c.span.start && c.span.end <= s.span.end)
                || c.span.end > segs.last().map_or(0, |s| s.span.end));
        }
    }

    #[test]
    fn arguments_rejoin(body in "[a-z ,\"()]{0,20}") {
        let args = split_args(&body);
        for a in &args {
            prop_assert_eq!(a.trim(), *a);
        }
    }
}
