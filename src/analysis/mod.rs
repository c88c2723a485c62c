//! The network's activity, for the questions motor neuroscience asks of it: each unit's directional tuning
//! and preferred direction, the population's trajectories in its principal components, and everything an
//! evaluation recorded, exported for numpy.
//!
//! **Tuning.** A unit's activity during the reach (the mean of its hidden activity over the steps after
//! the go cue, or over the whole episode without one) is fitted by least squares to `b0 + bx·cos θ +
//! by·sin θ`, θ the direction from the start to the target (Georgopoulos' cosine tuning). The preferred
//! direction is `atan2(by, bx)`, the depth `hypot(bx, by)`, and `r2` the fraction of the variance across
//! reaches the fit explains. A unit counts as tuned when `r2 ≥ TUNED_R2` and its depth is not zero.
//!
//! **Distribution of preferred directions.** Uniform PDs give mean resultant lengths `r1 = |E e^{iθ}|`
//! and `r2 = |E e^{2iθ}|` near zero; a bimodal distribution with opposite modes (the arm's, in the
//! MotorNet paper's Figure 6, as in monkey motor cortex) has a large `r2` and a small `r1`. `axis` is the
//! orientation of the modes, `arg(E e^{2iθ})/2`.
//!
//! **Principal components** of the hidden activity over every trial and step (mean removed), by nalgebra's
//! symmetric eigen-decomposition of the covariance.
//!
//! Files: this one computes; `npz` writes numpy archives; the figures are in `crate::plots`.

pub mod npz;

use crate::runtime::task::Episode;
use crate::runtime::train::Rollout;
use std::f64::consts::PI;

/// The fit quality above which a unit counts as directionally tuned.
pub const TUNED_R2: f64 = 0.2;

/// The direction (radians, counter-clockwise from +x) from an episode's start to its target, in the
/// x–y plane (of the reach's projection on it, in a spatial model).
pub fn reach_direction(e: &Episode) -> f64 {
    (e.target[1] - e.start[1]).atan2(e.target[0] - e.start[0])
}

/// Hidden-activity rows (`t` of [`Rollout::hidden`]) that count as the reach of episode `e` in a run of
/// `steps` steps: after the go cue (or from the start), for `window` steps (or to the end).
pub fn reach_window(
    e: &Episode,
    steps: usize,
    window: Option<usize>,
) -> std::ops::RangeInclusive<usize> {
    let go = e.go_step.filter(|&g| g < steps).unwrap_or(0);
    let end = window.map_or(steps, |w| (go + w.max(1)).min(steps));
    go + 1..=end
}

/// The mean activity of every unit over each episode's reach ([`reach_window`]): `episodes × hidden`.
pub fn reach_activity(r: &Rollout, window: Option<usize>) -> Vec<Vec<f64>> {
    let (steps, h) = (r.steps(), r.hidden_size);
    r.run
        .episodes
        .iter()
        .enumerate()
        .map(|(b, e)| {
            let window = reach_window(e, steps, window);
            let n = window.clone().count().max(1) as f64;
            let mut mean = vec![0.0; h];
            for t in window {
                for (m, a) in mean.iter_mut().zip(r.hidden(t, b)) {
                    *m += a / n;
                }
            }
            mean
        })
        .collect()
}

/// One unit's cosine tuning.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct UnitTuning {
    pub baseline: f64,
    /// Preferred direction, radians in (−π, π].
    pub preferred_direction: f64,
    pub depth: f64,
    /// Fraction of the variance across reaches the cosine fit explains (0 for a constant unit).
    pub r2: f64,
}

impl UnitTuning {
    pub fn tuned(&self) -> bool {
        self.r2 >= TUNED_R2 && self.depth > 0.0
    }
}

