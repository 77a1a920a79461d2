//! The fast scanner (`fast.rs`) against saphyr's path: hand-written inputs for each construct
//! of the subset (each must take the fast path and load exactly as saphyr's path loads it),
//! inputs it must leave to saphyr, and generated and mutated documents (whenever the fast path
//! accepts one, the whole `Stream` is saphyr's).

use crate::{Stream, load_fast, load_with_saphyr};
use proptest::prelude::*;

/// The fast path accepts `text` and gives exactly saphyr's result.
fn same(text: &str) -> Stream {
    let fast = load_fast(text).unwrap_or_else(|| panic!("the fast path refused {text:?}"));
    let slow = load_with_saphyr(text).unwrap_or_else(|e| panic!("saphyr: {e} in {text:?}"));
    assert_eq!(fast, slow, "{text:?}");
    fast
}

/// Whenever the fast path accepts `text`, saphyr loads it to the same `Stream`.
fn agree(text: &str) -> Result<bool, TestCaseError> {
    let Some(fast) = load_fast(text) else {
        return Ok(false);
    };
    match load_with_saphyr(text) {
        Ok(slow) => prop_assert_eq!(fast, slow, "{:?}", text),
        Err(e) => prop_assert!(false, "the fast path accepted {:?}; saphyr: {}", text, e),
    }
    Ok(true)
}

#[test]
fn each_construct_of_the_subset_takes_the_fast_path() {
    for text in [
        "",
        "# only a comment\n",
        "a: 1\nb: two words  # comment\nc:\nd: ~\ne: yes\nf: 0x1F\ng: 1.5e3\nh: -.inf\n",
        "title: x\ntags:\n- a\n- b\nlevel: high\n",
        "detection:\n  sel:\n    Image|endswith:\n      - '\\x.exe'\n      - \"y\"\n  condition: sel\n",
        "a: \"x \\\n   y\\\n  z\"\nb: \"\\\n  w\"\n",
        "a: 'it''s'\nb: \"q\\t\\\"\\\\\\x41\\u00e9\\U0001F600\\/\\ \"\nc: 'a # not a comment'\n",
        "'quoted key': 1\n\"dq key\"  : 2\nplain key  : 3\n",
        "a: one\n  two\n\n  three\nb: x\n",
        "- one\n  two\n- three\n",
        "a: 'one\n  two\n\n  three'\nb: \"x\n  y\"\n",
        "a: |\n  line1\n  line2\n\nb: >\n  folded\n  text\n\n  para\n    more\n  back\n",
        "a: |-\n  x\n\n\nb: |+\n  y\n\n\nc: >-\n  z\n",
        "a: |  # comment\n  x\n# trailing\n",
        "- a: 1\n  b: 2\n- - x\n  - y\n- c\n",
        "a:\n- 1\n- 2\nb:\n  - 3\n",
        "a: 1\na: 2\n",
        "<<:\n  x: 1\ny: 2\n",
        "a: 1\r\nb: 'x\r\n  y'\r\nc: |\r\n  z\r\n  w\r\n",
        "a: 1\n---\nb: 2\n---\n",
        "---\n# c\n- a\n---\n- b\n",
        "k: é✓ 𝄞\nv: 'ü'\n",
        "url: http://x/y?z=1#frag\nkey:with:colons: v\nbrackets: a[0], {b}\n",
        "a:\n  b:\n    c:\n      d: deep\n  e: f\n",
        "a: -1\nb: -x\nc: --x\n",
        "a: :x\nb: ?y\nc:\n- :\\z'\n- ?w\n:k: 1\n?q: 2\n",
    ] {
        same(text);
    }
}

#[test]
fn what_it_leaves_to_saphyr() {
    for text in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: [1, 2]\n",
        "a: {b: 1}\n",
        "? a\n: b\n",
        "a: ? b\n",
        "a: : b\n",
        "%YAML 1.2\n---\na: 1\n",
        "a:\tb\n",
        "\u{feff}a: 1\n",
        "a: 1\n...\n",
        "-\n- a\n",
        "- \n  a: 1\n",
        "a: |2\n   x\n",
        "a: |\n\n  x\n",
        "a: \"x\\\n\n  y\"\n",
        "a: @x\n",
        "a: `x\n",
        "scalar at the root\n",
        "a: 1\n b: 2\n",
        "a: b: c\n",
        "a: 'x\ny'\n",
    ] {
        assert!(load_fast(text).is_none(), "accepted {text:?}");
        // And `load` still reads it as saphyr does.
        assert_eq!(crate::load(text), load_with_saphyr(text), "{text:?}");
    }
}

/// A source of choices for the document generator.
struct Choices<'a> {
    c: &'a [u8],
    i: usize,
}

impl Choices<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let v = self.c.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        usize::from(v) % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "a",
    "abc def",
    "yes",
    "No",
    "~",
    "null",
    "1",
    "-2",
    "0x1F",
    "0o17",
    "1.5e3",
    ".inf",
    "1_000",
    "2001-12-14",
    "a:b",
    "x|contains",
    "C:\\Windows\\x.exe",
    "é✓ 𝄞",
    "a#b",
    "a, b",
    "<<",
    "=",
    "-x",
    ":x",
    "?y",
    "---x",
    "true",
    "2:30",
    "it's",
    "say \"hi\"",
    "a - b",
    "a  b",
    "trail ",
    "a # b",
    "k",
];

