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

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Unary {
    Neg,
    Sin,
    Cos,
    Exp,
    Ln,
    Sqrt,
    Tanh,
    Abs,
    /// `x^n` for an integer `n`.
    Powi(i32),
    /// Logical not (boolean operand).
    Not,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    /// `atan2(y, x)`.
    Atan2,
    /// `torch.maximum`: NaN-propagating; at a tie the derivative is split evenly between the operands.
    Max,
    /// `torch.minimum`, likewise.
    Min,
    /// `torch.clamp(x, min=lo)`: derivative 1 for `x >= lo` (inclusive), else 0.
    ClampMin,
    /// `torch.clamp(x, max=hi)`: derivative 1 for `x <= hi` (inclusive), else 0.
    ClampMax,
    /// `a < b` (boolean).
    Lt,
    /// `a <= b` (boolean).
    Le,
    /// Logical and (boolean operands).
    And,
    /// Logical or (boolean operands).
    Or,
}

impl Binary {
    fn commutative(self) -> bool {
        matches!(
            self,
            Binary::Add | Binary::Mul | Binary::Max | Binary::Min | Binary::And | Binary::Or
        )
    }
}

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

/// Evaluates one operation on `f64` values (booleans as 0.0 / 1.0). This is the single definition of each
/// operation's value: constant folding and the interpreter both call it, and the code generator emits code
/// with the same semantics.
#[inline]
pub fn eval_unary(u: Unary, a: f64) -> f64 {
    match u {
        Unary::Neg => -a,
        Unary::Sin => sin(a),
        Unary::Cos => cos(a),
        Unary::Exp => exp(a),
        Unary::Ln => a.ln(),
        Unary::Sqrt => a.sqrt(),
        Unary::Tanh => a.tanh(),
        Unary::Abs => a.abs(),
        Unary::Powi(n) => a.powi(n),
        Unary::Not => f64::from(a == 0.0),
    }
}

#[inline]
pub fn eval_binary(b: Binary, x: f64, y: f64) -> f64 {
    match b {
        Binary::Add => x + y,
        Binary::Sub => x - y,
        Binary::Mul => x * y,
        Binary::Div => x / y,
        Binary::Atan2 => atan2(x, y),
        Binary::Max => maximum(x, y),
        Binary::Min => minimum(x, y),
        Binary::ClampMin => clamp_min(x, y),
        Binary::ClampMax => clamp_max(x, y),
        Binary::Lt => f64::from(x < y),
        Binary::Le => f64::from(x <= y),
        Binary::And => f64::from(x != 0.0 && y != 0.0),
        Binary::Or => f64::from(x != 0.0 || y != 0.0),
    }
}

/// Beyond this magnitude the three-part reduction by π/2 loses accuracy and libm takes over.
pub const SIN_COS_REDUCTION_LIMIT: f64 = 1e5;

/// sin or cos of `v` for |v| < [`SIN_COS_REDUCTION_LIMIT`]: reduce by multiples of π/2 (three-part
/// Cody–Waite constants), evaluate the minimax polynomials of Cephes on [−π/4, π/4], and pick sine or cosine
/// and sign by quadrant. Float arithmetic only, no branches, so that it vectorizes across lanes; within one
/// ulp of libm.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
pub fn sin_cos_reduced(v: f64, want_cos: bool) -> f64 {
    const PIO2_1: f64 = 1.570_796_326_734_125_614_17;
    const PIO2_2: f64 = 6.077_100_506_303_965_976_60e-11;
    const PIO2_3: f64 = 2.022_266_248_795_950_631_54e-21;
    const SIN: [f64; 6] = [
        1.589_623_015_765_465_680_60e-10,
        -2.505_074_776_285_780_728_66e-8,
        2.755_731_362_138_572_452_13e-6,
        -1.984_126_982_958_953_859_96e-4,
        8.333_333_333_322_118_588_78e-3,
        -1.666_666_666_666_663_072_95e-1,
    ];
    const COS: [f64; 6] = [
        -1.135_853_652_138_768_173_00e-11,
        2.087_570_084_197_473_167_78e-9,
        -2.755_731_417_929_673_881_12e-7,
        2.480_158_728_885_170_453_48e-5,
        -1.388_888_888_887_305_641_16e-3,
        4.166_666_666_666_659_292_18e-2,
    ];
    let poly =
        |z: f64, c: &[f64; 6]| ((((c[0] * z + c[1]) * z + c[2]) * z + c[3]) * z + c[4]) * z + c[5];
    // Round to the nearest integer by adding and subtracting 1.5·2⁵²: exact for |x| < 2⁵¹, and a plain
    // addition on every target (`f64::round` is a library call without SSE4.1).
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    let n = (v * std::f64::consts::FRAC_2_PI + ROUNDER) - ROUNDER;
    let r = ((v - n * PIO2_1) - n * PIO2_2) - n * PIO2_3;
    let z = r * r;
    let s = r + r * z * poly(z, &SIN);
    let c = 1.0 - 0.5 * z + z * z * poly(z, &COS);
    // Quadrant q = n mod 4 (cos(x) = sin(x + π/2): one quadrant further); odd quadrants take the
    // cosine kernel, the upper two flip the sign.
    let m = if want_cos { n + 1.0 } else { n };
    // m mod 4 for an integer m: ⌊m/4⌋ = round(m/4 − 3/8), since m/4 − ⌊m/4⌋ ∈ {0, ¼, ½, ¾}.
    let q = m - 4.0 * ((m * 0.25 - 0.375 + ROUNDER) - ROUNDER);
    let base = if q == 1.0 || q == 3.0 { c } else { s };
    if q >= 2.0 {
        -base
    } else {
        base
    }
}

