//! rendered_request: renders a step's action against a scope, once, into the executor's own
//! request type ([`ActionRequest`]): full URL with query, headers (auth included), body, TLS,
//! timeouts, port-forward; or the kubectl argv and target. The run hands that request to the
//! executors and the dry run displays the same value, so what is shown is what is sent. It
//! sends nothing and decides nothing about retries.

use std::path::PathBuf;

use serde_json::{Map, Value as Json, json};

use crate::executor::{
    ActionRequest, ExecRequest, HttpAuth, HttpBody, HttpRequest, KubectlRequest,
    KubectlTarget as ExecKubectlTarget, OAuth2Grant, PortForwardSpec, TlsOptions,
};
use crate::plan::template::{Template, TemplateRenderError};
use crate::plan::{Action, Auth, Body, HttpTarget, Plan, TargetKind};

/// Why an action could not be rendered into a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A template failed on this scope (a missing value, a failing helper).
    #[error(transparent)]
    Template(#[from] TemplateRenderError),
    /// The action names a target that is not a target of that kind (validation prevents it).
    #[error("unknown {kind} target `{name}`")]
    UnknownTarget { kind: &'static str, name: String },
}

/// Callers that still carry errors as text take a render error as its message.
impl From<RenderError> for String {
    fn from(e: RenderError) -> String {
        e.to_string()
    }
}

/// A request ready to send, with the plan names the dry run shows beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedRequest {
    /// The plan target it goes to (`None` for an exec action).
    pub target: Option<String>,
    /// The kubectl target a port-forwarded HTTP request goes through.
    pub via: Option<String>,
    /// Exactly what the executor gets.
    pub request: ActionRequest,
}

/// Header names and values, in order.
type Headers = Vec<(String, String)>;

/// What a target's chosen `auth` alternative sends.
enum Credential {
    Header(String),
    Signed(HttpAuth),
}

/// Renders the fields of every target into `scope.targets`, so templates can read
/// `{{targets.x.url}}`.
pub fn target_scope(plan: &Plan, scope: &Json) -> Result<Json, RenderError> {
    let mut out = Map::new();
    for t in &plan.targets {
        let v = match &t.kind {
            TargetKind::Http(h) => {
                json!({"name": t.name, "url": h.url.render(scope)?.trim_end_matches('/')})
            }
            TargetKind::Kubectl(k) => json!({
                "name": t.name,
                "context": opt(k.context.as_ref(), scope)?,
                "namespace": opt(k.namespace.as_ref(), scope)?,
                "kubeconfig": opt(k.kubeconfig.as_ref(), scope)?,
            }),
        };
        out.insert(t.name.clone(), v);
    }
    Ok(Json::Object(out))
}

fn opt(t: Option<&Template>, scope: &Json) -> Result<Json, RenderError> {
    Ok(t.map_or(Ok(Json::Null), |t| t.render(scope).map(Json::String))?)
}

