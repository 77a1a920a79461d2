//! The rule catalog: sources, the readers that turn their files into rules, and an in-memory
//! index of the result. Reading collects every problem per file and never stops at one.

pub mod analyst;
pub mod attack;
pub mod concepts;
pub mod coverage;
pub mod events;
pub mod navigator;
pub mod read;
pub mod related;
mod report;
pub mod severity;
pub mod stories;
pub mod translate;

pub use coverage::{Coverage, Scope, coverage};
pub use report::{
    AttackRow, Indicator, LinkView, NamedStory, PredicateView, Report, RuleOrigin, StageView,
    report,
};
pub use translate::{DataSource, Translation, Translations};

use concepts::IndicatorKey;
use ir::{Diagnostic, Retired, Rule};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

/// A named folder of rules (a checkout of a rule repository). Rule keys are `name/` and the
/// file's path under `root`.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub root: PathBuf,
    /// The folders under `root` to read (`rules`, `rules-emerging-threats`); empty to read all
    /// of `root`. Listing folders does not change the keys of their rules.
    pub include: Vec<PathBuf>,
}

/// Where a source's files came from: a repository at a commit. `detdex serve` sets it for the
/// sources it fetched; a folder given with `--source` has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// How pages name the repository (`SigmaHQ`).
    pub label: String,
    pub url: String,
    pub commit: String,
    /// When the commit was fetched, RFC 3339 UTC.
    pub retrieved_at: String,
    /// The folder the source was read from (the clone of a fetched source); rule paths start
    /// with it.
    pub root: PathBuf,
    /// Where `root` is in the repository (empty for the repository itself).
    pub path: String,
}

impl Origin {
    /// The page of a rule file (a path under `root`) in the repository at the commit:
    /// `URL/blob/COMMIT/PATH`, as GitHub (and GitLab, Gitea) address it. `None` for a file
    /// outside `root` or a repository not served over http(s).
    pub fn file_url(&self, file: &str) -> Option<String> {
        let url = self.url.trim_end_matches('/');
        let url = url.strip_suffix(".git").unwrap_or(url);
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return None;
        }
        let rel = std::path::Path::new(file).strip_prefix(&self.root).ok()?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        let full = [self.path.as_str(), rel.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        if full.is_empty() {
            return None;
        }
        Some(format!("{url}/blob/{}/{}", self.commit, url_path(&full)))
    }
}

/// A path for a URL: the characters that would end or change it (`%`, `#`, `?`, spaces) escaped.
fn url_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        match c {
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            ' ' => out.push_str("%20"),
            c => out.push(c),
        }
    }
    out
}

/// A file (or hidden folder) a walk passed over, and why: not a rule file
/// ([`read::not_a_rule`]), or hidden.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// Every rule read from a set of sources, with what went wrong while reading them.
#[derive(Debug, Default)]
pub struct Catalog {
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
    /// How many rule files were read.
    pub files: usize,
    /// The files (and hidden folders) the walk of the sources passed over, with why.
    pub skipped: Vec<Skipped>,
    /// Where each source (by name) came from, for the sources that have an origin.
    pub origins: HashMap<String, Origin>,
    /// Splunk analytic stories of the checkouts read, by name ([`Catalog::set_stories`]).
    stories: Vec<stories::Story>,
    story_by_name: BTreeMap<String, usize>,
    by_key: HashMap<String, usize>,
    /// Rules by id and by name (Sigma `name`), for filters and correlations.
    by_ref: HashMap<String, Vec<usize>>,
    /// For each rule, the filters and correlations that name it.
    referrers: Vec<Vec<usize>>,
    corpus: HashMap<IndicatorKey, Counted>,
    /// Each rule's translations (by position in `rules`), made when a page first asks for
    /// them and kept: converting is ~1 ms a rule, too much to do at load for every rule.
    translations: Vec<OnceLock<translate::Translations>>,
}

/// The rules counted under one indicator key: live rules per source, retired ones apart.
#[derive(Debug, Clone, Default)]
struct Counted {
    by_source: BTreeMap<String, usize>,
    retired: usize,
    /// The rules (positions in `rules`), live and retired, in catalog order: the indicator's
    /// page lists them ([`related`]).
    members: Vec<usize>,
}

/// How many rules of the catalog match one indicator: live rules in all and per source, and
/// the retired rules (deprecated, unsupported, placeholders) that also do, counted apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CorpusCount {
    pub total: usize,
    pub by_source: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "is_zero")]
    pub retired: usize,
    /// Set when a path indicator is counted as the file name it ends with (`process.name`):
    /// rules testing the name and rules testing a path ending in `\name` count together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_name: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `120 (sigma 84, splunk 30, elastic 6) (+1 retired)`: the total, then each source by falling
