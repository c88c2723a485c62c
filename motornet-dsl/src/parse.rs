//! Text → syntax tree. Never panics: every input yields either a model or diagnostics (often both, since a
//! statement that does not parse is reported and skipped, and the rest of the file is still read).

use crate::ast::*;
use crate::diag::Diagnostic;
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;
use std::sync::OnceLock;

#[derive(pest_derive::Parser)]
#[grammar = "mnet.pest"]
struct MnetParser;

/// Expressions nest at most this deep; deeper input is reported instead of risking the stack.
const MAX_NESTING: usize = 64;

/// A declaration holds at most this many operators, and its expressions nest at most `MAX_DEPTH` deep.
/// Nesting is what a parenthesised group, a function call, a `-` or a `^` adds; a flat sum or product
/// (`a + b + c …`, `a * b / c …`) is a chain that does not nest, however long (the checker walks it in a
/// loop; the later stages recurse along it, which `MAX_OPERATORS` bounds). Expression trees are otherwise
/// walked recursively (here, in the checker, in lowering and code generation), so absurd input is reported
/// instead of risking the stack; the limits leave room on a 2 MiB thread stack in a debug build (a
/// 2000-term sum still lowers and expands there). Documented in docs/language.md ("Limits").
const MAX_OPERATORS: usize = 1000;
const MAX_DEPTH: usize = 200;

/// Parses a whole file. Returns the model when the outer structure parsed, and every problem found.
pub fn parse(source: &str) -> (Option<Model>, Vec<Diagnostic>) {
    // A UTF-8 byte-order mark (which some editors write) is read as three blanks, which keeps every byte
    // offset, and so every span, as in the file.
    if let Some(rest) = source.strip_prefix('\u{feff}') {
        return parse_text(&format!("   {rest}"));
    }
    parse_text(source)
}

fn parse_text(source: &str) -> (Option<Model>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    if let Some(d) = reject_non_text(source) {
        return (None, vec![d]);
    }
    let empty = || {
        let d = Diagnostic::new(
            "empty-file",
            "the file defines no model",
            Span::new(0, source.len()),
            "empty",
        )
        .with_help("a model file starts with `model NAME { … }`");
        (None, vec![d])
    };
    if source.trim().is_empty() {
        return empty();
    }
    if let Some(d) = too_deep(source) {
        return (None, vec![d]);
    }
    let pairs = match MnetParser::parse(Rule::file, source) {
        Ok(p) => p,
        Err(_) if only_comments(source) => return empty(),
        Err(e) => return (None, vec![pest_error(e, 0, source)]),
    };
    let file = pairs.into_iter().next().expect("grammar: file");
    let model_pair = file.into_inner().next().expect("grammar: model");
    let model = build_model(model_pair, source, &mut diags);
    (Some(model), diags)
}

fn reject_non_text(source: &str) -> Option<Diagnostic> {
    let nul = source.find('\0')?;
    Some(
        Diagnostic::new(
            "binary-file",
            "this is not a text file (it contains a NUL byte)",
            Span::new(nul, nul + 1),
            "NUL byte",
        )
        .with_help("model files are UTF-8 text"),
    )
}

/// Whether the text holds only comments and blanks (asked only of text that does not parse).
fn only_comments(source: &str) -> bool {
    let mut rest = source;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once(['\n', '\r']).map_or("", |(_, b)| b);
        } else if let Some(r) = rest.strip_prefix("/*") {
            match r.split_once("*/") {
                Some((_, b)) => rest = b,
                None => return false,
            }
        } else {
            return rest.is_empty();
        }
    }
}

/// pest's parser is recursive; refuse pathologically nested brackets before handing the text to it.
/// Parentheses never span statements, so an unclosed `(` stops counting at the next `;`, `{` or `}`.
fn too_deep(source: &str) -> Option<Diagnostic> {
    let (mut parens, mut braces) = (0usize, 0usize);
    for (i, c) in code_chars(source) {
        match c {
            '(' => parens += 1,
            '{' => {
                parens = 0;
                braces += 1;
            }
            ')' => parens = parens.saturating_sub(1),
            '}' => {
                parens = 0;
                braces = braces.saturating_sub(1);
            }
            ';' => parens = 0,
            _ => continue,
        }
        if parens + braces > MAX_NESTING {
            return Some(Diagnostic::new(
                "too-deep",
                format!("brackets nest more than {MAX_NESTING} levels deep"),
                Span::new(i, i + 1),
                "too deep",
            ));
        }
    }
    None
}

/// The characters of `source` outside comments, with their byte offsets.
fn code_chars(source: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut it = source.char_indices().peekable();
    std::iter::from_fn(move || loop {
        let (i, c) = it.next()?;
        if c == '/' {
            match it.peek().map(|&(_, n)| n) {
                Some('/') => {
                    for (_, n) in it.by_ref() {
                        if n == '\n' || n == '\r' {
                            break;
                        }
                    }
                    continue;
                }
                Some('*') => {
                    it.next();
                    let mut star = false;
                    for (_, n) in it.by_ref() {
                        if star && n == '/' {
                            break;
                        }
                        star = n == '*';
                    }
                    continue;
                }
                _ => {}
            }
        }
        return Some((i, c));
    })
}

