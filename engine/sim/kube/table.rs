//! Server-side tables (`meta.k8s.io/v1` `Table`), which kubectl asks for with
//! `Accept: application/json;as=Table;...` and prints as `kubectl get` output. Columns and cells
//! follow the real server's printers (k8s.io/kubernetes `pkg/printers/internalversion/
//! printers.go`) for the kinds served; anything else gets NAME and AGE. Reads objects, never
//! changes them.

use serde_json::{Value, json};

use super::resources::Resource;
use super::selectors::selector_string;
use super::time;

/// The `Content-Type` of a table response.
pub(crate) const CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Whether an `Accept` header asks for a table.
pub(crate) fn wanted(accept: &str) -> bool {
    accept.contains("as=Table")
}

/// A table of `objects`, each row carrying its object (kubectl reads labels from it for
/// `--show-labels` and `-L`).
pub(crate) fn table(resource: &Resource, objects: &[&Value], revision: u64) -> Value {
    let columns: Vec<Value> = columns(resource.kind)
        .iter()
        .map(|(name, kind, priority, description)| {
            let mut column = json!({
                "name": name, "type": kind, "format": "", "description": description,
                "priority": priority
            });
            if *name == "Name" {
                column["format"] = json!("name");
            }
            column
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| json!({"cells": cells(resource.kind, object), "object": object}))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": revision.to_string()},
        "columnDefinitions": columns,
        "rows": rows
    })
}

