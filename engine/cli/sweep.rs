//! sweep: `runbook sweep`, the generated fault and crash sweeps of the shipped backup and
//! restore plans against the simulator. Nothing is hand-listed: a clean backup + restore is
//! run first and every distinct call class it made (see `sweep/classes.rs`) becomes rows:
//! - fault sweep: each class × each fault that applies to it ({HTTP 503, dropped connection}
//!   for product calls, {Kubernetes API 500, dropped connection} for kubectl calls), armed on
//!   the class's first call (`times: 1`; with `--persistent` also on every call from then on,
//!   with the plans' `wait_timeout` at 45 s so a wait on a faulted poll gives up in time);
//! - crash sweep: the restore's process group SIGKILLed as each of its steps starts (read from
//!   its journal), and while the second call of each repeated class is held in flight (inside
//!   a `for_each`, or a poll), then `runbook recover --resume --yes` with no params; once more
//!   inside the snapshot restore with the datastore password `camunda`, a word of every
//!   snapshot name.
//!
//! Each row runs in its own simulator and state directory (`--jobs` at once) and is judged by
//! `sweep/trial.rs`. Prints one line per row and a table; exit 0 only when every row passes.
//! It owns row generation, scheduling and printing; it must not judge a row itself.

mod classes;
mod sandbox;
mod trial;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::exit_code::Exit;

use clap::{Args, ValueEnum};
use futures::StreamExt;
use runbook_sim::Datastore;
use serde_json::json;

use crate::cli::fail;
use crate::cli::sim::{DatastoreArg, SimStartError, VersionArg};
use classes::{Call, Class, calls_before, classes};
use sandbox::{Sandbox, Setup};
use trial::{Armed, CrashPoint, FaultKind, Phase, Verdict, passes};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SweepKind {
    Fault,
    Crash,
    All,
}

#[derive(Args)]
pub struct SweepArgs {
    /// Which sweep.
    #[arg(long, value_enum, default_value = "all")]
    pub kind: SweepKind,
    /// Camunda versions (repeatable; default: 8.8 and 8.7).
    #[arg(long = "camunda-version", value_enum)]
    pub versions: Vec<VersionArg>,
    /// Datastores (repeatable; default: both).
    #[arg(long = "datastore", value_enum)]
    pub datastores: Vec<DatastoreArg>,
    /// Also a persistent variant of every fault row (retrying cannot help those).
    #[arg(long)]
    pub persistent: bool,
    /// Rows run at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Run every N-th generated row only (a deterministic sample, e.g. for `cargo test`).
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// Only rows whose call class contains this text.
    #[arg(long)]
    pub only: Option<String>,
    /// Sweep this backup plan instead of the shipped one (with one --camunda-version).
    #[arg(long, value_name = "FILE")]
    pub backup_plan: Option<PathBuf>,
    /// Sweep this restore plan instead of the shipped one (with one --camunda-version).
    #[arg(long, value_name = "FILE")]
    pub restore_plan: Option<PathBuf>,
    /// Where rows keep their simulator files and journals (failed rows' stay).
    #[arg(long, default_value = ".runbook/sweep")]
    pub state_dir: PathBuf,
    /// Write every row as JSON.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[arg(long, env = "RUNBOOK_KUBECTL", default_value = "kubectl")]
    pub kubectl: PathBuf,
}

/// The plans' `wait_timeout` in persistent rows (see `run_row`).
const PERSISTENT_WAIT_TIMEOUT: &str = "45s";

/// One generated row.
#[derive(Clone, Debug)]
struct Row {
    setup: usize,
    sweep: &'static str,
    /// The call class (fault rows, held crash rows) or `step <id>` (step-boundary crashes).
    class: String,
    phase: Phase,
    /// The fault (fault rows) or the held call (crash rows).
    armed: Armed,
    /// Where a crash row kills the restore (`None`: a fault row).
    crash: Option<CrashPoint>,
    /// Which call of its class is faulted or held (1-based).
    item: usize,
    persistent: bool,
    password: Option<&'static str>,
}

