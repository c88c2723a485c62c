//! Training every network kind through the configuration: each `[policy]` kind learns, checkpoints name
//! every tensor and rebuild the network they were written from, resuming is bit-identical for the LSTM and
//! the modular GRU, `eval` reruns any kind, a checkpoint from before `[policy]` existed still loads, and
//! a bad `[policy]` table is reported key by key.
//!
//! Everything runs in debug builds, so the networks, batches and episodes are tiny.

use motornet::runtime::adam::AdamState;
use motornet::runtime::env::EnvConfig;
use motornet::runtime::policy::{checkpoint, Network, Policy};
use motornet::runtime::train::{LossConfig, OptimConfig, PolicyConfig};
use motornet::training::{evaluate_run, train, Hooks, Outcome, RunConfig, Summary, TrainConfig};
use std::cell::Cell;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "motornet-policies-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A `[policy]` table parsed as a configuration file would give it.
fn policy(toml: &str) -> PolicyConfig {
    let cfg = TrainConfig::from_toml(&format!("[policy]\n{toml}")).expect("a valid [policy] table");
    cfg.policy
}

/// One configuration per kind, each away from the defaults where it has settings of its own.
fn kinds() -> Vec<(&'static str, PolicyConfig)> {
    vec![
        ("gru (2 layers)", policy("kind = \"gru\"\nlayers = 2")),
        (
            "rnn (relu)",
            policy("kind = \"rnn\"\nnonlinearity = \"relu\""),
        ),
        ("rnn (tanh, 2 layers)", policy("kind = \"rnn\"\nlayers = 2")),
        ("lstm", policy("kind = \"lstm\"")),
        ("ctrnn", policy("kind = \"ctrnn\"\ntau = 0.03")),
        (
            "modular_gru",
            policy(
                "kind = \"modular_gru\"
module_size = [6, 6]
vision_mask = [1.0, 0.0]
proprio_mask = [1.0, 0.5]
task_mask = [1.0, 0.0]
connectivity_mask = [[1.0, 0.5], [1.0, 1.0]]
connectivity_delay = [[0, 2], [1, 0]]
output_mask = [0.0, 1.0]",
            ),
        ),
    ]
}

fn learning_config(policy: PolicyConfig) -> TrainConfig {
    TrainConfig {
        model: "pointmass24_relu".into(),
        env: EnvConfig {
            episode_duration: 0.5,
            ..EnvConfig::default()
        },
        optim: OptimConfig {
            hidden: 12,
            batch_size: 16,
            learning_rate: 1e-2,
            seed: 5,
            ..OptimConfig::default()
        },
        policy,
        ..TrainConfig::default()
    }
}

/// Batches each kind trains for.
const BATCHES: u64 = 40;

