//! report_doc: a run's `report.json` read back, and the timeline both human reports draw from
//! it (each step's bar as offsets from the run's start, retries, waits, the plan's windows).
//! It reads and computes only; `report_html` and `report_markdown` render, `report` is the
//! command. Everything in `report.json` is already masked, so nothing here can leak a secret.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

/// `report.json` as `runbook run` writes it.
#[derive(Clone, Debug, Deserialize)]
pub struct ReportDoc {
    pub run: RunStart,
    /// `null` while a run is unfinished (killed, not recovered yet).
    #[serde(default)]
    pub finished: Option<RunEnd>,
    #[serde(default)]
    pub steps: Vec<StepRow>,
    /// What the plan's `result:` produced (a backup id, restorable or deleted ids).
    #[serde(default)]
    pub result: Map<String, Json>,
    /// The plan's `windows:` as they happened.
    #[serde(default)]
    pub windows: Vec<WindowSpan>,
    /// Ids of the plan's `wait` steps.
    #[serde(default)]
    pub waits: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunStart {
    pub run_id: String,
    pub plan: String,
    #[serde(default)]
    pub plan_file: String,
    #[serde(default)]
    pub params: Map<String, Json>,
    #[serde(default)]
    pub started_at: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunEnd {
    pub outcome: String,
    #[serde(default)]
    pub exit_code: i32,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub message: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StepRow {
    /// `step`, `undo` or `finally`.
    pub phase: String,
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub items: Option<Items>,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Items {
    pub started: u32,
    pub succeeded: u32,
}

/// One plan window (`windows:`) as it happened: from the start of `from` to the end of `to`.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
pub struct WindowSpan {
    pub name: String,
    pub from: String,
    pub to: String,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
}

/// One row of the result section.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow<'a> {
    pub name: &'a str,
    pub value: String,
    /// A window's `from` and `to` steps.
    pub window: Option<(&'a str, &'a str)>,
}

/// A bar of the timeline: offsets in milliseconds from the run's start.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub phase: String,
    pub status: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub attempts: u32,
    pub wait: bool,
}

/// The most bars a picture draws: past this a chart is unreadable (and a 10k-step run's page
/// would be megabytes); the steps table still lists every step.
pub const MAX_BARS: usize = 400;

/// The picture's content: bars in start order, windows as spans, and the whole length.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    pub bars: Vec<Bar>,
    /// Bars left out past [`MAX_BARS`] (the latest to start).
    pub hidden: usize,
    /// (name, start_ms, end_ms)
    pub windows: Vec<(String, u64, u64)>,
    pub total_ms: u64,
}

impl ReportDoc {
    /// Parses `report.json`'s text.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The outcome word (`succeeded`, `failed`, ...), or `unfinished`.
    pub fn outcome(&self) -> &str {
        self.finished.as_ref().map_or("unfinished", |f| &f.outcome)
    }

    /// The result section's rows, one per `result:` entry then one per window: (name, value
    /// as text, the window's ends when it is one).
    pub fn result_rows(&self) -> Vec<ResultRow<'_>> {
        let values = self.result.iter().map(|(k, v)| ResultRow {
            name: k,
            value: crate::plan::template::display(v),
            window: None,
        });
        let windows = self.windows.iter().map(|w| ResultRow {
            name: &w.name,
            value: human_ms((w.seconds * 1000.0) as u64),
            window: Some((&w.from, &w.to)),
        });
        values.chain(windows).collect()
    }

    /// The timeline of the steps that have stamps (a recovered run's earlier attempt has none).
    pub fn timeline(&self) -> Timeline {
        let origin = ms_of(&self.run.started_at)
            .or_else(|| self.steps.iter().filter_map(started).min())
            .unwrap_or(0);
        let offset = |t: u64| t.saturating_sub(origin);
        let mut bars: Vec<Bar> = self
            .steps
            .iter()
            .filter_map(|s| {
                let start = started(s)?;
                let end = s
                    .finished_at
                    .as_deref()
                    .and_then(ms_of)
                    .unwrap_or(start + s.duration_ms)
                    .max(start);
                Some(Bar {
                    label: s.id.clone(),
                    phase: s.phase.clone(),
                    status: s.status.clone(),
                    start_ms: offset(start),
                    end_ms: offset(end),
                    attempts: s.attempts,
                    wait: self.waits.contains(&s.id) && s.phase != "undo",
                })
            })
            .collect();
        bars.sort_by_key(|b| (b.start_ms, b.end_ms));
        let hidden = bars.len().saturating_sub(MAX_BARS);
        let windows: Vec<(String, u64, u64)> = self
            .windows
            .iter()
            .filter_map(|w| {
                Some((
                    w.name.clone(),
                    offset(ms_of(&w.started_at)?),
                    offset(ms_of(&w.finished_at)?),
                ))
            })
            .collect();
        let total_ms = bars
            .iter()
            .map(|b| b.end_ms)
            .chain(windows.iter().map(|w| w.2))
            .chain(self.finished.as_ref().map(|f| f.duration_ms))
            .max()
            .unwrap_or(0)
            .max(1);
        bars.truncate(MAX_BARS);
        Timeline {
            bars,
            hidden,
            windows,
            total_ms,
        }
    }
}

