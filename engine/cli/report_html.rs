//! report_html: a run's report as one self-contained HTML page (no script, no external file):
//! the outcome, what the run produced, the timeline as an SVG Gantt chart (the plan's windows,
//! such as the exporting-paused span, shaded; waits and retries marked), every step's row and
//! the params as recorded (secrets already masked by the run). It renders only.

use crate::cli::report_doc::{Bar, ReportDoc, Timeline, human_ms};

/// Width of the chart and of its label column, in pixels.
const WIDTH: u64 = 1100;
const LABEL: u64 = 260;
const ROW: u64 = 22;
const TOP: u64 = 34;

/// The whole page.
pub fn render(doc: &ReportDoc) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let title = format!("{} · {}", doc.run.plan, doc.run.run_id);
    out.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    ));
    header(&mut out, doc);
    produced(&mut out, doc);
    out.push_str("<h2>Timeline</h2>\n");
    out.push_str(&gantt(&doc.timeline()));
    steps(&mut out, doc);
    params(&mut out, doc);
    out.push_str("</body>\n</html>\n");
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#1d2433;background:#fff}\
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:26px 0 8px}\
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}\
.succeeded{background:#1f8a4c}.failed,.compensation_failed{background:#c62828}\
.interrupted,.timed_out,.unfinished{background:#b26a00}\
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d5d9e0;padding:3px 8px;text-align:left}\
th{background:#f2f4f7}code{font-size:12px}.muted{color:#5b6475}";

fn header(out: &mut String, doc: &ReportDoc) {
    let outcome = doc.outcome();
    out.push_str(&format!(
        "<h1>{} <span class=\"badge {}\">{}</span></h1>\n",
        esc(&doc.run.plan),
        esc(outcome),
        esc(&outcome.to_uppercase())
    ));
    let mut facts = vec![
        ("run", doc.run.run_id.clone()),
        ("plan file", doc.run.plan_file.clone()),
        ("started", doc.run.started_at.clone()),
    ];
    if let Some(f) = &doc.finished {
        facts.push(("duration", human_ms(f.duration_ms)));
        facts.push(("exit code", f.exit_code.to_string()));
        facts.push(("message", f.message.clone()));
    }
    out.push_str("<table>\n");
    for (k, v) in facts {
        out.push_str(&format!("<tr><th>{k}</th><td>{}</td></tr>\n", esc(&v)));
    }
    out.push_str("</table>\n");
}

fn produced(out: &mut String, doc: &ReportDoc) {
    let rows = doc.result_rows();
    if rows.is_empty() {
        return;
    }
    out.push_str("<h2>Result</h2>\n<table>\n");
    for r in rows {
        let value = match r.window {
            None => format!("<code>{}</code>", esc(&r.value)),
            Some((from, to)) => format!(
                "{} (from the start of <code>{}</code> to the end of <code>{}</code>)",
                esc(&r.value),
                esc(from),
                esc(to)
            ),
        };
        out.push_str(&format!(
            "<tr><th>{}</th><td>{value}</td></tr>\n",
            esc(r.name)
        ));
    }
    out.push_str("</table>\n");
}

/// The Gantt chart: one row per step, bars placed on a common time axis.
pub fn gantt(t: &Timeline) -> String {
    let rows = t.bars.len() as u64;
    let height = TOP + rows * ROW + 24;
    let plot = WIDTH - LABEL - 70;
    let x = |ms: u64| LABEL + ms * plot / t.total_ms;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"system-ui,sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"timeline\">\n<defs><pattern id=\"wait\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#2f6fd0\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#8fb3ea\" stroke-width=\"3\"/></pattern></defs>\n<rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>\n"
    );
    for (name, start, end) in &t.windows {
        let (x0, x1) = (x(*start), x(*end).max(x(*start) + 1));
        svg.push_str(&format!(
            "<rect class=\"window\" x=\"{x0}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f6c343\" fill-opacity=\"0.28\" stroke=\"#d49b00\" stroke-dasharray=\"4 3\"/>\n<text x=\"{x0}\" y=\"14\" fill=\"#8a6100\" font-weight=\"600\">{} · {}</text>\n",
            TOP - 8,
            x1 - x0,
            rows * ROW + 8,
            esc(name),
            human_ms(end - start)
        ));
    }
    axis(&mut svg, t, plot, height);
    for (i, b) in t.bars.iter().enumerate() {
        bar(
            &mut svg,
            b,
            TOP + i as u64 * ROW,
            x(b.start_ms),
            x(b.end_ms),
        );
    }
    svg.push_str("</svg>\n");
    if t.hidden > 0 {
        svg.push_str(&format!(
            "<p class=\"muted\">{} later steps are not drawn; the table below lists every step.</p>\n",
            t.hidden
        ));
    }
    svg
}

fn axis(svg: &mut String, t: &Timeline, plot: u64, height: u64) {
    let step = nice_step(t.total_ms);
    let mut at = 0;
    while at <= t.total_ms {
        let px = LABEL + at * plot / t.total_ms;
        svg.push_str(&format!(
            "<line x1=\"{px}\" y1=\"{}\" x2=\"{px}\" y2=\"{}\" stroke=\"#e3e6eb\"/><text x=\"{px}\" y=\"{}\" fill=\"#5b6475\" text-anchor=\"middle\">{}</text>\n",
            TOP - 6,
            height - 18,
            height - 6,
            human_ms(at)
        ));
        at += step;
    }
}

fn bar(svg: &mut String, b: &Bar, y: u64, x0: u64, x1: u64) {
    let fill = if b.wait && b.status == "succeeded" {
        "url(#wait)".to_string()
    } else {
        color(&b.status).to_string()
    };
    let label = match b.phase.as_str() {
        "step" => b.label.clone(),
        phase => format!("{} ({phase})", b.label),
    };
    let mut note = String::new();
    if b.attempts > 1 {
        note.push_str(&format!("×{} ", b.attempts));
    }
    if b.wait {
        note.push_str("wait ");
    }
    if b.status != "succeeded" {
        note.push_str(&b.status);
    }
    svg.push_str(&format!(
        "<g class=\"bar {}\"><title>{}: {} ({}, {} attempt(s))</title><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{x0}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{fill}\"/><text x=\"{}\" y=\"{}\" fill=\"#3a4252\">{}</text></g>\n",
        esc(&b.status),
        esc(&b.label),
        esc(&b.status),
        human_ms(b.end_ms - b.start_ms),
        b.attempts,
        LABEL - 8,
        y + 15,
        esc(&label),
        y + 4,
        (x1 - x0).max(2),
        ROW - 8,
        x1.max(x0 + 2) + 5,
        y + 15,
        esc(note.trim())
    ));
}

fn color(status: &str) -> &'static str {
    match status {
        "succeeded" => "#2e9e5b",
        "failed" => "#d93b3b",
        s if s.starts_with("skipped") => "#b8bfca",
        _ => "#e39b1b",
    }
}

