//! validate: `RawPlan` -> `Plan`. Each `check_*` pushes diagnostics and goes on, so one run
//! reports every problem of a file. Step and action checks live in `validate/steps.rs` (a
//! step's `before_retry` block in `validate/before_retry.rs`), reference checks (templates, jq,
//! ancestry) in `validate/refs.rs`, request timeouts shorter than their step's in
//! `validate/request_timeout.rs`, the plan-level `result:` in `validate/result.rs`. Nothing here runs
//! anything or touches the network.

mod before_retry;
pub(crate) mod refs;
mod request_timeout;
mod result;
mod steps;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::plan::decode::Decoder;
use crate::plan::diagnostic::{Diagnostic, did_you_mean, list_names};
use crate::plan::graph::PlanGraphs;
use crate::plan::raw::{RawAuth, RawHttpTarget, RawParam, RawPlan, RawTarget, RawTargetKind, Text};
use crate::plan::source::SourceFile;
use crate::plan::template::Template;
use crate::plan::yaml::{Node, Value};
use crate::plan::{
    Auth, HttpTarget, KubectlTarget, Param, ParamDefault, ParamType, Plan, PortForward,
    Requirement, Target, TargetKind,
};

pub const API_VERSION: &str = "runbook/v1";

/// The outcome of validating one file: the plan if there were no errors, and every
/// diagnostic (warnings included) either way.
pub struct Validated {
    pub plan: Option<Plan>,
    pub graphs: Option<PlanGraphs>,
    pub diagnostics: Vec<Diagnostic>,
}

/// State shared by the checks of one file.
pub(crate) struct Checker<'a> {
    pub source: &'a SourceFile,
    pub d: Decoder,
    /// The plan's `requires`, for `version` checks of steps.
    pub requires: Vec<Requirement>,
    /// Declared params and their types, for `{{params.x}}` timeouts.
    pub params: Vec<(String, ParamType)>,
    /// jq expressions seen so far, compiled together once the steps are checked.
    pub pending_jq: Vec<steps::PendingJq>,
}

impl Checker<'_> {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.d.push(d);
    }

    /// Parses a template string found at `text.span`.
    pub(crate) fn template(&mut self, text: &Text) -> Template {
        let content = content_start(self.source, text);
        match Template::parse(&text.value, text.span, content) {
            Ok(t) => t,
            Err(e) => {
                self.push(
                    Diagnostic::error("runbook::template::syntax", format!("template does not parse: {}", e.message), e.span, "here")
                        .with_help("templates use handlebars: `{{params.name}}`, `{{steps.<id>.outputs.<name>}}`"),
                );
                Template::literal(text.value.clone(), text.span)
            }
        }
    }

    /// A timeout: a fixed duration, or exactly `{{params.NAME}}` naming a `duration` param.
    pub(crate) fn timeout(&mut self, text: &Text, what: &str) -> Option<crate::plan::Timeout> {
        let Some(inner) = text
            .value
            .trim()
            .strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
        else {
            return self.duration(text, what).map(crate::plan::Timeout::Fixed);
        };
        let name = inner.trim().strip_prefix("params.").unwrap_or("");
        match self.params.iter().find(|(n, _)| n == name) {
            Some((_, ParamType::Duration)) => Some(crate::plan::Timeout::Param(name.to_string())),
            Some((_, ty)) => {
                self.push(
                    Diagnostic::error(
                        "runbook::plan::bad_duration",
                        format!(
                            "{what} reads param `{name}`, which is a {}, not a duration",
                            ty.as_str()
                        ),
                        text.span,
                        "not a duration param",
                    )
                    .with_help(format!("declare `{name}` with `type: duration`")),
                );
                None
            }
            None => {
                self.push(
                    Diagnostic::error("runbook::plan::bad_duration", format!("{what} must be a duration or `{{{{params.NAME}}}}` of a duration param"), text.span, "not a duration")
                        .with_help("write `30s`, or declare a `type: duration` param and write `\"{{params.NAME}}\"`"),
                );
                None
            }
        }
    }

    /// Parses a duration, or reports it.
    pub(crate) fn duration(&mut self, text: &Text, what: &str) -> Option<Duration> {
        match crate::plan::duration::parse(&text.value) {
            Ok(d) => Some(d),
            Err(e) => {
                self.push(
                    Diagnostic::error(
                        "runbook::plan::bad_duration",
                        format!("{what} is not a valid duration: {e}"),
                        text.span,
                        "not a duration",
                    )
                    .with_help("write a number with a unit: `250ms`, `30s`, `5m`, `1h30m`"),
                );
                None
            }
        }
    }
}

