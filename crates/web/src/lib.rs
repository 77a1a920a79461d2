//! The detdex web site: server-rendered HTML pages for the catalog and a JSON API.
//!
//! Routes:
//! - `GET /` — the feed: rules newest change first (new, changed, removed; the store's
//!   [`store::Store::feed`]), 50 a page (`?page=`), `?source=` and `?language=` filters.
//! - `GET /search?q=` — ranked full-text search ([`store::Store::search`]), same filters and
//!   `?level=`.
//! - `GET /rules` — the index of all rules, sorted by title; `?q=` filters by a case-insensitive
//!   substring of title, id or ATT&CK technique, `?source=` and `?language=` by exact name,
//!   `?technique=` to the rules the coverage counts for a technique (its sub-techniques included).
//! - `GET /rules/{*key}` — one rule: metadata, ATT&CK, body, stages, exclusions, indicators.
//! - `GET /api/rules` — the index as JSON (same filters); `GET /api/rules/{*key}` — the rule's
//!   [`catalog::Report`] as JSON; `GET /api/search?q=`, `GET /api/feed` (`limit`, `offset`).
//! - `GET /coverage` — the ATT&CK matrix: rules per tactic, technique and sub-technique, each
//!   count linking to the index; `?source=` and `?language=` as for the index.
//!   `GET /api/coverage` — the same [`catalog::Coverage`] as JSON.
//! - `GET /feed.atom` — the feed's newest 50 entries as Atom.
//! - `GET /static/style.css` — the style sheet.
//!
//! Every piece of rule text goes through askama's HTML escaping: rules are untrusted input.

mod pages;
mod url;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use catalog::Catalog;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use store::Store;

pub use url::rule_href;

const STYLE: &str = include_str!("../static/style.css");

/// The policy sent with every HTML page: only our own style sheet, nothing else.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What the site serves: the catalog, and the store that recorded it (for search and feed).
pub struct Site {
    catalog: Arc<Catalog>,
    store: Store,
}

impl Site {
    /// A site over a catalog and a store that has recorded it.
    pub fn new(catalog: Arc<Catalog>, store: Store) -> Site {
        Site { catalog, store }
    }

    /// A site whose store lives in memory and records the catalog now (its feed then dates
    /// each rule by the rule's own dates).
    pub fn in_memory(catalog: Arc<Catalog>) -> Result<Site, store::Error> {
        let mut store = Store::in_memory()?;
        store.record(&catalog, std::time::SystemTime::now())?;
        Ok(Site::new(catalog, store))
    }
}

/// The catalog and what the index needs, computed once when the router is built.
struct AppState {
    catalog: Arc<Catalog>,
    store: Mutex<Store>,
    /// Rules sorted by title.
    index: Vec<Entry>,
    /// Source names with their rule counts.
    sources: BTreeMap<String, usize>,
    /// Languages (as rules name them) with their rule counts.
    languages: BTreeMap<String, usize>,
}

struct Entry {
    /// Position in `catalog.rules`.
    rule: usize,
    href: String,
    /// Lower-cased title, id and technique ids, one per line, for `?q=`.
    haystack: String,
}

impl AppState {
    fn new(site: Site) -> AppState {
        let Site { catalog, store } = site;
        let mut index: Vec<(String, Entry)> = catalog
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut haystack = r.meta.title.to_lowercase();
                for s in r.meta.id.iter().chain(&r.attack) {
                    haystack.push('\n');
                    haystack.push_str(&s.to_lowercase());
                }
                let sort = r.meta.title.trim().to_lowercase();
                (
                    sort,
                    Entry {
                        rule: i,
                        href: rule_href(&r.key),
                        haystack,
                    },
                )
            })
            .collect();
        index.sort_by(|(a, ea), (b, eb)| {
            // Untitled rules go last; ties are broken by key.
            (a.is_empty(), a, &catalog.rules[ea.rule].key).cmp(&(
                b.is_empty(),
                b,
                &catalog.rules[eb.rule].key,
            ))
        });
        let mut sources = BTreeMap::new();
        let mut languages = BTreeMap::new();
        for r in &catalog.rules {
            *sources.entry(r.source.clone()).or_insert(0) += 1;
            *languages.entry(r.language.clone()).or_insert(0) += 1;
        }
        AppState {
            index: index.into_iter().map(|(_, e)| e).collect(),
            sources,
            languages,
            catalog,
            store: Mutex::new(store),
        }
    }

    /// The store; a panic elsewhere while it was held leaves it usable (every write is one
    /// transaction, rolled back if unfinished).
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn source_options(&self, selected: &str) -> Vec<pages::SourceOption> {
        options(&self.sources, selected)
    }

    fn language_options(&self, selected: &str) -> Vec<pages::SourceOption> {
        options(&self.languages, selected)
    }

    /// The index entries matching a filter, in title order.
    fn filter<'a>(&'a self, f: &'a Filter) -> impl Iterator<Item = &'a Entry> + 'a {
        let q = f.q.trim().to_lowercase();
        let technique = f.technique.trim();
        self.index.iter().filter(move |e| {
            let r = &self.catalog.rules[e.rule];
            (q.is_empty() || e.haystack.contains(&q))
                && f.scope().includes(r)
                && (technique.is_empty() || catalog::coverage::maps_to(r, technique))
        })
    }
}

