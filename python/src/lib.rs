//! `motornet_rs._core`: the Rust side of the Python package. Plants (compiled built-in models or
//! interpreted `.mnet` files) with batched reset, step and step derivatives on float64 numpy arrays; a
//! batched step-wise environment (MotorNet's observation model, the tasks) for the gymnasium and torch
//! wrappers; and the trainer. Everything that can fail raises `motornet_rs.MotornetError` (a `ValueError`)
//! with the located message the command-line program prints; nothing panics on bad input.

// PyO3 signatures return tuples of bound arrays.
#![allow(clippy::type_complexity)]

use motornet::models::{self, Backend};
use motornet::runtime::batch;
use motornet::runtime::effector::check_joint_state;
use motornet::runtime::env::{total_load, vision_rotation, Environment, ObsChannel, ObsSource};
use motornet::runtime::plant::Workspace;
use motornet::runtime::policy::Policy;
use motornet::runtime::task::TaskContext;
use motornet::runtime::train::episode_rng;
use motornet::runtime::vec_env::{Outputs, VecEnv};
use motornet::runtime::Rollout;
use motornet::training::TrainConfig;
use motornet::{Error, Plant};
use numpy::{
    IxDyn, PyArray1, PyArray2, PyArray3, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::sync::Mutex;

create_exception!(
    _core,
    MotornetError,
    PyValueError,
    "An error reported by motornet: a model that does not compile (with file:line:col and the \
     snippet), an unknown parameter, an array of the wrong shape, a non-finite state, a bad setting."
);

fn err(e: Error) -> PyErr {
    MotornetError::new_err(e.to_string())
}

fn input(msg: String) -> PyErr {
    MotornetError::new_err(msg)
}

/// How a plant was made, so that an environment can build its own copy.
#[derive(Clone)]
enum Origin {
    Spec { spec: String, interpreted: bool },
    Source { text: String, file_name: String },
}

impl Origin {
    fn build(&self) -> Result<(Box<dyn Plant>, Backend), Error> {
        match self {
            Origin::Spec { spec, interpreted } => models::load(spec, *interpreted),
            Origin::Source { text, file_name } => {
                // Native code where it can be generated, as for model files; else the interpreter.
                let plant = motornet::InterpretedPlant::from_source(text, file_name)?;
                if motornet::jit::available() {
                    if let Ok(jit) = motornet::JitPlant::from_interpreted(plant.clone()) {
                        return Ok((Box::new(jit), Backend::Jit));
                    }
                }
                Ok((Box::new(plant), Backend::Interpreted))
            }
        }
    }
}

/// A float64 array as a batch of rows of `width` values: `(rows, slice)`. One-dimensional arrays are one
/// row. The array must be C-contiguous (the Python layer makes it so without copying when it already is).
fn rows<'a>(
    function: &str,
    name: &str,
    a: &'a PyReadonlyArrayDyn<'_, f64>,
    width: usize,
) -> PyResult<(usize, &'a [f64], bool)> {
    let shape = a.shape().to_vec();
    let data = a.as_slice().map_err(|_| {
        input(format!(
            "{function}: `{name}` must be a C-contiguous float64 array"
        ))
    })?;
    match shape.as_slice() {
        [w] if *w == width => Ok((1, data, false)),
        [b, w] if *w == width => Ok((*b, data, true)),
        _ => Err(input(format!(
            "{function}: `{name}` has shape {shape:?}; expected ({width},) or (batch, {width})"
        ))),
    }
}

fn same_batch(function: &str, what: &[(&str, usize)]) -> PyResult<usize> {
    let b = what[0].1;
    for (name, n) in what {
        if *n != b {
            return Err(input(format!(
                "{function}: `{name}` has {n} rows but `{}` has {b}",
                what[0].0
            )));
        }
    }
    Ok(b)
}

/// A new `batch × width` (or `width`) float64 array of zeros, allocated by numpy, and `f` writing into its
/// values (without the GIL).
fn new_out<'py>(
    py: Python<'py>,
    batch: usize,
    width: usize,
    two_d: bool,
    f: impl FnOnce(&mut [f64]) + Send,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let shape = if two_d {
        vec![batch, width]
    } else {
        vec![width]
    };
    let a = PyArrayDyn::<f64>::zeros(py, IxDyn(&shape), false);
    {
        let mut w = a.readwrite();
        let o = w
            .as_slice_mut()
            .map_err(|_| input("a new array is not contiguous".into()))?;
        py.detach(|| f(o));
    }
    Ok(a)
}

enum WorkspaceGuard<'a> {
    Shared(std::sync::MutexGuard<'a, Workspace>),
    Own(Box<Workspace>),
}

impl std::ops::Deref for WorkspaceGuard<'_> {
    type Target = Workspace;
    fn deref(&self) -> &Workspace {
        match self {
            WorkspaceGuard::Shared(g) => g,
            WorkspaceGuard::Own(w) => w,
        }
    }
}

impl std::ops::DerefMut for WorkspaceGuard<'_> {
    fn deref_mut(&mut self) -> &mut Workspace {
        match self {
            WorkspaceGuard::Shared(g) => g,
            WorkspaceGuard::Own(w) => w,
        }
    }
}

enum ScratchGuard<'a> {
    Shared(std::sync::MutexGuard<'a, Vec<f64>>),
    Own(Vec<f64>),
}

impl std::ops::Deref for ScratchGuard<'_> {
    type Target = Vec<f64>;
    fn deref(&self) -> &Vec<f64> {
        match self {
            ScratchGuard::Shared(g) => g,
            ScratchGuard::Own(v) => v,
        }
    }
}

impl std::ops::DerefMut for ScratchGuard<'_> {
    fn deref_mut(&mut self) -> &mut Vec<f64> {
        match self {
            ScratchGuard::Shared(g) => g,
            ScratchGuard::Own(v) => v,
        }
    }
}

