//! validate/steps: checks of `steps` and `finally` one step at a time (ids, the single
//! action, retries, durations, outputs, undo) and the two dependency graphs. References
//! between steps are `refs`' job.

use foldhash::{HashMap, HashMapExt, HashSet};
use std::time::Duration;

use crate::plan::diagnostic::{Diagnostic, did_you_mean, list_names};
use crate::plan::graph::{PlanGraphs, StepGraph, resolve_needs};
use crate::plan::jq::Jq;
use crate::plan::raw::{RawAction, RawHttp, RawKubectl, RawPlan, RawRetry, RawStep, RawWait, Text};
use crate::plan::source::Span;
use crate::plan::yaml::{Node, Value};
use crate::plan::{
    Action, Body, ExecAction, HttpAction, JsonTemplate, KubectlAction, Output, RetryPolicy, Step,
    Target, TargetKind, Undo, WaitAction,
};

use super::{Checker, request_timeout};

pub(super) const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const DEFAULT_MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// Checks and builds every step. It takes the raw steps out of `raw` and drops each once
/// built, so a large plan is not held twice (raw and built) at the peak.
pub(super) fn check_steps(
    c: &mut Checker<'_>,
    raw: &mut RawPlan,
    targets: &[Target],
) -> (Vec<Step>, Vec<Step>) {
    if raw.steps.is_empty() && raw.api_version.is_some() {
        c.push(Diagnostic::error(
            "runbook::plan::no_steps",
            "the plan has no steps",
            raw.steps_span,
            "add at least one step",
        ));
    }
    let mut ids: HashMap<String, Span> = HashMap::new();
    let main = build_steps(c, std::mem::take(&mut raw.steps), targets, &mut ids, false);
    let finally = build_steps(c, std::mem::take(&mut raw.finally), targets, &mut ids, true);
    (main, finally)
}

fn build_steps(
    c: &mut Checker<'_>,
    raw: Vec<RawStep>,
    targets: &[Target],
    ids: &mut HashMap<String, Span>,
    is_finally: bool,
) -> Vec<Step> {
    // Sized up front: growing by doubling would cost half again the list's size at the peak
    // on plans of 10k steps.
    let mut out = Vec::with_capacity(raw.len());
    for s in raw {
        out.extend(check_step(c, &s, targets, ids, is_finally));
    }
    out
}

fn check_step(
    c: &mut Checker<'_>,
    s: &RawStep,
    targets: &[Target],
    ids: &mut HashMap<String, Span>,
    is_finally: bool,
) -> Option<Step> {
    let id = s.id.as_ref()?;
    super::check_name(c, id, "step");
    if let Some(first) = ids.insert(id.value.clone(), id.span) {
        c.push(
            Diagnostic::error(
                "runbook::plan::duplicate_step",
                format!("step id `{}` is used twice", id.value),
                id.span,
                "used again here",
            )
            .with_label(first, "first used here")
            .with_help("step ids must be unique across `steps` and `finally`"),
        );
    }
    let action = single_action(c, &s.actions, id, "step", targets);
    if is_finally && let Some(u) = &s.undo {
        c.push(Diagnostic::error(
            "runbook::plan::undo_in_finally",
            "a `finally` step cannot have `undo`",
            u.span,
            "nothing compensates a finally step",
        ));
    }
    let undo = s.undo.as_ref().and_then(|u| {
        let action = single_action(c, &u.actions, id, "undo", targets)?;
        Some(Box::new(Undo {
            span: u.span,
            description: u.description.as_ref().map(|d| d.value.clone()),
            action,
            retry: retry(c, u.retry.as_ref()),
            timeout: u.timeout.as_ref().and_then(|t| c.timeout(t, "`timeout`")),
        }))
    });
    let before_retry = s
        .before_retry
        .as_ref()
        .and_then(|b| super::before_retry::before_retry(c, b, id, targets))
        .map(Box::new);
    // Every field is checked before giving up on a broken action, so all problems show.
    let needs = s.needs.iter().map(|n| (n.value.clone(), n.span)).collect();
    let when = s.when.as_ref().map(|w| jq(c, w, "`when`"));
    let retry_policy = retry(c, s.retry.as_deref());
    let timeout = s.timeout.as_ref().and_then(|t| c.timeout(t, "`timeout`"));
    request_timeout::check(
        c,
        action.as_ref(),
        (timeout.as_ref(), s.timeout.as_ref()),
        targets,
    );
    let outputs = outputs(c, s);
    let for_each = s.for_each.as_ref().map(|f| jq(c, f, "`for_each`"));
    let parallelism = parallelism(c, s);
    let check = s.check.as_ref().map(|f| jq(c, f, "`check`"));
    let check_message = s.check_message.as_ref().map(|m| Box::new(c.template(m)));
    let version = s
        .version
        .as_ref()
        .and_then(|v| version_check(c, v))
        .map(Box::new);
    Some(Step {
        id: id.value.clone(),
        id_span: id.span,
        span: s.span,
        description: s.description.as_ref().map(|d| d.value.clone()),
        needs,
        when,
        action: action?,
        retry: retry_policy,
        timeout,
        outputs,
        undo,
        before_retry,
        destructive: s.destructive.as_ref().is_some_and(|d| d.value),
        idempotent: s.idempotent.as_ref().is_some_and(|d| d.value),
        for_each,
        parallelism,
        check,
        check_message,
        version,
        is_finally,
    })
}

