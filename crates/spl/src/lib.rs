//! Splunk SPL as used in detection content (Splunk security_content): the query language
//! (`lexer`, `ast`, `parser`), macros (`macros`), the security_content YAML format (`content`).

pub mod ast;
pub mod content;
pub mod lexer;
pub mod lower;
pub mod macros;
pub mod parser;
pub mod print;

pub use ast::Pipeline;
pub use parser::{ParseError, parse};
pub use print::print;
