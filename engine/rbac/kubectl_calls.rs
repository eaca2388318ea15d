//! kubectl_calls: which API requests one kubectl command line makes, as RBAC verbs on
//! resources. Each mapping was read off the real kubectl (1.32, `-v=6`) against the
//! simulator's API server, e.g. `scale deployment/x` is `GET deployments/x` then `PATCH
//! deployments/x/scale`, `rollout status` and `delete` (which waits by default) also list and
//! watch, `logs` reads the pod before `pods/log`. `exec`, which the simulator cannot serve,
//! follows the Kubernetes RBAC documentation (read the pod, `create` on `pods/exec`); the
//! `create` on `pods/portforward` is also what the API server checks for the WebSocket GET
//! kubectl 1.31+ tries first. A verb or resource type it does not know, or
//! one known only at run time, is an error naming it: guessing would print a Role that is
//! either too wide or fails at 3 a.m. It does not render templates (`walk.rs` does).

use super::ApiCall;

/// One argument of a kubectl command line, rendered before the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// The rendered text, or, for one that reads step outputs or `item`, its literal head
    /// (`statefulset/` of `statefulset/{{steps.x.outputs.name}}`).
    pub text: String,
    /// Whether part of it is known only at run time (`text` is then only the head).
    pub runtime: bool,
}

impl Arg {
    /// An argument known entirely before the run.
    pub fn literal(text: &str) -> Self {
        Arg {
            text: text.to_string(),
            runtime: false,
        }
    }

    /// An argument whose known head is `head`, the rest coming at run time.
    pub fn runtime(head: &str) -> Self {
        Arg {
            text: head.to_string(),
            runtime: true,
        }
    }

    fn is_known(&self) -> bool {
        !self.runtime
    }

    fn known_text(&self) -> &str {
        &self.text
    }
}

/// A namespaced resource type kubectl can name.
struct Kind {
    group: &'static str,
    plural: &'static str,
    aliases: &'static [&'static str],
}

const KINDS: &[Kind] = &[
    kind("", "pods", &["pod", "po"]),
    kind("", "services", &["service", "svc"]),
    kind(
        "",
        "persistentvolumeclaims",
        &["persistentvolumeclaim", "pvc"],
    ),
    kind("", "configmaps", &["configmap", "cm"]),
    kind("", "secrets", &["secret"]),
    kind("", "endpoints", &["ep"]),
    kind("", "events", &["event", "ev"]),
    kind("", "serviceaccounts", &["serviceaccount", "sa"]),
    kind("apps", "statefulsets", &["statefulset", "sts"]),
    kind("apps", "deployments", &["deployment", "deploy"]),
    kind("apps", "replicasets", &["replicaset", "rs"]),
    kind("apps", "daemonsets", &["daemonset", "ds"]),
    kind("batch", "jobs", &["job"]),
    kind("batch", "cronjobs", &["cronjob", "cj"]),
    kind("coordination.k8s.io", "leases", &["lease"]),
];

const fn kind(group: &'static str, plural: &'static str, aliases: &'static [&'static str]) -> Kind {
    Kind {
        group,
        plural,
        aliases,
    }
}

/// Cluster-scoped types: a Role cannot grant them.
const CLUSTER_SCOPED: &[&str] = &[
    "namespaces",
    "namespace",
    "ns",
    "nodes",
    "node",
    "no",
    "persistentvolumes",
    "persistentvolume",
    "pv",
    "storageclasses",
    "storageclass",
    "sc",
    "clusterroles",
    "clusterrolebindings",
    "customresourcedefinitions",
    "crd",
    "crds",
];

