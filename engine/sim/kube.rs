//! sim/kube: a small stand-in for the Kubernetes API server that the real `kubectl` binary talks
//! to, over plain HTTP on 127.0.0.1. It owns the object store, the HTTP protocol kubectl speaks
//! (discovery, get/list/table, scale, merge and strategic-merge patch, delete, watch, logs) and
//! the kubeconfig it writes for itself. It knows nothing of Camunda: the rules of a cluster
//! (pods follow replicas, PVC protection, what a container logs) come from a [`Reconciler`].
//!
//! CONTRACT (agreed between the kube stand-in and the Camunda simulator; do not change the
//! signatures below without changing both sides): [`ObjectKey`], [`DeleteDecision`],
//! [`Reconciler`], [`KubeObjects`], [`KubeHandle`] and [`start`].
//!
//! USING THE STORE (what a [`Reconciler`] needs to know):
//! - Objects are full JSON objects; the key comes from `apiVersion` (group before `/`),
//!   `kind`, `metadata.namespace` and `metadata.name`. Served through the API: `v1` Pod,
//!   Service, PersistentVolumeClaim, ConfigMap, Secret, Namespace (cluster-scoped: no
//!   namespace) and `apps/v1` StatefulSet, Deployment. Other kinds can be stored but kubectl
//!   cannot reach them.
//! - [`KubeObjects::put`] of an object equal to the stored one changes nothing (no new
//!   resourceVersion, no watch event), so a reconciler may rewrite status on every run. It
//!   keeps `uid`, `creationTimestamp`, `generation` and `deletionTimestamp` when the new object
//!   omits them. Update by cloning the stored object and changing it.
//! - Workloads get the API server's defaults on every put (see `defaults.rs`), notably
//!   `updateStrategy.rollingUpdate.partition: 0` on StatefulSets; kubectl then judges a
//!   StatefulSet rollout by `status.updatedReplicas >= spec.replicas - partition`.
//! - API writes keep `status` (it belongs to the reconciler) and bump `metadata.generation`
//!   when `spec` changes; the reconciler reports `status.observedGeneration`.
//! - `kubectl rollout status statefulset/x` ends when `status.observedGeneration >=
//!   metadata.generation` (and not 0), `status.readyReplicas >= spec.replicas` and
//!   `status.updatedReplicas >= spec.replicas - partition` (printing `partitioned roll out
//!   complete: N new pods have been updated...`; kubectl `polymorphichelpers/rollout_status.go`);
//!   without a partition it needs `status.updateRevision == status.currentRevision`
//!   instead; for a Deployment when `observedGeneration >= generation`,
//!   `updatedReplicas >= spec.replicas`, `replicas <= updatedReplicas` and
//!   `availableReplicas >= updatedReplicas`. Until then it waits on a watch, which sees every
//!   later change, including one made by [`KubeHandle::reconcile_now`].
//! - A ready pod: `status.phase: Running`, `status.conditions: [{type: Ready, status: "True"}]`
//!   (`kubectl wait --for=condition=Ready`), and per container `status.containerStatuses:
//!   [{name, ready: true, restartCount, state: {running: {startedAt}}}]` (READY, STATUS and
//!   RESTARTS of `kubectl get pods`; `state.waiting.reason: CrashLoopBackOff` shows as the
//!   STATUS). `kubectl describe` counts only pods whose `metadata.ownerReferences` name the
//!   workload (`{apiVersion, kind, name, uid, controller: true}`).
//! - Logs: `kubectl logs pod -c c` prints the current log ([`KubeObjects::append_log`] lines;
//!   empty if none), `--previous` the log saved by the last [`KubeObjects::rotate_log`] (a
//!   container restart). With no rotation yet, `--previous` fails like a real cluster: exit 1,
//!   `Error from server (BadRequest): previous terminated container "c" in pod "p" not found`.
//!   The container must be in the pod's `spec.containers` (or init/ephemeral containers).
//!   Logs outlive [`KubeObjects::remove`] of the pod; [`KubeObjects::clear_logs`] forgets them.
//!   `kubectl logs -f` streams appended lines and ends when the container restarts
//!   ([`KubeObjects::rotate_log`]) or the pod is removed.
//! - Deletes: [`Reconciler::on_delete`] decides; for [`DeleteDecision::Defer`] the stand-in
//!   sets `deletionTimestamp` (and the `kubernetes.io/pvc-protection` finalizer on PVCs) and
//!   `kubectl delete` keeps waiting until the reconciler calls [`KubeObjects::remove`].
//! - [`KubeHandle::with_objects`] does not reconcile; call [`KubeHandle::reconcile_now`].
//! - A reconciler can be unit-tested on a bare [`KubeObjects::new`]; `kube/tests/reconciler.rs`
//!   is a small complete example (pods, PVCs, protection, status, rollouts).
//! - Faults: [`KubeHandle::set_hook`] installs a [`RequestHook`] that sees every request
//!   and may hold it, answer a `Status` error in place of the handler (500 `etcdserver:
//!   request timed out`, 409 Conflict, 429 TooManyRequests, 503 ServiceUnavailable, ...) or
//!   drop the connection.
//! - RBAC: [`KubeHandle::set_rbac`] enforces a Role ([`Policy::from_yaml`]) on every resource
//!   request, answering the API server's 403 `Forbidden` Status to what it does not grant
//!   (`rbac.rs`); discovery stays open.
//! - Not served: port-forward (405), OpenAPI documents (404, so `kubectl create -f` needs
//!   `--validate=false`), protobuf bodies (415, so `kubectl create configmap ...` generators
//!   fail), server-side apply, deletecollection.
//!
//! Layout: one concept per file under `kube/`: the store (`store.rs`), the resource registry
//! (`resources.rs`), API defaults (`defaults.rs`), discovery documents (`discovery.rs`),
//! Status errors (`status.rs`), selectors (`selectors.rs`), patches (`patch.rs`), tables
//! (`table.rs`), watches (`watch.rs`), the scale subresource (`scale.rs`), pod logs
//! (`logs.rs`) and following them (`follow.rs`), request routing (`handlers.rs`), the request
//! hook (`hook.rs`), the RBAC mode (`rbac.rs`), the read
//! and write verbs (`reads.rs`, `writes.rs`), response encoding (`respond.rs`), timestamps
//! (`time.rs`), the kubeconfig (`kubeconfig.rs`) and the running server (`server.rs`).

