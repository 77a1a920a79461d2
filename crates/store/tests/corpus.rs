//! The store over real rules: SigmaHQ's corpus recorded into SQLite, searched, and its feed.

use catalog::{Catalog, Source};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::{Filters, Kind, Store};

const WSMAN_KEY: &str = "sigma/rules/windows/image_load/image_load_wsman_provider_image_load.yml";

fn corpora() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    assert!(p.is_dir(), "test corpora missing at {}", p.display());
    p
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// The SigmaHQ corpus and a store that recorded it once (at 2026-11-18T11:06:40Z).
fn sigma() -> &'static (Catalog, Mutex<Store>) {
    static CELL: OnceLock<(Catalog, Mutex<Store>)> = OnceLock::new();
    CELL.get_or_init(|| {
        let cat = Catalog::load(&[Source {
            name: "sigma".into(),
            root: corpora().join("sigma"),
            include: Vec::new(),
        }]);
        assert!(cat.rules.len() > 3000, "{} rules", cat.rules.len());
        let mut store = Store::in_memory().expect("store");
        let changes = store.record(&cat, at(1_795_000_000)).expect("record");
        assert_eq!(changes.new.len(), cat.rules.len());
        assert!(changes.changed.is_empty() && changes.removed.is_empty());
        (cat, Mutex::new(store))
    })
}

/// Whether `text` has a word starting with `prefix` (lower case), words being runs of letters
/// and digits as FTS5's unicode61 tokenizer splits them.
fn has_word_prefix(text: &str, prefix: &str) -> bool {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.starts_with(prefix))
}

/// Every text the store indexes for a rule, computed here from the rule itself.
fn indexed_texts(r: &ir::Rule) -> Vec<String> {
    let mut texts = vec![
        r.meta.title.clone(),
        r.meta.description.clone(),
        r.meta.tags.join(" "),
        r.attack.join(" "),
        r.text.clone(),
    ];
    for row in ir::indicators(&r.logic) {
        texts.extend(row.field.clone());
        texts.extend(row.values.iter().map(|v| v.written.clone()));
    }
    texts
}

#[test]
fn wsman_hits_are_exactly_the_rules_that_say_wsman() {
    let (cat, store) = sigma();
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let hits = store
        .search("wsman", &Filters::default(), usize::MAX)
        .expect("search");
    let found: BTreeSet<&str> = hits.iter().map(|h| h.key.as_str()).collect();
    let expected: BTreeSet<&str> = cat
        .rules
        .iter()
        .filter(|r| indexed_texts(r).iter().any(|t| has_word_prefix(t, "wsman")))
        .map(|r| r.key.as_str())
        .collect();
    assert!(
        expected.len() >= 3 && expected.contains(WSMAN_KEY),
        "{expected:?}"
    );
    assert_eq!(found, expected);
    assert_eq!(found.len(), hits.len(), "each rule once");
    for h in &hits {
        assert!(
            h.snippet
                .iter()
                .any(|f| f.matched && f.text.to_lowercase().starts_with("wsman")),
            "{}: {:?}",
            h.key,
            h.snippet
        );
    }
    // Filters keep a subset.
    let high = store
        .search(
            "wsman",
            &Filters {
                level: "HIGH".into(),
                ..Filters::default()
            },
            usize::MAX,
        )
        .unwrap();
    assert!(!high.is_empty() && high.len() < hits.len());
    for h in &high {
        assert_eq!(h.level.as_deref(), Some("high"));
    }
}

#[test]
fn the_seed_rule_ranks_first_for_its_words() {
    let (_, store) = sigma();
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let hits = store
        .search("wsman provider", &Filters::default(), 10)
        .unwrap();
    assert_eq!(hits[0].key, WSMAN_KEY);
    assert_eq!(hits[0].title, "Suspicious WSMAN Provider Image Loads");
    // Case, extra spaces and a prefix of the last word find it too.
    let hits = store
        .search("  WSMAN   Provid", &Filters::default(), 10)
        .unwrap();
    assert_eq!(hits[0].key, WSMAN_KEY);
    // A technique id, with its sub-technique's rules too.
    let t1059 = store
        .search("T1059", &Filters::default(), usize::MAX)
        .unwrap();
    let t1059_001 = store
        .search("t1059.001", &Filters::default(), usize::MAX)
        .unwrap();
    assert!(t1059.len() > t1059_001.len() && !t1059_001.is_empty());
}

