//! Syntax tree of a `.mnet` file, exactly as written (no name resolution, no units applied).

/// A byte range in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(s: pest::Span<'_>) -> Self {
        Span::new(s.start(), s.end())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub name: Ident,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `const name = value;`
    Const { name: Ident, value: Value },
    /// `body name { … }`
    Body { name: Ident, block: Block },
    /// `joint name: parent -> child { … }`
    Joint {
        name: Ident,
        parent: Ident,
        child: Ident,
        block: Block,
    },
    /// `muscle name: Model { … }`
    Muscle {
        name: Ident,
        kind: Ident,
        block: Block,
    },
    /// `obstacle name: cylinder|sphere { … }`
    Obstacle {
        name: Ident,
        kind: Ident,
        block: Block,
    },
    /// A model-level setting such as `timestep 0.01 s;`.
    Setting(Property),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub properties: Vec<Property>,
    pub paths: Vec<PathDef>,
    pub span: Span,
}

/// `name value… ;`
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    pub name: Ident,
    pub values: Vec<Value>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Quantity(Quantity),
    Vector {
        components: Vec<Expr>,
        unit: Option<Unit>,
        span: Span,
    },
    Range {
        lower: Quantity,
        upper: Quantity,
        span: Span,
    },
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Quantity(q) => q.span,
            Value::Vector { span, .. } | Value::Range { span, .. } => *span,
        }
    }
    /// The identifier, if this value is a bare name (as in `integrator euler;`).
    pub fn as_word(&self) -> Option<&Ident> {
        match self {
            Value::Quantity(Quantity {
                expr:
                    Expr {
                        kind: ExprKind::Ref(path),
                        ..
                    },
                unit: None,
                ..
            }) if path.len() == 1 => Some(&path[0]),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    pub expr: Expr,
    pub unit: Option<Unit>,
    pub span: Span,
}

/// A unit written after a value: a product of unit words with integer powers.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub factors: Vec<(Ident, i32)>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(f64),
    /// A (possibly dotted) name: a constant, a joint coordinate, `pi`, or `decl.property`.
    Ref(Vec<Ident>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call(Ident, Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathDef {
    /// `path lumped EXPR;` — musculotendon length as an expression of the joint coordinates.
    Lumped { expr: Expr, span: Span },
    /// `path body (x, y) -> wrap obstacle side … -> body (x, y);`
    Via {
        elements: Vec<PathElement>,
        span: Span,
    },
}

impl PathDef {
    pub fn span(&self) -> Span {
        match self {
            PathDef::Lumped { span, .. } | PathDef::Via { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // syntax-tree nodes: few, short-lived
pub enum PathElement {
    Point {
        body: Ident,
        position: Value,
    },
    Wrap {
        obstacle: Ident,
        side: Option<WrapSide>,
        span: Span,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum WrapSide {
    /// A point in the obstacle's body frame: the path wraps on the side of this point.
    Point(Box<Value>),
    /// `+` (counter-clockwise about the obstacle axis) or `-`.
    Sign(f64, Span),
}
