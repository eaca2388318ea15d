//! sim/http: the HTTP plumbing shared by every simulated server — a listener that refuses
//! connections while its component is down, connections that can be dropped mid-request,
//! path normalisation (`//` → `/`), fault injection, the request log, and the small request and
//! response types the component modules use. It owns no product behaviour: routing to a
//! component's handlers is a plain match here, the answers come from the component modules.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::model::{Component, Shared, World, lock};

/// Largest request body accepted.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// A parsed request.
#[derive(Clone, Debug, Default)]
pub struct Req {
    pub method: String,
    /// Normalised path (no `//`, no trailing `/` except for the root).
    pub path: String,
    /// Percent-decoded path segments.
    pub segs: Vec<String>,
    pub query: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The path and query exactly as received (what an AWS signature covers).
    pub raw_path: String,
    pub raw_query: String,
    /// Every header, names lower-case.
    pub headers: Vec<(String, String)>,
}

impl Req {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }
    /// A boolean query flag (`?x`, `?x=true`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.q(key), Some("" | "true"))
    }
    pub fn json(&self) -> Option<serde_json::Value> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }
}

/// A response to send.
#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Close the connection instead of answering.
    pub drop: bool,
}

/// `{"message": ...}`: the error body of the Camunda actuator endpoints.
#[derive(Serialize)]
pub struct Message {
    pub message: String,
}

impl Resp {
    pub fn json<T: Serialize>(status: u16, value: &T) -> Resp {
        Resp {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
            drop: false,
        }
    }
    pub fn empty(status: u16) -> Resp {
        Resp {
            status,
            content_type: "",
            body: Vec::new(),
            drop: false,
        }
    }
    pub fn text(status: u16, text: String) -> Resp {
        Resp {
            status,
            content_type: "text/plain; charset=UTF-8",
            body: text.into_bytes(),
            drop: false,
        }
    }
    pub fn message(status: u16, text: &str) -> Resp {
        Resp::json(
            status,
            &Message {
                message: text.to_string(),
            },
        )
    }
    pub fn dropped() -> Resp {
        Resp {
            drop: true,
            ..Resp::empty(500)
        }
    }
    pub fn not_found() -> Resp {
        Resp::empty(404)
    }
    pub fn method_not_allowed() -> Resp {
        Resp::empty(405)
    }
}

/// A backup id from `{"backupId": N}`; a JSON number or a string of digits (reference 6 #6).
/// `Err` carries the raw value for messages.
pub fn backup_id_from_body(body: &[u8]) -> Result<i64, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| "null".to_string())?;
    match v.get("backupId") {
        Some(serde_json::Value::Number(n)) => n.as_i64().ok_or_else(|| n.to_string()),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().map_err(|_| s.clone()),
        Some(other) => Err(other.to_string()),
        None => Err("null".to_string()),
    }
}

/// A backup id path segment.
pub fn parse_path_id(seg: &str) -> Option<i64> {
    seg.parse::<i64>().ok()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Collapses repeated slashes and drops a trailing slash (reference 2.2).
pub fn normalise_path(raw: &str) -> String {
    let segs: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segs.join("/"))
}

pub fn parse_query(q: Option<&str>) -> BTreeMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(kv), String::new()),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Listener and connections.

/// What a connection reads and writes: plain TCP, or TLS over it.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A connection (TCP, or TLS over TCP) that can be cut from a handler.
pub struct KillableStream {
    inner: Box<dyn Io>,
    kill: Arc<AtomicBool>,
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection dropped by the simulator",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Listens on a fixed address; while the component is down the socket is closed, so clients
/// get "connection refused", as with a service that has no ready pod.
pub struct GatedListener {
    addr: SocketAddr,
    inner: Option<TcpListener>,
    /// While down: the port bound but not listening, so connections are refused (as to a
    /// Service without ready pods) and the kernel does not hand the port to another process
    /// asking for a free one (Linux picks ports without a bound socket first): a parallel
    /// sweep row's simulator once took it and answered in the component's place.
    reserved: Option<tokio::net::TcpSocket>,
    gate: watch::Receiver<bool>,
    /// Serve TLS (the datastore with `datastore_tls`).
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// A failed or stalled TLS handshake gives up after this long (the next client is waiting).
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// `addr` bound without listening (SO_REUSEADDR, as the listener had: connections of the
/// closed listener may linger); `None` if the port could not be kept.
fn reserve(addr: SocketAddr) -> Option<tokio::net::TcpSocket> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .ok()?;
    socket.set_reuseaddr(true).ok()?;
    socket.bind(addr).ok()?;
    Some(socket)
}

impl GatedListener {
    /// The connection as the client speaks it; `None` when its TLS handshake failed.
    async fn wrap(&self, stream: TcpStream) -> Option<Box<dyn Io>> {
        let Some(acceptor) = &self.tls else {
            return Some(Box::new(stream));
        };
        match tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => Some(Box::new(tls)),
            _ => None,
        }
    }
}

