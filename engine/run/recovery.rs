//! recovery: reads the journal of a run that did not finish (killed, machine lost) and
//! works out what happened: which steps succeeded (with their outputs), which were in
//! flight, which undos are pending, which finally steps ran. It turns that into a
//! `scheduler::Resume` and recovers the frozen param values. It runs nothing itself.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::plan::{ParamDefault, Plan};
use crate::run::events::{Phase, RunEvent};
use crate::run::inputs::{Inputs, ResolvedParams};
use crate::run::param_error::ParamError;
use crate::run::scheduler::{ItemDone, Resume};
use crate::run::sealed::MissingSecret;

/// Why a stopped run cannot be continued or rolled back as asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    /// Steps in flight when the run stopped that change something and are not idempotent.
    #[error(
        "refusing to repeat {}: in flight when the run stopped, it changes something and is not declared `idempotent: true`, so running it again may repeat a side effect. Check its state, then pass --yes to run it again, or use --rollback",
        .0.join(", ")
    )]
    RiskyInFlight(Vec<String>),
    /// A succeeded step captured a secret output (never journaled) and is not read-only.
    #[error(
        "step `{0}` captured a secret output, which is never journaled, and it is not read-only, so resume can neither rebuild nor safely re-run it; use --rollback"
    )]
    SecretOutputLost(String),
    #[error(transparent)]
    MissingSecret(#[from] MissingSecret),
}

/// A succeeded step and its outputs.
type StepDone = (String, Map<String, Json>);

/// What the journal says.
#[derive(Debug, Default)]
pub struct RecoveryState {
    pub plan: String,
    pub started_at: String,
    pub params: Map<String, Json>,
    pub done: Vec<(String, Map<String, Json>)>,
    pub skipped: Vec<String>,
    pub in_flight: Vec<String>,
    pub failed: Vec<String>,
    pub undo_registered: Vec<String>,
    pub undone: Vec<String>,
    pub finally_done: Vec<String>,
    pub finished: Option<String>,
    /// `for_each` items that succeeded, by step id.
    pub items_done: HashMap<String, Vec<ItemDone>>,
    /// `for_each` items started and not (yet) succeeded, by step id: (index, item).
    pub items_started: HashMap<String, Vec<Json>>,
}

/// Replays events in order.
pub fn replay(events: &[RunEvent]) -> RecoveryState {
    let mut st = RecoveryState::default();
    for e in events {
        match e {
            RunEvent::RunStarted(start) => {
                st.plan.clone_from(&start.plan);
                st.started_at.clone_from(&start.started_at);
                st.params.clone_from(&start.params);
            }
            RunEvent::StepStarted {
                phase: Phase::Main,
                id,
                item,
                ..
            } => {
                if !st.in_flight.contains(id) {
                    st.in_flight.push(id.clone());
                }
                if let Some(item) = item {
                    let started = st.items_started.entry(id.clone()).or_default();
                    if !started.contains(item) {
                        started.push(item.clone());
                    }
                }
            }
            RunEvent::ItemSucceeded {
                phase: Phase::Main,
                id,
                index,
                item,
                outputs,
            } => {
                if let Some(started) = st.items_started.get_mut(id) {
                    started.retain(|x| x != item);
                }
                st.items_done.entry(id.clone()).or_default().push((
                    *index,
                    item.clone(),
                    outputs.clone(),
                ));
            }
            RunEvent::StepSucceeded {
                phase, id, outputs, ..
            } => match phase {
                Phase::Main => {
                    st.in_flight.retain(|x| x != id);
                    st.failed.retain(|x| x != id);
                    st.items_started.remove(id);
                    st.done.push((id.clone(), outputs.clone()));
                }
                Phase::Undo => st.undone.push(id.clone()),
                Phase::Finally => st.finally_done.push(id.clone()),
            },
            RunEvent::StepFailed {
                phase: Phase::Main,
                id,
                error,
                ..
            } => {
                // A step cancelled by an interrupt was stopped mid-flight: its effect is
                // unknown, as if the process had died.
                if error != "cancelled" {
                    st.in_flight.retain(|x| x != id);
                }
                if !st.failed.contains(id) {
                    st.failed.push(id.clone());
                }
            }
            RunEvent::StepSkipped {
                phase: Phase::Main,
                id,
                reason,
            } if !reason.starts_with("not started") => st.skipped.push(id.clone()),
            RunEvent::UndoRegistered { id } => st.undo_registered.push(id.clone()),
            RunEvent::RunFinished { message, .. } => st.finished = Some(message.clone()),
            _ => {}
        }
    }
    st
}

