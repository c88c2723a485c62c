//! A team of worker threads for fine-grained parallel loops, such as one plant step of a large batch
//! (tens of microseconds of work). A general-purpose pool puts idle threads to sleep, and waking a sleeping
//! thread can cost as much as the work itself (much more in a virtual machine); team workers instead spin
//! for a while after each job, so consecutive steps reach them at once, and only park when idle for longer.
//!
//! On a busy machine a worker may not run for a whole time slice of the system's scheduler (milliseconds,
//! a hundred steps). [`Team::run_shared`] therefore does not wait for workers that have not started: the
//! caller does what they leave (the job hands out its work piece by piece) and then closes the run, so
//! that a late worker skips it. More threads are then never much slower than one.
//!
//! A job that panics does not break the team: every part's panic is caught, [`Team::run`] waits until all
//! threads are done with the job (which borrows the caller's stack) and then re-raises the first panic on
//! the calling thread. The team stays usable.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins before parking, and how long the caller spins waiting for the workers
/// before it starts yielding its time slice to them.
const SPIN: Duration = Duration::from_micros(200);

type Job<'a> = &'a (dyn Fn(usize) + Sync);
type Panic = Box<dyn Any + Send + 'static>;

struct Shared {
    /// Points at the current job (a `Job` on the caller's stack) while a run is in progress.
    job: AtomicPtr<()>,
    /// Incremented to start a run.
    generation: AtomicUsize,
    /// Workers that have not finished the current run (counted for [`Team::run`] only).
    remaining: AtomicUsize,
    /// The run workers may join: its generation (upper 32 bits), whether it is closed to late workers
    /// ([`CLOSED`]), and how many workers are inside its job (lower bits).
    entry: AtomicU64,
    stop: AtomicBool,
    /// The first panic of a worker in the current run.
    panic: Mutex<Option<Panic>>,
}

/// The calling thread plus `workers` threads.
pub(crate) struct Team {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
    /// Shared runs the caller still does alone after runs where waiting for a worker cost more than
    /// the help was worth (a busy machine), and how many the next such run sets (doubling, bounded).
    solo_left: u32,
    backoff: u32,
}

/// Most shared runs done alone after a stall; sharing is tried again after them.
const MAX_BACKOFF: u32 = 256;

impl Team {
    /// A team of `threads` in all (the caller counts as one).
    pub fn new(threads: usize) -> std::io::Result<Team> {
        let shared = Arc::new(Shared {
            job: AtomicPtr::new(std::ptr::null_mut()),
            generation: AtomicUsize::new(0),
            remaining: AtomicUsize::new(0),
            entry: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            panic: Mutex::new(None),
        });
        // Workers spawned so far are stopped and joined by `Drop` if a later spawn fails.
        let mut team = Team {
            shared,
            handles: Vec::new(),
            solo_left: 0,
            backoff: 0,
        };
        for k in 1..threads.max(1) {
            let shared = team.shared.clone();
            team.handles.push(
                std::thread::Builder::new()
                    .name(format!("motornet-team-{k}"))
                    .spawn(move || worker(&shared, k))?,
            );
        }
        Ok(team)
    }

    /// Number of threads, the caller included.
    pub fn threads(&self) -> usize {
        self.handles.len() + 1
    }

    /// Runs `job(k)` for k = 0..threads, in parallel: `job(0)` on the calling thread. Returns when all are
    /// done. If parts panic, waits until every part has finished and then resumes the first panic (the
    /// caller's own first) on the calling thread; the team remains usable.
    ///
    /// `&mut self`: one run at a time (the workers read a single job slot).
    #[cfg(test)]
    pub fn run(&mut self, job: &(dyn Fn(usize) + Sync)) {
        let _ = self.run_with(job, true);
    }

    /// Runs `job(0)` on the calling thread and `job(k)` on those workers (k ≥ 1) that start before
    /// `job(0)` returns; each part runs at most once. The job must therefore let part 0 do all the work
    /// that no other part takes (hand out its work piece by piece). Panics as for [`Team::run`].
    ///
    /// When waiting for a worker's last piece took longer than a quarter of the caller's own part (the
    /// worker was descheduled in the middle of it), the next shared runs — 1, 2, 4, … up to
    /// [`MAX_BACKOFF`] — are done by the caller alone, before workers are tried again.
    pub fn run_shared(&mut self, job: &(dyn Fn(usize) + Sync)) {
        if self.solo_left > 0 {
            self.solo_left -= 1;
            job(0);
            return;
        }
        let (own, wait) = self.run_with(job, false);
        if wait > own / 4 {
            self.backoff = (self.backoff * 2).clamp(1, MAX_BACKOFF);
            self.solo_left = self.backoff;
        } else {
            self.backoff = 0;
        }
    }

