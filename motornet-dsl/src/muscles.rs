//! Muscle models, written once as expression templates over the graph. Each model states its parameters
//! (with units and MotorNet's defaults), its state rows (MotorNet's layout), and three graph builders:
//! `ode` (state derivatives), `integrate` (advance the muscle state by one integration step) and `initial`
//! (the state right after reset). The equations are MotorNet 0.3.0's; the comments cite the source models.

use crate::expr::E;
use crate::model::Dim;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MuscleKind {
    /// Force = activation · max force.
    Relu,
    /// MuJoCo's piecewise-quadratic Hill muscle.
    MujocoHill,
    /// Rigid-tendon Hill muscle after Kistemaker et al. (2010).
    RigidTendonHill,
    /// Rigid-tendon Hill muscle after Thelen (2003).
    RigidTendonHillThelen,
    /// Compliant-tendon Hill muscle after Kistemaker et al. (2010); its fibre length is a state.
    CompliantTendonHill,
}

/// Every muscle parameter any model has. The equations read a parameter by this index
/// (`p[MuscleParam::MaxForce]`), never by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MuscleParam {
    MaxForce,
    OptimalLength,
    TendonLength,
    NormalizedSlackLength,
    Lmin,
    Lmax,
    Vmax,
    Fvmax,
    PassiveForces,
    MinActivation,
    TauActivation,
    TauDeactivation,
}

impl MuscleParam {
    const COUNT: usize = 12;
}

/// A bound a parameter's value must respect, checked at compile time and on every override:
/// `value > at` (or `≥` when not strict) when `above`, else `value < at` (or `≤`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub at: f64,
    pub above: bool,
    pub strict: bool,
    /// How the message ends: "`max_force` of `biceps` must " + "be positive".
    pub text: &'static str,
}

const POSITIVE: Limit = Limit {
    at: 0.0,
    above: true,
    strict: true,
    text: "be positive",
};
const NON_NEGATIVE: Limit = Limit {
    at: 0.0,
    above: true,
    strict: false,
    text: "not be negative",
};

/// A muscle parameter of a model: its name in `.mnet` files, dimension, default (None = required) and
/// limits.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub param: MuscleParam,
    pub name: &'static str,
    pub dim: Dim,
    pub default: Option<f64>,
    pub limits: &'static [Limit],
    pub doc: &'static str,
}

const fn required(
    param: MuscleParam,
    name: &'static str,
    dim: Dim,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        param,
        name,
        dim,
        default: None,
        limits: &[POSITIVE],
        doc,
    }
}
const fn optional(
    param: MuscleParam,
    name: &'static str,
    dim: Dim,
    default: f64,
    limits: &'static [Limit],
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        param,
        name,
        dim,
        default: Some(default),
        limits,
        doc,
    }
}

const MAX_FORCE: ParamSpec = required(
    MuscleParam::MaxForce,
    "max_force",
    Dim::FORCE,
    "maximal isometric force",
);
const OPTIMAL_LENGTH: ParamSpec = required(
    MuscleParam::OptimalLength,
    "optimal_length",
    Dim::LENGTH,
    "optimal fibre length",
);
const TENDON_LENGTH: ParamSpec = required(
    MuscleParam::TendonLength,
    "tendon_length",
    Dim::LENGTH,
    "tendon slack length",
);

const fn activation(min: f64, tau_act: f64, tau_deact: f64) -> [ParamSpec; 3] {
    [
        optional(
            MuscleParam::MinActivation,
            "min_activation",
            Dim::NONE,
            min,
            &[
                Limit {
                    text: "not be negative",
                    ..NON_NEGATIVE
                },
                Limit {
                    at: 1.0,
                    above: false,
                    strict: true,
                    text: "be below 1",
                },
            ],
            "lower bound of excitation and activation",
        ),
        optional(
            MuscleParam::TauActivation,
            "tau_activation",
            Dim::TIME,
            tau_act,
            &[POSITIVE],
            "activation time constant",
        ),
        optional(
            MuscleParam::TauDeactivation,
            "tau_deactivation",
            Dim::TIME,
            tau_deact,
            &[POSITIVE],
            "deactivation time constant",
        ),
    ]
}

