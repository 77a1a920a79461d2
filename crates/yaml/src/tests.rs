use super::*;

fn ok(text: &str) -> Stream {
    match load(text) {
        Ok(s) => s,
        Err(e) => panic!("{text:?} failed: {e}"),
    }
}

fn doc(text: &str) -> Node {
    let mut s = ok(text);
    assert_eq!(s.documents.len(), 1, "{text:?}");
    s.documents.remove(0)
}

fn err(text: &str) -> Error {
    match load(text) {
        Ok(s) => panic!("{text:?} loaded: {s:?}"),
        Err(e) => e,
    }
}

fn p(line: u32, col: u32) -> Pos {
    Pos { line, col }
}

fn s(text: &str) -> Value {
    Value::Str {
        text: text.to_string(),
        quoted: false,
    }
}

fn q(text: &str) -> Value {
    Value::Str {
        text: text.to_string(),
        quoted: true,
    }
}

/// The value of the single key `v` in a one-document stream.
fn v(yaml: &str) -> Value {
    let d = doc(&format!("v: {yaml}\n"));
    d.get("v").expect("key v").value.clone()
}

/// Line and column (from 1, column in chars) of a byte offset, counted independently
/// (`\r\n`, `\r` and `\n` are line breaks).
fn pos_of_byte(text: &str, byte: usize) -> Pos {
    let (mut line, mut col) = (1, 1);
    let mut chars = text[..byte].chars().peekable();
    while let Some(c) = chars.next() {
        let brk = c == '\n' || (c == '\r' && chars.peek() != Some(&'\n'));
        if brk {
            line += 1;
            col = 1;
        } else if c != '\r' {
            col += 1;
        }
    }
    // A `\r` right before `byte` followed by `\n` at `byte` is half a break.
    if text[..byte].ends_with('\r') && text[byte..].starts_with('\n') {
        line -= 1;
        col = text[..byte - 1]
            .rsplit(['\n', '\r'])
            .next()
            .map_or(1, |l| l.chars().count() as u32 + 2);
    }
    p(line, col)
}

/// Every node's span is a valid slice whose line/column agree with its byte offsets.
fn check_spans(text: &str, n: &Node) {
    let sp = n.span;
    assert!(sp.start_byte <= sp.end_byte, "{sp:?}");
    assert!(text.get(sp.start_byte..sp.end_byte).is_some(), "{sp:?}");
    assert_eq!(
        pos_of_byte(text, sp.start_byte),
        sp.start,
        "{sp:?} in {text:?}"
    );
    assert_eq!(pos_of_byte(text, sp.end_byte), sp.end, "{sp:?} in {text:?}");
    match &n.value {
        Value::Seq(items) => items.iter().for_each(|c| check_spans(text, c)),
        Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            check_spans(text, k);
            check_spans(text, v);
        }),
        _ => {}
    }
}

const RULE: &str = "\
title: Suspicious Thing   # a comment
id: 0e95725d-7320-415d-80f7-004da920fc11
tags:
    - attack.execution
    - attack.t1059
detection:
    selection:
        EventID: 4688
        CommandLine|contains:
            - ' -enc '
            - \"IEX\"

    # a comment between entries

    condition: selection
level: high
";

