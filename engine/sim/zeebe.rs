//! sim/zeebe: Zeebe partition backups — the model (per partition checkpoint position C and
//! exporter position E at backup time, id rules, progress) and the endpoints of reference 4.4:
//! 8.8 `/actuator/backupRuntime` on the orchestration port, 8.7 `/actuator/backups` on the
//! gateway. It must not touch indices or snapshots.
//!
//! 8.9 deltas (shared/reference/camunda-8.9-8.10.md §2.2 steps 8-9, §2.3): the 202 body also
//! carries `backupId`; a backup one of whose partitions was deleted (retention) is `DELETED`;
//! with continuous backups on, an explicit id is refused with 400 and a POST without one gets
//! a generated epoch-millisecond id.
//!
//! Source for messages and status mapping: camunda/camunda
//! `dist/src/main/java/io/camunda/zeebe/shared/management/BackupEndpoint.java` and
//! `zeebe/gateway/.../admin/backup/BackupAlreadyExistException.java`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::faults::Outcome;
use super::http::{Req, Resp, backup_id_from_body, parse_path_id};
use super::model::World;
use super::time;

/// Partition backup states (reference 4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartState {
    InProgress,
    Completed,
    Failed,
    DoesNotExist,
    /// 8.9: the partition's backup was deleted (primary-storage retention, §2.2 step 9).
    Deleted,
}

/// One partition's backup.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionBackup {
    pub partition_id: u32,
    pub state: PartState,
    /// C: processed position when the backup was taken.
    pub checkpoint_position: u64,
    /// E: exporter position when the backup was taken.
    pub exporter_position: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
    #[serde(skip)]
    pub done_at_ms: u64,
    pub snapshot_id: String,
    pub failure_reason: Option<String>,
}

/// One Zeebe backup.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZeebeBackup {
    pub backup_id: u64,
    #[serde(skip)]
    pub outcome: Outcome,
    pub partitions: Vec<PartitionBackup>,
}

impl ZeebeBackup {
    /// Overall state, in the order of reference 4.4.
    pub fn state(&self) -> &'static str {
        let all = |s: PartState| self.partitions.iter().all(|p| p.state == s);
        let any = |s: PartState| self.partitions.iter().any(|p| p.state == s);
        if all(PartState::Completed) {
            "COMPLETED"
        } else if any(PartState::Failed) {
            "FAILED"
        } else if any(PartState::Deleted) {
            // 8.9: "if at least one partition's backup is deleted" (§2.2 step 9).
            "DELETED"
        } else if any(PartState::DoesNotExist) {
            "INCOMPLETE"
        } else {
            "IN_PROGRESS"
        }
    }

    fn failure_reason(&self) -> Option<String> {
        self.partitions
            .iter()
            .find_map(|p| p.failure_reason.clone())
    }
}

/// The backup store of the brokers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZeebeBackups {
    pub backups: BTreeMap<u64, ZeebeBackup>,
    /// Highest id ever requested (deleted and failed ones count: ids are never reusable).
    pub highest: u64,
    /// Whether the brokers' data directories hold data (restore refuses otherwise).
    pub broker_data_present: bool,
}

impl Default for ZeebeBackups {
    fn default() -> Self {
        ZeebeBackups {
            backups: BTreeMap::new(),
            highest: 0,
            broker_data_present: true,
        }
    }
}

impl ZeebeBackups {
    pub fn settle(&mut self, now_ms: u64) {
        for b in self.backups.values_mut() {
            let outcome = b.outcome;
            for p in &mut b.partitions {
                if p.state != PartState::InProgress || outcome == Outcome::Hang {
                    continue;
                }
                if now_ms >= p.done_at_ms {
                    p.updated_ms = now_ms;
                    // A failed backup fails on the first partition; the others complete.
                    if outcome == Outcome::Failed && p.partition_id == 1 {
                        p.state = PartState::Failed;
                        p.failure_reason = Some(
                            "Failed to take backup: simulated failure of the backup store"
                                .to_string(),
                        );
                    } else if outcome == Outcome::Deleted && p.partition_id == 1 {
                        // Retention removed this partition's backup right after it completed.
                        p.state = PartState::Deleted;
                    } else {
                        p.state = PartState::Completed;
                    }
                }
            }
        }
    }
}

const BAD_ID: &str = "A backupId must be provided and it must be > 0";

fn message(status: u16, text: &str) -> Resp {
    Resp::message(status, text)
}

