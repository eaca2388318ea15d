//! run_output: what `run`, `recover` and `runs` print for machines. The one-line result object
//! an unattended run ends its log with, the `--output json` documents, and what a run
//! produced (the plan's `result:`, e.g. its backup id) rendered from the run's events. Every
//! value comes from events, which are masked, and the text is masked again on the way out:
//! nothing here can print a secret. It decides no exit code and runs nothing.

use serde_json::{Map, Value as Json, json};

use crate::plan::template::Template;
use crate::run::events::{Outcome, RunEvent};
use crate::run::journal::RunInfo;

/// `--output`: the summary table for people, or one JSON document on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// The plan's `result:` entries rendered over the run's params (masked), step outputs
/// (masked) and run fields. An entry whose values are missing (a step that did not run)
/// is left out rather than shown empty.
pub fn produced(result: &[(String, Template)], events: &[RunEvent]) -> Map<String, Json> {
    let scope = scope_of(events);
    result
        .iter()
        .filter(|(_, tpl)| {
            tpl.refs
                .iter()
                .all(|r| crate::plan::template::lookup(&scope, &r.path).is_some())
        })
        .filter_map(|(name, tpl)| Some((name.clone(), tpl.render_value(&scope).ok()?)))
        .collect()
}

/// `{params, steps: {id: {outputs}}, run}` as the events recorded them.
fn scope_of(events: &[RunEvent]) -> Json {
    let mut params = Map::new();
    let mut run = Map::new();
    let mut steps = Map::new();
    for e in events {
        match e {
            RunEvent::RunStarted(start) => {
                params.clone_from(&start.params);
                run.insert("id".into(), start.run_id.clone().into());
                run.insert("plan".into(), start.plan.clone().into());
                run.insert("started_at".into(), start.started_at.clone().into());
            }
            RunEvent::StepSucceeded { id, outputs, .. } => {
                steps.insert(id.clone(), json!({ "outputs": outputs }));
            }
            _ => {}
        }
    }
    json!({"params": params, "steps": steps, "run": run})
}

/// The end of one run, as the result line and the JSON document state it.
pub struct Ending<'a> {
    pub run_id: &'a str,
    pub plan: &'a str,
    pub outcome: Outcome,
    pub exit_code: u8,
    pub duration_ms: u64,
    pub message: &'a str,
    pub produced: &'a Map<String, Json>,
}

impl Ending<'_> {
    /// The one-line object an unattended run's log ends with (`event: result`, like the
    /// JSON progress lines): outcome, run id, backup id when the plan produces one,
    /// duration, exit code, and everything else `result:` names.
    pub fn line(&self) -> Json {
        let mut v = json!({
            "event": "result",
            "run_id": self.run_id,
            "plan": self.plan,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
        });
        if let Some(m) = v.as_object_mut() {
            if let Some(id) = self.produced.get("backup_id") {
                m.insert("backup_id".into(), id.clone());
            }
            if !self.produced.is_empty() {
                m.insert("result".into(), Json::Object(self.produced.clone()));
            }
        }
        v
    }

    /// `run --output json` (and `recover` with an action): the result line's fields, the
    /// message, each step's row and where the journal and report are.
    pub fn document(&self, steps: Json, files: Json, hint: Option<&str>) -> Json {
        let mut v = self.line();
        if let Some(m) = v.as_object_mut() {
            m.remove("event");
            m.insert("message".into(), self.message.into());
            m.insert("steps".into(), steps);
            m.insert("files".into(), files);
            if let Some(h) = hint {
                m.insert("how_to_continue".into(), h.trim().into());
            }
        }
        v
    }
}

/// `runs --output json`: one object per run, newest last as `runs` lists them.
pub fn runs_document(runs: &[RunInfo]) -> Json {
    Json::Array(
        runs.iter()
            .map(|r| {
                let started = match r.events.first() {
                    Some(RunEvent::RunStarted(s)) => Json::from(s.started_at.clone()),
                    _ => Json::Null,
                };
                let (outcome, exit_code, duration_ms) = match r.finished() {
                    Some(RunEvent::RunFinished {
                        outcome,
                        exit_code,
                        duration_ms,
                        ..
                    }) => (json!(outcome), json!(exit_code), json!(duration_ms)),
                    _ => (Json::Null, Json::Null, Json::Null),
                };
                json!({
                    "run_id": r.run_id,
                    "plan": r.plan(),
                    "finished": r.finished().is_some(),
                    "outcome": outcome,
                    "exit_code": exit_code,
                    "duration_ms": duration_ms,
                    "started_at": started,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::source::Span;
    use crate::run::events::{Phase, RunStart};

    fn events() -> Vec<RunEvent> {
        let mut params = Map::new();
        params.insert("backup_id".into(), json!(1_748_937_221));
        params.insert("token".into(), json!("***"));
        vec![
            RunEvent::RunStarted(Box::new(RunStart {
                run_id: "r1".into(),
                plan: "p".into(),
                plan_file: "p.yaml".into(),
                plan_digest: "d".into(),
                params,
                minted: vec!["backup_id".into()],
                pid: 1,
                started_at: "2026-01-01T00:00:00Z".into(),
            })),
            RunEvent::StepSucceeded {
                phase: Phase::Main,
                id: "snap".into(),
                attempts: 1,
                duration_ms: 5,
                outputs: [("name".to_string(), json!("s-1"))].into_iter().collect(),
            },
        ]
    }

    fn tpl(s: &str) -> Template {
        Template::parse(s, Span::point(0), None).expect("template")
    }

    #[test]
    fn result_entries_render_typed_from_events_and_missing_ones_are_left_out() {
        let result = vec![
            ("backup_id".to_string(), tpl("{{params.backup_id}}")),
            (
                "snapshot".to_string(),
                tpl("snap {{steps.snap.outputs.name}}"),
            ),
            ("never".to_string(), tpl("{{steps.other.outputs.x}}")),
            ("token".to_string(), tpl("{{params.token}}")),
        ];
        let got = produced(&result, &events());
        assert_eq!(got["backup_id"], json!(1_748_937_221));
        assert_eq!(got["snapshot"], json!("snap s-1"));
        assert!(!got.contains_key("never"));
        assert_eq!(got["token"], json!("***"));
    }

    #[test]
    fn the_result_line_names_outcome_backup_id_duration_and_exit_code() {
        let produced = produced(
            &[("backup_id".to_string(), tpl("{{params.backup_id}}"))],
            &events(),
        );
        let ending = Ending {
            run_id: "r1",
            plan: "p",
            outcome: Outcome::TimedOut,
            exit_code: 124,
            duration_ms: 42,
            message: "m",
            produced: &produced,
        };
        let line = ending.line();
        assert_eq!(line["event"], "result");
        assert_eq!(line["outcome"], "timed_out");
        assert_eq!(line["backup_id"], json!(1_748_937_221));
        assert_eq!(line["exit_code"], 124);
        assert_eq!(line["duration_ms"], 42);
        let doc = ending.document(json!([]), json!({}), Some(" hint\n"));
        assert!(doc.get("event").is_none());
        assert_eq!(doc["how_to_continue"], "hint");
        assert_eq!(doc["message"], "m");
    }
}