/// Byte offsets of the `{` that are never closed (outside comments), outermost first.
fn unclosed_braces(source: &str) -> Vec<usize> {
    let mut open = Vec::new();
    for (i, c) in code_chars(source) {
        match c {
            '{' => open.push(i),
            '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    open
}

/// Whether a `/*` at `at` has no closing `*/`.
fn unclosed_comment_at(source: &str, at: usize) -> bool {
    source
        .get(at..)
        .is_some_and(|rest| rest.starts_with("/*") && !rest[2..].contains("*/"))
}

/// Converts a pest error into a diagnostic, shifting its position by `offset` (for fragments of `source`
/// re-parsed on their own).
fn pest_error(e: pest::error::Error<Rule>, offset: usize, source: &str) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((a, b)) => (a, b),
    };
    let (start, end) = (start + offset, end + offset);
    // Point at the next token rather than at the blank before it.
    let start = skip_blank(source, start);
    let end = if end <= start {
        next_token_end(source, start)
    } else {
        end
    };
    let (message, label) = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<String> = positives.iter().filter_map(describe_rule).collect();
            expected.sort();
            expected.dedup();
            let found = describe_found(source, start);
            if unclosed_comment_at(source, start) {
                (
                    "syntax error: this comment is never closed (`/*` without `*/`)".to_string(),
                    "comment starts here".to_string(),
                )
            } else if expected.is_empty() {
                (
                    format!("syntax error: unexpected {found}"),
                    "unexpected".to_string(),
                )
            } else {
                let expected = join_or(&expected);
                (
                    format!("syntax error: expected {expected}; found {found}"),
                    format!("expected {expected}"),
                )
            }
        }
        ErrorVariant::CustomError { message } => (message.clone(), "here".to_string()),
    };
    let (message, label) = match spaced_call(source, start) {
        Some(f) => (
            format!("syntax error: a space between `{f}` and `(`: a function call has its `(` right after the name"),
            format!("write `{f}(…)` without a space"),
        ),
        None => (message, label),
    };
    let mut d = Diagnostic::new("syntax", message, Span::new(start, end), label);
    if source
        .get(start..)
        .and_then(|s| s.chars().next())
        .is_some_and(|c| !c.is_ascii())
    {
        d = d.with_help(
            "names are made of ASCII letters, digits and `_`; outside comments the text is ASCII",
        );
    }
    d
}

fn skip_blank(source: &str, at: usize) -> usize {
    source
        .get(at..)
        .map_or(at, |rest| at + rest.len() - rest.trim_start().len())
}

/// What the parser found at `at`: the next word, number or symbol.
fn describe_found(source: &str, at: usize) -> String {
    let rest = source.get(at..).unwrap_or("").trim_start();
    let Some(c) = rest.chars().next() else {
        return "the end of the file".to_string();
    };
    let token = token_len(rest);
    let t = &rest[..token];
    if c.is_control() {
        format!("`{}`", c.escape_default())
    } else {
        format!("`{t}`")
    }
}

/// Length in bytes of the token at the start of `s` (a word, a number, `->`, `..`, `/*` or one character).
fn token_len(s: &str) -> usize {
    let Some(c) = s.chars().next() else {
        return 0;
    };
    if c.is_ascii_alphanumeric() || c == '_' {
        let n = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(s.len());
        return n.min(40);
    }
    for two in ["->", "..", "/*", "//"] {
        if s.starts_with(two) {
            return 2;
        }
    }
    c.len_utf8()
}

fn next_token_end(source: &str, start: usize) -> usize {
    source
        .get(start..)
        .map_or(start, |s| start + token_len(s))
        .max(next_char_end(source, start))
}

