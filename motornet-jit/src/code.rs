//! Compiling a program's four functions to native code, and the per-process cache of compiled programs.

use crate::emit::{extern_address, Emitter, Layout, MathMode, EXTERNS};
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use motornet_dsl::ir::{NodeId, Op};
use motornet_dsl::program::{Function, Program};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// A compiled function: `(table, arg0, arg1, arg2, arg3, out0, out1)`; unused pointers may be null.
/// Returns 0, or 1 where an argument of `sin`/`cos` was beyond the inline kernel's range (huge or NaN):
/// the caller then computes the outputs with the interpreter.
pub(crate) type NativeFn = unsafe extern "C" fn(
    *const f64,
    *const f64,
    *const f64,
    *const f64,
    *const f64,
    *mut f64,
    *mut f64,
) -> u32;

/// Why a program could not be compiled to native code (the caller falls back to the interpreter).
#[derive(Debug, Clone)]
pub struct JitError(pub String);

impl std::fmt::Display for JitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JIT compilation failed: {}", self.0)
    }
}

impl std::error::Error for JitError {}

/// Native code of one program: reset, step, step_vjp and step_jvp.
pub(crate) struct Code {
    /// Owns the executable memory the function pointers point into; never freed while `Code` lives
    /// (cached code lives as long as the process).
    _module: JITModule,
    pub reset: NativeFn,
    pub step: NativeFn,
    pub step_vjp: NativeFn,
    pub step_jvp: NativeFn,
    /// `step` for two effectors at once (`f64x2`), on the batch layout: each pointer at the first of the
    /// two effectors' components in a block, component `k` `LANES` values further.
    pub step_pair: NativeFn,
    /// The parameter-dependent nodes the code reads, in the order of its table.
    pub slots: Vec<NodeId>,
    /// Wall time spent compiling, in seconds.
    pub compile_seconds: f64,
}

// SAFETY: after `finalize_definitions` the module is only kept alive, never used again; the functions
// are pure code reading only their arguments.
unsafe impl Send for Code {}
unsafe impl Sync for Code {}

impl Code {
    /// Frees the executable memory; returns the compile time.
    pub(crate) fn free(self) -> f64 {
        // SAFETY: the function pointers die with `self`; none was handed out (uncached code only).
        unsafe { self._module.free_memory() };
        self.compile_seconds
    }
}

/// The native ISA of this machine, with the flags the JIT uses.
fn isa() -> Result<cranelift_codegen::isa::OwnedTargetIsa, JitError> {
    let err = |e: &dyn std::fmt::Display| JitError(e.to_string());
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(|e| err(&e))?;
    flags
        .set("use_colocated_libcalls", "false")
        .map_err(|e| err(&e))?;
    flags.set("is_pic", "false").map_err(|e| err(&e))?;
    // The verifier costs compile time; it stays on in debug builds (the tests).
    let verify = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    flags.set("enable_verifier", verify).map_err(|e| err(&e))?;
    // Detects the CPU's features (SSE4.1, AVX, …) at start-up.
    let builder = cranelift_native::builder().map_err(|e| err(&e))?;
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| err(&e))
}

