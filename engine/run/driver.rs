//! driver: one run of a validated plan, from journal creation to the last event: builds
//! the executors and the run environment, drives the scheduler, tears down port-forwards,
//! and hands back the result with every event. Shared by `runbook run`, `recover` and
//! `rehearse`; it prints nothing but progress (through the recorder).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value as Json, json};

use crate::executor::{ExecutorConfig, Executors};
use crate::plan::Plan;
use crate::plan::graph::PlanGraphs;
use crate::run::context::{EventSink, RunEnv};
use crate::run::events::{RunEvent, RunStart};
use crate::run::inputs::ResolvedParams;
use crate::run::journal::{Journal, JournalError};
use crate::run::recorder::{LogFormat, Recorder};
use crate::run::redact::Redactor;
use crate::run::scheduler::{Interrupts, Resume, RunOptions, RunResult};

/// Everything one run needs.
pub struct RunRequest<'a> {
    pub plan: Plan,
    pub graphs: &'a PlanGraphs,
    pub params: &'a ResolvedParams,
    pub run: Json,
    /// The journal and the first event to write to it (durably) before anything runs.
    pub journal: Option<(Journal, RunEvent)>,
    pub log_format: LogFormat,
    pub live: bool,
    /// Heartbeat interval for long-running steps when there is no live view (`None` or
    /// zero: off).
    pub heartbeat: Option<std::time::Duration>,
    pub kubectl: PathBuf,
    pub options: RunOptions,
    pub resume: Resume,
    pub interrupts: Interrupts,
    /// Asks before each destructive step (see `confirm`); `None`: go on.
    pub confirm: Option<crate::run::confirm::Confirmer>,
}

/// Why a run could not start (a target that does not render), secrets already masked: it
/// is only ever shown, never matched on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotStarted(pub String);

/// What a run left behind.
pub struct Finished {
    /// `Err` when the run could not start (e.g. a target URL does not render).
    pub result: Result<RunResult, NotStarted>,
    pub events: Vec<RunEvent>,
    /// When each event happened (RFC 3339), index for index with `events`.
    pub stamps: Vec<String>,
    pub run_dir: Option<PathBuf>,
    pub redactor: Redactor,
}

/// A new run of `plan`: its id, its journal (lock taken) and its first event.
pub struct NewRun {
    pub run_id: String,
    pub journal: Journal,
    pub first: RunEvent,
    pub run: Json,
}

/// Creates the run directory and journal of a new run.
pub fn new_run(
    plan: &Plan,
    params: &ResolvedParams,
    state_dir: &Path,
) -> Result<NewRun, JournalError> {
    let run_id = new_run_id();
    let started_at = crate::clock::now_rfc3339();
    let journal = Journal::create(
        state_dir,
        &run_id,
        &plan.name,
        plan.source.text(),
        &started_at,
    )?;
    let first = RunEvent::RunStarted(Box::new(RunStart {
        run_id: run_id.clone(),
        plan: plan.name.clone(),
        plan_file: plan.source.name().to_string(),
        plan_digest: plan.digest.clone(),
        params: params.masked(),
        minted: params.minted.clone(),
        pid: std::process::id(),
        started_at: started_at.clone(),
    }));
    let run = json!({"id": run_id, "started_at": started_at, "plan": plan.name, "dry_run": false});
    Ok(NewRun {
        run_id,
        journal,
        first,
        run,
    })
}

fn new_run_id() -> String {
    let now = crate::clock::now_rfc3339();
    let compact: String = now
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    format!("{compact}-{:04x}", fastrand::u16(..))
}

/// In a run's directory: the long-lived children it started (`executor::child_record`).
pub const CHILDREN_FILE: &str = "children";

/// Runs a plan to its end.
pub async fn run_plan(req: RunRequest<'_>) -> Finished {
    let (journal, first) = match req.journal {
        Some((j, e)) => (Some(j), Some(e)),
        None => (None, None),
    };
    let run_dir = journal.as_ref().map(|j| j.dir.clone());
    let heartbeat = req
        .heartbeat
        .filter(|d| !d.is_zero())
        .map(|d| crate::run::heartbeat::Heartbeat::new(d, &req.plan));
    let recorder = Recorder::start(journal, req.log_format, req.live, heartbeat);
    let redactor = Redactor::new(req.params.secret_values());
    if let Some(e) = first {
        let (tx, rx) = tokio::sync::oneshot::channel();
        recorder.emit(e, Some(tx));
        let _ = rx.await;
    }
    let executors = Arc::new(Executors::new(ExecutorConfig {
        kubectl_path: req.kubectl.clone(),
        executor_search_path: None,
        child_record: run_dir.as_ref().map(|d| d.join(CHILDREN_FILE)),
    }));
    // The run's redactor learns captured secrets (outputs marked `secret`) as steps run; the
    // report and the how-to-continue text must mask those too, so it is read back at the end.
    let mut learned = None;
    let result = match RunEnv::new(
        Arc::new(req.plan),
        executors.clone(),
        Json::Object(req.params.values.clone()),
        req.run,
        recorder.clone(),
        redactor.clone(),
        req.graphs.reads.clone(),
    ) {
        Ok(mut env) => Ok(crate::run::scheduler::run_with(
            {
                env.items_done = req.resume.items_done.clone();
                env.started_earlier = req.resume.started.clone();
                env.confirm = req.confirm.clone();
                learned = Some(env.redactor.clone());
                Arc::new(env)
            },
            req.graphs,
            &req.options,
            &req.interrupts,
            req.resume,
        )
        .await),
        Err(e) => Err(NotStarted(redactor.apply(&e.to_string()))),
    };
    // Port-forwards end with the run, whatever happened.
    executors.shutdown().await;
    let finishing = recorder.clone();
    let _ = tokio::task::spawn_blocking(move || finishing.finish()).await;
    let (events, stamps) = recorder.take();
    let redactor = learned
        .and_then(|r| r.lock().ok().map(|r| r.clone()))
        .unwrap_or(redactor);
    Finished {
        result,
        events,
        stamps,
        run_dir,
        redactor,
    }
}

