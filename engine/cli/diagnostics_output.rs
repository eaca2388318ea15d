//! diagnostics_output: diagnostics to text for humans (miette's graphical report), JSON, GitHub
//! Actions annotations and SARIF 2.1.0. Pure formatting: it decides no exit codes.

use serde_json::{Value as Json, json};

use crate::plan::diagnostic::{FileDiagnostics, Rendered, Severity};

/// Output formats of `validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
}

/// Renders one diagnostic graphically; `color` for terminals.
pub fn human(files: &[FileDiagnostics], color: bool, width: usize) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let mut out = String::new();
    for f in files {
        for d in &f.diagnostics {
            let plain = !Rendered::snippet_fits(&f.source, d);
            let r = Rendered {
                source: &f.source,
                diagnostic: d,
                plain,
            };
            let _ = handler.render_report(&mut out, &r);
            if plain {
                // The snippet would be unreadable: say where, in words.
                for l in &d.labels {
                    let (line, col) = position(f, l.span.start);
                    out.push_str(&format!(
                        "  at {}:{line}:{col}: {}\n",
                        f.source.name(),
                        l.text
                    ));
                }
            }
            out.push('\n');
        }
    }
    out
}

fn position(f: &FileDiagnostics, offset: usize) -> (usize, usize) {
    f.source.line_col(offset)
}

/// One JSON object per file: `{"file", "valid", "errors", "warnings", "diagnostics": [...]}`.
pub fn json(files: &[FileDiagnostics]) -> Json {
    Json::Array(
        files
            .iter()
            .map(|f| {
                let diags: Vec<Json> = f
                    .diagnostics
                    .iter()
                    .map(|d| {
                        let span = d.primary_span();
                        let (line, column) = position(f, span.start);
                        let (end_line, end_column) = position(f, span.end);
                        json!({
                            "code": d.code,
                            "severity": d.severity.as_str(),
                            "message": d.message,
                            "line": line, "column": column,
                            "end_line": end_line, "end_column": end_column,
                            "offset": span.start, "length": span.len(),
                            "labels": d.labels.iter().map(|l| {
                                let (line, column) = position(f, l.span.start);
                                json!({"text": l.text, "line": line, "column": column, "offset": l.span.start, "length": l.span.len(), "primary": l.primary})
                            }).collect::<Vec<_>>(),
                            "help": d.help,
                        })
                    })
                    .collect();
                json!({"file": f.source.name(), "valid": f.errors() == 0, "errors": f.errors(), "warnings": f.warnings(), "diagnostics": diags})
            })
            .collect(),
    )
}

/// GitHub Actions workflow commands (`::error file=...,line=...::message`).
pub fn github(files: &[FileDiagnostics]) -> String {
    let mut out = String::new();
    for f in files {
        for d in &f.diagnostics {
            let span = d.primary_span();
            let (line, col) = position(f, span.start);
            let (end_line, end_col) = position(f, span.end);
            let level = if d.severity == Severity::Error {
                "error"
            } else {
                "warning"
            };
            let mut msg = d.message.clone();
            if let Some(h) = &d.help {
                msg.push_str(&format!(" (help: {h})"));
            }
            out.push_str(&format!(
                "::{level} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
                escape_property(f.source.name()),
                escape_property(d.code),
                escape_data(&msg)
            ));
        }
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// SARIF 2.1.0, one run, rules named by diagnostic code.
pub fn sarif(files: &[FileDiagnostics]) -> Json {
    let mut rules: Vec<&str> = files
        .iter()
        .flat_map(|f| f.diagnostics.iter().map(|d| d.code))
        .collect();
    rules.sort_unstable();
    rules.dedup();
    let results: Vec<Json> = files
        .iter()
        .flat_map(|f| {
            f.diagnostics.iter().map(move |d| {
                let span = d.primary_span();
                let (line, col) = position(f, span.start);
                let (end_line, end_col) = position(f, span.end);
                json!({
                    "ruleId": d.code,
                    "level": if d.severity == Severity::Error { "error" } else { "warning" },
                    "message": {"text": match &d.help { Some(h) => format!("{} (help: {h})", d.message), None => d.message.clone() }},
                    "locations": [{"physicalLocation": {
                        "artifactLocation": {"uri": f.source.name()},
                        "region": {"startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col}
                    }}]
                })
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "runbook", "version": env!("CARGO_PKG_VERSION"), "informationUri": "https://github.com/runbook/runbook",
                "rules": rules.iter().map(|r| json!({"id": r})).collect::<Vec<_>>()}},
            "results": results
        }]
    })
}
