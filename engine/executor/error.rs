//! The error of one failed attempt, and whether retrying it can help.
//!
//! Classifies failures; it must NOT decide how often or when to retry (the scheduler does).
//! Messages never carry header values, auth, request bodies or URL credentials/queries.

use std::fmt;

use super::ActionResult;

/// What went wrong below HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// The connection could not be established (refused, DNS, unreachable).
    Connect,
    /// The connect or request timeout expired.
    Timeout,
    /// Anything else on the wire (reset mid-body, malformed response, ...).
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Other => "other",
        })
    }
}

/// Why one attempt failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StepError {
    /// The server answered with a status outside `expect`.
    #[error("HTTP {method} {url} returned status {status}: {body_excerpt}")]
    HttpStatus {
        /// The status received.
        status: u16,
        /// The request method.
        method: String,
        /// The URL without credentials or query.
        url: String,
        /// The start of the response body, for humans.
        body_excerpt: String,
        /// The full result, so `fail_if` / `until` can still read it.
        result: Box<ActionResult>,
    },
    /// The request did not get a complete response.
    #[error("HTTP transport error ({kind}): {message}")]
    Transport {
        /// What happened, without secrets.
        message: String,
        /// Connect, timeout or other.
        kind: TransportKind,
    },
    /// The response body was larger than `max_response_bytes`.
    #[error("HTTP response body exceeds the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// TLS setup or verification failed (bad CA file, untrusted certificate, ...).
    #[error("TLS error: {message}")]
    Tls {
        /// What happened.
        message: String,
    },
    /// `kubectl` exited with an unexpected code (or was killed by a signal).
    #[error("kubectl failed (exit code {}): {stderr_tail}", display_exit(*exit_code))]
    Kubectl {
        /// The exit code; `None` when killed by a signal.
        exit_code: Option<i32>,
        /// The end of stderr.
        stderr_tail: String,
        /// The result document, when the process ran to completion.
        result: Option<Box<ActionResult>>,
    },
    /// A program's stdout exceeded the output cap.
    #[error("{program} wrote more than the limit of {limit} bytes to stdout")]
    OutputTooLarge {
        /// The program.
        program: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A program could not be found or started.
    #[error("cannot start {program}: {message}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        message: String,
    },
    /// An external executor reported a failure (`{"ok": false, ...}`).
    #[error("executor failed: {message}")]
    Exec {
        /// The executor's message.
        message: String,
        /// Whether the executor says retrying may help.
        retryable: bool,
    },
    /// An external executor broke the protocol (bad JSON, non-zero exit, ...).
    #[error("executor protocol error: {message}")]
    Protocol {
        /// What was wrong.
        message: String,
    },
    /// A port-forward could not be started or was shut down.
    #[error("port-forward error: {message}")]
    PortForward {
        /// What happened.
        message: String,
    },
    /// The request cannot be sent as given (bad URL, header name, method, ...).
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
    },
    /// The credentials were refused before the request was sent (an OAuth2 token request
    /// answered 4xx): another attempt will not help until they are fixed.
    #[error("authentication failed: {message}")]
    Auth {
        /// The provider's reason, without secrets.
        message: String,
    },
    /// The attempt was cancelled.
    #[error("cancelled")]
    Cancelled,
}

fn display_exit(code: Option<i32>) -> String {
    code.map_or_else(|| "none, killed by a signal".to_owned(), |c| c.to_string())
}

/// stderr fragments of transient kubectl failures: it could not talk to the API server, or
/// the server failed in a way another attempt can fix (5xx, etcd timeout, optimistic-lock
/// conflict on update, throttling), as opposed to the server refusing the request.
const KUBECTL_TRANSIENT_PATTERNS: &[&str] = &[
    "unable to connect to the server",
    "connection refused",
    "connection reset by peer",
    "i/o timeout",
    "tls handshake timeout",
    "no route to host",
    "network is unreachable",
    "client.timeout exceeded",
    "context deadline exceeded",
    "http2: client connection lost",
    "the server is currently unable to handle the request",
    "the server was unable to return a response in the time allotted",
    "etcdserver: request timed out",
    "unexpected eof",
    // Go's net/http when the connection drops mid-request: `Patch "https://...": EOF`.
    "\": eof",
    "broken pipe",
    "server sent goaway",
    "server closed idle connection",
    "the object has been modified",
    "(internalerror)",
    "(serviceunavailable)",
    "(servertimeout)",
    "(timeout)",
    "(toomanyrequests)",
    "has prevented the request from succeeding",
    "too many requests",
    "tls handshake",
];

