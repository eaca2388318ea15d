//! step_runner: runs ONE step to its end: `when`, `for_each` fan-out, attempts with retries
//! and backoff, the per-attempt timeout, `check`, `outputs`, and for `wait` the polling loop
//! with adaptive backoff. Also runs an undo, and decides when a step's `before_retry`
//! clean-up runs (before a repeated attempt; `run::before_retry` makes the calls). It talks
//! to executors only through the `Executor` trait and knows nothing of the graph: the
//! scheduler decides what runs when.

use std::time::Duration;

use tokio::time::Instant;

use futures::StreamExt;
use serde_json::{Map, Value as Json};
use tokio_util::sync::CancellationToken;

use crate::executor::{ActionRequest, ActionResult, StepError};
use crate::plan::{Action, Step, WaitAction};
use crate::run::context::{Outputs, RunEnv, jitter};
use crate::run::effects::EffectStatus;
use crate::run::events::{Phase, RunEvent};

/// How a step ended.
#[derive(Clone, Debug, PartialEq)]
pub enum StepOutcome {
    Succeeded {
        outputs: Map<String, Json>,
        attempts: u32,
    },
    Failed {
        error: String,
        attempts: u32,
    },
    Skipped {
        reason: String,
    },
    Cancelled,
}

/// One attempt's failure, classified.
struct AttemptError {
    message: String,
    retryable: bool,
    cancelled: bool,
    /// Whether the attempt may have had an effect on its target.
    reached: bool,
    /// Set when the action worked but its `check` does not hold yet: what the response
    /// showed (its state or status). A retry then reads as progress, not as a failure: a
    /// bounded grace for "scheduled but not visible yet" is normal on every run.
    not_yet: Option<Json>,
}

impl From<StepError> for AttemptError {
    fn from(e: StepError) -> Self {
        Self {
            retryable: e.retryable(),
            cancelled: matches!(e, StepError::Cancelled),
            reached: e.reached(),
            message: e.summary(),
            not_yet: None,
        }
    }
}

impl AttemptError {
    /// A failure found before anything was sent (rendering, a bad expression).
    fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            cancelled: false,
            reached: false,
            not_yet: None,
        }
    }

    /// A failure after the action ran (a `check`, an output, a version): it reached.
    fn after_action(message: impl Into<String>, retryable: bool) -> Self {
        Self {
            message: message.into(),
            retryable,
            cancelled: false,
            reached: true,
            not_yet: None,
        }
    }

    /// A final failure found after the action ran.
    fn late(message: impl Into<String>) -> Self {
        Self::after_action(message, false)
    }

    fn cancelled() -> Self {
        Self {
            message: "cancelled".into(),
            retryable: false,
            cancelled: true,
            reached: true,
            not_yet: None,
        }
    }
}

/// Runs `step` in `phase` with the outputs finished so far, and records how it ended in
/// the run's effects.
pub async fn run_step(
    env: &RunEnv,
    step: &Step,
    phase: Phase,
    outputs: &Outputs,
    cancel: &CancellationToken,
    max_parallel: usize,
) -> StepOutcome {
    let outcome = run_step_body(env, step, phase, outputs, cancel, max_parallel).await;
    let status = match &outcome {
        StepOutcome::Succeeded { .. } => Some(EffectStatus::Succeeded),
        StepOutcome::Failed { .. } => Some(EffectStatus::Failed),
        StepOutcome::Cancelled => Some(EffectStatus::Interrupted),
        StepOutcome::Skipped { .. } => None,
    };
    if let Some(status) = status {
        env.effects.finished(&step.id, status);
    }
    outcome
}

