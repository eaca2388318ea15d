//! One test per kubectl command the plans use (reference 5.2/5.3), asserting kubectl's exit
//! code and output and the objects left in the store.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use super::harness::{Cluster, Streamed, finish, ok};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn get_statefulset_json() {
    let c = Cluster::start().await;
    let out = ok(c
        .kubectl(&["get", "statefulset", "camunda-zeebe", "-o", "json"])
        .await);
    let sts = parse(&out);
    assert_eq!(sts["kind"], "StatefulSet");
    assert_eq!(sts["apiVersion"], "apps/v1");
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(sts["status"]["readyReplicas"], 3);
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["name"],
        "orchestration"
    );
    c.handle.shutdown().await;
}

#[tokio::test]
async fn get_statefulset_table() {
    let c = Cluster::start().await;
    let out = ok(c.kubectl(&["get", "statefulset", "camunda-zeebe"]).await);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("NAME            READY   AGE"), "{out}");
    assert!(lines[1].starts_with("camunda-zeebe   3/3     "), "{out}");
    let wide = ok(c.kubectl(&["get", "sts", "-o", "wide"]).await);
    assert!(
        wide.contains("CONTAINERS") && wide.contains("orchestration"),
        "{wide}"
    );
    c.handle.shutdown().await;
}

#[tokio::test]
async fn get_deployment_json_and_missing_one() {
    let c = Cluster::start().await;
    let out = ok(c
        .kubectl(&["get", "deployment", "camunda-optimize", "-o", "json"])
        .await);
    assert_eq!(parse(&out)["metadata"]["name"], "camunda-optimize");
    let run = c
        .kubectl(&["get", "deployment", "camunda-connectors", "-o", "json"])
        .await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert_eq!(
        run.stderr.trim(),
        "Error from server (NotFound): deployments.apps \"camunda-connectors\" not found"
    );
    assert_eq!(run.stdout, "");
    c.handle.shutdown().await;
}

#[tokio::test]
async fn get_pods_json_with_label_selector() {
    let c = Cluster::start().await;
    let all = parse(&ok(c.kubectl(&["get", "pods", "-o", "json"]).await));
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "camunda-optimize-0",
            "camunda-zeebe-0",
            "camunda-zeebe-1",
            "camunda-zeebe-2"
        ]
    );
    let selected = [
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/component=zeebe-broker",
        "-o",
        "json",
    ];
    let brokers = parse(&ok(c.kubectl(&selected).await));
    assert_eq!(brokers["items"].as_array().unwrap().len(), 3);
    let set = [
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/component in (optimize,x)",
        "-o",
        "json",
    ];
    let optimize = parse(&ok(c.kubectl(&set).await));
    assert_eq!(
        optimize["items"][0]["metadata"]["name"],
        "camunda-optimize-0"
    );
    let table = ok(c.kubectl(&["get", "pods"]).await);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("camunda-zeebe-0      1/1     Running   0"),
        "{table}"
    );
    let none = c.kubectl(&["get", "pods", "-l", "app=nothing"]).await;
    assert_eq!(none.code, Some(0));
    assert_eq!(
        none.stderr.trim(),
        "No resources found in camunda namespace."
    );
    c.handle.shutdown().await;
}

