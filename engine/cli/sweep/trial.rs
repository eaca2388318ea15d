//! One sweep row, run and judged. A fault row runs backup + restore with exactly one fault
//! armed; a crash row SIGKILLs the restore while a chosen call is held, then runs `recover
//! --resume --yes` with no params. The judgement is the simulator's: a row passes when the
//! backup is coherent and the restored state equals it, every workload is back at the replicas
//! recorded before the restore and out of restore mode, and exporting runs; or, only where
//! retrying cannot help (a persistent fault), when the run aborted with nothing deleted, the
//! workloads back and exporting resumed, or when the run the fault failed (exit 1 or 3),
//! resumed with `recover <id> --resume --yes` once the fault is cleared, ends done ("resumed
//! to done"). It owns these rules; it must not pick the rows.

use std::time::Duration;

use serde_json::{Value, json};

use super::classes::Call;
use super::sandbox::{BACKUP_ID, ClusterView, Ended, Sandbox, kill_group};

/// A fault to arm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// HTTP 503 from a product component.
    Http5xx,
    /// The connection closed without an answer.
    Dropped,
    /// Kubernetes API `500 etcdserver: request timed out`.
    Kube500,
}

impl FaultKind {
    pub fn label(&self) -> &'static str {
        match self {
            FaultKind::Http5xx => "HTTP 503",
            FaultKind::Dropped => "dropped connection",
            FaultKind::Kube500 => "k8s API 500",
        }
    }

    /// The kinds that apply to a call.
    pub fn for_call(call: &Call) -> Vec<FaultKind> {
        if call.is_kubernetes() {
            vec![FaultKind::Kube500, FaultKind::Dropped]
        } else {
            vec![FaultKind::Http5xx, FaultKind::Dropped]
        }
    }
}

/// Which run a fault is armed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Backup,
    Restore,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Backup => "backup",
            Phase::Restore => "restore",
        }
    }
}

/// A fault on the `after+1`-th call with `target`'s method and exact path (the paths are the
/// same in every row: see `BACKUP_ID`); `times: None` = every such call from then on.
#[derive(Clone, Debug)]
pub struct Armed {
    pub target: Call,
    pub after: u32,
    pub kind: FaultKind,
    pub times: Option<u32>,
}

impl Armed {
    fn scenario(&self, latency_ms: Option<u64>) -> Value {
        let mut fault = json!({
            "component": self.target.component,
            "method": self.target.method,
            "path": self.target.path,
            "after": self.after,
        });
        if let Some(n) = self.times {
            fault["times"] = json!(n);
        }
        match (&self.kind, latency_ms) {
            (_, Some(ms)) => fault["latency_ms"] = json!(ms),
            (FaultKind::Dropped, None) => fault["drop_connection"] = json!(true),
            (FaultKind::Http5xx, None) => fault["status"] = json!(503),
            (FaultKind::Kube500, None) => fault["status"] = json!(500),
        }
        json!({ "faults": [fault] })
    }
}

/// How a row ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Restored, equal to the backup, workloads and exporting as they should be.
    Completed,
    /// Aborted with nothing deleted, workloads back, exporting resumed (the reason).
    SafeAbort(String),
    /// A persistent fault failed the run; once the fault was gone, `recover <id> --resume
    /// --yes` took it to done (what failed first).
    Resumed(String),
    /// The run ended by itself, restored and equal to the backup, before the SIGKILL landed.
    CompletedBeforeCrash,
    /// Anything else (every problem found).
    Broken(String),
}

/// A row's result: whether it passes, and why.
pub fn passes(verdict: &Verdict, persistent: bool) -> bool {
    match verdict {
        Verdict::Completed | Verdict::CompletedBeforeCrash => true,
        // Only a fault that outlasts every retry may abort the run.
        Verdict::SafeAbort(_) => persistent,
        // Only a persistent fault may need a resume: a transient one must be retried.
        Verdict::Resumed(_) => persistent,
        Verdict::Broken(_) => false,
    }
}

