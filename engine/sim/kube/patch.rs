//! The three patch formats kubectl sends: JSON merge patch (RFC 7386, `kubectl scale`), JSON
//! patch (RFC 6902, `kubectl patch --type=json`) and strategic merge patch (`kubectl set env`,
//! `kubectl patch`). Pure functions from (object, patch) to a new object or a message; they
//! must not know the store or HTTP.
//!
//! Strategic merge follows apimachinery `pkg/util/strategicpatch/patch.go`: lists of objects
//! with a known merge key (`containers`, `env`, `volumes` by `name`, ...) merge element by
//! element, `{"$patch":"delete", <key>: ...}` removes an element, `{"$patch":"replace"}`
//! replaces a list or map, `$deleteFromPrimitiveList/<field>` removes primitive values, and
//! `null` deletes a field. `$setElementOrder/<field>` and `$retainKeys` only reorder or prune
//! what the patch already determines for kubectl's patches, so they are ignored here.

use serde_json::{Map, Value};

/// The patch formats, by request `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatchType {
    Merge,
    Json,
    Strategic,
}

impl PatchType {
    /// The patch type of a `Content-Type` (parameters such as `charset` are ignored).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        match media.to_ascii_lowercase().as_str() {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/json-patch+json" => Some(PatchType::Json),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            _ => None,
        }
    }
}

/// Applies a patch of the given type.
pub(crate) fn apply(kind: PatchType, target: &Value, patch: &Value) -> Result<Value, String> {
    match kind {
        PatchType::Merge => Ok(merge_patch(target, patch)),
        PatchType::Json => json_patch(target, patch),
        PatchType::Strategic => strategic_merge(target, patch),
    }
}

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub(crate) fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch_map) = patch else {
        return patch.clone();
    };
    let mut result = match target {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for (key, value) in patch_map {
        if value.is_null() {
            result.remove(key);
        } else {
            let merged = merge_patch(result.get(key).unwrap_or(&Value::Null), value);
            result.insert(key.clone(), merged);
        }
    }
    Value::Object(result)
}

/// RFC 6902 operations `add`, `remove`, `replace`, `move`, `copy`, `test`.
pub(crate) fn json_patch(target: &Value, patch: &Value) -> Result<Value, String> {
    let ops = patch
        .as_array()
        .ok_or("a JSON patch must be a list of operations")?;
    let mut doc = target.clone();
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("a JSON patch operation needs a path")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or(format!("{name} {path}: missing value"))
        };
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or(format!("{name} {path}: missing from"))
        };
        match name {
            "add" => pointer_add(&mut doc, path, value()?)?,
            "remove" => {
                pointer_remove(&mut doc, path)?;
            }
            "replace" => {
                pointer_remove(&mut doc, path)?;
                pointer_add(&mut doc, path, value()?)?;
            }
            "move" => {
                let moved = pointer_remove(&mut doc, from()?)?;
                pointer_add(&mut doc, path, moved)?;
            }
            "copy" => {
                let copied = doc
                    .pointer(from()?)
                    .cloned()
                    .ok_or(format!("copy: {} not found", from()?))?;
                pointer_add(&mut doc, path, copied)?;
            }
            "test" => {
                if doc.pointer(path) != Some(&value()?) {
                    return Err(format!("test failed at {path}"));
                }
            }
            other => return Err(format!("unknown JSON patch operation {other:?}")),
        }
    }
    Ok(doc)
}

/// Splits a JSON pointer into its parent pointer and unescaped last token.
fn split_pointer(path: &str) -> Result<(&str, String), String> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or(format!("invalid JSON pointer {path:?}"))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn pointer_add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(list)) => {
            let index = if last == "-" {
                list.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= list.len())
                    .ok_or(format!("add {path}: index out of range"))?
            };
            list.insert(index, value);
            Ok(())
        }
        _ => Err(format!("add {path}: parent not found")),
    }
}

fn pointer_remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    let removed = match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(&last),
        Some(Value::Array(list)) => match last.parse::<usize>() {
            Ok(i) if i < list.len() => Some(list.remove(i)),
            _ => None,
        },
        _ => None,
    };
    removed.ok_or(format!("remove {path}: not found"))
}

/// The merge key of a list field, for the fields kubectl patches in practice (from the
/// `patchMergeKey` tags of k8s.io/api core/v1 and meta/v1 types). `ports` merges by
/// `containerPort` in containers and by `port` in services; the patch items tell which.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "conditions" => Some("type"),
        "hostAliases" => Some("ip"),
        "ownerReferences" => Some("uid"),
        "ports" => {
            let container_ports = items.iter().any(|i| i.get("containerPort").is_some());
            Some(if container_ports {
                "containerPort"
            } else {
                "port"
            })
        }
        _ => None,
    }
}

/// Primitive lists that merge as sets instead of being replaced.
fn merges_primitives(field: &str) -> bool {
    field == "finalizers"
}