/// Fits `b0 + bx cos θ + by sin θ` to `activity[k]` at `directions[k]` for each unit (`activity` is
/// `trials × units`). `None` when the directions cannot determine a cosine (fewer than three distinct
/// directions, or all on one line through the origin).
pub fn cosine_tuning(directions: &[f64], activity: &[Vec<f64>]) -> Option<Vec<UnitTuning>> {
    use nalgebra::{Matrix3, Vector3};
    let n = directions.len();
    if n < 3 || activity.len() != n {
        return None;
    }
    let rows: Vec<Vector3<f64>> = directions
        .iter()
        .map(|&d| Vector3::new(1.0, d.cos(), d.sin()))
        .collect();
    let gram: Matrix3<f64> = rows.iter().map(|x| x * x.transpose()).sum();
    // A near-singular design (directions all the same or opposite) gives no tuning.
    let eig = gram.symmetric_eigenvalues();
    if eig.min() <= 1e-9 * eig.max().max(1e-300) {
        return None;
    }
    let inverse = gram.try_inverse()?;
    let units = activity.first().map_or(0, Vec::len);
    Some(
        (0..units)
            .map(|u| {
                let y: Vec<f64> = activity.iter().map(|a| a[u]).collect();
                let rhs: Vector3<f64> = rows.iter().zip(&y).map(|(x, &v)| x * v).sum();
                let b = inverse * rhs;
                let mean = y.iter().sum::<f64>() / n as f64;
                let total: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
                let residual: f64 = rows
                    .iter()
                    .zip(&y)
                    .map(|(x, &v)| (v - b.dot(x)).powi(2))
                    .sum();
                let r2 = if total > 1e-300 {
                    (1.0 - residual / total).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                UnitTuning {
                    baseline: b[0],
                    preferred_direction: b[2].atan2(b[1]),
                    depth: b[1].hypot(b[2]),
                    r2,
                }
            })
            .collect(),
    )
}

/// Circular statistics of a set of angles: the first and second mean resultant lengths and the axis of
/// the second.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Concentration {
    pub count: usize,
    pub r1: f64,
    pub r2: f64,
    /// Orientation of a bimodal distribution's modes, radians in (−π/2, π/2].
    pub axis: f64,
    /// Rayleigh test of uniformity against one mode (from `r1`), and against two opposite modes (the
    /// same test on the doubled angles, from `r2`): the probability of so large a resultant if the
    /// angles were uniform.
    pub p_unimodal: f64,
    pub p_bimodal: f64,
}

/// The Rayleigh test's p-value for `n` angles of mean resultant length `r` (Zar's approximation, good
/// from a handful of angles on).
pub fn rayleigh_p(n: usize, r: f64) -> f64 {
    let n = n as f64;
    let big_r = n * r;
    let p = ((1.0 + 4.0 * n + 4.0 * (n * n - big_r * big_r)).sqrt() - (1.0 + 2.0 * n)).exp();
    if n == 0.0 {
        1.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

pub fn concentration(angles: &[f64]) -> Concentration {
    let n = angles.len().max(1) as f64;
    let mean = |k: f64| {
        let (c, s) = angles.iter().fold((0.0, 0.0), |(c, s), a| {
            (c + (k * a).cos(), s + (k * a).sin())
        });
        (c / n, s / n)
    };
    let ((c1, s1), (c2, s2)) = (mean(1.0), mean(2.0));
    let (r1, r2) = (c1.hypot(s1), c2.hypot(s2));
    Concentration {
        count: angles.len(),
        r1,
        r2,
        axis: 0.5 * s2.atan2(c2),
        p_unimodal: rayleigh_p(angles.len(), r1),
        p_bimodal: rayleigh_p(angles.len(), r2),
    }
}

/// The index of the direction bin (of `bins` equal sectors, the first centred on +x) an angle falls in.
pub fn direction_bin(angle: f64, bins: usize) -> usize {
    let width = 2.0 * PI / bins as f64;
    ((angle + 0.5 * width).rem_euclid(2.0 * PI) / width) as usize % bins
}

/// Principal components of the hidden activity.
#[derive(Clone, Debug)]
pub struct Pca {
    pub mean: Vec<f64>,
    /// `k` unit-length components, each `hidden` long, by decreasing variance.
    pub components: Vec<Vec<f64>>,
    /// Fraction of the total variance each component explains.
    pub explained: Vec<f64>,
}

impl Pca {
    /// The top `k` components of every hidden row of the rollout (initial states included).
    pub fn of(r: &Rollout, k: usize) -> Pca {
        let h = r.hidden_size;
        let rows = r.hidden.len() / h.max(1);
        let mut mean = vec![0.0; h];
        for row in r.hidden.chunks_exact(h) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / rows as f64;
            }
        }
        let mut cov = nalgebra::DMatrix::<f64>::zeros(h, h);
        let mut centred = nalgebra::DVector::<f64>::zeros(h);
        for row in r.hidden.chunks_exact(h) {
            for (c, (v, m)) in centred.iter_mut().zip(row.iter().zip(&mean)) {
                *c = v - m;
            }
            cov.syger(1.0 / rows as f64, &centred, &centred, 1.0);
        }
        let eig = nalgebra::SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..h).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let total: f64 = eig.eigenvalues.iter().map(|v| v.max(0.0)).sum();
        let k = k.min(h);
        Pca {
            mean,
            components: order[..k]
                .iter()
                .map(|&i| eig.eigenvectors.column(i).iter().copied().collect())
                .collect(),
            explained: order[..k]
                .iter()
                .map(|&i| {
                    if total > 0.0 {
                        eig.eigenvalues[i].max(0.0) / total
                    } else {
                        0.0
                    }
                })
                .collect(),
        }
    }

    /// The coordinates of one activity vector on the components.
    pub fn project(&self, activity: &[f64]) -> Vec<f64> {
        self.components
            .iter()
            .map(|c| {
                c.iter()
                    .zip(activity.iter().zip(&self.mean))
                    .map(|(w, (a, m))| w * (a - m))
                    .sum()
            })
            .collect()
    }
}

