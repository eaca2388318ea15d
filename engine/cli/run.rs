//! run: `runbook run`, `runbook runs` and `runbook recover`: the wiring between the CLI,
//! the journal, the recorder, the executors and the scheduler, plus confirmation of
//! destructive steps, signal handling, the summary and the JSON report. Exit codes: 0
//! success, 1 a step failed (compensation done), 2 invalid plan or usage, 3 compensation or
//! finally failed, 4 succeeded but the report was not written, 124 `--timeout` reached,
//! 130 interrupted (`cli::exit_code`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::exit_code::Exit;
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value as Json, json};

use crate::cli::run_output::{Ending, Output};
use crate::cli::{ValueArgs, fail, load_valid, resolve_params};
use crate::run::events::{Outcome, Phase, RunEvent};

use crate::plan::Plan;
use crate::plan::graph::PlanGraphs;
use crate::run::inputs::ResolvedParams;
use crate::run::journal::{self, Journal};
use crate::run::recorder::LogFormat;
use crate::run::redact::Redactor;
use crate::run::scheduler::{Interrupts, Resume, RunOptions};

#[derive(Args)]
pub struct RunArgs {
    pub plan: PathBuf,
    #[command(flatten)]
    pub values: ValueArgs,
    /// Most steps running at once (at least 1).
    #[arg(long, default_value_t = 16, value_parser = crate::cli::parse_max_parallel)]
    pub max_parallel: usize,
    /// Stop the run (then undo and finally) after this long, e.g. `45m`.
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Confirm destructive steps without asking.
    #[arg(long)]
    pub yes: bool,
    /// Show what would be sent, send nothing (same as `runbook plan`).
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Clone)]
pub struct CommonRunArgs {
    /// Where runs keep their journals and locks.
    #[arg(long, env = "RUNBOOK_STATE_DIR", default_value = ".runbook")]
    pub state_dir: PathBuf,
    /// Progress format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Write a JSON report (per-step timings, attempts, outputs with secrets masked).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The kubectl binary.
    #[arg(long, env = "RUNBOOK_KUBECTL", default_value = "kubectl")]
    pub kubectl: PathBuf,
    /// Without a terminal, a line for each step still running every this long (what it
    /// waits for, elapsed, last seen state); `0` turns it off.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = parse_duration)]
    pub heartbeat: Duration,
    /// `text`: the summary table; `json`: one JSON document on stdout instead (outcome, run
    /// id, what the plan produced, every step's row).
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Write the run's Prometheus metrics to this file (the node exporter's textfile
    /// collector format), atomically.
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Push the run's Prometheus metrics to this Pushgateway (group job=runbook, plan=<name>).
    /// From `RUNBOOK_PUSHGATEWAY` too (the CronJob in deploy/ sets it); empty means off.
    #[arg(long, value_name = "URL", env = "RUNBOOK_PUSHGATEWAY", value_parser = parse_optional_url)]
    pub pushgateway: Option<String>,
}

/// An empty value (an unset ConfigMap key rendered as "") is no value.
fn parse_optional_url(s: &str) -> Result<String, String> {
    Ok(s.trim().to_string())
}

fn parse_duration(s: &str) -> Result<Duration, crate::plan::duration::DurationError> {
    crate::plan::duration::parse(s)
}

