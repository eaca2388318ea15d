//! sim/datastore: the Elasticsearch/OpenSearch data model — indices (each knowing per partition
//! up to which log position `P` it holds records), index templates, snapshot repositories,
//! snapshots (copies of index contents that take time) and restores — plus the product's error
//! type. It owns the rules of 4.6/4.7 that do not depend on HTTP; it must not format responses
//! (that is `es_api`) nor know the Camunda backup APIs.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::faults::Outcome;

/// Which stream fills an index, and with which lag (see the module doc of `sim`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    /// `zeebe-record_*`: written by the exporter as records are exported.
    ZeebeRecord,
    /// `operate-*`.
    Operate,
    /// `tasklist-*`.
    Tasklist,
    /// 8.8 `camunda-*` (shared by Operate and Tasklist).
    Camunda,
    /// Optimize import indices (Optimize backup part 1).
    OptimizeImport,
    /// Other Optimize indices (Optimize backup part 2).
    Optimize,
    /// 8.8 dated usage-metric indices (archived; in web-app backups from 8.8.15, §7.6).
    UsageMetricArchive,
    /// Another installation's or application's index on the same datastore (§7.5).
    Foreign,
}

impl Owner {
    /// Ticks of lag behind the exported position.
    fn lag(self) -> usize {
        match self {
            Owner::ZeebeRecord => 0,
            Owner::Operate | Owner::Tasklist | Owner::Camunda => 1,
            Owner::OptimizeImport | Owner::Optimize => 2,
            Owner::UsageMetricArchive | Owner::Foreign => 0,
        }
    }

    /// Whether the exporter writes into it (archived and foreign indices get nothing new).
    pub fn exported_into(self) -> bool {
        !matches!(self, Owner::UsageMetricArchive | Owner::Foreign)
    }

    /// Whether an importer fills it from the `zeebe-record` indices in 8.7 (Operate,
    /// Tasklist, Optimize; reference §2.2, §7.12), rather than the exporter directly.
    pub fn imported(self) -> bool {
        matches!(
            self,
            Owner::Operate | Owner::Tasklist | Owner::OptimizeImport | Owner::Optimize
        )
    }

    /// Whether this installation's backups and restores deal with it (not foreign, not the
    /// archived usage metrics that `damage` spares).
    pub fn restorable(self) -> bool {
        self.exported_into()
    }
}

/// One index.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub name: String,
    pub uuid: String,
    pub owner: Owner,
    /// `positions[i]`: records of partition i+1 held up to this position.
    pub positions: Vec<u64>,
    /// The snapshot it was restored from, if any.
    pub restored_from: Option<String>,
    /// When its shard recovery from the snapshot ran (`GET <index>/_recovery`, §7.4).
    #[serde(skip)]
    pub recovery: Option<Recovery>,
}

/// A shard recovery from a snapshot: `[start_ms, done_ms)` in simulator time.
#[derive(Clone, Debug)]
pub struct Recovery {
    pub repository: String,
    pub snapshot: String,
    pub start_ms: u64,
    pub done_ms: u64,
    /// The shard's restore failed (the `_restore` answered `shards.failed > 0`): the index
    /// stays red and its recovery never reaches `DONE`, as on ES until it is deleted.
    pub failed: bool,
}

impl Index {
    pub fn docs(&self) -> u64 {
        self.positions.iter().sum()
    }
}

/// Snapshot states (reference 4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SnapState {
    InProgress,
    Success,
    Partial,
    Failed,
    Incompatible,
}

impl SnapState {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapState::InProgress => "IN_PROGRESS",
            SnapState::Success => "SUCCESS",
            SnapState::Partial => "PARTIAL",
            SnapState::Failed => "FAILED",
            SnapState::Incompatible => "INCOMPATIBLE",
        }
    }
}

/// The content of one index inside a snapshot.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexCopy {
    pub name: String,
    pub owner: Owner,
    pub positions: Vec<u64>,
}

