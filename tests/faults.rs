//! The fault matrix of the 8.8 backup plan against the built-in simulator, through the real
//! CLI: each endpoint the plan calls in turn gets a 5xx burst (retried, the backup
//! succeeds), a permanent failure, a timeout, a FAILED backup state, a SIGINT and a SIGKILL
//! (then `runbook recover --rollback`). Every case must end with exporting resumed, and the
//! journal and report must say what happened.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::harness::{SimProcess, root, run_against_sim};

const PLAN: &str = "plans/camunda/backup-8.8.yaml";

/// The calls of the backup plan: (component, method, path pattern, what they are).
const CALLS: &[(&str, &str, &str, &str)] = &[
    (
        "orchestration",
        "GET",
        "/actuator/info",
        "preflight version",
    ),
    (
        "orchestration",
        "POST",
        "/actuator/exporting/pause",
        "soft pause",
    ),
    (
        "orchestration",
        "POST",
        "/actuator/backupHistory",
        "web apps backup",
    ),
    ("optimize", "POST", "/actuator/backups", "Optimize backup"),
    (
        "orchestration",
        "GET",
        "/actuator/backupHistory/*",
        "web apps status",
    ),
    ("optimize", "GET", "/actuator/backups/*", "Optimize status"),
    ("datastore", "PUT", "/_snapshot/*", "zeebe-record snapshot"),
    (
        "orchestration",
        "POST",
        "/actuator/backupRuntime",
        "Zeebe backup",
    ),
    (
        "orchestration",
        "GET",
        "/actuator/backupRuntime/*",
        "Zeebe status",
    ),
];

/// A `runbook sim` process with its values file; killed on drop.
struct Sim {
    sim: SimProcess,
    dir: PathBuf,
}

impl Sim {
    fn start(dir: &Path, scenario: Option<&str>) -> Self {
        let mut args = Vec::new();
        if let Some(s) = scenario {
            std::fs::write(dir.join("scenario.yaml"), s).unwrap();
            args.extend(["--scenario", "scenario.yaml"]);
        }
        Self {
            sim: SimProcess::start(dir, &args),
            dir: dir.to_path_buf(),
        }
    }

    fn get(&self, path: &str) -> Json {
        self.sim.get(path)
    }

    fn exporting_paused(&self) -> bool {
        self.get("/sim/exporting")["paused"]
            .as_bool()
            .unwrap_or(true)
    }

    /// Waits until the simulator has seen a request matching `method` and `path`.
    fn wait_for_request(&self, method: &str, pattern: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let requests = self.get("/sim/in-flight");
            let seen = requests.as_array().into_iter().flatten().any(|r| {
                r["method"] == method
                    && matches(
                        pattern,
                        r["path"]
                            .as_str()
                            .unwrap_or("")
                            .split('?')
                            .next()
                            .unwrap_or(""),
                    )
            });
            if seen {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{method} {pattern} never requested"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn runbook(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_runbook"));
        c.args(args)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn backup(&self, extra: &[&str]) -> Command {
        let mut c = run_against_sim(&self.dir, &root().join(PLAN), extra);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    /// A simulator whose next call matching `method path` takes 4 s, so a test can act
    /// while it is in flight.
    fn slow_call(dir: &Path, component: &str, method: &str, path: &str) -> Self {
        let slow = fault(
            component,
            method,
            path,
            "    latency_ms: 4000\n    times: 1\n",
        );
        Self::start(dir, Some(&slow))
    }

    /// Starts the backup and returns once the slow call is in flight.
    fn backup_until(&self, method: &str, path: &str, extra: &[&str]) -> Child {
        let child = self.backup(extra).spawn().unwrap();
        self.wait_for_request(method, path);
        std::thread::sleep(Duration::from_millis(100));
        child
    }

    /// `runbook recover <mode>` of the backup's state dir.
    fn recover(&self, mode: &str) -> Command {
        self.runbook(&["recover", mode, "--state-dir", "runs", "-f", "values.yaml"])
    }
}

/// SIGKILL: the run gets no chance to compensate.
fn sigkill(mut child: Child) {
    child.kill().unwrap();
    let _ = child.wait();
}

fn matches(pattern: &str, path: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == path,
        Some((head, tail)) => {
            path.starts_with(head) && path.len() >= head.len() + tail.len() && path.ends_with(tail)
        }
    }
}

struct Outcome {
    code: i32,
    out: String,
}

fn wait(child: Child) -> Outcome {
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn fault(component: &str, method: &str, path: &str, body: &str) -> String {
    // The preflight GETs the same status paths once (the id must be free): let that through,
    // so the fault hits the step under test.
    let after = if method == "GET" && path.ends_with("/*") && !path.contains("backupRuntime") {
        "    after: 1\n"
    } else {
        ""
    };
    format!(
        "faults:\n  - component: {component}\n    method: {method}\n    path: \"{path}\"\n{after}{body}"
    )
}

/// Every case ends with exporting resumed and a journal that says how the run ended.
fn assert_safe(sim: &Sim, case: &str, o: &Outcome) {
    assert!(
        !sim.exporting_paused(),
        "{case}: exporting left paused\n{}",
        o.out
    );
    let journal = find_journal(&sim.dir.join("runs"));
    let text = std::fs::read_to_string(&journal).unwrap_or_default();
    assert!(
        text.contains("\"event\":\"run_finished\""),
        "{case}: the journal does not say how the run ended"
    );
}

fn find_journal(dir: &Path) -> PathBuf {
    let runs = dir.join("runs");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("journal.jsonl"))
        .collect();
    entries.sort();
    entries.pop().expect("a journal")
}

