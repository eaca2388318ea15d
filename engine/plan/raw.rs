//! raw: the plan as written, shape-checked but not yet understood. Every field keeps its span.
//! `RawPlan::decode` walks the YAML tree once and reports every shape problem; meaning
//! (durations, references, templates, jq, cycles) is checked later by `validate`.

use crate::plan::decode::{Decoder, Fields};
use crate::plan::source::{Span, Spanned};
use crate::plan::yaml::{Node, Value};

pub type Text = Spanned<String>;

/// The whole plan file.
pub struct RawPlan {
    pub span: Span,
    pub api_version: Option<Text>,
    pub kind: Option<Text>,
    pub name: Option<Text>,
    pub description: Option<Text>,
    pub requires: Vec<(Text, Text)>,
    pub params: Vec<RawParam>,
    pub targets: Vec<RawTarget>,
    pub steps: Vec<RawStep>,
    pub finally: Vec<RawStep>,
    pub steps_span: Span,
    /// `result:`: what the run produced, by name (templates), for the summary and metrics.
    pub result: Vec<(Text, Text)>,
    /// `windows:`: named spans of a run between two steps, for metrics.
    pub windows: Vec<RawWindow>,
}

/// `windows: {NAME: {from: STEP, to: STEP}}`.
pub struct RawWindow {
    pub name: Text,
    pub from: Option<Text>,
    pub to: Option<Text>,
}

pub struct RawParam {
    pub name: Text,
    pub ty: Option<Text>,
    pub default: Option<Node>,
    pub required: Option<Spanned<bool>>,
    pub description: Option<Text>,
    pub choices: Option<Spanned<Vec<Node>>>,
    pub secret: Option<Spanned<bool>>,
    pub env: Option<Text>,
}

pub struct RawTarget {
    pub name: Text,
    pub description: Option<Text>,
    pub kind: Option<RawTargetKind>,
}

pub enum RawTargetKind {
    Http(Box<RawHttpTarget>),
    Kubectl(RawKubectlTarget),
}

pub struct RawHttpTarget {
    pub span: Span,
    pub url: Option<Text>,
    pub headers: Vec<(Text, Text)>,
    /// One scheme, or alternatives in order (the first with a non-empty credential is sent).
    pub auth: Vec<RawAuth>,
    pub ca_file: Option<Text>,
    pub ca_pem: Option<Text>,
    pub client_cert_file: Option<Text>,
    pub client_key_file: Option<Text>,
    pub server_name: Option<Text>,
    pub insecure: Option<Spanned<bool>>,
    pub timeout: Option<Text>,
    pub connect_timeout: Option<Text>,
    pub port_forward: Option<RawPortForward>,
}

pub enum RawAuth {
    Basic { username: Text, password: Text },
    Bearer { token: Text },
    ApiKey { key: Text },
    OAuth2(RawOAuth2),
    AwsSigV4 { region: Text, service: Option<Text> },
}

/// An OAuth2 client-credentials grant.
pub struct RawOAuth2 {
    pub token_url: Text,
    pub client_id: Text,
    pub client_secret: Text,
    pub scope: Option<Text>,
    pub audience: Option<Text>,
}

pub struct RawPortForward {
    pub span: Span,
    pub via: Option<Text>,
    pub resource: Option<Text>,
    pub remote_port: Option<Spanned<i64>>,
    pub local_port: Option<Spanned<i64>>,
    pub enabled: Option<Node>,
}

pub struct RawKubectlTarget {
    pub span: Span,
    pub context: Option<Text>,
    pub namespace: Option<Text>,
    pub kubeconfig: Option<Text>,
}

/// One step (of `steps` or `finally`).
pub struct RawStep {
    pub span: Span,
    pub id: Option<Text>,
    pub description: Option<Text>,
    pub needs: Vec<Text>,
    pub when: Option<Text>,
    pub actions: Vec<(Span, RawAction)>,
    // Boxed, as `undo` and `version`: a raw plan holds every step at once.
    pub retry: Option<Box<RawRetry>>,
    pub timeout: Option<Text>,
    pub outputs: Vec<RawOutput>,
    pub undo: Option<Box<RawUndo>>,
    pub before_retry: Option<Box<RawBeforeRetry>>,
    pub destructive: Option<Spanned<bool>>,
    pub idempotent: Option<Spanned<bool>>,
    pub for_each: Option<Text>,
    pub parallelism: Option<Spanned<i64>>,
    pub check: Option<Text>,
    pub check_message: Option<Text>,
    pub version: Option<Box<RawVersion>>,
}

/// `version: {app: camunda, from: <jq>}`: the result's version must satisfy `requires`.
pub struct RawVersion {
    pub span: Span,
    pub app: Option<Text>,
    pub from: Option<Text>,
}

