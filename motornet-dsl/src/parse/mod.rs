//! Text → syntax tree. Never panics: every input yields either a model or diagnostics (often both, since a
//! statement that does not parse is reported and skipped, and the rest of the file is still read).
//!
//! Files: this one holds the entry point and the checks made before pest sees the text (non-text input,
//! nesting); `errors` turns pest's errors into diagnostics; `recovery` re-reads a statement that did not
//! parse and stands placeholders in for it; `build` turns pest's pairs into the syntax tree; `shift` moves
//! the spans of re-parsed fragments into the file.

mod build;
mod errors;
mod recovery;
mod shift;

use build::*;
use errors::*;
use recovery::*;
use shift::*;

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

/// What building the syntax tree produces besides the tree.
#[derive(Default)]
pub(super) struct Sink {
    diags: Vec<Diagnostic>,
    /// Declarations found inside a block (whose `}` is probably missing), to be read at model level.
    hoisted: Vec<Item>,
    /// Whether any declaration was hoisted (the block around it took the model's `}`).
    any_hoisted: bool,
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
