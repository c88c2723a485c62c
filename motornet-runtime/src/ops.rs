//! The operations of the expression graph and their values: the single definition of what each operation
//! computes on `f64` (booleans as 0.0 / 1.0). The compiler folds constants and the interpreter evaluates with
//! these functions, and the code generator emits code with the same semantics; derivative rules live with the
//! graph (`motornet_dsl::ir::Graph::tangent`).

use crate::math::{atan2, clamp_max, clamp_min, cos, exp, maximum, minimum, sin};

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
    pub fn commutative(self) -> bool {
        matches!(
            self,
            Binary::Add | Binary::Mul | Binary::Max | Binary::Min | Binary::And | Binary::Or
        )
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
