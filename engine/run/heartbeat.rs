//! heartbeat: when progress goes to a log rather than a terminal, a long wait must still say
//! it is alive. This module keeps, for every running step, when it started, when its next
//! heartbeat is due and the last state it saw, and says which heartbeats are due now. It
//! prints nothing and reads no clock of its own (the recorder passes `now`), so it is tested
//! without timers. Values come from events, which are already masked: a heartbeat never
//! carries a secret.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::plan::{Action, Plan};
use crate::run::events::RunEvent;

/// The default interval: often enough that a stuck CronJob's log shows it within a minute,
/// rarely enough that a 30-minute wait prints 60 lines, not thousands.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(30);

/// One heartbeat line's content.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Beat {
    pub id: String,
    pub elapsed_ms: u64,
    /// What the step waits for: a wait's `until` condition, or the kind of call it makes.
    pub waiting_for: String,
    /// The last state a poll or a retry showed (masked), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

impl Beat {
    /// The plain text of the line (the recorder adds its time prefix).
    pub fn text(&self) -> String {
        // Whole seconds once past one (`12m30s`), milliseconds below (short test intervals).
        let ms = if self.elapsed_ms >= 1000 {
            self.elapsed_ms / 1000 * 1000
        } else {
            self.elapsed_ms
        };
        let elapsed = crate::plan::duration::format(Duration::from_millis(ms));
        let seen = self
            .last_seen
            .as_deref()
            .map(|s| format!("; last seen: {s}"))
            .unwrap_or_default();
        format!(
            "heartbeat: {} still running after {elapsed}, waiting for {}{seen}",
            self.id, self.waiting_for
        )
    }
}

struct Running {
    id: String,
    since: Instant,
    next: Instant,
    seen: Option<String>,
}

/// The heartbeat schedule of one run.
pub struct Heartbeat {
    every: Duration,
    /// What each step (main and finally) waits for, by id.
    waits: HashMap<String, String>,
    running: Vec<Running>,
}

impl Heartbeat {
    /// A schedule beating every `every` (not zero) for the steps of `plan`.
    pub fn new(every: Duration, plan: &Plan) -> Self {
        let waits = plan
            .steps
            .iter()
            .chain(&plan.finally)
            .map(|s| (s.id.clone(), waiting_for(&s.action)))
            .collect();
        Self {
            every,
            waits,
            running: Vec::new(),
        }
    }

    /// Follows one event that happened at `now`.
    pub fn track(&mut self, e: &RunEvent, now: Instant) {
        match e {
            RunEvent::StepStarted { id, .. } if !self.running.iter().any(|r| &r.id == id) => {
                self.running.push(Running {
                    id: id.clone(),
                    since: now,
                    next: now + self.every,
                    seen: None,
                });
            }
            RunEvent::WaitPolled { id, observed, .. } => self.saw(id, shown(observed)),
            RunEvent::StepRetrying {
                id,
                not_yet,
                error,
                attempt,
                ..
            } => {
                let seen = match not_yet {
                    Some(v) => shown(v),
                    None => format!("attempt {attempt} failed: {error}"),
                };
                self.saw(id, seen);
            }
            RunEvent::StepSucceeded { id, .. }
            | RunEvent::StepFailed { id, .. }
            | RunEvent::StepSkipped { id, .. } => self.running.retain(|r| &r.id != id),
            _ => {}
        }
    }

    fn saw(&mut self, id: &str, seen: String) {
        if let Some(r) = self.running.iter_mut().find(|r| r.id == id) {
            r.seen = Some(seen);
        }
    }

    /// The heartbeats due at `now`, in start order; each step's next one is one interval on.
    pub fn due(&mut self, now: Instant) -> Vec<Beat> {
        let mut beats = Vec::new();
        for r in &mut self.running {
            if r.next > now {
                continue;
            }
            while r.next <= now {
                r.next += self.every;
            }
            beats.push(Beat {
                id: r.id.clone(),
                elapsed_ms: u64::try_from(now.saturating_duration_since(r.since).as_millis())
                    .unwrap_or(u64::MAX),
                waiting_for: self
                    .waits
                    .get(&r.id)
                    .cloned()
                    .unwrap_or_else(|| "its call".into()),
                last_seen: r.seen.clone(),
            });
        }
        beats
    }

