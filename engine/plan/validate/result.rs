//! validate/result: the plan-level `result:` mapping (what a run produced, e.g. its backup id)
//! and `windows:` (named spans between two steps, e.g. the exporting-paused window).
//! Each value is a template that may read `params.NAME`, `steps.ID.outputs.NAME` (of any main
//! or finally step: a step that did not run leaves the entry out) and `run.*`. It checks the
//! templates parse and name declared things; rendering is the run's report's job.

use crate::plan::diagnostic::{Diagnostic, did_you_mean, list_names};
use crate::plan::raw::Text;
use crate::plan::template::{Reference, Template};
use crate::plan::{Param, Step};

use super::Checker;

/// The checked `result:` entries, in file order.
pub(super) fn check_result(
    c: &mut Checker<'_>,
    raw: &[(Text, Text)],
    params: &[Param],
    main: &[Step],
    finally: &[Step],
) -> Vec<(String, Template)> {
    let mut out = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        super::check_name(c, name, "result name");
        let tpl = c.template(value);
        for r in &tpl.refs {
            check_ref(c, r, params, main, finally);
        }
        out.push((name.value.clone(), tpl));
    }
    out
}

/// The checked `windows:` entries: both ends name a main or finally step.
pub(super) fn check_windows(
    c: &mut Checker<'_>,
    raw: &[crate::plan::raw::RawWindow],
    main: &[Step],
    finally: &[Step],
) -> Vec<crate::plan::Window> {
    let mut out = Vec::with_capacity(raw.len());
    for w in raw {
        super::check_name(c, &w.name, "window name");
        let (Some(from), Some(to)) = (&w.from, &w.to) else {
            continue;
        };
        for end in [from, to] {
            if !main.iter().chain(finally).any(|s| s.id == end.value) {
                let names = main.iter().chain(finally).map(|s| s.id.as_str());
                let help = did_you_mean(&end.value, names.clone())
                    .unwrap_or_else(|| format!("defined steps: {}", list_names(names.take(12))));
                c.push(
                    Diagnostic::error(
                        "runbook::graph::unknown_step",
                        format!(
                            "window `{}` names unknown step `{}`",
                            w.name.value, end.value
                        ),
                        end.span,
                        "no step with this id",
                    )
                    .with_help(help),
                );
            }
        }
        out.push(crate::plan::Window {
            name: w.name.value.clone(),
            from: from.value.clone(),
            to: to.value.clone(),
        });
    }
    out
}

fn check_ref(
    c: &mut Checker<'_>,
    r: &Reference,
    params: &[Param],
    main: &[Step],
    finally: &[Step],
) {
    let path: Vec<&str> = r.path.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["params", name, ..] if params.iter().any(|p| p.name == *name) => {}
        ["params", name, ..] => {
            let names = params.iter().map(|p| p.name.as_str());
            let help = did_you_mean(name, names.clone())
                .unwrap_or_else(|| format!("declared params: {}", list_names(names)));
            c.push(
                Diagnostic::error(
                    "runbook::template::unknown_param",
                    format!("unknown param `{name}`"),
                    r.span,
                    "not declared in `params`",
                )
                .with_help(help),
            );
        }
        ["run", ..] => {}
        ["steps", id, "outputs", output, ..] => {
            let step = main.iter().chain(finally).find(|s| s.id == *id);
            if !step.is_some_and(|s| s.outputs.iter().any(|o| o.name == *output)) {
                unknown(
                    c,
                    r,
                    "a `result:` entry reads `steps.<id>.outputs.<name>` of a step that declares that output",
                );
            }
        }
        _ => unknown(
            c,
            r,
            "a `result:` entry reads `params.<name>`, `steps.<id>.outputs.<name>` or `run.<field>`",
        ),
    }
}

fn unknown(c: &mut Checker<'_>, r: &Reference, help: &str) {
    c.push(super::refs::unknown_variable(r, help.to_string()));
}

#[cfg(test)]
mod tests {
    fn codes(result: &str) -> Vec<&'static str> {
        let text = format!(
            "apiVersion: runbook/v1\nkind: Plan\nname: r\nparams:\n  backup_id: {{type: integer, default: 1}}\ntargets:\n  web: {{http: {{url: \"http://127.0.0.1:1\"}}}}\nsteps:\n  - id: a\n    http: {{target: web, path: \"/{{{{params.backup_id}}}}\"}}\n    outputs: {{name: .body.name}}\nresult:\n{result}"
        );
        crate::plan::loader::load_source(crate::plan::source::SourceFile::new(
            "r.yaml",
            text.as_str(),
        ))
        .validated
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
    }

    #[test]
    fn result_entries_read_declared_params_and_outputs_only() {
        assert!(codes("  backup_id: \"{{params.backup_id}}\"\n  snap: \"{{steps.a.outputs.name}}\"\n  run: \"{{run.id}}\"\n").is_empty());
        assert_eq!(
            codes("  id: \"{{params.backup}}\"\n"),
            ["runbook::template::unknown_param"]
        );
        assert_eq!(
            codes("  id: \"{{steps.a.outputs.nope}}\"\n"),
            ["runbook::template::unknown_variable"]
        );
        assert_eq!(
            codes("  id: \"{{item}}\"\n"),
            ["runbook::template::unknown_variable"]
        );
        assert_eq!(codes("  id: [1]\n"), ["runbook::plan::wrong_type"]);
    }

    #[test]
    fn windows_name_existing_steps_with_both_ends() {
        let ok = "  x: \"{{params.backup_id}}\"\nwindows:\n  paused: {from: a, to: a}\n";
        assert!(codes(ok).is_empty(), "{:?}", codes(ok));
        let unknown = "  x: \"{{params.backup_id}}\"\nwindows:\n  paused: {from: a, to: b}\n";
        assert_eq!(codes(unknown), ["runbook::graph::unknown_step"]);
        let missing = "  x: \"{{params.backup_id}}\"\nwindows:\n  paused: {from: a}\n";
        assert_eq!(codes(missing), ["runbook::plan::missing_field"]);
    }
}
