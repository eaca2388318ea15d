//! sim/workloads: the Camunda workloads inside the Kubernetes stand-in — the [`Reconciler`]
//! that makes the chart's StatefulSet, Deployments, pods and PVCs behave like a real cluster
//! (reference 5.1, 5.3, 3.1 steps 3-8) and couples them to the simulated components: scaling a
//! component to 0 takes its API away, deleting the broker PVCs deletes broker data, a
//! StatefulSet started with `ZEEBE_RESTORE=true` restores its brokers from a Zeebe backup. It
//! must not implement the Kubernetes HTTP protocol (that is `sim::kube`), and never holds the
//! world lock while calling into the stand-in (lock order: kube store, then world).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::kube::{self, DeleteDecision, KubeObjects, ObjectKey, Reconciler};
use super::model::{Component, Shared, World, lock};
use super::restore_app::{self, Route};
use super::{CamundaVersion, SimConfig, SimError};

/// The kubeconfig context the simulator writes.
pub const KUBE_CONTEXT: &str = "runbook-sim";

/// Starts the stand-in with the Camunda workloads and writes the kubeconfig.
pub async fn start_kube(
    config: &SimConfig,
    shared: Shared,
    kubeconfig: &Path,
) -> Result<Arc<kube::KubeHandle>, SimError> {
    let names = Names::new(config);
    let seed = seed_objects(&names);
    let reconciler = Arc::new(CamundaWorkloads::new(shared, names));
    let handle = kube::start(0, reconciler, seed)
        .await
        .map_err(SimError::Kube)?;
    handle
        .write_kubeconfig(kubeconfig, KUBE_CONTEXT, &config.namespace)
        .map_err(SimError::Kube)?;
    handle.reconcile_now();
    Ok(Arc::new(handle))
}

/// Names and facts of the chart installation (reference 5.1).
#[derive(Clone, Debug)]
pub struct Names {
    pub release: String,
    pub namespace: String,
    pub version: CamundaVersion,
    pub brokers: u32,
    pub optimize: bool,
}

impl Names {
    pub fn new(config: &SimConfig) -> Self {
        Names {
            release: config.release.clone(),
            namespace: config.namespace.clone(),
            version: config.camunda_version,
            brokers: config.brokers,
            optimize: config.optimize,
        }
    }
    pub fn statefulset(&self) -> String {
        format!("{}-zeebe", self.release)
    }
    /// Broker container: `orchestration` (8.8), `zeebe` (8.7).
    pub fn container(&self) -> &'static str {
        match self.version {
            CamundaVersion::V8_8 => "orchestration",
            CamundaVersion::V8_7 => "zeebe",
        }
    }
    /// Data mount of the broker container (reference 5.1; printed in the restore error, 6 #11).
    pub fn data_dir(&self) -> &'static str {
        match self.version {
            CamundaVersion::V8_8 => "/usr/local/camunda/data",
            CamundaVersion::V8_7 => "/usr/local/zeebe/data",
        }
    }
    pub fn pod(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.statefulset())
    }
    pub fn pvc(&self, ordinal: u32) -> String {
        format!("data-{}", self.pod(ordinal))
    }
    /// Deployments and the component each one serves.
    pub fn deployments(&self) -> Vec<(String, &'static str, Option<Component>)> {
        let r = &self.release;
        let mut out = Vec::new();
        if self.version == CamundaVersion::V8_7 {
            out.push((
                format!("{r}-zeebe-gateway"),
                "zeebe-gateway",
                Some(Component::Gateway),
            ));
            out.push((format!("{r}-operate"), "operate", Some(Component::Operate)));
            out.push((
                format!("{r}-tasklist"),
                "tasklist",
                Some(Component::Tasklist),
            ));
        }
        if self.optimize {
            out.push((
                format!("{r}-optimize"),
                "optimize",
                Some(Component::Optimize),
            ));
        }
        out.push((format!("{r}-connectors"), "connectors", None));
        out
    }
    fn image(&self, component: &str) -> String {
        let v = self.version.component_version();
        match component {
            "optimize" => format!("camunda/optimize:{}", self.version.optimize_version()),
            "connectors" => format!("camunda/connectors-bundle:{v}"),
            "operate" => format!("camunda/operate:{v}"),
            "tasklist" => format!("camunda/tasklist:{v}"),
            "zeebe-gateway" | "zeebe" => format!("camunda/zeebe:{v}"),
            _ => format!("camunda/camunda:{v}"),
        }
    }
}

