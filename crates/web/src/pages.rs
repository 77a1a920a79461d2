//! The HTML pages: view models built from the catalog and its [`catalog::Report`], rendered by
//! askama templates with HTML escaping on. Rule text is untrusted and never marked safe.

use crate::url::{
    attack_href, feed_href, index_href, indicator_href, is_http, rule_href, search_href,
    story_href, technique_href,
};
use askama::Template;
use catalog::Report;
use ir::{Format, Rule};

/// How a rule's language is named in breadcrumbs and badges.
pub fn language_name(language: &str) -> String {
    match language.to_ascii_lowercase().as_str() {
        "sigma" => "Sigma".into(),
        "spl" => "SPL".into(),
        "kql" => "KQL".into(),
        "eql" => "EQL".into(),
        "esql" | "es|ql" => "ES|QL".into(),
        "kuery" => "Kibana KQL".into(),
        "lucene" => "Lucene".into(),
        "ml" => "Machine learning".into(),
        "sql" => "osquery SQL".into(),
        "" => "Other".into(),
        _ => language.into(),
    }
}

/// A CSS class for a severity level; unknown levels share one class.
fn level_class(level: Option<&str>) -> &'static str {
    match level.map(str::to_ascii_lowercase).as_deref() {
        Some("informational") => "lvl-info",
        Some("low") => "lvl-low",
        Some("medium") => "lvl-medium",
        Some("high") => "lvl-high",
        Some("critical") => "lvl-critical",
        _ => "lvl-other",
    }
}

// ---------------------------------------------------------------------------------------------
// Index

pub struct IndexRow<'a> {
    pub href: &'a str,
    pub title: &'a str,
    pub level: &'a str,
    pub level_class: &'static str,
    pub status: &'a str,
    pub source: &'a str,
    pub source_href: String,
    pub attack: Vec<Link>,
    /// `deprecated`, `unsupported`, `placeholder`; empty for a live rule.
    pub retired: &'static str,
}

impl<'a> IndexRow<'a> {
    pub fn new(rule: &'a Rule, href: &'a str) -> Self {
        IndexRow {
            href,
            title: display_title(rule),
            level: rule.meta.level.as_deref().unwrap_or(""),
            level_class: level_class(rule.meta.level.as_deref()),
            status: rule.meta.status.as_deref().unwrap_or(""),
            source: &rule.source,
            source_href: index_href(&[("source", &rule.source)]),
            retired: retired_label(Some(rule)),
            attack: rule
                .attack
                .iter()
                .map(|t| Link {
                    text: t.clone(),
                    href: Some(index_href(&[("technique", t)])),
                })
                .collect(),
        }
    }
}

pub struct SourceOption {
    pub name: String,
    pub count: usize,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    /// Rules in the catalog.
    pub total: usize,
    /// Rules the filters keep.
    pub matching: usize,
    /// The position of the first row shown among them (from 1).
    pub first: usize,
    pub q: &'a str,
    /// Filters without a control in the form, kept as hidden fields.
    pub language: &'a str,
    /// The technique the index is filtered to (`?technique=`).
    pub technique: &'a str,
    /// The log the index is filtered to (`?log=`).
    pub log: &'a str,
    /// Whether retired rules are listed (`?retired=1`).
    pub retired: bool,
    /// The order (`?sort=`), empty for the default (title).
    pub sort: &'a str,
    pub filtered: bool,
    pub sources: Vec<SourceOption>,
    pub levels: Vec<SourceOption>,
    pub statuses: Vec<SourceOption>,
    pub sorts: Vec<SortLink>,
    pub pager: Pager,
    pub rows: Vec<IndexRow<'a>>,
}

/// A link that sorts the index.
pub struct SortLink {
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

// ---------------------------------------------------------------------------------------------
// Feed and search

/// One entry of the feed page.
pub struct FeedRow<'a> {
    /// The rule's page; `None` when the rule is no longer in the catalog.
    pub href: Option<String>,
    pub title: &'a str,
    pub kind: &'static str,
    /// The date alone (`2024-03-01`), date and time when the store saw the change, or
    /// `no date`.
    pub date: String,
    pub source: &'a str,
    pub source_href: String,
    pub language: String,
    pub level: &'a str,
    pub level_class: &'static str,
    pub retired: &'static str,
}

/// How a retired rule is marked in lists; empty for a live rule or one not in the catalog.
pub fn retired_label(rule: Option<&Rule>) -> &'static str {
    rule.and_then(|r| r.meta.retired).map_or("", |r| r.as_str())
}

impl<'a> FeedRow<'a> {
    /// `rule`: the entry's rule in the catalog, if it is still there.
    pub fn new(e: &'a store::FeedEntry, rule: Option<&Rule>) -> Self {
        FeedRow {
            retired: retired_label(rule),
            href: rule.is_some().then(|| rule_href(&e.key)),
            title: display(&e.title, &e.key),
            kind: e.kind.as_str(),
            date: e.date.as_deref().map_or_else(
                || "no date".to_string(),
                |d| d.replacen('T', " ", 1).trim_end_matches('Z').to_string(),
            ),
            source: &e.source,
            source_href: feed_href(&[("source", &e.source)]),
            language: language_name(&e.language),
            level: e.level.as_deref().unwrap_or(""),
            level_class: level_class(e.level.as_deref()),
        }
    }
}

