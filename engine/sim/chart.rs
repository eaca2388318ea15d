//! sim/chart: the Helm chart's objects at install time (reference 5.1) as the scenario's
//! `config:` shapes them — resource names (`camundaPlatform.componentFullname`, §7.10), labels
//! (`helm.sh/chart`, `app.kubernetes.io/version`, GitOps owners, §7.8, §7.9, §7.11), broker
//! storage (§7.7), the broker container's command (§7.8) and the backup settings in the
//! containers' env (§7.15). It owns names and seed objects; it must not reconcile anything.

use serde_json::{Value, json};

use super::cluster_config::{ClusterConfig, Gitops, PersistenceType};
use super::kube::ObjectKey;
use super::model::Component;
use super::restore_app::default_chart_version;
use super::{CamundaVersion, SimConfig};

/// Names and facts of the chart installation.
#[derive(Clone, Debug)]
pub struct Names {
    pub release: String,
    pub namespace: String,
    pub version: CamundaVersion,
    pub brokers: u32,
    pub optimize: bool,
    /// The datastore is OpenSearch (8.9 names its repository key per engine, §2.4).
    pub opensearch: bool,
    pub config: ClusterConfig,
}

impl Names {
    pub fn new(config: &SimConfig) -> Self {
        Names {
            release: config.release.clone(),
            namespace: config.namespace.clone(),
            version: config.camunda_version,
            brokers: config.brokers,
            optimize: config.optimize,
            opensearch: config.datastore == super::Datastore::OpenSearch,
            config: config.scenario.config.clone(),
        }
    }

    /// Chart helper `camundaPlatform.componentFullname`: the component's `fullnameOverride`,
    /// else `<release>` when the release name contains the component name, else
    /// `<release>-<component>` (§7.10).
    pub fn fullname(&self, component: &str) -> String {
        if let Some(name) = self.config.names.get(component) {
            return name.clone();
        }
        if self.release.contains(component) {
            self.release.clone()
        } else {
            format!("{}-{component}", self.release)
        }
    }

    pub fn statefulset(&self) -> String {
        self.fullname("zeebe")
    }

    /// Broker container: `orchestration` (8.8), `zeebe` (8.7).
    pub fn container(&self) -> &'static str {
        match self.version {
            CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => "orchestration",
            CamundaVersion::V8_7 => "zeebe",
        }
    }

    /// Data mount of the broker container (reference 5.1; printed in the restore error, 6 #11).
    pub fn data_dir(&self) -> &'static str {
        match self.version {
            CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10 => {
                "/usr/local/camunda/data"
            }
            CamundaVersion::V8_7 => "/usr/local/zeebe/data",
        }
    }

    pub fn pod(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.statefulset())
    }

    pub fn pvc(&self, ordinal: u32) -> String {
        format!("data-{}", self.pod(ordinal))
    }

    /// Whether the brokers keep their data in PVCs (`persistenceType: disk`, §7.7).
    pub fn disk(&self) -> bool {
        self.config.persistence_type == PersistenceType::Disk
    }

    /// Deployments and the component each one serves.
    pub fn deployments(&self) -> Vec<(String, &'static str, Option<Component>)> {
        let mut out = Vec::new();
        if self.version == CamundaVersion::V8_7 {
            out.push((
                self.fullname("zeebe-gateway"),
                "zeebe-gateway",
                Some(Component::Gateway),
            ));
            out.push((
                self.fullname("operate"),
                "operate",
                Some(Component::Operate),
            ));
            out.push((
                self.fullname("tasklist"),
                "tasklist",
                Some(Component::Tasklist),
            ));
        }
        if self.optimize {
            out.push((
                self.fullname("optimize"),
                "optimize",
                Some(Component::Optimize),
            ));
        }
        out.push((self.fullname("connectors"), "connectors", None));
        out
    }

    /// The installation's Camunda version (patch from `config.camunda_version`).
    pub fn camunda_version(&self) -> String {
        self.config.camunda_version_of(self.version)
    }

    /// The version of a component's image (and of its `app.kubernetes.io/version` label).
    pub fn component_version(&self, component: &str) -> String {
        match component {
            "optimize" => self.config.optimize_version_of(self.version),
            _ => self.camunda_version(),
        }
    }

    fn image(&self, component: &str) -> String {
        let v = self.component_version(component);
        match component {
            "optimize" => format!("camunda/optimize:{v}"),
            "connectors" => format!("camunda/connectors-bundle:{v}"),
            "operate" => format!("camunda/operate:{v}"),
            "tasklist" => format!("camunda/tasklist:{v}"),
            "zeebe-gateway" | "zeebe" => format!("camunda/zeebe:{v}"),
            _ => format!("camunda/camunda:{v}"),
        }
    }

    fn chart_label(&self) -> String {
        let chart = self
            .config
            .chart_version
            .as_deref()
            .unwrap_or(default_chart_version(self.version));
        format!("camunda-platform-{chart}")
    }
}

