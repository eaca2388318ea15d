//! model: the validated, typed plan. Everything here has been checked: references resolve,
//! templates and jq expressions parse, durations and URLs are well formed. Spans are kept for
//! run-time messages ("step defined here"). Building it is `validate`'s job; this module only
//! holds the model and small queries on it.

use std::time::Duration;

use serde_json::Value as Json;

use crate::plan::jq::Jq;
use crate::plan::source::{SourceFile, Span};
use crate::plan::template::Template;

/// A plan that passed validation.
#[derive(Clone, Debug)]
pub struct Plan {
    pub source: SourceFile,
    pub name: String,
    pub description: Option<String>,
    pub requires: Vec<Requirement>,
    pub params: Vec<Param>,
    pub targets: Vec<Target>,
    /// The main graph, in file order.
    pub steps: Vec<Step>,
    /// Steps that always run after the main graph, in file order.
    pub finally: Vec<Step>,
    /// SHA-256 of the plan text, for journals and resume.
    pub digest: String,
    /// `result:`: what a run produced (e.g. `backup_id`), by name, rendered from params and
    /// step outputs at the end of the run for the summary, `--output json` and metrics.
    pub result: Vec<(String, Template)>,
    /// `windows:`: named spans between two steps (e.g. the exporting-paused window), measured
    /// from the start of `from` to the end of `to`, for metrics.
    pub windows: Vec<Window>,
}

/// One `windows:` entry: the span from the start of step `from` to the end of step `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub name: String,
    pub from: String,
    pub to: String,
}

/// `requires: {app: ">=8.8.0, <8.9.0"}`.
#[derive(Clone, Debug)]
pub struct Requirement {
    pub app: String,
    pub constraint: semver::VersionReq,
    pub text: String,
    pub span: Span,
}

/// The type of a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
    Duration,
    Url,
    List,
}

impl ParamType {
    pub const ALL: &'static [&'static str] = &[
        "string", "integer", "number", "boolean", "duration", "url", "list",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "duration" => Self::Duration,
            "url" => Self::Url,
            "list" => Self::List,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Duration => "duration",
            Self::Url => "url",
            Self::List => "list",
        }
    }
}

/// A declared parameter.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub span: Span,
    pub ty: ParamType,
    pub default: Option<ParamDefault>,
    pub required: bool,
    pub description: Option<String>,
    pub choices: Vec<Json>,
    pub secret: bool,
    pub env: Option<String>,
}

/// A default value: fixed, or minted once per run from a template (e.g. `{{now "unix"}}`).
#[derive(Clone, Debug)]
pub enum ParamDefault {
    Value(Json),
    Minted(Template),
}

/// A named endpoint.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: String,
    pub span: Span,
    pub kind: TargetKind,
}

// A plan has a handful of targets: their size does not matter, their readability does.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum TargetKind {
    Http(HttpTarget),
    Kubectl(KubectlTarget),
}

#[derive(Clone, Debug)]
pub struct HttpTarget {
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    /// Alternatives in order: the first whose credential renders non-empty is sent.
    pub auth: Vec<Auth>,
    pub ca_file: Option<Template>,
    pub ca_pem: Option<Template>,
    pub client_cert_file: Option<Template>,
    pub client_key_file: Option<Template>,
    pub server_name: Option<Template>,
    pub insecure: bool,
    pub timeout: Option<Duration>,
    pub connect_timeout: Duration,
    pub port_forward: Option<PortForward>,
}

#[derive(Clone, Debug)]
pub enum Auth {
    Basic {
        username: Template,
        password: Template,
    },
    Bearer(Template),
    /// `Authorization: ApiKey <key>` (Elasticsearch's encoded API key, Elastic Cloud).
    ApiKey(Template),
    /// `Authorization: Bearer <token>` with a token from an OAuth2 client-credentials grant.
    OAuth2(Box<OAuth2Auth>),
    /// AWS Signature Version 4; `region` empty = not configured; `service` `es` or `aoss`.
    AwsSigV4 {
        region: Template,
        service: Template,
    },
}

