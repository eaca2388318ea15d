//! Runs one short-lived child process to completion: argv only (never a shell), optional
//! stdin, stdout capped, the tail of stderr kept, killed on cancel or when its output
//! overflows.
//!
//! Shared by the kubectl and exec executors. It must NOT interpret the output or decide what
//! an exit code means; long-lived children (port-forwards) are managed elsewhere.

use std::ffi::{OsStr, OsString};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio_util::sync::CancellationToken;

use super::StepError;

/// How long a killed child may take to be reaped before we stop waiting for it (tokio still
/// reaps it in the background).
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the pipes may stay open after the child exited (a grandchild holding them).
const PIPE_DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What to run.
pub(crate) struct ProcessSpec<'a> {
    /// The program (a path, or a bare name looked up on `PATH`).
    pub program: &'a OsStr,
    /// The arguments.
    pub args: Vec<OsString>,
    /// Bytes written to stdin, which is then closed; `None` gives the child an empty stdin.
    pub stdin: Option<Vec<u8>>,
    /// The stdout cap in bytes.
    pub max_stdout: usize,
    /// How many trailing stderr bytes to keep.
    pub stderr_tail: usize,
}

/// What a finished child left behind.
#[derive(Debug)]
pub(crate) struct ProcessOutput {
    /// The exit code; `None` when killed by a signal.
    pub exit_code: Option<i32>,
    /// All of stdout (at most the cap).
    pub stdout: Vec<u8>,
    /// The end of stderr.
    pub stderr_tail: String,
}

/// Runs the child to completion, or kills it when `cancel` fires (`Err(Cancelled)`) or when
/// stdout exceeds the cap (`Err(OutputTooLarge)`).
pub(crate) async fn run(
    spec: ProcessSpec<'_>,
    cancel: &CancellationToken,
) -> Result<ProcessOutput, StepError> {
    if cancel.is_cancelled() {
        return Err(StepError::Cancelled);
    }
    let program = spec.program.to_string_lossy().into_owned();
    let mut child = spawn_retrying_busy(&spec, &program).await?;
    let outcome = {
        let work = collect(&mut child, &spec, &program);
        tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            outcome = work => Some(outcome),
        }
    };
    match outcome {
        Some(outcome) => outcome,
        None => {
            kill_and_reap(&mut child).await;
            Err(StepError::Cancelled)
        }
    }
}

/// Linux's ETXTBSY: the program file is still open for writing somewhere.
const TEXT_FILE_BUSY: i32 = 26;

/// Spawns, retrying a few times while the program is "text file busy": a script written
/// just before (by a tool, or by another thread) stays open for writing in any child forked
/// meanwhile until that child execs, a window of microseconds.
async fn spawn_retrying_busy(spec: &ProcessSpec<'_>, program: &str) -> Result<Child, StepError> {
    let mut tries = 0u32;
    loop {
        match spawn(spec, program) {
            Err(SpawnError::Busy) if tries < 5 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(tries))).await;
            }
            Err(SpawnError::Busy) => {
                return Err(StepError::Spawn {
                    program: program.to_owned(),
                    message: "the program file is busy (text file busy)".into(),
                });
            }
            Err(SpawnError::Other(e)) => return Err(e),
            Ok(child) => return Ok(child),
        }
    }
}

enum SpawnError {
    Busy,
    Other(StepError),
}

fn spawn(spec: &ProcessSpec<'_>, program: &str) -> Result<Child, SpawnError> {
    let stdin = if spec.stdin.is_some() {
        Stdio::piped()
    } else {
        // Never inherit our stdin: a child waiting on a terminal would hang the step.
        Stdio::null()
    };
    Command::new(spec.program)
        .args(&spec.args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| {
            if err.raw_os_error() == Some(TEXT_FILE_BUSY) {
                SpawnError::Busy
            } else {
                SpawnError::Other(StepError::Spawn {
                    program: program.to_owned(),
                    message: err.to_string(),
                })
            }
        })
}

async fn collect(
    child: &mut Child,
    spec: &ProcessSpec<'_>,
    program: &str,
) -> Result<ProcessOutput, StepError> {
    let mut stdout = Vec::new();
    let mut stderr = TailBuffer::new(spec.stderr_tail);
    let stdin_pipe = child.stdin.take();
    let stdout_pipe = child.stdout.take();
    let stderr_pipe = child.stderr.take();
    let (status, overflowed) = {
        let side = async {
            tokio::join!(
                write_stdin(stdin_pipe, spec.stdin.as_deref()),
                read_tail_into(stderr_pipe, &mut stderr)
            )
        };
        let out = read_capped_into(stdout_pipe, spec.max_stdout, &mut stdout);
        tokio::pin!(side, out);
        let mut side_done = false;
        let mut out_done = false;
        let mut overflowed = false;
        let mut status = None;
        let mut drain_deadline = None;
        loop {
            if side_done
                && out_done
                && let Some(status) = status
            {
                break (status, overflowed);
            }
            tokio::select! {
                _ = &mut side, if !side_done => side_done = true,
                over = &mut out, if !out_done => {
                    out_done = true;
                    if over {
                        overflowed = true;
                        // Stop a runaway child now rather than let it block on a full pipe.
                        let _ = child.start_kill();
                    }
                }
                exited = child.wait(), if status.is_none() => {
                    status = Some(exited.map_err(|err| StepError::Spawn {
                        program: program.to_owned(),
                        message: format!("waiting for the process failed: {err}"),
                    })?);
                    drain_deadline = Some(tokio::time::Instant::now() + PIPE_DRAIN_GRACE);
                }
                // A grandchild may keep a pipe open after the child exited: stop reading.
                () = tokio::time::sleep_until(drain_deadline.unwrap_or_else(tokio::time::Instant::now)),
                    if drain_deadline.is_some() => {
                    if let Some(status) = status {
                        break (status, overflowed);
                    }
                }
            }
        }
    };
    if overflowed {
        return Err(StepError::OutputTooLarge {
            program: program.to_owned(),
            limit: spec.max_stdout,
        });
    }
    Ok(ProcessOutput {
        exit_code: status.code(),
        stdout,
        stderr_tail: stderr.to_text(),
    })
}