#[derive(Template)]
#[template(path = "feed.html")]
pub struct FeedPage<'a> {
    pub rows: Vec<FeedRow<'a>>,
    pub page: usize,
    pub newer: Option<String>,
    pub older: Option<String>,
    pub filtered: bool,
    pub sources: Vec<SourceOption>,
    pub languages: Vec<SourceOption>,
    /// Rules in the catalog.
    pub total: usize,
}

/// Links to the pages before and after this one of a list.
pub struct Pager {
    /// This page, from 1.
    pub page: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// One search result.
pub struct HitRow<'a> {
    pub href: String,
    pub title: &'a str,
    pub source: &'a str,
    /// The same search in this source only.
    pub source_href: String,
    pub language: String,
    pub level: &'a str,
    pub level_class: &'static str,
    /// Why the rule is retired (deprecated, unsupported, placeholder), or empty.
    pub retired: &'a str,
    pub snippet: &'a [store::Fragment],
}

impl<'a> HitRow<'a> {
    pub fn new(h: &'a store::Hit, q: &str) -> Self {
        HitRow {
            href: rule_href(&h.key),
            title: display(&h.title, &h.key),
            source: &h.source,
            source_href: search_href(&[("q", q), ("source", &h.source)]),
            language: language_name(&h.language),
            level: h.level.as_deref().unwrap_or(""),
            level_class: level_class(h.level.as_deref()),
            retired: h.retired.as_deref().unwrap_or(""),
            snippet: &h.snippet,
        }
    }
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage<'a> {
    pub q: &'a str,
    /// Whether the query has any text (else the page is only the form).
    pub searched: bool,
    /// The rank of the first row shown (from 1).
    pub first: usize,
    /// Why the search gave no answer (query too long or too slow).
    pub error: Option<String>,
    pub rows: Vec<HitRow<'a>>,
    pub pager: Pager,
    pub sources: Vec<SourceOption>,
    pub languages: Vec<SourceOption>,
    pub level: &'a str,
    /// Whether retired rules are included (after the others).
    pub retired: bool,
}

/// One entry of the Atom feed.
pub struct AtomEntry {
    pub id: String,
    pub title: String,
    pub href: String,
    pub updated: String,
    pub summary: String,
}

/// The Atom feed (`feed.xml`, escaped as XML by askama's HTML escaper: numeric references).
#[derive(Template)]
#[template(path = "feed.xml")]
pub struct AtomFeed {
    pub updated: String,
    pub entries: Vec<AtomEntry>,
    /// The site's public address: the feed's links are absolute.
    pub base: String,
}

impl AtomFeed {
    pub fn new(entries: &[store::FeedEntry], recorded: Option<&str>, base: &str) -> AtomFeed {
        let entries: Vec<AtomEntry> = entries
            .iter()
            .map(|e| {
                // An undated rule: when the store first saw it.
                let updated = atom_date(e.date.as_deref().unwrap_or(&e.first_seen));
                AtomEntry {
                    id: format!(
                        "urn:detdex:{}:{}",
                        crate::url::encode_component(&e.key),
                        crate::url::encode_component(&updated)
                    ),
                    title: xml_text(&format!(
                        "{} ({})",
                        display(&e.title, &e.key),
                        e.kind.as_str()
                    )),
                    href: xml_text(&format!("{base}{}", rule_href(&e.key))),
                    summary: xml_text(&format!(
                        "{} {} rule, {}{}",
                        e.source,
                        language_name(&e.language),
                        e.kind.as_str(),
                        e.level
                            .as_deref()
                            .map(|l| format!(", level {l}"))
                            .unwrap_or_default()
                    )),
                    updated,
                }
            })
            .collect();
        let updated = entries
            .iter()
            .map(|e| e.updated.clone())
            .chain(recorded.map(atom_date))
            .max()
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
        AtomFeed {
            updated,
            entries,
            base: xml_text(base),
        }
    }
}

/// A title, or the key when the title is blank.
fn display<'a>(title: &'a str, key: &'a str) -> &'a str {
    if title.trim().is_empty() { key } else { title }
}

/// An RFC 3339 date-time for Atom: a date alone is that day's midnight UTC.
fn atom_date(date: &str) -> String {
    if date.len() == 10 {
        format!("{date}T00:00:00Z")
    } else {
        date.to_string()
    }
}

/// Text without the characters XML 1.0 forbids (control characters but tab and newlines).
fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|&c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .filter(|&c| c != '\u{FFFE}' && c != '\u{FFFF}')
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rule page

/// Text, clickable when `href` is set.
#[derive(Clone)]
pub struct Link {
    pub text: String,
    pub href: Option<String>,
}

impl Link {
    fn text(text: impl Into<String>) -> Self {
        Link {
            text: text.into(),
            href: None,
        }
    }
}

/// One entry of the metadata list.
pub struct MetaItem {
    pub label: &'static str,
    pub values: Vec<Link>,
    /// Render the values as code (ids, tags, paths).
    pub code: bool,
}

/// Adds an entry to a metadata list, unless it has no value.
fn push_meta(meta: &mut Vec<MetaItem>, label: &'static str, values: Vec<Link>, code: bool) {
    if !values.is_empty() {
        meta.push(MetaItem {
            label,
            values,
            code,
        })
    }
}

