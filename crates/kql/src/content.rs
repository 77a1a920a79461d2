//! Reading KQL content: FalconFriday markdown (rules and hunts), markdown files with KQL code
//! blocks, and bare `.kql` files, into [`Document`]s: descriptive metadata and the query blocks
//! with their positions in the file. Parsing and lowering the queries is [`crate::lower`]'s work.
//!
//! # Decisions
//!
//! - A **code block holds KQL** when its fence names `kql`, `kusto`, `csl` or `c#` (any case;
//!   FalconFriday marks its queries `C#`). A `c#` block outside a FalconFriday document counts
//!   only when it looks like a query (a `let` statement, or a line starting with a pipe), so
//!   real C# in a README is not read as KQL. A block **without a language tag** holds KQL when
//!   the page's other blocks name no other language and the block parses as KQL, or looks like
//!   it ([`looks_like_kql`]: a `let` statement, a source operator such as `union`, or a line
//!   `| operator` naming a KQL operator); so it is read, and reported if it does not parse.
//! - **Several queries in one text.** As Kusto's own tools do, a blank line outside strings and
//!   comments ends a query ([`split_queries`]), in a `.kql`/`.csl`/`.txt` file and in a code
//!   block alike. Where the text cannot end there, the blank line is not a separator: inside
//!   brackets, after a token that needs more (`|`, `,`, `=`, `and`, …), before one that continues
//!   (`|`, `)`, `on`, `has`, …), and after statements that are only `let`/`set` (a `let` block
//!   stays with the query it feeds). Comments after the blank line go with the next query.
//! - A markdown file is a **FalconFriday document** when it has a `## Metadata` section with an
//!   `**ID:**` line (rules) or a `## Hunt Tags` section (hunts). Its sections become metadata:
//!   `Detection description` the description; `False Positives` (list items, or the paragraph)
//!   the false positives; `References` the URLs and list items; the `ATT&CK Tags` table (or the
//!   hunts' `**Tactic:**`/`**Technique:**` lines) the ATT&CK ids and `attack.<tactic>` tags; the
//!   `Utilized Data Sources` table the data sources; `Version History` the first and last dates
//!   (`date`, `modified`) and the latest version; `**Key:** value` lines their fields (ID,
//!   author, license, last modified) or custom attributes (OS, language, platform, …); the other
//!   prose sections (Description of the attack, Considerations, Suggested Response Actions,
//!   Detection Blind Spots, …) custom attributes under their heading, as written.
//! - Every KQL block of a markdown file is one rule. A block's **label** is the line just
//!   before it (`Rule 2 (process injection)`, `Delete a lock …:`) or else the nearest heading;
//!   in a file with several blocks the rule title is `document title: label`.
//! - A bare query file (`.kql`, `.csl`, or a `.txt` file that looks like KQL) holds one query
//!   or several (above): the title is the file name (underscores as spaces), the description
//!   its leading `//` comments, ATT&CK ids and URLs found in those comments its techniques and
//!   references.
//! - Problems (an unclosed code block) are warnings with line and column; reading never fails.

use ir::{Diagnostic, Meta, Pos, Severity};

/// What a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A FalconFriday detection rule (`## Metadata`, `**ID:**`).
    FalconFriday,
    /// A FalconFriday hunt (`## Hunt Tags`).
    Hunt,
    /// Any other markdown file with KQL blocks.
    Markdown,
    /// A bare `.kql` file.
    KqlFile,
}

/// One query of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The query text (the block's lines, without the fences).
    pub text: String,
    /// Byte offset of `text` in the file.
    pub offset: usize,
    /// Line (1-based) of the query's first line in the file.
    pub line: u32,
    /// The fence's info string (`C#`, `kql`); empty for a `.kql` file.
    pub info: String,
    /// The line before the block or the nearest heading (see the module notes).
    pub label: Option<String>,
}

/// A file's metadata and queries.
#[derive(Debug, Clone)]
pub struct Document {
    pub kind: Kind,
    pub meta: Meta,
    /// ATT&CK technique ids (`T1021.006`), in the order the file names them.
    pub attack: Vec<String>,
    pub blocks: Vec<Block>,
    pub problems: Vec<Diagnostic>,
}

/// The language a fence's info string names (its first word), empty for none.
fn fence_lang(info: &str) -> &str {
    info.split_whitespace().next().unwrap_or("")
}

/// True when `info` (a fence's info string) names a language whose blocks may hold KQL.
fn kql_fence(info: &str) -> bool {
    let lang = fence_lang(info);
    ["kql", "kusto", "csl", "c#"]
        .iter()
        .any(|l| lang.eq_ignore_ascii_case(l))
}

/// A C# block that is really a query: a `let` statement or a line starting with `|`.
fn looks_like_query(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"));
    let Some(first) = lines.next() else {
        return false;
    };
    if first.starts_with("let ") {
        return true;
    }
    text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with('|') && !l.starts_with("||")
    })
}

/// True when a markdown text holds at least one KQL block (what the catalog claims).
pub fn has_kql_blocks(text: &str) -> bool {
    let md = Markdown::parse(text);
    let ff = falconfriday_kind(&md).is_some();
    kql_fences(&md, ff).iter().any(|k| *k != FenceKql::No)
}

/// True when a text is a FalconFriday rule or hunt with at least one KQL block (for files
/// without an extension, as the FalconFriday repository has one).
pub fn is_falconfriday(text: &str) -> bool {
    let md = Markdown::parse(text);
    falconfriday_kind(&md).is_some() && kql_fences(&md, true).iter().any(|k| *k != FenceKql::No)
}

/// A fence tagged with a KQL language (`C#` only when it looks like a query, outside
/// FalconFriday documents).
fn fence_is_kql(f: &Fence, falconfriday: bool) -> bool {
    kql_fence(&f.info)
        && (falconfriday
            || !fence_lang(&f.info).eq_ignore_ascii_case("c#")
            || looks_like_query(&f.text))
}

