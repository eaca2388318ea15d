//! how_to_continue: the end of a failed or interrupted run's summary: which destructive steps
//! ran (and which of their items), which steps are left to do, and the exact `runbook
//! recover` line that continues (or rolls back) the run. It reads events and returns text;
//! it runs and prints nothing.

use std::collections::HashMap;
use std::path::Path;

use crate::plan::Plan;
use crate::run::events::{Phase, RunEvent};

/// Main steps of the plan in order: (id, destructive).
pub struct PlanSteps(Vec<(String, bool)>);

impl PlanSteps {
    pub fn of(plan: &Plan) -> Self {
        Self(
            plan.steps
                .iter()
                .map(|s| (s.id.clone(), s.destructive))
                .collect(),
        )
    }
}

#[derive(Default)]
struct StepState {
    started: bool,
    succeeded: bool,
    skipped_by_when: bool,
    undone: bool,
    items_ok: Vec<String>,
    items_started: Vec<String>,
}

/// The hint, or `None` when no destructive step ran (nothing to continue from: run again).
pub fn hint(
    steps: &PlanSteps,
    events: &[RunEvent],
    run_id: &str,
    state_dir: &Path,
) -> Option<String> {
    let mut st: HashMap<&str, StepState> = HashMap::new();
    let mut undo_pending = false;
    for e in events {
        let display = crate::plan::template::display;
        match e {
            RunEvent::StepStarted {
                phase: Phase::Main,
                id,
                item,
                ..
            } => {
                let s = st.entry(id).or_default();
                s.started = true;
                if let Some(item) = item {
                    let item = display(item);
                    if !s.items_started.contains(&item) {
                        s.items_started.push(item);
                    }
                }
            }
            RunEvent::ItemSucceeded {
                phase: Phase::Main,
                id,
                item,
                ..
            } => {
                let s = st.entry(id).or_default();
                let item = display(item);
                s.items_started.retain(|x| *x != item);
                s.items_ok.push(item);
            }
            RunEvent::StepSucceeded { phase, id, .. } => match phase {
                Phase::Main => st.entry(id).or_default().succeeded = true,
                Phase::Undo => st.entry(id).or_default().undone = true,
                Phase::Finally => {}
            },
            RunEvent::StepSkipped {
                phase: Phase::Main,
                id,
                reason,
            } if !reason.starts_with("not started") => {
                st.entry(id).or_default().skipped_by_when = true;
            }
            RunEvent::UndoRegistered { .. } => undo_pending = true,
            _ => {}
        }
    }
    let ran: Vec<String> = steps
        .0
        .iter()
        .filter(|(id, destructive)| *destructive && st.get(id.as_str()).is_some_and(|s| s.started))
        .map(|(id, _)| describe(id, &st[id.as_str()]))
        .collect();
    if ran.is_empty() {
        return None;
    }
    let left: Vec<&str> = steps
        .0
        .iter()
        .filter(|(id, _)| {
            st.get(id.as_str())
                .is_none_or(|s| (!s.succeeded || s.undone) && !s.skipped_by_when)
        })
        .map(|(id, _)| id.as_str())
        .collect();
    let dir = state_dir.display();
    let mut out = format!("destructive steps that ran: {}\n", ran.join("; "));
    out.push_str(&format!(
        "left to do: {}\n",
        if left.is_empty() {
            "nothing".to_string()
        } else {
            left.join(", ")
        }
    ));
    out.push_str(&format!(
        "to continue this run where it stopped (same values, done items are not repeated):\n  runbook recover {run_id} --resume --state-dir {dir}\n"
    ));
    if undo_pending {
        out.push_str(&format!(
            "or to roll back what is still in place:\n  runbook recover {run_id} --rollback --state-dir {dir}\n"
        ));
    }
    Some(out)
}

fn describe(id: &str, s: &StepState) -> String {
    let mut text = format!(
        "{id} ({})",
        if s.succeeded && !s.undone {
            "succeeded"
        } else if s.undone {
            "undone"
        } else {
            "did not finish"
        }
    );
    if !s.items_ok.is_empty() {
        text.push_str(&format!(", items done: {}", s.items_ok.join(", ")));
    }
    if !s.items_started.is_empty() && !s.succeeded {
        text.push_str(&format!(
            ", items that may have had an effect: {}",
            s.items_started.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn started(id: &str, item: Option<&str>) -> RunEvent {
        RunEvent::StepStarted {
            phase: Phase::Main,
            id: id.into(),
            attempt: 1,
            item: item.map(|i| json!(i)),
        }
    }

    #[test]
    fn names_destructive_items_what_is_left_and_the_recover_line() {
        let steps = PlanSteps(vec![
            ("stop".into(), false),
            ("delete".into(), true),
            ("restore".into(), true),
        ]);
        let events = vec![
            started("stop", None),
            RunEvent::StepSucceeded {
                phase: Phase::Main,
                id: "stop".into(),
                attempts: 1,
                duration_ms: 1,
                outputs: Default::default(),
            },
            started("delete", Some("a")),
            RunEvent::ItemSucceeded {
                phase: Phase::Main,
                id: "delete".into(),
                index: 0,
                item: json!("a"),
                outputs: Default::default(),
            },
            started("delete", Some("b")),
        ];
        let text = hint(&steps, &events, "r1", Path::new("st")).unwrap();
        assert!(
            text.contains(
                "delete (did not finish), items done: a, items that may have had an effect: b"
            ),
            "{text}"
        );
        assert!(text.contains("left to do: delete, restore"), "{text}");
        assert!(
            text.contains("runbook recover r1 --resume --state-dir st"),
            "{text}"
        );
        assert!(!text.contains("--rollback"), "{text}");
        assert!(hint(&steps, &events[..2], "r1", Path::new("st")).is_none());
    }
}