/// A plant: a built-in model compiled into the package, or a `.mnet` model run by the interpreter.
#[pyclass(name = "Plant", module = "motornet_rs._core")]
struct PyPlant {
    plant: Box<dyn Plant>,
    backend: Backend,
    origin: Origin,
    ws: Mutex<Workspace>,
    /// Batch-layout buffers of large steps, reused between calls.
    scratch: Mutex<Vec<f64>>,
}

impl PyPlant {
    fn new_from(origin: Origin, overrides: Option<Vec<String>>) -> PyResult<Self> {
        let (mut plant, backend) = origin.build().map_err(err)?;
        if let Some(o) = overrides {
            plant.apply_overrides(&o).map_err(err)?;
        }
        let ws = Mutex::new(plant.workspace());
        Ok(PyPlant {
            plant,
            backend,
            origin,
            ws,
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// The plant's workspace, or a new one while another thread uses it (a thread that released the GIL
    /// must not hold a lock another thread waits for with the GIL).
    fn workspace(&self) -> WorkspaceGuard<'_> {
        match self.ws.try_lock() {
            Ok(g) => WorkspaceGuard::Shared(g),
            Err(_) => WorkspaceGuard::Own(Box::new(self.plant.workspace())),
        }
    }

    /// The scratch buffers, or new ones while another thread uses them.
    fn scratch(&self) -> ScratchGuard<'_> {
        match self.scratch.try_lock() {
            Ok(g) => ScratchGuard::Shared(g),
            Err(_) => ScratchGuard::Own(Vec::new()),
        }
    }

    /// `joint` (`batch × joint_dim`, within the limits) and `controls` (`steps × batch × control_dim`) of a
    /// trajectory, checked: `(steps, batch, joint, controls)`.
    fn trajectory_inputs<'a>(
        &self,
        function: &str,
        joint: &'a PyReadonlyArrayDyn<'_, f64>,
        controls: &'a PyReadonlyArrayDyn<'_, f64>,
    ) -> PyResult<(usize, usize, &'a [f64], &'a [f64])> {
        let info = self.plant.info();
        let (jd, c) = (info.joint_dim(), info.control_dim());
        let (batch, j, two) = rows(function, "joint", joint, jd)?;
        if !two {
            return Err(input(format!(
                "{function}: `joint` must be (batch, {jd}), one row per effector"
            )));
        }
        let steps = match controls.shape() {
            [steps, b, w] if *b == batch && *w == c => *steps,
            shape => {
                return Err(input(format!(
                    "{function}: `controls` has shape {shape:?}; expected (steps, {batch}, {c})"
                )))
            }
        };
        let u = controls.as_slice().map_err(|_| {
            input(format!(
                "{function}: `controls` must be a C-contiguous float64 array"
            ))
        })?;
        check_joint_state(&*self.plant, j, batch).map_err(err)?;
        Ok((steps, batch, j, u))
    }

    /// A fresh copy with the same parameter values.
    fn copy_plant(&self) -> Result<Box<dyn Plant>, Error> {
        let (mut p, _) = self.origin.build()?;
        p.set_params(self.plant.params())?;
        Ok(p)
    }
}

#[pymethods]
impl PyPlant {
    /// `Plant(model, overrides=None, interpreted=False)`: `model` is a built-in name (`"arm26"`) or a path
    /// to a `.mnet` file; `overrides` a list of `"name=value"` strings (units allowed: `"shoulder.range.max=120 deg"`).
    #[new]
    #[pyo3(signature = (model, overrides=None, interpreted=false))]
    fn py_new(model: String, overrides: Option<Vec<String>>, interpreted: bool) -> PyResult<Self> {
        Self::new_from(
            Origin::Spec {
                spec: model,
                interpreted,
            },
            overrides,
        )
    }

    /// A plant from `.mnet` source text, run by the interpreter; `file_name` names it in error messages.
    #[staticmethod]
    #[pyo3(signature = (text, file_name="<string>".to_string(), overrides=None))]
    fn from_source(
        text: String,
        file_name: String,
        overrides: Option<Vec<String>>,
    ) -> PyResult<Self> {
        Self::new_from(Origin::Source { text, file_name }, overrides)
    }

    /// A new plant built the same way, with the same parameter values.
    fn copy(&self) -> PyResult<Self> {
        let plant = self.copy_plant().map_err(err)?;
        let ws = Mutex::new(plant.workspace());
        Ok(PyPlant {
            plant,
            backend: self.backend,
            origin: self.origin.clone(),
            ws,
            scratch: Mutex::new(Vec::new()),
        })
    }

