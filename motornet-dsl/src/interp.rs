//! The interpreter: runs a program's functions directly from the graph, for models loaded at run time.
//!
//! A function is flattened once into a [`Tape`] of register instructions over its live nodes. Nodes that
//! depend only on parameters are computed once per parameter set ([`static_values`]) and kept in the first
//! registers, so each evaluation executes only the input-dependent instructions.

use crate::ir::{eval_binary, eval_unary, Binary, Graph, NodeId, Op, Unary};
use crate::program::Function;

#[derive(Clone, Copy, Debug)]
enum Instr {
    Unary(Unary, u32, u32),
    Binary(Binary, u32, u32, u32),
    Select(u32, u32, u32, u32),
}

/// A function flattened into straight-line register code.
#[derive(Clone, Debug)]
pub struct Tape {
    /// Graph nodes whose (static) values occupy registers `0..statics.len()`.
    statics: Vec<NodeId>,
    instrs: Vec<Instr>,
    /// (argument position, register) of each input the function reads.
    inputs: Vec<(usize, u32)>,
    outputs: Vec<u32>,
    n_registers: usize,
}

/// Values of all parameter-only nodes (NaN elsewhere), given parameter values.
pub fn static_values(graph: &Graph, params: &[f64]) -> Vec<f64> {
    let stat = graph.static_nodes();
    let mut v = vec![f64::NAN; graph.len()];
    for (i, op) in graph.ops().iter().enumerate() {
        if !stat[i] {
            continue;
        }
        v[i] = match *op {
            Op::Const(b) => f64::from_bits(b),
            Op::Bool(b) => f64::from(b),
            Op::Param(p) => params[p as usize],
            Op::Unary(u, a) => eval_unary(u, v[a.index()]),
            Op::Binary(b, x, y) => eval_binary(b, v[x.index()], v[y.index()]),
            Op::Select(c, a, b) => {
                if v[c.index()] != 0.0 {
                    v[a.index()]
                } else {
                    v[b.index()]
                }
            }
            Op::Input(_) | Op::Var(_) => unreachable!("inputs are never static"),
        };
    }
    v
}

impl Tape {
    pub fn new(graph: &Graph, f: &Function) -> Tape {
        let live = graph.reachable(&f.outputs);
        let stat = graph.static_nodes();
        let mut reg = vec![u32::MAX; live.len()];
        let mut statics = Vec::new();
        for i in 0..live.len() {
            if live[i] && stat[i] {
                reg[i] = statics.len() as u32;
                statics.push(NodeId(i as u32));
            }
        }
        let mut next = statics.len() as u32;
        let mut instrs = Vec::new();
        let mut inputs = Vec::new();
        for i in 0..live.len() {
            if !live[i] || stat[i] {
                continue;
            }
            reg[i] = next;
            let r = |n: NodeId| reg[n.index()];
            match graph.ops()[i] {
                Op::Input(k) => {
                    let pos = f
                        .inputs
                        .iter()
                        .position(|&x| x == k)
                        .expect("function reads an input it does not declare");
                    inputs.push((pos, next));
                }
                Op::Var(_) => panic!("unsubstituted placeholder in a function"),
                Op::Unary(u, a) => instrs.push(Instr::Unary(u, next, r(a))),
                Op::Binary(b, x, y) => instrs.push(Instr::Binary(b, next, r(x), r(y))),
                Op::Select(c, a, b) => instrs.push(Instr::Select(next, r(c), r(a), r(b))),
                Op::Const(_) | Op::Bool(_) | Op::Param(_) => unreachable!("static"),
            }
            next += 1;
        }
        let outputs = f.outputs.iter().map(|o| reg[o.index()]).collect();
        Tape {
            statics,
            instrs,
            inputs,
            outputs,
            n_registers: next as usize,
        }
    }

    /// A register file for this tape with the static values filled in.
    pub fn registers(&self, static_values: &[f64]) -> Vec<f64> {
        let mut regs = vec![0.0; self.n_registers];
        for (k, n) in self.statics.iter().enumerate() {
            regs[k] = static_values[n.index()];
        }
        regs
    }

    /// Number of instructions run per evaluation.
    pub fn len(&self) -> usize {
        self.instrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instrs.is_empty()
    }

    /// Evaluates the function. Its arguments are the concatenation of `args` (e.g. `[state, controls]`);
    /// results go to `out`.
    pub fn run(&self, regs: &mut [f64], args: &[&[f64]], out: &mut [f64]) {
        for &(pos, r) in &self.inputs {
            let mut pos = pos;
            for a in args {
                if pos < a.len() {
                    regs[r as usize] = a[pos];
                    break;
                }
                pos -= a.len();
            }
        }
        for ins in &self.instrs {
            match *ins {
                Instr::Unary(u, d, a) => regs[d as usize] = eval_unary(u, regs[a as usize]),
                Instr::Binary(b, d, x, y) => {
                    regs[d as usize] = eval_binary(b, regs[x as usize], regs[y as usize])
                }
                Instr::Select(d, c, a, b) => {
                    regs[d as usize] = if regs[c as usize] != 0.0 {
                        regs[a as usize]
                    } else {
                        regs[b as usize]
                    }
                }
            }
        }
        for (o, &r) in out.iter_mut().zip(&self.outputs) {
            *o = regs[r as usize];
        }
    }

    /// Like [`Tape::run`], with the results split over several output slices (in order).
    pub fn run_into(&self, regs: &mut [f64], args: &[&[f64]], outs: &mut [&mut [f64]]) {
        self.run(regs, args, &mut []);
        let mut k = 0;
        for out in outs.iter_mut() {
            for o in out.iter_mut() {
                *o = regs[self.outputs[k] as usize];
                k += 1;
            }
        }
    }
}
