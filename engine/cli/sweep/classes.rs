//! Call classes: the distinct kinds of call a run made, read from the simulator's request log.
//! An HTTP call's class is its component, method and path with ids and names replaced by `*`;
//! a Kubernetes API call's class is kubectl's verb and the resource of its path. It owns the
//! classification and where in a log a class's n-th call is; it must not run anything.

use serde_json::Value;

/// One logged request (from `GET /sim/requests`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub seq: u64,
    pub component: String,
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub query: String,
}

impl Call {
    /// From one entry of the request log.
    pub fn from_log(entry: &Value) -> Option<Call> {
        let full = entry["path"].as_str()?;
        let (path, query) = full.split_once('?').unwrap_or((full, ""));
        Some(Call {
            seq: entry["seq"].as_u64()?,
            component: entry["component"].as_str()?.to_string(),
            method: entry["method"].as_str()?.to_ascii_uppercase(),
            path: path.to_string(),
            query: query.to_string(),
        })
    }

    pub fn is_kubernetes(&self) -> bool {
        self.component == "kubernetes"
    }

    /// Whether a fault with this call's method and exact path also matches `other` (faults
    /// match the path without the query).
    pub fn fault_matches(&self, other: &Call) -> bool {
        self.component == other.component && self.method == other.method && self.path == other.path
    }
}

/// The class of a call, e.g. `datastore POST /_snapshot/*/*/_restore` or `kubectl patch
/// statefulsets/scale`. `None` for calls no plan step makes (the simulator's control API,
/// kubectl's discovery and OpenAPI reads, which it caches and repeats at will).
pub fn class_of(call: &Call) -> Option<String> {
    match call.component.as_str() {
        "control" => None,
        "kubernetes" => kube_class(call),
        component => Some(format!(
            "{component} {} {}",
            call.method,
            http_path_class(component, &call.path)
        )),
    }
}

/// Ids and names replaced by `*`: a segment with a digit, and on the datastore every segment
/// that is not an API word (those start with `_`).
fn http_path_class(component: &str, path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let named = s.chars().any(|c| c.is_ascii_digit())
                || (component == "datastore" && !s.starts_with('_'));
            if named {
                "*".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("/{}", segments.join("/"))
}

/// `kubectl <verb> <resource>[/<subresource>]` from an API path.
fn kube_class(call: &Call) -> Option<String> {
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    let rest = match segments.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => return None,
    };
    let rest = match rest {
        ["namespaces", _ns, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let (resource, named, sub) = match rest {
        [resource] => (*resource, false, None),
        [resource, _name] => (*resource, true, None),
        [resource, _name, sub] => (*resource, true, Some(*sub)),
        _ => return None,
    };
    let watch = call
        .query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match (call.method.as_str(), named, watch) {
        ("GET", _, true) => "watch",
        ("GET", false, _) => "list",
        ("GET", true, _) => "get",
        ("PATCH", ..) => "patch",
        ("PUT", ..) => "update",
        ("POST", ..) => "create",
        ("DELETE", ..) => "delete",
        (other, ..) => other,
    };
    Some(match sub {
        Some(sub) => format!("kubectl {verb} {resource}/{sub}"),
        None => format!("kubectl {verb} {resource}"),
    })
}

/// A class and where its calls are in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    pub name: String,
    /// The calls of this class, oldest first.
    pub calls: Vec<Call>,
}

/// The classes of `calls` in order of first appearance.
pub fn classes(calls: &[Call]) -> Vec<Class> {
    let mut out: Vec<Class> = Vec::new();
    for call in calls {
        let Some(name) = class_of(call) else {
            continue;
        };
        match out.iter_mut().find(|c| c.name == name) {
            Some(c) => c.calls.push(call.clone()),
            None => out.push(Class {
                name,
                calls: vec![call.clone()],
            }),
        }
    }
    out
}

/// How many calls of `log` a fault on `target`'s method and exact path lets through before
/// it reaches `target` (calls of other classes on the same path, e.g. a list before a watch,
/// or earlier items of the same class).
pub fn calls_before(log: &[Call], target: &Call) -> u32 {
    let n = log
        .iter()
        .take_while(|c| c.seq != target.seq)
        .filter(|c| target.fault_matches(c))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(seq: u64, component: &str, method: &str, path: &str) -> Call {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        Call {
            seq,
            component: component.into(),
            method: method.into(),
            path: path.into(),
            query: query.into(),
        }
    }

    #[test]
    fn http_ids_and_names_become_stars() {
        let c = call(
            1,
            "datastore",
            "POST",
            "/_snapshot/camunda/camunda_webapps_17_8.8.0_part_1_of_5/_restore",
        );
        assert_eq!(
            class_of(&c).as_deref(),
            Some("datastore POST /_snapshot/*/*/_restore")
        );
        let c = call(
            2,
            "orchestration",
            "GET",
            "/actuator/backupHistory/1796388538",
        );
        assert_eq!(
            class_of(&c).as_deref(),
            Some("orchestration GET /actuator/backupHistory/*")
        );
        assert_eq!(class_of(&call(3, "control", "GET", "/sim/state")), None);
    }

    #[test]
    fn kubectl_calls_become_verb_and_resource() {
        let cases = [
            (
                "GET",
                "/apis/apps/v1/namespaces/camunda/statefulsets/camunda-zeebe",
                "kubectl get statefulsets",
            ),
            (
                "PATCH",
                "/apis/apps/v1/namespaces/camunda/statefulsets/camunda-zeebe/scale",
                "kubectl patch statefulsets/scale",
            ),
            (
                "GET",
                "/api/v1/namespaces/camunda/pods?labelSelector=a%3Db",
                "kubectl list pods",
            ),
            (
                "GET",
                "/api/v1/namespaces/camunda/pods?watch=true",
                "kubectl watch pods",
            ),
            (
                "DELETE",
                "/api/v1/namespaces/camunda/persistentvolumeclaims/data-0",
                "kubectl delete persistentvolumeclaims",
            ),
            (
                "GET",
                "/api/v1/namespaces/camunda/pods/camunda-zeebe-0/log",
                "kubectl get pods/log",
            ),
        ];
        for (method, path, class) in cases {
            assert_eq!(
                class_of(&call(1, "kubernetes", method, path)).as_deref(),
                Some(class),
                "{method} {path}"
            );
        }
        assert_eq!(class_of(&call(1, "kubernetes", "GET", "/apis")), None);
        assert_eq!(class_of(&call(1, "kubernetes", "GET", "/openapi/v3")), None);
    }

    #[test]
    fn a_fault_reaches_the_nth_call_after_the_matching_ones_before_it() {
        let log = vec![
            call(1, "kubernetes", "GET", "/api/v1/namespaces/c/pods"),
            call(
                2,
                "kubernetes",
                "GET",
                "/api/v1/namespaces/c/pods?watch=true",
            ),
            call(3, "kubernetes", "GET", "/api/v1/namespaces/c/pods"),
            call(
                4,
                "kubernetes",
                "GET",
                "/api/v1/namespaces/c/pods?watch=true",
            ),
        ];
        let found = classes(&log);
        assert_eq!(found.len(), 2);
        let watch = &found[1];
        assert_eq!(watch.name, "kubectl watch pods");
        assert_eq!(calls_before(&log, &watch.calls[0]), 1);
        assert_eq!(calls_before(&log, &watch.calls[1]), 3);
    }
}
