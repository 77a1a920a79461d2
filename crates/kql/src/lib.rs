//! The Kusto query language (KQL) as detections use it: lexer, parser, AST, printer.

pub mod ast;
pub mod content;
pub mod eval;
pub mod lexer;
pub mod lower;
pub mod parser;
pub mod print;

pub use ast::Query;
pub use lexer::line_col;
pub use parser::{ParseError, parse, parse_expr};
pub use print::{print, print_expr};
