//! Diagnostics: every problem the compiler finds, with its location, rendered three ways (colour in the CLI,
//! plain unicode inside `compile_error!`, plain text in snapshot tests).

use crate::ast::Span;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
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
            message: clip_words(&message.into()),
            span,
            label: clip_words(&label.into()),
            help: None,
            related: Vec::new(),
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(clip_words(&help.into()));
        self
    }
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, clip_words(&label.into())));
        self
    }
}

/// Identifiers and numbers longer than this (in characters) are shortened in messages, labels and help.
pub const MAX_WORD_CHARS: usize = 60;

/// `Report::render` draws at most this many diagnostics in full; the rest are counted in one line (the
/// total stays right). Fifty is more than a screenful and keeps a report on a broken generated model short.
pub const MAX_RENDERED: usize = 50;

/// A source line longer than this many bytes is shown as a window around the problem.
const LONG_LINE: usize = 400;
/// Characters of a long line shown before the start of a problem, and from its start on.
const WINDOW_BEFORE: usize = 60;
const WINDOW_AFTER: usize = 80;
/// A label spanning more lines than this is cut at the end of its first line.
const MAX_LABEL_LINES: usize = 24;

/// Shortens every run of identifier characters (letters, digits, `_`, `.`) longer than [`MAX_WORD_CHARS`] to
/// its first characters and `…`, so a 100 000-character name is not echoed whole.
pub fn clip_words(text: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let mut out = String::with_capacity(text.len().min(4096));
    let mut run = 0usize;
    for c in text.chars() {
        if is_word(c) {
            run += 1;
            if run <= MAX_WORD_CHARS {
                out.push(c);
            } else if run == MAX_WORD_CHARS + 1 {
                out.push('…');
            }
        } else {
            run = 0;
            out.push(c);
        }
    }
    out
}

/// Whether the byte at `i` ends a line: `\n`, or a `\r` not followed by `\n` (`\r\n` ends at its `\n`).
fn is_line_end(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        b'\n' => true,
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

/// Characters of `s`, not counting a leading byte-order mark (editors do not show it as a column).
fn columns(s: &str) -> usize {
    s.strip_prefix('\u{feff}').unwrap_or(s).chars().count()
}

/// 1-based line and column of a byte offset (columns count characters). `\n`, `\r\n` and a lone `\r` end a
/// line; a byte-order mark at the start of the file is not a column.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let bytes = source.as_bytes();
    let mut line = 1;
    let mut line_start = 0;
    for i in 0..offset {
        if is_line_end(bytes, i) {
            line += 1;
            line_start = i + 1;
        }
    }
    (line, columns(&source[line_start..offset]) + 1)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Where each line of a text starts (computed once, so locating a diagnostic is a binary search).
struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for i in 0..bytes.len() {
            // A line end at the very end of the text does not start another (empty) line.
            if is_line_end(bytes, i) && i + 1 < bytes.len() {
                starts.push(i + 1);
            }
        }
        LineIndex {
            starts,
            len: text.len(),
        }
    }
    /// 0-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }
    fn start(&self, line: usize) -> usize {
        self.starts[line]
    }
    /// Start of the next line (or the end of the text): the end of `line` with its line break.
    fn next_start(&self, line: usize) -> usize {
        self.starts.get(line + 1).copied().unwrap_or(self.len)
    }
    /// End of `line` without its line break.
    fn content_end(&self, text: &str, line: usize) -> usize {
        let b = text.as_bytes();
        let (start, mut end) = (self.start(line), self.next_start(line));
        while end > start && matches!(b[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        end
    }
    fn is_long(&self, line: usize) -> bool {
        self.next_start(line) - self.start(line) > LONG_LINE
    }
    fn count(&self) -> usize {
        self.starts.len()
    }
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
    /// Draws the first [`MAX_RENDERED`] diagnostics with their source lines (a long line is shown as a window
    /// around the problem), then counts the rest. Takes time linear in the size of the source.
    pub fn render(&self, style: Style) -> String {
        let theme = match style {
            Style::Fancy => GraphicalTheme::unicode(),
            Style::Plain => GraphicalTheme::unicode_nocolor(),
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(110)
            .with_links(false);
        let mut out = String::new();
        let shown = displayable(self.source);
        let lines = LineIndex::new(self.source);
        for d in self.diagnostics.iter().take(MAX_RENDERED) {
            let snippet = Snippet::new(self.file_name, self.source, &shown, &lines, d);
            let item = MietteItem {
                d,
                snippet: &snippet,
            };
            if handler.render_report(&mut out, &item).is_err() {
                // Rendering only fails on formatter errors; fall back to the one-line form.
                out.push_str(&self.one_line(d));
            }
            for w in &snippet.windows {
                let (line, from) = (w.line + 1, w.column + 1);
                let to = (from + self.source[w.start..w.end].chars().count()).saturating_sub(1);
                out.push_str(&format!(
                    "  (line {line} is {} characters long: only columns {from}–{to} are shown)\n",
                    columns(
                        &self.source[lines.start(w.line)..lines.content_end(self.source, w.line)]
                    )
                ));
            }
        }
        let n = self.diagnostics.len();
        if n > MAX_RENDERED {
            let more = n - MAX_RENDERED;
            out.push_str(&format!(
                "… and {more} more problem{} (only the first {MAX_RENDERED} are shown)\n",
                if more == 1 { "" } else { "s" },
            ));
        }
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
            self.file_name,
            d.code,
            clip_words(&d.message)
        )
    }
}

/// The source as it is drawn, with the same byte offsets and character boundaries: control characters (a NUL
/// byte in a binary file…) become blanks, and a lone `\r` (old Mac line ends) becomes `\n`.
fn displayable(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() != Some(&'\n') => out.push('\n'),
            '\n' | '\r' | '\t' => out.push(c),
            // The same length in bytes, so the same character boundaries (C1 controls are two bytes).
            c if c.is_control() => out.push(if c.len_utf8() == 1 { ' ' } else { '\u{a0}' }),
            c => out.push(c),
        }
    }
    out
}

