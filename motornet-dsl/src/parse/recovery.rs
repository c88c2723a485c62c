//! Statement-level recovery: a statement that does not parse in place is re-parsed alone to learn exactly
//! what is wrong with it, reported, and replaced by a placeholder so that the checker does not report its
//! consequences.

use super::*;

/// What a statement that did not parse in place turned out to be.
pub(super) enum Recovery {
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
pub(super) fn recover(
    pair: &Pair<Rule>,
    rule: Rule,
    source: &str,
    diags: &mut Vec<Diagnostic>,
) -> Recovery {
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
pub(super) fn leading_names(text: &str, start: usize) -> Vec<Ident> {
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

pub(super) fn placeholder_block(at: usize) -> Block {
    Block {
        properties: Vec::new(),
        paths: Vec::new(),
        span: Span::new(at, at),
    }
}

/// Placeholders for a block entry that did not parse: a property named by its first word, and a path if
/// the word `path` appears (a statement that lost its `;` may run into the next one).
pub(super) fn placeholder_entries(text: &str, start: usize) -> Vec<Entry> {
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
pub(super) fn placeholder_item(text: &str, start: usize) -> Option<Item> {
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
pub(super) fn rebuild<T>(
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