/// One snapshot in a repository.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub repository: String,
    pub name: String,
    pub uuid: String,
    pub indices: Vec<IndexCopy>,
    pub state: SnapState,
    /// Simulator milliseconds (since start).
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    #[serde(skip)]
    pub duration_ms: u64,
    #[serde(skip)]
    pub outcome: Outcome,
    pub include_global_state: bool,
    pub metadata: Option<Value>,
    pub feature_states: Vec<String>,
}

impl Snapshot {
    pub fn shards(&self) -> u64 {
        self.indices.len() as u64
    }
    pub fn failed_shards(&self) -> u64 {
        match self.state {
            SnapState::Failed => self.shards(),
            SnapState::Partial => self.shards().min(1),
            _ => 0,
        }
    }
}

/// A restore in progress (for `wait_for_completion`).
#[derive(Clone, Debug)]
pub struct Restore {
    pub snapshot: String,
    pub done_at_ms: u64,
}

/// An error the datastore answers with (envelope of reference 4.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EsError {
    pub status: u16,
    pub kind: String,
    pub reason: String,
}

impl EsError {
    pub fn new(status: u16, kind: &str, reason: impl Into<String>) -> Self {
        EsError {
            status,
            kind: kind.to_string(),
            reason: reason.into(),
        }
    }
    pub fn repository_missing(repo: &str) -> Self {
        EsError::new(
            404,
            "repository_missing_exception",
            format!("[{repo}] missing"),
        )
    }
    pub fn snapshot_missing(repo: &str, snap: &str) -> Self {
        EsError::new(
            404,
            "snapshot_missing_exception",
            format!("[{repo}:{snap}] is missing"),
        )
    }
    pub fn index_not_found(index: &str) -> Self {
        EsError::new(
            404,
            "index_not_found_exception",
            format!("no such index [{index}]"),
        )
    }
}

/// The datastore.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    pub indices: BTreeMap<String, Index>,
    #[serde(skip)]
    pub templates: Vec<(String, Vec<String>)>,
    pub repositories: BTreeMap<String, Value>,
    pub snapshots: Vec<Snapshot>,
    #[serde(skip)]
    pub restores: Vec<Restore>,
    #[serde(skip)]
    pub counter: u64,
    /// OpenSearch semantics where they differ.
    #[serde(skip)]
    pub opensearch: bool,
}

/// `*` matches any run of characters; everything else literally.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Snapshot name rules of Elasticsearch (`InvalidSnapshotNameException`).
pub fn check_snapshot_name(repo: &str, name: &str) -> Result<(), EsError> {
    let why = if name.is_empty() {
        Some("cannot be empty")
    } else if name.contains('#') {
        Some("must not contain '#'")
    } else if name.starts_with('_') {
        Some("must not start with '_'")
    } else if name.to_lowercase() != name {
        Some("must be lowercase")
    } else if name.chars().any(|c| c.is_whitespace())
        || name.contains(['\\', '/', '*', '?', '"', '<', '>', '|', ','])
    {
        Some("must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]")
    } else {
        None
    };
    match why {
        Some(why) => Err(EsError::new(
            400,
            "invalid_snapshot_name_exception",
            format!("[{repo}:{name}] Invalid snapshot name [{name}], {why}"),
        )),
        None => Ok(()),
    }
}

impl Store {
    pub fn new(opensearch: bool) -> Self {
        Store {
            opensearch,
            ..Store::default()
        }
    }

    /// A fresh identifier in the style of ES uuids (22 url-safe characters).
    pub fn uuid(&mut self) -> String {
        self.counter += 1;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut x = self
            .counter
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(17);
        let mut s = String::with_capacity(22);
        for i in 0..22u64 {
            s.push(alphabet[(x % 64) as usize] as char);
            x = x.rotate_right(6) ^ (self.counter + i);
        }
        s
    }

    /// Creates an index with no records (as a component creating its schema does).
    pub fn create_index(&mut self, name: &str, owner: Owner, partitions: usize) {
        if self.indices.contains_key(name) {
            return;
        }
        let uuid = self.uuid();
        self.indices.insert(
            name.to_string(),
            Index {
                name: name.to_string(),
                uuid,
                owner,
                positions: vec![0; partitions],
                restored_from: None,
                recovery: None,
            },
        );
    }

