//! Program → Rust tokens: a type implementing the runtime's `Plant` trait with straight-line step and reset
//! code, generic over the scalar type (`f64`, or `num-dual` numbers for forward-mode derivatives).
//!
//! Parameter-only nodes are computed once per parameter set (`Derived`); constants are folded into literals;
//! every other node becomes one `let`. Selects stay selects (`Scalar::select`), so there are no branches.

use crate::ir::{Binary, Graph, NodeId, Op, Unary};
use crate::program::{Function, Program};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

/// What the generated code is called and where it finds the runtime.
pub struct Options {
    pub type_name: Ident,
    /// Path of the runtime support module, e.g. `::motornet::__private`.
    pub runtime: TokenStream,
    /// Visibility of the generated type.
    pub vis: TokenStream,
    /// Absolute path of the model file, so that editing it rebuilds the crate.
    pub source_path: Option<String>,
}

/// Generates the plant type for `program`.
pub fn generate(program: &Program, opts: &Options) -> TokenStream {
    let g = &program.graph;
    let rt = &opts.runtime;
    let name = &opts.type_name;
    let vis = &opts.vis;
    let layout = &program.nodes;
    let dof = program.info.dof();
    let state_dim = program.info.state_dim();
    let control_dim = program.control_dim();
    let n_params = program.params.len();

    // Static nodes the dynamic code reads, plus those the plant needs itself (bounds, timestep, checks).
    let stat = g.static_nodes();
    let mut needed: Vec<NodeId> = Vec::new();
    for f in [
        &program.step,
        &program.reset,
        &program.step_vjp,
        &program.step_jvp,
    ] {
        let live = g.reachable(&f.outputs);
        let is_derived =
            |n: NodeId| stat[n.index()] && !matches!(g.op(n), Op::Const(_) | Op::Bool(_));
        needed.extend(f.outputs.iter().copied().filter(|&o| is_derived(o)));
        for (i, &l) in live.iter().enumerate() {
            if l && !stat[i] {
                needed.extend(g.ops()[i].operands().filter(|&o| is_derived(o)));
            }
        }
    }
    needed.sort();
    needed.dedup();
    let extra: Vec<NodeId> = layout
        .position_bounds
        .iter()
        .chain(&layout.velocity_bounds)
        .flat_map(|&(a, b)| [a, b])
        .chain(layout.muscle_normalizers.iter().flat_map(|&(a, b)| [a, b]))
        .chain([program.timestep])
        .chain(program.constraints.iter().map(|c| c.value))
        .collect();
    let statics_code = static_code(
        g,
        rt,
        &needed.iter().chain(&extra).copied().collect::<Vec<_>>(),
    );
    let derived_len = needed.len();
    let fill_derived = needed.iter().enumerate().map(|(k, n)| {
        let v = static_ident(*n);
        quote! { derived[#k] = #v; }
    });
    let bound_exprs = (0..dof).map(|k| {
        let (lo, hi) = layout.position_bounds[k];
        let (vlo, vhi) = layout.velocity_bounds[k];
        let (lo, hi, vlo, vhi) = (
            static_ident(lo),
            static_ident(hi),
            static_ident(vlo),
            static_ident(vhi),
        );
        quote! { #rt::Bounds { lower: #lo, upper: #hi, vel_lower: #vlo, vel_upper: #vhi } }
    });
    let checks = program.constraints.iter().map(|c| {
        let v = static_ident(c.value);
        let msg = &c.message;
        let ok = if c.strict {
            quote! { #v > 0.0 }
        } else {
            quote! { #v >= 0.0 }
        };
        quote! { if !(#v.is_finite() && #ok) { violations.push(#msg.to_string()); } }
    });
    let timestep = static_ident(program.timestep);
    let n_muscles = program.info.n_muscles();
    let normalizer_exprs = layout.muscle_normalizers.iter().map(|&(l, v)| {
        let (l, v) = (static_ident(l), static_ident(v));
        quote! { [#l, #v] }
    });

    let joint_dim = 2 * dof;
    let (sd, cd) = (state_dim, control_dim);
    let step_body = function_code(
        g,
        &program.step,
        &needed,
        &[("x", sd), ("u", cd)],
        &[("out", sd)],
        true,
    );
    let reset_body = function_code(
        g,
        &program.reset,
        &needed,
        &[("x", joint_dim)],
        &[("out", sd)],
        false,
    );
    let vjp_body = function_code(
        g,
        &program.step_vjp,
        &needed,
        &[("x", sd), ("u", cd), ("w", sd)],
        &[("gx", sd), ("gu", cd)],
        false,
    );
    let jvp_body = function_code(
        g,
        &program.step_jvp,
        &needed,
        &[("x", sd), ("u", cd), ("tx", sd), ("tu", cd)],
        &[("out", sd)],
        false,
    );

    let info = info_code(program, rt);
    let defaults = program.params.iter().map(|p| lit(p.default));
    let param_names = program.params.iter().map(|p| p.name.as_str());
    let tracked = opts
        .source_path
        .as_ref()
        .map(|p| quote! { const _: &[u8] = include_bytes!(#p); });
    let doc = format!(
        "The `{}` model, compiled from its `.mnet` file: {} coordinates, {} muscles, {} parameters.",
        program.name,
        dof,
        program.info.n_muscles(),
        n_params
    );

    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #name {
            params: [f64; #n_params],
            derived: [f64; #derived_len],
            bounds: [#rt::Bounds; #dof],
            normalizers: [[f64; 2]; #n_muscles],
            timestep: f64,
        }

        #[allow(clippy::all, clippy::pedantic, unused_variables, unused_mut, unused_parens, non_snake_case)]
        const _: () = {
            #tracked
            use #rt::Scalar as _;

            impl ::core::default::Default for #name {
                fn default() -> Self {
                    Self::new()
                }
            }

            impl #name {
                /// Parameter names, in the order of [`Self::DEFAULTS`].
                pub const PARAM_NAMES: [&'static str; #n_params] = [#(#param_names),*];
                /// Parameter values written in the model file (SI units).
                pub const DEFAULTS: [f64; #n_params] = [#(#defaults),*];
                /// Length of the state vector.
                pub const STATE_DIM: usize = #state_dim;
                /// Length of the controls: excitations, endpoint force (2), joint loads.
                pub const CONTROL_DIM: usize = #control_dim;

                /// The model with the parameter values of its file.
                pub fn new() -> Self {
                    Self::with_params(&Self::DEFAULTS).expect("the model file's own values were checked when it compiled")
                }

                /// The model with other parameter values; fails if they break a constraint of the model.
                pub fn with_params(params: &[f64; #n_params]) -> ::core::result::Result<Self, #rt::Error> {
                    let p = params;
                    #statics_code
                    let mut violations: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
                    #(#checks)*
                    if !violations.is_empty() {
                        return Err(#rt::Error::InvalidParams(violations));
                    }
                    let mut derived = [0.0f64; #derived_len];
                    #(#fill_derived)*
                    Ok(Self { params: *params, derived, bounds: [#(#bound_exprs),*], normalizers: [#(#normalizer_exprs),*], timestep: #timestep })
                }

                /// One step of one effector, generic over the scalar type (`f64`, dual numbers for
                /// forward-mode derivatives, or lanes of effectors): `x` state, `u` controls, result in
                /// `out`. Returns false only for lanes, when a sine or cosine argument lay beyond the
                /// vector kernel's range (`Scalar::kernel_range`): `out` is then not the step's result and
                /// the lanes must be stepped one by one.
                #[inline(always)]
                pub fn step_generic<T: #rt::Scalar>(&self, x: &[T; #state_dim], u: &[T; #control_dim], out: &mut [T; #state_dim]) -> bool {
                    let d = &self.derived;
                    let mut exact = true;
                    #step_body
                    exact
                }

                /// Steps blocks of four effectors (the batch layout without its rows).
                #[inline(always)]
                fn step_lanes(&self, states: &[f64], controls: &[f64], next: &mut [f64]) {
                    for ((x, u), out) in states
                        .chunks_exact(4 * #state_dim)
                        .zip(controls.chunks_exact(4 * #control_dim))
                        .zip(next.chunks_exact_mut(4 * #state_dim))
                    {
                        let (x, u, out) = (
                            #rt::lanes::<4, #state_dim>(x),
                            #rt::lanes::<4, #control_dim>(u),
                            #rt::lanes_mut::<4, #state_dim>(out),
                        );
                        if !self.step_generic(x, u, out) {
                            self.step_lanes_one_by_one(x, u, out);
                        }
                    }
                }

                /// Steps four effectors one at a time, as `Plant::step` does (with libm for sines and
                /// cosines of huge or non-finite arguments).
                #[cold]
                #[inline(never)]
                fn step_lanes_one_by_one(&self, x: &[#rt::F64x4; #state_dim], u: &[#rt::F64x4; #control_dim], out: &mut [#rt::F64x4; #state_dim]) {
                    for lane in 0..4 {
                        let xs: [f64; #state_dim] = ::core::array::from_fn(|k| x[k].0[lane]);
                        let us: [f64; #control_dim] = ::core::array::from_fn(|k| u[k].0[lane]);
                        let mut ys = [0.0; #state_dim];
                        self.step_generic(&xs, &us, &mut ys);
                        for (o, y) in out.iter_mut().zip(ys) {
                            o.0[lane] = y;
                        }
                    }
                }

                /// One effector's step compiled for AVX2, where LLVM pairs independent operations.
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                #[target_feature(enable = "avx2")]
                unsafe fn step_one_avx2(&self, x: &[f64; #state_dim], u: &[f64; #control_dim], out: &mut [f64; #state_dim]) {
                    self.step_generic(x, u, out);
                }

                #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
                unsafe fn step_one_avx2(&self, x: &[f64; #state_dim], u: &[f64; #control_dim], out: &mut [f64; #state_dim]) {
                    self.step_generic(x, u, out);
                }

                /// [`Self::step_lanes`] compiled for AVX2.
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                #[target_feature(enable = "avx2")]
                unsafe fn step_lanes_avx2(&self, states: &[f64], controls: &[f64], next: &mut [f64]) {
                    self.step_lanes(states, controls, next)
                }

                #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
                unsafe fn step_lanes_avx2(&self, states: &[f64], controls: &[f64], next: &mut [f64]) {
                    self.step_lanes(states, controls, next)
                }

                /// Reverse mode: given the cotangent `w` of the next state, the cotangents of the state (`gx`)
                /// and of the controls (`gu`) — a vector–Jacobian product of one step.
                #[inline]
                pub fn step_vjp_generic<T: #rt::Scalar>(
                    &self, x: &[T; #state_dim], u: &[T; #control_dim], w: &[T; #state_dim],
                    gx: &mut [T; #state_dim], gu: &mut [T; #control_dim],
                ) {
                    let d = &self.derived;
                    #vjp_body
                }

                /// Forward mode: the tangent of the next state given tangents of the state (`tx`) and controls
                /// (`tu`) — a Jacobian–vector product of one step.
                #[inline]
                pub fn step_jvp_generic<T: #rt::Scalar>(
                    &self, x: &[T; #state_dim], u: &[T; #control_dim], tx: &[T; #state_dim], tu: &[T; #control_dim],
                    out: &mut [T; #state_dim],
                ) {
                    let d = &self.derived;
                    #jvp_body
                }

                /// The state right after reset from joint positions and velocities, generic over the scalar.
                #[inline]
                pub fn reset_generic<T: #rt::Scalar>(&self, x: &[T; #joint_dim], out: &mut [T; #state_dim]) {
                    let d = &self.derived;
                    #reset_body
                }
            }

            impl #rt::Plant for #name {
                fn info(&self) -> &#rt::PlantInfo {
                    static INFO: ::std::sync::OnceLock<#rt::PlantInfo> = ::std::sync::OnceLock::new();
                    INFO.get_or_init(|| #info)
                }
                fn params(&self) -> &[f64] {
                    &self.params
                }
                fn set_params(&mut self, values: &[f64]) -> ::core::result::Result<(), #rt::Error> {
                    let values: &[f64; #n_params] = values.try_into().map_err(|_| #rt::Error::Shape {
                        what: "parameters".into(), expected: #n_params, got: values.len(),
                    })?;
                    *self = Self::with_params(values)?;
                    Ok(())
                }
                fn bounds(&self) -> &[#rt::Bounds] {
                    &self.bounds
                }
                fn timestep(&self) -> f64 {
                    self.timestep
                }
                fn muscle_normalizers(&self) -> &[[f64; 2]] {
                    &self.normalizers
                }
                fn workspace(&self) -> #rt::Workspace {
                    #rt::Workspace::default()
                }
                fn reset_unchecked(&self, _ws: &mut #rt::Workspace, joint: &[f64], state: &mut [f64]) {
                    let joint: &[f64; #joint_dim] = joint.try_into().expect("joint state length");
                    let state: &mut [f64; #state_dim] = state.try_into().expect("state length");
                    self.reset_generic(joint, state);
                }
                fn step_unchecked(&self, _ws: &mut #rt::Workspace, state: &[f64], controls: &[f64], next: &mut [f64]) {
                    let state: &[f64; #state_dim] = state.try_into().expect("state length");
                    let controls: &[f64; #control_dim] = controls.try_into().expect("controls length");
                    let next: &mut [f64; #state_dim] = next.try_into().expect("state length");
                    if #rt::has_avx2() {
                        // SAFETY: the CPU supports AVX2 (detected at run time).
                        unsafe { self.step_one_avx2(state, controls, next) }
                    } else {
                        self.step_generic(state, controls, next);
                    }
                }
                fn step_batch_unchecked(&self, ws: &mut #rt::Workspace, states: &[f64], controls: &[f64], next: &mut [f64]) {
                    let n = states.len() / #state_dim;
                    let lanes = n / 4 * 4;

                    let (x, u, y) = (&states[..lanes * #state_dim], &controls[..lanes * #control_dim], &mut next[..lanes * #state_dim]);
                    if lanes == 0 {
                        // A small batch goes straight to the scalar path.
                    } else if #rt::has_avx2() {
                        // SAFETY: the CPU supports AVX2 (detected at run time).
                        unsafe { self.step_lanes_avx2(x, u, y) }
                    } else {
                        self.step_lanes(x, u, y)
                    }
                    for e in lanes..n {
                        #rt::Plant::step_unchecked(
                            self, ws,
                            &states[e * #state_dim..(e + 1) * #state_dim],
                            &controls[e * #control_dim..(e + 1) * #control_dim],
                            &mut next[e * #state_dim..(e + 1) * #state_dim],
                        );
                    }
                }
                fn step_vjp_unchecked(
                    &self, _ws: &mut #rt::Workspace, state: &[f64], controls: &[f64], next_cotangent: &[f64],
                    state_cotangent: &mut [f64], controls_cotangent: &mut [f64],
                ) {
                    self.step_vjp_generic(
                        state.try_into().expect("state length"),
                        controls.try_into().expect("controls length"),
                        next_cotangent.try_into().expect("state length"),
                        state_cotangent.try_into().expect("state length"),
                        controls_cotangent.try_into().expect("controls length"),
                    );
                }
                fn step_jvp_unchecked(
                    &self, _ws: &mut #rt::Workspace, state: &[f64], controls: &[f64], state_tangent: &[f64],
                    controls_tangent: &[f64], next_tangent: &mut [f64],
                ) {
                    self.step_jvp_generic(
                        state.try_into().expect("state length"),
                        controls.try_into().expect("controls length"),
                        state_tangent.try_into().expect("state length"),
                        controls_tangent.try_into().expect("controls length"),
                        next_tangent.try_into().expect("state length"),
                    );
                }
            }
        };
    }
}

fn lit(v: f64) -> TokenStream {
    if v.is_nan() {
        quote! { f64::NAN }
    } else if v == f64::INFINITY {
        quote! { f64::INFINITY }
    } else if v == f64::NEG_INFINITY {
        quote! { f64::NEG_INFINITY }
    } else {
        let l = Literal::f64_suffixed(v);
        quote! { #l }
    }
}

fn static_ident(n: NodeId) -> Ident {
    format_ident!("s{}", n.0)
}

fn node_ident(n: NodeId) -> Ident {
    format_ident!("v{}", n.0)
}

/// Straight-line `f64` code computing the given static nodes (and what they depend on) from `p`.
fn static_code(g: &Graph, rt: &TokenStream, roots: &[NodeId]) -> TokenStream {
    let live = g.reachable(roots);
    let scalar = quote! { <f64 as #rt::Scalar> };
    let mut out = TokenStream::new();
    for (i, &l) in live.iter().enumerate() {
        if !l {
            continue;
        }
        let id = NodeId(i as u32);
        let v = static_ident(id);
        let s = static_ident;
        let e = match g.op(id) {
            Op::Const(b) => lit(f64::from_bits(b)),
            Op::Bool(b) => quote! { #b },
            Op::Param(k) => {
                let k = k as usize;
                quote! { p[#k] }
            }
            op => op_code(
                op,
                &|n| {
                    let v = s(n);
                    quote! { #v }
                },
                &scalar,
            ),
        };
        out.extend(quote! { let #v = #e; });
    }
    out
}

/// Straight-line code runs in blocks of this many nodes. Each block returns the values later blocks need as
/// an array: one flat run of thousands of `let`s nests scopes so deeply that LLVM's debug-info pass
/// overflows its stack.
const BLOCK: usize = 256;

/// Names and lengths of a generated function's argument arrays, in the order of the function's inputs (and
/// likewise of its output arrays).
type Groups<'a> = &'a [(&'a str, usize)];

/// The body of a generated function: inputs read from the argument arrays `args`, parameter-only values
/// from `d`, results written to the arrays `outs`. With `kernel_sin_cos`, sines and cosines use the
/// vector kernel alone and clear `exact` when an argument lies beyond its range (`Scalar::kernel_range`).
fn function_code(
    g: &Graph,
    f: &Function,
    derived: &[NodeId],
    args: Groups,
    outs: Groups,
    kernel_sin_cos: bool,
) -> TokenStream {
    let live = g.reachable(&f.outputs);
    let stat = g.static_nodes();
    let dynamic: Vec<NodeId> = (0..live.len())
        .filter(|&i| live[i] && !stat[i])
        .map(|i| NodeId(i as u32))
        .collect();
    let blocks: Vec<&[NodeId]> = dynamic.chunks(BLOCK).collect();
    // Block of each dynamic node, and the nodes each block must hand on.
    let mut block_of = std::collections::HashMap::new();
    for (b, nodes) in blocks.iter().enumerate() {
        for &n in *nodes {
            block_of.insert(n, b);
        }
    }
    let mut exported: Vec<Vec<NodeId>> = vec![Vec::new(); blocks.len()];
    let mut export = |n: NodeId, user_block: Option<usize>| {
        if let Some(&b) = block_of.get(&n) {
            if user_block != Some(b) && !exported[b].contains(&n) {
                exported[b].push(n);
            }
        }
    };
    for (b, nodes) in blocks.iter().enumerate() {
        for &n in *nodes {
            for o in g.op(n).operands() {
                export(o, Some(b));
            }
        }
    }
    for &o in &f.outputs {
        export(o, None);
    }
    // Within its block a node is a local; later blocks read it from the block's number or mask array.
    let slot = |n: NodeId, here: usize| -> TokenStream {
        let b = block_of[&n];
        if b == here {
            let v = node_ident(n);
            return quote! { #v };
        }
        let is_bool = g.is_bool(n);
        let k = exported[b]
            .iter()
            .filter(|&&x| g.is_bool(x) == is_bool)
            .position(|&x| x == n)
            .expect("exported");
        let arr = if is_bool {
            format_ident!("m{}", b)
        } else {
            format_ident!("b{}", b)
        };
        quote! { #arr[#k] }
    };
    let operand = |id: NodeId, here: usize| -> TokenStream {
        if !stat[id.index()] {
            return slot(id, here);
        }
        match g.op(id) {
            Op::Const(b) => {
                let l = lit(f64::from_bits(b));
                quote! { T::cst(#l) }
            }
            Op::Bool(b) => quote! { T::mask(#b) },
            _ => {
                let k = derived
                    .binary_search(&id)
                    .expect("static operand is derived");
                if g.is_bool(id) {
                    quote! { T::mask(d[#k] != 0.0) }
                } else {
                    quote! { T::cst(d[#k]) }
                }
            }
        }
    };
    let mut out = TokenStream::new();
    for (b, nodes) in blocks.iter().enumerate() {
        let mut body = TokenStream::new();
        for &id in *nodes {
            let v = node_ident(id);
            let e = match g.op(id) {
                Op::Unary(u @ (Unary::Sin | Unary::Cos), a) if kernel_sin_cos => {
                    let a = operand(a, b);
                    let kernel = if u == Unary::Sin {
                        quote! { T::sin_kernel(#a) }
                    } else {
                        quote! { T::cos_kernel(#a) }
                    };
                    quote! { { exact &= T::kernel_range(#a); #kernel } }
                }
                _ => node_code(g, f, args, id, |o| operand(o, b)),
            };
            body.extend(quote! { let #v = #e; });
        }
        let nums = exported[b]
            .iter()
            .filter(|&&n| !g.is_bool(n))
            .map(|&n| node_ident(n));
        let masks = exported[b]
            .iter()
            .filter(|&&n| g.is_bool(n))
            .map(|&n| node_ident(n));
        let (arr, marr) = (format_ident!("b{}", b), format_ident!("m{}", b));
        out.extend(quote! { let (#arr, #marr): ([T; _], [T::Mask; _]) = { #body ([#(#nums),*], [#(#masks),*]) }; });
    }
    let mut k = 0;
    for (name, len) in outs {
        let arr = format_ident!("{}", name);
        for i in 0..*len {
            let e = operand(f.outputs[k], usize::MAX);
            out.extend(quote! { #arr[#i] = #e; });
            k += 1;
        }
    }
    debug_assert_eq!(k, f.outputs.len());
    out
}

/// `name[offset]` of the argument array holding input position `pos`.
fn argument(args: Groups, mut pos: usize) -> TokenStream {
    for (name, len) in args {
        if pos < *len {
            let arr = format_ident!("{}", name);
            return quote! { #arr[#pos] };
        }
        pos -= len;
    }
    panic!("input position beyond the function's arguments")
}

/// The expression computing one dynamic node.
fn node_code(
    g: &Graph,
    f: &Function,
    args: Groups,
    id: NodeId,
    operand: impl Fn(NodeId) -> TokenStream,
) -> TokenStream {
    match g.op(id) {
        Op::Input(k) => argument(
            args,
            f.inputs
                .iter()
                .position(|&x| x == k)
                .expect("declared input"),
        ),
        op => op_code(op, &operand, &quote! { T }),
    }
}

/// The expression of an operation given its operands' expressions, through the `Scalar` trait of `scalar`
/// (`T` in generic code, `<f64 as Scalar>` for parameter-only values), so that every path of the generated
/// code has the semantics of the IR.
fn op_code(op: Op, operand: &dyn Fn(NodeId) -> TokenStream, scalar: &TokenStream) -> TokenStream {
    let t = scalar;
    match op {
        Op::Unary(u, a) => {
            let a = operand(a);
            match u {
                Unary::Neg => quote! { -#a },
                Unary::Sin => quote! { #t::sin(#a) },
                Unary::Cos => quote! { #t::cos(#a) },
                Unary::Exp => quote! { #t::exp(#a) },
                Unary::Ln => quote! { #t::ln(#a) },
                Unary::Sqrt => quote! { #t::sqrt(#a) },
                Unary::Tanh => quote! { #t::tanh(#a) },
                Unary::Abs => quote! { #t::abs(#a) },
                Unary::Powi(n) => quote! { #t::powi(#a, #n) },
                Unary::Not => quote! { #t::not(#a) },
            }
        }
        Op::Binary(b, x, y) => {
            let (x, y) = (operand(x), operand(y));
            match b {
                Binary::Add => quote! { #x + #y },
                Binary::Sub => quote! { #x - #y },
                Binary::Mul => quote! { #x * #y },
                Binary::Div => quote! { #x / #y },
                Binary::Atan2 => quote! { #t::atan2(#x, #y) },
                Binary::Max => quote! { #t::maximum(#x, #y) },
                Binary::Min => quote! { #t::minimum(#x, #y) },
                Binary::ClampMin => quote! { #t::clamp_min(#x, #y) },
                Binary::ClampMax => quote! { #t::clamp_max(#x, #y) },
                Binary::Lt => quote! { #t::lt(#x, #y) },
                Binary::Le => quote! { #t::le(#x, #y) },
                Binary::And => quote! { #t::and(#x, #y) },
                Binary::Or => quote! { #t::or(#x, #y) },
            }
        }
        Op::Select(c, a, b) => {
            let (c, a, b) = (operand(c), operand(a), operand(b));
            quote! { #t::select(#c, #a, #b) }
        }
        Op::Const(_) | Op::Bool(_) | Op::Param(_) | Op::Input(_) => {
            unreachable!("leaves are handled by the caller")
        }
        Op::Var(_) => panic!("unsubstituted placeholder"),
    }
}

fn info_code(p: &Program, rt: &TokenStream) -> TokenStream {
    let motornet_runtime::plant::PlantInfo {
        name,
        coord_names,
        muscle_names,
        muscle_model,
        muscle_state_names,
        geometry_state_names,
        params,
        integrator,
        ministeps,
        space_dim,
    } = &p.info;
    let strings = |v: &[String]| -> TokenStream {
        quote! { ::std::vec![#(#v.to_string()),*] }
    };
    let coords = strings(coord_names);
    let muscles = strings(muscle_names);
    let mstates = strings(muscle_state_names);
    let gstates = strings(geometry_state_names);
    let model = match muscle_model {
        Some(m) => quote! { Some(#m.to_string()) },
        None => quote! { None },
    };
    let params = params.iter().map(|d| {
        let (n, v) = (&d.name, lit(d.default));
        let dim = d.dim.0;
        quote! { #rt::ParamInfo { name: #n.to_string(), default: #v, dim: #rt::Dim([#(#dim),*]) } }
    });
    quote! {
        #rt::PlantInfo {
            name: #name.to_string(),
            coord_names: #coords,
            muscle_names: #muscles,
            muscle_model: #model,
            muscle_state_names: #mstates,
            geometry_state_names: #gstates,
            params: ::std::vec![#(#params),*],
            integrator: #integrator.to_string(),
            ministeps: #ministeps,
            space_dim: #space_dim,
        }
    }
}

/// CamelCase type name for a model name (`arm26_rigid_thelen` → `Arm26RigidThelen`).
pub fn type_name(model: &str) -> Ident {
    let mut s = String::new();
    for part in model
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut cs = part.chars();
        if let Some(c) = cs.next() {
            s.extend(c.to_uppercase());
            s.extend(cs);
        }
    }
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "Model");
    }
    Ident::new(&s, Span::call_site())
}

/// Pretty-printed generated code (for snapshots and `motornet expand`).
pub fn pretty(tokens: &TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => tokens.to_string(),
    }
}
