//! Scheduler tests: a scripted executor (no network, no processes) and paused time, so
//! timings are exact and the tests take no real time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value as Json, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Interrupts, RunOptions, run};
use crate::executor::{ActionRequest, ActionResult, Executor, StepError, TransportKind};
use crate::run::context::{EventSink, RunEnv};
use crate::run::events::{Outcome, Phase, RunEvent};
use crate::run::redact::Redactor;

/// Answers by URL path: a script of replies (the last one repeats) and a delay per call.
#[derive(Default)]
struct Scripted {
    replies: Mutex<HashMap<String, Vec<Reply>>>,
    delays: HashMap<String, Duration>,
    calls: Mutex<Vec<(String, Instant)>>,
}

#[derive(Clone)]
enum Reply {
    Ok(Json),
    Status(u16),
    Refused,
}

impl Scripted {
    fn reply(self, path: &str, replies: Vec<Reply>) -> Self {
        self.replies
            .lock()
            .unwrap()
            .insert(path.to_string(), replies);
        self
    }
    fn delay(mut self, path: &str, d: Duration) -> Self {
        self.delays.insert(path.to_string(), d);
        self
    }
    fn calls(&self) -> Vec<(String, Instant)> {
        self.calls.lock().unwrap().clone()
    }
    fn paths(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.0).collect()
    }
}

fn path_of(req: &ActionRequest) -> String {
    match req {
        ActionRequest::Http(h) => h.url.trim_start_matches("http://sim").to_string(),
        ActionRequest::Kubectl(k) => k.args.join(" "),
        ActionRequest::Exec(e) => e.executor.clone(),
    }
}

impl Executor for Scripted {
    fn execute<'a>(
        &'a self,
        request: &'a ActionRequest,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<ActionResult, StepError>> {
        Box::pin(async move {
            let path = path_of(request);
            self.calls
                .lock()
                .unwrap()
                .push((path.clone(), Instant::now()));
            if let Some(d) = self.delays.get(&path) {
                tokio::select! {
                    () = tokio::time::sleep(*d) => {}
                    () = cancel.cancelled() => return Err(StepError::Cancelled),
                }
            }
            let reply = {
                let mut replies = self.replies.lock().unwrap();
                match replies.get_mut(&path) {
                    Some(list) if list.len() > 1 => list.remove(0),
                    Some(list) => list[0].clone(),
                    None => Reply::Ok(json!({})),
                }
            };
            match reply {
                Reply::Ok(body) => Ok(ActionResult::new(
                    json!({"status": 200, "headers": {}, "body": body}),
                )),
                Reply::Status(status) => Err(StepError::HttpStatus {
                    status,
                    method: "GET".into(),
                    url: path,
                    body_excerpt: String::new(),
                    result: Box::new(ActionResult::new(json!({"status": status}))),
                }),
                Reply::Refused => Err(StepError::Transport {
                    message: "connection refused".into(),
                    kind: TransportKind::Connect,
                }),
            }
        })
    }
}

#[derive(Default)]
struct Collect(Mutex<Vec<RunEvent>>);

impl EventSink for Collect {
    fn emit(&self, event: RunEvent, durable: Option<tokio::sync::oneshot::Sender<()>>) {
        self.0.lock().unwrap().push(event);
        if let Some(d) = durable {
            let _ = d.send(());
        }
    }
}

const HEAD: &str =
    "apiVersion: runbook/v1\nkind: Plan\nname: t\ntargets:\n  sim: {http: {url: \"http://sim\"}}\n";

struct Harness {
    exec: Arc<Scripted>,
    events: Arc<Collect>,
    result: super::RunResult,
    elapsed: Duration,
}

async fn go(yaml: &str, exec: Scripted, opts: RunOptions, interrupts: Interrupts) -> Harness {
    go_with(yaml, exec, opts, interrupts, None).await
}

/// `go` with a confirmer for destructive steps.
async fn go_with(
    yaml: &str,
    exec: Scripted,
    opts: RunOptions,
    interrupts: Interrupts,
    confirm: Option<crate::run::confirm::Confirmer>,
) -> Harness {
    go_env(yaml, exec, (opts, interrupts), |env| env.confirm = confirm).await
}

