//! Camunda 8.7: separate gateway, Operate, Tasklist.

use serde_json::json;

use super::common::sim;
use crate::CamundaVersion;

#[tokio::test]
async fn operate_tasklist_gateway_and_optimize_87() {
    let s = sim(|c| c.camunda_version = CamundaVersion::V8_7).await;
    let urls = s.handle.urls().clone();
    assert!(urls.orchestration.is_none());
    let (gw, op, tl) = (
        urls.gateway.unwrap(),
        urls.operate.unwrap(),
        urls.tasklist.unwrap(),
    );
    for base in [&gw, &op, &tl] {
        let h = s.get(&format!("{base}/actuator/health")).await;
        assert_eq!((h.status, h.json.clone()), (200, json!({"status": "UP"})));
    }
    assert_eq!(
        s.get(&format!("{op}/actuator/info")).await.json["build"]["version"],
        "8.7.2"
    );
    // Optimize's build adds no build-info (§7.9).
    assert_eq!(
        s.get(&format!("{}/actuator/info", s.opt())).await.json,
        json!({})
    );
    // The docs' base URLs end in `/`: `//actuator` must work.
    let got = s
        .post(&format!("{gw}//actuator/exporting/pause?soft=true"), "")
        .await;
    assert_eq!(got.json["status"], 204);
    for (base, app) in [(&op, "operate"), (&tl, "tasklist")] {
        let got = s
            .post(&format!("{base}/actuator/backups"), r#"{"backupId": 21}"#)
            .await;
        assert_eq!(got.status, 200);
        let names: Vec<String> = (1..=6)
            .map(|n| format!("camunda_{app}_21_8.7.2_part_{n}_of_6"))
            .collect();
        assert_eq!(got.json, json!({"scheduledSnapshots": names}));
    }
    let got = s
        .post(
            &format!("{}/actuator/backups", s.opt()),
            r#"{"backupId": 21}"#,
        )
        .await;
    assert_eq!(got.status, 202);
    for base in [&op, &tl] {
        s.wait_state(&format!("{base}/actuator/backups/21"), &["COMPLETED"])
            .await;
    }
    let o = s
        .wait_state(&format!("{}/actuator/backups/21", s.opt()), &["COMPLETED"])
        .await;
    assert_eq!(
        o.json["details"][0]["snapshotName"],
        "camunda_optimize_21_8.7.1_part_1_of_2"
    );
    let zr = s
        .call(
            "PUT",
            &format!(
                "{}/_snapshot/camunda/camunda_zeebe_records_backup_21?wait_for_completion=true",
                s.es()
            ),
            Some(r#"{"indices":"zeebe-record*","feature_states":["none"]}"#),
        )
        .await;
    assert_eq!(zr.json["snapshot"]["state"], "SUCCESS");
    let got = s
        .post(&format!("{gw}/actuator/backups"), r#"{"backupId": 21}"#)
        .await;
    assert_eq!(got.status, 202);
    let z = s
        .wait_state(&format!("{gw}/actuator/backups/21"), &["COMPLETED"])
        .await;
    assert_eq!(z.json["details"][0]["brokerVersion"], "8.7.2");
    assert_eq!(
        s.post(&format!("{gw}/actuator/backups"), r#"{"backupId": 20}"#)
            .await
            .status,
        409
    );
    // No prefix form below 8.8.
    assert_eq!(
        s.get(&format!("{gw}/actuator/backups/2*")).await.status,
        400
    );
    assert_eq!(
        s.post(&format!("{gw}/actuator/exporting/resume"), "")
            .await
            .json["status"],
        204
    );
    let v = s
        .get(&format!("{}/sim/oracle/backups/21", s.ctl()))
        .await
        .json;
    assert_eq!(v["coherent"], true, "{v:#}");
    // Orchestration-only paths do not exist on 8.7 components.
    assert_eq!(
        s.get(&format!("{gw}/actuator/backupRuntime")).await.status,
        404
    );
    let values = s.handle.values_yaml();
    assert!(
        values.contains("camunda_version: \"8.7.2\"")
            && values.contains("gateway_url:")
            && !values.contains("orchestration_url")
    );
    s.handle.shutdown().await;
}
