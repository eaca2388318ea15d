//! One attempt of one external executor: finds `runbook-executor-NAME` on the search path, writes
//! one `runbook.exec/v1` request line on its stdin and reads one response line from its stdout
//! (see `docs/executor-protocol.md`).
//!
//! It must NOT retry, interpret the executor's result, or run anything through a shell.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::error::truncate_chars;
use super::process::{self, ProcessSpec};
use super::{ActionResult, ExecRequest, ExecutorOptions, StepError};

/// The protocol name written in every request line.
pub(super) const PROTOCOL: &str = "runbook.exec/v1";
/// The prefix of every executor program name.
pub(super) const PROGRAM_PREFIX: &str = "runbook-executor-";

/// How much of stderr / stdout goes into protocol error messages.
const EXCERPT_CHARS: usize = 1024;

/// Runs external executors.
pub(crate) struct ExecExecutor {
    search_path: Option<OsString>,
    options: ExecutorOptions,
}

impl ExecExecutor {
    /// Looks executors up on `search_path` (`None`: the process `PATH`).
    pub(super) fn new(search_path: Option<OsString>, options: ExecutorOptions) -> Self {
        Self {
            search_path,
            options,
        }
    }

    /// Runs one attempt.
    pub(super) async fn execute(
        &self,
        req: &ExecRequest,
        cancel: &CancellationToken,
    ) -> Result<ActionResult, StepError> {
        let program = self.find(&req.executor)?;
        let mut line = serde_json::to_vec(&json!({"protocol": PROTOCOL, "input": req.input}))
            .map_err(|err| StepError::InvalidRequest {
                message: format!("cannot serialize the executor input: {err}"),
            })?;
        line.push(b'\n');
        tracing::info!(executor = %req.executor, "exec");
        tracing::debug!(executor = %req.executor, input = %req.input, "exec input");
        let spec = ProcessSpec {
            program: program.as_os_str(),
            args: Vec::new(),
            stdin: Some(line),
            max_stdout: self.options.max_output_bytes,
            stderr_tail: self.options.stderr_tail_bytes,
        };
        let output = process::run(spec, cancel).await?;
        let name = program_name(&req.executor);
        if output.exit_code != Some(0) {
            return Err(StepError::Protocol {
                message: format!(
                    "{name} exited with {}; stderr: {}",
                    output
                        .exit_code
                        .map_or_else(|| "a signal".to_owned(), |c| format!("code {c}")),
                    excerpt(&output.stderr_tail)
                ),
            });
        }
        parse_response(&name, &output.stdout, &output.stderr_tail)
    }

    /// The executable for `name`, or a Spawn error naming the directories searched.
    fn find(&self, name: &str) -> Result<PathBuf, StepError> {
        let program = program_name(name);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            || name.starts_with('.')
        {
            return Err(StepError::Spawn {
                program,
                message: "executor names may only use letters, digits, '-', '_' and '.'".to_owned(),
            });
        }
        let search = self
            .search_path
            .clone()
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default();
        let dirs: Vec<PathBuf> = std::env::split_paths(&search).collect();
        if let Some(found) = dirs
            .iter()
            .map(|dir| dir.join(&program))
            .find(|candidate| is_executable(candidate))
        {
            return Ok(found);
        }
        let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        Err(StepError::Spawn {
            message: format!(
                "no executable named {program} found on the executor search path (PATH: {})",
                if searched.is_empty() {
                    "<empty>".to_owned()
                } else {
                    searched.join(":")
                }
            ),
            program,
        })
    }
}

fn program_name(name: &str) -> String {
    format!("{PROGRAM_PREFIX}{name}")
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Reads the one response line: `{"ok":true,"result":...}` or
/// `{"ok":false,"error":"...","retryable":bool}`.
fn parse_response(program: &str, stdout: &[u8], stderr: &str) -> Result<ActionResult, StepError> {
    let text = String::from_utf8_lossy(stdout);
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let protocol_error = |what: String| StepError::Protocol {
        message: format!("{program}: {what}; stderr: {}", excerpt(stderr)),
    };
    let Some(line) = lines.next() else {
        return Err(protocol_error("no response line on stdout".to_owned()));
    };
    if lines.next().is_some() {
        return Err(protocol_error(
            "more than one line on stdout (diagnostics belong on stderr)".to_owned(),
        ));
    }
    let response: Value = serde_json::from_str(line).map_err(|err| {
        protocol_error(format!(
            "response is not JSON ({err}): {}",
            truncate_chars(line, EXCERPT_CHARS)
        ))
    })?;
    match response.get("ok") {
        Some(Value::Bool(true)) => Ok(ActionResult::new(
            response.get("result").cloned().unwrap_or(Value::Null),
        )),
        Some(Value::Bool(false)) => {
            let Some(Value::String(message)) = response.get("error") else {
                return Err(protocol_error(
                    "\"ok\": false without an \"error\" string".to_owned(),
                ));
            };
            let retryable = match response.get("retryable") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(retryable)) => *retryable,
                Some(_) => {
                    return Err(protocol_error("\"retryable\" is not a boolean".to_owned()));
                }
            };
            Err(StepError::Exec {
                message: message.clone(),
                retryable,
            })
        }
        _ => Err(protocol_error(
            "response has no boolean \"ok\" field".to_owned(),
        )),
    }
}

fn excerpt(stderr: &str) -> String {
    let trimmed = stderr.trim();
    let count = trimmed.chars().count();
    trimmed
        .chars()
        .skip(count.saturating_sub(EXCERPT_CHARS))
        .collect()
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