/// How a fence was found to hold KQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FenceKql {
    No,
    /// Tagged `kql`, `kusto`, `csl` (or a FalconFriday `C#`), or untagged and KQL.
    Yes,
    /// Tagged with another language (`sql`, a typo such as `Kkql`) but it looks like KQL and
    /// every query in it parses: read, with a warning.
    Mistagged,
}

/// For each fence of `md`: whether it holds KQL (see the module notes: tagged blocks, and
/// untagged ones on pages that name no other language when they parse or look like KQL).
fn kql_fences(md: &Markdown, falconfriday: bool) -> Vec<FenceKql> {
    let tagged: Vec<FenceKql> = md
        .fences
        .iter()
        .map(|f| {
            if fence_lang(&f.info).is_empty() {
                FenceKql::No
            } else if fence_is_kql(f, falconfriday) {
                FenceKql::Yes
            } else if looks_like_kql(&f.text) && all_parse(&f.text) {
                FenceKql::Mistagged
            } else {
                FenceKql::No
            }
        })
        .collect();
    let other_language = md
        .fences
        .iter()
        .zip(&tagged)
        .any(|(f, k)| !fence_lang(&f.info).is_empty() && *k == FenceKql::No);
    md.fences
        .iter()
        .zip(tagged)
        .map(|(f, k)| {
            if fence_lang(&f.info).is_empty() && !other_language && untagged_is_kql(&f.text) {
                FenceKql::Yes
            } else {
                k
            }
        })
        .collect()
}

/// Whether `text` holds at least one query and every query in it parses.
fn all_parse(text: &str) -> bool {
    let pieces = split_queries(text);
    !pieces.is_empty()
        && pieces
            .iter()
            .all(|r| crate::parse(&text[r.clone()]).is_ok())
}

/// An untagged block's text is KQL when it looks like KQL, or when every query in it parses.
fn untagged_is_kql(text: &str) -> bool {
    looks_like_kql(text) || all_parse(text)
}

/// Words that start a KQL query text on their own (`let x = …`, `union …`, `search …`).
const START_WORDS: &[&str] = &[
    "let",
    "union",
    "search",
    "find",
    "print",
    "range",
    "datatable",
    "externaldata",
];

/// True when `text` reads as KQL rather than prose, a shell pipeline or another language:
/// its first statement starts with `let name =`, a source operator (`union`, `search`,
/// `find`, `print`, `range`, `datatable(`, `externaldata(`), or one of its lines is
/// `| operator …` with a KQL operator name (`| where`, `| summarize`, `| project-away`).
pub fn looks_like_kql(text: &str) -> bool {
    use crate::lexer::TokenKind as K;
    let first = crate::lexer::next(text, 0);
    if first.kind == K::Ident {
        let word = &text[first.span.clone()];
        let after = crate::lexer::next(text, first.span.end);
        let ok = match word {
            "let" => {
                let eq = crate::lexer::next(text, after.span.end);
                after.kind == K::Ident && eq.kind == K::Eq
            }
            "datatable" | "externaldata" => after.kind == K::LParen,
            _ => START_WORDS.contains(&word) && !matches!(after.kind, K::Eof | K::Eq | K::Dot),
        };
        if ok {
            return true;
        }
    }
    text.lines().any(|l| {
        let Some(rest) = l.trim_start().strip_prefix('|') else {
            return false;
        };
        let word: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        crate::parser::is_operator_name(&word)
    })
}

/// Read a markdown file (`path` is shown in problems).
pub fn read_markdown(path: &str, text: &str) -> Document {
    let md = Markdown::parse(text);
    let kind = falconfriday_kind(&md).unwrap_or(Kind::Markdown);
    let ff = kind != Kind::Markdown;
    let mut problems = Vec::new();
    let mut blocks = Vec::new();
    for &line in &md.tagged_close {
        problems.push(Diagnostic::new(
            path,
            Pos { line, col: 1 },
            Severity::Warning,
            "a fence with a language tag inside a code block: taken as the block's end",
        ));
    }
    let kql = kql_fences(&md, ff);
    for (f, is_kql) in md.fences.iter().zip(kql) {
        if !f.closed {
            problems.push(Diagnostic::new(
                path,
                Pos {
                    line: f.fence_line,
                    col: 1,
                },
                Severity::Warning,
                "code block not closed: it runs to the end of the file",
            ));
        }
        if is_kql == FenceKql::Mistagged {
            problems.push(Diagnostic::new(
                path,
                Pos {
                    line: f.fence_line,
                    col: 1,
                },
                Severity::Warning,
                format!(
                    "code block tagged `{}` read as KQL: it parses as KQL",
                    fence_lang(&f.info)
                ),
            ));
        }
        if is_kql != FenceKql::No {
            push_queries(
                &mut blocks,
                &mut problems,
                path,
                &f.text,
                f.offset,
                f.fence_line + 1,
                &f.info,
                f.label.as_deref(),
            );
        }
    }
    let mut meta = Meta::default();
    let mut attack = Vec::new();
    meta.title = md
        .sections
        .iter()
        .find(|s| s.level == 1)
        .map(|s| s.title.clone())
        .unwrap_or_default();
    if ff {
        falconfriday_meta(&md, &mut meta, &mut attack);
    } else if let Some(s) = md.sections.iter().find(|s| s.level == 1) {
        meta.description = prose(&s.body);
    }
    if meta.title.is_empty() {
        meta.title = title_from_path(path);
    }
    Document {
        kind,
        meta,
        attack,
        blocks,
        problems,
    }
}

