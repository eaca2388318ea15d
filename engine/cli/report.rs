//! report: `runbook report [RUN_ID] --format html|markdown [-o FILE]`, a run's `report.json`
//! as a page people read; and the two files `runbook run` writes next to `report.json`
//! (`report.html`, `report.md`). It finds the run and writes; `report_doc` reads,
//! `report_html` and `report_markdown` render.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::cli::exit_code::Exit;
use crate::cli::report_doc::ReportDoc;

#[derive(Args)]
pub struct ReportArgs {
    /// The run (see `runbook runs`); the newest run when left out.
    pub run_id: Option<String>,
    #[arg(long, env = "RUNBOOK_STATE_DIR", default_value = ".runbook")]
    pub state_dir: PathBuf,
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained page with an SVG timeline.
    Html,
    /// Markdown with a Mermaid gantt timeline.
    Markdown,
}

impl ReportFormat {
    fn render(self, doc: &ReportDoc) -> String {
        match self {
            ReportFormat::Html => crate::cli::report_html::render(doc),
            ReportFormat::Markdown => crate::cli::report_markdown::render(doc),
        }
    }
}

pub fn report(a: &ReportArgs) -> ExitCode {
    let dir = match run_dir(&a.state_dir, a.run_id.as_deref()) {
        Ok(dir) => dir,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(Exit::Usage);
        }
    };
    let doc = match read(&dir.join("report.json")) {
        Ok(doc) => doc,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(Exit::Usage);
        }
    };
    let text = a.format.render(&doc);
    match &a.output {
        None => {
            print!("{text}");
            ExitCode::from(Exit::Ok)
        }
        Some(path) => match crate::run::private_files::write(path, text) {
            Ok(()) => ExitCode::from(Exit::Ok),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::from(Exit::ReportNotWritten)
            }
        },
    }
}

/// The run's directory: the one named, or the newest.
fn run_dir(state_dir: &Path, id: Option<&str>) -> Result<PathBuf, String> {
    let runs = crate::run::journal::list(state_dir);
    let found = match id {
        Some(id) => runs.into_iter().find(|r| r.run_id == id),
        None => runs.into_iter().next_back(),
    };
    found.map(|r| r.dir).ok_or_else(|| match id {
        Some(id) => format!(
            "no run `{id}` in {}: `runbook runs --state-dir {}` lists them",
            state_dir.display(),
            state_dir.display()
        ),
        None => format!("no runs in {}", state_dir.display()),
    })
}

fn read(path: &Path) -> Result<ReportDoc, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read {}: {e} (a run writes it when it ends; `runbook recover` finishes an unfinished one)",
            path.display()
        )
    })?;
    ReportDoc::parse(&text).map_err(|e| format!("{} is not a runbook report: {e}", path.display()))
}

/// Writes `report.html` and `report.md` next to the run's `report.json` (text already masked).
/// A failure is returned for the caller to report with the other files it writes.
pub fn write_beside(run_dir: &Path, report_json: &str) -> Result<(), String> {
    let doc = ReportDoc::parse(report_json).map_err(|e| format!("report.json: {e}"))?;
    for (name, format) in [
        ("report.html", ReportFormat::Html),
        ("report.md", ReportFormat::Markdown),
    ] {
        let path = run_dir.join(name);
        crate::run::private_files::write(&path, format.render(&doc))
            .map_err(|e| format!("cannot write the report {}: {e}", path.display()))?;
    }
    Ok(())
}
