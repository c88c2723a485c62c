//! Training steps of every policy network allocate nothing once the tape exists (on machines where the
//! products use the built-in AVX-512 kernels; the generic GEMM fallback allocates packing buffers). Only
//! this thread's allocations are counted: the test harness's own thread allocates at times of its choosing
//! (it did on CI).

use motornet_runtime::policy::{ModularSpec, Network, NetworkSpec, Policy, PolicyTape};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_steps_do_not_allocate() {
    #[cfg(target_arch = "x86_64")]
    let fast = std::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    let fast = false;
    if !fast {
        eprintln!("skipped: no AVX-512 on this machine");
        return;
    }
    let (b, t_len, i, o) = (8, 10, 5, 3);
    let modular = ModularSpec {
        input: i,
        modules: vec![10, 6],
        output: o,
        delay: vec![vec![0, 2], vec![1, 0]],
        mask_w: vec![1.0; 16 * (i + 16)],
        mask_y: vec![1.0; o * 16],
        unit_sign: Vec::new(),
        spectral_scaling: None,
    };
    let specs = [
        NetworkSpec::Gru {
            hidden: 16,
            layers: 1,
        },
        NetworkSpec::Gru {
            hidden: 16,
            layers: 2,
        },
        NetworkSpec::Rnn {
            hidden: 16,
            layers: 2,
            relu: true,
        },
        NetworkSpec::Lstm {
            hidden: 16,
            layers: 2,
        },
        NetworkSpec::Ctrnn {
            hidden: 16,
            layers: 1,
            alpha: 0.2,
        },
        NetworkSpec::ModularGru(modular),
    ];
    for spec in specs {
        let net = Network::new(&spec, i, o, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let hid = net.sizes().hidden;
        let mut tape = net.tape(b, t_len);
        let mut grads = vec![0.0; net.param_count()];
        let x = Array2::from_elem((b, i), 0.3);
        let noise = Array2::from_elem((b, hid), 0.01);
        let du = Array2::from_elem((b, o), 0.1);
        let mut dh = Array2::zeros((b, hid));
        let mut dx = Array2::zeros((b, i));
        let mut episode = || {
            net.reset(&mut tape);
            for t in 0..t_len {
                net.step(&mut tape, t, x.view(), Some(noise.view()));
            }
            dh.fill(0.0);
            for t in (0..t_len).rev() {
                net.backward(
                    &mut tape,
                    t,
                    du.view(),
                    dh.view_mut(),
                    &mut grads,
                    Some(dx.view_mut()),
                );
            }
            net.backward_initial(&mut tape, dh.view(), &mut grads);
            assert_eq!(tape.len(), t_len);
        };
        episode();
        let before = allocations();
        assert!(before > 0, "the counting allocator is in use");
        episode();
        assert_eq!(allocations() - before, 0, "{}", net.kind());
    }
}