/// A document using most of YAML: anchors, merges, tags, block and flow styles, several
/// documents, non-ASCII text, explicit keys.
const RICH: &str = "\
%YAML 1.1
---
base: &base {a: 1, 'b': \"two\", c: [x, y]}
derived:
  <<: *base
  c: !!str 3
  ? [k1, k2]
  : complex key
text: |
  literal é ✓
   indented
folded: >-
  one
  two
list:
- &i item
- *i
- - nested
  - {f: g}
empty:
...
--- second document
";

#[test]
fn rich_document() {
    let st = ok(RICH);
    assert_eq!(st.documents.len(), 2);
    st.documents.iter().for_each(|d| check_spans(RICH, d));
    let d = &st.documents[0];
    assert_eq!(
        d.get("derived").unwrap().get("a").unwrap().value,
        Value::Int(1)
    );
    assert_eq!(d.get("derived").unwrap().get("c").unwrap().value, s("3"));
    assert_eq!(d.get("text").unwrap().value, q("literal é ✓\n indented\n"));
    assert_eq!(d.get("folded").unwrap().value, q("one two"));
    assert!(d.get("empty").unwrap().is_null());
    assert_eq!(st.documents[1].value, s("second document"));
}

#[test]
fn nested_positions() {
    let d = doc(RULE);
    check_spans(RULE, &d);
    assert_eq!(d.span.start, p(1, 1));
    assert_eq!(d.span.end, p(16, 12));
    let title = d.get("title").unwrap();
    assert_eq!(title.value, s("Suspicious Thing"));
    assert_eq!((title.span.start, title.span.end), (p(1, 8), p(1, 24)));
    let tags = d.get("tags").unwrap();
    assert_eq!(
        tags.span.text(RULE),
        "- attack.execution\n    - attack.t1059"
    );
    assert_eq!(tags.span.start, p(4, 5));
    let det = d.get("detection").unwrap();
    assert_eq!(det.span.start, p(7, 5));
    assert_eq!(det.span.end, p(15, 25));
    let sel = det.get("selection").unwrap();
    // A block mapping ends at its last node, not at the next token after blank lines/comments.
    assert_eq!(sel.span.end, p(11, 20));
    assert!(sel.span.text(RULE).ends_with("- \"IEX\""));
    let (k, val) = &sel.as_map().unwrap()[0];
    assert_eq!(&RULE[k.span.start_byte..val.span.end_byte], "EventID: 4688");
    assert_eq!(val.value, Value::Int(4688));
    assert_eq!(val.span.start, p(8, 18));
    let cl = sel.get("CommandLine|contains").unwrap().as_seq().unwrap();
    assert_eq!(cl[0].value, q(" -enc "));
    assert_eq!(cl[0].span.text(RULE), "' -enc '");
    assert_eq!((cl[0].span.start, cl[0].span.end), (p(10, 15), p(10, 23)));
    assert_eq!(cl[1].span.text(RULE), "\"IEX\"");
    let cond = det.get("condition").unwrap();
    assert_eq!(cond.span.start, p(15, 16));
}

#[test]
fn flow_collection_positions() {
    let text = "a: {k: [x, 'y'], z: }\nb: [1, {c: d}]\n";
    let d = doc(text);
    check_spans(text, &d);
    let a = d.get("a").unwrap();
    assert_eq!(a.span.text(text), "{k: [x, 'y'], z: }");
    assert_eq!(a.get("k").unwrap().span.text(text), "[x, 'y']");
    let z = a.get("z").unwrap();
    assert!(z.is_null());
    assert_eq!(z.span.start, p(1, 20));
    let b = d.get("b").unwrap();
    assert_eq!(b.span.text(text), "[1, {c: d}]");
    assert_eq!(b.as_seq().unwrap()[1].span.text(text), "{c: d}");
}

#[test]
fn block_sequence_positions() {
    let text = "top:\n- a\n-   - b\n    - c\n-\n- k: v\n  l: w\n";
    let d = doc(text);
    check_spans(text, &d);
    let top = d.get("top").unwrap();
    assert_eq!(top.span.start, p(2, 1));
    assert_eq!(top.span.end, p(7, 7));
    let items = top.as_seq().unwrap();
    assert_eq!(items[1].span.text(text), "- b\n    - c");
    assert!(items[2].is_null());
    assert_eq!(items[2].span.start, p(5, 2));
    assert_eq!(items[3].span.text(text), "k: v\n  l: w");
}

#[test]
fn empty_value_positions() {
    let text = "a:\nb: # comment\n\nc: 1\n";
    let d = doc(text);
    check_spans(text, &d);
    let a = d.get("a").unwrap();
    assert!(a.is_null());
    assert_eq!(a.span.start, p(1, 3));
    assert_eq!(d.get("b").unwrap().span.start, p(2, 3));
    let (k, val) = &d.as_map().unwrap()[0];
    assert_eq!(&text[k.span.start_byte..val.span.end_byte], "a:");
}

#[test]
fn scalar_spans_exclude_properties() {
    let text = "a: &x !!str 12\nb: *x\nc: !!int\n  '7'\nd: &y\n";
    let d = doc(text);
    check_spans(text, &d);
    assert_eq!(d.get("a").unwrap().span.text(text), "12");
    assert_eq!(d.get("b").unwrap().span.text(text), "*x");
    let c = d.get("c").unwrap();
    assert_eq!(c.value, Value::Int(7));
    assert_eq!(c.span.text(text), "'7'");
    assert_eq!(d.get("d").unwrap().span.start, p(5, 6));
}

#[test]
fn multi_line_plain_and_quoted_spans() {
    let text = "a: first\n  second   \nb: \"one\n  two\"\n";
    let d = doc(text);
    check_spans(text, &d);
    let a = d.get("a").unwrap();
    assert_eq!(a.value, s("first second"));
    assert_eq!(a.span.text(text), "first\n  second");
    let b = d.get("b").unwrap();
    assert_eq!(b.value, q("one two"));
    assert_eq!(b.span.text(text), "\"one\n  two\"");
}

#[test]
fn block_scalar_spans() {
    let text = "desc: |\n  line one\n  line two\n\n# trailing comment\n\nnext: >-\n  folded\n  text\nlast: |+ # keep\n  kept\n\n";
    let d = doc(text);
    check_spans(text, &d);
    let desc = d.get("desc").unwrap();
    assert_eq!(desc.value, q("line one\nline two\n"));
    assert_eq!(desc.span.text(text), "|\n  line one\n  line two");
    assert_eq!(desc.span.start, p(1, 7));
    assert_eq!(desc.span.end, p(3, 11));
    let next = d.get("next").unwrap();
    assert_eq!(next.value, q("folded text"));
    assert_eq!(next.span.text(text), ">-\n  folded\n  text");
    let last = d.get("last").unwrap();
    assert_eq!(last.value, q("kept\n\n"));
    assert_eq!(last.span.text(text), "|+ # keep\n  kept");
    assert_eq!(d.span.end, p(11, 7));
}

#[test]
fn non_ascii_and_crlf_offsets() {
    let text = "tïtle: \"héllo wörld\"\r\nnäme: ünïcode ✓\r\nlist:\r\n  - ✓✓\r\n";
    let d = doc(text);
    check_spans(text, &d);
    let t = d.get("tïtle").unwrap();
    assert_eq!(t.value, q("héllo wörld"));
    assert_eq!(t.span.text(text), "\"héllo wörld\"");
    assert_eq!(t.span.start, p(1, 8));
    assert_eq!(t.span.end, p(1, 21));
    let n = d.get("näme").unwrap();
    assert_eq!(n.span.text(text), "ünïcode ✓");
    assert_eq!(n.span.start, p(2, 7));
    let l = d.get("list").unwrap().as_seq().unwrap();
    assert_eq!(l[0].span.text(text), "✓✓");
    assert_eq!(l[0].span.start, p(4, 5));
}

#[test]
fn lone_cr_line_breaks() {
    let text = "a: 1\rb: 2\r";
    let d = doc(text);
    let b = d.get("b").unwrap();
    assert_eq!(b.span.start, p(2, 4));
    assert_eq!(b.span.text(text), "2");
}

#[test]
fn multi_document_streams() {
    let st = ok("a: 1\n---\nb: 2\n...\n--- c\n");
    assert_eq!(st.documents.len(), 3);
    assert_eq!(st.documents[0].get("a").unwrap().value, Value::Int(1));
    assert_eq!(st.documents[1].get("b").unwrap().value, Value::Int(2));
    assert_eq!(st.documents[1].span.start, p(3, 1));
    assert_eq!(st.documents[2].value, s("c"));
    assert_eq!(st.documents[2].span.start, p(5, 5));
    for empty in ["", "\n\n", "# only a comment\n", "   "] {
        assert_eq!(ok(empty).documents.len(), 0, "{empty:?}");
    }
    let st = ok("---\n");
    assert_eq!(st.documents.len(), 1);
    assert!(st.documents[0].is_null());
    assert_eq!(st.documents[0].span.start, p(1, 4));
    let st = ok("---\n---\n--- ~\n");
    assert_eq!(st.documents.len(), 3);
    assert!(st.documents.iter().all(Node::is_null));
}

#[test]
fn duplicate_keys_last_wins_with_both_positions() {
    let text = "detection:\n    sel:\n        EventID: 1\n        Image: x\n        EventID: 2\n    condition: sel\n";
    let st = ok(text);
    let sel = st.documents[0]
        .get("detection")
        .unwrap()
        .get("sel")
        .unwrap();
    let pairs = sel.as_map().unwrap();
    assert_eq!(pairs.len(), 2);
    // The last pair, kept at the first occurrence's index.
    assert_eq!(pairs[0].0.as_str(), Some("EventID"));
    assert_eq!(pairs[0].1.value, Value::Int(2));
    assert_eq!(
        &text[pairs[0].0.span.start_byte..pairs[0].1.span.end_byte],
        "EventID: 2"
    );
    assert_eq!(pairs[1].0.as_str(), Some("Image"));
    assert_eq!(st.warnings.len(), 1);
    let w = &st.warnings[0];
    assert_eq!(w.pos, p(5, 9));
    assert_eq!(
        w.message,
        "duplicate key \"EventID\": first at line 3 column 9, this value (line 5 column 9) is the one used"
    );
}

#[test]
fn duplicate_keys_three_times_and_sorted_warnings() {
    let text = "a: 1\nb:\n  x: 1\n  x: 2\na: 2\na: 3\n";
    let st = ok(text);
    let d = &st.documents[0];
    assert_eq!(d.get("a").unwrap().value, Value::Int(3));
    assert_eq!(d.get("b").unwrap().get("x").unwrap().value, Value::Int(2));
    let msgs: Vec<_> = st
        .warnings
        .iter()
        .map(|w| (w.pos, w.message.as_str()))
        .collect();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0].0, p(4, 3));
    assert_eq!(msgs[1].0, p(5, 1));
    assert!(
        msgs[1].1.contains("first at line 1 column 1"),
        "{}",
        msgs[1].1
    );
    assert!(
        msgs[1].1.contains("is overridden by line 6 column 1"),
        "{}",
        msgs[1].1
    );
    assert!(
        msgs[2].1.ends_with("(line 6 column 1) is the one used"),
        "{}",
        msgs[2].1
    );
}