/// Where the text of a YAML scalar starts in the file, if its characters map 1:1 onto the
/// value (plain or quoted without escapes); `None` for escaped, folded or block strings.
fn content_start(source: &SourceFile, text: &Text) -> Option<usize> {
    let raw = source.slice(text.span);
    let inner = match raw.as_bytes().first() {
        Some(b'\'' | b'"') if raw.len() >= 2 => (&raw[1..raw.len() - 1], text.span.start + 1),
        _ => (raw, text.span.start),
    };
    (inner.0 == text.value).then_some(inner.1)
}

/// Validates a parsed YAML document.
pub fn validate(source: &SourceFile, root: Node) -> Validated {
    validate_raw(source, decode(root))
}

/// A document decoded into plan shapes, with the decoder's diagnostics so far. It owns its
/// data, so the YAML tree can be dropped before validation goes on: on a 10k-step plan the
/// tree is a third of validation's peak memory.
pub struct Decoded {
    raw: RawPlan,
    d: Decoder,
}

/// The first half of `validate`: shapes only.
pub fn decode(root: Node) -> Decoded {
    let mut d = Decoder::default();
    let raw = RawPlan::decode(root, &mut d);
    Decoded { raw, d }
}

/// The second half of `validate`: everything after the shapes.
pub fn validate_raw(source: &SourceFile, decoded: Decoded) -> Validated {
    let Decoded { mut raw, d } = decoded;
    let mut c = Checker {
        source,
        d,
        requires: Vec::new(),
        params: Vec::new(),
        pending_jq: Vec::new(),
    };
    let header = check_header(&mut c, &raw);
    let requires = check_requires(&mut c, &raw);
    c.requires.clone_from(&requires);
    let params = check_params(&mut c, &raw.params);
    c.params = params.iter().map(|p| (p.name.clone(), p.ty)).collect();
    let targets = check_targets(&mut c, &raw.targets);
    let (steps, finally) = steps::check_steps(&mut c, &mut raw, &targets);
    let result = result::check_result(&mut c, &raw.result, &params, &steps, &finally);
    let windows = result::check_windows(&mut c, &raw.windows, &steps, &finally);
    let pending_jq = std::mem::take(&mut c.pending_jq);
    // Compiling jq and hashing the file need nothing else: they run on a second thread
    // while the graphs and references are checked.
    let (graphs, (jq_errors, digest)) = std::thread::scope(|s| {
        let side = s.spawn(|| {
            let jq_errors = steps::compile_pending_jq(&pending_jq);
            (jq_errors, digest(source.text()))
        });
        let graphs = steps::check_graphs(&mut c, &steps, &finally);
        if let Some(PlanGraphs {
            main, finally: fin, ..
        }) = &graphs
        {
            refs::check_references(&mut c, &params, &targets, &steps, &finally, main, fin);
        }
        let side = side.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (graphs, side)
    });
    jq_errors.into_iter().for_each(|d| c.push(d));
    let mut diagnostics = c.d.diagnostics;
    diagnostics.sort_by_key(|d| (d.primary_span().start, d.code));
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    let plan = match (ok, header, graphs.is_some()) {
        (true, Some((name, description)), true) => Some(Plan {
            source: source.clone(),
            name,
            description,
            requires,
            params,
            targets,
            steps,
            finally,
            digest,
            result,
            windows,
        }),
        _ => None,
    };
    Validated {
        plan,
        graphs: if ok { graphs } else { None },
        diagnostics,
    }
}

