//! Hand-written cases for scalars: plain scalar resolution, quoted and block scalars, long
//! scalars, and characters outside the subset (see `cases` for the conventions).

use super::cases::{all_fast, all_give_up};
use super::{fast, same};
use crate::plan::yaml::Value;

#[test]
fn long_scalars() {
    let long = "x".repeat(3000);
    for text in [
        format!("a: {long}\n"),
        format!("- {long}\n"),
        format!("a:\n  {long}\n"),
        format!("a: [{long}, y]\n"),
        format!("a: {{b: {long}}}\n"),
        format!("a: '{long}'\n"),
        format!("a: \"{long}\"\n"),
        format!("a: |\n  {long}\n"),
        format!("{long}\n"),
    ] {
        fast(&text);
    }
    // As a key, too long for the full reader's scanner.
    same(&format!("{long}: 1\n"));
    same(&format!("a: {{{long}: 1}}\n"));
}

#[test]
fn plain_scalars_resolve_as_the_full_reader_does() {
    let forms = [
        "~",
        "null",
        "Null",
        "NULL",
        "nULL",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "False",
        "FALSE",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Y",
        "N",
        "0x1F",
        "0x1f",
        "0o17",
        "0b101",
        "0xff_ff",
        "+12",
        "-12",
        "1_000",
        "1__0",
        "_1",
        "1_",
        "1e3",
        "1E3",
        "1e+3",
        "1e-3",
        ".5",
        "0.5",
        "1.",
        "-1.",
        "+1.5",
        "007",
        "-007",
        "+007",
        "08",
        "0",
        "-0",
        "+0",
        "00",
        "0.0",
        "-0.0",
        "9223372036854775807",
        "-9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
        "inf",
        "nan",
        "Infinity",
        "-inf",
        "+inf",
        "NaN",
        "1.5e",
        "1e",
        "1.2.3",
        "30s",
        "500ms",
        "1_0.5",
        "1,5",
        "0x",
        "0o",
        "0b",
        "0x1g",
        "12abc",
        "+",
        "-x",
        ".",
        "..",
        ".e3",
        "e3",
        "1e3.5",
        "0e0",
        "00.5",
        "1_000.5",
        "+-1",
        "1-2",
        "0x-1",
        "-0x1",
        "+0x1",
        "-0o7",
        "-0b1",
        "-0x8000000000000000",
        "0.1e-1_0",
        "NULL_",
        "True1",
        "-.5",
        "+.5",
        "1.e5",
        ".5e5",
        "1E+3",
        "१२",
        "-.nan",
        "+.nan",
        "-.NaN",
        "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        "-0x_1",
        "0b_1",
        "0o8",
        "0b2",
        "0xg",
        "1e400x",
        "0.000001",
        "123456789012345678901234567890.5",
        "1.7976931348623157e308",
        "4.9e-324",
        "1e-400",
        "-1e-400",
        "2.5e-3",
        "5e",
        "e",
        "E5",
        "http://x:8080/a#b",
        "a#b",
        "a!b",
        "a&b",
        "a*b",
        "it's",
        "say \"hi\"",
        "x[1]",
        "x{y}",
        "a, b",
        "{{params.x}}x",
        "ß\u{301}",
        "\u{200b}",
        "\u{a0}1",
        "1\u{a0}",
        "%x",
        "@x",
    ];
    for form in forms {
        same(&format!("k: {form}\n"));
        same(&format!("{form}: k\n"));
        same(&format!("k: [{form}]\n"));
        same(&format!("- {form}\n"));
    }
    // The common ones are ours.
    for form in [
        "~",
        "null",
        "true",
        "False",
        "yes",
        "on",
        "n",
        "0x1F",
        "0o17",
        "+12",
        "1_000",
        "1e3",
        "0.5",
        "1.",
        "007",
        "-007",
        "30s",
        "inf",
        "1.2.3",
        "-9223372036854775808",
    ] {
        fast(&format!("k: {form}\n"));
    }
    let cases = [
        ("~", Value::Null),
        ("yes", Value::Str("yes".into())),
        ("on", Value::Str("on".into())),
        ("n", Value::Str("n".into())),
        ("TRUE", Value::Bool(true)),
        ("0x1F", Value::Int(31)),
        ("1_000", Value::Int(1000)),
        ("007", Value::Float(7.0)),
    ];
    for (form, want) in cases {
        let node = fast(&format!("k: {form}\n"));
        let Value::Map(entries) = node.value else {
            panic!("not a mapping")
        };
        assert_eq!(entries[0].1.value, want, "{form}");
    }
}

#[test]
fn plain_scalars_the_full_reader_refuses() {
    // Too large for i64, non-finite floats, upper-case radix prefixes (kept as strings there).
    all_give_up(&[
        "k: 9223372036854775808\n",
        "k: 0x8000000000000000\n",
        "k: .inf\n",
        "k: -.Inf\n",
        "k: +.inf\n",
        "k: .nan\n",
        "k: .NaN\n",
        "k: 1e999\n",
        "k: -1e999\n",
        "k: 0X1F\n",
        "k: 0O17\n",
    ]);
}

