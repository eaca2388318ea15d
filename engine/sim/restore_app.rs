//! sim/restore_app: what a broker container runs when it starts — the broker, or Zeebe's
//! restore app through the chart's `startup.sh` (`ZEEBE_RESTORE=true`), or the restore app
//! from a `command` override (the docs' alternative) — and what one run of the restore app
//! logs and exits with (the Camunda API reference §7.1, §7.8). It owns those decisions and
//! the crash loop's back-off; it must not touch the Kubernetes store or the world (the
//! workloads reconciler applies the outcome).

use serde_json::Value;

use super::CamundaVersion;
use super::cluster_config::{ClusterConfig, parse_version};
use super::workloads::BrokerData;

/// What a broker container runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The broker (normal start, or a restore request the chart/command ignores).
    Broker,
    /// The restore app, which exits when done: the kubelet restarts it (crash loop, §7.1).
    RestoreApp { backup_id: Option<u64> },
    /// A command that runs the restore app, echoes a line with its exit code (`$?`), then
    /// sleeps: the container stays up (the docs' alternative, §7.1).
    RestoreThenSleep {
        backup_id: Option<u64>,
        echo: Option<String>,
    },
}

impl Route {
    pub fn is_restore(&self) -> bool {
        *self != Route::Broker
    }
}

/// The chart version when the scenario does not set one.
pub fn default_chart_version(version: CamundaVersion) -> &'static str {
    match version {
        CamundaVersion::V8_8 => "13.0.2",
        CamundaVersion::V8_7 => "12.1.0",
        // H charts/camunda-platform-8.9/Chart.yaml at HEAD (reference 8.9 §1).
        CamundaVersion::V8_9 => "14.8.4",
        // Chart 15 for 8.10 (reference 8.9-8.10 §1: only 15.0.0-alpha4 was readable; the GA
        // chart keeps chart 14's names and startup.sh, §5).
        CamundaVersion::V8_10 => "15.0.0",
    }
}

/// Whether the chart's `startup.sh` honours `ZEEBE_RESTORE`: chart 13, and chart 12 from
/// 12.1.0 ("For Camunda Helm chart below 12.1.0, the environment variable ZEEBE_RESTORE has no
/// effect", §7.8).
pub fn chart_has_restore_route(config: &ClusterConfig, version: CamundaVersion) -> bool {
    let chart = config
        .chart_version
        .as_deref()
        .unwrap_or(default_chart_version(version));
    parse_version(chart).is_some_and(|v| v >= (12, 1, 0))
}

