//! Checkpoints of any [`Network`]: one safetensors file holding the network's PyTorch `state_dict`
//! (learnable tensors and buffers such as the modular GRU's masks, under their `state_dict` names), Adam's
//! moments (`adam.m.<name>`, `adam.v.<name>`, the step count in the `adam.step` metadata entry), the
//! network's structure (`motornet.policy`, JSON) so that [`load`] rebuilds the right network, the caller's
//! metadata and a SHA-256 digest of everything (`motornet.sha256`), verified on load. All tensors are
//! little-endian float64, and every value must be finite.
//!
//! A file without `motornet.policy` (written before networks other than the GRU existed, or by hand from a
//! `PolicyGRU`'s `state_dict`) loads as the one-layer GRU its `gru.weight_ih_l0` and `fc.weight` describe.

use super::{CellKind, Layered, ModularGru, ModularSpec, Network, NetworkSpec, Policy};
use crate::adam::AdamState;
use crate::error::Error;
use crate::gru::{Gru, GruDims};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// What [`load`] returns: the network, Adam's state if saved, and the metadata.
pub type NetworkCheckpoint = (Network, Option<AdamState>, Vec<(String, String)>);

/// A stored tensor: its shape and values.
type Tensor = (Vec<usize>, Vec<f64>);

/// Metadata key holding the optimizer's step count.
const ADAM_STEP_KEY: &str = "adam.step";
/// Metadata key holding the SHA-256 digest of every tensor and every other metadata entry, which
/// [`load`] verifies: a checkpoint damaged on disk is refused, never loaded.
const DIGEST_KEY: &str = "motornet.sha256";
/// Metadata key holding the network's structure ([`StoredSpec`] as JSON).
const POLICY_KEY: &str = "motornet.policy";

/// The structure of a network as a checkpoint records it (with the tensors' shapes and the modular GRU's
/// masks, which are stored as tensors, it determines the network).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredSpec {
    /// [`Policy::kind`]: `gru`, `rnn_tanh`, `rnn_relu`, `lstm`, `ctrnn` or `modular_gru`.
    kind: String,
    input: usize,
    output: usize,
    /// Units per layer (all units for the modular GRU).
    hidden: usize,
    layers: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    module_size: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connectivity_delay: Option<Vec<Vec<usize>>>,
    /// The modular GRU under Dale's law (its unit signs are the `unit_sign` tensor).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    dale: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spectral_scaling: Option<f64>,
}

impl StoredSpec {
    fn of(net: &Network) -> StoredSpec {
        let s = net.sizes();
        let mut spec = StoredSpec {
            kind: net.kind().to_string(),
            input: s.input,
            output: s.output,
            hidden: s.hidden / net.layers().max(1),
            layers: net.layers(),
            alpha: None,
            module_size: None,
            connectivity_delay: None,
            dale: false,
            spectral_scaling: None,
        };
        match net {
            Network::Layered(l) => {
                if let CellKind::Ctrnn { alpha } = l.cell() {
                    spec.alpha = Some(alpha);
                }
            }
            Network::Modular(m) => {
                spec.module_size = Some(m.spec().modules.clone());
                spec.connectivity_delay = Some(m.spec().delay.clone());
                spec.dale = !m.spec().unit_sign.is_empty();
                spec.spectral_scaling = m.spec().spectral_scaling;
            }
            Network::Gru(_) => {}
        }
        spec
    }

    /// A lower bound on the parameters of a network of this structure (every layer's recurrent weights,
    /// the input weights and the readout), without overflow.
    fn min_values(&self) -> u128 {
        let (i, h, l, o) = (
            self.input as u128,
            self.hidden as u128,
            self.layers as u128,
            self.output as u128,
        );
        l.saturating_mul(h)
            .saturating_mul(h)
            .saturating_add(h.saturating_mul(i))
            .saturating_add(o.saturating_mul(h))
    }

