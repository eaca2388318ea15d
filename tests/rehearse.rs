//! `runbook rehearse` end to end through the real CLI: backup and restore for each Camunda
//! version and datastore against the built-in simulator (and the real `kubectl` against its
//! Kubernetes stand-in), the shipped failure scenario, and a restore that must refuse an
//! incomplete backup id before it changes anything.

use crate::harness::{Run, runbook};

fn rehearse(extra: &[&str]) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let mut args = vec![
        "rehearse".to_string(),
        "--state-dir".into(),
        state.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    (runbook(&args), dir)
}

fn assert_green(r: &Run, what: &str) {
    assert_eq!(r.code, 0, "{what}:\n{}\n{}", r.stdout, r.stderr);
    for check in [
        "PASS restore point coherent",
        "PASS restore plan succeeded",
        "PASS restored state equals the backup",
        "PASS exporting running after the restore",
        "VERDICT: PASS",
    ] {
        assert!(
            r.stdout.contains(check),
            "{what}: no `{check}` in\n{}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains("FAIL "), "{what}:\n{}", r.stdout);
}

#[test]
fn rehearse_8_8_elasticsearch_is_green() {
    let (r, _dir) = rehearse(&[]);
    assert_green(&r, "8.8 Elasticsearch");
}

#[test]
fn rehearse_8_8_opensearch_is_green() {
    let (r, _dir) = rehearse(&["--datastore", "opensearch"]);
    assert_green(&r, "8.8 OpenSearch");
}

#[test]
fn rehearse_8_7_elasticsearch_is_green() {
    let (r, _dir) = rehearse(&["--camunda-version", "8.7"]);
    assert_green(&r, "8.7 Elasticsearch");
}

#[test]
fn rehearse_8_7_opensearch_is_green() {
    let (r, _dir) = rehearse(&["--camunda-version", "8.7", "--datastore", "opensearch"]);
    assert_green(&r, "8.7 OpenSearch");
}

#[test]
fn rehearse_8_8_without_optimize_is_green() {
    let (r, _dir) = rehearse(&["--no-optimize"]);
    assert_green(&r, "8.8 without Optimize");
}

#[test]
fn rehearse_with_recoverable_faults_is_green() {
    let (r, _dir) = rehearse(&["--scenario", "engine/sim/scenarios/example-faults.yaml"]);
    assert_green(&r, "example faults");
}

#[test]
fn rehearse_of_a_failing_backup_accounts_for_the_rollback() {
    let (r, dir) = rehearse(&["--scenario", "engine/sim/scenarios/backup-fails.yaml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for check in [
        "PASS exporting running after the backup",
        "PASS backup failed under the injected faults and was compensated",
        "finally resume-exporting ran",
        "PASS restore skipped",
        "VERDICT: PASS",
    ] {
        assert!(r.stdout.contains(check), "no `{check}` in\n{}", r.stdout);
    }
    // The journal of the backup run says what happened.
    let runs = dir.path().join("state/runs");
    let journal = std::fs::read_dir(&runs)
        .expect("runs")
        .filter_map(Result::ok)
        .map(|e| e.path().join("journal.jsonl"))
        .find(|p| p.exists())
        .expect("a journal");
    let text = std::fs::read_to_string(journal).expect("journal");
    assert!(
        text.contains("\"step_failed\"") || text.contains("StepFailed"),
        "{text}"
    );
    assert!(text.contains("resume-exporting"), "{text}");
}

#[test]
fn rehearse_never_shows_the_datastore_password() {
    const SECRET: &str = "pw-rehearse-0xC0FFEE";
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let report = dir.path().join("verdict.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["rehearse", "--state-dir"])
        .arg(&state)
        .arg("--report")
        .arg(&report)
        .current_dir(crate::harness::root())
        .env("NO_COLOR", "1")
        .env("RUNBOOK_DATASTORE_USERNAME", "elastic")
        .env("RUNBOOK_DATASTORE_PASSWORD", SECRET)
        .output()
        .expect("runbook runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains(SECRET), "the password is in the output");
    // Nor in any journal, plan copy, report or values file the rehearsal wrote.
    let mut files = vec![report];
    let mut dirs = vec![state];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p)
            } else {
                files.push(p)
            }
        }
    }
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "the password is in {}",
            f.display()
        );
    }
}
