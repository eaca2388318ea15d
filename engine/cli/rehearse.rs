//! rehearse: `runbook rehearse`. Starts the simulator, runs the backup plan, checks the
//! restore point with the simulator's oracle, lets the cluster move on, damages it (deletes
//! indices and broker data), runs the restore plan, checks the restored state, and prints a
//! verdict with evidence. With `--scenario`/`--fault`/`--outcome`, faults are injected and the
//! verdict also says what the engine did about them.
//!
//! Every check can fail: each run is judged against what the scenario expects (`expect:` in
//! the scenario file or `--expect`, see `rehearse/expect.rs`; by default every run succeeds),
//! the advance and the damage are verified in the simulator, and after the restore every
//! workload must be back at the replicas recorded before it and out of restore mode. A backup
//! that fails as expected is retried once with a new id (what an operator does); when no backup
//! succeeds the restore is NOT VERIFIED. Exit 0 only when every check holds (`VERDICT: PASS`);
//! 1 for `VERDICT: FAIL` or `VERDICT: NOT VERIFIED`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::exit_code::Exit;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value as Json, json};

use crate::cli::sim::{DatastoreArg, SimStartError, VersionArg};
use crate::cli::{ValueArgs, fail};
use crate::run::driver::{Finished, RunRequest, new_run, run_plan};
use crate::run::events::{Outcome, Phase, RunEvent};
use crate::run::recorder::LogFormat;
use crate::run::scheduler::{Interrupts, Resume, RunOptions};

mod expect;

use expect::{Expect, Expectations};

#[derive(Args)]
pub struct RehearseArgs {
    /// The backup and the restore plan (default: the shipped plans of --camunda-version).
    #[arg(num_args = 0..=2, value_names = ["BACKUP", "RESTORE"])]
    pub plans: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "8.8")]
    pub camunda_version: VersionArg,
    #[arg(long, value_enum, default_value = "elasticsearch")]
    pub datastore: DatastoreArg,
    /// Faults to inject into the simulator (YAML; e.g. engine/sim/scenarios/example-faults.yaml).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// A fault, as `runbook sim --fault` (repeatable).
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,
    /// How backups end, as `runbook sim --outcome` (repeatable).
    #[arg(long = "outcome", value_name = "SPEC")]
    pub outcomes: Vec<String>,
    /// What a run must do, e.g. `run=backup,step=wait-zeebe,reason=FAILED` (the run fails
    /// there) or `run=restore,result=succeeds` (repeatable; overrides the scenario's `expect:`).
    #[arg(long = "expect", value_name = "SPEC")]
    pub expect: Vec<String>,
    /// Restore this backup id instead of the one the backup run took.
    #[arg(long, value_name = "ID")]
    pub backup_id: Option<String>,
    /// Run without Optimize.
    #[arg(long)]
    pub no_optimize: bool,
    /// Extra params for both plans (e.g. `--set wait_timeout=2m`).
    #[command(flatten)]
    pub values: ValueArgs,
    /// Where the rehearsal keeps the simulator's files and the runs' journals.
    #[arg(long, default_value = ".runbook/rehearse")]
    pub state_dir: PathBuf,
    /// Write the verdict and its evidence as JSON.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[arg(long, env = "RUNBOOK_KUBECTL", default_value = "kubectl")]
    pub kubectl: PathBuf,
    /// Reach every component through `kubectl port-forward` (values naming the chart's
    /// Services, as from a laptop), relayed to the simulator; the verdict checks that every
    /// forward was torn down.
    #[arg(long)]
    pub port_forward: bool,
    /// The simulator's Kubernetes API grants only this Role (YAML, e.g. `runbook rbac
    /// BACKUP RESTORE --set port_forward=false` output): a call it does not grant is refused
    /// with the API server's 403, and the plan that made it fails.
    #[arg(long, value_name = "ROLE.yaml")]
    pub rbac: Option<PathBuf>,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pass,
    Fail,
    /// The check could not be made (e.g. no backup to restore from).
    NotVerified,
}

