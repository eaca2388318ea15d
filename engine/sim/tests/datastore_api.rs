//! Elasticsearch / OpenSearch endpoints.

use serde_json::json;

use super::common::sim;
use crate::Datastore;

const ZR_BODY: &str = r#"{"indices": "zeebe-record*", "feature_states": ["none"]}"#;

#[tokio::test]
async fn cluster_info_reports_versions() {
    let s = sim(|_| {}).await;
    let got = s.get(&format!("{}/", s.es())).await;
    assert_eq!(got.json["version"]["number"], "8.17.0");
    assert!(got.json["version"].get("distribution").is_none());
    s.handle.shutdown().await;
    let s = sim(|c| c.datastore = Datastore::OpenSearch).await;
    let got = s.get(&format!("{}/", s.es())).await;
    assert_eq!(got.json["version"]["distribution"], "opensearch");
    assert_eq!(got.json["version"]["number"], "2.19.0");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn snapshot_create_with_and_without_wait() {
    let s = sim(|c| c.timing.snapshot_part_ms = 300).await;
    let url = format!(
        "{}/_snapshot/camunda/camunda_zeebe_records_backup_1?wait_for_completion=true",
        s.es()
    );
    let t0 = std::time::Instant::now();
    let got = s.call("PUT", &url, Some(ZR_BODY)).await;
    assert!(t0.elapsed().as_millis() >= 290, "waited for completion");
    assert_eq!(got.status, 200);
    assert_eq!(got.json["snapshot"]["state"], "SUCCESS");
    assert!(
        got.text
            .starts_with(r#"{"snapshot":{"snapshot":"camunda_zeebe_records_backup_1","uuid":""#)
    );
    assert_eq!(got.json["snapshot"]["repository"], "camunda");
    assert_eq!(got.json["snapshot"]["indices"].as_array().unwrap().len(), 3);
    assert_eq!(got.json["snapshot"]["shards"]["failed"], 0);
    assert_eq!(got.json["snapshot"]["feature_states"], json!([]));
    let got = s
        .call(
            "PUT",
            &format!("{}/_snapshot/camunda/snap2", s.es()),
            Some(ZR_BODY),
        )
        .await;
    assert_eq!(
        (got.status, got.json.clone()),
        (200, json!({"accepted": true}))
    );
    let st = s.get(&format!("{}/_snapshot/camunda/snap2", s.es())).await;
    assert_eq!(st.json["snapshots"][0]["state"], "IN_PROGRESS");
    assert!(st.json["snapshots"][0].get("end_time").is_none());
    s.handle.shutdown().await;
}

#[tokio::test]
async fn snapshot_errors_elasticsearch() {
    let s = sim(|_| {}).await;
    let url = format!("{}/_snapshot/camunda/s1?wait_for_completion=true", s.es());
    s.call("PUT", &url, Some(ZR_BODY)).await;
    let dup = s.call("PUT", &url, Some(ZR_BODY)).await;
    assert_eq!(dup.status, 400);
    assert_eq!(
        dup.json,
        json!({"error":{"root_cause":[{"type":"snapshot_name_already_in_use_exception","reason":"[camunda:s1] Invalid snapshot name [s1], snapshot with the same name already exists"}],"type":"snapshot_name_already_in_use_exception","reason":"[camunda:s1] Invalid snapshot name [s1], snapshot with the same name already exists"},"status":400})
    );
    let bad = s
        .call(
            "PUT",
            &format!("{}/_snapshot/camunda/Bad", s.es()),
            Some(ZR_BODY),
        )
        .await;
    assert_eq!(
        (bad.status, bad.json["error"]["type"].clone()),
        (400, json!("invalid_snapshot_name_exception"))
    );
    let norepo = s
        .call(
            "PUT",
            &format!("{}/_snapshot/nope/s", s.es()),
            Some(ZR_BODY),
        )
        .await;
    assert_eq!(norepo.status, 404);
    assert_eq!(norepo.json["error"]["reason"], "[nope] missing");
    assert_eq!(norepo.json["error"]["type"], "repository_missing_exception");
    let missing = s.get(&format!("{}/_snapshot/camunda/zzz", s.es())).await;
    assert_eq!(
        (missing.status, missing.json["error"]["reason"].clone()),
        (404, json!("[camunda:zzz] is missing"))
    );
    assert_eq!(missing.json["error"]["type"], "snapshot_missing_exception");
    assert_eq!(
        s.get(&format!("{}/_snapshot/camunda/zzz/_status", s.es()))
            .await
            .status,
        404
    );
    assert_eq!(
        s.call("DELETE", &format!("{}/_snapshot/camunda/zzz", s.es()), None)
            .await
            .status,
        404
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn opensearch_duplicate_name_and_snapshot_info() {
    let s = sim(|c| c.datastore = Datastore::OpenSearch).await;
    let url = format!("{}/_snapshot/camunda/s1?wait_for_completion=true", s.es());
    let got = s
        .call("PUT", &url, Some(r#"{"indices": "zeebe-record*"}"#))
        .await;
    let info = &got.json["snapshot"];
    assert!(info.get("repository").is_none() && info.get("feature_states").is_none());
    assert_eq!(info["remote_store_index_shallow_copy"], false);
    let dup = s.call("PUT", &url, Some(ZR_BODY)).await;
    assert_eq!(
        (dup.status, dup.json["error"]["type"].clone()),
        (400, json!("invalid_snapshot_name_exception"))
    );
    let list = s.get(&format!("{}/_snapshot/camunda/_all", s.es())).await;
    assert!(list.json.get("total").is_none());
    s.handle.shutdown().await;
}

#[tokio::test]
async fn snapshot_get_forms_status_and_delete() {
    let s = sim(|_| {}).await;
    for name in ["a_1", "a_12", "b_1"] {
        s.call(
            "PUT",
            &format!(
                "{}/_snapshot/camunda/{name}?wait_for_completion=true",
                s.es()
            ),
            Some(ZR_BODY),
        )
        .await;
    }
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["snapshot"].as_str().unwrap().to_string())
            .collect()
    };
    let one = s
        .get(&format!("{}/_snapshot/camunda/a_1", s.es()))
        .await
        .json;
    assert_eq!(names(&one), vec!["a_1"]);
    assert_eq!(
        (one["total"].clone(), one["remaining"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(
        names(
            &s.get(&format!("{}/_snapshot/camunda/a_1,b_1", s.es()))
                .await
                .json
        ),
        vec!["a_1", "b_1"]
    );
    assert_eq!(
        names(
            &s.get(&format!("{}/_snapshot/camunda/a_1*", s.es()))
                .await
                .json
        ),
        vec!["a_1", "a_12"]
    );
    assert_eq!(
        names(
            &s.get(&format!("{}/_snapshot/camunda/_all", s.es()))
                .await
                .json
        )
        .len(),
        3
    );
    let none = s.get(&format!("{}/_snapshot/camunda/zz_*", s.es())).await;
    assert_eq!(
        (none.status, none.json["snapshots"].clone()),
        (200, json!([]))
    );
    let st = s
        .get(&format!("{}/_snapshot/camunda/a_1/_status", s.es()))
        .await;
    assert_eq!(st.json["snapshots"][0]["state"], "SUCCESS");
    assert!(
        st.text
            .starts_with(r#"{"snapshots":[{"snapshot":"a_1","repository":"camunda","uuid":""#)
    );
    assert_eq!(st.json["snapshots"][0]["shards_stats"]["failed"], 0);
    let del = s
        .call("DELETE", &format!("{}/_snapshot/camunda/a_1", s.es()), None)
        .await;
    assert_eq!(
        (del.status, del.json.clone()),
        (200, json!({"acknowledged": true}))
    );
    assert_eq!(
        s.get(&format!("{}/_snapshot/camunda/a_1", s.es()))
            .await
            .status,
        404
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn repository_get_and_register() {
    let s = sim(|c| {
        c.scenario =
            crate::Scenario::from_yaml_str("config:\n  repository_registered: false\n").unwrap()
    })
    .await;
    let got = s.get(&format!("{}/_snapshot/camunda", s.es())).await;
    assert_eq!(
        (got.status, got.json["error"]["type"].clone()),
        (404, json!("repository_missing_exception"))
    );
    let put = s
        .call(
            "PUT",
            &format!("{}/_snapshot/camunda", s.es()),
            Some(r#"{"type":"fs","settings":{"location":"/backups"}}"#),
        )
        .await;
    assert_eq!(
        (put.status, put.json.clone()),
        (200, json!({"acknowledged": true}))
    );
    let got = s.get(&format!("{}/_snapshot/camunda", s.es())).await;
    assert_eq!(
        got.text,
        r#"{"camunda":{"type":"fs","settings":{"location":"/backups"}}}"#
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn restore_conflict_then_success() {
    let s = sim(|_| {}).await;
    let snap = "camunda_zeebe_records_backup_3";
    s.call(
        "PUT",
        &format!(
            "{}/_snapshot/camunda/{snap}?wait_for_completion=true",
            s.es()
        ),
        Some(ZR_BODY),
    )
    .await;
    let restore = format!(
        "{}/_snapshot/camunda/{snap}/_restore?wait_for_completion=true",
        s.es()
    );
    let got = s.call("POST", &restore, None).await;
    assert_eq!(got.status, 500);
    assert_eq!(got.json["error"]["type"], "snapshot_restore_exception");
    let reason = got.json["error"]["reason"].as_str().unwrap();
    assert!(reason.starts_with(&format!("[camunda:{snap}/")) && reason.contains("because an open index with same name already exists in the cluster. Either close or delete the existing index or restore the index under a different name by providing a rename pattern and replacement name"), "{reason}");
    // Delete the zeebe-record indices one by one, then restore.
    let names = s
        .get(&format!("{}/_cat/indices?h=index", s.es()))
        .await
        .text;
    for n in names.lines().filter(|n| n.starts_with("zeebe-record")) {
        let d = s.call("DELETE", &format!("{}/{n}", s.es()), None).await;
        assert_eq!(
            (d.status, d.json.clone()),
            (200, json!({"acknowledged": true}))
        );
    }
    let got = s.call("POST", &restore, None).await;
    assert_eq!(got.status, 200);
    assert!(got.text.starts_with(&format!(
        r#"{{"snapshot":{{"snapshot":"{snap}","indices":["#
    )));
    assert_eq!(got.json["snapshot"]["shards"]["failed"], 0);
    assert_eq!(got.json["snapshot"]["shards"]["total"], 3);
    s.handle.shutdown().await;
}

#[tokio::test]
async fn cat_indices_text_and_json() {
    let s = sim(|_| {}).await;
    let got = s.get(&format!("{}/_cat/indices?h=index", s.es())).await;
    assert_eq!(got.status, 200);
    assert!(got.text.ends_with('\n'));
    let names: Vec<&str> = got.text.lines().collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("zeebe-record_process-instance_8.8.0_"))
    );
    assert!(names.contains(&"operate-list-view-8.3.0_") && names.contains(&"camunda-user-8.8.0_"));
    assert!(names.iter().any(|n| n.starts_with("optimize-")));
    let js = s.get(&format!("{}/_cat/indices?format=json", s.es())).await;
    let row = &js.json[0];
    assert!(
        js.text
            .starts_with(r#"[{"health":"green","status":"open","index":"#)
    );
    assert!(row["docs.count"].is_string() && row.get("dataset.size").is_some());
    s.handle.shutdown().await;
    let s = sim(|c| c.datastore = Datastore::OpenSearch).await;
    let js = s.get(&format!("{}/_cat/indices?format=json", s.es())).await;
    assert!(js.json[0].get("dataset.size").is_none());
    s.handle.shutdown().await;
}

#[tokio::test]
async fn delete_index_rules_per_store() {
    let s = sim(|_| {}).await;
    let got = s.call("DELETE", &format!("{}/nope", s.es()), None).await;
    assert_eq!(got.status, 404);
    assert_eq!(got.json["error"]["type"], "index_not_found_exception");
    assert_eq!(got.json["error"]["reason"], "no such index [nope]");
    let got = s
        .call("DELETE", &format!("{}/operate-*", s.es()), None)
        .await;
    assert_eq!(got.status, 400);
    assert_eq!(
        got.json["error"]["reason"],
        "Wildcard expressions or all indices are not allowed"
    );
    s.handle.shutdown().await;
    let s = sim(|c| c.datastore = Datastore::OpenSearch).await;
    let got = s
        .call("DELETE", &format!("{}/operate-*", s.es()), None)
        .await;
    assert_eq!(
        (got.status, got.json.clone()),
        (200, json!({"acknowledged": true}))
    );
    let left = s
        .get(&format!("{}/_cat/indices?h=index", s.es()))
        .await
        .text;
    assert!(!left.lines().any(|n| n.starts_with("operate-")), "{left}");
    assert!(left.contains("prod2-operate-list-view-8.8.0_"), "{left}");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn index_templates_listed() {
    let s = sim(|_| {}).await;
    let got = s.get(&format!("{}/_index_template", s.es())).await;
    let names: Vec<&str> = got.json["index_templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for k in ["operate", "tasklist", "optimize", "zeebe"] {
        assert!(names.iter().any(|n| n.contains(k)), "{k}");
    }
    assert!(got.text.starts_with(r#"{"index_templates":[{"name":"operate-batch-operation-1.0.0_template","index_template":{"index_patterns""#));
    s.handle.shutdown().await;
}

#[tokio::test]
async fn empty_zeebe_record_snapshot_is_still_created() {
    let s = sim(|c| c.datastore = Datastore::OpenSearch).await;
    s.call("DELETE", &format!("{}/zeebe-record*", s.es()), None)
        .await;
    let got = s
        .call(
            "PUT",
            &format!(
                "{}/_snapshot/camunda/camunda_zeebe_records_backup_1?wait_for_completion=true",
                s.es()
            ),
            Some(r#"{"indices": "zeebe-record*"}"#),
        )
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json["snapshot"]["state"], "SUCCESS");
    assert_eq!(got.json["snapshot"]["indices"], json!([]));
    s.handle.shutdown().await;
}
