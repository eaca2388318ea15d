//! RBAC mode: when a Role is installed ([`super::KubeHandle::set_rbac`]), every resource
//! request is authorized as the real API server's RBAC authorizer would for a ServiceAccount
//! bound to that Role alone: the verb from the HTTP method (`GET` a name: get; a collection:
//! list, or watch with `watch=true`; `POST` create, `PUT` update, `PATCH` patch, `DELETE`
//! delete; a `GET` upgrade of `pods/portforward|exec|attach` is create, as since Kubernetes
//! 1.31), the API group, resource and subresource, the namespace (only the Role's) and
//! `resourceNames`. A denied request gets the real 403 `Status`
//! (`k8s.io/apiserver/.../responsewriters/errors.go` `forbiddenMessage` wrapped by
//! `apierrors.NewForbidden`). Discovery (`/version`, `/api`, `/apis/...` documents) stays open,
//! as `system:discovery` grants it to every authenticated user. It owns the policy and the
//! decision; it must not route or serve requests.

use std::sync::Mutex;

use axum::http::Method;
use serde_json::Value;

use super::handlers::Target;
use super::status::ApiError;

/// A Role, as the stand-in enforces it.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `system:serviceaccount:<ns>:<name>`: who the requests come from (for messages).
    pub user: String,
    /// The Role's namespace: nothing outside it is granted.
    pub namespace: String,
    pub rules: Vec<PolicyRule>,
}

/// One entry of a Role's `rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub resource_names: Vec<String>,
}

impl Policy {
    /// Reads a Role from YAML: a lone `kind: Role`, or a stream (`runbook rbac` output) whose
    /// Role is used and whose RoleBinding's first ServiceAccount subject names the user.
    pub fn from_yaml(text: &str) -> Result<Policy, String> {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(text).map_err(|e| format!("not YAML: {e}"))?;
        let kind = |d: &Value, k: &str| d.get("kind").and_then(Value::as_str) == Some(k);
        let role = docs
            .iter()
            .find(|d| kind(d, "Role"))
            .ok_or("no `kind: Role` document")?;
        let meta = |d: &Value, f: &str| {
            d.pointer(&format!("/metadata/{f}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let namespace = meta(role, "namespace");
        if namespace.is_empty() {
            return Err("the Role has no metadata.namespace".into());
        }
        let account = docs
            .iter()
            .filter(|d| kind(d, "RoleBinding"))
            .filter_map(|d| d.get("subjects").and_then(Value::as_array))
            .flatten()
            .find(|s| s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
            .and_then(|s| s.get("name").and_then(Value::as_str))
            .map_or_else(|| meta(role, "name"), str::to_string);
        let rules = role
            .get("rules")
            .and_then(Value::as_array)
            .map(|rules| rules.iter().map(rule).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .unwrap_or_default();
        Ok(Policy {
            user: format!("system:serviceaccount:{namespace}:{account}"),
            namespace,
            rules,
        })
    }

    /// Whether the Role grants `a`.
    fn allows(&self, a: &Attributes) -> bool {
        a.namespace.as_deref() == Some(self.namespace.as_str())
            && self.rules.iter().any(|r| r.matches(a))
    }
}

fn rule(v: &Value) -> Result<PolicyRule, String> {
    let list = |key: &str| -> Result<Vec<String>, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("`{key}` holds a non-string"))
                })
                .collect(),
            Some(_) => Err(format!("`{key}` of a rule is not a list")),
        }
    };
    Ok(PolicyRule {
        api_groups: list("apiGroups")?,
        resources: list("resources")?,
        verbs: list("verbs")?,
        resource_names: list("resourceNames")?,
    })
}

impl PolicyRule {
    /// `rbac/v1` `RuleAllows` (plugin/pkg/auth/authorizer/rbac/rbac.go).
    fn matches(&self, a: &Attributes) -> bool {
        let any = |list: &[String], want: &str| list.iter().any(|x| x == "*" || x == want);
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || *r == a.resource_path()
                || a.subresource.is_some_and(|s| *r == format!("*/{s}"))
        });
        let name_ok = self.resource_names.is_empty()
            || a.name
                .as_deref()
                .is_some_and(|n| self.resource_names.iter().any(|x| x == n));
        any(&self.verbs, a.verb) && any(&self.api_groups, a.group) && resource_ok && name_ok
    }
}

/// What RBAC looks at in one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attributes {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Attributes {
    fn resource_path(&self) -> String {
        match self.subresource {
            Some(s) => format!("{}/{s}", self.resource),
            None => self.resource.to_string(),
        }
    }

    /// The request's attributes, as the API server's `RequestInfoFactory` derives them.
    pub fn of(method: &Method, t: &Target, watch: bool) -> Self {
        let subresource = t
            .subresource
            .as_deref()
            .and_then(|s| t.resource.subresources.iter().find(|x| x.name == s))
            .map(|s| s.name);
        let streaming = matches!(subresource, Some("portforward" | "exec" | "attach"));
        let verb = match (method.as_str(), t.name.is_some()) {
            ("GET", _) if streaming => "create",
            ("GET", true) => "get",
            ("GET", false) if watch => "watch",
            ("GET", false) => "list",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", true) => "delete",
            ("DELETE", false) => "deletecollection",
            _ => "unknown",
        };
        Attributes {
            verb,
            group: t.resource.group,
            resource: t.resource.plural,
            subresource,
            namespace: t.namespace.clone(),
            name: t.name.clone(),
        }
    }
}

/// The installed policy and what it denied so far.
#[derive(Default)]
pub(crate) struct RbacState {
    policy: Mutex<Option<Policy>>,
    denied: Mutex<Vec<String>>,
}

impl RbacState {
    pub fn set(&self, policy: Option<Policy>) {
        *self.policy.lock().unwrap_or_else(|p| p.into_inner()) = policy;
        self.denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The messages of every denied request since the policy was set, in order.
    pub fn denied(&self) -> Vec<String> {
        self.denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn enabled(&self) -> bool {
        self.policy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// `Ok` when no policy is set or it grants the request; else the 403 to answer.
    pub fn authorize(&self, a: &Attributes) -> Result<(), ApiError> {
        let guard = self.policy.lock().unwrap_or_else(|p| p.into_inner());
        let Some(policy) = guard.as_ref() else {
            return Ok(());
        };
        if policy.allows(a) {
            return Ok(());
        }
        let error = forbidden(&policy.user, a);
        drop(guard);
        self.denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(error.message.clone());
        Err(error)
    }
}

/// The API server's 403 for `a`.
fn forbidden(user: &str, a: &Attributes) -> ApiError {
    let reason = match &a.namespace {
        Some(ns) => format!(
            "User \"{user}\" cannot {} resource \"{}\" in API group \"{}\" in the namespace \"{ns}\"",
            a.verb,
            a.resource_path(),
            a.group
        ),
        None => format!(
            "User \"{user}\" cannot {} resource \"{}\" in API group \"{}\" at the cluster scope",
            a.verb,
            a.resource_path(),
            a.group
        ),
    };
    let qualified = if a.group.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}.{}", a.resource, a.group)
    };
    let name = a.name.clone().unwrap_or_default();
    let message = if name.is_empty() {
        format!("{qualified} is forbidden: {reason}")
    } else {
        format!("{qualified} \"{name}\" is forbidden: {reason}")
    };
    ApiError::forbidden(message, a.group, a.resource, &name)
}

#[cfg(test)]
#[path = "tests/rbac.rs"]
mod tests;