#[tokio::test]
async fn scale_statefulset_and_deployment() {
    let c = Cluster::start().await;
    let out = ok(c
        .kubectl(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
        .await);
    assert_eq!(out, "statefulset.apps/camunda-zeebe scaled\n");
    let sts = c.object("apps", "StatefulSet", "camunda-zeebe").unwrap();
    assert_eq!(sts["spec"]["replicas"], 0);
    assert_eq!(sts["metadata"]["generation"], 2);
    assert_eq!(sts["status"]["replicas"], 0);
    assert_eq!(c.names("", "Pod"), ["camunda-optimize-0"]);
    let out = ok(c
        .kubectl(&["scale", "deployment/camunda-optimize", "--replicas=0"])
        .await);
    assert_eq!(out, "deployment.apps/camunda-optimize scaled\n");
    assert!(c.names("", "Pod").is_empty());
    // With a precondition kubectl reads the Scale and PUTs it; --timeout polls it.
    let args = [
        "scale",
        "sts",
        "camunda-zeebe",
        "--current-replicas=0",
        "--replicas=2",
        "--timeout=10s",
    ];
    assert_eq!(
        ok(c.kubectl(&args).await),
        "statefulset.apps/camunda-zeebe scaled\n"
    );
    assert_eq!(c.names("", "Pod"), ["camunda-zeebe-0", "camunda-zeebe-1"]);
    let wrong = c
        .kubectl(&[
            "scale",
            "sts",
            "camunda-zeebe",
            "--current-replicas=5",
            "--replicas=1",
        ])
        .await;
    assert_eq!(wrong.code, Some(1), "{wrong:#?}");
    c.handle.shutdown().await;
}

#[tokio::test]
async fn list_pvc_names() {
    let c = Cluster::start().await;
    let args = [
        "get",
        "pvc",
        "-o",
        "custom-columns=NAME:.metadata.name",
        "--no-headers",
    ];
    let out = ok(c.kubectl(&args).await);
    assert_eq!(
        out,
        "data-camunda-zeebe-0\ndata-camunda-zeebe-1\ndata-camunda-zeebe-2\n"
    );
    let table = ok(c.kubectl(&["get", "pvc"]).await);
    assert!(table.contains("data-camunda-zeebe-0   Bound"), "{table}");
    c.handle.shutdown().await;
}

#[tokio::test]
async fn delete_pvc_after_scale_down() {
    let c = Cluster::start().await;
    ok(
        c.kubectl(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
            .await,
    );
    let out = ok(c.kubectl(&["delete", "pvc", "data-camunda-zeebe-0"]).await);
    assert_eq!(
        out,
        "persistentvolumeclaim \"data-camunda-zeebe-0\" deleted\n"
    );
    assert_eq!(
        c.names("", "PersistentVolumeClaim"),
        ["data-camunda-zeebe-1", "data-camunda-zeebe-2"]
    );
    let again = c.kubectl(&["delete", "pvc", "data-camunda-zeebe-0"]).await;
    assert_eq!(again.code, Some(1));
    assert_eq!(
        again.stderr.trim(),
        "Error from server (NotFound): persistentvolumeclaims \"data-camunda-zeebe-0\" not found"
    );
    c.handle.shutdown().await;
}

#[tokio::test]
async fn delete_pvc_in_use_waits_for_its_pod() {
    let c = Cluster::start().await;
    let mut child = c.spawn(&["delete", "pvc", "data-camunda-zeebe-1"]);
    c.until_watching().await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "delete returned while the pod uses the claim"
    );
    let pvc = c
        .object("", "PersistentVolumeClaim", "data-camunda-zeebe-1")
        .unwrap();
    assert!(pvc["metadata"]["deletionTimestamp"].is_string());
    let table = ok(c.kubectl(&["get", "pvc", "data-camunda-zeebe-1"]).await);
    assert!(table.contains("Terminating"), "{table}");
    c.set_replicas("camunda-zeebe", 1);
    let run = finish(child, &["delete"]).await;
    assert_eq!(
        ok(run),
        "persistentvolumeclaim \"data-camunda-zeebe-1\" deleted\n"
    );
    assert_eq!(
        c.names("", "PersistentVolumeClaim"),
        ["data-camunda-zeebe-0", "data-camunda-zeebe-2"]
    );
    c.handle.shutdown().await;
}

fn env_of(c: &Cluster) -> Value {
    let sts = c.object("apps", "StatefulSet", "camunda-zeebe").unwrap();
    sts["spec"]["template"]["spec"]["containers"][0]["env"].clone()
}

#[tokio::test]
async fn set_env_and_remove_it() {
    let c = Cluster::start().await;
    let set = [
        "set",
        "env",
        "statefulset/camunda-zeebe",
        "-c",
        "orchestration",
        "ZEEBE_RESTORE=true",
        "ZEEBE_RESTORE_FROM_BACKUP_ID=1748937221",
        "SPRING_PROFILES_ACTIVE=restore",
    ];
    assert_eq!(
        ok(c.kubectl(&set).await),
        "statefulset.apps/camunda-zeebe env updated\n"
    );
    assert_eq!(
        env_of(&c),
        serde_json::json!([
            {"name": "CAMUNDA_CLUSTER_SIZE", "value": "3"},
            {"name": "ZEEBE_RESTORE", "value": "true"},
            {"name": "ZEEBE_RESTORE_FROM_BACKUP_ID", "value": "1748937221"},
            {"name": "SPRING_PROFILES_ACTIVE", "value": "restore"}
        ])
    );
    let sts = c.object("apps", "StatefulSet", "camunda-zeebe").unwrap();
    assert_eq!(sts["metadata"]["generation"], 2);
    assert_eq!(sts["status"]["observedGeneration"], 2);
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"],
        "camunda/camunda:8.8.0"
    );
    let unset = [
        "set",
        "env",
        "statefulset/camunda-zeebe",
        "-c",
        "orchestration",
        "ZEEBE_RESTORE-",
        "ZEEBE_RESTORE_FROM_BACKUP_ID-",
        "SPRING_PROFILES_ACTIVE-",
    ];
    assert_eq!(
        ok(c.kubectl(&unset).await),
        "statefulset.apps/camunda-zeebe env updated\n"
    );
    assert_eq!(
        env_of(&c),
        serde_json::json!([{"name": "CAMUNDA_CLUSTER_SIZE", "value": "3"}])
    );
    let listed = ok(c
        .kubectl(&["set", "env", "statefulset/camunda-zeebe", "--list"])
        .await);
    assert!(listed.contains("CAMUNDA_CLUSTER_SIZE=3"), "{listed}");
    c.handle.shutdown().await;
}

