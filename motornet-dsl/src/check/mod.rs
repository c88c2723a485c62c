//! Syntax tree → checked [`Model`]. Resolves names, converts units to SI, validates values and the skeleton's
//! topology, and reports every problem it finds (it keeps going after an error, using a placeholder value).

use crate::ast::{self, BinOp, ExprKind, Ident, Item, PathElement, Property, Span, Value};
use crate::diag::{did_you_mean, suggest, Diagnostic};
use crate::model::*;
use crate::muscles::MuscleKind;
use std::collections::HashMap;

mod constraints;
mod exprs;
mod paths;
mod properties;
mod skeleton;
mod values;

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
    param_index: HashMap<String, ParamId>,
    /// How many more "did you mean" searches over all declared names may run (each is linear in the
    /// number of names; past this, unknown names are reported without a suggestion).
    suggestion_budget: std::cell::Cell<usize>,
    constraints: Vec<Constraint>,
    decls: HashMap<String, (DeclKind, Span)>,
    consts: HashMap<String, ConstState<'a>>,
    /// Generalized coordinates by name, when expressions may refer to them (inside lumped paths).
    coords_in_scope: Option<HashMap<String, CoordId>>,
    body_index: HashMap<String, BodyId>,
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
    /// 2 (planar) or 3 (`dimensions 3;`): how many components every point and direction has.
    space_dim: usize,
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
            space_dim: 2,
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
                self.body_index
                    .insert(name.name.clone(), BodyId(bodies.len()));
                bodies.push((name, block));
            }
        }
        let bodies: Vec<Body> = bodies.into_iter().map(|(n, b)| self.body(n, b)).collect();
        let (joints, coords, joint_order) = self.skeleton(ast, &bodies);
        let obstacles = self.obstacles(ast);
        let coord_names: HashMap<String, CoordId> = coords
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), CoordId(i)))
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

        // Without an endpoint (reported) the model is only checked, with a placeholder in its place.
        let found_endpoint = endpoint.is_some();
        let endpoint = endpoint.unwrap_or(Endpoint {
            body: BodyRef::World,
            at: [Sym::Num(0.0), Sym::Num(0.0), Sym::Num(0.0)],
        });
        let model = Model {
            name: ast.name.name.clone(),
            params: std::mem::take(&mut self.params),
            timestep: settings.timestep,
            ministeps: settings.ministeps,
            integrator: settings.integrator,
            path_velocity: settings.path_velocity,
            space_dim: self.space_dim,
            gravity: settings.gravity,
            bodies,
            joints,
            joint_order,
            coords,
            endpoint,
            obstacles,
            muscles,
            constraints: std::mem::take(&mut self.constraints),
        };
        if self.diags.is_empty() {
            self.wrap_points_outside(&model);
        }
        found_endpoint.then_some(model)
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
}

struct Settings {
    timestep: Sym,
    ministeps: usize,
    integrator: Integrator,
    path_velocity: PathVelocity,
    gravity: [Sym; 3],
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
