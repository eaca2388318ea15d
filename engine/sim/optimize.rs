//! sim/optimize: Optimize backups, `/actuator/backups` on the Optimize management port
//! (reference 4.5): two snapshots per backup (part 1 import indices, part 2 the rest), state
//! computation in the documented order, Optimize's error body. Snapshots live in `datastore`.
//!
//! Sources: camunda/camunda `optimize/backend/src/main/java/io/camunda/optimize/rest/actuator/
//! BackupRestService.java`, `.../service/BackupService.java` (duplicate id → conflict with
//! "A backup with ID [..] already exists. Found snapshots: [..]"), `.../rest/ErrorResponseDto.java`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::datastore::{Owner, SnapState, Snapshot, SnapshotRequest};
use super::http::{Req, Resp, backup_id_from_body, parse_path_id};
use super::model::World;
use super::time;

const PREFIX: &str = "camunda_optimize_";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: &'static str,
    error_message: String,
    detailed_message: String,
}

/// Optimize's error body `{"errorCode","errorMessage","detailedMessage"}`: `errorMessage` is
/// the localized text of the code, `detailedMessage` the exception's message
/// (`BackupRestService.getErrorResponseDto`). The localized texts are the simulator's own.
pub fn error(status: u16, message: &str) -> Resp {
    let (error_code, localized) = match status {
        400 => ("badRequestError", "The request was invalid."),
        404 => (
            "notFoundError",
            "The requested resource could not be found.",
        ),
        409 => (
            "conflictError",
            "The request conflicts with the current state.",
        ),
        502 => (
            "elasticsearchConnectionError",
            "Optimize could not connect to the database.",
        ),
        _ => ("serverError", "An internal server error occurred."),
    };
    Resp::json(
        status,
        &ErrorBody {
            error_code,
            error_message: localized.to_string(),
            detailed_message: message.to_string(),
        },
    )
}

/// Routes `/actuator/backups[/{id}]`.
pub fn handle(world: &mut World, req: &Req, rest: &[String]) -> Resp {
    match (req.method.as_str(), rest) {
        ("POST", []) => take(world, req),
        ("GET", []) => list(world),
        ("GET", [id]) => get(world, id),
        ("DELETE", [id]) => delete(world, id),
        (_, [_, _, ..]) => Resp::not_found(),
        _ => Resp::method_not_allowed(),
    }
}

fn repository_problem(world: &World) -> Option<Resp> {
    if !world.facts.config.optimize_repository {
        return Some(error(
            400,
            "Cannot execute backup request because no Elasticsearch snapshot repository name found in Optimize configuration.",
        ));
    }
    if !world.store.repo_exists(world.facts.repository()) {
        return Some(error(
            400,
            &format!(
                "No repository with name [{}] could be found.",
                world.facts.repository()
            ),
        ));
    }
    None
}

fn take(world: &mut World, req: &Req) -> Resp {
    let id = match backup_id_from_body(&req.body) {
        Ok(id) if id > 0 => id as u64,
        _ => return error(400, "A backupId must be provided and it must be > 0"),
    };
    if let Some(resp) = repository_problem(world) {
        return resp;
    }
    let existing: Vec<String> = snapshots_of(world, id)
        .iter()
        .map(|s| s.name.clone())
        .collect();
    if !existing.is_empty() {
        return error(
            409,
            &format!(
                "A backup with ID [{id}] already exists. Found snapshots: [{}]",
                existing.join(", ")
            ),
        );
    }
    let version = world.facts.optimize_version();
    let outcome = world.faults.outcome("optimize");
    world.note_scheduled("optimize", id);
    let now = world.now_ms();
    let parts = [
        world.owned_indices(&[Owner::OptimizeImport]),
        world.owned_indices(&[Owner::Optimize]),
    ];
    // Both parts are triggered together (the docs' example shows equal start times).
    for (k, indices) in parts.into_iter().enumerate() {
        let name = format!("{PREFIX}{id}_{version}_part_{}_of_2", k + 1);
        let _ = world.store.start_snapshot(SnapshotRequest {
            repo: world.facts.repository().to_string(),
            name,
            indices: indices.join(","),
            now_ms: now,
            duration_ms: world.facts.timing.snapshot_part_ms,
            outcome: if k == 0 { outcome } else { Default::default() },
            include_global_state: false,
            metadata: None,
            feature_states: vec!["none".to_string()],
        });
    }
    Resp::json(
        202,
        &serde_json::json!({"message": format!(
            "Backup creation for ID {id} has been scheduled. Use the GET API to monitor completion of backup process"
        )}),
    )
}

