//! The event engine on any input: the text before the first NUL byte is a Sigma rule, the rest
//! events (JSON). Compiling, reading, matching and correlating must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rule, events) = text.split_once('\0').unwrap_or((text, ""));
    let set = engine::Ruleset::compile([("fuzz.yml", rule)], &engine::Logsources::builtin());
    let (events, _) = engine::read_json(events, "fuzz.json");
    let hits: Vec<Vec<usize>> = events.iter().map(|ev| set.match_indexes(ev)).collect();
    let _ = set.correlate(&events, &hits);
});
