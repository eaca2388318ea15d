//! What a rehearsal expects of its runs: from the scenario file's `expect:` key and from
//! `--expect` flags. Without an expectation every run must succeed, so a failure nobody
//! announced (an engine bug, a plan bug, a fault the plan does not survive) is a FAIL. It owns
//! parsing and matching only; the checks and the verdict are `rehearse`.
//!
//! ```yaml
//! expect:
//!   backup: succeeds                 # the default
//!   restore:                         # the restore must fail ...
//!     fails_at: stop-deployments     # ... at this step (optional: any step)
//!     reason: etcdserver             # ... with this text in the step's error (optional)
//! ```
//! `--expect run=restore,step=stop-deployments,reason=etcdserver` says the same; `run=backup`
//! with no other key: the backup fails, at any step.

use miette::Diagnostic;
use serde::Deserialize;
use serde_json::Value;

use crate::run::events::{Outcome, Phase, RunEvent};

/// What one run must do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Expect {
    #[default]
    Succeeds,
    Fails {
        at: Option<String>,
        reason: Option<String>,
    },
}

/// The expectations of both runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Expectations {
    pub backup: Expect,
    pub restore: Expect,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("invalid expectation: {0}")]
#[diagnostic(
    code(rehearse::expect),
    help(
        "write `expect: {{backup: succeeds, restore: {{fails_at: STEP, reason: TEXT}}}}` in the scenario, or `--expect run=restore,step=STEP,reason=TEXT`"
    )
)]
pub(super) struct ExpectError(pub String);

#[derive(Deserialize)]
#[serde(untagged)]
enum RunForm {
    Word(String),
    Failure(FailureForm),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailureForm {
    #[serde(default)]
    fails_at: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    #[serde(default)]
    backup: Option<RunForm>,
    #[serde(default)]
    restore: Option<RunForm>,
}

impl Expectations {
    /// From the scenario's `expect:` value (absent: every run succeeds).
    pub(super) fn from_scenario(value: Option<&Value>) -> Result<Self, ExpectError> {
        let Some(value) = value else {
            return Ok(Self::default());
        };
        let form: FileForm =
            serde_json::from_value(value.clone()).map_err(|e| ExpectError(e.to_string()))?;
        Ok(Expectations {
            backup: run_form(form.backup)?,
            restore: run_form(form.restore)?,
        })
    }

    /// Applies one `--expect run=backup|restore[,step=ID][,reason=TEXT]` flag.
    pub(super) fn apply_flag(&mut self, spec: &str) -> Result<(), ExpectError> {
        let (mut run, mut at, mut reason, mut succeeds) = (None, None, None, false);
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| ExpectError(format!("{spec:?}: `{part}` is not key=value")))?;
            let v = v.trim().to_string();
            match k.trim() {
                "run" => run = Some(v),
                "step" => at = Some(v),
                "reason" => reason = Some(v),
                "result" if v == "succeeds" => succeeds = true,
                "result" if v == "fails" => {}
                other => {
                    return Err(ExpectError(format!(
                        "{spec:?}: unknown key `{other}` (run, step, reason, result=succeeds|fails)"
                    )));
                }
            }
        }
        let expect = if succeeds {
            Expect::Succeeds
        } else {
            Expect::Fails { at, reason }
        };
        match run.as_deref() {
            Some("backup") => self.backup = expect,
            Some("restore") => self.restore = expect,
            _ => {
                return Err(ExpectError(format!(
                    "{spec:?}: say run=backup or run=restore"
                )));
            }
        }
        Ok(())
    }
}

fn run_form(form: Option<RunForm>) -> Result<Expect, ExpectError> {
    match form {
        None => Ok(Expect::Succeeds),
        Some(RunForm::Word(w)) if w == "succeeds" => Ok(Expect::Succeeds),
        Some(RunForm::Word(w)) if w == "fails" => Ok(Expect::Fails {
            at: None,
            reason: None,
        }),
        Some(RunForm::Word(w)) => Err(ExpectError(format!(
            "`{w}`: a run either `succeeds`, `fails`, or fails as {{fails_at, reason}}"
        ))),
        Some(RunForm::Failure(f)) => Ok(Expect::Fails {
            at: f.fails_at,
            reason: f.reason,
        }),
    }
}

