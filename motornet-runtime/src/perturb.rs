//! Experiments as settings: perturbations scheduled per trial with probabilities — endpoint force pulses,
//! constant loads, viscous and curl fields, force channels, target jumps, visuomotor rotations and
//! sequences of targets. [`Perturbed`] wraps any task: it draws the task's episodes, then gives each
//! episode the [`Event`]s of every perturbation that applies to it (each with its own probability), from
//! the batch's random stream, so training and evaluation episodes are perturbed alike and
//! reproducibly.
//!
//! Times are in seconds from the start of the episode and are converted to steps with the plant's time
//! step; directions are relative to the reach (from the start to the target).

use crate::error::Error;
use crate::task::{Cartesian, ChaCha8Rng, Episode, Event, Load, Point, Task, TaskContext};
use rand::Rng;

/// A direction relative to the reach (the line from the start to the target, counter-clockwise angles).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Direction {
    /// At this angle (radians) from the reach direction: 0 along it, π/2 to its left.
    Relative(f64),
    /// Perpendicular to the reach, to the left or the right with equal probability.
    Orthogonal,
    /// Uniformly random.
    Random,
}

impl Direction {
    /// The unit vector in the x–y plane for a reach from `start` to `target` (+x when they coincide).
    fn draw(self, start: Point, target: Point, rng: &mut ChaCha8Rng) -> Point {
        let reach = (target[1] - start[1]).atan2(target[0] - start[0]);
        let reach = if reach.is_finite() { reach } else { 0.0 };
        let angle = match self {
            Direction::Relative(a) => reach + a,
            Direction::Orthogonal => {
                if rng.random::<bool>() {
                    reach + std::f64::consts::FRAC_PI_2
                } else {
                    reach - std::f64::consts::FRAC_PI_2
                }
            }
            Direction::Random => rng.random::<f64>() * std::f64::consts::TAU,
        };
        [angle.cos(), angle.sin(), 0.0]
    }
}

/// A value drawn uniformly from `[lo, hi]` (a fixed value when they are equal).
pub type Span = (f64, f64);

fn uniform(span: Span, rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random();
    span.0 + (span.1 - span.0) * u
}

/// What a perturbation does.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// An endpoint force of `magnitude` N in `direction`, starting at a time drawn from `onset` (s) and
    /// lasting `duration` s.
    ForcePulse {
        magnitude: Span,
        direction: Direction,
        onset: Span,
        duration: f64,
    },
    /// A constant endpoint force for the whole episode.
    Load {
        magnitude: Span,
        direction: Direction,
    },
    /// A velocity-dependent field `F = B·v`, B in N·s/m.
    Viscous { matrix: [[f64; 2]; 2] },
    /// A curl field `F = k·(−vy, vx)`.
    Curl { k: f64 },
    /// A force channel from the start to the target: a spring (N/m) and damper (N·s/m) across it.
    Channel { stiffness: f64, damping: f64 },
    /// At a time drawn from `time` (s) the target jumps `distance` m in `direction` (relative to the
    /// reach); without `distance`, to a new target drawn as the tasks draw theirs (the endpoint of a
    /// random posture).
    TargetJump {
        time: Span,
        distance: Option<Span>,
        direction: Direction,
    },
    /// Vision rotated about the start by an angle (radians) drawn from `angle`.
    VisuomotorRotation { angle: Span },
    /// After the first target, `targets` more, each `interval` s after the previous one, each the
    /// endpoint of a random posture.
    Sequence { targets: usize, interval: f64 },
}

/// One perturbation of a schedule: applied to each episode with probability `probability`.
#[derive(Clone, Debug, PartialEq)]
pub struct Perturbation {
    pub probability: f64,
    pub kind: Kind,
}

