//! `runbook rbac` end to end: every shipped Camunda plan (backup, restore, inventory, prune of
//! 8.7, 8.8 and 8.9) runs against the simulator whose Kubernetes stand-in enforces the Role
//! `runbook rbac` generated for it (`PUT /sim/rbac`): nothing is denied and the run succeeds.
//! Then, for every verb of every rule, the same plan runs with that one verb removed: the call
//! that needed it is denied (the simulator's `GET /sim/rbac` lists the 403) and the run fails
//! naming a step the Role's comments list for it, with kubectl's `forbidden` text. One
//! simulator per Camunda version, the three versions in parallel; a restore that failed is
//! resumed with the full Role (`recover --resume`), which also proves the fix is to widen the
//! Role and resume. `watch` is the exception: client-go falls back to relisting when a watch
//! is refused, so a run without it may still succeed; there only the denial is asserted.

use std::path::Path;

use crate::harness::{SimProcess, run_against_sim, runbook};

/// The plans of one Camunda version, in the order they run against one simulator.
struct Version {
    version: &'static str,
    backup: &'static str,
    restore: &'static str,
    inventory: &'static str,
    prune: &'static str,
}

const VERSIONS: [Version; 3] = [
    Version {
        version: "8.8",
        backup: "backup-8.8.yaml",
        restore: "restore-8.8.yaml",
        inventory: "inventory.yaml",
        prune: "prune.yaml",
    },
    Version {
        version: "8.7",
        backup: "backup-8.7.yaml",
        restore: "restore-8.7.yaml",
        inventory: "inventory-8.7.yaml",
        prune: "prune-8.7.yaml",
    },
    Version {
        version: "8.9",
        backup: "backup-8.9.yaml",
        restore: "restore-8.9.yaml",
        inventory: "inventory.yaml",
        prune: "prune.yaml",
    },
];

/// One verb of one rule, and the steps the Role's comments name for it.
#[derive(Debug)]
struct Grant {
    resource: String,
    verb: String,
    steps: Vec<String>,
}

/// The grants of a `runbook rbac` Role, from its comments (`# <verb> <resource>: a: s1, ...`)
/// checked against its `resources`/`verbs` lines.
fn grants(role: &str) -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::new();
    for line in role.lines() {
        let Some(text) = line.strip_prefix("  #") else {
            continue;
        };
        let continued = text.starts_with("  ");
        let text = text.trim();
        if !continued {
            let (head, rest) = text.split_once(": ").expect("`verb resource: steps`");
            let (verb, resource) = head.split_once(' ').expect("verb and resource");
            out.push(Grant {
                resource: resource.to_string(),
                verb: verb.to_string(),
                steps: Vec::new(),
            });
            push_steps(out.last_mut().expect("just pushed"), rest);
        } else {
            push_steps(out.last_mut().expect("a continued comment"), text);
        }
    }
    for g in &out {
        let rule = format!("resources: [\"{}\"]", g.resource);
        let at = role
            .find(&rule)
            .unwrap_or_else(|| panic!("no rule for {g:?}"));
        let verbs = role[at..].lines().nth(1).expect("verbs line");
        assert!(verbs.contains(&format!("\"{}\"", g.verb)), "{g:?}: {verbs}");
    }
    out
}

/// `a.yaml: s1, a.yaml: s2 (finally), a.yaml: target x (port_forward)` -> step ids.
fn push_steps(g: &mut Grant, text: &str) {
    for item in text.split(", ").filter(|s| !s.is_empty()) {
        let step = item.split_once(": ").map_or(item, |(_, s)| s);
        let step = step
            .split(" (")
            .next()
            .unwrap_or(step)
            .trim_end_matches(',');
        g.steps.push(step.to_string());
    }
}

