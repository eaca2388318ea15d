//! reads: what each step reads of the run's shared state: the outputs of which earlier steps
//! (`steps.<id>` in templates, `$steps.<id>` or `$steps["<id>"]` in jq) and whether it reads
//! `$effects`. Validation computes it once per step and hands it to the run side with the
//! graphs, so a step's scope holds only what it reads. It decides nothing about whether a read
//! is allowed (that is `validate::refs`) and holds no values.

use std::collections::HashMap;

use crate::plan::jq::Jq;
use crate::plan::{Action, Step};

/// What one step (its action, undo, before_retry, check message and jq) reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepReads {
    /// Ids of the steps whose outputs it reads, sorted, without duplicates.
    pub steps: Vec<String>,
    /// A jq expression reads `$steps` in a way not resolvable statically (`$steps[$x]`,
    /// `$steps | keys`): the step gets every output.
    pub all_steps: bool,
    /// A jq expression reads `$effects`.
    pub effects: bool,
}

/// Reads of every step of a plan (main and finally), by step id.
pub type PlanReads = HashMap<String, StepReads>;

/// The reads of every step in `main` and `finally`.
pub fn of_plan(main: &[Step], finally: &[Step]) -> PlanReads {
    main.iter()
        .chain(finally)
        .map(|s| (s.id.clone(), of_step(s)))
        .collect()
}

/// The reads of one step.
pub fn of_step(s: &Step) -> StepReads {
    let mut r = StepReads::default();
    for t in step_templates(s) {
        for v in &t.refs {
            if v.path.first().is_some_and(|p| p == "steps")
                && let Some(id) = v.path.get(1)
            {
                r.steps.push(id.clone());
            }
        }
    }
    for jq in step_jqs(s) {
        r.effects |= jq.source.contains("$effects");
        let mut found = false;
        for (path, _, _) in crate::plan::validate::refs::jq_references(&jq.source) {
            if path.first().is_some_and(|p| p == "steps") {
                match path.get(1) {
                    Some(id) => {
                        r.steps.push(id.clone());
                        found = true;
                    }
                    None => r.all_steps = true,
                }
            }
        }
        if jq.source.contains("$steps") && !found {
            r.all_steps = true;
        }
    }
    r.steps.sort();
    r.steps.dedup();
    r
}

fn step_templates(s: &Step) -> Vec<&crate::plan::template::Template> {
    let mut templates = s.action.templates();
    if let Some(u) = &s.undo {
        templates.extend(u.action.templates());
    }
    if let Some(b) = &s.before_retry {
        templates.extend(b.find.iter().flat_map(Action::templates));
        templates.extend(b.action.templates());
    }
    templates.extend(s.check_message.as_deref());
    templates
}

/// Every jq expression of a step.
fn step_jqs(s: &Step) -> Vec<&Jq> {
    let mut jqs = own_jqs(s);
    jqs.extend(s.before_retry.as_ref().and_then(|b| b.select.as_ref()));
    jqs
}

/// The jq expressions of a step itself, without its `before_retry` block: `when`, `for_each`,
/// `check`, `version.from`, outputs, and a wait's `until`/`fail_if`.
pub(crate) fn own_jqs(s: &Step) -> Vec<&Jq> {
    let mut jqs: Vec<&Jq> = s
        .when
        .iter()
        .chain(&s.for_each)
        .chain(&s.check)
        .chain(s.version.as_ref().map(|v| &v.from))
        .collect();
    jqs.extend(s.outputs.iter().map(|o| &o.jq));
    if let Action::Wait(w) = &s.action {
        jqs.push(&w.until);
        jqs.extend(&w.fail_if);
    }
    jqs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(steps_yaml: &str) -> PlanReads {
        let text = format!(
            "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  sim: {{http: {{url: \"http://sim\"}}}}\n{steps_yaml}"
        );
        crate::plan::loader::valid_for_test(&text).1.reads
    }

    #[test]
    fn templates_and_jq_name_the_steps_they_read() {
        let r = reads(
            "steps:\n  - {id: a, http: {target: sim, path: /a}, outputs: {x: .body.x}}\n  - {id: b, http: {target: sim, path: /b}, outputs: {y: .body.y}}\n  - id: c\n    needs: [a, b]\n    http: {target: sim, path: \"/c/{{steps.a.outputs.x}}\"}\n    check: '$steps.b.outputs.y == 1'\n",
        );
        assert_eq!(r["c"].steps, vec!["a", "b"]);
        assert!(!r["c"].all_steps);
        assert!(!r["c"].effects);
        assert_eq!(r["a"], StepReads::default());
    }

    #[test]
    fn unresolvable_steps_reads_and_effects_are_flagged() {
        let r = reads(
            "steps:\n  - {id: a, http: {target: sim, path: /a}, outputs: {x: .body.x}}\n  - {id: b, needs: [a], http: {target: sim, path: /b}, check: '$steps | length > 0'}\nfinally:\n  - {id: f, http: {target: sim, path: /f}, when: '$effects | length >= 0'}\n",
        );
        assert!(r["b"].all_steps);
        assert!(r["f"].effects);
        assert!(!r["f"].all_steps);
    }

    #[test]
    fn undo_reads_count_for_their_step() {
        let r = reads(
            "steps:\n  - id: a\n    http: {target: sim, method: POST, path: /a}\n    outputs: {id: .body.id}\n    undo:\n      http: {target: sim, method: DELETE, path: \"/a/{{steps.a.outputs.id}}\"}\n",
        );
        assert_eq!(r["a"].steps, vec!["a"]);
    }
}
