//! kuery: to be written.
