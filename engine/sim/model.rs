//! sim/model: the simulated world as one value — cluster, datastore, Zeebe backups, web-app
//! backup queues, faults, request log, component availability — behind one mutex, and the clock
//! that moves it. It owns seeding (which indices and templates a fresh installation has) and the
//! per-tick order of events; it must not know HTTP or any endpoint's wire format.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::cluster::Cluster;
use super::datastore::{Owner, Store};
use super::faults::{ClusterConfig, Faults};
use super::index_names;
use super::webapps::WebappsQueues;
use super::zeebe::ZeebeBackups;
use super::{CamundaVersion, SimConfig, Timing, time};

/// The snapshot repository every component is configured with (reference: docs use `camunda`).
pub const REPOSITORY: &str = "camunda";

/// Requests kept in the ring buffer.
const REQUEST_LOG_CAPACITY: usize = 10_000;

/// The world behind its lock.
pub type Shared = Arc<Mutex<World>>;

/// Locks the world; a poisoned lock still holds consistent data (no handler panics by design),
/// so take it rather than fail every later request.
pub fn lock(shared: &Shared) -> MutexGuard<'_, World> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server of the simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// 8.8 orchestration cluster management API.
    Orchestration,
    /// 8.7 Zeebe gateway.
    Gateway,
    /// 8.7 Operate.
    Operate,
    /// 8.7 Tasklist.
    Tasklist,
    Optimize,
    Datastore,
    /// The simulator's own API.
    Control,
    /// The Kubernetes stand-in (requests logged and faulted through `sim::kube_requests`).
    Kubernetes,
    /// 8.10 Orchestration Cluster REST API (`/v2`, the gateway's http port 8080 role).
    Rest,
    /// 8.10: the identity provider issuing the REST API's bearer tokens (`/oauth/token`).
    Identity,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Orchestration => "orchestration",
            Component::Gateway => "gateway",
            Component::Operate => "operate",
            Component::Tasklist => "tasklist",
            Component::Optimize => "optimize",
            Component::Datastore => "datastore",
            Component::Control => "control",
            Component::Kubernetes => "kubernetes",
            Component::Rest => "rest",
            Component::Identity => "identity",
        }
    }

    pub fn parse(s: &str) -> Option<Component> {
        [
            Component::Orchestration,
            Component::Gateway,
            Component::Operate,
            Component::Tasklist,
            Component::Optimize,
            Component::Datastore,
            Component::Rest,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// The servers a configuration runs.
    pub fn for_config(config: &SimConfig) -> Vec<Component> {
        let mut out = match config.camunda_version {
            CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => {
                vec![Component::Orchestration]
            }
            CamundaVersion::V8_7 => {
                vec![Component::Gateway, Component::Operate, Component::Tasklist]
            }
        };
        if config.camunda_version.has_rest_api() {
            out.push(Component::Rest);
            out.push(Component::Identity);
        }
        if config.optimize {
            out.push(Component::Optimize);
        }
        out.push(Component::Datastore);
        out.push(Component::Control);
        out
    }
}

/// One served request.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub seq: u64,
    pub component: Component,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub at_ms: u64,
    pub time: String,
}

/// Static facts of the run.
#[derive(Clone, Debug)]
pub struct Facts {
    pub version: CamundaVersion,
    pub opensearch: bool,
    pub partitions: u32,
    pub brokers: u32,
    pub webapps_parts: u32,
    pub optimize: bool,
    pub exporting_plain_204: bool,
    pub timing: Timing,
    pub release: String,
    pub namespace: String,
    pub config: ClusterConfig,
    /// Segments of `orchestration.contextPath` (empty: none).
    pub context_path: Vec<String>,
}

impl Facts {
    /// The installation's Camunda version: `config.camunda_version`, else the simulated one.
    pub fn camunda_version(&self) -> String {
        self.config.camunda_version_of(self.version)
    }

    /// Optimize's version (see `ClusterConfig::optimize_version_of`).
    pub fn optimize_version(&self) -> String {
        self.config.optimize_version_of(self.version)
    }

    /// The snapshot repository the web apps and Optimize are configured with (§7.15).
    pub fn repository(&self) -> &str {
        &self.config.repository_name
    }
}

