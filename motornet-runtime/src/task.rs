//! Tasks: what an episode asks of the effector. A task draws each episode's initial joint state, target
//! and timing, says what the network is shown (goal and cues) and what the loss aims at, and may apply
//! state-dependent endpoint forces (a velocity-dependent curl field, a force channel).
//!
//! Users define their own tasks by implementing [`Task`]; nothing else needs to change.

use crate::error::Error;
use crate::plant::Plant;
use rand::Rng;
/// Sampling methods (`random`, `random_range`) for custom tasks.
pub use rand::Rng as RandomSource;
/// The random stream tasks draw episodes from (re-exported so custom tasks need no extra dependency).
pub use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

/// A point in space, `[x, y, z]`, in metres; `z` is 0 in a planar model.
pub type Point = [f64; 3];

/// One episode of one effector.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Episode {
    /// Initial joint positions then velocities.
    pub joint0: Vec<f64>,
    /// Endpoint position right after reset.
    pub start: Point,
    /// Where the endpoint should go.
    pub target: Point,
    /// Step at which the go cue appears: before it the endpoint should stay at `start`. `None`: move at
    /// once. A catch trial has a cue that never comes (`Some(usize::MAX)`).
    pub go_step: Option<usize>,
    /// What happens to this episode besides the task's own load: force pulses, loads, fields, channels,
    /// target jumps, a rotation of vision (see [`Event`]; [`crate::perturb`] draws them from settings).
    /// Empty for an unperturbed episode.
    pub events: Vec<Event>,
}

/// Something that happens in one episode. The environment applies them to every task: forces are added
/// to the task's endpoint load (with their derivatives, so the gradient flows through state-dependent
/// ones), target jumps change the goal shown and the aim of the loss, a rotation changes what vision
/// sees.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A constant endpoint force (N) during steps `from..until` (a pulse; a load for the whole episode
    /// when `from` is 0 and `until` is `usize::MAX`).
    Force {
        from: usize,
        until: usize,
        force: Point,
    },
    /// A velocity-dependent field `F = B·v` in the x–y plane (N·s/m); a curl field is
    /// `B = [[0, −k], [k, 0]]`. Planar models only.
    Viscous { matrix: [[f64; 2]; 2] },
    /// A force channel along the line through `from` and `to`: a spring and damper across it,
    /// `F = −(stiffness·d + damping·v⊥)·n` with `n` the line's normal, `d` the distance from the line and
    /// `v⊥` the velocity across it. Planar models only.
    Channel {
        from: Point,
        to: Point,
        stiffness: f64,
        damping: f64,
    },
    /// From step `step` on, the target is `to` (shown as the goal and aimed at by the loss).
    TargetJump { step: usize, to: Point },
    /// Vision rotated by `angle` (radians, counter-clockwise in the x–y plane) about the start: the
    /// network sees the endpoint at `start + R(angle)·(p − start)`. Planar models only.
    VisionRotation { angle: f64 },
}

