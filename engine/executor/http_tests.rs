//! Tests for the HTTP executor, against real axum servers on 127.0.0.1 (and a tokio-rustls
//! server with rcgen-made certificates for TLS).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::http::{HeaderMap as AxumHeaders, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use serde_json::json;

use super::*;
use crate::executor::http_route::{forwarded_route, is_loopback};

/// Every test is bounded; a hang fails instead of stalling the suite.
async fn bounded<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("test timed out")
}

async fn echo(method: Method, uri: Uri, headers: AxumHeaders, body: String) -> impl IntoResponse {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), json!(v.to_str().unwrap_or(""))))
        .collect();
    axum::Json(json!({
        "method": method.as_str(),
        "path": uri.path(),
        "raw_query": uri.query(),
        "query": query,
        "headers": headers,
        "body": body,
    }))
}

async fn status(UrlPath(code): UrlPath<u16>) -> impl IntoResponse {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, format!("status {}", code.as_u16()))
}

async fn big(UrlPath(n): UrlPath<usize>) -> impl IntoResponse {
    "x".repeat(n)
}

/// A body of `n` bytes without Content-Length, so only streaming can enforce the cap.
async fn stream(UrlPath(n): UrlPath<usize>) -> impl IntoResponse {
    let chunks = (0..n.div_ceil(1000))
        .map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'y'; 1000])));
    Body::from_stream(futures::stream::iter(chunks))
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "late"
}

