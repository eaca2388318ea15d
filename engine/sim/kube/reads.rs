//! The read verbs: get (JSON or a one-row Table), list (JSON or Table, with selectors),
//! watch, the scale subresource and pod logs. They lock the store only to read it.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::follow::{self, Follow};
use super::handlers::{Request, Target, filter};
use super::logs::{self, LogRequest};
use super::respond::{json_response, object_response, typed_response, typed_response_text};
use super::scale as scale_object;
use super::server::Shared;
use super::status::ApiError;
use super::table;
use super::watch::{self as watches, Start};

/// GET of one object (or its `status` subresource, which is the whole object here).
pub(crate) fn get(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let store = shared.lock();
    let object = store
        .get(&t.key(name))
        .ok_or_else(|| ApiError::not_found(t.resource, name))?;
    Ok(object_response(
        StatusCode::OK,
        t.resource,
        object,
        &store,
        req,
    ))
}

/// GET of a collection, filtered by label and field selectors; `limit` and `continue` are
/// ignored (everything fits in one page).
pub(crate) fn list(shared: &Arc<Shared>, t: &Target, req: &Request) -> Result<Response, ApiError> {
    let filter = filter(t, req)?;
    let store = shared.lock();
    let items = filter.select(&store);
    if table::wanted(&req.accept) {
        let doc = table::table(t.resource, &items, store.revision());
        return Ok(typed_response(StatusCode::OK, &doc, table::CONTENT_TYPE));
    }
    let doc = json!({
        "kind": format!("{}List", t.resource.kind),
        "apiVersion": t.resource.api_version(),
        "metadata": {"resourceVersion": store.revision().to_string()},
        "items": items,
    });
    Ok(json_response(StatusCode::OK, &doc))
}

/// GET of a collection with `watch=true`: a streaming watch.
pub(crate) fn watch(shared: &Arc<Shared>, t: &Target, req: &Request) -> Result<Response, ApiError> {
    let filter = filter(t, req)?;
    let start = {
        let store = shared.lock();
        Start::new(
            &store,
            &filter,
            req.param("resourceVersion"),
            req.flag("sendInitialEvents"),
        )?
    };
    let timeout = req.number("timeoutSeconds")?.map(Duration::from_secs);
    Ok(watches::response(shared.clone(), filter, start, timeout))
}

/// GET of `.../scale`.
pub(crate) fn scale(shared: &Arc<Shared>, t: &Target, name: &str) -> Result<Response, ApiError> {
    let store = shared.lock();
    let object = store
        .get(&t.key(name))
        .ok_or_else(|| ApiError::not_found(t.resource, name))?;
    Ok(json_response(StatusCode::OK, &scale_object::of(object)))
}

/// GET of `pods/<pod>/log`: the log as text, or a stream with `follow=true`.
pub(crate) fn pod_log(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let tail = req.param("tailLines").and_then(|v| v.parse::<i64>().ok());
    let log_request = LogRequest {
        namespace: t.namespace.as_deref().unwrap_or_default(),
        pod: name,
        container: req.param("container"),
        previous: req.flag("previous"),
        // Negative tailLines means "all", as in kubectl.
        tail_lines: tail.and_then(|n| usize::try_from(n).ok()),
        limit_bytes: req
            .number("limitBytes")?
            .and_then(|n| usize::try_from(n).ok()),
    };
    let store = shared.lock();
    let (container, text) = logs::read(&store, t.resource, &log_request)?;
    if !req.flag("follow") || log_request.previous {
        return Ok(typed_response_text(StatusCode::OK, text, "text/plain"));
    }
    let cursor = store.log_cursor(log_request.namespace, name, &container);
    let follow = Follow {
        namespace: log_request.namespace.to_string(),
        pod: name.to_string(),
        offset: cursor.current.len(),
        restarts: cursor.restarts,
        container,
    };
    drop(store);
    Ok(follow::response(shared.clone(), text, follow))
}
