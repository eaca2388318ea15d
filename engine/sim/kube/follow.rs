//! `kubectl logs -f` (`follow=true`): streams a container's log as it grows. The stream ends,
//! as on a real cluster, when the container restarts (after the rest of its log, which
//! [`KubeObjects::rotate_log`](super::KubeObjects::rotate_log) moved to "previous"), when
//! the pod or its logs go away, when the client leaves or when the server stops. Reads the
//! store, never writes it.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ObjectKey;
use super::server::Shared;

/// What to follow and from where.
pub(crate) struct Follow {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// Bytes of the current log already sent.
    pub offset: usize,
    /// Rotations seen when the stream began.
    pub restarts: u64,
}

/// The streaming response: `first` (what a plain read returned), then new log text.
pub(crate) fn response(shared: Arc<Shared>, first: String, follow: Follow) -> Response {
    let changed = shared.lock().subscribe();
    let state = (shared, changed, follow, Some(first), false);
    let stream = futures::stream::unfold(
        state,
        |(shared, mut changed, mut f, first, done)| async move {
            if let Some(text) = first.filter(|t| !t.is_empty()) {
                return Some((
                    Ok::<_, Infallible>(Bytes::from(text)),
                    (shared, changed, f, None, done),
                ));
            }
            if done {
                return None;
            }
            let (text, done) = next_text(&shared, &mut changed, &mut f).await?;
            Some((Ok(Bytes::from(text)), (shared, changed, f, None, done)))
        },
    );
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Waits for new log text; the flag says the stream ends after it. `None` ends it now.
async fn next_text(
    shared: &Shared,
    changed: &mut tokio::sync::watch::Receiver<u64>,
    f: &mut Follow,
) -> Option<(String, bool)> {
    loop {
        changed.borrow_and_update();
        if let Some(found) = read_new(shared, f) {
            return found;
        }
        tokio::select! {
            result = changed.changed() => result.ok()?,
            () = shared.stop.cancelled() => return None,
        }
    }
}

/// `Some(None)`: the stream is over; `Some(Some(..))`: text to send; `None`: nothing yet.
fn read_new(shared: &Shared, f: &mut Follow) -> Option<Option<(String, bool)>> {
    let store = shared.lock();
    let pod = ObjectKey::new("", "Pod", &f.namespace, &f.pod);
    if store.get(&pod).is_none() {
        return Some(None);
    }
    let cursor = store.log_cursor(&f.namespace, &f.pod, &f.container);
    if cursor.restarts != f.restarts {
        // The container restarted: the rest of the old run's log, then the end.
        let rest = cursor
            .previous
            .and_then(|p| p.get(f.offset..))
            .unwrap_or_default()
            .to_string();
        return Some(Some((rest, true)));
    }
    match cursor.current.len() {
        len if len > f.offset => {
            let text = cursor
                .current
                .get(f.offset..)
                .unwrap_or_default()
                .to_string();
            f.offset = len;
            Some(Some((text, false)))
        }
        len if len < f.offset => Some(None),
        _ => None,
    }
}