/// Everything `motornet analyze` reports, also written as `analysis.json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Analysis {
    /// Steps of each reach the tuning averages over (`None`: all of it).
    pub window_steps: Option<usize>,
    pub episodes: usize,
    pub hidden: usize,
    pub units: Vec<UnitTuning>,
    pub tuned_units: usize,
    /// Of the tuned units' preferred directions.
    pub preferred_directions: Concentration,
    pub explained_variance: Vec<f64>,
    /// What the fit was made from (for the figures; not written to `analysis.json`): each reach's
    /// direction and its units' mean activity over the window.
    #[serde(skip)]
    pub reach_directions: Vec<f64>,
    #[serde(skip)]
    pub reach_activity: Vec<Vec<f64>>,
}

/// Tuning (over `window` steps of each reach, or all of it) and principal components of a rollout. An
/// error when the reaches' directions cannot determine a cosine tuning.
pub fn analyze(r: &Rollout, window: Option<usize>) -> Result<(Analysis, Pca), crate::Error> {
    let directions: Vec<f64> = r.run.episodes.iter().map(reach_direction).collect();
    let activity = reach_activity(r, window);
    let units = cosine_tuning(&directions, &activity).ok_or_else(|| {
        crate::Error::Input(format!(
            "the {} evaluation reaches do not go in enough different directions to fit a tuning \
             curve (at least three directions, not all on one line, are needed)",
            directions.len()
        ))
    })?;
    let tuned: Vec<f64> = units
        .iter()
        .filter(|u| u.tuned())
        .map(|u| u.preferred_direction)
        .collect();
    let pca = Pca::of(r, 3);
    Ok((
        Analysis {
            window_steps: window,
            episodes: directions.len(),
            hidden: r.hidden_size,
            tuned_units: tuned.len(),
            preferred_directions: concentration(&tuned),
            explained_variance: pca.explained.clone(),
            units,
            reach_directions: directions,
            reach_activity: activity,
        },
        pca,
    ))
}

