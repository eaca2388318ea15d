//! Watches (`?watch=true`): a chunked HTTP body of newline-delimited `{"type":..,"object":..}`
//! events, replayed from the store's change history after the requested resourceVersion and
//! then streamed as changes happen. A watch ends when the client goes away, after
//! `timeoutSeconds`, or when the server stops. It reads the store but never writes it.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::resources::Resource;
use super::selectors::{FieldSelector, LabelSelector};
use super::server::Shared;
use super::status::ApiError;
use super::store::{Change, ChangeType, KubeObjects};
use super::table;

/// How often an idle watch writes a blank line (the client's JSON stream decoder skips
/// whitespace). hyper notices a client that closed its connection by itself; the write also
/// surfaces a peer that vanished without closing, and keeps idle-timeouts of proxies at bay.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Which objects a watch (or list) covers.
#[derive(Clone)]
pub(crate) struct Filter {
    pub resource: &'static Resource,
    /// `None` for all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// Events carry one-row Tables instead of objects (`kubectl get -w` asks for them).
    pub table: bool,
}

impl Filter {
    /// Whether the object belongs to the watched kind and scope and passes the selectors.
    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    fn in_scope(&self, change: &Change) -> bool {
        change.key.group == self.resource.group
            && change.key.kind == self.resource.kind
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == change.key.namespace)
    }

    /// A watch event of this watch, with the object as a Table when asked for one.
    fn event(&self, kind: &str, object: &Value) -> Value {
        if !self.table {
            return event(kind, object);
        }
        let revision = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|rv| rv.parse().ok())
            .unwrap_or_default();
        event(kind, &table::table(self.resource, &[object], revision))
    }

    /// The objects a list returns: in scope and selected, ordered by namespace and name.
    pub fn select<'a>(&self, store: &'a KubeObjects) -> Vec<&'a Value> {
        let r = self.resource;
        let all = match &self.namespace {
            Some(ns) => store.list(r.group, r.kind, ns),
            None => store.list_all(r.group, r.kind),
        };
        all.into_iter().filter(|o| self.matches(o)).collect()
    }
}

/// Where a watch starts.
pub(crate) struct Start {
    /// Changes after this revision are streamed.
    pub revision: u64,
    /// Events sent first (synthetic `ADDED` for a watch without a resourceVersion).
    pub initial: Vec<Value>,
}

impl Start {
    /// Computes the start from the request's `resourceVersion` and `sendInitialEvents`, with
    /// the store locked so nothing slips between the initial state and the stream. Without a
    /// resourceVersion (or "0") the watch begins with the current objects as `ADDED`, as on a
    /// real server; `sendInitialEvents=true` also ends them with the initial-events-end
    /// BOOKMARK that client-go's streaming list waits for.
    pub fn new(
        store: &KubeObjects,
        filter: &Filter,
        resource_version: Option<&str>,
        send_initial_events: bool,
    ) -> Result<Self, ApiError> {
        let requested = match resource_version.filter(|rv| !rv.is_empty()) {
            None => 0,
            Some(rv) => rv
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        };
        if requested > 0 && !send_initial_events {
            return Ok(Start {
                revision: requested,
                initial: Vec::new(),
            });
        }
        let revision = store.revision();
        let mut initial: Vec<Value> = filter
            .select(store)
            .into_iter()
            .map(|o| filter.event("ADDED", o))
            .collect();
        if send_initial_events {
            let r = filter.resource;
            let bookmark = json!({
                "kind": r.kind,
                "apiVersion": r.api_version(),
                "metadata": {
                    "resourceVersion": revision.to_string(),
                    "annotations": {"k8s.io/initial-events-end": "true"}
                }
            });
            initial.push(event("BOOKMARK", &bookmark));
        }
        Ok(Start { revision, initial })
    }
}

/// The streaming response of a watch.
pub(crate) fn response(
    shared: Arc<Shared>,
    filter: Filter,
    start: Start,
    timeout: Option<Duration>,
) -> Response {
    let body = Body::from_stream(events(shared, filter, start, timeout));
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The state of one open watch; counted in [`Shared::watches`] while it exists, so the count
/// drops when the stream ends or the connection goes away (the body, and this, are dropped).
struct WatchState {
    shared: Arc<Shared>,
    changed: tokio::sync::watch::Receiver<u64>,
    filter: Filter,
    last: u64,
    pending: Option<Bytes>,
    deadline: Option<Instant>,
    done: bool,
}

impl Drop for WatchState {
    fn drop(&mut self) {
        self.shared.watches.fetch_sub(1, Ordering::SeqCst);
    }
}

fn events(
    shared: Arc<Shared>,
    filter: Filter,
    start: Start,
    timeout: Option<Duration>,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let changed = shared.lock().subscribe();
    let initial: String = start.initial.iter().map(line).collect();
    shared.watches.fetch_add(1, Ordering::SeqCst);
    let state = WatchState {
        shared,
        changed,
        filter,
        last: start.revision,
        pending: (!initial.is_empty()).then(|| Bytes::from(initial)),
        deadline: timeout.map(|t| Instant::now() + t),
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        if let Some(first) = st.pending.take() {
            return Some((Ok(first), st));
        }
        if st.done {
            return None;
        }
        let chunk = next_chunk(&mut st).await?;
        Some((Ok(chunk), st))
    })
}

/// Waits for the next events (or a heartbeat); `None` ends the watch.
async fn next_chunk(st: &mut WatchState) -> Option<Bytes> {
    loop {
        // Mark the current revision seen before reading, so a change made after the read
        // wakes the wait below.
        st.changed.borrow_and_update();
        let changes = st.shared.lock().changes_since(st.last);
        let Some(changes) = changes else {
            st.done = true;
            let status = ApiError::expired(st.last).to_status();
            return Some(Bytes::from(line(&event("ERROR", &status))));
        };
        if let Some(last) = changes.last() {
            st.last = last.revision;
        }
        let lines: String = changes
            .iter()
            .filter_map(|c| translate(&st.filter, c))
            .map(|e| line(&e))
            .collect();
        if !lines.is_empty() {
            return Some(Bytes::from(lines));
        }
        let deadline = st.deadline;
        let until_deadline = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = st.changed.changed() => changed.ok()?,
            () = st.shared.stop.cancelled() => return None,
            () = until_deadline => return None,
            () = tokio::time::sleep(HEARTBEAT) => return Some(Bytes::from_static(b"\n")),
        }
    }
}

/// The event a change means for this watch: an object entering the selection is `ADDED`,
/// one leaving it `DELETED`, as a real server's filtered watch reports.
fn translate(filter: &Filter, change: &Change) -> Option<Value> {
    if !filter.in_scope(change) {
        return None;
    }
    let was = change.previous.as_ref().is_some_and(|p| filter.matches(p));
    let is = change.change != ChangeType::Deleted && filter.matches(&change.object);
    let kind = match (was, is) {
        (false, true) => "ADDED",
        (true, true) => "MODIFIED",
        (true, false) => "DELETED",
        (false, false) => return None,
    };
    Some(filter.event(kind, &change.object))
}

fn event(kind: &str, object: &Value) -> Value {
    json!({"type": kind, "object": object})
}

fn line(event: &Value) -> String {
    format!("{event}\n")
}
