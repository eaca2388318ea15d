//! Issue 10, the snapshot restore's own half-done attempts: a `_restore` that ends with failed
//! shards (a red index) or that was in flight when the run died is cleaned up by the item's
//! `before_retry` (it deletes exactly the indices whose recovery source is that snapshot) and
//! restored again, for 8.8 and 8.7 against the simulator; an index something else created
//! under a backup index's name is never deleted by that clean-up.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value as Json;

use crate::harness::{SimProcess, output, recover_resume, root, run_against_sim};

/// The simulator restores this slowly, so a restore is still in flight when the run is killed.
const SLOW: &str = "config:\n  restore_ms: 1500\n";
/// The next `_restore` that starts ends with a failed shard (its first index stays red).
const FAILS_ONCE: &str = "outcomes:\n  - component: restore\n    result: partial\n    times: 1\n";

struct Sim {
    sim: SimProcess,
    dir: tempfile::TempDir,
}

impl Sim {
    fn start(version: &str, scenario: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimProcess::start_scenario(dir.path(), version, scenario);
        Self { sim, dir }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Backup 100 taken, the cluster moved on and lost its data.
    fn backed_up_and_damaged(&self, version: &str) {
        let (code, text) = self.run(&plan(version, "backup"), &["--set", "backup_id=100"]);
        assert_eq!(code, 0, "{version} backup: {text}");
        self.sim.call("POST", "/sim/advance", "");
        self.sim.call("POST", "/sim/damage", "");
    }

    fn run(&self, plan: &str, extra: &[&str]) -> (i32, String) {
        let plan = root().join("plans/camunda").join(plan);
        output(run_against_sim(self.dir(), &plan, extra))
    }

    /// `runbook recover --resume --yes` of the last run, with no params.
    fn resume(&self) -> (i32, String) {
        output(recover_resume(self.dir()))
    }

    /// The restore oracle of backup 100 holds: every index back, equal to the backup,
    /// recovered (none red), foreign ones kept.
    fn assert_restored(&self, case: &str) {
        let verdict = self.sim.get("/sim/oracle/restore/100");
        assert_eq!(verdict["restored"], true, "{case}: {verdict}");
        assert_eq!(
            verdict["problems"].as_array().map(Vec::len),
            Some(0),
            "{case}: {verdict}"
        );
    }

    fn index_exists(&self, name: &str) -> bool {
        match &self.sim.get("/sim/state")["indices"] {
            Json::Object(m) => m.contains_key(name),
            Json::Array(a) => a.iter().any(|i| i["name"] == name),
            _ => false,
        }
    }

    /// The index names snapshot `snap` holds.
    fn snapshot_indices(&self, snap: &str) -> Vec<String> {
        let state = self.sim.get("/sim/state");
        let s = state["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == snap)
            .unwrap_or_else(|| panic!("snapshot {snap} in {state}"));
        s["indices"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["name"].as_str().map(String::from))
            .collect()
    }

    /// Starts the restore of backup 100 and SIGKILLs it while its first `_restore` is in
    /// flight (bounded); returns the snapshot that restore was for.
    fn kill_restore_during_first_snapshot_restore(&self, version: &str) -> String {
        let plan = root().join("plans/camunda").join(plan(version, "restore"));
        let mut child = run_against_sim(self.dir(), &plan, &["--set", "backup_id=100", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut snapshot = None;
        for _ in 0..2000 {
            let flight = self.sim.get("/sim/in-flight");
            snapshot = flight.as_array().into_iter().flatten().find_map(|r| {
                let path = r["path"].as_str().unwrap_or("");
                let rest = path.split("/_snapshot/").nth(1)?;
                let name = rest
                    .strip_suffix("/_restore")
                    .or_else(|| rest.split_once("/_restore?").map(|(n, _)| n))?;
                name.split('/').nth(1).map(String::from)
            });
            if snapshot.is_some() || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        snapshot.expect("a snapshot restore was in flight")
    }

    fn datastore(&self, method: &str, path: &str) -> Json {
        self.sim.datastore(method, path)
    }
}

fn plan(version: &str, kind: &str) -> String {
    format!("{kind}-{version}.yaml")
}

/// A restore that answers 200 with `shards.failed: 1` leaves a red index; the retry first
/// deletes what that restore created (and only that), then restores it green.
#[test]
fn a_restore_with_failed_shards_is_cleaned_up_and_restored_again() {
    for version in ["8.8", "8.7"] {
        let sim = Sim::start(version, FAILS_ONCE);
        sim.backed_up_and_damaged(version);
        let (code, text) = sim.run(
            &plan(version, "restore"),
            &["--set", "backup_id=100", "--yes"],
        );
        assert_eq!(code, 0, "{version}: {text}");
        assert!(
            text.contains("cleans up before repeating: DELETE"),
            "{version}: {text}"
        );
        sim.assert_restored(version);
    }
}

/// SIGKILL while a restore that will end with failed shards is in flight, then
/// `recover --resume --yes`: the resumed item first deletes its own half-done restore (red
/// for ever, it would otherwise meet "already exists" and wait out its 2-hour timeout), then
/// restores it, and the run ends done and equal to the backup.
#[test]
fn a_kill_during_a_restore_with_failed_shards_resumes_to_done() {
    for version in ["8.8", "8.7"] {
        let sim = Sim::start(version, &format!("{SLOW}{FAILS_ONCE}"));
        sim.backed_up_and_damaged(version);
        let snap = sim.kill_restore_during_first_snapshot_restore(version);
        let (code, text) = sim.resume();
        assert_eq!(code, 0, "{version}: {text}");
        for index in sim.snapshot_indices(&snap) {
            assert!(
                text.contains(&format!("/{index}")),
                "{version}: {index} of {snap} not cleaned up: {text}"
            );
        }
        sim.assert_restored(&format!("{version} resumed"));
    }
}

/// The clean-up deletes only indices restored from the item's own snapshot: one of that
/// snapshot's names, deleted and created anew by something else while the run was down, stays,
/// and the resumed run fails with wait-snapshots-restored's message naming it.
#[test]
fn the_clean_up_never_deletes_a_foreign_index() {
    for version in ["8.8", "8.7"] {
        let sim = Sim::start(version, SLOW);
        sim.backed_up_and_damaged(version);
        let snap = sim.kill_restore_during_first_snapshot_restore(version);
        let foreign = sim.snapshot_indices(&snap)[0].clone();
        assert_eq!(
            sim.datastore("DELETE", &format!("/{foreign}"))["acknowledged"],
            true
        );
        let created = sim.datastore("PUT", &format!("/{foreign}"));
        assert_eq!(created["acknowledged"], true, "{created}");
        let (code, text) = sim.resume();
        assert_ne!(code, 0, "{version}: {text}");
        assert!(
            text.contains("cleans up before repeating"),
            "{version}: {text}"
        );
        assert!(
            text.contains(&format!(
                "index {foreign} exists but was not restored from backup 100 (recovery EMPTY_STORE)"
            )),
            "{version}: {text}"
        );
        assert!(
            sim.index_exists(&foreign),
            "{version}: {foreign} was deleted"
        );
        assert!(
            !text.contains("enter-restore-mode started"),
            "{version}: {text}"
        );
    }
}

/// Every restore of a snapshot ends with failed shards: the step fails after its attempts
/// (each retry cleaning up first), with how to continue, instead of taking the red index for
/// restored and waiting out the 2-hour recovery wait.
#[test]
fn failed_shards_every_time_fail_the_step_saying_how_to_continue() {
    let sim = Sim::start(
        "8.8",
        "outcomes:\n  - component: restore\n    result: partial\n",
    );
    sim.backed_up_and_damaged("8.8");
    let (code, text) = sim.run(
        &plan("8.8", "restore"),
        &["--set", "backup_id=100", "--yes"],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("`restore-snapshots`: restore of snapshot")
            && text.contains("failed or had failed shards")
            && text.contains("runbook recover <run-id> --resume --yes"),
        "{text}"
    );
    assert_eq!(
        text.matches("cleans up before repeating").count(),
        2,
        "{text}"
    );
    assert!(!text.contains("wait-recoveries-done started"), "{text}");
}
