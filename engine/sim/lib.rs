//! runbook-sim: the built-in simulator of Camunda 8.8/8.7, Elasticsearch/OpenSearch and a small
//! Kubernetes API, serving on 127.0.0.1 what the shipped plans use.
//!
//! This module owns the public entry points (`start`, [`SimConfig`], [`SimHandle`],
//! [`Scenario`]) and wires the parts together; the behaviour lives in the submodules, one concept
//! each. It must not contain endpoint logic itself, and it never listens on anything but
//! 127.0.0.1. The normative source for every path, body and message is the Camunda API
//! reference (`camunda-apis.md`); section numbers below refer to it.
//!
//! # Servers
//!
//! Every component listens on its own ephemeral port on 127.0.0.1:
//! - 8.8: orchestration management API (the 9600 role: exporting, `backupHistory`,
//!   `backupRuntime`), Optimize management (8092 role), datastore (9200 role);
//! - 8.7: Zeebe gateway (exporting, `/actuator/backups`), Operate, Tasklist, Optimize, datastore;
//! - 8.10 (`--camunda-version 8.10`): everything 8.9 serves, plus the Orchestration Cluster
//!   REST API (the gateway's http port, 8080 role; `rest_url`) under `/v2` — exporting,
//!   runtime/history backups, recovery mode, topology and the Restore API (`rest_api`,
//!   `restore_api`; camunda-8.9-8.10.md §2.5, §4.3) — which answers 401
//!   `application/problem+json` without a bearer token from the identity provider's
//!   `POST /oauth/token` (its own port; `camunda_token_url`, client `camunda_client_id`, secret
//!   `config.rest_client_secret`, default `sim-client-secret`, never in the values file;
//!   `oauth_idp`), and `GET /actuator/cluster` / `DELETE /actuator/cluster/changes/<id>` on the
//!   management port;
//! - one control port for the simulator's own API (below).
//!
//! Every Camunda component answers `GET /actuator/health` with `{"status":"UP"}` and
//! `GET /actuator/info` with `{"build":{"artifact":..,"name":..,"version":..}}` (Spring Boot's
//! build-info form), except Optimize, whose info is `{}` (§7.9; its version is in the image
//! tag and the `app.kubernetes.io/version` label of its Deployment). Double slashes in paths
//! are collapsed (reference 2.2).
//!
//! # State model
//!
//! A clock task ticks every `timing.tick_ms`: while the brokers run, each partition's log grows
//! by `timing.records_per_tick`; the exporter writes the new records into the `zeebe-record_*`
//! indices at once, into the web-app (`operate-*`, `tasklist-*`, `camunda-*`) indices one tick
//! later and into the `optimize-*` indices two ticks later. The exporter position `E` is the
//! lowest position all those indices hold (an exporter acknowledges what it flushed). Soft pause:
//! records keep flowing into the indices but `E` stays; hard pause: nothing is exported; resume:
//! `E` catches up. Snapshots copy index contents when they start and finish after
//! `timing.snapshot_part_ms`; web-app parts run one after the other. Zeebe backups record per
//! partition `checkpointPosition` C (processed position) and E when taken.
//!
//! # Control API (control port, all JSON)
//!
//! - `GET /sim/state`: exporting mode, partitions (position, exported, exporterPosition),
//!   `retainedRecords` per partition (log kept because E lags), indices (per-partition
//!   positions), repositories, snapshots, Zeebe backups, components up/down, armed faults.
//! - `POST /sim/advance` (optional body `{"records": N}`, default 10): every partition processes
//!   and exports N more records now, as if the cluster had run a while.
//! - `POST /sim/damage`: deletes every index of this installation (the names its prefixes
//!   give, see `index_names`) and all broker data; foreign indices and the 8.8 dated
//!   usage-metric indices stay (§7.5, §7.6).
//! - `POST /sim/zeebe/restore/{id}`: restores the brokers from Zeebe backup `id` as the restore
//!   app would (for runs without Kubernetes); 409 when broker data is not empty.
//! - `POST /sim/components/{name}/down` and `/up`: takes a component's API away (connection
//!   refused) or brings it back, as scaling it to 0 does. Names: `orchestration`, `gateway`,
//!   `operate`, `tasklist`, `optimize`, `datastore`.
//! - `POST /sim/faults`: adds faults; body is a scenario document (JSON or YAML, format below).
//!   `DELETE /sim/faults` disarms every endpoint fault still armed (`{"removed": N}`).
//! - `GET /sim/exporting`: `{"paused":bool,"mode":"running|soft-paused|hard-paused",
//!   "history":[{"atMs":..,"mode":..}]}` (every mode change made through the API, oldest first).
//! - `GET /sim/oracle/backups/{id}`: consistency verdict of backup `id`
//!   `{"backupId":..,"coherent":bool,"problems":[..],"parts":{..},"exporting":"running|.."}`
//!   (see [`oracle`]; `parts` maps every snapshot name, and `zeebe`, to its state and positions).
//! - `GET /sim/oracle/restore/{id}`: `{"backupId","restored":bool,"problems","zeebe","indices"}`;
//!   a deleted foreign index, or a deleted dated usage-metric index the backup does not hold,
//!   is a problem, and so is an index whose recovery from its snapshot has not finished.
//! - `GET /sim/in-flight`: requests arrived and not yet answered
//!   `[{"component","method","path"}]` (e.g. a call held back by a `latency_ms` fault).
//! - `GET /sim/requests[?since=<seq>]`: the last 10 000 requests served by every server
//!   (control port and Kubernetes stand-in included, the latter as component `kubernetes`),
//!   oldest first: `[{"seq","component","method","path","status","atMs","time"}]`; `path`
//!   carries the query string, `atMs` = ms since start, `status` 0 = the connection was
//!   dropped (fault, component down, or the client gave up while a fault held the call).
//!   Kubernetes requests also show in `GET /sim/in-flight` while they are held.
//! - `PUT /sim/rbac` (body: a Role as YAML, e.g. `runbook rbac` output; empty: off) and
//!   `GET /sim/rbac` (`{"enabled","denied":[403 messages]}`): the stand-in's RBAC mode
//!   (`kube/rbac.rs`), which answers the API server's 403 to every request the Role does not
//!   grant (`runbook sim --rbac ROLE.yaml` sets it at start).
//! - `GET /sim/workloads`: every Deployment and StatefulSet of the stand-in
//!   `{"workloads":[{"kind","namespace","name","replicas","readyReplicas","env":{container:
//!   {NAME: value}}}]}` (StatefulSets first; a `valueFrom` variable reads `null`), e.g. to check
//!   that a run left every workload at its recorded replicas and out of restore mode; 404 when
//!   the stand-in is not running.
//!
//! # Scenario file (faults)
//!
//! ```yaml
//! faults:                      # per endpoint; first match wins, checked before the handler
//!   - component: orchestration # orchestration|gateway|operate|tasklist|optimize|datastore|
//!                              # kubernetes|any (`any`: every component but kubernetes)
//!     method: POST             # optional, any method when absent
//!     path: /actuator/backupHistory*   # `*` matches any run of characters
//!     latency_ms: 500          # optional delay before answering (or before the other effects)
//!     status: 502              # optional: answer this status with the component's error body
//!     message: "custom text"   # optional message inside that error body
//!     drop_connection: false   # optional: close the connection without an answer
//!     times: 2                 # optional: only the next 2 matching calls (default: always)
//!     after: 1                 # optional: let the first matching call through first
//! outcomes:                    # how backups/snapshots (and snapshot restores) end
//!   - component: webapps       # webapps|operate|tasklist|optimize|zeebe|snapshot|restore
//!     result: failed           # failed (ends FAILED) | hang (stays IN_PROGRESS forever) |
//!                              # partial (snapshot: ends PARTIAL, see below; restore: the
//!                              # `_restore` ends with failed shards, see below) |
//!                              # deleted (zeebe on 8.9 only: a partition's backup deleted by
//!                              # retention, the backup ends DELETED; camunda-8.9-8.10.md §2.2)
//!                              # zeebe-restore (8.10 Restore API): failed (partition 1
//!                              # retried RESTORING, status FAILED until cancelled) | hang
//!     times: 1                 # optional: the next N backups only (default: always)
//! exporting:
//!   pause_failures: 2          # the next 2 pause calls answer the inner status 500
//!   resume_failures: 1
//! config:                      # optional cluster configuration
//!   webapps_repository: true   # false: web apps answer "No backup repository configured."
//!   optimize_repository: true  # false: Optimize answers 400 (no repository configured)
//!   zeebe_backup_store: true   # false: Zeebe backup requests answer 400
//!   repository_registered: true  # false: the ES/OS repository `camunda` starts unregistered
//!   # Real-cluster behaviours (the Camunda API reference §7); defaults in brackets.
//!   persistence_type: disk     # [disk] volumeClaimTemplate `data`, PVCs data-<sts>-N | memory
//!                              # (emptyDir) | local (no data volume); without PVCs broker data
//!                              # is lost when the StatefulSet scales to 0 (§7.7)
//!   chart_version: 13.0.2      # [13.0.2 for 8.8, 12.1.0 for 8.7, 14.8.4 for 8.9] label helm.sh/chart:
//!                              # camunda-platform-<v>; 8.7 charts < 12.1.0 ignore ZEEBE_RESTORE (§7.8)
//!   command_override: false    # [false] the broker container's `command` bypasses startup.sh:
//!                              # ZEEBE_RESTORE has no effect, brokers start normally (§7.8)
//!   gitops: none               # [none] | argocd | flux: annotations/labels on the workloads (§7.11)
//!   names: {}                  # [{}] fullnameOverride per component: zeebe, zeebe-gateway,
//!                              # operate, tasklist, optimize, connectors, elasticsearch, e.g.
//!                              # {zeebe: core, optimize: opt}; labels `app.kubernetes.io/instance`
//!                              # and `app.kubernetes.io/component` stay (§7.10)
//!   index_prefix: ""           # [""] 8.8 web-app/orchestration prefix: `<p>-operate-*`, `<p>-camunda-*` (§7.5)
//!   operate_index_prefix: ""   # [""] 8.7 Operate's prefix in place of `operate` (`<p>-list-view-8.3.0_`)
//!   tasklist_index_prefix: ""  # [""] 8.7 Tasklist's prefix in place of `tasklist`
//!   optimize_index_prefix: ""  # [""] Optimize's prefix in place of `optimize` (§7.5)
//!   record_prefix: zeebe-record  # [zeebe-record] the exporter's prefix (§7.5)
//!   datastore_tls: false       # [false] the datastore speaks TLS with a private CA (written to
//!                              # `<state dir>/datastore-ca.pem`, `datastore_ca_file` in the values)
//!   datastore_api_key: null    # [null] the datastore requires `Authorization: ApiKey <key>`
//!                              # (401 security_exception otherwise); give the plans the key
//!                              # with `RUNBOOK_DATASTORE_API_KEY`
//!   datastore_aws: null        # [null] {access_key_id, secret_access_key, region, service: es}:
//!                              # the datastore requires AWS SigV4 with that key (Amazon
//!                              # OpenSearch Service with IAM; 403 otherwise)
//!   foreign_indices: [..]      # [prod2-operate-list-view-8.8.0_, logs-app-zeebe-2026.12.01,
//!                              # shop-camunda-orders] others' indices on the shared datastore;
//!                              # `damage` keeps them, the restore oracle reports one deleted
//!   schedule_404_ms: 1500      # [1500] backup status GETs answer 404 this long after the POST
//!                              # (Zeebe: every partition DOES_NOT_EXIST) (§7.2)
//!   optimize_info_build: false # [false] Optimize's /actuator/info is `{}`; its version is in
//!                              # the image tag and label app.kubernetes.io/version (§7.9)
//!   repository_name: camunda   # [camunda] CAMUNDA_DATA_BACKUP_REPOSITORYNAME (and Optimize's
//!                              # repository): where web-app/Optimize parts go (§7.15)
//!   camunda_version: 8.8.0     # [the simulated version] patch version; 8.8 backups before
//!                              # 8.8.15 lack the dated usage-metric indices (§7.6)
//!   crash_loop_ms: 1000        # [1000] restore app crash loop: the next run starts this long
//!                              # after the last one ended (§7.1)
//!   restore_ms: 30             # [timing.restore_ms] how long one snapshot `_restore` takes (§7.4)
//!   continuous_backups: false  # [false] 8.9 only: CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_CONTINUOUS
//!                              # =true; Zeebe refuses an explicit backup id with 400 and
//!                              # generates epoch-ms ids (camunda-8.9-8.10.md §2.2 step 8)
//!   rest_client_id: runbook    # [runbook] 8.10: the OAuth2 client of the REST API's tokens
//!   rest_client_secret: sim-client-secret  # [sim-client-secret] its secret
//!   rest_audience: null        # [null] 8.10: the audience a token request must name
//! outcomes:
//!   - component: snapshot
//!     result: partial          # zeebe-record snapshot ends PARTIAL (shards.failed > 0);
//!                              # `_status` still says SUCCESS (§7.3)
//!   - component: restore
//!     result: partial          # the next `_restore` that starts (a refused one does not
//!     times: 1                 # count) answers 200 with `shards.failed: 1`: its first index
//!                              # is created but its shard failed, so the index stays red in
//!                              # `_cluster/health` and `_cat/indices`, `_recovery` shows it
//!                              # SNAPSHOT in stage INDEX for ever, the restore oracle reports
//!                              # it, and a second `_restore` meets "already exists" until it
//!                              # is deleted (§7.4); without `times`: every restore
//! ```
//!
//! Keys that shape the installation (`persistence_type`, `chart_version`, `command_override`,
//! `gitops`, `names`, the prefixes, `foreign_indices`, `camunda_version`, `repository_name`)
//! take effect when the simulator starts; a `config:` sent to `POST /sim/faults` replaces the
//! whole section (absent keys get their defaults) but only the behaviour switches
//! (`schedule_404_ms`, `crash_loop_ms`, `restore_ms`, `optimize_info_build`, the repository
//! switches above) change a running simulator.
//!
//! Ready-made scenarios in `engine/sim/scenarios/`: `renamed.yaml`, `argocd.yaml`,
//! `memory-storage.yaml`, `shared-datastore.yaml`, `partial-snapshot.yaml`,
//! `old-chart-87.yaml`, `usage-metrics-8.8.15.yaml`, `long-restore.yaml`,
//! `restore-failed-shards.yaml`, and for 8.9 `retention-deleted-89.yaml` (a Zeebe backup ends
//! `DELETED`).
//!
//! Always on, as on a real cluster: the restore app's crash loop (§7.1: after a successful
//! run the container restarts and every later run logs `Brokers's data directory <dir> is not
//! empty. Aborting restore ...`; `kubectl logs --previous` shows the success only until the
//! second run ends); the docs' alternative route, a broker `command` that runs
//! `.../bin/restore`, then `echo`s a line with `$?`, then `sleep`s, runs the restore app once
//! and keeps the container running (its current log shows the restore and the echoed line);
//! `_restore` without `wait_for_completion` answers at once, `GET <indices>/_recovery`
//! (`active_only=true` supported) shows each shard `SNAPSHOT` in stage `INDEX` until it is
//! `DONE`, `GET _cluster/health/<indices>` and the `health` column of `_cat/indices` are `red`
//! meanwhile (the indices exist from the start of the restore), and a second `_restore` of a
//! running restore answers 500 `snapshot_restore_exception ... open index with same name
//! already exists` (§7.4).
//!
//! `snapshot` outcomes apply to snapshots created with `PUT /_snapshot/..` directly (the
//! `zeebe-record` snapshot), not to the web-app/Optimize parts; a failing or hanging web-app
//! backup fails or hangs on its first part (later parts are then never taken), an Optimize one
//! on part 1, a Zeebe one on partition 1. Fault paths match the normalised path without the
//! query string. Programmatic use: [`SimHandle::inject`] with a [`Scenario`]. On the command
//! line (`runbook sim`, `runbook rehearse`) the same entries are `--fault key=value,...`.
//!
//! Kubernetes API faults (`component: kubernetes`) match kubectl's requests by method and API
//! path, e.g. `method: PATCH, path: /apis/apps/v1/namespaces/*/statefulsets/*/scale`,
//! `method: GET, path: /apis/apps/v1/namespaces/*/statefulsets/*`, `method: DELETE, path:
//! /api/v1/namespaces/*/persistentvolumeclaims/*`. They answer as the API server does (a
//! `Status` object; `sim::kube` `ApiError::injected` cites the Kubernetes source): `status:
//! 500` = `etcdserver: request timed out` (kubectl prints `Error from server: etcdserver:
//! request timed out`), `409` = Conflict `Operation cannot be fulfilled on statefulsets.apps
//! "x": the object has been modified; please apply your changes to the latest version and try
//! again`, `429` = TooManyRequests with `Retry-After: 1` (which kubectl itself waits out and
//! repeats), `503` = ServiceUnavailable, `504` = Timeout; `message` replaces the text;
//! `drop_connection: true` closes the connection unanswered (kubectl: `EOF`); `latency_ms`
//! holds the call (a client's `--request-timeout` then gives up on it). Note that kubectl
//! repeats some calls on its own (a `scale` on 409, any call on 429), as against a real
//! cluster.
//!
//! # Kubernetes (`SimConfig::kubernetes`)
//!
//! With `kubernetes: true` the stand-in of `sim::kube` runs too (kubeconfig at
//! `state_dir/kubeconfig`, context `runbook-sim`), seeded like the chart (reference 5.1), and
//! `workloads` makes it behave: scaling the StatefulSet or a Deployment to 0 takes the
//! component's API away (connection refused) until it is scaled up and its pods are ready
//! (`timing.pod_start_ms`); a PVC in use stays Terminating until its pod is gone; deleted broker
//! PVCs come back empty; started with `ZEEBE_RESTORE=true` + `ZEEBE_RESTORE_FROM_BACKUP_ID` the
//! brokers restore (or log `... is not empty. Aborting restore ...`), exit, and show the lines
//! in `kubectl logs --previous`; started normally they serve the restored cluster. The objects
//! follow the scenario's `config:` (see `chart`): names from `names:`, labels `helm.sh/chart`
//! and `app.kubernetes.io/version`, GitOps annotations/labels, no PVCs unless
//! `persistence_type: disk` (then broker data is lost with the pods), the broker `command`,
//! and the backup repository/store in the containers' env. Off by
//! default so that `start` works on branches without the stand-in.
//!
//! # Other options
//!
//! `context_path` serves the 8.8 orchestration management paths under a prefix (reference 1.1;
//! `orchestration_url` includes it); `exporting_plain_204` answers exporting with a plain 204;
//! `webapps_parts` sets the part count; `optimize: false` runs without Optimize.