    /// A network of this structure with every parameter zero; `masks` are the modular GRU's stored
    /// `mask_Wz`, `mask_Y` and `unit_sign` (empty without Dale's law).
    fn zeros(&self, masks: Option<(Vec<f64>, Vec<f64>, Vec<f64>)>) -> Result<Network, String> {
        let (i, h, l, o) = (self.input, self.hidden, self.layers, self.output);
        if h == 0 || l == 0 || o == 0 {
            return Err(format!(
                "a network needs at least one layer, one hidden unit and one output (got {l} × {h}, {o} outputs)"
            ));
        }
        let layered = |kind: CellKind| Network::Layered(Layered::zeros(kind, i, h, l, o));
        Ok(match self.kind.as_str() {
            "gru" if l == 1 => Network::Gru(Gru::zeros(GruDims::new(i, h, o))),
            "gru" => layered(CellKind::Gru),
            "rnn_tanh" => layered(CellKind::RnnTanh),
            "rnn_relu" => layered(CellKind::RnnRelu),
            "lstm" => layered(CellKind::Lstm),
            "ctrnn" => match self.alpha {
                Some(alpha) if alpha > 0.0 && alpha <= 1.0 => layered(CellKind::Ctrnn { alpha }),
                _ => return Err(format!("ctrnn needs alpha in (0, 1], not {:?}", self.alpha)),
            },
            "modular_gru" => {
                let (Some(modules), Some(delay), Some((mask_w, mask_y, unit_sign))) =
                    (&self.module_size, &self.connectivity_delay, masks)
                else {
                    return Err("modular_gru needs module_size and connectivity_delay".into());
                };
                let spec = ModularSpec {
                    input: i,
                    modules: modules.clone(),
                    output: o,
                    delay: delay.clone(),
                    mask_w,
                    mask_y,
                    unit_sign,
                    spectral_scaling: self.spectral_scaling,
                };
                if spec.hidden() != h {
                    return Err(format!(
                        "module_size {modules:?} does not add up to hidden = {h}"
                    ));
                }
                Network::Modular(ModularGru::zeros(spec)?)
            }
            other => return Err(format!("unknown network kind `{other}`")),
        })
    }
}

impl Network {
    /// The structure of this network as a [`NetworkSpec`] (what [`Network::new`] builds it from, with the
    /// environment's input and output widths).
    pub fn spec(&self) -> NetworkSpec {
        match self {
            Network::Gru(g) => NetworkSpec::Gru {
                hidden: g.dims().hidden,
                layers: 1,
            },
            Network::Layered(l) => {
                let (hidden, layers) = (l.sizes().hidden / l.layers(), l.layers());
                match l.cell() {
                    CellKind::Gru => NetworkSpec::Gru { hidden, layers },
                    CellKind::RnnTanh => NetworkSpec::Rnn {
                        hidden,
                        layers,
                        relu: false,
                    },
                    CellKind::RnnRelu => NetworkSpec::Rnn {
                        hidden,
                        layers,
                        relu: true,
                    },
                    CellKind::Lstm => NetworkSpec::Lstm { hidden, layers },
                    CellKind::Ctrnn { alpha } => NetworkSpec::Ctrnn {
                        hidden,
                        layers,
                        alpha,
                    },
                }
            }
            Network::Modular(m) => NetworkSpec::ModularGru(m.spec().clone()),
        }
    }

    /// A one-line description for messages: kind, layers and widths.
    pub fn describe(&self) -> String {
        let s = self.sizes();
        let l = self.layers();
        let layers = if l > 1 {
            format!("{l} layers of {} units", s.hidden / l)
        } else {
            format!("{} units", s.hidden)
        };
        format!(
            "{} with {layers}, {} inputs, {} outputs",
            self.kind(),
            s.input,
            s.output
        )
    }
}