/// The `<option>`s of a filter: each name with its rule count, the chosen one selected.
fn options(counts: &BTreeMap<String, usize>, selected: &str) -> Vec<pages::SourceOption> {
    counts
        .iter()
        .map(|(name, &count)| pages::SourceOption {
            selected: name == selected,
            name: name.clone(),
            count,
        })
        .collect()
}

/// The index's query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filter {
    q: String,
    source: String,
    language: String,
    technique: String,
}

impl Filter {
    fn scope(&self) -> catalog::Scope<'_> {
        catalog::Scope {
            source: &self.source,
            language: &self.language,
            retired: false,
        }
    }
}

/// The feed's and search's query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StoreQuery {
    q: String,
    source: String,
    language: String,
    level: String,
    /// The feed page, from 1.
    page: Option<usize>,
    limit: Option<usize>,
    offset: Option<usize>,
}

impl StoreQuery {
    fn filters(&self) -> store::Filters {
        store::Filters {
            source: self.source.clone(),
            language: self.language.clone(),
            level: self.level.clone(),
        }
    }
}

/// Feed entries a page, and in the Atom feed.
const FEED_PAGE: usize = 50;
/// Search results shown, and returned by the API unless `limit` says fewer.
const SEARCH_LIMIT: usize = 100;
/// The most the JSON API returns at once.
const API_MAX: usize = 1000;

/// The site's routes.
pub fn router(site: Site) -> Router {
    let state = Arc::new(AppState::new(site));
    Router::new()
        .route("/", get(feed))
        .route("/search", get(search))
        .route("/rules", get(index))
        .route("/rules/{*key}", get(rule_page))
        .route("/feed.atom", get(atom))
        .route("/api/rules", get(api_index))
        .route("/api/rules/{*key}", get(api_rule))
        .route("/coverage", get(coverage_page))
        .route("/api/coverage", get(api_coverage))
        .route("/api/search", get(api_search))
        .route("/api/feed", get(api_feed))
        .route("/static/style.css", get(style))
        .fallback(fallback)
        .with_state(state)
}

/// Bind `addr`, print the site's address to stderr and serve until the process is stopped.
pub async fn serve(site: Site, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, site).await
}

/// Serve on a listener already bound (tests bind port 0 and read the port back).
pub async fn serve_on(listener: tokio::net::TcpListener, site: Site) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let shown = if local.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), local.port())
    } else {
        local
    };
    eprintln!(
        "detdex: serving {} rules on http://{shown}/",
        site.catalog.rules.len()
    );
    // The converters of the rule pages' translations, built while the first request comes.
    std::thread::spawn(catalog::translate::prepare);
    axum::serve(listener, router(site)).await
}

// ---------------------------------------------------------------------------------------------
// Responses

fn html(status: StatusCode, page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(body) => {
            let mut res = (status, body).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            res
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("template error: {e}\n"),
        )
            .into_response(),
    }
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("serialisation error: {e}\n"),
        )
            .into_response(),
    }
}

fn not_found_html(what: &str, key: &str) -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::NotFoundPage { what, key }.render(),
    )
}

fn not_found_json(message: String) -> Response {
    error_json(StatusCode::NOT_FOUND, message)
}

fn error_json(status: StatusCode, message: String) -> Response {
    #[derive(Serialize)]
    struct Error {
        error: String,
    }
    json(status, &Error { error: message })
}

fn store_error(e: store::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn index(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    let rows = st
        .filter(&f)
        .map(|e| pages::IndexRow::new(&st.catalog.rules[e.rule], &e.href))
        .collect();
    let page = pages::IndexPage {
        total: st.catalog.rules.len(),
        q: &f.q,
        language: &f.language,
        technique: f.technique.trim(),
        filtered: !f.q.trim().is_empty()
            || !f.source.is_empty()
            || !f.language.is_empty()
            || !f.technique.trim().is_empty(),
        sources: st.source_options(&f.source),
        rows,
    };
    html(StatusCode::OK, page.render())
}

async fn feed(State(st): State<Arc<AppState>>, Query(q): Query<StoreQuery>) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let offset = (page - 1).saturating_mul(FEED_PAGE);
    // One more than a page tells whether there is a next page.
    let mut entries = match st.store().feed(&q.filters(), FEED_PAGE + 1, offset) {
        Ok(e) => e,
        Err(e) => return store_error(e),
    };
    let more = entries.len() > FEED_PAGE;
    entries.truncate(FEED_PAGE);
    let filters = [
        ("source", q.source.as_str()),
        ("language", q.language.as_str()),
    ];
    let page_href = |n: usize| {
        let n = n.to_string();
        let mut params = filters.to_vec();
        if n != "1" {
            params.push(("page", &n));
        }
        url::feed_href(&params)
    };
    let view = pages::FeedPage {
        rows: entries
            .iter()
            .map(|e| pages::FeedRow::new(e, st.catalog.get(&e.key).is_some()))
            .collect(),
        page,
        newer: (page > 1).then(|| page_href(page - 1)),
        older: more.then(|| page_href(page + 1)),
        filtered: !q.source.is_empty() || !q.language.is_empty(),
        sources: st.source_options(&q.source),
        languages: st.language_options(&q.language),
        total: st.catalog.rules.len(),
    };
    html(StatusCode::OK, view.render())
}

