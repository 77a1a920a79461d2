//! Search macros: the backtick calls of a search (`` `name` ``, `` `name(a, b)` ``), their
//! expansion, and the top-level pipe segments of the original text.
//!
//! # Decisions
//!
//! - Macros are keyed by (name, arity), as Splunk keys them (`name(2)` in `macros.conf`). A
//!   security_content macro file names the macro without the arity and lists `arguments:`; a
//!   name written `name(n)` is read as name `name`, arity `n` ([`MacroDef::from_parts`]).
//! - A call's arguments are split on top-level commas: commas inside double quotes,
//!   parentheses or square brackets do not split; each argument is trimmed. `` `name()` `` has
//!   no argument.
//! - In a definition, `$arg$` (for each declared argument name) is replaced by the argument text
//!   as written; other `$...$` texts (Splunk tokens such as `$info_min_time$`) stay.
//! - The expanded definition is expanded again, recursively, up to [`MAX_DEPTH`] levels; a
//!   macro that calls itself (directly or not) is an [`ExpandError`].
//! - A macro with no definition in the table (an app's macro such as `drop_dm_object_name`, or
//!   a detection's `*_filter` macro, empty by default in Splunk ES) stays as written, backticks
//!   included, and is listed in [`Expansion::unknown`]: never an error.
//! - Three backticks open a comment (```` ```text``` ````), which runs to the next three
//!   backticks: text, not a macro, and a `|` inside does not split segments.
//! - A backtick inside a double-quoted string is text, not a macro; `\`` outside quotes is a
//!   literal backtick. A backtick without a closing one is left as text (and reported in
//!   [`Expansion::unclosed`]).

use std::collections::HashMap;
use std::ops::Range;

/// The deepest macro nesting [`expand`] follows.
pub const MAX_DEPTH: usize = 32;

/// A macro definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MacroDef {
    /// The name without arity.
    pub name: String,
    /// Argument names, in order (`$name$` in the definition).
    pub args: Vec<String>,
    pub definition: String,
    pub description: Option<String>,
}

impl MacroDef {
    /// A definition from a name that may carry its arity (`name(2)`) and a list of argument
    /// names. The arity is the number of arguments; a `(n)` suffix that disagrees with it is
    /// returned as the second value (the arguments win).
    pub fn from_parts(
        name: &str,
        args: Vec<String>,
        definition: String,
        description: Option<String>,
    ) -> (MacroDef, Option<usize>) {
        let (base, arity) = split_arity(name);
        let mismatch = arity.filter(|&n| n != args.len());
        (
            MacroDef {
                name: base.to_string(),
                args,
                definition,
                description,
            },
            mismatch,
        )
    }

    pub fn arity(&self) -> usize {
        self.args.len()
    }
}

/// `name(2)` → (`name`, Some(2)); `name` → (`name`, None).
pub fn split_arity(name: &str) -> (&str, Option<usize>) {
    let name = name.trim();
    if let Some(open) = name.rfind('(')
        && name.ends_with(')')
        && let Ok(n) = name[open + 1..name.len() - 1].trim().parse::<usize>()
    {
        return (name[..open].trim_end(), Some(n));
    }
    (name, None)
}

/// Macro definitions by (name, arity).
#[derive(Debug, Clone, Default)]
pub struct MacroTable {
    /// By name, then the definitions of each arity.
    map: HashMap<String, Vec<MacroDef>>,
    len: usize,
}

impl MacroTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a definition; returns the one it replaces (same name and arity).
    pub fn insert(&mut self, def: MacroDef) -> Option<MacroDef> {
        let same = self.map.entry(def.name.clone()).or_default();
        match same.iter_mut().find(|d| d.arity() == def.arity()) {
            Some(old) => Some(std::mem::replace(old, def)),
            None => {
                same.push(def);
                self.len += 1;
                None
            }
        }
    }

    pub fn get(&self, name: &str, arity: usize) -> Option<&MacroDef> {
        self.map.get(name)?.iter().find(|d| d.arity() == arity)
    }

    /// The number of definitions (name and arity pairs).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every definition, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &MacroDef> {
        self.map.values().flatten()
    }
}