/// `parallelism` bounds a `for_each` fan-out, so it needs one and must be at least 1.
fn parallelism(c: &mut Checker<'_>, s: &RawStep) -> Option<usize> {
    let p = s.parallelism.as_ref()?;
    if s.for_each.is_none() {
        c.push(
            Diagnostic::warning(
                "runbook::plan::parallelism_without_for_each",
                "`parallelism` has no effect without `for_each`",
                p.span,
                "only a `for_each` fan-out runs in parallel",
            )
            .with_help("remove `parallelism`, or add `for_each`"),
        );
    }
    match usize::try_from(p.value) {
        Ok(n) if (1..=10_000).contains(&n) => Some(n),
        _ => {
            c.push(
                Diagnostic::error(
                    "runbook::plan::bad_parallelism",
                    format!("`parallelism: {}` is out of range", p.value),
                    p.span,
                    "must be between 1 and 10000",
                )
                .with_help("`parallelism: 1` runs the items one at a time"),
            );
            None
        }
    }
}

fn version_check(
    c: &mut Checker<'_>,
    v: &crate::plan::raw::RawVersion,
) -> Option<crate::plan::VersionCheck> {
    let app = v.app.as_ref()?;
    let from = jq(c, v.from.as_ref()?, "`version.from`");
    let Some(req) = c.requires.iter().find(|r| r.app == app.value).cloned() else {
        let names: Vec<String> = c.requires.iter().map(|r| r.app.clone()).collect();
        c.push(
            Diagnostic::error(
                "runbook::plan::unknown_requirement",
                format!(
                    "`version.app` names `{}`, which `requires` does not constrain",
                    app.value
                ),
                app.span,
                "not in `requires`",
            )
            .with_help(format!(
                "add `requires: {{{}: \">=x.y.z\"}}`; constrained apps: {}",
                app.value,
                list_names(names.iter().map(String::as_str))
            )),
        );
        return None;
    };
    Some(crate::plan::VersionCheck {
        app: app.value.clone(),
        constraint: req.constraint,
        text: req.text,
        from,
    })
}

fn outputs(c: &mut Checker<'_>, s: &RawStep) -> Vec<Output> {
    let mut seen = HashMap::new();
    s.outputs
        .iter()
        .filter_map(|o| {
            if let Some(first) = seen.insert(o.name.value.clone(), o.name.span) {
                c.push(
                    Diagnostic::error(
                        "runbook::plan::duplicate_output",
                        format!("output `{}` is declared twice", o.name.value),
                        o.name.span,
                        "declared again",
                    )
                    .with_label(first, "first declared here"),
                );
            }
            Some(Output {
                name: o.name.value.clone(),
                span: o.name.span,
                jq: jq(c, o.jq.as_ref()?, "an output"),
                secret: o.secret.as_ref().is_some_and(|s| s.value),
            })
        })
        .collect()
}

