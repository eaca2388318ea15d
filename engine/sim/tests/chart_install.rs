//! How the chart was installed, seen through kubectl: broker storage (the Camunda API
//! reference §7.7), chart version and command (§7.8), Optimize absent or versioned by its
//! image (§7.9), names from `fullnameOverride` found by labels (§7.10), GitOps owners
//! (§7.11) and the backup settings in the containers' env (§7.15).

use serde_json::Value;

use super::common::sim;
use super::kube_flow::{Kubectl, eventually};
use crate::cluster_config::{Gitops, PersistenceType};

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_brokers_have_no_pvcs_and_lose_data_when_scaled_to_zero() {
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.persistence_type = PersistenceType::Memory;
    })
    .await;
    let k = Kubectl::new(&s);
    let pvcs = k.ok(&["get", "pvc", "-o", "name"]).await;
    assert_eq!(pvcs.trim(), "");
    let sts = json(
        &k.ok(&["get", "statefulset", "camunda-zeebe", "-o", "json"])
            .await,
    );
    assert!(sts["spec"].get("volumeClaimTemplates").is_none(), "{sts}");
    s.advance(20).await;
    assert!(s.handle.inspect(|w| w.cluster.partitions[0].position) >= 20);
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
        .await;
    eventually("broker data gone", || async {
        s.handle.inspect(|w| w.cluster.data_wiped)
    })
    .await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    eventually("brokers run again, empty", || async {
        s.handle
            .inspect(|w| w.brokers_running && w.cluster.partitions[0].position < 20)
    })
    .await;
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renamed_resources_keep_their_labels_and_gitops_and_chart_show() {
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.names = [
            ("zeebe", "core"),
            ("optimize", "opt"),
            ("connectors", "conn"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        c.scenario.config.gitops = Gitops::Argocd;
        c.scenario.config.command_override = true;
        c.scenario.config.chart_version = Some("13.1.0".into());
    })
    .await;
    let k = Kubectl::new(&s);
    let found = k
        .ok(&[
            "get",
            "deployment",
            "-l",
            "app.kubernetes.io/instance=camunda,app.kubernetes.io/component=optimize",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(found.trim(), "deployment.apps/opt");
    let services = k
        .ok(&[
            "get",
            "service",
            "-l",
            "app.kubernetes.io/component=connectors",
            "-o",
            "name",
        ])
        .await;
    assert_eq!(services.trim(), "service/conn");
    let sts = json(
        &k.ok(&[
            "get",
            "statefulset",
            "-l",
            "app.kubernetes.io/component=zeebe-broker",
            "-o",
            "json",
        ])
        .await,
    );
    let sts = &sts["items"][0];
    assert_eq!(sts["metadata"]["name"], "core");
    assert_eq!(
        sts["metadata"]["labels"]["helm.sh/chart"],
        "camunda-platform-13.1.0"
    );
    assert!(
        sts["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"].is_string(),
        "{sts}"
    );
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["/usr/local/camunda/bin/camunda"])
    );
    // Renamed optimize follows its Deployment: scaling it to 0 takes its API away.
    k.ok(&["scale", "deployment/opt", "--replicas=0"]).await;
    let health = format!("{}/actuator/health", s.opt());
    eventually("optimize refuses", || async {
        s.http.get(&health).send().await.is_err()
    })
    .await;
    // The PVCs follow the StatefulSet's name.
    let pvcs = k.ok(&["get", "pvc", "-o", "name"]).await;
    assert!(pvcs.contains("persistentvolumeclaim/data-core-0"), "{pvcs}");
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimize_absent_or_versioned_by_its_image() {
    let s = sim(|c| {
        c.kubernetes = true;
        c.optimize = false;
    })
    .await;
    let k = Kubectl::new(&s);
    let (code, out, err) = k
        .run(&[
            "get",
            "deployment,service",
            "-l",
            "app.kubernetes.io/component=optimize",
            "-o",
            "name",
        ])
        .await;
    assert_eq!((code, out.trim()), (0, ""), "{err}");
    s.handle.shutdown().await;
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.camunda_version = Some("8.8.3".into());
    })
    .await;
    let k = Kubectl::new(&s);
    let dep = json(
        &k.ok(&["get", "deployment", "camunda-optimize", "-o", "json"])
            .await,
    );
    assert_eq!(
        dep["metadata"]["labels"]["app.kubernetes.io/version"],
        "8.8.3"
    );
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "camunda/optimize:8.8.3"
    );
    let info = s.get(&format!("{}/actuator/info", s.opt())).await;
    assert_eq!(info.json, serde_json::json!({}));
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_repository_shows_in_env_and_receives_the_web_app_parts() {
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.repository_name = "other".into();
        c.scenario.config.schedule_404_ms = 0;
    })
    .await;
    let k = Kubectl::new(&s);
    let sts = json(
        &k.ok(&["get", "statefulset", "camunda-zeebe", "-o", "json"])
            .await,
    );
    let env = sts["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(
        env.contains(r#"{"name":"CAMUNDA_DATA_BACKUP_REPOSITORYNAME","value":"other"}"#),
        "{env}"
    );
    assert!(env.contains("CAMUNDA_DATA_BACKUP_STORE"), "{env}");
    let base = format!("{}/actuator/backupHistory", s.orch());
    assert_eq!(s.post(&base, r#"{"backupId": 3}"#).await.status, 200);
    s.wait_state(&format!("{base}/3"), &["COMPLETED"]).await;
    let plans = s
        .get(&format!("{}/_snapshot/camunda/camunda_webapps_3_*", s.es()))
        .await;
    assert_eq!(
        plans.json["snapshots"],
        serde_json::json!([]),
        "{}",
        plans.text
    );
    let other = s
        .get(&format!("{}/_snapshot/other/camunda_webapps_3_*", s.es()))
        .await;
    assert_eq!(other.json["snapshots"].as_array().map(Vec::len), Some(5));
    s.handle.shutdown().await;
    // No backup store: the variable is absent.
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario.config.zeebe_backup_store = false;
    })
    .await;
    let k = Kubectl::new(&s);
    let sts = json(
        &k.ok(&["get", "statefulset", "camunda-zeebe", "-o", "json"])
            .await,
    );
    let env = sts["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(!env.contains("CAMUNDA_DATA_BACKUP_STORE"), "{env}");
    s.handle.shutdown().await;
}