    #[getter]
    fn name(&self) -> String {
        self.plant.info().name.clone()
    }
    /// `"compiled"` (a built-in model compiled into the package) or `"interpreted"`.
    #[getter]
    fn backend(&self) -> &'static str {
        Backend::name(self.backend)
    }
    #[getter]
    fn coord_names(&self) -> Vec<String> {
        self.plant.info().coord_names.clone()
    }
    #[getter]
    fn muscle_names(&self) -> Vec<String> {
        self.plant.info().muscle_names.clone()
    }
    #[getter]
    fn muscle_model(&self) -> Option<String> {
        self.plant.info().muscle_model.clone()
    }
    #[getter]
    fn muscle_state_names(&self) -> Vec<String> {
        self.plant.info().muscle_state_names.clone()
    }
    #[getter]
    fn geometry_state_names(&self) -> Vec<String> {
        self.plant.info().geometry_state_names.clone()
    }
    #[getter]
    fn integrator(&self) -> String {
        self.plant.info().integrator.clone()
    }
    #[getter]
    fn dof(&self) -> usize {
        self.plant.info().dof()
    }
    #[getter]
    fn n_muscles(&self) -> usize {
        self.plant.info().n_muscles()
    }
    #[getter]
    fn joint_dim(&self) -> usize {
        self.plant.info().joint_dim()
    }
    #[getter]
    fn state_dim(&self) -> usize {
        self.plant.info().state_dim()
    }
    /// Excitations, endpoint force (x, y; and z in a 3D model), joint loads.
    #[getter]
    fn control_dim(&self) -> usize {
        self.plant.info().control_dim()
    }
    #[getter]
    fn timestep(&self) -> f64 {
        self.plant.timestep()
    }
    /// The parts of the state vector, in order: name → (offset, length).
    #[getter]
    fn parts(&self) -> Vec<(&'static str, usize, usize)> {
        self.plant.info().parts().to_vec()
    }
    /// Joint limits, `dof × 4`: position lower, upper, velocity lower, upper.
    #[getter]
    fn bounds<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        let rows: Vec<Vec<f64>> = self
            .plant
            .bounds()
            .iter()
            .map(|b| vec![b.lower, b.upper, b.vel_lower, b.vel_upper])
            .collect();
        if rows.is_empty() {
            return PyArray2::zeros(py, [0, 4], false);
        }
        PyArray2::from_vec2(py, &rows).expect("rows of 4")
    }
    /// Per muscle, MotorNet's proprioception normalizers `[l0_ce, vmax]` (`n_muscles × 2`).
    #[getter]
    fn muscle_normalizers<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        let rows: Vec<Vec<f64>> = self
            .plant
            .muscle_normalizers()
            .iter()
            .map(|n| n.to_vec())
            .collect();
        if rows.is_empty() {
            return PyArray2::zeros(py, [0, 2], false);
        }
        PyArray2::from_vec2(py, &rows).expect("rows of 2")
    }
    /// Parameter names, in order.
    #[getter]
    fn param_names(&self) -> Vec<String> {
        self.plant
            .info()
            .params
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }
    /// `(name, value, default, SI unit)` of every parameter.
    fn param_table(&self) -> Vec<(String, f64, f64, String)> {
        self.plant
            .info()
            .params
            .iter()
            .zip(self.plant.params())
            .map(|(p, v)| (p.name.clone(), *v, p.default, p.dim.si_unit()))
            .collect()
    }
    /// The current value of a parameter (SI units).
    fn get_param(&self, name: &str) -> PyResult<f64> {
        let i = self
            .plant
            .info()
            .param_index(name)
            .ok_or_else(|| err(self.plant.info().unknown_param(name)))?;
        Ok(self.plant.params()[i])
    }
    /// Sets one parameter: a number in SI units, or text with a unit (`"120 deg"`). The model's
    /// constraints are checked; on error nothing changes.
    fn set_param(&mut self, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(v) = value.extract::<f64>() {
            self.plant.set_param(name, v).map_err(err)?;
        } else if let Ok(text) = value.extract::<String>() {
            self.plant
                .apply_overrides(&[format!("{name}={text}")])
                .map_err(err)?;
        } else {
            return Err(input(format!(
                "set_param: the value of `{name}` must be a number or a string with a unit"
            )));
        }
        Ok(())
    }
    /// All parameter values, in the order of `param_names` (SI units).
    fn param_values(&self) -> Vec<f64> {
        self.plant.params().to_vec()
    }
    /// Replaces all parameter values (in the order of `param_names`), after checking the model's
    /// constraints; on error nothing changes.
    fn set_param_values(&mut self, values: Vec<f64>) -> PyResult<()> {
        let n = self.plant.params().len();
        if values.len() != n {
            return Err(input(format!(
                "set_param_values: {} values given, the model has {n} parameters",
                values.len()
            )));
        }
        self.plant.set_params(&values).map_err(err)
    }
    /// How the plant was built (for pickling): `("spec", model, "", interpreted)` or
    /// `("source", text, file_name, True)`.
    #[getter]
    fn origin(&self) -> (&'static str, String, String, bool) {
        match &self.origin {
            Origin::Spec { spec, interpreted } => {
                ("spec", spec.clone(), String::new(), *interpreted)
            }
            Origin::Source { text, file_name } => ("source", text.clone(), file_name.clone(), true),
        }
    }
    /// Applies `"name=value"` overrides (all checked together; on error nothing changes).
    fn apply_overrides(&mut self, overrides: Vec<String>) -> PyResult<()> {
        self.plant.apply_overrides(&overrides).map_err(err)?;
        Ok(())
    }

    /// States right after reset from joint states (`batch × 2·dof`: positions then velocities; or one
    /// joint state), which must lie within the joint limits. Returns `batch × state_dim` (or one state).
    fn reset<'py>(
        &self,
        py: Python<'py>,
        joint: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let info = self.plant.info();
        let (jd, s) = (info.joint_dim(), info.state_dim());
        let (b, j, two) = rows("reset", "joint", &joint, jd)?;
        check_joint_state(&*self.plant, j, b).map_err(err)?;
        let mut ws = self.workspace();
        let ws = &mut *ws;
        new_out(py, b, s, two, |out| {
            for (row, o) in j.chunks_exact(jd).zip(out.chunks_exact_mut(s)) {
                self.plant.reset_unchecked(ws, row, o);
            }
        })
    }

    /// One step of every row: `states` (`batch × state_dim`) and `controls` (`batch × control_dim`:
    /// excitations, endpoint force x, y, joint loads). Returns the next states.
    fn step<'py>(
        &self,
        py: Python<'py>,
        states: PyReadonlyArrayDyn<'py, f64>,
        controls: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let info = self.plant.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        let (b, x, two) = rows("step", "states", &states, s)?;
        let (bu, u, _) = rows("step", "controls", &controls, c)?;
        let b = same_batch("step", &[("states", b), ("controls", bu)])?;
        let mut ws = self.workspace();
        let ws = &mut *ws;
        let mut scratch = self.scratch();
        let scratch = &mut *scratch;
        new_out(py, b, s, two, |out| {
            if b >= 2 * batch::LANES {
                // Large batches: the batch layout (blocks of four effectors, component by component),
                // which compiled plants step four at a time; scratch buffers are reused between calls.
                scratch.resize(b * (2 * s + c), 0.0);
                let (bx, rest) = scratch.split_at_mut(b * s);
                let (bu, by) = rest.split_at_mut(b * c);
                batch::from_rows(x, b, s, bx);
                batch::from_rows(u, b, c, bu);
                self.plant.step_batch_unchecked(ws, bx, bu, by);
                for (k, row) in out.chunks_exact_mut(s).enumerate() {
                    batch::read_row(by, b, k, row);
                }
            } else {
                for ((x, u), y) in x
                    .chunks_exact(s)
                    .zip(u.chunks_exact(c))
                    .zip(out.chunks_exact_mut(s))
                {
                    self.plant.step_unchecked(ws, x, u, y);
                }
            }
        })
    }

    /// Reverse mode: given the cotangent of the next states, the cotangents of `states` and `controls`
    /// (the generated adjoint of one step, row by row).
    fn step_vjp<'py>(
        &self,
        py: Python<'py>,
        states: PyReadonlyArrayDyn<'py, f64>,
        controls: PyReadonlyArrayDyn<'py, f64>,
        next_cotangent: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<(Bound<'py, PyArrayDyn<f64>>, Bound<'py, PyArrayDyn<f64>>)> {
        let info = self.plant.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        let (b, x, two) = rows("step_vjp", "states", &states, s)?;
        let (bu, u, _) = rows("step_vjp", "controls", &controls, c)?;
        let (bw, w, _) = rows("step_vjp", "next_cotangent", &next_cotangent, s)?;
        let b = same_batch(
            "step_vjp",
            &[("states", b), ("controls", bu), ("next_cotangent", bw)],
        )?;
        let mut ws = self.workspace();
        let ws = &mut *ws;
        let gu = PyArrayDyn::<f64>::zeros(py, IxDyn(&[b * c]), false);
        let gx = {
            let mut gu_w = gu.readwrite();
            let gu = gu_w
                .as_slice_mut()
                .map_err(|_| input("a new array is not contiguous".into()))?;
            new_out(py, b, s, two, |gx| {
                for k in 0..b {
                    self.plant.step_vjp_unchecked(
                        ws,
                        &x[k * s..(k + 1) * s],
                        &u[k * c..(k + 1) * c],
                        &w[k * s..(k + 1) * s],
                        &mut gx[k * s..(k + 1) * s],
                        &mut gu[k * c..(k + 1) * c],
                    );
                }
            })?
        };
        let shape = if two { vec![b, c] } else { vec![c] };
        Ok((gx, gu.reshape(shape)?))
    }

    /// Forward mode: the tangent of the next states given tangents of `states` and `controls`.
    fn step_jvp<'py>(
        &self,
        py: Python<'py>,
        states: PyReadonlyArrayDyn<'py, f64>,
        controls: PyReadonlyArrayDyn<'py, f64>,
        state_tangent: PyReadonlyArrayDyn<'py, f64>,
        controls_tangent: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let info = self.plant.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        let (b, x, two) = rows("step_jvp", "states", &states, s)?;
        let (bu, u, _) = rows("step_jvp", "controls", &controls, c)?;
        let (bt, tx, _) = rows("step_jvp", "state_tangent", &state_tangent, s)?;
        let (btu, tu, _) = rows("step_jvp", "controls_tangent", &controls_tangent, c)?;
        let b = same_batch(
            "step_jvp",
            &[
                ("states", b),
                ("controls", bu),
                ("state_tangent", bt),
                ("controls_tangent", btu),
            ],
        )?;
        let mut ws = self.workspace();
        let ws = &mut *ws;
        new_out(py, b, s, two, |out| {
            for k in 0..b {
                self.plant.step_jvp_unchecked(
                    ws,
                    &x[k * s..(k + 1) * s],
                    &u[k * c..(k + 1) * c],
                    &tx[k * s..(k + 1) * s],
                    &tu[k * c..(k + 1) * c],
                    &mut out[k * s..(k + 1) * s],
                );
            }
        })
    }

    /// A whole trajectory: the states right after reset from `joint` (`batch × joint_dim`, within the
    /// limits) and after each step of `controls` (`steps × batch × control_dim`). Returns
    /// `(steps + 1) × batch × state_dim`.
    fn rollout<'py>(
        &self,
        py: Python<'py>,
        joint: PyReadonlyArrayDyn<'py, f64>,
        controls: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray3<f64>>> {
        let (steps, batch, j, u) = self.trajectory_inputs("rollout", &joint, &controls)?;
        let s = self.plant.info().state_dim();
        let plant = &*self.plant;
        let recorded = py
            .detach(|| Rollout::record(plant, j, u, batch))
            .map_err(err)?;
        let a = PyArray1::from_vec(py, recorded.states);
        Ok(a.reshape([steps + 1, batch, s])
            .expect("sizes")
            .cast_into()
            .expect("3-d"))
    }

    /// The gradient of `L = Σ state_cotangent · states` over the trajectory of :meth:`rollout`:
    /// `state_cotangent` is `(steps + 1) × batch × state_dim` (∂L/∂state of every recorded state).
    /// Returns `(∂L/∂controls: steps × batch × control_dim, ∂L/∂initial state: batch × state_dim)`, with
    /// the bits of stepping the adjoint back one step at a time, without the trajectory kept: blocks of
    /// four effectors run forward and straight back on `threads` threads.
    #[pyo3(signature = (joint, controls, state_cotangent, threads=1))]
    #[allow(clippy::type_complexity)]
    fn rollout_gradient<'py>(
        &self,
        py: Python<'py>,
        joint: PyReadonlyArrayDyn<'py, f64>,
        controls: PyReadonlyArrayDyn<'py, f64>,
        state_cotangent: PyReadonlyArrayDyn<'py, f64>,
        threads: usize,
    ) -> PyResult<(Bound<'py, PyArray3<f64>>, Bound<'py, PyArray2<f64>>)> {
        let (steps, batch, j, u) = self.trajectory_inputs("rollout_gradient", &joint, &controls)?;
        let info = self.plant.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        let want = [steps + 1, batch, s];
        if state_cotangent.shape() != want {
            let got = state_cotangent.shape();
            return Err(input(format!(
                "rollout_gradient: `state_cotangent` has shape {got:?}; expected {want:?} (as the states)"
            )));
        }
        let w = state_cotangent.as_slice().map_err(|_| {
            input("rollout_gradient: `state_cotangent` must be a C-contiguous float64 array".into())
        })?;
        if !(1..=256).contains(&threads) {
            return Err(input(format!(
                "rollout_gradient: `threads` must be between 1 and 256, not {threads}"
            )));
        }
        let plant = &*self.plant;
        let grads = py
            .detach(|| {
                Rollout::gradient(plant, j, u, batch, threads, |t, b, _x, out| {
                    let row = &w[(t * batch + b) * s..(t * batch + b + 1) * s];
                    for (o, v) in out.iter_mut().zip(row) {
                        *o += v;
                    }
                })
            })
            .map_err(err)?;
        let gu = PyArray1::from_vec(py, grads.controls)
            .reshape([steps, batch, c])
            .expect("sizes")
            .cast_into()
            .expect("3-d");
        let gx = PyArray1::from_vec(py, grads.initial_state)
            .reshape([batch, s])
            .expect("sizes")
            .cast_into()
            .expect("2-d");
        Ok((gu, gx))
    }

    /// The Jacobian of one step at one state: `state_dim × (state_dim + control_dim)`.
    fn step_jacobian<'py>(
        &self,
        py: Python<'py>,
        state: PyReadonlyArrayDyn<'py, f64>,
        controls: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let info = self.plant.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        let (b, x, _) = rows("step_jacobian", "state", &state, s)?;
        let (bu, u, _) = rows("step_jacobian", "controls", &controls, c)?;
        if b != 1 || bu != 1 {
            return Err(input(
                "step_jacobian: give one state and one control vector".into(),
            ));
        }
        let mut ws = self.workspace();
        let jac = self.plant.step_jacobian(&mut ws, x, u).map_err(err)?;
        let a = PyArray1::from_vec(py, jac);
        Ok(a.reshape([s, s + c])
            .expect("sizes")
            .cast_into()
            .expect("2-d"))
    }

    fn __repr__(&self) -> String {
        let info = self.plant.info();
        format!(
            "Plant({:?}, {}, dof={}, muscles={}, state_dim={})",
            info.name,
            Backend::name(self.backend),
            info.dof(),
            info.n_muscles(),
            info.state_dim()
        )
    }
}

