//! Searches ranked in memory: FTS5's own index (its `fts5vocab` instance table) read once into
//! per-term postings (rule, column, count), and its bm25 computed from them, so a search costs
//! microseconds per matching rule instead of FTS5's per-row `bm25()` (about 2.5 µs a row: one
//! `%_docsize` lookup and the auxiliary-function calls; 3 ms for the 1,198 rules `powershell`
//! matches, against 0.35 ms for the match alone).
//!
//! The result is the same as the SQL ranking (`search` in `lib.rs`, the test
//! `ranking_in_memory_is_fts5s` compares both on a corpus): the same matches, bm25 with the same
//! weights, `k1`, `b`, IDF and average row size as FTS5's `fts5Bm25Function`, the same order.
//! It covers the searches whose every word is ASCII (`powershell`, `-enc`, `mimikatz`, and the
//! words the tokenizer splits into several tokens, `cmd.exe`, `t1059.001`, which FTS5 matches as
//! a phrase: the tokens at consecutive positions of one column, found from the positions the
//! index keeps); non-ASCII text, whose folding is FTS5's, goes through SQL. An index built
//! before the store's last recording is stale and not used.

use crate::{BM25_WEIGHTS, Filters, Result, query};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::collections::{BTreeMap, HashMap, HashSet};

/// FTS5's bm25 parameters (`fts5_aux.c`).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// The FTS columns, in the order of the schema.
const COLUMNS: [&str; 5] = ["title", "description", "tags", "indicators", "text"];

/// One rule's occurrences of one term in one column.
#[derive(Debug, Clone, Copy)]
struct Posting {
    /// Position in [`TermIndex::docs`].
    doc: u32,
    col: u8,
    count: u32,
    /// Where its `count` token positions (ascending) start in [`TermIndex::offsets`].
    start: u32,
}

/// What a search reads of a rule besides its terms.
#[derive(Debug)]
struct Doc {
    id: i64,
    /// Tokens in all columns (FTS5's `xColumnSize(-1)`).
    size: u32,
    key: Box<str>,
    source: Box<str>,
    language: Box<str>,
    level: Option<Box<str>>,
    retired: bool,
}

/// The store's full-text index as postings in memory, for [`search`].
#[derive(Debug)]
pub struct TermIndex {
    /// The recording it was read after (`max(recordings.id)`).
    recording: Option<i64>,
    /// Each term's postings, by rule then column.
    terms: BTreeMap<Box<str>, Vec<Posting>>,
    /// The token positions of every posting, each posting's in one ascending run.
    offsets: Vec<u32>,
    docs: Vec<Doc>,
    /// Tokens per row on average (FTS5's `avgdl`).
    avgdl: f64,
}

/// The last recording of the store, which a [`TermIndex`] must have been read after.
pub(crate) fn recording(conn: &Connection) -> Result<Option<i64>> {
    let mut stmt = conn.prepare_cached("SELECT max(id) FROM recordings")?;
    Ok(stmt.query_row([], |r| r.get(0))?)
}

impl TermIndex {
    /// Read the index of the store `conn` opens (about a second for 8,656 rules).
    pub(crate) fn read(conn: &Connection) -> Result<TermIndex> {
        // One read transaction: the rules, their sizes and their terms of one recording.
        let tx = conn.unchecked_transaction()?;
        let conn: &Connection = &tx;
        let recording = recording(conn)?;
        let mut docs = Vec::new();
        let mut slot: HashMap<i64, u32> = HashMap::new();
        {
            let mut stmt = conn.prepare(
                "SELECT r.id, d.sz, r.key, r.source, r.language, r.level, r.retired IS NOT NULL
                 FROM rules_fts_docsize d JOIN rules r ON r.id = d.id ORDER BY r.id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let sz: Vec<u8> = r.get(1)?;
                slot.insert(id, u32::try_from(docs.len()).unwrap_or(u32::MAX));
                docs.push(Doc {
                    id,
                    size: column_sizes(&sz),
                    key: r.get::<_, String>(2)?.into(),
                    source: r.get::<_, String>(3)?.into(),
                    language: r.get::<_, String>(4)?.into(),
                    level: r.get::<_, Option<String>>(5)?.map(Into::into),
                    retired: r.get(6)?,
                });
            }
        }
        let tokens: f64 = docs.iter().map(|d| f64::from(d.size)).sum();
        let avgdl = if docs.is_empty() {
            0.0
        } else {
            tokens / docs.len() as f64
        };
        conn.execute_batch(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.rules_fts_instances
             USING fts5vocab(main, rules_fts, instance)",
        )?;
        let mut terms: BTreeMap<Box<str>, Vec<Posting>> = BTreeMap::new();
        let mut offsets: Vec<u32> = Vec::new();
        {
            // Rows come by term, then rule, then column, then offset: runs of one
            // (term, rule, column) are counted as they stream by.
            let mut stmt =
                conn.prepare("SELECT term, doc, col, offset FROM temp.rules_fts_instances")?;
            let mut rows = stmt.query([])?;
            let mut term: Vec<u8> = Vec::new();
            let mut list: Vec<Posting> = Vec::new();
            let mut keep = |term: &[u8], list: Vec<Posting>| {
                if !list.is_empty() {
                    terms.insert(String::from_utf8_lossy(term).into(), list);
                }
            };
            while let Some(r) = rows.next()? {
                let (ValueRef::Text(t), ValueRef::Text(col)) = (r.get_ref(0)?, r.get_ref(2)?)
                else {
                    continue; // fts5vocab gives text terms and column names
                };
                if t != term.as_slice() {
                    keep(&term, std::mem::take(&mut list));
                    term.clear();
                    term.extend_from_slice(t);
                }
                let id: i64 = r.get(1)?;
                let (Some(&doc), Some(col)) = (
                    slot.get(&id),
                    COLUMNS.iter().position(|c| c.as_bytes() == col),
                ) else {
                    continue; // not a rule of the table (cannot happen in one read transaction)
                };
                let col = col as u8;
                let start = u32::try_from(offsets.len()).unwrap_or(u32::MAX);
                offsets.push(r.get::<_, i64>(3)?.try_into().unwrap_or(u32::MAX));
                match list.last_mut() {
                    Some(p) if p.doc == doc && p.col == col => p.count += 1,
                    _ => list.push(Posting {
                        doc,
                        col,
                        count: 1,
                        start,
                    }),
                }
            }
            keep(&term, list);
        }
        drop(tx);
        Ok(TermIndex {
            recording,
            terms,
            offsets,
            docs,
            avgdl,
        })
    }

