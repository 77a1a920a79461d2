//! Events as flat field maps, read from Windows event logs (EVTX), their JSON form (the `evtx`
//! crate's and `evtx_dump`'s `{"Event": {"System": …, "EventData": …}}`) and JSON lines.

use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::io::{BufRead, Read};
use std::path::Path;

/// One field value: its text as the event shows it (numbers in decimal), and its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Str(String),
    Num(String),
    Bool(bool),
    Null,
}

impl FieldValue {
    /// The value as text (`None` for null).
    pub fn text(&self) -> Option<&str> {
        match self {
            FieldValue::Str(s) | FieldValue::Num(s) => Some(s),
            FieldValue::Bool(true) => Some("true"),
            FieldValue::Bool(false) => Some("false"),
            FieldValue::Null => None,
        }
    }

    pub fn number(&self) -> Option<f64> {
        match self {
            FieldValue::Num(s) | FieldValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// The IR evaluator reads events through this (see [`ir::holds`]).
impl ir::Fields for Event {
    fn values(&self, field: &str) -> Option<Vec<Option<&str>>> {
        self.fields
            .get(field)
            .map(|vs| vs.iter().map(|(v, _)| v.text()).collect())
    }

    fn all_values(&self) -> Vec<&str> {
        self.values().filter_map(|(v, _)| v.text()).collect()
    }
}

/// An event: field name → values (a field given as a list has several), each also lower-cased
/// once for Sigma's case-insensitive comparisons.
#[derive(Debug, Clone, Default)]
pub struct Event {
    fields: FxHashMap<String, Vec<(FieldValue, String)>>,
    /// Where the event came from: `file#record` or `file:line`.
    pub origin: String,
    /// The Sigma logsource of an event without a Windows channel: given by the user or
    /// recognized from its fields (`data/logsources/recognize.tsv`).
    pub logsource: Option<crate::logsource::Tag>,
}

impl Event {
    /// The values of a field (empty if the event lacks it).
    pub fn get(&self, field: &str) -> &[(FieldValue, String)] {
        self.fields.get(field).map_or(&[], Vec::as_slice)
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// Every value of every field (for keyword searches).
    pub fn values(&self) -> impl Iterator<Item = &(FieldValue, String)> {
        self.fields.values().flatten()
    }

    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// Replace a field's values.
    pub fn set(&mut self, name: &str, values: Vec<FieldValue>) {
        let values = values
            .into_iter()
            .map(|v| {
                let lower = v.text().map(str::to_lowercase).unwrap_or_default();
                (v, lower)
            })
            .collect();
        self.fields.insert(name.to_string(), values);
    }

    /// Add a value to a field (the name becomes the key if the field is new).
    fn push(&mut self, name: String, v: FieldValue) {
        let lower = v.text().map(str::to_lowercase).unwrap_or_default();
        self.fields.entry(name).or_default().push((v, lower));
    }

    /// An event from the text of one JSON value, read straight into the field map (no
    /// `serde_json::Value` in between); the `Deserialize` impl of [`Event`] says how the value
    /// is flattened into fields.
    pub fn from_json(text: &str, origin: String) -> Result<Event, serde_json::Error> {
        let mut ev: Event = serde_json::from_str(text)?;
        ev.origin = origin;
        Ok(ev)
    }
}

/// An event reads from the text of any JSON value (through `serde_json`'s deserializer, with no
/// `serde_json::Value` in between), flattened as Sigma names fields:
///
/// - The Windows shape, an object holding an `Event` object (the `evtx` crate's and
///   `evtx_dump`'s rendering of a record): `Event.System` with nested keys joined by `_`
///   (`Provider_Name`), XML attributes (`#attributes`) and text (`#text`) belonging to their
///   element (`EventID`); then `Event.EventData` and `Event.UserData`, each leaf under its own
///   key (`EventData.Image` is `Image`, `UserData.X.Y` is `Y`), spaces dropped from names as
///   Sigma names such fields (Defender's `Source Name` is `SourceName`), attributes skipped,
///   unnamed data (`<Data>` without a name) under `EventData` / `UserData`. System's values come
///   before EventData's, before UserData's, whatever their order in the text. Other keys of
///   `Event`, and the keys beside it, are not fields.
/// - Anything else: nested keys joined by `.`, `#attributes` and `#text` belonging to their
///   parent; each item of a list under the list's name; a scalar with no name (the whole value)
///   is no field.
///
/// Numbers keep `serde_json`'s text for them (`1.0`, `100000.0` for `1e5`; its
/// `arbitrary_precision` feature, which would hand numbers over as maps, is off), strings are
/// unescaped, `null` is a null value. A key given twice in one object keeps the values of
/// both, in order (a `serde_json::Value` would keep only the last); the value is the Windows
/// shape if any of its `Event` keys holds an object.
impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        d.deserialize_any(Top)
    }
}

/// Values in the order they are pushed, each with its field's name.
type Pushes = Vec<(String, FieldValue)>;

impl Event {
    /// An event of the values of `parts`, one part after the other.
    fn with<const N: usize>(parts: [Pushes; N]) -> Event {
        // At most a field per value: the map is sized once.
        let n = parts.iter().map(Vec::len).sum();
        let mut ev = Event {
            fields: FxHashMap::with_capacity_and_hasher(n, Default::default()),
            ..Event::default()
        };
        for (name, v) in parts.into_iter().flatten() {
            ev.push(name, v);
        }
        ev
    }
}

/// The scalar methods of a visitor: each hands its value to the visitor's own `scalar`.
macro_rules! scalars {
    () => {
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
            Ok(self.scalar(FieldValue::Bool(b)))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(self.scalar(FieldValue::Num(serde_json::Number::from(n).to_string())))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(self.scalar(FieldValue::Num(serde_json::Number::from(n).to_string())))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            // As `serde_json::Value` has it: a number if finite, else null.
            let v = serde_json::Number::from_f64(n)
                .map_or(FieldValue::Null, |n| FieldValue::Num(n.to_string()));
            Ok(self.scalar(v))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(self.scalar(FieldValue::Str(s.to_string())))
        }
        fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
            Ok(self.scalar(FieldValue::Str(s)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(self.scalar(FieldValue::Null))
        }
    };
}

/// An object key, borrowed from the text when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_string()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// The name of a key's value under `prefix`: nested keys joined with `sep`; XML attributes
/// (`#attributes`) and text (`#text`) belong to their element.
fn joined<'x>(prefix: &'x str, sep: &str, k: Cow<'x, str>) -> Cow<'x, str> {
    if k == "#attributes" || k == "#text" {
        Cow::Borrowed(prefix)
    } else if prefix.is_empty() {
        k
    } else {
        Cow::Owned(format!("{prefix}{sep}{k}"))
    }
}

/// A value flattened under `prefix` with `sep` between nested keys.
struct Flat<'a> {
    out: &'a mut Pushes,
    prefix: &'a str,
    sep: &'static str,
}

impl Flat<'_> {
    fn scalar(self, v: FieldValue) {
        if !self.prefix.is_empty() {
            self.out.push((self.prefix.to_string(), v));
        }
    }
}

