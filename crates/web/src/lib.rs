//! The detdex web site: server-rendered HTML pages for the catalog and a JSON API.
//!
//! Routes:
//! - `GET /` — the feed: rules newest change first (new, changed, removed; the store's
//!   [`store::Store::feed`]), 50 a page (`?page=`), `?source=` and `?language=` filters.
//! - `GET /search?q=` — ranked full-text search ([`store::Store::search`]), same filters and
//!   `?level=`.
//! - `GET /rules` — the index of all rules, sorted by title; `?q=` filters by a case-insensitive
//!   substring of title, id or ATT&CK technique, `?source=` and `?language=` by exact name,
//!   `?technique=` to the rules the coverage counts for a technique (its sub-techniques included),
//!   `?log=` to the rules reading a log or event (their event coverage), `?retired=1` with
//!   the retired rules (here and in search, feed and coverage: `1`, `true` or `on`; links
//!   write `1`).
//! - `GET /rules/{*key}` — one rule: metadata, ATT&CK, body, stages, exclusions, indicators.
//! - `GET /api/rules` — the index as JSON (same filters); `GET /api/rules/{*key}` — the rule's
//!   [`catalog::Report`] as JSON; `GET /api/search?q=`, `GET /api/feed` (`limit`, `offset`).
//! - `GET /coverage` — the ATT&CK matrix: rules per tactic, technique and sub-technique, each
//!   count linking to the index; `?source=` and `?language=` as for the index.
//!   `GET /api/coverage` — the same [`catalog::Coverage`] as JSON;
//!   `GET /api/coverage/navigator.json` — as an ATT&CK Navigator layer (same filters);
//!   `POST /api/coverage/compare` — a layer (the body, at most 4 MiB) against that coverage.
//! - `GET /indicators/{concept}/{kind}/{value}` (`?transforms=a|b`) — the rules behind an
//!   indicator's corpus count, by source; `GET /api/indicators/…` the same as JSON.
//! - `GET /techniques/{id}` — a technique's rules by source (as the coverage counts them);
//!   `GET /api/techniques/{id}` as JSON.
//! - `GET /feed.atom` — the feed's newest 50 entries as Atom.
//! - `GET /rules/{*key}/raw` — the rule's text; `GET /rules/{*key}/{target}.kql` — its
//!   translation (`kql-xdr`, `kql-asim`), as text files.
//! - `GET /static/style.css` — the style sheet; `GET /static/copy.js` — the copy buttons.
//!
//! Every piece of rule text goes through askama's HTML escaping: rules are untrusted input.

mod cache;
mod pages;
mod pool;
mod url;

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use catalog::Catalog;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::Store;

pub use url::{encode_component as encode, rule_href, story_href};

const STYLE: &str = include_str!("../static/style.css");
const COPY_SCRIPT: &str = include_str!("../static/copy.js");

/// The policy sent with every HTML page: only our own style sheet and script file (the copy
/// buttons), no inline script, nothing else.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What the site serves: the catalog, and read connections to the store that recorded it (for
/// search and feed).
pub struct Site {
    catalog: Arc<Catalog>,
    pool: pool::Pool,
    /// The site's public address (`https://detdex.example.org`), for the absolute links of the
    /// Atom feed; by default the address it serves on.
    base_url: Option<String>,
}

impl Site {
    /// A site over a catalog and a store that has recorded it; opens the store's readers.
    pub fn new(catalog: Arc<Catalog>, store: Store) -> Result<Site, store::Error> {
        // Queries are CPU work: one fewer at once than there are cores (at least one), so the
        // rule pages always keep a core; the others wait their turn (within their budget).
        let readers = std::thread::available_parallelism().map_or(1, |n| (n.get() - 1).max(1));
        Ok(Site {
            catalog,
            pool: pool::Pool::new(store, readers)?,
            base_url: None,
        })
    }

    /// The site's public address, for the Atom feed's absolute links: an `http://` or
    /// `https://` URL without query or fragment (a trailing `/` is dropped).
    pub fn with_base_url(mut self, url: &str) -> Result<Site, String> {
        self.base_url = Some(check_base_url(url)?);
        Ok(self)
    }

    /// A site whose store lives in memory and records the catalog now (its feed then dates
    /// each rule by the rule's own dates).
    pub fn in_memory(catalog: Arc<Catalog>) -> Result<Site, store::Error> {
        let mut store = Store::in_memory()?;
        store.record(&catalog, std::time::SystemTime::now())?;
        Site::new(catalog, store)
    }
}

/// A public address as [`Site::with_base_url`] takes it, normalized (no trailing `/`).
pub fn check_base_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
    if rest.is_empty()
        || rest.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"' | '<' | '>')
        })
    {
        return Err(format!(
            "{url:?}: a host (and path) only, without spaces, query or fragment"
        ));
    }
    Ok(url.to_string())
}