pub fn run(a: &RunArgs) -> ExitCode {
    let (plan, graphs) = match load_valid(&a.plan) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let params = match resolve_params(&plan, &a.values) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if a.dry_run {
        let dry = crate::cli::dry_run::dry_run(&plan, &graphs, &params);
        print!(
            "{}",
            Redactor::new(params.secret_values()).apply(&crate::cli::dry_run::text(&dry))
        );
        return ExitCode::from(Exit::Ok);
    }
    let confirm = match confirm_destructive(&plan, &params, a.yes) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let new = match crate::run::driver::new_run(&plan, &params, &a.common.state_dir) {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    execute(
        plan,
        &graphs,
        &params,
        new.run,
        Some((new.journal, new.first)),
        &a.common,
        &RunOptions {
            max_parallel: a.max_parallel,
            timeout: a.timeout,
        },
        Resume::default(),
        &[],
        confirm,
    )
}

/// Runs (or continues) a plan to its end and reports.
#[allow(clippy::too_many_arguments)]
fn execute(
    plan: Plan,
    graphs: &PlanGraphs,
    params: &ResolvedParams,
    run_json: Json,
    journal: Option<(Journal, RunEvent)>,
    common: &CommonRunArgs,
    opts: &RunOptions,
    resume: Resume,
    earlier: &[RunEvent],
    confirm: Option<crate::run::confirm::Confirmer>,
) -> ExitCode {
    let plan_steps = crate::cli::how_to_continue::PlanSteps::of(&plan);
    let (plan_name, plan_result) = (plan.name.clone(), plan.result.clone());
    let plan_windows = plan.windows.clone();
    let waits: Vec<String> = plan
        .steps
        .iter()
        .chain(&plan.finally)
        .filter(|s| matches!(s.action, crate::plan::Action::Wait(_)))
        .map(|s| s.id.clone())
        .collect();
    warn_unmasked_secrets(params);
    for t in crate::cli::dry_run::insecure_targets(&plan) {
        eprintln!("{}", crate::cli::dry_run::insecure_warning(&t));
    }
    let run_id = run_json["id"].as_str().unwrap_or("").to_string();
    let Ok(runtime) = run_runtime() else {
        return fail(crate::run::journal::JournalError::Io {
            path: "tokio runtime".into(),
            message: "cannot start".into(),
        });
    };
    // No live block when the run may ask: its redraws would overwrite the question.
    let live = common.log_format == LogFormat::Text
        && std::io::stderr().is_terminal()
        && confirm.is_none();
    let interrupts = Interrupts::default();
    let finished = runtime.block_on(async {
        let signals = tokio::spawn(crate::run::driver::watch_signals(interrupts.clone()));
        let finished = crate::run::driver::run_plan(crate::run::driver::RunRequest {
            plan,
            graphs,
            params,
            run: run_json,
            journal,
            log_format: common.log_format,
            live,
            // At a terminal the live block shows the same (and a prompt must not be
            // interleaved with heartbeats): only logs get them.
            heartbeat: (!std::io::stderr().is_terminal()).then_some(common.heartbeat),
            kubectl: common.kubectl.clone(),
            options: opts.clone(),
            resume,
            interrupts: interrupts.clone(),
            confirm,
        })
        .await;
        signals.abort();
        finished
    });
    let result = match finished.result {
        Ok(result) => result,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(Exit::Usage);
        }
    };
    // A recovered run's summary and report cover the original attempt too.
    let events: Vec<RunEvent> = earlier.iter().chain(&finished.events).cloned().collect();
    let stamps: Vec<String> = std::iter::repeat_n(String::new(), earlier.len())
        .chain(finished.stamps.iter().cloned())
        .collect();
    let produced = crate::cli::run_output::produced(&plan_result, &events);
    let hint = if result.outcome == Outcome::Succeeded {
        None
    } else {
        crate::cli::how_to_continue::hint(&plan_steps, &events, &run_id, &common.state_dir)
            .map(|h| finished.redactor.apply(&h))
    };
    if common.output == Output::Text {
        print_summary(
            &finished.events,
            &result.outcome,
            &result.message,
            finished.run_dir.as_deref(),
        );
        print_produced(&produced, &finished.redactor);
        if let Some(hint) = &hint {
            print!("{hint}");
        }
    }
    // The run directory always keeps the report: the evidence of what was done.
    let extras = ReportExtras {
        produced: &produced,
        windows: window_spans(&plan_windows, &events, &stamps),
        waits: &waits,
    };
    let report = report_text(&events, &stamps, &extras, &finished.redactor);
    let kept = finished.run_dir.as_deref().map(|d| d.join("report.json"));
    let mut unwritten = false;
    for path in kept.iter().chain(common.report.iter()) {
        if let Err(e) = crate::run::private_files::write(path, &report) {
            eprintln!("error: cannot write the report {}: {e}", path.display());
            unwritten = true;
        }
    }
    // The same report as pages people read, next to report.json.
    if let Some(dir) = finished.run_dir.as_deref()
        && let Err(e) = crate::cli::report::write_beside(dir, &report)
    {
        eprintln!("error: {e}");
        unwritten = true;
    }
    let duration_ms = finished
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            RunEvent::RunFinished { duration_ms, .. } => Some(*duration_ms),
            _ => None,
        })
        .unwrap_or(0);
    let pushgateway = common.pushgateway.as_deref().filter(|u| !u.is_empty());
    if common.metrics_file.is_some() || pushgateway.is_some() {
        let metrics = crate::cli::metrics::RunMetrics {
            plan: &plan_name,
            run_id: &run_id,
            outcome: result.outcome,
            exit_code: exit_for(result.outcome, unwritten).code(),
            duration_ms,
            finished_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default(),
            produced: &produced,
            steps: step_timings(&finished.events),
            windows: windows(&plan_windows, &finished.events, &finished.stamps),
        };
        unwritten |= !export_metrics(&metrics, common, &runtime, &finished.redactor);
    }
    let code = exit_for(result.outcome, unwritten);
    let ending = Ending {
        run_id: &run_id,
        plan: &plan_name,
        outcome: result.outcome,
        exit_code: code.code(),
        duration_ms,
        message: &result.message,
        produced: &produced,
    };
    if common.output == Output::Json {
        let steps: Vec<Json> = step_rows(&finished.events, &[])
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect();
        let files = json!({
            "journal": finished.run_dir.as_deref().map(|d| d.join("journal.jsonl")),
            "report": kept,
            "report_file": common.report,
        });
        let doc = ending.document(Json::Array(steps), files, hint.as_deref());
        println!("{}", masked_json(&doc, &finished.redactor));
    }
    // Unattended (a log, not a terminal): the last line says how it ended, for machines.
    if !std::io::stderr().is_terminal() {
        eprintln!("{}", masked_json(&ending.line(), &finished.redactor));
    }
    ExitCode::from(code)
}