pub fn key(group: &str, kind: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.to_string(),
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

/// The chart's labels, plus the GitOps controller's (§7.11: Flux's helm-controller labels).
fn labels(names: &Names, component: &str) -> Value {
    let mut out = json!({
        "app": "camunda-platform",
        "app.kubernetes.io/name": "camunda-platform",
        "app.kubernetes.io/instance": names.release,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "camunda-platform",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/version": names.component_version(component),
        "helm.sh/chart": names.chart_label(),
    });
    match names.config.gitops {
        Gitops::Argocd => out["argocd.argoproj.io/instance"] = json!(names.release),
        Gitops::Flux => {
            out["helm.toolkit.fluxcd.io/name"] = json!(names.release);
            out["helm.toolkit.fluxcd.io/namespace"] = json!(names.namespace);
        }
        Gitops::None => {}
    }
    out
}

/// Argo CD's tracking annotation on what it manages (§7.11).
fn annotations(names: &Names, kind: &str, name: &str) -> Value {
    match names.config.gitops {
        Gitops::Argocd => json!({
            "argocd.argoproj.io/tracking-id":
                format!("{}:apps/{kind}:{}/{name}", names.release, names.namespace),
        }),
        _ => json!({}),
    }
}

pub fn selector(names: &Names, component: &str) -> Value {
    json!({
        "app": "camunda-platform",
        "app.kubernetes.io/name": "camunda-platform",
        "app.kubernetes.io/instance": names.release,
        "app.kubernetes.io/component": component,
    })
}

fn metadata(names: &Names, kind: &str, name: &str, component: &str) -> Value {
    json!({
        "name": name,
        "namespace": names.namespace,
        "labels": labels(names, component),
        "annotations": annotations(names, kind, name),
    })
}

fn service(names: &Names, name: &str, component: &str, ports: Value, headless: bool) -> Value {
    let mut spec =
        json!({"type": "ClusterIP", "selector": selector(names, component), "ports": ports});
    if headless {
        spec["clusterIP"] = json!("None");
    }
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": metadata(names, "Service", name, component),
        "spec": spec,
    })
}

fn port(name: &str, port: u16, target: u16) -> Value {
    json!({"name": name, "port": port, "protocol": "TCP", "targetPort": target})
}