/// Words that are not plain scalars, or not in the subset, as plain text.
const RISKY: &[&str] = &[
    "", " lead", "a: b", "*.exe", "[x]", "{y}", "%TEMP%", "@x", "? q", "!t", "&a",
];

const ESCAPES: &[&str] = &[
    "\\n",
    "\\t",
    "\\\"",
    "\\\\",
    "\\x41",
    "\\u00e9",
    "\\U0001F600",
    "\\/",
    "\\ ",
    "\\e",
    "\\N",
    "\\0",
    "\\_",
    "\\q",
];

fn word(r: &mut Choices<'_>) -> &'static str {
    if r.pick(64) == 0 {
        return RISKY.get(r.pick(RISKY.len())).copied().unwrap_or("");
    }
    WORDS.get(r.pick(WORDS.len())).copied().unwrap_or("a")
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// An inline scalar (what follows `key: ` or `- `), with the lines it continues on.
fn scalar(r: &mut Choices<'_>, indent: usize, out: &mut String, line_start: bool) {
    let more = pad(indent + 1 + r.pick(3));
    // A block scalar's header on a line of its own is left to saphyr: rarely.
    let styles = if line_start && r.pick(16) != 0 { 6 } else { 9 };
    match r.pick(styles) {
        0 | 1 => out.push_str(word(r)),
        2 => {
            out.push('\'');
            out.push_str(&word(r).replace('\'', "''"));
            out.push('\'');
        }
        3 => {
            out.push('"');
            out.push_str(&word(r).replace(['"', '\\'], ""));
            for _ in 0..r.pick(3) {
                // The last escape (`\\q`) is not YAML: rarely.
                let e = match r.pick(64) {
                    0 => ESCAPES.len() - 1,
                    e => e % (ESCAPES.len() - 1),
                };
                out.push_str(ESCAPES.get(e).copied().unwrap_or(""));
                if r.pick(6) == 0 {
                    // An escaped line break.
                    out.push_str(if r.pick(2) == 0 { "\\\n" } else { " \\\n\n" });
                    out.push_str(&more);
                }
                out.push_str(&word(r).replace(['"', '\\'], ""));
            }
            out.push('"');
        }
        4 => {
            // A multi-line plain scalar.
            out.push_str(word(r));
            for _ in 0..1 + r.pick(3) {
                out.push('\n');
                if r.pick(3) == 0 {
                    out.push_str(&pad(r.pick(3)));
                    out.push('\n');
                }
                out.push_str(&more);
                out.push_str(word(r));
            }
        }
        5 => {
            // A multi-line quoted scalar.
            let q = if r.pick(2) == 0 { '\'' } else { '"' };
            out.push(q);
            out.push_str(word(r).replace(['"', '\'', '\\'], "").as_str());
            for _ in 0..1 + r.pick(3) {
                out.push_str(&pad(r.pick(2)));
                out.push('\n');
                if r.pick(3) == 0 {
                    out.push('\n');
                }
                out.push_str(&more);
                out.push_str(word(r).replace(['"', '\'', '\\'], "").as_str());
            }
            out.push(q);
        }
        _ => {
            // A block scalar.
            out.push(if r.pick(2) == 0 { '|' } else { '>' });
            // Indentation indicators are left to saphyr: rarely.
            let header = match r.pick(32) {
                0 => "2",
                1 => "-1",
                c => ["", "-", "+"][c % 3],
            };
            out.push_str(header);
            if r.pick(4) == 0 {
                out.push_str(" # header");
            }
            let content = pad(indent + 1 + r.pick(3));
            for i in 0..1 + r.pick(5) {
                out.push('\n');
                match r.pick(5) {
                    0 if i > 0 => {}
                    1 if i > 0 => out.push_str(&pad(r.pick(indent + 2))),
                    2 if i > 0 => {
                        out.push_str(&content);
                        out.push_str("  ");
                        out.push_str(word(r));
                    }
                    _ => {
                        out.push_str(&content);
                        out.push_str(word(r));
                    }
                }
            }
        }
    }
    if r.pick(5) == 0 {
        out.push_str(
            ["  # comment", " #c", "   "]
                .get(r.pick(3))
                .copied()
                .unwrap_or(""),
        );
    }
}

fn key(r: &mut Choices<'_>, out: &mut String) {
    let k = ["a", "b", "sel", "x|contains", "1", "é", "title", "c d"];
    let k = k.get(r.pick(k.len())).copied().unwrap_or("a");
    match r.pick(6) {
        0 => out.push_str(&format!("'{k}'")),
        1 => out.push_str(&format!("\"{k}\"")),
        2 => out.push_str(&format!("{k} ")),
        _ => out.push_str(k),
    }
    out.push(':');
}

/// Trivia between entries: blank lines and comment lines.
fn trivia(r: &mut Choices<'_>, out: &mut String) {
    for _ in 0..r.pick(4).saturating_sub(2) {
        match r.pick(3) {
            0 => out.push('\n'),
            1 => out.push_str(&format!("{}# comment\n", pad(r.pick(5)))),
            _ => out.push_str(&format!("{}\n", pad(r.pick(3)))),
        }
    }
}

fn mapping(r: &mut Choices<'_>, indent: usize, depth: usize, out: &mut String, inline: bool) {
    for i in 0..1 + r.pick(4) {
        if i > 0 || !inline {
            trivia(r, out);
            out.push_str(&pad(indent));
        }
        key(r, out);
        value(r, indent, depth, out, true);
    }
}

fn sequence(r: &mut Choices<'_>, indent: usize, depth: usize, out: &mut String, inline: bool) {
    for i in 0..1 + r.pick(4) {
        if i > 0 || !inline {
            trivia(r, out);
            out.push_str(&pad(indent));
        }
        out.push('-');
        value(r, indent, depth, out, false);
    }
}

/// The value after `key:` (`in_map`) or `-`, ending with a line break.
fn value(r: &mut Choices<'_>, indent: usize, depth: usize, out: &mut String, in_map: bool) {
    let step = 1 + r.pick(4);
    let choice = if depth >= 4 {
        r.pick(3)
    } else if in_map {
        r.pick(8)
    } else {
        // Entries starting on a later line are left to saphyr: rarely.
        match r.pick(64) {
            0 => 2 + r.pick(6),
            c => [0, 1, 6][c % 3],
        }
    };
    match choice {
        0 | 1 => {
            out.push(' ');
            scalar(r, indent, out, false);
            out.push('\n');
        }
        2 if in_map || r.pick(8) == 0 => {
            // Empty (null), maybe with a comment.
            if r.pick(2) == 0 {
                out.push_str(" # empty");
            }
            out.push('\n');
        }
        3 | 4 => {
            out.push('\n');
            mapping(r, indent + step, depth + 1, out, false);
        }
        5 => {
            out.push('\n');
            let at = if in_map && r.pick(2) == 0 {
                indent
            } else {
                indent + step
            };
            sequence(r, at, depth + 1, out, false);
        }
        6 if !in_map => {
            // A compact mapping or a nested sequence on the `-` line.
            out.push(' ');
            if r.pick(2) == 0 {
                mapping(r, indent + 2, depth + 1, out, true);
            } else {
                sequence(r, indent + 2, depth + 1, out, true);
            }
        }
        _ => {
            out.push('\n');
            out.push_str(&pad(indent + step));
            scalar(r, indent + step - 1, out, true);
            out.push('\n');
        }
    }
}

fn document(choices: &[u8]) -> String {
    let mut r = Choices { c: choices, i: 0 };
    let mut out = String::new();
    let docs = 1 + r.pick(3);
    for d in 0..docs {
        trivia(&mut r, &mut out);
        if d > 0 || r.pick(3) == 0 {
            out.push_str("---\n");
        }
        if r.pick(3) == 0 {
            sequence(&mut r, 0, 0, &mut out, false);
        } else {
            mapping(&mut r, 0, 0, &mut out, false);
        }
    }
    if r.pick(4) == 0 {
        out.push_str("---\n");
    }
    if r.pick(5) == 0 {
        out = out.replace('\n', "\r\n");
    }
    if r.pick(6) == 0 {
        // No line break at the end.
        out.pop();
        if out.ends_with('\r') {
            out.pop();
        }
    }
    out
}

/// Characters that matter to YAML.
const SIGNIFICANT: &[char] = &[
    ' ', ' ', '\n', '\r', '\t', '-', ':', '?', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>',
    '\'', '"', '#', '%', '@', '`', '\\', '.', '~', '+', '1', 'a', 'é',
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2048),
    ))]

    #[test]
    fn generated_documents_load_as_saphyr_loads_them(
        choices in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        agree(&document(&choices))?;
    }

    #[test]
    fn mutated_documents_load_as_saphyr_loads_them(
        choices in proptest::collection::vec(any::<u8>(), 0..300),
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), any::<bool>(), proptest::sample::select(SIGNIFICANT)),
            1..6,
        ),
    ) {
        let mut text: Vec<char> = document(&choices).chars().collect();
        for (at, insert, c) in edits {
            let i = at.index(text.len() + 1);
            if insert {
                text.insert(i, c);
            } else if i < text.len() {
                text.remove(i);
            }
        }
        agree(&text.into_iter().collect::<String>())?;
    }
}

/// The generator is not vacuous: most generated documents take the fast path.
#[test]
fn most_generated_documents_take_the_fast_path() {
    let mut accepted = 0;
    let n = 2000u32;
    for seed in 0..n {
        // A cheap deterministic byte stream per seed.
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
        let choices: Vec<u8> = (0..300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x.to_le_bytes()[0]
            })
            .collect();
        let text = document(&choices);
        if load_fast(&text).is_some() {
            accepted += 1;
            same(&text);
        }
    }
    println!("{accepted} of {n} generated documents take the fast path");
    assert!(
        accepted * 4 >= n,
        "only {accepted} of {n} take the fast path"
    );
}