/// Flags that take a separate value (`-l x`); `--flag=value` needs no entry.
const VALUE_FLAGS: &[&str] = &[
    "-l",
    "--selector",
    "-o",
    "--output",
    "-c",
    "--container",
    "--context",
    "--kubeconfig",
    "--cluster",
    "--user",
    "-s",
    "--server",
    "--field-selector",
    "--timeout",
    "--request-timeout",
    "--replicas",
    "--current-replicas",
    "--resource-version",
    "--for",
    "--since",
    "--since-time",
    "--tail",
    "--limit-bytes",
    "--sort-by",
    "--template",
    "--grace-period",
    "--cascade",
    "--chunk-size",
    "--field-manager",
    "-L",
    "--label-columns",
    "-e",
    "--env",
    "--from",
    "--prefix",
    "--keys",
    "--type",
    "--address",
    "--pod-running-timeout",
];

/// The command line split into positionals and the flags that change the calls.
#[derive(Default)]
struct Parsed<'a> {
    positionals: Vec<&'a Arg>,
    selector: bool,
    watch: bool,
    no_wait: bool,
    all: bool,
}

/// The API calls of `kubectl <args>` (`args` without the target's `--context`, `--namespace`
/// and `--kubeconfig`, which `walk.rs` leaves out).
pub fn api_calls(args: &[Arg]) -> Result<Vec<ApiCall>, String> {
    let verb = args.first().ok_or("no kubectl verb")?;
    if !verb.is_known() || verb.text.starts_with('-') {
        return Err(format!(
            "the kubectl verb `{}` is known only at run time; write the verb literally",
            verb.text
        ));
    }
    let p = parse(verb.text.as_str(), &args[1..])?;
    let rest = &p.positionals;
    match verb.text.as_str() {
        "get" => get(&p),
        "scale" => each_resource(rest, |k, named| {
            let how = if named && !p.selector && !p.all {
                "get"
            } else {
                "list"
            };
            Ok(vec![on(k, how), sub(k, "scale", "patch")])
        }),
        "rollout" => match rest.first().map(|a| a.text.as_str()) {
            Some("status") => each_resource(&rest[1..], |k, _| {
                Ok(vec![on(k, "get"), on(k, "list"), on(k, "watch")])
            }),
            other => Err(format!(
                "`kubectl rollout {}` is not mapped to API calls yet (only `rollout status` is)",
                other.unwrap_or("")
            )),
        },
        "logs" => logs(rest, p.selector),
        "delete" => each_resource(rest, |k, named| {
            let mut calls = vec![on(k, "delete")];
            if !named || p.selector || p.all {
                calls.push(on(k, "list"));
            }
            // `kubectl delete` waits for the object to go (`--wait=true` by default).
            if !p.no_wait {
                calls.extend([on(k, "get"), on(k, "list"), on(k, "watch")]);
            }
            Ok(calls)
        }),
        "set" => match rest.first().map(|a| a.text.as_str()) {
            Some("env" | "image" | "resources") => read_then_patch(&rest[1..], p.selector),
            other => Err(format!(
                "`kubectl set {}` is not mapped to API calls yet",
                other.unwrap_or("")
            )),
        },
        "annotate" | "label" | "patch" => read_then_patch(rest, p.selector),
        "wait" => each_resource(rest, |k, _| {
            Ok(vec![on(k, "get"), on(k, "list"), on(k, "watch")])
        }),
        "port-forward" => {
            let first = rest
                .first()
                .ok_or("`kubectl port-forward` names no resource")?;
            reach_pod(first, "portforward")
        }
        "exec" => {
            let first = rest.first().ok_or("`kubectl exec` names no pod")?;
            reach_pod(first, "exec")
        }
        // Discovery only: every authenticated user may read it.
        "version" | "api-resources" | "api-versions" => Ok(Vec::new()),
        other => Err(format!(
            "`kubectl {other}` is not mapped to API calls (known: get, scale, rollout status, \
             logs, delete, set env|image|resources, annotate, label, patch, wait, port-forward, \
             exec, version)"
        )),
    }
}

