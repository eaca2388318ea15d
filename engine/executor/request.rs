//! The already-rendered requests the scheduler hands to the executors.
//!
//! Plain data with defaults and helper constructors; no I/O, no validation beyond what the
//! types enforce. `Debug` never prints header values, auth or bodies (they may hold secrets).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One rendered action.
#[derive(Clone, Debug, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "the scheduler's contract matches on unboxed variants; one request per step is cheap"
)]
pub enum ActionRequest {
    /// An HTTP call.
    Http(HttpRequest),
    /// A `kubectl` invocation.
    Kubectl(KubectlRequest),
    /// An external `runbook-executor-NAME` program.
    Exec(ExecRequest),
}

/// One HTTP request.
#[derive(Clone, PartialEq)]
pub struct HttpRequest {
    /// Upper-case method, validated upstream.
    pub method: String,
    /// Full URL including the path; `query` is appended (percent-encoded).
    pub url: String,
    /// Query pairs appended to `url`.
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<HttpBody>,
    /// Authentication.
    pub auth: Option<HttpAuth>,
    /// TLS trust settings.
    pub tls: TlsOptions,
    /// Time allowed to establish the connection; zero means the default (10 s).
    pub connect_timeout: Duration,
    /// Per-request timeout (connect to end of body).
    pub timeout: Option<Duration>,
    /// Accepted statuses; empty means any 2xx.
    pub expect: Vec<u16>,
    /// Cap on the response body; exceeding it is an error (not retryable).
    pub max_response_bytes: usize,
    /// When set, the request goes to the forwarded local port: scheme, host and port of `url`
    /// are replaced by `http://127.0.0.1:<local>`.
    pub port_forward: Option<PortForwardSpec>,
    /// Whether `-vv` may log the response body. False for a step that captures a secret
    /// output from it: that secret is only known (and masked) once the body is parsed.
    pub log_response_body: bool,
}

impl ActionRequest {
    /// Keeps the response body out of the logs (see `HttpRequest::log_response_body`).
    pub fn withhold_response_body(&mut self) {
        if let Self::Http(h) = self {
            h.log_response_body = false;
        }
    }
}

impl HttpRequest {
    /// Default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default response body cap (16 MiB).
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

    /// A request with no query, headers, body or auth; default TLS, a 10 s connect timeout, no
    /// overall timeout, any 2xx accepted and a 16 MiB body cap.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            auth: None,
            tls: TlsOptions::default(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            timeout: None,
            expect: Vec::new(),
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
            port_forward: None,
            log_response_body: true,
        }
    }
}

impl fmt::Debug for HttpRequest {
    // Hand-written so that header values, auth and the body never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let query_names: Vec<&str> = self.query.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &super::http::redact_url(&self.url))
            .field("query_names", &query_names)
            .field("header_names", &header_names)
            .field("body", &self.body.as_ref().map(|_| "<redacted>"))
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("expect", &self.expect)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("port_forward", &self.port_forward)
            .finish()
    }
}

/// An HTTP request body.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpBody {
    /// Serialized as JSON with `Content-Type: application/json` (unless a header sets it).
    Json(serde_json::Value),
    /// Sent as-is; set `Content-Type` through `headers` if the server needs one.
    Text(String),
}

