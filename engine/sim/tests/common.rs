//! Helpers shared by the simulator tests: start a fast simulator, call it, poll with a bound.

use std::time::Duration;

use serde_json::Value;

use crate::{SimConfig, SimHandle, Timing, start};

/// How long a test waits for a condition before it fails. Generous on purpose: this bounds a
/// wait on a loaded 2-core machine, it does not time anything.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` until it yields a value, for up to [`PATIENCE`]; panics naming `what`.
pub async fn poll<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never within {PATIENCE:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub struct Sim {
    pub handle: SimHandle,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub fn fast_timing() -> Timing {
    Timing {
        tick_ms: 10,
        records_per_tick: 2,
        snapshot_part_ms: 20,
        zeebe_backup_ms: 40,
        restore_ms: 10,
        pod_start_ms: 30,
        incomplete_check_timeout_ms: 200,
    }
}

/// Starts a simulator with fast timing, after `tweak` adjusted the configuration.
pub async fn sim(tweak: impl FnOnce(&mut SimConfig)) -> Sim {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = SimConfig {
        state_dir: dir.path().to_path_buf(),
        timing: fast_timing(),
        ..SimConfig::default()
    };
    tweak(&mut config);
    let handle = start(config).await.expect("simulator starts");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    Sim {
        handle,
        http,
        _dir: dir,
    }
}

/// A response: status, raw body text, parsed JSON (Null if not JSON).
pub struct Got {
    pub status: u16,
    pub text: String,
    pub json: Value,
}

impl Sim {
    pub fn orch(&self) -> String {
        self.handle
            .urls()
            .orchestration
            .clone()
            .expect("orchestration url")
    }
    pub fn opt(&self) -> String {
        self.handle.urls().optimize.clone().expect("optimize url")
    }
    pub fn es(&self) -> String {
        self.handle.urls().datastore.clone()
    }
    pub fn ctl(&self) -> String {
        self.handle.urls().control.clone()
    }

    pub async fn call(&self, method: &str, url: &str, body: Option<&str>) -> Got {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, url);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = rb.send().await.expect("request succeeds");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Got { status, text, json }
    }
    pub async fn get(&self, url: &str) -> Got {
        self.call("GET", url, None).await
    }
    pub async fn post(&self, url: &str, body: &str) -> Got {
        self.call("POST", url, Some(body)).await
    }

    /// Polls `url` until `.state` is one of `states` (bounded by [`PATIENCE`]).
    pub async fn wait_state(&self, url: &str, states: &[&str]) -> Got {
        poll(&format!("{url} reaches {states:?}"), || async {
            let got = self.get(url).await;
            let state = got.json.get("state").and_then(Value::as_str);
            state.is_some_and(|s| states.contains(&s)).then_some(got)
        })
        .await
    }

    pub async fn advance(&self, records: u64) {
        let got = self
            .post(
                &format!("{}/sim/advance", self.ctl()),
                &format!("{{\"records\":{records}}}"),
            )
            .await;
        assert_eq!(got.status, 200);
    }

    pub async fn state(&self) -> Value {
        self.get(&format!("{}/sim/state", self.ctl())).await.json
    }
}
