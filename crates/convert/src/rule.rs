//! The rule as processing pipelines see and change it: log source, named detections (a tree of
//! detection items), conditions, and the pipeline state (`query_table`, …).

use std::collections::{HashMap, HashSet};

use sigma::condition;
use sigma::value::Value;

use crate::pipeline::StateValue;

#[derive(Debug, Clone)]
pub struct Rule {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub tags: Vec<String>,
    /// Named detections in document order; `None` once a pipeline dropped all of its items.
    pub detections: Vec<(String, Option<Node>)>,
    /// One condition per query.
    pub conditions: Vec<Cond>,
    pub state: HashMap<String, StateValue>,
    /// State keys set by the user (pipeline parameters): `set_state` leaves them alone.
    pub fixed_state: HashSet<String>,
    /// Ids of the processing items that changed the rule.
    pub applied: HashSet<String>,
}

/// A condition after `of` expressions were resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Ident(String),
}

/// A detection: maps are AND of their items, lists OR of their elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Item(Item),
}

/// One `field|modifiers: values` entry, values already through their modifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `None` for keywords.
    pub field: Option<String>,
    pub values: Vec<Value>,
    /// Every value must match (`all`), else any.
    pub all: bool,
    /// `neq`.
    pub negated: bool,
    /// Ids of the processing items that changed this item.
    pub applied: Vec<String>,
}

impl Rule {
    /// The rule of a Sigma document, or why it cannot be converted.
    pub fn from_document(doc: &sigma::Document) -> Result<Rule, String> {
        match doc.kind {
            ir::RuleKind::Detection => {}
            ir::RuleKind::Filter => return Err("filters are not converted on their own".into()),
            ir::RuleKind::Correlation => {
                return Err("correlation rules have no conversion yet".into());
            }
        }
        let Some(det) = &doc.detection else {
            return Err("the rule has no detection".into());
        };
        if det.resolved.len() < det.conditions.len() {
            return Err("the rule's condition could not be read".into());
        }
        let mut conditions = Vec::new();
        for (c, aggregation) in &det.resolved {
            if let Some(a) = aggregation {
                return Err(format!(
                    "Sigma 1 aggregation `| {a}` has no conversion (use a correlation rule)"
                ));
            }
            conditions.push(cond(c));
        }
        let one = |v: &[String], what: &str| -> Result<Option<String>, String> {
            match v {
                [] => Ok(None),
                [x] => Ok(Some(x.clone())),
                _ => Err(format!(
                    "logsource {what} lists several values: {}",
                    v.join(", ")
                )),
            }
        };
        Ok(Rule {
            category: one(&doc.logsource.category, "category")?,
            product: one(&doc.logsource.product, "product")?,
            service: one(&doc.logsource.service, "service")?,
            tags: doc.meta.tags.clone(),
            detections: det
                .named
                .iter()
                .map(|n| (n.name.clone(), Some(node(&n.body))))
                .collect(),
            conditions,
            state: HashMap::new(),
            fixed_state: HashSet::new(),
            applied: HashSet::new(),
        })
    }

    /// The log source as `category: x, product: y` for messages.
    pub fn logsource_text(&self) -> String {
        let parts: Vec<String> = [
            ("category", &self.category),
            ("product", &self.product),
            ("service", &self.service),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
        .collect();
        if parts.is_empty() {
            "(empty)".into()
        } else {
            parts.join(", ")
        }
    }

    /// Every detection item, in document order.
    pub fn items(&self) -> Vec<&Item> {
        fn walk<'a>(n: &'a Node, out: &mut Vec<&'a Item>) {
            match n {
                Node::And(v) | Node::Or(v) => v.iter().for_each(|c| walk(c, out)),
                Node::Item(i) => out.push(i),
            }
        }
        let mut out = Vec::new();
        for n in self.detections.iter().filter_map(|(_, n)| n.as_ref()) {
            walk(n, &mut out);
        }
        out
    }
}

fn cond(c: &condition::Cond) -> Cond {
    match c {
        condition::Cond::And(v) => Cond::And(v.iter().map(cond).collect()),
        condition::Cond::Or(v) => Cond::Or(v.iter().map(cond).collect()),
        condition::Cond::Not(x) => Cond::Not(Box::new(cond(x))),
        condition::Cond::Ident { name, .. } => Cond::Ident(name.clone()),
        // `resolve` leaves no `of`; an unresolved one would have failed reading.
        condition::Cond::Of { .. } => Cond::Or(vec![]),
    }
}

/// A Sigma detection as a pipeline node.
pub fn node(d: &sigma::Detection) -> Node {
    match d {
        sigma::Detection::And(v) => Node::And(v.iter().map(node).collect()),
        sigma::Detection::Or(v) => Node::Or(v.iter().map(node).collect()),
        sigma::Detection::Item(i) => Node::Item(Item {
            field: i.field.clone(),
            values: i.values.iter().map(|(v, _)| v.clone()).collect(),
            all: i.all,
            negated: i.negated,
            applied: vec![],
        }),
    }
}
