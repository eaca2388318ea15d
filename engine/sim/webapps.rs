//! sim/webapps: web-app (Operate + Tasklist) backups — 8.8 `/actuator/backupHistory` on the
//! orchestration port and 8.7 `/actuator/backups` on Operate and on Tasklist (reference 4.3).
//! It owns the queue that takes the parts one after the other, the state computation in the
//! documented order and the exact messages; snapshots themselves live in `datastore`.
//!
//! Sources: camunda/camunda `webapps-backup/src/main/java/io/camunda/webapps/backup/
//! BackupServiceImpl.java` (queue of parts, "Another backup is running" while parts are queued,
//! a failed part clears the queue, missing required indices fail the request) and `.../repository/elasticsearch/ElasticsearchBackupRepository.java`
//! (duplicate check lists snapshot names joined with ", ").

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::datastore::{Owner, SnapState, Snapshot, SnapshotRequest};
use super::faults::Outcome;
use super::http::{Req, Resp, backup_id_from_body, parse_path_id};
use super::model::World;
use super::time;

/// Which web-app backup API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum App {
    /// 8.8: Operate + Tasklist + `camunda-*` in one backup.
    Webapps,
    /// 8.7 Operate.
    Operate,
    /// 8.7 Tasklist.
    Tasklist,
}

impl App {
    pub fn name(self) -> &'static str {
        match self {
            App::Webapps => "webapps",
            App::Operate => "operate",
            App::Tasklist => "tasklist",
        }
    }
    /// Snapshot name prefix (reference 4.8).
    pub fn prefix(self) -> String {
        format!("camunda_{}_", self.name())
    }
    fn owners(self) -> &'static [Owner] {
        match self {
            App::Webapps => &[Owner::Operate, Owner::Tasklist, Owner::Camunda],
            App::Operate => &[Owner::Operate],
            App::Tasklist => &[Owner::Tasklist],
        }
    }
}

/// A part waiting for its turn.
#[derive(Clone, Debug)]
struct PendingPart {
    name: String,
    indices: Vec<String>,
    metadata: serde_json::Value,
    outcome: Outcome,
}

/// The parts still to take, per app, and the part running now.
#[derive(Clone, Debug, Default)]
pub struct WebappsQueues {
    pending: BTreeMap<App, VecDeque<PendingPart>>,
    current: BTreeMap<App, String>,
}

impl WebappsQueues {
    /// "Another backup is running": parts still queued. As in `BackupServiceImpl`, the last
    /// part, once started, no longer blocks a new backup.
    fn busy(&self, app: App) -> bool {
        self.pending.get(&app).is_some_and(|q| !q.is_empty())
    }
}

/// Starts the next part of every app whose previous part ended.
pub fn progress(world: &mut World, now_ms: u64) {
    for app in [App::Webapps, App::Operate, App::Tasklist] {
        loop {
            let current_state = world
                .webapps
                .current
                .get(&app)
                .and_then(|name| world.store.snapshot(world.facts.repository(), name))
                .map(|s| s.state);
            match current_state {
                Some(SnapState::InProgress) => break,
                // A failed part stops the backup: the rest is never taken.
                Some(SnapState::Failed) => {
                    world.webapps.pending.remove(&app);
                    world.webapps.current.remove(&app);
                    break;
                }
                _ => {}
            }
            let Some(part) = world
                .webapps
                .pending
                .get_mut(&app)
                .and_then(VecDeque::pop_front)
            else {
                world.webapps.current.remove(&app);
                break;
            };
            let started = world.store.start_snapshot(SnapshotRequest {
                repo: world.facts.repository().to_string(),
                name: part.name.clone(),
                indices: part.indices.join(","),
                now_ms,
                duration_ms: world.facts.timing.snapshot_part_ms,
                outcome: part.outcome,
                // Camunda's default `includeGlobalState` is true (BackupRepositoryProps).
                include_global_state: true,
                metadata: Some(part.metadata),
                feature_states: vec!["none".to_string()],
            });
            if started.is_err() {
                // ES refused the part (index or repository missing): the backup stays incomplete.
                world.webapps.pending.remove(&app);
                world.webapps.current.remove(&app);
                break;
            }
            world.webapps.current.insert(app, part.name);
        }
    }
}

fn invalid_id(raw: &str) -> Resp {
    Resp::message(
        400,
        &format!("BackupId must be a non-negative Integer. Received value: {raw}"),
    )
}

fn no_repository(world: &World) -> Resp {
    Resp::message(
        404,
        &format!(
            "No repository with name [{}] could be found.",
            world.facts.repository()
        ),
    )
}

