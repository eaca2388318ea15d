//! Long snapshot restores (the Camunda API reference §7.4): `wait_for_completion=true` holds
//! the connection for the whole restore; without it the answer comes at once, `_recovery` and
//! cluster health show progress, and a second `_restore` meets the open indices.

use std::time::Duration;

use serde_json::Value;

use super::common::{Sim, poll, sim};

const BODY: &str = r#"{"indices": "zeebe-record*", "feature_states": ["none"]}"#;

/// Takes a zeebe-record snapshot `name` and deletes the indices it holds.
async fn snapshot_then_delete(s: &Sim, name: &str) -> Vec<String> {
    let url = format!(
        "{}/_snapshot/camunda/{name}?wait_for_completion=true",
        s.es()
    );
    let got = s.call("PUT", &url, Some(BODY)).await;
    assert_eq!(got.json["snapshot"]["state"], "SUCCESS", "{}", got.text);
    let indices: Vec<String> = got.json["snapshot"]["indices"]
        .as_array()
        .expect("indices")
        .iter()
        .filter_map(|i| i.as_str().map(String::from))
        .collect();
    for i in &indices {
        let del = s.call("DELETE", &format!("{}/{i}", s.es()), None).await;
        assert_eq!(del.status, 200);
    }
    indices
}

fn stages(recovery: &Value) -> Vec<String> {
    recovery
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|v| v["shards"][0]["stage"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_restore_without_waiting_shows_progress_and_refuses_a_second_one() {
    let s = sim(|c| c.scenario.config.restore_ms = Some(60_000)).await;
    let name = "camunda_zeebe_records_backup_1";
    let indices = snapshot_then_delete(&s, name).await;
    let restore = format!("{}/_snapshot/camunda/{name}/_restore", s.es());
    let got = s.post(&restore, BODY).await;
    assert_eq!(
        (got.status, got.json["accepted"].clone()),
        (200, Value::Bool(true))
    );
    let rec = s
        .get(&format!(
            "{}/zeebe-record*/_recovery?active_only=true",
            s.es()
        ))
        .await;
    assert_eq!(stages(&rec.json).len(), indices.len(), "{}", rec.text);
    assert!(
        stages(&rec.json).iter().all(|st| st == "INDEX"),
        "{}",
        rec.text
    );
    assert_eq!(rec.json[&indices[0]]["shards"][0]["type"], "SNAPSHOT");
    assert_eq!(
        rec.json[&indices[0]]["shards"][0]["source"]["snapshot"],
        name
    );
    let health = s
        .get(&format!("{}/_cluster/health/zeebe-record*", s.es()))
        .await;
    assert_eq!(health.json["status"], "red", "{}", health.text);
    // The indices exist from the start, red: their names alone do not mean restored.
    let cat = s
        .get(&format!(
            "{}/_cat/indices/zeebe-record*?h=index,health",
            s.es()
        ))
        .await;
    assert!(cat.text.lines().count() == indices.len(), "{}", cat.text);
    assert!(cat.text.lines().all(|l| l.ends_with("red")), "{}", cat.text);
    // A restore verdict taken now sees the unfinished recovery.
    let verdict = s.get(&format!("{}/sim/oracle/restore/1", s.ctl())).await;
    assert!(
        verdict
            .text
            .contains(&format!("is still being restored from {name}")),
        "{}",
        verdict.text
    );
    // A retry that meets its own running restore.
    let again = s.post(&restore, BODY).await;
    assert_eq!(again.status, 500);
    assert_eq!(again.json["error"]["type"], "snapshot_restore_exception");
    assert!(
        again.json["error"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("open index with same name already exists"),
        "{}",
        again.text
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn recovery_ends_done_and_health_turns_green() {
    let s = sim(|c| c.scenario.config.restore_ms = Some(200)).await;
    let indices = snapshot_then_delete(&s, "short").await;
    let restore = format!("{}/_snapshot/camunda/short/_restore", s.es());
    assert_eq!(s.post(&restore, BODY).await.status, 200);
    poll("recovery finishes", || async {
        let rec = s.get(&format!("{}/zeebe-record*/_recovery", s.es())).await;
        let stages = stages(&rec.json);
        (stages.len() == indices.len() && stages.iter().all(|st| st == "DONE")).then_some(())
    })
    .await;
    let health = s
        .get(&format!("{}/_cluster/health/zeebe-record*", s.es()))
        .await;
    assert_eq!(health.json["status"], "green");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn wait_for_completion_holds_the_connection_while_restoring() {
    let s = sim(|c| c.scenario.config.restore_ms = Some(60_000)).await;
    snapshot_then_delete(&s, "held").await;
    let url = format!(
        "{}/_snapshot/camunda/held/_restore?wait_for_completion=true",
        s.es()
    );
    let client = s.http.clone();
    let call = tokio::spawn(async move {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(BODY)
            .timeout(Duration::from_secs(60))
            .send()
            .await
    });
    poll("the restore call is seen in flight", || async {
        let flight = s.get(&format!("{}/sim/in-flight", s.ctl())).await;
        flight.text.contains("held/_restore").then_some(())
    })
    .await;
    call.abort();
    s.handle.shutdown().await;
}

/// Outcome `restore: partial` (§7.4): the `_restore` answers 200 with a failed shard, its
/// first index stays red with its recovery stuck in INDEX, a second `_restore` meets it, and
/// only deleting it lets the snapshot restore again, green.
#[tokio::test]
async fn a_restore_with_a_failed_shard_leaves_a_red_index_until_deleted() {
    let s = sim(|c| {
        c.scenario.config.restore_ms = Some(50);
        c.scenario.outcomes.push(crate::faults::OutcomeRule {
            component: "restore".into(),
            result: crate::faults::Outcome::Partial,
            times: Some(1),
        });
    })
    .await;
    let name = "camunda_zeebe_records_backup_1";
    let indices = snapshot_then_delete(&s, name).await;
    let restore = format!(
        "{}/_snapshot/camunda/{name}/_restore?wait_for_completion=true",
        s.es()
    );
    let got = s.post(&restore, BODY).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["snapshot"]["shards"]["failed"], 1, "{}", got.text);
    // `wait_for_completion` answered once the restore ended: no waiting below.
    let health = s
        .get(&format!("{}/_cluster/health/zeebe-record*", s.es()))
        .await;
    assert_eq!(health.json["status"], "red", "{}", health.text);
    let rec = s.get(&format!("{}/zeebe-record*/_recovery", s.es())).await;
    let stuck = &rec.json[&indices[0]]["shards"][0];
    assert_eq!(
        (stuck["type"].as_str(), stuck["stage"].as_str()),
        (Some("SNAPSHOT"), Some("INDEX")),
        "{}",
        rec.text
    );
    assert_eq!(stuck["source"]["snapshot"], name);
    let verdict = s.get(&format!("{}/sim/oracle/restore/1", s.ctl())).await;
    assert!(
        verdict.text.contains("is still being restored"),
        "{}",
        verdict.text
    );
    assert_eq!(
        s.post(&restore, BODY).await.status,
        500,
        "meets its own red index"
    );
    for i in &indices {
        let del = s.call("DELETE", &format!("{}/{i}", s.es()), None).await;
        assert_eq!(del.status, 200);
    }
    let again = s.post(&restore, BODY).await;
    assert_eq!(
        again.json["snapshot"]["shards"]["failed"], 0,
        "{}",
        again.text
    );
    let health = s
        .get(&format!("{}/_cluster/health/zeebe-record*", s.es()))
        .await;
    assert_eq!(health.json["status"], "green", "{}", health.text);
    s.handle.shutdown().await;
}