/// Writes and pushes the run's metrics as `common` asks; false when either failed (said on
/// stderr).
fn export_metrics(
    metrics: &crate::cli::metrics::RunMetrics<'_>,
    common: &CommonRunArgs,
    runtime: &tokio::runtime::Runtime,
    redactor: &Redactor,
) -> bool {
    let succeeded = metrics.outcome == Outcome::Succeeded;
    let mut ok = true;
    if let Some(path) = &common.metrics_file {
        let text = redactor.apply(&metrics.render(true));
        if let Err(e) = crate::cli::metrics::write_file(path, &text, succeeded) {
            eprintln!("error: cannot write the metrics {}: {e}", path.display());
            ok = false;
        }
    }
    if let Some(url) = common.pushgateway.as_deref().filter(|u| !u.is_empty()) {
        let text = redactor.apply(&metrics.render(false));
        if let Err(e) = runtime.block_on(crate::cli::metrics::push(url, metrics.plan, text)) {
            eprintln!("error: cannot push the metrics: {}", redactor.apply(&e));
            ok = false;
        }
    }
    ok
}

/// Each step's time and attempts, for the metrics.
fn step_timings(events: &[RunEvent]) -> Vec<crate::cli::metrics::StepTiming> {
    step_rows(events, &[])
        .iter()
        .map(|r| crate::cli::metrics::StepTiming {
            phase: r.phase.to_string(),
            id: r.id.to_string(),
            duration_ms: r.duration_ms,
            attempts: r.attempts,
        })
        .collect()
}

/// The plan's `windows:` whose two ends ran in this invocation, in seconds: from the first
/// start of `from` to the last end of `to` (their main or finally rows, not their undos).
fn windows(
    windows: &[crate::plan::Window],
    events: &[RunEvent],
    stamps: &[String],
) -> Vec<(String, f64)> {
    window_spans(windows, events, stamps)
        .into_iter()
        .map(|w| (w.name, w.seconds))
        .collect()
}

