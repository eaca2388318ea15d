//! Camunda 8.9: backup-8.9, restore-8.9 and the inventory/prune plans 8.8 and 8.9 share, against
//! `runbook sim --camunda-version 8.9`. One test per 8.9 delta of
//! shared/reference/camunda-8.9-8.10.md (§2.2 steps 8-9, §4.1, §6 #6, #8, #13, #20) and the
//! version selection between the 8.8 and 8.9 plans.

use super::{Sim, assert_coherent, assert_restored, ids, outputs, replicas, status};

const PREDETERMINED: &str = "Cannot take backup with predetermined backupId when continuous backups are enabled. Use POST actuator/backupRuntime without specifying a backupId.";

/// The next Zeebe backup ends DELETED (retention deleted a partition's backup, §2.2 step 9).
fn delete_next_zeebe_backup(sim: &Sim) {
    let r = sim.call(
        "POST",
        "/sim/faults",
        "outcomes:\n  - {component: zeebe, result: deleted, times: 1}\n",
    );
    assert_eq!(r["accepted"], true, "{r}");
}

fn never_paused(sim: &Sim) -> bool {
    !sim.exporting_history().iter().any(|m| m.contains("paused"))
}

#[test]
fn backup_and_restore_89_on_elasticsearch_and_opensearch() {
    for datastore in ["elasticsearch", "opensearch"] {
        let sim = Sim::start("8.9", datastore);
        let report = sim.run_ok("backup-8.9.yaml", &["--set", "backup_id=100"]);
        // The 8.9 202 body's backupId is read (§6 #6).
        assert_eq!(
            outputs(&report, "backup-zeebe")["backup_id"],
            100,
            "{datastore}"
        );
        assert_coherent(&sim, 100, datastore);
        assert!(!sim.exporting_paused(), "{datastore}");
        sim.call("POST", "/sim/advance", "");
        sim.call("POST", "/sim/damage", "");
        let (code, text, report) =
            sim.run("restore-8.9.yaml", &["--set", "backup_id=100", "--yes"]);
        assert_eq!(code, 0, "{datastore}:\n{text}");
        // ZEEBE_RESTORE_FROM_BACKUP_ID was checked before any broker started (§6 #13).
        assert_eq!(status(&report, "check-restore-env"), "succeeded", "{text}");
        assert_restored(&sim, datastore);
    }
}

#[test]
fn backup_89_with_continuous_backups_on_fails_at_preflight_before_pausing() {
    let sim = Sim::start_scenario("8.9", "config:\n  continuous_backups: true\n");
    let (code, text, report) = sim.run("backup-8.9.yaml", &["--set", "backup_id=100"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "continuous or scheduled backups are on (CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_CONTINUOUS=true)"
        ),
        "{text}"
    );
    assert!(
        status(&report, "preflight-continuous").starts_with("failed"),
        "{report}"
    );
    assert!(never_paused(&sim), "{:?}", sim.exporting_history());
    assert!(sim.zeebe_backup_ids().is_empty());
}

