//! Every diagnostic code in docs/diagnostics.md is produced by a test: one small plan per
//! plan-time code through the validator (in-process, as `validate` loads it), and the usage
//! and I/O codes through the CLI. A last test scans the test sources so that a code added to
//! the catalogue without a producing test fails the suite.

use runbook::plan::loader;
use runbook::plan::source::SourceFile;

use crate::harness::{root, runbook};

/// The head every case builds on: a valid plan with one HTTP and one kubectl target.
const HEAD: &str = "apiVersion: runbook/v1\nkind: Plan\nname: t\n";
const TARGETS: &str =
    "targets:\n  web: {http: {url: \"http://127.0.0.1:1\"}}\n  kube: {kubectl: {namespace: ns}}\n";
/// A valid step, for cases whose problem is elsewhere.
const STEP: &str = "  - id: a\n    http: {target: web, path: /x}\n";

/// A plan from `HEAD`, `TARGETS`, a `steps:` list and optional extra top-level text.
fn plan(steps: &str, extra: &str) -> String {
    format!("{HEAD}{TARGETS}{extra}steps:\n{steps}")
}

/// (code, plan text) for every code the validator produces.
fn plan_cases() -> Vec<(&'static str, String)> {
    let s = |steps: &str| plan(steps, "");
    let x = |extra: &str| plan(STEP, extra);
    vec![
        ("runbook::yaml::syntax", format!("{HEAD}steps: [\n")),
        ("runbook::plan::empty", String::new()),
        ("runbook::plan::api_version", x("").replace("runbook/v1", "runbook/v9")),
        ("runbook::plan::kind", x("").replace("kind: Plan", "kind: Job")),
        ("runbook::plan::empty_name", x("").replace("name: t", "name: \"\"")),
        ("runbook::plan::bad_name", s("  - id: 'a b'\n    http: {target: web, path: /x}\n")),
        ("runbook::plan::invalid_key", s("  - id: a\n    1: x\n    http: {target: web, path: /x}\n")),
        ("runbook::plan::unknown_key", s("  - id: a\n    htp: {target: web, path: /x}\n    http: {target: web, path: /x}\n")),
        ("runbook::plan::missing_field", s("  - http: {target: web, path: /x}\n")),
        ("runbook::plan::wrong_type", s("  - id: a\n    http: {target: web, path: [x]}\n")),
        ("runbook::plan::no_steps", s("").replace("steps:\n", "steps: []\n")),
        ("runbook::plan::no_action", s("  - id: a\n")),
        ("runbook::plan::several_actions", s("  - id: a\n    http: {target: web, path: /x}\n    kubectl: {target: kube, args: [get, pods]}\n")),
        ("runbook::plan::no_args", s("  - id: a\n    kubectl: {target: kube, args: []}\n")),
        ("runbook::plan::two_bodies", s("  - id: a\n    http: {target: web, method: POST, path: /x, json: {a: 1}, body: b}\n")),
        ("runbook::plan::bad_method", s("  - id: a\n    http: {target: web, method: FETCH, path: /x}\n")),
        ("runbook::plan::bad_path", s("  - id: a\n    http: {target: web, path: x}\n")),
        ("runbook::plan::bad_url", plan(STEP, "").replace("http://127.0.0.1:1", "ftp://example")),
        ("runbook::plan::bad_port", plan(STEP, "").replace(
            "  kube: {kubectl: {namespace: ns}}\n",
            "  kube: {kubectl: {namespace: ns}}\n  fwd:\n    http:\n      url: \"http://127.0.0.1:1\"\n      port_forward: {via: kube, resource: svc/x, remote_port: 70000}\n",
        )),
        ("runbook::plan::bad_status", s("  - id: a\n    http: {target: web, path: /x, expect: 42}\n")),
        ("runbook::plan::bad_limit", s("  - id: a\n    http: {target: web, path: /x, max_response_bytes: 0}\n")),
        ("runbook::plan::bad_duration", s("  - id: a\n    http: {target: web, path: /x}\n    timeout: soon\n")),
        ("runbook::plan::bad_interval", s("  - id: a\n    wait: {http: {target: web, path: /x}, until: 'true', interval: 10s, max_interval: 1s, timeout: 1m}\n")),
        ("runbook::plan::bad_attempts", s("  - id: a\n    http: {target: web, path: /x}\n    retry: {attempts: 0}\n")),
        ("runbook::plan::bad_backoff", s("  - id: a\n    http: {target: web, path: /x}\n    retry: {attempts: 3, backoff: {initial: 10s, max: 1s}}\n")),
        ("runbook::plan::bad_multiplier", s("  - id: a\n    http: {target: web, path: /x}\n    retry: {attempts: 3, backoff: {multiplier: 1000}}\n")),
        ("runbook::plan::bad_parallelism", s("  - id: a\n    for_each: '[1, 2]'\n    parallelism: 0\n    http: {target: web, path: /x}\n")),
        ("runbook::plan::parallelism_without_for_each", s("  - id: a\n    parallelism: 2\n    http: {target: web, path: /x}\n")),
        ("runbook::plan::bad_env", x("params:\n  p: {type: string, default: x, env: 1-BAD}\n")),
        ("runbook::plan::unknown_type", x("params:\n  p: {type: colour, default: x}\n")),
        ("runbook::plan::required_with_default", x("params:\n  p: {type: string, required: true, default: x}\n")),
        ("runbook::plan::default_not_in_enum", x("params:\n  p: {type: string, enum: [a, b], default: c}\n")),
        ("runbook::plan::duplicate_step", s(&format!("{STEP}{STEP}"))),
        ("runbook::plan::target_kind", plan(STEP, "").replace("  kube: {kubectl: {namespace: ns}}\n", "  kube: {}\n")),
        ("runbook::plan::unknown_target", s("  - id: a\n    http: {target: nope, path: /x}\n")),
        ("runbook::plan::wrong_target_kind", s("  - id: a\n    http: {target: kube, path: /x}\n")),
        ("runbook::plan::before_retry_shape", s("  - id: a\n    http: {target: web, method: POST, path: /x}\n    before_retry:\n      find: {http: {target: web, path: /y}}\n      http: {target: web, method: DELETE, path: /y}\n")),
        ("runbook::plan::undo_in_finally", format!("{}finally:\n  - id: f\n    http: {{target: web, path: /x}}\n    undo: {{http: {{target: web, path: /y}}}}\n", s(STEP))),
        ("runbook::plan::bad_version_constraint", x("requires:\n  camunda: \"not a range\"\n")),
        ("runbook::plan::unknown_requirement", s("  - id: a\n    http: {target: web, path: /x}\n    version: {app: camunda, from: .body.version}\n")),
        ("runbook::plan::unused_param", x("params:\n  p: {type: string, default: x}\n")),
        ("runbook::plan::request_timeout_below_step_timeout", plan(
            "  - id: a\n    http: {target: slow, method: POST, path: /x}\n    timeout: 2h\n",
            "",
        ).replace(
            "  kube: {kubectl: {namespace: ns}}\n",
            "  kube: {kubectl: {namespace: ns}}\n  slow: {http: {url: \"http://127.0.0.1:1\", timeout: 30m}}\n",
        )),
        ("runbook::plan::wait_without_timeout", s("  - id: a\n    wait: {http: {target: web, path: /x}, until: 'true'}\n")),
        ("runbook::template::syntax", s("  - id: a\n    http: {target: web, path: \"/{{#if}}\"}\n")),
        ("runbook::template::unknown_variable", s("  - id: a\n    http: {target: web, path: \"/{{nope.x}}\"}\n")),
        ("runbook::template::bad_reference", s(&format!("{STEP}  - id: b\n    needs: [a]\n    http: {{target: web, path: \"/{{{{steps.a}}}}\"}}\n"))),
        ("runbook::template::unknown_param", s("  - id: a\n    http: {target: web, path: \"/{{params.nope}}\"}\n")),
        ("runbook::template::unknown_step", s("  - id: a\n    http: {target: web, path: \"/{{steps.nope.outputs.o}}\"}\n")),
        ("runbook::template::unknown_output", s(&format!("{STEP}  - id: b\n    needs: [a]\n    http: {{target: web, path: \"/{{{{steps.a.outputs.nope}}}}\"}}\n"))),
        ("runbook::template::unknown_target", s("  - id: a\n    http: {target: web, path: \"/{{targets.nope.url}}\"}\n")),
        ("runbook::template::not_an_ancestor", s("  - id: a\n    http: {target: web, path: /x}\n    outputs: {o: .body}\n  - id: b\n    http: {target: web, path: \"/{{steps.a.outputs.o}}\"}\n")),
        ("runbook::template::undo_reads_output", s("  - id: a\n    http: {target: web, path: /x}\n    outputs: {o: .body}\n  - id: b\n    http: {target: web, path: /x}\n    undo: {http: {target: web, path: \"/{{steps.a.outputs.o}}\"}}\n")),
        ("runbook::template::finally_reads_output", format!("{}finally:\n  - id: f\n    http: {{target: web, path: \"/{{{{steps.a.outputs.o}}}}\"}}\n", s("  - id: a\n    http: {target: web, path: /x}\n    outputs: {o: .body}\n"))),
        ("runbook::template::item_outside_for_each", s("  - id: a\n    http: {target: web, path: \"/{{item}}\"}\n")),
        ("runbook::template::output_in_target", plan("  - id: a\n    http: {target: web, path: /x}\n    outputs: {o: .body}\n", "").replace("http://127.0.0.1:1", "http://{{steps.a.outputs.o}}")),
        ("runbook::template::default_reference", plan("  - id: a\n    http: {target: web, path: \"/{{params.p}} {{params.q}}\"}\n", "params:\n  p: {type: string, default: x}\n  q: {type: string, default: \"{{params.p}}\"}\n")),
        ("runbook::jq::compile", s("  - id: a\n    http: {target: web, path: /x}\n    check: '.body |||'\n")),
        ("runbook::graph::unknown_step", s("  - id: a\n    needs: [nope]\n    http: {target: web, path: /x}\n")),
        ("runbook::graph::cycle", s("  - id: a\n    needs: [b]\n    http: {target: web, path: /x}\n  - id: b\n    needs: [a]\n    http: {target: web, path: /x}\n")),
        ("runbook::graph::cross_section_need", format!("{}finally:\n  - id: f\n    needs: [a]\n    http: {{target: web, path: /x}}\n", s(STEP))),
    ]
}

