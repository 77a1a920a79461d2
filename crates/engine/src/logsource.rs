//! Which events a Sigma logsource covers, and the Sigma names of their fields, as data:
//! `data/logsources/windows.tsv` (logsource → channel, event ids, a condition),
//! `data/logsources/fields.tsv` (per channel and event id: Sigma field ← template, transform)
//! and `data/logsources/recognize.tsv` (JSON events without a channel → a logsource, by the
//! fields they hold).

use crate::event::{Event, FieldValue};
use sigma::LogSource;
use std::sync::OnceLock;

const WINDOWS: &str = include_str!("../../../data/logsources/windows.tsv");
const FIELDS: &str = include_str!("../../../data/logsources/fields.tsv");
const RECOGNIZE: &str = include_str!("../../../data/logsources/recognize.tsv");

/// A Sigma logsource: (product, category, service), lower-cased, empty where not given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Tag {
    pub product: String,
    pub category: String,
    pub service: String,
}

impl Tag {
    /// `product=aws,service=cloudtrail` (keys product, category, service).
    pub fn parse(text: &str) -> Result<Tag, String> {
        let mut tag = Tag::default();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: want key=value"))?;
            let v = v.trim().to_lowercase();
            match k.trim() {
                "product" => tag.product = v,
                "category" => tag.category = v,
                "service" => tag.service = v,
                other => {
                    return Err(format!(
                        "{other:?}: a logsource key is product, category or service"
                    ));
                }
            }
        }
        if tag == Tag::default() {
            return Err("an empty logsource".into());
        }
        Ok(tag)
    }

    fn of(ls: &LogSource) -> Tag {
        let first = |v: &[String]| v.first().map(|s| s.to_lowercase()).unwrap_or_default();
        Tag {
            product: first(&ls.product),
            category: first(&ls.category),
            service: first(&ls.service),
        }
    }

    /// Does a rule of logsource `self` read events of logsource `ev`? Every part the rule
    /// names must be the event's.
    pub(crate) fn covers(&self, ev: &Tag) -> bool {
        let part = |r: &str, e: &str| r.is_empty() || r == e;
        part(&self.product, &ev.product)
            && part(&self.category, &ev.category)
            && part(&self.service, &ev.service)
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
        f.write_str(&parts.join(", "))
    }
}

/// The tables shipped with detdex, or given as text.
#[derive(Debug, Clone)]
pub struct Logsources {
    rows: Vec<Row>,
    fields: Vec<FieldRow>,
    /// Per logsource: the fields an event must have (with a value, ignoring case).
    recognize: Vec<(Tag, Vec<Need>)>,
}

/// A field an event must have, with this value (lower-cased) if one is given.
type Need = (String, Option<String>);

#[derive(Debug, Clone)]
struct Row {
    tag: Tag,
    filter: EventFilter,
}

/// Which events of a logsource a rule reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventFilter {
    /// A Windows event log channel, its event ids (none: all), and a condition on one field
    /// (any of the values, ignoring case).
    Channel {
        channel: String,
        event_ids: Vec<u32>,
        condition: Option<(String, Vec<String>)>,
    },
    /// Events whose logsource (given or recognized) the rule's covers.
    Tagged(Tag),
}

#[derive(Debug, Clone)]
struct FieldRow {
    channel: String,
    event_ids: Vec<u32>,
    field: String,
    template: Vec<Piece>,
    transform: Transform,
}

#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Field(String),
}

#[derive(Debug, Clone)]
enum Transform {
    None,
    Hex,
    Map(Vec<(String, String)>),
    Prefix(Vec<(String, String)>),
    TrimEnd,
    DevicePath,
}

fn ids(text: &str, line: usize) -> Result<Vec<u32>, String> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| format!("line {line}: event id {s:?} is not a number"))
        })
        .collect()
}

/// The data lines of a table: (line number, tab-separated columns, padded to `n`).
fn lines(
    text: &str,
    min: usize,
    max: usize,
    what: &str,
) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = vec![];
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols: Vec<String> = line.split('\t').map(str::to_string).collect();
        if cols.len() < min || cols.len() > max {
            return Err(format!(
                "line {}: {} columns, want {min} to {max} ({what})",
                n + 1,
                cols.len()
            ));
        }
        cols.resize(max, String::new());
        out.push((n + 1, cols));
    }
    Ok(out)
}