fn key(group: &str, kind: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.to_string(),
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

fn labels(names: &Names, component: &str) -> Value {
    json!({
        "app": "camunda-platform",
        "app.kubernetes.io/name": "camunda-platform",
        "app.kubernetes.io/instance": names.release,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "camunda-platform",
        "app.kubernetes.io/component": component,
    })
}

fn selector(names: &Names, component: &str) -> Value {
    json!({
        "app": "camunda-platform",
        "app.kubernetes.io/name": "camunda-platform",
        "app.kubernetes.io/instance": names.release,
        "app.kubernetes.io/component": component,
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
        "metadata": {"name": name, "namespace": names.namespace, "labels": labels(names, component)},
        "spec": spec,
    })
}

fn port(name: &str, port: u16, target: u16) -> Value {
    json!({"name": name, "port": port, "protocol": "TCP", "targetPort": target})
}

/// The chart's objects at install time (reference 5.1).
pub fn seed_objects(names: &Names) -> Vec<Value> {
    let ns = &names.namespace;
    let r = &names.release;
    let sts = names.statefulset();
    let broker_env = match names.version {
        CamundaVersion::V8_8 => json!([
            {"name": "CAMUNDA_DATA_BACKUP_STORE", "value": "S3"},
            {"name": "CAMUNDA_DATA_BACKUP_REPOSITORYNAME", "value": "camunda"},
        ]),
        CamundaVersion::V8_7 => json!([
            {"name": "ZEEBE_BROKER_DATA_BACKUP_STORE", "value": "S3"},
            {"name": "ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME", "value": "camunda-backups"},
        ]),
    };
    let mut out = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": sts, "namespace": ns, "labels": labels(names, "zeebe-broker")},
            "spec": {
                "replicas": names.brokers,
                "podManagementPolicy": "Parallel",
                "serviceName": sts,
                "updateStrategy": {"type": "RollingUpdate"},
                "selector": {"matchLabels": selector(names, "zeebe-broker")},
                "template": {
                    "metadata": {"labels": selector(names, "zeebe-broker")},
                    "spec": {"containers": [{
                        "name": names.container(),
                        "image": names.image("camunda"),
                        "command": ["bash", "/usr/local/bin/startup.sh"],
                        "env": broker_env,
                        "ports": [{"name": "http", "containerPort": 9600}, {"name": "command", "containerPort": 26501}, {"name": "internal", "containerPort": 26502}],
                        "volumeMounts": [{"name": "data", "mountPath": names.data_dir()}],
                    }]},
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "32Gi"}}},
                }],
            },
        }),
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
        service(
            names,
            &format!("{r}-elasticsearch"),
            "elasticsearch",
            json!([port("tcp-rest-api", 9200, 9200)]),
            false,
        ),
    ];
    if names.version == CamundaVersion::V8_8 {
        out.push(service(
            names,
            &format!("{r}-zeebe-gateway"),
            "zeebe-broker",
            json!([
                port("http", 8080, 8080),
                port("management", 9600, 9600),
                port("grpc-api", 26500, 26500)
            ]),
            false,
        ));
        out.push(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("{r}-zeebe-configuration-unified"), "namespace": ns, "labels": labels(names, "zeebe-broker")},
            "data": {"startup.sh": "if [ \"${ZEEBE_RESTORE}\" = \"true\" ]; then\n  exec /usr/local/camunda/bin/restore --backupId=${ZEEBE_RESTORE_FROM_BACKUP_ID}\nelse\n  exec /usr/local/camunda/bin/camunda\nfi\n"},
        }));
    }
    for ordinal in 0..names.brokers {
        out.push(pvc_object(names, ordinal));
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

fn pvc_object(names: &Names, ordinal: u32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": names.pvc(ordinal), "namespace": names.namespace, "labels": selector(names, "zeebe-broker")},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "32Gi"}}, "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "32Gi"}},
    })
}

