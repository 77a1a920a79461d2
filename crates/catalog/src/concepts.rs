//! Indicators compared across rule formats: fields unified through the concept table
//! (`data/concepts/fields.tsv`) and wildcard values normalised to the kind they mean.
//!
//! The corpus counts ask "how many rules look for the same thing"; a Splunk
//! `Processes.process="*Invoke-Command*"` and a Sigma `CommandLine|contains: Invoke-Command` do.

use ir::{Format, Kind};
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

/// The key under which the corpus counts an indicator: the field's concept (or the field itself,
/// lower-cased), the kind and the value, with an `eq` value that is a wildcard pattern of one
/// literal (`*x*`, `*x`, `x*`) read as the `contains`/`ends_with`/`starts_with` it means, and the
/// value lower-cased.
pub fn indicator_key(format: Format, field: Option<&str>, kind: Kind, value: &str) -> IndicatorKey {
    let field = field.map(|f| concept(format, f).map_or_else(|| f.to_lowercase(), str::to_string));
    let (kind, value) = normalise(format, kind, value);
    (field, kind, value.to_lowercase(), Vec::new())
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
pub fn row_key(format: Format, row: &ir::Row, value: &str) -> IndicatorKey {
    let mut key = indicator_key(format, row.field.as_deref(), row.kind, value);
    key.3 = row.transforms.clone();
    key
}

/// `eq "*x*"` → `contains "x"`, `eq "*x"` → `ends_with "x"`, `eq "x*"` → `starts_with "x"`,
/// when `x` holds no other wildcard (Sigma: `*` or `?` not escaped by `\`; other formats: `*`).
pub fn normalise(format: Format, kind: Kind, value: &str) -> (Kind, &str) {
    if kind != Kind::Eq {
        return (kind, value);
    }
    let lead = value.starts_with('*');
    let trail = value.ends_with('*') && !escaped_at(format, value, value.len() - 1);
    let inner = match (lead, trail) {
        (true, true) if value.len() >= 2 => &value[1..value.len() - 1],
        (true, false) => &value[1..],
        (false, true) => &value[..value.len() - 1],
        _ => return (kind, value),
    };
    if inner.is_empty() || has_wildcard(format, inner) {
        return (kind, value);
    }
    let kind = match (lead, trail) {
        (true, true) => Kind::Contains,
        (true, false) => Kind::EndsWith,
        _ => Kind::StartsWith,
    };
    (kind, inner)
}

/// Whether the character at byte `i` is escaped by an odd run of backslashes (Sigma only).
fn escaped_at(format: Format, s: &str, i: usize) -> bool {
    format == Format::Sigma
        && s.as_bytes()[..i]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count()
            % 2
            == 1
}

fn has_wildcard(format: Format, s: &str) -> bool {
    s.char_indices().any(|(i, c)| match c {
        '*' => !escaped_at(format, s, i),
        '?' => format == Format::Sigma && !escaped_at(format, s, i),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            indicator_key(
                Format::Splunk,
                Some("Processes.process"),
                Kind::Eq,
                "*Invoke-Command*"
            ),
            indicator_key(
                Format::Sigma,
                Some("CommandLine"),
                Kind::Contains,
                "invoke-command"
            )
        );
    }

    #[test]
    fn a_path_suffix_of_one_name_also_counts_as_the_name() {
        let key = indicator_key(
            Format::Sigma,
            Some("Image"),
            Kind::EndsWith,
            "\\PowerShell.exe",
        );
        assert_eq!(
            name_key(&key),
            Some(indicator_key(
                Format::Elastic,
                Some("process.name"),
                Kind::Eq,
                "powershell.exe"
            ))
        );
        let no = |f, k, v| name_key(&indicator_key(Format::Sigma, Some(f), k, v));
        assert_eq!(no("Image", Kind::EndsWith, "powershell.exe"), None);
        assert_eq!(no("Image", Kind::EndsWith, "\\x\\powershell.exe"), None);
        assert_eq!(no("Image", Kind::EndsWith, "\\p*.exe"), None);
        assert_eq!(no("Image", Kind::Contains, "\\powershell.exe"), None);
        assert_eq!(no("CommandLine", Kind::EndsWith, "\\powershell.exe"), None);
    }

    #[test]
    fn only_one_literal_between_edge_wildcards_is_normalised() {
        let n = |f, v| normalise(f, Kind::Eq, v);
        assert_eq!(n(Format::Splunk, "*a*"), (Kind::Contains, "a"));
        assert_eq!(n(Format::Splunk, "*\\a.exe"), (Kind::EndsWith, "\\a.exe"));
        assert_eq!(n(Format::Splunk, "C:\\x*"), (Kind::StartsWith, "C:\\x"));
        assert_eq!(n(Format::Splunk, "*a*b*"), (Kind::Eq, "*a*b*"));
        assert_eq!(n(Format::Splunk, "*"), (Kind::Eq, "*"));
        assert_eq!(n(Format::Splunk, "**"), (Kind::Eq, "**"));
        assert_eq!(n(Format::Splunk, "a?b*"), (Kind::StartsWith, "a?b"));
        assert_eq!(n(Format::Sigma, "a?b*"), (Kind::Eq, "a?b*"));
        // Sigma: an escaped trailing star is a literal star.
        assert_eq!(n(Format::Sigma, "*a\\*"), (Kind::EndsWith, "a\\*"));
        assert_eq!(n(Format::Sigma, "*a\\\\*"), (Kind::Contains, "a\\\\"));
        assert_eq!(
            normalise(Format::Splunk, Kind::Contains, "*a*"),
            (Kind::Contains, "*a*")
        );
    }
}