impl Episode {
    /// An episode without events.
    pub fn new(joint0: Vec<f64>, start: Point, target: Point, go_step: Option<usize>) -> Self {
        Episode {
            joint0,
            start,
            target,
            go_step,
            events: Vec::new(),
        }
    }
    fn gone(&self, t: usize) -> bool {
        self.go_step.is_none_or(|g| t >= g)
    }
    /// The target in force at step `t`: the last target jump at or before `t`, else `target`.
    pub fn target_at(&self, t: usize) -> Point {
        let mut best: Option<(usize, Point)> = None;
        for e in &self.events {
            if let Event::TargetJump { step, to } = *e {
                if step <= t && best.is_none_or(|(s, _)| step >= s) {
                    best = Some((step, to));
                }
            }
        }
        best.map_or(self.target, |(_, to)| to)
    }
    /// The position the loss aims at, at step `t`.
    pub fn aim(&self, t: usize) -> Point {
        if self.gone(t) {
            self.target_at(t)
        } else {
            self.start
        }
    }
    /// The goal the network is shown at step `t` (the target in force, also before the go cue).
    pub fn goal(&self, t: usize) -> Point {
        self.target_at(t)
    }
    /// The go signal the network sees at step `t` (1 after the cue).
    pub fn go_signal(&self, t: usize) -> f64 {
        f64::from(u8::from(self.gone(t)))
    }
    /// The rotation of vision (radians; 0 without one).
    pub fn vision_rotation(&self) -> f64 {
        self.events
            .iter()
            .map(|e| match e {
                Event::VisionRotation { angle } => *angle,
                _ => 0.0,
            })
            .sum()
    }
    /// The endpoint force of this episode's events at step `t` and endpoint state
    /// `[x, y, z, vx, vy, vz]`, with its derivative (added to the task's [`Task::endpoint_load`]).
    pub fn event_load(&self, t: usize, c: &Cartesian) -> Load {
        let mut f = [0.0; 3];
        let mut d = [[0.0; 6]; 3];
        for e in &self.events {
            match *e {
                Event::Force { from, until, force } if (from..until).contains(&t) => {
                    for (f, g) in f.iter_mut().zip(force) {
                        *f += g;
                    }
                }
                Event::Viscous { matrix } => {
                    for i in 0..2 {
                        f[i] += matrix[i][0] * c[3] + matrix[i][1] * c[4];
                        d[i][3] += matrix[i][0];
                        d[i][4] += matrix[i][1];
                    }
                }
                Event::Channel {
                    from,
                    to,
                    stiffness,
                    damping,
                } => {
                    let (dx, dy) = (to[0] - from[0], to[1] - from[1]);
                    let len = dx.hypot(dy);
                    if len.is_nan() || len <= 0.0 {
                        continue;
                    }
                    let n = [-dy / len, dx / len];
                    let dist = (c[0] - from[0]) * n[0] + (c[1] - from[1]) * n[1];
                    let v = c[3] * n[0] + c[4] * n[1];
                    let m = -(stiffness * dist + damping * v);
                    for i in 0..2 {
                        f[i] += m * n[i];
                        for k in 0..2 {
                            d[i][k] -= stiffness * n[i] * n[k];
                            d[i][3 + k] -= damping * n[i] * n[k];
                        }
                    }
                }
                _ => {}
            }
        }
        (f, d)
    }
}

/// What a task may ask of the plant while drawing episodes.
pub struct TaskContext<'a> {
    pub plant: &'a dyn Plant,
    /// Steps per episode.
    pub steps: usize,
}

impl TaskContext<'_> {
    /// 2 for a planar plant, 3 for a spatial one ([`crate::PlantInfo::space_dim`]).
    pub fn space_dim(&self) -> usize {
        self.plant.info().space_dim
    }

    /// An error for a setting that has no meaning in 3D, when the plant is spatial: `what` names the
    /// setting (`centre_out`, `random_reach: curl`).
    pub fn planar_only(&self, what: &str) -> Result<(), Error> {
        if self.space_dim() == 2 {
            return Ok(());
        }
        Err(Error::Input(format!(
            "{what} is planar only, but the model `{}` is spatial (dimensions 3)",
            self.plant.info().name
        )))
    }

    /// Endpoint position of a joint state (positions, velocities), by the plant's own kinematics
    /// (`z = 0` in a planar model).
    ///
    /// # Panics
    ///
    /// If `joint` is not `2·dof` values long (a task checks the joint states it is configured with in
    /// [`Task::validate`]).
    pub fn endpoint(&self, joint: &[f64]) -> Point {
        let info = self.plant.info();
        let mut state = vec![0.0; info.state_dim()];
        if let Err(e) = self
            .plant
            .reset(&mut self.plant.workspace(), joint, &mut state)
        {
            panic!("TaskContext::endpoint: {e}");
        }
        let c = info.endpoint(&state);
        [c[0], c[1], c[2]]
    }

    /// A joint state drawn uniformly within the joint ranges, at rest (MotorNet's
    /// `draw_random_uniform_states`). Unbounded coordinates are drawn in [-1, 1].
    pub fn random_joint(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let bounds = self.plant.bounds();
        let mut j: Vec<f64> = bounds
            .iter()
            .map(|b| {
                let u: f64 = rng.random();
                if b.lower.is_finite() && b.upper.is_finite() {
                    b.upper + (b.lower - b.upper) * u
                } else {
                    2.0 * u - 1.0
                }
            })
            .collect();
        j.extend(std::iter::repeat_n(0.0, bounds.len()));
        j
    }
}

