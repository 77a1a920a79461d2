//! A hand-written scanner for the small, regular subset of YAML that detection rules use: block
//! mappings and sequences, plain, single- and double-quoted scalars, `|` and `>` block scalars,
//! comments and `---` between documents.
//!
//! It emits the same events as `saphyr-parser` (with byte offsets where the builder needs
//! them), so the tree logic stays in `build.rs`. Anything outside its subset (anchors, aliases,
//! tags, flow collections, `?` keys, directives, tabs, odd indentation, empty sequence entries,
//! leading blank lines in block scalars, control characters...) makes it give up: `scan`
//! returns `None` and [`crate::load`] runs saphyr's parser instead. It never reports errors.

use saphyr_parser::{Event, ScalarStyle};
use std::borrow::Cow;

/// An event with the byte offsets the builder reads (see `build::Builder::event`).
pub(crate) type Ev<'a> = (Event<'a>, usize, usize);

/// The input is outside the subset.
struct GiveUp;

type R<T> = Result<T, GiveUp>;

/// Collections nested deeper than this are left to saphyr.
const MAX_NESTING: usize = 64;

/// Implicit keys longer than this (saphyr's limit is 1024 chars) are left to saphyr.
const MAX_KEY: usize = 1000;

/// The events of `text`, or `None` if the text is outside the subset.
pub(crate) fn scan(text: &str) -> Option<Vec<Ev<'_>>> {
    if !plain_text(text.as_bytes()) {
        return None;
    }
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        i: 0,
        events: Vec::with_capacity(text.len() / 8),
        depth: 0,
        last_end: 0,
    };
    s.stream().ok()?;
    Some(s.events)
}

/// No tab, no lone `\r`, no control character, no BOM, no Unicode line separator, NEL, C1
/// control or non-character: the characters whose handling differs between YAML readers.
fn plain_text(b: &[u8]) -> bool {
    // Most texts are ASCII with `\n` line ends: one counting pass (vectorized) says so.
    let unusual = b.chunks(64).any(|chunk| {
        chunk.iter().fold(0u8, |acc, &c| {
            acc | (u8::from(c.wrapping_sub(0x20) >= 0x5f) & u8::from(c != b'\n'))
        }) != 0
    });
    if !unusual {
        return true;
    }
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c < 0x20 {
            match c {
                b'\n' => {}
                b'\r' if b.get(i + 1) == Some(&b'\n') => {}
                _ => return false,
            }
        } else if c == 0x7f {
            return false;
        } else if c >= 0x80 {
            let n1 = b.get(i + 1).copied().unwrap_or(0);
            let n2 = b.get(i + 2).copied().unwrap_or(0);
            match (c, n1, n2) {
                (0xC2, 0x80..=0x9F, _) => return false,
                (0xE2, 0x80, 0xA8 | 0xA9) => return false,
                (0xEF, 0xBB, 0xBF) | (0xEF, 0xBF, 0xBE | 0xBF) => return false,
                _ => {}
            }
        }
        i += 1;
    }
    true
}

