//! EQL (Event Query Language): a hand-written lexer and recursive-descent parser into a spanned
//! tree ([`ast`]), and a printer whose output parses to the same tree.

pub mod ast;
mod lexer;
mod parser;
mod print;

pub use ast::*;
pub use parser::{KEYWORDS, MAX_DEPTH, parse};
pub use print::print;