fn next_char_end(source: &str, start: usize) -> usize {
    source
        .get(start..)
        .and_then(|s| s.chars().next())
        .map_or(start, |c| start + c.len_utf8())
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn describe_rule(r: &Rule) -> Option<String> {
    Some(
        match r {
            Rule::ident | Rule::call_name | Rule::reference => "a name",
            Rule::model => "`model NAME { … }`",
            Rule::expr | Rule::quantity | Rule::number | Rule::neg | Rule::call => "a value",
            Rule::range | Rule::vector => "a value",
            Rule::unit | Rule::unit_term | Rule::unit_word => "a unit",
            Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::pow => "an operator",
            Rule::block => "`{`",
            Rule::const_item
            | Rule::body_item
            | Rule::joint_item
            | Rule::muscle_item
            | Rule::obstacle_item
            | Rule::setting => "a declaration",
            Rule::plain_property | Rule::path_property => "a property",
            Rule::via_point | Rule::wrap_element => "a path point",
            Rule::lumped_path | Rule::via_path => "a path",
            Rule::sign => "`+` or `-`",
            Rule::EOI => "the end of the file",
            Rule::semi => "`;`",
            Rule::colon => "`:`",
            Rule::arrow => "`->`",
            Rule::equals => "`=`",
            Rule::lbrace => "`{`",
            Rule::rbrace | Rule::model_end => "`}`",
            Rule::rparen => "`)`",
            Rule::comma => "`,`",
            Rule::dots => "`..`",
            Rule::kw_model => "`model NAME { … }`",
            _ => return None,
        }
        .to_string(),
    )
}

/// Parses a lone quantity such as `120 deg` or `0.5` (used for parameter overrides).
pub fn parse_quantity(text: &str) -> Result<Quantity, String> {
    match MnetParser::parse(Rule::quantity_only, text) {
        Ok(mut pairs) => {
            let q = pairs
                .next()
                .and_then(|p| p.into_inner().next())
                .expect("grammar: quantity");
            Ok(build_quantity(q))
        }
        Err(e) => Err(pest_error(e, 0, text).message),
    }
}

/// What building the syntax tree produces besides the tree.
#[derive(Default)]
struct Sink {
    diags: Vec<Diagnostic>,
    /// Declarations found inside a block (whose `}` is probably missing), to be read at model level.
    hoisted: Vec<Item>,
    /// Whether any declaration was hoisted (the block around it took the model's `}`).
    any_hoisted: bool,
}

/// The unit words of the grammar's `unit_word`.
const UNIT_WORDS: [&str; 10] = ["kg", "g", "cm", "mm", "ms", "m", "s", "N", "rad", "deg"];

/// `path lumped 0.2 m + 0.03 * shoulder;`: a lumped path is one expression in SI units, with no unit words.
/// Says so (instead of "expected `;`") when the syntax error is at a unit word in a lumped path.
fn explain_unit_in_lumped_path(d: &mut Diagnostic, text: &str, start: usize, source: &str) {
    let words = leading_names(text, start);
    let lumped = words.len() == 2 && words[0].name == "path" && words[1].name == "lumped";
    let at = source.get(d.span.start..).unwrap_or("");
    let word = &at[..token_len(at)];
    if !lumped || !UNIT_WORDS.contains(&word) {
        return;
    }
    d.message = format!(
        "syntax error: a lumped path cannot contain units (found `{word}`): it is one expression whose value \
         is the length in metres"
    );
    d.label = "unit inside a lumped path".into();
    d.span = Span::new(d.span.start, d.span.start + word.len());
    d.help = Some(
        "write plain numbers in SI units (metres; joint coordinates are radians or metres), e.g. \
         `path lumped 0.2 + 0.03 * shoulder;` for 0.2 m, or name a quantity with a unit first: \
         `const rest = 20 cm;` then `path lumped rest + 0.03 * shoulder;`"
            .into(),
    );
}

/// `sin (x)`: a function name, blanks, then `(` at `at`. Returns the function name.
fn spaced_call(source: &str, at: usize) -> Option<&str> {
    if !source.get(at..)?.starts_with('(') {
        return None;
    }
    let before = &source[..at];
    let word_end = before.trim_end().len();
    if word_end == before.len() {
        return None; // no blank before `(`
    }
    let word_start = before[..word_end]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let word = &before[word_start..word_end];
    crate::model::Func::lookup(word).map(|_| word)
}

/// What a statement that did not parse in place turned out to be.
enum Recovery {
    /// Reported: nothing to keep (but a placeholder).
    Reported,
    /// Only its final `;` was missing (reported): the statement with the `;` added, to re-parse with the same
    /// rule, and where it sits in the file.
    MissingSemicolon(String, Shift),
    /// A whole declaration inside a block (not reported yet): its text, to re-parse as `item_only`, and where
    /// it sits in the file.
    Declaration(String, Shift),
    /// A `{ … }` inside a block (reported): its text, to re-parse as `block_only`, and where it sits.
    NestedBlock(String, Shift),
}

/// A statement that did not parse in place: re-parse it alone to learn precisely what is wrong with it.
fn recover(pair: &Pair<Rule>, rule: Rule, source: &str, diags: &mut Vec<Diagnostic>) -> Recovery {
    let span = pair.as_span();
    let text = span.as_str();
    let start = span.start();
    let trimmed = text.trim_end();
    let end = start + trimmed.len();
    let e = match MnetParser::parse(rule, text) {
        Err(e) => e,
        // It parses alone but not in place.
        Ok(_) => {
            diags.push(Diagnostic::new(
                "misplaced",
                "this statement is not allowed here",
                Span::new(start, end),
                "misplaced",
            ));
            return Recovery::Reported;
        }
    };
    if rule == Rule::property_only && text.starts_with('{') {
        diags.push(
            Diagnostic::new(
                "syntax",
                "syntax error: unexpected `{` inside a block",
                Span::new(start, start + 1),
                "unexpected `{`",
            )
            .with_help("a block holds `name value;` properties; what is inside these braces is read as if they were not there"),
        );
        return Recovery::NestedBlock(
            trimmed.to_string(),
            Shift {
                by: start,
                limit: trimmed.len(),
            },
        );
    }
    let starts_with_keyword =
        ["const", "body", "joint", "muscle", "obstacle"].contains(&&text[..token_len(text)]);
    if rule == Rule::property_only && starts_with_keyword {
        // A whole declaration inside a block: most likely the block's `}` is missing above it.
        if let Some(t) = [text.to_string(), format!("{trimmed};")]
            .into_iter()
            .find(|t| MnetParser::parse(Rule::item_only, t).is_ok())
        {
            let limit = trimmed.len();
            return Recovery::Declaration(t, Shift { by: start, limit });
        }
    }
    let mut d = pest_error(e, start, source);
    if rule == Rule::property_only {
        explain_unit_in_lumped_path(&mut d, text, start, source);
    }
    if d.span.start < end {
        diags.push(d);
        return Recovery::Reported;
    }
    // The statement simply stops: the usual cause is a missing `;`.
    let fixed = format!("{trimmed};");
    if MnetParser::parse(rule, &fixed).is_err() {
        diags.push(d);
        return Recovery::Reported;
    }
    diags.push(
        Diagnostic::new(
            "syntax",
            "syntax error: expected `;` at the end of this statement",
            Span::new(end, end),
            "expected `;`",
        )
        .with_related(Span::new(start, end), "this statement"),
    );
    Recovery::MissingSemicolon(
        fixed,
        Shift {
            by: start,
            limit: trimmed.len(),
        },
    )
}

// ---- placeholders ---------------------------------------------------------------------------------------
//
// A statement that does not parse is reported and replaced by a placeholder, so the checker does not report
// its consequences as well (a property "missing" that was written, a body "not attached" by a joint that
// did not parse). A placeholder has an empty span where a parsed statement never does; the checker skips it
// (see `check::is_placeholder_*`).

/// The name after a declaration keyword or the property name at the start of `text` (which starts at byte
/// `start` of the source).
fn leading_names(text: &str, start: usize) -> Vec<Ident> {
    let mut out = Vec::new();
    let mut at = 0;
    while out.len() < 2 {
        let rest = &text[at..];
        let skipped = rest.len() - rest.trim_start().len();
        at += skipped;
        let rest = &text[at..];
        let is_word = rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !is_word {
            break;
        }
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        out.push(Ident {
            name: rest[..n].to_string(),
            span: Span::new(start + at, start + at + n),
        });
        at += n;
    }
    out
}

fn placeholder_block(at: usize) -> Block {
    Block {
        properties: Vec::new(),
        paths: Vec::new(),
        span: Span::new(at, at),
    }
}

/// Placeholders for a block entry that did not parse: a property named by its first word, and a path if
/// the word `path` appears (a statement that lost its `;` may run into the next one).
fn placeholder_entries(text: &str, start: usize) -> Vec<Entry> {
    let mut out = Vec::new();
    let span = Span::new(start, start + text.trim_end().len());
    let Some(first) = leading_names(text, start).into_iter().next() else {
        return out;
    };
    let has_path = first.name == "path"
        || text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|w| w == "path");
    if first.name != "path" {
        out.push(Entry::Property(Property {
            name: first,
            values: Vec::new(),
            span: Span::new(start, start),
        }));
    }
    if has_path {
        out.push(Entry::Path(PathDef::Via {
            elements: Vec::new(),
            span,
        }));
    }
    out
}

