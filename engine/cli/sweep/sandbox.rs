//! One sweep row's world: a fresh simulator (with the Kubernetes stand-in) and a state
//! directory, plans run as `runbook run`/`runbook recover` child processes (so a crash is a
//! real SIGKILL of the process group), and what the oracle and the request log say. It owns
//! running and observing; judging a row is `trial.rs`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use runbook_sim::{CamundaVersion, Datastore, SimConfig, SimHandle, Timing};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::classes::Call;

/// The backup id of every sweep run: fixed, so that the paths a run calls (snapshot names,
/// backup ids) are the same in every row and a fault can name one call exactly.
pub const BACKUP_ID: u64 = 1_700_000_000;

/// The longest one plan run may take before the row fails (bounded, never a hang).
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// What every row shares.
#[derive(Clone, Debug)]
pub struct Setup {
    pub version: CamundaVersion,
    pub datastore: Datastore,
    /// The `runbook` binary (this one).
    pub exe: PathBuf,
    pub kubectl: PathBuf,
    pub backup_plan: PathBuf,
    pub restore_plan: PathBuf,
}

impl Setup {
    /// `8.8 elasticsearch`.
    pub fn label(&self) -> String {
        format!("{} {}", self.version.minor(), self.datastore.as_str())
    }
}

/// How a plan run ended.
#[derive(Clone, Debug, Default)]
pub struct Ended {
    pub exit_code: Option<i32>,
    /// `succeeded`, `failed`, ... from the journal's `run_finished`; `None`: never finished.
    pub outcome: Option<String>,
    /// The first main step that failed for good, with its error.
    pub failure: Option<(String, String)>,
    /// A run that had to be killed at [`RUN_LIMIT`].
    pub timed_out: bool,
    /// The first line of the process's stderr that says `error` (e.g. a refusal to start).
    pub error_line: Option<String>,
    /// The run's id (from its journal), for `recover <id>`.
    pub run_id: Option<String>,
}

impl Ended {
    pub fn succeeded(&self) -> bool {
        self.outcome.as_deref() == Some("succeeded") && self.exit_code == Some(0)
    }

    /// One line: where and why it failed.
    pub fn why(&self) -> String {
        if self.timed_out {
            return format!("still running after {} s", RUN_LIMIT.as_secs());
        }
        match &self.failure {
            Some((id, error)) => format!("{id}: {}", first_chars(error, 300)),
            None => format!(
                "ended {} (exit {}){}",
                self.outcome.as_deref().unwrap_or("unfinished"),
                self.exit_code.map_or("none".to_string(), |c| c.to_string()),
                self.error_line
                    .as_ref()
                    .map(|l| format!(": {}", first_chars(l, 200)))
                    .unwrap_or_default()
            ),
        }
    }
}

