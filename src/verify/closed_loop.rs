//! Closed-loop references (`closed_loop/`): one training episode of MotorNet 0.3.0's tutorial — its
//! environment with delays, the GRU policy, the L1 + activation loss and autograd through the effector —
//! rerun end to end by the trainer, comparing every observation, action, hidden state, state, the loss
//! and the gradient of every network parameter.
//!
//! The run goes through the same path as `motornet train`: a [`TrainConfig`] (validated), its trainer,
//! [`Trainer::rollout`](motornet_runtime::train::Trainer::rollout) for the recorded episode and
//! [`Trainer::loss_and_gradient`](motornet_runtime::train::Trainer::loss_and_gradient) for the loss and
//! its gradient. Only the network's weights and the episodes (initial joint states, goals) come from the
//! file.

use super::*;
use crate::config::TrainConfig;
use motornet_runtime::env::EnvConfig;
use motornet_runtime::policy::Policy;
use motornet_runtime::task::Episode;
use motornet_runtime::train::{LossConfig, OptimConfig};

pub(super) const CLOSED_LOOP_FIELDS: &[&str] = &[
    "dt",
    "steps",
    "batch",
    "n_muscles",
    "dof",
    "hidden",
    "obs_dim",
    "effector",
    "environment_kwargs",
    "proprioception_delay_s",
    "vision_delay_s",
    "obs_layout",
    "muscle_names",
    "muscle_state_names",
    "muscle_l0_ce",
    "muscle_vmax",
    "pos_lower_bound",
    "pos_upper_bound",
    "activation_weight",
    "param_names",
    "params",
    "initial_joint_state",
    "goal",
    "observations",
    "actions",
    "hidden_states",
    "joint",
    "cartesian",
    "muscle",
    "loss",
    "loss_l1",
    "loss_activation",
    "grad",
];
pub(super) const CLOSED_LOOP_INFO: &[(&str, Info)] = &[
    ("case", Info::Text),
    ("seed", Info::Count),
    ("description", Info::Text),
    ("motornet_version", Info::Text),
    ("dtype", Info::Text),
    ("torch_version", Info::Text),
    ("environment", Info::Text),
    ("reset_call", Info::Text),
    ("space_dim", Info::Count),
    ("proprioception_delay_steps", Info::Count),
    ("vision_delay_steps", Info::Count),
    ("obs_rule", Info::Text),
    ("min_activation", Info::Number),
    ("loss_definition", Info::Text),
    ("policy", Info::Text),
    ("param_init", Info::Text),
    ("touched_joint_limit", Info::Flag),
    ("first_state_index_at_limit", Info::List),
    ("action_clipped", Info::Flag),
    ("fd_check", Info::Object),
    ("tolerance", Info::Text),
];
/// The `environment_kwargs` of MotorNet's `RandomTargetReach` this version reproduces.
const ENV_KWARGS: &[&str] = &[
    "max_ep_duration",
    "action_noise",
    "obs_noise",
    "proprioception_noise",
    "vision_noise",
    "proprioception_delay",
    "vision_delay",
    "action_frame_stacking",
];