    /// Whether the index holds the store's last recording.
    pub(crate) fn current(&self, conn: &Connection) -> Result<bool> {
        Ok(recording(conn)? == self.recording)
    }
}

/// The sum of a `%_docsize` blob's varints (one per column).
fn column_sizes(mut sz: &[u8]) -> u32 {
    let mut total: u32 = 0;
    while !sz.is_empty() {
        let (v, n) = varint(sz);
        total = total.saturating_add(v);
        sz = &sz[n..];
    }
    total
}

/// An SQLite varint (big-endian groups of 7 bits, the high bit set on all but the last; the
/// ninth byte has 8): its value (column sizes fit 32 bits) and length.
fn varint(b: &[u8]) -> (u32, usize) {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(9) {
        if i == 8 {
            v = (v << 8) | u64::from(byte);
            return (u32::try_from(v).unwrap_or(u32::MAX), 9);
        }
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return (u32::try_from(v).unwrap_or(u32::MAX), i + 1);
        }
    }
    (u32::try_from(v).unwrap_or(u32::MAX), b.len())
}

/// One word of the search as the tokenizer reads it, when it is ASCII: its tokens (runs of
/// letters and digits), lower case. FTS5 matches a word of several tokens as a phrase.
fn tokens(word: &str) -> Option<Vec<String>> {
    if !word.is_ascii() {
        return None;
    }
    let tokens: Vec<String> = word
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    (!tokens.is_empty()).then_some(tokens)
}

impl TermIndex {
    /// The postings of a token: of the term, or with `prefix` of every term it starts.
    fn lists<'a>(&'a self, token: &'a str, prefix: bool) -> impl Iterator<Item = &'a [Posting]> {
        let exact = (!prefix).then(|| self.terms.get(token)).flatten();
        let expanded = prefix.then(|| {
            self.terms
                .range::<str, _>((std::ops::Bound::Included(token), std::ops::Bound::Unbounded))
                .take_while(move |(k, _)| k.starts_with(token))
                .map(|(_, list)| list.as_slice())
        });
        exact
            .map(Vec::as_slice)
            .into_iter()
            .chain(expanded.into_iter().flatten())
    }

    fn positions(&self, p: &Posting) -> &[u32] {
        let start = p.start as usize;
        &self.offsets[start..start + p.count as usize]
    }

    /// How often a word (its tokens; the last one a prefix with `prefix`) occurs in each rule
    /// and column, as `(doc, col, instances)`: a one-token word as often as its term (terms)
    /// occur; a phrase at each position of its first token followed by the others at the
    /// next positions of the same column, as FTS5 matches `"a b"`.
    fn occurrences(&self, tokens: &[String], prefix: bool) -> Vec<(u32, u8, u32)> {
        let last = tokens.len() - 1;
        if last == 0 {
            return self
                .lists(&tokens[0], prefix)
                .flatten()
                .map(|p| (p.doc, p.col, p.count))
                .collect();
        }
        // The positions of each later token, by rule and column, where the first token is.
        let first: HashSet<(u32, u8)> = self
            .lists(&tokens[0], false)
            .flatten()
            .map(|p| (p.doc, p.col))
            .collect();
        let mut later: Vec<HashMap<(u32, u8), Vec<u32>>> = Vec::with_capacity(last);
        for (j, t) in tokens.iter().enumerate().skip(1) {
            let mut at: HashMap<(u32, u8), Vec<u32>> = HashMap::new();
            for p in self.lists(t, prefix && j == last).flatten() {
                if first.contains(&(p.doc, p.col)) {
                    at.entry((p.doc, p.col))
                        .or_default()
                        .extend_from_slice(self.positions(p));
                }
            }
            if at.is_empty() {
                return Vec::new();
            }
            at.values_mut().for_each(|v| v.sort_unstable());
            later.push(at);
        }
        let mut out = Vec::new();
        for p in self.lists(&tokens[0], false).flatten() {
            let Some(next) = later
                .iter()
                .map(|at| at.get(&(p.doc, p.col)))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let n = self
                .positions(p)
                .iter()
                .filter(|&&pos| {
                    next.iter()
                        .zip(1u32..)
                        .all(|(at, j)| at.binary_search(&(pos + j)).is_ok())
                })
                .count();
            if n > 0 {
                out.push((p.doc, p.col, n as u32));
            }
        }
        out
    }
}

