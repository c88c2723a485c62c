//! `motornet import`: an OpenSim model (`.osim`) as a `.mnet` file.
//!
//! `osim` reads the XML (roxmltree) into a [`osim::Model`], refusing every element it does not support
//! with its line and column, all problems at once; `frames` holds the 3D frame math (nalgebra): OpenSim's
//! offset frames as `.mnet` joints, the bodies' poses, and the distances that decide which path segment
//! a wrap goes on; `emit` writes the text. docs/import.md describes the mapping.

mod emit;
pub mod frames;
pub mod osim;

pub use emit::{default_posture, mnet_name, SIDE_RADII};

use motornet_runtime::Error;
use std::path::Path;

/// An imported model: the `.mnet` text, the model it was written from, and the warnings (wraps that
/// could not be placed).
#[derive(Clone, Debug)]
pub struct Imported {
    pub text: String,
    pub model: osim::Model,
    pub warnings: Vec<String>,
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Imports `.osim` text; `source_name` names it in messages and in the generated header.
pub fn import_osim(source_name: &str, text: &str) -> Result<Imported, Error> {
    let fail = |problems: Vec<String>| {
        let n = problems.len();
        Error::Input(format!(
            "{source_name}: cannot import: {n} problem{}:\n  {}",
            if n == 1 { "" } else { "s" },
            problems.join("\n  ")
        ))
    };
    let model = osim::read(source_name, text).map_err(fail)?;
    let names = emit::names(&model).map_err(|p| {
        fail(
            p.into_iter()
                .map(|m| format!("{source_name}: {m}"))
                .collect(),
        )
    })?;
    let (text, warnings) = emit::emit(&model, &names, source_name, &sha256_hex(text.as_bytes()));
    Ok(Imported {
        text,
        model,
        warnings,
    })
}

/// Reads and imports a `.osim` file (a regular UTF-8 file of at most [`crate::input::MAX_MODEL_BYTES`]).
/// The header names the file by its file name, so the text does not depend on where it was read from.
pub fn import_file(path: &Path) -> Result<Imported, Error> {
    let text = crate::input::read_text(path, "OpenSim model", crate::input::MAX_MODEL_BYTES)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    import_osim(&name, &text)
}

/// The world positions of a muscle's path points (no wrapping: the straight polyline) with the
/// coordinates at `q` (in the order of the hinge joints), by the importer's own kinematics.
pub fn path_points(model: &osim::Model, muscle: usize, q: &[f64]) -> Vec<frames::V3> {
    let poses = frames::body_poses(model, q);
    model.muscles[muscle]
        .points
        .iter()
        .map(|p| {
            let at = frames::V3::from(p.location);
            match p.body {
                None => at,
                Some(b) => poses[b].apply(&at),
            }
        })
        .collect()
}

/// The OpenSim names of the wrap objects the imported path of `m` carries (see `emit::place_wraps`).
pub fn carried_wraps(model: &osim::Model, m: &osim::Muscle) -> Vec<String> {
    emit::place_wraps(model, m)
        .iter()
        .zip(&m.wraps)
        .filter(|(p, _)| p.segment.is_some())
        .map(|(_, w)| model.wraps[w.object].name.clone())
        .collect()
}
