//! Robustness of the static half: hostile or damaged plan text must give diagnostics, never a
//! panic or a hang. Deterministic mutations (fixed seed) of every shipped plan and fixture go
//! through load + validate + graph + the human renderer in-process; explicit cases cover an
//! alias bomb, very deep nesting, a file over the size limit and bytes that are not UTF-8.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use runbook::plan::loader;
use runbook::plan::source::SourceFile;

use crate::harness::root;

/// Mutations per seed corpus pass; two passes run as separate tests (they run in parallel).
const ROUNDS: usize = 2_500;

fn corpus() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in ["plans", "tests/fixtures"] {
        walk(&root().join(dir), &mut files);
    }
    files.sort();
    let corpus: Vec<_> = files
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect();
    assert!(corpus.len() >= 3, "no plans found to mutate");
    corpus
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

/// Loads text the way `runbook validate` does, renders its diagnostics, and fails the test
/// on a panic (with the input, so it can be reproduced). Speed is the benchmarks' business:
/// a wall-clock bound here failed on a loaded machine and passed a slow loader on a fast one.
fn must_not_panic(name: &str, text: String) -> runbook::plan::loader::Loaded {
    let shown = text.chars().take(2_000).collect::<String>();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let loaded = loader::load_source(SourceFile::new(name, text));
        // The renderer slices the text at every span: a bad span would panic here.
        let _ = runbook::cli::diagnostics_output::human(&[loaded.diagnostics()], false, 100);
        loaded
    }));
    match outcome {
        Ok(loaded) => loaded,
        Err(_) => panic!("{name}: load panicked; input starts:\n{shown}"),
    }
}

fn char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One random damage to `text`.
fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut t = text.to_string();
    if t.is_empty() {
        return "{".into();
    }
    let at = char_boundary(&t, rng.usize(..=t.len()));
    let lines: Vec<&str> = text.lines().collect();
    match rng.u8(..10) {
        // Byte flip: replace one character by a random ASCII one (keeps UTF-8).
        0 => {
            let end = t[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            let c = char::from(rng.u8(0x20..0x7f));
            t.replace_range(at..end, &c.to_string());
        }
        1 => t.truncate(at),
        // Duplicate a line (duplicate keys, repeated steps).
        2 if !lines.is_empty() => {
            let i = rng.usize(..lines.len());
            let mut v = lines.clone();
            v.insert(i, lines[i]);
            t = v.join("\n");
        }
        // Re-indent a line.
        3 if !lines.is_empty() => {
            let i = rng.usize(..lines.len());
            let indent = " ".repeat(rng.usize(0..12));
            let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            v[i] = format!("{indent}{}", v[i].trim_start());
            t = v.join("\n");
        }
        4 => t.insert_str(
            at,
            ["*a", "&a ", "*a ", "&a *a", "<<: *a\n"][rng.usize(..5)],
        ),
        5 => t.insert_str(
            at,
            ["é", "\u{200b}", "💥", "\u{202e}", "ß\u{301}", "\0", "\t"][rng.usize(..7)],
        ),
        // Deep nesting, flow or block.
        6 => {
            let n = rng.usize(1..200);
            let s = if rng.bool() {
                format!("{}x{}", "[".repeat(n), "]".repeat(n))
            } else {
                format!("{}x", "{a: ".repeat(n))
            };
            t.insert_str(at, &s);
        }
        // Template and jq damage where the plans are most delicate.
        7 => t.insert_str(
            at,
            ["{{", "}}", "{{#if x}}", "$steps[", "| .", "\"", "'"][rng.usize(..7)],
        ),
        // Swap two lines.
        8 if lines.len() > 1 => {
            let (i, j) = (rng.usize(..lines.len()), rng.usize(..lines.len()));
            let mut v = lines.clone();
            v.swap(i, j);
            t = v.join("\n");
        }
        // Delete a range.
        _ => {
            let end = char_boundary(&t, at + rng.usize(0..200));
            t.replace_range(at..end, "");
        }
    }
    t
}

fn fuzz_pass(seed: u64) {
    let corpus = corpus();
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    for round in 0..ROUNDS {
        let (path, text) = &corpus[rng.usize(..corpus.len())];
        let mut t = text.clone();
        for _ in 0..rng.usize(1..4) {
            t = mutate(&mut rng, &t);
        }
        let name = format!("{} (seed {seed}, round {round})", path.display());
        must_not_panic(&name, t);
    }
    eprintln!(
        "fuzz seed {seed}: {ROUNDS} mutated plans in {:?}",
        started.elapsed()
    );
}

#[test]
fn mutated_plans_never_panic_seed_1() {
    fuzz_pass(0x5eed_0001);
}

#[test]
fn mutated_plans_never_panic_seed_2() {
    fuzz_pass(0x5eed_0002);
}