/// A closed-loop reference, read and checked on its own.
struct ClosedLoopRef {
    dt: f64,
    steps: usize,
    batch: usize,
    n_muscles: usize,
    dof: usize,
    hidden: usize,
    obs_dim: usize,
    effector: String,
    env: EnvConfig,
    obs_layout: Vec<(String, usize, usize)>,
    muscle_names: Vec<String>,
    muscle_state_names: Vec<String>,
    activation_weight: f64,
    /// `(name, shape, values)` in the file's `param_names` order.
    params: Vec<(String, Vec<usize>, Vec<f64>)>,
    initial_joint_state: Vec<f64>,
    goal: Vec<f64>,
    /// Compared model constants: name and values.
    constants: Vec<(&'static str, Vec<f64>)>,
    observations: Vec<f64>,
    actions: Vec<f64>,
    hidden_states: Vec<f64>,
    joint: Vec<f64>,
    cartesian: Vec<f64>,
    /// `batch × (steps+1) × rows × n_muscles`.
    muscle: Vec<f64>,
    loss: [f64; 3],
    grad: Vec<Vec<f64>>,
}

fn read_closed_loop(doc: &Doc) -> Result<ClosedLoopRef, Error> {
    doc.only(&with_info(CLOSED_LOOP_FIELDS, CLOSED_LOOP_INFO))?;
    doc.info(CLOSED_LOOP_INFO)?;
    let dt = doc.positive("dt")?;
    let steps = doc.count("steps", 1)?;
    let batch = doc.count("batch", 1)?;
    let n_muscles = doc.count("n_muscles", 1)?;
    let dof = doc.count("dof", 1)?;
    let hidden = doc.count("hidden", 1)?;
    let obs_dim = doc.count("obs_dim", 1)?;
    let effector = match doc.get("effector")? {
        Value::String(s) => s.clone(),
        other => {
            return Err(doc.err(
                "effector",
                format!("expected a string, found {}", describe(other)),
            ))
        }
    };
    let env = read_environment(doc, dt, steps)?;
    let obs_layout = read_obs_layout(doc, obs_dim)?;
    let muscle_names = doc.strings("muscle_names", Some(n_muscles))?;
    let muscle_state_names = doc.strings("muscle_state_names", None)?;
    let activation_weight = doc.number("activation_weight")?;

    let (b, t, m, h) = (Some(batch), Some(steps), Some(n_muscles), Some(hidden));
    let t1 = Some(steps.saturating_add(1));
    let jd = Some(dof.saturating_mul(2));
    let rows = Some(muscle_state_names.len());
    let mut constants = Vec::new();
    for (field, n) in [
        ("muscle_l0_ce", m),
        ("muscle_vmax", m),
        ("pos_lower_bound", Some(dof)),
        ("pos_upper_bound", Some(dof)),
    ] {
        constants.push((field, doc.array(field, "one number each", &[n])?.0));
    }
    let (initial_joint_state, _) = doc.array("initial_joint_state", "batch × 2·dof", &[b, jd])?;
    let (goal, _) = doc.array("goal", "batch × 2", &[b, Some(2)])?;
    let (observations, _) = doc.array(
        "observations",
        "batch × (steps+1) × obs_dim",
        &[b, t1, Some(obs_dim)],
    )?;
    let (actions, _) = doc.array("actions", "batch × steps × n_muscles", &[b, t, m])?;
    let (hidden_states, _) = doc.array("hidden_states", "batch × steps × hidden", &[b, t, h])?;
    let (joint, _) = doc.array("joint", "batch × (steps+1) × 2·dof", &[b, t1, jd])?;
    let (cartesian, _) = doc.array("cartesian", "batch × (steps+1) × 4", &[b, t1, Some(4)])?;
    let (muscle, _) = doc.array(
        "muscle",
        "batch × (steps+1) × muscle states × n_muscles",
        &[b, t1, rows, m],
    )?;
    let loss = [
        doc.number("loss")?,
        doc.number("loss_l1")?,
        doc.number("loss_activation")?,
    ];

    let names = doc.strings("param_names", None)?;
    let tensors = object(doc, "params")?;
    let grads = object(doc, "grad")?;
    let list: Vec<&str> = names.iter().map(String::as_str).collect();
    tensors.only(&list)?;
    grads.only(&list)?;
    let mut params = Vec::new();
    let mut grad = Vec::new();
    for name in &names {
        let shape = shape_of(tensors.get(name)?);
        let dims: Vec<Option<usize>> = shape.iter().copied().map(Some).collect();
        let (values, _) = tensors.array(name, "a tensor in PyTorch's shape", &dims)?;
        let (g, _) = grads.array(name, "the same shape as the parameter", &dims)?;
        params.push((name.clone(), shape, values));
        grad.push(g);
    }
    Ok(ClosedLoopRef {
        dt,
        steps,
        batch,
        n_muscles,
        dof,
        hidden,
        obs_dim,
        effector,
        env,
        obs_layout,
        muscle_names,
        muscle_state_names,
        activation_weight,
        params,
        initial_joint_state,
        goal,
        constants,
        observations,
        actions,
        hidden_states,
        joint,
        cartesian,
        muscle,
        loss,
        grad,
    })
}

fn object<'a>(doc: &Doc<'a>, field: &str) -> Result<Doc<'a>, Error> {
    match doc.get(field)? {
        Value::Object(obj) => Ok(Doc {
            file: doc.file,
            prefix: format!("{}{field}.", doc.prefix),
            obj,
        }),
        other => Err(doc.err(
            field,
            format!(
                "expected an object of tensors by name, found {}",
                describe(other)
            ),
        )),
    }
}