/// HTTP authentication.
#[derive(Clone, PartialEq)]
pub enum HttpAuth {
    /// `Authorization: Basic ...`
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer <token>`
    Bearer(String),
    /// `Authorization: Bearer <token>` with a token from an OAuth2 client-credentials grant,
    /// fetched and renewed by the executor.
    OAuth2(OAuth2Grant),
    /// AWS Signature Version 4 (`service` `es` or `aoss`), with credentials from the AWS
    /// environment variables or a web identity (IRSA).
    AwsSigV4 { region: String, service: String },
}

impl fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { .. } => f.write_str("Basic(<redacted>)"),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Self::OAuth2(g) => write!(f, "OAuth2(client {} from {})", g.client_id, g.token_url),
            Self::AwsSigV4 { region, service } => write!(f, "AwsSigV4({service} in {region})"),
        }
    }
}

/// An OAuth2 client-credentials grant (RFC 6749 §4.4).
#[derive(Clone, PartialEq)]
pub struct OAuth2Grant {
    /// The identity provider's token endpoint.
    pub token_url: String,
    pub client_id: String,
    /// Never logged or shown.
    pub client_secret: String,
    pub scope: Option<String>,
    /// Requested audience (Auth0, Camunda SaaS style providers).
    pub audience: Option<String>,
}

/// TLS trust settings; one HTTP client is kept per distinct set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    /// A PEM file with extra trusted CA certificates (added to the system roots).
    pub ca_file: Option<PathBuf>,
    /// PEM text of extra trusted CA certificates (e.g. from `--set-file`).
    pub ca_pem: Option<String>,
    /// Client certificate chain (PEM file) for mutual TLS, with `client_key`.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM file).
    pub client_key: Option<PathBuf>,
    /// The name the server certificate is checked against (and sent as SNI) instead of the
    /// URL's host; the connection still goes to the URL's address.
    pub server_name: Option<String>,
    /// Accept any server certificate. Dangerous; for test clusters only.
    pub insecure: bool,
}

/// A `kubectl port-forward` the request is routed through.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PortForwardSpec {
    /// Cluster, namespace and kubeconfig.
    pub kubectl: KubectlTarget,
    /// What to forward to, e.g. `services/camunda-zeebe-gateway`.
    pub resource: String,
    /// The port on the resource.
    pub remote_port: u16,
    /// The local port; 0 lets kubectl pick one.
    pub local_port: u16,
}

/// Which cluster and namespace `kubectl` talks to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KubectlTarget {
    /// `--context`
    pub context: Option<String>,
    /// `--namespace`
    pub namespace: Option<String>,
    /// `--kubeconfig`
    pub kubeconfig: Option<PathBuf>,
}

impl KubectlTarget {
    /// The global flags for this target, in `--flag=value` form so that a value can never be
    /// taken for another flag.
    pub fn flags(&self) -> Vec<std::ffi::OsString> {
        let mut flags = Vec::new();
        if let Some(context) = &self.context {
            flags.push(format!("--context={context}").into());
        }
        if let Some(namespace) = &self.namespace {
            flags.push(format!("--namespace={namespace}").into());
        }
        if let Some(kubeconfig) = &self.kubeconfig {
            let mut flag = std::ffi::OsString::from("--kubeconfig=");
            flag.push(kubeconfig.as_os_str());
            flags.push(flag);
        }
        flags
    }
}

/// One `kubectl` invocation (never through a shell).
#[derive(Clone, PartialEq)]
pub struct KubectlRequest {
    /// Cluster, namespace and kubeconfig; prepended as global flags when set.
    pub target: KubectlTarget,
    /// The arguments after `kubectl` (and the target flags).
    pub args: Vec<String>,
    /// Written to kubectl's stdin; `None` gives it an empty stdin.
    pub stdin: Option<String>,
    /// Accepted exit codes; empty means `[0]`.
    pub expect_exit: Vec<i32>,
}

impl KubectlRequest {
    /// A request with the given arguments, default target, no stdin, exit 0 expected.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            target: KubectlTarget::default(),
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
            expect_exit: Vec::new(),
        }
    }
}

impl fmt::Debug for KubectlRequest {
    // stdin may carry secrets (e.g. a manifest with a Secret); only its presence is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubectlRequest")
            .field("target", &self.target)
            .field("args", &self.args)
            .field("stdin", &self.stdin.as_ref().map(|_| "<redacted>"))
            .field("expect_exit", &self.expect_exit)
            .finish()
    }
}

/// One call of an external executor program.
#[derive(Clone, PartialEq)]
pub struct ExecRequest {
    /// NAME of `runbook-executor-NAME`.
    pub executor: String,
    /// Sent as `input` in the request line.
    pub input: serde_json::Value,
}

impl fmt::Debug for ExecRequest {
    // The input may carry secrets; only the executor name is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecRequest")
            .field("executor", &self.executor)
            .field("input", &"<redacted>")
            .finish()
    }
}
