//! Turning `saphyr-parser`'s event stream into [`Node`] trees.
//!
//! The tree is built with an explicit stack of open collections, so nesting costs heap, not
//! call stack; the stack is capped at [`MAX_DEPTH`] anyway because every consumer of the tree
//! (and `Drop`, `Clone`, `PartialEq`) walks it recursively.

use crate::fast;
use crate::resolve::{self, IntResult};
use crate::{Error, MAX_ALIAS_NODES, MAX_DEPTH, Node, Pos, Span, Stream, Value, Warning};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};
use std::borrow::Cow;
use std::collections::HashMap;

/// A position in the text: byte offset plus line and column (both from 1, column in chars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Loc {
    byte: usize,
    line: u32,
    col: u32,
}

impl Loc {
    fn pos(self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }
}

fn span(start: Loc, end: Loc) -> Span {
    Span {
        start: start.pos(),
        end: end.pos(),
        start_byte: start.byte,
        end_byte: end.byte,
    }
}

fn start_loc(s: &Span) -> Loc {
    Loc {
        byte: s.start_byte,
        line: s.start.line,
        col: s.start.col,
    }
}

fn end_loc(s: &Span) -> Loc {
    Loc {
        byte: s.end_byte,
        line: s.end.line,
        col: s.end.col,
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A node anchored with `&name`, kept for later aliases.
struct Anchored {
    node: Node,
    /// Nodes in the tree (the node itself included).
    size: usize,
    /// Collection nesting inside the node: 0 for a scalar.
    height: usize,
}

enum Kind {
    Seq(Vec<Node>),
    Map {
        pairs: Vec<(Node, Node)>,
        key: Option<Node>,
        /// Indexes into `pairs` of `<<` merge entries.
        merges: Vec<usize>,
        key_is_merge: bool,
    },
}

/// An open collection.
struct Frame {
    kind: Kind,
    anchor: usize,
    /// The position of `{` or `[` for a flow collection.
    bracket: Option<Loc>,
    /// Where saphyr says the collection starts (may include properties).
    event_start: Loc,
    size: usize,
    height: usize,
}

/// Line and column lookups. saphyr's markers count chars, and their line/column can be off at
/// the end of the input, so only their char index is used.
struct Lines<'a> {
    text: &'a str,
    ascii: bool,
    /// Byte offset of each char index (plus the end), for non-ASCII texts read by saphyr (the
    /// fast scanner's offsets are bytes: its columns are counted on their line instead).
    char_bytes: Option<Vec<usize>>,
    /// Byte offset and char index of the start of each line (the char index only with
    /// `char_bytes` or an ASCII text).
    starts: Vec<(usize, usize)>,
}

impl<'a> Lines<'a> {
    /// `char_index`: whether `at_index` will be asked (saphyr's markers).
    fn new(text: &'a str, char_index: bool) -> Self {
        let mut starts = vec![(0, 0)];
        let bytes = text.as_bytes();
        let ascii = text.is_ascii();
        if ascii || !char_index {
            // The fast scanner (no `char_index`) gives up on a `\r` outside `\r\n`.
            if char_index && bytes.contains(&b'\r') {
                for (i, &b) in bytes.iter().enumerate() {
                    if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                        starts.push((i + 1, i + 1));
                    }
                }
            } else {
                push_line_starts(bytes, &mut starts);
            }
            return Lines {
                text,
                ascii,
                char_bytes: None,
                starts,
            };
        }
        let breaks_after =
            |i: usize, b: u8| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        let mut char_bytes = Vec::with_capacity(text.len() + 1);
        for (ci, (i, c)) in text.char_indices().enumerate() {
            char_bytes.push(i);
            if c.is_ascii() && breaks_after(i, c as u8) {
                starts.push((i + 1, ci + 1));
            }
        }
        char_bytes.push(text.len());
        Lines {
            text,
            ascii,
            char_bytes: Some(char_bytes),
            starts,
        }
    }

    fn n_chars(&self) -> usize {
        self.char_bytes
            .as_ref()
            .map_or(self.text.len(), |t| t.len().saturating_sub(1))
    }

    /// The location of a char index (clamped to the end of the text).
    fn at_index(&self, index: usize) -> Loc {
        let ci = index.min(self.n_chars());
        let byte = match &self.char_bytes {
            None => ci,
            Some(t) => t.get(ci).copied().unwrap_or(self.text.len()),
        };
        self.loc(byte, ci)
    }

    /// The location of a byte offset (which must be a char boundary).
    fn at_byte(&self, byte: usize) -> Loc {
        let byte = byte.min(self.text.len());
        let line = self.starts.partition_point(|&(b, _)| b <= byte).max(1);
        self.at_byte_on(byte, line)
    }

    /// The location of a byte offset, looking for its line from `line` (from 1), which is
    /// updated: cheap for offsets in increasing order.
    fn at_byte_from(&self, byte: usize, line: &mut usize) -> Loc {
        let byte = byte.min(self.text.len());
        let mut l = (*line).clamp(1, self.starts.len());
        while l > 1 && self.starts.get(l - 1).is_some_and(|&(b, _)| b > byte) {
            l -= 1;
        }
        while self.starts.get(l).is_some_and(|&(b, _)| b <= byte) {
            l += 1;
        }
        *line = l;
        self.at_byte_on(byte, l)
    }

    /// The location of a byte offset on line `line` (from 1).
    fn at_byte_on(&self, byte: usize, line: usize) -> Loc {
        let (line_byte, line_ci) = self.starts.get(line - 1).copied().unwrap_or((0, 0));
        let col = match &self.char_bytes {
            _ if self.ascii => byte - line_byte,
            Some(t) => t.partition_point(|&b| b < byte).saturating_sub(line_ci),
            None => self
                .text
                .as_bytes()
                .get(line_byte..byte)
                .map_or(0, |s| s.iter().filter(|&&b| (b & 0xC0) != 0x80).count()),
        };
        Loc {
            byte,
            line: to_u32(line),
            col: to_u32(col).saturating_add(1),
        }
    }

    fn loc(&self, byte: usize, ci: usize) -> Loc {
        let line = self.starts.partition_point(|&(b, _)| b <= byte).max(1);
        let (_, line_ci) = self.starts.get(line - 1).copied().unwrap_or((0, 0));
        Loc {
            byte,
            line: to_u32(line),
            col: to_u32(ci.saturating_sub(line_ci)).saturating_add(1),
        }
    }
}