pub mod actuator_info;
pub mod aws_sigv4_check;
pub mod chart;
pub mod cluster;
pub mod cluster_config;
pub mod control;
pub mod datastore;
pub mod datastore_tls;
pub mod es_api;
pub mod exporting;
pub mod fault_flags;
pub mod faults;
pub mod http;
pub mod index_names;
pub mod kube;
pub mod kube_requests;
pub mod model;
pub mod oauth_idp;
pub mod optimize;
pub mod oracle;
pub mod port_forward_view;
pub mod recovery;
pub mod rest_api;
pub mod restore_api;
pub mod restore_app;
pub mod schedule_grace;
pub mod time;
pub mod webapps;
pub mod workload_report;
pub mod workloads;
pub mod zeebe;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use faults::Scenario;
pub use model::Component;

use model::{Shared, World, lock};

/// The Camunda minor version simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CamundaVersion {
    /// Camunda 8.8.0 (orchestration cluster, chart 13.x).
    V8_8,
    /// Camunda 8.7.2 (separate gateway, Operate, Tasklist; Optimize 8.7.1).
    V8_7,
    /// Camunda 8.9.0 (orchestration cluster, chart 14.x): 8.8 plus the deltas of
    /// shared/reference/camunda-8.9-8.10.md §2.3 (`backupId` in the Zeebe 202 body, the
    /// `DELETED` state, explicit ids refused while continuous backups are on) and §5 (chart 14
    /// names; the restore route needs `ZEEBE_RESTORE_FROM_BACKUP_ID`, §4.1).
    V8_9,
    /// Camunda 8.10.0 (orchestration cluster, chart 15.x): everything 8.9 serves, plus the
    /// Orchestration Cluster REST API under `/v2` on the gateway's http port (8080 role) with
    /// OAuth2 bearer authentication, recovery mode and the Restore API
    /// (shared/reference/camunda-8.9-8.10.md §2.5, §4.3; chart 15 keeps chart 14's names, §5).
    V8_10,
}