/// Read a bare `.kql` file: one query, metadata from the file name and leading comments.
pub fn read_kql_file(path: &str, text: &str) -> Document {
    let mut meta = Meta {
        title: title_from_path(path),
        ..Meta::default()
    };
    let mut comments = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        if let Some(c) = t.strip_prefix("//") {
            comments.push(c.trim());
        } else if !t.is_empty() {
            break;
        }
    }
    let description = comments.join("\n").trim().to_string();
    let mut attack = Vec::new();
    for c in &comments {
        technique_ids(c, &mut attack);
        for u in urls(c) {
            push_unique(&mut meta.references, u);
        }
    }
    meta.description = description;
    let mut blocks = Vec::new();
    let mut problems = Vec::new();
    push_queries(&mut blocks, &mut problems, path, text, 0, 1, "", None);
    Document {
        kind: Kind::KqlFile,
        meta,
        attack,
        blocks,
        problems,
    }
}

/// One [`Block`] per query of `text` (found at byte `offset` and line `line` of its file).
/// When a code block holds several queries, each one's label is the block's label with the
/// query's number (`Detection (2)`). A piece that starts with `|` is a fragment meant to be
/// appended to a query given elsewhere ("add these lines to the query above"): not a query,
/// so a warning rather than a rule.
#[allow(clippy::too_many_arguments)]
fn push_queries(
    blocks: &mut Vec<Block>,
    problems: &mut Vec<Diagnostic>,
    path: &str,
    text: &str,
    offset: usize,
    line: u32,
    info: &str,
    label: Option<&str>,
) {
    let pieces = split_queries(text);
    let several = pieces.len() > 1;
    for (n, r) in pieces.into_iter().enumerate() {
        let before = text[..r.start].bytes().filter(|&c| c == b'\n').count() as u32;
        let first = crate::lexer::next(text, r.start);
        if first.kind == crate::lexer::TokenKind::Pipe {
            let (l, col) = crate::lexer::line_col(&text[r.start..], first.span.start - r.start);
            problems.push(Diagnostic::new(
                path,
                Pos {
                    line: line + before + l as u32 - 1,
                    col: col as u32,
                },
                Severity::Warning,
                "a query fragment (it starts with `|`, continuing a query given elsewhere): \
                 not read as a query",
            ));
            continue;
        }
        blocks.push(Block {
            text: text[r.clone()].to_string(),
            offset: offset + r.start,
            line: line + before,
            info: info.to_string(),
            label: label.map(|l| {
                if several {
                    format!("{l} ({})", n + 1)
                } else {
                    l.to_string()
                }
            }),
        });
    }
}

/// The queries of a KQL text (a file, a code block), as byte ranges in order: Kusto's rule
/// that a blank line outside strings and comments ends a query, except where the text cannot
/// end (see the module notes). Each range starts at the line of its first comment or token;
/// the last runs to the end of the text (trailing comments stay with it). A text without any
/// token (empty, or only comments) holds no query.
pub fn split_queries(text: &str) -> Vec<std::ops::Range<usize>> {
    use crate::lexer::{Token, TokenKind as K};
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    let mut piece_start = 0;
    let mut has_tokens = false;
    let mut has_query = false;
    let mut statement_start = true;
    let mut depth = 0usize;
    let mut last: Option<Token> = None;
    let mut pos = 0;
    loop {
        let t = crate::lexer::next(text, pos);
        if let Some(prev) = &last
            && has_tokens
            && has_query
            && depth == 0
            && let Some(blank) = blank_line(text, prev.span.end, t.span.start)
            && !needs_more(text, prev)
            && !continues(text, &t)
        {
            out.push(piece_start..blank);
            piece_start = blank;
            has_tokens = false;
            has_query = false;
            statement_start = true;
        }
        if t.kind == K::Eof {
            break;
        }
        has_tokens = true;
        if depth == 0 && t.kind != K::Semi {
            if statement_start {
                let word = &text[t.span.clone()];
                let declaration = t.kind == K::Ident
                    && matches!(word, "let" | "set" | "declare" | "alias" | "restrict");
                has_query |= !declaration;
            }
            statement_start = false;
        }
        match t.kind {
            K::LParen | K::LBracket | K::LBrace => depth += 1,
            K::RParen | K::RBracket | K::RBrace => depth = depth.saturating_sub(1),
            K::Semi if depth == 0 => statement_start = true,
            _ => {}
        }
        pos = t.span.end;
        last = Some(t);
    }
    if has_tokens {
        out.push(piece_start..text.len());
    } else if let Some(l) = out.last_mut() {
        l.end = text.len();
    }
    for r in &mut out {
        r.start = first_content_line(text, r.start, r.end);
    }
    out
}

/// The start of the first line of `text[start..end]` holding more than whitespace.
fn first_content_line(text: &str, start: usize, end: usize) -> usize {
    let mut line = start;
    for l in text[start..end].split_inclusive('\n') {
        if !is_blank(l) {
            return line;
        }
        line += l.len();
    }
    start
}

fn is_blank(line: &str) -> bool {
    line.chars()
        .all(|c| c.is_whitespace() || crate::lexer::is_unicode_space(c))
}

/// The start of the first blank line inside the trivia `text[from..to]` (between two tokens),
/// if there is one. The trivia's first line is the end of the previous token's line.
fn blank_line(text: &str, from: usize, to: usize) -> Option<usize> {
    let gap = &text[from..to];
    let first_nl = gap.find('\n')?;
    let mut line_start = from + first_nl + 1;
    for l in text[line_start..to].split_inclusive('\n') {
        if !l.ends_with('\n') {
            return None;
        }
        if is_blank(l) {
            return Some(line_start);
        }
        line_start += l.len();
    }
    None
}

/// A token after which a query cannot end (`|`, `,`, an open bracket, `=`, `and`, `by`, …).
fn needs_more(text: &str, t: &crate::lexer::Token) -> bool {
    use crate::lexer::TokenKind as K;
    match t.kind {
        K::Pipe
        | K::Comma
        | K::LParen
        | K::LBracket
        | K::LBrace
        | K::Eq
        | K::EqEq
        | K::Neq
        | K::EqTilde
        | K::NeqTilde
        | K::Lt
        | K::Le
        | K::Gt
        | K::Ge
        | K::Plus
        | K::Minus
        | K::Slash
        | K::Percent
        | K::Dot
        | K::DotDot
        | K::Colon
        | K::Arrow => true,
        K::Ident => continuation_word(&text[t.span.clone()]),
        _ => false,
    }
}