/// Starts the test server; it lives until the test's runtime ends.
async fn server() -> SocketAddr {
    let app = Router::new()
        .route("/echo", any(echo))
        .route("/status/{code}", any(status))
        .route("/big/{n}", get(big))
        .route("/stream/{n}", get(stream))
        .route("/slow", get(slow))
        .route("/text", get(|| async { "plain text" }))
        .route(
            "/json",
            get(|| async { axum::Json(json!({"healthy": true})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn run(exec: &HttpExecutor, req: &HttpRequest) -> Result<ActionResult, StepError> {
    exec.execute(req, None, &CancellationToken::new()).await
}

#[tokio::test]
async fn executor_http_method_query_headers_and_json_body_arrive() {
    bounded(async {
        let addr = server().await;
        let exec = HttpExecutor::new();
        let mut req = HttpRequest::new("POST", format!("http://{addr}/echo"));
        req.query = vec![
            ("q".into(), "a b&c=d".into()),
            ("unicode".into(), "ü/?".into()),
        ];
        req.headers = vec![("X-Test".into(), "v1".into())];
        req.body = Some(HttpBody::Json(json!({"k": [1, 2]})));
        let result = run(&exec, &req).await.expect("ok");
        let v = &result.value;
        assert_eq!(v["status"], 200);
        assert_eq!(v["headers"]["content-type"], "application/json");
        let echoed = &v["body"];
        assert_eq!(echoed["method"], "POST");
        assert_eq!(
            echoed["query"],
            json!([["q", "a b&c=d"], ["unicode", "ü/?"]])
        );
        let raw_query = echoed["raw_query"].as_str().expect("raw query");
        assert!(
            !raw_query.contains(' ') && !raw_query.contains('ü'),
            "{raw_query}"
        );
        assert_eq!(echoed["headers"]["x-test"], "v1");
        assert_eq!(echoed["headers"]["content-type"], "application/json");
        let body: serde_json::Value =
            serde_json::from_str(echoed["body"].as_str().expect("body")).expect("json body");
        assert_eq!(body, json!({"k": [1, 2]}));
    })
    .await;
}

#[tokio::test]
async fn executor_http_text_body_and_other_methods() {
    bounded(async {
        let addr = server().await;
        let exec = HttpExecutor::new();
        for method in ["PUT", "PATCH", "DELETE", "GET"] {
            let mut req = HttpRequest::new(method, format!("http://{addr}/echo?keep=1"));
            req.query = vec![("added".into(), "2".into())];
            req.body = Some(HttpBody::Text("raw text".into()));
            let result = run(&exec, &req).await.expect("ok");
            let echoed = &result.value["body"];
            assert_eq!(echoed["method"], method);
            assert_eq!(echoed["query"], json!([["keep", "1"], ["added", "2"]]));
            assert_eq!(echoed["body"], "raw text");
            assert!(echoed["headers"].get("content-type").is_none());
        }
        let head = run(
            &exec,
            &HttpRequest::new("HEAD", format!("http://{addr}/echo")),
        )
        .await
        .expect("head");
        assert_eq!(head.value["status"], 200);
        assert_eq!(head.value["body"], "");
    })
    .await;
}

#[tokio::test]
async fn executor_http_basic_and_bearer_auth() {
    bounded(async {
        let addr = server().await;
        let exec = HttpExecutor::new();
        let mut req = HttpRequest::new("GET", format!("http://{addr}/echo"));
        req.auth = Some(HttpAuth::Basic {
            username: "user".into(),
            password: "pass".into(),
        });
        let result = run(&exec, &req).await.expect("basic");
        // base64("user:pass")
        assert_eq!(
            result.value["body"]["headers"]["authorization"],
            "Basic dXNlcjpwYXNz"
        );
        req.auth = Some(HttpAuth::Bearer("t0ken".into()));
        let result = run(&exec, &req).await.expect("bearer");
        assert_eq!(
            result.value["body"]["headers"]["authorization"],
            "Bearer t0ken"
        );
        assert!(
            !format!("{req:?}").contains("t0ken"),
            "Debug leaks the token"
        );
    })
    .await;
}

#[tokio::test]
async fn executor_http_expect_lists_and_status_classification() {
    bounded(async {
        let addr = server().await;
        let exec = HttpExecutor::new();
        let mut req = HttpRequest::new("POST", format!("http://{addr}/status/202"));
        assert!(run(&exec, &req).await.is_ok(), "any 2xx by default");
        req.expect = vec![200];
        let err = run(&exec, &req).await.expect_err("202 not in [200]");
        assert!(!err.retryable());
        req.url = format!("http://{addr}/status/404");
        req.expect = vec![200, 404];
        assert_eq!(
            run(&exec, &req).await.expect("404 accepted").value["status"],
            404
        );

        req.expect = Vec::new();
        let err = run(&exec, &req).await.expect_err("404");
        assert!(!err.retryable());
        match &err {
            StepError::HttpStatus {
                status,
                body_excerpt,
                result,
                ..
            } => {
                assert_eq!(*status, 404);
                assert_eq!(body_excerpt, "status 404");
                assert_eq!(result.value["body"], "status 404");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(err.result().expect("result").value["status"], 404);
        for code in [503, 429, 500] {
            req.url = format!("http://{addr}/status/{code}");
            let err = run(&exec, &req).await.expect_err("error status");
            assert!(err.retryable(), "{code} must be retryable");
        }
    })
    .await;
}

#[tokio::test]
async fn executor_http_connection_refused_is_retryable() {
    bounded(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let err = run(
            &HttpExecutor::new(),
            &HttpRequest::new("GET", format!("http://{addr}/x")),
        )
        .await
        .expect_err("refused");
        assert!(
            matches!(
                err,
                StepError::Transport {
                    kind: TransportKind::Connect,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.retryable());
    })
    .await;
}

#[tokio::test]
async fn executor_http_timeout_is_retryable() {
    bounded(async {
        let addr = server().await;
        let mut req = HttpRequest::new("GET", format!("http://{addr}/slow"));
        req.timeout = Some(Duration::from_millis(200));
        // `/slow` answers after 30 s and the test is bounded at 20 s: a Timeout error can only
        // come from the request's own timeout, with no wall-clock assertion to flake.
        let err = run(&HttpExecutor::new(), &req).await.expect_err("timeout");
        assert!(
            matches!(
                err,
                StepError::Transport {
                    kind: TransportKind::Timeout,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.retryable());
    })
    .await;
}

#[tokio::test]
async fn executor_http_response_cap_announced_and_streamed() {
    bounded(async {
        let addr = server().await;
        let exec = HttpExecutor::new();
        for path in ["big", "stream"] {
            let mut req = HttpRequest::new("GET", format!("http://{addr}/{path}/5000"));
            req.max_response_bytes = 4999;
            let err = run(&exec, &req).await.expect_err("too large");
            assert!(
                matches!(err, StepError::ResponseTooLarge { limit: 4999 }),
                "{path}: {err:?}"
            );
            assert!(!err.retryable());
            req.max_response_bytes = 5000;
            let ok = run(&exec, &req).await.expect("exactly at the cap");
            assert_eq!(ok.value["body"].as_str().map(str::len), Some(5000));
        }
    })
    .await;
}

#[tokio::test]
async fn executor_http_json_and_text_bodies() {
    bounded(async {
        let addr = server().await;
        let exec = HttpExecutor::new();
        let json_result = run(
            &exec,
            &HttpRequest::new("GET", format!("http://{addr}/json")),
        )
        .await
        .expect("json");
        assert_eq!(json_result.value["body"], json!({"healthy": true}));
        let text = run(
            &exec,
            &HttpRequest::new("GET", format!("http://{addr}/text")),
        )
        .await
        .expect("text");
        assert_eq!(text.value["body"], "plain text");
        assert!(
            text.value["headers"]["content-type"]
                .as_str()
                .is_some_and(|ct| ct.starts_with("text/plain"))
        );
        // The result is serializable as the journal needs.
        let serialized = serde_json::to_string(&text).expect("serialize");
        assert!(serialized.contains("plain text"));
    })
    .await;
}

/// A server that accepts connections, says when one arrived, and never answers.
async fn silent_server() -> (SocketAddr, std::sync::Arc<tokio::sync::Notify>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let arrived = std::sync::Arc::new(tokio::sync::Notify::new());
    let signal = arrived.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            signal.notify_one();
        }
    });
    (addr, arrived)
}

#[tokio::test]
async fn executor_http_cancellation_is_prompt() {
    bounded(async {
        let (addr, arrived) = silent_server().await;
        let exec = HttpExecutor::new();
        let req = HttpRequest::new("GET", format!("http://{addr}/never"));
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        // Cancel once the request is really in flight (the server has its connection), not
        // after a guessed sleep.
        tokio::spawn(async move {
            arrived.notified().await;
            trigger.cancel();
        });
        // The server never answers and the request has no timeout, so returning at all (within
        // the test's bound) proves the cancellation.
        let err = exec
            .execute(&req, None, &cancel)
            .await
            .expect_err("cancelled");
        assert!(matches!(err, StepError::Cancelled), "{err:?}");
        assert!(!err.retryable());
    })
    .await;
}

#[tokio::test]
async fn executor_http_clients_are_cached_per_tls_options() {
    bounded(async {
        let addr = server().await;
        let exec = HttpExecutor::new();
        let mut req = HttpRequest::new("GET", format!("http://{addr}/json"));
        for _ in 0..3 {
            run(&exec, &req).await.expect("ok");
        }
        assert_eq!(exec.client_count(), 1);
        req.tls.insecure = true;
        run(&exec, &req).await.expect("ok");
        assert_eq!(exec.client_count(), 2);
    })
    .await;
}

#[tokio::test]
async fn executor_http_connections_are_reused_across_requests() {
    bounded(async {
        use axum::serve::ListenerExt;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let listener = listener.tap_io(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let app = Router::new().route("/json", get(|| async { axum::Json(json!({"n": 1})) }));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let exec = HttpExecutor::new();
        let req = HttpRequest::new("GET", format!("http://{addr}/json"));
        for _ in 0..50 {
            run(&exec, &req).await.expect("ok");
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "sequential requests share a connection"
        );
    })
    .await;
}

#[tokio::test]
async fn executor_http_invalid_requests_are_not_retryable() {
    bounded(async {
        let exec = HttpExecutor::new();
        let mut req = HttpRequest::new("GET", "not a url");
        let err = run(&exec, &req).await.expect_err("bad url");
        assert!(matches!(err, StepError::InvalidRequest { .. }), "{err:?}");
        req.url = "http://127.0.0.1:1/".into();
        req.headers = vec![("Bad Header".into(), "secret-value".into())];
        let err = run(&exec, &req).await.expect_err("bad header");
        assert!(matches!(err, StepError::InvalidRequest { .. }), "{err:?}");
        assert!(!err.to_string().contains("secret-value"));
        assert!(!err.retryable());
    })
    .await;
}

#[test]
fn executor_http_port_forward_keeps_scheme_and_name_and_pins_to_loopback() {
    let mut req = HttpRequest::new("GET", "https://user:pw@zeebe.example:8443/v2/topology?a=1");
    req.query = vec![("b".into(), "x y".into())];
    let pinned = vec![std::net::SocketAddr::from(([127, 0, 0, 1], 0))];
    let route = forwarded_route(&req, Some(40123)).expect("route");
    // TLS still runs through the tunnel, checked against the URL's name.
    assert_eq!(route.url.scheme(), "https");
    assert_eq!(route.url.host_str(), Some("zeebe.example"));
    assert_eq!(route.url.port(), Some(40123));
    assert_eq!(route.url.path(), "/v2/topology");
    assert_eq!(route.url.query(), Some("a=1&b=x+y"));
    assert_eq!(
        route.pin,
        Some(("zeebe.example".to_string(), pinned.clone()))
    );
    assert!(route.direct);
    req.tls.server_name = Some("es-http.camunda.svc".into());
    let route = forwarded_route(&req, Some(40123)).expect("route");
    assert_eq!(route.url.host_str(), Some("es-http.camunda.svc"));
    assert_eq!(route.pin, Some(("es-http.camunda.svc".to_string(), pinned)));
    // An IP URL has no name to keep: 127.0.0.1 it is.
    let req = HttpRequest::new("GET", "http://10.1.2.3:9600/x");
    let route = forwarded_route(&req, Some(40124)).expect("route");
    assert_eq!(route.url.as_str(), "http://127.0.0.1:40124/x");
    assert_eq!(route.pin, None);
}

#[test]
fn executor_http_redact_url_drops_credentials_and_query() {
    assert_eq!(
        redact_url("https://user:secret@host:8443/path?token=abc#frag"),
        "https://host:8443/path"
    );
    assert_eq!(redact_url("garbage"), "<unparsable URL>");
}

#[tokio::test]
async fn executor_http_ca_file_errors_are_tls_errors() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let exec = HttpExecutor::new();
        let mut req = HttpRequest::new("GET", "https://127.0.0.1:1/");
        req.tls.ca_file = Some(dir.path().join("missing.pem"));
        let err = run(&exec, &req).await.expect_err("missing CA file");
        assert!(matches!(err, StepError::Tls { .. }), "{err:?}");
        assert!(err.to_string().contains("missing.pem"));
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").expect("write");
        req.tls.ca_file = Some(garbage);
        let err = run(&exec, &req).await.expect_err("no certificate");
        assert!(matches!(err, StepError::Tls { .. }), "{err:?}");
        assert!(!err.retryable());
    })
    .await;
}

/// A CA and a server certificate for 127.0.0.1 made in-process with rcgen, served by a
/// tokio-rustls listener that answers every request with `200 ok`. No external binary, so the
/// round trip always runs.
struct TlsServer {
    dir: tempfile::TempDir,
    port: u16,
}

/// The CA (written to `ca.pem` in the returned directory) and the server's chain and key.
fn test_pki() -> (
    tempfile::TempDir,
    Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>,
) {
    let pki = test_pki_for(&["127.0.0.1"]);
    (pki.dir, pki.chain, pki.key)
}

/// A CA, a server certificate for `names`, and a client certificate (`client.pem`,
/// `client-key.pem`) signed by the same CA; the CA is `ca.pem`.
struct Pki {
    dir: tempfile::TempDir,
    chain: Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    key: tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>,
    ca: tokio_rustls::rustls::pki_types::CertificateDer<'static>,
}

fn test_pki_for(names: &[&str]) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "runbook test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::from_params(&ca, &ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let leaf = CertificateParams::new(names)
        .expect("leaf params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    let client_key = KeyPair::generate().expect("client key");
    let client = CertificateParams::new(vec!["runbook-client".to_string()])
        .expect("client params")
        .signed_by(&client_key, &issuer)
        .expect("client certificate");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write ca.pem");
    std::fs::write(dir.path().join("client.pem"), client.pem()).expect("write client.pem");
    std::fs::write(
        dir.path().join("client-key.pem"),
        client_key.serialize_pem(),
    )
    .expect("write client-key.pem");
    let key =
        tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    Pki {
        dir,
        chain: vec![leaf.der().clone()],
        key,
        ca: ca_cert.der().clone(),
    }
}

/// Answers one HTTP/1.1 request on a TLS stream; handshake failures (the untrusted client
/// case) just end the connection.
async fn answer_tls(
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tls = acceptor.accept(tcp).await?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        seen.extend_from_slice(&buf[..n]);
    }
    tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        .await?;
    tls.shutdown().await
}

/// Starts the TLS server; it lives until the test's runtime ends.
async fn tls_server() -> TlsServer {
    use tokio_rustls::rustls;
    let (dir, chain, key) = test_pki();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(answer_tls(acceptor.clone(), tcp));
        }
    });
    TlsServer { dir, port }
}

#[tokio::test]
async fn executor_http_tls_ca_file_and_insecure_switch() {
    bounded(async {
        let server = tls_server().await;
        let exec = HttpExecutor::new();
        let mut req = HttpRequest::new("GET", format!("https://127.0.0.1:{}/", server.port));
        let err = run(&exec, &req).await.expect_err("untrusted");
        eprintln!("untrusted: {}", err.summary());
        assert!(matches!(err, StepError::Tls { .. }), "{err:?}");
        assert!(!err.retryable());

        req.tls.ca_file = Some(server.dir.path().join("ca.pem"));
        let ok = run(&exec, &req).await.expect("trusted through the CA file");
        assert_eq!(ok.value["status"], 200);

        req.tls = TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        };
        let ok = run(&exec, &req).await.expect("insecure");
        assert_eq!(ok.value["status"], 200);
    })
    .await;
}