const RELU_PARAMS: [ParamSpec; 4] = {
    let a = activation(0.0, 0.015, 0.05);
    [MAX_FORCE, a[0], a[1], a[2]]
};
const MUJOCO_PARAMS: [ParamSpec; 12] = {
    let a = activation(0.0, 0.01, 0.04);
    // MuJoCo's curves need lmin < 0.95 and 1 < lmax (the bumps' breakpoints) and fvmax > 1 (the
    // force–velocity curve divides by fvmax − 1).
    const ABOVE_ONE: Limit = Limit {
        at: 1.0,
        above: true,
        strict: true,
        text: "be above 1",
    };
    [
        MAX_FORCE,
        OPTIMAL_LENGTH,
        TENDON_LENGTH,
        optional(
            MuscleParam::NormalizedSlackLength,
            "normalized_slack_length",
            Dim::NONE,
            1.3,
            &[POSITIVE],
            "scale of the passive force (MuJoCo's fpmax); the passive force starts at the optimal length",
        ),
        optional(
            MuscleParam::Lmin,
            "lmin",
            Dim::NONE,
            0.5,
            &[
                POSITIVE,
                Limit {
                    at: 0.95,
                    above: false,
                    strict: true,
                    text: "be below 0.95",
                },
            ],
            "shortest normalized length producing active force",
        ),
        optional(
            MuscleParam::Lmax,
            "lmax",
            Dim::NONE,
            1.6,
            &[POSITIVE, ABOVE_ONE],
            "longest normalized length producing active force",
        ),
        optional(
            MuscleParam::Vmax,
            "vmax",
            Dim::SPEED,
            1.5,
            &[POSITIVE],
            "shortening velocity at which active force vanishes",
        ),
        optional(
            MuscleParam::Fvmax,
            "fvmax",
            Dim::NONE,
            1.2,
            &[POSITIVE, ABOVE_ONE],
            "force–velocity plateau when lengthening",
        ),
        optional(
            MuscleParam::PassiveForces,
            "passive_forces",
            Dim::NONE,
            1.0,
            &[],
            "scale of the passive element (0 disables it)",
        ),
        a[0],
        a[1],
        a[2],
    ]
};
const fn hill_params(slack: f64, min_act: f64) -> [ParamSpec; 7] {
    let a = activation(min_act, 0.015, 0.05);
    [
        MAX_FORCE,
        OPTIMAL_LENGTH,
        TENDON_LENGTH,
        optional(
            MuscleParam::NormalizedSlackLength,
            "normalized_slack_length",
            Dim::NONE,
            slack,
            &[POSITIVE],
            "passive-force onset, in optimal lengths",
        ),
        a[0],
        a[1],
        a[2],
    ]
}
const KISTEMAKER_PARAMS: [ParamSpec; 7] = hill_params(1.4, 0.001);
const THELEN_PARAMS: [ParamSpec; 7] = hill_params(1.0, 0.001);
const COMPLIANT_PARAMS: [ParamSpec; 7] = hill_params(1.4, 0.01);

const STATES_FORCE_TERMS: [&str; 7] = [
    "activation",
    "muscle length",
    "muscle velocity",
    "force-length PE",
    "force-length CE",
    "force-velocity CE",
    "force",
];

impl MuscleKind {
    pub const ALL: [MuscleKind; 5] = [
        MuscleKind::Relu,
        MuscleKind::MujocoHill,
        MuscleKind::RigidTendonHill,
        MuscleKind::RigidTendonHillThelen,
        MuscleKind::CompliantTendonHill,
    ];

