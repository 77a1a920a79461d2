//! The crate's integration tests, one binary: each module is a file beside this one.

mod common;
mod eql;
mod eql_corpus;
mod eql_props;
mod eql_snapshots;
mod esql;
mod esql_corpus;
mod esql_props;
mod esql_snapshots;
mod fuzz_regressions;
mod kuery;
mod kuery_corpus;
mod kuery_props;
mod kuery_snapshots;
mod lower_faithful;
mod rule_corpus;
