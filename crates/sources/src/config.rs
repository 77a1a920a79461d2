//! The sources file (`data/sources.toml`, or the user's `--config FILE`): a `[[source]]` table
//! per repository.

use serde::Deserialize;
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// The sources detdex fetches when none are given: `data/sources.toml`.
pub const DEFAULT_CONFIG: &str = include_str!("../../../data/sources.toml");
/// How [`default_config`] names the built-in file in its errors.
pub const DEFAULT_CONFIG_NAME: &str = "data/sources.toml";

/// One repository of rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// The source's name in detdex: rule keys, badges, the cache folder.
    pub name: String,
    /// How pages name the repository ("SigmaHQ").
    pub label: String,
    /// The git repository to clone.
    pub url: String,
    /// The branch or tag to follow; `None` for the repository's default branch.
    pub branch: Option<String>,
    /// The folders of the repository detdex reads (`rules`), written with `/`; empty for all
    /// of it. None is inside another.
    pub paths: Vec<String>,
    pub license: Option<String>,
}

/// A sources file: its sources in the order it lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub sources: Vec<SourceConfig>,
}

/// A problem in a sources file, at a line and column (1-based) when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.col, self.message
            )
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    source: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    label: Option<String>,
    url: Spanned<String>,
    branch: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    paths: Option<Spanned<Vec<Spanned<String>>>>,
    license: Option<String>,
}

/// The built-in sources ([`DEFAULT_CONFIG`]).
pub fn default_config() -> Result<Config, ConfigError> {
    parse(DEFAULT_CONFIG_NAME, DEFAULT_CONFIG)
}

/// Read a sources file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 0,
        col: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse(&file, &text)
}

/// Parse the text of a sources file named `file` (for errors).
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    let error = |span: Option<std::ops::Range<usize>>, message: String| {
        let (line, col) = span.map_or((0, 0), |s| line_col(text, s.start));
        ConfigError {
            file: file.to_string(),
            line,
            col,
            message,
        }
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| error(e.span(), e.message().into()))?;
    if raw.source.is_empty() {
        return Err(error(None, "no [[source]] table".into()));
    }
    let mut sources: Vec<SourceConfig> = Vec::new();
    for s in raw.source {
        let name = s.name.get_ref();
        if !valid_name(name) {
            return Err(error(
                Some(s.name.span()),
                format!("bad source name `{name}`: use letters, digits, `-` and `_`"),
            ));
        }
        if sources.iter().any(|o| &o.name == name) {
            return Err(error(
                Some(s.name.span()),
                format!("source `{name}` is listed twice"),
            ));
        }
        let url = s.url.get_ref();
        if url.trim().is_empty() || url.starts_with('-') {
            return Err(error(Some(s.url.span()), format!("bad url `{url}`")));
        }
        if let Some(b) = &s.branch
            && (b.get_ref().trim().is_empty() || b.get_ref().starts_with('-'))
        {
            return Err(error(
                Some(b.span()),
                format!("bad branch `{}`", b.get_ref()),
            ));
        }
        let listed: Vec<&Spanned<String>> = match (&s.path, &s.paths) {
            (Some(_), Some(ps)) => {
                return Err(error(
                    Some(ps.span()),
                    "give `path` or `paths`, not both".into(),
                ));
            }
            (Some(p), None) => vec![p],
            (None, Some(ps)) if ps.get_ref().is_empty() => {
                return Err(error(
                    Some(ps.span()),
                    "`paths` is empty: list folders, or leave it out to read the whole repository"
                        .into(),
                ));
            }
            (None, Some(ps)) => ps.get_ref().iter().collect(),
            (None, None) => Vec::new(),
        };
        let mut paths: Vec<String> = Vec::new();
        for p in listed {
            let folder = relative_path(p.get_ref()).ok_or_else(|| {
                error(
                    Some(p.span()),
                    format!(
                        "bad path `{}`: a folder inside the repository, without `..`",
                        p.get_ref()
                    ),
                )
            })?;
            if let Some(other) = paths.iter().find(|o| nested(o, &folder)) {
                return Err(error(
                    Some(p.span()),
                    format!("path `{folder}` overlaps `{other}`, listed before"),
                ));
            }
            paths.push(folder);
        }
        sources.push(SourceConfig {
            label: s.label.unwrap_or_else(|| name.clone()),
            name: s.name.into_inner(),
            url: s.url.into_inner(),
            branch: s.branch.map(Spanned::into_inner),
            paths,
            license: s.license,
        });
    }
    Ok(Config { sources })
}

/// Letters, digits, `-` and `_`: the name is a folder name and the first part of rule keys.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A folder inside the repository, written with `/`, without `.`/`..` parts or a leading `/`;
/// `None` if it is not one. Empty parts (`rules//windows`, a trailing `/`) are dropped.
fn relative_path(p: &str) -> Option<String> {
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    let bad = p.starts_with('/')
        || p.contains('\\')
        || parts.is_empty()
        || parts.iter().any(|s| *s == "." || *s == "..");
    (!bad).then(|| parts.join("/"))
}

