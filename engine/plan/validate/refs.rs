//! validate/refs: every name a template or jq expression reads must exist and be available
//! when it is read: params and targets declared, step outputs declared by a step that is sure
//! to have finished (an ancestor; for `undo` the step itself too; for `finally` only under
//! `default`), `item` only in `for_each` steps. Also warns about params nobody reads.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::plan::diagnostic::{Diagnostic, did_you_mean, list_names};
use crate::plan::graph::StepGraph;
use crate::plan::jq::Jq;
use crate::plan::source::Span;
use crate::plan::template::{Reference, Template};
use crate::plan::{Action, Param, ParamDefault, Step, Target, TargetKind};

use super::Checker;

const RUN_FIELDS: &[&str] = &["id", "started_at", "plan", "dry_run"];
const HTTP_TARGET_FIELDS: &[&str] = &["url", "name"];
const KUBECTL_TARGET_FIELDS: &[&str] = &["context", "namespace", "kubeconfig", "name"];

/// Where a reference is read from, which decides what it may see.
#[derive(Clone, Copy)]
enum Site {
    Step {
        index: usize,
        finally: bool,
        for_each: bool,
        /// In a `before_retry` call with `select`: `leftover` is set.
        leftover: bool,
    },
    Undo {
        index: usize,
        for_each: bool,
    },
    Target,
}

struct Scope<'a> {
    params: &'a [Param],
    targets: &'a [Target],
    main: &'a [Step],
    finally: &'a [Step],
    main_graph: &'a StepGraph,
    finally_graph: &'a StepGraph,
    index: HashMap<&'a str, (bool, usize)>,
    used_params: HashSet<String>,
}

pub(super) fn check_references(
    c: &mut Checker<'_>,
    params: &[Param],
    targets: &[Target],
    main: &[Step],
    finally: &[Step],
    main_graph: &StepGraph,
    finally_graph: &StepGraph,
) {
    let mut index = HashMap::new();
    for (i, s) in main.iter().enumerate() {
        index.insert(s.id.as_str(), (false, i));
    }
    for (i, s) in finally.iter().enumerate() {
        index.insert(s.id.as_str(), (true, i));
    }
    let mut scope = Scope {
        params,
        targets,
        main,
        finally,
        main_graph,
        finally_graph,
        index,
        used_params: HashSet::new(),
    };
    for t in targets {
        for tpl in target_templates(t) {
            check_template(c, &mut scope, tpl, Site::Target);
        }
    }
    for (list, is_finally) in [(main, false), (finally, true)] {
        for (i, s) in list.iter().enumerate() {
            check_step(c, &mut scope, s, i, is_finally);
        }
    }
    for p in params {
        if let Some(ParamDefault::Minted(t)) = &p.default {
            let _ = t;
        }
        if !scope.used_params.contains(&p.name) {
            c.push(
                Diagnostic::warning(
                    "runbook::plan::unused_param",
                    format!("param `{}` is never used", p.name),
                    p.span,
                    "declared but not read",
                )
                .with_help(format!(
                    "use it as `{{{{params.{}}}}}` or `$params.{}`, or remove it",
                    p.name, p.name
                )),
            );
        }
    }
}

fn target_templates(t: &Target) -> Vec<&Template> {
    match &t.kind {
        TargetKind::Http(h) => {
            let mut v = vec![&h.url];
            v.extend(h.headers.iter().map(|(_, t)| t));
            for a in &h.auth {
                match a {
                    crate::plan::Auth::Basic { username, password } => {
                        v.extend([username, password])
                    }
                    crate::plan::Auth::Bearer(t) | crate::plan::Auth::ApiKey(t) => v.push(t),
                    crate::plan::Auth::AwsSigV4 { region, service } => v.extend([region, service]),
                    crate::plan::Auth::OAuth2(o) => {
                        v.extend([&o.token_url, &o.client_id, &o.client_secret]);
                        v.extend(o.scope.iter().chain(&o.audience));
                    }
                }
            }
            v.extend(
                [
                    &h.ca_file,
                    &h.ca_pem,
                    &h.client_cert_file,
                    &h.client_key_file,
                    &h.server_name,
                ]
                .into_iter()
                .flatten(),
            );
            if let Some(pf) = &h.port_forward {
                v.extend([&pf.resource, &pf.enabled]);
            }
            v
        }
        TargetKind::Kubectl(k) => k
            .context
            .iter()
            .chain(&k.namespace)
            .chain(&k.kubeconfig)
            .collect(),
    }
}

