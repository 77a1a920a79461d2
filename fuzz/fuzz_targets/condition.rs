//! The Sigma condition grammar on any input, resolved against a fixed set of names.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = sigma::condition::parse(text) {
            let _ = sigma::condition::resolve(&c, &["selection", "filter_a", "filter_b", "_x"]);
        }
    }
});