impl axum::serve::Listener for GatedListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if !*self.gate.borrow_and_update() {
                if self.inner.take().is_some() || self.reserved.is_none() {
                    self.reserved = reserve(self.addr);
                }
                // Wait for the component to come back; a closed channel means shutdown soon.
                if self.gate.changed().await.is_err() {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                continue;
            }
            if self.inner.is_none()
                && let Some(socket) = self.reserved.take()
                && let Ok(l) = socket.listen(1024)
            {
                self.inner = Some(l);
            }
            let listener = match self.inner.as_ref() {
                Some(l) => l,
                None => match TcpListener::bind(self.addr).await {
                    Ok(l) => self.inner.insert(l),
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, addr)) => {
                        let _ = stream.set_nodelay(true);
                        let Some(inner) = self.wrap(stream).await else { continue };
                        return (
                            KillableStream { inner, kill: Arc::new(AtomicBool::new(false)) },
                            addr,
                        );
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                },
                _ = self.gate.changed() => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// Per-connection handle to cut the connection.
#[derive(Clone)]
pub struct ConnKill(Arc<AtomicBool>);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, GatedListener>>
    for ConnKill
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, GatedListener>) -> Self {
        ConnKill(stream.io().kill.clone())
    }
}

/// A running server.
pub struct ServerHandle {
    url: String,
    task: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ServerHandle {
    pub fn url(&self) -> &str {
        &self.url
    }
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Open keep-alive connections would delay a graceful stop; do not wait for them.
        let _ = tokio::time::timeout(Duration::from_millis(500), &mut self.task).await;
        self.task.abort();
    }
}

struct Ctx {
    component: Component,
    shared: Shared,
    kube: KubeSlot,
}

/// The Kubernetes stand-in as the control API reaches it: filled once the stand-in runs, and
/// weak so that the servers do not keep it alive past `SimHandle::shutdown`.
pub type KubeSlot = Arc<std::sync::OnceLock<std::sync::Weak<super::kube::KubeHandle>>>;

/// Binds an ephemeral port on 127.0.0.1 and serves `component` there.
pub async fn serve(
    component: Component,
    shared: Shared,
    kube: KubeSlot,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> io::Result<ServerHandle> {
    let first = TcpListener::bind("127.0.0.1:0").await?;
    let addr = first.local_addr()?;
    let gate = lock(&shared).gate(component);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener = GatedListener {
        addr,
        inner: Some(first),
        reserved: None,
        gate,
        tls,
    };
    let ctx = Arc::new(Ctx {
        component,
        shared,
        kube,
    });
    let app = axum::Router::new().fallback(entry).with_state(ctx);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<ConnKill>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await;
    });
    Ok(ServerHandle {
        url: format!("{scheme}://{addr}"),
        task,
        stop: Some(tx),
    })
}

async fn entry(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(kill): ConnectInfo<ConnKill>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let path = normalise_path(parts.uri.path());
    let req = Req {
        method: parts.method.as_str().to_ascii_uppercase(),
        segs: path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect(),
        query: parse_query(parts.uri.query()),
        path,
        body,
        authorization: parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        raw_path: parts.uri.path().to_string(),
        raw_query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    };
    let logged_path = match parts.uri.query() {
        Some(q) => format!("{}?{q}", req.path),
        None => req.path.clone(),
    };
    let mut flight = Flight::arrive(&ctx, &req.method, logged_path);
    let resp = answer(&ctx, &req).await;
    flight.answered(if resp.drop { 0 } else { resp.status });
    if resp.drop {
        kill.0.store(true, Ordering::SeqCst);
    }
    to_response(resp)
}

/// A request in `World::in_flight` until it is answered; logged with status 0 when the
/// client went away first (the future is dropped, e.g. a client killed while a `latency_ms`
/// fault held its call), so the in-flight list never keeps a dead request.
struct Flight {
    shared: Shared,
    key: (Component, String, String),
    done: bool,
}