impl Status {
    fn of(ok: bool) -> Self {
        if ok { Status::Pass } else { Status::Fail }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotVerified => "NOT VERIFIED",
        }
    }
}

/// One line of the verdict.
struct Check {
    status: Status,
    what: String,
    evidence: String,
}

impl Check {
    fn new(ok: bool, what: impl Into<String>, evidence: impl Into<String>) -> Self {
        Self::with(Status::of(ok), what, evidence)
    }

    fn with(status: Status, what: impl Into<String>, evidence: impl Into<String>) -> Self {
        Self {
            status,
            what: what.into(),
            evidence: evidence.into(),
        }
    }
}

/// The shipped backup and restore plans of a version.
pub(crate) fn default_plans(v: VersionArg) -> (PathBuf, PathBuf) {
    let v = v.version().minor();
    (
        shipped(&format!("plans/camunda/backup-{v}.yaml")),
        shipped(&format!("plans/camunda/restore-{v}.yaml")),
    )
}

/// A shipped plan: relative to the working directory (a checkout), else where this binary
/// was built from, so `rehearse` also works from another directory.
fn shipped(rel: &str) -> PathBuf {
    let here = PathBuf::from(rel);
    if here.exists() {
        return here;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if built.exists() { built } else { here }
}

pub fn rehearse(a: &RehearseArgs) -> ExitCode {
    let (default_backup, default_restore) = default_plans(a.camunda_version);
    let backup_path = a.plans.first().cloned().unwrap_or(default_backup);
    let restore_path = a.plans.get(1).cloned().unwrap_or(default_restore);
    let sim_args = crate::cli::sim::SimArgs {
        camunda_version: a.camunda_version,
        datastore: a.datastore,
        scenario: None,
        faults: Vec::new(),
        outcomes: Vec::new(),
        state_dir: a.state_dir.join("sim"),
        values_out: None,
        no_optimize: a.no_optimize,
        run_for: None,
        port_forward: false,
        kubectl: a.kubectl.clone(),
        rbac: None,
    };
    let config = match sim_args.config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // Faults are injected after the simulator is up, so the history before the backup is
    // clean: the simulator starts without them.
    let faulted = a.scenario.is_some() || !a.faults.is_empty() || !a.outcomes.is_empty();
    let mut scenario = if faulted {
        match crate::cli::sim::scenario_from(a.scenario.as_deref(), &a.faults, &a.outcomes) {
            Ok(s) => Some(s),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    let expect_value = scenario.as_mut().and_then(|s| s.expect.take());
    let mut expectations = match Expectations::from_scenario(expect_value.as_ref()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    for spec in &a.expect {
        if let Err(e) = expectations.apply_flag(spec) {
            return fail(e);
        }
    }
    let policy = match crate::cli::sim::rbac_policy(a.rbac.as_deref()) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return fail(SimStartError("cannot start the async runtime".into()));
    };
    runtime.block_on(async move {
        // The scenario's `config:` shapes the installation (names, storage, prefixes, ...):
        // it applies from the start; faults and outcomes still come after the history.
        let mut config = config;
        if let Some(s) = &scenario {
            config.scenario.config = s.config.clone();
        }
        let sim = match runbook_sim::start(config).await {
            Ok(h) => h,
            Err(e) => return fail(SimStartError(e.to_string())),
        };
        if policy.is_some() {
            sim.set_rbac(policy);
        }
        let code = Rehearsal {
            a,
            sim: &sim,
            backup_path,
            restore_path,
            scenario,
            expectations,
            checks: Vec::new(),
            evidence: json!({}),
            kubectl: a.kubectl.clone(),
            forwarding: None,
        }
        .go()
        .await;
        sim.shutdown().await;
        code
    })
}

struct Rehearsal<'a> {
    a: &'a RehearseArgs,
    sim: &'a runbook_sim::SimHandle,
    backup_path: PathBuf,
    restore_path: PathBuf,
    scenario: Option<runbook_sim::Scenario>,
    expectations: Expectations,
    checks: Vec<Check>,
    evidence: Json,
    /// The kubectl the plans run with (the port-forward relay script with `--port-forward`).
    kubectl: PathBuf,
    forwarding: Option<crate::cli::sim_forwarding::Forwarding>,
}

impl Rehearsal<'_> {
    async fn go(mut self) -> ExitCode {
        let started = Instant::now();
        let values_path = self.a.state_dir.join("values.yaml");
        if let Err(e) = std::fs::create_dir_all(&self.a.state_dir).and_then(|()| {
            let values = if self.a.port_forward {
                let f = crate::cli::sim_forwarding::prepare(
                    self.sim,
                    &self.a.state_dir,
                    &self.a.kubectl,
                    self.a.rbac.is_some(),
                )?;
                self.kubectl = f.kubectl.clone();
                let values = f.values.clone();
                self.forwarding = Some(f);
                values
            } else {
                self.sim.values_yaml()
            };
            std::fs::write(&values_path, values)
        }) {
            return fail(SimStartError(format!(
                "cannot write {}: {e}",
                values_path.display()
            )));
        }
        let sim_url = self.sim.urls().control.clone();
        eprintln!(
            "rehearsal: simulator up ({}), values in {}",
            sim_url,
            values_path.display()
        );
        if let Some(s) = self.scenario.take() {
            eprintln!("rehearsal: injecting faults from {}", self.fault_source());
            self.sim.inject(s);
        }
        // Some history before the backup, as a live cluster has.
        post(&sim_url, "/sim/advance", json!({"records": 30})).await;
        let interrupts = Interrupts::default();
        let signals = tokio::spawn(crate::run::driver::watch_signals(interrupts.clone()));
        let code = self
            .backup_then_restore(&sim_url, &values_path, &interrupts)
            .await;
        signals.abort();
        if let Some(f) = &self.forwarding {
            let left = f.leftovers().await;
            let started = f.started();
            self.checks.push(Check::new(
                left.is_empty() && started > 0,
                "every component reached through port-forwards, each torn down when its run ended",
                if left.is_empty() {
                    format!(
                        "{started} `kubectl port-forward` started by the runs, none left running"
                    )
                } else {
                    format!("{started} started; still running: pids {left:?}")
                },
            ));
        }
        match code {
            Some(code) => code,
            None => self.verdict(started.elapsed()),
        }
    }

    /// The rehearsal proper; `Some(code)` when a plan could not even be loaded.
    async fn backup_then_restore(
        &mut self,
        sim_url: &str,
        values: &Path,
        interrupts: &Interrupts,
    ) -> Option<ExitCode> {
        let backup_path = self.backup_path.clone();
        let backup = match self.run(&backup_path, values, &[], interrupts).await {
            Ok(f) => f,
            Err(code) => return Some(code),
        };
        let expected = self.expectations.backup.clone();
        self.judge("backup", &expected, &backup);
        self.evidence["backup"] = run_evidence(&backup);
        self.check_exporting(sim_url, "after the backup").await;
        let mut backup_id = param_of(&backup.events, "backup_id");
        let mut succeeded = outcome_of(&backup) == Some(Outcome::Succeeded);
        if !succeeded {
            self.report_compensation(&backup);
            if matches!(expected, Expect::Fails { .. }) {
                // An operator retries with a new id; Zeebe wants it higher than the last.
                let next = backup_id.parse::<u64>().map_or(1, |n| n + 1).to_string();
                let retry = match self
                    .run(
                        &backup_path,
                        values,
                        &[format!("backup_id={next}")],
                        interrupts,
                    )
                    .await
                {
                    Ok(f) => f,
                    Err(code) => return Some(code),
                };
                if outcome_of(&retry) == Some(Outcome::Succeeded) {
                    self.judge("retried backup", &Expect::Succeeds, &retry);
                } else {
                    // The announced fault outlasts a retry: nothing to judge the restore on.
                    self.checks.push(Check::with(
                        Status::NotVerified,
                        "retried backup plan succeeded",
                        summary_of(&retry),
                    ));
                }
                self.evidence["backup_retry"] = run_evidence(&retry);
                self.check_exporting(sim_url, "after the retried backup")
                    .await;
                succeeded = outcome_of(&retry) == Some(Outcome::Succeeded);
                backup_id = next;
            }
        }
        if !succeeded {
            self.checks.push(Check::with(
                Status::NotVerified,
                "restore",
                "no backup succeeded, so there was nothing to restore from",
            ));
            return None;
        }
        self.check_backup(sim_url, &backup_id).await;
        self.move_on_and_damage(sim_url).await;
        let recorded = get(sim_url, "/sim/workloads").await;
        let restore_from = self.sim.inspect(|w| w.requests.back().map_or(0, |r| r.seq));
        let restore_id = self.a.backup_id.clone().unwrap_or(backup_id);
        let restore_path = self.restore_path.clone();
        let restore = match self
            .run(
                &restore_path,
                values,
                &[format!("backup_id={restore_id}")],
                interrupts,
            )
            .await
        {
            Ok(f) => f,
            Err(code) => return Some(code),
        };
        let expected = self.expectations.restore.clone();
        self.judge("restore", &expected, &restore);
        self.evidence["restore"] = run_evidence(&restore);
        if expected == Expect::Succeeds {
            self.check_restore(sim_url, &restore_id).await;
            self.check_restore_mode_entered(restore_from);
        }
        self.check_workloads(sim_url, &recorded).await;
        self.check_exporting(sim_url, "after the restore").await;
        None
    }

    /// A run against its expectation: `<name> plan succeeded` or `<name> plan failed as
    /// expected`, FAIL with the reason otherwise.
    fn judge(&mut self, name: &str, expected: &Expect, run: &Finished) {
        let verdict = expected.judge(outcome_of(run), &run.events);
        let what = match expected {
            Expect::Succeeds => format!("{name} plan succeeded"),
            Expect::Fails { .. } => format!("{name} plan {} as expected", expected.describe()),
        };
        let evidence = match &verdict {
            Ok(()) => summary_of(run),
            Err(why) => format!("{why} ({})", summary_of(run)),
        };
        self.checks
            .push(Check::new(verdict.is_ok(), what, evidence));
    }

    /// Lets the cluster process more records, then deletes its data; both verified in the
    /// simulator, so a rehearsal that restored nothing cannot pass by accident.
    async fn move_on_and_damage(&mut self, sim_url: &str) {
        const RECORDS: u64 = 50;
        let positions = |w: &runbook_sim::model::World| -> Vec<u64> {
            w.cluster.partitions.iter().map(|p| p.position).collect()
        };
        let before = self.sim.inspect(positions);
        post(sim_url, "/sim/advance", json!({"records": RECORDS})).await;
        let after = self.sim.inspect(positions);
        let advanced = !before.is_empty()
            && before.len() == after.len()
            && before.iter().zip(&after).all(|(b, a)| *a >= b + RECORDS);
        self.checks.push(Check::new(
            advanced,
            "cluster moved on after the backup",
            format!("partition positions {before:?} -> {after:?}"),
        ));
        let damage = post(sim_url, "/sim/damage", json!({})).await;
        let deleted: Vec<String> = damage["deletedIndices"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        // What the damage says it deleted must be gone (indices that are not the
        // installation's own, e.g. another tenant's, may rightly survive).
        let (leftover, broker_data) = self.sim.inspect(|w| {
            let leftover = deleted
                .iter()
                .filter(|n| w.store.indices.contains_key(n.as_str()))
                .count();
            (leftover, w.zeebe.broker_data_present)
        });
        self.checks.push(Check::new(
            !deleted.is_empty() && leftover == 0 && !broker_data,
            "cluster damaged (Camunda indices and broker data deleted)",
            format!(
                "{} indices deleted, {leftover} of them still there, broker data {}",
                deleted.len(),
                if broker_data { "still present" } else { "gone" }
            ),
        ));
    }

    /// A successful restore changed the Zeebe StatefulSet's pod template (restore mode is an
    /// env change, reference 3.1), so "restore mode left" below means something.
    fn check_restore_mode_entered(&mut self, since: u64) {
        // 8.10's Restore API restores in place: recovery mode and `POST /v2/restore` instead
        // of a pod-template change (camunda-8.9-8.10.md §4.3).
        let (recovery, restores) = self.sim.inspect(|w| {
            let ok = |r: &&runbook_sim::model::RequestRecord, method: &str, path: &str| {
                r.seq > since
                    && r.component.as_str() == "rest"
                    && r.method == method
                    && r.path.starts_with(path)
                    && (200..300).contains(&r.status)
            };
            let count = |method: &str, path: &str| {
                w.requests.iter().filter(|r| ok(r, method, path)).count()
            };
            (
                count("PATCH", "/v2/mode?mode=RECOVERING"),
                w.requests
                    .iter()
                    .filter(|r| ok(r, "POST", "/v2/restore") && !r.path.contains("dryRun"))
                    .count(),
            )
        });
        if restores > 0 {
            self.checks.push(Check::new(
                recovery >= 1,
                "restore mode entered (recovery mode, Restore API)",
                format!("{recovery} change(s) to recovery mode, {restores} restore(s) through POST /v2/restore"),
            ));
            return;
        }
        let patches = self.sim.inspect(|w| {
            w.requests
                .iter()
                .filter(|r| r.seq > since && r.component.as_str() == "kubernetes")
                .filter(|r| r.method == "PATCH" && (200..300).contains(&r.status))
                .filter(|r| {
                    let path = r.path.split('?').next().unwrap_or_default();
                    path.contains("/statefulsets/") && !path.ends_with("/scale")
                })
                .count()
        });
        self.checks.push(Check::new(
            patches >= 2,
            "restore mode entered",
            format!("{patches} changes of the StatefulSet's pod template (enter, then leave)"),
        ));
    }

    /// Every workload back at the replicas recorded before the restore, and out of restore
    /// mode (`ZEEBE_RESTORE` not `true` in any container).
    async fn check_workloads(&mut self, sim_url: &str, recorded: &Json) {
        let now = get(sim_url, "/sim/workloads").await;
        let (Some(before), Some(after)) = (
            recorded["workloads"].as_array(),
            now["workloads"].as_array(),
        ) else {
            self.checks.push(Check::with(
                Status::NotVerified,
                "every workload back at its recorded replicas",
                "the simulator reports no workloads (no Kubernetes stand-in)",
            ));
            return;
        };
        let mut wrong = Vec::new();
        for w in before {
            let name = w["name"].as_str().unwrap_or_default();
            match after
                .iter()
                .find(|a| a["name"] == w["name"] && a["kind"] == w["kind"])
            {
                Some(a) if a["replicas"] == w["replicas"] => {}
                Some(a) => wrong.push(format!(
                    "{name} at {} replicas, recorded {}",
                    a["replicas"], w["replicas"]
                )),
                None => wrong.push(format!("{name} is gone")),
            }
        }
        self.checks.push(Check::new(
            wrong.is_empty(),
            "every workload back at its recorded replicas",
            if wrong.is_empty() {
                format!("{} workloads as recorded before the restore", before.len())
            } else {
                wrong.join("; ")
            },
        ));
        let in_restore: Vec<String> = after
            .iter()
            .filter(|w| {
                w["env"].as_object().is_some_and(|containers| {
                    containers
                        .values()
                        .any(|env| env["ZEEBE_RESTORE"] == "true")
                })
            })
            .map(|w| w["name"].as_str().unwrap_or_default().to_string())
            .collect();
        self.checks.push(Check::new(
            in_restore.is_empty(),
            "restore mode left",
            if in_restore.is_empty() {
                "no container has ZEEBE_RESTORE=true".to_string()
            } else {
                format!("ZEEBE_RESTORE=true still set on {}", in_restore.join(", "))
            },
        ));
        self.evidence["workloads"] = json!({"before_restore": recorded, "after_restore": now});
    }

    /// Runs one plan against the simulator with the values file and extra `--set`s.
    async fn run(
        &mut self,
        plan_path: &Path,
        values: &Path,
        sets: &[String],
        interrupts: &Interrupts,
    ) -> Result<Finished, ExitCode> {
        let (plan, graphs) = crate::cli::load_valid(plan_path)?;
        let mut inputs = self.a.values.clone();
        inputs.files.insert(0, values.to_path_buf());
        inputs.sets.extend(sets.iter().cloned());
        // A secured simulated datastore: its key goes to the plans' secret param (masked).
        if let Some(key) = self.sim.datastore_api_key() {
            inputs.sets.push(format!("datastore_api_key={key}"));
        }
        // 8.10: the REST API's OAuth2 client secret goes to the plans that take it (masked).
        if let Some(secret) = self.sim.rest_client_secret()
            && plan
                .params
                .iter()
                .any(|p| p.name == "camunda_client_secret")
        {
            inputs.sets.push(format!("camunda_client_secret={secret}"));
        }
        let params = crate::cli::resolve_params(&plan, &inputs)?;
        let new = new_run(&plan, &params, &self.a.state_dir).map_err(fail)?;
        eprintln!(
            "\nrehearsal: running {} (run {})",
            plan_path.display(),
            new.run_id
        );
        let live = self.a.log_format == LogFormat::Text && std::io::stderr().is_terminal();
        let finished = run_plan(RunRequest {
            plan,
            graphs: &graphs,
            params: &params,
            run: new.run,
            journal: Some((new.journal, new.first)),
            log_format: self.a.log_format,
            live,
            heartbeat: None,
            kubectl: self.kubectl.clone(),
            options: RunOptions {
                max_parallel: 16,
                timeout: Some(Duration::from_secs(600)),
            },
            resume: Resume::default(),
            interrupts: interrupts.clone(),
            confirm: None,
        })
        .await;
        Ok(finished)
    }

    async fn check_backup(&mut self, sim_url: &str, id: &str) {
        let v = get(sim_url, &format!("/sim/oracle/backups/{id}")).await;
        let coherent = v["coherent"].as_bool().unwrap_or(false);
        let parts = v["parts"].as_object().map_or(0, serde_json::Map::len);
        let problems = v["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .map(crate::plan::template::display)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let evidence = if coherent {
            format!(
                "backup {id}: {parts} parts, every index snapshot holds records between the exporter and checkpoint positions of the Zeebe backup"
            )
        } else {
            format!("backup {id}: {problems}")
        };
        self.checks
            .push(Check::new(coherent, "restore point coherent", evidence));
        self.evidence["oracle_backup"] = v;
    }

    async fn check_restore(&mut self, sim_url: &str, id: &str) {
        let v = get(sim_url, &format!("/sim/oracle/restore/{id}")).await;
        let ok = v["restored"].as_bool().unwrap_or(false);
        let problems = v["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .map(crate::plan::template::display)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        self.checks.push(Check::new(
            ok,
            "restored state equals the backup",
            if ok {
                format!("Zeebe positions and index contents equal those of backup {id}")
            } else {
                problems
            },
        ));
        self.evidence["oracle_restore"] = v;
    }

    async fn check_exporting(&mut self, sim_url: &str, when: &str) {
        let v = get(sim_url, "/sim/exporting").await;
        let running = v["paused"].as_bool() == Some(false);
        let window = paused_window(&v);
        let evidence = match window {
            Some(ms) => format!(
                "mode {}; last pause lasted {:.3} s (pause to resume)",
                v["mode"].as_str().unwrap_or("?"),
                ms as f64 / 1000.0
            ),
            None => format!("mode {}", v["mode"].as_str().unwrap_or("?")),
        };
        if let Some(ms) = window {
            self.evidence["paused_window_ms"] = json!(ms);
        }
        self.checks.push(Check::new(
            running,
            format!("exporting running {when}"),
            evidence,
        ));
    }

    /// What the engine did about a failed backup (retries, undo, finally), as evidence; the
    /// judgement itself is the expectation and the exporting check.
    fn report_compensation(&mut self, backup: &Finished) {
        let did: Vec<String> = backup
            .events
            .iter()
            .filter_map(|e| match e {
                RunEvent::StepRetrying {
                    id, attempt, error, ..
                } => Some(format!("retried {id} after attempt {attempt} ({error})")),
                RunEvent::StepFailed {
                    phase: Phase::Main,
                    id,
                    error,
                    ..
                } if error != "cancelled" => Some(format!("stopped at {id}: {error}")),
                RunEvent::StepSucceeded {
                    phase: Phase::Undo,
                    id,
                    ..
                } => Some(format!("undo of {id} ran")),
                RunEvent::StepSucceeded {
                    phase: Phase::Finally,
                    id,
                    ..
                } => Some(format!("finally {id} ran")),
                RunEvent::StepFailed {
                    phase: phase @ (Phase::Undo | Phase::Finally),
                    id,
                    error,
                    ..
                } => Some(format!("{phase:?} {id} failed: {error}")),
                _ => None,
            })
            .collect();
        let compensation_failed = backup.events.iter().any(|e| {
            matches!(
                e,
                RunEvent::StepFailed {
                    phase: Phase::Undo | Phase::Finally,
                    ..
                }
            )
        });
        self.checks.push(Check::new(
            !compensation_failed,
            "failed backup compensated (undo and finally steps succeeded)",
            did.join("; "),
        ));
    }

    /// Whether faults were injected (a failed backup is then an expected outcome).
    fn faulted(&self) -> bool {
        self.a.scenario.is_some() || !self.a.faults.is_empty() || !self.a.outcomes.is_empty()
    }

    /// Where the faults came from, for the log and the verdict.
    fn fault_source(&self) -> String {
        let mut parts: Vec<String> = self
            .a
            .scenario
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        parts.extend(self.a.faults.iter().map(|f| format!("--fault {f}")));
        parts.extend(self.a.outcomes.iter().map(|o| format!("--outcome {o}")));
        parts.join(", ")
    }

    fn verdict(&mut self, took: Duration) -> ExitCode {
        let overall = if self.checks.iter().any(|c| c.status == Status::Fail) {
            Status::Fail
        } else if self.checks.iter().any(|c| c.status == Status::NotVerified) {
            Status::NotVerified
        } else {
            Status::Pass
        };
        let pass = overall == Status::Pass;
        println!(
            "\nREHEARSAL ({}, {}{})",
            version_name(self.a.camunda_version),
            datastore_name(self.a.datastore),
            if self.faulted() {
                format!(", faults from {}", self.fault_source())
            } else {
                String::new()
            }
        );
        for c in &self.checks {
            println!("  {} {}\n      {}", c.status.label(), c.what, c.evidence);
        }
        for run in ["backup", "backup_retry", "restore"] {
            let Some(steps) = self.evidence[run]["steps"].as_array() else {
                continue;
            };
            println!("\n  {run} step timings:");
            for s in steps {
                println!(
                    "    {:<10} {:<32} {:>8} ms",
                    s["phase"].as_str().unwrap_or(""),
                    s["id"].as_str().unwrap_or(""),
                    s["duration_ms"]
                );
            }
        }
        println!(
            "\n  journals: {} (`runbook runs --state-dir {}`)",
            self.a.state_dir.join("runs").display(),
            self.a.state_dir.display()
        );
        println!(
            "\nVERDICT: {} in {:.1} s",
            overall.label(),
            took.as_secs_f64()
        );
        if let Some(path) = &self.a.report {
            let checks: Vec<Json> = self
                .checks
                .iter()
                .map(|c| json!({"ok": c.status == Status::Pass, "status": c.status.label(), "check": c.what, "evidence": c.evidence}))
                .collect();
            let report = json!({"pass": pass, "verdict": overall.label(), "checks": checks, "evidence": self.evidence});
            if let Err(e) = std::fs::write(
                path,
                serde_json::to_string_pretty(&report).unwrap_or_default(),
            ) {
                eprintln!("warning: cannot write {}: {e}", path.display());
            }
        }
        if pass {
            ExitCode::from(Exit::Ok)
        } else {
            ExitCode::from(Exit::Failed)
        }
    }
}

fn version_name(v: VersionArg) -> &'static str {
    match v {
        VersionArg::V88 => "Camunda 8.8",
        VersionArg::V87 => "Camunda 8.7",
        VersionArg::V89 => "Camunda 8.9",
        VersionArg::V810 => "Camunda 8.10",
    }
}