#[tokio::test]
async fn logs_current_and_previous() {
    let c = Cluster::start().await;
    let args = ["logs", "camunda-zeebe-0", "-c", "orchestration"];
    assert_eq!(ok(c.kubectl(&args).await), "camunda-zeebe-0 started\n");
    let previous = [
        "logs",
        "camunda-zeebe-0",
        "-c",
        "orchestration",
        "--previous",
    ];
    let run = c.kubectl(&previous).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr.trim(),
        "Error from server (BadRequest): previous terminated container \"orchestration\" in pod \"camunda-zeebe-0\" not found"
    );
    c.handle.with_objects(|o| {
        o.append_log(
            "camunda",
            "camunda-zeebe-0",
            "orchestration",
            "restore failed",
        );
        o.rotate_log("camunda", "camunda-zeebe-0", "orchestration");
        o.append_log("camunda", "camunda-zeebe-0", "orchestration", "second run");
    });
    assert_eq!(
        ok(c.kubectl(&previous).await),
        "camunda-zeebe-0 started\nrestore failed\n"
    );
    assert_eq!(ok(c.kubectl(&args).await), "second run\n");
    // Without -c kubectl picks the only container itself.
    assert_eq!(
        ok(c.kubectl(&["logs", "camunda-zeebe-0"]).await),
        "second run\n"
    );
    let missing = c
        .kubectl(&["logs", "camunda-zeebe-7", "-c", "orchestration"])
        .await;
    assert_eq!(missing.code, Some(1));
    assert_eq!(
        missing.stderr.trim(),
        // kubectl's own wording for a missing pod (it resolves the pod before the log).
        "error: error from server (NotFound): pods \"camunda-zeebe-7\" not found in namespace \"camunda\""
    );
    c.handle.shutdown().await;
}

#[tokio::test]
async fn rollout_status_when_done() {
    let c = Cluster::start().await;
    let out = ok(c
        .kubectl(&[
            "rollout",
            "status",
            "statefulset/camunda-zeebe",
            "--timeout=10m",
        ])
        .await);
    assert_eq!(
        out,
        "partitioned roll out complete: 3 new pods have been updated...\n"
    );
    let out = ok(c
        .kubectl(&[
            "rollout",
            "status",
            "deployment/camunda-optimize",
            "--timeout=10m",
        ])
        .await);
    assert_eq!(
        out,
        "deployment \"camunda-optimize\" successfully rolled out\n"
    );
    c.handle.shutdown().await;
}