    /// Resolves an index expression (comma list; `*` wildcards; `-name` exclusions).
    /// Concrete names that do not exist are an error (`ignore_unavailable: false`).
    pub fn resolve(&self, expr: &str) -> Result<Vec<String>, EsError> {
        let mut out: Vec<String> = Vec::new();
        for raw in expr.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(excl) = raw.strip_prefix('-') {
                out.retain(|n| !glob(excl, n));
                continue;
            }
            if raw == "_all" || raw.contains('*') {
                let pat = if raw == "_all" { "*" } else { raw };
                for name in self.indices.keys() {
                    // Wildcards skip hidden `.`-indices unless the pattern names them.
                    if glob(pat, name)
                        && (!name.starts_with('.') || pat.starts_with('.'))
                        && !out.contains(name)
                    {
                        out.push(name.clone());
                    }
                }
            } else if self.indices.contains_key(raw) {
                if !out.iter().any(|n| n == raw) {
                    out.push(raw.to_string());
                }
            } else {
                return Err(EsError::index_not_found(raw));
            }
        }
        Ok(out)
    }

    /// Updates every index from the partitions' exported positions (`now`, one tick ago, two
    /// ticks ago) and returns, per partition, the lowest position any index holds.
    pub fn feed(&mut self, exported: &[[u64; 3]]) -> Vec<u64> {
        let mut lowest = vec![u64::MAX; exported.len()];
        for index in self.indices.values_mut() {
            if !index.owner.exported_into() {
                continue;
            }
            let lag = index.owner.lag();
            for (i, hist) in exported.iter().enumerate() {
                if let Some(p) = index.positions.get_mut(i) {
                    *p = (*p).max(hist[lag]);
                    lowest[i] = lowest[i].min(*p);
                }
            }
        }
        lowest
    }

    pub fn repo_exists(&self, repo: &str) -> bool {
        self.repositories.contains_key(repo)
    }

    pub fn snapshot(&self, repo: &str, name: &str) -> Option<&Snapshot> {
        self.snapshots
            .iter()
            .find(|s| s.repository == repo && s.name == name)
    }

    /// Snapshots of a repository matching a name expression (comma list, wildcards, `_all`).
    /// A concrete name that does not exist is `snapshot_missing_exception`.
    pub fn select(&self, repo: &str, expr: &str) -> Result<Vec<&Snapshot>, EsError> {
        if !self.repo_exists(repo) {
            return Err(EsError::repository_missing(repo));
        }
        let mut out: Vec<&Snapshot> = Vec::new();
        for raw in expr.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let pat = if raw == "_all" { "*" } else { raw };
            if pat.contains('*') {
                for s in self.snapshots.iter().filter(|s| s.repository == repo) {
                    if glob(pat, &s.name) && !out.iter().any(|o| o.name == s.name) {
                        out.push(s);
                    }
                }
            } else {
                match self.snapshot(repo, pat) {
                    Some(s) if !out.iter().any(|o| o.name == s.name) => out.push(s),
                    Some(_) => {}
                    None => return Err(EsError::snapshot_missing(repo, pat)),
                }
            }
        }
        out.sort_by(|a, b| a.start_ms.cmp(&b.start_ms).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Starts a snapshot of the indices matched by `expr`, copying their contents now.
    pub fn start_snapshot(&mut self, req: SnapshotRequest) -> Result<String, EsError> {
        if !self.repo_exists(&req.repo) {
            return Err(EsError::repository_missing(&req.repo));
        }
        check_snapshot_name(&req.repo, &req.name)?;
        if let Some(existing) = self.snapshot(&req.repo, &req.name) {
            return Err(self.name_in_use(&req.repo, &req.name, existing.state));
        }
        let names = self.resolve(&req.indices)?;
        let indices = names
            .iter()
            .filter_map(|n| self.indices.get(n))
            .map(|i| IndexCopy {
                name: i.name.clone(),
                owner: i.owner,
                positions: i.positions.clone(),
            })
            .collect();
        let uuid = self.uuid();
        self.snapshots.push(Snapshot {
            repository: req.repo,
            name: req.name,
            uuid: uuid.clone(),
            indices,
            state: SnapState::InProgress,
            start_ms: req.now_ms,
            end_ms: None,
            duration_ms: req.duration_ms,
            outcome: req.outcome,
            include_global_state: req.include_global_state,
            metadata: req.metadata,
            feature_states: req.feature_states,
        });
        Ok(uuid)
    }

    /// ES 8: `snapshot_name_already_in_use_exception`; OpenSearch: `invalid_snapshot_name_exception`.
    fn name_in_use(&self, repo: &str, name: &str, state: SnapState) -> EsError {
        let what = if state == SnapState::InProgress {
            "snapshot with the same name is already in-progress"
        } else {
            "snapshot with the same name already exists"
        };
        let kind = if self.opensearch {
            "invalid_snapshot_name_exception"
        } else {
            "snapshot_name_already_in_use_exception"
        };
        EsError::new(
            400,
            kind,
            format!("[{repo}:{name}] Invalid snapshot name [{name}], {what}"),
        )
    }

    /// Finishes snapshots whose time has come, per their outcome.
    pub fn settle(&mut self, now_ms: u64) {
        for s in &mut self.snapshots {
            if s.state != SnapState::InProgress || s.outcome == Outcome::Hang {
                continue;
            }
            if now_ms >= s.start_ms + s.duration_ms {
                s.state = match s.outcome {
                    Outcome::Failed => SnapState::Failed,
                    // Some shards failed: PARTIAL with `shards.failed > 0` (reference §7.3).
                    Outcome::Partial => SnapState::Partial,
                    _ => SnapState::Success,
                };
                s.end_ms = Some(now_ms);
            }
        }
        self.restores.retain(|r| r.done_at_ms > now_ms);
    }

    /// Deletes snapshots matching `expr` (in-progress ones are aborted).
    pub fn delete_snapshots(&mut self, repo: &str, expr: &str) -> Result<usize, EsError> {
        let names: Vec<String> = self
            .select(repo, expr)?
            .into_iter()
            .map(|s| s.name.clone())
            .collect();
        self.snapshots
            .retain(|s| !(s.repository == repo && names.contains(&s.name)));
        Ok(names.len())
    }

    /// Whether a `_restore` of the snapshot would start now (no refusal).
    pub fn restore_would_start(&self, repo: &str, name: &str) -> bool {
        self.restorable(repo, name).is_ok()
    }

    /// The snapshot when a `_restore` of it may start; else ES's refusal.
    fn restorable(&self, repo: &str, name: &str) -> Result<Snapshot, EsError> {
        if !self.repo_exists(repo) {
            return Err(EsError::repository_missing(repo));
        }
        let snap = match self.snapshot(repo, name) {
            // An in-progress snapshot is not in the repository data yet.
            None => return Err(EsError::snapshot_missing(repo, name)),
            Some(s) if s.state == SnapState::InProgress => {
                return Err(EsError::snapshot_missing(repo, name));
            }
            Some(s) => s.clone(),
        };
        if !matches!(snap.state, SnapState::Success | SnapState::Partial) {
            // Source: elastic/elasticsearch RestoreService ("unsupported snapshot state").
            return Err(EsError::new(
                500,
                "snapshot_restore_exception",
                format!(
                    "[{repo}:{name}/{}] unsupported snapshot state [{}]",
                    snap.uuid,
                    snap.state.as_str()
                ),
            ));
        }
        if let Some(clash) = snap
            .indices
            .iter()
            .find(|c| self.indices.contains_key(&c.name))
        {
            return Err(EsError::new(
                500,
                "snapshot_restore_exception",
                format!(
                    "[{repo}:{name}/{}] cannot restore index [{}] because an open index with same name already exists in the cluster. Either close or delete the existing index or restore the index under a different name by providing a rename pattern and replacement name",
                    snap.uuid, clash.name
                ),
            ));
        }
        Ok(snap)
    }

    /// Restores every index of a snapshot. Fails like ES when an open index of the same name
    /// exists (reference 4.6) or the snapshot is not restorable. With `fail_shard`, the first
    /// index's shard fails to restore (the index is created but stays red); the answer's
    /// `shards.failed` counts it. Returns the indices and how many shards failed.
    pub fn restore(
        &mut self,
        repo: &str,
        name: &str,
        (now_ms, duration_ms): (u64, u64),
        fail_shard: bool,
    ) -> Result<(Vec<String>, u64), EsError> {
        let snap = self.restorable(repo, name)?;
        let mut restored = Vec::new();
        let mut failed = 0;
        for copy in &snap.indices {
            let fails = fail_shard && failed == 0;
            failed += u64::from(fails);
            let uuid = self.uuid();
            self.indices.insert(
                copy.name.clone(),
                Index {
                    name: copy.name.clone(),
                    uuid,
                    owner: copy.owner,
                    positions: copy.positions.clone(),
                    restored_from: Some(name.to_string()),
                    recovery: Some(Recovery {
                        repository: repo.to_string(),
                        snapshot: name.to_string(),
                        start_ms: now_ms,
                        done_ms: now_ms + duration_ms,
                        failed: fails,
                    }),
                },
            );
            restored.push(copy.name.clone());
        }
        self.restores.push(Restore {
            snapshot: name.to_string(),
            done_at_ms: now_ms + duration_ms,
        });
        Ok((restored, failed))
    }

    /// Deletes indices by expression. Wildcards and `_all` are refused when
    /// `action.destructive_requires_name` is on (default on ES 8, off on OpenSearch).
    pub fn delete_indices(&mut self, expr: &str) -> Result<usize, EsError> {
        let wildcard = expr
            .split(',')
            .any(|p| p.contains('*') || p.trim() == "_all");
        if wildcard && !self.opensearch {
            // Source: elastic/elasticsearch server/.../action/support/DestructiveOperations.java
            return Err(EsError::new(
                400,
                "illegal_argument_exception",
                "Wildcard expressions or all indices are not allowed",
            ));
        }
        let names = self.resolve(expr)?;
        for n in &names {
            self.indices.remove(n);
        }
        Ok(names.len())
    }
}