impl Flight {
    fn arrive(ctx: &Ctx, method: &str, path: String) -> Self {
        let key = (ctx.component, method.to_string(), path);
        lock(&ctx.shared).in_flight.push(key.clone());
        Flight {
            shared: ctx.shared.clone(),
            key,
            done: false,
        }
    }

    fn answered(&mut self, status: u16) {
        self.done = true;
        let mut world = lock(&self.shared);
        if let Some(i) = world.in_flight.iter().position(|f| *f == self.key) {
            world.in_flight.remove(i);
        }
        let (component, method, path) = &self.key;
        world.log_request(*component, method, path, status);
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        if !self.done {
            self.answered(0);
        }
    }
}

/// Availability, faults, then the component's handler.
async fn answer(ctx: &Ctx, req: &Req) -> Resp {
    let action = {
        let mut world = lock(&ctx.shared);
        if ctx.component != Component::Control && !world.is_up(ctx.component) {
            // Keep-alive connection to a component that went away.
            return Resp::dropped();
        }
        if ctx.component == Component::Datastore
            && let Some(refused) = unauthenticated(&world, req)
        {
            return refused;
        }
        if ctx.component == Component::Control {
            None
        } else {
            world
                .faults
                .take(ctx.component.as_str(), &req.method, &req.path)
        }
    };
    if let Some(action) = action {
        if action.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(action.latency_ms)).await;
        }
        if action.drop_connection {
            return Resp::dropped();
        }
        if let Some(status) = action.status {
            return fault_body(ctx.component, req, status, action.message.as_deref());
        }
    }
    route(ctx, req).await
}

/// With `datastore_api_key` configured, a datastore request without that key gets
/// Elasticsearch's 401 `security_exception` (its texts for no and for wrong credentials); with
/// `datastore_aws`, one without a valid AWS signature gets the service's 403.
fn unauthenticated(world: &World, req: &Req) -> Option<Resp> {
    if let Some(iam) = &world.facts.config.datastore_aws {
        // Amazon OpenSearch Service answers 403 with a bare `message`.
        return super::aws_sigv4_check::verify(iam, req)
            .err()
            .map(|message| Resp::json(403, &serde_json::json!({ "message": message })));
    }
    let key = world.facts.config.datastore_api_key.as_deref()?;
    let reason = match req.authorization.as_deref() {
        Some(given) if given.strip_prefix("ApiKey ") == Some(key) => return None,
        None => format!("missing authentication credentials for REST request [{}]", req.path),
        Some(_) => "unable to authenticate with provided credentials and anonymous access is not allowed for this request".to_string(),
    };
    Some(super::es_api::error(&super::datastore::EsError::new(
        401,
        "security_exception",
        &reason,
    )))
}

async fn route(ctx: &Ctx, req: &Req) -> Resp {
    match ctx.component {
        Component::Datastore => super::es_api::handle(&ctx.shared, req).await,
        Component::Control => {
            let kube = ctx.kube.get().and_then(std::sync::Weak::upgrade);
            super::control::handle(&ctx.shared, kube.as_deref(), req)
        }
        Component::Identity => super::oauth_idp::handle(&mut lock(&ctx.shared), req),
        Component::Rest => {
            let mut world = lock(&ctx.shared);
            world.settle();
            super::rest_api::handle(&mut world, req)
        }
        c => {
            let mut world = lock(&ctx.shared);
            world.settle();
            if c == Component::Orchestration && !world.facts.context_path.is_empty() {
                // Management paths live under `orchestration.contextPath` (reference 1.1).
                let ctx_segs = world.facts.context_path.clone();
                if !req.segs.starts_with(&ctx_segs) {
                    return Resp::not_found();
                }
                let inner = Req {
                    segs: req.segs[ctx_segs.len()..].to_vec(),
                    ..req.clone()
                };
                return camunda(&mut world, c, &inner);
            }
            camunda(&mut world, c, req)
        }
    }
}

