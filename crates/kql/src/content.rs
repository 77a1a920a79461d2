//! Reading KQL content: FalconFriday markdown (rules and hunts), markdown files with KQL code
//! blocks, and bare `.kql` files, into [`Document`]s: descriptive metadata and the query blocks
//! with their positions in the file. Parsing and lowering the queries is [`crate::lower`]'s work.
//!
//! # Decisions
//!
//! - A **code block holds KQL** when its fence names `kql`, `kusto` or `c#` (any case;
//!   FalconFriday marks its queries `C#`). A `c#` block outside a FalconFriday document counts
//!   only when it looks like a query (a `let` statement, or a line starting with a pipe), so
//!   real C# in a README is not read as KQL.
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
//! - A bare `.kql` file is one query: the title is the file name (underscores as spaces), the
//!   description its leading `//` comments, ATT&CK ids and URLs found in those comments its
//!   techniques and references.
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

/// True when `info` (a fence's info string) names a language whose blocks may hold KQL.
fn kql_fence(info: &str) -> bool {
    let lang = info.split_whitespace().next().unwrap_or("");
    ["kql", "kusto", "c#"]
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
    md.fences.iter().any(|f| fence_is_kql(f, ff))
}

/// True when a text is a FalconFriday rule or hunt with at least one KQL block (for files
/// without an extension, as the FalconFriday repository has one).
pub fn is_falconfriday(text: &str) -> bool {
    let md = Markdown::parse(text);
    falconfriday_kind(&md).is_some() && md.fences.iter().any(|f| fence_is_kql(f, true))
}

fn fence_is_kql(f: &Fence, falconfriday: bool) -> bool {
    kql_fence(&f.info)
        && (falconfriday
            || !f.info.trim_start().starts_with(['c', 'C'])
            || looks_like_query(&f.text))
}

/// Read a markdown file (`path` is shown in problems).
pub fn read_markdown(path: &str, text: &str) -> Document {
    let md = Markdown::parse(text);
    let kind = falconfriday_kind(&md).unwrap_or(Kind::Markdown);
    let ff = kind != Kind::Markdown;
    let mut problems = Vec::new();
    let mut blocks = Vec::new();
    for f in &md.fences {
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
        if fence_is_kql(f, ff) {
            blocks.push(Block {
                text: f.text.clone(),
                offset: f.offset,
                line: f.fence_line + 1,
                info: f.info.clone(),
                label: f.label.clone(),
            });
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
    Document {
        kind: Kind::KqlFile,
        meta,
        attack,
        blocks: vec![Block {
            text: text.to_string(),
            offset: 0,
            line: 1,
            info: String::new(),
            label: None,
        }],
        problems: Vec::new(),
    }
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
}

impl Markdown {
    fn parse(text: &str) -> Markdown {
        let mut sections: Vec<Section> = Vec::new();
        let mut fences = Vec::new();
        let mut fields = Vec::new();
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
            if let Some((ch, len, info, body, fl, label)) = &open {
                let closes = indent <= 3
                    && t.len() >= *len
                    && t.chars().all(|c| c == *ch)
                    && t.starts_with(&ch.to_string().repeat(*len));
                if closes {
                    fences.push(Fence {
                        info: info.clone(),
                        text: text[*body..start].to_string(),
                        offset: *body,
                        fence_line: *fl,
                        closed: true,
                        label: label.clone(),
                    });
                    open = None;
                    previous = Some("```".into());
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