#[test]
fn duplicate_keys_in_large_maps_and_python_equality() {
    let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
    text.push_str("k7: again\n");
    let st = ok(&text);
    let pairs = st.documents[0].as_map().unwrap();
    assert_eq!(pairs.len(), 40);
    assert_eq!(pairs[7].1.value, s("again"));
    assert_eq!(st.warnings.len(), 1);
    assert_eq!(st.warnings[0].pos, p(41, 1));
    // 1, 1.0 and true are one key to Python; quoted and plain strings are one key too.
    let st = ok("{1: a, 1.0: b, true: c, '1': d, 2: e, \"x\": f, x: g}");
    let pairs = st.documents[0].as_map().unwrap();
    assert_eq!(pairs.len(), 4);
    assert_eq!(pairs[0].1.value, s("c"));
    assert_eq!(st.warnings.len(), 3);
    // Collections as keys never collide.
    assert!(ok("? [a]\n: 1\n? [a]\n: 2\n").warnings.is_empty());
}

#[test]
fn pyyaml_plain_scalar_resolution() {
    assert_eq!(v("yes"), Value::Bool(true));
    assert_eq!(v("No"), Value::Bool(false));
    assert_eq!(v("on"), Value::Bool(true));
    assert_eq!(v("OFF"), Value::Bool(false));
    assert_eq!(v("true"), Value::Bool(true));
    assert_eq!(v("0x1F"), Value::Int(31));
    assert_eq!(v("010"), Value::Int(8));
    assert_eq!(v("0b11"), Value::Int(3));
    assert_eq!(v("1_000"), Value::Int(1000));
    assert_eq!(v("-42"), Value::Int(-42));
    assert_eq!(v("1:30"), Value::Int(90));
    assert_eq!(v("1e5"), s("1e5"));
    assert_eq!(v("1.0e5"), s("1.0e5"));
    assert_eq!(v("1.0e+5"), Value::Float(100_000.0));
    assert_eq!(v("3.25"), Value::Float(3.25));
    assert_eq!(v(".inf"), Value::Float(f64::INFINITY));
    assert_eq!(v("-.inf"), Value::Float(f64::NEG_INFINITY));
    assert!(matches!(v(".nan"), Value::Float(f) if f.is_nan()));
    assert_eq!(v("~"), Value::Null);
    assert_eq!(v("null"), Value::Null);
    assert_eq!(v("NULL"), Value::Null);
    assert_eq!(v(""), Value::Null);
    assert_eq!(v("2024-01-15"), s("2024-01-15"));
    assert_eq!(v("09"), s("09"));
    assert_eq!(v("0o17"), s("0o17"));
    assert_eq!(v("-.5"), s("-.5"));
    assert_eq!(v("y"), s("y"));
    assert_eq!(v("99999999999999999999"), s("99999999999999999999"));
    assert_eq!(v("<<"), s("<<"));
}

