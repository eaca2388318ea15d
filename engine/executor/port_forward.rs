//! Port-forwards as scoped resources, keyed by (kubectl target, resource, remote port):
//! started on first use with `kubectl port-forward`, ready-checked with a TCP connect, reused by
//! later requests, restarted once per use when the child died, and always torn down by
//! [`PortForwards::shutdown`] (and on drop, through `kill_on_drop`).
//!
//! It must NOT send requests through the forward (the HTTP executor does) or retry a failed
//! start (the scheduler retries the step; a failed start is retryable).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::process::{TailBuffer, kill_and_reap};
use super::{ExecutorOptions, KubectlTarget, PortForwardSpec, StepError};

/// Pause between ready-check connection attempts.
const READY_POLL: Duration = Duration::from_millis(50);

/// How long to wait for kubectl's stderr to close after killing it, for error messages.
const STDERR_SETTLE: Duration = Duration::from_secs(1);

/// What identifies one forward; the requested local port is not part of it (first use wins).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ForwardKey {
    target: KubectlTarget,
    resource: String,
    remote_port: u16,
}

impl ForwardKey {
    fn of(spec: &PortForwardSpec) -> Self {
        Self {
            target: spec.kubectl.clone(),
            resource: spec.resource.clone(),
            remote_port: spec.remote_port,
        }
    }
}

/// One slot per key; its async lock makes concurrent first uses start only one forward.
type Slot = Arc<tokio::sync::Mutex<Option<Forward>>>;

/// All port-forwards of one engine run.
pub(crate) struct PortForwards {
    kubectl: PathBuf,
    options: ExecutorOptions,
    /// Where each started child is recorded for `recover` (see `child_record`).
    record: Option<PathBuf>,
    slots: Mutex<HashMap<ForwardKey, Slot>>,
    closed: AtomicBool,
}

/// One running `kubectl port-forward`.
struct Forward {
    child: Child,
    local_port: u16,
    stderr: Arc<Mutex<TailBuffer>>,
    stderr_drain: Option<JoinHandle<()>>,
    stdout_drain: Option<JoinHandle<()>>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        // kill_on_drop also does this; being explicit keeps teardown independent of it.
        let _ = self.child.start_kill();
        for drain in [&self.stderr_drain, &self.stdout_drain]
            .into_iter()
            .flatten()
        {
            drain.abort();
        }
    }
}

impl Forward {
    fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .map(|tail| tail.to_text())
            .unwrap_or_default()
    }

    /// Kills and reaps the child, then returns its stderr once the pipe is drained (bounded),
    /// so that error messages carry kubectl's last words.
    async fn stop_and_collect_stderr(&mut self) -> String {
        kill_and_reap(&mut self.child).await;
        if let Some(mut drain) = self.stderr_drain.take() {
            let _ = tokio::time::timeout(STDERR_SETTLE, &mut drain).await;
            drain.abort();
        }
        self.stderr_text()
    }
}

impl PortForwards {
    /// No forwards yet.
    pub(super) fn new(kubectl: PathBuf, options: ExecutorOptions, record: Option<PathBuf>) -> Self {
        Self {
            kubectl,
            record,
            options,
            slots: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// The local port of the forward for `spec`, starting it (or restarting it once, if its
    /// child died) when needed.
    pub(super) async fn ensure(
        &self,
        spec: &PortForwardSpec,
        cancel: &CancellationToken,
    ) -> Result<u16, StepError> {
        self.check_open()?;
        let slot = self.slot(ForwardKey::of(spec));
        let mut guard = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(StepError::Cancelled),
            guard = slot.lock() => guard,
        };
        // Shutdown may have run while we waited for the lock.
        self.check_open()?;
        if let Some(forward) = guard.as_mut() {
            if forward.is_alive() {
                return Ok(forward.local_port);
            }
            tracing::warn!(
                resource = %spec.resource,
                stderr = %forward.stderr_text(),
                "port-forward died; restarting it"
            );
            *guard = None;
        }
        let forward = tokio::select! {
            biased;
            // Dropping the start future drops the child, which is then killed.
            () = cancel.cancelled() => return Err(StepError::Cancelled),
            forward = self.start(spec) => forward?,
        };
        let port = forward.local_port;
        *guard = Some(forward);
        Ok(port)
    }

    /// Stops the forward for `spec` if it still is the one on `port`, so that the next use
    /// starts a fresh one.
    pub(super) async fn invalidate(&self, spec: &PortForwardSpec, port: u16) {
        let slot = self.slot(ForwardKey::of(spec));
        let mut guard = slot.lock().await;
        if let Some(forward) = guard.as_mut()
            && forward.local_port == port
        {
            kill_and_reap(&mut forward.child).await;
            *guard = None;
        }
    }

    /// Kills and reaps every forward; later [`ensure`](Self::ensure) calls fail. Idempotent.
    pub(super) async fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let slots: Vec<Slot> = {
            let mut map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            map.drain().map(|(_, slot)| slot).collect()
        };
        for slot in slots {
            let mut guard = slot.lock().await;
            if let Some(forward) = guard.as_mut() {
                kill_and_reap(&mut forward.child).await;
            }
            *guard = None;
        }
    }