    /// Runs `job(thread, piece)` for every piece in `0..pieces`, each once, as [`Team::run_shared`] shares
    /// work: thread k first claims the pieces of its own share (whose data its core's cache holds from the
    /// previous run), then helps with the others' shares; pieces a late worker never claims are done by
    /// the others. `thread` (below [`Team::threads`]) names the thread, e.g. to pick its scratch space.
    pub fn run_pieces(&mut self, pieces: usize, job: &(dyn Fn(usize, usize) + Sync)) {
        let threads = self.threads();
        let per = pieces.div_ceil(threads);
        let shares: Vec<AtomicUsize> = (0..threads).map(|t| AtomicUsize::new(t * per)).collect();
        self.run_shared(&|k| {
            let shares = &shares;
            let claims = (0..threads).flat_map(|i| {
                let t = (k + i) % threads;
                let end = ((t + 1) * per).min(pieces);
                std::iter::from_fn(move || Some(shares[t].fetch_add(1, Ordering::Relaxed)))
                    .take_while(move |&p| p < end)
            });
            for piece in claims {
                job(k, piece);
            }
        });
    }

    /// Returns how long the caller's own part took and how long it then waited for the workers.
    fn run_with(&mut self, job: &(dyn Fn(usize) + Sync), all: bool) -> (Duration, Duration) {
        if self.handles.is_empty() {
            job(0);
            return (Duration::ZERO, Duration::ZERO);
        }
        let s = &*self.shared;
        let slot: Job = job;
        s.job
            .store(&slot as *const Job as *mut (), Ordering::Release);
        s.remaining.store(self.handles.len(), Ordering::Release);
        let generation = s.generation.load(Ordering::Relaxed).wrapping_add(1);
        // Open the run to workers (no worker is inside a job: the previous run waited for them).
        s.entry
            .store(((generation as u64) & 0xffff_ffff) << 32, Ordering::Release);
        s.generation.store(generation, Ordering::Release);
        for h in &self.handles {
            h.thread().unpark(); // a no-op for a worker that is still spinning
        }
        let started = Instant::now();
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        let own = started.elapsed();
        if !all {
            // Workers that have not started by now skip this run.
            s.entry.fetch_or(CLOSED, Ordering::AcqRel);
        }
        let busy = || {
            let inside = s.entry.load(Ordering::Acquire) & INSIDE != 0;
            inside || (all && s.remaining.load(Ordering::Acquire) != 0)
        };
        // Spin while the workers are likely about to finish; then give up the core to them (on a loaded
        // machine a worker may be waiting for this very core).
        let start = Instant::now();
        let (mut spins, mut yielding) = (0u32, false);
        while busy() {
            if yielding {
                std::thread::yield_now();
            } else {
                spins = spins.wrapping_add(1);
                yielding = spins.is_multiple_of(64) && start.elapsed() > SPIN;
                std::hint::spin_loop();
            }
        }
        // Every worker is done with `slot` before it goes out of scope (also when unwinding below).
        s.job.store(std::ptr::null_mut(), Ordering::Release);
        let theirs = s
            .panic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Err(p) = mine {
            resume_unwind(p);
        }
        if let Some(p) = theirs {
            resume_unwind(p);
        }
        (own, start.elapsed())
    }
}

