//! The source-independent model of a detection rule.
//!
//! Every reader (Sigma, SPL, KQL, Elastic) produces a [`Rule`]; every analysis pass and every
//! front end (CLI, JSON, web) consumes one. A rule's [`Logic`] is an ordered list of
//! [`Stage`]s, each with its own expression tree of [`Predicate`]s. Stages may refer to each
//! other through [`Expr::Stage`] (a Sigma condition refers to its named selections).
//!
//! The two passes, [`exclusions`] and [`indicators`], live here because they only need the IR.

use serde::Serialize;
use std::collections::BTreeMap;

mod eval;
mod passes;
pub mod value;
pub use eval::{Fields, eval, holds, render};
pub use passes::{exclusions, exclusions_of, indicators, indicators_of, roots};
pub use value::{Escape, Matcher, Part, Pattern, Shape, Syntax, Value};

/// Where something is in a source file. Lines and columns count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A problem found while reading a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub path: String,
    pub line: u32,
    pub col: u32,
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Diagnostic {
    pub fn new(path: &str, pos: Pos, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_string(),
            line: pos.line,
            col: pos.col,
            severity,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{}:{}:{}: {sev}: {}",
            self.path, self.line, self.col, self.message
        )
    }
}

/// The file format a rule was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Sigma,
    Splunk,
    /// Kusto (KQL) queries: FalconFriday markdown, bare `.kql` files, markdown with KQL blocks.
    Kql,
    /// Elastic detection-rules TOML (kuery, EQL, ES|QL).
    Elastic,
}

/// What kind of Sigma (or later: other) document a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// An ordinary detection rule.
    Detection,
    /// A meta rule adding exclusions to other rules (Sigma `filter:`).
    Filter,
    /// A meta rule correlating the matches of other rules (Sigma `correlation:`).
    Correlation,
}

/// One detection rule, whatever language it was written in.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Unique key in the catalog: `source/relative/path` (with `#N` for the N-th document of a
    /// multi-document file, N ≥ 2).
    pub key: String,
    /// Name of the source (repository) the rule came from.
    pub source: String,
    pub format: Format,
    /// The query language of the rule body (`sigma`, `spl`, `kql`, …).
    pub language: String,
    pub kind: RuleKind,
    pub meta: Meta,
    /// ATT&CK technique ids (`T1047`, `T1059.001`), in the order the rule names them.
    pub attack: Vec<String>,
    /// The rule's text as written.
    pub text: String,
    /// File and position of the rule's first line.
    pub path: String,
    pub pos: Pos,
    pub logic: Logic,
    /// Rules this one refers to (a filter's or correlation's targets), by id or name.
    pub links: Vec<String>,
}

/// Descriptive metadata, common to all formats. Fields a format does not have stay empty.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Meta {
    pub title: String,
    pub id: Option<String>,
    /// A short name other rules can refer to (Sigma `name`).
    pub name: Option<String>,
    pub description: String,
    pub status: Option<String>,
    pub level: Option<String>,
    pub authors: Vec<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
    pub license: Option<String>,
    pub references: Vec<String>,
    pub tags: Vec<String>,
    pub false_positives: Vec<String>,
    /// What data the rule reads, as `key: value` pairs (Sigma logsource, SPL data model, tables).
    pub data_sources: Vec<(String, String)>,
    /// Fields the rule author suggests showing (Sigma `fields`).
    pub fields: Vec<String>,
    /// Related rules as (type, id).
    pub related: Vec<(String, String)>,
    /// Attributes outside the format's schema, kept verbatim as `key: text`.
    pub custom: BTreeMap<String, String>,
    /// Set when the rule is retired (deprecated, unsupported, a placeholder): it is still read
    /// and shown, but left out of corpus counts and coverage by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<Retired>,
}

/// Why a rule is retired: its repository keeps it aside (a `deprecated/` folder, Elastic's
/// `_deprecated`) or its own status says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Retired {
    Deprecated,
    Unsupported,
    /// A rule that needs values its user must fill in (SigmaHQ `rules-placeholder/`).
    Placeholder,
}

impl Retired {
    pub fn as_str(self) -> &'static str {
        match self {
            Retired::Deprecated => "deprecated",
            Retired::Unsupported => "unsupported",
            Retired::Placeholder => "placeholder",
        }
    }
}

