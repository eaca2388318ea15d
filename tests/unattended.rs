//! Issue 14, unattended runs: a backup run against `runbook sim` with stderr not a terminal
//! (the default in tests, as in a CronJob) prints heartbeats during its waits and ends with
//! one JSON result line; `--output json` on `run`, `runs` and `recover`; the summary prints
//! the backup id the plan's `result:` names.

use std::process::Output;

use serde_json::Value as Json;

use crate::harness::{SimProcess, root, run_against_sim};

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The report's frozen backup id (the plan mints it once per run).
fn report_backup_id(dir: &std::path::Path) -> Json {
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    report["run"]["params"]["backup_id"].clone()
}

#[test]
fn a_backup_without_a_terminal_beats_while_it_waits_and_ends_with_a_result_line() {
    let dir = tempfile::tempdir().unwrap();
    let _sim = SimProcess::start(dir.path(), &[]);
    let plan = root().join("plans/camunda/backup-8.8.yaml");
    let out = run_against_sim(dir.path(), &plan, &["--heartbeat", "300ms"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    // The Zeebe backup is invisible for a while after it is scheduled (the simulator's
    // visibility grace, ~2.5 s): its step beats, saying what it saw.
    let beats: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("heartbeat: seen-zeebe still running after"))
        .collect();
    assert!(!beats.is_empty(), "no heartbeat for seen-zeebe:\n{stderr}");
    assert!(
        beats.iter().any(|l| l.contains("last seen: 404")),
        "{beats:?}"
    );
    // The last line is the machine-readable result.
    let last = stderr.lines().last().unwrap_or_default();
    let result: Json = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    let backup_id = report_backup_id(dir.path());
    assert!(backup_id.is_u64(), "{backup_id}");
    assert_eq!(result["event"], "result");
    assert_eq!(result["outcome"], "succeeded");
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["plan"], "camunda-8.8-backup");
    assert_eq!(result["backup_id"], backup_id);
    assert!(result["duration_ms"].as_u64().unwrap() > 0, "{result}");
    assert!(result["run_id"].as_str().is_some_and(|r| !r.is_empty()));
    // The summary names the backup id.
    assert!(
        stdout.contains(&format!("backup_id: {backup_id}")),
        "{stdout}"
    );
}

#[test]
fn heartbeat_zero_is_off_and_output_json_is_one_document() {
    let dir = tempfile::tempdir().unwrap();
    let _sim = SimProcess::start(dir.path(), &[]);
    let plan = root().join("plans/camunda/backup-8.8.yaml");
    let out = run_against_sim(dir.path(), &plan, &["--heartbeat", "0", "--output", "json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stderr.contains("heartbeat:"), "{stderr}");
    let doc: Json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(doc["outcome"], "succeeded");
    assert_eq!(doc["backup_id"], report_backup_id(dir.path()));
    assert_eq!(doc["result"]["backup_id"], doc["backup_id"]);
    let steps = doc["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["id"] == "wait-zeebe" && s["status"] == "succeeded"),
        "{doc}"
    );
    assert!(doc["files"]["journal"].as_str().is_some(), "{doc}");

    let runs = crate::harness::runbook(
        ["runs", "--output", "json", "--state-dir"]
            .into_iter()
            .map(String::from)
            .chain([dir.path().join("runs").display().to_string()]),
    );
    assert_eq!(runs.code, 0, "{}", runs.stderr);
    let list: Json = serde_json::from_str(&runs.stdout).unwrap();
    assert_eq!(list[0]["run_id"], doc["run_id"]);
    assert_eq!(list[0]["outcome"], "succeeded");
    assert_eq!(list[0]["exit_code"], 0);
    assert_eq!(list[0]["finished"], true);
}
