//! The plant that runs native code.

use crate::code::{cached, Code, JitError, NativeFn};
use crate::emit::MathMode;
use motornet_dsl::interp::static_values;
use motornet_dsl::program::Program;
use motornet_dsl::InterpretedPlant;
use motornet_runtime::batch::LANES;
use motornet_runtime::plant::{Bounds, Plant, PlantInfo, Workspace};
use motornet_runtime::Error;
use std::sync::Arc;

/// A model compiled from source at run time into native code.
///
/// Parameters, bounds and constraints are handled by the interpreted plant it wraps (the reference
/// backend), so both accept and refuse the same values; the functions themselves run as machine code.
#[derive(Clone)]
pub struct JitPlant {
    base: InterpretedPlant,
    code: Arc<Code>,
    /// The values of the code's parameter-dependent nodes at the current parameters.
    table: Vec<f64>,
    /// [state, controls, joint] lengths, read once.
    dims: [usize; 3],
}

impl JitPlant {
    /// Compiles model source to native code. `file_name` is used in error messages; a model that does
    /// not compile gets the interpreter's diagnostics, a failure of the code generator an
    /// [`Error::Input`] saying so.
    pub fn from_source(source: &str, file_name: &str) -> Result<Self, Error> {
        let base = InterpretedPlant::from_source(source, file_name)?;
        Self::from_interpreted(base).map_err(|e| Error::Input(e.to_string()))
    }

    pub fn from_program(program: Program) -> Result<Self, JitError> {
        Self::from_interpreted(InterpretedPlant::from_program(program))
    }

    /// Native code for an interpreted plant, keeping its parameter values.
    pub fn from_interpreted(base: InterpretedPlant) -> Result<Self, JitError> {
        Self::with_math(base, MathMode::Inline)
    }

    /// As [`JitPlant::from_interpreted`], choosing how elementary functions are computed.
    pub fn with_math(base: InterpretedPlant, math: MathMode) -> Result<Self, JitError> {
        let code = cached(base.program(), math)?;
        let info = base.info();
        let dims = [info.state_dim(), info.control_dim(), info.joint_dim()];
        let mut plant = JitPlant {
            base,
            code,
            table: Vec::new(),
            dims,
        };
        plant.refresh_table();
        Ok(plant)
    }

    fn refresh_table(&mut self) {
        let statics = static_values(&self.base.program().graph, self.base.params());
        self.table = self.code.slots.iter().map(|n| statics[n.index()]).collect();
    }

    /// The interpreted plant this one wraps (same program, same parameters).
    pub fn interpreted(&self) -> &InterpretedPlant {
        &self.base
    }

    pub fn program(&self) -> &Program {
        self.base.program()
    }

    /// Seconds spent generating this model's native code (when it was first compiled in this process).
    pub fn compile_seconds(&self) -> f64 {
        self.code.compile_seconds
    }

    /// Calls `f` on argument slices whose lengths the caller checked against the function's layout.
    /// False where the code could not compute the outputs itself (see [`NativeFn`]).
    #[inline(always)]
    #[must_use]
    fn call(&self, f: NativeFn, args: [&[f64]; 4], outs: [&mut [f64]; 2]) -> bool {
        let p = |a: &[f64]| {
            if a.is_empty() {
                std::ptr::null()
            } else {
                a.as_ptr()
            }
        };
        let [o0, o1] = outs;
        // SAFETY: every function reads and writes only within the lengths of its layout, which each
        // caller asserts the slices have (an empty slice stands for an argument the function lacks); the
        // table holds one value per slot the code reads.
        unsafe {
            f(
                self.table.as_ptr(),
                p(args[0]),
                p(args[1]),
                p(args[2]),
                p(args[3]),
                o0.as_mut_ptr(),
                o1.as_mut_ptr(),
            ) == 0
        }
    }

    /// Steps effectors `pair` and `pair + 1` of a block of four on the interpreter.
    #[cold]
    fn step_pair_interpreted(
        &self,
        ws: &mut Workspace,
        pair: usize,
        x: &[f64],
        u: &[f64],
        y: &mut [f64],
    ) {
        let [s, c, _] = self.dims;
        let (mut xr, mut ur, mut yr) = (vec![0.0; s], vec![0.0; c], vec![0.0; s]);
        for lane in pair..pair + 2 {
            for (k, v) in xr.iter_mut().enumerate() {
                *v = x[k * LANES + lane];
            }
            for (k, v) in ur.iter_mut().enumerate() {
                *v = u[k * LANES + lane];
            }
            self.base.step_unchecked(ws, &xr, &ur, &mut yr);
            for (k, v) in yr.iter().enumerate() {
                y[k * LANES + lane] = *v;
            }
        }
    }
}