/// Two-way strategic merge patch of `patch` onto `target`.
pub(crate) fn strategic_merge(target: &Value, patch: &Value) -> Result<Value, String> {
    match patch {
        Value::Object(_) => merge_map(target, patch),
        _ => Err("a strategic merge patch must be a JSON object".to_string()),
    }
}

fn merge_map(target: &Value, patch: &Value) -> Result<Value, String> {
    let Value::Object(patch_map) = patch else {
        return Ok(patch.clone());
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("replace") => return Ok(Value::Object(without_directives(patch_map))),
        Some("delete") => return Ok(Value::Null),
        Some(other) if other != "merge" => return Err(format!("unknown $patch {other:?}")),
        _ => {}
    }
    let mut result = match target {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for (key, value) in patch_map {
        if key.starts_with("$setElementOrder/") || key == "$retainKeys" || key == "$patch" {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            delete_from_primitive_list(&mut result, field, value);
            continue;
        }
        if value.is_null() {
            result.remove(key);
            continue;
        }
        let current = result.get(key).unwrap_or(&Value::Null);
        let merged = match value {
            Value::Object(_) => merge_map(current, value)?,
            Value::Array(items) => merge_list(key, current, items)?,
            _ => value.clone(),
        };
        if merged.is_null() {
            result.remove(key);
        } else {
            result.insert(key.clone(), merged);
        }
    }
    Ok(Value::Object(result))
}

fn merge_list(field: &str, current: &Value, items: &[Value]) -> Result<Value, String> {
    let replace = items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    let kept: Vec<Value> = items
        .iter()
        .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("replace"))
        .cloned()
        .collect();
    if replace {
        return Ok(Value::Array(kept));
    }
    let existing = current.as_array().cloned().unwrap_or_default();
    if merges_primitives(field) {
        let mut result = existing;
        for item in kept {
            if !result.contains(&item) {
                result.push(item);
            }
        }
        return Ok(Value::Array(result));
    }
    let Some(key) = merge_key(field, &kept) else {
        return Ok(Value::Array(kept));
    };
    let mut result = existing;
    for item in &kept {
        let id = item.get(key);
        let position = id.and_then(|id| result.iter().position(|e| e.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                result.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => result[i] = merge_map(&result[i], item)?,
            (None, false) => {
                let Value::Object(map) = item else {
                    return Err(format!("{field}: list items must be objects"));
                };
                result.push(Value::Object(without_directives(map)));
            }
        }
    }
    Ok(Value::Array(result))
}

fn delete_from_primitive_list(result: &mut Map<String, Value>, field: &str, values: &Value) {
    let Some(Value::Array(list)) = result.get_mut(field) else {
        return;
    };
    let remove = values.as_array().cloned().unwrap_or_default();
    list.retain(|v| !remove.contains(v));
}

fn without_directives(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts() -> Value {
        json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "orchestration", "image": "camunda", "env": [
                {"name": "A", "value": "1"},
                {"name": "ZEEBE_RESTORE", "value": "false"}
            ]},
            {"name": "sidecar", "image": "busybox"}
        ]}}}})
    }

    #[test]
    fn set_env_patch_merges_by_name() {
        // The shape `kubectl set env` sends (two-way strategic merge patch).
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "orchestration"}],
            "containers": [{
                "$setElementOrder/env": [{"name": "A"}, {"name": "ZEEBE_RESTORE"}, {"name": "B"}],
                "name": "orchestration",
                "env": [{"name": "ZEEBE_RESTORE", "value": "true"}, {"name": "B", "value": "2"}]
            }]
        }}}});
        let out = strategic_merge(&sts(), &patch).unwrap();
        let env = &out["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            env,
            &json!([{"name": "A", "value": "1"}, {"name": "ZEEBE_RESTORE", "value": "true"}, {"name": "B", "value": "2"}])
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][1]["name"],
            "sidecar"
        );

        let delete = json!({"spec": {"template": {"spec": {"containers": [{
            "name": "orchestration",
            "env": [{"$patch": "delete", "name": "ZEEBE_RESTORE"}, {"$patch": "delete", "name": "X"}]
        }]}}}});
        let out = strategic_merge(&out, &delete).unwrap();
        let env = &out["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            env,
            &json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
    }

    #[test]
    fn merge_and_json_patches() {
        let out = merge_patch(&sts(), &json!({"spec": {"replicas": 0}}));
        assert_eq!(out["spec"]["replicas"], 0);
        assert_eq!(out["spec"]["template"], sts()["spec"]["template"]);
        let out = json_patch(
            &sts(),
            &json!([{"op": "replace", "path": "/spec/replicas", "value": 1},
                    {"op": "add", "path": "/metadata", "value": {"a": 1}},
                    {"op": "remove", "path": "/spec/template/spec/containers/1"}]),
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 1);
        assert_eq!(out["metadata"]["a"], 1);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(json_patch(&sts(), &json!([{"op": "remove", "path": "/nope"}])).is_err());
        assert!(json_patch(&sts(), &json!({"op": "x"})).is_err());
    }
}