#[test]
fn quoted_and_block_scalars_stay_strings() {
    assert_eq!(v("'7'"), q("7"));
    assert_eq!(v("\"yes\""), q("yes"));
    assert_eq!(v("'~'"), q("~"));
    assert_eq!(v("''"), q(""));
    assert_eq!(v("\"0x1F\""), q("0x1F"));
    assert_eq!(v("|\n  123\n"), q("123\n"));
    assert_eq!(v(">-\n  yes\n"), q("yes"));
    assert_eq!(v("\"a\\tb\\u00e9\""), q("a\tbé"));
    assert_eq!(v("'it''s'"), q("it's"));
}

#[test]
fn explicit_tags() {
    assert_eq!(v("!!str 12"), s("12"));
    assert_eq!(v("!!str yes"), s("yes"));
    assert_eq!(v("!!int '0x10'"), Value::Int(16));
    assert_eq!(v("!!float 1"), Value::Float(1.0));
    assert_eq!(v("!!float 1e5"), Value::Float(100_000.0));
    assert_eq!(v("!!bool 'Yes'"), Value::Bool(true));
    assert_eq!(v("!!null whatever"), Value::Null);
    assert_eq!(v("! 12"), Value::Int(12));
    assert_eq!(v("!<tag:yaml.org,2002:int> 5"), Value::Int(5));
    assert_eq!(v("!!timestamp 2001-12-14"), s("2001-12-14"));
    assert_eq!(v("!custom 12"), s("12"));
    assert_eq!(v("!custom '12'"), q("12"));
    assert_eq!(v("!!int 99999999999999999999"), s("99999999999999999999"));
    let e = err("a: !!int twelve\n");
    assert_eq!(e.pos, p(1, 10));
    assert!(e.message.contains("twelve"), "{}", e.message);
    assert!(load("a: !!bool maybe").is_err());
    assert!(load("a: !!float x").is_err());
    // Tags on collections are ignored.
    assert_eq!(doc("!!map {a: 1}").get("a").unwrap().value, Value::Int(1));
}

