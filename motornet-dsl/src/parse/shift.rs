//! Moving the spans of a statement that was re-parsed on its own to where it sits in the file.

use super::*;

// ---- moving spans (for statements re-parsed on their own) ------------------------------------------------

/// Moves spans of a re-parsed statement into the file: by `by` bytes, after clamping them to the first
/// `limit` bytes of the re-parsed text (which may end with a `;` the file does not have).
#[derive(Clone, Copy)]
pub(super) struct Shift {
    pub(super) by: usize,
    pub(super) limit: usize,
}

pub(super) fn shift_span(s: &mut Span, o: Shift) {
    s.start = s.start.min(o.limit) + o.by;
    s.end = s.end.min(o.limit) + o.by;
}

pub(super) fn shift_ident(i: &mut Ident, o: Shift) {
    shift_span(&mut i.span, o);
}

pub(super) fn shift_item(item: &mut Item, o: Shift) {
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

pub(super) fn shift_block(b: &mut Block, o: Shift) {
    shift_span(&mut b.span, o);
    b.properties.iter_mut().for_each(|p| shift_property(p, o));
    b.paths.iter_mut().for_each(|p| shift_path(p, o));
}

pub(super) fn shift_property(p: &mut Property, o: Shift) {
    shift_ident(&mut p.name, o);
    shift_span(&mut p.span, o);
    p.values.iter_mut().for_each(|v| shift_value(v, o));
}

pub(super) fn shift_path(p: &mut PathDef, o: Shift) {
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

pub(super) fn shift_value(v: &mut Value, o: Shift) {
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

pub(super) fn shift_quantity(q: &mut Quantity, o: Shift) {
    shift_expr(&mut q.expr, o);
    if let Some(u) = &mut q.unit {
        shift_unit(u, o);
    }
    shift_span(&mut q.span, o);
}

pub(super) fn shift_unit(u: &mut Unit, o: Shift) {
    shift_span(&mut u.span, o);
    u.factors.iter_mut().for_each(|(w, _)| shift_ident(w, o));
}

pub(super) fn shift_expr(e: &mut Expr, o: Shift) {
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