    /// The name used in `.mnet` files (MotorNet's class name).
    pub fn name(self) -> &'static str {
        match self {
            MuscleKind::Relu => "ReluMuscle",
            MuscleKind::MujocoHill => "MujocoHillMuscle",
            MuscleKind::RigidTendonHill => "RigidTendonHillMuscle",
            MuscleKind::RigidTendonHillThelen => "RigidTendonHillMuscleThelen",
            MuscleKind::CompliantTendonHill => "CompliantTendonHillMuscle",
        }
    }

    pub fn from_name(name: &str) -> Option<MuscleKind> {
        MuscleKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn params(self) -> &'static [ParamSpec] {
        match self {
            MuscleKind::Relu => &RELU_PARAMS,
            MuscleKind::MujocoHill => &MUJOCO_PARAMS,
            MuscleKind::RigidTendonHill => &KISTEMAKER_PARAMS,
            MuscleKind::RigidTendonHillThelen => &THELEN_PARAMS,
            MuscleKind::CompliantTendonHill => &COMPLIANT_PARAMS,
        }
    }

    /// Rows of the muscle state, in MotorNet's order.
    pub fn state_names(self) -> &'static [&'static str] {
        match self {
            MuscleKind::Relu => &["activation", "muscle length", "muscle velocity", "force"],
            MuscleKind::CompliantTendonHill => &[
                "activation",
                "muscle length",
                "muscle velocity",
                "force-length PE",
                "force-length SE",
                "active force",
                "force",
            ],
            _ => &STATES_FORCE_TERMS,
        }
    }

    /// Row of the muscle state holding the force applied to the skeleton.
    pub fn force_row(self) -> usize {
        self.state_names().len() - 1
    }

    /// MotorNet's normalizers of proprioception: (muscle length scale, muscle velocity scale) — its
    /// `l0_ce` and `vmax` — so that observations are lengths in optimal lengths and velocities in units of
    /// the maximal contraction velocity.
    pub fn normalizers<'a>(self, p: &Params<'a>) -> (E<'a>, E<'a>) {
        match self {
            MuscleKind::Relu => {
                let one = p.get(MuscleParam::MaxForce).builder().c(1.0);
                (one, one)
            }
            MuscleKind::MujocoHill => (p.get(MuscleParam::OptimalLength), p.get(MuscleParam::Vmax)),
            _ => (
                p.get(MuscleParam::OptimalLength),
                10.0 * p.get(MuscleParam::OptimalLength),
            ),
        }
    }

    /// Number of rows of the state derivative (activation, plus fibre velocity for the compliant tendon).
    pub fn ode_rows(self) -> usize {
        if self == MuscleKind::CompliantTendonHill {
            2
        } else {
            1
        }
    }
}

/// The values of one muscle's parameters, as graph nodes, indexed by [`MuscleParam`].
pub struct Params<'a> {
    pub kind: MuscleKind,
    values: [Option<E<'a>>; MuscleParam::COUNT],
}

impl<'a> std::ops::Index<MuscleParam> for Params<'a> {
    type Output = E<'a>;
    fn index(&self, p: MuscleParam) -> &E<'a> {
        self.values[p as usize]
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no parameter {p:?}", self.kind.name()))
    }
}

impl<'a> Params<'a> {
    /// `values` in the order of `kind.params()`.
    pub fn new(kind: MuscleKind, values: impl IntoIterator<Item = E<'a>>) -> Self {
        let mut by_param = [None; MuscleParam::COUNT];
        for (spec, v) in kind.params().iter().zip(values) {
            by_param[spec.param as usize] = Some(v);
        }
        Params {
            kind,
            values: by_param,
        }
    }

    fn get(&self, p: MuscleParam) -> E<'a> {
        self[p]
    }

    /// Excitations and activations are confined to [min_activation, 1].
    pub fn clip_activation(&self, x: E<'a>) -> E<'a> {
        x.clamp(self.get(MuscleParam::MinActivation), 1.0)
    }

    /// da/dt = (u − a)/τ, τ = τ_act·(0.5 + 1.5a) when rising, τ_deact/(0.5 + 1.5a) when falling.
    fn activation_ode(&self, excitation: E<'a>, activation: E<'a>) -> E<'a> {
        let u = self.clip_activation(excitation);
        let a = self.clip_activation(activation);
        let f = 0.5 + 1.5 * a;
        // Written so that the falling branch needs no division (τ_deact is a parameter).
        let rising = u.gt(a);
        rising.select(
            (u - a) / (self.get(MuscleParam::TauActivation) * f),
            (u - a) * f / self.get(MuscleParam::TauDeactivation),
        )
    }
}

/// The Kistemaker et al. (2010) Hill-model constants MotorNet uses.
mod kistemaker {
    pub const S_AS: f64 = 0.001;
    pub const F_ISO_N_DEN: f64 = 0.66 * 0.66;
    pub const K_SE: f64 = 1.0 / (0.04 * 0.04);
    pub const Q_CRIT: f64 = 0.3;
    pub const MIN_FLCE: f64 = 0.01;
}