/// The bytes a plain scalar's line must look at: blanks, `:`, `#` and line breaks.
static PLAIN_STOPS: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t[b':' as usize] = true;
    t[b'#' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

fn is_break(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// Characters that cannot start a plain scalar here (`-` is handled apart).
fn bad_plain_start(c: u8) -> bool {
    matches!(
        c,
        b',' | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b'?'
            | b':'
            | b' '
    ) || is_break(c)
}

/// What stopped a plain scalar's line.
#[derive(PartialEq)]
enum Stop {
    /// A `:` followed by a blank or the line end.
    Colon,
    /// A ` #` comment.
    Comment,
    /// The end of the line.
    Eol,
}

/// A scalar read on one line, before deciding whether it is a key.
struct Scalar<'a> {
    value: Cow<'a, str>,
    style: ScalarStyle,
    start: usize,
    end: usize,
}

/// A scalar's first line, read to see whether it is a key.
enum First<'a> {
    Plain(Scalar<'a>, Stop),
    /// A quoted scalar closed on its line.
    Quoted(Scalar<'a>),
    /// A quoted scalar going on to the next line (not a key).
    MultiLine,
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    /// Where scanning continues: right after the last token read.
    i: usize,
    events: Vec<Ev<'a>>,
    depth: usize,
    /// The end of the last node read.
    last_end: usize,
}

impl<'a> Scanner<'a> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    /// Whether byte `i` is a blank, a line break or the end of the text.
    fn blank_or_end(&self, i: usize) -> bool {
        self.at(i).is_none_or(|c| c == b' ' || is_break(c))
    }

    /// The column (from 0, in bytes) of offset `i`.
    fn col(&self, i: usize) -> usize {
        let line = self.b.get(..i).unwrap_or(&[]);
        i - line.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1)
    }

    /// The end of the line containing `i` (the offset of its `\r\n`, `\n` or the text end).
    fn eol(&self, mut i: usize) -> usize {
        while let Some(c) = self.at(i) {
            if is_break(c) {
                break;
            }
            i += 1;
        }
        i
    }

    /// The start of the line after the break at `i` (`i` at a `\r\n`, `\n` or the end).
    fn next_line(&self, i: usize) -> usize {
        match self.at(i) {
            Some(b'\r') => i + 2,
            Some(b'\n') => i + 1,
            _ => i,
        }
    }

    fn skip_spaces(&self, mut i: usize) -> usize {
        while self.at(i) == Some(b' ') {
            i += 1;
        }
        i
    }

    /// Skip spaces, line breaks and comments from `i`; the next token or the end of the text.
    /// A column-0 `---` is returned as a token; a column-0 `...` gives up.
    fn skip_trivia(&self, mut i: usize) -> R<usize> {
        loop {
            i = self.skip_spaces(i);
            match self.at(i) {
                Some(b'#') => i = self.next_line(self.eol(i)),
                Some(b'\r' | b'\n') => i = self.next_line(i),
                Some(b'.') if self.col(i) == 0 && self.b.get(i..i + 3) == Some(b"...") => {
                    return Err(GiveUp);
                }
                _ => return Ok(i),
            }
        }
    }

    /// Whether offset `i` (a token start) is a `---` document marker.
    fn doc_start(&self, i: usize) -> bool {
        self.b.get(i..i + 3) == Some(b"---") && self.blank_or_end(i + 3) && self.col(i) == 0
    }

    /// A column-0 `---` or `...` not followed by a blank (a plain scalar to saphyr, maybe):
    /// left to saphyr.
    fn check_marker_like(&self, i: usize) -> R<()> {
        let m = self.b.get(i..i + 3);
        if (m == Some(b"---") || m == Some(b"...")) && self.col(i) == 0 {
            return Err(GiveUp);
        }
        Ok(())
    }

    fn push(&mut self, ev: Event<'a>, start: usize, end: usize) {
        self.events.push((ev, start, end));
    }

    fn stream(&mut self) -> R<()> {
        self.push(Event::StreamStart, 0, 0);
        let mut p = self.skip_trivia(0)?;
        let mut first = true;
        while p < self.b.len() {
            let explicit = self.doc_start(p);
            if explicit {
                self.push(Event::DocumentStart(true), p, p + 3);
                let after = self.skip_spaces(p + 3);
                if !self.at(after).is_none_or(|c| c == b'#' || is_break(c)) {
                    return Err(GiveUp); // content on the `---` line
                }
                let q = self.skip_trivia(after)?;
                if q >= self.b.len() || self.doc_start(q) {
                    self.push(
                        Event::Scalar("".into(), ScalarStyle::Plain, 0, None),
                        p + 3,
                        p + 3,
                    );
                    self.push(Event::DocumentEnd, q, q);
                    p = q;
                    first = false;
                    continue;
                }
                p = q;
            } else if !first {
                return Err(GiveUp);
            } else {
                self.push(Event::DocumentStart(false), p, p);
            }
            first = false;
            self.root(p)?;
            let q = self.skip_trivia(self.i)?;
            if q < self.b.len() && !self.doc_start(q) {
                return Err(GiveUp);
            }
            self.push(Event::DocumentEnd, q, q);
            p = q;
        }
        let end = self.b.len();
        self.push(Event::StreamEnd, end, end);
        Ok(())
    }

    /// A document's root: a block mapping or sequence.
    fn root(&mut self, p: usize) -> R<()> {
        self.check_marker_like(p)?;
        let c = self.col(p);
        if self.at(p) == Some(b'-') && self.blank_or_end(p + 1) {
            return self.sequence(c, p);
        }
        let f = self.first_line(p)?;
        if self.is_key_first(&f) {
            self.mapping(c, p, Some(f))
        } else {
            Err(GiveUp)
        }
    }

    /// If a single-line scalar is followed by `:` and a blank, the offset after the `:`.
    fn key_colon(&self, s: &Scalar<'_>) -> Option<usize> {
        let j = self.skip_spaces(s.end);
        (self.at(j) == Some(b':') && self.blank_or_end(j + 1)).then_some(j + 1)
    }

    fn is_key(&self, s: &Scalar<'_>) -> bool {
        self.key_colon(s).is_some()
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// A block mapping whose keys are at column `n`, the first key at `p` (already read as
    /// `first` when the caller had to look at it).
    fn mapping(&mut self, n: usize, mut p: usize, mut first: Option<First<'a>>) -> R<()> {
        self.enter()?;
        self.push(Event::MappingStart(0, None), p, p);
        loop {
            let key = match first.take() {
                Some(f) => f,
                None => self.first_line(p)?,
            };
            let key = match key {
                First::Plain(s, _) | First::Quoted(s) => s,
                First::MultiLine => return Err(GiveUp),
            };
            let Some(after) = self.key_colon(&key) else {
                return Err(GiveUp);
            };
            if key.end - key.start > MAX_KEY || key.value.contains('\n') {
                return Err(GiveUp);
            }
            let key_end = key.end;
            self.push(
                Event::Scalar(key.value, key.style, 0, None),
                key.start,
                key.end,
            );
            self.last_end = key_end;
            self.value(n, after)?;
            let Some(q) = self.next_at(n)? else {
                break;
            };
            if self.at(q) == Some(b'-') && self.blank_or_end(q + 1) {
                return Err(GiveUp);
            }
            self.check_marker_like(q)?;
            p = q;
        }
        self.push(Event::MappingEnd, self.last_end, self.last_end);
        self.depth -= 1;
        Ok(())
    }

    /// The value of a mapping entry whose key is at column `n`; `after` is right after its `:`.
    fn value(&mut self, n: usize, after: usize) -> R<()> {
        let r = self.skip_spaces(after);
        let n_i = isize::try_from(n).map_err(|_| GiveUp)?;
        match self.at(r) {
            None | Some(b'#' | b'\r' | b'\n') => {
                let q = self.skip_trivia(r)?;
                let is_dash = self.at(q) == Some(b'-') && self.blank_or_end(q + 1);
                if q >= self.b.len() || self.doc_start(q) {
                    self.empty(after);
                    return Ok(());
                }
                let c = self.col(q);
                if c > n {
                    self.node(n_i, q)
                } else if c == n && is_dash {
                    self.sequence(c, q)
                } else {
                    self.empty(after);
                    Ok(())
                }
            }
            Some(b'|' | b'>') => self.block_scalar(n_i, r),
            Some(_) => {
                let s = self.scalar(r, n_i)?;
                self.scalar_event(s);
                Ok(())
            }
        }
    }

    fn empty(&mut self, at: usize) {
        self.push(
            Event::Scalar("".into(), ScalarStyle::Plain, 0, None),
            at,
            at,
        );
        self.last_end = at;
        self.i = at;
    }

    fn scalar_event(&mut self, s: Scalar<'a>) {
        self.last_end = s.end;
        self.i = s.end;
        self.push(Event::Scalar(s.value, s.style, 0, None), s.start, s.end);
    }

    /// A node that starts a line at `p`, more indented than its parent collection at `n`.
    fn node(&mut self, n: isize, p: usize) -> R<()> {
        self.check_marker_like(p)?;
        let c = self.col(p);
        match self.at(p) {
            Some(b'-') if self.blank_or_end(p + 1) => self.sequence(c, p),
            Some(b'|' | b'>') => Err(GiveUp),
            _ => {
                let f = self.first_line(p)?;
                if self.is_key_first(&f) {
                    self.mapping(c, p, Some(f))
                } else {
                    let s = self.finish_scalar(p, n, f)?;
                    self.scalar_event(s);
                    Ok(())
                }
            }
        }
    }

    /// A block sequence whose `-` are at column `n`, the first at `p`.
    fn sequence(&mut self, n: usize, mut p: usize) -> R<()> {
        self.enter()?;
        self.push(Event::SequenceStart(0, None), p, p);
        let n_i = isize::try_from(n).map_err(|_| GiveUp)?;
        loop {
            let r = self.skip_spaces(p + 1);
            match self.at(r) {
                // An empty entry, or an entry starting on a later line: saphyr's positions
                // for these are irregular, so they are left to it.
                None | Some(b'#' | b'\r' | b'\n') => return Err(GiveUp),
                Some(b'-') if self.blank_or_end(r + 1) => {
                    self.sequence(r - self.line_start(r), r)?
                }
                Some(b'|' | b'>') => self.block_scalar(n_i, r)?,
                Some(_) => {
                    let f = self.first_line(r)?;
                    if self.is_key_first(&f) {
                        self.mapping(r - self.line_start(r), r, Some(f))?;
                    } else {
                        let s = self.finish_scalar(r, n_i, f)?;
                        self.scalar_event(s);
                    }
                }
            }
            let Some(q) = self.next_at(n)? else {
                break;
            };
            if !(self.at(q) == Some(b'-') && self.blank_or_end(q + 1)) {
                break; // the parent decides (an indentless sequence's next key)
            }
            p = q;
        }
        self.push(Event::SequenceEnd, self.last_end, self.last_end);
        self.depth -= 1;
        Ok(())
    }

    /// Where a collection at column `n` goes on after its entry: the next content if it is
    /// at column `n`; `None` at a dedent, the end or a new document; more indented, give up.
    fn next_at(&self, n: usize) -> R<Option<usize>> {
        let q = self.skip_trivia(self.i)?;
        if q >= self.b.len() || self.doc_start(q) || self.col(q) < n {
            return Ok(None);
        }
        if self.col(q) > n {
            return Err(GiveUp);
        }
        Ok(Some(q))
    }

    /// From the start `j` of a line, past blank lines: the start of the first line with
    /// content (or the end of the text), where its content starts, and the blank lines passed.
    fn past_blank_lines(&self, mut j: usize) -> (usize, usize, usize) {
        let mut blank = 0;
        loop {
            let k = self.skip_spaces(j);
            match self.at(k) {
                Some(b'\r' | b'\n') => {
                    blank += 1;
                    j = self.next_line(k);
                }
                _ => return (j, k, blank),
            }
        }
    }

    fn line_start(&self, i: usize) -> usize {
        i - self.col(i)
    }

    /// A scalar at `p` read on its line only, to see whether it is a key.
    fn first_line(&self, p: usize) -> R<First<'a>> {
        match self.at(p) {
            Some(b'"' | b'\'') => match self.quoted(p, None) {
                Ok(s) => Ok(First::Quoted(s)),
                Err(GiveUp) if self.quoted_spans_lines(p) => Ok(First::MultiLine),
                Err(GiveUp) => Err(GiveUp),
            },
            _ => self.plain_first(p).map(|(s, stop)| First::Plain(s, stop)),
        }
    }

    /// Whether the quoted scalar at `p` has a line break before its closing quote (roughly:
    /// escapes are skipped, `''` reads as two quotes, which does not change the answer).
    fn quoted_spans_lines(&self, p: usize) -> bool {
        let q = self.at(p);
        let mut i = p + 1;
        while let Some(c) = self.at(i) {
            if Some(c) == q {
                return false;
            }
            if is_break(c) || (c == b'\\' && self.at(i + 1).is_some_and(is_break)) {
                return true;
            }
            i += if c == b'\\' && q == Some(b'"') { 2 } else { 1 };
        }
        false
    }

    /// Whether a scalar read by `first_line` is a mapping key.
    fn is_key_first(&self, f: &First<'_>) -> bool {
        match f {
            First::Plain(s, _) | First::Quoted(s) => self.is_key(s),
            First::MultiLine => false,
        }
    }

    /// A scalar value at `p` in a block collection at column `n` (continuation lines must be
    /// more indented than `n`); what follows it on its line must be a comment or nothing.
    fn scalar(&self, p: usize, n: isize) -> R<Scalar<'a>> {
        let f = self.first_line(p)?;
        self.finish_scalar(p, n, f)
    }

    /// The scalar value at `p` whose first line was read as `f` (see [`Self::scalar`]).
    fn finish_scalar(&self, p: usize, n: isize, f: First<'a>) -> R<Scalar<'a>> {
        let s = match f {
            First::Plain(s, stop) => return self.plain_rest(s, stop, n),
            First::Quoted(s) => s,
            First::MultiLine => self.quoted(p, Some(n))?,
        };
        let j = self.skip_spaces(s.end);
        match self.at(j) {
            None | Some(b'\r' | b'\n') => {}
            // A comment must follow a blank.
            Some(b'#') if self.at(j - 1) == Some(b' ') => {}
            _ => return Err(GiveUp),
        }
        Ok(s)
    }

    /// The first line of a plain scalar at `p`, and what stopped it.
    fn plain_first(&self, p: usize) -> R<(Scalar<'a>, Stop)> {
        let c = self.at(p).ok_or(GiveUp)?;
        // `-`, `?` and `:` start a plain scalar when a non-blank follows.
        let indicator = matches!(c, b'-' | b'?' | b':');
        if (bad_plain_start(c) && !indicator) || (indicator && self.blank_or_end(p + 1)) {
            return Err(GiveUp);
        }
        let (end, stop) = self.plain_line(p);
        let value = self.text.get(p..end).ok_or(GiveUp)?;
        Ok((
            Scalar {
                value: Cow::Borrowed(value),
                style: ScalarStyle::Plain,
                start: p,
                end,
            },
            stop,
        ))
    }

    /// Read plain text from `p` to the end of its line: the end of its last non-blank and what
    /// stopped it.
    fn plain_line(&self, p: usize) -> (usize, Stop) {
        let mut i = p;
        let mut end = p;
        loop {
            // Ordinary bytes in one go.
            let run = self.b.get(i..).map_or(0, |rest| {
                rest.iter()
                    .position(|&c| PLAIN_STOPS[usize::from(c)])
                    .unwrap_or(rest.len())
            });
            if run > 0 {
                i += run;
                end = i;
            }
            match self.at(i) {
                None | Some(b'\r' | b'\n') => return (end, Stop::Eol),
                Some(b':') if self.blank_or_end(i + 1) => return (end, Stop::Colon),
                Some(b'#') if i > p && self.at(i - 1) == Some(b' ') => {
                    return (end, Stop::Comment);
                }
                Some(b' ') => {}
                Some(_) => end = i + 1,
            }
            i += 1;
        }
        // `end` may sit inside a multi-byte char only if a continuation byte were a blank,
        // which cannot be.
    }

    /// A plain scalar value at `p`, possibly continued on more indented lines (folded).
    fn plain_rest(&self, first: Scalar<'a>, stop: Stop, n: isize) -> R<Scalar<'a>> {
        let p = first.start;
        match stop {
            Stop::Colon => return Err(GiveUp),
            Stop::Comment => return Ok(first),
            Stop::Eol => {}
        }
        let mut end = first.end;
        let mut owned: Option<String> = None;
        let mut i = self.eol(first.end);
        loop {
            // Look past blank lines for a continuation line.
            let j = self.next_line(i);
            if j == i {
                break; // end of text
            }
            let (j, k, blank) = self.past_blank_lines(j);
            let col = isize::try_from(k - j).map_err(|_| GiveUp)?;
            if self.at(k).is_none() || col <= n || self.at(k) == Some(b'#') {
                break;
            }
            let c = self.at(k).unwrap_or(b' ');
            if col == 0 || bad_plain_start(c) || c == b'-' {
                // A root scalar (`---`/`...` checks are not done here), or a line starting
                // with an indicator: left to saphyr.
                return Err(GiveUp);
            }
            let (e, stop) = self.plain_line(k);
            if stop != Stop::Eol || e == k {
                return Err(GiveUp);
            }
            let s = owned.get_or_insert_with(|| first.value.to_string());
            fold(s, blank);
            s.push_str(self.text.get(k..e).ok_or(GiveUp)?);
            end = e;
            i = self.eol(e);
        }
        Ok(Scalar {
            value: owned.map_or(first.value, Cow::Owned),
            style: ScalarStyle::Plain,
            start: p,
            end,
        })
    }

    /// A quoted scalar at `p`. `n` is the indentation of the enclosing collection when the
    /// scalar may span lines (`None`: it must fit on its line).
    fn quoted(&self, p: usize, n: Option<isize>) -> R<Scalar<'a>> {
        let q = self.at(p).ok_or(GiveUp)?;
        let double = q == b'"';
        let mut i = p + 1;
        let mut out: Option<String> = None;
        // Start of the literal run not yet copied into `out`.
        let mut run = i;
        // Blanks seen after content on this line (dropped if the line ends).
        loop {
            let c = self.at(i).ok_or(GiveUp)?;
            match c {
                b'\'' if !double => {
                    if self.at(i + 1) == Some(b'\'') {
                        let s = out.get_or_insert_with(String::new);
                        s.push_str(self.text.get(run..=i).ok_or(GiveUp)?);
                        i += 2;
                        run = i;
                        continue;
                    }
                    break;
                }
                b'"' if double => break,
                b'\\' if double => {
                    let s = out.get_or_insert_with(String::new);
                    s.push_str(self.text.get(run..i).ok_or(GiveUp)?);
                    let e = self.at(i + 1).ok_or(GiveUp)?;
                    if is_break(e) {
                        // An escaped line break: the break and the next line's indentation
                        // are dropped (a blank line after it is left to saphyr).
                        let n = n.ok_or(GiveUp)?;
                        let j = self.next_line(i + 1);
                        let k = self.skip_spaces(j);
                        let col = isize::try_from(k - j).map_err(|_| GiveUp)?;
                        if self.at(k).is_none_or(is_break) || col <= n || col == 0 {
                            return Err(GiveUp);
                        }
                        i = k;
                        run = k;
                        continue;
                    }
                    i += 2;
                    let ch = match e {
                        b'0' => '\0',
                        b'a' => '\x07',
                        b'b' => '\x08',
                        b't' => '\t',
                        b'n' => '\n',
                        b'v' => '\x0b',
                        b'f' => '\x0c',
                        b'r' => '\r',
                        b'e' => '\x1b',
                        b' ' => ' ',
                        b'"' => '"',
                        b'/' => '/',
                        b'\\' => '\\',
                        b'N' => '\u{85}',
                        b'_' => '\u{a0}',
                        b'L' => '\u{2028}',
                        b'P' => '\u{2029}',
                        b'x' | b'u' | b'U' => {
                            let len = match e {
                                b'x' => 2,
                                b'u' => 4,
                                _ => 8,
                            };
                            let hex = self.text.get(i..i + len).ok_or(GiveUp)?;
                            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                                return Err(GiveUp);
                            }
                            let v = u32::from_str_radix(hex, 16).map_err(|_| GiveUp)?;
                            i += len;
                            char::from_u32(v).ok_or(GiveUp)?
                        }
                        // Anything else is not YAML: left to saphyr.
                        _ => return Err(GiveUp),
                    };
                    s.push(ch);
                    run = i;
                    continue;
                }
                b'\r' | b'\n' => {
                    let Some(n) = n else {
                        return Err(GiveUp);
                    };
                    let s = out.get_or_insert_with(String::new);
                    // Trailing blanks of the line are dropped.
                    let mut e = i;
                    while e > run && self.at(e - 1) == Some(b' ') {
                        e -= 1;
                    }
                    s.push_str(self.text.get(run..e).ok_or(GiveUp)?);
                    let (j, k, blank) = self.past_blank_lines(self.next_line(i));
                    if self.at(k).is_none() {
                        return Err(GiveUp);
                    }
                    let col = isize::try_from(k - j).map_err(|_| GiveUp)?;
                    if col <= n || col == 0 {
                        return Err(GiveUp);
                    }
                    fold(s, blank);
                    i = k;
                    run = k;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        // `i` is at the closing quote. saphyr's span of a quoted scalar runs over the blanks
        // after it, and over a comment that follows them.
        let mut end = self.skip_spaces(i + 1);
        if end > i + 1 && self.at(end) == Some(b'#') {
            end = self.eol(end);
        }
        let value = match out {
            None => Cow::Borrowed(self.text.get(p + 1..i).ok_or(GiveUp)?),
            Some(mut s) => {
                s.push_str(self.text.get(run..i).ok_or(GiveUp)?);
                Cow::Owned(s)
            }
        };
        Ok(Scalar {
            value,
            style: if double {
                ScalarStyle::DoubleQuoted
            } else {
                ScalarStyle::SingleQuoted
            },
            start: p,
            end,
        })
    }

    /// A `|` or `>` block scalar whose header is at `p`, in a collection at column `n`.
    fn block_scalar(&mut self, n: isize, p: usize) -> R<()> {
        let literal = self.at(p) == Some(b'|');
        let mut h = p + 1;
        // Chomping: -1 strip, 0 clip, 1 keep. Indentation indicators are left to saphyr.
        let chomp = match self.at(h) {
            Some(b'-') => {
                h += 1;
                -1
            }
            Some(b'+') => {
                h += 1;
                1
            }
            _ => 0,
        };
        let r = self.skip_spaces(h);
        match self.at(r) {
            Some(b'#') if r > h => {}
            None | Some(b'\r' | b'\n') => {}
            _ => return Err(GiveUp),
        }
        let mut line = self.next_line(self.eol(r));
        if line >= self.b.len() {
            return Err(GiveUp);
        }
        // The content indentation: that of the first line, which must not be blank.
        let k = self.skip_spaces(line);
        if self.at(k).is_none_or(is_break) {
            return Err(GiveUp);
        }
        let m = k - line;
        if isize::try_from(m).map_err(|_| GiveUp)? <= n {
            return Err(GiveUp);
        }
        let mut out = String::new();
        // Line breaks seen after the last content line (its own break included).
        let mut breaks = 0usize;
        // Whether the previous content line was more indented (folded scalars).
        let mut prev_more: Option<bool> = None;
        let mut end = k;
        let next = loop {
            if line >= self.b.len() {
                break line;
            }
            let k = self.skip_spaces(line);
            let s = k - line;
            match self.at(k) {
                None | Some(b'\r' | b'\n') => {
                    // Blanks at the end of the text read as content to saphyr.
                    if s > m || self.at(k).is_none() {
                        return Err(GiveUp);
                    }
                    // saphyr counts the end of the text as a line break.
                    breaks += 1;
                    line = self.next_line(k);
                    continue;
                }
                _ => {}
            }
            if s < m {
                break line;
            }
            let more = s > m;
            let e = self.eol(k);
            match prev_more {
                None => {}
                Some(pm) => {
                    if literal || pm || more {
                        out.extend(std::iter::repeat_n('\n', breaks));
                    } else if breaks == 1 {
                        out.push(' ');
                    } else {
                        out.extend(std::iter::repeat_n('\n', breaks - 1));
                    }
                }
            }
            out.push_str(self.text.get(line + m..e).ok_or(GiveUp)?);
            end = e;
            prev_more = Some(more);
            breaks = 1;
            line = self.next_line(e);
        };
        match chomp {
            -1 => {}
            0 => {
                if breaks > 0 {
                    out.push('\n');
                }
            }
            _ => out.extend(std::iter::repeat_n('\n', breaks)),
        }
        // Trim the end back over trailing blanks (the builder does the same).
        while end > k && self.at(end - 1) == Some(b' ') {
            end -= 1;
        }
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        self.push(Event::Scalar(Cow::Owned(out), style, 0, None), p, end);
        self.last_end = end;
        self.i = next;
        Ok(())
    }
}

/// A line break inside a folded scalar: a space, or each blank line passed as a newline.
fn fold(s: &mut String, blank: usize) {
    if blank == 0 {
        s.push(' ');
    } else {
        s.extend(std::iter::repeat_n('\n', blank));
    }
}
