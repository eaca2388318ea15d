//! Optimize `/actuator/backups`.

use serde_json::json;

use super::common::sim;

#[tokio::test]
async fn optimize_backup_lifecycle_and_errors() {
    let s = sim(|_| {}).await;
    let base = format!("{}/actuator/backups", s.opt());
    let got = s.post(&base, r#"{"backupId": 11}"#).await;
    assert_eq!(got.status, 202);
    assert_eq!(
        got.json,
        json!({"message":"Backup creation for ID 11 has been scheduled. Use the GET API to monitor completion of backup process"})
    );
    let done = s
        .wait_state(&format!("{base}/11"), &["COMPLETED", "FAILED"])
        .await;
    assert!(done.text.starts_with(r#"{"backupId":11,"failureReason":null,"state":"COMPLETED","details":[{"snapshotName":"camunda_optimize_11_8.8.0_part_1_of_2","state":"SUCCESS","startTime":""#), "{}", done.text);
    assert_eq!(
        done.json["details"][1]["snapshotName"],
        "camunda_optimize_11_8.8.0_part_2_of_2"
    );
    // Duplicate id → 409 with Optimize's error body.
    let dup = s.post(&base, r#"{"backupId": 11}"#).await;
    assert_eq!(dup.status, 409);
    assert_eq!(
        dup.json["detailedMessage"],
        "A backup with ID [11] already exists. Found snapshots: [camunda_optimize_11_8.8.0_part_1_of_2, camunda_optimize_11_8.8.0_part_2_of_2]"
    );
    assert!(
        dup.text
            .starts_with(r#"{"errorCode":"conflictError","errorMessage":""#)
    );
    let missing = s.get(&format!("{base}/3")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json["detailedMessage"],
        "No Optimize backup with ID [3] could be found."
    );
    assert_eq!(s.post(&base, r#"{"backupId": -1}"#).await.status, 400);
    s.post(&base, r#"{"backupId": 12}"#).await;
    // The list hides a just-scheduled backup during the 404 grace (reference §7.2).
    s.wait_state(&format!("{base}/12"), &["COMPLETED", "FAILED"])
        .await;
    let list = s.get(&base).await.json;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["backupId"], 12);
    assert_eq!(
        s.call("DELETE", &format!("{base}/11"), None).await.status,
        204
    );
    assert_eq!(s.get(&format!("{base}/11")).await.status, 404);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn optimize_failed_backup_and_unconfigured_repository() {
    let s = sim(|c| {
        c.scenario = crate::Scenario::from_yaml_str(
            "outcomes:\n  - component: optimize\n    result: failed\nconfig:\n  optimize_repository: true\n",
        )
        .unwrap()
    })
    .await;
    let base = format!("{}/actuator/backups", s.opt());
    s.post(&base, r#"{"backupId": 1}"#).await;
    let got = s
        .wait_state(&format!("{base}/1"), &["FAILED", "COMPLETED"])
        .await;
    assert_eq!(got.json["state"], "FAILED");
    assert_eq!(
        got.json["failureReason"],
        "The following snapshots failed: [camunda_optimize_1_8.8.0_part_1_of_2]"
    );
    s.handle.shutdown().await;
    let s = sim(|c| {
        c.scenario =
            crate::Scenario::from_yaml_str("config:\n  optimize_repository: false\n").unwrap()
    })
    .await;
    let got = s
        .post(
            &format!("{}/actuator/backups", s.opt()),
            r#"{"backupId": 1}"#,
        )
        .await;
    assert_eq!(got.status, 400);
    assert_eq!(
        got.json["detailedMessage"],
        "Cannot execute backup request because no Elasticsearch snapshot repository name found in Optimize configuration."
    );
    s.handle.shutdown().await;
}
