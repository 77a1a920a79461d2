//! Elastic detection-rules: the kuery (Kibana query language), EQL and ES|QL parsers.

pub mod eql;
pub mod esql;
pub mod kuery;
pub mod span;