pub enum RawAction {
    /// Boxed: the largest variant, and a raw plan holds one action per step.
    Http(Box<RawHttp>),
    Kubectl(RawKubectl),
    Exec(RawExec),
    Wait(Box<RawWait>),
}

pub struct RawHttp {
    pub span: Span,
    pub target: Option<Text>,
    pub method: Option<Text>,
    pub path: Option<Text>,
    pub query: Vec<(Text, Text)>,
    pub headers: Vec<(Text, Text)>,
    pub json: Option<Node>,
    pub body: Option<Text>,
    pub expect: Vec<Spanned<i64>>,
    pub expect_span: Option<Span>,
    pub max_response_bytes: Option<Spanned<i64>>,
}

pub struct RawKubectl {
    pub span: Span,
    pub target: Option<Text>,
    pub args: Vec<Text>,
    pub args_span: Option<Span>,
    pub stdin: Option<Text>,
    pub expect_exit: Vec<Spanned<i64>>,
}

pub struct RawExec {
    pub span: Span,
    pub executor: Option<Text>,
    pub with: Option<Node>,
}

pub struct RawWait {
    pub span: Span,
    pub probe: Vec<(Span, RawAction)>,
    pub until: Option<Text>,
    pub fail_if: Option<Text>,
    pub interval: Option<Text>,
    pub max_interval: Option<Text>,
    pub timeout: Option<Text>,
}

pub struct RawRetry {
    pub span: Span,
    pub attempts: Option<Spanned<i64>>,
    pub initial: Option<Text>,
    pub max: Option<Text>,
    pub multiplier: Option<Spanned<f64>>,
    pub jitter: Option<Spanned<bool>>,
}

pub struct RawOutput {
    pub name: Text,
    pub jq: Option<Text>,
    pub secret: Option<Spanned<bool>>,
}

pub struct RawUndo {
    pub span: Span,
    pub description: Option<Text>,
    pub actions: Vec<(Span, RawAction)>,
    pub retry: Option<RawRetry>,
    pub timeout: Option<Text>,
}

/// `before_retry`: the call that removes what an earlier attempt of the same item left.
pub struct RawBeforeRetry {
    pub span: Span,
    pub description: Option<Text>,
    /// The read-only call whose result `select` reads (`find: {http: ...}`).
    pub find: Option<(Span, Vec<(Span, RawAction)>)>,
    pub select: Option<Text>,
    pub actions: Vec<(Span, RawAction)>,
}

const PLAN_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "name",
    "description",
    "requires",
    "params",
    "targets",
    "steps",
    "finally",
    "result",
    "windows",
];
const WINDOW_KEYS: &[&str] = &["from", "to"];
const PARAM_KEYS: &[&str] = &[
    "type",
    "default",
    "required",
    "description",
    "enum",
    "secret",
    "env",
];
const TARGET_KEYS: &[&str] = &["description", "http", "kubectl"];
const HTTP_TARGET_KEYS: &[&str] = &[
    "url",
    "headers",
    "auth",
    "tls",
    "timeout",
    "connect_timeout",
    "port_forward",
];
const AUTH_KEYS: &[&str] = &["basic", "bearer", "api_key", "oauth2", "aws_sigv4"];
const SIGV4_KEYS: &[&str] = &["region", "service"];
const OAUTH2_KEYS: &[&str] = &[
    "token_url",
    "client_id",
    "client_secret",
    "scope",
    "audience",
];
const BASIC_KEYS: &[&str] = &["username", "password"];
const TLS_KEYS: &[&str] = &[
    "ca_file",
    "ca_pem",
    "client_cert_file",
    "client_key_file",
    "server_name",
    "insecure",
];
const PORT_FORWARD_KEYS: &[&str] = &["via", "resource", "remote_port", "local_port", "enabled"];
const KUBECTL_TARGET_KEYS: &[&str] = &["context", "namespace", "kubeconfig"];
pub const STEP_KEYS: &[&str] = &[
    "id",
    "description",
    "needs",
    "when",
    "http",
    "kubectl",
    "exec",
    "wait",
    "retry",
    "timeout",
    "outputs",
    "undo",
    "before_retry",
    "destructive",
    "idempotent",
    "for_each",
    "parallelism",
    "check",
    "check_message",
    "version",
];
const HTTP_KEYS: &[&str] = &[
    "target",
    "method",
    "path",
    "query",
    "headers",
    "json",
    "body",
    "expect",
    "max_response_bytes",
];
const KUBECTL_KEYS: &[&str] = &["target", "args", "stdin", "expect_exit"];
const EXEC_KEYS: &[&str] = &["executor", "with"];
const WAIT_KEYS: &[&str] = &[
    "http",
    "kubectl",
    "exec",
    "until",
    "fail_if",
    "interval",
    "max_interval",
    "timeout",
];
const RETRY_KEYS: &[&str] = &["attempts", "backoff", "jitter"];
const BACKOFF_KEYS: &[&str] = &["initial", "max", "multiplier"];
const OUTPUT_KEYS: &[&str] = &["jq", "secret"];
const VERSION_KEYS: &[&str] = &["app", "from"];
const UNDO_KEYS: &[&str] = &["description", "http", "kubectl", "exec", "retry", "timeout"];
const BEFORE_RETRY_KEYS: &[&str] = &["description", "find", "select", "http", "kubectl", "exec"];
const CALL_KEYS: &[&str] = &["http", "kubectl", "exec"];
/// Keys that hold an action, in the order a step is read.
pub const ACTION_KEYS: &[&str] = &["http", "kubectl", "exec", "wait"];

