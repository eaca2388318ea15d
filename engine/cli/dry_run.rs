//! dry_run: `runbook plan`. Renders every step, in execution order, into the exact request or
//! command it would send, with secrets as `***` and values that exist only at run time as
//! `<steps.X.outputs.Y>`. It sends nothing and starts no process.

use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use crate::cli::request_view::RequestView;
use crate::plan::graph::{PlanGraphs, StepGraph};
use crate::plan::jq::JqVars;
use crate::plan::{Action, Plan, Step, TargetKind};
use crate::run::inputs::ResolvedParams;
use crate::run::rendered_request::{render, target_scope};

/// The whole dry run, as printed with `--format json`.
#[derive(Serialize)]
pub struct DryRun {
    pub plan: String,
    pub file: String,
    pub params: Map<String, Json>,
    pub minted: Vec<String>,
    /// HTTP targets with `insecure: true` (TLS certificates not verified).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub insecure_targets: Vec<String>,
    pub steps: Vec<DryStep>,
    pub finally: Vec<DryStep>,
}

#[derive(Serialize)]
pub struct DryStep {
    pub order: usize,
    pub stage: usize,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    pub destructive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_each: Option<String>,
    /// At most this many items at once (`None`: the run's `--max-parallel`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<usize>,
    pub items: Option<Vec<Json>>,
    pub requests: Vec<RequestView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub retry: Json,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    pub outputs: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<Vec<RequestView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Builds the dry run of `plan` with resolved params.
pub fn dry_run(plan: &Plan, graphs: &PlanGraphs, params: &ResolvedParams) -> DryRun {
    let scope = base_scope(plan, params);
    let mut order = 0;
    let mut steps_of = |steps: &[Step], g: &StepGraph| {
        g.order
            .iter()
            .map(|&i| {
                order += 1;
                dry_step(plan, &steps[i], order, g.stage[i] + 1, &scope)
            })
            .collect::<Vec<_>>()
    };
    let steps = steps_of(&plan.steps, &graphs.main);
    let finally = steps_of(&plan.finally, &graphs.finally);
    DryRun {
        plan: plan.name.clone(),
        file: plan.source.name().to_string(),
        params: params.masked(),
        minted: params.minted.clone(),
        insecure_targets: insecure_targets(plan),
        steps,
        finally,
    }
}

/// HTTP targets that do not verify TLS certificates (`insecure: true`).
pub fn insecure_targets(plan: &Plan) -> Vec<String> {
    plan.targets
        .iter()
        .filter(|t| matches!(&t.kind, TargetKind::Http(h) if h.insecure))
        .map(|t| t.name.clone())
        .collect()
}

/// The warning a dry run and a run print for each of [`insecure_targets`].
pub fn insecure_warning(target: &str) -> String {
    format!(
        "WARNING: target `{target}` does not verify TLS certificates (`insecure: true`): anyone on the network path can read and change its traffic, credentials included; give it `ca_file` instead"
    )
}

/// The scope of a dry run: params with secrets masked, placeholders for step outputs.
fn base_scope(plan: &Plan, params: &ResolvedParams) -> Json {
    let steps: Map<String, Json> = plan
        .steps
        .iter()
        .chain(&plan.finally)
        .map(|s| {
            let outputs: Map<String, Json> = s
                .outputs
                .iter()
                .map(|o| {
                    (
                        o.name.clone(),
                        Json::String(format!("<steps.{}.outputs.{}>", s.id, o.name)),
                    )
                })
                .collect();
            (s.id.clone(), json!({ "outputs": outputs }))
        })
        .collect();
    let mut scope = json!({
        "params": params.masked(),
        "steps": steps,
        "run": {"id": "<run.id>", "started_at": "<run.started_at>", "plan": plan.name, "dry_run": true},
    });
    let targets = target_scope(plan, &scope).unwrap_or(Json::Null);
    scope["targets"] = targets;
    scope
}

fn dry_step(plan: &Plan, step: &Step, order: usize, stage: usize, scope: &Json) -> DryStep {
    let mut error = None;
    let items = step.for_each.as_ref().and_then(|f| static_items(f, scope));
    let item_scopes: Vec<Json> = match (&step.for_each, &items) {
        (None, _) => vec![scope.clone()],
        (Some(_), Some(list)) => list.iter().map(|i| with_item(scope, i.clone())).collect(),
        (Some(f), None) => vec![with_item(scope, item_placeholder(step, &f.source))],
    };
    let mut requests = Vec::new();
    let mut undo = step.undo.as_ref().map(|_| Vec::new());
    for s in &item_scopes {
        match render(plan, &step.action, s) {
            Ok(r) => requests.push(RequestView::of(&r)),
            Err(e) => error = Some(e.to_string()),
        }
        if let (Some(u), Some(list)) = (&step.undo, undo.as_mut()) {
            match render(plan, &u.action, s) {
                Ok(r) => list.push(RequestView::of(&r)),
                Err(e) => error = Some(e.to_string()),
            }
        }
    }
    DryStep {
        order,
        stage,
        id: step.id.clone(),
        description: step.description.clone(),
        needs: step.needs.iter().map(|(n, _)| n.clone()).collect(),
        when: step.when.as_ref().map(|w| w.source.clone()),
        destructive: step.destructive,
        for_each: step.for_each.as_ref().map(|f| f.source.clone()),
        parallelism: step.parallelism,
        items,
        requests,
        wait: match &step.action {
            Action::Wait(w) => Some(json!({
                "until": w.until.source, "fail_if": w.fail_if.as_ref().map(|f| &f.source),
                "interval": crate::plan::duration::format(w.interval), "max_interval": crate::plan::duration::format(w.max_interval),
                "timeout": w.timeout.as_ref().map(|t| t.describe(&scope["params"])),
            })),
            _ => None,
        },
        check: step.check.as_ref().map(|c| c.source.clone()),
        version: step
            .version
            .as_ref()
            .map(|v| format!("{} {} (from {})", v.app, v.text, v.from.source)),
        retry: json!({"attempts": step.retry.attempts, "initial": crate::plan::duration::format(step.retry.initial), "max": crate::plan::duration::format(step.retry.max), "multiplier": step.retry.multiplier, "jitter": step.retry.jitter}),
        timeout: step.timeout.as_ref().map(|t| t.describe(&scope["params"])),
        outputs: step
            .outputs
            .iter()
            .map(|o| (o.name.clone(), o.jq.source.clone()))
            .collect(),
        undo,
        error,
    }
}

fn with_item(scope: &Json, item: Json) -> Json {
    let mut s = scope.clone();
    s["item"] = item;
    s
}

/// The item of a `for_each` known only at run time: `{{item}}` shows `<item of SOURCE>` and
/// `{{item.name}}` shows `<item.name of SOURCE>` (SOURCE is the `for_each` expression), so the
/// reader sees where the value comes from instead of an empty string.
fn item_placeholder(step: &Step, source: &str) -> Json {
    let mut item = Json::String(format!("<item of {source}>"));
    let actions = std::iter::once(&step.action).chain(step.undo.as_ref().map(|u| &u.action));
    for r in actions.flat_map(|a| a.templates()).flat_map(|t| &t.refs) {
        let [head, fields @ ..] = r.path.as_slice() else {
            continue;
        };
        if head != "item" || fields.is_empty() {
            continue;
        }
        if !item.is_object() {
            item = json!({});
        }
        let mut at = &mut item;
        for (n, field) in fields.iter().enumerate() {
            if n + 1 == fields.len() {
                if at.get(field).is_none_or(|v| !v.is_object()) {
                    at[field.as_str()] =
                        Json::String(format!("<item.{} of {source}>", fields.join(".")));
                }
            } else {
                if at.get(field).is_none_or(|v| !v.is_object()) {
                    at[field.as_str()] = json!({});
                }
                at = &mut at[field.as_str()];
            }
        }
    }
    item
}

/// The items of a `for_each` that depends only on params (else they exist only at run time).
fn static_items(f: &crate::plan::jq::Jq, scope: &Json) -> Option<Vec<Json>> {
    if f.source.contains("$steps") || f.source.contains("$effects") {
        return None;
    }
    let null = Json::Null;
    let vars = JqVars {
        params: &scope["params"],
        steps: &null,
        run: &scope["run"],
        item: &null,
        targets: &scope["targets"],
        effects: &null,
    };
    match f.eval(scope, &vars) {
        Ok(Json::Array(items)) => Some(items),
        _ => None,
    }
}

/// The human-readable dry run.
pub fn text(d: &DryRun) -> String {
    let mut out = format!("Plan `{}` ({})\n", d.plan, d.file);
    for t in &d.insecure_targets {
        out.push_str(&format!("{}\n", insecure_warning(t)));
    }
    out.push_str("Params:\n");
    for (k, v) in &d.params {
        let minted = if d.minted.contains(k) {
            "   (minted once for this run)"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {k} = {}{minted}\n",
            crate::plan::template::display(v)
        ));
    }
    out.push_str(&format!(
        "\nSteps ({} in execution order; steps of the same stage run in parallel):\n",
        d.steps.len()
    ));
    for s in &d.steps {
        step_text(&mut out, s);
    }
    if !d.finally.is_empty() {
        out.push_str("\nFinally (always run after the steps, on success, failure or interrupt):\n");
        for s in &d.finally {
            step_text(&mut out, s);
        }
    }
    out
}

