//! sim/workload_report: the `GET /sim/workloads` document: every Deployment and StatefulSet of
//! the stand-in with its replicas, ready replicas and container environment, so a test can
//! check that a run put every workload back (replicas, restore mode left). Read-only; it must
//! not change or reconcile anything.

use serde_json::{Map, Value, json};

use super::kube::KubeObjects;

/// `{"workloads":[{"kind","namespace","name","replicas","readyReplicas","env":{container:{NAME:
/// value}}}]}`, StatefulSets first, each kind sorted by namespace and name. `env` lists plain
/// `value`s; a `valueFrom` reads as `null`.
pub fn report(objects: &KubeObjects) -> Value {
    let mut workloads = Vec::new();
    for kind in ["StatefulSet", "Deployment"] {
        let mut found: Vec<&Value> = objects.list_all("apps", kind);
        found.sort_by_key(|o| (text(o, "/metadata/namespace"), text(o, "/metadata/name")));
        workloads.extend(found.into_iter().map(|o| workload(kind, o)));
    }
    json!({ "workloads": workloads })
}

fn workload(kind: &str, o: &Value) -> Value {
    json!({
        "kind": kind,
        "namespace": text(o, "/metadata/namespace"),
        "name": text(o, "/metadata/name"),
        // The API server defaults an absent `spec.replicas` to 1.
        "replicas": o.pointer("/spec/replicas").and_then(Value::as_u64).unwrap_or(1),
        "readyReplicas": o.pointer("/status/readyReplicas").and_then(Value::as_u64).unwrap_or(0),
        "env": env(o),
    })
}

fn env(o: &Value) -> Value {
    let containers = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Map::new();
    for c in containers {
        let vars: Map<String, Value> = c
            .get("env")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let name = e.get("name")?.as_str()?;
                Some((
                    name.to_string(),
                    e.get("value").cloned().unwrap_or(Value::Null),
                ))
            })
            .collect();
        out.insert(text(c, "/name"), Value::Object(vars));
    }
    Value::Object(out)
}

fn text(o: &Value, pointer: &str) -> String {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