/// A token that cannot start a query, so it continues the one before (`|`, `)`, `,`, `==`,
/// `and`, `has`, `on`, …).
fn continues(text: &str, t: &crate::lexer::Token) -> bool {
    use crate::lexer::TokenKind as K;
    match t.kind {
        K::Pipe
        | K::Comma
        | K::Semi
        | K::RParen
        | K::RBracket
        | K::RBrace
        | K::Eq
        | K::EqEq
        | K::Neq
        | K::EqTilde
        | K::NeqTilde
        | K::Lt
        | K::Le
        | K::Gt
        | K::Ge
        | K::Slash
        | K::Percent
        | K::DotDot
        | K::Colon
        | K::Arrow => true,
        K::Ident => continuation_word(&text[t.span.clone()]),
        _ => false,
    }
}

/// Words that join two parts of one query: `and`, `or`, `by`, `on`, string and list operators.
fn continuation_word(w: &str) -> bool {
    matches!(
        w,
        "and" | "or" | "by" | "on" | "between" | "!between" | "matches"
    ) || crate::ast::StrOp::from_word(w).is_some()
        || crate::ast::ListOp::from_word(w).is_some()
}

/// `dir/Detect_Some-Thing.kql` → `Detect Some-Thing`.
fn title_from_path(path: &str) -> String {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = match name.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s,
        _ => name,
    };
    stem.replace('_', " ").trim().to_string()
}

fn falconfriday_kind(md: &Markdown) -> Option<Kind> {
    let has = |t: &str| md.sections.iter().any(|s| s.title.eq_ignore_ascii_case(t));
    if has("Metadata") && md.fields.iter().any(|(k, _)| k.eq_ignore_ascii_case("ID")) {
        Some(Kind::FalconFriday)
    } else if has("Hunt Tags") {
        Some(Kind::Hunt)
    } else {
        None
    }
}

/// Sections whose text is kept as a custom attribute under their heading.
const PROSE_SECTIONS: &[&str] = &[
    "Description of the attack",
    "Technical description of the attack",
    "Permission required to execute the technique",
    "Considerations",
    "Suggested Response Actions",
    "Detection Blind Spots",
    "Background info",
    "Description of the hunt",
    "Disclaimer",
    "Notes",
];

fn falconfriday_meta(md: &Markdown, meta: &mut Meta, attack: &mut Vec<String>) {
    let section = |t: &str| md.sections.iter().find(|s| s.title.eq_ignore_ascii_case(t));
    for (k, v) in &md.fields {
        let v = plain(v);
        match k.to_ascii_lowercase().as_str() {
            "id" => meta.id = Some(v),
            "author" => meta.authors.push(v),
            "license" => meta.license = Some(v),
            "last modified" => meta.modified = Some(v),
            "references" => {
                for u in urls(&md.raw_fields(k)) {
                    push_unique(&mut meta.references, u);
                }
            }
            "tactic" => {
                for t in v.split(',') {
                    push_unique(&mut meta.tags, tactic_tag(t));
                }
            }
            "technique" => technique_ids(&v, attack),
            "description" => {
                let d = v.trim_matches('*').trim().to_string();
                if !d.is_empty() && !d.eq_ignore_ascii_case("see above") {
                    meta.custom.insert("Query description".into(), d);
                }
            }
            "query" => {}
            _ if !v.is_empty() => {
                meta.custom
                    .entry(k.clone())
                    .or_insert_with(|| v.trim_matches('*').replace("*, *", ", "));
            }
            _ => {}
        }
    }
    if let Some(s) = section("Detection description").or_else(|| section("Description of the hunt"))
    {
        meta.description = prose(&s.body);
    }
    for t in PROSE_SECTIONS {
        if let Some(s) = section(t) {
            let p = prose(&s.body);
            if !p.is_empty() && p != meta.description {
                meta.custom.insert(s.title.clone(), p);
            }
        }
    }
    if let Some(s) = section("False Positives") {
        let items = list_items(&s.body);
        if items.is_empty() {
            let p = prose(&s.body);
            if !p.is_empty() {
                meta.false_positives.push(p);
            }
        } else {
            meta.false_positives = items.iter().map(|i| plain(i)).collect();
        }
    }
    if let Some(s) = section("References") {
        for item in list_items(&s.body) {
            let found = urls(&item);
            if found.is_empty() {
                push_unique(&mut meta.references, plain(&item));
            }
            for u in found {
                push_unique(&mut meta.references, u);
            }
        }
        for u in urls(&s.body) {
            push_unique(&mut meta.references, u);
        }
    }
    if let Some(s) = section("ATT&CK Tags") {
        for row in table(&s.body) {
            if let Some(t) = row.get("tactic").filter(|t| !t.is_empty()) {
                push_unique(&mut meta.tags, tactic_tag(t));
            }
            let tech = row.get("technique").map(String::as_str).unwrap_or("");
            let sub = row.get("subtechnique").map(String::as_str).unwrap_or("");
            let sub = sub.trim().trim_start_matches('.');
            let id = if let Some(full) = sub.strip_prefix(tech).filter(|_| !tech.is_empty()) {
                format!("{tech}{full}")
            } else if !sub.is_empty() && sub.chars().all(|c| c.is_ascii_digit()) {
                format!("{tech}.{sub}")
            } else {
                tech.to_string()
            };
            let mut ids = Vec::new();
            technique_ids(&id, &mut ids);
            for id in ids {
                push_unique(
                    &mut meta.tags,
                    format!("attack.{}", id.to_ascii_lowercase()),
                );
                push_unique(attack, id);
            }
        }
    }
    if let Some(s) = section("Utilized Data Sources").or_else(|| section("Utilized Data Source")) {
        for row in table(&s.body) {
            let cell = |k: &str| {
                row.get(k)
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty() && *v != "-")
            };
            let mut add = |k: &str, v: &str| {
                let pair = (k.to_string(), v.to_string());
                if !meta.data_sources.contains(&pair) {
                    meta.data_sources.push(pair);
                }
            };
            if let Some(v) = cell("log provider") {
                add("log_provider", v);
            }
            if let Some(v) = cell("table name") {
                add("table", v);
            }
            if let Some(v) = cell("event name").or(cell("event id")) {
                add("event", v);
            }
            match (cell("att&ck data source"), cell("att&ck data component")) {
                (Some(s), Some(c)) => add("attack_data_source", &format!("{s}: {c}")),
                (Some(s), None) => add("attack_data_source", s),
                _ => {}
            }
        }
    }
    if let Some(s) = section("Version History") {
        let rows = table(&s.body);
        let mut dated: Vec<(&str, &str)> = rows
            .iter()
            .filter_map(|r| {
                let d = r.get("date")?.trim();
                (!d.is_empty()).then(|| (d, r.get("version").map_or("", |v| v.trim())))
            })
            .collect();
        dated.sort();
        if let (Some(first), Some(last)) = (dated.first(), dated.last()) {
            meta.date = Some(first.0.to_string());
            if last.0 != first.0 {
                meta.modified = Some(last.0.to_string());
            }
            if !last.1.is_empty() {
                meta.custom.insert("Version".into(), last.1.to_string());
            }
        }
    }
}

