//! The Camunda plans other than the 8.8 backup (backup-8.7, inventory, prune, for 8.8 and 8.7)
//! against the built-in simulator, through the real CLI: `runbook sim` prints its values file,
//! the plan runs with it, and the effects are checked through the simulator's control API
//! (`/sim/state`, `/sim/exporting`, `/sim/oracle/backups/{id}`) and the run report.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value as Json;

use crate::harness::{SimProcess, output, recover_resume, root, run_against_sim, runbook};

/// Camunda 8.10 (issue 13): the REST API backup, the Restore API restore and its fallback.
mod v810;
/// Camunda 8.9 (issue 13): its own file, sharing this module's helpers.
mod v89;

/// A `runbook sim` process for one Camunda version and datastore; killed on drop.
struct Sim {
    sim: SimProcess,
    dir: tempfile::TempDir,
}

impl Sim {
    fn start(version: &str, datastore: &str) -> Self {
        Self::start_with(version, datastore, &[])
    }

    fn start_with(version: &str, datastore: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["--camunda-version", version, "--datastore", datastore];
        args.extend_from_slice(extra);
        let sim = SimProcess::start(dir.path(), &args);
        Self { sim, dir }
    }

    /// A simulator started with a scenario file (its `config:` shapes the cluster, §7).
    fn start_scenario(version: &str, scenario: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimProcess::start_scenario(dir.path(), version, scenario);
        Self { sim, dir }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn call(&self, method: &str, path: &str, body: &str) -> Json {
        self.sim.call(method, path, body)
    }

    fn get(&self, path: &str) -> Json {
        self.sim.get(path)
    }

    fn oracle(&self, id: u64) -> Json {
        self.get(&format!("/sim/oracle/backups/{id}"))
    }

    /// Mode changes of exporting so far (`soft-paused`, `running`, ...).
    fn exporting_history(&self) -> Vec<String> {
        self.get("/sim/exporting")["history"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| h["mode"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn exporting_paused(&self) -> bool {
        self.get("/sim/exporting")["paused"]
            .as_bool()
            .unwrap_or(true)
    }

    /// Names of every snapshot in the datastore, sorted.
    fn snapshot_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.get("/sim/state")["snapshots"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["name"].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    }

    /// Ids of the Zeebe partition backups the brokers hold.
    fn zeebe_backup_ids(&self) -> Vec<u64> {
        let backups = &self.get("/sim/state")["zeebeBackups"]["backups"];
        let mut ids: Vec<u64> = match backups {
            Json::Object(m) => m.keys().filter_map(|k| k.parse().ok()).collect(),
            Json::Array(a) => a.iter().filter_map(|b| b["backupId"].as_u64()).collect(),
            _ => Vec::new(),
        };
        ids.sort_unstable();
        ids
    }

    /// Runs `plan` with the simulator's values file; returns (exit code, output, report).
    fn run(&self, plan: &str, extra: &[&str]) -> (i32, String, Json) {
        let plan = root().join("plans/camunda").join(plan);
        let report = self.dir().join("report.json");
        let _ = std::fs::remove_file(&report);
        let (code, text) = output(run_against_sim(self.dir(), &plan, extra));
        let report = std::fs::read_to_string(&report)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Json::Null);
        (code, text, report)
    }

    /// Runs `plan` and asserts it succeeded; returns the report.
    fn run_ok(&self, plan: &str, extra: &[&str]) -> Json {
        let (code, text, report) = self.run(plan, extra);
        assert_eq!(code, 0, "{plan} {extra:?} failed:\n{text}");
        report
    }
}

/// The outputs of step `id` in a run report.
fn step<'a>(report: &'a Json, id: &str) -> &'a Json {
    report["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id))
        .unwrap_or(&Json::Null)
}

fn outputs<'a>(report: &'a Json, id: &str) -> &'a Json {
    &step(report, id)["outputs"]
}

/// `succeeded`, `failed: ...`, `skipped: ...`, or empty if the step never appeared.
fn status<'a>(report: &'a Json, id: &str) -> &'a str {
    step(report, id)["status"].as_str().unwrap_or_default()
}

/// A simulator holding the complete backup 100, then the given faults (scenario YAML).
fn backed_up_then(faults: &str) -> Sim {
    let sim = Sim::start("8.8", "elasticsearch");
    sim.run_ok("backup-8.8.yaml", &["--set", "backup_id=100"]);
    let r = sim.call("POST", "/sim/faults", faults);
    assert_eq!(r["accepted"], true, "{r}");
    sim
}

fn ids(v: &Json) -> Vec<u64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_u64)
        .collect()
}

fn assert_coherent(sim: &Sim, id: u64, case: &str) {
    let verdict = sim.oracle(id);
    assert_eq!(
        verdict["coherent"], true,
        "{case}: backup {id} is not coherent: {verdict}"
    );
}

/// The next backup of this component fails (a FAILED state, reference 4.3-4.5).
fn fail_next(sim: &Sim, component: &str) {
    let r = sim.call(
        "POST",
        "/sim/faults",
        &format!("outcomes:\n  - component: {component}\n    result: failed\n    times: 1\n"),
    );
    assert_eq!(r["accepted"], true, "{r}");
}

#[test]
fn backup_87_on_elasticsearch_and_opensearch_is_coherent_and_resumes_exporting() {
    for (datastore, feature_states) in [
        ("elasticsearch", serde_json::json!(["none"])),
        ("opensearch", serde_json::json!([])),
    ] {
        let sim = Sim::start("8.7", datastore);
        let report = sim.run_ok("backup-8.7.yaml", &["--set", "backup_id=1000"]);
        assert_coherent(&sim, 1000, datastore);
        assert!(
            !sim.exporting_paused(),
            "{datastore}: exporting left paused"
        );
        assert_eq!(
            sim.exporting_history(),
            ["soft-paused", "running"],
            "{datastore}"
        );
        // The zeebe-record snapshot used the body of this datastore (reference 2.1 step 6, 4.7).
        let state = sim.get("/sim/state");
        let records = state["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "camunda_zeebe_records_backup_1000")
            .expect("zeebe-record snapshot");
        assert_eq!(records["featureStates"], feature_states, "{datastore}");
        // The 8.7 docs' order (§2.2, §7.12): the web-app and Optimize backups complete, then
        // exporting is soft-paused, then the zeebe-record snapshot is taken.
        let paused_at = sim.get("/sim/exporting")["history"][0]["atMs"]
            .as_u64()
            .unwrap();
        let webapps_done = state["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                let n = s["name"].as_str().unwrap_or("");
                ["camunda_operate_", "camunda_tasklist_", "camunda_optimize_"]
                    .iter()
                    .any(|p| n.starts_with(p))
            })
            .map(|s| s["endMs"].as_u64().expect("web-app part finished"))
            .max()
            .expect("web-app parts");
        assert!(
            webapps_done <= paused_at,
            "{datastore}: paused at {paused_at} before the web apps finished at {webapps_done}"
        );
        assert!(
            paused_at <= records["startMs"].as_u64().unwrap(),
            "{datastore}: zeebe-record snapshot before the pause"
        );
        // The evidence names every part with its state.
        let evidence = &outputs(&report, "evidence")["backup"];
        for c in ["zeebe", "operate", "tasklist", "optimize"] {
            assert_eq!(
                evidence[c]["state"], "COMPLETED",
                "{datastore} {c}: {evidence}"
            );
        }
        assert_eq!(evidence["zeebe_records"]["state"], "SUCCESS");
        assert_eq!(
            evidence["operate"]["snapshots"].as_array().unwrap().len(),
            6,
            "{evidence}"
        );
        assert_eq!(
            evidence["optimize"]["snapshots"][1]["name"],
            "camunda_optimize_1000_8.7.1_part_2_of_2"
        );
    }
}