/// The calls of `kubectl port-forward RESOURCE` (also what a target with `port_forward`
/// starts): the named object, the pods it selects, and the forward itself. kubectl 1.31+
/// first tries a WebSocket upgrade (a GET the API server authorizes as `create`) and falls
/// back to SPDY (a POST, `create`), so `create` alone covers both.
pub fn port_forward_calls(resource: &str) -> Result<Vec<ApiCall>, String> {
    reach_pod(&Arg::literal(resource), "portforward")
}

/// Finding the pod `a` names, then `create` on its `subresource` (`portforward`, `exec`).
fn reach_pod(a: &Arg, subresource: &'static str) -> Result<Vec<ApiCall>, String> {
    let k = pod_or_workload(a)?;
    let mut calls = workload_pods(k);
    calls.push(pods_sub(subresource, "create"));
    Ok(calls)
}

fn parse<'a>(verb: &str, args: &'a [Arg]) -> Result<Parsed<'a>, String> {
    let mut p = Parsed::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let t = a.text.as_str();
        if !t.starts_with('-') || t == "-" {
            p.positionals.push(a);
            continue;
        }
        let (name, inline) = match t.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (t, None),
        };
        match name {
            "-n" | "--namespace" | "-A" | "--all-namespaces" => {
                return Err(format!(
                    "`{t}`: a step that picks its own namespace cannot be covered by one Role; \
                     set the namespace on the kubectl target instead"
                ));
            }
            "-f" | "--filename" | "-k" | "--kustomize" if verb != "logs" => {
                return Err(format!(
                    "`{t}`: the resources of a file are not known before the run; name them \
                     as TYPE/NAME"
                ));
            }
            "-l" | "--selector" => p.selector = true,
            "-w" | "--watch" | "--watch-only" => p.watch = true,
            "--all" => p.all = true,
            "--wait" => p.no_wait = inline == Some("false"),
            _ => {}
        }
        let takes_value = VALUE_FLAGS.contains(&name) || (verb == "patch" && name == "-p");
        if inline.is_none() && takes_value {
            it.next();
        }
    }
    Ok(p)
}

fn get(p: &Parsed) -> Result<Vec<ApiCall>, String> {
    each_resource(&p.positionals, |k, named| {
        let mut calls = vec![on(k, if named && !p.selector { "get" } else { "list" })];
        if p.watch {
            calls.extend([on(k, "list"), on(k, "watch")]);
        }
        Ok(calls)
    })
}

/// `set env`, `annotate`, `label`, `patch`: kubectl reads the object, then patches it.
fn read_then_patch(rest: &[&Arg], selector: bool) -> Result<Vec<ApiCall>, String> {
    let first = rest.first().ok_or("the command names no resource")?;
    let r = resource_of(first, rest.len() > 1)?;
    let read = if selector { "list" } else { "get" };
    Ok(vec![on(r.kind, read), on(r.kind, "patch")])
}

/// `logs POD`, `logs TYPE/NAME` (kubectl picks a pod of the workload), `logs -l SELECTOR`.
fn logs(rest: &[&Arg], selector: bool) -> Result<Vec<ApiCall>, String> {
    let mut calls = if selector {
        vec![on(pods(), "list")]
    } else {
        let first = rest.first().ok_or("`kubectl logs` names no pod")?;
        workload_pods(pod_or_workload(first)?)
    };
    calls.push(pods_sub("log", "get"));
    Ok(calls)
}

/// A resource as kubectl names it: `TYPE/NAME`, or `TYPE` (then NAMEs follow).
struct Resource {
    kind: &'static Kind,
    named: bool,
}

