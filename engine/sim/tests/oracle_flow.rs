//! The consistency oracle: the documented order is coherent, wrong orders are not; a full
//! backup → damage → restore round trip is judged equal to the backup.

use serde_json::Value;

use super::common::{Sim, sim};

async fn pause(s: &Sim) {
    let got = s
        .post(
            &format!("{}/actuator/exporting/pause?soft=true", s.orch()),
            "",
        )
        .await;
    assert_eq!(got.json["status"], 204);
}

async fn resume(s: &Sim) {
    let got = s
        .post(&format!("{}/actuator/exporting/resume", s.orch()), "")
        .await;
    assert_eq!(got.json["status"], 204);
}

async fn index_backups(s: &Sim, id: u64) {
    let body = format!(r#"{{"backupId": {id}}}"#);
    assert_eq!(
        s.post(&format!("{}/actuator/backupHistory", s.orch()), &body)
            .await
            .status,
        200
    );
    assert_eq!(
        s.post(&format!("{}/actuator/backups", s.opt()), &body)
            .await
            .status,
        202
    );
    s.wait_state(
        &format!("{}/actuator/backupHistory/{id}", s.orch()),
        &["COMPLETED"],
    )
    .await;
    s.wait_state(
        &format!("{}/actuator/backups/{id}", s.opt()),
        &["COMPLETED"],
    )
    .await;
    let url = format!(
        "{}/_snapshot/camunda/camunda_zeebe_records_backup_{id}?wait_for_completion=true",
        s.es()
    );
    let got = s
        .call(
            "PUT",
            &url,
            Some(r#"{"indices": "zeebe-record*", "feature_states": ["none"]}"#),
        )
        .await;
    assert_eq!(got.json["snapshot"]["state"], "SUCCESS");
}

async fn zeebe_backup(s: &Sim, id: u64) {
    let got = s
        .post(
            &format!("{}/actuator/backupRuntime", s.orch()),
            &format!(r#"{{"backupId": {id}}}"#),
        )
        .await;
    assert_eq!(got.status, 202);
    s.wait_state(
        &format!("{}/actuator/backupRuntime/{id}", s.orch()),
        &["COMPLETED"],
    )
    .await;
}

async fn verdict(s: &Sim, id: u64) -> Value {
    s.get(&format!("{}/sim/oracle/backups/{id}", s.ctl()))
        .await
        .json
}

#[tokio::test]
async fn documented_order_is_coherent() {
    let s = sim(|_| {}).await;
    s.advance(50).await;
    pause(&s).await;
    index_backups(&s, 1).await;
    zeebe_backup(&s, 1).await;
    resume(&s).await;
    let v = verdict(&s, 1).await;
    assert_eq!(v["coherent"], true, "{v:#}");
    assert_eq!(v["backupId"], 1);
    assert_eq!(v["exporting"], "running");
    assert!(v["parts"]["camunda_webapps_1_8.8.0_part_5_of_5"].is_object());
    assert!(v["parts"]["zeebe"].is_object());
    // The request log shows the paused window around the backups.
    let log = s.get(&format!("{}/sim/requests", s.ctl())).await.json;
    let paths: Vec<String> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    let at = |p: &str| {
        paths
            .iter()
            .position(|x| x.starts_with(p))
            .unwrap_or_else(|| panic!("{p} in {paths:?}"))
    };
    assert!(at("POST /actuator/exporting/pause") < at("POST /actuator/backupHistory"));
    assert!(at("POST /actuator/backupRuntime") < at("POST /actuator/exporting/resume"));
    s.handle.shutdown().await;
}

#[tokio::test]
async fn index_backup_before_pause_is_incoherent() {
    let s = sim(|_| {}).await;
    s.advance(50).await;
    index_backups(&s, 2).await;
    s.advance(50).await;
    pause(&s).await;
    zeebe_backup(&s, 2).await;
    resume(&s).await;
    let v = verdict(&s, 2).await;
    assert_eq!(v["coherent"], false);
    let problems = v["problems"].to_string();
    assert!(problems.contains("< exporter position E="), "{problems}");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn zeebe_backup_after_resume_is_incoherent() {
    let s = sim(|_| {}).await;
    s.advance(50).await;
    pause(&s).await;
    index_backups(&s, 3).await;
    resume(&s).await;
    s.advance(50).await;
    zeebe_backup(&s, 3).await;
    let v = verdict(&s, 3).await;
    assert_eq!(v["coherent"], false);
    assert!(v["problems"].to_string().contains("< exporter position E="));
    s.handle.shutdown().await;
}

#[tokio::test]
async fn zeebe_backup_before_index_backups_is_incoherent() {
    let s = sim(|_| {}).await;
    s.advance(50).await;
    pause(&s).await;
    zeebe_backup(&s, 4).await;
    s.advance(50).await;
    index_backups(&s, 4).await;
    resume(&s).await;
    let v = verdict(&s, 4).await;
    assert_eq!(v["coherent"], false);
    assert!(
        v["problems"]
            .to_string()
            .contains("> checkpoint position C=")
    );
    // A missing part is reported too.
    let v = verdict(&s, 99).await;
    assert_eq!(v["coherent"], false);
    assert!(
        v["problems"]
            .to_string()
            .contains("no Zeebe backup with id 99")
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn restore_round_trip_equals_backup() {
    let s = sim(|_| {}).await;
    s.advance(40).await;
    pause(&s).await;
    index_backups(&s, 5).await;
    zeebe_backup(&s, 5).await;
    resume(&s).await;
    s.advance(40).await;
    // Disaster.
    let dmg = s.post(&format!("{}/sim/damage", s.ctl()), "").await;
    assert!(!dmg.json["deletedIndices"].as_array().unwrap().is_empty());
    let before = s
        .get(&format!("{}/sim/oracle/restore/5", s.ctl()))
        .await
        .json;
    assert_eq!(before["restored"], false);
    // Restore every snapshot of the set, then Zeebe.
    let all = s
        .get(&format!("{}/_snapshot/camunda/_all", s.es()))
        .await
        .json;
    for snap in all["snapshots"].as_array().unwrap() {
        let name = snap["snapshot"].as_str().unwrap();
        let got = s
            .call(
                "POST",
                &format!(
                    "{}/_snapshot/camunda/{name}/_restore?wait_for_completion=true",
                    s.es()
                ),
                None,
            )
            .await;
        assert_eq!(got.status, 200, "{name}: {}", got.text);
        assert_eq!(got.json["snapshot"]["shards"]["failed"], 0);
    }
    let got = s
        .post(&format!("{}/sim/zeebe/restore/5", s.ctl()), "")
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    let after = s
        .get(&format!("{}/sim/oracle/restore/5", s.ctl()))
        .await
        .json;
    assert_eq!(after["restored"], true, "{after:#}");
    // Zeebe runs again and re-exports.
    s.advance(5).await;
    let after = s
        .get(&format!("{}/sim/oracle/restore/5", s.ctl()))
        .await
        .json;
    assert_eq!(after["restored"], true, "{after:#}");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn documented_order_is_coherent_on_opensearch_without_optimize() {
    let s = sim(|c| {
        c.datastore = crate::Datastore::OpenSearch;
        c.optimize = false;
    })
    .await;
    s.advance(20).await;
    pause(&s).await;
    let body = r#"{"backupId": 8}"#;
    assert_eq!(
        s.post(&format!("{}/actuator/backupHistory", s.orch()), body)
            .await
            .status,
        200
    );
    s.wait_state(
        &format!("{}/actuator/backupHistory/8", s.orch()),
        &["COMPLETED"],
    )
    .await;
    let url = format!(
        "{}/_snapshot/camunda/camunda_zeebe_records_backup_8?wait_for_completion=true",
        s.es()
    );
    let got = s
        .call("PUT", &url, Some(r#"{"indices": "zeebe-record*"}"#))
        .await;
    assert_eq!(got.json["snapshot"]["state"], "SUCCESS");
    let st = s
        .get(&format!(
            "{}/_snapshot/camunda/camunda_zeebe_records_backup_8/_status",
            s.es()
        ))
        .await;
    assert_eq!(st.json["snapshots"][0]["state"], "SUCCESS");
    zeebe_backup(&s, 8).await;
    resume(&s).await;
    let v = verdict(&s, 8).await;
    assert_eq!(v["coherent"], true, "{v:#}");
    s.handle.shutdown().await;
}

/// One change to a restored world.
type Change = Box<dyn FnOnce(&mut crate::model::World)>;

/// A restored world judged after one change: the verdict's problems, the world put back.
fn judge_changed(s: &Sim, id: u64, change: impl FnOnce(&mut crate::model::World)) -> Vec<String> {
    let mut world = crate::model::lock(&s.handle.shared);
    let saved_restored_from = world.cluster.restored_from;
    let saved_partitions = world.cluster.partitions.clone();
    let saved_indices = world.store.indices.clone();
    change(&mut world);
    let verdict = crate::oracle::restore(&world, id);
    assert_eq!(verdict.restored, verdict.problems.is_empty());
    world.cluster.restored_from = saved_restored_from;
    world.cluster.partitions = saved_partitions;
    world.store.indices = saved_indices;
    verdict.problems
}

/// The oracle decides every rehearsal's verdict, so each kind of difference between the
/// restored state and the backup must be reported (a silent oracle passes every plan).
#[tokio::test]
async fn the_restore_oracle_reports_every_kind_of_difference() {
    let s = sim(|_| {}).await;
    s.advance(40).await;
    pause(&s).await;
    index_backups(&s, 6).await;
    zeebe_backup(&s, 6).await;
    resume(&s).await;
    s.advance(40).await;
    s.post(&format!("{}/sim/damage", s.ctl()), "").await;
    let all = s
        .get(&format!("{}/_snapshot/camunda/_all", s.es()))
        .await
        .json;
    for snap in all["snapshots"].as_array().unwrap() {
        let name = snap["snapshot"].as_str().unwrap();
        let url = format!(
            "{}/_snapshot/camunda/{name}/_restore?wait_for_completion=true",
            s.es()
        );
        assert_eq!(s.call("POST", &url, None).await.status, 200, "{name}");
    }
    let got = s
        .post(&format!("{}/sim/zeebe/restore/6", s.ctl()), "")
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    // The unchanged world is judged restored: each case below differs in one way only.
    assert_eq!(judge_changed(&s, 6, |_| {}), Vec::<String>::new());
    let restored_index = |w: &crate::model::World| {
        w.store
            .indices
            .values()
            .find(|i| i.restored_from.is_some() && i.positions.iter().any(|&p| p > 0))
            .map(|i| i.name.clone())
            .expect("a restored index with records")
    };
    let cases: Vec<(&str, Change)> = vec![
        (
            "was not restored from backup 6",
            Box::new(|w| w.cluster.restored_from = Some(5)),
        ),
        (
            "< checkpoint position",
            Box::new(|w| w.cluster.partitions[0].position = 0),
        ),
        (
            "is missing",
            Box::new(move |w| {
                let name = restored_index(w);
                w.store.indices.remove(&name);
            }),
        ),
        (
            "was not restored from",
            Box::new(move |w| {
                let name = restored_index(w);
                w.store.indices.get_mut(&name).unwrap().restored_from = None;
            }),
        ),
        (
            "holds less than snapshot",
            Box::new(move |w| {
                let name = restored_index(w);
                let index = w.store.indices.get_mut(&name).unwrap();
                index.positions.iter_mut().for_each(|p| *p = 0);
            }),
        ),
        (
            "is still being restored",
            Box::new(move |w| {
                let name = restored_index(w);
                let index = w.store.indices.get_mut(&name).unwrap();
                index.recovery = Some(crate::datastore::Recovery {
                    repository: "camunda".into(),
                    snapshot: index.restored_from.clone().unwrap_or_default(),
                    start_ms: 0,
                    done_ms: u64::MAX,
                    failed: false,
                });
            }),
        ),
        (
            "is not part of backup 6",
            Box::new(move |w| {
                let name = restored_index(w);
                let mut extra = w.store.indices[&name].clone();
                extra.name = format!("{name}-extra");
                w.store.indices.insert(extra.name.clone(), extra);
            }),
        ),
        (
            "foreign index",
            Box::new(|w| {
                let foreign = w.facts.config.foreign_indices.first().cloned();
                let foreign = foreign.expect("the default config has foreign indices");
                w.store.indices.remove(&foreign);
            }),
        ),
        (
            // Last: `judge_changed` does not put this list back.
            "dated usage-metric index",
            Box::new(|w| {
                w.archived_usage_metrics
                    .push("camunda-usage-metric-8.7.0_2024-01-01".into());
            }),
        ),
    ];
    for (expected, change) in cases {
        let problems = judge_changed(&s, 6, change);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {problems:?}"
        );
    }
    s.handle.shutdown().await;
}

/// A coherent backup judged after one change: the verdict's problems, the world put back.
fn judge_backup_changed(
    s: &Sim,
    id: u64,
    change: impl FnOnce(&mut crate::model::World),
) -> Vec<String> {
    let mut world = crate::model::lock(&s.handle.shared);
    let saved_snapshots = world.store.snapshots.clone();
    let saved_backup = world.zeebe.backups.get(&id).cloned();
    change(&mut world);
    let verdict = crate::oracle::backup(&world, id);
    assert_eq!(verdict.coherent, verdict.problems.is_empty());
    world.store.snapshots = saved_snapshots;
    if let Some(b) = saved_backup {
        world.zeebe.backups.insert(id, b);
    }
    verdict.problems
}

/// The backup oracle's negatives beyond the exporter bound (tested above through wrong
/// orders): a missing Zeebe backup, a missing part, a missing `zeebe-record` snapshot, a
/// snapshot that did not succeed, and an index holding more than Zeebe's checkpoint.
#[tokio::test]
async fn the_backup_oracle_reports_every_kind_of_gap() {
    let s = sim(|_| {}).await;
    s.advance(50).await;
    pause(&s).await;
    index_backups(&s, 7).await;
    zeebe_backup(&s, 7).await;
    resume(&s).await;
    assert_eq!(judge_backup_changed(&s, 7, |_| {}), Vec::<String>::new());
    let cases: Vec<(&str, Change)> = vec![
        (
            "no Zeebe backup with id 7",
            Box::new(|w| {
                w.zeebe.backups.remove(&7);
            }),
        ),
        (
            "part 5 of 5 is missing",
            Box::new(|w| {
                w.store
                    .snapshots
                    .retain(|s| !s.name.ends_with("_part_5_of_5"))
            }),
        ),
        (
            "camunda_zeebe_records_backup_7 is missing",
            Box::new(|w| {
                w.store
                    .snapshots
                    .retain(|s| s.name != crate::oracle::records_snapshot(7));
            }),
        ),
        (
            "is PARTIAL",
            Box::new(|w| {
                let snap = w
                    .store
                    .snapshots
                    .iter_mut()
                    .find(|s| s.name.ends_with("_part_1_of_5"));
                snap.expect("a part").state = crate::datastore::SnapState::Partial;
            }),
        ),
        (
            "> checkpoint position C=",
            Box::new(|w| {
                let records = crate::oracle::records_snapshot(7);
                let snap = w.store.snapshots.iter_mut().find(|s| s.name == records);
                let copy = snap
                    .expect("records snapshot")
                    .indices
                    .iter_mut()
                    .find(|c| c.owner.exported_into())
                    .expect("an exported index");
                copy.positions[0] = u64::MAX;
            }),
        ),
    ];
    for (expected, change) in cases {
        let problems = judge_backup_changed(&s, 7, change);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {problems:?}"
        );
    }
    s.handle.shutdown().await;
}