/// Backup and restore with `armed` armed before the run of `phase`. A persistent fault may
/// fail a run after it changed things (retrying cannot help while the fault lasts): such a
/// run must then be resumable to done, so the row clears the fault and resumes it.
pub async fn fault_row(sb: &Sandbox, phase: Phase, armed: &Armed, persistent: bool) -> Verdict {
    sb.advance(30).await;
    if phase == Phase::Backup {
        sb.control("/sim/faults", Some(armed.scenario(None))).await;
    }
    let mut backup = sb.backup().await;
    let mut resumed = None;
    if let Some(v) = judge_backup(sb, &backup).await {
        if !(persistent && matches!(v, Verdict::Broken(_))) {
            return v;
        }
        let Some(recovered) = resume_failed(sb, "backup", &backup).await else {
            return v;
        };
        resumed = Some(format!("backup failed at {}", backup.why()));
        backup = recovered;
        if let Some(v) = judge_backup(sb, &backup).await {
            return resumed_broken("backup", resumed, v);
        }
    }
    sb.advance(50).await;
    let before = sb.cluster_view().await;
    if phase == Phase::Restore {
        sb.control("/sim/faults", Some(armed.scenario(None))).await;
    }
    let restore = sb.restore().await;
    let v = judge_restore(sb, &before, &restore).await;
    let v = match v {
        Verdict::Broken(_) if persistent => match resume_failed(sb, "restore", &restore).await {
            Some(recovered) => {
                resumed = Some(format!("restore failed at {}", restore.why()));
                judge_restore(sb, &before, &recovered).await
            }
            None => v,
        },
        v => v,
    };
    match (resumed, v) {
        (Some(first), Verdict::Completed) => Verdict::Resumed(format!(
            "{first}; resumed to done, restored, equal to the backup"
        )),
        (resumed @ Some(_), v) => resumed_broken("restore", resumed, v),
        (None, v) => v,
    }
}

/// A run that failed (not one still running at the row's limit), resumed with `recover
/// <id> --resume --yes` once every fault is cleared; `None` when it cannot be.
async fn resume_failed(sb: &Sandbox, plan: &str, ended: &Ended) -> Option<Ended> {
    if ended.timed_out || !matches!(ended.exit_code, Some(1 | 3)) {
        return None;
    }
    let id = ended.run_id.as_deref()?;
    sb.disarm().await;
    Some(sb.resume(plan, id).await)
}

/// The verdict after a resume that did not end done.
fn resumed_broken(plan: &str, first: Option<String>, after: Verdict) -> Verdict {
    let first = first.unwrap_or_default();
    match after {
        Verdict::Broken(why) | Verdict::SafeAbort(why) | Verdict::Resumed(why) => {
            Verdict::Broken(format!("{first}; the {plan} resumed, then: {why}"))
        }
        Verdict::Completed | Verdict::CompletedBeforeCrash => {
            Verdict::Resumed(format!("{first}; resumed to done"))
        }
    }
}

/// Where a crash row kills the restore.
#[derive(Clone, Debug)]
pub enum CrashPoint {
    /// As soon as the journal says this main step started (a step boundary).
    StepStart(String),
    /// While this call is held in flight (e.g. the second item of a `for_each`).
    Held(Armed),
}