fn env_var(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// The broker container's backup settings (§7.15): the store only when one is configured.
fn broker_env(names: &Names) -> Value {
    let c = &names.config;
    let mut env = Vec::new();
    match names.version {
        CamundaVersion::V8_8 => {
            if c.zeebe_backup_store {
                env.push(env_var("CAMUNDA_DATA_BACKUP_STORE", "S3"));
            }
            env.push(env_var(
                "CAMUNDA_DATA_BACKUP_REPOSITORYNAME",
                &c.repository_name,
            ));
        }
        // 8.9 unified configuration: the canonical no-dash env names (reference 8.9 §2.4,
        // §6 #10, #11); chart 14 renders none of them, the operator sets them.
        // Chart 15 (8.10) keeps chart 14's names and configuration (reference 8.9-8.10 §5).
        CamundaVersion::V8_9 | CamundaVersion::V8_10 => {
            if c.zeebe_backup_store {
                env.push(env_var("CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_STORE", "S3"));
            }
            if c.continuous_backups {
                env.push(env_var(
                    "CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_CONTINUOUS",
                    "true",
                ));
            }
            env.push(env_var(
                if names.opensearch {
                    "CAMUNDA_DATA_SECONDARYSTORAGE_OPENSEARCH_BACKUP_REPOSITORYNAME"
                } else {
                    "CAMUNDA_DATA_SECONDARYSTORAGE_ELASTICSEARCH_BACKUP_REPOSITORYNAME"
                },
                &c.repository_name,
            ));
        }
        CamundaVersion::V8_7 => {
            if c.zeebe_backup_store {
                env.push(env_var("ZEEBE_BROKER_DATA_BACKUP_STORE", "S3"));
                env.push(env_var(
                    "ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME",
                    "camunda-backups",
                ));
            }
        }
    }
    Value::Array(env)
}

/// The broker command: the chart's `startup.sh`, or an override that bypasses it (§7.8).
fn broker_command(names: &Names) -> Value {
    match (names.config.command_override, names.version) {
        (false, _) => json!(["bash", "/usr/local/bin/startup.sh"]),
        (true, CamundaVersion::V8_8 | CamundaVersion::V8_9 | CamundaVersion::V8_10) => {
            json!(["/usr/local/camunda/bin/camunda"])
        }
        (true, CamundaVersion::V8_7) => json!(["/usr/local/zeebe/bin/broker"]),
    }
}

/// The broker StatefulSet; its storage follows `persistenceType` (§7.7).
fn statefulset(names: &Names) -> Value {
    let sts = names.statefulset();
    let mut container = json!({
        "name": names.container(),
        "image": names.image("camunda"),
        "command": broker_command(names),
        "env": broker_env(names),
        "ports": [{"name": "http", "containerPort": 9600}, {"name": "command", "containerPort": 26501}, {"name": "internal", "containerPort": 26502}],
    });
    let mut pod_spec = json!({});
    let mut spec = json!({
        "replicas": names.brokers,
        "podManagementPolicy": "Parallel",
        "serviceName": sts,
        "updateStrategy": {"type": "RollingUpdate"},
        "selector": {"matchLabels": selector(names, "zeebe-broker")},
    });
    let mount = json!([{"name": "data", "mountPath": names.data_dir()}]);
    match names.config.persistence_type {
        PersistenceType::Disk => {
            container["volumeMounts"] = mount;
            spec["volumeClaimTemplates"] = json!([{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "32Gi"}}},
            }]);
        }
        PersistenceType::Memory => {
            container["volumeMounts"] = mount;
            pod_spec["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
        }
        PersistenceType::Local => {}
    }
    pod_spec["containers"] = json!([container]);
    spec["template"] = json!({
        "metadata": {"labels": selector(names, "zeebe-broker")},
        "spec": pod_spec,
    });
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": metadata(names, "StatefulSet", &sts, "zeebe-broker"),
        "spec": spec,
    })
}

/// The chart's objects at install time (reference 5.1).
pub fn seed_objects(names: &Names) -> Vec<Value> {
    let ns = &names.namespace;
    let sts = names.statefulset();
    let mut out = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        statefulset(names),
        service(
            names,
            &sts,
            "zeebe-broker",
            json!([
                port("internal", 26502, 26502),
                port("command", 26501, 26501),
                port("management", 9600, 9600)
            ]),
            true,
        ),
    ];
    // Chart 14 (8.9) ships the Elasticsearch subchart disabled and deprecated: the datastore
    // is installed separately, so the release has no `<release>-elasticsearch` Service
    // (shared/reference/camunda-8.9-8.10.md §5, §6 #21).
    if !names.version.at_least_8_9() {
        out.push(service(
            names,
            &names.fullname("elasticsearch"),
            "elasticsearch",
            json!([port("tcp-rest-api", 9200, 9200)]),
            false,
        ));
    }
    if names.version.orchestration_cluster() {
        out.push(service(
            names,
            &format!("{sts}-gateway"),
            "zeebe-broker",
            json!([
                port("http", 8080, 8080),
                port("management", 9600, 9600),
                port("grpc-api", 26500, 26500)
            ]),
            false,
        ));
        out.push(configmap(names, &sts));
    }
    if names.disk() {
        for ordinal in 0..names.brokers {
            out.push(pvc_object(names, ordinal));
        }
    }
    for (name, component, _) in names.deployments() {
        out.push(deployment_object(names, &name, component));
        let ports = match component {
            "optimize" => json!([port("http", 80, 8090), port("management", 8092, 8092)]),
            "zeebe-gateway" => json!([
                port("http", 8080, 8080),
                port("management", 9600, 9600),
                port("grpc-api", 26500, 26500)
            ]),
            "connectors" => json!([port("http", 8080, 8080)]),
            _ => json!([port("http", 80, 8080), port("management", 9600, 9600)]),
        };
        out.push(service(names, &name, component, ports, false));
    }
    out
}