fn pairs(text: &str, line: usize) -> Result<Vec<(String, String)>, String> {
    text.split(';')
        .map(|p| {
            p.split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| format!("line {line}: {p:?} is not A=B"))
        })
        .collect()
}

fn template(text: &str, line: usize) -> Result<Vec<Piece>, String> {
    let mut out = vec![];
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Lit(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("line {line}: unclosed {{ in {text:?}"))?;
        out.push(Piece::Field(rest[open + 1..open + close].to_string()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Lit(rest.to_string()));
    }
    Ok(out)
}

impl Logsources {
    /// The tables shipped with detdex (parsed once).
    pub fn builtin() -> Logsources {
        builtin().clone()
    }

    /// The channel table in the shipped format (`product category service channel event_ids
    /// [condition]`), with the shipped field and recognition tables; errors name the line.
    pub fn from_tsv(text: &str) -> Result<Logsources, String> {
        Logsources::from_tables(text, FIELDS, RECOGNIZE)
    }

    /// All three tables as text.
    pub fn from_tables(
        channels: &str,
        fields: &str,
        recognize: &str,
    ) -> Result<Logsources, String> {
        let mut rows = vec![];
        let cols = "product, category, service, channel, event_ids, condition";
        for (n, c) in lines(channels, 5, 6, cols)? {
            let condition = match c[5].trim() {
                "" => None,
                cond => {
                    let (f, vs) = cond.split_once('=').ok_or_else(|| {
                        format!("line {n}: condition {cond:?} is not Field=value")
                    })?;
                    Some((
                        f.to_string(),
                        vs.split('|').map(str::to_lowercase).collect(),
                    ))
                }
            };
            rows.push(Row {
                tag: Tag {
                    product: c[0].clone(),
                    category: c[1].clone(),
                    service: c[2].clone(),
                },
                filter: EventFilter::Channel {
                    channel: c[3].clone(),
                    event_ids: ids(&c[4], n)?,
                    condition,
                },
            });
        }
        let mut field_rows = vec![];
        for (n, c) in lines(
            fields,
            4,
            5,
            "channel, event_ids, sigma_field, from, transform",
        )? {
            let transform = match c[4].trim() {
                "" => Transform::None,
                "hex" => Transform::Hex,
                "trim-end" => Transform::TrimEnd,
                "device-path" => Transform::DevicePath,
                t => match t.split_once(':') {
                    Some(("map", p)) => Transform::Map(pairs(p, n)?),
                    Some(("prefix", p)) => Transform::Prefix(pairs(p, n)?),
                    _ => return Err(format!("line {n}: unknown transform {t:?}")),
                },
            };
            field_rows.push(FieldRow {
                channel: c[0].clone(),
                event_ids: ids(&c[1], n)?,
                field: c[2].clone(),
                template: template(&c[3], n)?,
                transform,
            });
        }
        let mut rec = vec![];
        for (_, c) in lines(recognize, 4, 4, "product, category, service, fields")? {
            let needs = c[3]
                .split(',')
                .filter(|f| !f.trim().is_empty())
                .map(|f| match f.split_once('=') {
                    Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_lowercase())),
                    None => (f.trim().to_string(), None),
                })
                .collect();
            rec.push((
                Tag {
                    product: c[0].clone(),
                    category: c[1].clone(),
                    service: c[2].clone(),
                },
                needs,
            ));
        }
        Ok(Logsources {
            rows,
            fields: field_rows,
            recognize: rec,
        })
    }

    /// The Windows event log records a logsource reads, as the channel table maps it: each
    /// covered row's channel, event ids (empty: every event of the channel) and condition
    /// (`Field=a|b`). Empty for a logsource the table has no row for.
    pub fn event_logs(&self, tag: &Tag) -> Vec<(String, Vec<u32>, Option<String>)> {
        let mut out = Vec::new();
        for r in self.rows.iter().filter(|r| tag.covers(&r.tag)) {
            if let EventFilter::Channel {
                channel,
                event_ids,
                condition,
            } = &r.filter
            {
                let row = (
                    channel.clone(),
                    event_ids.clone(),
                    condition
                        .as_ref()
                        .map(|(f, v)| format!("{f}={}", v.join("|"))),
                );
                if !out.contains(&row) {
                    out.push(row);
                }
            }
        }
        out
    }

    /// The event filters for a rule's logsource, or why there are none: the channel rows its
    /// logsource covers, and the events given or recognized as that logsource. A Windows
    /// logsource without a row is an error (its events would never be read).
    pub(crate) fn filters(&self, ls: &LogSource) -> Result<Vec<EventFilter>, String> {
        let tag = Tag::of(ls);
        if tag == Tag::default() {
            return Err("the rule names no logsource".into());
        }
        let product_known = self.rows.iter().any(|r| r.tag.product == tag.product);
        if product_known && tag.category.is_empty() && tag.service.is_empty() {
            return Ok(vec![]); // `product: windows` alone: every event
        }
        // Every row the rule's logsource covers (`category: antivirus` without a product
        // reads the Windows Defender rows).
        let mut filters: Vec<EventFilter> = (self.rows.iter())
            .filter(|r| tag.covers(&r.tag))
            .map(|r| r.filter.clone())
            .collect();
        if !filters.is_empty() {
            // and events given as that logsource (`--logsource`), whatever their channel
            filters.push(EventFilter::Tagged(tag));
            return Ok(filters);
        }
        if tag.product == "windows" {
            return Err(format!(
                "logsource {tag} has no event log mapping (data/logsources/windows.tsv)"
            ));
        }
        Ok(vec![EventFilter::Tagged(tag)])
    }

    /// Make an event read by the rules: the Sigma names of its fields (`fields.tsv`, by its
    /// channel and event id) and, for an event without a channel or logsource, the logsource
    /// its fields show (`recognize.tsv`).
    pub fn prepare(&self, ev: &mut Event) {
        let channel = ev
            .get("Channel")
            .first()
            .and_then(|(v, _)| v.text().map(str::to_string));
        let Some(channel) = channel else {
            if ev.logsource.is_none() {
                ev.logsource = self.recognize(ev);
            }
            return;
        };
        let id = event_id(ev);
        let mut derived: Vec<(String, Vec<FieldValue>)> = vec![];
        for row in &self.fields {
            if row.channel != channel || !id.is_some_and(|i| row.event_ids.contains(&i)) {
                continue;
            }
            if let Some(values) = row.derive(ev) {
                derived.push((row.field.clone(), values));
            }
        }
        for (field, values) in derived {
            ev.set(&field, values);
        }
    }

    fn recognize(&self, ev: &Event) -> Option<Tag> {
        self.recognize
            .iter()
            .find(|(_, needs)| {
                needs.iter().all(|(f, v)| match v {
                    None => ev.has(f),
                    Some(v) => ev.get(f).iter().any(|(_, lower)| lower == v),
                })
            })
            .map(|(t, _)| t.clone())
    }
}