fn digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_header(c: &mut Checker<'_>, raw: &RawPlan) -> Option<(String, Option<String>)> {
    if let Some(v) = &raw.api_version
        && v.value != API_VERSION
    {
        c.push(
            Diagnostic::error(
                "runbook::plan::api_version",
                format!("unsupported apiVersion `{}`", v.value),
                v.span,
                "unknown version",
            )
            .with_help(format!("this runbook reads `apiVersion: {API_VERSION}`")),
        );
    }
    if let Some(k) = &raw.kind
        && k.value != "Plan"
    {
        c.push(
            Diagnostic::error(
                "runbook::plan::kind",
                format!("unsupported kind `{}`", k.value),
                k.span,
                "expected `Plan`",
            )
            .with_help("write `kind: Plan`"),
        );
    }
    let name = raw.name.as_ref()?;
    if name.value.trim().is_empty() {
        c.push(Diagnostic::error(
            "runbook::plan::empty_name",
            "the plan name is empty",
            name.span,
            "give the plan a name",
        ));
    }
    Some((
        name.value.clone(),
        raw.description.as_ref().map(|d| d.value.clone()),
    ))
}

fn check_requires(c: &mut Checker<'_>, raw: &RawPlan) -> Vec<Requirement> {
    raw.requires
        .iter()
        .filter_map(|(app, req)| match semver::VersionReq::parse(&req.value) {
            Ok(constraint) => Some(Requirement {
                app: app.value.clone(),
                constraint,
                text: req.value.clone(),
                span: req.span,
            }),
            Err(e) => {
                c.push(
                    Diagnostic::error(
                        "runbook::plan::bad_version_constraint",
                        format!("`{}` is not a version constraint: {e}", req.value),
                        req.span,
                        "not a constraint",
                    )
                    .with_help("write e.g. `\">=8.8.0, <8.9.0\"`"),
                );
                None
            }
        })
        .collect()
}

fn check_params(c: &mut Checker<'_>, raw: &[RawParam]) -> Vec<Param> {
    let mut seen = HashSet::new();
    raw.iter()
        .filter_map(|p| {
            check_name(c, &p.name, "param");
            if !seen.insert(p.name.value.clone()) {
                c.push(Diagnostic::error(
                    "runbook::plan::duplicate_param",
                    format!("param `{}` is declared twice", p.name.value),
                    p.name.span,
                    "declared again",
                ));
            }
            check_param(c, p)
        })
        .collect()
}

pub(crate) fn check_name(c: &mut Checker<'_>, name: &Text, what: &str) {
    let ok = !name.value.is_empty()
        && name
            .value
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        && name
            .value
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_');
    if !ok {
        c.push(
            Diagnostic::error(
                "runbook::plan::bad_name",
                format!("`{}` is not a valid {what} name", name.value),
                name.span,
                "invalid name",
            )
            .with_help("names start with a letter or `_` and use letters, digits, `_` and `-`"),
        );
    }
}