/// An OAuth2 client-credentials grant; `client_id` empty = not configured.
#[derive(Clone, Debug)]
pub struct OAuth2Auth {
    pub token_url: Template,
    pub client_id: Template,
    pub client_secret: Template,
    pub scope: Option<Template>,
    pub audience: Option<Template>,
}

/// Reach an HTTP target through `kubectl port-forward`.
#[derive(Clone, Debug)]
pub struct PortForward {
    /// The kubectl target to forward through.
    pub via: String,
    pub resource: Template,
    pub remote_port: u16,
    pub local_port: u16,
    /// Rendered at run time; `false` means "use the URL directly".
    pub enabled: Template,
}

#[derive(Clone, Debug)]
pub struct KubectlTarget {
    pub context: Option<Template>,
    pub namespace: Option<Template>,
    pub kubeconfig: Option<Template>,
}

/// A step of the main graph or of `finally`.
#[derive(Clone, Debug)]
pub struct Step {
    pub id: String,
    pub id_span: Span,
    pub span: Span,
    pub description: Option<String>,
    pub needs: Vec<(String, Span)>,
    pub when: Option<Jq>,
    pub action: Action,
    pub retry: RetryPolicy,
    pub timeout: Option<Timeout>,
    pub outputs: Vec<Output>,
    // Boxed, as the rarely set fields below: most steps have none, and `Step` stays small.
    pub undo: Option<Box<Undo>>,
    /// Runs before every attempt after the first, and before the first attempt of a step
    /// or item a resumed run's journal shows as started and not finished.
    pub before_retry: Option<Box<BeforeRetry>>,
    pub destructive: bool,
    pub idempotent: bool,
    pub for_each: Option<Jq>,
    /// At most this many `for_each` items at once (`None`: the run's `--max-parallel`).
    pub parallelism: Option<usize>,
    pub check: Option<Jq>,
    pub check_message: Option<Box<Template>>,
    pub version: Option<Box<VersionCheck>>,
    pub is_finally: bool,
}

/// The version an action reports must satisfy the plan's `requires` for `app`.
#[derive(Clone, Debug)]
pub struct VersionCheck {
    pub app: String,
    pub constraint: semver::VersionReq,
    pub text: String,
    pub from: Jq,
}

