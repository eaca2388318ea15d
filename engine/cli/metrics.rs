//! metrics: a finished run as Prometheus metrics, for `--metrics-file PATH` (the node
//! exporter's textfile collector: written to a temporary file, then renamed, so a scrape never
//! sees half a file) and `--pushgateway URL` (POSTed to `/metrics/job/runbook/plan/<plan>`).
//! It renders the text exposition format (version 0.0.4) from what the run recorded; every
//! value comes from events, which are masked. It decides no exit code: the caller reports a
//! failure to write or push.
//!
//! `runbook_last_success_*` must survive a failed run (an alert fires on its age): the file
//! keeps the earlier file's lines, and the push uses POST, which replaces only the metric
//! names it sends, and leaves them out.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value as Json};

use crate::run::events::Outcome;

/// Every outcome, for the one-hot `runbook_run_outcome` gauge.
const OUTCOMES: [Outcome; 5] = [
    Outcome::Succeeded,
    Outcome::Failed,
    Outcome::CompensationFailed,
    Outcome::Interrupted,
    Outcome::TimedOut,
];

/// The prefix of the metrics a failed run does not replace.
const LAST_SUCCESS: &str = "runbook_last_success_";

/// One step's row, as the metrics need it.
pub struct StepTiming {
    pub phase: String,
    pub id: String,
    pub duration_ms: u64,
    pub attempts: u32,
}

/// What the metrics of one finished run are made of.
pub struct RunMetrics<'a> {
    pub plan: &'a str,
    pub run_id: &'a str,
    pub outcome: Outcome,
    pub exit_code: u8,
    pub duration_ms: u64,
    /// When the run finished, since the Unix epoch.
    pub finished_at: Duration,
    /// The plan's `result:` as rendered (`backup_id` becomes a label and a gauge).
    pub produced: &'a Map<String, Json>,
    pub steps: Vec<StepTiming>,
    /// The plan's `windows:` that both ends of which ran: (name, seconds).
    pub windows: Vec<(String, f64)>,
}

/// A metric family being written: HELP and TYPE once, then samples.
struct Family<'o> {
    out: &'o mut String,
    /// `plan="..."` when the plan is a label (the file), empty when it is the push's group.
    base: String,
}

impl Family<'_> {
    fn header(&mut self, name: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} gauge");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let mut all: Vec<String> = Vec::new();
        if !self.base.is_empty() {
            all.push(self.base.clone());
        }
        all.extend(
            labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))),
        );
        let labels = if all.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", all.join(","))
        };
        let _ = writeln!(self.out, "{name}{labels} {}", number(value));
    }
}

/// A sample value as the text format writes it (integers without a fraction).
fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// A label value escaped as the text format requires: `\`, `"` and newlines.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The backup id as text (a label) and as a number (a gauge) when it is one.
fn backup_id(produced: &Map<String, Json>) -> Option<(String, Option<f64>)> {
    let v = produced.get("backup_id")?;
    let text = crate::plan::template::display(v);
    let number = v.as_f64().or_else(|| text.parse::<f64>().ok());
    Some((text, number))
}

