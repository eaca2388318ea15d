//! The in-memory object store: objects by key, the resourceVersion counter, the history of
//! changes that watches replay, and container logs. It must not know HTTP or any cluster rule:
//! handlers validate requests before writing, the reconciler decides what exists.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::ObjectKey;
use super::{defaults, time};

/// How many changes the store remembers for watches that resume from a resourceVersion. A
/// watch asking for something older gets `410 Expired` and kubectl relists, as with a real
/// server whose watch cache has moved on.
const HISTORY: usize = 4096;

/// The kind of a change, as a watch event names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeType {
    Added,
    Modified,
    Deleted,
}

/// One change to one object. `previous` is the object before the change (for `Modified` and
/// `Deleted`), so that a watch with a selector can tell an object leaving its selection.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub revision: u64,
    pub change: ChangeType,
    pub key: ObjectKey,
    pub object: Value,
    pub previous: Option<Value>,
}

/// Logs of one container: what it writes now and what its previous run wrote.
#[derive(Default, Debug)]
struct ContainerLog {
    current: String,
    previous: Option<String>,
    /// How often the log was rotated (container restarts); a follower ends on a change.
    restarts: u64,
}

/// Where a container's log stands, for `kubectl logs -f`.
pub(crate) struct LogCursor<'a> {
    pub restarts: u64,
    pub current: &'a str,
    pub previous: Option<&'a str>,
}

/// The in-memory object store. Objects are full JSON objects as the real API server would
/// return them (`apiVersion`, `kind`, `metadata`, `spec`, `status`).
pub struct KubeObjects {
    objects: BTreeMap<ObjectKey, Value>,
    revision: u64,
    uids: u64,
    history: VecDeque<Change>,
    logs: BTreeMap<(String, String, String), ContainerLog>,
    changed: watch::Sender<u64>,
}

impl Default for KubeObjects {
    fn default() -> Self {
        Self::new()
    }
}

impl KubeObjects {
    /// An empty store (resourceVersion 1, as a fresh cluster has some history).
    pub fn new() -> Self {
        let (changed, _) = watch::channel(1);
        KubeObjects {
            objects: BTreeMap::new(),
            revision: 1,
            uids: 0,
            history: VecDeque::new(),
            logs: BTreeMap::new(),
            changed,
        }
    }

    /// The object, if present.
    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Creates or replaces an object; sets `metadata.resourceVersion` (and `uid`,
    /// `creationTimestamp` on create) and notifies watchers. Does not bump `generation`:
    /// the API handlers do that when a spec changes.
    ///
    /// Also: `metadata.generation` is set to 1 on create when absent; a replacement that
    /// lacks `uid`, `creationTimestamp`, `generation` or `deletionTimestamp` keeps the stored
    /// ones (so a reconciler may build objects from scratch); a replacement equal to the
    /// stored object changes nothing (no new resourceVersion, no watch event), as on a real
    /// server. StatefulSets and Deployments get the API server's defaults for missing fields
    /// (`defaults.rs`). An object without `kind` or `metadata.name` is ignored with a warning.
    pub fn put(&mut self, object: Value) {
        let Some(key) = ObjectKey::of(&object) else {
            tracing::warn!("sim/kube: ignoring an object without kind or metadata.name");
            return;
        };
        let mut object = object;
        defaults::apply(&mut object);
        let previous = self.objects.get(&key).cloned();
        match &previous {
            Some(old) => keep_server_fields(&mut object, old),
            None => self.fill_create_fields(&mut object),
        }
        if previous.as_ref() == Some(&object) {
            return;
        }
        let revision = self.next_revision();
        set_metadata(&mut object, "resourceVersion", json!(revision.to_string()));
        let change = if previous.is_some() {
            ChangeType::Modified
        } else {
            ChangeType::Added
        };
        self.objects.insert(key.clone(), object.clone());
        self.record(change, key, object, previous);
    }

    /// Removes an object and notifies watchers (`DELETED`). Its container logs stay (a
    /// reconciler that recreates a pod under the same name clears them with
    /// [`KubeObjects::clear_logs`] if it wants a fresh start).
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Value> {
        let previous = self.objects.remove(key)?;
        let revision = self.next_revision();
        let mut object = previous.clone();
        set_metadata(&mut object, "resourceVersion", json!(revision.to_string()));
        self.record(
            ChangeType::Deleted,
            key.clone(),
            object.clone(),
            Some(previous),
        );
        Some(object)
    }

    /// All objects of a kind in a namespace, ordered by name.
    pub fn list(&self, group: &str, kind: &str, namespace: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == group && k.kind == kind && k.namespace == namespace)
            .map(|(_, v)| v)
            .collect()
    }

