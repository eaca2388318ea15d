//! sim/kube: a small stand-in for the Kubernetes API server that the real `kubectl` binary talks
//! to, over plain HTTP on 127.0.0.1. It owns the object store, the HTTP protocol kubectl speaks
//! (discovery, get/list/table, scale, merge and strategic-merge patch, delete, watch, logs) and
//! the kubeconfig it writes for itself. It knows nothing of Camunda: the rules of a cluster
//! (pods follow replicas, PVC protection, what a container logs) come from a [`Reconciler`].
//!
//! CONTRACT (agreed between the kube stand-in and the Camunda simulator; do not change the
//! signatures below without changing both sides):

use std::collections::BTreeMap;
use std::sync::Arc;

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

/// The in-memory object store. Objects are full JSON objects as the real API server would
/// return them (`apiVersion`, `kind`, `metadata`, `spec`, `status`).
pub struct KubeObjects {
    // filled in by the kube stand-in: objects by key, resourceVersion counter, watch channel,
    // pod logs (current and previous) by (namespace, pod, container).
    _private: (),
}

impl KubeObjects {
    /// The object, if present.
    pub fn get(&self, _key: &ObjectKey) -> Option<&Value> {
        todo!()
    }
    /// Creates or replaces an object; sets `metadata.resourceVersion` (and `uid`,
    /// `creationTimestamp` on create) and notifies watchers. Does not bump `generation`:
    /// the API handlers do that when a spec changes.
    pub fn put(&mut self, _object: Value) {
        todo!()
    }
    /// Removes an object and notifies watchers (`DELETED`).
    pub fn remove(&mut self, _key: &ObjectKey) -> Option<Value> {
        todo!()
    }
    /// All objects of a kind in a namespace, ordered by name.
    pub fn list(&self, _group: &str, _kind: &str, _namespace: &str) -> Vec<&Value> {
        todo!()
    }
    /// Appends a line to a container's current log.
    pub fn append_log(&mut self, _namespace: &str, _pod: &str, _container: &str, _line: &str) {
        todo!()
    }
    /// Moves the current log of a container to "previous" (what `kubectl logs --previous`
    /// shows), as a container restart does.
    pub fn rotate_log(&mut self, _namespace: &str, _pod: &str, _container: &str) {
        todo!()
    }
}

/// A running stand-in.
pub struct KubeHandle {
    _private: (),
}

impl KubeHandle {
    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        todo!()
    }
    /// Runs the reconciler now (for time-driven changes such as pods becoming ready).
    pub fn reconcile_now(&self) {
        todo!()
    }
    /// Runs `f` with the store locked (seeding objects, reading state for checks).
    pub fn with_objects<R>(&self, _f: impl FnOnce(&mut KubeObjects) -> R) -> R {
        todo!()
    }
    /// Writes a kubeconfig (cluster, user, context named `context`, namespace `namespace`)
    /// pointing at this server, to `path`.
    pub fn write_kubeconfig(
        &self,
        _path: &std::path::Path,
        _context: &str,
        _namespace: &str,
    ) -> std::io::Result<()> {
        todo!()
    }
    /// Stops serving.
    pub async fn shutdown(self) {
        todo!()
    }
}

/// Starts the stand-in on `127.0.0.1:port` (0 = any free port).
pub async fn start(
    _port: u16,
    _reconciler: Arc<dyn Reconciler>,
    _seed: Vec<Value>,
) -> std::io::Result<KubeHandle> {
    todo!()
}

#[allow(dead_code)]
fn _unused(_: BTreeMap<(), ()>) {}