/// Push `(i + 1, i + 1)` for each `\n` at `i`, eight bytes at a time.
fn push_line_starts(bytes: &[u8], starts: &mut Vec<(usize, usize)>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // A zero byte of `w` is a `\n` of the chunk.
        let w = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        if w.wrapping_sub(ONES) & !w & HIGHS != 0 {
            for (k, &b) in chunk.iter().enumerate() {
                if b == b'\n' {
                    starts.push((base + k + 1, base + k + 1));
                }
            }
        }
        base += 8;
    }
    for (k, &b) in chunks.remainder().iter().enumerate() {
        if b == b'\n' {
            starts.push((base + k + 1, base + k + 1));
        }
    }
}

struct Builder<'a> {
    text: &'a str,
    lines: Lines<'a>,
    stack: Vec<Frame>,
    anchors: Vec<Option<Anchored>>,
    /// Whether anchored nodes must be kept: not when the text has no `*` (so no alias).
    keep_anchors: bool,
    /// Nodes copied into `anchors` so far.
    anchored_nodes: usize,
    alias_nodes: usize,
    warnings: Vec<Warning>,
    /// End of the previous event's span.
    prev_end: Loc,
    root: Option<Node>,
    documents: Vec<Node>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, char_index: bool) -> Self {
        Builder {
            text,
            lines: Lines::new(text, char_index),
            stack: Vec::new(),
            anchors: Vec::new(),
            keep_anchors: text.contains('*'),
            anchored_nodes: 0,
            alias_nodes: 0,
            warnings: Vec::new(),
            prev_end: Loc {
                byte: 0,
                line: 1,
                col: 1,
            },
            root: None,
            documents: Vec::new(),
        }
    }

    /// Handle one event and remember its end; `Ok(true)` at the end of the stream.
    fn step(&mut self, event: Event<'_>, start: Loc, end: Loc) -> Result<bool, Error> {
        if self.event(event, start, end)? {
            return Ok(true);
        }
        self.prev_end = end;
        Ok(false)
    }

    fn finish(mut self) -> Stream {
        if let Some(root) = self.root.take() {
            self.documents.push(root);
        }
        self.warnings.sort_by_key(|w| w.pos);
        Stream {
            documents: self.documents,
            warnings: self.warnings,
        }
    }
}

