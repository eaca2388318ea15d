//! Executors: run ONE attempt of ONE already-rendered action (HTTP, kubectl or an external
//! `runbook-executor-NAME` program) and return its result as JSON.
//!
//! This module owns the [`Executor`] trait the scheduler calls, the request/result/error types,
//! and [`Executors`], which routes each request to its executor and owns the long-lived
//! resources they share (HTTP clients, port-forwards).
//!
//! It must NOT retry, apply retry or timeout policy beyond what the request itself carries,
//! evaluate conditions, render templates or journal anything: the scheduler does all of that.
//! It must never log secrets (header values, auth, bodies, URLs with credentials or queries).

mod aws_credentials;
mod aws_sigv4;
pub mod child_record;
mod error;
mod exec;
mod http;
mod http_route;
mod http_tls;
mod kubectl;
mod oauth2;
mod port_forward;
mod process;
mod reason;
mod request;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use error::{StepError, TransportKind};
pub use request::{
    ActionRequest, ExecRequest, HttpAuth, HttpBody, HttpRequest, KubectlRequest, KubectlTarget,
    OAuth2Grant, PortForwardSpec, TlsOptions,
};

/// The JSON value every condition (`until`, `fail_if`, `outputs`) reads.
///
/// - http: `{"status": 200, "headers": {"content-type": "..."}, "body": <JSON if it parses, else string>}`
/// - kubectl: `{"exit_code": 0, "stdout": <JSON if it parses, else string>, "stderr": "..."}`
/// - exec: whatever the external executor returned as its `result`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    /// The result document.
    pub value: serde_json::Value,
}

impl ActionResult {
    /// Wraps a JSON value.
    pub fn new(value: serde_json::Value) -> Self {
        Self { value }
    }
}

/// Runs one attempt of one action.
pub trait Executor: Send + Sync {
    /// Runs one attempt. Must return promptly with `Err(Cancelled)` when `cancel` fires, killing
    /// any child process.
    fn execute<'a>(
        &'a self,
        request: &'a ActionRequest,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<ActionResult, StepError>>;
}

/// Where the executors find their programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// The `kubectl` binary (from `--kubectl` / `RUNBOOK_KUBECTL` / `"kubectl"`). A bare name is
    /// looked up on the process `PATH`.
    pub kubectl_path: PathBuf,
    /// Directories searched for `runbook-executor-NAME` (same syntax as `PATH`); `None` means
    /// the process `PATH`.
    pub executor_search_path: Option<OsString>,
    /// Where long-lived children (port-forwards) are recorded for `recover` to stop if the
    /// run is killed ([`child_record`]); `None`: nowhere.
    pub child_record: Option<PathBuf>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            kubectl_path: PathBuf::from("kubectl"),
            executor_search_path: None,
            child_record: None,
        }
    }
}

/// Limits and tunables with sensible defaults, kept apart from [`ExecutorConfig`] so that the
/// config's shape stays the one the scheduler builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorOptions {
    /// Cap on the stdout of `kubectl` and external executors; exceeding it is an error.
    pub max_output_bytes: usize,
    /// How much of stderr is kept (its tail) for results and error messages.
    pub stderr_tail_bytes: usize,
    /// How long a port-forward may take to print its `Forwarding from` line.
    pub port_forward_start_timeout: Duration,
    /// How long the forwarded local port may take to accept a TCP connection.
    pub port_forward_ready_timeout: Duration,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        Self {
            max_output_bytes: 16 * 1024 * 1024,
            stderr_tail_bytes: 64 * 1024,
            port_forward_start_timeout: Duration::from_secs(30),
            port_forward_ready_timeout: Duration::from_secs(10),
        }
    }
}

/// The real executor: routes each [`ActionRequest`] variant to its executor and owns the
/// shared resources (one HTTP client per TLS option set, the port-forwards).
pub struct Executors {
    http: http::HttpExecutor,
    kubectl: kubectl::KubectlExecutor,
    exec: exec::ExecExecutor,
    forwards: port_forward::PortForwards,
}

impl Executors {
    /// Builds the executors with default [`ExecutorOptions`].
    pub fn new(config: ExecutorConfig) -> Self {
        Self::with_options(config, ExecutorOptions::default())
    }

    /// Builds the executors with explicit limits.
    pub fn with_options(config: ExecutorConfig, options: ExecutorOptions) -> Self {
        Self {
            http: http::HttpExecutor::new(),
            kubectl: kubectl::KubectlExecutor::new(config.kubectl_path.clone(), options.clone()),
            exec: exec::ExecExecutor::new(config.executor_search_path, options.clone()),
            forwards: port_forward::PortForwards::new(
                config.kubectl_path,
                options,
                config.child_record,
            ),
        }
    }

    /// Tears down every port-forward, whatever happened. Idempotent; later requests that need
    /// a port-forward fail with [`StepError::PortForward`].
    pub async fn shutdown(&self) {
        self.forwards.shutdown().await;
    }

    async fn run(
        &self,
        request: &ActionRequest,
        cancel: &CancellationToken,
    ) -> Result<ActionResult, StepError> {
        match request {
            ActionRequest::Http(req) => self.run_http(req, cancel).await,
            ActionRequest::Kubectl(req) => self.kubectl.execute(req, cancel).await,
            ActionRequest::Exec(req) => self.exec.execute(req, cancel).await,
        }
    }

    async fn run_http(
        &self,
        req: &HttpRequest,
        cancel: &CancellationToken,
    ) -> Result<ActionResult, StepError> {
        let Some(spec) = &req.port_forward else {
            return self.http.execute(req, None, cancel).await;
        };
        let port = self.forwards.ensure(spec, cancel).await?;
        let outcome = self.http.execute(req, Some(port), cancel).await;
        if let Err(StepError::Transport {
            kind: TransportKind::Connect | TransportKind::Other,
            ..
        }) = &outcome
        {
            // The local end refused or reset the connection: the forward is broken even if
            // kubectl still runs, so the next attempt starts a fresh one. (A timeout says the
            // server is slow, not that the forward is broken.)
            self.forwards.invalidate(spec, port).await;
        }
        outcome
    }
}

impl Executor for Executors {
    fn execute<'a>(
        &'a self,
        request: &'a ActionRequest,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<ActionResult, StepError>> {
        Box::pin(self.run(request, cancel))
    }
}

#[cfg(test)]
#[path = "executor/routing_tests.rs"]
mod tests;