#[test]
fn hostile_queries_never_fail() {
    let (_, store) = sigma();
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    for q in [
        "powershell -enc",
        "\"",
        "AND (",
        "OR",
        "NOT",
        "NEAR(a b)",
        "title:wsman",
        "^wsman",
        "*",
        "\"\"\"",
        "a\u{0}b",
        "{title description}: x",
        "'; DROP TABLE rules; --",
        "+ - + -",
    ] {
        store
            .search(q, &Filters::default(), 5)
            .unwrap_or_else(|e| panic!("{q:?}: {e}"));
    }
    assert!(
        !store
            .search("powershell -enc", &Filters::default(), 5)
            .unwrap()
            .is_empty()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_text_searches_without_error(q in ".{0,40}") {
        let (_, store) = sigma();
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        prop_assert!(store.search(&q, &Filters::default(), 3).is_ok(), "{:?}", q);
    }

    #[test]
    fn any_fts_syntax_searches_without_error(
        words in proptest::collection::vec(
            prop_oneof![
                Just("AND".to_string()), Just("OR".to_string()), Just("NOT".to_string()),
                Just("(".to_string()), Just(")".to_string()), Just("\"".to_string()),
                Just("*".to_string()), Just(":".to_string()), Just("^".to_string()),
                Just("NEAR(".to_string()), Just("{".to_string()), Just("}".to_string()),
                Just("-".to_string()), Just("+".to_string()), "[a-z]{1,6}",
            ],
            0..8,
        ),
        glue in proptest::collection::vec(prop_oneof![Just(""), Just(" ")], 8),
    ) {
        let mut q = String::new();
        for (w, g) in words.iter().zip(&glue) {
            q.push_str(w);
            q.push_str(g);
        }
        let (_, store) = sigma();
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        prop_assert!(store.search(&q, &Filters::default(), 3).is_ok(), "{:?}", q);
    }
}

#[test]
fn first_recording_orders_the_feed_by_the_rules_own_dates() {
    let (cat, store) = sigma();
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let all = Filters {
        retired: true,
        ..Filters::default()
    };
    let feed = store.feed(&all, usize::MAX, 0).unwrap();
    assert_eq!(feed.len(), cat.rules.len());
    for w in feed.windows(2) {
        assert!(
            (&w[0].date, &w[1].key) >= (&w[1].date, &w[0].key),
            "{:?} before {:?}",
            w[0],
            w[1]
        );
    }
    // The newest entry is the latest date any rule states; every entry is dated by its rule.
    let own = |r: &ir::Rule| {
        r.meta
            .modified
            .iter()
            .chain(&r.meta.date)
            .filter_map(|d| store::normalise_date(d))
            .max()
    };
    let newest = cat.rules.iter().filter_map(own).max().unwrap();
    assert_eq!(feed[0].date.as_ref(), Some(&newest));
    for e in &feed {
        let r = cat.get(&e.key).unwrap();
        assert_eq!(e.date, own(r), "{}: undated rules have no date", e.key);
        assert_eq!(e.first_seen, "2026-11-18T11:06:40Z");
        let modified_later = r.meta.modified.as_deref().and_then(store::normalise_date)
            > r.meta.date.as_deref().and_then(store::normalise_date);
        let kind = if modified_later {
            Kind::Changed
        } else {
            Kind::New
        };
        assert_eq!(e.kind, kind, "{}", e.key);
    }
    // Paging and filters.
    let page2 = store.feed(&all, 10, 10).unwrap();
    assert_eq!(
        page2.iter().map(|e| &e.key).collect::<Vec<_>>(),
        feed[10..20].iter().map(|e| &e.key).collect::<Vec<_>>()
    );
    let none = Filters {
        source: "splunk".into(),
        ..Filters::default()
    };
    assert!(store.feed(&none, 10, 0).unwrap().is_empty());
}

/// A folder of its own under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("detdex-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_second_recording_finds_exactly_what_changed_and_the_feed_shows_it_first() {
    let tmp = TempDir::new("changes");
    let rules = tmp.0.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let from = corpora().join("sigma/rules/windows/image_load");
    let names = [
        "image_load_wsman_provider_image_load.yml",
        "image_load_clfs_load.yml",
        "image_load_dll_amsi_suspicious_process.yml",
        "image_load_cmstp_load_dll_from_susp_location.yml",
    ];
    for n in &names[..3] {
        std::fs::copy(from.join(n), rules.join(n)).unwrap();
    }
    let load = || {
        Catalog::load(&[Source {
            name: "s".into(),
            root: rules.clone(),
            include: Vec::new(),
        }])
    };
    let db = tmp.0.join("store.sqlite");
    {
        let mut store = Store::open(&db).unwrap();
        let c = store.record(&load(), at(1_000_000_000)).unwrap();
        assert_eq!(c.new.len(), 3);
        assert!(
            store
                .search("zebracorn", &Filters::default(), 5)
                .unwrap()
                .is_empty()
        );
    }
    // Change one rule's description, add one, remove one.
    let changed = rules.join(names[0]);
    let text = std::fs::read_to_string(&changed).unwrap();
    let edited = text.replacen("description: ", "description: zebracorn ", 1);
    assert_ne!(text, edited);
    std::fs::write(&changed, edited).unwrap();
    std::fs::copy(from.join(names[3]), rules.join(names[3])).unwrap();
    std::fs::remove_file(rules.join(names[1])).unwrap();

    // A reopened file store remembers the first recording.
    let mut store = Store::open(&db).unwrap();
    let cat = load();
    let c = store.record(&cat, at(2_000_000_000)).unwrap();
    let key = |n: &str| format!("s/{n}");
    assert_eq!(c.new, [key(names[3])]);
    assert_eq!(c.changed, [key(names[0])]);
    assert_eq!(c.removed, [key(names[1])]);
    assert_eq!(
        store.last_recorded().unwrap().as_deref(),
        Some("2033-05-18T03:33:20Z")
    );

    let feed = store.feed(&Filters::default(), 10, 0).unwrap();
    let top: Vec<(&str, Kind, &str)> = feed[..3]
        .iter()
        .map(|e| (e.key.as_str(), e.kind, e.date.as_deref().unwrap()))
        .collect();
    let mut expected = [
        (key(names[0]), Kind::Changed),
        (key(names[3]), Kind::New),
        (key(names[1]), Kind::Removed),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let expected: Vec<(&str, Kind, &str)> = expected
        .iter()
        .map(|(k, kind)| (k.as_str(), *kind, "2033-05-18T03:33:20Z"))
        .collect();
    assert_eq!(top, expected);
    assert_eq!(feed.len(), 4, "the removed rule stays in the feed");
    assert!(feed[3].date.as_deref().unwrap() < "2033");

    // The index follows: the new words are found, the removed rule is not.
    let hits = store.search("zebracorn", &Filters::default(), 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].key, key(names[0]));
    let removed_title = Catalog::load(&[Source {
        name: "x".into(),
        root: from.join(names[1]),
        include: Vec::new(),
    }])
    .rules[0]
        .meta
        .title
        .clone();
    let hits = store
        .search(&removed_title, &Filters::default(), 50)
        .unwrap();
    assert!(hits.iter().all(|h| h.key != key(names[1])), "{hits:?}");

    // Nothing changed: nothing to report; the removed rule comes back as new.
    assert_eq!(
        store.record(&cat, at(2_000_000_100)).unwrap(),
        store::Changes::default()
    );
    std::fs::copy(from.join(names[1]), rules.join(names[1])).unwrap();
    let c = store.record(&load(), at(2_000_000_200)).unwrap();
    assert_eq!(
        (c.new, c.changed.len(), c.removed.len()),
        (vec![key(names[1])], 0, 0)
    );
}