impl RawPlan {
    /// Decodes the document; shape problems go to `d`. It takes the tree so each step's
    /// subtree is freed once decoded: tree and decoded steps never both exist whole.
    pub fn decode(mut root: Node, d: &mut Decoder) -> RawPlan {
        let steps = take_items(&mut root, "steps");
        let finally = take_items(&mut root, "finally");
        let root = &root;
        let mut plan = RawPlan {
            span: root.span,
            api_version: None,
            kind: None,
            name: None,
            description: None,
            requires: Vec::new(),
            params: Vec::new(),
            targets: Vec::new(),
            steps: Vec::new(),
            finally: Vec::new(),
            steps_span: Span::point(root.span.start),
            result: Vec::new(),
            windows: Vec::new(),
        };
        if root.value == Value::Null {
            d.push(crate::plan::diagnostic::Diagnostic::error(
                "runbook::plan::empty",
                "the plan file is empty",
                root.span,
                "nothing here",
            )
            .with_help("a plan starts with `apiVersion: runbook/v1`, `kind: Plan`, `name:` and `steps:`"));
            return plan;
        }
        let Some(f) = d.fields(root, Span::point(root.span.start), "the plan", PLAN_KEYS) else {
            return plan;
        };
        plan.api_version = required_string(d, &f, "apiVersion", "the plan");
        plan.kind = required_string(d, &f, "kind", "the plan");
        plan.name = required_string(d, &f, "name", "the plan");
        plan.description = f
            .get("description")
            .and_then(|n| d.string(n, "`description`"));
        if let Some(n) = f.get("requires") {
            plan.requires = string_map(d, n, "`requires`");
        }
        if let Some(n) = f.get("params") {
            plan.params = d
                .named_map(n, "`params`")
                .into_iter()
                .filter_map(|(name, n)| decode_param(d, name, n))
                .collect();
        }
        if let Some(n) = f.get("targets") {
            plan.targets = d
                .named_map(n, "`targets`")
                .into_iter()
                .map(|(name, n)| decode_target(d, name, n))
                .collect();
        }
        match f.get("steps") {
            Some(n) => {
                plan.steps_span = f.key_span("steps").unwrap_or(n.span);
                plan.steps = decode_steps(d, n, steps, "`steps`");
            }
            None => d.missing(&f, "steps", "the plan"),
        }
        if let Some(n) = f.get("finally") {
            plan.finally = decode_steps(d, n, finally, "`finally`");
        }
        if let Some(n) = f.get("result") {
            plan.result = string_map(d, n, "`result`");
        }
        if let Some(n) = f.get("windows") {
            plan.windows = d
                .named_map(n, "`windows`")
                .into_iter()
                .filter_map(|(name, n)| decode_window(d, name, n))
                .collect();
        }
        plan
    }
}

/// Moves the items out of the top-level list under `key` (leaving an empty list with its
/// span), so they can be decoded one by one and dropped.
fn take_items(root: &mut Node, key: &str) -> Option<Vec<Node>> {
    let Value::Map(entries) = &mut root.value else {
        return None;
    };
    entries
        .iter_mut()
        .find_map(|(k, v)| match (&k.value, &mut v.value) {
            (Value::Str(name), Value::Seq(items)) if name == key => Some(std::mem::take(items)),
            _ => None,
        })
}

/// The steps of a list whose items were taken out by `take_items`, or of `node` as it is
/// (where it is not a list and the decoder reports why).
fn decode_steps(
    d: &mut Decoder,
    node: &Node,
    taken: Option<Vec<Node>>,
    what: &str,
) -> Vec<RawStep> {
    match taken {
        Some(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(decode_step(d, &item));
            }
            out
        }
        None => d.list(node, what, false, |d, n| Some(decode_step(d, n))),
    }
}