/// Takes a jq expression; it is compiled later with all the plan's others
/// (`compile_pending_jq`), which reports errors at their place inside it.
pub(super) fn jq(c: &mut Checker<'_>, text: &Text, what: &'static str) -> Jq {
    c.pending_jq.push(PendingJq {
        source: text.value.clone(),
        span: text.span,
        content: super::content_start(c.source, text),
        what,
    });
    Jq::new(text.value.clone(), text.span)
}

/// A jq expression waiting to be compiled, with what is needed to report its errors.
pub(crate) struct PendingJq {
    source: String,
    span: Span,
    /// Where the expression's text starts in the file, when it maps 1:1 onto the value.
    content: Option<usize>,
    what: &'static str,
}

/// Compiles every expression taken by `jq` (each distinct text once); returns the errors.
/// It needs nothing from the checker, so it can run beside the graph and reference checks.
pub(super) fn compile_pending_jq(pending: &[PendingJq]) -> Vec<Diagnostic> {
    let mut distinct: HashMap<&str, usize> = HashMap::new();
    let mut sources = Vec::new();
    let slots: Vec<usize> = pending
        .iter()
        .map(|p| {
            *distinct.entry(&p.source).or_insert_with(|| {
                sources.push(p.source.as_str());
                sources.len() - 1
            })
        })
        .collect();
    let results = crate::plan::jq::check_all(&sources);
    let mut diagnostics = Vec::new();
    for (p, slot) in pending.iter().zip(slots) {
        let Err(errors) = &results[slot] else {
            continue;
        };
        for e in errors {
            let span = p
                .content
                .map_or(p.span, |s| Span::new(s + e.start, s + e.end.max(e.start)));
            diagnostics.push(
                Diagnostic::error("runbook::jq::compile", format!("{} is not a valid jq expression: {}", p.what, e.message), span, e.message.clone())
                    .with_help("jq variables available: $params, $steps, $run, $item, $targets; `.` is the action's result"),
            );
        }
    }
    diagnostics
}

pub(super) fn single_action(
    c: &mut Checker<'_>,
    actions: &[(Span, RawAction)],
    id: &Text,
    what: &str,
    targets: &[Target],
) -> Option<Action> {
    match actions {
        [(_, a)] => action(c, a, targets, what == "step"),
        [] => {
            let keys = if what == "step" {
                "`http`, `kubectl`, `exec` or `wait`"
            } else {
                "`http`, `kubectl` or `exec`"
            };
            c.push(
                Diagnostic::error(
                    "runbook::plan::no_action",
                    format!("{what} `{}` has no action", id.value),
                    id.span,
                    "this step does nothing",
                )
                .with_help(format!("give it exactly one of {keys}")),
            );
            None
        }
        [(first, _), rest @ ..] => {
            let mut d = Diagnostic::error(
                "runbook::plan::several_actions",
                format!("{what} `{}` has {} actions", id.value, actions.len()),
                rest[0].0,
                "second action",
            )
            .with_label(*first, "first action")
            .with_help("a step does one thing: split it into steps linked with `needs`");
            for (span, _) in &rest[1..] {
                d = d.with_label(*span, "another action");
            }
            c.push(d);
            None
        }
    }
}

fn action(
    c: &mut Checker<'_>,
    a: &RawAction,
    targets: &[Target],
    allow_wait: bool,
) -> Option<Action> {
    match a {
        RawAction::Http(h) => http(c, h, targets).map(|h| Action::Http(Box::new(h))),
        RawAction::Kubectl(k) => kubectl(c, k, targets).map(|k| Action::Kubectl(Box::new(k))),
        RawAction::Exec(e) => Some(Action::Exec(Box::new(ExecAction {
            executor: e.executor.as_ref().map(|x| x.value.clone())?,
            with: e
                .with
                .as_ref()
                .map_or(JsonTemplate::Literal(serde_json::Value::Null), |n| {
                    json_template(c, n)
                }),
        }))),
        RawAction::Wait(w) if allow_wait => wait(c, w, targets).map(|w| Action::Wait(Box::new(w))),
        RawAction::Wait(w) => {
            c.push(
                Diagnostic::error(
                    "runbook::plan::nested_wait",
                    "`wait` is not allowed here",
                    w.span,
                    "not allowed here",
                )
                .with_help(
                    "an undo or a wait's probe is a single `http`, `kubectl` or `exec` call",
                ),
            );
            None
        }
    }
}

