//! pest's errors as diagnostics: what was expected, what was found, and the explanations of common slips
//! (a unit in a lumped path, a space before a call's parenthesis).

use super::*;

/// Converts a pest error into a diagnostic, shifting its position by `offset` (for fragments of `source`
/// re-parsed on their own).
pub(super) fn pest_error(e: pest::error::Error<Rule>, offset: usize, source: &str) -> Diagnostic {
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

pub(super) fn skip_blank(source: &str, at: usize) -> usize {
    source
        .get(at..)
        .map_or(at, |rest| at + rest.len() - rest.trim_start().len())
}

/// What the parser found at `at`: the next word, number or symbol.
pub(super) fn describe_found(source: &str, at: usize) -> String {
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
pub(super) fn token_len(s: &str) -> usize {
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

pub(super) fn next_token_end(source: &str, start: usize) -> usize {
    source
        .get(start..)
        .map_or(start, |s| start + token_len(s))
        .max(next_char_end(source, start))
}

pub(super) fn next_char_end(source: &str, start: usize) -> usize {
    source
        .get(start..)
        .and_then(|s| s.chars().next())
        .map_or(start, |c| start + c.len_utf8())
}

pub(super) fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

pub(super) fn describe_rule(r: &Rule) -> Option<String> {
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

/// `path lumped 0.2 m + 0.03 * shoulder;`: a lumped path is one expression in SI units, with no unit words.
/// Says so (instead of "expected `;`") when the syntax error is at a unit word in a lumped path.
pub(super) fn explain_unit_in_lumped_path(
    d: &mut Diagnostic,
    text: &str,
    start: usize,
    source: &str,
) {
    let words = leading_names(text, start);
    let lumped = words.len() == 2 && words[0].name == "path" && words[1].name == "lumped";
    let at = source.get(d.span.start..).unwrap_or("");
    let word = &at[..token_len(at)];
    if !lumped || motornet_runtime::units::unit_word(word).is_none() {
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
pub(super) fn spaced_call(source: &str, at: usize) -> Option<&str> {
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