fn required_string(d: &mut Decoder, f: &Fields<'_>, key: &str, what: &str) -> Option<Text> {
    match f.get(key) {
        Some(n) => d.string(n, &format!("`{key}`")),
        None => {
            d.missing(f, key, what);
            None
        }
    }
}

fn opt_string(d: &mut Decoder, f: &Fields<'_>, key: &str) -> Option<Text> {
    f.get(key).and_then(|n| d.string(n, &format!("`{key}`")))
}

fn opt_bool(d: &mut Decoder, f: &Fields<'_>, key: &str) -> Option<Spanned<bool>> {
    f.get(key).and_then(|n| d.bool(n, &format!("`{key}`")))
}

fn opt_int(d: &mut Decoder, f: &Fields<'_>, key: &str) -> Option<Spanned<i64>> {
    f.get(key).and_then(|n| d.int(n, &format!("`{key}`")))
}

fn opt_duration(d: &mut Decoder, f: &Fields<'_>, key: &str) -> Option<Text> {
    f.get(key)
        .and_then(|n| d.duration_text(n, &format!("`{key}`")))
}

fn string_map(d: &mut Decoder, node: &Node, what: &str) -> Vec<(Text, Text)> {
    d.named_map(node, what)
        .into_iter()
        .filter_map(|(k, v)| {
            d.scalar_text(v, &format!("`{}` in {what}", k.value))
                .map(|v| (k, v))
        })
        .collect()
}

fn decode_param(d: &mut Decoder, name: Text, node: &Node) -> Option<RawParam> {
    let what = format!("param `{}`", name.value);
    let f = d.fields(node, name.span, &what, PARAM_KEYS)?;
    Some(RawParam {
        ty: opt_string(d, &f, "type"),
        default: f.get("default").cloned(),
        required: opt_bool(d, &f, "required"),
        description: opt_string(d, &f, "description"),
        choices: f.get("enum").and_then(|n| match &n.value {
            Value::Seq(items) => Some(Spanned::new(items.clone(), n.span)),
            _ => {
                d.type_error(n, "`enum` must be a list of allowed values", "a list");
                None
            }
        }),
        secret: opt_bool(d, &f, "secret"),
        env: opt_string(d, &f, "env"),
        name,
    })
}

fn decode_window(d: &mut Decoder, name: Text, node: &Node) -> Option<RawWindow> {
    let what = format!("window `{}`", name.value);
    let f = d.fields(node, name.span, &what, WINDOW_KEYS)?;
    let from = required_string(d, &f, "from", &what);
    let to = required_string(d, &f, "to", &what);
    Some(RawWindow { name, from, to })
}

fn decode_target(d: &mut Decoder, name: Text, node: &Node) -> RawTarget {
    let what = format!("target `{}`", name.value);
    let mut target = RawTarget {
        name: name.clone(),
        description: None,
        kind: None,
    };
    let Some(f) = d.fields(node, name.span, &what, TARGET_KEYS) else {
        return target;
    };
    target.description = opt_string(d, &f, "description");
    let kinds: Vec<&str> = ["http", "kubectl"]
        .into_iter()
        .filter(|k| f.has(k))
        .collect();
    if kinds.len() != 1 {
        let span = if kinds.len() > 1 {
            f.key_span(kinds[1]).unwrap_or(name.span)
        } else {
            name.span
        };
        d.push(
            crate::plan::diagnostic::Diagnostic::error(
                "runbook::plan::target_kind",
                format!("{what} must have exactly one of `http` or `kubectl`"),
                span,
                if kinds.is_empty() {
                    "no kind given"
                } else {
                    "second kind"
                },
            )
            .with_help(
                "an HTTP endpoint is `http: {url: ...}`; a cluster is `kubectl: {namespace: ...}`",
            ),
        );
    }
    if let (Some(n), Some(k)) = (f.get("http"), f.key_span("http")) {
        target.kind = decode_http_target(d, n, k, &what).map(|h| RawTargetKind::Http(Box::new(h)));
    } else if let (Some(n), Some(k)) = (f.get("kubectl"), f.key_span("kubectl")) {
        target.kind = d
            .fields(n, k, &format!("`kubectl` of {what}"), KUBECTL_TARGET_KEYS)
            .map(|f| {
                RawTargetKind::Kubectl(RawKubectlTarget {
                    span: k,
                    context: opt_string(d, &f, "context"),
                    namespace: opt_string(d, &f, "namespace"),
                    kubeconfig: opt_string(d, &f, "kubeconfig"),
                })
            });
    }
    target
}

