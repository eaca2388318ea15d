//! Tests for the port-forward manager. The real kubectl cannot port-forward without an API server
//! implementing the streaming protocol, so these use a fake `kubectl` (python3) that prints the
//! `Forwarding from` line and serves HTTP itself on the local port.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::executor::{
    ActionRequest, Executor, ExecutorConfig, Executors, HttpRequest, KubectlTarget, PortForwardSpec,
};

/// Every test is bounded; a hang fails instead of stalling the suite.
async fn bounded<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("test timed out")
}

/// Writes the fake kubectl into `dir`. It appends its argv to `dir/starts`, fails when
/// `dir/fail` exists, and otherwise serves `{"pid", "remote", "resource", "path"}` as JSON;
/// `GET /close-listener` makes it stop listening while staying alive.
fn fake_kubectl(dir: &Path) -> PathBuf {
    let script = format!(
        r#"#!/usr/bin/env python3
import http.server, json, os, sys, threading, time
STATE = {state:?}
args = sys.argv[1:]
with open(os.path.join(STATE, "starts"), "a") as f:
    f.write(json.dumps(args) + "\n")
if os.path.exists(os.path.join(STATE, "fail")):
    sys.stderr.write("error: simulated port-forward failure\n")
    sys.exit(1)
i = args.index("port-forward")
resource = args[i + 1]
local, remote = args[i + 2].split(":")
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/close-listener":
            # Stay alive but stop listening: a forward that runs yet refuses connections.
            threading.Thread(target=server.shutdown).start()
        body = json.dumps({{"pid": os.getpid(), "remote": int(remote),
                           "resource": resource, "path": self.path}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(local)), Handler)
time.sleep(0.3)  # a slow start, so that concurrent first users really overlap
print("Forwarding from 127.0.0.1:%d -> %s" % (server.server_address[1], remote), flush=True)
print("Forwarding from [::1]:%d -> %s" % (server.server_address[1], remote), flush=True)
server.serve_forever()
server.server_close()
time.sleep(3600)
"#,
        state = dir.display().to_string()
    );
    let path = dir.join("kubectl");
    std::fs::write(&path, script).expect("write fake kubectl");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn starts(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("starts"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("argv json"))
        .collect()
}

fn spec() -> PortForwardSpec {
    PortForwardSpec {
        kubectl: KubectlTarget {
            context: Some("kind-camunda".into()),
            namespace: Some("camunda".into()),
            kubeconfig: None,
        },
        resource: "services/camunda-zeebe-gateway".into(),
        remote_port: 8080,
        local_port: 0,
    }
}

fn forwarded_request() -> ActionRequest {
    let mut req = HttpRequest::new("GET", "http://camunda-zeebe-gateway:8080/v2/topology");
    req.port_forward = Some(spec());
    ActionRequest::Http(req)
}

fn executors(kubectl: PathBuf) -> Executors {
    Executors::new(ExecutorConfig {
        kubectl_path: kubectl,
        executor_search_path: None,
        child_record: None,
    })
}

/// Whether `pid` is still a live (not zombie) process.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
    }
}

/// Waits for the condition with a generous deadline (a loaded machine reaps late); this
/// times nothing, it only bounds the wait.
async fn eventually_not_running(pid: u32) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    !running(pid)
}

async fn pid_of(exec: &Executors, request: &ActionRequest) -> u32 {
    let result = exec
        .execute(request, &CancellationToken::new())
        .await
        .expect("forwarded request");
    assert_eq!(result.value["body"]["path"], "/v2/topology");
    assert_eq!(result.value["body"]["remote"], 8080);
    result.value["body"]["pid"]
        .as_u64()
        .and_then(|pid| u32::try_from(pid).ok())
        .expect("pid")
}

#[tokio::test]
async fn executor_port_forward_started_once_for_concurrent_users_and_torn_down() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let exec = executors(fake_kubectl(dir.path()));
        let request = forwarded_request();
        let pids = futures::future::join_all((0..5).map(|_| pid_of(&exec, &request))).await;
        assert!(pids.iter().all(|pid| *pid == pids[0]), "{pids:?}");
        let argv = starts(dir.path());
        assert_eq!(argv.len(), 1, "one forward for concurrent users: {argv:?}");
        assert_eq!(
            argv[0],
            [
                "--context=kind-camunda",
                "--namespace=camunda",
                "port-forward",
                "services/camunda-zeebe-gateway",
                "0:8080",
                "--address=127.0.0.1",
            ]
        );
        assert_eq!(exec.forwards.pid(&spec()).await, Some(pids[0]));
        assert!(running(pids[0]));

        exec.shutdown().await;
        assert!(!running(pids[0]), "forward survived shutdown");
        exec.shutdown().await; // idempotent
        let err = exec
            .execute(&request, &CancellationToken::new())
            .await
            .expect_err("shut down");
        assert!(matches!(err, StepError::PortForward { .. }), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn executor_port_forward_restarted_after_the_child_died() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let exec = executors(fake_kubectl(dir.path()));
        let request = forwarded_request();
        let first = pid_of(&exec, &request).await;
        let killed = tokio::process::Command::new("kill")
            .args(["-KILL", &first.to_string()])
            .status()
            .await
            .expect("kill");
        assert!(killed.success());
        // Our child: it stays a zombie until reaped, which `running` treats as dead.
        assert!(eventually_not_running(first).await);
        let second = pid_of(&exec, &request).await;
        assert_ne!(first, second);
        assert_eq!(starts(dir.path()).len(), 2);
        assert_eq!(
            pid_of(&exec, &request).await,
            second,
            "reused after restart"
        );
        exec.shutdown().await;
        assert!(!running(second));
    })
    .await;
}