fn deployment_object(names: &Names, name: &str, component: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": names.namespace, "labels": labels(names, component)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector(names, component)},
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": selector(names, component)},
                "spec": {"containers": [{"name": component, "image": names.image(component)}]},
            },
        },
    })
}

/// What a broker's data volume holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerData {
    /// The data of the running cluster.
    Present,
    /// A fresh, empty volume.
    Empty,
    /// Restored from a Zeebe backup, not started yet.
    Restored(u64),
}

/// Where a pod's container is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Starting,
    Ready,
    /// The process exited (restore app finished or failed): CrashLoopBackOff.
    Exited,
    /// Running but never ready: the restore app ran, the command sleeps (§7.1 alternative).
    Sleeping,
}

#[derive(Clone, Debug)]
struct PodState {
    created_ms: u64,
    revision: String,
    phase: Phase,
    restarts: u32,
    /// Restore app runs so far, when the last one ended and its exit code (crash loop, §7.1).
    runs: u32,
    exited_ms: u64,
    exit_code: i32,
}

#[derive(Debug, Default)]
struct State {
    initialised: bool,
    /// The world's `broker_data_epoch` last seen (a `damage` empties every volume).
    data_epoch: u64,
    /// The volumes are empty because of a `damage`, which already wiped the world; a later
    /// restore through the control API must not be undone by wiping again.
    emptied_by_damage: bool,
    pods: BTreeMap<String, PodState>,
    brokers: BTreeMap<u32, BrokerData>,
}

/// The reconciler of the Camunda workloads.
pub struct CamundaWorkloads {
    shared: Shared,
    names: Names,
    state: Mutex<State>,
}

/// The backup every broker was restored from, if they all were restored from the same one.
pub fn restored_cluster(data: &[BrokerData]) -> Option<u64> {
    let first = match data.first()? {
        BrokerData::Restored(id) => *id,
        _ => return None,
    };
    data.iter()
        .all(|d| *d == BrokerData::Restored(first))
        .then_some(first)
}

/// A short stable hash of a pod template (the revision of a workload).
pub fn revision(template: &Value) -> String {
    let text = template.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", h & 0xff_ffff_ffff)
}

/// A container of a pod template (`null` when absent).
pub fn template_container(template: &Value, container: &str) -> Value {
    template
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// The value of an env variable on a container of a pod template.
pub fn template_env(template: &Value, container: &str, name: &str) -> Option<String> {
    template
        .pointer("/spec/containers")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))?
        .get("env")?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")
        .and_then(Value::as_str)
        .map(String::from)
}

fn replicas(obj: &Value) -> u32 {
    obj.pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .min(64) as u32
}

fn is_terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