/// Every resource of `get`/`delete`/`scale`/...: `TYPE/NAME...` or `TYPE[,TYPE] [NAME...]`.
fn each_resource(
    rest: &[&Arg],
    calls: impl Fn(&'static Kind, bool) -> Result<Vec<ApiCall>, String>,
) -> Result<Vec<ApiCall>, String> {
    let first = rest.first().ok_or("the command names no resource type")?;
    let mut out = Vec::new();
    if first.known_text().contains('/') || (first.runtime && !first.text.is_empty()) {
        for a in rest {
            let r = resource_of(a, false)?;
            out.extend(calls(r.kind, r.named)?);
        }
    } else {
        let named = rest.len() > 1;
        for t in known_type(first)?.split(',') {
            out.extend(calls(lookup(t)?, named)?);
        }
    }
    Ok(out)
}

/// `TYPE/NAME`, or `TYPE` (with `named_after`: names follow as separate arguments).
fn resource_of(a: &Arg, named_after: bool) -> Result<Resource, String> {
    let known = a.known_text();
    match known.split_once('/') {
        Some((t, _)) => Ok(Resource {
            kind: lookup(t)?,
            named: true,
        }),
        None if a.is_known() => Ok(Resource {
            kind: lookup(&a.text)?,
            named: named_after,
        }),
        None => Err(unresolved(a)),
    }
}

fn known_type(a: &Arg) -> Result<&str, String> {
    if a.is_known() && !a.text.is_empty() {
        Ok(&a.text)
    } else {
        Err(unresolved(a))
    }
}

fn unresolved(a: &Arg) -> String {
    format!(
        "the resource type of `{}` is known only at run time; write it literally \
         (`TYPE/{{{{...}}}}`) so the Role can name it",
        a.known_text()
    )
}

/// A pod name, `pod/NAME`, or a workload (`deployment/x`, `service/x`, ...) kubectl picks a
/// pod of.
fn pod_or_workload(a: &Arg) -> Result<&'static Kind, String> {
    match a.known_text().split_once('/') {
        Some((t, _)) => lookup(t),
        // A bare name is a pod; so is a name wholly known only at run time (`logs
        // {{item}}`): kubectl reads a bare argument as a pod name.
        None if a.is_known() || a.text.is_empty() => Ok(pods()),
        None => Err(unresolved(a)),
    }
}

/// What kubectl reads to find the pod of `k`: the pod itself, or the workload and its pods.
fn workload_pods(k: &'static Kind) -> Vec<ApiCall> {
    if k.plural == "pods" {
        vec![on(k, "get")]
    } else {
        vec![on(k, "get"), on(pods(), "list"), on(pods(), "get")]
    }
}

fn lookup(t: &str) -> Result<&'static Kind, String> {
    let lower = t.to_ascii_lowercase();
    // `statefulsets.apps`, `deployments.v1.apps`: the type before the first dot.
    let (base, group) = match lower.split_once('.') {
        Some((b, g)) => (b, Some(g.rsplit('.').next().unwrap_or(g).to_string())),
        None => (lower.as_str(), None),
    };
    if CLUSTER_SCOPED.contains(&base) {
        return Err(format!(
            "`{t}` is cluster-scoped: a namespaced Role cannot grant it (a ClusterRole would; \
             runbook rbac prints only a Role)"
        ));
    }
    KINDS
        .iter()
        .find(|k| k.plural == base || k.aliases.contains(&base))
        .filter(|k| group.as_deref().is_none_or(|g| g == k.group || g == "v1"))
        .ok_or_else(|| format!("`{t}` is not a resource type runbook rbac knows"))
}

fn pods() -> &'static Kind {
    &KINDS[0]
}

fn on(k: &'static Kind, verb: &'static str) -> ApiCall {
    ApiCall {
        group: k.group,
        resource: k.plural,
        subresource: None,
        verb,
    }
}

fn sub(k: &'static Kind, subresource: &'static str, verb: &'static str) -> ApiCall {
    ApiCall {
        subresource: Some(subresource),
        ..on(k, verb)
    }
}

fn pods_sub(subresource: &'static str, verb: &'static str) -> ApiCall {
    sub(pods(), subresource, verb)
}

#[cfg(test)]
#[path = "kubectl_calls_tests.rs"]
mod tests;
