//! Request routing: parses `/api/v1/...` and `/apis/<group>/<version>/...` paths and the query,
//! answers discovery, and hands resource requests to the read verbs (`reads.rs`) or the write
//! verbs (`writes.rs`). Client input never panics: anything malformed is a `Status` error.
//! Owns no state of its own.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::hook::{Answer, Interference, RequestHook, RequestLine};
use super::rbac::Attributes;
use super::resources::{self, Resource};
use super::respond::{dropped_connection, json_response};
use super::selectors::{FieldSelector, LabelSelector};
use super::server::Shared;
use super::status::ApiError;
use super::watch::Filter;
use super::{ObjectKey, discovery, reads, table, writes};

/// The router: every path goes through [`handle`], which does its own routing (the URL space
/// is data-driven by the resource registry).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// One request, as the verbs need it.
pub(crate) struct Request {
    pub method: Method,
    pub query: Vec<(String, String)>,
    pub accept: String,
    pub content_type: String,
    pub body: Bytes,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }

    pub fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.param(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid {name} {v:?}")))
            })
            .transpose()
    }

    /// `dryRun=All` (`kubectl --dry-run=server`): validate and answer, but change nothing.
    pub fn dry_run(&self) -> bool {
        self.param("dryRun") == Some("All")
    }

    /// The body as JSON (an empty body reads as `null`). Other formats get 415, as a real
    /// server answers a format it does not read. (kubectl's typed clients send protobuf for
    /// core kinds, e.g. `kubectl create configmap`; kubectl 1.32 does not retry those in
    /// JSON, so such generator commands are not supported. Commands that go through the
    /// resource builder (`create -f`, `apply`-less patch/scale/delete/set) send JSON.)
    pub fn json_body(&self) -> Result<Value, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        let media = self
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        if !media.is_empty() && media != "application/json" && !media.ends_with("+json") {
            return Err(ApiError::unsupported_media_type(
                &self.content_type,
                JSON_TYPES,
            ));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
    }
}

/// The body formats the stand-in reads.
pub(crate) const JSON_TYPES: &str = "application/json, application/json-patch+json, \
     application/merge-patch+json, application/strategic-merge-patch+json";

/// What a resource path names.
pub(crate) struct Target {
    pub resource: &'static Resource,
    /// `None` for a cluster-scoped kind, or a list across all namespaces.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    pub fn key(&self, name: &str) -> ObjectKey {
        let r = self.resource;
        ObjectKey::new(
            r.group,
            r.kind,
            self.namespace.as_deref().unwrap_or(""),
            name,
        )
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let request = Request {
        method,
        query: url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect(),
        accept: header_text(header::ACCEPT),
        content_type: header_text(header::CONTENT_TYPE),
        body,
    };
    tracing::debug!(method = %request.method, %uri, "sim/kube request");
    let line = RequestLine {
        method: request.method.as_str().to_ascii_uppercase(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
    };
    let mut watched = Watched::new(shared.hook.get().cloned(), line);
    let interference = watched.arrived();
    if interference.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(interference.latency_ms)).await;
    }
    let dropped = interference.answer == Some(Answer::Drop);
    let response = match interference.answer {
        Some(Answer::Drop) => dropped_connection(),
        Some(Answer::Status { code, message }) => {
            injected(uri.path(), code, message).into_response()
        }
        None => authorize(&shared, uri.path(), &request)
            .and_then(|()| route(&shared, uri.path(), &request))
            .unwrap_or_else(IntoResponse::into_response),
    };
    watched.answered(if dropped {
        0
    } else {
        response.status().as_u16()
    });
    response
}

/// A request under the hook's eyes: `answered` is reported exactly once, with status 0 when
/// the client went away first (the handler's future is dropped, e.g. on kubectl's
/// `--request-timeout` while a fault holds the request).
struct Watched {
    hook: Option<Arc<dyn RequestHook>>,
    line: RequestLine,
    done: bool,
}

impl Watched {
    fn new(hook: Option<Arc<dyn RequestHook>>, line: RequestLine) -> Self {
        Watched {
            hook,
            line,
            done: false,
        }
    }

    fn arrived(&self) -> Interference {
        self.hook
            .as_ref()
            .map(|h| h.arrived(&self.line))
            .unwrap_or_default()
    }

