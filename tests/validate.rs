//! `runbook validate` on one fixture per check: a snapshot of the rendered diagnostic (label
//! under the right token) and the JSON output's line and column for the same problem.

use crate::harness::{fixture, runbook};

fn check(name: &str) {
    let path = fixture(&format!("invalid/{name}.yaml"));
    let human = runbook(["validate", &path]);
    assert_eq!(human.code, 1, "{name} should be invalid:\n{}", human.stderr);
    insta::assert_snapshot!(name, human.stderr);
    let json = runbook(["validate", "--format", "json", &path]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json output");
    let first = &v[0]["diagnostics"][0];
    // The human report names the same place as the JSON (file:line:column).
    let place = format!("{}:{}:{}", path, first["line"], first["column"]);
    assert!(
        human.stderr.contains(&place),
        "{name}: human output does not show {place}"
    );
}

macro_rules! fixtures {
    ($($name:ident),* $(,)?) => { $( #[test] fn $name() { check(stringify!($name)); } )* };
}

fixtures!(
    yaml_syntax,
    unknown_key,
    wrong_type,
    missing_field,
    duplicate_id,
    unknown_need,
    cycle,
    no_action,
    several_actions,
    unknown_param,
    unknown_output,
    not_an_ancestor,
    bad_jq,
    bad_duration,
    bad_url,
    bad_method,
    undo_reads_output,
    finally_reads_output,
    unknown_target,
    item_outside_for_each,
);

#[test]
fn warnings_pass_unless_denied() {
    let path = fixture("invalid/warnings.yaml");
    let r = runbook(["validate", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("runbook::plan::unused_param")
            && r.stderr.contains("runbook::plan::wait_without_timeout"),
        "{}",
        r.stderr
    );
    assert_eq!(runbook(["validate", "--deny-warnings", &path]).code, 1);
}

#[test]
fn every_problem_of_a_file_is_reported() {
    let r = runbook([
        "validate",
        "--format",
        "json",
        &fixture("invalid/many_problems.yaml"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v[0]["errors"].as_u64().unwrap() >= 4, "{}", r.stdout);
}

#[test]
fn github_and_sarif_formats() {
    let path = fixture("invalid/unknown_key.yaml");
    let g = runbook(["validate", "--format", "github", &path]);
    assert!(
        g.stdout
            .starts_with("::error file=tests/fixtures/invalid/unknown_key.yaml,line="),
        "{}",
        g.stdout
    );
    let s = runbook(["validate", "--format", "sarif", &path]);
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(
        v["runs"][0]["results"][0]["ruleId"],
        "runbook::plan::unknown_key"
    );
}

#[test]
fn io_and_encoding_errors_exit_2() {
    assert_eq!(runbook(["validate", "no/such/file.yaml"]).code, 2);
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("latin1.yaml");
    std::fs::write(&bin, b"name: caf\xe9\n").unwrap();
    let r = runbook(["validate", bin.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not UTF-8"), "{}", r.stderr);
}

#[test]
fn hostile_yaml_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..15 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    for (name, text) in [("bomb.yaml", bomb), ("deep.yaml", deep)] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let r = runbook(["validate", p.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains("runbook::yaml::syntax"),
            "{name}: {}",
            r.stderr
        );
    }
}

/// Long jq expressions used to overflow the stack (exit 134); now a diagnostic at the place.
#[test]
fn long_jq_expressions_are_refused_not_crashed() {
    let dir = tempfile::tempdir().unwrap();
    let head = std::fs::read_to_string(fixture("invalid/bad_jq.yaml")).unwrap();
    let head = head.split("      until:").next().unwrap().to_string();
    let exprs = [
        format!("[{}] | length > 0", vec!["1"; 1200].join(",")),
        vec!["true"; 2000].join(" or "),
        vec!["."; 3000].join(" | "),
    ];
    for (n, expr) in exprs.iter().enumerate() {
        let path = dir.path().join(format!("long{n}.yaml"));
        let plan = format!("{head}      until: '{expr}'\n      timeout: 1m\n");
        std::fs::write(&path, plan).unwrap();
        let r = runbook(["validate", path.to_str().unwrap()]);
        assert_eq!(r.code, 1, "expression {n}: {}", r.stderr);
        assert!(
            r.stderr.contains("operators"),
            "expression {n}: {}",
            r.stderr
        );
    }
}

/// A directory's hidden entries (`.github/workflows/*.yml`) are not plans.
#[test]
fn directories_skip_hidden_entries() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(fixture("invalid/warnings.yaml")).unwrap();
    std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
    let ci = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&ci).unwrap();
    std::fs::write(ci.join("ci.yml"), "on: push\njobs: {}\n").unwrap();
    let r = runbook(["validate", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("1 of 1 plan file"), "{}", r.stderr);
}

/// The files `validate --format json DIR args...` checked, relative to DIR.
fn checked(dir: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["validate", "--format", "json"];
    all.extend_from_slice(args);
    let d = dir.to_str().unwrap();
    all.push(d);
    let r = runbook(&all);
    let v: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
    v.as_array()
        .expect("files")
        .iter()
        .map(|f| {
            let file = f["file"].as_str().expect("file");
            file.strip_prefix(d)
                .unwrap_or(file)
                .trim_start_matches('/')
                .to_string()
        })
        .collect()
}

/// In a directory, plans are *.yaml/*.yml files (not values*) that say `apiVersion:
/// runbook/...` or `kind: Plan`; `--include`/`--exclude` replace the globs.
#[test]
fn directories_hold_plans_and_other_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let w = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let plan = std::fs::read_to_string(fixture("invalid/warnings.yaml")).unwrap();
    w("backup.yaml", &plan);
    w("sub/restore.yml", &plan);
    // A damaged plan still says what it is: it is checked (and fails).
    w(
        "broken.yaml",
        "apiVersion: runbook/v1\nkind: Plan\nsteps: [\n",
    );
    w("values.yaml", "backup_id: 7\n");
    w("values-prod.yaml", "apiVersion: runbook/v1\n");
    w("helm/camunda.yaml", "zeebe:\n  clusterSize: 3\n");
    w("k8s/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n");
    w(".github/workflows/ci.yml", "on: push\njobs: {}\n");
    w("notes.md", "apiVersion: runbook/v1\n");
    assert_eq!(
        checked(dir.path(), &[]),
        ["backup.yaml", "broken.yaml", "sub/restore.yml"]
    );
    assert_eq!(
        checked(dir.path(), &["--include", "sub/*.yml"]),
        ["sub/restore.yml"]
    );
    assert_eq!(
        checked(
            dir.path(),
            &["--exclude", "broken*", "--exclude", "values*"]
        ),
        ["backup.yaml", "sub/restore.yml"]
    );
    // Without the default exclude, a values file that claims to be a plan is checked.
    assert_eq!(
        checked(dir.path(), &["--exclude", "none"]),
        [
            "backup.yaml",
            "broken.yaml",
            "sub/restore.yml",
            "values-prod.yaml"
        ]
    );
    let none = runbook([
        "validate",
        "--include",
        "*.json",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(
        none.stderr.contains("runbook::io::no_plans"),
        "{}",
        none.stderr
    );
}

/// An unknown helper is found by `validate`, not halfway through a run.
#[test]
fn unknown_helpers_fail_validation() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(fixture("invalid/bad_jq.yaml"))
        .unwrap()
        .replace("until: .body.state == \"COMPLETED\" and", "until: .body.ok")
        .replace(
            "timeout: 1m\n",
            "timeout: 1m\n  - id: b\n    http: {target: api, path: \"/x/{{upper run.id}}\"}\n",
        );
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, plan).unwrap();
    let r = runbook(["validate", path.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("unknown helper `upper`"), "{}", r.stderr);
}

/// One missing file does not stop the others being checked, nor empty the SARIF report.
#[test]
fn a_missing_file_is_reported_and_the_rest_checked() {
    let r = runbook([
        "validate",
        "--format",
        "sarif",
        "no/such/file.yaml",
        &fixture("invalid/unknown_key.yaml"),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no/such/file.yaml"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("sarif output");
    let results = v["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty(), "{}", r.stdout);
}

/// docs/diagnostics.md lists exactly the diagnostic codes the code base has.
#[test]
fn the_diagnostic_catalogue_is_complete() {
    fn codes(text: &str) -> std::collections::BTreeSet<String> {
        text.split("runbook::")
            .skip(1)
            .filter_map(|rest| {
                let code: String = rest
                    .chars()
                    .take_while(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == ':'
                    })
                    .collect();
                let parts: Vec<&str> = code.split("::").collect();
                (parts.len() == 2 && parts.iter().all(|p| !p.is_empty()))
                    .then(|| format!("runbook::{code}"))
            })
            .collect()
    }
    fn sources(dir: &std::path::Path, out: &mut String) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                // Codes are string literals and `#[diagnostic(code(runbook::...))]`; the
                // library names its own paths `crate::`, so `runbook::` is always a code.
                out.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut code_text = String::new();
    for layer in ["engine/plan", "engine/cli", "engine/run", "engine/executor"] {
        sources(&crate::harness::root().join(layer), &mut code_text);
    }
    let in_code = codes(&code_text);
    let doc = std::fs::read_to_string(crate::harness::root().join("docs/diagnostics.md")).unwrap();
    let in_doc = codes(&doc);
    let missing: Vec<_> = in_code.difference(&in_doc).collect();
    let stale: Vec<_> = in_doc.difference(&in_code).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "not in docs/diagnostics.md: {missing:?}; listed but not in the code: {stale:?}"
    );
}

/// `-vv` logs every request to stderr; stdout keeps only the command's own output.
#[test]
fn verbose_logs_go_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // A port with nothing listening: the request is logged before it fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plan = std::fs::read_to_string(fixture("invalid/bad_jq.yaml"))
        .unwrap()
        .replace("9600", &port.to_string())
        .split("steps:")
        .next()
        .unwrap()
        .to_string()
        + "steps:\n  - id: a\n    http: {target: api, path: /x}\n";
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, plan).unwrap();
    let state = dir.path().join("state");
    let args = [
        "-vv",
        "run",
        path.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ];
    let r = runbook(args);
    assert!(r.stderr.contains("http request"), "{}", r.stderr);
    assert!(!r.stdout.contains("http request"), "{}", r.stdout);
    let quiet = runbook(&args[1..]);
    assert!(!quiet.stderr.contains("http request"), "{}", quiet.stderr);
}

/// Answers every request on 127.0.0.1 with `{"token": ...}` (connection closed after each),
/// until the test process ends.
fn token_server(token: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as much body as Content-Length says (bounded by the reads).
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen).to_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            let body = format!("{{\"token\": \"{token}\"}}");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// `-vv` logs requests, responses, bodies and kubectl argv; no secret reaches stderr in any
/// form: a declared secret raw, percent-encoded (in a path), in a JSON body, as Basic auth
/// and in kubectl arguments, and a secret captured from a response at run time.
#[test]
fn a_secret_never_appears_in_verbose_logs() {
    const DECLARED: &str = "Pa ss/w0rd-declared";
    const CAPTURED: &str = "captured-Token-4711";
    let port = token_server(CAPTURED);
    let dir = tempfile::tempdir().unwrap();
    let plan = format!(
        r#"apiVersion: runbook/v1
kind: Plan
name: secrets
params:
  password: {{type: string, secret: true}}
targets:
  api:
    http:
      url: "http://127.0.0.1:{port}"
      auth: {{basic: {{username: admin, password: "{{{{params.password}}}}"}}}}
  cluster: {{kubectl: {{namespace: ns, kubeconfig: "{kubeconfig}"}}}}
steps:
  - id: login
    http: {{target: api, method: POST, path: "/login/{{{{params.password}}}}", json: {{password: "{{{{params.password}}}}"}}}}
    outputs:
      token: {{jq: .body.token, secret: true}}
  - id: use
    needs: [login]
    http: {{target: api, method: POST, path: "/use/{{{{steps.login.outputs.token}}}}", json: {{token: "{{{{steps.login.outputs.token}}}}"}}}}
  - id: kube
    needs: [use]
    kubectl: {{target: cluster, args: [create, secret, generic, x, "--from-literal=password={{{{params.password}}}}", "--from-literal=token={{{{steps.login.outputs.token}}}}"]}}
"#,
        kubeconfig = dir.path().join("kubeconfig").display()
    );
    // A kubeconfig for a server that refuses connections: the argv is logged, then it fails.
    std::fs::write(
        dir.path().join("kubeconfig"),
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:1\"}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {}\n",
    )
    .unwrap();
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, plan).unwrap();
    let state = dir.path().join("state");
    let set = format!("password={DECLARED}");
    let r = runbook([
        "-vv",
        "run",
        path.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--set",
        &set,
    ]);
    // The log shows what happened...
    for shown in [
        "http request",
        "http response",
        "status=200",
        "kubectl",
        "create secret generic",
    ] {
        assert!(
            r.stderr.contains(shown),
            "`{shown}` not logged:\n{}",
            r.stderr
        );
    }
    // ...and no form of either secret.
    let basic = "YWRtaW46UGEgc3MvdzByZC1kZWNsYXJlZA"; // base64("admin:Pa ss/w0rd-declared") prefix
    for secret in [
        DECLARED,
        "Pa%20ss",
        "Pa+ss",
        "w0rd-declared",
        CAPTURED,
        "Token-4711",
        basic,
    ] {
        assert!(
            !r.stderr.contains(secret) && !r.stdout.contains(secret),
            "`{secret}` leaked:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
}
