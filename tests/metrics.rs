//! Issue 14, metrics: a backup against `runbook sim` with `--metrics-file` and `--pushgateway`
//! pointed at a Pushgateway-compatible endpoint on 127.0.0.1 (a small server here speaking the
//! Pushgateway's push API: `POST /metrics/job/<job>{/<label>/<value>}`, text format 0.0.4).
//! Both bodies must pass a strict checker of the Prometheus text exposition format.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode, Uri};

use crate::harness::{SimProcess, root, run_against_sim};

/// One push the gateway received.
#[derive(Clone, Debug)]
struct Push {
    method: Method,
    path: String,
    content_type: String,
    body: String,
}

/// A Pushgateway stand-in: accepts PUT/POST under `/metrics/job/`, answers 200 and keeps
/// what it was sent; anything else is 400, as the real one refuses it.
struct Gateway {
    addr: SocketAddr,
    pushes: Arc<Mutex<Vec<Push>>>,
}

impl Gateway {
    fn start() -> Self {
        let pushes = Arc::new(Mutex::new(Vec::new()));
        let kept = pushes.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
                let kept = kept.clone();
                async move {
                    let ok = matches!(method, Method::PUT | Method::POST)
                        && uri.path().starts_with("/metrics/job/");
                    kept.lock().unwrap().push(Push {
                        method,
                        path: uri.path().to_string(),
                        content_type: headers
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string(),
                        body,
                    });
                    if ok {
                        StatusCode::OK
                    } else {
                        StatusCode::BAD_REQUEST
                    }
                }
            },
        );
        let addr = crate::harness::serve_on_loopback(app);
        Self { addr, pushes }
    }
}

/// One sample: metric name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// A strict reader of the text exposition format (0.0.4): HELP/TYPE before their samples,
/// one TYPE per family, a family's samples together, metric and label names valid, label
/// values with only `\\`, `\"` and `\n` escapes, values that parse, no series twice.
fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    let valid_name = |n: &str, colon: bool| {
        let mut cs = n.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    };
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut finished_families: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut series = HashSet::new();
    let mut samples = Vec::new();
    if !text.ends_with('\n') {
        return Err("the text must end with a newline".into());
    }
    for (n, line) in text.lines().enumerate() {
        let at = |m: &str| format!("line {}: {m}: {line}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    if !valid_name(name, true) {
                        return Err(at("bad metric name"));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at("bad type"));
                    }
                    if typed.insert(name.into(), kind.into()).is_some() {
                        return Err(at("second TYPE for a family"));
                    }
                    if finished_families.contains(name) || current.as_deref() == Some(name) {
                        return Err(at("TYPE after the family's samples"));
                    }
                }
                (Some("HELP"), Some(name), _) if valid_name(name, true) => {}
                (Some("HELP" | "TYPE"), ..) => return Err(at("malformed HELP/TYPE")),
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => return Err(at("no value")),
        };
        if !valid_name(name, true) {
            return Err(at("bad metric name"));
        }
        let mut labels = Vec::new();
        let rest = if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices().peekable();
            let end;
            loop {
                let Some(&(i, c)) = chars.peek() else {
                    return Err(at("unclosed labels"));
                };
                if c == '}' {
                    end = i + 1;
                    break;
                }
                let start = i;
                let mut key_end = start;
                while let Some(&(j, c)) = chars.peek() {
                    if c == '=' {
                        key_end = j;
                        break;
                    }
                    chars.next();
                }
                let key = &inner[start..key_end];
                if !valid_name(key, false) || key.starts_with("__") {
                    return Err(at("bad label name"));
                }
                chars.next(); // '='
                if chars.next().map(|x| x.1) != Some('"') {
                    return Err(at("label value not quoted"));
                }
                let mut value = String::new();
                loop {
                    match chars.next().map(|x| x.1) {
                        Some('\\') => match chars.next().map(|x| x.1) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            _ => return Err(at("bad escape")),
                        },
                        Some('"') => break,
                        Some('\n') | None => return Err(at("unterminated label value")),
                        Some(c) => value.push(c),
                    }
                }
                if labels.iter().any(|(k, _): &(String, String)| k == key) {
                    return Err(at("label twice"));
                }
                labels.push((key.to_string(), value));
                match chars.peek().map(|x| x.1) {
                    Some(',') => {
                        chars.next();
                    }
                    Some('}') => {}
                    _ => return Err(at("expected , or }")),
                }
            }
            &inner[end..]
        } else {
            rest
        };
        let mut fields = rest.trim_start_matches(' ').split(' ');
        let value = fields.next().unwrap_or("");
        let value = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse::<f64>().map_err(|_| at("bad value"))?,
        };
        if let Some(ts) = fields.next()
            && ts.parse::<i64>().is_err()
        {
            return Err(at("bad timestamp"));
        }
        if fields.next().is_some() {
            return Err(at("trailing text"));
        }
        if current.as_deref() != Some(name) {
            if finished_families.contains(name) {
                return Err(at("a family's samples are not together"));
            }
            if let Some(prev) = current.take() {
                finished_families.insert(prev);
            }
            current = Some(name.to_string());
        }
        let mut key = labels.clone();
        key.sort();
        if !series.insert((name.to_string(), key)) {
            return Err(at("the same series twice"));
        }
        samples.push((name.to_string(), labels, value));
    }
    // Naming conventions: our prefix, units in the name, no counter suffix on a gauge.
    for (name, kind) in &typed {
        if !name.starts_with("runbook_") {
            return Err(format!("{name}: not runbook_-prefixed"));
        }
        if kind == "gauge" && name.ends_with("_total") {
            return Err(format!("{name}: a gauge named like a counter"));
        }
    }
    for (name, ..) in &samples {
        if !typed.contains_key(name) {
            return Err(format!("{name}: samples without a TYPE"));
        }
    }
    Ok(samples)
}