impl MuscleKind {
    /// State derivative rows: [da/dt] (or [da/dt, normalized fibre velocity] for the compliant tendon).
    pub fn ode<'a>(self, p: &Params<'a>, excitation: E<'a>, state: &[E<'a>]) -> Vec<E<'a>> {
        let da = p.activation_ode(excitation, state[0]);
        if self != MuscleKind::CompliantTendonHill {
            return vec![da];
        }
        let lm_n = state[1] / p.get(MuscleParam::OptimalLength);
        vec![da, compliant_fibre_velocity(lm_n, state[0], state[5])]
    }

    /// Advances the muscle state by `h` with derivative `d`, using the musculotendon length and velocity of
    /// the geometry the step started from (MotorNet's order of updates).
    pub fn integrate<'a>(
        self,
        p: &Params<'a>,
        h: E<'a>,
        d: &[E<'a>],
        state: &[E<'a>],
        len: E<'a>,
        vel: E<'a>,
    ) -> Vec<E<'a>> {
        let act = p.clip_activation(state[0] + d[0] * h);
        let fmax = p.get(MuscleParam::MaxForce);
        match self {
            MuscleKind::Relu => vec![act, len, vel, act * fmax],
            MuscleKind::MujocoHill => mujoco_state(p, act, len, vel),
            MuscleKind::RigidTendonHill => kistemaker_rigid_state(p, act, len, vel),
            MuscleKind::RigidTendonHillThelen => thelen_state(p, act, len, vel),
            MuscleKind::CompliantTendonHill => {
                // Force terms from the fibre length the step started from; then the fibre length advances.
                let l0_ce = p.get(MuscleParam::OptimalLength);
                let (flpe, flse, active) = compliant_forces(p, state[1], len, false);
                let new_len = (state[1] / l0_ce + h * d[1]) * l0_ce;
                let fibre_vel = d[1] * (10.0 * l0_ce);
                vec![act, new_len, fibre_vel, flpe, flse, active, flse * fmax]
            }
        }
    }

    /// The muscle state right after reset: activation at its minimum, forces from the initial geometry.
    /// `h` is the time step MotorNet's muscle was built with (the compliant fibre length advances by it).
    pub fn initial<'a>(self, p: &Params<'a>, h: E<'a>, len: E<'a>, vel: E<'a>) -> Vec<E<'a>> {
        let b = len.builder();
        let amin = p.get(MuscleParam::MinActivation);
        let zero = b.c(0.0);
        match self {
            MuscleKind::Relu => vec![amin, len, vel, zero],
            MuscleKind::CompliantTendonHill => {
                let (l0_ce, l0_se) = (
                    p.get(MuscleParam::OptimalLength),
                    p.get(MuscleParam::TendonLength),
                );
                let l0_pe = p.get(MuscleParam::NormalizedSlackLength) * l0_ce;
                let k_pe = compliant_k_pe(p);
                let k_se = kistemaker::K_SE;
                // Fibre length at which tendon and parallel element are in equilibrium (MotorNet's closed form).
                let equilibrium = (k_pe * l0_pe * l0_se * l0_se - k_se * l0_ce * l0_ce * len
                    + k_se * l0_ce * l0_ce * l0_se
                    - l0_ce * l0_se * (k_pe * k_se).sqrt() * (-len + l0_pe + l0_se))
                    / (k_pe * l0_se * l0_se - k_se * l0_ce * l0_ce);
                let lm = len.lt(0.0).select(
                    -1.0,
                    len.lt(l0_se).select(
                        0.001 * l0_ce,
                        len.lt(l0_se + l0_pe).select(len - l0_se, equilibrium),
                    ),
                );
                let (_, _, active) = compliant_forces(p, lm, len, true);
                let v = compliant_fibre_velocity(lm / l0_ce, amin, active);
                self.integrate(p, h, &[zero, v], &[amin, lm], len, vel)
            }
            _ => self.integrate(p, h, &[zero], &[amin], len, vel),
        }
    }
}

/// A muscle's forces at one operating point, from its model's own equations (see [`muscle_terms`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MuscleTerms {
    /// Fibre length (m); for the ReLU muscle, which has no fibre, the musculotendon length.
    pub fibre_length: f64,
    /// Passive force, in units of the maximal isometric force.
    pub passive: f64,
    /// Active force (activation × force–length × force–velocity), in units of the maximal force.
    pub active: f64,
    /// Total force (N).
    pub force: f64,
}

