//! Asynchronous scheduling (the Camunda API reference §7.2): right after a backup POST the
//! status GET answers 404 on the web apps, Optimize and Zeebe, then the backup shows up.

use serde_json::Value;

use super::common::{Sim, poll, sim};

/// The first answer right after the POST, then polls (bounded) until it is not 404.
async fn first_then_visible(s: &Sim, url: &str) -> (Got404, Value) {
    let first = s.get(url).await;
    let visible = poll(&format!("{url} becomes visible"), || async {
        let got = s.get(url).await;
        (got.status != 404).then_some(got.json)
    })
    .await;
    ((first.status, first.json), visible)
}

type Got404 = (u16, Value);

#[tokio::test]
async fn status_gets_answer_404_right_after_scheduling() {
    let s = sim(|c| c.scenario.config.schedule_404_ms = 1_500).await;
    let history = format!("{}/actuator/backupHistory", s.orch());
    assert_eq!(s.post(&history, r#"{"backupId": 4}"#).await.status, 200);
    let ((status, body), later) = first_then_visible(&s, &format!("{history}/4")).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "No backup with id [4] found.");
    assert!(later["state"].is_string(), "{later}");

    let optimize = format!("{}/actuator/backups", s.opt());
    assert_eq!(s.post(&optimize, r#"{"backupId": 4}"#).await.status, 202);
    let ((status, _), later) = first_then_visible(&s, &format!("{optimize}/4")).await;
    assert_eq!(status, 404);
    assert!(later["state"].is_string(), "{later}");

    let runtime = format!("{}/actuator/backupRuntime", s.orch());
    assert_eq!(s.post(&runtime, r#"{"backupId": 4}"#).await.status, 202);
    let ((status, body), later) = first_then_visible(&s, &format!("{runtime}/4")).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Backup with id 4 does not exist");
    assert!(later["state"].is_string(), "{later}");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn no_grace_when_switched_off() {
    let s = sim(|c| c.scenario.config.schedule_404_ms = 0).await;
    let runtime = format!("{}/actuator/backupRuntime", s.orch());
    assert_eq!(s.post(&runtime, r#"{"backupId": 2}"#).await.status, 202);
    assert_eq!(s.get(&format!("{runtime}/2")).await.status, 200);
    s.handle.shutdown().await;
}

/// Whether backup `id` is in a list answer (an array of `{backupId, ...}`).
fn listed(list: &Value, id: u64) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .any(|b| b["backupId"] == id)
}

/// The list endpoints are built from the same view as the single GET: a backup scheduled
/// within the grace is not listed yet, then it is (§7.2).
#[tokio::test]
async fn lists_hide_a_just_scheduled_backup_during_the_grace() {
    let s = sim(|c| c.scenario.config.schedule_404_ms = 1_500).await;
    let cases = [
        (format!("{}/actuator/backupHistory", s.orch()), 200),
        (format!("{}/actuator/backups", s.opt()), 202),
        (format!("{}/actuator/backupRuntime", s.orch()), 202),
    ];
    for (base, created) in cases {
        assert_eq!(s.post(&base, r#"{"backupId": 7}"#).await.status, created);
        let first = s.get(&base).await;
        assert_eq!(first.status, 200, "{base}: {}", first.json);
        assert!(
            !listed(&first.json, 7),
            "{base}: listed at once: {}",
            first.json
        );
        first_then_visible(&s, &format!("{base}/7")).await;
        let later = s.get(&base).await;
        assert!(
            listed(&later.json, 7),
            "{base}: never listed: {}",
            later.json
        );
    }
    s.handle.shutdown().await;
}