/// The catalog and what the index needs, computed once when the router is built.
struct AppState {
    /// Prefixed to the Atom feed's links (empty: relative links, for a site not yet bound).
    base_url: String,
    catalog: Arc<Catalog>,
    pool: Arc<pool::Pool>,
    /// Rendered rule pages.
    pages: cache::PageCache,
    /// Answered searches (HTML pages and JSON), by request: the store does not change while
    /// the site serves it, so a repeated search is served from memory.
    searches: cache::PageCache,
    /// Rules sorted by title.
    index: Vec<Entry>,
    /// The other orders of `index`.
    orders: Orders,
    /// Levels and statuses (lower case) with their rule counts.
    levels: BTreeMap<String, usize>,
    statuses: BTreeMap<String, usize>,
    /// Source names with their rule counts.
    sources: BTreeMap<String, usize>,
    /// Languages (as rules name them) with their rule counts.
    languages: BTreeMap<String, usize>,
    /// Per conversion target, the tables each converting Sigma rule reads: computed once, off
    /// the async workers, at the first coverage request naming the target.
    deployments: BTreeMap<&'static str, std::sync::OnceLock<Deployments>>,
}

/// Rule key → tables its query reads, for the rules that convert (or why none can).
type Deployments = Result<std::collections::HashMap<String, Vec<String>>, String>;

struct Entry {
    /// Position in `catalog.rules`.
    rule: usize,
    href: String,
    /// Lower-cased title, id and technique ids, one per line, for `?q=`.
    haystack: String,
    /// The logs and events the rule reads (kind, value, detail), lower-cased, one per line,
    /// for `?log=` ("what does my telemetry cover").
    logs: String,
}

/// The orders of the index other than by title: positions in `AppState::index`.
struct Orders {
    level: Vec<usize>,
    date: Vec<usize>,
    source: Vec<usize>,
}

impl Orders {
    fn new(catalog: &Catalog, index: &[Entry]) -> Orders {
        use std::cmp::Reverse;
        let rule = |i: usize| &catalog.rules[index[i].rule];
        let all = || (0..index.len()).collect::<Vec<usize>>();
        // Stable sorts: ties keep the title order.
        let mut level = all();
        level.sort_by_key(|&i| Reverse(level_rank(rule(i).meta.level.as_deref())));
        let mut date = all();
        date.sort_by_cached_key(|&i| Reverse(rule_date(rule(i))));
        let mut source = all();
        source.sort_by(|&a, &b| rule(a).source.cmp(&rule(b).source));
        Orders {
            level,
            date,
            source,
        }
    }
}

/// The ranks of the Sigma levels, most severe highest; an unknown or missing level is 0.
fn level_rank(level: Option<&str>) -> u8 {
    match level.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => 5,
        Some("high") => 4,
        Some("medium") => 3,
        Some("low") => 2,
        Some("informational") => 1,
        _ => 0,
    }
}

/// A rule's last date (`YYYY-MM-DD`): `modified` if later than `date`.
fn rule_date(r: &ir::Rule) -> Option<String> {
    let d = r.meta.date.as_deref().and_then(store::normalise_date);
    let m = r.meta.modified.as_deref().and_then(store::normalise_date);
    d.max(m)
}

/// How the index is sorted (`?sort=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Sort {
    #[default]
    Title,
    Level,
    Date,
    Source,
}

impl Sort {
    const ALL: [Sort; 4] = [Sort::Title, Sort::Level, Sort::Date, Sort::Source];

    fn as_str(self) -> &'static str {
        match self {
            Sort::Title => "title",
            Sort::Level => "level",
            Sort::Date => "date",
            Sort::Source => "source",
        }
    }
}

impl AppState {
    fn new(site: Site) -> AppState {
        let Site {
            catalog,
            pool,
            base_url,
        } = site;
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
                        logs: catalog::events::event_coverage_of_rule(r)
                            .iter()
                            .map(|e| format!("{} {} {}", e.kind, e.value, e.detail).to_lowercase())
                            .collect::<Vec<_>>()
                            .join("\n"),
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
        let index: Vec<Entry> = index.into_iter().map(|(_, e)| e).collect();
        let mut levels = BTreeMap::new();
        let mut statuses = BTreeMap::new();
        for r in &catalog.rules {
            if let Some(l) = &r.meta.level {
                *levels.entry(l.to_ascii_lowercase()).or_insert(0) += 1;
            }
            if let Some(s) = &r.meta.status {
                *statuses.entry(s.to_ascii_lowercase()).or_insert(0) += 1;
            }
        }
        AppState {
            base_url: base_url.unwrap_or_default(),
            orders: Orders::new(&catalog, &index),
            index,
            sources,
            languages,
            levels,
            statuses,
            catalog,
            pool: Arc::new(pool),
            pages: cache::PageCache::new(PAGE_CACHE),
            searches: cache::PageCache::new(SEARCH_CACHE),
            deployments: catalog::translate::target_names()
                .into_iter()
                .map(|t| (t, std::sync::OnceLock::new()))
                .collect(),
        }
    }

    fn source_options(&self, selected: &str) -> Vec<pages::SourceOption> {
        options(&self.sources, selected)
    }

    fn language_options(&self, selected: &str) -> Vec<pages::SourceOption> {
        options(&self.languages, selected)
    }