async fn search(State(st): State<Arc<AppState>>, Query(q): Query<StoreQuery>) -> Response {
    let hits = match st.store().search(&q.q, &q.filters(), SEARCH_LIMIT) {
        Ok(h) => h,
        Err(e) => return store_error(e),
    };
    let view = pages::SearchPage {
        q: &q.q,
        searched: !q.q.trim().is_empty(),
        limit: SEARCH_LIMIT,
        rows: hits.iter().map(|h| pages::HitRow::new(h, &q.q)).collect(),
        sources: st.source_options(&q.source),
        languages: st.language_options(&q.language),
        level: &q.level,
    };
    html(StatusCode::OK, view.render())
}

async fn api_search(State(st): State<Arc<AppState>>, Query(q): Query<StoreQuery>) -> Response {
    let limit = q.limit.unwrap_or(SEARCH_LIMIT).min(API_MAX);
    match st.store().search(&q.q, &q.filters(), limit) {
        Ok(hits) => json(StatusCode::OK, &hits),
        Err(e) => error_json(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn api_feed(State(st): State<Arc<AppState>>, Query(q): Query<StoreQuery>) -> Response {
    let limit = q.limit.unwrap_or(FEED_PAGE).min(API_MAX);
    match st.store().feed(&q.filters(), limit, q.offset.unwrap_or(0)) {
        Ok(entries) => json(StatusCode::OK, &entries),
        Err(e) => error_json(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn atom(State(st): State<Arc<AppState>>, Query(q): Query<StoreQuery>) -> Response {
    let (entries, recorded) = {
        let store = st.store();
        match (
            store.feed(&q.filters(), FEED_PAGE, 0),
            store.last_recorded(),
        ) {
            (Ok(e), Ok(r)) => (e, r),
            (Err(e), _) | (_, Err(e)) => return store_error(e),
        }
    };
    let view = pages::AtomFeed::new(&entries, recorded.as_deref());
    match view.render() {
        Ok(body) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/atom+xml; charset=utf-8"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("template error: {e}\n"),
        )
            .into_response(),
    }
}

async fn rule_page(State(st): State<Arc<AppState>>, Path(key): Path<String>) -> Response {
    match st.catalog.find(&key) {
        Some(rule) => {
            let page = pages::RulePage::new(rule, catalog::report(&st.catalog, rule));
            html(StatusCode::OK, page.render())
        }
        None => not_found_html("rule", &key),
    }
}

#[derive(Serialize)]
struct ApiEntry<'a> {
    key: &'a str,
    title: &'a str,
    id: Option<&'a str>,
    level: Option<&'a str>,
    status: Option<&'a str>,
    source: &'a str,
    attack: &'a [String],
}

async fn api_index(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    let list: Vec<ApiEntry> = st
        .filter(&f)
        .map(|e| {
            let r = &st.catalog.rules[e.rule];
            ApiEntry {
                key: &r.key,
                title: &r.meta.title,
                id: r.meta.id.as_deref(),
                level: r.meta.level.as_deref(),
                status: r.meta.status.as_deref(),
                source: &r.source,
                attack: &r.attack,
            }
        })
        .collect();
    json(StatusCode::OK, &list)
}

async fn api_rule(State(st): State<Arc<AppState>>, Path(key): Path<String>) -> Response {
    match st.catalog.find(&key) {
        Some(rule) => json(StatusCode::OK, &catalog::report(&st.catalog, rule)),
        None => not_found_json(format!("no rule with key or id {key:?}")),
    }
}

async fn coverage_page(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    let scope = f.scope();
    let c = catalog::coverage(&st.catalog, scope);
    let page = pages::CoveragePage::new(
        &c,
        scope,
        st.source_options(&f.source),
        st.language_options(&f.language),
        |key| st.catalog.get(key).map(|r| r.meta.title.as_str()),
    );
    html(StatusCode::OK, page.render())
}

async fn api_coverage(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    json(StatusCode::OK, &catalog::coverage(&st.catalog, f.scope()))
}

async fn style() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLE,
    )
        .into_response()
}

async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") {
        not_found_json(format!("no such endpoint: {path}"))
    } else {
        not_found_html("page", path)
    }
}
