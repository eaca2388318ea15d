//! `runbook run` and `runbook recover` against a real HTTP server on 127.0.0.1: success,
//! failure with undo and finally, SIGINT, SIGKILL then `recover --rollback`, the plan lock,
//! and that no secret reaches any output.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, Uri};

use crate::harness::root;

const SECRET: &str = "s3cr3t-token-value";

/// A loopback server: a path containing `/slow` answers after 30 s the first time it is
/// called (at once later), `/fail*` answers 400, `/echo*` answers 400 with the request's
/// Authorization header and path in its body (as servers do), `/list` answers names
/// containing `camunda`, anything else 200.
struct Server {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let path = uri.path().to_string();
                let first = {
                    let mut seen = seen.lock().unwrap();
                    let first = !seen.contains(&path);
                    seen.push(path.clone());
                    first
                };
                if path.contains("/slow") && first {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                if path.starts_with("/echo") {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let body = serde_json::json!({"message": format!("denied {auth} for {}", uri)});
                    return (StatusCode::BAD_REQUEST, body.to_string());
                }
                if path.starts_with("/state") {
                    // A poll body that echoes what it was asked, as some servers do.
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let state = if first {
                        format!("pending {auth} {uri}")
                    } else {
                        "DONE".into()
                    };
                    return (
                        StatusCode::OK,
                        serde_json::json!({"state": state}).to_string(),
                    );
                }
                if path == "/token" {
                    return (
                        StatusCode::OK,
                        "{\"token\":\"captured-token-0123456789\"}".to_string(),
                    );
                }
                if path == "/list" {
                    return (
                        StatusCode::OK,
                        "{\"names\":[\"camunda_a\",\"slow_camunda_b\",\"camunda_c\"]}".to_string(),
                    );
                }
                if path.starts_with("/fail") {
                    return (StatusCode::BAD_REQUEST, "{\"message\":\"no\"}".to_string());
                }
                (StatusCode::OK, "{\"ok\":true,\"id\":\"b-1\"}".to_string())
            }
        });
        let addr = crate::harness::serve_on_loopback(app);
        Self { addr, calls }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn wait_for(&self, path: &str) {
        self.wait_for_prefix(path);
    }

    fn wait_for_prefix(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.calls().iter().any(|c| c.starts_with(path)) {
            assert!(
                Instant::now() < deadline,
                "{path} never called; calls: {:?}",
                self.calls()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn plan(dir: &Path, server: &Server, middle: &str) -> String {
    let text = format!(
        "apiVersion: runbook/v1
kind: Plan
name: run-test
params:
  token: {{secret: true, env: RUN_TEST_TOKEN}}
targets:
  api: {{http: {{url: \"http://{}\", auth: {{bearer: \"{{{{params.token}}}}\"}}}}}}
steps:
  - id: pause
    http: {{target: api, method: POST, path: /pause}}
    outputs: {{id: .body.id}}
    undo: {{http: {{target: api, method: POST, path: \"/undo-pause/{{{{steps.pause.outputs.id}}}}\"}}}}
  - id: middle
    needs: [pause]
    http: {{target: api, path: {middle}}}
finally:
  - id: resume
    http: {{target: api, method: POST, path: /resume}}
",
        server.addr
    );
    let path = dir.join("plan.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_runbook"));
    c.args(args)
        .current_dir(dir)
        .env("RUN_TEST_TOKEN", SECRET)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

struct Done {
    code: i32,
    out: String,
}

fn finish(child: Child) -> Done {
    let out = child.wait_with_output().unwrap();
    Done {
        code: out.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn run(dir: &Path, args: &[&str]) -> Done {
    finish(command(dir, args).spawn().unwrap())
}

/// No secret in the outputs, the journal or the report.
fn assert_no_secret(dir: &Path, out: &str) {
    assert!(!out.contains(SECRET), "secret in output:\n{out}");
    for entry in walk(dir) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(!text.contains(SECRET), "secret in {}", entry.display());
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The state directory is private whatever the umask: directories 0700, files 0600 (journals
/// hold every output and plans their targets).
fn assert_owner_only(state_dir: &Path) {
    assert_eq!(mode(state_dir), 0o700);
    for file in walk(state_dir) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
        let mut parent = file.parent();
        while let Some(p) = parent.filter(|p| p.starts_with(state_dir)) {
            assert_eq!(mode(p), 0o700, "{}", p.display());
            parent = p.parent();
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn success_writes_journal_and_report_without_secrets() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &server, "/middle");
    let r = run(
        dir.path(),
        &["run", &plan, "--state-dir", "st", "--report", "report.json"],
    );
    assert_eq!(r.code, 0, "{}", r.out);
    assert_eq!(server.calls(), vec!["/pause", "/middle", "/resume"]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["finished"]["outcome"], "succeeded");
    assert_eq!(report["steps"][0]["outputs"]["id"], "b-1");
    assert_no_secret(dir.path(), &r.out);
    assert_owner_only(&dir.path().join("st"));
    assert_eq!(mode(&dir.path().join("report.json")), 0o600);
    let runs = run(dir.path(), &["runs", "--state-dir", "st"]);
    assert!(
        runs.out.contains("run-test") && runs.out.contains("Succeeded"),
        "{}",
        runs.out
    );
}

/// A corporate proxy in the environment (here one that refuses every connection) is not used
/// for loopback targets: the sim, port-forwards, a local tunnel.
#[test]
fn loopback_targets_bypass_the_proxy_environment() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &server, "/middle");
    let mut c = command(dir.path(), &["run", &plan, "--state-dir", "st", "-v"]);
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "all_proxy",
    ] {
        c.env(name, "http://user:pw-not-shown@127.0.0.1:1");
    }
    let r = finish(c.spawn().unwrap());
    assert_eq!(r.code, 0, "{}", r.out);
    assert_eq!(server.calls(), vec!["/pause", "/middle", "/resume"]);
    assert!(!r.out.contains("pw-not-shown"), "{}", r.out);
}

/// `--version` says which commit the binary was built from (an image or a CronJob log must).
#[test]
fn version_names_the_commit() {
    let r = crate::harness::runbook(["--version"]);
    assert_eq!(r.code, 0);
    let line = r.stdout.trim();
    let commit = line
        .strip_prefix(&format!("runbook {} (commit ", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    let hash = commit.trim_end_matches("-dirty");
    assert!(
        hash == "unknown" || (hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit())),
        "{line}"
    );
}

#[test]
fn failure_runs_undo_then_finally_and_exits_1() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &server, "/fail");
    let r = run(dir.path(), &["run", &plan, "--state-dir", "st"]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert_eq!(
        server.calls(),
        vec!["/pause", "/fail", "/undo-pause/b-1", "/resume"]
    );
    assert_no_secret(dir.path(), &r.out);
}

#[test]
fn sigint_compensates_and_exits_130() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &server, "/slow");
    let child = command(dir.path(), &["run", &plan, "--state-dir", "st"])
        .spawn()
        .unwrap();
    server.wait_for("/slow");
    kill(&child, "-INT");
    let r = finish(child);
    assert_eq!(r.code, 130, "{}", r.out);
    assert_eq!(
        server.calls(),
        vec!["/pause", "/slow", "/undo-pause/b-1", "/resume"]
    );
    assert!(r.out.contains("INTERRUPTED"), "{}", r.out);
    assert_no_secret(dir.path(), &r.out);
}

/// Issue 14: a run stopped by its `--timeout` exits 124 (not 130, which stays SIGINT/SIGTERM),
/// after undo and finally, and its journal and report say `timed_out`.
#[test]
fn a_run_timeout_compensates_and_exits_124() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &server, "/slow");
    let r = run(
        dir.path(),
        &[
            "run",
            &plan,
            "--state-dir",
            "st",
            "--timeout",
            "1s",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(r.code, 124, "{}", r.out);
    assert_eq!(
        server.calls(),
        vec!["/pause", "/slow", "/undo-pause/b-1", "/resume"]
    );
    assert!(r.out.contains("TIMED OUT"), "{}", r.out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["finished"]["outcome"], "timed_out");
    assert_eq!(report["finished"]["exit_code"], 124);
    let runs = run(dir.path(), &["runs", "--state-dir", "st"]);
    assert!(runs.out.contains("TimedOut"), "{}", runs.out);
}

/// Issue 14: a successful run whose `--report FILE` cannot be written exits 4 and says why; a
/// failed run keeps its own code (the failure matters more) and still names the report.
#[test]
fn a_report_that_cannot_be_written_exits_4() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan_ok = plan(dir.path(), &server, "/middle");
    let missing = dir.path().join("no-such-dir").join("report.json");
    let missing = missing.to_str().unwrap();
    let r = run(
        dir.path(),
        &["run", &plan_ok, "--state-dir", "st", "--report", missing],
    );
    assert_eq!(r.code, 4, "{}", r.out);
    assert!(r.out.contains("SUCCEEDED"), "{}", r.out);
    assert!(
        r.out.contains("error: cannot write the report") && r.out.contains("no-such-dir"),
        "{}",
        r.out
    );
    // The run directory's own report was still written.
    let kept = walk(&dir.path().join("st"))
        .into_iter()
        .any(|p| p.ends_with("report.json"));
    assert!(kept);
    let plan_fail = plan(dir.path(), &server, "/fail");
    let r = run(
        dir.path(),
        &["run", &plan_fail, "--state-dir", "st", "--report", missing],
    );
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.out.contains("cannot write the report"), "{}", r.out);
}

#[test]
fn sigkill_then_recover_rollback_completes_undo_and_finally() {
    let (server, dir) = killed_during_slow();
    let show = run(dir.path(), &["recover", "--state-dir", "st"]);
    assert_eq!(show.code, 0, "{}", show.out);
    assert!(
        show.out.contains("undo pending:    pause") && show.out.contains("in flight:       middle"),
        "{}",
        show.out
    );
    let r = run(dir.path(), &["recover", "--rollback", "--state-dir", "st"]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert_eq!(
        server.calls(),
        vec!["/pause", "/slow", "/undo-pause/b-1", "/resume"]
    );
    let journal = walk(&dir.path().join("st/runs"))
        .into_iter()
        .find(|p| p.ends_with("journal.jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(journal).unwrap();
    assert!(text.contains("\"event\":\"run_finished\""), "{text}");
    assert_no_secret(dir.path(), &r.out);
}

#[test]
fn a_second_run_of_the_same_plan_is_refused() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &server, "/slow");
    let child = command(dir.path(), &["run", &plan, "--state-dir", "st"])
        .spawn()
        .unwrap();
    server.wait_for("/slow");
    let second = run(dir.path(), &["run", &plan, "--state-dir", "st"]);
    assert_eq!(second.code, 2, "{}", second.out);
    assert!(
        second.out.contains(&format!("pid {}", child.id())),
        "{}",
        second.out
    );
    kill(&child, "-TERM");
    assert_eq!(finish(child).code, 130);
}

#[test]
fn destructive_steps_need_yes() {
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: runbook/v1\nkind: Plan\nname: d\ntargets:\n  api: {http: {url: \"http://127.0.0.1:9\"}}\nsteps:\n  - {id: wipe, destructive: true, http: {target: api, method: DELETE, path: /all}}\n";
    std::fs::write(dir.path().join("d.yaml"), text).unwrap();
    let r = run(dir.path(), &["run", "d.yaml", "--state-dir", "st"]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(
        r.out.contains("destructive steps (wipe)") && r.out.contains("--yes"),
        "{}",
        r.out
    );
    assert!(
        !dir.path().join("st").exists(),
        "nothing may start without confirmation"
    );
    let _ = root();
}

/// A `for_each` that fails part-way: the finally step scales back exactly the items that
/// succeeded or may have had an effect, read through `$effects`.
#[test]
fn finally_puts_back_the_partial_effects_of_a_failed_for_each() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"apiVersion: runbook/v1
kind: Plan
name: effects-test
targets:
  api: {{http: {{url: "http://{}"}}}}
steps:
  - id: scale-down
    for_each: '["a", "b", "fail-c", "d"]'
    parallelism: 1
    http: {{target: api, method: POST, path: "/{{{{item}}}}/down"}}
finally:
  - id: scale-back
    when: $effects["scale-down"].status != "succeeded"
    for_each: $effects["scale-down"].items.succeeded + $effects["scale-down"].items.failed
    parallelism: 1
    http: {{target: api, method: POST, path: "/back/{{{{item}}}}"}}
"#,
        server.addr
    );
    std::fs::write(dir.path().join("fx.yaml"), text).unwrap();
    let r = run(dir.path(), &["run", "fx.yaml", "--state-dir", "st"]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert_eq!(
        server.calls(),
        vec![
            "/a/down",
            "/b/down",
            "/fail-c/down",
            "/back/a",
            "/back/b",
            "/back/fail-c"
        ]
    );
}

#[test]
fn effects_of_an_unknown_step_are_diagnosed() {
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: runbook/v1\nkind: Plan\nname: d\ntargets:\n  api: {http: {url: \"http://127.0.0.1:9\"}}\nsteps:\n  - {id: a, http: {target: api, path: /a}}\nfinally:\n  - {id: b, when: '$effects[\"nope\"] != null', http: {target: api, path: /b}}\n";
    std::fs::write(dir.path().join("d.yaml"), text).unwrap();
    let r = run(dir.path(), &["validate", "d.yaml"]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.out.contains("unknown step `nope`"), "{}", r.out);
}

/// A fake kubectl (only for errors the simulator cannot produce): each call appends its argv
/// to `calls`; the first `fail_first` calls print `stderr` and exit 1, later ones succeed.
fn fake_kubectl(dir: &Path, stderr: &str, fail_first: u32) -> String {
    let path = dir.join("kubectl");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{calls}'\nn=$(wc -l < '{calls}')\nif [ \"$n\" -le {fail_first} ]; then echo '{stderr}' >&2; exit 1; fi\necho '{{}}'\n",
        calls = dir.join("calls").display()
    );
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn kubectl_plan(dir: &Path, args: &str) -> String {
    let text = format!(
        "apiVersion: runbook/v1\nkind: Plan\nname: k\ntargets:\n  k8s: {{kubectl: {{namespace: ns}}}}\nsteps:\n  - {{id: k, kubectl: {{target: k8s, args: {args}}}}}\n"
    );
    std::fs::write(dir.join("k.yaml"), text).unwrap();
    "k.yaml".into()
}

#[test]
fn a_transient_kubectl_error_on_an_idempotent_verb_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let etcd = "Error from server (InternalError): etcdserver: request timed out";
    let kubectl = fake_kubectl(dir.path(), etcd, 1);
    let plan = kubectl_plan(dir.path(), "[scale, deployment/x, --replicas=0]");
    let r = run(
        dir.path(),
        &["run", &plan, "--state-dir", "st", "--kubectl", &kubectl],
    );
    assert_eq!(r.code, 0, "{}", r.out);
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    assert_eq!(calls.lines().count(), 2, "{calls}");
    assert!(
        calls.lines().all(|l| l.contains("--request-timeout=30s")),
        "{calls}"
    );
}

#[test]
fn a_kubectl_error_that_retrying_cannot_fix_fails_at_once_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let denied = "Error from server (Forbidden): deployments.apps is forbidden";
    let kubectl = fake_kubectl(dir.path(), denied, 5);
    let plan = kubectl_plan(dir.path(), "[scale, deployment/x, --replicas=0]");
    let r = run(
        dir.path(),
        &["run", &plan, "--state-dir", "st", "--kubectl", &kubectl],
    );
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.out.contains("deployments.apps is forbidden"), "{}", r.out);
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    assert_eq!(calls.lines().count(), 1, "{calls}");
}

fn for_each_plan(dir: &Path, server: &Server) -> String {
    let text = format!(
        r#"apiVersion: runbook/v1
kind: Plan
name: resume-test
params:
  name: {{type: string, required: true}}
  stamp: {{type: string, default: '{{{{now "unix_ms"}}}}'}}
  token: {{secret: true, env: RUN_TEST_TOKEN}}
targets:
  api: {{http: {{url: "http://{}", auth: {{bearer: "{{{{params.token}}}}"}}}}}}
steps:
  - id: each
    destructive: true
    for_each: '["a", "b", "slow-c", "d"]'
    parallelism: 1
    http: {{target: api, method: POST, path: "/{{{{item}}}}/{{{{params.name}}}}-{{{{params.stamp}}}}"}}
  - id: after
    needs: [each]
    http: {{target: api, method: POST, path: /after}}
"#,
        server.addr
    );
    std::fs::write(dir.join("fe.yaml"), text).unwrap();
    "fe.yaml".into()
}

/// SIGKILL inside a `for_each`, then `recover --resume` with no params: it refuses to repeat
/// the in-flight item without --yes, refuses a conflicting value, refuses a missing secret,
/// then continues with the items that did not finish, with the frozen `{{now}}` default.
#[test]
fn recover_resumes_a_for_each_with_the_frozen_values() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = for_each_plan(dir.path(), &server);
    let mut child = command(
        dir.path(),
        &[
            "run",
            &plan,
            "--state-dir",
            "st",
            "--yes",
            "--set",
            "name=n1",
        ],
    )
    .spawn()
    .unwrap();
    server.wait_for_prefix("/slow-c/");
    child.kill().unwrap();
    let _ = child.wait();
    let before = server.calls();
    let stamp = before[0].trim_start_matches("/a/n1-").to_string();
    assert!(!stamp.is_empty(), "{before:?}");

    let refused = run(dir.path(), &["recover", "--resume", "--state-dir", "st"]);
    assert_eq!(refused.code, 2, "{}", refused.out);
    assert!(
        refused
            .out
            .contains("refusing to repeat `each` (items slow-c)"),
        "{}",
        refused.out
    );
    let conflict = run(
        dir.path(),
        &[
            "recover",
            "--resume",
            "--yes",
            "--state-dir",
            "st",
            "--set",
            "name=n2",
        ],
    );
    assert_eq!(conflict.code, 2, "{}", conflict.out);
    assert!(
        conflict.out.contains("froze n1, but n2 was given"),
        "{}",
        conflict.out
    );
    let no_secret = command(
        dir.path(),
        &["recover", "--resume", "--yes", "--state-dir", "st"],
    )
    .env_remove("RUN_TEST_TOKEN")
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&no_secret.stderr).to_string();
    assert_eq!(no_secret.status.code(), Some(2), "{text}");
    assert!(text.contains("RUN_TEST_TOKEN"), "{text}");
    assert_eq!(server.calls(), before, "nothing ran while refusing");

    let r = run(
        dir.path(),
        &["recover", "--resume", "--yes", "--state-dir", "st"],
    );
    assert_eq!(r.code, 0, "{}", r.out);
    let after: Vec<String> = server.calls()[before.len()..].to_vec();
    assert_eq!(
        after,
        vec![
            format!("/slow-c/n1-{stamp}"),
            format!("/d/n1-{stamp}"),
            "/after".to_string()
        ]
    );
    let report = walk(&dir.path().join("st/runs"))
        .into_iter()
        .find(|p| p.ends_with("report.json"))
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(report["run"]["params"]["name"], "n1", "{report}");
    assert_eq!(report["finished"]["outcome"], "succeeded");
    assert_no_secret(dir.path(), &r.out);
}

#[test]
fn recover_abandon_marks_the_run_finished_and_runs_nothing() {
    let (server, dir) = killed_during_slow();
    let r = run(dir.path(), &["recover", "--abandon", "--state-dir", "st"]);
    assert_eq!(r.code, 0, "{}", r.out);
    assert!(r.out.contains("marked abandoned"), "{}", r.out);
    assert_eq!(server.calls(), vec!["/pause", "/slow"]);
    let again = run(dir.path(), &["recover", "--resume", "--state-dir", "st"]);
    assert_ne!(again.code, 0, "no unfinished run is left: {}", again.out);
    let runs = run(dir.path(), &["runs", "--state-dir", "st"]);
    assert!(!runs.out.contains("UNFINISHED"), "{}", runs.out);
}

#[test]
fn a_finally_step_that_fails_for_good_exits_3() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "apiVersion: runbook/v1\nkind: Plan\nname: f\ntargets:\n  api: {{http: {{url: \"http://{}\"}}}}\nsteps:\n  - {{id: a, http: {{target: api, path: /a}}}}\nfinally:\n  - {{id: resume-exporting, retry: {{attempts: 2, backoff: {{initial: 10ms}}}}, http: {{target: api, path: /fail-resume}}}}\n",
        server.addr
    );
    std::fs::write(dir.path().join("f.yaml"), text).unwrap();
    let r = run(dir.path(), &["run", "f.yaml", "--state-dir", "st"]);
    assert_eq!(r.code, 3, "{}", r.out);
    assert!(r.out.contains("HUMAN ATTENTION NEEDED"), "{}", r.out);
}

#[test]
fn a_failed_destructive_run_says_how_to_continue() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "apiVersion: runbook/v1\nkind: Plan\nname: c\ntargets:\n  api: {{http: {{url: \"http://{}\"}}}}\nsteps:\n  - {{id: wipe, destructive: true, for_each: '[\"x\", \"fail-y\", \"z\"]', parallelism: 1, http: {{target: api, method: DELETE, path: \"/{{{{item}}}}\"}}}}\n  - {{id: rebuild, needs: [wipe], http: {{target: api, method: POST, path: /rebuild}}}}\n",
        server.addr
    );
    std::fs::write(dir.path().join("c.yaml"), text).unwrap();
    let r = run(dir.path(), &["run", "c.yaml", "--state-dir", "st", "--yes"]);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(
        r.out.contains(
            "wipe (did not finish), items done: x, items that may have had an effect: fail-y"
        ),
        "{}",
        r.out
    );
    assert!(r.out.contains("left to do: wipe, rebuild"), "{}", r.out);
    assert!(
        r.out.contains("--resume --state-dir st") && r.out.contains("runbook recover 20"),
        "{}",
        r.out
    );
}

/// The password `camunda` occurs in snapshot names: the journal stores no `camunda` at all
/// (values are sealed as references to the secret param), and a resumed run sends the exact
/// names, rebuilt from the secret read again from its env.
#[test]
fn a_short_secret_inside_values_survives_resume_and_stays_out_of_the_journal() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"apiVersion: runbook/v1
kind: Plan
name: seal-test
params:
  pw: {{secret: true, env: RUN_TEST_PW}}
targets:
  api: {{http: {{url: "http://{}", auth: {{basic: {{username: admin, password: "{{{{params.pw}}}}"}}}}}}}}
steps:
  - id: list
    http: {{target: api, path: /list}}
    outputs: {{names: .body.names}}
  - id: restore
    needs: [list]
    destructive: true
    for_each: $steps["list"].outputs.names
    parallelism: 1
    http: {{target: api, method: POST, path: "/x/{{{{item}}}}"}}
"#,
        server.addr
    );
    std::fs::write(dir.path().join("s.yaml"), text).unwrap();
    let mut child = command(dir.path(), &["run", "s.yaml", "--state-dir", "st", "--yes"])
        .env("RUN_TEST_PW", "camunda")
        .spawn()
        .unwrap();
    server.wait_for("/x/slow_camunda_b");
    child.kill().unwrap();
    let _ = child.wait();
    let journal = walk(&dir.path().join("st/runs"))
        .into_iter()
        .find(|p| p.ends_with("journal.jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains("camunda"), "{text}");
    let r = finish(
        command(
            dir.path(),
            &["recover", "--resume", "--yes", "--state-dir", "st"],
        )
        .env("RUN_TEST_PW", "camunda")
        .spawn()
        .unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.out);
    assert!(
        r.out.contains("`pw` is shorter than 8 characters"),
        "{}",
        r.out
    );
    assert_eq!(
        server.calls(),
        vec![
            "/list",
            "/x/camunda_a",
            "/x/slow_camunda_b",
            "/x/slow_camunda_b",
            "/x/camunda_c"
        ]
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains("camunda"), "{text}");
}

/// A server echoes the Basic-auth header and a percent-encoded secret in an error body:
/// neither stderr (`--log-format json`), the journal nor the report shows the secret in any
/// form.
#[test]
fn secrets_echoed_by_a_server_are_masked_in_every_form() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let secret = "p@ss w/rd:long-enough";
    let text = format!(
        r#"apiVersion: runbook/v1
kind: Plan
name: echo-test
params:
  pw: {{secret: true, env: RUN_TEST_PW}}
targets:
  api: {{http: {{url: "http://{}", auth: {{basic: {{username: admin, password: "{{{{params.pw}}}}"}}}}}}}}
steps:
  - id: echo
    http: {{target: api, method: POST, path: "/echo/{{{{params.pw}}}}", json: {{pw: "{{{{params.pw}}}}"}}}}
"#,
        server.addr
    );
    std::fs::write(dir.path().join("e.yaml"), text).unwrap();
    let r = finish(
        command(
            dir.path(),
            &[
                "run",
                "e.yaml",
                "--state-dir",
                "st",
                "--log-format",
                "json",
                "--report",
                "r.json",
            ],
        )
        .env("RUN_TEST_PW", secret)
        .spawn()
        .unwrap(),
    );
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.out.contains("denied Basic ***"), "{}", r.out);
    let basic = "YWRtaW46cEBzcyB3L3JkOmxvbmctZW5vdWdo"; // base64("admin:" + secret)
    let forms = [
        secret,
        "p%40ss%20w%2Frd%3Along-enough",
        basic,
        "cEBzcyB3L3Jk",
    ];
    let mut texts = vec![("output".to_string(), r.out.clone())];
    for p in walk(dir.path()) {
        if !p.ends_with("e.yaml") {
            texts.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap_or_default(),
            ));
        }
    }
    for (what, text) in texts {
        for form in forms {
            assert!(!text.contains(form), "{form} in {what}:\n{text}");
        }
    }
}