#[test]
fn backup_87_preflight_refuses_a_taken_or_lower_id_before_pausing() {
    let sim = Sim::start("8.7", "elasticsearch");
    sim.run_ok("backup-8.7.yaml", &["--set", "backup_id=500"]);
    // The preflights run side by side: a taken id may be refused as taken (by any component,
    // or as an existing zeebe-record snapshot) or as not higher; which fails first is a race.
    for (id, why) in [
        (
            "500",
            [
                "500 already exists",
                "not higher than every earlier Zeebe backup id",
            ],
        ),
        ("400", ["not higher than every earlier Zeebe backup id"; 2]),
    ] {
        let (code, text, report) =
            sim.run("backup-8.7.yaml", &["--set", &format!("backup_id={id}")]);
        assert_eq!(code, 1, "id {id}:\n{text}");
        assert!(why.iter().any(|w| text.contains(w)), "id {id}:\n{text}");
        let message = report["finished"]["message"].as_str().unwrap_or("");
        assert!(message.contains("preflight-"), "id {id}: {message}");
        // Nothing was paused: the only pause is the first backup's.
        assert_eq!(
            sim.exporting_history(),
            ["soft-paused", "running"],
            "id {id}"
        );
    }
    assert_coherent(&sim, 500, "after refused runs");
}

#[test]
fn backup_87_without_optimize_skips_it() {
    // Optimize switched off by the plan's param while it runs ...
    let sim = Sim::start("8.7", "elasticsearch");
    let report = sim.run_ok(
        "backup-8.7.yaml",
        &["--set", "backup_id=700", "--set", "optimize_enabled=false"],
    );
    assert!(outputs(&report, "evidence")["backup"]["optimize"].is_null());
    assert!(
        !sim.snapshot_names()
            .iter()
            .any(|n| n.starts_with("camunda_optimize_")),
        "{:?}",
        sim.snapshot_names()
    );
    assert!(!sim.exporting_paused());
    // ... and a cluster without Optimize: the simulator's values file says so.
    let sim = Sim::start_with("8.7", "opensearch", &["--no-optimize"]);
    let report = sim.run_ok("backup-8.7.yaml", &["--set", "backup_id=700"]);
    assert!(outputs(&report, "evidence")["backup"]["optimize"].is_null());
    assert_coherent(&sim, 700, "without Optimize");
    let report = sim.run_ok("inventory-8.7.yaml", &[]);
    assert_eq!(
        outputs(&report, "inventory")["backups"][0]["optimize"],
        "DISABLED"
    );
    assert_eq!(ids(&outputs(&report, "inventory")["restorable"]), [700]);
}

/// Point 9 (§7.9): inventory and prune find Optimize by its labels like the backups, so on
/// a cluster without it (chart 13's default) they work with `optimize_enabled` left `true`.
#[test]
fn inventory_and_prune_detect_an_absent_optimize() {
    for (version, backup, inventory, prune) in [
        ("8.8", "backup-8.8.yaml", "inventory.yaml", "prune.yaml"),
        (
            "8.7",
            "backup-8.7.yaml",
            "inventory-8.7.yaml",
            "prune-8.7.yaml",
        ),
    ] {
        let sim = Sim::start_with(version, "elasticsearch", &["--no-optimize"]);
        let on = ["--set", "optimize_enabled=true"];
        sim.run_ok(backup, &["--set", "backup_id=700", on[0], on[1]]);
        sim.run_ok(backup, &["--set", "backup_id=701", on[0], on[1]]);
        let report = sim.run_ok(inventory, &on);
        assert_eq!(
            status(&report, "list-optimize").split(':').next(),
            Some("skipped"),
            "{version}"
        );
        assert_eq!(
            outputs(&report, "inventory")["backups"][0]["optimize"],
            "DISABLED",
            "{version}"
        );
        assert_eq!(
            ids(&outputs(&report, "inventory")["restorable"]),
            [701, 700],
            "{version}"
        );
        let report = sim.run_ok(prune, &["--set", "keep=1", "--yes", on[0], on[1]]);
        assert!(
            status(&report, "delete-optimize").starts_with("skipped"),
            "{version}"
        );
        assert_eq!(sim.zeebe_backup_ids(), [701], "{version}");
    }
}

#[test]
fn backup_87_a_failed_component_fails_the_run_and_resumes_exporting() {
    let sim = Sim::start("8.7", "elasticsearch");
    for (id, component) in [
        (801, "operate"),
        (802, "tasklist"),
        (803, "optimize"),
        (804, "zeebe"),
    ] {
        fail_next(&sim, component);
        let (code, text, report) =
            sim.run("backup-8.7.yaml", &["--set", &format!("backup_id={id}")]);
        assert_eq!(code, 1, "{component}:\n{text}");
        assert_eq!(report["finished"]["outcome"], "failed", "{component}");
        assert!(
            !sim.exporting_paused(),
            "{component}: exporting left paused"
        );
        assert_eq!(
            sim.oracle(id)["coherent"],
            false,
            "{component}: a failed backup must not look coherent"
        );
    }
    assert_eq!(
        sim.exporting_history().last().map(String::as_str),
        Some("running")
    );
}