#[test]
fn anchors_and_aliases() {
    let text = "base: &b\n  k: v\n  list: [1, 2]\ncopy: *b\nitem: &i hello\nitems: [*i, *i]\n";
    let d = doc(text);
    let base = d.get("base").unwrap();
    let copy = d.get("copy").unwrap();
    assert_eq!(copy.value, base.value);
    assert_eq!(copy.span.text(text), "*b");
    assert_eq!(copy.span.start, p(4, 7));
    // Nodes inside the copy keep the anchored text's spans.
    assert_eq!(copy.get("k").unwrap().span.start, p(2, 6));
    let items = d.get("items").unwrap().as_seq().unwrap();
    assert_eq!(items[0].value, s("hello"));
    assert_eq!(items[1].span.text(text), "*i");
    // Redefined anchors: the latest definition wins.
    let d = doc("- &a 1\n- *a\n- &a 2\n- *a\n");
    let items = d.as_seq().unwrap();
    assert_eq!(items[1].value, Value::Int(1));
    assert_eq!(items[3].value, Value::Int(2));
}

#[test]
fn alias_errors() {
    let e = err("a: *nope\n");
    assert_eq!(e.pos, p(1, 4));
    let e = err("a: &x [1, *x]\n");
    assert!(e.message.contains("recursive"), "{}", e.message);
    assert_eq!(e.pos, p(1, 11));
}