/// Continuous backups turned on where the preflight cannot see them (e.g. in a configuration
/// file): Zeebe's 400 fails the run with the reason, and exporting is resumed (§6 #8).
#[test]
fn backup_89_a_refused_explicit_id_fails_clearly_and_resumes_exporting() {
    let sim = Sim::start("8.9", "elasticsearch");
    let r = sim.call(
        "POST",
        "/sim/faults",
        &format!(
            "faults:\n  - component: orchestration\n    method: POST\n    path: /actuator/backupRuntime\n    status: 400\n    message: \"{PREDETERMINED}\"\n"
        ),
    );
    assert_eq!(r["accepted"], true, "{r}");
    let (code, text, report) = sim.run("backup-8.9.yaml", &["--set", "backup_id=100"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        status(&report, "backup-zeebe").starts_with("failed"),
        "{report}"
    );
    assert!(
        text.contains("Zeebe refused backup id 100: continuous or scheduled backups are on"),
        "{text}"
    );
    assert!(!sim.exporting_paused());
    assert_eq!(
        sim.exporting_history().last().map(String::as_str),
        Some("running")
    );
}

#[test]
fn a_deleted_zeebe_backup_fails_the_wait_is_not_restorable_and_is_not_restored() {
    let sim = Sim::start("8.9", "elasticsearch");
    delete_next_zeebe_backup(&sim);
    let (code, text, report) = sim.run("backup-8.9.yaml", &["--set", "backup_id=100"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        status(&report, "wait-zeebe").starts_with("failed"),
        "{report}"
    );
    assert!(text.contains("Zeebe backup 100 is DELETED"), "{text}");
    assert!(!sim.exporting_paused());
    assert_eq!(
        sim.exporting_history().last().map(String::as_str),
        Some("running")
    );
    // The inventory (shared with 8.8) shows it and does not offer it.
    let report = sim.run_ok("inventory.yaml", &[]);
    let out = outputs(&report, "inventory");
    assert_eq!(out["backups"][0]["zeebe"], "DELETED", "{out}");
    assert_eq!(out["backups"][0]["restorable"], false, "{out}");
    assert!(ids(&out["restorable"]).is_empty(), "{out}");
    // The restore refuses it before anything is stopped (§6 #20).
    let (code, text, _) = sim.run("restore-8.9.yaml", &["--set", "backup_id=100", "--yes"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("DELETED or gone"), "{text}");
    assert_eq!(replicas(&sim, "statefulset", "camunda-zeebe"), 3, "{text}");
}

/// Retention retired 200 in Zeebe (DELETED): prune deletes its other parts like a complete
/// backup's once it is older than the oldest kept one.
#[test]
fn prune_89_deletes_the_parts_of_an_id_retention_deleted_in_zeebe() {
    let sim = Sim::start("8.9", "elasticsearch");
    sim.run_ok("backup-8.9.yaml", &["--set", "backup_id=100"]);
    delete_next_zeebe_backup(&sim);
    let (code, text, _) = sim.run("backup-8.9.yaml", &["--set", "backup_id=200"]);
    assert_eq!(code, 1, "{text}");
    sim.run_ok("backup-8.9.yaml", &["--set", "backup_id=300"]);
    sim.run_ok("backup-8.9.yaml", &["--set", "backup_id=400"]);
    let report = sim.run_ok("prune.yaml", &["--set", "keep=2", "--yes"]);
    let out = outputs(&report, "select");
    assert_eq!(ids(&out["kept"]), [400, 300], "{out}");
    assert_eq!(ids(&out["delete"]), [100, 200], "{out}");
    let left = sim.snapshot_names();
    assert!(
        !left.iter().any(|n| n.contains("_100_")
            || n.contains("_200_")
            || n.ends_with("_100")
            || n.ends_with("_200")),
        "{left:?}"
    );
    assert_eq!(sim.zeebe_backup_ids(), [300, 400]);
}

#[test]
fn plans_name_the_plan_of_the_clusters_version() {
    let sim88 = Sim::start("8.8", "elasticsearch");
    let (code, text, _) = sim88.run("backup-8.9.yaml", &["--set", "backup_id=100"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("use plans/camunda/backup-8.8.yaml"), "{text}");
    assert!(never_paused(&sim88));

    let sim89 = Sim::start("8.9", "elasticsearch");
    let (code, text, _) = sim89.run("backup-8.8.yaml", &["--set", "backup_id=100"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("use plans/camunda/backup-8.9.yaml"), "{text}");
    assert!(never_paused(&sim89));
    sim89.run_ok("backup-8.9.yaml", &["--set", "backup_id=100"]);
    let (code, text, _) = sim89.run("restore-8.8.yaml", &["--set", "backup_id=100", "--yes"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("use plans/camunda/restore-8.9.yaml"),
        "{text}"
    );
    assert_eq!(
        replicas(&sim89, "statefulset", "camunda-zeebe"),
        3,
        "{text}"
    );
}

/// One values file serves 8.8 and 8.9: the 8.9 plans take the 8.8 plans' params, same
/// defaults (docs/camunda.md "Camunda 8.9").
#[test]
fn the_8_9_plans_take_the_8_8_plans_params() {
    let params = |plan: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(crate::harness::root().join("plans/camunda").join(plan))
            .unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        doc["params"].clone()
    };
    for (old, new) in [
        ("backup-8.8.yaml", "backup-8.9.yaml"),
        ("restore-8.8.yaml", "restore-8.9.yaml"),
    ] {
        let (a, b) = (params(old), params(new));
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&a), keys(&b), "{old} vs {new}");
        for k in keys(&a) {
            assert_eq!(a[&k]["default"], b[&k]["default"], "{new}: default of {k}");
            assert_eq!(a[&k]["type"], b[&k]["type"], "{new}: type of {k}");
        }
    }
}
