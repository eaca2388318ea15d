//! Tests for the kubectl executor with the REAL `kubectl` binary. They need no cluster: they use
//! client-only commands, a kubeconfig written to a temp dir, and loopback listeners.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::executor::{ExecutorOptions, KubectlTarget};

/// Every test is bounded; a hang fails instead of stalling the suite.
async fn bounded<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("test timed out")
}

fn kubectl() -> KubectlExecutor {
    KubectlExecutor::new(PathBuf::from("kubectl"), ExecutorOptions::default())
}

/// A kubeconfig with two contexts on a cluster at `server`.
fn write_kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join("kubeconfig.yaml");
    let text = format!(
        "apiVersion: v1\nkind: Config\n\
         clusters:\n- name: c1\n  cluster:\n    server: {server}\n\
         contexts:\n\
         - name: ctx-a\n  context: {{cluster: c1, user: u1, namespace: ns-a}}\n\
         - name: ctx-b\n  context: {{cluster: c1, user: u1, namespace: ns-b}}\n\
         current-context: ctx-a\n\
         users:\n- name: u1\n  user: {{token: not-a-real-token}}\n"
    );
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

async fn run(exec: &KubectlExecutor, req: &KubectlRequest) -> Result<ActionResult, StepError> {
    exec.execute(req, &CancellationToken::new()).await
}

#[tokio::test]
async fn executor_kubectl_version_stdout_is_json() {
    bounded(async {
        let req = KubectlRequest::new(["version", "--client", "-o", "json"]);
        let result = run(&kubectl(), &req).await.expect("kubectl version");
        assert_eq!(result.value["exit_code"], 0);
        assert!(
            result.value["stdout"]["clientVersion"]["gitVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with('v')),
            "{}",
            result.value
        );
        assert!(result.value["stderr"].is_string());
    })
    .await;
}

#[tokio::test]
async fn executor_kubectl_text_stdout_stays_text() {
    bounded(async {
        let req = KubectlRequest::new(["version", "--client"]);
        let result = run(&kubectl(), &req).await.expect("kubectl version");
        let stdout = result.value["stdout"].as_str().expect("text stdout");
        assert!(stdout.contains("Client Version"), "{stdout}");
    })
    .await;
}

#[tokio::test]
async fn executor_kubectl_target_flags_land() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = write_kubeconfig(dir.path(), "http://127.0.0.1:1");
        let mut req = KubectlRequest::new(["config", "view", "--minify", "-o", "json"]);
        req.target = KubectlTarget {
            context: Some("ctx-b".into()),
            namespace: Some("ns-x".into()),
            kubeconfig: Some(kubeconfig),
        };
        let result = run(&kubectl(), &req).await.expect("config view");
        let config = &result.value["stdout"];
        assert_eq!(config["current-context"], "ctx-b", "{config}");
        assert_eq!(config["contexts"][0]["name"], "ctx-b");
        assert_eq!(config["contexts"][0]["context"]["namespace"], "ns-b");

        // `config view` ignores --namespace; a client-side dry run shows it landed.
        req.args = [
            "create",
            "configmap",
            "x",
            "--from-literal=a=b",
            "--dry-run=client",
            "-o",
            "json",
        ]
        .map(String::from)
        .to_vec();
        let result = run(&kubectl(), &req).await.expect("dry run");
        assert_eq!(result.value["stdout"]["metadata"]["namespace"], "ns-x");
        assert_eq!(result.value["stdout"]["data"], json!({"a": "b"}));
    })
    .await;
}

#[tokio::test]
async fn executor_kubectl_stdin_is_passed() {
    bounded(async {
        let mut req = KubectlRequest::new([
            "create",
            "secret",
            "generic",
            "x",
            "--from-file=data=/dev/stdin",
            "--dry-run=client",
            "-o",
            "json",
        ]);
        req.stdin = Some("s3cret-hello".into());
        let result = run(&kubectl(), &req).await.expect("secret from stdin");
        // base64("s3cret-hello")
        assert_eq!(result.value["stdout"]["data"]["data"], "czNjcmV0LWhlbGxv");
        assert!(!format!("{req:?}").contains("s3cret"), "Debug leaks stdin");
    })
    .await;
}

#[tokio::test]
async fn executor_kubectl_failure_keeps_stderr_and_is_not_retryable() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut req = KubectlRequest::new(["config", "use-context", "does-not-exist"]);
        req.target.kubeconfig = Some(write_kubeconfig(dir.path(), "http://127.0.0.1:1"));
        let err = run(&kubectl(), &req).await.expect_err("unknown context");
        match &err {
            StepError::Kubectl {
                exit_code,
                stderr_tail,
                result,
            } => {
                assert_eq!(*exit_code, Some(1));
                assert!(stderr_tail.contains("does-not-exist"), "{stderr_tail}");
                let result = result.as_ref().expect("result");
                assert_eq!(result.value["exit_code"], 1);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.retryable());
        assert!(err.result().is_some());

        // The same exit code, expected, is a success.
        req.expect_exit = vec![1];
        let result = run(&kubectl(), &req).await.expect("exit 1 expected");
        assert_eq!(result.value["exit_code"], 1);
    })
    .await;
}

