//! The text form of the IR: one node per line, operands by number, in the graph's (topological) order.
//!
//! ```text
//! %0 = input 0
//! %1 = param 2
//! %2 = const 0.5
//! %3 = mul %0 %2
//! %4 = powi 2 %3
//! %5 = lt %3 %1
//! %6 = select %5 %3 %4
//! ```
//!
//! [`Graph`]'s `Display` prints every node and [`parse_graph`] reads it back node for node (no
//! simplification), so text and graph round-trip exactly; constants print in Rust's shortest exact form.
//! [`program_text`] prints what a reviewer wants to read of a lowered model: only the nodes its functions
//! and layout reach, renumbered densely, then each function's inputs and outputs.

use crate::ir::{Binary, Graph, NodeId, Op, Unary};
use crate::program::{Function, Program};
use std::fmt;

fn unary_name(u: Unary) -> String {
    match u {
        Unary::Neg => "neg".into(),
        Unary::Sin => "sin".into(),
        Unary::Cos => "cos".into(),
        Unary::Exp => "exp".into(),
        Unary::Ln => "ln".into(),
        Unary::Sqrt => "sqrt".into(),
        Unary::Tanh => "tanh".into(),
        Unary::Abs => "abs".into(),
        Unary::Powi(n) => format!("powi {n}"),
        Unary::Not => "not".into(),
    }
}

const BINARY: [(Binary, &str); 13] = [
    (Binary::Add, "add"),
    (Binary::Sub, "sub"),
    (Binary::Mul, "mul"),
    (Binary::Div, "div"),
    (Binary::Atan2, "atan2"),
    (Binary::Max, "max"),
    (Binary::Min, "min"),
    (Binary::ClampMin, "clamp_min"),
    (Binary::ClampMax, "clamp_max"),
    (Binary::Lt, "lt"),
    (Binary::Le, "le"),
    (Binary::And, "and"),
    (Binary::Or, "or"),
];

const UNARY: [(Unary, &str); 9] = [
    (Unary::Neg, "neg"),
    (Unary::Sin, "sin"),
    (Unary::Cos, "cos"),
    (Unary::Exp, "exp"),
    (Unary::Ln, "ln"),
    (Unary::Sqrt, "sqrt"),
    (Unary::Tanh, "tanh"),
    (Unary::Abs, "abs"),
    (Unary::Not, "not"),
];

fn binary_name(b: Binary) -> &'static str {
    BINARY
        .iter()
        .find(|(x, _)| *x == b)
        .map(|(_, n)| *n)
        .expect("every binary op is named")
}

/// One node's right-hand side, with operands renamed by `name`.
fn write_op(f: &mut dyn fmt::Write, op: Op, name: &dyn Fn(NodeId) -> u32) -> fmt::Result {
    match op {
        Op::Const(bits) => write!(f, "const {:?}", f64::from_bits(bits)),
        Op::Bool(b) => write!(f, "{b}"),
        Op::Input(i) => write!(f, "input {i}"),
        Op::Param(i) => write!(f, "param {i}"),
        Op::Var(i) => write!(f, "var {i}"),
        Op::Unary(u, a) => write!(f, "{} %{}", unary_name(u), name(a)),
        Op::Binary(b, x, y) => write!(f, "{} %{} %{}", binary_name(b), name(x), name(y)),
        Op::Select(c, x, y) => write!(f, "select %{} %{} %{}", name(c), name(x), name(y)),
    }
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in self.ops().iter().enumerate() {
            write!(f, "%{i} = ")?;
            write_op(f, *op, &|n| n.0)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Reads the text [`Graph`]'s `Display` writes, node for node. Errors name the line.
pub fn parse_graph(text: &str) -> Result<Graph, String> {
    let mut ops = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}: `{line}`", k + 1);
        let (lhs, rhs) = line
            .split_once(" = ")
            .ok_or_else(|| bad("expected `%N = op`"))?;
        if lhs != format!("%{}", ops.len()) {
            return Err(bad(&format!("expected node %{}", ops.len())));
        }
        let words: Vec<&str> = rhs.split_whitespace().collect();
        let node = |w: &str| -> Result<NodeId, String> {
            let n: u32 = w
                .strip_prefix('%')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| bad("expected an operand `%N`"))?;
            if n as usize >= ops.len() {
                return Err(bad("an operand must come before its user"));
            }
            Ok(NodeId(n))
        };
        let index = |w: &str| w.parse::<u32>().map_err(|_| bad("expected an index"));
        let op = match words[..] {
            ["const", v] => Op::Const(v.parse::<f64>().map_err(|_| bad("bad constant"))?.to_bits()),
            ["true"] => Op::Bool(true),
            ["false"] => Op::Bool(false),
            ["input", i] => Op::Input(index(i)?),
            ["param", i] => Op::Param(index(i)?),
            ["var", i] => Op::Var(index(i)?),
            ["powi", n, a] => Op::Unary(
                Unary::Powi(n.parse().map_err(|_| bad("bad exponent"))?),
                node(a)?,
            ),
            ["select", c, x, y] => Op::Select(node(c)?, node(x)?, node(y)?),
            [name, a] => {
                let u = UNARY
                    .iter()
                    .find(|(_, n)| *n == name)
                    .ok_or_else(|| bad("unknown operation"))?;
                Op::Unary(u.0, node(a)?)
            }
            [name, x, y] => {
                let b = BINARY
                    .iter()
                    .find(|(_, n)| *n == name)
                    .ok_or_else(|| bad("unknown operation"))?;
                Op::Binary(b.0, node(x)?, node(y)?)
            }
            _ => return Err(bad("unknown operation")),
        };
        ops.push(op);
    }
    Ok(Graph::from_ops(ops))
}

