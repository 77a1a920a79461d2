//! The EQL parser on any input; what parses must print to text that parses to the same tree.
#![no_main]
use elastic::eql;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(mut q) = eql::parse(text)
    {
        let printed = eql::print(&q);
        let mut again = eql::parse(&printed).expect("printed EQL parses");
        q.clear_spans();
        again.clear_spans();
        assert_eq!(q, again, "print/parse differs: {printed}");
    }
});