/// Each text as a value of a metadata entry.
fn texts(v: &[String]) -> Vec<Link> {
    v.iter().map(Link::text).collect()
}

/// The text, if any, as the value of a metadata entry.
fn opt(v: Option<&str>) -> Vec<Link> {
    v.map(Link::text).into_iter().collect()
}

pub struct TacticGroup {
    pub tactic: String,
    pub techniques: Vec<Link>,
}

pub struct PredRow<'a> {
    /// `None` for a keyword search.
    pub field: Option<&'a str>,
    pub kind: &'static str,
    pub negated: bool,
    pub notes: Vec<String>,
    pub values: &'a [ir::Value],
}

pub struct StageBlock<'a> {
    pub n: usize,
    pub label: &'a str,
    pub text: &'a str,
    pub preds: Vec<PredRow<'a>>,
}

/// One exclusion: the rule drops an event when all its rows hold.
pub struct ExclusionGroup {
    pub stage: String,
    /// For an anti-join: `rows whose UserPrincipalName appears in the other data set, where`.
    pub join: String,
    pub rows: Vec<ExclusionRow>,
    /// The condition as text, when it is not a conjunction of rows.
    pub text: String,
}

pub struct ExclusionRow {
    pub field: Option<String>,
    pub kind: &'static str,
    /// A re-inclusion: the event is excluded only when this row does *not* hold.
    pub negated: bool,
    pub notes: Vec<String>,
    pub values: Vec<String>,
}

/// One exclusion as the page shows it. An exclusion of one row is one group per value (`not (x
/// in (a, b))` drops `a` and drops `b`), as on the seed pages; the rows of a larger group are
/// AND-ed.
fn exclusion_groups(x: &ir::Exclusion) -> Vec<ExclusionGroup> {
    let row = |row: &ir::Row, values: Vec<String>| ExclusionRow {
        field: row.field.clone(),
        kind: row.kind.as_str(),
        negated: row.negated,
        notes: test_notes(&row.transforms, row.case_sensitive),
        values,
    };
    let group = |rows: Vec<ExclusionRow>| ExclusionGroup {
        stage: x.stage.clone(),
        join: if x.join_on.is_empty() {
            String::new()
        } else {
            format!(
                "rows whose {} appear in the other data set, where",
                x.join_on.join(", ")
            )
        },
        text: if x.all.is_empty() {
            x.text.clone()
        } else {
            String::new()
        },
        rows,
    };
    match x.all.as_slice() {
        [one] if !one.negated && x.join_on.is_empty() && one.values.len() > 1 => one
            .values
            .iter()
            .map(|v| group(vec![row(one, vec![v.written.clone()])]))
            .collect(),
        all => vec![group(
            all.iter()
                .map(|r| row(r, r.values.iter().map(|v| v.written.clone()).collect()))
                .collect(),
        )],
    }
}

/// The notes shown beside a test's kind: its transforms, and its case when it matters.
fn test_notes(transforms: &[String], case_sensitive: bool) -> Vec<String> {
    let mut notes = transforms.to_vec();
    if case_sensitive {
        notes.push("case-sensitive".into());
    }
    notes
}

pub struct IndicatorRow {
    pub field: Option<String>,
    pub kind: &'static str,
    pub notes: Vec<String>,
    pub value: String,
    /// `12 (sigma 10, other 2)`; empty when only this rule has it.
    pub corpus: String,
    /// The indicator's page, listing the rules counted.
    pub corpus_href: String,
}

/// A rule like this one, and what they share.
pub struct SimilarRow {
    pub rule: RuleLink,
    pub score: String,
    pub shared: Vec<Link>,
    /// Shared indicators not shown.
    pub more: usize,
}

/// A rule in a list: its page, title, source and badges.
pub struct RuleLink {
    pub href: String,
    pub title: String,
    pub source: String,
    pub level: String,
    pub level_class: &'static str,
    pub retired: &'static str,
}

impl RuleLink {
    pub fn new(r: &catalog::related::RuleRef) -> Self {
        RuleLink {
            href: rule_href(r.key),
            title: display(r.title, r.key).to_string(),
            source: r.source.to_string(),
            level: r.level.unwrap_or("").to_string(),
            level_class: level_class(r.level),
            retired: r.retired.unwrap_or(""),
        }
    }
}

/// A source's rules in a list.
pub struct SourceGroup {
    pub source: String,
    pub rules: Vec<RuleLink>,
}

/// Live rules by source, then the retired ones as a group of their own.
pub fn source_groups(b: &catalog::related::BySource) -> Vec<SourceGroup> {
    let mut groups: Vec<SourceGroup> = b
        .by_source
        .iter()
        .map(|(s, rules)| SourceGroup {
            source: format!("{s} ({})", rules.len()),
            rules: rules.iter().map(RuleLink::new).collect(),
        })
        .collect();
    if !b.retired.is_empty() {
        groups.push(SourceGroup {
            source: format!("retired ({})", b.retired.len()),
            rules: b.retired.iter().map(RuleLink::new).collect(),
        });
    }
    groups
}

#[derive(Template)]
#[template(path = "indicator.html")]
pub struct IndicatorPage {
    pub text: String,
    pub total: usize,
    pub groups: Vec<SourceGroup>,
    pub json_href: String,
}