fn value(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name && label.is_none_or(|(k, v)| l.iter().any(|(a, b)| a == k && b == v))
        })
        .map(|s| s.2)
}

#[test]
fn the_checker_refuses_what_prometheus_refuses() {
    let good = "# HELP runbook_x X.\n# TYPE runbook_x gauge\nrunbook_x{a=\"1\",b=\"q\\\"\"} 1.5\nrunbook_x{a=\"2\"} 2\n";
    assert_eq!(parse_exposition(good).unwrap().len(), 2);
    for bad in [
        "runbook_x 1\n",                                                 // no TYPE
        "# TYPE runbook_x gauge\nrunbook_x{a=1} 1\n",                    // unquoted
        "# TYPE runbook_x gauge\nrunbook_x{a=\"\\t\"} 1\n",              // bad escape
        "# TYPE runbook_x gauge\nrunbook_x one\n",                       // bad value
        "# TYPE runbook_x gauge\nrunbook_x 1\nrunbook_x 2\n",            // twice
        "# TYPE runbook_x gauge\n# TYPE runbook_x gauge\nrunbook_x 1\n", // two TYPEs
        "# TYPE runbook_x gauge\n# TYPE runbook_y gauge\nrunbook_x 1\nrunbook_y 1\nrunbook_x{a=\"b\"} 1\n",
        "# TYPE runbook_x gauge\nrunbook_x 1", // no final newline
        "# TYPE runbook-x gauge\nrunbook-x 1\n", // bad name
    ] {
        assert!(parse_exposition(bad).is_err(), "accepted: {bad}");
    }
}

#[test]
fn a_backup_pushes_and_writes_valid_metrics_with_backup_id_steps_and_paused_window() {
    let gateway = Gateway::start();
    let dir = tempfile::tempdir().unwrap();
    let _sim = SimProcess::start(dir.path(), &[]);
    let plan = root().join("plans/camunda/backup-8.8.yaml");
    let url = format!("http://{}", gateway.addr);
    let out = run_against_sim(
        dir.path(),
        &plan,
        &["--metrics-file", "runbook.prom", "--pushgateway", &url],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let backup_id = report["run"]["params"]["backup_id"].as_u64().unwrap();

    let file = std::fs::read_to_string(dir.path().join("runbook.prom")).unwrap();
    let samples = parse_exposition(&file).unwrap_or_else(|e| panic!("{e}\n{file}"));
    let plan_label = ("plan", "camunda-8.8-backup");
    assert!(samples.iter().all(|(_, l, _)| {
        l.iter()
            .any(|(k, v)| (k.as_str(), v.as_str()) == plan_label)
    }));
    let success = value(&samples, "runbook_last_success_timestamp_seconds", None).unwrap();
    assert!(success > 1.7e9, "{success}");
    #[allow(clippy::cast_precision_loss)]
    let id = backup_id as f64;
    assert_eq!(
        value(&samples, "runbook_last_success_backup_id", None),
        Some(id)
    );
    assert_eq!(
        value(
            &samples,
            "runbook_run_outcome",
            Some(("outcome", "succeeded"))
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "runbook_run_info",
            Some(("backup_id", &backup_id.to_string()))
        ),
        Some(1.0)
    );
    let wait = value(
        &samples,
        "runbook_step_duration_seconds",
        Some(("step", "seen-zeebe")),
    )
    .unwrap();
    let total = value(&samples, "runbook_run_duration_seconds", None).unwrap();
    let paused = value(
        &samples,
        "runbook_window_seconds",
        Some(("window", "exporting_paused")),
    )
    .unwrap();
    assert!(
        wait > 0.0 && wait < paused && paused <= total + 0.01,
        "{wait} {paused} {total}"
    );

    let pushes = gateway.pushes.lock().unwrap().clone();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    let push = &pushes[0];
    // POST: replaces the pushed names only, so a failed run keeps runbook_last_success_*.
    assert_eq!(push.method, Method::POST);
    assert_eq!(push.path, "/metrics/job/runbook/plan/camunda-8.8-backup");
    assert!(
        push.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        push.content_type
    );
    let pushed = parse_exposition(&push.body).unwrap_or_else(|e| panic!("{e}\n{}", push.body));
    // The grouping key names the plan: a sample repeating it would be refused.
    assert!(
        pushed
            .iter()
            .all(|(_, l, _)| l.iter().all(|(k, _)| k != "plan"))
    );
    assert_eq!(
        value(&pushed, "runbook_last_success_backup_id", None),
        Some(id)
    );
}

#[test]
fn an_unreachable_pushgateway_turns_success_into_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let _sim = SimProcess::start(dir.path(), &[]);
    let plan = root().join("plans/camunda/backup-8.8.yaml");
    // Port 9 on loopback: nothing listens (connection refused at once).
    let out = run_against_sim(dir.path(), &plan, &["--pushgateway", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("cannot push the metrics"), "{stderr}");
}