/// The digest stored under [`DIGEST_KEY`]: tensors by name (name, shape, little-endian bytes), then the
/// metadata entries by key, each field length-prefixed so no two contents hash alike.
fn digest<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a [usize], &'a [u8])>,
    metadata: &HashMap<String, String>,
) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    let mut tensors: Vec<_> = tensors.into_iter().collect();
    tensors.sort_by_key(|t| t.0);
    for (name, shape, bytes) in tensors {
        field(name.as_bytes());
        let shape: Vec<u8> = shape
            .iter()
            .flat_map(|d| (*d as u64).to_le_bytes())
            .collect();
        field(&shape);
        field(bytes);
    }
    let mut entries: Vec<_> = metadata.iter().filter(|(k, _)| *k != DIGEST_KEY).collect();
    entries.sort();
    for (k, v) in entries {
        field(k.as_bytes());
        field(v.as_bytes());
    }
    format!("{:x}", h.finalize())
}

/// Writes `net`'s `state_dict` (so `safetensors.torch.load_file` gives a `state_dict` the matching torch
/// module accepts), optionally Adam's moments (`adam.m.<name>`, `adam.v.<name>`, same shapes, step count
/// in the `adam.step` metadata entry), the network's structure (`motornet.policy`) and `metadata` (keys
/// starting with `adam.` or `motornet.` are reserved). All tensors are little-endian float64.
///
/// The file is replaced atomically: written to a temporary file in the same directory, flushed to disk,
/// then renamed over `path`, so a crash leaves either the old checkpoint or the new one.
pub fn save(
    path: &Path,
    net: &Network,
    adam: Option<&AdamState>,
    metadata: &[(String, String)],
) -> Result<(), Error> {
    let io_err =
        |what: &str, e: std::io::Error| Error::Input(format!("{what} {}: {e}", path.display()));
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut push = |name: String, shape: &[usize], data: &[f64]| {
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        buffers.push((name, shape.to_vec(), bytes));
    };
    for (name, shape, values) in net.state_dict() {
        push(name, &shape, &values);
    }
    let mut info: HashMap<String, String> = metadata
        .iter()
        .filter(|(k, _)| !k.starts_with("adam.") && !k.starts_with("motornet."))
        .cloned()
        .collect();
    if let Some(state) = adam {
        let n = net.param_count();
        if state.m.len() != n || state.v.len() != n {
            return Err(Error::Shape {
                what: "Adam state".into(),
                expected: n,
                got: state.m.len().min(state.v.len()),
            });
        }
        for t in net.tensors() {
            push(format!("adam.m.{}", t.name), &t.shape, &state.m[t.range()]);
            push(format!("adam.v.{}", t.name), &t.shape, &state.v[t.range()]);
        }
        info.insert(ADAM_STEP_KEY.into(), state.step.to_string());
    }
    info.insert(
        POLICY_KEY.into(),
        serde_json::to_string(&StoredSpec::of(net)).expect("the spec serializes"),
    );
    let sum = digest(
        buffers
            .iter()
            .map(|(n, shape, bytes)| (n.as_str(), shape.as_slice(), bytes.as_slice())),
        &info,
    );
    info.insert(DIGEST_KEY.into(), sum);
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F64, shape.clone(), bytes)
                    .map_err(|e| Error::Input(format!("tensor {name}: {e}")))?;
            Ok((name.clone(), view))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let bytes = safetensors::serialize(views, Some(info))
        .map_err(|e| Error::Input(format!("serializing {}: {e}", path.display())))?;

    crate::files::write_atomic(path, &bytes).map_err(|e| io_err("writing checkpoint", e))
}

