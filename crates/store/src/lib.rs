//! The rule store: an SQLite file (or memory) that remembers every rule the catalog held, when
//! it first appeared, when its text last changed and when it left the catalog; a full-text
//! index (FTS5) over what a reader searches for; and the feed of new and changed rules.
//!
//! [`Store::record`] brings the store up to date with a catalog in one transaction and says
//! what changed. [`Store::search`] ranks rules for a user's words (never an SQL or FTS syntax
//! error, whatever the words). [`Store::feed`] lists rules newest change first.
//!
//! A server reads through [`Reader`]s: read-only connections to the same database (file or
//! shared memory), each query under a time [`Budget`] that SQLite's progress handler enforces.

mod date;
mod query;
mod rank;

pub use date::{normalise_date, timestamp};

use catalog::Catalog;
use ir::Rule;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// The schema version this code writes (SQLite `user_version`).
const SCHEMA_VERSION: i64 = 2;

/// From version 1: each rule's retirement (`ir::Retired`), filled by the next recording.
const MIGRATE_1_TO_2: &str = "ALTER TABLE rules ADD COLUMN retired TEXT;";

const SCHEMA: &str = "
CREATE TABLE rules (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    level TEXT,
    status TEXT,
    tags TEXT NOT NULL,
    attack TEXT NOT NULL,
    rule_date TEXT,
    rule_modified TEXT,
    hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    removed_at TEXT,
    change_date TEXT,
    change_kind TEXT NOT NULL,
    retired TEXT
);
CREATE INDEX rules_feed ON rules (change_date DESC, key);
CREATE TABLE recordings (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    rules INTEGER NOT NULL,
    new INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    removed INTEGER NOT NULL
);
CREATE VIRTUAL TABLE rules_fts USING fts5(
    title, description, tags, indicators, text,
    tokenize = 'unicode61 remove_diacritics 2'
);
";

/// Weights of the FTS columns for bm25, in the order of [`SCHEMA`]: the title counts most.
const BM25_WEIGHTS: [f64; 5] = [10.0, 4.0, 4.0, 2.0, 1.0];

/// FTS5's bm25 of a row with [`BM25_WEIGHTS`], as SQL.
fn bm25_sql() -> String {
    let w: Vec<String> = BM25_WEIGHTS.iter().map(|w| format!("{w:?}")).collect();
    format!("bm25(rules_fts, {})", w.join(", "))
}

/// Markers around the matched words of a snippet; control characters, removed from indexed text.
const MARK_START: char = '\u{2}';
const MARK_END: char = '\u{3}';

/// What went wrong: the database, or a query that asks more than a search gives.
#[derive(Debug)]
pub enum Error {
    /// The database failed; the message says how (and names the file when it is one).
    Db(String),
    /// The query ran past its time budget, or its caller stopped waiting.
    Interrupted,
    /// The user's words are more than one search takes (the message says the limit).
    TooLong(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Db(m) | Error::TooLong(m) => f.write_str(m),
            Error::Interrupted => f.write_str("query too slow: stopped at its time budget"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
            return Error::Interrupted;
        }
        Error::Db(format!("rule store: {e}"))
    }
}

/// An error of the store in `file`, with what to do about it: a store that cannot be written
/// or is not a database is best rebuilt from the rules (it holds nothing else but history).
fn file_error(path: &Path, e: &rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    let advice = match e.sqlite_error_code() {
        Some(C::ReadOnly | C::CannotOpen | C::PermissionDenied) => {
            " (the store must be a writable file in a writable folder: fix its permissions, or pass another --store FILE)"
        }
        Some(C::NotADatabase | C::DatabaseCorrupt) => {
            " (the file is not a detdex store or is damaged: move it away and run again to rebuild it from the rules; only the feed's history is lost)"
        }
        _ => "",
    };
    Error::Db(format!("rule store {}: {e}{advice}", path.display()))
}

pub type Result<T> = std::result::Result<T, Error>;

/// What one [`Store::record`] found, as sorted rule keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub new: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// Restrictions on search results and feed entries; empty fields restrict nothing.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub source: String,
    pub language: String,
    /// Compared ignoring ASCII case.
    pub level: String,
    /// Include retired rules (deprecated, unsupported, placeholders: `Meta::retired`), which
    /// are left out otherwise; in search they rank after every live rule.
    pub retired: bool,
}

