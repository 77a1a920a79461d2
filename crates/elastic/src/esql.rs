//! esql: to be written.
