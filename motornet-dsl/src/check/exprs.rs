//! Expressions: arithmetic, references to constants and coordinates, constant resolution.

use super::*;

impl<'a> Checker<'a> {
    /// Resolves an expression: (symbol, dimension, whether it is free of references).
    pub(super) fn expr(&mut self, e: &ast::Expr) -> (Sym, DimT, bool) {
        match &e.kind {
            ExprKind::Number(v) => {
                if !v.is_finite() {
                    self.error(Diagnostic::new(
                        "non-finite",
                        "this number is too large to represent",
                        e.span,
                        "not finite",
                    ));
                    return (Sym::Num(0.0), DimT::Free, true);
                }
                (Sym::Num(*v), DimT::Free, true)
            }
            ExprKind::Ref(path) => self.reference(path, e.span),
            ExprKind::Neg(a) => {
                let (s, d, l) = self.expr(a);
                (Sym::Neg(Box::new(s)), d, l)
            }
            ExprKind::Binary(BinOp::Pow, a, b) => {
                let left = self.expr(a);
                let right = self.expr(b);
                self.binary(BinOp::Pow, e.span, left, right)
            }
            ExprKind::Binary(_, _, _) => {
                // A flat sum or product (`a + b + c + …`) is a chain down the left operands: walk it in a
                // loop, so its length does not use up the stack (only real nesting recurses).
                let mut spine = vec![e];
                let mut first = e;
                while let ExprKind::Binary(op, a, _) = &first.kind {
                    if *op == BinOp::Pow {
                        break;
                    }
                    if !std::ptr::eq(first, e) {
                        spine.push(first);
                    }
                    first = a;
                }
                let mut acc = self.expr(first);
                for node in spine.into_iter().rev() {
                    let ExprKind::Binary(op, _, b) = &node.kind else {
                        unreachable!("the spine holds binary nodes")
                    };
                    let right = self.expr(b);
                    acc = self.binary(*op, node.span, acc, right);
                }
                acc
            }
            ExprKind::Call(name, args) => {
                let resolved: Vec<(Sym, DimT, bool)> = args.iter().map(|a| self.expr(a)).collect();
                let literal = resolved.iter().all(|r| r.2);
                let Some((f, arity)) = Func::lookup(&name.name) else {
                    let mut d = Diagnostic::new(
                        "unknown-function",
                        format!("unknown function `{}`", name.name),
                        name.span,
                        "not a function",
                    );
                    let names: Vec<&str> = Func::ALL.iter().map(|f| f.0).collect();
                    d.help = Some(
                        did_you_mean(&name.name, names.iter().copied()).unwrap_or_else(|| {
                            format!("available functions: {}", names.join(", "))
                        }),
                    );
                    self.error(d);
                    return (Sym::Num(0.0), DimT::Free, literal);
                };
                if resolved.len() != arity {
                    self.error(Diagnostic::new(
                        "wrong-arity",
                        format!(
                            "`{}` takes {arity} argument{}, not {}",
                            name.name,
                            if arity == 1 { "" } else { "s" },
                            resolved.len()
                        ),
                        e.span,
                        "wrong number of arguments",
                    ));
                    return (Sym::Num(0.0), DimT::Free, literal);
                }
                let d = match f {
                    Func::Abs | Func::Min | Func::Max => resolved[0].1,
                    _ => DimT::Free,
                };
                (
                    Sym::Call(f, resolved.into_iter().map(|r| r.0).collect()),
                    d,
                    literal,
                )
            }
        }
    }