/// A batch of environments stepped in Rust: an effector, a task, and MotorNet's observation model (goal,
/// delayed and noisy vision and proprioception, stacked actions, go cue), one episode per environment,
/// with the perturbations of the training configuration. The gymnasium environments and the torch
/// environment are built on it; the stepping itself is `motornet::runtime::vec_env::VecEnv`, the same
/// observation model as the trainer's, value for value.
#[pyclass(name = "VecEnv", module = "motornet_rs._core")]
struct PyVecEnv {
    live: VecEnv<Box<dyn Plant>>,
    seed: u64,
    /// Resets since the seed was set: each draws its episodes and noise from streams of its own.
    resets: u64,
}

fn json_to<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| input(format!("{what}: {e}")))
}

/// New numpy arrays for what a reset or step writes (observations, reward, cartesian, goal, aim).
struct StepArrays<'py> {
    observations: Bound<'py, PyArray2<f64>>,
    reward: Bound<'py, PyArray1<f64>>,
    cartesian: Bound<'py, PyArray2<f64>>,
    goal: Bound<'py, PyArray2<f64>>,
    aim: Bound<'py, PyArray2<f64>>,
}

impl<'py> StepArrays<'py> {
    fn new(py: Python<'py>, n: usize, obs_dim: usize, dim: usize) -> Self {
        // SAFETY: uninitialised (clearing them costs a few per cent of a step): `fill` writes every
        // value before Python sees them, and on an error they are dropped unseen.
        unsafe {
            StepArrays {
                observations: PyArray2::new(py, [n, obs_dim], false),
                reward: PyArray1::new(py, n, false),
                cartesian: PyArray2::new(py, [n, 2 * dim], false),
                goal: PyArray2::new(py, [n, dim], false),
                aim: PyArray2::new(py, [n, dim], false),
            }
        }
    }

