//! The kubeconfig the stand-in writes for kubectl: one cluster, one token user and one
//! context with a default namespace. Written as JSON, which kubectl reads as YAML, so names
//! need no YAML quoting. Owns only the file's content; it must not touch the server.

use std::path::Path;

use serde_json::json;

/// The token the user entry carries (the stand-in does not check it; kubectl wants a user).
const TOKEN: &str = "runbook-sim";

/// Writes the kubeconfig to `path`. Cluster and user take the context's name, so several
/// stand-ins' kubeconfigs can be merged with `KUBECONFIG=a:b`.
pub(crate) fn write(path: &Path, url: &str, context: &str, namespace: &str) -> std::io::Result<()> {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": {"server": url}}],
        "users": [{"name": context, "user": {"token": TOKEN}}],
        "contexts": [{
            "name": context,
            "context": {"cluster": context, "user": context, "namespace": namespace}
        }],
        "current-context": context
    });
    let text = serde_json::to_string_pretty(&config).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}
