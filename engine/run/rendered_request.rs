//! rendered_request: renders a step's action against a scope into the exact request that will be
//! sent: full URL with query, headers (auth included), body; or the kubectl argv. The dry
//! run prints these; the run hands them to executors. It sends nothing.

use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use crate::plan::template::Template;
use crate::plan::{Action, Auth, Body, HttpTarget, KubectlTarget, Plan, TargetKind};

/// A request ready to send.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RenderedRequest {
    Http(RenderedHttp),
    Kubectl(RenderedKubectl),
    Exec { executor: String, input: Json },
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RenderedHttp {
    pub target: String,
    pub method: String,
    /// Full URL, query included.
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub expect: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_forward: Option<RenderedPortForward>,
    /// The target does not verify TLS certificates (`insecure: true`): shown loudly.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// The bearer token comes from this OAuth2 grant at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<Box<RenderedOAuth2>>,
    /// Signed with AWS SigV4 at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_sigv4: Option<Box<RenderedSigV4>>,
}

/// AWS SigV4 as rendered: where, for what; credentials come from the AWS environment.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RenderedSigV4 {
    pub region: String,
    pub service: String,
}

/// An OAuth2 client-credentials grant as rendered; the secret is never serialized.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RenderedOAuth2 {
    pub token_url: String,
    pub client_id: String,
    #[serde(skip)]
    pub client_secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

/// Header names and values, in order.
type Headers = Vec<(String, String)>;

/// Credentials applied at run time instead of a header.
#[derive(Default)]
struct Signer {
    oauth2: Option<Box<RenderedOAuth2>>,
    aws_sigv4: Option<Box<RenderedSigV4>>,
}

