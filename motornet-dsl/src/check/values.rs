//! Values: literals, parameters, vectors, ranges, units and dimensions.

use super::*;

impl<'a> Checker<'a> {
    /// Registers `sym` as an overridable parameter `name` when it is a literal (no references); returns the
    /// symbol to use.
    pub(super) fn maybe_param(
        &mut self,
        name: &str,
        sym: Sym,
        literal: bool,
        dim: Dim,
        span: Span,
    ) -> Sym {
        if !literal {
            return sym;
        }
        let default = sym.eval(&[]);
        if let Some(&i) = self.param_index.get(name) {
            // Same property written twice is reported elsewhere; keep the first.
            return Sym::Param(i);
        }
        self.param_index
            .insert(name.to_string(), ParamId(self.params.len()));
        self.params.push(ParamDef {
            name: name.to_string(),
            default,
            dim,
            span,
        });
        Sym::Param(ParamId(self.params.len() - 1))
    }

    pub(super) fn param_defaults(&self) -> Vec<f64> {
        self.params.iter().map(|p| p.default).collect()
    }

    /// A scalar value of the expected dimension, registered as parameter `owner` when literal.
    pub(super) fn scalar(&mut self, v: &Value, dim: Dim, owner: &str, what: &str) -> Sym {
        match v {
            Value::Quantity(q) => {
                let (sym, literal) = self.quantity(q, dim, what);
                self.maybe_param(owner, sym, literal, dim, q.span)
            }
            other => {
                self.error(Diagnostic::new(
                    "wrong-value",
                    format!("`{what}` takes a single value, not a {}", shape_name(other)),
                    other.span(),
                    "expected one value",
                ));
                Sym::Num(0.0)
            }
        }
    }

    /// A position-like vector with as many components as the model has dimensions (z is 0 in a planar
    /// model); each component becomes the parameter `{owner}.x`, `.y`, `.z`.
    pub(super) fn vector(&mut self, v: &Value, dim: Dim, owner: &str, what: &str) -> [Sym; 3] {
        let n = self.space_dim;
        self.vector_of(v, dim, owner, what, &["x", "y", "z"][..n])
            .map(|c| {
                let mut out = [Sym::Num(0.0), Sym::Num(0.0), Sym::Num(0.0)];
                for (k, s) in c.into_iter().enumerate() {
                    out[k] = s;
                }
                out
            })
            .unwrap_or([Sym::Num(0.0), Sym::Num(0.0), Sym::Num(0.0)])
    }

    /// A vector with one component per name in `names` (`(x, y)`, `(x, y, z)`, an inertia tensor's six…),
    /// each the parameter `{owner}.{name}`; `None` (reported) when the value is not such a vector.
    pub(super) fn vector_of(
        &mut self,
        v: &Value,
        dim: Dim,
        owner: &str,
        what: &str,
        names: &[&str],
    ) -> Option<Vec<Sym>> {
        let shape = format!("({})", names.join(", "));
        match v {
            Value::Vector {
                components,
                unit,
                span,
            } if components.len() == names.len() => {
                let (scale, unit_dim) = self.unit(unit.as_ref());
                let mut out = Vec::with_capacity(names.len());
                for (comp, axis) in components.iter().zip(names) {
                    let (sym, d, literal) = self.expr(comp);
                    let d = combine_unit(d, unit_dim);
                    self.check_dim(d, dim, comp.span.to(*span), what);
                    let sym = self.finite(sym.scaled(scale), comp.span);
                    out.push(self.maybe_param(
                        &format!("{owner}.{axis}"),
                        sym,
                        literal,
                        dim,
                        comp.span,
                    ));
                }
                Some(out)
            }
            Value::Vector {
                components, span, ..
            } => {
                let mut d = Diagnostic::new(
                    "wrong-value",
                    format!(
                        "`{what}` takes a vector `{shape}`, not {} components",
                        components.len()
                    ),
                    *span,
                    format!("expected {shape}"),
                );
                if names.len() == 2 && components.len() == 3 {
                    d.help = Some(
                        "this model is planar: write `dimensions 3;` to make it spatial".into(),
                    );
                } else if names.len() == 3 && components.len() == 2 && self.space_dim == 3 {
                    d.help = Some(
                        "this model is spatial (`dimensions 3;`): every point has x, y and z"
                            .into(),
                    );
                }
                self.error(d);
                None
            }
            other => {
                self.error(Diagnostic::new(
                    "wrong-value",
                    format!(
                        "`{what}` takes a vector `{shape}`, not a {}",
                        shape_name(other)
                    ),
                    other.span(),
                    format!("expected {shape}"),
                ));
                None
            }
        }
    }