fn started(s: &StepRow) -> Option<u64> {
    s.started_at.as_deref().and_then(ms_of)
}

/// Milliseconds since the epoch of an RFC 3339 stamp.
fn ms_of(stamp: &str) -> Option<u64> {
    crate::clock::parse_rfc3339(stamp).map(|d: Duration| d.as_millis() as u64)
}

/// A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`.
pub fn human_ms(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small backup-like report: a pause, a retried wait, a finally resume, one window.
    pub(crate) const REPORT: &str = r#"{
  "run": {"event":"run_started","run_id":"20261204-abcd","plan":"camunda-8.8-backup","plan_file":"plans/camunda/backup-8.8.yaml","params":{"backup_id":1796,"datastore_password":"***"},"started_at":"2026-12-04T10:00:00.000Z"},
  "finished": {"event":"run_finished","outcome":"succeeded","exit_code":0,"duration_ms":9000,"message":"all steps succeeded"},
  "steps": [
    {"phase":"step","id":"soft-pause-exporting","status":"succeeded","attempts":1,"duration_ms":500,"started_at":"2026-12-04T10:00:01.000Z","finished_at":"2026-12-04T10:00:01.500Z"},
    {"phase":"step","id":"wait-zeebe","status":"succeeded","attempts":3,"duration_ms":5000,"started_at":"2026-12-04T10:00:02.000Z","finished_at":"2026-12-04T10:00:07.000Z"},
    {"phase":"step","id":"delete-old","status":"succeeded","attempts":2,"items":{"started":3,"succeeded":3},"duration_ms":100,"started_at":"2026-12-04T10:00:07.000Z","finished_at":"2026-12-04T10:00:07.100Z"},
    {"phase":"finally","id":"resume-exporting","status":"succeeded","attempts":1,"duration_ms":300,"started_at":"2026-12-04T10:00:08.000Z","finished_at":"2026-12-04T10:00:08.300Z"}
  ],
  "result": {"backup_id": 1796, "deleted_ids": [11, 12]},
  "windows": [{"name":"exporting_paused","from":"soft-pause-exporting","to":"resume-exporting","started_at":"2026-12-04T10:00:01.000Z","finished_at":"2026-12-04T10:00:08.300Z","seconds":7.3}],
  "waits": ["wait-zeebe"]
}"#;

    #[test]
    fn the_timeline_is_offsets_from_the_run_start_with_waits_and_windows() {
        let doc = ReportDoc::parse(REPORT).unwrap();
        let t = doc.timeline();
        assert_eq!(t.total_ms, 9000);
        assert_eq!(t.bars[0].label, "soft-pause-exporting");
        assert_eq!((t.bars[0].start_ms, t.bars[0].end_ms), (1000, 1500));
        let wait = &t.bars[1];
        assert!(wait.wait && wait.attempts == 3, "{wait:?}");
        assert_eq!(
            t.windows,
            vec![("exporting_paused".to_string(), 1000, 8300)]
        );
    }

    #[test]
    fn an_unfinished_report_without_extras_still_reads() {
        let doc = ReportDoc::parse(r#"{"run":{"run_id":"r","plan":"p","started_at":"2026-12-04T10:00:00Z"},"finished":null,"steps":[{"phase":"step","id":"a","status":"started","attempts":1,"duration_ms":0,"started_at":"2026-12-04T10:00:00.250Z"}]}"#).unwrap();
        assert_eq!(doc.outcome(), "unfinished");
        let t = doc.timeline();
        assert_eq!(t.bars.len(), 1);
        assert_eq!(t.total_ms, 250);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_ms(850), "850 ms");
        assert_eq!(human_ms(12_340), "12.3 s");
        assert_eq!(human_ms(245_000), "4 min 05 s");
        assert_eq!(human_ms(3_720_000), "1 h 02 min");
    }
}