    /// Runs `f` on the arrays' memory without the GIL.
    fn fill(
        &self,
        py: Python<'py>,
        f: impl FnOnce(Outputs) -> Result<(), Error> + Send,
    ) -> PyResult<()> {
        // SAFETY: the arrays were just created here and are not shared: nothing else reads or writes
        // them while `f` runs.
        let outputs = unsafe {
            Outputs {
                observations: self.observations.as_slice_mut().map_err(not_contiguous)?,
                reward: self.reward.as_slice_mut().map_err(not_contiguous)?,
                cartesian: self.cartesian.as_slice_mut().map_err(not_contiguous)?,
                goal: self.goal.as_slice_mut().map_err(not_contiguous)?,
                aim: self.aim.as_slice_mut().map_err(not_contiguous)?,
            }
        };
        py.detach(|| f(outputs)).map_err(err)
    }

    fn info(&self, py: Python<'py>, t: usize) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("cartesian", &self.cartesian)?;
        d.set_item("goal", &self.goal)?;
        d.set_item("aim", &self.aim)?;
        d.set_item("t", t)?;
        Ok(d)
    }
}

fn not_contiguous(_: numpy::AsSliceError) -> PyErr {
    input("a new array is not contiguous".into())
}

impl PyVecEnv {
    fn env(&self) -> &Environment<Box<dyn Plant>> {
        self.live.env()
    }

    /// 2 for a planar plant, 3 for a spatial one.
    fn space_dim(&self) -> usize {
        self.env().plant.info().space_dim
    }
}