/// The Role without `verb` on `resource`.
fn without(role: &str, g: &Grant) -> String {
    let rule = format!("resources: [\"{}\"]", g.resource);
    let at = role.find(&rule).expect("rule") + rule.len();
    let (head, tail) = role.split_at(at);
    let (verbs_line, rest) = tail[1..].split_once('\n').expect("verbs line");
    let verbs: Vec<&str> = verbs_line
        .trim()
        .trim_start_matches("verbs: [")
        .trim_end_matches(']')
        .split(", ")
        .filter(|v| *v != format!("\"{}\"", g.verb))
        .collect();
    format!("{head}\n    verbs: [{}]\n{rest}", verbs.join(", "))
}

fn plan_path(plan: &str) -> String {
    crate::harness::root()
        .join("plans/camunda")
        .join(plan)
        .display()
        .to_string()
}

/// `runbook rbac PLAN -f values.yaml` for the simulator in `dir`.
fn role_for(dir: &Path, plan: &str) -> String {
    let values = dir.join("values.yaml").display().to_string();
    let r = runbook(["rbac", &plan_path(plan), "-f", &values]);
    assert_eq!(r.code, 0, "runbook rbac {plan}: {}", r.stderr);
    r.stdout
}

/// Runs `plan` in the simulator's directory; (exit code, stdout + stderr).
fn run(dir: &Path, plan: &str, extra: &[&str]) -> (i32, String) {
    let out = run_against_sim(dir, Path::new(&plan_path(plan)), extra)
        .output()
        .expect("runbook runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn denied(sim: &SimProcess) -> Vec<String> {
    let v = sim.get("/sim/rbac");
    assert_eq!(v["enabled"], true, "{v}");
    v["denied"]
        .as_array()
        .expect("denied")
        .iter()
        .map(|d| d.as_str().unwrap_or_default().to_string())
        .collect()
}

fn put_role(sim: &SimProcess, role: &str) {
    let v = sim.call("PUT", "/sim/rbac", role);
    assert_eq!(v["enabled"], true, "{v}");
}

/// The run id a failed run prints in its `runbook recover <id> --resume` hint.
fn run_id(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.contains("runbook recover "))?;
    let after = line.split("runbook recover ").nth(1)?;
    Some(after.split_whitespace().next()?.to_string())
}

/// A simulator of one Camunda version with a backup to restore (id 7, taken before any
/// Role is enforced).
struct Env {
    version: &'static str,
    // Declared before `dir`: the simulator stops before its directory goes.
    sim: SimProcess,
    dir: tempfile::TempDir,
}