/// Parameters of a new snapshot.
pub struct SnapshotRequest {
    pub repo: String,
    pub name: String,
    pub indices: String,
    pub now_ms: u64,
    pub duration_ms: u64,
    pub outcome: Outcome,
    pub include_global_state: bool,
    pub metadata: Option<Value>,
    pub feature_states: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_es() {
        assert!(glob("zeebe-record*", "zeebe-record_job_8.8.0_2025-01-01"));
        assert!(glob(
            "camunda_webapps_12_*",
            "camunda_webapps_12_8.8.0_part_1_of_5"
        ));
        assert!(!glob(
            "camunda_webapps_12_*",
            "camunda_webapps_123_8.8.0_part_1_of_5"
        ));
        assert!(glob("*", "x"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn snapshot_names_are_checked() {
        assert!(check_snapshot_name("r", "camunda_zeebe_records_backup_1").is_ok());
        assert_eq!(check_snapshot_name("r", "Upper").unwrap_err().status, 400);
        assert!(check_snapshot_name("r", "_x").is_err());
        assert!(check_snapshot_name("r", "a b").is_err());
        assert!(check_snapshot_name("r", "").is_err());
    }

    #[test]
    fn resolve_reports_missing_concrete_names() {
        let mut s = Store::new(false);
        s.create_index("operate-a_", Owner::Operate, 1);
        assert_eq!(s.resolve("operate-*").unwrap(), vec!["operate-a_"]);
        assert_eq!(s.resolve("zeebe-record*").unwrap(), Vec::<String>::new());
        assert_eq!(s.resolve("nope").unwrap_err().status, 404);
    }
}
