//! Indicators compared across rule formats: fields unified through the concept table
//! (`data/concepts/fields.tsv`) and values compared by the pattern they mean ([`ir::value`]),
//! never by their text as written.
//!
//! The corpus counts ask "how many rules look for the same thing"; a Splunk
//! `Processes.process="*Invoke-Command*"` and a Sigma `CommandLine|contains: Invoke-Command` do.

use ir::{Format, Kind, Shape};
use std::collections::HashMap;
use std::sync::OnceLock;

const FIELDS: &str = include_str!("../../../data/concepts/fields.tsv");
const NAMES: &str = include_str!("../../../data/concepts/names.tsv");

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Sigma => "sigma",
        Format::Splunk => "splunk",
        Format::Kql => "kql",
        Format::Elastic => "elastic",
    }
}

/// `(format, lower-case field)` → concept.
fn table() -> &'static HashMap<(&'static str, String), &'static str> {
    static TABLE: OnceLock<HashMap<(&'static str, String), &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        FIELDS
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut cols = l.split('\t');
                Some(((cols.next()?, cols.next()?.to_lowercase()), cols.next()?))
            })
            .collect()
    })
}

/// The shared concept a field of `format` stands for (`process.command_line`), if the table
/// has one.
pub fn concept(format: Format, field: &str) -> Option<&'static str> {
    table()
        .get(&(format_name(format), field.to_lowercase()))
        .copied()
}

/// `data/concepts/normalized.tsv`: concept → the name pages show for its fields.
const NORMALIZED: &str = include_str!("../../../data/concepts/normalized.tsv");

/// The name a page shows for `field` of a rule in `format`: its concept's normalized name
/// (`Processes.process`, `CommandLine` → `command_line`), else the field as written, a Splunk
/// data-model field without its dataset (`Processes.process_guid` → `process_guid`, as the
/// search's `drop_dm_object_name` names its columns).
pub fn normalized_field(format: Format, field: &str) -> String {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        NORMALIZED
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .collect()
    });
    if let Some(name) = concept(format, field).and_then(|c| table.get(c)) {
        return (*name).to_string();
    }
    match field.split_once('.') {
        Some((dataset, name))
            if format == Format::Splunk
                && dataset.starts_with(|c: char| c.is_ascii_uppercase())
                && !name.is_empty()
                && !name.contains('.') =>
        {
            name.to_string()
        }
        _ => field.to_string(),
    }
}

/// [`normalized_field`] of each field, sorted, each name once.
pub fn normalized_fields(format: Format, fields: &[String]) -> Vec<String> {
    let names: std::collections::BTreeSet<String> =
        fields.iter().map(|f| normalized_field(format, f)).collect();
    names.into_iter().collect()
}

/// The key under which the corpus counts one value of a `kind` test on `field`: the field's
/// concept (or the field itself, lower-cased), then what the value's pattern means — its shape
/// read as the kind (`*x*` is `contains x`, whatever the kind as written) and its literal,
/// lower-cased — or, for a value without pattern (a regex, number, CIDR), the kind and the
/// text as written, lower-cased.
pub fn indicator_key(
    format: Format,
    field: Option<&str>,
    kind: Kind,
    value: &ir::Value,
) -> IndicatorKey {
    let field = field.map(|f| concept(format, f).map_or_else(|| f.to_lowercase(), str::to_string));
    let (kind, text) = match &value.pattern {
        Some(p) => {
            let (shaped, lit) = match p.shape() {
                Shape::Exact(l) => (Kind::Eq, l.to_lowercase()),
                Shape::Prefix(l) => (Kind::StartsWith, l.to_lowercase()),
                Shape::Suffix(l) => (Kind::EndsWith, l.to_lowercase()),
                Shape::Contains(l) => (Kind::Contains, l.to_lowercase()),
                Shape::Any | Shape::Glob => (Kind::Eq, p.key(false)),
            };
            // A keyword is searched for anywhere: its kind stays.
            (if kind == Kind::Keyword { kind } else { shaped }, lit)
        }
        None => (kind, value.written.to_lowercase()),
    };
    (field, kind, text, Vec::new())
}

/// The name concept of a path concept (`process.executable` → `process.name`), from
/// `data/concepts/names.tsv`.
pub(crate) fn name_concept(path_concept: &str) -> Option<&'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            NAMES
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .filter_map(|l| l.split_once('\t'))
                .collect()
        })
        .get(path_concept)
        .copied()
}

/// The second key under which a path indicator counts: a path suffix that is one separator
/// and a file name (`Image ends_with "\powershell.exe"`) selects the events whose process
/// name is `powershell.exe`, so it also counts as `process.name eq "powershell.exe"`. A suffix
/// without the separator (`ends_with "powershell.exe"`) is broader and has none.
pub fn name_key(key: &IndicatorKey) -> Option<IndicatorKey> {
    let (Some(field), Kind::EndsWith, value, transforms) = key else {
        return None;
    };
    if !transforms.is_empty() {
        return None;
    }
    let name = name_concept(field)?;
    let rest = value.strip_prefix(['\\', '/'])?;
    let plain = !rest.is_empty() && !rest.contains(['\\', '/', '*', '?']);
    plain.then(|| {
        (
            Some(name.to_string()),
            Kind::Eq,
            rest.to_string(),
            Vec::new(),
        )
    })
}

/// The key a count is looked up under: a path suffix of one file name counts as the name
/// ([`name_key`]), with that name concept returned beside it.
pub fn counted_key(key: IndicatorKey) -> (IndicatorKey, Option<String>) {
    match name_key(&key) {
        Some(name) => {
            let as_name = name.0.clone();
            (name, as_name)
        }
        None => (key, None),
    }
}

