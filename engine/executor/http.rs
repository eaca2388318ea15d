//! One attempt of one HTTP action: build the request, send it, read the body up to its cap,
//! check the status and shape the result JSON.
//!
//! Owns the cache of `reqwest::Client`s (one per TLS option set, so connections are pooled
//! across steps). It must NOT retry, follow redirects, start port-forwards (it is handed the
//! local port) or log header values, auth, queries or URL credentials; bodies are logged at
//! debug (`-vv`) only, through the masking log writer (`cli::logging`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::error::truncate_chars;
use super::http_route::{Pin, Route, route};
use super::process::json_or_text;
use super::{ActionResult, HttpAuth, HttpBody, HttpRequest, StepError, TlsOptions, TransportKind};

/// How much of an unexpected response body goes into the error message.
const BODY_EXCERPT_CHARS: usize = 512;

/// What makes two requests need different clients.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    tls: TlsOptions,
    // reqwest only has a per-client connect timeout.
    connect_timeout: Duration,
    // Port-forwarded and other loopback requests never go through a proxy: a corporate
    // `HTTP_PROXY` cannot reach this machine's 127.0.0.1.
    direct: bool,
    // A name pinned to addresses (a port-forward's 127.0.0.1, `tls.server_name`).
    pin: Option<Pin>,
}

/// An environment variable lookup.
type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Sends HTTP requests through cached clients.
pub(crate) struct HttpExecutor {
    clients: Mutex<HashMap<ClientKey, reqwest::Client>>,
    tokens: super::oauth2::TokenCache,
    aws: super::aws_credentials::CredentialCache,
    /// Where AWS credentials are read: the process environment (a test gives its own).
    aws_env: Box<EnvLookup>,
}

impl HttpExecutor {
    /// An executor with no clients yet.
    pub(super) fn new() -> Self {
        Self {
            clients: Mutex::new(HashMap::new()),
            tokens: super::oauth2::TokenCache::default(),
            aws: super::aws_credentials::CredentialCache::default(),
            aws_env: Box::new(|k| std::env::var(k).ok()),
        }
    }

    /// An executor reading AWS credentials from `env` instead of the process environment.
    #[cfg(test)]
    pub(super) fn with_aws_env(
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            aws_env: Box::new(env),
            ..Self::new()
        }
    }

    /// Runs one attempt; `forwarded_port` redirects the request to `http://127.0.0.1:<port>`.
    pub(super) async fn execute(
        &self,
        req: &HttpRequest,
        forwarded_port: Option<u16>,
        cancel: &CancellationToken,
    ) -> Result<ActionResult, StepError> {
        if cancel.is_cancelled() {
            return Err(StepError::Cancelled);
        }
        let Route { url, pin, direct } = route(req, forwarded_port).await?;
        let client = self.client(&ClientKey {
            tls: req.tls.clone(),
            connect_timeout: effective_connect_timeout(req.connect_timeout),
            direct,
            pin,
        })?;
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(StepError::Cancelled),
            outcome = self.authorized_send(&client, req, url) => outcome,
        }
    }

    /// Sends `req` with its credentials; an OAuth2 token is fetched first (or reused) and
    /// dropped when the API answers 401, so the next attempt fetches a new one. The token is
    /// masked out of any error text.
    async fn authorized_send(
        &self,
        client: &reqwest::Client,
        req: &HttpRequest,
        url: Url,
    ) -> Result<ActionResult, StepError> {
        let grant = match &req.auth {
            Some(HttpAuth::OAuth2(grant)) => Some(grant),
            _ => None,
        };
        let resolved = match &req.auth {
            Some(HttpAuth::OAuth2(g)) => Resolved::Bearer(self.tokens.token(client, g).await?),
            Some(HttpAuth::AwsSigV4 { region, service }) => {
                let creds = self.aws.credentials(client, region, &*self.aws_env).await?;
                let body = body_bytes(req)?.map(|(b, _)| b).unwrap_or_default();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                Resolved::Signed(super::aws_sigv4::sign(
                    &req.method,
                    &url,
                    &body,
                    &creds,
                    region,
                    service,
                    now,
                ))
            }
            _ => Resolved::None,
        };
        let token = match &resolved {
            Resolved::Bearer(t) => Some(t.clone()),
            _ => None,
        };
        log_request(req, &url);
        let builder = build_request(client, req, url, &resolved)?;
        let outcome = send(builder, req).await;
        if let (Some(g), Err(StepError::HttpStatus { status: 401, .. })) = (grant, &outcome) {
            self.tokens.forget(g);
        }
        match (token, outcome) {
            (
                Some(t),
                Err(StepError::HttpStatus {
                    status,
                    method,
                    url,
                    body_excerpt,
                    result,
                }),
            ) => Err(StepError::HttpStatus {
                status,
                method,
                url,
                body_excerpt: body_excerpt.replace(&t, "***"),
                result,
            }),
            (_, outcome) => outcome,
        }
    }

    /// The cached client for `key`, built on first use.
    fn client(&self, key: &ClientKey) -> Result<reqwest::Client, StepError> {
        // A poisoned lock only means another thread panicked while inserting; the map
        // itself is still usable.
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(key) {
            return Ok(client.clone());
        }
        let client = build_client(key)?;
        clients.insert(key.clone(), client.clone());
        Ok(client)
    }
}