/// Load with saphyr's parser (every YAML text).
pub(crate) fn load(text: &str) -> Result<Stream, Error> {
    let mut b = Builder::new(text, true);
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, sp) = next.map_err(|e| scan_error(&e, &b.lines))?;
        let start = b.lines.at_index(sp.start.index());
        let end = b.lines.at_index(sp.end.index());
        if b.step(event, start, end)? {
            break;
        }
    }
    Ok(b.finish())
}

/// Load with the fast scanner (`crate::fast`): `None` when the text is outside its subset, or
/// when building fails (saphyr's path then reports the error).
pub(crate) fn load_fast(text: &str) -> Option<Stream> {
    let events = fast::scan(text)?;
    let mut b = Builder::new(text, false);
    let mut line = 1;
    for (event, start, end) in events {
        let start = b.lines.at_byte_from(start, &mut line);
        let end = b.lines.at_byte_from(end, &mut line);
        if b.step(event, start, end).ok()? {
            break;
        }
    }
    Some(b.finish())
}

fn scan_error(e: &ScanError, lines: &Lines<'_>) -> Error {
    let message = match e.info() {
        // The scanner's flow-level counter is a u8.
        "recursion limit exceeded" => {
            "flow collections are nested more than 255 levels deep".to_string()
        }
        info => info.to_string(),
    };
    Error {
        pos: lines.at_index(e.marker().index()).pos(),
        message,
    }
}

/// The meaning of a tag for scalar construction.
enum TagKind {
    /// No tag, or the non-specific `!` (PyYAML resolves `! 12` implicitly too).
    Implicit,
    Str,
    Int,
    Float,
    Bool,
    Null,
    Merge,
    /// `!!binary`, `!!timestamp`, local tags...: the text is kept as a string.
    Other,
}

fn tag_kind(tag: Option<&Tag>) -> TagKind {
    let Some(tag) = tag else {
        return TagKind::Implicit;
    };
    let core = if tag.is_yaml_core_schema() {
        Some(tag.suffix.as_str())
    } else if tag.handle.is_empty() {
        if tag.suffix == "!" {
            return TagKind::Implicit;
        }
        tag.suffix.strip_prefix("tag:yaml.org,2002:")
    } else {
        None
    };
    match core {
        Some("str") => TagKind::Str,
        Some("int") => TagKind::Int,
        Some("float") => TagKind::Float,
        Some("bool") => TagKind::Bool,
        Some("null") => TagKind::Null,
        Some("merge") => TagKind::Merge,
        _ => TagKind::Other,
    }
}