/// Watches SIGINT and SIGTERM: the first stops the run, a second SIGINT skips the undos.
pub async fn watch_signals(interrupts: Interrupts) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    let mut count = 0;
    loop {
        tokio::select! {
            _ = int.recv() => count += 1,
            _ = term.recv() => count += 1,
        }
        if count == 1 {
            eprintln!(
                "\ninterrupt: stopping; undo and finally steps will run (interrupt again to skip the undos; finally always runs)"
            );
            interrupts.stop.cancel();
        } else {
            eprintln!("\nsecond interrupt: skipping the remaining undos; finally steps still run");
            interrupts.skip_undo.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::inputs::{Inputs, resolve};

    const PLAN: &str = "apiVersion: runbook/v1\nkind: Plan\nname: drive\nparams:\n  pw: {type: string, secret: true}\ntargets:\n  web: {http: {url: \"http://127.0.0.1:1\"}}\nsteps:\n  - id: a\n    http: {target: web, path: \"/{{params.pw}}\"}\nfinally:\n  - id: f\n    http: {target: web, path: /f}\n";

    fn loaded() -> (Plan, PlanGraphs, ResolvedParams) {
        let (plan, graphs) = crate::plan::loader::valid_for_test(PLAN);
        let inputs = Inputs {
            sets: vec!["pw=driver-Secret-1".into()],
            ..Inputs::default()
        };
        let params = resolve(&plan, &inputs, &|_| None).expect("params");
        (plan, graphs, params)
    }

    #[test]
    fn run_ids_sort_by_time_and_differ() {
        let a = new_run_id();
        let (stamp, tail) = a.split_once('-').expect("stamp-suffix");
        assert_eq!(stamp.len(), 14, "{a}");
        assert!(stamp.chars().all(|c| c.is_ascii_digit()), "{a}");
        assert_eq!(tail.len(), 4, "{a}");
        assert!((0..20).map(|_| new_run_id()).any(|b| b != a));
    }

    #[test]
    fn a_new_run_journals_masked_params_and_holds_the_plan_lock() {
        let (plan, _, params) = loaded();
        let dir = tempfile::tempdir().expect("tempdir");
        let first = new_run(&plan, &params, dir.path()).expect("new run");
        let RunEvent::RunStarted(start) = &first.first else {
            panic!("the first event starts the run")
        };
        assert_eq!(start.params["pw"], json!("***"));
        assert_eq!(first.run["id"], json!(first.run_id));
        assert!(first.journal.dir.starts_with(dir.path()));
        match new_run(&plan, &params, dir.path()) {
            Err(JournalError::Locked { plan, .. }) => assert_eq!(plan, "drive"),
            Err(e) => panic!("expected Locked, got {e}"),
            Ok(_) => panic!("a second run of the same plan started"),
        }
    }

    #[tokio::test]
    async fn a_run_reports_every_event_and_no_secret() {
        let (plan, graphs, params) = loaded();
        let finished = run_plan(RunRequest {
            plan,
            graphs: &graphs,
            params: &params,
            run: json!({"id": "t", "dry_run": false}),
            journal: None,
            log_format: LogFormat::Json,
            live: false,
            heartbeat: None,
            kubectl: PathBuf::from("kubectl"),
            options: RunOptions {
                max_parallel: 4,
                timeout: None,
            },
            resume: crate::run::scheduler::Resume::default(),
            interrupts: Interrupts::default(),
            confirm: None,
        })
        .await;
        let result = finished.result.expect("the run started");
        assert_eq!(result.failed.len(), 1, "{:?}", result.failed);
        assert_eq!(finished.events.len(), finished.stamps.len());
        let text = serde_json::to_string(&finished.events).expect("events");
        assert!(text.contains("\"f\""), "finally ran: {text}");
        assert!(!text.contains("driver-Secret-1"), "{text}");
        assert!(
            finished
                .redactor
                .apply("x driver-Secret-1 y")
                .contains("***")
        );
    }
}