/// stderr fragments that mean kubectl never got a request to the API server: nothing can
/// have changed. (A timeout or a reset may come after the server acted, so they are absent.)
const KUBECTL_NOT_REACHED_PATTERNS: &[&str] = &[
    "unable to connect to the server",
    "connection refused",
    "was refused",
    "no route to host",
    "network is unreachable",
    "tls handshake timeout",
    "no such host",
];

/// Longest summary returned by [`StepError::summary`].
const SUMMARY_MAX_CHARS: usize = 300;

impl StepError {
    /// Whether another attempt may succeed: connection errors, timeouts, 429 and 5xx (HTTP);
    /// kubectl when stderr shows a transient failure (see `KUBECTL_TRANSIENT_PATTERNS`);
    /// exec as the executor says; port-forward failures (pods restart); never `Cancelled`.
    pub fn retryable(&self) -> bool {
        match self {
            Self::HttpStatus { status, .. } => *status == 429 || (500..=599).contains(status),
            Self::Transport { .. } | Self::PortForward { .. } => true,
            Self::Kubectl { stderr_tail, .. } => {
                let stderr = stderr_tail.to_ascii_lowercase();
                KUBECTL_TRANSIENT_PATTERNS
                    .iter()
                    .any(|pattern| stderr.contains(pattern))
            }
            Self::Exec { retryable, .. } => *retryable,
            Self::ResponseTooLarge { .. }
            | Self::Tls { .. }
            | Self::Auth { .. }
            | Self::OutputTooLarge { .. }
            | Self::Spawn { .. }
            | Self::Protocol { .. }
            | Self::InvalidRequest { .. }
            | Self::Cancelled => false,
        }
    }

    /// Whether the failed attempt may have had an effect on its target: the request may have
    /// reached the server, or kubectl may have talked to the API server. False only when it
    /// surely did not (connection refused, nothing sent, bad request, program missing).
    pub fn reached(&self) -> bool {
        match self {
            Self::Transport { kind, .. } => *kind != TransportKind::Connect,
            Self::Kubectl { stderr_tail, .. } => {
                let stderr = stderr_tail.to_ascii_lowercase();
                !KUBECTL_NOT_REACHED_PATTERNS
                    .iter()
                    .any(|pattern| stderr.contains(pattern))
            }
            Self::Tls { .. }
            | Self::Auth { .. }
            | Self::Spawn { .. }
            | Self::PortForward { .. }
            | Self::InvalidRequest { .. } => false,
            Self::HttpStatus { .. }
            | Self::ResponseTooLarge { .. }
            | Self::OutputTooLarge { .. }
            | Self::Exec { .. }
            | Self::Protocol { .. }
            | Self::Cancelled => true,
        }
    }

    /// One line for logs and the journal: the message with newlines folded, shortened; the
    /// server's reason (Elasticsearch `root_cause`, Kubernetes `Status.message`, Spring or
    /// Camunda `message`, kubectl's `Error from server` line) is kept whole, and only the
    /// rest is cut.
    pub fn summary(&self) -> String {
        let fold = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let (head, reason, rest) = match self {
            Self::HttpStatus {
                status,
                method,
                url,
                body_excerpt,
                result,
            } => (
                format!("HTTP {method} {url} returned status {status}"),
                result.value.get("body").and_then(super::reason::from_body),
                body_excerpt.clone(),
            ),
            Self::Kubectl {
                exit_code,
                stderr_tail,
                ..
            } => (
                format!("kubectl failed (exit code {})", display_exit(*exit_code)),
                super::reason::from_kubectl_stderr(stderr_tail),
                stderr_tail.clone(),
            ),
            _ => return truncate_chars(&fold(&self.to_string()), SUMMARY_MAX_CHARS),
        };
        let rest = fold(&rest);
        match reason.map(|r| fold(&r)) {
            Some(reason) if rest == reason => format!("{head}: {reason}"),
            Some(reason) => {
                let budget =
                    SUMMARY_MAX_CHARS.saturating_sub(head.chars().count() + reason.chars().count());
                if budget < 40 {
                    format!("{head}: {reason}")
                } else {
                    format!(
                        "{head}: {reason} (response: {})",
                        truncate_chars(&rest, budget)
                    )
                }
            }
            None => truncate_chars(&format!("{head}: {rest}"), SUMMARY_MAX_CHARS),
        }
    }

    /// The result document when the action ran far enough to produce one.
    pub fn result(&self) -> Option<&ActionResult> {
        match self {
            Self::HttpStatus { result, .. } => Some(result),
            Self::Kubectl { result, .. } => result.as_deref(),
            _ => None,
        }
    }
}

