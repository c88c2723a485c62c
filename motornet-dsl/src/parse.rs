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

/// Parses a whole file. Returns the model when the outer structure parsed, and every problem found.
pub fn parse(source: &str) -> (Option<Model>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    if let Some(d) = reject_non_text(source) {
        return (None, vec![d]);
    }
    if source.trim().is_empty() || only_comments(source) {
        let d = Diagnostic::new(
            "empty-file",
            "the file defines no model",
            Span::new(0, source.len()),
            "empty",
        )
        .with_help("a model file starts with `model NAME { … }`");
        return (None, vec![d]);
    }
    if let Some(d) = too_deep(source) {
        return (None, vec![d]);
    }
    let pairs = match MnetParser::parse(Rule::file, source) {
        Ok(p) => p,
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

fn only_comments(source: &str) -> bool {
    MnetParser::parse(Rule::file, source).is_err() && {
        // A file of only comments/whitespace: strip them and see if anything is left.
        let mut rest = source;
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix("//") {
                rest = r.split_once('\n').map_or("", |(_, b)| b);
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
}

/// pest's parser is recursive; refuse pathologically nested brackets before handing the text to it.
fn too_deep(source: &str) -> Option<Diagnostic> {
    let mut depth = 0usize;
    for (i, c) in source.char_indices() {
        match c {
            '(' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(Diagnostic::new(
                        "too-deep",
                        format!("brackets nest more than {MAX_NESTING} levels deep"),
                        Span::new(i, i + 1),
                        "too deep",
                    ));
                }
            }
            ')' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Converts a pest error into a diagnostic, shifting its position by `offset` (for re-parsed fragments).
fn pest_error(e: pest::error::Error<Rule>, offset: usize, source: &str) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((a, b)) => (a, b),
    };
    let (start, end) = (start + offset, end + offset);
    let end = if end == start {
        next_char_end(source, start)
    } else {
        end
    };
    let message = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<String> = positives.iter().filter_map(describe_rule).collect();
            expected.sort();
            expected.dedup();
            let found = source
                .get(start..)
                .and_then(|s| s.chars().find(|c| !c.is_whitespace()));
            let found = match found {
                Some(c) => format!("found `{c}`"),
                None => "found the end of the file".to_string(),
            };
            if expected.is_empty() {
                format!("syntax error: unexpected input ({found})")
            } else {
                format!("syntax error: expected {}; {found}", join_or(&expected))
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    Diagnostic::new("syntax", message, Span::new(start, end), "here")
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

/// A recovered statement: re-parse it alone to learn precisely what is wrong with it.
fn recovered(pair: &Pair<Rule>, rule: Rule, source: &str) -> Diagnostic {
    let span = pair.as_span();
    let text = span.as_str();
    match MnetParser::parse(rule, text) {
        Err(e) => {
            let d = pest_error(e, span.start(), source);
            let end = span.start() + text.trim_end().len();
            if d.span.start >= end {
                // The statement simply stops: the usual cause is a missing `;`.
                Diagnostic::new(
                    "syntax",
                    "syntax error: expected `;` at the end of this statement",
                    Span::new(end, end),
                    "expected `;`",
                )
                .with_related(Span::new(span.start(), end), "this statement")
            } else {
                d
            }
        }
        // It parses alone but not in place: the statement is valid somewhere else (e.g. a property at model level).
        Ok(_) => Diagnostic::new(
            "misplaced",
            "this statement is not allowed here",
            span.into(),
            "misplaced",
        ),
    }
}

fn ident(p: Pair<Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: p.as_span().into(),
    }
}

fn build_model(pair: Pair<Rule>, source: &str, diags: &mut Vec<Diagnostic>) -> Model {
    let mut inner = pair.into_inner();
    let name = ident(inner.next().expect("grammar: model name"));
    let mut items = Vec::new();
    for p in inner {
        match p.as_rule() {
            Rule::bad_item => diags.push(recovered(&p, Rule::item_only, source)),
            _ => items.push(build_item(p, source, diags)),
        }
    }
    Model { name, items }
}

fn build_item(p: Pair<Rule>, source: &str, diags: &mut Vec<Diagnostic>) -> Item {
    let rule = p.as_rule();
    let span: Span = p.as_span().into();
    let mut inner = p.into_inner();
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
            let block = build_block(inner.next().expect("grammar"), source, diags);
            Item::Body { name, block }
        }
        Rule::joint_item => {
            inner.next();
            let name = ident(inner.next().expect("grammar"));
            let parent = ident(inner.next().expect("grammar"));
            let child = ident(inner.next().expect("grammar"));
            let block = build_block(inner.next().expect("grammar"), source, diags);
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
            let block = build_block(inner.next().expect("grammar"), source, diags);
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

fn build_block(p: Pair<Rule>, source: &str, diags: &mut Vec<Diagnostic>) -> Block {
    let span = p.as_span().into();
    let mut block = Block {
        properties: Vec::new(),
        paths: Vec::new(),
        span,
    };
    for q in p.into_inner() {
        let qspan: Span = q.as_span().into();
        match q.as_rule() {
            Rule::plain_property => {
                let mut inner = q.into_inner();
                let name = ident(inner.next().expect("grammar"));
                block.properties.push(Property {
                    name,
                    values: inner.map(build_value).collect(),
                    span: qspan,
                });
            }
            Rule::path_property => {
                let mut inner = q.into_inner();
                inner.next(); // `path`
                block
                    .paths
                    .push(build_path(inner.next().expect("grammar: path"), qspan));
            }
            Rule::bad_property => diags.push(recovered(&q, Rule::property_only, source)),
            r => unreachable!("grammar: unexpected block entry {r:?}"),
        }
    }
    block
}

fn build_path(p: Pair<Rule>, span: Span) -> PathDef {
    match p.as_rule() {
        Rule::lumped_path => {
            let mut inner = p.into_inner();
            inner.next(); // `lumped`
            PathDef::Lumped {
                expr: build_expr(inner.next().expect("grammar")),
                span,
            }
        }
        Rule::via_path => {
            let elements = p
                .into_inner()
                .map(|e| match e.as_rule() {
                    Rule::via_point => {
                        let mut inner = e.into_inner();
                        let body = ident(inner.next().expect("grammar"));
                        PathElement::Point {
                            body,
                            position: build_value(inner.next().expect("grammar")),
                        }
                    }
                    Rule::wrap_element => {
                        let espan = e.as_span().into();
                        let mut inner = e.into_inner();
                        inner.next(); // `wrap`
                        let obstacle = ident(inner.next().expect("grammar"));
                        inner.next(); // `side`, if any
                        let side = inner.next().map(|s| match s.as_rule() {
                            Rule::sign => WrapSide::Sign(
                                if s.as_str() == "+" { 1.0 } else { -1.0 },
                                s.as_span().into(),
                            ),
                            _ => WrapSide::Point(build_value(s)),
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
    let span: Span = p.as_span().into();
    match p.as_rule() {
        Rule::quantity => Value::Quantity(build_quantity(p)),
        Rule::range => {
            let mut inner = p.into_inner();
            let lower = build_quantity(inner.next().expect("grammar"));
            let upper = build_quantity(inner.next().expect("grammar"));
            Value::Range { lower, upper, span }
        }
        Rule::vector => {
            let mut components = Vec::new();
            let mut unit = None;
            for q in p.into_inner() {
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
    let span = p.as_span().into();
    let mut inner = p.into_inner();
    let expr = build_expr(inner.next().expect("grammar"));
    let unit = inner.next().map(build_unit);
    Quantity { expr, unit, span }
}

fn build_unit(p: Pair<Rule>) -> Unit {
    let span = p.as_span().into();
    let mut factors = Vec::new();
    let mut sign: i32 = 1;
    for q in p.into_inner() {
        match q.as_rule() {
            Rule::unit_op => sign = if q.as_str() == "/" { -1 } else { 1 },
            Rule::unit_term => {
                let mut inner = q.into_inner();
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
            let span: Span = q.as_span().into();
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
                    kind: ExprKind::Ref(q.into_inner().map(ident).collect()),
                    span,
                },
                Rule::call => {
                    let mut inner = q.into_inner();
                    let name_pair = inner.next().expect("grammar");
                    let name = ident(name_pair.into_inner().next().expect("grammar"));
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
        .parse(p.into_inner())
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
