//! Classic experiments run on a trained network: responses to force pulses orthogonal to the reach (the
//! MotorNet paper's Figure 5), and reaches probed in and out of a curl field during adaptation, with their
//! lateral deviation (Figure 1).

use crate::runtime::task::{endpoint_speed, Episode, Event};
use crate::runtime::train::Trainer;
use crate::{Error, Plant};

/// One condition of [`pulse_responses`]: a pulse magnitude and onset, and what the reaches did.
#[derive(Clone, Debug)]
pub struct PulseResponse {
    /// N; positive pushes to the left of the reach (counter-clockwise), negative to the right.
    pub magnitude: f64,
    /// Step at which the pulse starts.
    pub onset: usize,
    /// Steps the pulse lasts.
    pub duration: usize,
    /// Per reach, the endpoint path `[x, y]` at every step.
    pub paths: Vec<Vec<[f64; 2]>>,
    /// Per reach, the signed distance (m) from the straight start–target line at every step, positive to
    /// the left of the reach.
    pub lateral: Vec<Vec<f64>>,
    /// Mean over reaches of the distance between the endpoint and the target over the last
    /// `last` steps (m).
    pub final_error: f64,
}

impl PulseResponse {
    /// The mean lateral deviation over the reaches at each step.
    pub fn mean_lateral(&self) -> Vec<f64> {
        let n = self.lateral.len().max(1) as f64;
        let steps = self.lateral.first().map_or(0, Vec::len);
        (0..steps)
            .map(|t| self.lateral.iter().map(|l| l[t]).sum::<f64>() / n)
            .collect()
    }
}

/// Reruns `episodes` (their own events kept) once per pulse magnitude and onset (seconds), with a pulse of
/// `duration` seconds perpendicular to each reach added (positive magnitudes to the left), with the
/// trainer's policy, deterministically. `last` is the number of final steps the final error averages.
pub fn pulse_responses(
    trainer: &mut Trainer<Box<dyn Plant>>,
    episodes: &[Episode],
    magnitudes: &[f64],
    onsets: &[f64],
    duration: f64,
    last: usize,
) -> Result<Vec<PulseResponse>, Error> {
    if trainer.plant().info().space_dim != 2 {
        return Err(Error::Input(format!(
            "force pulses orthogonal to the reach are planar only, but the model `{}` is spatial \
             (dimensions 3)",
            trainer.plant().info().name
        )));
    }
    let dt = trainer.timestep();
    let step = |s: f64| (s / dt).round().max(0.0) as usize;
    let mut out = Vec::new();
    for &onset in onsets {
        for &magnitude in magnitudes {
            let (from, len) = (step(onset), step(duration).max(1));
            let eps: Vec<Episode> = episodes
                .iter()
                .map(|e| {
                    let mut e = e.clone();
                    let (dx, dy) = (e.target[0] - e.start[0], e.target[1] - e.start[1]);
                    let d = dx.hypot(dy).max(1e-12);
                    let left = [-dy / d, dx / d];
                    e.events.push(Event::Force {
                        from,
                        until: from.saturating_add(len),
                        force: [magnitude * left[0], magnitude * left[1], 0.0],
                    });
                    e
                })
                .collect();
            let ev = trainer.evaluate(&eps, last)?;
            let paths: Vec<Vec<[f64; 2]>> = ev
                .paths
                .iter()
                .map(|p| p.iter().map(|s| [s[0], s[1]]).collect())
                .collect();
            let lateral = paths
                .iter()
                .zip(&eps)
                .map(|(p, e)| lateral_deviation(p, planar(e.start), planar(e.target)))
                .collect();
            out.push(PulseResponse {
                magnitude,
                onset: from,
                duration: len,
                paths,
                lateral,
                final_error: ev.metric,
            });
        }
    }
    Ok(out)
}

/// The signed distance (m) of each point of `path` from the straight line through `start` and `target`,
/// positive to the left of the reach (counter-clockwise of its direction).
pub fn lateral_deviation(path: &[[f64; 2]], start: [f64; 2], target: [f64; 2]) -> Vec<f64> {
    let (dx, dy) = (target[0] - start[0], target[1] - start[1]);
    let d = dx.hypot(dy).max(1e-12);
    path.iter()
        .map(|q| (dx * (q[1] - start[1]) - dy * (q[0] - start[0])) / d)
        .collect()
}

/// The value largest in magnitude, with its sign (0 for none).
pub fn signed_peak(values: &[f64]) -> f64 {
    values
        .iter()
        .copied()
        .fold(0.0, |a: f64, v| if v.abs() > a.abs() { v } else { a })
}

/// The curl field `F = k·(−vy, vx)` as an episode's event (positive `k` pushes counter-clockwise of the
/// hand's velocity).
pub fn curl_field(k: f64) -> Event {
    Event::Viscous {
        matrix: [[0.0, -k], [k, 0.0]],
    }
}

