//! effects: what each step of a run may have done so far, whether or not it succeeded, for
//! the `$effects` variable of conditions. `$steps` holds only successes; a `finally` or
//! compensation condition must also see a step that failed part-way (a `for_each` that scaled
//! three Deployments of five, a request that reached the server and then timed out).
//!
//! The step runner records attempts and items here; it owns no policy: what a plan does
//! with partial effects is the plan's business. It knows nothing of HTTP or kubectl; whether
//! an attempt reached its target is the executor's classification.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value as Json, json};

/// Where one `for_each` item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemState {
    NotStarted,
    /// An attempt is running or the item is between attempts.
    InFlight,
    Succeeded,
    /// Ended without success; `reached` when some attempt may have had an effect.
    Failed {
        reached: bool,
    },
}

/// How a step stands, as `$effects["id"].status` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EffectStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
}

impl EffectStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

#[derive(Clone, Debug)]
struct StepEffects {
    status: EffectStatus,
    reached: bool,
    /// For `for_each` steps: each item with its state, in the order `for_each` produced them.
    items: Option<Vec<(Json, ItemState)>>,
}

/// The effects of every step that started, by step id.
#[derive(Debug, Default)]
pub struct Effects {
    steps: Mutex<HashMap<String, StepEffects>>,
}

impl Effects {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, StepEffects>) -> R) -> R {
        match self.steps.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    fn entry<R>(&self, id: &str, f: impl FnOnce(&mut StepEffects) -> R) -> R {
        self.with(|m| {
            let e = m.entry(id.to_string()).or_insert(StepEffects {
                status: EffectStatus::Running,
                reached: false,
                items: None,
            });
            f(e)
        })
    }

    /// A `for_each` step produced its items: all are not started yet.
    pub fn items_known(&self, id: &str, items: &[Json]) {
        self.entry(id, |e| {
            e.status = EffectStatus::Running;
            e.items = Some(
                items
                    .iter()
                    .map(|v| (v.clone(), ItemState::NotStarted))
                    .collect(),
            );
        });
    }

    /// An attempt of the step (of item `item`, for a `for_each`) is about to start.
    pub fn attempt_started(&self, id: &str, item: Option<usize>) {
        self.entry(id, |e| {
            e.status = EffectStatus::Running;
            if let Some(slot) = item_slot(e, item)
                && slot.1 != (ItemState::Failed { reached: true })
            {
                slot.1 = ItemState::InFlight;
            }
        });
    }

    /// An attempt ended; `reached` when it may have had an effect on its target.
    pub fn attempt_ended(&self, id: &str, item: Option<usize>, reached: bool) {
        self.entry(id, |e| {
            e.reached |= reached;
            if reached && let Some(slot) = item_slot(e, item) {
                // Remembered until the item ends: a later attempt that does not reach the
                // target does not undo what an earlier one may have done.
                slot.1 = match slot.1 {
                    ItemState::Failed { .. } | ItemState::InFlight => {
                        ItemState::Failed { reached: true }
                    }
                    other => other,
                };
            }
        });
    }

    /// A `for_each` item ended.
    pub fn item_ended(&self, id: &str, item: usize, succeeded: bool) {
        self.entry(id, |e| {
            if let Some(slot) = item_slot(e, Some(item)) {
                slot.1 = match (succeeded, slot.1) {
                    (true, _) => ItemState::Succeeded,
                    (false, ItemState::Failed { reached: true }) => {
                        ItemState::Failed { reached: true }
                    }
                    (false, ItemState::NotStarted) => ItemState::NotStarted,
                    (false, _) => ItemState::Failed { reached: false },
                };
            }
        });
    }

    /// The step ended with `status`. A step that never started an attempt (nor produced
    /// its items) stays absent.
    pub fn finished(&self, id: &str, status: EffectStatus) {
        self.with(|m| {
            if let Some(e) = m.get_mut(id) {
                e.status = status;
                if status == EffectStatus::Succeeded && e.items.is_none() {
                    e.reached = true;
                }
            }
        });
    }

    /// A step that succeeded in an earlier run of this journal (`recover --resume`).
    pub fn succeeded_earlier(&self, id: &str) {
        self.with(|m| {
            m.insert(
                id.to_string(),
                StepEffects {
                    status: EffectStatus::Succeeded,
                    reached: true,
                    items: None,
                },
            );
        });
    }