fn step_text(out: &mut String, s: &DryStep) {
    let destructive = if s.destructive { "  [DESTRUCTIVE]" } else { "" };
    out.push_str(&format!(
        "\n{:>3}. [stage {}] {}{destructive}\n",
        s.order, s.stage, s.id
    ));
    if let Some(d) = &s.description {
        out.push_str(&format!("     {d}\n"));
    }
    if !s.needs.is_empty() {
        out.push_str(&format!("     needs: {}\n", s.needs.join(", ")));
    }
    if let Some(w) = &s.when {
        out.push_str(&format!("     when: {w}\n"));
    }
    if let Some(f) = &s.for_each {
        let n = s.items.as_ref().map_or_else(
            || "items known at run time".to_string(),
            |i| format!("{} items", i.len()),
        );
        let at_once = match s.parallelism {
            Some(1) => ", one at a time".to_string(),
            Some(p) => format!(", at most {p} at once"),
            None => String::new(),
        };
        out.push_str(&format!("     for each ({n}{at_once}): {f}\n"));
    }
    let verb = if s.wait.is_some() { "poll" } else { "send" };
    for r in &s.requests {
        r.text(out, verb, "     ");
    }
    if let Some(w) = &s.wait {
        out.push_str(&format!(
            "     until: {}\n",
            w["until"].as_str().unwrap_or("")
        ));
        if let Some(f) = w["fail_if"].as_str() {
            out.push_str(&format!("     fail if: {f}\n"));
        }
        out.push_str(&format!(
            "     every {} growing to {}, timeout {}\n",
            w["interval"].as_str().unwrap_or(""),
            w["max_interval"].as_str().unwrap_or(""),
            w["timeout"].as_str().unwrap_or("none")
        ));
    }
    if let Some(v) = &s.version {
        out.push_str(&format!("     requires version: {v}\n"));
    }
    if let Some(c) = &s.check {
        out.push_str(&format!("     check: {c}\n"));
    }
    let attempts = s.retry["attempts"].as_u64().unwrap_or(1);
    if attempts > 1 {
        out.push_str(&format!(
            "     retry: {attempts} attempts, backoff {} to {}\n",
            s.retry["initial"].as_str().unwrap_or(""),
            s.retry["max"].as_str().unwrap_or("")
        ));
    }
    if let Some(t) = &s.timeout {
        out.push_str(&format!("     timeout: {t}\n"));
    }
    for (name, jq) in &s.outputs {
        out.push_str(&format!("     output {name} = {jq}\n"));
    }
    if let Some(undo) = &s.undo {
        for r in undo {
            r.text(out, "undo", "     ");
        }
    }
    if let Some(e) = &s.error {
        out.push_str(&format!("     (cannot render: {e})\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::loader;
    use crate::run::inputs::{Inputs, resolve};

    const PLAN: &str = r#"apiVersion: runbook/v1
kind: Plan
name: d
params:
  password: {type: string, secret: true}
  names: {type: list, default: [a, b]}
targets:
  api:
    http:
      url: "http://127.0.0.1:1"
      auth: {basic: {username: admin, password: "{{params.password}}"}}
  k: {kubectl: {namespace: ns}}
steps:
  - id: list
    kubectl: {target: k, args: [get, deploy, -o, json]}
    outputs: {deploys: .stdout.items}
  - id: scale
    needs: [list]
    destructive: true
    for_each: $steps.list.outputs.deploys
    kubectl: {target: k, args: [scale, "deployment/{{item.metadata.name}}", --replicas=0]}
  - id: each
    for_each: $params.names
    http: {target: api, method: POST, path: "/x/{{item}}", json: {token: "{{steps.list.outputs.deploys}}", p: "{{params.password}}"}}
    needs: [list]
finally:
  - id: tidy
    http: {target: api, path: /tidy}
"#;

    fn dry() -> DryRun {
        let (plan, graphs) = loader::valid_for_test(PLAN);
        let inputs = Inputs {
            sets: vec!["password=s3cret-Pass-99".into()],
            ..Inputs::default()
        };
        let params = resolve(&plan, &inputs, &|_| None).expect("params");
        dry_run(&plan, &graphs, &params)
    }

    #[test]
    fn steps_come_in_execution_order_with_stages() {
        let d = dry();
        let ids: Vec<&str> = d.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids[0], "list");
        assert_eq!(d.steps[0].stage, 1);
        assert!(d.steps[1..].iter().all(|s| s.stage == 2));
        assert_eq!(d.finally.len(), 1);
        assert!(d.steps.iter().any(|s| s.id == "scale" && s.destructive));
    }

    #[test]
    fn run_time_items_show_a_placeholder_naming_their_source() {
        let d = dry();
        let scale = d.steps.iter().find(|s| s.id == "scale").expect("scale");
        assert!(scale.items.is_none(), "items exist only at run time");
        let shown = text(&d);
        assert!(
            shown.contains("deployment/<item.metadata.name of $steps.list.outputs.deploys>"),
            "{shown}"
        );
    }

    #[test]
    fn static_items_are_expanded_and_outputs_are_placeholders() {
        let d = dry();
        let each = d.steps.iter().find(|s| s.id == "each").expect("each");
        assert_eq!(each.items.as_deref(), Some(&[json!("a"), json!("b")][..]));
        let shown = text(&d);
        assert!(shown.contains("/x/a"), "{shown}");
        assert!(shown.contains("/x/b"), "{shown}");
        assert!(shown.contains("<steps.list.outputs.deploys>"), "{shown}");
    }

    #[test]
    fn secrets_never_appear() {
        let d = dry();
        let shown = text(&d);
        let json = serde_json::to_string(&d).expect("json");
        for out in [&shown, &json] {
            assert!(!out.contains("s3cret-Pass-99"), "{out}");
            // base64 of "admin:s3cret-Pass-99" (the Basic credential), unpadded prefix.
            assert!(!out.contains("YWRtaW46czNjcmV0"), "{out}");
        }
        assert!(shown.contains("***"), "{shown}");
    }
}