/// Renders `action` (a wait: its probe) against `scope`.
pub fn render(plan: &Plan, action: &Action, scope: &Json) -> Result<RenderedRequest, RenderError> {
    match action {
        Action::Http(h) => render_http(plan, h, scope),
        Action::Kubectl(k) => {
            let target = kubectl_target(plan, &k.target, scope)?;
            let mut req = KubectlRequest::new(
                k.args
                    .iter()
                    .map(|a| a.render(scope))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            req.target = target;
            req.stdin = k.stdin.as_ref().map(|s| s.render(scope)).transpose()?;
            req.expect_exit = k.expect_exit.clone();
            Ok(RenderedRequest {
                target: Some(k.target.clone()),
                via: None,
                request: ActionRequest::Kubectl(req),
            })
        }
        Action::Exec(e) => Ok(RenderedRequest {
            target: None,
            via: None,
            request: ActionRequest::Exec(ExecRequest {
                executor: e.executor.clone(),
                input: e.with.render(scope)?,
            }),
        }),
        Action::Wait(w) => render(plan, &w.probe, scope),
    }
}

fn render_http(
    plan: &Plan,
    h: &crate::plan::HttpAction,
    scope: &Json,
) -> Result<RenderedRequest, RenderError> {
    let Some(TargetKind::Http(target)) = plan.target(&h.target).map(|t| &t.kind) else {
        return Err(RenderError::UnknownTarget {
            kind: "HTTP",
            name: h.target.clone(),
        });
    };
    let mut url = join_url(&target.url.render(scope)?, &h.path.render(scope)?);
    let query: Vec<(String, String)> = h
        .query
        .iter()
        .map(|(k, v)| v.render(scope).map(|v| (k.clone(), v)))
        .collect::<Result<_, _>>()?;
    append_query(&mut url, &query);
    let mut req = HttpRequest::new(h.method.clone(), url);
    let (mut headers, auth) = target_headers(target, scope)?;
    for (k, v) in &h.headers {
        headers.push((k.clone(), v.render(scope)?));
    }
    req.body = match &h.body {
        Some(Body::Json(j)) => Some(HttpBody::Json(j.render(scope)?)),
        Some(Body::Text(t)) => Some(HttpBody::Text(t.render(scope)?)),
        None => None,
    };
    // A JSON body gets its `Content-Type` from the executor; without a text body, a
    // `Content-Type` header would describe nothing (reference §6 #15: no body, no header).
    let text_body = matches!(req.body, Some(HttpBody::Text(_)));
    req.headers = headers
        .into_iter()
        .filter(|(k, _)| text_body || !k.eq_ignore_ascii_case("content-type"))
        .collect();
    req.auth = auth;
    req.tls = tls_options(target, scope)?;
    req.connect_timeout = target.connect_timeout;
    req.timeout = target.timeout;
    req.expect = h.expect.clone();
    req.max_response_bytes = h.max_response_bytes;
    let (port_forward, via) = match port_forward(plan, target, scope)? {
        Some((spec, via)) => (Some(spec), Some(via)),
        None => (None, None),
    };
    req.port_forward = port_forward;
    Ok(RenderedRequest {
        target: Some(h.target.clone()),
        via,
        request: ActionRequest::Http(req),
    })
}

/// A kubectl target's flags, rendered; an empty value (a param left at its default) means
/// "not set".
fn kubectl_target(plan: &Plan, name: &str, scope: &Json) -> Result<ExecKubectlTarget, RenderError> {
    let Some(TargetKind::Kubectl(k)) = plan.target(name).map(|t| &t.kind) else {
        return Err(RenderError::UnknownTarget {
            kind: "kubectl",
            name: name.into(),
        });
    };
    let field = |t: &Option<Template>| -> Result<Option<String>, RenderError> {
        Ok(t.as_ref()
            .map(|t| t.render(scope))
            .transpose()?
            .filter(|s| !s.is_empty()))
    };
    Ok(ExecKubectlTarget {
        context: field(&k.context)?,
        namespace: field(&k.namespace)?,
        kubeconfig: field(&k.kubeconfig)?.map(PathBuf::from),
    })
}

/// `--context`, `--namespace`, `--kubeconfig` as kubectl gets them from a target (empty
/// values skipped), for display.
pub fn target_flags(target: &ExecKubectlTarget) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(c) = &target.context {
        flags.push(format!("--context={c}"));
    }
    if let Some(n) = &target.namespace {
        flags.push(format!("--namespace={n}"));
    }
    if let Some(k) = &target.kubeconfig {
        flags.push(format!("--kubeconfig={}", k.display()));
    }
    flags
}

/// A kubectl request's whole argv as it runs, `kubectl` first, for display.
pub fn kubectl_argv(k: &KubectlRequest) -> Vec<String> {
    let mut argv = vec!["kubectl".to_string()];
    argv.extend(target_flags(&k.target));
    argv.extend(k.args.iter().cloned());
    argv
}