    /// All objects of a kind in every namespace, ordered by namespace then name.
    pub fn list_all(&self, group: &str, kind: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == group && k.kind == kind)
            .map(|(_, v)| v)
            .collect()
    }

    /// Appends a line to a container's current log (a trailing newline is added when the
    /// line has none, so `kubectl logs` prints one line per call).
    pub fn append_log(&mut self, namespace: &str, pod: &str, container: &str, line: &str) {
        let log = self.log_entry(namespace, pod, container);
        log.current.push_str(line);
        if !line.ends_with('\n') {
            log.current.push('\n');
        }
        // Wakes log followers (watches find no new change and wait again).
        self.changed.send_replace(self.revision);
    }

    /// Moves the current log of a container to "previous" (what `kubectl logs --previous`
    /// shows), as a container restart does.
    pub fn rotate_log(&mut self, namespace: &str, pod: &str, container: &str) {
        let log = self.log_entry(namespace, pod, container);
        log.previous = Some(std::mem::take(&mut log.current));
        log.restarts += 1;
        self.changed.send_replace(self.revision);
    }

    /// Forgets every log of a pod (current and previous), as a recreated pod starts fresh.
    pub fn clear_logs(&mut self, namespace: &str, pod: &str) {
        self.logs
            .retain(|(ns, p, _), _| !(ns == namespace && p == pod));
        self.changed.send_replace(self.revision);
    }

    /// The state of a container's log for a follower.
    pub(crate) fn log_cursor(&self, namespace: &str, pod: &str, container: &str) -> LogCursor<'_> {
        let key = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        match self.logs.get(&key) {
            Some(log) => LogCursor {
                restarts: log.restarts,
                current: &log.current,
                previous: log.previous.as_deref(),
            },
            None => LogCursor {
                restarts: 0,
                current: "",
                previous: None,
            },
        }
    }

    /// A container's log: the current one, or with `previous` the one before the last
    /// [`KubeObjects::rotate_log`]. `None` for a previous log when there was no restart; the
    /// current log of a container that never logged is empty.
    pub fn log(&self, namespace: &str, pod: &str, container: &str, previous: bool) -> Option<&str> {
        let key = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        let log = self.logs.get(&key);
        if previous {
            log.and_then(|l| l.previous.as_deref())
        } else {
            Some(log.map_or("", |l| l.current.as_str()))
        }
    }

    /// The resourceVersion of the latest change (what lists report).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Changes after `revision` in order; `None` when the history no longer reaches back
    /// that far (the watch must then report `410 Expired`).
    pub(crate) fn changes_since(&self, revision: u64) -> Option<Vec<Change>> {
        if let Some(oldest) = self.history.front()
            && revision.saturating_add(1) < oldest.revision
        {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|c| c.revision > revision)
                .cloned()
                .collect(),
        )
    }

    /// A receiver that wakes whenever the store changes (the value is the new revision).
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    fn record(
        &mut self,
        change: ChangeType,
        key: ObjectKey,
        object: Value,
        previous: Option<Value>,
    ) {
        self.history.push_back(Change {
            revision: self.revision,
            change,
            key,
            object,
            previous,
        });
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        self.changed.send_replace(self.revision);
    }

    fn fill_create_fields(&mut self, object: &mut Value) {
        self.uids += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", self.uids);
        let meta = metadata_mut(object);
        meta.entry("uid").or_insert(json!(uid));
        meta.entry("creationTimestamp")
            .or_insert(json!(time::now_rfc3339()));
        meta.entry("generation").or_insert(json!(1));
        meta.remove("resourceVersion");
    }

    fn log_entry(&mut self, namespace: &str, pod: &str, container: &str) -> &mut ContainerLog {
        let key = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        self.logs.entry(key).or_default()
    }
}

/// Fields the server owns that a replacement may leave out; the stored values stay. The
/// stored resourceVersion is copied too, so that an unchanged replacement compares equal.
fn keep_server_fields(object: &mut Value, old: &Value) {
    let Some(old_meta) = old.get("metadata").and_then(Value::as_object) else {
        return;
    };
    let meta = metadata_mut(object);
    for field in [
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
    ] {
        if let Some(value) = old_meta.get(field)
            && !meta.contains_key(field)
        {
            meta.insert(field.to_string(), value.clone());
        }
    }
    match old_meta.get("resourceVersion") {
        Some(rv) => meta.insert("resourceVersion".to_string(), rv.clone()),
        None => meta.remove("resourceVersion"),
    };
}

/// `metadata` as a map, created when missing or not an object.
pub(crate) fn metadata_mut(object: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !object.is_object() {
        *object = json!({});
    }
    let map = object.as_object_mut().expect("made an object above");
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().expect("made an object above")
}

fn set_metadata(object: &mut Value, field: &str, value: Value) {
    metadata_mut(object).insert(field.to_string(), value);
}