    /// The index entries matching a filter, in the order it asks for.
    fn filter<'a>(&'a self, f: &'a Filter) -> impl Iterator<Item = &'a Entry> + 'a {
        let q = f.q.trim().to_lowercase();
        let log = f.log.trim().to_lowercase();
        let technique = f.technique.trim();
        let same = |want: &str, have: &Option<String>| {
            want.is_empty()
                || have
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(want))
        };
        let order: Box<dyn Iterator<Item = &Entry>> = match f.sort {
            Sort::Title => Box::new(self.index.iter()),
            Sort::Level => Box::new(self.orders.level.iter().map(|&i| &self.index[i])),
            Sort::Date => Box::new(self.orders.date.iter().map(|&i| &self.index[i])),
            Sort::Source => Box::new(self.orders.source.iter().map(|&i| &self.index[i])),
        };
        order.filter(move |e| {
            let r = &self.catalog.rules[e.rule];
            (q.is_empty() || e.haystack.contains(&q))
                && (log.is_empty() || e.logs.lines().any(|l| l.contains(&log)))
                && f.scope().includes(r)
                && same(&f.level, &r.meta.level)
                && same(&f.status, &r.meta.status)
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
    /// A log or event the rule reads (its event coverage), as a case-insensitive substring:
    /// `4688`, `DeviceProcessEvents`, `Sysmon EventID 1`.
    log: String,
    /// Compared ignoring ASCII case.
    level: String,
    /// Compared ignoring ASCII case.
    status: String,
    sort: Sort,
    /// Include retired rules (deprecated, unsupported, placeholders): `?retired=1`.
    #[serde(deserialize_with = "flag")]
    retired: bool,
    /// Coverage: only rules that convert for this target (`kql-xdr`, …) …
    target: String,
    /// … and whose queries read only these tables (names separated by commas).
    have: String,
    /// The page of `/rules`, from 1.
    page: Option<usize>,
    /// The API's window.
    limit: Option<usize>,
    offset: Option<usize>,
}

impl Filter {
    /// Whether any filter restricts the list (the order does not).
    fn filtered(&self) -> bool {
        ![
            &self.q,
            &self.source,
            &self.language,
            &self.technique,
            &self.log,
            &self.level,
            &self.status,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    /// The filters and order as query parameters, for links to other pages of the same list.
    fn params(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("q", self.q.as_str()),
            ("source", self.source.as_str()),
            ("language", self.language.as_str()),
            ("technique", self.technique.trim()),
            ("log", self.log.trim()),
            ("level", self.level.as_str()),
            ("status", self.status.as_str()),
            (
                "sort",
                if self.sort == Sort::Title {
                    ""
                } else {
                    self.sort.as_str()
                },
            ),
            ("retired", flag_param(self.retired)),
        ]
    }
}

impl Filter {
    fn scope(&self) -> catalog::Scope<'_> {
        catalog::Scope {
            source: &self.source,
            language: &self.language,
            retired: self.retired,
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
    /// `1` (or `true`, `on`) to include retired rules (deprecated, unsupported, placeholders).
    #[serde(deserialize_with = "flag")]
    retired: bool,
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
            retired: self.retired,
        }
    }
}

/// A yes-or-no query parameter: `1`, `true`, `on` or `yes` (any case) is yes; empty, `0`,
/// `false`, `off` or `no` is no; anything else is a bad request that says so.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "" | "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(serde::de::Error::custom(format!(
            "expected 1 or 0 (true or false), not {s:?}"
        ))),
    }
}

/// A yes-or-no parameter as the site's links write it: `1`, or nothing for no.
fn flag_param(yes: bool) -> &'static str {
    if yes { "1" } else { "" }
}

/// Feed entries a page, and in the Atom feed.
const FEED_PAGE: usize = 50;
/// Search results a page.
const SEARCH_PAGE: usize = 20;
/// Search results the API returns unless `limit` says otherwise.
const SEARCH_LIMIT: usize = 100;
/// The longest one request may use the store (waiting for a connection included): a search
/// past it is stopped and answered "too slow".
const BUDGET: Duration = Duration::from_millis(1500);
/// The most the JSON API returns at once.
const API_MAX: usize = 1000;
/// Rules a page of `/rules`.
const INDEX_PAGE: usize = 100;
/// The most bytes of rendered rule pages kept in memory.
const PAGE_CACHE: usize = 128 << 20;
/// The most bytes of answered searches kept in memory.
const SEARCH_CACHE: usize = 32 << 20;
/// The largest Navigator layer `/api/coverage/compare` reads (a layer marking every technique
/// and sub-technique under every tactic, with comments, is well under 1 MiB).
const LAYER_LIMIT: usize = 4 << 20;