impl Perturbation {
    /// The name of its kind in configuration files.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::ForcePulse { .. } => "force_pulse",
            Kind::Load { .. } => "load",
            Kind::Viscous { .. } => "viscous",
            Kind::Curl { .. } => "curl",
            Kind::Channel { .. } => "channel",
            Kind::TargetJump { .. } => "target_jump",
            Kind::VisuomotorRotation { .. } => "visuomotor_rotation",
            Kind::Sequence { .. } => "sequence",
        }
    }

    /// Whether this perturbation needs a planar model: every kind but the target jumps to random
    /// postures' endpoints (`target_jump` without `distance`) and `sequence` is defined in the x–y plane
    /// (directions relative to the reach, fields, channels, rotations).
    pub fn planar_only(&self) -> bool {
        !matches!(
            self.kind,
            Kind::TargetJump { distance: None, .. } | Kind::Sequence { .. }
        )
    }

    /// Every problem with the settings, as (setting, what is wrong); `steps` and `dt` are the
    /// episode's. With `dt = 0` (no model yet) the checks against the episode's length and time step are
    /// left out.
    pub fn problems(&self, steps: usize, dt: f64) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if !(0.0..=1.0).contains(&self.probability) {
            p.push(("probability", "must be a probability in [0, 1]".to_string()));
        }
        let duration = if dt > 0.0 {
            steps as f64 * dt
        } else {
            f64::INFINITY
        };
        let span = |p: &mut Vec<(&'static str, String)>, key, s: Span, lo: f64, hi: f64| {
            if !(s.0.is_finite() && s.1.is_finite() && s.0 <= s.1 && s.0 >= lo && s.1 <= hi) {
                let low = if lo > f64::MIN {
                    format!("{lo} ≤ ")
                } else {
                    String::new()
                };
                let high = if hi < f64::MAX {
                    format!(" ≤ {hi}")
                } else {
                    String::new()
                };
                p.push((
                    key,
                    format!("must be a finite number or [low, high] with {low}low ≤ high{high}"),
                ));
            }
        };
        let finite = |p: &mut Vec<(&'static str, String)>, key, v: f64| {
            if !v.is_finite() {
                p.push((key, "must be a finite number".to_string()));
            }
        };
        let direction = |p: &mut Vec<(&'static str, String)>, d: Direction| {
            if let Direction::Relative(a) = d {
                if !a.is_finite() {
                    p.push(("direction", "must be a finite angle".to_string()));
                }
            }
        };
        match &self.kind {
            Kind::ForcePulse {
                magnitude,
                direction: d,
                onset,
                duration: len,
            } => {
                span(&mut p, "magnitude", *magnitude, f64::MIN, f64::MAX);
                direction(&mut p, *d);
                span(&mut p, "onset", *onset, 0.0, duration);
                if !(len.is_finite() && *len > 0.0 && *len >= dt * (1.0 - 1e-9)) {
                    p.push((
                        "duration",
                        "must be positive and at least one time step of the model".to_string(),
                    ));
                }
            }
            Kind::Load {
                magnitude,
                direction: d,
            } => {
                span(&mut p, "magnitude", *magnitude, f64::MIN, f64::MAX);
                direction(&mut p, *d);
            }
            Kind::Viscous { matrix } => {
                if matrix.iter().flatten().any(|v| !v.is_finite()) {
                    p.push(("matrix", "must be finite numbers".to_string()));
                }
            }
            Kind::Curl { k } => finite(&mut p, "k", *k),
            Kind::Channel { stiffness, damping } => {
                for (key, v) in [("stiffness", *stiffness), ("damping", *damping)] {
                    if !(v.is_finite() && v >= 0.0) {
                        p.push((key, "must be a finite number ≥ 0".to_string()));
                    }
                }
            }
            Kind::TargetJump {
                time,
                distance,
                direction: d,
            } => {
                span(&mut p, "time", *time, 0.0, duration);
                if let Some(dist) = distance {
                    span(&mut p, "distance", *dist, 0.0, f64::MAX);
                }
                direction(&mut p, *d);
            }
            Kind::VisuomotorRotation { angle } => span(
                &mut p,
                "angle",
                *angle,
                -std::f64::consts::TAU,
                std::f64::consts::TAU,
            ),
            Kind::Sequence { targets, interval } => {
                if *targets == 0 || *targets > 1000 {
                    p.push(("targets", "must be between 1 and 1000".to_string()));
                }
                if !(interval.is_finite() && *interval > 0.0 && *interval >= dt * (1.0 - 1e-9)) {
                    p.push((
                        "interval",
                        "must be positive and at least one time step of the model".to_string(),
                    ));
                }
            }
        }
        p
    }

    /// The events of this perturbation for one episode (already chosen to be perturbed).
    fn events(&self, ctx: &TaskContext, e: &Episode, rng: &mut ChaCha8Rng) -> Vec<Event> {
        let dt = ctx.plant.timestep();
        let step = |seconds: f64| (seconds / dt).round().max(0.0) as usize;
        match &self.kind {
            Kind::ForcePulse {
                magnitude,
                direction,
                onset,
                duration,
            } => {
                let dir = direction.draw(e.start, e.target, rng);
                let f = uniform(*magnitude, rng);
                let from = step(uniform(*onset, rng));
                vec![Event::Force {
                    from,
                    until: from.saturating_add(step(*duration).max(1)),
                    force: [f * dir[0], f * dir[1], 0.0],
                }]
            }
            Kind::Load {
                magnitude,
                direction,
            } => {
                let dir = direction.draw(e.start, e.target, rng);
                let f = uniform(*magnitude, rng);
                vec![Event::Force {
                    from: 0,
                    until: usize::MAX,
                    force: [f * dir[0], f * dir[1], 0.0],
                }]
            }
            Kind::Viscous { matrix } => vec![Event::Viscous { matrix: *matrix }],
            Kind::Curl { k } => vec![Event::Viscous {
                matrix: [[0.0, -k], [*k, 0.0]],
            }],
            Kind::Channel { stiffness, damping } => vec![Event::Channel {
                from: e.start,
                to: e.target,
                stiffness: *stiffness,
                damping: *damping,
            }],
            Kind::TargetJump {
                time,
                distance,
                direction,
            } => {
                let at = step(uniform(*time, rng));
                let to = match distance {
                    Some(d) => {
                        let dir = direction.draw(e.start, e.target, rng);
                        let d = uniform(*d, rng);
                        [
                            e.target[0] + d * dir[0],
                            e.target[1] + d * dir[1],
                            e.target[2],
                        ]
                    }
                    None => ctx.endpoint(&ctx.random_joint(rng)),
                };
                vec![Event::TargetJump { step: at, to }]
            }
            Kind::VisuomotorRotation { angle } => vec![Event::VisionRotation {
                angle: uniform(*angle, rng),
            }],
            Kind::Sequence { targets, interval } => (1..=*targets)
                .map(|k| Event::TargetJump {
                    step: step(k as f64 * interval),
                    to: ctx.endpoint(&ctx.random_joint(rng)),
                })
                .collect(),
        }
    }
}