/// TLS settings of a target; an empty value means "not set".
fn tls_options(t: &HttpTarget, scope: &Json) -> Result<TlsOptions, RenderError> {
    let opt = |t: &Option<Template>| -> Result<Option<String>, RenderError> {
        Ok(match t {
            Some(t) => Some(t.render(scope)?).filter(|v| !v.trim().is_empty()),
            None => None,
        })
    };
    Ok(TlsOptions {
        ca_file: opt(&t.ca_file)?.map(PathBuf::from),
        ca_pem: opt(&t.ca_pem)?,
        client_cert: opt(&t.client_cert_file)?.map(PathBuf::from),
        client_key: opt(&t.client_key_file)?.map(PathBuf::from),
        server_name: opt(&t.server_name)?,
        insecure: t.insecure,
    })
}

fn target_headers(
    target: &HttpTarget,
    scope: &Json,
) -> Result<(Headers, Option<HttpAuth>), RenderError> {
    let mut headers: Vec<(String, String)> = target
        .headers
        .iter()
        .map(|(k, v)| v.render(scope).map(|v| (k.clone(), v)))
        .collect::<Result<_, _>>()?;
    // The first scheme whose credential is not empty (none configured: a datastore without
    // security gets no header).
    let chosen = target
        .auth
        .iter()
        .map(|a| credential(a, scope))
        .find(|v| !matches!(v, Ok(None)))
        .transpose()?
        .flatten();
    let mut auth = None;
    match chosen {
        Some(Credential::Header(value)) => headers.push(("Authorization".into(), value)),
        Some(Credential::Signed(a)) => auth = Some(a),
        None => {}
    }
    Ok((headers, auth))
}

/// What one scheme sends; `None` when its credential renders empty.
fn credential(auth: &Auth, scope: &Json) -> Result<Option<Credential>, RenderError> {
    let non_empty = |t: &Template| -> Result<Option<String>, RenderError> {
        Ok(Some(t.render(scope)?).filter(|v| !v.is_empty()))
    };
    Ok(match auth {
        Auth::Basic { username, password } => {
            let user = username.render(scope)?;
            let pass = password.render(scope)?;
            (!(user.is_empty() && pass.is_empty()))
                .then(|| Credential::Header(format!("Basic {}", base64(&format!("{user}:{pass}")))))
        }
        Auth::Bearer(t) => non_empty(t)?.map(|t| Credential::Header(format!("Bearer {t}"))),
        Auth::ApiKey(k) => non_empty(k)?.map(|k| Credential::Header(format!("ApiKey {k}"))),
        Auth::AwsSigV4 { region, service } => non_empty(region)?
            .map(|region| {
                Ok::<_, RenderError>(Credential::Signed(HttpAuth::AwsSigV4 {
                    region,
                    service: service.render(scope)?,
                }))
            })
            .transpose()?,
        Auth::OAuth2(o) => match non_empty(&o.client_id)? {
            None => None,
            Some(client_id) => Some(Credential::Signed(HttpAuth::OAuth2(OAuth2Grant {
                token_url: o.token_url.render(scope)?,
                client_id,
                client_secret: o.client_secret.render(scope)?,
                scope: o.scope.as_ref().map(&non_empty).transpose()?.flatten(),
                audience: o.audience.as_ref().map(&non_empty).transpose()?.flatten(),
            }))),
        },
    })
}

/// The port-forward a target asks for, and the name of the kubectl target it runs through.
fn port_forward(
    plan: &Plan,
    target: &HttpTarget,
    scope: &Json,
) -> Result<Option<(PortForwardSpec, String)>, RenderError> {
    let Some(pf) = &target.port_forward else {
        return Ok(None);
    };
    if pf.enabled.render(scope)?.trim() != "true" {
        return Ok(None);
    }
    let spec = PortForwardSpec {
        kubectl: kubectl_target(plan, &pf.via, scope)?,
        resource: pf.resource.render(scope)?,
        remote_port: pf.remote_port,
        local_port: pf.local_port,
    };
    Ok(Some((spec, pf.via.clone())))
}

