//! Index names of one installation on a shared datastore: prefixes (the Camunda API reference
//! §7.5), foreign indices that `damage` keeps and the oracle guards, the 8.8 dated
//! usage-metric indices and the version from which backups hold them (§7.6), and Optimize's
//! `/actuator/info` without build info (§7.9).

use serde_json::{Value, json};

use super::common::{Sim, sim};

async fn index_names(s: &Sim) -> Vec<String> {
    s.get(&format!("{}/_cat/indices?h=index", s.es()))
        .await
        .text
        .lines()
        .map(String::from)
        .collect()
}

/// Takes web-app backup `id` and returns the indices its snapshots hold.
async fn webapps_backup_indices(s: &Sim, id: u64) -> Vec<String> {
    let base = format!("{}/actuator/backupHistory", s.orch());
    assert_eq!(
        s.post(&base, &format!(r#"{{"backupId": {id}}}"#))
            .await
            .status,
        200
    );
    s.wait_state(&format!("{base}/{id}"), &["COMPLETED"]).await;
    let got = s
        .get(&format!(
            "{}/_snapshot/camunda/camunda_webapps_{id}_*",
            s.es()
        ))
        .await;
    got.json["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .flat_map(|s| s["indices"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i.as_str().map(String::from))
        .collect()
}

fn problems(verdict: &Value) -> Vec<String> {
    verdict["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p.as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn foreign_indices_survive_damage_and_their_loss_is_a_problem() {
    let s = sim(|_| {}).await;
    let names = index_names(&s).await;
    for foreign in [
        "prod2-operate-list-view-8.8.0_",
        "logs-app-zeebe-2026.12.01",
        "shop-camunda-orders",
    ] {
        assert!(names.iter().any(|n| n == foreign), "{names:?}");
    }
    let dmg = s.post(&format!("{}/sim/damage", s.ctl()), "").await;
    assert_eq!(dmg.status, 200);
    let names = index_names(&s).await;
    assert!(
        names.iter().any(|n| n == "shop-camunda-orders"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("operate-")),
        "{names:?}"
    );
    let got = s
        .call("DELETE", &format!("{}/shop-camunda-orders", s.es()), None)
        .await;
    assert_eq!(got.status, 200);
    let verdict = s
        .get(&format!("{}/sim/oracle/restore/1", s.ctl()))
        .await
        .json;
    assert!(
        problems(&verdict)
            .iter()
            .any(|p| p.contains("foreign index shop-camunda-orders was deleted")),
        "{verdict:#}"
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn prefixes_name_every_index_and_backup_content() {
    let s = sim(|c| {
        c.scenario.config.index_prefix = "c1".into();
        c.scenario.config.optimize_index_prefix = "o1".into();
        c.scenario.config.record_prefix = "rec".into();
        c.scenario.config.schedule_404_ms = 0;
    })
    .await;
    let names = index_names(&s).await;
    assert!(
        names.iter().any(|n| n == "c1-operate-list-view-8.3.0_"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n == "o1-process-definition_v6"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("rec_job_8.8.0_")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("operate-")),
        "{names:?}"
    );
    let backed_up = webapps_backup_indices(&s, 1).await;
    assert!(
        backed_up.contains(&"c1-tasklist-task-8.8.0_".to_string()),
        "{backed_up:?}"
    );
    assert!(
        backed_up.iter().all(|n| n.starts_with("c1-")),
        "{backed_up:?}"
    );
    s.post(&format!("{}/sim/damage", s.ctl()), "").await;
    let left = index_names(&s).await;
    assert!(
        !left.iter().any(|n| n.starts_with("c1-operate")),
        "{left:?}"
    );
    assert!(
        left.iter().any(|n| n == "prod2-operate-list-view-8.8.0_"),
        "{left:?}"
    );
    s.handle.shutdown().await;
}

#[tokio::test]
async fn dated_usage_metrics_are_backed_up_from_8_8_15() {
    for (version, included) in [("8.8.14", false), ("8.8.15", true)] {
        let s = sim(|c| {
            c.scenario.config.camunda_version = Some(version.into());
            c.scenario.config.schedule_404_ms = 0;
        })
        .await;
        let dated: Vec<String> = index_names(&s)
            .await
            .into_iter()
            .filter(|n| n.starts_with("camunda-usage-metric") && !n.ends_with('_'))
            .collect();
        assert_eq!(dated.len(), 2, "{dated:?}");
        let backed_up = webapps_backup_indices(&s, 1).await;
        assert_eq!(
            dated.iter().all(|n| backed_up.contains(n)),
            included,
            "{version}: {backed_up:?}"
        );
        assert!(backed_up.contains(&"camunda-usage-metric-8.8.0_".to_string()));
        // The backup's version is in its snapshot names.
        let snaps = s
            .get(&format!("{}/_snapshot/camunda/camunda_webapps_1_*", s.es()))
            .await;
        assert!(
            snaps
                .text
                .contains(&format!("camunda_webapps_1_{version}_part_1_of_5")),
            "{}",
            snaps.text
        );
        // Deleting them (they are not in a pre-8.8.15 backup) is a problem for the oracle.
        for n in &dated {
            s.call("DELETE", &format!("{}/{n}", s.es()), None).await;
        }
        let verdict = s
            .get(&format!("{}/sim/oracle/restore/1", s.ctl()))
            .await
            .json;
        let lost = problems(&verdict)
            .iter()
            .any(|p| p.contains("dated usage-metric index"));
        assert_eq!(lost, !included, "{version}: {verdict:#}");
        s.handle.shutdown().await;
    }
}

#[tokio::test]
async fn optimize_info_has_no_build_unless_configured() {
    let s = sim(|_| {}).await;
    let info = s.get(&format!("{}/actuator/info", s.opt())).await;
    assert_eq!((info.status, info.json), (200, json!({})));
    let orch = s.get(&format!("{}/actuator/info", s.orch())).await;
    assert_eq!(orch.json["build"]["version"], "8.8.0");
    s.handle.shutdown().await;
    let s = sim(|c| c.scenario.config.optimize_info_build = true).await;
    let info = s.get(&format!("{}/actuator/info", s.opt())).await;
    assert_eq!(info.json["build"]["version"], "8.8.0");
    s.handle.shutdown().await;
}

/// 8.7 has no orchestration prefix (§7.5): its Operate/Tasklist prefixes replace the names'
/// heads, and the 8.8 key is refused rather than silently ignored.
#[tokio::test]
async fn prefixes_87_are_operate_and_tasklist_own() {
    let mut config = crate::SimConfig {
        camunda_version: crate::CamundaVersion::V8_7,
        ..crate::SimConfig::default()
    };
    config.scenario.config.index_prefix = "c1".into();
    let err = crate::start(config).await.err().expect("refused");
    assert!(
        err.to_string()
            .contains("config.index_prefix does not apply to Camunda 8.7"),
        "{err}"
    );
}
