//! retry_policy: the retry policy a step's attempts follow. A step's own `retry` wins; a
//! kubectl step that declares none and runs an idempotent command gets a default policy,
//! so one transient API-server error (an etcd timeout, a 503) does not fail a `get` or a
//! `scale`. It decides only the policy: whether an error is transient is the executor's
//! classification, and the step runner does the retrying.

use std::time::Duration;

use crate::plan::{Action, RetryPolicy, Step};

/// The policy of an idempotent kubectl step without `retry`: 4 attempts over about 7 s.
pub fn idempotent_kubectl_default() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        initial: Duration::from_secs(1),
        max: Duration::from_secs(8),
        multiplier: 2.0,
        jitter: true,
    }
}

/// The policy `step`'s attempts follow.
pub fn for_step(step: &Step) -> RetryPolicy {
    let declared = step.retry != RetryPolicy::default();
    match &step.action {
        Action::Kubectl(k) if !declared && idempotent_kubectl(&sources(&k.args)) => {
            idempotent_kubectl_default()
        }
        _ => step.retry.clone(),
    }
}

fn sources(args: &[crate::plan::template::Template]) -> Vec<&str> {
    args.iter().map(|t| t.source.as_str()).collect()
}

/// Whether repeating these kubectl arguments leaves the cluster as one success would: reads
/// (`get`, `logs`, `describe`, `rollout status`, ...), setting a value (`scale`, `set env`),
/// and deleting a named object with `--ignore-not-found`.
pub fn idempotent_kubectl(args: &[&str]) -> bool {
    let words: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let flag = |f: &str| {
        args.iter()
            .any(|a| *a == f || a.starts_with(&format!("{f}=")))
    };
    match words.as_slice() {
        [
            "get" | "logs" | "describe" | "scale" | "version" | "api-resources" | "top",
            ..,
        ] => true,
        ["rollout", "status", ..] | ["set", "env", ..] | ["auth", "can-i", ..] => true,
        // `delete kind/name` or `delete kind name`: a named object, not a selector or --all.
        ["delete", rest @ ..] => {
            let named = match rest {
                [one] => one.contains('/'),
                [_, _, ..] => true,
                [] => false,
            };
            flag("--ignore-not-found")
                && named
                && !flag("--all")
                && !flag("-l")
                && !flag("--selector")
                && !args.iter().any(|a| a.starts_with("-l"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::idempotent_kubectl;

    #[test]
    fn idempotent_kubectl_commands() {
        for args in [
            &["get", "statefulset", "x", "-o", "json"][..],
            &["scale", "deployment/x", "--replicas=0"],
            &["set", "env", "deployment/x", "A=1"],
            &["rollout", "status", "statefulset/x"],
            &["logs", "pod/x"],
            &["delete", "pvc", "data-0", "--ignore-not-found"],
            &["delete", "pvc/data-0", "--ignore-not-found=true"],
        ] {
            assert!(idempotent_kubectl(args), "{args:?}");
        }
        for args in [
            &["delete", "pvc", "data-0"][..],
            &["delete", "pvc", "-l", "app=x", "--ignore-not-found"],
            &["delete", "pvc", "--all", "--ignore-not-found"],
            &["create", "secret", "generic", "x"],
            &["apply", "-f", "-"],
            &["exec", "pod/x", "--", "rm", "-rf", "/"],
        ] {
            assert!(!idempotent_kubectl(args), "{args:?}");
        }
    }
}
