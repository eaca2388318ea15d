//! bench_window: how long the shipped Camunda 8.8 backup plan keeps exporting paused, against
//! the ideal. Starts the built-in simulator in this process with fixed request latencies per
//! component and fixed backup durations, runs `plans/camunda/backup-8.8.yaml` through the
//! release binary with the simulator's values file, and times the paused window from the
//! journal: `soft-pause-exporting` started -> `resume-exporting` succeeded, each stamped when
//! its line lands in `journal.jsonl` (events are synced before they are acknowledged, and the
//! journal is read every 2 ms). The simulator's own record of the pause is shown beside it.
//!
//! The ideal is the critical path computed from the configured figures. Waits poll with an
//! adaptive interval (first poll at once, then `interval`, growing by half up to
//! `max_interval` but never past 2 % of the time waited), so two ideals are shown: the continuous one (a wait ends the instant the
//! backup completes) and the one a perfect engine reaches with the plan's poll schedule.
//! The plan runs twice: as shipped (`interval: 100ms`), and with its waits starting at 250 ms.
//!
//! `cargo build --release && cargo run --release --example bench_window` (about 45 s).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use runbook_sim::faults::EndpointFault;
use runbook_sim::{Scenario, SimConfig, Timing};

#[path = "common/child.rs"]
mod child;

/// Request latency of each component, ms (a production management API on a busy cluster).
const LAT_ORCHESTRATION: u64 = 40;
const LAT_OPTIMIZE: u64 = 40;
const LAT_DATASTORE: u64 = 60;
/// One snapshot (a web-app part, an Optimize part, the zeebe-record snapshot), ms.
const SNAPSHOT_PART: u64 = 1_500;
/// Web-app parts, taken one after the other (8.8).
const WEBAPP_PARTS: u64 = 5;
/// The Zeebe partition backup, ms.
const ZEEBE_BACKUP: u64 = 4_000;

/// When a wait that starts now ends, if the backup completes `remaining` ms from now and each
/// poll is held `lat` ms before the server reads the state: first poll at once, then after
/// `interval`, growing by half up to `max`.
fn polled_wait(remaining: f64, lat: f64, interval: f64, max: f64) -> f64 {
    let (mut sent, mut iv) = (0.0, interval);
    loop {
        let read = sent + lat;
        if read >= remaining {
            return read;
        }
        sent = read + iv;
        // runbook's schedule (step_runner::next_interval): grow by half, up to `max`, but
        // never past 2 % of the time waited so far, nor below the first interval.
        iv = (iv * 1.5).min(max).min((read * 0.02).max(interval));
    }
}

/// The plan's critical path (soft pause started -> resume finished), ms. `wait` gives how long
/// a wait lasts for (remaining, latency).
fn critical_path(wait: &dyn Fn(f64, f64) -> f64) -> f64 {
    let (lo, lp, ld) = (
        LAT_ORCHESTRATION as f64,
        LAT_OPTIMIZE as f64,
        LAT_DATASTORE as f64,
    );
    let part = SNAPSHOT_PART as f64;
    // soft pause; the web-app backup starts when its POST is served.
    let webapps_started = lo + lo;
    let webapps_seen = webapps_started + wait(WEBAPP_PARTS as f64 * part, lo);
    // Optimize in parallel: both parts at once.
    let optimize_started = lo + lp;
    let optimize_seen = optimize_started + wait(part, lp);
    let joined = webapps_seen.max(optimize_seen);
    // zeebe-record snapshot with wait_for_completion, its verification, the Zeebe backup.
    let zeebe_started = joined + (ld + part) + ld + lo;
    let zeebe_seen = zeebe_started + wait(ZEEBE_BACKUP as f64, lo);
    // resume exporting.
    zeebe_seen + lo
}

fn scenario() -> Scenario {
    let latency = |component: &str, ms: u64| EndpointFault {
        component: component.to_string(),
        latency_ms: Some(ms),
        ..EndpointFault::default()
    };
    Scenario {
        faults: vec![
            latency("orchestration", LAT_ORCHESTRATION),
            latency("optimize", LAT_OPTIMIZE),
            latency("datastore", LAT_DATASTORE),
        ],
        ..Scenario::default()
    }
}

/// Timestamps of journal lines as they appear.
struct JournalTail {
    state_dir: PathBuf,
    read: usize,
    pause_started: Option<Instant>,
    resume_done: Option<Instant>,
}