#[test]
fn inventory_88_lists_restorable_ids_and_the_state_of_an_incomplete_one() {
    let sim = Sim::start("8.8", "elasticsearch");
    sim.run_ok("backup-8.8.yaml", &["--set", "backup_id=100"]);
    sim.run_ok("backup-8.8.yaml", &["--set", "backup_id=200"]);
    fail_next(&sim, "webapps");
    let (code, text, _) = sim.run("backup-8.8.yaml", &["--set", "backup_id=300"]);
    assert_eq!(code, 1, "{text}");
    let report = sim.run_ok("inventory.yaml", &[]);
    let out = outputs(&report, "inventory");
    assert_eq!(ids(&out["restorable"]), [200, 100], "{out}");
    let rows = out["backups"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{out}");
    // 300: the web apps backup FAILED, so the plan stopped before the later parts.
    assert_eq!(rows[0]["backup_id"], 300, "{out}");
    assert_eq!(rows[0]["webapps"], "FAILED", "{out}");
    assert_eq!(rows[0]["zeebe"], "MISSING", "{out}");
    assert_eq!(rows[0]["zeebe_records"], "MISSING", "{out}");
    assert_eq!(rows[0]["restorable"], false, "{out}");
    assert_eq!(
        rows[1],
        serde_json::json!({"backup_id": 200, "webapps": "COMPLETED", "zeebe": "COMPLETED",
            "optimize": "COMPLETED", "zeebe_records": "SUCCESS", "restorable": true})
    );
    let records: Vec<Json> = out["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids(&Json::Array(records)), [100, 200]);
}

#[test]
fn prune_88_keeps_the_newest_complete_backups_and_spares_incomplete_ones() {
    let sim = Sim::start("8.8", "opensearch");
    sim.run_ok("backup-8.8.yaml", &["--set", "backup_id=100"]);
    fail_next(&sim, "webapps");
    let (code, text, _) = sim.run("backup-8.8.yaml", &["--set", "backup_id=150"]);
    assert_eq!(code, 1, "{text}");
    for id in [200, 300] {
        sim.run_ok("backup-8.8.yaml", &["--set", &format!("backup_id={id}")]);
    }
    // Destructive steps need --yes.
    let (code, text, _) = sim.run("prune.yaml", &["--set", "keep=1"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("--yes"), "{text}");
    assert_eq!(sim.zeebe_backup_ids(), [100, 200, 300]);

    let report = sim.run_ok("prune.yaml", &["--set", "keep=1", "--yes"]);
    let out = outputs(&report, "select");
    assert_eq!(ids(&out["restorable"]), [300, 200, 100], "{out}");
    assert_eq!(ids(&out["kept"]), [300], "{out}");
    assert_eq!(ids(&out["delete"]), [100, 200], "{out}");
    assert_eq!(sim.zeebe_backup_ids(), [300]);
    let names = sim.snapshot_names();
    for gone in ["_100_", "_200_", "backup_100", "backup_200"] {
        assert!(!names.iter().any(|n| n.contains(gone)), "{gone}: {names:?}");
    }
    // The incomplete backup 150 (web apps FAILED) is left alone ...
    assert!(names.iter().any(|n| n.contains("_150_")), "{names:?}");
    assert_coherent(&sim, 300, "kept backup");

    // ... until include_incomplete; the kept backup stays.
    let report = sim.run_ok(
        "prune.yaml",
        &[
            "--set",
            "keep=1",
            "--set",
            "include_incomplete=true",
            "--yes",
        ],
    );
    assert_eq!(ids(&outputs(&report, "select")["delete"]), [150]);
    let names = sim.snapshot_names();
    assert!(!names.iter().any(|n| n.contains("_150_")), "{names:?}");
    assert_coherent(&sim, 300, "kept backup after include_incomplete");

    // keep below 1 is refused before anything is deleted.
    let (code, text, _) = sim.run("prune.yaml", &["--set", "keep=0", "--yes"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("keep must be at least 1"), "{text}");
    assert_eq!(sim.zeebe_backup_ids(), [300]);
}

#[test]
fn inventory_and_prune_87() {
    let sim = Sim::start("8.7", "elasticsearch");
    for id in [100, 200, 300] {
        sim.run_ok("backup-8.7.yaml", &["--set", &format!("backup_id={id}")]);
    }
    let report = sim.run_ok("inventory-8.7.yaml", &[]);
    let out = outputs(&report, "inventory");
    assert_eq!(ids(&out["restorable"]), [300, 200, 100], "{out}");
    assert_eq!(out["backups"][0]["tasklist"], "COMPLETED", "{out}");

    let report = sim.run_ok("prune-8.7.yaml", &["--set", "keep=1", "--yes"]);
    assert_eq!(ids(&outputs(&report, "select")["delete"]), [100, 200]);
    assert_eq!(sim.zeebe_backup_ids(), [300]);
    let names = sim.snapshot_names();
    assert_eq!(names.len(), 6 + 6 + 2 + 1, "{names:?}");
    assert!(names.iter().all(|n| n.contains("_300")), "{names:?}");
    assert_coherent(&sim, 300, "kept backup");
    let report = sim.run_ok("inventory-8.7.yaml", &[]);
    assert_eq!(ids(&outputs(&report, "inventory")["restorable"]), [300]);
}

#[test]
fn every_camunda_plan_dry_runs_with_the_example_values() {
    for plan in [
        "backup-8.8.yaml",
        "backup-8.7.yaml",
        "backup-8.10.yaml",
        "inventory.yaml",
        "inventory-8.7.yaml",
        "prune.yaml",
        "prune-8.7.yaml",
    ] {
        let r = runbook([
            "plan",
            &format!("plans/camunda/{plan}"),
            "-f",
            "plans/camunda/values-example.yaml",
        ]);
        assert_eq!(r.code, 0, "{plan}:\n{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("send: "), "{plan}:\n{}", r.stdout);
    }
    let r = runbook([
        "plan",
        "plans/camunda/backup-8.7.yaml",
        "-f",
        "plans/camunda/values-example.yaml",
        "--set",
        "backup_id=42",
        "--set",
        "datastore=opensearch",
    ]);
    assert!(
        r.stdout.contains(r#"body: {"indices":"zeebe-record*"}"#),
        "{}",
        r.stdout
    );
}

/// Issue 15: port-forward per target. An external datastore is reached at its URL while the
/// Camunda APIs still go through port-forwards; `port_forward: false` turns all off.
#[test]
fn port_forward_is_chosen_per_target() {
    for plan in [
        "backup-8.8.yaml",
        "backup-8.7.yaml",
        "restore-8.8.yaml",
        "restore-8.7.yaml",
    ] {
        let path = format!("plans/camunda/{plan}");
        let dry = |extra: &[&str]| {
            let mut args = vec!["plan", &path, "--set", "backup_id=42"];
            args.extend_from_slice(extra);
            let r = runbook(args);
            assert_eq!(r.code, 0, "{plan}: {}", r.stderr);
            r.stdout
        };
        let all = dry(&[]);
        assert!(
            all.contains("port-forward services/camunda-elasticsearch"),
            "{plan}"
        );
        assert!(
            all.contains("port-forward services/camunda-zeebe-gateway"),
            "{plan}"
        );
        let external = dry(&["--set", "datastore_port_forward=false"]);
        assert!(
            !external.contains("port-forward services/camunda-elasticsearch"),
            "{plan}"
        );
        assert!(
            external.contains("port-forward services/camunda-zeebe-gateway"),
            "{plan}"
        );
        assert!(
            !dry(&["--set", "port_forward=false"]).contains("via: kubectl port-forward"),
            "{plan}"
        );
    }
}

/// Point 5 (§7.5): the dry run of a restore states the deletion patterns in plain words,
/// anchored on the prefix params it shows with their values (not only as raw jq). 8.8 puts its
/// prefix before `operate-`; 8.7's Operate and Tasklist prefixes replace `operate`/`tasklist`.
#[test]
fn restore_dry_runs_name_the_deletion_patterns() {
    let cases: [(&str, &str, &[&str]); 2] = [
        (
            "restore-8.8.yaml",
            "index_prefix=c1",
            &[
                "`[<index_prefix>-]operate-*`",
                "`[<index_prefix>-]tasklist-*`",
                "`[<index_prefix>-]camunda-*`",
            ],
        ),
        (
            "restore-8.7.yaml",
            "operate_index_prefix=c1",
            &["`<operate_index_prefix>-*`", "`<tasklist_index_prefix>-*`"],
        ),
    ];
    for (plan, set, patterns) in cases {
        let path = format!("plans/camunda/{plan}");
        let r = runbook(["plan", &path, "--set", "backup_id=42", "--set", set]);
        assert_eq!(r.code, 0, "{plan}:\n{}{}", r.stdout, r.stderr);
        let deletion = r
            .stdout
            .split("delete-indices  [DESTRUCTIVE]")
            .nth(1)
            .expect("delete-indices in the dry run");
        let line = deletion.lines().nth(1).unwrap_or_default();
        for pattern in patterns
            .iter()
            .chain(&["`<optimize_index_prefix>-*`", "`<record_prefix>*`"])
        {
            assert!(line.contains(pattern), "{plan}: {line}");
        }
        let shown = format!("  {} = c1\n", set.trim_end_matches("=c1"));
        assert!(r.stdout.contains(&shown), "{plan}");
    }
}

/// Point 8 (§7.10): the Services the port-forwards use follow the chart's names by default
/// and can be named for a `fullnameOverride` install (the names the renamed scenario uses),
/// in every plan; none is built from the release name when a name is given.
#[test]
fn port_forwards_reach_renamed_services() {
    let plans = [
        "backup-8.8.yaml",
        "backup-8.7.yaml",
        "inventory.yaml",
        "inventory-8.7.yaml",
        "prune.yaml",
        "prune-8.7.yaml",
        "restore-8.8.yaml",
        "restore-8.7.yaml",
    ];
    let renamed = [
        ("gateway_service", "core-gateway"),
        ("optimize_service", "opt"),
        ("operate_service", "op"),
        ("tasklist_service", "tl"),
        ("datastore_service", "search"),
    ];
    for plan in plans {
        let path = format!("plans/camunda/{plan}");
        let values = tempfile::NamedTempFile::new().unwrap();
        // A values file: a plan ignores the keys it does not declare (restore-only backup_id).
        std::fs::write(values.path(), "backup_id: 42\nrelease: rel\n").unwrap();
        let vpath = values.path().to_str().unwrap().to_string();
        let base = ["plan", &path, "-f", &vpath];
        let r = runbook(base);
        assert_eq!(r.code, 0, "{plan}:\n{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("port-forward services/rel-zeebe-gateway 0:9600"),
            "{plan}:\n{}",
            r.stdout
        );
        let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        for (param, name) in renamed {
            if std::fs::read_to_string(root().join(&path))
                .unwrap()
                .contains(&format!("\n  {param}:"))
            {
                args.extend(["--set".into(), format!("{param}={name}")]);
            }
        }
        let r = runbook(args.iter().map(String::as_str));
        assert_eq!(r.code, 0, "{plan}:\n{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("port-forward services/core-gateway 0:9600"),
            "{plan}:\n{}",
            r.stdout
        );
        assert!(
            r.stdout.contains("port-forward services/search 0:9200"),
            "{plan}:\n{}",
            r.stdout
        );
        assert!(!r.stdout.contains("services/rel-"), "{plan}:\n{}", r.stdout);
    }
}

#[test]
fn restore_88_refuses_an_incomplete_backup_before_changing_anything() {
    let sim = Sim::start("8.8", "elasticsearch");
    sim.run_ok("backup-8.8.yaml", &["--set", "backup_id=100"]);
    fail_next(&sim, "webapps");
    let (code, text, _) = sim.run("backup-8.8.yaml", &["--set", "backup_id=200"]);
    assert_eq!(code, 1, "{text}");
    // Destructive: refused without --yes when nobody can type the confirmation.
    let (code, text, _) = sim.run("restore-8.8.yaml", &["--set", "backup_id=100"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("--yes"), "{text}");
    // Backup 200 is not complete (web apps FAILED), 300 does not exist: both refused by the
    // checks, so no component was stopped and no index deleted.
    for id in ["200", "300"] {
        let before = sim.snapshot_names();
        let (code, text, report) = sim.run(
            "restore-8.8.yaml",
            &["--set", &format!("backup_id={id}"), "--yes"],
        );
        assert_eq!(code, 1, "{id}: {text}");
        assert!(
            text.contains("is not complete") || text.contains("missing"),
            "{id}: {text}"
        );
        for changing in ["stop-orchestration", "delete-indices", "delete-broker-pvcs"] {
            assert_ne!(
                status(&report, changing),
                "succeeded",
                "{id}: {changing} ran"
            );
        }
        assert!(
            sim.get("/sim/state")["brokersRunning"] == true,
            "{id}: brokers stopped"
        );
        assert_eq!(sim.snapshot_names(), before);
    }
}

/// `kubectl <args>` against the simulator's Kubernetes stand-in.
fn kubectl(sim: &Sim, args: &[&str]) -> std::process::Output {
    let values = std::fs::read_to_string(sim.dir().join("values.yaml")).unwrap();
    let field = |key: &str| {
        values
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap()
    };
    Command::new("kubectl")
        .arg(format!("--kubeconfig={}", field("kubeconfig")))
        .arg(format!("--context={}", field("kube_context")))
        .arg(format!("--namespace={}", field("namespace")))
        .arg(format!(
            "--cache-dir={}",
            sim.dir().join("kube-cache").display()
        ))
        .args(args)
        .current_dir(sim.dir())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `kubectl <args> -o json` against the simulator's Kubernetes stand-in.
fn kubectl_json(sim: &Sim, args: &[&str]) -> Json {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    serde_json::from_slice(&kubectl(sim, &args).stdout).unwrap_or(Json::Null)
}

fn restore_env(sim: &Sim) -> Vec<String> {
    let sts = kubectl_json(sim, &["get", "statefulset", "camunda-zeebe"]);
    sts.pointer("/spec/template/spec/containers/0/env")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str().map(String::from))
        .filter(|n| n.starts_with("ZEEBE_RESTORE") || n == "SPRING_PROFILES_ACTIVE")
        .collect()
}

fn replicas(sim: &Sim, kind: &str, name: &str) -> u64 {
    kubectl_json(sim, &["get", kind, name])["spec"]["replicas"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

#[test]
fn restore_88_failing_before_any_deletion_starts_everything_again() {
    // Listing the indices fails for good: the plan has stopped the components but deleted
    // nothing, so `finally` scales them back.
    let sim = backed_up_then(
        "faults:\n  - component: datastore\n    method: GET\n    path: /_cat/indices\n    status: 500\n",
    );
    let (code, text, report) = sim.run("restore-8.8.yaml", &["--set", "backup_id=100", "--yes"]);
    assert_eq!(code, 1, "{text}");
    let status = |id: &str| status(&report, id);
    assert_eq!(status("stop-orchestration"), "succeeded", "{text}");
    // The report says when each step ran (the evidence of a window).
    let stop = step(&report, "stop-orchestration");
    assert!(
        stop["started_at"].as_str() <= stop["finished_at"].as_str(),
        "{stop}"
    );
    assert!(stop["finished_at"].is_string(), "{stop}");
    assert_eq!(status("restart-orchestration"), "succeeded", "{text}");
    assert_eq!(status("restart-deployments"), "succeeded", "{text}");
    assert!(status("delete-indices").starts_with("skipped"), "{text}");
    assert_eq!(replicas(&sim, "statefulset", "camunda-zeebe"), 3);
    assert_eq!(replicas(&sim, "deployment", "camunda-optimize"), 1);
    assert!(restore_env(&sim).is_empty(), "{:?}", restore_env(&sim));
}

#[test]
fn restore_88_failing_after_deletion_leaves_camunda_stopped_and_out_of_restore_mode() {
    // Every snapshot restore fails: the indices are gone by then.
    let sim = backed_up_then(
        "faults:\n  - component: datastore\n    method: POST\n    path: /_snapshot/*/_restore\n    status: 500\n",
    );
    let (code, text, _) = sim.run(
        "restore-8.8.yaml",
        &[
            "--set",
            "backup_id=100",
            "--yes",
            "--set",
            "wait_timeout=60s",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("restore-snapshots"), "{text}");
    // Not started on half-restored data, and never left in restore mode.
    assert_eq!(replicas(&sim, "statefulset", "camunda-zeebe"), 0, "{text}");
    assert_eq!(
        replicas(&sim, "deployment", "camunda-optimize"),
        0,
        "{text}"
    );
    assert!(
        restore_env(&sim).is_empty(),
        "{:?}\n{text}",
        restore_env(&sim)
    );
}

#[test]
fn restore_88_refuses_a_backup_made_with_another_version() {
    // The cluster does not expose /actuator/info; the operator states its version, which
    // differs from the one in the backup's snapshot names (8.8.0).
    let sim = backed_up_then(
        "faults:\n  - component: orchestration\n    method: GET\n    path: /actuator/info\n    status: 404\n",
    );
    let (code, text, _) = sim.run(
        "restore-8.8.yaml",
        &[
            "--set",
            "backup_id=100",
            "--set",
            "camunda_version=8.8.3",
            "--yes",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("was made with Camunda 8.8.0"), "{text}");
    assert_eq!(replicas(&sim, "statefulset", "camunda-zeebe"), 3, "{text}");
}

// --- Issue 11: the plans against real-cluster behaviours (the Camunda API reference §7) -----

/// The backup plan of a version.
fn backup_plan(version: &str) -> &'static str {
    if version == "8.7" {
        "backup-8.7.yaml"
    } else {
        "backup-8.8.yaml"
    }
}

fn restore_plan(version: &str) -> &'static str {
    if version == "8.7" {
        "restore-8.7.yaml"
    } else {
        "restore-8.8.yaml"
    }
}

/// Backup 100, the cluster moves on and loses its data, then the restore `extra` runs: returns
/// (exit code, output, report) of the restore.
fn backup_damage_restore(sim: &Sim, version: &str, extra: &[&str]) -> (i32, String, Json) {
    backup_damage_restore_with(sim, version, extra, extra)
}

/// [`backup_damage_restore`] with params for each plan.
fn backup_damage_restore_with(
    sim: &Sim,
    version: &str,
    backup: &[&str],
    restore: &[&str],
) -> (i32, String, Json) {
    let mut args = vec!["--set", "backup_id=100"];
    args.extend_from_slice(backup);
    sim.run_ok(backup_plan(version), &args);
    sim.call("POST", "/sim/advance", "");
    sim.call("POST", "/sim/damage", "");
    let mut args = vec!["--set", "backup_id=100", "--yes"];
    args.extend_from_slice(restore);
    sim.run(restore_plan(version), &args)
}

/// The simulator's restore verdict for backup 100 holds (foreign indices kept, §7.5, §7.6).
fn assert_restored(sim: &Sim, case: &str) {
    let verdict = sim.get("/sim/oracle/restore/100");
    assert_eq!(verdict["restored"], true, "{case}: {verdict}");
    assert_eq!(
        verdict["problems"].as_array().map(Vec::len),
        Some(0),
        "{case}: {verdict}"
    );
}

/// Point 1 (§7.1): the restore app crash-loops after it succeeded (every later run logs
/// "is not empty. Aborting restore"); the restore still succeeds. Point 5: another
/// installation's indices and unrelated ones on the shared datastore survive. Point 11: the
/// snapshots are restored before the restore app starts, and the restored cluster is verified.
#[test]
fn restore_survives_the_crash_loop_and_spares_foreign_indices() {
    for version in ["8.8", "8.7"] {
        let sim = Sim::start(version, "elasticsearch");
        let (code, text, report) = backup_damage_restore(&sim, version, &[]);
        assert_eq!(code, 0, "{version}: {text}");
        assert_restored(&sim, version);
        let last_snapshot = step(&report, "wait-snapshots-restored")["finished_at"].clone();
        let restore_mode = step(&report, "enter-restore-mode")["started_at"].clone();
        assert!(
            last_snapshot.as_str() <= restore_mode.as_str() && last_snapshot.is_string(),
            "{version}: restore mode {restore_mode} before the snapshots were back {last_snapshot}"
        );
        assert_eq!(status(&report, "verify-restored"), "succeeded", "{text}");
    }
}

/// Point 1: a missing Zeebe backup ("Application run failed" without "not empty") fails the
/// wait at once, not at its timeout.
#[test]
fn restore_88_fails_fast_when_the_restore_app_finds_no_backup() {
    let sim = Sim::start("8.8", "elasticsearch");
    sim.run_ok("backup-8.8.yaml", &["--set", "backup_id=100"]);
    let values = std::fs::read_to_string(sim.dir().join("values.yaml")).unwrap();
    let orchestration = values
        .lines()
        .find_map(|l| l.strip_prefix("orchestration_url: "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let out = Command::new("curl")
        .args(["-s", "-X", "DELETE"])
        .arg(format!("{orchestration}/actuator/backupRuntime/100"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, text, report) = sim.run(
        "restore-8.8.yaml",
        &[
            "--set",
            "backup_id=100",
            "--set",
            "verify_zeebe_backup=false",
            "--set",
            "wait_timeout=10m",
            "--yes",
        ],
    );
    assert_eq!(code, 1, "{text}");
    let failed = status(&report, "wait-brokers-restored");
    assert!(failed.contains("fail_if"), "{failed}\n{text}");
    assert!(restore_env(&sim).is_empty(), "{:?}", restore_env(&sim));
}

/// Point 2 (§7.2): status GETs answer 404 for a while after scheduling; the backups wait.
#[test]
fn backups_wait_out_the_404_after_scheduling() {
    for version in ["8.8", "8.7"] {
        let sim = Sim::start_scenario(version, "config:\n  schedule_404_ms: 2500\n");
        let report = sim.run_ok(backup_plan(version), &["--set", "backup_id=100"]);
        assert_eq!(status(&report, "seen-zeebe"), "succeeded");
        assert_coherent(&sim, 100, version);
    }
}

/// Point 3 (§7.3): a PARTIAL zeebe-record snapshot fails the backup (`_status` says SUCCESS,
/// and a retried PUT answers "already exists"); exporting is resumed, no Zeebe backup taken.
#[test]
fn a_partial_records_snapshot_fails_the_backup() {
    for version in ["8.8", "8.7"] {
        let sim = Sim::start_scenario(
            version,
            "outcomes:\n  - component: snapshot\n    result: partial\n",
        );
        let (code, text, report) = sim.run(backup_plan(version), &["--set", "backup_id=100"]);
        assert_eq!(code, 1, "{version}: {text}");
        let error = status(&report, "verify-zeebe-records");
        assert!(error.starts_with("failed"), "{version}: {text}");
        // Said plainly, not as a jq expression over a raw result (§7.3).
        assert!(
            error.contains("camunda_zeebe_records_backup_100 is PARTIAL: 1 of"),
            "{version}: {error}"
        );
        assert!(!error.contains("fail_if"), "{version}: {error}");
        assert!(sim.zeebe_backup_ids().is_empty(), "{version}: {text}");
        assert!(!sim.exporting_paused(), "{version}");
    }
}

/// Point 5 (§7.5): custom prefixes; deletion anchored on them, the restore complete, and (8.7)
/// another installation's default-named `operate-`/`tasklist-` indices kept.
#[test]
fn restore_with_custom_index_prefixes() {
    let cases: [(&str, &str, &[&str]); 2] = [
        ("8.8", "index_prefix: c1", &["--set", "index_prefix=c1"]),
        (
            "8.7",
            // Another 8.7 installation with the default prefixes shares the datastore.
            "operate_index_prefix: op1\n  tasklist_index_prefix: tl1\n  \
             foreign_indices: [operate-list-view-8.3.0_, tasklist-task-8.5.0_]",
            &[
                "--set",
                "operate_index_prefix=op1",
                "--set",
                "tasklist_index_prefix=tl1",
            ],
        ),
    ];
    for (version, web_prefixes, web_sets) in cases {
        let sim = Sim::start_scenario(
            version,
            &format!(
                "config:\n  {web_prefixes}\n  optimize_index_prefix: o1\n  record_prefix: rec\n"
            ),
        );
        let mut sets = vec![
            "--set",
            "record_prefix=rec",
            "--set",
            "optimize_index_prefix=o1",
        ];
        sets.extend_from_slice(web_sets);
        let (code, text, _) =
            backup_damage_restore_with(&sim, version, &["--set", "record_prefix=rec"], &sets);
        assert_eq!(code, 0, "{version}: {text}");
        assert_restored(&sim, version);
    }
}

/// Point 4 (§7.4): a snapshot restore's request is not cut at the datastore target's 30 m
/// while its step allows 2 h. The shipped restores give it its own target; put back on the
/// shared one, validation says so.
#[test]
fn snapshot_restore_requests_are_not_cut_before_their_step_timeout() {
    for plan in ["restore-8.8.yaml", "restore-8.7.yaml"] {
        let text = std::fs::read_to_string(format!("plans/camunda/{plan}")).unwrap();
        assert!(text.contains("target: datastore_restore"), "{plan}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(plan);
        std::fs::write(
            &path,
            text.replace("target: datastore_restore", "target: datastore"),
        )
        .unwrap();
        let r = runbook(["validate", "--deny-warnings", path.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{plan}:\n{}{}", r.stdout, r.stderr);
        let out = format!("{}{}", r.stdout, r.stderr);
        assert!(
            out.contains("request_timeout_below_step_timeout")
                && out.contains("target `datastore` cuts every request at 30m, before this step's `timeout` of 2h"),
            "{plan}:\n{out}"
        );
    }
}

/// Point 6 (§7.6): a backup made before 8.8.15 lacks the dated usage-metric indices; the
/// restore keeps them.
#[test]
fn restore_88_keeps_dated_usage_metrics_of_a_backup_before_8_8_15() {
    let sim = Sim::start_scenario("8.8", "config:\n  camunda_version: 8.8.14\n");
    let (code, text, _) = backup_damage_restore(&sim, "8.8", &["--set", "camunda_version=8.8.14"]);
    assert_eq!(code, 0, "{text}");
    assert_restored(&sim, "8.8.14");
}

/// Point 7 (§7.7, §7.8, §7.11): a restore that would be silently wrong is refused before
/// anything changes, with the one precondition that failed and its fix (not a list of every
/// possible cause, nor a dump of the StatefulSet).
#[test]
fn restore_refuses_memory_brokers_a_bypassed_restore_route_and_gitops() {
    let step_8 = "record-orchestration";
    let step_7 = "record-zeebe";
    let cases = [
        (
            "8.8",
            step_8,
            "config:\n  persistence_type: memory\n",
            "broker data is not on PVCs",
        ),
        (
            "8.8",
            step_8,
            "config:\n  command_override: true\n",
            "overrides its command",
        ),
        (
            "8.8",
            step_8,
            "config:\n  gitops: argocd\n",
            "Argo CD manages StatefulSet",
        ),
        (
            "8.7",
            step_7,
            "config:\n  gitops: flux\n",
            "Flux manages StatefulSet",
        ),
        (
            "8.7",
            step_7,
            "config:\n  chart_version: 12.0.2\n",
            "comes from chart camunda-platform-12.0.2",
        ),
    ];
    let every_cause = [
        "not on PVCs",
        "overrides its command",
        "manages StatefulSet",
        "comes from chart",
        "replicas 0",
    ];
    for (version, at, scenario, says) in cases {
        let sim = Sim::start_scenario(version, scenario);
        sim.run_ok(backup_plan(version), &["--set", "backup_id=100"]);
        let before = index_names(&sim);
        let (code, text, report) =
            sim.run(restore_plan(version), &["--set", "backup_id=100", "--yes"]);
        assert_eq!(code, 1, "{scenario}: {text}");
        let error = status(&report, at);
        assert!(error.contains(says), "{scenario}: {error}");
        for other in every_cause.iter().filter(|c| !says.contains(*c)) {
            assert!(
                !error.contains(other),
                "{scenario}: names {other:?}: {error}"
            );
        }
        assert!(!error.contains("result:"), "{scenario}: raw dump: {error}");
        let deleted = status(&report, "delete-indices");
        assert!(
            deleted.is_empty() || deleted.starts_with("skipped"),
            "{scenario}: {deleted}"
        );
        assert_eq!(sim.get("/sim/state")["brokersRunning"], true, "{scenario}");
        assert_eq!(index_names(&sim), before, "{scenario}");
    }
}

/// Names of every index in the datastore, sorted.
fn index_names(sim: &Sim) -> Vec<String> {
    let mut names: Vec<String> = match &sim.get("/sim/state")["indices"] {
        Json::Object(m) => m.keys().cloned().collect(),
        Json::Array(a) => a
            .iter()
            .filter_map(|i| i["name"].as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    names.sort();
    names
}

/// Point 8 (§7.10): `fullnameOverride` names; workloads are found by their labels.
#[test]
fn restore_finds_renamed_workloads_by_their_labels() {
    for version in ["8.8", "8.7"] {
        let sim = Sim::start_scenario(
            version,
            "config:\n  names: {zeebe: core, optimize: opt, connectors: conn}\n",
        );
        let (code, text, report) = backup_damage_restore(&sim, version, &[]);
        assert_eq!(code, 0, "{version}: {text}");
        assert_restored(&sim, version);
        let stopped: Vec<String> = outputs(&report, "record-deployments")["running"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["name"].as_str().map(String::from))
            .collect();
        assert!(stopped.contains(&"opt".to_string()), "{stopped:?}");
        assert!(stopped.contains(&"conn".to_string()), "{stopped:?}");
        assert_eq!(replicas(&sim, "statefulset", "core"), 3, "{version}");
    }
}

/// Point 9 (§7.9): Optimize absent (chart 13 default) is detected and skipped; present, its
/// version comes from its image tag, since its /actuator/info is `{}`.
#[test]
fn backup_88_detects_optimize_and_reads_its_version_from_the_image() {
    let sim = Sim::start_with("8.8", "elasticsearch", &["--no-optimize"]);
    let report = sim.run_ok(
        "backup-8.8.yaml",
        &["--set", "backup_id=100", "--set", "optimize_enabled=true"],
    );
    assert!(status(&report, "backup-optimize").starts_with("skipped"));
    assert_coherent(&sim, 100, "without Optimize");

    let sim = Sim::start("8.8", "elasticsearch");
    let report = sim.run_ok(
        "backup-8.8.yaml",
        &["--set", "backup_id=100", "--set", "camunda_version="],
    );
    assert_eq!(outputs(&report, "detect-optimize")["version"], "8.8.0");
    assert_eq!(status(&report, "wait-optimize"), "succeeded");
}

/// Point 10 (§7.15): Camunda snapshots into another repository, or Zeebe has no backup store:
/// the backup fails before exporting is paused.
#[test]
fn backup_88_checks_the_repository_name_and_the_zeebe_backup_store() {
    let sim = Sim::start_scenario("8.8", "config:\n  repository_name: other\n");
    let (code, text, _) = sim.run("backup-8.8.yaml", &["--set", "backup_id=100"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("CAMUNDA_DATA_BACKUP_REPOSITORYNAME"),
        "{text}"
    );
    assert!(sim.zeebe_backup_ids().is_empty(), "{text}");
    assert!(sim.exporting_history().is_empty(), "{text}");

    let sim = Sim::start("8.8", "elasticsearch");
    let out = kubectl(
        &sim,
        &[
            "set",
            "env",
            "statefulset/camunda-zeebe",
            "-c",
            "orchestration",
            "CAMUNDA_DATA_BACKUP_STORE=NONE",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let (code, text, _) = sim.run("backup-8.8.yaml", &["--set", "backup_id=100"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("backup store"), "{text}");
    assert!(sim.exporting_history().is_empty(), "{text}");
}

/// Point 11 (§7.13): a run that never attempted the pause does not resume exporting (it
/// would end an operator's hard pause).
#[test]
fn backup_resumes_exporting_only_if_it_paused_it() {
    for version in ["8.8", "8.7"] {
        let sim = Sim::start(version, "elasticsearch");
        sim.run_ok(backup_plan(version), &["--set", "backup_id=100"]);
        let before = sim.exporting_history().len();
        // Id 50 is lower than 100: refused at preflight.
        let (code, text, report) = sim.run(backup_plan(version), &["--set", "backup_id=50"]);
        assert_eq!(code, 1, "{version}: {text}");
        assert!(
            status(&report, "resume-exporting").starts_with("skipped"),
            "{text}"
        );
        assert_eq!(sim.exporting_history().len(), before, "{version}: {text}");
    }
}

/// Point 4 (§7.4) and issue 10: SIGKILL while a snapshot restore runs, then `recover --resume`
/// with no params: the item meets its own restore ("open index with same name already
/// exists"), waits for it, and the restore completes.
#[test]
fn restore_88_resumes_after_a_kill_during_a_snapshot_restore() {
    let sim = Sim::start_scenario("8.8", "config:\n  restore_ms: 1500\n");
    sim.run_ok("backup-8.8.yaml", &["--set", "backup_id=100"]);
    sim.call("POST", "/sim/advance", "");
    sim.call("POST", "/sim/damage", "");
    kill_restore_88_during_its_first_snapshot_restore(&sim);
    let (code, text) = output(recover_resume(sim.dir()));
    assert_eq!(code, 0, "{text}");
    assert_restored(&sim, "resumed");
}

/// Issue 10 / point 4: a resumed restore takes an existing index of the backup for its own
/// only if Elasticsearch restored it from this backup (its recovery source); an index that
/// something else created under that name after the deletion is named and refused, and the
/// plan does not delete it.
#[test]
fn restore_88_resume_refuses_an_index_it_did_not_restore() {
    let sim = Sim::start_scenario("8.8", "config:\n  restore_ms: 1500\n");
    sim.run_ok("backup-8.8.yaml", &["--set", "backup_id=100"]);
    sim.call("POST", "/sim/advance", "");
    sim.call("POST", "/sim/damage", "");
    kill_restore_88_during_its_first_snapshot_restore(&sim);
    // Meanwhile something creates an index under the name of one the last snapshot (the
    // zeebe-record one, not restored yet) holds.
    let state = sim.get("/sim/state");
    let impostor = state["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "camunda_zeebe_records_backup_100")
        .and_then(|s| s["indices"][0]["name"].as_str())
        .unwrap()
        .to_string();
    assert!(
        !index_names(&sim).contains(&impostor),
        "{impostor} exists already"
    );
    let created = sim.sim.datastore("PUT", &format!("/{impostor}"));
    assert_eq!(created["acknowledged"], true, "{created}");
    let (code, text) = output(recover_resume(sim.dir()));
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains(&format!(
            "`wait-snapshots-restored`: index {impostor} exists but was not restored from backup 100"
        )),
        "{text}"
    );
    // Fails at once (not after the 2-hour wait), saying why.
    assert!(text.contains("(recovery EMPTY_STORE)"), "{text}");
    // The plan refused it; it did not delete it, nor start Camunda on it.
    assert!(index_names(&sim).contains(&impostor));
    assert!(!text.contains("enter-restore-mode started"), "{text}");
}

/// Starts the 8.8 restore of backup 100 and SIGKILLs it while its first `_restore` is in
/// flight (bounded: the restore reaches it within the simulator's lifetime).
fn kill_restore_88_during_its_first_snapshot_restore(sim: &Sim) {
    let plan = root().join("plans/camunda/restore-8.8.yaml");
    let mut child = run_against_sim(sim.dir(), &plan, &["--set", "backup_id=100", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = false;
    for _ in 0..2000 {
        let flight = sim.get("/sim/in-flight");
        if flight
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["path"].as_str().unwrap_or("").contains("/_restore"))
        {
            seen = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(seen, "no snapshot restore was in flight");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Issue 15: a datastore with security on takes an API key. The plans send `Authorization:
/// ApiKey <key>` from `RUNBOOK_DATASTORE_API_KEY`; without it the datastore's 401 is the
/// reason the backup stops at preflight, nothing paused; the key never appears anywhere.
#[test]
fn datastore_api_key_reaches_a_secured_datastore() {
    const KEY: &str = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
    let sim = Sim::start_scenario("8.8", &format!("config:\n  datastore_api_key: {KEY}\n"));
    let plan = root().join("plans/camunda/backup-8.8.yaml");
    let text_of = |out: std::process::Output| {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let (code, text) = text_of(
        run_against_sim(sim.dir(), &plan, &["--set", "backup_id=100"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("missing authentication credentials for REST request"),
        "{text}"
    );
    assert!(!sim.exporting_paused());
    let (code, text) = text_of(
        run_against_sim(sim.dir(), &plan, &["--set", "backup_id=101", "-v"])
            .env("RUNBOOK_DATASTORE_API_KEY", KEY)
            .output()
            .unwrap(),
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains(KEY), "{text}");
    // The scenario file is the simulator's configuration, not runbook's output.
    for file in walk_files(sim.dir())
        .into_iter()
        .filter(|f| !f.ends_with("scenario.yaml"))
    {
        let content = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!content.contains(KEY), "{}", file.display());
    }
}

/// Issue 15: a secured datastore as ECK runs it (TLS with a private CA, an API key): backup,
/// damage and restore go through it with `datastore_ca_file` (the simulator's values give it)
/// and `RUNBOOK_DATASTORE_API_KEY`; without the CA the first datastore call fails on TLS,
/// before anything is paused.
#[test]
fn backup_and_restore_through_a_tls_datastore_with_an_api_key() {
    const KEY: &str = "VGxzS2V5SWQ6dGxzLXNlY3JldC1rZXktdmFsdWU=";
    let sim = Sim::start_scenario(
        "8.8",
        &format!("config:\n  datastore_tls: true\n  datastore_api_key: {KEY}\n"),
    );
    let values = std::fs::read_to_string(sim.dir().join("values.yaml")).unwrap();
    assert!(
        values.contains("datastore_url: \"https://127.0.0.1:"),
        "{values}"
    );
    let backup = root().join("plans/camunda/backup-8.8.yaml");
    let out = run_against_sim(
        sim.dir(),
        &backup,
        &["--set", "backup_id=99", "--set", "datastore_ca_file="],
    )
    .env("RUNBOOK_DATASTORE_API_KEY", KEY)
    .output()
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    assert!(!sim.exporting_paused());
    let run = |plan: &str, extra: &[&str]| {
        let out = run_against_sim(sim.dir(), &root().join("plans/camunda").join(plan), extra)
            .env("RUNBOOK_DATASTORE_API_KEY", KEY)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{plan}: {text}");
        assert!(!text.contains(KEY), "{text}");
    };
    run("backup-8.8.yaml", &["--set", "backup_id=100"]);
    sim.call("POST", "/sim/advance", "");
    sim.call("POST", "/sim/damage", "");
    run("restore-8.8.yaml", &["--set", "backup_id=100", "--yes"]);
    assert_restored(&sim, "tls");
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A backup through `runbook sim --port-forward`'s relay, caught while the first status poll
/// of its web-app backup is held `hold_ms` by the simulator (its forwards are up by then).
struct HeldForwardedBackup {
    sim: Sim,
    child: std::process::Child,
    /// The relays' Service map (each relay's environment names it).
    services: std::path::PathBuf,
    /// The relay script, for `--kubectl`.
    kubectl: String,
}

impl HeldForwardedBackup {
    fn start(hold_ms: u64) -> Self {
        use std::time::{Duration, Instant};
        let fault = format!(
            "component=orchestration,method=GET,path=/actuator/backupHistory/*,latency_ms={hold_ms},times=1"
        );
        let sim = Sim::start_with(
            "8.8",
            "elasticsearch",
            &["--port-forward", "--fault", &fault],
        );
        let services = sim.dir().join("sim/port-forward-services.json");
        let kubectl = sim.dir().join("sim/kubectl").to_string_lossy().to_string();
        let plan = root().join("plans/camunda/backup-8.8.yaml");
        let child = run_against_sim(
            sim.dir(),
            &plan,
            &["--set", "backup_id=100", "--kubectl", &kubectl],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !sim
            .get("/sim/in-flight")
            .to_string()
            .contains("/actuator/backupHistory/100")
        {
            assert!(
                Instant::now() < deadline,
                "the run never polled the web-app backup"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            sim,
            child,
            services,
            kubectl,
        }
    }

    /// Waits for the run; its exit code and output.
    fn finish(self) -> (Option<i32>, String, Sim, std::path::PathBuf, String) {
        let out = self.child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (
            out.status.code(),
            text,
            self.sim,
            self.services,
            self.kubectl,
        )
    }
}

/// Relays (`kubectl-shim ... port-forward`) whose environment names `services`.
fn relays_of(services: &std::path::Path) -> Vec<u32> {
    let marker = format!("RUNBOOK_SHIM_SERVICES={}", services.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let read = |f: &str| std::fs::read(format!("/proc/{pid}/{f}")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&read("cmdline")).replace('\0', " ");
            let environ = String::from_utf8_lossy(&read("environ")).replace('\0', "\n");
            cmdline.contains("kubectl-shim")
                && cmdline.contains("port-forward")
                && environ.lines().any(|l| l == marker)
        })
        .collect()
}

/// Issue 15, the default path end to end from the CLI: `runbook sim --port-forward` gives the
/// values a laptop uses (Service URLs, `port_forward: true`) and a kubectl whose port-forward
/// reaches the simulator. A backup SIGKILLed mid-run leaves its port-forwards running (nothing
/// in the run can stop them); `recover --resume` stops them, finishes the backup, and tears its
/// own down.
#[test]
fn recover_stops_the_port_forwards_of_a_killed_run() {
    use std::time::{Duration, Instant};
    // The first status poll of the web-app backup is held, so the run is caught mid-flight.
    let HeldForwardedBackup {
        sim,
        mut child,
        services,
        kubectl: kubectl_arg,
    } = HeldForwardedBackup::start(120_000);
    let values = std::fs::read_to_string(sim.dir().join("values.yaml")).unwrap();
    assert!(values.contains("port_forward: true"), "{values}");
    assert!(
        values.contains("orchestration_url: \"http://camunda-zeebe-gateway:9600\""),
        "{values}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let orphans = relays_of(&services);
    assert!(
        !orphans.is_empty(),
        "a SIGKILLed run cannot stop its port-forwards"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args([
            "recover",
            "--resume",
            "--yes",
            "--state-dir",
            "runs",
            "--kubectl",
            &kubectl_arg,
        ])
        .current_dir(sim.dir())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // How many were running at the kill depends on where the kill landed (a forward still
    // starting, under load); what matters is that recover stopped them and none is left.
    assert!(
        text.contains("port-forward(s) the interrupted run left running"),
        "{text}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !relays_of(&services).is_empty() {
        assert!(
            Instant::now() < deadline,
            "port-forwards left: {:?}",
            relays_of(&services)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!sim.exporting_paused());
}

/// Issue 15: port-forwards are torn down on every exit path of a run: interrupted (SIGINT,
/// exit 130 after compensating) and failed (a backup whose component fails).
#[test]
fn port_forwards_end_with_an_interrupted_or_failed_run() {
    let held = HeldForwardedBackup::start(120_000);
    assert!(!relays_of(&held.services).is_empty());
    let ok = Command::new("kill")
        .args(["-INT", &held.child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let (code, text, sim, services, kubectl_arg) = held.finish();
    assert_eq!(code, Some(130), "{text}");
    let plan = root().join("plans/camunda/backup-8.8.yaml");
    assert!(
        relays_of(&services).is_empty(),
        "left after SIGINT: {:?}",
        relays_of(&services)
    );
    assert!(!sim.exporting_paused(), "{text}");
    // A failing run: the web-app backup fails; its forwards go with it.
    sim.call(
        "POST",
        "/sim/faults",
        r#"{"outcomes":[{"component":"webapps","result":"failed"}]}"#,
    );
    let out = run_against_sim(
        sim.dir(),
        &plan,
        &["--set", "backup_id=101", "--kubectl", &kubectl_arg],
    )
    .output()
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("wait-webapps FAILED"), "{text}");
    assert!(
        relays_of(&services).is_empty(),
        "left after a failure: {:?}",
        relays_of(&services)
    );
}

/// Issue 15: Amazon OpenSearch Service with IAM. The simulator checks every datastore request's
/// AWS SigV4 signature (its own implementation of AWS's algorithm); the plans sign with
/// `datastore_aws_region` and the standard AWS environment. A backup and a restore go through;
/// a wrong secret gets the service's 403; no AWS credentials fail before anything is paused.
#[test]
fn backup_and_restore_through_an_aws_signed_datastore() {
    const SECRET: &str = "sim/AWS+secret-access-key-0123456789";
    let sim = Sim::start_scenario(
        "8.8",
        &format!(
            "config:\n  datastore_aws: {{access_key_id: AKIASIMULATED, secret_access_key: \"{SECRET}\", region: eu-west-1}}\n"
        ),
    );
    let run = |plan: &str, extra: &[&str], secret: Option<&str>| {
        let mut c = run_against_sim(sim.dir(), &root().join("plans/camunda").join(plan), extra);
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ROLE_ARN")
            .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE");
        if let Some(secret) = secret {
            c.env("AWS_ACCESS_KEY_ID", "AKIASIMULATED")
                .env("AWS_SECRET_ACCESS_KEY", secret);
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!text.contains(SECRET), "{text}");
        (out.status.code(), text)
    };
    let region = ["--set", "datastore_aws_region=eu-west-1"];
    let (code, text) = run(
        "backup-8.8.yaml",
        &[&region[..], &["--set", "backup_id=90"]].concat(),
        None,
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no AWS credentials"), "{text}");
    let (code, text) = run(
        "backup-8.8.yaml",
        &[&region[..], &["--set", "backup_id=91"]].concat(),
        Some("not-the-secret"),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("signature we calculated does not match"),
        "{text}"
    );
    assert!(!sim.exporting_paused());
    let (code, text) = run(
        "backup-8.8.yaml",
        &[&region[..], &["--set", "backup_id=100"]].concat(),
        Some(SECRET),
    );
    assert_eq!(code, Some(0), "{text}");
    sim.call("POST", "/sim/advance", "");
    sim.call("POST", "/sim/damage", "");
    let (code, text) = run(
        "restore-8.8.yaml",
        &[&region[..], &["--set", "backup_id=100", "--yes"]].concat(),
        Some(SECRET),
    );
    assert_eq!(code, Some(0), "{text}");
    assert_restored(&sim, "aws");
}

/// Issue 15: a port-forward that dies mid-run (a pod restart, a laptop's sleep) is restarted
/// by the engine and the run goes on to success.
#[test]
fn port_forwards_that_die_mid_run_are_restarted() {
    let held = HeldForwardedBackup::start(5_000);
    let services = held.services.clone();
    let killed = relays_of(&services);
    assert!(!killed.is_empty());
    for pid in &killed {
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
    }
    let (code, text, sim, _, _) = held.finish();
    assert_eq!(code, Some(0), "{text}");
    let log = std::fs::read_to_string(format!("{}.log", services.display())).unwrap();
    assert!(
        log.lines().count() > killed.len(),
        "no forward was restarted:\n{log}"
    );
    assert!(relays_of(&services).is_empty());
    assert!(!sim.exporting_paused());
}