/// Room in a form upload for its boundaries and part headers around the layer file.
const FORM_SLACK: usize = 64 << 10;

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
        .route("/api/coverage/navigator.json", get(api_navigator))
        .route(
            "/api/coverage/compare",
            axum::routing::post(api_compare)
                .layer(axum::extract::DefaultBodyLimit::max(LAYER_LIMIT)),
        )
        .route(
            "/coverage/compare",
            axum::routing::post(compare_page).layer(axum::extract::DefaultBodyLimit::max(
                LAYER_LIMIT + FORM_SLACK,
            )),
        )
        .route("/indicators/{concept}/{kind}/{*value}", get(indicator_page))
        .route(
            "/api/indicators/{concept}/{kind}/{*value}",
            get(api_indicator),
        )
        .route("/stories", get(stories_page))
        .route("/stories/{name}", get(story_page))
        .route("/api/stories", get(api_stories))
        .route("/api/stories/{name}", get(api_story))
        .route("/techniques/{id}", get(technique_page))
        .route("/api/techniques/{id}", get(api_technique))
        .route("/api/search", get(api_search))
        .route("/api/feed", get(api_feed))
        .route("/static/style.css", get(style))
        .route("/static/copy.js", get(copy_script))
        .fallback(fallback)
        .with_state(state)
        // gzip or brotli when the client accepts it; a fast level: pages are made per request.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::compression::CompressionLevel::Fastest),
        )
}

/// Bind `addr`, print the site's address to stderr and serve until the process is stopped.
pub async fn serve(site: Site, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, site).await
}

/// Serve on a listener already bound (tests bind port 0 and read the port back).
pub async fn serve_on(listener: tokio::net::TcpListener, mut site: Site) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let shown = if local.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), local.port())
    } else {
        local
    };
    if site.base_url.is_none() {
        site.base_url = Some(format!("http://{shown}"));
    }
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
        Ok(body) => html_bytes(status, body.into()),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("template error: {e}\n"),
        )
            .into_response(),
    }
}

fn html_bytes(status: StatusCode, body: axum::body::Bytes) -> Response {
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

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => json_bytes(status, body.into()),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("serialisation error: {e}\n"),
        )
            .into_response(),
    }
}

