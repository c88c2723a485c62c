//! pest's pairs → the syntax tree ([`crate::ast`]), bounding the size of every declaration.

use super::*;

/// The children of a pair that carry meaning (punctuation pairs exist only for error messages).
pub(super) fn kids(p: Pair<Rule>) -> impl Iterator<Item = Pair<Rule>> {
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
pub(super) fn span_of(p: &Pair<Rule>) -> Span {
    let start = p.as_span().start();
    Span::new(start, start + p.as_str().trim_end().len())
}

pub(super) fn ident(p: Pair<Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: p.as_span().into(),
    }
}

pub(super) fn build_model(pair: Pair<Rule>, source: &str, diags: &mut Vec<Diagnostic>) -> Model {
    let mut sink = Sink::default();
    let model = build_model_into(pair, source, &mut sink);
    diags.append(&mut sink.diags);
    model
}

pub(super) fn build_model_into(pair: Pair<Rule>, source: &str, sink: &mut Sink) -> Model {
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
pub(super) fn checked_item(p: Pair<Rule>, source: &str, sink: &mut Sink) -> Option<Item> {
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
pub(super) fn item_depth(item: &Item) -> usize {
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

pub(super) fn value_depth(v: &Value) -> usize {
    match v {
        Value::Quantity(q) => expr_depth(&q.expr),
        Value::Vector { components, .. } => components.iter().map(expr_depth).max().unwrap_or(0),
        Value::Range { lower, upper, .. } => expr_depth(&lower.expr).max(expr_depth(&upper.expr)),
    }
}

/// How deep an expression nests: a flat chain of `+ - * /` down its left operands counts as one level.
pub(super) fn expr_depth(e: &Expr) -> usize {
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

pub(super) fn build_item(p: Pair<Rule>, source: &str, sink: &mut Sink) -> Item {
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

pub(super) fn build_block(p: Pair<Rule>, source: &str, sink: &mut Sink) -> Block {
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
pub(super) fn add_entry(block: &mut Block, entry: Entry, hoisting: bool, sink: &mut Sink) {
    match entry {
        Entry::Property(p) if hoisting => sink.hoisted.push(Item::Setting(p)),
        Entry::Property(p) => block.properties.push(p),
        Entry::Path(p) => block.paths.push(p),
    }
}

pub(super) enum Entry {
    Property(Property),
    Path(PathDef),
}

pub(super) fn build_entry(q: Pair<Rule>) -> Entry {
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

pub(super) fn build_path(p: Pair<Rule>, span: Span) -> PathDef {
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

pub(super) fn build_value(p: Pair<Rule>) -> Value {
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

pub(super) fn build_quantity(p: Pair<Rule>) -> Quantity {
    let span = span_of(&p);
    let mut inner = kids(p);
    let expr = build_expr(inner.next().expect("grammar"));
    let unit = inner.next().map(build_unit);
    Quantity { expr, unit, span }
}

pub(super) fn build_unit(p: Pair<Rule>) -> Unit {
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

pub(super) fn pratt() -> &'static PrattParser<Rule> {
    static P: OnceLock<PrattParser<Rule>> = OnceLock::new();
    P.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
            .op(Op::prefix(Rule::neg))
            .op(Op::infix(Rule::pow, Assoc::Right))
    })
}

pub(super) fn build_expr(p: Pair<Rule>) -> Expr {
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