/// A wait polls a server that echoes the request (path with a declared secret, a captured
/// secret, the Authorization header) in the `state` it reports: the observation is shown
/// and journaled, yet no form of either secret reaches stderr (text or JSON logs), the
/// journal or the report.
#[test]
fn secrets_echoed_in_a_polled_body_are_masked_everywhere() {
    let secret = "p@ss w/rd:long-enough";
    let captured = "captured-token-0123456789";
    let plan = |server: &Server| {
        format!(
            r#"apiVersion: runbook/v1
kind: Plan
name: poll-echo
params:
  pw: {{secret: true, env: RUN_TEST_PW}}
targets:
  api: {{http: {{url: "http://{}", auth: {{basic: {{username: admin, password: "{{{{params.pw}}}}"}}}}}}}}
steps:
  - id: login
    http: {{target: api, path: /token}}
    outputs: {{token: {{jq: .body.token, secret: true}}}}
  - id: declared
    wait:
      http: {{target: api, path: "/state-a/{{{{params.pw}}}}"}}
      until: '.body.state == "DONE"'
      interval: 10ms
      timeout: 20s
  - id: captured
    needs: [login]
    wait:
      http: {{target: api, path: "/state-b/{{{{steps.login.outputs.token}}}}"}}
      until: '.body.state == "DONE"'
      interval: 10ms
      timeout: 20s
"#,
            server.addr
        )
    };
    let basic = "YWRtaW46cEBzcyB3L3JkOmxvbmctZW5vdWdo"; // base64("admin:" + secret)
    let forms = [
        secret,
        "p%40ss%20w%2Frd%3Along-enough",
        basic,
        "cEBzcyB3L3Jk",
        captured,
    ];
    for format in ["text", "json"] {
        // A server and directory each: the server answers `pending` to a path's first poll.
        let server = Server::start();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.yaml"), plan(&server)).unwrap();
        let state = format!("st-{format}");
        let report = format!("r-{format}.json");
        let r = finish(
            command(
                dir.path(),
                &[
                    "run",
                    "p.yaml",
                    "--state-dir",
                    &state,
                    "--log-format",
                    format,
                    "--report",
                    &report,
                ],
            )
            .env("RUN_TEST_PW", secret)
            .spawn()
            .unwrap(),
        );
        assert_eq!(r.code, 0, "{}", r.out);
        // The observation is shown (masked), not dropped.
        assert!(r.out.contains("pending Basic ***"), "{}", r.out);
        let mut texts = vec![("output".to_string(), r.out.clone())];
        for p in walk(dir.path()) {
            if !p.ends_with("p.yaml") {
                texts.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap_or_default(),
                ));
            }
        }
        assert!(texts.iter().any(|(w, _)| w.ends_with("journal.jsonl")));
        assert!(texts.iter().any(|(w, _)| w.ends_with(&report)));
        for (what, text) in texts {
            for form in forms {
                assert!(!text.contains(form), "{form} in {what}:\n{text}");
            }
        }
    }
}