/// Reaches run by a policy without noise, by [`probe_reaches`].
#[derive(Clone, Debug)]
pub struct Probe {
    /// Per reach, the endpoint path `[x, y]` at every state.
    pub paths: Vec<Vec<[f64; 2]>>,
    /// Per reach, the endpoint speed (m/s) at every state.
    pub speeds: Vec<Vec<f64>>,
    /// Per reach, the signed lateral deviation (m) at every state ([`lateral_deviation`]).
    pub lateral: Vec<Vec<f64>>,
    /// Per reach, the lateral deviation largest in magnitude, with its sign.
    pub peak_lateral: Vec<f64>,
    /// Mean over reaches and the last `last` states of the distance to the target (m).
    pub final_error: f64,
}

impl Probe {
    /// The mean over reaches of each reach's signed peak lateral deviation (m).
    pub fn mean_peak_lateral(&self) -> f64 {
        self.peak_lateral.iter().sum::<f64>() / self.peak_lateral.len().max(1) as f64
    }

    /// The mean over reaches of the number of local maxima of the speed profile higher than
    /// `fraction` of the reach's peak speed (1 for a single-peaked, bell-shaped profile).
    pub fn mean_speed_peaks(&self, fraction: f64) -> f64 {
        let n = self.speeds.len().max(1) as f64;
        self.speeds
            .iter()
            .map(|s| {
                let top = s.iter().copied().fold(0.0, f64::max);
                s.windows(3)
                    .filter(|w| w[1] > w[0] && w[1] >= w[2] && w[1] > fraction * top)
                    .count() as f64
            })
            .sum::<f64>()
            / n
    }
}

/// Runs `episodes` (their own events dropped) with the trainer's policy, deterministically, in a curl
/// field of strength `curl` (none for 0), and measures each reach's lateral deviation and speed. `last`
/// is the number of final states the final error averages.
pub fn probe_reaches(
    trainer: &mut Trainer<Box<dyn Plant>>,
    episodes: &[Episode],
    curl: f64,
    last: usize,
) -> Result<Probe, Error> {
    let eps: Vec<Episode> = episodes
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.events.clear();
            if curl != 0.0 {
                e.events.push(curl_field(curl));
            }
            e
        })
        .collect();
    let ev = trainer.evaluate(&eps, last)?;
    let paths: Vec<Vec<[f64; 2]>> = ev
        .paths
        .iter()
        .map(|p| p.iter().map(|s| [s[0], s[1]]).collect())
        .collect();
    let speeds = ev
        .paths
        .iter()
        .map(|p| p.iter().map(endpoint_speed).collect())
        .collect();
    let lateral: Vec<Vec<f64>> = paths
        .iter()
        .zip(&eps)
        .map(|(p, e)| lateral_deviation(p, planar(e.start), planar(e.target)))
        .collect();
    let peak_lateral = lateral.iter().map(|l| signed_peak(l)).collect();
    Ok(Probe {
        paths,
        speeds,
        lateral,
        peak_lateral,
        final_error: ev.metric,
    })
}

/// One point of an adaptation curve ([`adapt`]).
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptationPoint {
    /// Adaptation batches done.
    pub batch: u64,
    /// The training loss of the last batch (NaN before the first).
    pub loss: f64,
    /// Mean signed peak lateral deviation (m) of the probe reaches in the field.
    pub in_field: f64,
    /// The same with the field switched off (catch trials): the after-effect.
    pub catch: f64,
}

/// Adaptation to a curl field: trains `trainer` (whose task or perturbations apply the field) for
/// `batches` batches, numbered from `first_batch`, and probes the policy on `probe` reaches every `every`
/// batches (and before the first) in the field of strength `curl` and without it (catch trials), with
/// `prober` (a trainer of the same plant and environment, whose policy is replaced by the trained one).
/// `report` sees every point as it is measured.
#[allow(clippy::too_many_arguments)]
pub fn adapt(
    trainer: &mut Trainer<Box<dyn Plant>>,
    prober: &mut Trainer<Box<dyn Plant>>,
    probe: &[Episode],
    curl: f64,
    first_batch: u64,
    batches: u64,
    every: u64,
    mut report: impl FnMut(&AdaptationPoint),
) -> Result<Vec<AdaptationPoint>, Error> {
    let every = every.max(1);
    let mut points = Vec::new();
    let mut measure = |trainer: &Trainer<Box<dyn Plant>>, batch: u64, loss: f64| {
        prober.policy = trainer.policy.clone();
        let in_field = probe_reaches(prober, probe, curl, 1)?.mean_peak_lateral();
        let catch = probe_reaches(prober, probe, 0.0, 1)?.mean_peak_lateral();
        let p = AdaptationPoint {
            batch,
            loss,
            in_field,
            catch,
        };
        report(&p);
        points.push(p);
        Ok::<(), Error>(())
    };
    measure(trainer, 0, f64::NAN)?;
    for b in 0..batches {
        let stats = trainer.train_batch(first_batch + b)?;
        if (b + 1).is_multiple_of(every) || b + 1 == batches {
            measure(trainer, b + 1, stats.loss)?;
        }
    }
    Ok(points)
}

/// A point's position in the plane of a planar model (its x and y).
fn planar(p: crate::runtime::task::Point) -> [f64; 2] {
    [p[0], p[1]]
}
