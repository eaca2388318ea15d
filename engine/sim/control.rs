//! sim/control: the simulator's own HTTP API on the control port (documented in the `sim`
//! module doc): state, advance, damage, faults, component availability, Zeebe restore without
//! Kubernetes, the oracles and the request log. It must not be reachable through the product
//! ports and must not change product behaviour except through the documented verbs.

use serde_json::{Value, json};

use super::cluster::Exporting;
use super::faults::Scenario;
use super::http::{Req, Resp};
use super::kube::KubeHandle;
use super::model::{Component, Shared, lock};

/// Routes a control request. `kube` is the running stand-in, if any.
pub fn handle(shared: &Shared, kube: Option<&KubeHandle>, req: &Req) -> Resp {
    if req.method == "GET" && req.segs == ["sim", "workloads"] {
        // Before the world's lock: the stand-in's reconciler takes the store lock, then the
        // world's; taking them the other way round here could deadlock.
        return match kube {
            Some(k) => Resp::json(200, &k.with_objects(|o| super::workload_report::report(o))),
            None => Resp::message(404, "the Kubernetes stand-in is not running"),
        };
    }
    if req.segs == ["sim", "rbac"] {
        return rbac(kube, req);
    }
    let mut world = lock(shared);
    world.settle();
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["sim", "state"]) => Resp::json(
            200,
            &json!({
                "camundaVersion": world.facts.version.component_version(),
                "datastore": if world.facts.opensearch { "opensearch" } else { "elasticsearch" },
                "exporting": world.cluster.exporting,
                "cluster": world.cluster,
                "brokersRunning": world.brokers_running,
                // Records the log must keep because E lags (compaction blocked while paused).
                "retainedRecords": world
                    .cluster
                    .partitions
                    .iter()
                    .map(|p| p.position.saturating_sub(p.exporter_position))
                    .collect::<Vec<_>>(),
                "indices": world.store.indices,
                "repositories": world.store.repositories,
                "snapshots": world.store.snapshots,
                "zeebeBackups": world.zeebe,
                "components": world.components(),
                "faults": world.faults,
                "restoreApi": world.restore_api.summary(),
            }),
        ),
        ("GET", ["sim", "exporting"]) => {
            let mode = world.cluster.exporting;
            let history: Vec<Value> = world
                .exporting_history
                .iter()
                .map(|(at, m)| json!({"atMs": at, "mode": m}))
                .collect();
            Resp::json(
                200,
                &json!({"paused": mode != Exporting::Running, "mode": mode, "history": history}),
            )
        }
        ("POST", ["sim", "advance"]) => {
            let records = req
                .json()
                .and_then(|v| v.get("records").and_then(Value::as_u64))
                .unwrap_or(10)
                .min(1_000_000);
            world.advance(records);
            Resp::json(
                200,
                &json!({"advanced": records, "partitions": world.cluster.partitions}),
            )
        }
        ("POST", ["sim", "damage"]) => {
            let deleted = world.damage();
            Resp::json(
                200,
                &json!({"deletedIndices": deleted, "brokerData": "deleted"}),
            )
        }
        ("POST", ["sim", "faults"]) => add_faults(&mut world, req),
        ("DELETE", ["sim", "faults"]) => {
            let removed = world.faults.endpoint.len();
            world.faults.endpoint.clear();
            Resp::json(200, &json!({"removed": removed}))
        }
        ("POST", ["sim", "components", name, action @ ("up" | "down")]) => {
            match Component::parse(name) {
                Some(c) => {
                    world.set_up(c, *action == "up");
                    Resp::json(200, &json!({"component": name, "up": *action == "up"}))
                }
                None => Resp::message(404, &format!("unknown component {name}")),
            }
        }
        ("POST", ["sim", "zeebe", "restore", id]) => match id.parse::<u64>() {
            Ok(id) => match super::zeebe::restore_brokers(&mut world, id) {
                Ok(()) => Resp::json(200, &json!({"restoredFrom": id})),
                Err(e) => Resp::message(409, &e),
            },
            Err(_) => Resp::message(400, "backup id must be a number"),
        },
        ("GET", ["sim", "oracle", "backups", id]) => match id.parse::<u64>() {
            Ok(id) => Resp::json(200, &super::oracle::backup(&world, id)),
            Err(_) => Resp::message(400, "backup id must be a number"),
        },
        ("GET", ["sim", "oracle", "restore", id]) => match id.parse::<u64>() {
            Ok(id) => Resp::json(200, &super::oracle::restore(&world, id)),
            Err(_) => Resp::message(400, "backup id must be a number"),
        },
        ("GET", ["sim", "in-flight"]) => {
            let items: Vec<_> = world
                .in_flight
                .iter()
                .map(|(c, m, p)| serde_json::json!({"component": c.as_str(), "method": m, "path": p}))
                .collect();
            Resp::json(200, &items)
        }
        ("GET", ["sim", "requests"]) => {
            let since = req
                .q("since")
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            let items: Vec<_> = world.requests.iter().filter(|r| r.seq > since).collect();
            Resp::json(200, &items)
        }
        _ => Resp::not_found(),
    }
}

/// `POST /sim/faults`: a scenario document; its `config` applies only when present.
fn add_faults(world: &mut super::model::World, req: &Req) -> Resp {
    let text = String::from_utf8_lossy(&req.body).into_owned();
    let parsed = Scenario::from_yaml_str(&text)
        .and_then(|s| s.check_version(world.facts.version).map(|()| s));
    match parsed {
        Ok(s) => {
            let has_config = serde_saphyr::from_str::<Value>(&text)
                .ok()
                .is_some_and(|v| v.get("config").is_some());
            if has_config {
                world.facts.config = s.config.clone();
            }
            world.faults.add(s);
            Resp::json(200, &json!({"accepted": true}))
        }
        Err(e) => Resp::message(400, &e.to_string()),
    }
}

/// `PUT /sim/rbac` (body: a Role as YAML, e.g. `runbook rbac` output; an empty body turns the
/// RBAC mode off) and `GET /sim/rbac` (`{enabled, denied: [403 messages]}`).
fn rbac(kube: Option<&KubeHandle>, req: &Req) -> Resp {
    let Some(kube) = kube else {
        return Resp::message(404, "the Kubernetes stand-in is not running");
    };
    match req.method.as_str() {
        "GET" => {
            let (enabled, denied) = kube.rbac_denied();
            Resp::json(200, &json!({"enabled": enabled, "denied": denied}))
        }
        "PUT" => {
            let text = String::from_utf8_lossy(&req.body);
            if text.trim().is_empty() {
                kube.set_rbac(None);
                return Resp::json(200, &json!({"enabled": false}));
            }
            match super::kube::Policy::from_yaml(&text) {
                Ok(policy) => {
                    let rules = policy.rules.len();
                    kube.set_rbac(Some(policy));
                    Resp::json(200, &json!({"enabled": true, "rules": rules}))
                }
                Err(e) => Resp::message(400, &format!("not a Role: {e}")),
            }
        }
        _ => Resp::message(405, "GET or PUT"),
    }
}
