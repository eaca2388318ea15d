//! Hand-written cases for the structure (block and flow collections, documents, keys,
//! depth, spans): `fast` ones must be read by the subset reader (and match), `gives_up`
//! ones must be left to the full reader, `same` ones may go either way but must match when
//! read. Scalars are in `scalar_cases`.

use super::{fast, gives_up, same};
use crate::plan::yaml::{MAX_DEPTH, Value};

/// Every case must be read by the subset reader, as the full reader reads it.
pub(super) fn all_fast(cases: &[&str]) {
    for text in cases {
        fast(text);
    }
}

/// The subset reader must give up on every case.
pub(super) fn all_give_up(cases: &[&str]) {
    for text in cases {
        gives_up(text);
    }
}

#[test]
fn block_mappings() {
    all_fast(&[
        "a: b\n",
        "a: b",
        "a: b\nc: d\n",
        "a:\n  b: c\n  d: e\nf: g\n",
        "a:\n    b:\n        c: 1\n    d: 2\n",
        "  a: 1\n  b: 2\n",
        "a:\n",
        "a:",
        "a: \n",
        "a:   # comment\nb: 1\n",
        "a:\n  # comment\nb: 1\n",
        "a:\n  b:\nc: 1\n",
        "a:\n  b:\n\n# c\n",
        "e :\nf : 2\n",
        "a: b   \n",
        "a:   x   ",
        "'a': 1\n\"b\": 2\n",
        "'a b': 1\n",
        "\"a\\\"b\": 1\n",
        "\"k\" : v\n",
        "ключ: значение\n",
        "日本: 語\n",
        "émoji💥: x\n",
        "a.b/c-d_e: 1\n",
        "a:b: 1\n",
        "1: a\ntrue: b\nnull: c\n1.5: e\n",
        "~: d\n",
        "-x: 1\n",
        "a: b\n\n\n\nc: d\n",
    ]);
}

#[test]
fn block_mapping_errors_and_oddities() {
    all_give_up(&[
        "a: b: c\n",
        "a: b:\n",
        "a: 1\na: 2\n",
        "a: 1\n'a': 2\n",
        "a: 1\n\"a\": 2\n",
        "a:\n  b: 1\n  b: 2\n",
        "<<: {a: 1}\n",
        "a:\n  b: 1\n c: 2\n",
        "a:\n    b: 1\n  c: 2\n",
        "a: 1\n  b: 2\n",
        "a: x\n  y\n",
        "a:\n  x\n  y\n",
        ": x\n",
        "? a\n: b\n",
        "a: 1\nb\n",
        "\"a\":1\n",
        "'a'x: 1\n",
        "a: 'b'c\n",
        "a: \"b\"c\n",
        "a[1]: x\n",
        "a,b: x\n",
        "a: 1 # c\n# c\n  b: 2\n",
    ]);
    // Keys the full reader may take or refuse; we must agree when we read them.
    for text in ["a\n", "a::\n", "---: x\n"] {
        same(text);
    }
    // Keys that are or are not duplicates for the full reader, whatever their spelling: the
    // subset reader compares their text and gives up whenever that is equal.
    for (a, b) in [
        ("1", "1.0"),
        ("null", "~"),
        ("~", "'~'"),
        ("1.0", "'1.0'"),
        ("0x1", "'0x1'"),
        ("1.50", "1.5"),
        ("1", "'1'"),
        ("1", "0x1"),
        ("true", "'true'"),
        ("True", "'True'"),
        ("True", "true"),
        ("null", "'null'"),
        ("Null", "'Null'"),
        ("1e3", "1000.0"),
        ("1e3", "'1e3'"),
        ("007", "'007'"),
        ("yes", "'yes'"),
        ("x", "\"x\""),
        ("-9223372036854775809", "-0x8000000000000001"),
        ("99999999999999999999", "0x56BC75E2D630FFFFF"),
        ("0", "-0"),
        ("\"\\x41\"", "A"),
    ] {
        same(&format!("{a}: 1\n{b}: 2\n"));
        same(&format!("m: {{{a}: 1, {b}: 2}}\n"));
    }
}