async fn run_step_body(
    env: &RunEnv,
    step: &Step,
    phase: Phase,
    outputs: &Outputs,
    cancel: &CancellationToken,
    max_parallel: usize,
) -> StepOutcome {
    let steps = env.steps_scope(step, outputs);
    let null = Json::Null;
    let ctx = env.scope(&steps, &null);
    let effects = env.effects_scope(step);
    if let Some(when) = &step.when {
        match when.truthy(&ctx, &env.jq_vars(&steps, &effects, &null)) {
            Ok(true) => {}
            Ok(false) => {
                return StepOutcome::Skipped {
                    reason: format!("`when` is false: {}", when.source),
                };
            }
            Err(e) => {
                return StepOutcome::Failed {
                    error: format!("`when` failed: {e}"),
                    attempts: 0,
                };
            }
        }
    }
    let Some(for_each) = &step.for_each else {
        if let Err(error) = crate::run::confirm::gate(env, step, phase, &steps, None).await {
            return StepOutcome::Failed {
                error: error.to_string(),
                attempts: 0,
            };
        }
        return run_item(env, step, phase, &steps, (None, Json::Null), cancel).await;
    };
    let items = match for_each.eval(&ctx, &env.jq_vars(&steps, &effects, &null)) {
        Ok(Json::Array(items)) => items,
        Ok(other) => {
            return StepOutcome::Failed {
                error: format!("`for_each` must yield a list, got {}", short(&other)),
                attempts: 0,
            };
        }
        Err(e) => {
            return StepOutcome::Failed {
                error: format!("`for_each` failed: {e}"),
                attempts: 0,
            };
        }
    };
    env.effects.items_known(&step.id, &items);
    if step.destructive {
        let todo: Vec<(usize, Json)> = items
            .iter()
            .cloned()
            .enumerate()
            .filter(|(i, item)| env.item_done_earlier(&step.id, *i, item).is_none())
            .collect();
        if let Err(error) = crate::run::confirm::gate(env, step, phase, &steps, Some(&todo)).await {
            return StepOutcome::Failed {
                error: error.to_string(),
                attempts: 0,
            };
        }
    }
    let max_parallel = step.parallelism.unwrap_or(max_parallel);
    run_items(env, step, phase, &steps, items, cancel, max_parallel).await
}

/// Fans out over `items`; outputs become lists in item order.
async fn run_items(
    env: &RunEnv,
    step: &Step,
    phase: Phase,
    steps: &Json,
    items: Vec<Json>,
    cancel: &CancellationToken,
    max_parallel: usize,
) -> StepOutcome {
    let count = items.len();
    // Once an item fails, no further item starts (those running end on their own): a
    // fan-out of deletions must not go on after one of them failed.
    let failed = std::sync::atomic::AtomicBool::new(false);
    let failed = &failed;
    let results: Vec<(usize, StepOutcome)> = futures::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| async move {
            if failed.load(std::sync::atomic::Ordering::SeqCst) {
                return (
                    i,
                    StepOutcome::Skipped {
                        reason: "an earlier item failed".into(),
                    },
                );
            }
            if let Some(outputs) = env.item_done_earlier(&step.id, i, &item) {
                env.effects.item_ended(&step.id, i, true);
                return (
                    i,
                    StepOutcome::Succeeded {
                        outputs,
                        attempts: 0,
                    },
                );
            }
            let outcome = run_item(env, step, phase, steps, (Some(i), item.clone()), cancel).await;
            let ok = matches!(outcome, StepOutcome::Succeeded { .. });
            env.effects.item_ended(&step.id, i, ok);
            if let StepOutcome::Succeeded { outputs, .. } = &outcome {
                env.emit_durable(RunEvent::ItemSucceeded {
                    phase,
                    id: step.id.clone(),
                    index: i,
                    item: env.stored(&item),
                    outputs: env.masked_outputs(step, outputs),
                })
                .await;
            }
            if matches!(outcome, StepOutcome::Failed { .. } | StepOutcome::Cancelled) {
                failed.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            (i, outcome)
        })
        .buffer_unordered(max_parallel.max(1))
        .collect()
        .await;
    let mut ordered: Vec<Option<StepOutcome>> = vec![None; count];
    for (i, r) in results {
        ordered[i] = Some(r);
    }
    let mut lists: Map<String, Json> = step
        .outputs
        .iter()
        .map(|o| (o.name.clone(), Json::Array(Vec::new())))
        .collect();
    let mut attempts = 0;
    for r in ordered.into_iter().flatten() {
        match r {
            StepOutcome::Succeeded {
                outputs,
                attempts: a,
            } => {
                attempts += a;
                for (k, v) in outputs {
                    if let Some(Json::Array(list)) = lists.get_mut(&k) {
                        list.push(v);
                    }
                }
            }
            failed @ (StepOutcome::Failed { .. } | StepOutcome::Cancelled) => return failed,
            StepOutcome::Skipped { .. } => {}
        }
    }
    StepOutcome::Succeeded {
        outputs: lists,
        attempts,
    }
}

