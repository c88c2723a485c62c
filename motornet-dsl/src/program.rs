//! A lowered model: the expression graph plus the functions read from it and the layout of their vectors.
//! This is what both the interpreter and the code generator consume.

use crate::ir::{Graph, NodeId, Op};
use crate::model::{Integrator, ParamDef};
use motornet_runtime::plant::PlantInfo;

/// A function of the program: the graph inputs it reads (in argument order) and the nodes it returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub inputs: Vec<u32>,
    pub outputs: Vec<NodeId>,
}

/// The parameter-only nodes a plant reads besides its functions. (The layout of its vectors is
/// [`Program::info`].)
#[derive(Clone, Debug, PartialEq)]
pub struct PlantNodes {
    /// Lower and upper position bounds of each coordinate (±∞ when unbounded).
    pub position_bounds: Vec<(NodeId, NodeId)>,
    pub velocity_bounds: Vec<(NodeId, NodeId)>,
    /// Per muscle, (length scale, velocity scale) for proprioception.
    pub muscle_normalizers: Vec<(NodeId, NodeId)>,
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
    /// Names and layout of the state and control vectors (MotorNet's layout), as the runtime describes
    /// every plant.
    pub info: PlantInfo,
    pub nodes: PlantNodes,
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
        self.info.control_dim()
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