/// A task whose episodes are perturbed: `inner` draws them, then each perturbation applies to each
/// episode with its probability, drawing from a stream of its own per episode.
pub struct Perturbed {
    pub inner: Box<dyn Task>,
    pub perturbations: Vec<Perturbation>,
}

impl Task for Perturbed {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn validate(&self, ctx: &TaskContext) -> Result<(), Error> {
        self.inner.validate(ctx)?;
        let dt = ctx.plant.timestep();
        let mut all = Vec::new();
        for (i, p) in self.perturbations.iter().enumerate() {
            if p.planar_only() {
                if let Err(e) =
                    ctx.planar_only(&format!("perturbation {} ({})", i + 1, p.kind_name()))
                {
                    all.push(e.to_string());
                }
            }
            for (key, what) in p.problems(ctx.steps, dt) {
                all.push(format!(
                    "perturbation {} ({}): {key} {what}",
                    i + 1,
                    p.kind_name()
                ));
            }
        }
        if all.is_empty() {
            Ok(())
        } else {
            Err(Error::Input(all.join("; ")))
        }
    }
    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        let mut episodes = self.inner.draw(ctx, batch, rng);
        // One number from the batch's stream; then perturbation k of episode b draws from a stream of its
        // own, (seed, k, b), so that adding a perturbation or changing one's probability never changes
        // what the others draw.
        let seed: u64 = rng.random();
        for (b, e) in episodes.iter_mut().enumerate() {
            for (k, p) in self.perturbations.iter().enumerate() {
                let mut own = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
                own.set_stream(((k as u64) << 40) ^ b as u64);
                if own.random::<f64>() < p.probability {
                    let events = p.events(ctx, e, &mut own);
                    e.events.extend(events);
                }
            }
        }
        episodes
    }
    fn has_go_cue(&self) -> bool {
        self.inner.has_go_cue()
    }
    fn endpoint_load(&self, t: usize, episode: &Episode, cartesian: &Cartesian) -> Load {
        self.inner.endpoint_load(t, episode, cartesian)
    }
}