/// Every kind of test, for reading one back from its name ([`kind_from_str`]).
const KINDS: [Kind; 14] = [
    Kind::Eq,
    Kind::Contains,
    Kind::StartsWith,
    Kind::EndsWith,
    Kind::Regex,
    Kind::Cidr,
    Kind::Exists,
    Kind::Null,
    Kind::Lt,
    Kind::Lte,
    Kind::Gt,
    Kind::Gte,
    Kind::Fieldref,
    Kind::Keyword,
];

/// The kind named `s` (`ends_with`), as [`Kind::as_str`] writes it.
pub fn kind_from_str(s: &str) -> Option<Kind> {
    KINDS.into_iter().find(|k| k.as_str() == s)
}

/// An indicator as the corpus counts it: the field's concept (or the field, lower-cased), the
/// kind, the value lower-cased, and the value's transforms (`base64offset|contains` is not a
/// plain-text `contains`).
pub type IndicatorKey = (Option<String>, Kind, String, Vec<String>);

/// Every key a rule is counted under: each value of each indicator row, and the name a path
/// ends with ([`name_key`]).
pub fn rule_keys(rule: &ir::Rule) -> std::collections::HashSet<IndicatorKey> {
    let mut keys = std::collections::HashSet::new();
    for row in ir::indicators(&rule.logic) {
        for v in &row.values {
            let key = row_key(rule.format, &row, v);
            keys.extend(name_key(&key));
            keys.insert(key);
        }
    }
    keys
}

/// The key of one value of an indicator row.
pub fn row_key(format: Format, row: &ir::Row, value: &ir::Value) -> IndicatorKey {
    let mut key = indicator_key(format, row.field.as_deref(), row.kind, value);
    key.3 = row.transforms.clone();
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use ir::{Syntax, Value};

    fn key(format: Format, field: &str, kind: Kind, v: &str, syntax: Syntax) -> IndicatorKey {
        indicator_key(format, Some(field), kind, &Value::new(kind, v, syntax))
    }

    #[test]
    fn fields_of_different_formats_meet_in_one_concept() {
        assert_eq!(
            concept(Format::Splunk, "Processes.process"),
            Some("process.command_line")
        );
        assert_eq!(
            concept(Format::Sigma, "commandline"),
            Some("process.command_line")
        );
        assert_eq!(concept(Format::Sigma, "Processes.process"), None);
        assert_eq!(
            key(
                Format::Splunk,
                "Processes.process",
                Kind::Eq,
                "*Invoke-Command*",
                Syntax::SPL_SEARCH
            ),
            key(
                Format::Sigma,
                "CommandLine",
                Kind::Contains,
                "invoke-command",
                Syntax::SIGMA
            )
        );
    }

    #[test]
    fn a_path_suffix_of_one_name_also_counts_as_the_name() {
        let k = key(
            Format::Sigma,
            "Image",
            Kind::EndsWith,
            "\\PowerShell.exe",
            Syntax::SIGMA,
        );
        assert_eq!(
            name_key(&k),
            Some(key(
                Format::Elastic,
                "process.name",
                Kind::Eq,
                "powershell.exe",
                Syntax::Literal
            ))
        );
        let no = |f, k, v| name_key(&key(Format::Sigma, f, k, v, Syntax::SIGMA));
        assert_eq!(no("Image", Kind::EndsWith, "powershell.exe"), None);
        assert_eq!(no("Image", Kind::EndsWith, "\\x\\powershell.exe"), None);
        assert_eq!(no("Image", Kind::EndsWith, "\\p*.exe"), None);
        assert_eq!(no("Image", Kind::Contains, "\\powershell.exe"), None);
        assert_eq!(no("CommandLine", Kind::EndsWith, "\\powershell.exe"), None);
    }

    #[test]
    fn values_meet_by_the_pattern_they_mean_in_their_language() {
        let k = |kind, v, syntax| key(Format::Sigma, "CommandLine", kind, v, syntax);
        let spl = Syntax::SPL_SEARCH;
        assert_eq!(
            k(Kind::Eq, "*a*", spl),
            k(Kind::Contains, "a", Syntax::Literal)
        );
        assert_eq!(k(Kind::Eq, "*\\a.exe", spl).1, Kind::EndsWith);
        assert_eq!(k(Kind::Eq, "C:\\x*", spl).1, Kind::StartsWith);
        assert_eq!(k(Kind::Eq, "*a*b*", spl).1, Kind::Eq);
        // SPL's `?` is a character, Sigma's and EQL's a wildcard.
        assert_eq!(k(Kind::Eq, "a?b*", spl).1, Kind::StartsWith);
        assert_eq!(k(Kind::Eq, "a?b*", Syntax::SIGMA).1, Kind::Eq);
        assert_eq!(
            k(Kind::Eq, "a?b*", Syntax::EQL),
            k(Kind::Eq, "a?b*", Syntax::SIGMA)
        );
        // Sigma: an escaped trailing star is a literal star.
        assert_eq!(
            k(Kind::Eq, "*a\\*", Syntax::SIGMA),
            k(Kind::EndsWith, "a*", Syntax::Literal)
        );
        assert_eq!(
            k(Kind::Eq, "*a\\\\*", Syntax::SIGMA),
            k(Kind::Contains, "a\\", Syntax::Literal)
        );
        // A literal star (KQL, quoted kuery) is not a wildcard.
        assert_ne!(
            k(Kind::Eq, "*a*", Syntax::Literal),
            k(Kind::Contains, "a", Syntax::Literal)
        );
        // Lucene escapes any character.
        assert_eq!(
            k(Kind::Eq, "*\\\\a.exe", Syntax::LUCENE),
            k(Kind::EndsWith, "\\a.exe", Syntax::Literal)
        );
    }
}
