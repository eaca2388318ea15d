//! request_view: how the dry run shows one rendered request, in JSON and as text. It reads the
//! very request the executor would get ([`RenderedRequest`]) and only adds what the executor
//! adds on the wire (`Content-Type` of a JSON body), so the dry run cannot drift from the run.
//! Credentials never show: `Authorization` values keep only their scheme, an OAuth2 client
//! secret is never part of the view. It renders nothing and sends nothing.

use serde::Serialize;
use serde_json::Value as Json;

use crate::executor::{ActionRequest, HttpAuth, HttpBody};
use crate::run::rendered_request::{RenderedRequest, kubectl_argv, shell_line};

/// One request as the dry run shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RequestView {
    Http(Box<HttpView>),
    Kubectl(KubectlView),
    Exec { executor: String, input: Json },
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HttpView {
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
    pub port_forward: Option<PortForwardView>,
    /// The target does not verify TLS certificates (`insecure: true`): shown loudly.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// The bearer token comes from this OAuth2 grant at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2View>,
    /// Signed with AWS SigV4 at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_sigv4: Option<SigV4View>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PortForwardView {
    pub via: String,
    pub resource: String,
    pub remote_port: u16,
    pub local_port: u16,
}

/// An OAuth2 client-credentials grant, without its secret.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OAuth2View {
    pub token_url: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SigV4View {
    pub region: String,
    pub service: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KubectlView {
    pub target: String,
    /// The full argv, `kubectl` first, target flags included.
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
}

impl RequestView {
    /// The view of `r`, credentials masked.
    pub fn of(r: &RenderedRequest) -> Self {
        let target = r.target.clone().unwrap_or_default();
        match &r.request {
            ActionRequest::Http(h) => {
                let mut headers: Vec<(String, String)> = h
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), mask(k, v)))
                    .collect();
                let (json, body) = match &h.body {
                    Some(HttpBody::Json(j)) => {
                        headers.push(("Content-Type".into(), "application/json".into()));
                        (Some(j.clone()), None)
                    }
                    Some(HttpBody::Text(t)) => (None, Some(t.clone())),
                    None => (None, None),
                };
                let (oauth2, aws_sigv4) = match &h.auth {
                    Some(HttpAuth::OAuth2(o)) => (
                        Some(OAuth2View {
                            token_url: o.token_url.clone(),
                            client_id: o.client_id.clone(),
                            scope: o.scope.clone(),
                            audience: o.audience.clone(),
                        }),
                        None,
                    ),
                    Some(HttpAuth::AwsSigV4 { region, service }) => (
                        None,
                        Some(SigV4View {
                            region: region.clone(),
                            service: service.clone(),
                        }),
                    ),
                    _ => (None, None),
                };
                RequestView::Http(Box::new(HttpView {
                    target,
                    method: h.method.clone(),
                    url: h.url.clone(),
                    headers,
                    json,
                    body,
                    expect: h.expect.clone(),
                    port_forward: h.port_forward.as_ref().map(|pf| PortForwardView {
                        via: r.via.clone().unwrap_or_default(),
                        resource: pf.resource.clone(),
                        remote_port: pf.remote_port,
                        local_port: pf.local_port,
                    }),
                    insecure: h.tls.insecure,
                    oauth2,
                    aws_sigv4,
                }))
            }
            ActionRequest::Kubectl(k) => RequestView::Kubectl(KubectlView {
                target,
                argv: kubectl_argv(k),
                stdin: k.stdin.clone(),
            }),
            ActionRequest::Exec(e) => RequestView::Exec {
                executor: e.executor.clone(),
                input: e.input.clone(),
            },
        }
    }

    /// The text lines of this request, `verb` first (`call`, `undo`), each line indented.
    pub fn text(&self, out: &mut String, verb: &str, indent: &str) {
        match self {
            RequestView::Http(h) => h.text(out, verb, indent),
            RequestView::Kubectl(k) => {
                out.push_str(&format!("{indent}{verb}: {}\n", shell_line(&k.argv)));
                if let Some(s) = &k.stdin {
                    out.push_str(&format!("{indent}  stdin: {s}\n"));
                }
            }
            RequestView::Exec { executor, input } => {
                out.push_str(&format!(
                    "{indent}{verb}: runbook-executor-{executor} <<< {input}\n"
                ));
            }
        }
    }
}