fn first_chars(s: &str, n: usize) -> String {
    let cut: String = s.chars().take(n).collect();
    if cut.len() < s.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// A running row.
pub struct Sandbox {
    pub sim: SimHandle,
    setup: Setup,
    dir: PathBuf,
    values: PathBuf,
    http: reqwest::Client,
    /// Environment of every child run (e.g. the datastore password).
    env: Vec<(String, String)>,
    /// Extra `--set name=value` of every plan run (e.g. a short `wait_timeout`).
    sets: Vec<String>,
}

impl Sandbox {
    pub async fn start(
        setup: &Setup,
        dir: &Path,
        mut env: Vec<(String, String)>,
    ) -> Result<Self, String> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut scenario = runbook_sim::Scenario::default();
        // The real-cluster behaviours stay on, on a shorter clock: backups still answer 404
        // for a while after they are scheduled (reference §7.2), the restore app still
        // crash-loops (§7.1).
        scenario.config.schedule_404_ms = 300;
        scenario.config.crash_loop_ms = 300;
        let sim = runbook_sim::start(SimConfig {
            camunda_version: setup.version,
            datastore: setup.datastore,
            state_dir: dir.join("sim"),
            timing: fast_timing(),
            kubernetes: true,
            scenario,
            ..SimConfig::default()
        })
        .await
        .map_err(|e| format!("simulator: {e}"))?;
        // 8.10: the REST API's OAuth2 client secret, as an operator exports it.
        if let Some(secret) = sim.rest_client_secret() {
            env.push(("RUNBOOK_CAMUNDA_CLIENT_SECRET".into(), secret.to_string()));
        }
        let values = dir.join("values.yaml");
        std::fs::write(&values, sim.values_yaml())
            .map_err(|e| format!("{}: {e}", values.display()))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Sandbox {
            sim,
            setup: setup.clone(),
            dir: dir.to_path_buf(),
            values,
            http,
            env,
            sets: Vec::new(),
        })
    }

    /// Every plan run of this row also gets `--set` each of `sets` (`name=value`).
    pub fn with_sets(mut self, sets: Vec<String>) -> Self {
        self.sets = sets;
        self
    }

    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    fn command(&self, args: &[String], log: &str) -> Command {
        let mut cmd = Command::new(&self.setup.exe);
        cmd.args(args)
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("--kubectl")
            .arg(&self.setup.kubectl)
            .arg("--log-format")
            .arg("json")
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log_file(&self.dir.join(format!("{log}.out"))))
            .stderr(log_file(&self.dir.join(format!("{log}.err"))))
            .kill_on_drop(true)
            // Its own process group, so a crash kills the run and its kubectl children alike.
            .process_group(0);
        cmd
    }

    fn plan_args(&self, plan: &Path) -> Vec<String> {
        vec![
            "run".into(),
            plan.display().to_string(),
            "-f".into(),
            self.values.display().to_string(),
            "--set".into(),
            format!("backup_id={BACKUP_ID}"),
            "--yes".into(),
        ]
        .into_iter()
        .chain(
            self.sets
                .iter()
                .flat_map(|kv| ["--set".to_string(), kv.clone()]),
        )
        .collect()
    }

    /// Runs the backup plan to its end.
    pub async fn backup(&self) -> Ended {
        let args = self.plan_args(&self.setup.backup_plan);
        self.run_to_end(self.command(&args, "backup"), "backup", "backup")
            .await
    }

    /// Runs the restore plan to its end.
    pub async fn restore(&self) -> Ended {
        let args = self.plan_args(&self.setup.restore_plan);
        self.run_to_end(self.command(&args, "restore"), "restore", "restore")
            .await
    }

    /// Starts the restore plan and leaves it running.
    pub fn spawn_restore(&self) -> std::io::Result<Child> {
        let args = self.plan_args(&self.setup.restore_plan);
        self.command(&args, "restore").spawn()
    }

    /// How the restore spawned by [`Self::spawn_restore`] ended, if its journal says it
    /// finished: its exit code, or (killed while writing its report, after the journal's
    /// `run_finished`) the exit code that event records.
    pub fn finished_restore(&self, exit_code: Option<i32>) -> Option<Ended> {
        let mut ended = self.newest_journal("restore");
        ended.outcome.as_ref()?;
        if exit_code.is_some() {
            ended.exit_code = exit_code;
        }
        Some(ended)
    }

    /// `runbook recover --resume --yes` with no params: the newest unfinished run.
    pub async fn recover(&self) -> Ended {
        let args: Vec<String> = ["recover", "--resume", "--yes"].map(String::from).to_vec();
        self.run_to_end(self.command(&args, "recover"), "recover", "restore")
            .await
    }

    /// `runbook recover <run_id> --resume --yes` with no params: a run of `plan`
    /// (`backup`/`restore`) that ended failed, resumed once its fault is gone.
    pub async fn resume(&self, plan: &str, run_id: &str) -> Ended {
        let args: Vec<String> = ["recover", run_id, "--resume", "--yes"]
            .map(String::from)
            .to_vec();
        let log = format!("resume-{plan}");
        self.run_to_end(self.command(&args, &log), &log, plan).await
    }

    /// Waits for a child run; `log` names its output files, `plan` (`backup`/`restore`)
    /// whose journal tells how it ended.
    async fn run_to_end(&self, mut cmd: Command, log: &str, plan: &str) -> Ended {
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return Ended {
                    failure: Some(("(spawn)".into(), e.to_string())),
                    ..Ended::default()
                };
            }
        };
        let (exit_code, timed_out) = match tokio::time::timeout(RUN_LIMIT, child.wait()).await {
            Ok(status) => (status.ok().and_then(|s| s.code()), false),
            Err(_) => {
                kill_group(&child);
                let _ = child.wait().await;
                (None, true)
            }
        };
        let mut ended = self.newest_journal(plan);
        ended.exit_code = exit_code;
        ended.timed_out = timed_out;
        ended.error_line = std::fs::read_to_string(self.dir.join(format!("{log}.err")))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.contains("error"))
                    .map(|l| l.trim().to_string())
            });
        ended
    }

    /// The journal of the newest run of the `backup` or `restore` plan: its last
    /// `run_finished` and first failed main step. (Run ids sort by the second only.)
    fn newest_journal(&self, plan: &str) -> Ended {
        let newest = self.journal_text(plan);
        let mut ended = Ended::default();
        for event in newest
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            match event["event"].as_str() {
                Some("run_started") => {
                    ended.failure = None;
                    ended.run_id = event["run_id"].as_str().map(String::from);
                }
                Some("run_finished") => {
                    ended.outcome = event["outcome"].as_str().map(String::from);
                    ended.exit_code = event["exit_code"]
                        .as_i64()
                        .and_then(|c| i32::try_from(c).ok());
                }
                Some("step_failed")
                    if event["phase"] == "main"
                        && ended.failure.is_none()
                        && event["error"] != "cancelled" =>
                {
                    ended.failure = Some((
                        event["id"].as_str().unwrap_or_default().to_string(),
                        event["error"].as_str().unwrap_or_default().to_string(),
                    ));
                }
                _ => {}
            }
        }
        ended
    }

    /// The main-phase steps the newest run of `plan` started, in the order it started them.
    pub fn started_steps(&self, plan: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for event in self
            .journal_text(plan)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            if event["event"] == "step_started"
                && event["phase"] == "main"
                && let Some(id) = event["id"].as_str()
                && !out.iter().any(|s| s == id)
            {
                out.push(id.to_string());
            }
        }
        out
    }

    /// The journal of the newest run of `plan` (`backup`/`restore`), empty if none yet.
    fn journal_text(&self, plan: &str) -> String {
        let runs = self.state_dir().join("runs");
        std::fs::read_dir(&runs)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("journal.jsonl")).ok())
            .filter_map(|text| {
                let first: Value = serde_json::from_str(text.lines().next()?).ok()?;
                let name = first["plan"].as_str()?;
                let at = first["started_at"].as_str()?.to_string();
                name.ends_with(plan).then_some((at, text))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, text)| text)
            .unwrap_or_default()
    }

    /// A control API call (GET when `body` is `None`).
    pub async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.sim.urls().control);
        let request = match body {
            Some(b) => self.http.post(url).json(&b),
            None => self.http.get(url),
        };
        match request.send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    pub async fn advance(&self, records: u64) {
        self.control("/sim/advance", Some(json!({ "records": records })))
            .await;
    }

    /// Every logged request after `since` (a `seq`).
    pub fn calls_since(&self, since: u64) -> Vec<Call> {
        self.sim.inspect(|w| {
            w.requests
                .iter()
                .filter(|r| r.seq > since)
                .filter_map(|r| serde_json::to_value(r).ok())
                .filter_map(|v| Call::from_log(&v))
                .collect()
        })
    }

    /// The newest `seq` of the request log.
    pub fn last_seq(&self) -> u64 {
        self.sim.inspect(|w| w.requests.back().map_or(0, |r| r.seq))
    }

    /// How many endpoint faults are still armed (a held call's fault is gone once it holds).
    pub fn armed_faults(&self) -> usize {
        self.sim.inspect(|w| w.faults.endpoint.len())
    }

    /// Disarms every endpoint fault.
    pub async fn disarm(&self) {
        let url = format!("{}/sim/faults", self.sim.urls().control);
        let _ = self.http.delete(url).send().await;
    }

    /// Whether a call on `component` `method` `path` is held in flight now.
    pub fn in_flight(&self, call: &Call) -> bool {
        self.sim.inspect(|w| {
            w.in_flight.iter().any(|(c, m, p)| {
                c.as_str() == call.component
                    && *m == call.method
                    && p.split('?').next() == Some(call.path.as_str())
            })
        })
    }

    /// What the restore must not lose or leave changed when it aborts.
    pub async fn cluster_view(&self) -> ClusterView {
        let workloads = self.control("/sim/workloads", None).await;
        // Every index, not only the installation's: an aborted restore must delete nothing.
        let (indices, broker_data) = self.sim.inspect(|w| {
            let indices: Vec<String> = w.store.indices.keys().cloned().collect();
            (indices, w.zeebe.broker_data_present)
        });
        ClusterView {
            workloads,
            indices,
            broker_data,
        }
    }
}

/// The parts of the cluster a restore changes.
#[derive(Clone, Debug)]
pub struct ClusterView {
    pub workloads: Value,
    pub indices: Vec<String>,
    pub broker_data: bool,
}

/// SIGKILL to a child's whole process group.
pub fn kill_group(child: &Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn log_file(path: &Path) -> Stdio {
    std::fs::File::create(path).map_or_else(|_| Stdio::null(), Stdio::from)
}

/// Fast simulated durations: a row takes seconds, not minutes. The clock keeps the default
/// tick: each tick reconciles the Kubernetes stand-in, and rows run several at a time.
fn fast_timing() -> Timing {
    Timing {
        tick_ms: 20,
        records_per_tick: 3,
        snapshot_part_ms: 20,
        zeebe_backup_ms: 40,
        restore_ms: 10,
        pod_start_ms: 30,
        incomplete_check_timeout_ms: 1_000,
    }
}
