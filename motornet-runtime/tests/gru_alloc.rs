//! A training step of the GRU allocates nothing once its tape exists (on machines where the step
//! products use the built-in AVX-512 kernels; the generic GEMM fallback allocates packing buffers).
//! Only this thread's allocations are counted: the test harness's own thread allocates at times of
//! its choosing (it did on CI while this test ran).

use motornet_runtime::gru::Gru;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // Const-initialised, so reading it never allocates (which would recurse into the allocator).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with` fails only while this thread's locals are being torn down.
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
    let (b, t_len) = (8, 10);
    let gru = Gru::new(5, 16, 3, &mut ChaCha8Rng::seed_from_u64(1));
    let mut tape = gru.tape(b, t_len);
    let mut grads = gru.grads();
    let x = Array2::from_elem((b, 5), 0.3);
    let du = Array2::from_elem((b, 3), 0.1);
    let mut dh = Array2::zeros((b, 16));
    let mut dx = Array2::zeros((b, 5));
    let mut episode = || {
        tape.reset_zero();
        for t in 0..t_len {
            gru.step(&mut tape, t, x.view());
        }
        dh.fill(0.0);
        for t in (0..t_len).rev() {
            gru.backward(
                &mut tape,
                t,
                du.view(),
                dh.view_mut(),
                &mut grads,
                Some(dx.view_mut()),
            );
        }
    };
    episode();
    let before = allocations();
    assert!(before > 0, "the counting allocator is in use");
    episode();
    assert_eq!(allocations() - before, 0);
}