/// Backup, then the restore SIGKILLed (its whole process group) at `point`, then `recover
/// --resume --yes` with no params.
pub async fn crash_row(sb: &Sandbox, point: &CrashPoint) -> Verdict {
    sb.advance(30).await;
    let backup = sb.backup().await;
    if !backup.succeeded() {
        return Verdict::Broken(format!(
            "the backup failed without a fault: {}",
            backup.why()
        ));
    }
    sb.advance(50).await;
    let before = sb.cluster_view().await;
    if let CrashPoint::Held(armed) = point {
        // Held far longer than the row lasts: the server never acts on it.
        sb.control("/sim/faults", Some(armed.scenario(Some(600_000))))
            .await;
    }
    let mut child = match sb.spawn_restore() {
        Ok(c) => c,
        Err(e) => return Verdict::Broken(format!("cannot start the restore: {e}")),
    };
    let mut caught = false;
    // Bounded: 240 s in 5 ms steps.
    for _ in 0..48_000 {
        caught = match point {
            // Its fault taken (only this one is armed) and a call of its path in flight: the
            // held call itself, not another call of the same path (e.g. an earlier watch).
            CrashPoint::Held(armed) => sb.armed_faults() == 0 && sb.in_flight(&armed.target),
            CrashPoint::StepStart(step) => sb.started_steps("restore").contains(step),
        };
        if caught {
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    kill_group(&child);
    let status = child.wait().await;
    // A hold the run never reached must not hold the recovery.
    sb.disarm().await;
    // The run may have ended by itself before the SIGKILL landed (a step of a millisecond,
    // e.g. the last one), or been killed after its journal's `run_finished` (writing its
    // report): nothing is left to recover; the row judges the run as it ended.
    let reached = caught
        || matches!(point, CrashPoint::StepStart(s) if sb.started_steps("restore").contains(s));
    let code = status.ok().and_then(|s| s.code());
    if let Some(ended) = sb.finished_restore(code).filter(|_| reached) {
        return match judge_restore(sb, &before, &ended).await {
            Verdict::Completed => Verdict::CompletedBeforeCrash,
            other => other,
        };
    }
    if !caught {
        return Verdict::Broken(
            "the restore never reached the crash point (the plan changed: regenerate the rows)"
                .into(),
        );
    }
    let recovered = sb.recover().await;
    judge_restore(sb, &before, &recovered).await
}

/// `Some` when the row ends with the backup: a failed backup (after checking it resumed
/// exporting) or an incoherent one.
async fn judge_backup(sb: &Sandbox, backup: &Ended) -> Option<Verdict> {
    let exporting = sb.control("/sim/exporting", None).await;
    let running = exporting["paused"] == json!(false);
    if !backup.succeeded() {
        return Some(if running {
            Verdict::SafeAbort(format!(
                "backup failed at {}; exporting resumed",
                backup.why()
            ))
        } else {
            Verdict::Broken(format!(
                "backup failed at {} and left exporting {}",
                backup.why(),
                exporting["mode"]
            ))
        });
    }
    if !running {
        return Some(Verdict::Broken(format!(
            "backup succeeded but left exporting {}",
            exporting["mode"]
        )));
    }
    let oracle = sb
        .control(&format!("/sim/oracle/backups/{BACKUP_ID}"), None)
        .await;
    if oracle["coherent"] != json!(true) {
        return Some(Verdict::Broken(format!(
            "backup succeeded but is not coherent: {}",
            oracle["problems"]
        )));
    }
    None
}

async fn judge_restore(sb: &Sandbox, before: &ClusterView, restore: &Ended) -> Verdict {
    let after = sb.cluster_view().await;
    let mut problems = workload_problems(&before.workloads, &after.workloads);
    let exporting = sb.control("/sim/exporting", None).await;
    if exporting["paused"] != json!(false) {
        problems.push(format!("exporting left {}", exporting["mode"]));
    }
    if restore.succeeded() {
        let oracle = sb
            .control(&format!("/sim/oracle/restore/{BACKUP_ID}"), None)
            .await;
        if oracle["restored"] != json!(true) {
            problems.push(format!("restored state differs: {}", oracle["problems"]));
        }
        return if problems.is_empty() {
            Verdict::Completed
        } else {
            Verdict::Broken(format!("restore succeeded, but {}", problems.join("; ")))
        };
    }
    let deleted: Vec<&String> = before
        .indices
        .iter()
        .filter(|i| !after.indices.contains(i))
        .collect();
    if !deleted.is_empty() {
        problems.push(format!("{} indices deleted", deleted.len()));
    }
    if before.broker_data && !after.broker_data {
        problems.push("broker data deleted".into());
    }
    if problems.is_empty() {
        Verdict::SafeAbort(format!(
            "restore failed at {}; nothing deleted, workloads back",
            restore.why()
        ))
    } else {
        Verdict::Broken(format!(
            "restore failed at {}; {}",
            restore.why(),
            problems.join("; ")
        ))
    }
}

/// Workloads not at their recorded replicas, gone, or still in restore mode.
fn workload_problems(before: &Value, after: &Value) -> Vec<String> {
    let (Some(before), Some(after)) = (
        before["workloads"].as_array(),
        after["workloads"].as_array(),
    ) else {
        return vec!["the simulator reports no workloads".into()];
    };
    let mut out = Vec::new();
    for w in before {
        let name = w["name"].as_str().unwrap_or_default();
        match after
            .iter()
            .find(|a| a["name"] == w["name"] && a["kind"] == w["kind"])
        {
            Some(a) if a["replicas"] != w["replicas"] => out.push(format!(
                "{name} at {} replicas (recorded {})",
                a["replicas"], w["replicas"]
            )),
            Some(_) => {}
            None => out.push(format!("{name} is gone")),
        }
    }
    for a in after {
        let restoring = a["env"]
            .as_object()
            .is_some_and(|c| c.values().any(|env| env["ZEEBE_RESTORE"] == "true"));
        if restoring {
            out.push(format!(
                "{} still in restore mode",
                a["name"].as_str().unwrap_or_default()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workloads(zeebe: u64, env: &str) -> Value {
        json!({"workloads": [
            {"kind": "StatefulSet", "name": "camunda-zeebe", "replicas": zeebe,
             "env": {"zeebe": {"ZEEBE_RESTORE": env}}},
            {"kind": "Deployment", "name": "camunda-optimize", "replicas": 1, "env": {}},
        ]})
    }

    #[test]
    fn workloads_must_be_back_and_out_of_restore_mode() {
        assert!(workload_problems(&workloads(3, "false"), &workloads(3, "false")).is_empty());
        assert_eq!(
            workload_problems(&workloads(3, "false"), &workloads(0, "true")),
            [
                "camunda-zeebe at 0 replicas (recorded 3)",
                "camunda-zeebe still in restore mode"
            ]
        );
        assert_eq!(
            workload_problems(&workloads(3, "false"), &json!({"workloads": []})),
            ["camunda-zeebe is gone", "camunda-optimize is gone"]
        );
        assert_eq!(workload_problems(&Value::Null, &Value::Null).len(), 1);
    }

    #[test]
    fn a_safe_abort_passes_only_where_retrying_cannot_help() {
        let abort = Verdict::SafeAbort("x".into());
        assert!(passes(&Verdict::Completed, false));
        assert!(passes(&abort, true));
        assert!(!passes(&abort, false));
        assert!(!passes(&Verdict::Broken("x".into()), true));
    }

    #[test]
    fn armed_faults_become_scenarios() {
        let armed = Armed {
            target: Call {
                seq: 7,
                component: "kubernetes".into(),
                method: "PATCH".into(),
                path: "/apis/apps/v1/namespaces/c/statefulsets/z/scale".into(),
                query: String::new(),
            },
            after: 2,
            kind: FaultKind::Kube500,
            times: Some(1),
        };
        let s = armed.scenario(None);
        assert_eq!(s["faults"][0]["status"], 500);
        assert_eq!(s["faults"][0]["after"], 2);
        assert_eq!(s["faults"][0]["times"], 1);
        let held = armed.scenario(Some(1000));
        assert_eq!(held["faults"][0]["latency_ms"], 1000);
        assert!(held["faults"][0].get("status").is_none());
        let parsed = runbook_sim::Scenario::from_yaml_str(&s.to_string()).expect("valid");
        assert_eq!(parsed.faults[0].component, "kubernetes");
    }
}
