//! SigV4 on the wire: a server on 127.0.0.1 recomputes each signature from the request it
//! received (method, raw path and query, the signed headers, the body) with AWS's algorithm
//! and refuses a mismatch with 403, as OpenSearch Service does. Credentials come from static
//! keys, and from a web identity exchanged with a fake STS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{any, post};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::executor::aws_sigv4::{Canonical, Scope, canonical_uri, hex, signature};
use crate::executor::http::HttpExecutor;
use crate::executor::{HttpAuth, HttpBody, HttpRequest, StepError};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// The signature the server computes for what it received, or why it cannot.
fn verify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
) -> Result<(), String> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no authorization")?;
    let field = |name: &str| {
        auth.split([' ', ','])
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
            .ok_or(format!("no {name}"))
    };
    let credential = field("Credential")?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [_, date, region, service, _] = parts[..] else {
        return Err("bad credential".into());
    };
    let signed = field("SignedHeaders")?;
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let payload = hex(&Sha256::digest(body));
    if header("x-amz-content-sha256") != payload {
        return Err("payload hash mismatch".into());
    }
    let signed_headers: Vec<(String, String)> = signed
        .split(';')
        .map(|n| (n.to_string(), header(n)))
        .collect();
    let mut query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (enc(&k), enc(&v)))
            .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let (_, expected) = signature(
        &Canonical {
            method: method.as_str(),
            uri: &canonical_uri(uri.path()),
            query: &query,
            headers: &signed_headers,
            payload_hash: &payload,
        },
        &Scope {
            date,
            region,
            service,
        },
        &header("x-amz-date"),
        secret,
    );
    if field("Signature")? == expected {
        Ok(())
    } else {
        Err("The request signature we calculated does not match the signature you provided.".into())
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A signature-checking API (`/...`) and a fake STS (`/sts`) that hands out `STS...` keys.
async fn aws_server(assumed: Arc<AtomicU64>) -> SocketAddr {
    let api = any(
        |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
            let secret = if headers.get("x-amz-security-token").is_some() {
                "sts-secret-key"
            } else {
                SECRET
            };
            match verify(&method, &uri, &headers, &body, secret) {
                Ok(()) => (StatusCode::OK, "signed".to_string()),
                Err(e) => (StatusCode::FORBIDDEN, format!("{{\"message\":\"{e}\"}}")),
            }
        },
    );
    let sts = post(move |body: String| {
        let assumed = assumed.clone();
        async move {
            assumed.fetch_add(1, Ordering::SeqCst);
            assert!(
                body.contains("WebIdentityToken=irsa-jwt")
                    && body.contains("Action=AssumeRoleWithWebIdentity")
            );
            "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
             <AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>sts-secret-key</SecretAccessKey>\
             <SessionToken>sts-session</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>\
             </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
        }
    });
    let app = Router::new().route("/sts", sts).fallback(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn put_snapshot(addr: SocketAddr) -> HttpRequest {
    let mut req = HttpRequest::new(
        "PUT",
        format!("http://{addr}/_snapshot/camunda/camunda_zeebe_records_backup_1"),
    );
    req.query = vec![("wait_for_completion".into(), "true".into())];
    req.body = Some(HttpBody::Json(
        serde_json::json!({"indices": "zeebe-record*", "feature_states": ["none"]}),
    ));
    req.auth = Some(HttpAuth::AwsSigV4 {
        region: "eu-west-1".into(),
        service: "es".into(),
    });
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
async fn static_keys_sign_what_is_sent() {
    let addr = aws_server(Arc::default()).await;
    let exec = HttpExecutor::with_aws_env(|k| match k {
        "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".into()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRET.into()),
        _ => None,
    });
    let ok = send(&exec, &put_snapshot(addr)).await.expect("signed");
    assert_eq!(ok.value["body"], "signed");
    // A wildcard path and a comma list are signed as the server encodes them.
    let mut req = HttpRequest::new(
        "GET",
        format!("http://{addr}/_snapshot/camunda/camunda_webapps_1_*,camunda_optimize_1_*"),
    );
    req.auth = put_snapshot(addr).auth;
    assert_eq!(
        send(&exec, &req).await.expect("signed").value["status"],
        200
    );
    // A wrong key is refused by the server, and says so.
    let wrong = HttpExecutor::with_aws_env(|k| match k {
        "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".into()),
        "AWS_SECRET_ACCESS_KEY" => Some("not-the-key".into()),
        _ => None,
    });
    let err = send(&wrong, &put_snapshot(addr)).await.expect_err("403");
    assert!(
        err.to_string()
            .contains("signature we calculated does not match"),
        "{err}"
    );
    assert!(!err.to_string().contains("not-the-key"));
}

#[tokio::test]
async fn a_web_identity_is_exchanged_once_with_sts() {
    let assumed = Arc::new(AtomicU64::new(0));
    let addr = aws_server(assumed.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "irsa-jwt\n").unwrap();
    let token = token.to_string_lossy().to_string();
    let exec = HttpExecutor::with_aws_env(move |k| match k {
        "AWS_ROLE_ARN" => Some("arn:aws:iam::123456789012:role/runbook".into()),
        "AWS_WEB_IDENTITY_TOKEN_FILE" => Some(token.clone()),
        "AWS_ENDPOINT_URL_STS" => Some(format!("http://{addr}/sts")),
        _ => None,
    });
    for _ in 0..2 {
        assert_eq!(
            send(&exec, &put_snapshot(addr))
                .await
                .expect("signed")
                .value["status"],
            200
        );
    }
    assert_eq!(assumed.load(Ordering::SeqCst), 1);
    let none = HttpExecutor::with_aws_env(|_| None);
    let err = send(&none, &put_snapshot(addr))
        .await
        .expect_err("no credentials");
    assert!(
        matches!(err, StepError::Auth { .. }) && err.to_string().contains("AWS_ROLE_ARN"),
        "{err}"
    );
}