impl<'de> DeserializeSeed<'de> for Flat<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flat<'_> {
    type Value = ();
    scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Flat { out, prefix, sep } = self;
        while seq
            .next_element_seed(Flat {
                out: &mut *out,
                prefix,
                sep,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Flat { out, prefix, sep } = self;
        while let Some(k) = map.next_key_seed(Key)? {
            let name = joined(prefix, sep, k);
            map.next_value_seed(Flat {
                out: &mut *out,
                prefix: &name,
                sep,
            })?;
        }
        Ok(())
    }
}

/// Event data: each leaf under its own key (spaces dropped), attributes skipped, text and
/// unnamed data under `name`.
struct Leaves<'a> {
    out: &'a mut Pushes,
    name: &'a str,
}

impl Leaves<'_> {
    fn scalar(self, v: FieldValue) {
        self.out.push((self.name.to_string(), v));
    }
}

impl<'de> DeserializeSeed<'de> for Leaves<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Leaves<'_> {
    type Value = ();
    scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Leaves { out, name } = self;
        while seq
            .next_element_seed(Leaves {
                out: &mut *out,
                name,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Leaves { out, name } = self;
        while let Some(k) = map.next_key_seed(Key)? {
            let out = &mut *out;
            if k == "#attributes" {
                map.next_value::<de::IgnoredAny>()?;
            } else if k == "#text" {
                map.next_value_seed(Leaves { out, name })?;
            } else if k.contains(' ') {
                let name = k.replace(' ', "");
                map.next_value_seed(Leaves { out, name: &name })?;
            } else {
                map.next_value_seed(Leaves { out, name: &k })?;
            }
        }
        Ok(())
    }
}

