//! Unit tests of `validate` and its step checks (`validate/steps.rs`): what a valid step
//! becomes, and the checks only a hand-built raw plan can reach (the decoder drops a `wait`
//! key where none is allowed, so `nested_wait` guards raw plans built by other means).

use super::*;
use crate::plan::Action;
use crate::plan::raw::RawAction;

const HEAD: &str = "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  web: {http: {url: \"http://127.0.0.1:1\"}}\n  kube: {kubectl: {namespace: ns}}\nsteps:\n";

fn source(steps: &str) -> SourceFile {
    SourceFile::new("t.yaml", format!("{HEAD}{steps}"))
}

fn decoded(source: &SourceFile) -> Decoded {
    decode(crate::plan::yaml::parse(source.text()).expect("parses"))
}

fn codes(v: &Validated) -> Vec<&'static str> {
    v.diagnostics.iter().map(|d| d.code).collect()
}

fn valid(steps: &str) -> Plan {
    let src = source(steps);
    let v = validate_raw(&src, decoded(&src));
    assert!(v.diagnostics.is_empty(), "{:?}", codes(&v));
    v.plan.expect("a plan")
}

const WAIT_STEP: &str =
    "  - id: w\n    wait: {http: {target: web, path: /x}, until: 'true', timeout: 1m}\n";

/// The `wait` action of the first step of `d` (the plan's `WAIT_STEP`).
fn take_wait(d: &mut Decoded) -> (crate::plan::source::Span, RawAction) {
    let step = d.raw.steps.remove(0);
    step.actions.into_iter().next().expect("the wait action")
}

#[test]
fn a_wait_moved_into_an_undo_is_refused() {
    let src = source(&format!(
        "{WAIT_STEP}  - id: a\n    http: {{target: web, path: /x}}\n    undo: {{http: {{target: web, path: /y}}}}\n"
    ));
    let mut d = decoded(&src);
    let wait = take_wait(&mut d);
    d.raw.steps[0].undo.as_mut().expect("undo").actions = vec![wait];
    let v = validate_raw(&src, d);
    assert!(
        codes(&v).contains(&"runbook::plan::nested_wait"),
        "{:?}",
        codes(&v)
    );
    assert!(v.plan.is_none());
}

#[test]
fn a_wait_moved_into_a_wait_probe_is_refused() {
    let src = source(&format!("{WAIT_STEP}{WAIT_STEP}").replacen("id: w", "id: v", 1));
    let mut d = decoded(&src);
    let inner = take_wait(&mut d);
    let RawAction::Wait(outer) = &mut d.raw.steps[0].actions[0].1 else {
        panic!("the second step waits")
    };
    outer.probe = vec![inner];
    let v = validate_raw(&src, d);
    assert!(
        codes(&v).contains(&"runbook::plan::nested_wait"),
        "{:?}",
        codes(&v)
    );
}

#[test]
fn a_valid_step_keeps_what_it_declares() {
    let plan = valid(
        "  - id: a\n    http: {target: web, method: POST, path: /x}\n    timeout: 90\n    retry: {backoff: {initial: 1s, max: 4s}}\n    outputs: {o: .body}\n    destructive: true\n  - id: b\n    needs: a\n    kubectl: {target: kube, args: [get, pods]}\n",
    );
    let [a, b] = &plan.steps[..] else {
        panic!("two steps")
    };
    assert_eq!(a.retry.attempts, 3, "retry without attempts means 3");
    assert_eq!(a.retry.initial, Duration::from_secs(1));
    assert_eq!(a.retry.max, Duration::from_secs(4));
    assert!(a.destructive);
    assert_eq!(a.outputs.len(), 1);
    assert!(matches!(a.action, Action::Http(_)));
    assert!(a.timeout.is_some(), "a bare number is seconds");
    assert_eq!(
        b.needs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    assert!(matches!(b.action, Action::Kubectl(_)));
    assert_eq!(b.retry.attempts, 1, "no retry block: one attempt");
    assert!(!b.is_finally);
}

#[test]
fn finally_steps_are_marked_and_kept_apart() {
    let src = SourceFile::new(
        "t.yaml",
        format!(
            "{HEAD}  - id: a\n    http: {{target: web, path: /x}}\nfinally:\n  - id: f\n    http: {{target: web, path: /y}}\n"
        ),
    );
    let v = validate_raw(&src, decoded(&src));
    let plan = v.plan.expect("valid");
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.finally.len(), 1);
    assert!(plan.finally[0].is_finally);
}