#[test]
fn loopback_hosts_go_direct_and_proxy_credentials_are_not_logged() {
    for (url, direct) in [
        ("http://127.0.0.1:9200/x", true),
        ("http://127.8.0.1/", true),
        ("http://[::1]:80/", true),
        ("http://LOCALHOST:8080/", true),
        ("https://es.example.com/", false),
        ("http://10.0.0.1/", false),
    ] {
        assert_eq!(is_loopback(&Url::parse(url).unwrap()), direct, "{url}");
    }
    assert_eq!(
        without_credentials("http://user:s3cr3t-pw@proxy.corp:3128"),
        "http://proxy.corp:3128/"
    );
    assert_eq!(without_credentials(".svc,10.0.0.0/8"), ".svc,10.0.0.0/8");
}

/// A TLS server with a certificate for `names` that, with `client_auth`, accepts only clients
/// whose certificate the same CA signed.
async fn tls_server_with(names: &[&str], client_auth: bool) -> TlsServer {
    use tokio_rustls::rustls;
    let pki = test_pki_for(names);
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca.clone()).expect("CA root");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(pki.chain, pki.key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(answer_tls(acceptor.clone(), tcp));
        }
    });
    TlsServer { dir: pki.dir, port }
}

#[tokio::test]
async fn executor_http_tls_server_name_and_ca_pem() {
    bounded(async {
        // The certificate names the service, not the address we reach it at.
        let server = tls_server_with(&["es-http.camunda.svc"], false).await;
        let exec = HttpExecutor::new();
        let mut req = HttpRequest::new("GET", format!("https://127.0.0.1:{}/", server.port));
        req.tls.ca_pem = Some(std::fs::read_to_string(server.dir.path().join("ca.pem")).unwrap());
        let err = run(&exec, &req).await.expect_err("name mismatch");
        assert!(matches!(err, StepError::Tls { .. }), "{err:?}");
        req.tls.server_name = Some("es-http.camunda.svc".into());
        let ok = run(&exec, &req)
            .await
            .expect("verified as es-http.camunda.svc");
        assert_eq!(ok.value["status"], 200);
        req.tls.ca_pem = Some("not a certificate".into());
        let err = run(&exec, &req).await.expect_err("bad PEM");
        assert!(err.to_string().contains("tls.ca_pem"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn executor_http_mutual_tls_client_certificate() {
    bounded(async {
        let server = tls_server_with(&["127.0.0.1"], true).await;
        let exec = HttpExecutor::new();
        let dir = server.dir.path();
        let mut req = HttpRequest::new("GET", format!("https://127.0.0.1:{}/", server.port));
        req.tls.ca_file = Some(dir.join("ca.pem"));
        assert!(run(&exec, &req).await.is_err(), "no client certificate");
        req.tls.client_cert = Some(dir.join("client.pem"));
        let err = run(&exec, &req).await.expect_err("key missing");
        assert!(err.to_string().contains("both"), "{err}");
        req.tls.client_key = Some(dir.join("client-key.pem"));
        let ok = run(&exec, &req).await.expect("mutual TLS");
        assert_eq!(ok.value["status"], 200);
        req.tls.client_key = Some(dir.join("ca.pem"));
        let err = run(&exec, &req).await.expect_err("a certificate is no key");
        assert!(!err.to_string().contains("BEGIN"), "{err}");
    })
    .await;
}
