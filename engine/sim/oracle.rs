//! sim/oracle: the consistency oracle. For a backup id it checks reference 1.2 — for every
//! partition and every index inside every snapshot of the backup (web apps, Optimize,
//! `zeebe-record`), `E <= P <= C` with E and C as the Zeebe backup of that id recorded — and
//! that every part exists and completed. After a restore it checks that the restored state
//! (Zeebe positions, index contents) equals the state at that backup. It only reads the world.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::CamundaVersion;
use super::datastore::{SnapState, Snapshot};
use super::model::{REPOSITORY, World};
use super::webapps::App;

/// The verdict on one backup.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupVerdict {
    pub backup_id: u64,
    pub coherent: bool,
    pub problems: Vec<String>,
    pub parts: BTreeMap<String, Value>,
    /// The exporting mode now (not part of coherence: a plan must leave it `running`).
    pub exporting: super::cluster::Exporting,
}

/// Name of the `zeebe-record` snapshot of a backup (chosen by the procedure, reference 4.8).
pub fn records_snapshot(id: u64) -> String {
    format!("camunda_zeebe_records_backup_{id}")
}

/// All snapshots the backup `id` must consist of: (group label, name prefix, expected count).
fn expected_groups(world: &World, id: u64) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let apps: &[App] = match world.facts.version {
        CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => &[App::Webapps],
        CamundaVersion::V8_7 => &[App::Operate, App::Tasklist],
    };
    for app in apps {
        out.push((
            app.name().to_string(),
            format!("{}{id}_", app.prefix()),
            world.facts.webapps_parts as usize,
        ));
    }
    if world.facts.optimize {
        out.push(("optimize".to_string(), format!("camunda_optimize_{id}_"), 2));
    }
    out
}

fn snapshots_with_prefix<'a>(world: &'a World, prefix: &str) -> Vec<&'a Snapshot> {
    let mut v: Vec<&Snapshot> = world
        .store
        .snapshots
        .iter()
        .filter(|s| s.repository == REPOSITORY && s.name.starts_with(prefix))
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// The part count a snapshot name announces (`..._of_<m>`).
fn announced_count(name: &str) -> Option<usize> {
    name.rsplit_once("_of_").and_then(|(_, m)| m.parse().ok())
}

/// Checks backup `id`.
pub fn backup(world: &World, id: u64) -> BackupVerdict {
    let mut problems = Vec::new();
    let mut parts = BTreeMap::new();
    let zeebe = world.zeebe.backups.get(&id);
    match zeebe {
        None => problems.push(format!("no Zeebe backup with id {id}")),
        Some(b) => {
            if b.state() != "COMPLETED" {
                problems.push(format!("Zeebe backup {id} is {}", b.state()));
            }
            parts.insert(
                "zeebe".to_string(),
                json!({
                    "state": b.state(),
                    "checkpointPositions": b.partitions.iter().map(|p| p.checkpoint_position).collect::<Vec<_>>(),
                    "exporterPositions": b.partitions.iter().map(|p| p.exporter_position).collect::<Vec<_>>(),
                }),
            );
        }
    }
    let mut snaps: Vec<&Snapshot> = Vec::new();
    for (label, prefix, default_count) in expected_groups(world, id) {
        let found = snapshots_with_prefix(world, &prefix);
        let count = found
            .iter()
            .filter_map(|s| announced_count(&s.name))
            .max()
            .unwrap_or(default_count);
        for n in 1..=count {
            let suffix = format!("_part_{n}_of_{count}");
            if !found.iter().any(|s| s.name.ends_with(&suffix)) {
                problems.push(format!("{label}: part {n} of {count} is missing"));
            }
        }
        snaps.extend(found);
    }
    let records = records_snapshot(id);
    match world.store.snapshot(REPOSITORY, &records) {
        Some(s) => snaps.push(s),
        None => problems.push(format!("snapshot {records} is missing")),
    }
    for s in &snaps {
        parts.insert(
            s.name.clone(),
            json!({"state": s.state.as_str(), "indices": s.indices.iter().map(|i| json!({"name": i.name, "positions": i.positions})).collect::<Vec<_>>()}),
        );
        if s.state != SnapState::Success {
            problems.push(format!("snapshot {} is {}", s.name, s.state.as_str()));
        }
        if let Some(b) = zeebe {
            check_bounds(world, s, b, records_floor(world, &records), &mut problems);
        }
    }
    BackupVerdict {
        backup_id: id,
        coherent: problems.is_empty(),
        problems,
        parts,
        exporting: world.cluster.exporting,
    }
}

/// `E <= P <= C` for every index copy and partition of one snapshot.
///
/// 8.7 (reference §2.2, §7.12, which win over §1.2): the Elasticsearch/OpenSearch exporter
/// writes only the `zeebe-record` indices; Operate, Tasklist and Optimize *import* from them.
/// Their snapshots, taken before the soft pause as the 8.7 docs order it, may lag `E`: what a
/// restored importer lacks it reads again from the restored `zeebe-record` indices. So for
/// those snapshots the lower bound is not `E` but "nothing the `zeebe-record` snapshot lacks":
/// `P <= R` (`records_floor`), and `E <= R` is checked on the `zeebe-record` snapshot itself.
fn check_bounds(
    world: &World,
    s: &Snapshot,
    b: &super::zeebe::ZeebeBackup,
    records: Option<Vec<u64>>,
    problems: &mut Vec<String>,
) {
    let imported = world.facts.version == CamundaVersion::V8_7;
    // Archived indices (dated usage metrics) hold past data: the exporter bounds do not apply.
    for copy in s.indices.iter().filter(|c| c.owner.exported_into()) {
        let importer = imported && copy.owner.imported();
        for (i, (p, pb)) in copy.positions.iter().zip(&b.partitions).enumerate() {
            let (e, c, id) = (
                pb.exporter_position,
                pb.checkpoint_position,
                pb.partition_id,
            );
            if importer {
                match records.as_ref().and_then(|r| r.get(i)) {
                    Some(r) if p > r => problems.push(format!(
                        "{}: index {} holds partition {id} up to {p} > {r} in the zeebe-record snapshot (its importer read records the backup lacks)",
                        s.name, copy.name
                    )),
                    _ => {}
                }
            } else if *p < e {
                problems.push(format!(
                    "{}: index {} holds partition {id} up to {p} < exporter position E={e} (restored Zeebe would not re-export {}..{e})",
                    s.name, copy.name, p + 1
                ));
            }
            if *p > c {
                problems.push(format!(
                    "{}: index {} holds partition {id} up to {p} > checkpoint position C={c} (records Zeebe never processed in this backup)",
                    s.name, copy.name
                ));
            }
        }
    }
}

