//! Randomized differential tests (fixed seeds, bounded): damaged pieces of the shipped plans
//! and small generated YAML-ish texts. The subset reader must never panic, and whenever it
//! answers, the full reader must accept the text and agree exactly.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use super::generate::Gen;
use super::same;

const MUTATED: usize = 10_000;
const GENERATED: usize = 10_000;

/// Checks one text; returns whether the subset reader answered.
fn check(text: &str) -> bool {
    match catch_unwind(AssertUnwindSafe(|| same(text))) {
        Ok(answered) => answered,
        Err(e) => {
            let why = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("panic");
            panic!("{why}\ninput: {text:?}")
        }
    }
}

fn corpus() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for dir in [
        "plans/camunda",
        "tests/fixtures/valid",
        "tests/fixtures/invalid",
    ] {
        let entries = std::fs::read_dir(root.join(dir)).expect("corpus directory");
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                texts.push(text);
            }
        }
    }
    texts.sort();
    assert!(texts.len() >= 5, "no corpus");
    texts
}

/// A run of whole lines of `text` (the full reader is slow in debug builds; pieces keep the
/// test fast and still cover every construct).
fn piece(rng: &mut fastrand::Rng, text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = rng.usize(..lines.len());
    let len = rng.usize(1..60);
    let end = (start + len).min(lines.len());
    let mut out = lines[start..end].join("\n");
    if rng.u8(..4) != 0 {
        out.push('\n');
    }
    out
}

fn char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

const INSERTS: &[&str] = &[
    ":", ": ", "-", "- ", "#", " #", "'", "\"", "''", "[", "]", "{", "}", ",", " ", "  ", "\n",
    "\n  ", "|", ">-", "|+", "&a ", "*a", "!t ", "? ", "%", "\\", "\\u00e9", "\t", "\r\n", "---\n",
    "...", "~", "null", "1e3", "0x1F", "007", "-.5", "é", "💥", "\u{a0}", "\u{2028}", "<<: ",
];

/// One random damage to `text`.
fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut t = text.to_string();
    if t.is_empty() {
        return "a: 1\n".into();
    }
    let at = char_boundary(&t, rng.usize(..=t.len()));
    let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
    let line = rng.usize(..lines.len().max(1));
    match rng.u8(..9) {
        0 => {
            let end = char_boundary(&t, at + rng.usize(1..4));
            t.replace_range(at..end, "");
        }
        1 => t.insert_str(at, INSERTS[rng.usize(..INSERTS.len())]),
        2 => {
            let c = char::from(rng.u8(0x20..0x7f));
            let end = t[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            t.replace_range(at..end, &c.to_string());
        }
        3 if !lines.is_empty() => {
            let indent = rng.usize(0..9);
            lines[line] = format!("{}{}", " ".repeat(indent), lines[line].trim_start());
            t = lines.join("\n");
        }
        4 if !lines.is_empty() => {
            let copy = lines[line].clone();
            lines.insert(rng.usize(..=lines.len()), copy);
            t = lines.join("\n");
        }
        5 if lines.len() > 1 => {
            let other = rng.usize(..lines.len());
            lines.swap(line, other);
            t = lines.join("\n");
        }
        6 if !lines.is_empty() => {
            lines.remove(line);
            t = lines.join("\n");
        }
        7 => {
            let b = char_boundary(&t, rng.usize(..=t.len()));
            let (x, y) = (at.min(b), at.max(b));
            let chunk = t[x..char_boundary(&t, y.min(x + 40))].to_string();
            t.insert_str(char_boundary(&t, rng.usize(..=t.len())), &chunk);
        }
        _ => {
            // Shift a line by one space either way: the classic indentation error.
            if let Some(l) = lines.get_mut(line) {
                if rng.bool() {
                    l.insert(0, ' ');
                } else if l.starts_with(' ') {
                    l.remove(0);
                }
            }
            t = lines.join("\n");
        }
    }
    t
}

#[test]
fn mutated_plans_read_alike_or_fall_back() {
    let corpus = corpus();
    let mut rng = fastrand::Rng::with_seed(0x5ab5e7);
    let mut answered = 0;
    for _ in 0..MUTATED {
        let text = &corpus[rng.usize(..corpus.len())];
        let mut t = piece(&mut rng, text);
        for _ in 0..rng.usize(0..4) {
            t = mutate(&mut rng, &t);
        }
        answered += usize::from(check(&t));
    }
    eprintln!("mutated: the subset reader answered {answered} of {MUTATED}");
    // Not vacuous: many damaged pieces are still valid YAML inside the subset.
    assert!(
        answered > MUTATED / 5,
        "answered only {answered} of {MUTATED}"
    );
}

#[test]
fn generated_documents_read_alike_or_fall_back() {
    let mut rng = fastrand::Rng::with_seed(0x6e7e7a7e);
    let mut answered = 0;
    for _ in 0..GENERATED {
        let mut t = String::new();
        if rng.u8(..8) == 0 {
            t.push_str("---\n");
        }
        let indent = rng.usize(0..2);
        let mut generator = Gen::new(&mut rng);
        generator.out = t;
        generator.block(indent, 0);
        t = generator.out;
        if rng.u8(..4) == 0 {
            t = mutate(&mut rng, &t);
        }
        answered += usize::from(check(&t));
    }
    eprintln!("generated: the subset reader answered {answered} of {GENERATED}");
    assert!(
        answered > GENERATED / 5,
        "answered only {answered} of {GENERATED}"
    );
}
