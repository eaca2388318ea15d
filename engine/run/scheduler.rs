//! scheduler: runs a plan's graph. Every ready step starts at once up to `max_parallel`; on
//! the first unrecoverable failure (or an interrupt, or the run timeout) nothing new starts,
//! running steps are cancelled, the `undo` of every succeeded step runs in reverse order of
//! completion, then the `finally` graph runs, always. A second interrupt skips the remaining
//! undos, never the finally steps. It knows nothing of HTTP or kubectl: steps run through
//! `step_runner` and the `Executor` trait.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::plan::Step;
use crate::plan::graph::{Edges, PlanGraphs, StepGraph};
use crate::run::context::{Outputs, RunEnv};
use crate::run::events::{Outcome, Phase, RunEvent};
use crate::run::step_runner::{StepOutcome, run_step, run_undo};

/// Run-wide settings.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub max_parallel: usize,
    pub timeout: Option<Duration>,
}

/// How the operator or the clock can stop a run.
#[derive(Clone, Default)]
pub struct Interrupts {
    /// First SIGINT/SIGTERM: stop, compensate, finally.
    pub stop: CancellationToken,
    /// Second SIGINT: skip the remaining undos, go to finally.
    pub skip_undo: CancellationToken,
}

/// What an earlier, unfinished run of the same plan already did (`runbook recover`).
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// Main steps that succeeded, in completion order, with their outputs.
    pub done: Vec<(String, serde_json::Map<String, serde_json::Value>)>,
    /// Main steps that were skipped (`when` false): done for their dependents.
    pub skipped: Vec<String>,
    /// Steps whose undo already ran.
    pub undone: Vec<String>,
    /// Finally steps that already succeeded.
    pub finally_done: Vec<String>,
    /// `for_each` items that already succeeded, by step id: (index, item, outputs).
    pub items_done: std::collections::HashMap<String, Vec<ItemDone>>,
    /// Steps an earlier run started and did not finish, with their unfinished `for_each`
    /// items (empty for a plain step): their `before_retry` runs before their first attempt.
    pub started: std::collections::HashMap<String, Vec<serde_json::Value>>,
    /// Run no main step: compensate what is done, then finally.
    pub rollback: bool,
}

/// One `for_each` item an earlier run completed: its index, value and outputs.
pub type ItemDone = (
    usize,
    serde_json::Value,
    serde_json::Map<String, serde_json::Value>,
);

/// What the scheduler did, for the summary and the exit code.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub outcome: Outcome,
    pub message: String,
    pub failed: Vec<(String, String)>,
    pub compensation_failed: Vec<(String, String)>,
}

/// State of the main graph: a step is in exactly one of pending (waiting for needs), ready,
/// running, done (succeeded or skipped) or failed; `done_order` records completions so
/// undos run in reverse.
struct MainState {
    indegree: Vec<usize>,
    ready: VecDeque<usize>,
    outputs: Outputs,
    done_order: Vec<usize>,
    started: Vec<bool>,
    failed: Vec<(String, String)>,
}

/// Runs a plan from the start.
pub async fn run(
    env: Arc<RunEnv>,
    graphs: &PlanGraphs,
    opts: &RunOptions,
    interrupts: &Interrupts,
) -> RunResult {
    run_with(env, graphs, opts, interrupts, Resume::default()).await
}

