//! A team of worker threads for fine-grained parallel loops, such as one plant step of a large batch
//! (tens of microseconds of work). A general-purpose pool puts idle threads to sleep, and waking a sleeping
//! thread can cost as much as the work itself (much more in a virtual machine); team workers instead spin
//! for a while after each job, so consecutive steps reach them at once, and only park when idle for longer.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins before parking.
const SPIN: Duration = Duration::from_micros(200);

type Job<'a> = &'a (dyn Fn(usize) + Sync);

struct Shared {
    /// Points at the current job (a `Job` on the caller's stack) while a run is in progress.
    job: AtomicPtr<()>,
    /// Incremented to start a run.
    generation: AtomicUsize,
    /// Workers that have not finished the current run.
    remaining: AtomicUsize,
    stop: AtomicBool,
}

/// The calling thread plus `workers` threads.
pub struct Team {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl Team {
    /// A team of `threads` in all (the caller counts as one).
    pub fn new(threads: usize) -> std::io::Result<Team> {
        let shared = Arc::new(Shared {
            job: AtomicPtr::new(std::ptr::null_mut()),
            generation: AtomicUsize::new(0),
            remaining: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let handles = (1..threads.max(1))
            .map(|k| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("motornet-team-{k}"))
                    .spawn(move || worker(&shared, k))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Team { shared, handles })
    }

    /// Number of threads, the caller included.
    pub fn threads(&self) -> usize {
        self.handles.len() + 1
    }

    /// Runs `job(k)` for k = 0..threads, in parallel: `job(0)` on the calling thread. Returns when all are
    /// done.
    pub fn run(&self, job: &(dyn Fn(usize) + Sync)) {
        if self.handles.is_empty() {
            job(0);
            return;
        }
        let s = &self.shared;
        let slot: Job = job;
        s.job
            .store(&slot as *const Job as *mut (), Ordering::Release);
        s.remaining.store(self.handles.len(), Ordering::Release);
        s.generation.fetch_add(1, Ordering::AcqRel);
        for h in &self.handles {
            h.thread().unpark(); // a no-op for a worker that is still spinning
        }
        job(0);
        while s.remaining.load(Ordering::Acquire) != 0 {
            std::hint::spin_loop();
        }
        // Every worker is done with `slot` before it goes out of scope.
        s.job.store(std::ptr::null_mut(), Ordering::Release);
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
        // SAFETY: `run` stored a pointer to a live `Job` before bumping the generation, and keeps it alive
        // until `remaining` reaches zero, which this worker signals only after its last use of it.
        let job: Job = unsafe { *(s.job.load(Ordering::Acquire) as *const Job) };
        job(k);
        s.remaining.fetch_sub(1, Ordering::AcqRel);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_part_runs_once_per_run() {
        let team = Team::new(3).unwrap();
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
    fn a_single_thread_team_runs_in_the_caller() {
        let team = Team::new(1).unwrap();
        let hits = AtomicU64::new(0);
        team.run(&|k| {
            assert_eq!(k, 0);
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 1);
    }
}
