//! Syntax tree → checked [`Model`]. Resolves names, converts units to SI, validates values and the skeleton's
//! topology, and reports every problem it finds (it keeps going after an error, using a placeholder value).

use crate::ast::{self, BinOp, ExprKind, Ident, Item, PathElement, Property, Span, Value};
use crate::diag::{did_you_mean, suggest, Diagnostic};
use crate::model::*;
use crate::muscles::MuscleKind;
use std::collections::HashMap;

/// Checks a parsed model. Returns the model only when no problem was found.
pub fn check(ast: &ast::Model) -> (Option<Model>, Vec<Diagnostic>) {
    let mut c = Checker::new(ast);
    let model = c.run(ast);
    let diags = std::mem::take(&mut c.diags);
    if diags.is_empty() {
        (model, diags)
    } else {
        (None, diags)
    }
}

/// Parses and checks source text: the whole front end.
pub fn compile_source(source: &str) -> (Option<Model>, Vec<Diagnostic>) {
    let (ast, mut diags) = crate::parse::parse(source);
    let Some(ast) = ast else { return (None, diags) };
    let (model, more) = check(&ast);
    diags.extend(more);
    // In reading order (the sort is stable: problems at one place keep the order they were found in).
    diags.sort_by_key(|d| d.span.start);
    if diags.is_empty() {
        (model, diags)
    } else {
        (None, diags)
    }
}

/// A statement the parser could not read (already reported) and replaced by a placeholder: a parsed statement
/// never has an empty span. Placeholders keep the checker from reporting the syntax error's consequences.
fn is_placeholder_property(p: &Property) -> bool {
    p.span.is_empty()
}

fn is_placeholder_block(b: &ast::Block) -> bool {
    b.span.is_empty()
}

/// A path that did not parse: a parsed via path has at least one element.
fn is_placeholder_path(p: &ast::PathDef) -> bool {
    matches!(p, ast::PathDef::Via { elements, .. } if elements.is_empty())
}

/// Dimension of an expression while checking: `Free` for plain numbers, which take the dimension the context
/// gives them (so `mass 1.8;` means kilograms, and `0.03 * shoulder` is whatever the path needs).
#[derive(Clone, Copy, Debug, PartialEq)]
enum DimT {
    Free,
    Known(Dim),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeclKind {
    Const,
    Body,
    Joint,
    Muscle,
    Obstacle,
}

impl DeclKind {
    fn noun(self) -> &'static str {
        match self {
            DeclKind::Const => "constant",
            DeclKind::Body => "body",
            DeclKind::Joint => "joint",
            DeclKind::Muscle => "muscle",
            DeclKind::Obstacle => "obstacle",
        }
    }
}

enum ConstState<'a> {
    Pending(&'a Value),
    InProgress,
    Done(Sym, DimT),
}

struct Checker<'a> {
    diags: Vec<Diagnostic>,
    params: Vec<ParamDef>,
    /// Index of each parameter in `params`, by name.
    param_index: HashMap<String, usize>,
    /// How many more "did you mean" searches over all declared names may run (each is linear in the
    /// number of names; past this, unknown names are reported without a suggestion).
    suggestion_budget: std::cell::Cell<usize>,
    constraints: Vec<Constraint>,
    decls: HashMap<String, (DeclKind, Span)>,
    consts: HashMap<String, ConstState<'a>>,
    /// Generalized coordinates by name, when expressions may refer to them (inside lumped paths).
    coords_in_scope: Option<HashMap<String, usize>>,
    body_index: HashMap<String, usize>,
    model_span: Span,
    /// Constants currently being resolved, innermost last (to describe a cycle).
    resolving: Vec<String>,
    /// Names of joints that did not parse: their coordinates are unknown but not missing.
    broken_joints: Vec<String>,
    /// Some joint did not parse, so topology problems (a body not attached…) may be its consequence.
    skeleton_incomplete: bool,
    /// Constants whose definition has a problem (reported there).
    poisoned_consts: std::collections::HashSet<String>,
    /// Uses of such constants: a value containing one is not checked against its constraints, since its
    /// placeholder value would only add a misleading second report.
    poisoned_spans: Vec<Span>,
    /// Whether a chain of constants longer than `MAX_CONST_DEPTH` was reported.
    const_depth_reported: bool,
    /// Unknown names already reported (by code and name), with the index of their diagnostic.
    unknown_seen: HashMap<(&'static str, String), usize>,
}

/// Searches for a similar name among all declared names (for "did you mean") in one check; a model with more
/// unknown names than this gets suggestions for the first ones only, which keeps checking linear.
const MAX_SUGGESTION_SEARCHES: usize = 200;

/// A constant may be defined through a chain of at most this many other constants (resolving one recurses
/// through the chain, and its value is a tree as deep).
const MAX_CONST_DEPTH: usize = 100;

/// Accepted MotorNet spellings, mapped to ours, for helpful messages.
const ALIASES: [(&str, &str); 4] = [
    ("max_isometric_force", "max_force"),
    ("optimal_muscle_length", "optimal_length"),
    ("normalized_slack_muscle_length", "normalized_slack_length"),
    ("tendon_slack_length", "tendon_length"),
];

