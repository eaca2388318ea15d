//! Request routing and the API verbs: parses `/api/v1/...` and `/apis/<group>/<version>/...`
//! paths, then answers get, list (JSON or Table), watch, create, replace, patch, delete, the
//! scale subresource and pod logs. Every write runs the reconciler with the store still locked;
//! watchers wake once the lock is released. Client input never panics: anything malformed is
//! a `Status` error. Owns no state of its own.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::logs::{self, LogRequest};
use super::patch::{self, PatchType};
use super::resources::{self, Resource};
use super::scale;
use super::selectors::{FieldSelector, LabelSelector};
use super::server::Shared;
use super::status::ApiError;
use super::store::{KubeObjects, metadata_mut};
use super::watch::{self, Filter, Start};
use super::{DeleteDecision, ObjectKey, defaults, discovery, table, time};

/// The router: every path goes through [`handle`], which does its own routing (the URL space
/// is data-driven by the resource registry).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// One request, as the verbs need it.
struct Request {
    method: Method,
    query: Vec<(String, String)>,
    accept: String,
    content_type: String,
    body: Bytes,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }

    fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.param(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid {name} {v:?}")))
            })
            .transpose()
    }

    /// `dryRun=All` (`kubectl --dry-run=server`): validate and answer, but change nothing.
    fn dry_run(&self) -> bool {
        self.param("dryRun") == Some("All")
    }

    /// The body as JSON (an empty body reads as `null`). Other formats get 415, as a real
    /// server answers a format it does not read. (kubectl's typed clients send protobuf for
    /// core kinds, e.g. `kubectl create configmap`; kubectl 1.32 does not retry those in
    /// JSON, so such generator commands are not supported. Commands that go through the
    /// resource builder (`create -f`, `apply`-less patch/scale/delete/set) send JSON.)
    fn json_body(&self) -> Result<Value, ApiError> {
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
const JSON_TYPES: &str = "application/json, application/json-patch+json, \
     application/merge-patch+json, application/strategic-merge-patch+json";

/// What a resource path names.
struct Target {
    resource: &'static Resource,
    /// `None` for a cluster-scoped kind, or a list across all namespaces.
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

impl Target {
    fn key(&self, name: &str) -> ObjectKey {
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
    route(&shared, uri.path(), &request).unwrap_or_else(IntoResponse::into_response)
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
        (&Method::GET, None, None) if req.flag("watch") => watch_request(shared, &t, req),
        (&Method::GET, None, None) => list(shared, &t, req),
        (&Method::POST, None, None) => create(shared, &t, req),
        (&Method::GET, Some(n), None | Some("status")) => get(shared, &t, n, req),
        (&Method::PUT, Some(n), None) => replace(shared, &t, n, req),
        (&Method::PATCH, Some(n), None) => patch_object(shared, &t, n, req),
        (&Method::DELETE, Some(n), None) => delete(shared, &t, n, req),
        (&Method::GET, Some(n), Some("scale")) => get_scale(shared, &t, n),
        (&Method::PUT | &Method::PATCH, Some(n), Some("scale")) => write_scale(shared, &t, n, req),
        (&Method::GET, Some(n), Some("log")) => pod_log(shared, &t, n, req),
        (_, Some(_), Some("portforward")) => Err(ApiError::method_not_allowed(
            "port-forward is not supported by the simulator; its components listen on local ports",
        )),
        (method, _, _) => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on this path"
        ))),
    }
}

