//! The ES|QL parser on any input; what parses must print to text that parses to the same tree.
#![no_main]
use elastic::esql;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(mut q) = esql::parse(text)
    {
        let printed = esql::print(&q);
        let mut again = esql::parse(&printed).expect("printed ES|QL parses");
        q.clear_spans();
        again.clear_spans();
        assert_eq!(q, again, "print/parse differs: {printed}");
    }
});
