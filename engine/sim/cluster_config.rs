//! sim/cluster_config: the `config:` section of a scenario — how the simulated installation is
//! set up (repositories, broker storage, chart version, names, index prefixes, foreign indices,
//! real-cluster timings of the Camunda API reference §7). It owns the keys, their defaults and
//! their validation, and the derived facts other modules ask for (a component's resource name,
//! a prefixed index name); it must not act on the world or answer requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Broker storage, chart 13 `orchestration.persistenceType` (reference §7.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PersistenceType {
    /// volumeClaimTemplate `data`, PVCs `data-<sts>-N`.
    #[default]
    Disk,
    /// An `emptyDir` data volume: lost with the pod.
    Memory,
    /// No data volume at all: data lives in the container.
    Local,
}

/// The GitOps controller owning the workloads (reference §7.11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gitops {
    #[default]
    None,
    /// Argo CD: `argocd.argoproj.io/*` annotations and the `argocd.argoproj.io/instance` label.
    Argocd,
    /// Flux: `helm.toolkit.fluxcd.io/*` labels.
    Flux,
}

/// Cluster configuration a scenario can change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    #[serde(default = "yes")]
    pub webapps_repository: bool,
    #[serde(default = "yes")]
    pub optimize_repository: bool,
    #[serde(default = "yes")]
    pub zeebe_backup_store: bool,
    #[serde(default = "yes")]
    pub repository_registered: bool,
    #[serde(default)]
    pub persistence_type: PersistenceType,
    /// `helm.sh/chart: camunda-platform-<v>`; absent: 13.0.2 (8.8) / 12.1.0 (8.7).
    #[serde(default)]
    pub chart_version: Option<String>,
    /// The broker container has a `command` that bypasses the chart's `startup.sh`.
    #[serde(default)]
    pub command_override: bool,
    #[serde(default)]
    pub gitops: Gitops,
    /// `fullnameOverride` per chart component (`zeebe`, `optimize`, `connectors`,
    /// `zeebe-gateway`, `operate`, `tasklist`, `elasticsearch`).
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Web apps / orchestration index prefix (`orchestration.index.prefix`); empty = none.
    #[serde(default)]
    pub index_prefix: String,
    /// Optimize's index prefix; empty = none (`optimize-*`).
    #[serde(default)]
    pub optimize_index_prefix: String,
    /// 8.7 Operate's index prefix (`camunda.operate.elasticsearch.indexPrefix`), in place of
    /// `operate`; empty = the default. 8.7 has no orchestration prefix (§7.5).
    #[serde(default)]
    pub operate_index_prefix: String,
    /// 8.7 Tasklist's index prefix (`camunda.tasklist.elasticsearch.indexPrefix`), in place of
    /// `tasklist`; empty = the default.
    #[serde(default)]
    pub tasklist_index_prefix: String,
    /// The datastore requires `Authorization: ApiKey <this>` (Elasticsearch security with an
    /// API key); unset = security off.
    #[serde(default)]
    pub datastore_api_key: Option<String>,
    /// The datastore speaks TLS with a private CA (ECK, Bitnami with security on).
    #[serde(default)]
    pub datastore_tls: bool,
    /// The datastore requires AWS SigV4 with this key (Amazon OpenSearch Service with IAM).
    #[serde(default)]
    pub datastore_aws: Option<AwsIam>,
    /// The exporter's index prefix.
    #[serde(default = "record_prefix")]
    pub record_prefix: String,
    /// Indices of others on the same datastore; never Camunda's.
    #[serde(default = "foreign_indices")]
    pub foreign_indices: Vec<String>,
    /// Status GETs answer 404 for this long after a backup was scheduled.
    #[serde(default = "schedule_404_ms")]
    pub schedule_404_ms: u64,
    /// Optimize's `/actuator/info` has `build` (false: `{}`, as the real image).
    #[serde(default)]
    pub optimize_info_build: bool,
    /// `CAMUNDA_DATA_BACKUP_REPOSITORYNAME` of the orchestration cluster (and Optimize's
    /// repository): where the web-app/Optimize parts go.
    #[serde(default = "repository_name")]
    pub repository_name: String,
    /// The patch version of the installation (`8.8.14`); absent: the simulator's version.
    #[serde(default)]
    pub camunda_version: Option<String>,
    /// The restore app's crash loop: run N+1 starts this long after run N ended.
    #[serde(default = "crash_loop_ms")]
    pub crash_loop_ms: u64,
    /// How long one `_restore` of a snapshot takes; absent: `timing.restore_ms`.
    #[serde(default)]
    pub restore_ms: Option<u64>,
    /// 8.9 only: continuous backups are on (`CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_CONTINUOUS`):
    /// the brokers generate backup ids and refuse an explicit one with 400 (reference
    /// camunda-8.9-8.10.md §2.2 step 8, §2.3).
    #[serde(default)]
    pub continuous_backups: bool,
    /// 8.10: the OAuth2 client the identity provider accepts for the REST API's bearer tokens
    /// (reference camunda-8.9-8.10.md §2.5, §4.3).
    #[serde(default = "rest_client_id")]
    pub rest_client_id: String,
    /// 8.10: that client's secret (never in the values file).
    #[serde(default = "rest_client_secret")]
    pub rest_client_secret: String,
    /// 8.10: the audience a token request must name; absent = any.
    #[serde(default)]
    pub rest_audience: Option<String>,
}