impl CamundaVersion {
    /// The version of the orchestration components ("8.8.0" / "8.7.2").
    pub fn component_version(self) -> &'static str {
        match self {
            CamundaVersion::V8_8 => "8.8.0",
            CamundaVersion::V8_7 => "8.7.2",
            CamundaVersion::V8_9 => "8.9.0",
            CamundaVersion::V8_10 => "8.10.0",
        }
    }
    /// Optimize's version; the 8.7 docs' example shows Optimize one patch behind (3.2).
    pub fn optimize_version(self) -> &'static str {
        match self {
            CamundaVersion::V8_8 => "8.8.0",
            CamundaVersion::V8_7 => "8.7.1",
            CamundaVersion::V8_9 => "8.9.0",
            CamundaVersion::V8_10 => "8.10.0",
        }
    }
    /// The minor version as users write it ("8.9").
    pub fn minor(self) -> &'static str {
        match self {
            CamundaVersion::V8_8 => "8.8",
            CamundaVersion::V8_7 => "8.7",
            CamundaVersion::V8_9 => "8.9",
            CamundaVersion::V8_10 => "8.10",
        }
    }
    /// Whether the version runs the single orchestration cluster (8.8 and later) rather than
    /// 8.7's separate gateway, Operate and Tasklist.
    pub fn orchestration_cluster(self) -> bool {
        self != CamundaVersion::V8_7
    }
    /// Whether the version has the 8.9 Zeebe backup API and chart 14 (reference 8.9 §2.3, §5).
    pub fn at_least_8_9(self) -> bool {
        matches!(self, CamundaVersion::V8_9 | CamundaVersion::V8_10)
    }
    /// Whether the version serves the Orchestration Cluster REST API's backup, exporting and
    /// Restore API endpoints (8.10+, reference 8.9-8.10 §2.5, §4.3).
    pub fn has_rest_api(self) -> bool {
        self == CamundaVersion::V8_10
    }
}

