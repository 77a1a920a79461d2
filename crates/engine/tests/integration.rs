//! The crate's integration tests, one binary: each module is a file beside this one.

mod correlations;
mod ir_agrees;
mod json_events;
mod logs;
mod regression;
mod semantics;