/// The container's `command` + `args` as one shell-ish line.
fn command_line(container: &Value) -> String {
    ["command", "args"]
        .iter()
        .filter_map(|k| container.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A variable of the container's env (plain `value` only).
fn env(container: &Value, name: &str) -> Option<String> {
    container
        .get("env")?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")?
        .as_str()
        .map(String::from)
}

/// Expands `$VAR` / `${VAR}` from the container's env (unknown variables become empty).
fn expand(text: &str, container: &Value) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], &inner[end + 1..]),
                None => ("", after),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
        } else {
            out.push_str(&env(container, name).unwrap_or_default());
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The backup id of a `--backupId=<id>` argument (after env expansion).
fn backup_id_arg(line: &str, container: &Value) -> Option<u64> {
    let at = line.find("--backupId=")? + "--backupId=".len();
    let value: String = line[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ';' && *c != '&' && *c != '"')
        .collect();
    expand(&value, container).parse().ok()
}

/// The text an `echo` after the restore app prints, `$?` left in for the exit code.
fn echo_text(line: &str) -> Option<String> {
    let at = line.find("echo ")? + "echo ".len();
    let text: String = line[at..]
        .split([';', '&', '|', '\n'])
        .next()?
        .trim()
        .to_string();
    Some(text.trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// What the broker container runs (§7.8): a command naming the restore binary runs it; the
/// chart's `startup.sh` execs it when `ZEEBE_RESTORE=true` and the chart supports it; any
/// other command bypasses `startup.sh` and starts the broker.
pub fn route(container: &Value, config: &ClusterConfig, version: CamundaVersion) -> Route {
    let line = command_line(container);
    if line.contains("bin/restore") {
        let backup_id = backup_id_arg(&line, container);
        let rest = &line[line.find("bin/restore").unwrap_or(0)..];
        if rest.contains("sleep") {
            return Route::RestoreThenSleep {
                backup_id,
                echo: echo_text(rest).map(|t| expand(&t.replace("$?", "\u{0}"), container)),
            };
        }
        return Route::RestoreApp { backup_id };
    }
    let via_startup = line.is_empty() || line.contains("startup.sh");
    let wants_restore = env(container, "ZEEBE_RESTORE").as_deref() == Some("true");
    if via_startup && wants_restore && chart_has_restore_route(config, version) {
        let backup_id = env(container, "ZEEBE_RESTORE_FROM_BACKUP_ID").and_then(|s| s.parse().ok());
        return Route::RestoreApp { backup_id };
    }
    Route::Broker
}

/// One run of the restore app: the new data, the log lines and the exit code. `RestoreManager`
/// refuses a data directory that is not empty (`verifyDataFolderIsEmpty`, §7.1); a missing or
/// unusable backup ends in Spring Boot's `Application run failed`.
pub fn run(
    data: BrokerData,
    backup_id: Option<u64>,
    backup_state: Option<&str>,
    data_dir: &str,
) -> (BrokerData, Vec<String>, i32) {
    let Some(id) = backup_id else {
        return (data, missing_id_log(), 1);
    };
    if data != BrokerData::Empty {
        return (
            data,
            vec![
                format!(
                    "Brokers's data directory {data_dir} is not empty. Aborting restore to avoid overwriting data. Please restart with a clean directory."
                ),
                "Application run failed".to_string(),
            ],
            1,
        );
    }
    match backup_state {
        Some("COMPLETED") => (
            BrokerData::Restored(id),
            vec![
                format!("Restoring broker from backup {id}"),
                "Successfully restored broker from backup".to_string(),
            ],
            0,
        ),
        Some(state) => (
            data,
            vec![
                format!("Failed to restore broker from backup {id}: backup is in state {state}"),
                "Application run failed".to_string(),
            ],
            1,
        ),
        None => (
            data,
            vec![
                format!(
                    "Failed to restore broker from backup {id}: no valid backup with id {id} found"
                ),
                "Application run failed".to_string(),
            ],
            1,
        ),
    }
}

/// A restore app run without a backup id. Chart 13 passes `--backupId=` (empty); chart 14's
/// `startup.sh` runs a bare `restore` (RDBMS default mode, reference 8.9 §4.1, §6 #13), which
/// an Elasticsearch/OpenSearch installation cannot serve: the source's argument check
/// (C RestoreApp, stored id 3552799057, §6 #14) is logged on both so one rule catches it.
fn missing_id_log() -> Vec<String> {
    vec![
        "Failed to restore broker: ZEEBE_RESTORE_FROM_BACKUP_ID is not set".to_string(),
        "Either --backupId or both --from and --to parameters must be provided".to_string(),
        "Application run failed".to_string(),
    ]
}

/// The echoed line with the exit code in place of `$?`.
pub fn echo_line(template: &str, code: i32) -> String {
    template.replace('\u{0}', &code.to_string())
}

/// When run `runs + 1` starts after run `runs` ended: the first restart at once after the
/// crash-loop delay, then the kubelet's doubling back-off (capped at 8x).
pub fn next_run_delay(crash_loop_ms: u64, runs: u32) -> u64 {
    crash_loop_ms.saturating_mul(1 << runs.saturating_sub(1).min(3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg() -> ClusterConfig {
        ClusterConfig::default()
    }

    #[test]
    fn restore_app_outcomes() {
        let dir = "/usr/local/camunda/data";
        let (d, log, code) = run(BrokerData::Empty, Some(5), Some("COMPLETED"), dir);
        assert_eq!((d, code), (BrokerData::Restored(5), 0));
        assert_eq!(
            log.last().unwrap(),
            "Successfully restored broker from backup"
        );
        let (d, log, code) = run(BrokerData::Restored(5), Some(5), Some("COMPLETED"), dir);
        assert_eq!((d, code), (BrokerData::Restored(5), 1));
        assert_eq!(
            log[0],
            "Brokers's data directory /usr/local/camunda/data is not empty. Aborting restore to avoid overwriting data. Please restart with a clean directory."
        );
        let (d, log, code) = run(BrokerData::Empty, Some(6), None, dir);
        assert_eq!((d, code), (BrokerData::Empty, 1));
        assert!(log[0].contains("no valid backup"));
        assert!(log.contains(&"Application run failed".to_string()));
        let (_, log, _) = run(BrokerData::Empty, Some(6), Some("FAILED"), dir);
        assert!(log[0].contains("FAILED"));
        // Chart 14 runs a bare `restore` without ZEEBE_RESTORE_FROM_BACKUP_ID (8.9 §6 #13, #14).
        let (_, log, code) = run(BrokerData::Empty, None, Some("COMPLETED"), dir);
        assert_eq!(code, 1);
        assert!(
            log.iter()
                .any(|l| l.contains("parameters must be provided"))
        );
    }

    #[test]
    fn routes() {
        let startup = |env: Value| json!({"name": "orchestration", "command": ["bash", "/usr/local/bin/startup.sh"], "env": env});
        let restore = json!([{"name": "ZEEBE_RESTORE", "value": "true"},
            {"name": "ZEEBE_RESTORE_FROM_BACKUP_ID", "value": "7"}]);
        assert_eq!(
            route(&startup(json!([])), &cfg(), CamundaVersion::V8_8),
            Route::Broker
        );
        assert_eq!(
            route(&startup(restore.clone()), &cfg(), CamundaVersion::V8_8),
            Route::RestoreApp { backup_id: Some(7) }
        );
        // Chart 12.0.x ignores ZEEBE_RESTORE; so does a command bypassing startup.sh.
        let old = ClusterConfig {
            chart_version: Some("12.0.2".into()),
            ..cfg()
        };
        assert_eq!(
            route(&startup(restore.clone()), &old, CamundaVersion::V8_7),
            Route::Broker
        );
        let bypass = json!({"name": "orchestration", "command": ["/usr/local/camunda/bin/camunda"], "env": restore});
        assert_eq!(route(&bypass, &cfg(), CamundaVersion::V8_8), Route::Broker);
        // The docs' alternative: run the restore app, echo its exit code, sleep.
        let alt = json!({"name": "orchestration", "command": ["bash", "-c",
            "/usr/local/camunda/bin/restore --backupId=${ZEEBE_RESTORE_FROM_BACKUP_ID}; echo \"restore exit code: $?\"; sleep infinity"],
            "env": restore});
        let Route::RestoreThenSleep { backup_id, echo } = route(&alt, &cfg(), CamundaVersion::V8_8)
        else {
            panic!("not the sleep route")
        };
        assert_eq!(backup_id, Some(7));
        assert_eq!(echo_line(&echo.unwrap(), 0), "restore exit code: 0");
        let once = json!({"name": "orchestration", "args": ["/usr/local/camunda/bin/restore", "--backupId=3"]});
        assert_eq!(
            route(&once, &cfg(), CamundaVersion::V8_8),
            Route::RestoreApp { backup_id: Some(3) }
        );
    }

    #[test]
    fn back_off_doubles_and_caps() {
        assert_eq!(next_run_delay(100, 1), 100);
        assert_eq!(next_run_delay(100, 2), 200);
        assert_eq!(next_run_delay(100, 3), 400);
        assert_eq!(next_run_delay(100, 9), 800);
    }
}
