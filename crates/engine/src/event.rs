//! Events as flat field maps, read from Windows event logs (EVTX), their JSON form (the `evtx`
//! crate's and `evtx_dump`'s `{"Event": {"System": …, "EventData": …}}`) and JSON lines.

use rustc_hash::FxHashMap;
use serde_json::Value as J;
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

    fn push(&mut self, name: &str, v: FieldValue) {
        let lower = v.text().map(str::to_lowercase).unwrap_or_default();
        match self.fields.get_mut(name) {
            Some(values) => values.push((v, lower)),
            None => {
                self.fields.insert(name.to_string(), vec![(v, lower)]);
            }
        }
    }

    /// An event from a JSON object. The Windows shape (`Event.System`, `Event.EventData`,
    /// `Event.UserData`) is flattened as Sigma names Windows fields: `EventID`, `Channel`,
    /// `Computer`, `Provider_Name` (attributes joined to their element by `_`), and the event
    /// data by their own names. Any other object is flattened with `.` between nested keys.
    pub fn from_json(v: J, origin: String) -> Event {
        let mut ev = Event {
            origin,
            ..Event::default()
        };
        match v {
            J::Object(mut top) if matches!(top.get("Event"), Some(J::Object(_))) => {
                let Some(J::Object(mut e)) = top.remove("Event") else {
                    unreachable!("checked by the guard")
                };
                if let Some(sys) = e.remove("System") {
                    flatten(&mut ev, sys, "", "_");
                }
                for data in ["EventData", "UserData"] {
                    if let Some(d) = e.remove(data) {
                        leaves(&mut ev, d, data);
                    }
                }
            }
            v => flatten(&mut ev, v, "", "."),
        }
        ev
    }
}

fn scalar(v: J) -> Option<FieldValue> {
    Some(match v {
        J::String(s) => FieldValue::Str(s),
        J::Number(n) => FieldValue::Num(n.to_string()),
        J::Bool(b) => FieldValue::Bool(b),
        J::Null => FieldValue::Null,
        _ => return None,
    })
}

/// Nested keys joined with `sep`; XML attributes (`#attributes`) and text (`#text`) belong to
/// their element.
fn flatten(ev: &mut Event, v: J, prefix: &str, sep: &str) {
    match v {
        J::Object(map) => {
            for (k, child) in map {
                let name = match k.as_str() {
                    "#attributes" | "#text" => prefix.to_string(),
                    _ if prefix.is_empty() => k,
                    _ => format!("{prefix}{sep}{k}"),
                };
                flatten(ev, child, &name, sep);
            }
        }
        J::Array(items) => {
            for item in items {
                flatten(ev, item, prefix, sep);
            }
        }
        v => {
            if let (false, Some(s)) = (prefix.is_empty(), scalar(v)) {
                ev.push(prefix, s);
            }
        }
    }
}

/// Event data: each leaf under its own key (`EventData.Image` is `Image`; `UserData.X.Y` is
/// `Y`); unnamed data (`<Data>` without a name) under `name` (`EventData`). Spaces in names are
/// dropped, as Sigma names such fields (Defender's `Source Name` is `SourceName`).
fn leaves(ev: &mut Event, v: J, name: &str) {
    match v {
        J::Object(map) => {
            for (k, child) in map {
                match k.as_str() {
                    "#attributes" => {}
                    "#text" => leaves(ev, child, name),
                    _ if k.contains(' ') => leaves(ev, child, &k.replace(' ', "")),
                    _ => leaves(ev, child, &k),
                }
            }
        }
        J::Array(items) => {
            for item in items {
                leaves(ev, item, name);
            }
        }
        v => {
            if let Some(s) = scalar(v) {
                ev.push(name, s);
            }
        }
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
        let parsed = serde_json::from_str::<J>(&line);
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
            Ok(J::Array(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    pending.push(prepared(item, format!("{shown}:{n}#{}", i + 1)));
                }
            }
            Ok(v) => pending.push(prepared(v, format!("{shown}:{n}"))),
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

fn prepared(v: J, origin: String) -> Event {
    let mut ev = Event::from_json(v, origin);
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
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<J>();
    let line = |offset| line_of(text, offset) + first - 1;
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(J::Array(items))) => {
                for (i, item) in items.into_iter().enumerate() {
                    let origin = format!("{shown}:{}#{}", line(start), i + 1);
                    events.push(prepared(item, origin));
                }
            }
            Some(Ok(v)) => {
                let origin = format!("{shown}:{}", line(start));
                events.push(prepared(v, origin));
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
    for record in parser.records_json_value() {
        match record {
            Ok(r) => {
                let mut ev = Event::from_json(r.data, String::new());
                // The record id the event itself carries (System/EventRecordID), as Event
                // Viewer shows it; the parser's own count if it has none.
                let id = ev
                    .get("EventRecordID")
                    .first()
                    .and_then(|(v, _)| v.text().map(str::to_string));
                ev.origin = format!(
                    "{shown}#{}",
                    id.unwrap_or_else(|| r.event_record_id.to_string())
                );
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
