//! A tiny reconciler for tests: pods `<workload>-<ordinal>` follow `spec.replicas` of
//! StatefulSets and Deployments (created ready), StatefulSets get PVCs
//! `<template>-<sts>-<ordinal>` from their volume claim templates, a PVC in use by a pod is
//! deleted only once the pod is gone, and workload status follows the pods. With `hold`
//! set, pods of an outdated template revision are not replaced, so a rollout stays pending
//! until the test releases it.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::kube::{DeleteDecision, KubeObjects, ObjectKey, Reconciler};

#[derive(Default)]
pub struct TestCluster {
    pub hold: AtomicBool,
}

impl Reconciler for TestCluster {
    fn reconcile(&self, objects: &mut KubeObjects) {
        let hold = self.hold.load(Ordering::SeqCst);
        for kind in ["StatefulSet", "Deployment"] {
            let workloads: Vec<Value> = objects
                .list_all("apps", kind)
                .into_iter()
                .cloned()
                .collect();
            for workload in workloads {
                reconcile_workload(objects, &workload, hold);
            }
        }
        finish_pvc_deletions(objects);
    }

    fn on_delete(&self, objects: &KubeObjects, key: &ObjectKey) -> DeleteDecision {
        if key.kind == "PersistentVolumeClaim" && claim_in_use(objects, &key.namespace, &key.name) {
            DeleteDecision::Defer
        } else {
            DeleteDecision::Now
        }
    }
}

fn text<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A short stable hash of the pod template, as the controller's revision names carry one.
fn revision(workload: &Value) -> String {
    let template = workload
        .pointer("/spec/template")
        .map(Value::to_string)
        .unwrap_or_default();
    let hash = template.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!(
        "{}-{:08x}",
        text(workload, "/metadata/name"),
        hash & 0xffff_ffff
    )
}

fn reconcile_workload(objects: &mut KubeObjects, workload: &Value, hold: bool) {
    let ns = text(workload, "/metadata/namespace").to_string();
    let name = text(workload, "/metadata/name").to_string();
    let kind = text(workload, "/kind").to_string();
    let replicas = workload
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let update = revision(workload);
    let claims = claim_templates(workload);
    for ordinal in 0..replicas {
        let pod_name = format!("{name}-{ordinal}");
        for claim in &claims {
            ensure_claim(objects, &ns, &format!("{claim}-{pod_name}"));
        }
        let key = ObjectKey::new("", "Pod", &ns, &pod_name);
        let outdated = objects
            .get(&key)
            .map(|p| text(p, "/metadata/labels/controller-revision-hash") != update);
        match outdated {
            None => create_pod(objects, workload, &ns, &pod_name, &update, &claims),
            Some(true) if !hold => {
                objects.remove(&key);
                create_pod(objects, workload, &ns, &pod_name, &update, &claims);
            }
            _ => {}
        }
    }
    // Pods beyond the replica count go (all at once, as with podManagementPolicy Parallel).
    let extra: Vec<ObjectKey> = objects
        .list("", "Pod", &ns)
        .into_iter()
        .filter_map(|p| {
            let pod = text(p, "/metadata/name");
            let ordinal: i64 = pod.strip_prefix(&format!("{name}-"))?.parse().ok()?;
            (ordinal >= replicas).then(|| ObjectKey::new("", "Pod", &ns, pod))
        })
        .collect();
    for key in extra {
        objects.remove(&key);
    }
    update_status(objects, workload, &kind, &ns, &name, replicas, &update);
}

fn claim_templates(workload: &Value) -> Vec<String> {
    workload
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| text(t, "/metadata/name").to_string())
        .collect()
}

fn ensure_claim(objects: &mut KubeObjects, ns: &str, name: &str) {
    if objects
        .get(&ObjectKey::new("", "PersistentVolumeClaim", ns, name))
        .is_some()
    {
        return;
    }
    objects.put(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns, "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 "storageClassName": "standard", "volumeName": format!("pvc-{name}"), "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    }));
}

fn create_pod(
    objects: &mut KubeObjects,
    workload: &Value,
    ns: &str,
    pod: &str,
    revision: &str,
    claims: &[String],
) {
    let mut labels = workload
        .pointer("/spec/template/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    labels["controller-revision-hash"] = json!(revision);
    let containers = workload
        .pointer("/spec/template/spec/containers")
        .cloned()
        .unwrap_or_else(|| json!([]));
    let statuses: Vec<Value> = containers
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| json!({"name": c["name"], "ready": true, "restartCount": 0, "started": true,
                        "image": c["image"], "state": {"running": {"startedAt": "2025-01-01T00:00:00Z"}}}))
        .collect();
    let volumes: Vec<Value> = claims
        .iter()
        .map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": format!("{c}-{pod}")}}))
        .collect();
    // The controller reference is what `kubectl describe` counts pods by.
    let owner = json!({
        "apiVersion": "apps/v1", "kind": workload["kind"], "name": workload["metadata"]["name"],
        "uid": workload["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
    });
    objects.put(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod, "namespace": ns, "labels": labels, "ownerReferences": [owner]},
        "spec": {"containers": containers, "volumes": volumes, "nodeName": "sim-node"},
        "status": {"phase": "Running", "podIP": "10.0.0.1",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": statuses}
    }));
    for c in containers.as_array().into_iter().flatten() {
        objects.append_log(ns, pod, text(c, "/name"), &format!("{pod} started"));
    }
}

fn update_status(
    objects: &mut KubeObjects,
    workload: &Value,
    kind: &str,
    ns: &str,
    name: &str,
    replicas: i64,
    update: &str,
) {
    let pods: Vec<Value> = objects
        .list("", "Pod", ns)
        .into_iter()
        .filter(|p| {
            text(p, "/metadata/name")
                .strip_prefix(&format!("{name}-"))
                .is_some_and(|o| o.parse::<u64>().is_ok())
        })
        .cloned()
        .collect();
    let count = pods.len() as i64;
    let updated = pods
        .iter()
        .filter(|p| text(p, "/metadata/labels/controller-revision-hash") == update)
        .count() as i64;
    let current = if updated == count {
        update.to_string()
    } else {
        text(workload, "/status/currentRevision").to_string()
    };
    let mut object = workload.clone();
    object["status"] = json!({
        "observedGeneration": workload.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        "replicas": count,
        "readyReplicas": count,
        "availableReplicas": count,
        "updatedReplicas": updated,
        "currentReplicas": count - if kind == "StatefulSet" { 0 } else { count - updated },
        "currentRevision": current,
        "updateRevision": update,
    });
    if replicas == 0 {
        // A real controller omits zero counts; kubectl treats missing as 0.
        object["status"]["readyReplicas"] = json!(0);
    }
    objects.put(object);
}

/// Whether any pod mounts the claim.
fn claim_in_use(objects: &KubeObjects, ns: &str, claim: &str) -> bool {
    objects.list("", "Pod", ns).into_iter().any(|p| {
        p.pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|v| text(v, "/persistentVolumeClaim/claimName") == claim)
    })
}

fn finish_pvc_deletions(objects: &mut KubeObjects) {
    let done: Vec<ObjectKey> = objects
        .list_all("", "PersistentVolumeClaim")
        .into_iter()
        .filter(|c| c.pointer("/metadata/deletionTimestamp").is_some())
        .filter_map(ObjectKey::of)
        .filter(|k| !claim_in_use(objects, &k.namespace, &k.name))
        .collect();
    for key in done {
        objects.remove(&key);
    }
}
