//! PARTIAL snapshots (the Camunda API reference §7.3): `_status` says SUCCESS, the snapshot
//! itself says PARTIAL with failed shards, and a retried PUT meets "already exists".

use super::common::sim;
use crate::Scenario;

#[tokio::test]
async fn a_partial_snapshot_looks_successful_only_in_status() {
    let yaml = "outcomes:\n  - {component: snapshot, result: partial, times: 1}\n";
    let s = sim(|c| c.scenario = Scenario::from_yaml_str(yaml).unwrap()).await;
    let snap = format!(
        "{}/_snapshot/camunda/camunda_zeebe_records_backup_1",
        s.es()
    );
    let body = r#"{"indices": "zeebe-record*", "feature_states": ["none"]}"#;
    let put = s
        .call(
            "PUT",
            &format!("{snap}?wait_for_completion=true"),
            Some(body),
        )
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(put.json["snapshot"]["state"], "PARTIAL", "{}", put.text);
    let status = s.get(&format!("{snap}/_status")).await;
    assert_eq!(
        status.json["snapshots"][0]["state"], "SUCCESS",
        "{}",
        status.text
    );
    let info = s.get(&snap).await;
    assert_eq!(info.json["snapshots"][0]["state"], "PARTIAL");
    assert!(
        info.json["snapshots"][0]["shards"]["failed"]
            .as_u64()
            .unwrap()
            > 0
    );
    let retry = s.call("PUT", &snap, Some(body)).await;
    assert_eq!(retry.status, 400);
    assert_eq!(
        retry.json["error"]["type"],
        "snapshot_name_already_in_use_exception"
    );
    s.handle.shutdown().await;
}