/// The plan's windows as they happened: from the first start of `from` to the end of `to`
/// (their undos not counted); a window whose ends did not both run is left out.
fn window_spans(
    windows: &[crate::plan::Window],
    events: &[RunEvent],
    stamps: &[String],
) -> Vec<crate::cli::report_doc::WindowSpan> {
    let rows = step_rows(events, stamps);
    let row = |id: &str| rows.iter().find(|r| r.id == id && r.phase != "undo");
    windows
        .iter()
        .filter_map(|w| {
            let started_at = row(&w.from).and_then(|r| r.started_at)?;
            let finished_at = row(&w.to).and_then(|r| r.finished_at)?;
            let seconds = crate::cli::metrics::window_seconds(Some(started_at), Some(finished_at))?;
            Some(crate::cli::report_doc::WindowSpan {
                name: w.name.clone(),
                from: w.from.clone(),
                to: w.to.clone(),
                started_at: started_at.to_string(),
                finished_at: finished_at.to_string(),
                seconds,
            })
        })
        .collect()
}

/// What the plan's `result:` produced, one line each, after the summary (a backup's id).
fn print_produced(produced: &Map<String, Json>, redactor: &Redactor) {
    for (name, value) in produced {
        let shown = redactor.apply(&crate::plan::template::display(value));
        println!("{name}: {shown}");
    }
}

/// Most runtime worker threads a run uses. A run waits on HTTP and child processes; its
/// steps are tasks, not threads. Tokio's default, one worker per core, cost ~0.1 MB of
/// resident memory each: 26 MB peak on a 64-core node against 20 MB with two (issue 14, a
/// CronJob pod's memory request). `TOKIO_WORKER_THREADS` still overrides it.
const MAX_WORKERS: usize = 4;

fn run_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        b.worker_threads(cores.clamp(1, MAX_WORKERS));
    }
    b.enable_all().build()
}

/// The exit code of a finished run: its outcome's, except that a successful run whose report
/// could not be written says so (README "Exit codes": a failure's code wins over it).
fn exit_for(outcome: Outcome, report_unwritten: bool) -> Exit {
    match Exit::from(outcome) {
        Exit::Ok if report_unwritten => Exit::ReportNotWritten,
        code => code,
    }
}

/// A secret too short to mask inside free text (see `redact`) is named at run start.
fn warn_unmasked_secrets(params: &ResolvedParams) {
    for name in &params.secret_names {
        let value = params
            .values
            .get(name)
            .map(crate::plan::template::display)
            .unwrap_or_default();
        if !value.is_empty() && !Redactor::masks(&value) {
            eprintln!(
                "warning: secret param `{name}` is shorter than {} characters, so it is not masked inside logs and messages: masking every occurrence of so common a string would reveal it and mangle output (e.g. snapshot names). Authorization headers and the param's own value are still masked; the journal stores it only as a reference. Use a longer secret.",
                crate::run::redact::MIN_MASKED_CHARS
            );
        }
    }
}

/// Destructive steps need `--yes`, or confirmation at a terminal as each one is reached,
/// once its exact calls are known (`run::confirm`: the calls are listed either way). Without
/// a terminal and without `--yes` the run is refused before it starts: nothing runs.
fn confirm_destructive(
    plan: &Plan,
    params: &crate::run::inputs::ResolvedParams,
    yes: bool,
) -> Result<Option<crate::run::confirm::Confirmer>, ExitCode> {
    let destructive: Vec<&str> = plan
        .steps
        .iter()
        .chain(&plan.finally)
        .filter(|s| s.destructive)
        .map(|s| s.id.as_str())
        .collect();
    if destructive.is_empty() || yes {
        return Ok(None);
    }
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: plan `{}` has destructive steps ({}) and there is no terminal to confirm them \
             on; nothing was run. Review the calls with `runbook run --dry-run`, then pass --yes \
             (each destructive step's exact calls are still listed as it starts)",
            plan.name,
            destructive.join(", ")
        );
        return Err(ExitCode::from(Exit::Usage));
    }
    eprintln!(
        "plan `{}` has destructive steps ({}): each asks for confirmation, with its exact calls, when it is reached",
        plan.name,
        destructive.join(", ")
    );
    Ok(Some(crate::run::confirm::terminal(where_it_points(
        plan, params,
    ))))
}

