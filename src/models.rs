//! The models shipped in `models/`, compiled into this crate by [`crate::model!`].

use crate::Plant;

crate::model!("models/arm26.mnet");
crate::model!("models/arm26_rigid_thelen.mnet");
crate::model!("models/arm26_rigid_mujoco.mnet");
crate::model!("models/arm26_compliant.mnet");
crate::model!("models/pointmass24_relu.mnet");
crate::model!("models/arm210_thelen_paths.mnet");
crate::model!("models/chain3_torque_rk4.mnet");
crate::model!("models/wrap_elbow.mnet");

/// A constructor of a compiled plant.
pub type MakePlant = fn() -> Box<dyn Plant>;

/// File names (without `.mnet`) of the built-in models, with a constructor of their compiled plant.
pub const BUILTIN: [(&str, MakePlant); 8] = [
    ("arm26", || Box::new(Arm26::new())),
    ("arm26_rigid_thelen", || Box::new(Arm26RigidThelen::new())),
    ("arm26_rigid_mujoco", || Box::new(Arm26RigidMujoco::new())),
    ("arm26_compliant", || Box::new(Arm26Compliant::new())),
    ("pointmass24_relu", || Box::new(Pointmass24Relu::new())),
    ("arm210_thelen_paths", || Box::new(Arm210ThelenPaths::new())),
    ("chain3_torque_rk4", || Box::new(Chain3TorqueRk4::new())),
    ("wrap_elbow", || Box::new(WrapElbow::new())),
];

/// The compiled plant of a built-in model, by file name.
pub fn compiled(name: &str) -> Option<Box<dyn Plant>> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, make)| make())
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
        "wrap_elbow" => include_str!("../models/wrap_elbow.mnet"),
        _ => return None,
    })
}

/// The source of the built-in model `spec` names, unless a file of that name exists (a file wins, as in
/// [`load`]).
pub fn builtin_source(spec: &str) -> Option<&'static str> {
    if std::path::Path::new(spec).exists() {
        None
    } else {
        source(spec)
    }
}

/// How a model was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Compiled into this program by `model!`.
    Compiled,
    /// Compiled from source at run time and interpreted.
    Interpreted,
}

/// A model named on the command line: a built-in name (`arm26`) or a path to a `.mnet` file. Built-in
/// models, and files identical to one, run compiled unless `interpreted` is set; other files are
/// interpreted.
pub fn load(spec: &str, interpreted: bool) -> Result<(Box<dyn Plant>, Backend), crate::Error> {
    let builtin_named = |name: &str| -> Option<(Box<dyn Plant>, Backend)> {
        if interpreted {
            let src = source(name)?;
            let plant =
                crate::InterpretedPlant::from_source(src, &format!("models/{name}.mnet")).ok()?;
            Some((Box::new(plant), Backend::Interpreted))
        } else {
            Some((compiled(name)?, Backend::Compiled))
        }
    };
    let path = std::path::Path::new(spec);
    if !path.exists() {
        return builtin_named(spec).ok_or_else(|| {
            let names: Vec<&str> = BUILTIN.iter().map(|b| b.0).collect();
            crate::Error::Input(format!(
                "no model file `{spec}` and no built-in model of that name (built-in: {})",
                names.join(", ")
            ))
        });
    }
    let text = crate::input::read_text(path, "model", crate::input::MAX_MODEL_BYTES)?;
    if !interpreted {
        if let Some((name, _)) = BUILTIN
            .iter()
            .find(|(n, _)| source(n) == Some(text.as_str()))
        {
            return Ok((compiled(name).expect("built-in"), Backend::Compiled));
        }
    }
    let plant = crate::InterpretedPlant::from_source(&text, spec)?;
    Ok((Box::new(plant), Backend::Interpreted))
}

/// The built-in model a reference case runs on: the longest `_`-separated prefix of the case name that
/// names a built-in model (`arm26_rigid_kistemaker` → `arm26`, `chain3_torque_rk4_b` → `chain3_torque_rk4`).
pub fn for_case(case: &str) -> Option<&'static str> {
    let parts: Vec<&str> = case.split('_').collect();
    (1..=parts.len()).rev().find_map(|n| {
        let prefix = parts[..n].join("_");
        BUILTIN.iter().map(|b| b.0).find(|b| *b == prefix)
    })
}
