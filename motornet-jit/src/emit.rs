//! Translation of one program function into Cranelift IR.
//!
//! Every graph node becomes a few Cranelift instructions computing the very operation of
//! `motornet_runtime::ops`: the same IEEE operations in the same order, so the results are the
//! interpreter's bits. The project's branch-free `sin`/`cos`/`exp`/`atan2` are written out inline (the
//! same constants and steps as `motornet_runtime::math`); `ln` and `tanh`, and `sin`/`cos` of huge or
//! non-finite arguments, call the Rust functions the interpreter runs.

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, Endianness, FuncRef, InstBuilder, MemFlags, Type, Value};
use cranelift_frontend::FunctionBuilder;
use motornet_dsl::ir::{Binary, Graph, NodeId, Op, Unary};
use std::collections::HashMap;

/// The Rust functions generated code may call, in the order of [`Externs::refs`].
#[derive(Clone, Copy)]
pub(crate) enum Extern {
    Sin,
    Cos,
    Exp,
    Atan2,
    Ln,
    Tanh,
}

pub(crate) const EXTERNS: [(Extern, &str); 6] = [
    (Extern::Sin, "motornet_jit_sin"),
    (Extern::Cos, "motornet_jit_cos"),
    (Extern::Exp, "motornet_jit_exp"),
    (Extern::Atan2, "motornet_jit_atan2"),
    (Extern::Ln, "motornet_jit_ln"),
    (Extern::Tanh, "motornet_jit_tanh"),
];

pub(crate) extern "C" fn ext_sin(x: f64) -> f64 {
    motornet_runtime::math::sin(x)
}
pub(crate) extern "C" fn ext_cos(x: f64) -> f64 {
    motornet_runtime::math::cos(x)
}
pub(crate) extern "C" fn ext_exp(x: f64) -> f64 {
    motornet_runtime::math::exp(x)
}
pub(crate) extern "C" fn ext_atan2(y: f64, x: f64) -> f64 {
    motornet_runtime::math::atan2(y, x)
}
pub(crate) extern "C" fn ext_ln(x: f64) -> f64 {
    motornet_runtime::ops::eval_unary(Unary::Ln, x)
}
pub(crate) extern "C" fn ext_tanh(x: f64) -> f64 {
    motornet_runtime::ops::eval_unary(Unary::Tanh, x)
}

pub(crate) fn extern_address(e: Extern) -> *const u8 {
    match e {
        Extern::Sin => ext_sin as *const u8,
        Extern::Cos => ext_cos as *const u8,
        Extern::Exp => ext_exp as *const u8,
        Extern::Atan2 => ext_atan2 as *const u8,
        Extern::Ln => ext_ln as *const u8,
        Extern::Tanh => ext_tanh as *const u8,
    }
}

/// How the elementary functions are computed (inline is the default; calls are kept for A/B
/// measurements and as the simplest correct form).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathMode {
    Inline,
    Call,
}

/// A node's value in generated code: a float, or a comparison result (an `i8` that is 0 or 1).
#[derive(Clone, Copy)]
enum V {
    F(Value),
    B(Value),
}

/// Where a function reads a graph input: argument pointer and element offset.
pub(crate) struct Layout {
    /// Per argument position of the function: (argument pointer index, element offset).
    pub inputs: Vec<(usize, usize)>,
    /// Per output: (output pointer index, element offset).
    pub outputs: Vec<(usize, usize)>,
}

impl Layout {
    /// Positions of concatenated vectors of the given lengths.
    pub fn of(input_lens: &[usize], output_lens: &[usize]) -> Layout {
        let split = |lens: &[usize]| {
            lens.iter()
                .enumerate()
                .flat_map(|(a, &n)| (0..n).map(move |k| (a, k)))
                .collect()
        };
        Layout {
            inputs: split(input_lens),
            outputs: split(output_lens),
        }
    }
}