/// Whether one folder is the other or inside it (`rules` and `rules/windows`).
fn nested(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| {
        x.strip_prefix(y)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    };
    inside(a, b) || inside(b, a)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sources_parse() {
        let c = default_config().unwrap();
        let names: Vec<&str> = c.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sigma",
                "splunk",
                "elastic",
                "falconfriday",
                "mdecrevoisier"
            ]
        );
        let sigma = &c.sources[0];
        assert_eq!(sigma.url, "https://github.com/SigmaHQ/sigma");
        assert_eq!(
            sigma.paths,
            ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        );
        let elastic = &c.sources[2];
        assert_eq!(elastic.paths, ["rules", "rules_building_block", "hunting"]);
        assert!(c.sources[1].paths.is_empty(), "splunk is read whole");
        assert_eq!(sigma.label, "SigmaHQ");
        assert!(c.sources.iter().all(|s| s.license.is_some()));
    }

    #[test]
    fn optional_fields() {
        let c = parse(
            "s.toml",
            "[[source]]\nname = \"a\"\nurl = \"file:///x\"\nbranch = \"dev\"\npath = \"rules/\"\n",
        )
        .unwrap();
        let s = &c.sources[0];
        assert_eq!(s.label, "a");
        assert_eq!(s.branch.as_deref(), Some("dev"));
        assert_eq!(s.paths, ["rules"], "`path` is the one-folder form");
        assert_eq!(s.license, None);
    }

    #[test]
    fn several_paths() {
        let c = parse(
            "s.toml",
            "[[source]]\nname = \"a\"\nurl = \"u\"\npaths = [\"rules\", \"hunting/\", \"x//y\"]\n\
             [[source]]\nname = \"b\"\nurl = \"v\"\n",
        )
        .unwrap();
        assert_eq!(c.sources[0].paths, ["rules", "hunting", "x/y"]);
        assert!(c.sources[1].paths.is_empty());
    }

    fn err(text: &str) -> String {
        parse("s.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn errors_have_file_line_and_column() {
        // TOML syntax.
        assert!(
            err("[[source]]\nname = \"a\nurl = \"x\"\n").starts_with("s.toml:2:"),
            "{}",
            err("[[source]]\nname = \"a\nurl = \"x\"\n")
        );
        // A missing key: the table's position.
        let e = err("[[source]]\nname = \"a\"\n");
        assert!(e.starts_with("s.toml:1:1: ") && e.contains("url"), "{e}");
        // An unknown key.
        let e = err("[[source]]\nname = \"a\"\nurl = \"u\"\nbranh = \"b\"\n");
        assert!(e.starts_with("s.toml:4:1: ") && e.contains("branh"), "{e}");
        // Checks of values point at the value.
        assert_eq!(
            err("[[source]]\nname = \"a/b\"\nurl = \"u\"\n"),
            "s.toml:2:8: bad source name `a/b`: use letters, digits, `-` and `_`"
        );
        assert_eq!(
            err("[[source]]\nname = \"a\"\nurl = \"u\"\n[[source]]\nname = \"a\"\nurl = \"v\"\n"),
            "s.toml:5:8: source `a` is listed twice"
        );
        assert_eq!(
            err("[[source]]\nname = \"a\"\nurl = \"u\"\npath = \"../x\"\n"),
            "s.toml:4:8: bad path `../x`: a folder inside the repository, without `..`"
        );
        // Each entry of `paths` is checked, and points at itself.
        assert_eq!(
            err("[[source]]\nname = \"a\"\nurl = \"u\"\npaths = [\"rules\", \"a/../b\"]\n"),
            "s.toml:4:19: bad path `a/../b`: a folder inside the repository, without `..`"
        );
        assert_eq!(
            err("[[source]]\nname = \"a\"\nurl = \"u\"\npaths = [\"rules\", \"/etc\"]\n"),
            "s.toml:4:19: bad path `/etc`: a folder inside the repository, without `..`"
        );
        assert_eq!(
            err("[[source]]\nname = \"a\"\nurl = \"u\"\npaths = [\"rules/\", \"rules/windows\"]\n"),
            "s.toml:4:20: path `rules/windows` overlaps `rules`, listed before"
        );
        assert_eq!(
            err("[[source]]\nname = \"a\"\nurl = \"u\"\npaths = []\n"),
            "s.toml:4:9: `paths` is empty: list folders, or leave it out to read the whole repository"
        );
        assert_eq!(
            err("[[source]]\nname = \"a\"\nurl = \"u\"\npath = \"r\"\npaths = [\"s\"]\n"),
            "s.toml:5:9: give `path` or `paths`, not both"
        );
        // `paths` is a list.
        let e = err("[[source]]\nname = \"a\"\nurl = \"u\"\npaths = \"rules\"\n");
        assert!(e.starts_with("s.toml:4:9: "), "{e}");
        assert_eq!(
            err("[[source]]\nname = \"a\"\nurl = \"--upload-pack=x\"\n"),
            "s.toml:3:7: bad url `--upload-pack=x`"
        );
        assert_eq!(err("# nothing\n"), "s.toml: no [[source]] table");
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("", 5), (1, 1));
    }
}
