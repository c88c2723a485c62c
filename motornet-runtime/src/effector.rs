//! A batch of independent effectors sharing one plant: reset, step, and read states in MotorNet's layout.

use crate::batch;
use crate::error::Error;
use crate::plant::{Plant, Workspace};
use crate::team::{Disjoint, Team};
use std::sync::atomic::{AtomicBool, Ordering};

/// `batch` effectors of one plant, with their current states.
pub struct Effector<P: Plant> {
    plant: P,
    batch: usize,
    /// States, next states and controls in the [batch layout](crate::batch) the plant steps in.
    states: Vec<f64>,
    next: Vec<f64>,
    controls: Vec<f64>,
    workspaces: Vec<Workspace>,
    /// [n_muscles, dof, control_dim, state_dim], read once.
    dims: [usize; 4],
    /// Components of the endpoint load (2 or 3).
    space_dim: usize,
    steps: usize,
    /// Check every new state for NaN or infinity (on by default).
    pub check_finite: bool,
    /// Worker threads for large batches (see [`Effector::set_threads`]).
    team: Option<Team>,
}

/// Below this many effectors per thread, splitting a step costs more than it saves.
const MIN_PER_THREAD: usize = 256;

/// Effectors per piece of a step shared by threads: a few microseconds of work, long enough that
/// claiming pieces costs nothing noticeable, short enough that a thread descheduled in the middle of one
/// rarely holds up the others for long. A multiple of the block size.
const PIECE: usize = 64;

impl<P: Plant> Effector<P> {
    pub fn new(plant: P, batch: usize) -> Self {
        let info = plant.info();
        let (dim, controls) = (info.state_dim(), info.control_dim());
        let dims = [info.n_muscles(), info.dof(), controls, dim];
        let space_dim = info.space_dim;
        let workspaces = vec![plant.workspace()];
        Effector {
            plant,
            batch,
            states: vec![0.0; batch * dim],
            next: vec![0.0; batch * dim],
            controls: vec![0.0; controls * batch],
            workspaces,
            dims,
            space_dim,
            steps: 0,
            check_finite: true,
            team: None,
        }
    }

    /// Steps large batches on `threads` threads: the calling thread and `threads − 1` workers.
    pub fn set_threads(&mut self, threads: usize) -> Result<(), Error> {
        self.team = if threads <= 1 {
            None
        } else {
            Some(
                Team::new(threads)
                    .map_err(|e| Error::Input(format!("cannot start {threads} threads: {e}")))?,
            )
        };
        self.workspaces = (0..threads.max(1))
            .map(|_| self.plant.workspace())
            .collect();
        Ok(())
    }

    pub fn plant(&self) -> &P {
        &self.plant
    }

