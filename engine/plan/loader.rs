//! loader: a path on disk -> `SourceFile` -> validated plan (or diagnostics). Owns reading
//! files (size limit before reading, UTF-8 check) and finding plan files in directories. It
//! does not render anything.

use std::path::{Path, PathBuf};

use crate::plan::diagnostic::{Diagnostic, FileDiagnostics};
use crate::plan::plan_files::{self, PlanFilter};
use crate::plan::source::{SourceFile, Span};
use crate::plan::validate::{Validated, decode, validate_raw};
use crate::plan::yaml::{self, MAX_FILE_BYTES};

/// A file that could not be read at all (usage or I/O problem, exit code 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LoadError {
    #[error("cannot read {path}: {message}")]
    #[diagnostic(code(runbook::io::read))]
    Read { path: String, message: String },
    #[error("{path} is {size} bytes; plan and values files are limited to {limit} bytes")]
    #[diagnostic(
        code(runbook::io::too_large),
        help("split the plan, or check that this is the file you meant")
    )]
    TooLarge {
        path: String,
        size: u64,
        limit: usize,
    },
    #[error("{path} is not UTF-8 text (invalid byte at offset {offset})")]
    #[diagnostic(code(runbook::io::not_utf8), help("save the file as UTF-8"))]
    NotUtf8 { path: String, offset: usize },
    #[error("{path} has no plan files")]
    #[diagnostic(
        code(runbook::io::no_plans),
        help(
            "plans are *.yaml/*.yml files (not values*) with `apiVersion: runbook/v1` or `kind: Plan` at the top level; --include/--exclude change the globs"
        )
    )]
    NoPlans { path: String },
}

/// Reads a text file with the size limit and UTF-8 check.
pub fn read_text(path: &Path) -> Result<SourceFile, LoadError> {
    let shown = path.display().to_string();
    let read_err = |e: std::io::Error| LoadError::Read {
        path: shown.clone(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.is_dir() {
        return Err(LoadError::Read {
            path: shown,
            message: "is a directory".into(),
        });
    }
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(LoadError::TooLarge {
            path: shown,
            size: meta.len(),
            limit: MAX_FILE_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    let text = String::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
        path: shown.clone(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    Ok(SourceFile::new(shown, text))
}

/// The result of loading one plan file.
pub struct Loaded {
    pub source: SourceFile,
    pub validated: Validated,
}

impl Loaded {
    pub fn diagnostics(&self) -> FileDiagnostics {
        FileDiagnostics {
            source: self.source.clone(),
            diagnostics: self.validated.diagnostics.clone(),
        }
    }
}

/// Parses and validates text already in memory.
pub fn load_source(source: SourceFile) -> Loaded {
    let validated = match yaml::parse(source.text()) {
        Ok(root) => {
            // `decode` consumes the tree, freeing it as it goes.
            let decoded = decode(root);
            validate_raw(&source, decoded)
        }
        Err(e) => Validated {
            plan: None,
            graphs: None,
            diagnostics: vec![syntax(e.message, e.span)],
        },
    };
    Loaded { source, validated }
}

fn syntax(message: String, span: Span) -> Diagnostic {
    Diagnostic::error(
        "runbook::yaml::syntax",
        format!("invalid YAML: {message}"),
        span,
        "here",
    )
}

/// A valid plan and its graphs from text, for unit tests: panics listing the errors when the
/// text is not a valid plan (warnings are allowed).
#[cfg(test)]
pub(crate) fn valid_for_test(text: &str) -> (crate::plan::Plan, crate::plan::graph::PlanGraphs) {
    let v = load_source(SourceFile::new("test.yaml", text)).validated;
    let errors: Vec<&str> = v
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    match (v.plan, v.graphs) {
        (Some(plan), Some(graphs)) if errors.is_empty() => (plan, graphs),
        _ => panic!("invalid test plan: {errors:?}"),
    }
}

/// Reads and validates one plan file.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    read_text(path).map(load_source)
}

/// Expands directories into the plan files below them (sorted; `plan_files` has the rule),
/// with the default filter; files are kept as given.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    expand_with(paths, &PlanFilter::default())
}

/// `expand` with the `--include`/`--exclude` globs of `filter`.
pub fn expand_with(paths: &[PathBuf], filter: &PlanFilter) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = plan_files::plans_in(p, filter).map_err(|e| LoadError::Read {
                path: p.display().to_string(),
                message: e.to_string(),
            })?;
            if found.is_empty() {
                return Err(LoadError::NoPlans {
                    path: p.display().to_string(),
                });
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}