/// Writes everything a rollout recorded as a numpy `.npz` archive (see `docs/training.md` for the
/// arrays), atomically.
pub fn export_npz(r: &Rollout, path: &std::path::Path) -> Result<(), crate::Error> {
    let (e, steps, info) = (r.batch(), r.steps(), &r.info);
    let t1 = steps + 1;
    let mut z = npz::Npz::default();
    // Per-trial time series, trial-major: the run stores them step-major.
    fn trial_major<'a>(
        e: usize,
        rows: usize,
        width: usize,
        value: &dyn Fn(usize, usize) -> &'a [f64],
    ) -> Vec<f64> {
        let mut out = Vec::with_capacity(e * rows * width);
        for b in 0..e {
            for t in 0..rows {
                out.extend_from_slice(&value(t, b)[..width]);
            }
        }
        out
    }
    let h = r.hidden_size;
    z.f64(
        "hidden",
        &[e, t1, h],
        &trial_major(e, t1, h, &|t, b| r.hidden(t, b)),
    )?;
    let o = r.obs_dim;
    z.f64(
        "observations",
        &[e, t1, o],
        &trial_major(e, t1, o, &|t, b| r.observation(t, b)),
    )?;
    let m = info.n_muscles();
    z.f64(
        "actions",
        &[e, steps, m],
        &trial_major(e, steps, m, &|t, b| r.action(t, b)),
    )?;
    let c = info.control_dim();
    let controls = trial_major(e, steps, c, &|t, b| &r.run.controls[(t * e + b) * c..][..c]);
    // Points and forces have one component per spatial dimension (x, y and, in 3D, z).
    let d = info.space_dim;
    let force: Vec<f64> = controls
        .chunks_exact(c)
        .flat_map(|u| u[m..m + d].to_vec())
        .collect();
    z.f64("endpoint_force", &[e, steps, d], &force)?;
    for (part, at, len) in info.parts() {
        let values = trial_major(e, t1, len, &|t, b| &r.state(t, b)[at..]);
        let shape = match part {
            "muscle" => vec![e, t1, info.muscle_state_names.len(), m],
            "geometry" => vec![e, t1, info.geometry_state_names.len(), m],
            _ => vec![e, t1, len],
        };
        z.f64(part, &shape, &values)?;
    }
    let episodes = &r.run.episodes;
    let points = |f: &dyn Fn(&Episode) -> [f64; 3]| -> Vec<f64> {
        episodes.iter().flat_map(|ep| f(ep)[..d].to_vec()).collect()
    };
    z.f64("target", &[e, d], &points(&|ep| ep.target))?;
    z.f64("start", &[e, d], &points(&|ep| ep.start))?;
    let aim: Vec<f64> = episodes
        .iter()
        .flat_map(|ep| (0..t1).flat_map(move |t| ep.aim(t)[..d].to_vec()))
        .collect();
    z.f64("aim", &[e, t1, d], &aim)?;
    let go: Vec<i64> = episodes
        .iter()
        .map(|ep| ep.go_step.and_then(|g| i64::try_from(g).ok()).unwrap_or(-1))
        .collect();
    z.i64("go_step", &[e], &go)?;
    z.f64(
        "reach_direction",
        &[e],
        &episodes.iter().map(reach_direction).collect::<Vec<_>>(),
    )?;
    let time: Vec<f64> = (0..t1).map(|t| t as f64 * r.dt).collect();
    z.f64("time", &[t1], &time)?;
    z.f64("dt", &[], &[r.dt])?;
    z.strings("muscle_names", &info.muscle_names)?;
    z.strings("muscle_state_names", &info.muscle_state_names)?;
    z.strings("geometry_state_names", &info.geometry_state_names)?;
    z.strings("coord_names", &info.coord_names)?;
    z.strings("observation_names", &r.observation_names)?;
    let bytes = z.finish()?;
    crate::runtime::files::write_atomic(path, &bytes)
        .map_err(|err| crate::Error::Input(format!("{}: {err}", path.display())))
}

