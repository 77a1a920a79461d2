//! The store on every rule of the five corpora beside the checkout (sigma, splunk, elastic,
//! falconfriday, mdecrevoisier; read at bench time): recording them into a fresh store (in
//! memory and in a file), recording them again unchanged, and searching.
//!
//! `cargo bench -p detdex-store --bench store`

use catalog::{Catalog, Source};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::path::Path;
use std::time::{Duration, SystemTime};
use store::{Filters, Store};

fn corpora() -> Catalog {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let sources: Vec<Source> = [
        "sigma",
        "splunk",
        "elastic",
        "falconfriday",
        "mdecrevoisier",
    ]
    .iter()
    .map(|name| Source {
        name: name.to_string(),
        root: root.join(name),
        include: Vec::new(),
    })
    .collect();
    let cat = Catalog::load(&sources);
    assert!(cat.rules.len() > 8000, "{} rules", cat.rules.len());
    cat
}

fn bench(c: &mut Criterion) {
    let cat = corpora();
    eprintln!("{} rules", cat.rules.len());
    let now = SystemTime::now();
    let mut g = c.benchmark_group("record");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.bench_function("fresh in memory", |b| {
        b.iter_batched(
            || Store::in_memory().unwrap(),
            |mut s| s.record(&cat, now).unwrap(),
            BatchSize::PerIteration,
        )
    });
    let file = std::env::temp_dir().join(format!("detdex-bench-{}.sqlite", std::process::id()));
    g.bench_function("fresh file", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_file(&file);
                let _ = std::fs::remove_file(file.with_extension("sqlite-journal"));
                Store::open(&file).unwrap()
            },
            |mut s| s.record(&cat, now).unwrap(),
            BatchSize::PerIteration,
        )
    });
    // Recorded once here, so that the searches below (and this benchmark, when run alone with
    // a filter) read every rule.
    let mut store = Store::open(&file).unwrap();
    store.record(&cat, now).unwrap();
    g.bench_function("unchanged file", |b| {
        b.iter(|| store.record(&cat, now).unwrap())
    });
    g.finish();

    // The same searches ranked by SQL (the writer has no term index) and in memory (a reader
    // after `read_term_index`, as the site searches); words the tokenizer splits are phrases.
    let searches = [
        "wsman provider",
        "mimikatz",
        "powershell -enc",
        "T1059.001",
        "powershell",
        "process command line",
        "the",
        "cmd.exe",
        "powershell.exe -enc",
        "rundll32.exe",
    ];
    let mut g = c.benchmark_group("search");
    for q in searches {
        g.bench_function(q, |b| {
            b.iter(|| store.search(q, &Filters::default(), 20).unwrap())
        });
    }
    g.finish();
    let reader = store.reader().unwrap();
    reader.read_term_index().unwrap();
    let budget = store::Budget::new(Duration::from_secs(60));
    let mut g = c.benchmark_group("search in memory");
    for q in searches {
        assert!(reader.ranks_in_memory_for(q).unwrap(), "{q}");
        let keys = |hits: Vec<store::Hit>| hits.into_iter().map(|h| h.key).collect::<Vec<_>>();
        let hits = keys(
            reader
                .search(q, &Filters::default(), 20, 0, &budget)
                .unwrap(),
        );
        assert_eq!(
            hits,
            keys(store.search(q, &Filters::default(), 20).unwrap()),
            "{q}"
        );
        assert!(!hits.is_empty(), "{q}: no hit");
        g.bench_function(q, |b| {
            b.iter(|| {
                reader
                    .search(q, &Filters::default(), 20, 0, &budget)
                    .unwrap()
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("search");
    g.bench_function("feed page", |b| {
        b.iter(|| store.feed(&Filters::default(), 50, 0).unwrap())
    });
    g.finish();
    drop(reader);
    drop(store);
    let _ = std::fs::remove_file(&file);
}

criterion_group!(benches, bench);
criterion_main!(benches);