/// The forces of a muscle of `kind` at activation `act` (clipped to `[min_activation, 1]`),
/// musculotendon length `len` (m) and lengthening velocity `vel` (m/s), with its parameters at `params`
/// (in the order of `kind.params()`): the model's own state equations, folded to numbers. The compliant
/// tendon's fibre length is a state of its own; for it these are the forces of its fibre (the same
/// Kistemaker contractile and parallel elements) at fibre length `len − tendon_length`, as if its tendon
/// were rigid.
///
/// # Panics
///
/// If `params` has fewer values than `kind.params()`.
pub fn muscle_terms(kind: MuscleKind, params: &[f64], act: f64, len: f64, vel: f64) -> MuscleTerms {
    let b = crate::expr::Builder::default();
    let specs = kind.params();
    let p = Params::new(kind, params[..specs.len()].iter().map(|&v| b.c(v)));
    let (a, l, v) = (b.c(act), b.c(len), b.c(vel));
    let rows = match kind {
        MuscleKind::CompliantTendonHill => kistemaker_rigid_state(&p, p.clip_activation(a), l, v),
        _ => kind.integrate(&p, b.c(0.0), &[b.c(0.0)], &[a], l, v),
    };
    let value = |e: E| {
        b.with(|g| g.const_value(e.id))
            .expect("an expression of constants folds to a constant")
    };
    let r: Vec<f64> = rows.into_iter().map(value).collect();
    let fmax = value(p.get(MuscleParam::MaxForce));
    let force = r[r.len() - 1];
    let active = match kind {
        MuscleKind::Relu => force / fmax,
        MuscleKind::RigidTendonHill | MuscleKind::CompliantTendonHill => r[5],
        MuscleKind::MujocoHill | MuscleKind::RigidTendonHillThelen => r[0] * r[4] * r[5],
    };
    MuscleTerms {
        fibre_length: r[1],
        passive: force / fmax - active,
        active,
        force,
    }
}

fn mujoco_state<'a>(p: &Params<'a>, act: E<'a>, len: E<'a>, vel: E<'a>) -> Vec<E<'a>> {
    let (l0_ce, l0_se, l0_pe) = (
        p.get(MuscleParam::OptimalLength),
        p.get(MuscleParam::TendonLength),
        p.get(MuscleParam::NormalizedSlackLength),
    );
    let (lmin, lmax, vmax, fvmax) = (
        p.get(MuscleParam::Lmin),
        p.get(MuscleParam::Lmax),
        p.get(MuscleParam::Vmax),
        p.get(MuscleParam::Fvmax),
    );
    let knee = 0.5 * (1.0 + lmax);
    let c = fvmax - 1.0;
    let p1 = knee - 1.0;
    let p2 = 0.25 * l0_pe;
    let mid = 0.5 * (lmin + 0.95);
    let l = (len - l0_se).clamp_min(0.001) / l0_ce;
    let v = vel / vmax;
    let x = l
        .le(1.0)
        .select(0.0, l.le(knee).select((l - 1.0) / p1, (l - knee) / p1));
    let flpe = l
        .le(1.0)
        .select(0.0, l.le(knee).select(p2 * x.powi(3), p2 * (1.0 + 3.0 * x)));
    let b = l.builder();
    let flce = mujoco_bump(l, lmin, b.c(1.0), lmax) + 0.15 * mujoco_bump(l, lmin, mid, b.c(0.95));
    let fvce = v.le(-1.0).select(
        0.0,
        v.le(0.0).select(
            (v + 1.0) * (v + 1.0),
            v.le(c).select(fvmax - (c - v) * (c - v) / c, fvmax),
        ),
    );
    let force = (act * flce * fvce + p.get(MuscleParam::PassiveForces) * flpe)
        * p.get(MuscleParam::MaxForce);
    vec![act, l * l0_ce, v * vmax, flpe, flce, fvce, force]
}