fn rest_client_id() -> String {
    "runbook".to_string()
}

fn rest_client_secret() -> String {
    "sim-client-secret".to_string()
}

fn yes() -> bool {
    true
}

fn record_prefix() -> String {
    "zeebe-record".to_string()
}

/// Another installation's web-app index, an application log index, a shop's index: each
/// matches an unanchored `operate|zeebe|camunda` pattern (reference §7.5).
pub const DEFAULT_FOREIGN_INDICES: [&str; 3] = [
    "prod2-operate-list-view-8.8.0_",
    "logs-app-zeebe-2026.12.01",
    "shop-camunda-orders",
];

fn foreign_indices() -> Vec<String> {
    DEFAULT_FOREIGN_INDICES.map(String::from).to_vec()
}

fn schedule_404_ms() -> u64 {
    1_500
}

fn repository_name() -> String {
    super::model::REPOSITORY.to_string()
}

fn crash_loop_ms() -> u64 {
    1_000
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            webapps_repository: true,
            optimize_repository: true,
            zeebe_backup_store: true,
            repository_registered: true,
            persistence_type: PersistenceType::Disk,
            chart_version: None,
            command_override: false,
            gitops: Gitops::None,
            names: BTreeMap::new(),
            index_prefix: String::new(),
            optimize_index_prefix: String::new(),
            operate_index_prefix: String::new(),
            tasklist_index_prefix: String::new(),
            datastore_api_key: None,
            datastore_tls: false,
            datastore_aws: None,
            record_prefix: record_prefix(),
            foreign_indices: foreign_indices(),
            schedule_404_ms: schedule_404_ms(),
            optimize_info_build: false,
            repository_name: repository_name(),
            camunda_version: None,
            crash_loop_ms: crash_loop_ms(),
            restore_ms: None,
            continuous_backups: false,
            rest_client_id: rest_client_id(),
            rest_client_secret: rest_client_secret(),
            rest_audience: None,
        }
    }
}

/// Chart components whose name `names:` may override.
pub const NAMED_COMPONENTS: [&str; 7] = [
    "zeebe",
    "zeebe-gateway",
    "operate",
    "tasklist",
    "optimize",
    "connectors",
    "elasticsearch",
];

impl ClusterConfig {
    /// The installation's Camunda version: `camunda_version`, else the simulated one.
    pub fn camunda_version_of(&self, version: super::CamundaVersion) -> String {
        self.camunda_version
            .clone()
            .unwrap_or_else(|| version.component_version().to_string())
    }

    /// Optimize's version: on 8.8 it follows the installation's patch version; 8.7's docs show
    /// it one patch behind (reference 3.2).
    pub fn optimize_version_of(&self, version: super::CamundaVersion) -> String {
        match (&self.camunda_version, version) {
            (
                Some(v),
                super::CamundaVersion::V8_8
                | super::CamundaVersion::V8_9
                | super::CamundaVersion::V8_10,
            ) => v.clone(),
            _ => version.optimize_version().to_string(),
        }
    }

