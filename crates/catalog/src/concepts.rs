//! Indicators compared across rule formats: fields unified through the concept table
//! (`data/concepts/fields.tsv`) and wildcard values normalised to the kind they mean.
//!
//! The corpus counts ask "how many rules look for the same thing"; a Splunk
//! `Processes.process="*Invoke-Command*"` and a Sigma `CommandLine|contains: Invoke-Command` do.

use ir::{Format, Kind};
use std::collections::HashMap;
use std::sync::OnceLock;

const FIELDS: &str = include_str!("../../../data/concepts/fields.tsv");

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
pub fn indicator_key(
    format: Format,
    field: Option<&str>,
    kind: Kind,
    value: &str,
) -> (Option<String>, Kind, String) {
    let field = field.map(|f| concept(format, f).map_or_else(|| f.to_lowercase(), str::to_string));
    let (kind, value) = normalise(format, kind, value);
    (field, kind, value.to_lowercase())
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