fn json_bytes(status: StatusCode, body: axum::body::Bytes) -> Response {
    (
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
        .into_response()
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

/// The status of a store error: the user's query (too long: 400; too slow: 503) or ours (500).
fn store_status(e: &store::Error) -> StatusCode {
    match e {
        store::Error::TooLong(_) => StatusCode::BAD_REQUEST,
        store::Error::Interrupted => StatusCode::SERVICE_UNAVAILABLE,
        store::Error::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn store_error(e: store::Error) -> Response {
    (store_status(&e), format!("{e}\n")).into_response()
}

fn store_error_json(e: store::Error) -> Response {
    error_json(store_status(&e), e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn index(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    let page = f.page.unwrap_or(1).max(1);
    let offset = (page - 1).saturating_mul(INDEX_PAGE);
    let mut matching = 0;
    let mut rows = Vec::new();
    for e in st.filter(&f) {
        if matching >= offset && rows.len() < INDEX_PAGE {
            rows.push(pages::IndexRow::new(&st.catalog.rules[e.rule], &e.href));
        }
        matching += 1;
    }
    let params = f.params();
    let page_href = |n: usize| {
        let n = n.to_string();
        let mut params = params.clone();
        if n != "1" {
            params.push(("page", &n));
        }
        url::index_href(&params)
    };
    let sorts = Sort::ALL
        .iter()
        .map(|&s| {
            let mut params: Vec<(&str, &str)> = params
                .iter()
                .filter(|(k, _)| *k != "sort")
                .copied()
                .collect();
            if s != Sort::Title {
                params.push(("sort", s.as_str()));
            }
            pages::SortLink {
                name: s.as_str(),
                href: url::index_href(&params),
                current: s == f.sort,
            }
        })
        .collect();
    let page = pages::IndexPage {
        total: st.catalog.rules.len(),
        matching,
        first: offset + 1,
        q: &f.q,
        language: &f.language,
        technique: f.technique.trim(),
        log: f.log.trim(),
        retired: f.retired,
        sort: if f.sort == Sort::Title {
            ""
        } else {
            f.sort.as_str()
        },
        filtered: f.filtered(),
        sources: st.source_options(&f.source),
        levels: options(&st.levels, &f.level.to_ascii_lowercase()),
        statuses: options(&st.statuses, &f.status.to_ascii_lowercase()),
        sorts,
        pager: pages::Pager {
            page,
            prev: (page > 1).then(|| page_href(page - 1)),
            next: (offset + rows.len() < matching).then(|| page_href(page + 1)),
        },
        rows,
    };
    html(StatusCode::OK, page.render())
}

async fn feed(State(st): State<Arc<AppState>>, Query(q): Query<StoreQuery>) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let offset = (page - 1).saturating_mul(FEED_PAGE);
    // One more than a page tells whether there is a next page.
    let filters = q.filters();
    let found = st
        .pool
        .run(BUDGET, move |r, b| {
            r.feed(&filters, FEED_PAGE + 1, offset, b)
        })
        .await;
    let mut entries = match found {
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
            .map(|e| pages::FeedRow::new(e, st.catalog.get(&e.key)))
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

/// The key of a search in `AppState::searches`: the route and the request's query string.
fn search_key(route: &str, uri: &Uri) -> String {
    format!("{route}?{}", uri.query().unwrap_or(""))
}

async fn search(
    State(st): State<Arc<AppState>>,
    uri: Uri,
    Query(q): Query<StoreQuery>,
) -> Response {
    let key = search_key("/search", &uri);
    if let Some(page) = st.searches.get(&key) {
        return html_bytes(StatusCode::OK, page);
    }
    let page = q.page.unwrap_or(1).max(1);
    let offset = (page - 1).saturating_mul(SEARCH_PAGE);
    let (text, filters) = (q.q.clone(), q.filters());
    // One more than a page tells whether there is a next page.
    let found = st
        .pool
        .run(BUDGET, move |r, b| {
            r.search(&text, &filters, SEARCH_PAGE + 1, offset, b)
        })
        .await;
    let (status, mut hits, error) = match found {
        Ok(h) => (StatusCode::OK, h, None),
        Err(e @ (store::Error::TooLong(_) | store::Error::Interrupted)) => {
            (store_status(&e), Vec::new(), Some(e.to_string()))
        }
        Err(e) => return store_error(e),
    };
    let more = hits.len() > SEARCH_PAGE;
    hits.truncate(SEARCH_PAGE);
    let retired = flag_param(q.retired);
    let page_href = |n: usize| {
        let n = n.to_string();
        let mut params = vec![
            ("q", q.q.as_str()),
            ("source", q.source.as_str()),
            ("language", q.language.as_str()),
            ("level", q.level.as_str()),
            ("retired", retired),
        ];
        if n != "1" {
            params.push(("page", &n));
        }
        url::search_href(&params)
    };
    let view = pages::SearchPage {
        q: &q.q,
        searched: !q.q.trim().is_empty(),
        first: offset + 1,
        error,
        rows: hits.iter().map(|h| pages::HitRow::new(h, &q.q)).collect(),
        pager: pages::Pager {
            page,
            prev: (page > 1).then(|| page_href(page - 1)),
            next: more.then(|| page_href(page + 1)),
        },
        sources: st.source_options(&q.source),
        languages: st.language_options(&q.language),
        level: &q.level,
        retired: q.retired,
    };
    match view.render() {
        Ok(body) if status == StatusCode::OK => {
            let body = axum::body::Bytes::from(body);
            st.searches.insert(&key, body.clone());
            html_bytes(status, body)
        }
        page => html(status, page),
    }
}

async fn api_search(
    State(st): State<Arc<AppState>>,
    uri: Uri,
    Query(q): Query<StoreQuery>,
) -> Response {
    let key = search_key("/api/search", &uri);
    if let Some(body) = st.searches.get(&key) {
        return json_bytes(StatusCode::OK, body);
    }
    let limit = q.limit.unwrap_or(SEARCH_LIMIT).min(API_MAX);
    let offset = q.offset.unwrap_or(0);
    let filters = q.filters();
    let text = q.q;
    let found = st
        .pool
        .run(BUDGET, move |r, b| {
            r.search(&text, &filters, limit, offset, b)
        })
        .await;
    match found.map(|hits| serde_json::to_string(&hits)) {
        Ok(Ok(body)) => {
            let body = axum::body::Bytes::from(body);
            st.searches.insert(&key, body.clone());
            json_bytes(StatusCode::OK, body)
        }
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("serialisation error: {e}\n"),
        )
            .into_response(),
        Err(e) => store_error_json(e),
    }
}

async fn api_feed(State(st): State<Arc<AppState>>, Query(q): Query<StoreQuery>) -> Response {
    let limit = q.limit.unwrap_or(FEED_PAGE).min(API_MAX);
    let offset = q.offset.unwrap_or(0);
    let filters = q.filters();
    let found = st
        .pool
        .run(BUDGET, move |r, b| r.feed(&filters, limit, offset, b))
        .await;
    match found {
        Ok(entries) => json(StatusCode::OK, &entries),
        Err(e) => store_error_json(e),
    }
}

async fn atom(State(st): State<Arc<AppState>>, Query(q): Query<StoreQuery>) -> Response {
    let filters = q.filters();
    let found = st
        .pool
        .run(BUDGET, move |r, b| {
            Ok((r.feed(&filters, FEED_PAGE, 0, b)?, r.last_recorded(b)?))
        })
        .await;
    let (entries, recorded) = match found {
        Ok(found) => found,
        Err(e) => return store_error(e),
    };
    let view = pages::AtomFeed::new(&entries, recorded.as_deref(), &st.base_url);
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

/// What a download address names: the rule's text, or one of its translations.
enum Download<'a> {
    Raw,
    Translation(&'a str),
}

/// A download address under a rule's page (`KEY/raw`, `KEY/kql-xdr.kql`), when `key` is not
/// itself a rule.
fn download(key: &str) -> Option<(&str, Download<'_>)> {
    let (rule, last) = key.rsplit_once('/')?;
    if last == "raw" {
        return Some((rule, Download::Raw));
    }
    let target = last.strip_suffix(".kql")?;
    Some((rule, Download::Translation(target)))
}

fn text_file(body: String, name: &str) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// `/rules/KEY/raw`: the rule's text as read; `/rules/KEY/TARGET.kql`: its translation.
async fn rule_download(st: Arc<AppState>, key: String) -> Response {
    let Some((rule_key, what)) = download(&key) else {
        return not_found_html("rule", &key);
    };
    let Some(rule) = st.catalog.find(rule_key) else {
        return not_found_html("rule", rule_key);
    };
    let file = rule.key.rsplit('/').next().unwrap_or("rule").to_string();
    match what {
        Download::Raw => text_file(rule.text.clone(), &file),
        Download::Translation(target) => {
            let target = target.to_string();
            let full = key.clone();
            let made = tokio::task::spawn_blocking(move || {
                let rule = st.catalog.find(rule_key_owned(&full)).expect("found above");
                st.catalog
                    .translations(rule)
                    .iter()
                    .find(|t| t.target == target)
                    .map(|t| (t.query.clone(), t.error.clone()))
            })
            .await;
            match made {
                Ok(Some((Some(q), _))) => {
                    let stem = file.rsplit_once('.').map_or(file.as_str(), |(s, _)| s);
                    text_file(q + "\n", &format!("{stem}.kql"))
                }
                Ok(Some((None, e))) => (
                    StatusCode::NOT_FOUND,
                    format!("not translated: {}\n", e.unwrap_or_default()),
                )
                    .into_response(),
                Ok(None) => not_found_html("translation", &key),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
            }
        }
    }
}

/// The rule key of a download address.
fn rule_key_owned(key: &str) -> &str {
    download(key).map_or(key, |(k, _)| k)
}

async fn rule_page(State(st): State<Arc<AppState>>, Path(key): Path<String>) -> Response {
    let Some(rule) = st.catalog.find(&key) else {
        return rule_download(st, key).await;
    };
    if let Some(page) = st.pages.get(&rule.key) {
        return html_bytes(StatusCode::OK, page);
    }
    // The report translates the rule: CPU work, off the async workers.
    let made = tokio::task::spawn_blocking(move || {
        let rule = st.catalog.find(&key).expect("found above");
        let page = pages::RulePage::new(rule, catalog::report(&st.catalog, rule)).render()?;
        let page = axum::body::Bytes::from(page);
        st.pages.insert(&rule.key, page.clone());
        Ok::<_, askama::Error>(page)
    })
    .await;
    match made {
        Ok(Ok(page)) => html_bytes(StatusCode::OK, page),
        Ok(Err(e)) => html(StatusCode::INTERNAL_SERVER_ERROR, Err(e)),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
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
    language: &'a str,
    /// The later of the rule's `modified` and `date`, as `YYYY-MM-DD`.
    date: Option<String>,
    attack: &'a [String],
}

/// The index as JSON, `limit` (at most [`API_MAX`], the default) rules from `offset`; the
/// number of matching rules in `X-Total-Count` and the next window in a `Link: <…>; rel="next"`
/// header.
async fn api_index(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    let limit = f.limit.unwrap_or(API_MAX).min(API_MAX);
    let offset = f.offset.unwrap_or(0);
    let mut total = 0;
    let mut list = Vec::new();
    for e in st.filter(&f) {
        if total >= offset && list.len() < limit {
            let r = &st.catalog.rules[e.rule];
            list.push(ApiEntry {
                key: &r.key,
                title: &r.meta.title,
                id: r.meta.id.as_deref(),
                level: r.meta.level.as_deref(),
                status: r.meta.status.as_deref(),
                source: &r.source,
                language: &r.language,
                date: rule_date(r),
                attack: &r.attack,
            });
        }
        total += 1;
    }
    let mut res = json(StatusCode::OK, &list);
    let h = res.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    if offset.saturating_add(list.len()) < total {
        let (next, limit) = ((offset + list.len()).to_string(), limit.to_string());
        let mut params = f.params();
        params.extend([("offset", next.as_str()), ("limit", limit.as_str())]);
        let link = format!("<{}>; rel=\"next\"", url::href("/api/rules", &params));
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.insert(header::LINK, v);
        }
    }
    res
}

async fn api_rule(State(st): State<Arc<AppState>>, Path(key): Path<String>) -> Response {
    match st.catalog.find(&key) {
        Some(rule) => json(StatusCode::OK, &catalog::report(&st.catalog, rule)),
        None => not_found_json(format!("no rule with key or id {key:?}")),
    }
}

/// The coverage the filters ask for: with `target` (and `have`), only the rules that deploy.
/// The first request naming a target converts the catalog's Sigma rules for it, on a blocking
/// thread; later ones read the kept tables.
async fn coverage_of<'a>(
    st: &'a Arc<AppState>,
    f: &Filter,
) -> Result<catalog::Coverage<'a>, String> {
    if f.target.trim().is_empty() {
        if !f.have.trim().is_empty() {
            return Err("`have` needs a `target` (the tables are a target's)".into());
        }
        return Ok(catalog::coverage(&st.catalog, f.scope()));
    }
    let d = catalog::translate::Deployment::parse(&f.target, &f.have)?;
    let name = d.target.name();
    let state = Arc::clone(st);
    let ready = tokio::task::spawn_blocking(move || {
        let cell = &state.deployments[name];
        cell.get_or_init(|| catalog::translate::converted_tables(&state.catalog.rules, d.target))
            .as_ref()
            .err()
            .cloned()
    })
    .await;
    match ready {
        Ok(None) => {}
        Ok(Some(e)) => return Err(e),
        Err(e) => return Err(format!("converting the rules failed: {e}")),
    }
    let Some(Ok(tables)) = st.deployments[name].get() else {
        return Err("no deployment computed".into());
    };
    Ok(catalog::coverage::coverage_of(
        &st.catalog,
        f.scope(),
        &|r| tables.get(&r.key).is_some_and(|t| d.admits(t)),
    ))
}

fn bad_request(message: impl Into<String>) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "error": message.into() }),
    )
}

async fn coverage_page(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    let c = match coverage_of(&st, &f).await {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    let scope = f.scope();
    let mut page = pages::CoveragePage::new(
        &c,
        scope,
        st.source_options(&f.source),
        st.language_options(&f.language),
        |key| st.catalog.get(key).map(|r| r.meta.title.as_str()),
    );
    page.set_deployment(&f.target, &f.have);
    html(StatusCode::OK, page.render())
}

async fn api_coverage(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    match coverage_of(&st, &f).await {
        Ok(c) => json(StatusCode::OK, &c),
        Err(e) => bad_request(e),
    }
}

/// The transforms of an indicator (`?transforms=a|b`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IndicatorQuery {
    transforms: String,
}

/// The indicator an address names, or why it names none.
fn indicator_id(
    concept: &str,
    kind: &str,
    value: &str,
    q: &IndicatorQuery,
) -> Result<catalog::related::IndicatorId, String> {
    let kind =
        catalog::concepts::kind_from_str(kind).ok_or_else(|| format!("no test kind {kind:?}"))?;
    Ok(catalog::related::IndicatorId {
        concept: (concept != "-").then(|| concept.to_string()),
        kind,
        value: value.to_lowercase(),
        transforms: q
            .transforms
            .split('|')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

async fn indicator_page(
    State(st): State<Arc<AppState>>,
    Path((concept, kind, value)): Path<(String, String, String)>,
    Query(q): Query<IndicatorQuery>,
) -> Response {
    let id = match indicator_id(&concept, &kind, &value, &q) {
        Ok(id) => id,
        Err(e) => return not_found_html("indicator", &e),
    };
    let found = catalog::related::indicator_rules(&st.catalog, &id);
    let page = pages::IndicatorPage {
        text: found.indicator.text(),
        total: found.rules.total,
        groups: pages::source_groups(&found.rules),
        json_href: format!("/api{}", url::indicator_href(&found.indicator)),
    };
    html(StatusCode::OK, page.render())
}

async fn api_indicator(
    State(st): State<Arc<AppState>>,
    Path((concept, kind, value)): Path<(String, String, String)>,
    Query(q): Query<IndicatorQuery>,
) -> Response {
    match indicator_id(&concept, &kind, &value, &q) {
        Ok(id) => json(
            StatusCode::OK,
            &catalog::related::indicator_rules(&st.catalog, &id),
        ),
        Err(e) => not_found_json(e),
    }
}

async fn technique_page(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let t = catalog::related::technique_rules(&st.catalog, &id);
    if t.name.is_none() && t.rules.total == 0 && t.rules.retired.is_empty() {
        return not_found_html("technique", &id);
    }
    html(StatusCode::OK, pages::TechniquePage::new(&t).render())
}

async fn api_technique(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let t = catalog::related::technique_rules(&st.catalog, &id);
    if t.name.is_none() && t.rules.total == 0 && t.rules.retired.is_empty() {
        return not_found_json(format!("no technique {id:?}"));
    }
    json(StatusCode::OK, &t)
}

async fn stories_page(State(st): State<Arc<AppState>>) -> Response {
    html(
        StatusCode::OK,
        pages::StoriesPage::new(st.catalog.stories()).render(),
    )
}

async fn story_page(State(st): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    match st.catalog.story(&name) {
        Some(s) => {
            let view = catalog::stories::view(&st.catalog, s);
            html(StatusCode::OK, pages::StoryPage::new(&view).render())
        }
        None => not_found_html("analytic story", &name),
    }
}

/// The stories as a list: name, source, detections named, retirement.
async fn api_stories(State(st): State<Arc<AppState>>) -> Response {
    #[derive(Serialize)]
    struct Entry<'a> {
        name: &'a str,
        id: Option<&'a str>,
        source: &'a str,
        detections: usize,
        retired: Option<ir::Retired>,
    }
    let list: Vec<Entry> = st
        .catalog
        .stories()
        .iter()
        .map(|s| Entry {
            name: &s.name,
            id: s.id.as_deref(),
            source: &s.source,
            detections: s.detections.len(),
            retired: s.retired,
        })
        .collect();
    json(StatusCode::OK, &list)
}

async fn api_story(State(st): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    match st.catalog.story(&name) {
        Some(s) => json(StatusCode::OK, &catalog::stories::view(&st.catalog, s)),
        None => not_found_json(format!("no analytic story {name:?}")),
    }
}

/// The coverage view as an ATT&CK Navigator layer, downloaded as a file.
async fn api_navigator(State(st): State<Arc<AppState>>, Query(f): Query<Filter>) -> Response {
    let scope = f.scope();
    let c = match coverage_of(&st, &f).await {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    let layer = catalog::navigator::layer(&c, &catalog::navigator::scope_text(scope));
    let mut res = json(StatusCode::OK, &layer);
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"detdex-navigator-layer.json\""),
    );
    res
}

/// An ATT&CK Navigator layer (the request's body, at most [`LAYER_LIMIT`] bytes: 413 past it)
/// against the coverage view the filters ask for ([`compare_layer`]). A body that is not a
/// layer is a 400 saying why.
async fn api_compare(
    State(st): State<Arc<AppState>>,
    Query(f): Query<Filter>,
    body: axum::body::Bytes,
) -> Response {
    match compare_layer(&st, &f, &body).await {
        Ok(cmp) => json(StatusCode::OK, &cmp),
        Err((status, e)) => error_json(status, e),
    }
}

/// The coverage page's form: the layer file of a `multipart/form-data` upload (field `layer`,
/// at most [`LAYER_LIMIT`] bytes) against the coverage view the filters (the form's query
/// string) ask for, as a page; what cannot be compared is a 400 (or 413) page saying why.
async fn compare_page(
    State(st): State<Arc<AppState>>,
    Query(f): Query<Filter>,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let compared = match layer_file(form).await {
        Ok(layer) => compare_layer(&st, &f, &layer).await,
        Err(e) => Err(e),
    };
    match compared {
        Ok(cmp) => html(
            StatusCode::OK,
            pages::ComparePage::new(&cmp, coverage_href(&f)).render(),
        ),
        Err((status, why)) => html(
            status,
            pages::CompareErrorPage {
                status: status.as_u16(),
                why,
                back: coverage_href(&f),
            }
            .render(),
        ),
    }
}

/// The coverage page of the filters a comparison was made with.
fn coverage_href(f: &Filter) -> String {
    url::href(
        "/coverage",
        &[
            ("source", f.source.as_str()),
            ("language", f.language.as_str()),
            ("target", f.target.trim()),
            ("have", f.have.trim()),
            ("retired", flag_param(f.retired)),
        ],
    )
}

/// The layer a form uploads (its field `layer`), read up to [`LAYER_LIMIT`] bytes.
async fn layer_file(
    form: Result<Multipart, MultipartRejection>,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let part = |e: axum::extract::multipart::MultipartError| (e.status(), e.body_text());
    let mut form = form.map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("not a file upload (multipart/form-data): {}", e.body_text()),
        )
    })?;
    while let Some(mut field) = form.next_field().await.map_err(part)? {
        if field.name() != Some("layer") {
            continue;
        }
        let mut layer = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(part)? {
            if layer.len() + chunk.len() > LAYER_LIMIT {
                return Err(too_large());
            }
            layer.extend_from_slice(&chunk);
        }
        if layer.is_empty() {
            return Err((
                StatusCode::BAD_REQUEST,
                "the file is empty: choose a Navigator layer (.json)".into(),
            ));
        }
        return Ok(layer);
    }
    Err((
        StatusCode::BAD_REQUEST,
        "the form holds no file `layer`: choose a Navigator layer (.json)".into(),
    ))
}

