//! The KQL parser on any input; what parses must print to text that parses to the same tree.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(mut q) = kql::parse(text)
    {
        let printed = kql::print(&q);
        let mut again = kql::parse(&printed).expect("printed KQL parses");
        q.clear_spans();
        again.clear_spans();
        assert_eq!(q, again, "print/parse differs: {printed}");
    }
});
