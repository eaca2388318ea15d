//! sim/restore_api: 8.10 recovery mode and the Restore API (in-process restore; reference
//! camunda-8.9-8.10.md §4.2, §4.3): `PATCH /v2/mode?mode=RECOVERING|PROCESSING`,
//! `GET /v2/topology`, `POST /v2/restore[?dryRun=true]`, `GET /v2/restore` on the REST port;
//! `GET /actuator/cluster` and `DELETE /actuator/cluster/changes/<changeId>` on the
//! management port. It owns the cluster's mode, its topology changes (pending and last) and the
//! one restore run; the restore itself replaces the brokers' state with the backup's, as the
//! restore application does (`zeebe::restore_brokers`), without pod restarts or PVC deletion.
//!
//! States: a mode change is pending for `MODE_CHANGE_TICKS` ticks, then completed. A restore
//! (only while every broker is in recovery mode, else 409; only from a COMPLETED backup, else
//! 400) restores partition after partition (`PENDING` → `RESTORING` → `RESTORED`, one
//! `timing.zeebe_backup_ms` each); when the last is restored the brokers hold the backup's
//! state and switch back to `PROCESSING` ("as soon as the last partition is restored", A4).
//! Outcome `zeebe-restore: failed`: partition 1 keeps failing and is retried (`RESTORING`)
//! while the status is `FAILED` (`_restore-api-failed.md`); `hang`: it stays `IN_PROGRESS`.
//! Cancelling the pending change (`DELETE /actuator/cluster/changes/<id>`) ends the restore
//! `CANCELLED` and leaves the cluster in recovery mode. `GET /v2/restore` answers 404 once a
//! restore has finished (`FINISHED_VISIBLE_TICKS` ticks after it ended: "Once the restore has
//! finished, this endpoint returns `404`", A6).

use serde_json::{Value, json};

use super::faults::Outcome;
use super::http::{Req, Resp};
use super::model::World;
use super::oauth_idp::problem;
use super::time;

/// Ticks a mode change stays pending.
const MODE_CHANGE_TICKS: u64 = 3;
/// Ticks a finished restore is still answered by `GET /v2/restore` before it turns 404.
const FINISHED_VISIBLE_TICKS: u64 = 10;

/// The cluster's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Processing,
    Recovering,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Processing => "PROCESSING",
            Mode::Recovering => "RECOVERING",
        }
    }
}

/// What a topology change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Mode(Mode),
    Restore,
}

/// One topology change (`lastChange` / `pendingChange` of `/actuator/cluster`).
#[derive(Clone, Debug)]
struct Change {
    id: u64,
    kind: Kind,
    /// `IN_PROGRESS`, `COMPLETED`, `CANCELLED`.
    status: &'static str,
    started_ms: u64,
    done_ms: Option<u64>,
}

/// One partition of a restore run.
#[derive(Clone, Debug)]
struct PartitionRun {
    partition_id: u32,
    broker_id: u32,
    /// `PENDING`, `RESTORING`, `RESTORED`.
    state: &'static str,
    completed_ms: Option<u64>,
}