#[test]
fn merge_keys() {
    let text = "\
x: &x {a: 1, b: 2}
y: &y {b: 3, c: 4}
z:
  d: 0
  <<: [*x, *y]
  a: 9
w:
  <<: *x
  b: 5
";
    let st = ok(text);
    let d = &st.documents[0];
    let z = d.get("z").unwrap();
    let keys: Vec<_> = z
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    // PyYAML's order: merged pairs first (later list entries first, earlier ones win).
    assert_eq!(keys, ["b", "c", "a", "d"]);
    assert_eq!(z.get("a").unwrap().value, Value::Int(9));
    assert_eq!(z.get("b").unwrap().value, Value::Int(2));
    assert_eq!(z.get("c").unwrap().value, Value::Int(4));
    let w = d.get("w").unwrap();
    assert_eq!(w.get("a").unwrap().value, Value::Int(1));
    assert_eq!(w.get("b").unwrap().value, Value::Int(5));
    assert_eq!(w.as_map().unwrap().len(), 2);
    assert!(st.warnings.is_empty(), "{:?}", st.warnings);
    // A quoted `<<` is an ordinary key.
    let d = doc("'<<': {a: 1}\n");
    assert!(d.get("<<").is_some());
    let e = err("a: &a 1\nb:\n  <<: *a\n");
    assert!(e.message.contains("merge"), "{}", e.message);
    assert_eq!(e.pos, p(3, 7));
}