/// One backtick call found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroCall {
    pub name: String,
    pub args: Vec<String>,
    /// Byte range of the call in the text it was found in, backticks included.
    pub span: Range<usize>,
    /// Byte range of the call's expansion in [`Expansion::text`] (for top-level calls).
    pub expanded_span: Range<usize>,
    /// The call fully expanded (the call's own text when the macro is unknown).
    pub expanded: String,
    /// Whether the table defines the macro (name and arity).
    pub known: bool,
}

/// A search with its macros expanded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expansion {
    /// The whole search, every known macro expanded.
    pub text: String,
    /// The calls at the top level of the original search, in order.
    pub calls: Vec<MacroCall>,
    /// Macros met (at any depth) that the table does not define, as `name` or `name(n)`, in
    /// order of first appearance, each once.
    pub unknown: Vec<String>,
    /// Byte offsets (in the text they were found in, at any depth) of backticks without a
    /// closing one.
    pub unclosed: Vec<usize>,
}

/// Why a search could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// A macro calls itself; the chain of calls, `name(n)`, ending with the repeated one.
    Cycle {
        chain: Vec<String>,
        span: Range<usize>,
    },
    /// Nesting deeper than [`MAX_DEPTH`]; the chain of calls.
    TooDeep {
        chain: Vec<String>,
        span: Range<usize>,
    },
}

impl ExpandError {
    /// Byte range in the original search of the top-level call that led to the error.
    pub fn span(&self) -> Range<usize> {
        match self {
            ExpandError::Cycle { span, .. } | ExpandError::TooDeep { span, .. } => span.clone(),
        }
    }
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::Cycle { chain, .. } => {
                write!(f, "macro cycle: {}", chain.join(" → "))
            }
            ExpandError::TooDeep { chain, .. } => write!(
                f,
                "macros nested deeper than {MAX_DEPTH}: {}",
                chain.join(" → ")
            ),
        }
    }
}

impl std::error::Error for ExpandError {}

/// A macro name with its arity as Splunk writes it: `name` or `name(n)`.
pub fn display_name(name: &str, arity: usize) -> String {
    if arity == 0 {
        name.to_string()
    } else {
        format!("{name}({arity})")
    }
}

/// A backtick call found by [`find_calls`] (not yet expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCall<'a> {
    pub name: &'a str,
    pub args: Vec<&'a str>,
    /// Byte range, backticks included.
    pub span: Range<usize>,
}

/// The backtick calls of `text`, in order, and the offsets of unclosed backticks.
pub fn find_calls(text: &str) -> (Vec<RawCall<'_>>, Vec<usize>) {
    let bytes = text.as_bytes();
    let mut calls = Vec::new();
    let mut unclosed = Vec::new();
    let mut i = 0;
    let mut in_quote = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_quote {
            match b {
                b'\\' => i += 1,
                b'"' => in_quote = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'\\' => i += 2,
            b'"' => {
                in_quote = true;
                i += 1;
            }
            b'`' if bytes[i..].starts_with(b"```") => i = comment_end(text, i),
            b'`' => match closing_backtick(bytes, i + 1) {
                Some(end) => {
                    let inner = &text[i + 1..end];
                    let (name, args) = parse_call(inner);
                    calls.push(RawCall {
                        name,
                        args,
                        span: i..end + 1,
                    });
                    i = end + 1;
                }
                None => {
                    unclosed.push(i);
                    i += 1;
                }
            },
            _ => i += 1,
        }
    }
    (calls, unclosed)
}

/// The end of the comment opened by the three backticks at `start` (after its closing three
/// backticks, or the end of the text).
pub fn comment_end(text: &str, start: usize) -> usize {
    text[start + 3..]
        .find("```")
        .map_or(text.len(), |p| start + 3 + p + 3)
}

/// The offset of the backtick closing a call opened before `from`: the next backtick outside
/// double quotes, or failing that the next backtick at all.
fn closing_backtick(bytes: &[u8], from: usize) -> Option<usize> {
    let mut in_quote = false;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b'`' if !in_quote => return Some(i),
            _ => {}
        }
        i += 1;
    }
    bytes[from..]
        .iter()
        .position(|&b| b == b'`')
        .map(|p| from + p)
}