impl RunMetrics<'_> {
    /// The text exposition format. `plan_label`: give every sample a `plan` label (the file);
    /// a push names the plan in its grouping key instead, and the Pushgateway refuses samples
    /// that repeat a grouping label.
    pub fn render(&self, plan_label: bool) -> String {
        let mut out = String::new();
        let base = if plan_label {
            format!("plan=\"{}\"", escape_label(self.plan))
        } else {
            String::new()
        };
        let mut f = Family {
            out: &mut out,
            base,
        };
        let succeeded = self.outcome == Outcome::Succeeded;
        let finished = self.finished_at.as_secs_f64();
        f.header(
            "runbook_last_run_timestamp_seconds",
            "When the plan's last run finished, in Unix time.",
        );
        f.sample("runbook_last_run_timestamp_seconds", &[], finished);
        if succeeded {
            f.header(
                "runbook_last_success_timestamp_seconds",
                "When a run of the plan last succeeded, in Unix time.",
            );
            f.sample("runbook_last_success_timestamp_seconds", &[], finished);
        }
        let backup = backup_id(self.produced);
        if succeeded && let Some((_, Some(n))) = &backup {
            f.header(
                "runbook_last_success_backup_id",
                "The backup id of the plan's last successful run (plans whose result names a numeric backup_id).",
            );
            f.sample("runbook_last_success_backup_id", &[], *n);
        }
        f.header(
            "runbook_run_duration_seconds",
            "How long the plan's last run took.",
        );
        f.sample(
            "runbook_run_duration_seconds",
            &[],
            ms_to_s(self.duration_ms),
        );
        f.header(
            "runbook_run_outcome",
            "The outcome of the plan's last run: 1 for the outcome it had, 0 for the others.",
        );
        for o in OUTCOMES {
            let name = serde_json::to_value(o)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let v = if o == self.outcome { 1.0 } else { 0.0 };
            f.sample("runbook_run_outcome", &[("outcome", &name)], v);
        }
        f.header(
            "runbook_run_exit_code",
            "The exit code of the plan's last run (README \"Exit codes\").",
        );
        f.sample("runbook_run_exit_code", &[], f64::from(self.exit_code));
        f.header(
            "runbook_run_info",
            "The plan's last run: its id and, when the plan names one, its backup id; always 1.",
        );
        let mut info = vec![("run_id", self.run_id.to_string())];
        if let Some((text, _)) = &backup {
            info.push(("backup_id", text.clone()));
        }
        let info: Vec<(&str, &str)> = info.iter().map(|(k, v)| (*k, v.as_str())).collect();
        f.sample("runbook_run_info", &info, 1.0);
        f.header(
            "runbook_step_duration_seconds",
            "How long each step of the plan's last run took (all attempts).",
        );
        for s in &self.steps {
            f.sample(
                "runbook_step_duration_seconds",
                &[("phase", &s.phase), ("step", &s.id)],
                ms_to_s(s.duration_ms),
            );
        }
        f.header(
            "runbook_step_attempts",
            "Attempts each step of the plan's last run made (of a for_each step: the most any item made).",
        );
        for s in &self.steps {
            f.sample(
                "runbook_step_attempts",
                &[("phase", &s.phase), ("step", &s.id)],
                f64::from(s.attempts),
            );
        }
        if !self.windows.is_empty() {
            f.header(
                "runbook_window_seconds",
                "Each window of the plan's last run (plan `windows:`): from the start of its first step to the end of its last, e.g. exporting_paused.",
            );
            for (name, secs) in &self.windows {
                f.sample("runbook_window_seconds", &[("window", name)], *secs);
            }
        }
        out
    }
}

fn ms_to_s(ms: u64) -> f64 {
    // Metric values are floats; milliseconds of a run fit a float exactly.
    #[allow(clippy::cast_precision_loss)]
    let v = ms as f64 / 1000.0;
    v
}

/// The window `from` → `to` in seconds: from the first start of `from` to the last end of
/// `to` (RFC 3339 stamps); `None` when either did not run in this invocation.
pub fn window_seconds(from_started: Option<&str>, to_finished: Option<&str>) -> Option<f64> {
    let start = crate::clock::parse_rfc3339(from_started?)?;
    let end = crate::clock::parse_rfc3339(to_finished?)?;
    Some(end.checked_sub(start)?.as_secs_f64())
}