/// `TA0008 - Lateral Movement` → `attack.lateral-movement` (Sigma's tactic tags).
fn tactic_tag(t: &str) -> String {
    let name = match t.split_once(" - ") {
        Some((id, name)) if id.trim().starts_with("TA") => name,
        _ => t,
    };
    let words: Vec<&str> = name.split_whitespace().collect();
    format!("attack.{}", words.join("-").to_ascii_lowercase())
}

/// Every ATT&CK technique id (`T1234`, `T1234.001`) in `text`, appended to `out` once each.
fn technique_ids(text: &str, out: &mut Vec<String>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary
            && b[i] == b'T'
            && b.len() >= i + 5
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && b.get(i + 5).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            let mut end = i + 5;
            if b.get(end) == Some(&b'.')
                && b.len() >= end + 4
                && b[end + 1..end + 4].iter().all(u8::is_ascii_digit)
                && b.get(end + 4).is_none_or(|c| !c.is_ascii_alphanumeric())
            {
                end += 4;
            }
            push_unique(out, text[i..end].to_string());
            i = end;
        } else {
            i += 1;
        }
    }
}

/// The http(s) URLs in `text` (markdown link targets and bare URLs), in order.
fn urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("http") {
        let tail = &rest[i..];
        if tail.starts_with("http://") || tail.starts_with("https://") {
            let end = tail
                .find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '`' | '|'))
                .unwrap_or(tail.len());
            let u = tail[..end].trim_end_matches(['.', ',', ';', '*']);
            push_unique(&mut out, u.to_string());
            rest = &tail[end..];
        } else {
            rest = &tail[4..];
        }
    }
    out
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !s.is_empty() && !v.contains(&s) {
        v.push(s);
    }
}

/// Markdown inline text as plain text: links as their text, emphasis markers dropped.
fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s.trim();
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        match (tail.find("]("), tail.find(')')) {
            (Some(m), Some(e)) if m < e => {
                out.push_str(&tail[1..m]);
                rest = &tail[e + 1..];
            }
            _ => {
                out.push('[');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out.trim().trim_matches('*').trim().to_string()
}

/// A section body as prose: trimmed lines, without rules (`---`), tables, zero-width spaces
/// and code blocks, paragraphs kept.
fn prose(body: &str) -> String {
    let mut out = String::new();
    let mut fence = false;
    for l in body.lines() {
        let t = l.trim().trim_matches('\u{200b}').trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = !fence;
            continue;
        }
        if fence || t.starts_with('|') || (!t.is_empty() && t.chars().all(|c| c == '-')) {
            continue;
        }
        if t.is_empty() {
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push_str("\n\n");
            }
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(t);
    }
    out.trim().to_string()
}

/// The items of the bullet lists (`-`, `*`, `+`) of a section, as written.
fn list_items(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| {
            let t = l.trim();
            let item = t
                .strip_prefix("- ")
                .or_else(|| t.strip_prefix("* "))
                .or_else(|| t.strip_prefix("+ "))?
                .trim();
            (!item.is_empty()).then(|| item.to_string())
        })
        .collect()
}

