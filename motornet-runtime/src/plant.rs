//! The plant trait: what every effector model offers, whether compiled by `model!` or interpreted.

use crate::batch;
use crate::error::Error;
pub use crate::units::Dim;

/// Static description of a plant: names and layouts of its vectors (MotorNet's layout).
#[derive(Clone, Debug, PartialEq)]
pub struct PlantInfo {
    pub name: String,
    /// Generalized coordinates (hinge joints by name, slide joints as `joint.x`, `joint.y`).
    pub coord_names: Vec<String>,
    pub muscle_names: Vec<String>,
    /// The muscle model's name (`None` for a model without muscles).
    pub muscle_model: Option<String>,
    pub muscle_state_names: Vec<String>,
    pub geometry_state_names: Vec<String>,
    pub params: Vec<ParamInfo>,
    pub integrator: String,
    pub ministeps: usize,
    /// 2 for a planar model, 3 for a spatial one: the length of the endpoint position, velocity and force.
    pub space_dim: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    /// The value written in the model file, in SI units.
    pub default: f64,
    /// Physical dimension (its SI unit is `dim.si_unit()`).
    pub dim: Dim,
}

impl PlantInfo {
    #[inline]
    pub fn dof(&self) -> usize {
        self.coord_names.len()
    }
    #[inline]
    pub fn n_muscles(&self) -> usize {
        self.muscle_names.len()
    }
    /// Size of the joint state: positions then velocities.
    #[inline]
    pub fn joint_dim(&self) -> usize {
        2 * self.dof()
    }
    /// Offset and length of a named part of the state vector: `joint`, `muscle`, `geometry`, `cartesian`.
    pub fn part(&self, name: &str) -> Option<(usize, usize)> {
        self.parts()
            .into_iter()
            .find(|p| p.0 == name)
            .map(|p| (p.1, p.2))
    }
    /// The parts of the state vector, in order, as (name, offset, length). This is the one description of
    /// the state layout: the compiler lowers the model against it, and every reader of states uses it.
    #[inline]
    pub fn parts(&self) -> [(&'static str, usize, usize); 4] {
        let j = self.joint_dim();
        let m = self.muscle_state_names.len() * self.n_muscles();
        let g = self.geometry_state_names.len() * self.n_muscles();
        [
            ("joint", 0, j),
            ("muscle", j, m),
            ("geometry", j + m, g),
            ("cartesian", j + m + g, 2 * self.space_dim),
        ]
    }
    fn range_of(&self, k: usize) -> std::ops::Range<usize> {
        let (_, at, len) = self.parts()[k];
        at..at + len
    }
    /// Joint positions then velocities.
    #[inline]
    pub fn joint(&self) -> std::ops::Range<usize> {
        self.range_of(0)
    }
    /// Muscle states, `muscle_state_names.len()` rows × muscles, row-major.
    #[inline]
    pub fn muscle(&self) -> std::ops::Range<usize> {
        self.range_of(1)
    }
    /// Path geometry (length, velocity, dL/dq per coordinate), rows × muscles, row-major.
    #[inline]
    pub fn geometry(&self) -> std::ops::Range<usize> {
        self.range_of(2)
    }
    /// Endpoint position then velocity: `[x, y, vx, vy]`, or `[x, y, z, vx, vy, vz]` in a spatial model.
    #[inline]
    pub fn cartesian(&self) -> std::ops::Range<usize> {
        self.range_of(3)
    }
    /// The state index of component `k` of the endpoint in the spatial layout `[x, y, z, vx, vy, vz]`
    /// (what tasks and the loss read, [`PlantInfo::endpoint`]); `None` for `z` and `vz` of a planar model.
    #[inline]
    pub fn endpoint_index(&self, k: usize) -> Option<usize> {
        let d = self.space_dim;
        let (axis, velocity) = (k % 3, k / 3);
        (k < 6 && axis < d).then(|| self.cartesian().start + velocity * d + axis)
    }
    /// The endpoint of `state` as `[x, y, z, vx, vy, vz]`: the cartesian part of a spatial model, that
    /// of a planar model with `z = vz = 0`.
    pub fn endpoint(&self, state: &[f64]) -> [f64; 6] {
        std::array::from_fn(|k| self.endpoint_index(k).map_or(0.0, |i| state[i]))
    }
    #[inline]
    pub fn state_dim(&self) -> usize {
        self.cartesian().end
    }
    /// Controls of one step: excitations, endpoint force (`space_dim` components), joint loads.
    #[inline]
    pub fn control_dim(&self) -> usize {
        self.n_muscles() + self.space_dim + self.dof()
    }
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
    /// The error for a parameter name this plant does not have, with the closest name it does have.
    pub fn unknown_param(&self, name: &str) -> Error {
        let names = self.params.iter().map(|p| p.name.as_str());
        Error::UnknownParam {
            name: name.to_string(),
            suggestion: crate::suggest::suggest(name, names).map(str::to_string),
        }
    }
}

/// Position and velocity limits of one coordinate (±∞ when unbounded).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub lower: f64,
    pub upper: f64,
    pub vel_lower: f64,
    pub vel_upper: f64,
}

