//! recovery: reads the journal of a run that did not finish (killed, machine lost) and
//! works out what happened: which steps succeeded (with their outputs), which were in
//! flight, which undos are pending, which finally steps ran. It turns that into a
//! `scheduler::Resume` and recovers the frozen param values. It runs nothing itself.

use std::process::ExitCode;

use serde_json::{Map, Value as Json};

use crate::cli::ValueArgs;
use crate::plan::Plan;
use crate::run::events::{Phase, RunEvent};
use crate::run::inputs::ResolvedParams;
use crate::run::scheduler::Resume;

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
                ..
            } if !st.in_flight.contains(id) => st.in_flight.push(id.clone()),
            RunEvent::StepSucceeded {
                phase, id, outputs, ..
            } => match phase {
                Phase::Main => {
                    st.in_flight.retain(|x| x != id);
                    st.done.push((id.clone(), outputs.clone()));
                }
                Phase::Undo => st.undone.push(id.clone()),
                Phase::Finally => st.finally_done.push(id.clone()),
            },
            RunEvent::StepFailed {
                phase: Phase::Main,
                id,
                ..
            } => {
                st.in_flight.retain(|x| x != id);
                st.failed.push(id.clone());
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

    /// Compensate every succeeded step whose undo has not run, then the finally steps.
    pub fn rollback_plan(&self) -> Resume {
        Resume {
            done: self.done.clone(),
            skipped: self.skipped.clone(),
            undone: self.undone.clone(),
            finally_done: self.finally_done.clone(),
            rollback: true,
        }
    }

    /// Continue: succeeded steps stay done; an in-flight step re-runs only if idempotent or
    /// read-only (or with `--yes`).
    pub fn resume_plan(&self, plan: &Plan, yes: bool) -> Result<Resume, String> {
        let risky: Vec<&str> = self
            .in_flight
            .iter()
            .filter(|id| {
                plan.step(id)
                    .is_some_and(|s| !s.idempotent && !s.action.is_read_only())
            })
            .map(String::as_str)
            .collect();
        if !risky.is_empty() && !yes {
            return Err(format!(
                "steps {} were in flight when the run stopped, change something and are not declared `idempotent: true`; re-running them may repeat a side effect. Check their state, then pass --yes to re-run them, or use --rollback",
                risky.join(", ")
            ));
        }
        Ok(Resume {
            done: self.done.clone(),
            skipped: self.skipped.clone(),
            undone: self.undone.clone(),
            finally_done: Vec::new(),
            rollback: false,
        })
    }
}

/// The run's frozen param values: non-secret values from the journal (minted ones
/// included), secrets given again by the operator (they are never journaled).
pub fn frozen_params(
    plan: &Plan,
    st: &RecoveryState,
    values: &ValueArgs,
) -> Result<ResolvedParams, ExitCode> {
    let mut resolved = crate::cli::resolve_params(plan, values)?;
    for p in &plan.params {
        if p.secret {
            continue;
        }
        if let Some(v) = st.params.get(&p.name) {
            resolved.values.insert(p.name.clone(), v.clone());
        }
    }
    resolved.minted.clear();
    Ok(resolved)
}
