//! The Kubernetes coupling driven by the real kubectl: the documented 8.8 restore (reference
//! 3.1 steps 3-8) against the simulator with the stand-in.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::common::{Sim, poll, sim};

pub(super) struct Kubectl {
    pub(super) dir: tempfile::TempDir,
    pub(super) kubeconfig: std::path::PathBuf,
}

impl Kubectl {
    pub(super) fn new(s: &Sim) -> Self {
        let values: serde_json::Value =
            serde_saphyr::from_str(&s.handle.values_yaml()).expect("values");
        Kubectl {
            dir: tempfile::tempdir().expect("tempdir"),
            kubeconfig: values["kubeconfig"].as_str().expect("kubeconfig").into(),
        }
    }

    /// Runs kubectl with a 20 s limit; returns (exit code, stdout, stderr).
    pub(super) async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
            .await
            .expect("kubectl within 20 s")
            .expect("kubectl runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub(super) async fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args).await;
        assert_eq!(code, 0, "kubectl {args:?}: {out}{err}");
        out
    }
}

pub(super) async fn reachable(s: &Sim, url: &str) -> bool {
    s.http.get(url).send().await.is_ok()
}

/// Polls `check` until it holds (bounded by `common::PATIENCE`).
pub(super) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll(what, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_88_with_kubectl() {
    // A long crash-loop delay keeps the first run's success in `--previous` for this test.
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.crash_loop_ms = 600_000;
    })
    .await;
    let k = Kubectl::new(&s);
    let health = format!("{}/actuator/health", s.orch());
    let opt_health = format!("{}/actuator/health", s.opt());
    assert!(reachable(&s, &health).await);
    let out = k
        .ok(&["get", "statefulset", "camunda-zeebe", "-o", "json"])
        .await;
    let sts: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["name"],
        "orchestration"
    );

    // Backup 1 in the documented order.
    s.advance(30).await;
    s.post(
        &format!("{}/actuator/exporting/pause?soft=true", s.orch()),
        "",
    )
    .await;
    s.post(
        &format!("{}/actuator/backupHistory", s.orch()),
        r#"{"backupId":1}"#,
    )
    .await;
    s.post(
        &format!("{}/actuator/backups", s.opt()),
        r#"{"backupId":1}"#,
    )
    .await;
    s.wait_state(
        &format!("{}/actuator/backupHistory/1", s.orch()),
        &["COMPLETED"],
    )
    .await;
    s.wait_state(&format!("{}/actuator/backups/1", s.opt()), &["COMPLETED"])
        .await;
    s.call(
        "PUT",
        &format!(
            "{}/_snapshot/camunda/camunda_zeebe_records_backup_1?wait_for_completion=true",
            s.es()
        ),
        Some(r#"{"indices":"zeebe-record*","feature_states":["none"]}"#),
    )
    .await;
    s.post(
        &format!("{}/actuator/backupRuntime", s.orch()),
        r#"{"backupId":1}"#,
    )
    .await;
    s.wait_state(
        &format!("{}/actuator/backupRuntime/1", s.orch()),
        &["COMPLETED"],
    )
    .await;
    s.post(&format!("{}/actuator/exporting/resume", s.orch()), "")
        .await;
    s.advance(30).await;

    // Step 3: stop everything but the datastore; the APIs go away.
    let out = k
        .ok(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
        .await;
    assert!(
        out.contains("statefulset.apps/camunda-zeebe scaled"),
        "{out}"
    );
    k.ok(&["scale", "deployment/camunda-optimize", "--replicas=0"])
        .await;
    k.ok(&["scale", "deployment/camunda-connectors", "--replicas=0"])
        .await;
    eventually("orchestration refuses", || async {
        !reachable(&s, &health).await
    })
    .await;
    eventually("optimize refuses", || async {
        !reachable(&s, &opt_health).await
    })
    .await;
    let pods = k
        .ok(&[
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/component=zeebe-broker",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(pods.trim(), "");

    // Step 4: delete this installation's indices one by one: names anchored on its prefixes,
    // never the foreign ones (§7.5) nor the dated usage metrics the backup lacks (§7.6).
    let names = s
        .get(&format!("{}/_cat/indices?h=index", s.es()))
        .await
        .text;
    let ours = |n: &str| {
        [
            "operate-",
            "tasklist-",
            "camunda-",
            "optimize-",
            "zeebe-record_",
        ]
        .iter()
        .any(|p| n.starts_with(p))
            && (!n.contains("usage-metric") || n.ends_with('_'))
    };
    for n in names.lines().filter(|n| ours(n)) {
        assert_eq!(
            s.call("DELETE", &format!("{}/{n}", s.es()), None)
                .await
                .status,
            200
        );
    }
    // Step 5: restore every snapshot of backup 1.
    let all = s
        .get(&format!("{}/_snapshot/camunda/_all", s.es()))
        .await
        .json;
    for snap in all["snapshots"].as_array().expect("snapshots") {
        let name = snap["snapshot"].as_str().expect("name");
        let got = s
            .call(
                "POST",
                &format!(
                    "{}/_snapshot/camunda/{name}/_restore?wait_for_completion=true",
                    s.es()
                ),
                None,
            )
            .await;
        assert_eq!(got.status, 200, "{}", got.text);
    }
    // Step 6: delete the broker PVCs (not in use any more: deleted at once).
    let pvcs = k
        .ok(&[
            "get",
            "pvc",
            "-o",
            "custom-columns=NAME:.metadata.name",
            "--no-headers",
        ])
        .await;
    let pvcs: Vec<&str> = pvcs.lines().filter(|l| l.contains("zeebe")).collect();
    assert_eq!(pvcs.len(), 3);
    for pvc in pvcs {
        let out = k.ok(&["delete", "pvc", pvc]).await;
        assert!(
            out.contains(&format!("persistentvolumeclaim \"{pvc}\" deleted")),
            "{out}"
        );
    }
    // Step 7: restore mode.
    let out = k
        .ok(&[
            "set",
            "env",
            "statefulset/camunda-zeebe",
            "-c",
            "orchestration",
            "ZEEBE_RESTORE=true",
            "ZEEBE_RESTORE_FROM_BACKUP_ID=1",
            "SPRING_PROFILES_ACTIVE=restore",
        ])
        .await;
    assert!(out.contains("env updated"), "{out}");
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    for i in 0..3 {
        let pod = format!("camunda-zeebe-{i}");
        eventually("restore logged", || {
            let k = &k;
            let pod = pod.clone();
            async move {
                let (code, out, _) = k
                    .run(&["logs", &pod, "-c", "orchestration", "--previous"])
                    .await;
                code == 0 && out.contains("Successfully restored broker from backup")
            }
        })
        .await;
    }
    assert!(!reachable(&s, &health).await, "restore mode serves no API");
    // Step 8: leave restore mode and start everything.
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
        "SPRING_PROFILES_ACTIVE-",
    ])
    .await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    k.ok(&["scale", "deployment/camunda-optimize", "--replicas=1"])
        .await;
    k.ok(&["scale", "deployment/camunda-connectors", "--replicas=1"])
        .await;
    k.ok(&[
        "rollout",
        "status",
        "statefulset/camunda-zeebe",
        "--timeout=20s",
    ])
    .await;
    eventually("orchestration serves", || async {
        reachable(&s, &health).await
    })
    .await;
    eventually("optimize serves", || async {
        reachable(&s, &opt_health).await
    })
    .await;
    let verdict = s
        .get(&format!("{}/sim/oracle/restore/1", s.ctl()))
        .await
        .json;
    assert_eq!(verdict["restored"], true, "{verdict:#}");
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pvc_in_use_waits_and_restore_refuses_non_empty_data() {
    let s = sim(|c| c.kubernetes = true).await;
    let k = Kubectl::new(&s);
    // A PVC in use stays Terminating until its pod is gone.
    let mut delete = Command::new("kubectl");
    delete
        .arg("--kubeconfig")
        .arg(&k.kubeconfig)
        .arg("--cache-dir")
        .arg(k.dir.path().join("cache2"))
        .args(["delete", "pvc", "data-camunda-zeebe-0"])
        .env("HOME", k.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = delete.spawn().expect("spawn");
    // Wait for the delete to have arrived (the PVC is Terminating), not a guessed 500 ms.
    eventually("the PVC is Terminating", || async {
        k.ok(&["get", "pvc", "data-camunda-zeebe-0", "-o", "json"])
            .await
            .contains("deletionTimestamp")
    })
    .await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
        .await;
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("delete ends")
        .expect("output");
    assert!(out.status.success());
    // Restore mode with data left on brokers 1 and 2: they abort.
    k.ok(&[
        "set",
        "env",
        "statefulset/camunda-zeebe",
        "-c",
        "orchestration",
        "ZEEBE_RESTORE=true",
        "ZEEBE_RESTORE_FROM_BACKUP_ID=1",
    ])
    .await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    eventually("abort logged", || {
        let k = &k;
        async move {
            let (code, out, _) = k
                .run(&[
                    "logs",
                    "camunda-zeebe-1",
                    "-c",
                    "orchestration",
                    "--previous",
                ])
                .await;
            code == 0 && out.contains("is not empty. Aborting restore")
        }
    })
    .await;
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_87_components_takes_their_apis_away() {
    let s = sim(|c| c.camunda_version = crate::CamundaVersion::V8_7).await;
    s.handle.shutdown().await;
    let s = sim(|c| {
        c.camunda_version = crate::CamundaVersion::V8_7;
        c.kubernetes = true;
    })
    .await;
    let k = Kubectl::new(&s);
    let urls = s.handle.urls().clone();
    let gw = format!("{}/actuator/health", urls.gateway.clone().expect("gateway"));
    let op = format!("{}/actuator/health", urls.operate.clone().expect("operate"));
    assert!(reachable(&s, &gw).await && reachable(&s, &op).await);
    k.ok(&["scale", "deployment/camunda-zeebe-gateway", "--replicas=0"])
        .await;
    k.ok(&["scale", "deployment/camunda-operate", "--replicas=0"])
        .await;
    eventually("gateway refuses", || async { !reachable(&s, &gw).await }).await;
    eventually("operate refuses", || async { !reachable(&s, &op).await }).await;
    k.ok(&["scale", "deployment/camunda-zeebe-gateway", "--replicas=1"])
        .await;
    eventually("gateway serves", || async { reachable(&s, &gw).await }).await;
    // Restore mode on the `zeebe` container with data still on the volumes: abort.
    k.ok(&[
        "set",
        "env",
        "statefulset/camunda-zeebe",
        "-c",
        "zeebe",
        "ZEEBE_RESTORE=true",
        "ZEEBE_RESTORE_FROM_BACKUP_ID=1",
    ])
    .await;
    eventually("abort logged", || {
        let k = &k;
        async move {
            let (code, out, _) = k
                .run(&["logs", "camunda-zeebe-0", "-c", "zeebe", "--previous"])
                .await;
            code == 0
                && out.contains(
                    "Brokers's data directory /usr/local/zeebe/data is not empty. Aborting restore",
                )
        }
    })
    .await;
    // While the brokers are in restore mode the gateway cannot reach them.
    let got = s
        .post(
            &format!(
                "{}/actuator/backups",
                urls.gateway.clone().expect("gateway")
            ),
            r#"{"backupId": 5}"#,
        )
        .await;
    assert_eq!(got.status, 502);
    s.handle.shutdown().await;
}