#[tokio::test]
async fn rollout_status_waits_for_a_later_reconcile() {
    let c = Cluster::start().await;
    c.rules.hold.store(true, Ordering::SeqCst);
    let set = [
        "set",
        "env",
        "statefulset/camunda-zeebe",
        "-c",
        "orchestration",
        "ZEEBE_RESTORE=true",
    ];
    ok(c.kubectl(&set).await);
    let mut child = c.spawn(&[
        "rollout",
        "status",
        "statefulset/camunda-zeebe",
        "--timeout=10m",
    ]);
    // Longer than the watch heartbeat, so kubectl has read a blank heartbeat line too. Not
    // synchronisation: an absence check (rollout status must not return while held), which a
    // loaded machine can only make weaker, never wrong.
    c.until_watching().await;
    tokio::time::sleep(Duration::from_millis(6000)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "rollout status returned before the rollout"
    );
    c.rules.hold.store(false, Ordering::SeqCst);
    c.handle.reconcile_now();
    let out = ok(finish(child, &["rollout", "status"]).await);
    assert!(
        out.contains("partitioned roll out complete: 3 new pods have been updated..."),
        "{out}"
    );
    c.handle.shutdown().await;
}

#[tokio::test]
async fn wait_for_pods_to_be_deleted() {
    let c = Cluster::start().await;
    let wait = [
        "wait",
        "--for=delete",
        "pod",
        "-l",
        "app.kubernetes.io/component=zeebe-broker",
        "--timeout=60s",
    ];
    let child = c.spawn(&wait);
    c.until_watching().await;
    ok(
        c.kubectl(&["scale", "statefulset/camunda-zeebe", "--replicas=0"])
            .await,
    );
    let run = finish(child, &wait).await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    // Nothing left to wait for: ends at once.
    let ready = [
        "wait",
        "--for=condition=Ready",
        "pod",
        "-l",
        "app.kubernetes.io/component=optimize",
        "--timeout=10s",
    ];
    assert_eq!(
        ok(c.kubectl(&ready).await),
        "pod/camunda-optimize-0 condition met\n"
    );
    let run = c.kubectl(&wait).await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    c.handle.shutdown().await;
}

#[tokio::test]
async fn version_and_discovery() {
    let c = Cluster::start().await;
    let out = parse(&ok(c.kubectl(&["version", "-o", "json"]).await));
    assert_eq!(out["serverVersion"]["gitVersion"], "v1.32.0");
    let resources = ok(c
        .kubectl(&["api-resources", "--no-headers", "-o", "name"])
        .await);
    for name in [
        "pods",
        "persistentvolumeclaims",
        "statefulsets.apps",
        "deployments.apps",
    ] {
        assert!(
            resources.lines().any(|l| l == name),
            "{name} missing: {resources}"
        );
    }
    let openapi = reqwest::get(format!("{}/openapi/v2", c.handle.url()))
        .await
        .unwrap();
    assert_eq!(openapi.status(), 404);
    c.handle.shutdown().await;
}

#[tokio::test]
async fn watch_ends_after_timeout_seconds() {
    let c = Cluster::start().await;
    let url = format!(
        "{}/api/v1/namespaces/camunda/pods?watch=true&timeoutSeconds=1&labelSelector=app.kubernetes.io%2Fcomponent%3Dzeebe-broker",
        c.handle.url()
    );
    let body = tokio::time::timeout(Duration::from_secs(10), async {
        reqwest::get(url).await.unwrap().text().await.unwrap()
    })
    .await
    .expect("watch did not end");
    let events: Vec<Value> = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse)
        .collect();
    assert_eq!(events.len(), 3, "{body}");
    assert!(events.iter().all(|e| e["type"] == "ADDED"));
    c.handle.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_status_errors() {
    let c = Cluster::start().await;
    let client = reqwest::Client::new();
    let base = c.handle.url().to_string();
    let cases = [
        ("/api/v1/namespaces/camunda/pods?labelSelector=a+in+(b", 400),
        (
            "/api/v1/namespaces/camunda/pods?watch=true&resourceVersion=x",
            400,
        ),
        ("/apis/apps/v1/namespaces/camunda/widgets", 404),
        (
            "/api/v1/namespaces/camunda/pods/camunda-zeebe-0/log?container=nope",
            400,
        ),
    ];
    for (path, code) in cases {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), code, "{path}");
        let status: Value = response.json().await.unwrap();
        assert_eq!(status["kind"], "Status", "{path}");
        assert_eq!(status["code"], code, "{path}");
    }
    let patch = client
        .patch(format!(
            "{base}/apis/apps/v1/namespaces/camunda/statefulsets/camunda-zeebe"
        ))
        .header("Content-Type", "application/strategic-merge-patch+json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status().as_u16(), 400);
    let scale = client
        .patch(format!(
            "{base}/apis/apps/v1/namespaces/camunda/statefulsets/camunda-zeebe/scale"
        ))
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"spec":{"replicas":-1}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(scale.status().as_u16(), 422);
    c.handle.shutdown().await;
}