/// `\Device\HarddiskVolumeN\rest` as `C:\rest` (`None` for any other text). The event does
/// not say which drive letter the volume has; rules write paths with one, nearly always `C:`.
fn drive_path(text: &str) -> Option<String> {
    const DEVICE: &str = "\\device\\harddiskvolume";
    let head = text.get(..DEVICE.len())?;
    if !head.eq_ignore_ascii_case(DEVICE) {
        return None;
    }
    let rest = &text[DEVICE.len()..];
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let path = rest[digits..].strip_prefix('\\')?;
    (digits > 0).then(|| format!("C:\\{path}"))
}

/// The event's id, if it is a whole number.
pub(crate) fn event_id(ev: &Event) -> Option<u32> {
    event_ids(ev).next()
}

/// Every `EventID` value that is a whole number in `u32` range, in order.
pub(crate) fn event_ids(ev: &Event) -> impl Iterator<Item = u32> + '_ {
    ev.get("EventID")
        .iter()
        .filter_map(|(v, _)| v.number())
        .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= f64::from(u32::MAX))
        .map(|n| n as u32)
}

impl FieldRow {
    fn derive(&self, ev: &Event) -> Option<Vec<FieldValue>> {
        let mut text = String::new();
        for p in &self.template {
            match p {
                Piece::Lit(l) => text.push_str(l),
                Piece::Field(f) => text.push_str(ev.get(f).first()?.0.text()?),
            }
        }
        let one = |s: String| Some(vec![FieldValue::Str(s)]);
        match &self.transform {
            Transform::None => one(text),
            Transform::Hex => {
                let digits = text
                    .trim()
                    .trim_start_matches("0x")
                    .trim_start_matches("0X");
                match u64::from_str_radix(digits, 16) {
                    Ok(n) => Some(vec![FieldValue::Num(n.to_string())]),
                    Err(_) => one(text),
                }
            }
            Transform::Map(pairs) => {
                let found = pairs.iter().find(|(a, _)| a.eq_ignore_ascii_case(&text));
                one(found.map_or(text, |(_, b)| b.clone()))
            }
            Transform::Prefix(pairs) => {
                for (a, b) in pairs {
                    if text.len() >= a.len()
                        && text.is_char_boundary(a.len())
                        && text[..a.len()].eq_ignore_ascii_case(a)
                    {
                        return one(format!("{b}{}", &text[a.len()..]));
                    }
                }
                one(text)
            }
            Transform::DevicePath => match drive_path(&text) {
                Some(drive) => Some(vec![FieldValue::Str(text), FieldValue::Str(drive)]),
                None => one(text),
            },
            Transform::TrimEnd => {
                let trimmed = text.trim_end_matches([' ', '\t']).to_string();
                if trimmed.len() == text.len() {
                    one(text)
                } else {
                    Some(vec![FieldValue::Str(text), FieldValue::Str(trimmed)])
                }
            }
        }
    }
}

