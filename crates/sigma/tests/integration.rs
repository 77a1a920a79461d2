//! The crate's integration tests, one binary: each module is a file beside this one.

mod corpus;
mod properties;
mod spec;
