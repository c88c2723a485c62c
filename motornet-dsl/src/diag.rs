//! Diagnostics: every problem the compiler finds, with its location, rendered three ways (colour in the CLI,
//! plain unicode inside `compile_error!`, plain text in snapshot tests).

use crate::ast::Span;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

/// One problem in a model file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// A stable identifier of the kind of problem, e.g. `unknown-body` (listed in docs/language.md).
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// A short note attached to the span.
    pub label: String,
    pub help: Option<String>,
    /// Other places that explain the problem (e.g. the first definition of a duplicate name).
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            related: Vec::new(),
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }
}

/// 1-based line and column of a byte offset (columns count characters).
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// How to draw a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Colours and unicode (terminals).
    Fancy,
    /// Unicode without colour codes (compile errors, where rustc shows escape codes raw).
    Plain,
}

/// All diagnostics of one file, ready to print.
pub struct Report<'a> {
    pub file_name: &'a str,
    pub source: &'a str,
    pub diagnostics: &'a [Diagnostic],
}

impl Report<'_> {
    pub fn render(&self, style: Style) -> String {
        let theme = match style {
            Style::Fancy => GraphicalTheme::unicode(),
            Style::Plain => GraphicalTheme::unicode_nocolor(),
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(110)
            .with_links(false);
        let mut out = String::new();
        // Control characters (a NUL byte in a binary file…) would be printed raw; show them as blanks, which
        // keeps every byte offset in place.
        let shown: String = self
            .source
            .chars()
            .map(|c| {
                if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                    ' '.to_string().repeat(c.len_utf8())
                } else {
                    c.to_string()
                }
            })
            .collect();
        for d in self.diagnostics {
            let item = MietteItem {
                d,
                source: NamedSource::new(self.file_name, shown.clone()),
            };
            if handler.render_report(&mut out, &item).is_err() {
                // Rendering only fails on formatter errors; fall back to the one-line form.
                out.push_str(&self.one_line(d));
            }
        }
        let n = self.diagnostics.len();
        if n > 0 {
            out.push_str(&format!(
                "{n} problem{} in {}\n",
                if n == 1 { "" } else { "s" },
                self.file_name
            ));
        }
        out
    }

    /// `file:line:col: error[code]: message` — one line per diagnostic, for logs and tests.
    pub fn one_line(&self, d: &Diagnostic) -> String {
        let (line, col) = line_col(self.source, d.span.start);
        format!(
            "{}:{line}:{col}: error[{}]: {}\n",
            self.file_name, d.code, d.message
        )
    }
}

struct MietteItem<'a> {
    d: &'a Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Debug for MietteItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl fmt::Display for MietteItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl std::error::Error for MietteItem<'_> {}

fn source_span(s: Span) -> SourceSpan {
    SourceSpan::new(s.start.into(), s.len())
}

impl miette::Diagnostic for MietteItem<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code))
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(
            Some(self.d.label.clone()),
            source_span(self.d.span),
        );
        let related = self
            .d
            .related
            .iter()
            .map(|(s, l)| LabeledSpan::new_with_span(Some(l.clone()), source_span(*s)));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

pub use motornet_runtime::suggest::suggest;

/// "did you mean `x`?" help text, when a close match exists.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    suggest(name, candidates).map(|s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let s = "ab\ncd\né f";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 4), (2, 2));
        assert_eq!(line_col(s, 9), (3, 3));
    }

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(suggest("mas", ["mass", "inertia"]), Some("mass"));
        assert_eq!(
            suggest("uper_arm", ["upper_arm", "forearm"]),
            Some("upper_arm")
        );
        assert_eq!(suggest("banana", ["mass", "inertia"]), None);
    }
}