/// MuJoCo's smooth bump: 0 outside (lmin, lmax), quadratic pieces meeting at 1 at `mid`.
fn mujoco_bump<'a>(l: E<'a>, lmin: E<'a>, mid: E<'a>, lmax: E<'a>) -> E<'a> {
    let left = 0.5 * (lmin + mid);
    let right = 0.5 * (mid + lmax);
    let outside = l.le(lmin).or(l.ge(lmax));
    let (below_left, below_mid, below_right) = (l.lt(left), l.lt(mid), l.lt(right));
    let x = outside.select(
        0.0,
        below_left.select(
            (l - lmin) / (left - lmin),
            below_mid.select(
                (mid - l) / (mid - left),
                below_right.select((l - mid) / (right - mid), (lmax - l) / (lmax - right)),
            ),
        ),
    );
    let half_sq = 0.5 * x * x;
    let one_minus = 1.0 - half_sq;
    outside.select(
        0.0,
        below_left.select(
            half_sq,
            below_mid.select(one_minus, below_right.select(one_minus, half_sq)),
        ),
    )
}

fn kistemaker_rigid_state<'a>(p: &Params<'a>, act: E<'a>, len: E<'a>, vel: E<'a>) -> Vec<E<'a>> {
    use kistemaker::*;
    let (l0_ce, l0_se) = (
        p.get(MuscleParam::OptimalLength),
        p.get(MuscleParam::TendonLength),
    );
    let l0_pe = p.get(MuscleParam::NormalizedSlackLength) * l0_ce;
    let k_pe = 1.0 / (1.66 - l0_pe / l0_ce).powi(2);
    let vmax = 10.0 * l0_ce;
    let lm = (len - l0_se).clamp_min(0.0);
    let strain = ((lm - l0_pe) / l0_ce).clamp_min(0.0);
    let lm_n = lm / l0_ce;
    let v_n = vel / vmax;
    let flpe = k_pe * strain.powi(2);
    let flce = (1.0 + (-lm_n.powi(2) + 2.0 * lm_n - 1.0) / F_ISO_N_DEN).clamp_min(MIN_FLCE);
    let a_rel = lm_n.gt(1.0).select(0.41 * flce, 0.41);
    let b_rel = act.lt(Q_CRIT).select(
        5.2 * (1.0 - 0.9 * ((act - Q_CRIT) / (5e-3 - Q_CRIT))).powi(2),
        5.2,
    );
    let dfdvcon0 = act * (flce + a_rel) / b_rel;
    let f_x_a = flce * act;
    let p_nom = f_x_a * 0.5;
    let inv_p_den = 1.0 / (S_AS - dfdvcon0 * 2.0);
    let p1 = -p_nom * inv_p_den;
    let p2 = p_nom.powi(2) * inv_p_den;
    let p3 = -1.5 * f_x_a;
    let shortening = v_n.lt(0.0);
    let nom = shortening.select(
        v_n * act * a_rel + f_x_a * b_rel,
        -p1 * p3 + p1 * S_AS * v_n + p2 - p3 * v_n + S_AS * v_n.powi(2),
    );
    let den = shortening.select(b_rel - v_n, p1 + v_n);
    let active = (nom / den).clamp_min(0.0);
    let force = (active + flpe) * p.get(MuscleParam::MaxForce);
    vec![act, lm, vel, flpe, flce, active, force]
}

fn thelen_state<'a>(p: &Params<'a>, act: E<'a>, len: E<'a>, vel: E<'a>) -> Vec<E<'a>> {
    // Thelen (2003): exponential passive element (strain 0.6 at max force), Gaussian active force–length.
    const PE_K: f64 = 5.0;
    const GAMMA: f64 = 0.45;
    const AF: f64 = 0.25;
    const FMLEN: f64 = 1.4;
    let (l0_ce, l0_se) = (
        p.get(MuscleParam::OptimalLength),
        p.get(MuscleParam::TendonLength),
    );
    let l0_pe = p.get(MuscleParam::NormalizedSlackLength) * l0_ce;
    let vmax = 10.0 * l0_ce;
    let ce_0 = 3.0 * vmax;
    let ce_1 = AF * vmax;
    let ce_2 = 3.0 * AF * vmax * FMLEN - 3.0 * AF * vmax;
    let ce_3 = 8.0 * AF * FMLEN + 8.0 * FMLEN;
    let ce_4 = AF * FMLEN * vmax - ce_1;
    let ce_5 = 8.0 * (AF + 1.0);
    let lm = (len - l0_se).clamp_min(0.001);
    let a3 = act * 3.0;
    let shortening = vel.le(0.0);
    let nom = shortening.select(
        AF * (act * ce_0 + 4.0 * vel + vmax),
        ce_2 * act + ce_3 * vel + ce_4,
    );
    let den = shortening.select(a3 * ce_1 + ce_1 - 4.0 * vel, ce_4 * a3 + ce_5 * vel + ce_4);
    let fvce = (nom / den).clamp_min(0.0);
    let flpe = (((PE_K / 0.6) * (lm - l0_pe) / l0_ce).exp() - 1.0) / (PE_K.exp() - 1.0);
    let flpe = flpe.clamp_min(0.0);
    let flce = (-(lm / l0_ce - 1.0).powi(2) / GAMMA).exp();
    let force = (act * flce * fvce + flpe) * p.get(MuscleParam::MaxForce);
    vec![act, lm, vel, flpe, flce, fvce, force]
}