/// The environment's settings: delays, episode length and frame stacking from `environment_kwargs`
/// (MotorNet's constructor arguments), which must agree with `proprioception_delay_s`, `vision_delay_s`
/// and `steps · dt`. Noise cannot be replayed, so every noise argument must be 0.
fn read_environment(doc: &Doc, dt: f64, steps: usize) -> Result<EnvConfig, Error> {
    let kwargs = match doc.get("environment_kwargs")? {
        Value::Object(obj) => Doc {
            file: doc.file,
            prefix: "environment_kwargs.".into(),
            obj,
        },
        other => {
            return Err(doc.err(
                "environment_kwargs",
                format!(
                    "expected an object of MotorNet environment arguments, found {}",
                    describe(other)
                ),
            ))
        }
    };
    kwargs.only(ENV_KWARGS)?;
    for noise in [
        "action_noise",
        "obs_noise",
        "proprioception_noise",
        "vision_noise",
    ] {
        if kwargs.obj.contains_key(noise) && kwargs.number(noise)? != 0.0 {
            return Err(kwargs.err(
                noise,
                "a closed-loop reference must be noise-free: noise drawn by MotorNet's generator \
                 cannot be replayed",
            ));
        }
    }
    let duration = kwargs.positive("max_ep_duration")?;
    if (duration / dt - steps as f64).abs() > 1e-6 {
        return Err(kwargs.err(
            "max_ep_duration",
            format!("{duration} s is not `steps` ({steps}) × `dt` ({dt} s)"),
        ));
    }
    let mut delays = [0.0; 2];
    for (k, (arg, field)) in [
        ("proprioception_delay", "proprioception_delay_s"),
        ("vision_delay", "vision_delay_s"),
    ]
    .into_iter()
    .enumerate()
    {
        let seconds = doc.number(field)?;
        // MotorNet's `None` (the default) means one time step.
        let given = match kwargs.obj.get(arg) {
            None | Some(Value::Null) => dt,
            Some(_) => kwargs.number(arg)?,
        };
        if (given - seconds).abs() > 1e-12 * seconds.abs().max(dt) {
            return Err(doc.err(
                field,
                format!("{seconds} s, but `environment_kwargs.{arg}` is {given} s"),
            ));
        }
        delays[k] = seconds;
    }
    let stacking = if kwargs.obj.contains_key("action_frame_stacking") {
        kwargs.count("action_frame_stacking", 0)?
    } else {
        0
    };
    Ok(EnvConfig {
        episode_duration: steps as f64 * dt,
        proprioception_delay: delays[0],
        vision_delay: delays[1],
        action_frame_stacking: stacking,
        ..EnvConfig::default()
    })
}