#[test]
fn duplicate_keys_in_a_big_mapping() {
    let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
    fast(&text);
    text.push_str("k7: again\n");
    gives_up(&text);
    let mut flow = String::from("x: {");
    flow.push_str(
        &(0..40)
            .map(|i| format!("k{i}: {i}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    fast(&format!("{flow}}}\n"));
    gives_up(&format!("{flow}, k39: 1}}\n"));
}

#[test]
fn long_keys() {
    fast(&format!("{}: 1\n", "k".repeat(900)));
    gives_up(&format!("{}: 1\n", "k".repeat(1100)));
    same(&format!("{}: 1\n", "k".repeat(1020)));
}

#[test]
fn block_sequences() {
    all_fast(&[
        "- a\n- b\n",
        "- a\n- b",
        "-\n- x\n",
        "- \n- x\n",
        "- \n",
        "-",
        "-  # c\n- x\n",
        "-\n  # c\n- x\n",
        "-\n# c\n- x\n",
        "- - x\n  - y\n",
        "- - - x\n",
        "- a: 1\n  b: 2\n- c: 3\n",
        "- a:\n  b: 1\n",
        "- a:\n    - x\n",
        "- a:\n  - x\n  - y\n  b: 1\n",
        "-\n  a: 1\n",
        "-\n  - x\n",
        "-\n  x\n",
        "- # c\n  x\n",
        "- 'q'\n- \"r\"\n",
        "- 'k': v\n",
        "- [1]\n- {a: b}\n",
        "a:\n  -\n  - x\n",
        "a:\n  - b:\n    c:\n  -\n",
        "x:\n  - - a\n    - b\n  - c\n",
        "a:\n- x\n- y\nb: 1\n",
        "a:\n- \nb: 1\n",
        "a:\n- b: 1\n- c\n",
        "a:\n- [1]\n",
        "a:\n- \"q\"\n",
        "a:\n- - x\n",
        "a:\n- # c\n  x\n",
        "a:\n-\n  x\n",
        "a:\n-   x\n",
        "a:\n-\n",
        "a:\n-\nb:\n-\n",
        "steps:\n- id: x\n  run: y\n- id: z\n",
        "steps:\n  - id: x\n    run: y\n  - id: z\n",
        "a:\n  b:\n  - 1\n  - 2\n  c: 3\n",
        "- a: 1\n  b:\n  - x\n  c: 2\n",
        "- -1\n- -x\n",
        "a:\n-\n  # c\n- x\n",
        "a:\n- 'k': v\n  l: w\n- x\n",
        "a:\n-    \n- x\n",
        "a:\n- # c\n- x\n",
        "\"a\" :\nb: 1\n",
        "a:\n- - - x\n    - y\n  - z\nb:\n",
        "- a:\n  - b:\n    - c\n",
        "- a: [1,\n    2]\n  b: {c: d,\n    e: f}\n",
        "-   a: 1\n    b: 2\n",
        "-   - x\n    - y\n",
    ]);
}

#[test]
fn block_sequence_errors_and_oddities() {
    all_give_up(&[
        "- a\nb: 1\n",
        "- a\n  b\n",
        "- a\n - b\n",
        "a:\n- x\n  - y\n",
        "a:\n  - x\n - y\n",
        "a: - x\n",
        "a: -\n",
        "-x\n- y\n",
        "- a: 1\n - b: 2\n",
        "- a: 1\n   b: 2\n",
        "- ? a\n",
        "- a: b: c\n",
    ]);
}

#[test]
fn flow_collections() {
    all_fast(&[
        "a: []\n",
        "a: {}\n",
        "a: [ ]\n",
        "a: {  }\n",
        "a: [[]]\n",
        "a: [1, 2]\n",
        "a: [1,]\n",
        "a: {x: 1,}\n",
        "a: [ 1 ,2 ]\n",
        "a: [a, {b: c}, [d]]\n",
        "a: {x: 1, y: [2, 3], z: {w: v}}\n",
        "a: [\"x\", 'y']\n",
        "a: [\"x\" , y ]\n",
        "a: [x]  # c\n",
        "a: {x: 1} # c\nb: 2\n",
        "a:\n  [1, 2]\n",
        "a:\n  {x: 1}\n",
        "a:   [1]\n",
        "a: [1,\n  2]\n",
        "a: [\n  1, # c\n  2\n  ]\n",
        "a: {x: 1,\n  y: [2,\n    3]}\n",
        "a: [a\n  , b]\n",
        "a: [http://x:8080/a#b, c]\n",
        "a: [a:b]\n",
        "a: [-1, -x, .5]\n",
        "a: {\"x\": 1, 'y': 2}\n",
        "a: {x: \"{{params.x}}\"}\n",
        "a: [a b, c d]\n",
        "[1, 2]\n",
        "{a: 1}\n",
        "{\n  a: 1\n}\n",
        "- [1, [2, [3]]]\n",
        "a: {Authorization: \"Bearer {{params.token}}\"}\n",
        "a: {b: x # c\n  }\n",
    ]);
}

#[test]
fn flow_errors_and_oddities() {
    all_give_up(&[
        "a: [1, 2\nb: c\n",
        "a: [1, 2]]\n",
        "a: {x: 1}}\n",
        "a: [x] y\n",
        "a: [a #b, c]\n",
        "a: [a\n  b]\n",
        "a: [a: b]\n",
        "a: {x}\n",
        "a: {x: }\n",
        "a: {x:}\n",
        "a: {x:1}\n",
        "a: {\"x\":1}\n",
        "a: {x: 1, x: 2}\n",
        "a: [,]\n",
        "a: [1,,2]\n",
        "a: [&x 1]\n",
        "a: [*x]\n",
        "a: [!t 1]\n",
        "a: [- x]\n",
        "a: [? x]\n",
        "a: {[1]: x}\n",
        "a: [x]: y\n",
        "[a]: b\n",
        "a: [1,\n2]\n",
        "a: [\n---\n]\n",
    ]);
}

#[test]
fn documents_and_comments() {
    all_fast(&[
        "---\na: 1\n",
        "--- \na: 1\n",
        "--- # c\na: 1\n",
        "# yaml-language-server: $schema=../../schemas/plan.schema.json\n\napiVersion: runbook/v1\n",
        "# c\n---\na: 1\n",
        "\n\n# c\n  # c\na: 1\n# c\n\n",
        "a: 1\n# trailing comment",
        "a: 1\n\n   \n",
        "x\n",
    ]);
    all_give_up(&[
        "--- a\n",
        "a: 1\n---\nb: 2\n",
        "---\n---\na: 1\n",
        "a: 1\n...\n",
        "%YAML 1.2\n---\na: 1\n",
        "",
        "# only\n",
        "---\n",
        "x\ny\n",
        "a: 1\n b\n",
    ]);
}

#[test]
fn nesting_at_the_depth_limit() {
    let flow = |n: usize| format!("{}1{}\n", "[".repeat(n), "]".repeat(n));
    let block = |n: usize| -> String {
        let mut t: String = (0..n - 1)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        t.push_str(&format!("{}k: 1\n", "  ".repeat(n - 1)));
        t
    };
    fast(&flow(MAX_DEPTH));
    fast(&block(MAX_DEPTH));
    gives_up(&flow(MAX_DEPTH + 1));
    gives_up(&block(MAX_DEPTH + 1));
    gives_up(&flow(200));
}

#[test]
fn spans_follow_the_full_reader() {
    let text = "a:\n- \nb: [1, {c: d}]\ne:\n  - f: |\n      x\n  -\n";
    fast(text);
    let node = fast("a: 'x'\nb: [1, 2]\n");
    let Value::Map(entries) = &node.value else {
        panic!("not a mapping")
    };
    assert_eq!((entries[0].1.span.start, entries[0].1.span.end), (3, 6));
    assert_eq!((entries[1].1.span.start, entries[1].1.span.end), (10, 15));
}