mod defaults;
mod discovery;
mod follow;
mod handlers;
mod hook;
mod kubeconfig;
mod logs;
mod patch;
mod rbac;
mod reads;
mod resources;
mod respond;
mod scale;
mod selectors;
mod server;
mod status;
mod store;
mod table;
mod time;
mod watch;
mod writes;

#[cfg(test)]
mod tests;

pub use hook::{Answer, Interference, RequestHook, RequestLine};
pub use rbac::{Policy, PolicyRule};
pub use server::{KubeHandle, start};
pub use store::KubeObjects;

use serde_json::Value;

/// Identifies one object. `group` is "" for the core API (pods, services, PVCs) and "apps" for
/// StatefulSets and Deployments. `kind` is the Kind (`StatefulSet`, `Deployment`, `Pod`,
/// `PersistentVolumeClaim`, `Service`, `Namespace`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    /// A key from its parts (`namespace` is "" for cluster-scoped kinds such as `Namespace`).
    pub fn new(group: &str, kind: &str, namespace: &str, name: &str) -> Self {
        ObjectKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The key of a full object (`apiVersion`, `kind`, `metadata.namespace`, `metadata.name`);
    /// `None` when `kind` or `metadata.name` is missing. The group is the part of `apiVersion`
    /// before `/` ("" for `v1`).
    pub fn of(object: &Value) -> Option<Self> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        let metadata = object.get("metadata")?;
        let name = metadata.get("name")?.as_str()?;
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(ObjectKey::new(group, kind, namespace, name))
    }
}

/// What to do with a delete request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteDecision {
    /// Remove the object now.
    Now,
    /// Keep it, marked terminating (`metadata.deletionTimestamp` set, finalizer
    /// `kubernetes.io/pvc-protection` for PVCs); a later reconcile removes it with
    /// [`KubeObjects::remove`] when allowed.
    Defer,
}

/// The cluster rules. Called with the store locked, so it must not block or await.
pub trait Reconciler: Send + Sync + 'static {
    /// Brings status and dependent objects (pods, PVCs, logs) in line with the specs. Called
    /// after every write through the API (create, patch, put, delete) and on every
    /// [`KubeHandle::reconcile_now`].
    fn reconcile(&self, objects: &mut KubeObjects);
    /// Decides a delete request before it happens.
    fn on_delete(&self, objects: &KubeObjects, key: &ObjectKey) -> DeleteDecision;
}