#[pymethods]
impl PyVecEnv {
    /// `VecEnv(plant, num_envs, task_json, env_json, seed, threads, perturbations_json)`: `task_json` and
    /// `env_json` are the `[task]` and `[env]` tables of the training configuration as JSON (omitted keys
    /// keep their defaults), `perturbations_json` a list of its `[[perturbation]]` tables.
    #[new]
    #[pyo3(signature = (plant, num_envs, task_json="{}", env_json="{}", seed=0, threads=1, perturbations_json="[]"))]
    fn py_new(
        plant: &PyPlant,
        num_envs: usize,
        task_json: &str,
        env_json: &str,
        seed: u64,
        threads: usize,
        perturbations_json: &str,
    ) -> PyResult<Self> {
        if num_envs == 0 {
            return Err(input("VecEnv: num_envs must be at least 1".into()));
        }
        let mut task: serde_json::Value = json_to("task", task_json)?;
        if let Some(t) = task.as_object_mut() {
            t.entry("kind").or_insert("random_reach".into());
        }
        // The configuration's own checks, keyed as in a configuration file.
        let config = TrainConfig {
            task: serde_json::from_value(task).map_err(|e| input(format!("task: {e}")))?,
            env: json_to("env", env_json)?,
            perturbations: json_to("perturbations", perturbations_json)?,
            ..TrainConfig::default()
        };
        let p = plant.copy_plant().map_err(err)?;
        config.validate_environment(&*p).map_err(err)?;
        let env = Environment::new(p, config.build_task(), config.env).map_err(err)?;
        let live = VecEnv::new(env, num_envs, threads.clamp(1, 64))
            .map_err(|e| input(format!("VecEnv: {e}")))?;
        Ok(PyVecEnv {
            live,
            seed,
            resets: 0,
        })
    }

    #[getter]
    fn num_envs(&self) -> usize {
        self.live.num_envs()
    }
    #[getter]
    fn obs_dim(&self) -> usize {
        self.env().obs_dim()
    }
    #[getter]
    fn n_muscles(&self) -> usize {
        self.env().n_muscles()
    }
    /// Steps per episode.
    #[getter]
    fn steps(&self) -> usize {
        self.env().steps
    }
    /// Steps taken since the last reset.
    #[getter]
    fn t(&self) -> usize {
        self.live.t()
    }
    #[getter]
    fn timestep(&self) -> f64 {
        self.env().plant.timestep()
    }
    #[getter]
    fn task_name(&self) -> String {
        self.env().task.name()
    }
    #[getter]
    fn has_go_cue(&self) -> bool {
        self.env().task.has_go_cue()
    }
    /// The environment settings as JSON (every key, with defaults filled in).
    #[getter]
    fn config_json(&self) -> String {
        serde_json::to_string(&self.env().config).expect("serializes")
    }