fn snapshots_of(world: &World, id: u64) -> Vec<&Snapshot> {
    let prefix = format!("{PREFIX}{id}_");
    let mut v: Vec<&Snapshot> = world
        .store
        .snapshots
        .iter()
        .filter(|s| s.repository == world.facts.repository() && s.name.starts_with(&prefix))
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    snapshot_name: String,
    state: &'static str,
    start_time: String,
    failures: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupInfo {
    backup_id: u64,
    failure_reason: Option<String>,
    state: &'static str,
    details: Vec<Detail>,
}

/// Overall state in the order of reference 4.5.
pub fn compute_state(snaps: &[&Snapshot]) -> (&'static str, Option<String>) {
    let any = |st: SnapState| snaps.iter().any(|s| s.state == st);
    let successes = snaps
        .iter()
        .filter(|s| s.state == SnapState::Success)
        .count();
    if successes == 2 && snaps.len() == 2 {
        ("COMPLETED", None)
    } else if any(SnapState::Failed) || any(SnapState::Partial) {
        let names: Vec<String> = snaps
            .iter()
            .filter(|s| matches!(s.state, SnapState::Failed | SnapState::Partial))
            .map(|s| s.name.clone())
            .collect();
        (
            "FAILED",
            Some(format!(
                "The following snapshots failed: [{}]",
                names.join(", ")
            )),
        )
    } else if any(SnapState::Incompatible) {
        ("INCOMPATIBLE", None)
    } else if any(SnapState::InProgress) {
        ("IN_PROGRESS", None)
    } else if successes < 2 {
        ("INCOMPLETE", None)
    } else {
        ("FAILED", None)
    }
}

fn info(world: &World, id: u64, snaps: &[&Snapshot]) -> BackupInfo {
    let (state, failure_reason) = compute_state(snaps);
    BackupInfo {
        backup_id: id,
        failure_reason,
        state,
        details: snaps
            .iter()
            .map(|s| Detail {
                snapshot_name: s.name.clone(),
                state: s.state.as_str(),
                start_time: time::webapps_time(world.epoch(s.start_ms)),
                failures: Vec::new(),
            })
            .collect(),
    }
}

fn get(world: &World, seg: &str) -> Resp {
    let Some(id) = parse_path_id(seg).filter(|id| *id > 0) else {
        return error(400, "A backupId must be provided and it must be > 0");
    };
    if let Some(resp) = repository_problem(world) {
        return resp;
    }
    let snaps = snapshots_of(world, id as u64);
    // "Backup creation is asynchronous" (§7.2): not visible right after the POST.
    if snaps.is_empty() || world.schedule_hidden("optimize", id as u64) {
        return error(
            404,
            &format!("No Optimize backup with ID [{id}] could be found."),
        );
    }
    Resp::json(200, &info(world, id as u64, &snaps))
}

fn list(world: &World) -> Resp {
    if let Some(resp) = repository_problem(world) {
        return resp;
    }
    let mut by_id: BTreeMap<u64, Vec<&Snapshot>> = BTreeMap::new();
    for s in world
        .store
        .snapshots
        .iter()
        .filter(|s| s.repository == world.facts.repository())
    {
        let id = s
            .name
            .strip_prefix(PREFIX)
            .and_then(|r| r.split_once('_'))
            .and_then(|(id, _)| id.parse::<u64>().ok());
        // A backup scheduled within the grace is not listed yet, as its GET answers 404
        // (reference §7.2).
        if let Some(id) = id
            && !world.schedule_hidden("optimize", id)
        {
            by_id.entry(id).or_default().push(s);
        }
    }
    let items: Vec<BackupInfo> = by_id
        .iter_mut()
        .rev()
        .map(|(id, snaps)| {
            snaps.sort_by(|a, b| a.name.cmp(&b.name));
            info(world, *id, snaps)
        })
        .collect();
    Resp::json(200, &items)
}

fn delete(world: &mut World, seg: &str) -> Resp {
    let Some(id) = parse_path_id(seg).filter(|id| *id > 0) else {
        return error(400, "A backupId must be provided and it must be > 0");
    };
    if !world.store.repo_exists(world.facts.repository()) {
        return error(
            500,
            &format!(
                "No repository with name [{}] could be found.",
                world.facts.repository()
            ),
        );
    }
    let prefix = format!("{PREFIX}{id}_");
    world
        .store
        .snapshots
        .retain(|s| !(s.repository == world.facts.repository() && s.name.starts_with(&prefix)));
    Resp::empty(204)
}