/// Draws the activity figures of a rollout into `dir` (PNG and SVG): `pca_trajectories`,
/// `preferred_directions`, `tuning` and `activity_by_direction`, grouping reaches into `bins` directions.
pub fn write_figures(
    r: &Rollout,
    a: &Analysis,
    pca: &Pca,
    dir: &std::path::Path,
    bins: usize,
) -> Result<Vec<std::path::PathBuf>, crate::Error> {
    use crate::plots;
    let plot_err = |e: plots::PlotError| crate::Error::Input(e.to_string());
    let (steps, h) = (r.steps(), r.hidden_size);
    let directions = &a.reach_directions;
    // Mean activity over time of the reaches in each direction bin.
    let mut groups: Vec<(f64, Vec<usize>)> = (0..bins)
        .map(|k| (2.0 * PI * k as f64 / bins as f64, Vec::new()))
        .collect();
    for (b, &d) in directions.iter().enumerate() {
        groups[direction_bin(d, bins)].1.push(b);
    }
    groups.retain(|g| !g.1.is_empty());
    let mean_over = |members: &[usize], t: usize| -> Vec<f64> {
        let mut m = vec![0.0; h];
        for &b in members {
            for (x, v) in m.iter_mut().zip(r.hidden(t, b)) {
                *x += v / members.len() as f64;
            }
        }
        m
    };
    let wrap = |d: f64| if d > PI { d - 2.0 * PI } else { d };
    let mut written = Vec::new();
    let lines: Vec<(f64, Vec<[f64; 2]>)> = groups
        .iter()
        .map(|(d, members)| {
            let points = (0..=steps)
                .map(|t| {
                    let p = pca.project(&mean_over(members, t));
                    [
                        p.first().copied().unwrap_or(0.0),
                        p.get(1).copied().unwrap_or(0.0),
                    ]
                })
                .collect();
            (wrap(*d), points)
        })
        .collect();
    let pct = |k: usize| 100.0 * pca.explained.get(k).copied().unwrap_or(0.0);
    let (x, y) = (
        format!("PC1 ({:.0} % of variance)", pct(0)),
        format!("PC2 ({:.0} %)", pct(1)),
    );
    written.extend(
        plots::plot_pca_trajectories(
            dir,
            "pca_trajectories",
            "Population trajectories, mean per reach direction",
            &lines,
            (&x, &y),
        )
        .map_err(plot_err)?,
    );
    let tuned: Vec<f64> = a
        .units
        .iter()
        .filter(|u| u.tuned())
        .map(|u| u.preferred_direction)
        .collect();
    written.extend(
        plots::plot_rose(
            dir,
            "preferred_directions",
            "Preferred directions of the tuned units",
            &[(
                format!("{} of {} units tuned (R² ≥ {TUNED_R2})", tuned.len(), h),
                tuned,
            )],
            24,
        )
        .map_err(plot_err)?,
    );
    let activity = &a.reach_activity;
    let mut best: Vec<usize> = (0..h).collect();
    best.sort_by(|&i, &j| a.units[j].r2.total_cmp(&a.units[i].r2));
    let units: Vec<(usize, Vec<f64>, UnitTuning)> = best
        .iter()
        .take(12)
        .map(|&u| (u, activity.iter().map(|row| row[u]).collect(), a.units[u]))
        .collect();
    written.extend(
        plots::plot_tuning(
            dir,
            "tuning",
            "Directional tuning of the best-fitted units",
            directions,
            &units,
        )
        .map_err(plot_err)?,
    );
    let mut by_pd: Vec<usize> = (0..h).collect();
    by_pd.sort_by(|&i, &j| {
        a.units[i]
            .preferred_direction
            .total_cmp(&a.units[j].preferred_direction)
    });
    let maps: Vec<(f64, Vec<Vec<f64>>)> = groups
        .iter()
        .take(8)
        .map(|(d, members)| {
            let over_time: Vec<Vec<f64>> = (1..=steps).map(|t| mean_over(members, t)).collect();
            let rows = by_pd
                .iter()
                .map(|&u| over_time.iter().map(|m| m[u]).collect())
                .collect();
            (wrap(*d), rows)
        })
        .collect();
    written.extend(
        plots::plot_activity_maps(
            dir,
            "activity_by_direction",
            "Hidden activity over time, units sorted by preferred direction",
            r.dt,
            &maps,
        )
        .map_err(plot_err)?,
    );
    Ok(written)
}

/// Reruns a run directory's checkpoint on `episodes` reaches of its task (by default its evaluation
/// reaches) — or of `task`, to probe the network on other reaches than it was trained on —
/// deterministically, and returns the recorded rollout.
pub fn rollout_run(
    dir: &std::path::Path,
    episodes: Option<usize>,
    task: Option<crate::config::TaskConfig>,
) -> Result<Rollout, crate::Error> {
    let (mut cfg, mut trainer) = crate::training::load_run(dir)?;
    if let Some(task) = task {
        cfg.task = task;
        let network = trainer.policy;
        trainer = cfg.trainer()?;
        trainer.policy = network;
    }
    let n = episodes.unwrap_or(cfg.run.eval_episodes);
    if n == 0 || n > crate::config::limits::MAX_EVAL_EPISODES {
        return Err(crate::Error::Input(format!(
            "--episodes {n}: choose between 1 and {}",
            crate::config::limits::MAX_EVAL_EPISODES
        )));
    }
    // The evaluation reaches' batch index, as `motornet eval` draws them.
    let episodes = trainer.episodes(u64::MAX, n);
    trainer.rollout(&episodes)
}

/// `motornet eval RUN --export`: writes `RUN/eval.npz` and returns its path.
pub fn export_run(
    dir: &std::path::Path,
    episodes: Option<usize>,
) -> Result<std::path::PathBuf, crate::Error> {
    let r = rollout_run(dir, episodes, None)?;
    let path = dir.join("eval.npz");
    export_npz(&r, &path)?;
    Ok(path)
}