pub(crate) struct Emitter<'a, 'b> {
    pub b: &'a mut FunctionBuilder<'b>,
    pub graph: &'a Graph,
    pub statics: &'a [bool],
    /// Static node → its slot in the table of parameter-dependent values (shared by all functions).
    pub slots: &'a HashMap<NodeId, usize>,
    pub externs: [FuncRef; 6],
    pub math: MathMode,
    pub table: Value,
    pub args: Vec<Value>,
    pub outs: Vec<Value>,
    /// Two effectors per instruction (`f64x2`), reading and writing the batch layout; else one.
    pub lanes: bool,
    values: Vec<Option<V>>,
    /// Whether some `sin`/`cos` argument is beyond the polynomial's range (per lane for vectors).
    out_of_range: Option<Value>,
}

/// Distance between consecutive components of one effector in the batch layout, in values.
const BLOCK: usize = motornet_runtime::batch::LANES;

/// Bit casts between vector types name the lane order.
fn vector_flags() -> MemFlags {
    MemFlags::new().with_endianness(Endianness::Little)
}

/// Loads of arguments and of the table: from checked slices of the right length, never written while a
/// function runs (outputs are distinct `&mut` slices), so loads are free to move to their first use.
fn flags() -> MemFlags {
    MemFlags::trusted().with_readonly().with_can_move()
}

/// Stores of results.
fn store_flags() -> MemFlags {
    MemFlags::trusted()
}