/// Shortens `text` to at most `max` characters, marking the cut with an ellipsis.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> StepError {
        StepError::HttpStatus {
            status,
            method: "GET".into(),
            url: "http://x/".into(),
            body_excerpt: String::new(),
            result: Box::new(ActionResult::new(serde_json::Value::Null)),
        }
    }

    #[test]
    fn executor_error_http_status_classification() {
        assert!(http(503).retryable());
        assert!(http(429).retryable());
        assert!(!http(404).retryable());
        assert!(!http(400).retryable());
        assert!(http(404).result().is_some());
    }

    #[test]
    fn executor_error_kubectl_connection_problem_is_retryable() {
        let refused = StepError::Kubectl {
            exit_code: Some(1),
            stderr_tail: "The connection to the server 127.0.0.1:6443 was refused - did you \
                          specify the right host or port? dial tcp: connection refused"
                .into(),
            result: None,
        };
        assert!(refused.retryable());
        let not_found = StepError::Kubectl {
            exit_code: Some(1),
            stderr_tail: "Error from server (NotFound): pods \"x\" not found".into(),
            result: None,
        };
        assert!(!not_found.retryable());
        assert!(!StepError::Cancelled.retryable());
        assert!(!refused.reached());
        assert!(not_found.reached());
    }

    #[test]
    fn executor_error_kubectl_server_side_transients_are_retryable() {
        let kubectl = |stderr: &str| StepError::Kubectl {
            exit_code: Some(1),
            stderr_tail: stderr.into(),
            result: None,
        };
        for stderr in [
            "Error from server (InternalError): etcdserver: request timed out",
            "Error from server (InternalError): an error on the server (\"boom\") has prevented the request from succeeding",
            "Error from server (ServiceUnavailable): the server is currently unable to handle the request",
            "Error from server (Conflict): Operation cannot be fulfilled on deployments.apps \"x\": the object has been modified; please apply your changes to the latest version and try again",
            "Error from server (TooManyRequests): the server has received too many requests",
            "Unable to connect to the server: net/http: TLS handshake timeout",
            "error: read tcp 10.0.0.1:1->10.0.0.2:6443: read: connection reset by peer",
            "Unable to connect to the server: dial tcp 10.0.0.2:6443: i/o timeout",
            "error: failed to patch env update to pod template: Patch \"http://127.0.0.1:1/apis/apps/v1/namespaces/c/statefulsets/z?timeout=30s\": EOF",
        ] {
            assert!(kubectl(stderr).retryable(), "{stderr}");
        }
        for stderr in [
            "Error from server (NotFound): deployments.apps \"x\" not found",
            "Error from server (Forbidden): deployments.apps is forbidden",
            "error: unknown flag: --bogus",
            "Error from server (AlreadyExists): secrets \"x\" already exists",
        ] {
            assert!(!kubectl(stderr).retryable(), "{stderr}");
        }
    }

    #[test]
    fn executor_error_reached_only_when_the_server_may_have_acted() {
        let transport = |kind| StepError::Transport {
            message: String::new(),
            kind,
        };
        assert!(!transport(TransportKind::Connect).reached());
        assert!(transport(TransportKind::Timeout).reached());
        assert!(http(500).reached());
        let spawn = StepError::Spawn {
            program: "kubectl".into(),
            message: "not found".into(),
        };
        assert!(!spawn.reached());
    }

    #[test]
    fn executor_error_summary_keeps_the_server_reason_whole() {
        let reason = format!(
            "[camunda:s_part_1_of_5/8jjS9u] cannot restore index [operate-{}] because an open index with same name already exists",
            "x".repeat(300)
        );
        let body = serde_json::json!({"error": {"root_cause": [{"reason": reason}], "reason": reason, "stack": "é".repeat(2000)}});
        let err = StepError::HttpStatus {
            status: 500,
            method: "POST".into(),
            url: "http://es/_snapshot/camunda/s/_restore".into(),
            body_excerpt: truncate_chars(&body.to_string(), 512),
            result: Box::new(ActionResult::new(
                serde_json::json!({"status": 500, "body": body}),
            )),
        };
        let summary = err.summary();
        assert!(summary.contains(&reason), "{summary}");
        assert!(summary.contains("because an open index with same name already exists"));
        assert!(!summary.contains(&"é".repeat(1000)), "the rest is cut");
    }

    #[test]
    fn executor_error_summary_is_one_short_line() {
        let err = StepError::Protocol {
            message: format!("line one\nline two {}", "x".repeat(1000)),
        };
        let summary = err.summary();
        assert!(!summary.contains('\n'));
        assert!(summary.chars().count() <= SUMMARY_MAX_CHARS + 1);
    }
}