/// Joins a base URL and a path without doubling or losing the `/` (reference §2.2: the
/// docs' base URLs end in `/`).
pub fn join_url(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_string();
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

fn append_query(url: &mut String, query: &[(String, String)]) {
    if query.is_empty() {
        return;
    }
    let encoded: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&encoded.join("&"));
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn base64(s: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A shell-quoted command line, for display only (runbook never runs a shell).
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_urls_and_encodes_queries() {
        assert_eq!(
            join_url("http://a:1/", "/actuator/x"),
            "http://a:1/actuator/x"
        );
        assert_eq!(join_url("http://a:1", "actuator"), "http://a:1/actuator");
        let mut u = "http://a/p".to_string();
        append_query(
            &mut u,
            &[("soft".into(), "true".into()), ("h".into(), "a b".into())],
        );
        assert_eq!(u, "http://a/p?soft=true&h=a+b");
        assert_eq!(base64("user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64("a"), "YQ==");
        assert_eq!(
            shell_line(&["kubectl".into(), "it's".into()]),
            "kubectl 'it'\\''s'"
        );
    }

    /// The `Authorization` header of a target whose `auth` lists alternatives, for `params`.
    fn authorization_for(params: Json) -> Option<String> {
        let text = "apiVersion: runbook/v1\nkind: Plan\nname: t\nparams:\n  key: {type: string, default: \"\"}\n  user: {type: string, default: \"\"}\ntargets:\n  es:\n    http:\n      url: http://127.0.0.1:1\n      auth:\n        - api_key: \"{{params.key}}\"\n        - basic: {username: \"{{params.user}}\", password: pw-1}\nsteps:\n  - id: a\n    http: {target: es, path: /x}\n";
        let plan = crate::plan::loader::valid_for_test(text).0;
        let scope = serde_json::json!({ "params": params });
        let ActionRequest::Http(h) = render(&plan, &plan.steps[0].action, &scope)
            .unwrap()
            .request
        else {
            panic!("http")
        };
        h.headers
            .into_iter()
            .find(|(k, _)| k == "Authorization")
            .map(|(_, v)| v)
    }

    #[test]
    fn the_first_auth_alternative_with_a_credential_is_sent() {
        assert_eq!(
            authorization_for(serde_json::json!({"key": "a2V5OnNlY3JldA==", "user": "elastic"})),
            Some("ApiKey a2V5OnNlY3JldA==".to_string())
        );
        assert_eq!(
            authorization_for(serde_json::json!({"key": "", "user": "elastic"})),
            Some(format!("Basic {}", base64("elastic:pw-1")))
        );
    }

    fn rendered(text: &str, step: usize) -> RenderedRequest {
        let plan = crate::plan::loader::valid_for_test(text).0;
        let scope = serde_json::json!({ "params": {} });
        render(&plan, &plan.steps[step].action, &scope).unwrap()
    }

    #[test]
    fn kubectl_args_reach_the_executor_as_written_and_the_target_separately() {
        let r = rendered(
            "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  k8s: {kubectl: {namespace: camunda, context: prod}}\nsteps:\n  - id: a\n    kubectl: {target: k8s, args: [get, pods, --namespace=other]}\n",
            0,
        );
        let ActionRequest::Kubectl(k) = &r.request else {
            panic!("kubectl")
        };
        // An argument that looks like a target flag is the plan's own: it is kept.
        assert_eq!(k.args, vec!["get", "pods", "--namespace=other"]);
        assert_eq!(k.target.namespace.as_deref(), Some("camunda"));
        assert_eq!(
            kubectl_argv(k),
            vec![
                "kubectl",
                "--context=prod",
                "--namespace=camunda",
                "get",
                "pods",
                "--namespace=other"
            ]
        );
    }

    #[test]
    fn a_content_type_without_a_text_body_is_not_sent() {
        let r = rendered(
            "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  es: {http: {url: \"http://127.0.0.1:1\", headers: {Content-Type: application/json, X-A: b}}}\nsteps:\n  - {id: a, http: {target: es, method: POST, path: /x}}\n  - {id: b, http: {target: es, method: POST, path: /x, body: \"raw\"}}\n",
            0,
        );
        let ActionRequest::Http(h) = &r.request else {
            panic!("http")
        };
        assert_eq!(h.headers, vec![("X-A".to_string(), "b".to_string())]);
        assert_eq!(r.target.as_deref(), Some("es"));
    }
}
