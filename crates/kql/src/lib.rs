//! The Kusto query language (KQL) as detections use it: lexer, parser, AST, printer.
