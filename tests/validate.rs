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
