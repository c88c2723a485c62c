//! Training runs: the configuration file, the run directory, periodic evaluation, checkpoints, resuming,
//! and the plots — everything `motornet train` and `motornet eval` do, usable from Rust as well.
//!
//! A run directory holds `config.toml` (the fully resolved configuration), `log.csv` (one row per batch),
//! `checkpoint.safetensors` (the latest weights and optimizer state), `summary.json` (time per batch and
//! the evaluation metric over training) and `plots/`. Every file is written atomically, so an interruption
//! never leaves a half-written file and never loses what was saved before.

pub use crate::config::{RunConfig, TaskConfig, TrainConfig};
use crate::runtime::policy::checkpoint;
use crate::runtime::policy::{Network, Policy};
use crate::runtime::task::endpoint_speed;
use crate::runtime::train::{Evaluation, Trainer};
use crate::trajectory::write_atomic;
use crate::{Error, Plant};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One evaluation during training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    pub batch: u64,
    /// Wall-clock seconds of training so far (excluding evaluations).
    pub wall_seconds: f64,
    /// Mean endpoint-to-target distance over the final steps, metres.
    pub metric: f64,
}

/// `summary.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub model: String,
    pub task: String,
    pub threads: usize,
    pub batch_size: usize,
    pub hidden: usize,
    /// The network ([`crate::runtime::policy::Network::describe`]: kind, layers and sizes).
    #[serde(default)]
    pub policy: String,
    pub batches_done: u64,
    /// Mean wall-clock milliseconds per training batch (excluding evaluations and I/O).
    pub ms_per_batch: f64,
    pub train_seconds: f64,
    pub evaluations: Vec<EvalPoint>,
    /// Training seconds until the metric first reached 0.7 cm, if it did.
    pub seconds_to_0_7cm: Option<f64>,
    /// The latest evaluation metric, measured after `final_metric_batch` batches (an interrupted run
    /// stops between evaluations, so this can be earlier than `batches_done`).
    pub final_metric: Option<f64>,
    #[serde(default)]
    pub final_metric_batch: Option<u64>,
}

impl Summary {
    /// Sets `final_metric` (and its batch) from the latest evaluation.
    fn set_final_metric(&mut self) {
        let last = self.evaluations.last();
        self.final_metric = last.map(|e| e.metric);
        self.final_metric_batch = last.map(|e| e.batch);
    }
}

/// A row of `log.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRow {
    pub batch: u64,
    pub loss: f64,
    pub grad_norm: f64,
    pub wall_seconds: f64,
}

/// Paths of a run directory.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn config(&self) -> PathBuf {
        self.0.join("config.toml")
    }
    pub fn log(&self) -> PathBuf {
        self.0.join("log.csv")
    }
    pub fn checkpoint(&self) -> PathBuf {
        self.0.join("checkpoint.safetensors")
    }
    pub fn summary(&self) -> PathBuf {
        self.0.join("summary.json")
    }
    pub fn plots(&self) -> PathBuf {
        self.0.join("plots")
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Input(format!("{}: {e}", path.display()))
}

fn write_text(path: &Path, text: &str) -> Result<(), Error> {
    write_atomic(path, text.as_bytes()).map_err(|e| io(path, e))
}

fn log_csv(rows: &[LogRow]) -> String {
    let mut s = String::from("batch,loss,grad_norm,wall_seconds\n");
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{}\n",
            r.batch, r.loss, r.grad_norm, r.wall_seconds
        ));
    }
    s
}

fn read_log(path: &Path) -> Result<Vec<LogRow>, Error> {
    let text = crate::input::read_text(path, "log", crate::input::MAX_DATA_BYTES)?;
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
            match (num(0), num(1), num(2), num(3)) {
                (Some(b), Some(loss), Some(g), Some(w)) => Ok(LogRow {
                    batch: b as u64,
                    loss,
                    grad_norm: g,
                    wall_seconds: w,
                }),
                _ => Err(Error::Input(format!(
                    "{}: malformed row `{l}`",
                    path.display()
                ))),
            }
        })
        .collect()
}

