//! A timeline sorted in bounded memory (`detdex hunt` without `--no-sort`): rows are kept in
//! memory up to a byte budget; a full buffer is sorted and written to an unnamed temporary file
//! as a run; at the end the runs are merged (k-way, one row of each run in memory) and the rows
//! handed out in order. When there are [`FAN_IN`] runs they are merged into one first, so the
//! open files and read buffers stay bounded too. Memory holds one buffer and the merge's read
//! buffers, whatever the number of rows.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// The order of the timeline: by time (rows without one last), then title, then events, then
/// the order rows were pushed in (so equal rows keep it, as a stable sort would).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub untimed: bool,
    pub time_ms: i64,
    pub title: String,
    pub events: Vec<String>,
    pub seq: u64,
}

/// One row: its key and its text (the cells it is written with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub key: Key,
    pub cells: Vec<String>,
}

impl Ord for Row {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for Row {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Row {
    fn size(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| s.len() + 24).sum::<usize>();
        64 + self.key.title.len() + strings(&self.key.events) + strings(&self.cells)
    }

    fn write(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&[u8::from(self.key.untimed)])?;
        w.write_all(&self.key.time_ms.to_le_bytes())?;
        w.write_all(&self.key.seq.to_le_bytes())?;
        put(w, &self.key.title)?;
        for list in [&self.key.events, &self.cells] {
            w.write_all(&(list.len() as u32).to_le_bytes())?;
            for s in list {
                put(w, s)?;
            }
        }
        Ok(())
    }

    /// The next row of a run, `None` at its end.
    fn read(r: &mut impl Read) -> io::Result<Option<Row>> {
        let mut flag = [0u8; 1];
        if r.read(&mut flag)? == 0 {
            return Ok(None);
        }
        let time_ms = i64::from_le_bytes(array(r)?);
        let seq = u64::from_le_bytes(array(r)?);
        let title = get(r)?;
        let mut lists = [vec![], vec![]];
        for list in &mut lists {
            let n = u32::from_le_bytes(array(r)?);
            for _ in 0..n {
                list.push(get(r)?);
            }
        }
        let [events, cells] = lists;
        Ok(Some(Row {
            key: Key {
                untimed: flag[0] != 0,
                time_ms,
                title,
                events,
                seq,
            },
            cells,
        }))
    }
}

