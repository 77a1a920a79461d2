//! Running a pipeline's processing items over a rule, in order, as pySigma does.

use sigma::value::{Part, SigmaString, Value};

use crate::pipeline::{
    FieldCondition, ItemCondition, Pipeline, ProcessingItem, RuleCondition, StateTest,
    Transformation,
};
use crate::rule::{Cond, Item, Node, Rule};

/// Apply every item of `p` to `rule`. An error is a `rule_failure` / `detection_item_failure`
/// or a transformation that cannot be carried out.
pub fn apply(p: &Pipeline, rule: &mut Rule) -> Result<(), String> {
    for item in &p.items {
        if item.rule_conditions.hold(|c| rule_condition(c, rule)) {
            transform(p, item, rule)?;
        }
    }
    Ok(())
}

fn transform(p: &Pipeline, pi: &ProcessingItem, rule: &mut Rule) -> Result<(), String> {
    let mark = |rule: &mut Rule| {
        if let Some(id) = &pi.id {
            rule.applied.insert(id.clone());
        }
    };
    match &pi.transformation {
        // A key the user set (`--pipeline-arg`) keeps the user's value.
        Transformation::SetState { key, .. } if rule.fixed_state.contains(key) => {}
        Transformation::SetState { key, val } => {
            rule.state.insert(key.clone(), val.clone());
            mark(rule);
        }
        Transformation::RuleFailure(m) => return Err(m.clone()),
        Transformation::ChangeLogsource {
            category,
            product,
            service,
        } => {
            rule.category = category.clone();
            rule.product = product.clone();
            rule.service = service.clone();
            mark(rule);
        }
        Transformation::AddCondition {
            conditions,
            negated,
            template,
        } => {
            let mut c = conditions.clone();
            if *template {
                substitute(&mut c, rule);
            }
            let d = sigma::detection_from_yaml(&c).map_err(|ps| {
                let m = ps
                    .first()
                    .map_or("invalid detection", |p| p.message.as_str());
                format!("add_condition: {m}")
            })?;
            let mut n = crate::rule::node(&d);
            if let Some(id) = &pi.id {
                mark_items(&mut n, id);
            }
            let name = format!("_cond_{}", rule.detections.len());
            rule.detections.push((name.clone(), Some(n)));
            let ident = Cond::Ident(name);
            let added = if *negated {
                Cond::Not(Box::new(ident))
            } else {
                ident
            };
            for c in &mut rule.conditions {
                *c = Cond::And(vec![added.clone(), std::mem::replace(c, Cond::Or(vec![]))]);
            }
            mark(rule);
        }
        _ => {
            let mut dets = std::mem::take(&mut rule.detections);
            let mut changed = false;
            let mut result = Ok(());
            for (_, n) in &mut dets {
                if let Some(node) = n.take() {
                    match each_item(node, &mut |item| {
                        if !item_matches(pi, &item, rule) || !changes(&pi.transformation, &item) {
                            return Ok(Some(Node::Item(item)));
                        }
                        changed = true;
                        item_transform(p, pi, item)
                    }) {
                        Ok(x) => *n = x,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
            }
            rule.detections = dets;
            result?;
            if changed {
                mark(rule);
            }
        }
    }
    Ok(())
}

/// Rebuild a detection tree, passing each item through `f` (`None` drops it). Groups left
/// empty are dropped too.
fn each_item(
    n: Node,
    f: &mut dyn FnMut(Item) -> Result<Option<Node>, String>,
) -> Result<Option<Node>, String> {
    let group = |v: Vec<Node>, f: &mut dyn FnMut(Item) -> Result<Option<Node>, String>| {
        let mut out = Vec::new();
        for c in v {
            if let Some(c) = each_item(c, f)? {
                out.push(c);
            }
        }
        Ok::<_, String>(out)
    };
    Ok(match n {
        Node::Item(i) => f(i)?,
        Node::And(v) => Some(group(v, f)?).filter(|v| !v.is_empty()).map(Node::And),
        Node::Or(v) => Some(group(v, f)?).filter(|v| !v.is_empty()).map(Node::Or),
    })
}

fn mark_items(n: &mut Node, id: &str) {
    match n {
        Node::And(v) | Node::Or(v) => v.iter_mut().for_each(|c| mark_items(c, id)),
        Node::Item(i) => i.applied.push(id.to_string()),
    }
}

/// False when a field mapping has nothing to map for this item (pySigma does not count it as
/// applied then).
fn changes(t: &Transformation, item: &Item) -> bool {
    let field = item.field.as_deref().unwrap_or("");
    match t {
        Transformation::FieldNameMapping(m) => m.iter().any(|(k, _)| k == field),
        Transformation::FieldNamePrefixMapping(m) => {
            m.iter().any(|(k, _)| field.starts_with(k.as_str()))
        }
        Transformation::FieldNamePrefix(_) | Transformation::FieldNameSuffix(_) => {
            item.field.is_some()
        }
        Transformation::HashesFields { field_to_parse, .. } => {
            field_to_parse.iter().any(|f| f == field)
        }
        _ => true,
    }
}

/// One detection-item transformation on a matching item.
fn item_transform(
    p: &Pipeline,
    pi: &ProcessingItem,
    mut item: Item,
) -> Result<Option<Node>, String> {
    if let Some(id) = &pi.id {
        item.applied.push(id.clone());
    }
    let rename = |item: Item, f: &dyn Fn(&str) -> Option<String>| -> Item {
        let field = item.field.as_deref().and_then(f).or(item.field.clone());
        let values = item
            .values
            .into_iter()
            .map(|v| match v {
                Value::FieldRef {
                    field,
                    starts_with,
                    ends_with,
                } => Value::FieldRef {
                    field: f(&field).unwrap_or(field),
                    starts_with,
                    ends_with,
                },
                v => v,
            })
            .collect();
        Item {
            field,
            values,
            ..item
        }
    };
    Ok(Some(match &pi.transformation {
        Transformation::FieldNameMapping(m) => {
            let Some(targets) = item
                .field
                .as_deref()
                .and_then(|f| m.iter().find(|(k, _)| k == f))
                .map(|(_, t)| t.clone())
            else {
                return Ok(Some(Node::Item(item)));
            };
            let variants: Vec<Node> = targets
                .iter()
                .map(|t| Node::Item(rename(item.clone(), &|_| Some(t.clone()))))
                .collect();
            match <[Node; 1]>::try_from(variants) {
                Ok([one]) => one,
                Err(v) => Node::Or(v),
            }
        }
        Transformation::FieldNamePrefixMapping(m) => Node::Item(rename(item, &|f| {
            m.iter()
                .find(|(k, _)| f.starts_with(k.as_str()))
                .map(|(k, v)| format!("{v}{}", &f[k.len()..]))
        })),
        Transformation::FieldNamePrefix(x) => {
            Node::Item(rename(item, &|f| Some(format!("{x}{f}"))))
        }
        Transformation::FieldNameSuffix(x) => {
            Node::Item(rename(item, &|f| Some(format!("{f}{x}"))))
        }
        Transformation::DropDetectionItem => return Ok(None),
        Transformation::DetectionItemFailure(m) => {
            return Err(m.replace("{field}", item.field.as_deref().unwrap_or("(keyword)")));
        }
        Transformation::ReplaceString {
            regex,
            replacement,
            skip_special,
        } => {
            let f = |s: &SigmaString| replace_string(s, regex, replacement, *skip_special);
            item.values = item.values.into_iter().map(|v| map_str(v, &f)).collect();
            Node::Item(item)
        }
        Transformation::WildcardPlaceholders(sel) => {
            let f = |s: &SigmaString| SigmaString {
                parts: s
                    .parts
                    .iter()
                    .map(|x| match x {
                        Part::Placeholder(n) if sel.selects(n) => Part::AnyMulti,
                        x => x.clone(),
                    })
                    .collect(),
            };
            item.values = item.values.into_iter().map(|v| map_str(v, &f)).collect();
            Node::Item(item)
        }
        Transformation::ValuePlaceholders(sel) => {
            let mut values = Vec::new();
            for v in item.values {
                match v {
                    Value::Str { s, cased } => {
                        for s in expand_placeholders(&s, sel, &p.vars)? {
                            values.push(Value::Str { s, cased });
                        }
                    }
                    v => values.push(v),
                }
            }
            item.values = values;
            Node::Item(item)
        }
        Transformation::MapString(m) => {
            let mut values = Vec::new();
            for v in item.values {
                match v {
                    Value::Str { s, cased } => match m.iter().find(|(k, _)| *k == s.to_sigma()) {
                        Some((_, to)) => values.extend(to.iter().map(|t| Value::Str {
                            s: SigmaString::parse(t),
                            cased,
                        })),
                        None => values.push(Value::Str { s, cased }),
                    },
                    // A detdex extension: booleans map by their YAML text.
                    Value::Bool(b) => match m.iter().find(|(k, _)| *k == b.to_string()) {
                        Some((_, to)) => values.extend(to.iter().map(|t| Value::Str {
                            s: SigmaString::parse(t),
                            cased: false,
                        })),
                        None => values.push(Value::Bool(b)),
                    },
                    v => values.push(v),
                }
            }
            item.values = values;
            Node::Item(item)
        }
        Transformation::SetValue(v) => {
            item.values = vec![v.clone()];
            Node::Item(item)
        }
        Transformation::ConvertType { to_str } => {
            item.values = item
                .values
                .into_iter()
                .map(|v| convert_type(v, *to_str))
                .collect();
            Node::Item(item)
        }
        Transformation::HashesFields {
            valid_hash_algos,
            field_prefix,
            drop_algo_prefix,
            ..
        } => return hashes_fields(item, valid_hash_algos, field_prefix, *drop_algo_prefix),
        Transformation::SplitDomainUser(m) => {
            let domain = item
                .field
                .as_deref()
                .and_then(|f| m.iter().find(|(k, _)| k == f))
                .map(|(_, d)| d.clone());
            match domain {
                Some(d) => split_domain_user(item, &d),
                None => Node::Item(item),
            }
        }
        _ => Node::Item(item),
    }))
}

/// `convert_type`: a number as a string (`to_str`), or a string holding a number as the
/// number; expansions value by value; other values unchanged.
fn convert_type(v: Value, to_str: bool) -> Value {
    match v {
        Value::Num(n) if to_str => Value::Str {
            s: SigmaString::plain(&n),
            cased: false,
        },
        Value::Str { s, cased } if !to_str => match s.as_plain() {
            Some(t) if t.parse::<i64>().is_ok() || t.parse::<f64>().is_ok_and(f64::is_finite) => {
                Value::Num(t)
            }
            _ => Value::Str { s, cased },
        },
        Value::Expansion(vs) => {
            Value::Expansion(vs.into_iter().map(|v| convert_type(v, to_str)).collect())
        }
        v => v,
    }
}

/// `split_domain_user` on one item of a name column (see [`Transformation::SplitDomainUser`]).
/// Values compared with the name alone stay in the item (so a list stays one `in~`); the
/// others become their own comparisons, any of them (all of them for `all`).
fn split_domain_user(item: Item, domain: &str) -> Node {
    let any = SigmaString {
        parts: vec![Part::AnyMulti],
    };
    let with = |field: &str, s: SigmaString, cased: bool| {
        Node::Item(Item {
            field: Some(field.to_string()),
            values: vec![Value::Str { s, cased }],
            all: false,
            negated: false,
            applied: item.applied.clone(),
        })
    };
    let name = item.field.clone().unwrap_or_default();
    let mut kept = Vec::new();
    let mut split = Vec::new();
    for v in &item.values {
        let Value::Str { s, cased } = v else {
            kept.push(v.clone());
            continue;
        };
        let at = s.parts.iter().enumerate().find_map(|(i, p)| match p {
            Part::Lit(l) => l.find('\\').map(|j| (i, j)),
            _ => None,
        });
        match at {
            Some((i, j)) => {
                let Part::Lit(l) = &s.parts[i] else {
                    unreachable!()
                };
                let mut d = s.parts[..i].to_vec();
                let mut n = Vec::new();
                if j > 0 {
                    d.push(Part::Lit(l[..j].to_string()));
                }
                if j + 1 < l.len() {
                    n.push(Part::Lit(l[j + 1..].to_string()));
                }
                n.extend(s.parts[i + 1..].iter().cloned());
                let (d, n) = (SigmaString { parts: d }, SigmaString { parts: n });
                // The name first, then the domain (pySigma-backend-kusto's order).
                let mut both = Vec::new();
                if n != any {
                    both.push(with(&name, n, *cased));
                }
                if d != any {
                    both.push(with(domain, d, *cased));
                }
                match both.len() {
                    0 => split.push(with(&name, any.clone(), *cased)),
                    1 => split.extend(both),
                    _ => split.push(Node::And(both)),
                }
            }
            // `*x*`: in the domain or the name; `x*`: the start of the domain.
            None if s.starts_with_any() && s.ends_with_any() && s.parts.len() > 1 => {
                split.push(Node::Or(vec![
                    with(domain, s.clone(), *cased),
                    with(&name, s.clone(), *cased),
                ]));
            }
            None if s.ends_with_any() && s.parts.len() > 1 => {
                split.push(with(domain, s.clone(), *cased));
            }
            None => kept.push(v.clone()),
        }
    }
    if split.is_empty() {
        return Node::Item(item);
    }
    let negated = item.negated;
    let all = item.all;
    if !kept.is_empty() {
        split.insert(
            0,
            Node::Item(Item {
                values: kept,
                negated: false,
                ..item
            }),
        );
    }
    let n = if split.len() == 1 {
        split.remove(0)
    } else if all {
        Node::And(split)
    } else {
        Node::Or(split)
    };
    if negated { negate(n) } else { n }
}

/// The negation of a detection tree, pushed down to its items (De Morgan).
fn negate(n: Node) -> Node {
    match n {
        Node::Item(mut i) => {
            i.negated = !i.negated;
            Node::Item(i)
        }
        Node::And(v) => Node::Or(v.into_iter().map(negate).collect()),
        Node::Or(v) => Node::And(v.into_iter().map(negate).collect()),
    }
}

/// `hashes_fields` on one `Hashes` item: one item per column, any of them.
fn hashes_fields(
    item: Item,
    valid: &[String],
    prefix: &str,
    drop_algo: bool,
) -> Result<Option<Node>, String> {
    let field = item.field.clone().unwrap_or_default();
    if item.all || item.negated {
        return Err(format!(
            "`{field}`: `all` / `neq` have no per-algorithm form"
        ));
    }
    let mut columns: Vec<(String, Vec<Value>)> = Vec::new();
    for v in &item.values {
        let Value::Str { s, cased } = v else {
            return Err(format!("`{field}`: only strings name hashes"));
        };
        let text = s.to_sigma();
        let parts: Vec<&str> = if text.contains('|') {
            text.split('|').collect()
        } else {
            text.split('=').collect()
        };
        let (algo, value) = match parts[..] {
            [a, v] => (a.trim_start_matches('*').to_uppercase(), v.to_string()),
            _ => {
                let bare = text.trim_matches(|c| c == '*' || c == '?');
                let algo = match bare.len() {
                    32 => "MD5",
                    40 => "SHA1",
                    64 => "SHA256",
                    128 => "SHA512",
                    _ => "",
                };
                (algo.to_string(), text.clone())
            }
        };
        if !valid.contains(&algo) {
            continue;
        }
        let column = if drop_algo {
            prefix.to_string()
        } else {
            format!("{prefix}{algo}")
        };
        let value = Value::Str {
            s: SigmaString::parse(&value),
            cased: *cased,
        };
        match columns.iter_mut().find(|(c, _)| *c == column) {
            Some((_, vs)) => vs.push(value),
            None => columns.push((column, vec![value])),
        }
    }
    if columns.is_empty() {
        return Err(format!(
            "`{field}` names no hash of {} (the columns there are)",
            valid.join(", ")
        ));
    }
    let mut items: Vec<Node> = columns
        .into_iter()
        .map(|(c, values)| {
            Node::Item(Item {
                field: Some(c),
                values,
                ..item.clone()
            })
        })
        .collect();
    Ok(Some(if items.len() == 1 {
        items.remove(0)
    } else {
        Node::Or(items)
    }))
}

fn map_str(v: Value, f: &dyn Fn(&SigmaString) -> SigmaString) -> Value {
    match v {
        Value::Str { s, cased } => Value::Str { s: f(&s), cased },
        Value::Expansion(vs) => Value::Expansion(vs.into_iter().map(|v| map_str(v, f)).collect()),
        v => v,
    }
}

/// pySigma's `replace_string`: on the string as written (wildcards as `*`/`?`, escaped
/// literals), then read back; with `skip_special`, on each plain part only.
fn replace_string(
    s: &SigmaString,
    re: &regex::Regex,
    rep: &str,
    skip_special: bool,
) -> SigmaString {
    if skip_special {
        return SigmaString {
            parts: s
                .parts
                .iter()
                .map(|p| match p {
                    Part::Lit(l) => Part::Lit(re.replace_all(l, rep).into_owned()),
                    p => p.clone(),
                })
                .collect(),
        };
    }
    let replaced = re.replace_all(&s.to_sigma(), rep).into_owned();
    // A backslash not escaping a wildcard is a literal backslash: double it before reading.
    let mut doubled = String::new();
    let mut chars = replaced.chars().peekable();
    while let Some(c) = chars.next() {
        doubled.push(c);
        if c == '\\' {
            match chars.peek() {
                Some('*' | '?') => {}
                Some('\\') => {
                    doubled.push('\\');
                    chars.next();
                }
                _ => doubled.push('\\'),
            }
        }
    }
    SigmaString::parse(&doubled)
}

/// Every string obtained by replacing each selected placeholder with each of its values.
fn expand_placeholders(
    s: &SigmaString,
    sel: &crate::pipeline::PlaceholderFilter,
    vars: &[(String, Vec<String>)],
) -> Result<Vec<SigmaString>, String> {
    let mut out = vec![SigmaString::default()];
    for p in &s.parts {
        let choices: Vec<Part> = match p {
            Part::Placeholder(n) if sel.selects(n) => {
                let Some((_, vals)) = vars.iter().find(|(k, _)| k == n) else {
                    return Err(format!(
                        "value_placeholders: the pipeline has no `vars` value for placeholder %{n}%"
                    ));
                };
                vals.iter().map(|v| Part::Lit(v.clone())).collect()
            }
            p => vec![p.clone()],
        };
        out = out
            .iter()
            .flat_map(|prefix| {
                choices.iter().map(move |c| {
                    let mut x = prefix.clone();
                    push_part(&mut x, c.clone());
                    x
                })
            })
            .collect();
    }
    Ok(out)
}

fn push_part(s: &mut SigmaString, p: Part) {
    if let (Some(Part::Lit(a)), Part::Lit(b)) = (s.parts.last_mut(), &p) {
        a.push_str(b);
    } else {
        s.parts.push(p);
    }
}

/// `$category`, `$product`, `$service` in the string values of an `add_condition` template.
fn substitute(n: &mut yaml::Node, rule: &Rule) {
    match &mut n.value {
        yaml::Value::Str { text, .. } => {
            for (k, v) in [
                ("$category", &rule.category),
                ("$product", &rule.product),
                ("$service", &rule.service),
            ] {
                *text = text.replace(k, v.as_deref().unwrap_or("None"));
            }
        }
        yaml::Value::Seq(v) => v.iter_mut().for_each(|c| substitute(c, rule)),
        yaml::Value::Map(m) => m.iter_mut().for_each(|(_, c)| substitute(c, rule)),
        _ => {}
    }
}

fn state_holds(t: &StateTest, rule: &Rule) -> bool {
    let have = rule.state.get(&t.key).cloned().flatten();
    let num = |s: &Option<String>| s.as_deref().and_then(|x| x.parse::<f64>().ok());
    match t.op.as_str() {
        "eq" => have == t.val,
        "ne" => have != t.val,
        op => match (num(&have), num(&t.val)) {
            (Some(a), Some(b)) => match op {
                "gt" => a > b,
                "gte" => a >= b,
                "lt" => a < b,
                _ => a <= b,
            },
            _ => false,
        },
    }
}

fn plain(v: &Value) -> Option<String> {
    match v {
        Value::Str { s, .. } => s.as_plain(),
        Value::Num(n) => Some(n.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn rule_condition(c: &RuleCondition, rule: &Rule) -> bool {
    match c {
        RuleCondition::Logsource {
            category,
            product,
            service,
        } => [
            (category, &rule.category),
            (product, &rule.product),
            (service, &rule.service),
        ]
        .iter()
        .all(|(want, have)| want.is_none() || want == have),
        RuleCondition::ContainsDetectionItem { field, value } => rule.items().iter().any(|i| {
            &i.field == field && i.values.iter().any(|v| plain(v).as_deref() == Some(value))
        }),
        RuleCondition::ContainsField(f) => rule.items().iter().any(|i| &i.field == f),
        RuleCondition::ProcessingItemApplied(id) => rule.applied.contains(id),
        RuleCondition::ProcessingState(t) => state_holds(t, rule),
        RuleCondition::Tag(t) => rule.tags.iter().any(|x| x == t),
        RuleCondition::IsSigmaRule(b) => *b,
    }
}

fn item_matches(pi: &ProcessingItem, item: &Item, rule: &Rule) -> bool {
    let values = |all: bool, f: &dyn Fn(&Value) -> bool| {
        if all {
            item.values.iter().all(f)
        } else {
            item.values.iter().any(f)
        }
    };
    let item_ok = pi.detection_item_conditions.hold(|c| match c {
        ItemCondition::MatchString { regex, negate, all } => values(*all, &|v| match v {
            Value::Str { s, .. } => regex.is_match(&s.to_sigma()) != *negate,
            _ => false,
        }),
        ItemCondition::IsNull { all } => values(*all, &|v| matches!(v, Value::Null)),
        ItemCondition::MatchValue { value, all } => values(*all, &|v| v == value),
        ItemCondition::ContainsWildcard { all } => values(*all, &|v| match v {
            Value::Str { s, .. } => s.has_wildcards(),
            _ => false,
        }),
        ItemCondition::ProcessingItemApplied(id) => item.applied.contains(id),
        ItemCondition::ProcessingState(t) => state_holds(t, rule),
    });
    if !item_ok {
        return false;
    }
    if pi.field_name_conditions.list.is_empty() {
        return true;
    }
    let Some(field) = &item.field else {
        return false;
    };
    pi.field_name_conditions.hold(|c| match c {
        FieldCondition::Fields {
            fields,
            regexes,
            exclude,
        } => {
            let listed =
                fields.iter().any(|f| f == field) || regexes.iter().any(|r| r.is_match(field));
            listed != *exclude
        }
        FieldCondition::ProcessingItemApplied(id) => item.applied.contains(id),
        FieldCondition::ProcessingState(t) => state_holds(t, rule),
    })
}

#[cfg(test)]
mod tests {
    use crate::{kql, pipeline, rule::Rule};

    const RULE: &str = r#"
title: t
tags: [attack.execution]
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|endswith: '\a.exe'
        User: '%admins%'
    drop:
        EventID: 1
    condition: sel and drop
"#;

    /// The query of `rule` under the pipeline `text`, without its `T\n| where ` head.
    fn query(text: &str, rule: &str) -> Result<String, String> {
        let p = pipeline::load("p.yml", text).map_err(|e| e.to_string())?;
        let doc = sigma::parse(rule).documents.remove(0).doc;
        let mut rule = Rule::from_document(&doc)?;
        super::apply(&p, &mut rule)?;
        Ok(
            kql::queries(&rule, &crate::schema::Schema::default(), false)?
                .remove(0)
                .replacen("T\n| where ", "", 1),
        )
    }

    /// The rule's query after `table: T` and the given transformations.
    fn run(transformations: &str) -> Result<String, String> {
        let text = format!(
            "vars:\n  admins: [root, adm]\ntransformations:\n  - {{id: t, type: set_state, key: query_table, val: T}}\n{transformations}"
        );
        query(&text, &RULE.replace("'%admins%'", "'x'"))
    }

    /// The same with the rule's `User` values expanded, the transformations first.
    fn run_expand(transformations: &str) -> Result<String, String> {
        let text = format!(
            "vars:\n  admins: [root, adm]\ntransformations:\n{transformations}  - {{type: set_state, key: query_table, val: T}}\n"
        );
        query(&text, &RULE.replace("User:", "User|expand:"))
    }

    const BASE: &str = r#"(Image endswith "\\a.exe" and User =~ "x") and EventID == 1"#;

    #[test]
    fn field_name_transformations() {
        assert_eq!(run("").unwrap(), BASE);
        assert_eq!(
            run("  - {type: field_name_mapping, mapping: {Image: FolderPath, User: [A, B]}}\n")
                .unwrap(),
            r#"(FolderPath endswith "\\a.exe" and (A =~ "x" or B =~ "x")) and EventID == 1"#
        );
        assert_eq!(
            run("  - {type: field_name_prefix_mapping, mapping: {Ima: Pic}}\n").unwrap(),
            BASE.replace("Image", "Picge")
        );
        assert_eq!(
            run("  - {type: field_name_prefix, prefix: p_}\n  - {type: field_name_suffix, suffix: _s}\n").unwrap(),
            r#"(p_Image_s endswith "\\a.exe" and p_User_s =~ "x") and p_EventID_s == 1"#
        );
    }

    #[test]
    fn drop_and_failures() {
        let drop = "  - type: drop_detection_item\n    field_name_conditions: [{type: include_fields, fields: [EventID]}]\n";
        assert_eq!(
            run(drop).unwrap(),
            r#"Image endswith "\\a.exe" and User =~ "x""#
        );
        assert_eq!(
            run("  - {type: rule_failure, message: nope}\n").unwrap_err(),
            "nope"
        );
        let fail = "  - type: detection_item_failure\n    message: 'no {field}'\n    field_name_conditions: [{type: exclude_fields, fields: [Image, EventID]}]\n";
        assert_eq!(run(fail).unwrap_err(), "no User");
    }

    #[test]
    fn rule_level_transformations() {
        assert_eq!(
            run("  - {type: add_condition, conditions: {Dvc: h}}\n").unwrap(),
            format!(r#"Dvc =~ "h" and ({BASE})"#)
        );
        assert_eq!(
            run("  - {type: add_condition, conditions: {Dvc: h}, negated: true}\n").unwrap(),
            format!(r#"(not(Dvc =~ "h")) and ({BASE})"#)
        );
        assert_eq!(
            run("  - {type: add_condition, conditions: {Cat: $category}, template: true}\n")
                .unwrap(),
            format!(r#"Cat =~ "process_creation" and ({BASE})"#)
        );
        let change = "  - {id: c, type: change_logsource, category: other}\n  - type: rule_failure\n    message: changed\n    rule_conditions: [{type: logsource, category: other}]\n";
        assert_eq!(run(change).unwrap_err(), "changed");
    }

    #[test]
    fn value_transformations() {
        assert_eq!(
            run("  - {type: replace_string, regex: '^\\*\\\\a', replacement: '*\\b'}\n").unwrap(),
            BASE.replace(r"\\a.exe", r"\\b.exe")
        );
        assert_eq!(
            run(
                "  - {type: replace_string, regex: '^x$', replacement: 'y*', skip_special: true}\n"
            )
            .unwrap(),
            BASE.replace(r#"User =~ "x""#, r#"User =~ "y*""#)
        );
        assert_eq!(
            run_expand("  - {type: value_placeholders}\n").unwrap(),
            BASE.replace(r#"User =~ "x""#, r#"User in~ ("root", "adm")"#)
                .replace("and User", "and (User")
                .replace(r#""adm")"#, r#""adm"))"#)
        );
        assert_eq!(
            run_expand("  - {type: wildcard_placeholders}\n").unwrap(),
            BASE.replace(r#"User =~ "x""#, r#"User startswith """#)
        );
        assert!(
            run_expand("  - {type: value_placeholders, include: [other]}\n")
                .unwrap_err()
                .contains("%admins%")
        );
        assert!(run_expand("  - {type: value_placeholders, exclude: [admins]}\n").is_err());
    }

    #[test]
    fn map_string_and_hashes_fields() {
        assert_eq!(
            run("  - {type: map_string, mapping: {x: [y, z]}}\n").unwrap(),
            BASE.replace(r#"User =~ "x""#, r#"(User in~ ("y", "z"))"#)
        );
        let hashes = "  - {type: replace_string, regex: '^x$', replacement: '*MD5=ab*'}\n  - {type: field_name_mapping, mapping: {User: Hashes}}\n";
        assert_eq!(
            run(&format!(
                "{hashes}  - {{type: hashes_fields, valid_hash_algos: [MD5], field_prefix: F}}\n"
            ))
            .unwrap(),
            BASE.replace(r#"User =~ "x""#, r#"FMD5 startswith "ab""#)
        );
        assert!(
            run(&format!(
                "{hashes}  - {{type: hashes_fields, valid_hash_algos: [SHA1]}}\n"
            ))
            .unwrap_err()
            .contains("no hash of SHA1")
        );
    }

    #[test]
    fn conditions() {
        let fail = |conds: &str| {
            run(&format!(
                "  - type: rule_failure\n    message: hit\n{conds}"
            ))
            .is_err()
        };
        assert!(fail(
            "    rule_conditions: [{type: logsource, category: process_creation}]\n"
        ));
        assert!(!fail(
            "    rule_conditions: [{type: logsource, product: linux}]\n"
        ));
        assert!(fail(
            "    rule_conditions: [{type: logsource, product: linux}]\n    rule_cond_not: true\n"
        ));
        assert!(fail(
            "    rule_conditions: [{type: logsource, product: linux}, {type: tag, tag: attack.execution}]\n    rule_cond_op: or\n"
        ));
        assert!(!fail(
            "    rule_conditions: [{type: logsource, product: linux}, {type: tag, tag: attack.execution}]\n"
        ));
        assert!(fail(
            "    rule_conditions: [{type: contains_detection_item, field: EventID, value: 1}]\n"
        ));
        assert!(!fail(
            "    rule_conditions: [{type: contains_detection_item, field: EventID, value: 2}]\n"
        ));
        assert!(fail(
            "    rule_conditions: [{type: contains_field, field: User}]\n"
        ));
        assert!(fail(
            "    rule_conditions: [{type: processing_item_applied, processing_item_id: t}]\n"
        ));
        assert!(!fail(
            "    rule_conditions: [{type: processing_item_applied, processing_item_id: u}]\n"
        ));
        assert!(fail(
            "    rule_conditions: [{type: processing_state, key: query_table, val: T}]\n"
        ));
        assert!(fail(
            "    rule_conditions: [{type: processing_state, key: query_table, val: X, op: ne}]\n"
        ));
        assert!(fail(
            "    rule_conditions: [{type: processing_state, key: missing, val: null}]\n"
        ));
        assert!(fail("    rule_conditions: [{type: is_sigma_rule}]\n"));
        let item_fail = |conds: &str| {
            run(&format!(
                "  - type: detection_item_failure\n    message: hit\n{conds}"
            ))
            .is_err()
        };
        assert!(item_fail(
            "    detection_item_conditions: [{type: match_string, pattern: '^x$'}]\n"
        ));
        assert!(!item_fail(
            "    detection_item_conditions: [{type: match_string, pattern: '^zz$'}]\n"
        ));
        assert!(!item_fail(
            "    detection_item_conditions: [{type: is_null}]\n"
        ));
        assert!(item_fail(
            "    detection_item_conditions: [{type: contains_wildcard}]\n"
        ));
        assert!(item_fail(
            "    detection_item_conditions: [{type: processing_state, key: query_table, val: T}]\n"
        ));
        assert!(!item_fail(
            "    detection_item_conditions: [{type: processing_item_applied, processing_item_id: t}]\n"
        ));
        assert!(item_fail(
            "    field_name_conditions: [{type: include_fields, fields: ['Us.*'], mode: re}]\n"
        ));
        assert!(!item_fail(
            "    field_name_conditions: [{type: include_fields, fields: ['Us'], mode: re}]\n"
        ));
        assert!(item_fail(
            "    field_name_conditions: [{type: processing_state, key: query_table, val: T}]\n"
        ));
        // An item a transformation changed is marked with its id.
        let marked = "  - {id: m, type: field_name_mapping, mapping: {User: U}}\n  - type: detection_item_failure\n    message: hit\n    field_name_conditions: [{type: processing_item_applied, processing_item_id: m}]\n";
        assert!(run(marked).is_err());
        let unmarked = "  - {id: m, type: field_name_mapping, mapping: {Nope: U}}\n  - type: detection_item_failure\n    message: hit\n    field_name_conditions: [{type: processing_item_applied, processing_item_id: m}]\n";
        assert!(run(unmarked).is_ok());
    }
}