/// `{{effects...}}` in a template is refused with a diagnostic saying why and what to write
/// instead (`$effects` in jq, `for_each` + `{{item}}`), before anything runs.
#[test]
fn a_template_reading_effects_is_a_clear_validation_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"apiVersion: runbook/v1
kind: Plan
name: effects-template
targets:
  api: {http: {url: "http://127.0.0.1:9"}}
steps:
  - id: a
    http: {target: api, path: /a}
finally:
  - id: b
    http: {target: api, path: "/b/{{effects.a.status}}"}
"#;
    std::fs::write(dir.path().join("p.yaml"), text).unwrap();
    let r = run(dir.path(), &["run", "p.yaml", "--state-dir", "st"]);
    assert_eq!(r.code, 2, "an invalid plan is bad input: {}", r.out);
    assert!(
        r.out.contains("templates cannot read `effects.a.status`")
            && r.out.contains("runbook::template::effects_in_template")
            && r.out.contains("$effects[\"<id>\"].items.succeeded"),
        "{}",
        r.out
    );
}

/// A destructive `for_each` whose items come from the server (known only at run time).
fn destructive_plan(dir: &Path, server: &Server) -> &'static str {
    let text = format!(
        r#"apiVersion: runbook/v1
kind: Plan
name: wipe-test
targets:
  api: {{http: {{url: "http://{}"}}}}
steps:
  - id: list
    http: {{target: api, path: /list}}
    outputs: {{names: .body.names}}
  - id: wipe
    needs: [list]
    destructive: true
    for_each: $steps["list"].outputs.names
    http: {{target: api, method: DELETE, path: "/x-{{{{item}}}}"}}
"#,
        server.addr
    );
    std::fs::write(dir.join("w.yaml"), text).unwrap();
    "w.yaml"
}

