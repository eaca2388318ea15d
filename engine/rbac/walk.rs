//! walk: every kubectl command line a plan can run, and the API calls each makes. It visits
//! every step of the main graph and of `finally` whatever its `when` (a Role must cover the
//! failure paths too), each step's `undo`, `before_retry` (`find` and the clean-up) and wait
//! probe, and every HTTP target reached through `kubectl port-forward` (the executor starts
//! that forward itself, `executor/port_forward.rs`). Arguments are rendered with the run's
//! params; what only a run knows (step outputs, `item`, `leftover`) is kept as the argument's
//! literal head. It must not decide how a call maps to RBAC (`kubectl_calls.rs`) or print.

use serde_json::{Value as Json, json};

use super::ApiCall;
use super::kubectl_calls::{Arg, api_calls, port_forward_calls};
use crate::plan::template::Template;
use crate::plan::{Action, Plan, Step, TargetKind};

/// One API call and who makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub call: ApiCall,
    /// `<plan file name>: <step id>` (with ` (undo)`, ` (before_retry)`, ...), or
    /// `<plan file name>: target <name> (port_forward)`.
    pub by: String,
}

/// What a plan needs: the calls, the namespaces its kubectl targets render to, and every
/// command line that could not be mapped (each a full sentence naming the step).
#[derive(Debug, Default)]
pub struct PlanNeeds {
    pub needs: Vec<Need>,
    pub namespaces: Vec<String>,
    pub errors: Vec<String>,
}

/// Template roots a run knows before its first step.
const STATIC_ROOTS: &[&str] = &["params", "targets", "run"];

/// Walks `plan` with the resolved param `values`.
pub fn plan_needs(plan: &Plan, values: &serde_json::Map<String, Json>) -> PlanNeeds {
    let file = plan
        .source
        .name()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut scope = json!({
        "params": values,
        "run": {"id": "", "started_at": "", "plan": plan.name, "dry_run": true},
    });
    scope["targets"] =
        crate::run::rendered_request::target_scope(plan, &scope).unwrap_or(Json::Null);
    let mut w = Walker {
        plan,
        scope,
        file,
        out: PlanNeeds::default(),
        forwarded: Vec::new(),
    };
    w.namespaces();
    for step in &plan.steps {
        w.step(step, "");
    }
    for step in &plan.finally {
        w.step(step, " (finally)");
    }
    w.out
}

struct Walker<'a> {
    plan: &'a Plan,
    scope: Json,
    file: String,
    out: PlanNeeds,
    /// HTTP targets whose port-forward is already counted.
    forwarded: Vec<String>,
}

impl Walker<'_> {
    fn namespaces(&mut self) {
        for t in &self.plan.targets {
            if let TargetKind::Kubectl(k) = &t.kind {
                let ns = k
                    .namespace
                    .as_ref()
                    .and_then(|n| n.render(&self.scope).ok())
                    .unwrap_or_default();
                if !self.out.namespaces.contains(&ns) {
                    self.out.namespaces.push(ns);
                }
            }
        }
    }

    fn step(&mut self, step: &Step, suffix: &str) {
        let by = |what: &str| format!("{}: {}{what}{suffix}", self.file, step.id);
        let mut actions = vec![(&step.action, by(""))];
        if let Some(u) = &step.undo {
            actions.push((&u.action, by(" (undo)")));
        }
        if let Some(b) = &step.before_retry {
            if let Some(find) = &b.find {
                actions.push((find, by(" (before_retry find)")));
            }
            actions.push((&b.action, by(" (before_retry)")));
        }
        for (action, label) in actions {
            self.action(action, &label);
        }
    }

    fn action(&mut self, action: &Action, by: &str) {
        match action {
            Action::Kubectl(k) => {
                let args: Vec<Arg> = k.args.iter().map(|t| self.arg(t)).collect();
                self.add(api_calls(&args), by, || {
                    let shown: Vec<String> = k.args.iter().map(|a| a.source.clone()).collect();
                    format!("kubectl {}", shown.join(" "))
                });
            }
            Action::Http(h) => self.port_forward(&h.target),
            Action::Wait(w) => self.action(&w.probe, by),
            // An external executor is not kubectl: what it does is its own business.
            Action::Exec(_) => {}
        }
    }

    /// The forward an HTTP target with `port_forward` enabled (for these params) starts.
    fn port_forward(&mut self, target: &str) {
        let Some(TargetKind::Http(h)) = self.plan.target(target).map(|t| &t.kind) else {
            return;
        };
        let Some(pf) = &h.port_forward else {
            return;
        };
        let enabled = pf.enabled.render(&self.scope).unwrap_or_default();
        if enabled.trim() != "true" || self.forwarded.iter().any(|t| t == target) {
            return;
        }
        self.forwarded.push(target.to_string());
        let resource = pf.resource.render(&self.scope).unwrap_or_default();
        // Started once per target, by whichever step uses it first: name the target.
        let by = format!("{}: target {target} (port_forward)", self.file);
        self.add(port_forward_calls(&resource), &by, || {
            format!("kubectl port-forward {}", pf.resource.source)
        });
    }

    fn add(
        &mut self,
        calls: Result<Vec<ApiCall>, String>,
        by: &str,
        command: impl FnOnce() -> String,
    ) {
        match calls {
            Ok(calls) => self.out.needs.extend(calls.into_iter().map(|call| Need {
                call,
                by: by.to_string(),
            })),
            Err(e) => self.out.errors.push(format!("{by}: `{}`: {e}", command())),
        }
    }

    /// Renders an argument; one reading run-time values keeps only its literal head.
    fn arg(&self, t: &Template) -> Arg {
        let runtime = t.refs.iter().any(|r| {
            r.path
                .first()
                .is_none_or(|root| !STATIC_ROOTS.contains(&root.as_str()))
        });
        if runtime {
            let head = t.source.split("{{").next().unwrap_or_default();
            Arg::runtime(head)
        } else {
            Arg::literal(&t.render(&self.scope).unwrap_or_default())
        }
    }
}
