//! The models shipped in `models/`, compiled into this crate by [`crate::model!`].

use crate::Plant;

crate::model!("models/arm26.mnet");
crate::model!("models/arm26_rigid_thelen.mnet");
crate::model!("models/arm26_rigid_mujoco.mnet");
crate::model!("models/arm26_compliant.mnet");
crate::model!("models/pointmass24_relu.mnet");
crate::model!("models/arm210_thelen_paths.mnet");
crate::model!("models/chain3_torque_rk4.mnet");

/// File names (without `.mnet`) of the built-in models, with a constructor of their compiled plant.
pub const BUILTIN: [(&str, fn() -> Box<dyn Plant>); 7] = [
    ("arm26", || Box::new(Arm26::new())),
    ("arm26_rigid_thelen", || Box::new(Arm26RigidThelen::new())),
    ("arm26_rigid_mujoco", || Box::new(Arm26RigidMujoco::new())),
    ("arm26_compliant", || Box::new(Arm26Compliant::new())),
    ("pointmass24_relu", || Box::new(Pointmass24Relu::new())),
    ("arm210_thelen_paths", || Box::new(Arm210ThelenPaths::new())),
    ("chain3_torque_rk4", || Box::new(Chain3TorqueRk4::new())),
];

/// The compiled plant of a built-in model, by file name.
pub fn compiled(name: &str) -> Option<Box<dyn Plant>> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, make)| make())
}

/// The source text of a built-in model, by file name.
pub fn source(name: &str) -> Option<&'static str> {
    Some(match name {
        "arm26" => include_str!("../models/arm26.mnet"),
        "arm26_rigid_thelen" => include_str!("../models/arm26_rigid_thelen.mnet"),
        "arm26_rigid_mujoco" => include_str!("../models/arm26_rigid_mujoco.mnet"),
        "arm26_compliant" => include_str!("../models/arm26_compliant.mnet"),
        "pointmass24_relu" => include_str!("../models/pointmass24_relu.mnet"),
        "arm210_thelen_paths" => include_str!("../models/arm210_thelen_paths.mnet"),
        "chain3_torque_rk4" => include_str!("../models/chain3_torque_rk4.mnet"),
        _ => return None,
    })
}