    pub fn plant_mut(&mut self) -> &mut P {
        &mut self.plant
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Steps taken since the last reset.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Resets every effector from its joint state (`batch × 2·dof`: positions then velocities). Positions
    /// and velocities must lie within the joint limits, as MotorNet requires.
    pub fn reset(&mut self, joint: &[f64]) -> Result<(), Error> {
        check_joint_state(&self.plant, joint, self.batch)?;
        let info = self.plant.info();
        let jd = info.joint_dim();
        let mut state = vec![0.0; info.state_dim()];
        for (b, row) in joint.chunks_exact(jd).enumerate() {
            self.plant
                .reset_unchecked(&mut self.workspaces[0], row, &mut state);
            batch::write_row(&mut self.states, self.batch, b, &state);
        }
        self.steps = 0;
        self.check(0)
    }

    /// One step for every effector. `excitations` is `batch × n_muscles`; loads may be empty (zero), one
    /// row shared by all effectors, or one row per effector.
    pub fn step(
        &mut self,
        excitations: &[f64],
        endpoint_load: &[f64],
        joint_load: &[f64],
    ) -> Result<(), Error> {
        let [m, dof, c, s] = self.dims;
        expect_len("excitations", excitations, self.batch * m)?;
        let endpoint = Rows::new("endpoint load", endpoint_load, self.space_dim, self.batch)?;
        let joints = Rows::new("joint load", joint_load, dof, self.batch)?;
        let inputs = Inputs {
            excitations,
            endpoint,
            joints,
            m,
            control_dim: c,
            state_dim: s,
        };
        // Each thread scans the states it wrote; only when one finds a non-finite value does `check`
        // look for the first one to report.
        let check = self.check_finite;
        let bad = AtomicBool::new(false);
        match &mut self.team {
            // Threads only pay off for large batches. The batch is cut into pieces (each starting at a
            // block boundary, so a batch of its own) that the threads claim one at a time: a thread
            // that the system does not run just now (the machine is busy) leaves its share to the
            // others instead of holding up the step, so more threads are never much slower than one.
            Some(team) if self.batch >= 2 * MIN_PER_THREAD => {
                let (n, plant, states) = (self.batch, &self.plant, &self.states);
                let next = Disjoint(self.next.as_mut_ptr());
                let controls = Disjoint(self.controls.as_mut_ptr());
                let workspaces = Disjoint(self.workspaces.as_mut_ptr());
                team.run_pieces(n.div_ceil(PIECE), &|k, piece| {
                    // SAFETY: workspace k is used by thread k alone; each piece is claimed by one
                    // thread only and writes only effectors lo..hi of `next` and `controls`, so the
                    // parts written concurrently do not overlap.
                    let ws = unsafe { workspaces.item(k) };
                    let (lo, hi) = (piece * PIECE, ((piece + 1) * PIECE).min(n));
                    let (out, u) = unsafe {
                        (
                            next.slice(lo * s, (hi - lo) * s),
                            controls.slice(lo * c, (hi - lo) * c),
                        )
                    };
                    let x = &states[lo * s..hi * s];
                    if !step_slice(plant, ws, &inputs, lo, x, u, out, check) {
                        bad.store(true, Ordering::Relaxed);
                    }
                });
            }
            _ => {
                let (ws, x) = (&mut self.workspaces[0], &self.states);
                if !step_slice(
                    &self.plant,
                    ws,
                    &inputs,
                    0,
                    x,
                    &mut self.controls,
                    &mut self.next,
                    check,
                ) {
                    bad.store(true, Ordering::Relaxed);
                }
            }
        }
        std::mem::swap(&mut self.states, &mut self.next);
        self.steps += 1;
        if bad.into_inner() {
            self.check(self.steps)
        } else {
            Ok(())
        }
    }

    fn check(&self, step: usize) -> Result<(), Error> {
        if !self.check_finite {
            return Ok(());
        }
        let info = self.plant.info();
        let dim = info.state_dim();
        // The first effector with a non-finite value, and its first such component.
        let first = (0..self.batch).find_map(|b| {
            let (start, stride) = batch::slot(self.batch, dim, b);
            (0..dim)
                .find(|&k| !self.states[start + k * stride].is_finite())
                .map(|k| (b, k, self.states[start + k * stride]))
        });
        if let Some((b, k, value)) = first {
            let (part, index) = describe_index(info, k);
            return Err(Error::NonFinite {
                step,
                effector: b,
                part,
                index,
                value,
            });
        }
        Ok(())
    }

    /// The full state of effector `b` (MotorNet's layout, [`PlantInfo::parts`](crate::PlantInfo::parts)).
    pub fn state(&self, b: usize) -> Vec<f64> {
        let mut row = vec![0.0; self.plant.info().state_dim()];
        batch::read_row(&self.states, self.batch, b, &mut row);
        row
    }

    /// All states, `batch × state_dim`, one effector after another.
    pub fn states(&self) -> Vec<f64> {
        batch::to_rows(&self.states, self.batch, self.plant.info().state_dim())
    }

    /// Replaces all states (`batch × state_dim`, e.g. to restore a saved trajectory point).
    pub fn set_states(&mut self, states: &[f64]) -> Result<(), Error> {
        expect_len("states", states, self.states.len())?;
        let dim = self.plant.info().state_dim();
        batch::from_rows(states, self.batch, dim, &mut self.states);
        Ok(())
    }

    /// A named part of every effector's state, `batch × len`: `joint` (2·dof), `cartesian` (4, or 6 in 3D), `muscle`
    /// (rows × muscles) or `geometry` ((2 + dof) × muscles), each in MotorNet's order.
    pub fn part(&self, name: &str) -> Option<Vec<f64>> {
        let info = self.plant.info();
        let (at, len) = info.part(name)?;
        let dim = info.state_dim();
        Some(
            (0..self.batch)
                .flat_map(|b| {
                    let (start, stride) = batch::slot(self.batch, dim, b);
                    (at..at + len).map(move |k| self.states[start + k * stride])
                })
                .collect(),
        )
    }
}

/// Checks `batch` joint states (`batch × 2·dof`: positions then velocities) against the plant's limits, as
/// MotorNet requires of initial states.
pub fn check_joint_state<P: Plant + ?Sized>(
    plant: &P,
    joint: &[f64],
    batch: usize,
) -> Result<(), Error> {
    let info = plant.info();
    let jd = info.joint_dim();
    let dof = info.dof();
    expect_len("joint state", joint, batch * jd)?;
    for b in 0..batch {
        let row = &joint[b * jd..(b + 1) * jd];
        for (k, bound) in plant.bounds().iter().enumerate() {
            let (q, v) = (row[k], row[dof + k]);
            let bad_q = !(q >= bound.lower && q <= bound.upper);
            let bad_v = !(v >= bound.vel_lower && v <= bound.vel_upper);
            if bad_q || bad_v {
                let (value, lower, upper, name) = if bad_q {
                    (q, bound.lower, bound.upper, info.coord_names[k].clone())
                } else {
                    (
                        v,
                        bound.vel_lower,
                        bound.vel_upper,
                        format!("{} velocity", info.coord_names[k]),
                    )
                };
                return Err(Error::OutOfBounds {
                    effector: b,
                    coord: name,
                    value,
                    lower,
                    upper,
                });
            }
        }
    }
    Ok(())
}

/// Effectors stepped, then scanned for NaN, together: their new states (about 19 kB for arm26) are still in
/// the L1 cache when the scan reads them. A multiple of the block size.
const CHUNK: usize = 32;

/// Steps effectors `lo..` whose states, controls and next states are the given slices (a batch of their
/// own), filling their controls first. Returns false if `check` finds a non-finite new state.
#[allow(clippy::too_many_arguments)]
fn step_slice<P: Plant>(
    plant: &P,
    ws: &mut Workspace,
    inputs: &Inputs,
    lo: usize,
    states: &[f64],
    controls: &mut [f64],
    next: &mut [f64],
    check: bool,
) -> bool {
    let (s, c) = (inputs.state_dim, inputs.control_dim);
    let n = states.len() / s;
    let mut finite = true;
    for a in (0..n).step_by(CHUNK) {
        let b = (a + CHUNK).min(n);
        let (u, out) = (&mut controls[a * c..b * c], &mut next[a * s..b * s]);
        inputs.fill(lo + a, u);
        // The lengths are right by construction: one check per `Effector::step`, not per chunk.
        plant.step_batch_unchecked(ws, &states[a * s..b * s], u, out);
        if check {
            finite &= all_finite(out);
        }
    }
    finite
}

/// Whether every value is finite. `v·0` is ±0 for a finite `v` and NaN otherwise, and a NaN survives
/// sums; eight independent sums keep the vector units busy.
pub(crate) fn all_finite(values: &[f64]) -> bool {
    let mut sums = [0.0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (sum, v) in sums.iter_mut().zip(chunk) {
            *sum += v * 0.0;
        }
    }
    let rest: f64 = chunks.remainder().iter().map(|v| v * 0.0).sum();
    sums.iter().sum::<f64>() + rest == 0.0
}

/// Names a state-vector index: (part, e.g. "activation of biceps").
pub fn describe_index(info: &crate::plant::PlantInfo, k: usize) -> (String, String) {
    for (name, at, len) in info.parts() {
        if k >= at && k < at + len {
            let i = k - at;
            let nm = info.n_muscles().max(1);
            let index = match name {
                "joint" => {
                    let d = info.dof();
                    if i < d {
                        format!("position of {}", info.coord_names[i])
                    } else {
                        format!("velocity of {}", info.coord_names[i - d])
                    }
                }
                "muscle" => format!(
                    "{} of {}",
                    info.muscle_state_names[i / nm],
                    info.muscle_names[i % nm]
                ),
                "geometry" => format!(
                    "{} of {}",
                    info.geometry_state_names[i / nm],
                    info.muscle_names[i % nm]
                ),
                _ if info.space_dim == 3 => ["x", "y", "z", "vx", "vy", "vz"][i].to_string(),
                _ => ["x", "y", "vx", "vy"][i].to_string(),
            };
            return (name.to_string(), index);
        }
    }
    ("state".into(), format!("index {k}"))
}

#[inline]
fn expect_len(what: &str, v: &[f64], n: usize) -> Result<(), Error> {
    if v.len() == n {
        Ok(())
    } else {
        Err(Error::Shape {
            what: what.into(),
            expected: n,
            got: v.len(),
        })
    }
}

/// A step's inputs as the caller gave them, to be laid out as the plant's controls, and the lengths of
/// one effector's vectors.
struct Inputs<'a> {
    excitations: &'a [f64],
    endpoint: Rows<'a>,
    joints: Rows<'a>,
    m: usize,
    control_dim: usize,
    state_dim: usize,
}