/// A placeholder for a declaration that did not parse: a body or joint named after its keyword, or a setting.
fn placeholder_item(text: &str, start: usize) -> Option<Item> {
    let mut names = leading_names(text, start).into_iter();
    let first = names.next()?;
    let second = names.next();
    let nameless = || Ident {
        name: String::new(),
        span: Span::new(start, start),
    };
    Some(match first.name.as_str() {
        "body" => Item::Body {
            name: second?,
            block: placeholder_block(start),
        },
        "joint" => Item::Joint {
            name: second.unwrap_or_else(nameless),
            parent: nameless(),
            child: nameless(),
            block: placeholder_block(start),
        },
        "const" | "muscle" | "obstacle" => return None,
        _ => Item::Setting(Property {
            name: first,
            values: Vec::new(),
            span: Span::new(start, start),
        }),
    })
}

/// Re-parses a recovered statement (`text` starts at byte `offset` of the source) as `rule` and hands its
/// pair to `build`, then moves every span of the result and of its diagnostics to the right place.
fn rebuild<T>(
    text: &str,
    offset: Shift,
    rule: Rule,
    sink: &mut Sink,
    build: impl FnOnce(Pair<Rule>, &str, &mut Sink) -> Option<T>,
    shift: impl FnOnce(&mut T, Shift),
) -> Option<T> {
    let pair = MnetParser::parse(rule, text)
        .ok()?
        .next()?
        .into_inner()
        .next()?;
    let mut local = Sink::default();
    let mut out = build(pair, text, &mut local);
    if let Some(out) = &mut out {
        shift(out, offset);
    }
    for mut d in local.diags {
        shift_span(&mut d.span, offset);
        for (s, _) in &mut d.related {
            shift_span(s, offset);
        }
        sink.diags.push(d);
    }
    for mut item in local.hoisted {
        shift_item(&mut item, offset);
        sink.hoisted.push(item);
    }
    sink.any_hoisted |= local.any_hoisted;
    out
}

/// The children of a pair that carry meaning (punctuation pairs exist only for error messages).
fn kids(p: Pair<Rule>) -> impl Iterator<Item = Pair<Rule>> {
    p.into_inner().filter(|q| {
        !matches!(
            q.as_rule(),
            Rule::semi
                | Rule::colon
                | Rule::arrow
                | Rule::equals
                | Rule::lbrace
                | Rule::rbrace
                | Rule::lparen
                | Rule::rparen
                | Rule::comma
                | Rule::dots
        )
    })
}

/// The span of a pair without the blanks pest includes after a trailing optional part (`1.8 kg ` in
/// `mass 1.8 kg length …`).
fn span_of(p: &Pair<Rule>) -> Span {
    let start = p.as_span().start();
    Span::new(start, start + p.as_str().trim_end().len())
}

fn ident(p: Pair<Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: p.as_span().into(),
    }
}

fn build_model(pair: Pair<Rule>, source: &str, diags: &mut Vec<Diagnostic>) -> Model {
    let mut sink = Sink::default();
    let model = build_model_into(pair, source, &mut sink);
    diags.append(&mut sink.diags);
    model
}

fn build_model_into(pair: Pair<Rule>, source: &str, sink: &mut Sink) -> Model {
    let mut inner = kids(pair);
    inner.next(); // `model`
    let name = ident(inner.next().expect("grammar: model name"));
    let mut entries: Vec<Pair<Rule>> = inner.collect();
    let closed = entries.iter().any(|p| p.as_rule() == Rule::model_end);
    let last_stray = entries
        .iter()
        .rposition(|p| p.as_rule() == Rule::stray_close);
    // Without a final `}`, the last `}` that closed the model early is its real end: what follows is not
    // part of the model.
    if let (false, Some(k)) = (closed, last_stray) {
        let rest = entries.split_off(k + 1);
        entries.pop();
        if let (Some(first), Some(last)) = (rest.first(), rest.last()) {
            let end = last.as_span().start() + last.as_str().trim_end().len();
            sink.diags.push(
                Diagnostic::new(
                    "syntax",
                    "syntax error: unexpected text after the end of the model",
                    Span::new(first.as_span().start(), end),
                    "after the model's closing `}`",
                )
                .with_help("a file holds one `model NAME { … }`: delete this text or make it a comment (`// …`)"),
            );
        }
    }
    let mut items = Vec::new();
    for p in entries {
        match p.as_rule() {
            Rule::model_end => {}
            Rule::bad_item => match recover(&p, Rule::item_only, source, &mut sink.diags) {
                Recovery::MissingSemicolon(text, offset) | Recovery::Declaration(text, offset) => {
                    items.extend(rebuild(
                        &text,
                        offset,
                        Rule::item_only,
                        sink,
                        checked_item,
                        shift_item,
                    ))
                }
                Recovery::Reported | Recovery::NestedBlock(..) => {
                    let span = p.as_span();
                    items.extend(placeholder_item(span.as_str(), span.start()));
                }
            },
            Rule::stray_close => {
                let at = p.as_span().start();
                sink.diags.push(
                    Diagnostic::new(
                        "syntax",
                        "syntax error: unexpected `}`: it closes the model, but the file goes on",
                        Span::new(at, at + 1),
                        "the model ends here",
                    )
                    .with_help("delete this `}` if it is one too many; what follows it is read as part of the model"),
                );
            }
            _ => items.extend(checked_item(p, source, sink)),
        }
        items.append(&mut sink.hoisted);
    }
    if !closed && last_stray.is_none() && !sink.any_hoisted {
        let open = unclosed_braces(source);
        let eof = source.trim_end().len();
        let mut d = Diagnostic::new(
            "syntax",
            "syntax error: the file ends before every `{` is closed",
            Span::new(eof, eof),
            "expected `}`",
        );
        for &o in open.iter().rev().take(4) {
            d = d.with_related(Span::new(o, o + 1), "this `{` is never closed");
        }
        sink.diags.push(d);
    }
    Model { name, items }
}