/// The first table of a section: one map per row, header cells lowercased as keys.
fn table(body: &str) -> Vec<std::collections::HashMap<String, String>> {
    let cells = |l: &str| -> Vec<String> {
        let t = l.trim();
        let t = t.strip_prefix('|').unwrap_or(t);
        let t = t.strip_suffix('|').unwrap_or(t);
        t.split('|').map(|c| c.trim().to_string()).collect()
    };
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut seen = false;
    for l in body.lines() {
        let t = l.trim();
        if !t.starts_with('|') {
            if seen {
                break;
            }
            continue;
        }
        seen = true;
        let c = cells(t);
        if c.iter()
            .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
        {
            continue;
        }
        match &header {
            None => header = Some(c.iter().map(|h| h.to_ascii_lowercase()).collect()),
            Some(h) => rows.push(h.iter().cloned().zip(c).collect()),
        }
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// A line-based markdown scanner: headings with their bodies, fenced code blocks with positions,
// `**Key:** value` lines. Enough for rule pages; not a CommonMark parser.

struct Section {
    level: usize,
    title: String,
    /// The lines after the heading up to the next heading (code blocks included).
    body: String,
}

struct Fence {
    info: String,
    text: String,
    offset: usize,
    /// Line of the opening fence.
    fence_line: u32,
    closed: bool,
    label: Option<String>,
}

struct Markdown {
    sections: Vec<Section>,
    fences: Vec<Fence>,
    /// `**Key:** value` lines outside code blocks, in order.
    fields: Vec<(String, String)>,
    /// Lines of fences with a language tag that closed a block.
    tagged_close: Vec<u32>,
}

impl Markdown {
    fn parse(text: &str) -> Markdown {
        let mut sections: Vec<Section> = Vec::new();
        let mut fences = Vec::new();
        let mut fields = Vec::new();
        let mut tagged_close = Vec::new();
        // (marker char, marker length, info, text start offset, fence line, label)
        let mut open: Option<(char, usize, String, usize, u32, Option<String>)> = None;
        let mut heading: Option<String> = None;
        let mut previous: Option<String> = None;
        let mut offset = 0;
        for (n, raw) in text.split_inclusive('\n').enumerate() {
            let line_no = n as u32 + 1;
            let start = offset;
            offset += raw.len();
            let line = raw.trim_end_matches(['\n', '\r']);
            let indent = line.len() - line.trim_start().len();
            let t = line.trim();
            if let Some((ch, len, info, body, fl, label)) = open.clone() {
                let run = t.chars().take_while(|c| *c == ch).count();
                let rest = &t[run..];
                // A closing fence, at any indentation (a query is never a line of only
                // backticks); or a fence with a language tag, which cannot be the block's
                // content either: pages close blocks with ```` ```kql ```` by mistake.
                let closes = run >= len && rest.is_empty();
                let tagged = run >= len
                    && rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '#' | '+' | '-' | ' '));
                if closes || tagged {
                    fences.push(Fence {
                        info,
                        text: text[body..start].to_string(),
                        offset: body,
                        fence_line: fl,
                        closed: true,
                        label,
                    });
                    open = None;
                    previous = Some("```".into());
                }
                if tagged {
                    tagged_close.push(line_no);
                }
                if let Some(s) = sections.last_mut() {
                    s.body.push_str(raw);
                }
                continue;
            }
            let marker = t.chars().next().filter(|c| *c == '`' || *c == '~');
            if let Some(ch) = marker.filter(|_| indent <= 3) {
                let len = t.chars().take_while(|c| *c == ch).count();
                if len >= 3 {
                    let info = t[len..].trim().to_string();
                    // Right after another block: that block's label (a query in parts).
                    let label = match previous.as_deref() {
                        Some("```") => fences.last().and_then(|f: &Fence| f.label.clone()),
                        // A short line (`Rule 2 (process injection)`), not a paragraph.
                        Some(p) if !p.starts_with("**") && p.chars().count() <= 100 => {
                            Some(p.to_string())
                        }
                        _ => heading.clone(),
                    };
                    open = Some((ch, len, info, offset, line_no, label));
                    if let Some(s) = sections.last_mut() {
                        s.body.push_str(raw);
                    }
                    continue;
                }
            }
            if indent <= 3 && t.starts_with('#') {
                let level = t.chars().take_while(|c| *c == '#').count();
                let rest = &t[level..];
                if level <= 6 && (rest.is_empty() || rest.starts_with(' ')) {
                    let title = rest.trim().trim_end_matches('#').trim().to_string();
                    heading = Some(title.clone()).filter(|t| !t.is_empty());
                    previous = heading.clone();
                    sections.push(Section {
                        level,
                        title,
                        body: String::new(),
                    });
                    continue;
                }
            }
            if let Some(rest) = t.strip_prefix("**")
                && let Some((k, v)) = rest.split_once(":**")
                && !k.is_empty()
                && !k.contains('*')
            {
                fields.push((k.trim().to_string(), v.trim().to_string()));
            }
            let clean = t.trim_matches('\u{200b}').trim();
            if !clean.is_empty() {
                let p = clean.trim_end_matches(':').trim();
                previous = Some(if clean.starts_with("**") {
                    clean.to_string()
                } else {
                    p.to_string()
                });
            }
            if let Some(s) = sections.last_mut() {
                s.body.push_str(raw);
            }
        }
        if let Some((_, _, info, body, fl, label)) = open {
            fences.push(Fence {
                info,
                text: text[body..].to_string(),
                offset: body,
                fence_line: fl,
                closed: false,
                label,
            });
        }
        Markdown {
            sections,
            fences,
            fields,
            tagged_close,
        }
    }

    /// The raw value of the first `**key:**` line.
    fn raw_fields(&self, key: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "# Some Rule\n\n## Metadata\n**ID:** 0xFF-0001-X-Win\n\n**OS:** WindowsEndpoint\n\n---\n\n## ATT&CK Tags\n\n| Tactic | Technique | Subtechnique | Technique Name |\n|---|---|---| --- |\n| TA0008 - Lateral Movement | T1021 | 006 | Remote Services|\n| TA0005 - Defense Evasion | T1036 | | Masquerading|\n\n## Utilized Data Sources\n\n| Log Provider | Event ID | Event Name | ATT&CK Data Source | ATT&CK Data Component|\n|---|---|---|---|---|\n|MicrosoftThreatProtection|ImageLoaded||Module|Module Load|\n\n## Detection description\nLooks for things.\n\nSecond paragraph.\n\n## False Positives\n- Admins.\n- Backups.\n\n## References\n- https://example.org/a\n- [blog](https://example.org/b)\n\n## Considerations\nTune it.\n\n## Detection\n\n**Language:** Kusto\n\n**Query:**\n```C#\nDeviceEvents\n| where X == 1\n```\n\n## Version History\n| Version | Date | Impact | Notes |\n|---|---|---|---|\n| 1.1 | 2024-02-01 | minor | x |\n| 1.0  | 2022-06-17| major | Initial version. |\n";

    #[test]
    fn falconfriday_rule_sections() {
        let d = read_markdown("r.md", RULE);
        assert_eq!(d.kind, Kind::FalconFriday);
        let m = &d.meta;
        assert_eq!(m.title, "Some Rule");
        assert_eq!(m.id.as_deref(), Some("0xFF-0001-X-Win"));
        assert_eq!(m.description, "Looks for things.\n\nSecond paragraph.");
        assert_eq!(m.false_positives, ["Admins.", "Backups."]);
        assert_eq!(
            m.references,
            ["https://example.org/a", "https://example.org/b"]
        );
        assert_eq!(d.attack, ["T1021.006", "T1036"]);
        assert!(m.tags.contains(&"attack.lateral-movement".to_string()));
        assert!(m.tags.contains(&"attack.t1021.006".to_string()));
        assert_eq!(
            m.data_sources,
            [
                ("log_provider".into(), "MicrosoftThreatProtection".into()),
                ("event".into(), "ImageLoaded".into()),
                ("attack_data_source".into(), "Module: Module Load".into()),
            ]
        );
        assert_eq!(m.date.as_deref(), Some("2022-06-17"));
        assert_eq!(m.modified.as_deref(), Some("2024-02-01"));
        assert_eq!(m.custom["Version"], "1.1");
        assert_eq!(m.custom["OS"], "WindowsEndpoint");
        assert_eq!(m.custom["Language"], "Kusto");
        assert_eq!(m.custom["Considerations"], "Tune it.");
        assert_eq!(d.blocks.len(), 1);
        let b = &d.blocks[0];
        assert_eq!(b.text, "DeviceEvents\n| where X == 1\n");
        assert_eq!(&RULE[b.offset..b.offset + 12], "DeviceEvents");
        assert_eq!(RULE.lines().nth(b.line as usize - 1), Some("DeviceEvents"));
        assert!(d.problems.is_empty());
    }

    #[test]
    fn blocks_labels_and_real_csharp() {
        let md = "# Notes\n\nSome text.\n\n### First\n\nA paragraph too long to be the name of a query, as prose written just before a code block often is in the READMEs of hunting repositories.\n```kql\nT | take 1\n```\nSecond one:\n```KQL\nlet a = 1;\nT\n```\n```C#\nvar x = new Foo();\n```\n```c#\n// a query\nT\n| where a == 1\n```\n";
        let d = read_markdown("n.md", md);
        assert_eq!(d.kind, Kind::Markdown);
        let labels: Vec<_> = d.blocks.iter().map(|b| b.label.as_deref()).collect();
        assert_eq!(
            labels,
            [Some("First"), Some("Second one"), Some("Second one")]
        );
        assert_eq!(d.blocks.len(), 3, "the C# block with code is not a query");
        assert!(has_kql_blocks(md));
        assert!(!has_kql_blocks("# README\n```C#\nvar x = 1;\n```\n"));
        assert!(!has_kql_blocks("# README\n```python\nx | y\n```\n"));
    }

    #[test]
    fn unclosed_block_is_a_warning_with_its_line() {
        let d = read_markdown("u.md", "# T\n\n```kql\nT\n| take 1\n");
        assert_eq!(d.blocks.len(), 1);
        assert_eq!(d.blocks[0].text, "T\n| take 1\n");
        assert_eq!(d.problems.len(), 1);
        assert_eq!((d.problems[0].line, d.problems[0].col), (3, 1));
        assert_eq!(d.problems[0].severity, Severity::Warning);
    }

    #[test]
    fn kql_file_title_comments_attack() {
        let d = read_kql_file(
            "dir/Detect_Rare_Thing.kql",
            "// Finds rare things.\n// MITRE: T1059.001, T1003\n// https://example.org/x\n\nDeviceEvents | take 1\n// trailing\n",
        );
        assert_eq!(d.meta.title, "Detect Rare Thing");
        assert_eq!(
            d.meta.description,
            "Finds rare things.\nMITRE: T1059.001, T1003\nhttps://example.org/x"
        );
        assert_eq!(d.attack, ["T1059.001", "T1003"]);
        assert_eq!(d.meta.references, ["https://example.org/x"]);
        assert_eq!(d.blocks[0].offset, 0);
    }

    /// The texts of the queries `split_queries` finds.
    fn pieces(text: &str) -> Vec<&str> {
        split_queries(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn blank_lines_separate_queries() {
        // Two queries, one for Sentinel and one for Advanced Hunting, without `;`.
        let t = "// Sentinel\nSigninLogs\n| where ResultType != 0\n\n// Defender\nDeviceLogonEvents\n| take 1\n";
        assert_eq!(
            pieces(t),
            [
                "// Sentinel\nSigninLogs\n| where ResultType != 0\n",
                "// Defender\nDeviceLogonEvents\n| take 1\n"
            ]
        );
        // Several blank lines, whitespace-only lines and no-break spaces count as one.
        assert_eq!(pieces("A\n \n\u{a0}\n\t\nB").len(), 2);
        // A `let` block stays with the query it feeds.
        let t = "let a = 1;\nlet b = 2;\n\nT | where x == a\n\nlet c = 3;\n\nU | where y == c";
        assert_eq!(
            pieces(t),
            [
                "let a = 1;\nlet b = 2;\n\nT | where x == a\n",
                "let c = 3;\n\nU | where y == c"
            ]
        );
        // Where the text cannot end, a blank line is not a separator: inside brackets, before
        // or after a pipe, after `and`, `,` or `=`, before `on`.
        for t in [
            "T\n| join (\n\nU | take 1) on a",
            "T\n\n| where a",
            "T |\n\nwhere a",
            "T | where a and\n\nb",
            "T | project a,\n\nb",
            "T | join U\n\non a",
            "let x =\n\nT;\nx",
            "T\n// a comment\n\n| take 1",
        ] {
            assert_eq!(pieces(t), [t], "{t:?}");
        }
        // Inside a multi-line string a blank line is text.
        let t = "T | extend s = ```a\n\nb```\n\nU";
        assert_eq!(pieces(t), ["T | extend s = ```a\n\nb```\n", "U"]);
        // Comments alone hold no query: they go with the query before them at the end.
        assert!(pieces("// only a comment\n\n// another\n").is_empty());
        assert_eq!(pieces("T\n\n// the end\n"), ["T\n\n// the end\n"]);
    }

    #[test]
    fn a_file_of_several_queries_is_several_blocks() {
        let text = "// First\nDeviceEvents | take 1\n\n\n// Second\nlet a = 1;\n\nDeviceProcessEvents\n| where A == a\n";
        let d = read_kql_file("q.kql", text);
        let lines: Vec<u32> = d.blocks.iter().map(|b| b.line).collect();
        assert_eq!(lines, [1, 5]);
        assert_eq!(&text[d.blocks[1].offset..][..9], "// Second");
        let l = crate::lower::document_rules(&d, "s", "q.kql", "q.kql", text);
        let keys: Vec<&str> = l.rules.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["s/q.kql", "s/q.kql#2"]);
        assert_eq!(l.rules[1].meta.description, "Second");
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        // In a code block too; each piece is labelled with its number.
        let md = "# Hunt\n\n## Query\n```kusto\nA | take 1\n\nB | take 2\n```\n";
        let d = read_markdown("h.md", md);
        let labels: Vec<_> = d.blocks.iter().map(|b| b.label.as_deref()).collect();
        assert_eq!(labels, [Some("Query (1)"), Some("Query (2)")]);
        assert_eq!(d.blocks[1].line, 7);
    }

    #[test]
    fn untagged_and_mistagged_fences() {
        // Untagged blocks on a page without another language: KQL when they parse or look
        // like it (then a failure to parse is reported, not hidden).
        let md = "# Q\n```\nDeviceEvents\n| where A == 1\n```\n```\nT\n| where\n```\n```\nsome output\n```\n";
        let d = read_markdown("q.md", md);
        let texts: Vec<&str> = d.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["DeviceEvents\n| where A == 1\n", "T\n| where\n"]);
        assert!(has_kql_blocks(md));
        // A page that also holds PowerShell: untagged blocks are not read as KQL.
        let md = "# Q\n```powershell\nGet-Process\n```\n```\nDeviceEvents\n| take 1\n```\n";
        assert!(read_markdown("q.md", md).blocks.is_empty());
        assert!(!has_kql_blocks(md));
        // Every KQL tag counts, `csl` included.
        for tag in ["kql", "KQL", "kusto", "Kusto", "csl"] {
            let md = format!("# Q\n```{tag}\nT | take 1\n```\n");
            assert_eq!(read_markdown("q.md", &md).blocks.len(), 1, "{tag}");
        }
        // Another tag on a block that parses and looks like KQL: read, with a warning.
        let md = "# Q\n```sql\nlet x = 1;\nT | where a == x\n```\n```sql\nSELECT * FROM t\n```\n";
        let d = read_markdown("q.md", md);
        assert_eq!(d.blocks.len(), 1);
        assert_eq!(d.problems.len(), 1);
        assert!(d.problems[0].message.contains("tagged `sql` read as KQL"));
        assert_eq!(d.problems[0].line, 2);
    }

    #[test]
    fn fragments_and_fences_closed_with_a_tag() {
        // "Append these lines to the query above": a fragment, reported, not a query.
        let md = "# Q\n```kql\nT\n```\nThen add:\n```kql\n// more\n| take 1\n```\n";
        let d = read_markdown("q.md", md);
        assert_eq!(d.blocks.len(), 1);
        assert_eq!(d.problems.len(), 1);
        assert_eq!((d.problems[0].line, d.problems[0].col), (8, 1));
        assert!(d.problems[0].message.contains("fragment"));
        // A block closed by ```` ```kql ```` (a common slip) ends there.
        let md = "# Q\n```kql\nA | take 1\n```kql\n\ntext\n\n```kql\nB | take 2\n```\n";
        let d = read_markdown("q.md", md);
        let texts: Vec<&str> = d.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["A | take 1\n", "B | take 2\n"]);
        assert_eq!(d.problems.len(), 1);
        assert_eq!(d.problems[0].line, 4);
        // A closing fence indented by four spaces still closes.
        let d = read_markdown("q.md", "```kql\nA | take 1\n    ```\n");
        assert_eq!(d.blocks[0].text, "A | take 1\n");
        assert!(d.problems.is_empty());
    }

    #[test]
    fn looks_like_kql_texts() {
        for t in [
            "let x = 1;\nT",
            "union isfuzzy=true A, B",
            "search \"x\"",
            "find in (T) where x",
            "datatable(a:string) [\"x\"]",
            "// c\nDeviceEvents\n| summarize count() by A",
            "T\n  | project-away A",
        ] {
            assert!(looks_like_kql(t), "{t:?}");
        }
        for t in [
            "# The below list\naddinprocess.exe\n",
            "cat x | grep y",
            "Get-Process | where { $_.CPU -gt 10 }",
            "let me explain",
            "union",
            "",
        ] {
            assert!(!looks_like_kql(t), "{t:?}");
        }
    }

    #[test]
    fn helpers() {
        let mut ids = Vec::new();
        technique_ids("T1003.003, T1552.006 xT1234 T12345 T1059", &mut ids);
        assert_eq!(ids, ["T1003.003", "T1552.006", "T1059"]);
        assert_eq!(
            tactic_tag("TA0011 - Command and Control"),
            "attack.command-and-control"
        );
        assert_eq!(tactic_tag("Defense Evasion"), "attack.defense-evasion");
        assert_eq!(
            plain("[FalconForce](https://falconforce.nl/)"),
            "FalconForce"
        );
        assert_eq!(plain("*Medium*"), "Medium");
    }
}
