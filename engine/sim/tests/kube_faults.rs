//! Kubernetes API faults driven by the real kubectl: armed through `POST /sim/faults`, answered
//! as an API server words them, listed in the request log and `GET /sim/workloads`.

use serde_json::Value;

use super::common::{Sim, poll, sim};
use super::kube_flow::Kubectl;

const SCALE_PATH: &str = "/apis/apps/v1/namespaces/*/statefulsets/*/scale";

async fn arm(s: &Sim, yaml: &str) {
    let got = s.post(&format!("{}/sim/faults", s.ctl()), yaml).await;
    assert_eq!(got.status, 200, "{}", got.text);
}

fn kube_fault(status: &str) -> String {
    format!(
        "faults:\n  - component: kubernetes\n    method: PATCH\n    path: {SCALE_PATH}\n    {status}\n    times: 1\n"
    )
}

async fn scale_zeebe(k: &Kubectl, replicas: u32) -> (i32, String, String) {
    k.run(&[
        "scale",
        "statefulset/camunda-zeebe",
        &format!("--replicas={replicas}"),
    ])
    .await
}

async fn workload(s: &Sim, name: &str) -> Value {
    let got = s.get(&format!("{}/sim/workloads", s.ctl())).await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.json["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .find(|w| w["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no workload {name}: {}", got.text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_api_server_errors_once_each() {
    let s = sim(|c| c.kubernetes = true).await;
    let k = Kubectl::new(&s);
    let cases = [
        (
            "status: 500",
            "Error from server: etcdserver: request timed out",
        ),
        (
            "status: 503",
            "Error from server (ServiceUnavailable): the server is currently unable to handle the request",
        ),
        ("drop_connection: true", "EOF"),
    ];
    for (fault, expected) in cases {
        arm(&s, &kube_fault(fault)).await;
        let (code, out, err) = scale_zeebe(&k, 2).await;
        assert_eq!(code, 1, "{fault}: {out}{err}");
        assert!(err.contains(expected), "{fault}: {err}");
        assert_eq!(
            workload(&s, "camunda-zeebe").await["replicas"],
            3,
            "{fault}"
        );
    }
    // Every fault was used up: the next scale goes through.
    let (code, out, err) = scale_zeebe(&k, 2).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(workload(&s, "camunda-zeebe").await["replicas"], 2);
    let log = s.get(&format!("{}/sim/requests", s.ctl())).await.json;
    let scales: Vec<u64> = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|r| r["component"] == "kubernetes" && r["method"] == "PATCH")
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/scale")))
        .map(|r| r["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(scales, [500, 503, 0, 200]);
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_itself_retries_too_many_requests_and_conflicts() {
    // client-go waits `Retry-After` and repeats a 429; `kubectl scale` repeats on a conflict:
    // both as against a real API server.
    let s = sim(|c| c.kubernetes = true).await;
    let k = Kubectl::new(&s);
    for (fault, replicas) in [("status: 429", 1), ("status: 409", 2)] {
        arm(&s, &kube_fault(fault)).await;
        let (code, out, err) = scale_zeebe(&k, replicas).await;
        assert_eq!(code, 0, "{fault}: {out}{err}");
        assert_eq!(workload(&s, "camunda-zeebe").await["replicas"], replicas);
    }
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_is_a_status_naming_the_object() {
    let s = sim(|c| c.kubernetes = true).await;
    arm(&s, &kube_fault("status: 409")).await;
    let kube = s.handle.urls().kube.clone().expect("kube url");
    let got = s
        .call(
            "PATCH",
            &format!("{kube}/apis/apps/v1/namespaces/camunda/statefulsets/camunda-zeebe/scale"),
            Some(r#"{"spec":{"replicas":1}}"#),
        )
        .await;
    assert_eq!(got.status, 409);
    assert_eq!(
        got.json,
        serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Operation cannot be fulfilled on statefulsets.apps \"camunda-zeebe\": the object has been modified; please apply your changes to the latest version and try again",
            "reason": "Conflict", "code": 409,
            "details": {"name": "camunda-zeebe", "group": "apps", "kind": "statefulsets"},
        })
    );
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_faults_for_any_component_leave_kubernetes_alone() {
    let yaml = "faults:\n  - status: 500\n";
    let s = sim(|c| {
        c.kubernetes = true;
        c.scenario = crate::Scenario::from_yaml_str(yaml).unwrap();
    })
    .await;
    let k = Kubectl::new(&s);
    k.ok(&["get", "statefulset", "camunda-zeebe"]).await;
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_report_replicas_ready_and_env() {
    let s = sim(|c| c.kubernetes = true).await;
    let k = Kubectl::new(&s);
    k.ok(&[
        "set",
        "env",
        "statefulset/camunda-zeebe",
        "ZEEBE_RESTORE=true",
    ])
    .await;
    let w = workload(&s, "camunda-zeebe").await;
    assert_eq!(w["kind"], "StatefulSet");
    assert_eq!(w["namespace"], "camunda");
    assert_eq!(w["replicas"], 3);
    assert!(w["readyReplicas"].is_u64(), "{w}");
    let env = w["env"].as_object().expect("env by container");
    assert!(
        env.values().any(|vars| vars["ZEEBE_RESTORE"] == "true"),
        "{w}"
    );
    assert_eq!(workload(&s, "camunda-optimize").await["kind"], "Deployment");
    s.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_call_is_in_flight_until_the_client_gives_up() {
    let s = sim(|c| c.kubernetes = true).await;
    let k = Kubectl::new(&s);
    arm(&s, &kube_fault("latency_ms: 60000")).await;
    let in_flight = || async {
        s.get(&format!("{}/sim/in-flight", s.ctl()))
            .await
            .json
            .as_array()
            .expect("in-flight")
            .iter()
            .filter(|r| r["component"] == "kubernetes" && r["method"] == "PATCH")
            .count()
    };
    let scale = k.run(&[
        "scale",
        "statefulset/camunda-zeebe",
        "--replicas=1",
        "--request-timeout=1s",
    ]);
    let watch = poll("the held PATCH shows in flight", || async {
        (in_flight().await == 1).then_some(())
    });
    let ((code, _, err), ()) = tokio::join!(scale, watch);
    assert_ne!(code, 0, "{err}");
    poll("the abandoned call leaves the in-flight list", || async {
        (in_flight().await == 0).then_some(())
    })
    .await;
    assert_eq!(workload(&s, "camunda-zeebe").await["replicas"], 3);
    s.handle.shutdown().await;
}