/// What `motornet analyze` reruns and how it groups it.
#[derive(Clone, Debug)]
pub struct Probe {
    pub episodes: usize,
    /// Direction groups of the population figures.
    pub bins: usize,
    /// Steps of each reach the tuning averages over (`None`: all of it).
    pub window: Option<usize>,
    /// Reaches of another task than the run's (e.g. centre-out from one posture).
    pub task: Option<crate::config::TaskConfig>,
}

/// `motornet analyze RUN`: tuning, preferred directions and principal components of the network's activity
/// on the probe's reaches, written to `out` as figures and `analysis.json`.
pub fn analyze_run(
    dir: &std::path::Path,
    probe: &Probe,
    out: &std::path::Path,
) -> Result<(Analysis, Vec<std::path::PathBuf>), crate::Error> {
    let bins = probe.bins;
    if !(1..=64).contains(&bins) {
        return Err(crate::Error::Input(format!(
            "--bins {bins}: choose between 1 and 64"
        )));
    }
    if probe.window == Some(0) {
        return Err(crate::Error::Input(
            "--window 0: the window needs at least one step".into(),
        ));
    }
    let r = rollout_run(dir, Some(probe.episodes), probe.task.clone())?;
    let (analysis, pca) = analyze(&r, probe.window)?;
    let mut written = write_figures(&r, &analysis, &pca, out, bins)?;
    let json = serde_json::to_string_pretty(&analysis).expect("serializable");
    let path = out.join("analysis.json");
    crate::runtime::files::write_atomic(&path, json.as_bytes())
        .map_err(|e| crate::Error::Input(format!("{}: {e}", path.display())))?;
    written.push(path);
    Ok((analysis, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_tuning_recovers_known_preferred_directions() {
        let directions: Vec<f64> = (0..16).map(|k| k as f64 * PI / 8.0 - 1.0).collect();
        let truth = [(0.3, 1.2, 0.5), (-0.1, -2.0, 0.25), (1.0, 3.0, 0.0)];
        let activity: Vec<Vec<f64>> = directions
            .iter()
            .map(|&d| {
                truth
                    .iter()
                    .map(|&(b0, pd, depth)| b0 + depth * (d - pd).cos())
                    .collect()
            })
            .collect();
        let fit = cosine_tuning(&directions, &activity).unwrap();
        for (u, &(b0, pd, depth)) in fit.iter().zip(&truth) {
            assert!((u.baseline - b0).abs() < 1e-12);
            assert!((u.depth - depth).abs() < 1e-12);
            if depth > 0.0 {
                assert!((u.preferred_direction - pd).abs() < 1e-12, "{u:?}");
                assert!((u.r2 - 1.0).abs() < 1e-12 && u.tuned());
            } else {
                assert!(u.r2 == 0.0 && !u.tuned());
            }
        }
        // Two opposite directions cannot determine a cosine.
        assert!(cosine_tuning(&[0.0, PI, 0.0, PI], &vec![vec![1.0]; 4]).is_none());
    }

    #[test]
    fn concentration_tells_uniform_from_bimodal() {
        let uniform: Vec<f64> = (0..360).map(|k| (k as f64).to_radians()).collect();
        let c = concentration(&uniform);
        assert!(c.r1 < 1e-12 && c.r2 < 1e-12);
        // Two opposite modes at 30° and 210°.
        let bimodal: Vec<f64> = (0..100)
            .map(|k| {
                30f64.to_radians() + if k % 2 == 0 { 0.0 } else { PI } + 0.01 * (k as f64).sin()
            })
            .collect();
        let c = concentration(&bimodal);
        assert!(c.r1 < 0.05 && c.r2 > 0.99, "{c:?}");
        assert!(c.p_bimodal < 1e-10 && c.p_unimodal > 0.5, "{c:?}");
        // Zar's approximation against the large-sample form exp(−n r²) (n = 100, r = 0.2: Z = 4).
        assert!((rayleigh_p(100, 0.2) - (-4.0f64).exp()).abs() < 0.003);
        assert_eq!(rayleigh_p(0, 0.0), 1.0);
        assert!((c.axis - 30f64.to_radians()).abs() < 0.02, "{c:?}");
    }

    #[test]
    fn direction_bins_are_centred_on_their_directions() {
        assert_eq!(direction_bin(0.0, 8), 0);
        assert_eq!(direction_bin(-0.3, 8), 0);
        assert_eq!(direction_bin(PI / 4.0 + 0.3, 8), 1);
        assert_eq!(direction_bin(PI, 8), 4);
        assert_eq!(direction_bin(-PI / 2.0, 8), 6);
    }
}