/// The first error's message, for asserting that a hostile input is explained.
fn first_error(loaded: &runbook::plan::loader::Loaded) -> String {
    loaded
        .validated
        .diagnostics
        .iter()
        .find(|d| d.is_error())
        .map(|d| d.message.clone())
        .unwrap_or_default()
}

/// The CLI's main thread has an 8 MiB stack; test threads have 2 MiB. Run the deep inputs
/// with the CLI's stack so a stack overflow (which aborts, uncatchable) means a real bug.
fn on_cli_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("thread")
}

#[test]
fn alias_bomb_is_refused_with_a_diagnostic() {
    let mut text = String::from("apiVersion: runbook/v1\nkind: Plan\nname: lol\n");
    text.push_str("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text.push_str("steps: *a9\n");
    let loaded = on_cli_stack(move || must_not_panic("alias-bomb.yaml", text));
    let e = first_error(&loaded);
    assert!(e.contains("alias"), "{e}");
    // Terminating is not enough: the answer must be bounded too (no time bound: a loaded
    // machine is slow, never wrong; a hang shows as the harness's timeout).
    let diagnostics = &loaded.validated.diagnostics;
    assert!(diagnostics.len() <= 10, "{} diagnostics", diagnostics.len());
    let shown = runbook::cli::diagnostics_output::human(&[loaded.diagnostics()], false, 100);
    assert!(shown.len() < 20_000, "{} bytes of diagnostics", shown.len());
}

#[test]
fn ten_thousand_levels_of_nesting_are_refused() {
    let flow = format!(
        "apiVersion: runbook/v1\nsteps: {}1{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let map = format!("steps: {}1{}\n", "{a: ".repeat(10_000), "}".repeat(10_000));
    // Block style: 10k levels would be 100 MB of indentation; 2k levels say the same.
    let block: String = (0..2_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    for (name, text) in [
        ("flow.yaml", flow),
        ("map.yaml", map),
        ("block.yaml", block),
    ] {
        let loaded = on_cli_stack(move || must_not_panic(name, text));
        let e = first_error(&loaded);
        assert!(e.contains("nests deeper"), "{name}: {e}");
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.yaml");
    // Sparse: no 64 MiB actually written, and the loader must not read it.
    let f = std::fs::File::create(&path).expect("create");
    f.set_len(runbook::plan::yaml::MAX_FILE_BYTES as u64 + 1)
        .expect("set_len");
    match loader::load(&path) {
        Err(e @ loader::LoadError::TooLarge { .. }) => {
            assert!(e.to_string().contains("limited to"), "{e}");
        }
        Err(e) => panic!("expected TooLarge, got {e}"),
        Ok(_) => panic!("a file over the limit was accepted"),
    }
    // Text over the limit that reached the parser some other way is refused there too.
    let text = "#".repeat(runbook::plan::yaml::MAX_FILE_BYTES + 1);
    let e = runbook::plan::yaml::parse(&text).expect_err("over the limit");
    assert!(e.message.contains("limit"), "{e}");
}

#[test]
fn bytes_that_are_not_utf8_are_refused_with_the_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"apiVersion: runbook/v1\nname: caf\xe9\n").expect("write");
    match loader::load(&path) {
        Err(loader::LoadError::NotUtf8 { offset, .. }) => assert_eq!(offset, 32),
        Err(e) => panic!("expected NotUtf8, got {e}"),
        Ok(_) => panic!("non-UTF-8 bytes were accepted"),
    }
}

/// Deep nesting inside strings (a jq condition, a template) and a diagnostic on a very long
/// line: refused or reported quickly, never a stack overflow or a renderer that hangs.
#[test]
fn deep_expressions_and_huge_lines_get_diagnostics() {
    let head = "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  t: {http: {url: \"http://127.0.0.1:1\"}}\nsteps:\n";
    let jq = format!(
        "{head}  - id: s\n    http: {{target: t, path: /x}}\n    check: '{}1{}'\n",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let template = format!(
        "{head}  - id: s\n    http: {{target: t, path: \"/{}x{}\"}}\n",
        "{{#if run.id}}".repeat(5_000),
        "{{/if}}".repeat(5_000)
    );
    let long_line = format!(
        "{head}  - id: s\n    http: {{target: t, path: \"/{}{{{{params.nope}}}}\"}}\n",
        "a".repeat(200_000)
    );
    for (name, text, expect) in [
        ("jq.yaml", jq, "nested more than"),
        ("template.yaml", template, "nested more than"),
        ("long.yaml", long_line, "nope"),
    ] {
        let loaded = must_not_panic(name, text);
        let e = first_error(&loaded);
        assert!(e.contains(expect), "{name}: {e}");
        let shown = runbook::cli::diagnostics_output::human(&[loaded.diagnostics()], false, 100);
        assert!(
            shown.len() < 20_000,
            "{name}: {} bytes of diagnostics",
            shown.len()
        );
    }
}