/// Why a rule is in the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    New,
    Changed,
    Removed,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::Changed => "changed",
            Kind::Removed => "removed",
        }
    }

    fn parse(s: &str) -> Kind {
        match s {
            "changed" => Kind::Changed,
            "removed" => Kind::Removed,
            _ => Kind::New,
        }
    }
}

/// One entry of the feed.
#[derive(Debug, Clone, Serialize)]
pub struct FeedEntry {
    pub key: String,
    pub title: String,
    pub source: String,
    pub language: String,
    pub level: Option<String>,
    pub kind: Kind,
    /// `YYYY-MM-DD` (the rule's own date) or `YYYY-MM-DDTHH:MM:SSZ` (when the store saw it);
    /// `None` for a rule of the first recording that states no date (such rules come last).
    pub date: Option<String>,
    /// When the store first recorded the rule (`YYYY-MM-DDTHH:MM:SSZ`).
    pub first_seen: String,
    /// Why the rule is retired (`deprecated`, `unsupported`, `placeholder`), if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<String>,
}

/// A piece of a snippet: matched words or the text around them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fragment {
    pub text: String,
    #[serde(rename = "match")]
    pub matched: bool,
}

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub key: String,
    pub title: String,
    pub source: String,
    pub language: String,
    pub level: Option<String>,
    /// Why the rule is retired (`deprecated`, `unsupported`, `placeholder`), if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<String>,
    /// A short passage of the best-matching column with the matched words marked.
    pub snippet: Vec<Fragment>,
}

/// Where a store's database is, so that [`Reader`]s open the same one.
#[derive(Debug, Clone)]
enum Location {
    File(PathBuf),
    /// A database of SQLite's `memdb` VFS, shared by every connection of the process that opens
    /// this name while one is open.
    Memory(String),
}

/// The rule store over its writing SQLite connection.
pub struct Store {
    conn: Connection,
    location: Location,
    /// The term index its readers share, once one of them has read it.
    terms: TermSlot,
}

/// A [`rank::TermIndex`] shared by the readers of one store.
type TermSlot = Arc<RwLock<Option<Arc<rank::TermIndex>>>>;

impl Store {
    /// Open (or create) the store in a file, creating or upgrading its schema.
    pub fn open(path: &Path) -> Result<Store> {
        // The default rollback journal, which writes a first recording's pages once (a WAL
        // would write them twice); readers only read after the recording.
        let conn = Connection::open(path).map_err(|e| file_error(path, &e))?;
        Store::init(conn, Location::File(path.to_path_buf()))
    }

