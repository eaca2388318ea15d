//! validate/request_timeout: a step's `timeout` that its target's request timeout makes a lie.
//! An HTTP call (not a wait, whose polls are short) is cut at its target's `timeout`; a step
//! that allows longer (a 2 h snapshot restore on a datastore target of 30 m) would fail every
//! attempt at the shorter bound, with data already deleted (the Camunda API reference §7.4).
//! It only reads the validated step and targets; it decides nothing else.

use crate::plan::diagnostic::Diagnostic;
use crate::plan::duration::format;
use crate::plan::raw::Text;
use crate::plan::{Action, Target, TargetKind, Timeout};

use super::Checker;

/// Warns when `action` is an HTTP call whose target's request timeout is shorter than the
/// step's fixed `timeout` (a param-valued timeout is only known at run time).
pub(super) fn check(
    c: &mut Checker<'_>,
    action: Option<&Action>,
    step_timeout: (Option<&Timeout>, Option<&Text>),
    targets: &[Target],
) {
    let (Some(Action::Http(http)), (Some(Timeout::Fixed(step)), Some(text))) =
        (action, step_timeout)
    else {
        return;
    };
    let request = targets.iter().find_map(|t| match &t.kind {
        TargetKind::Http(h) if t.name == http.target => h.timeout,
        _ => None,
    });
    let Some(request) = request.filter(|r| r < step) else {
        return;
    };
    c.push(
        Diagnostic::warning(
            "runbook::plan::request_timeout_below_step_timeout",
            format!(
                "target `{}` cuts every request at {}, before this step's `timeout` of {}",
                http.target,
                format(request),
                format(*step)
            ),
            text.span,
            "never reached",
        )
        .with_label(http.target_span, "the target's request `timeout` applies here")
        .with_help(format!(
            "give this call a target with `timeout: {}` (a copy of `{}`), or lower the step's `timeout`",
            format(*step),
            http.target
        )),
    );
}
