//! The KQL parser on any input; what parses must print to text that parses to the same tree.
//! The same input also goes through the document readers (a `.kql` file, a markdown page):
//! splitting into queries, fences, lowering must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(mut q) = kql::parse(text) {
            let printed = kql::print(&q);
            let mut again = kql::parse(&printed).expect("printed KQL parses");
            q.clear_spans();
            again.clear_spans();
            assert_eq!(q, again, "print/parse differs: {printed}");
        }
        for doc in [
            kql::content::read_kql_file("f.kql", text),
            kql::content::read_markdown("f.md", text),
        ] {
            for b in &doc.blocks {
                assert_eq!(&text[b.offset..b.offset + b.text.len()], b.text);
            }
            let _ = kql::lower::document_rules(&doc, "s", "f", "f", text);
        }
    }
});
