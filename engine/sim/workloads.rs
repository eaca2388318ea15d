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

use super::chart::{Names, key, pvc_object, seed_objects, selector};
use super::kube::{self, DeleteDecision, KubeObjects, ObjectKey, Reconciler};
use super::model::{Component, Shared, World, lock};
use super::restore_app::{self, Route};
use super::{SimConfig, SimError};

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
    /// The world's `in_place_restore_epoch` last seen (a Restore-API restore refills them).
    restore_epoch: u64,
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
                if !n.disk() {
                    st.brokers.insert(ordinal, BrokerData::Empty);
                }
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
        if n.version.orchestration_cluster() {
            world.set_up(Component::Orchestration, ready > 0 && !restore_mode);
            // 8.10: the REST API is the same gateway's http port (reference 8.9-8.10 §5).
            world.set_up(Component::Rest, ready > 0 && !restore_mode);
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
        if !n.disk() {
            // emptyDir or the container's own filesystem: gone with the pod (§7.7).
            for ordinal in want..n.brokers {
                st.brokers.insert(ordinal, BrokerData::Empty);
            }
        }
        st.pods.retain(|name, _| {
            name.strip_prefix(&prefix)
                .and_then(|o| o.parse::<u32>().ok())
                .is_none_or(|o| o < want)
        });
    }

    /// Creates the PVC of a broker from the volume claim template when missing (empty volume).
    fn ensure_pvc(&self, objects: &mut KubeObjects, ordinal: u32, st: &mut State) {
        if !self.names.disk() {
            return;
        }
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
        for ordinal in (0..n.brokers).filter(|_| n.disk()) {
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
        if n.disk() {
            spec["volumes"] =
                json!([{"name": "data", "persistentVolumeClaim": {"claimName": n.pvc(ordinal)}}]);
        }
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
        if st.restore_epoch != world.in_place_restore_epoch {
            // 8.10's Restore API wrote the backup onto the running brokers' volumes.
            st.restore_epoch = world.in_place_restore_epoch;
            st.emptied_by_damage = false;
            for d in st.brokers.values_mut() {
                *d = BrokerData::Present;
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
