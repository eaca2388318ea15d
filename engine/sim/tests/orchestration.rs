//! 8.8 orchestration management API: health, exporting, backupHistory, backupRuntime.

use serde_json::json;

use super::common::sim;

#[tokio::test]
async fn health_and_info() {
    let s = sim(|_| {}).await;
    let got = s.get(&format!("{}/actuator/health", s.orch())).await;
    assert_eq!(
        (got.status, got.json.clone()),
        (200, json!({"status":"UP"}))
    );
    let got = s.get(&format!("{}/actuator/info", s.orch())).await;
    assert_eq!(got.json["build"]["version"], "8.8.0");
    let got = s.get(&format!("{}/actuator/health", s.opt())).await;
    assert_eq!(got.status, 200);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn exporting_soft_pause_and_resume_answer_the_88_wrapper() {
    let s = sim(|_| {}).await;
    let got = s
        .post(
            &format!("{}/actuator/exporting/pause?soft=true", s.orch()),
            "",
        )
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.text, r#"{"body":null,"status":204,"contentType":null}"#);
    let ex = s.get(&format!("{}/sim/exporting", s.ctl())).await.json;
    assert_eq!(
        (ex["paused"].clone(), ex["mode"].clone()),
        (json!(true), json!("soft-paused"))
    );
    let got = s
        .post(&format!("{}/actuator/exporting/resume", s.orch()), "")
        .await;
    assert_eq!(got.text, r#"{"body":null,"status":204,"contentType":null}"#);
    let ex = s.get(&format!("{}/sim/exporting", s.ctl())).await.json;
    assert_eq!(ex["paused"], false);
    let got = s
        .post(&format!("{}/actuator/exporting/pause", s.orch()), "")
        .await;
    assert_eq!(got.json["status"], 204);
    let ex = s.get(&format!("{}/sim/exporting", s.ctl())).await.json;
    assert_eq!(ex["mode"], "hard-paused");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn exporting_plain_204_option_and_unknown_operation() {
    let s = sim(|c| c.exporting_plain_204 = true).await;
    let got = s
        .post(
            &format!("{}/actuator/exporting/pause?soft=true", s.orch()),
            "",
        )
        .await;
    assert_eq!((got.status, got.text.as_str()), (204, ""));
    let got = s
        .post(&format!("{}/actuator/exporting/bogus", s.orch()), "")
        .await;
    assert_eq!(got.status, 500);
    s.handle.shutdown().await;
    let s = sim(|_| {}).await;
    let got = s
        .post(&format!("{}/actuator/exporting/bogus", s.orch()), "")
        .await;
    assert_eq!((got.status, got.json["status"].clone()), (200, json!(500)));
    s.handle.shutdown().await;
}

#[tokio::test]
async fn exporting_failures_answer_inner_500_then_succeed() {
    let s = sim(|c| {
        c.scenario = crate::Scenario::from_yaml_str("exporting:\n  pause_failures: 2\n").unwrap()
    })
    .await;
    let url = format!("{}/actuator/exporting/pause?soft=true", s.orch());
    for _ in 0..2 {
        let got = s.post(&url, "").await;
        assert_eq!(got.status, 200);
        assert_eq!(got.json["status"], 500);
        assert!(
            got.json["body"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Expected 3 members of partition 1 but found 2")
        );
        assert_eq!(got.json["contentType"], serde_json::Value::Null);
    }
    assert_eq!(s.post(&url, "").await.json["status"], 204);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn soft_pause_keeps_exporting_but_freezes_exporter_position() {
    let s = sim(|c| c.timing.records_per_tick = 0).await;
    s.advance(10).await;
    let before = s.state().await;
    let e0 = before["cluster"]["partitions"][0]["exporterPosition"]
        .as_u64()
        .unwrap();
    assert_eq!(e0, 10);
    s.post(
        &format!("{}/actuator/exporting/pause?soft=true", s.orch()),
        "",
    )
    .await;
    s.advance(10).await;
    let st = s.state().await;
    let p = &st["cluster"]["partitions"][0];
    assert_eq!(p["position"], 20);
    assert_eq!(p["exported"], 20, "soft pause keeps exporting");
    assert_eq!(p["exporterPosition"], 10, "but E does not advance");
    let zr = st["indices"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("zeebe-record"))
        .unwrap()
        .1;
    assert_eq!(zr["positions"][0], 20);
    // Hard pause: nothing exported.
    s.post(&format!("{}/actuator/exporting/pause", s.orch()), "")
        .await;
    s.advance(10).await;
    let p = s.state().await["cluster"]["partitions"][0].clone();
    assert_eq!(
        (p["position"].as_u64(), p["exported"].as_u64()),
        (Some(30), Some(20))
    );
    // Resume: E catches up.
    s.post(&format!("{}/actuator/exporting/resume", s.orch()), "")
        .await;
    s.advance(0).await;
    let p = s.state().await["cluster"]["partitions"][0].clone();
    assert_eq!(
        (p["exported"].as_u64(), p["exporterPosition"].as_u64()),
        (Some(30), Some(30))
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn backup_history_create_poll_list_delete() {
    // Long enough parts that the first poll surely sees the backup running.
    let s = sim(|c| {
        c.timing.snapshot_part_ms = 100;
        c.scenario.config.schedule_404_ms = 0;
    })
    .await;
    let base = format!("{}/actuator/backupHistory", s.orch());
    let got = s.post(&base, r#"{"backupId": 7}"#).await;
    assert_eq!(got.status, 200);
    let names: Vec<String> = (1..=5)
        .map(|n| format!("camunda_webapps_7_8.8.0_part_{n}_of_5"))
        .collect();
    assert_eq!(got.json, json!({"scheduledSnapshots": names}));
    // Parts run one after the other: early on, at most one is IN_PROGRESS.
    let early = s.get(&format!("{base}/7")).await;
    assert_eq!(early.json["state"], "IN_PROGRESS");
    let running = early.json["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "IN_PROGRESS")
        .count();
    assert!(running <= 1);
    let done = s
        .wait_state(&format!("{base}/7"), &["COMPLETED", "FAILED"])
        .await;
    assert_eq!(done.json["state"], "COMPLETED");
    assert!(done.text.starts_with(r#"{"backupId":7,"state":"COMPLETED","failureReason":null,"details":[{"snapshotName":"camunda_webapps_7_8.8.0_part_1_of_5","state":"SUCCESS","startTime":""#), "{}", done.text);
    assert_eq!(done.json["details"].as_array().unwrap().len(), 5);
    assert_eq!(done.json["details"][0]["failures"], json!([]));
    // Second backup, then the list is newest first.
    s.post(&base, r#"{"backupId": "9"}"#).await;
    s.wait_state(&format!("{base}/9"), &["COMPLETED"]).await;
    let list = s.get(&base).await;
    assert_eq!(
        list.json
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["backupId"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![9, 7]
    );
    assert_eq!(
        s.get(&format!("{base}?verbose=false"))
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Delete.
    let del = s.call("DELETE", &format!("{base}/7"), None).await;
    assert_eq!((del.status, del.text.as_str()), (204, ""));
    let gone = s.get(&format!("{base}/7")).await;
    assert_eq!(
        (gone.status, gone.json.clone()),
        (404, json!({"message":"No backup with id [7] found."}))
    );
    let del = s.call("DELETE", &format!("{base}/7"), None).await;
    assert_eq!(
        del.json,
        json!({"message":"Expected to find backup with ID '7', but no metadata for it found"})
    );
    assert_eq!(del.status, 404);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn backup_history_errors() {
    // Parts take long: only part 1 exists while the errors are checked.
    let s = sim(|c| c.timing.snapshot_part_ms = 3_000).await;
    let base = format!("{}/actuator/backupHistory", s.orch());
    for (body, raw) in [(r#"{"backupId": 0}"#, "0"), (r#"{"backupId": -4}"#, "-4")] {
        let got = s.post(&base, body).await;
        assert_eq!(got.status, 400);
        assert_eq!(
            got.json["message"],
            format!("BackupId must be a non-negative Integer. Received value: {raw}")
        );
    }
    assert_eq!(s.post(&base, r#"{"backupId": 5}"#).await.status, 200);
    // Same id again: duplicate (400) with the snapshot names found.
    let dup = s.post(&base, r#"{"backupId": 5}"#).await;
    assert_eq!(dup.status, 400);
    assert_eq!(
        dup.json["message"],
        "A backup with ID [5] already exists. Found snapshots: [camunda_webapps_5_8.8.0_part_1_of_5]"
    );
    // Another id while 5 runs.
    let busy = s.post(&base, r#"{"backupId": 6}"#).await;
    assert_eq!(
        (busy.status, busy.json.clone()),
        (
            400,
            json!({"message":"Another backup is running at the moment"})
        )
    );
    let bad = s.get(&format!("{base}/abc")).await;
    assert_eq!(bad.status, 400);
    let missing = s.get(&format!("{base}/4242")).await;
    assert_eq!(
        (missing.status, missing.json.clone()),
        (404, json!({"message":"No backup with id [4242] found."}))
    );
    // Repository missing in ES → 404.
    assert_eq!(
        s.call("DELETE", &format!("{}/_snapshot/camunda", s.es()), None)
            .await
            .status,
        200
    );
    let norepo = s.post(&base, r#"{"backupId": 8}"#).await;
    assert_eq!(
        (norepo.status, norepo.json.clone()),
        (
            404,
            json!({"message":"No repository with name [camunda] could be found."})
        )
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn backup_history_without_configured_repository() {
    let s = sim(|c| {
        c.scenario =
            crate::Scenario::from_yaml_str("config:\n  webapps_repository: false\n").unwrap()
    })
    .await;
    let got = s
        .post(
            &format!("{}/actuator/backupHistory", s.orch()),
            r#"{"backupId": 1}"#,
        )
        .await;
    assert_eq!(
        (got.status, got.json.clone()),
        (400, json!({"message":"No backup repository configured."}))
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn backup_history_failed_and_incomplete_states() {
    let s = sim(|c| {
        c.scenario = crate::Scenario::from_yaml_str(
            "outcomes:\n  - component: webapps\n    result: failed\n    times: 1\n",
        )
        .unwrap()
    })
    .await;
    let base = format!("{}/actuator/backupHistory", s.orch());
    s.post(&base, r#"{"backupId": 1}"#).await;
    let got = s
        .wait_state(&format!("{base}/1"), &["FAILED", "COMPLETED"])
        .await;
    assert_eq!(got.json["state"], "FAILED");
    assert_eq!(
        got.json["failureReason"],
        "There were failures with the following snapshots: camunda_webapps_1_8.8.0_part_1_of_5"
    );
    // A completed backup whose part 3 was deleted: IN_PROGRESS until the timeout, then INCOMPLETE.
    s.post(&base, r#"{"backupId": 2}"#).await;
    s.wait_state(&format!("{base}/2"), &["COMPLETED"]).await;
    let del = s
        .call(
            "DELETE",
            &format!(
                "{}/_snapshot/camunda/camunda_webapps_2_8.8.0_part_3_of_5",
                s.es()
            ),
            None,
        )
        .await;
    assert_eq!(del.status, 200);
    let got = s.wait_state(&format!("{base}/2"), &["INCOMPLETE"]).await;
    assert_eq!(got.json["details"].as_array().unwrap().len(), 4);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn backup_runtime_create_poll_and_id_rules() {
    let s = sim(|_| {}).await;
    let base = format!("{}/actuator/backupRuntime", s.orch());
    let got = s.post(&base, r#"{"backupId": 100}"#).await;
    assert_eq!(got.status, 202);
    assert_eq!(
        got.json,
        json!({"message":"A backup with id 100 has been scheduled. Use GET actuator/backups/100 to monitor the status."})
    );
    let done = s
        .wait_state(&format!("{base}/100"), &["COMPLETED", "FAILED"])
        .await;
    assert_eq!(done.json["state"], "COMPLETED");
    assert!(done.text.starts_with(r#"{"backupId":100,"state":"COMPLETED","details":[{"partitionId":1,"state":"COMPLETED","createdAt":""#), "{}", done.text);
    let d0 = &done.json["details"][0];
    for k in [
        "lastUpdatedAt",
        "checkpointPosition",
        "snapshotId",
        "brokerVersion",
    ] {
        assert!(d0.get(k).is_some(), "missing {k}");
    }
    assert_eq!(d0["brokerVersion"], "8.8.0");
    assert_eq!(done.json["details"].as_array().unwrap().len(), 3);
    assert!(d0["createdAt"].as_str().unwrap().ends_with("000000Z"));
    // Same or lower id → 409.
    for id in [100, 50] {
        let got = s.post(&base, &format!(r#"{{"backupId": {id}}}"#)).await;
        assert_eq!(got.status, 409);
        assert!(got.json["message"].as_str().unwrap().starts_with(&format!(
            "Requested backup has id {id}. The latest backup has id 100."
        )));
    }
    // Invalid ids.
    for body in [r#"{"backupId": 0}"#, r#"{"backupId": "x"}"#, "{}"] {
        let got = s.post(&base, body).await;
        assert_eq!(
            (got.status, got.json.clone()),
            (
                400,
                json!({"message":"A backupId must be provided and it must be > 0"})
            )
        );
    }
    // Digit string accepted.
    assert_eq!(s.post(&base, r#"{"backupId": "101"}"#).await.status, 202);
    assert_eq!(s.post(&base, r#"{"backupId": 110}"#).await.status, 202);
    // Unknown id.
    let got = s.get(&format!("{base}/99")).await;
    assert_eq!(
        (got.status, got.json.clone()),
        (404, json!({"message":"Backup with id 99 does not exist"}))
    );
    // List, prefix list, bad args.
    s.wait_state(&format!("{base}/110"), &["COMPLETED"]).await;
    let list = s.get(&base).await.json;
    let ids: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["backupId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![110, 101, 100]);
    assert_eq!(list[0]["details"][0].as_object().unwrap().keys().len(), 4);
    let pref = s.get(&format!("{base}/10*")).await.json;
    let ids: Vec<u64> = pref
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["backupId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![101, 100]);
    let got = s.get(&format!("{base}/abc")).await;
    assert_eq!(
        (got.status, got.json.clone()),
        (
            400,
            json!({"message":"Expected a backup ID or prefix ending with '*', but got 'abc'."})
        )
    );
    let got = s.get(&format!("{base}/1/2")).await;
    assert_eq!(
        (got.status, got.json.clone()),
        (400, json!({"message":"Invalid arguments provided."}))
    );
    // Delete: 204, also for unknown ids; the id stays used.
    assert_eq!(
        s.call("DELETE", &format!("{base}/110"), None).await.status,
        204
    );
    assert_eq!(
        s.call("DELETE", &format!("{base}/12345"), None)
            .await
            .status,
        204
    );
    assert_eq!(s.get(&format!("{base}/110")).await.status, 404);
    assert_eq!(s.post(&base, r#"{"backupId": 110}"#).await.status, 409);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn double_slashes_are_normalised() {
    let s = sim(|_| {}).await;
    let got = s
        .get(&format!("{}//actuator//backupRuntime", s.orch()))
        .await;
    assert_eq!((got.status, got.json.clone()), (200, json!([])));
    s.handle.shutdown().await;
}

#[tokio::test]
async fn context_path_prefixes_management_paths() {
    let s = sim(|c| c.context_path = Some("/example".into())).await;
    assert!(s.orch().ends_with("/example"));
    let got = s.get(&format!("{}/actuator/backupRuntime", s.orch())).await;
    assert_eq!((got.status, got.json.clone()), (200, json!([])));
    let bare = s.orch().trim_end_matches("/example").to_string();
    assert_eq!(
        s.get(&format!("{bare}/actuator/backupRuntime"))
            .await
            .status,
        404
    );
    // Optimize never gets a context path.
    assert_eq!(
        s.get(&format!("{}/actuator/backups", s.opt())).await.status,
        200
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn exporting_history_records_the_paused_window() {
    let s = sim(|_| {}).await;
    s.post(
        &format!("{}/actuator/exporting/pause?soft=true", s.orch()),
        "",
    )
    .await;
    s.post(&format!("{}/actuator/exporting/resume", s.orch()), "")
        .await;
    let ex = s.get(&format!("{}/sim/exporting", s.ctl())).await.json;
    let modes: Vec<&str> = ex["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, vec!["soft-paused", "running"]);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn backup_history_needs_its_indices() {
    let s = sim(|_| {}).await;
    s.post(&format!("{}/sim/damage", s.ctl()), "").await;
    let got = s
        .post(
            &format!("{}/actuator/backupHistory", s.orch()),
            r#"{"backupId": 1}"#,
        )
        .await;
    assert_eq!(got.status, 500);
    assert!(
        got.json["message"]
            .as_str()
            .unwrap()
            .starts_with("Missing required indices: [operate-")
    );
    // Broker data is gone too: the Zeebe backup cannot be taken.
    let got = s
        .post(
            &format!("{}/actuator/backupRuntime", s.orch()),
            r#"{"backupId": 1}"#,
        )
        .await;
    assert_eq!(got.status, 502);
    s.handle.shutdown().await;
}
