fn main() {
    let src = std::fs::read_to_string("models/wrap_elbow.mnet").unwrap();
    let (m, d) = motornet_dsl::check::compile_source(&src);
    for x in &d {
        println!("{:?}", x);
    }
    let p = motornet_dsl::lower::lower(&m.unwrap());
    let plant = motornet_runtime::InterpretedPlant::from_program(p);
    use motornet_runtime::Plant;
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("../shared/reference/mujoco/wrap_elbow.json").unwrap(),
    )
    .unwrap();
    let mut ws = plant.workspace();
    let info = plant.info().clone();
    let (g, _) = info.part("geometry").unwrap();
    let mut worst = [0.0f64; 3];
    for s in r["samples"].as_array().unwrap() {
        let q: Vec<f64> = s["q"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let mut st = vec![0.0; info.state_dim()];
        plant.reset(&mut ws, &[q[0], q[1], 0.0, 0.0], &mut st);
        for m in 0..3 {
            let len = st[g + m];
            let rl = s["length"][m].as_f64().unwrap();
            let ma: Vec<f64> = (0..2).map(|j| st[g + (2 + j) * 3 + m]).collect();
            let rma: Vec<f64> = (0..2)
                .map(|j| s["moment_arm"][m][j].as_f64().unwrap())
                .collect();
            let e = (len - rl)
                .abs()
                .max((ma[0] - rma[0]).abs())
                .max((ma[1] - rma[1]).abs());
            if e > 1e-9 && worst[m] < 1e-9 {
                println!(
                    "muscle {m} q {q:?}: len {len} vs {rl}; ma {ma:?} vs {rma:?} wrapped {}",
                    s["wrapped"][m]
                );
            }
            worst[m] = worst[m].max(e);
        }
    }
    println!("worst {worst:?}");
}
