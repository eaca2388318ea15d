//! manifest: prints the ServiceAccount, Role and RoleBinding for a set of [`Need`]s as YAML,
//! in a stable order (rules by API group then resource, verbs in RBAC's usual order), each
//! rule preceded by comments naming the steps that need each of its verbs. One rule per
//! resource, so removing a rule removes exactly one resource's access. It must not decide
//! which calls a plan makes (`walk.rs`, `kubectl_calls.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::walk::Need;

/// RBAC's usual verb order (kubectl's `create role --verb` help); others sort after.
const VERB_ORDER: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// One rule: verbs on one resource of one API group, with the steps behind each verb.
#[derive(Debug, Default)]
pub struct Rule {
    pub group: String,
    pub resource: String,
    /// Verb -> the steps that need it, sorted.
    pub verbs: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Rule {
    /// The verbs in RBAC's usual order.
    pub fn ordered_verbs(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.verbs.keys().copied().collect();
        v.sort_by_key(|verb| {
            VERB_ORDER
                .iter()
                .position(|o| o == verb)
                .unwrap_or(usize::MAX)
        });
        v
    }
}

/// The Role's rules for `needs`, sorted by group and resource.
pub fn rules(needs: &[Need]) -> Vec<Rule> {
    let mut by_resource: BTreeMap<(String, String), Rule> = BTreeMap::new();
    for n in needs {
        let key = (n.call.group.to_string(), n.call.resource_path());
        let rule = by_resource.entry(key.clone()).or_insert_with(|| Rule {
            group: key.0,
            resource: key.1,
            verbs: BTreeMap::new(),
        });
        rule.verbs
            .entry(n.call.verb)
            .or_default()
            .insert(n.by.clone());
    }
    by_resource.into_values().collect()
}

/// The three objects as one YAML stream. `header` lines are printed as comments first.
pub fn yaml(name: &str, namespace: &str, header: &[String], rules: &[Rule]) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "# {line}");
    }
    let meta = format!(
        "metadata:\n  name: {}\n  namespace: {}\n",
        q(name),
        q(namespace)
    );
    let _ = write!(out, "apiVersion: v1\nkind: ServiceAccount\n{meta}---\n");
    let _ = write!(
        out,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n{meta}rules:\n"
    );
    if rules.is_empty() {
        out.push_str("  []\n");
    }
    for r in rules {
        rule_yaml(&mut out, r);
    }
    let _ = write!(
        out,
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n{meta}\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {}\n\
         subjects:\n  - kind: ServiceAccount\n    name: {}\n    namespace: {}\n",
        q(name),
        q(name),
        q(namespace)
    );
    out
}

fn rule_yaml(out: &mut String, r: &Rule) {
    let verbs = r.ordered_verbs();
    for verb in &verbs {
        let steps: Vec<&str> = r.verbs[verb].iter().map(String::as_str).collect();
        comment_wrapped(out, &format!("{verb} {}:", r.resource), &steps);
    }
    let quoted: Vec<String> = verbs.iter().map(|v| q(v)).collect();
    let _ = writeln!(
        out,
        "  - apiGroups: [{}]\n    resources: [{}]\n    verbs: [{}]",
        q(&r.group),
        q(&r.resource),
        quoted.join(", ")
    );
}

/// `  # <head> a, b, c` wrapped at about 100 columns.
fn comment_wrapped(out: &mut String, head: &str, items: &[&str]) {
    let mut line = format!("  # {head}");
    for (i, item) in items.iter().enumerate() {
        let sep = if i + 1 < items.len() { "," } else { "" };
        if line.len() + item.len() + 2 > 100 {
            let _ = writeln!(out, "{line}");
            line = "  #  ".to_string();
        }
        let _ = write!(line, " {item}{sep}");
    }
    let _ = writeln!(out, "{line}");
}

/// A double-quoted YAML scalar.
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::ApiCall;

    fn need(
        resource: &'static str,
        sub: Option<&'static str>,
        verb: &'static str,
        by: &str,
    ) -> Need {
        Need {
            call: ApiCall {
                group: "apps",
                resource,
                subresource: sub,
                verb,
            },
            by: by.into(),
        }
    }

    #[test]
    fn rules_merge_by_resource_in_a_stable_order_with_the_steps_named() {
        let needs = [
            need("statefulsets", Some("scale"), "patch", "r.yaml: stop"),
            need("statefulsets", None, "watch", "r.yaml: rollout"),
            need("statefulsets", None, "get", "r.yaml: stop"),
            need("statefulsets", None, "get", "b.yaml: find"),
            need("deployments", None, "list", "b.yaml: find"),
        ];
        let text = yaml(
            "runbook",
            "camunda",
            &["made by a test".into()],
            &rules(&needs),
        );
        assert!(text.starts_with("# made by a test\napiVersion: v1\nkind: ServiceAccount\n"));
        let role = text.split("---\n").nth(1).expect("role");
        let expected = "rules:\n  # list deployments: b.yaml: find\n  - apiGroups: [\"apps\"]\n    resources: [\"deployments\"]\n    verbs: [\"list\"]\n  # get statefulsets: b.yaml: find, r.yaml: stop\n  # watch statefulsets: r.yaml: rollout\n  - apiGroups: [\"apps\"]\n    resources: [\"statefulsets\"]\n    verbs: [\"get\", \"watch\"]\n  # patch statefulsets/scale: r.yaml: stop\n";
        assert!(role.contains(expected), "{role}");
        assert!(text.contains("kind: RoleBinding"));
        assert!(text.contains("subjects:\n  - kind: ServiceAccount\n    name: \"runbook\"\n    namespace: \"camunda\"\n"));
    }
}