    /// Where each observation column comes from, in column order: dicts with `kind` (`goal`, `go_cue`,
    /// `vision`, `proprioception`, `action`) and, by kind, `component`, `state_index`, `scale`, `delay`
    /// (steps: the column reads the state at `max(0, t − delay + 1)`), `muscle`, `lag`. Read from the
    /// Rust environment: the one description of the layout.
    fn observation_layout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for src in self.env().observation_sources() {
            let d = PyDict::new(py);
            match *src {
                ObsSource::Goal(i) => {
                    d.set_item("kind", "goal")?;
                    d.set_item("component", i)?;
                }
                ObsSource::GoCue => d.set_item("kind", "go_cue")?,
                ObsSource::State {
                    index,
                    scale,
                    delay,
                    channel,
                } => {
                    let kind = match channel {
                        ObsChannel::Vision => "vision",
                        ObsChannel::Proprioception => "proprioception",
                    };
                    d.set_item("kind", kind)?;
                    d.set_item("state_index", index)?;
                    d.set_item("scale", scale)?;
                    d.set_item("delay", delay)?;
                }
                ObsSource::Action { muscle, lag } => {
                    d.set_item("kind", "action")?;
                    d.set_item("muscle", muscle)?;
                    d.set_item("lag", lag)?;
                }
            }
            out.append(d)?;
        }
        Ok(out)
    }

    /// Starts new episodes. `seed` reseeds the stream episodes and noise are drawn from; `joint_state`
    /// (`num_envs × 2·dof`) and `goal` (`num_envs × space_dim`) replace what the task draws. Returns
    /// `(observations, info)`.
    #[pyo3(signature = (seed=None, joint_state=None, goal=None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seed: Option<u64>,
        joint_state: Option<PyReadonlyArrayDyn<'py, f64>>,
        goal: Option<PyReadonlyArrayDyn<'py, f64>>,
    ) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyDict>)> {
        if let Some(s) = seed {
            self.seed = s;
            self.resets = 0;
        }
        let n = self.live.num_envs();
        let mut episodes = self
            .env()
            .draw(n, &mut episode_rng(self.seed, self.resets, u64::MAX));
        let plant = &self.env().plant;
        let jd = plant.info().joint_dim();
        if let Some(j) = &joint_state {
            let (b, rows_, _) = rows("reset", "joint_state", j, jd)?;
            same_batch("reset", &[("num_envs", n), ("joint_state", b)])?;
            let ctx = TaskContext {
                plant,
                steps: self.env().steps,
            };
            for (e, row) in episodes.iter_mut().zip(rows_.chunks_exact(jd)) {
                e.joint0 = row.to_vec();
                e.start = ctx.endpoint(row);
            }
        }
        let dim = self.space_dim();
        if let Some(g) = &goal {
            let (b, rows_, _) = rows("reset", "goal", g, dim)?;
            same_batch("reset", &[("num_envs", n), ("goal", b)])?;
            for (e, row) in episodes.iter_mut().zip(rows_.chunks_exact(dim)) {
                e.target = [row[0], row[1], row.get(2).copied().unwrap_or(0.0)];
            }
        }
        let rngs = (0..n as u64)
            .map(|b| episode_rng(self.seed, self.resets, b))
            .collect();
        self.resets += 1;
        let out = StepArrays::new(py, n, self.env().obs_dim(), dim);
        let live = &mut self.live;
        out.fill(py, |o| live.reset(episodes, rngs, o))?;
        Ok((out.observations.clone(), out.info(py, 0)?))
    }

    /// One step of every environment with `actions` (`num_envs × n_muscles` excitations; action noise is
    /// added, the task's and the perturbations' endpoint loads applied). Returns `(observations, reward,
    /// terminated, info)`: the reward is minus the L1 distance of the endpoint from the aim after the
    /// step; `terminated` is true when the episode's steps are done. After an error, reset.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        actions: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<(
        Bound<'py, PyArray2<f64>>,
        Bound<'py, PyArray1<f64>>,
        bool,
        Bound<'py, PyDict>,
    )> {
        let n = self.live.num_envs();
        let (b, a, _) = rows("step", "actions", &actions, self.env().n_muscles())?;
        same_batch("step", &[("num_envs", n), ("actions", b)])?;
        let out = StepArrays::new(py, n, self.env().obs_dim(), self.space_dim());
        let live = &mut self.live;
        out.fill(py, |o| live.step(a, o))
            .map_err(|e| input(format!("step: {}", e.value(py))))?;
        let t = self.live.t();
        Ok((
            out.observations.clone(),
            out.reward.clone(),
            t >= self.env().steps,
            out.info(py, t)?,
        ))
    }

    /// The current states, `num_envs × state_dim` (MotorNet's layout).
    fn states<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let s = self.env().plant.info().state_dim();
        PyArray1::from_vec(py, self.live.states()).reshape([self.live.num_envs(), s])
    }

    /// The episodes since the last reset: initial joint states, start and goal positions (as drawn: see
    /// `goal(t)` for target jumps), go steps (`-1`: none; a catch trial's never comes and is a very large
    /// number), and each episode's rotation of vision (radians; 0 without one).
    fn episodes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let episodes = self.live.episodes();
        let n = episodes.len();
        let jd = self.env().plant.info().joint_dim();
        let joint: Vec<f64> = episodes.iter().flat_map(|e| e.joint0.clone()).collect();
        let dim = self.space_dim();
        let start: Vec<f64> = episodes
            .iter()
            .flat_map(|e| e.start[..dim].to_vec())
            .collect();
        let goal: Vec<f64> = episodes
            .iter()
            .flat_map(|e| e.target[..dim].to_vec())
            .collect();
        let go: Vec<i64> = episodes
            .iter()
            .map(|e| e.go_step.map_or(-1, |g| g.min(i64::MAX as usize) as i64))
            .collect();
        d.set_item(
            "joint_state",
            PyArray1::from_vec(py, joint).reshape([n, jd])?,
        )?;
        d.set_item("start", PyArray1::from_vec(py, start).reshape([n, dim])?)?;
        d.set_item("goal", PyArray1::from_vec(py, goal).reshape([n, dim])?)?;
        d.set_item("go_step", PyArray1::from_vec(py, go))?;
        let rotation = episodes.iter().map(vision_rotation).collect();
        d.set_item("vision_rotation", PyArray1::from_vec(py, rotation))?;
        Ok(d)
    }

    /// Per environment, the go signal (0 or 1) at step `t`.
    fn go_signal<'py>(&self, py: Python<'py>, t: usize) -> Bound<'py, PyArray1<f64>> {
        let episodes = self.live.episodes();
        PyArray1::from_vec(py, episodes.iter().map(|e| e.go_signal(t)).collect())
    }

    /// Per environment, the goal shown at step `t` (`num_envs × space_dim`): after a target jump, the new
    /// one.
    fn goal<'py>(&self, py: Python<'py>, t: usize) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let dim = self.space_dim();
        let episodes = self.live.episodes();
        let goal: Vec<f64> = episodes
            .iter()
            .flat_map(|e| e.goal(t)[..dim].to_vec())
            .collect();
        PyArray1::from_vec(py, goal).reshape([episodes.len(), dim])
    }

    /// Per environment, where the endpoint should be at step `t` (`num_envs × space_dim`).
    fn aim<'py>(&self, py: Python<'py>, t: usize) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let dim = self.space_dim();
        let episodes = self.live.episodes();
        let aim: Vec<f64> = episodes
            .iter()
            .flat_map(|e| e.aim(t)[..dim].to_vec())
            .collect();
        PyArray1::from_vec(py, aim).reshape([episodes.len(), dim])
    }

    /// The task's endpoint load at step `t` for endpoint states `cartesian` (`num_envs × 2·space_dim`,
    /// the plant's layout: `[x, y, vx, vy]` or `[x, y, z, vx, vy, vz]`): the force
    /// (`num_envs × space_dim`) and its derivative with respect to the endpoint state
    /// (`num_envs × space_dim × 2·space_dim`).
    fn endpoint_load<'py>(
        &self,
        py: Python<'py>,
        t: usize,
        cartesian: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyArray3<f64>>)> {
        let dim = self.space_dim();
        let episodes = self.live.episodes();
        let (b, c, _) = rows("endpoint_load", "cartesian", &cartesian, 2 * dim)?;
        let n = same_batch(
            "endpoint_load",
            &[("episodes", episodes.len()), ("cartesian", b)],
        )?;
        // Component j of the plant's layout is component `spatial(j)` of `[x, y, z, vx, vy, vz]`.
        let spatial = |j: usize| if j < dim { j } else { 3 + j - dim };
        let mut force = Vec::with_capacity(dim * n);
        let mut jac = Vec::with_capacity(2 * dim * dim * n);
        for (e, row) in episodes.iter().zip(c.chunks_exact(2 * dim)) {
            let mut state = [0.0; 6];
            for (j, v) in row.iter().enumerate() {
                state[spatial(j)] = *v;
            }
            let (f, d) = total_load(self.env().task.as_ref(), t, e, &state);
            force.extend(&f[..dim]);
            jac.extend(
                d[..dim]
                    .iter()
                    .flat_map(|r| (0..2 * dim).map(|j| r[spatial(j)])),
            );
        }
        Ok((
            PyArray1::from_vec(py, force).reshape([n, dim])?,
            PyArray1::from_vec(py, jac).reshape([n, dim, 2 * dim])?,
        ))
    }
}