fn decode_http_target(
    d: &mut Decoder,
    node: &Node,
    key: Span,
    what: &str,
) -> Option<RawHttpTarget> {
    let what = format!("`http` of {what}");
    let f = d.fields(node, key, &what, HTTP_TARGET_KEYS)?;
    let mut t = RawHttpTarget {
        span: key,
        url: None,
        headers: Vec::new(),
        auth: Vec::new(),
        ca_file: None,
        ca_pem: None,
        client_cert_file: None,
        client_key_file: None,
        server_name: None,
        insecure: None,
        timeout: opt_duration(d, &f, "timeout"),
        connect_timeout: opt_duration(d, &f, "connect_timeout"),
        port_forward: None,
    };
    t.url = f.get("url").and_then(|n| d.string(n, "`url`"));
    if t.url.is_none() && !f.has("url") {
        d.missing(&f, "url", &what);
    }
    if let Some(n) = f.get("headers") {
        t.headers = string_map(d, n, "`headers`");
    }
    if let (Some(n), Some(k)) = (f.get("auth"), f.key_span("auth")) {
        t.auth = match &n.value {
            // Alternatives: `auth: [{api_key: ...}, {basic: {...}}]`.
            crate::plan::yaml::Value::Seq(items) => items
                .iter()
                .filter_map(|item| decode_auth(d, item, item.span))
                .collect(),
            _ => decode_auth(d, n, k).into_iter().collect(),
        };
    }
    if let (Some(n), Some(k)) = (f.get("tls"), f.key_span("tls"))
        && let Some(tls) = d.fields(n, k, "`tls`", TLS_KEYS)
    {
        t.ca_file = opt_string(d, &tls, "ca_file");
        t.ca_pem = opt_string(d, &tls, "ca_pem");
        t.client_cert_file = opt_string(d, &tls, "client_cert_file");
        t.client_key_file = opt_string(d, &tls, "client_key_file");
        t.server_name = opt_string(d, &tls, "server_name");
        t.insecure = opt_bool(d, &tls, "insecure");
    }
    if let (Some(n), Some(k)) = (f.get("port_forward"), f.key_span("port_forward"))
        && let Some(pf) = d.fields(n, k, "`port_forward`", PORT_FORWARD_KEYS)
    {
        let via = opt_string(d, &pf, "via");
        if via.is_none() && !pf.has("via") {
            d.missing(&pf, "via", "`port_forward`");
        }
        let resource = opt_string(d, &pf, "resource");
        if resource.is_none() && !pf.has("resource") {
            d.missing(&pf, "resource", "`port_forward`");
        }
        let remote_port = opt_int(d, &pf, "remote_port");
        if remote_port.is_none() && !pf.has("remote_port") {
            d.missing(&pf, "remote_port", "`port_forward`");
        }
        t.port_forward = Some(RawPortForward {
            span: k,
            via,
            resource,
            remote_port,
            local_port: opt_int(d, &pf, "local_port"),
            enabled: pf.get("enabled").cloned(),
        });
    }
    Some(t)
}

fn decode_auth(d: &mut Decoder, node: &Node, key: Span) -> Option<RawAuth> {
    let f = d.fields(node, key, "`auth`", AUTH_KEYS)?;
    if let (Some(n), Some(k)) = (f.get("basic"), f.key_span("basic")) {
        let b = d.fields(n, k, "`auth.basic`", BASIC_KEYS)?;
        let username = required_string(d, &b, "username", "`auth.basic`");
        let password = required_string(d, &b, "password", "`auth.basic`");
        return Some(RawAuth::Basic {
            username: username?,
            password: password?,
        });
    }
    if let Some(n) = f.get("bearer") {
        return d
            .string(n, "`auth.bearer`")
            .map(|token| RawAuth::Bearer { token });
    }
    if let (Some(n), Some(k)) = (f.get("oauth2"), f.key_span("oauth2")) {
        let o = d.fields(n, k, "`auth.oauth2`", OAUTH2_KEYS)?;
        let token_url = required_string(d, &o, "token_url", "`auth.oauth2`");
        let client_id = required_string(d, &o, "client_id", "`auth.oauth2`");
        let client_secret = required_string(d, &o, "client_secret", "`auth.oauth2`");
        return Some(RawAuth::OAuth2(RawOAuth2 {
            token_url: token_url?,
            client_id: client_id?,
            client_secret: client_secret?,
            scope: opt_string(d, &o, "scope"),
            audience: opt_string(d, &o, "audience"),
        }));
    }
    if let (Some(n), Some(k)) = (f.get("aws_sigv4"), f.key_span("aws_sigv4")) {
        let a = d.fields(n, k, "`auth.aws_sigv4`", SIGV4_KEYS)?;
        let region = required_string(d, &a, "region", "`auth.aws_sigv4`")?;
        return Some(RawAuth::AwsSigV4 {
            region,
            service: opt_string(d, &a, "service"),
        });
    }
    if let Some(n) = f.get("api_key") {
        return d
            .string(n, "`auth.api_key`")
            .map(|key| RawAuth::ApiKey { key });
    }
    d.push(crate::plan::diagnostic::Diagnostic::error(
        "runbook::plan::missing_field",
        "`auth` needs `basic`, `bearer`, `api_key`, `oauth2` or `aws_sigv4`",
        key,
        "no scheme given",
    ));
    None
}

