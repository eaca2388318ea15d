//! sim/recovery: the progress of snapshot restores as Elasticsearch reports it (the Camunda
//! API reference §7.4): `GET <indices>/_recovery` (elastic/elasticsearch `RecoveryState`:
//! type `SNAPSHOT`, stage `INDEX` until the shard is recovered, then `DONE`; indices never
//! restored show `EMPTY_STORE`; `active_only=true` keeps the running ones) and
//! `GET _cluster/health/<indices>` (`red` while a restored primary is initializing). It reads
//! the store; it must not change it.

use serde_json::{Map, Value, json};

use super::datastore::Index;
use super::es_api::error;
use super::http::{Req, Resp};
use super::model::World;

/// Percent as Elasticsearch prints it (`"45.0%"`).
fn percent(done: u64, total: u64) -> String {
    let p = if total == 0 {
        100.0
    } else {
        done as f64 * 100.0 / total as f64
    };
    format!("{p:.1}%")
}

/// Whether the index's recovery from a snapshot is still running at `now` (a failed one
/// never ends: the primary stays unassigned, the index red).
pub fn recovering(index: &Index, now: u64) -> bool {
    index
        .recovery
        .as_ref()
        .is_some_and(|r| now < r.done_ms || r.failed)
}

fn shard(world: &World, index: &Index, now: u64) -> Value {
    let bytes = 225 + index.docs() * 64;
    let target = json!({"id": "sim-node-0", "host": "127.0.0.1", "transport_address": "127.0.0.1:9300", "ip": "127.0.0.1", "name": "sim-node-0"});
    let Some(r) = &index.recovery else {
        return json!({
            "id": 0, "type": "EMPTY_STORE", "stage": "DONE", "primary": true,
            "start_time_in_millis": world.epoch(0), "stop_time_in_millis": world.epoch(0),
            "total_time_in_millis": 0, "source": {}, "target": target,
        });
    };
    let running = now < r.done_ms || r.failed;
    let span = r.done_ms.saturating_sub(r.start_ms).max(1);
    let elapsed = now.min(r.done_ms).saturating_sub(r.start_ms);
    // A failed shard stays where it broke off: half its files, stage INDEX.
    let recovered = if r.failed {
        bytes / 2
    } else if running {
        bytes * elapsed / span
    } else {
        bytes
    };
    let mut out = json!({
        "id": 0,
        "type": "SNAPSHOT",
        "stage": if running { "INDEX" } else { "DONE" },
        "primary": true,
        "start_time_in_millis": world.epoch(r.start_ms),
        "total_time_in_millis": elapsed,
        "source": {"repository": r.repository, "snapshot": r.snapshot, "version": "8.17.0", "index": index.name},
        "target": target,
        "index": {
            "size": {"total_in_bytes": bytes, "reused_in_bytes": 0, "recovered_in_bytes": recovered, "percent": percent(recovered, bytes)},
            "files": {"total": 4, "reused": 0, "recovered": if running { 4 * elapsed / span } else { 4 }, "percent": percent(recovered, bytes)},
            "total_time_in_millis": elapsed, "source_throttle_time_in_millis": 0, "target_throttle_time_in_millis": 0,
        },
        "translog": {"recovered": 0, "total": 0, "percent": "100.0%", "total_on_start": 0, "total_time_in_millis": 0},
        "verify_index": {"check_index_time_in_millis": 0, "total_time_in_millis": 0},
    });
    if !running {
        out["stop_time_in_millis"] = json!(world.epoch(r.done_ms));
    }
    out
}

/// `GET <expr>/_recovery[?active_only=true]`.
pub fn recovery(world: &World, req: &Req, expr: &str) -> Resp {
    let names = match world.store.resolve(expr) {
        Ok(n) => n,
        Err(e) => return error(&e),
    };
    let now = world.now_ms();
    let active_only = req.flag("active_only");
    let mut out = Map::new();
    for index in names.iter().filter_map(|n| world.store.indices.get(n)) {
        if active_only && !recovering(index, now) {
            continue;
        }
        out.insert(
            index.name.clone(),
            json!({"shards": [shard(world, index, now)]}),
        );
    }
    Resp::json(200, &Value::Object(out))
}

/// `GET _cluster/health/<expr>`: `red` while a primary of those indices is recovering.
pub fn health(world: &World, expr: &str) -> Resp {
    let names = match world.store.resolve(expr) {
        Ok(n) => n,
        Err(e) => return error(&e),
    };
    let now = world.now_ms();
    let initializing = names
        .iter()
        .filter_map(|n| world.store.indices.get(n))
        .filter(|i| recovering(i, now))
        .count();
    let active = names.len() - initializing;
    Resp::json(
        200,
        &json!({
            "cluster_name": "elastic",
            "status": if initializing > 0 { "red" } else { "green" },
            "timed_out": false,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": active,
            "active_shards": active,
            "relocating_shards": 0,
            "initializing_shards": initializing,
            "unassigned_shards": 0,
        }),
    )
}