    /// Checks values serde cannot: known component names, a valid repository name, version
    /// strings that parse.
    pub fn validate(&self) -> Result<(), String> {
        for (component, name) in &self.names {
            if !NAMED_COMPONENTS.contains(&component.as_str()) {
                return Err(format!(
                    "config.names: unknown component {component:?} (one of {})",
                    NAMED_COMPONENTS.join(", ")
                ));
            }
            if name.is_empty() {
                return Err(format!("config.names.{component}: empty name"));
            }
        }
        if self.repository_name.is_empty() {
            return Err("config.repository_name: empty".to_string());
        }
        if self.record_prefix.is_empty() {
            return Err("config.record_prefix: empty".to_string());
        }
        for (key, v) in [
            ("chart_version", &self.chart_version),
            ("camunda_version", &self.camunda_version),
        ] {
            if let Some(v) = v
                && parse_version(v).is_none()
            {
                return Err(format!("config.{key}: {v:?} is not a version like 8.8.15"));
            }
        }
        Ok(())
    }
}

/// `major.minor.patch` (a trailing `-suffix` ignored).
pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let core = v.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    let out = (it.next()??, it.next()??, it.next().unwrap_or(Some(0))?);
    it.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("8.8.15"), Some((8, 8, 15)));
        assert_eq!(parse_version("12.1.0"), Some((12, 1, 0)));
        assert_eq!(parse_version("8.8"), Some((8, 8, 0)));
        assert_eq!(parse_version("8.8.1-rc1"), Some((8, 8, 1)));
        assert_eq!(parse_version("x"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
    }

    #[test]
    fn documented_keys_parse() {
        let s = crate::Scenario::from_yaml_str(
            "config:\n  persistence_type: memory\n  chart_version: 12.0.2\n  command_override: true\n  gitops: argocd\n  names: {zeebe: core, optimize: opt, connectors: conn}\n  index_prefix: c1\n  optimize_index_prefix: o1\n  record_prefix: rec\n  foreign_indices: [a-zeebe]\n  schedule_404_ms: 0\n  optimize_info_build: true\n  repository_name: other\n  camunda_version: 8.8.14\n  crash_loop_ms: 500\n  restore_ms: 2000\noutcomes:\n  - {component: snapshot, result: partial}\n",
        )
        .expect("parses");
        assert_eq!(s.config.persistence_type, PersistenceType::Memory);
        assert_eq!(s.config.gitops, Gitops::Argocd);
        assert_eq!(s.config.names["zeebe"], "core");
        assert_eq!(s.config.foreign_indices, vec!["a-zeebe"]);
        let d = crate::Scenario::from_yaml_str("config: {}\n").unwrap();
        assert_eq!(d.config, ClusterConfig::default());
        assert_eq!(d.config.foreign_indices.len(), 3);
        assert!(
            crate::Scenario::from_yaml_str("outcomes:\n  - {component: zeebe, result: partial}\n")
                .is_err()
        );
    }

    #[test]
    fn a_restore_outcome_is_partial_only() {
        let ok = "outcomes:\n  - {component: restore, result: partial}\n";
        assert!(crate::Scenario::from_yaml_str(ok).is_ok());
        let failed = "outcomes:\n  - {component: restore, result: failed}\n";
        assert!(crate::Scenario::from_yaml_str(failed).is_err());
    }

    #[test]
    fn shipped_scenarios_parse() {
        for text in [
            include_str!("scenarios/renamed.yaml"),
            include_str!("scenarios/argocd.yaml"),
            include_str!("scenarios/memory-storage.yaml"),
            include_str!("scenarios/shared-datastore.yaml"),
            include_str!("scenarios/partial-snapshot.yaml"),
            include_str!("scenarios/old-chart-87.yaml"),
            include_str!("scenarios/usage-metrics-8.8.15.yaml"),
            include_str!("scenarios/long-restore.yaml"),
            include_str!("scenarios/retention-deleted-89.yaml"),
            include_str!("scenarios/restore-failed-shards.yaml"),
        ] {
            crate::Scenario::from_yaml_str(text).expect(text);
        }
    }

    #[test]
    fn unknown_names_are_rejected() {
        let mut c = ClusterConfig::default();
        assert!(c.validate().is_ok());
        c.names.insert("zeebee".into(), "core".into());
        assert!(c.validate().unwrap_err().contains("zeebee"));
    }
}

/// The IAM identity an AWS-guarded datastore accepts.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsIam {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    /// `es` (a domain) or `aoss` (Serverless).
    #[serde(default = "aws_service")]
    pub service: String,
}

fn aws_service() -> String {
    "es".into()
}