/// [`build_item`], unless the declaration is too long to handle safely (then a placeholder).
fn checked_item(p: Pair<Rule>, source: &str, sink: &mut Sink) -> Option<Item> {
    let operators = p
        .clone()
        .into_inner()
        .flatten()
        .filter(|q| {
            matches!(
                q.as_rule(),
                Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::pow | Rule::neg
            )
        })
        .count();
    if operators > MAX_OPERATORS {
        let span = p.as_span();
        let first_line = span
            .as_str()
            .find(['\n', '\r'])
            .map_or(span.end(), |n| span.start() + n);
        sink.diags.push(Diagnostic::new(
            "too-long",
            format!(
                "this declaration has {operators} operators; at most {MAX_OPERATORS} per declaration are supported"
            ),
            Span::new(span.start(), first_line),
            "too long",
        ).with_help(format!("the limit on operators in one declaration is {MAX_OPERATORS} (docs/language.md, \"Limits\"); split the expression, e.g. into constants")));
        return placeholder_item(span.as_str(), span.start());
    }
    let span = p.as_span();
    let item = build_item(p, source, sink);
    let depth = item_depth(&item);
    if depth > MAX_DEPTH {
        let first_line = span
            .as_str()
            .find(['\n', '\r'])
            .map_or(span.end(), |n| span.start() + n);
        sink.diags.push(
            Diagnostic::new(
                "too-long",
                format!(
                    "an expression in this declaration nests {depth} levels deep; at most {MAX_DEPTH} levels of nesting are supported"
                ),
                Span::new(span.start(), first_line),
                "too deep",
            )
            .with_help(format!("the nesting limit is {MAX_DEPTH} (docs/language.md, \"Limits\"): each `-`, `^`, function call or parenthesised group inside another adds a level; a flat sum or product `a + b + c …` is one level")),
        );
        return placeholder_item(span.as_str(), span.start());
    }
    Some(item)
}

/// The depth of the deepest expression tree in a declaration.
fn item_depth(item: &Item) -> usize {
    let block_depth = |b: &Block| {
        let props = b.properties.iter().flat_map(|p| &p.values).map(value_depth);
        let paths = b.paths.iter().map(|p| match p {
            PathDef::Lumped { expr, .. } => expr_depth(expr),
            PathDef::Via { elements, .. } => elements
                .iter()
                .map(|e| match e {
                    PathElement::Point { position, .. } => value_depth(position),
                    PathElement::Wrap {
                        side: Some(WrapSide::Point(v)),
                        ..
                    } => value_depth(v),
                    PathElement::Wrap { .. } => 0,
                })
                .max()
                .unwrap_or(0),
        });
        props.chain(paths).max().unwrap_or(0)
    };
    match item {
        Item::Const { value, .. } => value_depth(value),
        Item::Body { block, .. }
        | Item::Joint { block, .. }
        | Item::Muscle { block, .. }
        | Item::Obstacle { block, .. } => block_depth(block),
        Item::Setting(p) => p.values.iter().map(value_depth).max().unwrap_or(0),
    }
}

fn value_depth(v: &Value) -> usize {
    match v {
        Value::Quantity(q) => expr_depth(&q.expr),
        Value::Vector { components, .. } => components.iter().map(expr_depth).max().unwrap_or(0),
        Value::Range { lower, upper, .. } => expr_depth(&lower.expr).max(expr_depth(&upper.expr)),
    }
}

/// How deep an expression nests: a flat chain of `+ - * /` down its left operands counts as one level.
fn expr_depth(e: &Expr) -> usize {
    1 + match &e.kind {
        ExprKind::Number(_) | ExprKind::Ref(_) => 0,
        ExprKind::Neg(a) => expr_depth(a),
        ExprKind::Binary(BinOp::Pow, a, b) => expr_depth(a).max(expr_depth(b)),
        ExprKind::Binary(_, _, _) => {
            let (mut deepest, mut cur) = (0, e);
            while let ExprKind::Binary(op, a, b) = &cur.kind {
                if *op == BinOp::Pow {
                    break;
                }
                deepest = deepest.max(expr_depth(b));
                cur = a;
            }
            deepest.max(expr_depth(cur))
        }
        ExprKind::Call(_, args) => args.iter().map(expr_depth).max().unwrap_or(0),
    }
}

