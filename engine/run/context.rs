//! context: what every step of one run shares: the plan, the executor, resolved params,
//! rendered targets, the run's identity, the event sink and the redactor. It also builds
//! the template/jq scope of a step and renders a step's action into the executor's request
//! (`rendered_request`).
//! It decides nothing about ordering or retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value as Json, json};

use crate::executor::{ActionRequest, Executor};
use crate::plan::jq::JqVars;
use crate::plan::reads::PlanReads;
use crate::plan::{Action, Plan, Step};
use crate::run::effects::Effects;
use crate::run::events::RunEvent;
use crate::run::redact::Redactor;
use crate::run::rendered_request::RenderError;

/// Receives every event of a run (journal, progress, report).
pub trait EventSink: Send + Sync {
    /// Records an event. When `durable` is given, the sink signals it once the event is on
    /// disk (the journal syncs in batches, so concurrent steps share one sync).
    fn emit(&self, event: RunEvent, durable: Option<tokio::sync::oneshot::Sender<()>>);
}

/// Outputs of finished steps, by step id.
pub type Outputs = HashMap<String, Map<String, Json>>;

/// The shared state of one run.
pub struct RunEnv {
    pub plan: Arc<Plan>,
    pub executor: Arc<dyn Executor>,
    pub params: Json,
    pub targets: Json,
    pub run: Json,
    pub sink: Arc<dyn EventSink>,
    pub redactor: Arc<Mutex<Redactor>>,
    /// Declared secret params and their values: stored values seal them (see `sealed`).
    secrets: Vec<(String, String)>,
    /// `for_each` items an earlier run of this journal completed (`recover --resume`).
    pub items_done: HashMap<String, Vec<crate::run::scheduler::ItemDone>>,
    /// Steps an earlier run of this journal started and did not finish, with their unfinished
    /// `for_each` items (`recover --resume`): their `before_retry` runs first.
    pub started_earlier: HashMap<String, Vec<Json>>,
    /// What each step may have done so far: `$effects`.
    pub effects: Effects,
    /// Asks before each destructive step (an interactive run without `--yes`); `None`: go on.
    pub confirm: Option<crate::run::confirm::Confirmer>,
    /// What each step reads (from the validated plan), so a scope holds only what it needs and
    /// only the steps that read `$effects` pay for its snapshot.
    reads: PlanReads,
}

impl RunEnv {
    pub fn new(
        plan: Arc<Plan>,
        executor: Arc<dyn Executor>,
        params: Json,
        run: Json,
        sink: Arc<dyn EventSink>,
        redactor: Redactor,
        reads: PlanReads,
    ) -> Result<Self, RenderError> {
        let base = json!({"params": params, "run": run});
        let targets = crate::run::rendered_request::target_scope(&plan, &base)?;
        let secrets: Vec<(String, String)> = plan
            .params
            .iter()
            .filter(|p| p.secret)
            .filter_map(|p| {
                params
                    .get(&p.name)
                    .and_then(Json::as_str)
                    .map(|v| (p.name.clone(), v.to_string()))
            })
            .collect();
        Ok(Self {
            plan,
            executor,
            params,
            targets,
            run,
            sink,
            redactor: Arc::new(Mutex::new(redactor)),
            secrets,
            items_done: HashMap::new(),
            started_earlier: HashMap::new(),
            effects: Effects::default(),
            confirm: None,
            reads,
        })
    }

    pub fn emit(&self, event: RunEvent) {
        self.sink.emit(self.guard(event), None);
    }

