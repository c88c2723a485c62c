//! Recorded simulations: every state of every effector over time, written as CSV (one row per effector
//! and step, named columns) or as JSON in the schema of the reference trajectories (which `motornet verify`
//! reads back).

use crate::{Effector, Error, Plant, PlantInfo};
use serde_json::json;

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

    /// Column names of [`Trajectory::to_csv`].
    pub fn columns(&self) -> Vec<String> {
        let i = &self.info;
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

    pub fn to_csv(&self) -> String {
        let dim = self.info.state_dim();
        let m = self.info.n_muscles();
        let mut out = self.columns().join(",");
        out.push('\n');
        for b in 0..self.batch {
            for (t, s) in self.states.iter().enumerate() {
                out.push_str(&format!("{b},{t},{}", t as f64 * self.dt));
                for v in &s[b * dim..(b + 1) * dim] {
                    out.push_str(&format!(",{v}"));
                }
                // The excitation applied during the step that leads to the next row.
                for k in 0..m {
                    let u = self.actions.get(t).map_or(f64::NAN, |a| a[b * m + k]);
                    out.push_str(&format!(",{u}"));
                }
                out.push('\n');
            }
        }
        out
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