#[test]
fn alias_bomb_is_an_error() {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = 'a';
    for name in "bcdefghij".chars() {
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    let e = err(&text);
    assert!(e.message.contains("aliases expand"), "{}", e.message);
    // A few aliases are fine.
    let st = ok("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n");
    assert_eq!(st.documents[0].get("b").unwrap().as_seq().unwrap().len(), 3);
}

#[test]
fn nested_anchor_bomb_is_an_error() {
    // 200 nested anchored sequences around 20,000 items: 4,000,000 copied nodes.
    let items = vec!["1"; 20_000].join(", ");
    let open: String = (0..200).map(|i| format!("&a{i} [")).collect();
    let nested = format!("{open}{items}{}", "]".repeat(200));
    let e = err(&format!("a: {nested}\nb: *a199\n"));
    assert!(e.message.contains("anchored nodes"), "{}", e.message);
    // Without any alias in the text, anchors are not kept at all.
    ok(&format!("a: {nested}\n"));
}

#[test]
fn depth_bomb_is_an_error() {
    // saphyr's scanner stops flow nesting at 255 levels, before our limit.
    let e = err(&"[".repeat(100_000));
    assert!(e.message.contains("nested more than"), "{}", e.message);
    let e = err(&"{a: ".repeat(100_000));
    assert!(e.message.contains("nested more than"), "{}", e.message);
    let block = |levels: usize| -> String {
        (0..levels)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect()
    };
    // `levels` mappings nested, the innermost with a null value.
    ok(&block(MAX_DEPTH));
    let e = err(&block(MAX_DEPTH + 1));
    assert_eq!(
        e.message,
        "collections are nested more than 256 levels deep"
    );
    assert_eq!(e.pos, p(257, 257));
    let e = err(&"- ".repeat(10_000));
    assert!(e.message.contains("nested more than"), "{}", e.message);
    ok(&format!("{}{}", "[".repeat(200), "]".repeat(200)));
    // Aliases count towards the depth too.
    let deep = format!("a: &a {}{}\n", "[".repeat(200), "]".repeat(200));
    ok(&deep);
    let text = format!("{deep}b: {}*a{}\n", "[".repeat(100), "]".repeat(100));
    assert!(err(&text).message.contains("nested"));
}

#[test]
fn invalid_yaml_reports_line_and_column() {
    let e = err("a: b: c\n");
    assert_eq!(e.pos, p(1, 5));
    assert_eq!(e.message, "mapping values are not allowed in this context");
    assert_eq!(
        e.to_string(),
        "line 1 column 5: mapping values are not allowed in this context"
    );
    let e = err("title: x\ndetection:\n  sel:\n    a: 1\n   b: 2\n");
    assert_eq!(e.pos.line, 5);
    let e = err("a: [1, 2\nb: 3\n");
    assert!(e.pos.line >= 2, "{e:?}");
    let e = err("a: \"unterminated\n");
    assert_eq!(e.pos, p(1, 4));
    let e = err("x: 1\nk: @x\n");
    assert_eq!(e.pos, p(2, 4));
    let e = err("- a\nb: c\n");
    assert_eq!(e.pos, p(2, 1));
}

#[test]
fn non_scalar_keys() {
    let text = "? [a, b]\n: pair\n? {c: d}\n: map\n";
    let d = doc(text);
    let pairs = d.as_map().unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0].0.as_seq().unwrap().len(), 2);
    assert_eq!(pairs[0].1.value, s("pair"));
    assert_eq!(pairs[1].0.get("c").unwrap().value, s("d"));
    check_spans(text, &d);
}

