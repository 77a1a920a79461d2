//! The Sigma rule language.

pub mod condition;