impl Env {
    fn start(v: &Version) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Killed on drop; the lifetime only bounds a simulator a crashed test left behind.
        let sim = SimProcess::start_for(dir.path(), "1200s", &["--camunda-version", v.version]);
        let (code, text) = run(dir.path(), v.backup, &["--set", "backup_id=7"]);
        assert_eq!(code, 0, "{text}");
        Env {
            version: v.version,
            sim,
            dir,
        }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// One plan: with its Role, then with each grant removed.
fn check_plan(env: &mut Env, v: &Version, plan: &str, extra: &[&str], out: &mut Outcome) {
    let role = role_for(env.dir(), plan);
    put_role(&env.sim, &role);
    let (code, text) = run(env.dir(), plan, extra);
    assert_eq!(
        code, 0,
        "{plan} ({}) with its own Role:\n{text}",
        env.version
    );
    assert!(
        denied(&env.sim).is_empty(),
        "{plan}: {:?}",
        denied(&env.sim)
    );
    let grants = grants(&role);
    assert!(!grants.is_empty(), "{plan}: an empty Role");
    for g in &grants {
        put_role(&env.sim, &without(&role, g));
        let (code, text) = run(env.dir(), plan, extra);
        let denials = denied(&env.sim);
        put_role(&env.sim, &role);
        let what = format!("{plan} ({}) without {} {}", env.version, g.verb, g.resource);
        match judge(g, code, &text, &denials) {
            Ok(line) => out.log.push(format!("{what}: {line}")),
            Err(problem) => out.problems.push(format!("{what}: {problem}")),
        }
        if code != 0 && !resumed(env, &text) {
            // The run's own finally undid what a resume needs (a restore that failed while
            // waiting for the restore app stops it): go on with a fresh simulator.
            out.log
                .push(format!("{what}: not resumable; fresh simulator"));
            *env = Env::start(v);
            put_role(&env.sim, &role);
        }
    }
}

/// The verdict on one run without grant `g`: a line for the log, or the problem.
fn judge(g: &Grant, code: i32, text: &str, denials: &[String]) -> Result<String, String> {
    let wanted = format!("cannot {} resource \"{}\"", g.verb, g.resource);
    let was_denied = denials.iter().any(|d| d.contains(&wanted));
    match (was_denied, code == 0) {
        (false, true) if tolerated(g) => return Ok("not called in this run".into()),
        (false, _) => return Err(format!("nothing denied ({denials:?})")),
        (true, true) if tolerated(g) => return Ok("denied, kubectl carried on".into()),
        (true, true) => return Err("the run succeeded".into()),
        (true, false) => {}
    }
    // The summary line (`FAILED: ...`, or `COMPENSATION FAILED: ...` when a finally step
    // was refused too) names the step; it quotes kubectl, or a wait's progress line does
    // (`<step> observed "exit 1: Error from server (Forbidden): ..."`) when the step's own
    // timeout ended the wait first. JSON quoting is undone for the comparison.
    let text = text.replace("\\\"", "\"");
    let failed = text
        .lines()
        .find(|l| l.starts_with("FAILED") || l.starts_with("COMPENSATION FAILED"))
        .unwrap_or_default();
    let forbidden =
        |l: &str| l.contains("is forbidden: User \"system:serviceaccount:") && l.contains(&wanted);
    let step = g.steps.iter().find(|s| failed.contains(&format!("`{s}`")));
    let said = step.is_some_and(|s| {
        forbidden(failed)
            || text
                .lines()
                .any(|l| l.contains(&format!("] {s} ")) && forbidden(l))
    });
    if said {
        Ok(failed.to_string())
    } else {
        Err(format!(
            "the failure does not name the denied call and a step the Role lists for it \
             ({:?}): {failed}",
            g.steps
        ))
    }
}

/// Widens the Role back (the caller did) and resumes the failed run, as an operator would.
fn resumed(env: &Env, text: &str) -> bool {
    let Some(id) = run_id(text) else {
        return true;
    };
    std::process::Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["recover", &id, "--resume", "--yes", "--state-dir", "runs"])
        .current_dir(env.dir())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("recover runs")
        .status
        .success()
}

#[derive(Default)]
struct Outcome {
    log: Vec<String>,
    problems: Vec<String>,
}

/// Calls kubectl makes but does without when refused: a `watch` (client-go relists instead,
/// on a real cluster as here) and the `get` with which `kubectl delete` starts waiting for
/// the object to go (it goes on to list and watch). The Role keeps them: kubectl makes them,
/// and without them a rollout is only seen at the next relist. A `watch` may also not be
/// called at all: `kubectl delete` of a PVC no pod uses returns before it needs one.
fn tolerated(g: &Grant) -> bool {
    g.verb == "watch" || (g.verb == "get" && g.resource == "persistentvolumeclaims")
}

fn check_version(v: &Version) -> Outcome {
    let mut env = Env::start(v);
    let mut out = Outcome::default();
    // Short waits: a wait whose probe is denied fails at its timeout, not in 30 minutes.
    let restore = ["--set", "wait_timeout=20s", "--yes", "--set", "backup_id=7"];
    // The restore last: the runs it fails on purpose leave the cluster stopped. Prune keeps
    // every backup (its kubectl calls are the same whatever it deletes).
    let plans: [(&str, &[&str]); 4] = [
        (v.backup, &["--set", "wait_timeout=20s"]),
        (v.inventory, &[]),
        (v.prune, &["--yes", "--set", "keep=1000"]),
        (v.restore, &restore),
    ];
    for (plan, extra) in plans {
        check_plan(&mut env, v, plan, extra, &mut out);
    }
    out
}

