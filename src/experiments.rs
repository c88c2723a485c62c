//! Classic experiments run on a trained network: responses to force pulses orthogonal to the reach (the
//! MotorNet paper's Figure 5).

use crate::runtime::task::{Episode, Event};
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
                .map(|(p, e)| {
                    let (dx, dy) = (e.target[0] - e.start[0], e.target[1] - e.start[1]);
                    let d = dx.hypot(dy).max(1e-12);
                    p.iter()
                        .map(|q| (dx * (q[1] - e.start[1]) - dy * (q[0] - e.start[0])) / d)
                        .collect()
                })
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
