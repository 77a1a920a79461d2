//! Elastic detection-rules: the kuery (Kibana query language), EQL and ES|QL parsers, the
//! detection-rules TOML reader ([`rule`]) and the lowering into `ir` ([`lower`]).

pub mod eql;
pub mod esql;
pub mod kuery;
pub mod lower;
pub mod rule;
pub mod span;