fn build_item(p: Pair<Rule>, source: &str, sink: &mut Sink) -> Item {
    let rule = p.as_rule();
    let span: Span = span_of(&p);
    let mut inner = kids(p);
    match rule {
        Rule::const_item => {
            inner.next(); // keyword
            let name = ident(inner.next().expect("grammar: const name"));
            let value = build_value(inner.next().expect("grammar: const value"));
            Item::Const { name, value }
        }
        Rule::body_item => {
            inner.next();
            let name = ident(inner.next().expect("grammar"));
            let block = build_block(inner.next().expect("grammar"), source, sink);
            Item::Body { name, block }
        }
        Rule::joint_item => {
            inner.next();
            let name = ident(inner.next().expect("grammar"));
            let parent = ident(inner.next().expect("grammar"));
            let child = ident(inner.next().expect("grammar"));
            let block = build_block(inner.next().expect("grammar"), source, sink);
            Item::Joint {
                name,
                parent,
                child,
                block,
            }
        }
        Rule::muscle_item | Rule::obstacle_item => {
            inner.next();
            let name = ident(inner.next().expect("grammar"));
            let kind = ident(inner.next().expect("grammar"));
            let block = build_block(inner.next().expect("grammar"), source, sink);
            if rule == Rule::muscle_item {
                Item::Muscle { name, kind, block }
            } else {
                Item::Obstacle { name, kind, block }
            }
        }
        Rule::setting => {
            let name = ident(inner.next().expect("grammar"));
            Item::Setting(Property {
                name,
                values: inner.map(build_value).collect(),
                span,
            })
        }
        r => unreachable!("grammar: unexpected item {r:?}"),
    }
}

fn build_block(p: Pair<Rule>, source: &str, sink: &mut Sink) -> Block {
    let span: Span = span_of(&p);
    let mut block = Block {
        properties: Vec::new(),
        paths: Vec::new(),
        span,
    };
    let mut hoisted_here = false;
    for q in kids(p) {
        match q.as_rule() {
            Rule::bad_property => match recover(&q, Rule::property_only, source, &mut sink.diags) {
                Recovery::Declaration(text, offset) => {
                    // Reported once per block: the declarations after the first follow from the same `}`.
                    if !hoisted_here {
                        let keyword = Span::new(offset.by, offset.by + token_len(&text));
                        sink.diags.push(
                            Diagnostic::new(
                                "syntax",
                                "syntax error: a declaration cannot appear inside a `{ … }` block",
                                keyword,
                                "declaration inside a block",
                            )
                            .with_related(Span::new(span.start, span.start + 1), "this block is still open")
                            .with_help("is the `}` that closes this block missing? Declarations from here on are read as if it were there."),
                        );
                    }
                    hoisted_here = true;
                    sink.any_hoisted = true;
                    let item = rebuild(
                        &text,
                        offset,
                        Rule::item_only,
                        sink,
                        checked_item,
                        shift_item,
                    );
                    sink.hoisted.extend(item);
                }
                Recovery::MissingSemicolon(text, offset) => {
                    let entry = rebuild(
                        &text,
                        offset,
                        Rule::property_only,
                        sink,
                        |p, _, _| Some(build_entry(p)),
                        |e, o| match e {
                            Entry::Property(p) => shift_property(p, o),
                            Entry::Path(p) => shift_path(p, o),
                        },
                    );
                    if let Some(entry) = entry {
                        add_entry(&mut block, entry, hoisted_here, sink);
                    }
                }
                Recovery::NestedBlock(text, offset) => {
                    let inner = rebuild(
                        &text,
                        offset,
                        Rule::block_only,
                        sink,
                        |p, src, sink| Some(build_block(p, src, sink)),
                        shift_block,
                    );
                    if let Some(inner) = inner {
                        block.properties.extend(inner.properties);
                        block.paths.extend(inner.paths);
                    }
                }
                Recovery::Reported => {
                    let span = q.as_span();
                    for entry in placeholder_entries(span.as_str(), span.start()) {
                        add_entry(&mut block, entry, hoisted_here, sink);
                    }
                }
            },
            _ => add_entry(&mut block, build_entry(q), hoisted_here, sink),
        }
    }
    block
}

/// Adds an entry to a block, or, once a declaration was found inside the block (whose `}` is then probably
/// missing), reads a property as a model setting.
fn add_entry(block: &mut Block, entry: Entry, hoisting: bool, sink: &mut Sink) {
    match entry {
        Entry::Property(p) if hoisting => sink.hoisted.push(Item::Setting(p)),
        Entry::Property(p) => block.properties.push(p),
        Entry::Path(p) => block.paths.push(p),
    }
}

enum Entry {
    Property(Property),
    Path(PathDef),
}

fn build_entry(q: Pair<Rule>) -> Entry {
    let qspan: Span = span_of(&q);
    match q.as_rule() {
        Rule::plain_property => {
            let mut inner = kids(q);
            let name = ident(inner.next().expect("grammar"));
            Entry::Property(Property {
                name,
                values: inner.map(build_value).collect(),
                span: qspan,
            })
        }
        Rule::path_property => {
            let mut inner = kids(q);
            inner.next(); // `path`
            Entry::Path(build_path(inner.next().expect("grammar: path"), qspan))
        }
        r => unreachable!("grammar: unexpected block entry {r:?}"),
    }
}

// ---- moving spans (for statements re-parsed on their own) ------------------------------------------------

/// Moves spans of a re-parsed statement into the file: by `by` bytes, after clamping them to the first
/// `limit` bytes of the re-parsed text (which may end with a `;` the file does not have).
#[derive(Clone, Copy)]
struct Shift {
    by: usize,
    limit: usize,
}

fn shift_span(s: &mut Span, o: Shift) {
    s.start = s.start.min(o.limit) + o.by;
    s.end = s.end.min(o.limit) + o.by;
}

fn shift_ident(i: &mut Ident, o: Shift) {
    shift_span(&mut i.span, o);
}

fn shift_item(item: &mut Item, o: Shift) {
    match item {
        Item::Const { name, value } => {
            shift_ident(name, o);
            shift_value(value, o);
        }
        Item::Body { name, block } => {
            shift_ident(name, o);
            shift_block(block, o);
        }
        Item::Joint {
            name,
            parent,
            child,
            block,
        } => {
            for i in [name, parent, child] {
                shift_ident(i, o);
            }
            shift_block(block, o);
        }
        Item::Muscle { name, kind, block } | Item::Obstacle { name, kind, block } => {
            shift_ident(name, o);
            shift_ident(kind, o);
            shift_block(block, o);
        }
        Item::Setting(p) => shift_property(p, o),
    }
}