/// `go` with the run's environment set up by `setup` first (a confirmer, a resumed journal).
async fn go_env(
    yaml: &str,
    exec: Scripted,
    (opts, interrupts): (RunOptions, Interrupts),
    setup: impl FnOnce(&mut RunEnv),
) -> Harness {
    let text = format!("{HEAD}{yaml}");
    let (plan, graphs) = crate::plan::loader::valid_for_test(&text);
    let params =
        crate::run::inputs::resolve(&plan, &crate::run::inputs::Inputs::default(), &|_| None)
            .expect("params");
    let exec = Arc::new(exec);
    let events = Arc::new(Collect::default());
    let env = RunEnv::new(
        Arc::new(plan),
        exec.clone(),
        Json::Object(params.values),
        json!({"id": "r1"}),
        events.clone(),
        Redactor::default(),
        graphs.reads.clone(),
    )
    .unwrap();
    let mut env = env;
    setup(&mut env);
    let start = Instant::now();
    let result = run(Arc::new(env), &graphs, &opts, &interrupts).await;
    Harness {
        exec,
        events,
        result,
        elapsed: start.elapsed(),
    }
}

fn opts() -> RunOptions {
    RunOptions {
        max_parallel: 16,
        timeout: None,
    }
}

impl Harness {
    fn events(&self) -> Vec<RunEvent> {
        self.events.0.lock().unwrap().clone()
    }
    fn succeeded(&self, phase: Phase) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                RunEvent::StepSucceeded { phase: p, id, .. } if p == phase => Some(id),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn independent_steps_start_together() {
    let exec = Scripted::default()
        .delay("/a", Duration::from_secs(1))
        .delay("/b", Duration::from_secs(1))
        .delay("/c", Duration::from_secs(1));
    let yaml = "steps:\n  - {id: a, http: {target: sim, path: /a}}\n  - {id: b, http: {target: sim, path: /b}}\n  - {id: c, http: {target: sim, path: /c}}\n  - {id: d, needs: [a, b, c], http: {target: sim, path: /d}}\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Succeeded);
    let calls = h.exec.calls();
    let t0 = calls[0].1;
    assert!(
        calls[..3].iter().all(|c| c.1 == t0),
        "a, b, c start at the same instant"
    );
    assert_eq!(calls[3].0, "/d");
    assert_eq!(calls[3].1 - t0, Duration::from_secs(1));
    assert!(h.elapsed < Duration::from_millis(1100), "{:?}", h.elapsed);
}

#[tokio::test(start_paused = true)]
async fn max_parallel_bounds_concurrency() {
    let exec = Scripted::default()
        .delay("/a", Duration::from_secs(1))
        .delay("/b", Duration::from_secs(1));
    let yaml = "steps:\n  - {id: a, http: {target: sim, path: /a}}\n  - {id: b, http: {target: sim, path: /b}}\n";
    let h = go(
        yaml,
        exec,
        RunOptions {
            max_parallel: 1,
            timeout: None,
        },
        Interrupts::default(),
    )
    .await;
    assert_eq!(h.elapsed, Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn retries_retryable_errors_with_exponential_backoff() {
    let exec = Scripted::default().reply(
        "/x",
        vec![Reply::Status(503), Reply::Refused, Reply::Ok(json!({}))],
    );
    let yaml = "steps:\n  - id: x\n    http: {target: sim, path: /x}\n    retry: {attempts: 3, backoff: {initial: 1s, max: 10s, multiplier: 2}, jitter: false}\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Succeeded);
    let calls = h.exec.calls();
    let t0 = calls[0].1;
    let offsets: Vec<Duration> = calls.iter().map(|c| c.1 - t0).collect();
    assert_eq!(
        offsets,
        vec![
            Duration::ZERO,
            Duration::from_secs(1),
            Duration::from_secs(3)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_bounds_and_attempts_are_capped() {
    let exec = Scripted::default().reply("/x", vec![Reply::Status(500)]);
    let yaml = "steps:\n  - id: x\n    http: {target: sim, path: /x}\n    retry: {attempts: 4, backoff: {initial: 2s, max: 4s, multiplier: 2}}\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Failed);
    let calls = h.exec.calls();
    assert_eq!(calls.len(), 4);
    let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1].1 - w[0].1).collect();
    for (gap, nominal) in gaps.iter().zip([2, 4, 4]) {
        let nominal = Duration::from_secs(nominal);
        assert!(
            *gap >= nominal / 2 && *gap <= nominal,
            "gap {gap:?} outside [{:?}, {nominal:?}]",
            nominal / 2
        );
    }
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_not_retried() {
    let exec = Scripted::default().reply("/x", vec![Reply::Status(404)]);
    let yaml = "steps:\n  - id: x\n    http: {target: sim, path: /x}\n    retry: {attempts: 5}\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Failed);
    assert_eq!(h.exec.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn step_timeout_fails_the_attempt() {
    let exec = Scripted::default().delay("/slow", Duration::from_secs(60));
    let yaml = "steps:\n  - {id: slow, timeout: 2s, http: {target: sim, path: /slow}}\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Failed);
    assert!(
        h.result.failed[0].1.contains("timed out after 2s"),
        "{:?}",
        h.result.failed
    );
    assert_eq!(h.elapsed, Duration::from_secs(2));
}

const CHAIN: &str = "steps:
  - {id: a, http: {target: sim, path: /a}, undo: {http: {target: sim, path: /undo-a}}}
  - {id: b, needs: [a], http: {target: sim, path: /b}, undo: {http: {target: sim, path: /undo-b}}}
  - {id: c, needs: [b], http: {target: sim, path: /c}, undo: {http: {target: sim, path: /undo-c}}}
  - {id: d, needs: [c], http: {target: sim, path: /d}}
finally:
  - {id: resume, http: {target: sim, path: /resume}}
";

#[tokio::test(start_paused = true)]
async fn undo_runs_in_reverse_order_of_completion_then_finally() {
    let exec = Scripted::default().reply("/d", vec![Reply::Status(400)]);
    let h = go(CHAIN, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Failed);
    assert_eq!(
        h.exec.paths(),
        vec![
            "/a", "/b", "/c", "/d", "/undo-c", "/undo-b", "/undo-a", "/resume"
        ]
    );
    assert_eq!(h.succeeded(Phase::Finally), vec!["resume"]);
}

#[tokio::test(start_paused = true)]
async fn finally_runs_after_success_too() {
    let h = go(CHAIN, Scripted::default(), opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Succeeded);
    assert_eq!(h.exec.paths(), vec!["/a", "/b", "/c", "/d", "/resume"]);
}

#[tokio::test(start_paused = true)]
async fn interrupt_cancels_running_steps_then_undo_and_finally() {
    let exec = Scripted::default().delay("/c", Duration::from_secs(30));
    let interrupts = Interrupts::default();
    let stop = interrupts.stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.cancel();
    });
    let h = go(CHAIN, exec, opts(), interrupts).await;
    assert_eq!(h.result.outcome, Outcome::Interrupted);
    assert_eq!(
        h.exec.paths(),
        vec!["/a", "/b", "/c", "/undo-b", "/undo-a", "/resume"]
    );
    assert_eq!(h.elapsed, Duration::from_secs(1));
    assert_eq!(Outcome::Interrupted.exit_code(), 130);
}

#[tokio::test(start_paused = true)]
async fn second_interrupt_skips_undos_but_not_finally() {
    let exec = Scripted::default()
        .delay("/c", Duration::from_secs(30))
        .delay("/undo-b", Duration::from_secs(30));
    let interrupts = Interrupts::default();
    let (stop, skip) = (interrupts.stop.clone(), interrupts.skip_undo.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.cancel();
        tokio::time::sleep(Duration::from_secs(1)).await;
        skip.cancel();
    });
    let h = go(CHAIN, exec, opts(), interrupts).await;
    assert_eq!(h.exec.paths(), vec!["/a", "/b", "/c", "/undo-b", "/resume"]);
    assert_eq!(
        h.result.outcome,
        Outcome::CompensationFailed,
        "a skipped undo needs a human"
    );
}

#[tokio::test(start_paused = true)]
async fn run_timeout_takes_the_interrupt_path() {
    let exec = Scripted::default().delay("/c", Duration::from_secs(30));
    let h = go(
        CHAIN,
        exec,
        RunOptions {
            max_parallel: 4,
            timeout: Some(Duration::from_secs(5)),
        },
        Interrupts::default(),
    )
    .await;
    assert_eq!(h.result.outcome, Outcome::TimedOut);
    assert_eq!(Outcome::TimedOut.exit_code(), 124);
    assert!(
        h.result.message.contains("timed out after 5s"),
        "{}",
        h.result.message
    );
    assert_eq!(
        h.exec.paths(),
        vec!["/a", "/b", "/c", "/undo-b", "/undo-a", "/resume"]
    );
}

#[tokio::test(start_paused = true)]
async fn failed_finally_step_needs_a_human() {
    let exec = Scripted::default().reply("/resume", vec![Reply::Status(500)]);
    let h = go(CHAIN, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::CompensationFailed);
    assert_eq!(Outcome::CompensationFailed.exit_code(), 3);
}

#[tokio::test(start_paused = true)]
async fn when_false_skips_and_dependents_still_run() {
    let yaml = "params:\n  on: {type: boolean, default: false}\nsteps:\n  - {id: a, when: $params.on, http: {target: sim, path: /a}}\n  - {id: b, needs: [a], http: {target: sim, path: /b}}\n";
    let h = go(yaml, Scripted::default(), opts(), Interrupts::default()).await;
    assert_eq!(h.exec.paths(), vec!["/b"]);
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, RunEvent::StepSkipped { id, .. } if id == "a"))
    );
}

#[tokio::test(start_paused = true)]
async fn for_each_fans_out_and_collects_outputs() {
    let exec = Scripted::default()
        .reply("/i/x", vec![Reply::Ok(json!({"n": 1}))])
        .reply("/i/y", vec![Reply::Ok(json!({"n": 2}))]);
    let yaml = "params:\n  names: {type: list, default: [x, y]}\nsteps:\n  - id: each\n    for_each: $params.names\n    http: {target: sim, path: \"/i/{{item}}\"}\n    outputs: {n: .body.n}\n  - {id: after, needs: [each], http: {target: sim, path: \"/sum/{{json steps.each.outputs.n}}\"}}\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Succeeded);
    let mut paths = h.exec.paths();
    paths.sort();
    assert_eq!(paths, vec!["/i/x", "/i/y", "/sum/[1,2]"]);
}

#[tokio::test(start_paused = true)]
async fn for_each_stops_at_the_first_failed_item() {
    // 404 is not retryable: item y fails at once; z must never start (parallelism 1).
    let exec = Scripted::default()
        .reply("/d/x", vec![Reply::Ok(json!({}))])
        .reply("/d/y", vec![Reply::Status(404)])
        .reply("/d/z", vec![Reply::Ok(json!({}))]);
    let yaml = "params:\n  names: {type: list, default: [x, y, z]}\nsteps:\n  - id: each\n    for_each: $params.names\n    parallelism: 1\n    http: {target: sim, method: DELETE, path: \"/d/{{item}}\"}\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Failed);
    assert_eq!(h.exec.paths(), vec!["/d/x", "/d/y"]);
}

#[tokio::test(start_paused = true)]
async fn wait_polls_with_growing_interval_until_done() {
    let states = ["IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]
        .map(|s| Reply::Ok(json!({"state": s})))
        .to_vec();
    let exec = Scripted::default().reply("/w", states);
    let yaml = "steps:\n  - id: w\n    wait:\n      http: {target: sim, path: /w}\n      until: .body.state == \"COMPLETED\"\n      interval: 1s\n      max_interval: 2s\n      timeout: 1m\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Succeeded);
    let calls = h.exec.calls();
    let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1].1 - w[0].1).collect();
    // Three seconds into a wait, 2 % of the time waited is below the first interval: the
    // interval stays at 1s (it grows only once the wait has lasted 50 times as long).
    assert_eq!(gaps, vec![Duration::from_secs(1); 3]);
    let polled = h
        .events()
        .iter()
        .filter(|e| matches!(e, RunEvent::WaitPolled { .. }))
        .count();
    assert_eq!(polled, 2, "only changes of the observed state are recorded");
}