/// Decodes one step mapping.
pub fn decode_step(d: &mut Decoder, node: &Node) -> RawStep {
    let mut step = RawStep {
        span: node.span,
        id: None,
        description: None,
        needs: Vec::new(),
        when: None,
        actions: Vec::new(),
        retry: None,
        timeout: None,
        outputs: Vec::new(),
        undo: None,
        before_retry: None,
        destructive: None,
        idempotent: None,
        for_each: None,
        parallelism: None,
        check: None,
        check_message: None,
        version: None,
    };
    let owner = Span::point(node.span.start);
    let Some(f) = d.fields(node, owner, "a step", STEP_KEYS) else {
        return step;
    };
    step.id = required_string(d, &f, "id", "a step");
    step.description = opt_string(d, &f, "description");
    if let Some(n) = f.get("needs") {
        step.needs = d.list(n, "`needs`", true, |d, n| {
            d.string(n, "an entry of `needs`")
        });
    }
    step.when = opt_string(d, &f, "when");
    step.actions = decode_actions(d, &f, ACTION_KEYS);
    step.retry = decode_retry(d, &f).map(Box::new);
    step.timeout = opt_duration(d, &f, "timeout");
    if let Some(n) = f.get("outputs") {
        step.outputs = d
            .named_map(n, "`outputs`")
            .into_iter()
            .map(|(name, n)| decode_output(d, name, n))
            .collect();
    }
    if let (Some(n), Some(k)) = (f.get("undo"), f.key_span("undo")) {
        step.undo = decode_undo(d, n, k).map(Box::new);
    }
    if let (Some(n), Some(k)) = (f.get("before_retry"), f.key_span("before_retry")) {
        step.before_retry = decode_before_retry(d, n, k).map(Box::new);
    }
    step.destructive = opt_bool(d, &f, "destructive");
    step.idempotent = opt_bool(d, &f, "idempotent");
    step.for_each = opt_string(d, &f, "for_each");
    step.parallelism = opt_int(d, &f, "parallelism");
    step.check = opt_string(d, &f, "check");
    step.check_message = opt_string(d, &f, "check_message");
    if let (Some(n), Some(k)) = (f.get("version"), f.key_span("version"))
        && let Some(v) = d.fields(n, k, "`version`", VERSION_KEYS)
    {
        step.version = Some(Box::new(RawVersion {
            span: k,
            app: required_string(d, &v, "app", "`version`"),
            from: required_string(d, &v, "from", "`version`"),
        }));
    }
    step
}

fn decode_actions(d: &mut Decoder, f: &Fields<'_>, keys: &[&str]) -> Vec<(Span, RawAction)> {
    let mut actions = keys
        .iter()
        .filter_map(|&key| {
            let (n, k) = (f.get(key)?, f.key_span(key)?);
            let action = match key {
                "http" => decode_http(d, n, k).map(|h| RawAction::Http(Box::new(h))),
                "kubectl" => decode_kubectl(d, n, k).map(RawAction::Kubectl),
                "exec" => d.fields(n, k, "`exec`", EXEC_KEYS).map(|e| {
                    let executor = required_string(d, &e, "executor", "`exec`");
                    RawAction::Exec(RawExec {
                        span: k,
                        executor,
                        with: e.get("with").cloned(),
                    })
                }),
                _ => decode_wait(d, n, k).map(|w| RawAction::Wait(Box::new(w))),
            };
            // A malformed action still counts, so "exactly one action" stays accurate.
            Some((
                k,
                action.unwrap_or(RawAction::Exec(RawExec {
                    span: k,
                    executor: None,
                    with: None,
                })),
            ))
        })
        .collect::<Vec<_>>();
    // Usually one action, but `collect` reserved room for one per action key.
    actions.shrink_to_fit();
    actions
}