#[derive(Template)]
#[template(path = "technique.html")]
pub struct TechniquePage {
    pub id: String,
    pub name: String,
    pub state: String,
    pub tactics: String,
    pub attack_href: String,
    pub parent: Option<Link>,
    pub subtechniques: Vec<Link>,
    pub total: usize,
    pub groups: Vec<SourceGroup>,
}

impl TechniquePage {
    pub fn new(t: &catalog::related::TechniqueRules) -> Self {
        TechniquePage {
            id: t.id.clone(),
            name: t.name.unwrap_or("").to_string(),
            state: t.state.unwrap_or("not in the ATT&CK tables").to_string(),
            tactics: t.tactics.join(", "),
            attack_href: attack_href(&t.id),
            parent: t.parent.map(|(id, name)| Link {
                text: format!("{id} {name}"),
                href: Some(technique_href(id)),
            }),
            subtechniques: t
                .subtechniques
                .iter()
                .map(|(id, name)| Link {
                    text: format!("{id} {name}"),
                    href: Some(technique_href(id)),
                })
                .collect(),
            total: t.rules.total,
            groups: source_groups(&t.rules),
        }
    }
}

/// One target's query, or why the rule has none.
pub struct TranslationBlock {
    /// The target's name, also the section's id (`kql-xdr`).
    pub target: &'static str,
    pub label: &'static str,
    pub query: Option<String>,
    pub error: String,
    /// The query as a file (`/rules/KEY/kql-xdr.kql`).
    pub href: String,
}

/// A row of "Required Data Sources".
pub struct DataSourceRow {
    pub table: String,
    /// `Ensure this data connector is enabled`, and which targets' queries read the table.
    pub note: &'static str,
    pub used_by: String,
}

pub struct Badge {
    pub label: &'static str,
    pub value: String,
    pub class: &'static str,
}

#[derive(Template)]
#[template(path = "rule.html")]
pub struct RulePage<'a> {
    pub title: &'a str,
    pub description: &'a str,
    /// Seed 004 (Splunk) shows the metadata first, then the description; seeds 000–003 the
    /// description under the title.
    pub description_after_meta: bool,
    pub language: String,
    pub language_href: String,
    pub body_language: &'a str,
    pub badges: Vec<Badge>,
    pub meta: Vec<MetaItem>,
    pub tactics: Vec<TacticGroup>,
    /// Technique ids the rule names that ATT&CK does not know.
    pub unknown_techniques: Vec<&'a str>,
    pub text: &'a str,
    pub stages: Vec<StageBlock<'a>>,
    pub exclusions: Vec<ExclusionGroup>,
    pub indicators: Vec<IndicatorRow>,
    pub translations: Vec<TranslationBlock>,
    pub data_sources: Vec<DataSourceRow>,
    /// Sections of prose from the rule's document (KQL rules).
    pub prose: Vec<Prose<'a>>,
    /// Hunt hypothesis, false-positive guidance, confidence ([`catalog::analyst`]).
    pub analyst: catalog::analyst::Analyst,
    /// The rule's text as a file (`/rules/KEY/raw`).
    pub raw_href: String,
    /// The logs and events the rule reads, each with the index of the rules reading it.
    pub events: Vec<(catalog::events::EventRow, String)>,
    pub similar: Vec<SimilarRow>,
    /// The Sigma `related:` entries.
    pub related: Vec<Link>,
}

fn display_title(rule: &Rule) -> &str {
    display(&rule.meta.title, &rule.key)
}