/// Per partition, the lowest position the `zeebe-record` snapshot's indices hold: what an
/// importer restored with it can read (8.7; see `check_bounds`).
fn records_floor(world: &World, records: &str) -> Option<Vec<u64>> {
    let snap = world.store.snapshot(REPOSITORY, records)?;
    let copies: Vec<&Vec<u64>> = snap
        .indices
        .iter()
        .filter(|c| c.owner == super::datastore::Owner::ZeebeRecord)
        .map(|c| &c.positions)
        .collect();
    let n = copies.iter().map(|p| p.len()).max()?;
    Some(
        (0..n)
            .map(|i| {
                copies
                    .iter()
                    .filter_map(|p| p.get(i))
                    .copied()
                    .min()
                    .unwrap_or(0)
            })
            .collect(),
    )
}

/// The verdict on a restore from backup `id`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreVerdict {
    pub backup_id: u64,
    pub restored: bool,
    pub problems: Vec<String>,
    pub zeebe: Value,
    pub indices: BTreeMap<String, Value>,
}

/// Indices a restore must leave alone that are gone: another installation's or application's
/// (§7.5), and the dated usage-metric indices a backup did not contain (§7.6).
fn lost_bystanders(world: &World, in_backup: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for name in &world.facts.config.foreign_indices {
        if !world.store.indices.contains_key(name) {
            problems.push(format!(
                "foreign index {name} was deleted: it is not this installation's (reference §7.5)"
            ));
        }
    }
    for name in &world.archived_usage_metrics {
        if !world.store.indices.contains_key(name) && !in_backup.contains(&name.as_str()) {
            problems.push(format!(
                "dated usage-metric index {name} was deleted and the backup does not hold it (backups before 8.8.15; reference §7.6)"
            ));
        }
    }
    problems
}

/// Checks that the current state is the state of backup `id` (plus what ran since).
pub fn restore(world: &World, id: u64) -> RestoreVerdict {
    let mut problems = Vec::new();
    let mut indices = BTreeMap::new();
    if world.cluster.restored_from != Some(id) {
        problems.push(format!(
            "Zeebe was not restored from backup {id} (restored from: {:?})",
            world.cluster.restored_from
        ));
    }
    if let Some(b) = world.zeebe.backups.get(&id) {
        for (pb, p) in b.partitions.iter().zip(&world.cluster.partitions) {
            if p.position < pb.checkpoint_position {
                problems.push(format!(
                    "partition {} is at {} < checkpoint position {}",
                    p.partition_id, p.position, pb.checkpoint_position
                ));
            }
        }
    }
    let verdict = backup(world, id);
    let set: Vec<&Snapshot> = world
        .store
        .snapshots
        .iter()
        .filter(|s| verdict.parts.contains_key(&s.name))
        .collect();
    for s in &set {
        for copy in &s.indices {
            match world.store.indices.get(&copy.name) {
                None => problems.push(format!("index {} (from {}) is missing", copy.name, s.name)),
                Some(i) => {
                    if i.restored_from.as_deref() != Some(s.name.as_str()) {
                        problems.push(format!(
                            "index {} was not restored from {} (restored from: {:?})",
                            copy.name, s.name, i.restored_from
                        ));
                    }
                    if super::recovery::recovering(i, world.now_ms()) {
                        problems.push(format!(
                            "index {} is still being restored from {} (recovery not DONE; reference §7.4)",
                            copy.name, s.name
                        ));
                    }
                    if i.positions
                        .iter()
                        .zip(&copy.positions)
                        .any(|(now, then)| now < then)
                    {
                        problems.push(format!(
                            "index {} holds less than snapshot {}",
                            copy.name, s.name
                        ));
                    }
                    indices.insert(
                        copy.name.clone(),
                        json!({"restoredFrom": i.restored_from, "positions": i.positions, "snapshotPositions": copy.positions}),
                    );
                }
            }
        }
    }
    for index in world
        .store
        .indices
        .values()
        .filter(|i| i.owner.restorable())
    {
        if !indices.contains_key(&index.name) {
            problems.push(format!("index {} is not part of backup {id}", index.name));
        }
    }
    let in_backup: Vec<&str> = set
        .iter()
        .flat_map(|s| s.indices.iter().map(|c| c.name.as_str()))
        .collect();
    problems.extend(lost_bystanders(world, &in_backup));
    RestoreVerdict {
        backup_id: id,
        restored: problems.is_empty(),
        problems,
        zeebe: json!({
            "restoredFrom": world.cluster.restored_from,
            "partitions": world.cluster.partitions,
        }),
        indices,
    }
}