fn shift_block(b: &mut Block, o: Shift) {
    shift_span(&mut b.span, o);
    b.properties.iter_mut().for_each(|p| shift_property(p, o));
    b.paths.iter_mut().for_each(|p| shift_path(p, o));
}

fn shift_property(p: &mut Property, o: Shift) {
    shift_ident(&mut p.name, o);
    shift_span(&mut p.span, o);
    p.values.iter_mut().for_each(|v| shift_value(v, o));
}

fn shift_path(p: &mut PathDef, o: Shift) {
    match p {
        PathDef::Lumped { expr, span } => {
            shift_expr(expr, o);
            shift_span(span, o);
        }
        PathDef::Via { elements, span } => {
            shift_span(span, o);
            for e in elements {
                match e {
                    PathElement::Point { body, position } => {
                        shift_ident(body, o);
                        shift_value(position, o);
                    }
                    PathElement::Wrap {
                        obstacle,
                        side,
                        span,
                    } => {
                        shift_ident(obstacle, o);
                        shift_span(span, o);
                        match side {
                            Some(WrapSide::Point(v)) => shift_value(v, o),
                            Some(WrapSide::Sign(_, s)) => shift_span(s, o),
                            None => {}
                        }
                    }
                }
            }
        }
    }
}

fn shift_value(v: &mut Value, o: Shift) {
    match v {
        Value::Quantity(q) => shift_quantity(q, o),
        Value::Vector {
            components,
            unit,
            span,
        } => {
            components.iter_mut().for_each(|e| shift_expr(e, o));
            if let Some(u) = unit {
                shift_unit(u, o);
            }
            shift_span(span, o);
        }
        Value::Range { lower, upper, span } => {
            shift_quantity(lower, o);
            shift_quantity(upper, o);
            shift_span(span, o);
        }
    }
}

fn shift_quantity(q: &mut Quantity, o: Shift) {
    shift_expr(&mut q.expr, o);
    if let Some(u) = &mut q.unit {
        shift_unit(u, o);
    }
    shift_span(&mut q.span, o);
}

fn shift_unit(u: &mut Unit, o: Shift) {
    shift_span(&mut u.span, o);
    u.factors.iter_mut().for_each(|(w, _)| shift_ident(w, o));
}

fn shift_expr(e: &mut Expr, o: Shift) {
    shift_span(&mut e.span, o);
    match &mut e.kind {
        ExprKind::Number(_) => {}
        ExprKind::Ref(path) => path.iter_mut().for_each(|i| shift_ident(i, o)),
        ExprKind::Neg(a) => shift_expr(a, o),
        ExprKind::Binary(_, a, b) => {
            shift_expr(a, o);
            shift_expr(b, o);
        }
        ExprKind::Call(name, args) => {
            shift_ident(name, o);
            args.iter_mut().for_each(|a| shift_expr(a, o));
        }
    }
}

fn build_path(p: Pair<Rule>, span: Span) -> PathDef {
    match p.as_rule() {
        Rule::lumped_path => {
            let mut inner = kids(p);
            inner.next(); // `lumped`
            PathDef::Lumped {
                expr: build_expr(inner.next().expect("grammar")),
                span,
            }
        }
        Rule::via_path => {
            let elements = kids(p)
                .map(|e| match e.as_rule() {
                    Rule::via_point => {
                        let mut inner = kids(e);
                        let body = ident(inner.next().expect("grammar"));
                        PathElement::Point {
                            body,
                            position: build_value(inner.next().expect("grammar")),
                        }
                    }
                    Rule::wrap_element => {
                        let espan = span_of(&e);
                        let mut inner = kids(e);
                        inner.next(); // `wrap`
                        let obstacle = ident(inner.next().expect("grammar"));
                        inner.next(); // `side`, if any
                        let side = inner.next().map(|s| match s.as_rule() {
                            Rule::sign => WrapSide::Sign(
                                if s.as_str() == "+" { 1.0 } else { -1.0 },
                                span_of(&s),
                            ),
                            _ => WrapSide::Point(Box::new(build_value(s))),
                        });
                        PathElement::Wrap {
                            obstacle,
                            side,
                            span: espan,
                        }
                    }
                    r => unreachable!("grammar: unexpected path element {r:?}"),
                })
                .collect();
            PathDef::Via { elements, span }
        }
        r => unreachable!("grammar: unexpected path {r:?}"),
    }
}

fn build_value(p: Pair<Rule>) -> Value {
    let span: Span = span_of(&p);
    match p.as_rule() {
        Rule::quantity => Value::Quantity(build_quantity(p)),
        Rule::range => {
            let mut inner = kids(p);
            let lower = build_quantity(inner.next().expect("grammar"));
            let upper = build_quantity(inner.next().expect("grammar"));
            Value::Range { lower, upper, span }
        }
        Rule::vector => {
            let mut components = Vec::new();
            let mut unit = None;
            for q in kids(p) {
                match q.as_rule() {
                    Rule::expr => components.push(build_expr(q)),
                    Rule::unit => unit = Some(build_unit(q)),
                    r => unreachable!("grammar: unexpected vector part {r:?}"),
                }
            }
            Value::Vector {
                components,
                unit,
                span,
            }
        }
        r => unreachable!("grammar: unexpected value {r:?}"),
    }
}

fn build_quantity(p: Pair<Rule>) -> Quantity {
    let span = span_of(&p);
    let mut inner = kids(p);
    let expr = build_expr(inner.next().expect("grammar"));
    let unit = inner.next().map(build_unit);
    Quantity { expr, unit, span }
}