/// Reads a checkpoint written by [`save`] (or any safetensors file holding a `PolicyGRU`'s six tensors in
/// float64): the network, Adam's state if the file has one, and the metadata without the reserved
/// `adam.` and `motornet.` entries, sorted by key. A file written by [`save`] carries a digest of its
/// contents, which is verified; every value must be finite, and every tensor the network needs must be
/// there with its shape (buffers with their values).
pub fn load(path: &Path) -> Result<NetworkCheckpoint, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Input(format!("reading {}: {e}", path.display())))?;
    let bad = |msg: String| Error::Input(format!("{}: {msg}", path.display()));
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a readable safetensors file ({e})")))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a readable safetensors file ({e})")))?;
    let info = header.metadata().clone().unwrap_or_default();
    let ours = info.keys().any(|k| k.starts_with("motornet."));
    if ours || info.contains_key(DIGEST_KEY) {
        let stored = info.get(DIGEST_KEY).ok_or_else(|| {
            bad(format!(
                "the checkpoint has no `{DIGEST_KEY}` digest: it is damaged"
            ))
        })?;
        let tensors = st.tensors();
        let actual = digest(
            tensors
                .iter()
                .map(|(n, t)| (n.as_str(), t.shape(), t.data())),
            &info,
        );
        if *stored != actual {
            return Err(bad(
                "the checkpoint's contents do not match its digest: the file is damaged (restore it \
                 from a copy, or retrain)"
                    .into(),
            ));
        }
    }
    for (name, t) in st.tensors() {
        if t.dtype() == safetensors::Dtype::F64 {
            let at = t
                .data()
                .chunks_exact(8)
                .position(|c| !f64::from_le_bytes(c.try_into().unwrap()).is_finite());
            if let Some(i) = at {
                return Err(bad(format!(
                    "tensor {name} holds a non-finite value (element {i})"
                )));
            }
        }
    }
    let read = |name: &str| -> Result<Tensor, Error> {
        let t = st
            .tensor(name)
            .map_err(|e| bad(format!("tensor {name}: {e}")))?;
        if t.dtype() != safetensors::Dtype::F64 {
            return Err(bad(format!(
                "tensor {name} is {:?}, expected F64",
                t.dtype()
            )));
        }
        let data = t
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Ok((t.shape().to_vec(), data))
    };
    let spec = match info.get(POLICY_KEY) {
        Some(json) => serde_json::from_str::<StoredSpec>(json)
            .map_err(|e| bad(format!("bad `{POLICY_KEY}` entry `{json}`: {e}")))?,
        None => legacy_gru_spec(&read, &bad)?,
    };
    // Sizes come from the file: refuse a network that needs more values than the file holds before
    // allocating it (a damaged or hostile entry must not exhaust memory).
    if spec.min_values() > (bytes.len() / 8) as u128 {
        return Err(bad(format!(
            "`{POLICY_KEY}` describes a network ({} with {} layers of {} units, {} inputs, {} outputs) \
             larger than the file's tensors",
            spec.kind, spec.layers, spec.hidden, spec.input, spec.output
        )));
    }
    let masks = if spec.kind == "modular_gru" {
        let unit_sign = match spec.dale {
            true => read("unit_sign")?.1,
            false => Vec::new(),
        };
        Some((read("mask_Wz")?.1, read("mask_Y")?.1, unit_sign))
    } else {
        None
    };
    let mut net = spec
        .zeros(masks)
        .map_err(|e| bad(format!("`{POLICY_KEY}`: {e}")))?;
    let tensors = net.tensors();
    let read_all = |prefix: &str| -> Result<Vec<f64>, Error> {
        let mut flat = Vec::with_capacity(net.param_count());
        for spec in &tensors {
            let name = format!("{prefix}{}", spec.name);
            let (shape, data) = read(&name)?;
            if shape != spec.shape {
                return Err(bad(format!(
                    "tensor {name} has shape {shape:?}, expected {:?}",
                    spec.shape
                )));
            }
            flat.extend(data);
        }
        Ok(flat)
    };
    let params = read_all("")?;
    for (name, shape, values) in net.buffers() {
        let (stored_shape, stored) = read(&name)?;
        if stored_shape != shape || stored != values {
            return Err(bad(format!(
                "buffer {name} does not match the network's structure (shape {stored_shape:?}, expected {shape:?})"
            )));
        }
    }
    let adam = match info.get(ADAM_STEP_KEY) {
        None => None,
        Some(step) => Some(AdamState {
            step: step
                .parse()
                .map_err(|_| bad(format!("bad {ADAM_STEP_KEY} `{step}`")))?,
            m: read_all("adam.m.")?,
            v: read_all("adam.v.")?,
        }),
    };
    net.params_mut().copy_from_slice(&params);
    let mut metadata: Vec<(String, String)> = info
        .into_iter()
        .filter(|(k, _)| !k.starts_with("adam.") && !k.starts_with("motornet."))
        .collect();
    metadata.sort();
    Ok((net, adam, metadata))
}

