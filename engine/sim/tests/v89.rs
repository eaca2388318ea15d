//! Camunda 8.9: the Zeebe backup API deltas of shared/reference/camunda-8.9-8.10.md §2.2-2.3
//! (`backupId` in the 202 body, `DELETED`, explicit ids refused while continuous backups are on)
//! and the version the orchestration cluster reports.

use serde_json::json;

use super::common::sim;
use crate::CamundaVersion;

const REFUSED: &str = "Cannot take backup with predetermined backupId when continuous backups are enabled. Use POST actuator/backupRuntime without specifying a backupId.";

#[tokio::test]
async fn zeebe_202_body_carries_the_backup_id_and_info_says_8_9() {
    let s = sim(|c| c.camunda_version = CamundaVersion::V8_9).await;
    let orch = s.orch();
    assert_eq!(
        s.get(&format!("{orch}/actuator/info")).await.json["build"]["version"],
        "8.9.0"
    );
    let got = s
        .post(
            &format!("{orch}/actuator/backupRuntime"),
            r#"{"backupId": 31}"#,
        )
        .await;
    assert_eq!(got.status, 202, "{}", got.text);
    assert_eq!(got.json["backupId"], 31);
    assert_eq!(
        got.json["message"],
        "A backup with id 31 has been scheduled. Use GET actuator/backups/31 to monitor the status."
    );
    s.wait_state(&format!("{orch}/actuator/backupRuntime/31"), &["COMPLETED"])
        .await;
    // Without continuous backups an id is still required (C BackupEndpoint, §2.3).
    let got = s.post(&format!("{orch}/actuator/backupRuntime"), "").await;
    assert_eq!(got.status, 400);
    assert_eq!(
        got.json["message"],
        "A backupId must be provided and it must be > 0"
    );
}

#[tokio::test]
async fn continuous_backups_refuse_an_explicit_id_and_generate_one() {
    let s = sim(|c| {
        c.camunda_version = CamundaVersion::V8_9;
        c.scenario.config.continuous_backups = true;
    })
    .await;
    let orch = s.orch();
    let got = s
        .post(
            &format!("{orch}/actuator/backupRuntime"),
            r#"{"backupId": 32}"#,
        )
        .await;
    assert_eq!(
        (got.status, got.json["message"].clone()),
        (400, json!(REFUSED))
    );
    let got = s.post(&format!("{orch}/actuator/backupRuntime"), "").await;
    assert_eq!(got.status, 202, "{}", got.text);
    // Generated ids are epoch milliseconds (§6 #7).
    let id = got.json["backupId"].as_u64().expect("generated id");
    assert!(id > 1_700_000_000_000, "{id}");
    s.wait_state(
        &format!("{orch}/actuator/backupRuntime/{id}"),
        &["COMPLETED"],
    )
    .await;
}

#[tokio::test]
async fn a_backup_whose_partition_was_deleted_is_deleted() {
    let s = sim(|c| c.camunda_version = CamundaVersion::V8_9).await;
    let got = s
        .post(
            &format!("{}/sim/faults", s.ctl()),
            "outcomes:\n  - {component: zeebe, result: deleted, times: 1}\n",
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    let orch = s.orch();
    s.post(
        &format!("{orch}/actuator/backupRuntime"),
        r#"{"backupId": 33}"#,
    )
    .await;
    let got = s
        .wait_state(&format!("{orch}/actuator/backupRuntime/33"), &["DELETED"])
        .await;
    assert_eq!(got.json["details"][0]["state"], "DELETED", "{}", got.text);
}

#[tokio::test]
async fn eight_nine_features_are_refused_on_8_8() {
    let s = sim(|_| {}).await;
    let got = s
        .post(
            &format!("{}/sim/faults", s.ctl()),
            "outcomes:\n  - {component: zeebe, result: deleted}\n",
        )
        .await;
    assert_eq!(got.status, 400, "{}", got.text);
    assert!(got.text.contains("8.9"), "{}", got.text);
    let mut config = crate::SimConfig::default();
    config.scenario.config.continuous_backups = true;
    let err = crate::start(config).await.err().expect("refused");
    assert!(err.to_string().contains("8.9"), "{err}");
    // 8.8's 202 body has the message only (§6 #6).
    let got = s
        .post(
            &format!("{}/actuator/backupRuntime", s.orch()),
            r#"{"backupId": 34}"#,
        )
        .await;
    assert_eq!(got.status, 202);
    assert!(got.json.get("backupId").is_none(), "{}", got.text);
}
