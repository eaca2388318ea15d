//! `deploy/`: the kustomize manifests of the nightly backup + prune (README "Running on a
//! schedule", docs/scheduling.md). The committed Role is `runbook rbac`'s output (as the
//! schema-is-current test does for the JSON Schema); the overlay renders offline with
//! `kubectl kustomize` into what the docs promise (Forbid, non-root, read-only root, the state
//! volume at RUNBOOK_STATE_DIR, the generated ServiceAccount, credentials from a Secret, plans
//! that exist in the image), and passes `kubernetes-validate --strict` (the Kubernetes OpenAPI
//! schemas bundled in a PyPI package; skipped, saying so, where it is not installed). Also the
//! in-cluster decisions: no kubeconfig or context forced, no port-forward, and the second of
//! two runs sharing a state volume is refused by the file lock.

use std::process::{Command, Stdio};

use serde_json::Value as Json;

use crate::harness::{root, runbook};

const RBAC_ARGS: [&str; 4] = [
    "plans/camunda/backup-8.8.yaml",
    "plans/camunda/prune.yaml",
    "-f",
    "deploy/base/values.yaml",
];

#[test]
fn the_committed_role_is_what_runbook_rbac_prints() {
    let r = runbook(["rbac"].iter().chain(&RBAC_ARGS));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let committed = std::fs::read_to_string(root().join("deploy/base/rbac.yaml")).unwrap();
    assert!(
        committed == r.stdout,
        "deploy/base/rbac.yaml is stale: run `runbook rbac {}` > deploy/base/rbac.yaml",
        RBAC_ARGS.join(" ")
    );
    // In the cluster the plans reach Camunda directly: no port-forward rule.
    assert!(!committed.contains("portforward"), "{committed}");
    assert!(committed.contains("namespace: \"camunda\""));
}

/// `kubectl kustomize deploy/overlays/nightly`, as JSON documents.
fn rendered() -> (String, Vec<Json>) {
    let out = Command::new("kubectl")
        .args(["kustomize", "deploy/overlays/nightly"])
        .current_dir(root())
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<Json> = serde_saphyr::from_multiple(&text).expect("rendered YAML");
    (text, docs)
}

fn kind<'a>(docs: &'a [Json], kind: &str) -> &'a Json {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn the_overlay_renders_a_locked_down_nightly_backup_then_prune() {
    let (_, docs) = rendered();
    let cron = kind(&docs, "CronJob");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(
        cron["spec"]["schedule"], "30 1 * * *",
        "the overlay's schedule"
    );
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(
        pod["serviceAccountName"],
        kind(&docs, "ServiceAccount")["metadata"]["name"]
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        kind(&docs, "RoleBinding")["roleRef"]["name"],
        kind(&docs, "Role")["metadata"]["name"]
    );
    let claim = &kind(&docs, "PersistentVolumeClaim")["metadata"]["name"];
    let state_volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["persistentVolumeClaim"]["claimName"] == *claim)
        .expect("the state PVC is mounted")["name"]
        .clone();
    // The backup first (init container), then the prune.
    let containers: Vec<&Json> = pod["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(pod["containers"].as_array().unwrap())
        .collect();
    let plans: Vec<&str> = containers
        .iter()
        .map(|c| c["args"][1].as_str().unwrap())
        .collect();
    assert_eq!(
        plans,
        [
            "/usr/share/runbook/plans/camunda/backup-8.8.yaml",
            "/usr/share/runbook/plans/camunda/prune.yaml"
        ]
    );
    for c in containers {
        let name = &c["name"];
        // The image of this version (`runbook --version`), as the Containerfile builds it.
        let image = format!("registry.example.com/runbook:{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(c["image"], image.as_str(), "{name}");
        let plan = c["args"][1].as_str().unwrap();
        let in_repo = plan.replace("/usr/share/runbook/plans", "plans");
        assert!(root().join(&in_repo).is_file(), "{name}: {plan}");
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
        let env = c["env"].as_array().unwrap();
        let state_dir = env
            .iter()
            .find(|e| e["name"] == "RUNBOOK_STATE_DIR")
            .expect("RUNBOOK_STATE_DIR")["value"]
            .clone();
        let mounts = c["volumeMounts"].as_array().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| m["name"] == state_volume && m["mountPath"] == state_dir),
            "{name}: the state volume at RUNBOOK_STATE_DIR"
        );
        // Credentials only from the Secret, never in the ConfigMap.
        let password = env
            .iter()
            .find(|e| e["name"] == "RUNBOOK_DATASTORE_PASSWORD")
            .expect("password from a Secret");
        assert!(password["valueFrom"]["secretKeyRef"]["name"].is_string());
    }
    let values = &kind(&docs, "ConfigMap")["data"];
    assert!(values["prune.yaml"].as_str().unwrap().contains("keep: 14"));
    let base = values["values.yaml"].as_str().unwrap();
    assert!(base.contains("port_forward: false"), "{base}");
    assert!(!base.to_ascii_lowercase().contains("password:"), "{base}");
}

