//! `runbook rehearse` end to end through the real CLI: backup and restore for each Camunda
//! version and datastore against the built-in simulator (and the real `kubectl` against its
//! Kubernetes stand-in), the shipped failure scenario, a restore that must refuse an
//! incomplete backup id before it changes anything, and rehearsals that must end in
//! `VERDICT: FAIL` or `VERDICT: NOT VERIFIED`.

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
        "PASS cluster moved on after the backup",
        "PASS cluster damaged (Camunda indices and broker data deleted)",
        "PASS every workload back at its recorded replicas",
        "PASS restore mode entered",
        "PASS restore mode left",
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

/// Issue 15: the default path, every component through `kubectl port-forward` (relayed to the
/// simulator), on 8.8 and 8.7, and through TLS with a private CA and an API key; no forward
/// outlives its run.
#[test]
fn rehearse_through_port_forwards_is_green() {
    for extra in [
        &["--port-forward"][..],
        &["--port-forward", "--camunda-version", "8.7"],
        &[
            "--port-forward",
            "--datastore",
            "opensearch",
            "--scenario",
            "engine/sim/scenarios/secured-datastore.yaml",
        ],
    ] {
        let (r, _dir) = rehearse(extra);
        assert_green(&r, &format!("{extra:?}"));
        assert!(
            r.stdout
                .contains("PASS every component reached through port-forwards, each torn down"),
            "{extra:?}: {}",
            r.stdout
        );
    }
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

/// Camunda 8.10: the REST API backup and the Restore API restore (recovery mode, no pod-template
/// change) on both datastores, the restore-application fallback, and through port-forwards
/// (the REST API on the gateway Service's 8080).
#[test]
fn rehearse_8_10_is_green_with_the_restore_api_and_the_fallback() {
    for ds in ["elasticsearch", "opensearch"] {
        let (r, _dir) = rehearse(&["--camunda-version", "8.10", "--datastore", ds]);
        assert_green(&r, &format!("8.10 {ds}"));
        assert!(
            r.stdout
                .contains("PASS restore mode entered (recovery mode, Restore API)"),
            "{ds}:\n{}",
            r.stdout
        );
    }
    let (r, _dir) = rehearse(&[
        "--camunda-version",
        "8.10",
        "plans/camunda/backup-8.10.yaml",
        "plans/camunda/restore-app-8.10.yaml",
    ]);
    assert_green(&r, "8.10 restore app");
    assert!(
        r.stdout.contains("PASS restore mode entered"),
        "{}",
        r.stdout
    );
    let (r, _dir) = rehearse(&["--camunda-version", "8.10", "--port-forward"]);
    assert_green(&r, "8.10 through port-forwards");
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
        "PASS backup plan fails at wait-webapps with `FAILED` as expected",
        "PASS failed backup compensated (undo and finally steps succeeded)",
        "finally resume-exporting ran",
        "PASS retried backup plan succeeded",
        "PASS restored state equals the backup",
        "VERDICT: PASS",
    ] {
        assert!(r.stdout.contains(check), "no `{check}` in\n{}", r.stdout);
    }
    // The journal of the failed backup run says what happened (the retry and the restore
    // have journals of their own).
    let runs = dir.path().join("state/runs");
    let journals: Vec<String> = std::fs::read_dir(&runs)
        .expect("runs")
        .filter_map(Result::ok)
        .map(|e| e.path().join("journal.jsonl"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    assert_eq!(journals.len(), 3, "backup, retried backup, restore");
    assert!(
        journals.iter().any(|text| (text.contains("\"step_failed\"")
            || text.contains("StepFailed"))
            && text.contains("wait-webapps")
            && text.contains("resume-exporting")),
        "{journals:?}"
    );
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

/// A rehearsal that must not pass: exit 1, `VERDICT: <verdict>`, and the named check failed.
fn assert_not_green(r: &Run, verdict: &str, failed: &str) {
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!("VERDICT: {verdict}")),
        "no `VERDICT: {verdict}` in\n{}",
        r.stdout
    );
    assert!(r.stdout.contains(failed), "no `{failed}` in\n{}", r.stdout);
}

#[test]
fn rehearse_of_a_broken_restore_plan_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = crate::harness::root();
    let restore = std::fs::read_to_string(root.join("plans/camunda/restore-8.8.yaml"))
        .expect("shipped restore plan");
    let broken = restore.replace("/{{item}}/_restore", "/{{item}}-typo/_restore");
    assert_ne!(
        broken, restore,
        "the plan changed its restore path; update this test"
    );
    let path = dir.path().join("restore-broken.yaml");
    std::fs::write(&path, broken).expect("write plan");
    let backup = root.join("plans/camunda/backup-8.8.yaml");
    let (r, _state) = rehearse(&[&backup.display().to_string(), &path.display().to_string()]);
    assert_not_green(&r, "FAIL", "FAIL restore plan succeeded");
    assert!(
        r.stdout.contains("unexpected failure at restore-snapshots"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("FAIL restored state equals the backup"),
        "{}",
        r.stdout
    );
}

#[test]
fn rehearse_restoring_a_wrong_backup_id_fails() {
    let (r, _dir) = rehearse(&["--backup-id", "123"]);
    assert_not_green(&r, "FAIL", "FAIL restore plan succeeded");
}

#[test]
fn rehearse_with_a_fault_the_restore_does_not_survive_fails() {
    // Every read of the Zeebe StatefulSet answers an etcd timeout: no retry can help.
    let (r, _dir) = rehearse(&[
        "--fault",
        "component=kubernetes,method=GET,path=/apis/apps/v1/namespaces/*/statefulsets/*,status=500",
    ]);
    assert_not_green(&r, "FAIL", "FAIL restore plan succeeded");
    assert!(
        r.stdout.contains("etcdserver: request timed out"),
        "{}",
        r.stdout
    );
}

#[test]
fn rehearse_of_an_unannounced_backup_failure_fails() {
    let (r, _dir) = rehearse(&["--outcome", "component=webapps,result=failed,times=1"]);
    assert_not_green(&r, "FAIL", "FAIL backup plan succeeded");
    assert!(r.stdout.contains("NOT VERIFIED restore"), "{}", r.stdout);
}

#[test]
fn rehearse_without_any_good_backup_is_not_verified() {
    let (r, _dir) = rehearse(&[
        "--outcome",
        "component=zeebe,result=failed",
        "--expect",
        "run=backup,step=wait-zeebe",
    ]);
    assert_not_green(&r, "NOT VERIFIED", "NOT VERIFIED restore");
    assert!(
        r.stdout
            .contains("PASS backup plan fails at wait-zeebe as expected"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("NOT VERIFIED retried backup plan succeeded"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("FAIL "), "{}", r.stdout);
}

/// Every shipped scenario rehearses to `VERDICT: PASS`: those that must refuse or fail do so
/// at the step and for the reason their `expect:` names (issue 11 points 3, 4, 5, 6, 7, 8).
#[test]
fn rehearse_every_shipped_scenario_passes() {
    let dir = crate::harness::root().join("engine/sim/scenarios");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    names.sort();
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        // old-chart-87 is an 8.7 install (chart 12.0.2); `-89` scenarios need 8.9, `-810` 8.10.
        let version = if name.ends_with("-87") {
            "8.7"
        } else if name.ends_with("-89") {
            "8.9"
        } else if name.ends_with("-810") {
            "8.10"
        } else {
            "8.8"
        };
        let scenario = path.display().to_string();
        let (r, _dir) = rehearse(&["--camunda-version", version, "--scenario", &scenario]);
        assert!(
            r.code == 0 && r.stdout.contains("VERDICT: PASS"),
            "{name}:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
}