#[tokio::test]
async fn get_watch_prints_table_rows() {
    let c = Cluster::start().await;
    let args = [
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/component=zeebe-broker",
        "-w",
    ];
    let mut out = Streamed::new(c.spawn(&args));
    c.until_watching().await;
    c.set_replicas("camunda-zeebe", 2);
    // The listed row, then the row of the change: wait for both rather than a guessed time.
    let rows = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("camunda-zeebe-2"))
            .count()
    };
    out.until("the changed pod's second row", |t| rows(t) >= 2)
        .await;
    out.child.start_kill().unwrap();
    let (_, stdout) = out.finish().await;
    assert!(stdout.starts_with("NAME"), "{stdout}");
    assert_eq!(rows(&stdout), 2, "{stdout}");
    c.handle.shutdown().await;
}

#[tokio::test]
async fn watch_ends_when_the_client_goes_away() {
    let c = Cluster::start().await;
    let url = format!(
        "{}/apis/apps/v1/namespaces/camunda/statefulsets?watch=true",
        c.handle.url()
    );
    let mut response = reqwest::get(url).await.unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("\"ADDED\""));
    assert_eq!(c.handle.open_watches(), 1);
    drop(response);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while c.handle.open_watches() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "watch still open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.handle.shutdown().await;
}

#[tokio::test]
async fn create_from_file_and_patch_json() {
    let c = Cluster::start().await;
    let file = tempfile::NamedTempFile::new().unwrap();
    let cm =
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"extra"},"data":{"a":"b"}}"#;
    std::fs::write(file.path(), cm).unwrap();
    let path = file.path().to_str().unwrap();
    // No OpenAPI documents are served (404), so kubectl's client-side validation is off.
    let create = ["create", "--validate=false", "-f", path];
    assert_eq!(ok(c.kubectl(&create).await), "configmap/extra created\n");
    let again = c.kubectl(&create).await;
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("(AlreadyExists)"), "{again:#?}");
    let patch = r#"[{"op":"replace","path":"/spec/replicas","value":1}]"#;
    let args = ["patch", "sts", "camunda-zeebe", "--type=json", "-p", patch];
    assert_eq!(
        ok(c.kubectl(&args).await),
        "statefulset.apps/camunda-zeebe patched\n"
    );
    assert_eq!(
        c.names("", "Pod"),
        ["camunda-optimize-0", "camunda-zeebe-0"]
    );
    let merge = [
        "patch",
        "deploy",
        "camunda-optimize",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":0}}"#,
    ];
    assert_eq!(
        ok(c.kubectl(&merge).await),
        "deployment.apps/camunda-optimize patched\n"
    );
    assert_eq!(c.names("", "Pod"), ["camunda-zeebe-0"]);
    let restart = ok(c
        .kubectl(&["rollout", "restart", "statefulset/camunda-zeebe"])
        .await);
    assert_eq!(restart, "statefulset.apps/camunda-zeebe restarted\n");
    c.handle.shutdown().await;
}