/// The sine used everywhere in the project — interpreter, constant folding and generated code — so that
/// every backend computes the same bits: the polynomial kernel, or libm for huge or non-finite arguments.
#[inline(always)]
pub fn sin(x: f64) -> f64 {
    if x.abs() < SIN_COS_REDUCTION_LIMIT {
        sin_cos_reduced(x, false)
    } else {
        x.sin()
    }
}

/// The cosine counterpart of [`sin`].
#[inline(always)]
pub fn cos(x: f64) -> f64 {
    if x.abs() < SIN_COS_REDUCTION_LIMIT {
        sin_cos_reduced(x, true)
    } else {
        x.cos()
    }
}

/// The exponential used everywhere in the project (interpreter, constant folding, generated code), written
/// without branches so that it vectorizes across lanes: exp(x) = 2ⁿ·exp(r) with n = round(x/ln 2) and
/// r = x − n·ln 2 (two-part ln 2), exp(r) by fdlibm's rational form (its published coefficients), and 2ⁿ
/// built from exponent bits in two factors so that overflow gives ∞ and underflow 0 (or a subnormal).
/// Within one ulp of libm for normal results.
#[inline(always)]
#[allow(clippy::excessive_precision)] // fdlibm's coefficients, as published
pub fn exp(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const P: [f64; 5] = [
        1.666_666_666_666_660_190_37e-1,
        -2.777_777_777_701_559_338_42e-3,
        6.613_756_321_437_934_361_17e-5,
        -1.653_390_220_546_525_153_90e-6,
        4.138_136_797_057_238_460_39e-8,
    ];
    const ROUNDER: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵², as in `sin_cos_reduced`
                                                  // Beyond ±1000 the result is already ∞ or 0; clamping keeps n and the exponent bits in range (a NaN
                                                  // passes through and poisons the result).
    let x = if x > 1000.0 { 1000.0 } else { x };
    let x = if x < -1000.0 { -1000.0 } else { x };
    let n = (x * std::f64::consts::LOG2_E + ROUNDER) - ROUNDER;
    let hi = x - n * LN2_HI;
    let lo = n * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (P[0] + t * (P[1] + t * (P[2] + t * (P[3] + t * P[4]))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // 2ⁿ as 2^(n₁)·2^(n − n₁) with n₁ ≈ n/2, each factor a normal number for |n| ≤ 1443.
    let n1 = (n * 0.5 + ROUNDER) - ROUNDER;
    let pow2 = |k: f64| {
        let k = (k + ROUNDER).to_bits().wrapping_sub(ROUNDER.to_bits());
        f64::from_bits(k.wrapping_add(1023) << 52)
    };
    y * pow2(n1) * pow2(n - n1)
}

/// The two-argument arctangent used everywhere in the project, written without branches so that it
/// vectorizes: the smaller of |y|, |x| over the larger gives t ∈ [0, 1]; atan t by Cephes' rational
/// approximation (its published coefficients, with its reduction t → (t − 1)/(t + 1) above 0.66); then
/// the octant by reflections about π/4 and π/2 and the sign of y, with two-part π for accuracy. Signed
/// zeros, infinities and NaN follow IEEE `atan2`. Within 2 ulp of libm.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
pub fn atan2(y: f64, x: f64) -> f64 {
    const P: [f64; 5] = [
        -8.750_608_600_031_904_122_785e-1,
        -1.615_753_718_733_365_076_637e1,
        -7.500_855_792_314_704_667_340e1,
        -1.228_866_684_490_136_173_410e2,
        -6.485_021_904_942_025_371_773e1,
    ];
    const Q: [f64; 5] = [
        2.485_846_490_142_306_297_962e1,
        1.650_270_098_316_988_542_046e2,
        4.328_810_604_912_902_668_951e2,
        4.853_903_996_359_136_964_868e2,
        1.945_506_571_482_613_964_425e2,
    ];
    // π/2 = PIO2 + PIO2_LO (PIO2 the nearest double).
    const PIO2: f64 = std::f64::consts::FRAC_PI_2;
    const PIO2_LO: f64 = 6.123_233_995_736_765_886_130e-17;
    const PIO4: f64 = std::f64::consts::FRAC_PI_4;
    // Every value below is computed unconditionally and chosen by plain selects, so that LLVM keeps the
    // function free of branches (and vectorizes it). Comparisons are false for NaN, so a NaN operand
    // reaches the division and the result.
    let (ax, ay) = (x.abs(), y.abs());
    let steep = ay > ax;
    let num = if steep { ax } else { ay };
    let den = if steep { ay } else { ax };
    let t = num / den;
    let t = if den == 0.0 { 0.0 } else { t }; // 0/0
    let t = if num == f64::INFINITY { 1.0 } else { t }; // ∞/∞ (num ≤ den)
    let big = t > 0.66;
    let reduced = (t - 1.0) / (t + 1.0);
    let u = if big { reduced } else { t };
    let z = u * u;
    let p = (((P[0] * z + P[1]) * z + P[2]) * z + P[3]) * z + P[4];
    let q = ((((z + Q[0]) * z + Q[1]) * z + Q[2]) * z + Q[3]) * z + Q[4];
    let atan_u = u + u * (z * p / q);
    let shifted = PIO4 + (atan_u + 0.5 * PIO2_LO);
    let a = if big { shifted } else { atan_u };
    let reflected = (PIO2 - a) + PIO2_LO;
    let a = if steep { reflected } else { a };
    let behind = (2.0 * PIO2 - a) + 2.0 * PIO2_LO;
    let a = if 1f64.copysign(x) < 0.0 { behind } else { a }; // x < 0, or x = −0
    a.copysign(y)
}

/// NaN-propagating maximum (`f64::max` would hide a NaN).
#[inline]
pub fn maximum(x: f64, y: f64) -> f64 {
    if x.is_nan() || x > y {
        x
    } else {
        y
    }
}

#[inline]
pub fn minimum(x: f64, y: f64) -> f64 {
    if x.is_nan() || x < y {
        x
    } else {
        y
    }
}

#[inline]
pub fn clamp_min(x: f64, lo: f64) -> f64 {
    if x < lo {
        lo
    } else {
        x
    }
}

#[inline]
pub fn clamp_max(x: f64, hi: f64) -> f64 {
    if x > hi {
        hi
    } else {
        x
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

    /// Distance in units in the last place.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
    }

    #[test]
    fn atan2_is_within_two_ulp_of_libm_in_every_octant_and_at_the_edges() {
        let mut worst = 0;
        for i in 0..1000 {
            for j in 0..1000 {
                let angle = std::f64::consts::TAU * i as f64 / 1000.0;
                let radius = 10f64.powf(j as f64 / 100.0 - 5.0);
                let (y, x) = (radius * angle.sin(), radius * (angle * 1.0001).cos());
                worst = worst.max(ulps(atan2(y, x), y.atan2(x)));
            }
        }
        assert!(worst <= 2, "largest distance from libm: {worst} ulp");
        let (inf, nan) = (f64::INFINITY, f64::NAN);
        for (y, x) in [
            (0.0, 0.0),
            (-0.0, 0.0),
            (0.0, -0.0),
            (-0.0, -0.0),
            (0.0, -3.0),
            (-0.0, -3.0),
            (2.0, 0.0),
            (-2.0, -0.0),
            (inf, inf),
            (inf, -inf),
            (-inf, inf),
            (-inf, -inf),
            (1.0, inf),
            (1.0, -inf),
            (-1.0, -inf),
            (inf, 5.0),
            (-inf, -5.0),
            (1e-300, 1e300),
            (1e300, 1e-300),
        ] {
            let (ours, libm) = (atan2(y, x), y.atan2(x));
            assert!(
                ulps(ours, libm) <= 2,
                "atan2({y}, {x}) = {ours}, libm {libm}"
            );
            assert_eq!(
                ours.is_sign_negative(),
                libm.is_sign_negative(),
                "atan2({y}, {x})"
            );
        }
        assert!(atan2(nan, 1.0).is_nan() && atan2(1.0, nan).is_nan() && atan2(nan, inf).is_nan());
    }

    #[test]
    fn exp_is_within_one_ulp_of_libm_and_right_at_the_edges() {
        let mut worst = 0;
        for k in 0..400_001 {
            let x = -708.0 + 1417.7 * k as f64 / 400_000.0; // the whole normal range
            worst = worst.max(ulps(exp(x), x.exp()));
            let small = (k as f64 - 200_000.0) * 1e-6; // near zero, where exp ≈ 1 + x
            worst = worst.max(ulps(exp(small), small.exp()));
        }
        assert!(worst <= 1, "largest distance from libm: {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert!(ulps(exp(1.0), std::f64::consts::E) <= 1);
        assert_eq!(exp(709.9), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        // Subnormal results stay close to libm's.
        let sub = exp(-740.0);
        assert!(sub > 0.0 && (sub - (-740f64).exp()).abs() <= 2.0 * 4.9e-324);
    }

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

    #[test]
    fn maximum_propagates_nan() {
        assert!(maximum(f64::NAN, 1.0).is_nan());
        assert!(maximum(1.0, f64::NAN).is_nan());
        assert!(clamp_min(f64::NAN, 0.0).is_nan());
    }
}