impl<'a> RulePage<'a> {
    pub fn new(rule: &'a Rule, r: Report<'a>) -> Self {
        let m = r.meta;
        let mut badges = Vec::new();
        if let Some(l) = r.level {
            badges.push(Badge {
                label: "level",
                value: l.to_string(),
                class: level_class(Some(l)),
            });
        }
        if let Some(s) = r.status {
            badges.push(Badge {
                label: "status",
                value: s.to_string(),
                class: "status",
            });
        }
        badges.extend(risk_badge(m));
        badges.push(Badge {
            label: "confidence (see the Confidence section)",
            value: format!("Confidence: {}", r.analyst.confidence.level),
            class: "confidence",
        });
        badges.push(Badge {
            label: "source",
            value: r.source.to_string(),
            class: "source",
        });
        let language = language_name(r.language);
        badges.push(Badge {
            label: "language",
            value: language.clone(),
            class: "language",
        });

        let mut meta = Vec::new();
        let mut item = |label, values, code| push_meta(&mut meta, label, values, code);

        item("ID", opt(r.id), true);
        item("Name", opt(m.name.as_deref()), true);
        let authors = if m.authors.len() > 1 {
            "Authors"
        } else {
            "Author"
        };
        item(authors, texts(&m.authors), false);
        // One line, comma-separated, in the normalized names (sorted, each once, as the seeds
        // show them); the fields as written stay in the stages and the JSON.
        item(
            "Group by",
            opt(Some(r.group_by_normalized.join(", ").as_str()).filter(|s| !s.is_empty())),
            true,
        );
        item("Date", opt(m.date.as_deref()), false);
        item("Modified", opt(m.modified.as_deref()), false);
        item("License", opt(m.license.as_deref()), false);
        item(
            "Data sources",
            m.data_sources
                .iter()
                .map(|(k, v)| Link::text(format!("{k}: {v}")))
                .collect(),
            true,
        );
        item(
            "References",
            m.references
                .iter()
                .map(|u| Link {
                    text: u.clone(),
                    href: is_http(u).then(|| u.trim().to_string()),
                })
                .collect(),
            false,
        );
        item("False positives", texts(&m.false_positives), false);
        // A story with a file in the catalog links to its page; one without stays text.
        item(
            "Analytic stories",
            r.analytic_stories
                .iter()
                .map(|s| Link {
                    text: if s.found {
                        s.name.to_string()
                    } else {
                        format!("{} (no story file in this catalog)", s.name)
                    },
                    href: s.found.then(|| story_href(s.name)),
                })
                .collect(),
            false,
        );
        let tags: Vec<Link> = m
            .tags
            .iter()
            .filter(|t| !t.starts_with(catalog::stories::TAG))
            .map(Link::text)
            .collect();
        item("Tags", tags, true);
        item("Fields", texts(&m.fields), true);
        let related: Vec<Link> = r
            .related
            .iter()
            .map(|x| match &x.rule {
                Some(rule) => Link {
                    text: format!(
                        "{}: {} ({})",
                        x.relation,
                        display(rule.title, rule.key),
                        x.id
                    ),
                    href: Some(rule_href(rule.key)),
                },
                None => Link::text(format!("{}: {} (not in this catalog)", x.relation, x.id)),
            })
            .collect();
        item("Related", related.clone(), false);
        let link = |l: &catalog::LinkView| Link {
            text: match l.title {
                Some(t) if t != l.reference => format!("{t} ({})", l.reference),
                _ => l.reference.to_string(),
            },
            href: l.key.map(rule_href),
        };
        item("Applies to", r.links.iter().map(link).collect(), false);
        item(
            "Filtered or correlated by",
            r.referenced_by.iter().map(link).collect(),
            false,
        );
        let prose = prose_sections(r.format, m);
        item(
            "Other attributes",
            m.custom
                .iter()
                .filter(|(k, _)| !prose.iter().any(|p| p.title == k.as_str()))
                .map(|(k, v)| Link::text(format!("{k}: {v}")))
                .collect(),
            false,
        );
        let path = if r.path.is_empty() {
            Vec::new()
        } else if rule.pos.line > 0 {
            vec![Link::text(format!("{}:{}", r.path, rule.pos.line))]
        } else {
            vec![Link::text(r.path)]
        };
        item("File", path, true);
        item("Key", vec![Link::text(r.key)], true);
        if let Some(o) = &r.origin {
            let original = o.file_url.as_ref().map(|u| Link {
                text: format!("View original rule at {} →", o.label),
                href: Some(u.clone()),
            });
            item("Original", original.into_iter().collect(), false);
            item("Commit", vec![Link::text(o.commit)], true);
            item("Retrieved", vec![Link::text(o.retrieved_at)], false);
        }

        let mut tactics: Vec<TacticGroup> = Vec::new();
        for row in &r.techniques {
            let link = Link {
                text: format!("{} {}", row.technique, row.name),
                href: Some(technique_href(&row.technique)),
            };
            match tactics.iter_mut().find(|g| g.tactic == row.tactic) {
                Some(g) => {
                    if !g.techniques.iter().any(|l| l.text == link.text) {
                        g.techniques.push(link)
                    }
                }
                None => tactics.push(TacticGroup {
                    tactic: row.tactic.clone(),
                    techniques: vec![link],
                }),
            }
        }
        let unknown_techniques = r
            .attack
            .iter()
            .filter(|id| !r.techniques.iter().any(|t| &t.technique == *id))
            .map(String::as_str)
            .collect();

        // As the seeds number them: a Sigma rule's condition is stage 0 and its detections
        // follow from 1 (seed 001); the pipeline stages of the other languages count from 1
        // (seed 004).
        let first = usize::from(r.format != Format::Sigma);
        let stages = r
            .stages
            .iter()
            .enumerate()
            .map(|(n, s)| StageBlock {
                n: n + first,
                label: s.label,
                text: s.text,
                preds: s
                    .predicates
                    .iter()
                    .map(|p| PredRow {
                        field: p.field,
                        kind: p.kind.as_str(),
                        negated: p.negated,
                        notes: test_notes(p.transforms, p.case_sensitive),
                        values: p.values,
                    })
                    .collect(),
            })
            .collect();

        let exclusions = r.exclusions.iter().flat_map(exclusion_groups).collect();
        let indicators = r
            .indicators
            .iter()
            .flat_map(|row| {
                let row_of = |value: Option<&ir::Value>, corpus: String| IndicatorRow {
                    field: row.field.clone(),
                    kind: row.kind.as_str(),
                    notes: test_notes(&row.transforms, row.case_sensitive),
                    value: value.map(|v| v.written.clone()).unwrap_or_default(),
                    corpus_href: match value {
                        Some(v) if !corpus.is_empty() => {
                            indicator_href(&catalog::related::IndicatorId::of(
                                r.format,
                                row.field.as_deref(),
                                row.kind,
                                v,
                                &row.transforms,
                            ))
                        }
                        _ => String::new(),
                    },
                    corpus,
                };
                // A test without values (`exists`, `null`) is a row too.
                let valueless = row.values.is_empty().then(|| row_of(None, String::new()));
                let valued: Vec<IndicatorRow> = row
                    .values
                    .iter()
                    .zip(&row.corpus)
                    .map(|(v, c)| row_of(Some(v), corpus_text(c)))
                    .collect();
                valueless.into_iter().chain(valued)
            })
            .collect();

        let translations = r
            .translations
            .iter()
            .map(|t| TranslationBlock {
                href: format!("{}/{}.kql", rule_href(r.key), t.target),
                target: t.target,
                label: t.label,
                query: t.query.clone(),
                error: t.error.clone().unwrap_or_default(),
            })
            .collect();
        let data_sources = r
            .required_data_sources
            .iter()
            .map(|d| DataSourceRow {
                table: d.table.clone(),
                note: d.note,
                used_by: d
                    .targets
                    .iter()
                    .map(|t| {
                        r.translations
                            .iter()
                            .find(|x| x.target == *t)
                            .map_or(*t, |x| x.label)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect();

        RulePage {
            title: display_title(rule),
            description: r.meta.description.as_str(),
            description_after_meta: r.format == Format::Splunk,
            language_href: index_href(&[("language", r.language)]),
            language,
            // Sigma rules and security_content detections are both shown as their YAML file.
            body_language: if matches!(r.format, Format::Sigma | Format::Splunk) {
                "yaml"
            } else {
                r.language
            },
            badges,
            meta,
            tactics,
            unknown_techniques,
            text: r.text,
            stages,
            exclusions,
            indicators,
            translations,
            data_sources,
            prose,
            similar: r
                .similar
                .iter()
                .map(|s| SimilarRow {
                    rule: RuleLink::new(&s.rule),
                    score: format!("{:.1}", s.score),
                    shared: s
                        .shared
                        .iter()
                        .take(3)
                        .map(|i| Link {
                            text: i.text(),
                            href: Some(indicator_href(i)),
                        })
                        .collect(),
                    more: s.shared.len().saturating_sub(3),
                })
                .collect(),
            related,
            raw_href: format!("{}/raw", rule_href(r.key)),
            events: r
                .event_coverage
                .into_iter()
                .map(|e| {
                    let href = index_href(&[("log", &e.value)]);
                    (e, href)
                })
                .collect(),
            analyst: r.analyst,
        }
    }
}

/// A section of prose kept from the rule's document (FalconFriday's Considerations,
/// Detection Blind Spots, …), as paragraphs.
pub struct Prose<'a> {
    pub title: &'a str,
    pub paragraphs: Vec<&'a str>,
}

/// The risk score (0-100) a rule states (Elastic `risk_score`, Splunk `risk_score` or its
/// risk objects' score) beside its severity.
fn risk_badge(m: &ir::Meta) -> Option<Badge> {
    let score = m.custom.get("risk_score")?;
    Some(Badge {
        label: "risk score",
        value: format!("risk {score}"),
        class: "risk",
    })
}

/// The Markdown texts of an Elastic rule shown as sections: the investigation guide (`note`),
/// the setup, a hunt's notes. A paragraph ends at a blank line, and each heading or list item
/// is a paragraph of its own.
fn elastic_prose(m: &ir::Meta) -> Vec<Prose<'_>> {
    ["investigation guide", "setup", "notes"]
        .iter()
        .filter_map(|k| m.custom.get_key_value(*k))
        .map(|(k, v)| {
            let mut paragraphs: Vec<&str> = Vec::new();
            let mut start: Option<usize> = None;
            let mut offset = 0;
            for line in v.split_inclusive('\n') {
                let t = line.trim_start();
                let new_block = t.starts_with('#')
                    || t.starts_with("- ")
                    || t.starts_with("* ")
                    || t.trim().is_empty();
                if new_block && let Some(s) = start.take() {
                    paragraphs.push(v[s..offset].trim());
                }
                if !t.trim().is_empty() && start.is_none() {
                    start = Some(offset);
                }
                offset += line.len();
            }
            if let Some(s) = start {
                paragraphs.push(v[s..].trim());
            }
            Prose {
                title: k,
                paragraphs: paragraphs.into_iter().filter(|p| !p.is_empty()).collect(),
            }
        })
        .collect()
}

/// For KQL rules, the custom attributes that are paragraphs of text (a line break or more than
/// 80 characters) become sections of their own instead of `Other attributes` entries.
fn prose_sections(format: Format, m: &ir::Meta) -> Vec<Prose<'_>> {
    if format == Format::Elastic {
        return elastic_prose(m);
    }
    if format != Format::Kql {
        return Vec::new();
    }
    m.custom
        .iter()
        .filter(|(_, v)| v.contains('\n') || v.chars().count() > 80)
        .map(|(k, v)| Prose {
            title: k,
            paragraphs: v
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Errors

#[derive(Template)]
#[template(path = "not_found.html")]
pub struct NotFoundPage<'a> {
    pub what: &'a str,
    pub key: &'a str,
}

fn corpus_text(c: &catalog::CorpusCount) -> String {
    if c.total <= 1 {
        return String::new();
    }
    c.to_string()
}

// ---------------------------------------------------------------------------------------------
// ATT&CK coverage

/// A CSS class for a cell's shade: none, 1–2, 3–9, 10–29, 30 and more rules.
fn coverage_class(rules: usize) -> &'static str {
    match rules {
        0 => "cov-0",
        1..=2 => "cov-1",
        3..=9 => "cov-2",
        10..=29 => "cov-3",
        _ => "cov-4",
    }
}

/// One technique or sub-technique of the matrix.
pub struct CoverageCell<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub rules: usize,
    pub class: &'static str,
    /// The index filtered to the rules counted here (with the page's filters); `None` at zero.
    pub href: Option<String>,
    /// `sigma 10, splunk 2`, for the cell's tooltip.
    pub by_source: String,
    pub subtechniques: Vec<CoverageCell<'a>>,
    /// How many of the sub-techniques have a rule.
    pub subs_covered: usize,
}

impl<'a> CoverageCell<'a> {
    fn new(t: &catalog::coverage::TechniqueCoverage<'a>, scope: catalog::Scope) -> Self {
        let subtechniques: Vec<CoverageCell> = t
            .subtechniques
            .iter()
            .map(|s| CoverageCell::new(s, scope))
            .collect();
        CoverageCell {
            id: t.id,
            name: t.name,
            rules: t.rules,
            class: coverage_class(t.rules),
            href: (t.rules > 0).then(|| {
                index_href(&[
                    ("technique", t.id),
                    ("source", scope.source),
                    ("language", scope.language),
                ])
            }),
            by_source: t
                .by_source
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            subs_covered: subtechniques.iter().filter(|s| s.rules > 0).count(),
            subtechniques,
        }
    }
}

pub struct CoverageColumn<'a> {
    pub name: &'a str,
    pub covered: usize,
    pub total: usize,
    pub rules: usize,
    pub cells: Vec<CoverageCell<'a>>,
}