/// A wrong length reaching an unchecked entry point is a caller's bug; native code must not see it.
#[cold]
#[inline(never)]
fn bad_lengths(function: &str) -> ! {
    panic!("JitPlant::{function}_unchecked: vectors of the wrong length (use the checked entry points)")
}

impl Plant for JitPlant {
    #[inline]
    fn info(&self) -> &PlantInfo {
        self.base.info()
    }

    fn params(&self) -> &[f64] {
        self.base.params()
    }

    fn set_params(&mut self, values: &[f64]) -> Result<(), Error> {
        self.base.set_params(values)?;
        self.refresh_table();
        Ok(())
    }

    fn bounds(&self) -> &[Bounds] {
        self.base.bounds()
    }

    fn muscle_normalizers(&self) -> &[[f64; 2]] {
        self.base.muscle_normalizers()
    }

    fn timestep(&self) -> f64 {
        self.base.timestep()
    }

    fn workspace(&self) -> Workspace {
        Workspace::default()
    }

    fn reset_unchecked(&self, ws: &mut Workspace, joint: &[f64], state: &mut [f64]) {
        let [s, _, j] = self.dims;
        if joint.len() != j || state.len() != s {
            bad_lengths("reset");
        }
        if !self.call(self.code.reset, [joint, &[], &[], &[]], [state, &mut []]) {
            self.base.reset_unchecked(ws, joint, state);
        }
    }

    #[inline]
    fn step_unchecked(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
        next: &mut [f64],
    ) {
        let [s, c, _] = self.dims;
        if state.len() != s || controls.len() != c || next.len() != s {
            bad_lengths("step");
        }
        if !self.call(self.code.step, [state, controls, &[], &[]], [next, &mut []]) {
            self.base.step_unchecked(ws, state, controls, next);
        }
    }

    /// Blocks of four effectors as two pairs of vector lanes, then the remaining rows one by one.
    fn step_batch_unchecked(
        &self,
        ws: &mut Workspace,
        states: &[f64],
        controls: &[f64],
        next: &mut [f64],
    ) {
        let [s, c, _] = self.dims;
        let n = states.len() / s.max(1);
        if states.len() != n * s || controls.len() != n * c || next.len() != n * s {
            bad_lengths("step_batch");
        }
        let blocks = n / LANES;
        let (xs, rows_x) = states.split_at(blocks * LANES * s);
        let (us, rows_u) = controls.split_at(blocks * LANES * c);
        let (ys, rows_y) = next.split_at_mut(blocks * LANES * s);
        for ((x, u), y) in xs
            .chunks_exact(LANES * s)
            .zip(us.chunks_exact(LANES * c))
            .zip(ys.chunks_exact_mut(LANES * s))
        {
            for pair in [0, 2] {
                // SAFETY: the block holds `s` (or `c`) components of `LANES` values each, so lanes `pair`
                // and `pair + 1` of every component lie within it; `table` holds every slot.
                let status = unsafe {
                    (self.code.step_pair)(
                        self.table.as_ptr(),
                        x.as_ptr().add(pair),
                        u.as_ptr().add(pair),
                        std::ptr::null(),
                        std::ptr::null(),
                        y.as_mut_ptr().add(pair),
                        std::ptr::null_mut(),
                    )
                };
                if status != 0 {
                    self.step_pair_interpreted(ws, pair, x, u, y);
                }
            }
        }
        for ((x, u), y) in rows_x
            .chunks_exact(s)
            .zip(rows_u.chunks_exact(c))
            .zip(rows_y.chunks_exact_mut(s))
        {
            if !self.call(self.code.step, [x, u, &[], &[]], [y, &mut []]) {
                self.base.step_unchecked(ws, x, u, y);
            }
        }
    }

    fn step_vjp_unchecked(
        &self,
        ws: &mut Workspace,
        x: &[f64],
        u: &[f64],
        w: &[f64],
        gx: &mut [f64],
        gu: &mut [f64],
    ) {
        let [s, c, _] = self.dims;
        if x.len() != s || u.len() != c || w.len() != s || gx.len() != s || gu.len() != c {
            bad_lengths("step_vjp");
        }
        if !self.call(self.code.step_vjp, [x, u, w, &[]], [gx, gu]) {
            self.base.step_vjp_unchecked(ws, x, u, w, gx, gu);
        }
    }

    fn step_jvp_unchecked(
        &self,
        ws: &mut Workspace,
        x: &[f64],
        u: &[f64],
        tx: &[f64],
        tu: &[f64],
        out: &mut [f64],
    ) {
        let [s, c, _] = self.dims;
        if x.len() != s || u.len() != c || tx.len() != s || tu.len() != c || out.len() != s {
            bad_lengths("step_jvp");
        }
        if !self.call(self.code.step_jvp, [x, u, tx, tu], [out, &mut []]) {
            self.base.step_jvp_unchecked(ws, x, u, tx, tu, out);
        }
    }
}