/// Trains as `motornet train` does, in `out` (a run directory), with the configuration given as TOML
/// text. Returns the run directory; `motornet_rs.train` reads the results from it.
#[pyfunction]
#[pyo3(signature = (config_toml, out, resume=false, quiet=true))]
fn train_run(
    py: Python<'_>,
    config_toml: &str,
    out: &str,
    resume: bool,
    quiet: bool,
) -> PyResult<String> {
    let cfg = motornet::config::TrainConfig::from_toml(config_toml).map_err(err)?;
    let dir = std::path::PathBuf::from(out);
    let result = py.detach(|| {
        let mut progress = |batch: u64, batches: u64, loss: f64, metric: Option<f64>| {
            if !quiet && (batch + 1).is_multiple_of(100) {
                match metric {
                    Some(m) => eprintln!(
                        "batch {}/{batches}: loss {loss:.5}, metric {m:.5} m",
                        batch + 1
                    ),
                    None => eprintln!("batch {}/{batches}: loss {loss:.5}", batch + 1),
                }
            }
        };
        let interrupted = || false;
        motornet::training::train(
            &dir,
            &cfg,
            resume,
            motornet::training::Hooks {
                progress: &mut progress,
                interrupted: &interrupted,
            },
        )
    });
    result.map_err(err)?;
    Ok(out.to_string())
}

/// The weights of a run's checkpoint as `{name: (shape, values)}` in PyTorch `state_dict` order, and
/// a deterministic evaluation of them on the run's evaluation episodes: endpoint paths
/// (`episodes × (steps+1) × 4`), activations, goals and the metric.
#[pyfunction]
fn load_run<'py>(
    py: Python<'py>,
    config_toml: &str,
    checkpoint: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = motornet::config::TrainConfig::from_toml(config_toml).map_err(err)?;
    let (net, _, _) = motornet::runtime::policy::checkpoint::load(std::path::Path::new(checkpoint))
        .map_err(err)?;
    let weights = PyDict::new(py);
    for (name, shape, values) in net.state_dict() {
        weights.set_item(name, PyArray1::from_vec(py, values).reshape(shape)?)?;
    }
    let mut trainer = cfg.trainer().map_err(err)?;
    trainer.policy = net;
    let episodes = motornet::training::eval_episodes(&trainer, &cfg);
    let eval = py
        .detach(|| trainer.evaluate(&episodes, cfg.run.eval_last_steps))
        .map_err(err)?;
    let n = episodes.len();
    let steps = trainer.steps();
    let info = trainer.plant().info().clone();
    let dim = info.space_dim;
    // Paths in the plant's layout, `[x, y, vx, vy]` or `[x, y, z, vx, vy, vz]`.
    let paths: Vec<f64> = eval
        .paths
        .iter()
        .flatten()
        .flat_map(|c| (0..6).filter(|&k| k % 3 < dim).map(|k| c[k]))
        .collect();
    let m = eval
        .activations
        .first()
        .and_then(|a| a.first())
        .map_or(0, Vec::len);
    let acts: Vec<f64> = eval
        .activations
        .iter()
        .flatten()
        .flatten()
        .copied()
        .collect();
    let goals: Vec<f64> = episodes
        .iter()
        .flat_map(|e| e.target[..dim].to_vec())
        .collect();
    let starts: Vec<f64> = episodes
        .iter()
        .flat_map(|e| e.start[..dim].to_vec())
        .collect();
    let ev = PyDict::new(py);
    ev.set_item(
        "paths",
        PyArray1::from_vec(py, paths).reshape([n, steps + 1, 2 * dim])?,
    )?;
    ev.set_item(
        "activations",
        PyArray1::from_vec(py, acts).reshape([n, steps + 1, m])?,
    )?;
    ev.set_item("goal", PyArray1::from_vec(py, goals).reshape([n, dim])?)?;
    ev.set_item("start", PyArray1::from_vec(py, starts).reshape([n, dim])?)?;
    ev.set_item("metric", eval.metric)?;
    let d = PyDict::new(py);
    d.set_item("weights", weights)?;
    d.set_item("evaluation", ev)?;
    d.set_item("obs_dim", trainer.obs_dim())?;
    d.set_item("policy", trainer.policy.kind())?;
    Ok(d)
}

/// A configuration (TOML text) with every default filled in, after validation (every problem at once,
/// by key).
#[pyfunction]
fn resolve_config(config_toml: &str) -> PyResult<String> {
    let cfg = motornet::config::TrainConfig::from_toml(config_toml).map_err(err)?;
    cfg.validate().map_err(err)?;
    Ok(cfg.to_toml())
}

/// The built-in model names.
#[pyfunction]
fn builtin_models() -> Vec<&'static str> {
    models::BUILTIN.iter().map(|b| b.0).collect()
}

/// The `.mnet` source of a built-in model.
#[pyfunction]
fn builtin_source(name: &str) -> PyResult<&'static str> {
    models::source(name).ok_or_else(|| {
        input(format!(
            "no built-in model `{name}` (built-in: {})",
            builtin_models().join(", ")
        ))
    })
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MotornetError", m.py().get_type::<MotornetError>())?;
    m.add_class::<PyPlant>()?;
    m.add_class::<PyVecEnv>()?;
    m.add_function(wrap_pyfunction!(train_run, m)?)?;
    m.add_function(wrap_pyfunction!(load_run, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_config, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_models, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_source, m)?)?;
    Ok(())
}