/// Codes the YAML reader pre-empts: it refuses duplicate keys, so a plan file can never
/// reach the validator's own duplicate checks. They still guard the validator's input (a tree
/// from another reader); this produces them from a parsed tree whose second key is renamed
/// into the first. (`runbook::plan::nested_wait` is the decoder's counterpart: asserted by a
/// unit test in engine/plan/validate.rs, as only a hand-built raw plan can carry it.)
#[test]
fn duplicate_codes_are_produced_from_a_tree_with_duplicate_keys() {
    use runbook::plan::yaml::{Node, Value};
    /// Renames every mapping key `from` to `to`, anywhere in the tree.
    fn rename(node: &mut Node, from: &str, to: &str) {
        match &mut node.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    if k.value == Value::Str(from.into()) {
                        k.value = Value::Str(to.into());
                    }
                    rename(v, from, to);
                }
            }
            Value::Seq(items) => items.iter_mut().for_each(|n| rename(n, from, to)),
            _ => {}
        }
    }
    let cases = [
        (
            "runbook::plan::duplicate_param",
            plan(
                "  - id: a\n    http: {target: web, path: \"/{{params.p}}\"}\n",
                "params:\n  p: {type: string, default: x}\n  q_dup: {type: string, default: y}\n",
            ),
            ("q_dup", "p"),
        ),
        (
            "runbook::plan::duplicate_target",
            plan(STEP, "").replace(
                "  kube:",
                "  web2_dup: {http: {url: \"http://127.0.0.1:2\"}}\n  kube:",
            ),
            ("web2_dup", "web"),
        ),
        (
            "runbook::plan::duplicate_output",
            plan(
                "  - id: a\n    http: {target: web, path: /x}\n    outputs: {o: .body, o_dup: .status}\n",
                "",
            ),
            ("o_dup", "o"),
        ),
    ];
    for (code, text, (from, to)) in cases {
        let source = SourceFile::new("dup.yaml", text.clone());
        let mut root = runbook::plan::yaml::parse(&text).expect("parses");
        rename(&mut root, from, to);
        let validated = runbook::plan::validate::validate(&source, root);
        let found: Vec<&str> = validated.diagnostics.iter().map(|d| d.code).collect();
        assert!(found.contains(&code), "{code}: got {found:?}");
    }
}