/// Runs a plan, continuing (or rolling back) from what `resume` says was done.
pub async fn run_with(
    env: Arc<RunEnv>,
    graphs: &PlanGraphs,
    opts: &RunOptions,
    interrupts: &Interrupts,
    resume: Resume,
) -> RunResult {
    let started = Instant::now();
    let plan = env.plan.clone();
    let abort = CancellationToken::new();
    for (id, _) in &resume.done {
        env.effects.succeeded_earlier(id);
    }
    let (mut state, stop) = if resume.rollback {
        (
            pre_completed(&plan.steps, &graphs.main.needs, &resume),
            Some(Stop {
                reason: "rolled back by `runbook recover --rollback`".to_string(),
                timed_out: false,
            }),
        )
    } else {
        run_main(
            &env,
            &plan.steps,
            &graphs.main,
            opts,
            interrupts,
            &abort,
            &resume,
        )
        .await
    };
    let mut compensation_failed = Vec::new();
    if !state.failed.is_empty() || stop.is_some() {
        compensate(
            &env,
            &plan.steps,
            &state,
            interrupts,
            &resume.undone,
            &mut compensation_failed,
        )
        .await;
    }
    let finally_failed = run_finally(
        &env,
        &plan.finally,
        &graphs.finally,
        std::mem::take(&mut state.outputs),
        opts,
        &resume.finally_done,
    )
    .await;
    compensation_failed.extend(finally_failed);
    let outcome = if !compensation_failed.is_empty() {
        Outcome::CompensationFailed
    } else if resume.rollback {
        // A completed rollback: the run failed and compensation completed.
        Outcome::Failed
    } else if let Some(stop) = &stop {
        if stop.timed_out {
            Outcome::TimedOut
        } else {
            Outcome::Interrupted
        }
    } else if !state.failed.is_empty() {
        Outcome::Failed
    } else {
        Outcome::Succeeded
    };
    let message = summary_message(
        outcome,
        &state.failed,
        &compensation_failed,
        stop.as_ref().map(|s| s.reason.as_str()),
    );
    env.emit(RunEvent::RunFinished {
        outcome,
        exit_code: outcome.exit_code(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        message: message.clone(),
    });
    RunResult {
        outcome,
        message,
        failed: state.failed,
        compensation_failed,
    }
}

fn summary_message(
    outcome: Outcome,
    failed: &[(String, String)],
    comp: &[(String, String)],
    stop: Option<&str>,
) -> String {
    let failed_txt = failed
        .iter()
        .map(|(id, e)| format!("`{id}`: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    let comp_txt = comp
        .iter()
        .map(|(id, e)| format!("`{id}`: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    match outcome {
        Outcome::Succeeded => "all steps succeeded".into(),
        Outcome::Failed if failed.is_empty() => format!(
            "{}; undo and finally steps completed",
            stop.unwrap_or("stopped")
        ),
        Outcome::Failed => format!("step failed ({failed_txt}); undo and finally steps completed"),
        Outcome::Interrupted | Outcome::TimedOut => format!(
            "{}; undo and finally steps completed",
            stop.unwrap_or("interrupted")
        ),
        Outcome::CompensationFailed => format!(
            "HUMAN ATTENTION NEEDED: compensation or finally failed ({comp_txt}){}. Fix the cause, then `runbook recover --rollback`",
            if failed_txt.is_empty() {
                String::new()
            } else {
                format!(" after a failed step ({failed_txt})")
            }
        ),
    }
}

/// Why the main graph stopped before its end (not a step failure): the reason shown, and
/// whether it was the run's `--timeout` (its own outcome and exit code) rather than a signal.
struct Stop {
    reason: String,
    timed_out: bool,
}

/// The main state with the steps of an earlier run already completed.
fn pre_completed(steps: &[Step], needs: &Edges, resume: &Resume) -> MainState {
    let mut st = MainState {
        indegree: needs.iter().map(Vec::len).collect(),
        ready: VecDeque::new(),
        outputs: Outputs::new(),
        done_order: Vec::new(),
        started: vec![false; steps.len()],
        failed: Vec::new(),
    };
    let index = |id: &str| steps.iter().position(|s| s.id == id);
    for (id, outputs) in &resume.done {
        if let Some(i) = index(id) {
            st.started[i] = true;
            st.done_order.push(i);
            st.outputs.insert(id.clone(), outputs.clone());
        }
    }
    for id in &resume.skipped {
        if let Some(i) = index(id) {
            st.started[i] = true;
        }
    }
    st
}

#[allow(clippy::too_many_arguments)]
async fn run_main(
    env: &Arc<RunEnv>,
    steps: &[Step],
    g: &StepGraph,
    opts: &RunOptions,
    interrupts: &Interrupts,
    abort: &CancellationToken,
    resume: &Resume,
) -> (MainState, Option<Stop>) {
    let mut st = pre_completed(steps, &g.needs, resume);
    let already: Vec<usize> = (0..steps.len()).filter(|&i| st.started[i]).collect();
    for i in already {
        for d in g.dependents(i) {
            st.indegree[d] -= 1;
        }
    }
    st.ready.extend(
        g.order
            .iter()
            .copied()
            .filter(|&i| st.indegree[i] == 0 && !st.started[i]),
    );
    let deadline = opts.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut running: JoinSet<(usize, StepOutcome, Duration)> = JoinSet::new();
    let mut stop_reason = None;
    loop {
        let stopping = stop_reason.is_some() || !st.failed.is_empty();
        while !stopping && running.len() < opts.max_parallel.max(1) {
            let Some(i) = st.ready.pop_front() else { break };
            st.started[i] = true;
            spawn_step(
                &mut running,
                env,
                i,
                Phase::Main,
                &st.outputs,
                abort,
                opts.max_parallel,
            );
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some(joined) = running.join_next() => {
                let Ok((i, outcome, took)) = joined else { continue };
                settle(env, steps, g, &mut st, i, outcome, took);
            }
            () = interrupts.stop.cancelled(), if stop_reason.is_none() => {
                stop_reason = Some(Stop { reason: "interrupted by signal".to_string(), timed_out: false });
                env.emit(RunEvent::Interrupted { reason: "signal received: stopping, then undo and finally".into() });
                abort.cancel();
            }
            () = sleep_until(deadline), if stop_reason.is_none() => {
                let t = opts.timeout.map(crate::plan::duration::format).unwrap_or_default();
                stop_reason = Some(Stop { reason: format!("run timed out after {t}"), timed_out: true });
                env.emit(RunEvent::Interrupted { reason: format!("run timeout ({t}) reached") });
                abort.cancel();
            }
        }
        if !st.failed.is_empty() && !abort.is_cancelled() {
            // The first unrecoverable failure: cancel the rest rather than let them finish,
            // so compensation starts as early as possible.
            abort.cancel();
        }
    }
    for (i, s) in steps.iter().enumerate() {
        if !st.started[i] {
            env.emit(RunEvent::StepSkipped {
                phase: Phase::Main,
                id: s.id.clone(),
                reason: "not started: the run stopped".into(),
            });
        }
    }
    (st, stop_reason)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn spawn_step(
    set: &mut JoinSet<(usize, StepOutcome, Duration)>,
    env: &Arc<RunEnv>,
    i: usize,
    phase: Phase,
    outputs: &Outputs,
    cancel: &CancellationToken,
    max_parallel: usize,
) {
    let env = env.clone();
    // Only the outputs this step reads travel with it.
    let steps_list = if phase == Phase::Finally {
        &env.plan.finally
    } else {
        &env.plan.steps
    };
    let step_outputs = env_outputs_for(&env, &steps_list[i], outputs);
    let cancel = cancel.clone();
    set.spawn(async move {
        let steps_list = if phase == Phase::Finally {
            &env.plan.finally
        } else {
            &env.plan.steps
        };
        let started = Instant::now();
        let outcome = run_step(
            &env,
            &steps_list[i],
            phase,
            &step_outputs,
            &cancel,
            max_parallel,
        )
        .await;
        (i, outcome, started.elapsed())
    });
}

fn env_outputs_for(env: &RunEnv, step: &Step, outputs: &Outputs) -> Outputs {
    let steps = env.steps_scope(step, outputs);
    steps
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    v.get("outputs")
                        .and_then(|o| o.as_object())
                        .map(|o| (k.clone(), o.clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn settle(
    env: &RunEnv,
    steps: &[Step],
    g: &StepGraph,
    st: &mut MainState,
    i: usize,
    outcome: StepOutcome,
    took: Duration,
) {
    let id = steps[i].id.clone();
    let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    match outcome {
        StepOutcome::Succeeded { outputs, attempts } => {
            env.emit(RunEvent::StepSucceeded {
                phase: Phase::Main,
                id: id.clone(),
                attempts,
                duration_ms: ms,
                outputs: env.masked_outputs(&steps[i], &outputs),
            });
            if steps[i].undo.is_some() {
                env.emit(RunEvent::UndoRegistered { id: id.clone() });
            }
            st.outputs.insert(id, outputs);
            st.done_order.push(i);
            release(g, st, i);
        }
        StepOutcome::Skipped { reason } => {
            env.emit(RunEvent::StepSkipped {
                phase: Phase::Main,
                id,
                reason,
            });
            // A skipped step counts as done for its dependents (they may read its outputs
            // only through `default`).
            release(g, st, i);
        }
        StepOutcome::Failed { error, attempts } => {
            env.emit(RunEvent::StepFailed {
                phase: Phase::Main,
                id: id.clone(),
                attempts,
                duration_ms: ms,
                error: error.clone(),
            });
            st.failed.push((id, error));
        }
        StepOutcome::Cancelled => {
            env.emit(RunEvent::StepFailed {
                phase: Phase::Main,
                id,
                attempts: 0,
                duration_ms: ms,
                error: "cancelled".into(),
            });
        }
    }
}

fn release(g: &StepGraph, st: &mut MainState, i: usize) {
    let mut newly: Vec<usize> = g
        .dependents(i)
        .filter(|&d| {
            st.indegree[d] -= 1;
            st.indegree[d] == 0
        })
        .collect();
    newly.sort_unstable();
    st.ready.extend(newly);
}

async fn compensate(
    env: &RunEnv,
    steps: &[Step],
    st: &MainState,
    interrupts: &Interrupts,
    undone: &[String],
    failed: &mut Vec<(String, String)>,
) {
    for &i in st.done_order.iter().rev() {
        let step = &steps[i];
        if step.undo.is_none() || undone.contains(&step.id) {
            continue;
        }
        if interrupts.skip_undo.is_cancelled() {
            env.emit(RunEvent::StepSkipped {
                phase: Phase::Undo,
                id: step.id.clone(),
                reason: "second interrupt: undo skipped, going to finally".into(),
            });
            continue;
        }
        let started = Instant::now();
        // An undo is cancelled only by a second interrupt.
        let outcome = run_undo(env, step, &st.outputs, &interrupts.skip_undo).await;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match outcome {
            StepOutcome::Succeeded { attempts, .. } => env.emit(RunEvent::StepSucceeded {
                phase: Phase::Undo,
                id: step.id.clone(),
                attempts,
                duration_ms: ms,
                outputs: serde_json::Map::new(),
            }),
            StepOutcome::Failed { error, attempts } => {
                env.emit(RunEvent::StepFailed {
                    phase: Phase::Undo,
                    id: step.id.clone(),
                    attempts,
                    duration_ms: ms,
                    error: error.clone(),
                });
                failed.push((format!("undo {}", step.id), error));
            }
            StepOutcome::Cancelled => {
                env.emit(RunEvent::StepSkipped {
                    phase: Phase::Undo,
                    id: step.id.clone(),
                    reason: "second interrupt: undo cancelled".into(),
                });
                failed.push((
                    format!("undo {}", step.id),
                    "cancelled by a second interrupt".into(),
                ));
            }
            StepOutcome::Skipped { .. } => {}
        }
    }
}

/// Runs the finally graph to its end: nothing interrupts it. A failed finally step fails
/// the run's compensation; steps that need it are skipped, the others still run.
async fn run_finally(
    env: &Arc<RunEnv>,
    steps: &[Step],
    g: &StepGraph,
    main_outputs: Outputs,
    opts: &RunOptions,
    already: &[String],
) -> Vec<(String, String)> {
    let needs = &g.needs;
    let mut indegree: Vec<usize> = needs.iter().map(Vec::len).collect();
    let mut blocked = vec![false; steps.len()];
    let mut ready: VecDeque<usize> = g
        .order
        .iter()
        .copied()
        .filter(|&i| indegree[i] == 0)
        .collect();
    // Taken, not copied: on a 10k-step run the copy was a step up in peak memory.
    let mut outputs = main_outputs;
    let mut failed = Vec::new();
    let never = CancellationToken::new();
    let mut running: JoinSet<(usize, StepOutcome, Duration)> = JoinSet::new();
    loop {
        while running.len() < opts.max_parallel.max(1) {
            let Some(i) = ready.pop_front() else { break };
            if blocked[i] || already.contains(&steps[i].id) {
                let reason = if blocked[i] {
                    "a finally step it needs failed"
                } else {
                    "already succeeded in the interrupted run"
                };
                env.emit(RunEvent::StepSkipped {
                    phase: Phase::Finally,
                    id: steps[i].id.clone(),
                    reason: reason.into(),
                });
                let ok = !blocked[i];
                for d in g.dependents(i) {
                    blocked[d] |= !ok;
                    indegree[d] -= 1;
                    if indegree[d] == 0 {
                        ready.push_back(d);
                    }
                }
                continue;
            }
            spawn_step(
                &mut running,
                env,
                i,
                Phase::Finally,
                &outputs,
                &never,
                opts.max_parallel,
            );
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let Ok((i, outcome, took)) = joined else {
            continue;
        };
        let id = steps[i].id.clone();
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let ok = match outcome {
            StepOutcome::Succeeded {
                outputs: o,
                attempts,
            } => {
                env.emit(RunEvent::StepSucceeded {
                    phase: Phase::Finally,
                    id: id.clone(),
                    attempts,
                    duration_ms: ms,
                    outputs: env.masked_outputs(&steps[i], &o),
                });
                outputs.insert(id, o);
                true
            }
            StepOutcome::Skipped { reason } => {
                env.emit(RunEvent::StepSkipped {
                    phase: Phase::Finally,
                    id,
                    reason,
                });
                true
            }
            StepOutcome::Failed { error, attempts } => {
                env.emit(RunEvent::StepFailed {
                    phase: Phase::Finally,
                    id: id.clone(),
                    attempts,
                    duration_ms: ms,
                    error: error.clone(),
                });
                failed.push((id, error));
                false
            }
            StepOutcome::Cancelled => false,
        };
        for d in g.dependents(i) {
            blocked[d] |= !ok;
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.push_back(d);
            }
        }
    }
    failed
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
