//! Pod logs (`GET .../pods/<pod>/log?container=c&previous=true`): picks the container the way
//! the real API server does and answers `text/plain` from the store's logs, or the same
//! errors (`Error from server (BadRequest): previous terminated container "c" in pod "p" not
//! found`, from kubelet `pkg/kubelet/kubelet_pods.go` validateContainerLogStatus). Reads the
//! store, never writes it.

use serde_json::Value;

use super::ObjectKey;
use super::resources::Resource;
use super::status::ApiError;
use super::store::KubeObjects;

/// What a log request asks for.
pub(crate) struct LogRequest<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    pub container: Option<&'a str>,
    pub previous: bool,
    pub tail_lines: Option<usize>,
    pub limit_bytes: Option<usize>,
}

/// The container the log is read from, and the log text.
pub(crate) fn read(
    store: &KubeObjects,
    pods: &Resource,
    req: &LogRequest,
) -> Result<(String, String), ApiError> {
    let key = ObjectKey::new("", "Pod", req.namespace, req.pod);
    let pod = store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(pods, req.pod))?;
    let container = pick_container(pod, req)?;
    let text = store
        .log(req.namespace, req.pod, &container, req.previous)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{}\" not found",
                req.pod
            ))
        })?;
    let text = trim(text, req.tail_lines, req.limit_bytes);
    Ok((container, text))
}

/// The requested container, or the only one; the API server refuses to guess among several
/// (kubectl itself picks the default container before asking).
fn pick_container(pod: &Value, req: &LogRequest) -> Result<String, ApiError> {
    let names: Vec<&str> = [
        "/spec/containers",
        "/spec/initContainers",
        "/spec/ephemeralContainers",
    ]
    .iter()
    .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
    .flatten()
    .filter_map(|c| c.get("name").and_then(Value::as_str))
    .collect();
    match req.container.filter(|c| !c.is_empty()) {
        Some(c) if names.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {}",
            req.pod
        ))),
        None => match names.as_slice() {
            [only] => Ok(only.to_string()),
            _ => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {}, choose one of: [{}]",
                req.pod,
                names.join(" ")
            ))),
        },
    }
}

/// Applies `tailLines` (last n lines) then `limitBytes`.
fn trim(text: &str, tail_lines: Option<usize>, limit_bytes: Option<usize>) -> String {
    let mut text = text.to_string();
    if let Some(n) = tail_lines {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        text = lines[lines.len().saturating_sub(n)..].concat();
    }
    if let Some(limit) = limit_bytes {
        let mut end = limit.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
