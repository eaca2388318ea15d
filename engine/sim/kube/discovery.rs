//! Discovery documents: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`, in
//! the legacy (non-aggregated) form. kubectl asks for the aggregated `apidiscovery.k8s.io/v2`
//! form first but decides by the response `Content-Type`, so plain `application/json` makes it
//! fall back to the legacy documents (client-go `discovery_client.go`). Built from the
//! resource registry; must not read objects.

use serde_json::{Value, json};

use super::resources::{self, RESOURCES, VERBS};

/// `/version`.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0",
        "gitCommit": "runbook-sim",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`: the core group's versions.
pub(crate) fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
        ]
    })
}

/// `/apis`: every named group.
pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = resources::groups()
        .into_iter()
        .map(|(group, version)| group_document(group, version))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`: one group, if served.
pub(crate) fn group(group: &str) -> Option<Value> {
    let (name, version) = resources::groups().into_iter().find(|(g, _)| *g == group)?;
    let mut doc = group_document(name, version);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `/api/v1` or `/apis/<group>/<version>`: the resources of one group version, if served.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut entries = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": VERBS,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        entries.push(entry);
        for sub in r.subresources {
            let mut entry = json!({
                "name": format!("{}/{}", r.plural, sub.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": if sub.kind.is_empty() { r.kind } else { sub.kind },
                "verbs": sub.verbs,
            });
            if let Some((g, v)) = sub.group_version {
                entry["group"] = json!(g);
                entry["version"] = json!(v);
            }
            entries.push(entry);
        }
    }
    if entries.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries
    }))
}

fn group_document(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}
