//! Properties of a block: splitting by name, single values, words, and the model's settings.

use super::*;

impl<'a> Checker<'a> {
    /// Splits a block's properties by name, reporting unknown and repeated ones.
    pub(super) fn properties(
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
    pub(super) fn split_missing_semicolons(
        &mut self,
        p: &Property,
        allowed: &[&str],
    ) -> Vec<Property> {
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
    pub(super) fn is_known_name(&self, name: &str) -> bool {
        name == "pi"
            || self.consts.contains_key(name)
            || self.decls.contains_key(name)
            || self
                .coords_in_scope
                .as_ref()
                .is_some_and(|c| c.contains_key(name))
    }

    /// The one value of a property, or an error.
    pub(super) fn single<'p>(&mut self, p: &'p Property) -> Option<&'p Value> {
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

    pub(super) fn word<'p>(&mut self, p: &'p Property, choices: &[&str]) -> Option<&'p Ident> {
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

    pub(super) fn settings(&mut self, ast: &'a ast::Model) -> Settings {
        const ALLOWED: [&str; 7] = [
            "dimensions",
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
            gravity: [Sym::Num(0.0), Sym::Num(0.0), Sym::Num(0.0)],
            endpoint: None,
        };
        // First: every vector of the model is read with this many components.
        if let Some(p) = props.get("dimensions") {
            if let Some(v) = self.single(p) {
                match whole_number(v) {
                    Some(n) if n == 2.0 || n == 3.0 => self.space_dim = n as usize,
                    _ => self.error(
                        Diagnostic::new(
                            "invalid-value",
                            "`dimensions` must be 2 (a planar model) or 3 (a spatial one)",
                            v.span(),
                            "not 2 or 3",
                        )
                        .with_help("write `dimensions 3;`"),
                    ),
                }
            }
        }
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
                match whole_number(v) {
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
                if s.path_velocity == PathVelocity::Motornet && self.space_dim == 3 {
                    self.error(Diagnostic::new(
                        "spatial-only",
                        "`path_velocity motornet` reproduces MotorNet's planar arm; spatial models use `exact`",
                        w.span,
                        "planar models only",
                    ));
                }
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
}

/// A number written without a unit (`ministeps 4`, `dimensions 3`), if the value is one.
fn whole_number(v: &Value) -> Option<f64> {
    match v {
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
    }
}
