//! One test per kubectl command the plans use (reference 5.2/5.3), asserting kubectl's exit
//! code and output and the objects left in the store.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use super::harness::{Cluster, finish, ok};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn get_statefulset_json() {
    let c = Cluster::start().await;
    let out = ok(c.kubectl(&["get", "statefulset", "camunda-zeebe", "-o", "json"]).await);
    let sts = parse(&out);
    assert_eq!(sts["kind"], "StatefulSet");
    assert_eq!(sts["apiVersion"], "apps/v1");
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(sts["status"]["readyReplicas"], 3);
    assert_eq!(sts["spec"]["template"]["spec"]["containers"][0]["name"], "orchestration");
    c.handle.shutdown().await;
}