/// A zero connect timeout can only mean "not set" (it would fail every request), so it gets
/// the default.
fn effective_connect_timeout(timeout: Duration) -> Duration {
    if timeout.is_zero() {
        HttpRequest::DEFAULT_CONNECT_TIMEOUT
    } else {
        timeout
    }
}

fn build_client(key: &ClientKey) -> Result<reqwest::Client, StepError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(key.connect_timeout)
        // One attempt is one request: a redirect is reported, not followed.
        .redirect(reqwest::redirect::Policy::none());
    if key.direct {
        builder = builder.no_proxy();
    } else {
        log_proxy_environment();
    }
    builder = super::http_tls::configure(builder, &key.tls)?;
    if let Some((name, addrs)) = &key.pin {
        builder = builder.resolve_to_addrs(name, addrs);
    }
    builder.build().map_err(|err| StepError::Tls {
        message: format!("cannot build the HTTP client: {}", error_chain(&err)),
    })
}

/// reqwest honours `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` for non-loopback
/// requests; `-v` says which are set (a proxy URL's credentials are not shown).
fn log_proxy_environment() {
    for name in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"] {
        let value = std::env::var(name).or_else(|_| std::env::var(name.to_ascii_lowercase()));
        if let Ok(value) = value {
            tracing::info!(proxy = %without_credentials(&value), "proxy environment: {name}");
        }
    }
}

/// A proxy URL without its `user:password@`.
fn without_credentials(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => value.to_string(),
    }
}

/// Credentials resolved for one attempt: a bearer token (OAuth2) or SigV4 headers.
enum Resolved {
    None,
    Bearer(String),
    Signed(Vec<(String, String)>),
}

fn build_request(
    client: &reqwest::Client,
    req: &HttpRequest,
    url: Url,
    resolved: &Resolved,
) -> Result<reqwest::RequestBuilder, StepError> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|_| {
        StepError::InvalidRequest {
            message: format!("invalid HTTP method {:?}", req.method),
        }
    })?;
    let mut builder = client.request(method, url).headers(header_map(req)?);
    if let Some(timeout) = req.timeout {
        builder = builder.timeout(timeout);
    }
    builder = match (&req.auth, resolved) {
        (Some(HttpAuth::Basic { username, password }), _) => {
            builder.basic_auth(username, Some(password))
        }
        (Some(HttpAuth::Bearer(token)), _) | (_, Resolved::Bearer(token)) => {
            builder.bearer_auth(token)
        }
        (_, Resolved::Signed(headers)) => headers
            .iter()
            .fold(builder, |b, (k, v)| b.header(k.as_str(), v.as_str())),
        _ => builder,
    };
    if let Some((bytes, json)) = body_bytes(req)? {
        // A JSON body gets its Content-Type unless the caller set one, as `json()` would.
        if json
            && !req
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        builder = builder.body(bytes);
    }
    Ok(builder)
}

/// The exact bytes sent (what SigV4 signs), and whether they are JSON.
fn body_bytes(req: &HttpRequest) -> Result<Option<(Vec<u8>, bool)>, StepError> {
    Ok(match &req.body {
        None => None,
        Some(HttpBody::Json(value)) => Some((
            serde_json::to_vec(value).map_err(|e| StepError::InvalidRequest {
                message: format!("cannot serialize the JSON body: {e}"),
            })?,
            true,
        )),
        Some(HttpBody::Text(text)) => Some((text.clone().into_bytes(), false)),
    })
}

fn header_map(req: &HttpRequest) -> Result<HeaderMap, StepError> {
    let mut headers = HeaderMap::with_capacity(req.headers.len());
    for (name, value) in &req.headers {
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| StepError::InvalidRequest {
                message: format!("invalid header name {name:?}"),
            })?;
        // The value is a potential secret: the message names the header only.
        let mut header_value =
            HeaderValue::from_str(value).map_err(|_| StepError::InvalidRequest {
                message: format!("invalid value for header {name:?}"),
            })?;
        header_value.set_sensitive(is_sensitive(&header_name));
        headers.append(header_name, header_value);
    }
    Ok(headers)
}