fn check_step(c: &mut Checker<'_>, scope: &mut Scope<'_>, s: &Step, i: usize, is_finally: bool) {
    let wait_timeout = match &s.action {
        Action::Wait(w) => w.timeout.as_ref(),
        _ => None,
    };
    let undo_timeout = s.undo.as_ref().and_then(|u| u.timeout.as_ref());
    for t in s.timeout.iter().chain(wait_timeout).chain(undo_timeout) {
        if let crate::plan::Timeout::Param(name) = t {
            scope.used_params.insert(name.clone());
        }
    }
    let for_each = s.for_each.is_some();
    let site = Site::Step {
        index: i,
        finally: is_finally,
        for_each,
        leftover: false,
    };
    for t in s.action.templates() {
        check_template(c, scope, t, site);
    }
    if let Some(m) = &s.check_message {
        check_template(c, scope, m, site);
    }
    // `when` and `for_each` are read before the step's action: same availability rules.
    for jq in crate::plan::reads::own_jqs(s) {
        check_jq(c, scope, jq, site);
    }
    if let Some(b) = &s.before_retry {
        check_before_retry(c, scope, b, site);
    }
    if let Some(u) = &s.undo {
        let site = Site::Undo { index: i, for_each };
        for t in u.action.templates() {
            check_template(c, scope, t, site);
        }
    }
}

/// A `before_retry` sees what its step sees; its clean-up call also sees `leftover` when
/// `select` gives one.
fn check_before_retry(
    c: &mut Checker<'_>,
    scope: &mut Scope<'_>,
    b: &crate::plan::BeforeRetry,
    site: Site,
) {
    for t in b.find.iter().flat_map(Action::templates) {
        check_template(c, scope, t, site);
    }
    if let Some(select) = &b.select {
        check_jq(c, scope, select, site);
    }
    let call_site = match site {
        Site::Step {
            index,
            finally,
            for_each,
            ..
        } => Site::Step {
            index,
            finally,
            for_each,
            leftover: b.select.is_some(),
        },
        other => other,
    };
    for t in b.action.templates() {
        check_template(c, scope, t, call_site);
    }
}

fn check_template(c: &mut Checker<'_>, scope: &mut Scope<'_>, t: &Template, site: Site) {
    for r in &t.refs {
        check_reference(c, scope, r, site);
    }
}

fn check_reference(c: &mut Checker<'_>, scope: &mut Scope<'_>, r: &Reference, site: Site) {
    let path: Vec<&str> = r.path.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["params", name, ..] => check_param(c, scope, name, r.span),
        ["params"] => bad_path(c, r, "name a param: `params.<name>`"),
        ["targets", name, rest @ ..] => check_target(c, scope, name, rest.first().copied(), r.span),
        ["run", field, ..] if RUN_FIELDS.contains(field) => {}
        ["run", ..] => bad_path(
            c,
            r,
            &format!("run fields: {}", list_names(RUN_FIELDS.iter().copied())),
        ),
        ["item", ..] => check_item(c, site, r.span),
        ["leftover", ..] if matches!(site, Site::Step { leftover: true, .. }) => {}
        ["leftover", ..] => c.push(
            Diagnostic::error(
                "runbook::plan::before_retry_shape",
                "`leftover` is only set in a `before_retry` call with `find` and `select`",
                r.span,
                "no `select` gives it here",
            )
            .with_help("add `find:` and `select:` to the step's `before_retry`, or use `item`"),
        ),
        ["steps", id, "outputs", name, ..] => {
            check_output(c, scope, id, name, r.span, r.guarded, site)
        }
        ["steps", ..] => bad_path(c, r, "read a step's output as `steps.<id>.outputs.<name>`"),
        // Effects are for decisions (jq), not for what is sent: see docs/plan-format.md.
        ["effects", ..] => c.push(
            Diagnostic::error(
                "runbook::template::effects_in_template",
                format!("templates cannot read `{}`", r.dotted()),
                r.span,
                "`effects` is read by jq expressions only",
            )
            .with_help(
                "decide with `$effects` in a jq expression instead: `when:` to run or skip, \
                 `for_each: $effects[\"<id>\"].items.succeeded` to act on exactly the items a \
                 step touched (then use `{{item}}` here)",
            ),
        ),
        [first, ..] => {
            let roots = ["params", "targets", "steps", "run", "item"];
            let help = did_you_mean(first, roots)
                .unwrap_or_else(|| format!("templates can read {}", list_names(roots)));
            c.push(unknown_variable(r, help));
        }
        [] => {}
    }
}

/// `runbook::template::unknown_variable` at `r`, with `help` (also used by `result:`).
pub(super) fn unknown_variable(r: &Reference, help: String) -> Diagnostic {
    Diagnostic::error(
        "runbook::template::unknown_variable",
        format!("unknown template variable `{}`", r.dotted()),
        r.span,
        "not a known variable",
    )
    .with_help(help)
}