/// count when there are several, then the retired rules.
impl std::fmt::Display for CorpusCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.total)?;
        if self.by_source.len() > 1 {
            let mut parts: Vec<(&String, &usize)> = self.by_source.iter().collect();
            parts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let parts: Vec<String> = parts.iter().map(|(s, n)| format!("{s} {n}")).collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        if self.retired > 0 {
            write!(f, " (+{} retired)", self.retired)?;
        }
        if let Some(name) = &self.as_name {
            write!(f, " as {name}")?;
        }
        Ok(())
    }
}

/// Why a rule is retired, from where its repository keeps it (a `deprecated/`, `unsupported/`,
/// `rules-placeholder/` or Elastic `_deprecated/` folder of its key) or from its own status
/// (`deprecated`, `unsupported`).
pub fn retired(rule: &Rule) -> Option<Retired> {
    if let Some(r) = retired_in_folders(&rule.key) {
        return Some(r);
    }
    match rule
        .meta
        .status
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("deprecated") => Some(Retired::Deprecated),
        Some("unsupported") => Some(Retired::Unsupported),
        _ => None,
    }
}

/// Why a file is retired from the folders of its key (`deprecated/`, `_deprecated/`,
/// `unsupported/`, `rules-placeholder/`), if it is.
pub(crate) fn retired_in_folders(key: &str) -> Option<Retired> {
    for f in key.split('/').rev().skip(1) {
        match f.to_ascii_lowercase().as_str() {
            "deprecated" | "_deprecated" => return Some(Retired::Deprecated),
            "unsupported" => return Some(Retired::Unsupported),
            "rules-placeholder" => return Some(Retired::Placeholder),
            _ => {}
        }
    }
    None
}