/// Writes `text` to `path` for the textfile collector: a temporary file next to it, then a
/// rename, so a scrape reads the old file or the new one. A failed run keeps the earlier
/// file's `runbook_last_success_*` families.
pub fn write_file(path: &Path, text: &str, succeeded: bool) -> std::io::Result<()> {
    let mut text = text.to_string();
    if !succeeded && let Ok(old) = std::fs::read_to_string(path) {
        text.push_str(&carried_forward(&old));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "metrics".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// The `runbook_last_success_*` families of an earlier file, HELP and TYPE included.
fn carried_forward(old: &str) -> String {
    old.lines()
        .filter(|l| {
            let name = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .unwrap_or(l);
            name.starts_with(LAST_SUCCESS)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The Pushgateway URL of the plan's group: `<base>/metrics/job/runbook/plan/<plan>`, the
/// plan base64url-encoded (`plan@base64/...`) when it has characters a path segment may not.
pub fn push_url(base: &str, plan: &str) -> String {
    let base = base.trim_end_matches('/');
    let safe = !plan.is_empty()
        && plan
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if safe {
        format!("{base}/metrics/job/runbook/plan/{plan}")
    } else {
        format!(
            "{base}/metrics/job/runbook/plan@base64/{}",
            base64url(plan.as_bytes())
        )
    }
}

/// RFC 4648 base64url with padding, as the Pushgateway reads `@base64` label values.
fn base64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// POSTs `text` to the plan's group (replacing the metric names it sends, keeping the
/// others: a failed run leaves `runbook_last_success_*` as they were).
pub async fn push(base: &str, plan: &str, text: String) -> Result<(), String> {
    let url = push_url(base, plan);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(&url)
        .header("Content-Type", "text/plain; version=0.0.4")
        .body(text)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let body = response.text().await.unwrap_or_default();
        Err(format!(
            "{url}: HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metrics(outcome: Outcome, produced: &Map<String, Json>) -> RunMetrics<'_> {
        RunMetrics {
            plan: "camunda-8.8-backup",
            run_id: "20261204-abcd",
            outcome,
            exit_code: 0,
            duration_ms: 5887,
            finished_at: Duration::from_secs(1_796_422_900),
            produced,
            steps: vec![StepTiming {
                phase: "step".into(),
                id: "wait-zeebe".into(),
                duration_ms: 2500,
                attempts: 1,
            }],
            windows: vec![("exporting_paused".into(), 5.25)],
        }
    }

    #[test]
    fn a_success_renders_every_family_with_the_plan_label() {
        let produced: Map<String, Json> = [("backup_id".to_string(), json!(1_796_422_862))]
            .into_iter()
            .collect();
        let text = metrics(Outcome::Succeeded, &produced).render(true);
        for line in [
            "runbook_last_success_timestamp_seconds{plan=\"camunda-8.8-backup\"} 1796422900",
            "runbook_last_success_backup_id{plan=\"camunda-8.8-backup\"} 1796422862",
            "runbook_run_duration_seconds{plan=\"camunda-8.8-backup\"} 5.887",
            "runbook_run_outcome{plan=\"camunda-8.8-backup\",outcome=\"succeeded\"} 1",
            "runbook_run_outcome{plan=\"camunda-8.8-backup\",outcome=\"timed_out\"} 0",
            "runbook_run_info{plan=\"camunda-8.8-backup\",run_id=\"20261204-abcd\",backup_id=\"1796422862\"} 1",
            "runbook_step_duration_seconds{plan=\"camunda-8.8-backup\",phase=\"step\",step=\"wait-zeebe\"} 2.5",
            "runbook_window_seconds{plan=\"camunda-8.8-backup\",window=\"exporting_paused\"} 5.25",
            "# TYPE runbook_window_seconds gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
        let pushed = metrics(Outcome::Succeeded, &produced).render(false);
        assert!(
            pushed.contains("runbook_run_duration_seconds 5.887\n"),
            "{pushed}"
        );
        assert!(!pushed.contains("plan="), "{pushed}");
    }

    #[test]
    fn a_failure_has_no_success_families_and_the_file_keeps_the_earlier_ones() {
        let produced = Map::new();
        let failed = metrics(Outcome::Failed, &produced).render(true);
        assert!(!failed.contains(LAST_SUCCESS), "{failed}");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runbook.prom");
        let ok = metrics(Outcome::Succeeded, &produced).render(true);
        write_file(&path, &ok, true).expect("write");
        write_file(&path, &failed, false).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains("runbook_run_outcome{plan=\"camunda-8.8-backup\",outcome=\"failed\"} 1")
        );
        assert!(
            text.contains(
                "runbook_last_success_timestamp_seconds{plan=\"camunda-8.8-backup\"} 1796422900"
            ),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE runbook_last_success_timestamp_seconds")
                .count(),
            1
        );
        // Nothing left behind but the file itself.
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn labels_are_escaped_and_odd_plan_names_are_base64_in_the_push_url() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(
            push_url("http://127.0.0.1:9091/", "camunda-8.8-backup"),
            "http://127.0.0.1:9091/metrics/job/runbook/plan/camunda-8.8-backup"
        );
        assert_eq!(
            push_url("http://pg", "a/b"),
            "http://pg/metrics/job/runbook/plan@base64/YS9i"
        );
        assert_eq!(base64url(b"f"), "Zg==");
        assert_eq!(base64url(b"fo"), "Zm8=");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8=");
    }

    #[test]
    fn windows_run_from_the_first_start_to_the_last_end() {
        assert_eq!(
            window_seconds(
                Some("2026-12-04T22:00:00.000Z"),
                Some("2026-12-04T22:00:05.250Z")
            ),
            Some(5.25)
        );
        assert_eq!(window_seconds(None, Some("2026-12-04T22:00:05.250Z")), None);
    }
}