#[test]
fn the_rendered_manifests_pass_the_kubernetes_schemas() {
    let (text, _) = rendered();
    let Ok(mut child) = Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", "1.30.0", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!(
            "SKIPPED: kubernetes-validate is not installed (`pip install kubernetes-validate`; .ci/run does)"
        );
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert_eq!(said.matches("passed for resource").count(), 6, "{said}");
}

#[test]
fn in_the_cluster_the_plans_force_no_kubeconfig_and_use_direct_urls() {
    for plan in ["plans/camunda/backup-8.8.yaml", "plans/camunda/prune.yaml"] {
        let r = runbook([
            "plan",
            plan,
            "-f",
            "deploy/base/values.yaml",
            "--format",
            "json",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let dry: Json = serde_json::from_str(&r.stdout).unwrap();
        for step in dry["steps"].as_array().unwrap() {
            for req in step["requests"].as_array().unwrap() {
                assert!(req["port_forward"].is_null(), "{plan}: {req}");
                if let Some(argv) = req["argv"].as_array() {
                    // kubectl's in-cluster config (the ServiceAccount) applies only without
                    // a kubeconfig or context.
                    assert!(
                        argv.iter().all(|a| {
                            let a = a.as_str().unwrap();
                            !a.starts_with("--kubeconfig") && !a.starts_with("--context")
                        }),
                        "{plan}: {argv:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_second_run_on_the_same_state_volume_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("probe.yaml");
    std::fs::write(
        &plan,
        "apiVersion: runbook/v1\nkind: Plan\nname: lock-probe\ntargets:\n  k: {kubectl: {namespace: ns}}\nsteps:\n  - id: a\n    kubectl: {target: k, args: [version, --client]}\n",
    )
    .unwrap();
    let state = dir.path().join("state");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_runbook"))
            .arg("run")
            .arg(&plan)
            .env("RUNBOOK_STATE_DIR", &state)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Another pod's run holds the lock: the same OS file lock on the shared volume.
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(state.join("locks/lock-probe.lock"))
        .expect("the first run left its lock file in RUNBOOK_STATE_DIR");
    lock.try_lock().expect("free after the first run");
    let second = run();
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{said}");
    assert!(
        said.contains("already being run from this state directory"),
        "{said}"
    );
    drop(lock);
    assert!(run().status.success());
}

/// The alert rules shipped in deploy/alerts parse and name only metrics runbook writes.
#[test]
fn the_alert_rules_use_the_metrics_runbook_writes() {
    let text = std::fs::read_to_string(root().join("deploy/alerts/runbook.rules.yaml")).unwrap();
    let rules: Json = serde_saphyr::from_str(&text).expect("YAML");
    let written = std::fs::read_to_string(root().join("engine/cli/metrics.rs")).unwrap();
    let exprs: Vec<&str> = rules["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["expr"].as_str().unwrap())
        .collect();
    assert!(exprs.len() >= 3);
    for expr in exprs {
        let names: Vec<&str> = expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("runbook_"))
            .collect();
        assert!(!names.is_empty(), "{expr}");
        for name in names {
            assert!(
                written.contains(&format!("\"{name}\"")),
                "{name} is not a metric runbook writes"
            );
        }
    }
}