/// The endpoint state `[x, y, z, vx, vy, vz]` (`z = vz = 0` in a planar model).
pub type Cartesian = [f64; 6];

/// The endpoint's speed, m/s. hypot(v, 0) = |v| exactly, so a planar model's is hypot(vx, vy).
pub fn endpoint_speed(c: &Cartesian) -> f64 {
    c[3].hypot(c[4]).hypot(c[5])
}

/// An endpoint force `[fx, fy, fz]` and its derivative with respect to the endpoint state
/// `[x, y, z, vx, vy, vz]` (row `i` is the gradient of the force's component `i`). A planar model
/// ignores `fz`.
pub type Load = ([f64; 3], [[f64; 6]; 3]);

/// No endpoint force.
pub const NO_LOAD: Load = ([0.0; 3], [[0.0; 6]; 3]);

pub trait Task: Send + Sync {
    /// A short name for logs and run directories.
    fn name(&self) -> String;

    /// Checks the task's settings against the plant and the episode length; [`crate::env::Environment::new`]
    /// calls it, so that a misconfigured task is an error there rather than a panic or NaN later. Default:
    /// nothing to check.
    fn validate(&self, _ctx: &TaskContext) -> Result<(), Error> {
        Ok(())
    }

    /// Draws `batch` episodes.
    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode>;

    /// Whether the network sees a go signal (an extra observation input).
    fn has_go_cue(&self) -> bool {
        false
    }

    /// The endpoint force at step `t` given the endpoint state, with its derivative (so gradients flow
    /// through state-dependent loads). Default: none.
    fn endpoint_load(&self, _t: usize, _episode: &Episode, _cartesian: &Cartesian) -> Load {
        NO_LOAD
    }
}

/// A velocity-dependent curl field in the x–y plane: F = k · (−vy, vx, 0) (k > 0 turns the force
/// counter-clockwise of the velocity), in N·s/m.
pub fn curl_field(k: f64, cartesian: &Cartesian) -> Load {
    let (vx, vy) = (cartesian[3], cartesian[4]);
    let mut d = [[0.0; 6]; 3];
    d[0][4] = -k;
    d[1][3] = k;
    ([-k * vy, k * vx, 0.0], d)
}

/// MotorNet's `RandomTargetReach`: start and target are endpoint positions of joint states drawn uniformly
/// within the joint ranges (in the plane or in space).
#[derive(Clone, Debug, Default)]
pub struct RandomReach {
    /// Optional curl field (N·s/m; planar models only).
    pub curl: f64,
}

impl Task for RandomReach {
    fn name(&self) -> String {
        "random_reach".into()
    }
    /// A curl field only in a planar model.
    fn validate(&self, ctx: &TaskContext) -> Result<(), Error> {
        if self.curl != 0.0 {
            ctx.planar_only("random_reach: curl (a field in the x–y plane)")?;
        }
        Ok(())
    }
    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        (0..batch)
            .map(|_| {
                let joint0 = ctx.random_joint(rng);
                let target = ctx.endpoint(&ctx.random_joint(rng));
                let start = ctx.endpoint(&joint0);
                Episode::new(joint0, start, target, None)
            })
            .collect()
    }
    fn endpoint_load(&self, _t: usize, _e: &Episode, c: &Cartesian) -> Load {
        curl_field(self.curl, c)
    }
}

/// Centre-out reaching: from one start posture to `n_targets` targets evenly spaced on a circle, with an
/// optional curl field (the classic force-field adaptation paradigm).
#[derive(Clone, Debug)]
pub struct CentreOut {
    /// Start joint positions (velocities are zero).
    pub start_joint: Vec<f64>,
    pub n_targets: usize,
    /// Circle radius, m.
    pub radius: f64,
    pub curl: f64,
}

