//! The detdex web site: server-rendered HTML pages for the catalog and a JSON API.
//!
//! Routes:
//! - `GET /` — the index of all rules, sorted by title; `?q=` filters by a case-insensitive
//!   substring of title, id or ATT&CK technique, `?source=` and `?language=` by exact name,
//!   `?technique=` to the rules the coverage counts for a technique (its sub-techniques included).
//! - `GET /rules/{*key}` — one rule: metadata, ATT&CK, body, stages, exclusions, indicators.
//! - `GET /api/rules` — the index as JSON (same filters); `GET /api/rules/{*key}` — the rule's
//!   [`catalog::Report`] as JSON.
//! - `GET /coverage` — the ATT&CK matrix: rules per tactic, technique and sub-technique, each
//!   count linking to the index; `?source=` and `?language=` as for the index.
//!   `GET /api/coverage` — the same [`catalog::Coverage`] as JSON.
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
use std::sync::Arc;

pub use url::rule_href;

const STYLE: &str = include_str!("../static/style.css");

/// The policy sent with every HTML page: only our own style sheet, nothing else.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The catalog and what the index needs, computed once when the router is built.
struct AppState {
    catalog: Arc<Catalog>,
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
    fn new(catalog: Arc<Catalog>) -> AppState {
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
        }
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

    /// The `<option>`s of a filter: each name with its rule count, the chosen one selected.
    fn options(counts: &BTreeMap<String, usize>, chosen: &str) -> Vec<pages::SourceOption> {
        counts
            .iter()
            .map(|(name, &count)| pages::SourceOption {
                selected: *name == chosen,
                name: name.clone(),
                count,
            })
            .collect()
    }
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
        }
    }
}

/// The site's routes over a catalog.
pub fn router(catalog: Arc<Catalog>) -> Router {
    let state = Arc::new(AppState::new(catalog));
    Router::new()
        .route("/", get(index))
        .route("/rules/{*key}", get(rule_page))
        .route("/api/rules", get(api_index))
        .route("/api/rules/{*key}", get(api_rule))
        .route("/coverage", get(coverage_page))
        .route("/api/coverage", get(api_coverage))
        .route("/static/style.css", get(style))
        .fallback(fallback)
        .with_state(state)
}

/// Bind `addr`, print the site's address to stderr and serve until the process is stopped.
pub async fn serve(catalog: Arc<Catalog>, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, catalog).await
}

/// Serve on a listener already bound (tests bind port 0 and read the port back).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    catalog: Arc<Catalog>,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let shown = if local.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), local.port())
    } else {
        local
    };
    eprintln!(
        "detdex: serving {} rules on http://{shown}/",
        catalog.rules.len()
    );
    // The converters of the rule pages' translations, built while the first request comes.
    std::thread::spawn(catalog::translate::prepare);
    axum::serve(listener, router(catalog)).await
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
    #[derive(Serialize)]
    struct Error {
        error: String,
    }
    json(StatusCode::NOT_FOUND, &Error { error: message })
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
        sources: AppState::options(&st.sources, &f.source),
        rows,
    };
    html(StatusCode::OK, page.render())
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
        AppState::options(&st.sources, &f.source),
        AppState::options(&st.languages, &f.language),
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
