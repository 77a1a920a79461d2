//! The crate's integration tests, one binary: each module is a file beside this one.

mod analyst;
mod checkout_walk;
mod corpus_counts;
mod coverage;
mod elastic_snapshots;
mod exclusions;
mod include_folders;
mod kql_documents;
mod kql_roundtrip;
mod kql_snapshots;
mod kql_sources;
mod links;
mod lowering_props;
mod snapshots;
mod splunk_snapshots;
mod translations;
