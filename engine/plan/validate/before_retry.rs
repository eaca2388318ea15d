//! validate/before_retry: a step's `before_retry` block to a `BeforeRetry`. It owns the
//! block's shape (`find` and `select` come together; `find` only reads) and leaves the
//! actions' own checks to `steps` and the references to `refs`.

use crate::plan::diagnostic::Diagnostic;
use crate::plan::raw::{RawBeforeRetry, Text};
use crate::plan::{BeforeRetry, Target};

use super::Checker;
use super::steps::{jq, single_action};

/// The one code for a misshapen `before_retry` (see docs/diagnostics.md).
const CODE: &str = "runbook::plan::before_retry_shape";

pub(super) fn before_retry(
    c: &mut Checker<'_>,
    b: &RawBeforeRetry,
    id: &Text,
    targets: &[Target],
) -> Option<BeforeRetry> {
    let action = single_action(c, &b.actions, id, "before_retry", targets);
    let find = b
        .find
        .as_ref()
        .and_then(|(_, calls)| single_action(c, calls, id, "find", targets));
    let select = b.select.as_ref().map(|s| jq(c, s, "`select`"));
    match (&b.find, &b.select) {
        (Some((span, _)), None) => c.push(
            Diagnostic::error(
                CODE,
                "`find` without `select`",
                *span,
                "nothing reads this call's result",
            )
            .with_help("add `select:`, a jq expression over `find`'s result that yields the strings to clean up (each one `{{leftover}}`)"),
        ),
        (None, Some(s)) => c.push(
            Diagnostic::error(CODE, "`select` without `find`", s.span, "nothing to select from")
                .with_help("add `find:` with the read-only call whose result `select` reads"),
        ),
        _ => {}
    }
    if let (Some(f), Some((span, _))) = (&find, &b.find)
        && !f.is_read_only()
    {
        c.push(
            Diagnostic::error(
                CODE,
                "`find` must only read",
                *span,
                "this call changes something",
            )
            .with_help("use a GET/HEAD call or `kubectl get`; the clean-up itself is the `before_retry` action"),
        );
    }
    if b.find.is_some() && find.is_none() {
        return None;
    }
    Some(BeforeRetry {
        span: b.span,
        description: b.description.as_ref().map(|d| d.value.clone()),
        find,
        select,
        action: action?,
    })
}
