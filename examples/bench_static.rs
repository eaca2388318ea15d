//! bench_static: how long the static half takes on large plans. Generates synthetic plans in
//! memory (1k, 10k and 100k steps; a wide shape and a deep shape) with realistic step content
//! and measures YAML parsing (with spans), validation and graph building through the same
//! library calls `runbook validate` uses. It prints a table; it asserts nothing, so a slow
//! machine gives slow figures rather than a failure.
//!
//! `cargo run --release --example bench_static [-- --quick]` (`--quick`: 1k and 10k only;
//! `--only wide:10000`: one row; `--emit deep:1000`: print that plan instead; a third part,
//! `wide:10000:distinct`, makes every `check` a different jq expression).
//!
//! Each row runs in a child process, so its peak RSS is its own. Each iteration runs on a
//! fresh thread: the jq compile cache is thread-local, and the CLI validates a plan once per
//! process, so a warm cache would flatter the figures.

use std::fmt::Write as _;
use std::time::Instant;

use runbook::plan::graph::{StepGraph, resolve_needs};
use runbook::plan::source::SourceFile;
use runbook::plan::validate::validate;

// The allocator of the `runbook` binary, so the figures are those of `runbook validate`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use runbook::plan::yaml;

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Many independent steps in a few levels (5), each needing one or two of the level above.
    Wide,
    /// Chains of 100 steps; every 10th step also needs a step of the neighbouring chain.
    Deep,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Wide => "wide",
            Shape::Deep => "deep",
        }
    }
}

const LEVELS: usize = 5;
const CHAIN: usize = 100;

/// The `needs` of step `i` and one further ancestor (a need of a need) whose output it reads.
fn needs_of(shape: Shape, n: usize, i: usize) -> (Vec<usize>, Option<usize>) {
    match shape {
        Shape::Wide => {
            let per = n.div_ceil(LEVELS);
            let level = i / per;
            if level == 0 {
                return (Vec::new(), None);
            }
            let above = (level - 1) * per;
            // Two parents of the level above, spread deterministically.
            let a = above + (i * 7919) % per;
            let b = above + (i * 104_729 + 13) % per;
            let needs = if a == b || i.is_multiple_of(3) {
                vec![a]
            } else {
                vec![a, b]
            };
            let grand = needs_of(shape, n, needs[0]).0.first().copied();
            (needs, grand)
        }
        Shape::Deep => {
            let pos = i % CHAIN;
            if pos == 0 {
                return (Vec::new(), None);
            }
            let mut needs = vec![i - 1];
            let chain = i / CHAIN;
            if pos.is_multiple_of(10) && chain > 0 {
                // Fan-in from the previous chain, a few positions earlier.
                needs.push((chain - 1) * CHAIN + pos - 3);
            }
            // Read an output of the step five places up the chain.
            let grand = (pos >= 5).then(|| i - 5);
            (needs, grand)
        }
    }
}

fn plan_text(shape: Shape, n: usize) -> String {
    let mut t = String::with_capacity(n * 600);
    t.push_str(
        "apiVersion: runbook/v1\nkind: Plan\nname: synthetic\n\
         params:\n  x: { default: tenant-a }\n  base_url: { type: url, default: http://127.0.0.1:1 }\n\
         \x20 token: { default: t, secret: true }\n\
         targets:\n  api:\n    http:\n      url: \"{{params.base_url}}\"\n      \
         headers: { Authorization: \"Bearer {{params.token}}\" }\n      timeout: 30s\nsteps:\n",
    );
    for i in 0..n {
        let (needs, grand) = needs_of(shape, n, i);
        let _ = writeln!(t, "  - id: step-{i}");
        let _ = writeln!(
            t,
            "    description: Synthetic step {i} of a {} plan.",
            shape.name()
        );
        if !needs.is_empty() {
            let list: Vec<String> = needs.iter().map(|d| format!("step-{d}")).collect();
            let _ = writeln!(t, "    needs: [{}]", list.join(", "));
        }
        let _ = writeln!(t, "    http:\n      target: api\n      method: POST");
        match needs.first() {
            Some(p) => {
                let _ = writeln!(
                    t,
                    "      path: \"/items/{{{{params.x}}}}/{{{{steps.step-{p}.outputs.y}}}}\""
                );
            }
            None => {
                let _ = writeln!(t, "      path: \"/items/{{{{params.x}}}}/{i}\"");
            }
        }
        let _ = writeln!(t, "      query: {{ page: \"{}\" }}", i % 17);
        match grand {
            Some(g) => {
                let _ = writeln!(
                    t,
                    "      json: {{ origin: \"{{{{steps.step-{g}.outputs.y}}}}\", n: {i} }}"
                );
            }
            None => {
                let _ = writeln!(t, "      json: {{ n: {i} }}");
            }
        }
        // A check from a pool of 50 shapes: generated plans repeat their conditions, and
        // the jq compile cache is keyed by text (a row below measures all-distinct checks).
        let _ = writeln!(
            t,
            "    check: '.status == 200 and (.body.items | length) >= {}'",
            i % 50
        );
        let _ = writeln!(
            t,
            "    retry: {{ attempts: 3, backoff: {{ initial: 1s, max: 10s }} }}\n    timeout: 30s"
        );
        let _ = writeln!(
            t,
            "    outputs:\n      y: .body.id\n      count: .body.items | length"
        );
    }
    t
}

/// Figures of one iteration, in seconds.
#[derive(Clone, Copy, Default)]
struct Phases {
    parse: f64,
    validate: f64,
    graph: f64,
}