    /// When the next heartbeat is due, if any step runs.
    pub fn next_due(&self) -> Option<Instant> {
        self.running.iter().map(|r| r.next).min()
    }
}

/// What a step waits for, from the plan (plan text holds no secret values).
fn waiting_for(action: &Action) -> String {
    match action {
        Action::Wait(w) => format!("`{}`", w.until.source.trim()),
        other => format!("its {} call", other.kind()),
    }
}

/// An observed value as text, a sealed secret as `***`, cut to a log line's length.
fn shown(v: &Json) -> String {
    let text = crate::plan::template::display(&crate::run::sealed::masked(v));
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::events::Phase;
    use serde_json::json;

    const PLAN: &str = "apiVersion: runbook/v1\nkind: Plan\nname: hb\ntargets:\n  web: {http: {url: \"http://127.0.0.1:1\"}}\nsteps:\n  - id: w\n    wait:\n      http: {target: web, path: /s}\n      until: '.body.state == \"DONE\"'\n  - id: c\n    http: {target: web, path: /c}\n";

    fn plan() -> Plan {
        crate::plan::loader::load_source(crate::plan::source::SourceFile::new("hb.yaml", PLAN))
            .validated
            .plan
            .expect("plan")
    }

    fn started(id: &str) -> RunEvent {
        RunEvent::StepStarted {
            phase: Phase::Main,
            id: id.into(),
            attempt: 1,
            item: None,
        }
    }

    #[test]
    fn a_running_step_beats_once_per_interval_with_what_it_waits_for_and_saw() {
        let t0 = Instant::now();
        let every = Duration::from_secs(30);
        let mut hb = Heartbeat::new(every, &plan());
        hb.track(&started("w"), t0);
        assert!(hb.due(t0 + Duration::from_secs(29)).is_empty());
        hb.track(
            &RunEvent::WaitPolled {
                id: "w".into(),
                poll: 3,
                observed: json!("IN_PROGRESS"),
            },
            t0 + Duration::from_secs(10),
        );
        let beats = hb.due(t0 + Duration::from_secs(31));
        assert_eq!(beats.len(), 1);
        assert_eq!(beats[0].elapsed_ms, 31_000);
        assert_eq!(beats[0].waiting_for, "`.body.state == \"DONE\"`");
        assert_eq!(beats[0].last_seen.as_deref(), Some("IN_PROGRESS"));
        assert!(
            beats[0].text().contains("w still running after 31s"),
            "{}",
            beats[0].text()
        );
        // Not again until the next interval; a late tick does not fire twice.
        assert!(hb.due(t0 + Duration::from_secs(59)).is_empty());
        assert_eq!(hb.due(t0 + Duration::from_secs(125)).len(), 1);
        assert_eq!(hb.next_due(), Some(t0 + Duration::from_secs(150)));
        hb.track(
            &RunEvent::StepSucceeded {
                phase: Phase::Main,
                id: "w".into(),
                attempts: 1,
                duration_ms: 1,
                outputs: serde_json::Map::new(),
            },
            t0,
        );
        assert_eq!(hb.next_due(), None);
    }

    #[test]
    fn a_plain_call_says_its_kind_and_a_retry_its_error() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(Duration::from_secs(1), &plan());
        hb.track(&started("c"), t0);
        hb.track(
            &RunEvent::StepRetrying {
                phase: Phase::Main,
                id: "c".into(),
                attempt: 2,
                delay_ms: 100,
                error: "HTTP 502".into(),
                not_yet: None,
            },
            t0,
        );
        let beats = hb.due(t0 + Duration::from_secs(2));
        assert_eq!(beats[0].waiting_for, "its http call");
        assert_eq!(
            beats[0].last_seen.as_deref(),
            Some("attempt 2 failed: HTTP 502")
        );
    }
}