/// A technique id rules name that ATT&CK does not list as active.
pub struct StaleRow<'a> {
    pub id: &'a str,
    pub state: &'a str,
    pub name: &'a str,
    pub rules: Vec<Link>,
}

#[derive(Template)]
#[template(path = "coverage.html")]
pub struct CoveragePage<'a> {
    /// This view as an ATT&CK Navigator layer.
    pub navigator_href: String,
    /// Where the form comparing a layer with this view posts.
    pub compare_href: String,
    pub rules: usize,
    pub mapped_rules: usize,
    pub covered: usize,
    pub total: usize,
    pub filtered: bool,
    pub sources: Vec<SourceOption>,
    pub languages: Vec<SourceOption>,
    pub columns: Vec<CoverageColumn<'a>>,
    pub stale: Vec<StaleRow<'a>>,
    /// The deployment filter: the target options and the tables given.
    pub targets: Vec<SourceOption>,
    pub have: String,
}

impl<'a> CoveragePage<'a> {
    /// Show the deployment filter (`?target=`, `?have=`) the coverage was restricted by.
    pub fn set_deployment(&mut self, target: &str, have: &str) {
        let target = target.trim();
        self.targets = catalog::translate::target_names()
            .into_iter()
            .map(|t| SourceOption {
                selected: t == target,
                name: t.to_string(),
                count: 0,
            })
            .collect();
        self.have = have.trim().to_string();
        if !target.is_empty() {
            self.filtered = true;
            let params = [
                ("source", self.source_selected()),
                ("language", self.language_selected()),
                ("target", target),
                ("have", &self.have),
            ];
            let (navigator, compare) = (
                crate::url::href("/api/coverage/navigator.json", &params),
                crate::url::href("/coverage/compare", &params),
            );
            (self.navigator_href, self.compare_href) = (navigator, compare);
        }
    }