fn put(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn array<const N: usize>(r: &mut impl Read) -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn get(r: &mut impl Read) -> io::Result<String> {
    let n = u32::from_le_bytes(array(r)?) as usize;
    let mut b = vec![0u8; n];
    r.read_exact(&mut b)?;
    String::from_utf8(b).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// How many runs are merged at once.
pub(crate) const FAN_IN: usize = 64;

/// Rows sorted by [`Key`] in bounded memory.
pub(crate) struct Sorter {
    budget: usize,
    buffer: Vec<Row>,
    buffered: usize,
    runs: Vec<File>,
    pushed: u64,
}

impl Sorter {
    /// A sorter keeping at most about `budget` bytes of rows in memory.
    pub fn new(budget: usize) -> Sorter {
        Sorter {
            budget,
            buffer: vec![],
            buffered: 0,
            runs: vec![],
            pushed: 0,
        }
    }

    /// Add a row (its `seq` is set here, in push order).
    pub fn push(&mut self, mut row: Row) -> io::Result<()> {
        row.key.seq = self.pushed;
        self.pushed += 1;
        self.buffered += row.size();
        self.buffer.push(row);
        if self.buffered >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// How many sorted runs are on disk now (for tests and timings).
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> io::Result<()> {
        self.buffer.sort_unstable();
        let rows = std::mem::take(&mut self.buffer);
        self.buffered = 0;
        let run = write_run(rows.into_iter().map(Ok))?;
        self.runs.push(run);
        if self.runs.len() >= FAN_IN {
            let runs = std::mem::take(&mut self.runs);
            let merged = write_run(Merge::new(runs, vec![])?)?;
            self.runs.push(merged);
        }
        Ok(())
    }

    /// Every row pushed, in order.
    pub fn finish(mut self) -> io::Result<impl Iterator<Item = io::Result<Row>>> {
        self.buffer.sort_unstable();
        Merge::new(self.runs, self.buffer)
    }
}

fn write_run(rows: impl Iterator<Item = io::Result<Row>>) -> io::Result<File> {
    let mut w = BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
    for row in rows {
        row?.write(&mut w)?;
    }
    let mut file = w.into_inner().map_err(|e| e.into_error())?;
    file.rewind()?;
    Ok(file)
}

/// The k-way merge of sorted runs on disk and one sorted run in memory.
struct Merge {
    readers: Vec<BufReader<File>>,
    memory: std::vec::IntoIter<Row>,
    /// The next row of each source (readers by index, memory as `readers.len()`).
    heap: BinaryHeap<Reverse<(Row, usize)>>,
    failed: bool,
}

impl Merge {
    fn new(runs: Vec<File>, memory: Vec<Row>) -> io::Result<Merge> {
        let mut m = Merge {
            readers: (runs.into_iter())
                .map(|f| BufReader::with_capacity(1 << 16, f))
                .collect(),
            memory: memory.into_iter(),
            heap: BinaryHeap::new(),
            failed: false,
        };
        for i in 0..=m.readers.len() {
            m.refill(i)?;
        }
        Ok(m)
    }

    fn refill(&mut self, source: usize) -> io::Result<()> {
        let next = match self.readers.get_mut(source) {
            Some(r) => Row::read(r)?,
            None => self.memory.next(),
        };
        if let Some(row) = next {
            self.heap.push(Reverse((row, source)));
        }
        Ok(())
    }
}

impl Iterator for Merge {
    type Item = io::Result<Row>;

    fn next(&mut self) -> Option<io::Result<Row>> {
        if self.failed {
            return None;
        }
        let Reverse((row, source)) = self.heap.pop()?;
        if let Err(e) = self.refill(source) {
            self.failed = true;
            return Some(Err(e));
        }
        Some(Ok(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(time: Option<i64>, title: &str, event: &str) -> Row {
        Row {
            key: Key {
                untimed: time.is_none(),
                time_ms: time.unwrap_or(0),
                title: title.into(),
                events: vec![event.into()],
                seq: 0,
            },
            cells: vec![format!("{time:?} {title} {event}"), "é, \"x\"\n".into()],
        }
    }

    fn rows(n: usize) -> Vec<Row> {
        // times out of order, some equal, some missing
        (0..n)
            .map(|i| {
                let time = (i % 7 != 3).then_some(((i * 7919) % 1000) as i64 - 500);
                row(time, &format!("rule {}", i % 5), &format!("f#{}", i % 11))
            })
            .collect()
    }

    fn sorted_in_memory(input: &[Row]) -> Vec<Vec<String>> {
        let mut v: Vec<(usize, &Row)> = input.iter().enumerate().collect();
        v.sort_by(|(i, a), (j, b)| {
            (a.key.untimed, a.key.time_ms, &a.key.title, &a.key.events, i).cmp(&(
                b.key.untimed,
                b.key.time_ms,
                &b.key.title,
                &b.key.events,
                j,
            ))
        });
        v.into_iter().map(|(_, r)| r.cells.clone()).collect()
    }

    fn through_sorter(input: &[Row], budget: usize) -> (Vec<Vec<String>>, usize) {
        let mut s = Sorter::new(budget);
        for r in input {
            s.push(r.clone()).unwrap();
        }
        let runs = s.spilled_runs();
        let out = s.finish().unwrap().map(|r| r.unwrap().cells).collect();
        (out, runs)
    }

    #[test]
    fn all_in_memory() {
        let input = rows(500);
        let (out, runs) = through_sorter(&input, usize::MAX);
        assert_eq!(runs, 0);
        assert_eq!(out, sorted_in_memory(&input));
    }

    #[test]
    fn spilled_runs_merge_into_the_same_order() {
        let input = rows(2_000);
        // about ten rows a run: some 200 runs, merged into one every FAN_IN runs
        let (out, runs) = through_sorter(&input, 10 * input[0].size());
        assert!((1..FAN_IN).contains(&runs), "{runs} runs");
        assert_eq!(out, sorted_in_memory(&input));
    }

    #[test]
    fn a_budget_of_one_row_a_run() {
        let input = rows(100);
        let (out, runs) = through_sorter(&input, 1);
        assert_eq!(runs, 100 - FAN_IN + 1);
        assert_eq!(out, sorted_in_memory(&input));
    }

    #[test]
    fn empty() {
        let (out, runs) = through_sorter(&[], 1);
        assert_eq!((out.len(), runs), (0, 0));
    }
}