/// The whole value of an event (see `Deserialize for Event`).
struct Top;

impl Top {
    fn scalar(self, _: FieldValue) -> Event {
        Event::default()
    }
}

impl<'de> Visitor<'de> for Top {
    type Value = Event;
    scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Event, A::Error> {
        let mut dot = vec![];
        let flat = Flat {
            out: &mut dot,
            prefix: "",
            sep: ".",
        };
        flat.visit_seq(seq)?;
        Ok(Event::with([dot]))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        // The keys flattened with `.`, used unless the value has the Windows shape.
        let mut dot = vec![];
        // System's, EventData's and UserData's values, once an `Event` object is seen.
        let mut windows: Option<[Pushes; 3]> = None;
        while let Some(k) = map.next_key_seed(Key)? {
            if k == "Event" {
                map.next_value_seed(EventKey {
                    dot: &mut dot,
                    windows: &mut windows,
                })?;
            } else {
                let name = joined("", ".", k);
                map.next_value_seed(Flat {
                    out: &mut dot,
                    prefix: &name,
                    sep: ".",
                })?;
            }
        }
        Ok(match windows {
            Some(parts) => Event::with(parts),
            None => Event::with([dot]),
        })
    }
}

/// The value of a top-level `Event` key: an object makes the Windows shape; anything else is
/// flattened with `.` under `Event`.
struct EventKey<'a> {
    dot: &'a mut Pushes,
    windows: &'a mut Option<[Pushes; 3]>,
}

impl<'a> EventKey<'a> {
    fn flat(self) -> Flat<'a> {
        Flat {
            out: self.dot,
            prefix: "Event",
            sep: ".",
        }
    }

    fn scalar(self, v: FieldValue) {
        self.flat().scalar(v)
    }
}

impl<'de> DeserializeSeed<'de> for EventKey<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventKey<'_> {
    type Value = ();
    scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.flat().visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let [system, data, user] = self.windows.get_or_insert_with(Default::default);
        while let Some(k) = map.next_key_seed(Key)? {
            match &*k {
                "System" => map.next_value_seed(Flat {
                    out: &mut *system,
                    prefix: "",
                    sep: "_",
                })?,
                "EventData" => map.next_value_seed(Leaves {
                    out: &mut *data,
                    name: "EventData",
                })?,
                "UserData" => map.next_value_seed(Leaves {
                    out: &mut *user,
                    name: "UserData",
                })?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// One JSON value of an events file: a list is an event per item, anything else one event.
enum Doc {
    One(Event),
    Many(Vec<Event>),
}

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        d.deserialize_any(DocVisitor)
    }
}

struct DocVisitor;

impl DocVisitor {
    fn scalar(self, v: FieldValue) -> Doc {
        Doc::One(Top.scalar(v))
    }
}

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Doc;
    scalars!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
        let mut events = vec![];
        while let Some(ev) = seq.next_element::<Event>()? {
            events.push(ev);
        }
        Ok(Doc::Many(events))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Doc, A::Error> {
        Top.visit_map(map).map(Doc::One)
    }
}

/// A problem reading an events file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

/// Read the events of one file: `.evtx` as a Windows event log, anything else as JSON (one
/// value, an array of values, or values one after another as in JSON lines). Records that cannot
/// be read are reported and skipped; the others are returned, prepared with the shipped
/// logsource tables ([`crate::Logsources::prepare`]).
pub fn read_file(path: &Path) -> (Vec<Event>, Vec<ReadError>) {
    let mut events = vec![];
    let errors = read_batches(path, usize::MAX, &mut |batch| events.extend(batch));
    (events, errors)
}