/// `obs_layout`: `[start, end)` columns of each observed quantity, in MotorNet's names.
fn read_obs_layout(doc: &Doc, obs_dim: usize) -> Result<Vec<(String, usize, usize)>, Error> {
    let layout = object(doc, "obs_layout")?;
    let mut out = Vec::new();
    for name in layout.obj.keys() {
        let (v, _) = layout.array(name, "[start, end) columns", &[Some(2)])?;
        let (start, end) = (v[0], v[1]);
        let whole = |x: f64| x >= 0.0 && x.fract() == 0.0 && x <= obs_dim as f64;
        if !(whole(start) && whole(end) && start <= end) {
            return Err(layout.err(
                name,
                format!("[{start}, {end}) is not a column range within the {obs_dim} observation columns"),
            ));
        }
        out.push((name.clone(), start as usize, end as usize));
    }
    Ok(out)
}

/// The built-in model of a MotorNet effector, from the reference's `effector` description.
fn model_for_effector(effector: &str) -> Option<&'static str> {
    let has = |s: &str| effector.contains(s);
    Some(if has("ReluPointMass24") {
        "pointmass24_relu"
    } else if has("CompliantTendonArm26") {
        "arm26_compliant"
    } else if has("RigidTendonArm26") && has("MujocoHillMuscle") {
        "arm26_rigid_mujoco"
    } else if has("RigidTendonArm26") && has("Thelen") {
        "arm26_rigid_thelen"
    } else if has("RigidTendonArm26") {
        "arm26"
    } else {
        return None;
    })
}

/// Reads the observation columns our environment gives each quantity MotorNet names, or says which one
/// differs.
fn check_obs_layout(file: &str, r: &ClosedLoopRef, m: usize) -> Result<(), Error> {
    let ours = |name: &str| -> Option<(usize, usize)> {
        Some(match name {
            "goal" => (0, 2),
            "vision" => (2, 4),
            "proprioception_length" => (4, 4 + m),
            "proprioception_velocity" => (4 + m, 4 + 2 * m),
            "action" | "actions" => (4 + 2 * m, 4 + 2 * m + r.env.action_frame_stacking * m),
            _ => return None,
        })
    };
    for (name, start, end) in &r.obs_layout {
        match ours(name) {
            Some(range) if range == (*start, *end) => {}
            Some((s, e)) => {
                return Err(Error::Input(format!(
                    "{file}: `obs_layout.{}` is columns [{start}, {end}), but this version observes it in \
                     [{s}, {e})",
                    short(name)
                )))
            }
            None => {
                return Err(Error::Input(format!(
                    "{file}: `obs_layout.{}`: an observed quantity this version does not know (it has goal, \
                     vision, proprioception_length, proprioception_velocity, action)",
                    short(name)
                )))
            }
        }
    }
    Ok(())
}

pub(super) fn check_closed_loop(doc: &Doc) -> Result<(), Error> {
    read_closed_loop(doc).map(|_| ())
}