impl JournalTail {
    fn poll(&mut self) {
        let Some(path) = std::fs::read_dir(self.state_dir.join("runs"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.path().join("journal.jsonl"))
        else {
            return;
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let now = Instant::now();
        let fresh = text.get(self.read..).unwrap_or("");
        // Only whole lines; a partial last line is read again next time.
        let Some(end) = fresh.rfind('\n') else {
            return;
        };
        for line in fresh[..end].lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            match (v["event"].as_str(), v["id"].as_str()) {
                (Some("step_started"), Some("soft-pause-exporting")) => {
                    self.pause_started.get_or_insert(now);
                }
                (Some("step_succeeded"), Some("resume-exporting")) => {
                    self.resume_done = Some(now);
                }
                _ => {}
            }
        }
        self.read += end + 1;
    }
}

struct Row {
    label: &'static str,
    window: Option<Duration>,
    sim_window: Option<f64>,
    ideal: f64,
    ideal_polled: f64,
    /// The whole process (start to exit) and the run as the journal records it.
    wall: Duration,
    run: Option<Duration>,
    cpu: f64,
    peak_kib: u64,
    exit: Option<i32>,
}

fn run_variant(
    bin: &Path,
    plan_text: &str,
    label: &'static str,
    interval: f64,
    max_interval: f64,
) -> Row {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let config = SimConfig {
        scenario: scenario(),
        state_dir: tmp.path().join("sim"),
        timing: Timing {
            snapshot_part_ms: SNAPSHOT_PART,
            zeebe_backup_ms: ZEEBE_BACKUP,
            ..Timing::default()
        },
        ..SimConfig::default()
    };
    let handle = rt
        .block_on(runbook_sim::start(config))
        .unwrap_or_else(|e| panic!("simulator: {e}"));
    let values = tmp.path().join("values.yaml");
    let values_text = handle.values_yaml();
    std::fs::write(&values, &values_text).expect("write values");
    let plan = tmp.path().join("backup-8.8.yaml");
    std::fs::write(&plan, plan_text).expect("write plan");
    let state = tmp.path().join("state");
    let log = tmp.path().join("run.log");
    let args: Vec<String> = [
        "run",
        plan.to_str().expect("utf-8"),
        "-f",
        values.to_str().expect("utf-8"),
        "--state-dir",
        state.to_str().expect("utf-8"),
        "--log-format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut tail = JournalTail {
        state_dir: state.clone(),
        read: 0,
        pause_started: None,
        resume_done: None,
    };
    let m = child::run_binary(bin, &args, &state, &log, &mut || tail.poll());
    tail.poll();
    if m.exit != Some(0) {
        eprintln!("runbook exited with {:?}; last log lines:", m.exit);
        child::print_tail(&log, 20);
    }
    let sim_url = values_text
        .lines()
        .find_map(|l| l.strip_prefix("sim_url: "))
        .map(|u| u.trim_matches(|c| c == '"' || c == '\'').to_string());
    let sim_window = sim_url.and_then(|u| rt.block_on(sim_paused_ms(&u)));
    rt.block_on(handle.shutdown());
    Row {
        label,
        window: tail
            .pause_started
            .zip(tail.resume_done)
            .map(|(a, b)| b.saturating_duration_since(a)),
        sim_window,
        ideal: critical_path(&|remaining, lat| remaining.max(lat)),
        ideal_polled: critical_path(&|remaining, lat| {
            polled_wait(remaining, lat, interval, max_interval)
        }),
        wall: m.wall,
        run: m.run,
        cpu: m.cpu,
        peak_kib: m.peak_kib,
        exit: m.exit,
    }
}

/// The paused window as the simulator recorded it: first change away from `running` to the
/// next change back, ms.
async fn sim_paused_ms(sim_url: &str) -> Option<f64> {
    let v: serde_json::Value = reqwest::get(format!("{sim_url}/sim/exporting"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let history = v["history"].as_array()?;
    let paused = history.iter().find(|h| h["mode"] != "running")?;
    let start = paused["atMs"].as_f64()?;
    let resumed = history
        .iter()
        .find(|h| h["mode"] == "running" && h["atMs"].as_f64() >= Some(start))?;
    Some(resumed["atMs"].as_f64()? - start)
}

fn main() {
    let bin = child::release_binary();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("plans/camunda/backup-8.8.yaml"))
        .expect("read plans/camunda/backup-8.8.yaml");
    // The same plan with its waits' first interval at 250 ms, as it was before.
    let slower = shipped.replace("interval: 100ms", "interval: 250ms");
    let rows = [
        run_variant(&bin, &shipped, "shipped (interval 100ms)", 100.0, 5_000.0),
        run_variant(&bin, &slower, "waits from interval 250ms", 250.0, 5_000.0),
    ];
    println!(
        "backup window benchmark: plans/camunda/backup-8.8.yaml against the simulator\n\
         latency ms: orchestration {LAT_ORCHESTRATION}, optimize {LAT_OPTIMIZE}, datastore {LAT_DATASTORE}; \
         snapshot part {SNAPSHOT_PART} ms (web apps: {WEBAPP_PARTS} in a row), Zeebe backup {ZEEBE_BACKUP} ms\n"
    );
    println!(
        "| plan | window (journal) | window (simulator) | ideal | ideal with poll schedule | overhead vs ideal | engine overhead vs polled ideal | process wall / run | CPU | peak RSS | exit |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let w = r.window.map(|w| w.as_secs_f64() * 1e3);
        let pct = |ideal: f64| {
            w.map_or("?".into(), |w| {
                format!("{:+.2} %", (w / ideal - 1.0) * 100.0)
            })
        };
        println!(
            "| {} | {} | {} | {:.0} ms | {:.0} ms | {} | {} | {:.0} / {} ms | {:.2} s | {:.1} MiB | {:?} |",
            r.label,
            w.map_or("?".into(), |w| format!("{w:.0} ms")),
            r.sim_window.map_or("?".into(), |w| format!("{w:.0} ms")),
            r.ideal,
            r.ideal_polled,
            pct(r.ideal),
            pct(r.ideal_polled),
            r.wall.as_secs_f64() * 1e3,
            r.run.map_or("?".into(), |d| d.as_millis().to_string()),
            r.cpu,
            r.peak_kib as f64 / 1024.0,
            r.exit
        );
    }
}