impl CamundaWorkloads {
    pub fn new(shared: Shared, names: Names) -> Self {
        let mut state = State::default();
        for i in 0..names.brokers {
            state.brokers.insert(i, BrokerData::Present);
        }
        CamundaWorkloads {
            shared,
            names,
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brokers: pods follow replicas and the template revision; PVCs follow pods.
    fn reconcile_brokers(&self, objects: &mut KubeObjects, world: &mut World, st: &mut State) {
        let n = &self.names;
        let sts_key = key("apps", "StatefulSet", &n.namespace, &n.statefulset());
        let Some(sts) = objects.get(&sts_key).cloned() else {
            world.brokers_running = false;
            return;
        };
        let want = replicas(&sts);
        let template = sts
            .pointer("/spec/template")
            .cloned()
            .unwrap_or(Value::Null);
        let rev = revision(&template);
        let route = restore_app::route(
            &template_container(&template, n.container()),
            &world.facts.config,
            n.version,
        );
        let restore_mode = route.is_restore();
        let now = world.now_ms();
        let start_ms = world.facts.timing.pod_start_ms;
        let mut ready = 0u32;
        let mut updated = 0u32;
        self.remove_surplus_brokers(objects, st, want);
        for ordinal in 0..want {
            let pod = n.pod(ordinal);
            let pod_key = key("", "Pod", &n.namespace, &pod);
            let stale = st.pods.get(&pod).is_some_and(|p| p.revision != rev)
                || (objects.get(&pod_key).is_none() && st.pods.contains_key(&pod));
            if stale {
                // Template changed (or pod deleted): the pod is recreated, the container restarts.
                objects.remove(&pod_key);
                st.pods.remove(&pod);
            }
            self.ensure_pvc(objects, ordinal, st);
            let initial = !st.initialised;
            let starts_now = {
                let ps = st.pods.entry(pod.clone()).or_insert_with(|| PodState {
                    created_ms: now,
                    revision: rev.clone(),
                    phase: if initial {
                        Phase::Ready
                    } else {
                        Phase::Starting
                    },
                    restarts: 0,
                    runs: 0,
                    exited_ms: 0,
                    exit_code: 0,
                });
                let due = ps.phase == Phase::Starting && now >= ps.created_ms + start_ms;
                // The kubelet restarts an exited restore app (CrashLoopBackOff, §7.1).
                let restart = ps.phase == Phase::Exited
                    && matches!(route, Route::RestoreApp { .. })
                    && now
                        >= ps.exited_ms
                            + restore_app::next_run_delay(
                                world.facts.config.crash_loop_ms,
                                ps.runs,
                            );
                if due {
                    ps.phase = match route {
                        Route::Broker => Phase::Ready,
                        Route::RestoreApp { .. } => Phase::Exited,
                        Route::RestoreThenSleep { .. } => Phase::Sleeping,
                    };
                }
                due || restart
            };
            if starts_now {
                self.start_container(objects, world, st, ordinal, &route);
            }
            if let Some(ps) = st.pods.get(&pod).cloned() {
                if ps.phase == Phase::Ready {
                    ready += 1;
                }
                updated += 1;
                objects.put(self.broker_pod(&sts, ordinal, &ps, &rev));
            }
        }
        self.finish_pvc_deletions(objects, world, st);
        objects.put(sts_with_status(
            &sts,
            &n.statefulset(),
            &rev,
            updated,
            ready,
        ));
        let all_ready = want == n.brokers && ready == n.brokers && !restore_mode;
        if all_ready && !world.brokers_running {
            self.brokers_started(world, st);
        }
        world.brokers_running = all_ready;
        if n.version == CamundaVersion::V8_8 {
            world.set_up(Component::Orchestration, ready > 0 && !restore_mode);
        }
    }

    /// Parallel pod management: every pod at or above the wanted count goes at once.
    fn remove_surplus_brokers(&self, objects: &mut KubeObjects, st: &mut State, want: u32) {
        let n = &self.names;
        let prefix = format!("{}-", n.statefulset());
        let surplus: Vec<String> = objects
            .list("", "Pod", &n.namespace)
            .iter()
            .filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str))
            .filter(|p| {
                p.strip_prefix(&prefix)
                    .and_then(|o| o.parse::<u32>().ok())
                    .is_some_and(|o| o >= want)
            })
            .map(String::from)
            .collect();
        for pod in surplus {
            objects.remove(&key("", "Pod", &n.namespace, &pod));
        }
        st.pods.retain(|name, _| {
            name.strip_prefix(&prefix)
                .and_then(|o| o.parse::<u32>().ok())
                .is_none_or(|o| o < want)
        });
    }

