//! The SPL parser on any input; what parses must print to text that parses to the same tree.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(mut p) = spl::parse(text)
    {
        let printed = spl::print(&p);
        let mut again = spl::parse(&printed).expect("printed SPL parses");
        p.clear_spans();
        again.clear_spans();
        assert_eq!(p, again, "print/parse differs: {printed}");
    }
});
