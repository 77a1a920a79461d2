//! Splunk SPL as used in detection content (Splunk security_content): the query language
//! (`lexer`, `ast`, `parser`), macros (`macros`), the security_content YAML format (`content`).

pub mod content;
pub mod macros;
