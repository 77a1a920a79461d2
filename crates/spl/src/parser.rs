//! A recursive-descent parser for SPL as written in detection content. [`parse`] never panics:
//! bad input is a [`ParseError`] with the byte offset and what was expected there.
//!
//! Decisions:
//! - In the search language `AND`, `OR`, `NOT` are operators only in upper case (as Splunk reads
//!   them; `and` is a search term); in `eval`/`where` expressions they are case-insensitive.
//! - The first command without a leading `|` is an implicit `search`, except a `search`,
//!   `tstats`, `mstats` or `inputlookup` written there (subsearches write `[ mstats … ]`).
//! - A `.` between two identifier characters belongs to a field name (`Processes.process`); with
//!   space around it it is concatenation.
//! - Commands this parser does not know are kept as their name and raw tokens; a `[ … ]` among
//!   them is a subsearch when it parses as one, raw tokens otherwise.

use std::fmt;

use crate::ast::*;
use crate::lexer::{self, Mode, Token, TokenKind};

/// Nesting deeper than this (parentheses, subsearches, `NOT NOT …`) is an error, not a stack
/// overflow.
pub const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the parsed text.
    pub offset: usize,
    /// What the parser expected there.
    pub expected: String,
    /// What it found (a token, "end of input", or a lexical problem).
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at offset {}: expected {}, found {}",
            self.offset, self.expected, self.found
        )
    }
}

impl std::error::Error for ParseError {}

/// Parse a whole SPL search.
pub fn parse(src: &str) -> Result<Pipeline, ParseError> {
    check_no_dangling_backslash(src)?;
    let mut p = Parser {
        src,
        pos: 0,
        depth: 0,
    };
    p.pipeline(false)
}

/// A backslash escapes the next character; one at the very end escapes nothing, and a word
/// ending in it could not be printed before another (the backslash would escape the space).
fn check_no_dangling_backslash(src: &str) -> Result<(), ParseError> {
    let run = src.bytes().rev().take_while(|&b| b == b'\\').count();
    if run % 2 == 1 {
        return Err(ParseError {
            offset: src.len() - 1,
            expected: "a character after `\\`".into(),
            found: "end of input".into(),
        });
    }
    Ok(())
}

/// Parse a search-language expression alone (the body of a `search`, a macro definition).
pub fn parse_search_expr(src: &str) -> Result<Option<SearchExpr>, ParseError> {
    let mut p = Parser {
        src,
        pos: 0,
        depth: 0,
    };
    check_no_dangling_backslash(src)?;
    let e = p.search_opt(false)?;
    p.expect_end(Mode::Search, "end of input")?;
    Ok(e)
}

/// Parse an `eval`/`where` expression alone.
pub fn parse_expr(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        src,
        pos: 0,
        depth: 0,
    };
    let e = p.expr()?;
    p.expect_end(Mode::Expr, "end of input")?;
    Ok(e)
}

type R<T> = Result<T, ParseError>;

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

fn is_end(k: TokenKind) -> bool {
    matches!(
        k,
        TokenKind::Pipe | TokenKind::RBracket | TokenKind::Eof | TokenKind::Error(_)
    )
}

fn cmp_op(k: TokenKind) -> Option<CmpOp> {
    Some(match k {
        TokenKind::Eq => CmpOp::Eq,
        TokenKind::EqEq => CmpOp::EqEq,
        TokenKind::Neq => CmpOp::Neq,
        TokenKind::Lt => CmpOp::Lt,
        TokenKind::Le => CmpOp::Le,
        TokenKind::Gt => CmpOp::Gt,
        TokenKind::Ge => CmpOp::Ge,
        _ => return None,
    })
}

/// Split the inside of a macro call into name and arguments.
pub fn macro_call(text: &str, span: Span) -> Option<MacroCall> {
    let inner = text.strip_prefix('`')?.strip_suffix('`')?;
    let (name, args) = match inner.find('(') {
        Some(i) => {
            // A call's arguments end with its last character: `name(a, b)`.
            let rest = inner[i + 1..].trim_end().strip_suffix(')')?;
            (&inner[..i], split_args(rest))
        }
        None => (inner, vec![]),
    };
    let name = name.trim();
    // Anything else between two backticks (an unclosed call running into the next macro) is
    // not a macro call: printing it as one would change it.
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return None;
    }
    Some(MacroCall {
        name: name.to_string(),
        args,
        span,
    })
}

fn split_args(s: &str) -> Vec<String> {
    if s.trim().is_empty() {
        return vec![];
    }
    let mut out = vec![];
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth <= 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim().to_string());
    out
}

