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
//! Layout: one concept per file under `kube/`: the store (`store.rs`), the resource registry
//! (`resources.rs`), discovery documents (`discovery.rs`), Status errors (`status.rs`),
//! selectors (`selectors.rs`), patches (`patch.rs`), tables (`table.rs`), watches (`watch.rs`),
//! the scale subresource (`scale.rs`), pod logs (`logs.rs`), request routing and verbs
//! (`handlers.rs`), timestamps (`time.rs`), the kubeconfig (`kubeconfig.rs`) and the running
//! server (`server.rs`).

mod discovery;
mod handlers;
mod kubeconfig;
mod logs;
mod patch;
mod resources;
mod scale;
mod selectors;
mod server;
mod status;
mod store;
mod table;
mod time;
mod watch;

#[cfg(test)]
mod tests;

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