#[test]
fn every_plan_time_code_is_produced_by_a_plan() {
    let mut wrong = Vec::new();
    for (code, text) in plan_cases() {
        let loaded = loader::load_source(SourceFile::new(format!("{code}.yaml"), text.clone()));
        let found: Vec<&str> = loaded
            .validated
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect();
        if !found.contains(&code) {
            wrong.push(format!("{code}: got {found:?} from\n{text}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// The base plan the cases build on is valid, so each case's code comes from its change.
#[test]
fn the_base_plan_of_the_cases_is_valid() {
    let text = plan(STEP, "");
    let loaded = loader::load_source(SourceFile::new("base.yaml", text));
    let codes: Vec<&str> = loaded
        .validated
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect();
    assert!(codes.is_empty(), "{codes:?}");
}

/// Runs `runbook args` and asserts the exit code and that stderr names `code`.
fn cli_gives(code: &str, exit: i32, args: &[&str]) {
    let r = runbook(args);
    assert!(
        r.stderr.contains(code) || r.stdout.contains(code),
        "{args:?} should report {code} (exit {}):\n{}\n{}",
        r.code,
        r.stdout,
        r.stderr
    );
    assert_eq!(r.code, exit, "{args:?}: {}", r.stderr);
}

#[test]
fn io_codes_are_produced_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    cli_gives("runbook::io::read", 2, &["validate", &path("missing.yaml")]);
    std::fs::write(
        path("latin1.yaml"),
        b"apiVersion: runbook/v1\nname: caf\xe9\n",
    )
    .expect("write");
    cli_gives(
        "runbook::io::not_utf8",
        2,
        &["validate", &path("latin1.yaml")],
    );
    let huge = std::fs::File::create(path("huge.yaml")).expect("create");
    huge.set_len(runbook::plan::yaml::MAX_FILE_BYTES as u64 + 1)
        .expect("set_len");
    cli_gives(
        "runbook::io::too_large",
        2,
        &["validate", &path("huge.yaml")],
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    cli_gives(
        "runbook::io::no_plans",
        2,
        &["validate", &empty.display().to_string()],
    );
}

#[test]
fn journal_codes_are_produced_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("mkdir");
    let state = state.display().to_string();
    cli_gives(
        "runbook::journal::unknown_run",
        2,
        &["recover", "no-such-run", "--state-dir", &state],
    );
    // Another process holds the plan's lock: this test takes the OS lock itself.
    let plan_file = dir.path().join("one.yaml");
    std::fs::write(&plan_file, plan(STEP, "")).expect("write plan");
    let plan_file = plan_file.display().to_string();
    std::fs::create_dir_all(dir.path().join("state/locks")).expect("mkdir");
    let held = std::fs::File::create(dir.path().join("state/locks/t.lock")).expect("lock file");
    held.try_lock().expect("take the lock");
    cli_gives(
        "runbook::journal::locked",
        2,
        &["run", &plan_file, "--state-dir", &state, "--yes"],
    );
    drop(held);
    // A state directory that is a file cannot be used.
    let file = dir.path().join("file");
    std::fs::write(&file, "not a directory").expect("write");
    cli_gives(
        "runbook::journal::io",
        2,
        &[
            "run",
            &plan_file,
            "--state-dir",
            &file.join("sub").display().to_string(),
            "--yes",
        ],
    );
}

#[test]
fn the_sim_start_code_is_produced_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-scenario.yaml");
    cli_gives(
        "runbook::sim::start",
        2,
        &["sim", "--scenario", &missing.display().to_string()],
    );
}

/// The catalogue's codes, as they appear in docs/diagnostics.md.
fn catalogue() -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("docs/diagnostics.md")).expect("catalogue");
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `runbook::"))
        .filter_map(|rest| rest.split('`').next())
        .map(|code| format!("runbook::{code}"))
        .collect()
}

/// Test code under `dir`: whole files under tests/ or named `*tests*.rs`, and the part of
/// any other source file from its `#[cfg(test)]` on.
fn test_sources(dir: &std::path::Path, in_tests: bool, out: &mut String) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            test_sources(&p, in_tests || name == "tests", out);
        } else if name.ends_with(".rs") {
            let text = std::fs::read_to_string(&p).expect("read source");
            if in_tests || name.contains("tests") {
                out.push_str(&text);
            } else if let Some(at) = text.find("#[cfg(test)]") {
                out.push_str(&text[at..]);
            }
        }
    }
}