impl Builder<'_> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.text.as_bytes().get(i).copied()
    }

    fn at(&self, byte: usize) -> Loc {
        self.lines.at_byte(byte)
    }

    /// Skip white space, line breaks and comments from byte `i`; with `props` also anchors and
    /// tags, with `indicators` also `-`, `?` and `:` followed by a blank.
    fn skip_trivia(&self, mut i: usize, props: bool, indicators: bool) -> usize {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(i) {
            let blank_after = bytes.get(i + 1).is_none_or(|n| is_ws(*n));
            if is_ws(b) {
                i += 1;
            } else if b == b'#' {
                while bytes.get(i).is_some_and(|c| *c != b'\n' && *c != b'\r') {
                    i += 1;
                }
            } else if props && (b == b'&' || b == b'!') {
                while bytes
                    .get(i)
                    .is_some_and(|c| !is_ws(*c) && !matches!(c, b',' | b'[' | b']' | b'{' | b'}'))
                {
                    i += 1;
                }
            } else if indicators && matches!(b, b'-' | b'?' | b':') && blank_after {
                i += 1;
            } else {
                break;
            }
        }
        i
    }

    /// Where to put an empty plain scalar: right after the `:`, `-` or `?` that introduced it,
    /// else right after the previous token.
    fn empty_loc(&self) -> Loc {
        let from = self.prev_end;
        let i = self.skip_trivia(from.byte, false, false);
        let next = self.byte(i + 1);
        let introduces = match self.byte(i) {
            Some(b':') => next.is_none_or(|n| is_ws(n) || matches!(n, b',' | b']' | b'}')),
            Some(b'-' | b'?') => next.is_none_or(is_ws),
            _ => false,
        };
        if introduces { self.at(i + 1) } else { from }
    }

    fn scalar_span(
        &self,
        empty: bool,
        style: ScalarStyle,
        has_props: bool,
        start: Loc,
        end: Loc,
    ) -> Span {
        match style {
            ScalarStyle::Literal | ScalarStyle::Folded => {
                // saphyr's span starts at the content (or at the properties) and runs over the
                // trailing blank lines: start at the `|`/`>` header, end at the last non-blank.
                let from = if has_props || self.prev_end.byte > start.byte {
                    start
                } else {
                    self.prev_end
                };
                let i = self.skip_trivia(from.byte, true, true);
                let header = if i <= end.byte && matches!(self.byte(i), Some(b'|' | b'>')) {
                    self.at(i)
                } else {
                    start
                };
                let bytes = self.text.as_bytes();
                let mut e = end.byte.min(bytes.len());
                while e > header.byte + 1 && bytes.get(e - 1).is_some_and(|b| is_ws(*b)) {
                    e -= 1;
                }
                span(header, self.at(e.max(header.byte)))
            }
            _ if empty && style == ScalarStyle::Plain => {
                let at = if has_props { end } else { self.empty_loc() };
                span(at, at)
            }
            _ => {
                let first = if has_props {
                    let i = self.skip_trivia(start.byte, true, false);
                    if i < end.byte { self.at(i) } else { start }
                } else {
                    start
                };
                span(first, end)
            }
        }
    }

    /// Handle one event; `Ok(true)` at the end of the stream.
    fn event(&mut self, event: Event<'_>, start: Loc, end: Loc) -> Result<bool, Error> {
        match event {
            Event::StreamEnd => return Ok(true),
            Event::Nothing | Event::StreamStart => {}
            Event::DocumentStart(_) | Event::DocumentEnd => {
                if let Some(root) = self.root.take() {
                    self.documents.push(root);
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                self.scalar(value, style, anchor, tag.as_deref(), start, end)?;
            }
            Event::Alias(id) => self.alias(id, start, end)?,
            Event::SequenceStart(anchor, _) => {
                self.open(Kind::Seq(Vec::new()), anchor, start, end)?
            }
            Event::MappingStart(anchor, _) => self.open(
                Kind::Map {
                    pairs: Vec::new(),
                    key: None,
                    merges: Vec::new(),
                    key_is_merge: false,
                },
                anchor,
                start,
                end,
            )?,
            Event::SequenceEnd | Event::MappingEnd => self.close(end)?,
        }
        Ok(false)
    }

    fn scalar(
        &mut self,
        value: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        start: Loc,
        end: Loc,
    ) -> Result<(), Error> {
        let has_props = anchor != 0 || tag.is_some();
        let sp = self.scalar_span(value.is_empty(), style, has_props, start, end);
        let quoted = style != ScalarStyle::Plain;
        let kind = tag_kind(tag);
        let at_key = matches!(
            self.stack.last(),
            Some(Frame {
                kind: Kind::Map { key: None, .. },
                ..
            })
        );
        let is_merge = at_key
            && match kind {
                TagKind::Merge => true,
                TagKind::Implicit => !quoted && value == "<<",
                _ => false,
            };
        let bad = |what: &str| Error {
            pos: sp.start,
            message: format!("cannot read {value:?} as {what}"),
        };
        let v = match kind {
            TagKind::Implicit if !quoted || tag.is_some() => {
                match resolve::resolve_plain(value.into_owned()) {
                    Value::Str { text, .. } => Value::Str { text, quoted },
                    other => other,
                }
            }
            TagKind::Int => match resolve::construct_int(&value) {
                IntResult::Int(i) => Value::Int(i),
                IntResult::Overflow => Value::Str {
                    text: value.into_owned(),
                    quoted,
                },
                IntResult::Invalid => return Err(bad("an integer (!!int)")),
            },
            TagKind::Float => match resolve::construct_float(&value) {
                Some(f) => Value::Float(f),
                None => return Err(bad("a float (!!float)")),
            },
            TagKind::Bool => match resolve::construct_bool(&value) {
                Some(b) => Value::Bool(b),
                None => return Err(bad("a boolean (!!bool)")),
            },
            TagKind::Null => Value::Null,
            TagKind::Implicit | TagKind::Str | TagKind::Merge | TagKind::Other => Value::Str {
                text: value.into_owned(),
                quoted,
            },
        };
        if is_merge
            && let Some(Frame {
                kind: Kind::Map { key_is_merge, .. },
                ..
            }) = self.stack.last_mut()
        {
            *key_is_merge = true;
        }
        self.add(Node { value: v, span: sp }, anchor, 1, 0)
    }

    fn alias(&mut self, id: usize, start: Loc, end: Loc) -> Result<(), Error> {
        let Some(a) = self.anchors.get(id).and_then(Option::as_ref) else {
            let message = if self.stack.iter().any(|f| f.anchor == id) {
                "an alias refers to the node that contains it (recursive alias)"
            } else {
                "an alias refers to an unknown anchor"
            };
            return Err(Error {
                pos: start.pos(),
                message: message.to_string(),
            });
        };
        self.alias_nodes = self.alias_nodes.saturating_add(a.size);
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(Error {
                pos: start.pos(),
                message: format!(
                    "aliases expand to more than {MAX_ALIAS_NODES} nodes (is this an alias bomb?)"
                ),
            });
        }
        if self.stack.len() + a.height > MAX_DEPTH {
            return Err(depth_error(start));
        }
        let (size, height) = (a.size, a.height);
        let mut node = a.node.clone();
        node.span = span(start, end);
        self.add(node, 0, size, height)
    }

    fn open(&mut self, kind: Kind, anchor: usize, start: Loc, end: Loc) -> Result<(), Error> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(depth_error(start));
        }
        let bracket = (end.byte > start.byte
            && matches!(self.byte(end.byte.saturating_sub(1)), Some(b'{' | b'[')))
        .then(|| self.at(end.byte - 1));
        self.stack.push(Frame {
            kind,
            anchor,
            bracket,
            event_start: start,
            size: 1,
            height: 1,
        });
        Ok(())
    }

    fn close(&mut self, end: Loc) -> Result<(), Error> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let (value, first, last) = match frame.kind {
            Kind::Seq(items) => {
                let first = items
                    .first()
                    .map(|n| self.dash_before(n, frame.event_start));
                let last = items.last().map(|n| end_loc(&n.span));
                (Value::Seq(items), first, last)
            }
            Kind::Map {
                mut pairs,
                key,
                merges,
                ..
            } => {
                if let Some(k) = key {
                    // Cannot happen with a well-formed event stream; keep the key with a null.
                    let at = end_loc(&k.span);
                    pairs.push((
                        k,
                        Node {
                            value: Value::Null,
                            span: span(at, at),
                        },
                    ));
                }
                let first = pairs.first().map(|(k, _)| start_loc(&k.span));
                let last = pairs.last().map(|(_, v)| end_loc(&v.span));
                let pairs = self.finish_map(pairs, &merges)?;
                (Value::Map(pairs), first, last)
            }
        };
        let sp = match frame.bracket {
            Some(b) => span(b, end),
            None => {
                let s = first.unwrap_or(frame.event_start);
                span(s, last.unwrap_or(s))
            }
        };
        self.add(
            Node { value, span: sp },
            frame.anchor,
            frame.size,
            frame.height,
        )
    }

    /// Where a block sequence starts: the `-` before its first item.
    fn dash_before(&self, first: &Node, event_start: Loc) -> Loc {
        let child = start_loc(&first.span);
        let bytes = self.text.as_bytes();
        let mut i = child.byte;
        while i > 0 && matches!(bytes.get(i - 1), Some(b' ' | b'\t')) {
            i -= 1;
        }
        if i > 0 && bytes.get(i - 1) == Some(&b'-') {
            return self.at(i - 1);
        }
        let j = self.skip_trivia(event_start.byte, true, false);
        if j < child.byte && self.byte(j) == Some(b'-') {
            return self.at(j);
        }
        child
    }

    /// Store a finished node in its parent (or as the document root) and under its anchor.
    fn add(&mut self, node: Node, anchor: usize, size: usize, height: usize) -> Result<(), Error> {
        if anchor != 0 && self.keep_anchors {
            // Each anchored node is copied once; nested anchors copy their contents again.
            self.anchored_nodes = self.anchored_nodes.saturating_add(size);
            if self.anchored_nodes > MAX_ANCHORED_NODES {
                return Err(Error {
                    pos: node.span.start,
                    message: format!(
                        "anchored nodes hold more than {MAX_ANCHORED_NODES} nodes in all \
                         (nested anchors copy their contents again)"
                    ),
                });
            }
            if self.anchors.len() <= anchor {
                self.anchors.resize_with(anchor + 1, || None);
            }
            if let Some(slot) = self.anchors.get_mut(anchor) {
                *slot = Some(Anchored {
                    node: node.clone(),
                    size,
                    height,
                });
            }
        }
        let Some(frame) = self.stack.last_mut() else {
            if let Some(old) = self.root.replace(node) {
                // Cannot happen with a well-formed event stream.
                self.documents.push(old);
            }
            return Ok(());
        };
        frame.size = frame.size.saturating_add(size);
        frame.height = frame.height.max(height + 1);
        match &mut frame.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map {
                pairs,
                key,
                merges,
                key_is_merge,
            } => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    if std::mem::take(key_is_merge) {
                        merges.push(pairs.len());
                    }
                    pairs.push((k, node));
                }
            },
        }
        Ok(())
    }

    /// Apply `<<` merges and resolve duplicate keys (see [`crate::load`]).
    fn finish_map(
        &mut self,
        pairs: Vec<(Node, Node)>,
        merges: &[usize],
    ) -> Result<Vec<(Node, Node)>, Error> {
        if merges.is_empty() {
            return Ok(self.dedup(pairs, 0));
        }
        let mut merged = Vec::new();
        let mut explicit = Vec::with_capacity(pairs.len());
        for (i, (k, v)) in pairs.into_iter().enumerate() {
            if !merges.contains(&i) {
                explicit.push((k, v));
                continue;
            }
            let all_maps = matches!(&v.value, Value::Seq(items)
                if items.iter().all(|n| matches!(n.value, Value::Map(_))));
            match v.value {
                Value::Map(p) => merged.extend(p),
                Value::Seq(items) if all_maps => {
                    // Earlier mappings in the list win, as in PyYAML.
                    for item in items.into_iter().rev() {
                        if let Value::Map(p) = item.value {
                            merged.extend(p);
                        }
                    }
                }
                other => {
                    return Err(Error {
                        pos: v.span.start,
                        message: format!(
                            "expected a mapping or a list of mappings to merge with `<<`, found {}",
                            other.kind()
                        ),
                    });
                }
            }
        }
        let n_merged = merged.len();
        merged.extend(explicit);
        Ok(self.dedup(merged, n_merged))
    }

    /// Resolve duplicate keys: the last value wins, at the position of the first occurrence (as
    /// a Python dict does). The first `n_merged` pairs came from `<<` merges and do not warn.
    fn dedup(&mut self, pairs: Vec<(Node, Node)>, n_merged: usize) -> Vec<(Node, Node)> {
        if pairs.len() < 2 {
            return pairs;
        }
        let (group_of, n_groups) = group_keys(&pairs);
        if n_groups == pairs.len() {
            return pairs;
        }
        // Per group: its last pair and its first explicit (non-merged) pair.
        let mut groups: Vec<(usize, Option<usize>)> = vec![(0, None); n_groups];
        for (i, g) in group_of.iter().enumerate() {
            if let Some((last, first_explicit)) = groups.get_mut(*g) {
                *last = i;
                if i >= n_merged && first_explicit.is_none() {
                    *first_explicit = Some(i);
                }
            }
        }
        let key_pos = |i: usize| pairs.get(i).map(|(k, _)| k.span.start).unwrap_or_default();
        for (i, ((key, _), g)) in pairs.iter().zip(&group_of).enumerate().skip(n_merged) {
            let Some(&(last, Some(f))) = groups.get(*g) else {
                continue;
            };
            if f >= i {
                continue;
            }
            let (first, this) = (key_pos(f), key.span.start);
            let shown = match &key.value {
                Value::Str { text, .. } => format!("{text:?}"),
                _ => format!("{:?}", key.span.text(self.text)),
            };
            let tail = if last == i {
                "is the one used".to_string()
            } else {
                let used = key_pos(last);
                format!("is overridden by line {} column {}", used.line, used.col)
            };
            self.warnings.push(Warning {
                pos: this,
                message: format!(
                    "duplicate key {shown}: first at line {} column {}, this value (line {} \
                     column {}) {tail}",
                    first.line, first.col, this.line, this.col
                ),
            });
        }
        // Groups are numbered in order of first occurrence; each keeps its last pair.
        let mut out: Vec<Option<(Node, Node)>> = (0..n_groups).map(|_| None).collect();
        for (pair, g) in pairs.into_iter().zip(group_of) {
            if let Some(slot) = out.get_mut(g) {
                *slot = Some(pair);
            }
        }
        out.into_iter().flatten().collect()
    }
}

