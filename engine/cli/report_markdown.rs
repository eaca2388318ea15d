//! report_markdown: a run's report as Markdown for a ticket, a pull request or a wiki: the
//! outcome, what the run produced, the timeline as a Mermaid `gantt` block (rendered as a
//! picture by GitHub, GitLab and most wikis; the plan's windows as their own section, waits
//! and retries in the task names), every step's row and the params (secrets already masked by
//! the run). It renders only.

use crate::cli::report_doc::{ReportDoc, Timeline, human_ms};

/// The whole document.
pub fn render(doc: &ReportDoc) -> String {
    let mut out = format!("# {} — {}\n\n", doc.run.plan, doc.outcome().to_uppercase());
    out.push_str(&format!("- run: `{}`\n", doc.run.run_id));
    out.push_str(&format!("- plan file: `{}`\n", doc.run.plan_file));
    out.push_str(&format!("- started: {}\n", doc.run.started_at));
    if let Some(f) = &doc.finished {
        out.push_str(&format!(
            "- duration: {}\n- exit code: {}\n- message: {}\n",
            human_ms(f.duration_ms),
            f.exit_code,
            cell(&f.message)
        ));
    }
    let rows = doc.result_rows();
    if !rows.is_empty() {
        out.push_str("\n## Result\n\n| | |\n|---|---|\n");
        for r in rows {
            let value = match r.window {
                None => format!("`{}`", cell(&r.value)),
                Some((from, to)) => {
                    format!("{} (start of `{from}` to end of `{to}`)", r.value)
                }
            };
            out.push_str(&format!("| {} | {value} |\n", cell(r.name)));
        }
    }
    out.push_str("\n## Timeline\n\n");
    out.push_str(&gantt(&doc.timeline()));
    out.push_str("\n## Steps\n\n| phase | step | status | attempts | items | duration |\n|---|---|---|---|---|---|\n");
    for s in &doc.steps {
        let items = s
            .items
            .map(|i| format!("{}/{}", i.succeeded, i.started))
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            s.phase,
            s.id,
            cell(&s.status),
            s.attempts,
            items,
            human_ms(s.duration_ms)
        ));
    }
    out.push_str("\n## Params\n\nAs the run recorded them; secrets are masked (`***`).\n\n| param | value |\n|---|---|\n");
    for (k, v) in &doc.run.params {
        out.push_str(&format!(
            "| {} | `{}` |\n",
            cell(k),
            cell(&crate::plan::template::display(v))
        ));
    }
    out
}

/// The Mermaid gantt block: times are milliseconds from the run's start (`dateFormat x`).
pub fn gantt(t: &Timeline) -> String {
    let mut out = String::from(
        "```mermaid\ngantt\n    dateFormat x\n    axisFormat %M:%S\n    todayMarker off\n",
    );
    if !t.windows.is_empty() {
        out.push_str("    section windows\n");
        for (i, (name, start, end)) in t.windows.iter().enumerate() {
            out.push_str(&format!(
                "    {} ({}) :active, w{i}, {start}, {}\n",
                task_name(name),
                human_ms(end - start),
                (*end).max(start + 1)
            ));
        }
    }
    out.push_str("    section steps\n");
    for (i, b) in t.bars.iter().enumerate() {
        let tag = match b.status.as_str() {
            "succeeded" => "done, ",
            "failed" => "crit, ",
            _ => "",
        };
        let mut name = task_name(&b.label);
        if b.phase != "step" {
            name.push_str(&format!(" ({})", b.phase));
        }
        if b.wait {
            name.push_str(" [wait]");
        }
        if b.attempts > 1 {
            name.push_str(&format!(" x{}", b.attempts));
        }
        out.push_str(&format!(
            "    {name} :{tag}s{i}, {}, {}\n",
            b.start_ms,
            b.end_ms.max(b.start_ms + 1)
        ));
    }
    out.push_str("```\n");
    if t.hidden > 0 {
        out.push_str(&format!(
            "\n{} later steps are not drawn; the table below lists every step.\n",
            t.hidden
        ));
    }
    out
}

/// A Mermaid task name: no `:` or `#` (they end or comment a task line).
fn task_name(s: &str) -> String {
    s.replace([':', '#', ';'], "_")
}

/// A table cell: no `|` or line break.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report_doc::tests::REPORT;

    #[test]
    fn the_document_has_a_gantt_with_the_window_waits_and_retries() {
        let doc = ReportDoc::parse(REPORT).unwrap();
        let md = render(&doc);
        assert!(md.starts_with("# camunda-8.8-backup — SUCCEEDED\n"), "{md}");
        assert!(md.contains("| backup_id | `1796` |"), "{md}");
        assert!(
            md.contains("    exporting_paused (7.3 s) :active, w0, 1000, 8300\n"),
            "{md}"
        );
        assert!(
            md.contains("    wait-zeebe [wait] x3 :done, s1, 2000, 7000\n"),
            "{md}"
        );
        assert!(md.contains("resume-exporting (finally)"), "{md}");
        assert!(md.contains("| datastore_password | `***` |"), "{md}");
    }
}
