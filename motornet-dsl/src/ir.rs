//! The intermediate representation: one flat, hash-consed expression graph.
//!
//! Nodes live in a `Vec`; a node's operands always come earlier, so evaluation is one forward loop and
//! reverse-mode differentiation one backward loop. Inserting a node first simplifies it (constant folding,
//! algebraic identities) and then looks it up, so equal subexpressions are stored once.
//!
//! Values are `f64`, except comparison and logic nodes, which are booleans (see [`Op::is_bool`]).
//!
//! Non-smooth operations carry PyTorch's one-sided derivative conventions, so that gradients through the
//! graph equal MotorNet's autograd gradients (see [`Graph::tangent`], the single table of derivative rules
//! used by forward mode, reverse mode, the interpreter and the generated code).

use std::collections::HashMap;
use std::fmt;

/// Index of a node in its [`Graph`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

pub use motornet_runtime::math::{
    atan2, clamp_max, clamp_min, cos, exp, maximum, minimum, sin, sin_cos_reduced,
    SIN_COS_REDUCTION_LIMIT,
};
pub use motornet_runtime::ops::{eval_binary, eval_unary, Binary, Unary};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Op {
    /// A constant (stored as bits so the node can be hashed).
    Const(u64),
    Bool(bool),
    /// A run-time input of a function (state, excitation, load, cotangent…), numbered per program.
    Input(u32),
    /// A model parameter: fixed during a simulation, settable between simulations.
    Param(u32),
    /// A placeholder used while building templates; always substituted away before evaluation.
    Var(u32),
    Unary(Unary, NodeId),
    Binary(Binary, NodeId, NodeId),
    /// `if cond { a } else { b }`; both operands are evaluated (it is a select, not a branch).
    Select(NodeId, NodeId, NodeId),
}

impl Op {
    pub fn constant(v: f64) -> Op {
        // One NaN and one zero, so that equal values hash-cons to one node.
        let v = if v.is_nan() {
            f64::NAN
        } else if v == 0.0 {
            0.0
        } else {
            v
        };
        Op::Const(v.to_bits())
    }

    pub fn as_const(&self) -> Option<f64> {
        match *self {
            Op::Const(b) => Some(f64::from_bits(b)),
            _ => None,
        }
    }

    pub fn is_bool(&self) -> bool {
        matches!(
            self,
            Op::Bool(_)
                | Op::Unary(Unary::Not, _)
                | Op::Binary(Binary::Lt | Binary::Le | Binary::And | Binary::Or, _, _)
        )
    }

    /// The operands of this node, in order.
    pub fn operands(&self) -> impl Iterator<Item = NodeId> {
        let (a, b, c) = match *self {
            Op::Unary(_, a) => (Some(a), None, None),
            Op::Binary(_, a, b) => (Some(a), Some(b), None),
            Op::Select(c, a, b) => (Some(c), Some(a), Some(b)),
            _ => (None, None, None),
        };
        a.into_iter().chain(b).chain(c)
    }

    fn map_operands(&self, mut f: impl FnMut(NodeId) -> NodeId) -> Op {
        match *self {
            Op::Unary(u, a) => Op::Unary(u, f(a)),
            Op::Binary(b, x, y) => Op::Binary(b, f(x), f(y)),
            Op::Select(c, x, y) => Op::Select(f(c), f(x), f(y)),
            op => op,
        }
    }
}