    /// Creates the PVC of a broker from the volume claim template when missing (empty volume).
    fn ensure_pvc(&self, objects: &mut KubeObjects, ordinal: u32, st: &mut State) {
        let pvc_key = key(
            "",
            "PersistentVolumeClaim",
            &self.names.namespace,
            &self.names.pvc(ordinal),
        );
        if objects.get(&pvc_key).is_none() {
            objects.put(pvc_object(&self.names, ordinal));
            st.brokers.insert(ordinal, BrokerData::Empty);
        }
    }

    /// Removes terminating PVCs whose pod is gone; their broker data is lost.
    fn finish_pvc_deletions(&self, objects: &mut KubeObjects, world: &mut World, st: &mut State) {
        let n = &self.names;
        for ordinal in 0..n.brokers {
            let pvc_key = key("", "PersistentVolumeClaim", &n.namespace, &n.pvc(ordinal));
            let pod_key = key("", "Pod", &n.namespace, &n.pod(ordinal));
            let terminating = objects.get(&pvc_key).is_some_and(is_terminating);
            if terminating && objects.get(&pod_key).is_none() {
                objects.remove(&pvc_key);
            }
            // A missing claim (deleted now or after its pod went) means the data is gone.
            if objects.get(&pvc_key).is_none() {
                st.brokers.insert(ordinal, BrokerData::Empty);
            }
        }
        let all_empty = (0..n.brokers).all(|i| st.brokers.get(&i) == Some(&BrokerData::Empty));
        if all_empty && !world.cluster.data_wiped && !st.emptied_by_damage {
            world.cluster.wipe();
            world.zeebe.broker_data_present = false;
        }
    }

    /// A broker container starts: the broker, or the restore app (§7.1, §7.8).
    fn start_container(
        &self,
        objects: &mut KubeObjects,
        world: &mut World,
        st: &mut State,
        ordinal: u32,
        route: &Route,
    ) {
        let n = &self.names;
        let pod = n.pod(ordinal);
        let c = n.container();
        let (backup_id, echo) = match route {
            Route::Broker => {
                objects.append_log(
                    &n.namespace,
                    &pod,
                    c,
                    &format!(
                        "Starting Camunda {} broker {ordinal} (simulated)",
                        n.version.component_version()
                    ),
                );
                return;
            }
            Route::RestoreApp { backup_id } => (*backup_id, None),
            Route::RestoreThenSleep { backup_id, echo } => (*backup_id, Some(echo.clone())),
        };
        let backup_state = backup_id
            .and_then(|id| world.zeebe.backups.get(&id))
            .map(|b| b.state());
        let data = st
            .brokers
            .get(&ordinal)
            .copied()
            .unwrap_or(BrokerData::Present);
        let (new_data, lines, code) = restore_app::run(data, backup_id, backup_state, n.data_dir());
        st.brokers.insert(ordinal, new_data);
        let now = world.now_ms();
        let Some(ps) = st.pods.get_mut(&pod) else {
            return;
        };
        if let Some(echo) = echo {
            // The command keeps the container up: its current log tells the outcome.
            for line in &lines {
                objects.append_log(&n.namespace, &pod, c, line);
            }
            if let Some(echo) = echo {
                objects.append_log(&n.namespace, &pod, c, &restore_app::echo_line(&echo, code));
            }
            return;
        }
        // A later run starts a new container: its log replaces the last one's.
        if ps.runs > 0 {
            objects.rotate_log(&n.namespace, &pod, c);
        }
        for line in &lines {
            objects.append_log(&n.namespace, &pod, c, line);
        }
        // The app exits and the container waits to be restarted: the kubelet serves the last
        // terminated run both as the current and as the previous log (kubelet
        // `validateContainerLogStatus`), so both show this run until the next one ends.
        objects.rotate_log(&n.namespace, &pod, c);
        for line in &lines {
            objects.append_log(&n.namespace, &pod, c, line);
        }
        ps.runs += 1;
        ps.exited_ms = now;
        ps.exit_code = code;
        ps.phase = Phase::Exited;
        ps.restarts += 1;
    }

