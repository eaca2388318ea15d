//! Camunda 8.10: backup-8.10 (Orchestration Cluster REST API, OAuth2), restore-8.10 (Restore
//! API: recovery mode, in-place restore, cancel on failure), the restore-application fallback
//! restore-app-8.10, inventory on 8.10 and the version selection between the 8.9 and 8.10 plans,
//! against `runbook sim --camunda-version 8.10` (shared/reference/camunda-8.9-8.10.md §2.5,
//! §4.3, §6 #23).

use serde_json::Value as Json;

use super::{Sim, assert_coherent, assert_restored, ids, outputs, replicas, status};
use crate::harness::{root, run_against_sim};

/// The simulator's default REST client secret (`rest_client_secret`).
const SECRET: &str = "sim-client-secret";

fn never_paused(sim: &Sim) -> bool {
    !sim.exporting_history().iter().any(|m| m.contains("paused"))
}

/// Requests of `component` whose `METHOD path` starts with `prefix`, with their statuses.
fn requests(sim: &Sim, component: &str, prefix: &str) -> Vec<u64> {
    sim.get("/sim/requests")
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["component"] == component)
        .filter(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
            .starts_with(prefix)
        })
        .filter_map(|r| r["status"].as_u64())
        .collect()
}

fn restore_api(sim: &Sim) -> Json {
    sim.get("/sim/state")["restoreApi"].clone()
}

fn backup_then_damage(sim: &Sim) {
    sim.run_ok("backup-8.10.yaml", &["--set", "backup_id=100"]);
    sim.call("POST", "/sim/advance", "");
    sim.call("POST", "/sim/damage", "");
}

#[test]
fn backup_810_through_the_rest_api_and_restore_through_the_restore_api() {
    for datastore in ["elasticsearch", "opensearch"] {
        let sim = Sim::start("8.10", datastore);
        let report = sim.run_ok("backup-8.10.yaml", &["--set", "backup_id=100"]);
        assert_eq!(
            outputs(&report, "backup-zeebe")["backup_id"],
            100,
            "{datastore}"
        );
        assert_coherent(&sim, 100, datastore);
        assert!(!sim.exporting_paused(), "{datastore}");
        assert_eq!(
            sim.exporting_history(),
            ["soft-paused", "running"],
            "{datastore}"
        );
        // Exporting and the Zeebe/web-app backups went through /v2, not the actuator (§2.5).
        assert_eq!(
            requests(&sim, "rest", "POST /v2/exporting/pause?soft=true"),
            [204]
        );
        assert_eq!(requests(&sim, "rest", "POST /v2/backups/runtime"), [202]);
        assert!(requests(&sim, "orchestration", "POST /actuator/").is_empty());
        sim.call("POST", "/sim/advance", "");
        sim.call("POST", "/sim/damage", "");
        let (code, text, report) =
            sim.run("restore-8.10.yaml", &["--set", "backup_id=100", "--yes"]);
        assert_eq!(code, 0, "{datastore}:\n{text}");
        assert_restored(&sim, datastore);
        assert_eq!(status(&report, "wait-recovery-mode"), "succeeded", "{text}");
        assert_eq!(status(&report, "confirm-restore"), "succeeded", "{text}");
        // In place: the brokers were never stopped, their pod template never changed.
        let sts_changes = sim
            .get("/sim/requests")
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["component"] == "kubernetes"
                    && r["path"].as_str().unwrap_or("").contains("/statefulsets/")
            })
            .filter(|r| r["method"] != "GET")
            .count();
        assert_eq!(sts_changes, 0, "{datastore}: the StatefulSet was changed");
        assert_eq!(restore_api(&sim)["mode"], "PROCESSING", "{datastore}");
        assert_eq!(replicas(&sim, "statefulset", "camunda-zeebe"), 3);
        assert_eq!(
            replicas(&sim, "deployment", "camunda-optimize"),
            1,
            "{datastore}"
        );
        // Inventory reads 8.10 through the management API (its endpoints remain, §2.5).
        let report = sim.run_ok("inventory.yaml", &[]);
        assert_eq!(
            ids(&outputs(&report, "inventory")["restorable"]),
            [100],
            "{datastore}"
        );
    }
}