fn too_large() -> (StatusCode, String) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the layer is larger than {} MiB: a layer of every technique is well under 1 MiB",
            LAYER_LIMIT >> 20
        ),
    )
}

/// A layer (its bytes) against the coverage view the filters ask for: the techniques in both,
/// in the layer only, in the catalog only, and the layer's entries that count nowhere with
/// why ([`catalog::navigator::compare`]); the API and the coverage page's form answer with it.
async fn compare_layer(
    st: &Arc<AppState>,
    f: &Filter,
    layer: &[u8],
) -> Result<catalog::navigator::Comparison, (StatusCode, String)> {
    let bad = |e: String| (StatusCode::BAD_REQUEST, e);
    if layer.len() > LAYER_LIMIT {
        return Err(too_large());
    }
    let text = std::str::from_utf8(layer).map_err(|_| bad("the layer is not UTF-8 text".into()))?;
    let c = coverage_of(st, f).await.map_err(bad)?;
    let scope = catalog::navigator::scope_text(f.scope());
    catalog::navigator::compare(text, &c, &scope).map_err(|e| bad(e.to_string()))
}

/// One of the site's own static files, cached by the browser for an hour.
fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn copy_script() -> Response {
    static_file("text/javascript; charset=utf-8", COPY_SCRIPT)
}

async fn style() -> Response {
    static_file("text/css; charset=utf-8", STYLE)
}

async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") {
        not_found_json(format!("no such endpoint: {path}"))
    } else {
        not_found_html("page", path)
    }
}