impl Inputs<'_> {
    /// Writes the controls of effectors `lo..lo + n` into `controls`, a batch of `n` (`lo` starts a block).
    fn fill(&self, lo: usize, controls: &mut [f64]) {
        const L: usize = batch::LANES;
        let c = self.control_dim;
        let n = controls.len() / c;
        let full = n / L * L;
        let (blocks, rows) = controls.split_at_mut(full * c);
        for (i, block) in blocks.chunks_exact_mut(L * c).enumerate() {
            // Component k of lane l sits at k·L + l: one short transpose per input.
            let first = lo + i * L;
            let mut at = 0;
            for (source, width) in self.sources(first, L) {
                for k in 0..width {
                    let out = &mut block[(at + k) * L..(at + k + 1) * L];
                    for (l, v) in out.iter_mut().enumerate() {
                        *v = source.get(l, k);
                    }
                }
                at += width;
            }
        }
        // Rows take whole-slice copies (a per-component loop as above cost 5 ns per effector at batch 1).
        let (m, e) = (self.m, self.endpoint.width);
        for (i, row) in rows.chunks_exact_mut(c).enumerate() {
            let b = lo + full + i;
            row[..m].copy_from_slice(&self.excitations[b * m..(b + 1) * m]);
            self.endpoint.copy_row(b, &mut row[m..m + e]);
            self.joints.copy_row(b, &mut row[m + e..]);
        }
    }

    /// The rows of effectors `first..first + count` of each input, with the input's width.
    #[inline(always)]
    fn sources(&self, first: usize, count: usize) -> [(Source<'_>, usize); 3] {
        let m = self.m;
        let ex = Source::Rows(&self.excitations[first * m..(first + count) * m], m);
        [
            (ex, m),
            (self.endpoint.source(first, count), self.endpoint.width),
            (self.joints.source(first, count), self.joints.width),
        ]
    }
}