    /// A store that lives as long as the value (and its readers).
    pub fn in_memory() -> Result<Store> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "/detdex-store-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let conn = Connection::open_with_flags_and_vfs(
            &name,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            c"memdb",
        )?;
        Store::init(conn, Location::Memory(name))
    }

    /// A read-only connection to this store's database, for a pool of readers beside it.
    pub fn reader(&self) -> Result<Reader> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match &self.location {
            Location::File(p) => {
                Connection::open_with_flags(p, flags).map_err(|e| file_error(p, &e))?
            }
            Location::Memory(name) => Connection::open_with_flags_and_vfs(name, flags, c"memdb")?,
        };
        Reader::new(conn, Arc::clone(&self.terms))
    }

    fn init(conn: Connection, location: Location) -> Result<Store> {
        let store = Store {
            conn,
            location,
            terms: TermSlot::default(),
        };
        match store.create_schema() {
            Ok(SCHEMA_VERSION) => Ok(store),
            Ok(v) => Err(Error::Db(format!(
                "{}: schema version {v} is newer than this detdex knows ({SCHEMA_VERSION})",
                store.name()
            ))),
            Err(e) => Err(store.error(&e)),
        }
    }

    /// Create the schema in a new database; the version found (or made).
    fn create_schema(&self) -> rusqlite::Result<i64> {
        let conn = &self.conn;
        // A 64 MiB page cache: a whole recording's index pages stay in memory.
        conn.pragma_update(None, "cache_size", -65_536)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version == 1 {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(MIGRATE_1_TO_2)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
            return Ok(SCHEMA_VERSION);
        }
        if version != 0 {
            return Ok(version);
        }
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(SCHEMA)?;
        // FTS5 buffers 64 MiB of new terms (not 1 MiB) before writing a segment, so a first
        // recording writes a few large segments instead of merging many small ones.
        tx.execute(
            "INSERT INTO rules_fts (rules_fts, rank) VALUES ('hashsize', 67108864)",
            [],
        )?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(SCHEMA_VERSION)
    }

    /// `rule store FILE` or `rule store (in memory)`.
    fn name(&self) -> String {
        match &self.location {
            Location::File(p) => format!("rule store {}", p.display()),
            Location::Memory(_) => "rule store (in memory)".to_string(),
        }
    }

    /// A database error of this store, naming its file and what to do.
    fn error(&self, e: &rusqlite::Error) -> Error {
        match &self.location {
            Location::File(p) => file_error(p, e),
            Location::Memory(_) => Error::Db(format!("{}: {e}", self.name())),
        }
    }

    /// Bring the store up to date with `catalog` at time `now`: new keys get `first_seen`, a
    /// rule whose text changed gets `last_changed`, rules gone from the catalog are marked
    /// removed (and kept). A removed rule that comes back counts as new. One transaction.
    pub fn record(&mut self, catalog: &Catalog, now: SystemTime) -> Result<Changes> {
        self.record_tx(catalog, now).map_err(|e| self.error(&e))
    }

    fn record_tx(&mut self, catalog: &Catalog, now: SystemTime) -> rusqlite::Result<Changes> {
        let now = timestamp(now);
        let tx = self.conn.transaction()?;
        let first = tx
            .query_row("SELECT min(at) FROM recordings", [], |r| {
                r.get::<_, Option<String>>(0)
            })?
            .is_none();
        // What the store knows: key → (id, hash, first_seen, removed, retired).
        let mut known: HashMap<String, (i64, String, String, bool, Option<String>)> =
            HashMap::new();
        {
            let mut stmt = tx.prepare(
                "SELECT id, key, hash, first_seen, removed_at IS NOT NULL, retired FROM rules",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    (r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
                ))
            })?;
            for row in rows {
                let (key, v) = row?;
                known.insert(key, v);
            }
        }
        let mut changes = Changes::default();
        let mut present = HashSet::new();
        {
            let mut insert = tx.prepare(
                "INSERT INTO rules (key, source, format, language, title, description, level,
                    status, tags, attack, rule_date, rule_modified, hash, first_seen,
                    last_changed, removed_at, change_date, change_kind, retired)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14,
                    NULL, ?15, ?16, ?17)",
            )?;
            let mut update = tx.prepare(
                "UPDATE rules SET source = ?2, format = ?3, language = ?4, title = ?5,
                    description = ?6, level = ?7, status = ?8, tags = ?9, attack = ?10,
                    rule_date = ?11, rule_modified = ?12, hash = ?13, first_seen = ?14,
                    last_changed = ?15, removed_at = NULL, change_date = ?15, change_kind = ?16,
                    retired = ?17
                 WHERE id = ?1",
            )?;
            // A rule whose text did not change may still be retired or restored (its folder,
            // or a store of schema version 1 that did not know).
            let mut set_retired = tx.prepare("UPDATE rules SET retired = ?2 WHERE id = ?1")?;
            let mut fts_delete = tx.prepare("DELETE FROM rules_fts WHERE rowid = ?1")?;
            let mut fts_insert = tx.prepare(
                "INSERT INTO rules_fts (rowid, title, description, tags, indicators, text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for rule in &catalog.rules {
                if !present.insert(rule.key.as_str()) {
                    continue; // keys are unique in a catalog; a repeat would be the same rule
                }
                let hash = content_hash(&rule.text);
                let row = Row::new(rule);
                let retired = rule.meta.retired.map(ir::Retired::as_str);
                let id = match known.get(&rule.key) {
                    Some((id, old, _, false, was)) if *old == hash => {
                        if was.as_deref() != retired {
                            set_retired.execute(params![id, retired])?;
                        }
                        continue;
                    }
                    Some((id, _, first_seen, removed, _)) => {
                        // Changed text, or a removed rule come back (then it is new again).
                        let (first_seen, kind) = if *removed {
                            changes.new.push(rule.key.clone());
                            (now.as_str(), Kind::New)
                        } else {
                            changes.changed.push(rule.key.clone());
                            (first_seen.as_str(), Kind::Changed)
                        };
                        update.execute(params![
                            id,
                            rule.source,
                            format_name(rule.format),
                            rule.language,
                            rule.meta.title,
                            rule.meta.description,
                            rule.meta.level,
                            rule.meta.status,
                            row.tags,
                            row.attack,
                            row.date,
                            row.modified,
                            hash,
                            first_seen,
                            now,
                            kind.as_str(),
                            retired,
                        ])?;
                        fts_delete.execute([id])?;
                        *id
                    }
                    None => {
                        // A rule of the first recording is dated by its own history; any
                        // later newcomer by the recording that found it.
                        let (date, kind) = if first {
                            row.own_change()
                        } else {
                            (Some(now.clone()), Kind::New)
                        };
                        changes.new.push(rule.key.clone());
                        insert.execute(params![
                            rule.key,
                            rule.source,
                            format_name(rule.format),
                            rule.language,
                            rule.meta.title,
                            rule.meta.description,
                            rule.meta.level,
                            rule.meta.status,
                            row.tags,
                            row.attack,
                            row.date,
                            row.modified,
                            hash,
                            now,
                            date,
                            kind.as_str(),
                            retired,
                        ])?;
                        tx.last_insert_rowid()
                    }
                };
                fts_insert.execute(params![
                    id,
                    clean(&rule.meta.title),
                    clean(&rule.meta.description),
                    clean(&row.search_tags(rule)),
                    clean(&indicator_text(rule)),
                    clean(&rule.text),
                ])?;
            }
            let mut remove = tx.prepare(
                "UPDATE rules SET removed_at = ?2, change_date = ?2, change_kind = 'removed'
                 WHERE id = ?1",
            )?;
            for (key, (id, _, _, removed, _)) in &known {
                if !removed && !present.contains(key.as_str()) {
                    remove.execute(params![id, now])?;
                    fts_delete.execute([id])?;
                    changes.removed.push(key.clone());
                }
            }
        }
        changes.new.sort();
        changes.changed.sort();
        changes.removed.sort();
        tx.execute(
            "INSERT INTO recordings (at, rules, new, changed, removed) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now,
                limit_param(present.len()),
                limit_param(changes.new.len()),
                limit_param(changes.changed.len()),
                limit_param(changes.removed.len())
            ],
        )?;
        tx.commit()?;
        Ok(changes)
    }

    /// The rules (not removed) matching every word of `text`, best first, at most `limit`:
    /// rules whose title holds the words as a phrase first, then by bm25 (title weighted most);
    /// retired rules only when `filters` asks for them, after every live rule.
    /// Each word is searched as written, the last one also as a prefix; an empty text, or one
    /// without a searchable word, finds nothing.
    pub fn search(&self, text: &str, filters: &Filters, limit: usize) -> Result<Vec<Hit>> {
        search(&self.conn, None, text, filters, limit, 0)
    }

    /// Feed entries, newest change first (ties by key), skipping `offset` entries; retired
    /// rules only when `filters` asks for them.
    pub fn feed(&self, filters: &Filters, limit: usize, offset: usize) -> Result<Vec<FeedEntry>> {
        feed(&self.conn, filters, limit, offset)
    }

    /// When the store last recorded a catalog (`YYYY-MM-DDTHH:MM:SSZ`), if ever.
    pub fn last_recorded(&self) -> Result<Option<String>> {
        last_recorded(&self.conn)
    }
}