    /// The dimension check and symbol of one binary operation whose operands are resolved.
    pub(super) fn binary(
        &mut self,
        op: BinOp,
        span: Span,
        (sa, da, la): (Sym, DimT, bool),
        (sb, db, lb): (Sym, DimT, bool),
    ) -> (Sym, DimT, bool) {
        let op = &op;
        let d = match op {
            BinOp::Add | BinOp::Sub => match (da, db) {
                (DimT::Known(x), DimT::Known(y)) if x != y => {
                    self.error(Diagnostic::new(
                        "unit-mismatch",
                        format!(
                            "unit mismatch: cannot add {} and {}",
                            x.describe(),
                            y.describe()
                        ),
                        span,
                        "mixed units",
                    ));
                    DimT::Known(x)
                }
                (DimT::Known(x), _) | (_, DimT::Known(x)) => DimT::Known(x),
                _ => DimT::Free,
            },
            BinOp::Mul | BinOp::Div => {
                let p = if *op == BinOp::Mul { 1 } else { -1 };
                match (da, db) {
                    (DimT::Known(x), DimT::Known(y)) => DimT::Known(x.mul(y, p)),
                    // Radians are dimensionless in SI: a plain coefficient times an angle may be
                    // anything (`0.03 * shoulder` in a path is metres per radian times radians).
                    (DimT::Known(x), DimT::Free) | (DimT::Free, DimT::Known(x)) if x.0[3] != 0 => {
                        DimT::Free
                    }
                    (DimT::Known(x), DimT::Free) => DimT::Known(x),
                    (DimT::Free, DimT::Known(y)) => DimT::Known(Dim::NONE.mul(y, p)),
                    _ => DimT::Free,
                }
            }
            BinOp::Pow => match (da, sb.constant_value()) {
                (DimT::Known(x), Some(n)) if n.fract() == 0.0 && n.abs() <= 8.0 => {
                    DimT::Known(Dim::NONE.mul(x, n as i32))
                }
                (DimT::Free, _) => DimT::Free,
                _ => {
                    self.error(Diagnostic::new(
                        "unit-mismatch",
                        "a quantity with a unit can only be raised to a small whole number",
                        span,
                        "non-integer power",
                    ));
                    DimT::Free
                }
            },
        };
        (Sym::Bin(*op, Box::new(sa), Box::new(sb)), d, la && lb)
    }

    pub(super) fn reference(&mut self, path: &[Ident], span: Span) -> (Sym, DimT, bool) {
        let full: String = path
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        if full == "pi" {
            return (Sym::Num(std::f64::consts::PI), DimT::Free, true);
        }
        if let Some(coords) = &self.coords_in_scope {
            if let Some(&i) = coords.get(&full) {
                return (Sym::Coord(i), DimT::Free, false);
            }
        }
        if path.len() == 1 && self.consts.contains_key(&full) {
            let (sym, dim) = self.resolve_const(&path[0]);
            if self.poisoned_consts.contains(&full) {
                self.poisoned_spans.push(span);
            }
            return (sym, dim, false);
        }
        if path.len() == 1 && self.broken_joints.contains(&full) {
            // The coordinate of a joint that did not parse (already reported).
            self.poisoned_spans.push(span);
            return (Sym::Num(0.0), DimT::Free, false);
        }
        if let Some(&i) = self.param_index.get(&full) {
            return (
                Sym::Param(i),
                DimT::Known(self.params[i.index()].dim),
                false,
            );
        }
        // Not found: explain what it might have been.
        let mut d = Diagnostic::new(
            "unknown-name",
            format!("unknown name `{full}`"),
            span,
            "not defined",
        );
        match self.decls.get(&path[0].name) {
            Some((DeclKind::Joint, _)) if self.coords_in_scope.is_none() => {
                d.help = Some(
                    "joint coordinates can only be used in `path lumped …` expressions".into(),
                );
            }
            Some((kind, _)) if path.len() > 1 => {
                d.help = Some(format!(
                    "`{}` is a {}, but `{full}` is not one of its literal parameters",
                    path[0].name,
                    kind.noun()
                ));
            }
            _ if UNIT_WORDS.contains(&full.as_str()) => {
                d.help = Some(format!(
                    "`{full}` is a unit: write a number before it, e.g. `1 {full}`"
                ));
            }
            _ if !self.may_suggest() => {}
            _ => {
                let mut names: Vec<&str> = self.consts.keys().map(String::as_str).collect();
                if let Some(c) = &self.coords_in_scope {
                    names.extend(c.keys().map(String::as_str));
                }
                names.sort_unstable();
                d.help = did_you_mean(&full, names);
            }
        }
        self.unknown(d, &full);
        (Sym::Num(0.0), DimT::Free, false)
    }

    /// Reports an unknown name once: later uses of the same name are added to the first report.
    pub(super) fn unknown(&mut self, d: Diagnostic, name: &str) {
        let key = (d.code, name.to_string());
        if let Some(&i) = self.unknown_seen.get(&key) {
            self.poisoned_spans.push(d.span);
            let first = &mut self.diags[i];
            if first.related.len() < 3 {
                first.related.push((d.span, "also used here".into()));
            }
            return;
        }
        self.unknown_seen.insert(key, self.diags.len());
        self.error(d);
    }

