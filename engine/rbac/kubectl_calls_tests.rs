//! Unit tests of the kubectl-argv to API-call mapping; each expected list is what kubectl
//! 1.32 sent to the simulator's API server with `-v=6`.

use super::{Arg, api_calls, port_forward_calls};

fn calls(args: &[&str]) -> Vec<String> {
    let args: Vec<Arg> = args.iter().map(|a| Arg::literal(a)).collect();
    render(api_calls(&args).expect("mapped"))
}

fn render(calls: Vec<crate::rbac::ApiCall>) -> Vec<String> {
    let mut out: Vec<String> = calls
        .iter()
        .map(|c| {
            let group = if c.group.is_empty() { "core" } else { c.group };
            format!("{} {group}/{}", c.verb, c.resource_path())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn runtime(head: &str) -> Arg {
    Arg::runtime(head)
}

#[test]
fn get_with_a_selector_lists_and_by_name_gets() {
    assert_eq!(
        calls(&["get", "statefulsets", "-l", "app=x", "-o", "json"]),
        ["list apps/statefulsets"]
    );
    assert_eq!(
        calls(&["get", "pvc", "-o", "json"]),
        ["list core/persistentvolumeclaims"]
    );
    assert_eq!(
        calls(&["get", "statefulset/zeebe", "-o", "json"]),
        ["get apps/statefulsets"]
    );
    assert_eq!(
        calls(&["get", "deployments", "optimize"]),
        ["get apps/deployments"]
    );
    assert_eq!(
        calls(&["get", "pods", "-w"]),
        ["list core/pods", "watch core/pods"]
    );
}

#[test]
fn scale_reads_the_object_then_patches_the_scale_subresource() {
    assert_eq!(
        calls(&["scale", "statefulset/zeebe", "--replicas=0"]),
        ["get apps/statefulsets", "patch apps/statefulsets/scale"]
    );
    assert_eq!(
        calls(&["scale", "deployment", "optimize", "--replicas", "1"]),
        ["get apps/deployments", "patch apps/deployments/scale"]
    );
}

#[test]
fn rollout_status_and_wait_get_list_and_watch() {
    let expected = [
        "get apps/deployments",
        "list apps/deployments",
        "watch apps/deployments",
    ];
    assert_eq!(
        calls(&["rollout", "status", "deployment/o", "--timeout=5m"]),
        expected
    );
    assert_eq!(
        calls(&["wait", "--for=condition=Ready", "pod/p"]),
        ["get core/pods", "list core/pods", "watch core/pods"]
    );
}

#[test]
fn logs_read_the_pod_then_its_log() {
    assert_eq!(
        calls(&["logs", "zeebe-0", "-c", "orchestration"]),
        ["get core/pods", "get core/pods/log"]
    );
    assert_eq!(
        calls(&["logs", "statefulset/zeebe", "-f"]),
        [
            "get apps/statefulsets",
            "get core/pods",
            "get core/pods/log",
            "list core/pods"
        ]
    );
}

#[test]
fn delete_waits_for_the_object_unless_told_not_to() {
    assert_eq!(
        calls(&[
            "delete",
            "pvc",
            "data-0",
            "--ignore-not-found",
            "--timeout=5m"
        ]),
        [
            "delete core/persistentvolumeclaims",
            "get core/persistentvolumeclaims",
            "list core/persistentvolumeclaims",
            "watch core/persistentvolumeclaims"
        ]
    );
    assert_eq!(
        calls(&["delete", "pvc/data-0", "--wait=false"]),
        ["delete core/persistentvolumeclaims"]
    );
}

#[test]
fn set_env_label_and_patch_read_then_patch() {
    let expected = ["get apps/statefulsets", "patch apps/statefulsets"];
    assert_eq!(
        calls(&[
            "set",
            "env",
            "statefulset/z",
            "-c",
            "orchestration",
            "A=b/c",
            "B-"
        ]),
        expected
    );
    assert_eq!(calls(&["label", "statefulset/z", "a=b"]), expected);
    assert_eq!(calls(&["patch", "statefulset", "z", "-p", "{}"]), expected);
}

#[test]
fn port_forward_reads_the_service_and_its_pods_and_creates_the_forward() {
    let expected = [
        "create core/pods/portforward",
        "get core/pods",
        "get core/services",
        "list core/pods",
    ];
    assert_eq!(
        calls(&["port-forward", "svc/optimize", "8092:8092"]),
        expected
    );
    assert_eq!(
        render(port_forward_calls("services/optimize").expect("mapped")),
        expected
    );
    assert_eq!(
        render(port_forward_calls("pod/zeebe-0").expect("mapped")),
        ["create core/pods/portforward", "get core/pods"]
    );
}

#[test]
fn discovery_needs_no_rule() {
    assert!(calls(&["version"]).is_empty());
}

#[test]
fn a_type_with_a_runtime_name_is_still_known() {
    let args = [
        Arg::literal("scale"),
        runtime("statefulset/"),
        Arg::literal("--replicas=0"),
    ];
    assert_eq!(
        render(api_calls(&args).expect("mapped")),
        ["get apps/statefulsets", "patch apps/statefulsets/scale"]
    );
    let args = [
        Arg::literal("logs"),
        runtime(""),
        Arg::literal("-c"),
        Arg::literal("zeebe"),
    ];
    assert_eq!(
        render(api_calls(&args).expect("mapped")),
        ["get core/pods", "get core/pods/log"]
    );
}

#[test]
fn what_cannot_be_known_before_the_run_is_a_clear_error() {
    let e = api_calls(&[Arg::literal("get"), runtime("")]).expect_err("unresolved");
    assert!(e.contains("known only at run time"), "{e}");
    let e = api_calls(&[runtime("")]).expect_err("unresolved verb");
    assert!(e.contains("verb"), "{e}");
    for (args, needle) in [
        (vec!["apply", "-f", "x.yaml"], "`-f`"),
        (vec!["cp", "a", "b"], "not mapped"),
        (vec!["get", "nodes"], "cluster-scoped"),
        (vec!["get", "widgets"], "not a resource type"),
        (vec!["get", "pods", "-n", "other"], "namespace"),
        (vec!["get", "pods", "-A"], "namespace"),
        (vec!["rollout", "undo", "deployment/x"], "rollout undo"),
    ] {
        let args: Vec<Arg> = args.iter().map(|a| Arg::literal(a)).collect();
        let e = api_calls(&args).expect_err("refused");
        assert!(e.contains(needle), "{needle}: {e}");
    }
}

#[test]
fn api_group_suffixes_are_understood() {
    assert_eq!(
        calls(&["get", "statefulsets.apps"]),
        ["list apps/statefulsets"]
    );
    let args: Vec<Arg> = ["get", "deployments.batch"]
        .iter()
        .map(|a| Arg::literal(a))
        .collect();
    assert!(api_calls(&args).is_err());
}