fn iteration(text: &SourceFile, steps: usize) -> Phases {
    let t0 = Instant::now();
    let root = match yaml::parse(text.text()) {
        Ok(r) => r,
        Err(e) => panic!("synthetic plan does not parse: {e}"),
    };
    let t1 = Instant::now();
    // `validate` builds both graphs itself (cycle check, stages) and checks every
    // reference against them; the separate graph figure below rebuilds the main graph alone
    // so its share is visible.
    let v = validate(text, root);
    let t2 = Instant::now();
    let plan = match v.plan {
        Some(p) => p,
        None => panic!(
            "synthetic plan is invalid: {:?}",
            v.diagnostics.first().map(|d| &d.message)
        ),
    };
    assert_eq!(plan.steps.len(), steps);
    let t3 = Instant::now();
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    let graph = StepGraph::build(&ids, resolve_needs(&plan.steps)).ok();
    let t4 = Instant::now();
    assert!(graph.is_some_and(|g| g.len() == steps));
    Phases {
        parse: (t1 - t0).as_secs_f64(),
        validate: (t2 - t1).as_secs_f64(),
        graph: (t4 - t3).as_secs_f64(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak resident set of this process (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets VmHWM (Linux >= 4.0) so a row's peak leaves out building its plan text; harmless
/// where unsupported.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn row(label: &str, shape: &str, steps: usize, text: &SourceFile, iters: usize) {
    reset_peak_rss();
    let runs: Vec<Phases> = (0..iters)
        .map(|_| {
            let text = text.clone();
            std::thread::scope(|s| {
                // A big stack: the YAML visitor and validation recurse over the document.
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn_scoped(s, move || iteration(&text, steps))
                    .expect("spawn")
                    .join()
                    .expect("iteration panicked")
            })
        })
        .collect();
    let parse = median(runs.iter().map(|p| p.parse).collect());
    let val = median(runs.iter().map(|p| p.validate).collect());
    let graph = median(runs.iter().map(|p| p.graph).collect());
    let total = median(runs.iter().map(|p| p.parse + p.validate).collect());
    let ms = |s: f64| s * 1e3;
    let us_step = |s: f64| s * 1e6 / steps as f64;
    let rss = peak_rss_mib().map_or("?".into(), |m| format!("{m:.0}"));
    println!(
        "| {label:<5} | {shape:<14} | {steps:>7} | {:>8.1} | {:>8.1} | {:>7.1} | {:>8.1} | {:>10.2} | {:>8} |",
        ms(parse),
        ms(val),
        ms(graph),
        ms(total),
        us_step(total),
        rss
    );
}

/// A benchmark row: `wide:10000`, `deep:1000`, or `wide:10000:distinct` (every `check` a
/// different jq expression).
struct Spec {
    shape: Shape,
    steps: usize,
    distinct: bool,
}

impl Spec {
    fn parse(spec: &str) -> Self {
        let mut parts = spec.split(':');
        let shape = match parts.next() {
            Some("deep") => Shape::Deep,
            _ => Shape::Wide,
        };
        let steps = parts.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
        let distinct = parts.next() == Some("distinct");
        Self {
            shape,
            steps,
            distinct,
        }
    }

    fn variant(&self) -> &'static str {
        if self.distinct {
            "distinct jq"
        } else {
            "50 jq shapes"
        }
    }

    fn text(&self) -> String {
        if self.distinct {
            distinct_text(self.shape, self.steps)
        } else {
            plan_text(self.shape, self.steps)
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let flag = |name: &str| {
        let at = args.iter().position(|a| a == name)?;
        args.get(at + 1).map(|s| Spec::parse(s))
    };
    // `--emit wide:10000`: print the synthetic plan, to profile `runbook validate` on it.
    if let Some(spec) = flag("--emit") {
        print!("{}", spec.text());
        return;
    }
    // `--only wide:10000`: one row in this process, for profiling; the full table runs each
    // row this way in a child of its own.
    if let Some(spec) = flag("--only") {
        let text = SourceFile::new("synthetic.yaml", spec.text());
        let n = spec.steps;
        row(spec.shape.name(), spec.variant(), n, &text, iterations(n));
        return;
    }
    let sizes: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    println!("runbook static benchmark: median of several iterations, each on a fresh thread;");
    println!("each row runs in a process of its own, so its peak RSS is its own");
    println!(
        "(parse = YAML with spans; validate = checks + both graphs + references; graph = main"
    );
    println!(" graph rebuilt alone; total = parse + validate, what `runbook validate` spends)\n");
    println!(
        "| shape | variant        |   steps | parse ms | valid ms | graph ms | total ms | µs/step    | peak MiB |"
    );
    println!(
        "|-------|----------------|--------:|---------:|---------:|---------:|---------:|-----------:|---------:|"
    );
    let mut specs: Vec<String> = Vec::new();
    for shape in ["wide", "deep"] {
        specs.extend(sizes.iter().map(|n| format!("{shape}:{n}")));
    }
    // Worst case for jq: every check is a different expression.
    specs.push("wide:10000:distinct".into());
    let me = std::env::current_exe().expect("the benchmark's own path");
    for spec in specs {
        let out = std::process::Command::new(&me)
            .args(["--only", &spec])
            .output()
            .expect("run a benchmark row");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1);
        }
    }
}

/// Iterations per row: enough for a stable median, few for the big plans.
fn iterations(n: usize) -> usize {
    match n {
        0..=1_000 => 15,
        1_001..=10_000 => 7,
        _ => 3,
    }
}

/// The plan with every `check` a different jq expression.
fn distinct_text(shape: Shape, n: usize) -> String {
    let mut i = 0;
    plan_text(shape, n)
        .lines()
        .map(|l| {
            if l.starts_with("    check: ") {
                i += 1;
                format!("    check: '.status == 200 and .body.n != {i}'\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}
