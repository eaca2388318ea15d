//! before_retry: runs a step's `before_retry` clean-up before an attempt that repeats an
//! earlier one (a retry, or the first attempt of a step or item a resumed run's journal shows
//! as started and not finished). It renders the calls in the item's scope, journals them
//! (one `before_retry` event) and makes them; the step runner decides when it runs and how a
//! failure counts. It must not retry on its own: a failed clean-up fails that attempt, and
//! the step's retry policy decides whether another one (with its clean-up) follows.

use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use crate::executor::StepError;
use crate::plan::{BeforeRetry, Step};
use crate::run::confirm::call_line;
use crate::run::context::RunEnv;
use crate::run::events::{Phase, RunEvent};

/// Why a clean-up failed; it fails the attempt it preceded.
pub struct CleanupFailed {
    pub message: String,
    pub retryable: bool,
    pub cancelled: bool,
}

impl From<StepError> for CleanupFailed {
    fn from(e: StepError) -> Self {
        Self {
            retryable: e.retryable(),
            cancelled: matches!(e, StepError::Cancelled),
            message: format!("`before_retry` failed: {}", e.summary()),
        }
    }
}

fn fatal(message: String) -> CleanupFailed {
    CleanupFailed {
        message: format!("`before_retry` failed: {message}"),
        retryable: false,
        cancelled: false,
    }
}

/// Where a clean-up runs: the step, its item (`None` for a plain step), and the scope the
/// item's attempts render in.
pub struct ItemScope<'a> {
    pub phase: Phase,
    pub steps: &'a Json,
    pub scope: &'a Json,
    pub item: &'a Json,
    pub for_each: bool,
}

/// Runs `b` for one item: without `find`, its call once; with `find`, the read-only call,
/// then `select` over its result, then the call once per selected string (`{{leftover}}`).
pub async fn run(
    env: &RunEnv,
    step: &Step,
    b: &BeforeRetry,
    at: &ItemScope<'_>,
    cancel: &CancellationToken,
) -> Result<(), CleanupFailed> {
    let leftovers = match (&b.find, &b.select) {
        (Some(find), Some(select)) => {
            Some(find_leftovers(env, step, find, select, at, cancel).await?)
        }
        _ => None,
    };
    let scopes: Vec<Json> = match &leftovers {
        None => vec![at.scope.clone()],
        Some(list) => list
            .iter()
            .map(|l| {
                let mut s = at.scope.clone();
                s["leftover"] = l.clone();
                s
            })
            .collect(),
    };
    let mut requests = Vec::new();
    for s in &scopes {
        requests.push(
            env.request(&b.action, s)
                .map_err(|e| fatal(format!("cannot render the request: {e}")))?,
        );
    }
    env.emit_durable(RunEvent::BeforeRetry {
        phase: at.phase,
        id: step.id.clone(),
        item: at.for_each.then(|| env.stored(at.item)),
        calls: requests
            .iter()
            .map(|r| Json::String(call_line(r)))
            .collect(),
    })
    .await;
    for r in &requests {
        env.executor.execute(r, cancel).await?;
    }
    Ok(())
}

/// The strings `select` yields over `find`'s result: what the earlier attempt left.
async fn find_leftovers(
    env: &RunEnv,
    step: &Step,
    find: &crate::plan::Action,
    select: &crate::plan::jq::Jq,
    at: &ItemScope<'_>,
    cancel: &CancellationToken,
) -> Result<Vec<Json>, CleanupFailed> {
    let request = env
        .request(find, at.scope)
        .map_err(|e| fatal(format!("cannot render `find`: {e}")))?;
    let result = env.executor.execute(&request, cancel).await?;
    let effects = env.effects_scope(step);
    let vars = env.jq_vars(at.steps, &effects, at.item);
    match select.eval(&result.value, &vars) {
        Ok(Json::Array(list)) if list.iter().all(Json::is_string) => Ok(list),
        Ok(Json::Null) => Ok(Vec::new()),
        Ok(other) => Err(fatal(format!(
            "`select` must yield a list of strings, got {}",
            crate::plan::template::display(&other)
        ))),
        Err(e) => Err(fatal(format!("`select` failed: {e}"))),
    }
}
