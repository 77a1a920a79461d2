//! A YAML tree with a position for every node.
//!
//! Built on `saphyr-parser`'s event stream. Every node knows where it starts and ends (line,
//! column and byte offset), mappings keep their keys in order, duplicate keys are reported with
//! both positions (the last value wins, as YAML loaders do), and alias expansion is bounded.
//! Scalars are resolved the way PyYAML's `safe_load` does (YAML 1.1: `yes`/`no`/`on`/`off` are
//! booleans, `~` and `null` are null), so a rule means here what it means to pySigma, and every
//! scalar keeps its original text.

pub use ir::Pos;

/// A node's extent in the source text: `start`..`end`, lines and columns from 1, byte offsets
/// into the text given to [`load`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
    pub start_byte: usize,
    pub end_byte: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string scalar; `quoted` is true for single- or double-quoted and block scalars.
    Str { text: String, quoted: bool },
    Seq(Vec<Node>),
    /// Key/value pairs in document order, duplicates already resolved (last wins).
    Map(Vec<(Node, Node)>),
}

/// A problem that does not stop loading (a duplicate key).
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub pos: Pos,
    pub message: String,
}

/// A problem that stops loading the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub pos: Pos,
    pub message: String,
}

/// The documents of a YAML stream, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    pub documents: Vec<Node>,
    pub warnings: Vec<Warning>,
}

/// Parse a YAML stream.
pub fn load(text: &str) -> Result<Stream, Error> {
    let _ = text;
    todo!("implemented by the yaml task")
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str { text, .. } => Some(text),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    /// The value of `key` in a mapping whose keys are strings.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}
