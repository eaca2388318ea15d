//! sim/es_api: the Elasticsearch/OpenSearch REST surface of reference 4.6/4.7 — cluster info,
//! snapshot repository, snapshot create/get/status/restore/delete (with `wait_for_completion`),
//! `_cat/indices`, index deletion, index templates — rendered in each product's exact form. It
//! owns wire formats and waiting; the data rules live in `datastore`. It must not know Camunda's
//! backup APIs.
//!
//! Sources: elastic/elasticsearch `rest-api-spec/.../api/snapshot.*.json`, `SnapshotInfo.java`
//! (field order; end time fields only once finished), `SnapshotsInProgress.State` (`_status`
//! reports `STARTED` while running); opensearch-project/OpenSearch `SnapshotInfo.java`
//! (`remote_store_index_shallow_copy`, no `repository`/`feature_states`).

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::datastore::{EsError, SnapState, Snapshot, SnapshotRequest};
use super::http::{Req, Resp};
use super::model::{Shared, World, lock};

const ES_VERSION: &str = "8.17.0";
const ES_VERSION_ID: u64 = 8_170_099;
const OS_VERSION: &str = "2.19.0";
/// OpenSearch ids carry the 0x08000000 mask over `2_19_00_99`.
const OS_VERSION_ID: u64 = 136_407_827;

/// Poll period while a request waits for completion.
const WAIT_POLL: Duration = Duration::from_millis(10);

#[derive(Serialize)]
struct Cause<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct ErrorInner<'a> {
    root_cause: [Cause<'a>; 1],
    #[serde(rename = "type")]
    kind: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: ErrorInner<'a>,
    status: u16,
}

/// The error envelope `{"error":{"root_cause":[..],"type","reason"},"status"}`.
pub fn error(e: &EsError) -> Resp {
    Resp::json(
        e.status,
        &Envelope {
            error: ErrorInner {
                root_cause: [Cause {
                    kind: &e.kind,
                    reason: &e.reason,
                }],
                kind: &e.kind,
                reason: &e.reason,
            },
            status: e.status,
        },
    )
}

/// `PUT /<index>`: an empty index, as anything writing to the datastore may create one (a
/// restore must not take it for an index it restored itself; issue 10). Its owner is unknown
/// to the simulator: `Foreign`, so no export feeds it.
fn create_index(world: &mut World, index: &str) -> Resp {
    if world.store.indices.contains_key(index) {
        let uuid = world.store.indices[index].uuid.clone();
        return error(&EsError::new(
            400,
            "resource_already_exists_exception",
            format!("index [{index}/{uuid}] already exists"),
        ));
    }
    let partitions = world.cluster.partitions.len();
    world
        .store
        .create_index(index, super::datastore::Owner::Foreign, partitions);
    Resp::json(
        200,
        &serde_json::json!({"acknowledged": true, "shards_acknowledged": true, "index": index}),
    )
}

fn ack() -> Resp {
    Resp::json(200, &serde_json::json!({"acknowledged": true}))
}

/// Routes a datastore request.
pub async fn handle(shared: &Shared, req: &Req) -> Resp {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    match (m, segs.as_slice()) {
        ("PUT" | "POST", ["_snapshot", repo, snap]) => {
            create_snapshot(shared, req, repo, snap).await
        }
        ("POST", ["_snapshot", repo, snap, "_restore"]) => restore(shared, req, repo, snap).await,
        _ => {
            let mut world = lock(shared);
            world.settle();
            sync_route(&mut world, req, m, &segs)
        }
    }
}