/// A reader's query stops at its budget (SQLite's progress handler), a cancelled one at once,
/// and the same reader answers the next query; a query of too many words is refused before it
/// runs, whatever its budget.
#[test]
fn readers_keep_to_their_budget() {
    let (_, store) = sigma();
    let reader = store.lock().unwrap().reader().expect("reader");
    let all = Filters::default();
    // A common word ranks (bm25) every rule that holds it: far more than a millisecond.
    let t = std::time::Instant::now();
    let r = reader.search(
        "the",
        &all,
        100,
        0,
        &store::Budget::new(Duration::from_millis(1)),
    );
    let spent = t.elapsed();
    assert!(matches!(r, Err(store::Error::Interrupted)), "{r:?}");
    assert!(
        spent < Duration::from_millis(200),
        "stopped after {spent:?}"
    );
    let cancelled = store::Budget::new(Duration::from_secs(10));
    cancelled.cancel();
    assert!(matches!(
        reader.search("wsman", &all, 5, 0, &cancelled),
        Err(store::Error::Interrupted)
    ));
    let enough = store::Budget::new(Duration::from_secs(30));
    let hits = reader
        .search("wsman provider", &all, 5, 0, &enough)
        .unwrap();
    assert_eq!(hits[0].key, WSMAN_KEY);
    // Pages: the second page starts where the first ended.
    let first = reader.search("powershell", &all, 10, 0, &enough).unwrap();
    let second = reader.search("powershell", &all, 10, 5, &enough).unwrap();
    assert_eq!(first[5].key, second[0].key);
    let long = "powershell ".repeat(5_000);
    let t = std::time::Instant::now();
    match reader.search(&long, &all, 5, 0, &enough) {
        Err(store::Error::TooLong(m)) => assert!(m.contains("query too long"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(t.elapsed() < Duration::from_millis(50));
}

/// A store file that is not a database, or that cannot be written, is named with what to do.
#[test]
fn bad_store_files_say_what_to_do() {
    let dir = std::env::temp_dir().join(format!("detdex-store-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.sqlite");
    std::fs::write(&junk, vec![b'x'; 8192]).unwrap();
    let e = Store::open(&junk)
        .err()
        .expect("not a database")
        .to_string();
    assert!(e.contains(&junk.display().to_string()), "{e}");
    assert!(e.contains("rebuild"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Retired rules (deprecated, unsupported, placeholders: `Meta::retired`) are left out of
/// search and the feed unless asked for; asked for, they come after every live rule.
#[test]
fn retired_rules_are_left_out_unless_asked_for_and_then_come_last() {
    let (cat, store) = sigma();
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let retired = |key: &str| {
        cat.get(key)
            .and_then(|r| r.meta.retired)
            .map(ir::Retired::as_str)
    };
    let with_retired = Filters {
        retired: true,
        ..Filters::default()
    };
    for q in ["mimikatz", "T1059.001"] {
        let live = store.search(q, &Filters::default(), usize::MAX).unwrap();
        assert!(live.len() >= 10, "{q}: {} hits", live.len());
        for h in &live {
            assert_eq!(retired(&h.key), None, "{q}: {} is retired", h.key);
            assert_eq!(h.retired, None);
        }
        let all = store.search(q, &with_retired, usize::MAX).unwrap();
        let first_retired = all
            .iter()
            .position(|h| h.retired.is_some())
            .unwrap_or_else(|| panic!("{q}: the corpus has retired rules for it"));
        // Live rules first, in the same order as without the retired ones; then the rest.
        let live_keys: Vec<&str> = live.iter().map(|h| h.key.as_str()).collect();
        let all_keys: Vec<&str> = all.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(all_keys[..first_retired], live_keys[..], "{q}");
        for h in &all[first_retired..] {
            assert_eq!(h.retired.as_deref(), retired(&h.key), "{q}: {}", h.key);
            assert!(h.retired.is_some(), "{q}: {} after a retired rule", h.key);
        }
    }
    // The feed leaves them out too, unless asked.
    let n_retired = cat
        .rules
        .iter()
        .filter(|r| r.meta.retired.is_some())
        .count();
    assert!(n_retired > 100, "{n_retired}");
    let feed = store.feed(&Filters::default(), usize::MAX, 0).unwrap();
    assert_eq!(feed.len(), cat.rules.len() - n_retired);
    assert!(feed.iter().all(|e| e.retired.is_none()));
    let feed = store.feed(&with_retired, usize::MAX, 0).unwrap();
    assert_eq!(feed.len(), cat.rules.len());
}

/// A store of schema version 1 (before rules knew they were retired) is upgraded when opened,
/// and its next recording marks the retired rules without calling them changed.
#[test]
fn a_version_1_store_learns_which_rules_are_retired() {
    let tmp = TempDir::new("v1");
    let file = tmp.0.join("store.sqlite");
    let (cat, _) = sigma();
    let when = at(1_795_000_000);
    Store::open(&file).unwrap().record(cat, when).unwrap();
    {
        // As version 1 wrote it: no `retired` column.
        let c = rusqlite::Connection::open(&file).unwrap();
        c.execute_batch("ALTER TABLE rules DROP COLUMN retired; PRAGMA user_version = 1;")
            .unwrap();
    }
    let mut store = Store::open(&file).unwrap();
    let mimikatz = |s: &Store| {
        s.search("mimikatz", &Filters::default(), usize::MAX)
            .unwrap()
            .len()
    };
    let before = mimikatz(&store);
    let changes = store.record(cat, at(1_795_100_000)).unwrap();
    assert_eq!(changes, store::Changes::default(), "nothing changed");
    let after = mimikatz(&store);
    assert!(after < before, "{after} live of {before}");
    let c = rusqlite::Connection::open(&file).unwrap();
    let version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let marked: i64 = c
        .query_row(
            "SELECT count(*) FROM rules WHERE retired IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let retired = cat
        .rules
        .iter()
        .filter(|r| r.meta.retired.is_some())
        .count();
    assert_eq!(usize::try_from(marked).ok(), Some(retired));
}

/// Searches ranked in memory from the term index give what FTS5's SQL ranking gives: the same
/// rules in the same order with the same snippets, for common and rare words, prefixes,
/// several words, filters and pages; words the in-memory ranking leaves to SQL still answer;
/// and a later recording makes the index stale (searches go back to SQL) until it is read
/// again.
#[test]
fn ranking_in_memory_is_fts5s() {
    let (cat, _) = sigma();
    let mut store = Store::in_memory().expect("store");
    store.record(cat, at(1_795_000_000)).expect("record");
    let reader = store.reader().expect("reader");
    let budget = || store::Budget::new(Duration::from_secs(60));
    let filters = [
        Filters::default(),
        Filters {
            retired: true,
            ..Filters::default()
        },
        Filters {
            level: "HIGH".into(),
            ..Filters::default()
        },
        Filters {
            source: "sigma".into(),
            language: "SIGMA".into(),
            ..Filters::default()
        },
        Filters {
            source: "nowhere".into(),
            ..Filters::default()
        },
    ];
    let queries = [
        "powershell",
        "mimikatz",
        "the",
        "process creation",
        "-enc",
        "wsman provider",
        "certutil urlcache",
        "lsass dump",
        "Cmd",
        "T1059.001",
        "net user add",
        "zzzznothing",
        // Words the tokenizer splits: FTS5 matches each as a phrase (the last token a prefix
        // when it is long enough).
        "cmd.exe",
        "cmd.exe /c",
        "powershell.exe -enc",
        "t1059.00",
        "T1059",
        "rundll32.exe",
        "C:\\Windows\\Temp\\",
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
        "lsass.exe dump",
        "comsvcs.dll MiniDump",
        "Invoke-Mimikatz",
        "sekurlsa::logonpasswords",
        "exe.cmd",
        "x.y",
        "a.b.c.d",
        "net.exe user",
        "process_creation",
        "attack.t1059.001",
    ];
    let run = |q: &str, f: &Filters, offset: usize| -> Vec<(String, Vec<store::Fragment>)> {
        reader
            .search(q, f, 21, offset, &budget())
            .unwrap_or_else(|e| panic!("{q}: {e}"))
            .into_iter()
            .map(|h| (h.key, h.snippet))
            .collect()
    };
    let mut by_sql = Vec::new();
    for q in queries {
        for f in &filters {
            for offset in [0, 20, 200] {
                by_sql.push(run(q, f, offset));
            }
        }
    }
    assert!(!reader.ranks_in_memory().unwrap());
    reader.read_term_index().expect("term index");
    assert!(reader.ranks_in_memory().unwrap());
    for q in queries {
        assert!(reader.ranks_in_memory_for(q).unwrap(), "{q}: ranked by SQL");
    }
    assert!(!reader.ranks_in_memory_for("café").unwrap());
    let mut i = 0;
    let mut found = 0;
    for q in queries {
        for f in &filters {
            for offset in [0, 20, 200] {
                let got = run(q, f, offset);
                let keys = |v: &[(String, Vec<store::Fragment>)]| {
                    v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
                };
                assert_eq!(keys(&got), keys(&by_sql[i]), "{q} {f:?} offset {offset}");
                assert_eq!(got, by_sql[i], "{q} {f:?} offset {offset}: snippets");
                found += got.len();
                i += 1;
            }
        }
    }
    assert!(found > 500, "{found} hits in all");
    // Another recording: the index no longer holds the store's content.
    store.record(cat, at(1_795_000_100)).expect("record");
    assert!(!reader.ranks_in_memory().unwrap());
    assert_eq!(run("powershell", &filters[0], 0), by_sql[0]);
}