fn build_unit(p: Pair<Rule>) -> Unit {
    let span = span_of(&p);
    let mut factors = Vec::new();
    let mut sign: i32 = 1;
    for q in kids(p) {
        match q.as_rule() {
            Rule::unit_op => sign = if q.as_str() == "/" { -1 } else { 1 },
            Rule::unit_term => {
                let mut inner = kids(q);
                let word = ident(inner.next().expect("grammar"));
                let power = inner
                    .next()
                    .map_or(1, |p| p.as_str().parse::<i32>().unwrap_or(i32::MAX));
                factors.push((word, sign.saturating_mul(power)));
                // `a/b c` means a/(b c): the quotient applies to the rest of the unit.
            }
            r => unreachable!("grammar: unexpected unit part {r:?}"),
        }
    }
    Unit { factors, span }
}

fn pratt() -> &'static PrattParser<Rule> {
    static P: OnceLock<PrattParser<Rule>> = OnceLock::new();
    P.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
            .op(Op::prefix(Rule::neg))
            .op(Op::infix(Rule::pow, Assoc::Right))
    })
}

fn build_expr(p: Pair<Rule>) -> Expr {
    pratt()
        .map_primary(|q| {
            let span: Span = span_of(&q);
            match q.as_rule() {
                Rule::number => {
                    // The grammar only admits decimal literals, which always parse (huge ones become inf,
                    // which the checker reports as non-finite).
                    let v = q.as_str().parse::<f64>().unwrap_or(f64::NAN);
                    Expr {
                        kind: ExprKind::Number(v),
                        span,
                    }
                }
                Rule::reference => Expr {
                    kind: ExprKind::Ref(kids(q).map(ident).collect()),
                    span,
                },
                Rule::call => {
                    let mut inner = kids(q);
                    let name_pair = inner.next().expect("grammar");
                    let name = ident(kids(name_pair).next().expect("grammar"));
                    Expr {
                        kind: ExprKind::Call(name, inner.map(build_expr).collect()),
                        span,
                    }
                }
                Rule::expr => build_expr(q),
                r => unreachable!("grammar: unexpected primary {r:?}"),
            }
        })
        .map_prefix(|op, rhs| {
            let span = Span::from(op.as_span()).to(rhs.span);
            Expr {
                kind: ExprKind::Neg(Box::new(rhs)),
                span,
            }
        })
        .map_infix(|lhs, op, rhs| {
            let span = lhs.span.to(rhs.span);
            let op = match op.as_rule() {
                Rule::add => BinOp::Add,
                Rule::sub => BinOp::Sub,
                Rule::mul => BinOp::Mul,
                Rule::div => BinOp::Div,
                Rule::pow => BinOp::Pow,
                r => unreachable!("grammar: unexpected operator {r:?}"),
            };
            Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            }
        })
        .parse(kids(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(src: &str) -> Model {
        let (m, d) = parse(src);
        assert!(d.is_empty(), "unexpected diagnostics: {d:?}");
        m.expect("model")
    }

    #[test]
    fn parses_declarations_and_values() {
        let m = parse_ok(
            "model m { timestep 0.01 s; body a { mass 1.5 kg; com (0.1, 0) m; } \
             joint j: world -> a { range 0 deg .. 135 deg; } \
             muscle mu: ReluMuscle { max_force 500 N; path world (2, 2) -> a (0, 0); } }",
        );
        assert_eq!(m.name.name, "m");
        assert_eq!(m.items.len(), 4);
        let Item::Muscle { block, .. } = &m.items[3] else {
            panic!("muscle")
        };
        let PathDef::Via { elements, .. } = &block.paths[0] else {
            panic!("via")
        };
        assert_eq!(elements.len(), 2);
        let Item::Joint { block, .. } = &m.items[2] else {
            panic!("joint")
        };
        assert!(matches!(block.properties[0].values[0], Value::Range { .. }));
    }

    #[test]
    fn operator_precedence() {
        let m = parse_ok("model m { const c = -2 ^ 2 + 3 * 4 / 2; }");
        let Item::Const {
            value: Value::Quantity(q),
            ..
        } = &m.items[0]
        else {
            panic!()
        };
        // (-(2^2)) + ((3*4)/2)
        let ExprKind::Binary(BinOp::Add, l, r) = &q.expr.kind else {
            panic!("{:?}", q.expr)
        };
        assert!(matches!(l.kind, ExprKind::Neg(_)));
        assert!(matches!(r.kind, ExprKind::Binary(BinOp::Div, _, _)));
    }

    #[test]
    fn units_products_and_quotients() {
        let m = parse_ok("model m { damping 0.5 N m s/rad; inertia 0.05 kg m^2; }");
        let Item::Setting(p) = &m.items[0] else {
            panic!()
        };
        let Value::Quantity(q) = &p.values[0] else {
            panic!()
        };
        let u = q.unit.as_ref().unwrap();
        let f: Vec<(&str, i32)> = u
            .factors
            .iter()
            .map(|(w, p)| (w.name.as_str(), *p))
            .collect();
        assert_eq!(f, [("N", 1), ("m", 1), ("s", 1), ("rad", -1)]);
    }

    #[test]
    fn recovers_and_reports_every_broken_statement() {
        let (m, d) = parse("model m {\n  timestep 0.01 s\n  body a { mass 1 kg; com (1, ) m; inertia 2; }\n  body b { mass ; }\n}\n");
        assert!(m.is_some());
        assert!(d.len() >= 2, "{d:?}");
        assert!(d.iter().all(|x| x.code == "syntax"));
    }

    #[test]
    fn empty_and_binary_files() {
        assert_eq!(parse("").1[0].code, "empty-file");
        assert_eq!(parse("  // nothing\n").1[0].code, "empty-file");
        assert_eq!(parse("model\0").1[0].code, "binary-file");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = format!(
            "model m {{ const c = {}1{}; }}",
            "(".repeat(500),
            ")".repeat(500)
        );
        assert_eq!(parse(&src).1[0].code, "too-deep");
    }
}