/// The datastore simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datastore {
    /// Elasticsearch 8.x.
    Elasticsearch,
    /// OpenSearch 2.x (differences of reference 4.7).
    OpenSearch,
}

impl Datastore {
    /// The value of the `datastore` key in the values file.
    pub fn as_str(self) -> &'static str {
        match self {
            Datastore::Elasticsearch => "elasticsearch",
            Datastore::OpenSearch => "opensearch",
        }
    }
}

/// Durations and rates; small defaults so a whole rehearsal runs in seconds.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Period of the cluster clock.
    pub tick_ms: u64,
    /// Records each partition processes per tick while the brokers run.
    pub records_per_tick: u64,
    /// How long one snapshot (one web-app part, one Optimize part, a `PUT /_snapshot`) takes.
    pub snapshot_part_ms: u64,
    /// How long a Zeebe partition backup takes.
    pub zeebe_backup_ms: u64,
    /// How long a snapshot restore takes.
    pub restore_ms: u64,
    /// How long a pod takes to become ready (Kubernetes coupling).
    pub pod_start_ms: u64,
    /// Web apps: time after the last part ended before missing parts make a backup
    /// `INCOMPLETE` (product default 300 s, scaled down like the rest).
    pub incomplete_check_timeout_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            tick_ms: 20,
            records_per_tick: 3,
            snapshot_part_ms: 60,
            zeebe_backup_ms: 150,
            restore_ms: 30,
            pod_start_ms: 150,
            incomplete_check_timeout_ms: 3_000,
        }
    }
}