/// What a target's chosen `auth` alternative sends.
enum Credential {
    Header(String),
    OAuth2(Box<RenderedOAuth2>),
    SigV4(Box<RenderedSigV4>),
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RenderedPortForward {
    pub via: String,
    pub resource: String,
    pub remote_port: u16,
    pub local_port: u16,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RenderedKubectl {
    pub target: String,
    /// The full argv, `kubectl` first.
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
}

/// Renders the fields of every target into `scope.targets`, so templates can read
/// `{{targets.x.url}}`.
pub fn target_scope(plan: &Plan, scope: &Json) -> Result<Json, String> {
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

fn opt(t: Option<&Template>, scope: &Json) -> Result<Json, String> {
    t.map_or(Ok(Json::Null), |t| t.render(scope).map(Json::String))
}

/// Renders `action` (not a wait: render its probe) against `scope`.
pub fn render(plan: &Plan, action: &Action, scope: &Json) -> Result<RenderedRequest, String> {
    match action {
        Action::Http(h) => {
            let Some(TargetKind::Http(target)) = plan.target(&h.target).map(|t| &t.kind) else {
                return Err(format!("unknown HTTP target `{}`", h.target));
            };
            let base = target.url.render(scope)?;
            let mut url = join_url(&base, &h.path.render(scope)?);
            let query: Vec<(String, String)> = h
                .query
                .iter()
                .map(|(k, v)| v.render(scope).map(|v| (k.clone(), v)))
                .collect::<Result<_, _>>()?;
            append_query(&mut url, &query);
            let (mut headers, signer) = target_headers(target, scope)?;
            for (k, v) in &h.headers {
                headers.push((k.clone(), v.render(scope)?));
            }
            let (json, body) = match &h.body {
                Some(Body::Json(j)) => (Some(j.render(scope)?), None),
                Some(Body::Text(t)) => (None, Some(t.render(scope)?)),
                None => (None, None),
            };
            if json.is_some() {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Ok(RenderedRequest::Http(RenderedHttp {
                target: h.target.clone(),
                method: h.method.clone(),
                url,
                headers,
                json,
                body,
                expect: h.expect.clone(),
                port_forward: port_forward(target, scope)?,
                insecure: target.insecure,
                oauth2: signer.oauth2,
                aws_sigv4: signer.aws_sigv4,
            }))
        }
        Action::Kubectl(k) => {
            let Some(TargetKind::Kubectl(target)) = plan.target(&k.target).map(|t| &t.kind) else {
                return Err(format!("unknown kubectl target `{}`", k.target));
            };
            let mut argv = vec!["kubectl".to_string()];
            argv.extend(target_flags(target, scope)?);
            for a in &k.args {
                argv.push(a.render(scope)?);
            }
            Ok(RenderedRequest::Kubectl(RenderedKubectl {
                target: k.target.clone(),
                argv,
                stdin: k.stdin.as_ref().map(|s| s.render(scope)).transpose()?,
            }))
        }
        Action::Exec(e) => Ok(RenderedRequest::Exec {
            executor: e.executor.clone(),
            input: e.with.render(scope)?,
        }),
        Action::Wait(w) => render(plan, &w.probe, scope),
    }
}

/// `--context`, `--namespace`, `--kubeconfig` from a kubectl target (empty values skipped).
pub fn target_flags(target: &KubectlTarget, scope: &Json) -> Result<Vec<String>, String> {
    let mut flags = Vec::new();
    for (flag, t) in [
        ("--context", &target.context),
        ("--namespace", &target.namespace),
        ("--kubeconfig", &target.kubeconfig),
    ] {
        if let Some(t) = t {
            let v = t.render(scope)?;
            if !v.is_empty() {
                flags.push(format!("{flag}={v}"));
            }
        }
    }
    Ok(flags)
}

fn target_headers(target: &HttpTarget, scope: &Json) -> Result<(Headers, Signer), String> {
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
    let mut signer = Signer::default();
    match chosen {
        Some(Credential::Header(value)) => headers.push(("Authorization".into(), value)),
        Some(Credential::OAuth2(grant)) => signer.oauth2 = Some(grant),
        Some(Credential::SigV4(sigv4)) => signer.aws_sigv4 = Some(sigv4),
        None => {}
    }
    Ok((headers, signer))
}

/// What one scheme sends; `None` when its credential renders empty.
fn credential(auth: &Auth, scope: &Json) -> Result<Option<Credential>, String> {
    let non_empty = |t: &Template| -> Result<Option<String>, String> {
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
                Ok::<_, String>(Credential::SigV4(Box::new(RenderedSigV4 {
                    region,
                    service: service.render(scope)?,
                })))
            })
            .transpose()?,
        Auth::OAuth2(o) => match non_empty(&o.client_id)? {
            None => None,
            Some(client_id) => Some(Credential::OAuth2(Box::new(RenderedOAuth2 {
                token_url: o.token_url.render(scope)?,
                client_id,
                client_secret: o.client_secret.render(scope)?,
                scope: o.scope.as_ref().map(&non_empty).transpose()?.flatten(),
                audience: o.audience.as_ref().map(&non_empty).transpose()?.flatten(),
            }))),
        },
    })
}

fn port_forward(target: &HttpTarget, scope: &Json) -> Result<Option<RenderedPortForward>, String> {
    let Some(pf) = &target.port_forward else {
        return Ok(None);
    };
    if pf.enabled.render(scope)?.trim() != "true" {
        return Ok(None);
    }
    Ok(Some(RenderedPortForward {
        via: pf.via.clone(),
        resource: pf.resource.render(scope)?,
        remote_port: pf.remote_port,
        local_port: pf.local_port,
    }))
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
        let loaded =
            crate::plan::loader::load_source(crate::plan::source::SourceFile::new("a.yaml", text));
        assert!(loaded.validated.diagnostics.is_empty());
        let plan = loaded.validated.plan.expect("plan");
        let scope = serde_json::json!({ "params": params });
        let RenderedRequest::Http(h) = render(&plan, &plan.steps[0].action, &scope).unwrap() else {
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
}