/// Chart 13's `startup.sh`: the restore app always gets `--backupId` (reference 8.9 §6 #13).
const STARTUP_CHART_13: &str = "if [ \"${ZEEBE_RESTORE}\" = \"true\" ]; then\n  exec /usr/local/camunda/bin/restore --backupId=${ZEEBE_RESTORE_FROM_BACKUP_ID}\nelse\n  exec /usr/local/camunda/bin/camunda\nfi\n";

/// Chart 14's `startup.sh` (reference 8.9 §4.1, verbatim): without an id or timestamps it runs
/// a bare `restore` (the RDBMS default mode).
const STARTUP_CHART_14: &str = r#"if [ "$ZEEBE_RESTORE" = "true" ]; then
  if [ "${ZEEBE_RESTORE_FROM_BACKUP_ID:-}" ]; then
    exec restore --backupId="${ZEEBE_RESTORE_FROM_BACKUP_ID}"
  elif [ "${ZEEBE_RESTORE_FROM_TIMESTAMP:-}" ] && [ "${ZEEBE_RESTORE_TO_TIMESTAMP:-}" ]; then
    exec restore --from="${ZEEBE_RESTORE_FROM_TIMESTAMP}" --to="${ZEEBE_RESTORE_TO_TIMESTAMP}"
  elif [ "${ZEEBE_RESTORE_FROM_TIMESTAMP:-}" ]; then
    exec restore --from="${ZEEBE_RESTORE_FROM_TIMESTAMP}"
  elif [ "${ZEEBE_RESTORE_TO_TIMESTAMP:-}" ]; then
    exec restore --to="${ZEEBE_RESTORE_TO_TIMESTAMP}"
  else
    exec restore
  fi
else
  exec camunda
fi
"#;

/// The broker ConfigMap: chart 13 `<sts>-configuration-unified`, chart 14
/// `<sts>-configuration` (commit 743be3fb2a "drop the -unified suffix"; reference 8.9 §5).
fn configmap(names: &Names, sts: &str) -> Value {
    let (name, startup) = if names.version.at_least_8_9() {
        (format!("{sts}-configuration"), STARTUP_CHART_14)
    } else {
        (format!("{sts}-configuration-unified"), STARTUP_CHART_13)
    };
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": metadata(names, "ConfigMap", &name, "zeebe-broker"),
        "data": {"startup.sh": startup},
    })
}

pub fn pvc_object(names: &Names, ordinal: u32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": names.pvc(ordinal), "namespace": names.namespace, "labels": selector(names, "zeebe-broker")},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "32Gi"}}, "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "32Gi"}},
    })
}

/// The backup repository settings of a web-app or Optimize container (§7.15).
fn component_env(names: &Names, component: &str) -> Value {
    let repo = &names.config.repository_name;
    let var = match component {
        "optimize" => "CAMUNDA_OPTIMIZE_BACKUP_REPOSITORY_NAME",
        "operate" => "CAMUNDA_OPERATE_BACKUP_REPOSITORYNAME",
        "tasklist" => "CAMUNDA_TASKLIST_BACKUP_REPOSITORYNAME",
        _ => return json!([]),
    };
    json!([env_var(var, repo)])
}