/// With `--yes` a destructive step still lists its exact calls, every item, before making
/// them: on stderr (text and JSON) and in the journal, so the logs show what was deleted.
#[test]
fn with_yes_the_exact_destructive_calls_are_listed_before_they_are_made() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = destructive_plan(dir.path(), &server);
    let r = run(dir.path(), &["run", plan, "--state-dir", "st", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.out);
    // `/x-…`, not `/x/…`: the server delays paths containing `/slow`.
    let base = format!("DELETE http://{}/x-", server.addr);
    let listing = format!(
        "wipe is destructive; its 3 call(s):\n    {base}camunda_a\n    {base}slow_camunda_b\n    {base}camunda_c"
    );
    assert!(r.out.contains(&listing), "{}", r.out);
    // Listed before the first of them is made.
    let listed_at = r.out.find(&listing).unwrap();
    let started_at = r.out.find("wipe [camunda_a] started").unwrap();
    assert!(listed_at < started_at, "{}", r.out);
    let journal = walk(&dir.path().join("st/runs"))
        .into_iter()
        .find(|p| p.ends_with("journal.jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(journal).unwrap();
    assert!(
        text.contains("\"event\":\"destructive_calls\"")
            && text.contains(&format!("{base}camunda_c")),
        "{text}"
    );
}

/// Without a terminal and without `--yes`, a plan with destructive steps is refused before
/// anything runs, saying why and what to do.
#[test]
fn without_a_terminal_or_yes_a_destructive_plan_is_refused_up_front() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = destructive_plan(dir.path(), &server);
    let r = run(dir.path(), &["run", plan, "--state-dir", "st"]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(
        r.out
            .contains("plan `wipe-test` has destructive steps (wipe) and there is no terminal")
            && r.out.contains("nothing was run")
            && r.out.contains("--yes"),
        "{}",
        r.out
    );
    assert!(server.calls().is_empty(), "{:?}", server.calls());
}

/// Issue 14: the summary's ATTEMPTS of a `for_each` step is per item (the most any item
/// needed), not every item's attempts added up; ITEMS shows succeeded/started. The report's
/// row says the same. `recover --output json` describes a run as one JSON document.
#[test]
fn for_each_attempts_are_per_item_and_items_are_shown_separately() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"apiVersion: runbook/v1
kind: Plan
name: items-test
targets:
  api: {{http: {{url: "http://{}"}}}}
steps:
  - id: each
    for_each: '["state-a", "state-b", "state-c"]'
    http: {{target: api, path: "/{{{{item}}}}"}}
    check: '.body.state == "DONE"'
    retry: {{attempts: 3, backoff: {{initial: 10ms, max: 10ms}}}}
"#,
        server.addr
    );
    std::fs::write(dir.path().join("items.yaml"), text).unwrap();
    let r = run(
        dir.path(),
        &[
            "run",
            "items.yaml",
            "--state-dir",
            "st",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.out);
    let row = r
        .out
        .lines()
        .find(|l| l.starts_with("step ") && l.contains(" each "))
        .unwrap_or_else(|| panic!("{}", r.out));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // step, each, <n>, ms, ATTEMPTS, ITEMS, status
    assert_eq!(
        cols[4], "2",
        "each item took 2 attempts, not 6 in all: {row}"
    );
    assert_eq!(cols[5], "3/3", "{row}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["steps"][0]["attempts"], 2);
    assert_eq!(report["steps"][0]["items"]["started"], 3);
    assert_eq!(report["steps"][0]["items"]["succeeded"], 3);

    let runs = run(
        dir.path(),
        &["runs", "--state-dir", "st", "--output", "json"],
    );
    let list: serde_json::Value = serde_json::from_str(runs.out.trim()).unwrap();
    let id = list[0]["run_id"].as_str().unwrap().to_string();
    let described = command(
        dir.path(),
        &["recover", &id, "--state-dir", "st", "--output", "json"],
    )
    .output()
    .unwrap();
    assert_eq!(described.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap();
    assert_eq!(doc["run_id"], id.as_str());
    assert_eq!(doc["plan"], "items-test");
    assert_eq!(doc["finished"], true);
}

/// Issue 14: `RUNBOOK_PEAK_RSS=1` prints the process's own peak resident memory at exit (the
/// README's figure for a backup; `/usr/bin/time` would report the largest kubectl child).
#[test]
fn peak_rss_is_reported_on_request() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &server, "/middle");
    let r = finish(
        command(dir.path(), &["run", &plan, "--state-dir", "st"])
            .env("RUNBOOK_PEAK_RSS", "1")
            .spawn()
            .unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.out);
    let line = r
        .out
        .lines()
        .find(|l| l.starts_with("runbook peak RSS (VmHWM): "))
        .unwrap_or_else(|| panic!("{}", r.out));
    let kb: u64 = line
        .trim_start_matches("runbook peak RSS (VmHWM): ")
        .trim_end_matches(" kB")
        .parse()
        .unwrap_or_else(|_| panic!("{line}"));
    assert!(kb > 1000, "{line}");
    let quiet = run(dir.path(), &["runs", "--state-dir", "st"]);
    assert!(!quiet.out.contains("peak RSS"), "{}", quiet.out);
}

/// The standard plan run with `--state-dir st` and SIGKILLed while its `/slow` call is in
/// flight: what `recover` starts from.
fn killed_during_slow() -> (Server, tempfile::TempDir) {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &server, "/slow");
    let mut child = command(dir.path(), &["run", &plan, "--state-dir", "st"])
        .spawn()
        .unwrap();
    server.wait_for("/slow");
    child.kill().unwrap();
    let _ = child.wait();
    (server, dir)
}