/// Scratch memory a plant needs to evaluate (the interpreter's registers; empty for compiled plants).
/// Create one per thread with [`Plant::workspace`].
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pub buffers: Vec<Vec<f64>>,
    /// Which parameter set the buffers were prepared for (plants refresh stale workspaces).
    pub generation: u64,
    /// One effector's state, controls and next state, unpacked from a block by the default
    /// [`Plant::step_batch`].
    pub rows: Vec<f64>,
}

/// An effector model: reset and step one effector at a time, on flat `f64` vectors laid out as
/// [`PlantInfo::parts`] describes. [`crate::Effector`] runs batches of them.
///
/// **Checked and unchecked entry points.** [`Plant::reset`], [`Plant::step`], [`Plant::step_batch`],
/// [`Plant::step_vjp`], [`Plant::step_jvp`] and [`Plant::step_jacobian`] check the length of every vector
/// they are given and return [`Error::Shape`] (naming the function and the argument, with the expected
/// and the given length) before computing anything; every backend behaves the same. They call the
/// `*_unchecked` methods, which implementations provide and which may assume the lengths are right: given
/// wrong lengths they may panic or compute garbage (never undefined behaviour). Callers that size their own
/// buffers from [`PlantInfo`] (such as [`crate::Effector`]'s batched step) may call them directly.
pub trait Plant: Send + Sync {
    fn info(&self) -> &PlantInfo;

    /// Current parameter values, in the order of [`PlantInfo::params`].
    fn params(&self) -> &[f64];

    /// Replaces all parameter values, after checking the model's constraints (positive masses, ordered
    /// ranges, …). On error nothing changes.
    fn set_params(&mut self, values: &[f64]) -> Result<(), Error>;

    /// Joint limits at the current parameter values.
    fn bounds(&self) -> &[Bounds];

    /// The integration time step in seconds at the current parameter values.
    fn timestep(&self) -> f64;

    /// Per muscle, MotorNet's proprioception normalizers `[l0_ce, vmax]`: observed muscle lengths are
    /// `length / l0_ce` and velocities `velocity / vmax`.
    fn muscle_normalizers(&self) -> &[[f64; 2]];

    fn workspace(&self) -> Workspace;

    /// [`Plant::reset`] without the length checks.
    fn reset_unchecked(&self, ws: &mut Workspace, joint: &[f64], state: &mut [f64]);

    /// [`Plant::step`] without the length checks.
    fn step_unchecked(&self, ws: &mut Workspace, state: &[f64], controls: &[f64], next: &mut [f64]);