impl CentreOut {
    fn targets(&self, start: Point) -> Vec<Point> {
        (0..self.n_targets)
            .map(|k| {
                let a = 2.0 * PI * k as f64 / self.n_targets as f64;
                [
                    start[0] + self.radius * a.cos(),
                    start[1] + self.radius * a.sin(),
                    start[2],
                ]
            })
            .collect()
    }
}

impl Task for CentreOut {
    fn name(&self) -> String {
        "centre_out".into()
    }
    /// A planar model, at least one target, a finite radius and curl, and a start posture of one
    /// position per coordinate within the joint ranges.
    fn validate(&self, ctx: &TaskContext) -> Result<(), Error> {
        ctx.planar_only("the task centre_out (targets on a circle in the x–y plane)")?;
        if self.n_targets == 0 {
            return Err(Error::Input(
                "centre_out: n_targets must be at least 1".into(),
            ));
        }
        for (what, v) in [("radius", self.radius), ("curl", self.curl)] {
            if !v.is_finite() {
                return Err(Error::Input(format!(
                    "centre_out: {what} must be a finite number, not {v}"
                )));
            }
        }
        let info = ctx.plant.info();
        if self.start_joint.len() != info.dof() {
            return Err(Error::Shape {
                what: "centre_out: start_joint (one position per coordinate)".into(),
                expected: info.dof(),
                got: self.start_joint.len(),
            });
        }
        for ((q, b), name) in self
            .start_joint
            .iter()
            .zip(ctx.plant.bounds())
            .zip(&info.coord_names)
        {
            if !(*q >= b.lower && *q <= b.upper) {
                return Err(Error::Input(format!(
                    "centre_out: start_joint of `{name}` is {q}, outside its range [{}, {}]",
                    b.lower, b.upper
                )));
            }
        }
        Ok(())
    }
    /// Episode `i` of a batch reaches to target `i mod n_targets`, so a batch of `n_targets` covers all.
    fn draw(&self, ctx: &TaskContext, batch: usize, _rng: &mut ChaCha8Rng) -> Vec<Episode> {
        let mut joint0 = self.start_joint.clone();
        joint0.extend(std::iter::repeat_n(0.0, self.start_joint.len()));
        let start = ctx.endpoint(&joint0);
        let targets = self.targets(start);
        (0..batch)
            .map(|i| Episode::new(joint0.clone(), start, targets[i % targets.len()], None))
            .collect()
    }
    fn endpoint_load(&self, _t: usize, _e: &Episode, c: &Cartesian) -> Load {
        curl_field(self.curl, c)
    }
}

/// Delayed reaching: the target is shown from the start, but the endpoint must hold still until a go cue
/// that comes after a random delay; in catch trials it never comes.
#[derive(Clone, Debug)]
pub struct DelayedReach {
    /// Range of the go-cue time, in steps.
    pub go_steps: (usize, usize),
    /// Probability that an episode is a catch trial.
    pub catch_probability: f64,
}

