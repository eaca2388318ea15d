//! reason: the server's own explanation of a failure, picked out of an error body so that
//! messages can show it in full however long the rest of the body is. Knows the shapes of
//! Elasticsearch/OpenSearch (`error.root_cause[].reason`, `error.reason`), Kubernetes
//! (`Status.message`), Spring Boot (`message`), Camunda (`message`, `failureReason`) and RFC
//! 7807 problem details (`detail`, `title`). It only reads; it decides nothing.

use serde_json::Value;

/// The reason a JSON error body gives, if it gives one.
pub(crate) fn from_body(body: &Value) -> Option<String> {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(error) = body.get("error") {
        if let Some(s) = text(Some(error)) {
            return Some(s);
        }
        let mut reasons: Vec<String> = error
            .get("root_cause")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| text(c.get("reason")))
            .collect();
        for extra in [error.get("reason"), error.pointer("/caused_by/reason")] {
            if let Some(r) = text(extra)
                && !reasons.contains(&r)
            {
                reasons.push(r);
            }
        }
        if !reasons.is_empty() {
            return Some(reasons.join("; "));
        }
    }
    let mut parts: Vec<String> = Vec::new();
    for key in ["message", "failureReason", "detail"] {
        if let Some(s) = text(body.get(key))
            && !parts.contains(&s)
        {
            parts.push(s);
        }
    }
    if parts.is_empty() {
        text(body.get("title"))
    } else {
        Some(parts.join("; "))
    }
}

/// The lines of kubectl's stderr that state the failure (`Error from server (...): ...`,
/// `error: ...`), which kubectl prints last, after any warnings.
pub(crate) fn from_kubectl_stderr(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            lower.starts_with("error")
                || lower.starts_with("unable to connect")
                || lower.starts_with("the connection to the server")
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasons_of_known_error_bodies() {
        let es = json!({"error": {"root_cause": [{"type": "snapshot_restore_exception", "reason": "[camunda:s1/8jj] cannot restore index [operate-x] because an open index with same name already exists"}], "type": "snapshot_restore_exception", "reason": "[camunda:s1/8jj] cannot restore index [operate-x] because an open index with same name already exists"}, "status": 500});
        assert_eq!(
            from_body(&es).unwrap(),
            "[camunda:s1/8jj] cannot restore index [operate-x] because an open index with same name already exists"
        );
        let k8s = json!({"kind": "Status", "status": "Failure", "message": "etcdserver: request timed out", "code": 500});
        assert_eq!(from_body(&k8s).unwrap(), "etcdserver: request timed out");
        let camunda =
            json!({"failureReason": "backup 7 is INCOMPLETE", "message": "Backup failed"});
        assert_eq!(
            from_body(&camunda).unwrap(),
            "Backup failed; backup 7 is INCOMPLETE"
        );
        let problem = json!({"type": "about:blank", "title": "Bad Request", "status": 400});
        assert_eq!(from_body(&problem).unwrap(), "Bad Request");
        assert_eq!(from_body(&json!({"ok": true})), None);
    }

    #[test]
    fn kubectl_error_lines_after_warnings() {
        let stderr = "Warning: apps/v1beta1 is deprecated\nError from server (Conflict): the object has been modified\n";
        assert_eq!(
            from_kubectl_stderr(stderr).unwrap(),
            "Error from server (Conflict): the object has been modified"
        );
    }
}