/// The rules (not removed) matching every word of `text`, best first, `limit` of them after
/// skipping `offset`: live rules before retired ones (included only when `filters` asks), then
/// rules whose title holds the words as a phrase first, then by bm25 (title weighted most). Each word is searched as written, the last one also as a prefix; an empty
/// text, or one without a searchable word, finds nothing; a text longer than
/// [`query::MAX_WORDS`] words or [`query::MAX_BYTES`] bytes is [`Error::TooLong`].
/// With a current `index` the ranking is computed in memory ([`rank`]), else by SQL; both
/// give the same hits.
fn search(
    conn: &Connection,
    index: Option<&rank::TermIndex>,
    text: &str,
    filters: &Filters,
    limit: usize,
    offset: usize,
) -> Result<Vec<Hit>> {
    query::check(text).map_err(Error::TooLong)?;
    let Some(fts) = query::fts_query(text) else {
        return Ok(Vec::new());
    };
    let ranked = match index {
        Some(index) if index.current(conn)? => {
            rank::search(index, conn, text, filters, limit, offset)?
        }
        _ => None,
    };
    let mut hits = match ranked {
        Some(ids) => rows_of(conn, &ids)?,
        None => ranked_by_sql(conn, &fts, text, filters, limit, offset)?,
    };
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    // One more pass of the same match computes the snippets of the kept rows (ids are
    // integers from the database, so the list is safe to write into the statement). `+rowid`
    // keeps the list out of FTS5's plan: given `rowid IN (…)`, FTS5 would start the match
    // again for each id (for a prefix, merging every term it expands to each time: 3.6 ms for
    // the 21 rows of `powershell`, against 0.4 ms for one pass over its 1,198 matches).
    let ids: Vec<String> = hits.iter().map(|(id, _)| id.to_string()).collect();
    let mut snippets = conn.prepare(&format!(
        "SELECT rowid, snippet(rules_fts, -1, ?2, ?3, '…', 16) FROM rules_fts
         WHERE rules_fts MATCH ?1 AND +rowid IN ({})",
        ids.join(",")
    ))?;
    let mut by_id: HashMap<i64, String> = snippets
        .query_map(
            params![fts, MARK_START.to_string(), MARK_END.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    for (id, hit) in &mut hits {
        hit.snippet = fragments(&by_id.remove(id).unwrap_or_default());
    }
    Ok(hits.into_iter().map(|(_, h)| h).collect())
}

/// The columns of a hit, after its id.
const HIT_COLUMNS: &str = "r.id, r.key, r.title, r.source, r.language, r.level, r.retired";

fn hit_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Hit)> {
    Ok((
        r.get(0)?,
        Hit {
            key: r.get(1)?,
            title: r.get(2)?,
            source: r.get(3)?,
            language: r.get(4)?,
            level: r.get(5)?,
            retired: r.get(6)?,
            snippet: Vec::new(),
        },
    ))
}

/// The hits of rules `ids`, in that order.
fn rows_of(conn: &Connection, ids: &[i64]) -> Result<Vec<(i64, Hit)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut stmt = conn.prepare(&format!(
        "SELECT {HIT_COLUMNS} FROM rules r WHERE r.id IN ({})",
        list.join(",")
    ))?;
    let mut by_id: HashMap<i64, Hit> = stmt
        .query_map([], hit_of)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id).map(|h| (*id, h)))
        .collect())
}