#[tokio::test]
async fn executor_port_forward_refusing_connections_is_replaced() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let exec = executors(fake_kubectl(dir.path()));
        let first = pid_of(&exec, &forwarded_request()).await;
        let mut close = HttpRequest::new("GET", "http://zeebe:8080/close-listener");
        close.port_forward = Some(spec());
        let close = ActionRequest::Http(close);
        exec.execute(&close, &CancellationToken::new())
            .await
            .expect("close the listener");
        // The listener closes asynchronously; the next attempts get refused until then.
        let mut refused = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while tokio::time::Instant::now() < deadline {
            match exec
                .execute(&forwarded_request(), &CancellationToken::new())
                .await
            {
                Err(err) => {
                    refused = Some(err);
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        let refused = refused.expect("connection refused");
        assert!(
            // Connect when the listener is gone; a reset (Other) when it closes mid-request
            // under load. Both are transport failures.
            matches!(refused, StepError::Transport { .. }),
            "{refused:?}"
        );
        assert!(refused.retryable());
        assert!(
            eventually_not_running(first).await,
            "broken forward not stopped"
        );
        let second = pid_of(&exec, &forwarded_request()).await;
        assert_ne!(first, second);
        assert_eq!(starts(dir.path()).len(), 2);
        exec.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn executor_port_forward_start_failure_is_retryable_and_keeps_stderr() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("fail"), "").expect("write");
        let exec = executors(fake_kubectl(dir.path()));
        let err = exec
            .execute(&forwarded_request(), &CancellationToken::new())
            .await
            .expect_err("start fails");
        assert!(matches!(err, StepError::PortForward { .. }), "{err:?}");
        assert!(
            err.to_string().contains("simulated port-forward failure"),
            "{err}"
        );
        assert!(err.retryable());
        // The next use tries again.
        std::fs::remove_file(dir.path().join("fail")).expect("remove");
        pid_of(&exec, &forwarded_request()).await;
        assert_eq!(starts(dir.path()).len(), 2);
        exec.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn executor_port_forward_killed_when_dropped() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let exec = executors(fake_kubectl(dir.path()));
        let pid = pid_of(&exec, &forwarded_request()).await;
        drop(exec);
        assert!(eventually_not_running(pid).await, "forward survived drop");
    })
    .await;
}

#[tokio::test]
async fn executor_port_forward_cancel_while_starting() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let exec = executors(fake_kubectl(dir.path()));
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = exec
            .execute(&forwarded_request(), &cancel)
            .await
            .expect_err("cancelled");
        assert!(matches!(err, StepError::Cancelled), "{err:?}");
        exec.shutdown().await;
    })
    .await;
}

#[test]
fn executor_port_forward_parses_the_forwarding_line() {
    assert_eq!(
        parse_forwarding_line("Forwarding from 127.0.0.1:43117 -> 8080\n"),
        Some(43117)
    );
    // A service port 80 forwarded to its container port 8080.
    assert_eq!(
        parse_forwarding_line("Forwarding from 127.0.0.1:43117 -> 8080"),
        Some(43117)
    );
    assert_eq!(
        parse_forwarding_line("Forwarding from [::1]:43117 -> 8080"),
        None
    );
    assert_eq!(parse_forwarding_line("Handling connection for 43117"), None);
    assert_eq!(
        parse_forwarding_line("Forwarding from 127.0.0.1:x -> 8080"),
        None
    );
    assert_eq!(
        parse_forwarding_line("Forwarding from 127.0.0.1:0 -> 8080"),
        None
    );
}

/// A run killed before it could tear its forwards down: the record lets `recover` stop the
/// very process it started, and nothing else.
#[tokio::test]
async fn executor_port_forward_children_are_recorded_for_recover() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let record = dir.path().join("children");
        let exec = Executors::new(ExecutorConfig {
            kubectl_path: fake_kubectl(dir.path()),
            executor_search_path: None,
            child_record: Some(record.clone()),
        });
        let pid = pid_of(&exec, &forwarded_request()).await;
        let text = std::fs::read_to_string(&record).expect("recorded");
        assert!(text.starts_with(&format!("{pid} ")), "{text}");
        // As if the run died: the child is still there, and recover stops it.
        assert!(running(pid));
        let stopped = crate::executor::child_record::stop_leftovers(&record);
        assert_eq!(stopped, vec![pid]);
        assert!(eventually_not_running(pid).await);
        // A recorded pid now running something else (here: this test), or a line without the
        // port-forward verb: nothing matches, nothing is killed.
        std::fs::write(
            &record,
            format!(
                "{me} /bin/not-this\u{1f}port-forward\u{1f}x\n{me} x\n",
                me = std::process::id()
            ),
        )
        .expect("write");
        assert!(crate::executor::child_record::stop_leftovers(&record).is_empty());
        exec.shutdown().await;
    })
    .await;
}