/// Routes the web-app backup endpoints.
pub fn handle(world: &mut World, app: App, req: &Req, rest: &[String]) -> Resp {
    match (req.method.as_str(), rest) {
        ("POST", []) => take(world, app, req),
        ("GET", []) => list(world, app, req.q("pattern").unwrap_or("*")),
        ("GET", [id]) => get(world, app, id),
        ("DELETE", [id]) => delete(world, app, id),
        (_, [_, _, ..]) => Resp::not_found(),
        _ => Resp::method_not_allowed(),
    }
}

fn take(world: &mut World, app: App, req: &Req) -> Resp {
    let id = match backup_id_from_body(&req.body) {
        Ok(id) if id > 0 => id as u64,
        Ok(id) => return invalid_id(&id.to_string()),
        Err(raw) => return invalid_id(&raw),
    };
    if !world.facts.config.webapps_repository {
        return Resp::message(400, "No backup repository configured.");
    }
    if !world.store.repo_exists(world.facts.repository()) {
        return no_repository(world);
    }
    let existing: Vec<String> = snapshots_of(world, app, id)
        .iter()
        .map(|s| s.name.clone())
        .collect();
    if !existing.is_empty() {
        return Resp::message(
            400,
            &format!(
                "A backup with ID [{id}] already exists. Found snapshots: [{}]",
                existing.join(", ")
            ),
        );
    }
    if world.webapps.busy(app) {
        return Resp::message(400, "Another backup is running at the moment");
    }
    // Required indices must exist (`getValidIndexPatterns`); the exception is unmapped → 500.
    let missing: Vec<String> = world
        .owned_indices(app.owners())
        .into_iter()
        .filter(|n| !world.store.indices.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Resp::message(
            500,
            &format!("Missing required indices: [{}]", missing.join(", ")),
        );
    }
    let parts = plan_parts(world, app, id);
    let names: Vec<String> = parts.iter().map(|p| p.name.clone()).collect();
    world.webapps.pending.insert(app, parts.into());
    world.note_scheduled(app.name(), id);
    let now = world.now_ms();
    progress(world, now);
    Resp::json(200, &serde_json::json!({ "scheduledSnapshots": names }))
}

/// The parts of a new backup: the app's indices split into `webapps_parts` contiguous groups.
fn plan_parts(world: &mut World, app: App, id: u64) -> Vec<PendingPart> {
    let version = world.facts.camunda_version();
    let count = world.facts.webapps_parts as usize;
    let indices = world.owned_indices(app.owners());
    let outcome = world.faults.outcome(app.name());
    (0..count)
        .map(|k| {
            let lo = k * indices.len() / count;
            let hi = (k + 1) * indices.len() / count;
            PendingPart {
                name: format!("{}{id}_{version}_part_{}_of_{count}", app.prefix(), k + 1),
                indices: indices[lo..hi].to_vec(),
                metadata: serde_json::json!({
                    "backupId": id, "version": version, "partNo": k + 1, "partCount": count
                }),
                // A failing or hanging backup does so on its first part.
                outcome: if k == 0 { outcome } else { Outcome::Succeed },
            }
        })
        .collect()
}

fn snapshots_of(world: &World, app: App, id: u64) -> Vec<&Snapshot> {
    let prefix = format!("{}{id}_", app.prefix());
    world
        .store
        .snapshots
        .iter()
        .filter(|s| s.repository == world.facts.repository() && s.name.starts_with(&prefix))
        .collect()
}

/// `<prefix><id>_<version>_part_<n>_of_<m>` → (id, m).
fn parse_name(prefix: &str, name: &str) -> Option<(u64, usize)> {
    let rest = name.strip_prefix(prefix)?;
    let (id, rest) = rest.split_once('_')?;
    let (_, count) = rest.rsplit_once("_of_")?;
    Some((id.parse().ok()?, count.parse().ok()?))
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
    state: &'static str,
    failure_reason: Option<String>,
    details: Vec<Detail>,
}

