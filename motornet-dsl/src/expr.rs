//! Writing graph-building code as arithmetic: `E` is a node handle with operator overloading, so muscle
//! models and skeleton dynamics read like the equations they implement.

use crate::ir::{Binary, Graph, NodeId, Unary};
use std::cell::RefCell;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// Owns the graph while expressions are being built.
#[derive(Default)]
pub struct Builder {
    graph: RefCell<Graph>,
}

/// A node of the graph under construction.
#[derive(Clone, Copy)]
pub struct E<'a> {
    b: &'a Builder,
    pub id: NodeId,
}

impl std::fmt::Debug for E<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.id)
    }
}

impl Builder {
    pub fn new(graph: Graph) -> Self {
        Builder {
            graph: RefCell::new(graph),
        }
    }
    pub fn into_graph(self) -> Graph {
        self.graph.into_inner()
    }
    /// Direct access to the graph, for operations with no operator form (differentiation, substitution).
    pub fn with<R>(&self, f: impl FnOnce(&mut Graph) -> R) -> R {
        f(&mut self.graph.borrow_mut())
    }
    pub fn e(&self, id: NodeId) -> E<'_> {
        E { b: self, id }
    }
    pub fn c(&self, v: f64) -> E<'_> {
        let id = self.with(|g| g.constant(v));
        self.e(id)
    }
    pub fn input(&self, i: u32) -> E<'_> {
        let id = self.with(|g| g.input(i));
        self.e(id)
    }
    pub fn param(&self, i: u32) -> E<'_> {
        let id = self.with(|g| g.param(i));
        self.e(id)
    }
    pub fn var(&self, i: u32) -> E<'_> {
        let id = self.with(|g| g.var(i));
        self.e(id)
    }
    /// `if cond { a } else { b }` (a select: both sides are computed).
    pub fn select<'a>(&'a self, cond: E<'a>, a: E<'a>, b: E<'a>) -> E<'a> {
        let id = self.with(|g| g.select(cond.id, a.id, b.id));
        self.e(id)
    }
    pub fn sum<'a>(&'a self, terms: impl IntoIterator<Item = E<'a>>) -> E<'a> {
        let ids: Vec<NodeId> = terms.into_iter().map(|t| t.id).collect();
        let id = self.with(|g| g.sum(ids));
        self.e(id)
    }
    pub fn ids(es: &[E<'_>]) -> Vec<NodeId> {
        es.iter().map(|e| e.id).collect()
    }
}