    /// Records an event and waits until it is durable: used before side effects, so a
    /// crash never hides a started step.
    pub async fn emit_durable(&self, event: RunEvent) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.sink.emit(self.guard(event), Some(tx));
        let _ = rx.await;
    }

    /// The one gate every event passes on its way to the journal, the progress output and
    /// the report: whatever a caller forgot, no event leaves with a secret in it. Values
    /// seen in responses (a wait's observation) are stored like outputs (declared secrets
    /// sealed, captured ones masked); texts are masked. Items and outputs arrive already
    /// stored (`stored`, `masked_outputs`): sealing them again would change nothing.
    fn guard(&self, event: RunEvent) -> RunEvent {
        match event {
            RunEvent::WaitPolled { id, poll, observed } => RunEvent::WaitPolled {
                id,
                poll,
                observed: self.stored(&observed),
            },
            RunEvent::StepRetrying {
                phase,
                id,
                attempt,
                delay_ms,
                error,
                not_yet,
            } => RunEvent::StepRetrying {
                phase,
                id,
                attempt,
                delay_ms,
                error: self.redact(&error),
                not_yet: not_yet.map(|v| self.stored(&v)),
            },
            RunEvent::StepFailed {
                phase,
                id,
                attempts,
                duration_ms,
                error,
            } => RunEvent::StepFailed {
                phase,
                id,
                attempts,
                duration_ms,
                error: self.redact(&error),
            },
            RunEvent::StepSkipped { phase, id, reason } => RunEvent::StepSkipped {
                phase,
                id,
                reason: self.redact(&reason),
            },
            RunEvent::DestructiveCalls { phase, id, calls } => RunEvent::DestructiveCalls {
                phase,
                id,
                calls: calls.iter().map(|c| self.stored(c)).collect(),
            },
            RunEvent::BeforeRetry {
                phase,
                id,
                item,
                calls,
            } => RunEvent::BeforeRetry {
                phase,
                id,
                item,
                calls: calls.iter().map(|c| self.stored(c)).collect(),
            },
            RunEvent::Interrupted { reason } => RunEvent::Interrupted {
                reason: self.redact(&reason),
            },
            RunEvent::RunFinished {
                outcome,
                exit_code,
                duration_ms,
                message,
            } => RunEvent::RunFinished {
                outcome,
                exit_code,
                duration_ms,
                message: self.redact(&message),
            },
            other => other,
        }
    }

    /// Output values for events (journal, report): secret outputs as `***`, declared secrets
    /// inside other values sealed reversibly (resume rebuilds them), captured secrets masked.
    pub fn masked_outputs(&self, step: &Step, outputs: &Map<String, Json>) -> Map<String, Json> {
        outputs
            .iter()
            .map(|(k, v)| {
                let secret = step.outputs.iter().any(|o| &o.name == k && o.secret);
                let v = if secret {
                    Json::String("***".into())
                } else {
                    self.stored(v)
                };
                (k.clone(), v)
            })
            .collect()
    }

    /// A value as events store it: declared secrets sealed, captured secrets masked.
    pub fn stored(&self, v: &Json) -> Json {
        let sealed = crate::run::sealed::seal(v, &self.secrets);
        serde_json::from_str(&self.redact(&sealed.to_string())).unwrap_or(sealed)
    }

    /// The outputs of item `index` (value `item`) of `step` when an earlier run of this
    /// journal completed it.
    pub fn item_done_earlier(
        &self,
        step: &str,
        index: usize,
        item: &Json,
    ) -> Option<Map<String, Json>> {
        self.items_done
            .get(step)?
            .iter()
            .find(|(i, v, _)| *i == index && v == item)
            .map(|(_, _, o)| o.clone())
    }

    /// Whether an earlier run of this journal started this step (item `item` of a
    /// `for_each`, else `None`) and did not finish it: its effect may be half done.
    pub fn started_earlier(&self, step: &str, item: Option<&Json>) -> bool {
        self.started_earlier
            .get(step)
            .is_some_and(|items| item.is_none_or(|i| items.contains(i)))
    }

    /// Masks secrets in a message bound for output.
    pub fn redact(&self, text: &str) -> String {
        self.redactor
            .lock()
            .map(|r| r.apply(text))
            .unwrap_or_else(|_| "<redaction failed>".into())
    }

    /// The outputs a step may read, as the `steps` object of its scope.
    pub fn steps_scope(&self, step: &Step, outputs: &Outputs) -> Json {
        let pick = |id: &String| outputs.get(id).map(|o| (id.clone(), json!({"outputs": o})));
        let reads = self.reads.get(&step.id);
        let map: Map<String, Json> = match reads {
            Some(r) if !r.all_steps => r.steps.iter().filter_map(pick).collect(),
            // A step the plan does not know (none today) sees everything rather than nothing.
            _ => outputs.keys().filter_map(pick).collect(),
        };
        Json::Object(map)
    }

    /// The template scope of a step (and item).
    pub fn scope(&self, steps: &Json, item: &Json) -> Json {
        json!({"params": self.params, "targets": self.targets, "run": self.run, "steps": steps, "item": item})
    }

    /// The value of `$effects` for `step`'s expressions now: `null` when none reads it.
    pub fn effects_scope(&self, step: &Step) -> Json {
        if self.reads.get(&step.id).is_some_and(|r| r.effects) {
            self.effects.snapshot()
        } else {
            Json::Null
        }
    }

    pub fn jq_vars<'a>(&'a self, steps: &'a Json, effects: &'a Json, item: &'a Json) -> JqVars<'a> {
        JqVars {
            params: &self.params,
            steps,
            run: &self.run,
            item,
            targets: &self.targets,
            effects,
        }
    }

    /// Renders an action into what the executor takes.
    pub fn request(&self, action: &Action, scope: &Json) -> Result<ActionRequest, RenderError> {
        crate::run::rendered_request::render(&self.plan, action, scope).map(|r| r.request)
    }
}

/// Jittered delay: full jitter between half and all of `d`, so retries of many steps spread.
pub fn jitter(d: Duration, enabled: bool) -> Duration {
    if !enabled || d.is_zero() {
        return d;
    }
    d.mul_f64(0.5 + fastrand::f64() * 0.5)
}