fn worker(s: &Shared, k: usize) {
    let mut seen = 0;
    loop {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let g = s.generation.load(Ordering::Acquire);
            if g != seen {
                seen = g;
                break;
            }
            if s.stop.load(Ordering::Acquire) {
                return;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(64) && start.elapsed() > SPIN {
                std::thread::park_timeout(Duration::from_millis(10));
            } else {
                std::hint::spin_loop();
            }
        }
        if s.stop.load(Ordering::Acquire) {
            return;
        }
        // Join the run of this generation unless it is closed (or already over).
        let tag = ((seen as u64) & 0xffff_ffff) << 32;
        let mut entry = s.entry.load(Ordering::Acquire);
        let entered = loop {
            if entry & !(CLOSED | INSIDE) != tag || entry & CLOSED != 0 {
                break false;
            }
            match s.entry.compare_exchange_weak(
                entry,
                entry + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break true,
                Err(now) => entry = now,
            }
        };
        if entered {
            // SAFETY: `run` stored a pointer to a live `Job` before opening the run, and keeps it alive
            // until no worker is inside (and, for `run`, until `remaining` reaches zero), which this
            // worker signals only after its last use of it — also when the job panics, since the panic
            // is caught here.
            let job: Job = unsafe { *(s.job.load(Ordering::Acquire) as *const Job) };
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| job(k))) {
                let mut first = s.panic.lock().unwrap_or_else(PoisonError::into_inner);
                if first.is_none() {
                    *first = Some(p);
                }
            }
            // `remaining` first: a caller of `run_shared` waits for `entry` alone, and must not start the
            // next run while this worker still touches this one's counters.
            s.remaining.fetch_sub(1, Ordering::AcqRel);
            s.entry.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// [`Shared::entry`]: the run no longer takes workers.
const CLOSED: u64 = 1 << 31;
/// [`Shared::entry`]: the number of workers inside the run's job.
const INSIDE: u64 = CLOSED - 1;

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        for h in self.handles.drain(..) {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// A pointer into a buffer whose disjoint parts are written by different threads.
#[derive(Clone, Copy)]
pub(crate) struct Disjoint<T>(pub(crate) *mut T);
// SAFETY: users only hand out non-overlapping parts (see `Effector::step`, `VecEnv::step` and
// `Rollout::gradient`); each part is used as a `&mut T` on another thread, which needs `T: Send` (as for
// `&mut T` or `Mutex<T>`).
unsafe impl<T: Send> Sync for Disjoint<T> {}
unsafe impl<T: Send> Send for Disjoint<T> {}

impl<T> Disjoint<T> {
    /// SAFETY: `at..at + len` must lie within the buffer and not overlap any part used concurrently.
    pub(crate) unsafe fn slice<'a>(&self, at: usize, len: usize) -> &'a mut [T] {
        std::slice::from_raw_parts_mut(self.0.add(at), len)
    }

    /// SAFETY: as for [`Disjoint::slice`], for the single element `k`.
    pub(crate) unsafe fn item<'a>(&self, k: usize) -> &'a mut T {
        &mut *self.0.add(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_part_runs_once_per_run() {
        let mut team = Team::new(3).unwrap();
        let counts: Vec<AtomicU64> = (0..3).map(|_| AtomicU64::new(0)).collect();
        for _ in 0..1000 {
            team.run(&|k| {
                counts[k].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1000));
        // After a pause long enough for the workers to park, runs still complete.
        std::thread::sleep(Duration::from_millis(5));
        team.run(&|k| {
            counts[k].fetch_add(1, Ordering::Relaxed);
        });
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1001));
    }

    #[test]
    fn shared_runs_do_all_the_work_once_whoever_takes_part() {
        let mut team = Team::new(3).unwrap();
        let parts: Vec<AtomicU64> = (0..3).map(|_| AtomicU64::new(0)).collect();
        for run in 0..2000u64 {
            let pieces: Vec<AtomicU64> = (0..50).map(|_| AtomicU64::new(0)).collect();
            let next = AtomicUsize::new(0);
            team.run_shared(&|k| {
                parts[k].fetch_add(1, Ordering::Relaxed);
                while let Some(p) = pieces.get(next.fetch_add(1, Ordering::Relaxed)) {
                    p.fetch_add(1, Ordering::Relaxed);
                }
            });
            assert!(pieces.iter().all(|p| p.load(Ordering::Relaxed) == 1));
            assert_eq!(parts[0].load(Ordering::Relaxed), run + 1);
            if run % 500 == 0 {
                // Parked workers, woken by the next run, still join or skip it cleanly.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        for p in &parts[1..] {
            assert!(p.load(Ordering::Relaxed) <= 2000);
        }
        // Runs that wait for every part still work after shared ones.
        let hits = AtomicU64::new(0);
        for _ in 0..100 {
            team.run(&|_| {
                hits.fetch_add(1, Ordering::Relaxed);
            });
        }
        assert_eq!(hits.load(Ordering::Relaxed), 300);
    }

    #[test]
    fn a_single_thread_team_runs_in_the_caller() {
        let mut team = Team::new(1).unwrap();
        let hits = AtomicU64::new(0);
        team.run(&|k| {
            assert_eq!(k, 0);
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 1);
    }

    /// Runs a job whose part `panicking` panics while the other parts are still using the caller's data;
    /// returns the panic message and checks that every other part ran to its end before `run` unwound.
    fn panic_in_part(team: &mut Team, panicking: usize) -> String {
        let threads = team.threads();
        let finished: Vec<AtomicBool> = (0..threads).map(|_| AtomicBool::new(false)).collect();
        let payload = catch_unwind(AssertUnwindSafe(|| {
            // Data on this stack frame, borrowed by the job: it must outlive every part.
            let data = vec![7u64; 1000];
            team.run(&|k| {
                if k == panicking {
                    panic!("part {k} failed");
                }
                std::thread::sleep(Duration::from_millis(20));
                assert_eq!(data.iter().sum::<u64>(), 7000);
                finished[k].store(true, Ordering::SeqCst);
            });
        }))
        .expect_err("the panic reaches the caller");
        for (k, f) in finished.iter().enumerate() {
            assert_eq!(f.load(Ordering::SeqCst), k != panicking, "part {k}");
        }
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn a_panicking_worker_reaches_the_caller_and_the_team_stays_usable() {
        let mut team = Team::new(3).unwrap();
        assert_eq!(panic_in_part(&mut team, 2), "part 2 failed");
        assert_eq!(panic_in_part(&mut team, 0), "part 0 failed");
        assert_eq!(panic_in_part(&mut team, 1), "part 1 failed");
        let hits = AtomicU64::new(0);
        for _ in 0..100 {
            team.run(&|_| {
                hits.fetch_add(1, Ordering::Relaxed);
            });
        }
        assert_eq!(hits.load(Ordering::Relaxed), 300);
    }

    #[test]
    fn the_callers_panic_wins_over_a_workers() {
        let mut team = Team::new(2).unwrap();
        let payload = catch_unwind(AssertUnwindSafe(|| team.run(&|k| panic!("part {k}"))))
            .expect_err("panics");
        assert_eq!(payload.downcast_ref::<String>().unwrap(), "part 0");
        // The worker's panic of that run was dropped, not carried into the next run.
        team.run(&|_| {});
    }
}