#[tokio::test]
async fn executor_kubectl_unreachable_api_server_is_retryable() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        // Port 1: privileged and outside the ephemeral range, so no other test's `bind(:0)`
        // can take it (a freed ephemeral port could be handed to a parallel test, and kubectl
        // then talked to that server: the flake seen under load). The request timeout is
        // generous: a refused connection is immediate, a loaded machine only starts slowly.
        let mut req = KubectlRequest::new(["get", "pods", "--request-timeout=20s"]);
        req.target.kubeconfig = Some(write_kubeconfig(dir.path(), "http://127.0.0.1:1"));
        let err = run(&kubectl(), &req).await.expect_err("connection refused");
        assert!(err.retryable(), "{err:?}");
        assert!(
            !err.reached(),
            "a refused connection reached nothing: {err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn executor_kubectl_missing_binary_is_a_spawn_error() {
    bounded(async {
        let exec = KubectlExecutor::new(
            PathBuf::from("/nonexistent/kubectl"),
            ExecutorOptions::default(),
        );
        let err = run(&exec, &KubectlRequest::new(["version"]))
            .await
            .expect_err("missing");
        assert!(matches!(err, StepError::Spawn { .. }), "{err:?}");
        assert!(err.to_string().contains("RUNBOOK_KUBECTL"), "{err}");
        assert!(!err.retryable());
    })
    .await;
}

#[tokio::test]
async fn executor_kubectl_output_is_capped() {
    bounded(async {
        let exec = KubectlExecutor::new(
            PathBuf::from("kubectl"),
            ExecutorOptions {
                max_output_bytes: 64,
                ..ExecutorOptions::default()
            },
        );
        let req = KubectlRequest::new(["version", "--client", "-o", "json"]);
        let err = run(&exec, &req).await.expect_err("too much output");
        assert!(
            matches!(err, StepError::OutputTooLarge { limit: 64, .. }),
            "{err:?}"
        );
    })
    .await;
}

/// Pids of processes whose command line contains `marker`.
fn pids_with(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(marker)
                .then_some(pid)
        })
        .collect()
}

#[tokio::test]
async fn executor_kubectl_cancel_kills_the_child() {
    bounded(async {
        // An API server that accepts connections, says when one arrived, and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (arrived, mut connected) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                let _ = arrived.send(());
            }
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = write_kubeconfig(dir.path(), &format!("http://{addr}"));
        let marker = kubeconfig.display().to_string();
        let mut req = KubectlRequest::new(["get", "pods", "--request-timeout=0", "-w"]);
        req.target.kubeconfig = Some(kubeconfig);

        let exec = kubectl();
        let cancel = CancellationToken::new();
        let run = exec.execute(&req, &cancel);
        tokio::pin!(run);
        // Drive kubectl until it is blocked on the silent server (its connection arrived),
        // instead of guessing how long a loaded machine needs to start it.
        tokio::select! {
            early = &mut run => panic!("kubectl returned early: {early:?}"),
            _ = connected.recv() => {}
        }
        assert_eq!(pids_with(&marker).len(), 1, "kubectl is running");

        cancel.cancel();
        // `get -w` with no request timeout never ends by itself: returning proves the cancel.
        let err = run.await.expect_err("cancelled");
        assert!(matches!(err, StepError::Cancelled), "{err:?}");
        // A condition with a generous deadline, not a timing: the kill may take a moment to
        // show in /proc.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !pids_with(&marker).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(pids_with(&marker).is_empty(), "kubectl still running");
    })
    .await;
}

#[test]
fn executor_kubectl_request_timeout_is_added_unless_given_or_streaming() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(needs_request_timeout(&args(&["get", "pods"])));
    assert!(needs_request_timeout(&args(&[
        "scale",
        "deployment/x",
        "--replicas=0"
    ])));
    assert!(needs_request_timeout(&args(&["logs", "pod/x"])));
    assert!(!needs_request_timeout(&args(&[
        "get",
        "pods",
        "--request-timeout=5s"
    ])));
    assert!(!needs_request_timeout(&args(&["get", "pods", "-w"])));
    assert!(!needs_request_timeout(&args(&[
        "rollout", "status", "sts/x"
    ])));
    assert!(!needs_request_timeout(&args(&["logs", "-f", "pod/x"])));
    assert!(!needs_request_timeout(&args(&[
        "wait",
        "--for=delete",
        "pod/x"
    ])));
}