/// Read a file's events in batches of at most `batch` events, handing each to `f` as it is
/// read, so that a file's events need not all be in memory at once. EVTX files and JSON lines
/// are read record by record; a file holding one JSON document (an array, pretty-printed
/// objects) is read whole.
pub fn read_batches(path: &Path, batch: usize, f: &mut dyn FnMut(Vec<Event>)) -> Vec<ReadError> {
    let shown = path.display().to_string();
    let err = |line, column, message: String| ReadError {
        path: shown.clone(),
        line,
        column,
        message,
    };
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
    {
        return read_evtx(path, &shown, batch, f);
    }
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) => return vec![err(0, 0, e.to_string())],
    };
    let mut reader = std::io::BufReader::new(file);
    // JSON lines (the first non-blank line is a whole value): line by line, a bad line
    // reported and the next read. Anything else (an array, values over several lines): the
    // whole document.
    let (mut line, mut n, mut lines_mode) = (String::new(), 0, None);
    let (mut pending, mut errors) = (vec![], vec![]);
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => n += 1,
            Err(e) => {
                errors.push(err(n + 1, 1, e.to_string()));
                break;
            }
        }
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Doc>(&line);
        if lines_mode.is_none() {
            lines_mode = Some(parsed.is_ok());
            if parsed.is_err() {
                let mut text = line.clone();
                if let Err(e) = reader.read_to_string(&mut text) {
                    return vec![err(n, 1, e.to_string())];
                }
                let (events, errors) = read_json_from(&text, &shown, n);
                f(events);
                return errors;
            }
        }
        match parsed {
            Ok(Doc::Many(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    pending.push(prepared(item, format!("{shown}:{n}#{}", i + 1)));
                }
            }
            Ok(Doc::One(ev)) => pending.push(prepared(ev, format!("{shown}:{n}"))),
            Err(e) => errors.push(err(n, e.column().max(1), format!("not JSON: {e}"))),
        }
        if pending.len() >= batch {
            f(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() {
        f(pending);
    }
    errors
}

fn prepared(mut ev: Event, origin: String) -> Event {
    ev.origin = origin;
    crate::logsource::builtin().prepare(&mut ev);
    ev
}

/// JSON events from text (see [`read_file`]).
pub fn read_json(text: &str, shown: &str) -> (Vec<Event>, Vec<ReadError>) {
    read_json_from(text, shown, 1)
}

/// JSON events from text that starts at line `first` of the file.
fn read_json_from(text: &str, shown: &str, first: usize) -> (Vec<Event>, Vec<ReadError>) {
    let mut events = vec![];
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Doc>();
    let line = |offset| line_of(text, offset) + first - 1;
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(Doc::Many(items))) => {
                for (i, item) in items.into_iter().enumerate() {
                    let origin = format!("{shown}:{}#{}", line(start), i + 1);
                    events.push(prepared(item, origin));
                }
            }
            Some(Ok(Doc::One(ev))) => {
                let origin = format!("{shown}:{}", line(start));
                events.push(prepared(ev, origin));
            }
            Some(Err(e)) => {
                // The rest of the text cannot be split into values reliably: stop here.
                let error = ReadError {
                    path: shown.to_string(),
                    line: e.line() + first - 1,
                    column: e.column().max(1),
                    message: format!("not JSON: {e}"),
                };
                return (events, vec![error]);
            }
        }
    }
    (events, vec![])
}

fn line_of(text: &str, offset: usize) -> usize {
    let skipped = text[offset..]
        .find(|c: char| !c.is_whitespace())
        .unwrap_or(0);
    text[..offset + skipped].matches('\n').count() + 1
}

fn read_evtx(
    path: &Path,
    shown: &str,
    batch: usize,
    f: &mut dyn FnMut(Vec<Event>),
) -> Vec<ReadError> {
    let err = |message: String| ReadError {
        path: shown.to_string(),
        line: 0,
        column: 0,
        message,
    };
    let mut parser = match evtx::EvtxParser::from_path(path) {
        Ok(p) => p,
        Err(e) => return vec![err(format!("not an EVTX file: {e}"))],
    };
    let (mut events, mut errors) = (vec![], vec![]);
    // As text (UTF-8 checked once per record, not string by string).
    for record in parser.records_json() {
        let read = record.map_err(|e| e.to_string()).and_then(|r| {
            let id = r.event_record_id;
            let ev = Event::from_json(&r.data, String::new());
            ev.map(|ev| (ev, id))
                .map_err(|e| format!("record {id}: not JSON: {e}"))
        });
        match read {
            Ok((mut ev, record_id)) => {
                // The record id the event itself carries (System/EventRecordID), as Event
                // Viewer shows it; the parser's own count if it has none.
                let id = ev
                    .get("EventRecordID")
                    .first()
                    .and_then(|(v, _)| v.text().map(str::to_string));
                ev.origin = format!("{shown}#{}", id.unwrap_or_else(|| record_id.to_string()));
                crate::logsource::builtin().prepare(&mut ev);
                events.push(ev);
                if events.len() >= batch {
                    f(std::mem::take(&mut events));
                }
            }
            Err(e) => errors.push(err(format!("record skipped: {e}"))),
        }
    }
    if !events.is_empty() {
        f(events);
    }
    errors
}
