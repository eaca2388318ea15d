//! bench_run: what the run engine costs per step. Starts a loopback HTTP server that answers
//! every request with 200 `{}` at once, runs a 10k-step plan of GETs against it through the
//! release `runbook run` binary (so the figure includes validation, the journal with its
//! group commit, and the recorder), and compares with the same requests issued by a tight
//! reqwest loop at the same parallelism. The difference is the engine's overhead.
//!
//! `cargo build --release && cargo run --release --example bench_run [-- STEPS]`
//!
//! It measures and prints; it asserts nothing. The server shares the machine with the
//! process under test, in both the engine run and the ideal loop, so they stay comparable.

use std::time::{Duration, Instant};

use futures::StreamExt;

#[path = "common/child.rs"]
mod child;

const PARALLEL: usize = 64;
const CHAINS: usize = 100;
const CHAIN_LEN: usize = 20;

/// A wide fan-out from one root, plus 100 chains of 20 steps hanging off the same root.
fn plan_text(steps: usize) -> String {
    let mut t = String::from(
        "apiVersion: runbook/v1\nkind: Plan\nname: bench-run\n\
         params:\n  url: { type: url, required: true }\n\
         targets:\n  api: { http: { url: \"{{params.url}}\", timeout: 30s } }\nsteps:\n",
    );
    let chained = (CHAINS * CHAIN_LEN).min(steps.saturating_sub(1));
    let wide = steps - chained;
    for i in 0..steps {
        let needs = if i == 0 {
            None
        } else if i < wide {
            Some(0)
        } else {
            let pos = (i - wide) % CHAIN_LEN;
            Some(if pos == 0 { 0 } else { i - 1 })
        };
        t.push_str(&format!("  - id: s{i}\n"));
        if let Some(n) = needs {
            t.push_str(&format!("    needs: [s{n}]\n"));
        }
        t.push_str(&format!(
            "    http: {{ target: api, path: \"/items/{i}\" }}\n    check: '.status == 200'\n"
        ));
    }
    t
}

async fn serve() -> std::net::SocketAddr {
    let app = axum::Router::new().fallback(|| async { axum::Json(serde_json::json!({})) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// The same requests with nothing in between: the floor any engine pays.
async fn ideal(base: &str, steps: usize) -> Duration {
    let client = reqwest::Client::new();
    let started = Instant::now();
    futures::stream::iter(0..steps)
        .map(|i| {
            let client = client.clone();
            let url = format!("{base}/items/{i}");
            async move {
                let r = client.get(url).send().await.expect("ideal request");
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await;
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<()>>()
        .await;
    started.elapsed()
}

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let bin = child::release_binary();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = rt.block_on(serve());
    let base = format!("http://{addr}");
    let tmp = tempfile::tempdir().expect("tempdir");
    let plan = tmp.path().join("bench-run.yaml");
    std::fs::write(&plan, plan_text(steps)).expect("write plan");

    // Warm the server and the loopback path once, then the ideal loop.
    rt.block_on(ideal(&base, 500));
    let ideal_time = rt.block_on(ideal(&base, steps));

    let state = tmp.path().join("state");
    let log = tmp.path().join("run.log");
    let args: Vec<String> = [
        "run",
        plan.to_str().expect("utf-8 path"),
        "--set",
        &format!("url={base}"),
        "--max-parallel",
        &PARALLEL.to_string(),
        "--state-dir",
        state.to_str().expect("utf-8 path"),
        "--log-format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let m = child::run_binary(&bin, &args, &state, &log, &mut || {});
    if m.exit != Some(0) {
        eprintln!("runbook exited with {:?}; last log lines:", m.exit);
        child::print_tail(&log, 20);
    }
    let per_step = |d: Duration| d.as_secs_f64() * 1e6 / steps as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "runbook run benchmark: {steps} HTTP GET steps (wide fan-out + {CHAINS} chains of {CHAIN_LEN}), --max-parallel {PARALLEL}, loopback server\n"
    );
    println!("| figure | value |");
    println!("|---|---:|");
    println!(
        "| ideal: same requests, tight reqwest loop | {:.0} ms |",
        ms(ideal_time)
    );
    println!(
        "| runbook wall time (process start to exit) | {:.0} ms |",
        ms(m.wall)
    );
    if let Some(run) = m.run {
        println!(
            "| runbook run time (journal `run_finished`) | {:.0} ms |",
            ms(run)
        );
        println!(
            "| overhead per step, run time vs ideal | {:.1} µs |",
            per_step(run.saturating_sub(ideal_time))
        );
    }
    println!(
        "| overhead per step, wall time vs ideal | {:.1} µs |",
        per_step(m.wall.saturating_sub(ideal_time))
    );
    println!("| runbook CPU (user + sys) | {:.2} s |", m.cpu);
    println!(
        "| runbook CPU per step | {:.0} µs |",
        m.cpu * 1e6 / steps as f64
    );
    println!(
        "| runbook peak RSS (VmHWM) | {:.1} MiB |",
        m.peak_kib as f64 / 1024.0
    );
    println!("| exit code | {:?} |", m.exit);
}