/// Everything `start` needs.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub camunda_version: CamundaVersion,
    pub datastore: Datastore,
    pub scenario: Scenario,
    /// Where the kubeconfig (and nothing else so far) is written.
    pub state_dir: PathBuf,
    pub release: String,
    pub namespace: String,
    pub partitions: u32,
    /// Brokers (StatefulSet replicas, reference 5.1).
    pub brokers: u32,
    /// Exporting answers a plain HTTP 204 instead of the 8.8 wrapper (reference 6 #1).
    pub exporting_plain_204: bool,
    pub timing: Timing,
    /// Web-app parts per backup; `None` = 5 for 8.8, 6 for 8.7 Operate/Tasklist (6 #7).
    pub webapps_parts: Option<u32>,
    /// Whether Optimize is deployed.
    pub optimize: bool,
    /// Start the Kubernetes stand-in (`sim::kube`) with the Camunda workloads. Off by default
    /// until the stand-in is merged; turn it on for rehearsals that use kubectl.
    pub kubernetes: bool,
    /// `orchestration.contextPath` (e.g. `/example`): the 8.8 orchestration management paths
    /// are served under it (reference 1.1); `orchestration_url` then ends with it.
    pub context_path: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            camunda_version: CamundaVersion::V8_8,
            datastore: Datastore::Elasticsearch,
            scenario: Scenario::default(),
            state_dir: std::env::temp_dir().join("runbook-sim"),
            release: "camunda".to_string(),
            namespace: "camunda".to_string(),
            partitions: 3,
            brokers: 3,
            exporting_plain_204: false,
            timing: Timing::default(),
            webapps_parts: None,
            optimize: true,
            kubernetes: true,
            context_path: None,
        }
    }
}

