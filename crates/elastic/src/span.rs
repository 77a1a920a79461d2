//! Positions and errors shared by the three parsers (kuery, EQL, ES|QL).
//!
//! Spans are byte offsets into the parsed text; errors carry the 1-based line and column (in
//! characters) computed from such an offset with [`line_col`].

use std::fmt;

use serde::Serialize;

/// A byte range `start..end` of the parsed text. `Span::default()` (`0..0`) is what
/// `clear_spans` leaves, so two trees compare by structure alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// From the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }
}

/// A syntax error: where (1-based line and column) and what was expected and found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl ParseError {
    /// An error at byte `offset` of `text`.
    pub fn at(text: &str, offset: usize, message: impl Into<String>) -> ParseError {
        let (line, col) = line_col(text, offset);
        ParseError {
            line,
            col,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

/// The 1-based line and column (counted in characters) of byte `offset` in `text`. An offset
/// past the end is the end; one inside a character is that character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let text = "ab\ncé d\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 2), (1, 3));
        assert_eq!(line_col(text, 3), (2, 1));
        // `é` is two bytes: `d` is the fourth character of line 2.
        assert_eq!(line_col(text, 7), (2, 4));
        assert_eq!(line_col(text, 5), (2, 2));
        assert_eq!(line_col(text, 100), (3, 1));
    }

    #[test]
    fn display() {
        let e = ParseError::at("a\nbc", 3, "expected `)`, found end of input");
        assert_eq!(e.to_string(), "2:2: expected `)`, found end of input");
    }
}
