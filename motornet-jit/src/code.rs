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
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Own the executable memory the function pointers point into; never freed while `Code` lives
    /// (cached code lives as long as the process).
    _modules: Vec<JITModule>,
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
        for m in self._modules {
            // SAFETY: the function pointers die with `self`; none was handed out (uncached code only).
            unsafe { m.free_memory() };
        }
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

/// Compiles `program`'s functions, each in its own module, on up to as many threads as the machine has
/// cores (the adjoint and the tangent take most of the time).
pub(crate) fn compile(program: &Program, math: MathMode) -> Result<Code, JitError> {
    if !crate::available() {
        return Err(JitError(format!(
            "no native code generator for {}",
            std::env::consts::ARCH
        )));
    }
    let start = Instant::now();
    let isa = isa()?;
    let info = &program.info;
    let (s, c, j) = (info.state_dim(), info.control_dim(), info.joint_dim());
    // In order of expected compile time, longest first.
    let jobs: [Job; 5] = [
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
        ("step", &program.step, Layout::of(&[s, c], &[s])),
        ("reset", &program.reset, Layout::of(&[j], &[s])),
    ];
    for (name, f, layout) in &jobs {
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
    let graph = &program.graph;
    let statics = graph.static_nodes();
    let outputs: Vec<NodeId> = jobs
        .iter()
        .flat_map(|f| f.1.outputs.iter().copied())
        .collect();
    let live = graph.reachable(&outputs);
    if let Some(op) = graph
        .ops()
        .iter()
        .zip(&live)
        .find(|(o, &l)| l && matches!(o, Op::Var(_)))
    {
        // Checked here so that emission never meets one (the interpreter would panic).
        return Err(JitError(format!("unsubstituted placeholder {:?}", op.0)));
    }
    // The table: every parameter-dependent value an input-dependent node or an output reads.
    let mut slots: HashMap<NodeId, usize> = HashMap::new();
    let mut slot_list = Vec::new();
    let mut use_static = |n: NodeId| {
        let leaf = matches!(graph.op(n), Op::Const(_) | Op::Bool(_));
        if statics[n.index()] && !leaf && !slots.contains_key(&n) {
            slots.insert(n, slot_list.len());
            slot_list.push(n);
        }
    };
    for (i, &l) in live.iter().enumerate() {
        if l && !statics[i] {
            graph
                .op(NodeId(i as u32))
                .operands()
                .for_each(&mut use_static);
        }
    }
    outputs.iter().copied().for_each(&mut use_static);

    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Compiled>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let failure: Mutex<Option<JitError>> = Mutex::new(None);
    let work = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some((name, f, layout)) = jobs.get(k) else {
            return;
        };
        let lanes = *name == "step_pair";
        match compile_one(&isa, graph, &statics, &slots, name, f, layout, lanes, math) {
            Ok(c) => done.lock().unwrap_or_else(|e| e.into_inner())[k] = Some(c),
            Err(e) => {
                *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                return;
            }
        }
    };
    const COMPILER_STACK: usize = 256 << 20;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(jobs.len()));
    std::thread::scope(|scope| {
        // Cranelift recurses over large functions (the adjoint of a spatial arm has tens of thousands of
        // operations): compile on threads with a stack of their own size rather than the caller's (2 MiB
        // on a test or pool thread). A thread that cannot start leaves its share to the others, and the
        // caller works when none could.
        let started = (0..threads)
            .filter(|_| {
                std::thread::Builder::new()
                    .stack_size(COMPILER_STACK)
                    .spawn_scoped(scope, work)
                    .is_ok()
            })
            .count();
        if started == 0 {
            work();
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut take = |k: usize| done[k].take().expect("every job ran");
    let (vjp, jvp, pair, step, reset) = (take(0), take(1), take(2), take(3), take(4));
    Ok(Code {
        reset: reset.function,
        step: step.function,
        step_vjp: vjp.function,
        step_jvp: jvp.function,
        step_pair: pair.function,
        _modules: vec![
            reset.module,
            step.module,
            vjp.module,
            jvp.module,
            pair.module,
        ],
        slots: slot_list,
        compile_seconds: start.elapsed().as_secs_f64(),
    })
}

/// A function to compile: name, the program's function, and where its vectors are.
type Job<'a> = (&'static str, &'a Function, Layout);

/// One function's native code and the module owning it.
struct Compiled {
    module: JITModule,
    function: NativeFn,
}

#[allow(clippy::too_many_arguments)]
fn compile_one(
    isa: &cranelift_codegen::isa::OwnedTargetIsa,
    graph: &motornet_dsl::ir::Graph,
    statics: &[bool],
    slots: &HashMap<NodeId, usize>,
    name: &str,
    f: &Function,
    layout: &Layout,
    lanes: bool,
    math: MathMode,
) -> Result<Compiled, JitError> {
    let err = |e: &dyn std::fmt::Display| JitError(format!("`{name}`: {e}"));
    let mut jb = JITBuilder::with_isa(isa.clone(), default_libcall_names());
    for (e, sym) in EXTERNS {
        jb.symbol(sym, extern_address(e));
    }
    let mut module = JITModule::new(jb);
    let mut unary = module.make_signature();
    unary.params.push(AbiParam::new(types::F64));
    unary.returns.push(AbiParam::new(types::F64));
    let mut binary = unary.clone();
    binary.params.push(AbiParam::new(types::F64));
    let mut extern_ids = Vec::new();
    for (e, sym) in EXTERNS {
        let sig = if matches!(e, crate::emit::Extern::Atan2) {
            &binary
        } else {
            &unary
        };
        extern_ids.push(
            module
                .declare_function(sym, Linkage::Import, sig)
                .map_err(|e| err(&e))?,
        );
    }
    let ptr = module.target_config().pointer_type();
    let mut sig = Signature::new(module.isa().default_call_conv());
    for _ in 0..7 {
        sig.params.push(AbiParam::new(ptr));
    }
    sig.returns.push(AbiParam::new(types::I32));
    let id = module
        .declare_function(name, Linkage::Local, &sig)
        .map_err(|e| err(&e))?;
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, 0);
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
            graph,
            statics,
            slots,
            externs.try_into().expect("six externs"),
            math,
            p[0],
            p[1..5].to_vec(),
            p[5..7].to_vec(),
            lanes,
        );
        let status = em.function(&f.inputs, &f.outputs, layout);
        b.ins().return_(&[status]);
        b.seal_all_blocks();
        b.finalize();
    }
    module
        .define_function(id, &mut ctx)
        .map_err(|e| JitError(format!("`{name}`: {e:?}")))?;
    module.finalize_definitions().map_err(|e| err(&e))?;
    let p = module.get_finalized_function(id);
    // SAFETY: the function was defined with exactly `NativeFn`'s signature (seven pointers, an `i32`
    // result) in the host's default calling convention, which is `extern "C"`.
    let function = unsafe { std::mem::transmute::<*const u8, NativeFn>(p) };
    Ok(Compiled { module, function })
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
