//! A small builder around the real `runbook` binary (the just/ripgrep pattern).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `runbook args...` from the repository root, with no colour and a fixed width.
pub fn runbook<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out: Output = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("runbook runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn fixture(rel: &str) -> String {
    Path::new("tests/fixtures").join(rel).display().to_string()
}

/// A `runbook sim` process started in `dir` with its values file `values.yaml`, and a
/// minimal HTTP/1.0 client for its control API; killed on drop.
pub struct SimProcess {
    child: std::process::Child,
    pub control: String,
    dir: PathBuf,
}

impl SimProcess {
    /// Starts `runbook sim --values-out values.yaml --state-dir sim --for 300s <args>` in
    /// `dir` and waits (bounded) until it has written the values file.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        Self::start_for(dir, "300s", args)
    }

    /// [`SimProcess::start`] with another lifetime (`--for`), for tests that keep one
    /// simulator through many runs.
    pub fn start_for(dir: &Path, lifetime: &str, args: &[&str]) -> Self {
        use std::process::Stdio;
        use std::time::{Duration, Instant};
        let child = Command::new(env!("CARGO_BIN_EXE_runbook"))
            .args([
                "sim",
                "--for",
                lifetime,
                "--values-out",
                "values.yaml",
                "--state-dir",
                "sim",
            ])
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("runbook sim starts");
        let values = dir.join("values.yaml");
        let deadline = Instant::now() + Duration::from_secs(20);
        let control = loop {
            let text = std::fs::read_to_string(&values).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.starts_with("sim_url:")) {
                break line.split('"').nth(1).unwrap_or_default().to_string();
            }
            assert!(Instant::now() < deadline, "simulator did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Self {
            child,
            control,
            dir: dir.to_path_buf(),
        }
    }

    /// Starts a simulator of `version` on Elasticsearch with `scenario` (the text of a
    /// scenario file, written to `scenario.yaml` in `dir`).
    pub fn start_scenario(dir: &Path, version: &str, scenario: &str) -> Self {
        std::fs::write(dir.join("scenario.yaml"), scenario).expect("write the scenario");
        let args = [
            "--camunda-version",
            version,
            "--datastore",
            "elasticsearch",
            "--scenario",
            "scenario.yaml",
        ];
        Self::start(dir, &args)
    }

    /// One request to the control API; the body parsed as JSON (Null if it is not).
    pub fn call(&self, method: &str, path: &str, body: &str) -> serde_json::Value {
        http10(&self.control, method, path, body)
    }

    /// One request to the simulated datastore (its URL from the values file), as a test
    /// that plays "someone else" changing the cluster.
    pub fn datastore(&self, method: &str, path: &str) -> serde_json::Value {
        let values = std::fs::read_to_string(self.dir.join("values.yaml")).expect("values");
        let url = values
            .lines()
            .find_map(|l| l.strip_prefix("datastore_url:"))
            .expect("datastore_url in the values file")
            .trim()
            .trim_matches('"')
            .to_string();
        http10(&url, method, path, "")
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        self.call("GET", path, "")
    }
}

/// One HTTP/1.0 request to `base` (`http://host:port`); the body parsed as JSON (Null if it
/// is not). Bounded: a 10 s read timeout.
fn http10(base: &str, method: &str, path: &str, body: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let hostport = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(hostport).expect("connect to the simulator");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("null");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// `runbook recover --resume --yes --state-dir runs --report report.json` in `dir`.
pub fn recover_resume(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_runbook"));
    c.args([
        "recover",
        "--resume",
        "--yes",
        "--state-dir",
        "runs",
        "--report",
        "report.json",
    ])
    .current_dir(dir)
    .env("NO_COLOR", "1")
    .stdin(std::process::Stdio::null());
    c
}

/// Runs `c` to its end: exit code (-1 when killed by a signal) and stdout + stderr.
pub fn output(mut c: Command) -> (i32, String) {
    let out = c.output().expect("runbook runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `runbook run <plan> -f values.yaml --state-dir runs --report report.json <extra>` in
/// `dir`, the directory of a [`SimProcess`]: a plan run against the simulator.
pub fn run_against_sim(dir: &Path, plan: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_runbook"));
    c.arg("run")
        .arg(plan)
        .args([
            "-f",
            "values.yaml",
            "--state-dir",
            "runs",
            "--report",
            "report.json",
        ])
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // The 8.10 simulator's REST API client secret (its default `rest_client_secret`); only
        // the 8.10 plans read it.
        .env("RUNBOOK_CAMUNDA_CLIENT_SECRET", "sim-client-secret")
        .stdin(std::process::Stdio::null());
    c
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `app` on 127.0.0.1 (a free port) from its own thread for the rest of the test
/// binary's life; returns the address once it listens (bounded: 10 s).
pub fn serve_on_loopback(app: axum::Router) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1");
            tx.send(listener.local_addr().expect("local addr"))
                .expect("send the address");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("the loopback server starts")
}