/// Whether [`search`] ranks `text` (every word ASCII) rather than leaving it to SQL.
pub(crate) fn covers(text: &str) -> bool {
    query::words(text).iter().all(|w| tokens(w).is_some())
}

/// The rule ids of a page of results, best first, as the SQL ranking orders them; `None` when
/// a word is not ASCII (the caller ranks with SQL).
pub(crate) fn search(
    index: &TermIndex,
    conn: &Connection,
    text: &str,
    filters: &Filters,
    limit: usize,
    offset: usize,
) -> Result<Option<Vec<i64>>> {
    let words = query::words(text);
    let Some(last) = words.last() else {
        return Ok(Some(Vec::new()));
    };
    let Some(words_tokens) = words.iter().map(|w| tokens(w)).collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let prefix = query::is_prefix(last);
    let n = index.docs.len();
    let rows = n as f64;
    // Per phrase (word): each rule's occurrences weighted by column, and its IDF.
    let mut phrases: Vec<(Vec<f64>, f64)> = Vec::with_capacity(words_tokens.len());
    for (i, t) in words_tokens.iter().enumerate() {
        let mut freq = vec![0.0f64; n];
        let mut hit = vec![false; n];
        for (doc, col, count) in index.occurrences(t, prefix && i + 1 == words_tokens.len()) {
            freq[doc as usize] += BM25_WEIGHTS[usize::from(col)] * f64::from(count);
            hit[doc as usize] = true;
        }
        let hits = hit.iter().filter(|h| **h).count() as f64;
        let mut idf = ((rows - hits + 0.5) / (hits + 0.5)).ln();
        if idf <= 0.0 {
            idf = 1e-6;
        }
        // A rule matches a phrase when it holds it at least once: every weight is positive.
        phrases.push((freq, idf));
    }
    let title: HashSet<i64> = match query::title_phrase(text) {
        Some(q) => {
            let mut stmt =
                conn.prepare_cached("SELECT rowid FROM rules_fts WHERE rules_fts MATCH ?1")?;
            stmt.query_map([q], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        }
        None => HashSet::new(),
    };
    let mut found: Vec<(bool, bool, f64, usize)> = Vec::new();
    for (i, d) in index.docs.iter().enumerate() {
        if !phrases.iter().all(|(freq, _)| freq[i] > 0.0) || !keeps(filters, d) {
            continue;
        }
        let norm = K1 * (1.0 - B + B * f64::from(d.size) / index.avgdl);
        let mut score = 0.0;
        for (freq, idf) in &phrases {
            score += idf * ((freq[i] * (K1 + 1.0)) / (freq[i] + norm));
        }
        found.push((d.retired, !title.contains(&d.id), -score, i));
    }
    found.sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then(a.2.total_cmp(&b.2))
            .then_with(|| index.docs[a.3].key.cmp(&index.docs[b.3].key))
    });
    Ok(Some(
        found
            .iter()
            .skip(offset)
            .take(limit)
            .map(|f| index.docs[f.3].id)
            .collect(),
    ))
}

/// The filters of the SQL ranking: source as written, language and level ignoring ASCII case
/// (`COLLATE NOCASE`), retired rules only when asked.
fn keeps(f: &Filters, d: &Doc) -> bool {
    (f.source.is_empty() || *d.source == *f.source)
        && (f.language.is_empty() || d.language.eq_ignore_ascii_case(&f.language))
        && (f.level.is_empty()
            || d.level
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(&f.level)))
        && (f.retired || !d.retired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_tokens() {
        assert_eq!(varint(&[0x05]), (5, 1));
        assert_eq!(varint(&[0x81, 0x1F]), (0x9F, 2));
        assert_eq!(column_sizes(&[0x05, 0x81, 0x1F, 0x1A]), 5 + 0x9F + 0x1A);
        assert_eq!(tokens("-enc"), Some(vec!["enc".to_string()]));
        assert_eq!(tokens("PowerShell"), Some(vec!["powershell".to_string()]));
        assert_eq!(
            tokens("T1059.001"),
            Some(vec!["t1059".to_string(), "001".to_string()])
        );
        assert_eq!(tokens("café"), None);
    }
}