fn sync_route(world: &mut World, req: &Req, m: &str, segs: &[&str]) -> Resp {
    match (m, segs) {
        ("GET" | "HEAD", []) => root(world),
        ("GET", ["_cluster", "health"]) => Resp::json(
            200,
            &serde_json::json!({"cluster_name": "elastic", "status": "green", "number_of_nodes": 1}),
        ),
        ("GET", ["_cluster", "health", expr]) => super::recovery::health(world, expr),
        ("GET", [expr, "_recovery"]) if !expr.starts_with('_') => {
            super::recovery::recovery(world, req, expr)
        }
        ("GET", ["_cat", "indices"]) => cat_indices(world, req, None),
        ("GET", ["_cat", "indices", pattern]) => cat_indices(world, req, Some(pattern)),
        ("GET", ["_index_template"]) => templates(world, None),
        ("GET", ["_index_template", name]) => templates(world, Some(name)),
        ("GET", ["_snapshot"]) => repositories(world, None),
        ("GET", ["_snapshot", repo]) => repositories(world, Some(repo)),
        ("PUT" | "POST", ["_snapshot", repo]) => register(world, req, repo),
        ("DELETE", ["_snapshot", repo]) => unregister(world, repo),
        ("GET", ["_snapshot", repo, snap]) => get_snapshots(world, req, repo, snap),
        ("GET", ["_snapshot", repo, snap, "_status"]) => status(world, repo, snap),
        ("DELETE", ["_snapshot", repo, snap]) => match world.store.delete_snapshots(repo, snap) {
            Ok(_) => ack(),
            Err(e) => error(&e),
        },
        ("PUT", [index]) if !index.starts_with('_') => create_index(world, index),
        ("DELETE", [index]) if !index.starts_with('_') => match world.store.delete_indices(index) {
            Ok(_) => ack(),
            Err(e) => error(&e),
        },
        _ => Resp::json(
            400,
            &serde_json::json!({"error": format!("no handler found for uri [{}] and method [{m}]", req.path)}),
        ),
    }
}

#[derive(Serialize)]
struct EsVersionInfo {
    number: &'static str,
    build_flavor: &'static str,
    build_type: &'static str,
    build_hash: &'static str,
    build_date: &'static str,
    build_snapshot: bool,
    lucene_version: &'static str,
    minimum_wire_compatibility_version: &'static str,
    minimum_index_compatibility_version: &'static str,
}

#[derive(Serialize)]
struct OsVersionInfo {
    distribution: &'static str,
    number: &'static str,
    build_type: &'static str,
    build_hash: &'static str,
    build_date: &'static str,
    build_snapshot: bool,
    lucene_version: &'static str,
    minimum_wire_compatibility_version: &'static str,
    minimum_index_compatibility_version: &'static str,
}

#[derive(Serialize)]
struct ClusterInfo<V> {
    name: &'static str,
    cluster_name: &'static str,
    cluster_uuid: &'static str,
    version: V,
    tagline: &'static str,
}

/// `GET /`: what a preflight reads (`version.number`, `version.distribution`).
fn root(world: &World) -> Resp {
    if world.facts.opensearch {
        Resp::json(
            200,
            &ClusterInfo {
                name: "opensearch-cluster-master-0",
                cluster_name: "opensearch-cluster",
                cluster_uuid: "sim-cluster-uuid-0000000001",
                version: OsVersionInfo {
                    distribution: "opensearch",
                    number: OS_VERSION,
                    build_type: "tar",
                    build_hash: "simulated",
                    build_date: "2025-02-27T00:00:00.000000Z",
                    build_snapshot: false,
                    lucene_version: "9.12.1",
                    minimum_wire_compatibility_version: "7.10.0",
                    minimum_index_compatibility_version: "7.0.0",
                },
                tagline: "The OpenSearch Project: https://opensearch.org/",
            },
        )
    } else {
        Resp::json(
            200,
            &ClusterInfo {
                name: "camunda-elasticsearch-master-0",
                cluster_name: "elastic",
                cluster_uuid: "sim-cluster-uuid-0000000001",
                version: EsVersionInfo {
                    number: ES_VERSION,
                    build_flavor: "default",
                    build_type: "docker",
                    build_hash: "simulated",
                    build_date: "2024-12-11T12:08:05.663969764Z",
                    build_snapshot: false,
                    lucene_version: "9.12.0",
                    minimum_wire_compatibility_version: "7.17.0",
                    minimum_index_compatibility_version: "7.0.0",
                },
                tagline: "You Know, for Search",
            },
        )
    }
}

fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes}b")
    } else if bytes < 1024 * 1024 {
        format!("{:.1}kb", bytes as f64 / 1024.0)
    } else {
        format!("{:.1}mb", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// `_cat/indices`: text (`h=`, `v`) or `format=json` (all values strings).
fn cat_indices(world: &World, req: &Req, pattern: Option<&str>) -> Resp {
    let names = match pattern {
        Some(p) => match world.store.resolve(p) {
            Ok(n) => n,
            Err(e) => return error(&e),
        },
        None => world.store.indices.keys().cloned().collect(),
    };
    let mut columns = vec![
        "health",
        "status",
        "index",
        "uuid",
        "pri",
        "rep",
        "docs.count",
        "docs.deleted",
        "store.size",
        "pri.store.size",
    ];
    if !world.facts.opensearch {
        columns.push("dataset.size");
    }
    let selected: Vec<&str> = match req.q("h") {
        Some(h) if !h.is_empty() => h.split(',').map(str::trim).collect(),
        _ => columns.clone(),
    };
    let now = world.now_ms();
    let rows: Vec<Vec<(String, String)>> = names
        .iter()
        .filter_map(|n| world.store.indices.get(n))
        .map(|i| {
            let size = human_size(225 + i.docs() * 64);
            // A restored index exists from the start of its restore, red until recovered (§7.4).
            let health = if super::recovery::recovering(i, now) {
                "red"
            } else {
                "green"
            };
            let all = [
                ("health", health.to_string()),
                ("status", "open".to_string()),
                ("index", i.name.clone()),
                ("uuid", i.uuid.clone()),
                ("pri", "1".to_string()),
                ("rep", "0".to_string()),
                ("docs.count", i.docs().to_string()),
                ("docs.deleted", "0".to_string()),
                ("store.size", size.clone()),
                ("pri.store.size", size.clone()),
                ("dataset.size", size),
            ];
            selected
                .iter()
                .filter(|c| columns.contains(c))
                .filter_map(|c| all.iter().find(|(k, _)| k == c).cloned())
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        })
        .collect();
    if req.q("format") == Some("json") {
        let arr: Vec<Value> = rows
            .into_iter()
            .map(|r| Value::Object(r.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
            .collect();
        return cat_json(&arr, &selected);
    }
    Resp::text(200, cat_text(&rows, &selected, req.flag("v")))
}

/// JSON rows keep the column order (serde_json maps would sort keys).
fn cat_json(rows: &[Value], columns: &[&str]) -> Resp {
    let mut out = String::from("[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        let mut first = true;
        for c in columns {
            if let Some(v) = row.get(*c) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&format!("{}:{}", Value::String(c.to_string()), v));
            }
        }
        out.push('}');
    }
    out.push(']');
    Resp {
        status: 200,
        content_type: "application/json",
        body: out.into_bytes(),
        drop: false,
    }
}

/// Text table: columns padded to their widest cell, one row per line, trailing newline.
fn cat_text(rows: &[Vec<(String, String)>], columns: &[&str], header: bool) -> String {
    let mut table: Vec<Vec<String>> = Vec::new();
    if header && let Some(first) = rows.first() {
        table.push(first.iter().map(|(k, _)| k.clone()).collect());
    }
    let _ = columns;
    for r in rows {
        table.push(r.iter().map(|(_, v)| v.clone()).collect());
    }
    let ncols = table.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..ncols)
        .map(|c| {
            table
                .iter()
                .map(|r| r.get(c).map_or(0, String::len))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &table {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, v)| format!("{v:<w$}", w = widths[c]))
            .collect();
        out.push_str(line.join(" ").trim_end());
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct TemplateBody {
    index_patterns: Vec<String>,
    template: Value,
    composed_of: Vec<String>,
}

#[derive(Serialize)]
struct TemplateEntry {
    name: String,
    index_template: TemplateBody,
}

fn templates(world: &World, name: Option<&str>) -> Resp {
    let items: Vec<TemplateEntry> = world
        .store
        .templates
        .iter()
        .filter(|(n, _)| name.is_none_or(|p| p.split(',').any(|p| super::datastore::glob(p, n))))
        .map(|(n, patterns)| TemplateEntry {
            name: n.clone(),
            index_template: TemplateBody {
                index_patterns: patterns.clone(),
                template: serde_json::json!({"settings": {"index": {"number_of_shards": "1", "number_of_replicas": "0"}}}),
                composed_of: Vec::new(),
            },
        })
        .collect();
    if let Some(n) = name
        && items.is_empty()
    {
        return error(&EsError::new(
            404,
            "resource_not_found_exception",
            format!("index template matching [{n}] not found"),
        ));
    }
    #[derive(Serialize)]
    struct Out {
        index_templates: Vec<TemplateEntry>,
    }
    Resp::json(
        200,
        &Out {
            index_templates: items,
        },
    )
}

fn repositories(world: &World, name: Option<&str>) -> Resp {
    let mut parts = Vec::new();
    for (repo, value) in &world.store.repositories {
        if name.is_some_and(|n| n != "_all" && !super::datastore::glob(n, repo)) {
            continue;
        }
        let kind = value
            .get("type")
            .cloned()
            .unwrap_or(Value::String("fs".into()));
        let settings = value
            .get("settings")
            .cloned()
            .unwrap_or(serde_json::json!({}));
        parts.push(format!(
            "{}:{{\"type\":{kind},\"settings\":{settings}}}",
            Value::String(repo.clone())
        ));
    }
    if let Some(n) = name
        && parts.is_empty()
        && !n.contains('*')
        && n != "_all"
    {
        return error(&EsError::repository_missing(n));
    }
    Resp {
        status: 200,
        content_type: "application/json",
        body: format!("{{{}}}", parts.join(",")).into_bytes(),
        drop: false,
    }
}

fn register(world: &mut World, req: &Req, repo: &str) -> Resp {
    let body = req.json().unwrap_or(Value::Null);
    if body.get("type").and_then(Value::as_str).is_none() {
        return error(&EsError::new(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: type is missing;",
        ));
    }
    world.store.repositories.insert(repo.to_string(), body);
    ack()
}

fn unregister(world: &mut World, repo: &str) -> Resp {
    match world.store.repositories.remove(repo) {
        Some(_) => ack(),
        None => error(&EsError::repository_missing(repo)),
    }
}

/// `{"snapshot": ...}` keeping the inner field order.
#[derive(Serialize)]
struct SnapshotWrap<T> {
    snapshot: T,
}

#[derive(Serialize)]
struct Shards {
    total: u64,
    failed: u64,
    successful: u64,
}

#[derive(Serialize)]
struct SnapshotInfo {
    snapshot: String,
    uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<String>,
    version_id: u64,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_store_index_shallow_copy: Option<bool>,
    indices: Vec<String>,
    data_streams: Vec<String>,
    include_global_state: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Value>,
    state: &'static str,
    start_time: String,
    start_time_in_millis: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time_in_millis: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_in_millis: Option<u64>,
    failures: Vec<Value>,
    shards: Shards,
    #[serde(skip_serializing_if = "Option::is_none")]
    feature_states: Option<Vec<Value>>,
}

fn snapshot_info(world: &World, s: &Snapshot) -> SnapshotInfo {
    let os = world.facts.opensearch;
    let start = world.epoch(s.start_ms);
    let end = s.end_ms.map(|e| world.epoch(e));
    let total = s.shards();
    let failed = s.failed_shards();
    let done = s.state != SnapState::InProgress;
    SnapshotInfo {
        snapshot: s.name.clone(),
        uuid: s.uuid.clone(),
        repository: (!os).then(|| s.repository.clone()),
        version_id: if os { OS_VERSION_ID } else { ES_VERSION_ID },
        version: if os { OS_VERSION } else { ES_VERSION },
        remote_store_index_shallow_copy: os.then_some(false),
        indices: s.indices.iter().map(|i| i.name.clone()).collect(),
        data_streams: Vec::new(),
        include_global_state: s.include_global_state,
        metadata: s.metadata.clone(),
        state: s.state.as_str(),
        start_time: super::time::es_time(start),
        start_time_in_millis: start,
        end_time: end.map(super::time::es_time),
        end_time_in_millis: end,
        duration_in_millis: end.map(|e| e.saturating_sub(start)),
        failures: s
            .indices
            .iter()
            .take(failed as usize)
            .map(|i| {
                serde_json::json!({"index": i.name, "shard_id": 0, "reason": "simulated shard failure", "status": "INTERNAL_SERVER_ERROR"})
            })
            .collect(),
        shards: Shards {
            total: if done { total } else { 0 },
            failed,
            successful: if done { total - failed } else { 0 },
        },
        feature_states: (!os).then(Vec::new),
    }
}

/// Reads `indices` (string or array), `include_global_state`, `metadata`, `feature_states`.
fn snapshot_request(
    world: &mut World,
    req: &Req,
    repo: &str,
    snap: &str,
) -> Result<SnapshotRequest, EsError> {
    let body = if req.body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice::<Value>(&req.body)
            .map_err(|e| EsError::new(400, "x_content_parse_exception", format!("[1:1] {e}")))?
    };
    let indices = match body.get("indices") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        None | Some(Value::Null) => "*".to_string(),
        // Source: CreateSnapshotRequest.source (same text in ES and OpenSearch).
        Some(_) => {
            return Err(EsError::new(
                400,
                "illegal_argument_exception",
                "malformed indices section, should be an array of strings",
            ));
        }
    };
    // OpenSearch ignores keys it does not know, such as `feature_states` (CreateSnapshotRequest).
    let feature_states = match body.get("feature_states") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    Ok(SnapshotRequest {
        repo: repo.to_string(),
        name: snap.to_string(),
        indices,
        now_ms: world.now_ms(),
        duration_ms: world.facts.timing.snapshot_part_ms,
        outcome: world.faults.outcome("snapshot"),
        include_global_state: body
            .get("include_global_state")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        metadata: body.get("metadata").cloned(),
        feature_states,
    })
}

/// `PUT /_snapshot/{repo}/{snap}`; with `wait_for_completion=true` answers once it ended.
async fn create_snapshot(shared: &Shared, req: &Req, repo: &str, snap: &str) -> Resp {
    {
        let mut world = lock(shared);
        world.settle();
        let request = match snapshot_request(&mut world, req, repo, snap) {
            Ok(r) => r,
            Err(e) => return error(&e),
        };
        if let Err(e) = world.store.start_snapshot(request) {
            return error(&e);
        }
        if !req.flag("wait_for_completion") {
            return Resp::json(200, &serde_json::json!({"accepted": true}));
        }
    }
    loop {
        tokio::time::sleep(WAIT_POLL).await;
        let mut world = lock(shared);
        world.settle();
        match world.store.snapshot(repo, snap) {
            // Deleted while we waited: ES reports the abort as a missing snapshot.
            None => return error(&EsError::snapshot_missing(repo, snap)),
            Some(s) if s.state != SnapState::InProgress => {
                let info = snapshot_info(&world, s);
                return Resp::json(200, &SnapshotWrap { snapshot: info });
            }
            Some(_) => {}
        }
    }
}

fn get_snapshots(world: &World, req: &Req, repo: &str, expr: &str) -> Resp {
    let selected = if req.flag("ignore_unavailable") {
        // Missing concrete names are skipped.
        let mut v = Vec::new();
        for part in expr.split(',') {
            if let Ok(mut s) = world.store.select(repo, part) {
                v.append(&mut s);
            } else if !world.store.repo_exists(repo) {
                return error(&EsError::repository_missing(repo));
            }
        }
        Ok(v)
    } else {
        world.store.select(repo, expr)
    };
    match selected {
        Err(e) => error(&e),
        Ok(snaps) => {
            let infos: Vec<SnapshotInfo> = snaps.iter().map(|s| snapshot_info(world, s)).collect();
            if world.facts.opensearch {
                #[derive(Serialize)]
                struct Out {
                    snapshots: Vec<SnapshotInfo>,
                }
                Resp::json(200, &Out { snapshots: infos })
            } else {
                #[derive(Serialize)]
                struct Out {
                    snapshots: Vec<SnapshotInfo>,
                    total: usize,
                    remaining: usize,
                }
                let total = infos.len();
                Resp::json(
                    200,
                    &Out {
                        snapshots: infos,
                        total,
                        remaining: 0,
                    },
                )
            }
        }
    }
}

#[derive(Serialize)]
struct ShardsStats {
    initializing: u64,
    started: u64,
    finalizing: u64,
    done: u64,
    failed: u64,
    total: u64,
}

#[derive(Serialize)]
struct StatusEntry {
    snapshot: String,
    repository: String,
    uuid: String,
    state: &'static str,
    include_global_state: bool,
    shards_stats: ShardsStats,
    stats: Value,
    indices: serde_json::Map<String, Value>,
}

fn status(world: &World, repo: &str, expr: &str) -> Resp {
    let snaps = match world.store.select(repo, expr) {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let entries: Vec<StatusEntry> = snaps
        .iter()
        .map(|s| {
            let total = s.shards();
            let failed = s.failed_shards();
            let running = s.state == SnapState::InProgress;
            let start = world.epoch(s.start_ms);
            let took = s.end_ms.unwrap_or(world.now_ms()).saturating_sub(s.start_ms);
            let size: u64 = s.indices.iter().map(|i| 225 + i.positions.iter().sum::<u64>() * 64).sum();
            let files = serde_json::json!({"file_count": total * 4, "size_in_bytes": size});
            StatusEntry {
                snapshot: s.name.clone(),
                repository: s.repository.clone(),
                uuid: s.uuid.clone(),
                state: status_state(s.state),
                include_global_state: s.include_global_state,
                shards_stats: ShardsStats {
                    initializing: 0,
                    started: if running { total } else { 0 },
                    finalizing: 0,
                    done: if running { 0 } else { total - failed },
                    failed,
                    total,
                },
                stats: serde_json::json!({"incremental": files, "total": files, "start_time_in_millis": start, "time_in_millis": took}),
                indices: s
                    .indices
                    .iter()
                    .map(|i| {
                        (
                            i.name.clone(),
                            serde_json::json!({"shards_stats": {"initializing": 0, "started": u64::from(running), "finalizing": 0, "done": u64::from(!running), "failed": 0, "total": 1}}),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    #[derive(Serialize)]
    struct Out {
        snapshots: Vec<StatusEntry>,
    }
    Resp::json(200, &Out { snapshots: entries })
}

/// The `state` of a `_status` entry: `STARTED` while running, and PARTIAL reported as SUCCESS
/// (elastic/elasticsearch `TransportSnapshotsStatusAction`: "Translating both PARTIAL and
/// SUCCESS to SUCCESS for now"; reference §7.3). Only `GET _snapshot/<repo>/<snap>` tells.
fn status_state(state: SnapState) -> &'static str {
    match state {
        SnapState::InProgress => "STARTED",
        SnapState::Partial => SnapState::Success.as_str(),
        other => other.as_str(),
    }
}

/// `POST /_snapshot/{repo}/{snap}/_restore`; with `wait_for_completion=true` answers when done.
async fn restore(shared: &Shared, req: &Req, repo: &str, snap: &str) -> Resp {
    let (indices, done_at) = {
        let mut world = lock(shared);
        world.settle();
        let now = world.now_ms();
        let duration = world
            .facts
            .config
            .restore_ms
            .unwrap_or(world.facts.timing.restore_ms);
        // Peek first: a restore refused (an index exists) consumes no outcome.
        let fail_shard = world.store.restore_would_start(repo, snap)
            && world.faults.outcome("restore") == super::faults::Outcome::Partial;
        match world.store.restore(repo, snap, (now, duration), fail_shard) {
            Ok(restored) => (restored, now + duration),
            Err(e) => return error(&e),
        }
    };
    let (indices, failed) = indices;
    if !req.flag("wait_for_completion") {
        return Resp::json(200, &serde_json::json!({"accepted": true}));
    }
    loop {
        let now = lock(shared).now_ms();
        if now >= done_at {
            break;
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
    #[derive(Serialize)]
    struct Restored<'a> {
        snapshot: &'a str,
        indices: Vec<String>,
        shards: Shards,
    }
    let n = indices.len() as u64;
    Resp::json(
        200,
        &SnapshotWrap {
            snapshot: Restored {
                snapshot: snap,
                indices,
                shards: Shards {
                    total: n,
                    failed,
                    successful: n - failed,
                },
            },
        },
    )
}