type Column = (&'static str, &'static str, u8, &'static str);

const NAME: Column = (
    "Name",
    "string",
    0,
    "Name must be unique within a namespace.",
);
const AGE: Column = (
    "Age",
    "string",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

/// Column definitions per kind: (name, type, priority, description); priority 1 columns show
/// only with `-o wide`.
fn columns(kind: &str) -> Vec<Column> {
    match kind {
        "Pod" => vec![
            NAME,
            (
                "Ready",
                "string",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            (
                "Status",
                "string",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            (
                "Restarts",
                "string",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            ("IP", "string", 1, "IP address allocated to the pod."),
            (
                "Node",
                "string",
                1,
                "Name of the node this pod is scheduled on.",
            ),
            (
                "Nominated Node",
                "string",
                1,
                "Name of the node nominated for this pod.",
            ),
            (
                "Readiness Gates",
                "string",
                1,
                "Readiness gates of this pod.",
            ),
        ],
        "StatefulSet" => vec![
            NAME,
            ("Ready", "string", 0, "Number of the pod with ready state"),
            AGE,
            (
                "Containers",
                "string",
                1,
                "Names of each container in the template.",
            ),
            (
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
        ],
        "Deployment" => vec![
            NAME,
            ("Ready", "string", 0, "Number of the pod with ready state"),
            (
                "Up-to-date",
                "string",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            (
                "Available",
                "string",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            AGE,
            (
                "Containers",
                "string",
                1,
                "Names of each container in the template.",
            ),
            (
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
            ("Selector", "string", 1, "Label selector for pods."),
        ],
        "PersistentVolumeClaim" => vec![
            NAME,
            ("Status", "string", 0, "The phase of the claim."),
            (
                "Volume",
                "string",
                0,
                "The name of the volume bound to the claim.",
            ),
            (
                "Capacity",
                "string",
                0,
                "The actual resources of the underlying volume.",
            ),
            (
                "Access Modes",
                "string",
                0,
                "The access modes of the underlying volume.",
            ),
            (
                "StorageClass",
                "string",
                0,
                "The storage class of the claim.",
            ),
            (
                "VolumeAttributesClass",
                "string",
                0,
                "The volume attributes class of the claim.",
            ),
            AGE,
            ("VolumeMode", "string", 1, "The volume mode of the claim."),
        ],
        "Service" => vec![
            NAME,
            ("Type", "string", 0, "The type of the service."),
            ("Cluster-IP", "string", 0, "The cluster IP of the service."),
            (
                "External-IP",
                "string",
                0,
                "The external IP of the service.",
            ),
            ("Port(s)", "string", 0, "The ports of the service."),
            AGE,
            ("Selector", "string", 1, "The selector of the service."),
        ],
        "Namespace" => vec![
            NAME,
            ("Status", "string", 0, "The status of the namespace"),
            AGE,
        ],
        "ConfigMap" => vec![NAME, ("Data", "integer", 0, "Number of keys."), AGE],
        "Secret" => vec![
            NAME,
            ("Type", "string", 0, "The type of the secret"),
            ("Data", "integer", 0, "Number of keys."),
            AGE,
        ],
        _ => vec![NAME, AGE],
    }
}

fn cells(kind: &str, o: &Value) -> Vec<Value> {
    let name = json!(text(o, "/metadata/name"));
    let age = json!(time::age(
        o.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
    ));
    match kind {
        "Pod" => {
            let [ready, status, restarts] = pod_summary(o);
            vec![
                name,
                json!(ready),
                json!(status),
                json!(restarts),
                age,
                json!(or_none(text(o, "/status/podIP"))),
                json!(or_none(text(o, "/spec/nodeName"))),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        "StatefulSet" => vec![
            name,
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                replicas(o)
            )),
            age,
            json!(containers(o, "name")),
            json!(containers(o, "image")),
        ],
        "Deployment" => vec![
            name,
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                replicas(o)
            )),
            json!(int(o, "/status/updatedReplicas")),
            json!(int(o, "/status/availableReplicas")),
            age,
            json!(containers(o, "name")),
            json!(containers(o, "image")),
            json!(selector_string(o.pointer("/spec/selector"))),
        ],
        "PersistentVolumeClaim" => pvc_cells(o, name, age),
        "Service" => service_cells(o, name, age),
        "Namespace" => vec![
            name,
            json!(text(o, "/status/phase").unwrap_or("Active")),
            age,
        ],
        "ConfigMap" => vec![
            name,
            json!(count(o, "/data") + count(o, "/binaryData")),
            age,
        ],
        "Secret" => vec![
            name,
            json!(text(o, "/type").unwrap_or("Opaque")),
            json!(count(o, "/data")),
            age,
        ],
        _ => vec![name, age],
    }
}

/// READY, STATUS and RESTARTS of a pod: ready/total containers, the phase (or the reason a
/// container waits or terminated, or `Terminating`), and the sum of restart counts.
fn pod_summary(o: &Value) -> [String; 3] {
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let statuses: Vec<&Value> = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let ready = statuses
        .iter()
        .filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|s| s.get("restartCount").and_then(Value::as_i64))
        .sum();
    let mut status = text(o, "/status/reason")
        .or_else(|| text(o, "/status/phase"))
        .unwrap_or("Pending")
        .to_string();
    for s in &statuses {
        let reason = s
            .pointer("/state/waiting/reason")
            .or_else(|| s.pointer("/state/terminated/reason"))
            .and_then(Value::as_str);
        if let Some(reason) = reason {
            status = reason.to_string();
        }
    }
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        status = "Terminating".to_string();
    }
    [format!("{ready}/{total}"), status, restarts.to_string()]
}

fn pvc_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let terminating = o.pointer("/metadata/deletionTimestamp").is_some();
    let phase = if terminating {
        "Terminating"
    } else {
        text(o, "/status/phase").unwrap_or("Pending")
    };
    let modes: Vec<&str> = o
        .pointer("/status/accessModes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|m| match m {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect();
    vec![
        name,
        json!(phase),
        json!(text(o, "/spec/volumeName").unwrap_or_default()),
        json!(text(o, "/status/capacity/storage").unwrap_or_default()),
        json!(modes.join(",")),
        json!(text(o, "/spec/storageClassName").unwrap_or("<unset>")),
        json!(text(o, "/spec/volumeAttributesClassName").unwrap_or("<unset>")),
        age,
        json!(text(o, "/spec/volumeMode").unwrap_or("<unset>")),
    ]
}

fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or_default();
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(node) => format!("{port}:{node}/{protocol}"),
                None => format!("{port}/{protocol}"),
            }
        })
        .collect();
    let selector: Vec<String> = o
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    vec![
        name,
        json!(text(o, "/spec/type").unwrap_or("ClusterIP")),
        json!(or_none(text(o, "/spec/clusterIP"))),
        json!("<none>"),
        json!(if ports.is_empty() {
            "<none>".to_string()
        } else {
            ports.join(",")
        }),
        age,
        json!(if selector.is_empty() {
            "<none>".to_string()
        } else {
            selector.join(",")
        }),
    ]
}

fn text<'a>(o: &'a Value, pointer: &str) -> Option<&'a str> {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn or_none(value: Option<&str>) -> &str {
    value.unwrap_or("<none>")
}

fn int(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// `spec.replicas`, which defaults to 1 for workloads.
fn replicas(o: &Value) -> i64 {
    o.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn count(o: &Value, pointer: &str) -> usize {
    o.pointer(pointer)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

/// A field of every container in the pod template, comma-joined.
fn containers(o: &Value, field: &str) -> String {
    o.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get(field).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(",")
}
