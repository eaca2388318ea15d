//! confirm: the gate before a destructive step. As the step is about to start, its exact
//! rendered calls (every `for_each` item still to do) are recorded as one
//! `destructive_calls` event, so progress output, `--log-format json` and the journal show
//! what was deleted; then, when the run has a confirmer (an interactive run without `--yes`),
//! the operator must type the word shown or the step fails before any call, and the run
//! compensates as for any failure. It decides nothing else and never reads a terminal itself:
//! the CLI passes the confirmer, `ask` is its testable core.

use std::io::{BufRead, Write};
use std::sync::Arc;

use serde_json::Value as Json;

use crate::executor::ActionRequest;
use crate::plan::Step;
use crate::run::context::RunEnv;
use crate::run::events::{Phase, RunEvent};

/// Asked with the step id and its calls; true to go on.
pub type Confirmer = Arc<dyn Fn(&str, &[String]) -> bool + Send + Sync>;

/// The word an operator types to confirm.
pub const WORD: &str = "yes";

/// The operator answered no: the step fails without making any of its calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not confirmed by the operator: none of its calls was made")]
pub struct NotConfirmed;

/// Records the calls `step` is about to make (`items`: its `for_each` items still to do, or
/// `None` for a plain step) and asks the run's confirmer. `Err` is the step's failure.
pub async fn gate(
    env: &RunEnv,
    step: &Step,
    phase: Phase,
    steps: &Json,
    items: Option<&[(usize, Json)]>,
) -> Result<(), NotConfirmed> {
    if !step.destructive {
        return Ok(());
    }
    let plain = [(0, Json::Null)];
    let calls: Vec<String> = items
        .unwrap_or(&plain)
        .iter()
        .map(
            |(_, item)| match env.request(&step.action, &env.scope(steps, item)) {
                Ok(r) => call_line(&r),
                Err(e) => format!("(cannot render: {e})"),
            },
        )
        .collect();
    env.emit_durable(RunEvent::DestructiveCalls {
        phase,
        id: step.id.clone(),
        calls: calls.iter().cloned().map(Json::String).collect(),
    })
    .await;
    let Some(confirm) = env.confirm.clone() else {
        return Ok(());
    };
    let shown: Vec<String> = calls.iter().map(|c| env.redact(c)).collect();
    let id = step.id.clone();
    let yes = tokio::task::spawn_blocking(move || confirm(&id, &shown))
        .await
        .unwrap_or(false);
    if yes { Ok(()) } else { Err(NotConfirmed) }
}

/// One call as an operator reads it: `DELETE http://host/index`, `kubectl delete pvc x`.
pub fn call_line(r: &ActionRequest) -> String {
    match r {
        ActionRequest::Http(h) => {
            let mut url = h.url.clone();
            if !h.query.is_empty() {
                let q: Vec<String> = h.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                url = format!("{url}?{}", q.join("&"));
            }
            format!("{} {url}", h.method)
        }
        // Its context, namespace and kubeconfig included: the operator sees which cluster.
        ActionRequest::Kubectl(k) => {
            crate::run::rendered_request::shell_line(&crate::run::rendered_request::kubectl_argv(k))
        }
        ActionRequest::Exec(e) => format!("runbook-executor-{}", e.executor),
    }
}

/// Shows `calls` of `step` on `out`, after `header` (where the run points: cluster, backup
/// id), and reads one answer from `input`: true only when it is exactly [`WORD`]. End of
/// input or an unreadable answer is a refusal.
pub fn ask(
    input: &mut impl BufRead,
    out: &mut impl Write,
    header: &str,
    step: &str,
    calls: &[String],
) -> bool {
    let _ = writeln!(
        out,
        "\nstep `{step}` is destructive; it is about to make {} call(s):",
        calls.len()
    );
    for line in header.lines() {
        let _ = writeln!(out, "  {line}");
    }
    for c in calls {
        let _ = writeln!(out, "  {c}");
    }
    let _ = write!(
        out,
        "type `{WORD}` to make them, anything else to stop the run: "
    );
    let _ = out.flush();
    let mut answer = String::new();
    let yes = matches!(input.read_line(&mut answer), Ok(n) if n > 0) && answer.trim() == WORD;
    if !yes {
        let _ = writeln!(
            out,
            "not confirmed: stopping; undo and finally steps run as for a failure"
        );
    }
    yes
}

/// The confirmer of an interactive run: asks on the terminal (stdin, stderr), each question
/// headed by `header`.
pub fn terminal(header: String) -> Confirmer {
    Arc::new(move |step, calls| {
        let stdin = std::io::stdin();
        ask(
            &mut stdin.lock(),
            &mut std::io::stderr(),
            &header,
            step,
            calls,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_word_confirms() {
        let calls = vec![
            "DELETE http://es/a".to_string(),
            "DELETE http://es/b".into(),
        ];
        for (answer, expected) in [
            ("yes\n", true),
            ("  yes  \n", true),
            ("y\n", false),
            ("YES\n", false),
            ("", false),
            ("no\n", false),
        ] {
            let mut out = Vec::new();
            let header = "kubectl target `cluster`: context prod-eu, namespace camunda";
            let got = ask(
                &mut answer.as_bytes(),
                &mut out,
                header,
                "delete-indices",
                &calls,
            );
            assert_eq!(got, expected, "{answer:?}");
            let text = String::from_utf8(out).unwrap();
            assert!(
                text.contains(
                    "step `delete-indices` is destructive; it is about to make 2 call(s)"
                ) && text.contains(&format!(
                    "  {header}\n  DELETE http://es/a\n  DELETE http://es/b\n"
                )),
                "{text}"
            );
            assert_eq!(text.contains("not confirmed"), !expected, "{text}");
        }
    }
}