impl Row {
    fn fault_label(&self) -> String {
        let password = self
            .password
            .map(|p| format!(", password `{p}`"))
            .unwrap_or_default();
        match &self.crash {
            Some(CrashPoint::StepStart(_)) => format!("SIGKILL as the step starts{password}"),
            Some(CrashPoint::Held(_)) => {
                format!("SIGKILL while call {} is in flight{password}", self.item)
            }
            None => format!(
                "{}{}",
                self.armed.kind.label(),
                if self.persistent {
                    ", persistent"
                } else {
                    ", once"
                }
            ),
        }
    }
}

/// A finished row.
struct Done {
    row: Row,
    verdict: Verdict,
    pass: bool,
}

pub fn sweep(a: &SweepArgs) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return fail(SimStartError(format!("cannot find this binary: {e}"))),
    };
    let setups = setups(a, &exe);
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return fail(SimStartError("cannot start the async runtime".into()));
    };
    runtime.block_on(run_sweep(a, &setups))
}

fn setups(a: &SweepArgs, exe: &std::path::Path) -> Vec<Setup> {
    let versions = if a.versions.is_empty() {
        vec![VersionArg::V88, VersionArg::V87]
    } else {
        a.versions.clone()
    };
    let datastores = if a.datastores.is_empty() {
        vec![DatastoreArg::Elasticsearch, DatastoreArg::Opensearch]
    } else {
        a.datastores.clone()
    };
    let mut out = Vec::new();
    for v in &versions {
        for d in &datastores {
            let (backup_plan, restore_plan) = crate::cli::rehearse::default_plans(*v);
            out.push(Setup {
                version: v.version(),
                datastore: match d {
                    DatastoreArg::Elasticsearch => Datastore::Elasticsearch,
                    DatastoreArg::Opensearch => Datastore::OpenSearch,
                },
                exe: exe.to_path_buf(),
                kubectl: a.kubectl.clone(),
                backup_plan: a.backup_plan.clone().unwrap_or(backup_plan),
                restore_plan: a.restore_plan.clone().unwrap_or(restore_plan),
            });
        }
    }
    out
}

async fn run_sweep(a: &SweepArgs, setups: &[Setup]) -> ExitCode {
    let jobs = a.jobs.clamp(1, 32);
    // The clean runs every row is generated from, all setups at once.
    let baselines: Vec<_> = futures::stream::iter(setups.iter().enumerate())
        .map(|(i, s)| baseline(s, a.state_dir.join(format!("{i}-baseline"))))
        .buffered(jobs)
        .collect()
        .await;
    let mut rows = Vec::new();
    let mut broken = Vec::new();
    for (i, b) in baselines.into_iter().enumerate() {
        match b {
            Ok(b) => rows.extend(generate(a, i, &b)),
            Err(why) => broken.push(format!(
                "{}: the clean backup + restore failed: {why}",
                setups[i].label()
            )),
        }
    }
    if let Some(only) = &a.only
        && !rows.is_empty()
        && !rows.iter().any(|r| r.class.contains(only.as_str()))
    {
        // An empty table saying "0/0 rows passed" reads as a pass: a typo must not.
        eprintln!("{}", no_match(only, &rows));
        return ExitCode::from(Exit::Usage);
    }
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| a.only.as_ref().is_none_or(|o| r.class.contains(o.as_str())))
        .enumerate()
        .filter(|(i, _)| i % a.every.max(1) == 0)
        .map(|(_, r)| r)
        .collect();
    eprintln!("sweep: {} rows, {jobs} at a time", rows.len());
    let total = rows.len();
    let mut done: Vec<(usize, Done)> = futures::stream::iter(rows.into_iter().enumerate())
        .map(|(i, row)| {
            let dir = a.state_dir.join(format!("{}-row-{i}", row.setup));
            let setup = setups[row.setup].clone();
            async move { (i, run_row(&setup, row, dir).await) }
        })
        .buffer_unordered(jobs)
        .inspect(|(i, d)| {
            eprintln!(
                "[{}/{total}] {} {} {} {} | {}: {}",
                i + 1,
                setups[d.row.setup].label(),
                d.row.sweep,
                d.row.class,
                d.row.fault_label(),
                if d.pass { "pass" } else { "FAIL" },
                describe(&d.verdict)
            );
        })
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    let done: Vec<Done> = done.into_iter().map(|(_, d)| d).collect();
    print_table(setups, &done, &broken);
    if let Some(path) = &a.report {
        write_report(path, setups, &done, &broken);
    }
    if broken.is_empty() && done.iter().all(|d| d.pass) {
        ExitCode::from(Exit::Ok)
    } else {
        ExitCode::from(Exit::Failed)
    }
}