/// What a step does.
///
/// Variants are boxed: a plan holds one per step (tens of thousands in large plans), and the
/// enum would otherwise be as large as its largest variant.
#[derive(Clone, Debug)]
pub enum Action {
    Http(Box<HttpAction>),
    Kubectl(Box<KubectlAction>),
    Exec(Box<ExecAction>),
    Wait(Box<WaitAction>),
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Http(_) => "http",
            Action::Kubectl(_) => "kubectl",
            Action::Exec(_) => "exec",
            Action::Wait(_) => "wait",
        }
    }

    /// Whether the action only reads (HTTP GET/HEAD, `kubectl get|logs|rollout status`, a
    /// wait polling such a call): re-running it after a crash repeats no side effect.
    pub fn is_read_only(&self) -> bool {
        match self {
            Action::Http(h) => matches!(h.method.as_str(), "GET" | "HEAD" | "OPTIONS"),
            Action::Kubectl(k) => {
                let verb: Vec<&str> = k.args.iter().take(2).map(|a| a.source.as_str()).collect();
                matches!(
                    verb.as_slice(),
                    ["get", ..] | ["logs", ..] | ["rollout", "status"] | ["version", ..]
                )
            }
            Action::Exec(_) => false,
            Action::Wait(w) => w.probe.is_read_only(),
        }
    }

    /// Every template the action renders.
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            Action::Http(h) => {
                let mut t = vec![&h.path];
                t.extend(h.query.iter().map(|(_, v)| v));
                t.extend(h.headers.iter().map(|(_, v)| v));
                match &h.body {
                    Some(Body::Json(j)) => j.templates(&mut t),
                    Some(Body::Text(b)) => t.push(b),
                    None => {}
                }
                t
            }
            Action::Kubectl(k) => k.args.iter().chain(k.stdin.iter()).collect(),
            Action::Exec(e) => {
                let mut t = Vec::new();
                e.with.templates(&mut t);
                t
            }
            Action::Wait(w) => w.probe.templates(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct HttpAction {
    pub target: String,
    pub target_span: Span,
    pub method: String,
    pub path: Template,
    pub query: Vec<(String, Template)>,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Body>,
    pub expect: Vec<u16>,
    pub max_response_bytes: usize,
}

#[derive(Clone, Debug)]
pub enum Body {
    Json(JsonTemplate),
    Text(Template),
}

/// A JSON value whose strings may be templates.
#[derive(Clone, Debug)]
pub enum JsonTemplate {
    Literal(Json),
    Text(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    fn templates<'a>(&'a self, out: &mut Vec<&'a Template>) {
        match self {
            JsonTemplate::Literal(_) => {}
            JsonTemplate::Text(t) => out.push(t),
            JsonTemplate::Array(items) => items.iter().for_each(|i| i.templates(out)),
            JsonTemplate::Object(entries) => entries.iter().for_each(|(_, v)| v.templates(out)),
        }
    }

    /// Renders every template; whole-string `{{path}}` keeps the value's type.
    pub fn render(&self, scope: &Json) -> Result<Json, crate::plan::template::TemplateRenderError> {
        Ok(match self {
            JsonTemplate::Literal(v) => v.clone(),
            JsonTemplate::Text(t) => t.render_value(scope)?,
            JsonTemplate::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|i| i.render(scope))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| v.render(scope).map(|v| (k.clone(), v)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

#[derive(Clone, Debug)]
pub struct KubectlAction {
    pub target: String,
    pub target_span: Span,
    pub args: Vec<Template>,
    pub stdin: Option<Template>,
    pub expect_exit: Vec<i32>,
}

#[derive(Clone, Debug)]
pub struct ExecAction {
    pub executor: String,
    pub with: JsonTemplate,
}

/// Poll `probe` until `until` holds, failing fast when `fail_if` does.
#[derive(Clone, Debug)]
pub struct WaitAction {
    pub probe: Action,
    pub until: Jq,
    pub fail_if: Option<Jq>,
    pub interval: Duration,
    pub max_interval: Duration,
    pub timeout: Option<Timeout>,
}

/// A timeout: fixed, or the value of a `duration` param (`timeout: "{{params.wait_timeout}}"`).
#[derive(Clone, Debug, PartialEq)]
pub enum Timeout {
    Fixed(Duration),
    Param(String),
}

impl Timeout {
    /// The duration for this run's params (`None` if the param has no usable value).
    pub fn resolve(&self, params: &Json) -> Option<Duration> {
        match self {
            Timeout::Fixed(d) => Some(*d),
            Timeout::Param(name) => params
                .get(name)
                .and_then(Json::as_str)
                .and_then(|s| crate::plan::duration::parse(s).ok()),
        }
    }

    /// How a dry run shows it.
    pub fn describe(&self, params: &Json) -> String {
        match (self, self.resolve(params)) {
            (Timeout::Param(name), Some(d)) => {
                format!("{} (params.{name})", crate::plan::duration::format(d))
            }
            (Timeout::Param(name), None) => format!("params.{name}"),
            (Timeout::Fixed(d), _) => crate::plan::duration::format(*d),
        }
    }
}

/// Retries of retryable failures, with exponential backoff.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = no retry).
    pub attempts: u32,
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 1,
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1` (attempt counts from 1), without jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .multiplier
            .powi(i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX));
        let secs = (self.initial.as_secs_f64() * exp).min(self.max.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub span: Span,
    pub jq: Jq,
    pub secret: bool,
}

/// The clean-up a step runs before repeating an attempt (`before_retry`).
#[derive(Clone, Debug)]
pub struct BeforeRetry {
    pub span: Span,
    pub description: Option<String>,
    /// With `select`: a read-only call whose result `select` reads.
    pub find: Option<Action>,
    /// jq over `find`'s result: the strings to clean up, each one `{{leftover}}` of one call.
    pub select: Option<Jq>,
    pub action: Action,
}

/// The compensation of a step that succeeded.
#[derive(Clone, Debug)]
pub struct Undo {
    pub span: Span,
    pub description: Option<String>,
    pub action: Action,
    pub retry: RetryPolicy,
    pub timeout: Option<Timeout>,
}

impl Plan {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().chain(&self.finally).find(|s| s.id == id)
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}