    fn check_open(&self) -> Result<(), StepError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StepError::PortForward {
                message: "the executors are shut down".to_owned(),
            });
        }
        Ok(())
    }

    fn slot(&self, key: ForwardKey) -> Slot {
        let mut map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_default().clone()
    }

    /// Starts `kubectl port-forward`, waits for its `Forwarding from` line and for the local
    /// port to accept connections. On failure the child is killed.
    async fn start(&self, spec: &PortForwardSpec) -> Result<Forward, StepError> {
        let mut child = self.spawn(spec)?;
        let stderr = Arc::new(Mutex::new(TailBuffer::new(self.options.stderr_tail_bytes)));
        let stderr_drain = tokio::spawn(drain_into(child.stderr.take(), Arc::clone(&stderr)));
        let stdout = child.stdout.take();
        let mut forward = Forward {
            child,
            local_port: 0,
            stderr,
            stderr_drain: Some(stderr_drain),
            stdout_drain: None,
        };
        let Some(stdout) = stdout else {
            return Err(start_failed(&mut forward, spec, "no stdout pipe").await);
        };
        let mut stdout = BufReader::new(stdout);
        let start_timeout = self.options.port_forward_start_timeout;
        match tokio::time::timeout(start_timeout, forwarding_port(&mut stdout)).await {
            Ok(Some(port)) => forward.local_port = port,
            Ok(None) => {
                return Err(start_failed(&mut forward, spec, "kubectl exited").await);
            }
            Err(_) => {
                let what = format!("no `Forwarding from 127.0.0.1:` line within {start_timeout:?}");
                return Err(start_failed(&mut forward, spec, &what).await);
            }
        }
        // kubectl logs every connection on stdout; unread, the pipe would fill and block it.
        forward.stdout_drain = Some(tokio::spawn(discard(stdout)));
        self.wait_ready(&mut forward, spec).await?;
        tracing::info!(
            resource = %spec.resource,
            local_port = forward.local_port,
            "port-forward started"
        );
        Ok(forward)
    }

    fn spawn(&self, spec: &PortForwardSpec) -> Result<Child, StepError> {
        let mut args = spec.kubectl.flags();
        args.extend([
            "port-forward".into(),
            spec.resource.clone().into(),
            format!("{}:{}", spec.local_port, spec.remote_port).into(),
            // We connect to 127.0.0.1, so that is the address that must be forwarded.
            "--address=127.0.0.1".into(),
        ]);
        let child = Command::new(&self.kubectl)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| StepError::Spawn {
                program: self.kubectl.display().to_string(),
                message: format!("{err} (kubectl port-forward {})", spec.resource),
            })?;
        if let (Some(path), Some(pid)) = (&self.record, child.id()) {
            let mut argv = vec![self.kubectl.display().to_string()];
            argv.extend(args.iter().map(|a| a.to_string_lossy().to_string()));
            super::child_record::record(path, pid, &argv);
        }
        Ok(child)
    }

    /// Polls a TCP connect to the local port until it succeeds, the child dies or the ready
    /// timeout expires.
    async fn wait_ready(
        &self,
        forward: &mut Forward,
        spec: &PortForwardSpec,
    ) -> Result<(), StepError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, forward.local_port));
        let ready_timeout = self.options.port_forward_ready_timeout;
        let deadline = tokio::time::Instant::now() + ready_timeout;
        loop {
            if TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if !forward.is_alive() {
                return Err(start_failed(forward, spec, "kubectl exited").await);
            }
            if tokio::time::Instant::now() >= deadline {
                let what = format!(
                    "local port {} accepted no connection within {ready_timeout:?}",
                    forward.local_port
                );
                return Err(start_failed(forward, spec, &what).await);
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// The pid of the running forward for `spec`, for tests that check the process is gone.
    #[cfg(test)]
    async fn pid(&self, spec: &PortForwardSpec) -> Option<u32> {
        let slot = self.slot(ForwardKey::of(spec));
        let guard = slot.lock().await;
        guard.as_ref().and_then(|forward| forward.child.id())
    }
}

/// Reads stdout lines until `Forwarding from 127.0.0.1:<port> -> ...`; `None` on EOF.
async fn forwarding_port(stdout: &mut BufReader<ChildStdout>) -> Option<u16> {
    let mut line = String::new();
    loop {
        line.clear();
        match stdout.read_line(&mut line).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {
                if let Some(port) = parse_forwarding_line(&line) {
                    return Some(port);
                }
            }
        }
    }
}

/// Parses `Forwarding from 127.0.0.1:<port> -> <target>` (the IPv6 line is ignored). The
/// target is not checked: for a service kubectl prints the container's port, which may differ
/// from the service port asked for (e.g. 80 -> 8080), and each child forwards one port only.
fn parse_forwarding_line(line: &str) -> Option<u16> {
    let rest = line.trim().strip_prefix("Forwarding from 127.0.0.1:")?;
    let (local, _target) = rest.split_once(" -> ")?;
    local.trim().parse().ok().filter(|port| *port != 0)
}

/// Stops a forward that failed to start and describes why, with kubectl's stderr.
async fn start_failed(forward: &mut Forward, spec: &PortForwardSpec, what: &str) -> StepError {
    let stderr = forward.stop_and_collect_stderr().await;
    StepError::PortForward {
        message: format!(
            "kubectl port-forward {} {}: {what}; stderr: {}",
            spec.resource,
            spec.remote_port,
            stderr.trim()
        ),
    }
}

async fn drain_into<R: AsyncRead + Unpin>(reader: Option<R>, tail: Arc<Mutex<TailBuffer>>) {
    let Some(mut reader) = reader else { return };
    let mut chunk = vec![0u8; 4096];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Ok(mut tail) = tail.lock() {
                    tail.push(&chunk[..n]);
                }
            }
        }
    }
}

async fn discard<R: AsyncRead + Unpin>(mut reader: R) {
    let mut chunk = vec![0u8; 4096];
    while let Ok(n) = reader.read(&mut chunk).await {
        if n == 0 {
            return;
        }
    }
}

#[cfg(test)]
#[path = "port_forward_tests.rs"]
mod tests;