/// The ranking of [`search`] in SQL: FTS5's `bm25()` of every match.
fn ranked_by_sql(
    conn: &Connection,
    fts: &str,
    text: &str,
    filters: &Filters,
    limit: usize,
    offset: usize,
) -> Result<Vec<(i64, Hit)>> {
    let Some(title) = query::title_phrase(text) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT {HIT_COLUMNS}
         FROM rules_fts JOIN rules r ON r.id = rules_fts.rowid
         WHERE rules_fts MATCH ?1
           AND (?2 = '' OR r.source = ?2)
           AND (?3 = '' OR r.language = ?3 COLLATE NOCASE)
           AND (?4 = '' OR r.level = ?4 COLLATE NOCASE)
           AND (?8 OR r.retired IS NULL)
         ORDER BY r.retired IS NOT NULL,
                  r.id NOT IN (SELECT rowid FROM rules_fts WHERE rules_fts MATCH ?6),
                  {}, r.key
         LIMIT ?5 OFFSET ?7",
        bm25_sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            fts,
            filters.source,
            filters.language,
            filters.level,
            limit_param(limit),
            title,
            limit_param(offset),
            filters.retired,
        ],
        hit_of,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn feed(
    conn: &Connection,
    filters: &Filters,
    limit: usize,
    offset: usize,
) -> Result<Vec<FeedEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, title, source, language, level, change_kind, change_date, first_seen,
                retired
         FROM rules
         WHERE (?1 = '' OR source = ?1)
           AND (?2 = '' OR language = ?2 COLLATE NOCASE)
           AND (?3 = '' OR level = ?3 COLLATE NOCASE)
           AND (?6 OR retired IS NULL)
         ORDER BY change_date DESC, key
         LIMIT ?4 OFFSET ?5",
    )?;
    let rows = stmt.query_map(
        params![
            filters.source,
            filters.language,
            filters.level,
            limit_param(limit),
            limit_param(offset),
            filters.retired,
        ],
        |r| {
            Ok(FeedEntry {
                key: r.get(0)?,
                title: r.get(1)?,
                source: r.get(2)?,
                language: r.get(3)?,
                level: r.get(4)?,
                kind: Kind::parse(&r.get::<_, String>(5)?),
                date: r.get(6)?,
                first_seen: r.get(7)?,
                retired: r.get(8)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn last_recorded(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT max(at) FROM recordings", [], |r| r.get(0))
        .optional()?
        .flatten())
}

/// How long one query may run, and a flag its caller raises when it stops waiting for it.
#[derive(Debug, Clone)]
pub struct Budget {
    until: Instant,
    cancelled: Arc<AtomicBool>,
}

impl Budget {
    /// A budget of `time` from now.
    pub fn new(time: Duration) -> Budget {
        Budget {
            until: Instant::now() + time,
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Stop the query at its next check (the caller no longer wants its answer).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    fn spent(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || Instant::now() >= self.until
    }
}

/// SQLite virtual machine instructions between two checks of the budget (a few microseconds).
const CHECK_EVERY: i32 = 1_000;

/// A read-only connection to a store, each query under a [`Budget`]: SQLite's progress handler
/// interrupts a statement once the budget is spent or cancelled.
pub struct Reader {
    conn: Connection,
    /// The budget of the query running now, read by the progress handler.
    current: Arc<Mutex<Option<Budget>>>,
    /// The term index of the store's readers, once read.
    terms: TermSlot,
}

impl Reader {
    fn new(mut conn: Connection, terms: TermSlot) -> Result<Reader> {
        conn.pragma_update(None, "cache_size", -16_384)?;
        let current: Arc<Mutex<Option<Budget>>> = Arc::default();
        let seen = Arc::clone(&current);
        conn.progress_handler(
            CHECK_EVERY,
            Some(move || {
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                    .is_some_and(Budget::spent)
            }),
        )?;
        Ok(Reader {
            conn,
            current,
            terms,
        })
    }

    /// Run `f` on the connection under `budget`.
    fn with<T>(&self, budget: &Budget, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if budget.spent() {
            return Err(Error::Interrupted);
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(budget.clone());
        let out = f(&self.conn);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        out
    }

    /// [`Store::search`] with an offset, under a budget.
    pub fn search(
        &self,
        text: &str,
        filters: &Filters,
        limit: usize,
        offset: usize,
        budget: &Budget,
    ) -> Result<Vec<Hit>> {
        let index = self.terms.read().unwrap_or_else(|e| e.into_inner()).clone();
        self.with(budget, |c| {
            search(c, index.as_deref(), text, filters, limit, offset)
        })
    }

    /// Read the store's full-text index into memory for every reader of the store, so their
    /// searches rank in memory (the same hits, a fraction of the time; see [`rank`]). Takes
    /// about a second for 8,656 rules; a later recording makes the index stale (searches then
    /// rank by SQL until it is read again). No budget: it runs once, beside the searches.
    pub fn read_term_index(&self) -> Result<()> {
        let index = rank::TermIndex::read(&self.conn)?;
        *self.terms.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(index));
        Ok(())
    }

    /// Whether a search for `text` ranks in memory: [`Reader::ranks_in_memory`] and every word
    /// of `text` is ASCII (others rank by SQL).
    pub fn ranks_in_memory_for(&self, text: &str) -> Result<bool> {
        Ok(self.ranks_in_memory()? && rank::covers(text))
    }

    /// Whether searches rank in memory: the term index is read and holds the last recording.
    pub fn ranks_in_memory(&self) -> Result<bool> {
        let index = self.terms.read().unwrap_or_else(|e| e.into_inner()).clone();
        match index {
            Some(i) => i.current(&self.conn),
            None => Ok(false),
        }
    }

    /// [`Store::feed`] under a budget.
    pub fn feed(
        &self,
        filters: &Filters,
        limit: usize,
        offset: usize,
        budget: &Budget,
    ) -> Result<Vec<FeedEntry>> {
        self.with(budget, |c| feed(c, filters, limit, offset))
    }

    /// [`Store::last_recorded`] under a budget.
    pub fn last_recorded(&self, budget: &Budget) -> Result<Option<String>> {
        self.with(budget, last_recorded)
    }
}

/// SQLite integers are signed 64-bit; larger counts (and limits: "all") saturate.
fn limit_param(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn format_name(f: ir::Format) -> &'static str {
    match f {
        ir::Format::Sigma => "sigma",
        ir::Format::Splunk => "splunk",
        ir::Format::Kql => "kql",
        ir::Format::Elastic => "elastic",
    }
}

/// The columns derived from a rule's metadata.
struct Row {
    tags: String,
    attack: String,
    date: Option<String>,
    modified: Option<String>,
}

impl Row {
    fn new(rule: &Rule) -> Row {
        Row {
            tags: rule.meta.tags.join(" "),
            attack: rule.attack.join(" "),
            date: rule.meta.date.as_deref().and_then(normalise_date),
            modified: rule.meta.modified.as_deref().and_then(normalise_date),
        }
    }

    /// The rule's change by its own history: modified (if later than its date), else its date;
    /// a rule that states neither has no date (not "new today": it may be years old).
    fn own_change(&self) -> (Option<String>, Kind) {
        match (&self.date, &self.modified) {
            (Some(d), Some(m)) if m > d => (Some(m.clone()), Kind::Changed),
            (None, Some(m)) => (Some(m.clone()), Kind::Changed),
            (d, _) => (d.clone(), Kind::New),
        }
    }

    /// Tags and technique ids, plus each `attack.t1059.001` tag's id alone so `T1059` finds it.
    fn search_tags(&self, rule: &Rule) -> String {
        let mut s = format!("{} {}", self.tags, self.attack);
        for t in &rule.attack {
            if let Some((base, _)) = t.split_once('.') {
                s.push(' ');
                s.push_str(base);
            }
        }
        s
    }
}

/// The indicator fields and values of a rule, one row a line.
fn indicator_text(rule: &Rule) -> String {
    let mut s = String::new();
    for row in ir::indicators(&rule.logic) {
        if let Some(f) = &row.field {
            s.push_str(f);
        }
        for v in &row.values {
            s.push(' ');
            s.push_str(&v.written);
        }
        s.push('\n');
    }
    s
}

/// Text as indexed: without the snippet markers.
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([MARK_START, MARK_END]) {
        s.replace([MARK_START, MARK_END], " ").into()
    } else {
        s.into()
    }
}

/// Split a marked snippet into fragments.
fn fragments(s: &str) -> Vec<Fragment> {
    let mut out = Vec::new();
    let mut matched = false;
    for piece in s.split([MARK_START, MARK_END]) {
        if !piece.is_empty() {
            out.push(Fragment {
                text: piece.to_string(),
                matched,
            });
        }
        matched = !matched;
    }
    out
}

/// A stable 64-bit FNV-1a hash of a rule's text, in hex (the same in every build and release,
/// unlike `std`'s hasher).
fn content_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_alternate() {
        let f = fragments("a \u{2}wsman\u{3} b \u{2}x\u{3}");
        let texts: Vec<(&str, bool)> = f.iter().map(|f| (f.text.as_str(), f.matched)).collect();
        assert_eq!(
            texts,
            [("a ", false), ("wsman", true), (" b ", false), ("x", true)]
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let store = Store::in_memory().unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        store.conn.pragma_update(None, "user_version", 99).unwrap();
        let err = Store::init(store.conn, store.location)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    #[test]
    fn hash_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(content_hash(""), "cbf29ce484222325");
        assert_eq!(content_hash("a"), "af63dc4c8601ec8c");
        assert_eq!(content_hash("foobar"), "85944171f73967e8");
    }

    #[test]
    fn own_history_dates() {
        let row = |d: Option<&str>, m: Option<&str>| Row {
            tags: String::new(),
            attack: String::new(),
            date: d.map(str::to_string),
            modified: m.map(str::to_string),
        };
        assert_eq!(
            row(Some("2020-01-02"), Some("2021-03-04")).own_change(),
            (Some("2021-03-04".to_string()), Kind::Changed)
        );
        assert_eq!(
            row(Some("2020-01-02"), Some("2020-01-02")).own_change(),
            (Some("2020-01-02".to_string()), Kind::New)
        );
        assert_eq!(row(None, None).own_change(), (None, Kind::New));
    }
}