/// Errors of `start` and scenario parsing.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot bind 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("cannot read scenario file {path}: {source}")]
    ScenarioRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid scenario: {0}")]
    Scenario(String),
    #[error("state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("kubernetes stand-in: {0}")]
    Kube(std::io::Error),
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Base URLs of the running servers (no trailing slash).
#[derive(Clone, Debug, Default)]
pub struct SimUrls {
    /// 8.8 orchestration management API.
    pub orchestration: Option<String>,
    /// 8.7 Zeebe gateway management API.
    pub gateway: Option<String>,
    /// 8.7 Operate management API.
    pub operate: Option<String>,
    /// 8.7 Tasklist management API.
    pub tasklist: Option<String>,
    /// Optimize management API (when deployed).
    pub optimize: Option<String>,
    /// 8.10 Orchestration Cluster REST API (the gateway's http port, `/v2` below it).
    pub rest: Option<String>,
    /// 8.10: the identity provider's token endpoint (`.../oauth/token`).
    pub token: Option<String>,
    pub datastore: String,
    /// The simulator's control API.
    pub control: String,
    /// The Kubernetes stand-in, when started.
    pub kube: Option<String>,
}

/// A running simulator.
pub struct SimHandle {
    urls: SimUrls,
    shared: Shared,
    servers: Vec<http::ServerHandle>,
    ticker: tokio::task::JoinHandle<()>,
    kube: Option<Arc<kube::KubeHandle>>,
    kubeconfig: PathBuf,
    config: SimConfig,
    /// The CA of the datastore's certificate, with `datastore_tls`.
    datastore_ca_file: Option<PathBuf>,
}

impl SimHandle {
    /// Base URLs of all servers.
    pub fn urls(&self) -> &SimUrls {
        &self.urls
    }

    /// The API key the simulated datastore requires (`datastore_api_key`), if any: a secret, so
    /// it is not in [`Self::values_yaml`]; the caller hands it to the plans' secret param.
    pub fn datastore_api_key(&self) -> Option<&str> {
        self.config.scenario.config.datastore_api_key.as_deref()
    }

    /// 8.10: the OAuth2 client secret the simulated identity provider accepts for the REST
    /// API (`rest_client_secret`): a secret, so it is not in [`Self::values_yaml`]; the caller
    /// hands it to the plans' `camunda_client_secret` param (or `RUNBOOK_CAMUNDA_CLIENT_SECRET`).
    pub fn rest_client_secret(&self) -> Option<&str> {
        self.urls
            .rest
            .as_ref()
            .map(|_| self.config.scenario.config.rest_client_secret.as_str())
    }

    /// The values file as a laptop would write it for a real cluster (URLs naming the chart's
    /// Services, `port_forward: true`), and the map from each Service to the simulated
    /// component's `127.0.0.1:<port>` that a `kubectl port-forward` stand-in relays to.
    pub fn port_forward_view(&self) -> (String, std::collections::BTreeMap<String, String>) {
        port_forward_view::view(&self.values_yaml(), &chart::Names::new(&self.config))
    }

