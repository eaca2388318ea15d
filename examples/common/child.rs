//! common/child: measuring a child process from the benchmarks: wall time, CPU seconds
//! (user + sys, from this process's waited-for children in /proc/self/stat) and peak RSS
//! (its VmHWM, polled while it runs). Linux only; it starts and waits, nothing else.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// user + sys seconds of the waited-for children of this process (/proc/self/stat fields
/// 16 and 17), so the figure covers the `runbook` process alone.
fn children_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): cutime is field 16, cstime field 17.
    let ticks: f64 = [13, 14]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// VmHWM of a live process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The result of running the binary.
pub struct Measured {
    pub wall: Duration,
    /// The run itself as the journal's `run_finished` records it (after load and validate).
    pub run: Option<Duration>,
    pub cpu: f64,
    pub peak_kib: u64,
    pub exit: Option<i32>,
}

/// Runs `runbook run` and polls its peak RSS until it exits. VmHWM only grows, so a poll
/// every 2 ms misses at most what the last 2 ms added.
/// `watch` is called at every poll (every 2 ms), e.g. to timestamp journal lines as they land.
pub fn run_binary(
    bin: &Path,
    args: &[String],
    state_dir: &Path,
    log: &Path,
    watch: &mut dyn FnMut(),
) -> Measured {
    let cpu_before = children_cpu_seconds();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).map_or_else(|_| Stdio::null(), Stdio::from))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(k) = vm_hwm_kib(pid) {
            peak = peak.max(k);
        }
        watch();
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("wait: {e}"),
        }
    };
    let wall = started.elapsed();
    Measured {
        wall,
        run: journal_duration(state_dir),
        cpu: children_cpu_seconds() - cpu_before,
        peak_kib: peak,
        exit: status.code(),
    }
}

/// `duration_ms` of the last `run_finished` event of the one run under `state_dir`.
pub fn journal_duration(state_dir: &Path) -> Option<Duration> {
    let runs = std::fs::read_dir(state_dir.join("runs")).ok()?;
    let dir = runs.filter_map(Result::ok).next()?.path();
    let text = std::fs::read_to_string(dir.join("journal.jsonl")).ok()?;
    text.lines().rev().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        if v["event"] != "run_finished" {
            return None;
        }
        v["duration_ms"].as_u64().map(Duration::from_millis)
    })
}

pub fn release_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/examples/<bench> -> target/release/runbook
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("runbook"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` first",
        bin.display()
    );
    bin
}

/// Prints the last lines of a log file (after a failed run).
pub fn print_tail(log: &Path, lines: usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(lines).collect();
    for l in tail.into_iter().rev() {
        eprintln!("  {l}");
    }
}