/// Runs one item (`index` is its place in the `for_each` list; `None` for a plain step).
async fn run_item(
    env: &RunEnv,
    step: &Step,
    phase: Phase,
    steps: &Json,
    (index, item): (Option<usize>, Json),
    cancel: &CancellationToken,
) -> StepOutcome {
    let scope = env.scope(steps, &item);
    let item_field = (step.for_each.is_some()).then(|| env.stored(&item));
    let policy = &crate::run::retry_policy::for_step(step);
    let mut attempt = 0;
    loop {
        attempt += 1;
        env.effects.attempt_started(&step.id, index);
        env.emit_durable(RunEvent::StepStarted {
            phase,
            id: step.id.clone(),
            attempt,
            item: item_field.clone(),
        })
        .await;
        let result =
            match before_retry(env, step, phase, (steps, &scope, &item), attempt, cancel).await {
                Ok(()) => attempt_once(env, step, &scope, steps, &item, cancel).await,
                Err(e) => Err(e),
            };
        let reached = result.as_ref().map_or_else(|e| e.reached, |_| true);
        env.effects.attempt_ended(&step.id, index, reached);
        match result {
            Ok(outputs) => {
                return StepOutcome::Succeeded {
                    outputs,
                    attempts: attempt,
                };
            }
            Err(e) if e.cancelled || cancel.is_cancelled() => return StepOutcome::Cancelled,
            Err(e) if e.retryable && attempt < policy.attempts => {
                let delay = jitter(policy.backoff(attempt), policy.jitter);
                if announce_and_wait(env, (phase, &step.id), attempt, delay, &e, cancel).await {
                    return StepOutcome::Cancelled;
                }
            }
            Err(e) => {
                return StepOutcome::Failed {
                    error: env.redact(&e.message),
                    attempts: attempt,
                };
            }
        }
    }
}

/// Runs the step's `before_retry` when this attempt repeats an earlier one: a retry, or the
/// first attempt of a step or item an earlier run of the journal started and did not finish.
/// A failed clean-up fails the attempt (it may have removed something: it reached).
async fn before_retry(
    env: &RunEnv,
    step: &Step,
    phase: Phase,
    (steps, scope, item): (&Json, &Json, &Json),
    attempt: u32,
    cancel: &CancellationToken,
) -> Result<(), AttemptError> {
    let Some(b) = &step.before_retry else {
        return Ok(());
    };
    let for_each = step.for_each.is_some();
    if attempt == 1 && !env.started_earlier(&step.id, for_each.then_some(item)) {
        return Ok(());
    }
    let at = crate::run::before_retry::ItemScope {
        phase,
        steps,
        scope,
        item,
        for_each,
    };
    crate::run::before_retry::run(env, step, b, &at, cancel)
        .await
        .map_err(|e| AttemptError {
            message: e.message,
            retryable: e.retryable,
            cancelled: e.cancelled,
            reached: true,
            not_yet: None,
        })
}

/// A step that captures a secret output keeps its response bodies out of `-vv` logs: the
/// secret is masked only once it is captured, after the body was read.
fn withhold_secret_bodies(step: &Step, request: &mut ActionRequest) {
    if step.outputs.iter().any(|o| o.secret) {
        request.withhold_response_body();
    }
}