    /// The parameters file the plans take with `-f` (keys = the plans' parameter names).
    pub fn values_yaml(&self) -> String {
        let c = &self.config;
        let mut out = String::new();
        let mut kv = |k: &str, v: &str| out.push_str(&format!("{k}: {}\n", yaml_str(v)));
        let cfg = &c.scenario.config;
        kv(
            "camunda_version",
            &cfg.camunda_version_of(c.camunda_version),
        );
        kv("datastore", c.datastore.as_str());
        for (key, url) in [
            ("orchestration_url", &self.urls.orchestration),
            ("gateway_url", &self.urls.gateway),
            ("operate_url", &self.urls.operate),
            ("tasklist_url", &self.urls.tasklist),
            ("optimize_url", &self.urls.optimize),
            ("rest_url", &self.urls.rest),
            ("camunda_token_url", &self.urls.token),
        ] {
            if let Some(url) = url {
                kv(key, url);
            }
        }
        if self.urls.rest.is_some() {
            // 8.10: the REST API's OAuth2 client (its secret is not written, see
            // `rest_client_secret`).
            kv("camunda_client_id", &cfg.rest_client_id);
            if let Some(audience) = &cfg.rest_audience {
                kv("camunda_audience", audience);
            }
        }
        kv("datastore_url", &self.urls.datastore);
        if let Some(ca) = &self.datastore_ca_file {
            kv("datastore_ca_file", &ca.to_string_lossy());
        }
        kv("snapshot_repository", model::REPOSITORY);
        kv("namespace", &c.namespace);
        kv("release", &c.release);
        kv("kubeconfig", &self.kubeconfig.to_string_lossy());
        kv("kube_context", workloads::KUBE_CONTEXT);
        kv("sim_url", &self.urls.control);
        // The installation's index prefixes (§7.5), as the plans' params spell them.
        match c.camunda_version {
            CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => {
                kv("index_prefix", &cfg.index_prefix)
            }
            CamundaVersion::V8_7 => {
                kv(
                    "operate_index_prefix",
                    or_default(&cfg.operate_index_prefix, "operate"),
                );
                kv(
                    "tasklist_index_prefix",
                    or_default(&cfg.tasklist_index_prefix, "tasklist"),
                );
            }
        }
        kv(
            "optimize_index_prefix",
            or_default(&cfg.optimize_index_prefix, "optimize"),
        );
        kv("record_prefix", &cfg.record_prefix);
        out.push_str("port_forward: false\n");
        // The plans' switch for Optimize (`runbook sim --no-optimize` runs without it).
        out.push_str(&format!("optimize_enabled: {}\n", c.optimize));
        out
    }

    /// Enforces `policy` (a Role) on the Kubernetes stand-in, or turns the RBAC mode off
    /// (same effect as `PUT /sim/rbac`); `false` when the stand-in is not running.
    pub fn set_rbac(&self, policy: Option<kube::Policy>) -> bool {
        self.kube.as_ref().map(|k| k.set_rbac(policy)).is_some()
    }

    /// Adds faults at run time (same effect as `POST /sim/faults`).
    pub fn inject(&self, scenario: Scenario) {
        lock(&self.shared).faults.add(scenario);
    }

    /// Runs `f` on the simulated world (tests and the rehearsal's own checks).
    pub fn inspect<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&lock(&self.shared))
    }

    /// Stops every server and the clock.
    pub async fn shutdown(self) {
        self.ticker.abort();
        // Wait until the clock's task is gone so it releases its handle on the stand-in.
        let _ = self.ticker.await;
        if let Some(kube) = self.kube
            && let Ok(kube) = Arc::try_unwrap(kube)
        {
            kube.shutdown().await;
        }
        for server in self.servers {
            server.shutdown().await;
        }
    }
}

