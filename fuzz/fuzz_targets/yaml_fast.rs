//! The YAML fast path against saphyr's path: whenever the fast scanner accepts an input, the
//! loaded stream (values, spans, warnings) is exactly the one saphyr's parser gives.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(fast) = yaml::load_fast(text)
    {
        match yaml::load_with_saphyr(text) {
            Ok(slow) => assert_eq!(fast, slow, "the fast path differs on {text:?}"),
            Err(e) => panic!("the fast path accepted {text:?}, saphyr says {e}"),
        }
    }
});
