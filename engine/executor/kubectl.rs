//! One attempt of one kubectl action: runs the real `kubectl` binary with an argv list (never
//! a shell), target flags first, and shapes `{"exit_code", "stdout", "stderr"}`.
//!
//! It must NOT retry, parse kubectl's human output, or manage port-forwards (see
//! `port_forward`).

use std::path::PathBuf;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::process::{self, ProcessSpec, json_or_text};
use super::{ActionResult, ExecutorOptions, KubectlRequest, StepError};

/// How much of stderr goes into the error message (the result keeps the whole tail).
const STDERR_TAIL_CHARS: usize = 2048;

/// The `--request-timeout` every call carries unless the plan passed one: a stalled API
/// server fails the attempt (retryably) instead of hanging the step.
const DEFAULT_REQUEST_TIMEOUT: &str = "--request-timeout=30s";

/// Runs `kubectl`.
pub(crate) struct KubectlExecutor {
    kubectl: PathBuf,
    options: ExecutorOptions,
}

impl KubectlExecutor {
    /// An executor running the given binary.
    pub(super) fn new(kubectl: PathBuf, options: ExecutorOptions) -> Self {
        Self { kubectl, options }
    }

    /// Runs one attempt.
    pub(super) async fn execute(
        &self,
        req: &KubectlRequest,
        cancel: &CancellationToken,
    ) -> Result<ActionResult, StepError> {
        let mut args = req.target.flags();
        if needs_request_timeout(&req.args) {
            args.push(DEFAULT_REQUEST_TIMEOUT.into());
        }
        args.extend(req.args.iter().map(Into::into));
        // Arguments may carry secrets (literal values): the log writer masks the run's
        // secrets in every line (`cli::logging`). stdin is not logged (manifests, tokens).
        tracing::info!(argv = %args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "), "kubectl");
        let spec = ProcessSpec {
            program: self.kubectl.as_os_str(),
            args,
            stdin: req.stdin.as_ref().map(|s| s.clone().into_bytes()),
            max_stdout: self.options.max_output_bytes,
            stderr_tail: self.options.stderr_tail_bytes,
        };
        let output = process::run(spec, cancel)
            .await
            .map_err(|err| explain_spawn(err, &self.kubectl))?;
        tracing::info!(exit_code = output.exit_code, "kubectl exited");
        tracing::debug!(stderr = %output.stderr_tail, "kubectl stderr");
        let result = ActionResult::new(json!({
            "exit_code": output.exit_code,
            "stdout": json_or_text(&output.stdout),
            "stderr": output.stderr_tail,
        }));
        if exit_accepted(output.exit_code, &req.expect_exit) {
            return Ok(result);
        }
        Err(StepError::Kubectl {
            exit_code: output.exit_code,
            stderr_tail: last_chars(&output.stderr_tail, STDERR_TAIL_CHARS),
            result: Some(Box::new(result)),
        })
    }
}

/// Adds a hint on where the kubectl path comes from to "not found" errors.
fn explain_spawn(err: StepError, kubectl: &std::path::Path) -> StepError {
    match err {
        StepError::Spawn { program, message } => StepError::Spawn {
            program,
            message: format!(
                "{message} (kubectl path {:?}; set --kubectl or RUNBOOK_KUBECTL)",
                kubectl.display().to_string()
            ),
        },
        other => other,
    }
}

/// Whether to add the default `--request-timeout`: not when the plan passed one, and not for
/// commands that hold a watch or stream open on purpose (`rollout status`, `wait`, `logs -f`,
/// `get -w`, `port-forward`, `exec`, `attach`): kubectl applies the timeout to the whole
/// request, so it would cut them off. Those are bounded by their own `--timeout` or the
/// step's `timeout`.
fn needs_request_timeout(args: &[String]) -> bool {
    let has = |flags: &[&str]| {
        args.iter().any(|a| {
            flags
                .iter()
                .any(|f| a == f || a.starts_with(&format!("{f}=")))
        })
    };
    if has(&["--request-timeout"]) {
        return false;
    }
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .take(2)
        .collect();
    let streaming = match words.as_slice() {
        ["rollout", "status", ..] => true,
        ["wait" | "port-forward" | "exec" | "attach" | "proxy", ..] => true,
        ["logs", ..] => has(&["-f", "--follow"]),
        ["get", ..] => has(&["-w", "--watch", "--watch-only"]),
        _ => false,
    };
    !streaming
}

fn exit_accepted(code: Option<i32>, expect: &[i32]) -> bool {
    match code {
        None => false,
        Some(code) if expect.is_empty() => code == 0,
        Some(code) => expect.contains(&code),
    }
}

/// The last `max` characters of `text`.
fn last_chars(text: &str, max: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max)).collect()
}

#[cfg(test)]
#[path = "kubectl_tests.rs"]
mod tests;
