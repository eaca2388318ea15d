//! Camunda 8.10: the Orchestration Cluster REST API (`/v2`, bearer tokens from the simulated
//! identity provider), recovery mode and the Restore API of shared/reference/camunda-8.9-8.10.md
//! §2.5 and §4.3: every state a plan meets, including the refusals.

use serde_json::{Value, json};

use super::common::{Got, Sim, poll, sim};
use crate::faults::Scenario;
use crate::{CamundaVersion, SimConfig};

fn v810(c: &mut SimConfig) {
    c.camunda_version = CamundaVersion::V8_10;
}

impl Sim {
    fn rest(&self) -> String {
        self.handle.urls().rest.clone().expect("rest url")
    }

    /// A bearer token for the default client (`runbook` / `sim-client-secret`).
    async fn token(&self) -> String {
        let got = self.token_with("runbook", "sim-client-secret").await;
        assert_eq!(got.status, 200, "{}", got.text);
        assert_eq!(got.json["token_type"], "Bearer");
        got.json["access_token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    async fn token_with(&self, id: &str, secret: &str) -> Got {
        let url = self.handle.urls().token.clone().expect("token url");
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={id}&client_secret={secret}"
            ))
            .send()
            .await
            .expect("token request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Got { status, text, json }
    }

    /// A `/v2` call with `token` (none: no Authorization header).
    async fn v2(&self, method: &str, path: &str, body: Option<&str>, token: Option<&str>) -> Got {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, format!("{}/v2{path}", self.rest()));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.expect("body");
        let mut json = serde_json::from_str(&text).unwrap_or(Value::Null);
        if json.is_object() {
            json["_contentType"] = json!(ct);
        }
        Got { status, text, json }
    }

    /// Enters recovery mode and waits until the change completed (§4.3 A1, A2).
    async fn enter_recovery(&self, t: &str) {
        let got = self
            .v2("PATCH", "/mode?mode=RECOVERING", None, Some(t))
            .await;
        assert_eq!(got.status, 200, "{}", got.text);
        let change = got.json["changeId"].as_str().expect("changeId").to_string();
        self.change_done(&change, "COMPLETED").await;
    }

    /// Waits until `/actuator/cluster` has `change` as its last change, with `status`.
    async fn change_done(&self, change: &str, status: &str) -> Value {
        let url = format!("{}/actuator/cluster", self.orch());
        poll(&format!("change {change} {status}"), || async {
            let c = self.get(&url).await.json;
            let done = c["lastChange"]["id"]
                .as_u64()
                .map(|i| i.to_string())
                .as_deref()
                == Some(change)
                && c["lastChange"]["status"] == status
                && c.get("pendingChange").is_none();
            done.then_some(c)
        })
        .await
    }

    async fn take_backup(&self, id: u64) {
        let orch = self.orch();
        let got = self
            .post(
                &format!("{orch}/actuator/backupRuntime"),
                &format!(r#"{{"backupId": {id}}}"#),
            )
            .await;
        assert_eq!(got.status, 202, "{}", got.text);
        self.wait_state(
            &format!("{orch}/actuator/backupRuntime/{id}"),
            &["COMPLETED"],
        )
        .await;
    }

    async fn damage(&self) {
        let got = self.post(&format!("{}/sim/damage", self.ctl()), "{}").await;
        assert_eq!(got.status, 200);
    }

    fn partition_states(topology: &Value) -> Vec<(String, String)> {
        topology["brokers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|b| b["partitions"].as_array().cloned().unwrap_or_default())
            .map(|p| {
                (
                    p["state"].as_str().unwrap_or("").to_string(),
                    p["role"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn rest_api_needs_a_bearer_token_from_the_identity_provider() {
    let s = sim(v810).await;
    assert_eq!(
        s.get(&format!("{}/actuator/info", s.orch())).await.json["build"]["version"],
        "8.10.0"
    );
    for token in [None, Some("not-a-token")] {
        let got = s
            .v2("POST", "/exporting/pause?soft=true", None, token)
            .await;
        assert_eq!(got.status, 401, "{token:?}: {}", got.text);
        assert_eq!(got.json["_contentType"], "application/problem+json");
        assert_eq!(got.json["title"], "Unauthorized");
    }
    let got = s.token_with("runbook", "wrong").await;
    assert_eq!(
        (got.status, got.json["error"].clone()),
        (401, json!("invalid_client"))
    );
    // A 401 changed nothing.
    assert_eq!(s.state().await["exporting"], "running");
}

#[tokio::test]
async fn rest_backup_round_trip_with_the_spec_answers() {
    let s = sim(v810).await;
    let t = s.token().await;
    let t = Some(t.as_str());
    let got = s.v2("POST", "/exporting/pause?soft=true", None, t).await;
    assert_eq!(got.status, 204, "{}", got.text);
    assert_eq!(s.state().await["exporting"], "soft-paused");
    let got = s
        .v2("POST", "/backups/history", Some(r#"{"backupId": 40}"#), t)
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert!(got.json["scheduledSnapshots"].is_array(), "{}", got.text);
    let got = s
        .v2("POST", "/backups/runtime", Some(r#"{"backupId": 40}"#), t)
        .await;
    assert_eq!(got.status, 202, "{}", got.text);
    assert_eq!(got.json["backupId"], 40);
    assert!(got.json.get("message").is_none(), "{}", got.text);
    poll("runtime backup 40 COMPLETED", || async {
        let got = s.v2("GET", "/backups/runtime/40", None, t).await;
        (got.json["state"] == "COMPLETED").then_some(())
    })
    .await;
    poll("history backup 40 COMPLETED", || async {
        let got = s.v2("GET", "/backups/history/40", None, t).await;
        (got.json["state"] == "COMPLETED").then_some(())
    })
    .await;
    // The same (or a lower) id again: the spec's 409 text (§2.5).
    let got = s
        .v2("POST", "/backups/runtime", Some(r#"{"backupId": 40}"#), t)
        .await;
    assert_eq!(got.status, 409, "{}", got.text);
    assert_eq!(
        got.json["detail"],
        "A backup with the same or a higher id already exists."
    );
    assert_eq!(got.json["_contentType"], "application/problem+json");
    // Lists by prefix.
    let got = s.v2("GET", "/backups/runtime?prefix=4", None, t).await;
    assert_eq!(got.json[0]["backupId"], 40, "{}", got.text);
    let got = s.v2("GET", "/backups/runtime?prefix=5", None, t).await;
    assert_eq!(got.json, json!([]), "{}", got.text);
    let got = s
        .v2("GET", "/backups/history?prefix=4&verbose=false", None, t)
        .await;
    assert_eq!(got.json[0]["backupId"], 40, "{}", got.text);
    let got = s.v2("GET", "/backups/runtime/41", None, t).await;
    assert_eq!(got.status, 404);
    let got = s.v2("POST", "/exporting/resume", None, t).await;
    assert_eq!(got.status, 204);
    assert_eq!(s.state().await["exporting"], "running");
}

#[tokio::test]
async fn restore_api_restores_the_brokers_in_recovery_mode_then_processes() {
    let s = sim(v810).await;
    s.advance(20).await;
    s.take_backup(50).await;
    let at_backup = s
        .get(&format!("{}/actuator/backupRuntime/50", s.orch()))
        .await
        .json["details"][0]["checkpointPosition"]
        .as_u64()
        .unwrap();
    s.advance(30).await;
    s.damage().await;
    let token = s.token().await;
    let t = Some(token.as_str());
    // Not in recovery mode: 409 (§4.3 A5).
    let body = Some(r#"{"backupIds": [50]}"#);
    let got = s.v2("POST", "/restore", body, t).await;
    assert_eq!(got.status, 409, "{}", got.text);
    s.enter_recovery(&token).await;
    let topo = s.v2("GET", "/topology", None, t).await.json;
    let states = Sim::partition_states(&topo);
    assert!(!states.is_empty());
    assert!(
        states
            .iter()
            .all(|(s, r)| s == "recovering" && r == "inactive"),
        "{states:?}"
    );
    // Refusals: an unknown backup, two ids, a time range.
    for bad in [
        r#"{"backupIds": [999]}"#,
        r#"{"backupIds": [50, 51]}"#,
        r#"{"backupIds": [50], "to": "2026-01-01T00:00:00Z"}"#,
    ] {
        let got = s.v2("POST", "/restore", Some(bad), t).await;
        assert_eq!(got.status, 400, "{bad}: {}", got.text);
    }
    // A dry run plans but changes nothing.
    let got = s.v2("POST", "/restore?dryRun=true", body, t).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert!(
        s.get(&format!("{}/actuator/cluster", s.orch()))
            .await
            .json
            .get("pendingChange")
            .is_none()
    );
    let got = s.v2("POST", "/restore", body, t).await;
    assert_eq!(got.status, 202, "{}", got.text);
    let change = got.json["changeId"].as_str().unwrap().to_string();
    assert_eq!(
        got.json["plannedChanges"][0]["operations"][0]["operation"],
        "SchemaInitializationOperation"
    );
    // A mode change while the restore is pending is refused.
    let got = s.v2("PATCH", "/mode?mode=PROCESSING", None, t).await;
    assert_eq!(got.status, 409, "{}", got.text);
    let first = s.v2("GET", "/restore", None, t).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["changeId"], change.as_str());
    assert!(
        ["IN_PROGRESS", "COMPLETED"].contains(&first.json["status"].as_str().unwrap()),
        "{}",
        first.text
    );
    // Then 404 once finished (§4.3 A6); the cluster says the change completed.
    poll("GET /v2/restore turns 404", || async {
        (s.v2("GET", "/restore", None, t).await.status == 404).then_some(())
    })
    .await;
    s.change_done(&change, "COMPLETED").await;
    let state = s.state().await;
    assert_eq!(state["cluster"]["restoredFrom"], 50, "{}", state["cluster"]);
    assert_eq!(state["restoreApi"]["mode"], "PROCESSING");
    let topo = s.v2("GET", "/topology", None, t).await.json;
    assert!(
        Sim::partition_states(&topo)
            .iter()
            .all(|(s, _)| s == "active")
    );
    // The brokers restarted from the backup's position and process again.
    let pos = |v: &Value| v["cluster"]["partitions"][0]["position"].as_u64().unwrap();
    assert!(pos(&state) >= at_backup);
    let before = pos(&state);
    s.advance(5).await;
    assert!(pos(&s.state().await) > before);
}

#[tokio::test]
async fn a_failing_restore_reports_failed_and_is_cancelled_into_recovery_mode() {
    let s = sim(|c| {
        v810(c);
        c.scenario = Scenario::from_yaml_str(
            "outcomes:\n  - {component: zeebe-restore, result: failed, times: 1}\n",
        )
        .unwrap();
    })
    .await;
    s.take_backup(60).await;
    s.damage().await;
    let token = s.token().await;
    s.enter_recovery(&token).await;
    let t = Some(token.as_str());
    let got = s
        .v2("POST", "/restore", Some(r#"{"backupIds": [60]}"#), t)
        .await;
    assert_eq!(got.status, 202, "{}", got.text);
    let change = got.json["changeId"].as_str().unwrap().to_string();
    let failed = poll("restore FAILED", || async {
        let got = s.v2("GET", "/restore", None, t).await;
        (got.json["status"] == "FAILED").then_some(got.json)
    })
    .await;
    // The failing partition is retried (RESTORING), never RESTORED.
    let p1 = failed["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["partitions"].as_array().unwrap().clone())
        .find(|p| p["partitionId"] == 1)
        .unwrap();
    assert_eq!(p1["state"], "RESTORING", "{failed}");
    // An unknown change cannot be cancelled.
    let got = s
        .call(
            "DELETE",
            &format!("{}/actuator/cluster/changes/999", s.orch()),
            None,
        )
        .await;
    assert_eq!(got.status, 404);
    let got = s
        .call(
            "DELETE",
            &format!("{}/actuator/cluster/changes/{change}", s.orch()),
            None,
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    s.change_done(&change, "CANCELLED").await;
    let got = s.v2("GET", "/restore", None, t).await;
    assert!(
        got.status == 404 || got.json["status"] == "CANCELLED",
        "{}",
        got.text
    );
    let state = s.state().await;
    assert_eq!(state["restoreApi"]["mode"], "RECOVERING");
    assert!(state["cluster"]["restoredFrom"].is_null());
    // Still in recovery mode: a new restore goes through (the outcome was for one run).
    let got = s
        .v2("POST", "/restore", Some(r#"{"backupIds": [60]}"#), t)
        .await;
    assert_eq!(got.status, 202, "{}", got.text);
    let change = got.json["changeId"].as_str().unwrap().to_string();
    s.change_done(&change, "COMPLETED").await;
    assert_eq!(s.state().await["cluster"]["restoredFrom"], 60);
}

#[tokio::test]
async fn only_8_10_serves_the_rest_api_and_the_restore_outcome() {
    let s = sim(|c| c.camunda_version = CamundaVersion::V8_9).await;
    assert!(s.handle.urls().rest.is_none());
    assert!(s.handle.urls().token.is_none());
    let got = s.get(&format!("{}/actuator/cluster", s.orch())).await;
    assert_eq!(got.status, 404);
    drop(s);
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig {
        camunda_version: CamundaVersion::V8_9,
        state_dir: dir.path().to_path_buf(),
        scenario: Scenario::from_yaml_str(
            "outcomes:\n  - {component: zeebe-restore, result: failed}\n",
        )
        .unwrap(),
        ..SimConfig::default()
    };
    let err = crate::start(config).await.err().expect("refused");
    assert!(
        err.to_string().contains("needs --camunda-version 8.10"),
        "{err}"
    );
    assert!(
        Scenario::from_yaml_str("outcomes:\n  - {component: zeebe-restore, result: partial}\n")
            .is_err()
    );
}

/// The Restore API wrote the backup onto the running brokers' volumes: a later restart of the
/// StatefulSet (scale to 0 and back, with kubectl) keeps the restored cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_place_restore_survives_a_broker_restart() {
    use super::kube_flow::{Kubectl, eventually};
    let s = sim(|c| {
        v810(c);
        c.kubernetes = true;
    })
    .await;
    s.take_backup(70).await;
    s.damage().await;
    let token = s.token().await;
    s.enter_recovery(&token).await;
    let got = s
        .v2(
            "POST",
            "/restore",
            Some(r#"{"backupIds": [70]}"#),
            Some(&token),
        )
        .await;
    assert_eq!(got.status, 202, "{}", got.text);
    let change = got.json["changeId"].as_str().unwrap().to_string();
    s.change_done(&change, "COMPLETED").await;
    let k = Kubectl::new(&s);
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
        .await;
    eventually("brokers stopped", || async {
        s.state().await["brokersRunning"] == false
    })
    .await;
    k.ok(&["scale", "statefulset/camunda-zeebe", "--replicas=3"])
        .await;
    eventually("brokers running again", || async {
        s.state().await["brokersRunning"] == true
    })
    .await;
    let state = s.state().await;
    assert_eq!(state["cluster"]["restoredFrom"], 70, "{}", state["cluster"]);
    let verdict = s
        .get(&format!("{}/sim/oracle/restore/70", s.ctl()))
        .await
        .json;
    assert!(
        verdict["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p.as_str().unwrap_or("").contains("Zeebe")),
        "{verdict}"
    );
}