#[tokio::test(start_paused = true)]
async fn wait_fails_fast_and_times_out() {
    let exec = Scripted::default().reply(
        "/w",
        vec![
            Reply::Ok(json!({"state": "IN_PROGRESS"})),
            Reply::Ok(json!({"state": "FAILED"})),
        ],
    );
    let yaml = "steps:\n  - id: w\n    wait:\n      http: {target: sim, path: /w}\n      until: .body.state == \"COMPLETED\"\n      fail_if: .body.state == \"FAILED\"\n      interval: 1s\n      timeout: 1m\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Failed);
    assert_eq!(h.exec.calls().len(), 2);
    let exec = Scripted::default().reply("/w", vec![Reply::Ok(json!({"state": "IN_PROGRESS"}))]);
    let yaml = yaml.replace("timeout: 1m", "timeout: 10s");
    let h = go(&yaml, exec, opts(), Interrupts::default()).await;
    assert!(
        h.result.failed[0]
            .1
            .contains("wait timed out after 10s (last observed \"IN_PROGRESS\")"),
        "{:?}",
        h.result.failed
    );
    assert!(h.elapsed <= Duration::from_secs(10), "{:?}", h.elapsed);
}

#[tokio::test(start_paused = true)]
async fn check_failures_are_retried_and_outputs_flow() {
    let exec = Scripted::default().reply(
        "/p",
        vec![
            Reply::Ok(json!({"status": 500})),
            Reply::Ok(json!({"status": 204, "id": "x1"})),
        ],
    );
    let yaml = "steps:\n  - id: p\n    http: {target: sim, path: /p}\n    check: .body.status == 204\n    retry: {attempts: 2, backoff: {initial: 1s}}\n    outputs: {id: .body.id}\n  - {id: q, needs: [p], http: {target: sim, path: \"/q/{{steps.p.outputs.id}}\"}}\n";
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Succeeded);
    assert_eq!(h.exec.paths(), vec!["/p", "/p", "/q/x1"]);
    // The action worked, its check did not hold yet: progress, not a failure.
    let retried: Vec<String> = h
        .events()
        .iter()
        .filter(|e| matches!(e, RunEvent::StepRetrying { .. }))
        .filter_map(crate::run::recorder::line)
        .collect();
    assert_eq!(retried.len(), 1, "{retried:?}");
    assert!(
        retried[0].starts_with("p not ready yet (saw ") && !retried[0].contains("failed"),
        "{retried:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn finally_reads_the_partial_effects_of_a_failed_for_each() {
    // Parallelism 2: a and b start; a ends, c starts; b fails (404: it reached the server);
    // c is still running and ends on its own; d and e never start.
    let exec = Scripted::default()
        .delay("/s/b", Duration::from_secs(1))
        .reply("/s/b", vec![Reply::Status(404)])
        .delay("/s/c", Duration::from_secs(2))
        .reply("/refused", vec![Reply::Refused])
        // So `refused` (no delay) has ended when `report` reads its effects.
        .delay("/back/a", Duration::from_secs(1));
    let yaml = r#"params:
  names: {type: list, default: [a, b, c, d, e]}
steps:
  - id: each
    for_each: $params.names
    parallelism: 2
    http: {target: sim, method: POST, path: "/s/{{item}}"}
  - {id: never, needs: [each], http: {target: sim, path: /never}}
finally:
  - id: put-back
    when: $effects["each"].status == "failed"
    for_each: $effects["each"].items.succeeded + $effects["each"].items.failed
    http: {target: sim, method: POST, path: "/back/{{item}}"}
  - id: refused
    http: {target: sim, path: /refused}
  - id: report
    needs: [put-back]
    when: $effects["never"] == null and $effects["refused"] == {"status":"failed","reached":false} and $effects["each"].items.not_started == ["d","e"] and $effects["put-back"].status == "succeeded"
    http: {target: sim, path: /report}
"#;
    let h = go(yaml, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::CompensationFailed);
    let mut backs: Vec<String> = h
        .exec
        .paths()
        .into_iter()
        .filter(|p| p.starts_with("/back/"))
        .collect();
    backs.sort();
    assert_eq!(backs, vec!["/back/a", "/back/b", "/back/c"]);
    assert!(
        h.exec.paths().contains(&"/report".to_string()),
        "{:?}",
        h.exec.paths()
    );
}