#[tokio::test]
async fn replace_checks_the_resource_version() {
    let c = Cluster::start().await;
    let mut sts = parse(&ok(c
        .kubectl(&["get", "sts", "camunda-zeebe", "-o", "json"])
        .await));
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "camunda/camunda:8.8.1".into();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), sts.to_string()).unwrap();
    let path = file.path().to_str().unwrap();
    let replace = ["replace", "--validate=false", "-f", path];
    assert_eq!(
        ok(c.kubectl(&replace).await),
        "statefulset.apps/camunda-zeebe replaced\n"
    );
    let stored = c.object("apps", "StatefulSet", "camunda-zeebe").unwrap();
    assert_eq!(
        stored["spec"]["template"]["spec"]["containers"][0]["image"],
        "camunda/camunda:8.8.1"
    );
    assert_eq!(stored["metadata"]["generation"], 2);
    // The file still carries the old resourceVersion: a real server refuses it.
    let stale = c.kubectl(&replace).await;
    assert_eq!(stale.code, Some(1));
    assert!(
        stale
            .stderr
            .contains("Error from server (Conflict): error when replacing"),
        "{stale:#?}"
    );
    assert!(
        stale.stderr.contains("the object has been modified"),
        "{stale:#?}"
    );
    c.handle.shutdown().await;
}

#[tokio::test]
async fn logs_tail() {
    let c = Cluster::start().await;
    c.handle.with_objects(|o| {
        for line in ["one", "two", "three"] {
            o.append_log("camunda", "camunda-zeebe-1", "orchestration", line);
        }
    });
    let out = ok(c.kubectl(&["logs", "camunda-zeebe-1", "--tail=2"]).await);
    assert_eq!(out, "two\nthree\n");
    c.handle.shutdown().await;
}

#[tokio::test]
async fn logs_follow_until_the_container_restarts() {
    let c = Cluster::start().await;
    let args = ["logs", "-f", "camunda-zeebe-0", "-c", "orchestration"];
    let mut out = Streamed::new(c.spawn(&args));
    // Following has begun once the existing line is printed; then a new line must follow.
    out.until("the existing line", |t| t.contains("started"))
        .await;
    c.handle
        .with_objects(|o| o.append_log("camunda", "camunda-zeebe-0", "orchestration", "line two"));
    out.until("the appended line", |t| t.contains("line two"))
        .await;
    assert!(
        out.child.try_wait().unwrap().is_none(),
        "logs -f ended early"
    );
    c.handle.with_objects(|o| {
        o.append_log("camunda", "camunda-zeebe-0", "orchestration", "last words");
        o.rotate_log("camunda", "camunda-zeebe-0", "orchestration");
        o.append_log("camunda", "camunda-zeebe-0", "orchestration", "next run");
    });
    let (code, stdout) = out.finish().await;
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(stdout, "camunda-zeebe-0 started\nline two\nlast words\n");
    c.handle.shutdown().await;
}

