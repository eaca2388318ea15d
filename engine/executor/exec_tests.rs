//! Tests for the exec executor, using the example executor shipped in `examples/`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;

/// Every test is bounded; a hang fails instead of stalling the suite.
async fn bounded<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("test timed out")
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn executor_on(dirs: &[&Path]) -> ExecExecutor {
    let path = std::env::join_paths(dirs).expect("join paths");
    ExecExecutor::new(Some(path), ExecutorOptions::default())
}

async fn echo(input: Value) -> Result<ActionResult, StepError> {
    let req = ExecRequest {
        executor: "echo".into(),
        input,
    };
    // A directory without executors first, to check that the search walks the whole path.
    let empty = tempfile::tempdir().expect("tempdir");
    executor_on(&[empty.path(), &examples_dir()])
        .execute(&req, &CancellationToken::new())
        .await
}

#[tokio::test]
async fn executor_exec_echo_round_trip() {
    bounded(async {
        let input = json!({"backup_id": 42, "names": ["a", "b"], "nested": {"x": null}});
        let result = echo(input.clone()).await.expect("echo");
        assert_eq!(result.value, json!({"echo": input}));
    })
    .await;
}

#[tokio::test]
async fn executor_exec_error_results() {
    bounded(async {
        let err = echo(json!({"simulate": "error", "message": "bucket missing"}))
            .await
            .expect_err("error");
        match &err {
            StepError::Exec { message, retryable } => {
                assert_eq!(message, "bucket missing");
                assert!(!retryable);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.retryable());
        let err = echo(json!({"simulate": "retryable_error"}))
            .await
            .expect_err("retryable error");
        assert!(
            matches!(
                err,
                StepError::Exec {
                    retryable: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.retryable());
    })
    .await;
}

#[tokio::test]
async fn executor_exec_protocol_errors() {
    bounded(async {
        let err = echo(json!({"simulate": "bad_json"}))
            .await
            .expect_err("bad json");
        assert!(matches!(err, StepError::Protocol { .. }), "{err:?}");
        assert!(err.to_string().contains("not JSON"), "{err}");
        assert!(!err.retryable());

        let err = echo(json!({"simulate": "exit", "code": 3}))
            .await
            .expect_err("exit 3");
        assert!(matches!(err, StepError::Protocol { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("code 3") && text.contains("exiting as asked"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn executor_exec_missing_executor_names_the_path_lookup() {
    bounded(async {
        let empty = tempfile::tempdir().expect("tempdir");
        let req = ExecRequest {
            executor: "does-not-exist".into(),
            input: Value::Null,
        };
        let err = executor_on(&[empty.path()])
            .execute(&req, &CancellationToken::new())
            .await
            .expect_err("missing");
        let text = err.to_string();
        assert!(matches!(err, StepError::Spawn { .. }), "{err:?}");
        assert!(text.contains("runbook-executor-does-not-exist"), "{text}");
        assert!(text.contains("PATH"), "{text}");
        assert!(text.contains(&empty.path().display().to_string()), "{text}");
        assert!(!err.retryable());

        for bad in ["", "../echo", "a/b", ".hidden"] {
            let req = ExecRequest {
                executor: bad.into(),
                input: Value::Null,
            };
            let err = executor_on(&[&examples_dir()])
                .execute(&req, &CancellationToken::new())
                .await
                .expect_err("invalid name");
            assert!(matches!(err, StepError::Spawn { .. }), "{bad}: {err:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn executor_exec_cancel_kills_the_child() {
    bounded(async {
        // A private copy, so that its path identifies this test's process only.
        let dir = tempfile::tempdir().expect("tempdir");
        let copy = dir.path().join("runbook-executor-echo");
        std::fs::copy(examples_dir().join("runbook-executor-echo"), &copy).expect("copy");
        let marker = copy.display().to_string();
        let exec = executor_on(&[dir.path()]);
        let req = ExecRequest {
            executor: "echo".into(),
            input: json!({"simulate": "sleep", "seconds": 60}),
        };
        let cancel = CancellationToken::new();
        let run = exec.execute(&req, &cancel);
        tokio::pin!(run);
        // Poll the future until the child shows up (bounded: a loaded machine starts it late).
        let mut seen = false;
        for _ in 0..100 {
            let early = tokio::time::timeout(Duration::from_millis(100), &mut run).await;
            assert!(early.is_err(), "returned early: {early:?}");
            if pids_with(&marker).len() == 1 {
                seen = true;
                break;
            }
        }
        assert!(seen, "executor is running");
        cancel.cancel();
        // The child sleeps 60 s and the test is bounded at less: returning proves the cancel.
        let err = run.await.expect_err("cancelled");
        assert!(matches!(err, StepError::Cancelled), "{err:?}");
        // The kill is delivered; the process may take a moment to disappear from /proc
        // (a generous deadline: this waits on a condition, it does not time anything).
        let deadline = Instant::now() + Duration::from_secs(15);
        while !pids_with(&marker).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(pids_with(&marker).is_empty(), "executor still running");
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

#[test]
fn executor_exec_response_parsing() {
    let ok = parse_response("x", b"{\"ok\":true,\"result\":[1]}\n", "").expect("ok");
    assert_eq!(ok.value, json!([1]));
    let no_result = parse_response("x", b"{\"ok\":true}", "").expect("ok without result");
    assert_eq!(no_result.value, Value::Null);
    let bad = [
        "",
        "{\"ok\":true}\n{\"ok\":true}\n",
        "{\"result\":1}",
        "{\"ok\":\"yes\"}",
        "{\"ok\":false}",
        "{\"ok\":false,\"error\":\"e\",\"retryable\":\"yes\"}",
        "[1,2]",
    ];
    for stdout in bad {
        let err = parse_response("x", stdout.as_bytes(), "diag").expect_err(stdout);
        assert!(
            matches!(err, StepError::Protocol { .. }),
            "{stdout}: {err:?}"
        );
    }
    let failed = parse_response("x", b"{\"ok\":false,\"error\":\"e\"}", "").expect_err("failed");
    assert!(matches!(
        failed,
        StepError::Exec {
            retryable: false,
            ..
        }
    ));
}
