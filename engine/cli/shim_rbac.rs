//! shim_rbac: for `runbook sim --port-forward --rbac` and `rehearse --port-forward --rbac`,
//! the API calls a real `kubectl port-forward` makes before it streams, replayed through the
//! real kubectl against the simulator's API server, so that its RBAC mode judges them as a
//! cluster would: read the Service (or the pod), list the pods its selector picks, read the
//! pod, and `create` on `pods/<pod>/portforward` (the simulator answers 405 there when RBAC
//! allows it: it cannot stream). The first refusal is kubectl's own `Error from server
//! (Forbidden)` text. A Service the simulator gives no pods (its datastore) stops after the
//! pod list. It must not relay anything (`kubectl_shim.rs` does).

use std::process::{Command, Stdio};

use serde_json::Value as Json;

/// Replays the calls of `kubectl <flags> port-forward <resource>`; `Err` is kubectl's
/// message for the first call the API server refused (or why the replay could not run).
pub(crate) fn replay(kubectl: &str, flags: &[String], resource: &str) -> Result<(), String> {
    let run = |args: &[&str]| -> Result<String, String> {
        let out = Command::new(kubectl)
            .args(flags)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {kubectl}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    };
    let pod = match resource.split_once('/') {
        Some(("pod" | "pods" | "po", name)) => name.to_string(),
        _ => {
            let object: Json = serde_json::from_str(&run(&["get", resource, "-o", "json"])?)
                .map_err(|e| format!("{resource}: {e}"))?;
            let selector = selector(&object);
            let pods: Json =
                serde_json::from_str(&run(&["get", "pods", "-l", &selector, "-o", "json"])?)
                    .map_err(|e| format!("pods of {resource}: {e}"))?;
            // The simulator models some components (the datastore) without pods: nothing
            // more to ask the API server for such a Service.
            match pods
                .pointer("/items/0/metadata/name")
                .and_then(Json::as_str)
            {
                Some(name) => name.to_string(),
                None => return Ok(()),
            }
        }
    };
    run(&["get", &format!("pods/{pod}"), "-o", "name"])?;
    let namespace = flags
        .iter()
        .find_map(|f| f.strip_prefix("--namespace="))
        .unwrap_or("default");
    let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}/portforward");
    match run(&["create", "--raw", &path, "-f", "/dev/null"]) {
        Err(e) if e.contains("(Forbidden)") => Err(e),
        _ => Ok(()),
    }
}

/// `a=b,c=d` from a Service's `spec.selector` (or a workload's `spec.selector.matchLabels`).
fn selector(object: &Json) -> String {
    let spec = &object["spec"]["selector"];
    let labels = spec.get("matchLabels").unwrap_or(spec);
    labels
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}
