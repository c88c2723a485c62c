//! A lowered model: the expression graph plus the functions read from it and the layout of their vectors.
//! This is what both the interpreter and the code generator consume.

use crate::ir::{Graph, NodeId, Op};
use crate::model::{Integrator, ParamDef};

/// A function of the program: the graph inputs it reads (in argument order) and the nodes it returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub inputs: Vec<u32>,
    pub outputs: Vec<NodeId>,
}

/// Where each part of the effector state lives in the flat state vector, following MotorNet's layout:
/// `joint` (positions then velocities), `muscle` (rows × muscles, row-major), `geometry` (musculotendon
/// length, velocity, then dL/dq per coordinate; rows × muscles), `cartesian` (endpoint x, y, vx, vy).
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub coord_names: Vec<String>,
    pub muscle_names: Vec<String>,
    pub muscle_model: Option<&'static str>,
    pub muscle_state_names: Vec<String>,
    pub geometry_state_names: Vec<String>,
    /// Lower and upper position bounds of each coordinate as parameter-only nodes (±∞ when unbounded).
    pub position_bounds: Vec<(NodeId, NodeId)>,
    pub velocity_bounds: Vec<(NodeId, NodeId)>,
    /// Per muscle, parameter-only nodes of (length scale, velocity scale) for proprioception.
    pub muscle_normalizers: Vec<(NodeId, NodeId)>,
}

impl Layout {
    pub fn dof(&self) -> usize {
        self.coord_names.len()
    }
    pub fn n_muscles(&self) -> usize {
        self.muscle_names.len()
    }
    pub fn joint_dim(&self) -> usize {
        2 * self.dof()
    }
    pub fn muscle_dim(&self) -> usize {
        self.muscle_state_names.len() * self.n_muscles()
    }
    pub fn geometry_dim(&self) -> usize {
        self.geometry_state_names.len() * self.n_muscles()
    }
    pub const CARTESIAN_DIM: usize = 4;
    /// Named parts of the state vector: (name, offset, length).
    pub fn parts(&self) -> [(&'static str, usize, usize); 4] {
        let j = self.joint_dim();
        let m = self.muscle_dim();
        let g = self.geometry_dim();
        [
            ("joint", 0, j),
            ("muscle", j, m),
            ("geometry", j + m, g),
            ("cartesian", j + m + g, Self::CARTESIAN_DIM),
        ]
    }
    pub fn state_dim(&self) -> usize {
        self.joint_dim() + self.muscle_dim() + self.geometry_dim() + Self::CARTESIAN_DIM
    }
    pub fn part(&self, name: &str) -> Option<(usize, usize)> {
        self.parts()
            .into_iter()
            .find(|p| p.0 == name)
            .map(|p| (p.1, p.2))
    }
}

/// A check on parameter values (must be finite and `> 0`, or `>= 0` when not strict).
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramConstraint {
    pub value: NodeId,
    pub strict: bool,
    pub message: String,
}

#[derive(Clone)]
pub struct Program {
    pub name: String,
    pub graph: Graph,
    pub params: Vec<ParamDef>,
    pub layout: Layout,
    pub integrator: Integrator,
    pub ministeps: usize,
    /// `timestep` in seconds, as a parameter-only node.
    pub timestep: NodeId,
    /// joint state (2·dof) → full state.
    pub reset: Function,
    /// state, excitations (n_muscles), endpoint load (2), joint load (dof) → next state.
    pub step: Function,
    /// Reverse mode: (state, controls, cotangent of the next state) → (cotangent of the state, cotangent of
    /// the controls). Recomputes the step's intermediates rather than storing them.
    pub step_vjp: Function,
    /// Forward mode: (state, controls, tangent of the state, tangent of the controls) → tangent of the next
    /// state.
    pub step_jvp: Function,
    pub constraints: Vec<ProgramConstraint>,
}

impl Program {
    /// Number of inputs of `step` besides the state: excitations, endpoint load, joint load.
    pub fn control_dim(&self) -> usize {
        self.layout.n_muscles() + 2 + self.layout.dof()
    }

    /// Node counts of a function (reachable nodes, and how many of them depend on inputs), for reports.
    pub fn size(&self, f: &Function) -> (usize, usize) {
        let live = self.graph.reachable(&f.outputs);
        let stat = self.graph.static_nodes();
        let n = live.iter().filter(|&&l| l).count();
        let dynamic = live
            .iter()
            .enumerate()
            .filter(|&(i, &l)| l && !stat[i])
            .count();
        (n, dynamic)
    }

    /// True when no placeholder survives in the functions (an internal invariant).
    pub fn is_closed(&self) -> bool {
        let outputs: Vec<NodeId> = self
            .reset
            .outputs
            .iter()
            .chain(&self.step.outputs)
            .copied()
            .collect();
        let live = self.graph.reachable(&outputs);
        live.iter()
            .enumerate()
            .all(|(i, &l)| !l || !matches!(self.graph.ops()[i], Op::Var(_)))
    }
}