/// Number the distinct keys of `pairs` in order of first occurrence: the group of each pair,
/// and the number of groups.
fn group_keys(pairs: &[(Node, Node)]) -> (Vec<usize>, usize) {
    let ids: Vec<Option<KeyId<'_>>> = pairs.iter().map(|(k, _)| key_id(k)).collect();
    let mut group_of: Vec<usize> = Vec::with_capacity(ids.len());
    let mut n_groups = 0;
    if ids.len() <= 16 {
        for (i, id) in ids.iter().enumerate() {
            let earlier = id.as_ref().and_then(|id| {
                let j = ids.iter().take(i).position(|x| x.as_ref() == Some(id))?;
                group_of.get(j).copied()
            });
            group_of.push(earlier.unwrap_or_else(|| {
                n_groups += 1;
                n_groups - 1
            }));
        }
    } else {
        let mut seen: HashMap<&KeyId<'_>, usize> = HashMap::with_capacity(ids.len());
        for id in &ids {
            let next = n_groups;
            let g = match id {
                Some(id) => *seen.entry(id).or_insert(next),
                None => next,
            };
            if g == next {
                n_groups += 1;
            }
            group_of.push(g);
        }
    }
    (group_of, n_groups)
}

/// The most nodes kept for anchors in one stream (each anchored node is copied once, so nested
/// anchors would otherwise multiply memory by the nesting depth).
const MAX_ANCHORED_NODES: usize = 10 * MAX_ALIAS_NODES;