#[test]
fn every_problem_of_a_step_is_reported_not_only_the_first() {
    let src = source(
        "  - id: a\n    http: {target: nope, method: FETCH, path: x}\n    retry: {attempts: 0}\n",
    );
    let v = validate_raw(&src, decoded(&src));
    let got = codes(&v);
    for code in [
        "runbook::plan::unknown_target",
        "runbook::plan::bad_method",
        "runbook::plan::bad_path",
        "runbook::plan::bad_attempts",
    ] {
        assert!(got.contains(&code), "{code} missing from {got:?}");
    }
}

#[test]
fn parallelism_needs_for_each_and_a_positive_count() {
    let src = source("  - id: a\n    parallelism: 2\n    http: {target: web, path: /x}\n");
    let v = validate_raw(&src, decoded(&src));
    assert_eq!(codes(&v), ["runbook::plan::parallelism_without_for_each"]);
    let plan = valid(
        "  - id: a\n    for_each: '[1, 2]'\n    parallelism: 2\n    http: {target: web, path: \"/{{item}}\"}\n",
    );
    assert_eq!(plan.steps[0].parallelism, Some(2));
    assert!(plan.steps[0].for_each.is_some());
}

/// `validate/before_retry.rs`: the clean-up block's shape.
const BR_STEP: &str = "  - id: a\n    for_each: '[\"s\"]'\n    http: {target: web, method: POST, path: \"/{{item}}\"}\n";

fn before_retry_codes(block: &str) -> Vec<&'static str> {
    let src = source(&format!("{BR_STEP}    before_retry:\n{block}"));
    let v = validate_raw(&src, decoded(&src));
    codes(&v)
}

#[test]
fn a_before_retry_with_find_and_select_is_kept() {
    let plan = valid(&format!(
        "{BR_STEP}    before_retry:\n      description: clean\n      find: {{http: {{target: web, path: \"/{{{{item}}}}/_recovery\"}}}}\n      select: '.body | keys'\n      http: {{target: web, method: DELETE, path: \"/{{{{leftover}}}}\"}}\n"
    ));
    let b = plan.steps[0].before_retry.as_ref().expect("before_retry");
    assert!(b.find.as_ref().is_some_and(Action::is_read_only));
    assert!(b.select.is_some());
    assert!(matches!(b.action, Action::Http(_)));
    // Without `find`, one call in the item's scope.
    let plan = valid(&format!(
        "{BR_STEP}    before_retry: {{http: {{target: web, method: DELETE, path: \"/{{{{item}}}}\"}}}}\n"
    ));
    assert!(
        plan.steps[0]
            .before_retry
            .as_ref()
            .is_some_and(|b| b.find.is_none())
    );
}

#[test]
fn a_misshapen_before_retry_is_refused() {
    const SHAPE: &str = "runbook::plan::before_retry_shape";
    let cases = [
        // `find` without `select`.
        "      find: {http: {target: web, path: /x}}\n      http: {target: web, method: DELETE, path: /x}\n",
        // `select` without `find`.
        "      select: '[]'\n      http: {target: web, method: DELETE, path: /x}\n",
        // `find` that writes.
        "      find: {http: {target: web, method: DELETE, path: /x}}\n      select: '[]'\n      http: {target: web, method: DELETE, path: /x}\n",
        // `leftover` with nothing selecting it.
        "      http: {target: web, method: DELETE, path: \"/{{leftover}}\"}\n",
    ];
    for block in cases {
        let found = before_retry_codes(block);
        assert!(found.contains(&SHAPE), "{block}: {found:?}");
    }
    // Its calls are checked as any action: targets, and no `wait`.
    let found = before_retry_codes("      http: {target: nowhere, method: DELETE, path: /x}\n");
    assert!(
        found.contains(&"runbook::plan::unknown_target"),
        "{found:?}"
    );
    let found = before_retry_codes(
        "      http: {target: web, path: /x}\n      kubectl: {target: kube, args: [get, pods]}\n",
    );
    assert!(
        found.contains(&"runbook::plan::several_actions"),
        "{found:?}"
    );
    // `leftover` outside a `before_retry`.
    let src = source("  - id: a\n    http: {target: web, path: \"/{{leftover}}\"}\n");
    let v = validate_raw(&src, decoded(&src));
    assert!(codes(&v).contains(&SHAPE), "{:?}", codes(&v));
}