    fn answered(&mut self, status: u16) {
        self.done = true;
        if let Some(h) = &self.hook {
            h.answered(&self.line, status);
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if !self.done {
            self.answered(0);
        }
    }
}

/// The `Status` an injected fault answers, named after the object the path addresses.
fn injected(path: &str, code: u16, message: Option<String>) -> ApiError {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let target = match segments.as_slice() {
        ["api", "v1", rest @ ..] => target("", "v1", rest),
        ["apis", group, version, rest @ ..] => target(group, version, rest),
        _ => None,
    };
    let object = target
        .as_ref()
        .map(|t| (t.resource, t.name.as_deref().unwrap_or("")));
    ApiError::injected(code, message, object)
}

/// The RBAC mode's decision (`rbac.rs`): only resource requests are checked; discovery and
/// paths the server does not serve pass (routing answers those).
fn authorize(shared: &Shared, path: &str, req: &Request) -> Result<(), ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let t = match segments.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => target("", "v1", rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => target(group, version, rest),
        _ => None,
    };
    match t {
        Some(t) => shared
            .rbac
            .authorize(&Attributes::of(&req.method, &t, req.flag("watch"))),
        None => Ok(()),
    }
}

fn route(shared: &Arc<Shared>, path: &str, req: &Request) -> Result<Response, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let document = match segments.as_slice() {
        ["version"] => Some(discovery::version()),
        ["api"] => Some(discovery::core_versions()),
        ["apis"] => Some(discovery::group_list()),
        ["api", version] => discovery::resource_list("", version),
        ["apis", group] => discovery::group(group),
        ["apis", group, version] => discovery::resource_list(group, version),
        ["api", "v1", rest @ ..] => return resource_request(shared, "", "v1", rest, req),
        ["apis", group, version, rest @ ..] => {
            return resource_request(shared, group, version, rest, req);
        }
        _ => None,
    };
    match document {
        Some(doc) if req.method == Method::GET => Ok(json_response(StatusCode::OK, &doc)),
        Some(_) => Err(ApiError::method_not_allowed(
            "discovery documents are read-only",
        )),
        None => Err(ApiError::no_route()),
    }
}

/// Resolves `rest` (what follows the group version) into a [`Target`].
fn target(group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let namespaced = match rest {
        ["namespaces", ns, plural, tail @ ..] => resources::by_plural(group, version, plural)
            .filter(|r| r.namespaced)
            .map(|r| (r, Some(ns.to_string()), tail)),
        _ => None,
    };
    let (resource, namespace, tail) = match namespaced {
        Some(found) => found,
        None => {
            let [plural, tail @ ..] = rest else {
                return None;
            };
            let r = resources::by_plural(group, version, plural)?;
            // A namespaced kind without a namespace is a list across all namespaces only.
            if r.namespaced && !tail.is_empty() {
                return None;
            }
            (r, None, tail)
        }
    };
    let (name, subresource) = match tail {
        [] => (None, None),
        [name] => (Some(name.to_string()), None),
        [name, sub] if resource.has_subresource(sub) => {
            (Some(name.to_string()), Some(sub.to_string()))
        }
        _ => return None,
    };
    Some(Target {
        resource,
        namespace,
        name,
        subresource,
    })
}

fn resource_request(
    shared: &Arc<Shared>,
    group: &str,
    version: &str,
    rest: &[&str],
    req: &Request,
) -> Result<Response, ApiError> {
    let t = target(group, version, rest).ok_or_else(ApiError::no_route)?;
    let name = t.name.clone();
    let sub = t.subresource.clone();
    match (&req.method, name.as_deref(), sub.as_deref()) {
        (&Method::GET, None, None) if req.flag("watch") => reads::watch(shared, &t, req),
        (&Method::GET, None, None) => reads::list(shared, &t, req),
        (&Method::POST, None, None) => writes::create(shared, &t, req),
        (&Method::GET, Some(n), None | Some("status")) => reads::get(shared, &t, n, req),
        (&Method::PUT, Some(n), None) => writes::replace(shared, &t, n, req),
        (&Method::PATCH, Some(n), None) => writes::patch(shared, &t, n, req),
        (&Method::DELETE, Some(n), None) => writes::delete(shared, &t, n, req),
        (&Method::GET, Some(n), Some("scale")) => reads::scale(shared, &t, n),
        (&Method::PUT | &Method::PATCH, Some(n), Some("scale")) => {
            writes::scale(shared, &t, n, req)
        }
        (&Method::GET, Some(n), Some("log")) => reads::pod_log(shared, &t, n, req),
        (_, Some(_), Some("portforward")) => Err(ApiError::method_not_allowed(
            "port-forward is not supported by the simulator; its components listen on local ports",
        )),
        (method, _, _) => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on this path"
        ))),
    }
}

pub(crate) fn filter(t: &Target, req: &Request) -> Result<Filter, ApiError> {
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    Ok(Filter {
        resource: t.resource,
        namespace: t.namespace.clone(),
        labels,
        fields,
        table: table::wanted(&req.accept),
    })
}