fn bad_path(c: &mut Checker<'_>, r: &Reference, help: &str) {
    c.push(
        Diagnostic::error(
            "runbook::template::bad_reference",
            format!("`{}` is not a value a template can read", r.dotted()),
            r.span,
            "incomplete or unknown path",
        )
        .with_help(help.to_string()),
    );
}

fn check_param(c: &mut Checker<'_>, scope: &mut Scope<'_>, name: &str, span: Span) {
    if scope.params.iter().any(|p| p.name == name) {
        if !scope.used_params.contains(name) {
            scope.used_params.insert(name.to_string());
        }
        return;
    }
    let names = scope.params.iter().map(|p| p.name.as_str());
    let help = did_you_mean(name, names.clone())
        .unwrap_or_else(|| format!("declared params: {}", list_names(names)));
    c.push(
        Diagnostic::error(
            "runbook::template::unknown_param",
            format!("unknown param `{name}`"),
            span,
            "not declared in `params`",
        )
        .with_help(help),
    );
}

fn check_target(
    c: &mut Checker<'_>,
    scope: &Scope<'_>,
    name: &str,
    field: Option<&str>,
    span: Span,
) {
    let Some(t) = scope.targets.iter().find(|t| t.name == name) else {
        let names = scope.targets.iter().map(|t| t.name.as_str());
        let help = did_you_mean(name, names.clone())
            .unwrap_or_else(|| format!("declared targets: {}", list_names(names)));
        c.push(
            Diagnostic::error(
                "runbook::template::unknown_target",
                format!("unknown target `{name}`"),
                span,
                "not declared in `targets`",
            )
            .with_help(help),
        );
        return;
    };
    let fields = if matches!(t.kind, TargetKind::Http(_)) {
        HTTP_TARGET_FIELDS
    } else {
        KUBECTL_TARGET_FIELDS
    };
    if !field.is_some_and(|f| fields.contains(&f)) {
        c.push(
            Diagnostic::error(
                "runbook::template::bad_reference",
                format!("target `{name}` has no field `{}`", field.unwrap_or("")),
                span,
                "unknown field",
            )
            .with_help(format!("fields: {}", list_names(fields.iter().copied()))),
        );
    }
}

fn check_item(c: &mut Checker<'_>, site: Site, span: Span) {
    let ok = match site {
        Site::Step { for_each, .. } | Site::Undo { for_each, .. } => for_each,
        Site::Target => false,
    };
    if !ok {
        c.push(
            Diagnostic::error(
                "runbook::template::item_outside_for_each",
                "`item` is only set in a step with `for_each`",
                span,
                "no `for_each` here",
            )
            .with_help("add `for_each:` with a jq expression that yields a list"),
        );
    }
}

fn check_output(
    c: &mut Checker<'_>,
    scope: &Scope<'_>,
    id: &str,
    name: &str,
    span: Span,
    guarded: bool,
    site: Site,
) {
    let Some(&(src_finally, src)) = scope.index.get(id) else {
        let names = scope
            .main
            .iter()
            .chain(scope.finally)
            .map(|s| s.id.as_str());
        let help = did_you_mean(id, names).unwrap_or_else(|| "check the step id".into());
        c.push(
            Diagnostic::error(
                "runbook::template::unknown_step",
                format!("unknown step `{id}`"),
                span,
                "no step with this id",
            )
            .with_help(help),
        );
        return;
    };
    let source_step = if src_finally {
        &scope.finally[src]
    } else {
        &scope.main[src]
    };
    if !source_step.outputs.iter().any(|o| o.name == name) {
        let names = source_step.outputs.iter().map(|o| o.name.as_str());
        let help = did_you_mean(name, names.clone())
            .unwrap_or_else(|| format!("outputs of `{id}`: {}", list_names(names)));
        c.push(
            Diagnostic::error(
                "runbook::template::unknown_output",
                format!("step `{id}` has no output `{name}`"),
                span,
                "not declared in its `outputs`",
            )
            .with_help(help),
        );
        return;
    }
    if let Some(problem) = availability(scope, src_finally, src, guarded, site) {
        let (code, msg, help) = problem;
        let mut d = Diagnostic::error(
            code,
            msg.replace("{id}", id),
            span,
            "may not have a value yet",
        );
        // A far-away second label would make the snippet span every line in between.
        let (here, _) = c.source.line_col(span.start);
        let (there, _) = c.source.line_col(source_step.id_span.start);
        let mut help = help.replace("{id}", id);
        if here.abs_diff(there) <= 12 {
            d = d.with_label(source_step.id_span, "declared by this step");
        } else {
            help.push_str(&format!(" (`{id}` is declared on line {there})"));
        }
        c.push(d.with_help(help));
    }
}