fn report_outcome(sim: &Sim) -> String {
    let text = std::fs::read_to_string(sim.dir.join("report.json")).unwrap_or_default();
    let v: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
    v["finished"]["outcome"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_5xx_burst_on_any_call_is_retried_and_the_backup_succeeds() {
    for &(component, method, path, what) in CALLS {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::start(
            dir.path(),
            Some(&fault(
                component,
                method,
                path,
                "    status: 503\n    times: 2\n",
            )),
        );
        let o = wait(sim.backup(&[]).spawn().unwrap());
        assert_eq!(o.code, 0, "503 burst on {what}:\n{}", o.out);
        assert!(
            o.out.contains("retrying"),
            "503 burst on {what}: no retry seen\n{}",
            o.out
        );
        assert_safe(&sim, what, &o);
        assert_eq!(report_outcome(&sim), "succeeded");
    }
}

#[test]
fn a_permanent_failure_on_any_call_fails_the_run_and_resumes_exporting() {
    for &(component, method, path, what) in CALLS {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::start(
            dir.path(),
            Some(&fault(component, method, path, "    status: 400\n")),
        );
        let o = wait(sim.backup(&[]).spawn().unwrap());
        assert_eq!(o.code, 1, "permanent failure on {what}:\n{}", o.out);
        assert_safe(&sim, what, &o);
        assert_eq!(report_outcome(&sim), "failed", "{what}");
    }
}

#[test]
fn a_failed_backup_state_fails_the_run_and_resumes_exporting() {
    for component in ["webapps", "optimize", "zeebe", "snapshot"] {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::start(
            dir.path(),
            Some(&format!(
                "outcomes:\n  - component: {component}\n    result: failed\n"
            )),
        );
        let o = wait(sim.backup(&[]).spawn().unwrap());
        assert_eq!(o.code, 1, "FAILED {component} backup:\n{}", o.out);
        assert_safe(&sim, component, &o);
    }
}

#[test]
fn a_backup_that_never_completes_times_out_and_resumes_exporting() {
    for component in ["webapps", "optimize", "zeebe"] {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::start(
            dir.path(),
            Some(&format!(
                "outcomes:\n  - component: {component}\n    result: hang\n"
            )),
        );
        let o = wait(sim.backup(&["--timeout", "4s"]).spawn().unwrap());
        // 124, not 130: a timeout is not an interrupt (issue 14).
        assert_eq!(o.code, 124, "hanging {component} backup:\n{}", o.out);
        assert!(o.out.contains("timed out"), "{component}: {}", o.out);
        assert_safe(&sim, component, &o);
    }
}

#[test]
fn sigint_during_any_call_compensates_and_resumes_exporting() {
    for &(component, method, path, what) in CALLS {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::slow_call(dir.path(), component, method, path);
        let child = sim.backup_until(method, path, &[]);
        assert!(
            Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
        let o = wait(child);
        assert_eq!(o.code, 130, "SIGINT during {what}:\n{}", o.out);
        assert_safe(&sim, what, &o);
        assert_eq!(report_outcome(&sim), "interrupted", "{what}");
    }
}

#[test]
fn sigkill_during_any_call_then_recover_rollback_resumes_exporting() {
    for &(component, method, path, what) in CALLS {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::slow_call(dir.path(), component, method, path);
        sigkill(sim.backup_until(method, path, &[]));
        let o = wait(sim.recover("--rollback").spawn().unwrap());
        assert!(
            o.code == 1 || o.code == 0,
            "recover after SIGKILL during {what}:\n{}",
            o.out
        );
        assert_safe(&sim, what, &o);
    }
}

#[test]
fn sigkill_during_a_wait_then_recover_resume_finishes_the_same_backup() {
    let dir = tempfile::tempdir().unwrap();
    let (method, path) = ("GET", "/actuator/backupHistory/*");
    let sim = Sim::slow_call(dir.path(), "orchestration", method, path);
    sigkill(sim.backup_until(method, path, &["--set", "backup_id=777"]));
    assert!(
        sim.exporting_paused(),
        "killed mid-backup: exporting still soft-paused"
    );
    // The wait that was in flight only reads, so resuming needs no --yes; the frozen
    // backup id is kept.
    let o = wait(sim.recover("--resume").spawn().unwrap());
    assert_eq!(o.code, 0, "recover --resume:\n{}", o.out);
    assert!(!sim.exporting_paused(), "exporting resumed:\n{}", o.out);
    let verdict = sim.get("/sim/oracle/backups/777");
    assert_eq!(verdict["coherent"], true, "{verdict:#}");
}
