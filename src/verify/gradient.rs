//! Gradient references (MotorNet + PyTorch autograd): the loss and ∂loss/∂excitation.

use super::*;

pub(super) const GRADIENT_FIELDS: &[&str] = &[
    "steps",
    "batch",
    "dt",
    "initial_joint_state",
    "actions_t_b_m",
    "w_joint_t_b",
    "w_cart_t_b",
    "loss",
    "grad_actions_t_b_m",
];
pub(super) const GRADIENT_INFO: &[(&str, Info)] = &[
    ("case", Info::Text),
    ("seed", Info::Count),
    ("description", Info::Text),
    ("loss_definition", Info::Text),
    ("touched_joint_limit", Info::Flag),
];

pub(super) struct GradientRef {
    pub(super) steps: usize,
    pub(super) batch: usize,
    pub(super) dt: f64,
    pub(super) joint_dim: usize,
    pub(super) n_muscles: usize,
    pub(super) initial_joint_state: Vec<f64>,
    pub(super) actions: Vec<f64>,
    pub(super) w_joint: Vec<f64>,
    pub(super) w_cart: Vec<f64>,
    pub(super) loss: f64,
    pub(super) expected: Vec<f64>,
}

pub(super) fn read_gradient(doc: &Doc) -> Result<GradientRef, Error> {
    doc.only(&with_info(GRADIENT_FIELDS, GRADIENT_INFO))?;
    doc.info(GRADIENT_INFO)?;
    let steps = doc.count("steps", 1)?;
    let batch = doc.count("batch", 1)?;
    let dt = doc.positive("dt")?;
    let (t, b) = (Some(steps), Some(batch));
    let (initial_joint_state, shape) =
        doc.array("initial_joint_state", "batch × 2·dof", &[b, None])?;
    let joint_dim = shape[1];
    if joint_dim == 0 || joint_dim % 2 != 0 {
        return Err(doc.err(
            "initial_joint_state",
            format!("expected batch × 2·dof numbers (positions and velocities), found {joint_dim} per effector"),
        ));
    }
    let (actions, shape) = doc.array("actions_t_b_m", "steps × batch × muscles", &[t, b, None])?;
    let n_muscles = shape[2];
    let m = Some(n_muscles);
    let (w_joint, _) = doc.array(
        "w_joint_t_b",
        "steps × batch × 2·dof",
        &[t, b, Some(joint_dim)],
    )?;
    let (w_cart, _) = doc.array("w_cart_t_b", "steps × batch × 4", &[t, b, Some(4)])?;
    let (expected, _) = doc.array("grad_actions_t_b_m", "steps × batch × muscles", &[t, b, m])?;
    let loss = doc.number("loss")?;
    Ok(GradientRef {
        steps,
        batch,
        dt,
        joint_dim,
        n_muscles,
        initial_joint_state,
        actions,
        w_joint,
        w_cart,
        loss,
        expected,
    })
}

/// Reruns a gradient reference: a rollout from `initial_joint_state` under `actions_t_b_m` (no loads), the
/// loss `Σₜ Σ_b w_joint[t,b]·joint[t,b] + w_cart[t,b]·cartesian[t,b]` over the states after each step, and
/// its gradient with respect to every excitation by the plant's adjoints. Compares the loss and
/// `grad_actions_t_b_m`.
pub fn verify_gradients<P: Plant>(plant: P, reference: &Value) -> Result<Vec<FieldError>, Error> {
    run_gradients("reference", plant, reference)
}

pub(super) fn run_gradients<P: Plant>(
    file: &str,
    plant: P,
    reference: &Value,
) -> Result<Vec<FieldError>, Error> {
    let r = read_gradient(&top(file, reference)?)?;
    let info = plant.info().clone();
    let (steps, batch) = (r.steps, r.batch);
    let (m, c, jd) = (info.n_muscles(), info.control_dim(), info.joint_dim());
    if r.joint_dim != jd {
        return Err(model_mismatch(
            file,
            "initial_joint_state",
            r.joint_dim,
            jd,
            "joint state values (2·dof) per effector",
        ));
    }
    if r.n_muscles != m {
        return Err(model_mismatch(
            file,
            "actions_t_b_m",
            r.n_muscles,
            m,
            "muscles (excitations per effector and step)",
        ));
    }
    check_dt(file, r.dt, &plant)?;
    let (actions, w_joint, w_cart, expected) = (&r.actions, &r.w_joint, &r.w_cart, &r.expected);
    let mut controls = vec![0.0; steps * batch * c];
    for tb in 0..steps * batch {
        controls[tb * c..tb * c + m].copy_from_slice(&actions[tb * m..(tb + 1) * m]);
    }
    let rollout =
        motornet_runtime::Rollout::record(&plant, &r.initial_joint_state, &controls, batch)?;
    let cart_at = info.cartesian().start;
    let mut loss = 0.0;
    for t in 1..=steps {
        for b in 0..batch {
            let x = rollout.state(t, b);
            let tb = (t - 1) * batch + b;
            loss += (0..jd).map(|k| w_joint[tb * jd + k] * x[k]).sum::<f64>();
            loss += (0..4)
                .map(|k| w_cart[tb * 4 + k] * x[cart_at + k])
                .sum::<f64>();
        }
    }
    // The gradient by the fused path (blocks forward and straight back, on every core): what the
    // benchmark times is what is checked here.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let grads = motornet_runtime::Rollout::gradient(
        &plant,
        &r.initial_joint_state,
        &controls,
        batch,
        threads,
        |t, b, _x, out| {
            if t == 0 {
                return;
            }
            let tb = (t - 1) * batch + b;
            for k in 0..jd {
                out[k] += w_joint[tb * jd + k];
            }
            for k in 0..4 {
                out[cart_at + k] += w_cart[tb * 4 + k];
            }
        },
    )?;
    let mut report = Vec::new();
    let ref_loss = r.loss;
    let abs = (loss - ref_loss).abs();
    report.push(FieldError {
        field: "loss".into(),
        count: 1,
        max_scaled: if abs.is_nan() {
            f64::INFINITY
        } else {
            abs / (1.0 + ref_loss.abs())
        },
        max_abs: abs,
        worst_at: format!("ours {loss:.12}, reference {ref_loss:.12}"),
        tolerance: TRAJECTORY_TOLERANCE,
    });
    let mut worst = FieldError {
        field: "d loss/d excitation".into(),
        count: expected.len(),
        max_scaled: 0.0,
        max_abs: 0.0,
        worst_at: String::new(),
        tolerance: TRAJECTORY_TOLERANCE,
    };
    for t in 0..steps {
        for b in 0..batch {
            for k in 0..m {
                let r = expected[(t * batch + b) * m + k];
                let o = grads
                    .controls
                    .get((t * batch + b) * c + k)
                    .copied()
                    .unwrap_or(f64::NAN);
                let abs = (o - r).abs();
                let scaled = if abs.is_nan() {
                    f64::INFINITY
                } else {
                    abs / (1.0 + r.abs())
                };
                if scaled > worst.max_scaled || worst.worst_at.is_empty() {
                    worst.max_scaled = scaled.max(worst.max_scaled);
                    worst.worst_at = format!(
                        "step {t}, batch {b}, excitation of {}",
                        info.muscle_names[k]
                    );
                }
                worst.max_abs = worst.max_abs.max(abs);
            }
        }
    }
    report.push(worst);
    Ok(report)
}