/// A code added to the catalogue fails here until some test produces it: the cases above and
/// the unit tests name each code as a string they assert.
#[test]
fn every_catalogued_code_has_a_producing_test() {
    let codes = catalogue();
    assert!(codes.len() > 60, "catalogue parsed: {codes:?}");
    let mut tests = String::new();
    test_sources(&root().join("tests"), true, &mut tests);
    test_sources(&root().join("engine"), false, &mut tests);
    let missing: Vec<_> = codes
        .iter()
        .filter(|code| !tests.contains(&format!("\"{code}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "codes in docs/diagnostics.md without a test that produces them: {missing:?}"
    );
}

/// `--max-parallel 0` used to mean 1 silently: it is a usage error naming the flag.
#[test]
fn max_parallel_zero_is_a_usage_error() {
    let plan = crate::harness::fixture("valid/backup-8.8.yaml");
    for command in ["run", "recover"] {
        let mut args = vec![command];
        if command == "run" {
            args.push(&plan);
        }
        args.extend(["--max-parallel", "0"]);
        let r = runbook(&args);
        assert_eq!(r.code, 2, "{command}: {}", r.stderr);
        assert!(
            r.stderr.contains("--max-parallel") && r.stderr.contains("at least 1"),
            "{command}: {}",
            r.stderr
        );
    }
}
