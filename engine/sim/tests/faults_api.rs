//! Fault injection, component availability, the request log and the values file.

use std::time::{Duration, Instant};

use serde_json::json;

use super::common::{poll, sim};
use crate::Scenario;

#[tokio::test]
async fn injected_status_uses_the_component_error_body() {
    let yaml = "faults:\n  - component: orchestration\n    method: POST\n    path: /actuator/backupHistory\n    status: 502\n    times: 1\n  - component: optimize\n    path: /actuator/backups*\n    status: 500\n    times: 1\n  - component: datastore\n    method: PUT\n    path: /_snapshot/*\n    status: 503\n    times: 1\n";
    let s = sim(|c| c.scenario = Scenario::from_yaml_str(yaml).unwrap()).await;
    let url = format!("{}/actuator/backupHistory", s.orch());
    let got = s.post(&url, r#"{"backupId": 1}"#).await;
    assert_eq!(
        (got.status, got.json.clone()),
        (
            502,
            json!({"message":"Encountered an error connecting to Elasticsearch while retrieving repository with name [camunda]."})
        )
    );
    assert_eq!(
        s.post(&url, r#"{"backupId": 1}"#).await.status,
        200,
        "only the next call"
    );
    let got = s.get(&format!("{}/actuator/backups", s.opt())).await;
    assert_eq!(got.status, 500);
    assert_eq!(got.json["errorCode"], "serverError");
    let got = s
        .call(
            "PUT",
            &format!("{}/_snapshot/camunda/x", s.es()),
            Some("{}"),
        )
        .await;
    assert_eq!(got.status, 503);
    assert_eq!(got.json["status"], 503);
    assert_eq!(
        got.json["error"]["type"],
        "concurrent_snapshot_execution_exception"
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn latency_and_dropped_connections() {
    let yaml = "faults:\n  - component: orchestration\n    path: /actuator/health\n    latency_ms: 150\n    times: 1\n  - component: orchestration\n    path: /actuator/backupRuntime\n    drop_connection: true\n    times: 1\n";
    let s = sim(|c| c.scenario = Scenario::from_yaml_str(yaml).unwrap()).await;
    let t0 = Instant::now();
    assert_eq!(
        s.get(&format!("{}/actuator/health", s.orch())).await.status,
        200
    );
    assert!(t0.elapsed() >= Duration::from_millis(140));
    let err = s
        .http
        .get(format!("{}/actuator/backupRuntime", s.orch()))
        .send()
        .await;
    let dropped = match err {
        Err(_) => true,
        Ok(r) => r.text().await.is_err(),
    };
    assert!(dropped, "the connection was dropped");
    assert_eq!(
        s.get(&format!("{}/actuator/backupRuntime", s.orch()))
            .await
            .status,
        200
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn component_down_refuses_connections_until_up() {
    let s = sim(|_| {}).await;
    let health = format!("{}/actuator/health", s.opt());
    assert_eq!(s.get(&health).await.status, 200);
    s.post(&format!("{}/sim/components/optimize/down", s.ctl()), "")
        .await;
    // Under a loaded machine the gate's watchers can take a while: wait on the condition.
    poll("optimize is unreachable while down", || async {
        s.http.get(&health).send().await.is_err().then_some(())
    })
    .await;
    s.post(&format!("{}/sim/components/optimize/up", s.ctl()), "")
        .await;
    let status = poll("optimize accepts connections again", || async {
        s.http
            .get(&health)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    })
    .await;
    assert_eq!(status, 200, "optimize serves again");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn faults_can_be_added_at_run_time_and_requests_are_logged() {
    let s = sim(|_| {}).await;
    let got = s.post(&format!("{}/sim/faults", s.ctl()), "faults:\n  - component: orchestration\n    path: /actuator/backupRuntime/*\n    status: 504\n    times: 1\n").await;
    assert_eq!(got.status, 200);
    let got = s
        .get(&format!("{}/actuator/backupRuntime/5", s.orch()))
        .await;
    assert_eq!(got.status, 504);
    assert!(
        got.json["message"]
            .as_str()
            .unwrap()
            .starts_with("Request from gateway to broker timed out.")
    );
    assert_eq!(
        s.post(
            &format!("{}/sim/faults", s.ctl()),
            "faults: [{component: nope}]"
        )
        .await
        .status,
        400
    );
    let log = s.get(&format!("{}/sim/requests", s.ctl())).await.json;
    let last = log
        .as_array()
        .unwrap()
        .iter()
        .rfind(|r| r["component"] == "orchestration")
        .unwrap()
        .clone();
    assert_eq!(
        (
            last["component"].clone(),
            last["method"].clone(),
            last["path"].clone(),
            last["status"].clone()
        ),
        (
            json!("orchestration"),
            json!("GET"),
            json!("/actuator/backupRuntime/5"),
            json!(504)
        )
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn values_file_has_the_plan_keys() {
    let s = sim(|_| {}).await;
    let v = s.handle.values_yaml();
    let parsed: serde_json::Value = serde_saphyr::from_str(&v).unwrap();
    let keys: Vec<&str> = parsed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "camunda_version",
        "datastore",
        "orchestration_url",
        "optimize_url",
        "optimize_enabled",
        "datastore_url",
        "snapshot_repository",
        "namespace",
        "release",
        "kubeconfig",
        "kube_context",
        "sim_url",
        "port_forward",
        "index_prefix",
        "optimize_index_prefix",
        "record_prefix",
    ];
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    assert_eq!(parsed["port_forward"], false);
    assert_eq!(parsed["camunda_version"], "8.8.0");
    assert_eq!(parsed["snapshot_repository"], "camunda");
    assert!(!parsed["orchestration_url"].as_str().unwrap().ends_with('/'));
    s.handle.shutdown().await;
}

#[tokio::test]
async fn hanging_backups_stay_in_progress() {
    let yaml = "outcomes:\n  - component: zeebe\n    result: hang\n  - component: snapshot\n    result: hang\n    times: 1\n";
    let s = sim(|c| {
        c.scenario = Scenario::from_yaml_str(yaml).unwrap();
        c.scenario.config.schedule_404_ms = 0;
    })
    .await;
    let base = format!("{}/actuator/backupRuntime", s.orch());
    assert_eq!(s.post(&base, r#"{"backupId": 1}"#).await.status, 202);
    // Not synchronisation: an absence check. A fast backup (40 ms) would be COMPLETED by
    // now; a loaded machine only makes the check weaker, never wrong.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        s.get(&format!("{base}/1")).await.json["state"],
        "IN_PROGRESS"
    );
    // A snapshot with wait_for_completion never answers: the client's timeout ends the wait.
    let url = format!("{}/_snapshot/camunda/hang?wait_for_completion=true", s.es());
    let waited = s
        .http
        .put(&url)
        .header("content-type", "application/json")
        .body("{}")
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(waited.is_err(), "never completes");
    let st = s.get(&format!("{}/_snapshot/camunda/hang", s.es())).await;
    assert_eq!(st.json["snapshots"][0]["state"], "IN_PROGRESS");
    // The next snapshot is not affected (times: 1).
    let ok = s
        .call(
            "PUT",
            &format!("{}/_snapshot/camunda/next?wait_for_completion=true", s.es()),
            Some("{}"),
        )
        .await;
    assert_eq!(ok.json["snapshot"]["state"], "SUCCESS");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn control_state_and_unknown_component() {
    let s = sim(|c| c.optimize = false).await;
    assert!(s.handle.urls().optimize.is_none());
    let st = s.state().await;
    assert_eq!(st["camundaVersion"], "8.8.0");
    assert_eq!(st["exporting"], "running");
    assert_eq!(st["cluster"]["partitions"].as_array().unwrap().len(), 3);
    assert!(
        !st["indices"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("optimize"))
    );
    assert!(st["repositories"]["camunda"].is_object());
    assert_eq!(
        s.post(&format!("{}/sim/components/nope/down", s.ctl()), "")
            .await
            .status,
        404
    );
    assert!(!s.handle.values_yaml().contains("optimize_url"));
    assert!(s.handle.values_yaml().contains("optimize_enabled: false"));
    // Without Optimize the oracle does not expect its parts.
    let v = s
        .get(&format!("{}/sim/oracle/backups/1", s.ctl()))
        .await
        .json;
    assert!(!v["problems"].to_string().contains("optimize"));
    s.handle.shutdown().await;
}