impl<'a> Checker<'a> {
    fn new(ast: &ast::Model) -> Self {
        Checker {
            model_span: ast.name.span,
            diags: Vec::new(),
            params: Vec::new(),
            param_index: HashMap::new(),
            suggestion_budget: std::cell::Cell::new(MAX_SUGGESTION_SEARCHES),
            constraints: Vec::new(),
            decls: HashMap::new(),
            consts: HashMap::new(),
            coords_in_scope: None,
            body_index: HashMap::new(),
            resolving: Vec::new(),
            broken_joints: Vec::new(),
            skeleton_incomplete: false,
            poisoned_consts: Default::default(),
            poisoned_spans: Vec::new(),
            unknown_seen: HashMap::new(),
            const_depth_reported: false,
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Whether one more search for a similar declared name may run (see `suggestion_budget`).
    fn may_suggest(&self) -> bool {
        let left = self.suggestion_budget.get();
        self.suggestion_budget.set(left.saturating_sub(1));
        left > 0
    }

    fn run(&mut self, ast: &'a ast::Model) -> Option<Model> {
        self.declare_names(ast);
        let settings = self.settings(ast);

        // Bodies first: joints, paths and the endpoint refer to them.
        let mut bodies = Vec::new();
        for item in &ast.items {
            if let Item::Body { name, block } = item {
                if self.body_index.contains_key(&name.name) || name.name == "world" {
                    continue; // duplicate or reserved, already reported
                }
                self.body_index.insert(name.name.clone(), bodies.len());
                bodies.push((name, block));
            }
        }
        let bodies: Vec<Body> = bodies.into_iter().map(|(n, b)| self.body(n, b)).collect();
        let (joints, coords, joint_order) = self.skeleton(ast, &bodies);
        let obstacles = self.obstacles(ast);
        let coord_names: HashMap<String, usize> = coords
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        let muscles = self.muscles(ast, &coord_names, &obstacles);
        let endpoint = self.endpoint(&settings, &bodies, &joints);
        // Constants nothing refers to are still checked (and remain overridable parameters).
        for item in &ast.items {
            if let Item::Const { name, .. } = item {
                if matches!(self.consts.get(&name.name), Some(ConstState::Pending(_))) {
                    self.resolve_const(name);
                }
            }
        }
        if let Some(first) = muscles.first() {
            for m in &muscles[1..] {
                if m.kind != first.kind {
                    self.error(
                        Diagnostic::new(
                            "mixed-muscle-models",
                            format!("muscle `{}` is a {}, but `{}` is a {}", m.name, m.kind.name(), first.name, first.kind.name()),
                            m.span,
                            "different muscle model",
                        )
                        .with_help("all muscles of an effector share one muscle model (MotorNet's state layout)"),
                    );
                }
            }
        }

        if ast.items.iter().all(|i| !matches!(i, Item::Joint { .. })) {
            let help = match bodies.first() {
                Some(b) => format!(
                    "add a joint attaching a body to `world`, e.g. `joint j: world -> {} {{ … }}`",
                    b.name
                ),
                None => "add a body and a joint attaching it to `world`, e.g. `body arm { mass 1 kg; } joint shoulder: world -> arm { … }`".into(),
            };
            self.error(
                Diagnostic::new(
                    "no-skeleton",
                    "the model has no joints, so nothing can move",
                    ast.name.span,
                    "this model",
                )
                .with_help(help),
            );
        }
        self.validate_constraints();
        if self.diags.is_empty() {
            self.wrap_points_outside(&bodies, &joints, &joint_order, &muscles, &obstacles);
        }

        let endpoint = endpoint?;
        Some(Model {
            name: ast.name.name.clone(),
            params: std::mem::take(&mut self.params),
            timestep: settings.timestep,
            ministeps: settings.ministeps,
            integrator: settings.integrator,
            path_velocity: settings.path_velocity,
            gravity: settings.gravity,
            bodies,
            joints,
            joint_order,
            coords,
            endpoint,
            obstacles,
            muscles,
            constraints: std::mem::take(&mut self.constraints),
        })
    }

    fn declare_names(&mut self, ast: &'a ast::Model) {
        for item in &ast.items {
            let (kind, name) = match item {
                Item::Const { name, value } => {
                    if !self.consts.contains_key(&name.name) {
                        self.consts
                            .insert(name.name.clone(), ConstState::Pending(value));
                    }
                    (DeclKind::Const, name)
                }
                Item::Body { name, .. } => (DeclKind::Body, name),
                Item::Joint { name, .. } => (DeclKind::Joint, name),
                Item::Muscle { name, .. } => (DeclKind::Muscle, name),
                Item::Obstacle { name, .. } => (DeclKind::Obstacle, name),
                Item::Setting(_) => continue,
            };
            if name.name.is_empty() {
                continue; // a declaration that did not parse
            }
            if matches!(name.name.as_str(), "world" | "pi" | "timestep" | "gravity") {
                // `world` and `pi` mean something in expressions; `timestep` and `gravity` are parameter
                // names of the model itself.
                self.error(Diagnostic::new(
                    "reserved-name",
                    format!("`{}` is a reserved name", name.name),
                    name.span,
                    "reserved",
                ));
                continue;
            }
            if let Some((prev_kind, prev_span)) = self.decls.get(&name.name) {
                let d = Diagnostic::new(
                    "duplicate-name",
                    format!("`{}` is defined twice", name.name),
                    name.span,
                    format!("second {}", kind.noun()),
                )
                .with_related(
                    *prev_span,
                    format!("first defined here as a {}", prev_kind.noun()),
                );
                self.error(d);
                continue;
            }
            self.decls.insert(name.name.clone(), (kind, name.span));
        }
    }

    // ---- values -------------------------------------------------------------------------------------------

    /// Registers `sym` as an overridable parameter `name` when it is a literal (no references); returns the
    /// symbol to use.
    fn maybe_param(&mut self, name: &str, sym: Sym, literal: bool, dim: Dim, span: Span) -> Sym {
        if !literal {
            return sym;
        }
        let default = sym.eval(&[]);
        if let Some(&i) = self.param_index.get(name) {
            // Same property written twice is reported elsewhere; keep the first.
            return Sym::Param(i);
        }
        self.param_index.insert(name.to_string(), self.params.len());
        self.params.push(ParamDef {
            name: name.to_string(),
            default,
            dim,
            span,
        });
        Sym::Param(self.params.len() - 1)
    }

    fn param_defaults(&self) -> Vec<f64> {
        self.params.iter().map(|p| p.default).collect()
    }

    /// A scalar value of the expected dimension, registered as parameter `owner` when literal.
    fn scalar(&mut self, v: &Value, dim: Dim, owner: &str, what: &str) -> Sym {
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

    fn vector(&mut self, v: &Value, dim: Dim, owner: &str, what: &str) -> [Sym; 2] {
        match v {
            Value::Vector {
                components,
                unit,
                span,
            } if components.len() == 2 => {
                let (scale, unit_dim) = self.unit(unit.as_ref());
                let mut out = [Sym::Num(0.0), Sym::Num(0.0)];
                for (k, (comp, axis)) in components.iter().zip(["x", "y"]).enumerate() {
                    let (sym, d, literal) = self.expr(comp);
                    let d = combine_unit(d, unit_dim);
                    self.check_dim(d, dim, comp.span.to(*span), what);
                    let sym = self.finite(sym.scaled(scale), comp.span);
                    out[k] =
                        self.maybe_param(&format!("{owner}.{axis}"), sym, literal, dim, comp.span);
                }
                out
            }
            Value::Vector {
                components, span, ..
            } => {
                self.error(Diagnostic::new(
                    "wrong-value",
                    format!(
                        "`{what}` takes a 2-D vector `(x, y)`, not {} components",
                        components.len()
                    ),
                    *span,
                    "expected (x, y)",
                ));
                [Sym::Num(0.0), Sym::Num(0.0)]
            }
            other => {
                self.error(Diagnostic::new(
                    "wrong-value",
                    format!(
                        "`{what}` takes a vector `(x, y)`, not a {}",
                        shape_name(other)
                    ),
                    other.span(),
                    "expected (x, y)",
                ));
                [Sym::Num(0.0), Sym::Num(0.0)]
            }
        }
    }

    fn range(&mut self, v: &Value, dim: Dim, owner: &str, what: &str) -> Option<(Sym, Sym)> {
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
    fn quantity(&mut self, q: &ast::Quantity, dim: Dim, what: &str) -> (Sym, bool) {
        let (sym, d, literal) = self.expr(&q.expr);
        let (scale, unit_dim) = self.unit(q.unit.as_ref());
        let d = combine_unit(d, unit_dim);
        self.check_dim(d, dim, q.span, what);
        (self.finite(sym.scaled(scale), q.span), literal)
    }

    fn finite(&mut self, sym: Sym, span: Span) -> Sym {
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

    fn check_dim(&mut self, got: DimT, want: Dim, span: Span, what: &str) {
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
    fn unit(&mut self, unit: Option<&ast::Unit>) -> (f64, DimT) {
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

    /// Resolves an expression: (symbol, dimension, whether it is free of references).
    fn expr(&mut self, e: &ast::Expr) -> (Sym, DimT, bool) {
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
    fn binary(
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

    fn reference(&mut self, path: &[Ident], span: Span) -> (Sym, DimT, bool) {
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
            return (Sym::Param(i), DimT::Known(self.params[i].dim), false);
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
    fn unknown(&mut self, d: Diagnostic, name: &str) {
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

    fn resolve_const(&mut self, name: &Ident) -> (Sym, DimT) {
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

    fn positive(&mut self, value: &Sym, strict: bool, what: String, span: Span) {
        self.constraints.push(Constraint {
            value: value.clone(),
            strict,
            message: what,
            span,
        });
    }

    fn validate_constraints(&mut self) {
        let defaults = self.param_defaults();
        // A value with a problem inside (already reported) is not checked any further.
        let mut flawed: Vec<Span> = self
            .diags
            .iter()
            .map(|d| d.span)
            .chain(self.poisoned_spans.iter().copied())
            .collect();
        // Sorted by start, so finding a flaw inside a value is a binary search (not a scan of every
        // diagnostic for every constraint).
        flawed.sort_by_key(|f| (f.start, f.end));
        let has_flaw_inside = |c: Span| {
            let from = flawed.partition_point(|f| f.start < c.start);
            flawed[from..]
                .iter()
                .take_while(|f| f.start <= c.end)
                .any(|f| f.end <= c.end)
        };
        let failures: Vec<Diagnostic> = self
            .constraints
            .iter()
            .filter(|c| c.span.is_empty() || !has_flaw_inside(c.span))
            .filter_map(|c| {
                let v = c.value.eval(&defaults);
                let ok = v.is_finite() && if c.strict { v > 0.0 } else { v >= 0.0 };
                (!ok).then(|| {
                    Diagnostic::new("invalid-value", c.message.clone(), c.span, "invalid here")
                })
            })
            .collect();
        self.diags.extend(failures);
    }

    /// Reports path points that lie inside an obstacle they wrap over, at the default posture (every
    /// coordinate at the middle of its range, 0 where unbounded). Runs on a model without other errors.
    fn wrap_points_outside(
        &mut self,
        bodies: &[Body],
        joints: &[Joint],
        order: &[usize],
        muscles: &[Muscle],
        obstacles: &[Obstacle],
    ) {
        let p = self.param_defaults();
        let ev = |s: &Sym| s.eval(&p);
        let mut poses: Vec<(f64, f64, f64)> = vec![(0.0, 0.0, 0.0); bodies.len()];
        let world = |poses: &[(f64, f64, f64)], b: BodyRef, at: &[Sym; 2]| -> (f64, f64) {
            let (x, y, a) = match b {
                BodyRef::World => (0.0, 0.0, 0.0),
                BodyRef::Body(i) => poses[i],
            };
            let (px, py) = (ev(&at[0]), ev(&at[1]));
            (
                x + a.cos() * px - a.sin() * py,
                y + a.sin() * px + a.cos() * py,
            )
        };
        let posture = |j: &Joint| -> f64 {
            let (lo, hi) = (ev(&j.lower), ev(&j.upper));
            match (lo.is_finite(), hi.is_finite()) {
                (true, true) => 0.5 * (lo + hi),
                (true, false) => lo.max(0.0),
                (false, true) => hi.min(0.0),
                (false, false) => 0.0,
            }
        };
        for &ji in order {
            let j = &joints[ji];
            let q = posture(j);
            let parent = match j.parent {
                BodyRef::World => (0.0, 0.0, 0.0),
                BodyRef::Body(i) => poses[i],
            };
            let at = match j.kind {
                JointKind::Hinge => [j.at[0].clone(), j.at[1].clone()],
                JointKind::Slide => [
                    Sym::Bin(BinOp::Add, Box::new(j.at[0].clone()), Box::new(Sym::Num(q))),
                    Sym::Bin(BinOp::Add, Box::new(j.at[1].clone()), Box::new(Sym::Num(q))),
                ],
            };
            let (x, y) = world(&poses, j.parent, &at);
            let angle = parent.2 + if j.kind == JointKind::Hinge { q } else { 0.0 };
            poses[j.child] = (x, y, angle);
        }
        for m in muscles {
            let Path::Via(elements) = &m.path else {
                continue;
            };
            for (k, e) in elements.iter().enumerate() {
                let PathElementRef::Wrap { obstacle, .. } = e else {
                    continue;
                };
                let o = &obstacles[*obstacle];
                let (cx, cy) = world(&poses, o.body, &o.at);
                let r = ev(&o.radius);
                for n in [k.wrapping_sub(1), k + 1] {
                    let Some(PathElementRef::Point(pt)) = elements.get(n) else {
                        continue;
                    };
                    let (px, py) = world(&poses, pt.body, &pt.at);
                    let d = (px - cx).hypot(py - cy);
                    if d <= r {
                        let which = elements[..n]
                            .iter()
                            .filter(|e| matches!(e, PathElementRef::Point(_)))
                            .count()
                            + 1;
                        self.error(
                            Diagnostic::new(
                                "point-inside-obstacle",
                                format!(
                                    "path point {which} of `{}` lies inside obstacle `{}` at the default posture ({:.4} m from its centre, radius {:.4} m)",
                                    m.name, o.name, d, r
                                ),
                                m.span,
                                "this muscle's path",
                            )
                            .with_related(o.span, "the obstacle")
                            .with_help("a path cannot wrap over an obstacle from inside it: move the point or shrink the obstacle"),
                        );
                    }
                }
            }
        }
    }

    // ---- declarations ------------------------------------------------------------------------------------

    /// Splits a block's properties by name, reporting unknown and repeated ones.
    fn properties(
        &mut self,
        props: &[Property],
        allowed: &[&str],
        owner_kind: &str,
    ) -> HashMap<String, Property> {
        let split: Vec<Property> = props
            .iter()
            .flat_map(|p| self.split_missing_semicolons(p, allowed))
            .collect();
        let mut out: HashMap<String, Property> = HashMap::new();
        // Misspelled properties, by the name they most likely meant.
        let mut meant: Vec<(&str, &Property)> = Vec::new();
        for p in &split {
            let name = p.name.name.as_str();
            if !allowed.contains(&name) {
                if is_placeholder_property(p) {
                    continue; // did not parse: already reported
                }
                let (message, list) = if owner_kind == "a model" {
                    (format!("unknown setting `{name}`"), "settings".to_string())
                } else {
                    (
                        format!("unknown property `{name}` in {owner_kind}"),
                        format!("properties of {owner_kind}"),
                    )
                };
                let mut d = Diagnostic::new("unknown-property", message, p.name.span, "unknown");
                let alias = ALIASES
                    .iter()
                    .find(|(a, _)| *a == name)
                    .map(|(_, ours)| *ours)
                    .filter(|ours| allowed.contains(ours));
                let suggestion = suggest(name, allowed.iter().copied());
                d.help = Some(match (alias, suggestion) {
                    (Some(ours), _) => format!("motornet calls this `{ours}`"),
                    (_, Some(s)) => format!("did you mean `{s}`?"),
                    _ => format!("{list}: {}", allowed.join(", ")),
                });
                if let Some(m) = alias.or(suggestion) {
                    meant.push((m, p));
                }
                self.error(d);
                continue;
            }
            if let Some(first) = out.get(name) {
                let d = Diagnostic::new(
                    "duplicate-property",
                    format!("`{name}` is given twice"),
                    p.name.span,
                    "second definition",
                )
                .with_related(first.name.span, "first given here");
                self.error(d);
                continue;
            }
            out.insert(name.to_string(), p.clone());
        }
        // A misspelled property was still written: do not also report it as missing.
        for (m, p) in meant {
            out.entry(m.to_string()).or_insert_with(|| Property {
                name: p.name.clone(),
                values: Vec::new(),
                span: Span::new(p.span.start, p.span.start),
            });
        }
        out
    }

    /// `mass 1.8 kg length 0.3 m;` is two properties with the `;` between them missing: reports that and
    /// returns the pieces. A word starts a new property when it names one (or nearly does) and a value follows.
    fn split_missing_semicolons(&mut self, p: &Property, allowed: &[&str]) -> Vec<Property> {
        if is_placeholder_property(p) {
            return vec![p.clone()];
        }
        let n = p.values.len();
        let cuts: Vec<usize> = (1..n.saturating_sub(1))
            .filter(|&i| {
                p.values[i].as_word().is_some_and(|w| {
                    allowed.contains(&w.name.as_str())
                        || (suggest(&w.name, allowed.iter().copied()).is_some()
                            && !self.is_known_name(&w.name))
                })
            })
            .collect();
        if cuts.is_empty() {
            return vec![p.clone()];
        }
        let mut out = Vec::new();
        let mut name = p.name.clone();
        let mut start = p.span.start;
        let mut from = 0;
        for &cut in cuts.iter().chain([&n]) {
            let values = p.values[from..cut].to_vec();
            if cut == n {
                out.push(Property {
                    name,
                    values,
                    span: Span::new(start, p.span.end),
                });
                break;
            }
            let end = p.values[cut - 1].span().end;
            let Some(word) = p.values[cut].as_word().cloned() else {
                break; // cuts are words
            };
            self.error(
                Diagnostic::new(
                    "syntax",
                    format!("syntax error: expected `;` before `{}`", word.name),
                    Span::new(end, end),
                    "expected `;`",
                )
                .with_related(word.span, format!("`{}` starts a new property", word.name)),
            );
            let piece = Span::new(start, end);
            start = word.span.start;
            out.push(Property {
                name: std::mem::replace(&mut name, word),
                values,
                span: piece,
            });
            from = cut + 1;
        }
        out
    }

    /// Whether `name` refers to something (so it is a value, not a misspelled unit or property).
    fn is_known_name(&self, name: &str) -> bool {
        name == "pi"
            || self.consts.contains_key(name)
            || self.decls.contains_key(name)
            || self
                .coords_in_scope
                .as_ref()
                .is_some_and(|c| c.contains_key(name))
    }

    /// The one value of a property, or an error.
    fn single<'p>(&mut self, p: &'p Property) -> Option<&'p Value> {
        if is_placeholder_property(p) {
            return None; // did not parse: already reported
        }
        match p.values.as_slice() {
            [v] => Some(v),
            [] => {
                self.error(Diagnostic::new(
                    "missing-value",
                    format!("`{}` needs a value", p.name.name),
                    p.span,
                    "no value",
                ));
                None
            }
            [first, extra, ..] => {
                match leading_word(extra) {
                    // `mass 1.8 lb;`: a word right after a number without a unit is meant as a unit.
                    Some(w) if !has_unit(first) && !self.is_known_name(&w.name) => {
                        let mut d = Diagnostic::new(
                            "unknown-unit",
                            format!("unknown unit `{}`", w.name),
                            w.span,
                            "not a unit",
                        );
                        d.help = Some(did_you_mean(&w.name, UNIT_WORDS).unwrap_or_else(|| {
                            format!(
                                "units: {} (combined like `N m`, `rad/s` or `kg m^2`)",
                                UNIT_WORDS.join(", ")
                            )
                        }));
                        self.error(d);
                    }
                    // `mass 2 * sin (0.5);`: a function name, a blank, then a parenthesised value.
                    _ if trailing_function(first).is_some_and(|f| !self.is_known_name(&f.name)) => {
                        let f = trailing_function(first).expect("checked");
                        self.error(
                            Diagnostic::new(
                                "wrong-value",
                                format!(
                                    "`{}` takes one value, but {} were given: a space between `{}` and `(` makes two values, not a function call",
                                    p.name.name,
                                    p.values.len(),
                                    f.name
                                ),
                                f.span.to(extra.span()),
                                "two values",
                            )
                            .with_help(format!("write `{}(…)` without a space", f.name)),
                        );
                    }
                    _ => self.error(Diagnostic::new(
                        "wrong-value",
                        format!(
                            "`{}` takes one value, but {} were given",
                            p.name.name,
                            p.values.len()
                        ),
                        extra.span(),
                        "unexpected value",
                    )),
                }
                None
            }
        }
    }

    fn word<'p>(&mut self, p: &'p Property, choices: &[&str]) -> Option<&'p Ident> {
        let v = self.single(p)?;
        match v.as_word() {
            Some(w) if choices.contains(&w.name.as_str()) => Some(w),
            _ => {
                let got = v.as_word().map(|w| w.name.as_str()).unwrap_or("");
                let mut d = Diagnostic::new(
                    "unknown-choice",
                    format!("`{}` must be one of: {}", p.name.name, choices.join(", ")),
                    v.span(),
                    "not a valid choice",
                );
                d.help = did_you_mean(got, choices.iter().copied());
                self.error(d);
                None
            }
        }
    }

    fn settings(&mut self, ast: &'a ast::Model) -> Settings {
        const ALLOWED: [&str; 6] = [
            "timestep",
            "ministeps",
            "integrator",
            "path_velocity",
            "gravity",
            "endpoint",
        ];
        let props: Vec<Property> = ast
            .items
            .iter()
            .filter_map(|i| {
                if let Item::Setting(p) = i {
                    Some(p.clone())
                } else {
                    None
                }
            })
            .collect();
        let props = self.properties(&props, &ALLOWED, "a model");
        let mut s = Settings {
            timestep: Sym::Num(0.01),
            ministeps: 1,
            integrator: Integrator::Euler,
            path_velocity: PathVelocity::Exact,
            gravity: [Sym::Num(0.0), Sym::Num(0.0)],
            endpoint: None,
        };
        let timestep_span;
        if let Some(p) = props.get("timestep") {
            timestep_span = p.span;
            if let Some(v) = self.single(p) {
                s.timestep = self.scalar(v, Dim::TIME, "timestep", "timestep");
            }
        } else {
            timestep_span = ast.name.span;
            s.timestep =
                self.maybe_param("timestep", Sym::Num(0.01), true, Dim::TIME, ast.name.span);
        }
        self.positive(
            &s.timestep.clone(),
            true,
            "the timestep must be positive".into(),
            timestep_span,
        );
        if let Some(p) = props.get("ministeps") {
            if let Some(v) = self.single(p) {
                let n = match v {
                    Value::Quantity(ast::Quantity {
                        expr:
                            ast::Expr {
                                kind: ExprKind::Number(n),
                                ..
                            },
                        unit: None,
                        ..
                    }) => Some(*n),
                    _ => None,
                };
                match n {
                    Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= 1000.0 => {
                        s.ministeps = n as usize
                    }
                    _ => self.error(Diagnostic::new(
                        "invalid-value",
                        "`ministeps` must be a whole number between 1 and 1000",
                        v.span(),
                        "not a valid count",
                    )),
                }
            }
        }
        if let Some(p) = props.get("integrator") {
            let names: Vec<&str> = Integrator::NAMES.iter().map(|n| n.0).collect();
            if let Some(w) = self.word(p, &names) {
                s.integrator = Integrator::NAMES
                    .iter()
                    .find(|n| n.0 == w.name)
                    .map(|n| n.1)
                    .unwrap_or(Integrator::Euler);
            }
        }
        if let Some(p) = props.get("path_velocity") {
            if let Some(w) = self.word(p, &["exact", "motornet"]) {
                s.path_velocity = if w.name == "exact" {
                    PathVelocity::Exact
                } else {
                    PathVelocity::Motornet
                };
            }
        }
        if let Some(p) = props.get("gravity") {
            if let Some(v) = self.single(p) {
                s.gravity = self.vector(v, Dim::ACCELERATION, "gravity", "gravity");
            }
        }
        if let Some(p) = props.get("endpoint") {
            s.endpoint = Some((*p).clone());
        }
        s
    }

    fn body(&mut self, name: &Ident, block: &ast::Block) -> Body {
        let props = self.properties(
            &block.properties,
            &["mass", "com", "inertia", "length"],
            "a body",
        );
        self.no_paths(block, "a body");
        let n = &name.name;
        let mass = match props.get("mass").and_then(|p| self.single(p)) {
            Some(v) => self.scalar(v, Dim::MASS, &format!("{n}.mass"), "mass"),
            None => {
                if !props.contains_key("mass") && !is_placeholder_block(block) {
                    self.error(Diagnostic::new(
                        "missing-property",
                        format!("body `{n}` has no `mass`"),
                        name.span,
                        "needs a mass",
                    ));
                }
                Sym::Num(1.0)
            }
        };
        let span = props.get("mass").map_or(name.span, |p| p.span);
        self.positive(
            &mass,
            true,
            format!("the mass of `{n}` must be positive"),
            span,
        );
        let com = match props.get("com").and_then(|p| self.single(p)) {
            Some(v) => self.vector(v, Dim::LENGTH, &format!("{n}.com"), "com"),
            None => [Sym::Num(0.0), Sym::Num(0.0)],
        };
        let inertia = match props.get("inertia").and_then(|p| self.single(p)) {
            Some(v) => {
                let s = self.scalar(v, Dim::INERTIA, &format!("{n}.inertia"), "inertia");
                self.positive(
                    &s,
                    false,
                    format!("the inertia of `{n}` must not be negative"),
                    v.span(),
                );
                s
            }
            None => Sym::Num(0.0),
        };
        let length = match props.get("length").and_then(|p| self.single(p)) {
            Some(v) => {
                let s = self.scalar(v, Dim::LENGTH, &format!("{n}.length"), "length");
                self.positive(
                    &s,
                    false,
                    format!("the length of `{n}` must not be negative"),
                    v.span(),
                );
                s
            }
            None => Sym::Num(0.0),
        };
        Body {
            name: n.clone(),
            mass,
            com,
            inertia,
            length,
            span: name.span,
        }
    }

    fn no_paths(&mut self, block: &ast::Block, owner: &str) {
        for p in &block.paths {
            self.error(Diagnostic::new(
                "misplaced",
                format!("{owner} cannot have a path"),
                p.span(),
                "only muscles have paths",
            ));
        }
    }

    fn body_ref(&mut self, name: &Ident) -> Option<BodyRef> {
        if name.name == "world" {
            return Some(BodyRef::World);
        }
        if let Some(&i) = self.body_index.get(&name.name) {
            return Some(BodyRef::Body(i));
        }
        let mut d = Diagnostic::new(
            "unknown-body",
            format!("unknown body `{}`", name.name),
            name.span,
            "no such body",
        );
        d.help = match self.decls.get(&name.name) {
            Some((kind, _)) => Some(format!("`{}` is a {}, not a body", name.name, kind.noun())),
            None if !self.may_suggest() => None,
            None => {
                let mut names: Vec<&str> = self.body_index.keys().map(String::as_str).collect();
                names.sort_unstable();
                names.push("world");
                did_you_mean(&name.name, names)
            }
        };
        self.unknown(d, &name.name);
        None
    }

    #[allow(clippy::type_complexity)]
    fn skeleton(
        &mut self,
        ast: &ast::Model,
        bodies: &[Body],
    ) -> (Vec<Joint>, Vec<Coord>, Vec<usize>) {
        let mut joints = Vec::new();
        let mut coords = Vec::new();
        let mut parent_joint: Vec<Option<(usize, Span)>> = vec![None; bodies.len()];
        for item in &ast.items {
            let Item::Joint {
                name,
                parent,
                child,
                block,
            } = item
            else {
                continue;
            };
            if is_placeholder_block(block) {
                // Did not parse (already reported): the skeleton is incomplete, but its coordinate is not unknown.
                self.skeleton_incomplete = true;
                self.broken_joints.push(name.name.clone());
                continue;
            }
            // A joint whose name is taken (reported) still holds its bodies together.
            self.no_paths(block, "a joint");
            let props = self.properties(
                &block.properties,
                &["type", "at", "range", "velocity", "damping"],
                "a joint",
            );
            let parent_ref = self.body_ref(parent);
            let child_ref = if child.name == "world" {
                self.error(Diagnostic::new(
                    "world-child",
                    "`world` cannot be the child of a joint",
                    child.span,
                    "world is fixed",
                ));
                None
            } else {
                self.body_ref(child)
            };
            if parent_ref.is_none() || (child_ref.is_none() && child.name != "world") {
                self.skeleton_incomplete = true;
            }
            let kind = match props.get("type") {
                Some(p) => match self.word(p, &["hinge", "slide"]) {
                    Some(w) if w.name == "slide" => JointKind::Slide,
                    _ => JointKind::Hinge,
                },
                None => JointKind::Hinge,
            };
            let n = &name.name;
            let at = match props.get("at").and_then(|p| self.single(p)) {
                Some(v) => self.vector(v, Dim::LENGTH, &format!("{n}.at"), "at"),
                // By default a joint sits at the parent's tip.
                None => match parent_ref {
                    Some(BodyRef::Body(i)) => [bodies[i].length.clone(), Sym::Num(0.0)],
                    _ => [Sym::Num(0.0), Sym::Num(0.0)],
                },
            };
            let (pos_dim, vel_dim, damp_dim) = match kind {
                JointKind::Hinge => (Dim::ANGLE, Dim::ANGULAR_SPEED, Dim::ROTARY_DAMPING),
                JointKind::Slide => (Dim::LENGTH, Dim::SPEED, Dim::LINEAR_DAMPING),
            };
            let unbounded = (Sym::Num(f64::NEG_INFINITY), Sym::Num(f64::INFINITY));
            let (lower, upper) = props
                .get("range")
                .and_then(|p| self.single(p))
                .and_then(|v| self.range(v, pos_dim, &format!("{n}.range"), "range"))
                .unwrap_or(unbounded.clone());
            let (vel_lower, vel_upper) = props
                .get("velocity")
                .and_then(|p| self.single(p))
                .and_then(|v| self.range(v, vel_dim, &format!("{n}.velocity"), "velocity range"))
                .unwrap_or(unbounded);
            let damping = match props.get("damping").and_then(|p| self.single(p)) {
                Some(v) => {
                    let s = self.scalar(v, damp_dim, &format!("{n}.damping"), "damping");
                    self.positive(
                        &s,
                        false,
                        format!("the damping of `{n}` must not be negative"),
                        v.span(),
                    );
                    s
                }
                None => Sym::Num(0.0),
            };
            let j = joints.len();
            if let Some(BodyRef::Body(c)) = child_ref {
                if let Some((_, first)) = parent_joint[c] {
                    self.error(
                        Diagnostic::new(
                            "two-parents",
                            format!("body `{}` is attached by two joints", child.name),
                            child.span,
                            "second parent joint",
                        )
                        .with_related(first, "first attached here")
                        .with_help(
                            "each body hangs from exactly one joint; the skeleton must be a tree",
                        ),
                    );
                } else {
                    parent_joint[c] = Some((j, child.span));
                }
            }
            let first_coord = coords.len();
            match kind {
                JointKind::Hinge => coords.push(Coord {
                    name: n.clone(),
                    joint: j,
                }),
                JointKind::Slide => {
                    coords.push(Coord {
                        name: format!("{n}.x"),
                        joint: j,
                    });
                    coords.push(Coord {
                        name: format!("{n}.y"),
                        joint: j,
                    });
                }
            }
            joints.push(Joint {
                name: n.clone(),
                kind,
                parent: parent_ref.unwrap_or(BodyRef::World),
                child: match child_ref {
                    Some(BodyRef::Body(c)) => c,
                    _ => usize::MAX,
                },
                at,
                coords: first_coord..coords.len(),
                lower,
                upper,
                vel_lower,
                vel_upper,
                damping,
                span: name.span,
            });
        }
        // Every body hangs from a chain of joints that ends at the world.
        let mut order = Vec::new();
        let mut depth: Vec<Option<usize>> = vec![None; bodies.len()];
        let mut in_reported_cycle = vec![false; bodies.len()];
        let any_joint = ast.items.iter().any(|i| matches!(i, Item::Joint { .. }));
        // Each body's walk to the world stops at a body already walked (its depth or its failure is known),
        // so the whole check takes time linear in the number of bodies, however deep the chains.
        let mut failed = vec![false; bodies.len()];
        let mut on_chain = vec![usize::MAX; bodies.len()];
        for (b, body) in bodies.iter().enumerate() {
            let mut chain = vec![b];
            on_chain[b] = 0;
            let mut cur = b;
            let verdict = loop {
                let Some((j, _)) = parent_joint[cur] else {
                    break Err(None);
                };
                match joints[j].parent {
                    BodyRef::World => break Ok(chain.len()),
                    BodyRef::Body(p) => {
                        if on_chain[p] != usize::MAX {
                            break Err(Some(chain[on_chain[p]..].to_vec()));
                        }
                        if let Some(d) = depth[p] {
                            break Ok(chain.len() + d);
                        }
                        if failed[p] {
                            // Hangs from a body already found unattached or in a cycle (reported there).
                            break Err(Some(Vec::new()));
                        }
                        on_chain[p] = chain.len();
                        chain.push(p);
                        cur = p;
                    }
                }
            };
            for &c in &chain {
                on_chain[c] = usize::MAX;
            }
            match &verdict {
                Ok(d) => {
                    for (i, &c) in chain.iter().enumerate() {
                        depth[c] = Some(d - i);
                    }
                }
                Err(_) => chain.iter().for_each(|&c| failed[c] = true),
            }
            match verdict {
                Ok(d) => depth[b] = Some(d),
                Err(Some(cycle)) if cycle.is_empty() => {}
                // Each cycle is reported once; bodies hanging from a cycle are not attached either, as a
                // consequence.
                Err(Some(cycle)) => {
                    if cycle.iter().any(|&c| in_reported_cycle[c]) {
                        continue;
                    }
                    for &c in &cycle {
                        in_reported_cycle[c] = true;
                    }
                    self.report_cycle(&cycle, bodies, &joints, &parent_joint);
                }
                Err(None) => {
                    // A body hanging from a disconnected body is reported through that body. Without any
                    // joint, `no-skeleton` says it all; with a joint that did not parse or that names an
                    // unknown body (reported), this may be a consequence.
                    if parent_joint[b].is_none() && any_joint && !self.skeleton_incomplete {
                        self.error(
                            Diagnostic::new(
                                "disconnected-body",
                                format!("body `{}` is not attached to anything", body.name),
                                body.span,
                                "no joint holds this body",
                            )
                            .with_help(format!(
                                "add a joint: `joint j: world -> {} {{ … }}`",
                                body.name
                            )),
                        );
                    }
                }
            }
        }
        let mut js: Vec<usize> = (0..joints.len())
            .filter(|&j| joints[j].child != usize::MAX)
            .collect();
        js.sort_by_key(|&j| depth[joints[j].child].unwrap_or(usize::MAX));
        for j in js {
            if depth[joints[j].child].is_some() {
                order.push(j);
            }
        }
        (joints, coords, order)
    }

    /// Reports a cycle of bodies (each hanging from the next, by `parent_joint`).
    fn report_cycle(
        &mut self,
        cycle: &[usize],
        bodies: &[Body],
        joints: &[Joint],
        parent_joint: &[Option<(usize, Span)>],
    ) {
        // The joints of the cycle in the order they are written, each as `parent -> child`.
        let mut js: Vec<usize> = cycle
            .iter()
            .filter_map(|&b| parent_joint[b].map(|p| p.0))
            .collect();
        js.sort_by_key(|&j| joints[j].span.start);
        let Some(&first) = js.first() else { return };
        let names: Vec<String> = js
            .iter()
            .map(|&j| format!("`{}`", joints[j].name))
            .collect();
        // Walk up the cycle from the first joint's parent, back to it; reversed, that reads `parent -> child`.
        let BodyRef::Body(start) = joints[first].parent else {
            return;
        };
        let mut walk = vec![bodies[start].name.clone()];
        let mut cur = start;
        for _ in 0..cycle.len() {
            match joints[parent_joint[cur].map_or(first, |p| p.0)].parent {
                BodyRef::Body(p) => {
                    walk.push(bodies[p].name.clone());
                    cur = p;
                }
                BodyRef::World => break,
            }
        }
        walk.reverse();
        let mut d = Diagnostic::new(
            "skeleton-cycle",
            format!(
                "the joints {} form a cycle: {}",
                join_and(&names),
                join_capped(&walk, " -> ")
            ),
            joints[first].span,
            "part of the cycle",
        )
        .with_help("the skeleton must be a tree rooted at `world`: each body hangs from one parent, ending at the world");
        for &j in &js[1..] {
            d = d.with_related(joints[j].span, "part of the cycle");
        }
        self.error(d);
    }

    fn obstacles(&mut self, ast: &ast::Model) -> Vec<Obstacle> {
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Obstacle { name, kind, block } = item else {
                continue;
            };
            self.no_paths(block, "an obstacle");
            let kind = match kind.name.as_str() {
                "cylinder" => ObstacleKind::Cylinder,
                "sphere" => ObstacleKind::Sphere,
                _ => {
                    let mut d = Diagnostic::new(
                        "unknown-obstacle",
                        format!("unknown obstacle shape `{}`", kind.name),
                        kind.span,
                        "not a shape",
                    );
                    d.help = Some(
                        did_you_mean(&kind.name, ["cylinder", "sphere"])
                            .unwrap_or("shapes: cylinder, sphere".into()),
                    );
                    self.error(d);
                    continue;
                }
            };
            let props =
                self.properties(&block.properties, &["body", "at", "radius"], "an obstacle");
            let n = &name.name;
            let body = match props.get("body") {
                Some(p) => match self.single(p).and_then(|v| v.as_word().cloned()) {
                    Some(w) => self.body_ref(&w),
                    None => None,
                },
                None => Some(BodyRef::World),
            };
            let at = match props.get("at").and_then(|p| self.single(p)) {
                Some(v) => self.vector(v, Dim::LENGTH, &format!("{n}.at"), "at"),
                None => [Sym::Num(0.0), Sym::Num(0.0)],
            };
            let radius = match props.get("radius").and_then(|p| self.single(p)) {
                Some(v) => self.scalar(v, Dim::LENGTH, &format!("{n}.radius"), "radius"),
                None => {
                    self.error(Diagnostic::new(
                        "missing-property",
                        format!("obstacle `{n}` has no `radius`"),
                        name.span,
                        "needs a radius",
                    ));
                    Sym::Num(1.0)
                }
            };
            let rspan = props.get("radius").map_or(name.span, |p| p.span);
            self.positive(
                &radius,
                true,
                format!("the radius of `{n}` must be positive"),
                rspan,
            );
            out.push(Obstacle {
                name: n.clone(),
                kind,
                body: body.unwrap_or(BodyRef::World),
                at,
                radius,
                span: name.span,
            });
        }
        out
    }

    fn muscles(
        &mut self,
        ast: &ast::Model,
        coords: &HashMap<String, usize>,
        obstacles: &[Obstacle],
    ) -> Vec<Muscle> {
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Muscle { name, kind, block } = item else {
                continue;
            };
            let Some(mk) = MuscleKind::from_name(&kind.name) else {
                let names: Vec<&str> = MuscleKind::ALL.iter().map(|k| k.name()).collect();
                let mut d = Diagnostic::new(
                    "unknown-muscle-model",
                    format!("unknown muscle model `{}`", kind.name),
                    kind.span,
                    "not a muscle model",
                );
                d.help = Some(
                    did_you_mean(&kind.name, names.iter().copied())
                        .unwrap_or_else(|| format!("muscle models: {}", names.join(", "))),
                );
                self.error(d);
                continue;
            };
            let n = &name.name;
            let allowed: Vec<&str> = mk.params().iter().map(|p| p.name).collect();
            let props = self.properties(&block.properties, &allowed, &format!("a {}", mk.name()));
            let mut params = Vec::new();
            let mut missing = Vec::new();
            for spec in mk.params() {
                let owner = format!("{n}.{}", spec.name);
                let (sym, span) = match props
                    .get(spec.name)
                    .and_then(|p| self.single(p).map(|v| (v, p.span)))
                {
                    Some((v, span)) => (self.scalar(v, spec.dim, &owner, spec.name), span),
                    None => match spec.default {
                        Some(d) => (
                            self.maybe_param(&owner, Sym::Num(d), true, spec.dim, name.span),
                            name.span,
                        ),
                        None => {
                            if !props.contains_key(spec.name) {
                                missing.push(spec.name);
                            }
                            (Sym::Num(1.0), name.span)
                        }
                    },
                };
                for limit in spec.limits {
                    // The constraint is `value > 0` (or ≥): value − at above the limit, at − value below it.
                    let value = match (limit.above, limit.at) {
                        (true, 0.0) => sym.clone(),
                        (true, at) => {
                            Sym::Bin(BinOp::Sub, Box::new(sym.clone()), Box::new(Sym::Num(at)))
                        }
                        (false, at) => {
                            Sym::Bin(BinOp::Sub, Box::new(Sym::Num(at)), Box::new(sym.clone()))
                        }
                    };
                    self.positive(
                        &value,
                        limit.strict,
                        format!("`{}` of `{n}` must {}", spec.name, limit.text),
                        span,
                    );
                }
                params.push(sym);
            }
            if !missing.is_empty() {
                let list = missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.error(
                    Diagnostic::new(
                        "missing-property",
                        format!("muscle `{n}` ({}) is missing {list}", mk.name()),
                        name.span,
                        "required parameters missing",
                    )
                    .with_help(format!("e.g. `{} …;`", missing[0])),
                );
            }
            // Paths that did not parse were reported; the others are checked.
            let paths: Vec<&ast::PathDef> = block
                .paths
                .iter()
                .filter(|p| !is_placeholder_path(p))
                .collect();
            let broken_path = paths.len() < block.paths.len();
            let path = match paths.as_slice() {
                [] if broken_path => None,
                [] => {
                    self.error(
                        Diagnostic::new("missing-path", format!("muscle `{n}` has no path"), name.span, "no path")
                            .with_help("add `path world (x, y) -> body (x, y);` or `path lumped <length expression>;`"),
                    );
                    None
                }
                [p, rest @ ..] => {
                    for extra in rest {
                        self.error(
                            Diagnostic::new(
                                "duplicate-path",
                                format!("muscle `{n}` has two paths"),
                                extra.span(),
                                "second path",
                            )
                            .with_related(p.span(), "first path"),
                        );
                    }
                    self.path(p, n, coords, obstacles)
                }
            };
            if let Some(path) = path {
                out.push(Muscle {
                    name: n.clone(),
                    kind: mk,
                    params,
                    path,
                    span: name.span,
                });
            }
        }
        out
    }

    fn path(
        &mut self,
        p: &ast::PathDef,
        muscle: &str,
        coords: &HashMap<String, usize>,
        obstacles: &[Obstacle],
    ) -> Option<Path> {
        match p {
            ast::PathDef::Lumped { expr, .. } => {
                self.coords_in_scope = Some(coords.clone());
                let (sym, dim, _) = self.expr(expr);
                self.coords_in_scope = None;
                self.check_dim(dim, Dim::LENGTH, expr.span, "path length");
                Some(Path::Lumped(sym))
            }
            // A path that did not parse (already reported).
            p if is_placeholder_path(p) => None,
            ast::PathDef::Via { elements, span } => {
                let mut out = Vec::new();
                let mut n_points = 0;
                for (k, e) in elements.iter().enumerate() {
                    match e {
                        PathElement::Point { body, position } => {
                            n_points += 1;
                            let b = self.body_ref(body);
                            let at = self.vector(
                                position,
                                Dim::LENGTH,
                                &format!("{muscle}.path.{k}"),
                                "path point",
                            );
                            out.push(PathElementRef::Point(PathPoint {
                                body: b.unwrap_or(BodyRef::World),
                                at,
                            }));
                        }
                        PathElement::Wrap {
                            obstacle,
                            side,
                            span,
                        } => {
                            let Some(o) = obstacles.iter().position(|o| o.name == obstacle.name)
                            else {
                                let mut d = Diagnostic::new(
                                    "unknown-obstacle",
                                    format!("unknown obstacle `{}`", obstacle.name),
                                    obstacle.span,
                                    "no such obstacle",
                                );
                                d.help = did_you_mean(
                                    &obstacle.name,
                                    obstacles.iter().map(|o| o.name.as_str()),
                                );
                                self.unknown(d, &obstacle.name);
                                continue;
                            };
                            let bracketed = k > 0
                                && k + 1 < elements.len()
                                && matches!(elements[k - 1], PathElement::Point { .. })
                                && matches!(elements[k + 1], PathElement::Point { .. });
                            if !bracketed {
                                self.error(Diagnostic::new(
                                    "wrap-not-bracketed",
                                    format!(
                                        "wrapping over `{}` must sit between two path points",
                                        obstacle.name
                                    ),
                                    *span,
                                    "needs a point on each side",
                                ));
                            }
                            let side = match side {
                                None => WrapSideRef::Sign(1.0),
                                Some(ast::WrapSide::Sign(s, _)) => WrapSideRef::Sign(*s),
                                Some(ast::WrapSide::Point(v)) => WrapSideRef::Point(self.vector(
                                    v,
                                    Dim::LENGTH,
                                    &format!("{muscle}.path.{k}.side"),
                                    "side point",
                                )),
                            };
                            out.push(PathElementRef::Wrap { obstacle: o, side });
                        }
                    }
                }
                if n_points < 2 {
                    self.error(
                        Diagnostic::new(
                            "path-too-short",
                            format!("the path of `{muscle}` has {n_points} point{}; it needs at least two", if n_points == 1 { "" } else { "s" }),
                            *span,
                            "too few points",
                        )
                        .with_help("write `path world (x, y) -> body (x, y);`"),
                    );
                    return None;
                }
                Some(Path::Via(out))
            }
        }
    }

    fn endpoint(&mut self, s: &Settings, bodies: &[Body], joints: &[Joint]) -> Option<Endpoint> {
        if let Some(p) = &s.endpoint {
            if is_placeholder_property(p) {
                return None; // did not parse: already reported
            }
            let (body, at) = match p.values.as_slice() {
                [b] => (b, None),
                [b, at] => (b, Some(at)),
                _ => {
                    self.error(Diagnostic::new(
                        "wrong-value",
                        "`endpoint` takes a body and optionally a point `(x, y)` on it",
                        p.span,
                        "expected `endpoint BODY (x, y);`",
                    ));
                    return None;
                }
            };
            let Some(word) = body.as_word() else {
                self.error(Diagnostic::new(
                    "wrong-value",
                    "`endpoint` must start with a body name",
                    body.span(),
                    "expected a body",
                ));
                return None;
            };
            let b = self.body_ref(word)?;
            let at = match (at, b) {
                (Some(v), _) => self.vector(v, Dim::LENGTH, "endpoint", "endpoint"),
                (None, BodyRef::Body(i)) => [bodies[i].length.clone(), Sym::Num(0.0)],
                (None, BodyRef::World) => [Sym::Num(0.0), Sym::Num(0.0)],
            };
            return Some(Endpoint { body: b, at });
        }
        // Without `endpoint`, the tip of the only body that has no children.
        let leaves: Vec<usize> = (0..bodies.len())
            .filter(|&b| {
                !joints
                    .iter()
                    .any(|j| j.parent == BodyRef::Body(b) && j.child != usize::MAX)
            })
            .collect();
        match leaves.as_slice() {
            [b] => Some(Endpoint {
                body: BodyRef::Body(*b),
                at: [bodies[*b].length.clone(), Sym::Num(0.0)],
            }),
            // No body at all is reported as `no-skeleton`, no leaf at all as a `skeleton-cycle`; with a joint
            // that did not parse, the leaves are not known.
            [] => None,
            _ if self.skeleton_incomplete => None,
            _ => {
                let names: Vec<&str> = leaves.iter().map(|&b| bodies[b].name.as_str()).collect();
                self.error(
                    Diagnostic::new(
                        "missing-endpoint",
                        "the model does not say which point is the endpoint",
                        self.model_span,
                        "no `endpoint`",
                    )
                    .with_help(format!(
                        "add e.g. `endpoint {} (x, y) m;` (candidates: {})",
                        names[0],
                        join_capped(&names, ", ")
                    )),
                );
                None
            }
        }
    }
}

struct Settings {
    timestep: Sym,
    ministeps: usize,
    integrator: Integrator,
    path_velocity: PathVelocity,
    gravity: [Sym; 2],
    endpoint: Option<Property>,
}

/// The unit words of the language (the grammar's `unit_word`, the runtime's unit table).
const UNIT_WORDS: [&str; 10] = {
    let mut words = [""; 10];
    let mut i = 0;
    while i < words.len() {
        words[i] = motornet_runtime::units::UNITS[i].0;
        i += 1;
    }
    words
};

/// The bare word a value starts with: `lb` in `lb`, `degrees` in `degrees .. 90`.
fn leading_word(v: &Value) -> Option<&Ident> {
    match v {
        Value::Range { lower, .. } => match &lower.expr.kind {
            ExprKind::Ref(path) if lower.unit.is_none() && path.len() == 1 => Some(&path[0]),
            _ => None,
        },
        _ => v.as_word(),
    }
}

/// Whether a value ends with a unit.
/// The function name a value ends with, if it ends with a bare name that is one (`2 * sin` in `2 * sin (x)`).
fn trailing_function(v: &Value) -> Option<&Ident> {
    let Value::Quantity(q) = v else { return None };
    if q.unit.is_some() {
        return None;
    }
    let mut e = &q.expr;
    loop {
        match &e.kind {
            ExprKind::Binary(_, _, b) => e = b,
            ExprKind::Neg(a) => e = a,
            ExprKind::Ref(path) if path.len() == 1 && Func::lookup(&path[0].name).is_some() => {
                return Some(&path[0]);
            }
            _ => return None,
        }
    }
}

fn has_unit(v: &Value) -> bool {
    match v {
        Value::Quantity(q) => q.unit.is_some(),
        Value::Vector { unit, .. } => unit.is_some(),
        Value::Range { upper, .. } => upper.unit.is_some(),
    }
}

/// Lists in messages show at most this many items (a generated model may have thousands).
const MAX_LISTED: usize = 12;

/// `a`, `a and b`, `a, b and c`; past [`MAX_LISTED`] items, `a, b, … and 988 more`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        _ if items.len() > MAX_LISTED => format!(
            "{}, … and {} more",
            items[..MAX_LISTED - 1].join(", "),
            items.len() - (MAX_LISTED - 1)
        ),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `items` joined by `sep`; past [`MAX_LISTED`] items, the first ones, `…` and the last one.
fn join_capped<S: AsRef<str>>(items: &[S], sep: &str) -> String {
    let all: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    if all.len() <= MAX_LISTED {
        return all.join(sep);
    }
    format!(
        "{}{sep}… ({} more){sep}{}",
        all[..MAX_LISTED - 1].join(sep),
        all.len() - MAX_LISTED,
        all[all.len() - 1]
    )
}

fn combine_unit(d: DimT, unit: DimT) -> DimT {
    match (d, unit) {
        (_, DimT::Free) => d,
        (DimT::Free, u) => u,
        (DimT::Known(a), DimT::Known(b)) => DimT::Known(a.mul(b, 1)),
    }
}

fn shape_name(v: &Value) -> &'static str {
    match v {
        Value::Quantity(_) => "single value",
        Value::Vector { .. } => "vector",
        Value::Range { .. } => "range",
    }
}