impl<'a> Parser<'a> {
    fn peek(&self, mode: Mode) -> Token {
        lexer::next(self.src, self.pos, mode)
    }
    fn peek_after(&self, t: &Token, mode: Mode) -> Token {
        lexer::next(self.src, t.span.end, mode)
    }
    fn bump(&mut self, t: &Token) {
        self.pos = t.span.end;
    }
    fn text(&self, t: &Token) -> &'a str {
        self.src.get(t.span.clone()).unwrap_or("")
    }
    fn is_word(&self, t: &Token, w: &str) -> bool {
        t.kind == TokenKind::Word && self.text(t).eq_ignore_ascii_case(w)
    }
    fn is_upper_word(&self, t: &Token, w: &str) -> bool {
        t.kind == TokenKind::Word && self.text(t) == w
    }
    fn describe(&self, t: &Token) -> String {
        match t.kind {
            TokenKind::Eof => "end of input".to_string(),
            TokenKind::Error(m) => m.to_string(),
            _ => {
                let s = self.text(t);
                let short: String = s.chars().take(40).collect();
                if short.len() < s.len() {
                    format!("`{short}…`")
                } else {
                    format!("`{short}`")
                }
            }
        }
    }
    fn err<T>(&self, t: &Token, expected: &str) -> R<T> {
        Err(ParseError {
            offset: t.span.start,
            expected: expected.to_string(),
            found: self.describe(t),
        })
    }
    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = self.peek(Mode::Search);
            return Err(ParseError {
                offset: t.span.start,
                expected: format!("at most {MAX_DEPTH} levels of nesting"),
                found: "deeper nesting".to_string(),
            });
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }
    fn expect(&mut self, mode: Mode, kind: TokenKind, expected: &str) -> R<Token> {
        let t = self.peek(mode);
        if t.kind == kind {
            self.bump(&t);
            Ok(t)
        } else {
            self.err(&t, expected)
        }
    }
    fn expect_end(&mut self, mode: Mode, expected: &str) -> R<()> {
        let t = self.peek(mode);
        if t.kind == TokenKind::Eof {
            Ok(())
        } else {
            self.err(&t, expected)
        }
    }
    fn word(&self, t: &Token) -> Word {
        let text = self.text(t);
        match t.kind {
            TokenKind::Str => Word {
                text: lexer::unquote(text),
                quoted: true,
                span: t.span.clone(),
            },
            _ => Word {
                text: text.to_string(),
                quoted: false,
                span: t.span.clone(),
            },
        }
    }
    /// A word or quoted string in search mode.
    fn value(&mut self, expected: &str) -> R<Word> {
        let t = self.peek(Mode::Search);
        match t.kind {
            TokenKind::Word | TokenKind::Str => {
                self.bump(&t);
                Ok(self.word(&t))
            }
            _ => self.err(&t, expected),
        }
    }
    fn macro_tok(&self, t: &Token) -> R<MacroCall> {
        match macro_call(self.text(t), t.span.clone()) {
            Some(m) => Ok(m),
            None => self.err(t, "a macro name"),
        }
    }
    /// `key=value` when the word `t` is followed by `=`.
    fn option_at(&self, t: &Token) -> bool {
        t.kind == TokenKind::Word && self.peek_after(t, Mode::Search).kind == TokenKind::Eq
    }
    fn option(&mut self) -> R<Opt> {
        let k = self.peek(Mode::Search);
        self.bump(&k);
        self.expect(Mode::Search, TokenKind::Eq, "`=`")?;
        let t = self.peek(Mode::Search);
        let value = if t.kind == TokenKind::LParen {
            self.bump(&t);
            let e = self.search_and(false)?;
            self.expect(Mode::Search, TokenKind::RParen, "`)`")?;
            OptValue::Search(e)
        } else if self.is_word(&t, "eval")
            && self.peek_after(&t, Mode::Search).kind == TokenKind::LParen
        {
            self.bump(&t);
            OptValue::Eval(self.eval_call()?)
        } else {
            let mut w = self.value("an option value")?;
            self.glue(&mut w);
            OptValue::Word(w)
        };
        Ok(Opt {
            key: self.text(&k).to_string(),
            span: k.span.start..self.pos,
            value,
        })
    }

    /// `(expr)` after `eval`.
    fn eval_call(&mut self) -> R<Expr> {
        self.expect(Mode::Search, TokenKind::LParen, "`(`")?;
        self.enter()?;
        let e = self.expr()?;
        self.leave();
        self.expect(Mode::Expr, TokenKind::RParen, "`)`")?;
        Ok(e)
    }

    /// Extend a bare word with what is written right against it: `relative_time(now(), "-1d")`,
    /// `*GetCurrent()*`, `predicted(x)` (balanced parentheses and words, no space before).
    fn glue(&mut self, w: &mut Word) {
        if w.quoted {
            return;
        }
        loop {
            let t = self.peek(Mode::Search);
            if t.span.start != w.span.end {
                return;
            }
            let end = match t.kind {
                TokenKind::Word => t.span.end,
                TokenKind::LParen => match self.balanced(t.span.start) {
                    Some(e) => e,
                    None => return,
                },
                _ => return,
            };
            w.span.end = end;
            self.pos = end;
            w.text = self.src[w.span.start..end].to_string();
        }
    }

    /// The end of the balanced parentheses opening at `start`.
    fn balanced(&self, start: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut pos = start;
        loop {
            let t = lexer::next(self.src, pos, Mode::Search);
            match t.kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(t.span.end);
                    }
                }
                TokenKind::Eof
                | TokenKind::Error(_)
                | TokenKind::Pipe
                | TokenKind::LBracket
                | TokenKind::RBracket => return None,
                _ => {}
            }
            pos = t.span.end;
        }
    }

    // ---- pipelines and commands ----

    fn pipeline(&mut self, in_sub: bool) -> R<Pipeline> {
        self.enter()?;
        let first = self.peek(Mode::Search);
        let start = first.span.start;
        let leading_pipe = first.kind == TokenKind::Pipe;
        if leading_pipe {
            self.bump(&first);
        }
        let mut commands = vec![];
        loop {
            let cmd = self.command(commands.is_empty() && !leading_pipe)?;
            commands.push(cmd);
            let t = self.peek(Mode::Search);
            match t.kind {
                TokenKind::Pipe => self.bump(&t),
                TokenKind::Eof if !in_sub => break,
                TokenKind::RBracket if in_sub => break,
                _ if in_sub => return self.err(&t, "`|` or `]`"),
                _ => return self.err(&t, "`|` or end of input"),
            }
        }
        self.leave();
        let end = commands.last().map_or(start, |c| c.span.end.max(start));
        Ok(Pipeline {
            leading_pipe,
            commands,
            span: start..end,
        })
    }

    fn command(&mut self, implicit: bool) -> R<Command> {
        let t = self.peek(Mode::Search);
        let start = t.span.start;
        let name = self.text(&t).to_ascii_lowercase();
        if implicit
            && !(t.kind == TokenKind::Word
                && matches!(
                    name.as_str(),
                    "search" | "tstats" | "mstats" | "inputlookup"
                ))
        {
            let expr = self.search_opt(false)?;
            let end = expr.as_ref().map_or(start, |e| e.span.end);
            return Ok(Command {
                kind: CommandKind::Search {
                    explicit: false,
                    expr,
                },
                span: start..end,
            });
        }
        let kind = match t.kind {
            TokenKind::Macro => {
                self.bump(&t);
                let call = self.macro_tok(&t)?;
                let args = self.generic_args()?;
                CommandKind::Macro { call, args }
            }
            TokenKind::Word => {
                self.bump(&t);
                self.named_command(&name, self.text(&t))?
            }
            _ => return self.err(&t, "a command name"),
        };
        let end = self.pos.max(start);
        Ok(Command {
            kind,
            span: start..end,
        })
    }

    fn named_command(&mut self, name: &str, written: &str) -> R<CommandKind> {
        Ok(match name {
            "search" => CommandKind::Search {
                explicit: true,
                expr: self.search_opt(false)?,
            },
            "where" => CommandKind::Where(self.expr()?),
            "eval" => CommandKind::Eval(self.eval_args()?),
            "stats" => CommandKind::Stats(self.stats(StatsKind::Stats)?),
            "eventstats" => CommandKind::Stats(self.stats(StatsKind::Eventstats)?),
            "streamstats" => CommandKind::Stats(self.stats(StatsKind::Streamstats)?),
            "tstats" => CommandKind::Stats(self.stats(StatsKind::Tstats)?),
            "mstats" => CommandKind::Stats(self.stats(StatsKind::Mstats)?),
            "from" => self.from()?,
            "datamodel" => {
                let mut words = vec![];
                loop {
                    let t = self.peek(Mode::Search);
                    if is_end(t.kind) {
                        break;
                    }
                    words.push(self.value("a data model, dataset or mode")?);
                }
                CommandKind::Datamodel(words)
            }
            "rename" => self.rename()?,
            "rex" => self.rex()?,
            "regex" => self.regex()?,
            "lookup" => self.lookup()?,
            "inputlookup" => self.inputlookup()?,
            "join" | "append" => self.join(name == "join")?,
            "sort" => self.sort()?,
            "convert" => self.convert()?,
            "table" | "fields" | "dedup" | "bin" | "bucket" | "spath" | "mvexpand" | "fillnull"
            | "head" | "tail" | "makemv" | "transaction" | "iplocation" | "collect"
            | "outputlookup" => self.fields_cmd(name)?,
            _ => CommandKind::Generic {
                name: written.to_string(),
                args: self.generic_args()?,
            },
        })
    }

    fn generic_args(&mut self) -> R<Vec<Arg>> {
        let mut args = vec![];
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                TokenKind::Pipe | TokenKind::RBracket | TokenKind::Eof => return Ok(args),
                TokenKind::Error(_) => return self.err(&t, "an argument"),
                TokenKind::LBracket => {
                    let save = (self.pos, self.depth);
                    match self.subsearch() {
                        Ok(p) => args.push(Arg::Subsearch(p)),
                        Err(_) => {
                            (self.pos, self.depth) = save;
                            self.raw_group(&mut args)?;
                        }
                    }
                }
                _ => {
                    self.bump(&t);
                    args.push(Arg::Raw(self.text(&t).to_string()));
                }
            }
        }
    }

    /// `[ … ]` as raw tokens, brackets balanced.
    fn raw_group(&mut self, args: &mut Vec<Arg>) -> R<()> {
        let mut depth = 0usize;
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                TokenKind::Eof | TokenKind::Error(_) => return self.err(&t, "`]`"),
                TokenKind::LBracket => depth += 1,
                TokenKind::RBracket => depth -= 1,
                _ => {}
            }
            self.bump(&t);
            args.push(Arg::Raw(self.text(&t).to_string()));
            if depth == 0 {
                return Ok(());
            }
        }
    }

    fn subsearch(&mut self) -> R<Pipeline> {
        self.expect(Mode::Search, TokenKind::LBracket, "`[`")?;
        let p = self.pipeline(true)?;
        self.expect(Mode::Search, TokenKind::RBracket, "`]`")?;
        Ok(p)
    }

    fn eval_args(&mut self) -> R<Vec<Assignment>> {
        let mut out = vec![];
        loop {
            let t = self.peek(Mode::Expr);
            let field = match t.kind {
                TokenKind::Word => Field {
                    name: self.text(&t).to_string(),
                    quoted: false,
                    span: t.span.clone(),
                },
                TokenKind::SQuote => {
                    let s = self.text(&t);
                    Field {
                        name: s[1..s.len() - 1].to_string(),
                        quoted: true,
                        span: t.span.clone(),
                    }
                }
                // `eval "PSWA Process" = …`, as some content writes: the same as single quotes.
                TokenKind::Str => Field {
                    name: lexer::unquote(self.text(&t)),
                    quoted: true,
                    span: t.span.clone(),
                },
                _ => return self.err(&t, "a field name"),
            };
            self.bump(&t);
            self.expect(Mode::Expr, TokenKind::Eq, "`=`")?;
            let value = self.expr()?;
            out.push(Assignment {
                span: field.span.start..value.span.end,
                field,
                value,
            });
            let t = self.peek(Mode::Expr);
            if t.kind == TokenKind::Comma {
                self.bump(&t);
            } else {
                return Ok(out);
            }
        }
    }

    fn stats(&mut self, kind: StatsKind) -> R<Stats> {
        let tstats = matches!(kind, StatsKind::Tstats | StatsKind::Mstats);
        let mut s = Stats {
            kind,
            options: vec![],
            macros: vec![],
            aggs: vec![],
            from: None,
            filter: None,
            by: vec![],
            by_options: vec![],
        };
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                k if is_end(k) => break,
                TokenKind::Comma => self.bump(&t),
                TokenKind::Macro => {
                    self.bump(&t);
                    s.macros.push(self.macro_tok(&t)?);
                }
                TokenKind::Word if self.is_word(&t, "by") => {
                    self.bump(&t);
                    self.by_clause(&mut s, tstats)?;
                }
                TokenKind::Word if tstats && self.is_word(&t, "from") => {
                    self.bump(&t);
                    let d = self.peek(Mode::Search);
                    let dm = self.text(&d);
                    if d.kind == TokenKind::Word
                        && dm.len() > 10
                        && dm.as_bytes()[..10].eq_ignore_ascii_case(b"datamodel:")
                    {
                        self.bump(&d);
                        s.from = Some(Word {
                            text: dm[10..].to_string(),
                            quoted: false,
                            span: d.span.start + 10..d.span.end,
                        });
                    } else if self.is_word(&d, "datamodel") {
                        self.bump(&d);
                        let e = self.peek(Mode::Search);
                        if e.kind == TokenKind::Eq {
                            self.bump(&e);
                        }
                        s.from = Some(self.value("a data model name")?);
                    } else {
                        return self.err(&d, "`datamodel`");
                    }
                }
                TokenKind::Word if tstats && self.is_word(&t, "where") => {
                    self.bump(&t);
                    s.filter = self.search_opt(true)?;
                }
                TokenKind::Word if self.option_at(&t) => s.options.push(self.option()?),
                TokenKind::Word => s.aggs.push(self.agg()?),
                _ => return self.err(&t, "an aggregation, `by` or `|`"),
            }
        }
        Ok(s)
    }

    fn by_clause(&mut self, s: &mut Stats, tstats: bool) -> R<()> {
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                k if is_end(k) => return Ok(()),
                TokenKind::Comma => self.bump(&t),
                TokenKind::Word if tstats && self.is_word(&t, "where") => return Ok(()),
                TokenKind::Word if self.option_at(&t) => s.by_options.push(self.option()?),
                TokenKind::Word | TokenKind::Str => {
                    self.bump(&t);
                    s.by.push(self.word(&t));
                }
                _ => return self.err(&t, "a field name"),
            }
        }
    }

    /// `func`, `func(args)`, with `as alias`.
    fn agg(&mut self) -> R<Agg> {
        let t = self.peek(Mode::Search);
        // `as` names an aggregation's result; it is not an aggregation itself.
        if self.is_word(&t, "as") {
            return self.err(&t, "an aggregation before `as`");
        }
        self.bump(&t);
        let func = self.text(&t).to_string();
        let mut args = vec![];
        let mut end = t.span.end;
        let p = self.peek(Mode::Search);
        if p.kind == TokenKind::LParen {
            self.bump(&p);
            loop {
                let a = self.peek(Mode::Search);
                match a.kind {
                    TokenKind::RParen => {
                        self.bump(&a);
                        end = a.span.end;
                        break;
                    }
                    TokenKind::Comma => self.bump(&a),
                    TokenKind::Word
                        if self.is_word(&a, "eval")
                            && self.peek_after(&a, Mode::Search).kind == TokenKind::LParen =>
                    {
                        self.bump(&a);
                        args.push(AggArg::Eval(self.eval_call()?));
                    }
                    TokenKind::Word | TokenKind::Str => {
                        self.bump(&a);
                        args.push(AggArg::Field(self.word(&a)));
                    }
                    _ => return self.err(&a, "a field name or `)`"),
                }
            }
        }
        let mut alias = None;
        let a = self.peek(Mode::Search);
        if self.is_word(&a, "as") {
            self.bump(&a);
            let mut w = self.value("a field name after `as`")?;
            // `as name(x)`: a field name with parentheses, as some content writes.
            self.glue(&mut w);
            end = w.span.end;
            alias = Some(w);
        }
        Ok(Agg {
            func,
            args,
            alias,
            span: t.span.start..end,
        })
    }

    fn from(&mut self) -> R<CommandKind> {
        let t = self.peek(Mode::Search);
        if t.kind != TokenKind::Word {
            return self.err(&t, "a dataset type (`datamodel`)");
        }
        self.bump(&t);
        let text = self.text(&t);
        if let Some((kind, rest)) = text.split_once(':')
            && !rest.is_empty()
        {
            return Ok(CommandKind::From {
                kind: kind.to_ascii_lowercase(),
                dataset: Word {
                    text: rest.to_string(),
                    quoted: false,
                    span: t.span.start + kind.len() + 1..t.span.end,
                },
            });
        }
        let kind = text.trim_end_matches(':');
        if kind.is_empty() {
            return self.err(&t, "a dataset type (`datamodel`)");
        }
        let e = self.peek(Mode::Search);
        if e.kind == TokenKind::Eq {
            self.bump(&e);
        }
        Ok(CommandKind::From {
            kind: kind.to_ascii_lowercase(),
            dataset: self.value("a dataset name")?,
        })
    }

    fn rename(&mut self) -> R<CommandKind> {
        let mut pairs = vec![];
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                k if is_end(k) => break,
                TokenKind::Comma => self.bump(&t),
                _ => {
                    let a = self.value("a field name")?;
                    let k = self.peek(Mode::Search);
                    if !self.is_word(&k, "as") {
                        return self.err(&k, "`as`");
                    }
                    self.bump(&k);
                    let b = self.value("a field name")?;
                    pairs.push((a, b));
                }
            }
        }
        Ok(CommandKind::Rename(pairs))
    }

    fn rex(&mut self) -> R<CommandKind> {
        let mut options = vec![];
        let mut regex = None;
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                k if is_end(k) => break,
                TokenKind::Word if self.option_at(&t) => options.push(self.option()?),
                TokenKind::Str if regex.is_none() => {
                    self.bump(&t);
                    regex = Some(self.word(&t));
                }
                _ => return self.err(&t, "an option or a quoted regular expression"),
            }
        }
        match regex {
            Some(regex) => Ok(CommandKind::Rex { options, regex }),
            None => {
                let t = self.peek(Mode::Search);
                self.err(&t, "a quoted regular expression")
            }
        }
    }

    fn regex(&mut self) -> R<CommandKind> {
        let t = self.peek(Mode::Search);
        if t.kind == TokenKind::Str {
            self.bump(&t);
            return Ok(CommandKind::Regex {
                field: None,
                negated: false,
                regex: self.word(&t),
            });
        }
        let field = self.value("a field name or a quoted regular expression")?;
        let op = self.peek(Mode::Search);
        let negated = match op.kind {
            TokenKind::Eq => false,
            TokenKind::Neq => true,
            _ => return self.err(&op, "`=` or `!=`"),
        };
        self.bump(&op);
        let regex = self.value("a regular expression")?;
        Ok(CommandKind::Regex {
            field: Some(field),
            negated,
            regex,
        })
    }

    fn lookup(&mut self) -> R<CommandKind> {
        let mut options = vec![];
        loop {
            let t = self.peek(Mode::Search);
            if self.option_at(&t) {
                options.push(self.option()?);
            } else {
                break;
            }
        }
        let table = self.value("a lookup name")?;
        let mut inputs = vec![];
        let mut output: Option<(bool, Vec<LookupField>)> = None;
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                k if is_end(k) => break,
                TokenKind::Comma => self.bump(&t),
                TokenKind::Word if output.is_none() && self.is_word(&t, "output") => {
                    self.bump(&t);
                    output = Some((false, vec![]));
                }
                TokenKind::Word if output.is_none() && self.is_word(&t, "outputnew") => {
                    self.bump(&t);
                    output = Some((true, vec![]));
                }
                _ => {
                    let field = self.value("a field name")?;
                    let a = self.peek(Mode::Search);
                    let alias = if self.is_word(&a, "as") {
                        self.bump(&a);
                        Some(self.value("a field name after `as`")?)
                    } else {
                        None
                    };
                    let f = LookupField { field, alias };
                    match &mut output {
                        Some((_, o)) => o.push(f),
                        None => inputs.push(f),
                    }
                }
            }
        }
        Ok(CommandKind::Lookup(Lookup {
            options,
            table,
            inputs,
            output,
        }))
    }

    fn inputlookup(&mut self) -> R<CommandKind> {
        let mut options = vec![];
        loop {
            let t = self.peek(Mode::Search);
            if self.option_at(&t) {
                options.push(self.option()?);
            } else {
                break;
            }
        }
        let table = self.value("a lookup name")?;
        let mut filter = None;
        loop {
            let t = self.peek(Mode::Search);
            if self.option_at(&t) {
                options.push(self.option()?);
            } else if filter.is_none() && self.is_word(&t, "where") {
                self.bump(&t);
                filter = self.search_opt(false)?;
            } else {
                break;
            }
        }
        Ok(CommandKind::Inputlookup {
            options,
            table,
            filter,
        })
    }

    fn join(&mut self, join: bool) -> R<CommandKind> {
        let mut options = vec![];
        let mut fields = vec![];
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                TokenKind::LBracket => break,
                TokenKind::Comma => self.bump(&t),
                TokenKind::Word if self.option_at(&t) => options.push(self.option()?),
                TokenKind::Word | TokenKind::Str if join => {
                    self.bump(&t);
                    fields.push(self.word(&t));
                }
                _ => return self.err(&t, "a subsearch `[ … ]`"),
            }
        }
        let subsearch = self.subsearch()?;
        Ok(if join {
            CommandKind::Join {
                options,
                fields,
                subsearch,
            }
        } else {
            CommandKind::Append { options, subsearch }
        })
    }

    fn sort(&mut self) -> R<CommandKind> {
        let mut count = None;
        let mut keys = vec![];
        let mut sign = None;
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                k if is_end(k) => break,
                TokenKind::Comma => self.bump(&t),
                TokenKind::Word => {
                    self.bump(&t);
                    let mut w = self.word(&t);
                    if count.is_none()
                        && keys.is_empty()
                        && sign.is_none()
                        && w.text.bytes().all(|c| c.is_ascii_digit())
                    {
                        count = Some(w);
                        continue;
                    }
                    let s = match w.text.as_bytes().first() {
                        Some(b'-') => Some(Sign::Minus),
                        Some(b'+') => Some(Sign::Plus),
                        _ => None,
                    };
                    if s.is_some() {
                        if w.text.len() == 1 {
                            sign = s;
                            continue;
                        }
                        w.text.remove(0);
                        w.span.start += 1;
                        sign = s;
                    }
                    let p = self.peek(Mode::Search);
                    let (func, field) = if p.kind == TokenKind::LParen {
                        self.bump(&p);
                        let f = self.value("a field name")?;
                        self.expect(Mode::Search, TokenKind::RParen, "`)`")?;
                        (Some(w.text), f)
                    } else {
                        (None, w)
                    };
                    keys.push(SortKey {
                        sign: sign.take(),
                        func,
                        field,
                    });
                }
                TokenKind::Str => {
                    self.bump(&t);
                    keys.push(SortKey {
                        sign: sign.take(),
                        func: None,
                        field: self.word(&t),
                    });
                }
                _ => return self.err(&t, "a sort field"),
            }
        }
        Ok(CommandKind::Sort { count, keys })
    }

    fn convert(&mut self) -> R<CommandKind> {
        let mut options = vec![];
        let mut items = vec![];
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                k if is_end(k) => break,
                TokenKind::Comma => self.bump(&t),
                TokenKind::Word if self.option_at(&t) => options.push(self.option()?),
                TokenKind::Word => items.push(self.agg()?),
                _ => return self.err(&t, "a conversion `func(field)`"),
            }
        }
        Ok(CommandKind::Convert { options, items })
    }

    fn fields_cmd(&mut self, name: &str) -> R<CommandKind> {
        let mut c = FieldsCmd {
            name: name.to_string(),
            sign: None,
            options: vec![],
            fields: vec![],
            alias: None,
        };
        loop {
            let t = self.peek(Mode::Search);
            match t.kind {
                k if is_end(k) => break,
                TokenKind::Comma => self.bump(&t),
                TokenKind::Word if self.option_at(&t) => c.options.push(self.option()?),
                TokenKind::Word
                    if matches!(name, "bin" | "bucket")
                        && c.alias.is_none()
                        && self.is_word(&t, "as") =>
                {
                    self.bump(&t);
                    c.alias = Some(self.value("a field name after `as`")?);
                }
                TokenKind::Word
                    if name == "fields"
                        && c.sign.is_none()
                        && c.fields.is_empty()
                        && matches!(self.text(&t), "+" | "-") =>
                {
                    self.bump(&t);
                    c.sign = Some(if self.text(&t) == "+" {
                        Sign::Plus
                    } else {
                        Sign::Minus
                    });
                }
                TokenKind::Word | TokenKind::Str => {
                    self.bump(&t);
                    let mut w = self.word(&t);
                    self.glue(&mut w);
                    c.fields.push(w);
                }
                _ => return self.err(&t, "a field name, an option or `|`"),
            }
        }
        Ok(CommandKind::Fields(c))
    }

    // ---- the search language ----

    fn search_end(&self, t: &Token, stop_by: bool) -> bool {
        matches!(
            t.kind,
            TokenKind::Pipe | TokenKind::RBracket | TokenKind::RParen | TokenKind::Eof
        ) || (stop_by && self.is_word(t, "by"))
    }

    fn search_opt(&mut self, stop_by: bool) -> R<Option<SearchExpr>> {
        let t = self.peek(Mode::Search);
        if self.search_end(&t, stop_by) && t.kind != TokenKind::RParen {
            return Ok(None);
        }
        self.search_and(stop_by).map(Some)
    }

    /// The search command evaluates OR before AND (Splunk's search manual, "Order of
    /// evaluation": NOT, then OR, then AND; `where`/`eval` differ): `a OR b c` is `(a OR b) c`.
    fn search_and(&mut self, stop_by: bool) -> R<SearchExpr> {
        self.enter()?;
        let mut items = vec![self.search_or(stop_by)?];
        loop {
            let t = self.peek(Mode::Search);
            if self.is_upper_word(&t, "AND") {
                self.bump(&t);
                items.push(self.search_or(stop_by)?);
            } else if !self.search_end(&t, stop_by)
                && !self.is_upper_word(&t, "OR")
                && matches!(
                    t.kind,
                    TokenKind::Word
                        | TokenKind::Str
                        | TokenKind::Macro
                        | TokenKind::LParen
                        | TokenKind::LBracket
                )
            {
                items.push(self.search_or(stop_by)?);
            } else {
                break;
            }
        }
        self.leave();
        Ok(group(items, SearchKind::And))
    }

    fn search_or(&mut self, stop_by: bool) -> R<SearchExpr> {
        let mut items = vec![self.search_not(stop_by)?];
        loop {
            let t = self.peek(Mode::Search);
            if self.is_upper_word(&t, "OR") {
                self.bump(&t);
                items.push(self.search_not(stop_by)?);
            } else {
                break;
            }
        }
        Ok(group(items, SearchKind::Or))
    }

    fn search_not(&mut self, stop_by: bool) -> R<SearchExpr> {
        let t = self.peek(Mode::Search);
        if self.is_upper_word(&t, "NOT") {
            self.bump(&t);
            self.enter()?;
            let inner = self.search_not(stop_by)?;
            self.leave();
            return Ok(SearchExpr {
                span: t.span.start..inner.span.end,
                kind: SearchKind::Not(Box::new(inner)),
            });
        }
        self.search_primary(stop_by)
    }

    fn search_primary(&mut self, stop_by: bool) -> R<SearchExpr> {
        let t = self.peek(Mode::Search);
        match t.kind {
            TokenKind::LParen => {
                self.bump(&t);
                let e = self.search_and(false)?;
                self.expect(Mode::Search, TokenKind::RParen, "`)`")?;
                Ok(e)
            }
            TokenKind::LBracket => {
                let p = self.subsearch()?;
                Ok(SearchExpr {
                    span: t.span.start..self.pos,
                    kind: SearchKind::Subsearch(p),
                })
            }
            TokenKind::Macro => {
                self.bump(&t);
                Ok(SearchExpr {
                    kind: SearchKind::Macro(self.macro_tok(&t)?),
                    span: t.span,
                })
            }
            TokenKind::Word
                if (self.is_upper_word(&t, "AND")
                    || self.is_upper_word(&t, "OR")
                    || (stop_by && self.is_word(&t, "by"))) =>
            {
                self.err(&t, "a search term")
            }
            TokenKind::Word
                if (self.is_word(&t, "TERM") || self.is_word(&t, "CASE"))
                    && self.peek_after(&t, Mode::Search).kind == TokenKind::LParen =>
            {
                self.bump(&t);
                self.expect(Mode::Search, TokenKind::LParen, "`(`")?;
                let w = self.value("a term")?;
                let close = self.expect(Mode::Search, TokenKind::RParen, "`)`")?;
                let kind = if self.is_word(&t, "TERM") {
                    SearchKind::TermFn(w)
                } else {
                    SearchKind::CaseFn(w)
                };
                Ok(SearchExpr {
                    kind,
                    span: t.span.start..close.span.end,
                })
            }
            TokenKind::Word | TokenKind::Str => {
                self.bump(&t);
                let field = self.word(&t);
                let n = self.peek(Mode::Search);
                if let Some(op) = cmp_op(n.kind) {
                    self.bump(&n);
                    let mut value = self.value("a value")?;
                    self.glue(&mut value);
                    return Ok(SearchExpr {
                        span: t.span.start..value.span.end,
                        kind: SearchKind::Compare { field, op, value },
                    });
                }
                if self.is_word(&n, "IN")
                    && self.peek_after(&n, Mode::Search).kind == TokenKind::LParen
                {
                    let open = self.peek_after(&n, Mode::Search);
                    self.bump(&open);
                    let mut values = vec![];
                    loop {
                        let v = self.peek(Mode::Search);
                        match v.kind {
                            TokenKind::Word | TokenKind::Str => {
                                self.bump(&v);
                                values.push(SearchExpr {
                                    kind: SearchKind::Term(self.word(&v)),
                                    span: v.span,
                                });
                            }
                            TokenKind::Macro => {
                                self.bump(&v);
                                values.push(SearchExpr {
                                    kind: SearchKind::Macro(self.macro_tok(&v)?),
                                    span: v.span,
                                });
                            }
                            TokenKind::Comma => self.bump(&v),
                            TokenKind::RParen => {
                                self.bump(&v);
                                return Ok(SearchExpr {
                                    span: t.span.start..v.span.end,
                                    kind: SearchKind::In { field, values },
                                });
                            }
                            _ => return self.err(&v, "a value, `,` or `)`"),
                        }
                    }
                }
                Ok(SearchExpr {
                    span: t.span.clone(),
                    kind: SearchKind::Term(field),
                })
            }
            _ => self.err(&t, "a search term"),
        }
    }

    // ---- eval / where expressions ----

    fn expr(&mut self) -> R<Expr> {
        self.enter()?;
        let mut lhs = self.expr_and()?;
        loop {
            let t = self.peek(Mode::Expr);
            let op = if self.is_word(&t, "OR") {
                BinOp::Or
            } else if self.is_word(&t, "XOR") {
                BinOp::Xor
            } else {
                break;
            };
            self.bump(&t);
            let rhs = self.expr_and()?;
            lhs = binary(op, lhs, rhs);
        }
        self.leave();
        Ok(lhs)
    }

    fn expr_and(&mut self) -> R<Expr> {
        let mut lhs = self.expr_not()?;
        loop {
            let t = self.peek(Mode::Expr);
            if !self.is_word(&t, "AND") {
                return Ok(lhs);
            }
            self.bump(&t);
            let rhs = self.expr_not()?;
            lhs = binary(BinOp::And, lhs, rhs);
        }
    }

    fn expr_not(&mut self) -> R<Expr> {
        let t = self.peek(Mode::Expr);
        if self.is_word(&t, "NOT") {
            self.bump(&t);
            self.enter()?;
            let inner = self.expr_not()?;
            self.leave();
            return Ok(Expr {
                span: t.span.start..inner.span.end,
                kind: ExprKind::Not(Box::new(inner)),
            });
        }
        self.expr_cmp()
    }

    fn expr_cmp(&mut self) -> R<Expr> {
        let mut lhs = self.expr_add()?;
        loop {
            let t = self.peek(Mode::Expr);
            let op = if let Some(c) = cmp_op(t.kind) {
                BinOp::Cmp(c)
            } else if self.is_word(&t, "LIKE") {
                BinOp::Like
            } else if self.is_word(&t, "IN")
                && self.peek_after(&t, Mode::Expr).kind == TokenKind::LParen
            {
                self.bump(&t);
                let (list, end) = self.call_args()?;
                lhs = Expr {
                    span: lhs.span.start..end,
                    kind: ExprKind::In {
                        expr: Box::new(lhs),
                        list,
                    },
                };
                continue;
            } else {
                return Ok(lhs);
            };
            self.bump(&t);
            let rhs = self.expr_add()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn expr_add(&mut self) -> R<Expr> {
        let mut lhs = self.expr_mul()?;
        loop {
            let t = self.peek(Mode::Expr);
            let op = match t.kind {
                TokenKind::Plus => BinOp::Add,
                TokenKind::Minus => BinOp::Sub,
                TokenKind::Dot => BinOp::Concat,
                _ => return Ok(lhs),
            };
            self.bump(&t);
            let rhs = self.expr_mul()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn expr_mul(&mut self) -> R<Expr> {
        let mut lhs = self.expr_unary()?;
        loop {
            let t = self.peek(Mode::Expr);
            let op = match t.kind {
                TokenKind::Star => BinOp::Mul,
                TokenKind::Slash => BinOp::Div,
                TokenKind::Percent => BinOp::Mod,
                _ => return Ok(lhs),
            };
            self.bump(&t);
            let rhs = self.expr_unary()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn expr_unary(&mut self) -> R<Expr> {
        let t = self.peek(Mode::Expr);
        if t.kind == TokenKind::Minus {
            self.bump(&t);
            self.enter()?;
            let inner = self.expr_unary()?;
            self.leave();
            return Ok(Expr {
                span: t.span.start..inner.span.end,
                kind: ExprKind::Neg(Box::new(inner)),
            });
        }
        self.expr_primary()
    }

    /// `( expr, … )` after a function name; returns the arguments and the end offset.
    fn call_args(&mut self) -> R<(Vec<Expr>, usize)> {
        self.expect(Mode::Expr, TokenKind::LParen, "`(`")?;
        let mut args = vec![];
        let t = self.peek(Mode::Expr);
        if t.kind == TokenKind::RParen {
            self.bump(&t);
            return Ok((args, t.span.end));
        }
        loop {
            args.push(self.expr()?);
            let t = self.peek(Mode::Expr);
            match t.kind {
                TokenKind::Comma => self.bump(&t),
                TokenKind::RParen => {
                    self.bump(&t);
                    return Ok((args, t.span.end));
                }
                _ => return self.err(&t, "`,` or `)`"),
            }
        }
    }

    fn expr_primary(&mut self) -> R<Expr> {
        let t = self.peek(Mode::Expr);
        let text = self.text(&t);
        let kind = match t.kind {
            TokenKind::Number => ExprKind::Num(text.to_string()),
            TokenKind::Str => ExprKind::Str(lexer::unquote(text)),
            TokenKind::SQuote => ExprKind::Field(Field {
                name: text[1..text.len() - 1].to_string(),
                quoted: true,
                span: t.span.clone(),
            }),
            TokenKind::Macro => ExprKind::Macro(self.macro_tok(&t)?),
            TokenKind::LParen => {
                self.bump(&t);
                let e = self.expr()?;
                self.expect(Mode::Expr, TokenKind::RParen, "`)`")?;
                return Ok(e);
            }
            TokenKind::Word => {
                if self.peek_after(&t, Mode::Expr).kind == TokenKind::LParen {
                    self.bump(&t);
                    let (args, end) = self.call_args()?;
                    return Ok(Expr {
                        kind: ExprKind::Call {
                            name: text.to_string(),
                            args,
                        },
                        span: t.span.start..end,
                    });
                }
                if is_expr_keyword(text) {
                    return self.err(&t, "an expression");
                }
                ExprKind::Field(Field {
                    name: text.to_string(),
                    quoted: false,
                    span: t.span.clone(),
                })
            }
            _ => return self.err(&t, "an expression"),
        };
        self.bump(&t);
        Ok(Expr { kind, span: t.span })
    }
}

/// Words that are operators in expressions (any case).
pub fn is_expr_keyword(w: &str) -> bool {
    ["and", "or", "xor", "not", "like", "in"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr {
        span: lhs.span.start..rhs.span.end,
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    }
}

fn group(mut items: Vec<SearchExpr>, make: fn(Vec<SearchExpr>) -> SearchKind) -> SearchExpr {
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    let span = items[0].span.start..items[items.len() - 1].span.end;
    SearchExpr {
        kind: make(items),
        span,
    }
}