    /// All brokers run normally: a restored cluster takes the backup's positions; a cluster of
    /// empty volumes starts empty; the components create their schema if indices are missing.
    fn brokers_started(&self, world: &mut World, st: &mut State) {
        let data: Vec<BrokerData> = st.brokers.values().copied().collect();
        match restored_cluster(&data) {
            Some(id) => {
                world.zeebe.broker_data_present = false;
                let _ = super::zeebe::restore_brokers(world, id);
            }
            // Only volumes that were really emptied make a new cluster; brokers that merely
            // start (e.g. the first reconcile after the simulator came up) keep their data.
            None if world.cluster.data_wiped && data.contains(&BrokerData::Empty) => {
                // Fresh volumes (or a partial restore, which Zeebe cannot use): a new, empty
                // cluster; the restore oracle reports that Zeebe was not restored.
                world.cluster.data_wiped = false;
                world.cluster.restored_from = None;
                world.zeebe.broker_data_present = true;
            }
            None => {}
        }
        for d in st.brokers.values_mut() {
            *d = BrokerData::Present;
        }
        st.emptied_by_damage = false;
        world.seed_schema();
    }

    fn broker_pod(&self, sts: &Value, ordinal: u32, ps: &PodState, rev: &str) -> Value {
        let n = &self.names;
        let template = sts
            .pointer("/spec/template/spec")
            .cloned()
            .unwrap_or(json!({}));
        let mut labels = selector(n, "zeebe-broker");
        labels["statefulset.kubernetes.io/pod-name"] = json!(n.pod(ordinal));
        labels["controller-revision-hash"] = json!(format!("{}-{rev}", n.statefulset()));
        let mut spec = template;
        spec["volumes"] =
            json!([{"name": "data", "persistentVolumeClaim": {"claimName": n.pvc(ordinal)}}]);
        spec["hostname"] = json!(n.pod(ordinal));
        pod_object(
            n,
            &n.pod(ordinal),
            labels,
            spec,
            sts,
            "StatefulSet",
            ps,
            n.container(),
        )
    }

    /// Deployments: replicas → pods; a component's API is up while one of its pods is ready.
    fn reconcile_deployments(&self, objects: &mut KubeObjects, world: &mut World, st: &mut State) {
        let n = &self.names;
        let now = world.now_ms();
        let start_ms = world.facts.timing.pod_start_ms;
        for (name, component, served) in n.deployments() {
            let dkey = key("apps", "Deployment", &n.namespace, &name);
            let Some(dep) = objects.get(&dkey).cloned() else {
                if let Some(c) = served {
                    world.set_up(c, false);
                }
                continue;
            };
            let want = replicas(&dep);
            let template = dep
                .pointer("/spec/template")
                .cloned()
                .unwrap_or(Value::Null);
            let rev = revision(&template);
            let mut ready = 0u32;
            let mut count = 0u32;
            for i in 0..want.max(8) {
                let pod = format!("{name}-{rev}-{}", pod_suffix(i));
                let pod_key = key("", "Pod", &n.namespace, &pod);
                if i >= want {
                    objects.remove(&pod_key);
                    st.pods.remove(&pod);
                    continue;
                }
                let initial = !st.initialised;
                let ps = st.pods.entry(pod.clone()).or_insert_with(|| PodState {
                    created_ms: now,
                    revision: rev.clone(),
                    phase: if initial {
                        Phase::Ready
                    } else {
                        Phase::Starting
                    },
                    restarts: 0,
                    runs: 0,
                    exited_ms: 0,
                    exit_code: 0,
                });
                let became_ready = ps.phase == Phase::Starting && now >= ps.created_ms + start_ms;
                if became_ready {
                    ps.phase = Phase::Ready;
                }
                let ps = ps.clone();
                if became_ready {
                    objects.append_log(
                        &n.namespace,
                        &pod,
                        component,
                        &format!("Started {component} (simulated)"),
                    );
                    if component == "optimize" {
                        world.seed_schema();
                    }
                }
                if ps.phase == Phase::Ready {
                    ready += 1;
                }
                count += 1;
                let mut labels = selector(n, component);
                labels["pod-template-hash"] = json!(rev);
                let spec = template.get("spec").cloned().unwrap_or(json!({}));
                objects.put(pod_object(
                    n,
                    &pod,
                    labels,
                    spec,
                    &dep,
                    "ReplicaSet",
                    &ps,
                    component,
                ));
            }
            // Pods of older revisions go away.
            let prefix = format!("{name}-");
            let old: Vec<String> = objects
                .list("", "Pod", &n.namespace)
                .iter()
                .filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str))
                .filter(|p| p.starts_with(&prefix) && !p.starts_with(&format!("{name}-{rev}-")))
                .filter(|p| p.len() == prefix.len() + 10 + 1 + 5)
                .map(String::from)
                .collect();
            for p in old {
                objects.remove(&key("", "Pod", &n.namespace, &p));
                st.pods.remove(&p);
            }
            let generation = dep
                .pointer("/metadata/generation")
                .cloned()
                .unwrap_or(json!(1));
            let mut with_status = dep.clone();
            with_status["status"] = json!({
                "observedGeneration": generation,
                "replicas": count,
                "updatedReplicas": count,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "conditions": [{"type": "Available", "status": if ready >= want { "True" } else { "False" }}],
            });
            objects.put(with_status);
            if let Some(c) = served {
                world.set_up(c, ready > 0);
            }
        }
    }
}