/// The restore run (`GET /v2/restore`).
#[derive(Clone, Debug)]
struct RestoreRun {
    change_id: u64,
    backup_id: u64,
    outcome: Outcome,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`, `CANCELLED`.
    status: &'static str,
    started_ms: u64,
    finished_ms: Option<u64>,
    partitions: Vec<PartitionRun>,
}

/// Mode, changes and the restore run of the cluster.
#[derive(Clone, Debug)]
pub struct RestoreApi {
    mode: Mode,
    next_id: u64,
    pending: Option<Change>,
    last: Option<Change>,
    run: Option<RestoreRun>,
}

impl Default for RestoreApi {
    fn default() -> Self {
        // A cluster that has run a while: its initial topology changes are done.
        RestoreApi {
            mode: Mode::Processing,
            next_id: 2,
            pending: None,
            last: Some(Change {
                id: 1,
                kind: Kind::Mode(Mode::Processing),
                status: "COMPLETED",
                started_ms: 0,
                done_ms: Some(0),
            }),
            run: None,
        }
    }
}

impl RestoreApi {
    /// Whether the brokers process records (not in recovery mode, no restore under way).
    pub fn processing(&self) -> bool {
        self.mode == Mode::Processing
    }

    /// The mode as `/sim/state` shows it, with the restore run's status if any.
    pub fn summary(&self) -> Value {
        json!({
            "mode": self.mode.as_str(),
            "pendingChange": self.pending.as_ref().map(|c| c.id),
            "lastChange": self.last.as_ref().map(|c| json!({"id": c.id, "status": c.status})),
            "restore": self.run.as_ref().map(|r| json!({"changeId": r.change_id, "backupId": r.backup_id, "status": r.status})),
        })
    }

    fn new_change(&mut self, kind: Kind, now: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.pending = Some(Change {
            id,
            kind,
            status: "IN_PROGRESS",
            started_ms: now,
            done_ms: None,
        });
        id
    }

    fn finish_pending(&mut self, status: &'static str, now: u64) {
        if let Some(mut c) = self.pending.take() {
            c.status = status;
            c.done_ms = Some(now);
            self.last = Some(c);
        }
    }
}

/// Moves mode changes and the restore run on (called from `World::settle`).
pub fn settle(world: &mut World, now: u64) {
    let tick = world.facts.timing.tick_ms;
    let api = &mut world.restore_api;
    if let Some((Kind::Mode(target), started_ms)) =
        api.pending.as_ref().map(|c| (c.kind, c.started_ms))
        && now >= started_ms + MODE_CHANGE_TICKS * tick
    {
        api.mode = target;
        api.finish_pending("COMPLETED", now);
    }
    settle_restore(world, now);
}

fn settle_restore(world: &mut World, now: u64) {
    let step = world.facts.timing.zeebe_backup_ms.max(1);
    let Some(run) = world.restore_api.run.as_mut() else {
        return;
    };
    if run.finished_ms.is_some() || run.outcome == Outcome::Hang {
        if run.outcome == Outcome::Hang && run.finished_ms.is_none() {
            for p in &mut run.partitions {
                p.state = "RESTORING";
            }
        }
        return;
    }
    let elapsed = now.saturating_sub(run.started_ms);
    for (i, p) in run.partitions.iter_mut().enumerate() {
        let i = i as u64;
        let failing = run.outcome == Outcome::Failed && p.partition_id == 1;
        if failing {
            // Retried with backoff, never succeeds: the status turns FAILED after one try.
            p.state = "RESTORING";
            if elapsed >= step {
                run.status = "FAILED";
            }
        } else if elapsed >= (i + 1) * step {
            if p.state != "RESTORED" {
                p.state = "RESTORED";
                p.completed_ms = Some(run.started_ms + (i + 1) * step);
            }
        } else if elapsed >= i * step {
            p.state = "RESTORING";
        }
    }
    if run.partitions.iter().all(|p| p.state == "RESTORED") {
        let backup_id = run.backup_id;
        run.status = "COMPLETED";
        run.finished_ms = Some(now);
        // The brokers now hold the backup's state, and leave recovery mode (§4.3 A4, A7).
        world.zeebe.broker_data_present = false;
        if let Err(why) = super::zeebe::restore_brokers(world, backup_id) {
            // Checked at POST time; a backup deleted meanwhile fails the restore.
            if let Some(run) = world.restore_api.run.as_mut() {
                run.status = "FAILED";
                run.finished_ms = None;
            }
            let _ = why;
            return;
        }
        world.restore_api.mode = Mode::Processing;
        world.restore_api.finish_pending("COMPLETED", now);
        world.in_place_restore_epoch += 1;
    }
}

/// `/v2/mode`, `/v2/topology`, `/v2/restore` (authenticated by `rest_api`).
pub fn handle_rest(world: &mut World, req: &Req, what: &str) -> Resp {
    match (req.method.as_str(), what) {
        ("PATCH", "mode") => change_mode(world, req),
        ("GET", "topology") => Resp::json(200, &topology(world)),
        ("POST", "restore") => start_restore(world, req),
        ("GET", "restore") => restore_status(world, req),
        _ => problem(405, "Method Not Allowed", "Method not allowed.", &req.path),
    }
}

/// `PATCH /v2/mode?mode=RECOVERING|PROCESSING` → `{"changeId":"N","plannedChanges":[..]}`.
fn change_mode(world: &mut World, req: &Req) -> Resp {
    let target = match req.q("mode").map(str::to_ascii_uppercase).as_deref() {
        Some("RECOVERING") => Mode::Recovering,
        Some("PROCESSING") => Mode::Processing,
        _ => {
            return problem(
                400,
                "Bad Request",
                "Expected query parameter mode to be one of RECOVERING, PROCESSING.",
                &req.path,
            );
        }
    };
    let now = world.now_ms();
    let api = &mut world.restore_api;
    if let Some(p) = &api.pending {
        return problem(
            409,
            "Conflict",
            &format!(
                "Cannot change the mode while change {} is in progress.",
                p.id
            ),
            &req.path,
        );
    }
    if api.mode == target {
        // Already in that mode: an empty change, completed at once (a client waiting for its
        // id in `lastChange` sees it COMPLETED, not an earlier cancelled restore).
        let id = api.new_change(Kind::Mode(target), now);
        api.finish_pending("COMPLETED", now);
        return Resp::json(
            200,
            &json!({"changeId": id.to_string(), "plannedChanges": []}),
        );
    }
    let id = api.new_change(Kind::Mode(target), now);
    let brokers = world.facts.brokers;
    let ops: Vec<Value> = (0..brokers)
        .flat_map(|b| {
            [
                json!({"operation": "ModeChangeOperation", "brokerId": b.to_string(), "mode": target.as_str()}),
                json!({"operation": "AwaitModeChangeOperation", "brokerId": b.to_string(), "mode": target.as_str()}),
            ]
        })
        .collect();
    Resp::json(
        200,
        &json!({"changeId": id.to_string(), "plannedChanges": ops}),
    )
}

/// The brokers holding a partition (replication factor `min(3, brokers)`, round robin).
fn replicas(partition: u32, brokers: u32) -> Vec<u32> {
    let rf = brokers.min(3);
    (0..rf).map(|k| (partition - 1 + k) % brokers).collect()
}

/// `GET /v2/topology`: in recovery mode every partition is `recovering`, role `inactive`.
fn topology(world: &World) -> Value {
    let f = &world.facts;
    let recovering = world.restore_api.mode == Mode::Recovering;
    let brokers: Vec<Value> = (0..f.brokers)
        .map(|b| {
            let partitions: Vec<Value> = (1..=f.partitions)
                .filter(|p| replicas(*p, f.brokers).contains(&b))
                .map(|p| {
                    let leader = replicas(p, f.brokers)[0] == b;
                    let (role, state) = match (recovering, leader) {
                        (true, _) => ("inactive", "recovering"),
                        (false, true) => ("leader", "active"),
                        (false, false) => ("follower", "active"),
                    };
                    json!({"partitionId": p, "role": role, "state": state, "health": "healthy"})
                })
                .collect();
            json!({
                "nodeId": b,
                "host": format!("{}-zeebe-{b}.{}-zeebe", f.release, f.release),
                "port": 26501,
                "partitions": partitions,
                "version": f.camunda_version(),
            })
        })
        .collect();
    json!({
        "brokers": brokers,
        "clusterSize": f.brokers,
        "partitionsCount": f.partitions,
        "replicationFactor": f.brokers.min(3),
        "gatewayVersion": f.camunda_version(),
        "lastCompletedChangeId": world.restore_api.last.as_ref().map_or(0, |c| c.id).to_string(),
    })
}

/// The single backup id of an ES/OS restore body `{"backupIds": [ID]}` (§4.3 A5).
fn requested_backup(req: &Req) -> Result<u64, &'static str> {
    let Some(body) = req.json() else {
        return Err("A restore from Elasticsearch/OpenSearch secondary storage needs backupIds.");
    };
    if body.get("from").is_some() || body.get("to").is_some() {
        return Err(
            "backupIds cannot be combined with from/to, and a time range needs continuous backups.",
        );
    }
    match body
        .get("backupIds")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([id]) => id
            .as_u64()
            .filter(|id| *id > 0)
            .ok_or("backupIds must hold positive backup ids."),
        Some([_, _, ..]) => {
            Err("Exactly one backup id is supported with Elasticsearch/OpenSearch.")
        }
        _ => Err("A restore from Elasticsearch/OpenSearch secondary storage needs backupIds."),
    }
}

/// `POST /v2/restore[?dryRun=true]` body `{"backupIds":[ID]}` → 202 `{changeId, plannedChanges}`.
fn start_restore(world: &mut World, req: &Req) -> Resp {
    let id = match requested_backup(req) {
        Ok(id) => id,
        Err(why) => return problem(400, "Bad Request", why, &req.path),
    };
    let api = &world.restore_api;
    if api.mode != Mode::Recovering || api.pending.is_some() {
        return problem(
            409,
            "Conflict",
            "Expected every broker to be in recovery mode: PATCH /v2/mode?mode=RECOVERING first and wait for the change to complete.",
            &req.path,
        );
    }
    match world.zeebe.backups.get(&id).map(|b| b.state()) {
        Some("COMPLETED") => {}
        Some(state) => {
            return problem(
                400,
                "Bad Request",
                &format!("Backup {id} is {state}; only a COMPLETED backup can be restored."),
                &req.path,
            );
        }
        None => {
            return problem(
                400,
                "Bad Request",
                &format!("Backup {id} does not exist."),
                &req.path,
            );
        }
    }
    let planned = planned_restore(world, id);
    if req.flag("dryRun") {
        let next = world.restore_api.next_id;
        return Resp::json(
            200,
            &json!({"changeId": next.to_string(), "plannedChanges": planned}),
        );
    }
    let now = world.now_ms();
    let outcome = world.faults.outcome("zeebe-restore");
    let change_id = world.restore_api.new_change(Kind::Restore, now);
    let partitions = (1..=world.facts.partitions)
        .map(|p| PartitionRun {
            partition_id: p,
            broker_id: replicas(p, world.facts.brokers)[0],
            state: "PENDING",
            completed_ms: None,
        })
        .collect();
    world.restore_api.run = Some(RestoreRun {
        change_id,
        backup_id: id,
        outcome,
        status: "IN_PROGRESS",
        started_ms: now,
        finished_ms: None,
        partitions,
    });
    Resp::json(
        202,
        &json!({"changeId": change_id.to_string(), "plannedChanges": planned}),
    )
}

/// The documented `plannedChanges` form (8.10 leads with `SchemaInitializationOperation`);
/// clients must read only `changeId` (§6 #23).
fn planned_restore(world: &World, id: u64) -> Value {
    let mut ops = vec![json!({"operation": "SchemaInitializationOperation"})];
    for p in 1..=world.facts.partitions {
        let b = replicas(p, world.facts.brokers)[0].to_string();
        ops.push(
            json!({"operation": "PartitionPreRestoreOperation", "brokerId": b, "partitionId": p}),
        );
        ops.push(json!({"operation": "PartitionRestoreOperation", "brokerId": b, "partitionId": p, "backupIds": [id]}));
    }
    for b in 0..world.facts.brokers {
        let b = b.to_string();
        ops.push(json!({"operation": "ModeChangeOperation", "brokerId": b, "mode": "PROCESSING"}));
        ops.push(
            json!({"operation": "AwaitModeChangeOperation", "brokerId": b, "mode": "PROCESSING"}),
        );
        ops.push(json!({"operation": "UpdateIncarnationNumberOperation", "brokerId": b}));
    }
    json!([{"physicalTenantId": "default", "operations": ops}])
}

/// `GET /v2/restore`: the run's status, 404 when there is none or it finished a while ago.
fn restore_status(world: &World, req: &Req) -> Resp {
    let now = world.now_ms();
    let visible = FINISHED_VISIBLE_TICKS * world.facts.timing.tick_ms;
    let run = match &world.restore_api.run {
        Some(r) if r.finished_ms.is_none_or(|f| now < f + visible) => r,
        _ => {
            return problem(404, "Not Found", "No restore is in progress.", &req.path);
        }
    };
    let mut brokers: Vec<Value> = Vec::new();
    for b in 0..world.facts.brokers {
        let mine: Vec<&PartitionRun> = run.partitions.iter().filter(|p| p.broker_id == b).collect();
        if mine.is_empty() {
            continue;
        }
        let partitions: Vec<Value> = mine
            .iter()
            .map(|p| {
                let mut v = json!({"partitionId": p.partition_id, "state": p.state, "backupIds": [run.backup_id]});
                if let Some(at) = p.completed_ms {
                    v["completedAt"] = json!(time::zeebe_time(world.epoch(at)));
                }
                v
            })
            .collect();
        brokers.push(json!({
            "brokerId": b.to_string(),
            "partitionsRestored": mine.iter().filter(|p| p.state == "RESTORED").count(),
            "partitionsToRestore": mine.len(),
            "partitions": partitions,
        }));
    }
    Resp::json(
        200,
        &json!({
            "status": run.status,
            "changeId": run.change_id.to_string(),
            "startedAt": time::zeebe_time(world.epoch(run.started_ms)),
            "brokers": brokers,
        }),
    )
}

/// `GET /actuator/cluster` and `DELETE /actuator/cluster/changes/<changeId>` (management port).
pub fn handle_cluster(world: &mut World, req: &Req, rest: &[String]) -> Resp {
    match (req.method.as_str(), rest) {
        ("GET", []) => Resp::json(200, &cluster(world)),
        ("DELETE", [changes, id]) if changes == "changes" => cancel(world, id),
        _ => Resp::not_found(),
    }
}

fn change_json(world: &World, c: &Change) -> Value {
    let mut v = json!({
        "id": c.id,
        "status": c.status,
        "startedAt": time::zeebe_time(world.epoch(c.started_ms)),
    });
    if let Some(done) = c.done_ms {
        v["completedAt"] = json!(time::zeebe_time(world.epoch(done)));
    }
    v
}

/// The management API's cluster topology with `lastChange` and `pendingChange` (§4.3 A2).
fn cluster(world: &World) -> Value {
    let f = &world.facts;
    let api = &world.restore_api;
    let brokers: Vec<Value> = (0..f.brokers)
        .map(|b| {
            let partitions: Vec<Value> = (1..=f.partitions)
                .filter(|p| replicas(*p, f.brokers).contains(&b))
                .map(|p| json!({"id": p, "state": "ACTIVE", "priority": 1}))
                .collect();
            json!({"id": b, "state": "ACTIVE", "version": 0, "partitions": partitions})
        })
        .collect();
    let mut v = json!({
        "version": api.next_id - 1,
        "brokers": brokers,
        "mode": api.mode.as_str(),
    });
    if let Some(c) = &api.last {
        v["lastChange"] = change_json(world, c);
    }
    if let Some(c) = &api.pending {
        v["pendingChange"] = change_json(world, c);
    }
    v
}

/// Cancels the pending change: a restore ends `CANCELLED`, the cluster stays in recovery mode
/// (`_restore-api-failed.md`).
fn cancel(world: &mut World, id: &str) -> Resp {
    let now = world.now_ms();
    let api = &mut world.restore_api;
    let matches = api.pending.as_ref().is_some_and(|c| c.id.to_string() == id);
    if !matches {
        return Resp::message(404, &format!("No pending change with id {id}."));
    }
    if let Some(run) = api.run.as_mut()
        && run.finished_ms.is_none()
    {
        run.status = "CANCELLED";
        run.finished_ms = Some(now);
    }
    api.finish_pending("CANCELLED", now);
    Resp::json(200, &cluster(world))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_wrap_around_the_brokers() {
        assert_eq!(replicas(1, 3), [0, 1, 2]);
        assert_eq!(replicas(3, 3), [2, 0, 1]);
        assert_eq!(replicas(2, 1), [0]);
    }

    #[test]
    fn restore_bodies_take_one_backup_id() {
        let req = |body: &str| Req {
            body: body.as_bytes().to_vec(),
            ..Req::default()
        };
        assert_eq!(requested_backup(&req(r#"{"backupIds":[7]}"#)), Ok(7));
        assert!(requested_backup(&req(r#"{"backupIds":[7,8]}"#)).is_err());
        assert!(requested_backup(&req(r#"{"backupIds":[7],"to":"x"}"#)).is_err());
        assert!(requested_backup(&req("")).is_err());
    }
}