#[test]
fn every_camunda_plan_runs_with_its_generated_role_and_needs_every_grant() {
    let results: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = VERSIONS
            .iter()
            .map(|v| s.spawn(move || check_version(v)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a version's checks panicked"))
            .collect()
    });
    for line in results.iter().flat_map(|o| &o.log) {
        println!("{line}");
    }
    let problems: Vec<&String> = results.iter().flat_map(|o| &o.problems).collect();
    assert!(
        problems.is_empty(),
        "{}",
        problems
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// A plan with every place a kubectl call can hide: an undo, a `before_retry` (find and
/// clean-up), a wait probe, a `finally` step, and an HTTP target reached through a
/// port-forward; each verb's comment names the step (and the place) that needs it.
const EVERY_PLACE: &str = r#"apiVersion: runbook/v1
kind: Plan
name: every-place
params:
  forward: { type: boolean, default: true }
targets:
  k: { kubectl: { namespace: shop } }
  api:
    http:
      url: http://api.shop:8080
      port_forward: { via: k, resource: "services/api", remote_port: 8080, enabled: "{{params.forward}}" }
steps:
  - id: scale-down
    kubectl: { target: k, args: [scale, deployment/api, --replicas=0] }
    outputs: { name: '"api"', kind: '"secrets"' }
    undo:
      kubectl: { target: k, args: [annotate, "deployment/api", "x=y"] }
  - id: wipe
    needs: [scale-down]
    for_each: '["a", "b"]'
    kubectl: { target: k, args: [delete, configmap, "{{item}}", --wait=false] }
    retry: { attempts: 2 }
    before_retry:
      find: { kubectl: { target: k, args: [get, secrets, -o, json] } }
      select: '.stdout.items | map(.metadata.name)'
      kubectl: { target: k, args: [label, "secret/{{leftover}}", "stale=true"] }
  - id: ready
    needs: [wipe]
    wait:
      kubectl: { target: k, args: [get, "lease/{{steps.scale-down.outputs.name}}", -o, json] }
      until: '.exit_code == 0'
  - id: ping
    http: { target: api, path: /health }
finally:
  - id: logs
    kubectl: { target: k, args: [logs, "{{default steps.scale-down.outputs.name \"x\"}}"] }
"#;

fn rbac_of(plan_text: &str, extra: &[&str]) -> crate::harness::Run {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(&plan, plan_text).unwrap();
    let mut args = vec!["rbac".to_string(), plan.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    runbook(args)
}

#[test]
fn rbac_covers_undo_before_retry_waits_finally_and_port_forwards() {
    let r = rbac_of(EVERY_PLACE, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let role = r.stdout;
    for (comment, rule) in [
        (
            "# patch deployments/scale: plan.yaml: scale-down",
            "resources: [\"deployments/scale\"]",
        ),
        (
            "plan.yaml: scale-down (undo)",
            "resources: [\"deployments\"]",
        ),
        (
            "# delete configmaps: plan.yaml: wipe",
            "resources: [\"configmaps\"]",
        ),
        (
            "# list secrets: plan.yaml: wipe (before_retry find)",
            "resources: [\"secrets\"]",
        ),
        (
            "plan.yaml: wipe (before_retry)",
            "verbs: [\"get\", \"list\", \"patch\"]",
        ),
        (
            "# get leases: plan.yaml: ready",
            "apiGroups: [\"coordination.k8s.io\"]",
        ),
        (
            "# get pods/log: plan.yaml: logs (finally)",
            "resources: [\"pods/log\"]",
        ),
        (
            "# create pods/portforward: plan.yaml: target api (port_forward)",
            "verbs: [\"create\"]",
        ),
        (
            "# get services: plan.yaml: target api (port_forward)",
            "resources: [\"services\"]",
        ),
    ] {
        assert!(role.contains(comment), "{comment}\n{role}");
        assert!(role.contains(rule), "{rule}\n{role}");
    }
    assert!(role.contains("namespace: \"shop\""), "{role}");
    // Without the forward, its rules go.
    let r = rbac_of(EVERY_PLACE, &["--set", "forward=false"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("portforward"), "{}", r.stdout);
    assert!(!r.stdout.contains("services"), "{}", r.stdout);
}

#[test]
fn rbac_names_every_call_it_cannot_map_and_prints_no_role() {
    let plan = EVERY_PLACE
        .replace(
            "args: [get, secrets, -o, json]",
            "args: [get, \"{{steps.scale-down.outputs.kind}}\", -o, json]",
        )
        .replace("args: [logs,", "args: [cp,");
    let r = rbac_of(&plan, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("plan.yaml: wipe (before_retry find): `kubectl get {{steps.scale-down.outputs.kind}} -o json`")
            && r.stderr.contains("known only at run time"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("plan.yaml: logs (finally): `kubectl cp"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("2 kubectl call(s) cannot be mapped"),
        "{}",
        r.stderr
    );
}

#[test]
fn rbac_of_the_shipped_plans_as_from_a_laptop_includes_the_port_forwards() {
    let r = runbook(["rbac", "plans/camunda/"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for rule in [
        "resources: [\"pods/portforward\"]\n    verbs: [\"create\"]",
        "resources: [\"pods/log\"]\n    verbs: [\"get\"]",
        "resources: [\"statefulsets/scale\"]\n    verbs: [\"patch\"]",
        "resources: [\"persistentvolumeclaims\"]\n    verbs: [\"get\", \"list\", \"watch\", \"delete\"]",
    ] {
        assert!(r.stdout.contains(rule), "{rule}\n{}", r.stdout);
    }
    // Nothing the plans do not do: no secrets, no exec, nothing cluster-wide.
    for absent in ["secrets", "pods/exec", "ClusterRole", "\"*\""] {
        assert!(!r.stdout.contains(absent), "{absent}");
    }
}

#[test]
fn rehearse_passes_with_the_generated_role_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let r = runbook([
        "rbac",
        "plans/camunda/backup-8.8.yaml",
        "plans/camunda/restore-8.8.yaml",
        "--set",
        "port_forward=false",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let role = dir.path().join("role.yaml");
    std::fs::write(&role, &r.stdout).unwrap();
    let state = dir.path().join("rehearse");
    let r = runbook([
        "rehearse".as_ref(),
        "--rbac".as_ref(),
        role.as_os_str(),
        "--state-dir".as_ref(),
        state.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("VERDICT: PASS"), "{}", r.stdout);
}

#[test]
fn through_port_forwards_the_role_needs_its_forward_rules() {
    let dir = tempfile::tempdir().unwrap();
    let r = runbook([
        "rbac",
        "plans/camunda/backup-8.8.yaml",
        "plans/camunda/restore-8.8.yaml",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rehearse = |role_text: &str, name: &str| {
        let role = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&role, role_text).unwrap();
        let state = dir.path().join(name);
        runbook([
            "rehearse".as_ref(),
            "--port-forward".as_ref(),
            "--rbac".as_ref(),
            role.as_os_str(),
            "--state-dir".as_ref(),
            state.as_os_str(),
        ])
    };
    let full = rehearse(&r.stdout, "full");
    assert_eq!(full.code, 0, "{}\n{}", full.stdout, full.stderr);
    assert!(full.stdout.contains("VERDICT: PASS"), "{}", full.stdout);
    let g = Grant {
        resource: "pods/portforward".into(),
        verb: "create".into(),
        steps: Vec::new(),
    };
    let denied = rehearse(&without(&r.stdout, &g), "no-forward");
    let said = format!("{}{}", denied.stdout, denied.stderr);
    assert_ne!(denied.code, 0, "{said}");
    assert!(
        said.contains("port-forward error: kubectl port-forward services/")
            && said.contains("cannot create resource \"pods/portforward\""),
        "{said}"
    );
}