/// Quotes a YAML scalar when it could be misread (URLs with `:` are fine unquoted in block
/// maps, but paths and versions like `8.8.0` read as strings anyway; quote to be safe).
fn yaml_str(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Starts the simulator: binds every server, starts the clock and (if configured) the
/// Kubernetes stand-in, and writes the kubeconfig under `state_dir`.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    validate(&config)?;
    std::fs::create_dir_all(&config.state_dir).map_err(|source| SimError::StateDir {
        path: config.state_dir.clone(),
        source,
    })?;
    let world = World::new(&config);
    let shared: Shared = Arc::new(std::sync::Mutex::new(world));
    let mut servers = Vec::new();
    let mut bound: BTreeMap<Component, String> = BTreeMap::new();
    let kube_slot = http::KubeSlot::default();
    let datastore_tls = datastore_tls(&config)?;
    for component in Component::for_config(&config) {
        let tls = (component == Component::Datastore)
            .then(|| datastore_tls.as_ref().map(|t| t.acceptor.clone()))
            .flatten();
        let server = http::serve(component, shared.clone(), kube_slot.clone(), tls)
            .await
            .map_err(SimError::Bind)?;
        bound.insert(component, server.url().to_string());
        servers.push(server);
    }
    let get = |c: Component| bound.get(&c).cloned();
    let context = model::context_segments(config.context_path.as_deref());
    let mut urls = SimUrls {
        orchestration: get(Component::Orchestration).map(|u| {
            if context.is_empty() {
                u
            } else {
                format!("{u}/{}", context.join("/"))
            }
        }),
        gateway: get(Component::Gateway),
        operate: get(Component::Operate),
        tasklist: get(Component::Tasklist),
        optimize: get(Component::Optimize),
        rest: get(Component::Rest),
        token: get(Component::Identity).map(|u| format!("{u}/oauth/token")),
        datastore: get(Component::Datastore).unwrap_or_default(),
        control: get(Component::Control).unwrap_or_default(),
        kube: None,
    };
    let kubeconfig = config.state_dir.join("kubeconfig");
    let kube = if config.kubernetes {
        let handle = workloads::start_kube(&config, shared.clone(), &kubeconfig).await?;
        handle.set_hook(Arc::new(kube_requests::KubeRequests::new(shared.clone())));
        let _ = kube_slot.set(Arc::downgrade(&handle));
        urls.kube = Some(handle.url().to_string());
        Some(handle)
    } else {
        None
    };
    let after_tick: Option<Arc<dyn Fn() + Send + Sync>> = kube.as_ref().map(|k| {
        let k = k.clone();
        Arc::new(move || k.reconcile_now()) as Arc<dyn Fn() + Send + Sync>
    });
    let ticker = model::spawn_clock(shared.clone(), config.timing.tick_ms, after_tick);
    Ok(SimHandle {
        urls,
        shared,
        servers,
        ticker,
        kube,
        kubeconfig,
        config,
        datastore_ca_file: datastore_tls.map(|t| t.ca_file),
    })
}

/// With `datastore_tls`, the datastore's certificates (its CA written to the state dir).
fn datastore_tls(config: &SimConfig) -> Result<Option<datastore_tls::DatastoreTls>, SimError> {
    let c = &config.scenario.config;
    if !c.datastore_tls {
        return Ok(None);
    }
    let service = c
        .names
        .get("elasticsearch")
        .cloned()
        .unwrap_or_else(|| format!("{}-elasticsearch", config.release));
    datastore_tls::make(&config.state_dir, &service)
        .map(Some)
        .map_err(SimError::Config)
}

fn validate(config: &SimConfig) -> Result<(), SimError> {
    if config.partitions == 0 || config.partitions > 64 {
        return Err(SimError::Config("partitions must be 1..=64".into()));
    }
    if config.brokers == 0 || config.brokers > 16 {
        return Err(SimError::Config("brokers must be 1..=16".into()));
    }
    if config.timing.tick_ms == 0 {
        return Err(SimError::Config("timing.tick_ms must be > 0".into()));
    }
    if matches!(config.webapps_parts, Some(0)) {
        return Err(SimError::Config("webapps_parts must be > 0".into()));
    }
    config.scenario.check_version(config.camunda_version)?;
    validate_prefixes(config)
}

/// 8.8 names web-app indices `<index_prefix>-operate-...`; 8.7's Operate and Tasklist put their
/// own prefix in place of `operate`/`tasklist` (§7.5): each version takes only its own keys.
fn validate_prefixes(config: &SimConfig) -> Result<(), SimError> {
    let c = &config.scenario.config;
    let v = config.camunda_version;
    let wrong = match v {
        CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10
            if !c.operate_index_prefix.is_empty() =>
        {
            "operate_index_prefix"
        }
        CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10
            if !c.tasklist_index_prefix.is_empty() =>
        {
            "tasklist_index_prefix"
        }
        CamundaVersion::V8_7 if !c.index_prefix.is_empty() => "index_prefix",
        _ => return Ok(()),
    };
    let use_instead = match v {
        CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => {
            "8.8 and later prefix every web-app index with config.index_prefix"
        }
        CamundaVersion::V8_7 => {
            "8.7 has no orchestration prefix: use config.operate_index_prefix and config.tasklist_index_prefix"
        }
    };
    Err(SimError::Config(format!(
        "config.{wrong} does not apply to Camunda {}: {use_instead}",
        v.minor()
    )))
}

/// A configured prefix, or the component's default when none is set.
fn or_default<'a>(prefix: &'a str, default: &'a str) -> &'a str {
    if prefix.is_empty() { default } else { prefix }
}

/// The default kubeconfig location for a state directory.
pub fn kubeconfig_path(state_dir: &Path) -> PathBuf {
    state_dir.join("kubeconfig")
}