/// A destructive `for_each` lists its exact calls (items done by nothing else) before any is
/// made; an operator who refuses fails the step before any call, and the run compensates
/// (undo of the earlier step, finally) as for any failure.
#[tokio::test(start_paused = true)]
async fn a_refused_destructive_step_makes_no_call_and_compensates() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let confirm: crate::run::confirm::Confirmer = Arc::new(move |step, calls| {
        seen.lock()
            .unwrap()
            .push((step.to_string(), calls.to_vec()));
        false
    });
    let yaml = r#"params:
  names: {type: list, default: [a, b]}
steps:
  - id: stop
    http: {target: sim, method: POST, path: /stop}
    undo: {http: {target: sim, method: POST, path: /start}}
  - id: wipe
    needs: [stop]
    destructive: true
    for_each: $params.names
    http: {target: sim, method: DELETE, path: "/idx/{{item}}"}
finally:
  - id: tidy
    http: {target: sim, method: POST, path: /tidy}
"#;
    let h = go_with(
        yaml,
        Scripted::default(),
        opts(),
        Interrupts::default(),
        Some(confirm),
    )
    .await;
    assert_eq!(h.result.outcome, Outcome::Failed);
    assert_eq!(h.exec.paths(), vec!["/stop", "/start", "/tidy"]);
    assert_eq!(
        *asked.lock().unwrap(),
        vec![(
            "wipe".to_string(),
            vec![
                "DELETE http://sim/idx/a".to_string(),
                "DELETE http://sim/idx/b".to_string()
            ]
        )]
    );
    let listed = h
        .events()
        .iter()
        .any(|e| matches!(e, RunEvent::DestructiveCalls { id, calls, .. } if id == "wipe" && calls.len() == 2));
    assert!(listed, "{:?}", h.events());
    let failed = h.events().iter().any(|e| matches!(e, RunEvent::StepFailed { id, error, .. } if id == "wipe" && error.contains("not confirmed")));
    assert!(failed, "{:?}", h.events());
}