impl HttpView {
    fn text(&self, out: &mut String, verb: &str, indent: &str) {
        let unverified = if self.insecure {
            "   [TLS NOT VERIFIED: insecure: true]"
        } else {
            ""
        };
        out.push_str(&format!(
            "{indent}{verb}: {} {}{unverified}\n",
            self.method, self.url
        ));
        if let Some(pf) = &self.port_forward {
            out.push_str(&format!(
                "{indent}  via: kubectl port-forward {} {}:{} (target {})\n",
                pf.resource, pf.local_port, pf.remote_port, pf.via
            ));
        }
        for (k, v) in &self.headers {
            out.push_str(&format!("{indent}  {k}: {v}\n"));
        }
        if let Some(o) = &self.oauth2 {
            out.push_str(&format!(
                "{indent}  Authorization: Bearer *** (OAuth2 client credentials of client `{}` from {}, fetched at run time)\n",
                o.client_id, o.token_url
            ));
        }
        if let Some(a) = &self.aws_sigv4 {
            out.push_str(&format!(
                "{indent}  Authorization: AWS4-HMAC-SHA256 *** (SigV4 for `{}` in {}, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the web identity token, at run time)\n",
                a.service, a.region
            ));
        }
        if let Some(j) = &self.json {
            out.push_str(&format!("{indent}  body: {j}\n"));
        }
        if let Some(b) = &self.body {
            out.push_str(&format!("{indent}  body: {b}\n"));
        }
        if !self.expect.is_empty() {
            let e: Vec<String> = self.expect.iter().map(u16::to_string).collect();
            out.push_str(&format!("{indent}  expect status: {}\n", e.join(", ")));
        }
    }
}

/// `Authorization: Basic ***`: the scheme stays, the credential goes.
fn mask(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("authorization") {
        let scheme = value.split(' ').next().unwrap_or("");
        format!("{scheme} ***")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(text: &str) -> RequestView {
        let plan = crate::plan::loader::valid_for_test(text).0;
        let scope = serde_json::json!({ "params": {} });
        let r = crate::run::rendered_request::render(&plan, &plan.steps[0].action, &scope)
            .expect("renders");
        RequestView::of(&r)
    }

    #[test]
    fn credentials_are_masked_and_a_json_body_shows_its_content_type() {
        let v = view(
            "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  es: {http: {url: \"http://127.0.0.1:1\", auth: {basic: {username: elastic, password: pw-1}}}}\nsteps:\n  - {id: a, http: {target: es, method: POST, path: /x, json: {a: 1}}}\n",
        );
        let RequestView::Http(h) = &v else {
            panic!("http")
        };
        assert_eq!(
            h.headers,
            vec![
                ("Authorization".to_string(), "Basic ***".to_string()),
                ("Content-Type".to_string(), "application/json".to_string())
            ]
        );
        let mut text = String::new();
        v.text(&mut text, "call", "");
        assert!(
            !text.contains("pw-1") && !text.contains("ZWxhc3RpYzpwdy0x"),
            "{text}"
        );
    }

    #[test]
    fn an_oauth2_grant_shows_without_its_secret() {
        let v = view(
            "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  api: {http: {url: \"http://127.0.0.1:1\", auth: {oauth2: {token_url: \"http://127.0.0.1:2/token\", client_id: runbook, client_secret: s3cret-value}}}}\nsteps:\n  - {id: a, http: {target: api, path: /v2/topology}}\n",
        );
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.contains("\"client_id\":\"runbook\""), "{json}");
        assert!(!json.contains("s3cret-value"), "{json}");
    }
}