    fn source_selected(&self) -> &str {
        self.sources
            .iter()
            .find(|s| s.selected)
            .map_or("", |s| &s.name)
    }

    fn language_selected(&self) -> &str {
        self.languages
            .iter()
            .find(|s| s.selected)
            .map_or("", |s| &s.name)
    }
    /// `titles` gives a rule's title by key, for the stale mappings' links.
    pub fn new(
        c: &catalog::Coverage<'a>,
        scope: catalog::Scope,
        sources: Vec<SourceOption>,
        languages: Vec<SourceOption>,
        title: impl Fn(&str) -> Option<&'a str>,
    ) -> Self {
        let params = [("source", scope.source), ("language", scope.language)];
        CoveragePage {
            navigator_href: crate::url::href("/api/coverage/navigator.json", &params),
            compare_href: crate::url::href("/coverage/compare", &params),
            rules: c.rules,
            mapped_rules: c.mapped_rules,
            covered: c.techniques_covered,
            total: c.techniques_total,
            filtered: !scope.source.is_empty() || !scope.language.is_empty(),
            sources,
            languages,
            targets: Vec::new(),
            have: String::new(),
            columns: c
                .tactics
                .iter()
                .map(|t| CoverageColumn {
                    name: t.name,
                    covered: t.techniques_covered,
                    total: t.techniques_total,
                    rules: t.rules,
                    cells: t
                        .techniques
                        .iter()
                        .map(|x| CoverageCell::new(x, scope))
                        .collect(),
                })
                .collect(),
            stale: c
                .stale
                .iter()
                .map(|s| StaleRow {
                    id: s.id,
                    state: s.state,
                    name: s.name.unwrap_or(""),
                    rules: s
                        .rules
                        .iter()
                        .map(|k| Link {
                            text: title(k)
                                .filter(|t| !t.trim().is_empty())
                                .unwrap_or(k)
                                .to_string(),
                            href: Some(rule_href(k)),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Analytic stories

/// One story in the list of stories.
pub struct StoryRow<'a> {
    pub href: String,
    pub name: &'a str,
    pub source: &'a str,
    pub detections: usize,
    pub retired: &'static str,
}

#[derive(Template)]
#[template(path = "stories.html")]
pub struct StoriesPage<'a> {
    pub rows: Vec<StoryRow<'a>>,
}

impl<'a> StoriesPage<'a> {
    pub fn new(stories: &'a [catalog::stories::Story]) -> Self {
        StoriesPage {
            rows: stories
                .iter()
                .map(|s| StoryRow {
                    href: story_href(&s.name),
                    name: &s.name,
                    source: &s.source,
                    detections: s.detections.len(),
                    retired: s.retired.map_or("", |r| r.as_str()),
                })
                .collect(),
        }
    }
}

/// A detection of a story, with its level and status.
pub struct StoryRuleRow<'a> {
    pub link: RuleLink,
    pub status: &'a str,
}

#[derive(Template)]
#[template(path = "story.html")]
pub struct StoryPage<'a> {
    pub name: &'a str,
    pub json_href: String,
    pub retired: &'static str,
    pub meta: Vec<MetaItem>,
    pub description: &'a str,
    pub narrative: &'a str,
    pub references: Vec<Link>,
    pub rules: Vec<StoryRuleRow<'a>>,
    pub techniques: Vec<Link>,
}

impl<'a> StoryPage<'a> {
    pub fn new(v: &'a catalog::stories::StoryView<'a>) -> Self {
        let s = v.story;
        let mut meta = Vec::new();
        let mut item = |label, values, code| push_meta(&mut meta, label, values, code);

        item("ID", opt(s.id.as_deref()), true);
        item("Status", opt(s.status.as_deref()), false);
        item("Author", opt(s.author.as_deref()), false);
        item("Date", opt(s.date.as_deref()), false);
        item(
            "Version",
            s.version
                .map(|v| Link::text(v.to_string()))
                .into_iter()
                .collect(),
            false,
        );
        item("Type", opt(s.kind.as_deref()), false);
        item("Category", texts(&s.category), false);
        item("Use case", opt(s.usecase.as_deref()), false);
        item("Product", texts(&s.product), false);
        item("CVE", texts(&s.cve), true);
        item("Source", vec![Link::text(&s.source)], false);
        item("Key", vec![Link::text(&s.key)], true);
        item(
            "Original",
            v.file_url
                .iter()
                .map(|u| Link {
                    text: "View the original story file →".into(),
                    href: Some(u.clone()),
                })
                .collect(),
            false,
        );
        StoryPage {
            name: &s.name,
            json_href: format!("/api{}", story_href(&s.name)),
            retired: s.retired.map_or("", |r| r.as_str()),
            meta,
            description: s.description.as_deref().unwrap_or(""),
            narrative: s.narrative.as_deref().unwrap_or(""),
            references: s
                .references
                .iter()
                .map(|u| Link {
                    text: u.clone(),
                    href: is_http(u).then(|| u.trim().to_string()),
                })
                .collect(),
            rules: v
                .rules
                .iter()
                .map(|r| StoryRuleRow {
                    link: RuleLink::new(&r.rule),
                    status: r.status.unwrap_or(""),
                })
                .collect(),
            techniques: v
                .techniques
                .iter()
                .map(|t| Link {
                    text: match t.name {
                        Some(n) => format!("{} {n} ({})", t.id, t.rules),
                        None => format!("{} ({})", t.id, t.rules),
                    },
                    href: Some(technique_href(t.id)),
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A Navigator layer compared with the coverage

/// A technique of a comparison, linked to its page.
pub struct CompareRowView {
    pub link: Link,
    pub layer_score: String,
    pub rules: usize,
}

#[derive(Template)]
#[template(path = "compare.html")]
pub struct ComparePage {
    pub layer: String,
    pub scope: String,
    /// The coverage view compared with.
    pub back: String,
    pub both: Vec<CompareRowView>,
    pub only_layer: Vec<CompareRowView>,
    pub only_catalog: Vec<CompareRowView>,
    pub not_counted: Vec<catalog::navigator::NotCounted>,
}

impl ComparePage {
    pub fn new(c: &catalog::navigator::Comparison, back: String) -> Self {
        let rows = |v: &[catalog::navigator::CompareRow]| {
            v.iter()
                .map(|r| CompareRowView {
                    link: Link {
                        text: format!("{} {}", r.id, r.name),
                        href: Some(technique_href(&r.id)),
                    },
                    layer_score: r.layer_score.map_or_else(String::new, |s| s.to_string()),
                    rules: r.rules,
                })
                .collect()
        };
        ComparePage {
            layer: c.layer.clone(),
            scope: c.scope.clone(),
            back,
            both: rows(&c.both),
            only_layer: rows(&c.only_layer),
            only_catalog: rows(&c.only_catalog),
            not_counted: c.not_counted.clone(),
        }
    }
}

/// Why a layer could not be compared (a 400 or 413 page).
#[derive(Template)]
#[template(path = "compare_error.html")]
pub struct CompareErrorPage {
    pub status: u16,
    pub why: String,
    pub back: String,
}
