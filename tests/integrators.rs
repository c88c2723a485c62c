//! Integrators: the textbook RK4 converges with order 4, MotorNet's chained scheme (`motornet_rk4`) and
//! Euler with order 1 — which is why `rk4` is the default for new models and `motornet_rk4` exists only for
//! parity with MotorNet.

use motornet::{Effector, InterpretedPlant, Plant};

/// The chain3 model with another integrator, run for 0.2 s at time step `dt`; returns the final joint state.
fn final_state(integrator: &str, dt: f64) -> Vec<f64> {
    let source = motornet::models::source("chain3_torque_rk4")
        .unwrap()
        .replace("integrator rk4;", &format!("integrator {integrator};"));
    assert!(source.contains(integrator));
    let mut plant = InterpretedPlant::from_source(&source, "chain3.mnet").unwrap();
    plant.set_param("timestep", dt).unwrap();
    let mut e = Effector::new(plant, 1);
    e.reset(&[0.3, -0.6, 0.9, 1.0, -0.5, 0.8]).unwrap();
    let steps = (0.2 / dt).round() as usize;
    for _ in 0..steps {
        e.step(&[], &[0.0, 0.0], &[0.4, -0.3, 0.2]).unwrap();
    }
    e.part("joint").unwrap()
}

fn error(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Observed order of convergence from errors at dt, dt/2.
fn order(integrator: &str, reference: &[f64], dt: f64) -> f64 {
    let e1 = error(&final_state(integrator, dt), reference);
    let e2 = error(&final_state(integrator, dt / 2.0), reference);
    (e1 / e2).log2()
}

#[test]
fn convergence_orders() {
    let reference = final_state("rk4", 0.2 / 4000.0);
    let rk4 = order("rk4", &reference, 0.2 / 40.0);
    let chained = order("motornet_rk4", &reference, 0.2 / 400.0);
    let euler = order("euler", &reference, 0.2 / 400.0);
    assert!(
        (rk4 - 4.0).abs() < 0.3,
        "textbook RK4 converges with order {rk4:.2}"
    );
    assert!(
        (chained - 1.0).abs() < 0.3,
        "MotorNet's RK4 converges with order {chained:.2}"
    );
    assert!(
        (euler - 1.0).abs() < 0.3,
        "Euler converges with order {euler:.2}"
    );
}
