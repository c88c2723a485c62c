//! Plants built at run time from `.mnet` source, evaluated by the graph interpreter.

use crate::diag::{Report, Style};
use crate::interp::{static_values, Tape};
use crate::program::Program;
use motornet_runtime::plant::{Bounds, Plant, PlantInfo, Workspace};
use motornet_runtime::Error;
use std::sync::Arc;

/// A model compiled from source at run time and run by the interpreter.
#[derive(Clone)]
pub struct InterpretedPlant {
    program: Arc<Program>,
    info: PlantInfo,
    reset: Tape,
    step: Tape,
    step_vjp: Tape,
    step_jvp: Tape,
    params: Vec<f64>,
    statics: Vec<f64>,
    bounds: Vec<Bounds>,
    normalizers: Vec<[f64; 2]>,
    /// Bumped on every parameter change, so workspaces prepared for older values are refreshed.
    generation: u64,
}

impl InterpretedPlant {
    /// Compiles model source. `file_name` is used in error messages.
    pub fn from_source(source: &str, file_name: &str) -> Result<Self, Error> {
        let (model, diags) = crate::check::compile_source(source);
        match model {
            Some(m) if diags.is_empty() => Ok(Self::from_program(crate::lower::lower(&m))),
            _ => Err(Error::Compile(
                Report {
                    file_name,
                    source,
                    diagnostics: &diags,
                }
                .render(Style::Plain),
            )),
        }
    }

    pub fn from_program(program: Program) -> Self {
        let info = info_of(&program);
        let reset = Tape::new(&program.graph, &program.reset);
        let step = Tape::new(&program.graph, &program.step);
        let step_vjp = Tape::new(&program.graph, &program.step_vjp);
        let step_jvp = Tape::new(&program.graph, &program.step_jvp);
        let params: Vec<f64> = program.params.iter().map(|p| p.default).collect();
        let mut plant = InterpretedPlant {
            program: Arc::new(program),
            info,
            reset,
            step,
            step_vjp,
            step_jvp,
            params: Vec::new(),
            statics: Vec::new(),
            bounds: Vec::new(),
            normalizers: Vec::new(),
            generation: 0,
        };
        plant
            .set_params(&params)
            .expect("the checker validated the file's own values");
        plant
    }

    fn refresh(&self, ws: &mut Workspace) {
        if ws.generation != self.generation || ws.buffers.len() != 4 {
            *ws = self.workspace();
        }
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Instructions executed per step (the size of the step function after sharing and folding).
    pub fn step_instructions(&self) -> usize {
        self.step.len()
    }
}

/// The plant description of a program.
pub fn info_of(p: &Program) -> PlantInfo {
    p.info.clone()
}

/// Checks parameter values against a program's constraints, given the static values they produce.
pub fn constraint_violations(program: &Program, statics: &[f64]) -> Vec<String> {
    program
        .constraints
        .iter()
        .filter(|c| {
            let v = statics[c.value.index()];
            !(v.is_finite() && if c.strict { v > 0.0 } else { v >= 0.0 })
        })
        .map(|c| c.message.clone())
        .collect()
}

impl Plant for InterpretedPlant {
    fn info(&self) -> &PlantInfo {
        &self.info
    }

    fn params(&self) -> &[f64] {
        &self.params
    }

    fn set_params(&mut self, values: &[f64]) -> Result<(), Error> {
        if values.len() != self.program.params.len() {
            return Err(Error::Shape {
                what: "parameters".into(),
                expected: self.program.params.len(),
                got: values.len(),
            });
        }
        let statics = static_values(&self.program.graph, values);
        let violations = constraint_violations(&self.program, &statics);
        if !violations.is_empty() {
            return Err(Error::InvalidParams(violations));
        }
        let l = &self.program.nodes;
        self.bounds = l
            .position_bounds
            .iter()
            .zip(&l.velocity_bounds)
            .map(|(p, v)| Bounds {
                lower: statics[p.0.index()],
                upper: statics[p.1.index()],
                vel_lower: statics[v.0.index()],
                vel_upper: statics[v.1.index()],
            })
            .collect();
        self.normalizers = l
            .muscle_normalizers
            .iter()
            .map(|&(a, b)| [statics[a.index()], statics[b.index()]])
            .collect();
        self.params = values.to_vec();
        self.statics = statics;
        self.generation += 1;
        Ok(())
    }

    fn bounds(&self) -> &[Bounds] {
        &self.bounds
    }

    fn muscle_normalizers(&self) -> &[[f64; 2]] {
        &self.normalizers
    }

    fn timestep(&self) -> f64 {
        self.statics[self.program.timestep.index()]
    }

    fn workspace(&self) -> Workspace {
        Workspace {
            buffers: [&self.reset, &self.step, &self.step_vjp, &self.step_jvp]
                .iter()
                .map(|t| t.registers(&self.statics))
                .collect(),
            generation: self.generation,
            ..Workspace::default()
        }
    }

    fn reset_unchecked(&self, ws: &mut Workspace, joint: &[f64], state: &mut [f64]) {
        self.refresh(ws);
        self.reset.run(&mut ws.buffers[0], &[joint], state);
    }

    fn step_unchecked(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
        next: &mut [f64],
    ) {
        self.refresh(ws);
        self.step.run(&mut ws.buffers[1], &[state, controls], next);
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
        self.refresh(ws);
        let (s, regs) = (x.len(), &mut ws.buffers[2]);
        self.step_vjp.run_into(regs, &[x, u, w], &mut [gx, gu]);
        debug_assert_eq!(s, gx.len());
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
        self.refresh(ws);
        self.step_jvp.run(&mut ws.buffers[3], &[x, u, tx, tu], out);
    }
}