fn datastore_name(d: DatastoreArg) -> &'static str {
    match d {
        DatastoreArg::Elasticsearch => "Elasticsearch",
        DatastoreArg::Opensearch => "OpenSearch",
    }
}

fn outcome_of(f: &Finished) -> Option<Outcome> {
    f.result.as_ref().ok().map(|r| r.outcome)
}

fn summary_of(f: &Finished) -> String {
    match &f.result {
        Ok(r) => format!("{:?}: {}", r.outcome, r.message),
        Err(e) => format!("could not start: {e}"),
    }
}

fn param_of(events: &[RunEvent], name: &str) -> String {
    events
        .iter()
        .find_map(|e| match e {
            RunEvent::RunStarted(start) => {
                start.params.get(name).map(crate::plan::template::display)
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn run_evidence(f: &Finished) -> Json {
    let steps: Vec<Json> = f
        .events
        .iter()
        .filter_map(|e| match e {
            RunEvent::StepSucceeded { phase, id, duration_ms, attempts, outputs } => Some(json!({"phase": phase, "id": id, "duration_ms": duration_ms, "attempts": attempts, "outputs": outputs})),
            RunEvent::StepFailed { phase, id, duration_ms, attempts, error } => Some(json!({"phase": phase, "id": id, "duration_ms": duration_ms, "attempts": attempts, "error": error})),
            _ => None,
        })
        .collect();
    json!({"outcome": outcome_of(f), "summary": summary_of(f), "run_dir": f.run_dir, "steps": steps})
}

/// Duration of the last pause (soft or hard) that was followed by a resume.
fn paused_window(v: &Json) -> Option<u64> {
    let history = v["history"].as_array()?;
    let mut paused_at = None;
    let mut last = None;
    for h in history {
        let at = h["atMs"].as_u64()?;
        match h["mode"].as_str()? {
            "running" => {
                if let Some(p) = paused_at.take() {
                    last = Some(at - p);
                }
            }
            _ => {
                paused_at.get_or_insert(at);
            }
        }
    }
    last
}

async fn get(base: &str, path: &str) -> Json {
    match reqwest::get(format!("{base}{path}")).await {
        Ok(r) => r.json().await.unwrap_or(Json::Null),
        Err(_) => Json::Null,
    }
}

async fn post(base: &str, path: &str, body: Json) -> Json {
    match reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Json::Null),
        Err(_) => Json::Null,
    }
}