impl RecoveryState {
    /// A human account of the run.
    pub fn describe(&self, run_id: &str) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let done: Vec<String> = self.done.iter().map(|(id, _)| id.clone()).collect();
        let pending: Vec<String> = self
            .undo_registered
            .iter()
            .filter(|id| !self.undone.contains(id))
            .cloned()
            .collect();
        let mut out = format!(
            "run {run_id} of plan `{}` (started {})\n",
            self.plan, self.started_at
        );
        out.push_str(&format!(
            "  finished:        {}\n",
            self.finished
                .as_deref()
                .unwrap_or("NO (the process ended before the run did)")
        ));
        out.push_str(&format!("  succeeded:       {}\n", list(&done)));
        out.push_str(&format!("  in flight:       {}\n", list(&self.in_flight)));
        out.push_str(&format!("  failed:          {}\n", list(&self.failed)));
        out.push_str(&format!("  undo pending:    {}\n", list(&pending)));
        out.push_str(&format!("  finally done:    {}", list(&self.finally_done)));
        out
    }

    /// The succeeded steps with their outputs rebuilt: sealed secrets filled in from
    /// `secrets`. A step whose outputs include a captured secret (never journaled) is
    /// dropped to run again when it is read-only, and refused otherwise.
    fn done_unsealed(
        &self,
        plan: &Plan,
        secrets: &HashMap<String, String>,
        rerun_secret_readers: bool,
    ) -> Result<Vec<StepDone>, RecoverError> {
        let mut done = Vec::new();
        for (id, outputs) in &self.done {
            let step = plan.step(id);
            if rerun_secret_readers && step.is_some_and(|s| s.outputs.iter().any(|o| o.secret)) {
                if step.is_some_and(|s| s.action.is_read_only()) {
                    continue;
                }
                return Err(RecoverError::SecretOutputLost(id.clone()));
            }
            done.push((
                id.clone(),
                crate::run::sealed::unseal_map(outputs, secrets)?,
            ));
        }
        Ok(done)
    }

    fn items_unsealed(
        &self,
        secrets: &HashMap<String, String>,
    ) -> Result<HashMap<String, Vec<ItemDone>>, MissingSecret> {
        let mut out = HashMap::new();
        for (id, items) in &self.items_done {
            if self.undone.contains(id) {
                continue;
            }
            let mut list = Vec::new();
            for (i, item, outputs) in items {
                list.push((
                    *i,
                    crate::run::sealed::unseal(item, secrets)?,
                    crate::run::sealed::unseal_map(outputs, secrets)?,
                ));
            }
            out.insert(id.clone(), list);
        }
        Ok(out)
    }

    /// Steps that started and did not succeed (in flight or failed), each with its `for_each`
    /// items that started and did not succeed: their `before_retry` runs before they run again.
    fn started_unsealed(
        &self,
        secrets: &HashMap<String, String>,
    ) -> Result<HashMap<String, Vec<Json>>, MissingSecret> {
        let mut out = HashMap::new();
        for id in self.in_flight.iter().chain(&self.failed) {
            let mut items = Vec::new();
            for item in self.items_started.get(id).into_iter().flatten() {
                items.push(crate::run::sealed::unseal(item, secrets)?);
            }
            out.insert(id.clone(), items);
        }
        Ok(out)
    }

    /// Compensate every succeeded step whose undo has not run, then the finally steps.
    pub fn rollback_plan(
        &self,
        plan: &Plan,
        secrets: &HashMap<String, String>,
    ) -> Result<Resume, RecoverError> {
        Ok(Resume {
            done: self.done_unsealed(plan, secrets, false)?,
            skipped: self.skipped.clone(),
            undone: self.undone.clone(),
            finally_done: self.finally_done.clone(),
            items_done: HashMap::new(),
            started: HashMap::new(),
            rollback: true,
        })
    }

    /// Items of `id` that started and did not succeed: their effect is unknown.
    fn unfinished_items(&self, id: &str) -> Vec<String> {
        self.items_started
            .get(id)
            .into_iter()
            .flatten()
            .map(crate::plan::template::display)
            .collect()
    }

    /// Continue: succeeded steps (and `for_each` items) stay done, unless their undo already
    /// ran; an in-flight step (or item) re-runs only if idempotent or read-only (or with
    /// `--yes`). A `for_each` step stopped between items is not in flight: only its items
    /// that never started remain.
    pub fn resume_plan(
        &self,
        plan: &Plan,
        yes: bool,
        secrets: &HashMap<String, String>,
    ) -> Result<Resume, RecoverError> {
        let risky: Vec<String> = self
            .in_flight
            .iter()
            .filter(|id| {
                plan.step(id).is_some_and(|s| {
                    !s.idempotent
                        && !s.action.is_read_only()
                        && (s.for_each.is_none() || !self.unfinished_items(id).is_empty())
                })
            })
            .map(|id| match self.unfinished_items(id) {
                items if items.is_empty() => format!("`{id}`"),
                items => format!("`{id}` (items {})", items.join(", ")),
            })
            .collect();
        if !risky.is_empty() && !yes {
            return Err(RecoverError::RiskyInFlight(risky));
        }
        let mut done = self.done_unsealed(plan, secrets, true)?;
        done.retain(|(id, _)| !self.undone.contains(id));
        Ok(Resume {
            done,
            skipped: self.skipped.clone(),
            undone: Vec::new(),
            finally_done: Vec::new(),
            items_done: self.items_unsealed(secrets)?,
            started: self.started_unsealed(secrets)?,
            rollback: false,
        })
    }
}