/// Routes `/actuator/<endpoint>[/...]` for Zeebe backups; `prefix_list` is 8.8 only.
pub fn handle(world: &mut World, req: &Req, rest: &[String], prefix_list: bool) -> Resp {
    match (req.method.as_str(), rest) {
        ("POST", []) => take(world, req),
        ("GET", []) => list(world, "*"),
        ("GET", [arg]) => query(world, arg, prefix_list),
        ("GET", _) => message(400, "Invalid arguments provided."),
        ("DELETE", [arg]) => delete(world, arg),
        _ => Resp::method_not_allowed(),
    }
}

/// C BackupEndpoint @9aa04023 (reference 8.9 §2.2 step 8).
const PREDETERMINED_ID_REFUSED: &str = "Cannot take backup with predetermined backupId when continuous backups are enabled. Use POST actuator/backupRuntime without specifying a backupId.";

/// The id of a take request: the body's, or with 8.9 continuous backups a generated one.
fn requested_id(world: &World, req: &Req) -> Result<u64, Resp> {
    let continuous = world.facts.version.at_least_8_9() && world.facts.config.continuous_backups;
    match backup_id_from_body(&req.body) {
        Ok(_) if continuous => Err(message(400, PREDETERMINED_ID_REFUSED)),
        Ok(id) if id > 0 => Ok(id as u64),
        // Generated ids are epoch milliseconds (§2.2 "Backup-id rule", §6 #7).
        Err(_) if continuous => Ok(time::now_epoch_ms().max(world.zeebe.highest + 1)),
        _ => Err(message(400, BAD_ID)),
    }
}

