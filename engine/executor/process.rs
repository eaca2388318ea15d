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
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::StepError;

/// How long a killed child may take to be reaped before we stop waiting for it (tokio still
/// reaps it in the background).
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

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
    let program = spec.program.to_string_lossy().into_owned();
    let mut child = spawn(&spec, &program)?;
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

fn spawn(spec: &ProcessSpec<'_>, program: &str) -> Result<Child, StepError> {
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
        .map_err(|err| StepError::Spawn {
            program: program.to_owned(),
            message: err.to_string(),
        })
}

async fn collect(
    child: &mut Child,
    spec: &ProcessSpec<'_>,
    program: &str,
) -> Result<ProcessOutput, StepError> {
    let stdin_pipe = child.stdin.take();
    let stdout_pipe = child.stdout.take();
    let stderr_pipe = child.stderr.take();
    let write_stdin = async {
        if let (Some(mut pipe), Some(data)) = (stdin_pipe, spec.stdin.as_deref()) {
            // A child that exits without reading all of stdin gives EPIPE; its exit status
            // and output tell the real story, so the write error is not reported.
            let _ = pipe.write_all(data).await;
            let _ = pipe.shutdown().await;
        }
    };
    let read_stdout = async {
        let read = read_capped(stdout_pipe, spec.max_stdout).await;
        if read.overflowed {
            // Stop a runaway child now rather than let it block on a full pipe forever.
            let _ = child.start_kill();
        }
        read
    };
    let read_stderr = read_tail(stderr_pipe, spec.stderr_tail);
    let ((), stdout, stderr_tail) = tokio::join!(write_stdin, read_stdout, read_stderr);
    let status = child.wait().await.map_err(|err| StepError::Spawn {
        program: program.to_owned(),
        message: format!("waiting for the process failed: {err}"),
    })?;
    if stdout.overflowed {
        return Err(StepError::OutputTooLarge {
            program: program.to_owned(),
            limit: spec.max_stdout,
        });
    }
    Ok(ProcessOutput {
        exit_code: status.code(),
        stdout: stdout.bytes,
        stderr_tail: String::from_utf8_lossy(&stderr_tail).into_owned(),
    })
}

/// Kills the child and waits (bounded) for it to be reaped, so that it is gone on return.
pub(crate) async fn kill_and_reap(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(REAP_TIMEOUT, child.wait()).await;
}

/// Bytes read up to a cap.
pub(crate) struct Capped {
    /// At most the cap.
    pub bytes: Vec<u8>,
    /// Whether more than the cap was available.
    pub overflowed: bool,
}

/// Reads until EOF or until more than `cap` bytes arrived. Read errors end the read: the
/// exit status reports what happened to the child.
pub(crate) async fn read_capped<R: AsyncRead + Unpin>(reader: Option<R>, cap: usize) -> Capped {
    let mut bytes = Vec::new();
    let Some(mut reader) = reader else {
        return Capped {
            bytes,
            overflowed: false,
        };
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() > cap {
                    bytes.truncate(cap);
                    return Capped {
                        bytes,
                        overflowed: true,
                    };
                }
            }
        }
    }
    Capped {
        bytes,
        overflowed: false,
    }
}

/// Reads until EOF, keeping only the last `keep` bytes.
pub(crate) async fn read_tail<R: AsyncRead + Unpin>(reader: Option<R>, keep: usize) -> Vec<u8> {
    let mut tail = TailBuffer::new(keep);
    if let Some(mut reader) = reader {
        let mut chunk = vec![0u8; 8 * 1024];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => tail.push(&chunk[..n]),
            }
        }
    }
    tail.into_bytes()
}

/// Keeps the last `keep` bytes of a stream.
#[derive(Debug, Default)]
pub(crate) struct TailBuffer {
    keep: usize,
    bytes: Vec<u8>,
}

impl TailBuffer {
    /// An empty buffer keeping at most `keep` bytes.
    pub fn new(keep: usize) -> Self {
        Self {
            keep,
            bytes: Vec::new(),
        }
    }

    /// Appends, dropping the oldest bytes beyond the limit (amortized: trims at twice it).
    pub fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        if self.bytes.len() > self.keep.saturating_mul(2).max(1) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let excess = self.bytes.len().saturating_sub(self.keep);
        self.bytes.drain(..excess);
    }

    /// The kept bytes.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.trim();
        self.bytes
    }

    /// The kept bytes as (lossy) text.
    pub fn to_text(&self) -> String {
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
        assert_eq!(tail.into_bytes(), b"ghij");
    }

    #[test]
    fn executor_process_json_or_text() {
        assert_eq!(json_or_text(b" {\"a\":1}\n"), serde_json::json!({"a": 1}));
        assert_eq!(json_or_text(b"hello\n"), serde_json::json!("hello\n"));
        assert_eq!(json_or_text(b""), serde_json::json!(""));
    }
}
