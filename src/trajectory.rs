//! Simulations written out: CSV streamed step by step (one row per step and effector, named columns), so
//! a simulation of any length runs in constant memory and a diverging one leaves every row computed
//! before the divergence; or a recorded [`Trajectory`] as JSON in the schema of the reference
//! trajectories (which `motornet verify` reads back).

use crate::{Effector, Error, Plant, PlantInfo};
use serde_json::json;
use std::io::Write;

/// Column names of [`stream_csv`]'s rows.
pub fn csv_columns(i: &PlantInfo) -> Vec<String> {
    let mut c = vec!["effector".to_string(), "step".into(), "time".into()];
    c.extend(i.coord_names.iter().map(|n| format!("q[{n}]")));
    c.extend(i.coord_names.iter().map(|n| format!("qd[{n}]")));
    c.extend(
        i.muscle_state_names
            .iter()
            .flat_map(|s| i.muscle_names.iter().map(move |m| format!("{s}[{m}]"))),
    );
    c.extend(
        i.geometry_state_names
            .iter()
            .flat_map(|s| i.muscle_names.iter().map(move |m| format!("{s}[{m}]"))),
    );
    c.extend(["x", "y", "vx", "vy"].map(String::from));
    c.extend(i.muscle_names.iter().map(|m| format!("excitation[{m}]")));
    c
}

/// Constant loads applied at every step: an endpoint force `[fx, fy]` and generalized joint forces, each
/// for one effector (repeated) or for every effector; empty for none.
#[derive(Clone, Copy, Debug, Default)]
pub struct Loads<'a> {
    pub endpoint: &'a [f64],
    pub joint: &'a [f64],
}

/// Why [`stream_csv`] stopped early.
#[derive(Debug)]
pub enum StreamError {
    /// Writing the output failed (a closed pipe, a full disk).
    Write(std::io::Error),
    /// The simulation failed in step `step` (from the rows of step `step` to those of `step + 1`), for
    /// instance by diverging; every row up to and including step `step` was written.
    Simulation { step: usize, error: Error },
}

/// Simulates `batch` effectors for `steps` steps and writes CSV as it goes: a header, then for each step
/// `t = 0..=steps` one row per effector with its state and the excitation applied during step `t` (empty
/// after the last step). `excitation(t, u)` fills the `batch × n_muscles` excitations of step `t`.
pub fn stream_csv<P: Plant>(
    plant: P,
    joint0: &[f64],
    batch: usize,
    steps: usize,
    mut excitation: impl FnMut(usize, &mut [f64]),
    loads: Loads,
    out: &mut dyn Write,
) -> Result<(), StreamError> {
    let info = plant.info().clone();
    let dt = plant.timestep();
    let (dim, m) = (info.state_dim(), info.n_muscles());
    let sim = |step, error| StreamError::Simulation { step, error };
    let mut e = Effector::new(plant, batch);
    e.reset(joint0).map_err(|err| sim(0, err))?;
    writeln!(out, "{}", csv_columns(&info).join(",")).map_err(StreamError::Write)?;
    let mut u = vec![0.0; batch * m];
    let mut line = String::new();
    for t in 0..=steps {
        let last = t == steps;
        if !last {
            excitation(t, &mut u);
        }
        let states = e.states();
        for b in 0..batch {
            use std::fmt::Write as _;
            line.clear();
            let _ = write!(line, "{b},{t},{}", t as f64 * dt);
            for v in &states[b * dim..(b + 1) * dim] {
                let _ = write!(line, ",{v}");
            }
            for k in 0..m {
                match last {
                    true => line.push(','),
                    false => {
                        let _ = write!(line, ",{}", u[b * m + k]);
                    }
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes()).map_err(StreamError::Write)?;
        }
        if !last {
            e.step(&u, loads.endpoint, loads.joint)
                .map_err(|err| sim(t, err))?;
        }
    }
    out.flush().map_err(StreamError::Write)
}

/// States of `batch` effectors at steps `0..=steps` (0 = right after reset).
pub struct Trajectory {
    pub info: PlantInfo,
    pub dt: f64,
    pub batch: usize,
    /// `states[t]` is `batch × state_dim`.
    pub states: Vec<Vec<f64>>,
    pub initial_joint_state: Vec<f64>,
    /// `actions[t]` is `batch × n_muscles`.
    pub actions: Vec<Vec<f64>>,
    pub endpoint_load: Vec<f64>,
    pub joint_load: Vec<f64>,
}

/// Runs a simulation. `excitation(t)` gives the `batch × n_muscles` excitations of step `t`.
pub fn simulate<P: Plant>(
    plant: P,
    joint0: &[f64],
    batch: usize,
    steps: usize,
    mut excitation: impl FnMut(usize) -> Vec<f64>,
    endpoint_load: &[f64],
    joint_load: &[f64],
) -> Result<Trajectory, Error> {
    let info = plant.info().clone();
    let dt = plant.timestep();
    let mut e = Effector::new(plant, batch);
    e.reset(joint0)?;
    let mut states = vec![e.states()];
    let mut actions = Vec::with_capacity(steps);
    for t in 0..steps {
        let u = excitation(t);
        e.step(&u, endpoint_load, joint_load)?;
        actions.push(u);
        states.push(e.states());
    }
    Ok(Trajectory {
        info,
        dt,
        batch,
        states,
        initial_joint_state: joint0.to_vec(),
        actions,
        endpoint_load: endpoint_load.to_vec(),
        joint_load: joint_load.to_vec(),
    })
}

impl Trajectory {
    pub fn steps(&self) -> usize {
        self.states.len() - 1
    }

    /// JSON in the reference-trajectory schema (`batch × (steps+1) × …` arrays).
    pub fn to_json(&self) -> serde_json::Value {
        let i = &self.info;
        let dim = i.state_dim();
        let part = |name: &str, rows: usize| -> serde_json::Value {
            let (at, len) = i.part(name).expect("part");
            let cols = len / rows.max(1);
            (0..self.batch)
                .map(|b| {
                    self.states
                        .iter()
                        .map(|s| {
                            let v = &s[b * dim + at..b * dim + at + len];
                            if rows == 1 {
                                json!(v)
                            } else {
                                json!(v.chunks(cols).collect::<Vec<_>>())
                            }
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let m = i.n_muscles();
        let jd = i.joint_dim();
        let actions: Vec<Vec<&[f64]>> = (0..self.batch)
            .map(|b| {
                self.actions
                    .iter()
                    .map(|a| &a[b * m..(b + 1) * m])
                    .collect()
            })
            .collect();
        json!({
            "case": i.name,
            "source": format!("motornet {}", env!("CARGO_PKG_VERSION")),
            "dt": self.dt,
            "steps": self.steps(),
            "batch": self.batch,
            "n_muscles": m,
            "dof": i.dof(),
            "muscle_names": i.muscle_names,
            "muscle_state_names": i.muscle_state_names,
            "geometry_state_names": i.geometry_state_names,
            "initial_joint_state": self.initial_joint_state.chunks(jd).collect::<Vec<_>>(),
            "actions": actions,
            "endpoint_load": self.endpoint_load,
            "joint_load": self.joint_load,
            "joint": part("joint", 1),
            "cartesian": part("cartesian", 1),
            "muscle": part("muscle", i.muscle_state_names.len()),
            "geometry": part("geometry", i.geometry_state_names.len()),
        })
    }
}

pub use crate::runtime::files::write_atomic;