/// The StatefulSet with the status kubectl's `rollout status` reads (reference 5.3).
fn sts_with_status(sts: &Value, name: &str, rev: &str, pods: u32, ready: u32) -> Value {
    let mut out = sts.clone();
    let generation = sts
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let revision_name = format!("{name}-{rev}");
    out["status"] = json!({
        "observedGeneration": generation,
        "replicas": pods,
        "readyReplicas": ready,
        "currentReplicas": pods,
        "updatedReplicas": pods,
        "availableReplicas": ready,
        "currentRevision": revision_name,
        "updateRevision": revision_name,
        "collisionCount": 0,
    });
    out
}

/// A 5-character pod name suffix, deterministic per index.
fn pod_suffix(i: u32) -> String {
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = (i as u64 + 7) * 2_654_435_761;
    (0..5)
        .map(|_| {
            let c = alphabet[(x % alphabet.len() as u64) as usize] as char;
            x /= alphabet.len() as u64;
            c
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn pod_object(
    n: &Names,
    name: &str,
    labels: Value,
    spec: Value,
    owner: &Value,
    owner_kind: &str,
    ps: &PodState,
    container: &str,
) -> Value {
    let ready = ps.phase == Phase::Ready;
    let state = match ps.phase {
        Phase::Ready | Phase::Sleeping => {
            json!({"running": {"startedAt": "2025-01-01T00:00:00Z"}})
        }
        Phase::Starting => json!({"waiting": {"reason": "ContainerCreating"}}),
        Phase::Exited => {
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}})
        }
    };
    let mut status = json!({
        "phase": if ps.phase == Phase::Starting { "Pending" } else { "Running" },
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
        "containerStatuses": [{"name": container, "ready": ready, "restartCount": ps.restarts, "state": state}],
        "podIP": "10.0.0.1",
    });
    if ps.phase == Phase::Exited {
        let reason = if ps.exit_code == 0 {
            "Completed"
        } else {
            "Error"
        };
        status["containerStatuses"][0]["lastState"] =
            json!({"terminated": {"exitCode": ps.exit_code, "reason": reason}});
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": n.namespace, "labels": labels,
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": owner_kind,
                "name": owner.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
                "uid": owner.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
                "controller": true,
            }],
        },
        "spec": spec,
        "status": status,
    })
}

