//! A YAML tree with a position for every node.
//!
//! Read by a hand-written byte scanner (`fast.rs`) for the subset of YAML that rule files use
//! (block mappings and sequences, plain, quoted and `|`/`>` scalars, comments, `---` between
//! documents), and by `saphyr-parser` for everything else: the scanner gives up on anything
//! outside its subset (anchors, tags, flow collections, tabs, odd indentation...) and the text
//! is read again by saphyr's parser. Both feed the same events to one tree builder, and where
//! the scanner accepts a text the result is exactly saphyr's, spans and warnings included
//! (checked on every YAML file of the shared corpora, by property tests and by the `yaml_fast`
//! fuzz target; see [`load_fast`]). Every node knows where it starts and ends (line,
//! column and byte offset), mappings keep their keys in order, duplicate keys are reported with
//! both positions (the last value wins, as YAML loaders do), and alias expansion is bounded.
//! Scalars are resolved the way PyYAML's `safe_load` does (YAML 1.1: `yes`/`no`/`on`/`off` are
//! booleans, `~` and `null` are null), so a rule means here what it means to pySigma, and every
//! scalar keeps its original text.
//!
//! # Decisions
//!
//! - **Duplicate keys**: the pair of the *last* occurrence (its key node and its value node, so
//!   `key.span.start..value.span.end` still slices one `key: value` entry) is kept at the index of
//!   the *first* occurrence, like a Python dict. A [`Warning`] is pushed at every later
//!   occurrence's key, naming both positions. Keys compare as Python dict keys do (`'1'` and
//!   `1` differ; `1`, `1.0` and `true` are one key; collections used as keys never collide).
//! - **Merge keys** (`<<: *base`, `<<: [*a, *b]`): as PyYAML's `flatten_mapping`, the merged
//!   pairs come first (earlier mappings of a list win, a later `<<` entry wins over an earlier
//!   one), then the mapping's own pairs, which override merged ones without a warning. A `<<` value that is not a mapping or a list of
//!   mappings is an [`Error`].
//! - **Integers** that do not fit in an `i64` stay `Str { quoted: false }` with their original
//!   text, so no digit is lost; so do the few texts PyYAML's int regex accepts but its `int()`
//!   rejects (`0x_`).
//! - **Tags**: `!!str`, `!!int`, `!!float`, `!!bool`, `!!null` construct as PyYAML does (an
//!   unreadable value such as `!!int abc` is an [`Error`]); the non-specific `!` resolves like
//!   an untagged plain scalar (as in PyYAML); every other tag (`!!timestamp`, `!!binary`, local
//!   `!foo`) keeps the text as a string. Tags on collections are ignored. PyYAML rejects plain
//!   `=` and `<<` scalars as values; here they are strings.
//! - **Aliases** are replaced by a copy of the anchored node whose root span is the alias's span
//!   (`*name`); the nodes inside keep the spans of the anchored text. At most
//!   [`MAX_ALIAS_NODES`] nodes may be created through aliases in one stream (ten times that
//!   may be held for anchors), and collections may nest at most [`MAX_DEPTH`] levels (aliases
//!   included; saphyr itself stops flow collections at 255); beyond that `load` fails.
//! - **Spans**: a scalar's span covers its text only (quotes included, anchors and tags
//!   excluded; a block scalar runs from its `|`/`>` indicator to its last non-blank character).
//!   An empty plain scalar (`key:`) has an empty span right after its `:`/`-`/`?`. A block
//!   collection runs from its first key (or first `-`) to the end of its last node; a flow
//!   collection from its bracket to its closing bracket. Warnings are sorted by position.

pub use ir::Pos;

mod build;
mod fast;
mod resolve;

/// The deepest collection nesting [`load`] accepts.
pub const MAX_DEPTH: usize = 256;

/// The most nodes [`load`] creates through aliases in one stream (alias bomb guard).
pub const MAX_ALIAS_NODES: usize = 100_000;

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
    Str {
        text: String,
        quoted: bool,
    },
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
///
/// Never panics: should the underlying parser panic on some input, that becomes an [`Error`]
/// at line 1 column 1.
pub fn load(text: &str) -> Result<Stream, Error> {
    // A panic of the fast scanner would be a bug; saphyr's path then has its say.
    if let Ok(Some(stream)) = std::panic::catch_unwind(|| load_fast(text)) {
        return Ok(stream);
    }
    load_with_saphyr(text)
}

/// [`load`] through saphyr-parser only, for any YAML text; `load` gives the same result.
/// Public for differential tests.
pub fn load_with_saphyr(text: &str) -> Result<Stream, Error> {
    std::panic::catch_unwind(|| build::load(text)).unwrap_or_else(|_| {
        Err(Error {
            pos: Pos { line: 1, col: 1 },
            message: "internal error: the YAML parser failed on this input".to_string(),
        })
    })
}

/// [`load`] through the fast scanner only: `None` when the text is outside the subset it
/// reads (see the module documentation); otherwise exactly what [`load_with_saphyr`] gives.
/// Public for differential tests.
pub fn load_fast(text: &str) -> Option<Stream> {
    build::load_fast(text)
}

impl Span {
    /// The text this span covers in `source` (the text given to [`load`]); empty if the span
    /// does not fit in `source`.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.start_byte..self.end_byte).unwrap_or("")
    }
}

impl Value {
    /// What kind of value this is, for messages: "null", "a boolean", "an integer", "a float",
    /// "a string", "a sequence", "a mapping".
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str { .. } => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.pos.line, self.pos.col, self.message
        )
    }
}

impl std::error::Error for Error {}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.pos.line, self.pos.col, self.message
        )
    }
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
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fast_tests;