fn deployment_object(names: &Names, name: &str, component: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": metadata(names, "Deployment", name, component),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector(names, component)},
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": selector(names, component)},
                "spec": {"containers": [{
                    "name": component,
                    "image": names.image(component),
                    "env": component_env(names, component),
                }]},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tweak: impl FnOnce(&mut SimConfig)) -> Names {
        let mut c = SimConfig::default();
        tweak(&mut c);
        Names::new(&c)
    }

    fn find(seed: &[Value], kind: &str, name: &str) -> Option<Value> {
        seed.iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .cloned()
    }

    #[test]
    fn chart_names() {
        let n = names(|_| {});
        assert_eq!(n.statefulset(), "camunda-zeebe");
        assert_eq!(n.pod(2), "camunda-zeebe-2");
        assert_eq!(n.pvc(0), "data-camunda-zeebe-0");
        assert_eq!(n.container(), "orchestration");
        let deps: Vec<String> = n.deployments().into_iter().map(|d| d.0).collect();
        assert_eq!(deps, vec!["camunda-optimize", "camunda-connectors"]);
        let n87 = names(|c| c.camunda_version = CamundaVersion::V8_7);
        assert_eq!(n87.container(), "zeebe");
        assert_eq!(n87.data_dir(), "/usr/local/zeebe/data");
        let deps: Vec<String> = n87.deployments().into_iter().map(|d| d.0).collect();
        assert_eq!(
            deps,
            vec![
                "camunda-zeebe-gateway",
                "camunda-operate",
                "camunda-tasklist",
                "camunda-optimize",
                "camunda-connectors"
            ]
        );
    }

    #[test]
    fn overrides_and_release_names_follow_the_chart_helper() {
        let n = names(|c| {
            c.scenario.config.names = [("zeebe", "core"), ("optimize", "opt")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into();
        });
        assert_eq!(n.statefulset(), "core");
        assert_eq!(n.pvc(1), "data-core-1");
        let deps: Vec<String> = n.deployments().into_iter().map(|d| d.0).collect();
        assert_eq!(deps, vec!["opt", "camunda-connectors"]);
        let seed = seed_objects(&n);
        let opt = find(&seed, "Deployment", "opt").expect("renamed deployment");
        assert_eq!(
            opt["metadata"]["labels"]["app.kubernetes.io/component"],
            "optimize"
        );
        assert_eq!(
            opt["metadata"]["labels"]["app.kubernetes.io/instance"],
            "camunda"
        );
        assert!(find(&seed, "Service", "opt").is_some());
        assert!(find(&seed, "Service", "core-gateway").is_some());
        // A release named after the component is the component's name.
        let n = names(|c| c.release = "zeebe-prod".into());
        assert_eq!(n.statefulset(), "zeebe-prod");
    }

    #[test]
    fn seed_has_the_chart_objects() {
        let seed = seed_objects(&names(|_| {}));
        let sts = find(&seed, "StatefulSet", "camunda-zeebe").expect("statefulset");
        assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
        assert_eq!(
            sts["spec"]["template"]["spec"]["containers"][0]["name"],
            "orchestration"
        );
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
            "data"
        );
        assert_eq!(
            sts["metadata"]["labels"]["helm.sh/chart"],
            "camunda-platform-13.0.2"
        );
        for i in 0..3 {
            assert!(
                find(
                    &seed,
                    "PersistentVolumeClaim",
                    &format!("data-camunda-zeebe-{i}")
                )
                .is_some()
            );
        }
        let opt = find(&seed, "Deployment", "camunda-optimize").unwrap();
        assert_eq!(
            opt["metadata"]["labels"]["app.kubernetes.io/version"],
            "8.8.0"
        );
        assert_eq!(
            opt["spec"]["template"]["spec"]["containers"][0]["image"],
            "camunda/optimize:8.8.0"
        );
        assert!(find(&seed, "Service", "camunda-zeebe-gateway").is_some());
        assert!(find(&seed, "ConfigMap", "camunda-zeebe-configuration-unified").is_some());
        let svc = find(&seed, "Service", "camunda-optimize").unwrap();
        assert_eq!(svc["spec"]["ports"][1]["targetPort"], 8092);
        let env = &sts["spec"]["template"]["spec"]["containers"][0]["env"];
        assert!(
            env.to_string()
                .contains("CAMUNDA_DATA_BACKUP_REPOSITORYNAME"),
            "{env}"
        );
        assert!(
            sts["metadata"]["annotations"]
                .as_object()
                .unwrap()
                .is_empty()
        );
    }

    /// Chart 14 (8.9): ConfigMap without `-unified`, the chart-14 startup.sh, no bundled
    /// Elasticsearch Service, the 8.9 configuration names (reference 8.9 §2.4, §5).
    #[test]
    fn chart_14_names_for_8_9() {
        let seed = seed_objects(&names(|c| {
            c.camunda_version = CamundaVersion::V8_9;
            c.scenario.config.continuous_backups = true;
        }));
        let cm = find(&seed, "ConfigMap", "camunda-zeebe-configuration").expect("configmap");
        assert!(
            cm["data"]["startup.sh"]
                .as_str()
                .unwrap()
                .contains("    exec restore\n")
        );
        assert!(find(&seed, "ConfigMap", "camunda-zeebe-configuration-unified").is_none());
        assert!(find(&seed, "Service", "camunda-elasticsearch").is_none());
        let sts = find(&seed, "StatefulSet", "camunda-zeebe").unwrap();
        assert_eq!(
            sts["metadata"]["labels"]["helm.sh/chart"],
            "camunda-platform-14.8.4"
        );
        let env = sts["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
        for key in [
            "CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_STORE",
            "CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_CONTINUOUS",
            "CAMUNDA_DATA_SECONDARYSTORAGE_ELASTICSEARCH_BACKUP_REPOSITORYNAME",
        ] {
            assert!(env.contains(key), "{key}: {env}");
        }
        assert!(!env.contains("\"CAMUNDA_DATA_BACKUP_STORE\""), "{env}");
    }

    #[test]
    fn storage_command_gitops_and_repository_shape_the_objects() {
        let n = names(|c| {
            c.scenario.config.persistence_type = PersistenceType::Memory;
            c.scenario.config.command_override = true;
            c.scenario.config.gitops = Gitops::Argocd;
            c.scenario.config.repository_name = "other".into();
            c.scenario.config.zeebe_backup_store = false;
        });
        let seed = seed_objects(&n);
        assert!(!seed.iter().any(|o| o["kind"] == "PersistentVolumeClaim"));
        let sts = find(&seed, "StatefulSet", "camunda-zeebe").unwrap();
        assert!(sts["spec"].get("volumeClaimTemplates").is_none());
        assert_eq!(
            sts["spec"]["template"]["spec"]["volumes"][0]["emptyDir"],
            json!({})
        );
        let c = &sts["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["command"], json!(["/usr/local/camunda/bin/camunda"]));
        assert_eq!(
            c["env"],
            json!([{"name": "CAMUNDA_DATA_BACKUP_REPOSITORYNAME", "value": "other"}])
        );
        assert_eq!(
            sts["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
            "camunda:apps/StatefulSet:camunda/camunda-zeebe"
        );
        let local = names(|c| c.scenario.config.persistence_type = PersistenceType::Local);
        let sts = find(&seed_objects(&local), "StatefulSet", "camunda-zeebe").unwrap();
        assert!(sts["spec"]["template"]["spec"].get("volumes").is_none());
        let flux = names(|c| c.scenario.config.gitops = Gitops::Flux);
        let sts = find(&seed_objects(&flux), "StatefulSet", "camunda-zeebe").unwrap();
        assert_eq!(
            sts["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"],
            "camunda"
        );
        let v87 = names(|c| {
            c.camunda_version = CamundaVersion::V8_7;
            c.scenario.config.chart_version = Some("12.0.2".into());
        });
        let sts = find(&seed_objects(&v87), "StatefulSet", "camunda-zeebe").unwrap();
        assert_eq!(
            sts["metadata"]["labels"]["helm.sh/chart"],
            "camunda-platform-12.0.2"
        );
    }
}