impl<'a> E<'a> {
    fn un(self, u: Unary) -> E<'a> {
        let id = self.b.with(|g| g.unary(u, self.id));
        self.b.e(id)
    }
    fn bin(self, op: Binary, other: E<'a>) -> E<'a> {
        let id = self.b.with(|g| g.binary(op, self.id, other.id));
        self.b.e(id)
    }
    fn lift(self, v: f64) -> E<'a> {
        self.b.c(v)
    }
    pub fn builder(self) -> &'a Builder {
        self.b
    }
    pub fn sin(self) -> E<'a> {
        self.un(Unary::Sin)
    }
    pub fn cos(self) -> E<'a> {
        self.un(Unary::Cos)
    }
    pub fn exp(self) -> E<'a> {
        self.un(Unary::Exp)
    }
    pub fn ln(self) -> E<'a> {
        self.un(Unary::Ln)
    }
    pub fn sqrt(self) -> E<'a> {
        self.un(Unary::Sqrt)
    }
    pub fn tanh(self) -> E<'a> {
        self.un(Unary::Tanh)
    }
    pub fn abs(self) -> E<'a> {
        self.un(Unary::Abs)
    }
    pub fn powi(self, n: i32) -> E<'a> {
        self.un(Unary::Powi(n))
    }
    pub fn atan2(self, x: E<'a>) -> E<'a> {
        self.bin(Binary::Atan2, x)
    }
    /// `torch.maximum(self, other)`.
    pub fn max(self, other: E<'a>) -> E<'a> {
        self.bin(Binary::Max, other)
    }
    /// `torch.minimum(self, other)`.
    pub fn min(self, other: E<'a>) -> E<'a> {
        self.bin(Binary::Min, other)
    }
    /// `torch.clamp(self, min=lo)`.
    pub fn clamp_min(self, lo: impl Into<Operand<'a>>) -> E<'a> {
        let lo = lo.into().resolve(self);
        self.bin(Binary::ClampMin, lo)
    }
    /// `torch.clamp(self, max=hi)`.
    pub fn clamp_max(self, hi: impl Into<Operand<'a>>) -> E<'a> {
        let hi = hi.into().resolve(self);
        self.bin(Binary::ClampMax, hi)
    }
    /// `torch.clamp(self, lo, hi)`.
    pub fn clamp(self, lo: impl Into<Operand<'a>>, hi: impl Into<Operand<'a>>) -> E<'a> {
        self.clamp_min(lo).clamp_max(hi)
    }
    pub fn lt(self, other: impl Into<Operand<'a>>) -> E<'a> {
        let o = other.into().resolve(self);
        self.bin(Binary::Lt, o)
    }
    pub fn le(self, other: impl Into<Operand<'a>>) -> E<'a> {
        let o = other.into().resolve(self);
        self.bin(Binary::Le, o)
    }
    pub fn gt(self, other: impl Into<Operand<'a>>) -> E<'a> {
        let o = other.into().resolve(self);
        o.bin(Binary::Lt, self)
    }
    pub fn ge(self, other: impl Into<Operand<'a>>) -> E<'a> {
        let o = other.into().resolve(self);
        o.bin(Binary::Le, self)
    }
    pub fn and(self, other: E<'a>) -> E<'a> {
        self.bin(Binary::And, other)
    }
    pub fn or(self, other: E<'a>) -> E<'a> {
        self.bin(Binary::Or, other)
    }
    /// `if self { a } else { b }` for a boolean `self`.
    pub fn select(self, a: impl Into<Operand<'a>>, b: impl Into<Operand<'a>>) -> E<'a> {
        let a = a.into().resolve(self);
        let b = b.into().resolve(self);
        self.b.select(self, a, b)
    }
}

/// Either a node or a plain number, so that `x.clamp_min(0.0)` and `x.clamp_min(lo)` both read naturally.
#[derive(Clone, Copy)]
pub enum Operand<'a> {
    Node(E<'a>),
    Num(f64),
}

impl<'a> Operand<'a> {
    fn resolve(self, ctx: E<'a>) -> E<'a> {
        match self {
            Operand::Node(e) => e,
            Operand::Num(v) => ctx.lift(v),
        }
    }
}

impl<'a> From<E<'a>> for Operand<'a> {
    fn from(e: E<'a>) -> Self {
        Operand::Node(e)
    }
}
impl From<f64> for Operand<'_> {
    fn from(v: f64) -> Self {
        Operand::Num(v)
    }
}

macro_rules! arith {
    ($trait:ident, $method:ident, $bin:expr) => {
        impl<'a> $trait<E<'a>> for E<'a> {
            type Output = E<'a>;
            fn $method(self, rhs: E<'a>) -> E<'a> {
                self.bin($bin, rhs)
            }
        }
        impl<'a> $trait<f64> for E<'a> {
            type Output = E<'a>;
            fn $method(self, rhs: f64) -> E<'a> {
                let r = self.lift(rhs);
                self.bin($bin, r)
            }
        }
        impl<'a> $trait<E<'a>> for f64 {
            type Output = E<'a>;
            fn $method(self, rhs: E<'a>) -> E<'a> {
                rhs.lift(self).bin($bin, rhs)
            }
        }
    };
}
arith!(Add, add, Binary::Add);
arith!(Sub, sub, Binary::Sub);
arith!(Mul, mul, Binary::Mul);
arith!(Div, div, Binary::Div);

impl<'a> Neg for E<'a> {
    type Output = E<'a>;
    fn neg(self) -> E<'a> {
        self.un(Unary::Neg)
    }
}
