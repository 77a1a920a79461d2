//! The rule catalog: sources, the readers that turn their files into rules, and an in-memory
//! index of the result. Reading collects every problem per file and never stops at one.

pub mod attack;
pub mod read;
mod report;

pub use report::{AttackRow, PredicateView, Report, StageView, report};

use ir::{Diagnostic, Rule};
use std::collections::HashMap;
use std::path::PathBuf;

/// A named folder of rules (a checkout of a rule repository).
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub root: PathBuf,
}

/// Every rule read from a set of sources, with what went wrong while reading them.
#[derive(Debug, Default)]
pub struct Catalog {
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
    /// How many rule files were read.
    pub files: usize,
    by_key: HashMap<String, usize>,
}

impl Catalog {
    /// Build a catalog from rules and diagnostics already read.
    pub fn from_parts(rules: Vec<Rule>, diagnostics: Vec<Diagnostic>, files: usize) -> Catalog {
        let by_key = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key.clone(), i))
            .collect();
        Catalog {
            rules,
            diagnostics,
            files,
            by_key,
        }
    }

    /// The rule with this catalog key.
    pub fn get(&self, key: &str) -> Option<&Rule> {
        self.by_key.get(key).map(|&i| &self.rules[i])
    }

    /// The rule with this key, or else the first rule with this id.
    pub fn find(&self, key_or_id: &str) -> Option<&Rule> {
        self.get(key_or_id).or_else(|| {
            self.rules
                .iter()
                .find(|r| r.meta.id.as_deref() == Some(key_or_id))
        })
    }
}
