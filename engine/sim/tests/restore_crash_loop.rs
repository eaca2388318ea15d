//! The restore app on a real cluster (the Camunda API reference §7.1): the crash loop after a
//! successful run, `Application run failed` for a missing backup, and the docs' alternative
//! of a command that keeps the container up after the restore app exits.

use super::common::{Sim, sim};
use super::kube_flow::{Kubectl, eventually};

/// A completed Zeebe backup 1, then the brokers stopped with their volumes deleted.
async fn stopped_with_empty_volumes(s: &Sim, k: &Kubectl) {
    s.advance(20).await;
    let got = s
        .post(
            &format!("{}/actuator/backupRuntime", s.orch()),
            r#"{"backupId":1}"#,
        )
        .await;
    assert_eq!(got.status, 202, "{}", got.text);
    s.wait_state(
        &format!("{}/actuator/backupRuntime/1", s.orch()),
        &["COMPLETED"],
    )
    .await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
        .await;
    k.ok(&[
        "delete",
        "pvc",
        "data-camunda-zeebe-0",
        "data-camunda-zeebe-1",
        "data-camunda-zeebe-2",
    ])
    .await;
}

async fn restore_mode(k: &Kubectl, backup_id: &str) {
    k.ok(&[
        "set",
        "env",
        "statefulset/camunda-zeebe",
        "-c",
        "orchestration",
        "ZEEBE_RESTORE=true",
        &format!("ZEEBE_RESTORE_FROM_BACKUP_ID={backup_id}"),
    ])
    .await;
}

async fn log(k: &Kubectl, previous: bool) -> String {
    let mut args = vec!["logs", "camunda-zeebe-0", "-c", "orchestration"];
    if previous {
        args.push("--previous");
    }
    let (code, out, err) = k.run(&args).await;
    if code == 0 { out } else { err }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_restore_is_followed_by_not_empty_runs() {
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.crash_loop_ms = 300;
    })
    .await;
    let k = Kubectl::new(&s);
    stopped_with_empty_volumes(&s, &k).await;
    restore_mode(&k, "1").await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    // Run 1 succeeds; the crash loop then replaces it in both logs by "not empty".
    eventually("the second run aborted", || {
        let k = &k;
        async move {
            log(k, true)
                .await
                .contains("is not empty. Aborting restore")
                && log(k, false)
                    .await
                    .contains("is not empty. Aborting restore")
        }
    })
    .await;
    let current = log(&k, false).await;
    assert!(
        current.contains(
            "Brokers's data directory /usr/local/camunda/data is not empty. Aborting restore to avoid overwriting data. Please restart with a clean directory."
        ),
        "{current}"
    );
    assert!(!current.contains("Successfully restored"), "{current}");
    let pod: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pod", "camunda-zeebe-0", "-o", "json"]).await)
            .expect("json");
    let status = &pod["status"]["containerStatuses"][0];
    assert!(
        status["restartCount"].as_u64().unwrap_or(0) >= 2,
        "{status}"
    );
    assert_eq!(status["lastState"]["terminated"]["exitCode"], 1, "{status}");
    assert_eq!(status["state"]["waiting"]["reason"], "CrashLoopBackOff");
    // The brokers' data is the restored backup all the same: a normal start serves it.
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
        .await;
    k.ok(&[
        "set",
        "env",
        "statefulset/camunda-zeebe",
        "-c",
        "orchestration",
        "ZEEBE_RESTORE-",
        "ZEEBE_RESTORE_FROM_BACKUP_ID-",
    ])
    .await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    eventually("the restored cluster runs", || async {
        s.handle
            .inspect(|w| w.brokers_running && w.cluster.restored_from == Some(1))
    })
    .await;
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_backup_fails_the_application_run() {
    let s = sim(|c| c.kubernetes = true).await;
    let k = Kubectl::new(&s);
    stopped_with_empty_volumes(&s, &k).await;
    restore_mode(&k, "99").await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    eventually("the run failed", || {
        let k = &k;
        async move {
            let out = log(k, false).await;
            out.contains("Application run failed") && out.contains("no valid backup")
        }
    })
    .await;
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_override_keeps_the_container_up_after_the_restore() {
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.crash_loop_ms = 50;
    })
    .await;
    let k = Kubectl::new(&s);
    stopped_with_empty_volumes(&s, &k).await;
    restore_mode(&k, "1").await;
    let patch = serde_json::json!([{"op": "replace",
        "path": "/spec/template/spec/containers/0/command",
        "value": ["bash", "-c", "/usr/local/camunda/bin/restore --backupId=${ZEEBE_RESTORE_FROM_BACKUP_ID}; echo \"restore exit code: $?\"; sleep infinity"]}]);
    k.ok(&[
        "patch",
        "statefulset/camunda-zeebe",
        "--type=json",
        "-p",
        &patch.to_string(),
    ])
    .await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    eventually("the restore app ran once", || {
        let k = &k;
        async move { log(k, false).await.contains("restore exit code: 0") }
    })
    .await;
    // The container sleeps: no restart, the success stays in the current log.
    let current = log(&k, false).await;
    assert!(
        current.contains("Successfully restored broker from backup"),
        "{current}"
    );
    let pod: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pod", "camunda-zeebe-0", "-o", "json"]).await)
            .expect("json");
    let status = &pod["status"]["containerStatuses"][0];
    assert!(status["state"]["running"].is_object(), "{status}");
    assert_eq!(status["ready"], false, "{status}");
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_bypasses_startup_sh_ignores_zeebe_restore() {
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.command_override = true;
    })
    .await;
    let k = Kubectl::new(&s);
    stopped_with_empty_volumes(&s, &k).await;
    restore_mode(&k, "1").await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    // The brokers start normally on the empty volumes (§7.8): a new, empty cluster.
    eventually("brokers started normally", || async {
        s.handle.inspect(|w| w.brokers_running)
    })
    .await;
    let current = log(&k, false).await;
    assert!(current.contains("Starting Camunda"), "{current}");
    assert!(!current.contains("restore"), "{current}");
    assert_eq!(s.handle.inspect(|w| w.cluster.restored_from), None);
    s.handle.shutdown().await;
}