    /// [`Plant::step_batch`] without the length checks (`states.len()` a multiple of the state size and
    /// the other lengths matching). The default unpacks one effector at a time and calls
    /// [`Plant::step_unchecked`]; compiled plants step a block of four per SIMD instruction.
    fn step_batch_unchecked(
        &self,
        ws: &mut Workspace,
        states: &[f64],
        controls: &[f64],
        next: &mut [f64],
    ) {
        let info = self.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        let n = states.len() / s;
        let mut rows = std::mem::take(&mut ws.rows);
        rows.resize(2 * s + c, 0.0);
        let (x, rest) = rows.split_at_mut(s);
        let (u, y) = rest.split_at_mut(c);
        for b in 0..n {
            batch::read_row(states, n, b, x);
            batch::read_row(controls, n, b, u);
            self.step_unchecked(ws, x, u, y);
            batch::write_row(next, n, b, y);
        }
        ws.rows = rows;
    }

    /// [`Plant::step_vjp`] without the length checks.
    fn step_vjp_unchecked(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
        next_cotangent: &[f64],
        state_cotangent: &mut [f64],
        controls_cotangent: &mut [f64],
    );

    /// [`Plant::step_jvp`] without the length checks.
    fn step_jvp_unchecked(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
        state_tangent: &[f64],
        controls_tangent: &[f64],
        next_tangent: &mut [f64],
    );

    /// The full state right after reset from `joint` (positions then velocities).
    fn reset(&self, ws: &mut Workspace, joint: &[f64], state: &mut [f64]) -> Result<(), Error> {
        let info = self.info();
        expect_len("reset", "joint", joint.len(), info.joint_dim())?;
        expect_len("reset", "state", state.len(), info.state_dim())?;
        self.reset_unchecked(ws, joint, state);
        Ok(())
    }

    /// One step: `controls` = excitations, endpoint force, joint loads (see [`PlantInfo::control_dim`]).
    fn step(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
        next: &mut [f64],
    ) -> Result<(), Error> {
        let info = self.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        expect_len("step", "state", state.len(), s)?;
        expect_len("step", "controls", controls.len(), c)?;
        expect_len("step", "next", next.len(), s)?;
        self.step_unchecked(ws, state, controls, next);
        Ok(())
    }

    /// Steps `n` effectors whose states (`n × state_dim`) and controls (`n × control_dim`) are in the
    /// [batch layout](crate::batch): blocks of four effectors interleaved component by component, then
    /// the remaining effectors as rows. Compiled plants step a block per SIMD instruction. `n` is
    /// `states.len() / state_dim`, which must divide evenly.
    fn step_batch(
        &self,
        ws: &mut Workspace,
        states: &[f64],
        controls: &[f64],
        next: &mut [f64],
    ) -> Result<(), Error> {
        let info = self.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        if !states.len().is_multiple_of(s) {
            return Err(Error::Input(format!(
                "step_batch: `states` has {} values, not a whole number of states of {s} values",
                states.len()
            )));
        }
        let n = states.len() / s;
        expect_len("step_batch", "controls", controls.len(), n * c)?;
        expect_len("step_batch", "next", next.len(), n * s)?;
        self.step_batch_unchecked(ws, states, controls, next);
        Ok(())
    }

    /// Reverse mode (a vector–Jacobian product of one step): given the cotangent of the next state, write
    /// the cotangents of `state` and `controls`. Non-smooth points follow PyTorch's conventions.
    fn step_vjp(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
        next_cotangent: &[f64],
        state_cotangent: &mut [f64],
        controls_cotangent: &mut [f64],
    ) -> Result<(), Error> {
        let info = self.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        expect_len("step_vjp", "state", state.len(), s)?;
        expect_len("step_vjp", "controls", controls.len(), c)?;
        expect_len("step_vjp", "next_cotangent", next_cotangent.len(), s)?;
        expect_len("step_vjp", "state_cotangent", state_cotangent.len(), s)?;
        expect_len(
            "step_vjp",
            "controls_cotangent",
            controls_cotangent.len(),
            c,
        )?;
        self.step_vjp_unchecked(
            ws,
            state,
            controls,
            next_cotangent,
            state_cotangent,
            controls_cotangent,
        );
        Ok(())
    }