/// One attempt: the action (bounded by the step timeout), then `check` and `outputs`.
async fn attempt_once(
    env: &RunEnv,
    step: &Step,
    scope: &Json,
    steps: &Json,
    item: &Json,
    cancel: &CancellationToken,
) -> Result<Map<String, Json>, AttemptError> {
    let run = async {
        match &step.action {
            Action::Wait(w) => poll(env, step, w, scope, steps, item, cancel).await,
            action => {
                let mut request = env
                    .request(action, scope)
                    .map_err(|e| AttemptError::fatal(format!("cannot render the request: {e}")))?;
                withhold_secret_bodies(step, &mut request);
                env.executor
                    .execute(&request, cancel)
                    .await
                    .map_err(AttemptError::from)
            }
        }
    };
    let result = match step.timeout.as_ref().and_then(|t| t.resolve(&env.params)) {
        Some(t) => tokio::time::timeout(t, run).await.unwrap_or_else(|_| {
            Err(AttemptError::after_action(
                format!("timed out after {}", crate::plan::duration::format(t)),
                true,
            ))
        }),
        None => run.await,
    }?;
    let effects = env.effects_scope(step);
    let vars = env.jq_vars(steps, &effects, item);
    if let Some(check) = &step.check {
        let value = check
            .eval(&result.value, &vars)
            .map_err(|e| AttemptError::after_action(format!("`check` failed: {e}"), false))?;
        let problems = match Verdict::of(&value) {
            Verdict::Pass => None,
            Verdict::Fail => Some(Vec::new()),
            Verdict::Problems(p) => Some(p),
        };
        if let Some(problems) = problems {
            let msg = step
                .check_message
                .as_ref()
                .and_then(|m| m.render(scope).ok())
                .unwrap_or_else(|| format!("`check` is false: {}", check.source));
            return Err(AttemptError {
                not_yet: Some(seen_by(env, &result.value)),
                ..AttemptError::after_action(with_problems(&msg, &problems, &result.value), true)
            });
        }
    }
    if let Some(v) = &step.version {
        check_version(v, &result, &vars)?;
    }
    outputs(env, step, &result, &vars)
}

/// The version the result reports must satisfy the plan's `requires`; a mismatch is final.
fn check_version(
    v: &crate::plan::VersionCheck,
    result: &ActionResult,
    vars: &crate::plan::jq::JqVars<'_>,
) -> Result<(), AttemptError> {
    let found = v
        .from
        .eval(&result.value, vars)
        .map_err(|e| AttemptError::late(format!("`version.from` failed: {e}")))?;
    if found.is_null() || found.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Err(AttemptError::late(format!(
            "{} reports no version (`version.from` gave {}); a plan may offer a param to state it",
            v.app,
            if found.is_null() { "null" } else { "\"\"" }
        )));
    }
    let text = crate::plan::template::display(&found);
    let parsed = semver::Version::parse(text.trim().trim_start_matches('v')).map_err(|e| {
        AttemptError::late(format!(
            "{} reports version {text:?}, which is not a version ({e})",
            v.app
        ))
    })?;
    if v.constraint.matches(&parsed) {
        Ok(())
    } else {
        Err(AttemptError::late(format!(
            "{} is {parsed}, but this plan requires {} {}",
            v.app, v.app, v.text
        )))
    }
}

fn outputs(
    env: &RunEnv,
    step: &Step,
    result: &ActionResult,
    vars: &crate::plan::jq::JqVars<'_>,
) -> Result<Map<String, Json>, AttemptError> {
    let mut out = Map::new();
    for o in &step.outputs {
        let v =
            o.jq.eval(&result.value, vars)
                .map_err(|e| AttemptError::late(format!("output `{}`: {e}", o.name)))?;
        if o.secret
            && let Ok(mut r) = env.redactor.lock()
        {
            r.add(crate::plan::template::display(&v));
        }
        out.insert(o.name.clone(), v);
    }
    Ok(out)
}

