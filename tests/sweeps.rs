//! `runbook sweep` through the real CLI: the rows come from the calls a clean run made, a
//! row passes only when the oracle says so, and a plan that deletes and then fails, or cannot
//! even run clean, fails the sweep. The full sweeps (every plan set, every row) run in `.ci/run`
//! on the release binary; here a generated sample keeps `cargo test` short.

use serde_json::Value;

use crate::harness::{Run, root, runbook};

/// `runbook sweep` for 8.8 on Elasticsearch with a report; the rows of the report.
fn sweep(extra: &[&str]) -> (Run, Vec<Value>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("sweep.json");
    let mut args: Vec<String> = [
        "sweep",
        "--camunda-version",
        "8.8",
        "--datastore",
        "elasticsearch",
        "--jobs",
        "2",
    ]
    .map(String::from)
    .to_vec();
    args.extend([
        "--state-dir".into(),
        dir.path().join("state").display().to_string(),
    ]);
    args.extend(["--report".into(), report.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = runbook(&args);
    let rows = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["rows"].as_array().cloned())
        .unwrap_or_default();
    (run, rows, dir)
}

/// The shipped 8.8 restore plan with `from` replaced by `to`, written into `dir`.
fn altered_restore(dir: &std::path::Path, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(root().join("plans/camunda/restore-8.8.yaml"))
        .expect("shipped restore plan");
    let altered = text.replace(from, to);
    assert_ne!(
        altered, text,
        "the plan no longer has `{from}`: update this test"
    );
    let path = dir.join("restore.yaml");
    std::fs::write(&path, altered).expect("write plan");
    path.display().to_string()
}

#[test]
fn rows_come_from_the_calls_of_a_clean_run_and_pass_on_the_oracle() {
    let (r, rows, _dir) = sweep(&["--kind", "fault", "--only", "/actuator/backupHistory"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // The web-apps backup is started (POST) and polled (GET .../{id}): two classes, each
    // with a 503 and a dropped connection, all in the backup run.
    let mut seen: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            assert_eq!(row["pass"], true, "{row}");
            assert_eq!(row["detail"], "restored, equal to the backup", "{row}");
            (
                row["class"].as_str().unwrap_or_default().to_string(),
                row["fault"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "orchestration GET /actuator/backupHistory/*",
                "HTTP 503, once"
            ),
            (
                "orchestration GET /actuator/backupHistory/*",
                "dropped connection, once"
            ),
            (
                "orchestration POST /actuator/backupHistory",
                "HTTP 503, once"
            ),
            (
                "orchestration POST /actuator/backupHistory",
                "dropped connection, once"
            ),
        ]
        .map(|(c, f)| (c.to_string(), f.to_string()))
    );
    assert!(r.stdout.contains("SWEEP: 4/4 rows passed"), "{}", r.stdout);
}

#[test]
fn a_restore_that_deletes_and_then_fails_is_a_failing_row() {
    // Without its retry, one 503 on a snapshot restore fails the restore after the indices
    // are gone: the sweep must say so.
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = altered_restore(
        dir.path(),
        "    retry: { attempts: 3, backoff: { initial: 1s, max: 10s } }\n",
        "",
    );
    let (r, rows, _state) = sweep(&[
        "--kind",
        "fault",
        "--restore-plan",
        &plan,
        "--only",
        "POST /_snapshot/*/*/_restore",
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let failed: Vec<&Value> = rows.iter().filter(|row| row["pass"] == false).collect();
    assert!(!failed.is_empty(), "{}", r.stdout);
    for row in failed {
        let detail = row["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("restore failed at restore-snapshots")
                && detail.contains("indices deleted"),
            "{row}"
        );
    }
    assert!(r.stdout.contains("| FAIL |"), "{}", r.stdout);
}

#[test]
fn a_plan_that_cannot_run_clean_fails_the_sweep() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = altered_restore(dir.path(), "/{{item}}/_restore", "/{{item}}-typo/_restore");
    let (r, rows, _state) = sweep(&["--kind", "fault", "--restore-plan", &plan]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(rows.is_empty(), "no rows from a failed clean run: {rows:?}");
    assert!(
        r.stdout
            .contains("the clean backup + restore failed: restore: restore-snapshots"),
        "{}",
        r.stdout
    );
}

/// A generated sample of both sweeps over every plan set: every 24th row, about 22 rows (the
/// full sweeps run in `.ci/run`). Every row must pass.
#[test]
fn a_generated_sample_of_both_sweeps_passes_for_every_plan_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("sweep.json");
    let r = runbook([
        "sweep",
        "--every",
        "24",
        "--jobs",
        "4",
        "--state-dir",
        &dir.path().join("state").display().to_string(),
        "--report",
        &report.display().to_string(),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("| fault |") && r.stdout.contains("| crash |"),
        "{}",
        r.stdout
    );
}

/// `--only` that matches nothing is an error naming the classes there are, not an empty
/// table that reads "0/0 rows passed".
#[test]
fn only_matching_no_row_is_an_error_naming_the_classes() {
    let (r, rows, _dir) = sweep(&["--kind", "fault", "--only", "no-such-class"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(rows.is_empty(), "{rows:?}");
    assert!(
        r.stderr.contains("--only `no-such-class` matches no row")
            && r.stderr.contains("/actuator/backupHistory"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("rows passed"), "{}", r.stdout);
}

/// The crash sweep kills the restore inside the snapshot restore once more with the
/// datastore password `camunda`, a word of every snapshot name; the resumed restore must
/// still restore what was backed up (issue 10).
#[test]
fn the_crash_sweep_repeats_the_snapshot_restore_kill_with_a_password_in_snapshot_names() {
    let (r, rows, _dir) = sweep(&["--kind", "crash", "--only", "/_restore"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let with_password: Vec<&Value> = rows
        .iter()
        .filter(|row| {
            row["fault"]
                .as_str()
                .is_some_and(|f| f.contains("password `camunda`"))
        })
        .collect();
    assert_eq!(with_password.len(), 1, "{rows:?}");
    assert_eq!(with_password[0]["pass"], true, "{}", with_password[0]);
    assert_eq!(
        with_password[0]["detail"], "restored, equal to the backup",
        "{}",
        with_password[0]
    );
}

/// A persistent fault may fail a run after it changed things; the row then clears the fault
/// and resumes the run (`recover <id> --resume --yes`): it passes only if that ends done.
/// One row kind each: the backup's exporting resume (exit 3) and the restore's snapshot
/// restore (fails after the indices are deleted).
#[test]
fn persistent_fault_rows_pass_only_when_resumable_to_done() {
    for only in ["exporting/resume", "/_restore"] {
        let (r, rows, _dir) = sweep(&["--kind", "fault", "--persistent", "--only", only]);
        assert_eq!(r.code, 0, "{only}:\n{}\n{}", r.stdout, r.stderr);
        let persistent: Vec<&Value> = rows
            .iter()
            .filter(|row| {
                row["fault"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("persistent"))
            })
            .collect();
        assert!(!persistent.is_empty(), "{only}: {rows:?}");
        assert!(
            persistent.iter().any(|row| row["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("resumed to done"))),
            "{only}: {persistent:?}"
        );
    }
}