fn take(world: &mut World, req: &Req) -> Resp {
    let id = match requested_id(world, req) {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    if !world.facts.config.zeebe_backup_store {
        // The brokers reject the request (UNSUPPORTED_MESSAGE → 400) when no store is set.
        return message(
            400,
            "Expected to take a backup, but no backup store is configured on the brokers.",
        );
    }
    if !world.brokers_running || world.cluster.data_wiped {
        return message(502, "Failed to send request from gateway to broker.");
    }
    if id <= world.zeebe.highest {
        return message(
            409,
            &format!(
                "Requested backup has id {id}. The latest backup has id {}. A backupId is an integer and must be greater than the ID of previous backups that are completed, failed, or deleted. Zeebe does not take two backups with the same ids.",
                world.zeebe.highest
            ),
        );
    }
    let now = world.now_ms();
    let outcome = world.faults.outcome("zeebe");
    let duration = world.facts.timing.zeebe_backup_ms;
    let partitions = world
        .cluster
        .partitions
        .iter()
        .map(|p| PartitionBackup {
            partition_id: p.partition_id,
            state: PartState::InProgress,
            checkpoint_position: p.position,
            exporter_position: p.exporter_position,
            created_ms: now,
            updated_ms: now,
            done_at_ms: now + duration,
            // Zeebe snapshot ids are `<index>-<term>-<processed>-<exported>`.
            snapshot_id: format!("{}-1-{}-{}", p.position, p.position, p.exporter_position),
            failure_reason: None,
        })
        .collect();
    world.zeebe.highest = id;
    world.note_scheduled("zeebe", id);
    world.zeebe.backups.insert(
        id,
        ZeebeBackup {
            backup_id: id,
            outcome,
            partitions,
        },
    );
    let text = format!(
        "A backup with id {id} has been scheduled. Use GET actuator/backups/{id} to monitor the status."
    );
    if world.facts.version.at_least_8_9() {
        // 8.9 adds the id to the body; both fields carry the same id (§6 #6).
        return Resp::json(202, &serde_json::json!({"backupId": id, "message": text}));
    }
    Resp::json(202, &super::http::Message { message: text })
}

fn query(world: &World, arg: &str, prefix_list: bool) -> Resp {
    if prefix_list && let Some(prefix) = arg.strip_suffix('*') {
        return list(world, &format!("{prefix}*"));
    }
    match parse_path_id(arg) {
        Some(id) if id > 0 => match world.zeebe.backups.get(&(id as u64)) {
            // Scheduled but not yet seen by the brokers: every partition DOES_NOT_EXIST, which
            // the endpoint answers with 404 (§7.2, §4.4).
            Some(_) if world.schedule_hidden("zeebe", id as u64) => {
                message(404, &format!("Backup with id {id} does not exist"))
            }
            Some(b) => Resp::json(200, &info(world, b)),
            None => message(404, &format!("Backup with id {id} does not exist")),
        },
        Some(id) => message(404, &format!("Backup with id {id} does not exist")),
        None => message(
            400,
            &format!("Expected a backup ID or prefix ending with '*', but got '{arg}'."),
        ),
    }
}

fn list(world: &World, pattern: &str) -> Resp {
    let items: Vec<ListInfo> = world
        .zeebe
        .backups
        .values()
        .rev()
        .filter(|b| super::datastore::glob(pattern, &b.backup_id.to_string()))
        // The list is built from what the brokers report, like the single GET: a backup
        // scheduled within the grace is not in it yet (reference §7.2).
        .filter(|b| !world.schedule_hidden("zeebe", b.backup_id))
        .map(|b| list_info(world, b))
        .collect();
    Resp::json(200, &items)
}

fn delete(world: &mut World, arg: &str) -> Resp {
    match parse_path_id(arg) {
        Some(id) if id > 0 => {
            // Unknown ids answer 204 too (reference 6 #12).
            world.zeebe.backups.remove(&(id as u64));
            Resp::empty(204)
        }
        _ => message(400, BAD_ID),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    backup_id: u64,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    details: Vec<PartitionInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PartitionInfo {
    partition_id: u32,
    state: PartState,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    created_at: String,
    last_updated_at: String,
    checkpoint_position: u64,
    snapshot_id: String,
    broker_version: String,
}

fn info(world: &World, b: &ZeebeBackup) -> Info {
    let version = world.facts.camunda_version();
    Info {
        backup_id: b.backup_id,
        state: b.state(),
        failure_reason: b.failure_reason(),
        details: b
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                partition_id: p.partition_id,
                state: p.state,
                failure_reason: p.failure_reason.clone(),
                created_at: time::zeebe_time(world.epoch(p.created_ms)),
                last_updated_at: time::zeebe_time(world.epoch(p.updated_ms)),
                checkpoint_position: p.checkpoint_position,
                snapshot_id: p.snapshot_id.clone(),
                broker_version: version.clone(),
            })
            .collect(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListInfo {
    backup_id: u64,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    details: Vec<ListPartition>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListPartition {
    partition_id: u32,
    state: PartState,
    created_at: String,
    broker_version: String,
}

fn list_info(world: &World, b: &ZeebeBackup) -> ListInfo {
    let version = world.facts.camunda_version();
    ListInfo {
        backup_id: b.backup_id,
        state: b.state(),
        failure_reason: b.failure_reason(),
        details: b
            .partitions
            .iter()
            .map(|p| ListPartition {
                partition_id: p.partition_id,
                state: p.state,
                created_at: time::zeebe_time(world.epoch(p.created_ms)),
                broker_version: version.clone(),
            })
            .collect(),
    }
}

/// Restores the brokers from backup `id` (what the restore app does); refuses non-empty data.
pub fn restore_brokers(world: &mut World, id: u64) -> Result<(), String> {
    if world.zeebe.broker_data_present {
        return Err("data directory is not empty".to_string());
    }
    let Some(b) = world.zeebe.backups.get(&id) else {
        return Err(format!("no backup with id {id}"));
    };
    if b.state() != "COMPLETED" {
        return Err(format!("backup {id} is {}, not COMPLETED", b.state()));
    }
    let positions: Vec<(u64, u64)> = b
        .partitions
        .iter()
        .map(|p| (p.checkpoint_position, p.exporter_position))
        .collect();
    world.cluster.restore(id, &positions);
    world.zeebe.broker_data_present = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(states: &[PartState]) -> ZeebeBackup {
        ZeebeBackup {
            backup_id: 1,
            outcome: Outcome::Succeed,
            partitions: states
                .iter()
                .enumerate()
                .map(|(i, s)| PartitionBackup {
                    partition_id: i as u32 + 1,
                    state: *s,
                    checkpoint_position: 0,
                    exporter_position: 0,
                    created_ms: 0,
                    updated_ms: 0,
                    done_at_ms: 0,
                    snapshot_id: String::new(),
                    failure_reason: None,
                })
                .collect(),
        }
    }

    #[test]
    fn overall_state_follows_the_documented_order() {
        use PartState::*;
        assert_eq!(backup(&[Completed, Completed]).state(), "COMPLETED");
        assert_eq!(
            backup(&[Failed, DoesNotExist, InProgress]).state(),
            "FAILED"
        );
        assert_eq!(backup(&[DoesNotExist, InProgress]).state(), "INCOMPLETE");
        assert_eq!(backup(&[Completed, InProgress]).state(), "IN_PROGRESS");
        assert_eq!(backup(&[Completed, Deleted]).state(), "DELETED");
        assert_eq!(backup(&[Failed, Deleted]).state(), "FAILED");
    }
}