/// The run's frozen param values: every non-secret value as the journal recorded it (minted
/// ones included), secrets read again from `--set`/`-f` or their `env` (they are never
/// journaled). A value given now that differs from the frozen one is an error naming both;
/// so is a secret the run had and that is not given now.
pub fn frozen_params(
    plan: &Plan,
    st: &RecoveryState,
    given: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedParams, Vec<ParamError>> {
    let mut frozen_plan = plan.clone();
    for p in &mut frozen_plan.params {
        if p.secret {
            continue;
        }
        if let Some(v) = st.params.get(&p.name) {
            p.default = Some(ParamDefault::Value(v.clone()));
            // The frozen value wins over the environment; only an explicit value conflicts.
            p.env = None;
        }
    }
    let mut resolved = crate::run::inputs::resolve(&frozen_plan, given, env)?;
    let mut errors = Vec::new();
    for p in &plan.params {
        let now = resolved.values.get(&p.name).cloned().unwrap_or(Json::Null);
        let then = st.params.get(&p.name);
        if p.secret {
            let had = then.is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
            let has = !now.is_null() && now.as_str() != Some("");
            if had && !has {
                errors.push(ParamError::SecretNotGiven {
                    param: p.name.clone(),
                    how: p.env.as_ref().map_or_else(
                        || format!("pass --set {}=...", p.name),
                        |e| {
                            format!(
                                "set the environment variable {e} (or pass --set {}=...)",
                                p.name
                            )
                        },
                    ),
                });
            }
        } else if let Some(then) = then
            && *then != now
        {
            errors.push(ParamError::FrozenConflict {
                param: p.name.clone(),
                then: crate::plan::template::display(then),
                now: crate::plan::template::display(&now),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    resolved.minted.clear();
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cancelled_step_stays_in_flight_and_succeeded_items_are_done() {
        let events = vec![
            RunEvent::StepStarted {
                phase: Phase::Main,
                id: "each".into(),
                attempt: 1,
                item: Some(json!("a")),
            },
            RunEvent::ItemSucceeded {
                phase: Phase::Main,
                id: "each".into(),
                index: 0,
                item: json!("a"),
                outputs: Map::new(),
            },
            RunEvent::StepStarted {
                phase: Phase::Main,
                id: "each".into(),
                attempt: 1,
                item: Some(json!("b")),
            },
            RunEvent::StepFailed {
                phase: Phase::Main,
                id: "each".into(),
                attempts: 0,
                duration_ms: 0,
                error: "cancelled".into(),
            },
        ];
        let st = replay(&events);
        assert_eq!(st.in_flight, vec!["each"]);
        assert_eq!(st.unfinished_items("each"), vec!["b"]);
        assert_eq!(st.items_done["each"][0].1, json!("a"));
    }

    #[test]
    fn started_and_unfinished_steps_and_items_are_handed_to_before_retry() {
        let events = vec![
            started("plain"),
            RunEvent::StepStarted {
                phase: Phase::Main,
                id: "each".into(),
                attempt: 1,
                item: Some(json!("a")),
            },
            RunEvent::ItemSucceeded {
                phase: Phase::Main,
                id: "each".into(),
                index: 0,
                item: json!("a"),
                outputs: Map::new(),
            },
            RunEvent::StepStarted {
                phase: Phase::Main,
                id: "each".into(),
                attempt: 2,
                item: Some(json!("b")),
            },
            started("done"),
            RunEvent::StepSucceeded {
                phase: Phase::Main,
                id: "done".into(),
                attempts: 1,
                duration_ms: 0,
                outputs: Map::new(),
            },
        ];
        let started = replay(&events)
            .started_unsealed(&HashMap::new())
            .expect("nothing sealed");
        assert_eq!(started.get("plain"), Some(&Vec::new()));
        assert_eq!(started.get("each"), Some(&vec![json!("b")]));
        assert!(!started.contains_key("done"));
    }

    fn started(id: &str) -> RunEvent {
        RunEvent::StepStarted {
            phase: Phase::Main,
            id: id.into(),
            attempt: 1,
            item: None,
        }
    }

    fn succeeded(phase: Phase, id: &str) -> RunEvent {
        RunEvent::StepSucceeded {
            phase,
            id: id.into(),
            attempts: 1,
            duration_ms: 1,
            outputs: Map::new(),
        }
    }

    fn plan() -> Plan {
        let text = "apiVersion: runbook/v1\nkind: Plan\nname: r\ntargets:\n  web: {http: {url: \"http://127.0.0.1:1\"}}\nparams:\n  id: {type: integer, default: 1}\n  pw: {type: string, secret: true, default: \"\"}\nsteps:\n  - id: a\n    http: {target: web, method: POST, path: \"/{{params.id}}/{{params.pw}}\"}\n    undo: {http: {target: web, method: DELETE, path: /a}}\n  - id: b\n    needs: [a]\n    http: {target: web, method: POST, path: /b}\n  - id: c\n    needs: [a]\n    idempotent: true\n    http: {target: web, method: POST, path: /c}\n  - id: d\n    needs: [a]\n    http: {target: web, path: /d}\n";
        crate::plan::loader::valid_for_test(text).0
    }

    #[test]
    fn replay_sorts_steps_into_done_failed_in_flight_and_skipped() {
        let events = vec![
            started("a"),
            succeeded(Phase::Main, "a"),
            RunEvent::UndoRegistered { id: "a".into() },
            started("b"),
            started("c"),
            RunEvent::StepFailed {
                phase: Phase::Main,
                id: "c".into(),
                attempts: 3,
                duration_ms: 5,
                error: "HTTP 500".into(),
            },
            RunEvent::StepSkipped {
                phase: Phase::Main,
                id: "d".into(),
                reason: "when was false".into(),
            },
            RunEvent::StepSkipped {
                phase: Phase::Main,
                id: "e".into(),
                reason: "not started: the run stopped".into(),
            },
            succeeded(Phase::Undo, "a"),
            succeeded(Phase::Finally, "f"),
        ];
        let st = replay(&events);
        assert_eq!(
            st.done
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(st.in_flight, ["b"], "a failed step is no longer in flight");
        assert_eq!(st.failed, ["c"]);
        assert_eq!(st.skipped, ["d"], "steps never started are not skipped");
        assert_eq!(st.undo_registered, ["a"]);
        assert_eq!(st.undone, ["a"]);
        assert_eq!(st.finally_done, ["f"]);
        assert!(st.finished.is_none());
    }

    #[test]
    fn resume_refuses_a_risky_in_flight_step_unless_told() {
        let plan = plan();
        let secrets = HashMap::new();
        // b changes something and is not idempotent: refused without --yes.
        let st = replay(&[started("a"), succeeded(Phase::Main, "a"), started("b")]);
        let err = st.resume_plan(&plan, false, &secrets).expect_err("risky");
        assert_eq!(err, RecoverError::RiskyInFlight(vec!["`b`".into()]));
        assert!(err.to_string().contains("--yes"), "{err}");
        let resume = st.resume_plan(&plan, true, &secrets).expect("with --yes");
        assert_eq!(resume.done.len(), 1);
        assert!(!resume.rollback);
        // An idempotent (c) or read-only (d) step in flight is simply re-run.
        for id in ["c", "d"] {
            let st = replay(&[started("a"), succeeded(Phase::Main, "a"), started(id)]);
            assert!(st.resume_plan(&plan, false, &secrets).is_ok(), "{id}");
        }
    }

    #[test]
    fn resume_drops_undone_steps_and_rollback_keeps_them_for_the_undos() {
        let plan = plan();
        let secrets = HashMap::new();
        let st = replay(&[
            started("a"),
            succeeded(Phase::Main, "a"),
            succeeded(Phase::Undo, "a"),
        ]);
        let resume = st.resume_plan(&plan, false, &secrets).expect("resume");
        assert!(resume.done.is_empty(), "a was undone: it runs again");
        let rollback = st.rollback_plan(&plan, &secrets).expect("rollback");
        assert!(rollback.rollback);
        assert_eq!(rollback.undone, ["a"], "its undo does not run twice");
    }

    #[test]
    fn frozen_params_win_and_a_changed_value_or_missing_secret_is_an_error() {
        let plan = plan();
        let mut st = RecoveryState::default();
        st.params.insert("id".into(), json!(42));
        st.params.insert("pw".into(), json!("<secret>"));
        let given = |sets: &[&str]| Inputs {
            sets: sets.iter().map(|s| s.to_string()).collect(),
            ..Inputs::default()
        };
        let errors = frozen_params(&plan, &st, &given(&[]), &|_| None).expect_err("no secret");
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, ParamError::SecretNotGiven { param, .. } if param == "pw")),
            "{errors:?}"
        );
        let ok = frozen_params(&plan, &st, &given(&["pw=again-given"]), &|_| None)
            .expect("secret given again");
        assert_eq!(
            ok.values["id"],
            json!(42),
            "the frozen value, not the default"
        );
        assert!(ok.minted.is_empty());
        let errors = frozen_params(&plan, &st, &given(&["pw=again-given", "id=7"]), &|_| None)
            .expect_err("changed");
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, ParamError::FrozenConflict { param, then, now } if param == "id" && then == "42" && now == "7")),
            "{errors:?}"
        );
    }
}