    /// Forward mode (a Jacobian–vector product of one step): the tangent of the next state given tangents
    /// of `state` and `controls`.
    fn step_jvp(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
        state_tangent: &[f64],
        controls_tangent: &[f64],
        next_tangent: &mut [f64],
    ) -> Result<(), Error> {
        let info = self.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        expect_len("step_jvp", "state", state.len(), s)?;
        expect_len("step_jvp", "controls", controls.len(), c)?;
        expect_len("step_jvp", "state_tangent", state_tangent.len(), s)?;
        expect_len("step_jvp", "controls_tangent", controls_tangent.len(), c)?;
        expect_len("step_jvp", "next_tangent", next_tangent.len(), s)?;
        self.step_jvp_unchecked(
            ws,
            state,
            controls,
            state_tangent,
            controls_tangent,
            next_tangent,
        );
        Ok(())
    }

    /// The full Jacobian of one step, `state_dim × (state_dim + control_dim)`, row-major: column `k < S` is
    /// `∂next/∂state[k]`, column `S + k` is `∂next/∂controls[k]`. Built from forward-mode products.
    fn step_jacobian(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
    ) -> Result<Vec<f64>, Error> {
        let info = self.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        expect_len("step_jacobian", "state", state.len(), s)?;
        expect_len("step_jacobian", "controls", controls.len(), c)?;
        let mut jac = vec![0.0; s * (s + c)];
        let mut ts = vec![0.0; s];
        let mut tc = vec![0.0; c];
        let mut col = vec![0.0; s];
        for k in 0..s + c {
            ts.fill(0.0);
            tc.fill(0.0);
            if k < s {
                ts[k] = 1.0;
            } else {
                tc[k - s] = 1.0;
            }
            self.step_jvp_unchecked(ws, state, controls, &ts, &tc, &mut col);
            for (i, v) in col.iter().enumerate() {
                jac[i * (s + c) + k] = *v;
            }
        }
        Ok(jac)
    }

    /// Sets parameters from `name=value` overrides, values with optional units (`shoulder.range.max=120 deg`).
    fn apply_overrides(&mut self, overrides: &[String]) -> Result<(), Error> {
        let mut values = self.params().to_vec();
        for o in overrides {
            let (name, text) = o.split_once('=').ok_or_else(|| {
                Error::Input(format!("`{o}` is not an override: write `name=value`"))
            })?;
            let name = name.trim();
            let i = self
                .info()
                .param_index(name)
                .ok_or_else(|| self.info().unknown_param(name))?;
            values[i] = crate::units::parse_quantity(text, self.info().params[i].dim)
                .map_err(|e| Error::Input(format!("`{o}`: {e}")))?;
        }
        self.set_params(&values)
    }

    /// Sets one parameter by name.
    fn set_param(&mut self, name: &str, value: f64) -> Result<(), Error> {
        let i = self
            .info()
            .param_index(name)
            .ok_or_else(|| self.info().unknown_param(name))?;
        let mut values = self.params().to_vec();
        values[i] = value;
        self.set_params(&values)
    }
}

/// The error of an entry point given a vector of the wrong length.
/// Inlined into every checked entry point, with the error built out of line: a step of one effector takes
/// about 100 ns, and the checks must not show in it.
#[inline(always)]
fn expect_len(function: &str, argument: &str, got: usize, expected: usize) -> Result<(), Error> {
    if got == expected {
        Ok(())
    } else {
        Err(wrong_len(function, argument, got, expected))
    }
}

#[cold]
#[inline(never)]
fn wrong_len(function: &str, argument: &str, got: usize, expected: usize) -> Error {
    Error::Shape {
        what: format!("{function}: `{argument}`"),
        expected,
        got,
    }
}