/// A `for_each` step whose items clean up what their own earlier attempt left: `find`, then
/// one call per string `select` yields for this item; nothing before a first attempt.
const CLEANUP: &str = "steps:\n  - id: r\n    for_each: '[\"a\", \"b\"]'\n    parallelism: 1\n    http: {target: sim, method: POST, path: \"/r/{{item}}\"}\n    check: .body.ok\n    retry: {attempts: 2, backoff: {initial: 1s}}\n    before_retry:\n      find: {http: {target: sim, path: /rec}}\n      select: '.body | to_entries | map(select(.value == $item) | .key)'\n      http: {target: sim, method: DELETE, path: \"/del/{{leftover}}\"}\n";

fn cleanup_exec() -> Scripted {
    Scripted::default()
        .reply(
            "/r/a",
            vec![
                Reply::Ok(json!({"ok": false})),
                Reply::Ok(json!({"ok": true})),
            ],
        )
        .reply("/r/b", vec![Reply::Ok(json!({"ok": true}))])
        .reply(
            "/rec",
            vec![Reply::Ok(json!({"x": "a", "y": "b", "z": "a"}))],
        )
}

#[tokio::test(start_paused = true)]
async fn before_retry_removes_only_what_the_items_earlier_attempt_left() {
    let h = go(CLEANUP, cleanup_exec(), opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Succeeded);
    // Item a: attempt 1, then its clean-up (x and z are a's, y is not), then attempt 2;
    // item b passes at once: no clean-up.
    assert_eq!(
        h.exec.paths(),
        vec!["/r/a", "/rec", "/del/x", "/del/z", "/r/a", "/r/b"]
    );
    let journaled: Vec<(Option<Json>, usize)> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            RunEvent::BeforeRetry { item, calls, .. } => Some((item, calls.len())),
            _ => None,
        })
        .collect();
    assert_eq!(journaled, vec![(Some(json!("a")), 2)]);
}

