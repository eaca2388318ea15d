//! The files the repository ships: every plan validates, and the committed schema is current.

use crate::harness::{root, runbook};

#[test]
fn every_shipped_plan_validates_without_warnings() {
    let r = runbook(["validate", "--deny-warnings", "plans/"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn every_shipped_plan_names_the_schema() {
    for entry in walk(&root().join("plans")) {
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} must start with a yaml-language-server $schema line",
            entry.display()
        );
    }
}

#[test]
fn every_shipped_plan_matches_the_committed_schema() {
    // The schema is what editors check plans with: a shipped plan it rejects would show
    // errors in every editor even though `runbook validate` accepts it.
    let text = std::fs::read_to_string(root().join("schemas/plan.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    // Not vacuous: a plan missing required keys, with an unknown one, is rejected.
    assert!(!validator.is_valid(&serde_json::json!({"apiVersion": "runbook/v1", "stepz": []})));
    let mut plans = walk(&root().join("plans"));
    plans.extend(walk(&root().join("tests/fixtures/valid")));
    assert!(!plans.is_empty());
    for path in plans {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = runbook::plan::yaml::parse(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .to_json();
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not match schemas/plan.schema.json:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn committed_schema_is_current() {
    let committed =
        std::fs::read_to_string(root().join("schemas/plan.schema.json")).unwrap_or_default();
    let generated = runbook(["schema"]).stdout;
    assert!(
        committed == generated,
        "schemas/plan.schema.json is stale: run `cargo run -- schema > schemas/plan.schema.json`"
    );
}

#[test]
fn dry_run_shows_exact_requests_and_masks_secrets() {
    let r = runbook([
        "plan",
        "plans/camunda/backup-8.8.yaml",
        "--set",
        "backup_id=42",
        "--set",
        "datastore_password=s3cret-pw",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(
        "send: POST http://camunda-zeebe-gateway:9600/actuator/exporting/pause?soft=true"
    ));
    assert!(r.stdout.contains("send: PUT http://camunda-elasticsearch:9200/_snapshot/camunda/camunda_zeebe_records_backup_42?wait_for_completion=true"));
    assert!(
        r.stdout
            .contains(r#"body: {"indices":"zeebe-record*","feature_states":["none"]}"#)
    );
    assert!(!r.stdout.contains("s3cret-pw") && !r.stderr.contains("s3cret-pw"));
    let j = runbook([
        "plan",
        "plans/camunda/backup-8.8.yaml",
        "--set",
        "backup_id=42",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).expect("json");
    let pause = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == "soft-pause-exporting")
        .expect("soft pause step");
    assert_eq!(
        pause["requests"][0]["url"],
        "http://camunda-zeebe-gateway:9600/actuator/exporting/pause?soft=true"
    );
    // Nothing is paused before the preflight.
    assert_eq!(
        v["steps"][0]["id"]
            .as_str()
            .map(|s| s.starts_with("preflight-")),
        Some(true)
    );
    assert_eq!(v["finally"][0]["id"], "resume-exporting");
}

/// A target that skips TLS verification is said loudly: at the top of the dry run, on each of
/// its requests, in the JSON, and at the start of a run.
#[test]
fn insecure_targets_are_shown_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(
        &path,
        "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  es: {http: {url: \"https://127.0.0.1:1\", tls: {insecure: true}}}\n  ok: {http: {url: \"https://127.0.0.1:2\"}}\nsteps:\n  - id: a\n    http: {target: es, path: /x}\n  - id: b\n    http: {target: ok, path: /y}\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let r = runbook(["plan", p]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("WARNING: target `es` does not verify TLS certificates"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("send: GET https://127.0.0.1:1/x   [TLS NOT VERIFIED: insecure: true]")
    );
    assert!(r.stdout.contains("send: GET https://127.0.0.1:2/y\n"));
    let j = runbook(["plan", p, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).expect("json");
    assert_eq!(v["insecure_targets"], serde_json::json!(["es"]));
    assert_eq!(v["steps"][0]["requests"][0]["insecure"], true);
    assert!(v["steps"][1]["requests"][0].get("insecure").is_none());
    let state = dir.path().join("st");
    let run = runbook(["run", p, "--state-dir", state.to_str().unwrap()]);
    assert!(
        run.stderr
            .contains("WARNING: target `es` does not verify TLS certificates"),
        "{}",
        run.stderr
    );
}

/// Helm's `--set-file`: a secret read from a file is masked like any secret; a missing file is
/// a usage error naming it.
#[test]
fn set_file_gives_a_param_a_file_content() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "s3cret-from-file").unwrap();
    let set_file = format!("datastore_password={}", pw.display());
    let r = runbook([
        "plan",
        "plans/camunda/backup-8.8.yaml",
        "--set",
        "backup_id=42",
        "--set-file",
        &set_file,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("datastore_password = ***"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("s3cret-from-file") && !r.stderr.contains("s3cret-from-file"));
    let r = runbook([
        "plan",
        "plans/camunda/backup-8.8.yaml",
        "--set-file",
        "datastore_password=/nonexistent/pw",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read `/nonexistent/pw`"),
        "{}",
        r.stderr
    );
}

/// An OAuth2 target: the dry run says where the token comes from, never the client secret.
#[test]
fn oauth2_targets_dry_run_without_their_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(
        &path,
        "apiVersion: runbook/v1\nkind: Plan\nname: t\nparams:\n  secret: {type: string, secret: true, default: oauth-client-s3cret}\ntargets:\n  api:\n    http:\n      url: https://camunda.example\n      auth:\n        oauth2: {token_url: \"https://idp.example/token\", client_id: runbook, client_secret: \"{{params.secret}}\", audience: orchestration-api}\nsteps:\n  - id: a\n    http: {target: api, path: /v2/topology}\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let r = runbook(["plan", p]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Authorization: Bearer *** (OAuth2 client credentials of client `runbook` from https://idp.example/token, fetched at run time)"),
        "{}",
        r.stdout
    );
    let j = runbook(["plan", p, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).expect("json");
    assert_eq!(
        v["steps"][0]["requests"][0]["oauth2"]["audience"],
        "orchestration-api"
    );
    for out in [&r.stdout, &r.stderr, &j.stdout] {
        assert!(!out.contains("oauth-client-s3cret"), "{out}");
    }
}

/// Amazon OpenSearch Service: with a region, the Camunda plans sign datastore requests with
/// SigV4 (credentials only at run time), and the dry run says so.
#[test]
fn aws_sigv4_datastore_dry_run() {
    let r = runbook([
        "plan",
        "plans/camunda/backup-8.8.yaml",
        "--set",
        "backup_id=42",
        "--set",
        "datastore_aws_region=eu-west-1",
        "--set",
        "datastore_aws_service=aoss",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let step = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "preflight-repository")
        .expect("preflight-repository");
    assert_eq!(
        step["requests"][0]["aws_sigv4"],
        serde_json::json!({"region": "eu-west-1", "service": "aoss"})
    );
    let bad = runbook([
        "plan",
        "plans/camunda/backup-8.8.yaml",
        "--set",
        "backup_id=42",
        "--set",
        "datastore_aws_service=s3",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn bad_set_is_a_usage_error() {
    let r = runbook([
        "plan",
        "plans/camunda/backup-8.8.yaml",
        "--set",
        "backup_idd=1",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `backup_id`?"),
        "{}",
        r.stderr
    );
    let r = runbook([
        "plan",
        "plans/camunda/backup-8.8.yaml",
        "--set",
        "backup_id=abc",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`abc` is not an integer"), "{}", r.stderr);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "yaml")
            && !p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("values")
        {
            out.push(p);
        }
    }
    out
}

/// A `for_each` over a run-time list: the dry run names where `{{item.name}}` comes from
/// instead of rendering an empty string (`scale deployment/ --replicas=0`).
#[test]
fn dry_run_names_the_source_of_run_time_items() {
    let dir = tempfile::tempdir().unwrap();
    let head = std::fs::read_to_string(crate::harness::fixture("invalid/bad_jq.yaml")).unwrap();
    let head = head.split("steps:").next().unwrap();
    let plan = format!(
        "{head}steps:\n  - id: list\n    http: {{target: api, path: /list}}\n    outputs:\n      names: .body\n  - id: scale\n    needs: list\n    for_each: $steps.list.outputs.names\n    http: {{target: api, method: POST, path: \"/scale/{{{{item.name}}}}\"}}\n"
    );
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, plan).unwrap();
    let r = crate::harness::runbook(["plan", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("/scale/<item.name of $steps.list.outputs.names>"),
        "{}",
        r.stdout
    );
}

/// A plan whose step ids trip graph renderers: `a-b` and `a_b` (one Mermaid id once), `end`
/// (a Mermaid keyword).
fn awkward_ids_plan(dir: &std::path::Path) -> String {
    let head = std::fs::read_to_string(crate::harness::fixture("invalid/bad_jq.yaml")).unwrap();
    let head = head.split("steps:").next().unwrap();
    let plan = format!(
        "{head}steps:\n  - id: a-b\n    http: {{target: api, path: /x}}\n  - id: a_b\n    needs: a-b\n    http: {{target: api, path: /y}}\n  - id: end\n    needs: a_b\n    http: {{target: api, path: /z}}\n"
    );
    let path = dir.join("plan.yaml");
    std::fs::write(&path, plan).unwrap();
    path.display().to_string()
}

#[test]
fn mermaid_keeps_awkward_ids_apart() {
    let dir = tempfile::tempdir().unwrap();
    let r = runbook([
        "graph",
        "--format",
        "mermaid",
        &awkward_ids_plan(dir.path()),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let nodes: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.trim().split_once("[\"").map(|(id, _)| id))
        .filter(|id| !id.starts_with("subgraph"))
        .collect();
    assert_eq!(nodes.len(), 3, "{}", r.stdout);
    assert!(
        nodes[0] != nodes[1] && nodes[1] != nodes[2] && nodes[0] != nodes[2],
        "{}",
        r.stdout
    );
    assert!(!nodes.contains(&"end"), "{}", r.stdout);
}

/// Rendered with Graphviz's own `dot` when installed: the label's line break is a real one.
#[test]
fn dot_renders_with_graphviz() {
    let dir = tempfile::tempdir().unwrap();
    let r = runbook(["graph", "--format", "dot", &awkward_ids_plan(dir.path())]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"a-b\\n(http)\""), "{}", r.stdout);
    let dot = std::process::Command::new("dot")
        .arg("-Tplain")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut dot) = dot else {
        eprintln!(
            "SKIPPED dot_renders_with_graphviz: Graphviz `dot` is not installed (apt-get install graphviz)"
        );
        return;
    };
    use std::io::Write;
    dot.stdin
        .take()
        .unwrap()
        .write_all(r.stdout.as_bytes())
        .unwrap();
    let out = dot.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = String::from_utf8_lossy(&out.stdout);
    // `-Tplain` prints each label with its line break as `\n` only if it was literal text.
    assert!(!plain.contains("\\\\n"), "{plain}");
    assert!(plain.contains("node \"a-b\""), "{plain}");
}