impl Task for DelayedReach {
    fn name(&self) -> String {
        "delayed_reach".into()
    }
    fn has_go_cue(&self) -> bool {
        true
    }
    /// An ordered go-cue range and a catch probability in [0, 1].
    fn validate(&self, _ctx: &TaskContext) -> Result<(), Error> {
        let (lo, hi) = self.go_steps;
        if lo > hi {
            return Err(Error::Input(format!(
                "delayed_reach: go_steps ({lo}, {hi}) must be ordered (min, max)"
            )));
        }
        if !(0.0..=1.0).contains(&self.catch_probability) {
            return Err(Error::Input(format!(
                "delayed_reach: catch_probability must be between 0 and 1, not {}",
                self.catch_probability
            )));
        }
        Ok(())
    }
    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        (0..batch)
            .map(|_| {
                let joint0 = ctx.random_joint(rng);
                let target = ctx.endpoint(&ctx.random_joint(rng));
                let (lo, hi) = self.go_steps;
                let go = if rng.random::<f64>() < self.catch_probability {
                    usize::MAX
                } else {
                    rng.random_range(lo..=hi.max(lo)) // `validate` rejects hi < lo
                };
                let start = ctx.endpoint(&joint0);
                Episode::new(joint0, start, target, Some(go))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_field_derivative_matches_its_value() {
        let c = [0.1, 0.2, 0.0, 0.3, -0.4, 0.0];
        let (f, d) = curl_field(2.0, &c);
        assert_eq!(f, [0.8, 0.6, 0.0]);
        for i in 0..3 {
            let linear: f64 = (0..6).map(|k| d[i][k] * c[k]).sum();
            assert!(
                (linear - f[i]).abs() < 1e-15,
                "the field is linear in the state"
            );
        }
    }

    #[test]
    fn episodes_aim_at_start_until_the_cue() {
        let e = Episode::new(vec![], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], Some(5));
        assert_eq!(e.aim(4), [0.0, 0.0, 0.0]);
        assert_eq!(e.aim(5), [1.0, 1.0, 0.0]);
        assert_eq!(e.go_signal(4), 0.0);
        let catch = Episode {
            go_step: Some(usize::MAX),
            ..e
        };
        assert_eq!(catch.aim(1000), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn target_jumps_move_the_aim_and_the_goal_from_their_step() {
        let mut e = Episode::new(vec![], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], Some(2));
        e.events = vec![
            Event::TargetJump {
                step: 8,
                to: [3.0, 0.0, 0.0],
            },
            Event::TargetJump {
                step: 5,
                to: [2.0, 0.0, 0.0],
            },
        ];
        assert_eq!(e.goal(0), [1.0, 0.0, 0.0]);
        assert_eq!(e.aim(1), [0.0, 0.0, 0.0]);
        assert_eq!(e.aim(4), [1.0, 0.0, 0.0]);
        assert_eq!(e.aim(5), [2.0, 0.0, 0.0]);
        assert_eq!(e.goal(7), [2.0, 0.0, 0.0]);
        assert_eq!(e.aim(8), [3.0, 0.0, 0.0]);
    }

    #[test]
    fn event_loads_are_linear_in_the_state_with_their_derivative() {
        let mut e = Episode::new(vec![], [0.1, 0.2, 0.0], [0.4, 0.6, 0.0], None);
        e.events = vec![
            Event::Force {
                from: 3,
                until: 5,
                force: [1.0, -2.0, 0.0],
            },
            Event::Viscous {
                matrix: [[1.0, 2.0], [-3.0, 4.0]],
            },
            Event::Channel {
                from: [0.1, 0.2, 0.0],
                to: [0.4, 0.6, 0.0],
                stiffness: 100.0,
                damping: 5.0,
            },
        ];
        let c = [0.3, 0.1, 0.0, 0.5, -0.7, 0.0];
        for t in [2, 3, 4, 5] {
            let (f, d) = e.event_load(t, &c);
            let pulse = if (3..5).contains(&t) {
                [1.0, -2.0, 0.0]
            } else {
                [0.0, 0.0, 0.0]
            };
            // The channel's force vanishes on the line and the field's at rest: f − pulse is linear in
            // the offset from (start, at rest), with slope d.
            for i in 0..2 {
                let linear: f64 = d[i][0] * (c[0] - 0.1)
                    + d[i][1] * (c[1] - 0.2)
                    + d[i][3] * c[3]
                    + d[i][4] * c[4];
                assert!((f[i] - pulse[i] - linear).abs() < 1e-12, "t {t}: {f:?}");
            }
        }
        // The channel pushes back toward the line: across it, the force points against the offset.
        let on = Episode {
            events: vec![e.events[2].clone()],
            ..e.clone()
        };
        let (f, _) = on.event_load(0, &[0.1 - 0.8 * 0.01, 0.2 + 0.6 * 0.01, 0.0, 0.0, 0.0, 0.0]);
        assert!(f[0] > 0.0 && f[1] < 0.0, "{f:?}");
    }
}
