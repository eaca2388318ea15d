//! The test harness: starts a stand-in seeded like the Camunda 8.8 Helm chart (namespace and
//! release `camunda`, reference section 5.1) with the test reconciler, and runs the real
//! kubectl against it with a private kubeconfig, cache dir and HOME, each call under a time
//! limit (the process is killed when it runs over).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::reconciler::TestCluster;
use crate::kube::{KubeHandle, ObjectKey, start};

/// How long one kubectl call may take.
pub const LIMIT: Duration = Duration::from_secs(20);

/// What a kubectl call did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A running stand-in and a kubectl set up for it.
pub struct Cluster {
    pub handle: KubeHandle,
    pub rules: Arc<TestCluster>,
    dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start() -> Self {
        let rules = Arc::new(TestCluster::default());
        let handle = start(0, rules.clone(), seed())
            .await
            .expect("start the stand-in");
        let dir = tempfile::tempdir().expect("temp dir");
        handle
            .write_kubeconfig(&dir.path().join("kubeconfig"), "sim", "camunda")
            .expect("write kubeconfig");
        Cluster { handle, rules, dir }
    }

    /// The kubectl command with this cluster's kubeconfig and a fresh cache (`-n` comes from
    /// the kubeconfig context, as in the plans; tests pass `-n camunda` anyway).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        let path = self.dir.path();
        cmd.arg("--kubeconfig")
            .arg(path.join("kubeconfig"))
            .arg("--cache-dir")
            .arg(path.join("cache"))
            .args(["-n", "camunda"])
            .args(args)
            .env("HOME", path)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs kubectl to the end (or kills it after [`LIMIT`], then panics).
    pub async fn kubectl(&self, args: &[&str]) -> Run {
        let child = self.command(args).spawn().expect("spawn kubectl");
        finish(child, args).await
    }

    /// Starts kubectl in the background (a command expected to wait).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("spawn kubectl")
    }

    /// Waits until a kubectl started in the background has opened a watch (so it has done
    /// its request and list, and waits for changes).
    pub async fn until_watching(&self) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        while self.handle.open_watches() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "kubectl never started watching"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A stored object.
    pub fn object(&self, group: &str, kind: &str, name: &str) -> Option<Value> {
        let key = ObjectKey::new(group, kind, "camunda", name);
        self.handle.with_objects(|o| o.get(&key).cloned())
    }

    /// Names of the stored objects of a kind in `camunda`.
    pub fn names(&self, group: &str, kind: &str) -> Vec<String> {
        self.handle.with_objects(|o| {
            o.list(group, kind, "camunda")
                .into_iter()
                .filter_map(|v| v.pointer("/metadata/name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
    }

    /// Sets `spec.replicas` of a StatefulSet directly and reconciles (what another client
    /// would do), for tests that need a change while kubectl waits.
    pub fn set_replicas(&self, name: &str, replicas: i64) {
        self.handle.with_objects(|o| {
            let key = ObjectKey::new("apps", "StatefulSet", "camunda", name);
            let mut sts = o.get(&key).cloned().expect("statefulset");
            sts["spec"]["replicas"] = json!(replicas);
            o.put(sts);
        });
        self.handle.reconcile_now();
    }
}

/// The stdout of a kubectl started in the background, read as it comes, so a test waits for
/// the output it expects instead of sleeping and hoping kubectl has printed it.
pub struct Streamed {
    pub child: Child,
    reader: tokio::io::BufReader<tokio::process::ChildStdout>,
    /// Everything read so far.
    pub text: String,
}

impl Streamed {
    pub fn new(mut child: Child) -> Self {
        let stdout = child.stdout.take().expect("piped stdout");
        Streamed {
            child,
            reader: tokio::io::BufReader::new(stdout),
            text: String::new(),
        }
    }

    /// Reads lines until `done(text)` holds; panics at [`LIMIT`] or when stdout ends first.
    pub async fn until(&mut self, what: &str, done: impl Fn(&str) -> bool) {
        use tokio::io::AsyncBufReadExt;
        let deadline = tokio::time::Instant::now() + LIMIT;
        while !done(&self.text) {
            let mut line = String::new();
            let read = tokio::time::timeout_at(deadline, self.reader.read_line(&mut line)).await;
            let Ok(read) = read else {
                panic!(
                    "{what}: not within {LIMIT:?}; stdout so far:\n{}",
                    self.text
                )
            };
            let n = read.expect("read kubectl stdout");
            assert!(n > 0, "{what}: stdout ended; it was:\n{}", self.text);
            self.text.push_str(&line);
        }
    }

    /// Reads stdout to the end and waits for the exit (bounded by [`LIMIT`]); returns the
    /// exit code and all of stdout.
    pub async fn finish(mut self) -> (Option<i32>, String) {
        use tokio::io::AsyncReadExt;
        let rest = async {
            let mut tail = String::new();
            self.reader
                .read_to_string(&mut tail)
                .await
                .expect("read kubectl stdout");
            let status = self.child.wait().await.expect("wait for kubectl");
            (status.code(), tail)
        };
        let (code, tail) = tokio::time::timeout(LIMIT, rest)
            .await
            .expect("kubectl did not finish in time");
        (code, self.text + &tail)
    }
}

/// Waits for a started kubectl with the time limit.
pub async fn finish(child: Child, args: &[&str]) -> Run {
    match tokio::time::timeout(LIMIT, child.wait_with_output()).await {
        Ok(Ok(out)) => Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        // The child is dropped with the future and killed (kill_on_drop).
        Ok(Err(e)) => panic!("kubectl {args:?} failed to run: {e}"),
        Err(_) => panic!("kubectl {args:?} did not finish within {LIMIT:?}"),
    }
}

/// Asserts exit code 0 and returns stdout.
pub fn ok(run: Run) -> String {
    assert_eq!(run.code, Some(0), "kubectl failed: {run:#?}");
    run.stdout
}

fn labels(component: &str) -> Value {
    json!({
        "app": "camunda-platform",
        "app.kubernetes.io/name": "camunda-platform",
        "app.kubernetes.io/instance": "camunda",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "camunda-platform",
        "app.kubernetes.io/component": component
    })
}

/// The chart's selector labels (a subset of the common labels).
fn selector(component: &str) -> Value {
    json!({
        "app": "camunda-platform",
        "app.kubernetes.io/name": "camunda-platform",
        "app.kubernetes.io/instance": "camunda",
        "app.kubernetes.io/part-of": "camunda-platform",
        "app.kubernetes.io/component": component
    })
}

fn service(name: &str, component: &str, ports: Value) -> Value {
    // The broker service is headless in the chart.
    let cluster_ip = if name == "camunda-zeebe" {
        "None"
    } else {
        "10.96.0.10"
    };
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "camunda", "labels": labels(component)},
        "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "selector": selector(component), "ports": ports}
    })
}