/// Compiles `program`'s functions.
pub(crate) fn compile(program: &Program, math: MathMode) -> Result<Code, JitError> {
    if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        return Err(JitError(format!(
            "no native code generator for {}",
            std::env::consts::ARCH
        )));
    }
    let start = Instant::now();
    let mut jb = JITBuilder::with_isa(isa()?, default_libcall_names());
    for (e, name) in EXTERNS {
        jb.symbol(name, extern_address(e));
    }
    let mut module = JITModule::new(jb);
    let err = |e: &dyn std::fmt::Display| JitError(e.to_string());

    let mut unary = module.make_signature();
    unary.params.push(AbiParam::new(types::F64));
    unary.returns.push(AbiParam::new(types::F64));
    let mut binary = unary.clone();
    binary.params.push(AbiParam::new(types::F64));
    let mut extern_ids = Vec::new();
    for (e, name) in EXTERNS {
        let sig = if matches!(e, crate::emit::Extern::Atan2) {
            &binary
        } else {
            &unary
        };
        extern_ids.push(
            module
                .declare_function(name, Linkage::Import, sig)
                .map_err(|e| err(&e))?,
        );
    }

    let ptr = module.target_config().pointer_type();
    let mut sig = Signature::new(module.isa().default_call_conv());
    for _ in 0..7 {
        sig.params.push(AbiParam::new(ptr));
    }
    sig.returns.push(AbiParam::new(types::I32));

    let info = &program.info;
    let (s, c, j) = (info.state_dim(), info.control_dim(), info.joint_dim());
    let functions: [(&str, &Function, Layout); 5] = [
        ("reset", &program.reset, Layout::of(&[j], &[s])),
        ("step", &program.step, Layout::of(&[s, c], &[s])),
        (
            "step_vjp",
            &program.step_vjp,
            Layout::of(&[s, c, s], &[s, c]),
        ),
        (
            "step_jvp",
            &program.step_jvp,
            Layout::of(&[s, c, s, c], &[s]),
        ),
        ("step_pair", &program.step, Layout::of(&[s, c], &[s])),
    ];
    for (name, f, layout) in &functions {
        if f.inputs.len() != layout.inputs.len() || f.outputs.len() != layout.outputs.len() {
            return Err(JitError(format!(
                "`{name}` takes {} values and returns {}, where the plant's layout has {} and {}",
                f.inputs.len(),
                f.outputs.len(),
                layout.inputs.len(),
                layout.outputs.len()
            )));
        }
    }
    let statics = program.graph.static_nodes();
    if let Some(op) = program
        .graph
        .ops()
        .iter()
        .find(|op| matches!(op, Op::Var(_)))
    {
        // Checked here so that emission never meets one (the interpreter would panic).
        let live: Vec<NodeId> = functions
            .iter()
            .flat_map(|f| f.1.outputs.iter().copied())
            .collect();
        let reach = program.graph.reachable(&live);
        if program
            .graph
            .ops()
            .iter()
            .zip(&reach)
            .any(|(o, &l)| l && matches!(o, Op::Var(_)))
        {
            return Err(JitError(format!("unsubstituted placeholder {op:?}")));
        }
    }

    let mut slots: HashMap<NodeId, usize> = HashMap::new();
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut ids = Vec::new();
    for (k, (name, f, layout)) in functions.iter().enumerate() {
        let id = module
            .declare_function(name, Linkage::Local, &sig)
            .map_err(|e| err(&e))?;
        ctx.func.signature = sig.clone();
        ctx.func.name = UserFuncName::user(0, k as u32);
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let externs: Vec<_> = extern_ids
                .iter()
                .map(|&e| module.declare_func_in_func(e, b.func))
                .collect();
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let p = b.block_params(entry).to_vec();
            let mut em = Emitter::new(
                &mut b,
                &program.graph,
                &statics,
                &mut slots,
                externs.try_into().expect("six externs"),
                math,
                p[0],
                p[1..5].to_vec(),
                p[5..7].to_vec(),
                *name == "step_pair",
            );
            let status = em.function(&f.inputs, &f.outputs, layout);
            b.ins().return_(&[status]);
            b.seal_all_blocks();
            b.finalize();
        }
        module
            .define_function(id, &mut ctx)
            .map_err(|e| JitError(format!("`{name}`: {e:?}")))?;
        module.clear_context(&mut ctx);
        ids.push(id);
    }
    module.finalize_definitions().map_err(|e| err(&e))?;
    let get = |k: usize| -> NativeFn {
        let p = module.get_finalized_function(ids[k]);
        // SAFETY: the function was defined with exactly `NativeFn`'s signature (seven pointers, no
        // result) in the host's default calling convention, which is `extern "C"`.
        unsafe { std::mem::transmute::<*const u8, NativeFn>(p) }
    };
    let mut slot_list = vec![NodeId(0); slots.len()];
    for (n, k) in slots {
        slot_list[k] = n;
    }
    Ok(Code {
        reset: get(0),
        step: get(1),
        step_vjp: get(2),
        step_jvp: get(3),
        step_pair: get(4),
        _module: module,
        slots: slot_list,
        compile_seconds: start.elapsed().as_secs_f64(),
    })
}

/// What identifies a program's code: its graph and functions (parameter values live in the table).
#[derive(PartialEq, Eq, Hash)]
struct Key {
    ops: Vec<Op>,
    functions: Vec<(Vec<u32>, Vec<NodeId>)>,
    dims: [usize; 3],
    math: MathMode,
}

type Cache = Mutex<HashMap<Key, Arc<Code>>>;

/// The code of `program`, compiled once per process.
pub(crate) fn cached(program: &Program, math: MathMode) -> Result<Arc<Code>, JitError> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let info = &program.info;
    let key = Key {
        ops: program.graph.ops().to_vec(),
        functions: [
            &program.reset,
            &program.step,
            &program.step_vjp,
            &program.step_jvp,
        ]
        .iter()
        .map(|f| (f.inputs.clone(), f.outputs.clone()))
        .collect(),
        dims: [info.state_dim(), info.control_dim(), info.joint_dim()],
        math,
    };
    let cache = CACHE.get_or_init(Cache::default);
    // A poisoned lock only means another thread panicked while holding it; the map is still whole.
    if let Some(code) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(code.clone());
    }
    // Compiled outside the lock; two threads racing on one program both compile, one result is kept.
    let code = Arc::new(compile(program, math)?);
    Ok(cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_insert(code)
        .clone())
}