#[tokio::test(start_paused = true)]
async fn before_retry_runs_first_for_an_item_a_resumed_run_left_started() {
    let exec = cleanup_exec().reply("/r/a", vec![Reply::Ok(json!({"ok": true}))]);
    let h = go_env(CLEANUP, exec, (opts(), Interrupts::default()), |env| {
        env.started_earlier.insert("r".into(), vec![json!("b")]);
    })
    .await;
    assert_eq!(h.result.outcome, Outcome::Succeeded);
    // Only b was in flight when the earlier run stopped: it cleans up before its first attempt.
    assert_eq!(h.exec.paths(), vec!["/r/a", "/rec", "/del/y", "/r/b"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_clean_up_fails_the_attempt() {
    let exec = cleanup_exec().reply("/rec", vec![Reply::Status(400)]);
    let h = go(CLEANUP, exec, opts(), Interrupts::default()).await;
    assert_eq!(h.result.outcome, Outcome::Failed);
    // No attempt follows a clean-up that failed for good.
    assert_eq!(h.exec.paths(), vec!["/r/a", "/rec"]);
    assert!(
        h.result
            .failed
            .iter()
            .any(|(id, e)| id == "r" && e.contains("`before_retry` failed")),
        "{:?}",
        h.result.failed
    );
}