/// The lines heading each confirmation: every kubectl target's context, namespace and
/// kubeconfig as rendered for this run, and the backup id when the plan has that param.
fn where_it_points(plan: &Plan, params: &crate::run::inputs::ResolvedParams) -> String {
    let scope = json!({"params": params.masked()});
    let mut lines = Vec::new();
    for t in &plan.targets {
        let crate::plan::TargetKind::Kubectl(k) = &t.kind else {
            continue;
        };
        let field = |tpl: &Option<crate::plan::template::Template>| {
            tpl.as_ref()
                .and_then(|t| t.render(&scope).ok())
                .filter(|v| !v.is_empty())
        };
        let context = field(&k.context).unwrap_or_else(|| "(the kubeconfig's current)".into());
        let namespace = field(&k.namespace).unwrap_or_else(|| "(the context's default)".into());
        let mut line = format!(
            "kubectl target `{}`: context {context}, namespace {namespace}",
            t.name
        );
        if let Some(kc) = field(&k.kubeconfig) {
            line.push_str(&format!(", kubeconfig {kc}"));
        }
        lines.push(line);
    }
    if let Some(id) = params.values.get("backup_id").filter(|v| !v.is_null()) {
        lines.push(format!("backup id: {}", crate::plan::template::display(id)));
    }
    lines.join("\n")
}

fn print_summary(events: &[RunEvent], outcome: &Outcome, message: &str, run_dir: Option<&Path>) {
    let rows = step_rows(events, &[]);
    // ATTEMPTS is per item for a `for_each` step (the most any item needed); ITEMS says how
    // many items succeeded of those started: a sum of every item's attempts read as retries.
    println!(
        "\n{:<10} {:<32} {:>10} {:>8} {:>7}",
        "PHASE", "STEP", "TIME", "ATTEMPTS", "ITEMS"
    );
    for r in &rows {
        let status: String = match r.status.char_indices().nth(90) {
            Some((i, _)) => format!("{}…", &r.status[..i]),
            None => r.status.to_string(),
        };
        let items = r
            .items
            .as_ref()
            .map(|i| format!("{}/{}", i.succeeded, i.started))
            .unwrap_or_default();
        println!(
            "{:<10} {:<32} {:>10} {:>8} {:>7}  {status}",
            r.phase,
            r.id,
            format!("{} ms", r.duration_ms),
            r.attempts,
            items
        );
    }
    println!(
        "\n{}: {message}",
        match outcome {
            Outcome::Succeeded => "SUCCEEDED",
            Outcome::Failed => "FAILED",
            Outcome::Interrupted => "INTERRUPTED",
            Outcome::TimedOut => "TIMED OUT",
            Outcome::CompensationFailed => "COMPENSATION FAILED",
        }
    );
    if let Some(dir) = run_dir {
        println!("journal: {}", dir.join("journal.jsonl").display());
        println!("report:  {}", dir.join("report.json").display());
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Main => "step",
        Phase::Undo => "undo",
        Phase::Finally => "finally",
    }
}

/// One row of the summary and of the report: a step's final status and timings. Typed
/// rather than a JSON map: a 10k-step run's rows as maps were half its peak memory.
#[derive(serde::Serialize)]
struct StepRow<'e> {
    phase: &'static str,
    id: &'e str,
    status: std::borrow::Cow<'e, str>,
    /// Attempts of the step; of a `for_each` step, the most any one item needed.
    attempts: u32,
    /// A `for_each` step's items: how many started and how many succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Items>,
    duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<&'e Map<String, Json>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<&'e str>,
}

/// The items of a `for_each` step's row.
#[derive(serde::Serialize)]
struct Items {
    started: u32,
    succeeded: u32,
}