    /// The value of `$effects`: an object with an entry for every step that started; steps
    /// that never started are absent, so `$effects["id"]` is `null` for them.
    pub fn snapshot(&self) -> Json {
        self.with(|m| {
            Json::Object(
                m.iter()
                    .map(|(id, e)| (id.clone(), render(e)))
                    .collect::<Map<String, Json>>(),
            )
        })
    }
}

fn item_slot(e: &mut StepEffects, item: Option<usize>) -> Option<&mut (Json, ItemState)> {
    e.items.as_mut()?.get_mut(item?)
}

fn render(e: &StepEffects) -> Json {
    let mut v = json!({"status": e.status.as_str(), "reached": e.reached});
    if let Some(items) = &e.items {
        let pick = |want: fn(ItemState) -> bool| -> Json {
            Json::Array(
                items
                    .iter()
                    .filter(|(_, s)| want(*s))
                    .map(|(v, _)| v.clone())
                    .collect(),
            )
        };
        // An item in flight may have had an effect: it counts as failed until it succeeds.
        v["items"] = json!({
            "succeeded": pick(|s| s == ItemState::Succeeded),
            "failed": pick(|s| matches!(s, ItemState::InFlight | ItemState::Failed { reached: true })),
            "not_started": pick(|s| matches!(s, ItemState::NotStarted | ItemState::Failed { reached: false })),
        });
        v["reached"] = Json::Bool(items.iter().any(|(_, s)| {
            matches!(
                s,
                ItemState::Succeeded | ItemState::InFlight | ItemState::Failed { reached: true }
            )
        }));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_that_never_started_is_absent() {
        let fx = Effects::default();
        assert_eq!(fx.snapshot(), json!({}));
        assert!(fx.snapshot().get("x").is_none());
    }

    #[test]
    fn a_plain_step_reports_status_and_whether_it_reached() {
        let fx = Effects::default();
        fx.attempt_started("a", None);
        assert_eq!(
            fx.snapshot()["a"],
            json!({"status": "running", "reached": false})
        );
        fx.attempt_ended("a", None, false);
        fx.finished("a", EffectStatus::Failed);
        assert_eq!(
            fx.snapshot()["a"],
            json!({"status": "failed", "reached": false})
        );
        fx.attempt_started("b", None);
        fx.attempt_ended("b", None, true);
        fx.finished("b", EffectStatus::Interrupted);
        assert_eq!(
            fx.snapshot()["b"],
            json!({"status": "interrupted", "reached": true})
        );
        fx.attempt_started("c", None);
        fx.finished("c", EffectStatus::Succeeded);
        assert_eq!(fx.snapshot()["c"]["reached"], json!(true));
    }

    #[test]
    fn for_each_items_split_by_what_they_may_have_done() {
        let fx = Effects::default();
        let items = [json!("a"), json!("b"), json!("c"), json!("d"), json!("e")];
        fx.items_known("s", &items);
        // a: succeeded.
        fx.attempt_started("s", Some(0));
        fx.item_ended("s", 0, true);
        // b: reached on attempt 1, not on attempt 2, then failed: may have had an effect.
        fx.attempt_started("s", Some(1));
        fx.attempt_ended("s", Some(1), true);
        fx.attempt_started("s", Some(1));
        fx.attempt_ended("s", Some(1), false);
        fx.item_ended("s", 1, false);
        // c: never reached its target.
        fx.attempt_started("s", Some(2));
        fx.attempt_ended("s", Some(2), false);
        fx.item_ended("s", 2, false);
        // d: still in flight.
        fx.attempt_started("s", Some(3));
        assert_eq!(
            fx.snapshot()["s"],
            json!({"status": "running", "reached": true, "items": {
                "succeeded": ["a"], "failed": ["b", "d"], "not_started": ["c", "e"]}})
        );
        // d is cancelled mid-request: it may have had an effect.
        fx.attempt_ended("s", Some(3), true);
        fx.item_ended("s", 3, false);
        fx.finished("s", EffectStatus::Interrupted);
        assert_eq!(fx.snapshot()["s"]["status"], json!("interrupted"));
        assert_eq!(fx.snapshot()["s"]["items"]["failed"], json!(["b", "d"]));
    }

    #[test]
    fn an_empty_for_each_reached_nothing() {
        let fx = Effects::default();
        fx.items_known("s", &[]);
        fx.finished("s", EffectStatus::Succeeded);
        assert_eq!(
            fx.snapshot()["s"],
            json!({"status": "succeeded", "reached": false, "items": {
                "succeeded": [], "failed": [], "not_started": []}})
        );
    }
}