fn check_param(c: &mut Checker<'_>, p: &RawParam) -> Option<Param> {
    let ty = match &p.ty {
        None => ParamType::String,
        Some(t) => match ParamType::parse(&t.value) {
            Some(ty) => ty,
            None => {
                let help =
                    did_you_mean(&t.value, ParamType::ALL.iter().copied()).unwrap_or_else(|| {
                        format!("types: {}", list_names(ParamType::ALL.iter().copied()))
                    });
                c.push(
                    Diagnostic::error(
                        "runbook::plan::unknown_type",
                        format!("unknown param type `{}`", t.value),
                        t.span,
                        "not a type",
                    )
                    .with_help(help),
                );
                return None;
            }
        },
    };
    let choices: Vec<Json> = p
        .choices
        .as_ref()
        .map(|ch| {
            ch.value
                .iter()
                .filter_map(|n| typed_value(c, n, ty, "an `enum` value"))
                .collect()
        })
        .unwrap_or_default();
    let default = p
        .default
        .as_ref()
        .and_then(|n| check_default(c, n, ty, &choices));
    if let Some(env) = &p.env
        && (env.value.is_empty()
            || !env
                .value
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
    {
        c.push(Diagnostic::error(
            "runbook::plan::bad_env",
            format!("`{}` is not an environment variable name", env.value),
            env.span,
            "invalid name",
        ));
    }
    let required = p.required.as_ref().is_some_and(|r| r.value);
    if required && let (Some(r), Some(n)) = (&p.required, &p.default) {
        c.push(
            Diagnostic::warning(
                "runbook::plan::required_with_default",
                format!("param `{}` is required but has a default", p.name.value),
                n.span,
                "never used",
            )
            .with_label(r.span, "required here")
            .with_help("drop `required: true` or the default"),
        );
    }
    Some(Param {
        name: p.name.value.clone(),
        span: p.name.span,
        ty,
        default,
        required,
        description: p.description.as_ref().map(|d| d.value.clone()),
        choices,
        secret: p.secret.as_ref().is_some_and(|s| s.value),
        env: p.env.as_ref().map(|e| e.value.clone()),
    })
}

fn check_default(
    c: &mut Checker<'_>,
    n: &Node,
    ty: ParamType,
    choices: &[Json],
) -> Option<ParamDefault> {
    if let Value::Str(s) = &n.value
        && s.contains("{{")
    {
        let t = c.template(&Text::new(s.clone(), n.span));
        if let Some(r) = t.refs.first() {
            c.push(
                Diagnostic::error(
                    "runbook::template::default_reference",
                    format!("a computed default cannot read `{}`", r.dotted()),
                    r.span,
                    "not available before the run",
                )
                .with_help("computed defaults may only call helpers such as `{{now \"unix\"}}`"),
            );
        }
        return Some(ParamDefault::Minted(t));
    }
    let v = typed_value(c, n, ty, "the default")?;
    if !choices.is_empty() && !choices.contains(&v) {
        c.push(Diagnostic::error(
            "runbook::plan::default_not_in_enum",
            "the default is not one of the `enum` values",
            n.span,
            "not allowed by `enum`",
        ));
    }
    Some(ParamDefault::Value(v))
}

/// Checks a YAML value against a param type and converts it.
fn typed_value(c: &mut Checker<'_>, n: &Node, ty: ParamType, what: &str) -> Option<Json> {
    match crate::plan::params::coerce(&n.to_json(), ty) {
        Ok(v) => Some(v),
        Err(e) => {
            c.push(Diagnostic::error(
                "runbook::plan::wrong_type",
                format!("{what} does not fit type `{}`: {e}", ty.as_str()),
                n.span,
                format!("not {}", ty.as_str()),
            ));
            None
        }
    }
}

fn check_targets(c: &mut Checker<'_>, raw: &[RawTarget]) -> Vec<Target> {
    let kubectl_names: HashSet<&str> = raw
        .iter()
        .filter(|t| matches!(t.kind, Some(RawTargetKind::Kubectl(_))))
        .map(|t| t.name.value.as_str())
        .collect();
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for t in raw {
        check_name(c, &t.name, "target");
        if let Some(first) = seen.insert(t.name.value.clone(), t.name.span) {
            c.push(
                Diagnostic::error(
                    "runbook::plan::duplicate_target",
                    format!("target `{}` is declared twice", t.name.value),
                    t.name.span,
                    "declared again",
                )
                .with_label(first, "first declared here"),
            );
        }
        let kind = match &t.kind {
            Some(RawTargetKind::Http(h)) => {
                TargetKind::Http(check_http_target(c, h, &kubectl_names))
            }
            Some(RawTargetKind::Kubectl(k)) => TargetKind::Kubectl(KubectlTarget {
                context: k.context.as_ref().map(|x| c.template(x)),
                namespace: k.namespace.as_ref().map(|x| c.template(x)),
                kubeconfig: k.kubeconfig.as_ref().map(|x| c.template(x)),
            }),
            None => continue,
        };
        out.push(Target {
            name: t.name.value.clone(),
            span: t.name.span,
            kind,
        });
    }
    out
}

fn check_http_target(
    c: &mut Checker<'_>,
    h: &RawHttpTarget,
    kubectl: &HashSet<&str>,
) -> HttpTarget {
    let url = h
        .url
        .as_ref()
        .map_or_else(|| Template::literal("", h.span), |u| c.template(u));
    if let Some(u) = &h.url
        && url.is_literal()
    {
        check_url(c, u);
    }
    let port_forward = h.port_forward.as_ref().and_then(|pf| {
        let via = pf.via.as_ref()?;
        if !kubectl.contains(via.value.as_str()) {
            let help = did_you_mean(&via.value, kubectl.iter().copied()).unwrap_or_else(|| {
                format!("kubectl targets: {}", list_names(kubectl.iter().copied()))
            });
            c.push(
                Diagnostic::error(
                    "runbook::plan::unknown_target",
                    format!(
                        "`port_forward.via` names `{}`, which is not a kubectl target",
                        via.value
                    ),
                    via.span,
                    "no kubectl target with this name",
                )
                .with_help(help),
            );
        }
        let remote_port = port(c, pf.remote_port.as_ref()?, false)?;
        let local_port = pf
            .local_port
            .as_ref()
            .map_or(Some(0), |p| port(c, p, true))?;
        let enabled = match &pf.enabled {
            None => Template::literal("true", pf.span),
            Some(Node {
                value: Value::Bool(b),
                span,
            }) => Template::literal(b.to_string(), *span),
            Some(Node {
                value: Value::Str(s),
                span,
            }) => c.template(&Text::new(s.clone(), *span)),
            Some(n) => {
                c.d.type_error(
                    n,
                    "`port_forward.enabled` must be a boolean or a template",
                    "a boolean",
                );
                return None;
            }
        };
        Some(PortForward {
            via: via.value.clone(),
            resource: c.template(pf.resource.as_ref()?),
            remote_port,
            local_port,
            enabled,
        })
    });
    HttpTarget {
        url,
        headers: h
            .headers
            .iter()
            .map(|(k, v)| (k.value.clone(), c.template(v)))
            .collect(),
        auth: h
            .auth
            .iter()
            .map(|a| match a {
                RawAuth::Basic { username, password } => Auth::Basic {
                    username: c.template(username),
                    password: c.template(password),
                },
                RawAuth::Bearer { token } => Auth::Bearer(c.template(token)),
                RawAuth::ApiKey { key } => Auth::ApiKey(c.template(key)),
                RawAuth::AwsSigV4 { region, service } => Auth::AwsSigV4 {
                    region: c.template(region),
                    service: service
                        .as_ref()
                        .map_or_else(|| Template::literal("es", region.span), |s| c.template(s)),
                },
                RawAuth::OAuth2(o) => Auth::OAuth2(Box::new(crate::plan::OAuth2Auth {
                    token_url: c.template(&o.token_url),
                    client_id: c.template(&o.client_id),
                    client_secret: c.template(&o.client_secret),
                    scope: o.scope.as_ref().map(|t| c.template(t)),
                    audience: o.audience.as_ref().map(|t| c.template(t)),
                })),
            })
            .collect(),
        ca_file: h.ca_file.as_ref().map(|f| c.template(f)),
        ca_pem: h.ca_pem.as_ref().map(|f| c.template(f)),
        client_cert_file: h.client_cert_file.as_ref().map(|f| c.template(f)),
        client_key_file: h.client_key_file.as_ref().map(|f| c.template(f)),
        server_name: h.server_name.as_ref().map(|f| c.template(f)),
        insecure: h.insecure.as_ref().is_some_and(|i| i.value),
        timeout: h.timeout.as_ref().and_then(|t| c.duration(t, "`timeout`")),
        connect_timeout: h
            .connect_timeout
            .as_ref()
            .and_then(|t| c.duration(t, "`connect_timeout`"))
            .unwrap_or(Duration::from_secs(10)),
        port_forward,
    }
}

fn port(c: &mut Checker<'_>, p: &crate::plan::source::Spanned<i64>, zero_ok: bool) -> Option<u16> {
    match u16::try_from(p.value) {
        Ok(v) if v > 0 || zero_ok => Some(v),
        _ => {
            c.push(Diagnostic::error(
                "runbook::plan::bad_port",
                format!("{} is not a port number", p.value),
                p.span,
                "expected 1 to 65535",
            ));
            None
        }
    }
}

pub(crate) fn check_url(c: &mut Checker<'_>, u: &Text) {
    match url::Url::parse(&u.value) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
        Ok(parsed) => c.push(Diagnostic::error(
            "runbook::plan::bad_url",
            format!("URL scheme `{}` is not supported", parsed.scheme()),
            u.span,
            "expected http or https",
        )),
        Err(e) => c.push(
            Diagnostic::error(
                "runbook::plan::bad_url",
                format!("`{}` is not a valid URL: {e}", u.value),
                u.span,
                "not a URL",
            )
            .with_help("write a full URL such as `http://camunda-zeebe-gateway:9600`"),
        ),
    }
}

#[cfg(test)]
mod tests;