fn filter(t: &Target, req: &Request) -> Result<Filter, ApiError> {
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

fn get(shared: &Arc<Shared>, t: &Target, name: &str, req: &Request) -> Result<Response, ApiError> {
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

fn list(shared: &Arc<Shared>, t: &Target, req: &Request) -> Result<Response, ApiError> {
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

fn watch_request(shared: &Arc<Shared>, t: &Target, req: &Request) -> Result<Response, ApiError> {
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
    Ok(watch::response(shared.clone(), filter, start, timeout))
}

fn create(shared: &Arc<Shared>, t: &Target, req: &Request) -> Result<Response, ApiError> {
    let r = t.resource;
    let mut object = req.json_body()?;
    if !object.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    object["apiVersion"] = json!(r.api_version());
    object["kind"] = json!(r.kind);
    let mut store = shared.lock();
    let name = {
        let meta = metadata_mut(&mut object);
        if let (Some(ns), Some(given)) =
            (&t.namespace, meta.get("namespace").and_then(Value::as_str))
            && !given.is_empty()
            && given != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        match &t.namespace {
            Some(ns) => meta.insert("namespace".to_string(), json!(ns)),
            None => meta.remove("namespace"),
        };
        let generated = meta
            .get("generateName")
            .and_then(Value::as_str)
            .filter(|g| !g.is_empty())
            .map(|g| format!("{g}{:05x}", store.revision() & 0xfffff));
        let name = meta.get("name").and_then(Value::as_str).map(str::to_string);
        match name.filter(|n| !n.is_empty()).or(generated) {
            Some(n) => {
                meta.insert("name".to_string(), json!(n));
                n
            }
            None => {
                return Err(ApiError::invalid(
                    r,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
        }
    };
    let key = t.key(&name);
    if store.get(&key).is_some() {
        return Err(ApiError::already_exists(r, &name));
    }
    metadata_mut(&mut object).remove("resourceVersion");
    if req.dry_run() {
        return Ok(object_response(
            StatusCode::CREATED,
            r,
            &object,
            &store,
            req,
        ));
    }
    store.put(object.clone());
    shared.reconcile(&mut store);
    let stored = store.get(&key).cloned().unwrap_or(object);
    Ok(object_response(
        StatusCode::CREATED,
        r,
        &stored,
        &store,
        req,
    ))
}

fn replace(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let body = req.json_body()?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    let given = body.pointer("/metadata/name").and_then(Value::as_str);
    if given.is_some_and(|g| g != name) {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    update(shared, t, name, req, |_| Ok(body.clone()))
}

fn patch_object(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let kind = PatchType::from_content_type(&req.content_type)
        .ok_or_else(|| ApiError::unsupported_media_type(&req.content_type, JSON_TYPES))?;
    let body = req.json_body()?;
    let r = t.resource;
    update(shared, t, name, req, |old| {
        patch::apply(kind, old, &body).map_err(|m| ApiError::invalid(r, name, m))
    })
}

/// The shared write path of replace and patch: computes the new object from the stored one,
/// applies the server's rules ([`finish_update`]), stores it, reconciles, and answers with the
/// object as it stands after the reconcile.
fn update(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Request,
    change: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    let key = t.key(name);
    let mut store = shared.lock();
    let old = store
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(t.resource, name))?;
    let new = finish_update(t.resource, name, &old, change(&old)?)?;
    if req.dry_run() {
        return Ok(object_response(
            StatusCode::OK,
            t.resource,
            &new,
            &store,
            req,
        ));
    }
    let done = remove_if_finalized(&mut store, &key, &old, &new);
    if !done {
        store.put(new.clone());
    }
    shared.reconcile(&mut store);
    let stored = store.get(&key).cloned().unwrap_or(new);
    Ok(object_response(
        StatusCode::OK,
        t.resource,
        &stored,
        &store,
        req,
    ))
}

/// What the API server enforces on an update: identity fields stay, a stale
/// `metadata.resourceVersion` is a conflict, `status` is kept (it has its own subresource and
/// belongs to the reconciler), and a changed `spec` bumps `metadata.generation`.
fn finish_update(r: &Resource, name: &str, old: &Value, new: Value) -> Result<Value, ApiError> {
    let mut new = new;
    if !new.is_object() {
        return Err(ApiError::invalid(
            r,
            name,
            "the result is not a JSON object",
        ));
    }
    let old_rv = old.pointer("/metadata/resourceVersion").cloned();
    if let Some(rv) = new
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        && !rv.is_empty()
        && old_rv.as_ref().and_then(Value::as_str) != Some(rv)
    {
        return Err(ApiError::conflict(r, name));
    }
    new["apiVersion"] = old["apiVersion"].clone();
    new["kind"] = old["kind"].clone();
    match old.get("status") {
        Some(status) => new["status"] = status.clone(),
        None => {
            if let Some(map) = new.as_object_mut() {
                map.remove("status");
            }
        }
    }
    let generation = old
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    // Defaults first, so a patch that drops a defaulted field does not count as a change.
    defaults::apply(&mut new);
    let spec_changed = old.get("spec") != new.get("spec");
    let meta = metadata_mut(&mut new);
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
    ] {
        match old.get("metadata").and_then(|m| m.get(field)) {
            Some(v) => meta.insert(field.to_string(), v.clone()),
            None => meta.remove(field),
        };
    }
    meta.insert(
        "generation".to_string(),
        json!(if spec_changed {
            generation + 1
        } else {
            generation
        }),
    );
    match old_rv {
        Some(rv) => meta.insert("resourceVersion".to_string(), rv),
        None => meta.remove("resourceVersion"),
    };
    Ok(new)
}

/// A terminating object whose last finalizer an update removed is gone, as on a real server.
fn remove_if_finalized(store: &mut KubeObjects, key: &ObjectKey, old: &Value, new: &Value) -> bool {
    let finalizers = |o: &Value| {
        o.pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
    };
    let terminating = old.pointer("/metadata/deletionTimestamp").is_some();
    if terminating && finalizers(old) && !finalizers(new) {
        store.remove(key);
        return true;
    }
    false
}

fn delete(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    // The body (`{"propagationPolicy":"Background"}`, preconditions, grace period) only needs
    // to be valid JSON: there are no dependents to collect and no grace periods to wait out.
    req.json_body()?;
    let key = t.key(name);
    let mut store = shared.lock();
    let old = store
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(t.resource, name))?;
    if req.dry_run() || old.pointer("/metadata/deletionTimestamp").is_some() {
        // Dry run, or already terminating: a real server answers with the object again.
        return Ok(object_response(
            StatusCode::OK,
            t.resource,
            &old,
            &store,
            req,
        ));
    }
    let answer = match shared.reconciler.on_delete(&store, &key) {
        DeleteDecision::Now => store.remove(&key).unwrap_or(old),
        DeleteDecision::Defer => {
            let marked = mark_terminating(old);
            store.put(marked.clone());
            store.get(&key).cloned().unwrap_or(marked)
        }
    };
    shared.reconcile(&mut store);
    Ok(object_response(
        StatusCode::OK,
        t.resource,
        &answer,
        &store,
        req,
    ))
}

/// Sets `deletionTimestamp` (and the PVC protection finalizer on claims, which is what keeps
/// a real claim in use from going away).
fn mark_terminating(object: Value) -> Value {
    let mut object = object;
    let is_pvc = object.get("kind").and_then(Value::as_str) == Some("PersistentVolumeClaim");
    let meta = metadata_mut(&mut object);
    meta.insert("deletionTimestamp".to_string(), json!(time::now_rfc3339()));
    meta.insert("deletionGracePeriodSeconds".to_string(), json!(0));
    if is_pvc {
        let finalizers = meta.entry("finalizers").or_insert_with(|| json!([]));
        if !finalizers.is_array() {
            *finalizers = json!([]);
        }
        if let Some(list) = finalizers.as_array_mut() {
            let protection = json!("kubernetes.io/pvc-protection");
            if !list.contains(&protection) {
                list.push(protection);
            }
        }
    }
    object
}

fn get_scale(shared: &Arc<Shared>, t: &Target, name: &str) -> Result<Response, ApiError> {
    let store = shared.lock();
    let object = store
        .get(&t.key(name))
        .ok_or_else(|| ApiError::not_found(t.resource, name))?;
    Ok(json_response(StatusCode::OK, &scale::of(object)))
}

/// PUT or PATCH of `.../scale`: the new replica count goes into the workload's
/// `spec.replicas` (kubectl `scale` sends a merge patch `{"spec":{"replicas":N}}`, see
/// kubectl `pkg/scale/scale.go` ScaleWithPatch; with preconditions it does GET then PUT).
fn write_scale(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let r = t.resource;
    let key = t.key(name);
    let body = req.json_body()?;
    let mut store = shared.lock();
    let old = store
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(r, name))?;
    let current = scale::of(&old);
    let wanted = if req.method == Method::PATCH {
        let kind = PatchType::from_content_type(&req.content_type)
            .ok_or_else(|| ApiError::unsupported_media_type(&req.content_type, JSON_TYPES))?;
        patch::apply(kind, &current, &body).map_err(|m| ApiError::invalid(r, name, m))?
    } else {
        body
    };
    let replicas = scale::replicas(&wanted).map_err(|m| ApiError::invalid(r, name, m))?;
    let mut new = old.clone();
    set_replicas(&mut new, replicas);
    if let Some(rv) = wanted.pointer("/metadata/resourceVersion") {
        metadata_mut(&mut new).insert("resourceVersion".to_string(), rv.clone());
    }
    let new = finish_update(r, name, &old, new)?;
    if req.dry_run() {
        return Ok(json_response(StatusCode::OK, &scale::of(&new)));
    }
    store.put(new.clone());
    shared.reconcile(&mut store);
    let stored = store.get(&key).cloned().unwrap_or(new);
    Ok(json_response(StatusCode::OK, &scale::of(&stored)))
}

/// Sets `spec.replicas`, making `spec` an object if a stored object had something else.
fn set_replicas(object: &mut Value, replicas: i64) {
    if let Some(map) = object.as_object_mut() {
        let spec = map.entry("spec").or_insert_with(|| json!({}));
        if !spec.is_object() {
            *spec = json!({});
        }
        if let Some(spec) = spec.as_object_mut() {
            spec.insert("replicas".to_string(), json!(replicas));
        }
    }
}

fn pod_log(
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
    let text = logs::read(&shared.lock(), t.resource, &log_request)?;
    Ok(typed_response_text(StatusCode::OK, text, "text/plain"))
}

/// An object as JSON, or as a one-row Table when the client asked for one.
fn object_response(
    code: StatusCode,
    r: &Resource,
    object: &Value,
    store: &KubeObjects,
    req: &Request,
) -> Response {
    if table::wanted(&req.accept) {
        let doc = table::table(r, &[object], store.revision());
        return typed_response(code, &doc, table::CONTENT_TYPE);
    }
    json_response(code, object)
}

fn json_response(code: StatusCode, value: &Value) -> Response {
    typed_response(code, value, "application/json")
}

fn typed_response(code: StatusCode, value: &Value, content_type: &'static str) -> Response {
    typed_response_text(code, value.to_string(), content_type)
}

fn typed_response_text(code: StatusCode, text: String, content_type: &'static str) -> Response {
    let mut response = (code, text).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