fn decode_http(d: &mut Decoder, node: &Node, key: Span) -> Option<RawHttp> {
    let f = d.fields(node, key, "`http`", HTTP_KEYS)?;
    let mut h = RawHttp {
        span: key,
        target: required_string(d, &f, "target", "`http`"),
        method: opt_string(d, &f, "method"),
        path: f.get("path").and_then(|n| d.string(n, "`path`")),
        query: f
            .get("query")
            .map(|n| string_map(d, n, "`query`"))
            .unwrap_or_default(),
        headers: f
            .get("headers")
            .map(|n| string_map(d, n, "`headers`"))
            .unwrap_or_default(),
        json: f.get("json").cloned(),
        body: opt_string(d, &f, "body"),
        expect: Vec::new(),
        expect_span: f.get("expect").map(|n| n.span),
        max_response_bytes: opt_int(d, &f, "max_response_bytes"),
    };
    if let Some(n) = f.get("expect") {
        h.expect = match &n.value {
            Value::Int(_) => d.int(n, "`expect`").into_iter().collect(),
            _ => d.list(n, "`expect`", false, |d, n| {
                d.int(n, "a status in `expect`")
            }),
        };
    }
    Some(h)
}

fn decode_kubectl(d: &mut Decoder, node: &Node, key: Span) -> Option<RawKubectl> {
    let f = d.fields(node, key, "`kubectl`", KUBECTL_KEYS)?;
    let mut k = RawKubectl {
        span: key,
        target: required_string(d, &f, "target", "`kubectl`"),
        args: Vec::new(),
        args_span: f.get("args").map(|n| n.span),
        stdin: opt_string(d, &f, "stdin"),
        expect_exit: Vec::new(),
    };
    match f.get("args") {
        Some(n) => k.args = d.list(n, "`args`", false, |d, n| d.scalar_text(n, "an argument")),
        None => d.missing(&f, "args", "`kubectl`"),
    }
    if let Some(n) = f.get("expect_exit") {
        k.expect_exit = match &n.value {
            Value::Int(_) => d.int(n, "`expect_exit`").into_iter().collect(),
            _ => d.list(n, "`expect_exit`", false, |d, n| d.int(n, "an exit code")),
        };
    }
    Some(k)
}

fn decode_wait(d: &mut Decoder, node: &Node, key: Span) -> Option<RawWait> {
    let f = d.fields(node, key, "`wait`", WAIT_KEYS)?;
    Some(RawWait {
        span: key,
        probe: decode_actions(d, &f, &["http", "kubectl", "exec"]),
        until: required_string(d, &f, "until", "`wait`"),
        fail_if: opt_string(d, &f, "fail_if"),
        interval: opt_duration(d, &f, "interval"),
        max_interval: opt_duration(d, &f, "max_interval"),
        timeout: opt_duration(d, &f, "timeout"),
    })
}

fn decode_retry(d: &mut Decoder, f: &Fields<'_>) -> Option<RawRetry> {
    let (n, k) = (f.get("retry")?, f.key_span("retry")?);
    let r = d.fields(n, k, "`retry`", RETRY_KEYS)?;
    let mut retry = RawRetry {
        span: k,
        attempts: opt_int(d, &r, "attempts"),
        initial: None,
        max: None,
        multiplier: None,
        jitter: opt_bool(d, &r, "jitter"),
    };
    if let (Some(n), Some(k)) = (r.get("backoff"), r.key_span("backoff"))
        && let Some(b) = d.fields(n, k, "`backoff`", BACKOFF_KEYS)
    {
        retry.initial = opt_duration(d, &b, "initial");
        retry.max = opt_duration(d, &b, "max");
        retry.multiplier = b
            .get("multiplier")
            .and_then(|n| d.number(n, "`multiplier`"));
    }
    Some(retry)
}

fn decode_output(d: &mut Decoder, name: Text, node: &Node) -> RawOutput {
    match &node.value {
        Value::Str(s) => RawOutput {
            jq: Some(Spanned::new(s.clone(), node.span)),
            secret: None,
            name,
        },
        _ => {
            let what = format!("output `{}`", name.value);
            let Some(f) = d.fields(node, name.span, &what, OUTPUT_KEYS) else {
                return RawOutput {
                    name,
                    jq: None,
                    secret: None,
                };
            };
            RawOutput {
                jq: required_string(d, &f, "jq", &what),
                secret: opt_bool(d, &f, "secret"),
                name,
            }
        }
    }
}

fn decode_undo(d: &mut Decoder, node: &Node, key: Span) -> Option<RawUndo> {
    let f = d.fields(node, key, "`undo`", UNDO_KEYS)?;
    Some(RawUndo {
        span: key,
        description: opt_string(d, &f, "description"),
        actions: decode_actions(d, &f, &["http", "kubectl", "exec"]),
        retry: decode_retry(d, &f),
        timeout: opt_duration(d, &f, "timeout"),
    })
}

