//! ES|QL, the Elasticsearch piped query language: a hand-written lexer ([`lexer`]), a
//! recursive-descent parser ([`parse`]) into a spanned syntax tree ([`ast`]), and a printer
//! ([`print`]) of canonical text that parses back to the same tree.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod print;

pub use crate::span::{ParseError, Span};
pub use ast::*;
pub use parser::{MAX_DEPTH, parse, parse_expr};
pub use print::{print, print_command, print_expr};