type Problem = (&'static str, String, String);

/// Whether step `src` (in `finally` or not) has surely finished when `site` runs.
fn availability(
    scope: &Scope<'_>,
    src_finally: bool,
    src: usize,
    guarded: bool,
    site: Site,
) -> Option<Problem> {
    match site {
        Site::Target => Some((
            "runbook::template::output_in_target",
            "a target cannot read the output of step `{id}`".into(),
            "targets are set up before any step runs; pass the value to the step instead".into(),
        )),
        Site::Step { index, finally: false, .. } => (src_finally || !scope.main_graph.is_ancestor(src, index)).then(|| {
            (
                "runbook::template::not_an_ancestor",
                "this step reads an output of `{id}`, which is not among the steps it needs".into(),
                "add `{id}` to `needs` (directly or through another step), so it has finished first".into(),
            )
        }),
        Site::Step { index, finally: true, .. } => {
            if src_finally {
                (!scope.finally_graph.is_ancestor(src, index)).then(|| {
                    (
                        "runbook::template::not_an_ancestor",
                        "this step reads an output of `{id}`, which is not among the steps it needs".into(),
                        "add `{id}` to `needs`".into(),
                    )
                })
            } else {
                (!guarded).then(|| {
                    (
                        "runbook::template::finally_reads_output",
                        "a `finally` step reads an output of `{id}`, which may never have run".into(),
                        "finally steps run after failures too: wrap it as `{{default steps.{id}.outputs.<name> \"fallback\"}}`".into(),
                    )
                })
            }
        }
        Site::Undo { index, .. } => (src_finally || (src != index && !scope.main_graph.is_ancestor(src, index))).then(|| {
            (
                "runbook::template::undo_reads_output",
                "an `undo` reads an output of `{id}`, which is neither its own step nor one it needs".into(),
                "an undo may read its own step's outputs and those of the steps it needs".into(),
            )
        }),
    }
}

/// Reads `$params.x`, `$item`, `$steps.<id>` / `$steps["<id>"]` and `$effects["<id>"]` out of
/// a jq expression, with
/// their offsets, so jq conditions get the same reference checks as templates.
pub(crate) fn jq_references(src: &str) -> Vec<(Vec<String>, usize, usize)> {
    let mut out = Vec::new();
    for (root, _) in src.match_indices('$') {
        let rest = &src[root + 1..];
        let var: String = rest
            .chars()
            .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
            .collect();
        if !["params", "steps", "item", "effects"].contains(&var.as_str()) {
            continue;
        }
        let mut path = vec![var.clone()];
        let mut end = root + 1 + var.len();
        // Up to three segments: `$steps.<id>.outputs.<name>`.
        while path.len() < 4 {
            let tail = &src[end..];
            if let Some(t) = tail.strip_prefix(".") {
                let seg: String = t
                    .chars()
                    .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '-')
                    .collect();
                if seg.is_empty() {
                    break;
                }
                end += 1 + seg.len();
                path.push(seg);
            } else if let Some(t) = tail.strip_prefix("[\"") {
                let Some(close) = t.find("\"]") else { break };
                path.push(t[..close].to_string());
                end += 2 + close + 2;
            } else {
                break;
            }
        }
        out.push((path, root, end));
    }
    out
}

fn check_jq(c: &mut Checker<'_>, scope: &mut Scope<'_>, jq: &Jq, site: Site) {
    let start = super::content_start(
        c.source,
        &crate::plan::raw::Text::new(jq.source.clone(), jq.span),
    );
    for (path, from, to) in jq_references(&jq.source) {
        let span = start.map_or(jq.span, |s| Span::new(s + from, s + to));
        let guarded = jq.source[to..].trim_start().starts_with("//");
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        match path.as_slice() {
            ["params", name, ..] => check_param(c, scope, name, span),
            ["item", ..] => check_item(c, site, span),
            ["steps", id, "outputs", name, ..] => {
                check_output(c, scope, id, name, span, guarded, site)
            }
            ["steps" | "effects", id, ..] if !scope.index.contains_key(id) => {
                c.push(Diagnostic::error(
                    "runbook::template::unknown_step",
                    format!("unknown step `{id}`"),
                    span,
                    "no step with this id",
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::jq_references;

    #[test]
    fn finds_jq_references() {
        let refs = jq_references(
            r#".x == $params.id and ($steps["list-indices"].outputs.names | length) > 0"#,
        );
        let paths: Vec<Vec<String>> = refs.into_iter().map(|r| r.0).collect();
        assert_eq!(paths[0], vec!["params", "id"]);
        assert_eq!(paths[1], vec!["steps", "list-indices", "outputs", "names"]);
        let refs = jq_references(r#"$effects["scale-down"].items.failed"#);
        assert_eq!(refs[0].0, vec!["effects", "scale-down", "items", "failed"]);
    }
}