#[test]
fn plain_scalar_edges() {
    all_fast(&[
        "url: http://x:8080/a#b\n",
        "a: x # c\n",
        "a: x#c\n",
        "a: it's\n",
        "a: b :c\n",
        "a: x, y\n",
        "a: x[1]\n",
        "a: -1\n",
        "a: ---\n",
        "a: 'it''s'\n",
        "a: x\n# comment\nb: y\n",
        "a: x   # comment   \n",
        "key: value # comment\n",
    ]);
    all_give_up(&[
        "a: &x 1\n",
        "a: *x\n",
        "a: !t 1\n",
        "a: !!str 1\n",
        "a: %x\n",
        "a: @x\n",
        "a: `x\n",
        "a: ? x\n",
        "a: :x\n",
        "a: ,x\n",
        "a: ]x\n",
        "a: }x\n",
        "a: x\n  y\n",
    ]);
}

#[test]
fn quoted_scalars() {
    all_fast(&[
        "a: 'x'\n",
        "a: ''\n",
        "a: \"\"\n",
        "a: 'it''s'\n",
        "a: 'x''y'''\n",
        "a: '#not a comment'\n",
        "a: \"# not a comment\"\n",
        "a: \"\\u00e9\"\n",
        "a: \"x\\ty\\u00e9\\x41\\U0001F600\\\\\\\"\\/\\0\\a\\b\\e\\f\\n\\r\\v\\N\\_\\L\\P\\ \"\n",
        "a: \"\\xe9\\x7f\"\n",
        "a: \"a\" # c\n",
        "a: \"a\"  \n",
        "a: 'a: b'\n",
        "a: \"{{params.x}}\"\n",
        "a: \"null\"\n",
        "a: '1'\n",
        "a: \"true\"\n",
        "\"x\"\n",
        "'x'\n",
    ]);
    all_give_up(&[
        "a: \"\\z\"\n",
        "a: \"\\x4\"\n",
        "a: \"\\u00g9\"\n",
        "a: \"\\ud800\"\n",
        "a: \"x\n  y\"\n",
        "a: 'x\n  y'\n",
        "a: \"x\\\n  y\"\n",
        "a: \"unclosed\n",
        "a: 'unclosed\n",
        "a: \"a\"x\n",
        "a: 'a'b\n",
        "a: \"a\"#c\n",
    ]);
}

#[test]
fn block_scalars() {
    all_fast(&[
        "a: |\n  x\n  y\nb: 1\n",
        "a: |-\n  x\n  y\n\nb: 1\n",
        "a: |+\n  x\n\nb: 1\n",
        "a: >\n  x\n  y\n\n  z\nb: 1\n",
        "a: >-\n  x\n  y\n",
        "a: >+\n  x\n \n",
        "a: |  # c\n  x\n",
        "a: |\n\n  x\n",
        "a: >\n\n  a\n  b\n\n\n  c\n",
        "a: >-\n  a  \n  b\n",
        "a: |\n  x  \n  y   \n",
        "a: |\n  x\n    y\n  z\n",
        "a:\n  b: |\n    x\n  c: 1\n",
        "a:\n  b: |\n    x\n   \n  c: 1\n",
        "a:\n  b: |-\n    x\n\n# c\n  c: 1\n",
        "a: |\n  x\n  # not a comment\nb: 1\n",
        "a: |\n  x\n# c\nb: 1\n",
        "a: |\n  x\n\n\n",
        "a: |+\n  x\n\n\n",
        "- |\n x\n- >-\n  y\n",
        "a:\n- |\n t\n",
        "a:\n- >\n  t\n  u\nb: 1\n",
        "- a: |\n    x\n  b: 1\n",
        "a: >-\n  .status == 200 and (.body.items | length) >= 1\n  and x\nb: 2\n",
        "a: |\n  é💥\n",
        "a: >\n  a\n   b\n  c\n",
        "a: >\n  a\n\n   b\n\n  c\n  d\n",
        "a: >-\n  a\n   b\n    c\n  d\n   e\n",
        "a: >+\n  a\n   b\n\n",
        "a: >\n\n  a\n   b\n",
    ]);
    all_give_up(&[
        "a: |\n",
        "a: |\nb: 1\n",
        "a: |2\n  x\n",
        "a: |-2\n  x\n",
        "a: >1\n x\n",
        "a: |x\n  x\n",
        "a: |#c\n  x\n",
        "a: |\n  x",
        "a: |\n    \n  x\n",
        "a: |\n  x\n      \n  y\n",
        "a: >\n    x\n  y\n",
        "a: |\n    x\n  y\n",
        "a: |\nx\n",
        "|\n  x\n",
        "a: |\n  x\n---\n",
    ]);
}

#[test]
fn characters_outside_the_subset() {
    all_give_up(&[
        "a: 1\r\nb: 2\r\n",
        "a:\tb\n",
        "a:\n\tb: 1\n",
        "\u{feff}a: 1\n",
        "a: x\u{85}y\n",
        "a: x\u{2028}y\n",
        "a: \0\n",
        "a: \u{7f}\n",
        "a: \u{1b}\n",
    ]);
    all_fast(&[
        "a: \u{200b}\n",
        "a: x\u{202e}y\n",
        "a: ß\u{301}\n",
        "a: 'é'\n",
    ]);
}