/// The Camunda 8.8 chart's objects that the plans touch.
pub fn seed() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "camunda"}, "status": {"phase": "Active"}}),
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "camunda-zeebe", "namespace": "camunda", "labels": labels("zeebe-broker")},
            "spec": {
                "replicas": 3,
                "podManagementPolicy": "Parallel",
                "updateStrategy": {"type": "RollingUpdate"},
                "serviceName": "camunda-zeebe",
                "selector": {"matchLabels": selector("zeebe-broker")},
                "template": {
                    "metadata": {"labels": labels("zeebe-broker")},
                    "spec": {"containers": [{
                        "name": "orchestration",
                        "image": "camunda/camunda:8.8.0",
                        "command": ["bash", "/usr/local/bin/startup.sh"],
                        "env": [{"name": "CAMUNDA_CLUSTER_SIZE", "value": "3"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/usr/local/camunda/data"}]
                    }]}
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
                }]
            }
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "camunda-optimize", "namespace": "camunda", "labels": labels("optimize")},
            "spec": {
                "replicas": 1,
                "strategy": {"type": "RollingUpdate"},
                "selector": {"matchLabels": selector("optimize")},
                "template": {
                    "metadata": {"labels": labels("optimize")},
                    "spec": {"containers": [{"name": "optimize", "image": "camunda/optimize:8.8.0"}]}
                }
            }
        }),
        service(
            "camunda-zeebe",
            "zeebe-broker",
            json!([
                {"name": "internal", "port": 26502, "protocol": "TCP"},
                {"name": "command", "port": 26501, "protocol": "TCP"},
                {"name": "management", "port": 9600, "protocol": "TCP"}
            ]),
        ),
        service(
            "camunda-zeebe-gateway",
            "zeebe-broker",
            json!([
                {"name": "http", "port": 8080, "protocol": "TCP"},
                {"name": "management", "port": 9600, "protocol": "TCP"},
                {"name": "grpc-api", "port": 26500, "protocol": "TCP"}
            ]),
        ),
        service(
            "camunda-optimize",
            "optimize",
            json!([
                {"name": "http", "port": 80, "targetPort": 8090, "protocol": "TCP"},
                {"name": "management", "port": 8092, "targetPort": 8092, "protocol": "TCP"}
            ]),
        ),
    ]
}