/// A round tick interval giving at most about ten ticks.
fn nice_step(total_ms: u64) -> u64 {
    const STEPS: [u64; 15] = [
        10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000,
        1_800_000,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| total_ms / s <= 10)
        .unwrap_or(3_600_000)
}

fn steps(out: &mut String, doc: &ReportDoc) {
    out.push_str("<h2>Steps</h2>\n<table>\n<tr><th>phase</th><th>step</th><th>status</th><th>attempts</th><th>items</th><th>duration</th><th>started</th><th>finished</th></tr>\n");
    for s in &doc.steps {
        let items = s
            .items
            .map(|i| format!("{}/{}", i.succeeded, i.started))
            .unwrap_or_default();
        out.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td><td class=\"muted\">{}</td></tr>\n",
            esc(&s.phase),
            esc(&s.id),
            esc(&s.status),
            s.attempts,
            items,
            human_ms(s.duration_ms),
            esc(s.started_at.as_deref().unwrap_or("")),
            esc(s.finished_at.as_deref().unwrap_or(""))
        ));
    }
    out.push_str("</table>\n");
}

fn params(out: &mut String, doc: &ReportDoc) {
    out.push_str("<h2>Params</h2>\n<p class=\"muted\">As the run recorded them; secrets are masked (<code>***</code>).</p>\n<table>\n");
    for (k, v) in &doc.run.params {
        out.push_str(&format!(
            "<tr><th>{}</th><td><code>{}</code></td></tr>\n",
            esc(k),
            esc(&crate::plan::template::display(v))
        ));
    }
    out.push_str("</table>\n");
}

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report_doc::tests::REPORT;

    #[test]
    fn the_page_has_the_outcome_result_window_and_every_step() {
        let doc = ReportDoc::parse(REPORT).unwrap();
        let page = render(&doc);
        assert!(page.contains("SUCCEEDED"), "{page}");
        assert!(page.contains("<code>1796</code>"));
        assert!(page.contains("exporting_paused · 7.3 s"));
        assert_eq!(page.matches("<g class=\"bar").count(), 4);
        assert!(page.contains("×3 wait"), "retries and waits are visible");
        assert!(
            page.contains("<code>***</code>"),
            "masked params stay masked"
        );
        assert!(!page.contains("<script"), "no script");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
