//! The crate's integration tests, one binary: each module is a file beside this one.

mod accounting;
mod cli;
#[path = "../../sources/tests/common/mod.rs"]
mod common;
mod coverage;
#[path = "../../web/tests/common/coverage_json.rs"]
mod coverage_json;
mod elastic;
mod hunt;
mod kql;
mod layout;
mod search;
mod similar;
mod sync;
mod verify;