/// What a rule does, as ordered stages.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Logic {
    pub stages: Vec<Stage>,
}

/// One stage of a rule: a Sigma condition or selection, an SPL command, a KQL operator.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// `condition`, `selection`, `not filter`, `where`, …
    pub label: String,
    /// The stage's source text.
    pub text: String,
    /// What the stage matches, if it matches anything.
    pub expr: Option<Expr>,
    /// The fields the stage groups its results by (SPL `stats … by`, KQL `summarize … by`,
    /// Sigma correlation `group-by`, EQL `sequence by`), as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// What the reader could not analyse in this stage, or noticed about it, in words
    /// (`not analysed: array_length(A) == array_length(B)`), in source order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Stage {
    /// A stage that groups by nothing.
    pub fn new(label: impl Into<String>, text: impl Into<String>, expr: Option<Expr>) -> Stage {
        Stage {
            label: label.into(),
            text: text.into(),
            expr,
            group_by: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// A boolean expression over predicates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Pred(Predicate),
    /// A reference to another stage of the same rule, by index in [`Logic::stages`].
    Stage(usize),
    /// The row's `on` columns appear in some row of another data set, the one `side` selects
    /// (a KQL `join`); `Not` of it is an anti-join. `side` says what those *other* rows hold:
    /// its predicates are not tests on this rule's rows.
    Join {
        on: Vec<String>,
        side: Box<Expr>,
    },
}

/// One test on one field: `field kind values`, the values joined by OR.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Predicate {
    /// `None` for a keyword (full-text) search.
    pub field: Option<String>,
    pub kind: Kind,
    /// The values, each as written and as the pattern it means ([`Value`]).
    pub values: Vec<Value>,
    pub case_sensitive: bool,
    /// Transformations applied to the values before matching (`base64offset`, `windash`,
    /// `utf16le`, `expand`, `minute`, …), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<String>,
}

/// The kind of a predicate's test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
    Regex,
    Cidr,
    Exists,
    Null,
    Lt,
    Lte,
    Gt,
    Gte,
    Fieldref,
    Keyword,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Eq => "eq",
            Kind::Contains => "contains",
            Kind::StartsWith => "starts_with",
            Kind::EndsWith => "ends_with",
            Kind::Regex => "regex",
            Kind::Cidr => "cidr",
            Kind::Exists => "exists",
            Kind::Null => "null",
            Kind::Lt => "lt",
            Kind::Lte => "lte",
            Kind::Gt => "gt",
            Kind::Gte => "gte",
            Kind::Fieldref => "fieldref",
            Kind::Keyword => "keyword",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row of the exclusion and indicator tables: one test (field, kind, case, transforms) with
/// all its values, OR-ed. Only identical tests share a row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Row {
    /// `None` for keyword (full-text) values.
    pub field: Option<String>,
    pub kind: Kind,
    pub values: Vec<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub case_sensitive: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<String>,
    /// In an exclusion: the row must *not* hold (a re-inclusion: `not (A and not B)`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
}

impl Row {
    /// The row of one predicate.
    pub fn of(p: &Predicate, negated: bool) -> Row {
        Row {
            field: p.field.clone(),
            kind: p.kind,
            values: p.values.clone(),
            case_sensitive: p.case_sensitive,
            transforms: p.transforms.clone(),
            negated,
        }
    }

    /// Whether `p` is the same test as this row's (field, kind, case, transforms).
    pub fn same_test(&self, p: &Predicate) -> bool {
        self.field == p.field
            && self.kind == p.kind
            && self.case_sensitive == p.case_sensitive
            && self.transforms == p.transforms
    }
}

/// One exclusion: a negated top-level conjunct of a root stage. The rule drops an event when
/// **all** of its rows hold; when the conjunct is not a conjunction of rows (an OR of ANDs
/// inside), `all` is empty and `expr`/`text` say what it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exclusion {
    /// The label of the stage the exclusion comes from (`not filter`, `where`, `condition`).
    pub stage: String,
    /// For an anti-join: the columns whose values must not appear in the other data set;
    /// `all` is then what the other data set's rows hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub join_on: Vec<String>,
    pub all: Vec<Row>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expr: Option<Expr>,
    /// The excluded condition as text (`Image ends_with "\\svchost.exe" and …`).
    pub text: String,
}