/// The text of a lowered model for review: the nodes its functions, layout, constraints and time step
/// reach, renumbered densely in graph order, then `fn NAME(inputs) -> outputs` for reset, step, step_vjp
/// and step_jvp.
pub fn program_text(p: &Program) -> String {
    use std::fmt::Write as _;
    let functions: [(&str, &Function); 4] = [
        ("reset", &p.reset),
        ("step", &p.step),
        ("step_vjp", &p.step_vjp),
        ("step_jvp", &p.step_jvp),
    ];
    let l = &p.nodes;
    let mut roots: Vec<NodeId> = functions
        .iter()
        .flat_map(|(_, f)| f.outputs.clone())
        .collect();
    roots.push(p.timestep);
    for (a, b) in l
        .position_bounds
        .iter()
        .chain(&l.velocity_bounds)
        .chain(&l.muscle_normalizers)
    {
        roots.extend([*a, *b]);
    }
    roots.extend(p.constraints.iter().map(|c| c.value));
    let live = p.graph.reachable(&roots);
    let mut renamed = vec![u32::MAX; live.len()];
    let mut out = format!(
        "model {} ({}, {} ministeps)\n",
        p.name,
        p.integrator.name(),
        p.ministeps
    );
    for (i, param) in p.params.iter().enumerate() {
        let _ = writeln!(out, "param {i} {} = {:?}", param.name, param.default);
    }
    let mut n = 0;
    for (i, op) in p.graph.ops().iter().enumerate() {
        if !live[i] {
            continue;
        }
        renamed[i] = n;
        let _ = write!(out, "%{n} = ");
        let _ = write_op(&mut out, *op, &|id| renamed[id.index()]);
        out.push('\n');
        n += 1;
    }
    let name = |id: NodeId| format!("%{}", renamed[id.index()]);
    let list = |ids: &[NodeId]| ids.iter().map(|&i| name(i)).collect::<Vec<_>>().join(", ");
    for (fname, f) in functions {
        let inputs: Vec<String> = f.inputs.iter().map(u32::to_string).collect();
        let _ = writeln!(
            out,
            "fn {fname}(inputs {}) -> [{}]",
            inputs.join(", "),
            list(&f.outputs)
        );
    }
    let _ = writeln!(out, "timestep = {}", name(p.timestep));
    for (k, c) in p.constraints.iter().enumerate() {
        let rel = if c.strict { "> 0" } else { ">= 0" };
        let _ = writeln!(
            out,
            "constraint {k}: {} {rel}  // {}",
            name(c.value),
            c.message
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_round_trips() {
        let mut g = Graph::new();
        let x = g.input(0);
        let p = g.param(1);
        let c = g.constant(-0.1);
        let mut nodes = vec![x, p, c];
        for (u, _) in UNARY.iter().filter(|(u, _)| *u != Unary::Not) {
            nodes.push(g.unary(*u, x));
        }
        nodes.push(g.unary(Unary::Powi(-3), x));
        for (b, _) in BINARY.iter().take(9) {
            nodes.push(g.binary(*b, x, p));
        }
        let lt = g.lt(x, p);
        let le = g.binary(Binary::Le, p, c);
        let and = g.binary(Binary::And, lt, le);
        let or = g.binary(Binary::Or, lt, le);
        let not = g.unary(Unary::Not, or);
        g.select(not, x, c);
        g.select(and, p, x);
        g.add(Op::Bool(true));
        g.add(Op::Const(f64::NAN.to_bits()));
        g.add(Op::Const(f64::NEG_INFINITY.to_bits()));
        g.add(Op::Var(7));
        let text = g.to_string();
        let back = parse_graph(&text).unwrap();
        assert_eq!(back.ops(), g.ops());
        assert_eq!(back.to_string(), text);
    }

    #[test]
    fn bad_text_is_located() {
        assert!(parse_graph("%0 = input 0\n%1 = mul %0 %5\n")
            .unwrap_err()
            .contains("line 2"));
        assert!(parse_graph("%0 = frobnicate %0")
            .unwrap_err()
            .contains("unknown operation"));
        assert!(parse_graph("%1 = input 0")
            .unwrap_err()
            .contains("expected node %0"));
    }
}
