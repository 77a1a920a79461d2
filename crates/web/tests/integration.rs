//! The crate's integration tests, one binary: each module is a file beside this one.

mod browser;
mod common;
mod coverage;
mod elastic;
mod feed;
mod http;
mod kql;
mod linked;
mod search;
mod stories;