/// Overall state in the order of reference 4.3 (rules 1-6).
pub fn compute_state(
    snaps: &[&Snapshot],
    expected: usize,
    now_ms: u64,
    incomplete_timeout_ms: u64,
) -> (&'static str, Option<String>) {
    let names = |st: SnapState| {
        snaps
            .iter()
            .filter(|s| s.state == st)
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let any = |st: SnapState| snaps.iter().any(|s| s.state == st);
    if snaps.len() == expected && snaps.iter().all(|s| s.state == SnapState::Success) {
        ("COMPLETED", None)
    } else if any(SnapState::Failed) {
        (
            "FAILED",
            Some(format!(
                "There were failures with the following snapshots: {}",
                names(SnapState::Failed)
            )),
        )
    } else if any(SnapState::Partial) {
        (
            "FAILED",
            Some(format!(
                "Some of the snapshots are partial: {}",
                names(SnapState::Partial)
            )),
        )
    } else if any(SnapState::Incompatible) {
        ("INCOMPATIBLE", None)
    } else if any(SnapState::InProgress) {
        ("IN_PROGRESS", None)
    } else if snaps.len() < expected {
        let last_end = snaps
            .iter()
            .map(|s| s.end_ms.unwrap_or(s.start_ms))
            .max()
            .unwrap_or(0);
        if now_ms.saturating_sub(last_end) >= incomplete_timeout_ms {
            ("INCOMPLETE", None)
        } else {
            ("IN_PROGRESS", None)
        }
    } else {
        (
            "FAILED",
            Some("More snapshots found than expected.".to_string()),
        )
    }
}

fn info(world: &World, app: App, id: u64, snaps: &[&Snapshot]) -> BackupInfo {
    let expected = snaps
        .iter()
        .filter_map(|s| parse_name(&app.prefix(), &s.name).map(|(_, m)| m))
        .max()
        .unwrap_or(world.facts.webapps_parts as usize);
    let (mut state, failure_reason) = compute_state(
        snaps,
        expected,
        world.now_ms(),
        world.facts.timing.incomplete_check_timeout_ms,
    );
    // Parts still queued for this id: the backup is running, not incomplete.
    let queued = world.webapps.pending.get(&app).is_some_and(|q| {
        q.iter()
            .any(|p| parse_name(&app.prefix(), &p.name).map(|x| x.0) == Some(id))
    });
    if state == "INCOMPLETE" && queued {
        state = "IN_PROGRESS";
    }
    BackupInfo {
        backup_id: id,
        state,
        failure_reason,
        details: snaps
            .iter()
            .map(|s| Detail {
                snapshot_name: s.name.clone(),
                state: s.state.as_str(),
                start_time: time::webapps_time(world.epoch(s.start_ms)),
                failures: if s.state == SnapState::Failed {
                    vec!["simulated shard failure".to_string()]
                } else {
                    Vec::new()
                },
            })
            .collect(),
    }
}

/// The controller validates the id, then the configured repository name.
fn not_configured(world: &World) -> Option<Resp> {
    (!world.facts.config.webapps_repository)
        .then(|| Resp::message(400, "No backup repository configured."))
}

fn get(world: &World, app: App, seg: &str) -> Resp {
    let id = match parse_path_id(seg) {
        Some(id) if id > 0 => id as u64,
        _ => return invalid_id(seg),
    };
    if let Some(resp) = not_configured(world) {
        return resp;
    }
    if !world.store.repo_exists(world.facts.repository()) {
        return no_repository(world);
    }
    let mut snaps = snapshots_of(world, app, id);
    // "snapshots will be created asynchronously" (§7.2): not visible right after the POST.
    if snaps.is_empty() || world.schedule_hidden(app.name(), id) {
        return Resp::message(404, &format!("No backup with id [{id}] found."));
    }
    snaps.sort_by(|a, b| a.name.cmp(&b.name));
    Resp::json(200, &info(world, app, id, &snaps))
}

/// `GET` list, newest first; `pattern` (default `*`) filters backup ids. `verbose=false` is
/// accepted and answers the same objects (the simulator has no cheaper form to offer).
/// Source: camunda/camunda `dist/.../webapps/controllers/BackupController.java` (`getBackups`).
fn list(world: &World, app: App, pattern: &str) -> Resp {
    if !world.facts.config.webapps_repository {
        // Reference 4.3 lists 404 for an unconfigured repository on the list call (the
        // controller's InvalidRequestException would be 400); the reference is normative.
        return Resp::message(404, "No backup repository configured.");
    }
    if !world.store.repo_exists(world.facts.repository()) {
        return no_repository(world);
    }
    let prefix = app.prefix();
    let mut by_id: BTreeMap<u64, Vec<&Snapshot>> = BTreeMap::new();
    for s in world
        .store
        .snapshots
        .iter()
        .filter(|s| s.repository == world.facts.repository())
    {
        // A backup scheduled within the grace is not listed yet, as its GET answers 404
        // (reference §7.2).
        if let Some((id, _)) = parse_name(&prefix, &s.name)
            && super::datastore::glob(pattern, &id.to_string())
            && !world.schedule_hidden(app.name(), id)
        {
            by_id.entry(id).or_default().push(s);
        }
    }
    let items: Vec<BackupInfo> = by_id
        .iter_mut()
        .rev()
        .map(|(id, snaps)| {
            snaps.sort_by(|a, b| a.name.cmp(&b.name));
            info(world, app, *id, snaps)
        })
        .collect();
    Resp::json(200, &items)
}

fn delete(world: &mut World, app: App, seg: &str) -> Resp {
    let id = match parse_path_id(seg) {
        Some(id) if id > 0 => id as u64,
        _ => return invalid_id(seg),
    };
    if let Some(resp) = not_configured(world) {
        return resp;
    }
    if !world.store.repo_exists(world.facts.repository()) {
        return no_repository(world);
    }
    let names: Vec<String> = snapshots_of(world, app, id)
        .iter()
        .map(|s| s.name.clone())
        .collect();
    if names.is_empty() {
        return Resp::message(
            404,
            &format!("Expected to find backup with ID '{id}', but no metadata for it found"),
        );
    }
    if let Some(q) = world.webapps.pending.get_mut(&app) {
        // Parts of this backup not taken yet are dropped too.
        q.retain(|p| parse_name(&app.prefix(), &p.name).map(|x| x.0) != Some(id));
    }
    world
        .store
        .snapshots
        .retain(|s| !(s.repository == world.facts.repository() && names.contains(&s.name)));
    Resp::empty(204)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(name: &str, state: SnapState, end: Option<u64>) -> Snapshot {
        Snapshot {
            repository: "camunda".to_string(),
            name: name.to_string(),
            uuid: "u".to_string(),
            indices: Vec::new(),
            state,
            start_ms: 0,
            end_ms: end,
            duration_ms: 0,
            outcome: Outcome::Succeed,
            include_global_state: false,
            metadata: None,
            feature_states: Vec::new(),
        }
    }

    #[test]
    fn state_rules_apply_in_the_documented_order() {
        use SnapState::*;
        let run = |states: &[SnapState], expected: usize, now: u64| {
            let v: Vec<Snapshot> = states
                .iter()
                .enumerate()
                .map(|(i, s)| snap(&format!("p{}", i + 1), *s, Some(10)))
                .collect();
            let refs: Vec<&Snapshot> = v.iter().collect();
            compute_state(&refs, expected, now, 100)
        };
        assert_eq!(run(&[Success, Success], 2, 0).0, "COMPLETED");
        // FAILED beats PARTIAL, INCOMPATIBLE and IN_PROGRESS.
        let (s, r) = run(&[Failed, InProgress, Incompatible], 3, 0);
        assert_eq!(
            (s, r.as_deref()),
            (
                "FAILED",
                Some("There were failures with the following snapshots: p1")
            )
        );
        let (s, r) = run(&[Partial, InProgress], 2, 0);
        assert_eq!(
            (s, r.as_deref()),
            ("FAILED", Some("Some of the snapshots are partial: p1"))
        );
        assert_eq!(run(&[Incompatible, InProgress], 2, 0).0, "INCOMPATIBLE");
        assert_eq!(run(&[Success, InProgress], 3, 0).0, "IN_PROGRESS");
        // Missing parts: IN_PROGRESS until the timeout after the last end, then INCOMPLETE.
        assert_eq!(run(&[Success], 2, 50).0, "IN_PROGRESS");
        assert_eq!(run(&[Success], 2, 110).0, "INCOMPLETE");
        let (s, r) = run(&[Success, Success, Success], 2, 0);
        assert_eq!(
            (s, r.as_deref()),
            ("FAILED", Some("More snapshots found than expected."))
        );
    }

    #[test]
    fn optimize_state_rules_apply_in_the_documented_order() {
        use super::super::optimize::compute_state as opt;
        use SnapState::*;
        let run = |states: &[SnapState]| {
            let v: Vec<Snapshot> = states
                .iter()
                .enumerate()
                .map(|(i, s)| snap(&format!("o{}", i + 1), *s, Some(1)))
                .collect();
            let refs: Vec<&Snapshot> = v.iter().collect();
            opt(&refs)
        };
        assert_eq!(run(&[Success, Success]).0, "COMPLETED");
        let (s, r) = run(&[Failed, InProgress]);
        assert_eq!(
            (s, r.as_deref()),
            ("FAILED", Some("The following snapshots failed: [o1]"))
        );
        assert_eq!(run(&[Incompatible, InProgress]).0, "INCOMPATIBLE");
        assert_eq!(run(&[Success, InProgress]).0, "IN_PROGRESS");
        assert_eq!(run(&[Success]).0, "INCOMPLETE");
        assert_eq!(run(&[Success, Success, Success]).0, "FAILED");
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            parse_name("camunda_webapps_", "camunda_webapps_12_8.8.0_part_1_of_5"),
            Some((12, 5))
        );
        assert_eq!(
            parse_name("camunda_webapps_", "camunda_optimize_12_x"),
            None
        );
    }
}