/// The first main-phase step that failed for good, and its error.
pub(super) fn first_failure(events: &[RunEvent]) -> Option<(String, String)> {
    events.iter().find_map(|e| match e {
        RunEvent::StepFailed {
            phase: Phase::Main,
            id,
            error,
            ..
        } if error != "cancelled" => Some((id.clone(), error.clone())),
        _ => None,
    })
}

impl Expect {
    /// Whether a run that ended with `outcome` (None: it could not start) and `events` met
    /// this expectation; the text says why not.
    pub(super) fn judge(
        &self,
        outcome: Option<Outcome>,
        events: &[RunEvent],
    ) -> Result<(), String> {
        let failure = first_failure(events);
        match self {
            Expect::Succeeds if outcome == Some(Outcome::Succeeded) => Ok(()),
            Expect::Succeeds => Err(match failure {
                Some((id, error)) => format!("unexpected failure at {id}: {error}"),
                None => format!("unexpected end: {outcome:?}"),
            }),
            Expect::Fails { .. } if outcome == Some(Outcome::Succeeded) => {
                Err("the run succeeded, but a failure was expected".into())
            }
            Expect::Fails { at, reason } => {
                let Some((id, error)) = failure else {
                    return Err(format!("ended {outcome:?} without a failed step"));
                };
                if at.as_ref().is_some_and(|a| *a != id) {
                    return Err(format!(
                        "failed at {id} ({error}), expected at {}",
                        at.as_deref().unwrap_or_default()
                    ));
                }
                if reason.as_ref().is_some_and(|r| !error.contains(r.as_str())) {
                    return Err(format!(
                        "failed at {id} with `{error}`, expected a reason containing `{}`",
                        reason.as_deref().unwrap_or_default()
                    ));
                }
                Ok(())
            }
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Expect::Succeeds => "succeeds".into(),
            Expect::Fails { at, reason } => format!(
                "fails{}{}",
                at.as_ref().map(|a| format!(" at {a}")).unwrap_or_default(),
                reason
                    .as_ref()
                    .map(|r| format!(" with `{r}`"))
                    .unwrap_or_default()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_flag_forms_agree() {
        let v: Value =
            serde_json::json!({"restore": {"fails_at": "stop-deployments", "reason": "etcd"}});
        let from_file = Expectations::from_scenario(Some(&v)).unwrap();
        let mut from_flag = Expectations::default();
        from_flag
            .apply_flag("run=restore,step=stop-deployments,reason=etcd")
            .unwrap();
        assert_eq!(from_file, from_flag);
        assert_eq!(from_file.backup, Expect::Succeeds);
    }

    #[test]
    fn bad_expectations_say_what_is_wrong() {
        let v: Value = serde_json::json!({"restore": "maybe"});
        assert!(Expectations::from_scenario(Some(&v)).is_err());
        let v: Value = serde_json::json!({"restore": {"fails_on": "x"}});
        assert!(Expectations::from_scenario(Some(&v)).is_err());
        let mut e = Expectations::default();
        assert!(e.apply_flag("step=x").is_err());
        assert!(e.apply_flag("run=restore,colour=red").is_err());
    }

    #[test]
    fn judging_a_run() {
        let failed = vec![RunEvent::StepFailed {
            phase: Phase::Main,
            id: "stop-deployments".into(),
            duration_ms: 1,
            attempts: 1,
            error: "Error from server: etcdserver: request timed out".into(),
        }];
        let f = Some(Outcome::Failed);
        assert!(Expect::Succeeds.judge(f, &failed).is_err());
        let at = |a: &str, r: &str| Expect::Fails {
            at: Some(a.into()),
            reason: Some(r.into()),
        };
        assert!(
            at("stop-deployments", "etcdserver")
                .judge(f, &failed)
                .is_ok()
        );
        assert!(
            at("delete-indices", "etcdserver")
                .judge(f, &failed)
                .is_err()
        );
        assert!(
            at("stop-deployments", "conflict")
                .judge(f, &failed)
                .is_err()
        );
        assert!(at("x", "y").judge(Some(Outcome::Succeeded), &[]).is_err());
    }
}
