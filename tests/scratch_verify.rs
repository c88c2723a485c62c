use motornet::verify::*;
use motornet::*;

#[test]
fn scratch() {
    for (model, refs) in [
        ("arm26", "arm26_rigid_kistemaker.seed1"),
        ("arm26", "arm26_rigid_kistemaker.seed2"),
        ("arm26_rigid_thelen", "arm26_rigid_thelen.seed1"),
        ("arm26_rigid_mujoco", "arm26_rigid_mujoco.seed1"),
        ("arm26_compliant", "arm26_compliant.seed1"),
        ("pointmass24_relu", "pointmass24_relu.seed1"),
        ("arm210_thelen_paths", "arm210_thelen_paths.seed1"),
    ] {
        let src = std::fs::read_to_string(format!("models/{model}.mnet")).unwrap();
        let plant = InterpretedPlant::from_source(&src, model).unwrap_or_else(|e| panic!("{e}"));
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("../shared/reference/motornet/{refs}.json")).unwrap()).unwrap();
        let rep = verify_trajectory(plant, &r).unwrap();
        for f in rep { println!("{refs:40} {:10} {:.3e} {:.3e} {}", f.field, f.max_scaled, f.max_abs, f.worst_at); }
    }
    let src = std::fs::read_to_string("models/chain3_torque_rk4.mnet").unwrap();
    let plant = InterpretedPlant::from_source(&src, "chain").unwrap();
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("../shared/reference/mujoco/chain3_torque_rk4.json").unwrap()).unwrap();
    let rep = verify_trajectory(plant, &r).unwrap();
    for f in rep { println!("chain {:10} {:.3e} {:.3e} {}", f.field, f.max_scaled, f.max_abs, f.worst_at); }
}