#[test]
fn restore_app_810_is_the_restore_application_fallback() {
    let sim = Sim::start("8.10", "elasticsearch");
    backup_then_damage(&sim);
    let (code, text, report) = sim.run(
        "restore-app-8.10.yaml",
        &["--set", "backup_id=100", "--yes"],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(status(&report, "check-restore-env"), "succeeded", "{text}");
    assert_restored(&sim, "restore app");
    // The fallback restarts the brokers in restore mode; it uses no Restore API.
    assert!(requests(&sim, "rest", "PATCH /v2/mode").is_empty());
    assert!(requests(&sim, "rest", "POST /v2/restore").is_empty());
}

/// A restore whose partition keeps failing (FAILED, retried RESTORING) is reported with its
/// partitions, cancelled (CANCELLED), and the cluster stays in recovery mode with Optimize back;
/// a second run from recovery mode restores (§4.3, `_restore-api-failed.md`).
#[test]
fn a_failing_restore_is_cancelled_reported_and_left_in_recovery_mode() {
    let sim = Sim::start("8.10", "elasticsearch");
    backup_then_damage(&sim);
    let r = sim.call(
        "POST",
        "/sim/faults",
        "outcomes:\n  - {component: zeebe-restore, result: failed, times: 1}\n",
    );
    assert_eq!(r["accepted"], true, "{r}");
    let (code, text, report) = sim.run("restore-8.10.yaml", &["--set", "backup_id=100", "--yes"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("is FAILED"), "{text}");
    assert!(text.contains("partition 1 on broker 0 RESTORING"), "{text}");
    assert!(
        text.contains("leaves the cluster in recovery mode"),
        "{text}"
    );
    assert_eq!(status(&report, "cancel-restore"), "succeeded", "{text}");
    assert!(
        status(&report, "leave-recovery-mode").starts_with("skipped"),
        "{text}"
    );
    let api = restore_api(&sim);
    assert_eq!(api["mode"], "RECOVERING", "{api}");
    assert_eq!(api["lastChange"]["status"], "CANCELLED", "{api}");
    assert_eq!(api["restore"]["status"], "CANCELLED", "{api}");
    assert!(requests(&sim, "rest", "PATCH /v2/mode?mode=PROCESSING").is_empty());
    assert_eq!(
        replicas(&sim, "deployment", "camunda-optimize"),
        1,
        "{text}"
    );
    // A second run that fails before anything destructive does not switch this cluster back to
    // PROCESSING: it was in recovery mode (with a partial restore) before the run.
    let r = sim.call(
        "POST",
        "/sim/faults",
        "faults:\n  - {component: rest, method: POST, path: /v2/restore, status: 400}\n",
    );
    assert_eq!(r["accepted"], true, "{r}");
    let (code, text, report) = sim.run("restore-8.10.yaml", &["--set", "backup_id=100", "--yes"]);
    sim.call("DELETE", "/sim/faults", "");
    assert_eq!(code, 1, "{text}");
    assert!(
        status(&report, "dry-run-restore").starts_with("failed"),
        "{text}"
    );
    assert!(
        status(&report, "leave-recovery-mode").starts_with("skipped"),
        "{text}"
    );
    assert_eq!(restore_api(&sim)["mode"], "RECOVERING");
    assert!(requests(&sim, "rest", "PATCH /v2/mode?mode=PROCESSING").is_empty());
    // Fixed: the plan runs again from recovery mode and restores, retrying a POST /v2/restore
    // whose connection dropped (the dry run goes through first).
    let r = sim.call(
        "POST",
        "/sim/faults",
        "faults:\n  - {component: rest, method: POST, path: /v2/restore, drop_connection: true, after: 1, times: 1}\n",
    );
    assert_eq!(r["accepted"], true, "{r}");
    let (code, text, report) = sim.run("restore-8.10.yaml", &["--set", "backup_id=100", "--yes"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(status(&report, "find-restore"), "succeeded", "{text}");
    assert_restored(&sim, "second run");
    assert_eq!(restore_api(&sim)["mode"], "PROCESSING");
}

/// A refusal before anything destructive (here the dry run: Zeebe backup gone meanwhile is
/// simulated by a 400) leaves recovery mode again and restarts Optimize.
#[test]
fn a_refused_dry_run_leaves_recovery_mode_and_deletes_nothing() {
    let sim = Sim::start("8.10", "elasticsearch");
    backup_then_damage(&sim);
    let r = sim.call(
        "POST",
        "/sim/faults",
        "faults:\n  - {component: rest, method: POST, path: /v2/restore*, status: 400, message: \"Backup 100 is DELETED\"}\n",
    );
    assert_eq!(r["accepted"], true, "{r}");
    let (code, text, report) = sim.run("restore-8.10.yaml", &["--set", "backup_id=100", "--yes"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        status(&report, "dry-run-restore").starts_with("failed"),
        "{text}"
    );
    assert!(text.contains("refuses to restore backup 100"), "{text}");
    assert_eq!(
        status(&report, "leave-recovery-mode"),
        "succeeded",
        "{text}"
    );
    assert!(
        status(&report, "delete-indices").is_empty()
            || status(&report, "delete-indices").starts_with("skipped"),
        "{text}"
    );
    // The mode change back is asynchronous (the plan requests it in `finally`).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while restore_api(&sim)["mode"] != "PROCESSING" {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            restore_api(&sim)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        replicas(&sim, "deployment", "camunda-optimize"),
        1,
        "{text}"
    );
}

/// Without the client secret the token request is refused; without any credentials the REST
/// API's 401 is named with what to set. Nothing is paused, no secret is printed.
#[test]
fn rest_api_without_valid_credentials_fails_clearly_before_pausing() {
    let sim = Sim::start("8.10", "elasticsearch");
    let plan = root().join("plans/camunda/backup-8.10.yaml");
    let run = |extra: &[&str], secret: Option<&str>| {
        let mut c = run_against_sim(sim.dir(), &plan, extra);
        c.env_remove("RUNBOOK_CAMUNDA_CLIENT_SECRET");
        if let Some(s) = secret {
            c.env("RUNBOOK_CAMUNDA_CLIENT_SECRET", s);
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let (code, text) = run(&["--set", "backup_id=100"], Some("not-the-secret"));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("returned status 401: invalid_client"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"), "{text}");
    let (code, text) = run(
        &["--set", "backup_id=100", "--set", "camunda_client_id="],
        None,
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("refused the request as unauthenticated (401"),
        "{text}"
    );
    assert!(text.contains("RUNBOOK_CAMUNDA_CLIENT_SECRET"), "{text}");
    assert!(never_paused(&sim), "{:?}", sim.exporting_history());
    let (code, text) = run(&["--set", "backup_id=100"], Some(SECRET));
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn plans_name_the_plan_of_the_clusters_version_810() {
    let sim = Sim::start("8.10", "elasticsearch");
    for (plan, want) in [
        ("backup-8.9.yaml", "use plans/camunda/backup-8.10.yaml"),
        ("backup-8.8.yaml", "use plans/camunda/backup-8.10.yaml"),
    ] {
        let (code, text, _) = sim.run(plan, &["--set", "backup_id=100"]);
        assert_eq!(code, 1, "{plan}: {text}");
        assert!(text.contains(want), "{plan}: {text}");
    }
    assert!(never_paused(&sim));
    sim.run_ok("backup-8.10.yaml", &["--set", "backup_id=100"]);
    let (code, text, _) = sim.run("restore-8.9.yaml", &["--set", "backup_id=100", "--yes"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("use plans/camunda/restore-8.10.yaml"),
        "{text}"
    );
    assert_eq!(replicas(&sim, "statefulset", "camunda-zeebe"), 3, "{text}");
    let sim89 = Sim::start("8.9", "elasticsearch");
    let (code, text, _) = sim89.run("backup-8.10.yaml", &["--set", "backup_id=100"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("use plans/camunda/backup-8.9.yaml"), "{text}");
    sim89.run_ok("backup-8.9.yaml", &["--set", "backup_id=100"]);
    for plan in ["restore-8.10.yaml", "restore-app-8.10.yaml"] {
        let (code, text, _) = sim89.run(plan, &["--set", "backup_id=100", "--yes"]);
        assert_eq!(code, 1, "{plan}: {text}");
        assert!(
            text.contains("use plans/camunda/restore-8.9.yaml"),
            "{plan}: {text}"
        );
    }
}

/// One values file serves 8.8 to 8.10: the 8.10 plans take the 8.9 plans' params with the same
/// defaults (restore-8.10 without `verify_zeebe_backup`: it always checks the Zeebe backup
/// through the REST API), plus the REST ones (docs/camunda.md "Camunda 8.10").
#[test]
fn the_8_10_plans_take_the_8_9_plans_params() {
    let params = |plan: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(root().join("plans/camunda").join(plan)).unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        doc["params"].clone()
    };
    const REST: [&str; 8] = [
        "rest_url",
        "camunda_token_url",
        "camunda_client_id",
        "camunda_client_secret",
        "camunda_audience",
        "camunda_scope",
        "camunda_username",
        "camunda_password",
    ];
    for (old, new, rest, dropped) in [
        ("backup-8.9.yaml", "backup-8.10.yaml", true, None),
        (
            "restore-8.9.yaml",
            "restore-8.10.yaml",
            true,
            Some("verify_zeebe_backup"),
        ),
        ("restore-8.9.yaml", "restore-app-8.10.yaml", false, None),
    ] {
        let (a, b) = (params(old), params(new));
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let mut want: Vec<String> = keys(&a)
            .into_iter()
            .filter(|k| Some(k.as_str()) != dropped)
            .collect();
        if rest {
            want.extend(REST.iter().map(|s| s.to_string()));
        }
        want.sort();
        assert_eq!(keys(&b), want, "{old} vs {new}");
        for k in keys(&a).iter().filter(|k| Some(k.as_str()) != dropped) {
            assert_eq!(a[k]["default"], b[k]["default"], "{new}: default of {k}");
            assert_eq!(a[k]["type"], b[k]["type"], "{new}: type of {k}");
        }
    }
    assert_eq!(
        params("backup-8.10.yaml")["camunda_client_secret"]["secret"],
        true
    );
}