/// The expression graph.
#[derive(Clone, Default)]
pub struct Graph {
    ops: Vec<Op>,
    index: HashMap<Op, NodeId>,
    /// Per node: depends only on constants and parameters.
    fixed: Vec<bool>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn op(&self, id: NodeId) -> Op {
        self.ops[id.index()]
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub fn is_bool(&self, id: NodeId) -> bool {
        self.op(id).is_bool()
    }

    pub fn const_value(&self, id: NodeId) -> Option<f64> {
        self.op(id).as_const()
    }

    /// A graph holding exactly `ops`, in order, without simplification (the text form reads graphs back
    /// with it). Operands must precede their users.
    pub fn from_ops(ops: Vec<Op>) -> Graph {
        let mut g = Graph::new();
        for op in ops {
            g.push(op);
        }
        g
    }

    /// Inserts an operation, simplified and shared with an equal existing node.
    pub fn add(&mut self, op: Op) -> NodeId {
        let op = match self.simplify(op) {
            Simplified::Node(id) => return id,
            Simplified::Op(op) => op,
        };
        if let Some(&id) = self.index.get(&op) {
            return id;
        }
        self.push(op)
    }

    /// Appends `op` as a new node.
    fn push(&mut self, op: Op) -> NodeId {
        let id = NodeId(u32::try_from(self.ops.len()).expect("graph larger than 2^32 nodes"));
        let fixed = match op {
            Op::Const(_) | Op::Bool(_) | Op::Param(_) => true,
            Op::Input(_) | Op::Var(_) => false,
            _ => op.operands().all(|o| self.fixed[o.index()]),
        };
        self.ops.push(op);
        self.fixed.push(fixed);
        self.index.entry(op).or_insert(id);
        id
    }

    pub fn constant(&mut self, v: f64) -> NodeId {
        self.add(Op::constant(v))
    }
    pub fn boolean(&mut self, b: bool) -> NodeId {
        self.add(Op::Bool(b))
    }
    pub fn input(&mut self, i: u32) -> NodeId {
        self.add(Op::Input(i))
    }
    pub fn param(&mut self, i: u32) -> NodeId {
        self.add(Op::Param(i))
    }
    pub fn var(&mut self, i: u32) -> NodeId {
        self.add(Op::Var(i))
    }
    pub fn unary(&mut self, u: Unary, a: NodeId) -> NodeId {
        self.add(Op::Unary(u, a))
    }
    pub fn binary(&mut self, b: Binary, x: NodeId, y: NodeId) -> NodeId {
        self.add(Op::Binary(b, x, y))
    }
    pub fn select(&mut self, c: NodeId, a: NodeId, b: NodeId) -> NodeId {
        self.add(Op::Select(c, a, b))
    }
    pub fn add2(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.binary(Binary::Add, x, y)
    }
    pub fn sub(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.binary(Binary::Sub, x, y)
    }
    pub fn mul(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.binary(Binary::Mul, x, y)
    }
    pub fn div(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.binary(Binary::Div, x, y)
    }
    pub fn neg(&mut self, x: NodeId) -> NodeId {
        self.unary(Unary::Neg, x)
    }
    pub fn lt(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.binary(Binary::Lt, x, y)
    }
    pub fn scale(&mut self, k: f64, x: NodeId) -> NodeId {
        let k = self.constant(k);
        self.mul(k, x)
    }
    /// Sum of many terms (0 for none).
    pub fn sum(&mut self, terms: impl IntoIterator<Item = NodeId>) -> NodeId {
        let mut acc: Option<NodeId> = None;
        for t in terms {
            acc = Some(match acc {
                None => t,
                Some(a) => self.add2(a, t),
            });
        }
        acc.unwrap_or_else(|| self.constant(0.0))
    }

    fn simplify(&mut self, op: Op) -> Simplified {
        use Simplified::{Node, Op as O};
        let c = |g: &Graph, id: NodeId| g.const_value(id);
        let b = |g: &Graph, id: NodeId| match g.op(id) {
            Op::Bool(v) => Some(v),
            _ => None,
        };
        match op {
            Op::Unary(u, a) => {
                if u == Unary::Not {
                    if let Some(v) = b(self, a) {
                        return O(Op::Bool(!v));
                    }
                    if let Op::Unary(Unary::Not, x) = self.op(a) {
                        return Node(x);
                    }
                    return O(op);
                }
                if let Some(x) = c(self, a) {
                    return O(Op::constant(eval_unary(u, x)));
                }
                match (u, self.op(a)) {
                    (Unary::Neg, Op::Unary(Unary::Neg, x)) => Node(x),
                    (Unary::Powi(1), _) => Node(a),
                    (Unary::Powi(0), _) => O(Op::constant(1.0)),
                    _ => O(op),
                }
            }
            Op::Binary(bin, x, y) => {
                if matches!(bin, Binary::And | Binary::Or) {
                    let (bx, by) = (b(self, x), b(self, y));
                    return match (bin, bx, by) {
                        (Binary::And, Some(false), _) | (Binary::And, _, Some(false)) => {
                            O(Op::Bool(false))
                        }
                        (Binary::Or, Some(true), _) | (Binary::Or, _, Some(true)) => {
                            O(Op::Bool(true))
                        }
                        (_, Some(_), _) => Node(y),
                        (_, _, Some(_)) => Node(x),
                        _ if x == y => Node(x),
                        _ => O(canonical(bin, x, y)),
                    };
                }
                let (cx, cy) = (c(self, x), c(self, y));
                if let (Some(u), Some(v)) = (cx, cy) {
                    let r = eval_binary(bin, u, v);
                    return O(if matches!(bin, Binary::Lt | Binary::Le) {
                        Op::Bool(r != 0.0)
                    } else {
                        Op::constant(r)
                    });
                }
                let inf = f64::INFINITY;
                match bin {
                    // Unbounded limits: clipping to ±∞ is the identity, and nothing finite reaches them.
                    Binary::Max if cx == Some(-inf) => Node(y),
                    Binary::Max if cy == Some(-inf) => Node(x),
                    Binary::Min if cx == Some(inf) => Node(y),
                    Binary::Min if cy == Some(inf) => Node(x),
                    Binary::Lt | Binary::Le if cy == Some(-inf) || cx == Some(inf) => {
                        O(Op::Bool(false))
                    }
                    Binary::Add if cx == Some(0.0) => Node(y),
                    Binary::Add | Binary::Sub if cy == Some(0.0) => Node(x),
                    Binary::Sub if cx == Some(0.0) => Node(self.neg(y)),
                    Binary::Sub if x == y => O(Op::constant(0.0)),
                    // x·0 = 0 even though inf·0 is NaN: derivative graphs are full of zero factors, and a
                    // non-finite value in the state is caught by the runtime's finiteness checks anyway.
                    Binary::Mul if cx == Some(0.0) || cy == Some(0.0) => O(Op::constant(0.0)),
                    Binary::Mul if cx == Some(1.0) => Node(y),
                    Binary::Mul if cy == Some(1.0) => Node(x),
                    Binary::Mul if cx == Some(-1.0) => Node(self.neg(y)),
                    Binary::Mul if cy == Some(-1.0) => Node(self.neg(x)),
                    Binary::Div if cy == Some(1.0) => Node(x),
                    Binary::Div if cx == Some(0.0) => O(Op::constant(0.0)),
                    // x/y becomes x·(1/y): by a parameter-only y, the reciprocal is computed once per
                    // parameter set; otherwise it is shared by every division by y and by the derivative
                    // rules (d(1/y) = −(1/y)²·dy needs no further division). Divisions are the slowest
                    // arithmetic in a step.
                    Binary::Div if !self.fixed[x.index()] && cx != Some(1.0) => {
                        let one = self.constant(1.0);
                        let inv = self.div(one, y);
                        O(canonical(Binary::Mul, x, inv))
                    }
                    _ => O(canonical(bin, x, y)),
                }
            }
            Op::Select(cond, a, bb) => match b(self, cond) {
                Some(true) => Node(a),
                Some(false) => Node(bb),
                None if a == bb => Node(a),
                None => match self.op(cond) {
                    Op::Unary(Unary::Not, inner) => O(Op::Select(inner, bb, a)),
                    _ => O(op),
                },
            },
            _ => O(op),
        }
    }

    /// The derivative rule table: the contribution `∂node/∂operand_k · t` of a tangent `t` on operand `k`.
    ///
    /// Every rule is linear in `t` and scalar, hence its own adjoint: forward mode applies it to operand
    /// tangents, reverse mode to the node's adjoint. Conventions at non-smooth points follow PyTorch.
    /// Returns `None` where the operand does not influence the value differentiably (conditions, booleans).
    pub fn tangent(&mut self, node: NodeId, k: usize, t: NodeId) -> Option<NodeId> {
        let op = self.op(node);
        Some(match op {
            Op::Unary(u, a) => {
                debug_assert_eq!(k, 0);
                match u {
                    Unary::Neg => self.neg(t),
                    Unary::Sin => {
                        let c = self.unary(Unary::Cos, a);
                        self.mul(t, c)
                    }
                    Unary::Cos => {
                        let s = self.unary(Unary::Sin, a);
                        let m = self.mul(t, s);
                        self.neg(m)
                    }
                    Unary::Exp => self.mul(t, node),
                    Unary::Ln => self.div(t, a),
                    Unary::Sqrt => {
                        let two = self.scale(2.0, node);
                        self.div(t, two)
                    }
                    Unary::Tanh => {
                        let sq = self.unary(Unary::Powi(2), node);
                        let one = self.constant(1.0);
                        let d = self.sub(one, sq);
                        self.mul(t, d)
                    }
                    Unary::Abs => {
                        // sign(a)·t with sign(0) = 0, as torch.abs.
                        let zero = self.constant(0.0);
                        let pos = self.lt(zero, a);
                        let neg = self.lt(a, zero);
                        let nt = self.neg(t);
                        let inner = self.select(neg, nt, zero);
                        self.select(pos, t, inner)
                    }
                    Unary::Powi(n) => {
                        let p = self.unary(Unary::Powi(n - 1), a);
                        let np = self.scale(f64::from(n), p);
                        self.mul(t, np)
                    }
                    Unary::Not => return None,
                }
            }
            Op::Binary(bin, x, y) => match (bin, k) {
                (Binary::Add, _) => t,
                (Binary::Sub, 0) => t,
                (Binary::Sub, _) => self.neg(t),
                (Binary::Mul, 0) => self.mul(t, y),
                (Binary::Mul, _) => self.mul(x, t),
                (Binary::Div, 0) => self.div(t, y),
                (Binary::Div, _) => {
                    // −t·x/y² = −(t·node)·(1/y); for a reciprocal (x = 1) that is −t·node², with no division.
                    let one = self.constant(1.0);
                    let inv = self.div(one, y);
                    let tn = self.mul(t, node);
                    let q = self.mul(tn, inv);
                    self.neg(q)
                }
                (Binary::Atan2, _) => {
                    // d atan2(y, x) = (x dy - y dx) / (x² + y²), with (y, x) = (operand 0, operand 1)
                    let x2 = self.unary(Unary::Powi(2), x);
                    let y2 = self.unary(Unary::Powi(2), y);
                    let r2 = self.add2(x2, y2);
                    let num = if k == 0 {
                        self.mul(y, t)
                    } else {
                        self.mul(x, t)
                    };
                    let q = self.div(num, r2);
                    if k == 0 {
                        q
                    } else {
                        self.neg(q)
                    }
                }
                (Binary::Max | Binary::Min, _) => {
                    let (me, other) = if k == 0 { (x, y) } else { (y, x) };
                    // wins: strictly better than the other operand; at a tie each gets half.
                    let wins = if bin == Binary::Max {
                        self.lt(other, me)
                    } else {
                        self.lt(me, other)
                    };
                    let loses = if bin == Binary::Max {
                        self.lt(me, other)
                    } else {
                        self.lt(other, me)
                    };
                    let zero = self.constant(0.0);
                    let half = self.scale(0.5, t);
                    let tie_or_lose = self.select(loses, zero, half);
                    self.select(wins, t, tie_or_lose)
                }
                (Binary::ClampMin, 0) => {
                    let below = self.lt(x, y);
                    let zero = self.constant(0.0);
                    self.select(below, zero, t)
                }
                (Binary::ClampMin, _) => {
                    let below = self.lt(x, y);
                    let zero = self.constant(0.0);
                    self.select(below, t, zero)
                }
                (Binary::ClampMax, 0) => {
                    let above = self.lt(y, x);
                    let zero = self.constant(0.0);
                    self.select(above, zero, t)
                }
                (Binary::ClampMax, _) => {
                    let above = self.lt(y, x);
                    let zero = self.constant(0.0);
                    self.select(above, t, zero)
                }
                (Binary::Lt | Binary::Le | Binary::And | Binary::Or, _) => return None,
            },
            Op::Select(c, _, _) => {
                let zero = self.constant(0.0);
                match k {
                    0 => return None,
                    1 => self.select(c, t, zero),
                    _ => self.select(c, zero, t),
                }
            }
            Op::Const(_) | Op::Bool(_) | Op::Input(_) | Op::Param(_) | Op::Var(_) => return None,
        })
    }

    /// Forward mode: the directional derivatives of `roots` given the tangents of some leaves (`seeds`,
    /// leaf → tangent node). Leaves without a seed have tangent zero.
    pub fn jvp(&mut self, roots: &[NodeId], seeds: &HashMap<NodeId, NodeId>) -> Vec<NodeId> {
        let Some(&max) = roots.iter().max() else {
            return Vec::new();
        };
        let live = self.reachable(roots);
        let mut tangent: HashMap<NodeId, NodeId> = seeds.clone();
        debug_assert_eq!(live.len(), max.index() + 1);
        for (i, &alive) in live.iter().enumerate() {
            let id = NodeId(i as u32);
            if !alive || tangent.contains_key(&id) {
                continue;
            }
            let operands: Vec<NodeId> = self.op(id).operands().collect();
            let mut acc: Option<NodeId> = None;
            for (k, operand) in operands.into_iter().enumerate() {
                let Some(&t) = tangent.get(&operand) else {
                    continue;
                };
                let Some(contribution) = self.tangent(id, k, t) else {
                    continue;
                };
                acc = Some(match acc {
                    None => contribution,
                    Some(a) => self.add2(a, contribution),
                });
            }
            if let Some(a) = acc {
                if self.const_value(a) != Some(0.0) {
                    tangent.insert(id, a);
                }
            }
        }
        roots
            .iter()
            .map(|r| {
                tangent
                    .get(r)
                    .copied()
                    .unwrap_or_else(|| self.constant(0.0))
            })
            .collect()
    }

    /// Reverse mode: given cotangents of `outputs`, the cotangents of `wrt` (a vector–Jacobian product).
    pub fn vjp(
        &mut self,
        outputs: &[NodeId],
        cotangents: &[NodeId],
        wrt: &[NodeId],
    ) -> Vec<NodeId> {
        assert_eq!(outputs.len(), cotangents.len());
        let Some(&max) = outputs.iter().max() else {
            return wrt.iter().map(|_| self.constant(0.0)).collect();
        };
        let live = self.reachable(outputs);
        let mut adjoint: HashMap<NodeId, NodeId> = HashMap::new();
        for (&o, &c) in outputs.iter().zip(cotangents) {
            let prev = adjoint.get(&o).copied();
            let v = match prev {
                None => c,
                Some(p) => self.add2(p, c),
            };
            adjoint.insert(o, v);
        }
        for i in (0..=max.index()).rev() {
            let id = NodeId(i as u32);
            if !live[i] {
                continue;
            }
            let Some(&adj) = adjoint.get(&id) else {
                continue;
            };
            if self.const_value(adj) == Some(0.0) {
                continue;
            }
            let operands: Vec<NodeId> = self.op(id).operands().collect();
            for (k, operand) in operands.into_iter().enumerate() {
                let Some(contribution) = self.tangent(id, k, adj) else {
                    continue;
                };
                let v = match adjoint.get(&operand) {
                    None => contribution,
                    Some(&p) => self.add2(p, contribution),
                };
                adjoint.insert(operand, v);
            }
        }
        wrt.iter()
            .map(|w| {
                adjoint
                    .get(w)
                    .copied()
                    .unwrap_or_else(|| self.constant(0.0))
            })
            .collect()
    }

    /// Rebuilds `roots` with some leaves replaced (`map`: leaf → replacement), re-simplifying on the way.
    pub fn substitute(&mut self, roots: &[NodeId], map: &HashMap<NodeId, NodeId>) -> Vec<NodeId> {
        let Some(&max) = roots.iter().max() else {
            return Vec::new();
        };
        let live = self.reachable(roots);
        let mut new: HashMap<NodeId, NodeId> = map.clone();
        debug_assert_eq!(live.len(), max.index() + 1);
        for (i, &alive) in live.iter().enumerate() {
            let id = NodeId(i as u32);
            if !alive || new.contains_key(&id) {
                continue;
            }
            let op = self.op(id);
            let rebuilt = op.map_operands(|o| new.get(&o).copied().unwrap_or(o));
            let nid = if rebuilt == op { id } else { self.add(rebuilt) };
            new.insert(id, nid);
        }
        roots.iter().map(|r| new[r]).collect()
    }

    /// Marks every node that some root depends on.
    pub fn reachable(&self, roots: &[NodeId]) -> Vec<bool> {
        let n = roots.iter().max().map_or(0, |m| m.index() + 1);
        let mut live = vec![false; n];
        for r in roots {
            live[r.index()] = true;
        }
        for i in (0..n).rev() {
            if live[i] {
                for o in self.ops[i].operands() {
                    live[o.index()] = true;
                }
            }
        }
        live
    }

    /// Marks nodes whose value depends only on constants and parameters (not on inputs): these are computed
    /// once per parameter set instead of once per step.
    pub fn static_nodes(&self) -> Vec<bool> {
        self.fixed.clone()
    }
}

fn canonical(bin: Binary, x: NodeId, y: NodeId) -> Op {
    if bin.commutative() && y < x {
        Op::Binary(bin, y, x)
    } else {
        Op::Binary(bin, x, y)
    }
}

enum Simplified {
    Node(NodeId),
    Op(Op),
}

/// Evaluates nodes `0..=max` of `graph` with the given leaf values (for tests and constant checks).
pub fn eval_all(graph: &Graph, inputs: &[f64], params: &[f64]) -> Vec<f64> {
    let mut v = Vec::with_capacity(graph.len());
    for op in graph.ops() {
        let x = match *op {
            Op::Const(b) => f64::from_bits(b),
            Op::Bool(b) => f64::from(b),
            Op::Input(i) => inputs[i as usize],
            Op::Param(i) => params[i as usize],
            Op::Var(_) => f64::NAN,
            Op::Unary(u, a) => eval_unary(u, v[a.index()]),
            Op::Binary(b, x, y) => eval_binary(b, v[x.index()], v[y.index()]),
            Op::Select(c, a, b) => {
                if v[c.index()] != 0.0 {
                    v[a.index()]
                } else {
                    v[b.index()]
                }
            }
        };
        v.push(x);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_consing_shares_equal_subexpressions() {
        let mut g = Graph::new();
        let x = g.input(0);
        let y = g.input(1);
        let a = g.mul(x, y);
        let b = g.mul(y, x);
        assert_eq!(a, b, "commutative operands are ordered");
        let s1 = g.unary(Unary::Sin, a);
        let s2 = g.unary(Unary::Sin, b);
        assert_eq!(s1, s2);
    }

    #[test]
    fn constants_fold_and_identities_simplify() {
        let mut g = Graph::new();
        let x = g.input(0);
        let two = g.constant(2.0);
        let three = g.constant(3.0);
        let six = g.mul(two, three);
        assert_eq!(g.const_value(six), Some(6.0));
        let zero = g.constant(0.0);
        assert_eq!(g.add2(x, zero), x);
        let one = g.constant(1.0);
        assert_eq!(g.mul(one, x), x);
        let nn = g.neg(x);
        assert_eq!(g.neg(nn), x);
        let lt = g.lt(two, three);
        assert_eq!(g.op(lt), Op::Bool(true));
        assert_eq!(g.select(lt, x, two), x);
    }

    #[test]
    fn forward_and_reverse_agree_with_finite_differences() {
        // f(x, y) = sin(x·y) + exp(x)/y + atan2(y, x) + sqrt(x² + y²)
        let mut g = Graph::new();
        let x = g.input(0);
        let y = g.input(1);
        let xy = g.mul(x, y);
        let s = g.unary(Unary::Sin, xy);
        let e = g.unary(Unary::Exp, x);
        let q = g.div(e, y);
        let at = g.binary(Binary::Atan2, y, x);
        let x2 = g.unary(Unary::Powi(2), x);
        let y2 = g.unary(Unary::Powi(2), y);
        let r2 = g.add2(x2, y2);
        let r = g.unary(Unary::Sqrt, r2);
        let f = g.sum([s, q, at, r]);
        let one = g.constant(1.0);
        let dfdx = g.jvp(&[f], &HashMap::from([(x, one)]))[0];
        let dfdy = g.jvp(&[f], &HashMap::from([(y, one)]))[0];
        let grad = g.vjp(&[f], &[one], &[x, y]);
        let at_point = |p: [f64; 2], id: NodeId, g: &Graph| eval_all(g, &p, &[])[id.index()];
        let p = [0.7, 1.3];
        let h = 1e-6;
        let fd_x =
            (at_point([p[0] + h, p[1]], f, &g) - at_point([p[0] - h, p[1]], f, &g)) / (2.0 * h);
        let fd_y =
            (at_point([p[0], p[1] + h], f, &g) - at_point([p[0], p[1] - h], f, &g)) / (2.0 * h);
        assert!((at_point(p, dfdx, &g) - fd_x).abs() < 1e-8);
        assert!((at_point(p, dfdy, &g) - fd_y).abs() < 1e-8);
        assert!((at_point(p, grad[0], &g) - fd_x).abs() < 1e-8);
        assert!((at_point(p, grad[1], &g) - fd_y).abs() < 1e-8);
    }

    #[test]
    fn non_smooth_points_follow_pytorch() {
        let mut g = Graph::new();
        let x = g.input(0);
        let lo = g.constant(0.0);
        let c = g.binary(Binary::ClampMin, x, lo);
        let m = g.binary(Binary::Max, x, lo);
        let one = g.constant(1.0);
        let dc = g.vjp(&[c], &[one], &[x])[0];
        let dm = g.vjp(&[m], &[one], &[x])[0];
        let at = |v: f64, id: NodeId, g: &Graph| eval_all(g, &[v], &[])[id.index()];
        assert_eq!(
            at(0.0, dc, &g),
            1.0,
            "clamp passes the gradient at the bound"
        );
        assert_eq!(at(-1.0, dc, &g), 0.0);
        assert_eq!(at(0.0, dm, &g), 0.5, "maximum splits the gradient at a tie");
        assert_eq!(at(2.0, dm, &g), 1.0);
    }

    #[test]
    fn substitution_rebuilds_templates() {
        let mut g = Graph::new();
        let v = g.var(0);
        let s = g.unary(Unary::Sin, v);
        let x = g.input(0);
        let two = g.constant(2.0);
        let x2 = g.mul(two, x);
        let out = g.substitute(&[s], &HashMap::from([(v, x2)]))[0];
        assert_eq!(g.op(out), Op::Unary(Unary::Sin, x2));
        let c = g.constant(0.0);
        let folded = g.substitute(&[s], &HashMap::from([(v, c)]))[0];
        assert_eq!(g.const_value(folded), Some(0.0));
    }
}