impl Catalog {
    /// Build a catalog from rules and diagnostics already read.
    pub fn from_parts(mut rules: Vec<Rule>, diagnostics: Vec<Diagnostic>, files: usize) -> Catalog {
        for r in &mut rules {
            if r.meta.retired.is_none() {
                r.meta.retired = retired(r);
            }
            severity::derive(r);
        }
        let by_key = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key.clone(), i))
            .collect();
        // Each rule's distinct indicators (in parallel), then one count per rule and source.
        let per_rule: Vec<HashSet<IndicatorKey>> =
            rules.par_iter().map(concepts::rule_keys).collect();
        let mut corpus: HashMap<IndicatorKey, Counted> = HashMap::new();
        for (i, (r, keys)) in rules.iter().zip(per_rule).enumerate() {
            for key in keys {
                let counted = corpus.entry(key).or_default();
                counted.members.push(i);
                if r.meta.retired.is_some() {
                    counted.retired += 1;
                    continue;
                }
                match counted.by_source.get_mut(&r.source) {
                    Some(n) => *n += 1,
                    None => {
                        counted.by_source.insert(r.source.clone(), 1);
                    }
                }
            }
        }
        let mut by_ref: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            for name in r.meta.id.iter().chain(&r.meta.name) {
                by_ref.entry(name.clone()).or_default().push(i);
            }
        }
        let mut referrers = vec![Vec::new(); rules.len()];
        for (i, r) in rules.iter().enumerate() {
            for target in r.links.iter().flat_map(|l| by_ref.get(l)).flatten() {
                referrers[*target].push(i);
            }
        }
        let translations = rules.iter().map(|_| OnceLock::new()).collect();
        Catalog {
            rules,
            diagnostics,
            files,
            skipped: Vec::new(),
            origins: HashMap::new(),
            stories: Vec::new(),
            story_by_name: BTreeMap::new(),
            by_key,
            by_ref,
            referrers,
            corpus,
            translations,
        }
    }

    /// Keeps these analytic stories with the catalog, each with the keys of the rules whose
    /// `analytic_story` names it ([`stories::named`]). Names are unique: a story named again
    /// (another checkout) is left out and returned, for the caller to report.
    pub fn set_stories(&mut self, stories: Vec<stories::Story>) -> Vec<stories::Story> {
        let mut kept: Vec<stories::Story> = Vec::with_capacity(stories.len());
        let mut again = Vec::new();
        for s in stories {
            if kept.iter().any(|k| k.name == s.name) {
                again.push(s);
            } else {
                kept.push(s);
            }
        }
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        self.story_by_name = stories::link(&mut kept, &self.rules);
        self.stories = kept;
        again
    }

    /// The analytic stories, by name.
    pub fn stories(&self) -> &[stories::Story] {
        &self.stories
    }

    /// The analytic story with this name.
    pub fn story(&self, name: &str) -> Option<&stories::Story> {
        self.story_by_name.get(name).map(|&i| &self.stories[i])
    }

    /// The rule's translations ([`translate::translations`]), made from the rule held in
    /// memory the first time they are asked for and kept with the catalog.
    pub fn translations(&self, rule: &Rule) -> translate::Translations {
        match self.by_key.get(&rule.key) {
            Some(&i) if std::ptr::eq(&self.rules[i], rule) && i < self.translations.len() => self
                .translations[i]
                .get_or_init(|| translate::translations(rule))
                .clone(),
            // A rule that is not this catalog's own (or was added after it was built).
            _ => translate::translations(rule),
        }
    }

    /// The rules a filter or correlation names (by id or name), in the order it names them.
    /// A name no rule of the catalog has yields `(name, None)`.
    pub fn linked<'a>(&'a self, rule: &'a Rule) -> Vec<(&'a str, Option<&'a Rule>)> {
        let mut out = Vec::new();
        for l in &rule.links {
            // Within a file (a correlation and its base rules), the same file's rule wins.
            let found = self.by_ref.get(l).and_then(|ids| {
                let file = |i: &&usize| self.rules[**i].path == rule.path;
                ids.iter().find(file).or(ids.first())
            });
            out.push((l.as_str(), found.map(|&i| &self.rules[i])));
        }
        out
    }

    /// The filters and correlations that name this rule.
    pub fn referrers(&self, rule: &Rule) -> Vec<&Rule> {
        self.by_key
            .get(&rule.key)
            .map(|&i| self.referrers[i].iter().map(|&j| &self.rules[j]).collect())
            .unwrap_or_default()
    }

    /// How many rules match this indicator (one without transforms) of a rule of `format`:
    /// the same field concept and value pattern, ignoring case ([`concepts`]).
    pub fn corpus_count(
        &self,
        format: ir::Format,
        field: Option<&str>,
        kind: ir::Kind,
        value: &ir::Value,
    ) -> CorpusCount {
        self.count_key(concepts::indicator_key(format, field, kind, value))
    }

    /// How many rules match one value of an indicator row of a rule of `format` (the same
    /// test: concept, kind, value and transforms). A path ending in `\name` counts as the name.
    pub fn corpus_count_of(
        &self,
        format: ir::Format,
        row: &ir::Row,
        value: &ir::Value,
    ) -> CorpusCount {
        self.count_key(concepts::row_key(format, row, value))
    }

    /// The rules (positions in `rules`) that hold an indicator key, live and retired.
    pub(crate) fn members(&self, key: &IndicatorKey) -> &[usize] {
        self.corpus.get(key).map_or(&[], |c| c.members.as_slice())
    }

    fn count_key(&self, key: IndicatorKey) -> CorpusCount {
        let (key, as_name) = concepts::counted_key(key);
        let counted = self.corpus.get(&key).cloned().unwrap_or_default();
        CorpusCount {
            total: counted.by_source.values().sum(),
            by_source: counted.by_source,
            retired: counted.retired,
            as_name,
        }
    }

    /// How many errors and warnings reading the sources gave.
    pub fn problem_counts(&self) -> (usize, usize) {
        let errors = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == ir::Severity::Error)
            .count();
        (errors, self.diagnostics.len() - errors)
    }

    /// The rule with this catalog key.
    pub fn get(&self, key: &str) -> Option<&Rule> {
        self.by_key.get(key).map(|&i| &self.rules[i])
    }

    /// The rule with this key, or else the first rule with this id.
    pub fn find(&self, key_or_id: &str) -> Option<&Rule> {
        self.get(key_or_id).or_else(|| {
            self.rules
                .iter()
                .find(|r| r.meta.id.as_deref() == Some(key_or_id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ir::{Expr, Kind, Logic, Predicate, Stage};

    fn rule(key: &str, source: &str, field: &str, values: &[&str]) -> Rule {
        let pred = Predicate {
            field: Some(field.into()),
            kind: Kind::EndsWith,
            values: values
                .iter()
                .map(|s| ir::Value::new(Kind::EndsWith, *s, ir::Syntax::SIGMA))
                .collect(),
            case_sensitive: false,
            transforms: vec![],
        };
        Rule {
            key: key.into(),
            source: source.into(),
            format: ir::Format::Sigma,
            language: "sigma".into(),
            kind: ir::RuleKind::Detection,
            meta: ir::Meta::default(),
            attack: vec![],
            text: String::new(),
            path: key.into(),
            pos: ir::Pos::default(),
            logic: Logic {
                stages: vec![Stage::new("condition", "", Some(Expr::Pred(pred)))],
            },
            links: vec![],
        }
    }

    #[test]
    fn corpus_counts_rules_per_source_ignoring_case_and_repeats() {
        let cat = Catalog::from_parts(
            vec![
                rule("a", "sigma", "Image", &["\\cmd.exe", "\\CMD.EXE"]),
                rule("b", "sigma", "image", &["\\cmd.exe"]),
                rule("c", "other", "Image", &["\\cmd.exe", "\\x.exe"]),
            ],
            vec![],
            3,
        );
        let count = |kind, v| {
            let v = ir::Value::new(kind, v, ir::Syntax::SIGMA);
            cat.corpus_count(ir::Format::Sigma, Some("Image"), kind, &v)
        };
        let c = count(Kind::EndsWith, "\\Cmd.exe");
        assert_eq!(c.total, 3, "rule a counts once despite two spellings");
        assert_eq!(
            c.by_source,
            BTreeMap::from([("other".into(), 1), ("sigma".into(), 2)])
        );
        assert_eq!(count(Kind::EndsWith, "\\x.exe").total, 1);
        assert_eq!(count(Kind::Eq, "\\cmd.exe").total, 0);
        let r = report(&cat, &cat.rules[2]);
        assert_eq!(
            r.indicators[0]
                .corpus
                .iter()
                .map(|c| c.total)
                .collect::<Vec<_>>(),
            [3, 1]
        );
    }

    #[test]
    fn translations_are_made_from_the_text_in_memory_once_per_rule() {
        let mut r = rule("a", "sigma", "Image", &["\\cmd.exe"]);
        r.text = "title: t\nlogsource: {category: process_creation, product: windows}\ndetection:\n    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel\n".into();
        // The path names no file: the translations come from the text held in memory.
        r.path = "/nonexistent/a.yml".into();
        let cat = Catalog::from_parts(vec![r.clone()], vec![], 1);
        assert!(
            cat.translations[0].get().is_none(),
            "nothing converted at load"
        );
        let t = cat.translations(&cat.rules[0]);
        assert_eq!(t, translate::translations(&r));
        assert_eq!(
            t.iter()
                .find(|t| t.target == "kql-xdr")
                .unwrap()
                .query
                .as_deref(),
            Some("DeviceProcessEvents\n| where FolderPath endswith \"\\\\cmd.exe\"")
        );
        // Kept with the catalog for the next page.
        assert_eq!(cat.translations[0].get(), Some(&t));
        assert_eq!(cat.translations(&cat.rules[0]), t);
        // A rule that is not the catalog's own is converted, not taken from the cache.
        let mut other = r.clone();
        other.text = other.text.replace("cmd.exe", "x.exe");
        assert_ne!(cat.translations(&other), t);
    }

    #[test]
    fn origin_file_url() {
        let o = Origin {
            label: "SigmaHQ".into(),
            url: "https://github.com/SigmaHQ/sigma.git".into(),
            commit: "8eaafff".into(),
            retrieved_at: "2026-05-05T11:00:00Z".into(),
            root: PathBuf::from("/cache/repos/sigma/rules"),
            path: "rules".into(),
        };
        assert_eq!(
            o.file_url("/cache/repos/sigma/rules/windows/a b#1.yml")
                .as_deref(),
            Some("https://github.com/SigmaHQ/sigma/blob/8eaafff/rules/windows/a%20b%231.yml")
        );
        assert_eq!(o.file_url("/elsewhere/x.yml"), None);
        let at_root = Origin {
            path: String::new(),
            url: "https://github.com/splunk/security_content/".into(),
            root: PathBuf::from("/c/splunk"),
            ..o.clone()
        };
        assert_eq!(
            at_root.file_url("/c/splunk/detections/x.yml").as_deref(),
            Some("https://github.com/splunk/security_content/blob/8eaafff/detections/x.yml")
        );
        // A fetched source is rooted at its clone: a file of any of its folders links to it.
        let repo = Origin {
            root: PathBuf::from("/cache/repos/sigma"),
            path: String::new(),
            ..o.clone()
        };
        assert_eq!(
            repo.file_url("/cache/repos/sigma/rules-emerging-threats/2024/x.yml")
                .as_deref(),
            Some("https://github.com/SigmaHQ/sigma/blob/8eaafff/rules-emerging-threats/2024/x.yml")
        );
        assert_eq!(
            repo.file_url("/cache/repos/sigma/rules/windows/y.yml")
                .as_deref(),
            Some("https://github.com/SigmaHQ/sigma/blob/8eaafff/rules/windows/y.yml")
        );
        let local = Origin {
            url: "file:///srv/sigma".into(),
            ..o
        };
        assert_eq!(local.file_url("/cache/repos/sigma/rules/x.yml"), None);
    }
}