/// `name(a, b)` → (`name`, [`a`, `b`]); `name` → (`name`, []).
fn parse_call(inner: &str) -> (&str, Vec<&str>) {
    let trimmed = inner.trim();
    let Some(open) = trimmed.find('(') else {
        return (trimmed, Vec::new());
    };
    if !trimmed.ends_with(')') {
        return (trimmed, Vec::new());
    }
    let name = trimmed[..open].trim_end();
    let body = &trimmed[open + 1..trimmed.len() - 1];
    (name, split_args(body))
}

/// Splits a macro call's argument text on top-level commas (outside double quotes,
/// parentheses and square brackets); each argument is trimmed. An empty or blank text has no
/// argument.
pub fn split_args(body: &str) -> Vec<&str> {
    if body.trim().is_empty() {
        return Vec::new();
    }
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_quote = false;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_quote {
            match b {
                b'\\' => i += 1,
                b'"' => in_quote = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_quote = true,
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                b',' if depth == 0 => {
                    out.push(body[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    out.push(body[start.min(body.len())..].trim());
    out
}

/// Replaces `$arg$` in `definition` by the matching argument.
pub fn substitute(definition: &str, names: &[String], args: &[&str]) -> String {
    if names.is_empty() {
        return definition.to_string();
    }
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let replaced = after.find('$').and_then(|q| {
            let key = &after[..q];
            names
                .iter()
                .position(|n| n == key)
                .map(|k| (args.get(k).copied().unwrap_or(""), q))
        });
        match replaced {
            Some((arg, q)) => {
                out.push_str(arg);
                rest = &after[q + 1..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

struct Expander<'t> {
    table: &'t MacroTable,
    stack: Vec<(String, usize)>,
    unknown: Vec<String>,
    unclosed: Vec<usize>,
}

impl Expander<'_> {
    /// Expands every call in `text`.
    /// Expands every call in `text`; with `top`, records the calls there and reports errors
    /// at the top-level call they came from.
    fn expand_text(
        &mut self,
        text: &str,
        top: Option<&mut Vec<MacroCall>>,
    ) -> Result<String, ExpandError> {
        let (calls, unclosed) = find_calls(text);
        self.unclosed.extend(unclosed);
        if calls.is_empty() {
            return Ok(text.to_string());
        }
        let mut out = String::with_capacity(text.len() * 2);
        let mut last = 0;
        let mut records = Vec::new();
        for call in calls {
            out.push_str(&text[last..call.span.start]);
            let start = out.len();
            let expanded = match self.expand_call(&call) {
                Ok(e) => e,
                Err(mut e) if top.is_some() => {
                    match &mut e {
                        ExpandError::Cycle { span, .. } | ExpandError::TooDeep { span, .. } => {
                            *span = call.span.clone()
                        }
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            let known = expanded.is_some();
            let expanded = expanded.unwrap_or_else(|| text[call.span.clone()].to_string());
            out.push_str(&expanded);
            if top.is_some() {
                records.push(MacroCall {
                    name: call.name.to_string(),
                    args: call.args.iter().map(|a| a.to_string()).collect(),
                    span: call.span.clone(),
                    expanded_span: start..out.len(),
                    expanded,
                    known,
                });
            }
            last = call.span.end;
        }
        out.push_str(&text[last..]);
        if let Some(top) = top {
            *top = records;
        }
        Ok(out)
    }

    /// The expansion of one call, or None when the macro is unknown.
    fn expand_call(&mut self, call: &RawCall<'_>) -> Result<Option<String>, ExpandError> {
        let arity = call.args.len();
        let Some(def) = self.table.get(call.name, arity) else {
            let shown = display_name(call.name, arity);
            if !self.unknown.contains(&shown) {
                self.unknown.push(shown);
            }
            return Ok(None);
        };
        let chain = |stack: &[(String, usize)], last: (&str, usize)| {
            stack
                .iter()
                .map(|(n, a)| display_name(n, *a))
                .chain(std::iter::once(display_name(last.0, last.1)))
                .collect::<Vec<_>>()
        };
        if self
            .stack
            .iter()
            .any(|(n, a)| n == call.name && *a == arity)
        {
            return Err(ExpandError::Cycle {
                chain: chain(&self.stack, (call.name, arity)),
                span: call.span.clone(),
            });
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(ExpandError::TooDeep {
                chain: chain(&self.stack, (call.name, arity)),
                span: call.span.clone(),
            });
        }
        let body = substitute(&def.definition, &def.args, &call.args);
        self.stack.push((call.name.to_string(), arity));
        let result = self.expand_text(&body, None);
        self.stack.pop();
        result.map(Some)
    }
}

/// Expands the macros of `search`. Unknown macros stay as written (see the module notes).
/// The error's span is that of the top-level call that led to it.
pub fn expand(search: &str, table: &MacroTable) -> Result<Expansion, ExpandError> {
    let mut ex = Expander {
        table,
        stack: Vec::new(),
        unknown: Vec::new(),
        unclosed: Vec::new(),
    };
    let mut calls = Vec::new();
    let text = ex.expand_text(search, Some(&mut calls))?;
    Ok(Expansion {
        text,
        calls,
        unknown: ex.unknown,
        unclosed: ex.unclosed,
    })
}

impl Expansion {
    /// The text of `range` of the original search with the top-level calls inside it
    /// replaced by their expansions (a call that straddles a bound is kept as written).
    pub fn expand_range(&self, original: &str, range: Range<usize>) -> String {
        let mut out = String::new();
        let mut last = range.start;
        for call in &self.calls {
            if call.span.start >= range.start && call.span.end <= range.end {
                out.push_str(original.get(last..call.span.start).unwrap_or(""));
                out.push_str(&call.expanded);
                last = call.span.end;
            }
        }
        out.push_str(original.get(last..range.end).unwrap_or(""));
        out
    }

    /// The byte offset in the original search of a byte offset of [`Expansion::text`]: inside
    /// an expanded call, the start of that call.
    pub fn original_offset(&self, expanded: usize) -> usize {
        let mut delta: isize = 0;
        for call in &self.calls {
            if expanded < call.expanded_span.start {
                break;
            }
            if expanded < call.expanded_span.end {
                return call.span.start;
            }
            delta = call.span.end as isize - call.expanded_span.end as isize;
        }
        (expanded as isize + delta).max(0) as usize
    }
}

/// One top-level pipe segment of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Byte offset of the `|` that introduces the segment (None for a first segment without
    /// one).
    pub pipe: Option<usize>,
    /// Byte range of the segment's text, without the pipe, surrounding whitespace trimmed.
    pub span: Range<usize>,
}

impl Segment {
    /// The segment's text from its pipe (if any) to its end, as a page shows it.
    pub fn with_pipe<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.pipe.unwrap_or(self.span.start)..self.span.end)
            .unwrap_or("")
    }
}

/// Splits a search (the original text, macros unexpanded) into its top-level pipe segments:
/// a `|` inside double quotes, square brackets (subsearches), backticks (a macro call) or a
/// ```` ``` ```` comment does not split. A search that starts with `|` (a generating command) has no empty first segment;
/// other empty segments are kept (empty span).
pub fn pipe_segments(text: &str) -> Vec<Segment> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_quote = false;
    let mut start = 0;
    let mut pipe = None;
    let mut i = 0;
    let push = |out: &mut Vec<Segment>, pipe: Option<usize>, range: Range<usize>| {
        let s = &text[range.clone()];
        let lead = s.len() - s.trim_start().len();
        let trimmed = s.trim();
        let span = range.start + lead..range.start + lead + trimmed.len();
        out.push(Segment { pipe, span });
    };
    while i < bytes.len() {
        let b = bytes[i];
        if in_quote {
            match b {
                b'\\' => i += 1,
                b'"' => in_quote = false,
                _ => {}
            }
        } else {
            match b {
                b'\\' => i += 1,
                b'"' => in_quote = true,
                b'`' if bytes[i..].starts_with(b"```") => {
                    i = comment_end(text, i);
                    continue;
                }
                b'`' => {
                    // a macro call, closed as `find_calls` closes it
                    if let Some(end) = closing_backtick(bytes, i + 1) {
                        i = end;
                    }
                }
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'|' if depth == 0 => {
                    if pipe.is_some() || !text[start..i].trim().is_empty() {
                        push(&mut out, pipe, start..i);
                    }
                    pipe = Some(i);
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    let end = text.len();
    if pipe.is_some() || !text[start.min(end)..].trim().is_empty() {
        push(&mut out, pipe, start.min(end)..end);
    }
    out
}

#[cfg(test)]
mod tests;