async fn write_stdin(pipe: Option<ChildStdin>, data: Option<&[u8]>) {
    if let (Some(mut pipe), Some(data)) = (pipe, data) {
        // A child that exits without reading all of stdin gives EPIPE; its exit status and
        // output tell the real story, so the write error is not reported.
        let _ = pipe.write_all(data).await;
        let _ = pipe.shutdown().await;
    }
}

/// Kills the child and waits (bounded) for it to be reaped, so that it is gone on return.
pub(crate) async fn kill_and_reap(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(REAP_TIMEOUT, child.wait()).await;
}

/// Reads into `bytes` until EOF or until more than `cap` bytes arrived; returns whether the
/// cap was exceeded (`bytes` then holds the first `cap`). Read errors end the read: the exit
/// status reports what happened to the child.
async fn read_capped_into<R: AsyncRead + Unpin>(
    reader: Option<R>,
    cap: usize,
    bytes: &mut Vec<u8>,
) -> bool {
    let Some(mut reader) = reader else {
        return false;
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() > cap {
                    bytes.truncate(cap);
                    return true;
                }
            }
        }
    }
}

/// Reads until EOF into `tail`.
async fn read_tail_into<R: AsyncRead + Unpin>(reader: Option<R>, tail: &mut TailBuffer) {
    let Some(mut reader) = reader else { return };
    let mut chunk = vec![0u8; 8 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => tail.push(&chunk[..n]),
        }
    }
}

/// Keeps the last `keep` bytes of a stream.
#[derive(Debug, Default)]
pub(crate) struct TailBuffer {
    keep: usize,
    bytes: Vec<u8>,
}

impl TailBuffer {
    /// An empty buffer keeping at most `keep` bytes.
    pub(super) fn new(keep: usize) -> Self {
        Self {
            keep,
            bytes: Vec::new(),
        }
    }

    /// Appends, dropping the oldest bytes beyond the limit (amortized: trims at twice it).
    pub(super) fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        if self.bytes.len() > self.keep.saturating_mul(2).max(1) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let excess = self.bytes.len().saturating_sub(self.keep);
        self.bytes.drain(..excess);
    }

    /// The kept bytes as (lossy) text.
    pub(super) fn to_text(&self) -> String {
        let start = self.bytes.len().saturating_sub(self.keep);
        String::from_utf8_lossy(&self.bytes[start..]).into_owned()
    }
}

/// Parses `bytes` as one JSON document when it is one, else keeps it as text.
pub(crate) fn json_or_text(bytes: &[u8]) -> serde_json::Value {
    match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) => serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executor_process_tail_buffer_keeps_the_end() {
        let mut tail = TailBuffer::new(4);
        for chunk in [b"abc".as_slice(), b"defg", b"hij"] {
            tail.push(chunk);
        }
        assert_eq!(tail.to_text(), "ghij");
    }

    #[tokio::test]
    async fn executor_process_grandchild_holding_stdout_does_not_hang() {
        let spec = ProcessSpec {
            program: OsStr::new("sh"),
            args: vec!["-c".into(), "sleep 5 & echo done".into()],
            stdin: None,
            max_stdout: 1024,
            stderr_tail: 1024,
        };
        let started = std::time::Instant::now();
        let output = tokio::time::timeout(
            Duration::from_secs(10),
            run(spec, &CancellationToken::new()),
        )
        .await
        .expect("bounded")
        .expect("runs");
        assert_eq!(output.exit_code, Some(0));
        assert_eq!(output.stdout, b"done\n");
        assert!(started.elapsed() < PIPE_DRAIN_GRACE + Duration::from_secs(2));
    }

    #[tokio::test]
    async fn executor_process_stdin_and_exit_code() {
        let spec = ProcessSpec {
            program: OsStr::new("sh"),
            args: vec!["-c".into(), "cat; echo oops >&2; exit 7".into()],
            stdin: Some(b"in".to_vec()),
            max_stdout: 1024,
            stderr_tail: 1024,
        };
        let output = tokio::time::timeout(
            Duration::from_secs(10),
            run(spec, &CancellationToken::new()),
        )
        .await
        .expect("bounded")
        .expect("runs");
        assert_eq!(output.exit_code, Some(7));
        assert_eq!(output.stdout, b"in");
        assert_eq!(output.stderr_tail, "oops\n");
    }

    #[test]
    fn executor_process_json_or_text() {
        assert_eq!(json_or_text(b" {\"a\":1}\n"), serde_json::json!({"a": 1}));
        assert_eq!(json_or_text(b"hello\n"), serde_json::json!("hello\n"));
        assert_eq!(json_or_text(b""), serde_json::json!(""));
    }
}