/// The part of a long line shown for one diagnostic.
#[derive(Clone, Copy)]
struct Window {
    line: usize,
    start: usize,
    end: usize,
    /// 0-based column of `start`.
    column: usize,
}

/// The source as miette sees it for one diagnostic: lines read through a [`LineIndex`] (no scan from the
/// start of the file), long lines cut to a window around the labels, and the labels fitted to what is shown.
struct Snippet<'a> {
    name: &'a str,
    /// The file as written (columns are counted here) and as drawn (same byte offsets).
    source: &'a str,
    text: &'a str,
    lines: &'a LineIndex,
    windows: Vec<Window>,
    /// The primary label's span, then the related ones', as shown.
    spans: Vec<Option<Span>>,
}

impl<'a> Snippet<'a> {
    fn new(
        name: &'a str,
        source: &'a str,
        text: &'a str,
        lines: &'a LineIndex,
        d: &Diagnostic,
    ) -> Self {
        let mut s = Snippet {
            name,
            source,
            text,
            lines,
            windows: Vec::new(),
            spans: Vec::new(),
        };
        let primary = s.fit(d.span, true);
        s.spans.push(primary);
        for (span, _) in &d.related {
            let fitted = s.fit(*span, false);
            s.spans.push(fitted);
        }
        s
    }

    fn window_of(&self, line: usize) -> Option<&Window> {
        self.windows.iter().find(|w| w.line == line)
    }

    /// The span as drawn: inside the text, on char boundaries, on one line if it would run through a long
    /// line or over many lines, and inside its line's window if that line is long. `None` if it falls
    /// outside a window made for an earlier label.
    fn fit(&mut self, span: Span, primary: bool) -> Option<Span> {
        let text = self.text;
        let start = floor_char_boundary(text, span.start);
        let mut end = ceil_char_boundary(text, span.end.max(start));
        let ls = self.lines.line_of(start);
        let le = self
            .lines
            .line_of(if end > start { end - 1 } else { start });
        if le > ls && (le - ls > MAX_LABEL_LINES || (ls..=le).any(|l| self.lines.is_long(l))) {
            end = self.lines.content_end(text, ls).max(start);
        }
        if !self.lines.is_long(ls) {
            return Some(Span::new(start, end));
        }
        let w = match self.window_of(ls) {
            Some(w) => *w,
            None if primary || self.windows.len() < 4 => {
                let line_start = self.lines.start(ls);
                let line_end = self.lines.content_end(text, ls).max(start);
                let ws = text[line_start..start]
                    .char_indices()
                    .rev()
                    .nth(WINDOW_BEFORE - 1)
                    .map_or(line_start, |(i, _)| line_start + i);
                let we = text[start..line_end]
                    .char_indices()
                    .nth(WINDOW_AFTER)
                    .map_or(line_end, |(i, _)| start + i);
                let w = Window {
                    line: ls,
                    start: ws,
                    end: we,
                    column: columns(&self.source[line_start..ws]),
                };
                self.windows.push(w);
                w
            }
            None => return None,
        };
        if start < w.start || start > w.end {
            return None;
        }
        Some(Span::new(start, end.min(w.end)))
    }
}

impl SourceCode for Snippet<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > self.text.len() || !self.text.is_char_boundary(start) {
            return Err(MietteError::OutOfBounds);
        }
        let lines = self.lines;
        let ls = lines.line_of(start);
        let le = lines.line_of(if end > start { end - 1 } else { start });
        let column = |at: usize| columns(&self.source[lines.start(ls)..at]);
        let (data_start, data_end, first, last, col) = if let Some(w) = self.window_of(ls) {
            if le != ls || start < w.start || end > w.end {
                return Err(MietteError::OutOfBounds);
            }
            if before == 0 {
                (start, w.end, ls, ls, column(start))
            } else {
                (w.start, w.end, ls, ls, w.column)
            }
        } else {
            if (ls..=le).any(|l| lines.is_long(l)) {
                return Err(MietteError::OutOfBounds);
            }
            let mut first = ls;
            while first > 0 && ls - first < before && !lines.is_long(first - 1) {
                first -= 1;
            }
            let mut last = le;
            while last + 1 < lines.count() && last - le < after && !lines.is_long(last + 1) {
                last += 1;
            }
            if before == 0 {
                (start, lines.next_start(last), ls, last, column(start))
            } else {
                (lines.start(first), lines.next_start(last), first, last, 0)
            }
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            &self.text.as_bytes()[data_start..data_end],
            SourceSpan::new(data_start.into(), data_end - data_start),
            first,
            col,
            last - first + 1,
        )))
    }
}

struct MietteItem<'a> {
    d: &'a Diagnostic,
    snippet: &'a Snippet<'a>,
}

impl fmt::Debug for MietteItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl fmt::Display for MietteItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Texts set after construction (`d.help = …`) are clipped here too.
        f.write_str(&clip_words(&self.d.message))
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
            .map(|h| Box::new(clip_words(h)) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.snippet)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let texts = std::iter::once(&self.d.label).chain(self.d.related.iter().map(|(_, l)| l));
        let spans = self.snippet.spans.iter().zip(texts).enumerate();
        Some(Box::new(spans.filter_map(|(i, (span, text))| {
            let span = source_span((*span)?);
            Some(if i == 0 {
                LabeledSpan::new_primary_with_span(Some(clip_words(text)), span)
            } else {
                LabeledSpan::new_with_span(Some(clip_words(text)), span)
            })
        })))
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
