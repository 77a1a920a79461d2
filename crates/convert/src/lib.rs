//! Sigma rules → query languages, in two layers as in pySigma:
//!
//! - **processing pipelines** ([`pipeline`], applied by [`apply`]): data files in pySigma's YAML
//!   format that map log sources to tables and fields to columns, add conditions, fail rules a
//!   target cannot run. The pipelines for each target ship in `data/pipelines/`;
//! - **a backend** ([`kql`], [`spl`], [`eql`], [`esql`]): how each expression is written in the target language,
//!   over the expression tree every backend shares ([`expr`]).
//!
//! For KQL the query table is pipeline state: a `set_state` item with `key: query_table`
//! (under a `logsource` rule condition) names the table; the backend writes
//! `table\n| where …`.

pub mod apply;
pub mod eql;
pub mod esql;
pub mod expr;
pub mod kql;
pub mod pipeline;
pub mod rule;
pub mod schema;
pub mod spl;

pub use pipeline::{LoadError, Pipeline};

/// A conversion target: a backend and its built-in pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// KQL over the Microsoft Defender XDR advanced hunting tables.
    KqlXdr,
    /// KQL over Microsoft Sentinel's ASIM parsers.
    KqlAsim,
    /// Splunk SPL over Windows event logs (pySigma-backend-splunk's `splunk_windows`).
    Spl,
    /// Elastic EQL over Winlogbeat's ECS fields (pySigma-backend-elasticsearch's `ecs_windows`).
    Eql,
    /// Elastic ES|QL over the same fields.
    Esql,
}

impl Target {
    pub const ALL: [Target; 5] = [
        Target::KqlXdr,
        Target::KqlAsim,
        Target::Spl,
        Target::Eql,
        Target::Esql,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::KqlXdr => "kql-xdr",
            Target::KqlAsim => "kql-asim",
            Target::Spl => "spl",
            Target::Eql => "eql",
            Target::Esql => "esql",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The columns of the target's tables: (file name, TSV text); `None` for a target whose
    /// fields are not checked (Splunk's fields are whatever its extractions make).
    pub fn builtin_schema(self) -> Option<(&'static str, &'static str)> {
        match self {
            Target::KqlXdr => Some((
                "data/schemas/microsoft_xdr.tsv",
                include_str!("../../../data/schemas/microsoft_xdr.tsv"),
            )),
            Target::KqlAsim => Some((
                "data/schemas/sentinel_asim.tsv",
                include_str!("../../../data/schemas/sentinel_asim.tsv"),
            )),
            Target::Spl | Target::Eql | Target::Esql => None,
        }
    }

    /// The built-in pipeline: (file name, YAML text).
    pub fn builtin_pipeline(self) -> (&'static str, &'static str) {
        match self {
            Target::KqlXdr => (
                "data/pipelines/microsoft_xdr.yml",
                include_str!("../../../data/pipelines/microsoft_xdr.yml"),
            ),
            Target::KqlAsim => (
                "data/pipelines/sentinel_asim.yml",
                include_str!("../../../data/pipelines/sentinel_asim.yml"),
            ),
            Target::Spl => (
                "data/pipelines/splunk_windows.yml",
                include_str!("../../../data/pipelines/splunk_windows.yml"),
            ),
            Target::Eql | Target::Esql => (
                "data/pipelines/ecs_windows.yml",
                include_str!("../../../data/pipelines/ecs_windows.yml"),
            ),
        }
    }
}

/// A converted rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// One query per condition.
    pub queries: Vec<String>,
    /// The tables the queries read (pipeline state `query_table`, and the table of a
    /// `query_join`); none for a target without
    /// tables (SPL searches whatever the user's indexes hold).
    pub tables: Vec<String>,
}

/// A target with its pipelines, ready to convert rules.
#[derive(Debug, Clone)]
pub struct Converter {
    pub target: Target,
    /// In the order they run: ascending priority, the built-in pipeline first among equals.
    pub pipelines: Vec<Pipeline>,
    /// The columns of the target's tables; every query is checked against them.
    pub schema: schema::Schema,
    /// Pipeline parameters (`--pipeline-arg KEY=VALUE`, pySigma's
    /// `microsoft_xdr_pipeline(query_table=…)`): pipeline state set before the pipelines run,
    /// which their `set_state` items do not change.
    pub args: Vec<(String, String)>,
}

impl Converter {
    /// The target's built-in pipeline plus the user's pipelines.
    pub fn new(target: Target, user: Vec<Pipeline>) -> Result<Converter, LoadError> {
        Converter::with_builtin(target, true, user)
    }

    /// The user's pipelines, and the target's built-in one when `builtin` (sigma-cli's
    /// `--without-pipeline` is `builtin: false`).
    pub fn with_builtin(
        target: Target,
        builtin: bool,
        user: Vec<Pipeline>,
    ) -> Result<Converter, LoadError> {
        let mut pipelines = Vec::new();
        if builtin {
            let (path, text) = target.builtin_pipeline();
            pipelines.push(pipeline::load(path, text)?);
        }
        pipelines.extend(user);
        pipelines.sort_by_key(|p| p.priority);
        let schema = match target.builtin_schema() {
            Some((path, text)) => schema::Schema::load(path, text)?,
            None => schema::Schema::default(),
        };
        Ok(Converter {
            target,
            pipelines,
            schema,
            args: Vec::new(),
        })
    }

    /// The queries of one Sigma document (one per condition), or why it has none.
    pub fn convert(&self, doc: &sigma::Document) -> Result<Vec<String>, String> {
        self.convert_full(doc).map(|c| c.queries)
    }

    /// The queries of one Sigma document and the tables they read, or why it has none.
    pub fn convert_full(&self, doc: &sigma::Document) -> Result<Converted, String> {
        let mut rule = rule::Rule::from_document(doc)?;
        for (k, v) in &self.args {
            rule.state.insert(k.clone(), Some(v.clone()));
            rule.fixed_state.insert(k.clone());
        }
        for p in &self.pipelines {
            apply::apply(p, &mut rule)?;
        }
        let queries = match self.target {
            Target::KqlXdr | Target::KqlAsim => {
                kql::queries(&rule, &self.schema, self.target == Target::KqlAsim)?
            }
            Target::Spl => spl::queries(&rule, &doc.meta.fields)?,
            Target::Eql => eql::queries(&rule)?,
            Target::Esql => esql::queries(&rule)?,
        };
        let mut tables = match rule.state.get("query_table") {
            Some(Some(t)) => vec![t.clone()],
            _ => vec![],
        };
        // A `query_join` (`join kind=leftsemi (DeviceInfo | …) on DeviceId`) reads its table too.
        if let Some(Some(join)) = rule.state.get("query_join")
            && let Some((_, right)) = join.split_once('(')
            && let Some(t) = right
                .trim_start()
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .filter(|t| !t.is_empty() && !tables.iter().any(|x| x == t))
        {
            tables.push(t.to_string());
        }
        Ok(Converted { queries, tables })
    }
}