fn decode_before_retry(d: &mut Decoder, node: &Node, key: Span) -> Option<RawBeforeRetry> {
    let f = d.fields(node, key, "`before_retry`", BEFORE_RETRY_KEYS)?;
    let find = match (f.get("find"), f.key_span("find")) {
        (Some(n), Some(k)) => d
            .fields(n, k, "`find`", CALL_KEYS)
            .map(|ff| (k, decode_actions(d, &ff, CALL_KEYS))),
        _ => None,
    };
    Some(RawBeforeRetry {
        span: key,
        description: opt_string(d, &f, "description"),
        find,
        select: opt_string(d, &f, "select"),
        actions: decode_actions(d, &f, CALL_KEYS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> (RawPlan, Vec<&'static str>) {
        let mut d = Decoder::default();
        let plan = RawPlan::decode(crate::plan::yaml::parse(text).expect("yaml"), &mut d);
        (plan, d.diagnostics.iter().map(|x| x.code).collect())
    }

    const HEAD: &str = "apiVersion: runbook/v1\nkind: Plan\nname: t\n";

    #[test]
    fn a_plan_is_read_as_written_with_spans() {
        let text = format!(
            "{HEAD}requires: {{camunda: \">=8.8.0\"}}\nparams:\n  p: {{type: string, default: x, secret: true}}\ntargets:\n  web: {{http: {{url: \"http://h\", timeout: 5s}}}}\n  k: {{kubectl: {{namespace: ns}}}}\nsteps:\n  - id: a\n    needs: b\n    http: {{target: web, path: /x}}\n    retry: {{attempts: 2}}\n    outputs: {{o: .body, s: {{jq: .token, secret: true}}}}\n    undo: {{http: {{target: web, path: /u}}}}\n  - id: b\n    kubectl: {{target: k, args: [get, pods]}}\nfinally:\n  - id: f\n    exec: {{executor: echo}}\n"
        );
        let (plan, codes) = decode(&text);
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(plan.name.as_ref().map(|n| n.value.as_str()), Some("t"));
        assert_eq!(plan.requires.len(), 1);
        assert_eq!(plan.params[0].name.value, "p");
        assert_eq!(plan.params[0].secret.as_ref().map(|s| s.value), Some(true));
        assert!(matches!(plan.targets[0].kind, Some(RawTargetKind::Http(_))));
        assert!(matches!(
            plan.targets[1].kind,
            Some(RawTargetKind::Kubectl(_))
        ));
        let a = &plan.steps[0];
        assert_eq!(a.id.as_ref().map(|i| i.value.as_str()), Some("a"));
        // The id's span points at the id in the text.
        let id = a.id.as_ref().unwrap();
        assert_eq!(&text[id.span.start..id.span.end], "a");
        assert_eq!(
            a.needs.iter().map(|n| n.value.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        assert!(matches!(a.actions[..], [(_, RawAction::Http(_))]));
        assert_eq!(a.outputs.len(), 2);
        assert!(a.undo.is_some() && a.retry.is_some());
        assert!(matches!(
            plan.steps[1].actions[..],
            [(_, RawAction::Kubectl(_))]
        ));
        assert!(matches!(
            plan.finally[0].actions[..],
            [(_, RawAction::Exec(_))]
        ));
    }

    #[test]
    fn every_shape_problem_is_reported_not_only_the_first() {
        let text = format!(
            "{HEAD}steps:\n  - id: a\n    htp: {{}}\n    retry: {{attempts: many}}\n  - needs: [a]\n    http: {{target: web, path: /x, expect: [x]}}\n"
        );
        let (plan, codes) = decode(&text);
        assert_eq!(plan.steps.len(), 2, "both steps are kept");
        for code in [
            "runbook::plan::unknown_key",
            "runbook::plan::wrong_type",
            "runbook::plan::missing_field",
        ] {
            assert!(codes.contains(&code), "{code} missing from {codes:?}");
        }
    }

    #[test]
    fn an_empty_file_and_a_non_mapping_are_refused() {
        let (_, codes) = decode("");
        assert_eq!(codes, ["runbook::plan::empty"]);
        let (_, codes) = decode("[1, 2]");
        assert_eq!(codes, ["runbook::plan::wrong_type"]);
        let (plan, codes) = decode(&format!("{HEAD}steps: 3\n"));
        assert!(plan.steps.is_empty());
        assert_eq!(codes, ["runbook::plan::wrong_type"]);
    }

    #[test]
    fn several_actions_are_all_kept_for_validate_to_refuse() {
        let (plan, codes) = decode(&format!(
            "{HEAD}steps:\n  - id: a\n    http: {{target: w, path: /x}}\n    kubectl: {{target: k, args: [get]}}\n"
        ));
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(plan.steps[0].actions.len(), 2);
    }
}