impl<'a, 'b> Emitter<'a, 'b> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        b: &'a mut FunctionBuilder<'b>,
        graph: &'a Graph,
        statics: &'a [bool],
        slots: &'a HashMap<NodeId, usize>,
        externs: [FuncRef; 6],
        math: MathMode,
        table: Value,
        args: Vec<Value>,
        outs: Vec<Value>,
        lanes: bool,
    ) -> Self {
        let n = graph.len();
        Emitter {
            b,
            graph,
            statics,
            slots,
            externs,
            math,
            table,
            args,
            outs,
            lanes,
            values: vec![None; n],
            out_of_range: None,
        }
    }

    /// Emits the whole function: the live input-dependent nodes in graph order, then the stores. Returns
    /// the function's result, an `i32`: 0, or 1 where the caller must compute the outputs otherwise
    /// (an argument beyond the inline kernels' range).
    pub fn function(&mut self, inputs: &[u32], outputs: &[NodeId], layout: &Layout) -> Value {
        let live = self.graph.reachable(outputs);
        for (i, &alive) in live.iter().enumerate() {
            if !alive || self.statics[i] {
                continue;
            }
            let id = NodeId(i as u32);
            let v = match self.graph.op(id) {
                Op::Input(k) => {
                    let pos = inputs
                        .iter()
                        .position(|&x| x == k)
                        .expect("a function reads only the inputs it declares");
                    let (arg, at) = layout.inputs[pos];
                    let (ty, at) = (self.ty(), self.offset(at));
                    V::F(self.b.ins().load(ty, flags(), self.args[arg], at))
                }
                op => self.node(op),
            };
            self.values[i] = Some(v);
        }
        for (k, &o) in outputs.iter().enumerate() {
            let v = self.float(o);
            let (out, at) = layout.outputs[k];
            let at = self.offset(at);
            self.b.ins().store(store_flags(), v, self.outs[out], at);
        }
        match self.out_of_range {
            None => self.b.ins().iconst(types::I32, 0),
            Some(o) => {
                let any = if self.lanes {
                    self.b.ins().vany_true(o)
                } else {
                    o
                };
                self.b.ins().uextend(types::I32, any)
            }
        }
    }

    /// The value of an operand: computed already, a constant, or a parameter-dependent value from the
    /// table (loaded where first used; the current block dominates everything emitted later).
    fn get(&mut self, id: NodeId) -> V {
        if let Some(v) = self.values[id.index()] {
            return v;
        }
        let v = match self.graph.op(id) {
            Op::Const(bits) => V::F(self.c(f64::from_bits(bits))),
            Op::Bool(x) => V::B(self.bool_const(x)),
            _ => {
                debug_assert!(self.statics[id.index()], "operands come first");
                let slot = self.slots[&id];
                let x = self
                    .b
                    .ins()
                    .load(types::F64, flags(), self.table, (8 * slot) as i32);
                let x = if self.lanes {
                    self.b.ins().splat(types::F64X2, x)
                } else {
                    x
                };
                if self.graph.is_bool(id) {
                    V::B(self.truthy(x))
                } else {
                    V::F(x)
                }
            }
        };
        self.values[id.index()] = Some(v);
        v
    }

    fn ty(&self) -> Type {
        if self.lanes {
            types::F64X2
        } else {
            types::F64
        }
    }

    /// Byte offset of component `k` of the effector (or pair of effectors) an argument points at.
    fn offset(&self, k: usize) -> i32 {
        let stride = if self.lanes { BLOCK } else { 1 };
        i32::try_from(8 * stride * k).expect("vectors of the plant's size")
    }

    /// A constant in every lane.
    fn c(&mut self, x: f64) -> Value {
        let v = self.b.ins().f64const(x);
        if self.lanes {
            self.b.ins().splat(types::F64X2, v)
        } else {
            v
        }
    }

    /// A condition: an `i8` 0/1, or per lane a mask of all ones / all zeros.
    fn bool_const(&mut self, x: bool) -> Value {
        if self.lanes {
            let v = self.b.ins().iconst(types::I64, if x { -1 } else { 0 });
            self.b.ins().splat(types::I64X2, v)
        } else {
            self.b.ins().iconst(types::I8, i64::from(x))
        }
    }

    fn cmp(&mut self, cc: FloatCC, x: Value, y: Value) -> Value {
        self.b.ins().fcmp(cc, x, y)
    }

    fn sel(&mut self, c: Value, x: Value, y: Value) -> Value {
        if self.lanes {
            // Masks are all ones or all zeros per lane, so a bitwise select picks whole values.
            let ty = self.b.func.dfg.value_type(x);
            let m = if ty == types::I64X2 {
                c
            } else {
                self.b.ins().bitcast(ty, vector_flags(), c)
            };
            self.b.ins().bitselect(m, x, y)
        } else {
            self.b.ins().select(c, x, y)
        }
    }

    fn and(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().band(x, y)
    }

    fn or(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().bor(x, y)
    }

    fn not(&mut self, x: Value) -> Value {
        if self.lanes {
            self.b.ins().bnot(x)
        } else {
            self.b.ins().bxor_imm(x, 1)
        }
    }

    /// `x` with the sign of `y`.
    fn copysign(&mut self, x: Value, y: Value) -> Value {
        if !self.lanes {
            return self.b.ins().fcopysign(x, y);
        }
        let f = vector_flags();
        let (xi, yi) = (
            self.b.ins().bitcast(types::I64X2, f, x),
            self.b.ins().bitcast(types::I64X2, f, y),
        );
        let sign = self.b.ins().iconst(types::I64, i64::MIN);
        let sign = self.b.ins().splat(types::I64X2, sign);
        let magnitude = self.b.ins().band_not(xi, sign);
        let ys = self.b.ins().band(yi, sign);
        let r = self.b.ins().bor(magnitude, ys);
        self.b.ins().bitcast(types::F64X2, f, r)
    }

    fn truthy(&mut self, x: Value) -> Value {
        let zero = self.c(0.0);
        self.cmp(FloatCC::NotEqual, x, zero)
    }

    fn float(&mut self, id: NodeId) -> Value {
        match self.get(id) {
            V::F(x) => x,
            V::B(c) => {
                let (one, zero) = (self.c(1.0), self.c(0.0));
                self.sel(c, one, zero)
            }
        }
    }

    fn boolean(&mut self, id: NodeId) -> Value {
        match self.get(id) {
            V::B(c) => c,
            V::F(x) => self.truthy(x),
        }
    }

    fn node(&mut self, op: Op) -> V {
        match op {
            Op::Unary(Unary::Not, a) => {
                let c = self.boolean(a);
                V::B(self.not(c))
            }
            Op::Unary(u, a) => {
                let x = self.float(a);
                V::F(self.unary(u, x))
            }
            Op::Binary(bin @ (Binary::And | Binary::Or), x, y) => {
                let (p, q) = (self.boolean(x), self.boolean(y));
                V::B(if bin == Binary::And {
                    self.and(p, q)
                } else {
                    self.or(p, q)
                })
            }
            Op::Binary(bin @ (Binary::Lt | Binary::Le), x, y) => {
                let (p, q) = (self.float(x), self.float(y));
                let cc = if bin == Binary::Lt {
                    FloatCC::LessThan
                } else {
                    FloatCC::LessThanOrEqual
                };
                V::B(self.cmp(cc, p, q))
            }
            Op::Binary(bin, x, y) => {
                let (p, q) = (self.float(x), self.float(y));
                V::F(self.binary(bin, p, q))
            }
            Op::Select(c, a, b) => {
                let cond = self.boolean(c);
                match (self.get(a), self.get(b)) {
                    (V::B(p), V::B(q)) => V::B(self.sel(cond, p, q)),
                    _ => {
                        let (p, q) = (self.float(a), self.float(b));
                        V::F(self.sel(cond, p, q))
                    }
                }
            }
            Op::Const(_) | Op::Bool(_) | Op::Param(_) | Op::Input(_) | Op::Var(_) => {
                unreachable!("leaves are not computed")
            }
        }
    }

    /// A call to a runtime function; lane by lane for vectors.
    fn call(&mut self, e: Extern, args: &[Value]) -> Value {
        let f = self.externs[e as usize];
        if !self.lanes {
            let call = self.b.ins().call(f, args);
            return self.b.inst_results(call)[0];
        }
        let mut out = None;
        for lane in 0..2u8 {
            let scalars: Vec<Value> = args
                .iter()
                .map(|&a| self.b.ins().extractlane(a, lane))
                .collect();
            let call = self.b.ins().call(f, &scalars);
            let r = self.b.inst_results(call)[0];
            out = Some(match out {
                None => self.b.ins().splat(types::F64X2, r),
                Some(v) => self.b.ins().insertlane(v, r, lane),
            });
        }
        out.expect("two lanes")
    }

    fn unary(&mut self, u: Unary, x: Value) -> Value {
        let inline = self.math == MathMode::Inline;
        match u {
            Unary::Neg => self.b.ins().fneg(x),
            Unary::Abs => self.b.ins().fabs(x),
            Unary::Sqrt => self.b.ins().sqrt(x),
            Unary::Sin if inline => self.sin_cos(x, false),
            Unary::Cos if inline => self.sin_cos(x, true),
            Unary::Exp if inline => self.exp(x),
            Unary::Sin => self.call(Extern::Sin, &[x]),
            Unary::Cos => self.call(Extern::Cos, &[x]),
            Unary::Exp => self.call(Extern::Exp, &[x]),
            Unary::Ln => self.call(Extern::Ln, &[x]),
            Unary::Tanh => self.call(Extern::Tanh, &[x]),
            Unary::Powi(n) => self.powi(x, n),
            Unary::Not => unreachable!("boolean"),
        }
    }

    fn binary(&mut self, bin: Binary, x: Value, y: Value) -> Value {
        match bin {
            Binary::Add => self.b.ins().fadd(x, y),
            Binary::Sub => self.b.ins().fsub(x, y),
            Binary::Mul => self.b.ins().fmul(x, y),
            Binary::Div => self.b.ins().fdiv(x, y),
            Binary::Atan2 if self.math == MathMode::Inline => self.atan2(x, y),
            Binary::Atan2 => self.call(Extern::Atan2, &[x, y]),
            Binary::Max | Binary::Min => {
                // `if x.is_nan() || x > y { x } else { y }` (`<` for the minimum).
                let nan = self.cmp(FloatCC::Unordered, x, x);
                let cc = if bin == Binary::Max {
                    FloatCC::GreaterThan
                } else {
                    FloatCC::LessThan
                };
                let better = self.cmp(cc, x, y);
                let take_x = self.or(nan, better);
                self.sel(take_x, x, y)
            }
            Binary::ClampMin => {
                let below = self.cmp(FloatCC::LessThan, x, y);
                self.sel(below, y, x)
            }
            Binary::ClampMax => {
                // `x > hi` as `hi < x` (the same for NaN): the form x86 lowers to one `minsd`.
                let above = self.cmp(FloatCC::LessThan, y, x);
                self.sel(above, y, x)
            }
            Binary::Lt | Binary::Le | Binary::And | Binary::Or => unreachable!("boolean"),
        }
    }

    /// `x.powi(n)` as the runtime computes it (binary powering from 1, reciprocal for n < 0).
    fn powi(&mut self, x: Value, n: i32) -> Value {
        let mut pow = n.unsigned_abs();
        let mut base = x;
        let mut acc: Option<Value> = None; // 1.0 until the first factor: 1·a = a exactly
        loop {
            if pow & 1 != 0 {
                acc = Some(match acc {
                    None => base,
                    Some(m) => self.b.ins().fmul(m, base),
                });
            }
            pow >>= 1;
            if pow == 0 {
                break;
            }
            base = self.b.ins().fmul(base, base);
        }
        let m = acc.unwrap_or_else(|| self.c(1.0));
        if n < 0 {
            let one = self.c(1.0);
            self.b.ins().fdiv(one, m)
        } else {
            m
        }
    }

    /// `(v + 1.5·2⁵²) − 1.5·2⁵²`: round to nearest, as `math.rs` does.
    fn round(&mut self, v: Value) -> Value {
        const ROUNDER: f64 = 6_755_399_441_055_744.0;
        let r = self.c(ROUNDER);
        let s = self.b.ins().fadd(v, r);
        self.b.ins().fsub(s, r)
    }

    /// `x·a + b` as two roundings (never fused).
    fn mul_add(&mut self, x: Value, a: Value, b: f64) -> Value {
        let p = self.b.ins().fmul(x, a);
        let b = self.c(b);
        self.b.ins().fadd(p, b)
    }

    /// `math::sin`/`math::cos`: the polynomial kernel for |x| < the reduction limit, else a call to the
    /// runtime (libm); NaN takes the call, as in Rust.
    #[allow(clippy::excessive_precision)] // the runtime's constants, digit for digit
    fn sin_cos(&mut self, v: Value, want_cos: bool) -> Value {
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
        // Huge or NaN arguments are libm's: the function reports them and the plant reruns the call on
        // the interpreter. No call in the code keeps every value in registers across it.
        let a = self.b.ins().fabs(v);
        let limit = self.c(motornet_runtime::math::SIN_COS_REDUCTION_LIMIT);
        let small = self.cmp(FloatCC::LessThan, a, limit);
        let large = self.not(small);
        self.out_of_range = Some(match self.out_of_range {
            None => large,
            Some(o) => self.or(o, large),
        });
        let poly = |me: &mut Self, z: Value, c: &[f64; 6]| {
            let c0 = me.c(c[0]);
            let mut acc = me.mul_add(c0, z, c[1]);
            for &k in &c[2..] {
                acc = me.mul_add(acc, z, k);
            }
            acc
        };
        let two_pi = self.c(std::f64::consts::FRAC_2_PI);
        let scaled = self.b.ins().fmul(v, two_pi);
        let n = self.round(scaled);
        let mut r = v;
        for p in [PIO2_1, PIO2_2, PIO2_3] {
            let k = self.c(p);
            let nk = self.b.ins().fmul(n, k);
            r = self.b.ins().fsub(r, nk);
        }
        let z = self.b.ins().fmul(r, r);
        // s = r + r·z·poly(z, SIN)
        let ps = poly(self, z, &SIN);
        let rz = self.b.ins().fmul(r, z);
        let rzp = self.b.ins().fmul(rz, ps);
        let s = self.b.ins().fadd(r, rzp);
        // c = 1 − 0.5·z + z·z·poly(z, COS)
        let pc = poly(self, z, &COS);
        let half = self.c(0.5);
        let hz = self.b.ins().fmul(half, z);
        let one = self.c(1.0);
        let c1 = self.b.ins().fsub(one, hz);
        let zz = self.b.ins().fmul(z, z);
        let zzp = self.b.ins().fmul(zz, pc);
        let c = self.b.ins().fadd(c1, zzp);
        let m = if want_cos {
            self.b.ins().fadd(n, one)
        } else {
            n
        };
        let quarter = self.c(0.25);
        let mq = self.b.ins().fmul(m, quarter);
        let three_eighths = self.c(0.375);
        let shifted = self.b.ins().fsub(mq, three_eighths);
        let fl = self.round(shifted);
        let four = self.c(4.0);
        let f4 = self.b.ins().fmul(four, fl);
        let q = self.b.ins().fsub(m, f4);
        let (q1, q3) = (self.c(1.0), self.c(3.0));
        let is1 = self.cmp(FloatCC::Equal, q, q1);
        let is3 = self.cmp(FloatCC::Equal, q, q3);
        let odd = self.or(is1, is3);
        let base = self.sel(odd, c, s);
        let two = self.c(2.0);
        let upper = self.cmp(FloatCC::GreaterThanOrEqual, q, two);
        let neg = self.b.ins().fneg(base);
        self.sel(upper, neg, base)
    }

    /// `math::exp`, step for step.
    #[allow(clippy::excessive_precision)] // the runtime's constants, digit for digit
    fn exp(&mut self, x: Value) -> Value {
        const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
        const P: [f64; 5] = [
            1.666_666_666_666_660_190_37e-1,
            -2.777_777_777_701_559_338_42e-3,
            6.613_756_321_437_934_361_17e-5,
            -1.653_390_220_546_525_153_90e-6,
            4.138_136_797_057_238_460_39e-8,
        ];
        const ROUNDER: f64 = 6_755_399_441_055_744.0;
        let (hi_lim, lo_lim) = (self.c(1000.0), self.c(-1000.0));
        let above = self.cmp(FloatCC::GreaterThan, x, hi_lim);
        let x = self.sel(above, hi_lim, x);
        let below = self.cmp(FloatCC::LessThan, x, lo_lim);
        let x = self.sel(below, lo_lim, x);
        let log2e = self.c(std::f64::consts::LOG2_E);
        let xl = self.b.ins().fmul(x, log2e);
        let n = self.round(xl);
        let ln2_hi = self.c(LN2_HI);
        let nh = self.b.ins().fmul(n, ln2_hi);
        let hi = self.b.ins().fsub(x, nh);
        let ln2_lo = self.c(LN2_LO);
        let lo = self.b.ins().fmul(n, ln2_lo);
        let r = self.b.ins().fsub(hi, lo);
        let t = self.b.ins().fmul(r, r);
        // P0 + t·(P1 + t·(P2 + t·(P3 + t·P4)))
        let p4 = self.c(P[4]);
        let mut acc = self.b.ins().fmul(t, p4);
        for k in (0..4).rev() {
            let pk = self.c(P[k]);
            let s = self.b.ins().fadd(pk, acc);
            acc = if k == 0 { s } else { self.b.ins().fmul(t, s) };
        }
        let tp = self.b.ins().fmul(t, acc);
        let c = self.b.ins().fsub(r, tp);
        // y = 1 − ((lo − (r·c)/(2 − c)) − hi)
        let rc = self.b.ins().fmul(r, c);
        let two = self.c(2.0);
        let den = self.b.ins().fsub(two, c);
        let q = self.b.ins().fdiv(rc, den);
        let lq = self.b.ins().fsub(lo, q);
        let lqh = self.b.ins().fsub(lq, hi);
        let one = self.c(1.0);
        let y = self.b.ins().fsub(one, lqh);
        let half = self.c(0.5);
        let nhalf = self.b.ins().fmul(n, half);
        let n1 = self.round(nhalf);
        let n2 = self.b.ins().fsub(n, n1);
        let pow2 = |me: &mut Self, k: Value| {
            let r = me.c(ROUNDER);
            let kr = me.b.ins().fadd(k, r);
            let (ity, fty, f) = if me.lanes {
                (types::I64X2, types::F64X2, vector_flags())
            } else {
                (types::I64, types::F64, MemFlags::new())
            };
            let bits = me.b.ins().bitcast(ity, f, kr);
            // (bits − bits(ROUNDER) + 1023) << 52, wrapping, as `math::exp`.
            let delta =
                me.b.ins()
                    .iconst(types::I64, 1023 - (ROUNDER.to_bits() as i64));
            let delta = if me.lanes {
                me.b.ins().splat(ity, delta)
            } else {
                delta
            };
            let biased = me.b.ins().iadd(bits, delta);
            let shifted = me.b.ins().ishl_imm(biased, 52);
            me.b.ins().bitcast(fty, f, shifted)
        };
        let p1 = pow2(self, n1);
        let p2 = pow2(self, n2);
        let yp = self.b.ins().fmul(y, p1);
        self.b.ins().fmul(yp, p2)
    }

    /// `math::atan2(y, x)`, step for step (every branch a select).
    #[allow(clippy::excessive_precision)] // the runtime's constants, digit for digit
    fn atan2(&mut self, y: Value, x: Value) -> Value {
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
        const PIO2: f64 = std::f64::consts::FRAC_PI_2;
        const PIO2_LO: f64 = 6.123_233_995_736_765_886_130e-17;
        const PIO4: f64 = std::f64::consts::FRAC_PI_4;
        let ax = self.b.ins().fabs(x);
        let ay = self.b.ins().fabs(y);
        let steep = self.cmp(FloatCC::GreaterThan, ay, ax);
        let num = self.sel(steep, ax, ay);
        let den = self.sel(steep, ay, ax);
        let t = self.b.ins().fdiv(num, den);
        let zero = self.c(0.0);
        let den0 = self.cmp(FloatCC::Equal, den, zero);
        let t = self.sel(den0, zero, t);
        let inf = self.c(f64::INFINITY);
        let one = self.c(1.0);
        let num_inf = self.cmp(FloatCC::Equal, num, inf);
        let t = self.sel(num_inf, one, t);
        let lim = self.c(0.66);
        let big = self.cmp(FloatCC::GreaterThan, t, lim);
        let tm = self.b.ins().fsub(t, one);
        let tp = self.b.ins().fadd(t, one);
        let reduced = self.b.ins().fdiv(tm, tp);
        let u = self.sel(big, reduced, t);
        let z = self.b.ins().fmul(u, u);
        let p0 = self.c(P[0]);
        let mut p = self.mul_add(p0, z, P[1]);
        for &k in &P[2..] {
            p = self.mul_add(p, z, k);
        }
        let q0 = self.c(Q[0]);
        let mut q = self.b.ins().fadd(z, q0);
        for &k in &Q[1..] {
            q = self.mul_add(q, z, k);
        }
        let zp = self.b.ins().fmul(z, p);
        let zpq = self.b.ins().fdiv(zp, q);
        let uz = self.b.ins().fmul(u, zpq);
        let atan_u = self.b.ins().fadd(u, uz);
        let half_lo = self.c(0.5 * PIO2_LO);
        let inner = self.b.ins().fadd(atan_u, half_lo);
        let pio4 = self.c(PIO4);
        let shifted = self.b.ins().fadd(pio4, inner);
        let a = self.sel(big, shifted, atan_u);
        let pio2 = self.c(PIO2);
        let pio2_lo = self.c(PIO2_LO);
        let d = self.b.ins().fsub(pio2, a);
        let reflected = self.b.ins().fadd(d, pio2_lo);
        let a = self.sel(steep, reflected, a);
        let pi = self.c(2.0 * PIO2);
        let pi_lo = self.c(2.0 * PIO2_LO);
        let d = self.b.ins().fsub(pi, a);
        let behind = self.b.ins().fadd(d, pi_lo);
        let sx = self.copysign(one, x);
        let west = self.cmp(FloatCC::LessThan, sx, zero);
        let a = self.sel(west, behind, a);
        self.copysign(a, y)
    }
}