/// Removes the temporary files an interrupted atomic write can leave in a run directory (`.NAME.tmpPID`;
/// see [`write_atomic`]).
fn remove_stale_temporaries(dir: &Path) {
    for d in [dir.to_path_buf(), dir.join("plots")] {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if crate::runtime::files::is_temporary(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn read_summary(path: &Path) -> Result<Summary, Error> {
    let text = crate::input::read_text(path, "summary", crate::input::MAX_DATA_BYTES)?;
    serde_json::from_str(&text).map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// Callbacks for progress reporting and interruption.
pub struct Hooks<'a> {
    /// Called after every batch with (batch, batches, loss, latest metric).
    pub progress: &'a mut dyn FnMut(u64, u64, f64, Option<f64>),
    /// Returns true when the run should save and stop (e.g. after Ctrl-C).
    pub interrupted: &'a dyn Fn() -> bool,
}

/// How a call to [`train`] ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Finished,
    /// Stopped early: the target metric was reached.
    ReachedTarget,
    /// Interrupted after saving a checkpoint at this batch.
    Interrupted(u64),
}

/// The fixed evaluation episodes of a configuration (the same in every run with this seed).
pub fn eval_episodes(
    trainer: &Trainer<Box<dyn Plant>>,
    cfg: &TrainConfig,
) -> Vec<crate::runtime::task::Episode> {
    // Evaluation episodes come from a batch index no training batch uses.
    trainer.episodes(u64::MAX, cfg.run.eval_episodes)
}

/// Trains in `dir` (created, or resumed from its checkpoint when `resume`). Evaluates, logs, checkpoints
/// and plots as configured.
pub fn train(
    dir: &Path,
    cfg: &TrainConfig,
    resume: bool,
    hooks: Hooks,
) -> Result<(Outcome, Summary), Error> {
    let run = RunDir(dir.to_path_buf());
    let mut trainer = cfg.trainer()?;
    std::fs::create_dir_all(&run.0).map_err(|e| io(&run.0, e))?;
    let eval = eval_episodes(&trainer, cfg);
    let mut log: Vec<LogRow> = Vec::new();
    let mut summary = Summary {
        model: cfg.model.clone(),
        task: cfg.task.build().name(),
        threads: cfg.optim.threads,
        batch_size: cfg.optim.batch_size,
        hidden: cfg.optim.hidden,
        policy: trainer.policy.describe(),
        ..Summary::default()
    };
    let mut start = 0u64;
    remove_stale_temporaries(&run.0);
    if resume {
        let (net, adam, meta) = checkpoint::load(&run.checkpoint())?;
        let done: u64 = meta
            .iter()
            .find(|(k, _)| k == "batches_done")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| {
                Error::Input(format!(
                    "{}: no `batches_done` in the checkpoint",
                    run.checkpoint().display()
                ))
            })?;
        check_network(&net, &trainer.policy)?;
        trainer.policy = net;
        let adam = adam.ok_or_else(|| {
            Error::Input("the checkpoint has no optimizer state to resume from".into())
        })?;
        trainer.adam = crate::runtime::adam::Adam::with_state(cfg.optim.learning_rate, adam);
        log = read_log(&run.log())?
            .into_iter()
            .filter(|r| r.batch < done)
            .collect();
        if let Some(gap) = (0..done).zip(&log).find(|(b, r)| r.batch != *b) {
            return Err(Error::Input(format!(
                "{}: expected the row of batch {} but found batch {}; the log does not match the checkpoint",
                run.log().display(),
                gap.0,
                gap.1.batch
            )));
        }
        if (log.len() as u64) < done {
            return Err(Error::Input(format!(
                "{}: has rows for {} batches but the checkpoint was saved after {done}; the log does not match the checkpoint",
                run.log().display(),
                log.len()
            )));
        }
        let saved = read_summary(&run.summary())?;
        summary.evaluations = saved
            .evaluations
            .into_iter()
            .filter(|e| e.batch <= done)
            .collect();
        summary.train_seconds = log.last().map_or(0.0, |r| r.wall_seconds);
        summary.batches_done = done;
        summary.ms_per_batch = 1e3 * summary.train_seconds / done.max(1) as f64;
        summary.seconds_to_0_7cm = summary
            .evaluations
            .iter()
            .find(|e| e.metric <= 0.007)
            .map(|e| e.wall_seconds);
        start = done;
    }
    // On resume this records the extended batch count or a changed thread count.
    write_text(&run.config(), &cfg.to_toml())?;
    let save = |trainer: &Trainer<Box<dyn Plant>>,
                summary: &Summary,
                log: &[LogRow],
                done: u64|
     -> Result<(), Error> {
        let meta = vec![
            ("batches_done".to_string(), done.to_string()),
            ("model".to_string(), cfg.model.clone()),
            ("format".to_string(), format_note(&trainer.policy)),
        ];
        // The checkpoint is written last: it is the commit point. A crash between these writes leaves the
        // log and summary ahead of the checkpoint, and resuming cuts them back to it.
        write_text(&run.log(), &log_csv(log))?;
        write_text(
            &run.summary(),
            &serde_json::to_string_pretty(summary).expect("json"),
        )?;
        crate::runtime::files::fault_point("between summary and checkpoint");
        checkpoint::save(
            &run.checkpoint(),
            &trainer.policy,
            Some(&trainer.adam.state),
            &meta,
        )
    };
    // Batches done at the last checkpoint written (or found, when resuming).
    let mut saved = resume.then_some(start);
    let intact = |saved: Option<u64>| match saved {
        Some(n) => format!("the checkpoint saved after {n} batches is left as it was"),
        None => "no checkpoint had been saved yet".to_string(),
    };
    let mut clock = summary.train_seconds;
    let mut outcome = Outcome::Finished;
    let mut latest = summary.evaluations.last().map(|e| e.metric);
    let evaluate = |trainer: &mut Trainer<Box<dyn Plant>>,
                    summary: &mut Summary,
                    batch: u64,
                    clock: f64|
     -> Result<f64, Error> {
        let ev = trainer.evaluate(&eval, cfg.run.eval_last_steps)?;
        summary.evaluations.push(EvalPoint {
            batch,
            wall_seconds: clock,
            metric: ev.metric,
        });
        if ev.metric <= 0.007 && summary.seconds_to_0_7cm.is_none() {
            summary.seconds_to_0_7cm = Some(clock);
        }
        Ok(ev.metric)
    };
    if start == 0 && summary.evaluations.is_empty() {
        let m = evaluate(&mut trainer, &mut summary, 0, 0.0)
            .map_err(|e| Error::Input(format!("evaluation before training: {e}")))?;
        latest = Some(m);
    }
    for batch in start..cfg.run.batches {
        let t = Instant::now();
        let stats = match trainer.train_batch(batch) {
            Ok(s) => s,
            Err(e) => {
                // The last good checkpoint stays as it is (`e` names the batch).
                return Err(Error::Input(format!(
                    "training stopped: {e}; {}",
                    intact(saved)
                )));
            }
        };
        clock += t.elapsed().as_secs_f64();
        log.push(LogRow {
            batch,
            loss: stats.loss,
            grad_norm: stats.grad_norm,
            wall_seconds: clock,
        });
        let done = batch + 1;
        summary.batches_done = done;
        summary.train_seconds = clock;
        summary.ms_per_batch = 1e3 * clock / done as f64;
        let eval_now = done % cfg.run.eval_every.max(1) == 0 || done == cfg.run.batches;
        if eval_now {
            let m = evaluate(&mut trainer, &mut summary, done, clock).map_err(|e| {
                Error::Input(format!(
                    "evaluation after {done} batches: {e}; {}",
                    intact(saved)
                ))
            })?;
            latest = Some(m);
            if cfg.run.target_metric > 0.0 && m <= cfg.run.target_metric {
                outcome = Outcome::ReachedTarget;
            }
        }
        (hooks.progress)(done, cfg.run.batches, stats.loss, latest);
        let interrupted = (hooks.interrupted)();
        if interrupted {
            outcome = Outcome::Interrupted(done);
        }
        if done % cfg.run.checkpoint_every.max(1) == 0
            || done == cfg.run.batches
            || outcome != Outcome::Finished
        {
            summary.set_final_metric();
            save(&trainer, &summary, &log, done)?;
            saved = Some(done);
        }
        if outcome != Outcome::Finished {
            break;
        }
    }
    summary.set_final_metric();
    save(&trainer, &summary, &log, summary.batches_done.max(start))?;
    let ev = trainer.evaluate(&eval, cfg.run.eval_last_steps)?;
    write_plots(&run, cfg, &trainer, &ev, &summary, &log)?;
    Ok((outcome, summary))
}

/// Reruns a run's latest checkpoint deterministically on the evaluation episodes and regenerates its plots.
pub fn evaluate_run(dir: &Path) -> Result<(f64, Summary), Error> {
    let run = RunDir(dir.to_path_buf());
    let (cfg, mut trainer) = load_run(dir)?;
    let eval = eval_episodes(&trainer, &cfg);
    let ev = trainer.evaluate(&eval, cfg.run.eval_last_steps)?;
    // A run interrupted before its first save has no summary or log yet; a damaged one is an error.
    let summary = match run.summary().exists() {
        true => read_summary(&run.summary())?,
        false => Summary::default(),
    };
    let log = match run.log().exists() {
        true => read_log(&run.log())?,
        false => Vec::new(),
    };
    write_plots(&run, &cfg, &trainer, &ev, &summary, &log)?;
    Ok((ev.metric, summary))
}

/// A run directory's configuration and a trainer holding its checkpoint's network.
pub fn load_run(dir: &Path) -> Result<(TrainConfig, Trainer<Box<dyn Plant>>), Error> {
    let run = RunDir(dir.to_path_buf());
    let text = crate::input::read_text(
        &run.config(),
        "configuration",
        crate::input::MAX_CONFIG_BYTES,
    )?;
    let cfg = TrainConfig::from_toml(&text)?;
    let mut trainer = cfg.trainer()?;
    let (net, _, _) = checkpoint::load(&run.checkpoint())?;
    check_network(&net, &trainer.policy)?;
    trainer.policy = net;
    Ok((cfg, trainer))
}

/// The checkpoint's `format` note: what the network is and which torch module its names belong to.
fn format_note(net: &Network) -> String {
    match net {
        // The one-layer GRU's note predates the other networks; keep it as it was.
        Network::Gru(_) => {
            "motornet GRU policy; PyTorch nn.GRU + nn.Linear state_dict names".to_string()
        }
        Network::Layered(_) => format!(
            "motornet {} policy; PyTorch multi-layer module + nn.Linear state_dict names",
            net.kind()
        ),
        Network::Modular(_) => {
            "motornet modular_gru policy; MotorNet ModularPolicyGRU state_dict names".to_string()
        }
    }
}

/// Refuses a checkpoint whose network is not the one the configuration builds (kind, layers, sizes and,
/// for the modular GRU, masks and delays).
fn check_network(saved: &Network, configured: &Network) -> Result<(), Error> {
    if saved.spec() != configured.spec() || saved.sizes() != configured.sizes() {
        return Err(Error::Input(format!(
            "the checkpoint's network ({}) does not match the configuration ({})",
            saved.describe(),
            configured.describe()
        )));
    }
    Ok(())
}

fn write_plots(
    run: &RunDir,
    cfg: &TrainConfig,
    trainer: &Trainer<Box<dyn Plant>>,
    ev: &Evaluation,
    summary: &Summary,
    log: &[LogRow],
) -> Result<(), Error> {
    let dir = run.plots();
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let err = |e: crate::plots::PlotError| Error::Input(format!("plotting: {e}"));
    let loss: Vec<(f64, f64)> = log.iter().map(|r| (r.batch as f64 + 1.0, r.loss)).collect();
    let metric: Vec<(f64, f64)> = summary
        .evaluations
        .iter()
        .map(|e| (e.batch as f64, e.metric))
        .collect();
    crate::plots::plot_loss(
        &dir,
        "loss",
        "Training",
        &[("loss", &loss), ("evaluation metric (m)", &metric)],
        true,
    )
    .map_err(err)?;
    let shown = ev.paths.len().min(16);
    let eps = trainer.episodes(u64::MAX, shown);
    if trainer.plant().info().space_dim == 3 {
        let paths: Vec<Vec<[f64; 3]>> = ev.paths[..shown]
            .iter()
            .map(|p| p.iter().map(|s| [s[0], s[1], s[2]]).collect())
            .collect();
        let targets: Vec<[f64; 3]> = eps.iter().map(|e| e.target).collect();
        let starts: Vec<[f64; 3]> = paths.iter().map(|p| p[0]).collect();
        crate::plots::plot_reaches_3d(
            &dir,
            "reaches",
            "Evaluation reaches",
            &paths,
            &targets,
            &starts,
        )
        .map_err(err)?;
    } else {
        let paths: Vec<Vec<[f64; 2]>> = ev.paths[..shown]
            .iter()
            .map(|p| p.iter().map(|s| [s[0], s[1]]).collect())
            .collect();
        let targets: Vec<[f64; 2]> = eps.iter().map(|e| [e.target[0], e.target[1]]).collect();
        let starts: Vec<[f64; 2]> = paths.iter().map(|p| p[0]).collect();
        crate::plots::plot_reaches(
            &dir,
            "reaches",
            "Evaluation reaches",
            &paths,
            &targets,
            &starts,
        )
        .map_err(err)?;
    }
    let speeds: Vec<Vec<f64>> = ev.paths[..shown]
        .iter()
        .map(|p| p.iter().map(endpoint_speed).collect())
        .collect();
    let dt = trainer.timestep();
    crate::plots::plot_speed(&dir, "speed", "Endpoint speed", dt, &speeds).map_err(err)?;
    let names = trainer.muscle_names();
    crate::plots::plot_activations(
        &dir,
        "activations",
        "Muscle activations",
        dt,
        &names,
        &ev.activations,
        8,
    )
    .map_err(err)?;
    // Joint angles and muscle forces of the first reaches, from a rerun of those episodes with the same
    // policy (deterministic, so the same reaches).
    let shown = shown.min(8);
    if shown > 0 {
        let st = evaluation_states(cfg, trainer, &eps[..shown])?;
        let joints = crate::plots::TimeCourses {
            title: "Joint angles",
            dt,
            names: &st.coord_names,
            y_desc: "position (rad or m)",
            values: &st.joints,
            max_series: shown,
            note: None,
        };
        crate::plots::plot_time_courses(&dir, "joints", &joints).map_err(err)?;
        let forces = crate::plots::TimeCourses {
            title: "Muscle forces",
            y_desc: "force (N)",
            names: &st.muscle_names,
            values: &st.forces,
            ..joints
        };
        crate::plots::plot_time_courses(&dir, "forces", &forces).map_err(err)?;
    }
    Ok(())
}

/// The joint positions and muscle forces of episodes run with a trainer's policy (see
/// [`evaluation_states`]).
#[derive(Clone, Debug, Default)]
pub struct EvalStates {
    /// `[episode][step][coordinate]`, steps `0..=T`.
    pub joints: Vec<Vec<Vec<f64>>>,
    /// `[episode][step][muscle]`: the muscle model's force row (N).
    pub forces: Vec<Vec<Vec<f64>>>,
    pub coord_names: Vec<String>,
    pub muscle_names: Vec<String>,
}

/// Runs `episodes` deterministically with the trainer's policy (as [`Trainer::evaluate`] does, so the
/// same movements) and keeps their joint positions and muscle forces, which `motornet eval` plots.
pub fn evaluation_states(
    cfg: &TrainConfig,
    trainer: &Trainer<Box<dyn Plant>>,
    episodes: &[crate::runtime::task::Episode],
) -> Result<EvalStates, Error> {
    use crate::runtime::policy::Policy;
    let mut env =
        crate::runtime::env::Environment::new(cfg.plant()?, cfg.build_task(), cfg.env.clone())?;
    let info = env.plant.info().clone();
    let n = episodes.len();
    let policy = &trainer.policy;
    let mut tape = policy.tape(n, env.steps);
    policy.reset(&mut tape);
    let mut run = crate::runtime::env::Batch::default();
    let mut rngs: Vec<_> = (0..n as u64)
        .map(|b| crate::runtime::train::episode_rng(0, 0, b))
        .collect();
    env.run(
        episodes.to_vec(),
        &mut rngs,
        true,
        &mut run,
        |t, obs, actions| {
            let x = crate::runtime::ndarray::ArrayView2::from_shape((n, obs.len() / n), obs)
                .expect("one observation row per episode");
            let u = policy.step(&mut tape, t, x, None);
            actions.copy_from_slice(u.as_slice().expect("contiguous"));
        },
    )?;
    let (s, dof, m) = (info.state_dim(), info.dof(), info.n_muscles());
    let force_row = info.muscle_state_names.len().saturating_sub(1);
    let musc = info.muscle().start + force_row * m;
    let mut joints = Vec::new();
    let mut forces = Vec::new();
    for b in 0..n {
        let at = |t: usize| &run.states[(t * n + b) * s..(t * n + b + 1) * s];
        joints.push((0..=run.steps).map(|t| at(t)[..dof].to_vec()).collect());
        forces.push(
            (0..=run.steps)
                .map(|t| at(t)[musc..musc + m].to_vec())
                .collect(),
        );
    }
    Ok(EvalStates {
        joints,
        forces,
        coord_names: info.coord_names.clone(),
        muscle_names: info.muscle_names.clone(),
    })
}
