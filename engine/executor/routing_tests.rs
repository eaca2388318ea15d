//! Tests for [`Executors`]: each request variant reaches its executor through the
//! [`Executor`] trait object the scheduler uses.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::*;

fn executors() -> Arc<dyn Executor> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    Arc::new(Executors::new(ExecutorConfig {
        kubectl_path: PathBuf::from("kubectl"),
        executor_search_path: Some(examples.into_os_string()),
        child_record: None,
    }))
}

#[tokio::test]
async fn executor_routes_each_variant() {
    let run = async {
        let exec = executors();
        let cancel = CancellationToken::new();

        let app = axum::Router::new().route(
            "/health",
            axum::routing::get(|| async { axum::Json(json!({"status": "UP"})) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let http = ActionRequest::Http(HttpRequest::new("GET", format!("http://{addr}/health")));
        let result = exec.execute(&http, &cancel).await.expect("http");
        assert_eq!(result.value["body"]["status"], "UP");

        let kubectl =
            ActionRequest::Kubectl(KubectlRequest::new(["version", "--client", "-o", "json"]));
        let result = exec.execute(&kubectl, &cancel).await.expect("kubectl");
        assert_eq!(result.value["exit_code"], 0);

        let echo = ActionRequest::Exec(ExecRequest {
            executor: "echo".into(),
            input: json!({"n": 1}),
        });
        let result = exec.execute(&echo, &cancel).await.expect("exec");
        assert_eq!(result.value, json!({"echo": {"n": 1}}));

        // Results are what the journal stores.
        let stored = serde_json::to_string(&result).expect("serialize");
        let back: ActionResult = serde_json::from_str(&stored).expect("deserialize");
        assert_eq!(back, result);
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("test timed out");
}

#[test]
fn executor_debug_output_redacts_secrets() {
    let mut req = HttpRequest::new("POST", "https://u:pw-secret@host/path?token=q-secret");
    req.headers = vec![("X-Api-Key".into(), "h-secret".into())];
    req.body = Some(HttpBody::Text("b-secret".into()));
    req.auth = Some(HttpAuth::Basic {
        username: "user".into(),
        password: "p-secret".into(),
    });
    let exec = ExecRequest {
        executor: "echo".into(),
        input: json!({"password": "i-secret"}),
    };
    let text = format!("{:?} {:?}", ActionRequest::Http(req), exec);
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("X-Api-Key"), "{text}");
}