    pub(super) fn resolve_const(&mut self, name: &Ident) -> (Sym, DimT) {
        let state = self
            .consts
            .insert(name.name.clone(), ConstState::InProgress);
        match state {
            Some(ConstState::Done(sym, dim)) => {
                self.consts
                    .insert(name.name.clone(), ConstState::Done(sym.clone(), dim));
                (sym, dim)
            }
            Some(ConstState::InProgress) => {
                let from = self
                    .resolving
                    .iter()
                    .position(|n| *n == name.name)
                    .unwrap_or(0);
                let cycle: Vec<String> = self.resolving[from..].to_vec();
                let inside = self.resolving.last().cloned().unwrap_or_default();
                let (message, label) = if cycle.len() <= 1 {
                    (
                        format!("constant `{}` is defined in terms of itself", name.name),
                        "used in its own definition".to_string(),
                    )
                } else {
                    let names: Vec<String> = cycle.iter().map(|n| format!("`{n}`")).collect();
                    let path: Vec<&str> = cycle
                        .iter()
                        .map(String::as_str)
                        .chain([name.name.as_str()])
                        .collect();
                    (
                        format!(
                            "constants {} are defined in terms of each other ({})",
                            join_and(&names),
                            join_capped(&path, " → ")
                        ),
                        format!("`{}` used in the definition of `{inside}`", name.name),
                    )
                };
                for n in &cycle {
                    self.poisoned_consts.insert(n.clone());
                }
                let mut d = Diagnostic::new("const-cycle", message, name.span, label);
                if let Some((_, def)) = self.decls.get(&name.name) {
                    if *def != name.span {
                        d = d.with_related(*def, format!("`{}` is defined here", name.name));
                    }
                }
                self.error(d);
                self.consts.insert(
                    name.name.clone(),
                    ConstState::Done(Sym::Num(0.0), DimT::Free),
                );
                (Sym::Num(0.0), DimT::Free)
            }
            Some(ConstState::Pending(_)) if self.resolving.len() >= MAX_CONST_DEPTH => {
                // Resolving recurses through the constants; a longer chain is refused (once).
                if !self.const_depth_reported {
                    self.const_depth_reported = true;
                    let outer = self.resolving.first().cloned().unwrap_or_default();
                    self.error(
                        Diagnostic::new(
                            "too-deep",
                            format!(
                                "constant `{outer}` is defined through a chain of more than {MAX_CONST_DEPTH} other constants"
                            ),
                            name.span,
                            format!("{MAX_CONST_DEPTH} constants deep"),
                        )
                        .with_help(format!("a constant may refer to constants that refer to others, at most {MAX_CONST_DEPTH} deep (docs/language.md, \"Limits\")")),
                    );
                }
                self.poisoned_consts.insert(name.name.clone());
                self.consts.insert(
                    name.name.clone(),
                    ConstState::Done(Sym::Num(0.0), DimT::Free),
                );
                (Sym::Num(0.0), DimT::Free)
            }
            Some(ConstState::Pending(value)) => {
                // Constants never see joint coordinates.
                let saved = self.coords_in_scope.take();
                self.resolving.push(name.name.clone());
                let problems_before = self.diags.len();
                let (sym, dim) = match value {
                    Value::Quantity(q) => {
                        let (s, d, literal) = self.expr(&q.expr);
                        let (scale, unit_dim) = self.unit(q.unit.as_ref());
                        let d = combine_unit(d, unit_dim);
                        let s = self.finite(s.scaled(scale), q.span);
                        let pdim = match d {
                            DimT::Known(x) => x,
                            DimT::Free => Dim::NONE,
                        };
                        (self.maybe_param(&name.name, s, literal, pdim, q.span), d)
                    }
                    other => {
                        self.error(Diagnostic::new(
                            "wrong-value",
                            format!("a constant holds one number, not a {}", shape_name(other)),
                            other.span(),
                            "expected one value",
                        ));
                        (Sym::Num(0.0), DimT::Free)
                    }
                };
                self.coords_in_scope = saved;
                self.resolving.pop();
                if self.diags.len() > problems_before {
                    self.poisoned_consts.insert(name.name.clone());
                }
                self.consts
                    .insert(name.name.clone(), ConstState::Done(sym.clone(), dim));
                (sym, dim)
            }
            None => unreachable!("resolve_const called for a declared constant"),
        }
    }
}