/// Polls the probe until `until` holds, `fail_if` holds, or the wait times out. The
/// interval starts at `interval` and grows by half each poll up to `max_interval`, so a
/// completion is seen soon without hammering the server.
async fn poll(
    env: &RunEnv,
    step: &Step,
    w: &WaitAction,
    scope: &Json,
    steps: &Json,
    item: &Json,
    cancel: &CancellationToken,
) -> Result<ActionResult, AttemptError> {
    let mut request = env
        .request(&w.probe, scope)
        .map_err(|e| AttemptError::fatal(format!("cannot render the request: {e}")))?;
    withhold_secret_bodies(step, &mut request);
    let started = Instant::now();
    let effects = env.effects_scope(step);
    let vars = env.jq_vars(steps, &effects, item);
    let mut interval = w.interval;
    let mut last_seen = Json::Null;
    for n in 1u32.. {
        match env.executor.execute(&request, cancel).await {
            Ok(result) => {
                note_change(env, step, n, seen_by(env, &result.value), &mut last_seen);
                if let Some(f) = &w.fail_if {
                    let value = f
                        .eval(&result.value, &vars)
                        .map_err(|e| AttemptError::late(format!("`fail_if` failed: {e}")))?;
                    if let Some(problems) = fail_if_holds(&value) {
                        return Err(AttemptError::late(if problems.is_empty() {
                            format!("`fail_if` holds ({}): {}", f.source, shown(&result.value))
                        } else {
                            problems.join("; ")
                        }));
                    }
                }
                if w.until
                    .truthy(&result.value, &vars)
                    .map_err(|e| AttemptError::late(format!("`until` failed: {e}")))?
                {
                    return Ok(result);
                }
            }
            Err(StepError::Cancelled) => return Err(AttemptError::cancelled()),
            // A transient error while polling (connection reset, 503) is one bad poll, not the
            // end of the wait.
            Err(e) if e.retryable() => {
                let seen = serde_json::json!({ "error": env.redact(&e.summary()) });
                note_change(env, step, n, seen, &mut last_seen);
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(timeout) = w.timeout.as_ref().and_then(|t| t.resolve(&env.params))
            && started.elapsed() + interval > timeout
        {
            let last = if last_seen.is_null() {
                "nothing observed".to_string()
            } else {
                // Room for a command's own error line (`exit 1: Error from server (Forbidden):
                // ...`), the reason a wait never ended.
                format!("last observed {}", cut(&last_seen, 400))
            };
            return Err(AttemptError::late(format!(
                "wait timed out after {} ({last})",
                crate::plan::duration::format(timeout)
            )));
        }
        if sleep_or_cancel(interval, cancel).await {
            return Err(AttemptError::cancelled());
        }
        interval = next_interval(interval, w.interval, w.max_interval, started.elapsed());
    }
    Err(AttemptError::fatal("wait ended"))
}

/// Records what a poll saw when it differs from the last observation: the journal and the
/// progress output keep changes only.
fn note_change(env: &RunEnv, step: &Step, poll: u32, seen: Json, last: &mut Json) {
    if seen != *last {
        env.emit(RunEvent::WaitPolled {
            id: step.id.clone(),
            poll,
            observed: seen.clone(),
        });
        *last = seen;
    }
}

/// The delay before the next poll: half as long again as the last one, up to
/// `max_interval`, yet never more than 2 % of the time already waited (nor less than the
/// first interval). So a wait starts fast, stays gentle on the server, and sees a completion
/// within about 2 % of how long it has been waiting, however long that is.
pub fn next_interval(
    current: Duration,
    first: Duration,
    max: Duration,
    waited: Duration,
) -> Duration {
    let grown = current.mul_f64(1.5).min(max);
    let bound = waited.mul_f64(0.02).max(first);
    grown.min(bound)
}

/// [`observed`] with the run's secrets masked (it may quote a command's stderr).
fn seen_by(env: &RunEnv, v: &Json) -> Json {
    match observed(v) {
        Json::String(s) => Json::String(env.redact(&s)),
        other => other,
    }
}

/// What a poll shows in progress output: the body's `state` when there is one (also an
/// Elasticsearch snapshot's), else the HTTP status or the exit code.
fn observed(v: &Json) -> Json {
    let body = v.get("body").unwrap_or(v);
    if let Some(state) = body
        .get("state")
        .or_else(|| body.pointer("/snapshots/0/state"))
    {
        return state.clone();
    }
    if let Some(status) = v.get("status") {
        return status.clone();
    }
    match v.get("exit_code") {
        // A failing command's last words (kubectl's `Error from server (Forbidden): ...`):
        // without them a wait that times out on a refused call says only "exit 1".
        Some(code) if code.as_i64() != Some(0) => {
            let said = v
                .get("stderr")
                .and_then(Json::as_str)
                .and_then(|e| e.lines().rev().find(|l| !l.trim().is_empty()));
            Json::String(match said {
                Some(line) => format!("exit {code}: {}", line.trim()),
                None => format!("exit {code}"),
            })
        }
        Some(code) => Json::String(format!("exit {code}")),
        None => Json::Null,
    }
}

/// Compensation must try hard: an undo is retried at least this often when it fails
/// retryably, even without a `retry` block.
const MIN_UNDO_ATTEMPTS: u32 = 3;

/// Runs an undo action with its own retry policy. Never cancelled by the run's interrupt:
/// the scheduler decides whether to start it.
pub async fn run_undo(
    env: &RunEnv,
    step: &Step,
    outputs: &Outputs,
    cancel: &CancellationToken,
) -> StepOutcome {
    let Some(undo) = &step.undo else {
        return StepOutcome::Skipped {
            reason: "no undo".into(),
        };
    };
    let steps = env.steps_scope(step, outputs);
    let scope = env.scope(&steps, &Json::Null);
    let mut attempt = 0;
    loop {
        attempt += 1;
        env.emit_durable(RunEvent::StepStarted {
            phase: Phase::Undo,
            id: step.id.clone(),
            attempt,
            item: None,
        })
        .await;
        let result = match env.request(&undo.action, &scope) {
            Err(e) => Err(AttemptError::fatal(format!("cannot render the undo: {e}"))),
            Ok(req) => {
                execute_bounded(
                    env,
                    &req,
                    undo.timeout.as_ref().and_then(|t| t.resolve(&env.params)),
                    cancel,
                )
                .await
            }
        };
        match result {
            Ok(_) => {
                return StepOutcome::Succeeded {
                    outputs: Map::new(),
                    attempts: attempt,
                };
            }
            Err(e) if e.cancelled => return StepOutcome::Cancelled,
            Err(e) if e.retryable && attempt < undo.retry.attempts.max(MIN_UNDO_ATTEMPTS) => {
                let delay = jitter(undo.retry.backoff(attempt), undo.retry.jitter);
                let id = (Phase::Undo, &step.id);
                if announce_and_wait(env, id, attempt, delay, &e, cancel).await {
                    return StepOutcome::Cancelled;
                }
            }
            Err(e) => {
                return StepOutcome::Failed {
                    error: env.redact(&e.message),
                    attempts: attempt,
                };
            }
        }
    }
}

/// Records that attempt `attempt` of step `id` failed and is retried after `delay`, then
/// waits; `true` when the run was cancelled meanwhile.
async fn announce_and_wait(
    env: &RunEnv,
    (phase, id): (Phase, &String),
    attempt: u32,
    delay: Duration,
    e: &AttemptError,
    cancel: &CancellationToken,
) -> bool {
    env.emit(RunEvent::StepRetrying {
        phase,
        id: id.clone(),
        attempt,
        delay_ms: millis(delay),
        error: env.redact(&e.message),
        not_yet: e.not_yet.clone(),
    });
    sleep_or_cancel(delay, cancel).await
}

async fn execute_bounded(
    env: &RunEnv,
    req: &ActionRequest,
    timeout: Option<Duration>,
    cancel: &CancellationToken,
) -> Result<ActionResult, AttemptError> {
    let fut = env.executor.execute(req, cancel);
    match timeout {
        Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
            Err(StepError::Transport {
                message: format!("timed out after {}", crate::plan::duration::format(t)),
                kind: crate::executor::TransportKind::Timeout,
            })
        }),
        None => fut.await,
    }
    .map_err(AttemptError::from)
}