impl EventFilter {
    pub(crate) fn accepts(&self, ev: &Event) -> bool {
        match self {
            EventFilter::Tagged(tag) => ev.logsource.as_ref().is_some_and(|t| tag.covers(t)),
            EventFilter::Channel {
                channel,
                event_ids,
                condition,
            } => {
                ev.get("Channel")
                    .iter()
                    .any(|(v, _)| v.text() == Some(channel))
                    && (event_ids.is_empty()
                        || event_id(ev).is_some_and(|i| event_ids.contains(&i)))
                    && condition.as_ref().is_none_or(|(f, values)| {
                        ev.get(f).iter().any(|(_, lower)| values.contains(lower))
                    })
            }
        }
    }
}

/// The shipped tables, parsed once.
pub(crate) fn builtin() -> &'static Logsources {
    static TABLES: OnceLock<Logsources> = OnceLock::new();
    TABLES.get_or_init(|| {
        Logsources::from_tables(WINDOWS, FIELDS, RECOGNIZE)
            .expect("the shipped logsource tables are valid")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_tables_read() {
        let t = builtin();
        assert!(t.rows.len() > 90);
        assert!(t.fields.len() > 20);
        assert!(!t.recognize.is_empty());
    }

    #[test]
    fn device_paths_get_a_drive_letter_beside_them() {
        let d = |t: &str| drive_path(t);
        assert_eq!(
            d("\\device\\harddiskvolume1\\windows\\system32\\lsass.exe").as_deref(),
            Some("C:\\windows\\system32\\lsass.exe")
        );
        assert_eq!(d("\\Device\\HarddiskVolume12\\x").as_deref(), Some("C:\\x"));
        assert_eq!(d("\\Device\\HarddiskVolume\\x"), None);
        assert_eq!(d("\\Device\\HarddiskVolume1"), None);
        assert_eq!(d("C:\\Windows\\x.exe"), None);
        assert_eq!(d("System"), None);
        assert_eq!(d("\\device\\harddiskvolumé"), None);
    }

    #[test]
    fn logsource_arguments() {
        let t = Tag::parse("product=aws,service=cloudtrail").unwrap();
        assert_eq!(t.to_string(), "product: aws, service: cloudtrail");
        assert!(Tag::parse("vendor=aws").is_err());
        assert!(Tag::parse("").is_err());
        let rule = Tag {
            product: "aws".into(),
            ..Tag::default()
        };
        assert!(rule.covers(&t));
        assert!(!t.covers(&rule));
    }
}