/// The error for an `--only` that matches no generated row: names every class there is.
fn no_match(only: &str, rows: &[Row]) -> String {
    let mut known: Vec<&str> = rows.iter().map(|r| r.class.as_str()).collect();
    known.sort_unstable();
    known.dedup();
    format!(
        "error: --only `{only}` matches no row of this sweep; the call classes are:\n  {}",
        known.join("\n  ")
    )
}

/// The calls of the clean backup and restore, and the restore's main steps in start order.
struct Baseline {
    backup: Vec<Call>,
    restore: Vec<Call>,
    restore_steps: Vec<String>,
}

async fn baseline(setup: &Setup, dir: PathBuf) -> Result<Baseline, String> {
    let sb = Sandbox::start(setup, &dir, Vec::new()).await?;
    sb.advance(30).await;
    let start = sb.last_seq();
    let backup = sb.backup().await;
    let split = sb.last_seq();
    let result = if backup.succeeded() {
        sb.advance(50).await;
        let mid = sb.last_seq();
        let restore = sb.restore().await;
        if restore.succeeded() {
            let backup_calls: Vec<Call> = sb
                .calls_since(start)
                .into_iter()
                .filter(|c| c.seq <= split)
                .collect();
            Ok(Baseline {
                backup: backup_calls,
                restore: sb.calls_since(mid),
                restore_steps: sb.started_steps("restore"),
            })
        } else {
            Err(format!("restore: {}", restore.why()))
        }
    } else {
        Err(format!("backup: {}", backup.why()))
    };
    sb.shutdown().await;
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn generate(a: &SweepArgs, setup: usize, base: &Baseline) -> Vec<Row> {
    let mut rows = Vec::new();
    if a.kind != SweepKind::Crash {
        for (phase, log) in [
            (Phase::Backup, &base.backup),
            (Phase::Restore, &base.restore),
        ] {
            for class in classes(log) {
                rows.extend(fault_rows(a, setup, phase, log, &class));
            }
        }
    }
    if a.kind != SweepKind::Fault {
        rows.extend(crash_rows(setup, base));
    }
    rows
}

fn fault_rows(a: &SweepArgs, setup: usize, phase: Phase, log: &[Call], class: &Class) -> Vec<Row> {
    let first = &class.calls[0];
    let mut rows = Vec::new();
    for kind in FaultKind::for_call(first) {
        for persistent in [false, true] {
            if persistent && !a.persistent {
                continue;
            }
            rows.push(Row {
                setup,
                sweep: "fault",
                class: class.name.clone(),
                phase,
                armed: Armed {
                    target: first.clone(),
                    after: calls_before(log, first),
                    kind: kind.clone(),
                    times: if persistent { None } else { Some(1) },
                },
                crash: None,
                item: 1,
                persistent,
                password: None,
            });
        }
    }
    rows
}

/// A kill as each restore step starts, and one inside each repeated call class (the second
/// call: a `for_each` item or a poll); once more inside the snapshot restore with the
/// password `camunda`.
fn crash_rows(setup: usize, base: &Baseline) -> Vec<Row> {
    let found = classes(&base.restore);
    let Some(any_call) = base.restore.first() else {
        return Vec::new();
    };
    let row = |class: String, armed: Armed, crash: CrashPoint, item, password| Row {
        setup,
        sweep: "crash",
        class,
        phase: Phase::Restore,
        armed,
        crash: Some(crash),
        item,
        persistent: false,
        password,
    };
    let hold = |class: &Class, item: usize| {
        let target = class.calls[item - 1].clone();
        Armed {
            after: calls_before(&base.restore, &target),
            target,
            kind: FaultKind::Dropped,
            times: Some(1),
        }
    };
    // Unused by step rows; a placeholder keeps `Row` one shape.
    let unused = Armed {
        target: any_call.clone(),
        after: 0,
        kind: FaultKind::Dropped,
        times: Some(1),
    };
    let mut rows: Vec<Row> = base
        .restore_steps
        .iter()
        .map(|step| {
            row(
                format!("step {step}"),
                unused.clone(),
                CrashPoint::StepStart(step.clone()),
                1,
                None,
            )
        })
        .collect();
    for class in found.iter().filter(|c| c.calls.len() > 1) {
        let armed = hold(class, 2);
        rows.push(row(
            class.name.clone(),
            armed.clone(),
            CrashPoint::Held(armed),
            2,
            None,
        ));
    }
    if let Some(class) = found
        .iter()
        .find(|c| c.name.ends_with("/_restore") && c.calls.len() > 1)
    {
        let armed = hold(class, 2);
        rows.push(row(
            class.name.clone(),
            armed.clone(),
            CrashPoint::Held(armed),
            2,
            Some("camunda"),
        ));
    }
    rows
}

async fn run_row(setup: &Setup, row: Row, dir: PathBuf) -> Done {
    let env = row
        .password
        .map(|p| vec![("RUNBOOK_DATASTORE_PASSWORD".to_string(), p.to_string())])
        .unwrap_or_default();
    // A persistent fault on a wait's poll outlasts the plan's default wait (30m): a short
    // bound lets the run give up, and put things back, inside the row's limit.
    let sets = if row.persistent {
        vec![format!("wait_timeout={PERSISTENT_WAIT_TIMEOUT}")]
    } else {
        Vec::new()
    };
    let verdict = match Sandbox::start(setup, &dir, env).await {
        Ok(sb) => {
            let sb = sb.with_sets(sets);
            let v = match &row.crash {
                Some(point) => trial::crash_row(&sb, point).await,
                None => trial::fault_row(&sb, row.phase, &row.armed, row.persistent).await,
            };
            sb.shutdown().await;
            v
        }
        Err(e) => Verdict::Broken(e),
    };
    let pass = passes(&verdict, row.persistent);
    if pass {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Done { row, verdict, pass }
}

fn describe(v: &Verdict) -> String {
    match v {
        Verdict::Completed => "restored, equal to the backup".into(),
        Verdict::CompletedBeforeCrash => {
            "ended by itself before the SIGKILL landed; restored, equal to the backup".into()
        }
        Verdict::SafeAbort(why) => format!("aborted safely ({why})"),
        Verdict::Resumed(why) => format!("resumed to done ({why})"),
        Verdict::Broken(why) => why.clone(),
    }
}

fn print_table(setups: &[Setup], done: &[Done], broken: &[String]) {
    println!("| plans | sweep | run | call class | fault | result | detail |");
    println!("|---|---|---|---|---|---|---|");
    for d in done {
        println!(
            "| {} | {} | {} | `{}` | {} | {} | {} |",
            setups[d.row.setup].label(),
            d.row.sweep,
            d.row.phase.label(),
            d.row.class,
            d.row.fault_label(),
            if d.pass { "pass" } else { "FAIL" },
            describe(&d.verdict).replace('|', "\\|")
        );
    }
    println!("\n| plans | sweep | rows | passed | failed |");
    println!("|---|---|---|---|---|");
    for (i, s) in setups.iter().enumerate() {
        for sweep in ["fault", "crash"] {
            let rows: Vec<&Done> = done
                .iter()
                .filter(|d| d.row.setup == i && d.row.sweep == sweep)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let passed = rows.iter().filter(|d| d.pass).count();
            println!(
                "| {} | {sweep} | {} | {passed} | {} |",
                s.label(),
                rows.len(),
                rows.len() - passed
            );
        }
    }
    for b in broken {
        println!("\nFAIL {b}");
    }
    let passed = done.iter().filter(|d| d.pass).count();
    println!(
        "\nSWEEP: {passed}/{} rows passed{}",
        done.len(),
        if broken.is_empty() {
            String::new()
        } else {
            format!(", {} plan sets could not run", broken.len())
        }
    );
}

fn write_report(path: &std::path::Path, setups: &[Setup], done: &[Done], broken: &[String]) {
    let rows: Vec<_> = done
        .iter()
        .map(|d| {
            json!({
                "plans": setups[d.row.setup].label(),
                "sweep": d.row.sweep,
                "run": d.row.phase.label(),
                "class": d.row.class,
                "fault": d.row.fault_label(),
                "pass": d.pass,
                "detail": describe(&d.verdict),
            })
        })
        .collect();
    let doc = json!({"rows": rows, "broken": broken});
    if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default()) {
        eprintln!("warning: cannot write {}: {e}", path.display());
    }
}