/// Malformed requests get an HTTP answer (never a dropped connection from a panic).
#[tokio::test]
async fn malformed_requests_never_break_the_server() {
    let c = Cluster::start().await;
    let client = reqwest::Client::new();
    let base = c.handle.url().to_string();
    let sts = "/apis/apps/v1/namespaces/camunda/statefulsets/camunda-zeebe";
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "PATCH",
            sts.into(),
            "application/json-patch+json",
            r#"[{"op":"add","path":"/spec/x/y/z","value":1}]"#,
        ),
        (
            "PATCH",
            sts.into(),
            "application/json-patch+json",
            r#"[{"op":"replace","path":"","value":7}]"#,
        ),
        (
            "PATCH",
            sts.into(),
            "application/json-patch+json",
            r#"[{"op":"move","from":"/spec","path":"/spec/a"}]"#,
        ),
        (
            "PATCH",
            sts.into(),
            "application/merge-patch+json",
            r#"{"spec":"flat","metadata":7}"#,
        ),
        (
            "PATCH",
            sts.into(),
            "application/merge-patch+json",
            r#"[1,2]"#,
        ),
        (
            "PATCH",
            sts.into(),
            "application/strategic-merge-patch+json",
            r#"{"spec":{"template":{"spec":{"containers":[1,"x",null]}}}}"#,
        ),
        (
            "PATCH",
            sts.into(),
            "application/strategic-merge-patch+json",
            r#"{"spec":{"template":{"spec":{"containers":{"$patch":"explode"}}}}}"#,
        ),
        (
            "PATCH",
            sts.into(),
            "application/strategic-merge-patch+json",
            r#"{"$patch":"delete"}"#,
        ),
        (
            "PATCH",
            sts.into(),
            "application/apply-patch+yaml",
            "spec: {}",
        ),
        (
            "PATCH",
            format!("{sts}/scale"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":"3"}}"#,
        ),
        (
            "PUT",
            format!("{sts}/scale"),
            "application/json",
            r#"{"spec":{"replicas":1e99}}"#,
        ),
        (
            "PUT",
            sts.into(),
            "application/json",
            r#"{"metadata":{"name":"other"}}"#,
        ),
        ("PUT", sts.into(), "application/json", r#""just a string""#),
        (
            "POST",
            "/api/v1/namespaces/camunda/pods".into(),
            "application/json",
            r#"{"metadata":[]}"#,
        ),
        (
            "POST",
            "/api/v1/namespaces/camunda/pods".into(),
            "application/json",
            r#"{"metadata":{"namespace":"other","name":"x"}}"#,
        ),
        (
            "POST",
            "/api/v1/namespaces/camunda/pods".into(),
            "application/json",
            r#"{"metadata":{"generateName":"p-"},"spec":7}"#,
        ),
        (
            "DELETE",
            "/api/v1/namespaces/camunda/pods/camunda-zeebe-0".into(),
            "application/json",
            "{",
        ),
        (
            "GET",
            "/api/v1/namespaces/camunda/pods?watch=true&timeoutSeconds=-1".into(),
            "",
            "",
        ),
        (
            "GET",
            "/api/v1/namespaces/camunda/pods?fieldSelector=%FF%FE".into(),
            "",
            "",
        ),
        (
            "GET",
            "/api/v1/namespaces/camunda/pods/camunda-zeebe-0/log?tailLines=x&limitBytes=-3".into(),
            "",
            "",
        ),
        (
            "GET",
            "/api/v1/namespaces/camunda/pods/camunda-zeebe-0/log?limitBytes=1".into(),
            "",
            "",
        ),
        (
            "GET",
            "/apis/apps/v1/namespaces/camunda/statefulsets/camunda-zeebe/scale/extra".into(),
            "",
            "",
        ),
        (
            "GET",
            "/api/v1/namespaces/camunda/pods/camunda-zeebe-0/portforward".into(),
            "",
            "",
        ),
        ("GET", "/apis/apps".into(), "", ""),
        ("GET", "/apis/nope/v9".into(), "", ""),
        ("POST", "/api".into(), "", ""),
    ];
    for (method, path, content_type, body) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = client
            .request(method.clone(), format!("{base}{path}"))
            .body(body.to_string());
        if !content_type.is_empty() {
            request = request.header("Content-Type", content_type);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let code = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        println!("{method} {path} -> {code} {text:.120}");
    }
    // Still serving, and the objects are still well-formed for kubectl.
    let sts = c.object("apps", "StatefulSet", "camunda-zeebe").unwrap();
    assert_eq!(sts["spec"]["replicas"], 3, "{sts}");
    assert_eq!(
        c.object("", "Pod", "camunda-zeebe-0").unwrap()["spec"]["containers"][0]["name"],
        "orchestration"
    );
    let out = ok(c
        .kubectl(&["get", "sts", "camunda-zeebe", "-o", "json"])
        .await);
    assert_eq!(parse(&out)["kind"], "StatefulSet");
    ok(c.kubectl(&["get", "pods"]).await);
    c.handle.shutdown().await;
}

#[tokio::test]
async fn delete_pod_that_its_statefulset_recreates() {
    let c = Cluster::start().await;
    let before = c.object("", "Pod", "camunda-zeebe-0").unwrap();
    let out = ok(c.kubectl(&["delete", "pod", "camunda-zeebe-0"]).await);
    assert_eq!(out, "pod \"camunda-zeebe-0\" deleted\n");
    let after = c.object("", "Pod", "camunda-zeebe-0").unwrap();
    assert_ne!(before["metadata"]["uid"], after["metadata"]["uid"]);
    c.handle.shutdown().await;
}