/// One row per (phase, step) with its final status; with `stamps` (when each event
/// happened), also `started_at` (first attempt) and `finished_at`.
fn step_rows<'e>(events: &'e [RunEvent], stamps: &'e [String]) -> Vec<StepRow<'e>> {
    let mut rows: Vec<StepRow<'e>> = Vec::new();
    // Row of each (phase, id): a scan of `rows` per event made the summary of a
    // 10k-step run take half a minute.
    let mut index: std::collections::HashMap<(&'static str, &'e str), usize> =
        std::collections::HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let Some((phase, id)) = step_of(e) else {
            continue;
        };
        // Events of an earlier attempt (recover) have no stamp here.
        let stamp = stamps.get(i).map(String::as_str).filter(|s| !s.is_empty());
        let at = *index.entry((phase, id)).or_insert_with(|| {
            rows.push(StepRow {
                phase,
                id,
                status: "started".into(),
                attempts: 0,
                items: None,
                duration_ms: 0,
                started_at: None,
                outputs: None,
                finished_at: None,
            });
            rows.len() - 1
        });
        update_row(&mut rows[at], e, stamp);
    }
    rows
}

/// The (phase, step id) a step event is about.
fn step_of(e: &RunEvent) -> Option<(&'static str, &str)> {
    match e {
        RunEvent::StepStarted { phase, id, .. }
        | RunEvent::ItemSucceeded { phase, id, .. }
        | RunEvent::StepSucceeded { phase, id, .. }
        | RunEvent::StepFailed { phase, id, .. }
        | RunEvent::StepSkipped { phase, id, .. } => Some((phase_name(*phase), id)),
        _ => None,
    }
}

/// Applies one event to its row. The first start and the last end are the step's
/// wall-clock bounds.
fn update_row<'e>(row: &mut StepRow<'e>, e: &'e RunEvent, at: Option<&'e str>) {
    match e {
        RunEvent::StepStarted {
            attempt,
            item: None,
            ..
        } => {
            row.attempts = *attempt;
            row.started_at = row.started_at.or(at);
        }
        RunEvent::StepStarted {
            attempt,
            item: Some(_),
            ..
        } => {
            let items = row.items.get_or_insert(Items {
                started: 0,
                succeeded: 0,
            });
            if *attempt == 1 {
                items.started += 1;
            }
            row.attempts = row.attempts.max(*attempt);
            row.started_at = row.started_at.or(at);
        }
        RunEvent::ItemSucceeded { .. } => {
            if let Some(items) = row.items.as_mut() {
                items.succeeded += 1;
            }
        }
        RunEvent::StepSucceeded {
            attempts,
            duration_ms,
            outputs,
            ..
        } => {
            row.status = "succeeded".into();
            // A `for_each` step's `attempts` adds up its items; the row keeps the per-item most.
            if row.items.is_none() {
                row.attempts = *attempts;
            }
            row.duration_ms = *duration_ms;
            row.outputs = Some(outputs);
            row.finished_at = at.or(row.finished_at);
        }
        RunEvent::StepFailed {
            attempts,
            duration_ms,
            error,
            ..
        } => {
            row.status = format!("failed: {error}").into();
            if row.items.is_none() {
                row.attempts = *attempts;
            }
            row.duration_ms = *duration_ms;
            row.finished_at = at.or(row.finished_at);
        }
        RunEvent::StepSkipped { reason, .. } => {
            row.status = format!("skipped: {reason}").into();
            row.finished_at = at.or(row.finished_at);
        }
        _ => {}
    }
}

/// What the report adds to the journal's events: the plan's `result:` and `windows:` as this
/// run produced them, and which steps are waits (the timeline marks them).
struct ReportExtras<'a> {
    produced: &'a Map<String, Json>,
    windows: Vec<crate::cli::report_doc::WindowSpan>,
    waits: &'a [String],
}

/// The report of a run: its start and end, one row per step (status, attempts, timings,
/// wall-clock start and end, outputs), then the extras. Secrets masked.
fn report_text(
    events: &[RunEvent],
    stamps: &[String],
    extras: &ReportExtras<'_>,
    redactor: &Redactor,
) -> String {
    let (run, finished) = (
        events.iter().find(|e| matches!(e, RunEvent::RunStarted(_))),
        events
            .iter()
            .rev()
            .find(|e| matches!(e, RunEvent::RunFinished { .. })),
    );
    // Every event, stamped, is in the journal next to the report; the report keeps the rows,
    // one per line. Written piece by piece, each piece masked: a 10k-step report built as
    // one JSON value, then one text, then its masked copy, was the run's peak memory.
    let mut out = format!(
        "{{\n  \"run\": {},\n  \"finished\": {},\n  \"steps\": [",
        masked_json(&run, redactor),
        masked_json(&finished, redactor)
    );
    for (i, row) in step_rows(events, stamps).iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&masked_json(row, redactor));
    }
    out.push_str(&format!(
        "\n  ],\n  \"result\": {},\n  \"windows\": {},\n  \"waits\": {}\n}}\n",
        masked_json(extras.produced, redactor),
        masked_json(&extras.windows, redactor),
        masked_json(&extras.waits, redactor)
    ));
    out
}