fn compliant_k_pe<'a>(p: &Params<'a>) -> E<'a> {
    1.0 / (1.66 - p.get(MuscleParam::NormalizedSlackLength)).powi(2)
}

/// Tendon (series) and parallel element forces of the compliant muscle for fibre length `lm` within a
/// musculotendon of length `len`; returns (f_PE, f_SE, active force = f_SE − f_PE ≥ 0).
/// At reset MotorNet additionally caps f_PE at 1 (`cap_pe`).
fn compliant_forces<'a>(
    p: &Params<'a>,
    lm: E<'a>,
    len: E<'a>,
    cap_pe: bool,
) -> (E<'a>, E<'a>, E<'a>) {
    let (l0_ce, l0_se) = (
        p.get(MuscleParam::OptimalLength),
        p.get(MuscleParam::TendonLength),
    );
    let l0_pe = p.get(MuscleParam::NormalizedSlackLength) * l0_ce;
    let tendon_strain = ((len - lm - l0_se) / l0_se).clamp_min(0.0);
    let fibre_strain = ((lm - l0_pe) / l0_ce).clamp_min(0.0);
    let flse = (kistemaker::K_SE * tendon_strain.powi(2)).clamp_max(1.0);
    let flpe = compliant_k_pe(p) * fibre_strain.powi(2);
    let flpe = if cap_pe { flpe.clamp_max(1.0) } else { flpe };
    (flpe, flse, (flse - flpe).clamp_min(0.0))
}

/// Normalized fibre velocity that makes the contractile element produce `active` force (the inverse of the
/// Kistemaker force–velocity relation).
fn compliant_fibre_velocity<'a>(lm_n: E<'a>, act: E<'a>, active: E<'a>) -> E<'a> {
    use kistemaker::*;
    let flce = (1.0 + (-lm_n.powi(2) + 2.0 * lm_n - 1.0) / F_ISO_N_DEN).clamp_min(MIN_FLCE);
    // MotorNet 0.3.0 uses 0.41·f_lce *below* optimal length here (the rigid version: above). Kept for parity.
    let a_rel = lm_n.lt(1.0).select(0.41 * flce, 0.41);
    let b_rel = act.lt(Q_CRIT).select(
        5.2 * (1.0 - 0.9 * ((act - Q_CRIT) / (5e-3 - Q_CRIT))).powi(2),
        5.2,
    );
    let f_x_a = flce * act;
    let dfdvcon0 = (f_x_a + act * a_rel) / b_rel;
    let den0 = S_AS - dfdvcon0 * 2.0;
    let p1 = -f_x_a * 0.5 / den0;
    let p3 = -1.5 * f_x_a;
    let p2_term = (4.0 * (f_x_a * 0.5).powi(2) * -S_AS) / den0;
    let disc = active.powi(2)
        + 2.0 * active * p1 * S_AS
        + 2.0 * active * p3
        + p1.powi(2) * (S_AS * S_AS)
        + 2.0 * p1 * p3 * S_AS
        + p2_term
        + p3.powi(2);
    let disc = disc.clamp_min(0.0);
    let concentric = active.lt(f_x_a);
    let nom = concentric.select(
        b_rel * (active - f_x_a),
        -active + p1 * S_AS - p3 - disc.sqrt(),
    );
    let den = concentric.select(active + act * a_rel, -2.0 * S_AS);
    nom / den
}