    pub(super) fn range(
        &mut self,
        v: &Value,
        dim: Dim,
        owner: &str,
        what: &str,
    ) -> Option<(Sym, Sym)> {
        match v {
            Value::Range { lower, upper, span } => {
                let (lo, lit_lo) = self.quantity(lower, dim, what);
                let (hi, lit_hi) = self.quantity(upper, dim, what);
                let lo = self.maybe_param(&format!("{owner}.min"), lo, lit_lo, dim, lower.span);
                let hi = self.maybe_param(&format!("{owner}.max"), hi, lit_hi, dim, upper.span);
                self.constraints.push(Constraint {
                    value: Sym::Bin(BinOp::Sub, Box::new(hi.clone()), Box::new(lo.clone())),
                    strict: true,
                    message: format!("the {what} is empty or inverted: its upper bound must exceed its lower bound"),
                    span: *span,
                });
                Some((lo, hi))
            }
            other => {
                self.error(Diagnostic::new(
                    "wrong-value",
                    format!(
                        "`{what}` takes a range `lower .. upper`, not a {}",
                        shape_name(other)
                    ),
                    other.span(),
                    "expected lower .. upper",
                ));
                None
            }
        }
    }

    /// A scalar quantity: (symbol in SI, whether it is a literal).
    pub(super) fn quantity(&mut self, q: &ast::Quantity, dim: Dim, what: &str) -> (Sym, bool) {
        let (sym, d, literal) = self.expr(&q.expr);
        let (scale, unit_dim) = self.unit(q.unit.as_ref());
        let d = combine_unit(d, unit_dim);
        self.check_dim(d, dim, q.span, what);
        (self.finite(sym.scaled(scale), q.span), literal)
    }

    pub(super) fn finite(&mut self, sym: Sym, span: Span) -> Sym {
        // Parameters are checked by their constraints; here, literals like 1e999 or 1/0.
        let v = sym.eval(&self.param_defaults());
        if !v.is_finite() {
            self.error(Diagnostic::new(
                "non-finite",
                "this value is not a finite number",
                span,
                format!("evaluates to {v}"),
            ));
            return Sym::Num(0.0);
        }
        sym
    }

    pub(super) fn check_dim(&mut self, got: DimT, want: Dim, span: Span, what: &str) {
        if let DimT::Known(d) = got {
            if d != want {
                // Property names in backticks; descriptions ("path length") as they are.
                let what = if what.contains(' ') {
                    what.to_string()
                } else {
                    format!("`{what}`")
                };
                self.error(
                    Diagnostic::new(
                        "unit-mismatch",
                        format!(
                            "unit mismatch: {what} is {}, but this value is {}",
                            want.describe(),
                            d.describe()
                        ),
                        span,
                        format!("expected {}", want.si_unit()),
                    )
                    .with_help(format!(
                        "write the value in {}, or leave the unit out to mean SI units",
                        want.si_unit()
                    )),
                );
            }
        }
    }

    /// (scale to SI, dimension) of a written unit.
    pub(super) fn unit(&mut self, unit: Option<&ast::Unit>) -> (f64, DimT) {
        let Some(unit) = unit else {
            return (1.0, DimT::Free);
        };
        let mut scale = 1.0;
        let mut dim = Dim::NONE;
        for (word, power) in &unit.factors {
            let (s, d) = motornet_runtime::units::unit_word(&word.name)
                .expect("the grammar admits only unit words of the table");
            if power.unsigned_abs() > motornet_runtime::units::MAX_UNIT_POWER as u32 {
                self.error(Diagnostic::new(
                    "wrong-value",
                    "unit power out of range",
                    word.span,
                    "power too large",
                ));
                continue;
            }
            scale *= s.powi(*power);
            dim = dim.mul(d, *power);
        }
        (scale, DimT::Known(dim))
    }
}
