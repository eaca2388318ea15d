//! Tests of the OAuth2 client-credentials grant against a token endpoint and an API on
//! 127.0.0.1 that count tokens, expire them and rotate them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::executor::http::HttpExecutor;
use crate::executor::{HttpAuth, HttpRequest, OAuth2Grant, StepError};

const SECRET: &str = "client-s3cret-value";

/// Tokens issued so far, and the lifetime the next ones get.
#[derive(Default)]
struct Provider {
    issued: AtomicU64,
    expires_in: AtomicU64,
}

impl Provider {
    fn current(&self) -> String {
        format!("tok-{}", self.issued.load(Ordering::SeqCst))
    }
}

async fn provider_server(p: Arc<Provider>) -> SocketAddr {
    let token = {
        let p = p.clone();
        post(move |body: String| {
            let p = p.clone();
            async move {
                let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                let has = |k: &str, v: &str| form.iter().any(|(a, b)| a == k && b == v);
                if !(has("grant_type", "client_credentials") && has("client_secret", SECRET)) {
                    return (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(
                            json!({"error": "invalid_client", "error_description": "Invalid client credentials"}),
                        ),
                    );
                }
                let n = p.issued.fetch_add(1, Ordering::SeqCst) + 1;
                let expires_in = p.expires_in.load(Ordering::SeqCst);
                (
                    StatusCode::OK,
                    axum::Json(
                        json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": expires_in}),
                    ),
                )
            }
        })
    };
    let api = get(move |headers: HeaderMap| {
        let p = p.clone();
        async move {
            let given = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if given == format!("Bearer {}", p.current()) {
                (StatusCode::OK, "hello".to_string())
            } else {
                // Servers do echo what they refused.
                (StatusCode::UNAUTHORIZED, format!("refused {given}"))
            }
        }
    });
    let app = Router::new().route("/token", token).route("/api", api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn request(addr: SocketAddr, secret: &str) -> HttpRequest {
    let mut req = HttpRequest::new("GET", format!("http://{addr}/api"));
    req.auth = Some(HttpAuth::OAuth2(OAuth2Grant {
        token_url: format!("http://{addr}/token"),
        client_id: "runbook".into(),
        client_secret: secret.into(),
        scope: Some("camunda-api".into()),
        audience: None,
    }));
    req
}

async fn send(
    exec: &HttpExecutor,
    req: &HttpRequest,
) -> Result<crate::executor::ActionResult, StepError> {
    tokio::time::timeout(
        Duration::from_secs(20),
        exec.execute(req, None, &CancellationToken::new()),
    )
    .await
    .expect("bounded")
}

#[tokio::test]
async fn a_token_is_fetched_once_and_reused_while_valid() {
    let p = Arc::new(Provider::default());
    p.expires_in.store(3600, Ordering::SeqCst);
    let addr = provider_server(p.clone()).await;
    let exec = HttpExecutor::new();
    let req = request(addr, SECRET);
    for _ in 0..3 {
        assert_eq!(send(&exec, &req).await.expect("ok").value["status"], 200);
    }
    assert_eq!(p.issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_near_its_expiry_is_renewed() {
    let p = Arc::new(Provider::default());
    // Shorter than the renewal margin: every use fetches a new one.
    p.expires_in.store(5, Ordering::SeqCst);
    let addr = provider_server(p.clone()).await;
    let exec = HttpExecutor::new();
    let req = request(addr, SECRET);
    for _ in 0..3 {
        assert_eq!(send(&exec, &req).await.expect("ok").value["status"], 200);
    }
    assert_eq!(p.issued.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_revoked_token_fails_once_masked_then_a_new_one_is_fetched() {
    let p = Arc::new(Provider::default());
    p.expires_in.store(3600, Ordering::SeqCst);
    let addr = provider_server(p.clone()).await;
    let exec = HttpExecutor::new();
    let req = request(addr, SECRET);
    send(&exec, &req).await.expect("first");
    // The provider rotates: the cached token is refused.
    p.issued.fetch_add(1, Ordering::SeqCst);
    let err = send(&exec, &req).await.expect_err("revoked");
    let text = err.to_string();
    assert!(
        text.contains("401") && text.contains("refused Bearer ***"),
        "{text}"
    );
    assert!(!text.contains("tok-1"), "{text}");
    assert_eq!(
        send(&exec, &req).await.expect("renewed").value["status"],
        200
    );
}

#[tokio::test]
async fn refused_client_credentials_are_a_final_authentication_error() {
    let p = Arc::new(Provider::default());
    let addr = provider_server(p.clone()).await;
    let exec = HttpExecutor::new();
    let err = send(&exec, &request(addr, "wrong-secret-value"))
        .await
        .expect_err("refused");
    assert!(matches!(err, StepError::Auth { .. }), "{err:?}");
    assert!(!err.retryable() && !err.reached());
    let text = err.to_string();
    assert!(
        text.contains("invalid_client: Invalid client credentials"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-value"), "{text}");
    let debug = format!("{:?}", request(addr, SECRET));
    assert!(!debug.contains(SECRET), "{debug}");
}
