//! The API server's defaulting for the workload fields kubectl reads (k8s.io/kubernetes
//! `pkg/apis/apps/v1/defaults.go`): a StatefulSet gets `replicas: 1`,
//! `podManagementPolicy: OrderedReady` and `updateStrategy: {type: RollingUpdate,
//! rollingUpdate: {partition: 0}}`; a Deployment `replicas: 1` and a RollingUpdate strategy
//! of 25%/25%. This matters for output: with the defaulted partition, `kubectl rollout status
//! statefulset` prints `partitioned roll out complete: N new pods have been updated...`, as
//! on a real cluster. Only fills missing fields; never reads or writes the store.

use serde_json::{Map, Value, json};

/// Fills missing defaults of a StatefulSet or Deployment; other kinds are left alone.
pub(crate) fn apply(object: &mut Value) {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if api_version != "apps/v1" {
        return;
    }
    let kind = kind.to_string();
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match kind.as_str() {
        "StatefulSet" => statefulset(spec),
        "Deployment" => deployment(spec),
        _ => {}
    }
}

fn statefulset(spec: &mut Map<String, Value>) {
    spec.entry("replicas").or_insert(json!(1));
    spec.entry("podManagementPolicy")
        .or_insert(json!("OrderedReady"));
    let strategy = object_entry(spec, "updateStrategy");
    strategy.entry("type").or_insert(json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        object_entry(strategy, "rollingUpdate")
            .entry("partition")
            .or_insert(json!(0));
    }
}

fn deployment(spec: &mut Map<String, Value>) {
    spec.entry("replicas").or_insert(json!(1));
    let strategy = object_entry(spec, "strategy");
    strategy.entry("type").or_insert(json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let rolling = object_entry(strategy, "rollingUpdate");
        rolling.entry("maxUnavailable").or_insert(json!("25%"));
        rolling.entry("maxSurge").or_insert(json!("25%"));
    }
}

/// The object at `key`, created (or replacing a non-object) when needed.
fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map.entry(key).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    match entry {
        Value::Object(inner) => inner,
        _ => unreachable!("made an object above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_only_missing_fields() {
        let mut sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "spec": {"replicas": 3, "podManagementPolicy": "Parallel"}});
        apply(&mut sts);
        assert_eq!(sts["spec"]["replicas"], 3);
        assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
        assert_eq!(
            sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"],
            0
        );
        let mut on_delete = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "spec": {"updateStrategy": {"type": "OnDelete"}}});
        apply(&mut on_delete);
        assert!(
            on_delete["spec"]["updateStrategy"]
                .get("rollingUpdate")
                .is_none()
        );
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {}});
        apply(&mut pod);
        assert_eq!(pod["spec"], json!({}));
    }
}
