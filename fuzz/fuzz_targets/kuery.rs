//! The kuery (Kibana query language) parser on any input; what parses must print to text that parses to the same tree.
#![no_main]
use elastic::kuery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(mut q) = kuery::parse(text)
    {
        let printed = kuery::print(&q);
        let mut again = kuery::parse(&printed).expect("printed kuery (Kibana query language) parses");
        q.clear_spans();
        again.clear_spans();
        assert_eq!(q, again, "print/parse differs: {printed}");
    }
});