#[test]
fn helpers() {
    let d = doc("a: true\nb: 3\nc: ~\n");
    assert_eq!(d.get("a").unwrap().as_bool(), Some(true));
    assert_eq!(d.get("b").unwrap().as_i64(), Some(3));
    assert!(d.get("c").unwrap().is_null());
    assert_eq!(d.value.kind(), "a mapping");
    assert_eq!(d.get("missing"), None);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Characters that matter to YAML, plus a few multi-byte ones.
    const ALPHABET: &[char] = &[
        ' ', ' ', ' ', '\n', '\n', '\t', '\r', '-', ':', '?', '[', ']', '{', '}', ',', '&', '*',
        '!', '|', '>', '\'', '"', '#', '%', '@', '`', '\\', '<', '.', '~', 'a', 'b', 'k', 'y', '0',
        '1', 'x', 'é', '✓', '𝄞',
    ];

    fn yamlish() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(ALPHABET), 0..200)
            .prop_map(|cs| cs.into_iter().collect())
    }

    #[derive(Debug, Clone)]
    enum Gen {
        Scalar(String, u8),
        Seq(Vec<Gen>),
        Map(Vec<(String, Gen)>),
    }

    fn word() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-zA-Z0-9_.é✓ -]{0,12}").unwrap()
    }

    fn gen_tree() -> impl Strategy<Value = Gen> {
        let leaf = (word(), 0u8..4).prop_map(|(w, style)| Gen::Scalar(w, style));
        leaf.prop_recursive(5, 60, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 1..5).prop_map(Gen::Seq),
                proptest::collection::vec(("[a-z][a-z0-9é]{0,6}", inner), 1..5).prop_map(Gen::Map),
            ]
        })
    }

    /// Emit a scalar in one of four styles; returns the source text.
    fn scalar_text(w: &str, style: u8) -> String {
        match style {
            0 => format!("'{}'", w.replace('\'', "''")),
            1 => format!("\"{w}\""),
            2 if !w.is_empty() && w.trim() == w && !w.starts_with(['-', '.']) => w.to_string(),
            _ => format!("'{w}'"),
        }
    }

    fn emit(g: &Gen, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match g {
            Gen::Scalar(w, st) => {
                out.push(' ');
                out.push_str(&scalar_text(w, *st));
                out.push('\n');
            }
            Gen::Seq(items) => {
                out.push('\n');
                for it in items {
                    out.push_str(&pad);
                    out.push('-');
                    emit(it, indent + 2, out);
                }
            }
            Gen::Map(pairs) => {
                out.push('\n');
                for (k, v) in pairs {
                    out.push_str(&pad);
                    out.push_str(k);
                    out.push(':');
                    emit(v, indent + 2, out);
                }
            }
        }
    }

    fn document(g: &Gen) -> String {
        let mut out = String::from("root:");
        emit(g, 2, &mut out);
        out
    }

    fn scalars<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
        match &n.value {
            Value::Seq(items) => items.iter().for_each(|c| scalars(c, out)),
            Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
                scalars(k, out);
                scalars(v, out);
            }),
            _ => out.push(n),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(512),
        ))]

        #[test]
        fn never_panics_on_arbitrary_strings(text in any::<String>()) {
            let _ = crate::build::load(&text);
        }

        #[test]
        fn never_panics_on_yamlish_strings(text in yamlish()) {
            if let Ok(st) = crate::build::load(&text) {
                st.documents.iter().for_each(|d| check_spans(&text, d));
            }
        }

        #[test]
        fn never_panics_on_mutated_rules(
            base in proptest::sample::select(vec![RULE, RICH]),
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), 0usize..4, proptest::sample::select(ALPHABET)),
                1..8,
            )
        ) {
            let mut text: Vec<char> = base.chars().collect();
            for (at, op, c) in edits {
                let i = at.index(text.len() + 1);
                match op {
                    0 => text.insert(i, c),
                    1 if i < text.len() => { text.remove(i); }
                    2 if i < text.len() => text[i] = c,
                    _ => {
                        let end = (i + 20).min(text.len());
                        let chunk: Vec<char> = text[i..end].to_vec();
                        text.splice(i..i, chunk);
                    }
                }
            }
            let text: String = text.into_iter().collect();
            if let Ok(st) = crate::build::load(&text) {
                st.documents.iter().for_each(|d| check_spans(&text, d));
            }
        }

        #[test]
        fn generated_documents_have_exact_scalar_spans(g in gen_tree()) {
            let text = document(&g);
            let st = match load(&text) {
                Ok(st) => st,
                Err(e) => return Err(TestCaseError::fail(format!("{e} in {text:?}"))),
            };
            prop_assert_eq!(st.documents.len(), 1);
            let d = &st.documents[0];
            check_spans(&text, d);
            let mut found = Vec::new();
            scalars(d, &mut found);
            for n in found {
                let slice = &text[n.span.start_byte..n.span.end_byte];
                match &n.value {
                    Value::Str { text: t, quoted: true } => {
                        prop_assert!(slice.starts_with(['\'', '"']), "{:?}", slice);
                        prop_assert_eq!(&slice[1..slice.len() - 1].replace("''", "'"), t);
                    }
                    Value::Str { text: t, quoted: false } => prop_assert_eq!(slice, t),
                    Value::Null => {}
                    _ => prop_assert!(!slice.is_empty()),
                }
            }
        }
    }
}