/// Sleeps; true if cancelled first.
async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        () = cancel.cancelled() => true,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An action's result for a message: without HTTP headers (noise there), cut short.
fn shown(v: &Json) -> String {
    match v {
        Json::Object(m) if m.contains_key("headers") => {
            let mut m = m.clone();
            m.remove("headers");
            short(&Json::Object(m))
        }
        _ => short(v),
    }
}

/// What a `check` (or `fail_if`) value says. Besides jq truthiness, a check may name the
/// problems it found, so the user is told which precondition failed rather than every
/// possible one: a non-empty string, or an array of strings (non-empty), lists the problems;
/// `""` and `[]` mean "none".
#[derive(Debug, PartialEq)]
enum Verdict {
    Pass,
    /// `false` or `null`: failed, with no more to say than `check_message`.
    Fail,
    Problems(Vec<String>),
}

impl Verdict {
    fn of(v: &Json) -> Verdict {
        match v {
            Json::Null | Json::Bool(false) => Verdict::Fail,
            Json::String(s) if s.trim().is_empty() => Verdict::Pass,
            Json::String(s) => Verdict::Problems(vec![s.clone()]),
            Json::Array(a) if a.is_empty() => Verdict::Pass,
            // Only a list of strings is a list of problems: any other array stays a plain
            // truthy value, as it was before problems existed.
            Json::Array(a) if a.iter().all(Json::is_string) => Verdict::Problems(
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect(),
            ),
            _ => Verdict::Pass,
        }
    }
}