/// Runs a closed-loop reference on `spec` (a model name or file; by default the built-in model of the
/// file's `effector`) and compares every field.
pub(super) fn verify_closed_loop(
    file: &str,
    reference: &Value,
    opts: &Options,
) -> Result<CaseReport, Error> {
    let r = read_closed_loop(&top(file, reference)?)?;
    let spec = match &opts.model {
        Some(m) => m.clone(),
        None => model_for_effector(&r.effector)
            .ok_or_else(|| {
                Error::Input(format!(
                    "{file}: no built-in model for the effector `{}`; choose one with --model",
                    short(&r.effector)
                ))
            })?
            .to_string(),
    };
    let config = TrainConfig {
        model: spec.clone(),
        interpreted: opts.interpreted,
        env: r.env.clone(),
        loss: LossConfig {
            position: 1.0,
            position_norm: "l1".into(),
            activation: r.activation_weight,
            ..LossConfig::default()
        },
        optim: OptimConfig {
            hidden: r.hidden,
            batch_size: r.batch,
            threads: 1,
            ..OptimConfig::default()
        },
        ..TrainConfig::default()
    };
    if opts.jit {
        return Err(Error::Input(format!(
            "{file}: closed-loop references run the trainer, which runs a built-in model compiled (or, \
             with --interpreted, interpreted; a model file given with --model runs on the JIT): --jit \
             applies to the other kinds of reference"
        )));
    }
    let (_, backend) = crate::models::load(&spec, opts.interpreted)?;
    let mut trainer = config
        .trainer()
        .map_err(|e| Error::Input(format!("{file}: the model `{spec}`: {e}")))?;

    // The model must be the reference's.
    let info = trainer.plant().info().clone();
    let (m, dof) = (info.n_muscles(), info.dof());
    if r.n_muscles != m {
        return Err(model_mismatch(file, "n_muscles", r.n_muscles, m, "muscles"));
    }
    if r.dof != dof {
        return Err(model_mismatch(
            file,
            "dof",
            r.dof,
            dof,
            "degrees of freedom",
        ));
    }
    if (r.dt - trainer.timestep()).abs() > 1e-12 * r.dt {
        return Err(Error::Input(format!(
            "{file}: `dt`: the reference uses dt = {}, the model {}",
            r.dt,
            trainer.timestep()
        )));
    }
    if let Some(i) = (0..m).find(|&i| r.muscle_names[i] != info.muscle_names[i]) {
        return Err(Error::Input(format!(
            "{file}: `muscle_names`: muscle {i} is `{}` in the reference but `{}` in the model",
            short(&r.muscle_names[i]),
            info.muscle_names[i]
        )));
    }
    let rows: Vec<usize> = r
        .muscle_state_names
        .iter()
        .map(|name| {
            info.muscle_state_names.iter().position(|n| n == name).ok_or_else(|| {
                Error::Input(format!(
                    "{file}: `muscle_state_names`: the model's muscles have no `{}` state (they have {})",
                    short(name),
                    info.muscle_state_names.join(", ")
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if r.obs_dim != trainer.obs_dim() {
        return Err(model_mismatch(
            file,
            "obs_dim",
            r.obs_dim,
            trainer.obs_dim(),
            "observation columns",
        ));
    }
    check_obs_layout(file, &r, m)?;

    // The network's weights, by name.
    let tensors = trainer.policy.tensors();
    let ours: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    let theirs: Vec<&str> = r.params.iter().map(|p| p.0.as_str()).collect();
    if ours.iter().any(|n| !theirs.contains(n)) || theirs.len() != ours.len() {
        return Err(Error::Input(format!(
            "{file}: `param_names` are {}, but the GRU policy of {} hidden units has {}",
            theirs.join(", "),
            r.hidden,
            ours.join(", ")
        )));
    }
    for t in &tensors {
        let (_, shape, values) = r.params.iter().find(|p| p.0 == t.name).expect("checked");
        if *shape != t.shape {
            return Err(Error::Input(format!(
                "{file}: `params.{}` has shape {shape:?}, the policy's is {:?}",
                t.name, t.shape
            )));
        }
        trainer.policy.params_mut()[t.range()].copy_from_slice(values);
    }

    let (batch, steps) = (r.batch, r.steps);
    let jd = 2 * dof;
    let episodes: Vec<Episode> = (0..batch)
        .map(|b| Episode {
            joint0: r.initial_joint_state[b * jd..(b + 1) * jd].to_vec(),
            start: [0.0; 3], // only read before a go cue, and there is none
            target: [r.goal[2 * b], r.goal[2 * b + 1], 0.0],
            go_step: None,
            events: Vec::new(),
        })
        .collect();
    let run = trainer.rollout(&episodes)?;
    let (stats, grads) = trainer.loss_and_gradient(&episodes, 0, true)?;

    let mut fields = Vec::new();
    let mut compare = |field: &str,
                       reference: &[f64],
                       ours: &dyn Fn(usize) -> f64,
                       at: &dyn Fn(usize) -> String| {
        fields.push(compare_values(field, reference, ours, at));
    };
    // Model constants.
    let norms = trainer.plant().muscle_normalizers().to_vec();
    let bounds = trainer.plant().bounds().to_vec();
    for (field, values) in &r.constants {
        let ours = |i: usize| match *field {
            "muscle_l0_ce" => norms[i][0],
            "muscle_vmax" => norms[i][1],
            "pos_lower_bound" => bounds[i].lower,
            _ => bounds[i].upper,
        };
        compare(field, values, &ours, &|i| format!("index {i}"));
    }
    let o = r.obs_dim;
    compare(
        "observations",
        &r.observations,
        &|i| run.observation(i / o % (steps + 1), i / o / (steps + 1))[i % o],
        &|i| {
            format!(
                "batch {}, step {}, column {}",
                i / o / (steps + 1),
                i / o % (steps + 1),
                i % o
            )
        },
    );
    compare(
        "actions",
        &r.actions,
        &|i| run.action(i / m % steps, i / m / steps)[i % m],
        &|i| {
            format!(
                "batch {}, step {}, muscle {}",
                i / m / steps,
                i / m % steps,
                info.muscle_names[i % m]
            )
        },
    );
    let h = r.hidden;
    compare(
        "hidden_states",
        &r.hidden_states,
        &|i| run.hidden(i / h % steps + 1, i / h / steps)[i % h],
        &|i| {
            format!(
                "batch {}, step {}, unit {}",
                i / h / steps,
                i / h % steps,
                i % h
            )
        },
    );
    let joint_at = info.joint().start;
    let cart_at = info.cartesian().start;
    let muscle_at = info.muscle().start;
    for (field, values, width, at) in [
        ("joint", &r.joint, jd, joint_at),
        ("cartesian", &r.cartesian, 4, cart_at),
    ] {
        compare(
            field,
            values,
            &|i| run.state(i / width % (steps + 1), i / width / (steps + 1))[at + i % width],
            &|i| {
                format!(
                    "batch {}, step {}, component {}",
                    i / width / (steps + 1),
                    i / width % (steps + 1),
                    i % width
                )
            },
        );
    }
    let per_step = rows.len() * m;
    compare(
        "muscle",
        &r.muscle,
        &|i| {
            let (t, b) = (i / per_step % (steps + 1), i / per_step / (steps + 1));
            let (row, k) = (i % per_step / m, i % m);
            run.state(t, b)[muscle_at + rows[row] * m + k]
        },
        &|i| {
            let (t, b) = (i / per_step % (steps + 1), i / per_step / (steps + 1));
            let (row, k) = (i % per_step / m, i % m);
            format!(
                "batch {b}, step {t}, {} of {}",
                r.muscle_state_names[row], info.muscle_names[k]
            )
        },
    );
    let term = |name: &str| {
        stats
            .terms
            .iter()
            .find(|t| t.0 == name)
            .map_or(0.0, |t| t.1)
    };
    let activation = if r.activation_weight == 0.0 {
        f64::NAN // not computed: the reference's value cannot be checked without its weight
    } else {
        term("activation") / r.activation_weight
    };
    for (field, reference, ours) in [
        ("loss", r.loss[0], stats.loss),
        ("loss_l1", r.loss[1], term("position")),
        ("loss_activation", r.loss[2], activation),
    ] {
        compare(field, &[reference], &|_| ours, &|_| String::new());
    }
    for ((name, shape, _), expected) in r.params.iter().zip(&r.grad) {
        let t = tensors.iter().find(|t| t.name == *name).expect("checked");
        let g = &grads[t.range()];
        let cols = shape.get(1).copied().unwrap_or(1).max(1);
        compare(&format!("grad.{name}"), expected, &|i| g[i], &|i| {
            if shape.len() == 2 {
                format!("[{}, {}]", i / cols, i % cols)
            } else {
                format!("[{i}]")
            }
        });
    }
    Ok(CaseReport {
        case: file.to_string(),
        model: format!("{spec} ({}) + GRU {}", backend.name(), r.hidden),
        fields,
    })
}