fn target_of(c: &mut Checker<'_>, name: &Text, targets: &[Target], want_http: bool) -> bool {
    let kind = if want_http { "an HTTP" } else { "a kubectl" };
    match targets.iter().find(|t| t.name == name.value) {
        Some(t) if matches!(t.kind, TargetKind::Http(_)) == want_http => true,
        Some(_) => {
            c.push(Diagnostic::error(
                "runbook::plan::wrong_target_kind",
                format!("target `{}` is not {kind} target", name.value),
                name.span,
                format!("expected {kind} target"),
            ));
            false
        }
        None => {
            let candidates = targets
                .iter()
                .filter(|t| matches!(t.kind, TargetKind::Http(_)) == want_http)
                .map(|t| t.name.as_str());
            let names: Vec<&str> = candidates.collect();
            let help = did_you_mean(&name.value, names.iter().copied()).unwrap_or_else(|| {
                format!(
                    "declared {} targets: {}",
                    if want_http { "HTTP" } else { "kubectl" },
                    list_names(names.iter().copied())
                )
            });
            c.push(
                Diagnostic::error(
                    "runbook::plan::unknown_target",
                    format!("unknown target `{}`", name.value),
                    name.span,
                    "no target with this name",
                )
                .with_help(help),
            );
            false
        }
    }
}

fn http(c: &mut Checker<'_>, h: &RawHttp, targets: &[Target]) -> Option<HttpAction> {
    let target = h.target.as_ref()?;
    let target_ok = target_of(c, target, targets, true);
    let method = h
        .method
        .as_ref()
        .map_or_else(|| "GET".to_string(), |m| m.value.to_uppercase());
    if let Some(m) = &h.method
        && !METHODS.contains(&method.as_str())
    {
        let help = did_you_mean(&method, METHODS.iter().copied())
            .unwrap_or_else(|| format!("methods: {}", list_names(METHODS.iter().copied())));
        c.push(
            Diagnostic::error(
                "runbook::plan::bad_method",
                format!("`{}` is not an HTTP method", m.value),
                m.span,
                "unknown method",
            )
            .with_help(help),
        );
    }
    if let (Some(j), Some(b)) = (&h.json, &h.body) {
        c.push(
            Diagnostic::error(
                "runbook::plan::two_bodies",
                "`json` and `body` cannot both be given",
                b.span,
                "second body",
            )
            .with_label(j.span, "first body"),
        );
    }
    let expect = statuses(c, h);
    let path = h.path.as_ref().map_or_else(
        || crate::plan::template::Template::literal("", h.span),
        |p| c.template(p),
    );
    if let Some(p) = &h.path
        && path.is_literal()
        && !p.value.is_empty()
        && !p.value.starts_with('/')
        && !p.value.starts_with('?')
    {
        c.push(
            Diagnostic::error(
                "runbook::plan::bad_path",
                "`path` must start with `/`",
                p.span,
                "relative path",
            )
            .with_help(format!("write `/{}`", p.value)),
        );
    }
    let max =
        h.max_response_bytes.as_ref().map_or(
            Some(DEFAULT_MAX_RESPONSE),
            |m| match usize::try_from(m.value) {
                Ok(v) if v > 0 => Some(v),
                _ => {
                    c.push(Diagnostic::error(
                        "runbook::plan::bad_limit",
                        "`max_response_bytes` must be positive",
                        m.span,
                        "not a positive size",
                    ));
                    None
                }
            },
        );
    let action = HttpAction {
        target: target.value.clone(),
        target_span: target.span,
        method,
        path,
        query: h
            .query
            .iter()
            .map(|(k, v)| (k.value.clone(), c.template(v)))
            .collect(),
        headers: h
            .headers
            .iter()
            .map(|(k, v)| (k.value.clone(), c.template(v)))
            .collect(),
        body: match (&h.json, &h.body) {
            (Some(j), _) => Some(Body::Json(json_template(c, j))),
            (None, Some(b)) => Some(Body::Text(c.template(b))),
            _ => None,
        },
        expect,
        max_response_bytes: max?,
    };
    target_ok.then_some(action)
}