/// Whether a `fail_if` value holds, with the problems it names (none: a plain truthy value).
/// `false`, `null`, `""` and `[]` do not hold; a string or a list of strings holds and is
/// the message, e.g. "snapshot X is PARTIAL: 2 shards failed".
fn fail_if_holds(v: &Json) -> Option<Vec<String>> {
    match Verdict::of(v) {
        Verdict::Fail => None,
        Verdict::Problems(p) => Some(p),
        Verdict::Pass => match v {
            Json::String(_) => None,
            Json::Array(a) if a.is_empty() => None,
            _ => Some(Vec::new()),
        },
    }
}

/// The message of a failed `check`: with named problems, the message and the problems (the
/// user knows what to fix; the raw result is not needed); without, the message and the
/// result cut short.
fn with_problems(msg: &str, problems: &[String], result: &Json) -> String {
    if problems.is_empty() {
        format!("{msg} (result: {})", shown(result))
    } else {
        format!("{msg}: {}", problems.join("; "))
    }
}

/// A JSON value cut short for messages.
pub fn short(v: &Json) -> String {
    cut(v, 200)
}

/// A JSON value cut to `n` characters.
fn cut(v: &Json, n: usize) -> String {
    let s = v.to_string();
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::{Verdict, fail_if_holds, next_interval, with_problems};
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn a_check_may_name_its_problems() {
        assert_eq!(Verdict::of(&json!(true)), Verdict::Pass);
        assert_eq!(Verdict::of(&json!([])), Verdict::Pass);
        assert_eq!(Verdict::of(&json!("")), Verdict::Pass);
        assert_eq!(Verdict::of(&json!({"a": 1})), Verdict::Pass);
        assert_eq!(Verdict::of(&json!(3)), Verdict::Pass);
        assert_eq!(Verdict::of(&json!([1, 2])), Verdict::Pass);
        assert_eq!(Verdict::of(&json!(false)), Verdict::Fail);
        assert_eq!(Verdict::of(&json!(null)), Verdict::Fail);
        assert_eq!(
            Verdict::of(&json!("no PVCs")),
            Verdict::Problems(vec!["no PVCs".into()])
        );
        assert_eq!(
            Verdict::of(&json!(["no PVCs", "chart 12.0.2"])),
            Verdict::Problems(vec!["no PVCs".into(), "chart 12.0.2".into()])
        );
    }

    #[test]
    fn fail_if_may_name_its_problems() {
        assert_eq!(fail_if_holds(&json!(false)), None);
        assert_eq!(fail_if_holds(&json!(null)), None);
        assert_eq!(fail_if_holds(&json!("")), None);
        assert_eq!(fail_if_holds(&json!([])), None);
        assert_eq!(fail_if_holds(&json!(true)), Some(vec![]));
        assert_eq!(fail_if_holds(&json!({"state": "FAILED"})), Some(vec![]));
        assert_eq!(
            fail_if_holds(&json!("snapshot s is PARTIAL: 2 shards failed")),
            Some(vec!["snapshot s is PARTIAL: 2 shards failed".into()])
        );
    }

    #[test]
    fn named_problems_replace_the_result_dump() {
        let result = json!({"stdout": {"items": vec!["x"; 40]}});
        let named = with_problems("cannot restore", &["no PVCs".into()], &result);
        assert_eq!(named, "cannot restore: no PVCs");
        let bare = with_problems("cannot restore", &[], &result);
        assert!(bare.starts_with("cannot restore (result: {"), "{bare}");
    }

    #[test]
    fn poll_interval_grows_by_half_within_two_percent_of_the_wait() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        // Early: held at the first interval.
        assert_eq!(next_interval(ms(250), ms(250), s(2), s(3)), ms(250));
        // After 100 s: may grow by half (375 ms), under the 2 s bound.
        assert_eq!(next_interval(ms(250), ms(250), s(2), s(100)), ms(375));
        // 2 % of the wait binds before 1.5x does.
        assert_eq!(next_interval(s(1), ms(250), s(5), s(60)), ms(1200));
        // Long waits reach max_interval and stay there.
        assert_eq!(next_interval(s(2), ms(250), s(2), s(600)), s(2));
    }
}
