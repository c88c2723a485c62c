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
crate::model!("models/chain4.mnet");
crate::model!("models/arm4.mnet");

/// A constructor of a compiled plant.
pub type MakePlant = fn() -> Box<dyn Plant>;

/// File names (without `.mnet`) of the built-in models, with a constructor of their compiled plant.
pub const BUILTIN: [(&str, MakePlant); 10] = [
    ("arm26", || Box::new(Arm26::new())),
    ("arm26_rigid_thelen", || Box::new(Arm26RigidThelen::new())),
    ("arm26_rigid_mujoco", || Box::new(Arm26RigidMujoco::new())),
    ("arm26_compliant", || Box::new(Arm26Compliant::new())),
    ("pointmass24_relu", || Box::new(Pointmass24Relu::new())),
    ("arm210_thelen_paths", || Box::new(Arm210ThelenPaths::new())),
    ("chain3_torque_rk4", || Box::new(Chain3TorqueRk4::new())),
    ("wrap_elbow", || Box::new(WrapElbow::new())),
    ("chain4", || Box::new(Chain4::new())),
    ("arm4", || Box::new(Arm4::new())),
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
        "chain4" => include_str!("../models/chain4.mnet"),
        "arm4" => include_str!("../models/arm4.mnet"),
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
    /// Compiled from source at run time into native code ([`crate::JitPlant`]).
    Jit,
    /// Compiled from source at run time and interpreted (the reference backend).
    Interpreted,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Compiled => "compiled",
            Backend::Jit => "jit",
            Backend::Interpreted => "interpreted",
        }
    }
}

/// Which backend to run a model on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// Built-in models (and files identical to one) compiled; other files native code (JIT), or the
    /// interpreter where native code cannot be generated.
    #[default]
    Auto,
    /// Native code even for a built-in model (for comparisons).
    Jit,
    /// The interpreter, the reference backend.
    Interpreted,
}

impl Choice {
    /// The choice of the command-line flags `--interpreted` and `--jit`.
    pub fn from_flags(interpreted: bool, jit: bool) -> Choice {
        match (interpreted, jit) {
            (true, _) => Choice::Interpreted,
            (false, true) => Choice::Jit,
            (false, false) => Choice::Auto,
        }
    }
}

/// A model named on the command line: a built-in name (`arm26`) or a path to a `.mnet` file. Built-in
/// models, and files identical to one, run compiled unless `interpreted` is set; other files run as
/// native code (see [`load_as`]).
pub fn load(spec: &str, interpreted: bool) -> Result<(Box<dyn Plant>, Backend), crate::Error> {
    load_as(spec, Choice::from_flags(interpreted, false))
}

/// A model named on the command line, on the backend `choice` selects.
pub fn load_as(spec: &str, choice: Choice) -> Result<(Box<dyn Plant>, Backend), crate::Error> {
    let (text, file_name, builtin) = model_source(spec)?;
    if choice == Choice::Auto {
        if let Some(name) = builtin {
            return Ok((compiled(name).expect("built-in"), Backend::Compiled));
        }
    }
    load_source(&text, &file_name, choice)
}

/// A model given as text (`file_name` names it in messages), interpreted or compiled at run time (the JIT,
/// unless `choice` is [`Choice::Interpreted`]).
pub fn load_source(
    text: &str,
    file_name: &str,
    choice: Choice,
) -> Result<(Box<dyn Plant>, Backend), crate::Error> {
    let spec = file_name;
    let plant = crate::InterpretedPlant::from_source(text, file_name)?;
    if choice == Choice::Interpreted {
        return Ok((Box::new(plant), Backend::Interpreted));
    }
    if !motornet_jit::available() {
        eprintln!(
            "warning: no native code generator for this machine ({}); running `{spec}` on the interpreter",
            std::env::consts::ARCH
        );
        return Ok((Box::new(plant), Backend::Interpreted));
    }
    match crate::JitPlant::from_interpreted(plant.clone()) {
        Ok(jit) => Ok((Box::new(jit), Backend::Jit)),
        Err(e) => {
            eprintln!("warning: {e}; running `{spec}` on the interpreter");
            Ok((Box::new(plant), Backend::Interpreted))
        }
    }
}

/// The source of the model `spec` names (a file, else a built-in model), the name to use in its
/// diagnostics, and the built-in model it is identical to, if any.
pub fn model_source(
    spec: &str,
) -> Result<(std::borrow::Cow<'static, str>, String, Option<&'static str>), crate::Error> {
    let path = std::path::Path::new(spec);
    if path.exists() {
        let text = crate::input::read_text(path, "model", crate::input::MAX_MODEL_BYTES)?;
        let same = BUILTIN
            .iter()
            .map(|b| b.0)
            .find(|n| source(n) == Some(text.as_str()));
        return Ok((text.into(), spec.to_string(), same));
    }
    let Some((name, src)) = BUILTIN
        .iter()
        .find(|b| b.0 == spec)
        .and_then(|b| Some((b.0, source(b.0)?)))
    else {
        let names: Vec<&str> = BUILTIN.iter().map(|b| b.0).collect();
        return Err(crate::Error::Input(format!(
            "no model file `{spec}` and no built-in model of that name (built-in: {})",
            names.join(", ")
        )));
    };
    Ok((src.into(), format!("models/{name}.mnet"), Some(name)))
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