fn statuses(c: &mut Checker<'_>, h: &RawHttp) -> Vec<u16> {
    h.expect
        .iter()
        .filter_map(|s| match u16::try_from(s.value) {
            Ok(v) if (100..600).contains(&v) => Some(v),
            _ => {
                c.push(Diagnostic::error(
                    "runbook::plan::bad_status",
                    format!("{} is not an HTTP status", s.value),
                    s.span,
                    "expected 100 to 599",
                ));
                None
            }
        })
        .collect()
}

fn kubectl(c: &mut Checker<'_>, k: &RawKubectl, targets: &[Target]) -> Option<KubectlAction> {
    let target = k.target.as_ref()?;
    let ok = target_of(c, target, targets, false);
    if k.args.is_empty()
        && let Some(span) = k.args_span
    {
        c.push(
            Diagnostic::error(
                "runbook::plan::no_args",
                "`args` is empty",
                span,
                "no kubectl command",
            )
            .with_help("e.g. `args: [get, statefulset, camunda-zeebe, -o, json]`"),
        );
    }
    let action = KubectlAction {
        target: target.value.clone(),
        target_span: target.span,
        args: k.args.iter().map(|a| c.template(a)).collect(),
        stdin: k.stdin.as_ref().map(|s| c.template(s)),
        expect_exit: k
            .expect_exit
            .iter()
            .filter_map(|e| i32::try_from(e.value).ok())
            .collect(),
    };
    ok.then_some(action)
}

fn wait(c: &mut Checker<'_>, w: &RawWait, targets: &[Target]) -> Option<WaitAction> {
    let probe = match w.probe.as_slice() {
        [(_, a)] => action(c, a, targets, false),
        [] => {
            c.push(
                Diagnostic::error(
                    "runbook::plan::no_action",
                    "`wait` has nothing to poll",
                    w.span,
                    "no probe",
                )
                .with_help("add the call to repeat: `http`, `kubectl` or `exec`"),
            );
            None
        }
        [_, (second, _), ..] => {
            c.push(Diagnostic::error(
                "runbook::plan::several_actions",
                "`wait` polls exactly one call",
                *second,
                "second call",
            ));
            None
        }
    };
    let interval = w
        .interval
        .as_ref()
        .and_then(|t| c.duration(t, "`interval`"))
        .unwrap_or(Duration::from_secs(1));
    let max_interval = w
        .max_interval
        .as_ref()
        .and_then(|t| c.duration(t, "`max_interval`"))
        .unwrap_or(interval.max(Duration::from_secs(5)));
    if let Some(m) = &w.max_interval
        && max_interval < interval
    {
        c.push(Diagnostic::error(
            "runbook::plan::bad_interval",
            "`max_interval` is shorter than `interval`",
            m.span,
            "shorter than `interval`",
        ));
    }
    if interval.is_zero()
        && let Some(i) = &w.interval
    {
        c.push(Diagnostic::error(
            "runbook::plan::bad_interval",
            "`interval` must be more than zero",
            i.span,
            "zero",
        ));
    }
    let timeout = w.timeout.as_ref().and_then(|t| c.timeout(t, "`timeout`"));
    if w.timeout.is_none() {
        c.push(
            Diagnostic::warning(
                "runbook::plan::wait_without_timeout",
                "this `wait` has no timeout",
                w.span,
                "may poll forever",
            )
            .with_help("add `timeout:` (the step's own `timeout` also bounds it)"),
        );
    }
    Some(WaitAction {
        probe: probe?,
        until: jq(c, w.until.as_ref()?, "`until`"),
        fail_if: w.fail_if.as_ref().map(|f| jq(c, f, "`fail_if`")),
        interval,
        max_interval,
        timeout,
    })
}