/// Some effectors' rows of one input.
#[derive(Clone, Copy)]
enum Source<'a> {
    Zeros,
    /// The same row for every effector.
    Shared(&'a [f64]),
    /// One row per effector, each this wide.
    Rows(&'a [f64], usize),
}

impl Source<'_> {
    /// Component `k` of the `l`-th effector.
    #[inline(always)]
    fn get(self, l: usize, k: usize) -> f64 {
        match self {
            Source::Zeros => 0.0,
            Source::Shared(row) => row[k],
            Source::Rows(rows, width) => rows[l * width + k],
        }
    }
}

/// A per-effector input given as nothing (zeros), one shared row, or one row per effector.
struct Rows<'a> {
    data: &'a [f64],
    width: usize,
}

impl<'a> Rows<'a> {
    #[inline]
    fn new(what: &str, data: &'a [f64], width: usize, batch: usize) -> Result<Self, Error> {
        if data.is_empty() || data.len() == width || data.len() == width * batch {
            Ok(Rows { data, width })
        } else {
            Err(Self::shape_error(what, width * batch, data.len()))
        }
    }

    // Out of line, so that the valid case stays in registers.
    #[cold]
    #[inline(never)]
    fn shape_error(what: &str, expected: usize, got: usize) -> Error {
        Error::Shape {
            what: format!("{what} (none, one row, or one per effector)"),
            expected,
            got,
        }
    }

    /// Copies effector `b`'s row into `out`.
    #[inline]
    fn copy_row(&self, b: usize, out: &mut [f64]) {
        match self.source(b, 1) {
            Source::Zeros => out.fill(0.0),
            Source::Shared(row) | Source::Rows(row, _) => out.copy_from_slice(row),
        }
    }

    /// The rows of effectors `first..first + count`.
    #[inline(always)]
    fn source(&self, first: usize, count: usize) -> Source<'a> {
        let w = self.width;
        match self.data.len() {
            0 => Source::Zeros,
            n if n == w => Source::Shared(self.data),
            _ => Source::Rows(&self.data[first * w..(first + count) * w], w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{all_finite, Disjoint};

    /// `Disjoint<T>` hands out `&mut T` on other threads, so it may be `Send`/`Sync` only when `T: Send`.
    /// (Compiles only if `Disjoint<Rc<_>>` is neither: with both impls of `NotSend` applicable, the
    /// inferred `_` would be ambiguous.)
    #[test]
    fn disjoint_is_send_and_sync_only_for_send_items() {
        trait NotSend<A> {
            fn check() {}
        }
        impl<T: ?Sized> NotSend<()> for T {}
        struct IsSend;
        impl<T: ?Sized + Send> NotSend<IsSend> for T {}
        struct IsSync;
        trait NotSync<A> {
            fn check() {}
        }
        impl<T: ?Sized> NotSync<()> for T {}
        impl<T: ?Sized + Sync> NotSync<IsSync> for T {}
        <Disjoint<std::rc::Rc<u8>> as NotSend<_>>::check();
        <Disjoint<std::rc::Rc<u8>> as NotSync<_>>::check();
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Disjoint<crate::plant::Workspace>>();
    }

    #[test]
    fn all_finite_finds_every_kind_of_non_finite_value_anywhere() {
        let clean: Vec<f64> = (0..21).map(|k| (k as f64 - 10.0) * 1e300).collect();
        assert!(all_finite(&clean) && all_finite(&[]));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            // Positions in the eight-wide part and in the remainder.
            for at in [0, 7, 8, 15, 16, 20] {
                let mut v = clean.clone();
                v[at] = bad;
                assert!(!all_finite(&v), "{bad} at {at}");
            }
        }
    }
}