/// One value as compact JSON, secrets masked.
fn masked_json<T: serde::Serialize>(v: &T, redactor: &Redactor) -> String {
    redactor.apply(&serde_json::to_string(v).unwrap_or_default())
}

#[derive(Args)]
pub struct RunsArgs {
    #[arg(long, env = "RUNBOOK_STATE_DIR", default_value = ".runbook")]
    pub state_dir: PathBuf,
    /// `text`: a table; `json`: a JSON array, one object per run.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

pub fn runs(a: &RunsArgs) -> ExitCode {
    let runs = journal::list(&a.state_dir);
    if a.output == Output::Json {
        println!("{}", crate::cli::run_output::runs_document(&runs));
        return ExitCode::from(Exit::Ok);
    }
    if runs.is_empty() {
        println!("no runs in {}", a.state_dir.display());
        return ExitCode::from(Exit::Ok);
    }
    println!("{:<22} {:<32} {:<20} STARTED", "RUN", "PLAN", "OUTCOME");
    for r in &runs {
        let started = match r.events.first() {
            Some(RunEvent::RunStarted(start)) => start.started_at.as_str(),
            _ => "?",
        };
        let outcome = match r.finished() {
            Some(RunEvent::RunFinished { outcome, .. }) => format!("{outcome:?}"),
            _ => "UNFINISHED".into(),
        };
        println!(
            "{:<22} {:<32} {:<20} {started}",
            r.run_id,
            r.plan(),
            outcome
        );
    }
    ExitCode::from(Exit::Ok)
}

#[derive(Args)]
pub struct RecoverArgs {
    /// The run to recover (default: the newest unfinished one).
    pub run_id: Option<String>,
    /// Run the pending undos (reverse order) and the finally steps.
    #[arg(long, conflicts_with_all = ["resume", "abandon"])]
    pub rollback: bool,
    /// Continue with the same frozen values (same backup id).
    #[arg(long, conflicts_with = "abandon")]
    pub resume: bool,
    /// Mark the run finished without running anything.
    #[arg(long)]
    pub abandon: bool,
    /// Secrets are never journaled: give them again here (or through their env variables).
    #[command(flatten)]
    pub values: ValueArgs,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Re-run unfinished non-idempotent steps without asking.
    #[arg(long)]
    pub yes: bool,
    #[arg(long, default_value_t = 16, value_parser = crate::cli::parse_max_parallel)]
    pub max_parallel: usize,
}

pub fn recover(a: &RecoverArgs) -> ExitCode {
    let info = match journal::find(&a.common.state_dir, a.run_id.as_deref()) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let state = crate::run::recovery::replay(&info.events);
    let acting = a.rollback || a.resume || a.abandon;
    let description = state.describe(&info.run_id);
    match (a.common.output, acting) {
        (Output::Text, _) => println!("{description}"),
        // stdout carries the one JSON document: the run's result once the action ends.
        (Output::Json, true) => eprintln!("{description}"),
        (Output::Json, false) => {
            let doc = json!({
                "run_id": info.run_id,
                "plan": info.plan(),
                "finished": info.finished().is_some(),
                "description": description,
                "choose": ["--rollback", "--resume", "--abandon"],
            });
            println!("{doc}");
            return ExitCode::from(Exit::Ok);
        }
    }
    if !acting {
        println!(
            "\nchoose: runbook recover {} --rollback | --resume | --abandon",
            info.run_id
        );
        return ExitCode::from(Exit::Ok);
    }
    let plan_path = info.dir.join("plan.yaml");
    let (plan, graphs) = match load_valid(&plan_path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let started_at = crate::clock::now_rfc3339();
    let mut journal =
        match Journal::reopen(&a.common.state_dir, &info.run_id, &plan.name, &started_at) {
            Ok(j) => j,
            Err(e) => return fail(e),
        };
    // A killed run cannot tear its port-forwards down: stop the ones it left running.
    let stopped = crate::executor::child_record::stop_leftovers(
        &journal.dir.join(crate::run::driver::CHILDREN_FILE),
    );
    if !stopped.is_empty() {
        eprintln!(
            "stopped {} port-forward(s) the interrupted run left running (pids {stopped:?})",
            stopped.len()
        );
    }
    if a.abandon {
        let _ = journal.append(&RunEvent::RunFinished {
            outcome: Outcome::Failed,
            exit_code: 1,
            duration_ms: 0,
            message: "abandoned by the operator with `runbook recover --abandon`".into(),
        });
        if a.common.output == Output::Json {
            println!("{}", json!({"run_id": info.run_id, "abandoned": true}));
        } else {
            println!("run {} marked abandoned", info.run_id);
        }
        return ExitCode::from(Exit::Ok);
    }
    let params =
        match crate::run::recovery::frozen_params(&plan, &state, &a.values.inputs(), &|k| {
            std::env::var(k).ok()
        }) {
            Ok(p) => p,
            Err(errors) => {
                for e in errors {
                    eprintln!("error: {e}");
                }
                return ExitCode::from(Exit::Usage);
            }
        };
    let secrets: std::collections::HashMap<String, String> = params
        .secret_names
        .iter()
        .filter_map(|n| {
            params
                .values
                .get(n)
                .map(|v| (n.clone(), crate::plan::template::display(v)))
        })
        .collect();
    let resume = if a.rollback {
        state.rollback_plan(&plan, &secrets)
    } else {
        state.resume_plan(&plan, a.yes, &secrets)
    };
    let resume = match resume {
        Ok(r) => r,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(Exit::Usage);
        }
    };
    let run_json = json!({"id": info.run_id, "started_at": state.started_at, "plan": plan.name, "dry_run": false});
    let first = RunEvent::Interrupted {
        reason: format!(
            "recovering with {}",
            if a.rollback { "--rollback" } else { "--resume" }
        ),
    };
    execute(
        plan,
        &graphs,
        &params,
        run_json,
        Some((journal, first)),
        &a.common,
        &RunOptions {
            max_parallel: a.max_parallel,
            timeout: None,
        },
        resume,
        &info.events,
        // `recover` has its own gate (`--yes` to repeat what may have had an effect).
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_says_which_cluster_and_backup() {
        let (plan, _) = crate::plan::loader::valid_for_test(
            "apiVersion: runbook/v1\nkind: Plan\nname: t\nparams:\n  namespace: {type: string, default: camunda}\n  kube_context: {type: string, default: \"\"}\n  backup_id: {type: integer, default: 42}\ntargets:\n  cluster: {kubectl: {context: \"{{params.kube_context}}\", namespace: \"{{params.namespace}}\"}}\nsteps:\n  - {id: a, destructive: true, kubectl: {target: cluster, args: [delete, pvc, x]}}\n",
        );
        let params =
            crate::run::inputs::resolve(&plan, &crate::run::inputs::Inputs::default(), &|_| None)
                .unwrap();
        assert_eq!(
            where_it_points(&plan, &params),
            "kubectl target `cluster`: context (the kubeconfig's current), namespace camunda\nbackup id: 42"
        );
    }

    #[test]
    fn an_unwritten_report_turns_success_into_4_and_leaves_failures_alone() {
        assert_eq!(exit_for(Outcome::Succeeded, false), Exit::Ok);
        assert_eq!(exit_for(Outcome::Succeeded, true), Exit::ReportNotWritten);
        assert_eq!(exit_for(Outcome::Failed, true), Exit::Failed);
        assert_eq!(exit_for(Outcome::TimedOut, true), Exit::TimedOut);
        assert_eq!(exit_for(Outcome::Interrupted, false), Exit::Interrupted);
        assert_eq!(
            exit_for(Outcome::CompensationFailed, true),
            Exit::CleanupFailed
        );
    }
}