#[test]
fn every_policy_kind_learns_from_its_configuration() {
    let mut failures: Vec<String> = Vec::new();
    for (name, policy) in kinds() {
        let cfg = learning_config(policy);
        cfg.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut tr = cfg.trainer().unwrap();
        // The noise-free loss on fixed episodes, before and after training (batch losses fluctuate with
        // the episodes drawn).
        let fixed = tr.episodes(u64::MAX, 32);
        let loss = |tr: &mut motornet::runtime::train::Trainer<_>| {
            tr.loss_and_gradient(&fixed, 0, true).unwrap().0.loss
        };
        let before = loss(&mut tr);
        for b in 0..BATCHES {
            tr.train_batch(b).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let after = loss(&mut tr);
        eprintln!("{name}: loss on fixed episodes {before:.4} before training, {after:.4} after");
        if after >= 0.8 * before {
            failures.push(format!(
                "{name}: loss on fixed episodes {before} before training, {after} after {BATCHES} batches"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_configuration_builds_the_network_it_names() {
    for (name, policy) in kinds() {
        let tr = learning_config(policy.clone()).trainer().unwrap();
        let net = &tr.policy;
        let layers = policy.layers;
        assert_eq!(net.layers(), layers, "{name}");
        assert_eq!(net.sizes().hidden, 12 * layers, "{name}");
        let expected = match policy.kind.as_str() {
            "rnn" => format!("rnn_{}", policy.nonlinearity),
            k => k.to_string(),
        };
        assert_eq!(net.kind(), expected, "{name}");
    }
    // The default is MotorNet's one-layer PolicyGRU.
    let tr = learning_config(PolicyConfig::default()).trainer().unwrap();
    assert!(matches!(tr.policy, Network::Gru(_)));
    // Modular masks are drawn from the seed: the same configuration gives the same network.
    let (_, modular) = kinds().pop().unwrap();
    let a = learning_config(modular.clone()).trainer().unwrap().policy;
    let b = learning_config(modular).trainer().unwrap().policy;
    assert_eq!(a, b);
    let names: Vec<String> = a.state_dict().into_iter().map(|t| t.0).collect();
    for key in ["h0", "Wz", "Y", "bY", "mask_Wz", "mask_Y"] {
        assert!(names.iter().any(|n| n == key), "{key} in {names:?}");
    }
}

// ------------------------------------------------------------------------------------------------
// The trainer's gradient for other networks: stacked layers, an LSTM's cell state, the modular GRU's
// delays and learnable initial state (reached through `backward_initial`, with the hidden-activity loss
// terms acting on h_0 as well).

#[test]
fn the_bptt_gradient_of_every_kind_matches_finite_differences() {
    let modular = policy(
        "kind = \"modular_gru\"
module_size = [4, 2]
connectivity_mask = [[1.0, 0.5], [1.0, 1.0]]
connectivity_delay = [[0, 2], [1, 0]]",
    );
    let cases = [
        ("lstm", policy("kind = \"lstm\"\nlayers = 2")),
        ("ctrnn", policy("kind = \"ctrnn\"\nlayers = 2\ntau = 0.02")),
        ("rnn", policy("kind = \"rnn\"\nnonlinearity = \"relu\"")),
        ("modular_gru", modular),
    ];
    for (name, policy) in cases {
        let cfg = TrainConfig {
            model: "arm26".into(),
            env: EnvConfig {
                episode_duration: 0.05,
                proprioception_delay: 0.02,
                ..EnvConfig::default()
            },
            loss: LossConfig {
                position: 1.0,
                position_norm: "l2".into(),
                activation: 0.5,
                hidden: 1.0,
                hidden_derivative: 0.5,
                weight: 0.3,
                ..LossConfig::default()
            },
            optim: OptimConfig {
                hidden: 6,
                batch_size: 2,
                seed: 3,
                ..OptimConfig::default()
            },
            policy,
            run: RunConfig {
                eval_last_steps: 1,
                ..RunConfig::default()
            },
            ..TrainConfig::default()
        };
        let mut tr = cfg.trainer().unwrap();
        // Away from the near-silent initial readout, and non-zero biases and initial state.
        let tensors = tr.policy.tensors();
        let mut k = 0u64;
        let mut wiggle = || {
            k += 1;
            ((k * 2_654_435_761) % 1000) as f64 / 1000.0 - 0.5
        };
        for t in &tensors {
            for i in t.range() {
                let p = &mut tr.policy.params_mut()[i];
                match t.name.as_str() {
                    "fc.bias" | "bY" => *p = -1.5 + 0.5 * wiggle(),
                    "h0" => *p = 0.5 * wiggle(),
                    n if n.contains("bias") || n.starts_with('b') => *p = 0.2 * wiggle(),
                    _ => *p *= 1.0 + 0.2 * wiggle(),
                }
            }
        }
        tr.policy.constrain();
        let eps = tr.episodes(7, 2);
        let (stats, grad) = tr.loss_and_gradient(&eps, 7, true).unwrap();
        // The weight penalty covers the weight matrices only (not biases or the initial state).
        let penalty: f64 = tensors
            .iter()
            .filter(|t| t.shape.len() == 2 && t.name != "h0")
            .flat_map(|t| tr.policy.params()[t.range()].to_vec())
            .map(|w| 0.3 * w * w)
            .sum();
        let term = stats.terms.iter().find(|t| t.0 == "weight").unwrap().1;
        assert!(
            (term - penalty).abs() <= 1e-12 * penalty,
            "{name}: {term} vs {penalty}"
        );
        // Every 7th parameter that is not masked out, and all of h0.
        let params = tr.policy.params().to_vec();
        let mut indices: Vec<usize> = (0..params.len())
            .step_by(7)
            .filter(|&i| params[i] != 0.0)
            .collect();
        if let Some(h0) = tensors.iter().find(|t| t.name == "h0") {
            indices.extend(h0.range());
        }
        indices.sort_unstable();
        indices.dedup();
        let (mut failures, mut resolved) = (Vec::new(), 0);
        for &i in &indices {
            let p0 = params[i];
            let h = 1e-5 * p0.abs().max(1.0);
            let mut at = |p: f64| {
                tr.policy.params_mut()[i] = p;
                tr.loss_and_gradient(&eps, 7, true).unwrap().0.loss
            };
            let (l1, l2, m1, m2) = (at(p0 + h), at(p0 + 2.0 * h), at(p0 - h), at(p0 - 2.0 * h));
            tr.policy.params_mut()[i] = p0;
            let fd = (8.0 * (l1 - m1) - (l2 - m2)) / (12.0 * h);
            let scale = grad[i].abs().max(fd.abs());
            let floor = 1e-12 * stats.loss / h;
            if (grad[i] - fd).abs() > 1e-5 * scale + floor {
                failures.push(format!(
                    "{} (#{i}): {:e} by BPTT, {:e} by finite differences",
                    tensors
                        .iter()
                        .find(|t| t.range().contains(&i))
                        .unwrap()
                        .name,
                    grad[i],
                    fd
                ));
            }
            if scale > 1e3 * floor {
                resolved += 1;
            }
        }
        eprintln!(
            "{name}: {resolved} of {} derivatives resolved",
            indices.len()
        );
        assert!(failures.is_empty(), "{name}: {failures:#?}");
        assert!(
            resolved >= indices.len() / 2,
            "{name}: {resolved} of {} resolved",
            indices.len()
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Checkpoints.

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The names of the tensors in a safetensors file (from its header).
fn tensor_names(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut names: Vec<String> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    names.sort();
    names
}

#[test]
fn checkpoints_of_every_kind_round_trip_under_state_dict_names() {
    let dir = scratch("round-trip");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, policy) in kinds() {
        let mut tr = learning_config(policy).trainer().unwrap();
        tr.train_batch(0).unwrap();
        let net = tr.policy.clone();
        let path = dir.join("net.safetensors");
        let meta = vec![("batches_done".to_string(), "1".to_string())];
        checkpoint::save(&path, &net, Some(&tr.adam.state), &meta).unwrap();
        let (loaded, adam, meta2) = checkpoint::load(&path).unwrap();
        assert_eq!(loaded, net, "{name}: the network is rebuilt exactly");
        assert_eq!(bits(loaded.params()), bits(net.params()), "{name}");
        let adam: AdamState = adam.expect("the optimizer state was saved");
        assert_eq!(adam, tr.adam.state, "{name}");
        assert_eq!(meta2, meta, "{name}: reserved entries are not handed back");
        // Every state_dict entry (buffers too) and both Adam moments of every learnable tensor.
        let names = tensor_names(&path);
        for (key, _, _) in net.state_dict() {
            assert!(names.contains(&key), "{name}: {key} in {names:?}");
        }
        for t in net.tensors() {
            for prefix in ["adam.m.", "adam.v."] {
                let key = format!("{prefix}{}", t.name);
                assert!(names.contains(&key), "{name}: {key} in {names:?}");
            }
        }
        let expected = net.state_dict().len() + 2 * net.tensors().len();
        assert_eq!(names.len(), expected, "{name}: nothing else: {names:?}");
        // The GRU-only reader refuses other networks by name.
        if !matches!(net, Network::Gru(_)) {
            let err = motornet::runtime::gru::load_safetensors(&path)
                .unwrap_err()
                .to_string();
            assert!(err.contains("not a one-layer GRU"), "{name}: {err}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes a safetensors file the way a checkpoint from before `[policy]` (or `PolicyGRU`'s `state_dict`
/// saved with `safetensors.torch`) looks: the GRU's six tensors, no motornet metadata.
fn write_plain_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f64>)]) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F64", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut text = serde_json::to_string(&header).unwrap();
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
    bytes.extend(text.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_checkpoint_without_a_policy_entry_loads_as_the_one_layer_gru() {
    let dir = scratch("legacy");
    std::fs::create_dir_all(&dir).unwrap();
    let tr = learning_config(PolicyConfig::default()).trainer().unwrap();
    let path = dir.join("old.safetensors");
    write_plain_safetensors(&path, &tr.policy.state_dict());
    let (net, adam, meta) = checkpoint::load(&path).unwrap();
    assert!(matches!(net, Network::Gru(_)), "{}", net.describe());
    assert_eq!(net, tr.policy);
    assert!(adam.is_none() && meta.is_empty());
    let (gru, _, _) = motornet::runtime::gru::load_safetensors(&path).unwrap();
    assert_eq!(bits(gru.params()), bits(tr.policy.params()));
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------------------------------------
// Run directories: resuming and evaluating other networks.

fn run_config(policy: PolicyConfig, batches: u64) -> TrainConfig {
    TrainConfig {
        model: "arm26".into(),
        env: EnvConfig {
            episode_duration: 0.1,
            action_noise: 0.01,
            proprioception_noise: 0.001,
            hidden_noise: 0.01,
            ..EnvConfig::default()
        },
        optim: OptimConfig {
            hidden: 8,
            batch_size: 4,
            learning_rate: 3e-3,
            seed: 11,
            threads: 2,
            ..OptimConfig::default()
        },
        policy,
        run: RunConfig {
            batches,
            eval_every: 2,
            eval_episodes: 4,
            eval_last_steps: 3,
            checkpoint_every: 2,
            target_metric: 0.0,
        },
        ..TrainConfig::default()
    }
}

fn run(
    dir: &Path,
    cfg: &TrainConfig,
    resume: bool,
    stop_after: Option<u64>,
) -> Result<(Outcome, Summary), motornet::Error> {
    let done = Cell::new(0u64);
    let mut progress = |d: u64, _: u64, _: f64, _: Option<f64>| done.set(d);
    let interrupted = || Some(done.get()) == stop_after;
    train(
        dir,
        cfg,
        resume,
        Hooks {
            progress: &mut progress,
            interrupted: &interrupted,
        },
    )
}

/// `log.csv` without its wall-clock column.
fn log_rows(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

#[test]
fn resuming_an_lstm_or_a_modular_gru_is_bit_identical_and_eval_reruns_it() {
    let modular = policy(
        "kind = \"modular_gru\"
module_size = [5, 3]
connectivity_mask = [[1.0, 0.5], [1.0, 1.0]]
connectivity_delay = [[0, 1], [2, 0]]
output_mask = [1.0, 0.5]
proportion_excitatory = [0.8, 0.5]
spectral_scaling = 1.1",
    );
    let lstm = policy("kind = \"lstm\"\nlayers = 2");
    for (name, policy) in [("lstm", lstm), ("modular_gru", modular)] {
        let cfg = run_config(policy, 5);
        let whole = scratch(&format!("{name}-whole"));
        let split = scratch(&format!("{name}-split"));
        let (outcome, summary) = run(&whole, &cfg, false, None).unwrap();
        assert_eq!(outcome, Outcome::Finished, "{name}");
        assert!(summary.policy.starts_with(name), "{}", summary.policy);
        let (outcome, _) = run(&split, &cfg, false, Some(3)).unwrap();
        assert_eq!(outcome, Outcome::Interrupted(3), "{name}");
        let (outcome, resumed) = run(&split, &cfg, true, None).unwrap();
        assert_eq!(outcome, Outcome::Finished, "{name}");
        assert_eq!(log_rows(&whole), log_rows(&split), "{name}: same losses");
        let metrics = |s: &Summary| -> Vec<(u64, u64)> {
            s.evaluations
                .iter()
                .map(|e| (e.batch, e.metric.to_bits()))
                .collect()
        };
        assert_eq!(metrics(&summary), metrics(&resumed), "{name}: same metrics");
        let (a, adam_a, _) = checkpoint::load(&whole.join("checkpoint.safetensors")).unwrap();
        let (b, adam_b, _) = checkpoint::load(&split.join("checkpoint.safetensors")).unwrap();
        assert_eq!(a.kind(), name);
        assert_eq!(bits(a.params()), bits(b.params()), "{name}: same weights");
        let (adam_a, adam_b) = (adam_a.unwrap(), adam_b.unwrap());
        assert_eq!(adam_a.step, adam_b.step, "{name}");
        assert_eq!(bits(&adam_a.m), bits(&adam_b.m), "{name}");
        assert_eq!(bits(&adam_a.v), bits(&adam_b.v), "{name}");
        // `motornet eval` reruns the checkpoint and gets the final metric again.
        let (metric, _) = evaluate_run(&split).unwrap();
        assert_eq!(
            metric.to_bits(),
            resumed.final_metric.unwrap().to_bits(),
            "{name}: eval reproduces the final metric"
        );
        // A configuration asking for another network refuses the checkpoint, naming both.
        let other = TrainConfig {
            policy: PolicyConfig::default(),
            ..cfg.clone()
        };
        std::fs::write(split.join("config.toml"), other.to_toml()).unwrap();
        let err = evaluate_run(&split).unwrap_err().to_string();
        assert!(
            err.contains("does not match the configuration") && err.contains(name),
            "{name}: {err}"
        );
        let _ = std::fs::remove_dir_all(&whole);
        let _ = std::fs::remove_dir_all(&split);
    }
}

#[test]
fn eval_reruns_a_run_of_every_kind() {
    // The LSTM and the modular GRU are evaluated after resuming, above.
    let others = kinds()
        .into_iter()
        .filter(|(_, p)| !matches!(p.kind.as_str(), "lstm" | "modular_gru"));
    for (name, policy) in others {
        let mut cfg = run_config(policy, 1);
        cfg.optim.hidden = 12;
        cfg.env.episode_duration = 0.05;
        cfg.run.eval_episodes = 2;
        let dir = scratch(&format!("eval-{}", name.replace([' ', '(', ')', ','], "")));
        let (_, summary) = run(&dir, &cfg, false, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (metric, _) = evaluate_run(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            metric.to_bits(),
            summary.final_metric.unwrap().to_bits(),
            "{name}: eval reproduces the final metric"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ------------------------------------------------------------------------------------------------
// Configuration.

/// The problems `validate` reports for a configuration file, one per line.
fn problems(toml: &str) -> Vec<String> {
    let cfg = TrainConfig::from_toml(toml).expect("parses");
    let err = cfg.validate().expect_err("a bad configuration").to_string();
    err.lines().skip(1).map(|l| l.trim().to_string()).collect()
}

fn assert_reported(found: &[String], key: &str, words: &str) {
    assert!(
        found
            .iter()
            .any(|p| p.starts_with(&format!("[policy] {key} = ")) && p.contains(words)),
        "expected `[policy] {key}` ({words}) among {found:#?}"
    );
}

#[test]
fn a_bad_policy_table_reports_every_problem_by_key() {
    let found = problems(
        "[policy]
kind = \"transformer\"
layers = 0
nonlinearity = \"sigmoid\"
tau = -1.0
",
    );
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_reported(
        &found,
        "kind",
        "\"gru\", \"rnn\", \"lstm\", \"ctrnn\", \"modular_gru\"",
    );
    assert_reported(&found, "layers", "between 1 and");
    assert_reported(&found, "nonlinearity", "\"tanh\" or \"relu\"");
    assert_reported(&found, "tau", "> 0");

    let found = problems(
        "[optim]
hidden = 16
[policy]
kind = \"modular_gru\"
layers = 2
module_size = [4, 4]
vision_mask = [1.0]
proprio_mask = [1.0, 2.0]
connectivity_mask = [[1.0, 0.5], [1.5, 1.0]]
connectivity_delay = [[0]]
output_mask = [0.5, 0.5, 0.5]
proportion_excitatory = [0.8]
spectral_scaling = -1.0
nonlinearity = \"relu\"
",
    );
    assert_eq!(found.len(), 10, "{found:#?}");
    assert_reported(
        &found,
        "proportion_excitatory",
        "one probability per module (2)",
    );
    assert_reported(&found, "spectral_scaling", "positive");
    assert_reported(&found, "layers", "must be 1");
    assert_reported(&found, "module_size", "[optim] hidden = 16");
    assert_reported(&found, "vision_mask", "one probability per module (2)");
    assert_reported(&found, "proprio_mask", "[0, 1]");
    assert_reported(&found, "connectivity_mask", "[0, 1]");
    assert_reported(&found, "connectivity_delay", "2 × 2");
    assert_reported(&found, "output_mask", "one probability per module (2)");
    assert_reported(&found, "nonlinearity", "only to kind = \"rnn\"");

    // Settings of another kind are mistakes, not silently ignored; tau must be at least a time step.
    let found = problems(
        "[policy]
kind = \"lstm\"
module_size = [64, 64]
connectivity_delay = [[0, 1], [1, 0]]
proportion_excitatory = [0.8, 0.8]
",
    );
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_reported(
        &found,
        "proportion_excitatory",
        "only to kind = \"modular_gru\"",
    );
    assert_reported(&found, "module_size", "only to kind = \"modular_gru\"");
    assert_reported(
        &found,
        "connectivity_delay",
        "only to kind = \"modular_gru\"",
    );
    let found = problems("[policy]\nkind = \"ctrnn\"\ntau = 0.001\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_reported(&found, "tau", "time step");

    // A huge width with many stacked layers is reported, not overflowed.
    let found =
        problems("[optim]\nhidden = 1152921504606846976\n[policy]\nkind = \"lstm\"\nlayers = 64\n");
    assert!(
        found.iter().any(|p| p.starts_with("[optim] hidden = ")),
        "{found:#?}"
    );

    // Unknown keys are refused by name at parse time.
    let err = TrainConfig::from_toml("[policy]\nkind = \"gru\"\nhidden_size = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("hidden_size"), "{err}");
}

#[test]
fn policy_settings_round_trip_and_print_with_the_configuration() {
    let defaults = TrainConfig::default().to_toml();
    for key in [
        "[policy]",
        "kind = \"gru\"",
        "layers = 1",
        "nonlinearity = \"tanh\"",
        "tau = 0.1",
    ] {
        assert!(defaults.contains(key), "{key} in\n{defaults}");
    }
    for (name, policy) in kinds() {
        let cfg = TrainConfig {
            policy,
            ..TrainConfig::default()
        };
        let back = TrainConfig::from_toml(&cfg.to_toml()).unwrap();
        assert_eq!(back, cfg, "{name}");
    }
}
