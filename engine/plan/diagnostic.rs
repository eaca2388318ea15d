//! diagnostic: the plan-time problem type. A `Diagnostic` has a stable code
//! (`runbook::<stage>::<name>`), a severity, a message, labelled spans and an optional help;
//! `FileDiagnostics` binds a list of them to the source they point into. Rendering to
//! human/json/github/sarif lives in `render`; this module only holds the data.

use std::fmt;

use crate::plan::source::{SourceFile, Span};

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A span with the text shown under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub text: String,
    pub primary: bool,
}

/// One problem found in a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with one primary label.
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: vec![Label {
                span,
                text: label.into(),
                primary: true,
            }],
            help: None,
        }
    }

    /// A warning with one primary label.
    pub fn warning(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message, span, label)
        }
    }

    /// Adds a help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary label.
    #[must_use]
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
            primary: false,
        });
        self
    }

    /// The span of the primary label (the first label if none is primary).
    pub fn primary_span(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map_or_else(Span::default, |l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "did you mean `x`?" for a misspelt name, if a close enough candidate exists.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Lists names for a help line, e.g. "`a`, `b`, `c`".
pub fn list_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The problems of one file, with the file they point into.
#[derive(Clone, Debug)]
pub struct FileDiagnostics {
    pub source: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileDiagnostics {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// A diagnostic bound to its source, in the shape miette renders.
pub struct Rendered<'a> {
    pub source: &'a SourceFile,
    pub diagnostic: &'a Diagnostic,
    /// Without the source snippet (see [`Rendered::snippet_fits`]).
    pub plain: bool,
}

/// Longest source line, and longest label, that a snippet shows; past these the renderer
/// slows to a crawl (and its layout arithmetic can overflow), so the location is printed as
/// text instead.
const SNIPPET_MAX_LINE: usize = 400;
const SNIPPET_MAX_SPAN: usize = 4_000;

impl Rendered<'_> {
    /// Whether every label sits on lines short enough to show as a snippet.
    pub fn snippet_fits(source: &SourceFile, diagnostic: &Diagnostic) -> bool {
        let text = source.text();
        diagnostic.labels.iter().all(|l| {
            let start = l.span.start.min(text.len());
            let end = l.span.end.min(text.len()).max(start);
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
            end - start <= SNIPPET_MAX_SPAN
                && text[line_start..line_end]
                    .split('\n')
                    .all(|line| line.len() <= SNIPPET_MAX_LINE)
        })
    }
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        // A help that quotes the input (a fixed path, say) stays readable on huge input.
        self.diagnostic.help.as_ref().map(|h| {
            let h = match h.char_indices().nth(500) {
                Some((i, _)) => format!("{}…", &h[..i]),
                None => h.clone(),
            };
            Box::new(h) as Box<dyn fmt::Display>
        })
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        (!self.plain).then_some(self as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.plain {
            return None;
        }
        Some(Box::new(self.diagnostic.labels.iter().map(|l| {
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if l.primary {
                miette::LabeledSpan::new_primary_with_span(text, l.span)
            } else {
                miette::LabeledSpan::new_with_span(text, l.span)
            }
        })))
    }
}

impl miette::SourceCode for Rendered<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let text: &'b str = self.source.text();
        let inner = text.read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.source.name().to_string(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("neds", ["needs", "when"]).as_deref(),
            Some("did you mean `needs`?")
        );
        assert_eq!(did_you_mean("zzz", ["needs", "when"]), None);
    }
}