fn retry(c: &mut Checker<'_>, r: Option<&RawRetry>) -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    let Some(r) = r else { return policy };
    if let Some(a) = &r.attempts {
        match u32::try_from(a.value) {
            Ok(n) if (1..=1000).contains(&n) => policy.attempts = n,
            _ => c.push(
                Diagnostic::error(
                    "runbook::plan::bad_attempts",
                    format!("`attempts: {}` is out of range", a.value),
                    a.span,
                    "expected 1 to 1000",
                )
                .with_help("attempts counts the first try: `attempts: 3` retries twice"),
            ),
        }
    } else {
        policy.attempts = 3;
    }
    if let Some(d) = r.initial.as_ref().and_then(|t| c.duration(t, "`initial`")) {
        policy.initial = d;
    }
    if let Some(d) = r.max.as_ref().and_then(|t| c.duration(t, "`max`")) {
        policy.max = d;
    }
    if let Some(m) = &r.multiplier {
        if m.value >= 1.0 && m.value <= 100.0 {
            policy.multiplier = m.value;
        } else {
            c.push(Diagnostic::error(
                "runbook::plan::bad_multiplier",
                "`multiplier` must be between 1 and 100",
                m.span,
                "out of range",
            ));
        }
    }
    if let Some(j) = &r.jitter {
        policy.jitter = j.value;
    }
    if policy.max < policy.initial
        && let Some(m) = &r.max
    {
        c.push(Diagnostic::error(
            "runbook::plan::bad_backoff",
            "`backoff.max` is shorter than `backoff.initial`",
            m.span,
            "shorter than `initial`",
        ));
    }
    policy
}

/// A JSON body whose strings are templates.
pub(super) fn json_template(c: &mut Checker<'_>, n: &Node) -> JsonTemplate {
    match &n.value {
        Value::Str(s) if s.contains("{{") => {
            JsonTemplate::Text(c.template(&Text::new(s.clone(), n.span)))
        }
        Value::Seq(items) => {
            JsonTemplate::Array(items.iter().map(|i| json_template(c, i)).collect())
        }
        Value::Map(entries) => JsonTemplate::Object(
            entries
                .iter()
                .map(|(k, v)| (k.key_text(), json_template(c, v)))
                .collect(),
        ),
        _ => JsonTemplate::Literal(n.to_json()),
    }
}

/// Resolves `needs`, reports unknown names, and builds both graphs.
pub(super) fn check_graphs(
    c: &mut Checker<'_>,
    main: &[Step],
    finally: &[Step],
) -> Option<PlanGraphs> {
    check_needs(c, main, finally, false);
    check_needs(c, finally, main, true);
    let g = |c: &mut Checker<'_>, steps: &[Step]| {
        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
        StepGraph::build(&ids, resolve_needs(steps))
            .map_err(|ds| ds.into_iter().for_each(|d| c.push(d)))
            .ok()
    };
    let main_graph = g(c, main);
    let finally_graph = g(c, finally);
    Some(PlanGraphs {
        main: main_graph?,
        finally: finally_graph?,
        reads: crate::plan::reads::of_plan(main, finally),
    })
}

fn check_needs(c: &mut Checker<'_>, steps: &[Step], other: &[Step], is_finally: bool) {
    let names: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    // A set, not a scan of `names`: plans of 10k+ steps made this quadratic.
    let known: HashSet<&str> = names.iter().copied().collect();
    for s in steps {
        for (need, span) in &s.needs {
            if known.contains(need.as_str()) {
                if need == &s.id {
                    c.push(Diagnostic::error(
                        "runbook::graph::cycle",
                        format!("step `{}` needs itself", s.id),
                        *span,
                        "a step cannot need itself",
                    ));
                }
                continue;
            }
            let d = if other.iter().any(|o| &o.id == need) {
                let msg = if is_finally {
                    format!("finally step `{}` needs main step `{need}`", s.id)
                } else {
                    format!("step `{}` needs `{need}`, which is a `finally` step", s.id)
                };
                Diagnostic::error("runbook::graph::cross_section_need", msg, *span, "in the other section").with_help("`finally` steps run after the whole main graph; they may only need other `finally` steps")
            } else {
                let help = did_you_mean(need, names.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "defined steps: {}",
                        list_names(names.iter().take(12).copied())
                    )
                });
                Diagnostic::error(
                    "runbook::graph::unknown_step",
                    format!("step `{}` needs unknown step `{need}`", s.id),
                    *span,
                    "no step with this id",
                )
                .with_help(help)
            };
            c.push(d);
        }
    }
}
