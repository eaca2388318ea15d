//! Unit tests of the RBAC mode's policy: reading a Role, matching rules as the API server's
//! RBAC authorizer does, and the exact 403 text.

use axum::http::Method;

use super::{Attributes, Policy, RbacState};
use crate::kube::handlers::Target;
use crate::kube::resources;

const ROLE: &str = r#"# a comment first, as `runbook rbac` prints
apiVersion: v1
kind: ServiceAccount
metadata: {name: "backup", namespace: "camunda"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: "backup-role", namespace: "camunda"}
rules:
  - apiGroups: ["apps"]
    resources: ["statefulsets"]
    verbs: ["get", "list"]
  - apiGroups: ["apps"]
    resources: ["statefulsets/scale"]
    verbs: ["patch"]
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get"]
    resourceNames: ["zeebe-0"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: "backup", namespace: "camunda"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: backup-role}
subjects: [{kind: ServiceAccount, name: backup, namespace: camunda}]
"#;

fn target(
    group: &str,
    plural: &str,
    ns: Option<&str>,
    name: Option<&str>,
    sub: Option<&str>,
) -> Target {
    Target {
        resource: resources::by_plural(group, "v1", plural).expect("served"),
        namespace: ns.map(str::to_string),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
    }
}

fn state() -> RbacState {
    let s = RbacState::default();
    s.set(Some(Policy::from_yaml(ROLE).expect("reads")));
    s
}

#[test]
fn the_user_is_the_bound_service_account() {
    let p = Policy::from_yaml(ROLE).expect("reads");
    assert_eq!(p.user, "system:serviceaccount:camunda:backup");
    assert_eq!(p.namespace, "camunda");
    assert_eq!(p.rules.len(), 3);
}

#[test]
fn verbs_come_from_the_method_and_the_path() {
    let sts = target("apps", "statefulsets", Some("camunda"), None, None);
    assert_eq!(Attributes::of(&Method::GET, &sts, false).verb, "list");
    assert_eq!(Attributes::of(&Method::GET, &sts, true).verb, "watch");
    let one = target("apps", "statefulsets", Some("camunda"), Some("z"), None);
    assert_eq!(Attributes::of(&Method::GET, &one, false).verb, "get");
    assert_eq!(Attributes::of(&Method::DELETE, &one, false).verb, "delete");
    let pf = target("", "pods", Some("camunda"), Some("p"), Some("portforward"));
    assert_eq!(Attributes::of(&Method::GET, &pf, false).verb, "create");
}

#[test]
fn granted_requests_pass_and_others_get_the_api_servers_403() {
    let s = state();
    let list = target("apps", "statefulsets", Some("camunda"), None, None);
    assert!(
        s.authorize(&Attributes::of(&Method::GET, &list, false))
            .is_ok()
    );
    let scale = target(
        "apps",
        "statefulsets",
        Some("camunda"),
        Some("z"),
        Some("scale"),
    );
    assert!(
        s.authorize(&Attributes::of(&Method::PATCH, &scale, false))
            .is_ok()
    );
    // The Role's resourceNames: only zeebe-0.
    let pod0 = target("", "pods", Some("camunda"), Some("zeebe-0"), None);
    assert!(
        s.authorize(&Attributes::of(&Method::GET, &pod0, false))
            .is_ok()
    );
    let pod1 = target("", "pods", Some("camunda"), Some("zeebe-1"), None);
    assert!(
        s.authorize(&Attributes::of(&Method::GET, &pod1, false))
            .is_err()
    );

    let patch = target("apps", "statefulsets", Some("camunda"), Some("z"), None);
    let e = s
        .authorize(&Attributes::of(&Method::PATCH, &patch, false))
        .expect_err("patch is not granted");
    assert_eq!(e.code, 403);
    assert_eq!(e.reason, "Forbidden");
    assert_eq!(
        e.message,
        "statefulsets.apps \"z\" is forbidden: User \"system:serviceaccount:camunda:backup\" \
         cannot patch resource \"statefulsets\" in API group \"apps\" in the namespace \"camunda\""
    );
    let status = e.to_status();
    assert_eq!(
        status["details"],
        serde_json::json!({"name": "z", "group": "apps", "kind": "statefulsets"})
    );

    let watch = Attributes::of(&Method::GET, &list, true);
    let e = s.authorize(&watch).expect_err("watch is not granted");
    assert_eq!(
        e.message,
        "statefulsets.apps is forbidden: User \"system:serviceaccount:camunda:backup\" cannot \
         watch resource \"statefulsets\" in API group \"apps\" in the namespace \"camunda\""
    );
    let log = target("", "pods", Some("camunda"), Some("zeebe-0"), Some("log"));
    let e = s
        .authorize(&Attributes::of(&Method::GET, &log, false))
        .expect_err("no pods/log");
    assert!(
        e.message.starts_with("pods \"zeebe-0\" is forbidden: "),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("cannot get resource \"pods/log\" in API group \"\""),
        "{}",
        e.message
    );
    assert_eq!(s.denied().len(), 4);
}

#[test]
fn other_namespaces_are_not_granted() {
    let s = state();
    let other = target("apps", "statefulsets", Some("default"), None, None);
    let e = s
        .authorize(&Attributes::of(&Method::GET, &other, false))
        .expect_err("other ns");
    assert!(
        e.message.contains("in the namespace \"default\""),
        "{}",
        e.message
    );
}

#[test]
fn without_a_policy_everything_passes_and_bad_roles_are_refused() {
    let s = RbacState::default();
    let list = target("apps", "statefulsets", Some("camunda"), None, None);
    assert!(
        s.authorize(&Attributes::of(&Method::DELETE, &list, false))
            .is_ok()
    );
    assert!(!s.enabled());
    assert!(Policy::from_yaml("kind: ServiceAccount\n").is_err());
    assert!(Policy::from_yaml("kind: Role\nmetadata: {name: x}\n").is_err());
    assert!(
        Policy::from_yaml("kind: Role\nmetadata: {name: x, namespace: y}\nrules: 3\n").is_err()
    );
}
