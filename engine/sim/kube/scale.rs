//! The scale subresource (`autoscaling/v1` `Scale`) of StatefulSets and Deployments: building
//! it from a workload and reading the replicas a client asks for. Pure functions; the
//! handlers do the write.

use serde_json::{Value, json};

use super::selectors::selector_string;

/// The `Scale` of a workload object.
pub(crate) fn of(object: &Value) -> Value {
    let meta = object.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut metadata = json!({});
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(value) = meta.get(field) {
            metadata[field] = value.clone();
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": object.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector_string(object.pointer("/spec/selector"))
        }
    })
}

/// `spec.replicas` of a Scale a client sent: a non-negative integer that fits in int32.
pub(crate) fn replicas(scale: &Value) -> Result<i64, String> {
    match scale.pointer("/spec/replicas") {
        Some(v) => v
            .as_i64()
            .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
            .ok_or_else(|| {
                format!("spec.replicas: Invalid value: {v}: must be greater than or equal to 0")
            }),
        None => Ok(0),
    }
}
