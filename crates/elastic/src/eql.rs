//! eql: to be written.
