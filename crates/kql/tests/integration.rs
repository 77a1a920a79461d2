//! The crate's integration tests, one binary: each module is a file beside this one.

mod content_corpus;
mod lower;
mod parse;
mod parse_corpus;
mod parse_props;