/// The one-layer GRU a checkpoint without `motornet.policy` holds, from the shapes of `gru.weight_ih_l0`
/// (`3H × I`) and `fc.weight` (`O × H`).
fn legacy_gru_spec(
    read: &dyn Fn(&str) -> Result<Tensor, Error>,
    bad: &dyn Fn(String) -> Error,
) -> Result<StoredSpec, Error> {
    let (w_ih_shape, _) = read("gru.weight_ih_l0")?;
    let (fc_shape, _) = read("fc.weight")?;
    let (h3, input) = match w_ih_shape[..] {
        [h3, i] if h3 % 3 == 0 => (h3, i),
        _ => {
            return Err(bad(format!(
                "gru.weight_ih_l0 has shape {w_ih_shape:?}, expected [3H, I]"
            )))
        }
    };
    let output = match fc_shape[..] {
        [o, _] => o,
        _ => {
            return Err(bad(format!(
                "fc.weight has shape {fc_shape:?}, expected [O, H]"
            )))
        }
    };
    Ok(StoredSpec {
        kind: "gru".into(),
        input,
        output,
        hidden: h3 / 3,
        layers: 1,
        alpha: None,
        module_size: None,
        connectivity_delay: None,
        dale: false,
        spectral_scaling: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CTRNN's α goes through JSON exactly (serde_json's `float_roundtrip`), so a resumed network is
    /// the one that was saved, bit for bit, and equals the one its configuration builds.
    #[test]
    fn alpha_survives_json_exactly() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let alpha = (x >> 11) as f64 / (1u64 << 53) as f64;
            let alpha = if alpha == 0.0 { 1.0 } else { alpha };
            let dt_over_tau = 0.01 / (0.01 / alpha);
            for a in [alpha, dt_over_tau] {
                let spec = StoredSpec {
                    kind: "ctrnn".into(),
                    input: 1,
                    output: 1,
                    hidden: 1,
                    layers: 1,
                    alpha: Some(a),
                    module_size: None,
                    connectivity_delay: None,
                    dale: false,
                    spectral_scaling: None,
                };
                let back: StoredSpec =
                    serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
                assert_eq!(back.alpha.unwrap().to_bits(), a.to_bits());
            }
        }
    }

    /// A `motornet.policy` entry (with a correct digest) describing a network far larger than the file is
    /// refused before anything is allocated for it.
    #[test]
    fn a_spec_larger_than_the_file_is_refused_before_allocating() {
        let dir =
            std::env::temp_dir().join(format!("motornet-checkpoint-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("huge.safetensors");
        let data = vec![0u8; 8 * 4];
        let shape = vec![4usize];
        for (hidden, layers) in [(1usize << 40, 1usize << 20), (usize::MAX, usize::MAX)] {
            let spec = StoredSpec {
                kind: "lstm".into(),
                input: 3,
                output: 2,
                hidden,
                layers,
                alpha: None,
                module_size: None,
                connectivity_delay: None,
                dale: false,
                spectral_scaling: None,
            };
            let mut info = HashMap::new();
            info.insert(
                POLICY_KEY.to_string(),
                serde_json::to_string(&spec).unwrap(),
            );
            let sum = digest([("fc.bias", shape.as_slice(), data.as_slice())], &info);
            info.insert(DIGEST_KEY.to_string(), sum);
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F64, shape.clone(), &data)
                    .unwrap();
            let bytes =
                safetensors::serialize(vec![("fc.bias".to_string(), view)], Some(info)).unwrap();
            std::fs::write(&path, bytes).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains("larger than the file"), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