fn depth_error(at: Loc) -> Error {
    Error {
        pos: at.pos(),
        message: format!("collections are nested more than {MAX_DEPTH} levels deep"),
    }
}

/// A mapping key's identity for duplicate detection, with Python's dict equality for scalars
/// (`1`, `1.0` and `true` are the same key). Collections never compare equal.
#[derive(PartialEq, Eq, Hash)]
enum KeyId<'a> {
    Null,
    Int(i64),
    Float(u64),
    Str(&'a str),
}

fn key_id(k: &Node) -> Option<KeyId<'_>> {
    match &k.value {
        Value::Null => Some(KeyId::Null),
        Value::Bool(b) => Some(KeyId::Int(i64::from(*b))),
        Value::Int(i) => Some(KeyId::Int(*i)),
        Value::Float(f) if f.is_nan() => None,
        Value::Float(f) => {
            // Exactly integral floats within the i64 range equal the int of the same value.
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let as_int = *f as i64;
            #[allow(clippy::cast_precision_loss)]
            if f.fract() == 0.0 && as_int as f64 == *f && as_int != i64::MAX {
                Some(KeyId::Int(as_int))
            } else {
                Some(KeyId::Float(f.to_bits()))
            }
        }
        Value::Str { text, .. } => Some(KeyId::Str(text)),
        Value::Seq(_) | Value::Map(_) => None,
    }
}