/// The actuator endpoints of the Camunda components.
fn camunda(world: &mut World, c: Component, req: &Req) -> Resp {
    let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    let rest = |n: usize| req.segs[n.min(req.segs.len())..].to_vec();
    match (c, segs.as_slice()) {
        (_, ["actuator", "health", ..]) if req.method == "GET" => {
            Resp::json(200, &serde_json::json!({"status": "UP"}))
        }
        (_, ["actuator", "info"]) if req.method == "GET" => info(world, c),
        (Component::Orchestration | Component::Gateway, ["actuator", "exporting", ..]) => {
            super::exporting::handle(world, req, &rest(2))
        }
        (Component::Orchestration, ["actuator", "backupHistory", ..]) => {
            super::webapps::handle(world, super::webapps::App::Webapps, req, &rest(2))
        }
        (Component::Orchestration, ["actuator", "backupRuntime", ..]) => {
            super::zeebe::handle(world, req, &rest(2), true)
        }
        // 8.10: the cluster topology and the cancel of a change (reference 8.9-8.10 §4.3).
        (Component::Orchestration, ["actuator", "cluster", ..])
            if world.facts.version.has_rest_api() =>
        {
            super::restore_api::handle_cluster(world, req, &rest(2))
        }
        (Component::Gateway, ["actuator", "backups", ..]) => {
            super::zeebe::handle(world, req, &rest(2), false)
        }
        (Component::Operate, ["actuator", "backups", ..]) => {
            super::webapps::handle(world, super::webapps::App::Operate, req, &rest(2))
        }
        (Component::Tasklist, ["actuator", "backups", ..]) => {
            super::webapps::handle(world, super::webapps::App::Tasklist, req, &rest(2))
        }
        (Component::Optimize, ["actuator", "backups", ..]) => {
            super::optimize::handle(world, req, &rest(2))
        }
        _ => Resp::not_found(),
    }
}

/// `GET /actuator/info` (reference §7.9; see `actuator_info`).
fn info(world: &World, c: Component) -> Resp {
    Resp::json(200, &super::actuator_info::body(world, c))
}

/// An injected error status with the body the component uses for errors.
fn fault_body(c: Component, req: &Req, status: u16, message: Option<&str>) -> Resp {
    let default = default_message(c, req, status);
    let text = message.unwrap_or(&default);
    match c {
        Component::Datastore => {
            let kind = match status {
                400 => "illegal_argument_exception",
                404 => "resource_not_found_exception",
                429 => "es_rejected_execution_exception",
                503 => "concurrent_snapshot_execution_exception",
                _ => "exception",
            };
            super::es_api::error(&super::datastore::EsError::new(status, kind, text))
        }
        Component::Optimize => super::optimize::error(status, text),
        // The 8.10 REST API answers errors as problem details (reference 8.9-8.10 §2.5).
        Component::Rest => super::oauth_idp::problem(status, "Simulated fault", text, &req.path),
        _ => Resp::message(status, text),
    }
}

/// The documented message for a status, where the reference has one.
fn default_message(c: Component, req: &Req, status: u16) -> String {
    let webapps =
        req.path.contains("backupHistory") || matches!(c, Component::Operate | Component::Tasklist);
    match (status, webapps) {
        (502, true) => format!(
            "Encountered an error connecting to Elasticsearch while retrieving repository with name [{}].",
            super::model::REPOSITORY
        ),
        (502, false) => "Failed to send request from gateway to broker.".to_string(),
        (504, _) => "Request from gateway to broker timed out. (simulated)".to_string(),
        _ => format!("Simulated fault: HTTP {status}"),
    }
}

fn to_response(resp: Resp) -> Response {
    let mut builder = Response::builder().status(resp.status);
    if !resp.content_type.is_empty() {
        builder = builder.header("content-type", resp.content_type);
    }
    builder
        .body(Body::from(resp.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalise_path("//actuator//backups/"), "/actuator/backups");
        assert_eq!(normalise_path("/"), "/");
        assert_eq!(normalise_path(""), "/");
    }

    #[test]
    fn backup_ids_accept_numbers_and_digit_strings() {
        assert_eq!(backup_id_from_body(br#"{"backupId": 5}"#), Ok(5));
        assert_eq!(backup_id_from_body(br#"{"backupId": "100"}"#), Ok(100));
        assert_eq!(backup_id_from_body(br#"{"backupId": -3}"#), Ok(-3));
        assert!(backup_id_from_body(br#"{"backupId": "x"}"#).is_err());
        assert!(backup_id_from_body(b"not json").is_err());
        assert!(backup_id_from_body(br#"{}"#).is_err());
    }

    #[test]
    fn query_and_percent_decoding() {
        let q = parse_query(Some("h=index&format=json&x"));
        assert_eq!(q.get("h").map(String::as_str), Some("index"));
        assert_eq!(q.get("x").map(String::as_str), Some(""));
        assert_eq!(percent_decode("a%2Cb"), "a,b");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
        assert_eq!(percent_decode("%"), "%");
    }
}
