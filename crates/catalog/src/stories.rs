//! Splunk analytic stories: the `stories/**/*.yml` files of a security_content checkout, kept
//! with the catalog, each with the detections that name it in their `analytic_story`. The
//! web's story pages and their JSON render [`view`].

use crate::attack::Attack;
use crate::related::RuleRef;
use crate::{Catalog, retired_in_folders};
use ir::{Retired, Rule};
use serde::Serialize;
use std::collections::BTreeMap;

/// One analytic story as its file states it, with the catalog's detections that name it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Story {
    pub name: String,
    pub id: Option<String>,
    pub source: String,
    /// `source/` and the file's path in its source (`splunk/stories/x.yml`).
    pub key: String,
    /// The file as read on this machine (for its origin's address); never shown.
    #[serde(skip)]
    pub file: String,
    pub version: Option<i64>,
    pub date: Option<String>,
    pub author: Option<String>,
    /// The file's `type`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The file's own `status`.
    pub status: Option<String>,
    /// `deprecated` for a story its repository keeps under `stories/deprecated`.
    pub retired: Option<Retired>,
    pub description: Option<String>,
    pub narrative: Option<String>,
    pub references: Vec<String>,
    pub category: Vec<String>,
    pub product: Vec<String>,
    pub usecase: Option<String>,
    pub cve: Vec<String>,
    /// The keys of the catalog's rules whose `analytic_story` names this story, in catalog
    /// order.
    pub detections: Vec<String>,
}

impl Story {
    /// The story of a security_content file read from `file`, its key `key`.
    pub fn new(s: spl::content::Story, source: &str, key: String, file: String) -> Story {
        Story {
            retired: retired_in_folders(&key),
            name: s.name,
            id: s.id,
            source: source.to_string(),
            key,
            file,
            version: s.version,
            date: s.date,
            author: s.author,
            kind: s.kind,
            status: s.status,
            description: s.description,
            narrative: s.narrative,
            references: s.references,
            category: s.tags.category,
            product: s.tags.product,
            usecase: s.tags.usecase,
            cve: s.tags.cve,
            detections: Vec::new(),
        }
    }
}

/// The prefix of the tags that name a rule's analytic stories (`analytic_story:NAME`).
pub const TAG: &str = spl::lower::STORY_TAG;

/// The analytic stories a rule names (its `analytic_story` as the SPL reader tags it), each
/// once, in the order written.
pub fn named(rule: &Rule) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for t in &rule.meta.tags {
        if let Some(name) = t.strip_prefix(TAG)
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
}

/// Fills each story's `detections` from the rules' `analytic_story` ([`named`]).
pub(crate) fn link(stories: &mut [Story], rules: &[Rule]) -> BTreeMap<String, usize> {
    let by_name: BTreeMap<String, usize> = stories
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    for s in stories.iter_mut() {
        s.detections.clear();
    }
    for r in rules {
        for name in named(r) {
            if let Some(&i) = by_name.get(name) {
                stories[i].detections.push(r.key.clone());
            }
        }
    }
    by_name
}

/// A detection of a story as its page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct StoryRule<'a> {
    #[serde(flatten)]
    pub rule: RuleRef<'a>,
    pub status: Option<&'a str>,
}

/// A technique the story's detections map to, with how many of them do.
#[derive(Debug, Clone, Serialize)]
pub struct StoryTechnique<'a> {
    pub id: &'a str,
    /// `None` for an id the ATT&CK tables do not know.
    pub name: Option<&'a str>,
    pub rules: usize,
}

/// Everything a story's page shows.
#[derive(Debug, Clone, Serialize)]
pub struct StoryView<'a> {
    #[serde(flatten)]
    pub story: &'a Story,
    /// The story's file in its repository, when its source has an origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// Its detections: live ones first, then retired ones; each group by title.
    pub rules: Vec<StoryRule<'a>>,
    /// The techniques of its detections (as each names them), most detections first.
    pub techniques: Vec<StoryTechnique<'a>>,
}

/// A story's page: its detections from the catalog and their techniques summed.
pub fn view<'a>(catalog: &'a Catalog, story: &'a Story) -> StoryView<'a> {
    let mut rules: Vec<&Rule> = story
        .detections
        .iter()
        .filter_map(|k| catalog.get(k))
        .collect();
    rules.sort_by(|a, b| {
        (
            a.meta.retired.is_some(),
            a.meta.title.to_lowercase(),
            &a.key,
        )
            .cmp(&(
                b.meta.retired.is_some(),
                b.meta.title.to_lowercase(),
                &b.key,
            ))
    });
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rules {
        let mut seen: Vec<&str> = Vec::new();
        for t in &r.attack {
            if !seen.contains(&t.as_str()) {
                seen.push(t);
                *counts.entry(t).or_default() += 1;
            }
        }
    }
    let attack = Attack::builtin();
    let mut techniques: Vec<StoryTechnique> = counts
        .into_iter()
        .map(|(id, rules)| StoryTechnique {
            id,
            name: attack.technique(id).map(|t| t.name.as_str()),
            rules,
        })
        .collect();
    techniques.sort_by(|a, b| b.rules.cmp(&a.rules).then(a.id.cmp(b.id)));
    StoryView {
        file_url: catalog
            .origins
            .get(&story.source)
            .and_then(|o| o.file_url(&story.file)),
        story,
        rules: rules
            .into_iter()
            .map(|r| StoryRule {
                rule: RuleRef::new(r),
                status: r.meta.status.as_deref(),
            })
            .collect(),
        techniques,
    }
}