impl Reconciler for CamundaWorkloads {
    fn reconcile(&self, objects: &mut KubeObjects) {
        let mut world = lock(&self.shared);
        let mut st = self.state();
        if st.data_epoch != world.broker_data_epoch {
            st.data_epoch = world.broker_data_epoch;
            st.emptied_by_damage = true;
            for d in st.brokers.values_mut() {
                *d = BrokerData::Empty;
            }
        }
        self.reconcile_brokers(objects, &mut world, &mut st);
        self.reconcile_deployments(objects, &mut world, &mut st);
        st.initialised = true;
    }

    /// PVCs in use by a pod wait for the pod (`kubernetes.io/pvc-protection`).
    fn on_delete(&self, objects: &KubeObjects, k: &ObjectKey) -> DeleteDecision {
        if k.kind != "PersistentVolumeClaim" || k.namespace != self.names.namespace {
            return DeleteDecision::Now;
        }
        let pod = k.name.strip_prefix("data-").unwrap_or("");
        let in_use = objects
            .get(&key("", "Pod", &self.names.namespace, pod))
            .is_some();
        if in_use {
            DeleteDecision::Defer
        } else {
            DeleteDecision::Now
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::new(&SimConfig::default())
    }

    #[test]
    fn chart_names() {
        let n = names();
        assert_eq!(n.statefulset(), "camunda-zeebe");
        assert_eq!(n.pod(2), "camunda-zeebe-2");
        assert_eq!(n.pvc(0), "data-camunda-zeebe-0");
        assert_eq!(n.container(), "orchestration");
        let deps: Vec<String> = n.deployments().into_iter().map(|d| d.0).collect();
        assert_eq!(deps, vec!["camunda-optimize", "camunda-connectors"]);
        let n87 = Names {
            version: CamundaVersion::V8_7,
            ..names()
        };
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
    fn seed_has_the_chart_objects() {
        let seed = seed_objects(&names());
        let find = |kind: &str, name: &str| {
            seed.iter()
                .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
                .cloned()
        };
        let sts = find("StatefulSet", "camunda-zeebe").expect("statefulset");
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
            sts["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"],
            "zeebe-broker"
        );
        for i in 0..3 {
            assert!(find("PersistentVolumeClaim", &format!("data-camunda-zeebe-{i}")).is_some());
        }
        assert!(find("Deployment", "camunda-optimize").is_some());
        assert!(find("Service", "camunda-zeebe-gateway").is_some());
        assert!(find("ConfigMap", "camunda-zeebe-configuration-unified").is_some());
        let opt = find("Service", "camunda-optimize").unwrap();
        assert_eq!(opt["spec"]["ports"][1]["targetPort"], 8092);
    }

    #[test]
    fn only_a_complete_restore_counts() {
        use BrokerData::*;
        assert_eq!(restored_cluster(&[Restored(3), Restored(3)]), Some(3));
        assert_eq!(restored_cluster(&[Restored(3), Present]), None);
        assert_eq!(restored_cluster(&[Restored(3), Restored(4)]), None);
        assert_eq!(restored_cluster(&[Empty, Empty]), None);
        assert_eq!(restored_cluster(&[]), None);
    }

    #[test]
    fn env_and_revision() {
        let t = json!({"spec": {"containers": [{"name": "orchestration", "env": [{"name": "ZEEBE_RESTORE", "value": "true"}]}]}});
        assert_eq!(
            template_env(&t, "orchestration", "ZEEBE_RESTORE").as_deref(),
            Some("true")
        );
        assert_eq!(template_env(&t, "zeebe", "ZEEBE_RESTORE"), None);
        let t2 = json!({"spec": {"containers": [{"name": "orchestration"}]}});
        assert_ne!(revision(&t), revision(&t2));
        assert_eq!(revision(&t), revision(&t.clone()));
        assert_eq!(revision(&t).len(), 10);
        assert_eq!(pod_suffix(0).len(), 5);
    }
}