fn is_sensitive(name: &HeaderName) -> bool {
    let name = name.as_str();
    name == "authorization"
        || name == "proxy-authorization"
        || name == "cookie"
        || name.contains("token")
        || name.contains("key")
        || name.contains("secret")
}

async fn send(
    builder: reqwest::RequestBuilder,
    req: &HttpRequest,
) -> Result<ActionResult, StepError> {
    let mut response = builder.send().await.map_err(classify)?;
    let status = response.status().as_u16();
    let headers = headers_json(response.headers());
    let body = read_body(&mut response, req.max_response_bytes).await?;
    log_response(req, status, &body);
    let value = serde_json::json!({
        "status": status,
        "headers": headers,
        "body": if body.is_empty() { Value::String(String::new()) } else { json_or_text(&body) },
    });
    let result = ActionResult::new(value);
    if status_accepted(status, &req.expect) {
        return Ok(result);
    }
    Err(StepError::HttpStatus {
        status,
        method: req.method.clone(),
        // The URL as the plan wrote it (not the port-forward's), minus secrets.
        url: redact_url(&req.url),
        body_excerpt: truncate_chars(&String::from_utf8_lossy(&body), BODY_EXCERPT_CHARS),
        result: Box::new(result),
    })
}

fn status_accepted(status: u16, expect: &[u16]) -> bool {
    if expect.is_empty() {
        (200..=299).contains(&status)
    } else {
        expect.contains(&status)
    }
}

/// Response headers as a JSON object with lower-case names; repeated headers are joined with
/// `", "` as HTTP allows.
fn headers_json(headers: &HeaderMap) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                map.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    Value::Object(map)
}

/// Streams the body, failing as soon as it exceeds `limit` (announced or actual).
async fn read_body(response: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, StepError> {
    if let Some(length) = response.content_length()
        && length > u64::try_from(limit).unwrap_or(u64::MAX)
    {
        return Err(StepError::ResponseTooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(StepError::ResponseTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Maps a reqwest error to a step error. The message is built from the error chain with the
/// URL stripped, since reqwest's own Display includes the full URL (query and all).
fn classify(err: reqwest::Error) -> StepError {
    let kind = if err.is_timeout() {
        TransportKind::Timeout
    } else if err.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    let message = error_chain(&err.without_url());
    if kind != TransportKind::Timeout && looks_like_tls(&message) {
        return StepError::Tls { message };
    }
    StepError::Transport { message, kind }
}

fn looks_like_tls(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["certificate", "tls", "handshake", "corrupt message"]
        .iter()
        .any(|needle| message.contains(needle))
}

/// The error and its sources, joined with ": ".
pub(super) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Some layers repeat their source's message; keep each text once.
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// The URL without credentials, query or fragment: safe for logs and error messages.
/// How much of a body a `-vv` log line shows.
const LOG_BODY_CHARS: usize = 2048;

/// `-v`: method and URL (no query, no credentials); `-vv`: the body too. Header values are
/// never logged; the log writer masks the run's secrets in what is (`cli::logging`).
fn log_request(req: &HttpRequest, url: &Url) {
    let url = redact_url(url.as_str());
    tracing::info!(method = %req.method, %url, "http request");
    let body = match &req.body {
        Some(HttpBody::Json(v)) => v.to_string(),
        Some(HttpBody::Text(t)) => t.clone(),
        None => return,
    };
    tracing::debug!(method = %req.method, %url, body = %truncate_chars(&body, LOG_BODY_CHARS), "http request body");
}

/// `-v`: the status; `-vv`: the body too (as above).
fn log_response(req: &HttpRequest, status: u16, body: &[u8]) {
    let url = redact_url(&req.url);
    tracing::info!(method = %req.method, %url, status, "http response");
    if !req.log_response_body {
        tracing::debug!(method = %req.method, %url, status, "http response body withheld: the step captures a secret from it");
        return;
    }
    tracing::debug!(
        method = %req.method,
        %url,
        status,
        body = %truncate_chars(&String::from_utf8_lossy(body), LOG_BODY_CHARS),
        "http response body"
    );
}

pub(crate) fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("");
            match url.port() {
                Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
                None => format!("{}://{host}{}", url.scheme(), url.path()),
            }
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

#[cfg(test)]
impl HttpExecutor {
    fn client_count(&self) -> usize {
        self.clients.lock().map(|c| c.len()).unwrap_or(0)
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