/// The non-empty segments of a context path (`/example/` → `["example"]`).
pub fn context_segments(path: Option<&str>) -> Vec<String> {
    path.unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The simulated world.
pub struct World {
    pub facts: Facts,
    started: Instant,
    pub wall_start_ms: u64,
    pub cluster: Cluster,
    pub store: Store,
    pub zeebe: ZeebeBackups,
    pub webapps: WebappsQueues,
    pub faults: Faults,
    pub requests: VecDeque<RequestRecord>,
    /// Requests being answered right now (arrived, not yet answered): `(component, method,
    /// path)`, so a test can act while a slow call is in flight.
    pub in_flight: Vec<(Component, String, String)>,
    request_seq: u64,
    /// Per component: whether its API is reachable (false = scaled to 0 / stopped).
    gates: BTreeMap<Component, watch::Sender<bool>>,
    /// Whether the brokers process records (false while stopped or in restore mode).
    pub brokers_running: bool,
    /// Bumped by every `damage`, so the Kubernetes workloads learn that volumes were emptied.
    pub broker_data_epoch: u64,
    /// Bumped by every completed 8.10 Restore-API restore: the running brokers' volumes hold
    /// the restored data (the Kubernetes workloads mark them present again).
    pub in_place_restore_epoch: u64,
    /// Exporting mode changes (ms since start, new mode), oldest first.
    pub exporting_history: Vec<(u64, super::cluster::Exporting)>,
    /// The dated usage-metric indices the installation had when the simulator started (§7.6).
    pub archived_usage_metrics: Vec<String>,
    /// When backups were scheduled: status GETs answer 404 for a while (§7.2).
    pub schedule_grace: super::schedule_grace::ScheduleGrace,
    /// 8.10: recovery mode, topology changes and the Restore API's run (`restore_api`).
    pub restore_api: super::restore_api::RestoreApi,
    /// 8.10: bearer tokens the identity provider issued (`oauth_idp`).
    pub oauth: super::oauth_idp::Tokens,
}

impl World {
    pub fn new(config: &SimConfig) -> World {
        let webapps_parts = config
            .webapps_parts
            .unwrap_or(match config.camunda_version {
                CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => 5,
                CamundaVersion::V8_7 => 6,
            });
        let facts = Facts {
            version: config.camunda_version,
            opensearch: config.datastore == super::Datastore::OpenSearch,
            partitions: config.partitions,
            brokers: config.brokers,
            webapps_parts,
            optimize: config.optimize,
            exporting_plain_204: config.exporting_plain_204,
            timing: config.timing.clone(),
            release: config.release.clone(),
            namespace: config.namespace.clone(),
            config: config.scenario.config.clone(),
            context_path: context_segments(config.context_path.as_deref()),
        };
        let mut faults = Faults::default();
        faults.add(config.scenario.clone());
        let mut world = World {
            store: Store::new(facts.opensearch),
            cluster: Cluster::new(config.partitions),
            zeebe: ZeebeBackups::default(),
            webapps: WebappsQueues::default(),
            faults,
            requests: VecDeque::new(),
            in_flight: Vec::new(),
            request_seq: 0,
            gates: BTreeMap::new(),
            brokers_running: true,
            broker_data_epoch: 0,
            in_place_restore_epoch: 0,
            exporting_history: Vec::new(),
            archived_usage_metrics: Vec::new(),
            schedule_grace: Default::default(),
            restore_api: Default::default(),
            oauth: Default::default(),
            started: Instant::now(),
            wall_start_ms: time::now_epoch_ms(),
            facts,
        };
        for c in Component::for_config(config) {
            world.gates.insert(c, watch::channel(true).0);
        }
        if world.facts.config.repository_registered {
            // The plans' repository, and the one Camunda is configured with when it differs
            // (§7.15: then the web-app parts land there, not where the plan looks).
            let configured = world.facts.repository().to_string();
            for repo in [REPOSITORY.to_string(), configured] {
                world.store.repositories.insert(
                    repo,
                    serde_json::json!({"type":"fs","settings":{"location":"/usr/share/elasticsearch/backups"}}),
                );
            }
        }
        world.seed_history();
        world.seed_schema();
        world
    }

    /// Records an exporting mode change made through the API.
    pub fn note_exporting(&mut self) {
        let mode = self.cluster.exporting;
        if self.exporting_history.last().map(|(_, m)| *m) != Some(mode) {
            let now = self.now_ms();
            self.exporting_history.push((now, mode));
        }
    }

    /// Whether backup `id` of `api` was scheduled too recently to be visible (§7.2).
    pub fn schedule_hidden(&self, api: &str, id: u64) -> bool {
        let grace = self.facts.config.schedule_404_ms;
        self.schedule_grace.hidden(api, id, self.now_ms(), grace)
    }

    /// Notes that backup `id` of `api` was scheduled now.
    pub fn note_scheduled(&mut self, api: &str, id: u64) {
        let now = self.now_ms();
        self.schedule_grace.scheduled(api, id, now);
    }

    /// Milliseconds since the simulator started.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Wall-clock epoch milliseconds of a simulator instant.
    pub fn epoch(&self, sim_ms: u64) -> u64 {
        self.wall_start_ms + sim_ms
    }

    /// The indices and templates a fresh installation creates on first start.
    pub fn seed_schema(&mut self) {
        let date = time::date(self.epoch(self.now_ms()));
        let n = self.facts.partitions as usize;
        for (name, owner) in index_names::seed_indices(&self.facts, &date) {
            self.store.create_index(&name, owner, n);
        }
        if self.store.templates.is_empty() {
            self.store.templates = index_names::seed_templates(&self.facts);
        }
    }

    /// What exists before the simulated run: archived (dated) indices and other
    /// installations' indices on the shared datastore (§7.5, §7.6). Never re-created.
    fn seed_history(&mut self) {
        let date = time::date(self.epoch(self.now_ms()));
        let n = self.facts.partitions as usize;
        for name in index_names::dated_usage_metric_indices(&self.facts, &date) {
            self.store.create_index(&name, Owner::UsageMetricArchive, n);
            self.archived_usage_metrics.push(name);
        }
        for name in self.facts.config.foreign_indices.clone() {
            self.store.create_index(&name, Owner::Foreign, n);
        }
    }

    /// The names of the indices a component owns (backup contents); the dated usage-metric
    /// indices only from 8.8.15 on (§7.6).
    pub fn owned_indices(&self, owners: &[Owner]) -> Vec<String> {
        let date = time::date(self.epoch(self.now_ms()));
        let mut out: Vec<String> = index_names::seed_indices(&self.facts, &date)
            .into_iter()
            .filter(|(_, o)| owners.contains(o))
            .map(|(n, _)| n)
            .collect();
        if owners.contains(&Owner::Camunda)
            && index_names::backups_include_dated_usage_metrics(&self.facts)
        {
            out.extend(
                self.store
                    .indices
                    .values()
                    .filter(|i| i.owner == Owner::UsageMetricArchive)
                    .map(|i| i.name.clone()),
            );
        }
        out
    }

    /// The receiver a server uses to follow its availability.
    pub fn gate(&self, c: Component) -> watch::Receiver<bool> {
        match self.gates.get(&c) {
            Some(tx) => tx.subscribe(),
            None => watch::channel(true).1,
        }
    }

    pub fn is_up(&self, c: Component) -> bool {
        self.gates.get(&c).is_none_or(|tx| *tx.borrow())
    }

    /// Takes a component's API away (false) or brings it back.
    pub fn set_up(&mut self, c: Component, up: bool) {
        if let Some(tx) = self.gates.get(&c) {
            tx.send_replace(up);
        }
    }

    pub fn components(&self) -> BTreeMap<Component, bool> {
        self.gates
            .iter()
            .map(|(c, tx)| (*c, *tx.borrow()))
            .collect()
    }

    pub fn log_request(&mut self, component: Component, method: &str, path: &str, status: u16) {
        self.request_seq += 1;
        let at_ms = self.now_ms();
        if self.requests.len() >= REQUEST_LOG_CAPACITY {
            self.requests.pop_front();
        }
        self.requests.push_back(RequestRecord {
            seq: self.request_seq,
            component,
            method: method.to_string(),
            path: path.to_string(),
            status,
            at_ms,
            time: time::es_time(self.epoch(at_ms)),
        });
    }

    /// One clock tick: process, export, finish what is due.
    pub fn tick(&mut self) {
        if self.processing() {
            self.cluster.grow(self.facts.timing.records_per_tick);
        }
        self.export_step();
        self.settle();
    }

    /// Lets the cluster move on by `records` per partition and flushes the exporter lag.
    pub fn advance(&mut self, records: u64) {
        // Stopped brokers (scaled to 0, restore mode) process nothing.
        if self.processing() {
            self.cluster.grow(records);
        }
        for _ in 0..3 {
            self.export_step();
        }
        self.settle();
    }

    /// Whether the brokers process records: running, and (8.10) not in recovery mode.
    pub fn processing(&self) -> bool {
        self.brokers_running && self.restore_api.processing()
    }

    /// Feeds the indices from the exported positions and acknowledges `E`.
    fn export_step(&mut self) {
        let hist: Vec<[u64; 3]> = self
            .cluster
            .partitions
            .iter()
            .map(|p| [p.exported, p.history[0], p.history[1]])
            .collect();
        let lowest = self.store.feed(&hist);
        self.cluster.acknowledge(&lowest);
        for p in &mut self.cluster.partitions {
            p.history = [p.exported, p.history[0]];
        }
    }

    /// Completes snapshots, web-app parts and Zeebe backups whose time has come.
    pub fn settle(&mut self) {
        let now = self.now_ms();
        self.store.settle(now);
        super::webapps::progress(self, now);
        self.zeebe.settle(now);
        super::restore_api::settle(self, now);
    }

    /// Deletes every index this installation re-creates or restores, and all broker data
    /// (`POST /sim/damage`); foreign indices and the dated usage-metric indices stay (§7.5,
    /// §7.6: a backup before 8.8.15 cannot bring those back).
    pub fn damage(&mut self) -> Vec<String> {
        let doomed: Vec<String> = self
            .store
            .indices
            .values()
            .filter(|i| i.owner.restorable())
            .map(|i| i.name.clone())
            .collect();
        for n in &doomed {
            self.store.indices.remove(n);
        }
        self.cluster.wipe();
        self.zeebe.broker_data_present = false;
        self.broker_data_epoch += 1;
        doomed
    }
}

/// Starts the clock; `after_tick` runs outside the lock (e.g. the Kubernetes reconcile).
pub fn spawn_clock(
    shared: Shared,
    tick_ms: u64,
    after_tick: Option<Arc<dyn Fn() + Send + Sync>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(tick_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            lock(&shared).tick();
            if let Some(f) = &after_tick {
                f();
            }
        }
    })
}
