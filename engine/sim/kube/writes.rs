//! The write verbs: create, replace, patch, delete and the scale subresource. Each applies the
//! API server's rules (identity fields, resourceVersion preconditions, status kept, generation
//! bumped on a spec change, defaults), stores the result, and runs the reconciler with the
//! store still locked; watchers wake once the lock is released.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::handlers::{JSON_TYPES, Request, Target};
use super::patch::{self as patches, PatchType};
use super::resources::Resource;
use super::respond::{json_response, object_response};
use super::scale as scale_object;
use super::server::Shared;
use super::status::ApiError;
use super::store::{KubeObjects, metadata_mut};
use super::{DeleteDecision, ObjectKey, defaults, time};

/// POST to a collection: stores a new object (namespace from the URL), then reconciles.
pub(crate) fn create(
    shared: &Arc<Shared>,
    t: &Target,
    req: &Request,
) -> Result<Response, ApiError> {
    let r = t.resource;
    let mut object = req.json_body()?;
    if !object.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    let given = object.pointer("/metadata/name").and_then(Value::as_str);
    validate(&object).map_err(|m| ApiError::invalid(r, given.unwrap_or_default(), m))?;
    object["apiVersion"] = json!(r.api_version());
    object["kind"] = json!(r.kind);
    let mut store = shared.lock();
    let name = place(&mut object, t, store.revision())?;
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

/// Sets the namespace from the URL and the name (from `generateName` when needed) of an
/// object to create, and returns the name.
fn place(object: &mut Value, t: &Target, revision: u64) -> Result<String, ApiError> {
    let meta = metadata_mut(object);
    let given = meta.get("namespace").and_then(Value::as_str);
    if let (Some(ns), Some(given)) = (&t.namespace, given)
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
    // A suffix from the revision keeps generated names unique enough; a clash is reported as
    // AlreadyExists, which kubectl shows like a real server's.
    let generated = meta
        .get("generateName")
        .and_then(Value::as_str)
        .filter(|g| !g.is_empty())
        .map(|g| format!("{g}{:05x}", revision & 0xfffff));
    let name = meta.get("name").and_then(Value::as_str).map(str::to_string);
    let Some(name) = name.filter(|n| !n.is_empty()).or(generated) else {
        return Err(ApiError::invalid(
            t.resource,
            "",
            "metadata.name: Required value: name or generateName is required",
        ));
    };
    meta.insert("name".to_string(), json!(name));
    Ok(name)
}

/// PUT of an object: replaces it wholesale (status kept, see [`finish_update`]).
pub(crate) fn replace(
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

/// PATCH of an object, in the format its `Content-Type` names.
pub(crate) fn patch(
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
        patches::apply(kind, old, &body).map_err(|m| ApiError::invalid(r, name, m))
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
    validate(&new).map_err(|m| ApiError::invalid(r, name, m))?;
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

/// The shape checks a real server's validation would fail first: an object with object
/// `metadata` and `spec`, and a whole non-negative `spec.replicas`. (Anything deeper is the
/// reconciler's business; it must cope with odd specs without panicking.)
fn validate(object: &Value) -> Result<(), String> {
    if !object.is_object() {
        return Err("the object is not a JSON object".to_string());
    }
    for field in ["metadata", "spec"] {
        if object.get(field).is_some_and(|v| !v.is_object()) {
            return Err(format!("{field}: Invalid value: must be an object"));
        }
    }
    if let Some(replicas) = object.pointer("/spec/replicas")
        && replicas.as_i64().is_none_or(|n| n < 0)
    {
        return Err(format!(
            "spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
        ));
    }
    Ok(())
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

/// DELETE of an object: the reconciler decides between removing it now and marking it
/// terminating; either way the answer is the object (200), as kubectl expects.
pub(crate) fn delete(
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

/// PUT or PATCH of `.../scale`: the new replica count goes into the workload's
/// `spec.replicas` (kubectl `scale` sends a merge patch `{"spec":{"replicas":N}}`, see
/// kubectl `pkg/scale/scale.go` ScaleWithPatch; with preconditions it does GET then PUT).
pub(crate) fn scale(
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
    let current = scale_object::of(&old);
    let wanted = if req.method == Method::PATCH {
        let kind = PatchType::from_content_type(&req.content_type)
            .ok_or_else(|| ApiError::unsupported_media_type(&req.content_type, JSON_TYPES))?;
        patches::apply(kind, &current, &body).map_err(|m| ApiError::invalid(r, name, m))?
    } else {
        body
    };
    let replicas = scale_object::replicas(&wanted).map_err(|m| ApiError::invalid(r, name, m))?;
    let mut new = old.clone();
    set_replicas(&mut new, replicas);
    if let Some(rv) = wanted.pointer("/metadata/resourceVersion") {
        metadata_mut(&mut new).insert("resourceVersion".to_string(), rv.clone());
    }
    let new = finish_update(r, name, &old, new)?;
    if req.dry_run() {
        return Ok(json_response(StatusCode::OK, &scale_object::of(&new)));
    }
    store.put(new.clone());
    shared.reconcile(&mut store);
    let stored = store.get(&key).cloned().unwrap_or(new);
    Ok(json_response(StatusCode::OK, &scale_object::of(&stored)))
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
